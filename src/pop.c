/*-------------------------------------------------------------------------
 *
 * pop.c
 *	  Proof of possession of an agent's Ed25519 key (docs/FORMAT.md section
 *	  13): challenge() hands out single-use nonces; authorize, delegate,
 *	  heartbeat and attach of an agent with a key demand a signature by it
 *	  over the canonical request and that nonce; rotate_agent_key() and
 *	  revoke_agent_key() change or withdraw the key.
 *
 *	  Where nonces live, and why there
 *	  --------------------------------
 *	  In table governance.pop_challenges, written in the caller's
 *	  transaction: challenge() inserts one, the request that presents it
 *	  deletes it.  A table makes the replay rule transactional: a request
 *	  whose transaction or savepoint rolls back consumed nothing, and only
 *	  the very request the signature covers can present the nonce again,
 *	  its earlier effects having been rolled back with it; two concurrent
 *	  requests with one nonce serialize on its row, and the second finds
 *	  it gone.  So at most one committed request uses a nonce.  Shared
 *	  memory would be cheaper but would need its own rollback rule and
 *	  would forget nonces in a restart (harmlessly: they are short-lived).
 *	  A refusal is an error, which rolls back the deletion too: a refused
 *	  nonce stays until it expires, and each refusal is ledgered.
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
#include "port.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "common.h"
#include "crypto.h"
#include "encode.h"
#include "events.h"
#include "keys.h"
#include "lease_rows.h"
#include "ledger.h"
#include "pop.h"
#include "revoke.h"
#include "spi_cache.h"
#include "xact_defer.h"

bool		gov_require_agent_keys = false;
int			gov_challenge_ttl_ms = 30 * 1000;

int			gov_max_challenges_per_role = 1000;

void
gov_pop_define_gucs(void)
{
	DefineCustomBoolVariable("governance.require_agent_keys",
							 "Require every agent to prove possession of a registered key.",
							 "On: authorize, delegate, heartbeat and attach refuse an agent registered without a public key.",
							 &gov_require_agent_keys,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("governance.challenge_ttl",
							"How long a nonce from challenge() may be presented.",
							NULL,
							&gov_challenge_ttl_ms,
							30 * 1000, 1000, 3600 * 1000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("governance.max_challenges_per_role",
							"Most unexpired, unused challenges one role may hold.",
							NULL,
							&gov_max_challenges_per_role,
							1000, 1, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

text *
gov_pop_arg(FunctionCallInfo fcinfo, int n)
{
	/* a 0.1 definition of the function, before the upgrade, passes fewer */
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return PG_GETARG_TEXT_PP(n);
}

static void
pop_refuse(const GovPopRequest *req, const char *principal, const pg_uuid_t *event_lease,
		   const char *why, const char *detail)
{
	gov_security_event("governance.pop.refused", event_lease, principal,
					   psprintf("%s: %s%s%s", gov_pop_op_name(req->op), why,
								detail ? ": " : "", detail ? detail : ""));
	ereport(ERROR,
			(errcode(GOV_ERRCODE_POP_REFUSED),
			 errmsg("proof of possession refused: %s", why),
			 detail ? errdetail("%s.", detail) :
			 errdetail("Agent %s has a registered key: each %s must be signed by it.",
					   principal, gov_pop_op_name(req->op)),
			 errhint("Call governance.challenge(), sign the request with the agent's key as docs/FORMAT.md section 13 describes, and pass the proof as the proof argument.")));
}

