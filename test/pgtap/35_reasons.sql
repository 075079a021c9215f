-- What callers are told (issue 9, item 15).  authorize() and delegate()
-- give callers who are not governance_admin one short reason by default
-- (governance.deny_reasons = short): no policy names, no hint of which
-- entities or registrations exist, no other policy's evaluation error.
-- Administrators, and the ledger, get every reason in full;
-- governance.deny_reasons = full (superuser) gives agents the full ones
-- too.  explain() and decide(), which tell everything, are for
-- governance_admin and governance_auditor only.  (A trust failure is told
-- in full to everyone, as trust_state() tells it: failclosed.sh.)
--
-- One transaction, rolled back: only denies and pending leases are made.
\set ON_ERROR_STOP 1
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(28);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- authorize as the current role: "decision: reasons"
CREATE FUNCTION pg_temp.az(principal text, action text, resource text) RETURNS text LANGUAGE sql AS $$
    SELECT decision || ': ' || array_to_string(reasons, ' | ') FROM governance.authorize(principal, action, resource)
$$;
-- the reasons the ledger recorded for the newest decision on principal
CREATE FUNCTION pg_temp.ledgered(p text) RETURNS text LANGUAGE sql AS $$
    SELECT payload->>'decision' || ': ' || (SELECT string_agg(r, ' | ') FROM jsonb_array_elements_text(payload->'reasons') r)
      FROM governance.ledger WHERE kind = 'governance.authorize' AND principal = p ORDER BY seq DESC LIMIT 1
$$;

CREATE ROLE rs35_bot LOGIN IN ROLE governance_agent;
CREATE ROLE rs35_other LOGIN IN ROLE governance_agent;
CREATE ROLE rs35_admin LOGIN IN ROLE governance_admin;
CREATE ROLE rs35_auditor LOGIN IN ROLE governance_auditor;
SELECT governance.register_agent('Agent::"rs35-bot"', 'rs35_bot');
SELECT governance.register_agent('Agent::"rs35-other"', 'rs35_other');
SELECT governance.put_entity('Agent::"rs35-bot"', ARRAY['Group::"rs35"'], '{}');
SELECT governance.put_entity('Account::"rs35-secret"', '{}', '{"owner": "board"}');
SELECT governance.create_policy('rs35_permit', 'permit (principal in Group::"rs35", action == Action::"rs35.read", resource);');
SELECT governance.create_policy('rs35_secret_forbid',
    'forbid (principal, action, resource == Account::"rs35-secret");');
-- a permit that fails to evaluate (the entity has no such attribute)
SELECT governance.create_policy('rs35_broken_permit',
    'permit (principal, action == Action::"rs35.read", resource) when { resource.missing_attribute == 1 };');

------------------------------------------------------------------------
-- the setting
------------------------------------------------------------------------
SELECT is(current_setting('governance.deny_reasons'), 'short', 'governance.deny_reasons defaults to short');
SELECT is(pg_temp.err('SET LOCAL governance.deny_reasons = verbose'),
          '22023: invalid value for parameter "governance.deny_reasons": "verbose"', 'it is short or full');
SET LOCAL ROLE rs35_bot;
SELECT is(pg_temp.err('SET LOCAL governance.deny_reasons = full'),
          '42501: permission denied to set parameter "governance.deny_reasons"', 'an agent cannot change it');
RESET ROLE;
SET LOCAL ROLE rs35_admin;
SELECT is(pg_temp.err('SET LOCAL governance.deny_reasons = full'),
          '42501: permission denied to set parameter "governance.deny_reasons"', 'nor can governance_admin: superuser only');
RESET ROLE;

------------------------------------------------------------------------
-- an agent is told briefly
------------------------------------------------------------------------
SET LOCAL ROLE rs35_bot;
SELECT is(pg_temp.az('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-secret"'), 'deny: denied by policy',
          'a forbid: the agent is not told which policy');
SELECT is(pg_temp.az('Agent::"rs35-bot"', 'rs35.write', 'Account::"rs35-1"'), 'deny: denied by policy',
          'no permit: the same words');
SELECT is(pg_temp.az('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-1"'), 'allow: allowed by policy',
          'an allow does not tell of the permit that failed to evaluate, nor name the one that matched');
SELECT is(pg_temp.az('Agent::"rs35-other"', 'rs35.read', 'Account::"rs35-1"'),
          'deny: role rs35_bot may not act as Agent::"rs35-other"', 'a principal registered to another role');
SELECT is(pg_temp.az('Agent::"rs35-nobody"', 'rs35.read', 'Account::"rs35-1"'),
          'deny: role rs35_bot may not act as Agent::"rs35-nobody"',
          'a principal nobody registered: the same words (no registration oracle)');
RESET ROLE;

------------------------------------------------------------------------
-- the ledger keeps everything
------------------------------------------------------------------------
SELECT is(pg_temp.ledgered('Agent::"rs35-nobody"'), 'deny: principal Agent::"rs35-nobody" is not registered',
          'the ledger says the principal is not registered');
SELECT is(pg_temp.ledgered('Agent::"rs35-other"'), 'deny: role rs35_bot may not act as Agent::"rs35-other"',
          'and which role tried to act as whom');
SELECT is((SELECT array_agg(payload->'reasons' ORDER BY seq) FROM governance.ledger
            WHERE kind = 'governance.authorize' AND principal = 'Agent::"rs35-bot"' AND txid = pg_current_xact_id()),
          ARRAY['["denied: forbid policy \"rs35_secret_forbid\" matched", "permit policy \"rs35_permit\" matched but a forbid overrides it", "permit policy \"rs35_broken_permit\" was not applied: entity Account::\"rs35-secret\" has no attribute \"missing_attribute\""]',
                '["denied by default: no permit policy matched"]',
                '["allowed: permit policy \"rs35_permit\" matched", "permit policy \"rs35_broken_permit\" was not applied: entity Account::\"rs35-1\" does not exist"]']::jsonb[],
          'the agent''s three decisions are ledgered with every reason: policies, entities, errors');

