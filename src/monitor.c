/*-------------------------------------------------------------------------
 *
 * monitor.c
 *	  Monitoring (README, "Monitoring"): governance.stats, one row of
 *	  counters and gauges; governance.stats_principals, leases per
 *	  principal; governance.backend_leases, which backend is attached to
 *	  which lease.
 *
 *	  stats and stats_principals are for pg_monitor: they say how much and
 *	  how late, never what was decided about what (no lease ids, actions,
 *	  resources, contexts or ledger payloads).  Their SQL functions are
 *	  SECURITY DEFINER so that the few aggregates read from the ledger's
 *	  tables (unsealed rows, the last block) need no grant on the ledger.
 *	  backend_leases names leases and resources: governance_admin only.
 *
 *	  Counters come from shared memory (src/stats.c; reset at server
 *	  start), gauges from the lease table, the workers' slots, the
 *	  security-event queue and trust, and two index-range reads of the
 *	  ledger.  Nothing here takes a lock a decision waits for longer than
 *	  one walk of the lease table under its shared partition locks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "attach.h"
#include "common.h"
#include "events.h"
#include "lease.h"
#include "stats.h"
#include "trust.h"
#include "worker.h"

/* the columns of governance.stats(), in order */
enum
{
	S_STATS_RESET,
	S_LEASES_LIVE,
	S_LEASES_PENDING,
	S_LEASES_ENDED,
	S_LEASES_CAPACITY,
	S_AUTH_ALLOWED,
	S_AUTH_DENIED,
	S_REVOCATIONS,
	S_ENFORCER_ROUNDS,
	S_ENFORCER_LAST_BEAT,
	S_CANCELS_SENT,
	S_SEALER_LAST_BEAT,
	S_UNSEALED_ROWS,
	S_OLDEST_UNSEALED_AT,
	S_SEAL_LAG,
	S_LAST_BLOCK_ID,
	S_LAST_BLOCK_AT,
	S_VERIFIER_ROUNDS,
	S_VERIFIER_FAILURES,
	S_VERIFIER_LAST_BEAT,
	S_VERIFIED_THROUGH,
	S_VERIFIER_LAST_OK,
	S_VERIFIER_LAST_AT,
	S_EVENTS_IN_RING,
	S_EVENTS_SPILLING,
	S_EVENTS_QUEUED,
	S_EVENTS_SPOOLED,
	S_EVENTS_LOST,
	S_TRUSTED,
	S_TRUST_STATE,
	S_NCOLS
};

static Datum
beat_datum(GovWorkerKind kind, bool *isnull)
{
	TimestampTz ts = gov_worker_last_beat(kind);

	*isnull = ts == 0;
	return TimestampTzGetDatum(ts);
}

/*
 * The ledger's side: the last block, and the committed rows above it (the
 * sealer's backlog).  Both are reads of a primary-key range.
 */
static void
ledger_gauges(Datum *values, bool *nulls, TimestampTz now)
{
	int64		sealed_through = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT block_id, sealed_at, last_seq FROM governance.ledger_blocks "
					"ORDER BY block_id DESC LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.ledger_blocks");
	if (SPI_processed == 1)
	{
		bool		isnull;

		values[S_LAST_BLOCK_ID] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		values[S_LAST_BLOCK_AT] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		sealed_through = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	}
	else
		nulls[S_LAST_BLOCK_ID] = nulls[S_LAST_BLOCK_AT] = true;

	{
		Oid			argtypes[1] = {INT8OID};
		Datum		args[1] = {Int64GetDatum(sealed_through)};
		bool		isnull;
		int64		n;

		if (SPI_execute_with_args("SELECT count(*), min(at) FROM governance.ledger WHERE seq > $1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "could not read governance.ledger");
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		values[S_UNSEALED_ROWS] = Int64GetDatum(n);
		values[S_OLDEST_UNSEALED_AT] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
													 &nulls[S_OLDEST_UNSEALED_AT]);
		if (nulls[S_OLDEST_UNSEALED_AT])
			values[S_SEAL_LAG] = Float8GetDatum(0.0);
		else
		{
			TimestampTz oldest = DatumGetTimestampTz(values[S_OLDEST_UNSEALED_AT]);

			values[S_SEAL_LAG] = Float8GetDatum(oldest >= now ? 0.0 :
												(double) (now - oldest) / USECS_PER_SEC);
		}
	}
	SPI_finish();
}

