/*-------------------------------------------------------------------------
 *
 * enforcer.h
 *	  The enforcer worker's duty, and the queue of security events that it
 *	  writes to the ledger on behalf of transactions that fail.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_ENFORCER_H
#define GOV_ENFORCER_H

#include "utils/uuid.h"

/*
 * Record a security event (a refused attach, a refused write) so that it
 * reaches the ledger even though the transaction that saw it is about to
 * fail: it is queued in shared memory and ledgered by the enforcer in its
 * own transaction.  When the queue is full the event is counted as lost,
 * and the loss itself is ledgered.
 */
extern void gov_security_event(const char *kind, const pg_uuid_t *lease_id,
							   const char *principal, const char *detail);
extern void gov_security_event_as(const char *kind, const pg_uuid_t *lease_id,
								  const char *principal, const char *caller,
								  const char *detail);

extern Size gov_enforcer_shmem_size(void);
extern void gov_enforcer_shmem_startup(void);

extern void gov_enforcer_define_gucs(void);
extern void gov_enforcer_duty(void);

#endif							/* GOV_ENFORCER_H */
