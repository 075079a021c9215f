/*-------------------------------------------------------------------------
 *
 * policy_lang.h
 *	  The policy language core (design decision D9): lexer, parser,
 *	  compiled form and evaluator of the Cedar-like language described in
 *	  docs/POLICY.md.
 *
 *	  This header and policy_lang.c are pure C99 with no PostgreSQL
 *	  headers, so that contrib/fuzz can build them standalone under
 *	  libFuzzer and the sanitizers.  Consequently:
 *	  - all memory comes from a GovPolArena, whose chunks come from an
 *		allocator the caller supplies (malloc by default; the backend
 *		passes a memory context), and every size is bounded by the arena's
 *		limit;
 *	  - errors are returned as values, never thrown: nothing here
 *		longjmps, exits or aborts;
 *	  - recursion is bounded: the parser refuses expressions nested deeper
 *		than GOV_POL_MAX_NESTING, so evaluating a compiled policy never
 *		recurses deeper than that either.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_POLICY_LANG_H
#define GOV_POLICY_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest expression tree the parser accepts (and the evaluator recurses). */
#define GOV_POL_MAX_NESTING		64

/*
 * Deepest value built from JSON: deeper arrays and objects become unusable
 * values, an error only when a policy uses them.
 */
#define GOV_POL_MAX_VALUE_DEPTH 64

#define GOV_POL_ERRMSG_LEN		512

/* ---------------------------------------------------------------------
 * Arena
 * ---------------------------------------------------------------------
 */

typedef struct GovPolAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);	/* NULL on failure */
	void		(*release) (void *ctx, void *ptr);	/* may be NULL */
	void	   *ctx;
} GovPolAllocator;

typedef struct GovPolChunk GovPolChunk;

typedef struct GovPolArena
{
	GovPolAllocator al;
	GovPolChunk *chunks;		/* newest first */
	size_t		total;			/* bytes obtained from al */
	size_t		limit;			/* never obtain more than this */
	size_t		chunk_size;		/* usual chunk, set by init; may be raised */
	bool		failed;			/* an allocation was refused */
} GovPolArena;

/* al NULL means malloc/free. */
extern void gov_pol_arena_init(GovPolArena *a, const GovPolAllocator *al,
							   size_t limit);

/* 8-byte aligned; NULL (and a->failed) when the limit or allocator refuses. */
extern void *gov_pol_alloc(GovPolArena *a, size_t size);

/*
 * Forget every allocation but keep the oldest chunk for reuse: an arena
 * reset between requests whose oldest chunk is big enough allocates
 * nothing from its allocator in the steady state.
 */
extern void gov_pol_arena_reset(GovPolArena *a);
extern void gov_pol_arena_free(GovPolArena *a);

/* ---------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------
 */

typedef enum GovPolKind
{
	GOV_POL_BOOL,
	GOV_POL_LONG,
	GOV_POL_STRING,
	GOV_POL_ENTITY,				/* u.s holds the uid text, Type::"id" */
	GOV_POL_SET,
	GOV_POL_RECORD,				/* fields sorted: gov_pol_record_sort */
	GOV_POL_UNUSABLE,			/* u.s holds why; an error when used */
	/* Cedar's extension types (docs/POLICY.md section 3) */
	GOV_POL_DECIMAL,			/* u.i: the value times 10^4 */
	GOV_POL_IPADDR,				/* u.ip */
	GOV_POL_DATETIME,			/* u.i: milliseconds since 1970-01-01 UTC */
	GOV_POL_DURATION			/* u.i: milliseconds */
} GovPolKind;

/*
 * An IP address or network as Cedar keeps it: the address as written (not
 * masked by the prefix) and the prefix length; 4 bytes used for IPv4.
 */
typedef struct GovPolIp
{
	uint8_t		addr[16];
	uint8_t		prefix;
	bool		v6;
} GovPolIp;

typedef struct GovPolStr
{
	const char *p;
	uint32_t	len;
} GovPolStr;

typedef struct GovPolValue GovPolValue;
typedef struct GovPolField GovPolField;

struct GovPolValue
{
	GovPolKind	kind;
	union
	{
		bool		b;
		int64_t		i;
		GovPolStr	s;
		const GovPolIp *ip;
		struct
		{
			const GovPolValue *items;
			uint32_t	n;
		}			set;
		struct
		{
			const GovPolField *fields;
			uint32_t	n;
		}			rec;
	}			u;
};

struct GovPolField
{
	GovPolStr	key;
	GovPolValue value;
};

/*
 * Records are searched by binary search on (key length, key bytes), the
 * order jsonb already keeps object keys in.  Sorts when needed; returns
 * false if two fields have the same key.
 */
extern bool gov_pol_record_sort(GovPolField *fields, uint32_t n);

extern const char *gov_pol_kind_name(GovPolKind kind);

/*
 * Construct an extension value as Cedar's constructor fn ("decimal",
 * "ip", "datetime", "duration"; fnlen bytes) does from the string arg, by
 * Cedar's exact parsing rules.  An IP address is written into *ip, which
 * the value then points to.  False with *why (a static message) when fn
 * is unknown or arg malformed or out of range.
 */
