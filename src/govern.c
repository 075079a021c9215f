/*-------------------------------------------------------------------------
 *
 * govern.c
 *	  govern_table and ungovern_table: enforcement next to the data
 *	  (docs/DESIGN.md, D11); the triggers they install are in lineage.c.
 *
 *	  The model: a governed table's rows are read, written, rewritten or
 *	  moved only under a lease (and by superusers, who can do anything).
 *
 *	  - Row-level security, enabled and forced, admits a row only when a
 *	    live attached lease of the current role covers the action
 *	    (<prefix>.select, .insert, .update, .delete) on the row's resource:
 *
 *	      governance.lease_covers(action, resource_col)
 *
 *	    which builds the set of covered resources at its first call in each
 *	    execution (session.c), so the per-row cost is one hashed lookup
 *	    whatever the number of leases; a lease that ends while a statement
 *	    runs is handled by the enforcer (it cancels the statement) and by
 *	    query_guard.c (a cursor stops at its next fetch).
 *	  - An AFTER ROW trigger, enabled ALWAYS, refuses any write not covered
 *	    by such a lease (superusers, who bypass row-level security,
 *	    included) and records every row change in the ledger on the
 *	    lease's chain, in the same transaction; a BEFORE TRUNCATE trigger
 *	    refuses TRUNCATE, which no row trigger sees.
 *	  - Ownership moves to governance_owner, a NOLOGIN role with no members
 *	    that the extension controls.  The former owner keeps SELECT,
 *	    INSERT, UPDATE and DELETE (held to the policies like anyone) but no
 *	    longer owns the table: no DDL that evaluates its code over the rows
 *	    (CHECK constraints, expression indexes, ALTER COLUMN ... USING,
 *	    extended statistics), no DROP COLUMN, no triggers or rules, no
 *	    INHERIT, no new children or partitions, no ownership games.
 *	    REFERENCES and TRIGGER are taken from every role (a foreign key is
 *	    an oracle on hidden keys; a trigger is code over every write).
 *	    Structural changes go through ungovern_table() (admin only,
 *	    ledgered), the change, and govern_table() again, in one transaction.
 *	  - The whole inheritance tree is governed: every partition and
 *	    inheritance child, present (here) and future (the DDL guard governs
 *	    a new one, which only a superuser can create, as soon as it
 *	    appears).  A partition or child cannot be governed on its own.
 *	  - Code that the table would run over its rows as someone other than
 *	    a superuser (functions and operators of constraints, defaults,
 *	    generated columns, indexes, statistics, restrictive policies and
 *	    the domains of its columns), pre-existing triggers and rules are
 *	    refused: their owners could change them after the fact.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xlog.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "attach.h"
#include "authz.h"
#include "encode.h"
#include "events.h"
#include "common.h"
#include "lease.h"
#include "ledger.h"
#include "rls_guard.h"
#include "trust.h"
#include "xact_defer.h"

#define GOV_ACTION_PREFIX_MAX 200

/*
 * Set while govern_table()/ungovern_table() run their own DDL, so that the
 * DDL guard, which refuses any change that would strip a governed table of
 * its protections, lets them through.
 */
static bool governing = false;

PG_FUNCTION_INFO_V1(gov_sql_governing);
Datum
gov_sql_governing(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(governing);
}

static void
check_prefix(const char *prefix)
{
	const char *p;

	if (prefix[0] == '\0' || strlen(prefix) > GOV_ACTION_PREFIX_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action prefix must be 1 to %d characters", GOV_ACTION_PREFIX_MAX)));
	for (p = prefix; *p; p++)
		if (*p == '"' || *p == '\\' || *p == ':' || (unsigned char) *p < 0x20)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("action prefix must not contain quotes, backslashes, colons or control characters")));
}

static void
exec_ddl(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "governance: could not run \"%s\": %s", sql, SPI_result_code_string(rc));
}

/* The first column of the first row of a query with one oid parameter. */
static char *
query_text(const char *sql, Oid arg)
{
	Oid			argtypes[] = {OIDOID};
	Datum		values[] = {ObjectIdGetDatum(arg)};

	/* not read-only: a fresh snapshot sees the DDL this function just ran */
	if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "governance: could not run \"%s\"", sql);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* A table argument: not NULL, and a relation that exists. */
