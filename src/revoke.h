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

#include "revoke_tree.h"


#include "utils/timestamp.h"
#include "utils/uuid.h"

extern int	gov_revoke_lock_timeout_ms;

extern void gov_revoke_define_gucs(void);
extern Size gov_revoke_shmem_size(void);
extern void gov_revoke_shmem_startup(void);


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
 * Before revoke() signals a backend whose transaction holds a lock it
 * needs, it leaves the reason where that backend's error report finds it,
 * so the client gets governance's SQLSTATE (57L01, 57L02) rather than
 * PostgreSQL's 57014 or 57P01.  The slots belong to src/attach.c, a
 * caller of this file; the entry point sets this pointer to
 * gov_attach_note_signal().
 */
typedef void (*GovSignalNoteFn) (int procno, pid_t pid, const pg_uuid_t *lease,
								 bool terminate, const char *message);
extern GovSignalNoteFn gov_revoke_signal_note;


#endif							/* GOV_REVOKE_H */
