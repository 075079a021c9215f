-- Governed tables (issue 5 item 7, D11): row-level security tied to live
-- leases, seen by an agent role that does not own the table; the lineage
-- trigger that refuses writes without a live lease (superusers, who bypass
-- row-level security, included) and ledgers every row change on the
-- lease's chain; govern_table and ungovern_table (admin only, ledgered,
-- bad input).
--
-- Outside a transaction block: leases go live when they commit.  Names are
-- lt31_* / "lt31-*"; roles, policy and table are dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    DROP TABLE IF EXISTS public.lt31_accounts, public.lt31_other;
    DELETE FROM governance.governed_tables WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relid);
    PERFORM pg_temp.drop_roles(ARRAY['lt31_bot', 'lt31_bot2', 'lt31_owner', 'lt31_admin']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt31%';

SELECT plan(86);

\ir lib/poll.sql
CREATE FUNCTION pg_temp.sha(t text) RETURNS text LANGUAGE sql AS $$
    SELECT encode(governance.sha3_512(convert_to(t, 'UTF8')), 'hex')
$$;

CREATE ROLE lt31_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt31_bot2 LOGIN IN ROLE governance_agent;
CREATE ROLE lt31_owner LOGIN;
CREATE ROLE lt31_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"lt31-bot"', 'lt31_bot');
SELECT governance.register_agent('Agent::"lt31-bot2"', 'lt31_bot2');
SELECT governance.register_agent('Agent::"lt31-owner"', 'lt31_owner');
SELECT governance.put_entity('Agent::"lt31-' || r || '"', ARRAY['Group::"lt31-g"'], '{}')
  FROM unnest(ARRAY['bot', 'bot2', 'owner']) r;
SELECT governance.create_policy('lt31_p',
    'permit (principal in Group::"lt31-g", action in [Action::"lt31.select", Action::"lt31.insert", Action::"lt31.update", Action::"lt31.delete"], resource) when { context.amount <= 1000 };');

CREATE TABLE public.lt31_accounts (id int PRIMARY KEY, owner text, balance int);
INSERT INTO public.lt31_accounts VALUES
    (1, 'Account::"1"', 10), (2, 'Account::"2"', 20), (3, 'Account::"1"', 30),
    (4, NULL, 40), (5, 'Account::"1" ', 50), (6, 'account::"1"', 60);
ALTER TABLE public.lt31_accounts OWNER TO lt31_owner;
-- the visible ids, as the current role sees them
CREATE FUNCTION pg_temp.ids() RETURNS int[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM public.lt31_accounts
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.lt31_accounts TO lt31_bot, lt31_bot2;
GRANT USAGE ON SCHEMA governance TO lt31_owner;
GRANT EXECUTE ON FUNCTION governance.authorized_resources(text), governance.authorized_resource(text) TO lt31_owner;

SELECT max(seq) AS mark FROM governance.ledger \gset

------------------------------------------------------------------------
-- govern_table
------------------------------------------------------------------------
SET ROLE lt31_admin;
SELECT governance.govern_table('public.lt31_accounts', 'lt31', 'owner');
RESET ROLE;
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'public.lt31_accounts'::regclass),
          'govern_table enables and forces row-level security');
SELECT is((SELECT array_agg(polname::text || ':' || polcmd::text ORDER BY polname) FROM pg_policy WHERE polrelid = 'public.lt31_accounts'::regclass),
          ARRAY['governance_delete:d', 'governance_insert:a', 'governance_select:r', 'governance_update:w'],
          'with one policy each for select, insert, update and delete');
SELECT is((SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'public.lt31_accounts'::regclass AND tgname = 'governance_lineage'),
          'A', 'and a lineage trigger enabled ALWAYS (session_replication_role cannot switch it off)');
SELECT is((SELECT row(action_prefix, resource_column, governed_by)::text FROM governance.governed_tables
            WHERE relid = 'public.lt31_accounts'::regclass), row('lt31', 'owner', 'lt31_admin')::text,
          'the table is listed in governance.governed_tables');