void
gov_pop_check(GovPopRequest *req, const char *principal, const GovAgentRow *agent,
			  text *proof, const pg_uuid_t *event_lease)
{
	uint8		nonce[GOV_POP_NONCE_LEN];
	uint8		sig[GOV_POP_SIG_LEN];
	const char *bad;
	Oid			argtypes[] = {BYTEAOID};
	Datum		values[1];
	int			rc;
	bool		isnull;
	Oid			role;
	char	   *kid;
	TimestampTz expires;
	size_t		n;
	uint8	   *msg;

	/* an administrator acting on the agent's behalf is not the agent */
	if (!agent->found || agent->role != GetOuterUserId())
		return;
	if (agent->public_key == NULL)
	{
		if (!gov_require_agent_keys)
			return;
		pop_refuse(req, principal, event_lease, "agent has no key",
				   "governance.require_agent_keys is on and the agent was registered without a public key");
	}
	if (proof == NULL)
		pop_refuse(req, principal, event_lease, "proof required", NULL);
	bad = gov_pop_proof_decode(VARDATA_ANY(proof), VARSIZE_ANY_EXHDR(proof), nonce, sig);
	if (bad)
		pop_refuse(req, principal, event_lease, "malformed proof", bad);

	values[0] = gov_bytea_datum(nonce, GOV_POP_NONCE_LEN);
	rc = gov_spi_exec("DELETE FROM governance.pop_challenges WHERE nonce = $1 "
					  "RETURNING role_oid, server_key_id, expires_at",
					  1, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not consume a challenge");
	if (SPI_processed == 0)
		pop_refuse(req, principal, event_lease, "unknown or used nonce", NULL);
	role = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	kid = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	expires = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (role != GetOuterUserId())
		pop_refuse(req, principal, event_lease, "nonce issued to another role", NULL);
	if (expires <= GetCurrentTimestamp())
		pop_refuse(req, principal, event_lease, "nonce expired", NULL);

	memcpy(req->nonce, nonce, GOV_POP_NONCE_LEN);
	req->server_key_id = kid;
	n = gov_pop_message_size(req);
	if (n == 0)
		elog(ERROR, "proof-of-possession request too large");
	msg = palloc(n);
	(void) gov_pop_message(req, msg, n);
	if (!gov_ed25519_verify(sig, msg, n, (const uint8 *) VARDATA_ANY(agent->public_key)))
		pop_refuse(req, principal, event_lease, "bad signature", NULL);
	pfree(msg);
}

/*
 * challenge() -> (nonce bytea, server_key_id text, expires_at timestamptz)
 */
PG_FUNCTION_INFO_V1(gov_sql_challenge);
Datum
gov_sql_challenge(PG_FUNCTION_ARGS)
{
	uint8		nonce[GOV_POP_NONCE_LEN];
	char	   *why;
	const char *kid;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires = now + (int64) gov_challenge_ttl_ms * 1000;
	Oid			argtypes[] = {BYTEAOID, OIDOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[5];
	Oid			ctypes[] = {OIDOID, TIMESTAMPTZOID, INT4OID};
	Datum		cargs[3];
	TupleDesc	desc;
	Datum		out[3];
	bool		nulls[3] = {0};
	int			rc;
	bool		isnull;
	int64		outstanding;

	GOV_ENTRY();
	gov_require_primary("challenge()");
	if (!gov_key_available(&why))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key unavailable"),
				 errdetail("%s", why)));
	kid = gov_current_key_id();
	if (!pg_strong_random(nonce, sizeof(nonce)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random nonce")));

	SPI_connect();
	values[0] = gov_bytea_datum(nonce, sizeof(nonce));
	values[1] = ObjectIdGetDatum(GetOuterUserId());
	values[2] = CStringGetTextDatum(kid);
	values[3] = TimestampTzGetDatum(now);
	values[4] = TimestampTzGetDatum(expires);
	/* the caller's own expired challenges go; nobody else's are touched */
	/* counting stops at the limit: a cost bounded by it */
	cargs[0] = values[1];
	cargs[1] = values[3];
	cargs[2] = Int32GetDatum(gov_max_challenges_per_role);
	rc = gov_spi_exec("WITH gone AS (DELETE FROM governance.pop_challenges "
					  "WHERE role_oid = $1 AND expires_at <= $2 RETURNING 1) "
					  "SELECT count(*) FROM (SELECT FROM governance.pop_challenges "
					  "WHERE role_oid = $1 AND expires_at > $2 LIMIT $3) AS s",
					  3, ctypes, cargs, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count outstanding challenges");
	outstanding = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (outstanding >= gov_max_challenges_per_role)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("role %s holds %d unused challenges (governance.max_challenges_per_role)",
						gov_caller_name(), gov_max_challenges_per_role),
				 errhint("Present or let expire the challenges already issued (governance.challenge_ttl).")));
	rc = gov_spi_exec("INSERT INTO governance.pop_challenges "
					  "(nonce, role_oid, server_key_id, issued_at, expires_at) "
					  "VALUES ($1, $2, $3, $4, $5)",
					  5, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record the challenge");
	SPI_finish();

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	out[0] = gov_bytea_datum(nonce, sizeof(nonce));
	out[1] = CStringGetTextDatum(kid);
	out[2] = TimestampTzGetDatum(expires);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, out, nulls)));
}

