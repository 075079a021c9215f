-- The boundary of a governed table (docs/DESIGN.md, D11): its former owner
-- and every role short of superuser cannot read, change, rewrite or move
-- its rows without a lease, through DDL that evaluates code over the rows,
-- a child or partition, a trigger, a rule, a foreign key or EXPLAIN
-- ANALYZE; govern_table() governs whole trees and refuses tables that
-- would run other roles' code over their rows; bad table arguments.
--
-- Outside a transaction block: leases go live when they commit.  Names are
-- lt33_* / "lt33-*"; everything is dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    DROP TABLE IF EXISTS public.lt33_pay, public.lt33_loot, public.lt33_parent, public.lt33_kid,
        public.lt33_pt, public.lt33_inh, public.lt33_refuse, public.lt33_fk CASCADE;
    DELETE FROM governance.governed_tables WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relid);
    DROP SCHEMA IF EXISTS lt33 CASCADE;
    PERFORM pg_temp.drop_roles(ARRAY['lt33_bot', 'lt33_owner', 'lt33_admin', 'lt33_plain']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt33%';

SELECT plan(118);


\ir lib/poll.sql

CREATE ROLE lt33_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt33_owner LOGIN;
CREATE ROLE lt33_admin LOGIN IN ROLE governance_admin;
CREATE ROLE lt33_plain LOGIN;
SELECT governance.register_agent('Agent::"lt33-bot"', 'lt33_bot');
SELECT governance.put_entity('Agent::"lt33-bot"', '{}', '{}');
SELECT governance.create_policy('lt33_p', 'permit (principal == Agent::"lt33-bot", action, resource);');

-- the owner's schema, and a table anyone may write into: where leaked rows
-- would land
CREATE SCHEMA lt33 AUTHORIZATION lt33_owner;
CREATE TABLE public.lt33_loot (x text);
GRANT INSERT, SELECT ON public.lt33_loot TO PUBLIC;
SET ROLE lt33_owner;
CREATE FUNCTION lt33.leak(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.lt33_loot VALUES (a || ' ' || b);
    RETURN true;
END $$;
CREATE FUNCTION lt33.ileak(a text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT a $$;
CREATE TABLE lt33.pay (id int PRIMARY KEY, account text, v int);
INSERT INTO lt33.pay VALUES (1, 'Account::"1"', 10), (2, 'Account::"2"', 20);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON lt33.pay TO lt33_bot;
GRANT REFERENCES ON lt33.pay TO lt33_plain;
RESET ROLE;
GRANT CREATE ON SCHEMA public TO lt33_bot;
SET ROLE lt33_owner;
GRANT USAGE ON SCHEMA lt33 TO PUBLIC;
RESET ROLE;

------------------------------------------------------------------------
-- govern_table: ownership and privileges
------------------------------------------------------------------------
SET ROLE lt33_admin;
SELECT governance.govern_table('lt33.pay', 'lt33', 'account');
RESET ROLE;
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'lt33.pay'::regclass), 'governance_owner',
          'a governed table belongs to governance_owner');
SELECT is((SELECT former_owner FROM governance.governed_tables WHERE relid = 'lt33.pay'::regclass), 'lt33_owner',
          'its former owner is remembered');
SELECT ok(has_table_privilege('lt33_owner', 'lt33.pay', 'SELECT, INSERT, UPDATE, DELETE'),
          'the former owner keeps SELECT, INSERT, UPDATE and DELETE (held to the policies)');
SELECT ok(NOT has_table_privilege('lt33_owner', 'lt33.pay', 'TRUNCATE')
          AND NOT has_table_privilege('lt33_owner', 'lt33.pay', 'REFERENCES')
          AND NOT has_table_privilege('lt33_owner', 'lt33.pay', 'TRIGGER'),
          'but not TRUNCATE, REFERENCES or TRIGGER');
SELECT ok(NOT has_table_privilege('lt33_bot', 'lt33.pay', 'REFERENCES')
          AND NOT has_table_privilege('lt33_bot', 'lt33.pay', 'TRIGGER')
          AND NOT has_table_privilege('lt33_plain', 'lt33.pay', 'REFERENCES'),
          'REFERENCES and TRIGGER are taken from every role that had them');
SELECT ok(has_table_privilege('lt33_bot', 'lt33.pay', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE'),
          'other privileges stay');
SELECT is((SELECT revoked FROM governance.governed_tables WHERE relid = 'lt33.pay'::regclass),
          '[{"grantee": "lt33_bot", "privilege": "REFERENCES"}, {"grantee": "lt33_bot", "privilege": "TRIGGER"},
            {"grantee": "lt33_plain", "privilege": "REFERENCES"}]'::jsonb,
          'what was revoked is remembered');
SELECT is((SELECT payload->'revoked' FROM governance.ledger WHERE kind = 'governance.table.governed'
            AND payload->>'table' = 'lt33.pay' ORDER BY seq DESC LIMIT 1),
          '["REFERENCES on lt33.pay from lt33_bot", "TRIGGER on lt33.pay from lt33_bot", "REFERENCES on lt33.pay from lt33_plain"]'::jsonb,
          'and ledgered');

------------------------------------------------------------------------
-- the former owner: no DDL that evaluates code over the rows or moves them
------------------------------------------------------------------------
SET ROLE lt33_owner;
SELECT is(pg_temp.err(format('ALTER TABLE lt33.pay %s', ddl)), '42501: must be owner of table pay',
          format('the former owner cannot ALTER TABLE ... %s', ddl))
  FROM unnest(ARRAY[
    'ADD CONSTRAINT c CHECK (lt33.leak(id::text, account))',
    'ADD CONSTRAINT c CHECK (lt33.leak(id::text, account)) NOT VALID',
    'ALTER COLUMN v TYPE text USING (lt33.leak(id::text, account)::text)',
    'ALTER COLUMN v TYPE bigint',
    'DROP COLUMN v',
    'ADD COLUMN w text DEFAULT lt33.leak(''x'', ''y'')::text',
    'ADD COLUMN w text GENERATED ALWAYS AS (lt33.ileak(account)) STORED',
    'ALTER COLUMN v SET DEFAULT 0',
    'DISABLE ROW LEVEL SECURITY',
    'NO FORCE ROW LEVEL SECURITY',
    'DISABLE TRIGGER governance_lineage',
    'OWNER TO lt33_owner',
    'RENAME TO pay2',
    'SET SCHEMA public',
    'SET (parallel_workers = 0)',
    'CLUSTER ON pay_pkey',
    'SET UNLOGGED']) ddl;
SELECT is(pg_temp.err(sql), '42501: must be owner of table pay', format('nor %s', sql))
  FROM unnest(ARRAY[
    'CREATE INDEX ON lt33.pay (lt33.ileak(account))',
    'CREATE INDEX ON lt33.pay (id) WHERE lt33.ileak(account) IS NOT NULL',
    'CREATE STATISTICS lt33.s ON (lt33.ileak(account)) FROM lt33.pay',
    'CREATE RULE r AS ON INSERT TO lt33.pay DO ALSO INSERT INTO public.lt33_loot VALUES (NEW.account)',
    'CREATE POLICY p ON lt33.pay USING (true)',
    'CREATE TABLE lt33.kid () INHERITS (lt33.pay)',
    'CLUSTER lt33.pay USING pay_pkey',
    'REINDEX TABLE lt33.pay']) sql;
SELECT is(pg_temp.err('CREATE TRIGGER t AFTER INSERT ON lt33.pay FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'),
          '42501: permission denied for table pay', 'nor CREATE TRIGGER (TRIGGER was taken with the ownership)');
SELECT matches(pg_temp.err('DROP TABLE lt33.pay'), '^42501: governed table .* cannot be changed this way: the table is gone',
               'the owner of its schema cannot drop it');
SELECT relfilenode AS lt33_node FROM pg_class WHERE oid = 'lt33.pay'::regclass \gset
SET client_min_messages = error;
VACUUM FULL lt33.pay;
SET client_min_messages = warning;
SELECT is((SELECT relfilenode FROM pg_class WHERE oid = 'lt33.pay'::regclass), :lt33_node::oid,
          'VACUUM FULL by the former owner rewrites nothing (it only warns)');
SET client_min_messages = error;
SELECT is(pg_temp.err('GRANT SELECT ON lt33.pay TO lt33_plain'), 'no error', '(GRANT by a non-owner only warns ...)');
SET client_min_messages = warning;
SELECT ok(NOT has_table_privilege('lt33_plain', 'lt33.pay', 'SELECT'), '... and grants nothing');
SELECT is(pg_temp.err('CREATE TABLE lt33.other (id int, account text); ALTER TABLE lt33.other INHERIT lt33.pay'),
          '42501: must be owner of table pay', 'nor make one of its own tables a child of it');
SELECT is(pg_temp.err('CREATE TABLE lt33.parent (id int, account text, v int); ALTER TABLE lt33.pay INHERIT lt33.parent'),
          '42501: must be owner of table pay', 'nor make it the child of one of its tables (whose scans would read it)');
SELECT is(pg_temp.err('COMMENT ON TABLE lt33.pay IS ''x'''), '42501: must be owner of table pay',
          'nor even comment on it');
SELECT is(pg_temp.n('SELECT * FROM lt33.pay'), '42501: role lt33_owner cannot hold a lease and may not use governed table lt33.pay',
          'it reads no row: it is no agent, and told so');
SELECT is(pg_temp.n('UPDATE lt33.pay SET v = v + 1'), '42501: role lt33_owner cannot hold a lease and may not use governed table lt33.pay',
          'and changes none');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM public.lt33_loot), 0, 'none of it ran the owner''s code over a row');
