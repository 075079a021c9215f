/*-------------------------------------------------------------------------
 *
 * fuzz_policy.c
 *	  libFuzzer harness for the policy language: every input is a policy
 *	  source.  It is parsed; a parse error must carry a well-formed
 *	  "line L, column C: ..." message in valid UTF-8.  A policy that parses
 *	  is evaluated against requests over a small entity store that has a
 *	  cycle, a chain deeper than the depth bound, entity references and
 *	  unusable values, twice (the answers must agree: evaluation is
 *	  deterministic) and once more with a scratch arena too small to
 *	  finish (running out of memory must be an error, not a crash).
 *
 *	  Built by contrib/fuzz/run.sh against the pure-C core only:
 *
 * fuzz-sources: src/policy_lang.c
 * fuzz-options: -max_len=8192 -timeout=5
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_lang.h"

#define NCHAIN 40

typedef struct Ent
{
	const char *uid;
	GovPolEntity e;
} Ent;

static Ent	ents[64];
static int	nents;
static char chain_uids[NCHAIN][32];
static GovPolStr chain_parents[NCHAIN];
static GovPolValue context;
static GovPolValue alice_attrs;
static GovPolValue doc_attrs;
static int	ready;

static GovPolStr
S(const char *s)
{
	GovPolStr	r;

	r.p = s;
	r.len = (uint32_t) strlen(s);
	return r;
}

static GovPolValue
V_long(int64_t i)
{
	GovPolValue v;

	v.kind = GOV_POL_LONG;
	v.u.i = i;
	return v;
}

static GovPolValue
V_str(GovPolKind kind, const char *s)
{
	GovPolValue v;

	v.kind = kind;
	v.u.s = S(s);
	return v;
}

static GovPolValue
V_bool(bool b)
{
	GovPolValue v;

	v.kind = GOV_POL_BOOL;
	v.u.b = b;
	return v;
}

static GovPolValue
V_rec(GovPolField *f, uint32_t n)
{
	GovPolValue v;

	if (!gov_pol_record_sort(f, n))
		abort();
	v.kind = GOV_POL_RECORD;
	v.u.rec.fields = f;
	v.u.rec.n = n;
	return v;
}

static GovPolValue
V_set(GovPolValue *items, uint32_t n)
{
	GovPolValue v;

	v.kind = GOV_POL_SET;
	v.u.set.items = items;
	v.u.set.n = n;
	return v;
}

static void
add_ent(const char *uid, const GovPolStr *parents, uint32_t np, const GovPolValue *attrs)
{
	ents[nents].uid = uid;
	ents[nents].e.parents = parents;
	ents[nents].e.nparents = np;
	ents[nents].e.attrs = attrs;
	nents++;
}

static void
setup(void)
{
	static GovPolStr alice_p[] = {{"Group::\"billing\"", 16}};
	static GovPolStr billing_p[] = {{"Group::\"finance\"", 16}, {"Group::\"all\"", 12}};
	static GovPolStr finance_p[] = {{"Group::\"all\"", 12}};
	static GovPolStr cyc_a[] = {{"C::\"b\"", 6}};
	static GovPolStr cyc_b[] = {{"C::\"a\"", 6}};
	static GovPolStr read_p[] = {{"Action::\"readOnly\"", 18}};
	static GovPolStr doc_p[] = {{"Folder::\"root\"", 14}};
	static GovPolField af[5];
	static GovPolField df[2];
	static GovPolField cf[12];
	static GovPolField inner[2];
	static GovPolValue tags[3];
	static GovPolValue mixed[4];
	static GovPolValue many[200];
	int			i;

	af[0].key = S("level");
	af[0].value = V_long(5);
	af[1].key = S("dept");
	af[1].value = V_str(GOV_POL_STRING, "finance");
	tags[0] = V_str(GOV_POL_STRING, "a");
	tags[1] = V_str(GOV_POL_STRING, "b");
	tags[2] = V_str(GOV_POL_STRING, "a");
	af[2].key = S("tags");
	af[2].value = V_set(tags, 3);
	af[3].key = S("manager");
	af[3].value = V_str(GOV_POL_ENTITY, "User::\"bob\"");
	af[4].key = S("bad");
	af[4].value = V_str(GOV_POL_UNUSABLE, "number 1.5 is not an integer");
	alice_attrs = V_rec(af, 5);

	df[0].key = S("owner");
	df[0].value = V_str(GOV_POL_ENTITY, "User::\"alice\"");
	df[1].key = S("frozen");
	df[1].value = V_bool(false);
	doc_attrs = V_rec(df, 2);

	add_ent("User::\"alice\"", alice_p, 1, &alice_attrs);
	ents[nents - 1].e.tags = &alice_attrs;	/* her tags: hasTag, getTag */
	add_ent("Group::\"billing\"", billing_p, 2, NULL);
	add_ent("Group::\"finance\"", finance_p, 1, NULL);
	add_ent("C::\"a\"", cyc_a, 1, NULL);
	add_ent("C::\"b\"", cyc_b, 1, NULL);
	add_ent("Action::\"read\"", read_p, 1, NULL);
	add_ent("Doc::\"1\"", doc_p, 1, &doc_attrs);
	for (i = 0; i < NCHAIN; i++)
		snprintf(chain_uids[i], sizeof(chain_uids[i]), "L::\"%d\"", i);
	for (i = 0; i < NCHAIN - 1; i++)
	{
		chain_parents[i] = S(chain_uids[i + 1]);
		add_ent(chain_uids[i], &chain_parents[i], 1, NULL);
	}

	inner[0].key = S("x");
	inner[0].value = V_long(1);
	inner[1].key = S("y");
	inner[1].value = V_str(GOV_POL_STRING, "yes");
	mixed[0] = V_long(1);
	mixed[1] = V_str(GOV_POL_STRING, "x");
	mixed[2] = V_str(GOV_POL_ENTITY, "Group::\"finance\"");
	mixed[3] = V_rec(inner, 2);
	for (i = 0; i < 200; i++)
		many[i] = V_long(i % 150);

	cf[0].key = S("amount");
	cf[0].value = V_long(500);
	cf[1].key = S("s");
	cf[1].value = V_str(GOV_POL_STRING, "hello*world");
	cf[2].key = S("b");
	cf[2].value = V_bool(true);
	cf[3].key = S("set");
	cf[3].value = V_set(mixed, 4);
	cf[4].key = S("rec");
	cf[4].value = V_rec(inner, 2);
	cf[5].key = S("who");
	cf[5].value = V_str(GOV_POL_ENTITY, "User::\"alice\"");
	cf[6].key = S("null");
	cf[6].value = V_str(GOV_POL_UNUSABLE, "value is null");
	cf[7].key = S("max");
	cf[7].value = V_long(INT64_MAX);
	cf[8].key = S("min");
	cf[8].value = V_long(INT64_MIN);
	cf[9].key = S("many");
	cf[9].value = V_set(many, 200);
	cf[10].key = S("empty");
	cf[10].value = V_set(NULL, 0);
	cf[11].key = S("");
	cf[11].value = V_long(0);
	context = V_rec(cf, 12);
	ready = 1;
}

