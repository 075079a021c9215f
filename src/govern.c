/*-------------------------------------------------------------------------
 *
 * govern.c
 *	  govern_table, ungovern_table and the lineage trigger: enforcement
 *	  next to the data (design decision D11).
 *
 *	  A governed table gets forced row-level security whose policies admit
 *	  a row only when a live attached lease covers the action
 *	  (<prefix>.select, .insert, .update, .delete) on the row's resource:
 *
 *	    resource_col = (SELECT governance.authorized_resource(action))
 *	    OR resource_col = ANY ((SELECT governance.authorized_resources(action))::text[])
 *
 *	  The sub-select is an InitPlan, evaluated once per statement, so the
 *	  per-row cost is one comparison; a lease that ends while a statement
 *	  runs is handled by the enforcer, which cancels the statement.  It
 *	  also gets an AFTER ROW trigger, enabled ALWAYS, that refuses any write
 *	  not covered by a live attached lease (superusers, who bypass
 *	  row-level security, included) and records every row change in the
 *	  ledger, on the lease's chain, in the same transaction: operation,
 *	  table, key, and the SHA3-512 of the old and new row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xlog.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "attach.h"
#include "authz.h"
#include "encode.h"
#include "enforcer.h"
#include "governance.h"
#include "lease.h"
#include "ledger.h"
#include "trust.h"
#include "xact_defer.h"

#define GOV_ACTION_PREFIX_MAX 200

/*
 * Set while govern_table()/ungovern_table() run their own DDL, so that the
 * DDL guard, which refuses any change that would strip a governed table of
 * its protections, lets them through.
 */
static bool governing = false;

PG_FUNCTION_INFO_V1(gov_sql_governing);
Datum
gov_sql_governing(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(governing);
}

static void
check_prefix(const char *prefix)
{
	const char *p;

	if (prefix[0] == '\0' || strlen(prefix) > GOV_ACTION_PREFIX_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action prefix must be 1 to %d characters", GOV_ACTION_PREFIX_MAX)));
	for (p = prefix; *p; p++)
		if (*p == '"' || *p == '\\' || *p == ':' || (unsigned char) *p < 0x20)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("action prefix must not contain quotes, backslashes, colons or control characters")));
}

static void
exec_ddl(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "governance: could not run \"%s\": %s", sql, SPI_result_code_string(rc));
}

