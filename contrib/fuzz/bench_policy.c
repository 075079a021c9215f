/*-------------------------------------------------------------------------
 *
 * bench_policy.c
 *	  Micro-benchmark of policy evaluation (issue 4: at most 10 us median
 *	  for one request against 100 policies over a 3-level entity
 *	  hierarchy, measured inside C over many evaluations).
 *
 *	  One workload, two ways to run it:
 *
 *	  cc -O2 -I src -o bench_policy contrib/fuzz/bench_policy.c src/policy_lang.c
 *	  ./bench_policy [iterations]
 *		  times the language core alone: a session per request and all 100
 *		  policies evaluated, against an in-memory entity store;
 *
 *	  ./bench_policy --sql [iterations] | psql -d DB
 *		  prints the same policies and entities as SQL, then calls
 *		  governance_bench.policy_benchmark(), which times gov_policy_decide()
 *		  in the server: the decision as authorize() pays for it, with the
 *		  backend's caches, jsonb context conversion and outcome lists.
 *		  The database should hold no other policies; the script removes
 *		  what it created.
 *
 *	  ./bench_policy --ext [iterations]
 *		  the cost of each extension type (issue 17): one policy evaluated
 *		  alone, with a condition on an integer (the baseline) and with one
 *		  on each extension type, both from a string in the context
 *		  (constructor and method per evaluation) and from a value already
 *		  in the context (as Cedar's JSON {"__extn": ...} gives it: the
 *		  method alone).  Prints "ext NAME NS", the median nanoseconds per
 *		  evaluation; test/bench/run.sh (policy_ext) reads it.
 *
 *	  The hierarchy: User::"uN" in Group::"teamT" in Group::"deptD" in
 *	  Group::"org", and Doc::"dN" in Folder::"projP" in Folder::"areaA" in
 *	  Folder::"root" (three parent hops each).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_lang.h"

#define NPOLICIES	100
#define NUSERS		200
#define NTEAMS		40
#define NDEPTS		8
#define NPROJS		40
#define NAREAS		8

static char policies[NPOLICIES][512];

/* The 100 policies: a mix of scope forms and conditions. */
static void
make_policies(void)
{
	int			i;

	for (i = 0; i < NPOLICIES; i++)
	{
		char	   *p = policies[i];
		size_t		n = sizeof(policies[i]);

		if (i < 40)
			snprintf(p, n,
					 "permit (principal in Group::\"team%d\", action == Action::\"op%d\", resource in Folder::\"proj%d\")\n"
					 "  when { context.amount <= %d && principal.level >= 2 }\n"
					 "  unless { resource.classification == \"secret\" };",
					 i % NTEAMS, i % 10, i % NPROJS, 1000 * (i + 1));
		else if (i < 70)
			snprintf(p, n,
					 "permit (principal in Group::\"dept%d\", action in [Action::\"read\", Action::\"list\"], resource in Folder::\"area%d\")\n"
					 "  when { resource.classification != \"secret\" };",
					 i % NDEPTS, i % NAREAS);
		else if (i < 80)
			snprintf(p, n,
					 "forbid (principal in Group::\"suspended%d\", action, resource);", i);
		else if (i < 90)
			snprintf(p, n,
					 "forbid (principal, action == Action::\"op%d\", resource)\n"
					 "  when { context.amount > 1000000 || context has override && context.override == \"deny\" };",
					 i % 10);
		else
			snprintf(p, n,
					 "permit (principal, action, resource in Folder::\"root\")\n"
					 "  when { principal.tags.contains(\"admin%d\") && resource.owner like \"team*\" };",
					 i);
	}
}

/* ---- the in-memory entity store for the pure-C run ---- */

typedef struct Ent
{
	char		uid[32];
	GovPolStr	parent;
	GovPolEntity e;
	GovPolField fields[3];
	GovPolValue attrs;
	GovPolValue tags[2];
} Ent;

static Ent *ents;
static int	nents;

/* a tiny open-addressing index, as the backend's hash table would be */
static int *slots;
static int	nslots = 4096;

static uint32_t
hash(const char *p, uint32_t len)
{
	uint32_t	h = 2166136261u;
	uint32_t	i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char) p[i]) * 16777619u;
	return h;
}

