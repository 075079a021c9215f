-- Issue 17: the schema validator's type checker (src/cedar_typecheck.c,
-- docs/POLICY.md section 9 "Schemas").  With a schema set, create_policy
-- (and replace_policy, create_template, set_schema over stored policies)
-- type-check conditions as Cedar's validator does in strict mode: each
-- rule accepted and refused, Cedar's messages with line and column,
-- capabilities (has guards), known answers that leave code unchecked,
-- request environments; bad input; SAVEPOINT / ROLLBACK TO; privileges.
\ir lib/fixture.sql
BEGIN;
SELECT plan(109);

DO $$
BEGIN
    PERFORM governance.set_schema(NULL);
    PERFORM governance.unlink_template(name) FROM governance.template_links;
    PERFORM governance.drop_template(name) FROM governance.policy_templates;
    PERFORM governance.drop_policy(name) FROM governance.policies;
    PERFORM governance.delete_entity(uid) FROM governance.entities;
END
$$;

SELECT lives_ok($$SELECT governance.set_schema($s$
entity Group;
entity User in [Group] = {
    name: String, age?: Long, roles: Set<String>, boss?: User,
    limits: { daily: decimal, max?: Long }, addr: ipaddr,
    since: datetime, ttl: duration,
};
entity Doc = { owner: User, level: Long };
action "read" appliesTo { principal: [User], resource: [Doc],
    context: { ip: ipaddr, mfa: Bool, n?: Long } };
action "list" appliesTo { principal: [User, Group], resource: [Doc] };
$s$)$$, 'the schema is set');

