/*-------------------------------------------------------------------------
 *
 * policy_sql.c
 *	  The policy subsystem's SQL API: create_policy, replace_policy,
 *	  drop_policy, put_entity, delete_entity, explain, decide,
 *	  policy_set_hash, and the benchmark function the bench harness
 *	  declares.  Every change is ledgered and announced to every backend
 *	  at commit (policy.c, which owns the caches and the decision).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "cedar_schema.h"
#include "cedar_typecheck.h"
#include "crypto.h"
#include "encode.h"
#include "common.h"
#include "ledger.h"
#include "policy.h"
#include "policy_lang.h"
#include "policy_values.h"
#include "uid.h"
#include "xact_defer.h"

/* ---------------------------------------------------------------------
 * SQL functions: changing policies and entities
 * ---------------------------------------------------------------------
 */

/* A uid argument: not NULL, not empty, Type::"id" (the messages of uid.c) */
static char *
arg_uid(FunctionCallInfo fcinfo, int n, const char *what)
{
	char	   *s = gov_arg_text(fcinfo, n, what);

	gov_check_uid(what, s);
	return s;
}

static char *
arg_policy_name(FunctionCallInfo fcinfo, int n)
{
	char	   *name = gov_arg_text(fcinfo, n, "policy name");
	const char *s;

	for (s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  (*s >= '0' && *s <= '9') || strchr("_-.:/", *s) != NULL))
			break;
	if (*s != '\0' || strlen(name) > POLICY_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid policy name \"%.200s\"", name),
				 errdetail("A policy name is 1 to %d characters among letters, digits and _ - . : /.",
						   POLICY_NAME_MAX)));
	return name;
}

static Jsonb *
payload_of(int n, const char *const *keys, const char *const *vals)
{
	JsonbParseState *state = NULL;
	JsonbValue	k;
	JsonbValue	v;
	int			i;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < n; i++)
	{
		k.type = jbvString;
		k.val.string.val = (char *) keys[i];
		k.val.string.len = strlen(keys[i]);
		pushJsonbValue(&state, WJB_KEY, &k);
		if (vals[i] == NULL)
			v.type = jbvNull;
		else
		{
			v.type = jbvString;
			v.val.string.val = (char *) vals[i];
			v.val.string.len = strlen(vals[i]);
		}
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

static char *
sha3_hex(const char *s)
{
	uint8		h[GOV_HASH_LEN];

	gov_sha3_512(s, strlen(s), h);
	return gov_hex(h, GOV_HASH_LEN);
}

/* The policy-set hash as this transaction now sees it. */
static bytea *
current_set_hash(void)
{
	bytea	   *res = palloc(VARHDRSZ + GOV_HASH_LEN);

	SET_VARSIZE(res, VARHDRSZ + GOV_HASH_LEN);
	gov_policy_set_hash((uint8 *) VARDATA(res));
	return res;
}

/* The longest schema set_schema() accepts. */
#define SCHEMA_MAX_BYTES (1024 * 1024)

/*
 * The Cedar schema set by set_schema() (governance.cedar_schema), parsed
 * into arena; NULL when none is set or the table does not exist (a 0.1
 * schema before ALTER EXTENSION UPDATE).  Takes a SHARE lock on the table
 * so that set_schema(), which takes EXCLUSIVE, cannot change it before the
 * caller's transaction ends: what was checked against it stays checked.
 */
static GovSchema *
load_schema(GovPolArena *arena)
{
	Oid			nsp = get_namespace_oid("governance", true);
	char	   *src = NULL;
	size_t		len = 0;
	GovSchema  *schema;
	GovPolError err;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("cedar_schema", nsp)))
		return NULL;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("LOCK TABLE governance.cedar_schema IN SHARE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock governance.cedar_schema");
	if (SPI_execute("SELECT source FROM governance.cedar_schema", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.cedar_schema");
	if (SPI_processed > 0)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		len = strlen(v);
		src = gov_pol_alloc(arena, len + 1);
		if (src == NULL)
			elog(ERROR, "out of memory for the Cedar schema");
		memcpy(src, v, len + 1);
	}
	SPI_finish();
	if (src == NULL)
		return NULL;
	if (!gov_sch_parse(arena, src, len, &schema, &err))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the stored Cedar schema does not parse: %s", err.message)));
	return schema;
}

static void
schema_arena(GovPolArena *arena, MemoryContext cxt)
{
	gov_policy_arena_in_context(arena, cxt, gov_policy_compile_limit(SCHEMA_MAX_BYTES));
}

/* Refuse a policy or template (what, name) the schema set disagrees with. */
static void
schema_check_policy(const GovPolicy *pol, const char *what, const char *name)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "governance schema check",
											  ALLOCSET_DEFAULT_SIZES);
	GovPolArena arena;
	GovSchema  *schema;
	GovPolError err;

	schema_arena(&arena, cxt);
	schema = load_schema(&arena);
	if (schema != NULL && !gov_tc_check_policy(schema, &arena, pol, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("%s", err.message),
				 errdetail("%s \"%s\" does not agree with the Cedar schema (governance.set_schema) and was not stored.",
						   what, name)));
	MemoryContextDelete(cxt);
}

static void
check_source(const char *name, const char *source, bool *permit)
{
	size_t		len = strlen(source);
	GovPolArena arena;
	GovPolError err;
	GovPolicy  *pol;
	MemoryContext cxt;

	if (len > (size_t) gov_max_policy_size * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("policy \"%s\" is too large", name),
				 errdetail("The source is %zu bytes; governance.max_policy_size is %d kB.",
						   len, gov_max_policy_size)));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "governance policy check",
								ALLOCSET_DEFAULT_SIZES);
	gov_policy_arena_in_context(&arena, cxt, gov_policy_compile_limit(len));
	if (!gov_pol_parse(&arena, source, len, &pol, &err))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s", err.message),
				 errdetail("Policy \"%s\" was not stored.", name)));
	*permit = gov_pol_is_permit(pol);
	schema_check_policy(pol, "Policy", name);
	MemoryContextDelete(cxt);
}

