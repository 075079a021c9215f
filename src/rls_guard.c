/*-------------------------------------------------------------------------
 *
 * rls_guard.c
 *	  Governed tables' row-level security, seen from the planner and the
 *	  executor: which relations are governed; the lease checks in the
 *	  security quals of a table read through another role's view or rule,
 *	  replaced by the answer for that role (planner hook, driven by
 *	  query_guard.c); writes that row-level security refuses, ledgered
 *	  although no trigger saw them; and statements refused before they run
 *	  because they could only ever fail silently or bypass the lease.
 *
 *	  Borrowed leases.  attach.c counts a lease only for the role the
 *	  checking code runs as.  Row-level security of a table read through a
 *	  view or a rule is checked as the view's or rule's owner
 *	  (RangeTblEntry.checkAsUser), but evaluated as the current user; so in
 *	  the security quals of such a table, when that owner is not the
 *	  current user, every lease check is replaced by its answer for a role
 *	  that holds no lease: nothing.  Plans that use row-level security are
 *	  replanned when the current user changes, so the planner's current
 *	  user is the executor's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_proc.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "rewrite/rowsecurity.h"
#include "utils/syscache.h"

#include "attach.h"
#include "common.h"
#include "events.h"
#include "encode.h"
#include "rls_guard.h"
#include "xact_defer.h"

/* Does this relation carry governance's row-level security? */
bool
gov_rel_is_governed(Relation rel)
{
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity || rel->rd_rsdesc == NULL)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		if (strcmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, "governance_select") == 0)
			return true;
	}
	return false;
}

/* Is this a governed table (row-level security with our policies)? */
bool
gov_relation_is_governed(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		governed = false;

	if (rel == NULL)
		return false;
	if (rel->rd_rel->relrowsecurity && rel->rd_rsdesc != NULL)
	{
		ListCell   *lc;

		foreach(lc, rel->rd_rsdesc->policies)
		{
			if (strcmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, "governance_select") == 0)
				governed = true;
		}
	}
	RelationClose(rel);
	return governed;
}

/* ---------------------------------------------------------------------
 * The lease checks in row-level security quals
 * ---------------------------------------------------------------------
 */

typedef struct CheckFns
{
	bool		valid;
	Oid			resource;		/* authorized_resource(text) */
	Oid			resources;		/* authorized_resources(text) */
	Oid			is_authorized;	/* is_authorized(text, text) */
	Oid			covers;			/* lease_covers(text, text) */
} CheckFns;

static CheckFns check_fns;
static bool check_fns_callback = false;

static void
check_fns_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	check_fns.valid = false;
}

/* By catalog, not by name lookup: the caller may lack USAGE on the schema. */
static Oid
lookup_fn(Oid nsp, const char *name, int nargs)
{
	Oid			args[2] = {TEXTOID, TEXTOID};

	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(args, nargs)),
						   ObjectIdGetDatum(nsp));
}

/* Our check functions, or false when the extension is not here. */
bool
gov_get_check_fns(void)
{
	if (!check_fns_callback)
	{
		CacheRegisterSyscacheCallback(PROCOID, check_fns_inval, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, check_fns_inval, (Datum) 0);
		check_fns_callback = true;
	}
	if (!check_fns.valid)
	{
		Oid			nsp = gov_schema_oid();

		memset(&check_fns, 0, sizeof(check_fns));
		if (OidIsValid(nsp))
		{
			check_fns.resource = lookup_fn(nsp, "authorized_resource", 1);
			check_fns.resources = lookup_fn(nsp, "authorized_resources", 1);
			check_fns.is_authorized = lookup_fn(nsp, "is_authorized", 2);
			check_fns.covers = lookup_fn(nsp, "lease_covers", 2);
		}
		check_fns.valid = true;
	}
	return OidIsValid(check_fns.resources);
}

/* Is governance.lease_covers() there (not in a 0.1 catalog)? */
bool
gov_lease_covers_exists(void)
{
	return gov_get_check_fns() && OidIsValid(check_fns.covers);
}

static bool
is_check_fn(Oid fn)
{
	return fn == check_fns.resource || fn == check_fns.resources || fn == check_fns.is_authorized ||
		(OidIsValid(check_fns.covers) && fn == check_fns.covers);
}

