/*-------------------------------------------------------------------------
 *
 * rowio.c
 *	  Reading, locking and writing the extension's own rows without SQL.
 *
 *	  The hot paths (a ledger append, authorize's lease row, a heartbeat's
 *	  renewal) each touch one row of a table the extension owns, by key.
 *	  Going through SPI cost more than the row itself (executor start-up,
 *	  a snapshot, a portal); here a row is written the way logical
 *	  replication applies one: ExecSimpleRelationInsert/Update keep every
 *	  index, constraint and trigger (foreign keys, the ledger's append-only
 *	  guard) exactly as a statement would.  Only the extension's own
 *	  SECURITY DEFINER code calls this, on its own tables, so no privilege
 *	  check is skipped that would otherwise have applied.
 *
 *	  A table's CHECK constraints are compiled once per backend (rowio's
 *	  check cache below) instead of once per row I/O: the executor compiles
 *	  them for each new ResultRelInfo, and every row I/O makes one.
 *
 *	  An update advances the command counter, as SPI does after a statement,
 *	  so a later lookup in the same statement finds the new version; an
 *	  insert leaves that to its caller (the ledger appends rows from inside
 *	  other statements, many per statement, and finds them with SnapshotSelf).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "storage/lmgr.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "rowio.h"

/* The code that fills or reads the values depends on the column order. */
static void
check_columns(Relation rel, const char *const *columns, int ncolumns)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (desc->natts != ncolumns)
		elog(ERROR, "table %s does not have the expected columns", RelationGetRelationName(rel));
	for (i = 0; i < ncolumns; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped || strcmp(NameStr(a->attname), columns[i]) != 0)
			elog(ERROR, "table %s does not have the expected columns (column %d is not \"%s\")",
				 RelationGetRelationName(rel), i + 1, columns[i]);
	}
}

void
gov_rowio_open(GovRowIO *io, Oid relid, const char *const *columns, int ncolumns)
{
	TupleDesc	desc;
	RangeTblEntry *rte;
	MemoryContext old;

	io->rel = table_open(relid, RowExclusiveLock);
	desc = RelationGetDescr(io->rel);
	check_columns(io->rel, columns, ncolumns);

	io->estate = CreateExecutorState();
	/* everything below is freed with the executor state at close */
	old = MemoryContextSwitchTo(io->estate->es_query_cxt);
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = io->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(io->estate, list_make1(rte));
	io->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(io->rri, io->rel, 1, NULL, 0);
	io->estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(io->rri, false);

	/*
	 * An AFTER trigger level of its own (the caller may be a plain SELECT,
	 * which has none): the foreign key checks of the writes fire when the row
	 * I/O closes, as they would at the end of an INSERT statement.
	 */
	AfterTriggerBeginQuery();
	io->row = table_slot_create(io->rel, &io->estate->es_tupleTable);
	io->out = ExecInitExtraTupleSlot(io->estate, desc, &TTSOpsVirtual);
	MemoryContextSwitchTo(old);
}

void
gov_rowio_close(GovRowIO *io)
{
	AfterTriggerEndQuery(io->estate);
	ExecCloseIndices(io->rri);
	/* relations the triggers opened (foreign key checks), as ExecEndPlan does */
	ExecCloseResultRelations(io->estate);
	ExecCloseRangeTableRelations(io->estate);
	ExecResetTupleTable(io->estate->es_tupleTable, false);
	FreeExecutorState(io->estate);
	table_close(io->rel, NoLock);
	memset(io, 0, sizeof(*io));
}

/*
 * The check cache: the compiled CHECK constraints of the few tables the
 * extension writes through here, in the order of the relation's
 * constr->check (which ExecRelCheck indexes the same way), kept until a
 * relcache invalidation of the table.  The ExprStates are the executor's
 * own (ExecPrepareExpr's steps, without an EState: they are evaluated in
 * whatever expression context ExecRelCheck passes).  The entry is filled
 * after table_open, under a RowExclusiveLock, which every change to a
 * table's constraints conflicts with, so the relcache entry it was built
 * from is the one the insert checks against.  An ExprState is not
 * reentrant, so an entry in use (a constraint whose function writes to
 * the same table) is not lent twice: the executor then compiles its own.
 */
