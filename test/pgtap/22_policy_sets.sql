-- Issue 17: governance.create_policies(source), a policy set in one source
-- (a file of policies, as Cedar users keep them), each policy named by its
-- @id.  Bad input (NULL, empty, huge, no policy, a syntax error, a missing
-- or invalid @id, a name twice, a name that exists: nothing stored),
-- privileges, SAVEPOINT / ROLLBACK TO, and the ledger.
\ir lib/fixture.sql
BEGIN;
SELECT plan(23);

DO $$
BEGIN
    PERFORM governance.drop_policy(name) FROM governance.policies;
END
$$;

CREATE FUNCTION pg_temp.names() RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM governance.policies $$;

------------------------------------------------------------------------
-- bad input: an error, and nothing stored
------------------------------------------------------------------------
SELECT throws_ok($$SELECT governance.create_policies(NULL)$$, '22004', NULL, 'NULL is refused');
SELECT throws_ok($$SELECT governance.create_policies('')$$, '22023', NULL, 'an empty source is refused');
SELECT throws_ok($$SELECT governance.create_policies('// only a comment')$$, '22023',
                 'the policy set holds no policy', 'a source without a policy is refused');
SELECT throws_ok($$SELECT governance.create_policies('@id("a") permit (principal, action, resource); ' || repeat(' ', 300 * 1024))$$,
                 '54000', 'policy set is too large', 'a source over governance.max_policy_size is refused');
SELECT throws_ok($$SELECT governance.create_policies('@id("a") permit (principal, action, resource);
@id("b") forbid (principal, action, resource) when { context.x < };')$$,
                 '42601', 'line 2, column 66: expected an expression, found "}"',
                 'a syntax error in the second policy names its line and column');
SELECT throws_ok($$SELECT governance.create_policies('@id("a") permit (principal, action, resource); forbid (principal, action, resource);')$$,
                 '22023', 'policy 2 of the set has no @id annotation', 'every policy needs an @id');
SELECT throws_ok($$SELECT governance.create_policies('@id("a b") permit (principal, action, resource);')$$,
                 '22023', 'invalid policy name "a b" in the @id of policy 1 of the set', 'an @id must be a valid policy name');
SELECT throws_ok($$SELECT governance.create_policies('@id("") permit (principal, action, resource);')$$,
                 '22023', NULL, 'an empty @id is refused');
SELECT throws_ok($$SELECT governance.create_policies('@id("a") permit (principal, action, resource); @id("a") forbid (principal, action, resource);')$$,
                 '42710', 'policy "a" appears twice in the set', 'a name twice in the set is refused');
SELECT is(pg_temp.names(), '', 'none of these stored anything');
SELECT lives_ok($$SELECT governance.create_policy('taken', 'permit (principal, action, resource);')$$, 'a policy exists');
SELECT throws_ok($$SELECT governance.create_policies('@id("new") permit (principal, action, resource); @id("taken") forbid (principal, action, resource);')$$,
                 '42710', 'policy "taken" already exists', 'a set that names an existing policy is refused');
SELECT is(pg_temp.names(), 'taken', 'all or nothing: the first policy of that set was not stored');

------------------------------------------------------------------------
-- a set, stored policy by policy, and ledgered
------------------------------------------------------------------------
SAVEPOINT before_set;
SELECT is(length(governance.create_policies($$
// billing policies
@id("billing-read") @advice("anyone in billing reads")
permit (principal in Group::"billing", action == Action::"read", resource);

@id("no-frozen")
forbid (principal, action, resource) when { resource has frozen && resource.frozen };
$$)), 64, 'create_policies returns the new policy-set hash');
SELECT is(pg_temp.names(), 'billing-read,no-frozen,taken', 'each policy is stored under its @id');
SELECT is((SELECT source FROM governance.policies WHERE name = 'no-frozen'),
          '@id("no-frozen")
forbid (principal, action, resource) when { resource has frozen && resource.frozen };',
          'each with its own text, from its first annotation to its semicolon');
SELECT is((SELECT effect FROM governance.policies WHERE name = 'billing-read'), 'permit', 'and its effect');
SELECT is((SELECT count(*) FROM governance.ledger WHERE kind = 'governance.policy.created'
             AND payload->>'name' IN ('billing-read', 'no-frozen')), 2::bigint,
          'each creation is ledgered as create_policy ledgers it');
SELECT is((SELECT annotations->>'advice' FROM governance.explain('User::"u"', 'read', 'Doc::"d"') WHERE policy = 'billing-read'),
          'anyone in billing reads', 'explain() shows the annotations of a policy of the set');
ROLLBACK TO SAVEPOINT before_set;
SELECT is(pg_temp.names(), 'taken', 'ROLLBACK TO SAVEPOINT forgets the whole set');

------------------------------------------------------------------------
-- privileges
------------------------------------------------------------------------
SELECT pg_temp.drop_roles(ARRAY['ps_agent', 'ps_auditor', 'ps_admin']);
CREATE ROLE ps_agent IN ROLE governance_agent;
CREATE ROLE ps_auditor IN ROLE governance_auditor;
CREATE ROLE ps_admin IN ROLE governance_admin;
SET ROLE ps_agent;
SELECT throws_ok($$SELECT governance.create_policies('@id("x") permit (principal, action, resource);')$$, '42501', NULL,
                 'an agent cannot create policies');
RESET ROLE;
SET ROLE ps_auditor;
SELECT throws_ok($$SELECT governance.create_policies('@id("x") permit (principal, action, resource);')$$, '42501', NULL,
                 'an auditor cannot create policies');
RESET ROLE;
SET ROLE ps_admin;
SELECT lives_ok($$SELECT governance.create_policies('@id("x") permit (principal, action, resource);')$$,
                'an administrator can');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
