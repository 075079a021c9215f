/*-------------------------------------------------------------------------
 *
 * query_guard.c
 *	  No statement, cursor or plan outlives or borrows a lease.
 *
 *	  Dependencies.  Row-level security of a governed table evaluates
 *	  authorized_resources() once per statement (an InitPlan); a cursor
 *	  then hands out rows admitted by that answer for as long as it is
 *	  fetched from.  So every check that admits rows under a lease notes
 *	  the lease (gov_query_note_lease) on every query running at that
 *	  moment, and each later run of such a query (the next FETCH of a
 *	  cursor, the next Execute of a protocol-level portal) first checks
 *	  that its leases are still attached, live, and held by the current
 *	  role.  A query's notes live in its executor state's memory (a reset
 *	  callback forgets them), so an error, a ROLLBACK TO or a PL/pgSQL
 *	  exception block can never leave one behind for an unrelated query.
 *
 *	  Held cursors.  A cursor WITH HOLD is run to completion at commit and
 *	  read from a store afterwards, without the executor; its notes are
 *	  kept by portal, and a held cursor whose leases are no longer usable
 *	  is failed at the next statement start (or detach()), and a FETCH or
 *	  MOVE from it is refused with the lease named.
 *
 *	  Borrowed leases.  attach.c counts a lease only for the role the
 *	  checking code runs as.  Row-level security of a table read through a
 *	  view or a rule is checked as the view's or rule's owner
 *	  (RangeTblEntry.checkAsUser), but evaluated as the current user; the
 *	  planner hook therefore replaces, in the security quals of such a
 *	  table when that owner is not the current user, every lease check by
 *	  its answer for a role that holds no lease: nothing.  Plans that use
 *	  row-level security are replanned when the current user changes, so
 *	  the planner's current user is the executor's.
 *
 *	  EXPLAIN ANALYZE would count the rows row-level security hid ("Rows
 *	  Removed by Filter"): it is refused on governed tables to everyone
 *	  but superusers (the executor hook sees the instrumented query, also
 *	  for EXPLAIN ANALYZE EXECUTE of a prepared statement).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_proc.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "rewrite/rowsecurity.h"
#include "utils/syscache.h"

#include "attach.h"
#include "common.h"
#include "events.h"
#include "encode.h"
#include "lease.h"
#include "ledger.h"
#include "query_guard.h"
#include "xact_defer.h"

/* ---------------------------------------------------------------------
 * Dependencies of running queries
 * ---------------------------------------------------------------------
 */

/* A governed table's scan in a running query, and the rows it returned. */
typedef struct ReadCount
{
	PlanState  *ps;
	ExecProcNodeMtd real;		/* the node's own ExecProcNode */
	char	   *table;			/* qualified name, computed at start */
	uint64		rows;
} ReadCount;

typedef struct QueryDeps
{
	dlist_node	node;
	QueryDesc  *qd;
	EState	   *estate;
	MemoryContextCallback cb;
	int			n;
	pg_uuid_t	leases[GOV_MAX_ATTACHED];
	/* read lineage (governance.read_lineage) */
	int			nreads;
	ReadCount  *reads;
	bool		reads_done;		/* recorded (or nothing to record) */
	bool		failed;			/* it ended in an error */
	char	   *caller;			/* computed at start: no catalog reads later */
} QueryDeps;

/* Queries that noted a lease, alive as long as their executor state. */
static dlist_head query_deps = DLIST_STATIC_INIT(query_deps);

/* the counter the last counted row went to: one scan per query is usual */
static ReadCount *last_read = NULL;

/* The queries running now, innermost first (ExecutorRun frames). */
typedef struct RunFrame
{
	QueryDesc  *qd;
	QueryDeps  *deps;
	Oid			governed_target;	/* a governed table this query writes */
	struct RunFrame *outer;
} RunFrame;

static RunFrame *running = NULL;

/* Held cursors that noted a lease (TopMemoryContext). */
typedef struct HeldDeps
{
	dlist_node	node;
	Portal		portal;
	TimestampTz created;
	char		name[NAMEDATALEN];
	bool		failed;			/* already failed by a sweep */
	pg_uuid_t	dead;			/* the lease that made it fail */
	int			n;
	pg_uuid_t	leases[GOV_MAX_ATTACHED];
} HeldDeps;

static dlist_head held_deps = DLIST_STATIC_INIT(held_deps);

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static planner_hook_type prev_planner = NULL;

