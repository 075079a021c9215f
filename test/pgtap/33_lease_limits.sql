-- Leases per principal (issue 9, item 9): one agent cannot fill
-- governance.max_leases and starve the others.  Shared memory counts the
-- leases of each principal (ended ones too, until they are cleared);
-- authorize() and delegate() (for the child's principal) are refused at
-- governance.max_leases_per_principal, or at the agent's own max_leases
-- from register_agent(), with error 53400 as governance.max_leases is, and
-- the refusal is ledgered (governance.lease.refused, by the enforcer, since
-- the refusing transaction fails).
--
-- Outside a transaction block: delegation needs a committed parent.  The
-- rest runs in transactions that roll back (a rolled-back lease leaves
-- shared memory, and its principal's count, at once).  Everything is named
-- ll33_* and dropped at the end.  The principals' names are new each
-- run ("ll33-<run>-*"): leases of an earlier run may still be counted.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ll33_bot', 'll33_other', 'll33_sub', 'll33_zero', 'll33_admin', 'll33_auditor'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'll33%';

SELECT plan(41);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\ir lib/poll.sql
SELECT set_config('ll33.run', substr(md5(random()::text), 1, 8), false) IS NOT NULL AS run_set \gset
CREATE FUNCTION pg_temp.p(who text) RETURNS text LANGUAGE sql AS $$
    SELECT format('Agent::"ll33-%s-%s"', current_setting('ll33.run'), who)
$$;
-- authorize as the current role for principal p(who) on Job::"<job>": the
-- error, or "no error"; the decision, or the error
CREATE FUNCTION pg_temp.az(who text, job text, action text DEFAULT 'll33.run') RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.err(format('SELECT governance.authorize(%L, %L, %L)',
                              pg_temp.p(who), action, format('Job::"%s"', job)))
$$;
CREATE FUNCTION pg_temp.decision(who text, job text, action text DEFAULT 'll33.run') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    SELECT a.decision INTO d FROM governance.authorize(pg_temp.p(who), action, format('Job::"%s"', job)) a;
    RETURN d;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION pg_temp.refused(who text, held int, lim int) RETURNS text LANGUAGE sql AS $$
    SELECT format('53400: too many leases for principal %s: it holds %s, its limit is %s', pg_temp.p(who), held, lim)
$$;

CREATE ROLE ll33_bot LOGIN IN ROLE governance_agent;
CREATE ROLE ll33_other LOGIN IN ROLE governance_agent;
CREATE ROLE ll33_sub LOGIN IN ROLE governance_agent;
CREATE ROLE ll33_zero LOGIN IN ROLE governance_agent;
CREATE ROLE ll33_admin LOGIN IN ROLE governance_admin;
CREATE ROLE ll33_auditor LOGIN IN ROLE governance_auditor;
SELECT governance.register_agent(pg_temp.p('bot'), 'll33_bot', NULL, 3);
SELECT governance.register_agent(pg_temp.p('other'), 'll33_other');
SELECT governance.register_agent(pg_temp.p('sub'), 'll33_sub', max_leases => 1);
SELECT governance.register_agent(pg_temp.p('zero'), 'll33_zero', max_leases => 0);
SELECT governance.put_entity(pg_temp.p(r), ARRAY['Group::"ll33"'], '{}')
  FROM unnest(ARRAY['bot', 'other', 'sub', 'zero']) r;
SELECT governance.create_policy('ll33_p', 'permit (principal in Group::"ll33", action == Action::"ll33.run", resource);');

SELECT max(seq) AS mark FROM governance.ledger \gset

------------------------------------------------------------------------
-- the setting and the registration
------------------------------------------------------------------------
SELECT is(current_setting('governance.max_leases_per_principal'), '1000',
          'governance.max_leases_per_principal defaults to 1000');
SELECT is(pg_temp.err('SET governance.max_leases_per_principal = 5'),
          '55P02: parameter "governance.max_leases_per_principal" cannot be changed now',
          'it is a server-wide setting (sighup), not one a session changes');
SELECT is((SELECT array_agg(coalesce(max_leases::text, 'NULL') ORDER BY principal) FROM governance.agents
            WHERE principal IN (pg_temp.p('bot'), pg_temp.p('other'), pg_temp.p('sub'), pg_temp.p('zero'))),
          ARRAY['3', 'NULL', '1', '0'], 'register_agent stores each agent''s max_leases (NULL: the setting)');
SELECT is((SELECT payload->'max_leases' FROM governance.ledger
            WHERE seq > 0 AND kind = 'governance.agent.registered' AND payload->>'principal' = pg_temp.p('bot')
            ORDER BY seq DESC LIMIT 1), '3'::jsonb, 'and the ledger records it');
-- bad input
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"ll33-x"'', ''ll33_other'', NULL, -1)'),
          '22023: max_leases must not be negative', 'register_agent: a negative max_leases');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"ll33-x"'', ''ll33_other'', NULL, -2147483648)'),
          '22023: max_leases must not be negative', 'register_agent: the most negative max_leases');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"ll33-x"'', ''ll33_other'', NULL, 2147483648)'),
          '42883: function governance.register_agent(unknown, unknown, unknown, bigint) does not exist',
          'register_agent: a max_leases beyond integer');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"ll33-x"'', ''ll33_other'', NULL, ''many'')'),
          '22P02: invalid input syntax for type integer: "many"', 'register_agent: a max_leases that is no number');
