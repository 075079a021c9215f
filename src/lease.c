/*-------------------------------------------------------------------------
 *
 * lease.c
 *	  Live leases in a shared-memory hash table, the attachments of each
 *	  backend, and the mechanics of enforcement (expiry scan, cancelling
 *	  statements of backends attached to dead leases).
 *
 *	  Locking protocol
 *	  ----------------
 *	  - The lease table is a shared dynahash partitioned into
 *	    GOV_LEASE_PARTITIONS; the partition of a lease is its hash modulo
 *	    that number, and its LWLock (tranche "governance_leases") guards
 *	    the entry: shared to read it, exclusive to insert, remove or change
 *	    it.  No code holds two partition locks except gov_lease_scan(),
 *	    which takes all of them in shared mode in ascending order.
 *	  - Every change to an entry (state, expiry, removal) bumps its
 *	    generation while holding the exclusive lock.  An attached backend
 *	    remembers the generation it validated; its per-row check reads the
 *	    generation without the lock (an atomic read) and compares the
 *	    expiry with the clock: if nothing changed and the lease has not
 *	    expired, the lease is live.  Anything else sends it to the locked
 *	    path, which looks the lease up again.  A revocation is therefore
 *	    seen by the very next check in every backend.
 *	  - Entries are never read or written outside their lock except for
 *	    the generation.  Removed entries keep their memory (dynahash free
 *	    list), so a stale pointer held by a backend still points at a
 *	    generation counter that has moved on.
 *	  - Each backend owns one attachment slot (indexed by its PGPROC
 *	    number) listing the leases it is attached to, guarded by the
 *	    slot's spinlock, which the enforcer reads to find whom to cancel.
 *	  - Changes made by a transaction (a new lease going live, a
 *	    revocation) are applied to shared memory by the commit callback,
 *	    which runs after the commit is visible; an abort drops them (and
 *	    removes leases inserted as pending).  Subtransactions keep their
 *	    own changes until they commit into their parent.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/twophase.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "tcop/utility.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "governance.h"
#include "lease.h"
#include "trust.h"
#include "worker.h"

#if PG_VERSION_NUM >= 170000
#define GOV_MY_PROCNO		MyProcNumber
#else
#define GOV_MY_PROCNO		(MyProc->pgprocno)
#endif

#define GOV_LEASE_PARTITIONS	16
#define GOV_LEASE_TRANCHE		"governance_leases"

int			gov_max_leases = 10000;

typedef struct GovAttachSlot
{
	slock_t		mutex;
	pid_t		pid;
	Oid			dboid;
	int			n;
	pg_uuid_t	leases[GOV_MAX_ATTACHED];
	bool		signalled[GOV_MAX_ATTACHED];	/* enforcer already acted ... */
	uint64		signalled_gen[GOV_MAX_ATTACHED];	/* ... on this generation */
	bool		reason_pending;
	TimestampTz signalled_at;
	char		reason[GOV_REASON_MAX + 128];
} GovAttachSlot;

typedef struct GovLeaseShared
{
	LWLockPadded *locks;
	pg_atomic_uint32 nleases;	/* entries in the table: dynahash may hold more */
	int			nslots;
	GovAttachSlot slots[FLEXIBLE_ARRAY_MEMBER];
} GovLeaseShared;

static GovLeaseShared *lease_shared = NULL;
static HTAB *lease_table = NULL;

/* This backend's attachments; the shared slot mirrors the ids. */
typedef struct LocalAttachment
{
	pg_uuid_t	id;
	bool		session_scope;
	uint64		generation;		/* validated generation */
	TimestampTz expires_at;		/* as of that generation */
	GovLease   *entry;			/* where it was, NULL until validated */
	bool		new_in_xact;	/* made by the current transaction */
	char		action[GOV_UID_MAX];
	char		resource[GOV_UID_MAX];
} LocalAttachment;

static LocalAttachment attached[GOV_MAX_ATTACHED];
static int	nattached = 0;

/* Changes waiting for the transaction's outcome. */
typedef enum PendingKind
{
	PENDING_INSERTED,			/* remove on abort, make live on commit */
	PENDING_STATE,				/* apply on commit */
	PENDING_RENEW				/* apply on commit */
} PendingKind;

typedef struct PendingChange
{
	PendingKind kind;
	int			nest_level;
	pg_uuid_t	id;
	GovLeaseState state;
	TimestampTz expires_at;
	char		reason[GOV_REASON_MAX];
} PendingChange;

static List *pending = NIL;
static bool callbacks_registered = false;
static emit_log_hook_type prev_emit_log_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * The leases each running query started under.  When it runs again (the
 * next FETCH of a cursor, say) and one of them has ended, it stops: the
 * enforcer's cancel cannot reach a cursor, because PostgreSQL ignores a
 * cancel that arrives between statements.
 */