SELECT is((SELECT array_agg(v ORDER BY id) FROM lt33.pay), ARRAY[10, 20], 'the rows are untouched');

------------------------------------------------------------------------
-- other roles
------------------------------------------------------------------------
SET ROLE lt33_bot;
SELECT is(pg_temp.err('CREATE TABLE public.lt33_fk (p int REFERENCES lt33.pay (id))'),
          '42501: permission denied for table pay', 'a foreign key into a governed table needs REFERENCES, which nobody has');
SELECT is(pg_temp.err('TRUNCATE lt33.pay'), '42501: truncate on governed table lt33.pay refused',
          'TRUNCATE by a role with the privilege is refused (no row trigger would see it)');
RESET ROLE;
SELECT max(seq) AS rls_mark FROM governance.ledger \gset
SET ROLE lt33_bot;
SELECT is(pg_temp.err('INSERT INTO lt33.pay VALUES (7, ''Account::"1"'', 1)'),
          '42501: new row violates row-level security policy for table "pay"',
          'an INSERT no lease covers is refused by row-level security, before any trigger');
SELECT is(pg_temp.err('UPDATE lt33.pay SET account = ''Account::"9"'''), 'no error', '(an UPDATE sees no row to change)');
RESET ROLE;
SELECT ok(pg_temp.poll(format($q$SELECT EXISTS (SELECT 1 FROM governance.ledger WHERE seq > %s
              AND kind = 'governance.write.refused' AND payload->>'caller' = 'lt33_bot'
              AND payload->>'detail' LIKE 'row-level security of governed table lt33.pay refused a write by role lt33_bot%%')$q$, :rls_mark)),
          'and that refusal is ledgered too');
