-- Monitoring (issue 11, item 4; README "Monitoring"): governance.stats and
-- stats_principals are readable by pg_monitor, which still reads nothing
-- of the ledger, the leases, their artifacts or the backend view; PUBLIC
-- and agents read no stats; backend_leases is for admins.  The counters
-- move as they should (allowed, denied, revoked, a cancellation by the
-- enforcer), the gauges match what they describe (unsealed rows, the last
-- block, leases live per principal, trust), and savepoints behave.
--
-- Names are lt38_* / "lt38-*"; dropped at the end.
\ir lib/fixture.sql
\ir lib/poll.sql

SELECT pg_temp.drop_roles(ARRAY['lt38_bot', 'lt38_mon', 'lt38_nobody', 'lt38_aud']);
SELECT NULL FROM (SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt38%') d;

SELECT plan(54);

CREATE ROLE lt38_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt38_mon LOGIN IN ROLE pg_monitor;
CREATE ROLE lt38_nobody LOGIN;
CREATE ROLE lt38_aud LOGIN IN ROLE governance_auditor;
SELECT governance.register_agent('Agent::"lt38-bot"', 'lt38_bot');
SELECT NULL FROM governance.create_policy('lt38_p',
    'permit (principal == Agent::"lt38-bot", action == Action::"lt38.read", resource);');

-- one counter of governance.stats, now
CREATE FUNCTION pg_temp.stat(col text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    EXECUTE format('SELECT %I FROM governance.stats', col) INTO v;
    RETURN v;
END $$;

------------------------------------------------------------------------
-- who may read what
------------------------------------------------------------------------
SET ROLE lt38_mon;
SELECT is((SELECT count(*)::int FROM governance.stats), 1, 'a pg_monitor member reads governance.stats: one row');
SELECT is((SELECT count(*)::int FROM governance.stats()), 1, '... and the function');
SELECT is(pg_temp.err('SELECT * FROM governance.stats_principals'), 'no error', '... and stats_principals');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.ledger'),
          '42501: permission denied for table ledger', 'but not the ledger');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.ledger_blocks'),
          '42501: permission denied for table ledger_blocks', 'nor its blocks');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.leases'),
          '42501: permission denied for table leases', 'nor the leases (their artifacts'' hashes, contexts)');
SELECT is(pg_temp.err('SELECT * FROM governance.backend_leases'),
          '42501: permission denied for view backend_leases', 'nor the backend view');
SELECT is(pg_temp.err('SELECT * FROM governance.backend_leases()'),
          '42501: permission denied for function backend_leases', 'nor its function');
SELECT is(pg_temp.err('SELECT governance.event_bytes(1)'),
          '42501: permission denied for function event_bytes', 'nor the bytes of a ledger row');
SELECT is(pg_temp.err('SELECT * FROM governance.policies'),
          '42501: permission denied for table policies', 'nor the policies');
RESET ROLE;

SET ROLE lt38_nobody;
SELECT is(pg_temp.err('SELECT * FROM governance.stats'),
          '42501: permission denied for schema governance', 'a role without pg_monitor reads no stats');
RESET ROLE;
SELECT is(has_function_privilege('public', 'governance.stats()', 'EXECUTE'), false, 'PUBLIC may not execute stats()');
SELECT is(has_table_privilege('public', 'governance.stats', 'SELECT'), false, 'PUBLIC may not read the view');
SELECT is(has_table_privilege('public', 'governance.stats_principals', 'SELECT'), false, 'nor stats_principals');
SET ROLE lt38_bot;
SELECT is(pg_temp.err('SELECT * FROM governance.stats'),
          '42501: permission denied for view stats', 'an agent reads no stats');
SELECT is(pg_temp.err('SELECT * FROM governance.backend_leases'),
          '42501: permission denied for view backend_leases', 'nor the backend view');
RESET ROLE;
SET ROLE lt38_aud;
SELECT is(pg_temp.err('SELECT * FROM governance.stats'), 'no error', 'an auditor reads the stats');
SELECT is(pg_temp.err('SELECT * FROM governance.backend_leases'),
          '42501: permission denied for view backend_leases', 'but not the backend view');
RESET ROLE;
SELECT is(has_table_privilege('governance_admin', 'governance.backend_leases', 'SELECT')
          AND has_function_privilege('governance_admin', 'governance.backend_leases()', 'EXECUTE'),
          true, 'governance_admin reads the backend view');

