-- Issue 17: Cedar schema formats and request validation.  The
-- human-readable format with namespaces (names qualified, references
-- resolved in the current namespace, then the empty one), common types
-- (cycles refused), entity tags, enumerated entity types, annotations and
-- string escapes; Cedar's JSON schema format (errors with line and
-- column); requests checked against the schema by decide(), explain()
-- and authorize() (22023 naming the attribute, nothing issued, the refusal
-- ledgered); bad input; privileges; SAVEPOINT / ROLLBACK TO.
-- test/cedar/validation.cjs compares the same features with cedar-wasm.
\ir lib/fixture.sql
\ir lib/poll.sql
BEGIN;
SELECT plan(80);

DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['fm43_bot', 'fm43_auditor']);
    PERFORM governance.set_schema(NULL);
    PERFORM governance.unlink_template(name) FROM governance.template_links;
    PERFORM governance.drop_template(name) FROM governance.policy_templates;
    PERFORM governance.drop_policy(name) FROM governance.policies;
    PERFORM governance.delete_entity(uid) FROM governance.entities;
END
$$;

CREATE TEMP TABLE src(name text PRIMARY KEY, body text);
INSERT INTO src VALUES ('human', $s$
// a namespaced schema: common types, tags, an enumerated type, annotations
@doc("the application")
namespace App::Core {
    type Address = { city: String, zip?: Long };
    @doc("people") entity User in [Group, Team] = {
        name: String,
        @doc("where") addr: Address,
        friend?: User,
        "na\u{6d}e2"?: String,
    } tags String;
    entity Group;
    entity Color enum ["red", "gr\x65en", "blue"];
    action "read" appliesTo { principal: [User], resource: [Color, Doc], context: Ctx };
    action write in ["read"] appliesTo { principal: User, resource: Doc };
    action audit in [App::Core::Action::"read"] appliesTo { principal: User, resource: Doc };
}
type Ctx = { mfa: Bool, ip?: ipaddr, who?: App::Core::User };
entity Team;
entity Doc = { owner: App::Core::User, color: App::Core::Color };
$s$);
INSERT INTO src VALUES ('json', $j$
{
  "Shop": {
    "annotations": { "doc": "a shop" },
    "commonTypes": {
      "Ctx": { "type": "Record", "attributes": {
        "amount": { "type": "Long" },
        "ip": { "type": "Extension", "name": "ipaddr", "required": false } } }
    },
    "entityTypes": {
      "Agent": { "memberOfTypes": ["Group"], "shape": { "type": "Record", "attributes": {
        "name": { "type": "String" },
        "roles": { "type": "Set", "element": { "type": "String" } },
        "boss": { "type": "Entity", "name": "Agent", "required": false } } },
        "tags": { "type": "Long" } },
      "Group": {},
      "Account": { "shape": { "type": "Record", "attributes": { "tier": { "type": "EntityOrCommon", "name": "Tier" } } } },
      "Tier": { "enum": ["gold", "silver"] }
    },
    "actions": {
      "pay": { "appliesTo": { "principalTypes": ["Agent"], "resourceTypes": ["Account"], "context": { "type": "Ctx" } } },
      "refund": { "memberOf": [{ "id": "pay" }], "appliesTo": { "principalTypes": ["Agent"], "resourceTypes": ["Account"] } }
    }
  },
  "": { "entityTypes": { "Top": {} }, "actions": {} }
}
$j$);

------------------------------------------------------------------------
-- the human-readable format: namespaces, common types, tags, enums
------------------------------------------------------------------------
SELECT lives_ok($$SELECT governance.set_schema((SELECT body FROM src WHERE name = 'human'))$$,
    'a schema with a namespace, common types, tags, an enum, annotations and escapes is set');
