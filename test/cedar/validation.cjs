'use strict';
/*
 * Schema validation against the reference implementation (issue 17 step 5;
 * namespaces, common types, tags, enums and the JSON format since):
 * a fixed corpus of (schema, policy) pairs, each validated by
 * @cedar-policy/cedar-wasm's validator (strict mode) and by the extension
 * (set_schema, then create_policy, in a subtransaction that is always rolled
 * back), compared accept / reject; Cedar's warning "unable to find an
 * applicable action given the policy scope constraints" counts as a
 * rejection (the extension refuses such a policy).  A pair marked `differs` is a documented
 * difference (docs/POLICY.md section 13): it must disagree exactly as
 * documented, so a change on either side is noticed.
 *
 * Environment: PGBIN, CEDAR_PGHOST (socket directory), GOV_DBUSER, as for
 * differential.cjs.  Prints TAP; exits 1 on any unexpected result.
 */
const { spawnSync } = require('child_process');
const path = require('path');

let cedar;
try {
	cedar = require(path.join(__dirname, 'node_modules/@cedar-policy/cedar-wasm/nodejs'));
} catch (e) {
	console.log('not ok - @cedar-policy/cedar-wasm is not installed (test/cedar/run.sh installs it)');
	process.exit(1);
}

const S1 = `
entity Group;
entity User in [Group] = { name: String, age?: Long, roles: Set<String>, boss?: User,
    limits: { daily: decimal, "max-size"?: Long }, addr: ipaddr };
entity Folder;
entity Doc in [Folder] = { owner: User, level: Long, created: datetime, ttl: duration, public: Bool };
action "read" appliesTo { principal: [User], resource: [Doc, Folder], context: { ip: ipaddr, mfa: Bool } };
action "write" in ["read"] appliesTo { principal: User, resource: Doc };
action "admin" appliesTo { principal: [Group], resource: [Folder] };
`;

const N1 = `
namespace App {
  entity User in [Group] = { name: String };
  entity Group;
  entity Doc = { owner: User };
  action "all";
  action "read" in ["all"] appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
  action "write" in "all" appliesTo { principal: [User], resource: [Doc] };
}`;
const N2 = 'namespace A { entity U; } namespace B { entity D in [A::U]; action r appliesTo { principal: A::U, resource: D }; }';
const J1 = JSON.stringify({
	App: {
		commonTypes: { Ctx: { type: 'Record', attributes: { mfa: { type: 'Boolean' } } } },
		entityTypes: {
			User: {
				memberOfTypes: ['Group'],
				shape: { type: 'Record', attributes: { name: { type: 'String' }, age: { type: 'Long', required: false } } },
			},
			Group: {},
			Color: { enum: ['red', 'green'] },
		},
		actions: {
			read: { appliesTo: { principalTypes: ['User'], resourceTypes: ['Group', 'Color'], context: { type: 'Ctx' } } },
			write: { memberOf: [{ id: 'read' }], appliesTo: { principalTypes: ['User'], resourceTypes: ['Color'] } },
		},
	},
	'': {
		commonTypes: { C: { type: 'Record', attributes: { a: { type: 'Long' } } } },
		entityTypes: {
			Top: {
				shape: {
					type: 'Record', attributes: {
						color: { type: 'Entity', name: 'App::Color' },
						c: { type: 'EntityOrCommon', name: 'C' },
					},
				},
			},
		},
		actions: { top: { appliesTo: { principalTypes: ['Top'], resourceTypes: ['Top'] } } },
	},
}, null, 1);

