/*-------------------------------------------------------------------------
 *
 * agents.c
 *	  register_agent(): which login role may act as which principal, and
 *	  how many leases it may hold at once.  Ledgered.
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
#include "revoke.h"
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"
#include "lease_rows.h"
#include "pop.h"

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
	Oid			argtypes[] = {TEXTOID, OIDOID, BYTEAOID, TEXTOID, INT4OID};
	Datum		values[5];

	GOV_ENTRY();
	gov_require_primary("register_agent()");
	principal = gov_arg_text(fcinfo, 0, "principal");
	gov_check_uid("principal", principal);
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
	if (pk)
		gov_pop_refuse_revoked_key(pk);
	values[0] = CStringGetTextDatum(principal);
	values[1] = ObjectIdGetDatum(role);
	values[2] = pk ? PointerGetDatum(pk) : (Datum) 0;
	values[3] = CStringGetTextDatum(gov_caller_name());
	values[4] = Int32GetDatum(limit);
	rc = gov_spi_exec("INSERT INTO governance.agents (principal, role_oid, public_key, registered_at, registered_by, max_leases) "
					  "VALUES ($1, $2, $3, now(), $4, $5) "
					  "ON CONFLICT (principal) DO UPDATE SET role_oid = EXCLUDED.role_oid, "
					  "public_key = EXCLUDED.public_key, registered_at = EXCLUDED.registered_at, "
					  "registered_by = EXCLUDED.registered_by, max_leases = EXCLUDED.max_leases",
					  5, argtypes, values,
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
	gj_str(&j, gov_caller_name());
	gj_end_object(&j);
	gov_ledger_append_system("governance.agent.registered", NULL, gj_finish(&j));
	SPI_finish();
	PG_RETURN_VOID();
}
