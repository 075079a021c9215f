-- Issue 17 step 5: Cedar schemas.  set_schema() parses Cedar's
-- human-readable schema format (errors with line and column); while a
-- schema is set, create_policy / create_policies / create_template /
-- link_template refuse unknown entity types and actions, scopes no action
-- applies to and undeclared attribute accesses, put_entity / put_entities
-- refuse undeclared types, disallowed parents and attributes of the wrong
-- kind; set_schema refuses a schema stored policies or entities disagree
-- with; NULL clears it; privileges; bad input; SAVEPOINT / ROLLBACK TO;
-- the ledger.
\ir lib/fixture.sql
BEGIN;
SELECT plan(65);

DO $$
BEGIN
    PERFORM governance.set_schema(NULL);
    PERFORM governance.unlink_template(name) FROM governance.template_links;
    PERFORM governance.drop_template(name) FROM governance.policy_templates;
    PERFORM governance.drop_policy(name) FROM governance.policies;
    PERFORM governance.delete_entity(uid) FROM governance.entities;
END
$$;

CREATE FUNCTION pg_temp.last_event() RETURNS governance.ledger LANGUAGE sql AS
$$ SELECT * FROM governance.ledger ORDER BY seq DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.names() RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM governance.policies $$;

CREATE TEMP TABLE schema_src(src text);
INSERT INTO schema_src VALUES ($s$
// documents and the people who read them
entity Group;
entity User in [Group] = {
    name: String,
    age?: Long,
    roles: Set<String>,
    addr: ipaddr,
    boss?: User,
    limits: { daily: decimal, "max-size"?: Long },
};
entity Folder;
entity Doc in Folder { owner: User, level: Long, created: datetime, ttl: duration, public: Bool };
action "read" appliesTo {
    principal: [User],
    resource: [Doc, Folder],
    context: { ip: ipaddr, mfa: Bool }
};
action write in ["read"] appliesTo { principal: User, resource: Doc };
action "admin", audit appliesTo { principal: [Group], resource: [Folder] };
$s$);

------------------------------------------------------------------------
-- the parser: a good schema is stored and ledgered
------------------------------------------------------------------------
SELECT lives_ok($$SELECT governance.set_schema((SELECT src FROM schema_src))$$,
                'a schema with entities, parents, records, sets, optional attributes, extension types and actions is set');
SELECT is((SELECT source FROM governance.cedar_schema), (SELECT src FROM schema_src), 'and stored as written');
SELECT is((pg_temp.last_event()).kind, 'governance.schema.set', 'and ledgered');
SELECT is(length((pg_temp.last_event()).payload ->> 'source_sha3_512'), 128, 'with the hash of the source');

-- the parser: bad schemas, with positions; the schema set stays
SELECT throws_ok($$SELECT governance.set_schema('entity A; entity A;')$$, '42601',
                 'schema line 1, column 18: entity type A declared twice', 'a type declared twice');
SELECT throws_ok($$SELECT governance.set_schema('entity A in B;')$$, '42601',
                 'schema line 1, column 13: unknown entity type B', 'a parent type not declared');
SELECT throws_ok($$SELECT governance.set_schema(E'entity A = {\n  x: Foo };')$$, '42601',
                 'schema line 2, column 6: unknown type Foo', 'an attribute of an unknown type');
SELECT throws_ok($$SELECT governance.set_schema(E'entity A;\n  action "x" appliesTo { principal: A };')$$, '42601',
                 'schema line 2, column 14: appliesTo must declare both principal and resource types',
                 'appliesTo without resource');
SELECT throws_ok($$SELECT governance.set_schema(E'entity A\n;;')$$, '42601',
                 'schema line 2, column 2: expected "entity", "action", "type" or "namespace", found ";"', 'a stray semicolon');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { x: Long, x: String };')$$, '42601',
                 'schema line 1, column 23: attribute "x" declared twice', 'an attribute declared twice');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { x: Set<Long };')$$, '42601',
                 'schema line 1, column 26: expected ">", found "}"', 'an unclosed Set<');