static const GovPolEntity *
lookup(void *arg, const char *uid, uint32_t len)
{
	int			i;

	(void) arg;
	for (i = 0; i < nents; i++)
		if (strlen(ents[i].uid) == len && memcmp(ents[i].uid, uid, len) == 0)
			return &ents[i].e;
	return NULL;
}

static int
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		int			n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
		(*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0)
			return 0;
		p++;
		while (n-- > 0)
		{
			if ((*p & 0xc0) != 0x80)
				return 0;
			p++;
		}
	}
	return 1;
}

static GovPolResult
run(const GovPolicy *pol, const GovPolRequest *req, size_t scratch_limit, char *errbuf, size_t errlen)
{
	GovPolArena scratch;
	GovPolSession *s;
	GovPolResult r;
	const char *err = NULL;

	gov_pol_arena_init(&scratch, NULL, scratch_limit);
	s = gov_pol_session_new(&scratch, req);
	if (s == NULL)
	{
		gov_pol_arena_free(&scratch);
		snprintf(errbuf, errlen, "no session");
		return GOV_POL_ERROR;
	}
	r = gov_pol_evaluate(s, pol, &err);
	if (r == GOV_POL_ERROR)
	{
		if (err == NULL || err[0] == '\0' || !valid_utf8(err))
			abort();
		snprintf(errbuf, errlen, "%s", err);
	}
	else
	{
		if (err != NULL)
			abort();
		errbuf[0] = '\0';
	}
	gov_pol_arena_free(&scratch);
	return r;
}

