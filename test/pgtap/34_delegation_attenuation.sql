-- Delegation attenuates (issue 9, item 13): a child lease holds the
-- parent's action, on the parent's resource or one within it in the
-- entity hierarchy (put_entity parents, the relation "in" follows),
-- besides being allowed by policy on its own and never outliving its
-- parent.  A widening is a ledgered deny with a clear reason (short for
-- the agent, full in the ledger); a heartbeat revokes a child whose
-- resource has since left its parent's.
--
-- Outside a transaction block: a parent must be committed to delegate
-- from.  Everything is named at34_* / "at34-*"; roles and policies are
-- dropped at the end.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['at34_bot', 'at34_sub', 'at34_admin'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'at34%';

SELECT plan(33);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\ir lib/poll.sql
-- delegate(parent, to "at34-sub", action, resource) as the current role:
-- "decision: first reason"
CREATE FUNCTION pg_temp.dg(parent uuid, action text, resource text, who text DEFAULT 'Agent::"at34-sub"')
RETURNS text LANGUAGE sql AS $$
    SELECT decision || ': ' || reasons[1] FROM governance.delegate(parent, who, action, resource)
$$;

CREATE ROLE at34_bot LOGIN IN ROLE governance_agent;
CREATE ROLE at34_sub LOGIN IN ROLE governance_agent;
CREATE ROLE at34_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"at34-bot"', 'at34_bot');
SELECT governance.register_agent('Agent::"at34-sub"', 'at34_sub');
SELECT governance.put_entity('Agent::"at34-bot"', ARRAY['Group::"at34"'], '{}');
SELECT governance.put_entity('Agent::"at34-sub"', ARRAY['Group::"at34"'], '{}');
-- Drive::"d" > Folder::"a" > Doc::"1" > Page::"1";  Folder::"b" > Doc::"2"
SELECT governance.put_entity('Folder::"at34-a"', ARRAY['Drive::"at34-d"'], '{}');
SELECT governance.put_entity('Folder::"at34-b"', ARRAY['Drive::"at34-d"'], '{}');
SELECT governance.put_entity('Doc::"at34-1"', ARRAY['Folder::"at34-a"'], '{}');
SELECT governance.put_entity('Doc::"at34-2"', ARRAY['Folder::"at34-b"'], '{}');
SELECT governance.put_entity('Page::"at34-1"', ARRAY['Doc::"at34-1"'], '{}');
-- a chain 40 parents long, deeper than governance.max_entity_depth (32)
SELECT governance.put_entity(format('Deep::"at34-%s"', i), ARRAY[format('Deep::"at34-%s"', i + 1)], '{}')
  FROM generate_series(0, 39) i;
SELECT governance.create_policy('at34_p',
    'permit (principal in Group::"at34", action in [Action::"at34.read", Action::"at34.write", Action::"payments.select", Action::"payments.delete"], resource);');

SELECT max(seq) AS mark FROM governance.ledger \gset

SET ROLE at34_bot;
SELECT lease_id AS pa, artifact AS paa FROM governance.authorize('Agent::"at34-bot"', 'at34.read', 'Folder::"at34-a"', '{}', '10 minutes') \gset
SELECT lease_id AS p17 FROM governance.authorize('Agent::"at34-bot"', 'payments.select', 'Account::"at34-17"') \gset
SELECT lease_id AS pdeep FROM governance.authorize('Agent::"at34-bot"', 'at34.read', 'Deep::"at34-40"') \gset
RESET ROLE;

------------------------------------------------------------------------
-- what a child may hold
------------------------------------------------------------------------
SET ROLE at34_bot;
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Folder::"at34-a"'), 'allow: allowed by policy',
          'the parent''s own action and resource');
SELECT is(pg_temp.dg(:'pa', 'Action::"at34.read"', 'Folder::"at34-a"'), 'allow: allowed by policy',
          'the action written out in full is the same action');
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Doc::"at34-1"'), 'allow: allowed by policy',
          'a resource within the parent''s (its entity parent is the parent''s resource)');
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Page::"at34-1"'), 'allow: allowed by policy',
          'a resource two levels within it');