SELECT throws_ok($$SELECT governance.set_schema('entity A; action "x" in ["y"];')$$, '42601',
                 'schema line 1, column 26: unknown action Action::"y"', 'an unknown parent action');
SELECT throws_ok($$SELECT governance.set_schema('entity A; action "x"; action x;')$$, '42601',
                 'schema line 1, column 30: action "x" declared twice', 'an action declared twice (string and identifier)');
SELECT throws_ok($$SELECT governance.set_schema('namespace N { namespace M { entity A; } }')$$, '42601',
                 'schema line 1, column 15: namespaces do not nest',
                 'nested namespaces are refused (43_cedar_schema_formats.sql tests namespaces)');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { "x: Long };')$$, '42601',
                 'schema line 1, column 14: unterminated string', 'an unterminated string');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { x: Long } $')$$, '42601',
                 'schema line 1, column 24: unexpected character ''$''', 'a stray character');
SELECT throws_ok($$SELECT governance.set_schema('entity A = { x: ' || repeat('Set<', 100) || 'Long' || repeat('>', 100) || ' };')$$,
                 '42601', 'schema line 1, column 273: type nested too deeply (the limit is 64 levels)',
                 'nesting is bounded');
SELECT throws_ok($$SELECT governance.set_schema(repeat('entity A; ', 200000))$$, '54000',
                 'Cedar schema is too large', 'a huge schema is refused');
SELECT throws_ok($$SELECT governance.set_schema(E'\u00e9ntity A;')$$, '42601', NULL, 'a non-ASCII keyword');
SELECT is((SELECT source FROM governance.cedar_schema), (SELECT src FROM schema_src),
          'a refused schema leaves the one set in place');
SELECT lives_ok($$SELECT governance.set_schema((SELECT src FROM schema_src))$$, 'setting the same schema again works');

------------------------------------------------------------------------
-- policies: refusals with positions
------------------------------------------------------------------------
SELECT lives_ok($$SELECT governance.create_policy('ok1',
    'permit (principal, action == Action::"read", resource) when { context.mfa && principal.name == "ann" };')$$,
    'a policy that agrees with the schema is stored');
SELECT lives_ok($$SELECT governance.create_policy('ok2',
    'permit (principal in Group::"g", action in [Action::"read", Action::"write"], resource is Doc) when { resource.level > 2 && resource.owner == principal };')$$,
    'a scope of several actions and an is-type, with attributes every admissible type declares');
SELECT throws_ok($$SELECT governance.create_policy('bad',
    'permit (principal, action == Action::"read", resource) when { context.ammount > 2 };')$$, '42P17',
    'line 1, column 63: attribute `ammount` in context for Action::"read" not found', 'a typo in a context attribute');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal == Usr::"a", action, resource);')$$, '42P17',
    'line 1, column 9: unrecognized entity type Usr', 'an unknown principal type in the scope');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action, resource is Dok);')$$, '42P17',
    'line 1, column 28: unrecognized entity type Dok', 'an unknown is-type in the resource scope');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action == Action::"delete", resource);')$$, '42P17',
    'line 1, column 20: unrecognized action Action::"delete"', 'an unknown action');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal is Doc, action == Action::"read", resource);')$$, '42P17',
    'line 1, column 27: unable to find an applicable action given the policy scope constraints',
    'a principal type the action does not apply to');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action == Action::"write", resource == Folder::"f");')$$, '42P17',
    'line 1, column 20: unable to find an applicable action given the policy scope constraints',
    'a resource type the action does not apply to');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action in Action::"read", resource) when { context.mfa };')$$, '42P17',
    'line 1, column 63: attribute `mfa` in context for Action::"write" not found',
    'an attribute one of the admissible actions (write is in read) lacks in its context');