SET ROLE lt33_bot;
SELECT is(pg_temp.err('CREATE TRIGGER t BEFORE INSERT ON lt33.pay FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'),
          '42501: permission denied for table pay', 'TRIGGER was taken: no trigger over governed writes');
RESET ROLE;

------------------------------------------------------------------------
-- EXPLAIN ANALYZE would count hidden rows
------------------------------------------------------------------------
SET ROLE lt33_bot;
SELECT lease_id AS s1, artifact AS s1a FROM governance.authorize('Agent::"lt33-bot"', 'lt33.select', 'Account::"1"') \gset
SELECT is(pg_temp.err('EXPLAIN ANALYZE SELECT * FROM lt33.pay'),
          '42501: EXPLAIN ANALYZE of governed table "pay" is not allowed', 'EXPLAIN ANALYZE of a governed table is refused');
SELECT is(pg_temp.err('EXPLAIN (ANALYZE, FORMAT json) SELECT count(*) FROM lt33.pay WHERE id > 0'),
          '42501: EXPLAIN ANALYZE of governed table "pay" is not allowed', 'in any format');
SELECT is(pg_temp.err('EXPLAIN ANALYZE SELECT * FROM public.lt33_loot WHERE x IN (SELECT account FROM lt33.pay)'),
          '42501: EXPLAIN ANALYZE of governed table "pay" is not allowed', 'also in a subquery');
BEGIN;
SELECT governance.attach(:'s1a');
SELECT is(pg_temp.err('EXPLAIN ANALYZE SELECT * FROM lt33.pay'),
          '42501: EXPLAIN ANALYZE of governed table "pay" is not allowed', 'also under a lease (it would count the rows of other resources)');