static bool
add_lease(pg_uuid_t *leases, int *n, const pg_uuid_t *id)
{
	int			i;

	for (i = 0; i < *n; i++)
		if (memcmp(&leases[i], id, sizeof(pg_uuid_t)) == 0)
			return true;
	if (*n >= GOV_MAX_ATTACHED)
		return false;			/* cannot happen: at most that many attached */
	leases[(*n)++] = *id;
	return true;
}

/*
 * The first lease in the list that may no longer be used by this session,
 * or NULL.  The session's role is the one that must hold it (SET ROLE
 * ends a cursor's use of another role's lease).
 */
static const pg_uuid_t *
first_unusable(const pg_uuid_t *leases, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (!gov_attachment_usable(&leases[i], GetOuterUserId()))
			return &leases[i];
	return NULL;
}

static void record_failed_reads(QueryDeps *d);

static void
forget_query_deps(void *arg)
{
	QueryDeps  *d = arg;

	dlist_delete(&d->node);
	if (last_read != NULL && last_read >= d->reads && last_read < d->reads + d->nreads)
		last_read = NULL;
	/* the statement never reached ExecutorEnd: it failed */
	if (!d->reads_done && d->nreads > 0)
		record_failed_reads(d);
}

static QueryDeps *
find_query_deps(QueryDesc *qd)
{
	dlist_iter	it;

	dlist_foreach(it, &query_deps)
	{
		QueryDeps  *d = dlist_container(QueryDeps, node, it.cur);

		if (d->qd == qd && d->estate == qd->estate)
			return d;
	}
	return NULL;
}

static QueryDeps *
make_query_deps(QueryDesc *qd)
{
	QueryDeps  *d;

	d = MemoryContextAllocZero(qd->estate->es_query_cxt, sizeof(QueryDeps));
	d->qd = qd;
	d->estate = qd->estate;
	d->cb.func = forget_query_deps;
	d->cb.arg = d;
	MemoryContextRegisterResetCallback(qd->estate->es_query_cxt, &d->cb);
	dlist_push_tail(&query_deps, &d->node);
	return d;
}

static bool
portal_is_held(Portal p)
{
	return p != NULL && (p->cursorOptions & CURSOR_OPT_HOLD) != 0;
}

static HeldDeps *
find_held(Portal p, bool create)
{
	dlist_iter	it;
	HeldDeps   *h;

	dlist_foreach(it, &held_deps)
	{
		h = dlist_container(HeldDeps, node, it.cur);
		if (h->portal == p && h->created == p->creation_time &&
			strcmp(h->name, p->name) == 0)
			return h;
	}
	if (!create)
		return NULL;
	h = MemoryContextAllocZero(TopMemoryContext, sizeof(HeldDeps));
	h->portal = p;
	h->created = p->creation_time;
	strlcpy(h->name, p->name, NAMEDATALEN);
	dlist_push_tail(&held_deps, &h->node);
	return h;
}

void
gov_query_note_lease(const pg_uuid_t *id)
{
	RunFrame   *f;

	for (f = running; f != NULL; f = f->outer)
	{
		if (f->deps == NULL)
			f->deps = make_query_deps(f->qd);
		(void) add_lease(f->deps->leases, &f->deps->n, id);
	}
	if (portal_is_held(ActivePortal))
	{
		HeldDeps   *h = find_held(ActivePortal, true);

		(void) add_lease(h->leases, &h->n, id);
	}
}

static void
raise_ended(const pg_uuid_t *id, const char *cursor)
{
	char	   *idtxt = gov_uuid_text(id);

	if (cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cursor \"%s\" read governed rows under lease %s, which is no longer usable",
						cursor, idtxt),
				 errdetail("The lease ended, was detached, or the current role is not the one it was issued to."),
				 errhint("Close the cursor, attach a live artifact and open it again.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("governance lease %s, which this statement read governed rows under, is no longer usable",
					idtxt),
			 errdetail("The lease ended, was detached, or the current role is not the one it was issued to."),
			 errhint("Attach a live artifact and start the statement again.")));
}