SELECT lives_ok($$SELECT governance.create_policy('fm43_q',
    'permit (principal is App::Core::User, action == App::Core::Action::"read", resource) when { context.mfa && principal.addr.city == "Oslo" };')$$,
    'a policy with qualified names and a common-type context agrees');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal is User, action == App::Core::Action::"read", resource);')$$,
    '42P17', 'line 1, column 9: unrecognized entity type User', 'an unqualified name is the empty namespace''s');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action == Action::"read", resource);')$$,
    '42P17', 'line 1, column 20: unrecognized action Action::"read"', 'so is an unqualified action');
SELECT lives_ok($$SELECT governance.create_policy('fm43_w',
    'permit (principal, action in App::Core::Action::"read", resource is Doc) when { resource.owner == principal };')$$,
    'an action group and a type of the empty namespace referenced from the namespace');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action == App::Core::Action::"read", resource) when { context.mfaa };')$$,
    '42P17', 'line 1, column 74: attribute `mfaa` in context for App::Core::Action::"read" not found',
    'a typo in a context of a common type');
SELECT lives_ok($$SELECT governance.create_policy('fm43_e',
    'permit (principal, action == App::Core::Action::"write", resource) when { principal has name2 && principal.name2 == "x" };')$$,
    'an attribute declared with escapes ("na\u{6d}e2") is name2 (optional: read under its has guard)');
SELECT lives_ok($$SELECT governance.put_entity('App::Core::Color::"green"', '{}', '{}')$$,
    'an enumerated entity (declared as "gr\x65en")');
SELECT throws_ok($$SELECT governance.put_entity('App::Core::Color::"pink"', '{}', '{}')$$, '22023',
    'entity App::Core::Color::"pink" is not one of the enumerated entities of type App::Core::Color',
    'an id the enum does not list');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action, resource == App::Core::Color::"pink");')$$,
    '42P17', 'line 1, column 28: entity App::Core::Color::"pink" is not one of the enumerated entities of type App::Core::Color',
    'nor in a policy scope');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action, resource) when { resource == App::Core::Color::"pink" };')$$,
    '42P17', NULL, 'nor in a condition');
SELECT lives_ok($$SELECT governance.put_entity('App::Core::User::"ann"', ARRAY['App::Core::Group::"g"', 'Team::"t"'],
    '{"name": "ann", "addr": {"city": "Oslo"}}', '{"level": "high"}')$$,
    'a user with parents of two namespaces, a common-type attribute and a String tag');
SELECT throws_ok($$SELECT governance.put_entity('App::Core::User::"bob"', '{}', '{"name": "bob", "addr": {"city": 1}}')$$,
    '22023', 'attribute city should be String, found integer', 'a common type''s attribute of the wrong kind');
SELECT throws_ok($$SELECT governance.put_entity('App::Core::User::"bob"', '{}', '{"name": "bob", "addr": {"city": "x"}}', '{"level": 3}')$$,
    '22023', 'attribute level should be String, found integer', 'a tag of the wrong kind');
SELECT throws_ok($$SELECT governance.put_entity('App::Core::Group::"h"', '{}', '{}', '{"level": "x"}')$$,
    '22023', 'entity type App::Core::Group declares no tags (tag level)', 'tags on a type that declares none');
SELECT throws_ok($$SELECT governance.set_schema(replace((SELECT body FROM src WHERE name = 'human'), '} tags String;', '} tags Long;'))$$,
    '42P17', 'stored entity App::Core::User::"ann" does not agree with the new Cedar schema: attribute level should be Long, found string',
    'a schema the tags of a stored entity disagree with is refused');
SELECT throws_ok($$SELECT governance.put_entity('Doc::"d"', '{}', '{"owner": {"__entity": "App::Core::User::\"ann\""}, "color": {"__entity": "App::Core::Color::\"pink\""}}')$$,
    '22023', 'attribute color: App::Core::Color::"pink" is not one of the enumerated entities of its type',
    'an attribute naming an entity the enum does not list');

------------------------------------------------------------------------
-- requests: decide(), explain(), authorize()
------------------------------------------------------------------------
SELECT is((SELECT decision FROM governance.decide('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"red"',
    '{"mfa": true, "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}}')), 'allow',
    'a request that agrees is decided');