typedef struct QueryEpoch
{
	QueryDesc  *qd;
	int			n;
	pg_uuid_t	leases[GOV_MAX_ATTACHED];
} QueryEpoch;

static List *query_epochs = NIL;	/* in TopMemoryContext */

static int
total_procs(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

void
gov_lease_define_gucs(void)
{
	DefineCustomIntVariable("governance.max_leases",
							"Most leases shared memory holds at once (live, or ended and not yet cleared).",
							"When it is full, new authorizations are refused; no live lease is evicted.",
							&gov_max_leases,
							10000, 16, 10000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

Size
gov_lease_shmem_size(void)
{
	Size		size;

	size = add_size(offsetof(GovLeaseShared, slots),
					mul_size(sizeof(GovAttachSlot), total_procs()));
	size = add_size(size, hash_estimate_size(gov_max_leases, sizeof(GovLease)));
	return size;
}

void
gov_lease_request_locks(void)
{
	RequestNamedLWLockTranche(GOV_LEASE_TRANCHE, GOV_LEASE_PARTITIONS);
}

void
gov_lease_shmem_startup(void)
{
	bool		found;
	HASHCTL		ctl;
	int			i;

	lease_shared = ShmemInitStruct("governance lease slots",
								   add_size(offsetof(GovLeaseShared, slots),
											mul_size(sizeof(GovAttachSlot), total_procs())),
								   &found);
	if (!found)
	{
		lease_shared->locks = GetNamedLWLockTranche(GOV_LEASE_TRANCHE);
		pg_atomic_init_u32(&lease_shared->nleases, 0);
		lease_shared->nslots = total_procs();
		for (i = 0; i < lease_shared->nslots; i++)
		{
			memset(&lease_shared->slots[i], 0, sizeof(GovAttachSlot));
			SpinLockInit(&lease_shared->slots[i].mutex);
		}
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(GovLease);
	ctl.num_partitions = GOV_LEASE_PARTITIONS;
	lease_table = ShmemInitHash("governance leases",
								gov_max_leases, gov_max_leases,
								&ctl,
								HASH_ELEM | HASH_BLOBS | HASH_PARTITION | HASH_FIXED_SIZE);
}

static inline uint32
lease_hash(const pg_uuid_t *id)
{
	return get_hash_value(lease_table, id);
}

static inline LWLock *
partition_lock(uint32 hashcode)
{
	return &lease_shared->locks[hashcode % GOV_LEASE_PARTITIONS].lock;
}

/* Whole-table walks take every partition lock, shared, in order. */
static void
lock_all_partitions(void)
{
	int			i;

	for (i = 0; i < GOV_LEASE_PARTITIONS; i++)
		LWLockAcquire(&lease_shared->locks[i].lock, LW_SHARED);
}

static void
unlock_all_partitions(void)
{
	int			i;

	for (i = GOV_LEASE_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&lease_shared->locks[i].lock);
}

static GovAttachSlot *
my_slot(void)
{
	int			n = GOV_MY_PROCNO;

	if (n < 0 || n >= lease_shared->nslots)
		elog(ERROR, "governance: process number %d outside the attachment slots", n);
	return &lease_shared->slots[n];
}

/* ---------------------------------------------------------------------
 * The shared table
 * ---------------------------------------------------------------------
 */

bool
gov_lease_is_live(const GovLeaseSnapshot *l, TimestampTz now)
{
	return l->state == GOV_LEASE_LIVE && now < l->expires_at;
}

static void
copy_out(GovLease *e, GovLeaseSnapshot *out)
{
	memcpy(out, e, sizeof(GovLease));
	pg_atomic_init_u64(&out->generation, pg_atomic_read_u64(&e->generation));
}

/* Fill a fresh entry from src, keeping its generation counter moving. */
static void
fill_entry(GovLease *e, const GovLease *src, GovLeaseState state)
{
	uint64		gen = pg_atomic_read_u64(&e->generation);

	memcpy(((char *) e) + sizeof(pg_uuid_t), ((const char *) src) + sizeof(pg_uuid_t),
		   sizeof(GovLease) - sizeof(pg_uuid_t));
	e->state = state;
	pg_atomic_write_u64(&e->generation, gen + 1);
}

static void
insert_entry(const GovLease *l, GovLeaseState state, bool error_if_exists)
{
	uint32		h = lease_hash(&l->id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;
	bool		found;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, &l->id, h, HASH_FIND, NULL);
	if (e != NULL)
	{
		LWLockRelease(lock);
		if (error_if_exists)
			elog(ERROR, "governance: lease already exists in shared memory");
		return;
	}
	/* governance.max_leases is exact, whatever dynahash preallocated */
	if (pg_atomic_fetch_add_u32(&lease_shared->nleases, 1) >= (uint32) gov_max_leases)
		e = NULL;
	else
		e = hash_search_with_hash_value(lease_table, &l->id, h, HASH_ENTER_NULL, &found);
	if (e == NULL)
	{
		pg_atomic_fetch_sub_u32(&lease_shared->nleases, 1);
		LWLockRelease(lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many leases: governance.max_leases (%d) is reached", gov_max_leases),
				 errdetail("No live lease is evicted to make room."),
				 errhint("Revoke leases that are no longer needed, or raise governance.max_leases and restart.")));
	}
	if (found)
	{
		LWLockRelease(lock);
		if (error_if_exists)
			elog(ERROR, "governance: lease already exists in shared memory");
		return;
	}
	fill_entry(e, l, state);
	LWLockRelease(lock);
}

void
gov_lease_install(const GovLease *l)
{
	insert_entry(l, GOV_LEASE_LIVE, false);
}

bool
gov_lease_get(const pg_uuid_t *id, GovLeaseSnapshot *out)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;

	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e)
		copy_out(e, out);
	LWLockRelease(lock);
	return e != NULL;
}

void
gov_lease_remove(const pg_uuid_t *id)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e)
	{
		pg_atomic_fetch_add_u64(&e->generation, 1);
		hash_search_with_hash_value(lease_table, id, h, HASH_REMOVE, NULL);
		pg_atomic_fetch_sub_u32(&lease_shared->nleases, 1);
	}
	LWLockRelease(lock);
}