void
gov_query_guard_sweep(void)
{
	dlist_mutable_iter it;
	const pg_uuid_t *dead;

	dlist_foreach_modify(it, &held_deps)
	{
		HeldDeps   *h = dlist_container(HeldDeps, node, it.cur);
		Portal		p = GetPortalByName(h->name);

		if (p == NULL || p != h->portal || p->creation_time != h->created)
		{
			/* the cursor is gone */
			dlist_delete(&h->node);
			pfree(h);
			continue;
		}
		if (h->failed || p->status != PORTAL_READY)
			continue;
		dead = first_unusable(h->leases, h->n);
		if (dead == NULL)
			continue;
		/* its rows were admitted under a lease that is gone: so is it */
		h->dead = *dead;
		h->failed = true;
		MarkPortalFailed(p);
	}
}

/* ---------------------------------------------------------------------
 * Read lineage: which governed tables a statement read, under which
 * leases, and how many rows their scans returned (not the rows)
 * ---------------------------------------------------------------------
 */

#define READ_LINEAGE_NONE		0
#define READ_LINEAGE_STATEMENT	1

static int	read_lineage = READ_LINEAGE_STATEMENT;

static const struct config_enum_entry read_lineage_options[] = {
	{"none", READ_LINEAGE_NONE, false},
	{"statement", READ_LINEAGE_STATEMENT, false},
	{NULL, 0, false}
};

void
gov_query_guard_define_gucs(void)
{
	DefineCustomEnumVariable("governance.read_lineage",
							 "Which reads of governed tables are recorded in the ledger.",
							 "statement records, per statement and lease, the governed tables read and the rows their scans returned; none records no reads.",
							 &read_lineage,
							 READ_LINEAGE_STATEMENT,
							 read_lineage_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/* Does this relation carry governance's row-level security? */
static bool
rel_is_governed(Relation rel)
{
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity || rel->rd_rsdesc == NULL)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
		if (strcmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, "governance_select") == 0)
			return true;
	return false;
}

static ReadCount *
find_read(PlanState *ps)
{
	dlist_iter	it;
	int			i;

	if (last_read != NULL && last_read->ps == ps)
		return last_read;
	dlist_foreach(it, &query_deps)
	{
		QueryDeps  *d = dlist_container(QueryDeps, node, it.cur);

		for (i = 0; i < d->nreads; i++)
			if (d->reads[i].ps == ps)
				return last_read = &d->reads[i];
	}
	return NULL;
}

/* A governed scan's ExecProcNode: the node's own, counting what it returns. */
static TupleTableSlot *
counting_ExecProcNode(PlanState *ps)
{
	ReadCount  *rc = find_read(ps);
	TupleTableSlot *slot;

	if (rc == NULL)
		elog(ERROR, "governance: the read counter of a scan is gone");
	slot = rc->real(ps);
	if (!TupIsNull(slot))
		rc->rows++;
	return slot;
}

static bool
find_governed_scans(PlanState *ps, void *context)
{
	List	  **scans = context;

	if (ps == NULL)
		return false;
	switch (nodeTag(ps))
	{
		case T_SeqScanState:
		case T_SampleScanState:
		case T_IndexScanState:
		case T_IndexOnlyScanState:
		case T_BitmapHeapScanState:
		case T_TidScanState:
		case T_TidRangeScanState:
			{
				Relation	rel = ((ScanState *) ps)->ss_currentRelation;

				if (rel != NULL && rel_is_governed(rel))
					*scans = lappend(*scans, ps);
			}
			break;
		default:
			break;
	}
	return planstate_tree_walker(ps, find_governed_scans, context);
}

/*
 * At the start of a read: count the rows each governed scan returns.
 * Superusers bypass row-level security and use no lease, so their reads
 * are not counted (nor lineaged: no execution they belong to).
 */
static void
start_read_counting(QueryDesc *qd)
{
	List	   *scans = NIL;
	QueryDeps  *d;
	ListCell   *lc;
	MemoryContext cxt = qd->estate->es_query_cxt;
	int			i = 0;

	if (qd->operation != CMD_SELECT || qd->planstate == NULL || superuser())
		return;
	(void) find_governed_scans(qd->planstate, &scans);
	if (scans == NIL)
		return;
	d = find_query_deps(qd);
	if (d == NULL)
		d = make_query_deps(qd);
	d->reads = MemoryContextAllocZero(cxt, sizeof(ReadCount) * list_length(scans));
	d->caller = MemoryContextStrdup(cxt, GetUserNameFromId(GetUserId(), false));
	foreach(lc, scans)
	{
		PlanState  *ps = lfirst(lc);
		Relation	rel = ((ScanState *) ps)->ss_currentRelation;
		ReadCount  *rc = &d->reads[i++];

		rc->ps = ps;
		rc->table = MemoryContextStrdup(cxt,
										quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
																   RelationGetRelationName(rel)));
		/* ExecProcNodeFirst installs ExecProcNodeReal at the first call */
		rc->real = ps->ExecProcNodeReal;
		ps->ExecProcNodeReal = counting_ExecProcNode;
	}
	d->nreads = i;
}

