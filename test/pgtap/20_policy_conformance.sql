-- Policy semantics, one case per row: each scope form and operator, forbid
-- overrides permit, default deny, errors (an erroring permit does not
-- apply, an erroring forbid denies), hierarchy depth and cycles.
--
-- Each case creates its policies (named p1, p2, ... in the order given) in
-- a subtransaction, asks governance.decide() and governance.explain(), and
-- rolls back.  The summary compared is
--     <decision> <determining policies> [ | <policy>: <error> ]...
-- The whole file runs in one transaction that starts from an empty policy
-- set and entity store and is rolled back at the end.
\ir lib/fixture.sql
BEGIN;
SELECT plan(96);

DO $$
BEGIN
    PERFORM governance.drop_policy(name) FROM governance.policies;
    PERFORM governance.delete_entity(uid) FROM governance.entities;
END
$$;

-- The fixture: users in a group hierarchy, actions, documents in folders,
-- a two-entity cycle, a diamond, and a 41-entity chain L0 -> L1 -> ... -> L40.
CREATE FUNCTION pg_temp.ent(uid text, parents text[], attrs jsonb DEFAULT '{}')
RETURNS void LANGUAGE sql AS $$ SELECT governance.put_entity(uid, parents, attrs) $$;

DO $$ BEGIN PERFORM pg_temp.ent('User::"alice"', ARRAY['Group::"billing"'],
    '{"level": 5, "dept": "finance", "tags": ["a", "b"],
      "manager": {"__entity": "User::\"bob\""},
      "profile": {"age": 30, "name": "Alice A"}, "weird key": 1}'); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('User::"bob"', ARRAY['Group::"admins"'], '{"level": 9}'); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Group::"billing"', ARRAY['Group::"finance"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Group::"finance"', ARRAY['Group::"everyone"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Group::"everyone"', ARRAY[]::text[]); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Group::"admins"', ARRAY['Group::"everyone"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Action::"read"', ARRAY['Action::"readOnly"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Doc::"1"', ARRAY['Folder::"shared"'],
    '{"owner": {"__entity": "User::\"alice\""}, "frozen": false, "classification": "internal"}'); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Folder::"shared"', ARRAY['Folder::"root"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('C::"a"', ARRAY['C::"b"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('C::"b"', ARRAY['C::"a"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('D::"x"', ARRAY['D::"p"', 'D::"q"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('D::"q"', ARRAY['D::"top"']); END $$;
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
-- default deny, effects, forbid overrides permit
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[]::text[]), 'deny {}', 'no policies: default deny');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource);$$]),
          'allow {p1}', 'unconstrained permit allows');
SELECT is(pg_temp.alice(ARRAY[$$forbid (principal, action, resource);$$]),
          'deny {p1}', 'a lone forbid denies and is determining');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource);$$,
                              $$forbid (principal, action, resource);$$]),
          'deny {p2}', 'forbid overrides permit');
SELECT is(pg_temp.alice(ARRAY[$$forbid (principal, action, resource);$$,
                              $$permit (principal, action, resource);$$]),
          'deny {p1}', 'forbid overrides permit whatever the order');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource);$$,
                              $$forbid (principal == User::"bob", action, resource);$$]),
          'allow {p1}', 'a forbid that does not match does not deny');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource);$$,
                              $$permit (principal in Group::"finance", action, resource);$$]),
          'allow {p1,p2}', 'every matching permit is determining');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal == User::"bob", action, resource);$$,
                              $$forbid (principal == User::"bob", action, resource);$$]),
          'deny {}', 'nothing matches: default deny, nothing determining');

------------------------------------------------------------------------
-- scope: principal
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal == User::"alice", action, resource);$$]),
          'allow {p1}', 'principal == matches');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal == User::"bob", action, resource);$$]),
          'deny {}', 'principal == other does not match');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal in Group::"billing", action, resource);$$]),
          'allow {p1}', 'principal in its parent');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal in Group::"everyone", action, resource);$$]),
          'allow {p1}', 'principal in an ancestor three hops up');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal in Group::"admins", action, resource);$$]),
          'deny {}', 'principal in an unrelated group');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal in User::"alice", action, resource);$$]),
          'allow {p1}', 'an entity is in itself');
SELECT is(pg_temp.run(ARRAY[$$permit (principal == Agent::"ghost", action, resource);$$],
                      'Agent::"ghost"', 'read', 'Doc::"1"'),
          'allow {p1}', 'a principal need not be in the entity store for ==');