typedef enum PolicyChange
{
	POLICY_CREATE,
	POLICY_REPLACE,
	POLICY_DROP
} PolicyChange;

/*
 * A template-linked policy (issue 17): a row of governance.policies whose
 * source is its template's with the slots filled in, named in
 * governance.template_links.  link_template and unlink_template pass one to
 * apply_change, which writes both tables under the same lock and ledgers
 * governance.template.linked / .unlinked; create/replace/drop_policy pass
 * NULL, and replace_policy and drop_policy refuse a linked policy.
 */
typedef struct TemplateLink
{
	const char *template;
	const char *principal;		/* NULL: the template has no ?principal */
	const char *resource;
} TemplateLink;

static bytea *apply_change(PolicyChange change, const char *name, const char *source,
						   bool permit, TemplateLink *link);

static Datum
change_policy(FunctionCallInfo fcinfo, PolicyChange change)
{
	char	   *name;
	char	   *source = NULL;
	bool		permit = false;

	GOV_ENTRY();
	name = arg_policy_name(fcinfo, 0);
	if (change != POLICY_DROP)
	{
		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("policy source must not be NULL")));
		source = text_to_cstring(PG_GETARG_TEXT_PP(1));
		check_source(name, source, &permit);
	}
	PG_RETURN_BYTEA_P(apply_change(change, name, source, permit, NULL));
}

/*
 * Does governance.template_links exist?  Not while a 0.1 schema runs with
 * this library (before ALTER EXTENSION UPDATE): there are no links then.
 */
static bool
links_table_exists(void)
{
	Oid			nsp = get_namespace_oid("governance", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("template_links", nsp));
}

/* The template a policy is linked from (palloc'd in cxt), or NULL. */
static char *
linked_from(const char *name, MemoryContext cxt)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	char	   *template = NULL;

	if (!links_table_exists())
		return NULL;
	if (SPI_execute_with_args("SELECT template FROM governance.template_links"
							  " WHERE name OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.template_links");
	if (SPI_processed > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		template = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		MemoryContextSwitchTo(old);
	}
	return template;
}

