/*-------------------------------------------------------------------------
 *
 * common.c
 *	  The preload guard and small helpers shared by every layer.  It calls
 *	  nothing of the extension's own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "common.h"

bool		gov_preloaded = false;

void
gov_require_preload(void)
{
	if (!gov_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("governance must be loaded via shared_preload_libraries"),
				 errhint("Add 'governance' to shared_preload_libraries in postgresql.conf and restart the server.")));
}

Oid
gov_extension_oid(void)
{
	return get_extension_oid(GOV_EXTENSION_NAME, true);
}

Oid
gov_schema_oid(void)
{
	return get_namespace_oid(GOV_SCHEMA_NAME, true);
}

char *
gov_uuid_text(const pg_uuid_t *u)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(u)));
}

/* Does the session's role have governance_admin's privileges? */
bool
gov_caller_is_admin(void)
{
	Oid			admin = get_role_oid("governance_admin", true);

	return OidIsValid(admin) && has_privs_of_role(GetOuterUserId(), admin);
}