SELECT is(pg_temp.run(ARRAY[$$permit (principal in Group::"billing", action, resource);$$],
                      'Agent::"ghost"', 'read', 'Doc::"1"'),
          'deny {}', 'an unknown principal has no parents');
SELECT is(pg_temp.run(ARRAY[$$permit (principal == Org::Team::"x", action, resource);$$],
                      'Org::Team::"x"', 'read', 'Doc::"1"'),
          'allow {p1}', 'namespaced entity types');
SELECT is(pg_temp.run(ARRAY[$$permit (principal == User::"o\"ne\\il", action, resource);$$],
                      'User::"o\"ne\\il"', 'read', 'Doc::"1"'),
          'allow {p1}', 'escaped quote and backslash in an entity id');

------------------------------------------------------------------------
-- scope: action
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action == Action::"read", resource);$$]),
          'allow {p1}', 'action == (request action given as the shorthand "read")');
SELECT is(pg_temp.run(ARRAY[$$permit (principal, action == Action::"read", resource);$$],
                      'User::"alice"', 'Action::"read"', 'Doc::"1"'),
          'allow {p1}', 'action == (request action given in full)');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action == Action::"write", resource);$$]),
          'deny {}', 'action == other');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action in [Action::"write", Action::"read"], resource);$$]),
          'allow {p1}', 'action in a list that holds it');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action in [Action::"write", Action::"delete"], resource);$$]),
          'deny {}', 'action in a list without it');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action in [], resource);$$]),
          'deny {}', 'action in an empty list');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action in Action::"readOnly", resource);$$]),
          'allow {p1}', 'action in an action group (through the entity store)');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action in [Action::"x", Action::"readOnly"], resource);$$]),
          'allow {p1}', 'action in a list holding its group');

------------------------------------------------------------------------
-- scope: resource
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource == Doc::"1");$$]),
          'allow {p1}', 'resource ==');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource == Doc::"2");$$]),
          'deny {}', 'resource == other');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource in Folder::"root");$$]),
          'allow {p1}', 'resource in a folder two hops up');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource in Folder::"private");$$]),
          'deny {}', 'resource in an unrelated folder');

------------------------------------------------------------------------
-- when / unless
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { true };$$]),
          'allow {p1}', 'when true');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { false };$$]),
          'deny {}', 'when false');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) unless { true };$$]),
          'deny {}', 'unless true');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) unless { false };$$]),
          'allow {p1}', 'unless false');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { true } when { principal.level > 3 } unless { resource.frozen };$$]),
          'allow {p1}', 'several conditions must all hold');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { principal.level > 3 } when { principal.level > 7 };$$]),
          'deny {}', 'one failing condition is enough');

------------------------------------------------------------------------
-- comparison and logic
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { "abc" == "abc" && "abc" != "abd" };$$]),
          'allow {p1}', 'string == and !=');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { 1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3 && !(2 < 1) && !(1 >= 2) };$$]),
          'allow {p1}', 'integer ordering');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { "a" < "b" };$$]),
          'deny {} | p1: type error: "<" expects two integers, datetimes or durations, found a string and a string',
          'ordering is on integers, datetimes and durations only');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { 1 != "1" && User::"alice" != "User::\"alice\"" };$$]),
          'allow {p1}', 'values of different types are unequal, not an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { !false && !!true };$$]),
          'allow {p1}', 'negation');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { false && context.missing };$$]),
          'deny {}', '&& short-circuits: the right side is not evaluated');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { true || context.missing };$$]),
          'allow {p1}', '|| short-circuits');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { true && context.missing };$$]),
          'deny {} | p1: context has no attribute "missing"', 'an error on the evaluated side');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.flag || false };$$],
                        '{"flag": "yes"}'),
          'deny {} | p1: type error: "||" expects a boolean, found a string', '|| on a non-boolean');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.n };$$], '{"n": 1}'),
          'deny {} | p1: type error: a when condition must be a boolean, found an integer',
          'a condition must be a boolean');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { if principal.level > 3 then true else context.missing };$$]),
          'allow {p1}', 'if-then-else evaluates only the branch taken');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { if 1 then true else false };$$]),
          'deny {} | p1: type error: an if condition must be a boolean, found an integer',
          'if on a non-boolean');

