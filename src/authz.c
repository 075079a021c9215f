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
#include "encode.h"
#include "events.h"
#include "governance.h"
#include "rowio.h"
#include "spi_cache.h"
#include "lease.h"
#include "ledger.h"
#include "policy.h"
#include "revoke.h"
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"

int			gov_max_lease_ttl_ms = 3600 * 1000;
int			gov_max_delegation_depth = 8;
int			gov_max_leases_per_principal = 1000;

/* What callers who are not governance_admin see of the reasons */
typedef enum GovReasons
{
	GOV_REASONS_SHORT,
	GOV_REASONS_FULL
} GovReasons;

static const struct config_enum_entry reasons_options[] = {
	{"short", GOV_REASONS_SHORT, false},
	{"full", GOV_REASONS_FULL, false},
	{NULL, 0, false}
};

static int	gov_deny_reasons = GOV_REASONS_SHORT;

/* governance.leases, column by column (sql/install/60_leases.sql) */
enum
{
	L_LEASE_ID, L_PARENT_ID, L_ANCESTORS, L_DEPTH, L_PRINCIPAL, L_ACTION, L_RESOURCE,
	L_CONTEXT, L_CONTEXT_HASH, L_MEASUREMENT, L_POLICY_SET_HASH, L_ROLE_OID,
	L_AUTHORIZED_BY, L_ISSUED_AT, L_TTL, L_EXPIRES_AT, L_MAX_EXPIRY, L_STATE,
	L_SESSION_BOUND, L_GENERATION, L_ENDED_AT, L_END_REASON, L_KEY_ID,
	L_ARTIFACT_HASH, L_FIRST_SEQ, L_NATTS
};
static const char *const lease_columns[L_NATTS] = {
	"lease_id", "parent_id", "ancestors", "depth", "principal", "action", "resource",
	"context", "context_hash", "measurement", "policy_set_hash", "role_oid",
	"authorized_by", "issued_at", "ttl", "expires_at", "max_expiry", "state",
	"session_bound", "generation", "ended_at", "end_reason", "key_id",
	"artifact_hash", "first_seq"
};

static void
open_leases(GovRowIO *io)
{
	gov_rowio_open(io, gov_relid("leases"), lease_columns, L_NATTS);
}

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
	DefineCustomIntVariable("governance.max_leases_per_principal",
							"Most leases one principal may hold in shared memory (live, or ended and not yet cleared).",
							"An agent registered with its own max_leases is held to that instead.",
							&gov_max_leases_per_principal,
							1000, 0, 10000000,
							PGC_SIGHUP,
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


static char *
caller_name(void)
{
	return GetUserNameFromId(GetOuterUserId(), false);
}

static void
require_read_committed(const char *what)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s requires the READ COMMITTED isolation level", what),
				 errdetail("It must see leases committed by concurrent transactions to keep delegation trees consistent.")));
}

static void
require_primary(const char *what)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s is not possible during recovery", what),
				 errdetail("Leases are issued and enforced on the primary; a hot standby only verifies evidence.")));
}

static char *
arg_text(FunctionCallInfo fcinfo, int n, const char *what)
{
	char	   *s;

	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(n));
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	return s;
}

static void
check_uid(const char *what, const char *uid)
{
	if (strlen(uid) >= GOV_UID_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long (at most %d bytes)", what, GOV_UID_MAX - 1)));
	if (!gov_valid_uid(uid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" is not an entity uid", what, uid),
				 errhint("Write entity uids as Type::\"id\", for example Agent::\"billing-bot\".")));
}

