-- The tenant as evidence (issue 15 item 2; docs/DESIGN.md, "Tenants";
-- docs/FORMAT.md section 15): an allow's governance.authorize event names
-- the new lease's tenant ("tenant", absent for none), so the tenant is in
-- the event bytes the evidence hash covers; a delegation's event names its
-- parent's.  verify_ledger() reports a lease whose tenant column is not
-- the tenant its event names; export_tenant() refuses such an execution.
-- Bad input, privileges, SAVEPOINT / ROLLBACK TO.
--
-- Runs outside a transaction block: a lease goes live only when its
-- transaction commits.  The edits of governance.leases are made inside
-- transactions rolled back.  Everything it creates is named lt42_* /
-- "lt42-*"; roles, policies and entities are dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt42_acme', 'lt42_none', 'lt42_long', 'lt42_auditor']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt42%';
SELECT governance.delete_entity(uid) FROM governance.entities WHERE uid LIKE '%"lt42-%';

SELECT plan(28);

CREATE ROLE lt42_acme LOGIN IN ROLE governance_agent;
CREATE ROLE lt42_none LOGIN IN ROLE governance_agent;
CREATE ROLE lt42_long LOGIN IN ROLE governance_agent;
CREATE ROLE lt42_auditor LOGIN IN ROLE governance_auditor;
SELECT governance.register_agent('Agent::"lt42-acme"', 'lt42_acme');
SELECT governance.register_agent('Agent::"lt42-none"', 'lt42_none');
SELECT governance.register_agent('Agent::"lt42-long"', 'lt42_long');
-- a tenant uid with a quote, a backslash and non-ASCII letters inside its
-- id (canonical JSON escapes the first two), and one of the longest uid
SELECT governance.put_entity('Tenant::"lt42-acme \"ü\\ ä"', '{}', '{}');
SELECT governance.put_entity('Tenant::"lt42-' || repeat('x', 240) || '"', '{}', '{}');
SELECT governance.put_entity('Agent::"lt42-acme"', ARRAY['Group::"lt42"', 'Tenant::"lt42-acme \"ü\\ ä"'], '{}');
SELECT governance.put_entity('Agent::"lt42-none"', ARRAY['Group::"lt42"'], '{}');
SELECT governance.put_entity('Agent::"lt42-long"', ARRAY['Group::"lt42"', 'Tenant::"lt42-' || repeat('x', 240) || '"'], '{}');
SELECT governance.create_policy('lt42_p',
    'permit (principal in Group::"lt42", action == Action::"lt42.run", resource) when { context.ok == true };');
SELECT 'Tenant::"lt42-acme \"ü\\ ä"' AS tacme \gset

------------------------------------------------------------------------
-- the allow's event names the tenant, inside its evidence
------------------------------------------------------------------------
SET ROLE lt42_acme;
SELECT lease_id AS la FROM governance.authorize('Agent::"lt42-acme"', 'lt42.run', 'Tool::"t"', '{"ok": true}') \gset
RESET ROLE;
SELECT seq AS sa FROM governance.ledger WHERE lease_id = :'la' AND kind = 'governance.authorize' \gset

SELECT is((SELECT payload->>'tenant' FROM governance.ledger WHERE seq = :sa), :'tacme',
          'an allow''s governance.authorize event names the lease''s tenant (quote, backslash, non-ASCII kept)');
SELECT is((SELECT tenant FROM governance.leases WHERE lease_id = :'la'), :'tacme',
          'the lease''s tenant column is the same tenant');
SELECT is((SELECT array_agg(k ORDER BY k) FROM governance.ledger g, jsonb_object_keys(g.payload) k WHERE g.seq = :sa),
          ARRAY['caller', 'context_sha3_512', 'decision', 'determining_policies', 'expires_at', 'on_behalf',
                'policy_set_hash', 'reasons', 'tenant'],
          'its payload: the decision''s members and tenant');
SELECT ok(position(convert_to(btrim(governance.canonical_json(jsonb_build_object('tenant', :'tacme'::text)), '{}'), 'UTF8')
                   IN governance.event_bytes(:sa)) > 0,
          'the tenant, as canonical JSON, is in the event bytes the evidence hash covers (event_bytes)');
SELECT is((SELECT evidence FROM governance.ledger WHERE seq = :sa), governance.sha3_512(governance.event_bytes(:sa)),
          'and the stored evidence hash is the SHA3-512 of those bytes');

