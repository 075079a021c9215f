-- Leases at scale (issue 14, items 1 and 2; issue 15, item 6): subtree
-- leases (a lease on 'in <uid>' covers the uid and every entity within it
-- through put_entity parents), many attached leases (up to
-- governance.max_attached_leases), and governed tables' row-level security
-- as governance.lease_covers(action, column), a hashed set built once per
-- execution.  Everything is named lt39* and dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt39_bot', 'lt39_sub', 'lt39_admin', 'lt39_nobody']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt39%';
SELECT governance.ungovern_table(relid) FROM governance.governed_tables WHERE relid::text LIKE 'lt39.%';
DROP SCHEMA IF EXISTS lt39 CASCADE;

SELECT governance.delete_entity(uid) FROM governance.entities WHERE uid LIKE '%"lt39-%';

SELECT plan(57);
SELECT max(seq) AS mark FROM governance.ledger \gset

\ir lib/poll.sql

CREATE ROLE lt39_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt39_sub LOGIN IN ROLE governance_agent;
CREATE ROLE lt39_admin LOGIN IN ROLE governance_admin;
CREATE ROLE lt39_nobody LOGIN;
SELECT governance.register_agent('Agent::"lt39-bot"', 'lt39_bot');
SELECT governance.register_agent('Agent::"lt39-sub"', 'lt39_sub');
-- Tenant acme > Region eu > Account a1, a3; acme > Account a2;
-- Tenant other > Account b1
SELECT governance.put_entity('Agent::"lt39-bot"', ARRAY['Group::"lt39"'], '{}');
SELECT governance.put_entity('Agent::"lt39-sub"', ARRAY['Group::"lt39"'], '{}');
SELECT governance.put_entity('Tenant::"lt39-acme"', '{}', '{}');
SELECT governance.put_entity('Tenant::"lt39-other"', '{}', '{}');
SELECT governance.put_entity('Region::"lt39-eu"', ARRAY['Tenant::"lt39-acme"'], '{}');
SELECT governance.put_entity('Account::"lt39-a1"', ARRAY['Region::"lt39-eu"'], '{}');
SELECT governance.put_entity('Account::"lt39-a3"', ARRAY['Region::"lt39-eu"'], '{}');
SELECT governance.put_entity('Account::"lt39-a2"', ARRAY['Tenant::"lt39-acme"'], '{}');
SELECT governance.put_entity('Account::"lt39-b1"', ARRAY['Tenant::"lt39-other"'], '{}');
SELECT governance.create_policy('lt39_permit', $$
permit(principal in Group::"lt39", action, resource in Tenant::"lt39-acme");
$$);
SELECT governance.create_policy('lt39_permit_r', $$
permit(principal == Agent::"lt39-bot", action, resource in Tenant::"lt39-rand");
$$);
SELECT governance.create_policy('lt39_forbid', $$
forbid(principal, action == Action::"lt39.delete", resource == Account::"lt39-a3");
$$);

CREATE SCHEMA lt39;
GRANT USAGE ON SCHEMA lt39 TO lt39_bot, lt39_sub, lt39_nobody;
CREATE TABLE lt39.acct (id int PRIMARY KEY, account text, amount int);
INSERT INTO lt39.acct VALUES
    (1, 'Account::"lt39-a1"', 10), (2, 'Account::"lt39-a2"', 20), (3, 'Account::"lt39-a3"', 30),
    (4, 'Account::"lt39-b1"', 40), (5, 'Region::"lt39-eu"', 50), (6, 'Tenant::"lt39-acme"', 60),
    (7, 'Tenant::"lt39-other"', 70), (8, NULL, 80), (9, 'Account::"lt39-zz"', 90);