------------------------------------------------------------------------
-- administrators are told everything
------------------------------------------------------------------------
SET LOCAL ROLE rs35_admin;
SELECT is(pg_temp.az('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-secret"'),
          'deny: denied: forbid policy "rs35_secret_forbid" matched | permit policy "rs35_permit" matched but a forbid overrides it | permit policy "rs35_broken_permit" was not applied: entity Account::"rs35-secret" has no attribute "missing_attribute"',
          'governance_admin acting on behalf gets the full reasons');
SELECT is(pg_temp.az('Agent::"rs35-nobody"', 'rs35.read', 'Account::"rs35-1"'),
          'deny: principal Agent::"rs35-nobody" is not registered', 'including that a principal is not registered');
RESET ROLE;
SELECT is(pg_temp.az('Agent::"rs35-bot"', 'rs35.write', 'Account::"rs35-1"'),
          'deny: denied by default: no permit policy matched', 'so does a superuser');

------------------------------------------------------------------------
-- governance.deny_reasons = full
------------------------------------------------------------------------
SET LOCAL governance.deny_reasons = full;
SET LOCAL ROLE rs35_bot;
SELECT is(pg_temp.az('Agent::"rs35-bot"', 'rs35.write', 'Account::"rs35-1"'),
          'deny: denied by default: no permit policy matched', 'with full, the agent is told the full reasons');
SELECT is(pg_temp.az('Agent::"rs35-nobody"', 'rs35.read', 'Account::"rs35-1"'),
          'deny: principal Agent::"rs35-nobody" is not registered', 'all of them');
RESET ROLE;
SET LOCAL governance.deny_reasons = short;

------------------------------------------------------------------------
-- delegate(): the same rule (34_delegation_attenuation.sql: widening)
------------------------------------------------------------------------
-- a committed parent cannot be had in a rolled-back transaction: the
-- parent-state reasons are the caller's own lease's, not secrets
SET LOCAL ROLE rs35_bot;
SELECT is(pg_temp.err($$SELECT governance.delegate('00000000-0000-4000-8000-000000000000', 'Agent::"rs35-other"', 'rs35.read', 'Account::"rs35-1"')$$),
          '42704: lease 00000000-0000-4000-8000-000000000000 does not exist', 'delegate from an unknown lease is an error');
SELECT lease_id AS pending FROM governance.authorize('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-1"') \gset
SELECT is((SELECT decision || ': ' || reasons[1] FROM governance.delegate(:'pending', 'Agent::"rs35-other"', 'rs35.read', 'Account::"rs35-1"')),
          format('deny: parent lease %s is not live', :'pending'),
          'delegate from the caller''s own uncommitted lease: the agent is told why (it is its own lease)');
RESET ROLE;

------------------------------------------------------------------------
-- explain() and decide() tell everything: not for agents
------------------------------------------------------------------------
SET LOCAL ROLE rs35_bot;
SELECT is(pg_temp.err($$SELECT * FROM governance.explain('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-secret"')$$),
          '42501: permission denied for function explain', 'an agent cannot call explain()');
SELECT is(pg_temp.err($$SELECT * FROM governance.decide('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-secret"')$$),
          '42501: permission denied for function decide', 'nor decide()');
SELECT is(pg_temp.err($$SELECT * FROM governance.ledger LIMIT 1$$),
          '42501: permission denied for table ledger', 'nor read the full reasons in the ledger');
RESET ROLE;
SET LOCAL ROLE rs35_admin;
SELECT is((SELECT array_agg(policy || ' ' || effect || ' ' || matched ORDER BY policy)
             FROM governance.explain('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-secret"')
            WHERE policy LIKE 'rs35%'),
          ARRAY['rs35_broken_permit permit false', 'rs35_permit permit true', 'rs35_secret_forbid forbid true'],
          'governance_admin can explain');
RESET ROLE;
SET LOCAL ROLE rs35_auditor;
SELECT is((SELECT decision FROM governance.decide('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-secret"')), 'deny',
          'and an auditor can decide');
SELECT is(pg_temp.err($$SELECT governance.authorize('Agent::"rs35-bot"', 'rs35.read', 'Account::"rs35-1"')$$),
          '42501: permission denied for function authorize', 'but not authorize');
RESET ROLE;

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO: the setting is transactional like any other
------------------------------------------------------------------------
SAVEPOINT s;
SET LOCAL governance.deny_reasons = full;
ROLLBACK TO SAVEPOINT s;
SELECT is(current_setting('governance.deny_reasons'), 'short', 'a change rolled back to its savepoint is undone');
SET LOCAL ROLE rs35_bot;
SELECT is(pg_temp.az('Agent::"rs35-bot"', 'rs35.write', 'Account::"rs35-1"'), 'deny: denied by policy',
          'and the agent is told briefly again');
RESET ROLE;
SAVEPOINT s2;
SET LOCAL ROLE rs35_bot;
SELECT pg_temp.az('Agent::"rs35-bot"', 'rs35.write', 'Account::"rs35-2"') AS rolled_back_deny \gset
RESET ROLE;
ROLLBACK TO SAVEPOINT s2;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE kind = 'governance.authorize'
              AND resource = 'Account::"rs35-2"' AND txid = pg_current_xact_id()), 0,
          'a deny rolled back to its savepoint leaves no ledger row (the caller rolled it back, as with any write)');

SELECT * FROM finish();
ROLLBACK;
