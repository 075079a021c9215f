/*-------------------------------------------------------------------------
 *
 * heartbeat.c
 *	  heartbeat(): renew a live lease after checking its runtime
 *	  measurement, the policy and its place within its parent; any failure
 *	  revokes it at once (revoke.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/catalog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
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

#include "artifact.h"
#include "authz.h"
#include "encode.h"
#include "events.h"
#include "common.h"
#include "rowio.h"
#include "spi_cache.h"
#include "lease.h"
#include "ledger.h"
#include "policy.h"
#include "pop.h"
#include "revoke.h"
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"
#include "lease_rows.h"

/*
 * A lease that shared memory has ended is not renewed; only its holder
 * (or an administrator) learns why, as after the lock.
 */
static void
refuse_revoked(const pg_uuid_t *id, const GovLeaseSnapshot *l)
{
	if (l->role != GetOuterUserId() && !gov_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the holder of lease %s may renew it", gov_uuid_text(id))));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("lease %s is revoked", gov_uuid_text(id)),
			 l->end_reason[0] ? errdetail("It was revoked: %s", l->end_reason) : 0));
}

/*
 * heartbeat(lease_id uuid, measurement bytea DEFAULT NULL) -> timestamptz
 *
 * The measurement must equal the one bound at authorization (NULL only if
 * none was); a difference revokes the lease (integrity).  The original
 * request is decided again against today's policies and entities; a deny
 * revokes it (policy).  In both cases the revocation commits with the
 * transaction, the function warns and returns NULL.  Otherwise expiry
 * moves forward by the lease's TTL, never past its max expiry nor its
 * parent's expiry.
 */
