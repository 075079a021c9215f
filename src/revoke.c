/*-------------------------------------------------------------------------
 *
 * revoke.c
 *	  Revocations that no lock holder can hold off.
 *
 *	  An agent that keeps a transaction open after heartbeat() or
 *	  delegate() (a lock on its lease's row), after session attach() (an
 *	  update of that row), or after record() or a governed write (the lock
 *	  of its lease's ledger chain) would make a revocation that waits for
 *	  those locks wait for it, while the agent goes on working.  So a
 *	  revocation is made in three steps:
 *
 *	  1. End the lease in shared memory; then read its descendants with a
 *	     new snapshot and no lock, and end them too (a descendant still
 *	     pending, never usable, ends when its delegation commits: lease.c).
 *	     attach(), is_authorized(), row-level security and governed writes
 *	     refuse them from now on, whatever the durable rows still say.
 *	     This is not undone if the transaction rolls back (giving up
 *	     access is never rolled back into access): the enforcer then makes
 *	     the revocation durable.  Until the transaction ends, the ended
 *	     leases are claimed, so that the enforcer does not race it.
 *	  2. Make it durable (gov_revoke_tree, in a subtransaction, retried).
 *	     For governance.revoke_lock_timeout it waits for the lease's row
 *	     and chain locks as any transaction does: an honest holder (an
 *	     autocommit heartbeat) lets go well within it.  After that it takes
 *	     a lock only if it is free, and each time one is not, it finds the
 *	     transactions holding the locks it needs (the tree's rows: the
 *	     tuples' xmax and multixact members; the chain lock: the lock
 *	     manager) and cancels their statements, or ends their sessions
 *	     when a cancel is not enough (see end_holder).
 *	  3. At twice the timeout it gives up, which happens only when a
 *	     holder cannot be ended: a prepared transaction (a superuser
 *	     locking the row by hand: no function of the extension lets a
 *	     transaction that locks a lease row be prepared), a session the
 *	     caller may not end, a background worker.  A WARNING, a
 *	     governance.revoke.deferred event and a row in
 *	     governance.revocations_deferred, committed (and flushed) with the
 *	     caller's transaction: after a crash the enforcer loads those
 *	     leases dead.  The enforcer's reconcile makes the revocation
 *	     durable once the locks are free, and ledgers it with the time it
 *	     took effect.
 *
 *	  After step 1 no new holder appears: heartbeat(), delegate() and
 *	  attach() refuse a lease shared memory has ended before they lock
 *	  anything, and record() and governed writes need a live lease.  The
 *	  holders are those whose calls began before, and ending them is
 *	  enough (a loop of such calls cannot hold the revocation off).
 *
 *	  Whose sessions may be ended: those of roles holding a lease of the
 *	  tree (the revocation ends their authority anyway); any non-superuser
 *	  session when governance_admin or a member of pg_signal_backend
 *	  revokes; any session when a superuser revokes.  Never a background
 *	  worker (the extension's own take such locks only for an instant:
 *	  retrying is enough), and never a backend that is itself inside a
 *	  revocation, which ends within its own bound.
 *
 *	  The "no live orphan" protocol (authz.c) is unchanged: step 2 locks
 *	  the lease's row before it reads the tree again, and delegate() locks
 *	  the rows of the parent and its ancestors before it checks them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/twophase.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/sinvaladt.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "lease_rows.h"
#include "encode.h"
#include "common.h"
#include "lease.h"
#include "ledger.h"
#include "revoke.h"
#include "spi_cache.h"
#include "stats.h"
#include "xact_defer.h"

int			gov_revoke_lock_timeout_ms = 100;

/* how long a cancelled holder has to let go before its session is ended */
#define CANCEL_GRACE_MS		20

/*
 * Per backend (by PGPROC number), written by that backend only:
 *
 * revoking		its pid while it is inside gov_revoke_at_once(), else 0.  A
 *				revocation never ends the session of another one (which is
 *				bounded by its own timeout, and revokes the same leases).
 * stmt_pid, stmt_start
 *				the statement that last revoked.  The enforcer does not
 *				stop it for the leases it ended (it ends them before it
 *				commits, so the statement began before they ended), and
 *				stops the session later if governance.enforcement says so.
 */
