-- The policy SQL API: argument checking (NULL, empty, malformed), limits
-- (1 MB source, 10k clauses, deep and large contexts), privileges, what is
-- ledgered, and the policy-set hash recomputed from docs/FORMAT.md.
\ir lib/fixture.sql
BEGIN;
SELECT plan(81);

DO $$
BEGIN
    PERFORM governance.drop_policy(name) FROM governance.policies;
    PERFORM governance.delete_entity(uid) FROM governance.entities;
END
$$;

CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT int4send(length(b)) || b $$;
CREATE FUNCTION pg_temp.tfield(t text) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT pg_temp.field(convert_to(t, 'UTF8')) $$;
-- docs/FORMAT.md section 8, from the table
CREATE FUNCTION pg_temp.expected_set_hash() RETURNS bytea LANGUAGE sql AS $$
    SELECT governance.blake2b_512(pg_temp.tfield('governance.v1.policy-set') ||
           coalesce((SELECT string_agg(pg_temp.tfield(name) || pg_temp.tfield(source), ''::bytea
                                       ORDER BY name COLLATE "C")
                       FROM governance.policies), ''::bytea))
$$;
CREATE FUNCTION pg_temp.ledger_count() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM governance.ledger
$$;
CREATE FUNCTION pg_temp.last_event() RETURNS governance.ledger LANGUAGE sql AS $$
    SELECT * FROM governance.ledger ORDER BY seq DESC LIMIT 1
$$;

------------------------------------------------------------------------
-- the policy-set hash
------------------------------------------------------------------------
SELECT is(governance.policy_set_hash(),
          governance.blake2b_512(pg_temp.tfield('governance.v1.policy-set')),
          'the empty policy set has a hash: BLAKE2b-512 of the tag field alone');

SELECT is(governance.create_policy('b-permit', 'permit (principal, action, resource) when { context.ok };'),
          pg_temp.expected_set_hash(), 'create_policy returns the new policy-set hash');
SELECT is(governance.create_policy('a.forbid', 'forbid (principal, action, resource) when { context.bad };'),
          pg_temp.expected_set_hash(), 'the hash covers every policy in name order');
SELECT is(governance.policy_set_hash(), pg_temp.expected_set_hash(),
          'policy_set_hash() agrees with the recomputation');
SELECT is(governance.policy_set_hash(),
          governance.blake2b_512(pg_temp.tfield('governance.v1.policy-set') ||
              pg_temp.tfield('a.forbid') || pg_temp.tfield('forbid (principal, action, resource) when { context.bad };') ||
              pg_temp.tfield('b-permit') || pg_temp.tfield('permit (principal, action, resource) when { context.ok };')),
          'the hash spelled out field by field');
SELECT is((governance.decide('User::"u"', 'read', 'Doc::"d"', '{"ok": true, "bad": false}')).policy_set_hash,
          governance.policy_set_hash(), 'decide() reports the hash of the set that decided');

------------------------------------------------------------------------
-- what is ledgered
------------------------------------------------------------------------
SELECT is((pg_temp.last_event()).kind, 'governance.policy.created', 'create_policy is ledgered');
SELECT is((pg_temp.last_event()).payload,
          jsonb_build_object('name', 'a.forbid', 'effect', 'forbid',
                             'source_sha3_512', encode(governance.sha3_512(convert_to(
                                 'forbid (principal, action, resource) when { context.bad };', 'UTF8')), 'hex'),
                             'policy_set_hash', encode(governance.policy_set_hash(), 'hex')),
          'with its name, effect, the SHA3-512 of its source and the resulting policy-set hash');

SELECT lives_ok($$SELECT governance.replace_policy('b-permit', 'permit (principal, action, resource);')$$,
                'replace_policy changes an existing policy');
SELECT is((pg_temp.last_event()).kind, 'governance.policy.replaced', 'replace_policy is ledgered');
SELECT is((pg_temp.last_event()).payload->>'previous_source_sha3_512',
          encode(governance.sha3_512(convert_to('permit (principal, action, resource) when { context.ok };', 'UTF8')), 'hex'),
          'with the hash of the source it replaced');
