/*-------------------------------------------------------------------------
 *
 * session.c
 *	  attach, detach, current_lease, is_authorized, authorized_resources
 *	  and lease_covers: binding a transaction or session to leases, and
 *	  the checks that row-level security and governed writes make.
 *
 *	  An attachment lasts until the end of the transaction unless the
 *	  session scope is asked for, which keeps it safe behind
 *	  transaction-mode connection poolers.  Attaching verifies the
 *	  artifact, the lease's live state, and that the caller is the login
 *	  role registered for the lease's principal: a copied artifact is of no
 *	  use to any other role.  A lease attached for the session is revoked
 *	  by the enforcer when that session ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "artifact.h"
#include "attach.h"
#include "xact_defer.h"
#include "authz.h"
#include "events.h"
#include "common.h"
#include "spi_cache.h"
#include "lease.h"
#include "trust.h"
#include "query_guard.h"
#include "ledger.h"
#include "pop.h"
#include "worker.h"

/* Rebuild the shared entry of a live lease from its durable row. */
static bool
load_lease(const pg_uuid_t *id, GovLeaseSnapshot *l, char **state_out)
{
	int			rc;
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Datum		v;
	Oid			argtypes[] = {UUIDOID};
	Datum		values[] = {UUIDPGetDatum(id)};

	rc = gov_spi_exec("SELECT state, role_oid, depth, principal, action, resource, "
					  "expires_at, max_expiry, (extract(epoch FROM ttl) * 1000000)::bigint, "
					  "parent_id, measurement IS NOT NULL "
					  "FROM governance.leases WHERE lease_id = $1",
					  1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0)
		return false;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	memset(l, 0, sizeof(*l));
	l->id = *id;
	*state_out = SPI_getvalue(t, d, 1);
	l->dboid = MyDatabaseId;
	l->role = DatumGetObjectId(SPI_getbinval(t, d, 2, &isnull));
	l->depth = DatumGetInt32(SPI_getbinval(t, d, 3, &isnull));
	strlcpy(l->principal, SPI_getvalue(t, d, 4), GOV_UID_MAX);
	strlcpy(l->action, SPI_getvalue(t, d, 5), GOV_UID_MAX);
	strlcpy(l->resource, SPI_getvalue(t, d, 6), GOV_UID_MAX);
	l->expires_at = DatumGetTimestampTz(SPI_getbinval(t, d, 7, &isnull));
	l->max_expiry = DatumGetTimestampTz(SPI_getbinval(t, d, 8, &isnull));
	l->ttl_us = DatumGetInt64(SPI_getbinval(t, d, 9, &isnull));
	v = SPI_getbinval(t, d, 10, &isnull);
	l->has_parent = !isnull;
	if (!isnull)
		l->parent = *DatumGetUUIDP(v);
	l->has_measurement = DatumGetBool(SPI_getbinval(t, d, 11, &isnull));
	l->state = strcmp(*state_out, "live") == 0 ? GOV_LEASE_LIVE :
		strcmp(*state_out, "revoked") == 0 ? GOV_LEASE_REVOKED : GOV_LEASE_EXPIRED;
	return true;
}

/*
 * Refuse the attach, ledgering why.  detail, when given, goes to the ledger
 * only (why a lease was revoked may name policies the caller must not
 * learn).
 */
static void
refuse_ledgered(const char *reason, const char *detail, const GovClaims *c, bool decoded)
{
	gov_security_event("governance.attach.refused",
					   decoded ? &c->lease_id : NULL,
					   decoded ? c->principal : NULL,
					   detail ? psprintf("%s: %s", reason, detail) : reason);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("artifact refused: %s", reason)));
}

static void
refuse(const char *reason, const GovClaims *c, bool decoded)
{
	refuse_ledgered(reason, NULL, c, decoded);
}

/*
 * The update of the lease's row that a session attachment makes locks the
 * row until the transaction ends: a prepared transaction would hold it
 * through restarts, out of reach of any revocation (revoke.c).
 */
static const GovXactOps session_binding_ops = {
	.what = "attached a governance lease for the session",
	.prepare_detail = "The prepared transaction would keep the lease's row locked, which delays its revocation.",
};