SELECT throws_ok($$SELECT governance.decide('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"red"', '{}')$$,
    '22023', 'request does not agree with the Cedar schema: context for action App::Core::Action::"read": required attribute mfa is missing',
    'a required context attribute missing');
SELECT throws_ok($$SELECT governance.decide('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"red"', '{"mfa": "yes"}')$$,
    '22023', 'request does not agree with the Cedar schema: context for action App::Core::Action::"read": attribute mfa should be Bool, found string',
    'a context attribute of the wrong kind');
SELECT throws_ok($$SELECT governance.decide('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"red"', '{"mfa": true, "amount": 1}')$$,
    '22023', 'request does not agree with the Cedar schema: context for action App::Core::Action::"read": attribute amount is not declared',
    'an undeclared context attribute');
SELECT throws_ok($$SELECT governance.decide('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"red"', '{"mfa": true, "who": {"__entity": "Doc::\"d\""}}')$$,
    '22023', 'request does not agree with the Cedar schema: context for action App::Core::Action::"read": attribute who should be an entity of type App::Core::User, found one of type Doc',
    'a context entity of the wrong type');
SELECT throws_ok($$SELECT governance.decide('App::Core::Group::"g"', 'App::Core::Action::"read"', 'App::Core::Color::"red"', '{"mfa": true}')$$,
    '22023', 'request does not agree with the Cedar schema: principal type App::Core::Group is not valid for action App::Core::Action::"read" (its appliesTo)',
    'a principal type the action does not apply to');
SELECT throws_ok($$SELECT governance.decide('App::Core::User::"ann"', 'App::Core::Action::"write"', 'App::Core::Color::"red"', '{}')$$,
    '22023', 'request does not agree with the Cedar schema: resource type App::Core::Color is not valid for action App::Core::Action::"write" (its appliesTo)',
    'a resource type the action does not apply to');
SELECT throws_ok($$SELECT governance.decide('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"pink"', '{"mfa": true}')$$,
    '22023', 'request does not agree with the Cedar schema: entity App::Core::Color::"pink" is not one of the enumerated entities of its type',
    'a resource the enum does not list');
SELECT throws_ok($$SELECT governance.decide('App::Core::User::"ann"', 'read', 'App::Core::Color::"red"', '{"mfa": true}')$$,
    '22023', 'request does not agree with the Cedar schema: request''s action Action::"read" is not declared in the schema',
    'an undeclared action');
SELECT throws_ok($$SELECT * FROM governance.explain('App::Core::User::"ann"', 'App::Core::Action::"write"', 'Doc::"d"', '{"x": 1}')$$,
    '22023', 'request does not agree with the Cedar schema: context attribute x is not declared for action App::Core::Action::"write"',
    'explain() checks the request too');
SELECT throws_ok(format($$SELECT governance.decide('App::Core::User::"ann"', 'App::Core::Action::"write"', 'Doc::"d"', %L)$$,
    (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 20000) g)),
    '22023', NULL, 'a huge context is refused');

-- authorize(): refused, nothing issued, the refusal ledgered (it survives the error)
CREATE ROLE fm43_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('App::Core::User::"ann"', 'fm43_bot') \gset
SELECT count(*) AS leases0 FROM governance.leases \gset
SET ROLE fm43_bot;
SELECT throws_ok($$SELECT * FROM governance.authorize('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"red"', '{"mfa": 1}')$$,
    '22023', 'request does not agree with the Cedar schema: context for action App::Core::Action::"read": attribute mfa should be Bool, found integer',
    'authorize() refuses a request the schema refuses');
SELECT is((SELECT decision FROM governance.authorize('App::Core::User::"ann"', 'App::Core::Action::"read"', 'App::Core::Color::"red"', '{"mfa": true}')),
    'allow', 'and allows one that agrees');