/* Store, replace or drop one checked policy; ledgered; the new set's hash. */
static bytea *
apply_change(PolicyChange change, const char *name, const char *source, bool permit,
			 TemplateLink *link)
{
	char	   *old_source = NULL;
	Datum		args[3];
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	int			rc;
	bytea	   *hash;
	char	   *hash_hex;
	MemoryContext caller = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * One policy change at a time, so that the policy-set hash each change
	 * ledgers is the hash of the set it produced.  Readers are not blocked.
	 */
	if (SPI_execute("LOCK TABLE governance.policies IN SHARE ROW EXCLUSIVE MODE",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock governance.policies");

	args[0] = CStringGetTextDatum(name);
	switch (change)
	{
		case POLICY_CREATE:
			args[1] = CStringGetTextDatum(source);
			args[2] = CStringGetTextDatum(permit ? "permit" : "forbid");
			rc = SPI_execute_with_args("INSERT INTO governance.policies (name, source, effect, created_at, created_by)"
									   " VALUES ($1, $2, $3, pg_catalog.now(), pg_catalog.\"session_user\"())"
									   " ON CONFLICT (name) DO NOTHING",
									   3, argtypes, args, NULL, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "could not insert into governance.policies");
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("policy \"%s\" already exists", name),
						 errhint("Use governance.replace_policy() to change it.")));
			break;
		case POLICY_REPLACE:
		case POLICY_DROP:
			{
				char	   *template = linked_from(name, caller);

				if (link == NULL && template != NULL)
					ereport(ERROR,
							(errcode(ERRCODE_WRONG_OBJECT_TYPE),
							 errmsg("policy \"%s\" is linked from template \"%s\"", name, template),
							 errhint("Use governance.unlink_template() to remove it.")));
				if (link != NULL && template == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_OBJECT),
							 errmsg("template-linked policy \"%s\" does not exist", name)));
				if (link != NULL)
					link->template = template;
			}
			rc = SPI_execute_with_args("SELECT source FROM governance.policies"
									   " WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
									   1, argtypes, args, NULL, false, 0);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "could not read governance.policies");
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("policy \"%s\" does not exist", name),
						 change == POLICY_REPLACE ?
						 errhint("Use governance.create_policy() to create it.") : 0));
			{
				MemoryContext spi = MemoryContextSwitchTo(caller);

				old_source = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
				MemoryContextSwitchTo(spi);
			}
			if (change == POLICY_REPLACE)
			{
				args[1] = CStringGetTextDatum(source);
				args[2] = CStringGetTextDatum(permit ? "permit" : "forbid");
				rc = SPI_execute_with_args("UPDATE governance.policies"
										   "   SET source = $2, effect = $3, created_at = pg_catalog.now(),"
										   "       created_by = pg_catalog.\"session_user\"()"
										   " WHERE name OPERATOR(pg_catalog.=) $1",
										   3, argtypes, args, NULL, false, 0);
				if (rc != SPI_OK_UPDATE)
					elog(ERROR, "could not update governance.policies");
			}
			else
			{
				rc = SPI_execute_with_args("DELETE FROM governance.policies"
										   " WHERE name OPERATOR(pg_catalog.=) $1",
										   1, argtypes, args, NULL, false, 0);
				if (rc != SPI_OK_DELETE)
					elog(ERROR, "could not delete from governance.policies");
				if (link != NULL &&
					SPI_execute_with_args("DELETE FROM governance.template_links"
										  " WHERE name OPERATOR(pg_catalog.=) $1",
										  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
					elog(ERROR, "could not delete from governance.template_links");
			}
			break;
	}
	if (change == POLICY_CREATE && link != NULL)
	{
		Datum		largs[4];
		char		lnulls[4] = {' ', ' ', ' ', ' '};
		Oid			ltypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};

		largs[0] = CStringGetTextDatum(name);
		largs[1] = CStringGetTextDatum(link->template);
		if (link->principal)
			largs[2] = CStringGetTextDatum(link->principal);
		else
			lnulls[2] = 'n';
		if (link->resource)
			largs[3] = CStringGetTextDatum(link->resource);
		else
			lnulls[3] = 'n';
		if (SPI_execute_with_args("INSERT INTO governance.template_links"
								  " (name, template, principal, resource, created_at, created_by)"
								  " VALUES ($1, $2, $3, $4, pg_catalog.now(), pg_catalog.\"session_user\"())",
								  4, ltypes, largs, lnulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into governance.template_links");
	}
	SPI_finish();
	gov_policy_mark_changed();

	hash = current_set_hash();
	hash_hex = gov_hex((uint8 *) VARDATA(hash), GOV_HASH_LEN);
	{
		const char *keys[8];
		const char *vals[8];
		int			n = 0;
		const char *kind;

		keys[n] = "name";
		vals[n++] = name;
		keys[n] = "policy_set_hash";
		vals[n++] = hash_hex;
		if (change == POLICY_CREATE || change == POLICY_REPLACE)
		{
			keys[n] = "effect";
			vals[n++] = permit ? "permit" : "forbid";
			keys[n] = "source_sha3_512";
			vals[n++] = sha3_hex(source);
		}
		if (change == POLICY_REPLACE || change == POLICY_DROP)
		{
			keys[n] = change == POLICY_DROP ? "source_sha3_512" : "previous_source_sha3_512";
			vals[n++] = sha3_hex(old_source);
		}
		if (link != NULL)
		{
			keys[n] = "template";
			vals[n++] = link->template;
			if (change == POLICY_CREATE)
			{
				keys[n] = "principal";
				vals[n++] = link->principal;
				keys[n] = "resource";
				vals[n++] = link->resource;
			}
		}
		if (link != NULL)
			kind = change == POLICY_CREATE ? "governance.template.linked" :
				"governance.template.unlinked";
		else
			kind = change == POLICY_CREATE ? "governance.policy.created" :
				change == POLICY_REPLACE ? "governance.policy.replaced" :
				"governance.policy.dropped";
		gov_ledger_append_system(kind, NULL, payload_of(n, keys, vals));
	}
	return hash;
}

/*
 * create_policies(source text) -> bytea (issue 17): a policy set, as Cedar
 * users keep it in a file, each statement named by its @id("name")
 * annotation and stored (and ledgered) as create_policy() would store it,
 * with its own text from "@" to ";".  All or nothing: one statement that
 * does not parse, lacks an @id, or names a policy that exists stores none.
 */
PG_FUNCTION_INFO_V1(gov_sql_create_policies);
Datum
gov_sql_create_policies(PG_FUNCTION_ARGS)
{
	char	   *source;
	size_t		len;
	GovPolArena arena;
	GovPolError err;
	GovPolicy **pols;
	uint32		n;
	uint32		i;
	uint32		j;
	char	  **names;
	char	  **texts;
	bytea	   *hash = NULL;
	MemoryContext cxt;

	GOV_ENTRY();
	source = gov_arg_text(fcinfo, 0, "policy source");
	len = strlen(source);
	if (len > (size_t) gov_max_policy_size * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("policy set is too large"),
				 errdetail("The source is %zu bytes; governance.max_policy_size is %d kB.",
						   len, gov_max_policy_size)));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "governance policy set",
								ALLOCSET_DEFAULT_SIZES);
	gov_policy_arena_in_context(&arena, cxt, gov_policy_compile_limit(len));
	if (!gov_pol_parse_set(&arena, source, len, &pols, &n, &err))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s", err.message),
				 errdetail("No policy of the set was stored.")));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the policy set holds no policy")));
	names = palloc(sizeof(char *) * n);
	texts = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		const GovPolStr *id = gov_pol_annotation_get(pols[i], "id");
		size_t		start;
		size_t		end;
		const char *s;

		if (id == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("policy %u of the set has no @id annotation", i + 1),
					 errhint("Name each policy of a set: @id(\"name\") before permit or forbid.")));
		names[i] = pnstrdup(id->p, id->len);
		for (s = names[i]; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				  (*s >= '0' && *s <= '9') || strchr("_-.:/", *s) != NULL))
				break;
		if (*s != '\0' || id->len == 0 || strlen(names[i]) != id->len || id->len > POLICY_NAME_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid policy name \"%.200s\" in the @id of policy %u of the set",
							names[i], i + 1),
					 errdetail("A policy name is 1 to %d characters among letters, digits and _ - . : /.",
							   POLICY_NAME_MAX)));
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("policy \"%s\" appears twice in the set", names[i])));
		gov_pol_source_span(pols[i], &start, &end);
		texts[i] = pnstrdup(source + start, end - start);
		schema_check_policy(pols[i], "Policy", names[i]);
	}
	for (i = 0; i < n; i++)
		hash = apply_change(POLICY_CREATE, names[i], texts[i], gov_pol_is_permit(pols[i]), NULL);
	MemoryContextDelete(cxt);
	PG_RETURN_BYTEA_P(hash);
}

/* create_policy(name text, source text) -> bytea */
PG_FUNCTION_INFO_V1(gov_sql_create_policy);
Datum
gov_sql_create_policy(PG_FUNCTION_ARGS)
{
	return change_policy(fcinfo, POLICY_CREATE);
}

/* replace_policy(name text, source text) -> bytea */
PG_FUNCTION_INFO_V1(gov_sql_replace_policy);
Datum
gov_sql_replace_policy(PG_FUNCTION_ARGS)
{
	return change_policy(fcinfo, POLICY_REPLACE);
}

/* drop_policy(name text) -> bytea */
PG_FUNCTION_INFO_V1(gov_sql_drop_policy);
Datum
gov_sql_drop_policy(PG_FUNCTION_ARGS)
{
	return change_policy(fcinfo, POLICY_DROP);
}

