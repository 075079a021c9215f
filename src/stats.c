/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Activity counters for governance.stats (README, "Monitoring"): how
 *	  many decisions allowed and denied, leases revoked, enforcer rounds and
 *	  the signals they sent, verifier rounds and what the verifier found
 *	  last.
 *
 *	  The counters live in shared memory and start from zero at every
 *	  server start (stats_reset says when), as pg_stat_* counters do after a
 *	  crash: they are for rates and alerts, not evidence.  The ledger is
 *	  the record.
 *
 *	  Locking: each counter is a pg_atomic_uint64, added to without a lock
 *	  and read without one; a reader may see one counter a step ahead of
 *	  another, which a monitoring scrape does not care about.  The
 *	  verifier's result is three values written by the verifier alone and
 *	  read together, under a spinlock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "stats.h"

typedef struct GovStatsShared
{
	pg_atomic_uint64 counters[GOV_NUM_STATS];
	TimestampTz reset_at;		/* set once, at startup */
	slock_t		mutex;			/* guards verifier */
	GovVerifierStats verifier;
} GovStatsShared;

static GovStatsShared *stats_shared = NULL;

Size
gov_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(GovStatsShared));
}

void
gov_stats_shmem_startup(void)
{
	bool		found;
	int			i;

	stats_shared = ShmemInitStruct("governance stats", sizeof(GovStatsShared), &found);
	if (!found)
	{
		for (i = 0; i < GOV_NUM_STATS; i++)
			pg_atomic_init_u64(&stats_shared->counters[i], 0);
		stats_shared->reset_at = GetCurrentTimestamp();
		SpinLockInit(&stats_shared->mutex);
		memset(&stats_shared->verifier, 0, sizeof(GovVerifierStats));
	}
}

void
gov_stat_add(GovStatCounter c, uint64 n)
{
	/* callable before shared memory exists (a process that is no backend) */
	if (stats_shared == NULL || n == 0)
		return;
	pg_atomic_fetch_add_u64(&stats_shared->counters[c], n);
}

uint64
gov_stat_read(GovStatCounter c)
{
	if (stats_shared == NULL)
		return 0;
	return pg_atomic_read_u64(&stats_shared->counters[c]);
}

TimestampTz
gov_stats_reset_at(void)
{
	return stats_shared ? stats_shared->reset_at : 0;
}

void
gov_stats_verifier_result(bool ok, int64 verified_through)
{
	TimestampTz now = GetCurrentTimestamp();

	if (stats_shared == NULL)
		return;
	gov_stat_add(GOV_STAT_VERIFIER_ROUNDS, 1);
	if (!ok)
		gov_stat_add(GOV_STAT_VERIFIER_FAILURES, 1);
	SpinLockAcquire(&stats_shared->mutex);
	stats_shared->verifier.last_ok = ok;
	stats_shared->verifier.last_at = now;
	stats_shared->verifier.verified_through = verified_through;
	SpinLockRelease(&stats_shared->mutex);
}

void
gov_stats_verifier_read(GovVerifierStats *out)
{
	if (stats_shared == NULL)
	{
		memset(out, 0, sizeof(GovVerifierStats));
		return;
	}
	SpinLockAcquire(&stats_shared->mutex);
	*out = stats_shared->verifier;
	SpinLockRelease(&stats_shared->mutex);
}