/*
 * Did this very transaction (or one of its live subtransactions) write the
 * lease's durable row?  Then the lease is pending because its authorize()
 * or delegate() has not committed yet: the caller's own mistake (a driver
 * that opens a transaction implicitly, as psycopg does), not someone
 * else's artifact.  Another transaction's uncommitted row is invisible.
 */
static bool
issued_by_this_transaction(const pg_uuid_t *id)
{
	bool		isnull;
	Datum		xmin;
	Oid			argtypes[] = {UUIDOID};
	Datum		values[] = {UUIDPGetDatum(id)};

	if (gov_spi_exec("SELECT xmin FROM governance.leases WHERE lease_id = $1",
					 1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed == 0)
		return false;
	xmin = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
}

/*
 * How attach() is called.  These refusals are about the call, not about
 * whose artifact it is: nothing is ledgered.
 *
 * A session-scoped attach outlives the transaction on a server connection
 * that a transaction-mode pooler (pgbouncer pool_mode = transaction) hands
 * to the next client, who would then use the lease: nothing in the
 * protocol tells such a connection from one client's own, so it needs an
 * explicit opt-in, governance.session_attach, which only a superuser sets
 * (for the roles whose sessions each serve one client).  Checked first.
 *
 * A transaction-scoped attach that is the client's whole statement, with
 * no transaction block open, would end before the next statement could use
 * it.  Inside a function, a DO block or a multi-statement query string it
 * lasts for the rest of that statement (the implicit transaction), which
 * is useful, and allowed.  Checked last (check_attach_lasts).
 */
static void
check_attach_call(bool session)
{
	if (session && !gov_session_attach)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("attaching a lease for the session is not enabled for role %s",
						GetUserNameFromId(GetOuterUserId(), false)),
				 errdetail("A session behind a transaction-mode connection pooler serves many clients in turn; "
						   "a lease attached for it would reach the next client."),
				 errhint("Attach for the transaction: BEGIN; SELECT governance.attach(artifact); ...; COMMIT.  "
						 "For roles whose sessions each serve one client, a superuser sets "
						 "governance.session_attach = on (ALTER ROLE ... SET).")));
}

/*
 * After every check of the artifact and the lease, so that a refused
 * attach is refused (and ledgered) for what it is: only an attach that
 * would have succeeded, and done nothing, is refused for this.
 */
static void
check_attach_lasts(bool session)
{
	if (!session && !IsTransactionBlock() && gov_query_is_client_statement())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("attach() outside a transaction block would end with this statement"),
				 errdetail("A lease attached for the transaction is detached when its transaction ends; "
						   "without BEGIN this statement is the whole transaction."),
				 errhint("BEGIN a transaction, attach, run the statements, COMMIT.  "
						 "In psycopg use \"with conn.transaction():\" or leave autocommit off.")));
}

