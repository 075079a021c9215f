/*-------------------------------------------------------------------------
 *
 * policy_values.c
 *	  From jsonb (entity attributes, request contexts) to the values the
 *	  policy language evaluates (policy_lang.h): numbers, strings, sets,
 *	  records and entity references, and what makes one unusable.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "policy_lang.h"
#include "policy_values.h"

/* ---------------------------------------------------------------------
 * jsonb to policy values
 * ---------------------------------------------------------------------
 */

static void convert_jbv(JsonbValue *v, GovPolValue *out, int depth);

static void
unusable(GovPolValue *out, const char *why)
{
	out->kind = GOV_POL_UNUSABLE;
	out->u.s.p = why;
	out->u.s.len = strlen(why);
}

static void
convert_number(Numeric num, GovPolValue *out)
{
	char	   *txt = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
	const char *s = txt;
	bool		neg = false;
	uint64		v = 0;
	bool		overflow = false;

	if (*s == '-')
	{
		neg = true;
		s++;
	}
	while (*s >= '0' && *s <= '9')
	{
		unsigned	d = (unsigned) (*s - '0');

		if (v > ((neg ? (uint64) PG_INT64_MAX + 1 : (uint64) PG_INT64_MAX) - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
		s++;
	}
	if (*s == '.')
	{
		const char *frac = s + 1;

		while (*frac == '0')
			frac++;
		if (*frac != '\0')
		{
			unusable(out, psprintf("number %.40s is not an integer", txt));
			return;
		}
	}
	else if (*s != '\0')
	{
		unusable(out, psprintf("number %.40s is not an integer", txt));
		return;
	}
	if (overflow)
	{
		unusable(out, psprintf("number %.40s is out of range for a 64-bit integer", txt));
		return;
	}
	out->kind = GOV_POL_LONG;
	if (neg)
		out->u.i = v == (uint64) PG_INT64_MAX + 1 ? PG_INT64_MIN : -(int64) v;
	else
		out->u.i = (int64) v;
}

#define ENTITY_REF_KEY "__entity"
#define EXTENSION_KEY "__extn"
#define BAD_EXTENSION "invalid extension value: "

/*
 * {"__extn": {"fn": "decimal", "arg": "1.5"}}, Cedar's JSON form of an
 * extension value (docs/POLICY.md section 3): v is the value of "__extn".
 */
static void
convert_extension(JsonbValue *v, GovPolValue *out)
{
	JsonbContainer *c;
	JsonbValue	fn;
	JsonbValue	arg;
	GovPolIp   *ip;
	const char *why;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data) ||
		JsonContainerSize(v->val.binary.data) != 2 ||
		!getKeyJsonValueFromContainer(c = v->val.binary.data, "fn", 2, &fn) ||
		fn.type != jbvString ||
		!getKeyJsonValueFromContainer(c, "arg", 3, &arg) ||
		arg.type != jbvString)
	{
		unusable(out, BAD_EXTENSION "an object with key \"__extn\" must be {\"__extn\": {\"fn\": \"decimal\", \"arg\": \"1.5\"}}");
		return;
	}
	ip = palloc(sizeof(GovPolIp));
	if (!gov_pol_extension_value(fn.val.string.val, fn.val.string.len,
								 arg.val.string.val, arg.val.string.len,
								 ip, out, &why))
	{
		const char *name = pnstrdup(fn.val.string.val, Min(fn.val.string.len, 64));
		const char *text = pnstrdup(arg.val.string.val, Min(arg.val.string.len, 128));

		if (strcmp(why, "unknown extension function") == 0)
			unusable(out, psprintf(BAD_EXTENSION "\"%s\" is not an extension function (decimal, ip, datetime, duration)", name));
		else
			unusable(out, psprintf(BAD_EXTENSION "%s(\"%s\"): the string %s", name, text, why));
	}
}

