/*-------------------------------------------------------------------------
 *
 * cedar_typecheck.c
 *	  Cedar's strict-mode type checker (issue 17), run by create_policy
 *	  when a schema is set.
 *
 *	  As Cedar's validator does, the conditions are checked once in each
 *	  request environment the scope admits (an action with one of its
 *	  principal types and one of its resource types), so "principal" has a
 *	  single entity type in each.  Types are Cedar's: Bool with its two
 *	  singletons True and False (so that "false && e" or
 *	  "principal is User && principal.name == ..." skip what can never be
 *	  evaluated, as Cedar does), Long, String, sets, records (closed, with
 *	  required and optional attributes), entities of one type, and the
 *	  extension types.  Strict mode requires the two sides of ==, the
 *	  elements of a set and the branches of an if to have the same type
 *	  (entities may differ in ==, which is then False).  An optional
 *	  attribute may be read only where a "has" test of the same path
 *	  (Cedar's capabilities) guards it: earlier in the same conjunction,
 *	  in the condition of an if, or in an earlier "when" clause; a tag
 *	  (x.getTag(k)) likewise only under x.hasTag(k), and only on an entity
 *	  type whose schema declares tags.  Names come from the schema
 *	  qualified (NS::User, NS::Action), as policies write them.
 *
 *	  Pure C99 (no PostgreSQL headers): memory from a GovPolArena, errors
 *	  as values.  The recursion follows the expression tree, whose height
 *	  the parser bounds by GOV_POL_MAX_NESTING; schema types are nested at
 *	  most as deep.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cedar_typecheck.h"

#if defined(__GNUC__)
#define TC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TC_PRINTF(f, a)
#endif

#define TC_SHOW 64				/* characters of a name shown in a message */
#define TC_TYPE_TEXT 160		/* characters of a type shown in a message */

/*
 * Most "has" facts an attribute access looks back through, newest first:
 * in an && chain of more distinct has tests, an access guarded only by an
 * older one is refused (where Cedar allows it: docs/POLICY.md section 13),
 * so that checking a policy costs at most this many comparisons per
 * access.
 */
#define TC_MAX_CAPS 1024

typedef enum TyKind
{
	TY_BOOL,
	TY_TRUE,
	TY_FALSE,
	TY_LONG,
	TY_STRING,
	TY_SET,
	TY_RECORD,
	TY_ENTITY,
	TY_DECIMAL,
	TY_IPADDR,
	TY_DATETIME,
	TY_DURATION
} TyKind;

typedef struct Ty Ty;

typedef struct TyAttr
{
	GovPolStr	name;
	bool		required;
	const Ty   *type;
} TyAttr;

struct Ty
{
	TyKind		kind;
	GovPolStr	entity;			/* TY_ENTITY: the entity type */
	const Ty   *elem;			/* TY_SET */
	uint32_t	nattrs;			/* TY_RECORD */
	const TyAttr *attrs;
	/* TY_RECORD: what its attributes belong to, for messages */
	const char *owner;			/* "on entity type `User`", or NULL */
	const char *path;			/* "limits." before its attributes' names */
};

/*
 * A capability: "e has name" (tag NULL) or "e.hasTag(tag)" is known to
 * hold.
 */
typedef struct Cap Cap;
struct Cap
{
	const GovPolExpr *e;
	GovPolStr	name;
	const GovPolExpr *tag;
	const Cap  *next;
};

typedef struct TC
{
	const GovSchema *s;
	GovPolArena *a;
	const GovPolicy *p;
	const GovSchEnv *env;
	GovPolError *err;
	bool		failed;
	/* converted once: the entity types' shapes, the actions' contexts */
	const Ty  **shapes;
	const Ty  **contexts;
	const Ty  **tags;			/* the entity types' declared tag types */
} TC;

static const Ty ty_bool = {TY_BOOL};
static const Ty ty_true = {TY_TRUE};
static const Ty ty_false = {TY_FALSE};
static const Ty ty_long = {TY_LONG};
static const Ty ty_string = {TY_STRING};
static const Ty ty_decimal = {TY_DECIMAL};
static const Ty ty_ipaddr = {TY_IPADDR};
static const Ty ty_datetime = {TY_DATETIME};
static const Ty ty_duration = {TY_DURATION};

#define SHOWN(str) (int) ((str).len > TC_SHOW ? TC_SHOW : (str).len), (str).p

static void tc_error(TC *c, const GovPolExpr *at, const char *fmt,...) TC_PRINTF(3, 4);

/* Fail at expression at (NULL: no position); the first error wins. */
static void
tc_error(TC *c, const GovPolExpr *at, const char *fmt,...)
{
	va_list		ap;
	int			k = 0;

	if (c->failed)
		return;
	c->failed = true;
	c->err->line = 0;
	c->err->column = 0;
	if (at != NULL)
	{
		gov_pol_expr_where(c->p, at, &c->err->line, &c->err->column);
		k = snprintf(c->err->message, GOV_POL_ERRMSG_LEN, "line %d, column %d: ",
					 c->err->line, c->err->column);
	}
	if (k < 0 || k >= GOV_POL_ERRMSG_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err->message + k, GOV_POL_ERRMSG_LEN - k, fmt, ap);
	va_end(ap);
}

static void *
tc_alloc(TC *c, size_t size)
{
	void	   *p = gov_pol_alloc(c->a, size);

	if (p == NULL)
		tc_error(c, NULL, "schema validation ran out of memory");
	else
		memset(p, 0, size);
	return p;
}

static char *tc_printf(TC *c, const char *fmt,...) TC_PRINTF(2, 3);

static char *
tc_printf(TC *c, const char *fmt,...)
{
	char		buf[GOV_POL_ERRMSG_LEN];
	char	   *out;
	va_list		ap;
	size_t		n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	out = tc_alloc(c, n + 1);
	if (out != NULL)
		memcpy(out, buf, n + 1);
	return out;
}