/* attach(artifact text, session boolean DEFAULT false) -> uuid */
PG_FUNCTION_INFO_V1(gov_sql_attach);
Datum
gov_sql_attach(PG_FUNCTION_ARGS)
{
	char	   *txt;
	bool		session = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	GovClaims	c;
	bool		decoded = false;
	char	   *reason;
	GovLeaseSnapshot l;
	char	   *why;
	pg_uuid_t  *result;

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("artifact must not be NULL")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("leases cannot be attached on a hot standby"),
				 errdetail("Leases are enforced on the primary; a standby fails closed.")));
	check_attach_call(session);
	txt = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (!gov_trusted(&why))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("trust degraded: %s", why)));

	SPI_connect();
	reason = gov_artifact_check(txt, &c, &decoded, true);
	if (reason)
		refuse(reason, &c, decoded);

	if (!gov_lease_get(&c.lease_id, &l))
	{
		char	   *state;

		/* not in shared memory: just after a restart, say; ask the table */
		if (!load_lease(&c.lease_id, &l, &state))
			refuse("lease unknown", &c, decoded);
		if (strcmp(state, "revoked") == 0)
			refuse("lease revoked", &c, decoded);
		if (strcmp(state, "live") != 0 || l.expires_at <= GetCurrentTimestamp())
			refuse(c.expires_at <= GetCurrentTimestamp() ? "artifact expired" : "lease expired",
				   &c, decoded);
		gov_lease_install(&l);

		/*
		 * A revocation that committed between our read and the install found
		 * nothing to mark in shared memory: read the row again, now that the
		 * entry exists for any later revocation to find.
		 */
		if (!load_lease(&c.lease_id, &l, &state) || strcmp(state, "live") != 0)
		{
			gov_lease_set_state(&c.lease_id, GOV_LEASE_REVOKED, "revoked");
			refuse("lease revoked", &c, decoded);
		}
		if (!gov_lease_get(&c.lease_id, &l))
			refuse("lease unknown", &c, decoded);
	}
	if (l.state == GOV_LEASE_REVOKED)
	{
		/*
		 * Why it was revoked: what its revoker wrote, but a policy's words (a
		 * heartbeat's re-decision) only for those told reasons in full.
		 */
		bool		policy = strncmp(l.end_reason, "policy: ", 8) == 0;

		if (policy && gov_deny_reasons == GOV_REASONS_SHORT && !gov_caller_is_admin())
			refuse_ledgered("lease revoked: policy: denied by policy", l.end_reason, &c, decoded);
		refuse(psprintf("lease revoked: %s", l.end_reason), &c, decoded);
	}
	if (l.state == GOV_LEASE_PENDING)
	{
		/* the caller's own authorize(), in this transaction: not an attack */
		if (issued_by_this_transaction(&c.lease_id))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("artifact refused: lease not committed"),
					 errdetail("The lease was issued in this same transaction, which has not committed; "
							   "this error rolls the issue back too."),
					 errhint("Commit the transaction that calls governance.authorize() (or delegate()) first, "
							 "then attach in a new transaction.  psycopg opens a transaction implicitly: "
							 "call conn.commit() after authorize(), or connect with autocommit=True.")));
		refuse("lease not committed", &c, decoded);
	}
	if (!gov_lease_is_live(&l, GetCurrentTimestamp()))
		refuse(c.expires_at <= GetCurrentTimestamp() ? "artifact expired" : "lease expired",
			   &c, decoded);
	if (strcmp(l.principal, c.principal) != 0 || strcmp(l.action, c.action) != 0 ||
		strcmp(l.resource, c.resource) != 0)
		refuse("the artifact does not match its lease", &c, decoded);
	if (l.role != GetOuterUserId())
		refuse(psprintf("role %s is not the role registered for %s",
						GetUserNameFromId(GetOuterUserId(), false), l.principal),
			   &c, decoded);

	/* proof of possession by the lease's agent */
	{
		GovAgentRow agent = gov_agent_row(l.principal);
		GovPopRequest req;
		uint8		art_hash[GOV_HASH_LEN];

		gov_sha3_512(txt, strlen(txt), art_hash);
		memset(&req, 0, sizeof(req));
		req.op = GOV_POP_ATTACH;
		req.artifact_hash = art_hash;
		req.has_session = true;
		req.session = session;
		gov_pop_check(&req, l.principal, &agent, gov_pop_arg(fcinfo, 2), &c.lease_id);
	}

	check_attach_lasts(session);
	if (session)
	{
		Oid			argtypes[] = {UUIDOID};
		Datum		values[] = {UUIDPGetDatum(&l.id)};

		/*
		 * Durable too: a restart ends every session, so it ends this lease.
		 * Shared memory binds it when this commits (attach.c).
		 */
		if (gov_spi_exec("UPDATE governance.leases SET session_bound = true "
						 "WHERE lease_id = $1 AND NOT session_bound",
						 1, argtypes, values, NULL, false, 0) < 0)
			elog(ERROR, "could not record the session binding");
		gov_xact_defer(&session_binding_ops, NULL);
	}
	gov_attach(&l, session);
	/* the enforcer may be asleep past this lease's expiry */
	gov_worker_wake_at(GOV_WORKER_ENFORCER, l.expires_at);
	SPI_finish();

	result = palloc(sizeof(pg_uuid_t));
	*result = c.lease_id;
	PG_RETURN_UUID_P(result);
}

