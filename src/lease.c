/*-------------------------------------------------------------------------
 *
 * lease.c
 *	  Live leases in a shared-memory hash table (docs/DESIGN.md, D6): the
 *	  entries, their transactional changes, and the walks the enforcer
 *	  makes over them.  Which backend is attached to which lease lives in
 *	  attach.c.
 *
 *	  Locking protocol
 *	  ----------------
 *	  - The lease table is a shared dynahash partitioned into
 *	    GOV_LEASE_PARTITIONS; the partition of a lease is its hash modulo
 *	    that number, and its LWLock (tranche "governance_leases") guards
 *	    the entry: shared to read it, exclusive to insert, remove or change
 *	    it.  No code holds two partition locks except the whole-table
 *	    walks, which take all of them in shared mode in ascending order.
 *	  - Every change to an entry (state, expiry, removal) bumps its
 *	    generation while holding the exclusive lock.  An attached backend
 *	    remembers the generation it validated; its per-row check reads the
 *	    generation without the lock (an atomic read) and compares the
 *	    expiry with the clock: if nothing changed and the lease has not
 *	    expired, the lease is live.  Anything else sends it to the locked
 *	    path, which looks the lease up again.  A revocation is therefore
 *	    seen by the very next check in every backend (attach.c).
 *	  - The count of entries per principal has its own lock, taken only
 *	    while holding the partition lock of the entry being inserted or
 *	    removed ("Leases per principal" below).
 *	  - Entries are never read or written outside their lock except for
 *	    the generation.  Removed entries keep their memory (dynahash free
 *	    list), so a stale pointer held by a backend still points at a
 *	    generation counter that has moved on.
 *	  - Changes made by a transaction (a new lease going live, a renewal,
 *	    a revocation) are applied to shared memory after it commits and
 *	    dropped if it, or the savepoint that made them, rolls back
 *	    (xact_defer.c); a lease inserted as pending is then removed.
 *	    gov_lease_kill_now() ends a lease at once, whatever becomes of the
 *	    transaction.
 *	  - A lease never stays live under an ancestor shared memory has
 *	    ended.  A revocation (revoke.c) ends the lease it revokes, then
 *	    reads its descendants with a new snapshot and ends them; a
 *	    delegation's commit makes its pending child live, then walks up
 *	    the child's ancestors in shared memory and ends the child if one
 *	    of them has ended.  A child whose commit made that walk before the
 *	    revoked lease ended had committed before the read, which finds it;
 *	    one whose walk came after finds the revoked lease ended.  Either
 *	    way it ends, without a wait on any transaction, and a pending lease
 *	    is never usable meanwhile.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "events.h"
#include "lease.h"
#include "stats.h"
#include "worker.h"
#include "xact_defer.h"

#define GOV_LEASE_PARTITIONS	16
#define GOV_LEASE_TRANCHE		"governance_leases"
/* the tranche's last lock, after the partitions', guards the counts */
#define GOV_PRINCIPAL_LOCK		GOV_LEASE_PARTITIONS
#define GOV_GC_DELAY_MS			10000	/* how long an ended entry lingers */

int			gov_max_leases = 10000;

typedef struct GovLeaseShared
{
	LWLockPadded *locks;
	pg_atomic_uint32 nleases;	/* entries in use: dynahash may hold more */
} GovLeaseShared;

static GovLeaseShared *lease_shared = NULL;
static HTAB *lease_table = NULL;
static HTAB *principal_table = NULL;	/* see "Leases per principal" */

static Size principal_table_size(void);
static void principal_table_startup(void);
static bool principal_count_add(const GovLease *l, int limit, int *held);
static void principal_count_sub(Oid dboid, const char *principal);
static void refuse_principal(const GovLease *l, int limit, int held) pg_attribute_noreturn();

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
	return add_size(add_size(MAXALIGN(sizeof(GovLeaseShared)),
							 hash_estimate_size(gov_max_leases, sizeof(GovLease))),
					principal_table_size());
}

void
gov_lease_request_locks(void)
{
	RequestNamedLWLockTranche(GOV_LEASE_TRANCHE, GOV_LEASE_PARTITIONS + 1);
}