bool
gov_lease_set_state(const pg_uuid_t *id, GovLeaseState state, const char *reason)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e)
	{
		if (state == GOV_LEASE_LIVE)
		{
			if (e->state == GOV_LEASE_PENDING)
				e->state = GOV_LEASE_LIVE;
		}
		else if (e->state == GOV_LEASE_REVOKED && state == GOV_LEASE_REVOKED)
			e->undurable = false;	/* the durable revocation committed */
		else if (e->state == GOV_LEASE_LIVE || e->state == GOV_LEASE_PENDING)
		{
			/* an ended lease stays ended, with its first reason */
			e->state = state;
			e->ended_at = GetCurrentTimestamp();
			strlcpy(e->end_reason, reason ? reason : "", GOV_REASON_MAX);
		}
		pg_atomic_fetch_add_u64(&e->generation, 1);
	}
	LWLockRelease(lock);
	return e != NULL;
}

bool
gov_lease_renew(const pg_uuid_t *id, TimestampTz expires_at)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;
	bool		ok = false;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e && e->state == GOV_LEASE_LIVE)
	{
		e->expires_at = expires_at;
		pg_atomic_fetch_add_u64(&e->generation, 1);
		ok = true;
	}
	LWLockRelease(lock);
	return ok;
}

int64
gov_lease_count(void)
{
	int64		n;

	lock_all_partitions();
	n = (int64) pg_atomic_read_u32(&lease_shared->nleases);
	unlock_all_partitions();
	return n;
}

/* ---------------------------------------------------------------------
 * Transactional changes
 * ---------------------------------------------------------------------
 */

static void
apply_pending(bool commit)
{
	ListCell   *lc;
	bool		ended = false;

	foreach(lc, pending)
	{
		PendingChange *c = lfirst(lc);

		if (c->kind == PENDING_INSERTED)
		{
			if (commit)
				gov_lease_set_state(&c->id, GOV_LEASE_LIVE, NULL);
			else
				gov_lease_remove(&c->id);
		}
		else if (commit && c->kind == PENDING_RENEW)
			gov_lease_renew(&c->id, c->expires_at);
		else if (commit)
		{
			gov_lease_set_state(&c->id, c->state, c->reason);
			ended = true;
		}
	}
	pending = NIL;				/* its memory goes with the transaction */

	/* the enforcer cancels attached statements now, not at its next round */
	if (ended)
		gov_worker_wake(GOV_WORKER_ENFORCER);
}

static void
drop_transaction_attachments(bool commit);

static void
lease_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			apply_pending(true);
			drop_transaction_attachments(true);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			apply_pending(false);
			drop_transaction_attachments(false);
			list_free_deep(query_epochs);
			query_epochs = NIL;
			break;
		case XACT_EVENT_PREPARE:
			/* the session goes on without this transaction's attachments */
			drop_transaction_attachments(true);
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (pending != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that changed governance leases")));
			break;
		default:
			break;
	}
}

