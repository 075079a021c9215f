'use strict';
/*
 * Random schema validation comparison (issue 17): random schemas (the
 * human format governance.set_schema accepts) and random policies over
 * them, well typed and ill typed (operands of the wrong type, unknown
 * attributes, optional attributes read without a "has" guard, unknown
 * entity types and actions, empty set literals, extension constructors of
 * non-literals, tags read without a "hasTag" guard or as the wrong type),
 * sometimes in a namespace (then every name in the policies qualified),
 * sometimes with entity tags, sometimes written in Cedar's JSON schema
 * format, each validated by @cedar-policy/cedar-wasm's validator in
 * strict mode and by the extension (set_schema, then create_policy, in a
 * subtransaction always rolled back), compared accept / reject.  Cedar's
 * warning "unable to find an applicable action" counts as a rejection, as
 * in validation.cjs (docs/POLICY.md section 13).  Any disagreement fails,
 * with a reproducer shrunk to the smallest policy that still disagrees.
 *
 * Usage: node validation_random.cjs [--cases N] [--seed S]
 * Environment: PGBIN, CEDAR_PGHOST, GOV_DBUSER, as for validation.cjs.
 * Prints TAP; exits 1 on any disagreement.
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

const args = { cases: 1500, seed: null, perSchema: 10 };
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	if (a === '--cases') args.cases = parseInt(process.argv[++i], 10);
	else if (a === '--seed') args.seed = parseInt(process.argv[++i], 10);
	else if (a === '--per-schema') args.perSchema = parseInt(process.argv[++i], 10);
	else { console.log('not ok - unknown argument ' + a); process.exit(1); }
}
if (args.seed === null) args.seed = (Date.now() ^ (process.pid << 8)) >>> 0;

/* random numbers (reproducible from the seed), as differential.cjs */
function mulberry32(a) {
	return function () {
		a |= 0; a = (a + 0x6D2B79F5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const rnd = mulberry32(args.seed);
const int = n => Math.floor(rnd() * n);
const pick = xs => xs[int(xs.length)];
const chance = p => rnd() < p;

/* ------------------------------------------------------------------ */
/* schemas                                                             */

/*
 * A type is { k: 'Long' | 'String' | 'Bool' | 'decimal' | 'ipaddr' |
 * 'datetime' | 'duration' | 'Set' (elem) | 'Entity' (name) | 'Record'
 * (attrs: [{ name, req, type }]) }.
 */
const PRIMS = ['Long', 'String', 'Bool', 'decimal', 'ipaddr', 'datetime', 'duration'];
const ATTR_NAMES = ['a', 'b', 'c', 'level', 'name', 'tags', 'owner', 'n', 'when_', 'x1'];

function typeText(t) {
	switch (t.k) {
		case 'Set': return 'Set<' + typeText(t.elem) + '>';
		case 'Entity': return t.name;
		case 'Record': return '{ ' + t.attrs.map(a => a.name + (a.req ? '' : '?') + ': ' + typeText(a.type)).join(', ') + ' }';
		default: return t.k;
	}
}

function randType(entities, depth) {
	const r = int(10);
	if (r < 5 || depth > 1) return { k: pick(PRIMS.concat(['Long', 'String', 'Bool'])) };
	if (r < 7) return { k: 'Set', elem: chance(0.3) && entities.length ? { k: 'Entity', name: pick(entities) } : { k: pick(['Long', 'String']) } };
	if (r < 9 && entities.length) return { k: 'Entity', name: pick(entities) };
	return { k: 'Record', attrs: randAttrs(entities, depth + 1, 1 + int(3)) };
}

function randAttrs(entities, depth, n) {
	const names = ATTR_NAMES.slice();
	const out = [];
	for (let i = 0; i < n; i++) {
		const name = names.splice(int(names.length), 1)[0];
		out.push({ name, req: chance(0.7), type: randType(entities, depth) });
	}
	return out;
}

function randSchema() {
	const ne = 2 + int(3);
	const names = ['User', 'Group', 'Doc', 'Folder', 'Team'].slice(0, ne);
	const entities = names.map((name, i) => ({
		name,
		parents: names.slice(0, i).filter(() => chance(0.4)),
		attrs: null,
	}));
	for (const e of entities)
		e.attrs = chance(0.85) ? randAttrs(names, 0, int(5)) : null;
	for (const e of entities)
		e.tags = chance(0.35) ? pick([{ k: 'Long' }, { k: 'String' }, { k: 'Set', elem: { k: 'String' } }]) : null;
	const na = 1 + int(3);
	const actions = [];
	for (let i = 0; i < na; i++) {
		const sub = () => { const s = names.filter(() => chance(0.4)); return s.length ? s : [pick(names)]; };
		actions.push({
			name: ['read', 'write', 'delete'][i],
			parents: i > 0 && chance(0.3) ? [actions[0].name] : [],
			principals: sub(),
			resources: sub(),
			context: chance(0.8) ? randAttrs(names, 0, int(4)) : null,
		});
	}
	const ns = pick(['', '', 'App', 'A::B']);
	let text = entities.map(e => 'entity ' + e.name + (e.parents.length ? ' in [' + e.parents.join(', ') + ']' : '') +
		(e.attrs ? ' = { ' + e.attrs.map(a => a.name + (a.req ? '' : '?') + ': ' + typeText(a.type)).join(', ') + ' }' : '') +
		(e.tags ? ' tags ' + typeText(e.tags) : '') + ';')
		.concat(actions.map(a => 'action "' + a.name + '"' + (a.parents.length ? ' in ["' + a.parents[0] + '"]' : '') +
			' appliesTo { principal: [' + a.principals.join(', ') + '], resource: [' + a.resources.join(', ') + ']' +
			(a.context ? ', context: { ' + a.context.map(c => c.name + (c.req ? '' : '?') + ': ' + typeText(c.type)).join(', ') + ' }' : '') +
			' };')).join('\n');
	if (ns) text = 'namespace ' + ns + ' {\n' + text + '\n}';
	const schema = { entities, actions, text, ns };
	if (chance(0.3)) schema.text = JSON.stringify(jsonSchema(schema), null, 1);
	return schema;
}

/* Cedar's JSON schema format of the same schema */
function jsonType(t, required) {
	let j;
	switch (t.k) {
		case 'Long': case 'String': j = { type: t.k }; break;
		case 'Bool': j = { type: 'Boolean' }; break;
		case 'Set': j = { type: 'Set', element: jsonType(t.elem) }; break;
		case 'Entity': j = { type: 'Entity', name: t.name }; break;
		case 'Record': j = jsonRecord(t.attrs); break;
		default: j = { type: 'Extension', name: t.k };
	}
	if (required === false) j.required = false;
	return j;
}

function jsonRecord(attrs) {
	const out = {};
	for (const a of attrs) out[a.name] = jsonType(a.type, a.req);
	return { type: 'Record', attributes: out };
}

function jsonSchema(schema) {
	const entityTypes = {};
	for (const e of schema.entities) {
		const j = {};
		if (e.parents.length) j.memberOfTypes = e.parents;
		if (e.attrs) j.shape = jsonRecord(e.attrs);
		if (e.tags) j.tags = jsonType(e.tags);
		entityTypes[e.name] = j;
	}
	const actions = {};
	for (const a of schema.actions) {
		const j = { appliesTo: { principalTypes: a.principals, resourceTypes: a.resources } };
		if (a.parents.length) j.memberOf = a.parents.map(id => ({ id }));
		if (a.context) j.appliesTo.context = jsonRecord(a.context);
		actions[a.name] = j;
	}
	return { [schema.ns]: { entityTypes, actions } };
}

/* a name of the schema's namespace as policies write it */
function qual(schema, name) {
	return schema.ns ? schema.ns + '::' + name : name;
}

function actionUid(schema, id) {
	return qual(schema, 'Action') + '::"' + id + '"';
}

/* ------------------------------------------------------------------ */
/* policies                                                            */

const LIT = {
	Long: () => String(int(20) - 5),
	String: () => JSON.stringify(pick(['', 'a', 'abc', 'x y'])),
	Bool: () => pick(['true', 'false']),
	decimal: () => 'decimal("' + pick(['1.5', '0.0001', '-2.25']) + '")',
	ipaddr: () => 'ip("' + pick(['10.0.0.1', '192.168.0.0/16', '::1']) + '")',
	datetime: () => 'datetime("' + pick(['2024-01-01', '2024-06-01T10:00:00Z']) + '")',
	duration: () => 'duration("' + pick(['1h', '2d3m', '-5s']) + '")',
};

function sameType(a, b) {
	return typeText(a) === typeText(b);
}

/*
 * The generator's view of one request environment: the attribute paths
 * reachable from principal, resource and context (two levels), each with
 * its type and the "has" guards it needs.
 */
function pathsOf(schema, env) {
	const out = [];
	const ent = name => schema.entities.find(e => e.name === name);
	function walk(expr, attrs, guards, depth, hasBase) {
		if (!attrs) return;
		for (const a of attrs) {
			const e = expr + '.' + a.name;
			const g = a.req ? guards : guards.concat([{ base: hasBase, path: a.name, full: e }]);
			out.push({ expr: e, type: a.type, guards: g });
			if (depth < 2 && a.type.k === 'Record')
				walk(e, a.type.attrs, g, depth + 1, e);
			if (depth < 2 && a.type.k === 'Entity' && ent(a.type.name))
				walk(e, ent(a.type.name).attrs, g, depth + 1, e);
		}
	}
	out.push({ expr: 'principal', type: { k: 'Entity', name: env.p }, guards: [] });
	out.push({ expr: 'resource', type: { k: 'Entity', name: env.r }, guards: [] });
	walk('principal', ent(env.p).attrs, [], 1, 'principal');
	walk('resource', ent(env.r).attrs, [], 1, 'resource');
	walk('context', env.a.context, [], 1, 'context');
	return out;
}

function Gen(schema, env) {
	const paths = pathsOf(schema, env);
	const pErr = 0.05;
	const used = [];			/* guards the current conjunction needs */
	const typesSeen = paths.map(p => p.type).concat(PRIMS.map(k => ({ k })));

	function atom(ty) {
		const c = paths.filter(p => sameType(p.type, ty));
		if (!c.length) return null;
		const p = pick(c);
		for (const g of p.guards) used.push(g);
		return p.expr;
	}

	function gen(ty, d) {
		if (chance(pErr)) ty = pick(typesSeen);
		if (d > 3 || chance(0.3)) {
			const a = chance(0.7) ? atom(ty) : null;
			if (a) return a;
			if (LIT[ty.k]) return LIT[ty.k]();
			if (ty.k === 'Entity') return qual(schema, ty.name) + '::"' + pick(['x', 'y']) + '"';
			if (ty.k === 'Set') return '[' + gen(ty.elem, d + 1) + (chance(0.5) ? ', ' + gen(ty.elem, d + 1) : '') + ']';
			if (ty.k === 'Record') return '{ ' + ty.attrs.filter(a => a.req).map(a => a.name + ': ' + gen(a.type, d + 1)).join(', ') + ' }';
		}
		const sub = t => gen(t, d + 1);
		switch (ty.k) {
			case 'Bool': return genBool(d);
			case 'Long':
				return pick([
					() => sub(ty) + ' + ' + sub(ty),
					() => sub(ty) + ' - ' + sub(ty),
					() => sub(ty) + ' * ' + LIT.Long(),
					() => '-(' + sub(ty) + ')',
					() => sub({ k: 'duration' }) + '.toHours()',
					() => '(if ' + genBool(d + 1) + ' then ' + sub(ty) + ' else ' + sub(ty) + ')',
				])();
			case 'datetime':
				return pick([
					() => sub(ty) + '.offset(' + sub({ k: 'duration' }) + ')',
					() => sub(ty) + '.toDate()',
					() => LIT.datetime(),
				])();
			case 'duration':
				return pick([() => sub({ k: 'datetime' }) + '.durationSince(' + sub({ k: 'datetime' }) + ')', () => LIT.duration()])();
			case 'Set':
				return '[' + sub(ty.elem) + ']';
			default: {
				const a = atom(ty);
				if (a) return a;
				if (LIT[ty.k]) return LIT[ty.k]();
				if (ty.k === 'Entity') return qual(schema, ty.name) + '::"z"';
				if (ty.k === 'Record') return '{ ' + ty.attrs.filter(a2 => a2.req).map(a2 => a2.name + ': ' + sub(a2.type)).join(', ') + ' }';
				return sub(ty);
			}
		}
	}

	function anyType() {
		return pick(paths).type;
	}

	function entityOrSet() {
		const n = qual(schema, pick(schema.entities).name);
		return chance(0.7) ? n + '::"g"' : '[' + n + '::"g", ' + n + '::"h"]';
	}

	/* parenthesized: Cedar refuses a relation as an operand of another */
	function genBool(d) {
		const e = genBool1(d);
		return /^[A-Za-z0-9_.]+$/.test(e) ? e : '(' + e + ')';
	}

	function genBool1(d) {
		if (d > 3) return atom({ k: 'Bool' }) || LIT.Bool();
		const sub = t => gen(t, d + 1);
		return pick([
			() => atom({ k: 'Bool' }) || LIT.Bool(),
			() => { const t = pick([{ k: 'Long' }, { k: 'Long' }, { k: 'datetime' }, { k: 'duration' }]); return sub(t) + ' ' + pick(['<', '<=', '>', '>=']) + ' ' + sub(t); },
			() => { const t = anyType(); return sub(t) + ' ' + pick(['==', '!=']) + ' ' + sub(t); },
			() => '!(' + sub({ k: 'Bool' }) + ')',
			() => '(' + genBool(d + 1) + ' && ' + genBool(d + 1) + ')',
			() => '(' + genBool(d + 1) + ' || ' + genBool(d + 1) + ')',
			() => sub({ k: 'String' }) + ' like "a*"',
			() => { const t = pick(paths.filter(p => p.type.k === 'Set').map(p => p.type).concat([{ k: 'Set', elem: { k: 'Long' } }])); return sub(t) + '.contains(' + sub(t.elem) + ')'; },
			() => { const t = pick(paths.filter(p => p.type.k === 'Set').map(p => p.type).concat([{ k: 'Set', elem: { k: 'String' } }])); return sub(t) + '.' + pick(['containsAll', 'containsAny']) + '(' + sub(t) + ')'; },
			() => sub({ k: 'Set', elem: { k: 'Long' } }) + '.isEmpty()',
			() => pick(['principal', 'resource']) + ' in ' + entityOrSet(),
			() => pick(['principal', 'resource']) + ' is ' + qual(schema, pick(schema.entities).name),
			() => tagTest(d),
			() => hasTest(),
			() => '(if ' + genBool(d + 1) + ' then ' + genBool(d + 1) + ' else ' + genBool(d + 1) + ')',
			() => sub({ k: 'decimal' }) + '.' + pick(['lessThan', 'greaterThanOrEqual']) + '(' + sub({ k: 'decimal' }) + ')',
			() => sub({ k: 'ipaddr' }) + '.' + pick(['isIpv4()', 'isLoopback()', 'isInRange(' + sub({ k: 'ipaddr' }) + ')']),
			() => 'action == ' + actionUid(schema, pick(schema.actions).name),
			() => 'action in [' + actionUid(schema, pick(schema.actions).name) + ']',
			() => mistake(),
		])();
	}

	function hasTest() {
		const c = paths.filter(p => p.guards.length > 0);
		if (c.length && chance(0.7)) {
			const g = pick(pick(c).guards);
			return g.base + ' has ' + g.path;
		}
		return pick(['principal', 'resource', 'context']) + ' has ' + pick(ATTR_NAMES);
	}

	/*
	 * Tags: mostly a read under its hasTag guard as the declared type;
	 * sometimes unguarded, another key, the wrong type, or on an entity
	 * type that declares no tags.
	 */
	function tagTest(d) {
		const v = pick(['principal', 'resource']);
		const e = schema.entities.find(x => x.name === (v === 'principal' ? env.p : env.r));
		const key = chance(0.8) ? '"t"' : pick(['"u"', 'context.' + pick(ATTR_NAMES)]);
		let ty = e.tags || pick([{ k: 'Long' }, { k: 'String' }]);
		if (chance(0.1)) ty = pick([{ k: 'Long' }, { k: 'String' }, { k: 'Set', elem: { k: 'String' } }]);
		const read = v + '.getTag(' + (chance(0.9) ? key : '"v"') + ')';
		const use = ty.k === 'Long' ? read + ' > ' + gen({ k: 'Long' }, d + 1)
			: ty.k === 'String' ? read + ' like "a*"' : read + '.contains("a")';
		if (chance(0.15)) return use;
		if (chance(0.1)) return v + '.hasTag(' + key + ')';
		return '(' + v + '.hasTag(' + key + ') && ' + use + ')';
	}

	/* the ill-typed or undeclared things Cedar's validator refuses */
	function mistake() {
		return pick([
			() => pick(['principal', 'resource', 'context']) + '.' + pick(ATTR_NAMES) + ' == ' + LIT.Long(),
			() => 'Nope::"x" == principal',
			() => 'action == ' + actionUid(schema, 'nope'),
			() => 'action == Action::"' + pick(schema.actions).name + '"',
			() => '[].isEmpty()',
			() => 'decimal(' + (atom({ k: 'String' }) || '"1.0"') + ').lessThan(decimal("1.0"))',
			() => LIT.Long() + ' + ' + LIT.Bool() + ' == 1',
			() => 'principal.getTag("t") == 1',
			() => 'principal.hasTag("t")',
			() => '[1, "a"].contains(1)',
			() => 'if ' + LIT.Bool() + ' then 1 else "a"',
			() => LIT.Long() + ' in ' + entityOrSet(),
			() => 'decimal("abc").lessThan(decimal("1.0"))',
		])();
	}

	/* a condition: a Bool expression with the guards its accesses need, mostly */
	function condition() {
		used.length = 0;
		const e = genBool(0);
		const gs = [];
		for (const g of used)
			if (!gs.some(h => h.full === g.full)) gs.push(g);
		if (gs.length && chance(0.8)) {
			const guard = gs.map(g => chance(0.5) && g.base.includes('.') && !g.base.startsWith('context.')
				? g.base + ' has ' + g.path : g.base + ' has ' + g.path).join(' && ');
			return guard + ' && (' + e + ')';
		}
		return e;
	}
	return { condition };
}

function randPolicy(schema) {
	const a = pick(schema.actions);
	const p = pick(a.principals);
	const r = pick(a.resources);
	let ps = 'principal';
	let as = 'action';
	let rs = 'resource';
	const Q = n => qual(schema, n);
	if (chance(0.7)) ps = pick(['principal is ' + Q(p), 'principal == ' + Q(p) + '::"p"', 'principal is ' + Q(p) + ' in ' + Q(pick([p].concat(schema.entities.find(e => e.name === p).parents))) + '::"g"']);
	if (chance(0.85)) as = pick(['action == ' + actionUid(schema, a.name), 'action in [' + actionUid(schema, a.name) + ']']);
	if (chance(0.7)) rs = pick(['resource is ' + Q(r), 'resource == ' + Q(r) + '::"r"', 'resource in ' + Q(r) + '::"r"']);
	if (chance(0.03)) ps = 'principal is Nope';
	if (chance(0.04)) ps = 'principal is ' + Q(pick(schema.entities).name);
	if (chance(0.03)) as = 'action == ' + actionUid(schema, 'nope');
	if (schema.ns && chance(0.03)) ps = 'principal is ' + p;	/* unqualified: the empty namespace's */
	const g = Gen(schema, { a, p, r });
	const conds = [];
	const n = chance(0.15) ? 0 : chance(0.8) ? 1 : 2;
	for (let i = 0; i < n; i++)
		conds.push((chance(0.8) ? 'when' : 'unless') + ' { ' + g.condition() + ' }');
	return { head: pick(['permit', 'forbid']) + ' (' + ps + ', ' + as + ', ' + rs + ')', conds };
}

function policyText(p) {
	return p.head + (p.conds.length ? ' ' + p.conds.join(' ') : '') + ';';
}

/* ------------------------------------------------------------------ */
/* the two validators                                                  */

function cedarVerdict(schemaText, policy) {
	/* the JSON format is given to Cedar as the document it is */
	const schema = schemaText.startsWith('{') ? JSON.parse(schemaText) : schemaText;
	const a = cedar.validate({ schema, policies: { staticPolicies: policy }, validationSettings: { mode: 'strict' } });
	if (a.type !== 'success')
		return ['error', a.errors.map((e) => e.message).join('; ')];
	if (a.validationErrors.length > 0)
		return ['reject', a.validationErrors.map((e) => e.error.message).join('; ')];
	const w = a.validationWarnings.filter((e) => /unable to find an applicable action/.test(e.error.message));
	if (w.length > 0)
		return ['reject', '(a warning) ' + w[0].error.message];
	return ['accept', ''];
}

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

const FN = `
SET governance.allow_other_database = on;
CREATE FUNCTION pg_temp.v(s text, p text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text := 'accept';
BEGIN
    BEGIN
        BEGIN
            PERFORM governance.set_schema(s);
        EXCEPTION WHEN OTHERS THEN
            r := 'schema|' || SQLERRM;
        END;
        IF r = 'accept' THEN
            BEGIN
                PERFORM governance.create_policy('p', p);
            EXCEPTION WHEN OTHERS THEN
                r := CASE WHEN SQLSTATE = '42601' THEN 'error|' ELSE 'reject|' END || SQLERRM;
            END;
        END IF;
        RAISE EXCEPTION 'undo' USING ERRCODE = 'GV999';
    EXCEPTION WHEN SQLSTATE 'GV999' THEN
        RETURN replace(r, E'\\n', ' ');
    END;
END
$f$;
`;

function extVerdicts(pairs) {
	let script = FN;
	for (const [s, p] of pairs)
		script += 'SELECT pg_temp.v(' + q(s) + ', ' + q(p) + ');\n';
	const out = psql(DB, script).split('\n').filter((l) => l !== '');
	if (out.length !== pairs.length)
		throw new Error('expected ' + pairs.length + ' answers from the extension, got ' + out.length);
	return out.map(l => { const x = l.split('|'); return [x[0], x.slice(1).join('|')]; });
}

/*
 * Shrink a disagreeing policy: drop conditions, then replace a
 * condition by one operand of its top-level && / ||, while the two
 * validators still disagree.
 */
function splitTop(e) {
	/* the operands of the outermost && or || chain of e, if any */
	const parts = [];
	let depth = 0;
	let start = 0;
	let inStr = false;
	for (let i = 0; i < e.length; i++) {
		const ch = e[i];
		if (inStr) { if (ch === '\\') i++; else if (ch === '"') inStr = false; continue; }
		if (ch === '"') inStr = true;
		else if (ch === '(' || ch === '[' || ch === '{') depth++;
		else if (ch === ')' || ch === ']' || ch === '}') depth--;
		else if (depth === 0 && (e.startsWith('&&', i) || e.startsWith('||', i))) {
			parts.push(e.slice(start, i).trim());
			start = i + 2;
			i++;
		}
	}
	if (!parts.length) {
		const t = e.trim();
		if (t.startsWith('(') && t.endsWith(')')) return splitTop(t.slice(1, -1));
		return [];
	}
	parts.push(e.slice(start).trim());
	return parts;
}

function disagree(schema, pol) {
	const text = policyText(pol);
	const [cv] = cedarVerdict(schema, text);
	const [ov] = extVerdicts([[schema, text]])[0];
	return cv !== 'error' && cv !== ov;
}

function shrink(schema, pol) {
	let cur = pol;
	let progress = true;
	while (progress) {
		progress = false;
		for (let i = 0; i < cur.conds.length && !progress; i++) {
			const fewer = { head: cur.head, conds: cur.conds.filter((_, j) => j !== i) };
			if (disagree(schema, fewer)) { cur = fewer; progress = true; }
		}
		for (let i = 0; i < cur.conds.length && !progress; i++) {
			const m = /^(when|unless) \{ (.*) \}$/.exec(cur.conds[i]);
			if (!m) continue;
			for (const part of splitTop(m[2])) {
				const c2 = cur.conds.slice();
				c2[i] = m[1] + ' { ' + part + ' }';
				const smaller = { head: cur.head, conds: c2 };
				if (disagree(schema, smaller)) { cur = smaller; progress = true; break; }
			}
		}
	}
	return cur;
}

function main() {
	if (!PGBIN || !PGHOST) {
		console.log('not ok - PGBIN and CEDAR_PGHOST must name the server to test');
		process.exit(1);
	}
	const t0 = Date.now();
	const exists = psql('postgres', 'SELECT 1 FROM pg_database WHERE datname = ' + q(DB)).trim();
	if (!exists) psql('postgres', 'CREATE DATABASE ' + DB);
	psql(DB, 'SET client_min_messages = warning; SET governance.allow_other_database = on;' +
		' CREATE EXTENSION IF NOT EXISTS governance;');
	const cases = [];
	while (cases.length < args.cases) {
		const schema = randSchema();
		for (let i = 0; i < args.perSchema && cases.length < args.cases; i++)
			cases.push({ schema, pol: randPolicy(schema) });
	}
	const ours = extVerdicts(cases.map(c => [c.schema.text, policyText(c.pol)]));
	const tally = { accept: 0, reject: 0, skipped: 0 };
	/* what Cedar refused, by kind of error: shows what the run covered */
	const KINDS = [['wrong type', /unexpected type/], ['incompatible types', /not compatible/],
		['optional attribute without has', /optional attribute/], ['undeclared attribute', /attribute .* not found/],
		['unknown entity type or action', /unrecognized|not declared|undeclared/], ['empty set', /empty set/],
		['extension argument', /extension/], ['tag', /tag/], ['no applicable action', /applicable action/]];
	const kinds = {};
	const unparsed = [];
	let failed = 0;
	cases.forEach((c, i) => {
		const text = policyText(c.pol);
		const [cv, cwhy] = cedarVerdict(c.schema.text, text);
		const [ov, owhy] = ours[i];
		if (cv === 'error') {
			/* a policy Cedar does not parse: not a validation case */
			tally.skipped++;
			unparsed.push(cwhy.slice(0, 120));
			return;
		}
		if (cv === 'reject') {
			const k = KINDS.find(([, re]) => re.test(cwhy));
			kinds[k ? k[0] : 'other'] = (kinds[k ? k[0] : 'other'] || 0) + 1;
		}
		if (ov === 'schema') {
			failed++;
			console.log('not ok - the extension refused a generated schema (seed ' + args.seed + '): ' + owhy);
			console.log('#   schema: ' + c.schema.text.replace(/\n/g, ' '));
			return;
		}
		if (cv === ov) {
			tally[cv]++;
			return;
		}
		failed++;
		if (failed > 3) return;
		const small = shrink(c.schema.text, c.pol);
		const stext = policyText(small);
		const [scv, scwhy] = cedarVerdict(c.schema.text, stext);
		const [sov, sowhy] = extVerdicts([[c.schema.text, stext]])[0];
		console.log('not ok - case ' + (i + 1) + ': Cedar ' + cv + 's, governance ' + ov + 's (seed ' + args.seed + ')');
		console.log('#   schema: ' + c.schema.text.replace(/\n/g, ' '));
		console.log('#   policy: ' + stext);
		console.log('#   cedar ' + scv + ': ' + (scwhy || '-').slice(0, 400));
		console.log('#   governance ' + sov + ': ' + (sowhy || '-').slice(0, 400));
		if (stext !== text) console.log('#   (shrunk from: ' + text.slice(0, 600) + ')');
	});
	const secs = ((Date.now() - t0) / 1000).toFixed(1);
	console.log('# refused by Cedar: ' + Object.entries(kinds).map(([k, n]) => k + ' ' + n).join(', '));
	console.log('# schemas of the cases: ' + cases.filter(c => c.schema.ns).length + ' in a namespace, ' +
		cases.filter(c => c.schema.text.startsWith('{')).length + ' in the JSON format, ' +
		cases.filter(c => c.schema.entities.some(e => e.tags)).length + ' with tags');
	if (process.env.VALIDATION_VERBOSE)
		for (const u of unparsed) console.log('# Cedar did not parse: ' + u);
	if (!failed)
		console.log('ok - ' + (cases.length - tally.skipped) + ' random (schema, policy) pairs validated alike: ' +
			tally.accept + ' accepted, ' + tally.reject + ' refused by both (seed ' + args.seed + ')');
	console.log('# ' + cases.length + ' cases (' + tally.skipped + ' Cedar did not parse), ' + failed + ' disagreement(s), ' + secs + ' s, seed ' + args.seed);
	console.log('1..' + (failed ? failed : 1));
	process.exit(failed ? 1 : 0);
}

main();