/* Replace each lease check by the answer for a role that holds none. */
static Node *
no_lease_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FuncExpr) && is_check_fn(((FuncExpr *) node)->funcid))
	{
		FuncExpr   *f = (FuncExpr *) node;

		if (f->funcid == check_fns.is_authorized || f->funcid == check_fns.covers)
			return makeBoolConst(false, false);
		if (f->funcid == check_fns.resource)
			return (Node *) makeNullConst(TEXTOID, -1, DEFAULT_COLLATION_OID);
		return (Node *) makeConst(TEXTARRAYOID, -1, InvalidOid, -1,
								  PointerGetDatum(construct_empty_array(TEXTOID)),
								  false, false);
	}
	if (IsA(node, Query))
		return (Node *) query_tree_mutator((Query *) node, no_lease_mutator, context, 0);
	return expression_tree_mutator(node, no_lease_mutator, context);
}

static bool
checked_as_other(RangeTblEntry *rte)
{
	return OidIsValid(rte->checkAsUser) && rte->checkAsUser != GetUserId();
}

static bool
borrow_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		/* WITH CHECK quals of a result relation written through a rule */
		if (q->resultRelation > 0 && q->withCheckOptions != NIL &&
			checked_as_other(rt_fetch(q->resultRelation, q->rtable)))
		{
			ListCell   *lc;

			foreach(lc, q->withCheckOptions)
			{
				WithCheckOption *wco = lfirst(lc);

				wco->qual = no_lease_mutator(wco->qual, NULL);
			}
		}
		return query_tree_walker(q, borrow_walker, context, QTW_EXAMINE_RTES_BEFORE);
	}
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && rte->securityQuals != NIL && checked_as_other(rte))
			rte->securityQuals = (List *) no_lease_mutator((Node *) rte->securityQuals, NULL);
		return false;
	}
	return expression_tree_walker(node, borrow_walker, context);
}

/* Lease checks of tables read as another role answer for that role. */
void
gov_rls_unborrow(Query *parse)
{
	if (gov_get_check_fns())
		(void) borrow_walker((Node *) parse, NULL);
}

/* ---------------------------------------------------------------------
 * Who may use a governed table, and with which leases
 * ---------------------------------------------------------------------
 *
 * Rows of a governed table are reached under a lease, or by a superuser.
 * Two kinds of statement would otherwise fail in silence or around the
 * lease, so they are refused before they run, naming what is missing:
 *
 * - A role that can never hold a lease (not a member of governance_agent
 *   or governance_admin, the roles that may attach) would see no rows and
 *   have every write refused: when it is the client's own role (the
 *   session's, or SET ROLE's) it is told so.  A role with BYPASSRLS would
 *   read every row, lease or not, also as the owner of a view or a
 *   SECURITY DEFINER function: refused wherever it reads.  Superusers,
 *   governance_owner (whose only statements are PostgreSQL's own
 *   foreign-key checks) and those checks themselves are left as they were.
 *
 * - An UPDATE or DELETE whose WHERE, RETURNING or SET reads the target's
 *   columns is a read: PostgreSQL then applies the SELECT policy to the
 *   rows too, so a row covered by an .update (.delete) lease and not by a
 *   .select lease would silently not be written.  Reading it is what the
 *   select lease is for (a WHERE is a predicate over the row's values
 *   whose answer the row count reveals), so the statement is refused
 *   naming the missing lease; a write that reads nothing needs only the
 *   write lease.
 */

/* The action a governed table's policy checks leases for, or NULL. */
static char *
policy_action(Relation rel, const char *polname)
{
	ListCell   *lc;

	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *p = lfirst(lc);
		List	   *args = NIL;
		Node	   *qual;
		ListCell   *lc2;

		if (strcmp(p->policy_name, polname) != 0)
			continue;
		qual = p->qual ? (Node *) p->qual : (Node *) p->with_check_qual;

		/* the policy is govern.c's: "lease_covers('a', col)" */
		if (qual && IsA(qual, FuncExpr) && OidIsValid(check_fns.covers) &&
			((FuncExpr *) qual)->funcid == check_fns.covers)
			args = list_make1(linitial(((FuncExpr *) qual)->args));

		/*
		 * or a table governed by 0.1, not yet reformed: "col = (SELECT
		 * authorized_resource('a')) OR ..."
		 */
		if (qual && IsA(qual, BoolExpr))
			foreach(lc2, ((BoolExpr *) qual)->args)
		{
			Node	   *arm = lfirst(lc2);
			SubLink    *sl;
			Query	   *sub;
			TargetEntry *te;

			if (!IsA(arm, OpExpr) || list_length(((OpExpr *) arm)->args) != 2 ||
				!IsA(lsecond(((OpExpr *) arm)->args), SubLink))
				continue;
			sl = lsecond(((OpExpr *) arm)->args);
			sub = (Query *) sl->subselect;
			if (!IsA(sub, Query) || list_length(sub->targetList) != 1)
				continue;
			te = linitial(sub->targetList);
			if (IsA(te->expr, FuncExpr) && ((FuncExpr *) te->expr)->funcid == check_fns.resource)
				args = ((FuncExpr *) te->expr)->args;
		}
		if (list_length(args) == 1 && IsA(linitial(args), Const) &&
			!((Const *) linitial(args))->constisnull)
			return TextDatumGetCString(((Const *) linitial(args))->constvalue);
	}
	return NULL;
}

