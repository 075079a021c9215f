/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The DDL guard's first line: refuse DROP EXTENSION governance and DROP
 *	  SCHEMA governance before anything is dropped.
 *
 *	  Dropping the extension would drop the ledger with it, and a sql_drop
 *	  event trigger cannot stop that reliably because the trigger itself
 *	  is among the objects being dropped.  So this ddl_command_start
 *	  trigger, in C because only C sees the parse tree, refuses the
 *	  statement unless a superuser has set governance.allow_drop.  ALTER
 *	  and DROP of individual ledger objects are refused by the PL/pgSQL
 *	  ddl_command_end and sql_drop triggers in the extension script, which
 *	  can name the objects affected.
 *
 *	  A superuser can disable event triggers; the ledger's answer to that
 *	  is detection (verify_ledger, checkpoints kept outside), not this.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/guc.h"

#include "governance.h"
#include "guard.h"

bool		gov_allow_drop = false;

void
gov_guard_define_gucs(void)
{
	DefineCustomBoolVariable("governance.allow_drop",
							 "Lets a superuser drop the governance extension and its ledger.",
							 "Set it in the session that runs DROP EXTENSION governance.",
							 &gov_allow_drop,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

static bool
names_governance(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, String) && strcmp(strVal(n), GOV_EXTENSION_NAME) == 0)
			return true;
	}
	return false;
}

PG_FUNCTION_INFO_V1(gov_ddl_guard_start);
Datum
gov_ddl_guard_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *drop;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("governance DDL guard must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (gov_allow_drop || !IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_NULL();

	drop = (DropStmt *) trigdata->parsetree;
	if ((drop->removeType == OBJECT_EXTENSION || drop->removeType == OBJECT_SCHEMA) &&
		names_governance(drop->objects))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("dropping the governance %s would destroy the ledger",
						drop->removeType == OBJECT_EXTENSION ? "extension" : "schema"),
				 errhint("A superuser who means it can SET governance.allow_drop = on first.")));
	PG_RETURN_NULL();
}