SELECT is((SELECT payload FROM governance.ledger WHERE seq > :mark AND kind = 'governance.table.governed'
            AND payload->>'table' = 'public.lt31_accounts'),
          '{"by": "lt31_admin", "table": "public.lt31_accounts", "action_prefix": "lt31", "resource_column": "owner"}'::jsonb,
          'govern_table is ledgered: table, prefix, column, by whom');

------------------------------------------------------------------------
-- reading: no rows without a lease, exactly the covered resource with one
------------------------------------------------------------------------
SET ROLE lt31_bot;
SELECT lease_id AS s1, artifact AS s1a FROM governance.authorize('Agent::"lt31-bot"', 'lt31.select', 'Account::"1"', '{"amount": 5}') \gset
SELECT lease_id AS s2, artifact AS s2a FROM governance.authorize('Agent::"lt31-bot"', 'lt31.select', 'Account::"2"', '{"amount": 5}') \gset
SELECT lease_id AS u1, artifact AS u1a FROM governance.authorize('Agent::"lt31-bot"', 'lt31.update', 'Account::"1"', '{"amount": 5}') \gset
SELECT lease_id AS i1, artifact AS i1a FROM governance.authorize('Agent::"lt31-bot"', 'lt31.insert', 'Account::"1"', '{"amount": 5}') \gset
SELECT lease_id AS d1, artifact AS d1a FROM governance.authorize('Agent::"lt31-bot"', 'lt31.delete', 'Account::"1"', '{"amount": 5}') \gset
SELECT lease_id AS x1, artifact AS x1a FROM governance.authorize('Agent::"lt31-bot"', 'lt31.select', 'Account::"3"', '{"amount": 5}') \gset

SELECT is(pg_temp.ids(), '{}'::int[], 'an agent without a lease sees no row of a governed table');
SELECT is((SELECT count(*)::int FROM public.lt31_accounts WHERE id = 1), 0, 'not even by asking for it');
BEGIN;
SELECT governance.attach(:'s1a');
SELECT is(pg_temp.ids(), ARRAY[1, 3], 'with a select lease on Account::"1" it sees exactly that resource''s rows');
SELECT governance.attach(:'s2a');
SELECT is(pg_temp.ids(), ARRAY[1, 2, 3], 'with a second lease on Account::"2" those rows too');
SELECT governance.attach(:'u1a');
SELECT is(pg_temp.ids(), ARRAY[1, 2, 3], 'an update lease does not widen what is read');
COMMIT;
SELECT is(pg_temp.ids(), '{}'::int[], 'when the transaction ends the rows are gone again');
BEGIN;
SELECT governance.attach(:'u1a');
SELECT is(pg_temp.ids(), '{}'::int[], 'an update lease alone shows no rows');
ROLLBACK;
RESET ROLE;
SELECT is(pg_temp.ids(), ARRAY[1, 2, 3, 4, 5, 6], '(a superuser bypasses row-level security and sees all six rows)');
SET ROLE lt31_bot2;
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', :'s1a')), '^42501: artifact refused',
               'another agent cannot attach the bot''s lease');
SELECT is(pg_temp.ids(), '{}'::int[], 'and sees nothing');
RESET ROLE;

------------------------------------------------------------------------
-- writing under leases, and what is ledgered
------------------------------------------------------------------------
SELECT a::text AS old1 FROM public.lt31_accounts a WHERE id = 1 \gset
SET ROLE lt31_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET balance = balance + 1 WHERE id = 1'), '0',
          'a select lease does not allow an update (no row is updated)');
SELECT governance.attach(:'u1a');
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET balance = balance + 1 WHERE id = 1'), '1',
          'with select and update leases on the row''s resource the update goes through');
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET balance = balance + 1 WHERE id = 2'), '0',
          'but not on another resource''s row');
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET owner = ''Account::"2"'' WHERE id = 3'),
          '42501: new row violates row-level security policy for table "lt31_accounts"',
          'moving a row to a resource the lease does not cover is refused');