#define CHECK_CACHE 4

typedef struct CheckCache
{
	Oid			relid;			/* InvalidOid: a free entry */
	bool		stale;			/* the relation was invalidated since */
	bool		busy;			/* lent to a row I/O right now */
	MemoryContext cxt;
	ExprState **exprs;
} CheckCache;

static CheckCache check_cache[CHECK_CACHE];
static bool check_callback = false;

static void
check_cache_inval(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < CHECK_CACHE; i++)
		if (!OidIsValid(relid) || check_cache[i].relid == relid)
			check_cache[i].stale = true;
}

static CheckCache *
check_cache_get(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	Oid			relid = RelationGetRelid(rel);
	CheckCache *c = NULL;
	MemoryContext cxt;
	MemoryContext old;
	ExprState **exprs;
	int			i;

	if (constr == NULL || constr->num_check == 0)
		return NULL;
	for (i = 0; i < CHECK_CACHE; i++)
		if (check_cache[i].relid == relid)
			c = &check_cache[i];
	if (c && c->busy)
		return NULL;
	if (c && !c->stale)
		return c;
	if (c)
	{
		MemoryContextDelete(c->cxt);
		memset(c, 0, sizeof(*c));
	}
	for (i = 0; i < CHECK_CACHE && c == NULL; i++)
		if (!OidIsValid(check_cache[i].relid))
			c = &check_cache[i];
	if (c == NULL)
		return NULL;			/* full: the executor compiles them as usual */

	if (!check_callback)
	{
		CacheRegisterRelcacheCallback(check_cache_inval, (Datum) 0);
		check_callback = true;
	}
	cxt = AllocSetContextCreate(TopMemoryContext, "governance check constraints",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		exprs = palloc0(constr->num_check * sizeof(ExprState *));
		/* every one, as ExecRelCheck: NOT VALID ones hold for new rows */
		for (i = 0; i < constr->num_check; i++)
			exprs[i] = ExecInitExpr(expression_planner((Expr *) stringToNode(constr->check[i].ccbin)),
									NULL);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	c->relid = relid;
	c->cxt = cxt;
	c->exprs = exprs;
	c->stale = false;
	return c;
}

/* Lend the compiled constraints to the row I/O's ResultRelInfo. */
static CheckCache *
lend_checks(GovRowIO *io)
{
	CheckCache *c;

	if (io->rri->ri_ConstraintExprs != NULL)
		return NULL;
	c = check_cache_get(io->rel);
	if (c)
	{
		io->rri->ri_ConstraintExprs = c->exprs;
		c->busy = true;
	}
	return c;
}

static void
return_checks(GovRowIO *io, CheckCache *c)
{
	if (c)
	{
		c->busy = false;
		io->rri->ri_ConstraintExprs = NULL;
	}
}

static void
fill_out(GovRowIO *io, const Datum *values, const bool *nulls)
{
	int			n = RelationGetDescr(io->rel)->natts;

	ExecClearTuple(io->out);
	memcpy(io->out->tts_values, values, sizeof(Datum) * n);
	memcpy(io->out->tts_isnull, nulls, sizeof(bool) * n);
	ExecStoreVirtualTuple(io->out);
}

void
gov_rowio_insert(GovRowIO *io, const Datum *values, const bool *nulls)
{
	CheckCache *c;

	fill_out(io, values, nulls);
	c = lend_checks(io);
	PG_TRY();
	{
		ExecSimpleRelationInsert(io->rri, io->estate, io->out);
	}
	PG_FINALLY();
	{
		return_checks(io, c);
	}
	PG_END_TRY();
}

/*
 * Find the row of rel whose single-column primary key equals key (compared
 * with the equality function eqproc, of the key column's type) as snap
 * sees it, into slot.
 */
static bool
find_by_pk(Relation rel, Oid keytype, RegProcedure eqproc, Datum key, Snapshot snap,
		   TupleTableSlot *slot)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
	Relation	idx;
	ScanKeyData sk;
	IndexScanDesc scan;
	bool		found;

	if (!OidIsValid(pk))
		elog(ERROR, "table %s has no primary key", RelationGetRelationName(rel));
	idx = index_open(pk, AccessShareLock);
	if (IndexRelationGetNumberOfKeyAttributes(idx) != 1 ||
		TupleDescAttr(RelationGetDescr(idx), 0)->atttypid != keytype)
		elog(ERROR, "the primary key of %s is not what the extension expects", RelationGetRelationName(rel));
	ScanKeyInit(&sk, 1, BTEqualStrategyNumber, eqproc, key);
	sk.sk_collation = TupleDescAttr(RelationGetDescr(idx), 0)->attcollation;
	scan = index_beginscan(rel, idx, snap, 1, 0);
	index_rescan(scan, &sk, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
	return found;
}

bool
gov_rowio_lock_uuid(GovRowIO *io, const pg_uuid_t *key)
{
	Snapshot	snap;
	bool		found;
	TM_FailureData tmfd;
	TM_Result	res;

	snap = RegisterSnapshot(GetLatestSnapshot());
	found = find_by_pk(io->rel, UUIDOID, F_UUID_EQ, UUIDPGetDatum(key), snap, io->row);
	if (found)
	{
		/*
		 * Lock it, following its update chain to the latest version (the key
		 * never changes, so that version is still the row asked for). A row
		 * updated by this very command (two renewals in one statement) is
		 * seen once the counter has moved past it, which every update here
		 * does.
		 */
		res = table_tuple_lock(io->rel, &io->row->tts_tid, snap, io->row,
							   GetCurrentCommandId(false), LockTupleExclusive, LockWaitBlock,
							   TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		switch (res)
		{
			case TM_Ok:
				break;
			case TM_Deleted:
				found = false;
				break;
			case TM_SelfModified:
				/* changed by this very command, below its snapshot */
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("a row of %s was already changed by this command",
								RelationGetRelationName(io->rel)),
						 errhint("Renew or change a lease in a statement of its own.")));
				break;
			case TM_Invisible:
			case TM_Updated:
			case TM_BeingModified:
			case TM_WouldBlock:
			default:
				elog(ERROR, "could not lock a row of %s (%d)", RelationGetRelationName(io->rel), (int) res);
		}
	}
	UnregisterSnapshot(snap);
	if (found)
		slot_getallattrs(io->row);
	return found;
}