void
gov_lease_shmem_startup(void)
{
	bool		found;
	HASHCTL		ctl;

	lease_shared = ShmemInitStruct("governance leases state", sizeof(GovLeaseShared), &found);
	if (!found)
	{
		lease_shared->locks = GetNamedLWLockTranche(GOV_LEASE_TRANCHE);
		pg_atomic_init_u32(&lease_shared->nleases, 0);
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(GovLease);
	ctl.num_partitions = GOV_LEASE_PARTITIONS;
	lease_table = ShmemInitHash("governance leases",
								gov_max_leases, gov_max_leases,
								&ctl,
								HASH_ELEM | HASH_BLOBS | HASH_PARTITION | HASH_FIXED_SIZE);
	principal_table_startup();
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

/*
 * The enforcer's walks (gov_lease_scan, gov_lease_undurable_revocations)
 * hold every partition lock only for a slice of about WALK_SLICE entries:
 * between slices they let go of them and call pause() (the enforcer signals
 * there what became due meanwhile: an attached lease's expiry, a
 * revocation), so that neither a revocation ending a lease (an exclusive
 * partition lock) nor the signalling waits for a walk of 100k leases.
 *
 * A walk resumes where it stopped because the table is partitioned and so
 * never expands (dynahash does not split the buckets of a partitioned
 * table): a bucket is a fixed set of hash values, and a slice ends only at
 * the end of a bucket's chain (status->curEntry is NULL, status->curBucket
 * is the next bucket), never in the middle of one whose entries another
 * backend could remove or insert while the locks are released.  An entry
 * inserted or removed in a bucket the walk has passed is missed or seen as
 * it was, as by a walk that began a little later or earlier.
 */
#define WALK_SLICE	256

static GovLease *
walk_next(HASH_SEQ_STATUS *st, int *seen, gov_walk_pause_fn pause)
{
	if (pause != NULL && *seen >= WALK_SLICE && st->curEntry == NULL)
	{
		unlock_all_partitions();
		pause();
		lock_all_partitions();
		*seen = 0;
	}
	(*seen)++;
	return (GovLease *) hash_seq_search(st);
}

/* ---------------------------------------------------------------------
 * The shared table
 * ---------------------------------------------------------------------
 */

bool
gov_lease_is_live(const GovLeaseSnapshot *l, TimestampTz now)
{
	/* only in the database that issued it: not in one re-created by name */
	return l->state == GOV_LEASE_LIVE && now < l->expires_at && l->dboid == MyDatabaseId;
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
	/* a head is trusted only once an appender's commit wrote it here */
	e->head_seq = 0;
	e->head_ledger = InvalidOid;
	pg_atomic_write_u64(&e->generation, gen + 1);
}

/* principal_limit: most entries l's principal may have; negative, no limit */
static void
insert_entry(const GovLease *l, GovLeaseState state, bool error_if_exists,
			 int principal_limit)
{
	uint32		h = lease_hash(&l->id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;
	bool		found = false;
	bool		counted = false;
	int			held = 0;

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
	else if (!principal_count_add(l, principal_limit, &held))
	{
		pg_atomic_fetch_sub_u32(&lease_shared->nleases, 1);
		LWLockRelease(lock);
		refuse_principal(l, principal_limit, held);
	}
	else
	{
		counted = true;
		e = hash_search_with_hash_value(lease_table, &l->id, h, HASH_ENTER_NULL, &found);
	}
	if (e == NULL || found)
	{
		pg_atomic_fetch_sub_u32(&lease_shared->nleases, 1);
		if (counted)
			principal_count_sub(l->dboid, l->principal);
	}
	if (e == NULL)
	{
		LWLockRelease(lock);
		gov_security_event("governance.lease.refused", NULL, l->principal,
						   psprintf("too many leases: governance.max_leases (%d) is reached",
									gov_max_leases));
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
	/* already issued: counted, never held to a per-principal limit */
	insert_entry(l, GOV_LEASE_LIVE, false, -1);
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

/* gov_lease_get(), and where the entry is (for lock-free generation reads) */
bool
gov_lease_get_entry(const pg_uuid_t *id, GovLeaseSnapshot *out, GovLease **entry)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;

	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e)
		copy_out(e, out);
	LWLockRelease(lock);
	*entry = e;
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
		principal_count_sub(e->dboid, e->principal);
		hash_search_with_hash_value(lease_table, id, h, HASH_REMOVE, NULL);
		pg_atomic_fetch_sub_u32(&lease_shared->nleases, 1);
	}
	LWLockRelease(lock);
}

/*
 * The chain head cache.  Neither bumps the generation: the head says
 * nothing about whether the lease may be used.
 */
bool
gov_lease_chain_head(const pg_uuid_t *id, Oid ledger, int64 *seq, uint8 *link)
{
	uint32		h;
	LWLock	   *lock;
	GovLease   *e;
	bool		found = false;

	if (lease_table == NULL)
		return false;
	h = lease_hash(id);
	lock = partition_lock(h);
	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e && e->dboid == MyDatabaseId && e->head_seq > 0 && e->head_ledger == ledger)
	{
		*seq = e->head_seq;
		memcpy(link, e->head_link, GOV_HASH_LEN);
		found = true;
	}
	LWLockRelease(lock);
	return found;
}

void
gov_lease_set_chain_head(const pg_uuid_t *id, Oid ledger, int64 seq, const uint8 *link)
{
	uint32		h;
	LWLock	   *lock;
	GovLease   *e;

	if (lease_table == NULL)
		return;
	h = lease_hash(id);
	lock = partition_lock(h);
	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e && e->dboid == MyDatabaseId)
	{
		e->head_seq = seq;
		e->head_ledger = ledger;
		memcpy(e->head_link, link, GOV_HASH_LEN);
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
 * Leases per principal
 * ---------------------------------------------------------------------
 *
 * How many entries of the shared table each principal has (per database),
 * so that one agent cannot fill governance.max_leases and leave none for
 * the others.  The count follows the entries exactly: it rises when an
 * entry is inserted (a new lease, or one installed by a reload or an
 * attach) and falls when the entry is removed.  An ended lease therefore
 * still counts until the enforcer's walk clears it, GOV_GC_DELAY_MS after
 * it ended.  Only new leases are held to a limit; a reload installs what
 * was issued before.
 *
 * The counts live in their own fixed-size shared hash table, looked up by
 * principal, guarded by the lease tranche's last lock.  That lock is only
 * ever taken while holding the partition lock of the entry being inserted
 * or removed (so a count changes together with its entry), never the other
 * way round, and nothing is done while holding it but one lookup.  There
 * are never more counted principals than entries: an insert reserves its
 * place in governance.max_leases before it is counted.
 */

typedef struct PrincipalKey
{
	Oid			dboid;
	char		principal[GOV_UID_MAX]; /* zero-padded: hashed as bytes */
} PrincipalKey;

typedef struct PrincipalCount
{
	PrincipalKey key;
	int32		count;
} PrincipalCount;

static Size
principal_table_size(void)
{
	return hash_estimate_size(gov_max_leases, sizeof(PrincipalCount));
}

static void
principal_table_startup(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PrincipalKey);
	ctl.entrysize = sizeof(PrincipalCount);
	principal_table = ShmemInitHash("governance leases per principal",
									gov_max_leases, gov_max_leases,
									&ctl,
									HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
}

static LWLock *
principal_lock(void)
{
	return &lease_shared->locks[GOV_PRINCIPAL_LOCK].lock;
}

static void
principal_key(PrincipalKey *key, Oid dboid, const char *principal)
{
	memset(key, 0, sizeof(*key));
	key->dboid = dboid;
	strlcpy(key->principal, principal, GOV_UID_MAX);
}

/*
 * Count one more entry of l's principal, unless limit (when not negative)
 * is already reached: then false, with the current count in *held.  The
 * caller holds the partition lock of the entry it is inserting.
 */
static bool
principal_count_add(const GovLease *l, int limit, int *held)
{
	PrincipalKey key;
	PrincipalCount *pc;
	bool		found;
	bool		ok = true;

	principal_key(&key, l->dboid, l->principal);
	LWLockAcquire(principal_lock(), LW_EXCLUSIVE);
	pc = hash_search(principal_table, &key, HASH_ENTER_NULL, &found);
	if (pc == NULL)
	{
		/* cannot happen (see above); refuse rather than count wrong */
		*held = 0;
		ok = false;
	}
	else
	{
		if (!found)
			pc->count = 0;
		*held = pc->count;
		if (limit >= 0 && pc->count >= limit)
		{
			ok = false;
			if (pc->count == 0)
				hash_search(principal_table, &key, HASH_REMOVE, NULL);
		}
		else
			pc->count++;
	}
	LWLockRelease(principal_lock());
	return ok;
}

/* One entry fewer; the caller holds the partition lock of the entry. */
static void
principal_count_sub(Oid dboid, const char *principal)
{
	PrincipalKey key;
	PrincipalCount *pc;

	principal_key(&key, dboid, principal);
	LWLockAcquire(principal_lock(), LW_EXCLUSIVE);
	pc = hash_search(principal_table, &key, HASH_FIND, NULL);
	if (pc && --pc->count <= 0)
		hash_search(principal_table, &key, HASH_REMOVE, NULL);
	LWLockRelease(principal_lock());
}

/*
 * The refusal, as a refusal of governance.max_leases is: an error, and a
 * security event the enforcer ledgers (this transaction will not commit).
 */
static void
refuse_principal(const GovLease *l, int limit, int held)
{
	char	   *why = psprintf("too many leases for principal %s: it holds %d, its limit is %d",
							   l->principal, held, limit);

	gov_security_event("governance.lease.refused", NULL, l->principal, why);
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("%s", why),
			 errdetail("A lease counts against its principal until it is cleared from shared memory, about %d seconds after it ends.",
					   GOV_GC_DELAY_MS / 1000),
			 errhint("Revoke leases it no longer needs, or raise governance.max_leases_per_principal or the agent's own max_leases (register_agent).")));
}

