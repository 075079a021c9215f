#!/usr/bin/env node
/*
 * The differential test of the policy language (issue 17): random policy
 * sets, entity graphs and requests, decided by the extension (through SQL:
 * governance.decide() and governance.explain(), in a database of its own)
 * and by the reference Cedar implementation (the npm package
 * @cedar-policy/cedar-wasm, pinned in package.json), compared decision by
 * decision and policy by policy, with the documented differences applied
 * (docs/POLICY.md, "Differences from Cedar"):
 *   - a forbid that fails to evaluate denies (Cedar skips it);
 *   - "in" over a hierarchy deeper than governance.max_entity_depth is an
 *     error, where Cedar would answer.
 * Any other disagreement -- a decision, a policy's outcome (match, no
 * match, error), or whether a policy parses at all -- fails, with a
 * reproducer shrunk to one request, the fewest policies, entities and
 * attributes, and the smallest expressions that still disagree.
 *
 * Usage: node differential.cjs [--decisions N] [--seed S] [--requests R]
 * Environment: PGBIN, CEDAR_PGHOST (socket directory), GOV_DBUSER,
 *   CEDAR_DB (default cedar_diff; created, with the extension, if missing).
 * Prints TAP-like "ok - ..." / "not ok - ..." lines.
 */
'use strict';

const { spawnSync } = require('child_process');
const path = require('path');

let cedar;
try {
	cedar = require(path.join(__dirname, 'node_modules/@cedar-policy/cedar-wasm/nodejs'));
} catch (e) {
	console.log('not ok - the reference implementation @cedar-policy/cedar-wasm is not installed in test/cedar/node_modules: ' + e.message);
	process.exit(1);
}

/* ------------------------------------------------------------------ */
/* arguments                                                           */

const args = { mutants: 5, decisions: 20000, seed: null, requests: 100, chunk: 2000, verbose: false };
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	if (a === '--decisions') args.decisions = parseInt(process.argv[++i], 10);
	else if (a === '--seed') args.seed = parseInt(process.argv[++i], 10);
	else if (a === '--requests') args.requests = parseInt(process.argv[++i], 10);
	else if (a === '--chunk') args.chunk = parseInt(process.argv[++i], 10);
	else if (a === '--verbose') args.verbose = true;
	else if (a === '--dump') args.dump = parseInt(process.argv[++i], 10);
	else if (a === '--mutants') args.mutants = parseInt(process.argv[++i], 10);
	else { console.error('unknown argument ' + a); process.exit(2); }
}
if (args.seed === null) args.seed = (Date.now() ^ (process.pid << 8)) >>> 0;

/* ------------------------------------------------------------------ */
/* random numbers (reproducible from the seed)                         */