SELECT is((pg_temp.last_event()).payload->>'policy_set_hash', encode(pg_temp.expected_set_hash(), 'hex'),
          'and the resulting policy-set hash');

SELECT is(governance.drop_policy('a.forbid'), pg_temp.expected_set_hash(), 'drop_policy returns the new hash');
SELECT is((pg_temp.last_event()).kind, 'governance.policy.dropped', 'drop_policy is ledgered');
SELECT is((pg_temp.last_event()).payload->>'source_sha3_512',
          encode(governance.sha3_512(convert_to('forbid (principal, action, resource) when { context.bad };', 'UTF8')), 'hex'),
          'with the hash of the dropped source');

SELECT lives_ok($$SELECT governance.put_entity('User::"u"', ARRAY['Group::"g"'], '{"n": 1}')$$, 'put_entity');
SELECT is((pg_temp.last_event()).kind, 'governance.entity.put', 'put_entity is ledgered');
SELECT is((pg_temp.last_event()).payload,
          jsonb_build_object('uid', 'User::"u"', 'value_sha3_512',
              encode(governance.sha3_512(convert_to(governance.canonical_json(
                  jsonb_build_object('uid', 'User::"u"', 'parents', jsonb_build_array('Group::"g"'),
                                     'attrs', '{"n": 1}'::jsonb)), 'UTF8')), 'hex')),
          'with the uid and the SHA3-512 of the canonical JSON of the new value');
SELECT is(governance.delete_entity('User::"u"'), true, 'delete_entity says it deleted');
SELECT is((pg_temp.last_event()).payload, '{"uid": "User::\"u\"", "value_sha3_512": null}'::jsonb,
          'delete_entity is ledgered');
SELECT is((pg_temp.last_event()).kind, 'governance.entity.deleted', 'as governance.entity.deleted');
SELECT is(governance.delete_entity('User::"u"'), false, 'deleting a missing entity says so');

SELECT is(pg_temp.ledger_count(),
          (SELECT pg_temp.ledger_count() FROM governance.explain('User::"u"', 'read', 'Doc::"d"')
            LIMIT 1), 'explain writes nothing');
SELECT is(pg_temp.ledger_count(),
          (SELECT pg_temp.ledger_count() FROM governance.decide('User::"u"', 'read', 'Doc::"d"')),
          'decide writes nothing');

------------------------------------------------------------------------
-- bad arguments: clear errors, nothing written
------------------------------------------------------------------------
SELECT throws_ok($$SELECT governance.create_policy(NULL, 'permit (principal, action, resource);')$$,
                 '22004', 'policy name must not be NULL', 'NULL policy name');
SELECT throws_ok($$SELECT governance.create_policy('', 'permit (principal, action, resource);')$$,
                 '22023', 'policy name must not be empty', 'empty policy name');
SELECT throws_ok($$SELECT governance.create_policy('a b', 'permit (principal, action, resource);')$$,
                 '22023', 'invalid policy name "a b"', 'policy name with a space');
SELECT throws_ok($$SELECT governance.create_policy('x', NULL)$$,
                 '22004', 'policy source must not be NULL', 'NULL source');
SELECT throws_ok($$SELECT governance.create_policy('x', '')$$,
                 '42601', 'line 1, column 1: expected "permit" or "forbid", found end of input', 'empty source');
SELECT throws_ok($$SELECT governance.create_policy('x', 'permit (principal, action, resource) when { 1 + };')$$,
                 '42601', 'line 1, column 49: expected an expression, found "}"', 'a syntax error names line and column');
SELECT throws_ok($$SELECT governance.create_policy('b-permit', 'permit (principal, action, resource);')$$,
                 '42710', 'policy "b-permit" already exists', 'create_policy does not replace');
SELECT throws_ok($$SELECT governance.replace_policy('nope', 'permit (principal, action, resource);')$$,
                 '42704', 'policy "nope" does not exist', 'replace_policy needs an existing policy');