static void
lease_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending)
		{
			PendingChange *c = lfirst(lc);

			if (c->nest_level >= level)
				c->nest_level = level - 1;
		}
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending)
		{
			PendingChange *c = lfirst(lc);

			if (c->nest_level >= level)
			{
				if (c->kind == PENDING_INSERTED)
					gov_lease_remove(&c->id);
				pending = foreach_delete_current(pending, lc);
			}
		}
	}
}

static void add_pending(PendingKind kind, const pg_uuid_t *id, GovLeaseState state,
						const char *reason);

void
gov_lease_insert_pending(const GovLease *l)
{
	insert_entry(l, GOV_LEASE_PENDING, true);
	PG_TRY();
	{
		add_pending(PENDING_INSERTED, &l->id, GOV_LEASE_LIVE, NULL);
	}
	PG_CATCH();
	{
		gov_lease_remove(&l->id);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

static void
add_pending(PendingKind kind, const pg_uuid_t *id, GovLeaseState state, const char *reason)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingChange *c = palloc0(sizeof(PendingChange));

	gov_lease_init_backend();
	c->kind = kind;
	c->nest_level = GetCurrentTransactionNestLevel();
	c->id = *id;
	c->state = state;
	if (reason)
		strlcpy(c->reason, reason, GOV_REASON_MAX);
	pending = lappend(pending, c);
	MemoryContextSwitchTo(old);
}

void
gov_lease_commit_live(const pg_uuid_t *id)
{
	add_pending(PENDING_INSERTED, id, GOV_LEASE_LIVE, NULL);
}

void
gov_lease_commit_renew(const pg_uuid_t *id, TimestampTz expires_at)
{
	add_pending(PENDING_RENEW, id, GOV_LEASE_LIVE, NULL);
	((PendingChange *) llast(pending))->expires_at = expires_at;
}

void
gov_lease_commit_state(const pg_uuid_t *id, GovLeaseState state, const char *reason)
{
	add_pending(PENDING_STATE, id, state, reason);
}

/* ---------------------------------------------------------------------
 * Attachments
 * ---------------------------------------------------------------------
 */

static void
publish_attachments(void)
{
	GovAttachSlot *slot = my_slot();
	int			i;

	SpinLockAcquire(&slot->mutex);
	slot->pid = MyProcPid;
	slot->dboid = MyDatabaseId;
	slot->n = nattached;
	for (i = 0; i < nattached; i++)
	{
		slot->leases[i] = attached[i].id;
		slot->signalled[i] = false;
		slot->signalled_gen[i] = 0;
	}
	SpinLockRelease(&slot->mutex);
}

/*
 * At transaction end: transaction-scoped attachments go; session-scoped
 * ones stay, unless the transaction that made them aborted (the session
 * binding it recorded rolled back with it).
 */
static void
drop_transaction_attachments(bool commit)
{
	int			i;
	int			j = 0;

	if (nattached == 0)
		return;
	for (i = 0; i < nattached; i++)
		if (attached[i].session_scope && (commit || !attached[i].new_in_xact))
		{
			attached[i].new_in_xact = false;
			attached[j++] = attached[i];
		}
	if (j != nattached)
	{
		nattached = j;
		publish_attachments();
	}
}

bool
gov_attach(const GovLeaseSnapshot *l, bool session_scope)
{
	int			i;
	LocalAttachment *a = NULL;

	gov_lease_init_backend();
	for (i = 0; i < nattached; i++)
		if (memcmp(&attached[i].id, &l->id, sizeof(pg_uuid_t)) == 0)
			a = &attached[i];
	if (a == NULL)
	{
		if (nattached >= GOV_MAX_ATTACHED)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("at most %d leases can be attached at once", GOV_MAX_ATTACHED),
					 errhint("Detach a lease first with governance.detach(lease_id).")));
		a = &attached[nattached++];
		memset(a, 0, sizeof(*a));
		a->new_in_xact = true;
	}
	a->id = l->id;
	a->session_scope = session_scope || a->session_scope;
	a->generation = 0;
	a->expires_at = l->expires_at;
	a->entry = NULL;			/* the first check validates under the lock */
	strlcpy(a->action, l->action, GOV_UID_MAX);
	strlcpy(a->resource, l->resource, GOV_UID_MAX);
	publish_attachments();
	return true;
}

bool
gov_detach(const pg_uuid_t *id)
{
	int			i;
	int			j = 0;
	bool		found = false;

	for (i = 0; i < nattached; i++)
	{
		if (id == NULL || memcmp(&attached[i].id, id, sizeof(pg_uuid_t)) == 0)
			found = true;
		else
			attached[j++] = attached[i];
	}
	nattached = j;
	if (found)
		publish_attachments();
	return found;
}

