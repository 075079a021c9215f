/*-------------------------------------------------------------------------
 *
 * artifact.c
 *	  Issuing and checking authorization artifacts.
 *
 *	  gov1.<base64url(payload)>.<base64url(signature)>
 *
 *	  The payload is a canonical message (docs/FORMAT.md section 9) that
 *	  starts with the tag "governance.v1.artifact"; the signature is Ed25519
 *	  over the payload bytes by the key the payload names.  There is one
 *	  version and one algorithm: nothing in the artifact chooses how it is
 *	  checked.  Structural decoding lives in artifact_codec.c (plain C,
 *	  fuzzed); this file adds keys, time and meaning.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "common/int.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "artifact.h"
#include "policy.h"
#include "lease.h"
#include "spi_cache.h"
#include "artifact_codec.h"
#include "encode.h"
#include "common.h"
#include "keys.h"
#include "uid.h"

static void
encode_claims(GovEnc *e, const GovClaims *c)
{
	gov_enc_init(e, GOV_ARTIFACT_TAG);
	gov_enc_bytes(e, c->key_id, GOV_KEY_ID_LEN);
	gov_enc_uuid(e, &c->lease_id);
	gov_enc_uuid(e, c->has_parent ? &c->parent : NULL);
	gov_enc_text(e, c->principal);
	gov_enc_text(e, c->action);
	gov_enc_text(e, c->resource);
	gov_enc_bytes(e, c->context_hash, GOV_HASH_LEN);
	gov_enc_bytes(e, c->policy_hash, GOV_HASH_LEN);
	if (c->measurement)
		gov_enc_bytes(e, VARDATA_ANY(c->measurement), VARSIZE_ANY_EXHDR(c->measurement));
	else
		gov_enc_null(e);
	gov_enc_timestamp(e, c->issued_at);
	gov_enc_timestamp(e, c->expires_at);
	gov_enc_timestamp(e, c->max_expiry);
	gov_enc_int64(e, c->depth);
	if (c->has_agent_key)
		gov_enc_bytes(e, c->agent_key_id, GOV_KEY_ID_LEN);
}

char *
gov_artifact_issue(GovClaims *claims)
{
	GovEnc		e;
	GovSignature sig;
	char	   *out;
	size_t		n;

	if (!gov_key_available(NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key unavailable: cannot issue an artifact")));
	strlcpy(claims->key_id, gov_current_key_id(), sizeof(claims->key_id));
	encode_claims(&e, claims);
	if (e.buf.len > GOV_ARTIFACT_MAX_TEXT / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("authorization claims are too large for an artifact")));
	gov_sign(&e, &sig);
	if (strcmp(sig.key_id, claims->key_id) != 0)
		elog(ERROR, "governance: the signing key changed while issuing an artifact");

	out = palloc(strlen(GOV_ARTIFACT_PREFIX) + (e.buf.len / 3 + 2) * 4 + 1 + 90);
	strcpy(out, GOV_ARTIFACT_PREFIX);
	n = strlen(out);
	n += gov_b64url_encode((uint8 *) e.buf.data, e.buf.len, out + n);
	out[n++] = '.';
	gov_b64url_encode(sig.sig, GOV_ED25519_SIG_LEN, out + n);
	gov_enc_free(&e);
	return out;
}

static char *
claim_text(const GovClaimField *f)
{
	return f->isnull ? NULL : pnstrdup((const char *) f->p, f->len);
}

/*
 * A claimed time, or false when it lies outside what PostgreSQL can
 * represent (only a forged or corrupted payload can do that).
 */
