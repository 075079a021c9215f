-- Denies reach the ledger exactly once whatever the caller's transaction
-- does (issue 9 item 6).  A denied authorize() or delegate() is ledgered
-- in the caller's transaction; when that transaction, or the savepoint or
-- PL/pgSQL exception block that made the call, rolls back, the enforcer
-- ledgers the same decision instead, marked "rolled_back": true.  So an
-- agent cannot probe the policy without a trace, and a committed deny is
-- not ledgered twice.
--
-- Every call uses its own resource (Account::"rb33-<case>"), so each case
-- is counted on its own.  Outside a transaction block on purpose: the
-- cases open and roll back their own.  Everything is named rb33_* /
-- "rb33-*" and dropped at the end; the ledger keeps its rows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['rb33_bot', 'rb33_sub', 'rb33_other'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'rb33%';

SELECT plan(34);

\ir lib/poll.sql
-- the ledger rows of one case: decisions of kind k on resource Account::"rb33-<c>"
CREATE FUNCTION pg_temp.rows(k text, c text) RETURNS SETOF governance.ledger LANGUAGE sql AS $$
    SELECT * FROM governance.ledger
     WHERE kind = 'governance.' || k AND resource = format('Account::"rb33-%s"', c)
       AND seq > current_setting('rb33.mark')::bigint
     ORDER BY seq
$$;
CREATE FUNCTION pg_temp.n(k text, c text) RETURNS int LANGUAGE sql AS $$
    SELECT count(*)::int FROM pg_temp.rows(k, c)
$$;

\o /dev/null
CREATE ROLE rb33_bot LOGIN IN ROLE governance_agent;
CREATE ROLE rb33_sub LOGIN IN ROLE governance_agent;
CREATE ROLE rb33_other LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"rb33-bot"', 'rb33_bot');
SELECT governance.register_agent('Agent::"rb33-sub"', 'rb33_sub');
SELECT governance.put_entity('Agent::"rb33-' || r || '"', ARRAY['Group::"rb33-g"'], '{}')
  FROM unnest(ARRAY['bot', 'sub']) r;
SELECT governance.create_policy('rb33_p',
    'permit (principal in Group::"rb33-g", action == Action::"rb33.select", resource) when { context.amount <= 1000 };');

-- rows of earlier runs do not count
SELECT set_config('rb33.mark', coalesce(max(seq), 0)::text, false) IS NOT NULL AS marked FROM governance.ledger;
\o

------------------------------------------------------------------------
-- authorize(): one deny per case (amount 5000 is over the policy's limit)
------------------------------------------------------------------------
SET ROLE rb33_bot;
-- committed
SELECT decision AS d_commit FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-commit"', '{"amount": 5000}') \gset
-- the whole transaction rolls back
BEGIN;
SET LOCAL DateStyle = 'SQL, DMY';
SET LOCAL TimeZone = 'America/Los_Angeles';
SELECT decision AS d_rollback FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-rollback"', '{"amount": 5000}') \gset
ROLLBACK;
-- ROLLBACK TO SAVEPOINT, then the transaction commits
BEGIN;
SAVEPOINT probe;
SELECT decision AS d_savepoint FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-savepoint"', '{"amount": 5000}') \gset
ROLLBACK TO SAVEPOINT probe;
COMMIT;
-- a savepoint released into a transaction that then rolls back
BEGIN;
SAVEPOINT probe;
SELECT decision AS d_released FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-released"', '{"amount": 5000}') \gset
RELEASE SAVEPOINT probe;
ROLLBACK;
-- a PL/pgSQL exception block catches an error raised after the deny
DO $$
BEGIN
    BEGIN
        PERFORM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-plpgsql"', '{"amount": 5000}');
        RAISE EXCEPTION 'rb33: undo the probe';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
END $$;
-- the statement that asked fails (division by zero after the call)
\set ON_ERROR_STOP 0
\echo '# the division by zero below is expected'
SELECT 1 / CASE (governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-failed"', '{"amount": 5000}')).decision
                WHEN 'deny' THEN 0 ELSE 1 END AS boom;
\set ON_ERROR_STOP 1
RESET ROLE;
-- a role not registered for the principal, in a transaction it rolls back
SET ROLE rb33_other;
BEGIN;
SELECT decision AS d_notmine, reasons[1] AS r_notmine
  FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-notmine"', '{"amount": 5}') \gset
ROLLBACK;
RESET ROLE;

SELECT is(:'d_commit' || :'d_rollback' || :'d_savepoint' || :'d_released' || :'d_notmine',
          'denydenydenydenydeny', 'every probe was denied');
SELECT is(:'r_notmine'::text, 'role rb33_other may not act as Agent::"rb33-bot"', 'the role''s probe is denied for identity');

SELECT ok(pg_temp.poll($$SELECT pg_temp.n('authorize', 'rollback') > 0 AND pg_temp.n('authorize', 'savepoint') > 0
                          AND pg_temp.n('authorize', 'released') > 0 AND pg_temp.n('authorize', 'plpgsql') > 0
                          AND pg_temp.n('authorize', 'failed') > 0 AND pg_temp.n('authorize', 'notmine') > 0$$),
          'the enforcer ledgers the rolled-back denies');
-- a few more enforcer rounds: nothing may be ledgered twice
SELECT pg_sleep(0.5);
SELECT is(pg_temp.n('authorize', 'commit'), 1, 'committed deny: ledgered once');
SELECT is(pg_temp.n('authorize', 'rollback'), 1, 'deny in a rolled-back transaction: ledgered once');
SELECT is(pg_temp.n('authorize', 'savepoint'), 1, 'deny rolled back to a savepoint: ledgered once');
SELECT is(pg_temp.n('authorize', 'released'), 1, 'deny in a released savepoint of a rolled-back transaction: ledgered once');
SELECT is(pg_temp.n('authorize', 'plpgsql'), 1, 'deny undone by a PL/pgSQL exception block: ledgered once');
SELECT is(pg_temp.n('authorize', 'failed'), 1, 'deny in a statement that then failed: ledgered once');
SELECT is(pg_temp.n('authorize', 'notmine'), 1, 'a role''s deny for another principal, rolled back: ledgered once');

SELECT ok((SELECT NOT payload ? 'rolled_back' FROM pg_temp.rows('authorize', 'commit')),
          'the committed deny is the caller''s own row, not marked rolled back');
SELECT is((SELECT array_agg(DISTINCT (payload->'rolled_back')::text) FROM governance.ledger
            WHERE kind = 'governance.authorize' AND seq > current_setting('rb33.mark')::bigint
              AND resource IN (SELECT format('Account::"rb33-%s"', c)
                                 FROM unnest(ARRAY['rollback', 'savepoint', 'released', 'plpgsql', 'failed', 'notmine']) c)),
          ARRAY['true'], 'the rolled-back ones are marked "rolled_back": true');
SELECT is((SELECT row(principal, action, lease_id, prev_seq)::text FROM pg_temp.rows('authorize', 'rollback')),
          row('Agent::"rb33-bot"', 'Action::"rb33.select"', NULL::uuid, NULL::bigint)::text,
          'a rolled-back deny keeps principal, normalised action and resource, and no lease, like a committed one');
SELECT is((SELECT payload - 'rolled_back' - 'observed_at' FROM pg_temp.rows('authorize', 'rollback')),
          (SELECT payload FROM pg_temp.rows('authorize', 'commit')),
          'its payload is the committed deny''s (decision, reasons, policies, hashes, caller) plus rolled_back and observed_at');
-- read far from UTC: observed_at must carry its offset
SET TimeZone = 'Pacific/Auckland';
SELECT ok((SELECT at - (payload->>'observed_at')::timestamptz BETWEEN interval '0' AND interval '30 s'
             FROM pg_temp.rows('authorize', 'rollback')),
          'observed_at says when the decision was made (UTC, with its offset), before the enforcer ledgered it');
RESET TimeZone;
SELECT is((SELECT row(payload->>'caller', payload->'reasons'->>0)::text FROM pg_temp.rows('authorize', 'notmine')),
          row('rb33_other', 'role rb33_other may not act as Agent::"rb33-bot"')::text,
          'the identity deny names the role that asked and why');
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE kind = 'governance.security.events_lost'
             AND seq > current_setting('rb33.mark')::bigint), 0,
          'no security event was lost');

------------------------------------------------------------------------
-- delegate(): the same, for denied delegations
------------------------------------------------------------------------
\o /dev/null
-- the children's resources lie within the parent's: delegation only narrows,
-- so these are denied by policy (the amount), or for their principal
SELECT governance.put_entity(format('Account::"rb33-%s"', r), ARRAY['Account::"rb33-parent"'], '{}')
  FROM unnest(ARRAY['commit', 'rollback', 'savepoint', 'plpgsql', 'ghost', 'deadparent']) r;
SET ROLE rb33_bot;
SELECT lease_id AS parent FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-parent"', '{"amount": 5}') \gset
SELECT decision AS e_commit FROM governance.delegate(:'parent', 'Agent::"rb33-sub"', 'rb33.select', 'Account::"rb33-commit"', '{"amount": 5000}') \gset
BEGIN;
SELECT decision AS e_rollback FROM governance.delegate(:'parent', 'Agent::"rb33-sub"', 'rb33.select', 'Account::"rb33-rollback"', '{"amount": 5000}') \gset
ROLLBACK;
BEGIN;
SAVEPOINT probe;
SELECT decision AS e_savepoint FROM governance.delegate(:'parent', 'Agent::"rb33-sub"', 'rb33.select', 'Account::"rb33-savepoint"', '{"amount": 5000}') \gset
ROLLBACK TO probe;
COMMIT;
SELECT set_config('rb33.parent', :'parent', false);
DO $$
BEGIN
    BEGIN
        PERFORM governance.delegate(current_setting('rb33.parent')::uuid, 'Agent::"rb33-sub"', 'rb33.select',
                                    'Account::"rb33-plpgsql"', '{"amount": 5000}');
        RAISE EXCEPTION 'rb33: undo the probe';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
END $$;
-- a delegation to an unregistered principal, rolled back
BEGIN;
SELECT decision AS e_ghost, reasons[1] AS r_ghost
  FROM governance.delegate(:'parent', 'Agent::"rb33-ghost"', 'rb33.select', 'Account::"rb33-ghost"', '{"amount": 5}') \gset
ROLLBACK;
RESET ROLE;
-- the parent revoked: a delegation from it is denied, rolled back
SELECT governance.revoke(:'parent', 'rb33: parent gone');
SET ROLE rb33_bot;
BEGIN;
SELECT decision AS e_dead FROM governance.delegate(:'parent', 'Agent::"rb33-sub"', 'rb33.select', 'Account::"rb33-deadparent"', '{"amount": 5}') \gset
ROLLBACK;
RESET ROLE;
\o

SELECT is(:'e_commit' || :'e_rollback' || :'e_savepoint' || :'e_ghost' || :'e_dead',
          'denydenydenydenydeny', 'every delegation probe was denied');
SELECT is(:'r_ghost'::text, 'principal Agent::"rb33-ghost" cannot receive a delegation', 'the agent is told, in short, that the principal cannot receive it');
SELECT ok(pg_temp.poll($$SELECT pg_temp.n('delegate', 'rollback') > 0 AND pg_temp.n('delegate', 'savepoint') > 0
                          AND pg_temp.n('delegate', 'plpgsql') > 0 AND pg_temp.n('delegate', 'ghost') > 0
                          AND pg_temp.n('delegate', 'deadparent') > 0$$),
          'the enforcer ledgers the rolled-back delegation denies');
SELECT pg_sleep(0.5);
SELECT is(pg_temp.n('delegate', 'commit'), 1, 'committed delegation deny: ledgered once');
SELECT is(pg_temp.n('delegate', 'rollback'), 1, 'delegation deny in a rolled-back transaction: ledgered once');
SELECT is(pg_temp.n('delegate', 'savepoint'), 1, 'delegation deny rolled back to a savepoint: ledgered once');
SELECT is(pg_temp.n('delegate', 'plpgsql'), 1, 'delegation deny undone by a PL/pgSQL exception block: ledgered once');
SELECT is(pg_temp.n('delegate', 'ghost'), 1, 'delegation to an unregistered principal, rolled back: ledgered once');
SELECT is(pg_temp.n('delegate', 'deadparent'), 1, 'delegation from a revoked parent, rolled back: ledgered once');
SELECT is((SELECT payload - 'rolled_back' - 'observed_at' FROM pg_temp.rows('delegate', 'rollback')),
          (SELECT payload FROM pg_temp.rows('delegate', 'commit')),
          'a rolled-back delegation deny carries the committed one''s payload, the parent included');
SELECT is((SELECT row(payload->>'parent', payload->>'rolled_back', payload->'reasons'->>0)::text
             FROM pg_temp.rows('delegate', 'deadparent')),
          row(:'parent', 'true', format('parent lease %s is revoked', :'parent'))::text,
          'a denied delegation from a revoked parent names the parent and why, marked rolled back');

------------------------------------------------------------------------
-- A payload too large for the queue keeps its scalars and the hash of the
-- whole: 60 forbid policies, each with a 100-character name, all match.
------------------------------------------------------------------------
\o /dev/null
SELECT count(governance.create_policy(format('rb33_forbid_%s_%s', i, repeat('x', 85)),
           'forbid (principal == Agent::"rb33-bot", action == Action::"rb33.select", resource == Account::"rb33-big");'))
  FROM generate_series(10, 69) i;
SET ROLE rb33_bot;
SELECT decision AS d_big FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-big"', '{"amount": 5}') \gset
BEGIN;
SELECT 1 FROM governance.authorize('Agent::"rb33-bot"', 'rb33.select', 'Account::"rb33-big"', '{"amount": 5}');
ROLLBACK;
RESET ROLE;
SELECT count(governance.drop_policy(name)) FROM governance.policies WHERE name LIKE 'rb33_forbid%';
\o
SELECT ok(pg_temp.poll($$SELECT pg_temp.n('authorize', 'big') = 2$$),
          'a deny whose payload is too large for the queue is ledgered when rolled back too');
SELECT is((SELECT jsonb_array_length(payload->'determining_policies') FROM pg_temp.rows('authorize', 'big') LIMIT 1), 60,
          'the committed one names all 60 forbid policies');
SELECT is((SELECT array_agg(k ORDER BY k) FROM pg_temp.rows('authorize', 'big') r, jsonb_object_keys(r.payload) k
            WHERE r.payload ? 'rolled_back'),
          ARRAY['caller', 'context_sha3_512', 'decision', 'observed_at', 'on_behalf', 'payload_bytes',
                'payload_sha3_512', 'policy_set_hash', 'rolled_back', 'truncated'],
          'the rolled-back one keeps the scalar members, drops the lists, says it is truncated');
SELECT is(coalesce((SELECT r.payload->>'payload_sha3_512' FROM pg_temp.rows('authorize', 'big') r WHERE r.payload ? 'rolled_back'), 'none'),
          (SELECT encode(governance.sha3_512(convert_to(governance.canonical_json(
                      c.payload || jsonb_build_object('rolled_back', true, 'observed_at', r.payload->'observed_at')), 'UTF8')), 'hex')
             FROM pg_temp.rows('authorize', 'big') c, pg_temp.rows('authorize', 'big') r
            WHERE NOT c.payload ? 'rolled_back' AND r.payload ? 'rolled_back'),
          'and the SHA3-512 of the whole payload it stands for (canonical JSON)');
SELECT is(coalesce((SELECT (r.payload->>'payload_bytes')::int FROM pg_temp.rows('authorize', 'big') r WHERE r.payload ? 'rolled_back'), -1),
          (SELECT octet_length(governance.canonical_json(
                      c.payload || jsonb_build_object('rolled_back', true, 'observed_at', r.payload->'observed_at')))
             FROM pg_temp.rows('authorize', 'big') c, pg_temp.rows('authorize', 'big') r
            WHERE NOT c.payload ? 'rolled_back' AND r.payload ? 'rolled_back'),
          'and its length in bytes');
SELECT is(:'d_big'::text, 'deny', 'the forbid policies deny');

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
\o /dev/null
SELECT governance.drop_policy('rb33_p');
DROP OWNED BY rb33_bot, rb33_sub, rb33_other;
DROP ROLE rb33_bot, rb33_sub, rb33_other;
\o

SELECT * FROM finish();
