/*-------------------------------------------------------------------------
 *
 * enforcer.c
 *	  What the enforcer worker does each round (governance.enforcer_naptime,
 *	  100 ms by default):
 *
 *	  1. signal every backend attached to a lease that is no longer live
 *	     (cancel its statement or end its session, governance.enforcement);
 *	     this comes first so that it is never delayed by the rest;
 *	  2. after a start or a crash, load the live leases from
 *	     governance.leases into shared memory (no lease is live unless its
 *	     durable row says so and it has not expired);
 *	  3. make expiries durable and ledger them, in batches;
 *	  4. revoke leases bound to a session that has ended;
 *	  5. ledger the security events queued by failed transactions
 *	     (events.c);
 *	  6. clear ended leases out of shared memory.
 *
 *	  Its heartbeat is what trust_state() checks: an enforcer that stops
 *	  degrades trust, and with it every authorization and every check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "attach.h"
#include "encode.h"
#include "enforcer.h"
#include "events.h"
#include "common.h"
#include "revoke.h"
#include "stats.h"
#include "lease.h"
#include "lease_rows.h"
#include "ledger.h"
#include "worker.h"

#define EXPIRE_BATCH		1000
/* the longest the enforcer waits for a lock another transaction holds */
#define ENFORCER_LOCK_TIMEOUT	"50ms"

static int	gov_enforcement_mode = GOV_ENFORCE_CANCEL;

static const struct config_enum_entry enforcement_options[] = {
	{"cancel", GOV_ENFORCE_CANCEL, false},
	{"terminate", GOV_ENFORCE_TERMINATE, false},
	{"off", GOV_ENFORCE_OFF, false},
	{NULL, 0, false}
};