SELECT throws_ok($$SELECT governance.create_policy('bad', E'permit (principal, action == Action::"read", resource)\nwhen { resource.level > 1 };')$$, '42P17',
    'line 2, column 8: attribute `level` on entity type `Folder` not found',
    'an attribute one admissible resource type (Folder) lacks, on line 2');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action, resource) when { principal.nam == "x" };')$$, '42P17',
    'line 1, column 45: attribute `nam` on entity type `User` not found', 'an attribute on principal');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action, resource) when { principal in Grup::"x" };')$$, '42P17',
    'line 1, column 58: unrecognized entity type Grup', 'an unknown entity type in a condition');
SELECT throws_ok($$SELECT governance.create_policy('bad', 'permit (principal, action, resource) when { action == Action::"delet" };')$$, '42P17',
    'line 1, column 55: unrecognized action Action::"delet"', 'an unknown action in a condition');
SELECT throws_ok($$SELECT governance.create_policies('@id("x1") permit (principal, action, resource); @id("x2") permit (principal, action, resource) when { context.nope };')$$,
    '42P17', 'line 1, column 103: attribute `nope` in context for Action::"read" not found',
    'create_policies: one policy that disagrees stores none');
SELECT throws_ok($$SELECT governance.replace_policy('ok1', 'permit (principal, action, resource) when { context.nope };')$$,
    '42P17', NULL, 'replace_policy is validated too');
SELECT is(pg_temp.names(), 'ok1,ok2', 'no refused policy was stored');

-- templates and links
SELECT lives_ok($$SELECT governance.create_template('t1',
    'permit (principal == ?principal, action == Action::"write", resource) when { resource.public };')$$,
    'a template that agrees is stored');
SELECT throws_ok($$SELECT governance.create_template('t2',
    'permit (principal == ?principal, action == Action::"write", resource) when { resource.publik };')$$, '42P17',
    'line 1, column 78: attribute `publik` on entity type `Doc` not found', 'a template with a typo is refused');
SELECT throws_ok($$SELECT governance.link_template('t1', 'l1', 'Doc::"x"')$$, '42P17',
    'line 1, column 32: unable to find an applicable action given the policy scope constraints',
    'a link whose principal type the action does not apply to is refused');
SELECT lives_ok($$SELECT governance.link_template('t1', 'l2', 'User::"x"')$$, 'a link that agrees is stored');

------------------------------------------------------------------------
-- entities
------------------------------------------------------------------------
SELECT lives_ok($$SELECT governance.put_entity('User::"ann"', ARRAY['Group::"g"'],
    '{"name": "ann", "roles": ["r"], "addr": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}},
      "limits": {"daily": {"__extn": {"fn": "decimal", "arg": "1.5"}}}, "boss": {"__entity": "User::\"b\""}}')$$,
    'an entity that agrees (extension values, a nested record, an entity reference, optional ones absent)');
SELECT throws_ok($$SELECT governance.put_entity('Thing::"c"', '{}', '{}')$$, '22023',
    'entity type Thing is not declared in the schema', 'an undeclared entity type');
SELECT throws_ok($$SELECT governance.put_entity('User::"c"', ARRAY['Doc::"d"'],
    '{"name": "c", "roles": [], "addr": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}, "limits": {"daily": {"__extn": {"fn": "decimal", "arg": "1.0"}}}}')$$, '22023',
    'an entity of type User cannot have a parent of type Doc', 'a parent type "in" does not allow');
SELECT throws_ok($$SELECT governance.put_entity('User::"c"', '{}',
    '{"name": 1, "roles": [], "addr": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}, "limits": {"daily": {"__extn": {"fn": "decimal", "arg": "1.0"}}}}')$$, '22023',
    'attribute name should be String, found integer', 'an attribute of the wrong kind');
SELECT throws_ok($$SELECT governance.put_entity('User::"c"', '{}',
    '{"name": "c", "roles": [1], "addr": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}, "limits": {"daily": {"__extn": {"fn": "decimal", "arg": "1.0"}}}}')$$, '22023',
    'attribute roles should be String, found integer', 'a set element of the wrong kind');
SELECT throws_ok($$SELECT governance.put_entity('User::"c"', '{}',
    '{"name": "c", "roles": [], "addr": "10.0.0.1", "limits": {"daily": {"__extn": {"fn": "decimal", "arg": "1.0"}}}}')$$, '22023',
    'attribute addr should be ipaddr, found string', 'a string where an extension value is declared');