/* {"tables": [{"table": ..., "rows": ...}, ...]} for the ledger */
/*
 * caller set: the form the enforcer ledgers for a queued read (who read,
 * and whether the statement failed: it never reached its end).
 */
static Jsonb *
reads_payload(QueryDeps *d, const char *caller)
{
	GovJson		j;
	int			i;
	int			k;

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "tables");
	gj_begin_array(&j);
	for (i = 0; i < d->nreads; i++)
	{
		uint64		rows = d->reads[i].rows;
		bool		seen = false;

		/* one line per table: partitions are tables of their own */
		for (k = 0; k < i; k++)
			if (strcmp(d->reads[k].table, d->reads[i].table) == 0)
				seen = true;
		if (seen)
			continue;
		for (k = i + 1; k < d->nreads; k++)
			if (strcmp(d->reads[k].table, d->reads[i].table) == 0)
				rows += d->reads[k].rows;
		gj_begin_object(&j);
		gj_key(&j, "table");
		gj_str(&j, d->reads[i].table);
		gj_key(&j, "rows");
		gj_int(&j, (int64) rows);
		gj_end_object(&j);
	}
	gj_end_array(&j);
	if (caller)
	{
		gj_key(&j, "caller");
		gj_str(&j, caller);
		gj_key(&j, "observed_at");
		gj_str(&j, DatumGetCString(DirectFunctionCall1(timestamptz_out,
													   TimestampTzGetDatum(GetCurrentTimestamp()))));
		if (!d->reads_done || d->failed)
		{
			gj_key(&j, "statement_failed");
			gj_bool(&j, true);
		}
	}
	gj_end_object(&j);
	return gj_finish(&j);
}

/* A read ledgered in a transaction that then rolled back goes by the queue. */
static void
read_undo_abort(void *arg)
{
	gov_security_event_push((GovPreparedEvent *) arg);
}

static const GovXactOps read_undo_ops = {
	.what = NULL,
	.abort = read_undo_abort,
};

/*
 * Record the statement's reads, once per lease it read under: in its own
 * transaction when that transaction already writes and the lease's chain
 * is free (no new commit flush, no wait on another transaction of the same
 * lease), and otherwise through the security-event queue, which the
 * enforcer ledgers in its own transaction.
 */
static void
record_reads(QueryDeps *d)
{
	Jsonb	   *payload;
	Jsonb	   *queued;
	int			l;

	if (d->reads_done || d->n == 0 || read_lineage == READ_LINEAGE_NONE)
	{
		d->reads_done = true;
		return;
	}
	d->reads_done = true;
	payload = reads_payload(d, NULL);
	queued = reads_payload(d, d->caller);
	for (l = 0; l < d->n; l++)
	{
		const pg_uuid_t *lease = &d->leases[l];
		GovLeaseSnapshot snap;
		bool		known = gov_lease_get(lease, &snap);

		if (GetTopTransactionIdIfAny() != InvalidTransactionId &&
			!XactReadOnly && !IsInParallelMode() && gov_ledger_try_lock_chain(lease))
		{
			GovEvent	ev;

			memset(&ev, 0, sizeof(ev));
			ev.kind = "governance.read";
			ev.lease_id = lease;
			if (known)
			{
				ev.principal = pstrdup(snap.principal);
				ev.action = pstrdup(snap.action);
				ev.resource = pstrdup(snap.resource);
			}
			ev.payload = payload;
			ev.internal = true;
			(void) gov_ledger_append(&ev);
			/* if this rolls back, the enforcer records it instead */
			gov_xact_defer(&read_undo_ops,
						   gov_security_event_prepare("governance.read", lease,
													  known ? snap.principal : NULL,
													  queued, TopTransactionContext));
		}
		else
			gov_security_event_push(gov_security_event_prepare("governance.read", lease,
															   known ? snap.principal : NULL,
															   queued, CurrentMemoryContext));
	}
}

/*
 * The reads of a statement that failed, from the callback that frees its
 * executor state while the transaction aborts: no catalog, only the queue,
 * and what is allocated lives in TopMemoryContext for the moment.
 */
