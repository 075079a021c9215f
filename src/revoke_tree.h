/*-------------------------------------------------------------------------
 *
 * revoke_tree.h
 *	  The durable part of a revocation, in the caller's transaction.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_REVOKE_TREE_H
#define GOV_REVOKE_TREE_H

#include "utils/timestamp.h"
#include "utils/uuid.h"

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

/* Milliseconds from now until t (0 once it has passed). */
extern int	gov_revoke_ms_until(TimestampTz t);

/* The next lock waits of an attempt: fail rather than wait (1 ms). */
extern void gov_revoke_dont_wait(void);

/*
 * Revoke a lease and every live descendant durably, in this transaction;
 * returns how many ended.  gov_revoke_tree waits for every lock it needs;
 * with a GovRevokeWait (revoke.c), only as long as that allows.
 */
extern int64 gov_revoke_tree(const pg_uuid_t *id, const char *reason, bool by_enforcer);
extern int64 gov_revoke_tree_wait(const pg_uuid_t *id, const char *reason, bool by_enforcer,
								  const GovRevokeWait *wait);

/*
 * One attempt at gov_revoke_tree_wait in a subtransaction, with
 * lock_timeout set to lock_timeout (a GUC value, or NULL to leave it) for
 * the attempt only: true when the tree is revoked (*count ended), false
 * when a lock was not to be had in time or a deadlock was found (the
 * subtransaction is rolled back); any other error is raised.
 */
extern bool gov_revoke_tree_try(const pg_uuid_t *id, const char *reason, bool by_enforcer,
								const GovRevokeWait *wait, const char *lock_timeout,
								int64 *count);

#endif							/* GOV_REVOKE_TREE_H */