const cases = [
	/* policies against S1 */
	[S1, 'permit (principal, action == Action::"read", resource) when { context.mfa };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { context.ammount > 2 };'],
	[S1, 'permit (principal == Usr::"a", action, resource);'],
	[S1, 'permit (principal, action == Action::"delete", resource);'],
	[S1, 'permit (principal is Doc, action == Action::"read", resource);'],
	[S1, 'permit (principal, action == Action::"write", resource == Folder::"f");'],
	[S1, 'permit (principal, action in Action::"read", resource) when { context.mfa };'],
	[S1, 'permit (principal, action in [Action::"read", Action::"write"], resource is Doc) when { resource.level > 2 };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { resource.level > 1 };'],
	[S1, 'permit (principal, action == Action::"read", resource is Doc) when { resource.level > 1 };'],
	[S1, 'permit (principal, action, resource) when { principal.name == "x" };'],
	[S1, 'permit (principal is User, action, resource) when { principal.name == "x" };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal.nam == "x" };'],
	[S1, 'permit (principal, action, resource) when { principal in Grup::"x" };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal in Group::"x" };'],
	[S1, 'permit (principal, action, resource) when { action == Action::"delet" };'],
	[S1, 'permit (principal in Group::"g", action == Action::"read", resource is Doc) when { resource.owner == principal };'],
	[S1, 'permit (principal == Group::"g", action == Action::"admin", resource);'],
	[S1, 'permit (principal == Group::"g", action == Action::"read", resource);'],
	[S1, 'permit (principal, action == Action::"admin", resource in Folder::"f");'],
	[S1, 'permit (principal, action == Action::"write", resource in Folder::"f") when { resource.public };'],
	[S1, 'forbid (principal, action == Action::"read", resource) unless { context.ip.isLoopback() };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal.limits.daily.lessThan(decimal("2.0")) };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal.roles.contains("admin") };'],
	[S1, 'permit (principal, action == Action::"read", resource is Doc) when { resource.created > datetime("2024-01-01") };'],
	/* type checking (cedar_typecheck.c) */
	[S1, 'permit (principal, action == Action::"read", resource) when { principal.age > 3 };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal has age && principal.age > 3 };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { context.mfa > 1 };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal.limits.dayly == 1 };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal.limits has "max-size" && principal.limits["max-size"] > 1 };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { principal.limits["max-size"] > 1 };'],
	[S1, 'permit (principal, action == Action::"read", resource is Doc) when { resource.ttl < duration("1h") && resource.created.offset(resource.ttl) > datetime("2024-01-01") };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { [1, "a"].contains(1) };'],
	[S1, 'permit (principal, action == Action::"read", resource) when { false && context.mfa + 1 == 2 };'],
	[S1, 'permit (principal, action, resource) when { principal is User && principal.name == "x" };'],
	/* schemas */
	['entity A; entity A;', 'permit (principal, action, resource);'],
	['entity A in [B];', 'permit (principal, action, resource);'],
	['entity A = { x: Foo };', 'permit (principal, action, resource);'],
	['entity A; action "x" in ["y"] appliesTo { principal: A, resource: A };', 'permit (principal, action, resource);'],
	['entity A; action "x" appliesTo { principal: A, resource: A };', 'permit (principal, action, resource);'],
	['entity A; action "x" appliesTo { principal: A, resource: A, context: { n: Long } };',
		'permit (principal, action, resource) when { context.n > 1 };'],
	['entity A, B; action "x", "y" appliesTo { principal: [A, B], resource: A };',
		'permit (principal is B, action == Action::"y", resource);'],
	['entity A = { s: Set<Set<Long>>, r: { a: { b: String } } }; action x appliesTo { principal: A, resource: A };',
		'permit (principal, action == Action::"x", resource) when { principal.s.isEmpty() };'],

	/* namespaces (issue 17): qualified names, resolution current then empty namespace */
	[N1, 'permit (principal is App::User, action == App::Action::"read", resource) when { context.mfa };'],
	[N1, 'permit (principal, action == Action::"read", resource);'],
	[N1, 'permit (principal is User, action == App::Action::"read", resource);'],
	[N1, 'permit (principal, action == App::Action::"read", resource) when { principal.name == "x" };'],
	[N1, 'permit (principal, action == App::Action::"read", resource) when { context.mfaa };'],
	[N1, 'permit (principal, action in App::Action::"all", resource is App::Doc) when { resource.owner == principal };'],
	[N1, 'permit (principal in App::Group::"g", action == App::Action::"write", resource);'],
	[N2, 'permit (principal is A::U, action == B::Action::"r", resource is B::D);'],
	[N2, 'permit (principal is B::U, action == B::Action::"r", resource);'],
	[N2, 'permit (principal, action == B::Action::"r", resource) when { resource in A::U::"u" };'],
	['namespace A { entity U; } entity T in [U];', 'permit (principal, action, resource);'],
	['entity U; namespace A { entity T in [U]; action r appliesTo { principal: T, resource: U }; }',
		'permit (principal is A::T, action == A::Action::"r", resource is U);'],
	['namespace A { entity U; } namespace A { entity V; }', 'permit (principal, action, resource);'],
	['namespace A { namespace B { entity U; } }', 'permit (principal, action, resource);'],
	['namespace A::B { entity U; action r appliesTo { principal: U, resource: U }; }',
		'permit (principal == A::B::U::"x", action == A::B::Action::"r", resource);'],
	['namespace A { entity U; action r appliesTo { principal: U, resource: U }; action s in [r] appliesTo { principal: U, resource: U }; }',
		'permit (principal, action in A::Action::"r", resource);'],
	['namespace A { entity U; action r appliesTo { principal: U, resource: U }; } namespace B { action s in [A::Action::"r"] appliesTo { principal: A::U, resource: A::U }; }',
		'permit (principal, action in A::Action::"r", resource);'],
	['entity U; action a in b; action b in c; action c in a;', 'permit (principal, action, resource);'],
	['entity U; action a in a;', 'permit (principal, action, resource);'],
	/* common types */
	['type Ctx = { mfa: Bool }; entity U; action r appliesTo { principal: U, resource: U, context: Ctx };',
		'permit (principal, action == Action::"r", resource) when { context.mfa };'],
	['type Ctx = { mfa: Bool }; entity U; action r appliesTo { principal: U, resource: U, context: Ctx };',
		'permit (principal, action == Action::"r", resource) when { context.x };'],
	['type A = B; type B = A; entity U;', 'permit (principal, action, resource);'],
	['type A = { x: A }; entity U;', 'permit (principal, action, resource);'],
	['type A = Set<A>; entity U;', 'permit (principal, action, resource);'],
	['namespace N { type T = { a: Long }; entity U = { t: T }; action r appliesTo { principal: U, resource: U }; }',
		'permit (principal, action == N::Action::"r", resource) when { principal.t.a > 1 };'],
	['type T = Long; namespace N { entity U = { t: T }; action r appliesTo { principal: U, resource: U }; }',
		'permit (principal, action == N::Action::"r", resource) when { principal.t > 1 };'],
	['type T = Long; type T = String; entity U;', 'permit (principal, action, resource);'],
	['type Long = String; entity U;', 'permit (principal, action, resource);'],
	['entity U = { x: Undefined };', 'permit (principal, action, resource);'],
	['type Ctx = Long; entity U; action r appliesTo { principal: U, resource: U, context: Ctx };',
		'permit (principal, action, resource);'],
	/* tags, enumerated entity types, annotations, string escapes */
	['entity U tags String; action r appliesTo { principal: U, resource: U };',
		'permit (principal, action, resource) when { principal.hasTag("a") };'],
	['entity U = { n: Long } tags Set<String>; action r appliesTo { principal: U, resource: U };',
		'permit (principal, action, resource) when { principal.n > 1 };'],
	['entity C enum ["a", "b"]; entity U; action r appliesTo { principal: U, resource: C };',
		'permit (principal, action, resource == C::"a");'],
	['entity C enum ["a", "b"]; entity U; action r appliesTo { principal: U, resource: C };',
		'permit (principal, action, resource == C::"z");'],
	['entity C enum ["a", "b"]; entity U; action r appliesTo { principal: U, resource: C };',
		'permit (principal, action, resource) when { resource == C::"z" };'],
	['entity C enum []; entity U;', 'permit (principal, action, resource);'],
	['@doc("x") namespace N { @a entity U = { @b("c") x: Long }; @d("e") action r appliesTo { principal: U, resource: U }; @t type T = Long; }',
		'permit (principal, action == N::Action::"r", resource) when { principal.x > 1 };'],
	['entity U = { "a\\u{62}": Long }; action r appliesTo { principal: U, resource: U };',
		'permit (principal, action, resource) when { principal.ab > 1 };'],
	['entity U = { "a\\x62\\t": Long }; action "r\\n" appliesTo { principal: U, resource: U };',
		'permit (principal, action, resource);'],
	['entity U = { "a\\q": Long };', 'permit (principal, action, resource);'],
	['entity U = { "a\\u{d800}": Long };', 'permit (principal, action, resource);'],

	/* the JSON schema format */
	[J1, 'permit (principal is App::User, action == App::Action::"read", resource) when { context.mfa };'],
	[J1, 'permit (principal, action == App::Action::"read", resource) when { context.x };'],
	[J1, 'permit (principal, action == App::Action::"read", resource) when { principal.nam == "a" };'],
	[J1, 'permit (principal, action == App::Action::"read", resource) when { principal.name == "a" };'],
	[J1, 'permit (principal, action in App::Action::"read", resource is App::Group) when { principal in resource };'],
	[J1, 'permit (principal, action == App::Action::"write", resource == App::Color::"red");'],
	[J1, 'permit (principal, action == App::Action::"write", resource == App::Color::"pink");'],
	[J1, 'permit (principal, action == Action::"top", resource) when { principal.color == App::Color::"red" };'],
	[J1, 'permit (principal, action == Action::"top", resource) when { principal.c.a > 1 };'],
	[J1, 'permit (principal, action, resource) when { principal.hasTag("x") };'],
	['{"": {"entityTypes": {"U": {"bogus": 1}}, "actions": {}}}', 'permit (principal, action, resource);'],
	['{"": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": {"x": {"type": "Set"}}}}}, "actions": {}}}',
		'permit (principal, action, resource);'],
	['{"": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": {"x": {"type": "Lng"}}}}}, "actions": {}}}',
		'permit (principal, action, resource);'],
	['{"": {"entityTypes": {"U": {"memberOfTypes": ["V"]}}, "actions": {}}}', 'permit (principal, action, resource);'],
	['{"": {"entityTypes": {"U": {}}, "actions": {"a": {"memberOf": [{"id": "b"}]}}}}', 'permit (principal, action, resource);'],
	['{"": {"commonTypes": {"T": {"type": "T"}}, "entityTypes": {}, "actions": {}}}', 'permit (principal, action, resource);'],
	['{"": {"entityTypes": {"U": {"shape": {"type": "Long"}}}, "actions": {}}}', 'permit (principal, action, resource);'],
	['{"": {"entityTypes": {"U": {}}, "actions": {}}', 'permit (principal, action, resource);'],
	['{"": {"entityTypes": {"U": {}}, "actions": {}}, "": {"entityTypes": {}, "actions": {}}}', 'permit (principal, action, resource);'],
	['{"A": {"entityTypes": {"U": {}}, "actions": {"r": {"appliesTo": {"principalTypes": ["U"], "resourceTypes": ["U"], "context": {"type": "Record", "attributes": {"d": {"type": "Extension", "name": "decimal"}}}}}}}}',
		'permit (principal, action == A::Action::"r", resource) when { context.d.lessThan(decimal("1.0")) };'],
	['{"A": {"entityTypes": {"U": {}}, "actions": {"r": {"appliesTo": {"principalTypes": ["U"], "resourceTypes": ["U"], "context": {"type": "Record", "attributes": {"d": {"type": "Extension", "name": "decimall"}}}}}}}}',
		'permit (principal, action, resource);'],
	['{"A": {"entityTypes": {"U": {}}, "actions": {"r": {"appliesTo": {"principalTypes": ["U"], "resourceTypes": ["U"]}}, "s": {"memberOf": [{"id": "r", "type": "A::Action"}], "appliesTo": {"principalTypes": ["U"], "resourceTypes": ["U"]}}}}}',
		'permit (principal, action in A::Action::"r", resource);'],
];

