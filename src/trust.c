/*-------------------------------------------------------------------------
 *
 * trust.c
 *	  trust_state() and restore_trust(): is every precondition for issuing
 *	  and honouring authorizations met?
 *
 *	  Fail closed (D7): when any cause of distrust is present the answer is
 *	  "degraded: <why>" and everything that authorizes refuses.  Causes that
 *	  are conditions (the signing key is unavailable, this is a hot standby,
 *	  this database is not the one the enforcer watches, the enforcer has
 *	  gone silent) are checked each time and clear themselves when the
 *	  condition does.  Causes that are events
 *	  (the verifier found the ledger tampered with) latch in shared memory
 *	  and are ledgered; only restore_trust(), an administrator's ledgered
 *	  act, clears them, and it makes the verifier start again from the
 *	  first block so that tampering still present degrades trust again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "common.h"
#include "keys.h"
#include "encode.h"
#include "ledger.h"
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"

#define TRUST_REASON_LEN 512
#define GOV_MAX_RESTORERS 8

typedef struct GovTrustShared
{
	slock_t		mutex;
	bool		degraded;
	bool		reverify;
	bool		unledgered;		/* degraded during recovery, not yet ledgered */
	char		condition[TRUST_REASON_LEN];	/* last ledgered; "" if none */
	TimestampTz since;
	char		reason[TRUST_REASON_LEN];

	/*
	 * sessions restoring a dump (src/restore.c) and whether one awaits its
	 * finish
	 */
	int			restorer_pid[GOV_MAX_RESTORERS];
	Oid			restorer_db[GOV_MAX_RESTORERS];
	uint64		restore_epoch;	/* bumped when a session starts or ends */
	bool		restore_unfinished;
} GovTrustShared;

static GovTrustShared *trust_shared = NULL;

static int	gov_enforcer_max_silence_ms = 2000;

