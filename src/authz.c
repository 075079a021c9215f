/*-------------------------------------------------------------------------
 *
 * authz.c
 *	  register_agent, authorize, delegate, heartbeat, revoke and
 *	  verify_artifact: the lease lifecycle from SQL.
 *
 *	  Durable state lives in governance.leases; live state in the shared
 *	  lease table (lease.c), to which every change is applied when its
 *	  transaction commits.  Every decision and every change is ledgered on
 *	  the lease's own chain.
 *
 *	  Concurrency (the "no live orphan" rule)
 *	  ---------------------------------------
 *	  delegate() locks the durable rows of all the parent's ancestors and
 *	  of the parent FOR SHARE, top down, and checks that each is live after
 *	  the lock.  revoke() locks the lease it revokes FOR NO KEY UPDATE
 *	  (which conflicts with FOR SHARE, not with the KEY SHARE of a foreign
 *	  key check), then, in a new statement (so with a snapshot taken after
 *	  the lock), finds and ends every live descendant.  A delegation under
 *	  any part of the subtree either committed before the revocation took
 *	  its lock (and is found) or waits for it (and then sees a revoked
 *	  ancestor).  Both therefore require READ COMMITTED, whose statements
 *	  take fresh snapshots.  heartbeat() locks its lease FOR UPDATE, so it
 *	  serializes with revoke() on the same lease.
 *
 *	  Before it takes any lock, revoke() ends the tree in shared memory,
 *	  and it waits for the locks above only for a bounded time, then ends
 *	  the sessions of the transactions that hold them (revoke.c).  So
 *	  heartbeat() and delegate() refuse a lease or parent that shared
 *	  memory has ended before they lock anything: a revocation under way
 *	  never waits for a lock taken after it began.
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
#include "lease_rows.h"
#include "encode.h"
#include "events.h"
#include "common.h"
#include "rowio.h"
#include "spi_cache.h"
#include "stats.h"
#include "lease.h"
#include "ledger.h"
#include "policy.h"
#include "pop.h"
#include "revoke.h"
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"

int			gov_max_lease_ttl_ms = 3600 * 1000;
int			gov_max_delegation_depth = 8;

/* What callers who are not governance_admin see of the reasons */
static const struct config_enum_entry reasons_options[] = {
	{"short", GOV_REASONS_SHORT, false},
	{"full", GOV_REASONS_FULL, false},
	{NULL, 0, false}
};

int			gov_deny_reasons = GOV_REASONS_SHORT;