/* detach(lease_id uuid DEFAULT NULL) -> integer: how many were detached */
PG_FUNCTION_INFO_V1(gov_sql_detach);
Datum
gov_sql_detach(PG_FUNCTION_ARGS)
{
	int			before = gov_attached_count();

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		gov_detach(NULL);
	else
		gov_detach(PG_GETARG_UUID_P(0));
	gov_query_guard_sweep();	/* held cursors that read under it end too */
	PG_RETURN_INT32(before - gov_attached_count());
}

/*
 * current_lease() -> setof (lease_id, principal, action, resource,
 *                           expires_at, scope, live)
 */
PG_FUNCTION_INFO_V1(gov_sql_current_lease);
Datum
gov_sql_current_lease(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;
	TimestampTz now = GetCurrentTimestamp();

	GOV_ENTRY();
	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < gov_attached_count(); i++)
	{
		pg_uuid_t	id;
		bool		session;
		GovLeaseSnapshot l;
		Datum		values[7];
		bool		nulls[7] = {0};
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));
		bool		known;

		gov_attached_lease(i, &id, &session);
		known = gov_lease_get(&id, &l);
		*u = id;
		values[0] = UUIDPGetDatum(u);
		if (known)
		{
			values[1] = CStringGetTextDatum(l.principal);
			values[2] = CStringGetTextDatum(l.action);
			values[3] = CStringGetTextDatum(l.resource);
			values[4] = TimestampTzGetDatum(l.expires_at);
		}
		else
			nulls[1] = nulls[2] = nulls[3] = nulls[4] = true;
		values[5] = CStringGetTextDatum(session ? "session" : "transaction");
		values[6] = BoolGetDatum(known && gov_lease_is_live(&l, now));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * last_termination() -> setof (at, error_code, lease_id, message)
 *
 * The statement (or session) the governance enforcer last ended in this
 * session, asked by the role that was running it: at most one row, kept
 * until the end of the transaction after the one that was ended (or
 * DISCARD ALL).  The fallback where the SQLSTATE is lost (a PL/pgSQL
 * handler sees 57014; a driver that keeps only the class).
 */
PG_FUNCTION_INFO_V1(gov_sql_last_termination);
Datum
gov_sql_last_termination(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GovTermination t;

	GOV_ENTRY();
	InitMaterializedSRF(fcinfo, 0);
	if (gov_last_termination(&t))
	{
		Datum		values[4];
		bool		nulls[4] = {0};
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = t.lease;
		values[0] = TimestampTzGetDatum(t.at);
		values[1] = CStringGetTextDatum(unpack_sql_state(t.sqlerrcode));
		values[2] = UUIDPGetDatum(u);
		values[3] = CStringGetTextDatum(t.message);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * is_authorized(action text, resource text) -> boolean
 *
 * True only while an attached lease is live and covers exactly that action
 * and resource, and the system is trusted.  Cheap enough to call per row:
 * no allocation, no lock on the fast path (lease.c).
 */
PG_FUNCTION_INFO_V1(gov_sql_is_authorized);
Datum
gov_sql_is_authorized(PG_FUNCTION_ARGS)
{
	text	   *a;
	text	   *r;
	char		action[GOV_UID_MAX];
	char		resource[GOV_UID_MAX];
	pg_uuid_t	lease;

	GOV_ENTRY();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || gov_attached_count() == 0)
		PG_RETURN_BOOL(false);
	a = PG_GETARG_TEXT_PP(0);
	r = PG_GETARG_TEXT_PP(1);
	if (VARSIZE_ANY_EXHDR(a) >= GOV_UID_MAX || VARSIZE_ANY_EXHDR(r) >= GOV_UID_MAX)
		PG_RETURN_BOOL(false);
	memcpy(action, VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a));
	action[VARSIZE_ANY_EXHDR(a)] = '\0';
	memcpy(resource, VARDATA_ANY(r), VARSIZE_ANY_EXHDR(r));
	resource[VARSIZE_ANY_EXHDR(r)] = '\0';

	if (!gov_attached_covers(GetUserId(), action, resource, &lease) || !gov_trusted_cached())
		PG_RETURN_BOOL(false);
	gov_query_note_lease(&lease);
	PG_RETURN_BOOL(true);
}

