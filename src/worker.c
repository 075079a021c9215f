/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The enforcer, sealer and verifier background workers.
 *
 *	  All three run the same loop (pg_cron's pattern): connect to
 *	  governance.database, then WaitLatch with WL_EXIT_ON_PM_DEATH, reset
 *	  the latch, honour interrupts and configuration reloads, beat, run the
 *	  duty, reset one memory context per iteration.  An error ends the
 *	  process and the postmaster starts it again after
 *	  GOV_WORKER_RESTART_SECS ("let it crash"): state lives in tables and
 *	  shared memory, never only in a worker.
 *
 *	  Liveness: each worker owns a slot in shared memory with its pid, when
 *	  it started, how often, and when it last went round its loop; the
 *	  view governance.workers shows them, and the fail-closed checks read
 *	  the enforcer's heartbeat.
 *
 *	  Placement (docs/DESIGN.md): when governance.database does not exist
 *	  (or does not accept connections), a worker whose connection failed
 *	  comes back connected to no database, waits for it quietly (one log
 *	  line for all, then a backed-off poll), and leaves to be started again
 *	  connected once it is there.  A DROP DATABASE of it (guard.c) makes the
 *	  connected workers leave, so that the drop needs no FORCE.
 *
 *	  Hot standby: the workers start once the standby is consistent.  A
 *	  duty that writes (sealing, expiring leases) is skipped while recovery
 *	  is in progress and starts by itself after promotion; read-only duties
 *	  (verification) run on the standby too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common.h"
#include "worker.h"

#define GOV_WORKER_RESTART_SECS 1
#define GOV_WORKER_STATE_LEN	64
#define GOV_WORKER_EXTENSION_POLL_MS 1000
#define GOV_WORKER_DATABASE_POLL_MS 1000	/* first wait for a missing
											 * database */
#define GOV_WORKER_DATABASE_POLL_MAX_MS 10000	/* backed off to at most */
#define GOV_WORKER_LEAVING_POLL_MS 100	/* while a DROP DATABASE runs */

typedef struct GovWorkerDef
{
	const char *name;
	int		   *naptime_ms;		/* GUC the loop waits on */
	int		   *min_gap_ms;		/* a hint never starts a round sooner after
								 * the last one began (NULL: no floor) */
	bool		on_standby;		/* run the duty during recovery? */
} GovWorkerDef;

/* Each worker's duty, given by the entry point (this loop calls nothing up). */
static GovWorkerDuty worker_duties[GOV_NUM_WORKERS];
static GovWorkerGate worker_gate = NULL;

char	   *gov_database = NULL;

static int	enforcer_naptime_ms = 100;
static int	sealer_naptime_ms = 1000;
static int	verifier_naptime_ms = 10000;
static int	sealer_delay_ms = 100;

static const GovWorkerDef worker_defs[GOV_NUM_WORKERS] = {
	[GOV_WORKER_ENFORCER] = {"enforcer", &enforcer_naptime_ms, NULL, false},
	[GOV_WORKER_SEALER] = {"sealer", &sealer_naptime_ms, &sealer_delay_ms, false},
	[GOV_WORKER_VERIFIER] = {"verifier", &verifier_naptime_ms, NULL, true},
};

typedef struct GovWorkerSlot
{
	slock_t		mutex;
	pid_t		pid;
	Latch	   *latch;
	TimestampTz started_at;
	TimestampTz last_beat;
	uint64		loops;
	uint32		starts;
	bool		probe_first;	/* next start: wait for the database first */
	char		state[GOV_WORKER_STATE_LEN];

	/*
	 * When the worker next goes round, at the latest (a TimestampTz), and the
	 * earliest a hint may make that (the round's start plus min_gap_ms).
	 * Lock-free: the loop writes wake_at before each duty, and anyone may
	 * lower it (gov_worker_wake_at) and then set the latch; the loop re-reads
	 * it after every ResetLatch, so a lowering is never lost.
	 */
	pg_atomic_uint64 wake_at;
	pg_atomic_uint64 wake_floor;
	/* gov_worker_wake() calls so far (read in the middle of a long duty) */
	pg_atomic_uint64 wakes;
} GovWorkerSlot;

typedef struct GovWorkerShared
{
	slock_t		mutex;			/* protects the three fields below */
	Oid			leaving_db;		/* a DROP DATABASE of it is under way */
	int			leaving_pid;	/* by this backend */
	bool		absent_logged;	/* "database missing" said once */
	GovWorkerSlot slots[GOV_NUM_WORKERS];
} GovWorkerShared;

static GovWorkerShared *worker_shared = NULL;
static GovWorkerSlot *worker_slots = NULL;

void
gov_worker_define_gucs(void)
{
	DefineCustomStringVariable("governance.database",
							   "Database the governance background workers connect to.",
							   "The extension must be created in this database.",
							   &gov_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("governance.enforcer_naptime",
							"How long the enforcer sleeps between rounds.",
							NULL,
							&enforcer_naptime_ms,
							100, 10, 10000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("governance.seal_interval",
							"How often the sealer seals committed ledger rows into a block.",
							NULL,
							&sealer_naptime_ms,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("governance.seal_delay",
							"Shortest time between two sealer rounds started by commits.",
							"A transaction that appended to the ledger wakes the sealer when it commits, "
							"but not sooner than this after the sealer's last round began, so that "
							"blocks stay large under load. 0 seals at every commit.",
							&sealer_delay_ms,
							100, 0, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("governance.verify_interval",
							"How often the verifier re-verifies newly sealed blocks.",
							NULL,
							&verifier_naptime_ms,
							10000, 100, 24 * 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

void
gov_workers_register(const GovWorkerDuty duties[GOV_NUM_WORKERS], GovWorkerGate gate)
{
	int			i;

	memcpy(worker_duties, duties, sizeof(worker_duties));
	worker_gate = gate;
	for (i = 0; i < GOV_NUM_WORKERS; i++)
	{
		BackgroundWorker w;

		memset(&w, 0, sizeof(w));
		w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		w.bgw_start_time = BgWorkerStart_ConsistentState;
		w.bgw_restart_time = GOV_WORKER_RESTART_SECS;
		strlcpy(w.bgw_library_name, "governance", BGW_MAXLEN);
		strlcpy(w.bgw_function_name, "gov_worker_main", BGW_MAXLEN);
		snprintf(w.bgw_name, BGW_MAXLEN, "governance %s", worker_defs[i].name);
		snprintf(w.bgw_type, BGW_MAXLEN, "governance %s", worker_defs[i].name);
		w.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&w);
	}
}

Size
gov_worker_shmem_size(void)
{
	return MAXALIGN(sizeof(GovWorkerShared));
}

void
gov_worker_shmem_startup(void)
{
	bool		found;
	int			i;

	worker_shared = ShmemInitStruct("governance workers",
									gov_worker_shmem_size(), &found);
	worker_slots = worker_shared->slots;
	if (!found)
	{
		memset(worker_shared, 0, gov_worker_shmem_size());
		SpinLockInit(&worker_shared->mutex);
		for (i = 0; i < GOV_NUM_WORKERS; i++)
		{
			SpinLockInit(&worker_slots[i].mutex);
			pg_atomic_init_u64(&worker_slots[i].wake_at, 0);
			pg_atomic_init_u64(&worker_slots[i].wake_floor, 0);
			pg_atomic_init_u64(&worker_slots[i].wakes, 0);
		}
	}
}

static void
set_state(GovWorkerSlot *slot, const char *state)
{
	SpinLockAcquire(&slot->mutex);
	strlcpy(slot->state, state, GOV_WORKER_STATE_LEN);
	SpinLockRelease(&slot->mutex);
}

static void
worker_detach(int code, Datum arg)
{
	GovWorkerSlot *slot = &worker_slots[DatumGetInt32(arg)];

	SpinLockAcquire(&slot->mutex);
	slot->pid = 0;
	slot->latch = NULL;
	strlcpy(slot->state, "stopped", GOV_WORKER_STATE_LEN);
	SpinLockRelease(&slot->mutex);
}

static void
set_slot_latch(GovWorkerSlot *slot)
{
	Latch	   *latch;

	SpinLockAcquire(&slot->mutex);
	latch = slot->latch;
	SpinLockRelease(&slot->mutex);
	if (latch)
		SetLatch(latch);
}

/* Lower wake_at to at (never raise it); did it change? */
static bool
lower_wake_at(GovWorkerSlot *slot, TimestampTz at)
{
	uint64		cur = pg_atomic_read_u64(&slot->wake_at);

	if (at < 0)
		at = 0;
	while ((uint64) at < cur)
	{
		if (pg_atomic_compare_exchange_u64(&slot->wake_at, &cur, (uint64) at))
			return true;
	}
	return false;
}

void
gov_worker_wake(GovWorkerKind kind)
{
	GovWorkerSlot *slot = &worker_slots[kind];

	pg_atomic_fetch_add_u64(&slot->wakes, 1);
	(void) lower_wake_at(slot, 0);
	set_slot_latch(slot);
}

uint64
gov_worker_wakes(GovWorkerKind kind)
{
	return pg_atomic_read_u64(&worker_slots[kind].wakes);
}

void
gov_worker_wake_at(GovWorkerKind kind, TimestampTz at)
{
	GovWorkerSlot *slot = &worker_slots[kind];
	TimestampTz floor = (TimestampTz) pg_atomic_read_u64(&slot->wake_floor);

	/*
	 * Only a change sets the latch: a burst of commits costs the sealer one
	 * wake-up, and the committers one atomic read each after the first.
	 */
	if (lower_wake_at(slot, Max(at, floor)))
		set_slot_latch(slot);
}

void
gov_worker_plan(GovWorkerKind kind, TimestampTz at)
{
	(void) lower_wake_at(&worker_slots[kind], at);
}

void
gov_workers_wake_all(void)
{
	int			i;

	for (i = 0; i < GOV_NUM_WORKERS; i++)
		gov_worker_wake((GovWorkerKind) i);
}

void
gov_workers_leave_database(Oid dboid)
{
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->leaving_db = dboid;
	worker_shared->leaving_pid = OidIsValid(dboid) ? MyProcPid : 0;
	SpinLockRelease(&worker_shared->mutex);
	gov_workers_wake_all();
}

/*
 * Is a DROP DATABASE of dboid under way?  Only while the backend running it
 * lives: one that died mid-drop (terminated while it waited) left the
 * database there, and the workers must come back to it.
 */
static bool
database_leaving(Oid dboid)
{
	Oid			leaving;
	int			pid;

	SpinLockAcquire(&worker_shared->mutex);
	leaving = worker_shared->leaving_db;
	pid = worker_shared->leaving_pid;
	SpinLockRelease(&worker_shared->mutex);
	if (!OidIsValid(dboid) || leaving != dboid)
		return false;
	if (pid != 0 && BackendPidGetProc(pid) != NULL)
		return true;
	SpinLockAcquire(&worker_shared->mutex);
	if (worker_shared->leaving_db == dboid)
	{
		worker_shared->leaving_db = InvalidOid;
		worker_shared->leaving_pid = 0;
	}
	SpinLockRelease(&worker_shared->mutex);
	return false;
}

TimestampTz
gov_worker_last_beat(GovWorkerKind kind)
{
	GovWorkerSlot *slot = &worker_slots[kind];
	TimestampTz ts;

	SpinLockAcquire(&slot->mutex);
	ts = slot->pid != 0 ? slot->last_beat : 0;
	SpinLockRelease(&slot->mutex);
	return ts;
}

/* Is the extension installed in our database?  Checked every round. */
static bool
extension_present(void)
{
	bool		present;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	present = OidIsValid(get_extension_oid(GOV_EXTENSION_NAME, true));
	CommitTransactionCommand();
	return present;
}

/*
 * Why the workers cannot connect to governance.database now: NULL when
 * they can, "" while it is being dropped.  Run connected to no database.
 */
static const char *
database_unusable(void)
{
	const char *why = "does not exist";
	Oid			db = InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	/*
	 * A heap scan, as autovacuum's launcher reads pg_database: connected to
	 * no database, only the shared catalogs themselves are at hand, not their
	 * indexes (nor the syscaches built on them).
	 */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database f = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(f->datname), gov_database) != 0)
			continue;
		db = f->oid;
#ifdef DATCONNLIMIT_INVALID_DB
		if (f->datconnlimit == DATCONNLIMIT_INVALID_DB)
			why = "is invalid (a DROP DATABASE of it was interrupted)";
		else
#endif
		if (!f->datallowconn)
			why = "does not allow connections";
		else
			why = NULL;
		break;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	if (why == NULL && database_leaving(db))
		why = "";
	return why;
}

/*
 * A worker whose last connection failed (or that left a database being
 * dropped) waits here, connected to no database, until governance.database
 * can be connected to; then it exits to be started again, connected (a
 * process connects once).  The first worker to find it missing says so
 * once; the poll backs off, and CREATE DATABASE of it wakes the workers.
 */
static void
wait_for_database(GovWorkerSlot *slot)
{
	long		backoff = GOV_WORKER_DATABASE_POLL_MS;

	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname(MyBgworkerEntry->bgw_name);
	for (;;)
	{
		const char *why;
		long		naptime;
		int			rc;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		why = database_unusable();
		if (why == NULL)
		{
			bool		said;

			SpinLockAcquire(&worker_shared->mutex);
			said = worker_shared->absent_logged;
			worker_shared->absent_logged = false;
			SpinLockRelease(&worker_shared->mutex);
			if (said)
				ereport(LOG,
						(errmsg("governance: database \"%s\" (governance.database) can be connected to; the workers connect",
								gov_database)));
			SpinLockAcquire(&slot->mutex);
			slot->probe_first = false;
			SpinLockRelease(&slot->mutex);
			proc_exit(1);		/* started again after GOV_WORKER_RESTART_SECS */
		}
		if (*why == '\0')
		{
			set_state(slot, "waiting: the database is being dropped");
			naptime = GOV_WORKER_LEAVING_POLL_MS;
		}
		else
		{
			bool		say;

			set_state(slot, "waiting for governance.database");
			SpinLockAcquire(&worker_shared->mutex);
			say = !worker_shared->absent_logged;
			worker_shared->absent_logged = true;
			SpinLockRelease(&worker_shared->mutex);
			if (say)
				ereport(LOG,
						(errmsg("governance: database \"%s\" (governance.database) %s; the workers wait for it",
								gov_database, why),
						 errhint("Create the database and the extension in it, or set governance.database "
								 "to the database that has the extension and restart the server.")));
			naptime = backoff;
			backoff = Min(backoff * 2, GOV_WORKER_DATABASE_POLL_MAX_MS);
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   naptime, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (rc & WL_LATCH_SET)
			backoff = GOV_WORKER_DATABASE_POLL_MS;	/* perhaps just created */
	}
}

void
gov_worker_main(Datum arg)
{
	int			idx = DatumGetInt32(arg);
	const GovWorkerDef *def = &worker_defs[idx];
	GovWorkerSlot *slot = &worker_slots[idx];
	MemoryContext loopcxt;
	TimestampTz started;
	TimestampTz beat;
	TimestampTz round_start;
	bool		probe;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	started = GetCurrentTimestamp();	/* nothing slow under the spinlock */
	SpinLockAcquire(&slot->mutex);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	slot->started_at = started;
	slot->last_beat = slot->started_at;
	slot->starts++;
	strlcpy(slot->state, "starting", GOV_WORKER_STATE_LEN);
	probe = slot->probe_first;
	slot->probe_first = true;	/* until connected: if this start fails, wait
								 * first */
	SpinLockRelease(&slot->mutex);
	before_shmem_exit(worker_detach, Int32GetDatum(idx));

	if (probe)
		wait_for_database(slot);	/* does not return */

	BackgroundWorkerInitializeConnection(gov_database, NULL, 0);
	pgstat_report_appname(MyBgworkerEntry->bgw_name);
	/* every name the duties use is qualified; nothing else is looked up */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SpinLockAcquire(&slot->mutex);
	slot->probe_first = false;
	SpinLockRelease(&slot->mutex);
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->absent_logged = false;
	SpinLockRelease(&worker_shared->mutex);

	ereport(LOG,
			(errmsg("governance %s started", def->name)));

	loopcxt = AllocSetContextCreate(TopMemoryContext,
									"governance worker loop",
									ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		MemoryContext oldcxt;
		long		naptime;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (database_leaving(MyDatabaseId))
		{
			ereport(LOG,
					(errmsg("governance %s: leaving database \"%s\", which is being dropped",
							def->name, gov_database)));
			SpinLockAcquire(&slot->mutex);
			slot->probe_first = true;	/* the next start waits before it
										 * connects */
			SpinLockRelease(&slot->mutex);
			proc_exit(1);
		}

		naptime = *def->naptime_ms;

		/*
		 * The next round by default; hints that arrive while the duty runs
		 * lower it (and set the latch), and the duty may plan an earlier one.
		 */
		round_start = GetCurrentTimestamp();
		pg_atomic_write_u64(&slot->wake_floor,
							(uint64) (round_start + (def->min_gap_ms ? *def->min_gap_ms : 0) * (int64) 1000));
		pg_atomic_write_u64(&slot->wake_at, (uint64) (round_start + naptime * (int64) 1000));
		oldcxt = MemoryContextSwitchTo(loopcxt);
		if (RecoveryInProgress() && !def->on_standby)
			set_state(slot, "standby (idle until promotion)");
		else if (!extension_present())
		{
			set_state(slot, "waiting for CREATE EXTENSION governance");
			naptime = Min(naptime, GOV_WORKER_EXTENSION_POLL_MS);
		}
		else if (worker_duties[idx] == NULL)
			set_state(slot, "idle");
		else
		{
			const char *wait_for = NULL;

			/*
			 * extension_present() ran a transaction, whose commit left
			 * TopMemoryContext current: the duty's allocations outside its
			 * own transactions belong in the loop context, reset below.
			 */
			LOCKTAG		round;

			/*
			 * The round holds GOV_LOCK_ROUND shared: a session that starts
			 * restoring a dump announces it and then waits for the rounds in
			 * flight (src/restore.c), so no duty runs past the gate into a
			 * half-loaded database.
			 */
			SET_LOCKTAG_ADVISORY(round, MyDatabaseId, 0, 0, GOV_LOCK_ROUND);
			(void) LockAcquire(&round, ShareLock, true, false);
			MemoryContextSwitchTo(loopcxt);
			if (worker_gate)
				wait_for = worker_gate((GovWorkerKind) idx);
			MemoryContextSwitchTo(loopcxt);
			if (wait_for)
			{
				set_state(slot, wait_for);
				naptime = Min(naptime, GOV_WORKER_EXTENSION_POLL_MS);
			}
			else
			{
				set_state(slot, "running");
				worker_duties[idx] ();
				set_state(slot, "idle");
			}
			LockRelease(&round, ShareLock, true);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(loopcxt);
		/* a shorter poll above (waiting for the extension, a gate) */
		(void) lower_wake_at(slot, round_start + naptime * (int64) 1000);

		beat = GetCurrentTimestamp();
		SpinLockAcquire(&slot->mutex);
		slot->last_beat = beat;
		slot->loops++;
		SpinLockRelease(&slot->mutex);
		pgstat_report_activity(STATE_IDLE, NULL);

		/*
		 * Sleep until wake_at, which others may lower while we sleep (an
		 * earlier lease expiry, a commit to seal): after every wake-up the
		 * latch is reset first and wake_at read next, so a lowering that
		 * comes in between is seen.  A round waits at most naptime (a hint
		 * cannot raise it): the workers' heartbeats stay regular.
		 */
		for (;;)
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz wake = (TimestampTz) pg_atomic_read_u64(&slot->wake_at);
			long		timeout;

			if (wake <= now)
				break;
			/* rounded up: never wake before wake_at */
			timeout = (long) ((wake - now + 999) / 1000);
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Min(timeout, (long) naptime),
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			if (ConfigReloadPending)
				break;
		}
	}
}

/* ---------------------------------------------------------------------
 * SQL interface: governance.workers
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(gov_sql_worker_status);
Datum
gov_sql_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	GOV_ENTRY();
	InitMaterializedSRF(fcinfo, 0);

	for (i = 0; i < GOV_NUM_WORKERS; i++)
	{
		GovWorkerSlot copy;
		Datum		values[7];
		bool		nulls[7] = {0};

		SpinLockAcquire(&worker_slots[i].mutex);
		memcpy(&copy, &worker_slots[i], sizeof(copy));
		SpinLockRelease(&worker_slots[i].mutex);

		values[0] = CStringGetTextDatum(worker_defs[i].name);
		if (copy.pid != 0)
			values[1] = Int32GetDatum(copy.pid);
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(copy.starts == 0 ? "not started" : copy.state);
		if (copy.starts > 0)
		{
			values[3] = TimestampTzGetDatum(copy.started_at);
			values[4] = TimestampTzGetDatum(copy.last_beat);
		}
		else
			nulls[3] = nulls[4] = true;
		values[5] = Int64GetDatum((int64) copy.loops);
		values[6] = Int32GetDatum((int32) copy.starts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