static void
new_uuid(pg_uuid_t *u)
{
	uint64		ms = (uint64) (GetCurrentTimestamp() / 1000 +
							   (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * (uint64) 86400000);
	int			i;

	/*
	 * A version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds,
	 * then 74 random bits.  Ids issued close in time sort close together,
	 * so the lease table's primary key and the ledger's lease index take
	 * new entries at their right edge instead of on random pages; the
	 * random part keeps an id unguessable.  The issue time it reveals is
	 * in the artifact's claims anyway.
	 */
	if (!pg_strong_random(u->data + 6, UUID_LEN - 6))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random lease id")));
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

static int64
interval_us(Interval *iv)
{
	int64		days;
	int64		us;

	/*
	 * Months and days at their nominal length: leases are short.  Beyond
	 * int64 microseconds, saturate: the caller's range checks then refuse
	 * with the usual message instead of a wrapped-around value.
	 */
	if (pg_mul_s64_overflow((int64) iv->month, DAYS_PER_MONTH, &days) ||
		pg_add_s64_overflow(days, (int64) iv->day, &days) ||
		pg_mul_s64_overflow(days, USECS_PER_DAY, &us) ||
		pg_add_s64_overflow(us, iv->time, &us))
		return (iv->month < 0 || iv->day < 0 || iv->time < 0) &&
			!(iv->month > 0 || iv->day > 0 || iv->time > 0) ? PG_INT64_MIN : PG_INT64_MAX;
	return us;
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
 * Agents
 * ---------------------------------------------------------------------
 */

typedef struct AgentRow
{
	bool		found;
	Oid			role;
	bytea	   *public_key;
	int			lease_limit;	/* its max_leases, or the GUC's */
} AgentRow;

static const char *const agent_columns[] = {
	"principal", "role_oid", "public_key", "registered_at", "registered_by", "max_leases"
};

static AgentRow
lookup_agent(const char *principal)
{
	AgentRow	a = {0};
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

/*
 * register_agent(principal text, role name, public_key bytea DEFAULT NULL,
 *                max_leases integer DEFAULT NULL)
 * Maps the login role that may act as principal, and how many leases it
 * may hold at once (NULL: governance.max_leases_per_principal); replaces
 * an earlier registration of the same principal.  Ledgered.
 */
PG_FUNCTION_INFO_V1(gov_sql_register_agent);
Datum
gov_sql_register_agent(PG_FUNCTION_ARGS)
{
	char	   *principal;
	char	   *rolename;
	Oid			role;
	bytea	   *pk = PG_ARGISNULL(2) ? NULL : PG_GETARG_BYTEA_PP(2);
	bool		has_limit = !PG_ARGISNULL(3);
	int32		limit = has_limit ? PG_GETARG_INT32(3) : 0;
	GovJson		j;
	int			rc;
	char	   *kid = NULL;

	GOV_ENTRY();
	require_primary("register_agent()");
	principal = arg_text(fcinfo, 0, "principal");
	check_uid("principal", principal);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be NULL")));
	rolename = NameStr(*PG_GETARG_NAME(1));
	role = get_role_oid(rolename, false);

	/*
	 * attach() lets in whoever's current role is the registered one: a role
	 * many users are members of (a predefined role, one of the extension's
	 * group roles) would hand the principal to all of them.
	 */
	if (IsReservedName(rolename) ||
		strcmp(rolename, "governance_admin") == 0 ||
		strcmp(rolename, "governance_agent") == 0 ||
		strcmp(rolename, "governance_auditor") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("role \"%s\" cannot be registered as an agent", rolename),
				 errdetail("Predefined roles and the governance group roles are shared by many roles; an agent needs a login role of its own.")));
	if (pk && VARSIZE_ANY_EXHDR(pk) != GOV_ED25519_PK_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agent public key must be %d bytes (Ed25519)", GOV_ED25519_PK_LEN)));
	if (has_limit && limit < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_leases must not be negative"),
				 errhint("Pass NULL for governance.max_leases_per_principal, or 0 for an agent that may hold no lease.")));

	SPI_connect();
	rc = gov_spi_exec("INSERT INTO governance.agents (principal, role_oid, public_key, registered_at, registered_by, max_leases) "
							   "VALUES ($1, $2, $3, now(), $4, $5) "
							   "ON CONFLICT (principal) DO UPDATE SET role_oid = EXCLUDED.role_oid, "
							   "public_key = EXCLUDED.public_key, registered_at = EXCLUDED.registered_at, "
							   "registered_by = EXCLUDED.registered_by, max_leases = EXCLUDED.max_leases",
							   5, (Oid[]) {TEXTOID, OIDOID, BYTEAOID, TEXTOID, INT4OID},
							   (Datum[]) {CStringGetTextDatum(principal), ObjectIdGetDatum(role),
							   pk ? PointerGetDatum(pk) : (Datum) 0, CStringGetTextDatum(caller_name()),
							   Int32GetDatum(limit)},
							   pk ? (has_limit ? NULL : "    n") : (has_limit ? "  n  " : "  n n"),
							   false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not register the agent");
	gov_xact_require_durable_commit();

	if (pk)
	{
		kid = palloc(GOV_KEY_ID_LEN + 1);
		gov_key_id((uint8 *) VARDATA_ANY(pk), kid);
	}
	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "principal");
	gj_str(&j, principal);
	gj_key(&j, "role");
	gj_str(&j, rolename);
	gj_key(&j, "agent_key_id");
	gj_str(&j, kid);
	gj_key(&j, "max_leases");
	if (has_limit)
		gj_int(&j, limit);
	else
		gj_str(&j, NULL);
	gj_key(&j, "by");
	gj_str(&j, caller_name());
	gj_end_object(&j);
	gov_ledger_append_system("governance.agent.registered", NULL, gj_finish(&j));
	SPI_finish();
	PG_RETURN_VOID();
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
} Outcome;

static void
read_request(FunctionCallInfo fcinfo, int first, Request *r)
{
	Interval   *ttl;

	r->principal = arg_text(fcinfo, first, "principal");
	r->action = arg_text(fcinfo, first + 1, "action");
	r->resource = arg_text(fcinfo, first + 2, "resource");
	check_uid("principal", r->principal);
	r->action = gov_normalize_action(r->action);
	check_uid("action", r->action);
	check_uid("resource", r->resource);

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
	r->ttl_us = interval_us(ttl);
	if (r->ttl_us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be positive")));
	if (r->ttl_us > (int64) gov_max_lease_ttl_ms * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl exceeds governance.max_lease_ttl (%d ms)", gov_max_lease_ttl_ms)));
}

/* Ledger the decision on the lease's chain (or unbound for a deny). */
static int64
ledger_decision(const char *kind, const Request *r, const Outcome *o, const uint8 *ctx_hash,
				int64 parent_seq)
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
	gj_str(&j, caller_name());
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
		gj_str(&j, DatumGetCString(DirectFunctionCall1(timestamptz_out,
													   TimestampTzGetDatum(o->expires_at))));
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
 * The checks every authorization shares: trust, the caller's identity,
 * and the policy.  Fills o; o->allow false with reasons on any failure.
 */
static void
decide(const Request *r, Outcome *o, bool delegation)
{
	char	   *why;
	AgentRow	agent;
	GovRequest req;
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
	 * An unregistered principal and one registered to another role look
	 * the same to the caller: the short reason is no registration oracle.
	 */
	agent = lookup_agent(r->principal);
	if (!agent.found)
	{
		o->reasons = list_make1(psprintf("principal %s is not registered", r->principal));
		o->brief = delegation ?
			psprintf("principal %s cannot receive a delegation", r->principal) :
			psprintf("role %s may not act as %s", caller_name(), r->principal);
		return;
	}
	o->holder = agent.role;
	o->lease_limit = agent.lease_limit;
	if (delegation)
	{
		/* the caller holds the parent (checked by delegate()) */
	}
	else if (agent.role != GetOuterUserId())
	{
		if (!gov_caller_is_admin())
		{
			o->reasons = list_make1(psprintf("role %s may not act as %s",
											 caller_name(), r->principal));
			o->brief = linitial(o->reasons);
			return;
		}
		o->on_behalf = true;
	}

	memset(&req, 0, sizeof(req));
	req.principal = r->principal;
	req.action = r->action;
	req.resource = r->resource;
	req.context = r->context;
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

typedef struct ParentRow
{
	bool		found;
	bool		live;
	int			depth;
	TimestampTz expires_at;
	TimestampTz max_expiry;
	char	   *principal;
	Datum		ancestors;		/* uuid[] */
	char	   *state;
} ParentRow;

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
	o->artifact = gov_artifact_issue(&c);
	gov_sha3_512(o->artifact, strlen(o->artifact), art_hash);

	first_seq = ledger_decision("governance.authorize", r, o, ctx_hash, parent_seq);

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
		values[L_AUTHORIZED_BY] = CStringGetTextDatum(caller_name());
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

		open_leases(&io);
		gov_rowio_insert(&io, values, nulls);
		gov_rowio_close(&io);
		CommandCounterIncrement();	/* as SPI would: attach() in the same statement finds it */
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

	GOV_ENTRY();
	require_primary("authorize()");
	memset(&r, 0, sizeof(r));
	read_request(fcinfo, 0, &r);
	r.measurement = PG_ARGISNULL(5) ? NULL : PG_GETARG_BYTEA_P(5);
	if (r.measurement && VARSIZE_ANY_EXHDR(r.measurement) > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("measurement is too long (at most 1024 bytes)")));
	context_hash(r.context, ctx_hash);

	SPI_connect();
	decide(&r, &o, false);
	if (o.allow)
		issue(&r, &o, ctx_hash, 0, 0, 0,
			  PointerGetDatum(construct_empty_array(UUIDOID)), 0);
	else
		(void) ledger_decision("governance.authorize", &r, &o, ctx_hash, 0);
	outcome_to_caller(&o, caller);
	SPI_finish();
	PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
}

typedef enum LockMode
{
	LEASE_NO_LOCK,
	LEASE_SHARE,
	LEASE_UPDATE,
	LEASE_UPDATE_NOWAIT			/* ERRCODE_LOCK_NOT_AVAILABLE if held */
} LockMode;

/*
 * Read a lease row, locking it as asked.  Lock order everywhere: ancestors
 * top down, then the lease itself; a row is never locked FOR SHARE and
 * later FOR UPDATE by the same transaction (that upgrade deadlocks).
 */
static ParentRow
lock_lease(const pg_uuid_t *id, LockMode mode)
{
	ParentRow	p = {0};
	int			rc;
	bool		isnull;
	HeapTuple	t;
	TupleDesc	d;
	const char *sql;

	sql = mode == LEASE_UPDATE ?
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1 FOR NO KEY UPDATE" :
		mode == LEASE_UPDATE_NOWAIT ?
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1 FOR NO KEY UPDATE NOWAIT" :
		mode == LEASE_SHARE ?
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1 FOR SHARE" :
		"SELECT state, expires_at, max_expiry, depth, principal, ancestors "
		"FROM governance.leases WHERE lease_id = $1";
	rc = gov_spi_exec(sql, 1, (Oid[]) {UUIDOID}, (Datum[]) {UUIDPGetDatum(id)},
							   NULL, mode == LEASE_NO_LOCK, 1);
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
static bool
lock_ancestors(Datum ancestors, pg_uuid_t *dead)
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
		ParentRow	a = lock_lease(DatumGetUUIDP(elems[i]), LEASE_SHARE);

		if (ok && (!a.found || !a.live))
		{
			*dead = *DatumGetUUIDP(elems[i]);
			ok = false;
		}
	}
	return ok;
}

static pg_uuid_t
arg_uuid(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return *PG_GETARG_UUID_P(n);
}

/* Latest event of a lease's chain, for linking a child's first event. */
static int64
chain_head(const pg_uuid_t *lease)
{
	int			rc;
	bool		isnull;
	Datum		d;

	rc = gov_spi_exec("SELECT max(seq) FROM governance.ledger WHERE lease_id = $1",
							   1, (Oid[]) {UUIDOID}, (Datum[]) {UUIDPGetDatum(lease)},
							   NULL, false, 1);
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
	else if ((in = gov_policy_entity_in(r->resource, parent->resource, &error)) == 0)
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
	ParentRow	parent;
	ArrayType  *anc;
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	AgentRow	holder;
	GovLeaseSnapshot live;
	Datum	   *child_anc;
	int64		parent_seq;

	GOV_ENTRY();
	require_primary("delegate()");
	require_read_committed("delegate()");
	memset(&r, 0, sizeof(r));
	r.parent = arg_uuid(fcinfo, 0, "parent lease");
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
			(void) ledger_decision("governance.delegate", &r, &o, ctx_hash, 0);
			outcome_to_caller(&o, caller);
			SPI_finish();
			PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
		}
	}

	/* lock the ancestors top down, then the parent (see the file header) */
	parent = lock_lease(&r.parent, LEASE_NO_LOCK);
	if (!parent.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lease %s does not exist", gov_uuid_text(&r.parent))));

	holder = lookup_agent(parent.principal);
	if (!(holder.found && holder.role == GetOuterUserId()) && !gov_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the holder of lease %s may delegate from it",
						gov_uuid_text(&r.parent))));

	/*
	 * A parent that shared memory has ended is refused before any lock is
	 * taken: a revocation under way must not wait for us (see the header).
	 * The checks are made again after the locks.
	 */
	if (gov_lease_get(&r.parent, &live) && !gov_lease_is_live(&live, GetCurrentTimestamp()))
	{
		o.reasons = list_make1(psprintf("parent lease %s is %s", gov_uuid_text(&r.parent),
										live.state == GOV_LEASE_REVOKED ? "revoked" : "expired"));
		(void) ledger_decision("governance.delegate", &r, &o, ctx_hash, 0);
		outcome_to_caller(&o, caller);
		SPI_finish();
		PG_RETURN_DATUM(outcome_datum(fcinfo, &o));
	}

	{
		pg_uuid_t	dead;

		if (!lock_ancestors(parent.ancestors, &dead))
		{
			o.reasons = list_make1(psprintf("ancestor lease %s is not live", gov_uuid_text(&dead)));
			o.brief = pstrdup("an ancestor of the parent lease is not live");
		}
	}
	anc = DatumGetArrayTypeP(parent.ancestors);
	deconstruct_array(anc, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, &enulls, &n);
	/* re-read the parent now that its ancestors are locked */
	parent = lock_lease(&r.parent, LEASE_SHARE);

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
	}

	if (!o.allow)
	{
		(void) ledger_decision("governance.delegate", &r, &o, ctx_hash, 0);
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

/* ---------------------------------------------------------------------
 * Revocation
 * ---------------------------------------------------------------------
 */

/*
 * Lock the live rows of a tree (uuid[]) FOR NO KEY UPDATE, waiting for a
 * row only as long as wait allows: all at once those that are free, then
 * one at a time the others, each wait ending with the polite wait (the
 * UPDATE that follows would wait for each in turn, without a bound).
 * Once the polite wait is over, a row that is not free is an error.
 */
static void
lock_tree_bounded(Datum tree, const GovRevokeWait *wait)
{
	int			rc;
	Datum		locked;
	Datum		missing;
	bool		isnull;
	ArrayType  *arr;
	Datum	   *elems;
	int			n;
	int			i;

	if (!gov_revoke_may_wait(wait))
	{
		rc = gov_spi_exec("SELECT 1 FROM governance.leases WHERE lease_id = ANY ($1) AND state = 'live'"
						  " FOR NO KEY UPDATE NOWAIT",
						  1, (Oid[]) {UUIDARRAYOID}, (Datum[]) {tree}, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not lock the descendants of the lease");
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	rc = gov_spi_exec("SELECT coalesce(array_agg(lease_id), '{}') FROM ("
					  " SELECT lease_id FROM governance.leases WHERE lease_id = ANY ($1) AND state = 'live'"
					  " FOR NO KEY UPDATE SKIP LOCKED) s",
					  1, (Oid[]) {UUIDARRAYOID}, (Datum[]) {tree}, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not lock the descendants of the lease");
	locked = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
					   false, -1);
	SPI_freetuptable(SPI_tuptable);
	rc = gov_spi_exec("SELECT array_agg(lease_id) FROM governance.leases"
					  " WHERE lease_id = ANY ($1) AND state = 'live' AND NOT lease_id = ANY ($2)",
					  2, (Oid[]) {UUIDARRAYOID, UUIDARRAYOID}, (Datum[]) {tree, locked},
					  NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not lock the descendants of the lease");
	missing = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	arr = DatumGetArrayTypePCopy(missing);
	SPI_freetuptable(SPI_tuptable);
	deconstruct_array(arr, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, NULL, &n);
	for (i = 0; i < n; i++)
	{
		bool		may_wait = gov_revoke_may_wait(wait);

		rc = gov_spi_exec(may_wait ?
						  "SELECT 1 FROM governance.leases WHERE lease_id = $1 AND state = 'live'"
						  " FOR NO KEY UPDATE" :
						  "SELECT 1 FROM governance.leases WHERE lease_id = $1 AND state = 'live'"
						  " FOR NO KEY UPDATE NOWAIT",
						  1, (Oid[]) {UUIDOID}, (Datum[]) {elems[i]}, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not lock the descendants of the lease");
		SPI_freetuptable(SPI_tuptable);
	}
}

int64
gov_revoke_tree(const pg_uuid_t *id, const char *reason, bool by_enforcer)
{
	return gov_revoke_tree_wait(id, reason, by_enforcer, NULL);
}

int64
gov_revoke_tree_wait(const pg_uuid_t *id, const char *reason, bool by_enforcer,
					 const GovRevokeWait *wait)
{
	ParentRow	target;
	int			rc;
	uint64		i;
	GovJson		j;
	GovEvent	ev;
	TimestampTz now;
	int64		count;
	Datum		tree;
	bool		tree_null;
	GovLeaseSnapshot shm;

	/* an acknowledged revocation survives a crash (synchronous_commit) */
	gov_xact_require_durable_commit();
	target = lock_lease(id, wait && !gov_revoke_may_wait(wait) ? LEASE_UPDATE_NOWAIT : LEASE_UPDATE);
	if (!target.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lease %s does not exist", gov_uuid_text(id))));
	if (strcmp(target.state, "live") != 0)
		return 0;

	/*
	 * A new statement: its snapshot follows the lock (see the header).  Two
	 * statements, each of whose plans is linear in the tree whatever the
	 * planner's statistics say: the walk down parent_id (an index scan per
	 * level), then the update by primary key.  One statement that joined
	 * the walk to the update was planned, with statistics taken before a
	 * large tree was built, as a nested loop over every live lease and the
	 * whole tree: 100k descendants took minutes instead of seconds.
	 */
	now = GetCurrentTimestamp();
	rc = gov_spi_exec("WITH RECURSIVE tree AS ("
					  "  SELECT lease_id FROM governance.leases WHERE lease_id = $1"
					  "  UNION ALL"
					  "  SELECT l.lease_id FROM governance.leases l JOIN tree t ON l.parent_id = t.lease_id)"
					  " SELECT array_agg(lease_id) FROM tree",
					  1, (Oid[]) {UUIDOID}, (Datum[]) {UUIDPGetDatum(id)},
					  NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not find the descendants of the lease");
	tree = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &tree_null);
	if (tree_null)
		return 0;
	tree = datumCopy(tree, false, -1);
	SPI_freetuptable(SPI_tuptable);
	/*
	 * Bounded waits (revoke.c).  The tree's rows: first the UPDATE takes
	 * their locks itself, failing rather than waiting (which costs nothing
	 * when nobody holds them); after a failed attempt, they are locked
	 * before it, each wait bounded.
	 */
	if (wait && wait->rows_first)
		lock_tree_bounded(tree, wait);
	else if (wait)
		gov_revoke_dont_wait();
	rc = gov_spi_exec(" UPDATE governance.leases SET state = 'revoked', ended_at = $2, end_reason = $3"
					  " WHERE lease_id = ANY ($1) AND state = 'live'"
					  " RETURNING lease_id",
					  3, (Oid[]) {UUIDARRAYOID, TIMESTAMPTZOID, TEXTOID},
					  (Datum[]) {tree, TimestampTzGetDatum(now),
					  CStringGetTextDatum(reason)},
					  NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not revoke the lease");
	count = (int64) SPI_processed;
	/* the chain lock, for what is left of the polite wait */
	if (wait && !gov_revoke_may_wait(wait) && !gov_ledger_try_lock_chain(id))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not obtain the ledger chain lock of lease %s", gov_uuid_text(id))));

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "reason");
	gj_str(&j, reason);
	gj_key(&j, "by");
	gj_str(&j, by_enforcer ? "enforcer" : caller_name());
	gj_key(&j, "count");
	gj_int(&j, count);
	/* when access ended: earlier than this event if it ended at once */
	if (gov_lease_get(id, &shm) && shm.state == GOV_LEASE_REVOKED && shm.undurable)
	{
		gj_key(&j, "ended_in_shared_memory_at");
		gj_str(&j, DatumGetCString(DirectFunctionCall1(timestamptz_out,
													   TimestampTzGetDatum(shm.ended_at))));
	}
	gj_key(&j, "ended");
	gj_begin_array(&j);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		pg_uuid_t  *u = DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));

		gov_lease_commit_state(u, GOV_LEASE_REVOKED, reason);
		gj_str(&j, gov_uuid_text(u));
	}
	gj_end_array(&j);
	gj_end_object(&j);

	memset(&ev, 0, sizeof(ev));
	ev.kind = "governance.revoke";
	ev.lease_id = id;
	ev.principal = target.principal;
	ev.payload = gj_finish(&j);
	ev.internal = true;			/* the list of ended leases may be long */
	(void) gov_ledger_append(&ev);
	/* a deferred revocation of these leases (revoke.c) is durable now */
	if (count > 0 &&
		gov_spi_exec("DELETE FROM governance.revocations_deferred WHERE lease_id = ANY ($1)",
					 1, (Oid[]) {UUIDARRAYOID}, (Datum[]) {tree}, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not clear the deferred revocations");
	return count;
}

/* revoke(lease_id uuid, reason text) -> integer */
PG_FUNCTION_INFO_V1(gov_sql_revoke);
Datum
gov_sql_revoke(PG_FUNCTION_ARGS)
{
	pg_uuid_t	id;
	char	   *reason;
	int64		n;
	ParentRow	target;
	bool		allowed = false;

	GOV_ENTRY();
	require_primary("revoke()");
	require_read_committed("revoke()");
	id = arg_uuid(fcinfo, 0, "lease id");
	reason = arg_text(fcinfo, 1, "reason");
	if (strlen(reason) > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reason is too long (at most 1000 bytes)")));

	SPI_connect();
	/* allowed: the lease's principal, any ancestor's principal, an admin */
	target = lock_lease(&id, LEASE_NO_LOCK);
	if (!target.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lease %s does not exist", gov_uuid_text(&id))));
	if (gov_caller_is_admin())
		allowed = true;
	else
	{
		int			rc;

		rc = gov_spi_exec("SELECT 1 FROM governance.leases l JOIN governance.agents a "
								   "ON a.principal = l.principal "
								   "WHERE (l.lease_id = $1 OR l.lease_id = ANY ($2)) AND a.role_oid = $3",
								   3, (Oid[]) {UUIDOID, UUIDARRAYOID, OIDOID},
								   (Datum[]) {UUIDPGetDatum(&id), target.ancestors,
								   ObjectIdGetDatum(GetOuterUserId())},
								   NULL, true, 1);
		allowed = (rc == SPI_OK_SELECT && SPI_processed > 0);
	}
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role %s may not revoke lease %s", caller_name(), gov_uuid_text(&id)),
				 errdetail("A lease may be revoked by its holder, the holder of any ancestor, or governance_admin.")));

	n = gov_revoke_at_once(&id, reason);
	SPI_finish();
	PG_RETURN_INT32((int32) Min(n, PG_INT32_MAX));
}

/* ---------------------------------------------------------------------
 * Heartbeat
 * ---------------------------------------------------------------------
 */

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
	require_primary("heartbeat()");
	id = arg_uuid(fcinfo, 0, "lease id");

	SPI_connect();
	/*
	 * Ancestors first, top down, then the lease (see lock_lease).  A lease
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
			ParentRow	self = lock_lease(&id, LEASE_NO_LOCK);
			pg_uuid_t	dead;

			if (self.found)
				(void) lock_ancestors(self.ancestors, &dead);
		}
	}
	open_leases(&io);
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
	m_null = row->tts_isnull[L_MEASUREMENT];
	stored_m = row->tts_values[L_MEASUREMENT];
	ttl_us = interval_us(DatumGetIntervalP(row->tts_values[L_TTL]));
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
		req.resource = resource;
		req.context = context;
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
			(in = gov_policy_entity_in(resource, p.resource, &error)) != 1)
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
		ParentRow	p = lock_lease(DatumGetUUIDP(parent), LEASE_NO_LOCK);	/* locked above */

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

		memcpy(values, row->tts_values, sizeof(values));
		memcpy(nulls, row->tts_isnull, sizeof(nulls));
		values[L_EXPIRES_AT] = TimestampTzGetDatum(new_exp);
		values[L_GENERATION] = Int64GetDatum(DatumGetInt64(row->tts_values[L_GENERATION]) + 1);
		gov_rowio_update(&io, values, nulls);
	}
	gov_rowio_close(&io);
	gov_lease_commit_renew(&id, new_exp);

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "expires_at");
	gj_str(&j, DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(new_exp))));
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

/* ---------------------------------------------------------------------
 * verify_artifact
 * ---------------------------------------------------------------------
 */

/* verify_artifact(artifact text) -> (valid boolean, reason text, claims jsonb) */
PG_FUNCTION_INFO_V1(gov_sql_verify_artifact);
Datum
gov_sql_verify_artifact(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {0};
	char	   *reason = NULL;
	GovClaims	c;
	bool		decoded = false;
	Jsonb	   *claims = NULL;
	MemoryContext caller = CurrentMemoryContext;

	GOV_ENTRY();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	if (PG_ARGISNULL(0))
		reason = "no artifact given";
	else
	{
		char	   *txt = text_to_cstring(PG_GETARG_TEXT_PP(0));

		SPI_connect();
		reason = gov_artifact_check(txt, &c, &decoded, true);
		if (reason == NULL)
		{
			GovLeaseSnapshot l;
			int			rc;

			/* the lease's current state: shared memory, else the durable row */
			if (gov_lease_get(&c.lease_id, &l))
			{
				if (l.state == GOV_LEASE_REVOKED)
					reason = pstrdup("lease revoked");
				else if (l.state == GOV_LEASE_PENDING)
					reason = pstrdup("lease not committed");
				else if (!gov_lease_is_live(&l, GetCurrentTimestamp()))
					reason = pstrdup(c.expires_at <= GetCurrentTimestamp() ?
									 "artifact expired" : "lease expired");
			}
			else
			{
				rc = gov_spi_exec("SELECT state, expires_at > clock_timestamp() "
										   "FROM governance.leases WHERE lease_id = $1",
										   1, (Oid[]) {UUIDOID},
										   (Datum[]) {UUIDPGetDatum(&c.lease_id)}, NULL, true, 1);
				if (rc != SPI_OK_SELECT || SPI_processed == 0)
					reason = pstrdup("lease unknown");
				else
				{
					char	   *st = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
					char	   *fresh = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

					if (strcmp(st, "revoked") == 0)
						reason = pstrdup("lease revoked");
					else if (strcmp(st, "live") != 0 || strcmp(fresh, "t") != 0)
						reason = pstrdup(c.expires_at <= GetCurrentTimestamp() ?
										 "artifact expired" : "lease expired");
					else if (!RecoveryInProgress())
						reason = pstrdup("lease not loaded: the enforcer has not reloaded it yet");
				}
			}
		}
		{
			MemoryContext old = MemoryContextSwitchTo(caller);

			if (decoded)
				claims = gov_claims_jsonb(&c);
			if (reason)
				reason = pstrdup(reason);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	values[0] = BoolGetDatum(reason == NULL);
	if (reason)
		values[1] = CStringGetTextDatum(reason);
	else
		nulls[1] = true;
	if (claims)
		values[2] = JsonbPGetDatum(claims);
	else
		nulls[2] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