void
gov_trust_define_gucs(void)
{
	DefineCustomIntVariable("governance.enforcer_max_silence",
							"How long the enforcer may go without a heartbeat before trust degrades.",
							NULL,
							&gov_enforcer_max_silence_ms,
							2000, 200, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

Size
gov_trust_shmem_size(void)
{
	return MAXALIGN(sizeof(GovTrustShared));
}

void
gov_trust_shmem_startup(void)
{
	bool		found;

	trust_shared = ShmemInitStruct("governance trust", sizeof(GovTrustShared), &found);
	if (!found)
	{
		memset(trust_shared, 0, sizeof(GovTrustShared));
		SpinLockInit(&trust_shared->mutex);
	}
}

bool
gov_trust_degrade(const char *why)
{
	bool		changed = false;
	TimestampTz now = GetCurrentTimestamp();	/* taken before the spinlock */

	SpinLockAcquire(&trust_shared->mutex);
	if (!trust_shared->degraded)
	{
		trust_shared->degraded = true;
		trust_shared->since = now;
		strlcpy(trust_shared->reason, why, TRUST_REASON_LEN);
		changed = true;
	}
	SpinLockRelease(&trust_shared->mutex);
	if (changed)
		ereport(WARNING,
				(errmsg("governance: trust degraded: %s", why)));
	return changed;
}

void
gov_trust_mark_unledgered(void)
{
	SpinLockAcquire(&trust_shared->mutex);
	trust_shared->unledgered = true;
	SpinLockRelease(&trust_shared->mutex);
}

char *
gov_trust_take_unledgered(void)
{
	char	   *why = NULL;
	char		buf[TRUST_REASON_LEN];

	SpinLockAcquire(&trust_shared->mutex);
	if (trust_shared->unledgered && trust_shared->degraded)
	{
		memcpy(buf, trust_shared->reason, TRUST_REASON_LEN);
		why = buf;
	}
	trust_shared->unledgered = false;
	SpinLockRelease(&trust_shared->mutex);
	return why ? pstrdup(why) : NULL;
}

bool
gov_trust_take_reverify_request(void)
{
	bool		r;

	SpinLockAcquire(&trust_shared->mutex);
	r = trust_shared->reverify;
	trust_shared->reverify = false;
	SpinLockRelease(&trust_shared->mutex);
	return r;
}

static bool
in_enforced_database(void)
{
	static Oid	checked_db = InvalidOid;
	static bool answer = false;

	if (checked_db != MyDatabaseId)
	{
		char	   *name = get_database_name(MyDatabaseId);

		answer = name != NULL && gov_database != NULL && strcmp(name, gov_database) == 0;
		checked_db = MyDatabaseId;
	}
	return answer;
}

/* ---------------------------------------------------------------------
 * Restores in progress (src/restore.c): a condition of distrust while a
 * session loads a dump, and until the sealer has finished the restore.
 * ---------------------------------------------------------------------
 */

static bool restorer_registered = false;

static void
restorer_exit(int code, Datum arg)
{
	int			i;

	SpinLockAcquire(&trust_shared->mutex);
	for (i = 0; i < GOV_MAX_RESTORERS; i++)
		if (trust_shared->restorer_pid[i] == MyProcPid)
		{
			trust_shared->restorer_pid[i] = 0;
			trust_shared->restorer_db[i] = InvalidOid;
			trust_shared->restore_epoch++;
		}
	SpinLockRelease(&trust_shared->mutex);
	restorer_registered = false;
}

/*
 * This session restores a dump into its database until it ends.  Refused
 * (false) when every slot is taken; *other is set to the pid of another
 * session restoring into the same database, if any.
 */
bool
gov_trust_restore_register(int *other)
{
	int			i;
	int			free_slot = -1;

	*other = 0;
	if (restorer_registered)
		return true;
	SpinLockAcquire(&trust_shared->mutex);
	for (i = 0; i < GOV_MAX_RESTORERS; i++)
	{
		if (trust_shared->restorer_pid[i] == 0 && free_slot < 0)
			free_slot = i;
		else if (trust_shared->restorer_pid[i] != 0 &&
				 trust_shared->restorer_db[i] == MyDatabaseId)
			*other = trust_shared->restorer_pid[i];
	}
	if (free_slot >= 0 && *other == 0)
	{
		trust_shared->restorer_pid[free_slot] = MyProcPid;
		trust_shared->restorer_db[free_slot] = MyDatabaseId;
		trust_shared->restore_epoch++;
		trust_shared->restore_unfinished = true;
	}
	SpinLockRelease(&trust_shared->mutex);
	if (free_slot < 0 || *other != 0)
		return false;
	restorer_registered = true;
	before_shmem_exit(restorer_exit, (Datum) 0);
	return true;
}

/* pid of a session restoring into database db, or 0 */
int
gov_trust_restore_session(Oid db)
{
	int			i;
	int			pid = 0;

	SpinLockAcquire(&trust_shared->mutex);
	for (i = 0; i < GOV_MAX_RESTORERS && pid == 0; i++)
		if (trust_shared->restorer_pid[i] != 0 && trust_shared->restorer_db[i] == db)
			pid = trust_shared->restorer_pid[i];
	SpinLockRelease(&trust_shared->mutex);
	return pid;
}

uint64
gov_trust_restore_epoch(void)
{
	uint64		e;

	SpinLockAcquire(&trust_shared->mutex);
	e = trust_shared->restore_epoch;
	SpinLockRelease(&trust_shared->mutex);
	return e;
}

/*
 * A worker found an unfinished restore (true), or found none while the
 * epoch was still the one it read before looking (false).
 */
void
gov_trust_restore_unfinished(bool unfinished, uint64 epoch)
{
	SpinLockAcquire(&trust_shared->mutex);
	if (unfinished)
		trust_shared->restore_unfinished = true;
	else if (trust_shared->restore_epoch == epoch)
		trust_shared->restore_unfinished = false;
	SpinLockRelease(&trust_shared->mutex);
}

bool
gov_trusted(char **why)
{
	char	   *reason;
	TimestampTz last;
	TimestampTz now;
	bool		degraded;
	char		latched[TRUST_REASON_LEN];

	SpinLockAcquire(&trust_shared->mutex);
	degraded = trust_shared->degraded;
	if (degraded)
		memcpy(latched, trust_shared->reason, TRUST_REASON_LEN);
	SpinLockRelease(&trust_shared->mutex);
	if (degraded)
	{
		*why = pstrdup(latched);
		return false;
	}

	if (!gov_key_available(&reason))
	{
		*why = psprintf("signing key unavailable: %s", reason);
		return false;
	}
	if (RecoveryInProgress())
	{
		*why = pstrdup("this server is a hot standby: leases are issued and enforced on the primary");
		return false;
	}
	if (!in_enforced_database())
	{
		*why = psprintf("leases are enforced in database \"%s\" (governance.database), not in this one",
						gov_database);
		return false;
	}
	{
		int			pid = gov_trust_restore_session(MyDatabaseId);
		bool		unfinished;

		if (pid != 0)
		{
			*why = psprintf("a dump is being restored into this database (backend %d); "
							"the workers finish the restore when that session ends", pid);
			return false;
		}
		SpinLockAcquire(&trust_shared->mutex);
		unfinished = trust_shared->restore_unfinished;
		SpinLockRelease(&trust_shared->mutex);
		if (unfinished)
		{
			*why = pstrdup("a restored dump waits for the sealer to finish the restore");
			return false;
		}
	}
	last = gov_worker_last_beat(GOV_WORKER_ENFORCER);
	now = GetCurrentTimestamp();
	if (last == 0 || TimestampDifferenceExceeds(last, now, gov_enforcer_max_silence_ms))
	{
		*why = last == 0 ? pstrdup("the enforcer is not running") :
			psprintf("the enforcer is not running (no heartbeat for %ld ms)",
					 (long) ((now - last) / 1000));
		return false;
	}
	return true;
}

/*
 * gov_trusted() for per-row checks: the same answer, recomputed at most
 * every GOV_TRUST_CACHE_MS.
 */
#define GOV_TRUST_CACHE_MS 10

bool
gov_trusted_cached(void)
{
	static TimestampTz checked_at = 0;
	static bool trusted = false;
	TimestampTz now = GetCurrentTimestamp();
	char	   *why;

	if (checked_at == 0 || TimestampDifferenceExceeds(checked_at, now, GOV_TRUST_CACHE_MS) ||
		now < checked_at)
	{
		trusted = gov_trusted(&why);
		checked_at = now;
	}
	return trusted;
}

PG_FUNCTION_INFO_V1(gov_sql_trust_state);
Datum
gov_sql_trust_state(PG_FUNCTION_ARGS)
{
	char	   *why;

	GOV_ENTRY();
	if (gov_trusted(&why))
		PG_RETURN_TEXT_P(cstring_to_text("trusted"));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("degraded: %s", why)));
}