extern bool gov_pol_extension_value(const char *fn, size_t fnlen,
									const char *arg, size_t len,
									GovPolIp *ip, GovPolValue *out,
									const char **why);

/*
 * Is s exactly an entity uid in canonical form: Type::"id", Type one or
 * more identifiers joined by "::", id any bytes but NUL with '"' and '\'
 * written \" and \\ (and no other escape)?
 */
extern bool gov_pol_valid_uid(const char *s, size_t len);

/* ---------------------------------------------------------------------
 * Policies
 * ---------------------------------------------------------------------
 */

typedef struct GovPolicy GovPolicy;

typedef struct GovPolError
{
	int			line;			/* 1-based; 0 when not about a position */
	int			column;			/* 1-based, in characters */
	char		message[GOV_POL_ERRMSG_LEN];	/* "line L, column C: ..." */
} GovPolError;

/*
 * Parse exactly one policy statement.  On success *out points into the
 * arena; on failure err says where and why, and nothing is returned.
 */
extern bool gov_pol_parse(GovPolArena *arena, const char *src, size_t len,
						  GovPolicy **out, GovPolError *err);

/*
 * Parse a policy set: any number of statements, one after the other (a
 * file of policies, as Cedar users keep them).  *out is an array of
 * *count policies, in source order; zero statements is a valid, empty set.
 */
extern bool gov_pol_parse_set(GovPolArena *arena, const char *src, size_t len,
							  GovPolicy ***out, uint32_t *count, GovPolError *err);

/*
 * Parse a policy template (issue 17): one statement whose principal and/or
 * resource scope may hold a slot, ?principal after "principal ==",
 * "principal in" or "principal is T in", ?resource likewise in the resource
 * scope, as Cedar allows.  A template holds at least one slot.  gov_pol_parse
 * refuses slots.
 */
extern bool gov_pol_parse_template(GovPolArena *arena, const char *src, size_t len,
								   GovPolicy **out, GovPolError *err);

typedef enum GovPolSlot
{
	GOV_POL_SLOT_PRINCIPAL,
	GOV_POL_SLOT_RESOURCE
} GovPolSlot;

/*
 * Does the template hold this slot, and where (bytes [start, end) of its
 * source, the "?principal" itself)?  Linking replaces those bytes by an
 * entity literal and parses the result as a policy.
 */
extern bool gov_pol_slot(const GovPolicy *p, GovPolSlot slot, size_t *start,
						 size_t *end);

extern bool gov_pol_is_permit(const GovPolicy *p);

/* Where the statement is in its source: bytes [start, end), "@" to ";". */
extern void gov_pol_source_span(const GovPolicy *p, size_t *start, size_t *end);

/*
 * Annotations (@key("value"), or @key alone with the value ""), in source
 * order; a key appears at most once.  gov_pol_annotation_get is NULL when
 * the policy has no such annotation.
 */
extern uint32_t gov_pol_annotation_count(const GovPolicy *p);
extern void gov_pol_annotation(const GovPolicy *p, uint32_t i, GovPolStr *key,
							   GovPolStr *value);
extern const GovPolStr *gov_pol_annotation_get(const GovPolicy *p, const char *key);

/*
 * What schema validation (cedar_schema.c) reads of a parsed policy: its
 * scopes and the references its conditions make.
 */
typedef enum GovPolVar
{
	GOV_POL_VAR_PRINCIPAL,
	GOV_POL_VAR_ACTION,
	GOV_POL_VAR_RESOURCE,
	GOV_POL_VAR_CONTEXT
} GovPolVar;

typedef enum GovPolScopeKind
{
	GOV_POL_SCOPE_ANY,			/* no constraint (but maybe "is T") */
	GOV_POL_SCOPE_EQ,			/* == uids[0] */
	GOV_POL_SCOPE_IN,			/* in uids[0] */
	GOV_POL_SCOPE_IN_SET		/* action in [uids...] */
} GovPolScopeKind;

typedef struct GovPolScopeInfo
{
	GovPolScopeKind kind;
	uint32_t	n;
	const GovPolStr *uids;
	GovPolStr	is_type;		/* len 0 when none */
	bool		slot;			/* a template slot: uids[0] is empty */
	int			line;
	int			col;
} GovPolScopeInfo;

extern void gov_pol_scope_info(const GovPolicy *p, GovPolVar var,
							   GovPolScopeInfo *out);

typedef enum GovPolRefKind
{
	GOV_POL_REF_ATTR,			/* var.name, var one of the four variables */
	GOV_POL_REF_ENTITY,			/* an entity literal; name is its uid */
	GOV_POL_REF_TYPE			/* "is T" in a condition; name is T */
} GovPolRefKind;

/* Return false to stop the walk (gov_pol_walk_refs then returns false). */
typedef bool (*GovPolRefFn) (void *arg, GovPolRefKind kind, GovPolVar var,
							 GovPolStr name, int line, int col);

/* The source the policy was parsed from must still be there. */
extern bool gov_pol_walk_refs(const GovPolicy *p, GovPolRefFn fn, void *arg);