/*
 * The live attached leases of the current user covering action, noted as
 * dependencies of the running queries (query_guard.c).  None while trust
 * is degraded.
 */
static int
covering(const char *action, GovCover *covers)
{
	char	   *why;
	int			n;
	int			i;

	n = gov_attached_resources(GetUserId(), action, covers, gov_max_attached);
	if (n == 0 || !gov_trusted(&why))
		return 0;
	for (i = 0; i < n; i++)
		gov_query_note_lease(&covers[i].lease);
	return n;
}

/*
 * authorized_resources(action text) -> text[]
 *
 * The resources that live attached leases cover for action, for the
 * row-level security policies of governed tables: evaluated once per
 * statement (an InitPlan), so the per-row cost is one array comparison.
 * Empty when nothing is attached or trust is degraded.
 */
PG_FUNCTION_INFO_V1(gov_sql_authorized_resources);
Datum
gov_sql_authorized_resources(PG_FUNCTION_ARGS)
{
	GovCover   *covers = palloc(sizeof(GovCover) * gov_max_attached);
	int			n = 0;
	Datum	   *d;
	int			i;

	GOV_ENTRY();
	if (!PG_ARGISNULL(0) && gov_attached_count() > 0)
		n = covering(text_to_cstring(PG_GETARG_TEXT_PP(0)), covers);
	d = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(covers[i].resource);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * authorized_resource(action text) -> text
 *
 * The first resource a live attached lease covers for action, or NULL: the
 * cheap first comparison of governed tables' row-level security.
 */
PG_FUNCTION_INFO_V1(gov_sql_authorized_resource);
Datum
gov_sql_authorized_resource(PG_FUNCTION_ARGS)
{
	GovCover   *covers;

	GOV_ENTRY();
	covers = palloc(sizeof(GovCover) * gov_max_attached);
	if (PG_ARGISNULL(0) || gov_attached_count() == 0 ||
		covering(text_to_cstring(PG_GETARG_TEXT_PP(0)), covers) == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(covers[0].resource));
}

/* ---------------------------------------------------------------------
 * lease_covers(action text, resource text) -> boolean
 * ---------------------------------------------------------------------
 *
 * The check in governed tables' row-level security (govern.c): does a
 * live lease the current role has attached cover action on resource?
 * The set of covered resources (exact leases' resources, and each subtree
 * lease's root and the entities within it: attach.c) is built at the first
 * call of each
 * execution of the expression (kept in fn_extra, which lives in the
 * executor state of that execution), as the InitPlan of the former
 * "= ANY ((SELECT authorized_resources(...)))" form was; each row then
 * costs one comparison (one resource) or one hashed lookup (more), not a
 * walk of the attachments: the per-row cost does not grow with the number
 * of leases attached.  A lease that ends while the execution runs is
 * handled as before: the enforcer cancels the statement, and a cursor
 * stops at its next fetch (the leases are noted with query_guard.c when
 * the set is built).  The set is rebuilt when the current user or the
 * action changes (a SECURITY DEFINER function calling it in a loop sees
 * what its owner holds, as everywhere: docs/DESIGN.md, "Whose lease").
 */
typedef struct CoverCache
{
	Oid			role;			/* built for this role */
	bool		action_const;	/* the action argument is a constant: */
	Datum		action_datum;	/* the argument it was built for ... */
	char		action[GOV_UID_MAX];	/* ... and its text */
	MemoryContext cxt;			/* holds the set */
	GovCoverSet *set;			/* NULL: nothing (trust degraded) */
} CoverCache;

static CoverCache *
cover_cache_build(FmgrInfo *flinfo, Datum action_datum, const char *action)
{
	CoverCache *cc = flinfo->fn_extra;
	MemoryContext old;
	char	   *why;
	int			i;

	GOV_ENTRY();
	if (cc == NULL)
	{
		cc = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(CoverCache));
		cc->cxt = AllocSetContextCreate(flinfo->fn_mcxt, "governance lease_covers",
										ALLOCSET_DEFAULT_SIZES);
		flinfo->fn_extra = cc;
	}
	else
		MemoryContextReset(cc->cxt);
	cc->set = NULL;
	cc->role = GetUserId();
	cc->action_const = get_fn_expr_arg_stable(flinfo, 0);
	cc->action_datum = action_datum;
	strlcpy(cc->action, action, GOV_UID_MAX);
	if (gov_attached_count() == 0 || !gov_trusted(&why))
		return cc;
	old = MemoryContextSwitchTo(cc->cxt);
	cc->set = gov_cover_set_build(cc->role, action);
	MemoryContextSwitchTo(old);
	for (i = 0; i < cc->set->nleases; i++)
		gov_query_note_lease(&cc->set->leases[i]);
	return cc;
}

