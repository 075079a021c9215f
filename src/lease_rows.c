/*-------------------------------------------------------------------------
 *
 * lease_rows.c
 *	  The durable rows of leases and agents: governance.leases column by
 *	  column, reading and locking a lease's row and its ancestors' (the
 *	  lock order of docs/DESIGN.md, "Invariants"), and an agent's
 *	  registration with its lease limit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/catalog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type_d.h"
#include "commands/async.h"
#include "common/int.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common.h"
#include "lease_rows.h"
#include "ledger.h"
#include "rowio.h"
#include "spi_cache.h"

static const char *const lease_columns[L_NATTS] = {
	"lease_id", "parent_id", "ancestors", "depth", "principal", "action", "resource",
	"context", "context_hash", "measurement", "policy_set_hash", "role_oid",
	"authorized_by", "issued_at", "ttl", "expires_at", "max_expiry", "state",
	"session_bound", "generation", "ended_at", "end_reason", "key_id",
	"artifact_hash", "first_seq", "tenant"
};


int			gov_max_leases_per_principal = 1000;
bool		gov_notify_lease_end_enabled = true;

void
gov_lease_rows_define_gucs(void)
{
	DefineCustomIntVariable("governance.max_leases_per_principal",
							"Most leases one principal may hold in shared memory (live, or ended and not yet cleared).",
							"An agent registered with its own max_leases is held to that instead.",
							&gov_max_leases_per_principal,
							1000, 0, 10000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("governance.notify_lease_end",
							 "Announces every ended lease on the channel governance_lease_end.",
							 "PostgreSQL serializes the commits of transactions that notify; off removes that from revocations and expiries.",
							 &gov_notify_lease_end_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

void
gov_leases_open(GovRowIO *io)
{
	Oid			relid = gov_relid("leases");

	/*
	 * The upgrade window (the 0.2 library on the 0.1 catalog,
	 * docs/DESIGN.md): the table has no tenant column yet, which is the last;
	 * rows written then have no tenant, as the update leaves them.
	 */
	gov_rowio_open(io, relid, lease_columns,
				   get_attnum(relid, "tenant") == InvalidAttrNumber ? L_TENANT : L_NATTS);
}

/*
 * Read a lease row, locking it as asked.  Lock order everywhere: ancestors
 * top down, then the lease itself; a row is never locked FOR SHARE and
 * later FOR UPDATE by the same transaction (that upgrade deadlocks).
 */
GovLeaseRow
gov_lease_row(const pg_uuid_t *id, GovRowLock mode)
{
	GovLeaseRow p = {0};
	int			rc;
	bool		isnull;
	HeapTuple	t;
	TupleDesc	d;
	const char *sql;
	Oid			argtypes[] = {UUIDOID};
	Datum		values[] = {UUIDPGetDatum(id)};

	sql = mode == GOV_ROW_UPDATE ?
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1 FOR NO KEY UPDATE" :
		mode == GOV_ROW_UPDATE_NOWAIT ?
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1 FOR NO KEY UPDATE NOWAIT" :
		mode == GOV_ROW_SHARE ?
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1 FOR SHARE" :
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1";
	rc = gov_spi_exec(sql, 1, argtypes, values, NULL, mode == GOV_ROW_NO_LOCK, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.leases");
	if (SPI_processed == 0)
		return p;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	p.found = true;
	p.state = SPI_getvalue(t, d, 1);
	p.expires_at = DatumGetTimestampTz(SPI_getbinval(t, d, 2, &isnull));
	p.max_expiry = DatumGetTimestampTz(SPI_getbinval(t, d, 3, &isnull));
	p.depth = DatumGetInt32(SPI_getbinval(t, d, 4, &isnull));
	p.principal = SPI_getvalue(t, d, 5);
	p.ancestors = datumCopy(SPI_getbinval(t, d, 6, &isnull), false, -1);
	p.live = strcmp(p.state, "live") == 0 && GetCurrentTimestamp() < p.expires_at;
	return p;
}

/* Lock every ancestor FOR SHARE, top down; false if one is not live. */
bool
gov_lock_ancestors(Datum ancestors, pg_uuid_t *dead)
{
	ArrayType  *anc = DatumGetArrayTypeP(ancestors);
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	bool		ok = true;

	deconstruct_array(anc, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, &enulls, &n);
	for (i = 0; i < n; i++)
	{
		GovLeaseRow a = gov_lease_row(DatumGetUUIDP(elems[i]), GOV_ROW_SHARE);

		if (ok && (!a.found || !a.live))
		{
			*dead = *DatumGetUUIDP(elems[i]);
			ok = false;
		}
	}
	return ok;
}

/* longest payload sent: a lease id, a state and the start of the reason */
#define GOV_LEASE_END_PAYLOAD_MAX 1200

void
gov_notify_lease_end(const pg_uuid_t *id, const char *state, const char *reason)
{
	char	   *payload;
	int			len;

	if (!gov_notify_lease_end_enabled)
		return;
	payload = psprintf("%s %s %s", gov_uuid_text(id), state, reason ? reason : "");
	/* NOTIFY refuses payloads of 8000 bytes or more; reasons are shorter */
	len = strlen(payload);
	if (len > GOV_LEASE_END_PAYLOAD_MAX)
		payload[pg_mbcliplen(payload, len, GOV_LEASE_END_PAYLOAD_MAX)] = '\0';
	Async_Notify(GOV_LEASE_END_CHANNEL, payload);
	pfree(payload);
}

static const char *const agent_columns[] = {
	"principal", "role_oid", "public_key", "registered_at", "registered_by", "max_leases"
};

GovAgentRow
gov_agent_row(const char *principal)
{
	GovAgentRow a = {0};
	Datum		values[lengthof(agent_columns)];
	bool		nulls[lengthof(agent_columns)];

	if (!gov_row_read_text_key(gov_relid("agents"), agent_columns, lengthof(agent_columns),
							   principal, values, nulls))
		return a;
	a.found = true;
	a.role = DatumGetObjectId(values[1]);
	a.public_key = nulls[2] ? NULL : DatumGetByteaPP(values[2]);
	a.lease_limit = nulls[5] ? gov_max_leases_per_principal : DatumGetInt32(values[5]);
	return a;
}