SET ROLE lt42_long;
SELECT lease_id AS ll FROM governance.authorize('Agent::"lt42-long"', 'lt42.run', 'Tool::"t"', '{"ok": true}') \gset
RESET ROLE;
SELECT is((SELECT payload->>'tenant' FROM governance.ledger WHERE lease_id = :'ll' AND kind = 'governance.authorize'),
          'Tenant::"lt42-' || repeat('x', 240) || '"', 'a tenant uid of 255 bytes is carried whole');

SET ROLE lt42_none;
SELECT lease_id AS ln FROM governance.authorize('Agent::"lt42-none"', 'lt42.run', 'Tool::"t"', '{"ok": true}') \gset
RESET ROLE;
SELECT ok((SELECT NOT payload ? 'tenant' FROM governance.ledger WHERE lease_id = :'ln' AND kind = 'governance.authorize'),
          'a lease of no tenant: no tenant member (the payload is as before tenants)');
SELECT is((SELECT tenant FROM governance.leases WHERE lease_id = :'ln'), NULL, 'and a NULL column');

-- a deny issues no lease: no tenant
SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt42_acme;
SELECT decision AS dd FROM governance.authorize('Agent::"lt42-acme"', 'lt42.run', 'Tool::"t"', '{"ok": false}') \gset
RESET ROLE;
SELECT is(:'dd'::text, 'deny', 'a request the policy denies');
SELECT ok((SELECT NOT payload ? 'tenant' FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.authorize' AND principal = 'Agent::"lt42-acme"'),
          'its ledgered deny names no tenant: there is no lease to be of one');

------------------------------------------------------------------------
-- delegate: the child's event names the parent's tenant
------------------------------------------------------------------------
SET ROLE lt42_acme;
SELECT lease_id AS lc FROM governance.delegate(:'la', 'Agent::"lt42-none"', 'lt42.run', 'Tool::"t"', '{"ok": true}') \gset
RESET ROLE;
SELECT is((SELECT payload->>'tenant' FROM governance.ledger WHERE lease_id = :'lc' AND kind = 'governance.authorize'),
          :'tacme', 'a delegated lease''s event names its parent''s tenant, not its principal''s (none)');
SELECT ok((SELECT prev_seq FROM governance.ledger WHERE lease_id = :'lc' AND kind = 'governance.authorize') =
          (SELECT seq FROM governance.ledger WHERE lease_id = :'la' AND kind = 'governance.delegated'),
          'and links to the parent''s delegated event, whose chain reaches the parent''s tenant');
SELECT ok((SELECT NOT payload ? 'tenant' FROM governance.ledger WHERE lease_id = :'la' AND kind = 'governance.delegated'),
          'the parent''s governance.delegated event carries no tenant of its own');

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO: a rolled-back allow leaves no tenant behind
------------------------------------------------------------------------
SELECT max(seq) AS mark FROM governance.ledger \gset
BEGIN;
SET LOCAL ROLE lt42_acme;
SAVEPOINT s;
SELECT lease_id AS lr FROM governance.authorize('Agent::"lt42-acme"', 'lt42.run', 'Tool::"rolled-back"', '{"ok": true}') \gset
ROLLBACK TO SAVEPOINT s;
SELECT lease_id AS lk FROM governance.authorize('Agent::"lt42-acme"', 'lt42.run', 'Tool::"kept"', '{"ok": true}') \gset
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq > :mark AND lease_id = :'lr'), 0,
          'an allow rolled back to a savepoint leaves no event naming the tenant');
SELECT is((SELECT payload->>'tenant' FROM governance.ledger WHERE lease_id = :'lk' AND kind = 'governance.authorize'),
          :'tacme', 'the allow after ROLLBACK TO names the tenant');