static void
record_failed_reads(QueryDeps *d)
{
	MemoryContext old;
	int			l;

	d->reads_done = true;
	d->failed = true;
	if (d->n == 0 || read_lineage == READ_LINEAGE_NONE)
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	for (l = 0; l < d->n; l++)
	{
		GovPreparedEvent *ev = gov_security_event_prepare("governance.read", &d->leases[l], NULL,
														  reads_payload(d, d->caller),
														  TopMemoryContext);

		gov_security_event_push(ev);
		pfree(ev);
	}
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------
 * Executor hooks
 * ---------------------------------------------------------------------
 */

/* Set while a non-superuser's EXPLAIN ANALYZE runs. */
static bool explain_analyze = false;

/* Is this a governed table (row-level security with our policies)? */
static bool
relation_is_governed(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		governed = false;

	if (rel == NULL)
		return false;
	if (rel->rd_rel->relrowsecurity && rel->rd_rsdesc != NULL)
	{
		ListCell   *lc;

		foreach(lc, rel->rd_rsdesc->policies)
			if (strcmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, "governance_select") == 0)
				governed = true;
	}
	RelationClose(rel);
	return governed;
}

/*
 * EXPLAIN ANALYZE counts the rows row-level security removed ("Rows
 * Removed by Filter"), and with an index a search over them finds hidden
 * values: refused on governed tables, but to superusers (who read them
 * anyway).  The instrumented query is the one EXPLAIN runs.
 */
static void
refuse_explain_analyze(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, queryDesc->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION && relation_is_governed(rte->relid))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("EXPLAIN ANALYZE of governed table \"%s\" is not allowed",
							get_rel_name(rte->relid)),
					 errdetail("Its row counts would reveal rows that row-level security hides."),
					 errhint("Use EXPLAIN without ANALYZE, or ask a superuser.")));
	}
}

static void
gq_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (explain_analyze && queryDesc->instrument_options != 0 &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		refuse_explain_analyze(queryDesc);
	if (!dlist_is_empty(&held_deps))
		gov_query_guard_sweep();
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	if (read_lineage != READ_LINEAGE_NONE && !(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		start_read_counting(queryDesc);
}

/* ---------------------------------------------------------------------
 * Writes refused by row-level security
 * ---------------------------------------------------------------------
 *
 * The lineage trigger ledgers the writes it refuses, but row-level
 * security refuses a new row that no lease covers before any trigger
 * runs.  The executor hook notices the error on its way out and the
 * refusal is queued for the enforcer when the (sub)transaction aborts.
 */
static struct
{
	bool		pending;
	char		table[2 * NAMEDATALEN + 2];
	char		caller[NAMEDATALEN];
	char		message[256];
}			rls_refusal;

/* The first governed table among a write's result relations, or InvalidOid. */
static Oid
governed_result_relation(QueryDesc *qd)
{
	ListCell   *lc;

	if (qd->plannedstmt == NULL)
		return InvalidOid;
	foreach(lc, qd->plannedstmt->resultRelations)
	{
		Oid			relid = rt_fetch(lfirst_int(lc), qd->plannedstmt->rtable)->relid;

		if (relation_is_governed(relid))
			return relid;
	}
	return InvalidOid;
}

/*
 * A write to a governed table failed: if row-level security refused it,
 * remember it (in static memory) to be queued when the (sub)transaction
 * aborts.  Seen here rather than when the error is reported, which an
 * exception block that catches it never does.
 */
static void
note_rls_refusal(Oid target)
{
	MemoryContext old;
	ErrorData  *e;

	if (rls_refusal.pending)
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	e = CopyErrorData();
	MemoryContextSwitchTo(old);
	if (e->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE && e->message_id != NULL &&
		(strncmp(e->message_id, "new row violates row-level security policy", 42) == 0 ||
		 strncmp(e->message_id, "target row violates row-level security policy", 45) == 0))
	{
		char	   *rel = get_rel_name(target);
		char	   *nsp = get_namespace_name(get_rel_namespace(target));
		char	   *who = GetUserNameFromId(GetUserId(), true);

		snprintf(rls_refusal.table, sizeof(rls_refusal.table), "%s.%s",
				 nsp ? nsp : "?", rel ? rel : "?");
		strlcpy(rls_refusal.caller, who ? who : "", sizeof(rls_refusal.caller));
		strlcpy(rls_refusal.message, e->message ? e->message : "", sizeof(rls_refusal.message));
		rls_refusal.pending = true;
	}
	FreeErrorData(e);
}

static void
queue_rls_refusal(void)
{
	GovJson		j;
	MemoryContext old;
	GovPreparedEvent *ev;

	if (!rls_refusal.pending)
		return;
	rls_refusal.pending = false;
	old = MemoryContextSwitchTo(TopMemoryContext);
	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "caller");
	gj_str(&j, rls_refusal.caller);
	gj_key(&j, "observed_at");
	gj_str(&j, DatumGetCString(DirectFunctionCall1(timestamptz_out,
												   TimestampTzGetDatum(GetCurrentTimestamp()))));
	gj_key(&j, "detail");
	gj_str(&j, psprintf("row-level security of governed table %s refused a write by role %s: %s",
						rls_refusal.table, rls_refusal.caller, rls_refusal.message));
	gj_end_object(&j);
	ev = gov_security_event_prepare("governance.write.refused", NULL, NULL, gj_finish(&j),
									TopMemoryContext);
	gov_security_event_push(ev);
	pfree(ev);
	MemoryContextSwitchTo(old);
}

static void
rls_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT)
		queue_rls_refusal();
	else if (event == XACT_EVENT_COMMIT)
		rls_refusal.pending = false;	/* caught and survived: still refused */
}