static Oid
arg_table(FunctionCallInfo fcinfo, int n)
{
	Oid			relid;

	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	relid = PG_GETARG_OID(n);
	if (!OidIsValid(relid) || !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return relid;
}

/*
 * governance_owner: the role governed tables belong to.  It must be able
 * to do nothing itself and have no members, or whoever could act as it
 * would own every governed table.
 */
static Oid
owner_role(void)
{
	Oid			role = get_role_oid(GOV_OWNER_ROLE, true);
	char	   *why;

	if (!OidIsValid(role))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", GOV_OWNER_ROLE),
				 errhint("CREATE EXTENSION governance creates it; recreate it as NOLOGIN NOINHERIT.")));
	why = query_text("SELECT CASE WHEN rolsuper THEN 'is a superuser' "
					 "WHEN rolcanlogin THEN 'can log in' "
					 "WHEN rolbypassrls THEN 'bypasses row-level security' "
					 "WHEN rolcreaterole OR rolcreatedb OR rolreplication THEN 'has attributes it must not have' "
					 "WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.roleid = a.oid) THEN 'has members' "
					 "END FROM pg_catalog.pg_authid a WHERE oid = $1", role);
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("role \"%s\" %s", GOV_OWNER_ROLE, why),
				 errdetail("Governed tables belong to it; whoever could act as it would own them."),
				 errhint("Make it NOLOGIN NOSUPERUSER NOBYPASSRLS with no members.")));
	return role;
}

/*
 * Can relid be governed (as the root, or as a member of root's tree)?
 * Refuses what would let rows out behind the leases' back.
 */
static void
check_governable(Oid relid, const char *column, bool is_root)
{
	char		relkind = get_rel_relkind(relid);
	Oid			nsp = get_rel_namespace(relid);
	char	   *name = qualified_name(relid);
	AttrNumber	attnum;
	Oid			atttype;
	char	   *found;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 is_root ? errmsg("only tables can be governed") :
				 errmsg("%s cannot be governed: only tables can be, and it is part of the table's tree", name)));
	if (nsp == PG_CATALOG_NAMESPACE || nsp == gov_schema_oid() || IsCatalogNamespace(nsp) ||
		isAnyTempNamespace(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tables in system, temporary or governance schemas cannot be governed")));
	attnum = get_attnum(relid, column);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in %s", column, get_rel_name(relid))));
	atttype = getBaseType(get_atttype(relid, attnum));
	if (atttype != TEXTOID && atttype != VARCHAROID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("resource column \"%s\" must be of type text", column),
				 errdetail("It holds entity uids such as Account::\"17\".")));

	if (is_root && query_text("SELECT 1 FROM pg_catalog.pg_inherits WHERE inhrelid = $1", relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is a partition or an inheritance child", name),
				 errdetail("Its rows are also read through its parent, whose row-level security does not know its leases."),
				 errhint("Govern the root of its tree: every partition and child is governed with it.")));

	/* permissive policies are ORed: one of the table's own would widen ours */
	if (query_text("SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = $1 AND polpermissive", relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s already has permissive row-level security policies", name),
				 errdetail("Permissive policies are combined with OR, so they would admit rows no lease covers."),
				 errhint("Drop them, or make them RESTRICTIVE, before governing the table.")));

	found = query_text("SELECT string_agg(quote_ident(rulename), ', ' ORDER BY rulename) "
					   "FROM pg_catalog.pg_rewrite WHERE ev_class = $1", relid);
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has rules: %s", name, found),
				 errdetail("A rule runs its owner's statements over every write, behind the leases."),
				 errhint("Drop the rules before governing the table.")));

	/* triggers a partition inherits from its parent are checked there */
	found = query_text("SELECT string_agg(quote_ident(tgname), ', ' ORDER BY tgname) "
					   "FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal "
					   "AND tgparentid = 0", relid);
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has triggers: %s", name, found),
				 errdetail("A trigger runs its function over every governed write, and its owner can change it."),
				 errhint("Drop the triggers before governing the table.")));

	/*
	 * Functions the table runs over its rows: by its constraints, defaults
	 * and generated columns, indexes (ANALYZE and autovacuum evaluate their
	 * expressions over every row), extended statistics, policies, and the
	 * constraints of the domains of its columns; directly or through an
	 * operator.  Only superusers' functions are trusted with the rows.
	 */
	found = query_text(
					   "WITH RECURSIVE types(t) AS ("
					   "  SELECT atttypid FROM pg_catalog.pg_attribute"
					   "   WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped"
					   "  UNION SELECT y.typbasetype FROM pg_catalog.pg_type y JOIN types ON y.oid = types.t"
					   "   WHERE y.typtype = 'd'"
					   "), objs(classid, objid) AS ("
					   "  SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, oid FROM pg_catalog.pg_constraint WHERE conrelid = $1"
					   "  UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid FROM pg_catalog.pg_constraint c"
					   "   WHERE c.contypid IN (SELECT t FROM types)"
					   "  UNION ALL SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, oid FROM pg_catalog.pg_attrdef WHERE adrelid = $1"
					   "  UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, indexrelid FROM pg_catalog.pg_index WHERE indrelid = $1"
					   "  UNION ALL SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, oid FROM pg_catalog.pg_statistic_ext WHERE stxrelid = $1"
					   "  UNION ALL SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, oid FROM pg_catalog.pg_policy WHERE polrelid = $1"
					   "), fns(fn) AS ("
					   "  SELECT d.refobjid FROM pg_catalog.pg_depend d JOIN objs o ON d.classid = o.classid AND d.objid = o.objid"
					   "   WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
					   "  UNION SELECT op.oprcode::pg_catalog.oid FROM pg_catalog.pg_depend d"
					   "   JOIN objs o ON d.classid = o.classid AND d.objid = o.objid"
					   "   JOIN pg_catalog.pg_operator op ON op.oid = d.refobjid"
					   "   WHERE d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass"
					   ")"
					   " SELECT string_agg(p.oid::pg_catalog.regprocedure::text, ', ' ORDER BY p.oid)"
					   "   FROM fns JOIN pg_catalog.pg_proc p ON p.oid = fns.fn"
					   "   JOIN pg_catalog.pg_authid a ON a.oid = p.proowner WHERE NOT a.rolsuper", relid);
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s runs functions owned by roles other than superusers over its rows: %s", name, found),
				 errdetail("Constraints, defaults, indexes, statistics, policies and domains evaluate them on every row; their owners could change them to copy the rows out."),
				 errhint("Have a superuser own these functions, or drop what uses them, before governing the table.")));
}