static void
check_error(const GovPolError *err)
{
	char		prefix[64];

	snprintf(prefix, sizeof(prefix), "line %d, column %d: ", err->line, err->column);
	if (err->line < 1 || err->column < 1 ||
		strncmp(err->message, prefix, strlen(prefix)) != 0 ||
		strlen(err->message) <= strlen(prefix) ||
		!valid_utf8(err->message))
		abort();
}

/*
 * The input as a policy set (issue 17): parsed or refused with a
 * well-formed error; every statement's span, parsed alone, is a policy
 * of the same effect and annotations; one statement parses as a set of
 * one exactly when it parses alone.
 */
static void
check_policy_set(const uint8_t *data, size_t size)
{
	GovPolArena arena;
	GovPolicy **pols;
	uint32_t	n;
	uint32_t	i;
	uint32_t	k;
	GovPolError err;
	GovPolicy  *one;
	bool		single;

	gov_pol_arena_init(&arena, NULL, size * 64 + 1024 * 1024);
	single = gov_pol_parse(&arena, (const char *) data, size, &one, &err);
	if (!gov_pol_parse_set(&arena, (const char *) data, size, &pols, &n, &err))
	{
		check_error(&err);
		if (single)
			abort();
		gov_pol_arena_free(&arena);
		return;
	}
	/* a lone statement parses as a set of one, and a set of one alone */
	if (single != (n == 1))
		abort();
	for (i = 0; i < n; i++)
	{
		size_t		start;
		size_t		end;
		GovPolicy  *again;
		GovPolError e2;

		gov_pol_source_span(pols[i], &start, &end);
		if (start >= end || end > size)
			abort();
		if (!gov_pol_parse(&arena, (const char *) data + start, end - start, &again, &e2) ||
			gov_pol_is_permit(again) != gov_pol_is_permit(pols[i]) ||
			gov_pol_annotation_count(again) != gov_pol_annotation_count(pols[i]))
			abort();
		for (k = 0; k < gov_pol_annotation_count(pols[i]); k++)
		{
			GovPolStr	key;
			GovPolStr	val;
			char		name[128];
			const GovPolStr *got;

			gov_pol_annotation(pols[i], k, &key, &val);
			if (key.len >= sizeof(name))
				continue;
			memcpy(name, key.p, key.len);
			name[key.len] = '\0';
			got = gov_pol_annotation_get(pols[i], name);
			if (got == NULL || got->len != val.len ||
				(val.len && memcmp(got->p, val.p, val.len) != 0))
				abort();
		}
	}
	gov_pol_arena_free(&arena);
}

/*
 * The input as a template (issue 17): parsed or refused with a well-formed
 * error; a template's slots are the bytes "?principal" / "?resource" of the
 * input, and replacing them by entity literals gives a policy, of the same
 * effect, that gov_pol_parse accepts.  A text is never both a template
 * and a policy.
 */