------------------------------------------------------------------------
-- integers
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { 2 + 3 * 4 - 1 == 13 && -5 + 5 == 0 };$$]),
          'allow {p1}', 'arithmetic and precedence');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { 9223372036854775807 + 1 > 0 };$$]),
          'deny {} | p1: integer overflow in "+"', 'overflow is an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.big * 2 > 0 };$$],
                        '{"big": 5000000000000000000}'),
          'deny {} | p1: integer overflow in "*"', 'multiplication overflow');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { -9223372036854775808 < -9223372036854775807 };$$]),
          'allow {p1}', 'the smallest 64-bit integer is a literal');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.amount <= 1000 };$$],
                        '{"amount": 1000.0}'),
          'allow {p1}', 'an integral JSON number is an integer');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.amount <= 1000 };$$],
                        '{"amount": 1.5}'),
          'deny {} | p1: number 1.5 is not an integer', 'a fractional number is an error when used');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.amount <= 1000 };$$],
                        '{"amount": 1e30}'),
          'deny {} | p1: number 1000000000000000000000000000000 is out of range for a 64-bit integer',
          'an out-of-range number is an error when used');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.amount <= 1000 };$$],
                        '{"amount": null}'),
          'deny {} | p1: value is null (JSON null is not a policy value)', 'null is an error when used');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context has amount };$$],
                        '{"amount": null, "junk": 1.5}'),
          'allow {p1}', 'unusable values are harmless when not used');

------------------------------------------------------------------------
-- attributes and has
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.level == 5 && principal.dept == "finance" };$$]),
          'allow {p1}', 'entity attributes');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.salary > 0 };$$]),
          'deny {} | p1: entity User::"alice" has no attribute "salary"', 'a missing entity attribute is an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal["weird key"] == 1 };$$]),
          'allow {p1}', 'attribute access with ["..."]');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { principal.profile.age == 30 && context.req["ip"] == "10.0.0.1" };$$],
                        '{"req": {"ip": "10.0.0.1"}}'),
          'allow {p1}', 'nested records');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context has amount && !(context has other) };$$],
                        '{"amount": 1}'),
          'allow {p1}', 'has on the context');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal has level && !(principal has "salary") };$$]),
          'allow {p1}', 'has on an entity');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { User::"nobody" has level };$$]),
          'deny {}', 'has on an unknown entity is false, not an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { User::"nobody".level == 1 };$$]),
          'deny {} | p1: entity User::"nobody" does not exist', 'attributes of an unknown entity are an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.amount < 10 };$$]),
          'deny {} | p1: context has no attribute "amount"', 'a missing context attribute is an error');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.r1 == context.r2 };$$],
                        '{"r1": {"a": 1, "b": [1, 2]}, "r2": {"b": [2, 1], "a": 1}}'),
          'allow {p1}', 'record equality');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.level.x == 1 };$$]),
          'deny {} | p1: type error: cannot read attribute "x" of an integer', 'attribute of a non-record');

------------------------------------------------------------------------
-- sets and in
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.tags.contains("a") && !principal.tags.contains("c") };$$]),
          'allow {p1}', '.contains');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { principal.tags.containsAll(["b", "a"]) && !principal.tags.containsAll(["a", "c"]) };$$]),
          'allow {p1}', '.containsAll');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { principal.tags.containsAny(["z", "b"]) && !principal.tags.containsAny(["z"]) };$$]),
          'allow {p1}', '.containsAny');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { [1, 2, 2] == [2, 1] && [1] != [1, 2] };$$]),
          'allow {p1}', 'set equality ignores order and duplicates');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.level.contains(1) };$$]),
          'deny {} | p1: type error: ".contains()" expects a set, found an integer', '.contains on a non-set');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal in [Group::"admins", Group::"finance"] };$$]),
          'allow {p1}', 'in a set of entities');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal in [Group::"admins", "finance"] };$$]),
          'deny {} | p1: type error: "in" expects a set of entities, found a set containing a string',
          'in a set that holds a non-entity');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { "alice" in Group::"billing" };$$]),
          'deny {} | p1: type error: "in" expects an entity, found a string', 'in on a non-entity');

