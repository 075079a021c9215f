-- Whose lease, for how long (docs/DESIGN.md, "Leases", "Statements and
-- cursors", "Transactions"): a lease is used only while the code that
-- checks it runs as the role it was issued to (SET ROLE, SECURITY DEFINER
-- functions and triggers, views, rules, policies of other tables); a
-- cursor stops when a lease it read under stops being usable, held or
-- not; and attachments, key rotations, policy changes and leases made in
-- a savepoint or exception block that rolls back are undone.
--
-- Outside a transaction block: leases go live when they commit.  Names are
-- lt34_* / "lt34-*"; everything is dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    DROP SCHEMA IF EXISTS lt34 CASCADE;
    DELETE FROM governance.governed_tables WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relid);
    PERFORM pg_temp.drop_roles(ARRAY['lt34_bot', 'lt34_other', 'lt34_mal', 'lt34_admin']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt34%';

SELECT plan(53);


CREATE ROLE lt34_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt34_other LOGIN IN ROLE governance_agent;
CREATE ROLE lt34_mal LOGIN;
CREATE ROLE lt34_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"lt34-bot"', 'lt34_bot');
SELECT governance.put_entity('Agent::"lt34-bot"', '{}', '{}');
SELECT governance.create_policy('lt34_p', 'permit (principal == Agent::"lt34-bot", action, resource);');

CREATE SCHEMA lt34;
GRANT USAGE ON SCHEMA lt34 TO PUBLIC;
GRANT CREATE ON SCHEMA lt34 TO lt34_mal;
CREATE TABLE lt34.pay (id int PRIMARY KEY, account text, v int);
INSERT INTO lt34.pay VALUES (1, 'Account::"1"', 10), (2, 'Account::"2"', 20);
GRANT SELECT, INSERT, UPDATE, DELETE ON lt34.pay TO lt34_bot, lt34_other, lt34_mal, lt34_admin;
SELECT governance.govern_table('lt34.pay', 'lt34', 'account');
CREATE TABLE lt34.loot (x text);
GRANT INSERT, SELECT ON lt34.loot TO PUBLIC;

-- other roles' code the agent may run: views, definer functions, a rule and
-- a definer trigger on a table the agent writes to
CREATE VIEW lt34.v_admin AS SELECT * FROM lt34.pay;
ALTER VIEW lt34.v_admin OWNER TO lt34_admin;
CREATE VIEW lt34.v_bot AS SELECT * FROM lt34.pay;
ALTER VIEW lt34.v_bot OWNER TO lt34_bot;
CREATE VIEW lt34.v_invoker WITH (security_invoker) AS SELECT * FROM lt34.pay;
ALTER VIEW lt34.v_invoker OWNER TO lt34_mal;
CREATE VIEW lt34.v_mal AS SELECT * FROM lt34.pay;
ALTER VIEW lt34.v_mal OWNER TO lt34_mal;
GRANT SELECT ON lt34.v_admin, lt34.v_bot, lt34.v_invoker, lt34.v_mal TO lt34_bot;
CREATE FUNCTION lt34.read_as_admin() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER AS $$ SELECT account FROM lt34.pay $$;
ALTER FUNCTION lt34.read_as_admin() OWNER TO lt34_admin;
CREATE FUNCTION lt34.read_as_bot() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER AS $$ SELECT account FROM lt34.pay $$;
ALTER FUNCTION lt34.read_as_bot() OWNER TO lt34_bot;
CREATE FUNCTION lt34.zero_as_mal() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE c bigint;
BEGIN
    UPDATE lt34.pay SET v = 0;
    GET DIAGNOSTICS c = ROW_COUNT;
    RETURN c;
END $$;
ALTER FUNCTION lt34.zero_as_mal() OWNER TO lt34_mal;
CREATE TABLE lt34.notes (n text);
ALTER TABLE lt34.notes OWNER TO lt34_mal;
GRANT INSERT ON lt34.notes TO lt34_bot;
SET ROLE lt34_mal;
CREATE RULE copy_rows AS ON INSERT TO lt34.notes DO ALSO INSERT INTO lt34.loot SELECT 'rule ' || account FROM lt34.pay;
CREATE RULE zero_rows AS ON INSERT TO lt34.notes DO ALSO UPDATE lt34.pay SET v = 0;
CREATE FUNCTION lt34.steal() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO lt34.loot SELECT 'trigger ' || account FROM lt34.pay;
    RETURN NEW;
END $$;
CREATE TRIGGER steal AFTER INSERT ON lt34.notes FOR EACH ROW EXECUTE FUNCTION lt34.steal();
CREATE TABLE lt34.slip (n text);
GRANT INSERT ON lt34.slip TO lt34_bot;
CREATE RULE plant AS ON INSERT TO lt34.slip DO ALSO INSERT INTO lt34.pay VALUES (99, 'Account::"1"', 99);
-- a table whose policy reads the governed table
CREATE TABLE lt34.m (a text);
INSERT INTO lt34.m VALUES ('Account::"1"'), ('Account::"2"');
ALTER TABLE lt34.m ENABLE ROW LEVEL SECURITY;
ALTER TABLE lt34.m FORCE ROW LEVEL SECURITY;
CREATE POLICY m_p ON lt34.m USING (EXISTS (SELECT 1 FROM lt34.pay p WHERE p.account = m.a));
GRANT SELECT ON lt34.m TO lt34_bot;
CREATE VIEW lt34.m_view AS SELECT * FROM lt34.m;
GRANT SELECT ON lt34.m_view TO lt34_bot;
RESET ROLE;

------------------------------------------------------------------------
-- code running as another role sees what that role holds: nothing
------------------------------------------------------------------------
SET ROLE lt34_bot;
SELECT lease_id AS s1, artifact AS s1a FROM governance.authorize('Agent::"lt34-bot"', 'lt34.select', 'Account::"1"') \gset
SELECT lease_id AS u1, artifact AS u1a FROM governance.authorize('Agent::"lt34-bot"', 'lt34.update', 'Account::"1"') \gset
SELECT lease_id AS i1, artifact AS i1a FROM governance.authorize('Agent::"lt34-bot"', 'lt34.insert', 'Account::"1"') \gset
BEGIN;
SELECT governance.attach(:'s1a');
SELECT governance.attach(:'u1a');
SELECT governance.attach(:'i1a');
SELECT is(pg_temp.n('SELECT * FROM lt34.pay'), '1', 'the agent reads its lease''s rows');
SELECT is(pg_temp.n('SELECT * FROM lt34.v_bot'), '1', 'through its own view');
SELECT is(pg_temp.n('SELECT * FROM lt34.v_invoker'), '1', 'through another role''s security_invoker view (it reads as the agent)');
SELECT is(pg_temp.n('SELECT * FROM lt34.v_admin'), '0', 'not through an administrator''s view (it reads as the administrator)');
SELECT is(pg_temp.n('SELECT * FROM lt34.v_mal'), '0', 'nor through another role''s view');
SELECT is(pg_temp.n('SELECT * FROM lt34.read_as_admin()'), '0', 'nor through an administrator''s SECURITY DEFINER function');
SELECT is(pg_temp.n('SELECT * FROM lt34.read_as_bot()'), '1', '(its own SECURITY DEFINER function runs as itself)');
SELECT is(lt34.zero_as_mal(), 0::bigint, 'another role''s SECURITY DEFINER function changes no governed row');
SELECT is(pg_temp.n('INSERT INTO lt34.notes VALUES (''hello'')'), '1',
          'the agent writes to another role''s table that has rules and a SECURITY DEFINER trigger ...');
SELECT is(pg_temp.err('INSERT INTO lt34.slip VALUES (''x'')'),
          '42501: new row violates row-level security policy for table "pay"',
          'a rule that writes into the governed table is refused although the agent holds an insert lease');
SELECT is(pg_temp.n('SELECT * FROM lt34.m'), '1', 'another table''s policy reads the governed table as the agent');
SELECT is(pg_temp.n('SELECT * FROM lt34.m_view'), '0', 'but as the view''s owner through that role''s view');
COMMIT;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM lt34.loot), 0, '... and neither rule nor trigger copied a governed row out');
SELECT is((SELECT array_agg(v ORDER BY id) FROM lt34.pay), ARRAY[10, 20], 'no governed row was changed or planted');