SELECT is((SELECT count(*)::int FROM governance.agents WHERE principal = 'Agent::"ll33-x"'), 0,
          'none of those registered anything');
BEGIN;
SAVEPOINT s;
SELECT governance.register_agent(pg_temp.p('bot'), 'll33_bot', NULL, 7);
ROLLBACK TO SAVEPOINT s;
SELECT is((SELECT max_leases FROM governance.agents WHERE principal = pg_temp.p('bot')), 3,
          'a re-registration rolled back to its savepoint leaves the earlier max_leases');
SET LOCAL ROLE ll33_bot;
SELECT is(ARRAY[pg_temp.decision('bot', 'r1'), pg_temp.decision('bot', 'r2'), pg_temp.decision('bot', 'r3'),
                pg_temp.decision('bot', 'r4')],
          ARRAY['allow', 'allow', 'allow', pg_temp.refused('bot', 3, 3)], 'and authorizations are held to it');
RESET ROLE;
ROLLBACK;
SET ROLE ll33_bot;
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"ll33-bot"'', ''ll33_bot'', NULL, 1000000)'),
          '42501: permission denied for function register_agent', 'an agent cannot raise its own limit');
RESET ROLE;
SET ROLE ll33_auditor;
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"ll33-bot"'', ''ll33_bot'', NULL, 1000000)'),
          '42501: permission denied for function register_agent', 'nor can an auditor');
RESET ROLE;

------------------------------------------------------------------------
-- an agent at its limit is refused; the others are not
------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE ll33_bot;
SELECT is(ARRAY[pg_temp.decision('bot', '1'), pg_temp.decision('bot', '2'), pg_temp.decision('bot', '3')],
          ARRAY['allow', 'allow', 'allow'], 'an agent with max_leases 3 gets three leases');
SELECT is(pg_temp.az('bot', '4'), pg_temp.refused('bot', 3, 3), 'the fourth is refused (53400), naming the limit');
SELECT is(pg_temp.az('bot', '4'), pg_temp.refused('bot', 3, 3), 'and the next try too: nothing was evicted');
SELECT is(pg_temp.decision('bot', '4', 'll33.stop'), 'deny',
          'a request the policy denies is still answered: a deny needs no room');
SET LOCAL ROLE ll33_other;
SELECT is(pg_temp.decision('other', '1'), 'allow', 'another agent still gets leases meanwhile');
SET LOCAL ROLE ll33_admin;
SELECT is(pg_temp.az('bot', '5'), pg_temp.refused('bot', 3, 3),
          'governance_admin acting on behalf of the agent is held to its limit too');
