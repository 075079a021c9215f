-- Poolers and application roles (issue 11, part 3; README "Connection
-- poolers and application roles"): how attach() may be called (session
-- attachments only where governance.session_attach allows, no transaction
-- attachment that is the whole statement outside a transaction block, a
-- HINT for a lease the caller's own transaction issued); who may use a
-- governed table (roles that can hold no lease, and BYPASSRLS roles, are
-- told so); UPDATE and DELETE that read rows need the select lease, and
-- say so; last_termination() (bad input, privileges, savepoints, a real
-- cancel by the enforcer).  test/system/pooler.sh does the same through
-- pgbouncer and psycopg.
--
-- Names are lt37_* / "lt37-*"; dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    IF to_regclass('lt37.acct') IS NOT NULL
       AND EXISTS (SELECT 1 FROM governance.governed_tables WHERE relid = to_regclass('lt37.acct')) THEN
        PERFORM governance.ungovern_table('lt37.acct');
    END IF;
    DROP SCHEMA IF EXISTS lt37 CASCADE;
    DELETE FROM governance.governed_tables WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relid);
    PERFORM pg_temp.drop_roles(ARRAY['lt37_bot', 'lt37_app', 'lt37_rep', 'lt37_bypass']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt37%';

SELECT plan(47);

-- the error's SQLSTATE, message and hint
CREATE FUNCTION pg_temp.hint(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;

CREATE ROLE lt37_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt37_app LOGIN;
CREATE ROLE lt37_rep LOGIN IN ROLE governance_agent;
CREATE ROLE lt37_bypass LOGIN BYPASSRLS;
SELECT governance.register_agent('Agent::"lt37-bot"', 'lt37_bot');
SELECT governance.register_agent('Service::"lt37-reporting"', 'lt37_rep');
SELECT NULL FROM governance.create_policy('lt37_p', 'permit (principal == Agent::"lt37-bot", action, resource);');
SELECT NULL FROM governance.create_policy('lt37_rep', 'permit (principal == Service::"lt37-reporting", action == Action::"lt37.select", resource);');
CREATE SCHEMA lt37;
GRANT USAGE ON SCHEMA lt37 TO lt37_bot, lt37_app, lt37_rep, lt37_bypass;
GRANT CREATE ON SCHEMA lt37 TO lt37_bypass;
CREATE TABLE lt37.acct (id int PRIMARY KEY, owner text, v int);
INSERT INTO lt37.acct VALUES (1, 'Account::"1"', 10), (2, 'Account::"2"', 20), (3, 'Account::"1"', 30);
SELECT governance.govern_table('lt37.acct', 'lt37', 'owner');
GRANT SELECT, INSERT, UPDATE, DELETE ON lt37.acct TO lt37_bot, lt37_app, lt37_rep, lt37_bypass;
-- a view of the BYPASSRLS role, which the agent may read
SET ROLE lt37_bypass;
CREATE VIEW lt37.v_bypass AS SELECT * FROM lt37.acct;
RESET ROLE;
GRANT SELECT ON lt37.v_bypass TO lt37_bot;

SET ROLE lt37_bot;
SELECT lease_id AS s1, artifact AS s1a FROM governance.authorize('Agent::"lt37-bot"', 'lt37.select', 'Account::"1"') \gset
SELECT lease_id AS u1, artifact AS u1a FROM governance.authorize('Agent::"lt37-bot"', 'lt37.update', 'Account::"1"') \gset
SELECT lease_id AS u2, artifact AS u2a FROM governance.authorize('Agent::"lt37-bot"', 'lt37.update', 'Account::"2"') \gset
SELECT lease_id AS d1, artifact AS d1a FROM governance.authorize('Agent::"lt37-bot"', 'lt37.delete', 'Account::"1"') \gset
RESET ROLE;

------------------------------------------------------------------------
-- governance.session_attach
------------------------------------------------------------------------
SELECT is((SELECT boot_val || '/' || context FROM pg_settings WHERE name = 'governance.session_attach'), 'off/superuser',
          'governance.session_attach is off by default and only a superuser sets it');
SET ROLE lt37_bot;
SELECT is(pg_temp.err('SET governance.session_attach = on'),
          '42501: permission denied to set parameter "governance.session_attach"', 'an agent cannot turn it on for itself');
RESET ROLE;
SET governance.session_attach = off;
SET ROLE lt37_bot;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L, session => true)', :'s1a')),
          '55000: attaching a lease for the session is not enabled for role lt37_bot',
          'with it off, attach(..., session => true) is refused');
SELECT matches(pg_temp.hint(format('SELECT governance.attach(%L, session => true)', :'s1a')),
               'BEGIN; SELECT governance.attach\(artifact\); \.\.\.; COMMIT\..*ALTER ROLE \.\.\. SET',
               'its hint says to attach per transaction, or how a superuser opts a role in');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'nothing was attached');
BEGIN;
SAVEPOINT sp;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L, session => true)', :'s1a')),
          '55000: attaching a lease for the session is not enabled for role lt37_bot', 'refused inside a savepoint too');