static void
rls_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		queue_rls_refusal();
}

static void
gq_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	RunFrame	frame;

	frame.qd = queryDesc;
	frame.deps = dlist_is_empty(&query_deps) ? NULL : find_query_deps(queryDesc);
	frame.governed_target = queryDesc->operation == CMD_SELECT ? InvalidOid :
		governed_result_relation(queryDesc);
	frame.outer = running;
	if (frame.deps)
	{
		const pg_uuid_t *dead = first_unusable(frame.deps->leases, frame.deps->n);

		if (dead)
			raise_ended(dead, NULL);
	}

	running = &frame;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_CATCH();
	{
		running = frame.outer;
		if (OidIsValid(frame.governed_target))
			note_rls_refusal(frame.governed_target);
		PG_RE_THROW();
	}
	PG_END_TRY();
	running = frame.outer;
}

static void
gq_ExecutorEnd(QueryDesc *queryDesc)
{
	if (!dlist_is_empty(&query_deps))
	{
		QueryDeps  *d = find_query_deps(queryDesc);

		if (d != NULL && d->nreads > 0)
			record_reads(d);
	}
	/* a held cursor, run to completion at commit: it keeps the notes */
	if (!dlist_is_empty(&query_deps) && portal_is_held(ActivePortal))
	{
		QueryDeps  *d = find_query_deps(queryDesc);

		if (d != NULL)
		{
			HeldDeps   *h = find_held(ActivePortal, true);
			int			i;

			for (i = 0; i < d->n; i++)
				(void) add_lease(h->leases, &h->n, &d->leases[i]);
		}
	}
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* ---------------------------------------------------------------------
 * Utility statements: FETCH and MOVE, DISCARD ALL
 * ---------------------------------------------------------------------
 */

static void
run_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			ProcessUtilityContext context, ParamListInfo params,
			QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

static bool
explain_has_analyze(ExplainStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst(lc);

		if (strcmp(opt->defname, "analyze") == 0)
			return opt->arg == NULL || defGetBoolean(opt);
	}
	return false;
}

static void
gq_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params,
				  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *tree = pstmt->utilityStmt;

	if (tree && IsA(tree, FetchStmt) && !dlist_is_empty(&held_deps))
	{
		FetchStmt  *fs = (FetchStmt *) tree;
		Portal		p = fs->portalname ? GetPortalByName(fs->portalname) : NULL;
		HeldDeps   *h = p ? find_held(p, false) : NULL;
		const pg_uuid_t *dead = h == NULL ? NULL : h->failed ? &h->dead :
			first_unusable(h->leases, h->n);

		if (dead)
			raise_ended(dead, fs->portalname);
	}
	if (!dlist_is_empty(&held_deps))
		gov_query_guard_sweep();

	/* DISCARD ALL resets a session for the next client: attachments too */
	if (tree && IsA(tree, DiscardStmt) &&
		((DiscardStmt *) tree)->target == DISCARD_ALL && gov_attached_count() > 0)
		gov_detach(NULL);

	if (tree && IsA(tree, ExplainStmt) && !explain_analyze && explain_has_analyze((ExplainStmt *) tree) &&
		!superuser())
	{
		explain_analyze = true;
		PG_TRY();
		{
			run_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		}
		PG_FINALLY();
		{
			explain_analyze = false;
		}
		PG_END_TRY();
	}
	else
		run_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* ---------------------------------------------------------------------
 * The lease checks in row-level security quals
 * ---------------------------------------------------------------------
 */