-- pg_temp.tc(body): what create_policy says of the policy
-- 'permit (principal, action == Action::"read", resource) when { BODY };'
-- (BODY starts at column 63): 'stored', or 'SQLSTATE: message'.  Nothing
-- stays stored.
CREATE FUNCTION pg_temp.tc(body text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN pg_temp.tcp('permit (principal, action == Action::"read", resource) when { ' || body || ' };');
END $$;
CREATE FUNCTION pg_temp.tcp(src text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    BEGIN
        PERFORM governance.create_policy('tc_probe', src);
        r := 'stored';
        RAISE EXCEPTION 'undo' USING ERRCODE = 'GV999';
    EXCEPTION WHEN SQLSTATE 'GV999' THEN
        RETURN r;
    WHEN OTHERS THEN
        RETURN SQLSTATE || ': ' || SQLERRM;
    END;
END $$;

------------------------------------------------------------------------
-- well typed: stored
------------------------------------------------------------------------
SELECT is(pg_temp.tc('context.mfa'), 'stored', 'a Bool attribute');
SELECT is(pg_temp.tc('principal has age && principal.age > 1'), 'stored', 'an optional attribute under a has guard');
SELECT is(pg_temp.tc('principal.limits has max && principal.limits.max == 1'), 'stored', 'a nested optional attribute under its guard');
SELECT is(pg_temp.tc('principal has limits.max && principal.limits.max == 1'), 'stored', 'has with a nested path guards it too');
SELECT is(pg_temp.tc('if context has n then context.n > 1 else false'), 'stored', 'the condition of an if guards its then branch');
SELECT is(pg_temp.tc('principal has boss && principal.boss has age && principal.boss.age > 1'), 'stored', 'guards on an entity attribute''s attributes');
SELECT is(pg_temp.tc('principal.since < datetime("2024-01-01") && principal.ttl >= duration("1h")'), 'stored', '< and >= on datetime and duration');
SELECT is(pg_temp.tc('principal.ttl.toDays() + 1 > 2 * 3 - -1'), 'stored', 'arithmetic on Long, duration accessors');
SELECT is(pg_temp.tc('principal.since.offset(principal.ttl).durationSince(principal.since) == principal.ttl'), 'stored', 'datetime methods');
SELECT is(pg_temp.tc('principal.addr.isInRange(ip("10.0.0.0/8")) || context.ip.isLoopback()'), 'stored', 'ipaddr methods');
SELECT is(pg_temp.tc('principal.limits.daily.lessThan(decimal("1.5"))'), 'stored', 'decimal methods');
SELECT is(pg_temp.tc('principal.roles.contains("a") && principal.roles.containsAny(["a", "b"]) && !principal.roles.isEmpty()'), 'stored', 'set methods');
SELECT is(pg_temp.tc('principal.name like "a*" && principal in Group::"g" && resource.owner == principal'), 'stored', 'like, in, entity equality');
SELECT is(pg_temp.tc('principal == resource'), 'stored', 'entities of two types may be compared (always false)');
SELECT is(pg_temp.tc('1 == "a"'), 'stored', 'two literals may be compared');
SELECT is(pg_temp.tc('{a: 1, b: "x"}.a == 1 && [principal.name, "b"].contains("c")'), 'stored', 'record and set literals');
SELECT is(pg_temp.tc('false && context.mfa + 1 == 2'), 'stored', 'what false && leaves unevaluated is not checked (as Cedar)');
SELECT is(pg_temp.tc('action == Action::"list" && principal.nope'), 'stored', 'nor what the request''s action rules out');
SELECT is(pg_temp.tc('principal.hasTag("t")'), 'stored', 'hasTag (False: User declares no tags)');
SELECT is(pg_temp.tc('principal has age && (principal has age || principal.nope)'), 'stored',
          'a has test a guard already answers is true, and leaves the rest unevaluated');
SELECT is(pg_temp.tcp('permit (principal, action == Action::"read", resource) when { principal has age } when { principal.age > 1 };'),
          'stored', 'a when clause guards the clauses after it');
SELECT is(pg_temp.tcp('permit (principal, action == Action::"list", resource) when { principal is User && principal.name == "" };'),
          'stored', 'each request environment is checked alone: is User guards name for principal Group');

------------------------------------------------------------------------
-- ill typed: refused with Cedar's message, line and column
------------------------------------------------------------------------
SELECT is(pg_temp.tc('context.mfa + 1 == 2'), '42P17: line 1, column 63: unexpected type: expected Long but saw Bool', 'arithmetic on a Bool');
SELECT is(pg_temp.tc('principal.age > 1'),
          '42P17: line 1, column 63: unable to guarantee safety of access to optional attribute `age` on entity type `User`',
          'an optional attribute without a has guard');
SELECT is(pg_temp.tc('principal.age > 1 && principal has age'),
          '42P17: line 1, column 63: unable to guarantee safety of access to optional attribute `age` on entity type `User`',
          'a guard after the access does not guard it');
SELECT is(pg_temp.tc('(principal has age || true) && principal.age > 1'),
          '42P17: line 1, column 94: unable to guarantee safety of access to optional attribute `age` on entity type `User`',
          'a guard under || guards nothing');
SELECT is(pg_temp.tc('!(principal has age) || principal.age > 1'),
          '42P17: line 1, column 87: unable to guarantee safety of access to optional attribute `age` on entity type `User`',
          'nor one under !');
SELECT is(pg_temp.tc('principal has name || principal.age > 1'),
          '42P17: line 1, column 85: unable to guarantee safety of access to optional attribute `age` on entity type `User`',
          'has on an entity is not known true (the entity may not exist)');
SELECT is(pg_temp.tc('principal.limits.max == 1'),
          '42P17: line 1, column 63: unable to guarantee safety of access to optional attribute `limits.max` on entity type `User`',
          'a nested optional attribute');
SELECT is(pg_temp.tc('principal.limits.dayly == 1'),
          '42P17: line 1, column 63: attribute `limits.dayly` on entity type `User` not found', 'a nested attribute typo');
SELECT is(pg_temp.tc('context.nope'), '42P17: line 1, column 63: attribute `nope` in context for Action::"read" not found', 'a context typo');
SELECT is(pg_temp.tc('{a: 1}.b == 1'), '42P17: line 1, column 63: attribute `b` not found', 'an attribute a record literal lacks');
SELECT is(pg_temp.tc('action.x == 1'), '42P17: line 1, column 63: attribute `x` on entity type `Action` not found', 'actions have no attributes');
SELECT is(pg_temp.tc('principal.name == 1'), '42P17: line 1, column 63: the types String and Long are not compatible', '== of two types');
SELECT is(pg_temp.tc('[1, "a"].isEmpty()'), '42P17: line 1, column 63: the types Long and String are not compatible', 'a set of two types');
SELECT is(pg_temp.tc('[principal, resource].isEmpty()'), '42P17: line 1, column 63: the types User and Doc are not compatible', 'a set of two entity types');
SELECT is(pg_temp.tc('[].isEmpty()'), '42P17: line 1, column 63: empty set literals are forbidden in policies', 'an empty set literal');
SELECT is(pg_temp.tc('if context.mfa then 1 else "a"'), '42P17: line 1, column 63: the types Long and String are not compatible', 'if branches of two types');
SELECT is(pg_temp.tc('if context.mfa then 1 else 2'), '42P17: line 1, column 63: unexpected type: expected Bool but saw Long', 'a condition that is not Bool');
SELECT is(pg_temp.tc('if 1 then true else false'), '42P17: line 1, column 66: unexpected type: expected Bool but saw Long', 'an if condition that is not Bool');
SELECT is(pg_temp.tc('principal.name > "a"'),
          '42P17: line 1, column 63: unexpected type: expected datetime, or duration, or Long but saw String', '< on strings');
SELECT is(pg_temp.tc('principal.since < 1'), '42P17: line 1, column 63: unexpected type: expected Long but saw datetime', '< of datetime and Long');
SELECT is(pg_temp.tc('1 in [1]'), '42P17: line 1, column 63: unexpected type: expected an entity but saw Long', 'in on a Long');
SELECT is(pg_temp.tc('principal in [1]'), '42P17: line 1, column 76: unexpected type: expected Set<an entity>, or an entity but saw Set<Long>', 'in a set of Longs');
SELECT is(pg_temp.tc('principal like "a*"'), '42P17: line 1, column 63: unexpected type: expected String but saw User', 'like on an entity');
SELECT is(pg_temp.tc('principal.roles.contains(1)'), '42P17: line 1, column 63: the types Long and String are not compatible', 'contains of another type');
SELECT is(pg_temp.tc('principal.roles.containsAll([1])'), '42P17: line 1, column 63: the types Set<Long> and Set<String> are not compatible', 'containsAll of another type');
SELECT is(pg_temp.tc('principal.name.isEmpty()'), '42P17: line 1, column 63: unexpected type: expected Set but saw String', 'isEmpty on a String');
SELECT is(pg_temp.tc('!principal.name'), '42P17: line 1, column 64: unexpected type: expected Bool but saw String', '! on a String');
SELECT is(pg_temp.tc('-context.mfa == 1'), '42P17: line 1, column 64: unexpected type: expected Long but saw Bool', 'unary - on a Bool');
SELECT is(pg_temp.tc('context.mfa && 1'), '42P17: line 1, column 78: unexpected type: expected Bool but saw Long', '&& of a Long');
SELECT is(pg_temp.tc('decimal(principal.name).lessThan(decimal("1.0"))'),
          '42P17: line 1, column 63: extension constructors may not be called with non-literal expressions', 'a constructor of a non-literal');
SELECT is(pg_temp.tc('decimal("abc").lessThan(decimal("1.0"))'),
          '42P17: line 1, column 63: error during extension function argument validation: failed to parse as a decimal value: `"abc"`',
          'a constructor of a malformed literal');
SELECT is(pg_temp.tc('decimal("1.0").lessThan(1)'), '42P17: line 1, column 87: unexpected type: expected decimal but saw Long', 'a method argument of the wrong type');
SELECT is(pg_temp.tc('context.ip.isIpv4(1)'),
          '42P17: line 1, column 63: wrong number of arguments in extension function application. Expected 1, got 2', 'a method with too many arguments');
SELECT is(pg_temp.tc('principal.getTag("t") == 1'),
          '42P17: line 1, column 63: unable to guarantee safety of access to tag `"t"` on entity type `User`', 'getTag without a hasTag guard (User declares no tags)');
SELECT is(pg_temp.tc('false && Nope::"x" == principal'), '42P17: line 1, column 72: unrecognized entity type Nope',
          'entity types are checked even where never evaluated');
SELECT is(pg_temp.tc('principal is Nope'), '42P17: line 1, column 63: unrecognized entity type Nope', 'is of an undeclared type');
SELECT is(pg_temp.tcp(E'permit (principal, action == Action::"read", resource)\nwhen { true }\nunless { principal.age > 1 };'),
          '42P17: line 3, column 10: unable to guarantee safety of access to optional attribute `age` on entity type `User`',
          'the position on a later line; unless is checked too');
SELECT is(pg_temp.tcp('permit (principal, action == Action::"list", resource) when { principal.name == "" };'),
          '42P17: line 1, column 63: attribute `name` on entity type `Group` not found', 'an attribute one principal type lacks');

------------------------------------------------------------------------
-- the other validated paths
------------------------------------------------------------------------
SELECT lives_ok($$SELECT governance.create_policy('tc_ok', 'permit (principal, action == Action::"read", resource) when { principal has age && principal.age > 17 };')$$,
    'a well-typed policy is stored');
SELECT throws_ok($$SELECT governance.replace_policy('tc_ok', 'permit (principal, action == Action::"read", resource) when { principal.age > 17 };')$$,
    '42P17', 'line 1, column 63: unable to guarantee safety of access to optional attribute `age` on entity type `User`',
    'replace_policy is type-checked');
SELECT throws_ok($$SELECT governance.create_template('tc_t', 'permit (principal == ?principal, action == Action::"read", resource) when { context.mfa + 1 > 0 };')$$,
    '42P17', 'line 1, column 77: unexpected type: expected Long but saw Bool', 'create_template is type-checked');
SELECT throws_ok($$SELECT governance.create_policies('@id("tc_a") permit (principal, action, resource); @id("tc_b") permit (principal, action == Action::"read", resource) when { context.n > 1 };')$$,
    '42P17', NULL, 'create_policies stores none when one is ill typed');
SELECT is((SELECT count(*) FROM governance.policies WHERE name IN ('tc_a', 'tc_b')), 0::bigint, 'none was stored');
SELECT throws_ok($$SELECT governance.set_schema(replace((SELECT source FROM governance.cedar_schema), 'age?: Long', 'age?: String'))$$,
    '42P17', 'stored policy "tc_ok" does not agree with the new Cedar schema: line 1, column 84: unexpected type: expected Long but saw String',
    'set_schema refuses a schema a stored policy is ill typed under');

------------------------------------------------------------------------
-- bad input
------------------------------------------------------------------------
SELECT throws_ok($$SELECT governance.create_policy('tc_null', NULL)$$, '22004', NULL, 'a NULL source');
SELECT throws_ok($$SELECT governance.create_policy('tc_empty', '')$$, '42601', NULL, 'an empty source');
SELECT is(pg_temp.tc(repeat('(', 60) || 'context.mfa + 1' || repeat(')', 60) || ' == 2'),
          '42P17: line 1, column 123: unexpected type: expected Long but saw Bool', 'deep nesting, refused at the right place');
SELECT is(pg_temp.tc((SELECT string_agg(format('User::"u%s" has age && User::"u%s".age > 1', i, i), ' && ') FROM generate_series(1, 3000) i)),
          'stored', 'a long chain of distinct guards (3000) is checked');
SELECT is(pg_temp.tc((SELECT string_agg('context.mfa', ' || ') FROM generate_series(1, 5000) i) || ' || context.n > 1'),
          '42P17: line 1, column 75063: unable to guarantee safety of access to optional attribute `n` in context for Action::"read"',
          'a long || chain, refused at its end');
SELECT is(pg_temp.tc(E'principal.name == "\u00e9\u00e9" && principal.naem == ""'),
          '42P17: line 1, column 89: attribute `naem` on entity type `User` not found', 'columns count characters, not bytes');

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO
------------------------------------------------------------------------
SAVEPOINT before_clear;
SELECT lives_ok($$SELECT governance.set_schema(NULL)$$, 'NULL clears the schema');
SELECT lives_ok($$SELECT governance.create_policy('tc_free', 'permit (principal, action, resource) when { context.mfa + 1 > 0 };')$$,
    'without a schema an ill-typed policy is stored');
ROLLBACK TO SAVEPOINT before_clear;
SELECT is((SELECT count(*) FROM governance.policies WHERE name = 'tc_free'), 0::bigint, 'ROLLBACK TO SAVEPOINT removes it');
SELECT is(pg_temp.tc('context.mfa + 1 > 0'), '42P17: line 1, column 63: unexpected type: expected Long but saw Bool',
          'and the restored schema type-checks again');

------------------------------------------------------------------------
-- a namespaced schema with tags and an enumerated type (h17a's parser):
-- the type checker sees qualified names, NS::Action, declared tag types;
-- every verdict below is Cedar's (cedar-wasm, strict mode)
------------------------------------------------------------------------
DO $$ BEGIN PERFORM governance.drop_policy(name) FROM governance.policies; END $$;
SELECT lives_ok($$SELECT governance.set_schema($s$
namespace App {
  entity User in [Team] = { name: String, nick?: String } tags String;
  entity Team tags { level: Long, note?: String };
  entity Doc;
  entity Color enum ["red", "blue"];
  action "view" appliesTo { principal: [User, Team], resource: [Doc, Color], context: { k: String } };
}
$s$)$$, 'a namespaced schema with tags is set');
-- like tc, with 'permit (principal, action == App::Action::"view", resource) when { BODY };'
-- (BODY starts at column 68)
CREATE FUNCTION pg_temp.tcn(body text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN pg_temp.tcp('permit (principal, action == App::Action::"view", resource) when { ' || body || ' };');
END $$;
SELECT is(pg_temp.tcn('principal is App::User && principal.name == "a"'),
          'stored', 'a namespaced type narrowed by is: its attributes');
SELECT is(pg_temp.tcn('principal.name == "a"'),
          '42P17: line 1, column 68: attribute `name` on entity type `App::Team` not found', 'without is, every principal type must declare the attribute');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag("k") && principal.getTag("k") == "x"'),
          'stored', 'getTag under a hasTag guard of the same entity and key: the declared tag type');
SELECT is(pg_temp.tcn('principal is App::User && principal.getTag("k") == "x"'),
          '42P17: line 1, column 94: unable to guarantee safety of access to tag `"k"` on entity type `App::User`', 'getTag without a hasTag guard is refused (as Cedar''s strict validator)');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag("k") && principal.getTag("j") == "x"'),
          '42P17: line 1, column 119: unable to guarantee safety of access to tag `"j"` on entity type `App::User`', 'a guard of another key does not count');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag(context.k) && principal.getTag(context.k) like "a*"'),
          'stored', 'a key that is a path (context.k) guards as a literal does');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag("k") && principal.getTag("k") == 1'),
          '42P17: line 1, column 119: the types String and Long are not compatible', 'the tag type is declared String: == 1 is refused');