/*
 * Put one table of a tree under governance: owner, privileges, row-level
 * security, policies, triggers, and its line in governed_tables.  root is
 * the table govern_table() was called on.
 */
/*
 * The four row-level security policies of a governed table (or member):
 * one lease check each, a hashed lookup per row (session.c).  With alter,
 * the policies exist and are given the current form (_reform_policies).
 */
static void
create_policies(const char *qname, const char *qcol, char **actions, bool alter)
{
	/*
	 * In the upgrade window (this library, a 0.1 catalog without
	 * lease_covers) the sub-select form of 0.1, which the update reforms.
	 */
	bool		covers = gov_lease_covers_exists();
#define RES(i) (covers ? \
				psprintf("governance.lease_covers(%s, %s)", quote_literal_cstr(actions[i]), qcol) : \
				psprintf("%s = (SELECT governance.authorized_resource(%s)) OR " \
						 "%s = ANY ((SELECT governance.authorized_resources(%s))::text[])", \
						 qcol, quote_literal_cstr(actions[i]), qcol, quote_literal_cstr(actions[i])))
	const char *verb = alter ? "ALTER" : "CREATE";

	exec_ddl(psprintf("%s POLICY governance_select ON %s %sUSING (%s)", verb, qname,
					  alter ? "" : "FOR SELECT ", RES(0)));
	exec_ddl(psprintf("%s POLICY governance_insert ON %s %sWITH CHECK (%s)", verb, qname,
					  alter ? "" : "FOR INSERT ", RES(1)));
	exec_ddl(psprintf("%s POLICY governance_update ON %s %sUSING (%s) WITH CHECK (%s)", verb,
					  qname, alter ? "" : "FOR UPDATE ", RES(2), RES(2)));
	exec_ddl(psprintf("%s POLICY governance_delete ON %s %sUSING (%s)", verb, qname,
					  alter ? "" : "FOR DELETE ", RES(3)));
#undef RES
}

