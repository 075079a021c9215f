-- Issue 17: the rest of Cedar's language, one case per row (the same
-- harness as 20_policy_conformance.sql: each case creates its policies p1,
-- p2, ... in a subtransaction, asks decide() and explain(), and rolls
-- back; the summary is <decision> <determining> [ | <policy>: <error> ]...).
-- The differential test against Cedar itself is test/cedar.
\ir lib/fixture.sql
BEGIN;
SELECT plan(37);

DO $$
BEGIN
    PERFORM governance.drop_policy(name) FROM governance.policies;
    PERFORM governance.delete_entity(uid) FROM governance.entities;
END
$$;

CREATE FUNCTION pg_temp.ent(uid text, parents text[], attrs jsonb DEFAULT '{}')
RETURNS void LANGUAGE sql AS $$ SELECT governance.put_entity(uid, parents, attrs) $$;

DO $$ BEGIN PERFORM pg_temp.ent('User::"alice"', ARRAY['Group::"billing"'],
    '{"level": 5, "tags": ["a", "b"], "manager": {"__entity": "User::\"bob\""},
      "profile": {"age": 30, "name": "Alice A"}}'); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('User::"bob"', ARRAY['Group::"admins"'], '{"level": 9}'); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Group::"billing"', ARRAY['Group::"finance"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Doc::"1"', ARRAY['Folder::"shared"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent(format('L::"%s"', i), ARRAY[format('L::"%s"', i + 1)])
  FROM generate_series(0, 39) AS i; END $$;

CREATE FUNCTION pg_temp.run(policies text[], principal text, action text, resource text,
                            context jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    i int;
    d record;
    errs text;
    res text;
BEGIN
    BEGIN
        FOR i IN 1 .. coalesce(array_length(policies, 1), 0) LOOP
            PERFORM governance.create_policy('p' || i, policies[i]);
        END LOOP;
        SELECT * INTO d FROM governance.decide(principal, action, resource, context);
        SELECT string_agg(' | ' || x.policy || ': ' || x.error, '' ORDER BY x.policy)
          INTO errs
          FROM governance.explain(principal, action, resource, context) x
         WHERE x.error IS NOT NULL;
        res := d.decision || ' ' || d.determining::text || coalesce(errs, '');
        -- roll the case back, carrying the result out
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'case done', DETAIL = res;
    EXCEPTION WHEN raise_exception THEN
        GET STACKED DIAGNOSTICS res = PG_EXCEPTION_DETAIL;
    END;
    RETURN res;
END
$$;

-- alice reads Doc 1: the request most cases use
CREATE FUNCTION pg_temp.alice(policies text[], context jsonb DEFAULT '{}')
RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.run(policies, 'User::"alice"', 'read', 'Doc::"1"', context)
$$;


------------------------------------------------------------------------
-- is: in the scope, with in, and in conditions
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal is User, action, resource is Doc);$$]),
          'allow {p1}', 'scope: principal is User, resource is Doc');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal is Group, action, resource);$$]),
          'deny {}', 'scope: principal is Group does not hold for a User');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal is User in Group::"finance", action, resource);$$]),
          'allow {p1}', 'scope: is ... in an ancestor');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal is User in Group::"admins", action, resource);$$]),
          'deny {}', 'scope: is ... in, the type right but not the ancestor');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal is Usr in Group::"finance", action, resource);$$]),
          'deny {}', 'scope: is ... in, the ancestor right but not the type');
SELECT is(pg_temp.run(ARRAY[$$permit (principal is Org::Team, action, resource);$$], 'Org::Team::"t"', 'read', 'Doc::"1"'),
          'allow {p1}', 'a namespaced type is the whole path');
SELECT is(pg_temp.run(ARRAY[$$permit (principal is Org, action, resource);$$], 'Org::Team::"t"', 'read', 'Doc::"1"'),
          'deny {}', 'a prefix of the path is another type');
SELECT is(pg_temp.run(ARRAY[$$forbid (principal is Group in L::"40", action, resource);$$,
                            $$permit (principal, action, resource);$$], 'L::"0"', 'read', 'Doc::"1"'),
          'allow {p2}', 'a type that differs settles is ... in before the hierarchy is walked');
SELECT is(pg_temp.run(ARRAY[$$forbid (principal is L in L::"40", action, resource);$$], 'L::"0"', 'read', 'Doc::"1"'),
          'deny {p1} | p1: the ancestors of L::"0" go deeper than governance.max_entity_depth (32)',
          'the same type walks the hierarchy, and too deep is an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal is User && !(resource is User) };$$]),
          'allow {p1}', 'is in a condition');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.manager is User in [Group::"admins"] };$$]),
          'allow {p1}', 'is ... in a set, on an attribute');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { User::"nobody" is User };$$]),
          'allow {p1}', 'is needs no entity in the store');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.level is User };$$]),
          'deny {} | p1: type error: "is" expects an entity, found an integer', 'is on an integer is a type error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal is Group in principal.nope };$$]),
          'deny {}', 'is ... in does not evaluate its right side when the type differs');