static bool
claim_ts(const GovClaimField *f, TimestampTz *out)
{
	int64_t		v = 0;
	int64		ts;

	if (!gov_claim_int64(f, &v) ||
		pg_sub_s64_overflow((int64) v,
							(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY, &ts) ||
		!IS_VALID_TIMESTAMP(ts))
		return false;
	*out = ts;
	return true;
}

char *
gov_artifact_check(const char *txt, GovClaims *c, bool *decoded, bool allow_renewed)
{
	uint8	   *buf = palloc(GOV_ARTIFACT_MAX_TEXT);
	GovArtifactParts parts;
	const char *err;
	uint8		pk[GOV_ED25519_PK_LEN];
	int64_t		depth = 0;
	TimestampTz now;

	*decoded = false;
	memset(c, 0, sizeof(*c));
	err = gov_artifact_decode(txt, strlen(txt), buf, GOV_ARTIFACT_MAX_TEXT, &parts);
	if (err)
		return psprintf("malformed artifact: %s", err);

	memcpy(c->key_id, parts.claims[GOV_CLAIM_KEY_ID].p, GOV_KEY_ID_LEN);
	c->key_id[GOV_KEY_ID_LEN] = '\0';
	memcpy(c->lease_id.data, parts.claims[GOV_CLAIM_LEASE_ID].p, UUID_LEN);
	c->has_parent = !parts.claims[GOV_CLAIM_PARENT].isnull;
	if (c->has_parent)
		memcpy(c->parent.data, parts.claims[GOV_CLAIM_PARENT].p, UUID_LEN);
	c->has_agent_key = !parts.claims[GOV_CLAIM_AGENT_KEY_ID].isnull;
	if (c->has_agent_key)
	{
		memcpy(c->agent_key_id, parts.claims[GOV_CLAIM_AGENT_KEY_ID].p, GOV_KEY_ID_LEN);
		c->agent_key_id[GOV_KEY_ID_LEN] = '\0';
	}
	c->principal = claim_text(&parts.claims[GOV_CLAIM_PRINCIPAL]);
	c->action = claim_text(&parts.claims[GOV_CLAIM_ACTION]);
	c->resource = claim_text(&parts.claims[GOV_CLAIM_RESOURCE]);
	memcpy(c->context_hash, parts.claims[GOV_CLAIM_CONTEXT_HASH].p, GOV_HASH_LEN);
	memcpy(c->policy_hash, parts.claims[GOV_CLAIM_POLICY_HASH].p, GOV_HASH_LEN);
	if (!parts.claims[GOV_CLAIM_MEASUREMENT].isnull)
	{
		const GovClaimField *m = &parts.claims[GOV_CLAIM_MEASUREMENT];

		c->measurement = palloc(VARHDRSZ + m->len);
		SET_VARSIZE(c->measurement, VARHDRSZ + m->len);
		memcpy(VARDATA(c->measurement), m->p, m->len);
	}
	(void) gov_claim_int64(&parts.claims[GOV_CLAIM_DEPTH], &depth);
	c->depth = depth;

	/* claims are shown to the caller only once they are well formed */
	if (!pg_verifymbstr(c->principal, strlen(c->principal), true) ||
		!pg_verifymbstr(c->action, strlen(c->action), true) ||
		!pg_verifymbstr(c->resource, strlen(c->resource), true))
		return pstrdup("malformed artifact: a claim is not valid UTF-8");
	if (!claim_ts(&parts.claims[GOV_CLAIM_ISSUED_AT], &c->issued_at) ||
		!claim_ts(&parts.claims[GOV_CLAIM_EXPIRES_AT], &c->expires_at) ||
		!claim_ts(&parts.claims[GOV_CLAIM_MAX_EXPIRY], &c->max_expiry))
		return pstrdup("malformed artifact: a time is out of range");
	/* a subtree lease's resource is "in <uid>" (policy.h) */
	if (!gov_valid_uid(c->principal) || !gov_valid_uid(c->action) ||
		!gov_valid_uid(gov_subtree_root(c->resource) ? gov_subtree_root(c->resource) : c->resource))
		return pstrdup("malformed artifact: a claim is not an entity uid");
	if (c->depth < 0)
		return pstrdup("malformed artifact: the depth is negative");
	*decoded = true;

	if (!gov_lookup_public_key(c->key_id, pk))
		return psprintf("unknown signing key %s", c->key_id);

	/* expiry first: it costs nothing, the signature does */
	if (c->issued_at > c->expires_at || c->expires_at > c->max_expiry)
		return pstrdup("malformed artifact: inconsistent times");
	now = GetCurrentTimestamp();
	if (c->max_expiry <= now || (!allow_renewed && c->expires_at <= now))
		return pstrdup("artifact expired");

	if (!gov_ed25519_verify(parts.signature, parts.payload, parts.payload_len, pk))
		return pstrdup("bad signature");
	return NULL;
}

static void
put_kv_text(JsonbParseState **st, const char *k, const char *v)
{
	JsonbValue	key;
	JsonbValue	val;

	key.type = jbvString;
	key.val.string.val = (char *) k;
	key.val.string.len = strlen(k);
	pushJsonbValue(st, WJB_KEY, &key);
	if (v == NULL)
		val.type = jbvNull;
	else
	{
		val.type = jbvString;
		val.val.string.val = (char *) v;
		val.val.string.len = strlen(v);
	}
	pushJsonbValue(st, WJB_VALUE, &val);
}

static char *
uuid_text(const pg_uuid_t *u)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(u)));
}

static char *
ts_text(TimestampTz t)
{
	return gov_iso_timestamp(t);
}

Jsonb *
gov_claims_jsonb(const GovClaims *c)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_kv_text(&st, "key_id", c->key_id);
	put_kv_text(&st, "lease_id", uuid_text(&c->lease_id));
	put_kv_text(&st, "parent", c->has_parent ? uuid_text(&c->parent) : NULL);
	put_kv_text(&st, "principal", c->principal);
	put_kv_text(&st, "action", c->action);
	put_kv_text(&st, "resource", c->resource);
	put_kv_text(&st, "context_sha3_512", gov_hex(c->context_hash, GOV_HASH_LEN));
	put_kv_text(&st, "policy_set_hash", gov_hex(c->policy_hash, GOV_HASH_LEN));
	put_kv_text(&st, "measurement",
				c->measurement ? gov_hex((uint8 *) VARDATA_ANY(c->measurement),
										 VARSIZE_ANY_EXHDR(c->measurement)) : NULL);
	put_kv_text(&st, "issued_at", ts_text(c->issued_at));
	put_kv_text(&st, "expires_at", ts_text(c->expires_at));
	put_kv_text(&st, "max_expiry", ts_text(c->max_expiry));
	put_kv_text(&st, "depth", psprintf(INT64_FORMAT, c->depth));
	if (c->has_agent_key)
		put_kv_text(&st, "agent_key_id", c->agent_key_id);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
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
				Oid			argtypes[] = {UUIDOID};
				Datum		args[] = {UUIDPGetDatum(&c.lease_id)};

				rc = gov_spi_exec("SELECT state, expires_at > clock_timestamp() "
								  "FROM governance.leases WHERE lease_id = $1",
								  1, argtypes, args, NULL, true, 1);
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