/* ---------------------------------------------------------------------
 * SQL functions: policy templates (issue 17)
 *
 * A template is stored in governance.policy_templates and decides nothing;
 * linking it stores a policy (a row of governance.policies, so the
 * policy-set hash, the caches and every backend's next decision follow as
 * for any policy) whose source is the template's with each slot replaced
 * by the entity literal given, and records the link in
 * governance.template_links.  A template cannot be dropped while linked.
 * Lock order: policy_templates, then policies (apply_change).
 * ---------------------------------------------------------------------
 */

static void
lock_templates(void)
{
	if (SPI_execute("LOCK TABLE governance.policy_templates IN SHARE ROW EXCLUSIVE MODE",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock governance.policy_templates");
}

/*
 * A read under that lock, with the latest snapshot: in a REPEATABLE READ
 * transaction the transaction's snapshot may predate a link or a drop that
 * committed while we waited for the lock, and a drop must not miss such a
 * link, nor a link such a drop.
 */
static void
read_latest(const char *sql, Datum arg)
{
	Oid			argtype = TEXTOID;
	SPIPlanPtr	plan = SPI_prepare(sql, 1, &argtype);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_execute_snapshot(plan, &arg, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.policy_templates");
}

/* Parse a template's source; ERROR with the position when it is not one. */
static GovPolicy *
parse_template(GovPolArena *arena, const char *name, const char *source,
			   MemoryContext cxt)
{
	size_t		len = strlen(source);
	GovPolError err;
	GovPolicy  *pol;

	if (len > (size_t) gov_max_policy_size * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("template \"%s\" is too large", name),
				 errdetail("The source is %zu bytes; governance.max_policy_size is %d kB.",
						   len, gov_max_policy_size)));
	gov_policy_arena_in_context(arena, cxt, gov_policy_compile_limit(len));
	if (!gov_pol_parse_template(arena, source, len, &pol, &err))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s", err.message),
				 errdetail("Template \"%s\" was not stored.", name)));
	return pol;
}

/* create_template(name text, source text) -> bytea */
PG_FUNCTION_INFO_V1(gov_sql_create_template);
Datum
gov_sql_create_template(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *source;
	GovPolArena arena;
	GovPolicy  *pol;
	bool		permit;
	MemoryContext cxt;
	Datum		args[3];
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	const char *keys[3];
	const char *vals[3];

	GOV_ENTRY();
	name = arg_policy_name(fcinfo, 0);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("template source must not be NULL")));
	source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "governance template check",
								ALLOCSET_DEFAULT_SIZES);
	pol = parse_template(&arena, name, source, cxt);
	permit = gov_pol_is_permit(pol);
	schema_check_policy(pol, "Template", name);
	MemoryContextDelete(cxt);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lock_templates();
	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(source);
	args[2] = CStringGetTextDatum(permit ? "permit" : "forbid");
	if (SPI_execute_with_args("INSERT INTO governance.policy_templates (name, source, effect, created_at, created_by)"
							  " VALUES ($1, $2, $3, pg_catalog.now(), pg_catalog.\"session_user\"())"
							  " ON CONFLICT (name) DO NOTHING",
							  3, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into governance.policy_templates");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("template \"%s\" already exists", name)));
	SPI_finish();

	keys[0] = "name";
	vals[0] = name;
	keys[1] = "effect";
	vals[1] = permit ? "permit" : "forbid";
	keys[2] = "source_sha3_512";
	vals[2] = sha3_hex(source);
	gov_ledger_append_system("governance.template.created", NULL, payload_of(3, keys, vals));
	PG_RETURN_BYTEA_P(current_set_hash());
}

/* drop_template(name text) -> bytea: refused while a policy is linked from it */
PG_FUNCTION_INFO_V1(gov_sql_drop_template);
Datum
gov_sql_drop_template(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *source;
	Datum		arg;
	Oid			argtype = TEXTOID;
	const char *keys[2];
	const char *vals[2];
	MemoryContext caller = CurrentMemoryContext;

	GOV_ENTRY();
	name = arg_policy_name(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lock_templates();
	arg = CStringGetTextDatum(name);
	if (SPI_execute_with_args("DELETE FROM governance.policy_templates"
							  " WHERE name OPERATOR(pg_catalog.=) $1 RETURNING source",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not delete from governance.policy_templates");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("template \"%s\" does not exist", name)));
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		source = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		MemoryContextSwitchTo(spi);
	}
	/* links are made under the lock held now: this count is final */
	read_latest("SELECT name, pg_catalog.count(*) OVER () FROM governance.template_links"
				" WHERE template OPERATOR(pg_catalog.=) $1 ORDER BY name LIMIT 1", arg);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("template \"%s\" is still linked", name),
				 errdetail("%s policies are linked from it, \"%s\" among them.",
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Unlink them with governance.unlink_template() first.")));
	SPI_finish();

	keys[0] = "name";
	vals[0] = name;
	keys[1] = "source_sha3_512";
	vals[1] = sha3_hex(source);
	gov_ledger_append_system("governance.template.dropped", NULL, payload_of(2, keys, vals));
	PG_RETURN_BYTEA_P(current_set_hash());
}

/*
 * link_template(template text, name text, principal text DEFAULT NULL,
 *				 resource text DEFAULT NULL) -> bytea
 *
 * As Cedar links: a value for exactly the slots the template has.
 */