------------------------------------------------------------------------
-- isEmpty, record literals, has with a path
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { [].isEmpty() && !principal.tags.isEmpty() };$$]),
          'allow {p1}', 'isEmpty');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.level.isEmpty() };$$]),
          'deny {} | p1: type error: ".isEmpty()" expects a set, found an integer', 'isEmpty of an integer is a type error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { {name: "Alice A", "age": 30} == principal.profile };$$]),
          'allow {p1}', 'a record literal equals the record built from JSON');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { {b: 2, a: [1, 2,],} == {a: [2, 1], b: 2} && {a: 1}.a == 1 };$$]),
          'allow {p1}', 'record literals: key order, trailing commas, attribute access');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { {a: 1} != {a: 1, b: 2} && {a: 1} != {a: "1"} };$$]),
          'allow {p1}', 'records with other keys or values differ');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { {a: context.missing} has b };$$]),
          'deny {} | p1: context has no attribute "missing"', 'a field that fails makes the record fail');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { {a: {b: 1}} has a.b && !({a: {b: 1}} has a.c) };$$]),
          'allow {p1}', 'has with a path');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal has profile.age && !(principal has nope.age) };$$],
                        '{}'),
          'allow {p1}', 'has with a path on an entity; a missing first step is false, not an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal has level.x };$$]),
          'deny {} | p1: type error: "has" expects an entity or a record, found an integer',
          'has with a path through an integer is a type error');

------------------------------------------------------------------------
-- string escapes, trailing commas, annotations, reserved-looking names
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { "\x41\u{42}\x63" == "ABc" && "a\0b" like "a*b" && "a\0b" != "ab" };$$]),
          'allow {p1}', 'the escapes \0 and \x41 and \u{42}');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { User::"a\0" has x || User::"a\0" == principal };$$]),
          'deny {}', 'an entity whose id holds NUL exists nowhere');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action in [Action::"read", Action::"write",], resource,) when { [1, 2,] == [2, 1] };$$]),
          'allow {p1}', 'trailing commas in an action list, the scope and a set');
SELECT is(pg_temp.alice(ARRAY[$$@id("p-one") @advice @if("x") permit (principal, action, resource);$$]),
          'allow {p1}', 'annotations do not change a decision');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.permit && context.when == 1 };$$],
                        '{"permit": true, "when": 1}'),
          'allow {p1}', 'words Cedar does not reserve are names');

------------------------------------------------------------------------
-- annotations: explain() shows them, reasons name them
------------------------------------------------------------------------
SAVEPOINT annotated;
SELECT lives_ok($$SELECT governance.create_policy('ann', '@id("r-1") @advice("read only") @flag
    permit (principal, action, resource);')$$, 'an annotated policy is created');
SELECT is((SELECT annotations FROM governance.explain('User::"alice"', 'read', 'Doc::"1"') WHERE policy = 'ann'),
          '{"id": "r-1", "flag": "", "advice": "read only"}'::jsonb, 'explain() shows the annotations');
SELECT is((SELECT reasons[1] FROM governance.decide('User::"alice"', 'read', 'Doc::"1"')),
          'allowed: permit policy "ann" @id("r-1") @advice("read only") @flag("") matched',
          'the reasons name the policy with its annotations, in source order');
SELECT lives_ok($$SELECT governance.create_policy('plain', 'forbid (principal, action, resource) when { context.stop };')$$,
                'an unannotated policy is created');
SELECT is((SELECT annotations FROM governance.explain('User::"alice"', 'read', 'Doc::"1"') WHERE policy = 'plain'),
          NULL, 'a policy without annotations has NULL');
SELECT is((SELECT reasons FROM governance.decide('User::"alice"', 'read', 'Doc::"1"')),
          ARRAY['denied: forbid policy "plain" failed to evaluate, which counts as a match: context has no attribute "stop"',
                'permit policy "ann" @id("r-1") @advice("read only") @flag("") matched but a forbid overrides it'],
          'and every reason line names them');
SELECT is((SELECT annotations->>'note' FROM (SELECT governance.replace_policy('plain',
              '@note("a\0b") forbid (principal, action, resource) when { false };')) r,
              governance.explain('User::"alice"', 'read', 'Doc::"1"') WHERE policy = 'plain'),
          E'a\uFFFDb', 'a NUL in a value is shown as U+FFFD');
ROLLBACK TO SAVEPOINT annotated;
SELECT is((SELECT count(*) FROM governance.explain('User::"alice"', 'read', 'Doc::"1"')),
          0::bigint, 'ROLLBACK TO SAVEPOINT forgets the annotated policies');
SELECT is((SELECT count(*) FROM pg_proc p WHERE p.oid = 'governance.explain(text,text,text,jsonb)'::regprocedure
             AND has_function_privilege('governance_agent', p.oid, 'EXECUTE')),
          0::bigint, 'agents still may not call explain()');

SELECT * FROM finish();
ROLLBACK;