/* ---------------------------------------------------------------------
 * Transactional changes
 * ---------------------------------------------------------------------
 */

typedef enum ChangeKind
{
	CHANGE_INSERTED,			/* remove on abort, make live on commit */
	CHANGE_STATE,				/* apply on commit */
	CHANGE_RENEW				/* apply on commit */
} ChangeKind;

typedef struct LeaseChange
{
	ChangeKind	kind;
	pg_uuid_t	id;
	bool		has_parent;		/* CHANGE_INSERTED: the lease's parent */
	pg_uuid_t	parent;
	GovLeaseState state;
	TimestampTz expires_at;
	char		reason[GOV_REASON_MAX];
} LeaseChange;

static bool kill_entry(const pg_uuid_t *id, const char *reason, bool tombstone, bool claim,
					   bool *claimed);

/* more than governance.max_delegation_depth can reach (64) */
#define GOV_MAX_DEPTH_WALK	65

static void
lease_change_commit(void *arg)
{
	LeaseChange *c = arg;

	switch (c->kind)
	{
		case CHANGE_INSERTED:
			gov_lease_set_state(&c->id, GOV_LEASE_LIVE, NULL);
			/* never live below an ended ancestor (see the header) */
			if (c->has_parent)
			{
				GovLeaseSnapshot a;
				pg_uuid_t	up = c->parent;
				int			depth;

				for (depth = 0; depth <= GOV_MAX_DEPTH_WALK && gov_lease_get(&up, &a); depth++)
				{
					if (a.state == GOV_LEASE_REVOKED)
					{
						(void) kill_entry(&c->id, a.end_reason, false, false, NULL);
						gov_worker_wake(GOV_WORKER_ENFORCER);
						break;
					}
					if (!a.has_parent)
						break;
					up = a.parent;
				}
			}
			break;
		case CHANGE_RENEW:
			gov_lease_renew(&c->id, c->expires_at);
			break;
		case CHANGE_STATE:
			gov_lease_set_state(&c->id, c->state, c->reason);
			/* the enforcer cancels attached statements now, not next round */
			gov_worker_wake(GOV_WORKER_ENFORCER);
			break;
	}
}