/*
 * A read-only view of the conditions' expression trees, for the schema's
 * type checker (cedar_typecheck.c).  A condition "unless { e }" is
 * reported with is_when false; the tree is e itself.
 */
typedef struct GovPolExpr GovPolExpr;

typedef enum GovPolExprKind
{
	GOV_POL_E_LIT,				/* lit: a literal (extension literals folded) */
	GOV_POL_E_VAR,				/* var */
	GOV_POL_E_ATTR,				/* kids[0].name */
	GOV_POL_E_HAS,				/* kids[0] has name */
	GOV_POL_E_EQ,
	GOV_POL_E_NE,
	GOV_POL_E_LT,
	GOV_POL_E_LE,
	GOV_POL_E_GT,
	GOV_POL_E_GE,
	GOV_POL_E_IN,
	GOV_POL_E_LIKE,
	GOV_POL_E_AND,				/* n-ary */
	GOV_POL_E_OR,				/* n-ary */
	GOV_POL_E_NOT,
	GOV_POL_E_NEG,
	GOV_POL_E_ADD,				/* n-ary: + or - between operands */
	GOV_POL_E_MUL,				/* n-ary */
	GOV_POL_E_IF,				/* kids: condition, then, else */
	GOV_POL_E_SET,
	GOV_POL_E_CONTAINS,
	GOV_POL_E_CONTAINS_ALL,
	GOV_POL_E_CONTAINS_ANY,
	GOV_POL_E_IS,				/* kids[0] is name */
	GOV_POL_E_IS_EMPTY,
	GOV_POL_E_RECORD,			/* keys[i]: kids[i] */
	GOV_POL_E_HAS_TAG,
	GOV_POL_E_GET_TAG,
	GOV_POL_E_EXT				/* name(kids...), a method's receiver first */
} GovPolExprKind;

typedef struct GovPolExprInfo
{
	GovPolExprKind kind;
	GovPolVar	var;			/* GOV_POL_E_VAR */
	const GovPolValue *lit;		/* GOV_POL_E_LIT */
	GovPolStr	name;			/* ATTR, HAS, IS; EXT: the function's name */
	bool		method;			/* EXT: a method, kids[0] its receiver */
	const GovPolStr *keys;		/* RECORD */
	uint32_t	nkids;
	const GovPolExpr *const *kids;
} GovPolExprInfo;

extern uint32_t gov_pol_cond_count(const GovPolicy *p);
extern const GovPolExpr *gov_pol_cond(const GovPolicy *p, uint32_t i, bool *is_when);
extern void gov_pol_expr_info(const GovPolExpr *e, GovPolExprInfo *out);

/*
 * Where the expression starts in the policy's source (1-based line and
 * column, in characters).  The source must still be there.
 */
extern void gov_pol_expr_where(const GovPolicy *p, const GovPolExpr *e,
							   int *line, int *col);

/* ---------------------------------------------------------------------
 * Evaluation
 * ---------------------------------------------------------------------
 */

typedef struct GovPolEntity
{
	const GovPolStr *parents;
	uint32_t	nparents;
	const GovPolValue *attrs;	/* a record, or NULL for none */
	const GovPolValue *tags;	/* a record, or NULL for none */
} GovPolEntity;

/* The entity store: NULL when the entity does not exist. */
typedef const GovPolEntity *(*GovPolLookupFn) (void *arg, const char *uid,
											   uint32_t len);

typedef struct GovPolRequest
{
	GovPolStr	principal;		/* canonical uids */
	GovPolStr	action;
	GovPolStr	resource;
	const GovPolValue *context; /* a record; NULL means empty */
	GovPolLookupFn lookup;
	void	   *lookup_arg;
	int			max_entity_depth;	/* parent hops "in" may follow */
} GovPolRequest;

typedef struct GovPolSession GovPolSession;

typedef enum GovPolResult
{
	GOV_POL_ERROR = -1,
	GOV_POL_NO_MATCH = 0,
	GOV_POL_MATCH = 1
} GovPolResult;

/*
 * A session evaluates any number of policies against one request and
 * shares work between them (the ancestors of each entity are computed
 * once).  Everything lives in scratch; NULL when scratch is exhausted.
 * The request (and everything it points to) must outlive the session.
 */
extern GovPolSession *gov_pol_session_new(GovPolArena *scratch,
										  const GovPolRequest *req);

/*
 * Does the policy apply: its scope holds and its conditions are met?  On
 * GOV_POL_ERROR, *error (in scratch) says why.
 */
extern GovPolResult gov_pol_evaluate(GovPolSession *s, const GovPolicy *p,
									 const char **error);

/*
 * Is a in b, as the "in" operator answers it: a equals b, or b is among
 * the ancestors of a in the entity store (within max_entity_depth hops).
 * On GOV_POL_ERROR (a hierarchy deeper than that), *error says why.
 */
extern GovPolResult gov_pol_entity_in(GovPolSession *s, GovPolStr a, GovPolStr b,
									  const char **error);

#endif							/* GOV_POLICY_LANG_H */
