/*-------------------------------------------------------------------------
 *
 * fuzz_schema.c
 *	  libFuzzer harness for Cedar schemas (src/cedar_schema.c): an input is
 *	  a schema (either format: human-readable, or JSON when it starts
 *	  with "{"), optionally followed by a line "%%" and a policy (or
 *	  template) source.  The schema is parsed; a parse error must carry a
 *	  well-formed "schema line L, column C: ..." message.  A schema that
 *	  parses validates the policy (when it parses), a few fixed policies,
 *	  a few fixed entities, tags and requests; a validation error must be
 *	  a message, and the same check twice must give the same answer.  The
 *	  type checker (src/cedar_typecheck.c) runs on the same policies, with
 *	  the same demands.
 *
 *	  Built by contrib/fuzz/run.sh against the pure-C core only:
 *
 * fuzz-sources: src/policy_lang.c src/cedar_schema.c src/cedar_typecheck.c
 * fuzz-options: -max_len=8192 -timeout=5
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cedar_schema.h"
#include "cedar_typecheck.h"

static const char *const fixed_policies[] = {
	"permit (principal, action, resource);",
	"permit (principal is User, action == Action::\"read\", resource in Folder::\"f\") when { principal.name == context.who && resource.level > 1 };",
	"forbid (principal == ?principal, action in [Action::\"a\", Action::\"b\"], resource) unless { Group::\"g\" in principal.groups };",
	"permit (principal, action == A::B::Action::\"read\", resource is A::B::Doc) when { principal.hasTag(\"t\") && principal.getTag(\"t\") like \"a*\" && resource == Color::\"red\" };",
	"permit (principal is User, action, resource) when { principal.hasTag(context.k) && principal.getTag(context.k).contains(\"x\") || principal.getTag(\"u\") > 1 };",
};

static void
check_message(const GovPolError *err, const char *prefix)
{
	if (err->message[0] == '\0')
		abort();
	if (prefix != NULL && strncmp(err->message, prefix, strlen(prefix)) != 0)
		abort();
	if (memchr(err->message, '\0', GOV_POL_ERRMSG_LEN) == NULL)
		abort();
}

static void
validate(const GovSchema *s, GovPolArena *a, const GovPolicy *p)
{
	GovPolError e1;
	GovPolError e2;
	bool		r1 = gov_sch_check_policy(s, a, p, &e1);
	bool		r2 = gov_sch_check_policy(s, a, p, &e2);

	if (r1 != r2)
		abort();
	if (!r1)
	{
		check_message(&e1, NULL);
		if (strcmp(e1.message, e2.message) != 0)
			abort();
	}
	r1 = gov_tc_check_policy(s, a, p, &e1);
	r2 = gov_tc_check_policy(s, a, p, &e2);
	if (r1 != r2)
		abort();
	if (!r1)
	{
		check_message(&e1, NULL);
		if (strcmp(e1.message, e2.message) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GovPolArena a;
	GovSchema  *s;
	GovPolError err;
	const char *src = (const char *) data;
	const char *sep = NULL;
	size_t		slen = size;
	size_t		i;

	for (i = 0; i + 4 <= size; i++)
		if (memcmp(src + i, "\n%%\n", 4) == 0)
		{
			sep = src + i;
			slen = i;
			break;
		}
	gov_pol_arena_init(&a, NULL, 16 * 1024 * 1024);
	if (!gov_sch_parse(&a, src, slen, &s, &err))
	{
		check_message(&err, "schema line ");
		if (err.line < 1 || err.column < 1)
			abort();
		gov_pol_arena_free(&a);
		return 0;
	}
	if (sep != NULL)
	{
		const char *ps = sep + 4;
		size_t		plen = size - slen - 4;
		GovPolicy  *p;

		if (gov_pol_parse(&a, ps, plen, &p, &err) ||
			gov_pol_parse_template(&a, ps, plen, &p, &err))
			validate(s, &a, p);
	}
	for (i = 0; i < sizeof(fixed_policies) / sizeof(fixed_policies[0]); i++)
	{
		GovPolicy  *p;
		const char *t = fixed_policies[i];

		if (gov_pol_parse(&a, t, strlen(t), &p, &err) ||
			gov_pol_parse_template(&a, t, strlen(t), &p, &err))
			validate(s, &a, p);
	}
	{
		GovPolStr	parents[2] = {{"Group::\"g\"", 10}, {"Folder::\"f\"", 11}};
		GovPolField f[2];
		GovPolValue rec;
		GovPolValue set;
		GovPolValue items[1];

		items[0].kind = GOV_POL_STRING;
		items[0].u.s.p = "x";
		items[0].u.s.len = 1;
		set.kind = GOV_POL_SET;
		set.u.set.items = items;
		set.u.set.n = 1;
		f[0].key.p = "name";
		f[0].key.len = 4;
		f[0].value.kind = GOV_POL_STRING;
		f[0].value.u.s.p = "ann";
		f[0].value.u.s.len = 3;
		f[1].key.p = "roles";
		f[1].key.len = 5;
		f[1].value = set;
		rec.kind = GOV_POL_RECORD;
		rec.u.rec.fields = f;
		rec.u.rec.n = 2;
		if (!gov_sch_check_entity(s, "User::\"a\"", 9, parents, 2, &rec, &err))
			check_message(&err, NULL);
		if (!gov_sch_check_entity(s, "Action::\"read\"", 14, NULL, 0, NULL, &err))
			check_message(&err, NULL);
		if (!gov_sch_check_entity(s, "x", 1, NULL, 0, NULL, &err))
			check_message(&err, NULL);
		if (!gov_sch_check_tags(s, "User::\"a\"", 9, &rec, &err))
			check_message(&err, NULL);
		/* requests, as decide() checks them (issue 17) */
		if (!gov_sch_check_request(s, "User::\"a\"", "Action::\"read\"", "Doc::\"d\"", &rec, &err))
			check_message(&err, NULL);
		if (!gov_sch_check_request(s, "A::B::User::\"a\"", "A::B::Action::\"read\"", "Color::\"red\"",
								   NULL, &err))
			check_message(&err, NULL);
		if (!gov_sch_check_request(s, "x", "y", "z", &set, &err))
			check_message(&err, NULL);
	}
	gov_pol_arena_free(&a);
	return 0;
}