int
gov_attached_count(void)
{
	return nattached;
}

bool
gov_attached_lease(int i, pg_uuid_t *id, bool *session_scope)
{
	if (i < 0 || i >= nattached)
		return false;
	*id = attached[i].id;
	*session_scope = attached[i].session_scope;
	return true;
}

/*
 * Is attachment a still live?  The fast path reads the generation without
 * a lock; anything that changed sends us to the table.
 */
static bool
attachment_live(LocalAttachment *a, TimestampTz now)
{
	GovLeaseSnapshot l;
	uint32		h = lease_hash(&a->id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;
	bool		live = false;

	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(lease_table, &a->id, h, HASH_FIND, NULL);
	if (e)
	{
		copy_out(e, &l);
		live = gov_lease_is_live(&l, now);
		if (live)
		{
			a->entry = e;
			a->generation = pg_atomic_read_u64(&l.generation);
			a->expires_at = l.expires_at;
		}
	}
	LWLockRelease(lock);
	return live;
}

static bool
fast_live(LocalAttachment *a, TimestampTz now)
{
	/*
	 * The entry address was taken under the lock when we last validated;
	 * entries never move, so reading its generation is safe, and we only
	 * trust the cached expiry if the generation has not moved since.
	 */
	if (a->entry != NULL &&
		pg_atomic_read_u64(&a->entry->generation) == a->generation &&
		now < a->expires_at)
		return true;
	return attachment_live(a, now);
}

bool
gov_attached_covers(const char *action, const char *resource, pg_uuid_t *lease_out)
{
	TimestampTz now;
	int			i;

	if (nattached == 0)
		return false;
	now = GetCurrentTimestamp();
	for (i = 0; i < nattached; i++)
	{
		LocalAttachment *a = &attached[i];

		if (strcmp(a->resource, resource) != 0 || !gov_action_matches(a->action, action))
			continue;
		if (fast_live(a, now))
		{
			if (lease_out)
				*lease_out = a->id;
			return true;
		}
	}
	return false;
}

bool
gov_attached_any_live(pg_uuid_t *lease_out)
{
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	for (i = 0; i < nattached; i++)
		if (fast_live(&attached[i], now))
		{
			if (lease_out)
				*lease_out = attached[i].id;
			return true;
		}
	return false;
}

/* ---------------------------------------------------------------------
 * Enforcement
 * ---------------------------------------------------------------------
 */

/*
 * Rewrite the cancel or terminate message of a statement the enforcer
 * stopped, so the agent learns why (emit_log_hook runs before the message
 * goes to the client and the log).
 */
static void
lease_emit_log_hook(ErrorData *edata)
{
	GovAttachSlot *slot;

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);

	/*
	 * Only the cancel and terminate that the enforcer's signal causes: not a
	 * statement timeout, and not a signal it sent to an idle session long
	 * ago (PostgreSQL ignores those).
	 */
	if (lease_shared == NULL || MyProc == NULL || edata->message_id == NULL ||
		!((edata->sqlerrcode == ERRCODE_QUERY_CANCELED &&
		   strcmp(edata->message_id, "canceling statement due to user request") == 0) ||
		  (edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN &&
		   strcmp(edata->message_id, "terminating connection due to administrator command") == 0)))
		return;
	slot = my_slot();
	SpinLockAcquire(&slot->mutex);
	if (slot->reason_pending &&
		!TimestampDifferenceExceeds(slot->signalled_at, GetCurrentTimestamp(), 2000))
	{
		MemoryContext old = MemoryContextSwitchTo(ErrorContext);

		edata->message = pstrdup(slot->reason);
		edata->detail = pstrdup("The governance enforcer stopped this statement because the lease it ran under ended.");
		MemoryContextSwitchTo(old);
		slot->reason_pending = false;
	}
	SpinLockRelease(&slot->mutex);
}

static void
lease_shmem_exit(int code, Datum arg)
{
	GovAttachSlot *slot = my_slot();

	SpinLockAcquire(&slot->mutex);
	slot->pid = 0;
	slot->n = 0;
	slot->reason_pending = false;
	SpinLockRelease(&slot->mutex);
}

void
gov_lease_init_backend(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(lease_xact_callback, NULL);
	RegisterSubXactCallback(lease_subxact_callback, NULL);
	before_shmem_exit(lease_shmem_exit, (Datum) 0);
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = lease_emit_log_hook;
	callbacks_registered = true;
}

#define GOV_GC_DELAY_MS 10000