RESET ROLE;

------------------------------------------------------------------------
-- what it may not: the agent is told briefly, the ledger in full
------------------------------------------------------------------------
SET ROLE at34_bot;
SELECT pg_temp.dg(:'p17', 'payments.delete', 'Account::"at34-18"') AS w1,
       pg_temp.dg(:'pa', 'at34.write', 'Folder::"at34-a"') AS w2,
       pg_temp.dg(:'pa', 'at34.read', 'Folder::"at34-b"') AS w3,
       pg_temp.dg(:'pa', 'at34.read', 'Doc::"at34-2"') AS w4,
       pg_temp.dg(:'pa', 'at34.read', 'Drive::"at34-d"') AS w5,
       pg_temp.dg(:'p17', 'payments.select', 'Account::"at34-18"') AS w6,
       pg_temp.dg(:'p17', 'payments.delete', 'Account::"at34-17"') AS w7,
       pg_temp.dg(:'pdeep', 'at34.read', 'Deep::"at34-0"') AS w8 \gset
RESET ROLE;
SELECT is(:'w1'::text, 'deny: delegation cannot widen its parent: the action must be the parent lease''s, the resource the parent lease''s or within it',
          'payments.select on Account 17 cannot delegate payments.delete on Account 18, though the policy allows both');
SELECT is(ARRAY[:'w2', :'w3', :'w4', :'w5', :'w6', :'w7', :'w8']::text[], array_fill(:'w1'::text, ARRAY[7]),
          'nor another action, a sibling, a resource in a sibling, the parent''s own parent, another account, '
          'another action on the same account, nor a resource the hierarchy is too deep to place: one short reason for all');
SELECT is((SELECT array_agg(payload->'reasons'->>0 ORDER BY seq) FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.delegate' AND payload->>'decision' = 'deny'),
          ARRAY['delegation cannot widen its parent: action Action::"payments.delete" is not the parent lease''s action Action::"payments.select"',
                'delegation cannot widen its parent: action Action::"at34.write" is not the parent lease''s action Action::"at34.read"',
                'delegation cannot widen its parent: resource Folder::"at34-b" is neither the parent lease''s resource Folder::"at34-a" nor within it',
                'delegation cannot widen its parent: resource Doc::"at34-2" is neither the parent lease''s resource Folder::"at34-a" nor within it',
                'delegation cannot widen its parent: resource Drive::"at34-d" is neither the parent lease''s resource Folder::"at34-a" nor within it',
                'delegation cannot widen its parent: resource Account::"at34-18" is neither the parent lease''s resource Account::"at34-17" nor within it',
                'delegation cannot widen its parent: action Action::"payments.delete" is not the parent lease''s action Action::"payments.select"',
                'delegation cannot widen its parent: whether resource Deep::"at34-0" is within Deep::"at34-40" cannot be settled: the ancestors of Deep::"at34-0" go deeper than governance.max_entity_depth (32)'],
          'each widening is a ledgered deny with the full reason');
SELECT is((SELECT count(*)::int FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.delegate' AND payload->>'decision' = 'deny'
              AND lease_id IS NULL AND principal = 'Agent::"at34-sub"' AND payload ? 'parent'),
          8, 'on no lease''s chain, naming the child principal and the parent');
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq > :mark AND kind = 'governance.delegated'
              AND lease_id IN (:'pa', :'p17', :'pdeep')), 4,
          'only the four allowed delegations appear on the parents'' chains');
SELECT is((SELECT count(*)::int FROM governance.leases WHERE parent_id IN (:'pa', :'p17', :'pdeep')), 4,
          'and only they made leases');