GRANT SELECT, INSERT, UPDATE, DELETE ON lt39.acct TO lt39_bot, lt39_sub, lt39_nobody;
SELECT governance.govern_table('lt39.acct', 'lt39', 'account');
CREATE FUNCTION pg_temp.ids() RETURNS int[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM lt39.acct
$$;

SELECT is((SELECT pg_get_expr(polqual, polrelid) FROM pg_policy
            WHERE polrelid = 'lt39.acct'::regclass AND polname = 'governance_select'),
          'governance.lease_covers(''lt39.select''::text, account)',
          'a governed table''s policy is one lease check, without a sub-select');
SELECT is(current_setting('governance.max_attached_leases'), '64', 'governance.max_attached_leases is 64 by default');

------------------------------------------------------------------------
-- semantics: a subtree lease covers its root and what is within it
------------------------------------------------------------------------
SET ROLE lt39_bot;
SELECT decision AS d, lease_id AS st, artifact AS sta
  FROM governance.authorize('Agent::"lt39-bot"', 'lt39.select', 'in Tenant::"lt39-acme"') \gset
SELECT is(:'d'::text, 'allow', 'a subtree request is decided as the root''s (resource in Tenant::"lt39-acme")');
SELECT lease_id AS ex, artifact AS exa
  FROM governance.authorize('Agent::"lt39-bot"', 'lt39.select', 'Account::"lt39-a1"') \gset
SELECT lease_id AS ins, artifact AS insa
  FROM governance.authorize('Agent::"lt39-bot"', 'lt39.insert', 'in Region::"lt39-eu"') \gset
SELECT is((SELECT decision || ': ' || reasons[1]
             FROM governance.authorize('Agent::"lt39-bot"', 'lt39.delete', 'in Tenant::"lt39-acme"')),
          'deny: denied by policy',
          'a forbid on one entity within the subtree denies the subtree request');
SELECT is((SELECT decision FROM governance.authorize('Agent::"lt39-bot"', 'lt39.delete', 'in Account::"lt39-a2"')),
          'allow', 'a subtree the forbid does not reach is allowed');
SELECT is((SELECT decision FROM governance.authorize('Agent::"lt39-bot"', 'lt39.select', 'in Tenant::"lt39-other"')),
          'deny', 'a subtree no policy permits is denied');
RESET ROLE;
SELECT is((SELECT reasons[1] FROM governance.ledger l, LATERAL (SELECT array(SELECT jsonb_array_elements_text(l.payload->'reasons'))) r(reasons)
            WHERE l.seq > :mark AND l.kind = 'governance.authorize' AND l.resource = 'in Tenant::"lt39-acme"' AND l.action = 'Action::"lt39.delete"'
            ORDER BY seq DESC LIMIT 1),
          'denied for Account::"lt39-a3", within the subtree of Tenant::"lt39-acme"',
          'the ledger names the entity whose decision denied the subtree');
SELECT is((SELECT resource FROM governance.leases WHERE lease_id = :'st'), 'in Tenant::"lt39-acme"',
          'the lease''s resource says it is a subtree lease');
SELECT is((SELECT claims->>'resource' FROM governance.verify_artifact(:'sta')), 'in Tenant::"lt39-acme"',
          'and so does its signed artifact');

SET ROLE lt39_bot;
SELECT is(pg_temp.ids(), '{}'::int[], 'nothing is visible without a lease');
BEGIN;
SELECT governance.attach(:'sta') IS NOT NULL AS attached;
SELECT is(pg_temp.ids(), ARRAY[1, 2, 3, 5, 6],
          'a subtree lease shows the root''s rows and those of every entity within it, at any depth');
SELECT ok(governance.is_authorized('lt39.select', 'Account::"lt39-a1"'), 'is_authorized() honours the subtree');
SELECT ok(NOT governance.is_authorized('lt39.select', 'Account::"lt39-b1"'), 'but not outside it');
SELECT ok(NOT governance.is_authorized('lt39.update', 'Account::"lt39-a1"'), 'nor for another action');
ROLLBACK;
BEGIN;
SELECT governance.attach(:'exa') IS NOT NULL AS attached;
SELECT is(pg_temp.ids(), ARRAY[1], 'an exact lease is unchanged: its resource''s rows only');
ROLLBACK;

------------------------------------------------------------------------
-- writes under a subtree lease, and which lease the ledger records
------------------------------------------------------------------------
BEGIN;
SELECT governance.attach(:'insa') IS NOT NULL AS attached;
SELECT is(pg_temp.n($$INSERT INTO lt39.acct VALUES (10, 'Account::"lt39-a1"', 1)$$), '1',
          'an insert into an entity within the subtree goes through');
SELECT is(pg_temp.n($$INSERT INTO lt39.acct VALUES (11, 'Account::"lt39-a2"', 1)$$),
          '42501: new row violates row-level security policy for table "acct"',
          'an insert outside the subtree (a sibling of its root) is refused');
COMMIT;
RESET ROLE;
SELECT is((SELECT row(lease_id, resource, payload->>'covered')::text FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.write' AND payload->>'table' = 'lt39.acct'
              AND payload->'key'->>'id' = '10'),
          row(:'ins'::uuid, 'in Region::"lt39-eu"', 'Account::"lt39-a1"')::text,
          'the ledger records the subtree lease that covered the write, and the resource of the row');

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO of attach
------------------------------------------------------------------------
SET ROLE lt39_bot;
BEGIN;
SAVEPOINT s;
SELECT governance.attach(:'sta') IS NOT NULL AS attached;
SELECT is(cardinality(pg_temp.ids()), 6, 'attached in a savepoint: the subtree is visible (row 10 written above included)');
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.ids(), '{}'::int[], 'ROLLBACK TO undoes the attachment: nothing is visible');
SELECT governance.attach(:'exa') IS NOT NULL AS attached;
SAVEPOINT t;
SELECT governance.attach(:'sta') IS NOT NULL AS attached;
RELEASE SAVEPOINT t;
SELECT is(cardinality(pg_temp.ids()), 6, 'an attachment released with its savepoint stays');
COMMIT;
RESET ROLE;