PG_FUNCTION_INFO_V1(gov_sql_heartbeat);
Datum
gov_sql_heartbeat(PG_FUNCTION_ARGS)
{
	pg_uuid_t	id;
	bytea	   *m = PG_ARGISNULL(1) ? NULL : PG_GETARG_BYTEA_PP(1);
	GovRowIO	io;
	TupleTableSlot *row;
	Datum		stored_m;
	bool		m_null;
	bool		same;
	Oid			role;
	char	   *principal;
	char	   *action;
	char	   *resource;
	Jsonb	   *context;
	int64		ttl_us;
	TimestampTz max_expiry;
	TimestampTz new_exp;
	TimestampTz now;
	char	   *state;
	char	   *why;
	GovRequest	req;
	GovDecision dec;
	char	   *revoke_reason = NULL;
	char	   *revoke_brief = NULL;
	Datum		parent = (Datum) 0;
	bool		has_parent;
	GovJson		j;
	GovEvent	ev;
	MemoryContext caller = CurrentMemoryContext;

	GOV_ENTRY();
	memset(&dec, 0, sizeof(dec));
	gov_require_primary("heartbeat()");
	id = gov_arg_uuid(fcinfo, 0, "lease id");

	SPI_connect();

	/*
	 * Ancestors first, top down, then the lease (see gov_lease_row).  A lease
	 * shared memory knows to be a root has no ancestors to lock (a lease's
	 * parent never changes), which spares the read that finds them.
	 */
	{
		GovLeaseSnapshot snap;
		bool		known = gov_lease_get(&id, &snap);

		/* before any lock: a revocation under way must not wait for us */
		if (known && snap.state == GOV_LEASE_REVOKED)
			refuse_revoked(&id, &snap);
		if (!known || snap.has_parent)
		{
			GovLeaseRow self = gov_lease_row(&id, GOV_ROW_NO_LOCK);
			pg_uuid_t	dead;

			if (self.found)
				(void) gov_lock_ancestors(self.ancestors, &dead);
		}
	}
	gov_leases_open(&io);
	if (!gov_rowio_lock_uuid(&io, &id))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lease %s does not exist", gov_uuid_text(&id))));
	/* revoked while we waited for the lock: let go of it (the error does) */
	{
		GovLeaseSnapshot snap;

		if (gov_lease_get(&id, &snap) && snap.state == GOV_LEASE_REVOKED)
			refuse_revoked(&id, &snap);
	}
	row = io.row;
	state = TextDatumGetCString(row->tts_values[L_STATE]);
	now = GetCurrentTimestamp();
	role = DatumGetObjectId(row->tts_values[L_ROLE_OID]);
	if (role != GetOuterUserId() && !gov_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the holder of lease %s may renew it", gov_uuid_text(&id))));
	if (strcmp(state, "live") != 0 ||
		DatumGetTimestampTz(row->tts_values[L_EXPIRES_AT]) <= now)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lease %s is %s", gov_uuid_text(&id),
						strcmp(state, "live") == 0 ? "expired" : state)));
	max_expiry = DatumGetTimestampTz(row->tts_values[L_MAX_EXPIRY]);
	principal = TextDatumGetCString(row->tts_values[L_PRINCIPAL]);
	action = TextDatumGetCString(row->tts_values[L_ACTION]);
	resource = TextDatumGetCString(row->tts_values[L_RESOURCE]);
	context = DatumGetJsonbPCopy(row->tts_values[L_CONTEXT]);

	/* proof of possession by the lease's agent, before anything changes */
	{
		GovAgentRow agent = gov_agent_row(principal);
		GovPopRequest req;

		memset(&req, 0, sizeof(req));
		req.op = GOV_POP_HEARTBEAT;
		req.lease_id = id.data;
		if (m)
		{
			req.measurement = (const uint8 *) VARDATA_ANY(m);
			req.measurement_len = VARSIZE_ANY_EXHDR(m);
		}
		gov_pop_check(&req, principal, &agent, gov_pop_arg(fcinfo, 2), &id);
	}
	m_null = row->tts_isnull[L_MEASUREMENT];
	stored_m = row->tts_values[L_MEASUREMENT];
	ttl_us = gov_interval_us(DatumGetIntervalP(row->tts_values[L_TTL]));
	has_parent = !row->tts_isnull[L_PARENT_ID];
	if (has_parent)
		parent = UUIDPGetDatum(DatumGetUUIDP(datumCopy(row->tts_values[L_PARENT_ID], false, UUID_LEN)));

	/* integrity: the runtime must be the one the lease was issued for */
	if (m_null || m == NULL)
		same = m_null && m == NULL;
	else
	{
		bytea	   *sm = DatumGetByteaPP(stored_m);

		same = VARSIZE_ANY_EXHDR(sm) == VARSIZE_ANY_EXHDR(m) &&
			memcmp(VARDATA_ANY(sm), VARDATA_ANY(m), VARSIZE_ANY_EXHDR(m)) == 0;
	}
	if (!same)
		revoke_reason = pstrdup("integrity: the runtime measurement changed");

	/*
	 * While trust is degraded nothing is renewed, but nothing is revoked
	 * either: the cause may pass (an enforcer restarting), and the lease
	 * simply expires if it does not.
	 */
	if (revoke_reason == NULL && !gov_trusted(&why))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lease %s not renewed: trust degraded: %s", gov_uuid_text(&id), why)));
	/* continuity: would the policy still allow it? */
	if (revoke_reason == NULL)
	{
		memset(&req, 0, sizeof(req));
		req.principal = principal;
		req.action = action;
		req.resource = gov_subtree_root(resource) ? gov_subtree_root(resource) : resource;
		req.context = context;
		if (gov_subtree_root(resource) != NULL)
			gov_policy_decide_subtree(&req, &dec);
		else
			gov_policy_decide(&req, &dec);
		if (!dec.allow)
		{
			revoke_reason = psprintf("policy: %s",
									 dec.reasons ? (char *) linitial(dec.reasons) : "the policy now denies it");
			revoke_brief = pstrdup("policy: the policy now denies it");
		}
	}
	/* attenuation: entities may have moved since the delegation */
	if (revoke_reason == NULL && has_parent)
	{
		GovLeaseSnapshot p;
		char	   *error = NULL;
		int			in;

		if (gov_lease_get(DatumGetUUIDP(parent), &p) &&
			(in = gov_resource_within(resource, p.resource, &error)) != 1)
		{
			revoke_reason = in == 0 ?
				psprintf("attenuation: resource %s is no longer within its parent lease's resource %s",
						 resource, p.resource) :
				psprintf("attenuation: whether resource %s is within %s cannot be settled: %s",
						 resource, p.resource, error);
			revoke_brief = pstrdup("attenuation: its resource is no longer within its parent lease's");
		}
	}

	if (revoke_reason)
	{
		int64		n;

		/*
		 * Access ends now, for the lease and its descendants, even if this
		 * transaction then fails; no holder of their locks delays it long.
		 */
		gov_rowio_close(&io);
		n = gov_revoke_at_once(&id, revoke_reason);
		if (revoke_brief && gov_deny_reasons == GOV_REASONS_SHORT && !gov_caller_is_admin())
			revoke_reason = revoke_brief;	/* the ledger has it in full */
		/* out of SPI's memory, which SPI_finish() frees */
		revoke_reason = MemoryContextStrdup(caller, revoke_reason);
		SPI_finish();
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("lease %s revoked: %s", gov_uuid_text(&id), revoke_reason),
				 errdetail("%lld lease(s) ended, descendants included.", (long long) n)));
		PG_RETURN_NULL();
	}

	new_exp = now + ttl_us;
	if (new_exp > max_expiry)
		new_exp = max_expiry;
	if (has_parent)
	{
		GovLeaseRow p = gov_lease_row(DatumGetUUIDP(parent), GOV_ROW_NO_LOCK);	/* locked above */

		if (!p.found || !p.live)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the parent of lease %s is no longer live", gov_uuid_text(&id))));
		if (p.expires_at < new_exp)
			new_exp = p.expires_at;
	}

	{
		Datum		values[L_NATTS];
		bool		nulls[L_NATTS];

		/* L_NATTS columns, or fewer in the upgrade window (lease_rows.c) */
		int			natts = RelationGetDescr(io.rel)->natts;

		memset(values, 0, sizeof(values));
		memset(nulls, true, sizeof(nulls));
		memcpy(values, row->tts_values, sizeof(Datum) * natts);
		memcpy(nulls, row->tts_isnull, sizeof(bool) * natts);
		values[L_EXPIRES_AT] = TimestampTzGetDatum(new_exp);
		values[L_GENERATION] = Int64GetDatum(DatumGetInt64(row->tts_values[L_GENERATION]) + 1);
		gov_rowio_update(&io, values, nulls);
	}
	gov_rowio_close(&io);
	gov_lease_commit_renew(&id, new_exp);

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "expires_at");
	gj_str(&j, gov_iso_timestamp(new_exp));
	gj_key(&j, "policy_set_hash");
	gj_hex(&j, dec.policy_set_hash, GOV_HASH_LEN);
	gj_end_object(&j);
	memset(&ev, 0, sizeof(ev));
	ev.kind = "governance.heartbeat";
	ev.lease_id = &id;
	ev.principal = principal;
	ev.action = action;
	ev.resource = resource;
	ev.payload = gj_finish(&j);
	(void) gov_ledger_append(&ev);

	SPI_finish();
	PG_RETURN_TIMESTAMPTZ(new_exp);
}

/*
 * The 0.2 definition, with the trailing proof argument (a new symbol: the
 * 0.1 catalog calls gov_sql_heartbeat with one argument fewer until the update,
 * and gov_pop_arg() then sees no proof).
 */
PG_FUNCTION_INFO_V1(gov_sql_heartbeat_pop);
Datum
gov_sql_heartbeat_pop(PG_FUNCTION_ARGS)
{
	return gov_sql_heartbeat(fcinfo);
}
