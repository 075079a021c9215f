/*-------------------------------------------------------------------------
 *
 * trust.c
 *	  trust_state(): is every precondition for issuing and honouring
 *	  authorizations met?
 *
 *	  Fail closed (D7): when any cause of distrust is present the answer is
 *	  "degraded: <why>" and everything that authorizes refuses.  The causes
 *	  known so far: the signing key is unavailable.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "governance.h"
#include "keys.h"
#include "trust.h"

bool
gov_trusted(char **why)
{
	char	   *reason;

	if (!gov_key_available(&reason))
	{
		*why = psprintf("signing key unavailable: %s", reason);
		return false;
	}
	return true;
}

PG_FUNCTION_INFO_V1(gov_sql_trust_state);
Datum
gov_sql_trust_state(PG_FUNCTION_ARGS)
{
	char	   *why;

	GOV_ENTRY();
	if (gov_trusted(&why))
		PG_RETURN_TEXT_P(cstring_to_text("trusted"));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("degraded: %s", why)));
}