SELECT is(pg_temp.tcn('principal is App::Team && principal.hasTag("t") && principal.getTag("t").level > 1'),
          'stored', 'a record tag type: its required attribute');
SELECT is(pg_temp.tcn('principal is App::Team && principal.hasTag("t") && principal.getTag("t").note == ""'),
          '42P17: line 1, column 119: unable to guarantee safety of access to optional attribute `note` in a tag of entity type `App::Team`', 'its optional attribute needs has, as any record''s');
SELECT is(pg_temp.tcn('principal is App::Team && principal.hasTag("t") && principal.getTag("t") has note && principal.getTag("t").note == ""'),
          'stored', 'has on a getTag path guards it');
SELECT is(pg_temp.tcn('resource.hasTag("k")'),
          'stored', 'hasTag on an entity type without tags: False, accepted');
SELECT is(pg_temp.tcn('resource.hasTag("k") && resource.getTag("k") == 1'),
          'stored', 'False && ...: what it leaves unevaluated is not checked (as Cedar)');
SELECT is(pg_temp.tcn('resource.getTag("k") == 1'),
          '42P17: line 1, column 68: unable to guarantee safety of access to tag `"k"` on entity type `App::Doc`', 'getTag on an entity type without tags is refused');
SELECT is(pg_temp.tcn('principal is App::User && (principal.hasTag("k") || principal.getTag("k") == "x")'),
          '42P17: line 1, column 120: unable to guarantee safety of access to tag `"k"` on entity type `App::User`', 'a guard under || does not count');
