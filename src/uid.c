/*-------------------------------------------------------------------------
 *
 * uid.c
 *	  Entity uids (Type::"id") as the SQL functions take them: valid or
 *	  not, and the action shorthand (a name without "::" means
 *	  Action::"name").  The grammar is the policy language's
 *	  (policy_lang.c); this file gives it PostgreSQL errors.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "policy_lang.h"
#include "uid.h"

bool
gov_valid_uid(const char *uid)
{
	return uid != NULL && gov_pol_valid_uid(uid, strlen(uid));
}

char *
gov_normalize_action(const char *action)
{
	StringInfoData buf;
	const char *s;

	if (action == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("action must not be null")));
	if (strstr(action, "::") != NULL)
	{
		if (!gov_valid_uid(action))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid action \"%s\"", action),
					 errhint("Write an action as Action::\"name\", or as a bare name without \"::\".")));
		return pstrdup(action);
	}
	if (action[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action must not be empty")));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "Action::\"");
	for (s = action; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			appendStringInfoChar(&buf, '\\');
		appendStringInfoChar(&buf, *s);
	}
	appendStringInfoChar(&buf, '"');
	return buf.data;
}

void
gov_check_uid(const char *what, const char *uid)
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
