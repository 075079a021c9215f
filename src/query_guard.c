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
 *	  Borrowed leases: the planner hook hands the query to rls_guard.c.
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
#include "rls_guard.h"
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
	/* read lineage (governance.read_lineage) */
	int			nreads;
	ReadCount  *reads;
	bool		reads_done;		/* recorded (or nothing to record) */
	bool		failed;			/* it ended in an error */
	char	   *caller;			/* computed at start: no catalog reads later */
	int			n;
	pg_uuid_t	leases[FLEXIBLE_ARRAY_MEMBER];	/* gov_max_attached */
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
	pg_uuid_t	leases[FLEXIBLE_ARRAY_MEMBER];	/* gov_max_attached */
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
	if (*n >= gov_max_attached)
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

	d = MemoryContextAllocZero(qd->estate->es_query_cxt,
							   offsetof(QueryDeps, leases) + sizeof(pg_uuid_t) * gov_max_attached);
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
	h = MemoryContextAllocZero(TopMemoryContext,
							   offsetof(HeldDeps, leases) + sizeof(pg_uuid_t) * gov_max_attached);
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

/*
 * A statement or a cursor may not go on reading under a lease that is no
 * longer usable.  When the lease itself has ended (revoked, expired, gone
 * from shared memory), that is governance ending the statement, as the
 * enforcer's cancel is: SQLSTATE 57L01, the message prefix README
 * promises, and last_termination() records it.  Otherwise the lease lives
 * on and this backend may no longer use it (detached, another role): a
 * privilege error, 42501.
 */
static void
raise_ended(const pg_uuid_t *id, const char *cursor)
{
	char	   *idtxt = gov_uuid_text(id);
	GovLeaseSnapshot l;
	bool		known = gov_lease_get(id, &l);

	if (!known || !gov_lease_is_live(&l, GetCurrentTimestamp()))
	{
		const char *how = "is no longer live";
		char	   *message;

		if (known && l.state == GOV_LEASE_REVOKED)
			how = "was revoked";
		else if (known && (l.state == GOV_LEASE_EXPIRED || l.state == GOV_LEASE_LIVE))
			how = "expired";
		message = cursor ?
			psprintf("canceling statement: governance lease %s %s; cursor \"%s\" read governed rows under it",
					 idtxt, how, cursor) :
			psprintf("canceling statement: governance lease %s %s; this statement read governed rows under it",
					 idtxt, how);
		gov_note_own_termination(id, message);
		ereport(ERROR,
				(errcode(GOV_ERRCODE_LEASE_CANCELED),
				 errmsg_internal("%s", message),
				 errdetail("Rows read under a lease may not be returned after it ended."),
				 cursor ?
				 errhint("Close the cursor, attach a live artifact and open it again.") :
				 errhint("Attach a live artifact and start the statement again.")));
	}
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

				if (rel != NULL && gov_rel_is_governed(rel))
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
		gj_str(&j, gov_iso_timestamp(GetCurrentTimestamp()));
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
	payload = NULL;				/* built when the first lease is ledgered here */
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
			if (payload == NULL)
				payload = reads_payload(d, NULL);
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

		if (rte->rtekind == RTE_RELATION && gov_relation_is_governed(rte->relid))
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
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		gov_rls_check_statement(queryDesc);
	if (read_lineage != READ_LINEAGE_NONE && !(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		start_read_counting(queryDesc);
}

static void
gq_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	RunFrame	frame;

	frame.qd = queryDesc;
	frame.deps = dlist_is_empty(&query_deps) ? NULL : find_query_deps(queryDesc);
	frame.governed_target = queryDesc->operation == CMD_SELECT ? InvalidOid :
		gov_governed_result_relation(queryDesc);
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
			gov_note_rls_refusal(frame.governed_target);
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
		const pg_uuid_t *dead = (h == NULL ? NULL : h->failed ? &h->dead :
								 first_unusable(h->leases, h->n));

		if (dead)
			raise_ended(dead, fs->portalname);
	}
	if (!dlist_is_empty(&held_deps))
		gov_query_guard_sweep();
	if (tree && IsA(tree, CopyStmt))
		gov_rls_check_copy((CopyStmt *) tree);

	/* DISCARD ALL resets a session for the next client: attachments too */
	if (tree && IsA(tree, DiscardStmt) && ((DiscardStmt *) tree)->target == DISCARD_ALL)
	{
		gov_forget_termination();
		if (gov_attached_count() > 0)
			gov_detach(NULL);
	}

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

bool
gov_query_is_client_statement(void)
{
	return running != NULL && running->outer == NULL && ActivePortal != NULL &&
		ActivePortal->queryDesc == running->qd;
}

static PlannedStmt *
gq_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	gov_rls_unborrow(parse);
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
	gov_rls_guard_init();
}