static char *
qualified_name(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/* May role use rel at all?  Raises if it may not. */
static void
check_role(Relation rel, Oid role)
{
	Oid			agent = get_role_oid("governance_agent", true);
	Oid			admin = get_role_oid("governance_admin", true);
	char	   *name = GetUserNameFromId(role, false);

	if (has_bypassrls_privilege(role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role %s bypasses row-level security and may not use governed table %s",
						name, qualified_name(rel)),
				 errdetail("Governed rows are read and written only under a lease, which row-level security checks; "
						   "BYPASSRLS would skip it."),
				 errhint("ALTER ROLE %s NOBYPASSRLS, and let it work under leases (README, "
						 "\"Connection poolers and application roles\").", quote_identifier(name))));

	/*
	 * Only the client's own role: a view, rule or SECURITY DEFINER function
	 * or trigger of another role reads as that role and sees what it holds,
	 * nothing (rls_guard's borrowed leases); an error there would fail the
	 * agent's statement for its owner's sake.
	 */
	if (role == GetOuterUserId() &&
		!(OidIsValid(agent) && has_privs_of_role(role, agent)) &&
		!(OidIsValid(admin) && has_privs_of_role(role, admin)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role %s cannot hold a lease and may not use governed table %s",
						name, qualified_name(rel)),
				 errdetail("Governed rows are read and written only under a live lease attached by the role "
						   "registered for its principal; %s is not a member of governance_agent.", name),
				 errhint("Make it an agent: GRANT governance_agent TO %s; "
						 "SELECT governance.register_agent('Service::\"name\"', '%s'); it then attaches leases "
						 "that policies grant it, per transaction.", quote_identifier(name), name)));
}

/* An UPDATE or DELETE that reads its target: every write lease needs a read lease. */
static void
check_write_reads(Relation rel, Oid role, AclMode perms)
{
	const char *what = (perms & ACL_UPDATE) ? "UPDATE" : "DELETE";
	char	   *write = policy_action(rel, (perms & ACL_UPDATE) ? "governance_update" : "governance_delete");
	char	   *read = policy_action(rel, "governance_select");
	GovCover   *covers;
	int			n;
	int			i;

	if (write == NULL || read == NULL)
		return;
	covers = palloc(sizeof(GovCover) * gov_max_attached);
	n = gov_attached_resources(role, write, covers, gov_max_attached);
	for (i = 0; i < n; i++)
		if (!gov_attached_covers(role, read, covers[i].resource, NULL))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("%s of governed table %s reads its rows, and no lease covers %s on %s",
							what, qualified_name(rel), read, covers[i].resource),
					 errdetail("A WHERE, RETURNING or SET that reads the table's columns reads the rows; "
							   "the %s lease alone lets the statement write them, not read them.", write),
					 errhint("Attach a lease for %s on %s as well, or write without reading the rows.",
							 read, covers[i].resource)));
}

static void
check_rte(RangeTblEntry *rte)
{
	Oid			role = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	Relation	rel;
	Oid			owner;

	if (rte->rtekind != RTE_RELATION)
		return;
	rel = RelationIdGetRelation(rte->relid);
	if (rel == NULL)
		return;
	if (!gov_rel_is_governed(rel) || superuser_arg(role))
	{
		RelationClose(rel);
		return;
	}
	owner = get_role_oid("governance_owner", true);
	if (role != owner)
	{
		check_role(rel, role);
		if ((rte->requiredPerms & ACL_SELECT) &&
			(rte->requiredPerms & (ACL_UPDATE | ACL_DELETE)))
			check_write_reads(rel, role, rte->requiredPerms);
	}
	RelationClose(rel);
}