typedef struct RevokeSlot
{
	pg_atomic_uint32 revoking;
	pg_atomic_uint32 stmt_pid;
	pg_atomic_uint64 stmt_start;
} RevokeSlot;

typedef struct RevokeShared
{
	int			nslots;
	RevokeSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} RevokeShared;

static RevokeShared *revoke_shared = NULL;

static int
revoke_nslots(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

void
gov_revoke_define_gucs(void)
{
	DefineCustomIntVariable("governance.revoke_lock_timeout",
							"How long revoke() waits for transactions holding locks on the leases it revokes before it ends their sessions.",
							"The leases end in shared memory at once; this bounds the wait to make it durable. "
							"revoke() returns within about twice this; if it still could not, the enforcer makes the revocation durable later.",
							&gov_revoke_lock_timeout_ms,
							100, 1, 60 * 1000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

Size
gov_revoke_shmem_size(void)
{
	return add_size(offsetof(RevokeShared, slots),
					mul_size(sizeof(RevokeSlot), revoke_nslots()));
}

void
gov_revoke_shmem_startup(void)
{
	bool		found;
	int			i;

	revoke_shared = ShmemInitStruct("governance revocations", gov_revoke_shmem_size(), &found);
	if (!found)
	{
		revoke_shared->nslots = revoke_nslots();
		for (i = 0; i < revoke_shared->nslots; i++)
		{
			pg_atomic_init_u32(&revoke_shared->slots[i].revoking, 0);
			pg_atomic_init_u32(&revoke_shared->slots[i].stmt_pid, 0);
			pg_atomic_init_u64(&revoke_shared->slots[i].stmt_start, 0);
		}
	}
}

static void
set_revoking(bool on)
{
	RevokeSlot *slot;

	if (MyProc->pgprocno >= revoke_shared->nslots)
		return;
	slot = &revoke_shared->slots[MyProc->pgprocno];
	if (on)
	{
		pg_atomic_write_u64(&slot->stmt_start, (uint64) GetCurrentStatementStartTimestamp());
		pg_atomic_write_u32(&slot->stmt_pid, (uint32) MyProcPid);
	}
	pg_atomic_write_u32(&slot->revoking, on ? (uint32) MyProcPid : 0);
}

static bool
is_revoking(const PGPROC *proc, pid_t pid)
{
	return proc->pgprocno < revoke_shared->nslots &&
		pg_atomic_read_u32(&revoke_shared->slots[proc->pgprocno].revoking) == (uint32) pid;
}

bool
gov_revoke_statement(int procno, pid_t pid, TimestampTz stmt_start)
{
	RevokeSlot *slot;

	if (revoke_shared == NULL || procno < 0 || procno >= revoke_shared->nslots)
		return false;
	slot = &revoke_shared->slots[procno];
	return pg_atomic_read_u32(&slot->stmt_pid) == (uint32) pid &&
		(TimestampTz) pg_atomic_read_u64(&slot->stmt_start) == stmt_start;
}

/* ---------------------------------------------------------------------
 * The tree
 * ---------------------------------------------------------------------
 */

typedef struct RevokeTree
{
	bool		live;			/* the lease's durable row says live */
	List	   *ids;			/* pg_uuid_t *: live leases, the lease first */
	List	   *roles;			/* Oid: their holders' roles */
} RevokeTree;

static RevokeTree
read_tree(const pg_uuid_t *id)
{
	RevokeTree	t = {0};
	int			rc;
	uint64		i;
	Datum		ids;
	Datum		roles;
	bool		isnull;
	Datum	   *elems;
	int			n;
	Oid			argtypes[] = {UUIDOID};
	Datum		values[] = {UUIDPGetDatum(id)};

	/*
	 * Not read-only: a new snapshot, which sees every committed delegation.
	 * Arrays rather than a row per lease: a tree may be large.
	 */
	rc = gov_spi_exec("WITH RECURSIVE tree AS ("
					  "  SELECT lease_id, role_oid, state FROM governance.leases WHERE lease_id = $1"
					  "  UNION ALL"
					  "  SELECT l.lease_id, l.role_oid, l.state"
					  "    FROM governance.leases l JOIN tree t ON l.parent_id = t.lease_id)"
					  " SELECT array_agg(lease_id), array_agg(DISTINCT role_oid::oid),"
					  "        bool_or(lease_id = $1)"
					  "   FROM tree WHERE state = 'live'",
					  1, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the leases to revoke");
	t.live = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (isnull || !t.live)
	{
		t.live = false;
		return t;
	}
	ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	roles = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	deconstruct_array(DatumGetArrayTypeP(ids), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
					  &elems, NULL, &n);
	t.ids = lappend(t.ids, (void *) id);	/* the lease first */
	for (i = 0; i < (uint64) n; i++)
		if (memcmp(DatumGetUUIDP(elems[i]), id, sizeof(pg_uuid_t)) != 0)
			t.ids = lappend(t.ids, DatumGetUUIDP(elems[i]));
	deconstruct_array(DatumGetArrayTypeP(roles), OIDOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, NULL, &n);
	for (i = 0; i < (uint64) n; i++)
		t.roles = lappend_oid(t.roles, DatumGetObjectId(elems[i]));
	return t;
}

/*
 * The ended leases' claims end with the transaction, however it ends: on
 * abort as soon as it aborts (the enforcer then makes the revocation
 * durable); on commit only once the revocation's own changes have been
 * applied (registered after them), or the enforcer would find, for an
 * instant, every lease of a large tree ended and neither durable nor
 * claimed.
 */
typedef struct Claims
{
	List	   *ids;
} Claims;

static void
release_claims(void *arg)
{
	gov_lease_release_claims(((Claims *) arg)->ids);
}

static const GovXactOps claims_abort_ops = {
	.what = "revoked governance leases",
	.abort = release_claims,
};

static const GovXactOps claims_commit_ops = {
	.what = "revoked governance leases",
	.commit = release_claims,
	.abort = release_claims,
};

/* ---------------------------------------------------------------------
 * Who holds the locks
 * ---------------------------------------------------------------------
 */

typedef struct Blockers
{
	List	   *cancelled;		/* pids whose statements were cancelled */
	TimestampTz cancelled_at;	/* when the last of them was */
	List	   *ended;			/* pids whose sessions were ended */
	List	   *lingering;		/* ... and still hold a lock */
	int			prepared;		/* prepared transactions */
	int			workers;		/* background workers */
	int			revoking;		/* backends inside a revocation */
	List	   *forbidden;		/* pids the caller may not end */
} Blockers;

static void
add_locker(List **xids, TransactionId xid)
{
	if (!TransactionIdIsValid(xid) || TransactionIdIsCurrentTransactionId(xid) ||
		!TransactionIdIsInProgress(xid))
		return;
	/* a TransactionId fits in an int list cell */
	*xids = list_append_unique_int(*xids, (int) xid);
}

/*
 * The transactions that lock or update the latest version of a lease row
 * in a way that conflicts with FOR NO KEY UPDATE (a KEY SHARE, which a
 * delegation's foreign key check takes, does not).
 */
static void
row_lockers(Relation rel, Relation idx, const pg_uuid_t *key, List **xids)
{
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	ScanKeyData sk;
	IndexScanDesc scan;

	ScanKeyInit(&sk, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(key));
	scan = index_beginscan(rel, idx, snap, 1, 0);
	index_rescan(scan, &sk, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot) && TTS_IS_BUFFERTUPLE(slot))
	{
		BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
		uint16		infomask;
		TransactionId xmax;

		LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
		infomask = bslot->base.tuple->t_data->t_infomask;
		xmax = HeapTupleHeaderGetRawXmax(bslot->base.tuple->t_data);
		LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);

		if (infomask & HEAP_XMAX_INVALID)
			;
		else if (infomask & HEAP_XMAX_IS_MULTI)
		{
			MultiXactMember *m;
			int			n = GetMultiXactIdMembers(xmax, &m, false,
												  HEAP_XMAX_IS_LOCKED_ONLY(infomask));
			int			i;

			for (i = 0; i < n; i++)
				if (m[i].status != MultiXactStatusForKeyShare)
					add_locker(xids, m[i].xid);
			if (n > 0)
				pfree(m);
		}
		else if (!(HEAP_XMAX_IS_LOCKED_ONLY(infomask) && HEAP_XMAX_IS_KEYSHR_LOCKED(infomask)))
			add_locker(xids, xmax);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
}

static bool
may_end(Oid role, const RevokeTree *tree)
{
	Oid			caller = GetOuterUserId();

	if (!OidIsValid(role))
		return false;
	if (superuser_arg(caller))
		return true;
	if (superuser_arg(role))
		return false;
	return list_member_oid(tree->roles, role) ||
		has_privs_of_role(caller, role) ||
		gov_caller_is_admin() ||
		has_privs_of_role(caller, ROLE_PG_SIGNAL_BACKEND);
}

GovSignalNoteFn gov_revoke_signal_note = NULL;

/* Signal a lock holder, leaving governance's reason for its error report. */
static bool
signal_holder(PGPROC *proc, pid_t pid, const pg_uuid_t *id, bool terminate)
{
	char		message[GOV_REASON_MAX + 128];

	snprintf(message, sizeof(message),
			 "%s governance lease %s is being revoked, and this transaction held a lock the revocation needed",
			 terminate ? "terminating connection:" : "canceling statement:", gov_uuid_text(id));
	if (gov_revoke_signal_note)
		gov_revoke_signal_note(proc->pgprocno, pid, id, terminate, message);
	if (!terminate)
		return kill(pid, SIGINT) == 0;
#ifdef HAVE_SETSID
	return kill(-pid, SIGTERM) == 0 || kill(pid, SIGTERM) == 0;
#else
	return kill(pid, SIGTERM) == 0;
#endif
}

static const char *
role_name(Oid role)
{
	char	   *n = GetUserNameFromId(role, true);

	return n ? n : "?";
}

/* Is this backend running a statement (its status as of this round)? */
static bool
holder_running(BackendId backend, pid_t pid)
{
	PgBackendStatus *be = pgstat_fetch_stat_beentry(backend);

	return be != NULL && be->st_procpid == pid &&
		(be->st_state == STATE_RUNNING || be->st_state == STATE_FASTPATH);
}

/* Act on one transaction holding a lock the revocation needs. */
static void
end_holder(VirtualTransactionId vxid, const pg_uuid_t *id, const RevokeTree *tree, Blockers *b)
{
	PGPROC	   *proc;
	pid_t		pid;
	Oid			role;

	proc = VirtualTransactionIdIsRecoveredPreparedXact(vxid) ? NULL :
		BackendIdGetProc(vxid.backendId);
	/* unlocked reads: at worst a session that has just let go is ended */
	if (proc == NULL || proc->pid == 0 || proc->lxid != vxid.localTransactionId)
	{
		bool		more;

		/* not running: ended since, or prepared (which keeps its vxid) */
		if (VirtualTransactionIdIsRecoveredPreparedXact(vxid) ||
			TransactionIdIsValid(TwoPhaseGetXidByVirtualXID(vxid, &more)))
			b->prepared++;
		return;
	}
	pid = proc->pid;
	role = proc->roleId;
	if (proc->isBackgroundWorker || (proc->statusFlags & PROC_IS_AUTOVACUUM))
	{
		b->workers++;
		return;
	}
	if (is_revoking(proc, pid))
	{
		b->revoking++;
		return;
	}
	if (!may_end(role, tree))
	{
		b->forbidden = list_append_unique_int(b->forbidden, pid);
		return;
	}
	if (list_member_int(b->ended, pid))
	{
		b->lingering = list_append_unique_int(b->lingering, pid);
		return;
	}

	/*
	 * Cancelling its statement is enough when one is running at the top level
	 * of its transaction: the transaction aborts and lets go.  Not in a
	 * savepoint or a PL/pgSQL exception block (the subtransaction aborts, the
	 * outer one keeps its locks), which cannot be seen from here: a holder
	 * still holding CANCEL_GRACE_MS after a cancel is ended.  A session idle
	 * in its transaction (what holding a revocation off looks like) ignores a
	 * cancel: it is ended at once.
	 */
	if (list_member_int(b->cancelled, pid) &&
		!TimestampDifferenceExceeds(b->cancelled_at, GetCurrentTimestamp(), CANCEL_GRACE_MS))
	{
		b->lingering = list_append_unique_int(b->lingering, pid);
		return;
	}
	if (!list_member_int(b->cancelled, pid) && holder_running(vxid.backendId, pid))
	{
		if (signal_holder(proc, pid, id, false))
		{
			gov_stat_add(GOV_STAT_CANCELS_SENT, 1);
			b->cancelled = lappend_int(b->cancelled, pid);
			b->cancelled_at = GetCurrentTimestamp();
			ereport(LOG,
					(errmsg("governance: revoking lease %s: cancelled the statement of process %d (role %s), whose transaction held a lock the revocation needed",
							gov_uuid_text(id), (int) pid, role_name(role))));
		}
		return;
	}
	if (!signal_holder(proc, pid, id, true))
		return;
	gov_stat_add(GOV_STAT_CANCELS_SENT, 1);
	b->ended = lappend_int(b->ended, pid);
	ereport(LOG,
			(errmsg("governance: revoking lease %s: ended the session of process %d (role %s), whose transaction held a lock the revocation needed",
					gov_uuid_text(id), (int) pid, role_name(role))));
}

static void
end_holders_of(const LOCKTAG *tag, LOCKMODE mode, const pg_uuid_t *id,
			   const RevokeTree *tree, Blockers *b)
{
	int			n;
	VirtualTransactionId *v = GetLockConflicts(tag, mode, &n);

	for (; VirtualTransactionIdIsValid(*v); v++)
		end_holder(*v, id, tree, b);
}

/*
 * End the sessions whose transactions hold the locks the revocation needs:
 * those of the tree's rows and the lease's chain lock.
 */
static void
end_holders(const pg_uuid_t *id, const RevokeTree *tree, Blockers *b)
{
	Relation	rel = table_open(gov_relid("leases"), AccessShareLock);
	Relation	idx = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	List	   *xids = NIL;
	ListCell   *lc;
	LOCKTAG		tag;

	/* holder_running() reads a fresh snapshot of the backends' activity */
	pgstat_clear_backend_activity_snapshot();
	foreach(lc, tree->ids)
		row_lockers(rel, idx, (pg_uuid_t *) lfirst(lc), &xids);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);

	foreach(lc, xids)
	{
		SET_LOCKTAG_TRANSACTION(tag, (TransactionId) lfirst_int(lc));
		end_holders_of(&tag, ShareLock, id, tree, b);
	}
	gov_ledger_chain_locktag(id, &tag);
	end_holders_of(&tag, ExclusiveLock, id, tree, b);
	list_free(xids);
}

/* ---------------------------------------------------------------------
 * The revocation
 * ---------------------------------------------------------------------
 */

static void
add_blockers_json(GovJson *j, const Blockers *b)
{
	ListCell   *lc;

	gj_key(j, "blocked_by");
	gj_begin_array(j);
	if (b->prepared > 0)
		gj_str(j, "a prepared transaction");
	foreach(lc, b->forbidden)
		gj_str(j, psprintf("process %d, which the caller may not end", lfirst_int(lc)));
	foreach(lc, b->lingering)
		gj_str(j, psprintf("process %d, cancelled or ended, which had not let go yet", lfirst_int(lc)));
	if (b->revoking > 0)
		gj_str(j, "another revocation of these leases");
	if (b->workers > 0)
		gj_str(j, "a background worker");
	gj_end_array(j);
}

static char *
blockers_text(const Blockers *b)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	if (b->prepared > 0)
		appendStringInfoString(&s, "a prepared transaction, ");
	foreach(lc, b->forbidden)
		appendStringInfo(&s, "process %d (which you may not end), ", lfirst_int(lc));
	foreach(lc, b->lingering)
		appendStringInfo(&s, "process %d (cancelled or ended, not gone yet), ", lfirst_int(lc));
	if (b->revoking > 0)
		appendStringInfoString(&s, "another revocation of these leases, ");
	if (b->workers > 0)
		appendStringInfoString(&s, "a background worker, ");
	if (s.len == 0)
		appendStringInfoString(&s, "another transaction, ");
	s.data[s.len - 2] = '\0';
	return s.data;
}

static char *
lease_principal(const pg_uuid_t *id)
{
	int			rc;
	Oid			argtypes[] = {UUIDOID};
	Datum		values[] = {UUIDPGetDatum(id)};

	rc = gov_spi_exec("SELECT principal FROM governance.leases WHERE lease_id = $1",
					  1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Durability was not to be had in time: say so, to the caller and the ledger. */
static void
defer_to_enforcer(const pg_uuid_t *id, const char *reason, const RevokeTree *tree,
				  const Blockers *b, int waited_ms)
{
	GovJson		j;
	GovEvent	ev;
	ListCell   *lc;
	Oid			argtypes[] = {UUIDOID, TEXTOID, TEXTOID};
	Datum		values[3];

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "lease");
	gj_str(&j, gov_uuid_text(id));
	gj_key(&j, "reason");
	gj_str(&j, reason);
	gj_key(&j, "by");
	gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
	gj_key(&j, "count");
	gj_int(&j, list_length(tree->ids));
	gj_key(&j, "ended_in_shared_memory");
	gj_begin_array(&j);
	foreach(lc, tree->ids)
		gj_str(&j, gov_uuid_text((pg_uuid_t *) lfirst(lc)));
	gj_end_array(&j);
	gj_key(&j, "waited_ms");
	gj_int(&j, waited_ms);
	add_blockers_json(&j, b);
	gj_end_object(&j);

	/* what a restart must not forget (the enforcer reads it back) */
	values[0] = UUIDPGetDatum(id);
	values[1] = CStringGetTextDatum(reason);
	values[2] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	if (gov_spi_exec("INSERT INTO governance.revocations_deferred (lease_id, reason, requested_by, requested_at)"
					 " VALUES ($1, $2, $3, now()) ON CONFLICT (lease_id) DO NOTHING",
					 3, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the deferred revocation");

	memset(&ev, 0, sizeof(ev));
	ev.kind = "governance.revoke.deferred";
	/* on the lease's chain if its lock is free, else outside any chain */
	ev.lease_id = gov_ledger_try_lock_chain(id) ? id : NULL;
	ev.principal = lease_principal(id);
	ev.payload = gj_finish(&j);
	ev.internal = true;
	(void) gov_ledger_append(&ev);

	ereport(WARNING,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("lease %s is revoked in shared memory, but the revocation is not durable yet",
					gov_uuid_text(id)),
			 errdetail("After %d ms, %s still held a lock the revocation needs. "
					   "%d lease(s) are refused everywhere already.",
					   waited_ms, blockers_text(b), list_length(tree->ids)),
			 errhint("The enforcer makes the revocation durable, and ledgers it, once the lock is released.")));
}

int64
gov_revoke_at_once(const pg_uuid_t *id, const char *reason)
{
	RevokeTree *tree = palloc0(sizeof(RevokeTree));
	Claims	   *claims;
	MemoryContext old;
	GovRevokeWait w;
	TimestampTz start = 0;
	Blockers	b;
	int64		count = 0;
	bool		done = false;
	int			sleep_ms = 1;

	/* an acknowledged revocation survives a crash (synchronous_commit) */
	gov_xact_require_durable_commit();

	/* registered first: a claim it cannot release is never taken */
	claims = MemoryContextAllocZero(TopTransactionContext, sizeof(Claims));
	gov_xact_defer(&claims_abort_ops, claims);

	memset(&b, 0, sizeof(b));

	/* before the leases end: the enforcer must not stop this statement */
	set_revoking(true);
	PG_TRY();
	{
		/*
		 * The lease first, before anything that takes time; then its
		 * descendants, read after it ended (a delegation committing meanwhile
		 * ends its child itself: lease.c).
		 */
		old = MemoryContextSwitchTo(TopTransactionContext);
		(void) gov_lease_kill_tree(list_make1((void *) id), reason, &claims->ids);
		MemoryContextSwitchTo(old);
		*tree = read_tree(id);
		if (tree->live)
		{
			old = MemoryContextSwitchTo(TopTransactionContext);
			(void) gov_lease_kill_tree(list_copy_tail(tree->ids, 1), reason, &claims->ids);
			MemoryContextSwitchTo(old);

			/* the bound starts once access has ended */
			start = GetCurrentTimestamp();
			w.polite_until = TimestampTzPlusMilliseconds(start, gov_revoke_lock_timeout_ms);
			w.deadline = TimestampTzPlusMilliseconds(w.polite_until, gov_revoke_lock_timeout_ms);
			w.rows_first = false;

			for (;;)
			{
				TimestampTz now;

				if (gov_revoke_tree_try(id, reason, false, &w, NULL, &count))
				{
					done = true;
					break;
				}
				w.rows_first = true;
				now = GetCurrentTimestamp();
				if (now >= w.polite_until)
				{
					/* only this round's holders are reported */
					list_free(b.forbidden);
					list_free(b.lingering);
					b.forbidden = b.lingering = NIL;
					b.prepared = b.workers = b.revoking = 0;
					end_holders(id, tree, &b);
				}
				if (now >= w.deadline)
					break;
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 Min(sleep_ms, Max(gov_revoke_ms_until(w.deadline), 1)), PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
				sleep_ms = Min(sleep_ms * 2, 10);
			}
		}
	}
	PG_FINALLY();
	{
		set_revoking(false);
	}
	PG_END_TRY();
	gov_xact_defer(&claims_commit_ops, claims);

	if (!tree->live)
		return 0;				/* nothing live left to revoke */
	if (done)
		return count;
	defer_to_enforcer(id, reason, tree, &b,
					  (int) ((GetCurrentTimestamp() - start) / 1000));
	return list_length(tree->ids);
}

/* revoke(lease_id uuid, reason text) -> integer */
PG_FUNCTION_INFO_V1(gov_sql_revoke);
Datum
gov_sql_revoke(PG_FUNCTION_ARGS)
{
	pg_uuid_t	id;
	char	   *reason;
	int64		n;
	GovLeaseRow target;
	bool		allowed = false;

	GOV_ENTRY();
	gov_require_primary("revoke()");
	gov_require_read_committed("revoke()");
	id = gov_arg_uuid(fcinfo, 0, "lease id");
	reason = gov_arg_text(fcinfo, 1, "reason");
	if (strlen(reason) > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reason is too long (at most 1000 bytes)")));

	SPI_connect();
	/* allowed: the lease's principal, any ancestor's principal, an admin */
	target = gov_lease_row(&id, GOV_ROW_NO_LOCK);
	if (!target.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lease %s does not exist", gov_uuid_text(&id))));
	if (gov_caller_is_admin())
		allowed = true;
	else
	{
		int			rc;
		Oid			argtypes[] = {UUIDOID, UUIDARRAYOID, OIDOID};
		Datum		values[] = {
			UUIDPGetDatum(&id), target.ancestors, ObjectIdGetDatum(GetOuterUserId())
		};

		rc = gov_spi_exec("SELECT 1 FROM governance.leases l JOIN governance.agents a "
						  "ON a.principal = l.principal "
						  "WHERE (l.lease_id = $1 OR l.lease_id = ANY ($2)) AND a.role_oid = $3",
						  3, argtypes, values, NULL, true, 1);
		allowed = (rc == SPI_OK_SELECT && SPI_processed > 0);
	}
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role %s may not revoke lease %s", gov_caller_name(), gov_uuid_text(&id)),
				 errdetail("A lease may be revoked by its holder, the holder of any ancestor, or governance_admin.")));

	n = gov_revoke_at_once(&id, reason);
	SPI_finish();
	PG_RETURN_INT32((int32) Min(n, PG_INT32_MAX));
}