-- no column that could carry ledger or lease contents
SELECT is((SELECT count(*)::int FROM pg_attribute
           WHERE attrelid IN ('governance.stats'::regclass, 'governance.stats_principals'::regclass)
             AND attnum > 0 AND atttypid IN ('uuid'::regtype, 'bytea'::regtype, 'jsonb'::regtype, 'json'::regtype)),
          0, 'stats and stats_principals have no uuid, bytea or json column');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
           WHERE attrelid = 'governance.stats_principals'::regclass AND attnum > 0),
          ARRAY['principal', 'leases_live', 'leases_pending', 'leases_ended'],
          'stats_principals: principal and counts, nothing else');

------------------------------------------------------------------------
-- bad input: no arguments, and read-only views
------------------------------------------------------------------------
SELECT is(pg_temp.err('SELECT governance.stats(NULL)') ~ '^42883: function governance.stats\(unknown\) does not exist',
          true, 'stats() takes no argument');
SELECT is(pg_temp.err('SELECT * FROM governance.stats_principals(''x'')') ~ '^42883: ', true,
          'nor does stats_principals()');
SELECT is(left(pg_temp.err('DELETE FROM governance.stats'), 6), '55000:', 'the view cannot be written to');
SELECT is(left(pg_temp.err('UPDATE governance.stats_principals SET leases_live = 0'), 6), '55000:', 'nor stats_principals');

------------------------------------------------------------------------
-- the counters
------------------------------------------------------------------------
SELECT pg_temp.stat('authorizations_allowed') AS a0, pg_temp.stat('authorizations_denied') AS d0,
       pg_temp.stat('revocations') AS r0, pg_temp.stat('leases_live') AS l0,
       (SELECT coalesce(sum(leases_live), 0) FROM governance.stats_principals WHERE principal = 'Agent::"lt38-bot"') AS pl0 \gset
SET ROLE lt38_bot;
SELECT lease_id AS l1, artifact AS l1a FROM governance.authorize('Agent::"lt38-bot"', 'lt38.read', 'Doc::"1"') \gset
SELECT decision AS dd FROM governance.authorize('Agent::"lt38-bot"', 'lt38.write', 'Doc::"1"') \gset
RESET ROLE;
SELECT is(:'dd'::text, 'deny', '(the second request is denied)');
SELECT is(pg_temp.stat('authorizations_allowed') - :a0, 1::bigint, 'an allowed authorize() counts one allowed');
SELECT is(pg_temp.stat('authorizations_denied') - :d0, 1::bigint, 'a denied one counts one denied');
SELECT is(pg_temp.stat('leases_live') - :l0, 1::bigint, 'the lease is live');
SELECT is((SELECT leases_live FROM governance.stats_principals WHERE principal = 'Agent::"lt38-bot"') - :pl0, 1::bigint,
          'stats_principals counts it for its principal');
SELECT is((SELECT leases_capacity FROM governance.stats), current_setting('governance.max_leases')::int,
          'leases_capacity is governance.max_leases');

-- the backend view, for an admin: this session, attached
SET ROLE lt38_bot;
BEGIN;
SELECT governance.attach(:'l1a') IS NOT NULL AS attached;
RESET ROLE;
SELECT results_eq(
    format('SELECT lease_id, principal, action, resource, state FROM governance.backend_leases WHERE pid = %s', pg_backend_pid()),
    format('VALUES (%L::uuid, %L, %L, %L, %L)', :'l1', 'Agent::"lt38-bot"', 'Action::"lt38.read"', 'Doc::"1"', 'live'),
    'backend_leases names this backend''s attached lease, its principal, action, resource and state');
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.backend_leases WHERE pid = pg_backend_pid()), 0,
          'and nothing once the transaction (and its attachment) ended');

SET ROLE lt38_bot;
SELECT is(governance.revoke(:'l1', 'lt38 done'), 1, '(revoked)');
RESET ROLE;
SELECT is(pg_temp.stat('revocations') - :r0, 1::bigint, 'a revocation counts one');
SELECT is(pg_temp.stat('leases_live') - :l0, 0::bigint, 'and the lease is no longer live');
SELECT is((SELECT leases_live FROM governance.stats_principals WHERE principal = 'Agent::"lt38-bot"') - :pl0, 0::bigint,
          'nor for its principal');

-- savepoints: counters count decisions made, as pg_stat_* count work done;
-- a rolled-back lease is not live
SELECT pg_temp.stat('authorizations_allowed') AS a1, pg_temp.stat('leases_live') AS l1n,
       pg_temp.stat('leases_pending') AS p1 \gset
