/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Activity counters in shared memory, for governance.stats.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_STATS_H
#define GOV_STATS_H

#include "utils/timestamp.h"

typedef enum GovStatCounter
{
	GOV_STAT_AUTHORIZE_ALLOWED = 0, /* authorize() and delegate() */
	GOV_STAT_AUTHORIZE_DENIED,
	GOV_STAT_REVOCATIONS,		/* leases ended by a revocation */
	GOV_STAT_ENFORCER_ROUNDS,
	GOV_STAT_CANCELS_SENT,		/* statements cancelled, sessions ended */
	GOV_STAT_VERIFIER_ROUNDS,
	GOV_STAT_VERIFIER_FAILURES,
	GOV_STAT_EVENTS_QUEUED,		/* security events queued */
	GOV_STAT_EVENTS_SPOOLED,	/* of those, written to the spool file */
	GOV_STAT_EVENTS_LOST,		/* could not be spooled (trust degraded) */
	GOV_NUM_STATS
} GovStatCounter;

/* What the verifier found last. */
typedef struct GovVerifierStats
{
	int64		verified_through;	/* last block verified, 0: none */
	TimestampTz last_at;		/* 0: no round finished yet */
	bool		last_ok;
} GovVerifierStats;

extern Size gov_stats_shmem_size(void);
extern void gov_stats_shmem_startup(void);

extern void gov_stat_add(GovStatCounter c, uint64 n);
extern uint64 gov_stat_read(GovStatCounter c);
extern TimestampTz gov_stats_reset_at(void);

extern void gov_stats_verifier_result(bool ok, int64 verified_through);
extern void gov_stats_verifier_read(GovVerifierStats *out);

#endif							/* GOV_STATS_H */