/*
 * Request validation (issue 17 step 3): Cedar's isAuthorized with
 * validateRequest against decide() with the schema set, accept / reject.
 * [schema, principal, action, resource, context (Cedar's JSON; entity
 * references are rewritten for the extension), documented difference]
 */
const RS = `namespace App {
  type Ctx = { mfa: Bool, ip?: ipaddr, who?: User };
  entity User in [Group] { name: String };
  entity Group;
  entity Color enum ["red", "green"];
  action "read" appliesTo { principal: [User], resource: [Color, Group], context: Ctx };
  action "write" appliesTo { principal: User, resource: Group };
}`;
const requestCases = [
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', { mfa: true }],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', {}],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', { mfa: 1 }],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', { mfa: true, extra: 1 }],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', { mfa: true, ip: { __extn: { fn: 'ip', arg: '10.0.0.1' } } }],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', { mfa: true, ip: '10.0.0.1' },
		'no schema-directed parsing of the context: a string is no ipaddr'],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', { mfa: true, who: { __entity: { type: 'App::User', id: 'v' } } }],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"red"', { mfa: true, who: { __entity: { type: 'App::Group', id: 'v' } } }],
	[RS, 'App::User::"u"', 'App::Action::"read"', 'App::Color::"pink"', { mfa: true }],
	[RS, 'App::Group::"g"', 'App::Action::"read"', 'App::Color::"red"', { mfa: true }],
	[RS, 'App::User::"u"', 'App::Action::"write"', 'App::Group::"g"', {}],
	[RS, 'App::User::"u"', 'App::Action::"write"', 'App::Group::"g"', { x: 1 }],
	[RS, 'App::User::"u"', 'App::Action::"write"', 'App::Color::"red"', {}],
	[RS, 'App::User::"u"', 'App::Action::"delete"', 'App::Group::"g"', {}],
	[RS, 'App::User::"u"', 'Action::"write"', 'App::Group::"g"', {}],
	[RS, 'User::"u"', 'App::Action::"write"', 'App::Group::"g"', {}],
	[J1, 'App::User::"u"', 'App::Action::"read"', 'App::Group::"g"', { mfa: false }],
	[J1, 'App::User::"u"', 'App::Action::"read"', 'App::Group::"g"', { mfa: 'no' }],
];