void
gov_lease_scan(gov_lease_cb orphan_cb, void *arg, bool gc_dead, List **expired)
{
	HASH_SEQ_STATUS st;
	GovLease   *e;
	List	   *orphans = NIL;
	List	   *dead = NIL;
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();

	lock_all_partitions();
	hash_seq_init(&st, lease_table);
	while ((e = hash_seq_search(&st)) != NULL)
	{
		if (e->dboid != MyDatabaseId)
			continue;
		if (expired && e->state == GOV_LEASE_LIVE && e->expires_at <= now)
		{
			pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

			*id = e->id;
			*expired = lappend(*expired, id);
		}
		if (e->state == GOV_LEASE_LIVE && e->session_pid != 0)
		{
			GovAttachSlot *slot = &lease_shared->slots[e->session_procno];
			pid_t		pid;

			SpinLockAcquire(&slot->mutex);
			pid = slot->pid;
			SpinLockRelease(&slot->mutex);
			if (pid != e->session_pid)
			{
				GovLeaseSnapshot *s = palloc(sizeof(GovLeaseSnapshot));

				copy_out(e, s);
				orphans = lappend(orphans, s);
			}
		}
		else if (gc_dead && (e->state == GOV_LEASE_REVOKED || e->state == GOV_LEASE_EXPIRED) &&
				 !e->undurable &&
				 TimestampDifferenceExceeds(e->ended_at, now, GOV_GC_DELAY_MS))
		{
			pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

			*id = e->id;
			dead = lappend(dead, id);
		}
	}
	unlock_all_partitions();

	if (orphan_cb)
		foreach(lc, orphans)
			orphan_cb((GovLeaseSnapshot *) lfirst(lc), arg);
	foreach(lc, dead)
		gov_lease_remove((pg_uuid_t *) lfirst(lc));
}

void
gov_lease_bind_session(const pg_uuid_t *id)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e)
	{
		e->session_procno = GOV_MY_PROCNO;
		e->session_pid = MyProcPid;
		pg_atomic_fetch_add_u64(&e->generation, 1);
	}
	LWLockRelease(lock);
}

bool
gov_action_matches(const char *lease_action, const char *action)
{
	static const char prefix[] = "Action::\"";
	size_t		alen;

	if (strstr(action, "::") != NULL)
		return strcmp(lease_action, action) == 0;
	/* shorthand: x means Action::"x" */
	alen = strlen(action);
	return strncmp(lease_action, prefix, sizeof(prefix) - 1) == 0 &&
		strncmp(lease_action + sizeof(prefix) - 1, action, alen) == 0 &&
		lease_action[sizeof(prefix) - 1 + alen] == '"' &&
		lease_action[sizeof(prefix) + alen] == '\0';
}

List *
gov_attached_resources(const char *action)
{
	TimestampTz now = GetCurrentTimestamp();
	List	   *res = NIL;
	int			i;

	for (i = 0; i < nattached; i++)
		if (gov_action_matches(attached[i].action, action) && fast_live(&attached[i], now))
			res = lappend(res, pstrdup(attached[i].resource));
	return res;
}

static const char *
state_word(GovLeaseState s)
{
	switch (s)
	{
		case GOV_LEASE_REVOKED:
			return "was revoked";
		case GOV_LEASE_EXPIRED:
			return "expired";
		case GOV_LEASE_PENDING:
			return "was never committed";
		default:
			return "ended";
	}
}

/*
 * Is backend pid running a statement that began at or before "ended"?
 *
 * Only such a statement needs cancelling: one that begins later finds the
 * lease dead when it starts (row-level security shows nothing, writes are
 * refused), and a backend idle between statements has nothing to cancel
 * (PostgreSQL ignores a cancel that arrives while it waits for a command).
 * Signalling those anyway is worse than useless: the signal can land in
 * the next statement the client sends and cancel it for no reason.
 * Unknown (activity tracking off, the backend not found): true, so that
 * the statement is cancelled rather than left running.  Reads the backend
 * status snapshot the caller took, which must be younger than the lease
 * state the caller read: a snapshot from before could show idle a backend
 * that has since begun a statement under a lease still live then.
 */
static bool
running_since_before(pid_t pid, TimestampTz ended)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= n; i++)
	{
#if PG_VERSION_NUM >= 160000
		LocalPgBackendStatus *ls = pgstat_get_local_beentry_by_index(i);
#else
		LocalPgBackendStatus *ls = pgstat_fetch_stat_local_beentry(i);
#endif
		PgBackendStatus *be;

		if (ls == NULL || ls->backendStatus.st_procpid != pid)
			continue;
		be = &ls->backendStatus;
		if (be->st_state == STATE_IDLE || be->st_state == STATE_IDLEINTRANSACTION ||
			be->st_state == STATE_IDLEINTRANSACTION_ABORTED)
			return false;
		if (be->st_state == STATE_RUNNING || be->st_state == STATE_FASTPATH)
			return be->st_activity_start_timestamp <= ended;
		return true;
	}
	return true;
}

