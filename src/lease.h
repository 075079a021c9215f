/*-------------------------------------------------------------------------
 *
 * lease.h
 *	  Live leases in shared memory, and which backends are attached to
 *	  them (design decisions D6, D7, D8).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_LEASE_H
#define GOV_LEASE_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "port/atomics.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#define GOV_UID_MAX				256 /* bytes, terminator included */
#define GOV_MAX_ATTACHED		8	/* leases one backend may hold at once */
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
	bool		undurable;		/* ended at once; the durable row may still say live */
	int			session_procno; /* attached for the session by this backend */
	pid_t		session_pid;	/* 0: not bound to a session */
	TimestampTz ended_at;
	char		end_reason[GOV_REASON_MAX];
} GovLease;

/* A copy taken under the lock, for decisions that need several fields. */
typedef GovLease GovLeaseSnapshot;

extern int	gov_max_leases;

extern void gov_lease_define_gucs(void);
extern Size gov_lease_shmem_size(void);
extern void gov_lease_request_locks(void);
extern void gov_lease_shmem_startup(void);
extern void gov_lease_init_backend(void);
extern void gov_lease_install_hooks(void);

/* Shared-table operations (each takes the partition lock itself). */
extern void gov_lease_insert_pending(const GovLease *l);	/* ERROR when full */
extern void gov_lease_install(const GovLease *l);	/* reload: live, no pending */
extern bool gov_lease_get(const pg_uuid_t *id, GovLeaseSnapshot *out);
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
extern void gov_lease_commit_live(const pg_uuid_t *id);
extern void gov_lease_commit_renew(const pg_uuid_t *id, TimestampTz expires_at);
extern void gov_lease_commit_state(const pg_uuid_t *id, GovLeaseState state, const char *reason);

/* End a lease now, ahead of its durable revocation (fail closed). */
extern void gov_lease_kill_now(const pg_uuid_t *id, const char *reason);
extern List *gov_lease_undurable_revocations(void);

/* Attachments of this backend. */
extern bool gov_attach(const GovLeaseSnapshot *l, bool session_scope);
extern bool gov_detach(const pg_uuid_t *id);	/* NULL: all */
extern int	gov_attached_count(void);
extern bool gov_attached_lease(int i, pg_uuid_t *id, bool *session_scope);

/*
 * The live attached lease covering action on resource, if any: the check
 * behind is_authorized(), governed writes and record().
 */
extern bool gov_attached_covers(const char *action, const char *resource, pg_uuid_t *lease_out);
extern bool gov_attached_any_live(pg_uuid_t *lease_out);

/* Does a lease's action match an action argument (shorthand allowed)? */
extern bool gov_action_matches(const char *lease_action, const char *action);

/* Resources of live attached leases for action (for RLS). */
extern List *gov_attached_resources(const char *action);

/* Bind a lease to this backend's session: it ends when the session does. */
extern void gov_lease_bind_session(const pg_uuid_t *id);

/*
 * Enforcer: walk the table.  Leases of this database whose session ended
 * are passed to orphan_cb; with gc_dead, leases that ended more than a
 * few seconds ago are removed (their durable rows say how they ended);
 * with expired, the ids of live leases past their expiry are appended to
 * *expired (to be made durable: shared memory already treats them as
 * ended).
 */
typedef void (*gov_lease_cb) (const GovLeaseSnapshot *l, void *arg);
extern void gov_lease_scan(gov_lease_cb orphan_cb, void *arg, bool gc_dead, List **expired);
extern int	gov_enforce_attached(int mode);

#define GOV_ENFORCE_OFF			0
#define GOV_ENFORCE_CANCEL		1
#define GOV_ENFORCE_TERMINATE	2

#endif							/* GOV_LEASE_H */