/* govern_table(tbl regclass, action_prefix text, resource_column name) */
PG_FUNCTION_INFO_V1(gov_sql_govern_table);
Datum
gov_sql_govern_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *prefix;
	char	   *column;
	char	   *qname;
	char	   *qcol;
	Relation	rel;
	AttrNumber	attnum;
	Oid			atttype;
	char		relkind;
	Oid			nsp;
	static const char *const ops[] = {"select", "insert", "update", "delete"};
	char	   *actions[4];
	int			i;
	GovJson		j;

	GOV_ENTRY();
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot govern a table during recovery")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table, action prefix and resource column must not be NULL")));
	relid = PG_GETARG_OID(0);
	prefix = text_to_cstring(PG_GETARG_TEXT_PP(1));
	column = pstrdup(NameStr(*PG_GETARG_NAME(2)));
	check_prefix(prefix);

	rel = relation_open(relid, AccessExclusiveLock);
	relkind = rel->rd_rel->relkind;
	nsp = RelationGetNamespace(rel);
	relation_close(rel, NoLock);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("only tables can be governed")));
	if (nsp == PG_CATALOG_NAMESPACE || nsp == gov_schema_oid() || IsCatalogNamespace(nsp) ||
		isAnyTempNamespace(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tables in system, temporary or governance schemas cannot be governed")));
	attnum = get_attnum(relid, column);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in %s", column, get_rel_name(relid))));
	atttype = get_atttype(relid, attnum);
	if (atttype != TEXTOID && atttype != VARCHAROID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("resource column \"%s\" must be of type text", column),
				 errdetail("It holds entity uids such as Account::\"17\".")));

	qname = quote_qualified_identifier(get_namespace_name(nsp), get_rel_name(relid));
	qcol = (char *) quote_identifier(column);
	for (i = 0; i < 4; i++)
		actions[i] = psprintf("%s.%s", prefix, ops[i]);

	SPI_connect();
	if (SPI_execute_with_args("SELECT 1 FROM governance.governed_tables WHERE relid = $1",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
							  NULL, true, 1) == SPI_OK_SELECT && SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table %s is already governed", qname)));

	/* permissive policies are ORed: one of the table's own would widen ours */
	if (SPI_execute_with_args("SELECT 1 FROM pg_policy WHERE polrelid = $1 AND polpermissive",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
							  NULL, true, 1) == SPI_OK_SELECT && SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s already has permissive row-level security policies", qname),
				 errdetail("Permissive policies are combined with OR, so they would admit rows no lease covers."),
				 errhint("Drop them, or make them RESTRICTIVE, before governing the table.")));

	governing = true;
	PG_TRY();
	{
		exec_ddl(psprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY", qname));
		exec_ddl(psprintf("ALTER TABLE %s FORCE ROW LEVEL SECURITY", qname));
		/*
		 * The common case, one lease per action, costs one text comparison
		 * per row; the array is consulted only for rows the first resource
		 * does not match.  Both sub-selects are InitPlans: once per statement.
		 */
#define RES(i) psprintf("%s = (SELECT governance.authorized_resource(%s)) OR " \
						"%s = ANY ((SELECT governance.authorized_resources(%s))::text[])", \
						qcol, quote_literal_cstr(actions[i]), qcol, quote_literal_cstr(actions[i]))
		exec_ddl(psprintf("CREATE POLICY governance_select ON %s FOR SELECT USING (%s)", qname, RES(0)));
		exec_ddl(psprintf("CREATE POLICY governance_insert ON %s FOR INSERT WITH CHECK (%s)", qname, RES(1)));
		exec_ddl(psprintf("CREATE POLICY governance_update ON %s FOR UPDATE USING (%s) WITH CHECK (%s)",
						  qname, RES(2), RES(2)));
		exec_ddl(psprintf("CREATE POLICY governance_delete ON %s FOR DELETE USING (%s)", qname, RES(3)));
#undef RES
		exec_ddl(psprintf("CREATE TRIGGER governance_lineage AFTER INSERT OR UPDATE OR DELETE ON %s "
						  "FOR EACH ROW EXECUTE FUNCTION governance._lineage(%s, %s)",
						  qname, quote_literal_cstr(prefix), quote_literal_cstr(column)));
		exec_ddl(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER governance_lineage", qname));
		exec_ddl(psprintf("CREATE TRIGGER governance_no_truncate BEFORE TRUNCATE ON %s "
						  "FOR EACH STATEMENT EXECUTE FUNCTION governance._refuse_truncate()", qname));
		exec_ddl(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER governance_no_truncate", qname));

		/* remember the policies' expressions: the DDL guard compares them */
		if (SPI_execute_with_args("INSERT INTO governance.governed_tables "
								  "(relid, action_prefix, resource_column, governed_at, governed_by, policies) "
								  "SELECT $1, $2, $3, now(), $4, "
								  "  jsonb_object_agg(p.polname, jsonb_build_array(pg_get_expr(p.polqual, p.polrelid), "
								  "                                                pg_get_expr(p.polwithcheck, p.polrelid))) "
								  "FROM pg_policy p WHERE p.polrelid = $1 AND p.polpermissive",
								  4, (Oid[]) {OIDOID, TEXTOID, TEXTOID, TEXTOID},
								  (Datum[]) {ObjectIdGetDatum(relid), CStringGetTextDatum(prefix),
								  CStringGetTextDatum(column),
								  CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false))},
								  NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record the governed table");
	}
	PG_FINALLY();
	{
		governing = false;
	}
	PG_END_TRY();

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "table");
	gj_str(&j, qname);
	gj_key(&j, "action_prefix");
	gj_str(&j, prefix);
	gj_key(&j, "resource_column");
	gj_str(&j, column);
	gj_key(&j, "by");
	gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
	gj_end_object(&j);
	gov_ledger_append_system("governance.table.governed", NULL, gj_finish(&j));
	gov_xact_require_durable_commit();
	SPI_finish();
	PG_RETURN_VOID();
}

/* ungovern_table(tbl regclass): admin only, ledgered */
PG_FUNCTION_INFO_V1(gov_sql_ungovern_table);
Datum
gov_sql_ungovern_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *qname;
	GovJson		j;

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	relid = PG_GETARG_OID(0);
	qname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									   get_rel_name(relid));
	SPI_connect();
	if (SPI_execute_with_args("DELETE FROM governance.governed_tables WHERE relid = $1",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
							  NULL, false, 0) != SPI_OK_DELETE || SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s is not governed", qname)));
	governing = true;
	PG_TRY();
	{
		exec_ddl(psprintf("DROP TRIGGER IF EXISTS governance_lineage ON %s", qname));
		exec_ddl(psprintf("DROP TRIGGER IF EXISTS governance_no_truncate ON %s", qname));
		exec_ddl(psprintf("DROP POLICY IF EXISTS governance_select ON %s", qname));
		exec_ddl(psprintf("DROP POLICY IF EXISTS governance_insert ON %s", qname));
		exec_ddl(psprintf("DROP POLICY IF EXISTS governance_update ON %s", qname));
		exec_ddl(psprintf("DROP POLICY IF EXISTS governance_delete ON %s", qname));
		exec_ddl(psprintf("ALTER TABLE %s NO FORCE ROW LEVEL SECURITY", qname));
		exec_ddl(psprintf("ALTER TABLE %s DISABLE ROW LEVEL SECURITY", qname));
	}
	PG_FINALLY();
	{
		governing = false;
	}
	PG_END_TRY();

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "table");
	gj_str(&j, qname);
	gj_key(&j, "by");
	gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
	gj_end_object(&j);
	gov_ledger_append_system("governance.table.ungoverned", NULL, gj_finish(&j));
	gov_xact_require_durable_commit();
	SPI_finish();
	PG_RETURN_VOID();
}