PREPARE lt33_q AS SELECT * FROM lt33.pay;
SELECT is(pg_temp.err('EXPLAIN ANALYZE EXECUTE lt33_q'),
          '42501: EXPLAIN ANALYZE of governed table "pay" is not allowed', 'and of a prepared statement');
DEALLOCATE lt33_q;
SELECT is(pg_temp.err('EXPLAIN SELECT * FROM lt33.pay'), 'no error', 'plain EXPLAIN (estimates only) is allowed');
SELECT is(pg_temp.err('EXPLAIN (ANALYZE false) SELECT * FROM lt33.pay'), 'no error', 'and so is ANALYZE false');
SELECT is(pg_temp.err('EXPLAIN ANALYZE SELECT * FROM public.lt33_loot'), 'no error', 'EXPLAIN ANALYZE of other tables works');
COMMIT;
RESET ROLE;
SELECT is(pg_temp.err('EXPLAIN ANALYZE SELECT * FROM lt33.pay'), 'no error', 'a superuser may (it reads every row anyway)');

------------------------------------------------------------------------
-- govern_table refuses what would run other roles' code over the rows
------------------------------------------------------------------------
SET ROLE lt33_owner;
CREATE TABLE lt33.r1 (id int, account text CHECK (lt33.leak(account, 'c')));
CREATE TABLE lt33.r2 (id int, account text);
CREATE INDEX ON lt33.r2 (lt33.ileak(account));
CREATE TABLE lt33.r3 (id int, account text, w text DEFAULT lt33.ileak('x'));
CREATE TABLE lt33.r4 (id int, account text);
CREATE STATISTICS lt33.r4s ON (lt33.ileak(account)) FROM lt33.r4;
CREATE DOMAIN lt33.d AS text CHECK (lt33.leak(VALUE, 'd'));
CREATE TABLE lt33.r5 (id int, account lt33.d);
CREATE TABLE lt33.r6 (id int, account text);
CREATE FUNCTION lt33.tf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t BEFORE INSERT ON lt33.r6 FOR EACH ROW EXECUTE FUNCTION lt33.tf();
CREATE TABLE lt33.r7 (id int, account text);
CREATE RULE r AS ON UPDATE TO lt33.r7 DO ALSO NOTHING;
CREATE TABLE lt33.r8 (id int, account text);
ALTER TABLE lt33.r8 ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON lt33.r8 AS RESTRICTIVE USING (lt33.leak(account, 'p'));
CREATE TABLE lt33.r9 (id int, account text);
ALTER TABLE lt33.r9 ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON lt33.r9 USING (true);
CREATE TABLE lt33.r10 (id int, account text);
CREATE TABLE lt33.r10k () INHERITS (lt33.r10);
RESET ROLE;
SET ROLE lt33_admin;
SELECT matches(pg_temp.err(format('SELECT governance.govern_table(%L, ''lt33'', ''account'')', t)), want,
               format('govern_table refuses %s', why))
  FROM (VALUES
    ('lt33.r1', '^55000: table lt33.r1 runs functions owned by roles other than superusers over its rows: lt33.leak\(text,text\)$', 'a CHECK constraint calling another role''s function'),
    ('lt33.r2', '^55000: table lt33.r2 runs functions owned .*: lt33.ileak\(text\)$', 'an expression index on another role''s function (autovacuum would run it)'),
    ('lt33.r3', '^55000: table lt33.r3 runs functions owned .*: lt33.ileak\(text\)$', 'a default calling another role''s function'),
    ('lt33.r4', '^55000: table lt33.r4 runs functions owned .*: lt33.ileak\(text\)$', 'extended statistics on another role''s function'),
    ('lt33.r5', '^55000: table lt33.r5 runs functions owned .*: lt33.leak\(text,text\)$', 'a column whose domain checks with another role''s function'),
    ('lt33.r6', '^55000: table lt33.r6 has triggers: t$', 'a table with triggers'),
    ('lt33.r7', '^55000: table lt33.r7 has rules: r$', 'a table with rules'),
    ('lt33.r8', '^55000: table lt33.r8 runs functions owned .*: lt33.leak\(text,text\)$', 'a restrictive policy calling another role''s function'),
    ('lt33.r9', '^55000: table lt33.r9 already has permissive row-level security policies$', 'a permissive policy'),
    ('lt33.r10k', '^42809: lt33.r10k is a partition or an inheritance child$', 'an inheritance child on its own')
  ) AS c(t, want, why);