static char *
key_id_of(bytea *pk)
{
	char	   *kid = palloc(GOV_KEY_ID_LEN + 1);

	gov_key_id((const uint8 *) VARDATA_ANY(pk), kid);
	return kid;
}

static void
refuse_revoked_key(bytea *pk)
{
	Oid			argtypes[] = {TEXTOID};
	Datum		values[1];
	char	   *kid = key_id_of(pk);

	values[0] = CStringGetTextDatum(kid);
	if (gov_spi_exec("SELECT 1 FROM governance.revoked_agent_keys WHERE key_id = $1",
					 1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the revoked agent keys");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agent key %s was revoked", kid),
				 errdetail("A key revoked by revoke_agent_key() can never be an agent's key again.")));
}

void
gov_pop_refuse_revoked_key(bytea *pk)
{
	refuse_revoked_key(pk);
}

static bytea *
arg_public_key(FunctionCallInfo fcinfo, int n, const char *what)
{
	bytea	   *pk;

	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	pk = PG_GETARG_BYTEA_PP(n);
	if (VARSIZE_ANY_EXHDR(pk) != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be 32 bytes (an Ed25519 public key), not %zu",
						what, (size_t) VARSIZE_ANY_EXHDR(pk))));
	return pk;
}

/*
 * rotate_agent_key(principal text, new_public_key bytea, proof text DEFAULT NULL)
 *   -> text (the new key id)
 * By the agent, with a proof by its current key over a "rotate-key"
 * request naming the new key; or by an administrator.  Ledgered.
 */
PG_FUNCTION_INFO_V1(gov_sql_rotate_agent_key);
Datum
gov_sql_rotate_agent_key(PG_FUNCTION_ARGS)
{
	char	   *principal;
	bytea	   *newpk;
	text	   *proof = gov_pop_arg(fcinfo, 2);
	GovAgentRow agent;
	bool		by_agent;
	char	   *old_kid = NULL;
	char	   *new_kid;
	Oid			argtypes[] = {TEXTOID, BYTEAOID};
	Datum		values[2];
	GovJson		j;

	GOV_ENTRY();
	gov_require_primary("rotate_agent_key()");
	principal = gov_arg_text(fcinfo, 0, "principal");
	newpk = arg_public_key(fcinfo, 1, "new_public_key");

	SPI_connect();
	agent = gov_agent_row(principal);
	if (!agent.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("principal %s is not registered", principal)));
	by_agent = agent.role == GetOuterUserId();
	if (!by_agent && !gov_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the agent registered for %s or an administrator may rotate its key",
						principal)));
	if (agent.public_key)
		old_kid = key_id_of(agent.public_key);
	if (by_agent)
	{
		GovPopRequest req;

		memset(&req, 0, sizeof(req));
		req.op = GOV_POP_ROTATE_KEY;
		req.principal = principal;
		req.new_key = (const uint8 *) VARDATA_ANY(newpk);
		if (agent.public_key == NULL)
			pop_refuse(&req, principal, NULL, "agent has no key",
					   "An agent without a key is given one by an administrator (register_agent or rotate_agent_key)");
		gov_pop_check(&req, principal, &agent, proof, NULL);
	}
	if (agent.public_key && VARSIZE_ANY_EXHDR(agent.public_key) == 32 &&
		memcmp(VARDATA_ANY(agent.public_key), VARDATA_ANY(newpk), 32) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the new key is the agent's current key")));
	refuse_revoked_key(newpk);

	values[0] = CStringGetTextDatum(principal);
	values[1] = PointerGetDatum(newpk);
	if (gov_spi_exec("UPDATE governance.agents SET public_key = $2 WHERE principal = $1",
					 2, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not rotate the agent's key");
	gov_xact_require_durable_commit();

	new_kid = key_id_of(newpk);
	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "principal");
	gj_str(&j, principal);
	gj_key(&j, "old_key_id");
	gj_str(&j, old_kid);
	gj_key(&j, "new_key_id");
	gj_str(&j, new_kid);
	gj_key(&j, "signed_by_old_key");
	gj_bool(&j, by_agent);
	gj_key(&j, "by");
	gj_str(&j, gov_caller_name());
	gj_end_object(&j);
	gov_ledger_append_system("governance.agent.key_rotated", NULL, gj_finish(&j));
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(new_kid));
}