static bool
str_eq(GovPolStr a, GovPolStr b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool
str_is(GovPolStr s, const char *text)
{
	size_t		n = strlen(text);

	return s.len == n && memcmp(s.p, text, n) == 0;
}

static bool
is_bool(const Ty *t)
{
	return t->kind == TY_BOOL || t->kind == TY_TRUE || t->kind == TY_FALSE;
}

/* ---------------------------------------------------------------------
 * Types: from the schema, names, compatibility
 * ---------------------------------------------------------------------
 */

static const Ty *
from_schema(TC *c, const GovSchType *st, const char *owner, const char *path, int depth)
{
	GovSchTypeInfo info;
	Ty		   *t;
	uint32_t	i;

	if (c->failed)
		return NULL;
	if (depth > GOV_POL_MAX_NESTING)
	{
		tc_error(c, NULL, "schema type nested too deeply");
		return NULL;
	}
	gov_sch_type_info(st, &info);
	switch (info.kind)
	{
		case GOV_SCH_LONG:
			return &ty_long;
		case GOV_SCH_STRING:
			return &ty_string;
		case GOV_SCH_BOOL:
			return &ty_bool;
		case GOV_SCH_DECIMAL:
			return &ty_decimal;
		case GOV_SCH_IPADDR:
			return &ty_ipaddr;
		case GOV_SCH_DATETIME:
			return &ty_datetime;
		case GOV_SCH_DURATION:
			return &ty_duration;
		default:
			break;
	}
	t = tc_alloc(c, sizeof(Ty));
	if (t == NULL)
		return NULL;
	if (info.kind == GOV_SCH_ENTITY)
	{
		t->kind = TY_ENTITY;
		t->entity = info.name;
		return t;
	}
	if (info.kind == GOV_SCH_SET)
	{
		t->kind = TY_SET;
		t->elem = from_schema(c, info.elem, NULL, "", depth + 1);
		return t->elem ? t : NULL;
	}
	t->kind = TY_RECORD;
	t->owner = owner;
	t->path = path;
	t->nattrs = info.nattrs;
	if (info.nattrs > 0)
	{
		TyAttr	   *attrs = tc_alloc(c, sizeof(TyAttr) * info.nattrs);

		if (attrs == NULL)
			return NULL;
		for (i = 0; i < info.nattrs; i++)
		{
			const GovSchType *at = gov_sch_type_attr(st, i, &attrs[i].name, &attrs[i].required);
			const char *sub = owner ? tc_printf(c, "%s%.*s.", path, SHOWN(attrs[i].name)) : "";

			if (sub == NULL)
				return NULL;
			attrs[i].type = from_schema(c, at, owner, sub, depth + 1);
			if (attrs[i].type == NULL)
				return NULL;
		}
		t->attrs = attrs;
	}
	return t;
}

/* The type of an entity of schema type e (or an action: e < 0). */
static const Ty *
entity_ty(TC *c, GovPolStr name)
{
	Ty		   *t = tc_alloc(c, sizeof(Ty));

	if (t == NULL)
		return NULL;
	t->kind = TY_ENTITY;
	t->entity = name;
	return t;
}

/* The attributes of an entity type, as a record (NULL shape: none). */
static const Ty *
entity_shape(TC *c, GovPolStr name)
{
	int			e = gov_sch_entity_find(c->s, name);
	const GovSchType *shape = e >= 0 ? gov_sch_entity_shape(c->s, e) : NULL;
	const char *owner;
	Ty		   *t;

	if (e >= 0 && c->shapes[e] != NULL)
		return c->shapes[e];
	owner = tc_printf(c, "on entity type `%.*s`", SHOWN(name));
	if (owner == NULL)
		return NULL;
	if (shape != NULL)
		return e >= 0 ? (c->shapes[e] = from_schema(c, shape, owner, "", 0)) : NULL;
	t = tc_alloc(c, sizeof(Ty));
	if (t == NULL)
		return NULL;
	t->kind = TY_RECORD;
	t->owner = owner;
	t->path = "";
	if (e >= 0)
		c->shapes[e] = t;
	return t;
}

/* Cedar's way of writing a type, into buf. */
static void
ty_text(const Ty *t, char *buf, size_t size)
{
	size_t		n;
	uint32_t	i;

	if (size == 0)
		return;
	buf[0] = '\0';
	switch (t->kind)
	{
		case TY_BOOL:
		case TY_TRUE:
		case TY_FALSE:
			snprintf(buf, size, "Bool");
			break;
		case TY_LONG:
			snprintf(buf, size, "Long");
			break;
		case TY_STRING:
			snprintf(buf, size, "String");
			break;
		case TY_DECIMAL:
			snprintf(buf, size, "decimal");
			break;
		case TY_IPADDR:
			snprintf(buf, size, "ipaddr");
			break;
		case TY_DATETIME:
			snprintf(buf, size, "datetime");
			break;
		case TY_DURATION:
			snprintf(buf, size, "duration");
			break;
		case TY_ENTITY:
			snprintf(buf, size, "%.*s", SHOWN(t->entity));
			break;
		case TY_SET:
			snprintf(buf, size, "Set<");
			n = strlen(buf);
			ty_text(t->elem, buf + n, size - n);
			n = strlen(buf);
			snprintf(buf + n, size - n, ">");
			break;
		case TY_RECORD:
			snprintf(buf, size, "{");
			for (i = 0; i < t->nattrs; i++)
			{
				n = strlen(buf);
				snprintf(buf + n, size - n, "%.*s%s: ", SHOWN(t->attrs[i].name),
						 t->attrs[i].required ? "" : "?");
				n = strlen(buf);
				ty_text(t->attrs[i].type, buf + n, size - n);
				n = strlen(buf);
				snprintf(buf + n, size - n, ",");
			}
			n = strlen(buf);
			snprintf(buf + n, size - n, "}");
			break;
	}
}

/*
 * Strict mode's least upper bound exists: the same type, where the Bool
 * singletons count as Bool, records have the same attributes, equally
 * required, and entities the same type.
 */
static bool
compatible(const Ty *a, const Ty *b, int depth)
{
	uint32_t	i;
	uint32_t	j;

	if (depth > 2 * GOV_POL_MAX_NESTING)
		return false;
	if (is_bool(a) && is_bool(b))
		return true;
	if (a->kind != b->kind)
		return false;
	switch (a->kind)
	{
		case TY_ENTITY:
			return str_eq(a->entity, b->entity);
		case TY_SET:
			return compatible(a->elem, b->elem, depth + 1);
		case TY_RECORD:
			if (a->nattrs != b->nattrs)
				return false;
			for (i = 0; i < a->nattrs; i++)
			{
				for (j = 0; j < b->nattrs; j++)
					if (str_eq(a->attrs[i].name, b->attrs[j].name))
						break;
				if (j == b->nattrs || a->attrs[i].required != b->attrs[j].required ||
					!compatible(a->attrs[i].type, b->attrs[j].type, depth + 1))
					return false;
			}
			return true;
		default:
			return true;
	}
}

/* The upper bound of two compatible types (Bool for different Bools). */
static const Ty *
join(const Ty *a, const Ty *b)
{
	if (is_bool(a) && a->kind != b->kind)
		return &ty_bool;
	return a;
}

static bool
incompatible(TC *c, const GovPolExpr *at, const Ty *a, const Ty *b)
{
	char		ta[TC_TYPE_TEXT];
	char		tb[TC_TYPE_TEXT];

	ty_text(a, ta, sizeof(ta));
	ty_text(b, tb, sizeof(tb));
	tc_error(c, at, "the types %s and %s are not compatible", ta, tb);
	return false;
}

static bool
unexpected(TC *c, const GovPolExpr *at, const char *expected, const Ty *saw)
{
	char		ts[TC_TYPE_TEXT];

	ty_text(saw, ts, sizeof(ts));
	tc_error(c, at, "unexpected type: expected %s but saw %s", expected, ts);
	return false;
}

/* ---------------------------------------------------------------------
 * Capabilities
 * ---------------------------------------------------------------------
 */

static bool same_key(const GovPolExpr *x, const GovPolExpr *y);

/*
 * Do two expressions denote the same value in any one request?  Only the
 * paths capabilities are about are compared: variables, entity literals,
 * attribute accesses and tag reads (x.getTag(k)) of them.
 */
static bool
same_path(const GovPolExpr *x, const GovPolExpr *y)
{
	GovPolExprInfo a;
	GovPolExprInfo b;

	gov_pol_expr_info(x, &a);
	gov_pol_expr_info(y, &b);
	if (a.kind != b.kind)
		return false;
	switch (a.kind)
	{
		case GOV_POL_E_VAR:
			return a.var == b.var;
		case GOV_POL_E_LIT:
			return a.lit->kind == GOV_POL_ENTITY && b.lit->kind == GOV_POL_ENTITY &&
				str_eq(a.lit->u.s, b.lit->u.s);
		case GOV_POL_E_ATTR:
			return str_eq(a.name, b.name) && same_path(a.kids[0], b.kids[0]);
		case GOV_POL_E_GET_TAG:
			return same_path(a.kids[0], b.kids[0]) && same_key(a.kids[1], b.kids[1]);
		default:
			return false;
	}
}

/*
 * Do two tag keys denote the same string in any one request?  String
 * literals and paths (context.k) are compared; any other key is never the
 * same as another, which refuses an access Cedar may accept (docs/POLICY.md
 * section 13) but never accepts one it refuses.
 */
static bool
same_key(const GovPolExpr *x, const GovPolExpr *y)
{
	GovPolExprInfo a;
	GovPolExprInfo b;

	gov_pol_expr_info(x, &a);
	gov_pol_expr_info(y, &b);
	if (a.kind == GOV_POL_E_LIT && b.kind == GOV_POL_E_LIT)
		return a.lit->kind == GOV_POL_STRING && b.lit->kind == GOV_POL_STRING &&
			str_eq(a.lit->u.s, b.lit->u.s);
	return same_path(x, y);
}

/* is "e has name" (tag NULL) or "e.hasTag(tag)" in caps? */
static bool
has_cap(const Cap *caps, const GovPolExpr *e, GovPolStr name, const GovPolExpr *tag)
{
	int			seen = 0;

	for (; caps != NULL && seen < TC_MAX_CAPS; caps = caps->next, seen++)
	{
		if ((caps->tag == NULL) != (tag == NULL))
			continue;
		if (tag != NULL ? same_key(caps->tag, tag) && same_path(caps->e, e) :
			str_eq(caps->name, name) && same_path(caps->e, e))
			return true;
	}
	return false;
}

/* caps extended by more (a copy of more's entries in front of caps) */
static const Cap *
cap_union(TC *c, const Cap *caps, const Cap *more)
{
	const Cap  *out = caps;

	for (; more != NULL; more = more->next)
	{
		Cap		   *n;

		if (has_cap(out, more->e, more->name, more->tag))
			continue;
		n = tc_alloc(c, sizeof(Cap));
		if (n == NULL)
			return caps;
		n->e = more->e;
		n->name = more->name;
		n->tag = more->tag;
		n->next = out;
		out = n;
	}
	return out;
}

/* the entries of a also in b */
static const Cap *
cap_meet(TC *c, const Cap *a, const Cap *b)
{
	const Cap  *out = NULL;

	for (; a != NULL; a = a->next)
	{
		Cap		   *n;

		if (!has_cap(b, a->e, a->name, a->tag))
			continue;
		n = tc_alloc(c, sizeof(Cap));
		if (n == NULL)
			return out;
		n->e = a->e;
		n->name = a->name;
		n->tag = a->tag;
		n->next = out;
		out = n;
	}
	return out;
}

/* ---------------------------------------------------------------------
 * Expressions
 * ---------------------------------------------------------------------
 */

/*
 * The type of e, given the capabilities in force; *eff receives those
 * e's being true adds (NULL for none).  NULL on error (c->err set).
 */
static const Ty *tc_expr(TC *c, const GovPolExpr *e, const Cap *caps, const Cap **eff);

static const Ty *
tc_kid(TC *c, const GovPolExpr *e, const Cap *caps)
{
	const Cap  *ignored;

	return tc_expr(c, e, caps, &ignored);
}

/* A kid that must be Bool. */
static const Ty *
tc_bool(TC *c, const GovPolExpr *e, const Cap *caps, const Cap **eff)
{
	const Ty   *t = tc_expr(c, e, caps, eff);

	if (t != NULL && !is_bool(t))
	{
		unexpected(c, e, "Bool", t);
		return NULL;
	}
	return t;
}

/* A kid that must be of kind k (named what in messages). */
static bool
tc_want(TC *c, const GovPolExpr *e, const Cap *caps, TyKind k, const char *what,
		const Ty **out)
{
	const Ty   *t = tc_kid(c, e, caps);

	if (t == NULL)
		return false;
	if (t->kind != k)
		return unexpected(c, e, what, t);
	if (out)
		*out = t;
	return true;
}

/*
 * && and || (n-ary).  The capabilities in force grow along an && chain one
 * operand's effects at a time, so a long chain costs no more than the
 * effects it has.
 */
static const Ty *
tc_and_or(TC *c, const GovPolExprInfo *in, bool and, const Cap *caps, const Cap **eff)
{
	const Ty   *acc = NULL;
	const Cap  *acc_eff = NULL;
	const Cap  *running = caps;
	uint32_t	i;

	for (i = 0; i < in->nkids; i++)
	{
		const Cap  *keff = NULL;
		const Ty   *t;

		t = tc_bool(c, in->kids[i], running, &keff);
		if (t == NULL)
			return NULL;
		if (acc == NULL)
		{
			acc = t;
			acc_eff = keff;
		}
		else if (and)
		{
			acc = (t->kind == TY_FALSE) ? &ty_false :
				(acc->kind == TY_TRUE && t->kind == TY_TRUE) ? &ty_true : &ty_bool;
			acc_eff = cap_union(c, acc_eff, keff);
		}
		else
		{
			/* a False left side leaves the right one's value and effects */
			if (acc->kind == TY_FALSE)
			{
				acc = t;
				acc_eff = keff;
			}
			else
			{
				acc = t->kind == TY_TRUE ? &ty_true : &ty_bool;
				acc_eff = t->kind == TY_FALSE ? acc_eff : cap_meet(c, acc_eff, keff);
			}
		}
		if (and)
			running = cap_union(c, running, keff);
		/* what follows is never evaluated, and Cedar does not check it */
		if ((and && acc->kind == TY_FALSE) || (!and && acc->kind == TY_TRUE))
			break;
	}
	*eff = acc_eff;
	return acc;
}

/* x.name: x an entity or record */
static const Ty *
tc_attr(TC *c, const GovPolExpr *e, const GovPolExprInfo *in, const Cap *caps)
{
	const Ty   *x = tc_kid(c, in->kids[0], caps);
	const Ty   *rec;
	uint32_t	i;

	if (x == NULL)
		return NULL;
	if (x->kind == TY_ENTITY)
		rec = entity_shape(c, x->entity);
	else if (x->kind == TY_RECORD)
		rec = x;
	else
	{
		unexpected(c, in->kids[0], "an entity or a record", x);
		return NULL;
	}
	if (rec == NULL)
		return NULL;
	for (i = 0; i < rec->nattrs; i++)
		if (str_eq(rec->attrs[i].name, in->name))
			break;
	if (i == rec->nattrs)
	{
		tc_error(c, e, "attribute `%s%.*s`%s%s not found", rec->path ? rec->path : "",
				 SHOWN(in->name), rec->owner ? " " : "", rec->owner ? rec->owner : "");
		return NULL;
	}
	if (!rec->attrs[i].required && !has_cap(caps, in->kids[0], in->name, NULL))
	{
		tc_error(c, e, "unable to guarantee safety of access to optional attribute `%s%.*s`%s%s",
				 rec->path ? rec->path : "", SHOWN(in->name),
				 rec->owner ? " " : "", rec->owner ? rec->owner : "");
		return NULL;
	}
	return rec->attrs[i].type;
}

/* x has name */
static const Ty *
tc_has(TC *c, const GovPolExpr *e, const GovPolExprInfo *in, const Cap *caps,
	   const Cap **eff)
{
	const Ty   *x = tc_kid(c, in->kids[0], caps);
	const Ty   *rec;
	Cap		   *cap;
	uint32_t	i;

	(void) e;
	if (x == NULL)
		return NULL;
	if (x->kind == TY_ENTITY)
		rec = entity_shape(c, x->entity);
	else if (x->kind == TY_RECORD)
		rec = x;
	else
	{
		unexpected(c, in->kids[0], "an entity or a record", x);
		return NULL;
	}
	if (rec == NULL)
		return NULL;
	for (i = 0; i < rec->nattrs; i++)
		if (str_eq(rec->attrs[i].name, in->name))
			break;
	if (i == rec->nattrs)
		return &ty_false;		/* closed types: never there */
	if (rec->attrs[i].required && x->kind == TY_RECORD)
		return &ty_true;
	/* a guard in force already answers it (Cedar: the capability's True) */
	if (has_cap(caps, in->kids[0], in->name, NULL))
		return &ty_true;
	cap = tc_alloc(c, sizeof(Cap));
	if (cap == NULL)
		return NULL;
	cap->e = in->kids[0];
	cap->name = in->name;
	*eff = cap;
	/* an entity may not exist: even its required attributes make it Bool */
	return &ty_bool;
}

/* The declared type of an entity type's tags, or NULL (none declared). */
static const Ty *
tag_type(TC *c, GovPolStr name)
{
	int			e = gov_sch_entity_find(c->s, name);
	const GovSchType *tt = e >= 0 ? gov_sch_entity_tags(c->s, e) : NULL;
	const char *owner;

	if (tt == NULL)
		return NULL;
	if (c->tags[e] == NULL)
	{
		owner = tc_printf(c, "in a tag of entity type `%.*s`", SHOWN(name));
		if (owner == NULL)
			return NULL;
		c->tags[e] = from_schema(c, tt, owner, "", 0);
	}
	return c->tags[e];
}

/*
 * x.hasTag(k) and x.getTag(k), as Cedar's strict validator types them:
 * hasTag is False on an entity type that declares no tags, True under a
 * guard of the same test, else Bool (and a guard for what follows);
 * getTag has the declared tag type, only under a hasTag guard of the same
 * entity and key (as an optional attribute needs has), and is refused on
 * an entity type that declares no tags.
 */
static const Ty *
tc_tag(TC *c, const GovPolExpr *e, const GovPolExprInfo *in, const Cap *caps,
	   const Cap **eff)
{
	const Ty   *x;
	const Ty   *tt;
	GovPolExprInfo k;
	Cap		   *cap;

	if (!tc_want(c, in->kids[0], caps, TY_ENTITY, "an entity", &x) ||
		!tc_want(c, in->kids[1], caps, TY_STRING, "String", NULL))
		return NULL;
	tt = tag_type(c, x->entity);
	if (c->failed)
		return NULL;
	if (in->kind == GOV_POL_E_HAS_TAG)
	{
		if (has_cap(caps, in->kids[0], in->name, in->kids[1]))
			return &ty_true;
		if (tt == NULL)
			return &ty_false;
		cap = tc_alloc(c, sizeof(Cap));
		if (cap == NULL)
			return NULL;
		cap->e = in->kids[0];
		cap->tag = in->kids[1];
		*eff = cap;
		return &ty_bool;
	}
	if (!has_cap(caps, in->kids[0], in->name, in->kids[1]))
	{
		gov_pol_expr_info(in->kids[1], &k);
		if (k.kind == GOV_POL_E_LIT && k.lit->kind == GOV_POL_STRING)
			tc_error(c, e, "unable to guarantee safety of access to tag `\"%.*s\"` on entity type `%.*s`",
					 SHOWN(k.lit->u.s), SHOWN(x->entity));
		else
			tc_error(c, e, "unable to guarantee safety of access to a tag on entity type `%.*s`",
					 SHOWN(x->entity));
		return NULL;
	}
	if (tt == NULL)
	{
		tc_error(c, e, "`.getTag()` is not allowed on entities of `%.*s` because no `tags` were declared on the entity type in the schema",
				 SHOWN(x->entity));
		return NULL;
	}
	return tt;
}

/* == and != */
static bool
lit_equal(const GovPolValue *a, const GovPolValue *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind)
	{
		case GOV_POL_BOOL:
			return a->u.b == b->u.b;
		case GOV_POL_LONG:
			return a->u.i == b->u.i;
		default:
			return str_eq(a->u.s, b->u.s);
	}
}