-- a table with its own restrictive policy keeps it after governance
SET ROLE lt33_owner;
CREATE TABLE lt33.r11 (id int, account text);
ALTER TABLE lt33.r11 ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON lt33.r11 AS RESTRICTIVE USING (id > 0);
RESET ROLE;
SELECT governance.govern_table('lt33.r11', 'lt33', 'account');
SELECT governance.ungovern_table('lt33.r11');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'lt33.r11'::regclass)
          AND EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = 'lt33.r11'::regclass AND polname = 'own'),
          'ungovern_table leaves a table''s own row-level security as it found it');
SELECT is((SELECT count(*)::int FROM governance.governed_tables WHERE relid::regclass::text LIKE 'lt33.r%'), 0,
          'none of them was governed, not even in part');
SELECT ok((SELECT bool_and(relowner = 'lt33_owner'::regrole) FROM pg_class
            WHERE relnamespace = 'lt33'::regnamespace AND relname ~ '^r[0-9]+k?$'),
          'and none changed hands');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM public.lt33_loot), 0, '(the refusals ran none of that code either)');

------------------------------------------------------------------------
-- partitions and inheritance children: the whole tree, present and future
------------------------------------------------------------------------
SET ROLE lt33_owner;
CREATE TABLE lt33.pt (id int, account text) PARTITION BY LIST (id);
CREATE TABLE lt33.pt1 PARTITION OF lt33.pt FOR VALUES IN (1);
CREATE TABLE lt33.pt2 PARTITION OF lt33.pt FOR VALUES IN (2) PARTITION BY LIST (account);
CREATE TABLE lt33.pt2d PARTITION OF lt33.pt2 DEFAULT;
INSERT INTO lt33.pt VALUES (1, 'Account::"1"'), (2, 'Account::"2"');
CREATE TABLE lt33.inh (id int, account text);
CREATE TABLE lt33.inh_kid (extra int) INHERITS (lt33.inh);
INSERT INTO lt33.inh_kid VALUES (1, 'Account::"1"', 0);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON lt33.pt, lt33.pt1, lt33.pt2, lt33.pt2d, lt33.inh, lt33.inh_kid TO lt33_bot;
RESET ROLE;
SET ROLE lt33_admin;
SELECT is(pg_temp.err('SELECT governance.govern_table(''lt33.pt1'', ''lt33'', ''account'')'),
          '42809: lt33.pt1 is a partition or an inheritance child', 'a partition cannot be governed on its own');
SELECT governance.govern_table('lt33.pt', 'lt33', 'account');
SELECT governance.govern_table('lt33.inh', 'lt33', 'account');
RESET ROLE;
SELECT is((SELECT array_agg(relid::regclass::text || ':' || root_relid::regclass::text ORDER BY relid::regclass::text)
             FROM governance.governed_tables WHERE relid::regclass::text ~ '^lt33\.(pt|inh)'),
          ARRAY['lt33.inh:lt33.inh', 'lt33.inh_kid:lt33.inh', 'lt33.pt:lt33.pt', 'lt33.pt1:lt33.pt', 'lt33.pt2:lt33.pt', 'lt33.pt2d:lt33.pt'],
          'govern_table governs every partition, sub-partition and inheritance child with its root');
SELECT ok((SELECT bool_and(c.relrowsecurity AND c.relforcerowsecurity AND c.relowner = 'governance_owner'::regrole
                           AND (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) = 4
                           AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'governance_lineage' AND t.tgenabled = 'A')
                           AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'governance_no_truncate' AND t.tgenabled = 'A'))
             FROM pg_class c WHERE c.relnamespace = 'lt33'::regnamespace AND c.relname IN ('pt', 'pt1', 'pt2', 'pt2d', 'inh', 'inh_kid')),
          'each has forced row-level security, the four policies, both triggers ALWAYS, and governance_owner');
SET ROLE lt33_bot;
SELECT is(pg_temp.n(format('SELECT * FROM %s', t)), '0', format('a partition or child read directly shows nothing without a lease (%s)', t))
  FROM unnest(ARRAY['lt33.pt1', 'lt33.pt2', 'lt33.pt2d', 'lt33.inh_kid', 'lt33.inh', 'lt33.pt']) t;