SET LOCAL ROLE ll33_zero;
SELECT is(pg_temp.az('zero', '1'), pg_temp.refused('zero', 0, 0), 'an agent with max_leases 0 gets no lease at all');
RESET ROLE;
ROLLBACK;

-- what the rollback left: nothing, counts included
SET ROLE ll33_bot;
SELECT is(ARRAY[pg_temp.decision('bot', 'a'), pg_temp.decision('bot', 'b'), pg_temp.decision('bot', 'c')],
          ARRAY['allow', 'allow', 'allow'], 'the leases of a rolled-back transaction count no more');
RESET ROLE;
SELECT is((SELECT array_agg(resource ORDER BY resource) FROM governance.leases WHERE principal = pg_temp.p('bot')),
          ARRAY['Job::"a"', 'Job::"b"', 'Job::"c"'], 'three live leases, all committed');
SET ROLE ll33_bot;
SELECT is(pg_temp.az('bot', 'd'), pg_temp.refused('bot', 3, 3), 'committed leases count as pending ones did');
RESET ROLE;

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO
------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE ll33_other;
SELECT pg_temp.decision('other', 's1') AS s1, pg_temp.decision('other', 's2') AS s2 \gset
SAVEPOINT sp;
SELECT is(pg_temp.decision('other', 's3'), 'allow', 'inside a savepoint, a lease');
ROLLBACK TO SAVEPOINT sp;
SELECT is(pg_temp.decision('other', 's4'), 'allow', 'rolled back to the savepoint, its place is free again');
SAVEPOINT sp2;
SELECT is(pg_temp.decision('other', 's5'), 'allow', 'a lease in a savepoint that is released');
RELEASE SAVEPOINT sp2;
RESET ROLE;
SELECT is((SELECT array_agg(resource ORDER BY resource) FROM governance.leases WHERE principal = pg_temp.p('other')
              AND issued_at >= now()),
          ARRAY['Job::"s1"', 'Job::"s2"', 'Job::"s4"', 'Job::"s5"'], 'the transaction keeps exactly the leases not rolled back');
ROLLBACK;

BEGIN;
SET LOCAL ROLE ll33_bot;
-- bot holds a, b, c: at its limit
SAVEPOINT sp;
SELECT is(pg_temp.az('bot', 'x'), pg_temp.refused('bot', 3, 3), 'a refusal inside a savepoint');
ROLLBACK TO SAVEPOINT sp;
SELECT is(pg_temp.az('bot', 'x'), pg_temp.refused('bot', 3, 3), 'leaves the count as it was');
RESET ROLE;
ROLLBACK;

------------------------------------------------------------------------
-- delegation counts against the child's principal
------------------------------------------------------------------------
SELECT lease_id AS pa FROM governance.leases WHERE principal = pg_temp.p('bot') AND resource = 'Job::"a"' \gset
BEGIN;
SET LOCAL ROLE ll33_bot;
SELECT is((SELECT decision FROM governance.delegate(:'pa', pg_temp.p('sub'), 'll33.run', 'Job::"a"')), 'allow',
          'a delegation to an agent with max_leases 1');
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, %L, 'll33.run', 'Job::"a"')$$, :'pa', pg_temp.p('sub'))),
          pg_temp.refused('sub', 1, 1), 'a second delegation to it is refused: the child principal''s limit');
SELECT is((SELECT decision FROM governance.delegate(:'pa', pg_temp.p('other'), 'll33.run', 'Job::"a"')), 'allow',
          'a delegation to another agent is not held to it, nor to the delegating agent''s limit');
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, %L, 'll33.run', 'Job::"a"')$$, :'pa', pg_temp.p('bot'))),
          pg_temp.refused('bot', 3, 3), 'a delegation to the agent itself counts against its own limit');
RESET ROLE;
ROLLBACK;