------------------------------------------------------------------------
-- entity references in JSON
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { resource.owner == principal };$$]),
          'allow {p1}', 'an {"__entity": ...} attribute is an entity');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { resource.owner in Group::"finance" };$$]),
          'allow {p1}', 'in through an entity attribute');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.who == principal };$$],
                        '{"who": {"__entity": "alice"}}'),
          'deny {} | p1: invalid entity reference: an object with key "__entity" must be {"__entity": "Type::\"id\""}',
          'a malformed entity reference in the context is an error when used');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.who in Group::"billing" };$$],
                        '{"who": {"__entity": "User::\"alice\""}}'),
          'allow {p1}', 'an entity reference in the context');

------------------------------------------------------------------------
-- like and strings
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource)
                                when { resource.classification like "int*" && "x*y" like "x\*y" && !("xay" like "x\*y") && "abcabd" like "*abd" };$$]),
          'allow {p1}', 'like with * and \*');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { principal.level like "5" };$$]),
          'deny {} | p1: type error: "like" expects a string, found an integer', 'like on a non-string');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { "a\"b\\c" like "a\"b\\*" && "\u{e9}" == "é" };$$]),
          'allow {p1}', 'string escapes');

------------------------------------------------------------------------
-- hierarchy depth and cycles (governance.max_entity_depth = 32)
------------------------------------------------------------------------
SELECT is(pg_temp.run(ARRAY[$$permit (principal in L::"32", action, resource);$$], 'L::"0"', 'read', 'Doc::"1"'),
          'allow {p1}', 'membership exactly 32 hops up');
SELECT is(pg_temp.run(ARRAY[$$permit (principal in L::"33", action, resource);$$], 'L::"0"', 'read', 'Doc::"1"'),
          'deny {} | p1: the ancestors of L::"0" go deeper than governance.max_entity_depth (32)',
          'membership beyond the depth bound is an error, so a permit does not apply');
SELECT is(pg_temp.run(ARRAY[$$forbid (principal in L::"40", action, resource);$$,
                            $$permit (principal, action, resource);$$], 'L::"0"', 'read', 'Doc::"1"'),
          'deny {p1} | p1: the ancestors of L::"0" go deeper than governance.max_entity_depth (32)',
          'and a forbid that cannot decide membership denies');
SELECT is(pg_temp.run(ARRAY[$$permit (principal in L::"40", action, resource);$$], 'L::"10"', 'read', 'Doc::"1"'),
          'allow {p1}', 'the bound counts from the entity asked about');
SELECT is(pg_temp.run(ARRAY[$$permit (principal in L::"5", action, resource);$$], 'L::"0"', 'read', 'Doc::"1"'),
          'allow {p1}', 'a close ancestor is found even when the hierarchy is deeper than the bound');
SELECT is(pg_temp.run(ARRAY[$$permit (principal in C::"b", action, resource);$$], 'C::"a"', 'read', 'Doc::"1"'),
          'allow {p1}', 'membership in a cycle');
SELECT is(pg_temp.run(ARRAY[$$permit (principal in C::"zzz", action, resource);$$], 'C::"a"', 'read', 'Doc::"1"'),
          'deny {}', 'a cycle terminates without error');
SELECT is(pg_temp.run(ARRAY[$$permit (principal in D::"top", action, resource);$$], 'D::"x"', 'read', 'Doc::"1"'),
          'allow {p1}', 'membership through the second of two parents');

------------------------------------------------------------------------
-- errors never turn a deny into an allow
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource);$$,
                              $$forbid (principal, action, resource) when { context.missing };$$]),
          'deny {p2} | p2: context has no attribute "missing"', 'an erroring forbid denies');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource);$$,
                              $$forbid (principal, action, resource) unless { context.missing };$$]),
          'deny {p2} | p2: context has no attribute "missing"', 'an erroring unless in a forbid denies');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.missing };$$,
                              $$permit (principal, action, resource);$$]),
          'allow {p2} | p1: context has no attribute "missing"', 'an erroring permit does not apply; others may');
SELECT is(pg_temp.alice(ARRAY[$$permit (principal, action, resource) when { context.missing };$$]),
          'deny {} | p1: context has no attribute "missing"', 'an erroring permit alone does not allow');
SELECT is(pg_temp.alice(ARRAY[$$forbid (principal == User::"bob", action, resource) when { context.missing };$$,
                              $$permit (principal, action, resource);$$]),
          'allow {p2}', 'a forbid whose scope does not match never evaluates its conditions');

SELECT * FROM finish();
ROLLBACK;