SELECT is(pg_temp.err('TRUNCATE lt33.pt1'), '42501: truncate on governed table lt33.pt1 refused', 'TRUNCATE of a partition is refused');
SELECT is(pg_temp.err('TRUNCATE lt33.inh_kid'), '42501: truncate on governed table lt33.inh_kid refused', 'TRUNCATE of a child is refused');
SELECT is(pg_temp.err('INSERT INTO lt33.pt1 VALUES (1, ''Account::"1"'')'),
          '42501: new row violates row-level security policy for table "pt1"', 'writing into a partition needs a lease');
SELECT lease_id AS i1, artifact AS i1a FROM governance.authorize('Agent::"lt33-bot"', 'lt33.insert', 'Account::"1"') \gset
SELECT lease_id AS p1, artifact AS p1a FROM governance.authorize('Agent::"lt33-bot"', 'lt33.select', 'Account::"1"') \gset
BEGIN;
SELECT governance.attach(:'i1a');
SELECT governance.attach(:'p1a');
SELECT is(pg_temp.n('INSERT INTO lt33.pt1 VALUES (1, ''Account::"1"'')'), '1', 'with one, the write into a partition works');
SELECT is(pg_temp.n('SELECT * FROM lt33.pt1'), '2', 'and the partition shows the covered rows');
SELECT is(pg_temp.n('SELECT * FROM lt33.inh_kid'), '1', 'as does the child');
COMMIT;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE kind = 'governance.write' AND lease_id = :'i1'
            AND payload->>'table' = 'lt33.pt1'), 1, 'and is ledgered on the lease''s chain, naming the partition');
SET ROLE lt33_owner;
SELECT is(pg_temp.err('CREATE TABLE lt33.pt3 PARTITION OF lt33.pt FOR VALUES IN (3)'),
          '42501: must be owner of table pt', 'the former owner cannot add a partition');
SELECT is(pg_temp.err('CREATE TABLE lt33.pt3 (id int, account text); ALTER TABLE lt33.pt ATTACH PARTITION lt33.pt3 FOR VALUES IN (3)'),
          '42501: must be owner of table pt', 'nor attach one');
SELECT is(pg_temp.err('ALTER TABLE lt33.pt DETACH PARTITION lt33.pt1'),
          '42501: must be owner of table pt', 'nor detach one');
RESET ROLE;
-- a superuser may, and the new member is governed at once
CREATE TABLE lt33.pt3 PARTITION OF lt33.pt FOR VALUES IN (3);
CREATE TABLE lt33.pt4 (id int, account text);
INSERT INTO lt33.pt4 VALUES (4, 'Account::"1"');
ALTER TABLE lt33.pt ATTACH PARTITION lt33.pt4 FOR VALUES IN (4);
CREATE TABLE lt33.inh_kid2 () INHERITS (lt33.inh);
SELECT ok((SELECT bool_and(c.relrowsecurity AND c.relforcerowsecurity AND c.relowner = 'governance_owner'::regrole
                           AND EXISTS (SELECT 1 FROM governance.governed_tables g WHERE g.relid = c.oid))
             FROM pg_class c WHERE c.relnamespace = 'lt33'::regnamespace AND c.relname IN ('pt3', 'pt4', 'inh_kid2')),
          'a partition created, a partition attached and a child created later are governed at once');
SELECT is((SELECT array_agg(payload->>'table' ORDER BY seq) FROM governance.ledger WHERE kind = 'governance.table.governed'
            AND payload->>'member_of' IS NOT NULL AND payload->>'table' LIKE 'lt33.%'),
          ARRAY['lt33.pt3', 'lt33.pt4', 'lt33.inh_kid2'], 'each is ledgered as a new member');
GRANT SELECT ON lt33.pt4 TO lt33_bot;
SET ROLE lt33_bot;
SELECT is(pg_temp.n('SELECT * FROM lt33.pt4'), '0', 'the attached partition''s old rows are hidden too');
RESET ROLE;
SELECT is(pg_temp.err('ALTER TABLE lt33.pt DETACH PARTITION lt33.pt4'), 'no error', '(a superuser can detach one)');
SELECT ok(EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = 'lt33.pt4'::regclass AND t.tgname = 'governance_lineage'
                  AND t.tgenabled = 'A' AND t.tgparentid = 0),
          'a detached partition gets a lineage trigger of its own (the cloned one went with the detach)');
SELECT is(pg_temp.err('ALTER TABLE lt33.pt4 DISABLE ROW LEVEL SECURITY'),
          '42501: governed table lt33.pt4 cannot be changed this way: row-level security would no longer be enabled and forced',
          'and stays governed');