/* SHA3-512 of a row's text form (record output), or NULL. */
static void
row_hash(HeapTuple tup, TupleDesc desc, GovJson *j, const char *key)
{
	Datum		d;
	char	   *txt;
	uint8		h[GOV_HASH_LEN];

	gj_key(j, key);
	if (tup == NULL)
	{
		gj_str(j, NULL);
		return;
	}
	d = heap_copy_tuple_as_datum(tup, desc);
	/* record_out caches in flinfo: call it through a proper FmgrInfo */
	txt = OidOutputFunctionCall(F_RECORD_OUT, d);
	gov_sha3_512(txt, strlen(txt), h);
	gj_hex(j, h, GOV_HASH_LEN);
}

/* The primary key of a row as a JSON object of text values, or null. */
static void
row_key(Relation rel, HeapTuple tup, GovJson *j)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
	Relation	idx;
	int			i;
	TupleDesc	desc = RelationGetDescr(rel);

	gj_key(j, "key");
	if (!OidIsValid(pk))
	{
		gj_str(j, NULL);
		return;
	}
	idx = index_open(pk, AccessShareLock);
	gj_begin_object(j);
	for (i = 0; i < idx->rd_index->indnkeyatts; i++)
	{
		AttrNumber	att = idx->rd_index->indkey.values[i];
		bool		isnull;
		Datum		v = heap_getattr(tup, att, desc, &isnull);
		Oid			typout;
		bool		varlena;

		gj_key(j, NameStr(TupleDescAttr(desc, att - 1)->attname));
		if (isnull)
			gj_str(j, NULL);
		else
		{
			getTypeOutputInfo(TupleDescAttr(desc, att - 1)->atttypid, &typout, &varlena);
			gj_str(j, OidOutputFunctionCall(typout, v));
		}
	}
	gj_end_object(j);
	index_close(idx, AccessShareLock);
}