SET ROLE at34_admin;
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Folder::"at34-b"'),
          'deny: delegation cannot widen its parent: resource Folder::"at34-b" is neither the parent lease''s resource Folder::"at34-a" nor within it',
          'governance_admin is told the full reason, and is held to attenuation as well');
RESET ROLE;

------------------------------------------------------------------------
-- a child narrows further down, never back up
------------------------------------------------------------------------
SET ROLE at34_bot;
SELECT lease_id AS c1 FROM governance.delegate(:'pa', 'Agent::"at34-sub"', 'at34.read', 'Doc::"at34-1"', '{}', '10 minutes') \gset
RESET ROLE;
SET ROLE at34_sub;
SELECT is(pg_temp.dg(:'c1', 'at34.read', 'Page::"at34-1"', 'Agent::"at34-bot"'), 'allow: allowed by policy',
          'a grandchild within the child''s resource');
SELECT is(pg_temp.dg(:'c1', 'at34.read', 'Folder::"at34-a"', 'Agent::"at34-bot"'),
          'deny: delegation cannot widen its parent: the action must be the parent lease''s, the resource the parent lease''s or within it',
          'not the grandparent''s wider resource: the child is the limit');
RESET ROLE;
SELECT is((SELECT payload->'reasons'->>0 FROM governance.ledger WHERE seq > :mark AND kind = 'governance.delegate'
             AND payload->>'parent' = :'c1' AND payload->>'decision' = 'deny'),
          'delegation cannot widen its parent: resource Folder::"at34-a" is neither the parent lease''s resource Doc::"at34-1" nor within it',
          'ledgered against the child''s resource');

------------------------------------------------------------------------
-- policy on its own, and attenuation: both must hold
------------------------------------------------------------------------
SELECT governance.create_policy('at34_f', 'forbid (principal == Agent::"at34-sub", action, resource == Page::"at34-1");');
SET ROLE at34_bot;
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Page::"at34-1"'), 'deny: denied by policy',
          'a narrower request the policy forbids is denied by policy');
RESET ROLE;
SELECT governance.drop_policy('at34_f');
SET governance.deny_reasons = full;
SET ROLE at34_bot;
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Doc::"at34-2"'),
          'deny: delegation cannot widen its parent: resource Doc::"at34-2" is neither the parent lease''s resource Folder::"at34-a" nor within it',
          'with governance.deny_reasons = full the agent is told the full reason');
RESET ROLE;
RESET governance.deny_reasons;

------------------------------------------------------------------------
-- entities move: the next heartbeat of a child outside its parent revokes it
------------------------------------------------------------------------
SET ROLE at34_bot;
SELECT lease_id AS m1 FROM governance.delegate(:'pa', 'Agent::"at34-sub"', 'at34.read', 'Doc::"at34-1"', '{}', '10 minutes') \gset
RESET ROLE;
SET ROLE at34_sub;
SELECT ok(governance.heartbeat(:'m1') IS NOT NULL, 'a child within its parent renews');
RESET ROLE;
SELECT governance.put_entity('Doc::"at34-1"', ARRAY['Folder::"at34-b"'], '{}');
SET ROLE at34_sub;
SELECT is(governance.heartbeat(:'m1'), NULL, 'once its resource moved out of the parent''s, a heartbeat returns NULL');
RESET ROLE;
SELECT is((SELECT row(state, end_reason)::text FROM governance.leases WHERE lease_id = :'m1'),
          row('revoked', 'attenuation: resource Doc::"at34-1" is no longer within its parent lease''s resource Folder::"at34-a"')::text,
          'and revokes it for attenuation, durably, with the full reason');
SELECT is((SELECT state FROM governance.leases WHERE lease_id = :'pa'), 'live', 'the parent stays live');
SELECT is((governance.verify_artifact(:'paa')).valid, true, 'and its artifact still verifies');
SET ROLE at34_bot;
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Doc::"at34-1"'),
          'deny: delegation cannot widen its parent: the action must be the parent lease''s, the resource the parent lease''s or within it',
          'nor may it be delegated again');
