/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  Background workers (design decision D8): one loop, several duties.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_WORKER_H
#define GOV_WORKER_H

#include "utils/timestamp.h"

typedef enum GovWorkerKind
{
	GOV_WORKER_ENFORCER = 0,
	GOV_WORKER_SEALER,
	GOV_WORKER_VERIFIER,
	GOV_NUM_WORKERS
} GovWorkerKind;

/* governance.database: where the workers connect and leases are enforced */
extern char *gov_database;

/* What a worker does each round, in a transaction of its own making. */
typedef void (*GovWorkerDuty) (void);

/*
 * Asked before each round's duty: NULL to go on, or why the duty waits
 * this round (shown as the worker's state).  It may run transactions.
 */
typedef const char *(*GovWorkerGate) (GovWorkerKind kind);

extern void gov_worker_define_gucs(void);
extern void gov_workers_register(const GovWorkerDuty duties[GOV_NUM_WORKERS],
								 GovWorkerGate gate);
extern Size gov_worker_shmem_size(void);
extern void gov_worker_shmem_startup(void);

/* Wake a worker now (for example seal() asking the sealer). */
extern void gov_worker_wake(GovWorkerKind kind);

/*
 * How many times gov_worker_wake() was called for kind so far: a worker in
 * the middle of a long duty compares it with what it saw last to learn
 * that it was woken meanwhile.
 */
extern uint64 gov_worker_wakes(GovWorkerKind kind);

/*
 * Have the worker go round at time at, or sooner if it was to anyway: for
 * the enforcer, a lease's expiry; for the sealer, a commit that appended to
 * the ledger (not sooner than governance.seal_delay after its last round
 * began).  Sets its latch only when that moved its next round earlier.
 */
extern void gov_worker_wake_at(GovWorkerKind kind, TimestampTz at);

/* The worker itself, in its duty: go round again at the latest at. */
extern void gov_worker_plan(GovWorkerKind kind, TimestampTz at);

/* Wake every worker (governance.database was just created). */
extern void gov_workers_wake_all(void);

/*
 * DROP DATABASE of database dboid is starting: the workers connected to it
 * leave, and stay away while the backend dropping it lives; InvalidOid
 * when the drop failed.
 */
extern void gov_workers_leave_database(Oid dboid);

/* When did the worker last complete a loop?  0 if it never ran. */
extern TimestampTz gov_worker_last_beat(GovWorkerKind kind);

extern PGDLLEXPORT void gov_worker_main(Datum arg);

#endif							/* GOV_WORKER_H */