static char *
resource_of(HeapTuple tup, TupleDesc desc, const char *column)
{
	int			att = SPI_fnumber(desc, column);
	bool		isnull;
	Datum		v;

	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("governed resource column \"%s\" no longer exists", column)));
	v = heap_getattr(tup, att, desc, &isnull);
	return isnull ? NULL : TextDatumGetCString(v);
}

/* Refuse the write unless a live attached lease covers it. */
static pg_uuid_t
require_lease(const char *action, const char *resource, const char *op, const char *table)
{
	pg_uuid_t	lease;

	if (resource == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s on governed table %s refused: the resource column is NULL", op, table)));
	if (!gov_attached_covers(GetUserId(), action, resource, &lease) || !gov_trusted_cached())
	{
		char	   *detail = psprintf("%s on %s: no live attached lease covers %s on %s",
									  op, table, action, resource);

		gov_security_event("governance.write.refused", NULL, NULL, detail);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s on governed table %s refused", op, table),
				 errdetail("No live attached lease covers %s on %s.", action, resource),
				 errhint("Attach an artifact for that action and resource with governance.attach().")));
	}
	return lease;
}

PG_FUNCTION_INFO_V1(gov_lineage_trigger);
Datum
gov_lineage_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	const char *prefix;
	const char *column;
	const char *op;
	HeapTuple	oldt = NULL;
	HeapTuple	newt = NULL;
	char	   *table;
	char	   *action;
	char	   *res_old = NULL;
	char	   *res_new = NULL;
	pg_uuid_t	lease;
	GovLeaseSnapshot l;
	GovJson		j;
	GovEvent	ev;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		td->tg_trigger->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("governance lineage trigger must be a row trigger with two arguments")));
	GOV_ENTRY();
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	prefix = td->tg_trigger->tgargs[0];
	column = td->tg_trigger->tgargs[1];
	table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									   RelationGetRelationName(rel));

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		op = "insert";
		newt = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		op = "update";
		oldt = td->tg_trigtuple;
		newt = td->tg_newtuple;
	}
	else
	{
		op = "delete";
		oldt = td->tg_trigtuple;
	}
	action = psprintf("Action::\"%s.%s\"", prefix, op);
	if (oldt)
		res_old = resource_of(oldt, desc, column);
	if (newt)
		res_new = resource_of(newt, desc, column);

	/* an update needs the lease on both the old and the new resource */
	if (oldt && newt && (res_old == NULL || res_new == NULL || strcmp(res_old, res_new) != 0))
		(void) require_lease(action, res_old, op, table);
	lease = require_lease(action, newt ? res_new : res_old, op, table);
	if (!gov_lease_get(&lease, &l))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s on governed table %s refused: the lease ended", op, table)));

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "op");
	gj_str(&j, op);
	gj_key(&j, "table");
	gj_str(&j, table);
	row_key(rel, newt ? newt : oldt, &j);
	row_hash(oldt, desc, &j, "old_sha3_512");
	row_hash(newt, desc, &j, "new_sha3_512");
	gj_end_object(&j);

	memset(&ev, 0, sizeof(ev));
	ev.kind = "governance.write";
	ev.lease_id = &lease;
	ev.principal = l.principal;
	ev.action = l.action;
	ev.resource = l.resource;
	ev.payload = gj_finish(&j);
	ev.internal = true;
	(void) gov_ledger_append(&ev);

	return PointerGetDatum(NULL);
}

/*
 * BEFORE TRUNCATE on governed tables: TRUNCATE removes rows without firing
 * row triggers, so nothing could ledger it.  Delete rows under a lease.
 */
PG_FUNCTION_INFO_V1(gov_refuse_truncate);
Datum
gov_refuse_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("governance truncate guard must be called as a trigger")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("truncate on governed table %s refused",
					quote_qualified_identifier(get_namespace_name(RelationGetNamespace(td->tg_relation)),
											   RelationGetRelationName(td->tg_relation))),
			 errdetail("TRUNCATE bypasses the lineage trigger, so it could not be ledgered."),
			 errhint("Delete the rows under a lease, or take the table out of governance with governance.ungovern_table().")));
	PG_RETURN_NULL();
}