PG_FUNCTION_INFO_V1(gov_sql_lease_covers);
Datum
gov_sql_lease_covers(PG_FUNCTION_ARGS)
{
	CoverCache *cc = fcinfo->flinfo->fn_extra;
	text	   *r;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	if (cc == NULL || cc->role != GetUserId() || !cc->action_const ||
		cc->action_datum != PG_GETARG_DATUM(0))
	{
		text	   *a = PG_GETARG_TEXT_PP(0);
		char		action[GOV_UID_MAX];

		if (VARSIZE_ANY_EXHDR(a) >= GOV_UID_MAX)
			PG_RETURN_BOOL(false);
		memcpy(action, VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a));
		action[VARSIZE_ANY_EXHDR(a)] = '\0';
		if (cc == NULL || cc->role != GetUserId() || strcmp(cc->action, action) != 0)
			cc = cover_cache_build(fcinfo->flinfo, PG_GETARG_DATUM(0), action);
		else
			cc->action_datum = PG_GETARG_DATUM(0);
	}
	if (cc->set == NULL)
		PG_RETURN_BOOL(false);
	r = PG_GETARG_TEXT_PP(1);
	PG_RETURN_BOOL(gov_cover_set_lookup(cc->set, VARDATA_ANY(r), VARSIZE_ANY_EXHDR(r), NULL));
}

/*
 * record(kind text, payload jsonb) -> bigint
 *
 * Appends an application event.  The kind must be well formed and outside
 * the "governance" namespace, which holds the extension's own events, so
 * that they cannot be forged (ledger.c defines what a kind is).
 */
PG_FUNCTION_INFO_V1(gov_sql_record);
Datum
gov_sql_record(PG_FUNCTION_ARGS)
{
	GovEvent	ev;
	char	   *kind;
	pg_uuid_t	lease;
	GovLeaseSnapshot l;

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("event kind must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("event payload must not be NULL"),
				 errhint("Use '{}' for an event without details.")));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	gov_ledger_check_kind(kind, false);

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.payload = PG_GETARG_JSONB_P(1);

	/*
	 * Under the attached lease when there is one (the first live one);
	 * outside any lease only for administrators: an agent's events always
	 * belong to an execution.
	 */
	if (gov_attached_any_live(GetUserId(), &lease) && gov_lease_get(&lease, &l))
	{
		ev.lease_id = &lease;
		ev.principal = l.principal;
		ev.action = l.action;
		ev.resource = l.resource;
	}
	else if (!gov_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("record() needs a live attached lease"),
				 errhint("Attach the artifact of the execution this event belongs to with governance.attach().")));
	PG_RETURN_INT64(gov_ledger_append(&ev));
}

/*
 * The 0.2 definition, with the trailing proof argument (a new symbol: the
 * 0.1 catalog calls gov_sql_attach with one argument fewer until the update,
 * and gov_pop_arg() then sees no proof).
 */
PG_FUNCTION_INFO_V1(gov_sql_attach_pop);
Datum
gov_sql_attach_pop(PG_FUNCTION_ARGS)
{
	return gov_sql_attach(fcinfo);
}