-- (delegate() shares the check and the ledgering, in authz.c decide(); its
-- parent lease is live only once committed, so this file cannot test it)
RESET ROLE;
SELECT is((SELECT count(*) FROM governance.leases), :leases0 + 1::bigint, 'only the request that agreed got a lease');
SELECT ok(pg_temp.poll($$SELECT EXISTS (SELECT 1 FROM governance.ledger WHERE kind = 'governance.authorize'
    AND principal = 'App::Core::User::"ann"' AND payload ->> 'decision' = 'deny'
    AND payload ->> 'reasons' LIKE '%does not agree with the Cedar schema%mfa should be Bool%')$$),
    'the refusal is ledgered as a deny, naming the attribute');

------------------------------------------------------------------------
-- bad human-readable schemas
------------------------------------------------------------------------
SELECT throws_ok($$SELECT governance.set_schema('type A = B; type B = { a: A }; entity E;')$$, '42601',
    'schema line 1, column 27: common type A is defined in terms of itself', 'a cycle of common types');
SELECT throws_ok($$SELECT governance.set_schema('type A = A;')$$, '42601',
    'schema line 1, column 10: common type A is defined in terms of itself', 'a common type naming itself');
SELECT throws_ok($$SELECT governance.set_schema('entity E = { x: Nope::T };')$$, '42601',
    'schema line 1, column 17: unknown type Nope::T', 'an unknown namespace');
SELECT throws_ok($$SELECT governance.set_schema('namespace N { entity E; } entity F in [E];')$$, '42601',
    'schema line 1, column 40: unknown entity type E', 'the empty namespace does not see into N');
SELECT throws_ok($$SELECT governance.set_schema('namespace N { entity E; } namespace N { entity F; }')$$, '42601',
    'schema line 1, column 27: namespace N declared twice', 'a namespace declared twice');
SELECT throws_ok($$SELECT governance.set_schema('type Long = String;')$$, '42601',
    'schema line 1, column 6: common type name Long is reserved', 'a reserved common type name');
SELECT throws_ok($$SELECT governance.set_schema('type T = Long; entity T;')$$, '42601',
    'schema line 1, column 23: the name T is both a common type and an entity type', 'an entity type named like a common type');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { "a\q": Long };')$$, '42601',
    'schema line 1, column 16: invalid escape \q', 'an escape Cedar does not have');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { "\u{d800}": Long };')$$, '42601',
    'schema line 1, column 15: invalid escape: \u{...} takes one to six hex digits naming a Unicode scalar value',
    'an escaped surrogate');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { "\x80": Long };')$$, '42601',
    'schema line 1, column 15: invalid escape: \x takes two hex digits, at most \x7f', '\x beyond ASCII');
SELECT throws_ok($$SELECT governance.set_schema('entity C enum ["a", "a"];')$$, '42601',
    'schema line 1, column 21: enum id "a" appears twice', 'an enum id twice');
SELECT throws_ok($$SELECT governance.set_schema('entity U; action r appliesTo { principal: U, resource: U, context: Long };')$$, '42601',
    'schema line 1, column 68: an action''s context must be a record type', 'a context that is no record');
SELECT throws_ok($$SELECT governance.set_schema('action a in b; action b in c; action c in a;')$$, '42601',
    'schema line 1, column 43: action "a" is in a cycle of the action hierarchy', 'a cycle of actions');
SELECT throws_ok($$SELECT governance.set_schema('{"": {"entityTypes": {}, "actions": {"a": {"memberOf": [{"id": "a"}]}}}}')$$, '42601',
    'schema line 1, column 57: action "a" is in a cycle of the action hierarchy', 'an action its own parent (JSON)');
SELECT throws_ok($$SELECT governance.set_schema('@doc( entity A;')$$, '42601',
    'schema line 1, column 7: expected a string in the annotation, found "entity"', 'a broken annotation');
SELECT throws_ok($$SELECT governance.set_schema(string_agg(format('type A%s = A%s; ', g, g + 1), '') || 'type A301 = Long;')
    FROM generate_series(1, 300) g$$, '42601', NULL, 'a chain of common types deeper than the nesting limit');

