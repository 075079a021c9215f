/*-------------------------------------------------------------------------
 *
 * cedar_schema.h
 *	  Cedar schemas (issue 17): parsers of Cedar's human-readable and JSON
 *	  schema formats (docs/POLICY.md section 9), and the checks a schema
 *	  imposes on policies (scopes and attribute accesses), on entities
 *	  (types, enumerated ids, parents, attribute and tag kinds) and on
 *	  requests (Cedar's request validation).
 *
 *	  Pure C99 like policy_lang.c: memory from a GovPolArena, errors
 *	  returned as values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_CEDAR_SCHEMA_H
#define GOV_CEDAR_SCHEMA_H

#include "policy_lang.h"

typedef struct GovSchema GovSchema;

/*
 * Parse a schema, in the JSON format when its first non-blank character is
 * "{", else in the human-readable one; on failure err says where (line,
 * column) and why.
 */
extern bool gov_sch_parse(GovPolArena *arena, const char *src, size_t len,
						  GovSchema **out, GovPolError *err);

/*
 * Does the policy (or template: its slots constrain nothing) agree with
 * the schema?  Scope entity types and actions are declared, some action
 * of the scope applies to some admissible principal and resource type,
 * entity literals and "is" types in conditions are declared, and every
 * principal.x / resource.x / context.x names an attribute declared for
 * every admissible type (or action context).  err has the position.
 */
extern bool gov_sch_check_policy(const GovSchema *s, GovPolArena *scratch,
								 const GovPolicy *p, GovPolError *err);

/*
 * May this entity be stored?  Its type is declared, each parent's type is
 * one its "in" allows, its attributes are the declared ones (required
 * ones present) with values of the declared kinds.  attrs is a record.
 */
extern bool gov_sch_check_entity(const GovSchema *s, const char *uid, size_t uidlen,
								 const GovPolStr *parents, uint32_t nparents,
								 const GovPolValue *attrs, GovPolError *err);

/*
 * May this entity carry these tags (a record of tag name to value)?  Its
 * type declares tags and every value has the declared kind.
 */
extern bool gov_sch_check_tags(const GovSchema *s, const char *uid, size_t uidlen,
							   const GovPolValue *tags, GovPolError *err);

/*
 * Cedar's request validation: the action is declared, the principal's and
 * the resource's types are in its appliesTo (ids of enumerated types
 * listed), and the context (a record, or NULL for none) has exactly the
 * declared attributes, required ones present, values of the declared kinds.
 * Uids are canonical (Type::"id"); err names the attribute.
 */
extern bool gov_sch_check_request(const GovSchema *s, const char *principal,
								  const char *action, const char *resource,
								  const GovPolValue *context, GovPolError *err);

#endif							/* GOV_CEDAR_SCHEMA_H */
