/*-------------------------------------------------------------------------
 *
 * lineage.c
 *	  The triggers of a governed table (govern.c puts them there): the
 *	  lineage trigger, which refuses a write no live lease of the current
 *	  role covers and records every row change in the ledger on the
 *	  lease's chain (operation, table, key, SHA3-512 of the old and new
 *	  row; docs/FORMAT.md, section 10), and the guard that refuses
 *	  TRUNCATE, which no row trigger sees.
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
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "attach.h"
#include "authz.h"
#include "encode.h"
#include "policy.h"
#include "events.h"
#include "common.h"
#include "lease.h"
#include "ledger.h"
#include "trust.h"
#include "xact_defer.h"

/* the value of a write event's "row_format" member */
#define GOV_ROW_FORMAT "canonical-text-1"

/*
 * The settings under which a row and its key are printed for the ledger
 * (docs/FORMAT.md, section 10).  Every setting that changes what a built-in
 * output function prints is pinned, so the same row hashes the same in
 * every session and an auditor can print it again: DateStyle and TimeZone
 * (date and time types), IntervalStyle, bytea_output, extra_float_digits
 * (float4, float8 and the geometric types), lc_monetary (money) and
 * search_path (the reg* types, which qualify a name the path does not
 * find).  lc_numeric and lc_time only change to_char() and friends.
 */
static const char *const canonical_settings[][2] = {
	{"DateStyle", "ISO, MDY"},
	{"IntervalStyle", "postgres"},
	{"TimeZone", "UTC"},
	{"bytea_output", "hex"},
	{"extra_float_digits", "1"},
	{"lc_monetary", "C"},
	{"search_path", "pg_catalog, pg_temp"},
};

/*
 * Pin the canonical settings for the rest of this trigger call, as a
 * function's SET clause does (a GUC nest level of its own); returns the
 * level for canonical_end(), or -1 when every setting already had its
 * canonical value (the common case costs a string comparison each).  An
 * error in between is cleaned up by the (sub)transaction abort, which
 * unwinds every nest level above its own.
 */
static int
canonical_begin(void)
{
	int			nest = -1;
	int			i;

	for (i = 0; i < lengthof(canonical_settings); i++)
	{
		const char *cur = GetConfigOption(canonical_settings[i][0], false, false);

		if (cur != NULL && strcmp(cur, canonical_settings[i][1]) == 0)
			continue;
		if (nest < 0)
			nest = NewGUCNestLevel();
		(void) set_config_option(canonical_settings[i][0], canonical_settings[i][1],
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	}
	return nest;
}

static void
canonical_end(int nest)
{
	if (nest >= 0)
		AtEOXact_GUC(true, nest);
}

/*
 * SHA3-512 of a row's canonical text: its output as a composite value
 * (record_out) under the canonical settings, UTF-8; or NULL.
 */
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

/*
 * The primary key of a row as a JSON object of the key columns' canonical
 * text (the canonical settings above), or null.
 */
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

/*
 * Refuse the write unless a live attached lease of the current role covers
 * it.  What the caller is told names the resource only for a row it wrote
 * itself (an insert): an update or delete may reach a row it cannot see (a
 * cascade from another table runs as the table's owner), and the error
 * must not describe it.  The ledger gets the whole story.
 */
/*
 * The statement's covered resources, built at its first row (the
 * trigger's fn_extra lives as long as the statement's executor state):
 * each row then costs a hashed lookup and the covering lease's liveness
 * check (an atomic read), whatever the number of leases or the size of a
 * subtree.  A resource the set lacks falls back to the walk, so a lease
 * attached during the statement still counts.
 */
typedef struct LineageCovers
{
	Oid			role;
	char		action[GOV_UID_MAX];
	MemoryContext cxt;
	GovCoverSet *set;
} LineageCovers;

static bool
covered(FmgrInfo *flinfo, const char *action, const char *resource, pg_uuid_t *lease)
{
	LineageCovers *lc = flinfo->fn_extra;
	Oid			role = GetUserId();

	if (lc == NULL)
	{
		lc = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(LineageCovers));
		lc->cxt = AllocSetContextCreate(flinfo->fn_mcxt, "governance lineage covers",
										ALLOCSET_SMALL_SIZES);
		flinfo->fn_extra = lc;
	}
	if (lc->set == NULL || lc->role != role || strcmp(lc->action, action) != 0)
	{
		MemoryContext old;

		MemoryContextReset(lc->cxt);
		lc->set = NULL;
		lc->role = role;
		strlcpy(lc->action, action, GOV_UID_MAX);
		old = MemoryContextSwitchTo(lc->cxt);
		lc->set = gov_cover_set_build(role, action);
		MemoryContextSwitchTo(old);
	}
	if (gov_cover_set_lookup(lc->set, resource, strlen(resource), lease) &&
		gov_attachment_usable(lease, role))
		return true;
	return gov_attached_covers(role, action, resource, lease);
}

static pg_uuid_t
require_lease(FmgrInfo *flinfo, const char *action, const char *resource, const char *op,
			  const char *table, bool own_row)
{
	pg_uuid_t	lease;

	if (resource != NULL && gov_attached_count() > 0 && strlen(action) < GOV_UID_MAX &&
		covered(flinfo, action, resource, &lease) && gov_trusted_cached())
		return lease;

	gov_security_event("governance.write.refused", NULL, NULL,
					   psprintf("%s on %s: no live attached lease of role %s covers %s on %s",
								op, table, GetUserNameFromId(GetUserId(), false), action,
								resource ? resource : "NULL"));
	if (own_row && resource == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s on governed table %s refused: the resource column is NULL", op, table)));
	if (own_row)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s on governed table %s refused", op, table),
				 errdetail("No live attached lease of the current role covers %s on %s.", action, resource),
				 errhint("Attach an artifact for that action and resource with governance.attach().")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on governed table %s refused", op, table),
			 errdetail("No live attached lease of the current role covers %s on the row.", action),
			 errhint("Attach an artifact for that action and the row's resource with governance.attach().")));
	pg_unreachable();
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
	int			nest;

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
		(void) require_lease(fcinfo->flinfo, action, res_old, op, table, false);
	lease = require_lease(fcinfo->flinfo, action, newt ? res_new : res_old, op, table, oldt == NULL);
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
	nest = canonical_begin();
	row_key(rel, newt ? newt : oldt, &j);
	row_hash(oldt, desc, &j, "old_sha3_512");
	row_hash(newt, desc, &j, "new_sha3_512");
	canonical_end(nest);
	/* which encoding the hashes and key use (FORMAT.md, section 10) */
	gj_key(&j, "row_format");
	gj_str(&j, GOV_ROW_FORMAT);
	/* under a subtree lease: which resource of the subtree the row is */
	if (gov_subtree_root(l.resource) != NULL)
	{
		gj_key(&j, "covered");
		gj_str(&j, newt ? res_new : res_old);
	}
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
