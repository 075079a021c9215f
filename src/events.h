/*-------------------------------------------------------------------------
 *
 * events.h
 *	  Security events that reach the ledger although the transaction that
 *	  saw them fails: queued by backends (shared-memory ring, then a
 *	  durable spool file), ledgered by the enforcer, each exactly once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_EVENTS_H
#define GOV_EVENTS_H

#include "ledger.h"
#include "utils/uuid.h"

/*
 * Record a security event (a refused attach, a refused write) that the
 * current transaction is about to fail with: the enforcer ledgers it in
 * its own transaction, payload {"caller", "observed_at", "detail"}, on
 * lease_id's chain when given.
 */
extern void gov_security_event(const char *kind, const pg_uuid_t *lease_id,
							   const char *principal, const char *detail);

/*
 * ev is being ledgered in the current transaction; if the (sub)transaction
 * rolls back, have the enforcer ledger it instead, its payload extended
 * with "rolled_back": true and "observed_at".  Exactly one of the two
 * rows survives.  Only for events outside any lease (a denied decision).
 */
extern void gov_security_event_on_abort(const GovEvent *ev);

/*
 * An event with a payload of its own, encoded now and queued later by
 * gov_security_event_push(), which neither allocates nor raises (for
 * abort paths).
 */
typedef struct GovPreparedEvent GovPreparedEvent;
extern GovPreparedEvent *gov_security_event_prepare(const char *kind, const pg_uuid_t *lease_id,
													const char *principal, Jsonb *payload,
													MemoryContext cxt);
extern void gov_security_event_push(const GovPreparedEvent *ev);

/* The enforcer's part, in its transaction (SPI connected). */
extern void gov_events_drain(void);

extern void gov_events_queue_state(uint64 *in_ring, bool *spilling);

extern Size gov_events_shmem_size(void);
extern void gov_events_request_locks(void);
extern void gov_events_shmem_startup(void);

#endif							/* GOV_EVENTS_H */
