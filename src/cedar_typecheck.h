/*-------------------------------------------------------------------------
 *
 * cedar_typecheck.h
 *	  Cedar's strict-mode type checking of policy conditions against a
 *	  schema (issue 17; docs/POLICY.md section 9): the validation
 *	  create_policy applies when a schema is set.
 *
 *	  Pure C99 like policy_lang.c and cedar_schema.c: memory from a
 *	  GovPolArena, errors returned as values, recursion bounded by the
 *	  parser's GOV_POL_MAX_NESTING.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_CEDAR_TYPECHECK_H
#define GOV_CEDAR_TYPECHECK_H

#include "cedar_schema.h"

/*
 * Does the policy (or template) validate against the schema as Cedar's
 * validator in strict mode says: its scope is one the schema admits, the
 * entity types and actions it names are declared, and in every request
 * environment (action, principal type, resource type) the scope admits
 * each condition is well typed: operands of the types their operators
 * take, attributes declared, optional attributes read only under a "has"
 * guard.  On failure err has the position and Cedar's wording.
 */
extern bool gov_tc_check_policy(const GovSchema *s, GovPolArena *scratch,
								const GovPolicy *p, GovPolError *err);

#endif							/* GOV_CEDAR_TYPECHECK_H */