/*
 * restore_trust() takes effect when the transaction that ledgered it
 * commits: not if it, or the savepoint it ran in, rolls back.
 */
static void
restore_at_commit(void *arg)
{
	SpinLockAcquire(&trust_shared->mutex);
	trust_shared->degraded = false;
	trust_shared->reason[0] = '\0';
	trust_shared->reverify = true;
	SpinLockRelease(&trust_shared->mutex);
}

static const GovXactOps restore_ops = {
	.what = "restored governance trust",
	.commit = restore_at_commit,
};

/*
 * restore_trust(reason text) -> text
 *
 * An administrator's explicit, ledgered statement that the cause of a
 * latched degradation has been dealt with.  Conditions that still hold
 * (no signing key) keep trust degraded regardless.
 */
PG_FUNCTION_INFO_V1(gov_sql_restore_trust);
Datum
gov_sql_restore_trust(PG_FUNCTION_ARGS)
{
	char	   *reason;
	char		previous[TRUST_REASON_LEN];
	bool		was_degraded;
	char	   *why;
	GovJson		j;

	GOV_ENTRY();
	if (PG_ARGISNULL(0) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a reason is required to restore trust")));
	reason = text_to_cstring(PG_GETARG_TEXT_PP(0));

	SpinLockAcquire(&trust_shared->mutex);
	was_degraded = trust_shared->degraded;
	memcpy(previous, trust_shared->reason, TRUST_REASON_LEN);
	SpinLockRelease(&trust_shared->mutex);

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "reason");
	gj_str(&j, reason);
	gj_key(&j, "was");
	gj_str(&j, was_degraded ? previous : NULL);
	gj_end_object(&j);
	gov_ledger_append_system("governance.trust.restored", NULL, gj_finish(&j));

	/* it vouches, too, for a signing key a restore found unendorsed */
	SPI_connect();
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
					"WHERE n.nspname = 'governance' AND c.relname = 'restores'", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1 &&
		SPI_execute("UPDATE governance.restores SET acknowledged_at = pg_catalog.now() "
					"WHERE key_unendorsed AND acknowledged_at IS NULL", false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not acknowledge the restores");
	SPI_finish();

	/* takes effect when the ledgered event commits, durably */
	gov_xact_defer(&restore_ops, NULL);
	gov_xact_require_durable_commit();

	if (!gov_key_available(&why))
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("degraded: signing key unavailable: %s", why)));
	PG_RETURN_TEXT_P(cstring_to_text("trusted"));
}

/*
 * Ledger changes of the conditions that degrade trust (the signing key,
 * the enforcer's heartbeat): the sealer calls this every round, in its
 * transaction, so that "the enforcer stopped at 10:02 and came back at
 * 10:05" is evidence like everything else.  Latched degradations are
 * ledgered where they are detected.
 */
void
gov_trust_ledger_conditions(void)
{
	char	   *reason;
	char	   *now_cond = NULL;
	char		was[TRUST_REASON_LEN];
	TimestampTz last;
	TimestampTz now = GetCurrentTimestamp();
	GovJson		j;

	if (!gov_key_available(&reason))
		now_cond = psprintf("signing key unavailable: %s", reason);
	else
	{
		/* a server that just started gives its enforcer a moment */
		last = gov_worker_last_beat(GOV_WORKER_ENFORCER);
		if (last == 0)
			last = PgStartTime;
		if (TimestampDifferenceExceeds(last, now, gov_enforcer_max_silence_ms))
			now_cond = pstrdup("the enforcer is not running");
	}

	SpinLockAcquire(&trust_shared->mutex);
	memcpy(was, trust_shared->condition, TRUST_REASON_LEN);
	SpinLockRelease(&trust_shared->mutex);
	if (strcmp(was, now_cond ? now_cond : "") == 0)
		return;

	gj_init(&j);
	gj_begin_object(&j);
	if (now_cond)
	{
		gj_key(&j, "reason");
		gj_str(&j, now_cond);
	}
	if (was[0])
	{
		gj_key(&j, "was");
		gj_str(&j, was);
	}
	gj_end_object(&j);
	gov_ledger_append_system(now_cond ? "governance.trust.degraded" : "governance.trust.recovered",
							 NULL, gj_finish(&j));

	SpinLockAcquire(&trust_shared->mutex);
	strlcpy(trust_shared->condition, now_cond ? now_cond : "", TRUST_REASON_LEN);
	SpinLockRelease(&trust_shared->mutex);
}