COMMIT;
RESET ROLE;
SELECT a::text AS new1 FROM public.lt31_accounts a WHERE id = 1 \gset
SELECT is((SELECT row(kind, lease_id, principal, action, resource)::text FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.write' AND lease_id = :'u1'),
          row('governance.write', :'u1'::uuid, 'Agent::"lt31-bot"', 'Action::"lt31.update"', 'Account::"1"')::text,
          'the update is ledgered once, under the update lease');
SELECT is((SELECT payload FROM governance.ledger WHERE seq > :mark AND kind = 'governance.write' AND lease_id = :'u1'),
          jsonb_build_object('op', 'update', 'table', 'public.lt31_accounts', 'key', jsonb_build_object('id', '1'),
                             'old_sha3_512', pg_temp.sha(:'old1'), 'new_sha3_512', pg_temp.sha(:'new1'),
                             'row_format', 'canonical-text-1'),
          'with op, table, key and the SHA3-512 of the old and new row');
SELECT is((SELECT prev_seq FROM governance.ledger WHERE seq > :mark AND kind = 'governance.write' AND lease_id = :'u1'),
          (SELECT min(seq) FROM governance.ledger WHERE lease_id = :'u1'),
          'linked on the lease''s chain to its authorization');

SET ROLE lt31_bot;
BEGIN;
SELECT governance.attach(:'i1a');
SELECT is(pg_temp.n('INSERT INTO public.lt31_accounts VALUES (10, ''Account::"1"'', 100)'), '1',
          'an insert lease on Account::"1" allows inserting its rows');
SELECT is(pg_temp.n('INSERT INTO public.lt31_accounts VALUES (11, ''Account::"2"'', 100)'),
          '42501: new row violates row-level security policy for table "lt31_accounts"',
          'and no other resource''s');
SELECT is(pg_temp.n('INSERT INTO public.lt31_accounts VALUES (12, NULL, 100)'),
          '42501: new row violates row-level security policy for table "lt31_accounts"',
          'nor a row without a resource');
SELECT governance.attach(:'s1a');
SELECT governance.attach(:'d1a');
SELECT is(pg_temp.n('DELETE FROM public.lt31_accounts WHERE id = 10'), '1', 'select and delete leases allow deleting the row');
SELECT is(pg_temp.n('DELETE FROM public.lt31_accounts WHERE id = 2'), '0', 'but not another resource''s row');
COMMIT;
RESET ROLE;
SELECT is((SELECT array_agg(payload->>'op' || ':' || (payload->'key'->>'id') || ':' || coalesce(left(payload->>'old_sha3_512', 8), '-')
                            || ':' || coalesce(left(payload->>'new_sha3_512', 8), '-') ORDER BY seq)
             FROM governance.ledger WHERE seq > :mark AND kind = 'governance.write' AND lease_id IN (:'i1', :'d1')),
          ARRAY['insert:10:-:' || left(pg_temp.sha('(10,"Account::""1""",100)'), 8),
                'delete:10:' || left(pg_temp.sha('(10,"Account::""1""",100)'), 8) || ':-'],
          'the insert and the delete are ledgered under their leases (no old row for an insert, no new row for a delete)');
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq > :mark AND kind = 'governance.write'), 3,
          'and nothing else was written: refused writes leave no write event');