static void
lease_change_abort(void *arg)
{
	LeaseChange *c = arg;

	if (c->kind == CHANGE_INSERTED)
		gov_lease_remove(&c->id);
}

static const GovXactOps lease_change_ops = {
	.what = "changed governance leases",
	.commit = lease_change_commit,
	.abort = lease_change_abort,
};

static LeaseChange *
new_change(ChangeKind kind, const pg_uuid_t *id)
{
	LeaseChange *c = MemoryContextAllocZero(TopTransactionContext, sizeof(LeaseChange));

	c->kind = kind;
	c->id = *id;
	return c;
}

void
gov_lease_insert_pending(const GovLease *l, int principal_limit)
{
	LeaseChange *c = new_change(CHANGE_INSERTED, &l->id);

	c->has_parent = l->has_parent;
	c->parent = l->parent;
	/* registered first: an insert it cannot undo never happens */
	gov_xact_defer(&lease_change_ops, c);
	insert_entry(l, GOV_LEASE_PENDING, true, principal_limit);
}

void
gov_lease_commit_renew(const pg_uuid_t *id, TimestampTz expires_at)
{
	LeaseChange *c = new_change(CHANGE_RENEW, id);

	c->expires_at = expires_at;
	gov_xact_defer(&lease_change_ops, c);
}