/* The action an entity literal names (Action or NS::Action), or -1. */
static int
literal_action(TC *c, const GovPolValue *v)
{
	return gov_sch_action_find(c->s, v->u.s);
}

/*
 * x in y: x an entity, y an entity or a set of entities.  As Cedar's, the
 * answer is known (False) when the schema lets no entity of x's type be
 * in one of y's, and known either way for the action of the request.
 */
static const Ty *
tc_in(TC *c, const GovPolExprInfo *in, const Cap *caps)
{
	const Ty   *l = tc_kid(c, in->kids[0], caps);
	const Ty   *r;
	const Ty   *rt;
	GovPolExprInfo li;
	GovPolExprInfo ri;
	int			le;
	int			re;

	if (l == NULL)
		return NULL;
	if (l->kind != TY_ENTITY)
	{
		unexpected(c, in->kids[0], "an entity", l);
		return NULL;
	}
	r = tc_kid(c, in->kids[1], caps);
	if (r == NULL)
		return NULL;
	rt = r->kind == TY_SET ? r->elem : r;
	if (rt->kind != TY_ENTITY)
	{
		unexpected(c, in->kids[1], "Set<an entity>, or an entity", r);
		return NULL;
	}
	gov_pol_expr_info(in->kids[0], &li);
	gov_pol_expr_info(in->kids[1], &ri);
	if (li.kind == GOV_POL_E_VAR && li.var == GOV_POL_VAR_ACTION)
	{
		uint32_t	i;
		uint32_t	n = ri.kind == GOV_POL_E_SET ? ri.nkids : 1;

		for (i = 0; i < n; i++)
		{
			GovPolExprInfo k;
			int			a;

			if (ri.kind == GOV_POL_E_SET)
				gov_pol_expr_info(ri.kids[i], &k);
			else
				k = ri;
			if (k.kind != GOV_POL_E_LIT || k.lit->kind != GOV_POL_ENTITY)
				return &ty_bool;
			a = literal_action(c, k.lit);
			if (a >= 0 && gov_sch_action_below(c->s, c->a, c->env->action, a))
				return &ty_true;
		}
		return &ty_false;
	}
	le = gov_sch_entity_find(c->s, l->entity);
	re = gov_sch_entity_find(c->s, rt->entity);
	if (le >= 0 && re >= 0 && !gov_sch_entity_below(c->s, c->a, le, re))
		return &ty_false;
	return &ty_bool;
}