static void
protect(Oid relid, Oid root, const char *prefix, const char *column, Oid gov_owner,
		List **revoked_out)
{
	static const char *const ops[] = {"select", "insert", "update", "delete"};
	char	   *qname = qualified_name(relid);
	char	   *qcol = (char *) quote_identifier(column);
	Oid			old_owner = InvalidOid;
	bool		old_owner_super;
	bool		had_rls;
	bool		had_force;
	char	   *actions[4];
	uint64		i;
	int			k;
	GovJson		revoked;
	Jsonb	   *revoked_jsonb;
	uint64		nrevoked;
	HeapTuple	tup;
	Oid			grant_types[] = {OIDOID};
	Datum		grant_args[] = {ObjectIdGetDatum(relid)};
	Oid			row_types[] = {
		OIDOID, TEXTOID, TEXTOID, TEXTOID, OIDOID, TEXTOID, JSONBOID, BOOLOID, BOOLOID
	};
	Datum		row_values[9];

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	old_owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	had_rls = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
	had_force = ((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);
	old_owner_super = superuser_arg(old_owner);

	for (k = 0; k < 4; k++)
		actions[k] = psprintf("%s.%s", prefix, ops[k]);

	/* the owner becomes governance_owner; the former owner keeps DML */
	exec_ddl(psprintf("ALTER TABLE %s OWNER TO %s", qname, GOV_OWNER_ROLE));
	if (!old_owner_super && old_owner != gov_owner)
		exec_ddl(psprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %s", qname,
						  quote_identifier(GetUserNameFromId(old_owner, false))));

	/* REFERENCES and TRIGGER from everyone, remembered for ungovern_table */
	if (SPI_execute_with_args("SELECT DISTINCT a.grantee, a.privilege_type "
							  "FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a "
							  "WHERE c.oid = $1 AND a.privilege_type IN ('REFERENCES', 'TRIGGER') "
							  "AND a.grantee <> c.relowner ORDER BY 1, 2",
							  1, grant_types, grant_args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the privileges of %s", qname);
	nrevoked = SPI_processed;
	gj_init(&revoked);
	gj_begin_array(&revoked);
	{
		SPITupleTable *tab = SPI_tuptable;

		for (i = 0; i < nrevoked; i++)
		{
			bool		isnull;
			Oid			grantee = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull));
			char	   *priv = SPI_getvalue(tab->vals[i], tab->tupdesc, 2);
			char	   *who = grantee == InvalidOid ? NULL : GetUserNameFromId(grantee, false);

			exec_ddl(psprintf("REVOKE %s ON %s FROM %s CASCADE", priv, qname,
							  who ? quote_identifier(who) : "PUBLIC"));
			if (revoked_out)
				*revoked_out = lappend(*revoked_out,
									   psprintf("%s on %s from %s", priv, qname,
												who ? quote_identifier(who) : "PUBLIC"));
			gj_begin_object(&revoked);
			gj_key(&revoked, "grantee");
			gj_str(&revoked, who);	/* null: PUBLIC */
			gj_key(&revoked, "privilege");
			gj_str(&revoked, priv);
			gj_end_object(&revoked);
		}
	}
	gj_end_array(&revoked);
	revoked_jsonb = gj_finish(&revoked);
	/* grants made by others with grant option are out of the owner's reach */
	{
		char	   *left = query_text("SELECT string_agg(DISTINCT a.privilege_type || ' to ' || "
									  "  CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, ', ') "
									  "FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a "
									  "WHERE c.oid = $1 AND a.privilege_type IN ('REFERENCES', 'TRIGGER') "
									  "AND a.grantee <> c.relowner", relid);

		if (left)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table %s has REFERENCES or TRIGGER privileges that could not be revoked: %s", qname, left),
					 errhint("Revoke them, and the grant options they come from, before governing the table.")));
	}

	exec_ddl(psprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY", qname));
	exec_ddl(psprintf("ALTER TABLE %s FORCE ROW LEVEL SECURITY", qname));

	create_policies(qname, qcol, actions, false);

	/* a partition inherits its parent's row trigger (cloned, ALWAYS) */
	if (!get_rel_relispartition(relid))
	{
		exec_ddl(psprintf("CREATE TRIGGER governance_lineage AFTER INSERT OR UPDATE OR DELETE ON %s "
						  "FOR EACH ROW EXECUTE FUNCTION governance._lineage(%s, %s)",
						  qname, quote_literal_cstr(prefix), quote_literal_cstr(column)));
		exec_ddl(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER governance_lineage", qname));
	}
	exec_ddl(psprintf("CREATE TRIGGER governance_no_truncate BEFORE TRUNCATE ON %s "
					  "FOR EACH STATEMENT EXECUTE FUNCTION governance._refuse_truncate()", qname));
	exec_ddl(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER governance_no_truncate", qname));

	/* remember the policies' expressions: the DDL guard compares them */
	row_values[0] = ObjectIdGetDatum(relid);
	row_values[1] = CStringGetTextDatum(prefix);
	row_values[2] = CStringGetTextDatum(column);
	row_values[3] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	row_values[4] = ObjectIdGetDatum(root);
	row_values[5] = CStringGetTextDatum(GetUserNameFromId(old_owner, false));
	row_values[6] = JsonbPGetDatum(revoked_jsonb);
	row_values[7] = BoolGetDatum(had_rls);
	row_values[8] = BoolGetDatum(had_force);
	if (SPI_execute_with_args("INSERT INTO governance.governed_tables "
							  "(relid, action_prefix, resource_column, governed_at, governed_by, policies, "
							  " root_relid, former_owner, revoked, had_rls, had_force_rls) "
							  "SELECT $1, $2, $3, now(), $4, "
							  "  jsonb_object_agg(p.polname, jsonb_build_array(pg_get_expr(p.polqual, p.polrelid), "
							  "                                                pg_get_expr(p.polwithcheck, p.polrelid))), "
							  "  $5, $6, $7, $8, $9 "
							  "FROM pg_policy p WHERE p.polrelid = $1 AND p.polpermissive",
							  9, row_types, row_values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the governed table");

}

/* Say what could still read the rows that governance cannot stop. */
static void
warn_residual(Oid relid)
{
	char	   *found;

	/*
	 * Superusers bypass row-level security, and so does a SECURITY DEFINER
	 * function they own, for whoever may call it.  Function bodies are not
	 * dependency-tracked: look for the table's name in them.
	 */
	found = query_text("SELECT string_agg(p.oid::pg_catalog.regprocedure::text, ', ' ORDER BY p.oid) "
					   "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_authid a ON a.oid = p.proowner "
					   "WHERE p.prosecdef AND a.rolsuper "
					   "AND p.pronamespace NOT IN ('pg_catalog'::pg_catalog.regnamespace, "
					   "                           'information_schema'::pg_catalog.regnamespace, "
					   "                           'governance'::pg_catalog.regnamespace) "
					   "AND p.prosrc ~* ('\\m' || regexp_replace((SELECT relname FROM pg_catalog.pg_class WHERE oid = $1), "
					   "                 '([^A-Za-z0-9_])', '\\\\\\1', 'g') || '\\M')", relid);
	if (found)
		ereport(WARNING,
				(errmsg("SECURITY DEFINER functions owned by a superuser mention governed table %s: %s",
						get_rel_name(relid), found),
				 errdetail("They run with row-level security bypassed and return governed rows to whoever may call them, with no lease."),
				 errhint("Make them SECURITY INVOKER, have a non-superuser own them, or revoke EXECUTE from everyone who must not read the table.")));
	found = query_text("SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) "
					   "FROM pg_catalog.pg_roles WHERE rolbypassrls AND NOT rolsuper AND $1 <> 0", relid);
	if (found)
		ereport(WARNING,
				(errmsg("roles with BYPASSRLS may not use governed tables: %s", found),
				 errdetail("Row-level security, which checks the lease, would not apply to them: their statements on governed tables are refused."),
				 errhint("ALTER ROLE ... NOBYPASSRLS, and let them work under leases as agents.")));
}

/* govern_table(tbl regclass, action_prefix text, resource_column name) */
PG_FUNCTION_INFO_V1(gov_sql_govern_table);
Datum
gov_sql_govern_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *prefix;
	char	   *column;
	char	   *qname;
	Oid			gov_owner;
	List	   *tree;
	List	   *revoked = NIL;
	ListCell   *lc;
	GovJson		j;

	GOV_ENTRY();
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot govern a table during recovery")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table, action prefix and resource column must not be NULL")));
	relid = arg_table(fcinfo, 0);
	prefix = text_to_cstring(PG_GETARG_TEXT_PP(1));
	column = pstrdup(NameStr(*PG_GETARG_NAME(2)));
	check_prefix(prefix);

	/* the whole tree, locked against every reader and writer */
	tree = find_all_inheritors(relid, AccessExclusiveLock, NULL);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	qname = qualified_name(relid);

	SPI_connect();
	if (query_text("SELECT 1 FROM governance.governed_tables WHERE relid = $1", relid))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table %s is already governed", qname)));
	check_governable(relid, column, true);
	foreach(lc, tree)
	{
		if (lfirst_oid(lc) != relid)
			check_governable(lfirst_oid(lc), column, false);
	}
	gov_owner = owner_role();

	governing = true;
	PG_TRY();
	{
		foreach(lc, tree)
			protect(lfirst_oid(lc), relid, prefix, column, gov_owner, &revoked);
	}
	PG_FINALLY();
	{
		governing = false;
	}
	PG_END_TRY();

	foreach(lc, tree)
		warn_residual(lfirst_oid(lc));

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "table");
	gj_str(&j, qname);
	gj_key(&j, "action_prefix");
	gj_str(&j, prefix);
	gj_key(&j, "resource_column");
	gj_str(&j, column);
	gj_key(&j, "by");
	gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
	if (list_length(tree) > 1)
	{
		gj_key(&j, "members");
		gj_begin_array(&j);
		foreach(lc, tree)
		{
			if (lfirst_oid(lc) != relid)
				gj_str(&j, qualified_name(lfirst_oid(lc)));
		}
		gj_end_array(&j);
	}
	if (revoked != NIL)
	{
		gj_key(&j, "revoked");
		gj_begin_array(&j);
		foreach(lc, revoked)
			gj_str(&j, (char *) lfirst(lc));
		gj_end_array(&j);
	}
	gj_end_object(&j);
	gov_ledger_append_system("governance.table.governed", NULL, gj_finish(&j));
	gov_xact_require_durable_commit();
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * _govern_new_members() -> integer
 *
 * Called by the DDL guard after every command: a partition or inheritance
 * child that appeared under a governed table (only a superuser can make
 * one: the parent belongs to governance_owner) is governed like the rest
 * of its tree, in the same transaction, and ledgered.  Returns how many.
 */
