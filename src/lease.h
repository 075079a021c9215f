/*-------------------------------------------------------------------------
 *
 * lease.h
 *	  Live leases in shared memory (docs/DESIGN.md, D6 and D7).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_LEASE_H
#define GOV_LEASE_H

#include "nodes/pg_list.h"
#include "crypto.h"
#include "uid.h"
#include "port/atomics.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/*
 * governance.max_attached_leases: leases one backend may hold at once
 * (attach.c; sizes the attachment slots in shared memory).
 */
extern int	gov_max_attached;
#define GOV_MAX_ATTACHED_DEFAULT	64
#define GOV_MAX_ATTACHED_LIMIT		4096
#define GOV_REASON_MAX			128

typedef enum GovLeaseState
{
	GOV_LEASE_PENDING = 0,		/* authorized, transaction not yet committed */
	GOV_LEASE_LIVE,
	GOV_LEASE_REVOKED,
	GOV_LEASE_EXPIRED
} GovLeaseState;

/*
 * A lease as shared memory holds it.  The key must come first (dynahash).
 * Fields other than generation are read and written under the entry's
 * partition lock; generation is bumped (under the lock) by every change
 * and may be read without it, which is what makes the per-row check cheap.
 */
typedef struct GovLease
{
	pg_uuid_t	id;
	pg_uuid_t	parent;
	bool		has_parent;
	Oid			dboid;
	Oid			role;			/* the login role allowed to attach it */
	int			depth;
	GovLeaseState state;
	pg_atomic_uint64 generation;
	TimestampTz expires_at;
	TimestampTz max_expiry;
	int64		ttl_us;
	bool		has_measurement;
	uint8		measurement[32];	/* BLAKE2b-256 of the bound measurement */
	char		principal[GOV_UID_MAX];
	char		action[GOV_UID_MAX];
	char		resource[GOV_UID_MAX];
	bool		undurable;		/* ended at once; durable row may say live */
	int			revoker_procno; /* whose open transaction is making that */
	pid_t		revoker_pid;	/* revocation durable (0: nobody's) */
	int			session_procno; /* attached for the session by this backend */
	pid_t		session_pid;	/* 0: not bound to a session */
	TimestampTz ended_at;
	char		end_reason[GOV_REASON_MAX];

	/*
	 * The head of the lease's chain in the ledger (ledger.c, "The chain head
	 * cache"): seq and link of its newest committed event, written at commit
	 * by the transaction that appended it, which still holds the chain lock.
	 * head_seq 0: not known (a new or reinstalled entry).  head_ledger is the
	 * ledger's relation id then: a re-created extension has another.
	 */
	int64		head_seq;
	Oid			head_ledger;
	uint8		head_link[GOV_HASH_LEN];
} GovLease;

/* A copy taken under the lock, for decisions that need several fields. */
typedef GovLease GovLeaseSnapshot;

extern int	gov_max_leases;

extern void gov_lease_define_gucs(void);
extern Size gov_lease_shmem_size(void);
extern void gov_lease_request_locks(void);
extern void gov_lease_shmem_startup(void);

/* Shared-table operations (each takes the partition lock itself). */
/*
 * ERROR when governance.max_leases is reached, or when l's principal has
 * principal_limit entries already (negative: no limit).
 */
extern void gov_lease_insert_pending(const GovLease *l, int principal_limit);

/* A reload from the durable row: live, not pending. */
extern void gov_lease_install(const GovLease *l);
extern bool gov_lease_get(const pg_uuid_t *id, GovLeaseSnapshot *out);
extern bool gov_lease_get_entry(const pg_uuid_t *id, GovLeaseSnapshot *out, GovLease **entry);
extern void gov_lease_remove(const pg_uuid_t *id);
extern bool gov_lease_set_state(const pg_uuid_t *id, GovLeaseState state, const char *reason);
extern bool gov_lease_renew(const pg_uuid_t *id, TimestampTz expires_at);
extern int64 gov_lease_count(void);
extern bool gov_lease_is_live(const GovLeaseSnapshot *l, TimestampTz now);

/*
 * Transactional changes: applied to shared memory when the transaction
 * commits (pending leases go live, revocations take effect), undone when
 * it aborts.
 */
extern void gov_lease_commit_renew(const pg_uuid_t *id, TimestampTz expires_at);
extern void gov_lease_commit_state(const pg_uuid_t *id, GovLeaseState state, const char *reason);

/* End a lease now, ahead of its durable revocation (fail closed). */
extern void gov_lease_kill_now(const pg_uuid_t *id, const char *reason);

/*
 * End now the leases of ids (pg_uuid_t *: a lease and the descendants a
 * snapshot read after it ended found; a pending descendant ends when its
 * delegation commits, see lease.c); an id shared memory does not hold
 * gets an ended entry, so that nothing installs it live later.  With
 * claimed, the ended leases are marked as being made durable by this
 * backend's transaction (the enforcer leaves them alone meanwhile) and
 * their ids appended to *claimed, for gov_lease_release_claims() at its
 * end.  Returns how many leases this call ended.
 */
extern int	gov_lease_kill_tree(List *ids, const char *reason, List **claimed);
extern void gov_lease_release_claims(List *claimed);

/*
 * The enforcer's walks of the whole table hold every partition lock for a
 * slice of entries at a time; between slices, with no lock held, they call
 * pause (when not NULL).
 */
typedef void (*gov_walk_pause_fn) (void);

/*
 * Revocations made at once and not yet confirmed durable, except those
 * a running transaction has claimed.
 */
extern List *gov_lease_undurable_revocations(gov_walk_pause_fn pause);

/* Copies of this database's entries, for monitoring; *n of them. */
extern GovLeaseSnapshot *gov_lease_collect(int *n);

/*
 * The chain head cache (ledger.c calls these through its hooks): get is
 * true when the entry of this database holds a head written for ledger;
 * put writes one (no-op when shared memory has no entry for the lease).
 */
extern bool gov_lease_chain_head(const pg_uuid_t *id, Oid ledger, int64 *seq, uint8 *link);
extern void gov_lease_set_chain_head(const pg_uuid_t *id, Oid ledger, int64 seq, const uint8 *link);

/* Bind a lease to a backend's session: it ends when the session does. */
extern void gov_lease_bind_session(const pg_uuid_t *id, int procno, pid_t pid);

/*
 * Enforcer: walk the table.  Live leases of this database bound to a
 * session that alive() says has ended are passed to orphan_cb; with
 * gc_dead, leases that ended more than a few seconds ago are removed
 * (their durable rows say how they ended); with expired, the ids of live
 * leases past their expiry are appended to *expired (to be made durable:
 * shared memory already treats them as ended).
 */
typedef void (*gov_lease_cb) (const GovLeaseSnapshot *l, void *arg);
typedef bool (*gov_session_alive_fn) (int procno, pid_t pid);
extern void gov_lease_scan(gov_session_alive_fn alive, gov_lease_cb orphan_cb, void *arg,
						   bool gc_dead, List **expired, gov_walk_pause_fn pause);

#endif							/* GOV_LEASE_H */