static void
convert_container(JsonbContainer *c, GovPolValue *out, int depth)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	uint32		n = JsonContainerSize(c);
	uint32		i = 0;

	if (depth > GOV_POL_MAX_VALUE_DEPTH)
	{
		unusable(out, "value nested deeper than 64 levels");
		return;
	}
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	if (JsonContainerIsScalar(c))
	{
		it = JsonbIteratorInit(c);
		(void) JsonbIteratorNext(&it, &v, true);	/* the pseudo array */
		(void) JsonbIteratorNext(&it, &v, true);
		convert_jbv(&v, out, depth);
		return;
	}
	if (JsonContainerIsArray(c))
	{
		GovPolValue *items = palloc(sizeof(GovPolValue) * (n ? n : 1));

		it = JsonbIteratorInit(c);
		while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (r == WJB_ELEM && i < n)
				convert_jbv(&v, &items[i++], depth + 1);
		}
		out->kind = GOV_POL_SET;
		out->u.set.items = items;
		out->u.set.n = i;
		return;
	}

	/* an object: a record, or an entity reference */
	{
		GovPolField *fields = palloc(sizeof(GovPolField) * (n ? n : 1));
		bool		entity_ref = false;
		bool		extension = false;

		it = JsonbIteratorInit(c);
		while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (r == WJB_KEY && i < n)
			{
				fields[i].key.p = v.val.string.val;
				fields[i].key.len = v.val.string.len;
				if (v.val.string.len == strlen(ENTITY_REF_KEY) &&
					memcmp(v.val.string.val, ENTITY_REF_KEY, v.val.string.len) == 0)
					entity_ref = true;
				if (v.val.string.len == strlen(EXTENSION_KEY) &&
					memcmp(v.val.string.val, EXTENSION_KEY, v.val.string.len) == 0)
					extension = true;
			}
			else if (r == WJB_VALUE && i < n)
			{
				if (extension && n == 1)
				{
					convert_extension(&v, out);
					return;
				}
				if (entity_ref && n == 1 && v.type == jbvString &&
					gov_pol_valid_uid(v.val.string.val, v.val.string.len))
				{
					out->kind = GOV_POL_ENTITY;
					out->u.s.p = v.val.string.val;
					out->u.s.len = v.val.string.len;
					return;
				}
				convert_jbv(&v, &fields[i].value, depth + 1);
				i++;
			}
		}
		if (extension)
		{
			unusable(out, BAD_EXTENSION "an object with key \"__extn\" must have no other key");
			return;
		}
		if (entity_ref)
		{
			unusable(out, "invalid entity reference: an object with key \"__entity\" must be {\"__entity\": \"Type::\\\"id\\\"\"}");
			return;
		}
		if (!gov_pol_record_sort(fields, i))
			elog(ERROR, "duplicate key in jsonb object");
		out->kind = GOV_POL_RECORD;
		out->u.rec.fields = fields;
		out->u.rec.n = i;
	}
}

static void
convert_jbv(JsonbValue *v, GovPolValue *out, int depth)
{
	switch (v->type)
	{
		case jbvNull:
			unusable(out, "value is null (JSON null is not a policy value)");
			return;
		case jbvString:
			out->kind = GOV_POL_STRING;
			out->u.s.p = v->val.string.val;
			out->u.s.len = v->val.string.len;
			return;
		case jbvNumeric:
			convert_number(v->val.numeric, out);
			return;
		case jbvBool:
			out->kind = GOV_POL_BOOL;
			out->u.b = v->val.boolean;
			return;
		case jbvBinary:
			convert_container(v->val.binary.data, out, depth);
			return;
		default:
			unusable(out, "unsupported JSON value");
			return;
	}
}

/* The values point into jb, which must outlive them. */
void
gov_policy_jsonb_to_value(Jsonb *jb, GovPolValue *out)
{
	convert_container(&jb->root, out, 0);
}

/*
 * Does every {"__entity": ...} object in the value hold a valid uid?  Used
 * to refuse bad attributes when they are stored rather than when used.
 */
bool
gov_policy_value_refs_valid(const GovPolValue *v, const char **why)
{
	uint32		i;

	switch (v->kind)
	{
		case GOV_POL_UNUSABLE:
			if (strncmp(v->u.s.p, "invalid entity reference", 24) == 0 ||
				strncmp(v->u.s.p, BAD_EXTENSION, strlen(BAD_EXTENSION)) == 0)
			{
				*why = v->u.s.p;
				return false;
			}
			return true;
		case GOV_POL_SET:
			for (i = 0; i < v->u.set.n; i++)
				if (!gov_policy_value_refs_valid(&v->u.set.items[i], why))
					return false;
			return true;
		case GOV_POL_RECORD:
			for (i = 0; i < v->u.rec.n; i++)
				if (!gov_policy_value_refs_valid(&v->u.rec.fields[i].value, why))
					return false;
			return true;
		default:
			return true;
	}
}


/* ---------------------------------------------------------------------
 * Annotations, for explain() and reasons (issue 17)
 * ---------------------------------------------------------------------
 */

/* a C string of s, each NUL shown as U+FFFD (text cannot hold NUL) */
static char *
nul_free(GovPolStr s)
{
	StringInfoData b;
	uint32		i;

	initStringInfo(&b);
	for (i = 0; i < s.len; i++)
	{
		if (s.p[i] == '\0')
			appendStringInfoString(&b, "\xef\xbf\xbd");
		else
			appendStringInfoChar(&b, s.p[i]);
	}
	return b.data;
}

void
gov_policy_annotations(const GovPolicy *p, char **text, char **json)
{
	uint32		n = gov_pol_annotation_count(p);
	uint32		i;
	StringInfoData t;
	StringInfoData j;

	*text = NULL;
	*json = NULL;
	if (n == 0)
		return;
	initStringInfo(&t);
	initStringInfo(&j);
	appendStringInfoChar(&j, '{');
	for (i = 0; i < n; i++)
	{
		GovPolStr	k;
		GovPolStr	v;
		char	   *key;
		char	   *val;

		gov_pol_annotation(p, i, &k, &v);
		key = pnstrdup(k.p, k.len);
		val = nul_free(v);
		if (i > 0)
		{
			appendStringInfoChar(&t, ' ');
			appendStringInfoString(&j, ", ");
		}
		appendStringInfo(&t, "@%s(", key);
		escape_json(&t, val);
		appendStringInfoChar(&t, ')');
		escape_json(&j, key);
		appendStringInfoString(&j, ": ");
		escape_json(&j, val);
	}
	appendStringInfoChar(&j, '}');
	*text = t.data;
	*json = j.data;
}
