/*-------------------------------------------------------------------------
 *
 * policy.h
 *	  The policy engine's backend interface (design decision D9): decide a
 *	  request against the current policies and entities, and the helpers
 *	  authorize() needs to validate its arguments.
 *
 *	  The language itself lives in policy_lang.h (pure C); policy.c keeps
 *	  the tables, the per-backend caches and the SQL functions.  See
 *	  docs/POLICY.md for the language and its semantics.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_POLICY_H
#define GOV_POLICY_H

#include "policy_lang.h"
#include "policy_values.h"
#include "uid.h"
#include "utils/jsonb.h"


#include "nodes/pg_list.h"
#include "utils/jsonb.h"

typedef struct GovRequest
{
	const char *principal;		/* entity uid text, e.g. Agent::"bot" */
	const char *action;			/* entity uid text, already normalized to
								 * Action::"x" */
	const char *resource;
	Jsonb	   *context;		/* a jsonb object (may be '{}') */
} GovRequest;

typedef struct GovPolicyOutcome
{
	char	   *policy;			/* policy name */
	bool		permit;			/* effect */
	bool		matched;		/* scope and conditions hold (false when
								 * error) */
	char	   *error;			/* NULL, or why evaluation failed */
	char	   *annotations;	/* NULL, or @id("x") @advice("...") */
	char	   *annotations_json;	/* NULL, or {"id": "x", ...} */
} GovPolicyOutcome;

typedef struct GovDecision
{
	bool		allow;
	List	   *outcomes;		/* GovPolicyOutcome *, one per policy, ordered
								 * by name */
	List	   *determining;	/* char * names: matched permits when allowed;
								 * matched or erroring forbids when denied;
								 * empty for default deny */
	List	   *reasons;		/* char * human-readable lines explaining the
								 * decision */
	uint8		policy_set_hash[64];
} GovDecision;

/*
 * Decide a request against the policies and entities committed (plus the
 * caller's own uncommitted changes) at the moment of the call, whatever
 * the caller's isolation level.  Allocates in CurrentMemoryContext; never
 * writes; ERROR only for internal failures.  A request that is not valid
 * (a uid that is not Type::"id", a context that is not an object) is
 * denied with a reason, never allowed.
 */
extern void gov_policy_decide(const GovRequest *req, GovDecision *out);

/*
 * Issue 17: does the request agree with the Cedar schema set by
 * set_schema() (Cedar's request validation: a declared action, principal
 * and resource types in its appliesTo, a context of the declared type)?
 * True when no schema is set.  Else false with *why naming the problem
 * (the attribute).  Reads the schema with the policy caches.
 */
extern bool gov_policy_check_request(const GovRequest *req, char **why);

/*
 * Is uid in ancestor by the entity hierarchy, exactly as the policy
 * language's "in" answers it (uid equal to ancestor, or ancestor reached
 * through put_entity parents)?  1 or 0; -1 when it cannot be settled,
 * with *error saying why.
 */
extern int	gov_policy_entity_in(const char *uid, const char *ancestor, char **error);

/* "x" -> Action::"x"; validates uid syntax, ERROR 22023 otherwise */

/*
 * The entities within root (root excluded), by the hierarchy as it is now:
 * their number, with *uids pointing to them until the next call, or -1
 * when there are more than max (governance.max_subtree_resources).
 */
extern int	gov_policy_subtree(const char *root, int max, char ***uids);

/*
 * Subtree leases: a lease whose resource is written "in <uid>" covers
 * <uid> and every entity within it through put_entity parents, as the
 * policy language's "in" answers it (docs/POLICY.md, "Subtree leases").
 * gov_subtree_root() returns the root uid, or NULL for an exact resource.
 */
#define GOV_SUBTREE_PREFIX	"in "
extern const char *gov_subtree_root(const char *resource);

/*
 * Decide a request whose resource is a subtree's root: allowed only when
 * the request is allowed for the root and for every entity within it.
 */
extern void gov_policy_decide_subtree(const GovRequest *req, GovDecision *out);

/*
 * May a lease on resource be held under a lease on parent (delegation)?
 * Exact within exact or subtree: resource in parent's resource; subtree
 * within subtree: its root in the parent's root; a subtree under an
 * exact lease: never.  1, 0, or -1 with *error.
 */
extern int	gov_resource_within(const char *resource, const char *parent, char **error);

/* GUCs */
extern int	gov_max_entity_depth;
extern int	gov_max_subtree_resources;
extern int	gov_max_policy_size;	/* kB */

extern void gov_policy_define_gucs(void);
extern Size gov_policy_shmem_size(void);
extern void gov_policy_shmem_startup(void);

/*
 * For policy_sql.c, the SQL API: the caches and conversions it shares with
 * the decision (policy.c).
 */
#define POLICY_NAME_MAX		128

extern void gov_policy_set_hash(uint8 *out);
extern void gov_policy_mark_changed(void);
extern void gov_policy_cache_check(void);
extern size_t gov_policy_compile_limit(size_t srclen);
extern void gov_policy_arena_in_context(GovPolArena *a, MemoryContext cxt, size_t limit);

#endif							/* GOV_POLICY_H */
