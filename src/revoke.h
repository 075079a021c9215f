/*-------------------------------------------------------------------------
 *
 * revoke.h
 *	  Revocations that no lock holder can hold off: shared memory first,
 *	  then durable within a bounded time (docs/DESIGN.md, D6 and D7).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_REVOKE_H
#define GOV_REVOKE_H


#include "utils/timestamp.h"
#include "utils/uuid.h"

extern int	gov_revoke_lock_timeout_ms;

extern void gov_revoke_define_gucs(void);
extern Size gov_revoke_shmem_size(void);
extern void gov_revoke_shmem_startup(void);

/*
 * How long one attempt to make a revocation durable may wait for a lock:
 * until polite_until it waits like any transaction, after it takes a lock
 * only if it is free.  No wait reaches past deadline.
 */
typedef struct GovRevokeWait
{
	TimestampTz polite_until;
	TimestampTz deadline;
	bool		rows_first;		/* lock the tree's rows one by one first */
} GovRevokeWait;

/*
 * Set lock_timeout for the next lock wait of an attempt (at the caller's
 * GUC nest level) and say whether it may wait at all; false: take the lock
 * only if it is free (NOWAIT), raising ERRCODE_LOCK_NOT_AVAILABLE if not.
 */
extern bool gov_revoke_may_wait(const GovRevokeWait *w);

/* The next lock waits of an attempt: fail rather than wait (1 ms). */
extern void gov_revoke_dont_wait(void);

/*
 * Revoke a lease and its descendants (revoke(), a heartbeat's integrity
 * or policy failure): end them in shared memory at once, then make that
 * durable in this transaction, ending the sessions whose transactions
 * hold the locks it needs if they do not let go in time.  Returns how
 * many leases it ended.  If the revocation still cannot be made durable,
 * returns with a WARNING and leaves it to the enforcer.
 */
extern int64 gov_revoke_at_once(const pg_uuid_t *id, const char *reason);

/*
 * Is the statement of the backend with this PGPROC number and pid that
 * began at stmt_start one that revoked leases?  The enforcer does not stop
 * it for them: it ended them itself, before it commits.
 */
extern bool gov_revoke_statement(int procno, pid_t pid, TimestampTz stmt_start);

/*
 * Revoke a lease and every live descendant durably, in this transaction;
 * returns how many ended.  gov_revoke_tree waits for every lock it needs;
 * with a GovRevokeWait (revoke.c), only as long as that allows.
 */
extern int64 gov_revoke_tree(const pg_uuid_t *id, const char *reason, bool by_enforcer);
extern int64 gov_revoke_tree_wait(const pg_uuid_t *id, const char *reason, bool by_enforcer,
								  const GovRevokeWait *wait);

#endif							/* GOV_REVOKE_H */
