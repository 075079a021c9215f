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
#include "access/xact.h"
#include "access/xlog.h"
#include "common/int.h"
#include "utils/acl.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
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
	/*
	 * What uuid_out() prints (8-4-4-4-12 lower-case hex digits), without its
	 * StringInfo: a revocation of a large tree prints every lease's id (the
	 * ledgered list, the notifications), and uuid_out() was a tenth of it.
	 */
	static const char hex[] = "0123456789abcdef";
	char	   *buf = palloc(2 * UUID_LEN + 5);
	char	   *p = buf;
	int			i;

	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[u->data[i] >> 4];
		*p++ = hex[u->data[i] & 0x0F];
	}
	*p = '\0';
	return buf;
}

/* Does the session's role have governance_admin's privileges? */
bool
gov_caller_is_admin(void)
{
	Oid			admin = get_role_oid("governance_admin", true);

	return OidIsValid(admin) && has_privs_of_role(GetOuterUserId(), admin);
}

/* ---------------------------------------------------------------------
 * Arguments and preconditions of the SQL entry points
 * ---------------------------------------------------------------------
 */

char *
gov_caller_name(void)
{
	return GetUserNameFromId(GetOuterUserId(), false);
}

void
gov_require_read_committed(const char *what)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s requires the READ COMMITTED isolation level", what),
				 errdetail("It must see leases committed by concurrent transactions to keep delegation trees consistent.")));
}

void
gov_require_primary(const char *what)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s is not possible during recovery", what),
				 errdetail("Leases are issued and enforced on the primary; a hot standby only verifies evidence.")));
}

char *
gov_arg_text(FunctionCallInfo fcinfo, int n, const char *what)
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

pg_uuid_t
gov_arg_uuid(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return *PG_GETARG_UUID_P(n);
}

int64
gov_interval_us(Interval *iv)
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
