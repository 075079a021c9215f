/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The DDL guard in C: refuse DROP EXTENSION governance, DROP SCHEMA
 *	  governance and ALTER EXTENSION governance ADD/DROP before anything
 *	  happens (a ddl_command_start event trigger), and refuse the drop of
 *	  the extension, its schema, the ledger, its blocks and the key history
 *	  however it is reached (an object_access_hook, which sees cascades and
 *	  is not switched off by session_replication_role).
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
 *	  The utility hook also places the extension (docs/DESIGN.md,
 *	  "Placement"): CREATE EXTENSION governance is refused outside
 *	  governance.database, whatever version's script it would run, and a
 *	  DROP DATABASE of governance.database first sends the workers away.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_class.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/dbcommands.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "common.h"
#include "guard.h"
#include "worker.h"

bool		gov_allow_drop = false;
static bool gov_allow_other_database = false;
static char *gov_library_version = NULL;

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
	DefineCustomBoolVariable("governance.allow_other_database",
							 "Lets a superuser create the governance extension in a database other than governance.database.",
							 "For a copy of a ledger to verify: no worker runs there, nothing is enforced or sealed.",
							 &gov_allow_other_database,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	/* what ALTER EXTENSION governance UPDATE checks it is running with */
	DefineCustomStringVariable("governance.library_version",
							   "Version of the governance shared library loaded by this server.",
							   "Compare with the extension's version: SELECT extversion FROM pg_extension.",
							   &gov_library_version,
							   GOV_LIBRARY_VERSION,
							   PGC_INTERNAL,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
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

static object_access_hook_type prev_object_access_hook = NULL;

/* Relations whose loss would lose evidence. */
static bool
guarded_relation(Oid relid)
{
	Oid			nsp = gov_schema_oid();
	char	   *name;

	if (!OidIsValid(nsp) || get_rel_namespace(relid) != nsp)
		return false;
	name = get_rel_name(relid);
	return name != NULL &&
		(strcmp(name, "ledger") == 0 || strcmp(name, "ledger_blocks") == 0 ||
		 strcmp(name, "ledger_seq") == 0 || strcmp(name, "signing_keys") == 0);
}

/*
 * Every drop goes through here, whatever the statement (DROP ... CASCADE
 * of another schema, DROP OWNED, a member detached from the extension
 * first) and whatever session_replication_role says: the ledger, its
 * blocks, the key history, the schema and the extension itself are only
 * dropped with governance.allow_drop on.
 */
static void
gov_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				  int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access != OAT_DROP || gov_allow_drop || !IsTransactionState())
		return;
	if ((classId == ExtensionRelationId && objectId == get_extension_oid(GOV_EXTENSION_NAME, true)) ||
		(classId == NamespaceRelationId && objectId == gov_schema_oid() && OidIsValid(objectId) &&
		 OidIsValid(get_extension_oid(GOV_EXTENSION_NAME, true))) ||
		(classId == RelationRelationId && subId == 0 && guarded_relation(objectId)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("dropping %s would destroy governance evidence",
						classId == ExtensionRelationId ? "the governance extension" :
						classId == NamespaceRelationId ? "the governance schema" :
						psprintf("governance.%s", get_rel_name(objectId))),
				 errhint("A superuser who means it can SET governance.allow_drop = on first.")));
}

/*
 * governance_owner owns every governed table: whoever could act as it would
 * own them.  A CREATEROLE role can grant membership in, or alter, any
 * non-superuser role; for this one only a superuser may.
 */
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static bool
names_owner_role(List *roles)
{
	ListCell   *lc;

	foreach(lc, roles)
	{
		RoleSpec   *r = lfirst(lc);

		if (IsA(r, RoleSpec) && r->roletype == ROLESPEC_CSTRING &&
			strcmp(r->rolename, GOV_OWNER_ROLE) == 0)
			return true;
	}
	return false;
}

/*
 * CREATE EXTENSION governance outside governance.database: no worker would
 * ever seal, verify or enforce there, and verify_ledger() would fail a
 * minute later.  Refused before any script runs, so it holds for every
 * version's script (pg_cron refuses the same way, in its script).
 */