------------------------------------------------------------------------
-- the JSON format
------------------------------------------------------------------------
DO $$
BEGIN
    PERFORM governance.delete_entity(uid) FROM governance.entities;
    PERFORM governance.drop_policy(name) FROM governance.policies;
END
$$;
SELECT lives_ok($$SELECT governance.set_schema((SELECT body FROM src WHERE name = 'json'))$$,
    'a schema in the JSON format is set (detected by its "{")');
SELECT is((SELECT source FROM governance.cedar_schema), (SELECT body FROM src WHERE name = 'json'), 'and stored as written');
SELECT lives_ok($$SELECT governance.put_entity('Shop::Agent::"a"', ARRAY['Shop::Group::"g"'],
    '{"name": "a", "roles": ["x"], "boss": {"__entity": "Shop::Agent::\"b\""}}', '{"limit": 5}')$$,
    'an entity that agrees with the JSON schema (an Entity attribute, a Set, Long tags)');
SELECT throws_ok($$SELECT governance.put_entity('Shop::Agent::"b"', '{}', '{"name": "b", "roles": [1]}')$$,
    '22023', 'attribute roles should be String, found integer', 'a Set element of the wrong kind');
SELECT throws_ok($$SELECT governance.put_entity('Shop::Account::"x"', '{}', '{"tier": {"__entity": "Shop::Tier::\"bronze\""}}')$$,
    '22023', 'attribute tier: Shop::Tier::"bronze" is not one of the enumerated entities of its type',
    'an EntityOrCommon naming an enumerated type');
SELECT lives_ok($$SELECT governance.create_policy('fm43_j',
    'permit (principal, action in Shop::Action::"pay", resource is Shop::Account) when { principal.name == "a" };')$$,
    'a policy that agrees with the JSON schema');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action == Shop::Action::"pay", resource) when { context.amout > 1 };')$$,
    '42P17', 'line 1, column 68: attribute `amout` in context for Shop::Action::"pay" not found', 'a typo against the JSON schema');
SELECT is((SELECT decision FROM governance.decide('Shop::Agent::"a"', 'Shop::Action::"pay"', 'Shop::Account::"x"', '{"amount": 5}')),
    'allow', 'a request that agrees with the JSON schema');
SELECT throws_ok($$SELECT governance.decide('Shop::Agent::"a"', 'Shop::Action::"pay"', 'Shop::Account::"x"', '{"amount": "5"}')$$,
    '22023', 'request does not agree with the Cedar schema: context for action Shop::Action::"pay": attribute amount should be Long, found string',
    'a request the JSON schema refuses');

-- bad JSON schemas: each error has a line and column
SELECT throws_ok($$SELECT governance.set_schema(E'{"A": {"entityTypes": {},\n "actions": {}}')$$, '42601',
    'schema line 2, column 16: expected "," or "}"', 'unbalanced JSON');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {"U": {"bogus": 1}}, "actions": {}}}')$$, '42601',
    'schema line 1, column 30: unknown field "bogus" in an entity type', 'an unknown field');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {"U": {"shape": "x"}}, "actions": {}}}')$$, '42601',
    'schema line 1, column 39: a type must be an object, found a string', 'a type that is no object');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {"U": {"shape": {"type": "Long"}}}, "actions": {}}}')$$, '42601',
    'schema line 1, column 39: an entity''s shape must be a Record type', 'a shape that is no record');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {"U": {}, "U": {}}, "actions": {}}}')$$, '42601',
    'schema line 1, column 33: key "U" appears twice in a JSON object', 'a duplicate key');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {"U": {"memberOfTypes": ["B::V"]}}, "actions": {}}}')$$, '42601',
    'schema line 1, column 48: unknown entity type B::V', 'an unknown namespace in memberOfTypes');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"commonTypes": {"T": {"type": "S"}, "S": {"type": "T"}}, "entityTypes": {}, "actions": {}}}')$$, '42601',
    'schema line 1, column 58: common type A::T is defined in terms of itself', 'a cycle of JSON common types');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {}, "actions": {"a": {"memberOf": [{"id": "b"}]}}}}')$$, '42601',
    'schema line 1, column 58: unknown action A::Action::"b"', 'an unknown parent action');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": {"x": {"type": "Set"}}}}}, "actions": {}}}')$$, '42601',
    'schema line 1, column 78: a Set type needs an "element" type', 'a Set without an element');