------------------------------------------------------------------------
-- SET ROLE: the lease stays with the role it was issued to
------------------------------------------------------------------------
SET ROLE lt34_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT governance.attach(:'u1a');
SET LOCAL ROLE lt34_other;
SELECT is(pg_temp.n('SELECT * FROM lt34.pay'), '0', 'after SET LOCAL ROLE another role reads nothing under the lease');
SELECT is(governance.is_authorized('lt34.select', 'Account::"1"'), false, 'is_authorized() is false for it');
SELECT is(governance.authorized_resources('lt34.select'), '{}'::text[], 'authorized_resources() is empty');
SELECT is(governance.authorized_resource('lt34.select'), NULL, 'authorized_resource() is NULL');
SELECT is(pg_temp.n('UPDATE lt34.pay SET v = v + 1'), '0', 'it updates nothing');
SELECT is(pg_temp.err('SELECT governance.record(''lt34.note'', ''{}'')'),
          '42501: record() needs a live attached lease', 'record() finds no lease of its own');
SET LOCAL ROLE lt34_bot;
SELECT is(pg_temp.n('SELECT * FROM lt34.pay'), '1', 'back as the agent''s role, the lease works again');
COMMIT;
RESET ROLE;
SET ROLE lt34_bot;
SELECT governance.attach(:'s1a', true);
SET ROLE lt34_other;
SELECT is(pg_temp.n('SELECT * FROM lt34.pay'), '0', 'a session attachment does not follow SET ROLE either');
SET ROLE lt34_bot;
SELECT governance.detach();
RESET ROLE;

