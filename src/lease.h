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
extern void gov_lease_commit_state(const pg_uuid_t *id, GovLeaseState state, const char *reason);

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

/* Enforcer: one round of expiry detection and statement cancellation. */
typedef void (*gov_dead_lease_cb) (const GovLeaseSnapshot *l, void *arg);
extern void gov_lease_scan(gov_dead_lease_cb expired_cb, void *arg, bool gc_dead);
extern int	gov_enforce_attached(int mode);

#define GOV_ENFORCE_OFF			0
#define GOV_ENFORCE_CANCEL		1
#define GOV_ENFORCE_TERMINATE	2

#endif							/* GOV_LEASE_H */