SELECT throws_ok($$SELECT governance.drop_policy('nope')$$,
                 '42704', 'policy "nope" does not exist', 'drop_policy of a missing policy');
SELECT throws_ok($$SELECT governance.drop_policy(NULL)$$,
                 '22004', 'policy name must not be NULL', 'drop_policy(NULL)');
SELECT is((SELECT count(*) FROM governance.policies WHERE name = 'x'), 0::bigint,
          'no failed create_policy stored anything');

SELECT throws_ok($$SELECT governance.put_entity(NULL)$$, '22004', 'entity must not be NULL', 'put_entity(NULL)');
SELECT throws_ok($$SELECT governance.put_entity('')$$, '22023', 'entity must not be empty', 'put_entity('''')');
SELECT throws_ok($$SELECT governance.put_entity('alice')$$, '22023', 'entity "alice" is not an entity uid', 'a uid without a type');
SELECT throws_ok($$SELECT governance.put_entity('User::alice')$$, '22023', 'entity "User::alice" is not an entity uid',
                 'a uid without quotes');
SELECT throws_ok($$SELECT governance.put_entity('User::"a"', NULL)$$, '22004', 'entity parents must not be NULL',
                 'NULL parents');
SELECT throws_ok($$SELECT governance.put_entity('User::"a"', ARRAY[NULL]::text[])$$, '22004',
                 'entity parents must not contain NULL', 'a NULL parent');
SELECT throws_ok($$SELECT governance.put_entity('User::"a"', ARRAY['g'])$$, '22023', 'parent "g" is not an entity uid',
                 'a malformed parent');
SELECT throws_ok($$SELECT governance.put_entity('User::"a"', '{}', NULL)$$, '22004',
                 'entity attributes must not be NULL', 'NULL attributes');
SELECT throws_ok($$SELECT governance.put_entity('User::"a"', '{}', '[1]')$$, '22023',
                 'entity attributes must be a JSON object', 'attributes that are not an object');
SELECT throws_ok($$SELECT governance.put_entity('User::"a"', '{}', '{"m": {"__entity": "bob"}}')$$, '22023',
                 'entity attributes hold an invalid entity reference: an object with key "__entity" must be {"__entity": "Type::\"id\""}',
                 'a malformed entity reference is refused when stored');
SELECT throws_ok($$SELECT governance.delete_entity(NULL)$$, '22004', 'entity must not be NULL', 'delete_entity(NULL)');
SELECT is((SELECT count(*) FROM governance.entities), 0::bigint, 'no failed put_entity stored anything');

SELECT throws_ok($$SELECT * FROM governance.decide(NULL, 'read', 'Doc::"d"')$$, '22004',
                 'principal must not be NULL', 'decide with a NULL principal');
SELECT throws_ok($$SELECT * FROM governance.decide('', 'read', 'Doc::"d"')$$, '22023',
                 'principal must not be empty', 'decide with an empty principal');
SELECT throws_ok($$SELECT * FROM governance.decide('nobody', 'read', 'Doc::"d"')$$, '22023',
                 'principal "nobody" is not an entity uid', 'decide with a malformed principal');
SELECT throws_ok($$SELECT * FROM governance.decide('User::"u"', NULL, 'Doc::"d"')$$, '22004',
                 'action must not be NULL', 'decide with a NULL action');
SELECT throws_ok($$SELECT * FROM governance.decide('User::"u"', 'Action::read', 'Doc::"d"')$$, '22023',
                 'invalid action "Action::read"', 'an action with :: must be a full uid');
SELECT throws_ok($$SELECT * FROM governance.explain('User::"u"', 'read', NULL)$$, '22004',
                 'resource must not be NULL', 'explain with a NULL resource');
SELECT throws_ok($$SELECT * FROM governance.explain('User::"u"', 'read', 'Doc::"d"', NULL)$$, '22004',
                 'context must not be NULL', 'explain with a NULL context');
SELECT throws_ok($$SELECT * FROM governance.explain('User::"u"', 'read', 'Doc::"d"', '[]')$$, '22023',
                 'context must be a JSON object', 'a context that is not an object');

------------------------------------------------------------------------
-- limits: 1 MB source, 10k clauses, deep and large contexts
------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT governance.create_policy('big', %L)$$,
                        'permit (principal, action, resource) when { ' || repeat('true && ', 131072) || 'true };'),
                 '54000', 'policy "big" is too large', 'a 1 MB policy source is refused (max_policy_size)');

CREATE TEMP TABLE timing (what text, ms float8);
CREATE FUNCTION pg_temp.timed(what text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    r text;
BEGIN
    EXECUTE q INTO r;
    INSERT INTO timing VALUES (what, extract(epoch FROM clock_timestamp() - t0) * 1000);
    RETURN r;
END
$$;

SELECT lives_ok(format($$SELECT pg_temp.timed('create 10k when', %L)$$,
                       format('SELECT governance.create_policy(%L, %L)', 'tenk-when',
                              'permit (principal, action, resource) ' ||
                              repeat('when { context.n > 0 } ', 10000) || ';')),
                'a policy of 10,000 when clauses is accepted');
SELECT lives_ok(format($$SELECT pg_temp.timed('create 10k or', %L)$$,
                       format('SELECT governance.create_policy(%L, %L)', 'tenk-or',
                              'forbid (principal, action, resource) when { ' ||
                              repeat('context.n == -1 || ', 10000) || 'false };')),
                'a condition of 10,000 || terms is accepted (a wide tree, not a deep one)');
SELECT is(pg_temp.timed('decide 10k', $$SELECT decision FROM governance.decide('User::"u"', 'read', 'Doc::"d"', '{"n": 1, "ok": true}')$$),
          'allow', 'and both evaluate: every clause holds, no term matches');
SELECT is(pg_temp.timed('decide 10k deny', $$SELECT decision FROM governance.decide('User::"u"', 'read', 'Doc::"d"', '{"n": -1}')$$),
          'deny', 'the forbid matches on its term');
SELECT ok((SELECT max(ms) FROM timing) < 2000,
          'creating and deciding 10k-clause policies takes well under 2 s each (max '
          || (SELECT round(max(ms)::numeric, 1) FROM timing) || ' ms)');
SELECT throws_ok(format($$SELECT governance.create_policy('deep', %L)$$,
                        'permit (principal, action, resource) when { ' || repeat('(', 100) || 'true' || repeat(')', 100) || ' };'),
                 '42601', 'line 1, column 109: expression nested too deeply (the limit is 64 levels)',
                 'nesting deeper than 64 levels is refused when created');
DO $$ BEGIN PERFORM governance.drop_policy('tenk-when'); END $$;
DO $$ BEGIN PERFORM governance.drop_policy('tenk-or'); END $$;

-- a context nested 1000 levels deep
CREATE TEMP TABLE deep AS
SELECT (repeat('{"a":', 1000) || '1' || repeat('}', 1000))::jsonb AS j;
SELECT is((SELECT decision FROM deep, governance.decide('User::"u"', 'read', 'Doc::"d"',
                                                       jsonb_build_object('ok', true, 'deep', j))),
          'allow', 'a deeply nested context is harmless where policies do not look');
DO $$ BEGIN PERFORM governance.create_policy('c-deep', 'permit (principal, action, resource) when { context.deep == context.deep };'); END $$;
SELECT is((SELECT error FROM deep, governance.explain('User::"u"', 'read', 'Doc::"d"',
                                                     jsonb_build_object('ok', true, 'deep', j))
            WHERE policy = 'c-deep'),
          'value nested deeper than 64 levels', 'and an error where they do, never a crash');
DO $$ BEGIN PERFORM governance.drop_policy('c-deep'); END $$;

-- a 1 MB context with large sets
DO $$ BEGIN PERFORM governance.create_policy('c-big',
    'permit (principal, action, resource) when { context.list.containsAll(context.other) && context.list.contains("x99999") };'); END $$;
CREATE TEMP TABLE big AS
SELECT jsonb_build_object('list', (SELECT jsonb_agg('x' || i) FROM generate_series(0, 99999) i),
                          'other', (SELECT jsonb_agg('x' || (i * 7 % 100000)) FROM generate_series(0, 49999) i)) AS j;
SELECT cmp_ok((SELECT length(j::text) FROM big), '>', 1000000, 'the context is over 1 MB');
DELETE FROM timing;
SELECT is((SELECT pg_temp.timed('big context', format($$SELECT decision FROM governance.decide('User::"u"', 'read', 'Doc::"d"', %L)$$, j)) FROM big),
          'allow', 'a 1 MB context with 100k-element sets is decided');
SELECT ok((SELECT max(ms) FROM timing) < 2000,
          'in bounded time (' || (SELECT round(max(ms)::numeric, 1) FROM timing) || ' ms)');
DO $$ BEGIN PERFORM governance.drop_policy('c-big'); END $$;

------------------------------------------------------------------------
-- stored policies that bypassed create_policy (a superuser's direct DML)
------------------------------------------------------------------------
INSERT INTO governance.policies VALUES ('z-garbage', 'garbage', 'forbid', now(), 'test');
SELECT is((SELECT decision || ' ' || determining::text FROM governance.decide('User::"u"', 'read', 'Doc::"d"')),
          'deny {z-garbage}', 'direct DML is seen by the next decision, and a forbid that does not compile denies');
SELECT is((SELECT error FROM governance.explain('User::"u"', 'read', 'Doc::"d"') WHERE policy = 'z-garbage'),
          'stored policy does not compile: line 1, column 1: expected "permit" or "forbid", found "garbage"',
          'explain says why');
UPDATE governance.policies SET source = 'permit (principal, action, resource);' WHERE name = 'z-garbage';
SELECT is((SELECT error FROM governance.explain('User::"u"', 'read', 'Doc::"d"') WHERE policy = 'z-garbage'),
          'stored effect does not match the policy source', 'an effect column that lies is an error');
SELECT is((SELECT decision FROM governance.decide('User::"u"', 'read', 'Doc::"d"')), 'deny',
          'and the policy still counts as a forbid');
DELETE FROM governance.policies WHERE name = 'z-garbage';

------------------------------------------------------------------------
-- privileges
------------------------------------------------------------------------
CREATE ROLE pol_agent LOGIN IN ROLE governance_agent;
CREATE ROLE pol_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE pol_admin LOGIN IN ROLE governance_admin;

SET ROLE pol_agent;
SELECT throws_ok($$SELECT governance.create_policy('x', 'permit (principal, action, resource);')$$, '42501', NULL,
                 'an agent cannot create policies');
SELECT throws_ok($$SELECT governance.put_entity('Agent::"me"', '{Group::\"admins\"}')$$, '42501', NULL,
                 'an agent cannot change entities');
SELECT throws_ok($$SELECT * FROM governance.explain('User::"u"', 'read', 'Doc::"d"')$$, '42501', NULL,
                 'an agent cannot explain (it would learn the policies)');
SELECT throws_ok($$SELECT * FROM governance.policies$$, '42501', NULL, 'an agent cannot read the policies');
SELECT lives_ok($$SELECT governance.policy_set_hash()$$, 'an agent may read the policy-set hash');
RESET ROLE;

SET ROLE pol_auditor;
SELECT lives_ok($$SELECT * FROM governance.explain('User::"u"', 'read', 'Doc::"d"')$$, 'an auditor may explain');
SELECT lives_ok($$SELECT * FROM governance.decide('User::"u"', 'read', 'Doc::"d"')$$, 'an auditor may decide');
SELECT throws_ok($$SELECT governance.drop_policy('b-permit')$$, '42501', NULL, 'an auditor cannot drop policies');
RESET ROLE;

SET ROLE pol_admin;
SELECT lives_ok($$SELECT governance.create_policy('by-admin', 'permit (principal, action, resource);')$$,
                'an admin creates policies');
SELECT throws_ok($$INSERT INTO governance.policies VALUES ('sneaky', 'permit (principal, action, resource);', 'permit', now(), 'x')$$,
                 '42501', NULL, 'but not by writing the table directly');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