------------------------------------------------------------------------
-- cursors stop when a lease they read under stops being usable
------------------------------------------------------------------------
SET ROLE lt34_bot;
SELECT lease_id AS t1, artifact AS t1a FROM governance.authorize('Agent::"lt34-bot"', 'lt34.select', 'Account::"1"', '{}', '1 second') \gset
BEGIN;
DECLARE c1 CURSOR FOR SELECT id FROM lt34.pay;
SELECT governance.attach(:'s1a');
SELECT is(pg_temp.n('FETCH 1 FROM c1'), '1', 'a cursor declared before attach() reads under the lease attached later');
SELECT governance.detach();
SELECT matches(pg_temp.err('FETCH 1 FROM c1'), '^42501: governance lease .* which this statement read governed rows under, is no longer usable',
               'after detach() its next FETCH is refused');
ROLLBACK;
BEGIN;
DECLARE c2 SCROLL CURSOR FOR SELECT id FROM lt34.pay;
DECLARE c2m SCROLL CURSOR FOR SELECT id FROM lt34.pay;
SELECT governance.attach(:'t1a');
SELECT is(pg_temp.n('FETCH 1 FROM c2'), '1', 'a cursor reads under a lease about to expire');
SELECT is(pg_temp.n('FETCH 1 FROM c2m'), '1', '(and another)');
-- (the enforcer cancels this wait, which began under the lease)
SELECT pg_temp.err('SELECT pg_sleep(1.1)');
SELECT matches(pg_temp.err('FETCH PRIOR FROM c2'),
               '^57L01: canceling statement: governance lease [-0-9a-f]+ expired; this statement read governed rows under it$',
               'after it expired, FETCH is refused, with governance''s SQLSTATE 57L01 (the lease ended)');
SELECT matches(pg_temp.err('MOVE FIRST IN c2m'), '^57L01: canceling statement: governance lease .* expired', 'and MOVE');
ROLLBACK;
SELECT is((SELECT error_code || ' ' || lease_id FROM governance.last_termination()), '57L01 ' || :'t1',
          'last_termination() names the lease that ended');
BEGIN;
SELECT governance.attach(:'s1a');
DECLARE c3 CURSOR FOR SELECT id FROM lt34.pay;
SELECT is(pg_temp.n('FETCH 1 FROM c3'), '1', 'a cursor reads as the agent');
SET LOCAL ROLE lt34_other;
SELECT matches(pg_temp.err('FETCH 1 FROM c3'), '^42501: governance lease .* is no longer usable', 'after SET ROLE it stops');
ROLLBACK;
-- WITH HOLD: run to completion at commit, read from a store afterwards
BEGIN;
SELECT governance.attach(:'s1a');
DECLARE h1 CURSOR WITH HOLD FOR SELECT id FROM lt34.pay;
COMMIT;
SELECT matches(pg_temp.err('FETCH 1 FROM h1'),
               '^42501: cursor "h1" read governed rows under lease .*, which is no longer usable',
               'a WITH HOLD cursor made under a transaction''s attachment is refused after that transaction');
CLOSE h1;
SELECT lease_id AS r1, artifact AS r1a FROM governance.authorize('Agent::"lt34-bot"', 'lt34.select', 'Account::"1"') \gset
SELECT governance.attach(:'r1a', true);
BEGIN;
DECLARE h2 CURSOR WITH HOLD FOR SELECT id FROM lt34.pay;
DECLARE h3 CURSOR WITH HOLD FOR SELECT id FROM lt34.pay;
COMMIT;
SELECT is(pg_temp.n('FETCH 1 FROM h2'), '1', 'under a session attachment a WITH HOLD cursor reads after its transaction');
SELECT governance.revoke(:'r1', 'lt34 held cursor');
SELECT matches(pg_temp.err('FETCH 1 FROM h2'),
               '^57L01: canceling statement: governance lease [-0-9a-f]+ was revoked; cursor "h2" read governed rows under it$',
               'once its lease is revoked, FETCH from it is refused, with SQLSTATE 57L01');
SELECT is((SELECT error_code || ' ' || lease_id FROM governance.last_termination()), '57L01 ' || :'r1',
          'and last_termination() says so');
SELECT matches(pg_temp.err('MOVE 1 IN h2'), '^57L01: canceling statement: governance lease .* was revoked; cursor "h2"', 'and MOVE');
SELECT matches(pg_temp.err($q$DO $d$ DECLARE r record; c refcursor := 'h3'; BEGIN FETCH c INTO r; END $d$$q$),
               '^55000: portal "h3" cannot be run', 'and a PL/pgSQL FETCH from another held cursor of the lease');