------------------------------------------------------------------------
-- verify_ledger(): a lease's column against its event (edits rolled back)
------------------------------------------------------------------------
-- a checkpoint before the leases below: verify from it (the rows of the
-- other files are not this file's to judge)
SELECT governance.seal() AS blk \gset
SELECT governance.checkpoint() AS cp \gset
SET ROLE lt42_acme;
SELECT lease_id AS lv FROM governance.authorize('Agent::"lt42-acme"', 'lt42.run', 'Tool::"v"', '{"ok": true}') \gset
RESET ROLE;
SET ROLE lt42_none;
SELECT lease_id AS lw FROM governance.authorize('Agent::"lt42-none"', 'lt42.run', 'Tool::"v"', '{"ok": true}') \gset
RESET ROLE;
SELECT first_seq AS fv FROM governance.leases WHERE lease_id = :'lv' \gset
SELECT first_seq AS fw FROM governance.leases WHERE lease_id = :'lw' \gset

SELECT is((SELECT ok::text || coalesce(problem, '') FROM governance.verify_ledger(:'cp'::jsonb)), 'true',
          'verify_ledger(checkpoint) verifies the leases after it, their tenants included');

BEGIN;
UPDATE governance.leases SET tenant = 'Tenant::"lt42-other"' WHERE lease_id = :'lv';
SELECT is((SELECT row(ok, first_bad_seq, problem)::text FROM governance.verify_ledger(:'cp'::jsonb)),
          row(false, :fv::bigint, format('modified lease %s: its tenant column is Tenant::"lt42-other", its governance.authorize event at row %s names %s',
                                         :'lv', :fv, :'tacme'))::text,
          'a superuser''s UPDATE of leases.tenant: verify_ledger() names the lease, its first event and both tenants');
SET LOCAL ROLE lt42_auditor;
SELECT is((SELECT first_bad_seq FROM governance.verify_ledger(:'cp'::jsonb)), :fv::bigint, 'an auditor''s verify_ledger() too');
SELECT is(pg_temp.err($$SELECT count(*) FROM governance.export_tenant('Tenant::"lt42-other"')$$),
          format('XX001: lease %s is not of tenant Tenant::"lt42-other"', :'lv'),
          'export_tenant() refuses the moved execution (XX001) rather than export it as the other tenant''s');
ROLLBACK;

BEGIN;
UPDATE governance.leases SET tenant = :'tacme' WHERE lease_id = :'lw';
SELECT ok((SELECT strpos(problem, format('modified lease %s: its tenant column is %s, ', :'lw', :'tacme')) = 1
                  AND problem LIKE '% names none' FROM governance.verify_ledger(:'cp'::jsonb)),
          'a tenant written into the column of a lease of none is reported');
ROLLBACK;
BEGIN;
UPDATE governance.leases SET tenant = NULL WHERE lease_id = :'lv';
SELECT ok((SELECT strpos(problem, format('modified lease %s: its tenant column is NULL, ', :'lv')) = 1
             FROM governance.verify_ledger(:'cp'::jsonb)),
          'a tenant column set to NULL is reported');
ROLLBACK;
BEGIN;
UPDATE governance.leases SET first_seq = :fw WHERE lease_id = :'lv';
SELECT is((SELECT problem FROM governance.verify_ledger(:'cp'::jsonb)),
          format('lease %s: its first_seq %s is not its governance.authorize event, so its tenant cannot be checked', :'lv', :fw),
          'a first_seq pointed at another lease''s event is reported');
ROLLBACK;
SELECT is((SELECT ok FROM governance.verify_ledger(:'cp'::jsonb)), true, 'rolled back: verifies again');

-- a range that does not reach the end checks no tenants (FORMAT.md 15)
BEGIN;
UPDATE governance.leases SET tenant = NULL WHERE lease_id = :'lv';
SELECT is((SELECT ok FROM governance.verify_ledger(:blk::bigint, :blk::bigint)), true,
          'verify_ledger(from, to) checks its blocks only, not the leases'' tenants');
ROLLBACK;

------------------------------------------------------------------------
-- bad input and privileges
------------------------------------------------------------------------
SET ROLE lt42_acme;
SELECT alike(pg_temp.err($$SELECT governance.verify_ledger()$$), '42501:%', 'an agent may not run verify_ledger() (42501)');
SELECT alike(pg_temp.err($$SELECT count(*) FROM governance.export_tenant('x')$$), '42501:%', 'nor export_tenant() (42501)');
RESET ROLE;
SELECT is(pg_temp.err($$SELECT count(*) FROM governance.export_tenant(repeat(E'\\"', 100000))$$), 'no error',
          'export_tenant() of a huge, malformed tenant: no error, nothing');
SELECT is(pg_temp.err($$SELECT * FROM governance.verify_ledger('{"not": "a checkpoint"}'::jsonb)$$), 'no error',
          'verify_ledger() of a malformed checkpoint reports, does not fail');

------------------------------------------------------------------------
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt42%';
SELECT governance.delete_entity(uid) FROM governance.entities WHERE uid LIKE '%"lt42-%';
DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt42_acme', 'lt42_none', 'lt42_long', 'lt42_auditor']);
END $$;

SELECT * FROM finish();