PG_FUNCTION_INFO_V1(gov_sql_link_template);
Datum
gov_sql_link_template(PG_FUNCTION_ARGS)
{
	char	   *template;
	char	   *name;
	char	   *source;
	TemplateLink link;
	GovPolArena arena;
	GovPolicy  *pol;
	MemoryContext cxt;
	MemoryContext caller = CurrentMemoryContext;
	Datum		arg;
	size_t		ps = 0,
				pe = 0,
				rs = 0,
				re = 0;
	bool		has_p;
	bool		has_r;
	StringInfoData linked;
	bool		permit;
	bytea	   *hash;

	GOV_ENTRY();
	template = arg_policy_name(fcinfo, 0);
	name = arg_policy_name(fcinfo, 1);
	memset(&link, 0, sizeof(link));
	link.template = template;
	link.principal = PG_ARGISNULL(2) ? NULL : arg_uid(fcinfo, 2, "principal");
	link.resource = PG_ARGISNULL(3) ? NULL : arg_uid(fcinfo, 3, "resource");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* held to commit: the template cannot be dropped under the new link */
	lock_templates();
	arg = CStringGetTextDatum(template);
	read_latest("SELECT source FROM governance.policy_templates"
				" WHERE name OPERATOR(pg_catalog.=) $1", arg);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("template \"%s\" does not exist", template)));
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		source = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "governance template link",
								ALLOCSET_DEFAULT_SIZES);
	pol = parse_template(&arena, template, source, cxt);
	has_p = gov_pol_slot(pol, GOV_POL_SLOT_PRINCIPAL, &ps, &pe);
	has_r = gov_pol_slot(pol, GOV_POL_SLOT_RESOURCE, &rs, &re);
	MemoryContextDelete(cxt);
	if (has_p != (link.principal != NULL) || has_r != (link.resource != NULL))
	{
		const char *slot = has_p != (link.principal != NULL) ? "principal" : "resource";
		bool		has = has_p != (link.principal != NULL) ? has_p : has_r;

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 has ?
				 errmsg("template \"%s\" has the slot ?%s: pass %s", template, slot, slot) :
				 errmsg("template \"%s\" has no slot ?%s: pass no %s", template, slot, slot),
				 errdetail("A link gives a value to exactly the slots of its template.")));
	}

	/* the template's text with each slot replaced by its entity literal */
	initStringInfo(&linked);
	if (has_p && has_r && rs < ps)
	{
		appendBinaryStringInfo(&linked, source, rs);
		appendStringInfoString(&linked, link.resource);
		appendBinaryStringInfo(&linked, source + re, ps - re);
		appendStringInfoString(&linked, link.principal);
		appendStringInfoString(&linked, source + pe);
	}
	else if (has_p && has_r)
	{
		appendBinaryStringInfo(&linked, source, ps);
		appendStringInfoString(&linked, link.principal);
		appendBinaryStringInfo(&linked, source + pe, rs - pe);
		appendStringInfoString(&linked, link.resource);
		appendStringInfoString(&linked, source + re);
	}
	else
	{
		size_t		s = has_p ? ps : rs;
		size_t		e = has_p ? pe : re;

		appendBinaryStringInfo(&linked, source, s);
		appendStringInfoString(&linked, has_p ? link.principal : link.resource);
		appendStringInfoString(&linked, source + e);
	}
	check_source(name, linked.data, &permit);
	hash = apply_change(POLICY_CREATE, name, linked.data, permit, &link);
	PG_RETURN_BYTEA_P(hash);
}

/* unlink_template(name text) -> bytea */
PG_FUNCTION_INFO_V1(gov_sql_unlink_template);
Datum
gov_sql_unlink_template(PG_FUNCTION_ARGS)
{
	char	   *name;
	TemplateLink link;

	GOV_ENTRY();
	name = arg_policy_name(fcinfo, 0);
	memset(&link, 0, sizeof(link));
	PG_RETURN_BYTEA_P(apply_change(POLICY_DROP, name, NULL, false, &link));
}

/*
 * The hash ledgered for an entity: SHA3-512 of the canonical JSON
 * (docs/FORMAT.md section 4) of {"attrs": ..., "parents": [...], "uid": ...},
 * with "tags": {...} too when the entity has tags (so an entity without
 * tags hashes as before tags existed).
 */
static char *
entity_value_hash(const char *uid, Datum *parents, int nparents, Jsonb *attrs,
				  Jsonb *tags)
{
	JsonbParseState *state = NULL;
	JsonbValue	k;
	JsonbValue	v;
	JsonbValue *res;
	StringInfoData s;
	int			i;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	k.type = jbvString;
	k.val.string.val = "uid";
	k.val.string.len = 3;
	pushJsonbValue(&state, WJB_KEY, &k);
	v.type = jbvString;
	v.val.string.val = (char *) uid;
	v.val.string.len = strlen(uid);
	pushJsonbValue(&state, WJB_VALUE, &v);

	k.val.string.val = "parents";
	k.val.string.len = 7;
	pushJsonbValue(&state, WJB_KEY, &k);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < nparents; i++)
	{
		text	   *t = DatumGetTextPP(parents[i]);

		v.type = jbvString;
		v.val.string.val = VARDATA_ANY(t);
		v.val.string.len = VARSIZE_ANY_EXHDR(t);
		pushJsonbValue(&state, WJB_ELEM, &v);
	}
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	k.val.string.val = "attrs";
	k.val.string.len = 5;
	pushJsonbValue(&state, WJB_KEY, &k);
	v.type = jbvBinary;
	v.val.binary.data = &attrs->root;
	v.val.binary.len = VARSIZE(attrs) - VARHDRSZ;
	pushJsonbValue(&state, WJB_VALUE, &v);
	if (tags && JB_ROOT_COUNT(tags) > 0)
	{
		k.val.string.val = "tags";
		k.val.string.len = 4;
		pushJsonbValue(&state, WJB_KEY, &k);
		v.type = jbvBinary;
		v.val.binary.data = &tags->root;
		v.val.binary.len = VARSIZE(tags) - VARHDRSZ;
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);

	initStringInfo(&s);
	gov_canonical_json(&s, JsonbValueToJsonb(res));
	return sha3_hex(s.data);
}

/*
 * put_entity(uid text, parents text[] DEFAULT '{}', attrs jsonb DEFAULT '{}',
 *			  tags jsonb DEFAULT '{}') -> void: gov_sql_put_entity_tags.
 * gov_sql_put_entity is 0.1's three-argument put_entity, called until
 * ALTER EXTENSION UPDATE (an entity without tags).
 */
static Datum put_entity(FunctionCallInfo fcinfo, bool with_tags);

PG_FUNCTION_INFO_V1(gov_sql_put_entity);
Datum
gov_sql_put_entity(PG_FUNCTION_ARGS)
{
	return put_entity(fcinfo, false);
}