RESET ROLE;
SELECT governance.put_entity('Doc::"at34-1"', ARRAY['Folder::"at34-a"'], '{}');

-- the attenuation revocation holds even if the heartbeat is rolled back to
-- its savepoint (shared memory ends it at once; the enforcer makes it
-- durable)
SET ROLE at34_bot;
SELECT lease_id AS m2, artifact AS m2a
  FROM governance.delegate(:'pa', 'Agent::"at34-sub"', 'at34.read', 'Doc::"at34-1"', '{}', '10 minutes') \gset
RESET ROLE;
SELECT governance.put_entity('Doc::"at34-1"', ARRAY['Folder::"at34-b"'], '{}');
BEGIN;
SET LOCAL ROLE at34_sub;
SAVEPOINT hb;
SELECT governance.heartbeat(:'m2') IS NULL AS m2_revoked \gset
ROLLBACK TO SAVEPOINT hb;
RESET ROLE;
COMMIT;
SELECT governance.put_entity('Doc::"at34-1"', ARRAY['Folder::"at34-a"'], '{}');
SELECT ok(:'m2_revoked'::boolean, 'a heartbeat in a savepoint finds the child outside its parent');
SELECT is((governance.verify_artifact(:'m2a')).reason, 'lease revoked',
          'rolled back to the savepoint, the child is still ended at once');
SELECT ok(pg_temp.poll(format('SELECT state = %L AND end_reason LIKE %L FROM governance.leases WHERE lease_id = %L',
                              'revoked', 'attenuation: %', :'m2')),
          'and the enforcer makes the revocation durable');

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO, privileges, bad input
------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE at34_bot;
SAVEPOINT s;
SELECT lease_id AS sp1 FROM governance.delegate(:'pa', 'Agent::"at34-sub"', 'at34.read', 'Doc::"at34-1"') \gset
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.dg(:'pa', 'at34.read', 'Doc::"at34-2"'),
          'deny: delegation cannot widen its parent: the action must be the parent lease''s, the resource the parent lease''s or within it',
          'after a delegation rolled back to its savepoint, a widening is still denied');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM governance.leases WHERE lease_id = :'sp1'), 0, 'and the rolled-back child is gone');
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE lease_id = :'pa' AND kind = 'governance.delegated'
              AND txid = pg_current_xact_id()), 0, 'as is its governance.delegated event');
COMMIT;
SET ROLE at34_sub;
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, 'Agent::"at34-sub"', 'at34.read', 'Page::"at34-1"')$$, :'pa')),
          format('42501: only the holder of lease %s may delegate from it', :'pa'),
          'only the parent''s holder may delegate from it, however narrow the child');
RESET ROLE;
SET ROLE at34_bot;
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, 'Agent::"at34-sub"', 'at34.read', NULL)$$, :'pa')),
          '22004: resource must not be NULL', 'delegate: a NULL resource');
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, 'Agent::"at34-sub"', NULL, 'Doc::"at34-1"')$$, :'pa')),
          '22004: action must not be NULL', 'delegate: a NULL action');
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, 'Agent::"at34-sub"', 'at34.read', 'Doc::at34-1')$$, :'pa')),
          '22023: resource "Doc::at34-1" is not an entity uid', 'delegate: a resource that is not a uid');
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, 'Agent::"at34-sub"', 'at34.read', %L)$$, :'pa',
                             'Doc::"' || repeat('x', 300) || '"')),
          '22023: resource is too long (at most 255 bytes)', 'delegate: a resource over 255 bytes');
RESET ROLE;

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT governance.revoke(lease_id, 'at34: done') FROM governance.leases
 WHERE principal = 'Agent::"at34-bot"' AND parent_id IS NULL AND state = 'live';
SELECT governance.drop_policy('at34_p');
DROP OWNED BY at34_bot, at34_sub, at34_admin;
DROP ROLE at34_bot, at34_sub, at34_admin;

SELECT * FROM finish();