void
gov_lease_commit_state(const pg_uuid_t *id, GovLeaseState state, const char *reason)
{
	LeaseChange *c = new_change(CHANGE_STATE, id);

	c->state = state;
	if (reason)
		strlcpy(c->reason, reason, GOV_REASON_MAX);
	gov_xact_defer(&lease_change_ops, c);
}

/*
 * Is the transaction that claimed an ended lease (to make its revocation
 * durable) still running?  A claim is released when that transaction
 * ends; a backend that died without releasing it no longer has its pid.
 */
static bool
claim_held(const GovLease *e)
{
	return e->revoker_pid != 0 && e->revoker_procno >= 0 &&
		e->revoker_procno < (int) ProcGlobal->allProcCount &&
		ProcGlobal->allProcs[e->revoker_procno].pid == e->revoker_pid;
}

/*
 * End one lease in shared memory (see gov_lease_kill_tree); true if this
 * call ended it.  Sets *claimed when it claimed it.  Raises no error (the
 * commit of a delegation calls it).
 */
static bool
kill_entry(const pg_uuid_t *id, const char *reason, bool tombstone, bool claim,
		   bool *claimed)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;
	bool		killed = false;
	bool		found;

	if (claimed)
		*claimed = false;
	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e == NULL && tombstone)
	{
		/*
		 * A lease the durable rows say is live but shared memory does not
		 * hold (the enforcer has not reloaded it yet): an ended entry in its
		 * place, which neither a reload nor attach() replaces.  When the
		 * table is full there is none (nor can the lease be loaded).
		 */
		if (pg_atomic_fetch_add_u32(&lease_shared->nleases, 1) < (uint32) gov_max_leases)
			e = hash_search_with_hash_value(lease_table, id, h, HASH_ENTER_NULL, &found);
		if (e == NULL)
			pg_atomic_fetch_sub_u32(&lease_shared->nleases, 1);
		else
		{
			GovLease	t;

			memset(&t, 0, sizeof(t));
			t.dboid = MyDatabaseId;
			fill_entry(e, &t, GOV_LEASE_PENDING);	/* ended just below */
		}
	}
	if (e && (e->state == GOV_LEASE_LIVE || e->state == GOV_LEASE_PENDING))
	{
		e->state = GOV_LEASE_REVOKED;
		e->undurable = true;
		e->ended_at = GetCurrentTimestamp();
		strlcpy(e->end_reason, reason ? reason : "", GOV_REASON_MAX);
		pg_atomic_fetch_add_u64(&e->generation, 1);
		killed = true;
		gov_stat_add(GOV_STAT_REVOCATIONS, 1);
	}
	if (e && claim && e->state == GOV_LEASE_REVOKED && e->undurable && !claim_held(e))
	{
		e->revoker_procno = MyProc->pgprocno;
		e->revoker_pid = MyProcPid;
		if (claimed)
			*claimed = true;
	}
	LWLockRelease(lock);
	return killed;
}

/*
 * End a lease in shared memory at once, before (and whatever becomes of)
 * the transaction that is revoking it durably.  The enforcer makes such a
 * revocation durable if that transaction fails.
 */
void
gov_lease_kill_now(const pg_uuid_t *id, const char *reason)
{
	if (kill_entry(id, reason, false, false, NULL))
		gov_worker_wake(GOV_WORKER_ENFORCER);
}

static void
add_claim(List **claimed, const pg_uuid_t *id)
{
	pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

	*u = *id;
	*claimed = lappend(*claimed, u);
}

int
gov_lease_kill_tree(List *ids, const char *reason, List **claimed)
{
	ListCell   *lc;
	int			ended = 0;
	bool		was_claimed;

	foreach(lc, ids)
	{
		pg_uuid_t  *id = lfirst(lc);

		if (kill_entry(id, reason, true, claimed != NULL, &was_claimed))
			ended++;
		if (was_claimed)
			add_claim(claimed, id);
	}
	/* the enforcer stops their statements now */
	if (ended > 0)
		gov_worker_wake(GOV_WORKER_ENFORCER);
	return ended;
}