static void
check_placement(CreateExtensionStmt *stmt)
{
	char	   *here;

	if (gov_allow_other_database)
		return;
	if (stmt->if_not_exists && OidIsValid(get_extension_oid(GOV_EXTENSION_NAME, true)))
		return;					/* a no-op: nothing is created */
	here = get_database_name(MyDatabaseId);
	if (here == NULL || gov_database == NULL || strcmp(here, gov_database) == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("the governance extension can only be created in database \"%s\" (governance.database)",
					gov_database),
			 errdetail("Its background workers, which enforce leases and seal and verify the ledger, "
					   "run in that database only; in database \"%s\" nothing would be enforced or sealed.",
					   here),
			 errhint("Connect to database \"%s\", or set governance.database = '%s' in postgresql.conf "
					 "and restart the server.",
					 gov_database, here)));
}

/*
 * DROP DATABASE of governance.database: the workers connected to it would
 * make it wait and then fail ("being accessed by other users").  Tell them
 * to leave first; they stay away while the drop is under way and come back
 * if it fails or when the database exists again (worker.c).
 */
static void
drop_database(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			  ProcessUtilityContext context, ParamListInfo params,
			  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	DropdbStmt *stmt = (DropdbStmt *) pstmt->utilityStmt;
	Oid			db = InvalidOid;

	if (gov_database != NULL && strcmp(stmt->dbname, gov_database) == 0)
		db = get_database_oid(stmt->dbname, true);
	/* only for one who may drop it: others must not send the workers away */
	if (OidIsValid(db) && !pg_database_ownercheck(db, GetUserId()))
		db = InvalidOid;
	if (OidIsValid(db))
		gov_workers_leave_database(db);
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		/* the database is still there: the workers may come back */
		if (OidIsValid(db))
			gov_workers_leave_database(InvalidOid);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

static void
guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *tree = pstmt->utilityStmt;
	bool		touches = false;

	if (tree && IsA(tree, GrantRoleStmt))
	{
		GrantRoleStmt *g = (GrantRoleStmt *) tree;
		ListCell   *lc;

		foreach(lc, g->granted_roles)
		{
			AccessPriv *p = lfirst(lc);

			if (p->priv_name && strcmp(p->priv_name, GOV_OWNER_ROLE) == 0)
				touches = true;
		}
		touches = touches || (g->is_grant && names_owner_role(g->grantee_roles));
	}
	else if (tree && IsA(tree, AlterRoleStmt))
		touches = names_owner_role(list_make1(((AlterRoleStmt *) tree)->role));
	else if (tree && IsA(tree, RenameStmt) && ((RenameStmt *) tree)->renameType == OBJECT_ROLE)
		touches = strcmp(((RenameStmt *) tree)->subname, GOV_OWNER_ROLE) == 0;
	if (touches && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may change role \"%s\" or its memberships", GOV_OWNER_ROLE),
				 errdetail("It owns every governed table; whoever could act as it would own them.")));

	if (tree && IsA(tree, CreateExtensionStmt) &&
		strcmp(((CreateExtensionStmt *) tree)->extname, GOV_EXTENSION_NAME) == 0)
		check_placement((CreateExtensionStmt *) tree);
	else if (tree && IsA(tree, DropdbStmt))
	{
		drop_database(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);

	/* governance.database is there (again): the waiting workers need not */
	if (tree && IsA(tree, CreatedbStmt) && gov_database != NULL &&
		strcmp(((CreatedbStmt *) tree)->dbname, gov_database) == 0)
		gov_workers_wake_all();
}

void
gov_guard_install_hooks(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = gov_object_access;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = guard_ProcessUtility;
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
	if (gov_allow_drop)
		PG_RETURN_NULL();

	if (IsA(trigdata->parsetree, AlterExtensionContentsStmt))
	{
		AlterExtensionContentsStmt *alt = (AlterExtensionContentsStmt *) trigdata->parsetree;

		/*
		 * The extension's own scripts may (ALTER EXTENSION governance UPDATE
		 * runs them with creating_extension set for it).
		 */
		if (strcmp(alt->extname, GOV_EXTENSION_NAME) == 0 &&
			!(creating_extension && OidIsValid(CurrentExtensionObject) &&
			  CurrentExtensionObject == get_extension_oid(GOV_EXTENSION_NAME, true)))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("the members of the governance extension cannot be changed"),
					 errhint("A superuser who means it can SET governance.allow_drop = on first.")));
		PG_RETURN_NULL();
	}
	if (IsA(trigdata->parsetree, RenameStmt))
	{
		RenameStmt *ren = (RenameStmt *) trigdata->parsetree;

		/* after a rename the ddl_command_end guard could not find itself */
		if (ren->renameType == OBJECT_SCHEMA && strcmp(ren->subname, GOV_SCHEMA_NAME) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("the governance schema cannot be renamed")));
		PG_RETURN_NULL();
	}
	if (!IsA(trigdata->parsetree, DropStmt))
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