------------------------------------------------------------------------
-- rows vanish and writes stop the moment a lease is revoked
------------------------------------------------------------------------
SET ROLE lt31_bot;
SELECT governance.attach(:'s1a', session => true);
SELECT governance.attach(:'u1a', session => true);
SELECT is(pg_temp.ids(), ARRAY[1, 3], 'session-attached select lease: the rows are there');
RESET ROLE;
SELECT is(governance.revoke(:'s1', 'lt31: revoked by an admin'), 1, '(revoke the select lease as an administrator)');
-- the enforcer will cancel this session's running statement: let it land here
SELECT pg_temp.err('SELECT pg_sleep(3)');
SET ROLE lt31_bot;
SELECT is((SELECT array_agg(lease_id::text || ':' || live ORDER BY live) FROM governance.current_lease()),
          ARRAY[:'s1' || ':false', :'u1' || ':true'], 'the attachments stay, one now dead');
SELECT is(pg_temp.ids(), '{}'::int[], 'in the same session the rows are gone right after the revocation committed');
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET balance = 0 WHERE id = 1'),
          '42501: UPDATE of governed table public.lt31_accounts reads its rows, and no lease covers lt31.select on Account::"1"',
          'and an update that needs to read them is refused, naming the select lease it lacks');
RESET ROLE;
SELECT is(governance.revoke(:'u1', 'lt31: revoked too'), 1, '(revoke the update lease too)');
SELECT pg_temp.err('SELECT pg_sleep(3)');
SET ROLE lt31_bot;
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET balance = 0'), '0', 'no update of any row under dead leases');
SELECT governance.detach();
RESET ROLE;
SELECT is((SELECT balance FROM public.lt31_accounts WHERE id = 1), 11, 'the row is untouched');

------------------------------------------------------------------------
-- writes without a live lease are refused, superusers included
------------------------------------------------------------------------
SET ROLE lt31_bot;
SELECT is(pg_temp.n('INSERT INTO public.lt31_accounts VALUES (20, ''Account::"1"'', 1)'),
          '42501: new row violates row-level security policy for table "lt31_accounts"', 'an agent without a lease cannot insert');
RESET ROLE;
SELECT is(pg_temp.n('INSERT INTO public.lt31_accounts VALUES (20, ''Account::"1"'', 1)'),
          '42501: insert on governed table public.lt31_accounts refused', 'a superuser without a lease cannot insert (the lineage trigger)');
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET balance = 0 WHERE id = 2'),
          '42501: update on governed table public.lt31_accounts refused', 'nor update');
SELECT is(pg_temp.n('DELETE FROM public.lt31_accounts WHERE id = 2'),
          '42501: delete on governed table public.lt31_accounts refused', 'nor delete');
SELECT is(pg_temp.n('UPDATE public.lt31_accounts SET balance = 0 WHERE id = 4'),
          '42501: update on governed table public.lt31_accounts refused',
          'nor touch a row whose resource is NULL (the error does not describe a row the caller may not see)');
SET session_replication_role = replica;
SELECT is(pg_temp.n('DELETE FROM public.lt31_accounts WHERE id = 2'),
          '42501: delete on governed table public.lt31_accounts refused', 'not even with session_replication_role = replica');
RESET session_replication_role;
SELECT ok(pg_temp.poll(format($q$SELECT count(*) >= 3 FROM governance.ledger WHERE seq > %s AND kind = 'governance.write.refused'
              AND payload->>'caller' = 'postgres' AND payload->>'detail' LIKE '%%on public.lt31_accounts: no live attached lease of role postgres covers%%'$q$,
              :mark)),
          'refused writes are ledgered by the enforcer as security events');
SET ROLE lt31_owner;
SELECT is(pg_temp.n('INSERT INTO public.lt31_accounts VALUES (21, ''Account::"1"'', 1)'),
          '42501: role lt31_owner cannot hold a lease and may not use governed table public.lt31_accounts',
          'the table''s former owner, no agent, may not write it: it is told it cannot hold a lease');