void
gov_lease_release_claims(List *claimed)
{
	ListCell   *lc;

	foreach(lc, claimed)
	{
		pg_uuid_t  *id = lfirst(lc);
		uint32		h = lease_hash(id);
		LWLock	   *lock = partition_lock(h);
		GovLease   *e;

		LWLockAcquire(lock, LW_EXCLUSIVE);
		e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
		if (e && e->revoker_pid == MyProcPid && e->revoker_procno == MyProc->pgprocno)
		{
			e->revoker_pid = 0;
			e->revoker_procno = 0;
		}
		LWLockRelease(lock);
	}
}

static int
by_depth(const ListCell *a, const ListCell *b)
{
	int			da = ((const GovLeaseSnapshot *) lfirst(a))->depth;
	int			db = ((const GovLeaseSnapshot *) lfirst(b))->depth;

	return (da > db) - (da < db);
}

/*
 * Every entry of this database's leases, copied out (governance.stats):
 * one walk under the shared partition locks, no allocation inside it
 * beyond the array sized from the count taken under the same locks.
 */
GovLeaseSnapshot *
gov_lease_collect(int *n)
{
	HASH_SEQ_STATUS st;
	GovLease   *e;
	GovLeaseSnapshot *res;
	int			cap;
	int			k = 0;

	lock_all_partitions();
	cap = (int) pg_atomic_read_u32(&lease_shared->nleases);
	res = palloc(sizeof(GovLeaseSnapshot) * Max(cap, 1));
	hash_seq_init(&st, lease_table);
	while ((e = hash_seq_search(&st)) != NULL)
	{
		if (e->dboid != MyDatabaseId)
			continue;
		if (k >= cap)
		{
			/* the count follows the entries; never trust it past the array */
			hash_seq_term(&st);
			break;
		}
		copy_out(e, &res[k++]);
	}
	unlock_all_partitions();
	*n = k;
	return res;
}

/*
 * Revocations made by gov_lease_kill_now() or gov_lease_kill_tree() not
 * yet confirmed durable, except those a running transaction has claimed;
 * ancestors first, so that a tree is made durable as one revocation.
 */
List *
gov_lease_undurable_revocations(gov_walk_pause_fn pause)
{
	HASH_SEQ_STATUS st;
	GovLease   *e;
	List	   *res = NIL;
	int			seen = 0;

	lock_all_partitions();
	hash_seq_init(&st, lease_table);
	while ((e = walk_next(&st, &seen, pause)) != NULL)
	{
		if (e->dboid == MyDatabaseId && e->state == GOV_LEASE_REVOKED && e->undurable &&
			!claim_held(e))
		{
			GovLeaseSnapshot *s = palloc(sizeof(GovLeaseSnapshot));

			copy_out(e, s);
			res = lappend(res, s);
		}
	}
	unlock_all_partitions();
	list_sort(res, by_depth);
	return res;
}

/* ---------------------------------------------------------------------
 * Sessions and the enforcer's walk
 * ---------------------------------------------------------------------
 */

void
gov_lease_bind_session(const pg_uuid_t *id, int procno, pid_t pid)
{
	uint32		h = lease_hash(id);
	LWLock	   *lock = partition_lock(h);
	GovLease   *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(lease_table, id, h, HASH_FIND, NULL);
	if (e)
	{
		e->session_procno = procno;
		e->session_pid = pid;
		pg_atomic_fetch_add_u64(&e->generation, 1);
	}
	LWLockRelease(lock);
}

void
gov_lease_scan(gov_session_alive_fn alive, gov_lease_cb orphan_cb, void *arg,
			   bool gc_dead, List **expired, gov_walk_pause_fn pause)
{
	HASH_SEQ_STATUS st;
	GovLease   *e;
	List	   *orphans = NIL;
	List	   *dead = NIL;
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();
	int			seen = 0;

	lock_all_partitions();
	hash_seq_init(&st, lease_table);
	while ((e = walk_next(&st, &seen, pause)) != NULL)
	{
		if (e->dboid != MyDatabaseId)
		{
			/*
			 * Leases are issued and reloaded only in governance.database,
			 * where the enforcer runs: one of another database belongs to one
			 * dropped (or renamed) since, and ends with it.
			 */
			if (gc_dead)
			{
				pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

				*id = e->id;
				dead = lappend(dead, id);
			}
			continue;
		}
		if (expired && e->state == GOV_LEASE_LIVE && e->expires_at <= now)
		{
			pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

			*id = e->id;
			*expired = lappend(*expired, id);
		}
		if (e->state == GOV_LEASE_LIVE && e->session_pid != 0)
		{
			if (!alive(e->session_procno, e->session_pid))
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