static const GovPolEntity *
lookup(void *arg, const char *uid, uint32_t len)
{
	uint32_t	j = hash(uid, len) & (nslots - 1);

	(void) arg;
	while (slots[j] >= 0)
	{
		Ent		   *e = &ents[slots[j]];

		if (strlen(e->uid) == len && memcmp(e->uid, uid, len) == 0)
			return &e->e;
		j = (j + 1) & (nslots - 1);
	}
	return NULL;
}

static Ent *
add(const char *uid, const char *parent)
{
	Ent		   *e = &ents[nents];
	uint32_t	j;

	memset(e, 0, sizeof(Ent));
	snprintf(e->uid, sizeof(e->uid), "%s", uid);
	if (parent)
	{
		e->parent.p = strdup(parent);
		e->parent.len = (uint32_t) strlen(parent);
		e->e.parents = &e->parent;
		e->e.nparents = 1;
	}
	j = hash(e->uid, (uint32_t) strlen(e->uid)) & (nslots - 1);
	while (slots[j] >= 0)
		j = (j + 1) & (nslots - 1);
	slots[j] = nents;
	nents++;
	return e;
}

static void
set_attrs(Ent *e, int nfields)
{
	if (!gov_pol_record_sort(e->fields, (uint32_t) nfields))
		abort();
	e->attrs.kind = GOV_POL_RECORD;
	e->attrs.u.rec.fields = e->fields;
	e->attrs.u.rec.n = (uint32_t) nfields;
	e->e.attrs = &e->attrs;
}

static GovPolStr
S(const char *s)
{
	GovPolStr	r;

	r.p = s;
	r.len = (uint32_t) strlen(s);
	return r;
}

static void
make_entities(void)
{
	char		uid[32];
	char		par[32];
	int			i;

	ents = calloc(1024, sizeof(Ent));
	slots = malloc(sizeof(int) * nslots);
	for (i = 0; i < nslots; i++)
		slots[i] = -1;

	add("Group::\"org\"", NULL);
	add("Folder::\"root\"", NULL);
	for (i = 0; i < NDEPTS; i++)
	{
		snprintf(uid, sizeof(uid), "Group::\"dept%d\"", i);
		add(uid, "Group::\"org\"");
	}
	for (i = 0; i < NTEAMS; i++)
	{
		snprintf(uid, sizeof(uid), "Group::\"team%d\"", i);
		snprintf(par, sizeof(par), "Group::\"dept%d\"", i % NDEPTS);
		add(uid, par);
	}
	for (i = 0; i < NUSERS; i++)
	{
		Ent		   *e;

		snprintf(uid, sizeof(uid), "User::\"u%d\"", i);
		snprintf(par, sizeof(par), "Group::\"team%d\"", i % NTEAMS);
		e = add(uid, par);
		e->fields[0].key = S("level");
		e->fields[0].value.kind = GOV_POL_LONG;
		e->fields[0].value.u.i = 1 + i % 5;
		e->fields[1].key = S("tags");
		e->tags[0].kind = GOV_POL_STRING;
		e->tags[0].u.s = S("staff");
		e->tags[1].kind = GOV_POL_STRING;
		e->tags[1].u.s = S(i % 50 == 0 ? "admin95" : "member");
		e->fields[1].value.kind = GOV_POL_SET;
		e->fields[1].value.u.set.items = e->tags;
		e->fields[1].value.u.set.n = 2;
		set_attrs(e, 2);
	}
	for (i = 0; i < NAREAS; i++)
	{
		snprintf(uid, sizeof(uid), "Folder::\"area%d\"", i);
		add(uid, "Folder::\"root\"");
	}
	for (i = 0; i < NPROJS; i++)
	{
		snprintf(uid, sizeof(uid), "Folder::\"proj%d\"", i);
		snprintf(par, sizeof(par), "Folder::\"area%d\"", i % NAREAS);
		add(uid, par);
	}
	for (i = 0; i < NUSERS; i++)
	{
		Ent		   *e;

		snprintf(uid, sizeof(uid), "Doc::\"d%d\"", i);
		snprintf(par, sizeof(par), "Folder::\"proj%d\"", i % NPROJS);
		e = add(uid, par);
		e->fields[0].key = S("classification");
		e->fields[0].value.kind = GOV_POL_STRING;
		e->fields[0].value.u.s = S(i % 10 == 9 ? "secret" : "internal");
		e->fields[1].key = S("owner");
		e->fields[1].value.kind = GOV_POL_STRING;
		e->fields[1].value.u.s = S("team-x");
		set_attrs(e, 2);
	}
}

