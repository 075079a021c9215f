'use strict';
/*
 * Schema validation against the reference implementation (issue 17 step 5):
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

function cedarVerdict(schema, policy) {
	const a = cedar.validate({ schema, policies: { staticPolicies: policy }, validationSettings: { mode: 'strict' } });
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
`;
	for (const [s, p] of cases)
		script += 'SELECT pg_temp.v(' + q(s) + ', ' + q(p) + ');\n';
	const out = psql(DB, script).split('\n').filter((l) => l !== '');
	if (out.length !== cases.length) {
		console.log('not ok - expected ' + cases.length + ' answers from the extension, got ' + out.length);
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
	console.log('# ' + agree + ' of ' + cases.length + ' pairs decided alike; ' + failed + ' unexpected');
	console.log('1..' + cases.length);
	process.exit(failed ? 1 : 0);
}

main();