SELECT throws_ok($$SELECT governance.set_schema('{"A": {"entityTypes": {}}}')$$, '42601',
    'schema line 1, column 7: a namespace needs "actions" (it may be {})', 'a namespace without actions');
SELECT throws_ok($$SELECT governance.set_schema('{"A b": {"entityTypes": {}, "actions": {}}}')$$, '42601',
    'schema line 1, column 2: namespace "A b" is not a valid name', 'a namespace that is no name');
SELECT throws_ok($$SELECT governance.set_schema('{"": {"entityTypes": {}, "actions": {}}} []')$$, '42601',
    'schema line 1, column 42: unexpected text after the JSON schema', 'text after the JSON');
SELECT throws_ok($$SELECT governance.set_schema('{"a": ' || repeat('[', 100000))$$, '42601',
    'schema line 1, column 207: JSON nested too deeply (the limit is 200 levels)', 'JSON nesting is bounded');
SELECT throws_ok($$SELECT governance.set_schema('{"": {"entityTypes": {"U\u0000": {}}, "actions": {}}}')$$, '42601',
    NULL, 'an escaped NUL in a name is refused');
SELECT throws_ok($$SELECT governance.set_schema('{' || repeat(' ', 1024 * 1024) || '}')$$, '54000',
    'Cedar schema is too large', 'a huge JSON schema is refused');
SELECT is((SELECT source FROM governance.cedar_schema), (SELECT body FROM src WHERE name = 'json'),
    'refused schemas leave the one set in place');

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO: the request check follows the schema back
------------------------------------------------------------------------
SAVEPOINT other;
DO $$
BEGIN
    PERFORM governance.delete_entity(uid) FROM governance.entities;
    PERFORM governance.drop_policy(name) FROM governance.policies;
END
$$;
SELECT lives_ok($$SELECT governance.set_schema('{}')$$, 'an empty JSON schema');
SELECT throws_ok($$SELECT governance.decide('Shop::Agent::"a"', 'Shop::Action::"pay"', 'Shop::Account::"x"', '{"amount": 5}')$$,
    '22023', 'request does not agree with the Cedar schema: request''s action Shop::Action::"pay" is not declared in the schema',
    'declares no action');
ROLLBACK TO SAVEPOINT other;
SELECT is((SELECT decision FROM governance.decide('Shop::Agent::"a"', 'Shop::Action::"pay"', 'Shop::Account::"x"', '{"amount": 5}')),
    'allow', 'ROLLBACK TO SAVEPOINT: requests are checked against the schema restored');
SAVEPOINT cleared;
SELECT lives_ok($$SELECT governance.set_schema(NULL)$$, 'clearing the schema');
SELECT is((SELECT decision FROM governance.decide('Shop::Agent::"a"', 'Shop::Action::"pay"', 'Shop::Account::"x"', '{"amount": "x", "y": 1}')),
    'allow', 'without a schema no request is checked');
ROLLBACK TO SAVEPOINT cleared;

------------------------------------------------------------------------
-- privileges
------------------------------------------------------------------------
CREATE ROLE fm43_auditor IN ROLE governance_auditor;
SET ROLE fm43_bot;
SELECT throws_ok($$SELECT governance.set_schema('{"": {"entityTypes": {}, "actions": {}}}')$$, '42501', NULL,
    'an agent cannot set a JSON schema');
RESET ROLE;
SET ROLE fm43_auditor;
SELECT throws_ok($$SELECT governance.set_schema('namespace N { entity E; }')$$, '42501', NULL,
    'nor can an auditor set a namespaced one');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