static const Ty *
tc_eq(TC *c, const GovPolExpr *e, const GovPolExprInfo *in, const Cap *caps)
{
	const Ty   *l = tc_kid(c, in->kids[0], caps);
	const Ty   *r;
	GovPolExprInfo li;
	GovPolExprInfo ri;

	if (l == NULL)
		return NULL;
	r = tc_kid(c, in->kids[1], caps);
	if (r == NULL)
		return NULL;
	gov_pol_expr_info(in->kids[0], &li);
	gov_pol_expr_info(in->kids[1], &ri);
	/* two literals: their comparison is known */
	if (li.kind == GOV_POL_E_LIT && ri.kind == GOV_POL_E_LIT &&
		li.lit->kind <= GOV_POL_ENTITY && ri.lit->kind <= GOV_POL_ENTITY)
		return lit_equal(li.lit, ri.lit) == (in->kind == GOV_POL_E_EQ) ? &ty_true : &ty_false;
	/* so is the action's, in a request environment */
	if (li.kind == GOV_POL_E_VAR && li.var == GOV_POL_VAR_ACTION &&
		ri.kind == GOV_POL_E_LIT && ri.lit->kind == GOV_POL_ENTITY)
	{
		int			a = literal_action(c, ri.lit);

		return (a == c->env->action) == (in->kind == GOV_POL_E_EQ) ? &ty_true : &ty_false;
	}
	if (ri.kind == GOV_POL_E_VAR && ri.var == GOV_POL_VAR_ACTION &&
		li.kind == GOV_POL_E_LIT && li.lit->kind == GOV_POL_ENTITY)
	{
		int			a = literal_action(c, li.lit);

		return (a == c->env->action) == (in->kind == GOV_POL_E_EQ) ? &ty_true : &ty_false;
	}
	if (l->kind == TY_ENTITY && r->kind == TY_ENTITY)
		return str_eq(l->entity, r->entity) ? &ty_bool :
			(in->kind == GOV_POL_E_EQ ? &ty_false : &ty_true);
	if (!compatible(l, r, 0))
	{
		incompatible(c, e, l, r);
		return NULL;
	}
	return &ty_bool;
}