/*
 * revoke_agent_key(principal text, reason text) -> integer
 * A compromised key: recorded as revoked (never usable again), taken from
 * the agent together with its lease allowance (max_leases 0: no key-less
 * fallback until an administrator registers the agent again), and every
 * live lease of the principal revoked.  Returns how many leases ended.
 */
PG_FUNCTION_INFO_V1(gov_sql_revoke_agent_key);
Datum
gov_sql_revoke_agent_key(PG_FUNCTION_ARGS)
{
	char	   *principal;
	char	   *reason;
	GovAgentRow agent;
	char	   *kid;
	Oid			argtypes[] = {TEXTOID, TEXTOID, BYTEAOID, TEXTOID, TEXTOID};
	Datum		values[5];
	int64		ended = 0;
	List	   *leases = NIL;
	ListCell   *lc;
	uint64		i;
	GovJson		j;
	char	   *why;

	GOV_ENTRY();
	gov_require_primary("revoke_agent_key()");
	gov_require_read_committed("revoke_agent_key()");
	principal = gov_arg_text(fcinfo, 0, "principal");
	reason = gov_arg_text(fcinfo, 1, "reason");
	if (strlen(reason) > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reason is too long (at most 1024 bytes)")));

	SPI_connect();
	agent = gov_agent_row(principal);
	if (!agent.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("principal %s is not registered", principal)));
	if (agent.public_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("agent %s has no key to revoke", principal)));
	kid = key_id_of(agent.public_key);

	values[0] = CStringGetTextDatum(kid);
	values[1] = CStringGetTextDatum(principal);
	values[2] = PointerGetDatum(agent.public_key);
	values[3] = CStringGetTextDatum(gov_caller_name());
	values[4] = CStringGetTextDatum(reason);
	if (gov_spi_exec("INSERT INTO governance.revoked_agent_keys "
					 "(key_id, principal, public_key, revoked_at, revoked_by, reason) "
					 "VALUES ($1, $2, $3, now(), $4, $5) ON CONFLICT (key_id) DO NOTHING",
					 5, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the revoked key");
	if (gov_spi_exec("UPDATE governance.agents SET public_key = NULL, max_leases = 0 "
					 "WHERE principal = $1",
					 1, argtypes + 1, values + 1, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not withdraw the agent's key");
	gov_xact_require_durable_commit();

	if (gov_spi_exec("SELECT lease_id FROM governance.leases "
					 "WHERE principal = $1 AND state = 'live' ORDER BY depth, lease_id",
					 1, argtypes + 1, values + 1, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the agent's leases");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		leases = lappend(leases, u);
	}
	why = psprintf("agent key revoked: %s", reason);
	foreach(lc, leases)
		ended += gov_revoke_at_once((pg_uuid_t *) lfirst(lc), why);

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "principal");
	gj_str(&j, principal);
	gj_key(&j, "key_id");
	gj_str(&j, kid);
	gj_key(&j, "reason");
	gj_str(&j, reason);
	gj_key(&j, "leases_revoked");
	gj_int(&j, ended);
	gj_key(&j, "by");
	gj_str(&j, gov_caller_name());
	gj_end_object(&j);
	gov_ledger_append_system("governance.agent.key_revoked", NULL, gj_finish(&j));
	SPI_finish();
	PG_RETURN_INT32((int32) Min(ended, PG_INT32_MAX));
}