ROLLBACK TO SAVEPOINT sp;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'and after ROLLBACK TO nothing is attached');
SELECT is(pg_temp.err(format('SELECT governance.attach(%L, session => NULL)', :'s1a')), 'no error',
          'session => NULL means the transaction, allowed');
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'and it ended with the transaction');
RESET ROLE;
RESET governance.session_attach;
SET ROLE lt37_bot;
BEGIN;
SELECT is(governance.attach(:'s1a', session => true), :'s1'::uuid, 'a superuser''s opt-in (here the cluster''s) lets the session attach');
ROLLBACK;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, '(rolled back: nothing stays attached)');

------------------------------------------------------------------------
-- attach() outside a transaction block
------------------------------------------------------------------------
\set ON_ERROR_STOP 0
SELECT governance.attach(:'s1a');
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE' || ': ' || :'LAST_ERROR_MESSAGE',
          '25P01: attach() outside a transaction block would end with this statement',
          'attach() as the whole statement outside a transaction block is refused');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'nothing is attached');
CREATE TEMP TABLE lt37_seen (n int);
SELECT set_config('lt37.s1a', :'s1a', false) IS NOT NULL AS set;
DO $$ BEGIN
    PERFORM governance.attach(current_setting('lt37.s1a'));
    INSERT INTO lt37_seen SELECT count(*) FROM lt37.acct;
END $$;
SELECT is((SELECT n FROM lt37_seen), 2, 'inside a DO block it lasts for the rest of the block (its implicit transaction)');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'and ends with it');
BEGIN;
SELECT is(governance.attach(:'s1a'), :'s1'::uuid, 'in a transaction block attach() works');
SELECT is((SELECT count(*)::int FROM lt37.acct), 2, 'and the rows are read under it');
COMMIT;

------------------------------------------------------------------------
-- a lease issued by the caller's own transaction
------------------------------------------------------------------------
BEGIN;
SELECT artifact AS pa FROM governance.authorize('Agent::"lt37-bot"', 'lt37.select', 'Account::"2"') \gset
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'pa')),
          '55000: artifact refused: lease not committed',
          'attaching a lease authorized in the same transaction: 55000, not a security refusal');
SELECT matches(pg_temp.hint(format('SELECT governance.attach(%L)', :'pa')),
               '^Commit the transaction that calls governance.authorize\(\).*conn.commit\(\) after authorize\(\)',
               'its HINT says to commit the authorize first (psycopg too)');
SAVEPOINT sp;
SELECT artifact AS pb FROM governance.authorize('Agent::"lt37-bot"', 'lt37.select', 'Account::"2"') \gset
RELEASE SAVEPOINT sp;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'pb')), '55000: artifact refused: lease not committed',
          'the same for one authorized in a released savepoint');
SAVEPOINT sp2;
SELECT artifact AS pc FROM governance.authorize('Agent::"lt37-bot"', 'lt37.select', 'Account::"2"') \gset
ROLLBACK TO SAVEPOINT sp2;
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', :'pc')), '^42501: artifact refused: lease ',
               'one whose savepoint rolled back no longer exists: refused as any unknown lease');
ROLLBACK;
RESET ROLE;

------------------------------------------------------------------------
-- UPDATE and DELETE under write leases
------------------------------------------------------------------------
SET ROLE lt37_bot;
BEGIN;
SELECT governance.attach(:'u1a');
SELECT is(pg_temp.n('UPDATE lt37.acct SET v = v + 1 WHERE id = 1'),
          '42501: UPDATE of governed table lt37.acct reads its rows, and no lease covers lt37.select on Account::"1"',
          'an UPDATE with a WHERE under only an update lease is refused, naming the missing select lease');
SELECT is(pg_temp.n('UPDATE lt37.acct SET v = 0 RETURNING id, v'),
          '42501: UPDATE of governed table lt37.acct reads its rows, and no lease covers lt37.select on Account::"1"',
          'RETURNING reads too: refused');
SELECT is(pg_temp.n('UPDATE lt37.acct SET v = 0 WHERE v > 25'),
          '42501: UPDATE of governed table lt37.acct reads its rows, and no lease covers lt37.select on Account::"1"',
          'a WHERE that would answer a question about the values (v > 25) is refused before it runs');
SELECT is(pg_temp.n('UPDATE lt37.acct SET v = 7'), '2', 'an UPDATE that reads nothing writes exactly the rows its lease covers');
SELECT governance.attach(:'s1a');
SELECT is(pg_temp.n('UPDATE lt37.acct SET v = v + 1 WHERE id = 1'), '1', 'with the select lease too, the UPDATE with a WHERE works');
SELECT governance.attach(:'u2a');
SELECT is(pg_temp.n('UPDATE lt37.acct SET v = v + 1 WHERE id = 1'),
          '42501: UPDATE of governed table lt37.acct reads its rows, and no lease covers lt37.select on Account::"2"',
          'an update lease on a resource not readable makes a reading UPDATE refused, naming that resource');
ROLLBACK;
BEGIN;
SELECT governance.attach(:'d1a');
SELECT is(pg_temp.n('DELETE FROM lt37.acct WHERE id = 3'),
          '42501: DELETE of governed table lt37.acct reads its rows, and no lease covers lt37.select on Account::"1"',
          'a DELETE with a WHERE under only a delete lease is refused the same way');