PG_FUNCTION_INFO_V1(gov_sql_put_entity_tags);
Datum
gov_sql_put_entity_tags(PG_FUNCTION_ARGS)
{
	return put_entity(fcinfo, true);
}

static Datum
put_entity(FunctionCallInfo fcinfo, bool with_tags)
{
	char	   *uid;
	ArrayType  *parents;
	Jsonb	   *attrs;
	Jsonb	   *tags = NULL;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			i;
	Datum		args[4];
	Oid			argtypes[4] = {TEXTOID, TEXTARRAYOID, JSONBOID, JSONBOID};
	GovPolValue val;
	const char *why;
	const char *keys[2];
	const char *vals[2];

	GOV_ENTRY();
	uid = arg_uid(fcinfo, 0, "entity");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("entity parents must not be NULL"),
				 errhint("Pass an empty array for an entity without parents.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("entity attributes must not be NULL"),
				 errhint("Pass '{}' for an entity without attributes.")));
	if (with_tags && PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("entity tags must not be NULL"),
				 errhint("Pass '{}' for an entity without tags.")));
	parents = PG_GETARG_ARRAYTYPE_P(1);
	attrs = PG_GETARG_JSONB_P(2);
	if (with_tags)
		tags = PG_GETARG_JSONB_P(3);

	if (ARR_NDIM(parents) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entity parents must be a one-dimensional array")));
	deconstruct_array(parents, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		char	   *p;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("entity parents must not contain NULL")));
		p = TextDatumGetCString(elems[i]);
		gov_check_uid("parent", p);
	}
	if (!JB_ROOT_IS_OBJECT(attrs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entity attributes must be a JSON object")));
	gov_policy_jsonb_to_value(attrs, &val);
	if (!gov_policy_value_refs_valid(&val, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entity attributes hold an %s", why)));
	{
		MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "governance schema check",
												  ALLOCSET_DEFAULT_SIZES);
		GovPolArena arena;
		GovSchema  *schema;
		GovPolError err;

		schema_arena(&arena, cxt);
		schema = load_schema(&arena);
		if (schema != NULL)
		{
			GovPolStr  *ps = palloc(sizeof(GovPolStr) * (nelems + 1));

			for (i = 0; i < nelems; i++)
			{
				ps[i].p = TextDatumGetCString(elems[i]);
				ps[i].len = strlen(ps[i].p);
			}
			if (!gov_sch_check_entity(schema, uid, strlen(uid), ps, nelems, &val, &err))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s", err.message),
						 errdetail("Entity %s does not agree with the Cedar schema (governance.set_schema) and was not stored.",
								   uid)));
			if (tags != NULL && JB_ROOT_IS_OBJECT(tags))
			{
				GovPolValue tv;

				gov_policy_jsonb_to_value(tags, &tv);
				if (!gov_sch_check_tags(schema, uid, strlen(uid), &tv, &err))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s", err.message),
							 errdetail("Entity %s does not agree with the Cedar schema (governance.set_schema) and was not stored.",
									   uid)));
			}
		}
		MemoryContextDelete(cxt);
	}
	if (tags)
	{
		if (!JB_ROOT_IS_OBJECT(tags))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("entity tags must be a JSON object")));
		gov_policy_jsonb_to_value(tags, &val);
		if (!gov_policy_value_refs_valid(&val, &why))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("entity tags hold an %s", why)));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(uid);
	args[1] = PointerGetDatum(parents);
	args[2] = JsonbPGetDatum(attrs);
	args[3] = tags ? JsonbPGetDatum(tags) : (Datum) 0;
	if (tags == NULL)
	{
		if (SPI_execute_with_args("INSERT INTO governance.entities AS e (uid, parents, attrs, updated_at)"
								  " VALUES ($1, $2, $3, pg_catalog.now())"
								  " ON CONFLICT (uid) DO UPDATE"
								  "   SET parents = EXCLUDED.parents, attrs = EXCLUDED.attrs,"
								  "       updated_at = EXCLUDED.updated_at",
								  3, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write governance.entities");
	}
	else if (SPI_execute_with_args("INSERT INTO governance.entities AS e (uid, parents, attrs, updated_at, tags)"
								   " VALUES ($1, $2, $3, pg_catalog.now(), $4)"
								   " ON CONFLICT (uid) DO UPDATE"
								   "   SET parents = EXCLUDED.parents, attrs = EXCLUDED.attrs,"
								   "       updated_at = EXCLUDED.updated_at, tags = EXCLUDED.tags",
								   4, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write governance.entities");
	SPI_finish();
	gov_policy_mark_changed();

	keys[0] = "uid";
	vals[0] = uid;
	keys[1] = "value_sha3_512";
	vals[1] = entity_value_hash(uid, elems, nelems, attrs, tags);
	gov_ledger_append_system("governance.entity.put", NULL, payload_of(2, keys, vals));
	PG_RETURN_VOID();
}

/* delete_entity(uid text) -> boolean */
PG_FUNCTION_INFO_V1(gov_sql_delete_entity);
Datum
gov_sql_delete_entity(PG_FUNCTION_ARGS)
{
	char	   *uid;
	Datum		arg;
	Oid			argtype = TEXTOID;
	bool		deleted;

	GOV_ENTRY();
	uid = arg_uid(fcinfo, 0, "entity");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	arg = CStringGetTextDatum(uid);
	if (SPI_execute_with_args("DELETE FROM governance.entities WHERE uid OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from governance.entities");
	deleted = SPI_processed > 0;
	SPI_finish();
	if (deleted)
	{
		const char *keys[2] = {"uid", "value_sha3_512"};
		const char *vals[2] = {uid, NULL};

		gov_policy_mark_changed();
		gov_ledger_append_system("governance.entity.deleted", NULL, payload_of(2, keys, vals));
	}
	PG_RETURN_BOOL(deleted);
}

/* ---------------------------------------------------------------------
 * SQL functions: deciding and explaining (they write nothing)
 * ---------------------------------------------------------------------
 */

static void
request_from_args(FunctionCallInfo fcinfo, GovRequest *req)
{
	char	   *action;

	req->principal = arg_uid(fcinfo, 0, "principal");
	action = gov_arg_text(fcinfo, 1, "action");
	req->action = gov_normalize_action(action);
	req->resource = arg_uid(fcinfo, 2, "resource");
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("context must not be NULL"),
				 errhint("Pass '{}' for an empty context.")));
	req->context = PG_GETARG_JSONB_P(3);
	if (!JB_ROOT_IS_OBJECT(req->context))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context must be a JSON object")));
	/* issue 17: Cedar's request validation, when a schema is set */
	{
		char	   *why;

		if (!gov_policy_check_request(req, &why))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("request does not agree with the Cedar schema: %s", why),
					 errdetail("Nothing was decided."),
					 errhint("The schema is governance.cedar_schema (set by governance.set_schema).")));
	}
}

