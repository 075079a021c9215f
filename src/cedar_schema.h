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
 * Read-only access to a parsed schema, for the type checker
 * (cedar_typecheck.c).  A GovSchType is a declared type; the kinds are
 * those the parser knows.
 */
typedef struct GovSchType GovSchType;

typedef enum GovSchKind
{
	GOV_SCH_LONG,
	GOV_SCH_STRING,
	GOV_SCH_BOOL,
	GOV_SCH_SET,
	GOV_SCH_RECORD,
	GOV_SCH_ENTITY,
	GOV_SCH_DECIMAL,
	GOV_SCH_IPADDR,
	GOV_SCH_DATETIME,
	GOV_SCH_DURATION
} GovSchKind;

typedef struct GovSchTypeInfo
{
	GovSchKind	kind;
	GovPolStr	name;			/* GOV_SCH_ENTITY: the entity type */
	const GovSchType *elem;		/* GOV_SCH_SET */
	uint32_t	nattrs;			/* GOV_SCH_RECORD */
} GovSchTypeInfo;

extern void gov_sch_type_info(const GovSchType *t, GovSchTypeInfo *out);

/* attribute i (< nattrs) of a record type */
extern const GovSchType *gov_sch_type_attr(const GovSchType *rec, uint32_t i,
										   GovPolStr *name, bool *required);

/* entity types and actions are numbered from 0; find gives -1 if unknown */
extern uint32_t gov_sch_entity_count(const GovSchema *s);
extern int	gov_sch_entity_find(const GovSchema *s, GovPolStr name);
extern GovPolStr gov_sch_entity_name(const GovSchema *s, int e);
extern const GovSchType *gov_sch_entity_shape(const GovSchema *s, int e);	/* or NULL */
extern const GovSchType *gov_sch_entity_tags(const GovSchema *s, int e);	/* or NULL */

/* may an entity of type e have the uid Type::"id" (an enum lists its ids)? */
extern bool gov_sch_entity_id_ok(const GovSchema *s, int e, GovPolStr uid);

/* is type an action type: Action or NS::Action? */
extern bool gov_sch_is_action_type(GovPolStr type);

/* an action by its canonical uid NS::Action::"id"; -1 if not declared */
extern int	gov_sch_action_find(const GovSchema *s, GovPolStr uid);
extern GovPolStr gov_sch_action_name(const GovSchema *s, int a);	/* its id */
extern GovPolStr gov_sch_action_type(const GovSchema *s, int a);	/* NS::Action */
extern const GovSchType *gov_sch_action_context(const GovSchema *s, int a); /* or NULL */

/*
 * The hierarchy the schema allows: can an entity of type a be in one of
 * type b (or be of type b), is action a (or an ancestor of it) b?  True
 * when scratch is exhausted.
 */
extern bool gov_sch_entity_below(const GovSchema *s, GovPolArena *scratch, int a, int b);
extern bool gov_sch_action_below(const GovSchema *s, GovPolArena *scratch, int a, int b);

/* A request environment: an action and the principal and resource types. */
typedef struct GovSchEnv
{
	int			action;
	int			principal;
	int			resource;
} GovSchEnv;

/*
 * The request environments a policy's scope admits (Cedar's validator
 * type-checks a policy once in each); refuses, as gov_sch_check_policy
 * does, a scope with unknown types or actions or to which no action
 * applies.
 */
extern bool gov_sch_policy_envs(const GovSchema *s, GovPolArena *scratch,
								const GovPolicy *p, GovSchEnv **out,
								uint32_t *count, GovPolError *err);

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