SELECT is(pg_temp.n('DELETE FROM lt37.acct'), '2', 'a DELETE that reads nothing deletes exactly the rows its lease covers');
ROLLBACK;
RESET ROLE;
SELECT is((SELECT array_agg(v ORDER BY id) FROM lt37.acct), ARRAY[10, 20, 30], 'all of that rolled back');

------------------------------------------------------------------------
-- roles that are not agents
------------------------------------------------------------------------
SET ROLE lt37_app;
SELECT is(pg_temp.n('SELECT * FROM lt37.acct'),
          '42501: role lt37_app cannot hold a lease and may not use governed table lt37.acct',
          'an application role that is no agent is told it cannot hold a lease (not shown zero rows)');
SELECT matches(pg_temp.hint('SELECT * FROM lt37.acct'), 'GRANT governance_agent TO lt37_app; SELECT governance.register_agent',
               'and how to make it one');
SELECT is(pg_temp.n('INSERT INTO lt37.acct VALUES (9, ''Account::"1"'', 0)'),
          '42501: role lt37_app cannot hold a lease and may not use governed table lt37.acct', 'nor write');
\set ON_ERROR_STOP 0
COPY lt37.acct TO STDOUT;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE' || ': ' || :'LAST_ERROR_MESSAGE',
          '42501: role lt37_app cannot hold a lease and may not use governed table lt37.acct', 'nor COPY it out');
SELECT is(pg_temp.err('SELECT * FROM governance.last_termination()'),
          '42501: permission denied for schema governance', 'it may not call last_termination() either');
RESET ROLE;
SET ROLE lt37_bypass;
SELECT is(pg_temp.n('SELECT * FROM lt37.acct'),
          '42501: role lt37_bypass bypasses row-level security and may not use governed table lt37.acct',
          'a BYPASSRLS role may not read a governed table (it would read every row, lease or not)');
\set ON_ERROR_STOP 0
COPY lt37.acct TO STDOUT;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE' || ': ' || :'LAST_ERROR_MESSAGE',
          '42501: role lt37_bypass bypasses row-level security and may not use governed table lt37.acct',
          'nor COPY it out (which reads without the executor)');
RESET ROLE;
SET ROLE lt37_bot;
SELECT is(pg_temp.n('SELECT * FROM lt37.v_bypass'),
          '42501: role lt37_bypass bypasses row-level security and may not use governed table lt37.acct',
          'nor may an agent read it through a BYPASSRLS role''s view');
RESET ROLE;
SET ROLE lt37_rep;
SELECT artifact AS ra FROM governance.authorize('Service::"lt37-reporting"', 'lt37.select', 'Account::"2"') \gset
BEGIN;
SELECT governance.attach(:'ra');
SELECT is((SELECT array_agg(id) FROM lt37.acct), ARRAY[2], 'a reporting role registered as a service agent reads under its lease');
COMMIT;
SELECT is(pg_temp.n('SELECT * FROM lt37.acct'), '0', 'and, as any agent, nothing without one');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM lt37.acct), 3, 'a superuser still reads every row');

------------------------------------------------------------------------
-- last_termination()
------------------------------------------------------------------------
SET ROLE lt37_bot;
SELECT is((SELECT count(*)::int FROM governance.last_termination()), 0, 'last_termination(): nothing ended yet');
BEGIN;
SAVEPOINT sp;
SELECT is((SELECT count(*)::int FROM governance.last_termination()), 0, 'the same inside a savepoint');
ROLLBACK TO SAVEPOINT sp;
COMMIT;
SELECT artifact AS ea FROM governance.authorize('Agent::"lt37-bot"', 'lt37.select', 'Account::"1"', '{}', '3 seconds') \gset
BEGIN;
SELECT governance.attach(:'ea') IS NOT NULL;
-- caught inside PL/pgSQL (err()): still query_canceled there
SELECT pg_temp.err('SELECT pg_sleep(20) FROM lt37.acct') AS ee \gset
SELECT lease_id AS el, error_code AS ec, message AS em FROM governance.last_termination() \gset
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.last_termination()), 1, 'it is kept through the next transaction');
SELECT is((SELECT count(*)::int FROM governance.last_termination()), 0, 'and then forgotten');
SELECT is(:'ee'::text ~ '^57014: ', true, 'the enforcer cancels the statement when the lease expires; a PL/pgSQL handler sees 57014');
SELECT is(:'ec' || ' ' || (:'em' ~ '^canceling statement: governance lease [-0-9a-f]+ expired$')::text, '57L01 true',
          'last_termination() there tells it was governance: 57L01, and the message');
RESET ROLE;

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT governance.ungovern_table('lt37.acct');
DROP SCHEMA lt37 CASCADE;
SELECT governance.drop_policy('lt37_p');
SELECT governance.drop_policy('lt37_rep');
SELECT pg_temp.drop_roles(ARRAY['lt37_bot', 'lt37_app', 'lt37_rep', 'lt37_bypass']);

SELECT * FROM finish();