PG_FUNCTION_INFO_V1(gov_sql_govern_new_members);
Datum
gov_sql_govern_new_members(PG_FUNCTION_ARGS)
{
	uint64		i;
	uint64		n;
	SPITupleTable *tab;
	Oid			gov_owner;
	int			done = 0;

	GOV_ENTRY();
	if (governing)
		PG_RETURN_INT32(0);
	SPI_connect();

	/*
	 * A partition detached from a governed tree stays governed, but its row
	 * trigger was its parent's and went with the detach: give it its own.
	 */
	if (SPI_execute("SELECT g.relid, g.action_prefix, g.resource_column, g.root_relid "
					"FROM governance.governed_tables g JOIN pg_catalog.pg_class c ON c.oid = g.relid "
					"WHERE NOT c.relispartition AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t "
					"  WHERE t.tgrelid = g.relid AND t.tgname = 'governance_lineage')",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look for detached members of governed tables");
	n = SPI_processed;
	tab = SPI_tuptable;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Oid			member = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull));
		char	   *qname = qualified_name(member);
		GovJson		j;

		governing = true;
		PG_TRY();
		{
			exec_ddl(psprintf("CREATE TRIGGER governance_lineage AFTER INSERT OR UPDATE OR DELETE ON %s "
							  "FOR EACH ROW EXECUTE FUNCTION governance._lineage(%s, %s)", qname,
							  quote_literal_cstr(SPI_getvalue(tab->vals[i], tab->tupdesc, 2)),
							  quote_literal_cstr(SPI_getvalue(tab->vals[i], tab->tupdesc, 3))));
			exec_ddl(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER governance_lineage", qname));
		}
		PG_FINALLY();
		{
			governing = false;
		}
		PG_END_TRY();
		gj_init(&j);
		gj_begin_object(&j);
		gj_key(&j, "table");
		gj_str(&j, qname);
		gj_key(&j, "detached_from");
		gj_str(&j, qualified_name(DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 4, &isnull))));
		gj_key(&j, "by");
		gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
		gj_end_object(&j);
		gov_ledger_append_system("governance.table.governed", NULL, gj_finish(&j));
		done++;
	}

	if (SPI_execute("SELECT i.inhrelid, g.root_relid, g.action_prefix, g.resource_column "
					"FROM governance.governed_tables g JOIN pg_catalog.pg_inherits i ON i.inhparent = g.relid "
					"WHERE NOT EXISTS (SELECT 1 FROM governance.governed_tables c WHERE c.relid = i.inhrelid)",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look for new members of governed tables");
	n = SPI_processed;
	tab = SPI_tuptable;
	if (n == 0)
	{
		if (done > 0)
			gov_xact_require_durable_commit();
		SPI_finish();
		PG_RETURN_INT32(done);
	}
	gov_owner = owner_role();
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Oid			child = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull));
		Oid			root = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 2, &isnull));
		char	   *prefix = SPI_getvalue(tab->vals[i], tab->tupdesc, 3);
		char	   *column = SPI_getvalue(tab->vals[i], tab->tupdesc, 4);
		List	   *tree = find_all_inheritors(child, AccessExclusiveLock, NULL);
		ListCell   *lc;
		GovJson		j;

		foreach(lc, tree)
			check_governable(lfirst_oid(lc), column, false);
		governing = true;
		PG_TRY();
		{
			foreach(lc, tree)
				protect(lfirst_oid(lc), root, prefix, column, gov_owner, NULL);
		}
		PG_FINALLY();
		{
			governing = false;
		}
		PG_END_TRY();

		gj_init(&j);
		gj_begin_object(&j);
		gj_key(&j, "table");
		gj_str(&j, qualified_name(child));
		gj_key(&j, "member_of");
		gj_str(&j, qualified_name(root));
		gj_key(&j, "by");
		gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
		gj_end_object(&j);
		gov_ledger_append_system("governance.table.governed", NULL, gj_finish(&j));
		done += list_length(tree);
	}
	gov_xact_require_durable_commit();
	SPI_finish();
	PG_RETURN_INT32(done);
}