const PGBIN = process.env.PGBIN;
const PGHOST = process.env.CEDAR_PGHOST;
const PGUSER = process.env.GOV_DBUSER || process.env.USER || 'postgres';
const DB = 'cedar_validate';

function psql(db, script) {
	const r = spawnSync(path.join(PGBIN, 'psql'),
		['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', PGHOST, '-p', '5432', '-U', PGUSER, '-d', db, '-f', '-'],
		{ input: script, encoding: 'utf8', maxBuffer: 1 << 26 });
	if (r.status !== 0)
		throw new Error('psql failed (' + r.status + '): ' + (r.stderr || '').slice(0, 2000));
	return r.stdout;
}

function q(s) {
	return "'" + s.replace(/'/g, "''") + "'";
}

/* A schema in the JSON format goes to Cedar parsed, as its API wants it. */
function cedarSchema(schema) {
	if (schema.trimStart().startsWith('{')) {
		try {
			return JSON.parse(schema);
		} catch (e) {
			return null;
		}
	}
	return schema;
}

function cedarVerdict(schema, policy) {
	const parsed = cedarSchema(schema);
	if (parsed === null)
		return ['reject', 'not JSON'];
	const a = cedar.validate({ schema: parsed, policies: { staticPolicies: policy }, validationSettings: { mode: 'strict' } });
	if (a.type !== 'success')
		return ['reject', a.errors.map((e) => e.message).join('; ')];
	if (a.validationErrors.length > 0)
		return ['reject', a.validationErrors.map((e) => e.error.message).join('; ')];
	/*
	 * Cedar only warns about a scope no action applies to; the extension
	 * refuses it (docs/POLICY.md section 13), so that warning counts as a
	 * rejection here.
	 */
	const w = a.validationWarnings.filter((e) => /unable to find an applicable action/.test(e.error.message));
	if (w.length > 0)
		return ['reject', '(a warning) ' + w[0].error.message];
	return ['accept', ''];
}

/* Cedar's entity reference {"__entity": {type, id}} as the extension writes it */
function toOurs(v) {
	if (Array.isArray(v))
		return v.map(toOurs);
	if (v && typeof v === 'object') {
		if (v.__entity && typeof v.__entity === 'object')
			return { __entity: v.__entity.type + '::' + JSON.stringify(v.__entity.id) };
		const o = {};
		for (const k of Object.keys(v))
			o[k] = toOurs(v[k]);
		return o;
	}
	return v;
}

function uidOf(s) {
	const m = /^(.*)::"(.*)"$/.exec(s);
	return { type: m[1], id: m[2] };
}

function cedarRequest(schema, p, a, r, ctx) {
	const ans = cedar.isAuthorized({
		principal: uidOf(p), action: uidOf(a), resource: uidOf(r), context: ctx,
		schema: cedarSchema(schema), validateRequest: true,
		policies: { staticPolicies: '' }, entities: [],
	});
	if (ans.type === 'success')
		return ['accept', ''];
	return ['reject', ans.errors.map((e) => e.message).join('; ')];
}

function main() {
	if (!PGBIN || !PGHOST) {
		console.log('not ok - PGBIN and CEDAR_PGHOST must name the server to test');
		process.exit(1);
	}
	const exists = psql('postgres', 'SELECT 1 FROM pg_database WHERE datname = ' + q(DB)).trim();
	if (!exists) psql('postgres', 'CREATE DATABASE ' + DB);
	psql(DB, 'SET client_min_messages = warning; SET governance.allow_other_database = on;' +
		' CREATE EXTENSION IF NOT EXISTS governance;');
	let script = `
SET governance.allow_other_database = on;
CREATE FUNCTION pg_temp.v(s text, p text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text := 'accept';
BEGIN
    BEGIN
        BEGIN
            PERFORM governance.set_schema(s);
        EXCEPTION WHEN OTHERS THEN
            r := 'reject|' || SQLERRM;
        END;
        IF r = 'accept' THEN
            BEGIN
                PERFORM governance.create_policy('p', p);
            EXCEPTION WHEN OTHERS THEN
                r := 'reject|' || SQLERRM;
            END;
        END IF;
        RAISE EXCEPTION 'undo' USING ERRCODE = 'GV999';
    EXCEPTION WHEN SQLSTATE 'GV999' THEN
        RETURN replace(r, E'\\n', ' ');
    END;
END
$f$;
CREATE FUNCTION pg_temp.r(s text, p text, a text, res text, c jsonb) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text := 'accept';
BEGIN
    BEGIN
        PERFORM governance.set_schema(s);
        BEGIN
            PERFORM governance.decide(p, a, res, c);
        EXCEPTION WHEN OTHERS THEN
            r := 'reject|' || SQLERRM;
        END;
        RAISE EXCEPTION 'undo' USING ERRCODE = 'GV999';
    EXCEPTION WHEN SQLSTATE 'GV999' THEN
        RETURN replace(r, E'\\n', ' ');
    END;
END
$f$;
`;
	for (const [s, p] of cases)
		script += 'SELECT pg_temp.v(' + q(s) + ', ' + q(p) + ');\n';
	for (const [s, p, a, r, c] of requestCases)
		script += 'SELECT pg_temp.r(' + [s, p, a, r, JSON.stringify(toOurs(c))].map(q).join(', ') + ');\n';
	const out = psql(DB, script).split('\n').filter((l) => l !== '');
	if (out.length !== cases.length + requestCases.length) {
		console.log('not ok - expected ' + (cases.length + requestCases.length) +
			' answers from the extension, got ' + out.length);
		process.exit(1);
	}
	let failed = 0;
	let agree = 0;
	cases.forEach(([s, p, differs], i) => {
		const [cv, cwhy] = cedarVerdict(s, p);
		const ours = out[i].split('|');
		const ov = ours[0];
		const owhy = ours.slice(1).join('|');
		const same = cv === ov;
		const ok = differs ? !same : same;
		if (same) agree++;
		if (!ok) failed++;
		console.log((ok ? 'ok' : 'not ok') + ' ' + (i + 1) + ' - ' + (differs ? '(documented difference: ' + differs + ') ' : '') +
			'cedar ' + cv + ', governance ' + ov + ': ' + p.slice(0, 90));
		if (!ok || differs) {
			console.log('#   schema: ' + s.replace(/\s+/g, ' ').trim().slice(0, 160));
			console.log('#   cedar: ' + (cwhy || '-').slice(0, 300));
			console.log('#   governance: ' + (owhy || '-').slice(0, 300));
		}
	});
	requestCases.forEach(([s, p, a, r, c, differs], k) => {
		const i = cases.length + k;
		const [cv, cwhy] = cedarRequest(s, p, a, r, c);
		const ours = out[i].split('|');
		const ov = ours[0];
		const owhy = ours.slice(1).join('|');
		const same = cv === ov;
		const ok = differs ? !same : same;
		if (same) agree++;
		if (!ok) failed++;
		console.log((ok ? 'ok' : 'not ok') + ' ' + (i + 1) + ' - request: ' +
			(differs ? '(documented difference: ' + differs + ') ' : '') + 'cedar ' + cv + ', governance ' + ov + ': ' +
			[p, a, r, JSON.stringify(c)].join(' ').slice(0, 120));
		if (!ok || differs) {
			console.log('#   cedar: ' + (cwhy || '-').slice(0, 300));
			console.log('#   governance: ' + (owhy || '-').slice(0, 300));
		}
	});
	const total = cases.length + requestCases.length;
	console.log('# ' + agree + ' of ' + total + ' schema/policy pairs and requests decided alike; ' + failed + ' unexpected');
	console.log('1..' + total);
	process.exit(failed ? 1 : 0);
}

main();