------------------------------------------------------------------------
-- entity changes take effect for the next statement
------------------------------------------------------------------------
SET ROLE lt39_bot;
BEGIN;
SELECT governance.attach(:'sta') IS NOT NULL AS attached;
SELECT is(pg_temp.ids(), ARRAY[1, 2, 3, 5, 6, 10], 'before the change');
COMMIT;
RESET ROLE;
SELECT governance.put_entity('Account::"lt39-a3"', '{}', '{}');
SELECT governance.put_entity('Account::"lt39-zz"', ARRAY['Account::"lt39-a2"'], '{}');
SET ROLE lt39_bot;
BEGIN;
SELECT governance.attach(:'sta') IS NOT NULL AS attached;
SELECT is(pg_temp.ids(), ARRAY[1, 2, 5, 6, 9, 10],
          'a parent removed takes the entity out of the subtree, one added brings it in, at the next statement');
COMMIT;
RESET ROLE;
SELECT governance.put_entity('Account::"lt39-a3"', ARRAY['Region::"lt39-eu"'], '{}');

------------------------------------------------------------------------
-- delegation attenuates within the subtree
------------------------------------------------------------------------
SET ROLE lt39_bot;
SELECT is((SELECT decision FROM governance.delegate(:'st', 'Agent::"lt39-sub"', 'lt39.select', 'in Region::"lt39-eu"')),
          'allow', 'a child may take a sub-subtree');
SELECT is((SELECT decision FROM governance.delegate(:'st', 'Agent::"lt39-sub"', 'lt39.select', 'Account::"lt39-a2"')),
          'allow', 'or one resource within the subtree');
SELECT is((SELECT decision || ': ' || reasons[1] FROM governance.delegate(:'st', 'Agent::"lt39-sub"', 'lt39.select', 'in Tenant::"lt39-other"')),
          'deny: delegation cannot widen its parent: the action must be the parent lease''s, the resource the parent lease''s or within it',
          'not a sibling subtree');
SELECT is((SELECT decision FROM governance.delegate(:'st', 'Agent::"lt39-sub"', 'lt39.select', 'Account::"lt39-b1"')),
          'deny', 'nor a resource outside it');
SELECT is((SELECT decision FROM governance.delegate(:'ex', 'Agent::"lt39-sub"', 'lt39.select', 'in Account::"lt39-a1"')),
          'deny', 'an exact lease cannot be delegated as a subtree, not even of its own resource');
SELECT lease_id AS ch, artifact AS cha
  FROM governance.delegate(:'st', 'Agent::"lt39-sub"', 'lt39.select', 'in Region::"lt39-eu"') \gset