static void
check_template(const uint8_t *data, size_t size)
{
	GovPolArena arena;
	GovPolicy  *t;
	GovPolicy  *p;
	GovPolError err;
	size_t		s[2];
	size_t		e[2];
	bool		has[2];
	int			k;
	char	   *linked;
	size_t		o = 0;
	size_t		at = 0;
	static const char *const lit[2] = {"User::\"a\\\"b\"", "Org::Team::\"x y\""};

	gov_pol_arena_init(&arena, NULL, size * 64 + 1024 * 1024);
	if (!gov_pol_parse_template(&arena, (const char *) data, size, &t, &err))
	{
		check_error(&err);
		gov_pol_arena_free(&arena);
		return;
	}
	if (gov_pol_parse(&arena, (const char *) data, size, &p, &err))
		abort();
	has[0] = gov_pol_slot(t, GOV_POL_SLOT_PRINCIPAL, &s[0], &e[0]);
	has[1] = gov_pol_slot(t, GOV_POL_SLOT_RESOURCE, &s[1], &e[1]);
	if (!has[0] && !has[1])
		abort();
	for (k = 0; k < 2; k++)
		if (has[k] && (e[k] > size ||
					   e[k] - s[k] != (k == 0 ? 10 : 9) ||
					   memcmp(data + s[k], k == 0 ? "?principal" : "?resource", e[k] - s[k]) != 0))
			abort();
	linked = malloc(size + 64);
	if (linked == NULL)
		abort();
	for (;;)
	{
		int			next = -1;

		for (k = 0; k < 2; k++)
			if (has[k] && s[k] >= at && (next < 0 || s[k] < s[next]))
				next = k;
		if (next < 0)
			break;
		memcpy(linked + o, data + at, s[next] - at);
		o += s[next] - at;
		memcpy(linked + o, lit[next], strlen(lit[next]));
		o += strlen(lit[next]);
		at = e[next];
	}
	memcpy(linked + o, data + at, size - at);
	o += size - at;
	if (!gov_pol_parse(&arena, linked, o, &p, &err) ||
		gov_pol_is_permit(p) != gov_pol_is_permit(t))
		abort();
	free(linked);
	gov_pol_arena_free(&arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GovPolArena arena;
	GovPolicy  *pol;
	GovPolError err;
	static const char *const principals[] = {
		"User::\"alice\"", "L::\"0\"", "C::\"a\"", "Agent::\"ghost\""
	};
	int			i;
	int			depth;

	if (!ready)
		setup();

	check_policy_set(data, size);
	check_template(data, size);

	gov_pol_arena_init(&arena, NULL, size * 64 + 1024 * 1024);
	if (!gov_pol_parse(&arena, (const char *) data, size, &pol, &err))
	{
		char		prefix[64];

		snprintf(prefix, sizeof(prefix), "line %d, column %d: ", err.line, err.column);
		if (err.line < 1 || err.column < 1 ||
			strncmp(err.message, prefix, strlen(prefix)) != 0 ||
			strlen(err.message) <= strlen(prefix) ||
			!valid_utf8(err.message) || pol != NULL)
			abort();
		gov_pol_arena_free(&arena);
		return 0;
	}

	for (i = 0; i < 4; i++)
	{
		for (depth = 3; depth <= 32; depth += 29)
		{
			GovPolRequest req;
			char		e1[GOV_POL_ERRMSG_LEN];
			char		e2[GOV_POL_ERRMSG_LEN];
			char		e3[GOV_POL_ERRMSG_LEN];
			GovPolResult r1;
			GovPolResult r2;

			memset(&req, 0, sizeof(req));
			req.principal = S(principals[i]);
			req.action = S("Action::\"read\"");
			req.resource = S("Doc::\"1\"");
			req.context = &context;
			req.lookup = lookup;
			req.max_entity_depth = depth;

			r1 = run(pol, &req, 64 * 1024 * 1024, e1, sizeof(e1));
			r2 = run(pol, &req, 64 * 1024 * 1024, e2, sizeof(e2));
			if (r1 != r2 || strcmp(e1, e2) != 0)
				abort();		/* not deterministic */

			/*
			 * starved of memory: any answer but a crash, and never a match
			 * that the unstarved run did not give
			 */
			if (run(pol, &req, 2048, e3, sizeof(e3)) == GOV_POL_MATCH && r1 != GOV_POL_MATCH)
				abort();
		}
	}
	gov_pol_arena_free(&arena);
	return 0;
}