static bool
is_comparable(const Ty *t)
{
	return t->kind == TY_LONG || t->kind == TY_DATETIME || t->kind == TY_DURATION;
}

/*
 * < <= > >=: Long, datetime or duration, both the same.  As Cedar's, the
 * message expects the other operand's type when that one is comparable.
 */
static const Ty *
tc_compare(TC *c, const GovPolExprInfo *in, const Cap *caps)
{
	const Ty   *l = tc_kid(c, in->kids[0], caps);
	const Ty   *r;
	char		want[TC_TYPE_TEXT];

	if (l == NULL)
		return NULL;
	r = tc_kid(c, in->kids[1], caps);
	if (r == NULL)
		return NULL;
	if (is_comparable(l) && is_comparable(r) && l->kind == r->kind)
		return &ty_bool;
	if (!is_comparable(l) || !is_comparable(r))
	{
		bool		left = !is_comparable(l);
		const Ty   *other = left ? r : l;

		if (is_comparable(other))
			ty_text(other, want, sizeof(want));
		else
			snprintf(want, sizeof(want), "datetime, or duration, or Long");
		unexpected(c, in->kids[left ? 0 : 1], want, left ? l : r);
		return NULL;
	}
	ty_text(r, want, sizeof(want));
	unexpected(c, in->kids[0], want, l);
	return NULL;
}