/* A backend attached to a dead lease, found by gov_enforce_attached(). */
typedef struct EnforceCandidate
{
	int			slotno;
	int			k;				/* index of the attachment in the slot */
	pid_t		pid;
	pg_uuid_t	id;
	uint64		generation;		/* of the lease when found dead */
	TimestampTz ended;			/* when it ended */
	char		reason[GOV_REASON_MAX + 128];
} EnforceCandidate;

/*
 * Signal every backend attached to a lease that is no longer live, once
 * per attachment and lease generation (a lease renewed after it was found
 * dead is watched again): with cancel, only a backend running a statement
 * that began before the lease ended; with terminate, any.  At most one
 * signal per backend per round.  Two passes: find the dead attachments,
 * then (cancel) take one snapshot of the backends' status, younger than
 * every lease state read, and decide.  Returns the number of backends
 * signalled.
 */
int
gov_enforce_attached(int mode)
{
	int			i;
	int			c;
	int			ncand = 0;
	int			signalled = 0;
	TimestampTz now = GetCurrentTimestamp();
	EnforceCandidate *cand = NULL;

	if (mode == GOV_ENFORCE_OFF)
		return 0;

	for (i = 0; i < lease_shared->nslots; i++)
	{
		GovAttachSlot *slot = &lease_shared->slots[i];
		pg_uuid_t	ids[GOV_MAX_ATTACHED];
		bool		done[GOV_MAX_ATTACHED];
		uint64		done_gen[GOV_MAX_ATTACHED];
		int			n;
		int			k;
		pid_t		pid;

		SpinLockAcquire(&slot->mutex);
		pid = slot->pid;
		n = slot->n;
		memcpy(ids, slot->leases, sizeof(pg_uuid_t) * n);
		memcpy(done, slot->signalled, sizeof(bool) * n);
		memcpy(done_gen, slot->signalled_gen, sizeof(uint64) * n);
		SpinLockRelease(&slot->mutex);
		if (pid == 0 || n == 0)
			continue;

		for (k = 0; k < n; k++)
		{
			GovLeaseSnapshot l;
			bool		known;
			uint64		gen;
			EnforceCandidate *e;
			char	   *idtxt;

			known = gov_lease_get(&ids[k], &l);
			gen = known ? pg_atomic_read_u64(&l.generation) : 0;
			if (done[k] && (!known || gen == done_gen[k]))
				continue;
			if (known && gov_lease_is_live(&l, now))
				continue;

			if (cand == NULL)
				cand = palloc(sizeof(EnforceCandidate) * lease_shared->nslots);
			e = &cand[ncand++];
			e->slotno = i;
			e->k = k;
			e->pid = pid;
			e->id = ids[k];
			e->generation = gen;
			e->ended = !known ? now : l.state == GOV_LEASE_LIVE ? l.expires_at : l.ended_at;
			idtxt = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&ids[k])));
			if (!known)
				snprintf(e->reason, sizeof(e->reason), "governance lease %s is no longer live", idtxt);
			else if (l.state == GOV_LEASE_LIVE)
				snprintf(e->reason, sizeof(e->reason), "governance lease %s expired", idtxt);
			else
				snprintf(e->reason, sizeof(e->reason), "governance lease %s %s%s%s", idtxt,
						 state_word(l.state), l.end_reason[0] ? ": " : "", l.end_reason);
			pfree(idtxt);
			break;				/* one signal per backend per round */
		}
	}
	if (ncand == 0)
		return 0;

	if (mode == GOV_ENFORCE_CANCEL)
		pgstat_clear_backend_activity_snapshot();	/* the next read takes a fresh one */
	for (c = 0; c < ncand; c++)
	{
		EnforceCandidate *e = &cand[c];
		GovAttachSlot *slot = &lease_shared->slots[e->slotno];
		bool		send;

		/* nothing to cancel: mark it done, without a signal */
		send = mode != GOV_ENFORCE_CANCEL || running_since_before(e->pid, e->ended);

		SpinLockAcquire(&slot->mutex);
		if (slot->pid == e->pid && e->k < slot->n &&
			memcmp(&slot->leases[e->k], &e->id, sizeof(pg_uuid_t)) == 0)
		{
			slot->signalled[e->k] = true;
			slot->signalled_gen[e->k] = e->generation;
			if (send)
			{
				slot->reason_pending = true;
				slot->signalled_at = GetCurrentTimestamp();
				snprintf(slot->reason, sizeof(slot->reason), "%s %s",
						 mode == GOV_ENFORCE_TERMINATE ? "terminating connection:" : "canceling statement:",
						 e->reason);
			}
			SpinLockRelease(&slot->mutex);
			if (send && kill(e->pid, mode == GOV_ENFORCE_TERMINATE ? SIGTERM : SIGINT) == 0)
				signalled++;
		}
		else
			SpinLockRelease(&slot->mutex);
	}
	if (mode == GOV_ENFORCE_CANCEL)
		pgstat_clear_backend_activity_snapshot();
	pfree(cand);
	return signalled;
}