SELECT is(pg_temp.n('SELECT * FROM public.lt31_accounts'),
          '42501: role lt31_owner cannot hold a lease and may not use governed table public.lt31_accounts',
          'nor read it (rather than seeing no rows)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM public.lt31_accounts), 6, 'none of the refused writes changed the table');

-- the owner cannot take governance off behind ungovern_table's back
SET ROLE lt31_owner;
BEGIN;
SELECT is(pg_temp.n('TRUNCATE public.lt31_accounts'), '42501: permission denied for table lt31_accounts',
          'the former owner cannot TRUNCATE a governed table (it no longer owns it; a write no row trigger sees)');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('ALTER TABLE public.lt31_accounts DISABLE TRIGGER governance_lineage'), '^42501: ',
               'the owner cannot disable the lineage trigger');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('DROP POLICY governance_select ON public.lt31_accounts'), '^42501: ',
               'the owner cannot drop a governance policy');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('ALTER TABLE public.lt31_accounts NO FORCE ROW LEVEL SECURITY'), '^42501: ',
               'the owner cannot stop forcing row-level security');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('CREATE POLICY lt31_open ON public.lt31_accounts FOR SELECT USING (true)'), '^42501: ',
               'the owner cannot add a permissive policy (it would be ORed with governance''s)');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('ALTER POLICY governance_select ON public.lt31_accounts USING (true)'), '^42501: ',
               'the owner cannot rewrite a governance policy');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('ALTER TABLE public.lt31_accounts ENABLE REPLICA TRIGGER governance_lineage'), '^42501: ',
               'the owner cannot make the lineage trigger fire only in replica mode');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('ALTER TABLE public.lt31_accounts DISABLE TRIGGER ALL'), '^42501: ',
               'the owner cannot disable all triggers');
ROLLBACK;
BEGIN;
SELECT matches(pg_temp.err('DROP TABLE public.lt31_accounts'), '^42501: ',
               'the owner cannot drop a governed table (its listing would dangle)');
ROLLBACK;
RESET ROLE;
BEGIN;
SELECT matches(pg_temp.err('ALTER TABLE public.lt31_accounts DISABLE TRIGGER governance_lineage'), '^42501: ',
               'a superuser cannot disable the lineage trigger with plain DDL either');
ROLLBACK;
SELECT is((SELECT count(*)::int FROM public.lt31_accounts), 6, '(the table is intact)');

------------------------------------------------------------------------
-- ungovern_table: admin only, ledgered
------------------------------------------------------------------------
SET ROLE lt31_bot;
SELECT is(pg_temp.err('SELECT governance.ungovern_table(''public.lt31_accounts'')'),
          '42501: permission denied for function ungovern_table', 'an agent cannot ungovern a table');
RESET ROLE;
SET ROLE lt31_owner;
SELECT matches(pg_temp.err('SELECT governance.ungovern_table(''public.lt31_accounts'')'), '^42501: permission denied',
               'nor can its owner');
RESET ROLE;
SET ROLE lt31_admin;
SELECT is(pg_temp.err('SELECT governance.ungovern_table(''public.lt31_accounts'')'), 'no error', 'governance_admin can');
RESET ROLE;
SELECT is((SELECT payload FROM governance.ledger WHERE seq > :mark AND kind = 'governance.table.ungoverned'),
          '{"by": "lt31_admin", "table": "public.lt31_accounts"}'::jsonb, 'ungovern_table is ledgered, with by whom');
SELECT ok((SELECT NOT relrowsecurity AND NOT relforcerowsecurity FROM pg_class WHERE oid = 'public.lt31_accounts'::regclass)
          AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = 'public.lt31_accounts'::regclass)
          AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'public.lt31_accounts'::regclass AND tgname = 'governance_lineage')
          AND NOT EXISTS (SELECT 1 FROM governance.governed_tables WHERE relid = 'public.lt31_accounts'::regclass),
          'row-level security, policies, trigger and the listing are gone');
SET ROLE lt31_bot;
SELECT is(pg_temp.ids(), ARRAY[1, 2, 3, 4, 5, 6], 'the agent now reads the ungoverned table by its grants alone');
RESET ROLE;
SELECT is(pg_temp.err('SELECT governance.ungovern_table(''public.lt31_accounts'')'),
          '42704: table public.lt31_accounts is not governed', 'ungoverning it again is an error');
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_accounts'', ''lt31'', ''owner'')'), 'no error',
          'it can be governed again');