/* Cedar's extension functions and methods: argument and result types */
typedef struct ExtSig
{
	const char *name;
	TyKind		self;
	TyKind		other;
	uint32_t	arity;
	const Ty   *result;
} ExtSig;

static const ExtSig ext_sigs[] = {
	{"lessThan", TY_DECIMAL, TY_DECIMAL, 2, &ty_bool},
	{"lessThanOrEqual", TY_DECIMAL, TY_DECIMAL, 2, &ty_bool},
	{"greaterThan", TY_DECIMAL, TY_DECIMAL, 2, &ty_bool},
	{"greaterThanOrEqual", TY_DECIMAL, TY_DECIMAL, 2, &ty_bool},
	{"isIpv4", TY_IPADDR, TY_IPADDR, 1, &ty_bool},
	{"isIpv6", TY_IPADDR, TY_IPADDR, 1, &ty_bool},
	{"isLoopback", TY_IPADDR, TY_IPADDR, 1, &ty_bool},
	{"isMulticast", TY_IPADDR, TY_IPADDR, 1, &ty_bool},
	{"isInRange", TY_IPADDR, TY_IPADDR, 2, &ty_bool},
	{"offset", TY_DATETIME, TY_DURATION, 2, &ty_datetime},
	{"durationSince", TY_DATETIME, TY_DATETIME, 2, &ty_duration},
	{"toDate", TY_DATETIME, TY_DATETIME, 1, &ty_datetime},
	{"toTime", TY_DATETIME, TY_DATETIME, 1, &ty_datetime},
	{"toDays", TY_DURATION, TY_DURATION, 1, &ty_long},
	{"toHours", TY_DURATION, TY_DURATION, 1, &ty_long},
	{"toMinutes", TY_DURATION, TY_DURATION, 1, &ty_long},
	{"toSeconds", TY_DURATION, TY_DURATION, 1, &ty_long},
	{"toMilliseconds", TY_DURATION, TY_DURATION, 1, &ty_long},
};

static const char *
kind_text(TyKind k)
{
	switch (k)
	{
		case TY_DECIMAL:
			return "decimal";
		case TY_IPADDR:
			return "ipaddr";
		case TY_DATETIME:
			return "datetime";
		case TY_DURATION:
			return "duration";
		default:
			return "Long";
	}
}

static const Ty *
tc_ext(TC *c, const GovPolExpr *e, const GovPolExprInfo *in, const Cap *caps)
{
	uint32_t	i;

	if (!in->method)
	{
		GovPolExprInfo arg;

		/* a constructor of a valid literal was folded into a literal */
		if (in->nkids != 1)
		{
			tc_error(c, e, "wrong number of arguments in extension function application. Expected 1, got %u",
					 in->nkids);
			return NULL;
		}
		gov_pol_expr_info(in->kids[0], &arg);
		if (arg.kind != GOV_POL_E_LIT || arg.lit->kind != GOV_POL_STRING)
		{
			const Ty   *t = tc_kid(c, in->kids[0], caps);

			if (t != NULL && t->kind != TY_STRING)
				unexpected(c, in->kids[0], "String", t);
			else
				tc_error(c, e, "extension constructors may not be called with non-literal expressions");
			return NULL;
		}
		tc_error(c, e, "error during extension function argument validation: failed to parse as %s %.*s value: `\"%.*s\"`",
				 in->name.len > 0 && in->name.p[0] == 'i' ? "an" : "a", SHOWN(in->name),
				 SHOWN(arg.lit->u.s));
		return NULL;
	}
	for (i = 0; i < sizeof(ext_sigs) / sizeof(ext_sigs[0]); i++)
		if (str_is(in->name, ext_sigs[i].name))
		{
			const ExtSig *sig = &ext_sigs[i];

			if (in->nkids != sig->arity)
			{
				tc_error(c, e, "wrong number of arguments in extension function application. Expected %u, got %u",
						 sig->arity, in->nkids);
				return NULL;
			}
			if (!tc_want(c, in->kids[0], caps, sig->self, kind_text(sig->self), NULL))
				return NULL;
			if (sig->arity == 2 &&
				!tc_want(c, in->kids[1], caps, sig->other, kind_text(sig->other), NULL))
				return NULL;
			return sig->result;
		}
	tc_error(c, e, "unknown extension function %.*s", SHOWN(in->name));
	return NULL;
}

static const Ty *
tc_set_literal(TC *c, const GovPolExpr *e, const GovPolExprInfo *in, const Cap *caps)
{
	const Ty   *elem = NULL;
	Ty		   *t;
	uint32_t	i;

	if (in->nkids == 0)
	{
		tc_error(c, e, "empty set literals are forbidden in policies");
		return NULL;
	}
	for (i = 0; i < in->nkids; i++)
	{
		const Ty   *k = tc_kid(c, in->kids[i], caps);

		if (k == NULL)
			return NULL;
		if (elem != NULL && !compatible(elem, k, 0))
		{
			incompatible(c, e, elem, k);
			return NULL;
		}
		elem = elem ? join(elem, k) : (is_bool(k) ? &ty_bool : k);
	}
	t = tc_alloc(c, sizeof(Ty));
	if (t == NULL)
		return NULL;
	t->kind = TY_SET;
	t->elem = elem;
	return t;
}