RESET ROLE;
SET ROLE lt39_sub;
BEGIN;
SELECT governance.attach(:'cha') IS NOT NULL AS attached;
SELECT is(pg_temp.ids(), ARRAY[1, 3, 5, 10], 'the delegated sub-subtree shows only its part');
COMMIT;
RESET ROLE;

------------------------------------------------------------------------
-- many attached leases: beyond 8, up to the GUC, refused beyond it, and
-- row-level security against a hand-written filter on random data
------------------------------------------------------------------------
CREATE TABLE lt39.rand (id int PRIMARY KEY, account text);
INSERT INTO lt39.rand SELECT g, format('Account::"lt39-r%s"', (random() * 199)::int) FROM generate_series(1, 5000) g;
GRANT SELECT ON lt39.rand TO lt39_bot;
SELECT governance.govern_table('lt39.rand', 'lt39r', 'account');
SELECT governance.put_entity(format('Account::"lt39-r%s"', k), ARRAY['Tenant::"lt39-rand"'], '{}') FROM generate_series(0, 199) k;
-- 65 distinct random resources; the first 64 are attached
CREATE TABLE lt39.pick AS
SELECT row_number() OVER () AS n, k FROM (SELECT k FROM generate_series(0, 199) k ORDER BY random() LIMIT 65) s;
GRANT SELECT ON lt39.pick TO lt39_bot;
CREATE TABLE lt39.arts (n int, artifact text);
GRANT INSERT, SELECT ON lt39.arts TO lt39_bot;
SET ROLE lt39_bot;
INSERT INTO lt39.arts
SELECT p.n, a.artifact FROM lt39.pick p,
       governance.authorize('Agent::"lt39-bot"', 'lt39r.select', format('Account::"lt39-r%s"', p.k)) a;
SELECT is((SELECT count(*)::int FROM lt39.arts WHERE artifact IS NOT NULL), 65, '65 leases issued');
BEGIN;
SELECT is((SELECT count(governance.attach(artifact))::int FROM lt39.arts WHERE n <= 64), 64,
          '64 leases attach at once (the limit was 8)');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 64, 'current_lease() lists all 64');
SELECT ids AS gov_ids FROM (SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM lt39.rand) s \gset
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', (SELECT artifact FROM lt39.arts WHERE n = 65))),
          '53400: at most 64 leases can be attached at once',
          'the 65th is refused (configuration limit exceeded)');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 64, 'and the 64 stay attached');
COMMIT;
RESET ROLE;
SELECT is(:'gov_ids'::int[],
          (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM lt39.rand
            WHERE account IN (SELECT format('Account::"lt39-r%s"', k) FROM lt39.pick WHERE n <= 64)),
          'with 64 leases row-level security returns exactly the rows of the hand-written filter (random data)');
SELECT ok(cardinality(:'gov_ids'::int[]) > 0, 'and some rows');
SET ROLE lt39_bot;
SELECT lease_id AS rt, artifact AS rta
  FROM governance.authorize('Agent::"lt39-bot"', 'lt39r.select', 'in Tenant::"lt39-rand"') \gset
BEGIN;
SELECT governance.attach(:'rta') IS NOT NULL AS attached;
SELECT is((SELECT count(*)::int FROM lt39.rand), 5000, 'a subtree lease over 200 entities covers every row');
COMMIT;
RESET ROLE;

------------------------------------------------------------------------
-- the subtree bound: governance.max_subtree_resources
------------------------------------------------------------------------
ALTER SYSTEM SET governance.max_subtree_resources = 100;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT is(current_setting('governance.max_subtree_resources'), '100', 'bound lowered to 100');
SET ROLE lt39_bot;
SELECT is((SELECT decision FROM governance.authorize('Agent::"lt39-bot"', 'lt39r.select', 'in Tenant::"lt39-rand"')),
          'deny', 'a subtree larger than governance.max_subtree_resources is refused at authorize');
BEGIN;
SELECT governance.attach(:'rta') IS NOT NULL AS attached;
SELECT matches(pg_temp.err('SELECT count(*) FROM lt39.rand'),
               '^54000: the subtree of lease .* on Tenant::"lt39-rand" has more than 100 resources',
               'a statement under a lease whose subtree outgrew the bound fails, rather than cover part of it');