void
gov_rls_check_statement(QueryDesc *qd)
{
	ListCell   *lc;

	if (qd->plannedstmt == NULL || InNoForceRLSOperation() || !gov_get_check_fns())
		return;
	foreach(lc, qd->plannedstmt->rtable)
		check_rte(lfirst(lc));
}

void
gov_rls_check_copy(CopyStmt *stmt)
{
	RangeTblEntry rte;

	if (stmt->relation == NULL || superuser() || !gov_get_check_fns())
		return;
	memset(&rte, 0, sizeof(rte));
	rte.type = T_RangeTblEntry;
	rte.rtekind = RTE_RELATION;
	rte.relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(rte.relid))
		check_rte(&rte);
}

/* ---------------------------------------------------------------------
 * Writes refused by row-level security
 * ---------------------------------------------------------------------
 *
 * The lineage trigger ledgers the writes it refuses, but row-level
 * security refuses a new row that no lease covers before any trigger
 * runs.  The executor hook notices the error on its way out and the
 * refusal is queued for the enforcer when the (sub)transaction aborts.
 */
static struct
{
	bool		pending;
	char		table[2 * NAMEDATALEN + 2];
	char		caller[NAMEDATALEN];
	char		message[256];
}			rls_refusal;

/* The first governed table among a write's result relations, or InvalidOid. */
Oid
gov_governed_result_relation(QueryDesc *qd)
{
	ListCell   *lc;

	if (qd->plannedstmt == NULL)
		return InvalidOid;
	foreach(lc, qd->plannedstmt->resultRelations)
	{
		Oid			relid = rt_fetch(lfirst_int(lc), qd->plannedstmt->rtable)->relid;

		if (gov_relation_is_governed(relid))
			return relid;
	}
	return InvalidOid;
}

/*
 * A write to a governed table failed: if row-level security refused it,
 * remember it (in static memory) to be queued when the (sub)transaction
 * aborts.  Seen here rather than when the error is reported, which an
 * exception block that catches it never does.
 */
void
gov_note_rls_refusal(Oid target)
{
	MemoryContext old;
	ErrorData  *e;

	if (rls_refusal.pending)
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	e = CopyErrorData();
	MemoryContextSwitchTo(old);
	if (e->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE && e->message_id != NULL &&
		(strncmp(e->message_id, "new row violates row-level security policy", 42) == 0 ||
		 strncmp(e->message_id, "target row violates row-level security policy", 45) == 0))
	{
		char	   *rel = get_rel_name(target);
		char	   *nsp = get_namespace_name(get_rel_namespace(target));
		char	   *who = GetUserNameFromId(GetUserId(), true);

		snprintf(rls_refusal.table, sizeof(rls_refusal.table), "%s.%s",
				 nsp ? nsp : "?", rel ? rel : "?");
		strlcpy(rls_refusal.caller, who ? who : "", sizeof(rls_refusal.caller));
		strlcpy(rls_refusal.message, e->message ? e->message : "", sizeof(rls_refusal.message));
		rls_refusal.pending = true;
	}
	FreeErrorData(e);
}

static void
queue_rls_refusal(void)
{
	GovJson		j;
	MemoryContext old;
	GovPreparedEvent *ev;

	if (!rls_refusal.pending)
		return;
	rls_refusal.pending = false;
	old = MemoryContextSwitchTo(TopMemoryContext);
	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "caller");
	gj_str(&j, rls_refusal.caller);
	gj_key(&j, "observed_at");
	gj_str(&j, gov_iso_timestamp(GetCurrentTimestamp()));
	gj_key(&j, "detail");
	gj_str(&j, psprintf("row-level security of governed table %s refused a write by role %s: %s",
						rls_refusal.table, rls_refusal.caller, rls_refusal.message));
	gj_end_object(&j);
	ev = gov_security_event_prepare("governance.write.refused", NULL, NULL, gj_finish(&j),
									TopMemoryContext);
	gov_security_event_push(ev);
	pfree(ev);
	MemoryContextSwitchTo(old);
}

static void
rls_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT)
		queue_rls_refusal();
	else if (event == XACT_EVENT_COMMIT)
		rls_refusal.pending = false;	/* caught and survived: still refused */
}

static void
rls_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		queue_rls_refusal();
}

void
gov_rls_guard_init(void)
{
	RegisterXactCallback(rls_xact_callback, NULL);
	RegisterSubXactCallback(rls_subxact_callback, NULL);
}