static const Ty *
tc_record_literal(TC *c, const GovPolExprInfo *in, const Cap *caps)
{
	Ty		   *t = tc_alloc(c, sizeof(Ty));
	TyAttr	   *attrs;
	uint32_t	i;

	if (t == NULL)
		return NULL;
	t->kind = TY_RECORD;
	t->nattrs = in->nkids;
	attrs = tc_alloc(c, sizeof(TyAttr) * (in->nkids ? in->nkids : 1));
	if (attrs == NULL)
		return NULL;
	for (i = 0; i < in->nkids; i++)
	{
		attrs[i].name = in->keys[i];
		attrs[i].required = true;
		attrs[i].type = tc_kid(c, in->kids[i], caps);
		if (attrs[i].type == NULL)
			return NULL;
	}
	t->attrs = attrs;
	return t;
}

static const Ty *
tc_lit(TC *c, const GovPolValue *v)
{
	GovPolStr	t;
	const char *q;

	switch (v->kind)
	{
		case GOV_POL_BOOL:
			return v->u.b ? &ty_true : &ty_false;
		case GOV_POL_LONG:
			return &ty_long;
		case GOV_POL_STRING:
			return &ty_string;
		case GOV_POL_DECIMAL:
			return &ty_decimal;
		case GOV_POL_IPADDR:
			return &ty_ipaddr;
		case GOV_POL_DATETIME:
			return &ty_datetime;
		case GOV_POL_DURATION:
			return &ty_duration;
		case GOV_POL_ENTITY:
			/* Type::"id": the type is what precedes ::" */
			t.p = v->u.s.p;
			q = memchr(v->u.s.p, '"', v->u.s.len);
			t.len = q != NULL && q - v->u.s.p >= 2 ? (uint32_t) (q - v->u.s.p - 2) : 0;
			return entity_ty(c, t);
		default:
			tc_error(c, NULL, "a literal of an unexpected kind");
			return NULL;
	}
}

static const Ty *
tc_var(TC *c, GovPolVar var)
{
	const GovSchEnv *env = c->env;
	const GovSchType *ctx;
	Ty		   *t;

	switch (var)
	{
		case GOV_POL_VAR_PRINCIPAL:
			return entity_ty(c, gov_sch_entity_name(c->s, env->principal));
		case GOV_POL_VAR_RESOURCE:
			return entity_ty(c, gov_sch_entity_name(c->s, env->resource));
		case GOV_POL_VAR_ACTION:
			/* Action, or NS::Action for an action of namespace NS */
			return entity_ty(c, gov_sch_action_type(c->s, env->action));
		default:
			break;
	}
	if (c->contexts[env->action] == NULL)
	{
		GovPolStr	name = gov_sch_action_name(c->s, env->action);
		GovPolStr	type = gov_sch_action_type(c->s, env->action);
		const char *owner = tc_printf(c, "in context for %.*s::\"%.*s\"",
									  SHOWN(type), SHOWN(name));

		if (owner == NULL)
			return NULL;
		ctx = gov_sch_action_context(c->s, env->action);
		if (ctx != NULL)
			c->contexts[env->action] = from_schema(c, ctx, owner, "", 0);
		else
		{
			t = tc_alloc(c, sizeof(Ty));
			if (t == NULL)
				return NULL;
			t->kind = TY_RECORD;
			t->owner = owner;
			t->path = "";
			c->contexts[env->action] = t;
		}
	}
	return c->contexts[env->action];
}