void
gov_enforcer_define_gucs(void)
{
	DefineCustomEnumVariable("governance.enforcement",
							 "What the enforcer does to a backend attached to a lease that ended.",
							 "cancel cancels its running statement, terminate ends its session, off does neither (rows still vanish and writes are still refused).",
							 &gov_enforcement_mode,
							 GOV_ENFORCE_CANCEL,
							 enforcement_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

/* Set once this enforcer has loaded the durable leases. */
static bool leases_loaded = false;

/* When the enforcer last walked the whole lease table. */
static TimestampTz last_walk = 0;

/*
 * Live leases past their expiry found by the last walk, made durable
 * EXPIRE_BATCH per round from expired_next on (so that a mass expiry never
 * makes one round long: signalling waits for the round to end).  They and
 * the rest of the walk's results live in walk_cxt until the next walk.
 */
static MemoryContext walk_cxt = NULL;
static List *expired_ids = NIL;
static int	expired_next = 0;

/* When the durable rows were last swept for expiries shared memory missed. */
static TimestampTz last_sweep = 0;
static bool sweep_backlog = true;
#define SWEEP_INTERVAL_MS	60000

static bool enforcer_revoke(const pg_uuid_t *id, const char *reason);

/* The earliest expiry of an attached lease, as of the last signalling. */
static TimestampTz next_attached_expiry = DT_NOEND;

/*
 * Signal the backends attached to leases that ended, then plan the next
 * round no later than the next attached lease's expiry (a lease attached
 * from now on lowers that itself, session.c): an expiry is enforced when it
 * happens, not at the next round.
 */
static void
signal_attached(void)
{
	gov_stat_add(GOV_STAT_CANCELS_SENT, gov_enforce_attached(gov_enforcement_mode));
	if (gov_enforcement_mode == GOV_ENFORCE_OFF)
		return;
	next_attached_expiry = gov_attached_next_expiry(GetCurrentTimestamp());
	gov_worker_plan(GOV_WORKER_ENFORCER, next_attached_expiry);
}

/*
 * Between the slower parts of a round (the walk of 100k leases, a batch of
 * expiries, revocations): signal at once if an attached lease expired
 * meanwhile, rather than at the next round.  One clock read when not.
 */
static void
signal_if_due(void)
{
	if (GetCurrentTimestamp() >= next_attached_expiry)
		signal_attached();
}

/*
 * Between two slices of a walk of the shared table (no lock held): signal
 * if an attached lease expired or the enforcer was woken (a revocation
 * ended leases) since the last signalling.
 */
static uint64 wakes_seen = 0;

static void
walk_pause(void)
{
	uint64		wakes = gov_worker_wakes(GOV_WORKER_ENFORCER);

	if (wakes != wakes_seen || GetCurrentTimestamp() >= next_attached_expiry)
	{
		wakes_seen = wakes;
		signal_attached();
	}
}

/* Is id one of roots, or has it one of them among its ancestors (uuid[])? */
static bool
lease_in_tree_of(const pg_uuid_t *id, Datum ancestors, List *roots)
{
	ArrayType  *arr = DatumGetArrayTypeP(ancestors);
	Datum	   *elems;
	int			n;
	int			k;
	ListCell   *lc;

	deconstruct_array(arr, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, NULL, &n);
	foreach(lc, roots)
	{
		const pg_uuid_t *r = lfirst(lc);

		if (memcmp(r, id, sizeof(pg_uuid_t)) == 0)
			return true;
		for (k = 0; k < n; k++)
			if (memcmp(r, DatumGetUUIDP(elems[k]), sizeof(pg_uuid_t)) == 0)
				return true;
	}
	return false;
}


#define RESTART_REASON "session ended: the server restarted"

static void
load_leases(void)
{
	int			rc;
	uint64		i;
	List	   *stuck = NIL;
	List	   *deferred = NIL;
	List	   *deferred_reasons = NIL;
	uint64		nloaded;
	TimestampTz issued;
	TimestampTz first_issued = 0;
	Oid			argtypes[] = {TIMESTAMPTZOID};
	Datum		values[1];

	/*
	 * The sessions these were bound to died with the server.  Not those
	 * shared memory holds bound to a session: they were attached since this
	 * server started (before this enforcer's first round, or before an
	 * enforcer restart, which keeps shared memory), and the walk of shared
	 * memory ends them when their session ends.  A lease whose row or chain a
	 * transaction still locks (a prepared transaction outlives a restart) is
	 * not waited for: it is loaded dead, with its descendants, and the
	 * revocation is made durable in a later round.
	 */
	rc = SPI_execute("SELECT lease_id FROM governance.leases WHERE state = 'live' AND session_bound",
					 false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.leases");
	if (SPI_processed > 0)
	{
		List	   *ids = NIL;
		ListCell   *lc;

		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));
			GovLeaseSnapshot l;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS(); /* a reload may read many rows */

			*u = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			if (!gov_lease_get(u, &l) || l.session_pid == 0)
				ids = lappend(ids, u);
		}
		foreach(lc, ids)
		{
			if (!enforcer_revoke((pg_uuid_t *) lfirst(lc), RESTART_REASON))
				stuck = lappend(stuck, lfirst(lc));
		}
	}

	/*
	 * Revocations acknowledged before they could be made durable (revoke.c):
	 * those leases and their descendants are loaded dead, and the reconcile
	 * makes the revocations durable.  Rows of leases no longer live are done
	 * with.
	 */
	rc = SPI_execute("DELETE FROM governance.revocations_deferred d USING governance.leases l"
					 " WHERE l.lease_id = d.lease_id AND l.state <> 'live'", false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not read governance.revocations_deferred");
	rc = SPI_execute("SELECT lease_id, reason FROM governance.revocations_deferred", false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.revocations_deferred");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS(); /* a reload may read many rows */

		*u = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		deferred = lappend(deferred, u);
		deferred_reasons = lappend(deferred_reasons,
								   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}

	/* a new snapshot: without the leases just revoked */
	rc = SPI_execute("SELECT lease_id, parent_id, role_oid, depth, principal, action, resource, "
					 "expires_at, max_expiry, (extract(epoch FROM ttl) * 1000000)::bigint, "
					 "measurement IS NOT NULL, ancestors, issued_at "
					 "FROM governance.leases WHERE state = 'live' AND expires_at > clock_timestamp()",
					 false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.leases");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		GovLease	l;
		bool		isnull;
		Datum		v;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS(); /* a reload may read many rows */

		memset(&l, 0, sizeof(l));
		l.id = *DatumGetUUIDP(SPI_getbinval(t, d, 1, &isnull));
		v = SPI_getbinval(t, d, 2, &isnull);
		l.has_parent = !isnull;
		if (!isnull)
			l.parent = *DatumGetUUIDP(v);
		l.dboid = MyDatabaseId;
		l.role = DatumGetObjectId(SPI_getbinval(t, d, 3, &isnull));
		l.depth = DatumGetInt32(SPI_getbinval(t, d, 4, &isnull));
		strlcpy(l.principal, SPI_getvalue(t, d, 5), GOV_UID_MAX);
		strlcpy(l.action, SPI_getvalue(t, d, 6), GOV_UID_MAX);
		strlcpy(l.resource, SPI_getvalue(t, d, 7), GOV_UID_MAX);
		l.expires_at = DatumGetTimestampTz(SPI_getbinval(t, d, 8, &isnull));
		l.max_expiry = DatumGetTimestampTz(SPI_getbinval(t, d, 9, &isnull));
		l.ttl_us = DatumGetInt64(SPI_getbinval(t, d, 10, &isnull));
		l.has_measurement = DatumGetBool(SPI_getbinval(t, d, 11, &isnull));
		gov_lease_install(&l);
		if (stuck != NIL &&
			lease_in_tree_of(&l.id, SPI_getbinval(t, d, 12, &isnull), stuck))
			gov_lease_kill_now(&l.id, RESTART_REASON);
		if (deferred != NIL &&
			lease_in_tree_of(&l.id, SPI_getbinval(t, d, 12, &isnull), deferred))
		{
			ListCell   *r;
			ListCell   *why;

			forboth(r, deferred, why, deferred_reasons)
			{
				if (lease_in_tree_of(&l.id, SPI_getbinval(t, d, 12, &isnull), list_make1(lfirst(r))))
				{
					gov_lease_kill_now(&l.id, (char *) lfirst(why));
					break;
				}
			}
		}
		issued = DatumGetTimestampTz(SPI_getbinval(t, d, 13, &isnull));
		if (i == 0 || issued < first_issued)
			first_issued = issued;
	}
	nloaded = SPI_processed;

	if (nloaded > 0)
		ereport(LOG,
				(errmsg("governance enforcer: reloaded %llu live lease(s)",
						(unsigned long long) nloaded)));
	else
		return;

	/*
	 * A lease revoked while the rows above were being read and installed (the
	 * revocation committed after the read, and found nothing in shared memory
	 * to end) was installed live.  Read again, with a new snapshot, the
	 * leases that ended since the earliest issue of those loaded (a lease
	 * ends after it is issued), and end them in shared memory too. A
	 * revocation committing after this read finds its lease installed.
	 */
	values[0] = TimestampTzGetDatum(first_issued);
	rc = SPI_execute_with_args("SELECT lease_id, state, coalesce(end_reason, state) "
							   "FROM governance.leases WHERE state <> 'live' AND ended_at >= $1",
							   1, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.leases");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		pg_uuid_t	id = *DatumGetUUIDP(SPI_getbinval(t, d, 1, &isnull));
		char	   *state = SPI_getvalue(t, d, 2);

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS(); /* a reload may read many rows */

		(void) gov_lease_set_state(&id,
								   strcmp(state, "expired") == 0 ? GOV_LEASE_EXPIRED : GOV_LEASE_REVOKED,
								   SPI_getvalue(t, d, 3));
	}
}

/*
 * Make expiries durable and ledger them; returns how many.
 *
 * Which leases: those the once-a-second walk of shared memory found live
 * and past their expiry (ids, at most EXPIRE_BATCH of them), or, with ids
 * NIL, any durable row still live past its expiry (after a start: leases
 * that expired while the server was down).  The lease table has no index
 * on expires_at on purpose: heartbeats change it, and an index on it made
 * every renewal a non-HOT update with new entries in every index.  Shared
 * memory already treats an expired lease as ended (checks and enforcement
 * do not wait for this), so the durable row may trail by up to a second.
 * The row's own expires_at is checked again: a heartbeat that renewed the
 * lease in the meantime wins.  Rows locked by another transaction, and
 * leases whose chain lock another transaction holds, are skipped (the
 * enforcer never waits on an agent's transaction); a later walk or sweep
 * finds them again.
 */
static int
expire_leases(List *ids, TimestampTz now)
{
	int			rc;
	uint64		i;
	uint64		n;
	SPITupleTable *tab;
	Datum	   *elems;
	ListCell   *lc;
	int			k = 0;
	Oid			expire_types[] = {UUIDARRAYOID, TIMESTAMPTZOID};
	Datum		expire_args[2];

	if (ids == NIL)
	{
		Oid			find_types[] = {INT4OID, TIMESTAMPTZOID};
		Datum		find_args[] = {Int32GetDatum(EXPIRE_BATCH), TimestampTzGetDatum(now)};

		rc = SPI_execute_with_args("SELECT lease_id FROM governance.leases "
								   "WHERE state = 'live' AND expires_at <= $2 LIMIT $1",
								   2, find_types, find_args, NULL, true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not look for expired leases");
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS(); /* a reload may read many rows */

			*u = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			ids = lappend(ids, u);
		}
		if (ids == NIL)
			return 0;
	}

	/*
	 * Only leases whose chain lock is free: the expiry event is appended to
	 * the lease's chain, and an agent's open transaction may hold that lock
	 * for as long as it likes.  The others wait for a later round.
	 */
	elems = palloc(sizeof(Datum) * list_length(ids));
	foreach(lc, ids)
	{
		pg_uuid_t  *u = (pg_uuid_t *) lfirst(lc);

		if (gov_ledger_try_lock_chain(u))
			elems[k++] = UUIDPGetDatum(u);
	}
	if (k == 0)
		return 0;
	expire_args[0] = PointerGetDatum(construct_array(elems, k, UUIDOID, UUID_LEN,
													 false, TYPALIGN_CHAR));
	expire_args[1] = TimestampTzGetDatum(now);
	rc = SPI_execute_with_args("UPDATE governance.leases SET state = 'expired', ended_at = expires_at, "
							   "end_reason = 'expired' "
							   "WHERE lease_id IN (SELECT lease_id FROM governance.leases "
							   "  WHERE lease_id = ANY ($1) AND state = 'live' AND expires_at <= $2 "
							   "  FOR UPDATE SKIP LOCKED) "
							   "RETURNING lease_id, principal, action, resource, expires_at",
							   2, expire_types, expire_args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not expire leases");
	n = SPI_processed;
	tab = SPI_tuptable;
	for (i = 0; i < n; i++)
	{
		HeapTuple	t = tab->vals[i];
		TupleDesc	d = tab->tupdesc;
		bool		isnull;
		pg_uuid_t	id = *DatumGetUUIDP(SPI_getbinval(t, d, 1, &isnull));
		GovJson		j;
		GovEvent	ev;

		gj_init(&j);
		gj_begin_object(&j);
		gj_key(&j, "expired_at");
		gj_str(&j, gov_iso_timestamp(DatumGetTimestampTz(SPI_getbinval(t, d, 5, &isnull))));
		gj_end_object(&j);
		memset(&ev, 0, sizeof(ev));
		ev.kind = "governance.lease.expired";
		ev.lease_id = &id;
		ev.principal = SPI_getvalue(t, d, 2);
		ev.action = SPI_getvalue(t, d, 3);
		ev.resource = SPI_getvalue(t, d, 4);
		ev.payload = gj_finish(&j);
		ev.internal = true;
		(void) gov_ledger_append(&ev);
		gov_lease_commit_state(&id, GOV_LEASE_EXPIRED, "expired");
		gov_notify_lease_end(&id, "expired", "expired");
	}
	return (int) n;
}

/*
 * Leases whose revocation found their row or chain locked, and when the
 * enforcer tries again: a lock that outlived one wait (an agent's long
 * transaction, a prepared transaction, which outlives even a restart) is
 * likely to outlive the next, so the retries back off (1 s, doubling, at
 * most ENFORCER_BACKOFF_MAX_MS), and after ENFORCER_ROUND_WAITS lock
 * timeouts in a round the others wait 1 ms: a hundred locked leases must
 * not hold the enforcer in lock waits for seconds while it signals nobody.  The
 * lease is dead for every check meanwhile; only its durable row waits.
 */
#define ENFORCER_BACKOFF_FIRST_MS	1000
#define ENFORCER_BACKOFF_MAX_MS		4000
#define ENFORCER_BACKOFF_ENTRIES	10000
#define ENFORCER_ROUND_WAITS		2

typedef struct EnforcerBackoff
{
	pg_uuid_t	id;				/* hash key */
	TimestampTz next_try;
	int			backoff_ms;
} EnforcerBackoff;

static HTAB *revoke_backoff = NULL;
static int	round_lock_timeouts = 0;

static EnforcerBackoff *
backoff_find(const pg_uuid_t *id, HASHACTION action, bool *found)
{
	if (revoke_backoff == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(EnforcerBackoff);
		ctl.hcxt = TopMemoryContext;
		revoke_backoff = hash_create("governance enforcer revocation backoff", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return hash_search(revoke_backoff, id, action, found);
}

/*
 * Revoke a lease's tree for the enforcer, which must not wait long on an
 * agent's open transaction (while it waits it signals nobody): in a
 * subtransaction with a short lock_timeout.  A lock timeout or a deadlock
 * leaves the lease for a later round (the walk finds it again), after a
 * back-off; any other error is raised.  Returns whether it was revoked.
 */
static bool
enforcer_revoke(const pg_uuid_t *id, const char *reason)
{
	int64		count;
	bool		found;
	EnforcerBackoff *b;
	TimestampTz now = GetCurrentTimestamp();
	bool		done;

	b = backoff_find(id, HASH_FIND, &found);
	if (b != NULL && now < b->next_try)
		return false;
	done = gov_revoke_tree_try(id, reason, true, NULL,
							   round_lock_timeouts < ENFORCER_ROUND_WAITS ?
							   ENFORCER_LOCK_TIMEOUT : "1ms", &count);
	walk_pause();				/* a revocation meanwhile is signalled now */
	if (done)
	{
		if (b != NULL)
			(void) backoff_find(id, HASH_REMOVE, NULL);
		return true;
	}

	round_lock_timeouts++;
	if (b == NULL)
	{
		if (hash_get_num_entries(revoke_backoff) >= ENFORCER_BACKOFF_ENTRIES)
		{
			/* forget them all rather than grow: each is only a delay */
			hash_destroy(revoke_backoff);
			revoke_backoff = NULL;
		}
		b = backoff_find(id, HASH_ENTER, &found);
		b->backoff_ms = ENFORCER_BACKOFF_FIRST_MS;
	}
	else
		b->backoff_ms = Min(b->backoff_ms * 2, ENFORCER_BACKOFF_MAX_MS);
	b->next_try = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), b->backoff_ms);
	ereport(LOG,
			(errmsg("governance enforcer: lease %s is locked by another transaction; "
					"it will be revoked in a later round", gov_uuid_text(id)),
			 errdetail("The next attempt is in %d ms.", b->backoff_ms)));
	return false;
}

/* A lease that ended by other means needs no more attempts. */
static void
backoff_forget(const pg_uuid_t *id)
{
	if (revoke_backoff != NULL)
		(void) hash_search(revoke_backoff, id, HASH_REMOVE, NULL);
}

/*
 * Leases that shared memory ended at once (a revocation whose transaction
 * failed or could not take a lock, an integrity or policy failure seen by
 * a heartbeat) but whose durable row is still live: revoke them durably.
 * Fail closed first, make it durable next.  One query tells which rows are
 * still live (the list may hold a whole tree); ancestors come first, and a
 * lease whose parent was revoked here is covered by that revocation; at
 * most RECONCILE_MAX revocations a round, so a round stays short.
 */
#define RECONCILE_MAX	100

static void
reconcile_revocations(List *revoked)
{
	Datum	   *elems;
	int			n = 0;
	int			done = 0;
	int			rc;
	uint64		i;
	ListCell   *lc;
	HASHCTL		ctl;
	HTAB	   *live;
	HTAB	   *covered;
	Oid			argtypes[] = {UUIDARRAYOID};
	Datum		values[1];

	if (revoked == NIL)
		return;
	elems = palloc(sizeof(Datum) * list_length(revoked));
	foreach(lc, revoked)
		elems[n++] = UUIDPGetDatum(&((GovLeaseSnapshot *) lfirst(lc))->id);
	values[0] = PointerGetDatum(construct_array(elems, n, UUIDOID, UUID_LEN,
												false, TYPALIGN_CHAR));
	rc = SPI_execute_with_args("SELECT lease_id FROM governance.leases WHERE lease_id = ANY ($1) AND state = 'live'",
							   1, argtypes, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.leases");

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(pg_uuid_t);
	ctl.hcxt = CurrentMemoryContext;
	live = hash_create("governance reconcile live", Max(SPI_processed, 16), &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	covered = hash_create("governance reconcile covered", 16, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS(); /* a reload may read many rows */

		(void) hash_search(live, DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull)),
						   HASH_ENTER, NULL);
	}

	foreach(lc, revoked)
	{
		GovLeaseSnapshot *l = lfirst(lc);

		if (hash_search(live, &l->id, HASH_FIND, NULL) == NULL)
		{
			/* ended durably meanwhile (an ancestor's revocation, expiry) */
			(void) gov_lease_set_state(&l->id, GOV_LEASE_REVOKED, NULL);
			backoff_forget(&l->id);
		}
		else if (l->has_parent && hash_search(covered, &l->parent, HASH_FIND, NULL) != NULL)
			(void) hash_search(covered, &l->id, HASH_ENTER, NULL);
		else if (done++ < RECONCILE_MAX &&
				 enforcer_revoke(&l->id, l->end_reason[0] ? l->end_reason : "revoked"))
			(void) hash_search(covered, &l->id, HASH_ENTER, NULL);
	}
}

/*
 * A lease whose session ended but whose durable revocation must wait for a
 * lock: fail closed first (end it and its live descendants in shared
 * memory, so that no other session can take it up meanwhile), durable
 * next (the reconcile, with the back-off above).
 */
static void
kill_tree_now(const pg_uuid_t *id, const char *reason)
{
	List	   *ids = list_make1((void *) id);
	Oid			argtypes[] = {UUIDOID};
	Datum		values[] = {UUIDPGetDatum(id)};
	uint64		i;

	(void) gov_lease_kill_tree(ids, reason, NULL);
	if (SPI_execute_with_args("WITH RECURSIVE tree AS ("
							  "  SELECT lease_id, state FROM governance.leases WHERE parent_id = $1"
							  "  UNION ALL"
							  "  SELECT l.lease_id, l.state"
							  "    FROM governance.leases l JOIN tree t ON l.parent_id = t.lease_id)"
							  " SELECT lease_id FROM tree WHERE state = 'live'",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.leases");
	ids = NIL;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		ids = lappend(ids, u);
	}
	if (ids != NIL)
		(void) gov_lease_kill_tree(ids, reason, NULL);
}

static void
revoke_orphan(const GovLeaseSnapshot *l, void *arg)
{
	List	  **ids = (List **) arg;
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	*id = l->id;
	*ids = lappend(*ids, id);
}

void
gov_enforcer_duty(void)
{
	List	   *orphans = NIL;
	List	   *revoked;
	ListCell   *lc;

	/* first, and outside any transaction: stop what must stop */
	gov_stat_add(GOV_STAT_ENFORCER_ROUNDS, 1);
	round_lock_timeouts = 0;
	wakes_seen = gov_worker_wakes(GOV_WORKER_ENFORCER);
	signal_attached();

	/*
	 * The whole-table walks (sessions that ended, clearing ended leases,
	 * revocations to make durable) cost in proportion to the leases held;
	 * once a second is enough for them.  Signalling stays every round, and
	 * every committed revocation wakes us at once.
	 */
	if (last_walk == 0 || TimestampDifferenceExceeds(last_walk, GetCurrentTimestamp(), 1000))
	{
		MemoryContext old;

		if (walk_cxt == NULL)
			walk_cxt = AllocSetContextCreate(TopMemoryContext, "governance enforcer walk",
											 ALLOCSET_DEFAULT_SIZES);
		MemoryContextReset(walk_cxt);
		expired_ids = NIL;
		expired_next = 0;
		old = MemoryContextSwitchTo(walk_cxt);
		gov_lease_scan(gov_backend_alive, revoke_orphan, &orphans, true, &expired_ids,
					   walk_pause);
		revoked = gov_lease_undurable_revocations(walk_pause);
		MemoryContextSwitchTo(old);
		last_walk = GetCurrentTimestamp();
		signal_if_due();
	}
	else
		revoked = NIL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (!leases_loaded)
	{
		load_leases();
		signal_if_due();
		leases_loaded = true;
	}
	if (expired_next < list_length(expired_ids))
	{
		List	   *batch = NIL;

		while (expired_next < list_length(expired_ids) && list_length(batch) < EXPIRE_BATCH)
			batch = lappend(batch, list_nth(expired_ids, expired_next++));
		(void) expire_leases(batch, GetCurrentTimestamp());
		signal_if_due();
	}

	/*
	 * Durable rows live past their expiry that shared memory does not hold
	 * (leases that expired while the server was down, rows a walk skipped
	 * because they were locked): a sequential pass, after a start until none
	 * is left, then once a minute.
	 */
	if (sweep_backlog || TimestampDifferenceExceeds(last_sweep, GetCurrentTimestamp(), SWEEP_INTERVAL_MS))
	{
		sweep_backlog = expire_leases(NIL, GetCurrentTimestamp()) >= EXPIRE_BATCH;
		last_sweep = GetCurrentTimestamp();
		signal_if_due();
	}
	foreach(lc, orphans)
	{
		pg_uuid_t  *id = lfirst(lc);

		if (!enforcer_revoke(id, "session ended"))
			kill_tree_now(id, "session ended");
		signal_if_due();
	}
	reconcile_revocations(revoked);
	signal_if_due();
	gov_events_drain();
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	signal_if_due();
	pgstat_report_activity(STATE_IDLE, NULL);
}