static bytea *
hash_bytea(const uint8 *h)
{
	bytea	   *b = palloc(VARHDRSZ + GOV_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + GOV_HASH_LEN);
	memcpy(VARDATA(b), h, GOV_HASH_LEN);
	return b;
}

static Datum
text_array(List *strs)
{
	int			n = list_length(strs);
	Datum	   *d = palloc(sizeof(Datum) * (n + 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, strs)
		d[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * explain(principal, action, resource, context DEFAULT '{}')
 *	 -> setof (policy text, effect text, matched boolean, error text)
 */
PG_FUNCTION_INFO_V1(gov_sql_explain);
Datum
gov_sql_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GovRequest	req;
	GovDecision d;
	ListCell   *lc;

	GOV_ENTRY();
	request_from_args(fcinfo, &req);
	InitMaterializedSRF(fcinfo, 0);
	gov_policy_decide(&req, &d);
	foreach(lc, d.outcomes)
	{
		GovPolicyOutcome *o = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(o->policy);
		values[1] = CStringGetTextDatum(o->permit ? "permit" : "forbid");
		values[2] = BoolGetDatum(o->matched);
		if (o->error)
			values[3] = CStringGetTextDatum(o->error);
		else
			nulls[3] = true;
		/* issue 17: the annotations (0.2; a 0.1 explain() has four columns) */
		if (o->annotations_json && rsinfo->setDesc->natts >= 5)
			values[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(o->annotations_json));
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * decide(principal, action, resource, context DEFAULT '{}')
 *	 -> (decision text, determining text[], reasons text[], policy_set_hash bytea)
 */
PG_FUNCTION_INFO_V1(gov_sql_decide);
Datum
gov_sql_decide(PG_FUNCTION_ARGS)
{
	GovRequest	req;
	GovDecision d;
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	GOV_ENTRY();
	request_from_args(fcinfo, &req);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	gov_policy_decide(&req, &d);
	values[0] = CStringGetTextDatum(d.allow ? "allow" : "deny");
	values[1] = text_array(d.determining);
	values[2] = text_array(d.reasons);
	values[3] = PointerGetDatum(hash_bytea(d.policy_set_hash));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* policy_set_hash() -> bytea */
PG_FUNCTION_INFO_V1(gov_sql_policy_set_hash);
Datum
gov_sql_policy_set_hash(PG_FUNCTION_ARGS)
{
	GOV_ENTRY();
	PG_RETURN_BYTEA_P(current_set_hash());
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * policy_benchmark(principal, action, resource, context, iterations)
 *	 -> (iterations int, decision text, median_us, p90_us, p99_us, min_us float8)
 *
 * Times gov_policy_decide() itself, one call at a time, over warm caches:
 * the whole decision as authorize() pays for it (cache check, context
 * conversion, every policy, the outcome lists), not just the evaluator.
 */
PG_FUNCTION_INFO_V1(gov_sql_policy_benchmark);
Datum
gov_sql_policy_benchmark(PG_FUNCTION_ARGS)
{
	GovRequest	req;
	GovDecision d;
	int32		iterations;
	int64	   *ns;
	int			i;
	MemoryContext loop_cxt;
	MemoryContext old;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	GOV_ENTRY();
	request_from_args(fcinfo, &req);
	iterations = PG_ARGISNULL(4) ? 100000 : PG_GETARG_INT32(4);
	if (iterations < 1 || iterations > 10000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("iterations must be between 1 and 10000000")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	ns = palloc(sizeof(int64) * iterations);
	loop_cxt = AllocSetContextCreate(CurrentMemoryContext, "governance policy benchmark",
									 ALLOCSET_DEFAULT_SIZES);
	/* warm the caches */
	old = MemoryContextSwitchTo(loop_cxt);
	gov_policy_decide(&req, &d);
	MemoryContextSwitchTo(old);
	values[1] = CStringGetTextDatum(d.allow ? "allow" : "deny");

	for (i = 0; i < iterations; i++)
	{
		struct timespec start;
		struct timespec end;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(loop_cxt);
		old = MemoryContextSwitchTo(loop_cxt);
		clock_gettime(CLOCK_MONOTONIC, &start);
		gov_policy_decide(&req, &d);
		clock_gettime(CLOCK_MONOTONIC, &end);
		MemoryContextSwitchTo(old);
		ns[i] = ((int64) end.tv_sec - (int64) start.tv_sec) * 1000000000 +
			((int64) end.tv_nsec - (int64) start.tv_nsec);
	}
	MemoryContextDelete(loop_cxt);
	qsort(ns, iterations, sizeof(int64), cmp_int64);

	values[0] = Int32GetDatum(iterations);
	values[2] = Float8GetDatum(ns[iterations / 2] / 1000.0);
	values[3] = Float8GetDatum(ns[(int) ((int64) iterations * 9 / 10)] / 1000.0);
	values[4] = Float8GetDatum(ns[(int) ((int64) iterations * 99 / 100)] / 1000.0);
	values[5] = Float8GetDatum(ns[0] / 1000.0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * set_schema(schema text) -> void (issue 17 step 5): set the Cedar schema
 * policies, templates and entities are validated against, or clear it
 * (NULL).  Refused when a stored policy, template or entity disagrees
 * with the new schema (the first one is named).  Ledgered as
 * governance.schema.set.
 */
PG_FUNCTION_INFO_V1(gov_sql_set_schema);
Datum
gov_sql_set_schema(PG_FUNCTION_ARGS)
{
	char	   *source = NULL;
	size_t		len = 0;
	MemoryContext cxt;
	GovPolArena arena;
	GovSchema  *schema = NULL;
	GovPolError err;
	uint64		r;
	const char *keys[2];
	const char *vals[2];
	Datum		arg;
	Oid			argtype = TEXTOID;

	GOV_ENTRY();
	if (!PG_ARGISNULL(0))
	{
		source = text_to_cstring(PG_GETARG_TEXT_PP(0));
		len = strlen(source);
		if (len > SCHEMA_MAX_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("Cedar schema is too large"),
					 errdetail("The schema is %zu bytes; the limit is %d bytes.",
							   len, SCHEMA_MAX_BYTES)));
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "governance schema",
								ALLOCSET_DEFAULT_SIZES);
	schema_arena(&arena, cxt);
	if (source != NULL && !gov_sch_parse(&arena, source, len, &schema, &err))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s", err.message),
				 errdetail("The schema was not set.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* no policy, template or entity change runs while the schema changes */
	if (SPI_execute("LOCK TABLE governance.cedar_schema IN EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock governance.cedar_schema");
	if (schema != NULL)
	{
		static const char *const what[2] = {"policy", "template"};
		static const char *const query[2] = {
			"SELECT name, source FROM governance.policies ORDER BY name",
			"SELECT name, source FROM governance.policy_templates ORDER BY name"
		};
		int			q;

		for (q = 0; q < 2; q++)
		{
			if (SPI_execute(query[q], false, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not read the stored %ss", what[q]);
			for (r = 0; r < SPI_processed; r++)
			{
				char	   *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
				char	   *src = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
				GovPolArena pa;
				GovPolicy  *pol;
				MemoryContext pcxt = AllocSetContextCreate(CurrentMemoryContext, "governance schema policy",
														   ALLOCSET_DEFAULT_SIZES);

				gov_policy_arena_in_context(&pa, pcxt, gov_policy_compile_limit(strlen(src)));
				if (!(q == 0 ? gov_pol_parse(&pa, src, strlen(src), &pol, &err) :
					  gov_pol_parse_template(&pa, src, strlen(src), &pol, &err)))
				{
					/* a stored policy that does not compile denies anyway */
					MemoryContextDelete(pcxt);
					continue;
				}
				if (!gov_tc_check_policy(schema, &pa, pol, &err))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
							 errmsg("stored %s \"%s\" does not agree with the new Cedar schema: %s",
									what[q], name, err.message),
							 errdetail("The schema was not set."),
							 errhint("Replace or drop the %s first.", what[q])));
				MemoryContextDelete(pcxt);
			}
		}
		/* tags through to_jsonb(): the column is new in 0.2 (see policy.c) */
		if (SPI_execute("SELECT uid, parents, attrs,"
						" pg_catalog.to_jsonb(e) OPERATOR(pg_catalog.->) 'tags'"
						" FROM governance.entities e ORDER BY uid",
						false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read governance.entities");
		for (r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			char	   *uid = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
			bool		isnull;
			Datum		pd = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
			Datum		ad;
			Datum	   *elems = NULL;
			bool	   *nulls;
			int			nelems = 0;
			int			i;
			GovPolStr  *ps;
			GovPolValue val;

			if (!isnull)
				deconstruct_array(DatumGetArrayTypeP(pd), TEXTOID, -1, false, TYPALIGN_INT,
								  &elems, &nulls, &nelems);
			ps = palloc(sizeof(GovPolStr) * (nelems + 1));
			for (i = 0; i < nelems; i++)
			{
				ps[i].p = TextDatumGetCString(elems[i]);
				ps[i].len = strlen(ps[i].p);
			}
			ad = SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull);
			if (isnull)
			{
				memset(&val, 0, sizeof(val));
				val.kind = GOV_POL_RECORD;
			}
			else
				gov_policy_jsonb_to_value(DatumGetJsonbP(ad), &val);
			if (gov_sch_check_entity(schema, uid, strlen(uid), ps, nelems, &val, &err))
			{
				Datum		td = SPI_getbinval(tup, SPI_tuptable->tupdesc, 4, &isnull);

				if (!isnull && JB_ROOT_IS_OBJECT(DatumGetJsonbP(td)))
				{
					gov_policy_jsonb_to_value(DatumGetJsonbP(td), &val);
					if (gov_sch_check_tags(schema, uid, strlen(uid), &val, &err))
						continue;
				}
				else
					continue;
			}
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("stored entity %s does not agree with the new Cedar schema: %s",
							uid, err.message),
					 errdetail("The schema was not set."),
					 errhint("Change or delete the entity first.")));
		}
	}
	/* decisions validate requests against the schema: caches must reload */
	gov_policy_mark_changed();
	if (SPI_execute("DELETE FROM governance.cedar_schema", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not write governance.cedar_schema");
	if (source != NULL)
	{
		arg = CStringGetTextDatum(source);
		if (SPI_execute_with_args("INSERT INTO governance.cedar_schema (source, set_at, set_by)"
								  " VALUES ($1, pg_catalog.now(), pg_catalog.\"session_user\"())",
								  1, &argtype, &arg, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write governance.cedar_schema");
	}
	SPI_finish();
	MemoryContextDelete(cxt);

	keys[0] = "action";
	vals[0] = source != NULL ? "set" : "cleared";
	keys[1] = "source_sha3_512";
	vals[1] = source != NULL ? sha3_hex(source) : "";
	gov_ledger_append_system("governance.schema.set", NULL, payload_of(source != NULL ? 2 : 1, keys, vals));
	PG_RETURN_VOID();
}