/*
 * End a lease in shared memory at once, before (and whatever becomes of)
 * the transaction that is revoking it durably.  The enforcer makes such a
 * revocation durable if that transaction fails.
 */
void
gov_lease_kill_now(const pg_uuid_t *id, const char *reason)
{
	bool		killed = false;

	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e && (e->state == GOV_LEASE_LIVE || e->state == GOV_LEASE_PENDING))
	{
		e->state = GOV_LEASE_REVOKED;
		e->undurable = true;
		e->ended_at = GetCurrentTimestamp();
		strlcpy(e->end_reason, reason ? reason : "", GOV_REASON_MAX);
		pg_atomic_fetch_add_u64(&e->generation, 1);
		killed = true;
	}
	LWLockRelease(lock);
	if (killed)
		gov_worker_wake(GOV_WORKER_ENFORCER);
}

/* Revocations made by gov_lease_kill_now() not yet confirmed durable. */
List *
gov_lease_undurable_revocations(void)
{
	HASH_SEQ_STATUS st;
	GovLease   *e;
	List	   *res = NIL;

	lock_all_partitions();
	hash_seq_init(&st, lease_table);
	while ((e = hash_seq_search(&st)) != NULL)
	{
		if (e->dboid == MyDatabaseId && e->state == GOV_LEASE_REVOKED && e->undurable)
		{
			GovLeaseSnapshot *s = palloc(sizeof(GovLeaseSnapshot));

			copy_out(e, s);
			res = lappend(res, s);
		}
	}
	unlock_all_partitions();
	return res;
}

/* ---------------------------------------------------------------------
 * Executor hooks: no statement outlives the leases it started under
 * ---------------------------------------------------------------------
 */

/* Is the lease with this id attached and live? */
static bool
attached_live(const pg_uuid_t *id, TimestampTz now)
{
	int			i;

	for (i = 0; i < nattached; i++)
		if (memcmp(&attached[i].id, id, sizeof(pg_uuid_t)) == 0)
			return fast_live(&attached[i], now);
	return false;
}

static void forget_query(QueryDesc *queryDesc);

static void
gov_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (nattached > 0 && !(eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		QueryEpoch *q = palloc0(sizeof(QueryEpoch));
		TimestampTz now = GetCurrentTimestamp();
		int			i;

		forget_query(queryDesc);	/* a stale entry at a reused address */
		q->qd = queryDesc;
		for (i = 0; i < nattached; i++)
			if (fast_live(&attached[i], now))
				q->leases[q->n++] = attached[i].id;
		if (q->n > 0)
			query_epochs = lappend(query_epochs, q);
		else
			pfree(q);
		MemoryContextSwitchTo(old);
	}
}

static void
gov_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
				bool execute_once)
{
	if (query_epochs != NIL)
	{
		ListCell   *lc;
		TimestampTz now = GetCurrentTimestamp();
		int			i;

		foreach(lc, query_epochs)
		{
			QueryEpoch *q = lfirst(lc);

			if (q->qd != queryDesc)
				continue;
			for (i = 0; i < q->n; i++)
				if (!attached_live(&q->leases[i], now))
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("governance lease %s, which this statement started under, has ended",
									DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&q->leases[i])))),
							 errhint("Attach a live artifact and start the statement again.")));
			break;
		}
	}
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count, execute_once);
	else
		standard_ExecutorRun(queryDesc, direction, count, execute_once);
}

static void
forget_query(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, query_epochs)
	{
		QueryEpoch *q = lfirst(lc);

		if (q->qd == queryDesc)
		{
			query_epochs = foreach_delete_current(query_epochs, lc);
			pfree(q);
			return;
		}
	}
}

static void
gov_ExecutorEnd(QueryDesc *queryDesc)
{
	if (query_epochs != NIL)
		forget_query(queryDesc);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* DISCARD ALL resets a session for the next client: attachments too. */
static void
gov_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *tree = pstmt->utilityStmt;

	if (tree && IsA(tree, DiscardStmt) &&
		(((DiscardStmt *) tree)->target == DISCARD_ALL) && nattached > 0)
		gov_detach(NULL);
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

void
gov_lease_install_hooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = gov_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = gov_ExecutorRun;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = gov_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = gov_ProcessUtility;
}