/*
 * governance.stats() -> one row; see the enum above and README.
 */
PG_FUNCTION_INFO_V1(gov_sql_stats);
Datum
gov_sql_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[S_NCOLS];
	bool		nulls[S_NCOLS] = {0};
	TimestampTz now = GetCurrentTimestamp();
	GovLeaseSnapshot *leases;
	GovVerifierStats vs;
	int			n;
	int			i;
	int64		live = 0;
	int64		pending = 0;
	int64		ended = 0;
	uint64		in_ring;
	bool		spilling;
	char	   *why;
	bool		trusted;

	GOV_ENTRY();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	leases = gov_lease_collect(&n);
	for (i = 0; i < n; i++)
	{
		if (leases[i].state == GOV_LEASE_PENDING)
			pending++;
		else if (gov_lease_is_live(&leases[i], now))
			live++;
		else
			ended++;
	}
	pfree(leases);

	values[S_STATS_RESET] = TimestampTzGetDatum(gov_stats_reset_at());
	values[S_LEASES_LIVE] = Int64GetDatum(live);
	values[S_LEASES_PENDING] = Int64GetDatum(pending);
	values[S_LEASES_ENDED] = Int64GetDatum(ended);
	values[S_LEASES_CAPACITY] = Int32GetDatum(gov_max_leases);
	values[S_AUTH_ALLOWED] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_AUTHORIZE_ALLOWED));
	values[S_AUTH_DENIED] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_AUTHORIZE_DENIED));
	values[S_REVOCATIONS] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_REVOCATIONS));
	values[S_ENFORCER_ROUNDS] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_ENFORCER_ROUNDS));
	values[S_ENFORCER_LAST_BEAT] = beat_datum(GOV_WORKER_ENFORCER, &nulls[S_ENFORCER_LAST_BEAT]);
	values[S_CANCELS_SENT] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_CANCELS_SENT));
	values[S_SEALER_LAST_BEAT] = beat_datum(GOV_WORKER_SEALER, &nulls[S_SEALER_LAST_BEAT]);
	ledger_gauges(values, nulls, now);
	values[S_VERIFIER_ROUNDS] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_VERIFIER_ROUNDS));
	values[S_VERIFIER_FAILURES] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_VERIFIER_FAILURES));
	values[S_VERIFIER_LAST_BEAT] = beat_datum(GOV_WORKER_VERIFIER, &nulls[S_VERIFIER_LAST_BEAT]);
	gov_stats_verifier_read(&vs);
	values[S_VERIFIED_THROUGH] = Int64GetDatum(vs.verified_through);
	values[S_VERIFIER_LAST_OK] = BoolGetDatum(vs.last_ok);
	values[S_VERIFIER_LAST_AT] = TimestampTzGetDatum(vs.last_at);
	nulls[S_VERIFIER_LAST_OK] = nulls[S_VERIFIER_LAST_AT] = vs.last_at == 0;
	gov_events_queue_state(&in_ring, &spilling);
	values[S_EVENTS_IN_RING] = Int64GetDatum((int64) in_ring);
	values[S_EVENTS_SPILLING] = BoolGetDatum(spilling);
	values[S_EVENTS_QUEUED] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_EVENTS_QUEUED));
	values[S_EVENTS_SPOOLED] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_EVENTS_SPOOLED));
	values[S_EVENTS_LOST] = Int64GetDatum((int64) gov_stat_read(GOV_STAT_EVENTS_LOST));
	trusted = gov_trusted(&why);
	values[S_TRUSTED] = BoolGetDatum(trusted);
	values[S_TRUST_STATE] = CStringGetTextDatum(trusted ? "trusted" : psprintf("degraded: %s", why));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