typedef struct CheckFns
{
	bool		valid;
	Oid			resource;		/* authorized_resource(text) */
	Oid			resources;		/* authorized_resources(text) */
	Oid			is_authorized;	/* is_authorized(text, text) */
} CheckFns;

static CheckFns check_fns;
static bool check_fns_callback = false;

static void
check_fns_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	check_fns.valid = false;
}

/* By catalog, not by name lookup: the caller may lack USAGE on the schema. */
static Oid
lookup_fn(Oid nsp, const char *name, int nargs)
{
	Oid			args[2] = {TEXTOID, TEXTOID};

	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(args, nargs)),
						   ObjectIdGetDatum(nsp));
}

/* Our check functions, or false when the extension is not here. */
static bool
get_check_fns(void)
{
	if (!check_fns_callback)
	{
		CacheRegisterSyscacheCallback(PROCOID, check_fns_inval, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, check_fns_inval, (Datum) 0);
		check_fns_callback = true;
	}
	if (!check_fns.valid)
	{
		Oid			nsp = gov_schema_oid();

		memset(&check_fns, 0, sizeof(check_fns));
		if (OidIsValid(nsp))
		{
			check_fns.resource = lookup_fn(nsp, "authorized_resource", 1);
			check_fns.resources = lookup_fn(nsp, "authorized_resources", 1);
			check_fns.is_authorized = lookup_fn(nsp, "is_authorized", 2);
		}
		check_fns.valid = true;
	}
	return OidIsValid(check_fns.resources);
}

static bool
is_check_fn(Oid fn)
{
	return fn == check_fns.resource || fn == check_fns.resources || fn == check_fns.is_authorized;
}

/* Replace each lease check by the answer for a role that holds none. */
static Node *
no_lease_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FuncExpr) && is_check_fn(((FuncExpr *) node)->funcid))
	{
		FuncExpr   *f = (FuncExpr *) node;

		if (f->funcid == check_fns.is_authorized)
			return makeBoolConst(false, false);
		if (f->funcid == check_fns.resource)
			return (Node *) makeNullConst(TEXTOID, -1, DEFAULT_COLLATION_OID);
		return (Node *) makeConst(TEXTARRAYOID, -1, InvalidOid, -1,
								  PointerGetDatum(construct_empty_array(TEXTOID)),
								  false, false);
	}
	if (IsA(node, Query))
		return (Node *) query_tree_mutator((Query *) node, no_lease_mutator, context, 0);
	return expression_tree_mutator(node, no_lease_mutator, context);
}

static bool
checked_as_other(RangeTblEntry *rte)
{
	return OidIsValid(rte->checkAsUser) && rte->checkAsUser != GetUserId();
}

static bool
borrow_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		/* WITH CHECK quals of a result relation written through a rule */
		if (q->resultRelation > 0 && q->withCheckOptions != NIL &&
			checked_as_other(rt_fetch(q->resultRelation, q->rtable)))
		{
			ListCell   *lc;

			foreach(lc, q->withCheckOptions)
			{
				WithCheckOption *wco = lfirst(lc);

				wco->qual = no_lease_mutator(wco->qual, NULL);
			}
		}
		return query_tree_walker(q, borrow_walker, context, QTW_EXAMINE_RTES_BEFORE);
	}
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && rte->securityQuals != NIL && checked_as_other(rte))
			rte->securityQuals = (List *) no_lease_mutator((Node *) rte->securityQuals, NULL);
		return false;
	}
	return expression_tree_walker(node, borrow_walker, context);
}

static PlannedStmt *
gq_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	if (get_check_fns())
		(void) borrow_walker((Node *) parse, NULL);
	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

void
gov_query_guard_install_hooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = gq_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = gq_ExecutorRun;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = gq_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = gq_ProcessUtility;
	prev_planner = planner_hook;
	planner_hook = gq_planner;
	RegisterXactCallback(rls_xact_callback, NULL);
	RegisterSubXactCallback(rls_subxact_callback, NULL);
}