/* the request: u7 (team7, dept7) does op7 on d7 (proj7, area7) */
#define REQ_PRINCIPAL	"User::\"u7\""
#define REQ_ACTION		"Action::\"op7\""
#define REQ_RESOURCE	"Doc::\"d7\""

static void
print_sql(int iterations)
{
	int			i;

	printf("-- generated by contrib/fuzz/bench_policy.c --sql\n");
	printf("\\set ON_ERROR_STOP 1\n");
	printf("SET client_min_messages = warning;\n");
	printf("BEGIN;\n");
	for (i = 0; i < NPOLICIES; i++)
	{
		char	   *s = policies[i];

		printf("SELECT length(governance.create_policy('bench-%03d', $p$%s$p$)) AS hash_bytes \\g /dev/null\n", i, s);
	}
	printf("SELECT governance.put_entity('Group::\"org\"') \\g /dev/null\n");
	printf("SELECT governance.put_entity('Folder::\"root\"') \\g /dev/null\n");
	printf("SELECT count(*) FROM generate_series(0, %d) i,\n    LATERAL governance.put_entity(format('Group::\"dept%%s\"', i), ARRAY['Group::\"org\"']);\n", NDEPTS - 1);
	printf("SELECT count(*) FROM generate_series(0, %d) i,\n    LATERAL governance.put_entity(format('Group::\"team%%s\"', i), ARRAY[format('Group::\"dept%%s\"', i %% %d)]);\n", NTEAMS - 1, NDEPTS);
	printf("SELECT count(*) FROM generate_series(0, %d) i,\n"
		   "    LATERAL governance.put_entity(format('User::\"u%%s\"', i), ARRAY[format('Group::\"team%%s\"', i %% %d)],\n"
		   "        jsonb_build_object('level', 1 + i %% 5, 'tags', jsonb_build_array('staff', CASE WHEN i %% 50 = 0 THEN 'admin95' ELSE 'member' END)));\n",
		   NUSERS - 1, NTEAMS);
	printf("SELECT count(*) FROM generate_series(0, %d) i,\n    LATERAL governance.put_entity(format('Folder::\"area%%s\"', i), ARRAY['Folder::\"root\"']);\n", NAREAS - 1);
	printf("SELECT count(*) FROM generate_series(0, %d) i,\n    LATERAL governance.put_entity(format('Folder::\"proj%%s\"', i), ARRAY[format('Folder::\"area%%s\"', i %% %d)]);\n", NPROJS - 1, NAREAS);
	printf("SELECT count(*) FROM generate_series(0, %d) i,\n"
		   "    LATERAL governance.put_entity(format('Doc::\"d%%s\"', i), ARRAY[format('Folder::\"proj%%s\"', i %% %d)],\n"
		   "        jsonb_build_object('classification', CASE WHEN i %% 10 = 9 THEN 'secret' ELSE 'internal' END, 'owner', 'team-x'));\n",
		   NUSERS - 1, NPROJS);
	printf("COMMIT;\n");
	printf("SELECT count(*) AS policies FROM governance.policies;\n");
	printf("SELECT * FROM governance_bench.policy_benchmark('%s', '%s', '%s', '{\"amount\": 500}', %d);\n",
		   REQ_PRINCIPAL, REQ_ACTION, REQ_RESOURCE, iterations);
	printf("BEGIN;\n");
	printf("SELECT count(governance.drop_policy(name)) AS dropped FROM governance.policies WHERE name LIKE 'bench-%%';\n");
	printf("SELECT count(governance.delete_entity(uid)) AS deleted FROM governance.entities"
		   " WHERE uid ~ '^(Group|Folder|User|Doc)::\"(org|root|dept|team|u|area|proj|d)[0-9]*\"$';\n");
	printf("COMMIT;\n");
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *) a;
	long long	y = *(const long long *) b;

	return (x > y) - (x < y);
}