bool
gov_row_read_text_key(Oid relid, const char *const *columns, int ncolumns, const char *key,
					  Datum *values, bool *nulls)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleTableSlot *slot;
	bool		found;
	int			i;

	check_columns(rel, columns, ncolumns);
	slot = table_slot_create(rel, NULL);
	found = find_by_pk(rel, TEXTOID, F_TEXTEQ, CStringGetTextDatum(key), GetActiveSnapshot(), slot);
	if (found)
	{
		slot_getallattrs(slot);
		for (i = 0; i < ncolumns; i++)
		{
			Form_pg_attribute a = TupleDescAttr(RelationGetDescr(rel), i);

			nulls[i] = slot->tts_isnull[i];
			values[i] = nulls[i] ? (Datum) 0 : datumCopy(slot->tts_values[i], a->attbyval, a->attlen);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	return found;
}

void
gov_rowio_update(GovRowIO *io, const Datum *values, const bool *nulls)
{
	EPQState	epq;
	CheckCache *c;

	fill_out(io, values, nulls);
#if PG_VERSION_NUM >= 160000
	EvalPlanQualInit(&epq, io->estate, NULL, NIL, -1, NIL);
#else
	EvalPlanQualInit(&epq, io->estate, NULL, NIL, -1);
#endif
	c = lend_checks(io);
	PG_TRY();
	{
		ExecSimpleRelationUpdate(io->rri, io->estate, &epq, io->row, io->out);
	}
	PG_FINALLY();
	{
		return_checks(io, c);
	}
	PG_END_TRY();
	EvalPlanQualEnd(&epq);
	CommandCounterIncrement();
}