------------------------------------------------------------------------
-- the refusals are ledgered
------------------------------------------------------------------------
-- refusals above: under the registration rolled back to 1, the agent's
-- own 2, the admin's 1, after the commit 1, in savepoints 2, the
-- delegation to itself 1; zero 1, sub 1
SELECT ok(pg_temp.poll(format($$SELECT count(*) = 8 FROM governance.ledger WHERE seq > %s
                                  AND kind = 'governance.lease.refused' AND principal = %L$$, :mark, pg_temp.p('bot')), 10),
          'each refusal of the agent is ledgered (governance.lease.refused), though its transaction failed');
SELECT is((SELECT row(lease_id, payload->>'caller', payload->>'detail')::text FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.lease.refused' AND principal = pg_temp.p('sub')),
          row(NULL::uuid, 'll33_bot', format('too many leases for principal %s: it holds 1, its limit is 1', pg_temp.p('sub')))::text,
          'with the caller who tried and the reason');
SELECT ok(pg_temp.poll(format($$SELECT count(*) = 1 FROM governance.ledger WHERE seq > %s
                                  AND kind = 'governance.lease.refused' AND principal = %L$$, :mark, pg_temp.p('zero')), 10),
          'an agent allowed no lease at all is ledgered too');

------------------------------------------------------------------------
-- the setting applies to agents without their own max_leases
------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE ll33_other;
SELECT is((SELECT count(*)::int FROM generate_series(1, 1000) g,
                  governance.authorize(pg_temp.p('other'), 'll33.run', format('Job::"g%s"', g)) a
            WHERE a.decision = 'allow'), 1000, 'an agent without max_leases gets governance.max_leases_per_principal leases');
SELECT is(pg_temp.az('other', 'g1001'), pg_temp.refused('other', 1000, 1000), 'and no more');
RESET ROLE;
ROLLBACK;
-- registering again without max_leases puts the agent back under the setting
SELECT governance.register_agent(pg_temp.p('bot'), 'll33_bot');
SET ROLE ll33_bot;
SELECT is(pg_temp.decision('bot', 'e'), 'allow', 'registering the agent again without max_leases lifts its own limit');
RESET ROLE;

------------------------------------------------------------------------
-- an ended lease counts until shared memory clears it
------------------------------------------------------------------------
SELECT lease_id AS sa FROM governance.leases WHERE principal = pg_temp.p('bot') AND resource = 'Job::"a"' \gset
SET ROLE ll33_bot;
SELECT lease_id AS s1 FROM governance.delegate(:'sa', pg_temp.p('sub'), 'll33.run', 'Job::"a"') \gset
SELECT governance.revoke(:'s1', 'll33: done');
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, %L, 'll33.run', 'Job::"a"')$$, :'sa', pg_temp.p('sub'))),
          pg_temp.refused('sub', 1, 1), 'a revoked lease still counts against its principal until it is cleared');
-- try once a second (each refusal is ledgered), for at most 30 s
CREATE FUNCTION pg_temp.delegate_when_free(parent uuid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 30 LOOP
        IF pg_temp.err(format($q$SELECT governance.delegate(%L, %L, 'll33.run', 'Job::"a"')$q$, parent, pg_temp.p('sub')))
           = 'no error' THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(1);
    END LOOP;
    RETURN false;
END $$;
SELECT ok(pg_temp.delegate_when_free(:'sa'), 'once the enforcer clears it (about 10 s after it ended) its place is free');
RESET ROLE;

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT governance.revoke(lease_id, 'll33: done') FROM governance.leases
 WHERE principal IN (pg_temp.p('bot'), pg_temp.p('other'), pg_temp.p('sub'), pg_temp.p('zero'))
   AND state = 'live' AND parent_id IS NULL;
SELECT governance.drop_policy('ll33_p');
DROP OWNED BY ll33_bot, ll33_other, ll33_sub, ll33_zero, ll33_admin, ll33_auditor;
DROP ROLE ll33_bot, ll33_other, ll33_sub, ll33_zero, ll33_admin, ll33_auditor;

SELECT * FROM finish();