ROLLBACK;
RESET ROLE;
ALTER SYSTEM RESET governance.max_subtree_resources;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT is(current_setting('governance.max_subtree_resources'), '100000', 'bound restored (100000 by default)');

------------------------------------------------------------------------
-- bad input and privileges
------------------------------------------------------------------------
SET ROLE lt39_bot;
SELECT is(governance.lease_covers(NULL, 'Account::"lt39-a1"'), false, 'lease_covers(NULL, x) is false');
SELECT is(governance.lease_covers('lt39.select', NULL), false, 'lease_covers(a, NULL) is false');
SELECT is(governance.lease_covers('', ''), false, 'lease_covers(empty, empty) is false');
SELECT is(governance.lease_covers(repeat('x', 100000), repeat('y', 100000)), false, 'lease_covers(huge, huge) is false');
BEGIN;
SELECT governance.attach(:'sta') IS NOT NULL AS attached;
SELECT is(governance.lease_covers('lt39.select', 'Account::"lt39-a1"'), true, 'lease_covers() called directly answers for the caller''s leases');
SELECT is(governance.lease_covers('lt39.select', 'Account::"lt39-a1" '), false, 'a uid is matched exactly (no trimming)');
ROLLBACK;
SELECT matches(pg_temp.err($$SELECT governance.authorize('Agent::"lt39-bot"', 'lt39.select', 'in ')$$), '^22023',
               'a subtree without a root is malformed');
SELECT matches(pg_temp.err($$SELECT governance.authorize('Agent::"lt39-bot"', 'lt39.select', 'in in Tenant::"lt39-acme"')$$), '^22023',
               '"in in" is malformed');
SELECT matches(pg_temp.err($$SELECT governance.authorize('Agent::"lt39-bot"', 'lt39.select', 'in Tenant::"' || repeat('x', 600) || '"')$$),
               '^22023', 'a huge subtree root is refused');
SELECT is(pg_temp.err('SELECT governance._reform_policies()'),
          '42501: permission denied for function _reform_policies', 'an agent cannot reform policies');
RESET ROLE;
SET ROLE lt39_nobody;
SELECT is(pg_temp.err($$SELECT governance.authorize('Agent::"lt39-bot"', 'lt39.select', 'in Tenant::"lt39-acme"')$$),
          '42501: permission denied for schema governance', 'a role without the grants cannot ask for a subtree lease');
RESET ROLE;
SET ROLE lt39_admin;
SELECT is(pg_temp.err('SELECT governance._reform_policies()'),
          '42501: permission denied for function _reform_policies', 'nor can an administrator call the upgrade''s reform');
RESET ROLE;
SELECT is(governance._reform_policies(), 0, 'tables already in the current form are left alone');

------------------------------------------------------------------------
-- heartbeat: the whole subtree is decided again
------------------------------------------------------------------------
SET ROLE lt39_bot;
SELECT lease_id AS hb FROM governance.authorize('Agent::"lt39-bot"', 'lt39.update', 'in Tenant::"lt39-acme"') \gset
SELECT ok(governance.heartbeat(:'hb') IS NOT NULL, 'a heartbeat of a subtree lease decides it again and renews it');
RESET ROLE;
SELECT governance.create_policy('lt39_forbid2', $$
forbid(principal, action == Action::"lt39.update", resource == Account::"lt39-a2");
$$);
SET ROLE lt39_bot;
SELECT is(governance.heartbeat(:'hb'), NULL, 'after a forbid on one entity within the subtree the heartbeat renews nothing');
RESET ROLE;
SELECT is((SELECT state || ': ' || end_reason FROM governance.leases WHERE lease_id = :'hb'),
          'revoked: policy: denied for Account::"lt39-a2", within the subtree of Tenant::"lt39-acme"',
          'and revokes the lease, naming the entity the policy now denies');

------------------------------------------------------------------------
SELECT governance.ungovern_table('lt39.acct');
SELECT governance.ungovern_table('lt39.rand');
DROP SCHEMA lt39 CASCADE;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt39%';
SELECT governance.delete_entity(uid) FROM governance.entities WHERE uid LIKE '%"lt39-%';
DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt39_bot', 'lt39_sub', 'lt39_admin', 'lt39_nobody']);
END $$;

SELECT * FROM finish();
