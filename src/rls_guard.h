/*-------------------------------------------------------------------------
 *
 * rls_guard.h
 *	  Governed tables' row-level security from the planner and executor.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_RLS_GUARD_H
#define GOV_RLS_GUARD_H

#include "executor/execdesc.h"
#include "nodes/parsenodes.h"
#include "utils/relcache.h"

/* Does the relation carry governance's row-level security? */
extern bool gov_rel_is_governed(Relation rel);
extern bool gov_relation_is_governed(Oid relid);

/* Are our lease-check functions here (is the extension created)? */
extern bool gov_get_check_fns(void);
extern bool gov_lease_covers_exists(void);

/* Planner: lease checks of tables read as another role answer for it. */
extern void gov_rls_unborrow(Query *parse);

/* A governed table a write runs on, or InvalidOid. */
extern Oid	gov_governed_result_relation(QueryDesc *qd);

/* A write to target failed: if row-level security refused it, ledger it. */
extern void gov_note_rls_refusal(Oid target);

/*
 * Refuse a statement on a governed table by a role that can hold no lease
 * or bypasses row-level security, and an UPDATE or DELETE that reads rows
 * no select lease covers (after ExecutorStart; COPY before it runs).
 */
extern void gov_rls_check_statement(QueryDesc *qd);
extern void gov_rls_check_copy(CopyStmt *stmt);

extern void gov_rls_guard_init(void);

#endif							/* GOV_RLS_GUARD_H */