/* Take one table of a tree out of governance, as protect() found it. */
static void
unprotect(Oid relid, const char *former_owner, const char *revoked_json, bool had_rls,
		  bool had_force)
{
	char	   *qname = qualified_name(relid);
	Oid			owner = get_role_oid(former_owner, true);
	uint64		i;
	Oid			argtypes[] = {TEXTOID};
	Datum		values[1];

	if (!get_rel_relispartition(relid))
		exec_ddl(psprintf("DROP TRIGGER IF EXISTS governance_lineage ON %s", qname));
	exec_ddl(psprintf("DROP TRIGGER IF EXISTS governance_no_truncate ON %s", qname));
	exec_ddl(psprintf("DROP POLICY IF EXISTS governance_select ON %s", qname));
	exec_ddl(psprintf("DROP POLICY IF EXISTS governance_insert ON %s", qname));
	exec_ddl(psprintf("DROP POLICY IF EXISTS governance_update ON %s", qname));
	exec_ddl(psprintf("DROP POLICY IF EXISTS governance_delete ON %s", qname));
	/* row-level security as it was: its restrictive policies stay in force */
	if (!had_force)
		exec_ddl(psprintf("ALTER TABLE %s NO FORCE ROW LEVEL SECURITY", qname));
	if (!had_rls)
		exec_ddl(psprintf("ALTER TABLE %s DISABLE ROW LEVEL SECURITY", qname));

	/* the former owner gets the table back (or, gone, the caller does) */
	if (!OidIsValid(owner))
	{
		ereport(WARNING,
				(errmsg("the former owner of %s, role \"%s\", no longer exists: the table now belongs to %s",
						qname, former_owner, GetUserNameFromId(GetOuterUserId(), false))));
		owner = GetOuterUserId();
	}
	else if (!superuser_arg(owner))
		exec_ddl(psprintf("REVOKE SELECT, INSERT, UPDATE, DELETE ON %s FROM %s", qname,
						  quote_identifier(former_owner)));
	exec_ddl(psprintf("ALTER TABLE %s OWNER TO %s", qname,
					  quote_identifier(GetUserNameFromId(owner, false))));

	/* and the REFERENCES and TRIGGER privileges govern_table took */
	values[0] = CStringGetTextDatum(revoked_json);
	if (SPI_execute_with_args("SELECT e->>'grantee', e->>'privilege' FROM jsonb_array_elements($1::jsonb) e",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the revoked privileges of %s", qname);
	{
		SPITupleTable *tab = SPI_tuptable;
		uint64		n = SPI_processed;

		for (i = 0; i < n; i++)
		{
			char	   *grantee = SPI_getvalue(tab->vals[i], tab->tupdesc, 1);
			char	   *priv = SPI_getvalue(tab->vals[i], tab->tupdesc, 2);

			if (grantee == NULL)
				exec_ddl(psprintf("GRANT %s ON %s TO PUBLIC", priv, qname));
			else if (OidIsValid(get_role_oid(grantee, true)))
				exec_ddl(psprintf("GRANT %s ON %s TO %s", priv, qname, quote_identifier(grantee)));
		}
	}
}

/* ungovern_table(tbl regclass): admin only, ledgered */
PG_FUNCTION_INFO_V1(gov_sql_ungovern_table);
Datum
gov_sql_ungovern_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *qname;
	uint64		i;
	uint64		n;
	SPITupleTable *tab;
	char	   *root;
	GovJson		j;
	Oid			argtypes[] = {OIDOID};
	Datum		values[1];

	GOV_ENTRY();
	relid = arg_table(fcinfo, 0);
	(void) find_all_inheritors(relid, AccessExclusiveLock, NULL);
	qname = qualified_name(relid);
	SPI_connect();
	root = query_text("SELECT root_relid::oid::text FROM governance.governed_tables WHERE relid = $1", relid);
	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s is not governed", qname)));
	if (atooid(root) != relid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s is governed as a member of %s", qname, qualified_name(atooid(root))),
				 errhint("Take the whole tree out of governance with ungovern_table() on its root.")));
	values[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args("DELETE FROM governance.governed_tables WHERE root_relid = $1 "
							  "RETURNING relid, former_owner, revoked::text, had_rls, had_force_rls",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not remove the governed table");
	n = SPI_processed;
	tab = SPI_tuptable;
	governing = true;
	PG_TRY();
	{
		for (i = 0; i < n; i++)
		{
			bool		isnull;
			Oid			member = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull));

			if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(member)))
				unprotect(member, SPI_getvalue(tab->vals[i], tab->tupdesc, 2),
						  SPI_getvalue(tab->vals[i], tab->tupdesc, 3),
						  DatumGetBool(SPI_getbinval(tab->vals[i], tab->tupdesc, 4, &isnull)),
						  DatumGetBool(SPI_getbinval(tab->vals[i], tab->tupdesc, 5, &isnull)));
		}
	}
	PG_FINALLY();
	{
		governing = false;
	}
	PG_END_TRY();

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "table");
	gj_str(&j, qname);
	gj_key(&j, "by");
	gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
	gj_end_object(&j);
	gov_ledger_append_system("governance.table.ungoverned", NULL, gj_finish(&j));
	gov_xact_require_durable_commit();
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * _reform_policies() -> integer
 *
 * Gives every governed table's policies the current form (create_policies)
 * and records them for the DDL guard; returns how many tables changed.
 * The upgrade from 0.1 calls it (its tables compared each row with the
 * sub-selects of authorized_resource() and authorized_resources()); a
 * table already in the current form is left alone.  Not ledgered: what a
 * lease covers does not change, only how the check is written.
 */