SET ROLE lt31_bot;
SELECT is(pg_temp.ids(), '{}'::int[], 'and rows are hidden again');
RESET ROLE;

------------------------------------------------------------------------
-- govern_table: who, and bad input
------------------------------------------------------------------------
CREATE TABLE public.lt31_other (id int PRIMARY KEY, res text, n int);
SET ROLE lt31_bot;
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_other'', ''o'', ''res'')'),
          '42501: permission denied for function govern_table', 'an agent cannot govern a table');
RESET ROLE;
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_accounts'', ''lt31'', ''owner'')'),
          '42710: table public.lt31_accounts is already governed', 'govern_table twice is an error');
SELECT is(pg_temp.err('SELECT governance.govern_table(NULL, ''o'', ''res'')'),
          '22004: table, action prefix and resource column must not be NULL', 'govern_table: NULL table');
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_other'', NULL, ''res'')'),
          '22004: table, action prefix and resource column must not be NULL', 'govern_table: NULL prefix');
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_other'', ''o'', NULL)'),
          '22004: table, action prefix and resource column must not be NULL', 'govern_table: NULL column');
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_other'', '''', ''res'')'),
          '22023: action prefix must be 1 to 200 characters', 'govern_table: empty prefix');
SELECT is(pg_temp.err(format('SELECT governance.govern_table(''public.lt31_other'', %L, ''res'')', repeat('p', 201))),
          '22023: action prefix must be 1 to 200 characters', 'govern_table: a 201-character prefix');
SELECT is(pg_temp.err(format('SELECT governance.govern_table(''public.lt31_other'', %L, ''res'')', p)),
          '22023: action prefix must not contain quotes, backslashes, colons or control characters',
          format('govern_table: prefix %s', p))
  FROM unnest(ARRAY['o"', 'o\', 'Action::o', E'o\n']) p;
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_other'', ''o'', ''nope'')'),
          '42703: column "nope" does not exist in lt31_other', 'govern_table: unknown column');
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_other'', ''o'', ''n'')'),
          '42804: resource column "n" must be of type text', 'govern_table: a non-text resource column');
SELECT is(pg_temp.err('SELECT governance.govern_table(''governance.leases'', ''o'', ''principal'')'),
          '22023: tables in system, temporary or governance schemas cannot be governed', 'govern_table: a governance table');
SELECT is(pg_temp.err('SELECT governance.govern_table(''pg_catalog.pg_class'', ''o'', ''relname'')'),
          '22023: tables in system, temporary or governance schemas cannot be governed', 'govern_table: a catalog');
CREATE VIEW public.lt31_view AS SELECT * FROM public.lt31_other;
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_view'', ''o'', ''res'')'),
          '42809: only tables can be governed', 'govern_table: a view');
DROP VIEW public.lt31_view;
SELECT is(pg_temp.err('SELECT governance.govern_table(''public.lt31_no_such'', ''o'', ''res'')'),
          '42P01: relation "public.lt31_no_such" does not exist', 'govern_table: no such table');
SELECT is(pg_temp.err('SELECT governance.ungovern_table(NULL)'), '22004: table must not be NULL', 'ungovern_table: NULL');
SELECT is(pg_temp.err('SELECT governance.ungovern_table(''public.lt31_other'')'),
          '42704: table public.lt31_other is not governed', 'ungovern_table of a table never governed');

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT governance.ungovern_table('public.lt31_accounts');
DROP TABLE public.lt31_accounts, public.lt31_other;
SELECT governance.drop_policy('lt31_p');
DROP OWNED BY lt31_bot, lt31_bot2, lt31_owner, lt31_admin;
DROP ROLE lt31_bot, lt31_bot2, lt31_owner, lt31_admin;

SELECT * FROM finish();