SELECT throws_ok($$SELECT governance.put_entity('User::"c"', '{}',
    '{"name": "c", "roles": [], "addr": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}, "limits": {"daily": {"__extn": {"fn": "decimal", "arg": "1.0"}}}, "boss": {"__entity": "Doc::\"b\""}}')$$, '22023',
    'attribute boss should be an entity of type User, found one of type Doc', 'an entity reference of the wrong type');
SELECT throws_ok($$SELECT governance.put_entity('User::"c"', '{}', '{"roles": []}')$$, '22023',
    'required attribute name is missing', 'a required attribute missing');
SELECT throws_ok($$SELECT governance.put_entity('Group::"d"', '{}', '{"x": 1}')$$, '22023',
    'attribute x is not declared for entity type Group', 'an undeclared attribute');
SELECT throws_ok($$SELECT governance.put_entities('[{"uid": {"type": "Thing", "id": "t"}, "attrs": {}, "parents": []}]')$$, '22023',
    'entity type Thing is not declared in the schema', 'put_entities is validated too');
SELECT is((SELECT string_agg(uid, ',' ORDER BY uid) FROM governance.entities), 'User::"ann"', 'no refused entity was stored');

------------------------------------------------------------------------
-- a schema that stored policies or entities disagree with is refused
------------------------------------------------------------------------
SELECT throws_ok($$SELECT governance.set_schema('entity Group; entity User in [Group] = { name: String }; entity Doc; action "read" appliesTo { principal: User, resource: Doc };')$$,
    '42P17', NULL, 'a schema a stored policy disagrees with is refused');
SELECT matches(pg_temp.err($$SELECT governance.set_schema('entity Group; entity User in [Group] = { name: String }; entity Doc; action "read" appliesTo { principal: User, resource: Doc };')$$),
    'stored policy "(l2|ok1|ok2)" does not agree with the new Cedar schema', 'naming the policy');

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO, and clearing
------------------------------------------------------------------------
SAVEPOINT before_clear;
SELECT lives_ok($$SELECT governance.set_schema(NULL)$$, 'NULL clears the schema');
SELECT is((SELECT count(*) FROM governance.cedar_schema), 0::bigint, 'nothing is stored');
SELECT is((pg_temp.last_event()).payload ->> 'action', 'cleared', 'and the clearing is ledgered');
SELECT lives_ok($$SELECT governance.create_policy('free', 'permit (principal, action, resource) when { context.anything };')$$,
    'without a schema any policy is stored');
SELECT lives_ok($$SELECT governance.put_entity('Thing::"c"', '{}', '{"x": 1}')$$, 'and any entity');
ROLLBACK TO SAVEPOINT before_clear;
SELECT is((SELECT source FROM governance.cedar_schema), (SELECT src FROM schema_src),
          'ROLLBACK TO SAVEPOINT restores the schema');
SELECT throws_ok($$SELECT governance.create_policy('free', 'permit (principal, action, resource) when { context.anything };')$$,
    '42P17', NULL, 'which validates again');

------------------------------------------------------------------------
-- privileges
------------------------------------------------------------------------
SELECT pg_temp.drop_roles(ARRAY['sc_agent', 'sc_auditor']);
CREATE ROLE sc_agent IN ROLE governance_agent;
CREATE ROLE sc_auditor IN ROLE governance_auditor;
SET ROLE sc_agent;
SELECT throws_ok($$SELECT governance.set_schema(NULL)$$, '42501', NULL, 'an agent cannot set the schema');
SELECT throws_ok($$SELECT * FROM governance.cedar_schema$$, '42501', NULL, 'nor read it');
RESET ROLE;
SET ROLE sc_auditor;
SELECT throws_ok($$SELECT governance.set_schema('entity A;')$$, '42501', NULL, 'an auditor cannot set the schema');
SELECT is((SELECT count(*) FROM governance.cedar_schema), 1::bigint, 'but reads it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