function mulberry32(a) {
	return function () {
		a |= 0; a = (a + 0x6D2B79F5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
let rnd = mulberry32(args.seed);
const int = n => Math.floor(rnd() * n);
const pick = xs => xs[int(xs.length)];
const chance = p => rnd() < p;

/* ------------------------------------------------------------------ */
/* values: the generator's own typed form, and the two JSON forms      */

const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', '__cedar']);
const isIdent = s => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !RESERVED.has(s) && !s.includes('__cedar');

const V = {
	bool: v => ({ k: 'bool', v }),
	long: v => ({ k: 'long', v: BigInt(v) }),
	str: v => ({ k: 'str', v }),
	ent: (t, id) => ({ k: 'ent', t, id }),
	set: items => ({ k: 'set', items }),
	rec: f => ({ k: 'rec', f }),
	ext: (fn, arg) => ({ k: 'ext', fn, arg }),
};

/* the extension's canonical uid text: Type::"id", " and \ escaped */
const extUid = e => e.t + '::"' + e.id.replace(/[\\"]/g, c => '\\' + c) + '"';
const cedarUid = e => ({ type: e.t, id: e.id });
const uidKey = e => e.t + '::' + JSON.stringify(e.id);

/* JSON text (longs are BigInts: written exactly) */
function extJson(v) {
	switch (v.k) {
		case 'bool': return v.v ? 'true' : 'false';
		case 'long': return v.v.toString();
		case 'str': return JSON.stringify(v.v);
		case 'ent': return '{"__entity":' + JSON.stringify(extUid(v)) + '}';
		case 'set': return '[' + v.items.map(extJson).join(',') + ']';
		case 'rec': return '{' + Object.keys(v.f).map(k => JSON.stringify(k) + ':' + extJson(v.f[k])).join(',') + '}';
		case 'ext': return '{"__extn":{"fn":' + JSON.stringify(v.fn) + ',"arg":' + JSON.stringify(v.arg) + '}}';
	}
	throw new Error('extJson ' + v.k);
}

function cedarJson(v) {
	switch (v.k) {
		case 'bool': return v.v;
		case 'long': return Number(v.v);	/* values carried in JSON stay within 2^53 */
		case 'str': return v.v;
		case 'ent': return { __entity: cedarUid(v) };
		case 'set': return v.items.map(cedarJson);
		case 'rec': { const o = {}; for (const k of Object.keys(v.f)) o[k] = cedarJson(v.f[k]); return o; }
		case 'ext': return { __extn: { fn: v.fn, arg: v.arg } };
	}
	throw new Error('cedarJson ' + v.k);
}

/* a string literal in policy text, with a random mix of escapes */
function strLit(s) {
	let out = '"';
	for (const ch of s) {
		const cp = ch.codePointAt(0);
		if (ch === '"') out += '\\"';
		else if (ch === '\\') out += '\\\\';
		else if (ch === '\n') out += chance(0.5) ? '\\n' : '\\u{a}';
		else if (ch === '\t') out += '\\t';
		else if (ch === '\r') out += '\\r';
		else if (cp === 0) out += pick(['\\0', '\\x00', '\\u{0}']);
		else if (cp < 0x20) out += '\\u{' + cp.toString(16) + '}';
		else if (cp < 0x80 && chance(0.05)) out += '\\x' + cp.toString(16).padStart(2, '0');
		else if (cp > 0x7f && chance(0.3)) out += '\\u{' + cp.toString(16) + '}';
		else if (ch === "'" && chance(0.5)) out += "\\'";
		else out += ch;
	}
	return out + '"';
}

const entLit = e => e.t + '::' + strLit(e.id);

/* ------------------------------------------------------------------ */
/* scenarios: entities, attributes, context, policies, requests        */

const TYPES = ['User', 'Group', 'Doc', 'Folder', 'Org::Team'];
const IDS = ['a', 'b', 'c', 'alice', 'bob', 'x y', 'q"t', 'b\\s', 'é', '日本', '', '0', 'a*b', 'line\nbreak'];
const STRS = ['', 'a', 'nul\0in',  'ab', 'abc', 'ba', 'a*b', 'x y', 'é', '日本', 'admin', 'team-1', 'secret', 'q"t', 'b\\s'];
const LONGS = [0, 1, 2, 3, -1, -2, 5, 10, 100, 1000, -1000, 4611686018427387904n, 9007199254740991, -9007199254740991];
const BIG = [9223372036854775807n, -9223372036854775808n, 4611686018427387904n, 3037000500n];
const ACTIONS = ['read', 'write', 'delete', 'admin'];

/* attribute names and the type each usually has in a scenario */
const ATTRS = [
	['n', 'long'], ['level', 'long'], ['s', 'str'], ['name', 'str'], ['b', 'bool'], ['ok', 'bool'],
	['tags', 'set'], ['nums', 'set'], ['owner', 'ent'], ['meta', 'rec'], ['a b', 'long'], ['when', 'str'],
	['since', 'datetime'], ['net', 'ip'], ['quota', 'decimal'],
];
/* entity tags (issue 17, step 3) and the type each usually has */
const TAGS = [['role', 'str'], ['n', 'long'], ['env', 'str'], ['x y', 'bool'], ['since', 'datetime']];
const CTX = [
	['amount', 'long'], ['n', 'long'], ['s', 'str'], ['flag', 'bool'], ['ids', 'set'], ['who', 'ent'],
	['r', 'rec'], ['x-y', 'str'], ['limit', 'decimal'], ['src', 'ip'], ['at', 'datetime'], ['ttl', 'duration'],
];

function genEntityUid(sc) {
	const ents = sc.entities.filter(e => e.uid.t !== 'Action' && e.uid.t !== 'L');
	if (ents.length && chance(0.85)) return pick(ents).uid;
	return V.ent(pick(TYPES), pick(IDS));	/* maybe not in the store */
}

function genValue(type, depth, sc) {
	switch (type) {
		case 'bool': return V.bool(chance(0.5));
		case 'long': return V.long(pick(LONGS.filter(x => typeof x !== 'bigint')));
		case 'str': return V.str(pick(STRS.filter(x => !x.includes('\0'))));
		case 'ent': return genEntityUid(sc);
		case 'decimal': case 'ip': case 'datetime': case 'duration':
			/* Cedar refuses a request or store holding a malformed one: valid strings only */
			return V.ext(type, pick(EXT_STRS[type].slice(0, EXT_VALID[type])));
		case 'set': {
			const n = int(4);
			const et = depth > 1 ? pick(['long', 'str']) : pick(['long', 'str', 'ent', 'ent', 'set']);
			const items = [];
			for (let i = 0; i < n; i++) items.push(genValue(chance(0.1) ? pick(['long', 'str', 'bool']) : et, depth + 1, sc));
			return V.set(items);
		}
		case 'rec': {
			const f = {};
			const n = int(3);
			for (let i = 0; i < n; i++) {
				const [name, t] = pick(ATTRS);
				f[name] = genValue(depth > 1 && (t === 'rec' || t === 'set') ? 'long' : t, depth + 1, sc);
			}
			return V.rec(f);
		}
	}
	throw new Error('genValue ' + type);
}

function genAttrs(list, sc, keep) {
	const f = {};
	for (const [name, t] of list) {
		if (!chance(keep)) continue;
		const wrong = chance(0.05);
		f[name] = genValue(wrong ? pick(['long', 'str', 'bool', 'set']) : t, 0, sc);
	}
	return f;
}

function genScenario(maxDepth) {
	const sc = { entities: [], policies: [], requests: [], maxDepth };
	const n = 3 + int(10);
	const seen = new Set();
	for (let i = 0; i < n; i++) {
		const uid = V.ent(pick(TYPES), pick(IDS));
		if (seen.has(uidKey(uid))) continue;
		seen.add(uidKey(uid));
		sc.entities.push({ uid, parents: [], attrs: {} });
	}
	/* parents only among earlier entities: Cedar refuses cycles */
	sc.entities.forEach((e, i) => {
		const np = i === 0 ? 0 : int(3);
		for (let k = 0; k < np; k++) {
			const p = sc.entities[int(i)].uid;
			if (!e.parents.some(q => uidKey(q) === uidKey(p))) e.parents.push(p);
		}
		if (chance(0.1)) e.parents.push(V.ent(pick(TYPES), pick(IDS) + '-absent'));
	});
	sc.entities.forEach(e => { e.attrs = genAttrs(ATTRS, sc, 0.4); e.tags = genAttrs(TAGS, sc, 0.3); });
	/* actions, with a group */
	sc.entities.push({ uid: V.ent('Action', 'all'), parents: [], attrs: {} });
	for (const a of ACTIONS)
		if (chance(0.6)) sc.entities.push({ uid: V.ent('Action', a), parents: [V.ent('Action', 'all')], attrs: {} });
	/* now and then a hierarchy deeper than max_entity_depth */
	if (chance(0.03)) {
		const len = maxDepth + 1 + int(3);
		for (let i = 0; i <= len; i++)
			sc.entities.push({ uid: V.ent('L', String(i)), parents: i < len ? [V.ent('L', String(i + 1))] : [], attrs: {} });
		sc.deep = len;
	}
	const np = 1 + int(5);
	for (let i = 0; i < np; i++) sc.policies.push(genPolicy(sc));
	sc.asSet = chance(0.3);
	sc.cedarJson = chance(0.3);	/* put_entities() rather than put_entity() */
	return sc;
}

function scopeUid(sc, forAction) {
	if (forAction) return V.ent('Action', pick(ACTIONS.concat(['all', 'all', 'other'])));
	if (sc.deep && chance(0.3)) return V.ent('L', String(int(sc.deep + 1)));
	return genEntityUid(sc);
}

function genScope(sc, forAction) {
	const r = rnd();
	if (!forAction && r < 0.12) return chance(0.5) ? { op: 'is', type: pick(IS_TYPES) } : { op: 'isin', type: pick(IS_TYPES), e: scopeUid(sc, false) };
	if (r < 0.5) return { op: 'any' };
	if (r < 0.65) return { op: '==', e: scopeUid(sc, forAction) };
	if (forAction && r < 0.85) {
		const n = int(4);
		const es = [];
		for (let i = 0; i < n; i++) es.push(scopeUid(sc, true));
		return { op: 'in[]', es };
	}
	return { op: 'in', e: scopeUid(sc, forAction) };
}

function genPolicy(sc) {
	const p = {
		effect: chance(0.6) ? 'permit' : 'forbid',
		principal: genScope(sc, false),
		action: genScope(sc, true),
		resource: genScope(sc, false),
		conds: [],
		trailingComma: chance(0.05),
		annotations: [],
	};
	for (const k of ['id', 'advice', 'if', 'owner'])
		if (chance(0.15)) p.annotations.push([k, chance(0.8) ? pick(STRS) : null]);
	const nc = int(3);
	for (let i = 0; i < nc; i++) p.conds.push({ when: chance(0.7), e: genExpr(sc, chance(0.03) ? pick(['long', 'str']) : 'bool', 0) });
	if (chance(0.3)) {
		/*
		 * a template (?principal / ?resource where the scope names an
		 * entity), linked with the entity the scope named: Cedar's policy
		 * set holds the template and the link, the extension
		 * create_template() and link_template()
		 */
		for (const part of ['principal', 'resource'])
			if (p[part].e && chance(0.7)) p[part].slot = true;
		if (!p.principal.slot && !p.resource.slot) {
			const part = chance(0.5) ? 'principal' : 'resource';
			p[part] = { op: pick(['==', 'in', 'isin']), type: pick(IS_TYPES), e: scopeUid(sc, false), slot: true };
		}
	}
	return p;
}

/* -------- expressions (a tree of nodes, each with .kids for shrinking) */

const N = {
	lit: v => ({ t: 'lit', v, kids: [] }),
	var_: name => ({ t: 'var', name, kids: [] }),
	attr: (e, name) => ({ t: 'attr', name, kids: [e] }),
	has: (e, name) => ({ t: 'has', name, kids: [e] }),
	bin: (op, l, r) => ({ t: 'bin', op, kids: [l, r] }),
	not: e => ({ t: 'not', kids: [e] }),
	neg: e => ({ t: 'neg', kids: [e] }),
	like: (e, pat) => ({ t: 'like', pat, kids: [e] }),
	if_: (c, a, b) => ({ t: 'if', kids: [c, a, b] }),
	set: items => ({ t: 'set', kids: items }),
	call: (m, r, a) => ({ t: 'call', m, kids: [r, a] }),
	is: (e, type) => ({ t: 'is', type, kids: [e] }),
	isIn: (e, type, r) => ({ t: 'isin', type, kids: [e, r] }),
	isEmpty: e => ({ t: 'isempty', kids: [e] }),
	rec: (keys, vals) => ({ t: 'rec', keys, kids: vals }),
	hasPath: (e, names) => ({ t: 'haspath', names, kids: [e] }),
	fn: (name, args) => ({ t: 'fn', name, kids: args }),
	meth: (m, args) => ({ t: 'meth', m, kids: args }),
};

/*
 * The extension types (issue 17, step 2): constructor strings, valid ones
 * (edges included) and ones Cedar refuses, so parsing is compared string
 * by string.
 */
const EXT_STRS = {
	decimal: ['0.0', '1.0', '-1.5', '1.2345', '0.0001', '-0.0001', '922337203685477.5807', '-922337203685477.5808',
		'100.25', '01.50', '2.5', '-0.0', '100.0',
		'1', '1.23456', '922337203685477.5808', '+1.0', '.5', '1.', 'abc', '', '1.0 ', '-', '١.0'],
	ip: ['127.0.0.1', '10.0.0.1', '10.0.0.0/8', '10.1.2.3/8', '192.168.1.1/24', '224.0.0.1', '224.0.0.1/4',
		'224.0.0.1/3', '0.0.0.0/0', '::1', '::', '::/0', 'ff00::/8', 'ff02::1', 'FF00::/7', '2001:db8::/32',
		'2001:db8::1', '1:2:3:4:5:6:7:8', '127.0.0.1/7', '::1/127', '1.2.3.4/32', '10.0.0.1/16', '1::', '::1:2:3:4:5:6:7',
		'010.0.0.1', '1.2.3', '256.0.0.1', '::ffff:1.2.3.4', '1.2.3.4/33', '1.2.3.4/08', '1::2::3',
		'1:2:3:4:5:6:7:8::', '1.2.3.4/', '', '::/129', '00001::', 'fe80::1%1', ' 1.2.3.4', '::/000'],
	datetime: ['2024-01-01', '2024-02-29', '1970-01-01', '1969-12-31T23:59:59.999Z', '2024-01-01T12:30:00Z',
		'2024-01-01T01:00:00+0100', '2024-06-15T08:00:00.250-0530', '0000-01-01', '9999-12-31T23:59:59.999Z',
		'2000-02-29T00:00:00+2359', '2024-01-02',
		'2023-02-29', '2024-13-01', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00', '2024-01-01T00:00:00.1Z',
		'2024-1-01', '2024-01-01T00:00:00+01:00', '2024-01-01T00:00:00+2400', '1900-02-29', '2024-01-01t00:00:00Z'],
	duration: ['0ms', '1ms', '1d', '-1d', '1h', '90m', '1d2h3m4s5ms', '-36h', '24h', '1s', '-1500ms', '106751991167d',
		'9223372036854775807ms', '-9223372036854775808ms', '01d', '2h30m',
		'', '1h1d', '1D', '1.5h', '+1d', '9223372036854775808ms', '106751991168d', '-', '1d1d', '1d 2h'],
};

/* how many of EXT_STRS[type], from the first, Cedar accepts */
const EXT_VALID = { decimal: 13, ip: 24, datetime: 11, duration: 16 };

/* an expression of an extension type */
function genExtExpr(sc, type, d) {
	if (d >= MAXD || chance(0.55)) {
		if (chance(0.05)) return N.fn(type, [genExpr(sc, 'str', d + 1)]);	/* a string from elsewhere */
		if (chance(0.2)) return chance(0.6) ? N.attr(N.var_('context'), pick(attrsOfType(CTX, type)))
			: N.attr(genEntityExpr(sc, d + 1), pick(attrsOfType(ATTRS, type)));
		if (chance(0.01)) return N.fn(type, chance(0.5) ? [] : [N.lit(V.str('1.0')), N.lit(V.str('1.0'))]);
		return N.fn(type, [N.lit(V.str(pick(EXT_STRS[type])))]);
	}
	switch (type) {
		case 'datetime':
			if (chance(0.5)) return N.meth('offset', [genExtExpr(sc, 'datetime', d + 1), genExtExpr(sc, 'duration', d + 1)]);
			if (chance(0.6)) return N.meth('toDate', [genExtExpr(sc, 'datetime', d + 1)]);
			break;
		case 'duration':
			if (chance(0.5)) return N.meth('durationSince', [genExtExpr(sc, 'datetime', d + 1), genExtExpr(sc, 'datetime', d + 1)]);
			if (chance(0.6)) return N.meth('toTime', [genExtExpr(sc, 'datetime', d + 1)]);
			break;
	}
	return N.if_(genExpr(sc, 'bool', d + 1), genExtExpr(sc, type, d + 1), genExtExpr(sc, type, d + 1));
}

/* a boolean or integer made of extension values */
function genExtUse(sc, type, d) {
	if (type === 'long')
		return N.meth(pick(['toDays', 'toHours', 'toMinutes', 'toSeconds', 'toMilliseconds']), [genExtExpr(sc, 'duration', d + 1)]);
	switch (int(6)) {
		case 0: return N.meth(pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual']),
			[genExtExpr(sc, 'decimal', d + 1), genExtExpr(sc, chance(0.95) ? 'decimal' : 'ip', d + 1)]);
		case 1: return N.meth(pick(['isIpv4', 'isIpv6', 'isLoopback', 'isMulticast']), [genExtExpr(sc, 'ip', d + 1)]);
		case 2: return N.meth('isInRange', [genExtExpr(sc, 'ip', d + 1), genExtExpr(sc, 'ip', d + 1)]);
		case 3: {
			const t = pick(['datetime', 'duration']);
			return N.bin(pick(['<', '<=', '>', '>=']), genExtExpr(sc, t, d + 1), chance(0.95) ? genExtExpr(sc, t, d + 1) : genExpr(sc, 'long', d + 1));
		}
		default: {
			const t = pick(['decimal', 'ip', 'datetime', 'duration']);
			return N.bin(pick(['==', '!=']), genExtExpr(sc, t, d + 1),
				chance(0.9) ? genExtExpr(sc, t, d + 1) : genExpr(sc, pick(['long', 'str']), d + 1));
		}
	}
}

const IS_TYPES = TYPES.concat(['Action', 'L', 'Org']);

const MAXD = 4;

function attrsOfType(list, type) {
	const xs = list.filter(([, t]) => t === type).map(([n]) => n);
	return xs.length ? xs : list.map(([n]) => n);
}

function genEntityExpr(sc, d) {
	const r = rnd();
	if (r < 0.5) return N.var_(pick(['principal', 'principal', 'resource', 'action']));
	if (r < 0.75 || d >= MAXD) return N.lit(chance(0.8) ? genEntityUid(sc) : V.ent('Action', pick(ACTIONS)));
	if (r < 0.88) return N.attr(N.var_(pick(['principal', 'resource'])), 'owner');
	return N.attr(N.var_('context'), 'who');
}

/* a tag name, mostly a literal, of a tag that usually has the given type */
function genTagName(sc, d, type) {
	if (chance(0.05)) return genExpr(sc, 'str', d + 1);
	const names = type ? TAGS.filter(([, t]) => t === type).map(([n]) => n) : TAGS.map(([n]) => n);
	return N.lit(V.str(chance(0.9) && names.length ? pick(names) : pick(STRS)));
}

/* an expression of (usually) the given type */
function genExpr(sc, type, d) {
	if (chance(0.04)) type = pick(['bool', 'long', 'str', 'ent', 'set', 'rec']);	/* a type error, now and then */
	const leaf = d >= MAXD || chance(0.15 + 0.12 * d);
	const ctxAttr = t => N.attr(N.var_('context'), pick(attrsOfType(CTX, t)));
	const entAttr = t => chance(0.1) ? N.meth('getTag', [genEntityExpr(sc, d + 1), genTagName(sc, d, t)])
		: N.attr(genEntityExpr(sc, d + 1), pick(attrsOfType(ATTRS, t)));
	switch (type) {
		case 'bool': {
			if (leaf) return pick([() => N.lit(V.bool(chance(0.5))), () => ctxAttr('bool'), () => entAttr('bool'),
				() => N.has(pick([N.var_('context'), genEntityExpr(sc, d + 1)]), pick(ATTRS.concat(CTX))[0])])();
			const r = int(25);
			switch (r) {
				case 20: case 21: case 22: case 23: return genExtUse(sc, 'bool', d);
				case 24: return chance(0.6) ? N.meth('hasTag', [genEntityExpr(sc, d + 1), genTagName(sc, d)])
					: N.meth('getTag', [genEntityExpr(sc, d + 1), genTagName(sc, d, 'bool')]);
				case 15: return N.is(genEntityExpr(sc, d + 1), pick(IS_TYPES));
				case 16: return N.isIn(genEntityExpr(sc, d + 1), pick(IS_TYPES), chance(0.7) ? genEntityExpr(sc, d + 1)
					: N.set([genEntityExpr(sc, d + 1), genEntityExpr(sc, d + 1)]));
				case 17: return N.isEmpty(genExpr(sc, 'set', d + 1));
				case 18: return N.hasPath(pick([N.var_('context'), genEntityExpr(sc, d + 1)]),
					[pick(ATTRS.concat(CTX))[0], pick(ATTRS)[0]].concat(chance(0.3) ? [pick(ATTRS)[0]] : []).filter(isIdent));
				case 19: return N.bin(pick(['==', '!=']), genExpr(sc, 'rec', d + 1), genExpr(sc, 'rec', d + 1));
				case 0: return N.bin(pick(['<', '<=', '>', '>=']), genExpr(sc, 'long', d + 1), genExpr(sc, 'long', d + 1));
				case 1: case 2: {
					const t = pick(['long', 'str', 'ent', 'bool', 'set', 'rec']);
					return N.bin(pick(['==', '!=']), genExpr(sc, t, d + 1), genExpr(sc, chance(0.9) ? t : pick(['long', 'str']), d + 1));
				}
				case 3: return N.bin('in', genEntityExpr(sc, d + 1), chance(0.7) ? genEntityExpr(sc, d + 1)
					: N.set([genEntityExpr(sc, d + 1), genEntityExpr(sc, d + 1)]));
				case 4: return N.has(pick([N.var_('context'), genEntityExpr(sc, d + 1), ctxAttr('rec')]), pick(ATTRS.concat(CTX))[0]);
				case 5: return N.like(genExpr(sc, 'str', d + 1), genPattern());
				case 6: case 7: return N.bin(pick(['&&', '||']), genExpr(sc, 'bool', d + 1), genExpr(sc, 'bool', d + 1));
				case 8: return N.not(genExpr(sc, 'bool', d + 1));
				case 9: return N.if_(genExpr(sc, 'bool', d + 1), genExpr(sc, 'bool', d + 1), genExpr(sc, 'bool', d + 1));
				case 10: return N.call('contains', genExpr(sc, 'set', d + 1), genExpr(sc, pick(['long', 'str', 'ent']), d + 1));
				case 11: return N.call(pick(['containsAll', 'containsAny']), genExpr(sc, 'set', d + 1), genExpr(sc, 'set', d + 1));
				case 12: return entAttr('bool');
				case 13: return ctxAttr('bool');
				default: return N.bin('in', genEntityExpr(sc, d + 1), N.lit(V.ent('L', String(int(8)))));
			}
		}
		case 'long': {
			if (leaf) return pick([() => N.lit(V.long(pick(chance(0.1) ? BIG : LONGS))), () => ctxAttr('long'), () => entAttr('long')])();
			const r = int(6);
			if (r === 5) return genExtUse(sc, 'long', d);
			if (r === 0) return N.neg(genExpr(sc, 'long', d + 1));
			if (r === 1) return N.if_(genExpr(sc, 'bool', d + 1), genExpr(sc, 'long', d + 1), genExpr(sc, 'long', d + 1));
			return N.bin(pick(['+', '-', '*']), genExpr(sc, 'long', d + 1), genExpr(sc, 'long', d + 1));
		}
		case 'str':
			if (leaf || chance(0.5)) return pick([() => N.lit(V.str(pick(STRS))), () => ctxAttr('str'), () => entAttr('str')])();
			return N.if_(genExpr(sc, 'bool', d + 1), genExpr(sc, 'str', d + 1), genExpr(sc, 'str', d + 1));
		case 'ent':
			return genEntityExpr(sc, d);
		case 'decimal': case 'ip': case 'datetime': case 'duration':
			return genExtExpr(sc, type, d);
		case 'set': {
			if (leaf || chance(0.4)) return pick([() => ctxAttr('set'), () => entAttr('set')])();
			const n = int(4);
			const t = pick(['long', 'str', 'ent']);
			const items = [];
			for (let i = 0; i < n; i++) items.push(genExpr(sc, t, d + 1));
			return N.set(items);
		}
		case 'rec': {
			if (leaf || chance(0.5)) return pick([() => N.var_('context'), () => ctxAttr('rec'), () => entAttr('rec')])();
			/* a record literal, keys as entity attributes have them (so == can hold) */
			const keys = [];
			const vals = [];
			const n = int(3);
			for (let i = 0; i < n; i++) {
				const [name, t] = pick(ATTRS);
				if (keys.includes(name)) continue;
				keys.push(name);
				vals.push(genExpr(sc, t === 'rec' ? 'long' : t, d + 1));
			}
			return N.rec(keys, vals);
		}
	}
	throw new Error('genExpr ' + type);
}

function genPattern() {
	const parts = [];
	const n = int(4);
	for (let i = 0; i < n; i++) {
		const r = rnd();
		if (r < 0.35) parts.push('*');
		else if (r < 0.45) parts.push('\\*');
		else parts.push(strLit(pick(STRS)).slice(1, -1));
	}
	return '"' + parts.join('') + '"';
}

/* -------- rendering: one text, given to both sides */

function render(n) {
	const sub = k => {
		const s = render(k);
		return (k.t === 'lit' && k.v.k !== 'long') || k.t === 'var' || k.t === 'set' || k.t === 'attr' || k.t === 'rec' ||
			k.t === 'fn' || k.t === 'meth' ? s : '(' + s + ')';
	};
	switch (n.t) {
		case 'lit': {
			const v = n.v;
			if (v.k === 'bool') return v.v ? 'true' : 'false';
			if (v.k === 'long') return v.v < 0n ? '-' + (-v.v).toString() : v.v.toString();
			if (v.k === 'str') return strLit(v.v);
			if (v.k === 'ent') return entLit(v);
			throw new Error('render lit ' + v.k);
		}
		case 'var': return n.name;
		case 'attr': return sub(n.kids[0]) + (isIdent(n.name) && !n.bracket ? '.' + n.name : '[' + strLit(n.name) + ']');
		case 'has': return sub(n.kids[0]) + ' has ' + (isIdent(n.name) ? n.name : strLit(n.name));
		case 'bin': return sub(n.kids[0]) + ' ' + n.op + ' ' + sub(n.kids[1]);
		case 'not': return '!' + sub(n.kids[0]);
		case 'neg': return '-' + sub(n.kids[0]);
		case 'like': return sub(n.kids[0]) + ' like ' + n.pat;
		case 'if': return 'if ' + render(n.kids[0]) + ' then ' + render(n.kids[1]) + ' else ' + render(n.kids[2]);
		case 'set': return '[' + n.kids.map(render).join(', ') + (n.kids.length && chance(0.2) ? ',' : '') + ']';
		case 'call': return sub(n.kids[0]) + '.' + n.m + '(' + render(n.kids[1]) + ')';
		case 'is': return sub(n.kids[0]) + ' is ' + n.type;
		case 'isin': return sub(n.kids[0]) + ' is ' + n.type + ' in ' + sub(n.kids[1]);
		case 'isempty': return sub(n.kids[0]) + '.isEmpty()';
		case 'rec': return '{' + n.keys.map((k, i) => (isIdent(k) && chance(0.7) ? k : strLit(k)) + ': ' + render(n.kids[i])).join(', ') + (n.keys.length && chance(0.3) ? ',' : '') + '}';
		case 'haspath': return n.names.length ? sub(n.kids[0]) + ' has ' + n.names.join('.') : 'true';
		case 'fn': return n.name + '(' + n.kids.map(render).join(', ') + (n.kids.length && chance(0.1) ? ',' : '') + ')';
		case 'meth': return sub(n.kids[0]) + '.' + n.m + '(' + n.kids.slice(1).map(render).join(', ') + ')';
	}
	throw new Error('render ' + n.t);
}

/* a slot renders as itself when asked for the template's text */
function renderScope(name, s, tmpl) {
	const lit = e => s.slot && tmpl ? '?' + name : entLit(e);
	if (s.op === 'any') return name;
	if (s.op === '==') return name + ' == ' + lit(s.e);
	if (s.op === 'in') return name + ' in ' + lit(s.e);
	if (s.op === 'is') return name + ' is ' + s.type;
	if (s.op === 'isin') return name + ' is ' + s.type + ' in ' + lit(s.e);
	return name + ' in [' + s.es.map(entLit).join(', ') + (s.es.length && chance(0.2) ? ',' : '') + ']';
}

function renderPolicy(p, tmpl) {
	let s = (p.annotations || []).map(([k, v]) => '@' + k + (v === null ? '' : '(' + strLit(v) + ')') + '\n').join('');
	s += p.effect + ' (' + renderScope('principal', p.principal, tmpl) + ', ' + renderScope('action', p.action) +
		', ' + renderScope('resource', p.resource, tmpl) + (p.trailingComma ? ',' : '') + ')';
	for (const c of p.conds) s += '\n  ' + (c.when ? 'when' : 'unless') + ' { ' + render(c.e) + ' }';
	return s + ';';
}

/* -------- mutants: policy texts with a token changed, for accept/reject */

const TOKEN_RE = /"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\d+|::|==|!=|<=|>=|&&|\|\||\S/g;
const INSERTS = ['is', 'in', 'has', 'like', ',', '.', '(', ')', '[', ']', '{', '}', ':', '::', ';', '@id("m")', '@a',
	'if', 'then', 'else', 'true', '__cedar', '"\\x80"', '"\\0"', '"\\x41"', '.isEmpty()', '.contains(1)', '-', '!', '*',
	'0', '9223372036854775808', 'permit', 'forbid', 'when', 'unless', 'principal', 'context', 'User::"a"', 'is User',
	'{a: 1}', '[1,]', 'has a.b', '"\\u{0}"', '"\\u{110000}"', '"\\*"', '@id("m")@id("n")', 'Org::Team',
	'decimal', 'ip', 'datetime("2024-01-01")', '.lessThan', '.isIpv4()', '.offset(', 'toDays', 'foo(', '.bar()',
	'lessThan(', '.decimal("1.0")', 'duration("1h")', '?principal', '?resource', '?action', '?', '== ?principal',
	'in ?resource'];
const RESERVED_LIST = [...RESERVED];

function mutate(text) {
	const toks = text.match(TOKEN_RE) || [];
	const n = 1 + int(2);
	for (let k = 0; k < n && toks.length; k++) {
		const i = int(toks.length);
		switch (int(5)) {
			case 0: toks.splice(i, 1); break;
			case 1: toks.splice(i, 0, toks[i]); break;
			case 2: if (i + 1 < toks.length) [toks[i], toks[i + 1]] = [toks[i + 1], toks[i]]; break;
			case 3: toks.splice(i, 0, pick(INSERTS)); break;
			default:
				if (/^[A-Za-z_]/.test(toks[i])) toks[i] = pick(RESERVED_LIST.concat(['permit', 'action', 'Action', 'x']));
				else toks.splice(i, 0, pick(INSERTS));
		}
	}
	return toks.join(' ');
}

function genRequest(sc) {
	const ents = sc.entities.filter(e => e.uid.t !== 'Action');
	const pickUid = () => {
		if (sc.deep && chance(0.3)) return V.ent('L', String(int(4)));
		return ents.length && chance(0.85) ? pick(ents).uid : V.ent(pick(TYPES), pick(IDS));
	};
	const ctx = genAttrs(CTX, sc, 0.7);
	return {
		principal: pickUid(),
		action: V.ent('Action', pick(ACTIONS.concat(['other']))),
		resource: pickUid(),
		context: V.rec(ctx),
	};
}

/* ------------------------------------------------------------------ */
/* the extension, through SQL                                          */

const PGBIN = process.env.PGBIN;
const PGHOST = process.env.CEDAR_PGHOST;
const PGUSER = process.env.GOV_DBUSER || 'postgres';
const DB = process.env.CEDAR_DB || 'cedar_diff';

function psql(db, script) {
	const r = spawnSync(path.join(PGBIN, 'psql'),
		['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', PGHOST, '-p', '5432', '-U', PGUSER, '-d', db, '-f', '-'],
		{ input: script, encoding: 'utf8', maxBuffer: 1 << 30 });
	if (r.status !== 0)
		throw new Error('psql failed (' + r.status + '): ' + (r.stderr || '').slice(0, 2000));
	return r.stdout;
}

const q = s => "'" + s.replace(/'/g, "''") + "'";

function setupDatabase() {
	const exists = psql('postgres', 'SELECT 1 FROM pg_database WHERE datname = ' + q(DB)).trim();
	if (!exists) psql('postgres', 'CREATE DATABASE ' + DB);
	psql(DB, `
-- decisions only, no workers needed: a database of its own (placement.sh)
SET governance.allow_other_database = on;
CREATE EXTENSION IF NOT EXISTS governance;
CREATE OR REPLACE FUNCTION pg_temp.x() RETURNS void LANGUAGE sql AS 'SELECT';
CREATE SCHEMA IF NOT EXISTS cedar_diff;
CREATE OR REPLACE FUNCTION cedar_diff.try_create(n text, s text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM governance.create_policy(n, s);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $f$;
-- does it parse?  NULL or the error; never stores anything
CREATE OR REPLACE FUNCTION cedar_diff.try_parse(s text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM governance.create_policy('cedar_diff_mutant', s);
	RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'parsed';
EXCEPTION WHEN OTHERS THEN
	IF SQLSTATE = 'P0001' AND SQLERRM = 'parsed' THEN
		RETURN NULL;
	END IF;
	RETURN SQLSTATE || ' ' || SQLERRM;
END $f$;
CREATE OR REPLACE FUNCTION cedar_diff.try_set(s text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM governance.create_policies(s);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $f$;
-- a template and its link (issue 17): NULL or the error
CREATE OR REPLACE FUNCTION cedar_diff.try_link(n text, s text, p text, r text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM governance.create_template('t_' || n, s);
	PERFORM governance.link_template('t_' || n, n, p, r);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $f$;
CREATE OR REPLACE FUNCTION cedar_diff.try_parse_template(s text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM governance.create_template('cedar_diff_mutant', s);
	RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'parsed';
EXCEPTION WHEN OTHERS THEN
	IF SQLSTATE = 'P0001' AND SQLERRM = 'parsed' THEN
		RETURN NULL;
	END IF;
	RETURN SQLSTATE || ' ' || SQLERRM;
END $f$;
CREATE OR REPLACE FUNCTION cedar_diff.reset() RETURNS void LANGUAGE plpgsql AS $f$
DECLARE r record;
BEGIN
	FOR r IN SELECT name FROM governance.template_links LOOP PERFORM governance.unlink_template(r.name); END LOOP;
	FOR r IN SELECT name FROM governance.policy_templates LOOP PERFORM governance.drop_template(r.name); END LOOP;
	FOR r IN SELECT name FROM governance.policies LOOP PERFORM governance.drop_policy(r.name); END LOOP;
	FOR r IN SELECT uid FROM governance.entities LOOP PERFORM governance.delete_entity(r.uid); END LOOP;
END $f$;
SELECT cedar_diff.reset();
`);
	return parseInt(psql(DB, 'SHOW governance.max_entity_depth').trim(), 10);
}

/* SQL for one scenario: create, put, decide every request, reset */
function scenarioSql(sid, sc) {
	const lines = [];
	if (sc.asSet) {
		/* the whole set in one source (create_policies), each named by its @id */
		const src = sc.policies.map(p => p.text).join('\n\n');
		lines.push(`SELECT json_build_object('s',${sid},'create',(SELECT json_build_array(${sc.policies.map(() => 'e').join(',')}) FROM cedar_diff.try_set(${q(src)}) e));`);
	} else
		lines.push('SELECT json_build_object(\'s\',' + sid + ',\'create\',json_build_array(' +
			sc.policies.map((p, i) => p.tmpl ?
				'cedar_diff.try_link(' + q('p' + i) + ',' + q(p.ttext) + ',' +
				(p.principal.slot ? q(extUid(p.principal.e)) : 'NULL') + ',' + (p.resource.slot ? q(extUid(p.resource.e)) : 'NULL') + ')' :
				'cedar_diff.try_create(' + q('p' + i) + ',' + q(p.text) + ')').join(',') + '));');
	if (sc.cedarJson)
		/* the store in Cedar's JSON entity format, as Cedar reads it */
		lines.push('SELECT governance.put_entities(' + q(JSON.stringify(cedarEntities(sc))) + '::jsonb);');
	else for (const e of sc.entities)
		lines.push('SELECT governance.put_entity(' + q(extUid(e.uid)) + ', ARRAY[' +
			e.parents.map(p => q(extUid(p))).join(',') + ']::text[], ' + q(extJson(V.rec(e.attrs))) + '::jsonb, ' +
			q(extJson(V.rec(e.tags || {}))) + '::jsonb);');
	if (sc.mutants && sc.mutants.length)
		lines.push(`SELECT json_build_object('s',${sid},'mut',json_build_array(${sc.mutants.map(m => 'cedar_diff.try_parse(' + q(m) + ')').join(',')}));`);
	if (sc.tmutants && sc.tmutants.length)
		lines.push(`SELECT json_build_object('s',${sid},'tmut',json_build_array(${sc.tmutants.map(m => 'cedar_diff.try_parse_template(' + q(m) + ')').join(',')}));`);
	if (sc.requests.length) {
		const rows = sc.requests.map((r, i) => '(' + i + ',' + q(extUid(r.principal)) + ',' + q(extUid(r.action)) + ',' +
			q(extUid(r.resource)) + ',' + q(extJson(r.context)) + '::jsonb)');
		lines.push(`SELECT json_build_object('s',${sid},'i',r.i,'d',(governance.decide(r.p,r.a,r.r,r.c)).decision,
  'x',(SELECT json_agg(json_build_array(e.policy,e.matched,e.error) ORDER BY e.policy) FROM governance.explain(r.p,r.a,r.r,r.c) e))
FROM (VALUES ${rows.join(',\n')}) r(i,p,a,r,c) ORDER BY r.i;`);
	}
	lines.push('SELECT cedar_diff.reset();');
	return lines.join('\n');
}

/* run scenarios through the extension; returns per scenario {create, results[]} */
function runExtension(scs) {
	const script = scs.map((sc, sid) => scenarioSql(sid, sc)).join('\n');
	if (process.env.CEDAR_DUMP_SQL && scs.length > 1) require('fs').writeFileSync(process.env.CEDAR_DUMP_SQL, script);
	const out = psql(DB, script);
	const res = scs.map(() => ({ create: null, results: [] }));
	for (const line of out.split('\n')) {
		if (!line.startsWith('{')) continue;
		const o = JSON.parse(line);
		if (o.create) res[o.s].create = o.create;
		else if (o.mut) res[o.s].mut = o.mut;
		else if (o.tmut) res[o.s].tmut = o.tmut;
		else res[o.s].results[o.i] = o;
	}
	return res;
}

/* ------------------------------------------------------------------ */
/* Cedar                                                               */

function cedarEntities(sc) {
	return sc.entities.map(e => ({
		uid: cedarUid(e.uid),
		attrs: cedarJson(V.rec(e.attrs)),
		parents: e.parents.map(cedarUid),
		tags: cedarJson(V.rec(e.tags || {})),
	}));
}

function cedarParses(text) {
	const r = cedar.checkParsePolicySet({ staticPolicies: { p: text } });
	return r.type === 'success' ? null : r.errors.map(e => e.message).join('; ');
}

/* the link of a template policy (Cedar's TemplateLink) */
function cedarLink(p, tid, id) {
	const values = {};
	if (p.principal.slot) values['?principal'] = cedarUid(p.principal.e);
	if (p.resource.slot) values['?resource'] = cedarUid(p.resource.e);
	return { templateId: tid, newId: id, values };
}

/* a template policy: does the template parse, and does the link link? */
function cedarParsesPolicy(p) {
	if (!p.tmpl) return cedarParses(p.text);
	const r = cedar.checkParsePolicySet({ templates: { t: p.ttext }, templateLinks: [cedarLink(p, 't', 'p')] });
	return r.type === 'success' ? null : r.errors.map(e => e.message).join('; ');
}

function cedarParsesTemplate(text) {
	const r = cedar.checkParsePolicySet({ templates: { t: text } });
	return r.type === 'success' ? null : r.errors.map(e => e.message).join('; ');
}

/*
 * Policy sets are parsed once per scenario (statefulIsAuthorized): parsing
 * them on every call costs Cedar far more than deciding.
 */
function cedarPreparse(id, polSet) {
	const r = cedar.preparsePolicySet(id, polSet);
	if (r.type !== 'success')
		throw new Error('Cedar refused a policy set it parsed policy by policy: ' + r.errors.map(e => e.message).join('; '));
}

function cedarCall(setId, ents, r) {
	const a = cedar.statefulIsAuthorized({
		principal: cedarUid(r.principal), action: cedarUid(r.action), resource: cedarUid(r.resource),
		context: cedarJson(r.context), preparsedPolicySetId: setId, entities: ents,
	});
	if (a.type !== 'success')
		throw new Error('Cedar refused the request: ' + a.errors.map(e => e.message).join('; '));
	return a.response;
}

/* parse the scenario's policy sets (those both sides accepted, and the permits among them) */
function cedarPrepare(sc, ids) {
	const all = { staticPolicies: {}, templates: {}, templateLinks: [] };
	const permits = { staticPolicies: {}, templates: {}, templateLinks: [] };
	for (const i of ids) {
		const p = sc.policies[i];
		for (const set of p.effect === 'permit' ? [all, permits] : [all]) {
			if (p.tmpl) {
				set.templates['t' + i] = p.ttext;
				set.templateLinks.push(cedarLink(p, 't' + i, 'p' + i));
			} else
				set.staticPolicies['p' + i] = p.text;
		}
	}
	cedarPreparse('all', all);
	cedarPreparse('permits', permits);
}

/*
 * Per-policy outcomes by Cedar ('match', 'nomatch', 'error') and its
 * decision, for the policies in ids (cedarPrepare first).
 */
function cedarDecide(sc, ids, ents, r) {
	const resp = cedarCall('all', ents, r);
	const out = { decision: resp.decision, outcome: {}, errors: {} };
	for (const e of resp.diagnostics.errors) out.errors[e.policyId] = e.error.message;
	const reason = new Set(resp.diagnostics.reason);
	let permitMatch = reason;
	if (resp.decision === 'deny' && reason.size > 0) {
		/* a forbid decided: which permits held is asked of the permits alone */
		permitMatch = new Set(cedarCall('permits', ents, r).diagnostics.reason);
	}
	for (const i of ids) {
		const id = 'p' + i;
		if (id in out.errors) out.outcome[id] = 'error';
		else if (sc.policies[i].effect === 'permit') out.outcome[id] = permitMatch.has(id) ? 'match' : 'nomatch';
		else out.outcome[id] = reason.has(id) && resp.decision === 'deny' ? 'match' : 'nomatch';
	}
	return out;
}

/* ------------------------------------------------------------------ */
/* comparison                                                          */

/* longest chain of parent hops from an entity (the store is a DAG) */
function hierarchyDepth(sc, uidText) {
	const byUid = new Map(sc.entities.map(e => [extUid(e.uid), e]));
	const memo = new Map();
	const depth = u => {
		if (memo.has(u)) return memo.get(u);
		memo.set(u, 0);
		const e = byUid.get(u);
		let d = 0;
		if (e) for (const p of e.parents) d = Math.max(d, 1 + depth(extUid(p)));
		memo.set(u, d);
		return d;
	};
	return depth(uidText);
}

const DEPTH_RE = /^the ancestors of (.*) go deeper than governance\.max_entity_depth \((\d+)\)$/;

/*
 * Compare one request's answers; null when they agree (documented
 * differences applied), else a description.
 */
function compare(sc, ids, ext, ced) {
	const extOutcome = {};
	const extError = {};
	for (const [name, matched, error] of ext.x || []) {
		extOutcome[name] = error !== null ? 'error' : matched ? 'match' : 'nomatch';
		if (error !== null) extError[name] = error;
	}
	const problems = [];
	const effective = {};
	for (const i of ids) {
		const id = 'p' + i;
		let want = ced.outcome[id];
		const got = extOutcome[id];
		if (got === 'error' && want !== 'error') {
			const m = DEPTH_RE.exec(extError[id]);
			if (m && hierarchyDepth(sc, m[1]) > parseInt(m[2], 10))
				want = 'error';	/* documented: too deep to settle is an error */
		}
		effective[id] = want;
		if (got !== want)
			problems.push(`policy ${id} (${sc.policies[i].effect}): extension ${got}${got === 'error' ? ' (' + extError[id] + ')' : ''}, Cedar ${ced.outcome[id]}${ced.outcome[id] === 'error' ? ' (' + ced.errors[id] + ')' : ''}`);
	}
	/* the decision, with a failing forbid denying */
	let allow = false;
	let forbid = false;
	for (const i of ids) {
		const id = 'p' + i;
		const o = effective[id];
		if (sc.policies[i].effect === 'permit' && o === 'match') allow = true;
		if (sc.policies[i].effect === 'forbid' && o !== 'nomatch') forbid = true;
	}
	const want = allow && !forbid ? 'allow' : 'deny';
	if (ext.d !== want)
		problems.push(`decision: extension ${ext.d}, Cedar ${ced.decision}, expected ${want} (a failing forbid denies)`);
	return problems.length ? problems.join('; ') : null;
}

/* Run one scenario on both sides; returns a list of disagreements. */
const timing = { sql: 0, cedar: 0 };
const stats = { allow: 0, deny: 0, match: 0, nomatch: 0, error: 0, linked: 0, tparsed: 0 };

function checkScenarios(scs) {
	let t = Date.now();
	const ext = runExtension(scs);
	timing.sql += Date.now() - t;
	t = Date.now();
	const found = [];
	let decisions = 0;
	let parses = 0;
	scs.forEach((sc, sid) => {
		const ids = [];
		sc.policies.forEach((p, i) => {
			const extErr = ext[sid].create ? ext[sid].create[i] : 'not run';
			const cedErr = cedarParsesPolicy(p);
			if ((extErr === null) !== (cedErr === null))
				found.push({ sc, kind: 'parse', policy: i, text: `policy p${i} parses in ${extErr === null ? 'the extension only' : 'Cedar only'}: extension ${extErr || 'accepts'}; Cedar ${cedErr || 'accepts'}` });
			else if (extErr === null) {
				ids.push(i);
				if (p.tmpl) stats.linked++;
			}
		});
		(sc.mutants || []).forEach((m, mi) => {
			const extErr = ext[sid].mut ? ext[sid].mut[mi] : 'not run';
			const cedErr = cedarParses(m);
			parses++;
			if ((extErr === null) !== (cedErr === null))
				found.push({ sc, kind: 'mutant', mutant: mi, text: `this text parses in ${extErr === null ? 'the extension only' : 'Cedar only'}: extension ${extErr || 'accepts'}; Cedar ${cedErr || 'accepts'}` });
		});
		(sc.tmutants || []).forEach((m, mi) => {
			const extErr = ext[sid].tmut ? ext[sid].tmut[mi] : 'not run';
			const cedErr = cedarParsesTemplate(m);
			parses++;
			stats.tparsed++;
			if ((extErr === null) !== (cedErr === null))
				found.push({ sc, kind: 'tmutant', mutant: mi, text: `this template parses in ${extErr === null ? 'the extension only' : 'Cedar only'}: extension ${extErr || 'accepts'}; Cedar ${cedErr || 'accepts'}` });
		});
		const ents = cedarEntities(sc);
		if (sc.requests.length) {
			try { cedarPrepare(sc, ids); } catch (err) {
				found.push({ sc, kind: 'decide', request: 0, text: err.message }); return;
			}
		}
		sc.requests.forEach((r, ri) => {
			const e = ext[sid].results[ri];
			decisions++;
			if (!e) { found.push({ sc, kind: 'decide', request: ri, text: 'the extension gave no answer' }); return; }
			let c;
			try { c = cedarDecide(sc, ids, ents, r); } catch (err) {
				found.push({ sc, kind: 'decide', request: ri, text: err.message }); return;
			}
			if (e.d === 'allow') stats.allow++; else stats.deny++;
			for (const id of Object.keys(c.outcome)) {
				const o = c.outcome[id];
				if (o === 'match') stats.match++; else if (o === 'error') stats.error++; else stats.nomatch++;
			}
			const d = compare(sc, ids, e, c);
			if (d) found.push({ sc, kind: 'decide', request: ri, text: d });
		});
	});
	timing.cedar += Date.now() - t;
	return { found, decisions, parses };
}

/* ------------------------------------------------------------------ */
/* shrinking                                                           */

function clone(x) {
	return JSON.parse(JSON.stringify(x, (k, v) => typeof v === 'bigint' ? { $big: v.toString() } : v),
		(k, v) => v && typeof v === 'object' && '$big' in v ? BigInt(v.$big) : v);
}

function finishPolicies(sc) {
	sc.policies.forEach((p, i) => {
		if (sc.asSet) p.annotations = [['id', 'p' + i]].concat((p.annotations || []).filter(([k]) => k !== 'id'));
		/* a set of create_policies() holds no template; shrinking may drop a template's slots */
		for (const part of ['principal', 'resource'])
			if (sc.asSet || !p[part].e) delete p[part].slot;
		p.tmpl = !!(p.principal.slot || p.resource.slot);
		p.text = renderPolicy(p, false);
		if (p.tmpl) p.ttext = renderPolicy(p, true);
	});
}

/* does this one-request scenario still disagree? */
function stillFails(sc) {
	finishPolicies(sc);
	try {
		const { found } = checkScenarios([sc]);
		return found.length ? found[0] : null;
	} catch (e) {
		return null;
	}
}

/* every tree that replaces one node of e by one of its children or a literal */
function* simpler(e) {
	yield N.lit(V.bool(true));
	yield N.lit(V.bool(false));
	for (const k of e.kids) yield k;
	for (let i = 0; i < e.kids.length; i++)
		for (const s of simpler(e.kids[i])) {
			const c = Object.assign({}, e, { kids: e.kids.slice() });
			c.kids[i] = s;
			yield c;
		}
}

/* a mutant that one side accepts and the other refuses: drop tokens while it still does */
function shrinkMutant(sc0, failure) {
	const tm = failure.kind === 'tmutant';
	const key = tm ? 'tmutants' : 'mutants';
	const sc = { entities: [], policies: [], requests: [], mutants: [], tmutants: [] };
	sc[key] = [sc0[key][failure.mutant]];
	let last = failure;
	let toks = sc[key][0].match(TOKEN_RE) || [];
	let budget = 300;
	let progress = true;
	while (progress && budget > 0) {
		progress = false;
		/* runs of tokens, halving the run (delta debugging), down to one */
		for (let size = Math.max(1, toks.length >> 1); size >= 1; size >>= 1)
		for (let i = toks.length - size; i >= 0 && budget > 0; i--) {
			const cand = toks.slice(0, i).concat(toks.slice(i + size));
			budget--;
			sc[key] = [cand.join(' ')];
			let f = null;
			try { f = checkScenarios([sc]).found[0] || null; } catch (e) { f = null; }
			if (f) { toks = cand; last = f; progress = true; }
		}
	}
	sc[key] = [toks.join(' ')];
	return { sc, last };
}

function shrink(sc0, failure) {
	if (failure.kind === 'mutant' || failure.kind === 'tmutant') return shrinkMutant(sc0, failure);
	let sc = clone(sc0);
	let budget = 400;
	let last = failure;
	sc.mutants = [];
	sc.tmutants = [];
	if (failure.kind === 'decide') sc.requests = [sc.requests[failure.request]];
	else { sc.requests = []; sc.policies = [sc.policies[failure.policy]]; }
	const attempt = cand => {
		if (budget-- <= 0) return false;
		const f = stillFails(cand);
		if (f) { sc = cand; last = f; return true; }
		return false;
	};
	let progress = true;
	while (progress && budget > 0) {
		progress = false;
		for (let i = sc.policies.length - 1; i >= 0 && sc.policies.length > 1; i--) {
			const c = clone(sc); c.policies.splice(i, 1);
			if (attempt(c)) progress = true;
		}
		/* entities: drop runs of them, halving the run (delta debugging) */
		for (let size = sc.entities.length >> 1; size >= 2; size >>= 1)
			for (let i = 0; i + size <= sc.entities.length; i += size) {
				const c = clone(sc); c.entities.splice(i, size);
				if (attempt(c)) { progress = true; i -= size; }
			}
		for (let i = sc.entities.length - 1; i >= 0; i--) {
			const c = clone(sc); c.entities.splice(i, 1);
			if (attempt(c)) { progress = true; continue; }
			for (let j = sc.entities[i].parents.length - 1; j >= 0; j--) {
				const c2 = clone(sc); c2.entities[i].parents.splice(j, 1);
				if (attempt(c2)) progress = true;
			}
			for (const k of Object.keys(sc.entities[i].attrs)) {
				const c2 = clone(sc); delete c2.entities[i].attrs[k];
				if (attempt(c2)) progress = true;
			}
		}
		for (const r of sc.requests)
			for (const k of Object.keys(r.context.f)) {
				const c = clone(sc); delete c.requests[0].context.f[k];
				if (attempt(c)) progress = true;
			}
		sc.policies.forEach((p, pi) => {
			for (const part of ['principal', 'action', 'resource'])
				if (p[part].op !== 'any') {
					const c = clone(sc); c.policies[pi][part] = { op: 'any' };
					if (attempt(c)) progress = true;
				}
			for (let ci = sc.policies[pi].conds.length - 1; ci >= 0; ci--) {
				const c = clone(sc); c.policies[pi].conds.splice(ci, 1);
				if (attempt(c)) { progress = true; continue; }
				let again = true;
				while (again && budget > 0) {
					again = false;
					for (const s of simpler(sc.policies[pi].conds[ci].e)) {
						const c2 = clone(sc); c2.policies[pi].conds[ci].e = s;
						if (JSON.stringify(s, (k, v) => typeof v === 'bigint' ? v.toString() : v) ===
							JSON.stringify(sc.policies[pi].conds[ci].e, (k, v) => typeof v === 'bigint' ? v.toString() : v))
							continue;
						if (attempt(c2)) { again = true; progress = true; break; }
						if (budget <= 0) break;
					}
				}
			}
		});
	}
	finishPolicies(sc);
	return { sc, last };
}

function reproducer(sc, last) {
	const out = [];
	out.push(last.text);
	out.push('-- reproduce in SQL (and with Cedar: same policies, entities in Cedar\'s JSON format):');
	sc.policies.forEach((p, i) => {
		if (!p.tmpl) { out.push(`SELECT governance.create_policy('p${i}', ${q(p.text)});`); return; }
		out.push(`SELECT governance.create_template('t${i}', ${q(p.ttext)});`);
		out.push(`SELECT governance.link_template('t${i}', 'p${i}', ${p.principal.slot ? q(extUid(p.principal.e)) : 'NULL'}, ${p.resource.slot ? q(extUid(p.resource.e)) : 'NULL'});`);
	});
	(sc.mutants || []).forEach((m, i) => out.push(`SELECT governance.create_policy('m${i}', ${q(m)});`));
	(sc.tmutants || []).forEach((m, i) => out.push(`SELECT governance.create_template('m${i}', ${q(m)});`));
	for (const e of sc.entities)
		out.push(`SELECT governance.put_entity(${q(extUid(e.uid))}, ARRAY[${e.parents.map(p => q(extUid(p))).join(', ')}]::text[], ${q(extJson(V.rec(e.attrs)))});`);
	for (const r of sc.requests)
		out.push(`SELECT * FROM governance.explain(${q(extUid(r.principal))}, ${q(extUid(r.action))}, ${q(extUid(r.resource))}, ${q(extJson(r.context))});`);
	out.push('-- Cedar entities: ' + JSON.stringify(cedarEntities(sc)));
	for (const r of sc.requests) out.push('-- Cedar context: ' + JSON.stringify(cedarJson(r.context)));
	return out;
}

/* ------------------------------------------------------------------ */
/* main                                                                */

function main() {
	if (args.dump) {
		/* show what the generator writes, decide nothing */
		for (let i = 0; i < args.dump; i++) {
			const sc = genScenario(32);
			finishPolicies(sc);
			for (const p of sc.policies) console.log((p.tmpl ? p.ttext : p.text) + '   // Cedar: ' + (cedarParsesPolicy(p) || 'parses'));
		}
		return;
	}
	if (!PGBIN || !PGHOST) {
		console.log('not ok - PGBIN and CEDAR_PGHOST must name the server to test');
		process.exit(1);
	}
	const maxDepth = setupDatabase();
	console.log(`# Cedar ${cedar.getCedarVersion()} (language ${cedar.getCedarLangVersion()}), seed ${args.seed}, ${args.decisions} decisions, governance.max_entity_depth ${maxDepth}`);
	let done = 0;
	let failures = 0;
	let chunkStart = 0;
	let scenarios = 0;
	let parsed = 0;
	const t0 = Date.now();
	while (done < args.decisions && failures < 3) {
		/* a batch of scenarios: one psql run */
		const batch = [];
		let n = 0;
		while (n < 1000 && done + n < args.decisions) {
			const sc = genScenario(maxDepth);
			finishPolicies(sc);
			const nr = Math.min(args.requests, args.decisions - done - n);
			for (let i = 0; i < nr; i++) sc.requests.push(genRequest(sc));
			sc.mutants = [];
			for (let i = 0; i < args.mutants; i++) sc.mutants.push(mutate(pick(sc.policies).text));
			/* templates mutated: the extension's create_template() accepts what Cedar accepts */
			sc.tmutants = [];
			const tps = sc.policies.filter(p => p.tmpl);
			if (tps.length) for (let i = 0; i < args.mutants; i++) sc.tmutants.push(mutate(pick(tps).ttext));
			batch.push(sc);
			n += nr;
		}
		const { found, decisions, parses } = checkScenarios(batch);
		parsed += parses;
		scenarios += batch.length;
		done += decisions;
		/* the first disagreement is shrunk (it takes a psql run per try); the others are listed */
		for (const f of found.slice(0, 3 - failures)) {
			if (failures++ === 0) {
				const { sc, last } = shrink(f.sc, f);
				console.log(`not ok - the extension and Cedar disagree (seed ${args.seed}): ${last.text}`);
				for (const line of reproducer(sc, last)) console.log('#   ' + line.replace(/\n/g, '\n#   '));
			} else
				console.log(`not ok - the extension and Cedar disagree again (seed ${args.seed}): ${f.text}`);
		}
		while (done - chunkStart >= args.chunk || (done >= args.decisions && done > chunkStart)) {
			const end = Math.min(chunkStart + args.chunk, done);
			if (failures === 0)
				console.log(`ok - decisions ${chunkStart + 1} to ${end} agree with Cedar (policy by policy, with the documented differences)`);
			chunkStart = end;
		}
	}
	const secs = ((Date.now() - t0) / 1000).toFixed(1);
	console.log(`# decisions: ${stats.allow || 0} allow, ${stats.deny || 0} deny; policy outcomes: ${stats.match || 0} match, ${stats.nomatch || 0} no match, ${stats.error || 0} error`);
	console.log(`# template-linked policies decided: ${stats.linked}; mutated templates: ${stats.tparsed}`);
	if (failures === 0 && parsed > 0)
		console.log(`ok - ${parsed} mutated policy and template texts: the extension accepts exactly those Cedar accepts`);
	console.log(`# ${done} decisions over ${scenarios} scenarios in ${secs} s; ${failures} disagreement(s); seed ${args.seed}; SQL ${(timing.sql / 1000).toFixed(1)} s, Cedar ${(timing.cedar / 1000).toFixed(1)} s`);
	process.exit(failures ? 1 : 0);
}

main();