static const Ty *
tc_expr(TC *c, const GovPolExpr *e, const Cap *caps, const Cap **eff)
{
	GovPolExprInfo in;
	const Ty   *t;
	const Ty   *u;
	uint32_t	i;

	*eff = NULL;
	if (c->failed)
		return NULL;
	gov_pol_expr_info(e, &in);
	switch (in.kind)
	{
		case GOV_POL_E_LIT:
			return tc_lit(c, in.lit);
		case GOV_POL_E_VAR:
			return tc_var(c, in.var);
		case GOV_POL_E_ATTR:
			return tc_attr(c, e, &in, caps);
		case GOV_POL_E_HAS:
			return tc_has(c, e, &in, caps, eff);
		case GOV_POL_E_EQ:
		case GOV_POL_E_NE:
			return tc_eq(c, e, &in, caps);
		case GOV_POL_E_LT:
		case GOV_POL_E_LE:
		case GOV_POL_E_GT:
		case GOV_POL_E_GE:
			return tc_compare(c, &in, caps);
		case GOV_POL_E_IN:
			return tc_in(c, &in, caps);
		case GOV_POL_E_LIKE:
			return tc_want(c, in.kids[0], caps, TY_STRING, "String", NULL) ? &ty_bool : NULL;
		case GOV_POL_E_AND:
		case GOV_POL_E_OR:
			return tc_and_or(c, &in, in.kind == GOV_POL_E_AND, caps, eff);
		case GOV_POL_E_NOT:
			t = tc_bool(c, in.kids[0], caps, eff);
			*eff = NULL;
			if (t == NULL)
				return NULL;
			return t->kind == TY_TRUE ? &ty_false : t->kind == TY_FALSE ? &ty_true : &ty_bool;
		case GOV_POL_E_NEG:
			return tc_want(c, in.kids[0], caps, TY_LONG, "Long", NULL) ? &ty_long : NULL;
		case GOV_POL_E_ADD:
		case GOV_POL_E_MUL:
			for (i = 0; i < in.nkids; i++)
				if (!tc_want(c, in.kids[i], caps, TY_LONG, "Long", NULL))
					return NULL;
			return &ty_long;
		case GOV_POL_E_IF:
			{
				const Cap  *ceff = NULL;
				const Cap  *teff = NULL;
				const Cap  *feff = NULL;
				const Ty   *ct = tc_bool(c, in.kids[0], caps, &ceff);

				if (ct == NULL)
					return NULL;
				/* a known condition: the other branch is never evaluated */
				if (ct->kind == TY_TRUE)
				{
					t = tc_expr(c, in.kids[1], cap_union(c, caps, ceff), &teff);
					*eff = cap_union(c, ceff, teff);
					return t;
				}
				if (ct->kind == TY_FALSE)
					return tc_expr(c, in.kids[2], caps, eff);
				t = tc_expr(c, in.kids[1], cap_union(c, caps, ceff), &teff);
				if (t == NULL)
					return NULL;
				u = tc_expr(c, in.kids[2], caps, &feff);
				if (u == NULL)
					return NULL;
				if (!compatible(t, u, 0))
				{
					incompatible(c, e, t, u);
					return NULL;
				}
				*eff = cap_meet(c, cap_union(c, ceff, teff), feff);
				return join(t, u);
			}
		case GOV_POL_E_SET:
			return tc_set_literal(c, e, &in, caps);
		case GOV_POL_E_RECORD:
			return tc_record_literal(c, &in, caps);
		case GOV_POL_E_CONTAINS:
			{
				const Ty   *set;

				if (!tc_want(c, in.kids[0], caps, TY_SET, "Set", &set))
					return NULL;
				t = tc_kid(c, in.kids[1], caps);
				if (t == NULL)
					return NULL;
				if (!compatible(set->elem, t, 0))
				{
					incompatible(c, e, t, set->elem);
					return NULL;
				}
				return &ty_bool;
			}
		case GOV_POL_E_CONTAINS_ALL:
		case GOV_POL_E_CONTAINS_ANY:
			if (!tc_want(c, in.kids[0], caps, TY_SET, "Set", &t) ||
				!tc_want(c, in.kids[1], caps, TY_SET, "Set", &u))
				return NULL;
			if (!compatible(t, u, 0))
			{
				incompatible(c, e, u, t);
				return NULL;
			}
			return &ty_bool;
		case GOV_POL_E_IS_EMPTY:
			return tc_want(c, in.kids[0], caps, TY_SET, "Set", NULL) ? &ty_bool : NULL;
		case GOV_POL_E_IS:
			if (!tc_want(c, in.kids[0], caps, TY_ENTITY, "an entity", &t))
				return NULL;
			return str_eq(t->entity, in.name) ? &ty_true : &ty_false;
		case GOV_POL_E_HAS_TAG:
		case GOV_POL_E_GET_TAG:
			return tc_tag(c, e, &in, caps, eff);
		case GOV_POL_E_EXT:
			return tc_ext(c, e, &in, caps);
	}
	tc_error(c, e, "an expression of an unexpected kind");
	return NULL;
}

/* ---------------------------------------------------------------------
 * Declared names (checked in every condition, evaluated or not)
 * ---------------------------------------------------------------------
 */

static bool
check_names(TC *c, const GovPolExpr *e)
{
	GovPolExprInfo in;
	uint32_t	i;
	int			k;

	gov_pol_expr_info(e, &in);
	if (in.kind == GOV_POL_E_LIT && in.lit->kind == GOV_POL_ENTITY)
	{
		const Ty   *t = tc_lit(c, in.lit);

		if (t == NULL)
			return false;
		if (gov_sch_is_action_type(t->entity))
		{
			if (gov_sch_action_find(c->s, in.lit->u.s) < 0)
			{
				tc_error(c, e, "unrecognized action %.*s", SHOWN(in.lit->u.s));
				return false;
			}
		}
		else if ((k = gov_sch_entity_find(c->s, t->entity)) < 0)
		{
			tc_error(c, e, "unrecognized entity type %.*s", SHOWN(t->entity));
			return false;
		}
		else if (!gov_sch_entity_id_ok(c->s, k, in.lit->u.s))
		{
			/* an enumerated type: only the ids it lists are entities */
			tc_error(c, e, "entity %.*s is not one of the enumerated entities of type %.*s",
					 SHOWN(in.lit->u.s), SHOWN(t->entity));
			return false;
		}
	}
	if (in.kind == GOV_POL_E_IS && !gov_sch_is_action_type(in.name) &&
		gov_sch_entity_find(c->s, in.name) < 0)
	{
		tc_error(c, e, "unrecognized entity type %.*s", SHOWN(in.name));
		return false;
	}
	for (i = 0; i < in.nkids; i++)
		if (!check_names(c, in.kids[i]))
			return false;
	return true;
}

bool
gov_tc_check_policy(const GovSchema *s, GovPolArena *scratch, const GovPolicy *p,
					GovPolError *err)
{
	TC			c;
	GovSchEnv  *envs;
	uint32_t	nenvs;
	uint32_t	ncond = gov_pol_cond_count(p);
	uint32_t	i;
	uint32_t	j;
	int			maxact = 0;

	memset(err, 0, sizeof(GovPolError));
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.a = scratch;
	c.p = p;
	c.err = err;
	if (!gov_sch_policy_envs(s, scratch, p, &envs, &nenvs, err))
		return false;
	for (i = 0; i < nenvs; i++)
		if (envs[i].action >= maxact)
			maxact = envs[i].action + 1;
	c.shapes = tc_alloc(&c, sizeof(Ty *) * (gov_sch_entity_count(s) + 1));
	c.tags = tc_alloc(&c, sizeof(Ty *) * (gov_sch_entity_count(s) + 1));
	c.contexts = tc_alloc(&c, sizeof(Ty *) * (maxact + 1));
	if (c.shapes == NULL || c.tags == NULL || c.contexts == NULL)
		return false;
	for (j = 0; j < ncond; j++)
	{
		bool		when;

		if (!check_names(&c, gov_pol_cond(p, j, &when)))
			return false;
	}
	for (i = 0; i < nenvs; i++)
	{
		const Cap  *caps = NULL;

		c.env = &envs[i];
		/* the conditions are one conjunction: "unless { e }" is !e */
		for (j = 0; j < ncond; j++)
		{
			bool		when;
			const GovPolExpr *e = gov_pol_cond(p, j, &when);
			const Cap  *eff = NULL;
			const Ty   *t = tc_bool(&c, e, caps, &eff);

			if (t == NULL)
				return false;
			if (when)
				caps = cap_union(&c, caps, eff);
			if (t->kind == (when ? TY_FALSE : TY_TRUE))
				break;
		}
		if (c.failed)
			return false;
	}
	return true;
}