PG_FUNCTION_INFO_V1(gov_sql_reform_policies);
Datum
gov_sql_reform_policies(PG_FUNCTION_ARGS)
{
	static const char *const ops[] = {"select", "insert", "update", "delete"};
	uint64		i;
	uint64		n;
	SPITupleTable *tab;
	int			done = 0;

	GOV_ENTRY();
	if (!superuser() &&
		!(creating_extension && CurrentExtensionObject == get_extension_oid("governance", true)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser or the extension's upgrade may reform governed tables' policies")));
	SPI_connect();
	if (SPI_execute("SELECT g.relid, g.action_prefix, g.resource_column FROM governance.governed_tables g "
					"WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = g.relid "
					"  AND p.polname = 'governance_select' "
					"  AND pg_catalog.pg_get_expr(p.polqual, p.polrelid) NOT LIKE 'governance.lease_covers(%') "
					"ORDER BY g.relid",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the governed tables");
	n = SPI_processed;
	tab = SPI_tuptable;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull));
		char	   *prefix = SPI_getvalue(tab->vals[i], tab->tupdesc, 2);
		char	   *column = SPI_getvalue(tab->vals[i], tab->tupdesc, 3);
		char	   *actions[4];
		int			k;
		Oid			types[] = {OIDOID};
		Datum		values[] = {ObjectIdGetDatum(relid)};

		for (k = 0; k < 4; k++)
			actions[k] = psprintf("%s.%s", prefix, ops[k]);
		governing = true;
		PG_TRY();
		{
			create_policies(qualified_name(relid), quote_identifier(column), actions, true);
		}
		PG_FINALLY();
		{
			governing = false;
		}
		PG_END_TRY();
		if (SPI_execute_with_args("UPDATE governance.governed_tables g SET policies = "
								  "(SELECT jsonb_object_agg(p.polname, jsonb_build_array("
								  "   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))) "
								  " FROM pg_policy p WHERE p.polrelid = $1 AND p.polpermissive) "
								  "WHERE g.relid = $1",
								  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record the governed table's policies");
		done++;
	}
	SPI_finish();
	PG_RETURN_INT32(done);
}