void
gov_authz_define_gucs(void)
{
	DefineCustomIntVariable("governance.max_lease_ttl",
							"Longest a lease may live from its authorization, heartbeats included.",
							NULL,
							&gov_max_lease_ttl_ms,
							3600 * 1000, 1000, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("governance.max_delegation_depth",
							"Deepest chain of delegations below an authorization.",
							NULL,
							&gov_max_delegation_depth,
							8, 0, 64,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("governance.deny_reasons",
							 "What authorize() and delegate() tell callers who are not governance_admin about why.",
							 "short: one line that names no policy, entity or evaluation error; full: every reason, as the ledger records them.",
							 &gov_deny_reasons,
							 GOV_REASONS_SHORT,
							 reasons_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------
 */







static void
new_uuid(pg_uuid_t *u)
{
	uint64		ms = (uint64) (GetCurrentTimestamp() / 1000 +
							   (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * (uint64) 86400000);
	int			i;

	/*
	 * A version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, then
	 * 74 random bits.  Ids issued close in time sort close together, so the
	 * lease table's primary key and the ledger's lease index take new entries
	 * at their right edge instead of on random pages; the random part keeps
	 * an id unguessable.  The issue time it reveals is in the artifact's
	 * claims anyway.
	 */
	gov_random_bytes(u->data + 6, UUID_LEN - 6);
	for (i = 0; i < 6; i++)
		u->data[i] = (uint8) (ms >> (8 * (5 - i)));
	u->data[6] = (u->data[6] & 0x0f) | 0x70;
	u->data[8] = (u->data[8] & 0x3f) | 0x80;
}

static void
context_hash(Jsonb *context, uint8 *out)
{
	StringInfoData s;

	initStringInfo(&s);
	gov_canonical_json(&s, context);
	gov_sha3_512(s.data, s.len, out);
	pfree(s.data);
}


static void
add_text_array(GovJson *j, const char *key, List *items)
{
	ListCell   *lc;

	gj_key(j, key);
	gj_begin_array(j);
	foreach(lc, items)
		gj_str(j, (const char *) lfirst(lc));
	gj_end_array(j);
}

static Datum
text_array_datum(List *items)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(list_length(items), 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, items)
		d[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(d, i, TEXTOID, -1, false, TYPALIGN_INT));
}

/* ---------------------------------------------------------------------
 * Decisions
 * ---------------------------------------------------------------------
 */

typedef struct Request
{
	char	   *principal;
	char	   *action;
	char	   *resource;
	Jsonb	   *context;
	int64		ttl_us;
	bytea	   *measurement;
	bool		has_parent;
	pg_uuid_t	parent;
} Request;

typedef struct Outcome
{
	bool		allow;
	List	   *reasons;		/* in full: the ledger's, and an admin's */
	char	   *brief;			/* the one line other callers see by default */
	List	   *determining;
	uint8		policy_hash[GOV_HASH_LEN];
	bool		on_behalf;
	Oid			holder;			/* the role registered for the principal */
	int			lease_limit;	/* most leases the principal may hold */
	pg_uuid_t	lease_id;
	char	   *artifact;
	TimestampTz expires_at;
	bool		has_agent_key;	/* the principal's agent has a key */
	char		agent_key_id[GOV_KEY_ID_LEN + 1];
	char	   *schema_error;	/* the request disagrees with the Cedar schema */
} Outcome;

static void
read_request(FunctionCallInfo fcinfo, int first, Request *r)
{
	Interval   *ttl;

	r->principal = gov_arg_text(fcinfo, first, "principal");
	r->action = gov_arg_text(fcinfo, first + 1, "action");
	r->resource = gov_arg_text(fcinfo, first + 2, "resource");
	gov_check_uid("principal", r->principal);
	r->action = gov_normalize_action(r->action);
	gov_check_uid("action", r->action);
	if (gov_subtree_root(r->resource) != NULL)
		gov_check_uid("resource", gov_subtree_root(r->resource));
	else
		gov_check_uid("resource", r->resource);
	if (strlen(r->resource) >= GOV_UID_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resource is too long"),
				 errdetail("At most %d bytes.", GOV_UID_MAX - 1)));

	if (PG_ARGISNULL(first + 3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("context must not be NULL"),
				 errhint("Use '{}' for a request without context.")));
	r->context = PG_GETARG_JSONB_P(first + 3);
	if (!JB_ROOT_IS_OBJECT(r->context) || JB_ROOT_IS_SCALAR(r->context))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context must be a JSON object")));
	if (VARSIZE(r->context) > (Size) gov_max_payload_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("context is too large (%zu bytes, governance.max_payload_size is %d)",
						(size_t) VARSIZE(r->context), gov_max_payload_bytes)));

	if (PG_ARGISNULL(first + 4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ttl must not be NULL")));
	ttl = PG_GETARG_INTERVAL_P(first + 4);
	r->ttl_us = gov_interval_us(ttl);
	if (r->ttl_us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be positive")));
	if (r->ttl_us > (int64) gov_max_lease_ttl_ms * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl exceeds governance.max_lease_ttl (%d ms)", gov_max_lease_ttl_ms)));
}

/*
 * Proof of possession for authorize() and delegate(): by the agent
 * registered for signer (the principal; for a delegation the parent's).
 */
static void
check_proof(const Request *r, GovPopOp op, const char *signer, text *proof,
			const uint8 *ctx_hash, const char *action_as_passed)
{
	GovAgentRow agent = gov_agent_row(signer);
	GovPopRequest req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	req.principal = r->principal;
	req.action = action_as_passed;
	req.resource = r->resource;
	req.context_hash = ctx_hash;
	req.has_ttl = true;
	req.ttl_us = r->ttl_us;
	if (r->has_parent)
		req.lease_id = r->parent.data;
	if (r->measurement)
	{
		req.measurement = (const uint8 *) VARDATA_ANY(r->measurement);
		req.measurement_len = VARSIZE_ANY_EXHDR(r->measurement);
	}
	gov_pop_check(&req, signer, &agent, proof, r->has_parent ? &r->parent : NULL);
}

/*
 * Ledger the decision on the lease's chain (or unbound for a deny).  An
 * allow names the new lease's tenant (NULL: none, and no member), so the
 * tenant is inside the evidence hash of the execution's first row, which
 * every later row of the execution reaches through its chain
 * (docs/DESIGN.md, "Tenants"; FORMAT.md section 15).
 */
static int64
ledger_decision(const char *kind, const Request *r, const Outcome *o, const uint8 *ctx_hash,
				int64 parent_seq, const char *tenant)
{
	GovJson		j;
	GovEvent	ev;

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "decision");
	gj_str(&j, o->allow ? "allow" : "deny");
	add_text_array(&j, "reasons", o->reasons);
	add_text_array(&j, "determining_policies", o->determining);
	gj_key(&j, "policy_set_hash");
	gj_hex(&j, o->policy_hash, GOV_HASH_LEN);
	gj_key(&j, "context_sha3_512");
	gj_hex(&j, ctx_hash, GOV_HASH_LEN);
	gj_key(&j, "caller");
	gj_str(&j, gov_caller_name());
	gj_key(&j, "on_behalf");
	gj_bool(&j, o->on_behalf);
	if (r->has_parent)
	{
		gj_key(&j, "parent");
		gj_str(&j, gov_uuid_text(&r->parent));
	}
	if (o->allow)
	{
		gj_key(&j, "expires_at");
		gj_str(&j, gov_iso_timestamp(o->expires_at));
	}
	if (o->allow && tenant != NULL)
	{
		gj_key(&j, "tenant");
		gj_str(&j, tenant);
	}
	gj_end_object(&j);

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.lease_id = o->allow ? &o->lease_id : NULL;
	ev.new_chain = o->allow;	/* issue() has just generated the lease id */
	ev.principal = r->principal;
	ev.action = r->action;
	ev.resource = r->resource;
	ev.payload = gj_finish(&j);
	ev.parent_seq = parent_seq;

	/*
	 * A deny must leave a trace even when the caller rolls back (or an
	 * exception block or ROLLBACK TO undoes the call): otherwise an agent
	 * could probe the policy unseen.  Registered before the append, so an
	 * append that fails is covered too.  Allows need no such thing: their
	 * lease dies with the transaction.
	 */
	if (!o->allow)
		gov_security_event_on_abort(&ev);
	return gov_ledger_append(&ev);
}

/*
 * A request the Cedar schema refuses (decide() set o->schema_error): ledger
 * it as a deny (which survives the error), then raise 22023.
 */
static void
refuse_schema(const char *kind, const Request *r, const Outcome *o, const uint8 *ctx_hash)
{
	(void) ledger_decision(kind, r, o, ctx_hash, 0, NULL);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("request does not agree with the Cedar schema: %s", o->schema_error),
			 errdetail("Nothing was issued; the refusal is ledgered."),
			 errhint("The schema is governance.cedar_schema (set by governance.set_schema).")));
}

/*
 * The checks every authorization shares: trust, the caller's identity,
 * and the policy.  Fills o; o->allow false with reasons on any failure.
 */
static void
decide(const Request *r, Outcome *o, bool delegation)
{
	char	   *why;
	GovAgentRow agent;
	GovRequest	req;
	GovDecision d;

	memset(o, 0, sizeof(*o));

	if (!gov_trusted(&why))
	{
		/* trust_state() tells any governance role as much */
		o->reasons = list_make1(psprintf("trust degraded: %s", why));
		o->brief = linitial(o->reasons);
		return;
	}

	/*
	 * An unregistered principal and one registered to another role look the
	 * same to the caller: the short reason is no registration oracle.
	 */
	agent = gov_agent_row(r->principal);
	if (!agent.found)
	{
		o->reasons = list_make1(psprintf("principal %s is not registered", r->principal));
		o->brief = delegation ?
			psprintf("principal %s cannot receive a delegation", r->principal) :
			psprintf("role %s may not act as %s", gov_caller_name(), r->principal);
		return;
	}
	o->holder = agent.role;
	o->lease_limit = agent.lease_limit;
	if (agent.public_key && VARSIZE_ANY_EXHDR(agent.public_key) == GOV_ED25519_PK_LEN)
	{
		o->has_agent_key = true;
		gov_key_id((const uint8 *) VARDATA_ANY(agent.public_key), o->agent_key_id);
	}
	if (delegation)
	{
		/* the caller holds the parent (checked by delegate()) */
	}
	else if (agent.role != GetOuterUserId())
	{
		if (!gov_caller_is_admin())
		{
			o->reasons = list_make1(psprintf("role %s may not act as %s",
											 gov_caller_name(), r->principal));
			o->brief = linitial(o->reasons);
			return;
		}
		o->on_behalf = true;
	}

	memset(&req, 0, sizeof(req));
	req.principal = r->principal;
	req.action = r->action;
	req.resource = gov_subtree_root(r->resource) ? gov_subtree_root(r->resource) : r->resource;
	req.context = r->context;

	/*
	 * Issue 17: a request the Cedar schema refuses is no request to decide.
	 * The caller ledgers the refusal, then raises the error.
	 */
	if (!gov_policy_check_request(&req, &why))
	{
		o->schema_error = why;
		o->reasons = list_make1(psprintf("request does not agree with the Cedar schema: %s", why));
		o->brief = pstrdup("the request does not agree with the Cedar schema");
		return;
	}
	if (gov_subtree_root(r->resource) != NULL)
		gov_policy_decide_subtree(&req, &d);
	else
		gov_policy_decide(&req, &d);
	o->allow = d.allow;
	o->reasons = d.reasons;
	o->determining = d.determining;
	memcpy(o->policy_hash, d.policy_set_hash, GOV_HASH_LEN);
	if (o->reasons == NIL)
		o->reasons = list_make1(pstrdup(d.allow ? "allowed by policy" : "no policy permits this request"));
	/* which policies there are, and how they fared, is the admins' to know */
	o->brief = pstrdup(d.allow ? "allowed by policy" : "denied by policy");
}


/*
 * The tenant of a new lease (docs/DESIGN.md, "Tenants"): a delegated lease
 * inherits its parent's; a root lease's is the principal's ancestor of
 * type Tenant through put_entity parents (the principal itself if it is a
 * Tenant), NULL when there is none.  More than one is refused: a lease
 * belongs to one tenant's evidence or to none.
 */
static Datum
lease_tenant(const Request *r, bool *isnull)
{
	int			rc;
	Datum		d;

	*isnull = true;
	/* the upgrade window: the 0.1 catalog has no tenants (lease_rows.c) */
	if (get_attnum(gov_relid("leases"), "tenant") == InvalidAttrNumber)
		return (Datum) 0;
	if (r->has_parent)
	{
		Oid			argtypes[] = {UUIDOID};
		Datum		values[] = {UUIDPGetDatum(&r->parent)};

		rc = gov_spi_exec("SELECT tenant FROM governance.leases WHERE lease_id = $1",
						  1, argtypes, values, NULL, false, 1);
	}
	else
	{
		Oid			argtypes[] = {TEXTOID};
		Datum		values[] = {CStringGetTextDatum(r->principal)};

		rc = gov_spi_exec("WITH RECURSIVE up(uid, d) AS ("
						  " SELECT $1::text, 0"
						  " UNION SELECT p.p, up.d + 1 FROM up"
						  " JOIN governance.entities e ON e.uid = up.uid,"
						  " LATERAL unnest(e.parents) AS p(p) WHERE up.d < 64)"
						  " SELECT DISTINCT uid FROM up WHERE uid LIKE 'Tenant::%' ORDER BY uid LIMIT 2",
						  1, argtypes, values, NULL, false, 2);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the tenant of a new lease");
	if (SPI_processed == 0)
		return (Datum) 0;
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("principal %s is in more than one tenant", r->principal),
				 errdetail("It is within %s and %s through its entity parents.",
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
						   SPI_getvalue(SPI_tuptable->vals[1], SPI_tuptable->tupdesc, 1)),
				 errhint("Give the principal at most one ancestor of type Tenant.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	return *isnull ? (Datum) 0 : datumCopy(d, false, -1);
}

/*
 * Issue the lease: shared memory first (it may be full), then the durable
 * row, the ledger event and the artifact.
 */
static void
issue(const Request *r, Outcome *o, const uint8 *ctx_hash, int depth,
	  TimestampTz parent_expires, TimestampTz parent_max, Datum ancestors,
	  int64 parent_seq)
{
	GovLease	l;
	GovClaims	c;
	TimestampTz now = GetCurrentTimestamp();
	int64		first_seq;
	uint8		art_hash[GOV_HASH_LEN];
	bool		tenant_null;
	Datum		tenant = lease_tenant(r, &tenant_null);

	memset(&l, 0, sizeof(l));
	new_uuid(&l.id);
	o->lease_id = l.id;
	l.has_parent = r->has_parent;
	if (r->has_parent)
		l.parent = r->parent;
	l.dboid = MyDatabaseId;
	l.role = o->holder;
	l.depth = depth;
	l.ttl_us = r->ttl_us;
	l.max_expiry = now + (int64) gov_max_lease_ttl_ms * 1000;
	if (parent_max != 0 && parent_max < l.max_expiry)
		l.max_expiry = parent_max;
	l.expires_at = now + r->ttl_us;
	if (l.expires_at > l.max_expiry)
		l.expires_at = l.max_expiry;
	if (parent_expires != 0 && parent_expires < l.expires_at)
		l.expires_at = parent_expires;
	l.has_measurement = (r->measurement != NULL);
	strlcpy(l.principal, r->principal, GOV_UID_MAX);
	strlcpy(l.action, r->action, GOV_UID_MAX);
	strlcpy(l.resource, r->resource, GOV_UID_MAX);
	o->expires_at = l.expires_at;

	if (r->measurement)
	{
		uint8		mh[GOV_HASH_LEN];

		gov_blake2b_512(VARDATA_ANY(r->measurement), VARSIZE_ANY_EXHDR(r->measurement), mh);
		memcpy(l.measurement, mh, sizeof(l.measurement));
	}

	gov_lease_insert_pending(&l, o->lease_limit);

	memset(&c, 0, sizeof(c));
	c.lease_id = l.id;
	c.has_parent = r->has_parent;
	c.parent = r->parent;
	c.principal = r->principal;
	c.action = r->action;
	c.resource = r->resource;
	memcpy(c.context_hash, ctx_hash, GOV_HASH_LEN);
	memcpy(c.policy_hash, o->policy_hash, GOV_HASH_LEN);
	c.measurement = r->measurement;
	c.issued_at = now;
	c.expires_at = l.expires_at;
	c.max_expiry = l.max_expiry;
	c.depth = depth;
	c.has_agent_key = o->has_agent_key;
	memcpy(c.agent_key_id, o->agent_key_id, sizeof(c.agent_key_id));
	o->artifact = gov_artifact_issue(&c);
	gov_sha3_512(o->artifact, strlen(o->artifact), art_hash);

	first_seq = ledger_decision("governance.authorize", r, o, ctx_hash, parent_seq,
								tenant_null ? NULL : TextDatumGetCString(tenant));

	{
		GovRowIO	io;
		Datum		values[L_NATTS];
		bool		nulls[L_NATTS];
		Interval   *ttl = palloc0(sizeof(Interval));

		ttl->time = r->ttl_us;
		memset(nulls, 0, sizeof(nulls));
		values[L_LEASE_ID] = UUIDPGetDatum(&l.id);
		if (r->has_parent)
			values[L_PARENT_ID] = UUIDPGetDatum(&r->parent);
		else
			nulls[L_PARENT_ID] = true;
		values[L_ANCESTORS] = ancestors;
		values[L_DEPTH] = Int32GetDatum(depth);
		values[L_PRINCIPAL] = CStringGetTextDatum(r->principal);
		values[L_ACTION] = CStringGetTextDatum(r->action);
		values[L_RESOURCE] = CStringGetTextDatum(r->resource);
		values[L_CONTEXT] = JsonbPGetDatum(r->context);
		values[L_CONTEXT_HASH] = gov_bytea_datum(ctx_hash, GOV_HASH_LEN);
		if (r->measurement)
			values[L_MEASUREMENT] = PointerGetDatum(r->measurement);
		else
			nulls[L_MEASUREMENT] = true;
		values[L_POLICY_SET_HASH] = gov_bytea_datum(o->policy_hash, GOV_HASH_LEN);
		values[L_ROLE_OID] = ObjectIdGetDatum(l.role);
		values[L_AUTHORIZED_BY] = CStringGetTextDatum(gov_caller_name());
		values[L_ISSUED_AT] = TimestampTzGetDatum(now);
		values[L_TTL] = IntervalPGetDatum(ttl);
		values[L_EXPIRES_AT] = TimestampTzGetDatum(l.expires_at);
		values[L_MAX_EXPIRY] = TimestampTzGetDatum(l.max_expiry);
		values[L_STATE] = CStringGetTextDatum("live");
		values[L_SESSION_BOUND] = BoolGetDatum(false);
		values[L_GENERATION] = Int64GetDatum(1);
		nulls[L_ENDED_AT] = true;
		nulls[L_END_REASON] = true;
		values[L_KEY_ID] = CStringGetTextDatum(c.key_id);
		values[L_ARTIFACT_HASH] = gov_bytea_datum(art_hash, GOV_HASH_LEN);
		values[L_FIRST_SEQ] = Int64GetDatum(first_seq);
		values[L_TENANT] = tenant;
		nulls[L_TENANT] = tenant_null;

		gov_leases_open(&io);
		gov_rowio_insert(&io, values, nulls);
		gov_rowio_close(&io);
		/* as SPI would: attach() in the same statement finds it */
		CommandCounterIncrement();
	}
}

static Datum
outcome_datum(FunctionCallInfo fcinfo, const Outcome *o)
{
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	/* every decision authorize() and delegate() return passes here */
	gov_stat_add(o->allow ? GOV_STAT_AUTHORIZE_ALLOWED : GOV_STAT_AUTHORIZE_DENIED, 1);
	values[0] = CStringGetTextDatum(o->allow ? "allow" : "deny");
	if (o->allow)
	{
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = o->lease_id;
		values[1] = UUIDPGetDatum(u);
		values[2] = CStringGetTextDatum(o->artifact);
		values[3] = TimestampTzGetDatum(o->expires_at);
	}
	else
		nulls[1] = nulls[2] = nulls[3] = true;
	if (gov_deny_reasons == GOV_REASONS_FULL || gov_caller_is_admin())
		values[4] = text_array_datum(o->reasons);
	else
		values[4] = text_array_datum(list_make1(o->brief ? o->brief :
												pstrdup(o->allow ? "allowed" : "denied")));
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* Copy what the caller needs out of SPI memory. */
static void
outcome_to_caller(Outcome *o, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *reasons = NIL;
	ListCell   *lc;

	foreach(lc, o->reasons)
		reasons = lappend(reasons, pstrdup((char *) lfirst(lc)));
	o->reasons = reasons;
	if (o->brief)
		o->brief = pstrdup(o->brief);
	if (o->artifact)
		o->artifact = pstrdup(o->artifact);
	o->determining = NIL;
	MemoryContextSwitchTo(old);
}

/*
 * authorize(principal, action, resource, context, ttl, measurement)
 *   -> (decision, lease_id, artifact, expires_at, reasons)
 */
PG_FUNCTION_INFO_V1(gov_sql_authorize);
Datum
gov_sql_authorize(PG_FUNCTION_ARGS)
{
	Request		r;
	Outcome		o;
	uint8		ctx_hash[GOV_HASH_LEN];
	MemoryContext caller = CurrentMemoryContext;
	char	   *action_as_passed;

	GOV_ENTRY();
	gov_require_primary("authorize()");
	memset(&r, 0, sizeof(r));
	read_request(fcinfo, 0, &r);
	action_as_passed = text_to_cstring(PG_GETARG_TEXT_PP(1));
	r.measurement = PG_ARGISNULL(5) ? NULL : PG_GETARG_BYTEA_P(5);
	if (r.measurement && VARSIZE_ANY_EXHDR(r.measurement) > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("measurement is too long (at most 1024 bytes)")));
	context_hash(r.context, ctx_hash);

	SPI_connect();
	check_proof(&r, GOV_POP_AUTHORIZE, r.principal, gov_pop_arg(fcinfo, 6), ctx_hash,
				action_as_passed);
	decide(&r, &o, false);
	if (o.schema_error)
		refuse_schema("governance.authorize", &r, &o, ctx_hash);
	if (o.allow)
		issue(&r, &o, ctx_hash, 0, 0, 0,
			  PointerGetDatum(construct_empty_array(UUIDOID)), 0);
	else
		(void) ledger_decision("governance.authorize", &r, &o, ctx_hash, 0, NULL);
	outcome_to_caller(&o, caller);
	SPI_finish();
	PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
}





/* Latest event of a lease's chain, for linking a child's first event. */
static int64
chain_head(const pg_uuid_t *lease)
{
	int			rc;
	bool		isnull;
	Datum		d;
	Oid			argtypes[] = {UUIDOID};
	Datum		values[] = {UUIDPGetDatum(lease)};

	rc = gov_spi_exec("SELECT max(seq) FROM governance.ledger WHERE lease_id = $1",
					  1, argtypes, values, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0)
		return 0;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * A delegation only ever narrows what its parent holds, as capabilities
 * are attenuated: the child's action is the parent's, its resource the
 * parent's or one within it in the entity hierarchy (the relation the
 * policy language's "in" follows).  Otherwise o gets the deny's reasons.
 */
static void
attenuate(const Request *r, const GovLeaseSnapshot *parent, Outcome *o)
{
	char	   *error = NULL;
	int			in;

	if (strcmp(r->action, parent->action) != 0)
		o->reasons = list_make1(psprintf("delegation cannot widen its parent: action %s is not the parent lease's action %s",
										 r->action, parent->action));
	else if ((in = gov_resource_within(r->resource, parent->resource, &error)) == 0)
		o->reasons = list_make1(psprintf("delegation cannot widen its parent: resource %s is neither the parent lease's resource %s nor within it",
										 r->resource, parent->resource));
	else if (in < 0)
		o->reasons = list_make1(psprintf("delegation cannot widen its parent: whether resource %s is within %s cannot be settled: %s",
										 r->resource, parent->resource, error));
	else
		return;
	/* short: whether one entity is within another is not the agent's to probe */
	o->brief = pstrdup("delegation cannot widen its parent: the action must be the parent lease's, the resource the parent lease's or within it");
}

/*
 * delegate(parent uuid, principal, action, resource, context, ttl)
 *   -> same as authorize
 */
PG_FUNCTION_INFO_V1(gov_sql_delegate);
Datum
gov_sql_delegate(PG_FUNCTION_ARGS)
{
	Request		r;
	Outcome		o;
	uint8		ctx_hash[GOV_HASH_LEN];
	MemoryContext caller = CurrentMemoryContext;
	GovLeaseRow parent;
	ArrayType  *anc;
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	GovAgentRow holder;
	GovLeaseSnapshot live;
	Datum	   *child_anc;
	int64		parent_seq;

	GOV_ENTRY();
	gov_require_primary("delegate()");
	gov_require_read_committed("delegate()");
	memset(&r, 0, sizeof(r));
	r.parent = gov_arg_uuid(fcinfo, 0, "parent lease");
	r.has_parent = true;
	read_request(fcinfo, 1, &r);
	context_hash(r.context, ctx_hash);

	SPI_connect();
	memset(&o, 0, sizeof(o));

	/* trust first, as authorize() does: its reason names the cause */
	{
		char	   *why;

		if (!gov_trusted(&why))
		{
			o.reasons = list_make1(psprintf("trust degraded: %s", why));
			o.brief = linitial(o.reasons);
			(void) ledger_decision("governance.delegate", &r, &o, ctx_hash, 0, NULL);
			outcome_to_caller(&o, caller);
			SPI_finish();
			PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
		}
	}

	/* lock the ancestors top down, then the parent (see the file header) */
	parent = gov_lease_row(&r.parent, GOV_ROW_NO_LOCK);
	if (!parent.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lease %s does not exist", gov_uuid_text(&r.parent))));

	holder = gov_agent_row(parent.principal);
	if (!(holder.found && holder.role == GetOuterUserId()) && !gov_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the holder of lease %s may delegate from it",
						gov_uuid_text(&r.parent))));
	check_proof(&r, GOV_POP_DELEGATE, parent.principal, gov_pop_arg(fcinfo, 6), ctx_hash,
				text_to_cstring(PG_GETARG_TEXT_PP(2)));

	/*
	 * A parent that shared memory has ended is refused before any lock is
	 * taken: a revocation under way must not wait for us (see the header).
	 * The checks are made again after the locks.
	 */
	if (gov_lease_get(&r.parent, &live) && !gov_lease_is_live(&live, GetCurrentTimestamp()))
	{
		o.reasons = list_make1(psprintf("parent lease %s is %s", gov_uuid_text(&r.parent),
										live.state == GOV_LEASE_REVOKED ? "revoked" :
										live.state == GOV_LEASE_PENDING ? "not live" : "expired"));
		/* the parent is the caller's own: what is wrong with it is no secret */
		o.brief = linitial(o.reasons);
		(void) ledger_decision("governance.delegate", &r, &o, ctx_hash, 0, NULL);
		outcome_to_caller(&o, caller);
		SPI_finish();
		PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
	}

	{
		pg_uuid_t	dead;

		if (!gov_lock_ancestors(parent.ancestors, &dead))
		{
			o.reasons = list_make1(psprintf("ancestor lease %s is not live", gov_uuid_text(&dead)));
			o.brief = pstrdup("an ancestor of the parent lease is not live");
		}
	}
	anc = DatumGetArrayTypeP(parent.ancestors);
	deconstruct_array(anc, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, &enulls, &n);
	/* re-read the parent now that its ancestors are locked */
	parent = gov_lease_row(&r.parent, GOV_ROW_SHARE);

	if (o.reasons == NIL && !parent.live)
		o.reasons = list_make1(psprintf("parent lease %s is %s", gov_uuid_text(&r.parent),
										strcmp(parent.state, "live") == 0 ? "expired" : parent.state));
	if (o.reasons == NIL && (!gov_lease_get(&r.parent, &live) ||
							 !gov_lease_is_live(&live, GetCurrentTimestamp())))
		o.reasons = list_make1(psprintf("parent lease %s is not live", gov_uuid_text(&r.parent)));
	if (o.reasons == NIL && parent.depth + 1 > gov_max_delegation_depth)
		o.reasons = list_make1(psprintf("delegation depth %d exceeds governance.max_delegation_depth (%d)",
										parent.depth + 1, gov_max_delegation_depth));
	if (o.reasons == NIL && r.ttl_us > 0 &&
		GetCurrentTimestamp() + r.ttl_us > parent.expires_at)
	{
		/* not an error: the child simply ends with its parent */
	}
	/* the parent is the caller's own: what is wrong with it is no secret */
	if (o.reasons != NIL && o.brief == NULL)
		o.brief = linitial(o.reasons);
	if (o.reasons == NIL)
		attenuate(&r, &live, &o);

	if (o.reasons == NIL)
	{
		Outcome		d;

		decide(&r, &d, true);
		o = d;
		if (o.schema_error)
			refuse_schema("governance.delegate", &r, &o, ctx_hash);
	}

	if (!o.allow)
	{
		(void) ledger_decision("governance.delegate", &r, &o, ctx_hash, 0, NULL);
		outcome_to_caller(&o, caller);
		SPI_finish();
		PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
	}

	/* the parent's chain records the delegation; the child's links to it */
	{
		GovJson		j;
		GovEvent	ev;

		gj_init(&j);
		gj_begin_object(&j);
		gj_key(&j, "to_principal");
		gj_str(&j, r.principal);
		gj_key(&j, "action");
		gj_str(&j, r.action);
		gj_key(&j, "resource");
		gj_str(&j, r.resource);
		gj_end_object(&j);
		memset(&ev, 0, sizeof(ev));
		ev.kind = "governance.delegated";
		ev.lease_id = &r.parent;
		ev.principal = parent.principal;
		ev.payload = gj_finish(&j);
		parent_seq = gov_ledger_append(&ev);
	}
	(void) chain_head;

	child_anc = palloc(sizeof(Datum) * (n + 1));
	for (i = 0; i < n; i++)
		child_anc[i] = elems[i];
	child_anc[n] = UUIDPGetDatum(&r.parent);
	issue(&r, &o, ctx_hash, parent.depth + 1, parent.expires_at, parent.max_expiry,
		  PointerGetDatum(construct_array(child_anc, n + 1, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR)),
		  parent_seq);
	outcome_to_caller(&o, caller);
	SPI_finish();
	PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
}

/*
 * The 0.2 definition, with the trailing proof argument (a new symbol: the
 * 0.1 catalog calls gov_sql_authorize with one argument fewer until the update,
 * and gov_pop_arg() then sees no proof).
 */
PG_FUNCTION_INFO_V1(gov_sql_authorize_pop);
Datum
gov_sql_authorize_pop(PG_FUNCTION_ARGS)
{
	return gov_sql_authorize(fcinfo);
}

/*
 * The 0.2 definition, with the trailing proof argument (a new symbol: the
 * 0.1 catalog calls gov_sql_delegate with one argument fewer until the update,
 * and gov_pop_arg() then sees no proof).
 */
PG_FUNCTION_INFO_V1(gov_sql_delegate_pop);
Datum
gov_sql_delegate_pop(PG_FUNCTION_ARGS)
{
	return gov_sql_delegate(fcinfo);
}