typedef struct PrincipalCount
{
	char		principal[GOV_UID_MAX]; /* the key */
	int64		live;
	int64		pending;
	int64		ended;
} PrincipalCount;

/*
 * governance.stats_principals() -> setof (principal, live, pending, ended):
 * the entries of the shared lease table per principal (what
 * governance.max_leases_per_principal limits).
 */
PG_FUNCTION_INFO_V1(gov_sql_stats_principals);
Datum
gov_sql_stats_principals(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();
	GovLeaseSnapshot *leases;
	HASHCTL		ctl;
	HTAB	   *counts;
	HASH_SEQ_STATUS st;
	PrincipalCount *pc;
	int			n;
	int			i;

	GOV_ENTRY();
	InitMaterializedSRF(fcinfo, 0);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = GOV_UID_MAX;
	ctl.entrysize = sizeof(PrincipalCount);
	ctl.hcxt = CurrentMemoryContext;
	counts = hash_create("governance stats_principals", 64, &ctl,
						 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	leases = gov_lease_collect(&n);
	for (i = 0; i < n; i++)
	{
		bool		found;

		pc = hash_search(counts, leases[i].principal, HASH_ENTER, &found);
		if (!found)
			pc->live = pc->pending = pc->ended = 0;
		if (leases[i].state == GOV_LEASE_PENDING)
			pc->pending++;
		else if (gov_lease_is_live(&leases[i], now))
			pc->live++;
		else
			pc->ended++;
	}
	pfree(leases);

	hash_seq_init(&st, counts);
	while ((pc = hash_seq_search(&st)) != NULL)
	{
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = CStringGetTextDatum(pc->principal);
		values[1] = Int64GetDatum(pc->live);
		values[2] = Int64GetDatum(pc->pending);
		values[3] = Int64GetDatum(pc->ended);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	hash_destroy(counts);
	return (Datum) 0;
}

/*
 * governance.backend_leases() -> setof (pid, lease_id, principal, action,
 * resource, state, expires_at, session_bound): every attachment a backend
 * of this database has published, with what the shared table says of its
 * lease now (state 'unknown' once the entry is gone).
 */
PG_FUNCTION_INFO_V1(gov_sql_backend_leases);
Datum
gov_sql_backend_leases(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();
	GovAttachedBackend *att;
	int			n;
	int			i;

	GOV_ENTRY();
	InitMaterializedSRF(fcinfo, 0);

	att = gov_attached_backends(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {0};
		pg_uuid_t  *u;
		GovLeaseSnapshot l;

		if (att[i].dboid != MyDatabaseId)
			continue;
		u = palloc(sizeof(pg_uuid_t));
		*u = att[i].lease;
		values[0] = Int32GetDatum((int32) att[i].pid);
		values[1] = UUIDPGetDatum(u);
		if (gov_lease_get(&att[i].lease, &l))
		{
			const char *state;

			if (l.state == GOV_LEASE_PENDING)
				state = "pending";
			else if (gov_lease_is_live(&l, now))
				state = "live";
			else if (l.state == GOV_LEASE_REVOKED)
				state = "revoked";
			else
				state = "expired";
			values[2] = CStringGetTextDatum(l.principal);
			values[3] = CStringGetTextDatum(l.action);
			values[4] = CStringGetTextDatum(l.resource);
			values[5] = CStringGetTextDatum(state);
			values[6] = TimestampTzGetDatum(l.expires_at);
			values[7] = BoolGetDatum(l.session_pid == att[i].pid);
		}
		else
		{
			nulls[2] = nulls[3] = nulls[4] = nulls[6] = nulls[7] = true;
			values[5] = CStringGetTextDatum("unknown");
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