/* --ext: the cost of each extension type, one policy at a time */
static const char *const ext_names[] = {
	"integer", "decimal", "decimal-value", "ip", "ip-value",
	"datetime", "datetime-value", "duration", "duration-value",
};
static const char *const ext_conds[] = {
	"context.amount <= 1000",
	"decimal(context.d).lessThan(decimal(\"1000.00\"))",
	"context.dv.lessThan(decimal(\"1000.00\"))",
	"ip(context.ip).isInRange(ip(\"10.0.0.0/8\"))",
	"context.ipv.isInRange(ip(\"10.0.0.0/8\"))",
	"datetime(context.t).offset(duration(\"1h\")) > datetime(\"2026-01-01\")",
	"context.tv.offset(duration(\"1h\")) > datetime(\"2026-01-01\")",
	"duration(context.ttl).toSeconds() < 3600",
	"context.ttlv.toSeconds() < 3600",
};

static int
bench_ext(int iterations)
{
	static GovPolIp ipbuf;
	GovPolIp	unused;
	GovPolField f[9];
	GovPolValue context;
	GovPolRequest req;
	GovPolArena parena;
	GovPolArena scratch;
	const char *why;
	int			samples = iterations / 1000 > 0 ? iterations / 1000 : 1;
	long long  *ns = malloc(sizeof(long long) * samples);
	int			k;

	/* fields sorted by (key length, key), as records must be */
	f[0].key = S("d");
	f[0].value.kind = GOV_POL_STRING;
	f[0].value.u.s = S("999.50");
	f[1].key = S("t");
	f[1].value.kind = GOV_POL_STRING;
	f[1].value.u.s = S("2026-12-05T12:00:00Z");
	f[2].key = S("dv");
	gov_pol_extension_value("decimal", 7, "999.50", 6, &unused, &f[2].value, &why);
	f[3].key = S("ip");
	f[3].value.kind = GOV_POL_STRING;
	f[3].value.u.s = S("10.1.2.3");
	f[4].key = S("tv");
	gov_pol_extension_value("datetime", 8, "2026-12-05T12:00:00Z", 20, &unused, &f[4].value, &why);
	f[5].key = S("ipv");
	gov_pol_extension_value("ip", 2, "10.1.2.3", 8, &ipbuf, &f[5].value, &why);
	f[6].key = S("ttl");
	f[6].value.kind = GOV_POL_STRING;
	f[6].value.u.s = S("45m");
	f[7].key = S("ttlv");
	gov_pol_extension_value("duration", 8, "45m", 3, &unused, &f[7].value, &why);
	f[8].key = S("amount");
	f[8].value.kind = GOV_POL_LONG;
	f[8].value.u.i = 500;
	if (!gov_pol_record_sort(f, 9))
		return 1;
	context.kind = GOV_POL_RECORD;
	context.u.rec.fields = f;
	context.u.rec.n = 9;

	memset(&req, 0, sizeof(req));
	req.principal = S(REQ_PRINCIPAL);
	req.action = S(REQ_ACTION);
	req.resource = S(REQ_RESOURCE);
	req.context = &context;
	req.lookup = lookup;
	req.max_entity_depth = 32;
	gov_pol_arena_init(&parena, NULL, 64 * 1024 * 1024);
	gov_pol_arena_init(&scratch, NULL, 64 * 1024 * 1024);
	for (k = 0; k < (int) (sizeof(ext_conds) / sizeof(ext_conds[0])); k++)
	{
		char		src[512];
		GovPolicy  *pol;
		GovPolError err;
		int			i;
		int			j;

		snprintf(src, sizeof(src), "permit (principal, action, resource) when { %s };", ext_conds[k]);
		if (!gov_pol_parse(&parena, src, strlen(src), &pol, &err))
		{
			fprintf(stderr, "%s: %s\n", ext_names[k], err.message);
			return 1;
		}
		for (i = 0; i < samples; i++)
		{
			struct timespec t0;
			struct timespec t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (j = 0; j < 1000; j++)
			{
				GovPolSession *s;
				const char *e;

				gov_pol_arena_reset(&scratch);
				s = gov_pol_session_new(&scratch, &req);
				if (gov_pol_evaluate(s, pol, &e) != GOV_POL_MATCH)
				{
					fprintf(stderr, "%s: the policy does not match\n", ext_names[k]);
					return 1;
				}
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ns[i] = (long long) (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
		}
		qsort(ns, samples, sizeof(long long), cmp_ll);
		printf("ext %s %.1f\n", ext_names[k], ns[samples / 2] / 1000.0);
	}
	free(ns);
	gov_pol_arena_free(&scratch);
	gov_pol_arena_free(&parena);
	return 0;
}

int
main(int argc, char **argv)
{
	int			iterations = 1000000;
	int			sql = 0;
	int			argi = 1;
	GovPolArena parena;
	GovPolicy  *compiled[NPOLICIES];
	GovPolArena scratch;
	GovPolField cfield;
	GovPolValue context;
	GovPolRequest req;
	long long  *ns;
	int			i;
	int			j;
	int			allowed = 0;
	int			errors = 0;

	if (argc > argi && strcmp(argv[argi], "--ext") == 0)
		return bench_ext(argc > argi + 1 ? atoi(argv[argi + 1]) : 1000000);
	if (argc > argi && strcmp(argv[argi], "--sql") == 0)
	{
		sql = 1;
		argi++;
		iterations = 100000;
	}
	if (argc > argi)
		iterations = atoi(argv[argi]);
	if (iterations < 1)
		iterations = 1;

	make_policies();
	if (sql)
	{
		print_sql(iterations);
		return 0;
	}
	make_entities();

	gov_pol_arena_init(&parena, NULL, 64 * 1024 * 1024);
	for (i = 0; i < NPOLICIES; i++)
	{
		GovPolError err;

		if (!gov_pol_parse(&parena, policies[i], strlen(policies[i]), &compiled[i], &err))
		{
			fprintf(stderr, "policy %d: %s\n", i, err.message);
			return 1;
		}
	}

	cfield.key = S("amount");
	cfield.value.kind = GOV_POL_LONG;
	cfield.value.u.i = 500;
	context.kind = GOV_POL_RECORD;
	context.u.rec.fields = &cfield;
	context.u.rec.n = 1;

	memset(&req, 0, sizeof(req));
	req.principal = S(REQ_PRINCIPAL);
	req.action = S(REQ_ACTION);
	req.resource = S(REQ_RESOURCE);
	req.context = &context;
	req.lookup = lookup;
	req.max_entity_depth = 32;

	gov_pol_arena_init(&scratch, NULL, 64 * 1024 * 1024);
	ns = malloc(sizeof(long long) * iterations);
	for (i = 0; i < iterations; i++)
	{
		struct timespec t0;
		struct timespec t1;
		GovPolSession *s;
		int			permit = 0;
		int			forbid = 0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		gov_pol_arena_reset(&scratch);
		s = gov_pol_session_new(&scratch, &req);
		for (j = 0; j < NPOLICIES; j++)
		{
			const char *err;
			GovPolResult r = gov_pol_evaluate(s, compiled[j], &err);

			if (r == GOV_POL_ERROR)
				errors++;
			if (gov_pol_is_permit(compiled[j]))
				permit |= (r == GOV_POL_MATCH);
			else
				forbid |= (r != GOV_POL_NO_MATCH);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		allowed += permit && !forbid;
		ns[i] = (long long) (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	}
	qsort(ns, iterations, sizeof(long long), cmp_ll);
	printf("policies: %d, entities: %d, iterations: %d, decision: %s, evaluation errors: %d\n",
		   NPOLICIES, nents, iterations, allowed == iterations ? "allow" : allowed == 0 ? "deny" : "mixed",
		   errors);
	printf("per request (all %d policies): median %.3f us, p90 %.3f us, p99 %.3f us, min %.3f us\n",
		   NPOLICIES, ns[iterations / 2] / 1000.0, ns[(long long) iterations * 9 / 10] / 1000.0,
		   ns[(long long) iterations * 99 / 100] / 1000.0, ns[0] / 1000.0);
	free(ns);
	gov_pol_arena_free(&scratch);
	gov_pol_arena_free(&parena);
	return 0;
}