SET ROLE lt33_admin;
SELECT is(pg_temp.err('SELECT governance.ungovern_table(''lt33.pt1'')'),
          '55000: table lt33.pt1 is governed as a member of lt33.pt', 'a member cannot be ungoverned on its own');
SELECT governance.ungovern_table('lt33.pt');
SELECT governance.ungovern_table('lt33.inh');
RESET ROLE;
SELECT ok((SELECT bool_and(NOT c.relrowsecurity AND c.relowner = 'lt33_owner'::regrole
                           AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
                           AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'governance%'))
             FROM pg_class c WHERE c.relnamespace = 'lt33'::regnamespace AND c.relname IN ('pt', 'pt1', 'pt2', 'pt2d', 'inh', 'inh_kid')),
          'ungovern_table on the root gives every member back to its owner, unprotected');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'lt33.pt3'::regclass), 'postgres',
          'a member a superuser made goes back to that superuser');

------------------------------------------------------------------------
-- ungovern_table gives back what govern_table took; bad table arguments
------------------------------------------------------------------------
SET ROLE lt33_admin;
SELECT governance.ungovern_table('lt33.pay');
RESET ROLE;
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'lt33.pay'::regclass), 'lt33_owner',
          'ungovern_table gives the table back to its former owner');
SELECT ok(has_table_privilege('lt33_bot', 'lt33.pay', 'REFERENCES') AND has_table_privilege('lt33_bot', 'lt33.pay', 'TRIGGER')
          AND has_table_privilege('lt33_plain', 'lt33.pay', 'REFERENCES'),
          'with the REFERENCES and TRIGGER privileges it took');
SET ROLE lt33_admin;
SELECT is(pg_temp.err(format('SELECT governance.%s', c)), want, format('%s is refused cleanly', c))
  FROM (VALUES
    ('ungovern_table(0)', '42P01: relation with OID 0 does not exist'),
    ('ungovern_table(999999)', '42P01: relation with OID 999999 does not exist'),
    ('ungovern_table(4294967295)', '42P01: relation with OID 4294967295 does not exist'),
    ('ungovern_table(NULL)', '22004: table must not be NULL'),
    ('govern_table(0, ''x'', ''account'')', '42P01: relation with OID 0 does not exist'),
    ('govern_table(999999, ''x'', ''account'')', '42P01: relation with OID 999999 does not exist'),
    ('ungovern_table(''lt33.pay'')', '42704: table lt33.pay is not governed')
  ) AS t(c, want);
RESET ROLE;
SELECT is(pg_temp.err('SELECT 1'), 'no error', 'the backend survived all of that');
-- governance_owner: a CREATEROLE role may not act as it
CREATE ROLE lt33_cr LOGIN CREATEROLE;
SET ROLE lt33_cr;
SELECT is(pg_temp.err(sql), '42501: only a superuser may change role "governance_owner" or its memberships',
          format('a CREATEROLE role cannot: %s', sql))
  FROM unnest(ARRAY['GRANT governance_owner TO lt33_cr', 'GRANT governance_owner TO lt33_plain',
                    'ALTER ROLE governance_owner LOGIN', 'ALTER ROLE governance_owner PASSWORD ''x''',
                    'ALTER ROLE governance_owner RENAME TO x']) sql;
RESET ROLE;
DROP ROLE lt33_cr;
-- savepoints: a rolled-back govern_table leaves nothing behind
BEGIN;
SAVEPOINT s;
SELECT governance.govern_table('lt33.pay', 'lt33', 'account');
ROLLBACK TO s;
SELECT ok((SELECT relowner = 'lt33_owner'::regrole AND NOT relrowsecurity FROM pg_class WHERE oid = 'lt33.pay'::regclass)
          AND NOT EXISTS (SELECT 1 FROM governance.governed_tables WHERE relid = 'lt33.pay'::regclass),
          'govern_table rolled back to a savepoint leaves the table as it was');
COMMIT;

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
DROP SCHEMA lt33 CASCADE;
DROP TABLE public.lt33_loot;
SELECT governance.drop_policy('lt33_p');
DROP OWNED BY lt33_bot, lt33_owner, lt33_admin, lt33_plain;
DROP ROLE lt33_bot, lt33_owner, lt33_admin, lt33_plain;

SELECT * FROM finish();