SELECT is(pg_temp.tcn('if principal is App::User && principal.hasTag("k") then principal.getTag("k") == "x" else false'),
          'stored', 'a guard in the condition of an if counts in its then branch');
SELECT is(pg_temp.tcn('resource == App::Color::"green"'),
          '42P17: line 1, column 80: entity App::Color::"green" is not one of the enumerated entities of type App::Color', 'an id an enumerated type does not list is refused in a condition');
SELECT is(pg_temp.tcn('resource == App::Color::"red"'),
          'stored', 'an id it lists is accepted');
SELECT is(pg_temp.tcn('action in [App::Action::"view"]'),
          'stored', 'a namespaced action in a condition');
SELECT is(pg_temp.tcn('action == Action::"view"'),
          '42P17: line 1, column 78: unrecognized action Action::"view"', 'an unqualified action is the empty namespace''s: not declared here');
SELECT is(pg_temp.tcn('principal.hasTag(1)'),
          '42P17: line 1, column 85: unexpected type: expected String but saw Long', 'hasTag takes a String');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag("k") && !(principal.getTag("k") == "x")'),
          'stored', 'a guard counts under a later !');
SELECT is(pg_temp.tcn('principal is App::User && !principal.hasTag("k") && principal.getTag("k") == "x"'),
          '42P17: line 1, column 120: unable to guarantee safety of access to tag `"k"` on entity type `App::User`', 'a guard under ! does not count');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag("k" + "") && principal.getTag("k") == "x"'),
          '42P17: line 1, column 111: unexpected type: expected Long but saw String', 'a computed key never matches (Cedar: a type error here anyway)');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag("k") && principal.hasTag("k")'),
          'stored', 'a repeated hasTag is accepted');