CLOSE h2;
CLOSE h3;
SELECT governance.detach();
-- a statement that failed in a savepoint or exception block leaves nothing behind
SELECT governance.attach(:'s1a', true);
BEGIN;
SAVEPOINT a;
SELECT pg_temp.err('SELECT id / 0 FROM lt34.pay');
ROLLBACK TO a;
DO $$ BEGIN PERFORM id / 0 FROM lt34.pay; EXCEPTION WHEN division_by_zero THEN NULL; END $$;
SELECT governance.detach();
SELECT is(pg_temp.n('SELECT * FROM lt34.pay'), '0', 'after failed statements in a savepoint and an exception block, and a detach ...');
SELECT is(pg_temp.n('SELECT 1'), '1', '... an unrelated query raises no stray "lease has ended" error');
COMMIT;
RESET ROLE;

------------------------------------------------------------------------
-- savepoints and exception blocks undo what they did
------------------------------------------------------------------------
SET ROLE lt34_bot;
SELECT lease_id AS sb, artifact AS sba FROM governance.authorize('Agent::"lt34-bot"', 'lt34.select', 'Account::"1"') \gset
BEGIN;
SAVEPOINT a;
SELECT governance.attach(:'sba', true);
ROLLBACK TO a;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'an attach() rolled back to a savepoint is undone');
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'and does not reappear at commit');
SELECT set_config('lt34.sba', :'sba', false);
DO $$ BEGIN PERFORM governance.attach(current_setting('lt34.sba'), true); RAISE EXCEPTION 'undo'; EXCEPTION WHEN raise_exception THEN NULL; END $$;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'an attach() in a failed exception block is undone');
BEGIN;
SELECT governance.attach(:'sba');
SAVEPOINT a;
SELECT governance.attach(:'sba', true);
ROLLBACK TO a;
SELECT is((SELECT scope FROM governance.current_lease()), 'transaction', 'a session scope taken in a rolled-back savepoint goes back to transaction');
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'so the attachment ends with the transaction');
BEGIN;
SAVEPOINT a;
SELECT lease_id AS sp FROM governance.authorize('Agent::"lt34-bot"', 'lt34.select', 'Account::"2"') \gset
ROLLBACK TO a;
COMMIT;
RESET ROLE;
SELECT ok(NOT EXISTS (SELECT 1 FROM governance.leases WHERE lease_id = :'sp'),
          'a lease authorized in a rolled-back savepoint does not exist');
SELECT is((SELECT session_bound FROM governance.leases WHERE lease_id = :'sb'), false,
          'no rolled-back session attach left its durable mark');

-- key rotation in a rolled-back savepoint
SELECT governance.current_key_id() AS key_before \gset
SELECT count(*) AS keys_before FROM governance.signing_keys \gset
BEGIN;
SAVEPOINT a;
SELECT governance.rotate_key();
ROLLBACK TO a;
COMMIT;
SELECT is(governance.current_key_id(), :'key_before', 'a key rotation rolled back to a savepoint does not install the new key');
SELECT is((SELECT count(*) FROM governance.signing_keys), :keys_before::bigint, 'nor record it');
BEGIN;
SAVEPOINT a;
SELECT governance.rotate_key();
ROLLBACK TO a;
SELECT isnt(governance.rotate_key(), :'key_before', 'after ROLLBACK TO, the same transaction can rotate again');
COMMIT;
SELECT isnt(governance.current_key_id(), :'key_before', 'and that rotation is installed at commit');

-- a policy change rolled back to a savepoint is forgotten by the decision cache
SET ROLE lt34_admin;
BEGIN;
SELECT is((SELECT decision FROM governance.decide('Agent::"lt34-bot"', 'lt34.select', 'Account::"7"')), 'allow',
          '(allowed before)');
SAVEPOINT a;
SELECT governance.create_policy('lt34_forbid', 'forbid (principal, action, resource == Account::"7");');
SELECT is((SELECT decision FROM governance.decide('Agent::"lt34-bot"', 'lt34.select', 'Account::"7"')), 'deny',
          'a forbid created in a savepoint denies inside it');
ROLLBACK TO a;
SELECT is((SELECT decision FROM governance.decide('Agent::"lt34-bot"', 'lt34.select', 'Account::"7"')), 'allow',
          'and no longer after ROLLBACK TO');
COMMIT;
RESET ROLE;

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT governance.ungovern_table('lt34.pay');
DROP SCHEMA lt34 CASCADE;
SELECT governance.drop_policy('lt34_p');
DROP OWNED BY lt34_bot, lt34_other, lt34_mal, lt34_admin;
DROP ROLE lt34_bot, lt34_other, lt34_mal, lt34_admin;

SELECT * FROM finish();
