-- Trust (issue 5 item 9, D7): trust_state() in the workers' database,
-- restore_trust() (admin only, needs a reason, ledgered with what it
-- cleared, takes effect only when it commits), and who may ask.  The
-- degradations themselves (enforcer stopped, signing key unavailable,
-- ledger tampered with) need their own clusters: test/system/failclosed.sh.
\ir lib/fixture.sql

DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt32_agent', 'lt32_auditor', 'lt32_admin', 'lt32_plain']);
END $$;

SELECT plan(15);


CREATE ROLE lt32_agent LOGIN IN ROLE governance_agent;
CREATE ROLE lt32_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE lt32_admin LOGIN IN ROLE governance_admin;
CREATE ROLE lt32_plain LOGIN;
SELECT max(seq) AS mark FROM governance.ledger \gset

SELECT is(governance.trust_state(), 'trusted', 'trust_state() is trusted in governance.database with the workers running');
SELECT is((SELECT count(*)::int FROM governance.workers WHERE name = 'enforcer' AND pid IS NOT NULL AND pid > 0), 1,
          'the enforcer it depends on is running');

SET ROLE lt32_agent;
SELECT is(governance.trust_state(), 'trusted', 'an agent may ask for the trust state');
SELECT is(pg_temp.err('SELECT governance.restore_trust(''x'')'), '42501: permission denied for function restore_trust',
          'an agent cannot restore trust');
RESET ROLE;
SET ROLE lt32_auditor;
SELECT is(governance.trust_state(), 'trusted', 'an auditor may ask for the trust state');
SELECT is(pg_temp.err('SELECT governance.restore_trust(''x'')'), '42501: permission denied for function restore_trust',
          'an auditor cannot restore trust');
RESET ROLE;
SET ROLE lt32_plain;
SELECT is(pg_temp.err('SELECT governance.trust_state()'), '42501: permission denied for schema governance',
          'a role outside the governance roles cannot even ask');
RESET ROLE;

SET ROLE lt32_admin;
SELECT is(pg_temp.err('SELECT governance.restore_trust(NULL)'), '22004: a reason is required to restore trust',
          'restore_trust(NULL) is refused');
SELECT is(pg_temp.err('SELECT governance.restore_trust('''')'), '22004: a reason is required to restore trust',
          'restore_trust with an empty reason is refused');
BEGIN;
SELECT is(governance.restore_trust('lt32: rolled back'), 'trusted', 'restore_trust() says the resulting state');
ROLLBACK;
SELECT is(governance.restore_trust('lt32: routine check'), 'trusted', 'governance_admin restores trust');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq > :mark AND kind = 'governance.trust.restored'
              AND payload->>'reason' = 'lt32: rolled back'), 0, 'a rolled-back restore_trust() leaves no event');
SELECT is((SELECT row(payload, actor)::text FROM governance.ledger WHERE seq > :mark AND kind = 'governance.trust.restored'
              AND payload->>'reason' = 'lt32: routine check'),
          row('{"reason": "lt32: routine check", "was": null}'::jsonb, session_user::text)::text,
          'restore_trust() is ledgered with its reason and what it cleared (nothing: trust was not degraded)');
SELECT is(governance.trust_state(), 'trusted', 'and trust stays');
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq > :mark AND kind = 'governance.trust.degraded'), 0,
          'no degradation was ledgered meanwhile');

DROP ROLE lt32_agent, lt32_auditor, lt32_admin, lt32_plain;
SELECT * FROM finish();