SELECT is(pg_temp.tcn('App::User::"a".hasTag("k") && App::User::"a".getTag("k") == "x"'),
          'stored', 'an entity literal''s tags, guarded');
SELECT is(pg_temp.tcn('principal is App::User && principal.hasTag(principal.name) && principal.getTag(principal.name) == "x"'),
          'stored', 'a key that is an attribute path guards its getTag');
SELECT lives_ok($$SELECT governance.create_policy('tc_tagged',
    'permit (principal is App::User, action, resource) when { principal.hasTag("k") && principal.getTag("k") like "a*" };')$$,
    'a tagged policy is stored');
SELECT throws_ok($$SELECT governance.set_schema(replace((SELECT source FROM governance.cedar_schema), '} tags String;', '} tags Long;'))$$,
    '42P17', NULL, 'a schema whose tag type it misuses (like on Long) is refused while it is stored');
SELECT lives_ok($$SELECT governance.set_schema(replace((SELECT source FROM governance.cedar_schema), '} tags String;', '};'))$$,
    'without tags its hasTag is False and its getTag never read: accepted, as Cedar does');

------------------------------------------------------------------------
-- privileges
------------------------------------------------------------------------
SELECT pg_temp.drop_roles(ARRAY['tc_agent', 'tc_auditor']);
CREATE ROLE tc_agent IN ROLE governance_agent;
CREATE ROLE tc_auditor IN ROLE governance_auditor;
SET ROLE tc_agent;
SELECT throws_ok($$SELECT governance.create_policy('tc_x', 'permit (principal, action == Action::"read", resource) when { context.mfa };')$$,
    '42501', NULL, 'an agent cannot create a policy, well typed or not');
RESET ROLE;
SET ROLE tc_auditor;
SELECT throws_ok($$SELECT governance.create_policy('tc_x', 'permit (principal, action == Action::"read", resource) when { context.mfa + 1 };')$$,
    '42501', NULL, 'nor can an auditor (privileges come before validation)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