BEGIN;
SAVEPOINT sp;
SET LOCAL ROLE lt38_bot;
SELECT decision AS sd FROM governance.authorize('Agent::"lt38-bot"', 'lt38.read', 'Doc::"2"') \gset
RESET ROLE;
SELECT is(pg_temp.stat('leases_pending') - :p1, 1::bigint, 'inside the transaction the new lease is pending');
ROLLBACK TO SAVEPOINT sp;
SELECT is(pg_temp.stat('leases_pending') - :p1, 0::bigint, 'after ROLLBACK TO it is gone');
SELECT is(pg_temp.stat('authorizations_allowed') - :a1, 1::bigint, 'the decision still counts (it was made)');
SAVEPOINT sp2;
SET LOCAL ROLE lt38_nobody;
SELECT is(left(pg_temp.err('SELECT * FROM governance.stats'), 6), '42501:', 'refused inside a savepoint');
ROLLBACK TO SAVEPOINT sp2;
SELECT is((SELECT count(*)::int FROM governance.stats), 1, 'and the transaction goes on: stats readable after ROLLBACK TO');
COMMIT;
SELECT is(pg_temp.stat('leases_live') - :l1n, 0::bigint, 'nothing live was left behind');

------------------------------------------------------------------------
-- the ledger's side: unsealed rows, the last block
------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE lt38_bot;
SELECT NULL FROM governance.authorize('Agent::"lt38-bot"', 'lt38.write', 'Doc::"3"');
RESET ROLE;
SELECT ok((SELECT unsealed_rows >= 1 AND oldest_unsealed_at IS NOT NULL AND seal_lag_seconds >= 0 FROM governance.stats),
          'a ledger row above the last block counts as unsealed, with its age');
ROLLBACK;
SELECT governance.seal() AS blk \gset
SELECT ok((SELECT last_block_id >= :blk AND last_block_at IS NOT NULL FROM governance.stats),
          'after seal() the last block is the one it made (or a later one)');
SELECT ok(pg_temp.poll('SELECT unsealed_rows = 0 OR last_block_id > ' || :blk || ' FROM governance.stats', 10),
          'and nothing below it is counted unsealed');

------------------------------------------------------------------------
-- workers, trust
------------------------------------------------------------------------
SELECT pg_temp.stat('enforcer_rounds') AS er0 \gset
SELECT ok(pg_temp.poll('SELECT enforcer_rounds > ' || :er0 || ' FROM governance.stats', 10),
          'enforcer_rounds grows while the enforcer runs');
SELECT ok((SELECT enforcer_last_beat > now() - interval '10 seconds' AND sealer_last_beat IS NOT NULL
                  AND verifier_last_beat IS NOT NULL FROM governance.stats),
          'the workers'' last beats are there, the enforcer''s recent');
SELECT ok(pg_temp.poll('SELECT verifier_rounds > 0 AND verifier_last_ok FROM governance.stats', 30),
          'the verifier has finished a round, and found nothing wrong');
SELECT is((SELECT trust_state FROM governance.stats), governance.trust_state(), 'trust_state is trust_state()');
SELECT is((SELECT trusted FROM governance.stats), governance.trust_state() = 'trusted', 'and trusted agrees');
SELECT ok((SELECT events_lost = 0 AND events_in_queue >= 0 AND events_queued >= events_spooled FROM governance.stats),
          'security events: none lost, queue depth and totals consistent');

------------------------------------------------------------------------
-- a cancellation by the enforcer
------------------------------------------------------------------------
SELECT pg_temp.stat('cancellations_sent') AS c0 \gset
SET ROLE lt38_bot;
SELECT artifact AS ca FROM governance.authorize('Agent::"lt38-bot"', 'lt38.read', 'Doc::"4"', '{}', '2 seconds') \gset
BEGIN;
SELECT governance.attach(:'ca') IS NOT NULL AS attached;
SELECT pg_temp.err('SELECT pg_sleep(20)') AS ce \gset
COMMIT;
RESET ROLE;
SELECT is(left(:'ce'::text, 6), '57014:', '(the enforcer cancelled the statement when its lease expired)');
SELECT ok(pg_temp.stat('cancellations_sent') - :c0 >= 1, 'cancellations_sent counts it');

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT NULL FROM governance.drop_policy('lt38_p');
SELECT pg_temp.drop_roles(ARRAY['lt38_bot', 'lt38_mon', 'lt38_nobody', 'lt38_aud']);

SELECT * FROM finish();
