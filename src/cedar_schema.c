/*-------------------------------------------------------------------------
 *
 * cedar_schema.c
 *	  Cedar schemas (issue 17 step 5): parser of Cedar's human-readable
 *	  schema format (the namespace-less subset of docs/POLICY.md section 9)
 *	  and the validation of policies and entities against a schema.
 *
 *	  Pure C99, no PostgreSQL headers (like policy_lang.c): memory comes
 *	  from a GovPolArena and errors are returned as values.  Recursion is
 *	  bounded by GOV_POL_MAX_NESTING (nested types).
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cedar_schema.h"

#if defined(__GNUC__)
#define SCH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SCH_PRINTF(f, a)
#endif

#define SCH_MAX_NAME 64			/* characters of a name shown in a message */

typedef enum SchKind
{
	SK_LONG,
	SK_STRING,
	SK_BOOL,
	SK_SET,
	SK_RECORD,
	SK_ENTITY,
	SK_DECIMAL,
	SK_IPADDR,
	SK_DATETIME,
	SK_DURATION
} SchKind;

typedef struct SchType SchType;
typedef struct SchAttr SchAttr;

struct SchType
{
	SchKind		kind;
	GovPolStr	name;			/* SK_ENTITY: the entity type */
	int			line;			/* where it is written */
	int			col;
	const SchType *elem;		/* SK_SET */
	uint32_t	nattrs;			/* SK_RECORD */
	SchAttr    *attrs;
};

struct SchAttr
{
	GovPolStr	name;
	bool		required;
	SchType    *type;
};

typedef struct NameList
{
	uint32_t	n;
	GovPolStr  *names;
	int		   *lines;
	int		   *cols;
} NameList;

typedef struct SchEntity
{
	GovPolStr	name;
	NameList	parents;		/* entity types */
	SchType    *shape;			/* a record, or NULL for none */
} SchEntity;

typedef struct SchAction
{
	GovPolStr	name;			/* the id, without Action::"" */
	NameList	parents;		/* action ids */
	bool		applies;		/* has appliesTo */
	NameList	principals;
	NameList	resources;
	SchType    *context;		/* a record, or NULL for none */
} SchAction;

struct GovSchema
{
	uint32_t	nentities;
	SchEntity  *entities;
	uint32_t	nactions;
	SchAction  *actions;
};

/* ---------------------------------------------------------------------
 * Lexer and parser
 * ---------------------------------------------------------------------
 */

typedef enum STok
{
	ST_EOF,
	ST_IDENT,
	ST_STRING,
	ST_PUNCT,					/* one of { } [ ] < > , ; : ? = */
	ST_COLONCOLON,
	ST_BAD
} STok;

typedef struct SParser
{
	GovPolArena *arena;
	const char *src;
	size_t		len;
	size_t		pos;
	int			line;
	int			col;
	/* the current token */
	STok		kind;
	const char *start;
	size_t		tlen;
	int			tline;
	int			tcol;
	GovPolError *err;
	bool		failed;
	/* growing arrays */
	uint32_t	cap_entities;
	uint32_t	cap_actions;
	GovSchema  *s;
} SParser;

static void s_error_at(SParser *P, int line, int col, const char *fmt,...) SCH_PRINTF(4, 5);

static void
s_error_at(SParser *P, int line, int col, const char *fmt,...)
{
	va_list		ap;
	int			k;

	if (P->failed)
		return;
	P->failed = true;
	P->err->line = line;
	P->err->column = col;
	k = snprintf(P->err->message, GOV_POL_ERRMSG_LEN, "schema line %d, column %d: ", line, col);
	if (k < 0 || k >= GOV_POL_ERRMSG_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(P->err->message + k, GOV_POL_ERRMSG_LEN - k, fmt, ap);
	va_end(ap);
}

static void
s_bump(SParser *P)
{
	unsigned char c = (unsigned char) P->src[P->pos];

	P->pos++;
	if (c == '\n')
	{
		P->line++;
		P->col = 1;
	}
	else if ((c & 0xC0) != 0x80)
		P->col++;
}

static bool
s_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
s_ident_char(int c)
{
	return s_ident_start(c) || (c >= '0' && c <= '9');
}

/* Advance to the next token (skipping blanks and // comments). */
static void
s_next(SParser *P)
{
	char		c;

	for (;;)
	{
		if (P->pos >= P->len)
			break;
		c = P->src[P->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			s_bump(P);
		else if (c == '/' && P->pos + 1 < P->len && P->src[P->pos + 1] == '/')
		{
			while (P->pos < P->len && P->src[P->pos] != '\n')
				s_bump(P);
		}
		else
			break;
	}
	P->start = P->src + P->pos;
	P->tline = P->line;
	P->tcol = P->col;
	if (P->pos >= P->len)
	{
		P->kind = ST_EOF;
		P->tlen = 0;
		return;
	}
	c = P->src[P->pos];
	if (s_ident_start((unsigned char) c))
	{
		while (P->pos < P->len && s_ident_char((unsigned char) P->src[P->pos]))
			s_bump(P);
		P->kind = ST_IDENT;
	}
	else if (c == '"')
	{
		s_bump(P);
		while (P->pos < P->len && P->src[P->pos] != '"')
		{
			if (P->src[P->pos] == '\\' || P->src[P->pos] == '\0')
			{
				s_error_at(P, P->line, P->col,
						   "escapes are not supported in schema strings");
				P->kind = ST_BAD;
				return;
			}
			s_bump(P);
		}
		if (P->pos >= P->len)
		{
			s_error_at(P, P->tline, P->tcol, "unterminated string");
			P->kind = ST_BAD;
			return;
		}
		s_bump(P);
		P->kind = ST_STRING;
	}
	else if (c == ':' && P->pos + 1 < P->len && P->src[P->pos + 1] == ':')
	{
		s_bump(P);
		s_bump(P);
		P->kind = ST_COLONCOLON;
	}
	else if (strchr("{}[]<>,;:?=", c) != NULL)
	{
		s_bump(P);
		P->kind = ST_PUNCT;
	}
	else
	{
		s_error_at(P, P->tline, P->tcol, "unexpected character '%c'",
				   (c >= 32 && c < 127) ? c : '?');
		P->kind = ST_BAD;
		return;
	}
	P->tlen = (size_t) (P->src + P->pos - P->start);
}

static bool
s_is(SParser *P, const char *text)
{
	size_t		n = strlen(text);

	return P->kind != ST_EOF && P->kind != ST_BAD && P->tlen == n &&
		memcmp(P->start, text, n) == 0;
}

static void
s_expected(SParser *P, const char *what)
{
	if (P->kind == ST_EOF)
		s_error_at(P, P->tline, P->tcol, "expected %s, found the end of the schema", what);
	else
		s_error_at(P, P->tline, P->tcol, "expected %s, found \"%.*s\"", what,
				   (int) (P->tlen > SCH_MAX_NAME ? SCH_MAX_NAME : P->tlen), P->start);
}

static bool
s_expect(SParser *P, const char *punct, const char *what)
{
	if (P->failed)
		return false;
	if (!s_is(P, punct) || P->kind == ST_STRING)
	{
		s_expected(P, what);
		return false;
	}
	s_next(P);
	return !P->failed;
}

static void *
s_alloc(SParser *P, size_t size)
{
	void	   *p = gov_pol_alloc(P->arena, size);

	if (p == NULL)
		s_error_at(P, P->tline, P->tcol, "schema too large");
	else
		memset(p, 0, size);
	return p;
}

static bool
s_grow(SParser *P, void **items, uint32_t n, uint32_t *cap, size_t size)
{
	void	   *bigger;

	if (n < *cap)
		return true;
	if (*cap > 1u << 20)
	{
		s_error_at(P, P->tline, P->tcol, "schema too large");
		return false;
	}
	bigger = s_alloc(P, size * (*cap ? *cap * 2 : 8));
	if (bigger == NULL)
		return false;
	if (n > 0)
		memcpy(bigger, *items, size * n);
	*items = bigger;
	*cap = *cap ? *cap * 2 : 8;
	return true;
}

static bool
str_is(GovPolStr s, const char *text)
{
	size_t		n = strlen(text);

	return s.len == n && memcmp(s.p, text, n) == 0;
}

static bool
str_eq(GovPolStr a, GovPolStr b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static bool
is_reserved_decl(SParser *P)
{
	return s_is(P, "namespace") || s_is(P, "type");
}

/* Ident {"::" Ident}: an entity type name (or a primitive's name). */
static bool
s_path(SParser *P, GovPolStr *out)
{
	const char *start = P->start;
	const char *end;

	if (P->kind != ST_IDENT)
	{
		s_expected(P, "a type name");
		return false;
	}
	end = P->start + P->tlen;
	s_next(P);
	while (P->kind == ST_COLONCOLON)
	{
		s_next(P);
		if (P->kind != ST_IDENT)
		{
			s_expected(P, "an identifier after \"::\"");
			return false;
		}
		end = P->start + P->tlen;
		s_next(P);
	}
	if (P->failed)
		return false;
	out->p = start;
	out->len = (uint32_t) (end - start);
	return true;
}

/* An attribute or action name: an identifier or a string (without quotes). */
static bool
s_name(SParser *P, GovPolStr *out, const char *what)
{
	if (P->kind == ST_IDENT)
	{
		out->p = P->start;
		out->len = (uint32_t) P->tlen;
	}
	else if (P->kind == ST_STRING)
	{
		out->p = P->start + 1;
		out->len = (uint32_t) P->tlen - 2;
	}
	else
	{
		s_expected(P, what);
		return false;
	}
	s_next(P);
	return !P->failed;
}

static SchType *s_type(SParser *P, int depth);

/* "{" [Name ["?"] ":" Type {"," ...} [","]] "}" */
static SchType *
s_record(SParser *P, int depth)
{
	SchType    *t = s_alloc(P, sizeof(SchType));
	uint32_t	cap = 0;
	uint32_t	i;

	if (t == NULL)
		return NULL;
	t->kind = SK_RECORD;
	t->line = P->tline;
	t->col = P->tcol;
	if (!s_expect(P, "{", "\"{\""))
		return NULL;
	while (!(P->kind == ST_PUNCT && s_is(P, "}")))
	{
		SchAttr    *a;
		int			line = P->tline;
		int			col = P->tcol;

		if (!s_grow(P, (void **) &t->attrs, t->nattrs, &cap, sizeof(SchAttr)))
			return NULL;
		a = &t->attrs[t->nattrs];
		if (!s_name(P, &a->name, "an attribute name or \"}\""))
			return NULL;
		for (i = 0; i < t->nattrs; i++)
			if (str_eq(t->attrs[i].name, a->name))
			{
				s_error_at(P, line, col, "attribute \"%.*s\" declared twice",
						   (int) (a->name.len > SCH_MAX_NAME ? SCH_MAX_NAME : a->name.len),
						   a->name.p);
				return NULL;
			}
		a->required = true;
		if (P->kind == ST_PUNCT && s_is(P, "?"))
		{
			a->required = false;
			s_next(P);
		}
		if (!s_expect(P, ":", "\":\" or \"?:\""))
			return NULL;
		a->type = s_type(P, depth + 1);
		if (a->type == NULL)
			return NULL;
		t->nattrs++;
		if (P->kind == ST_PUNCT && s_is(P, ","))
		{
			s_next(P);
			continue;
		}
		if (!(P->kind == ST_PUNCT && s_is(P, "}")))
		{
			s_expected(P, "\",\" or \"}\"");
			return NULL;
		}
	}
	s_next(P);
	return P->failed ? NULL : t;
}

static SchType *
s_type(SParser *P, int depth)
{
	SchType    *t;
	GovPolStr	name;
	int			line = P->tline;
	int			col = P->tcol;

	if (P->failed)
		return NULL;
	if (depth > GOV_POL_MAX_NESTING)
	{
		s_error_at(P, line, col, "type nested too deeply (the limit is %d levels)",
				   GOV_POL_MAX_NESTING);
		return NULL;
	}
	if (P->kind == ST_PUNCT && s_is(P, "{"))
		return s_record(P, depth);
	if (!s_path(P, &name))
		return NULL;
	t = s_alloc(P, sizeof(SchType));
	if (t == NULL)
		return NULL;
	t->line = line;
	t->col = col;
	if (str_is(name, "Long") || str_is(name, "__cedar::Long"))
		t->kind = SK_LONG;
	else if (str_is(name, "String") || str_is(name, "__cedar::String"))
		t->kind = SK_STRING;
	else if (str_is(name, "Bool") || str_is(name, "__cedar::Bool"))
		t->kind = SK_BOOL;
	else if (str_is(name, "decimal") || str_is(name, "__cedar::decimal"))
		t->kind = SK_DECIMAL;
	else if (str_is(name, "ipaddr") || str_is(name, "__cedar::ipaddr"))
		t->kind = SK_IPADDR;
	else if (str_is(name, "datetime") || str_is(name, "__cedar::datetime"))
		t->kind = SK_DATETIME;
	else if (str_is(name, "duration") || str_is(name, "__cedar::duration"))
		t->kind = SK_DURATION;
	else if (str_is(name, "Set") || str_is(name, "__cedar::Set"))
	{
		t->kind = SK_SET;
		if (!s_expect(P, "<", "\"<\" after Set"))
			return NULL;
		t->elem = s_type(P, depth + 1);
		if (t->elem == NULL || !s_expect(P, ">", "\">\""))
			return NULL;
	}
	else
	{
		/* an entity type, resolved once every declaration is read */
		t->kind = SK_ENTITY;
		t->name = name;
	}
	return t;
}

/* Name | "[" [Name {"," Name} [","]] "]": entity types or action names */
static bool
s_list(SParser *P, NameList *out, bool actions)
{
	uint32_t	cap = 0;
	bool		bracket = P->kind == ST_PUNCT && s_is(P, "[");

	memset(out, 0, sizeof(NameList));
	if (bracket)
		s_next(P);
	while (!(bracket && P->kind == ST_PUNCT && s_is(P, "]")))
	{
		uint32_t	c2 = cap;
		uint32_t	c3 = cap;
		int			line = P->tline;
		int			col = P->tcol;
		GovPolStr	name;

		if (!s_grow(P, (void **) &out->names, out->n, &cap, sizeof(GovPolStr)) ||
			!s_grow(P, (void **) &out->lines, out->n, &c2, sizeof(int)) ||
			!s_grow(P, (void **) &out->cols, out->n, &c3, sizeof(int)))
			return false;
		if (actions)
		{
			if (!s_name(P, &name, "an action name"))
				return false;
		}
		else if (!s_path(P, &name))
			return false;
		out->names[out->n] = name;
		out->lines[out->n] = line;
		out->cols[out->n] = col;
		out->n++;
		if (!bracket)
			return true;
		if (P->kind == ST_PUNCT && s_is(P, ","))
		{
			s_next(P);
			continue;
		}
		if (!(P->kind == ST_PUNCT && s_is(P, "]")))
		{
			s_expected(P, "\",\" or \"]\"");
			return false;
		}
	}
	s_next(P);
	return !P->failed;
}

/* entity Name {"," Name} ["in" List] ["="] [Record] ";" */
static bool
s_entity_decl(SParser *P)
{
	GovSchema  *s = P->s;
	NameList	names;
	NameList	parents;
	SchType    *shape = NULL;
	uint32_t	i;

	s_next(P);
	memset(&parents, 0, sizeof(parents));
	{
		uint32_t	cap = 0,
					c2 = 0,
					c3 = 0;

		memset(&names, 0, sizeof(names));
		for (;;)
		{
			int			line = P->tline;
			int			col = P->tcol;

			if (!s_grow(P, (void **) &names.names, names.n, &cap, sizeof(GovPolStr)) ||
				!s_grow(P, (void **) &names.lines, names.n, &c2, sizeof(int)) ||
				!s_grow(P, (void **) &names.cols, names.n, &c3, sizeof(int)))
				return false;
			if (P->kind != ST_IDENT)
			{
				s_expected(P, "an entity type name");
				return false;
			}
			names.names[names.n].p = P->start;
			names.names[names.n].len = (uint32_t) P->tlen;
			names.lines[names.n] = line;
			names.cols[names.n] = col;
			names.n++;
			s_next(P);
			if (P->kind == ST_COLONCOLON)
			{
				s_error_at(P, P->tline, P->tcol,
						   "a qualified entity type name needs a namespace, which is not supported");
				return false;
			}
			if (P->kind == ST_PUNCT && s_is(P, ","))
			{
				s_next(P);
				continue;
			}
			break;
		}
	}
	if (P->kind == ST_IDENT && s_is(P, "in"))
	{
		s_next(P);
		if (!s_list(P, &parents, false))
			return false;
	}
	if (P->kind == ST_PUNCT && s_is(P, "="))
		s_next(P);
	if (P->kind == ST_PUNCT && s_is(P, "{"))
	{
		shape = s_record(P, 0);
		if (shape == NULL)
			return false;
	}
	if (P->kind == ST_IDENT && (s_is(P, "tags") || s_is(P, "enum")))
	{
		s_error_at(P, P->tline, P->tcol, "entity %.*s are not supported in schemas",
				   (int) P->tlen, P->start);
		return false;
	}
	if (!s_expect(P, ";", "\";\""))
		return false;
	for (i = 0; i < names.n; i++)
	{
		uint32_t	j;
		SchEntity  *e;

		for (j = 0; j < s->nentities; j++)
			if (str_eq(s->entities[j].name, names.names[i]))
			{
				s_error_at(P, names.lines[i], names.cols[i], "entity type %.*s declared twice",
						   (int) names.names[i].len, names.names[i].p);
				return false;
			}
		if (!s_grow(P, (void **) &s->entities, s->nentities, &P->cap_entities, sizeof(SchEntity)))
			return false;
		e = &s->entities[s->nentities++];
		e->name = names.names[i];
		e->parents = parents;
		e->shape = shape;
	}
	return true;
}

/*
 * action Name {"," Name} ["in" List] ["appliesTo" "{" principal: List,
 * resource: List [, context: Record] "}"] ";"
 */
static bool
s_action_decl(SParser *P)
{
	GovSchema  *s = P->s;
	NameList	names;
	SchAction	a;
	uint32_t	i;
	int			line;
	int			col;

	memset(&a, 0, sizeof(a));
	s_next(P);
	if (!s_list(P, &names, true))
		return false;
	while (P->kind == ST_PUNCT && s_is(P, ","))
	{
		NameList	more;
		uint32_t	cap = names.n,
					c2 = names.n,
					c3 = names.n;

		s_next(P);
		if (!s_list(P, &more, true))
			return false;
		if (!s_grow(P, (void **) &names.names, names.n, &cap, sizeof(GovPolStr)) ||
			!s_grow(P, (void **) &names.lines, names.n, &c2, sizeof(int)) ||
			!s_grow(P, (void **) &names.cols, names.n, &c3, sizeof(int)))
			return false;
		names.names[names.n] = more.names[0];
		names.lines[names.n] = more.lines[0];
		names.cols[names.n] = more.cols[0];
		names.n++;
	}
	if (P->kind == ST_IDENT && s_is(P, "in"))
	{
		s_next(P);
		if (!s_list(P, &a.parents, true))
			return false;
	}
	if (P->kind == ST_IDENT && s_is(P, "appliesTo"))
	{
		bool		seen_p = false;
		bool		seen_r = false;
		bool		seen_c = false;

		line = P->tline;
		col = P->tcol;
		s_next(P);
		a.applies = true;
		if (!s_expect(P, "{", "\"{\" after appliesTo"))
			return false;
		while (!(P->kind == ST_PUNCT && s_is(P, "}")))
		{
			int			kl = P->tline;
			int			kc = P->tcol;

			if (P->kind == ST_IDENT && s_is(P, "principal") && !seen_p)
			{
				s_next(P);
				seen_p = true;
				if (!s_expect(P, ":", "\":\"") || !s_list(P, &a.principals, false))
					return false;
			}
			else if (P->kind == ST_IDENT && s_is(P, "resource") && !seen_r)
			{
				s_next(P);
				seen_r = true;
				if (!s_expect(P, ":", "\":\"") || !s_list(P, &a.resources, false))
					return false;
			}
			else if (P->kind == ST_IDENT && s_is(P, "context") && !seen_c)
			{
				s_next(P);
				seen_c = true;
				if (!s_expect(P, ":", "\":\""))
					return false;
				if (!(P->kind == ST_PUNCT && s_is(P, "{")))
				{
					s_error_at(P, P->tline, P->tcol,
							   "the context must be a record type { ... }");
					return false;
				}
				a.context = s_record(P, 0);
				if (a.context == NULL)
					return false;
			}
			else
			{
				if (P->kind == ST_IDENT &&
					(s_is(P, "principal") || s_is(P, "resource") || s_is(P, "context")))
					s_error_at(P, kl, kc, "%.*s appears twice in appliesTo",
							   (int) P->tlen, P->start);
				else
					s_expected(P, "principal, resource, context or \"}\"");
				return false;
			}
			if (P->kind == ST_PUNCT && s_is(P, ","))
			{
				s_next(P);
				continue;
			}
			if (!(P->kind == ST_PUNCT && s_is(P, "}")))
			{
				s_expected(P, "\",\" or \"}\"");
				return false;
			}
		}
		s_next(P);
		if (!seen_p || !seen_r)
		{
			s_error_at(P, line, col, "appliesTo must declare both principal and resource types");
			return false;
		}
	}
	if (!s_expect(P, ";", "\";\""))
		return false;
	for (i = 0; i < names.n; i++)
	{
		uint32_t	j;

		for (j = 0; j < s->nactions; j++)
			if (str_eq(s->actions[j].name, names.names[i]))
			{
				s_error_at(P, names.lines[i], names.cols[i], "action \"%.*s\" declared twice",
						   (int) (names.names[i].len > SCH_MAX_NAME ? SCH_MAX_NAME : names.names[i].len),
						   names.names[i].p);
				return false;
			}
		if (!s_grow(P, (void **) &s->actions, s->nactions, &P->cap_actions, sizeof(SchAction)))
			return false;
		a.name = names.names[i];
		s->actions[s->nactions++] = a;
	}
	return true;
}

static int
find_entity(const GovSchema *s, GovPolStr name)
{
	uint32_t	i;

	for (i = 0; i < s->nentities; i++)
		if (str_eq(s->entities[i].name, name))
			return (int) i;
	return -1;
}

static int
find_action(const GovSchema *s, GovPolStr name)
{
	uint32_t	i;

	for (i = 0; i < s->nactions; i++)
		if (str_eq(s->actions[i].name, name))
			return (int) i;
	return -1;
}

static bool
resolve_type(SParser *P, const SchType *t)
{
	uint32_t	i;

	if (t->kind == SK_ENTITY && find_entity(P->s, t->name) < 0)
	{
		s_error_at(P, t->line, t->col, "unknown type %.*s",
				   (int) (t->name.len > SCH_MAX_NAME ? SCH_MAX_NAME : t->name.len), t->name.p);
		return false;
	}
	if (t->kind == SK_SET)
		return resolve_type(P, t->elem);
	if (t->kind == SK_RECORD)
		for (i = 0; i < t->nattrs; i++)
			if (!resolve_type(P, t->attrs[i].type))
				return false;
	return true;
}

static bool
resolve_list(SParser *P, const NameList *l, bool actions)
{
	uint32_t	i;

	for (i = 0; i < l->n; i++)
		if ((actions ? find_action(P->s, l->names[i]) : find_entity(P->s, l->names[i])) < 0)
		{
			s_error_at(P, l->lines[i], l->cols[i], actions ? "unknown action \"%.*s\"" :
					   "unknown entity type %.*s",
					   (int) (l->names[i].len > SCH_MAX_NAME ? SCH_MAX_NAME : l->names[i].len),
					   l->names[i].p);
			return false;
		}
	return true;
}

bool
gov_sch_parse(GovPolArena *arena, const char *src, size_t len, GovSchema **out,
			  GovPolError *err)
{
	SParser		P;
	uint32_t	i;

	memset(&P, 0, sizeof(P));
	memset(err, 0, sizeof(GovPolError));
	P.arena = arena;
	P.src = src;
	P.len = len;
	P.line = 1;
	P.col = 1;
	P.err = err;
	if (memchr(src, '\0', len) != NULL)
	{
		s_error_at(&P, 1, 1, "the schema contains a NUL byte");
		return false;
	}
	P.s = s_alloc(&P, sizeof(GovSchema));
	if (P.s == NULL)
		return false;
	s_next(&P);
	while (!P.failed && P.kind != ST_EOF)
	{
		if (P.kind == ST_IDENT && s_is(&P, "entity"))
			s_entity_decl(&P);
		else if (P.kind == ST_IDENT && s_is(&P, "action"))
			s_action_decl(&P);
		else if (P.kind == ST_IDENT && is_reserved_decl(&P))
			s_error_at(&P, P.tline, P.tcol, "\"%.*s\" declarations are not supported (docs/POLICY.md section 9)",
					   (int) P.tlen, P.start);
		else if (P.kind == ST_PUNCT && s_is(&P, "@"))
			s_error_at(&P, P.tline, P.tcol, "annotations are not supported in schemas");
		else
			s_expected(&P, "\"entity\" or \"action\"");
	}
	for (i = 0; !P.failed && i < P.s->nentities; i++)
	{
		resolve_list(&P, &P.s->entities[i].parents, false);
		if (!P.failed && P.s->entities[i].shape)
			resolve_type(&P, P.s->entities[i].shape);
	}
	for (i = 0; !P.failed && i < P.s->nactions; i++)
	{
		const SchAction *a = &P.s->actions[i];

		resolve_list(&P, &a->parents, true);
		if (!P.failed)
			resolve_list(&P, &a->principals, false);
		if (!P.failed)
			resolve_list(&P, &a->resources, false);
		if (!P.failed && a->context)
			resolve_type(&P, a->context);
	}
	if (P.failed)
		return false;
	*out = P.s;
	return true;
}

/* ---------------------------------------------------------------------
 * Validation
 * ---------------------------------------------------------------------
 */

static void v_error(GovPolError *err, int line, int col, const char *fmt,...) SCH_PRINTF(4, 5);

static void
v_error(GovPolError *err, int line, int col, const char *fmt,...)
{
	va_list		ap;
	int			k = 0;

	err->line = line;
	err->column = col;
	if (line > 0)
		k = snprintf(err->message, GOV_POL_ERRMSG_LEN, "line %d, column %d: ", line, col);
	if (k < 0 || k >= GOV_POL_ERRMSG_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(err->message + k, GOV_POL_ERRMSG_LEN - k, fmt, ap);
	va_end(ap);
}

/* The type of a canonical uid Type::"id" (without the "::"). */
static GovPolStr
uid_type(GovPolStr uid)
{
	GovPolStr	t = {uid.p, 0};
	const char *q = memchr(uid.p, '"', uid.len);

	if (q != NULL && q - uid.p >= 2)
		t.len = (uint32_t) (q - uid.p - 2);
	return t;
}

/* The id of Action::"id" (unescaped only when it holds no escape). */
static bool
action_id(GovPolStr uid, GovPolStr *id)
{
	GovPolStr	t = uid_type(uid);

	if (!str_is(t, "Action"))
		return false;
	id->p = uid.p + t.len + 3;
	id->len = uid.len - t.len - 4;
	return true;
}

/* Can an entity of type a be a descendant of (or be) one of type b? */
static bool
type_below(const GovSchema *s, int a, int b, uint8_t *seen)
{
	uint32_t	i;

	if (a == b)
		return true;
	if (seen[a])
		return false;
	seen[a] = 1;
	for (i = 0; i < s->entities[a].parents.n; i++)
	{
		int			p = find_entity(s, s->entities[a].parents.names[i]);

		if (p >= 0 && type_below(s, p, b, seen))
			return true;
	}
	return false;
}

/* Is action a (or one of its ancestors) b? */
static bool
action_below(const GovSchema *s, int a, int b, uint8_t *seen)
{
	uint32_t	i;

	if (a == b)
		return true;
	if (seen[a])
		return false;
	seen[a] = 1;
	for (i = 0; i < s->actions[a].parents.n; i++)
	{
		int			p = find_action(s, s->actions[a].parents.names[i]);

		if (p >= 0 && action_below(s, p, b, seen))
			return true;
	}
	return false;
}

#define SHOWN(str) (int) ((str).len > SCH_MAX_NAME ? SCH_MAX_NAME : (str).len), (str).p

/*
 * The entity types a principal or resource scope admits, as flags in ok
 * (one per declared entity type).
 */
static bool
scope_types(const GovSchema *s, const GovPolScopeInfo *sc, uint8_t *ok, uint8_t *seen,
			GovPolError *err)
{
	uint32_t	i;
	int			is = -1;
	int			target = -1;

	if (sc->is_type.len > 0)
	{
		is = find_entity(s, sc->is_type);
		if (is < 0)
		{
			v_error(err, sc->line, sc->col, "unrecognized entity type %.*s", SHOWN(sc->is_type));
			return false;
		}
	}
	if (sc->kind != GOV_POL_SCOPE_ANY && !sc->slot)
	{
		GovPolStr	t = uid_type(sc->uids[0]);

		target = find_entity(s, t);
		if (target < 0)
		{
			v_error(err, sc->line, sc->col, "unrecognized entity type %.*s", SHOWN(t));
			return false;
		}
	}
	for (i = 0; i < s->nentities; i++)
	{
		ok[i] = 1;
		if (is >= 0 && (int) i != is)
			ok[i] = 0;
		if (target >= 0 && sc->kind == GOV_POL_SCOPE_EQ && (int) i != target)
			ok[i] = 0;
		if (target >= 0 && sc->kind == GOV_POL_SCOPE_IN)
		{
			memset(seen, 0, s->nentities);
			if (!type_below(s, (int) i, target, seen))
				ok[i] = 0;
		}
	}
	return true;
}

static bool
list_has(const GovSchema *s, const NameList *l, int entity)
{
	uint32_t	i;

	for (i = 0; i < l->n; i++)
		if (find_entity(s, l->names[i]) == entity)
			return true;
	return false;
}

static const SchAttr *
record_attr(const SchType *rec, GovPolStr name)
{
	uint32_t	i;

	if (rec == NULL)
		return NULL;
	for (i = 0; i < rec->nattrs; i++)
		if (str_eq(rec->attrs[i].name, name))
			return &rec->attrs[i];
	return NULL;
}

typedef struct Check
{
	const GovSchema *s;
	const uint8_t *acts;		/* admissible actions */
	const uint8_t *ptypes;		/* admissible principal types (applicable) */
	const uint8_t *rtypes;
	GovPolError *err;
} Check;

static bool
check_ref(void *arg, GovPolRefKind kind, GovPolVar var, GovPolStr name, int line, int col)
{
	Check	   *c = arg;
	const GovSchema *s = c->s;
	uint32_t	i;

	if (kind == GOV_POL_REF_ENTITY)
	{
		GovPolStr	t = uid_type(name);
		GovPolStr	id;

		if (action_id(name, &id))
		{
			if (find_action(s, id) < 0)
			{
				v_error(c->err, line, col, "unrecognized action %.*s", SHOWN(name));
				return false;
			}
		}
		else if (find_entity(s, t) < 0)
		{
			v_error(c->err, line, col, "unrecognized entity type %.*s", SHOWN(t));
			return false;
		}
		return true;
	}
	if (kind == GOV_POL_REF_TYPE)
	{
		if (!str_is(name, "Action") && find_entity(s, name) < 0)
		{
			v_error(c->err, line, col, "unrecognized entity type %.*s", SHOWN(name));
			return false;
		}
		return true;
	}
	if (var == GOV_POL_VAR_CONTEXT)
	{
		for (i = 0; i < s->nactions; i++)
			if (c->acts[i] && record_attr(s->actions[i].context, name) == NULL)
			{
				v_error(c->err, line, col,
						"attribute %.*s in context for action Action::\"%.*s\" not found",
						SHOWN(name), SHOWN(s->actions[i].name));
				return false;
			}
		return true;
	}
	if (var == GOV_POL_VAR_ACTION)
	{
		v_error(c->err, line, col, "attribute %.*s on an action not found (actions have no attributes)",
				SHOWN(name));
		return false;
	}
	for (i = 0; i < s->nentities; i++)
	{
		const uint8_t *ok = var == GOV_POL_VAR_PRINCIPAL ? c->ptypes : c->rtypes;

		if (ok[i] && record_attr(s->entities[i].shape, name) == NULL)
		{
			v_error(c->err, line, col, "attribute %.*s on entity type %.*s not found",
					SHOWN(name), SHOWN(s->entities[i].name));
			return false;
		}
	}
	return true;
}

bool
gov_sch_check_policy(const GovSchema *s, GovPolArena *scratch, const GovPolicy *p,
					 GovPolError *err)
{
	GovPolScopeInfo ps;
	GovPolScopeInfo as;
	GovPolScopeInfo rs;
	uint8_t    *pok;
	uint8_t    *rok;
	uint8_t    *aok;
	uint8_t    *pused;
	uint8_t    *rused;
	uint8_t    *seen;
	size_t		ne = s->nentities + 1;
	size_t		na = s->nactions + 1;
	uint32_t	i;
	uint32_t	j;
	bool		any = false;
	Check		c;

	memset(err, 0, sizeof(GovPolError));
	gov_pol_scope_info(p, GOV_POL_VAR_PRINCIPAL, &ps);
	gov_pol_scope_info(p, GOV_POL_VAR_ACTION, &as);
	gov_pol_scope_info(p, GOV_POL_VAR_RESOURCE, &rs);
	pok = gov_pol_alloc(scratch, ne);
	rok = gov_pol_alloc(scratch, ne);
	pused = gov_pol_alloc(scratch, ne);
	rused = gov_pol_alloc(scratch, ne);
	aok = gov_pol_alloc(scratch, na);
	seen = gov_pol_alloc(scratch, ne > na ? ne : na);
	if (!pok || !rok || !aok || !seen || !pused || !rused)
	{
		v_error(err, 0, 0, "schema validation ran out of memory");
		return false;
	}
	if (!scope_types(s, &ps, pok, seen, err) || !scope_types(s, &rs, rok, seen, err))
		return false;

	/* the actions the scope admits */
	for (j = 0; j < as.n || (as.kind == GOV_POL_SCOPE_ANY && j == 0); j++)
	{
		GovPolStr	id;
		int			target = -1;

		if (as.kind != GOV_POL_SCOPE_ANY)
		{
			if (!action_id(as.uids[j], &id) || (target = find_action(s, id)) < 0)
			{
				v_error(err, as.line, as.col, "unrecognized action %.*s", SHOWN(as.uids[j]));
				return false;
			}
		}
		for (i = 0; i < s->nactions; i++)
		{
			if (j == 0)
				aok[i] = 0;
			if (as.kind == GOV_POL_SCOPE_ANY || (int) i == target)
				aok[i] = 1;
			else if (as.kind != GOV_POL_SCOPE_EQ)
			{
				memset(seen, 0, na);
				if (action_below(s, (int) i, target, seen))
					aok[i] = 1;
			}
		}
	}
	if (as.kind == GOV_POL_SCOPE_IN_SET && as.n == 0)
		memset(aok, 0, na);

	/*
	 * Keep the actions that apply to some admissible principal and resource
	 * type, and the types some kept action applies to.
	 */
	memset(pused, 0, ne);
	memset(rused, 0, ne);
	for (i = 0; i < s->nactions; i++)
	{
		bool		pfit = false;
		bool		rfit = false;
		uint32_t	k;

		if (!aok[i])
			continue;
		for (k = 0; k < s->nentities; k++)
		{
			if (pok[k] && list_has(s, &s->actions[i].principals, (int) k))
				pfit = true;
			if (rok[k] && list_has(s, &s->actions[i].resources, (int) k))
				rfit = true;
		}
		if (!pfit || !rfit)
		{
			aok[i] = 0;
			continue;
		}
		any = true;
		for (k = 0; k < s->nentities; k++)
		{
			if (pok[k] && list_has(s, &s->actions[i].principals, (int) k))
				pused[k] = 1;
			if (rok[k] && list_has(s, &s->actions[i].resources, (int) k))
				rused[k] = 1;
		}
	}
	if (!any)
	{
		v_error(err, as.line, as.col,
				"unable to find an applicable action given the policy scope constraints");
		return false;
	}
	c.s = s;
	c.acts = aok;
	c.ptypes = pused;
	c.rtypes = rused;
	c.err = err;
	return gov_pol_walk_refs(p, check_ref, &c);
}

static const char *
sch_kind_name(SchKind k)
{
	switch (k)
	{
		case SK_LONG:
			return "Long";
		case SK_STRING:
			return "String";
		case SK_BOOL:
			return "Bool";
		case SK_SET:
			return "a set";
		case SK_RECORD:
			return "a record";
		case SK_ENTITY:
			return "an entity";
		case SK_DECIMAL:
			return "decimal";
		case SK_IPADDR:
			return "ipaddr";
		case SK_DATETIME:
			return "datetime";
		case SK_DURATION:
			return "duration";
	}
	return "?";
}

static bool check_value(const GovSchema *s, const SchType *t, const GovPolValue *v,
						GovPolStr attr, GovPolError *err, int depth);

static bool
check_record(const GovSchema *s, const SchType *t, const GovPolValue *v,
			 GovPolStr attr, GovPolError *err, int depth)
{
	uint32_t	i;
	uint32_t	j;

	for (i = 0; i < t->nattrs; i++)
	{
		const GovPolValue *found = NULL;

		for (j = 0; j < v->u.rec.n; j++)
			if (v->u.rec.fields[j].key.len == t->attrs[i].name.len &&
				memcmp(v->u.rec.fields[j].key.p, t->attrs[i].name.p, t->attrs[i].name.len) == 0)
				found = &v->u.rec.fields[j].value;
		if (found == NULL)
		{
			if (t->attrs[i].required)
			{
				v_error(err, 0, 0, "required attribute %.*s is missing%s%.*s",
						SHOWN(t->attrs[i].name), attr.len ? " in " : "", SHOWN(attr));
				return false;
			}
			continue;
		}
		if (!check_value(s, t->attrs[i].type, found, t->attrs[i].name, err, depth + 1))
			return false;
	}
	for (j = 0; j < v->u.rec.n; j++)
		if (record_attr(t, v->u.rec.fields[j].key) == NULL)
		{
			v_error(err, 0, 0, "attribute %.*s is not declared%s%.*s",
					SHOWN(v->u.rec.fields[j].key), attr.len ? " in " : "", SHOWN(attr));
			return false;
		}
	return true;
}

static bool
check_value(const GovSchema *s, const SchType *t, const GovPolValue *v, GovPolStr attr,
			GovPolError *err, int depth)
{
	GovPolKind	want;
	uint32_t	i;

	if (depth > GOV_POL_MAX_NESTING)
	{
		v_error(err, 0, 0, "attribute %.*s is nested too deeply", SHOWN(attr));
		return false;
	}
	switch (t->kind)
	{
		case SK_LONG:
			want = GOV_POL_LONG;
			break;
		case SK_STRING:
			want = GOV_POL_STRING;
			break;
		case SK_BOOL:
			want = GOV_POL_BOOL;
			break;
		case SK_SET:
			want = GOV_POL_SET;
			break;
		case SK_RECORD:
			want = GOV_POL_RECORD;
			break;
		case SK_ENTITY:
			want = GOV_POL_ENTITY;
			break;
		case SK_DECIMAL:
			want = GOV_POL_DECIMAL;
			break;
		case SK_IPADDR:
			want = GOV_POL_IPADDR;
			break;
		case SK_DATETIME:
			want = GOV_POL_DATETIME;
			break;
		default:
			want = GOV_POL_DURATION;
			break;
	}
	if (v->kind != want)
	{
		v_error(err, 0, 0, "attribute %.*s should be %s%s%.*s, found %s",
				SHOWN(attr), sch_kind_name(t->kind),
				t->kind == SK_ENTITY ? " of type " : "",
				t->kind == SK_ENTITY ? (int) t->name.len : 0, t->name.p ? t->name.p : "",
				gov_pol_kind_name(v->kind));
		return false;
	}
	if (t->kind == SK_ENTITY && !str_eq(uid_type(v->u.s), t->name))
	{
		GovPolStr	vt = uid_type(v->u.s);

		v_error(err, 0, 0, "attribute %.*s should be an entity of type %.*s, found one of type %.*s",
				SHOWN(attr), SHOWN(t->name), SHOWN(vt));
		return false;
	}
	if (t->kind == SK_SET)
		for (i = 0; i < v->u.set.n; i++)
			if (!check_value(s, t->elem, &v->u.set.items[i], attr, err, depth + 1))
				return false;
	if (t->kind == SK_RECORD)
		return check_record(s, t, v, attr, err, depth + 1);
	return true;
}

bool
gov_sch_check_entity(const GovSchema *s, const char *uid, size_t uidlen,
					 const GovPolStr *parents, uint32_t nparents,
					 const GovPolValue *attrs, GovPolError *err)
{
	GovPolStr	u = {uid, (uint32_t) uidlen};
	GovPolStr	t = uid_type(u);
	GovPolStr	none = {"", 0};
	int			e;
	uint32_t	i;

	memset(err, 0, sizeof(GovPolError));
	if (str_is(t, "Action"))
	{
		GovPolStr	id;

		if (action_id(u, &id) && find_action(s, id) >= 0)
			return true;
		v_error(err, 0, 0, "action %.*s is not declared in the schema", SHOWN(u));
		return false;
	}
	e = find_entity(s, t);
	if (e < 0)
	{
		v_error(err, 0, 0, "entity type %.*s is not declared in the schema", SHOWN(t));
		return false;
	}
	for (i = 0; i < nparents; i++)
	{
		GovPolStr	pt = uid_type(parents[i]);
		int			pe = find_entity(s, pt);

		if (pe < 0 || !list_has(s, &s->entities[e].parents, pe))
		{
			v_error(err, 0, 0, "an entity of type %.*s cannot have a parent of type %.*s",
					SHOWN(t), SHOWN(pt));
			return false;
		}
	}
	if (s->entities[e].shape == NULL)
	{
		if (attrs != NULL && attrs->kind == GOV_POL_RECORD && attrs->u.rec.n > 0)
		{
			v_error(err, 0, 0, "attribute %.*s is not declared for entity type %.*s",
					SHOWN(attrs->u.rec.fields[0].key), SHOWN(t));
			return false;
		}
		return true;
	}
	if (attrs == NULL || attrs->kind != GOV_POL_RECORD)
	{
		GovPolValue empty;

		memset(&empty, 0, sizeof(empty));
		empty.kind = GOV_POL_RECORD;
		return check_record(s, s->entities[e].shape, &empty, none, err, 0);
	}
	return check_record(s, s->entities[e].shape, attrs, none, err, 0);
}

/* ---------------------------------------------------------------------
 * Read-only access for the type checker (cedar_typecheck.c)
 *
 * Kept apart from the parser and gov_sch_check_policy, at the end of the
 * file, so that the two can change independently.
 * ---------------------------------------------------------------------
 */

/* gov_sch_type_info relies on the public kinds following the parser's */
typedef char sch_kinds_match[(int) SK_DURATION == (int) GOV_SCH_DURATION &&
							 (int) SK_ENTITY == (int) GOV_SCH_ENTITY ? 1 : -1];

void
gov_sch_type_info(const GovSchType *t, GovSchTypeInfo *out)
{
	const SchType *st = (const SchType *) t;

	out->kind = (GovSchKind) st->kind;
	out->name = st->name;
	out->elem = (const GovSchType *) st->elem;
	out->nattrs = st->nattrs;
}

const GovSchType *
gov_sch_type_attr(const GovSchType *rec, uint32_t i, GovPolStr *name, bool *required)
{
	const SchType *st = (const SchType *) rec;

	*name = st->attrs[i].name;
	*required = st->attrs[i].required;
	return (const GovSchType *) st->attrs[i].type;
}

uint32_t
gov_sch_entity_count(const GovSchema *s)
{
	return s->nentities;
}

int
gov_sch_entity_find(const GovSchema *s, GovPolStr name)
{
	return find_entity(s, name);
}

GovPolStr
gov_sch_entity_name(const GovSchema *s, int e)
{
	return s->entities[e].name;
}

const GovSchType *
gov_sch_entity_shape(const GovSchema *s, int e)
{
	return (const GovSchType *) s->entities[e].shape;
}

int
gov_sch_action_find(const GovSchema *s, GovPolStr id)
{
	return find_action(s, id);
}

GovPolStr
gov_sch_action_name(const GovSchema *s, int a)
{
	return s->actions[a].name;
}

const GovSchType *
gov_sch_action_context(const GovSchema *s, int a)
{
	return (const GovSchType *) s->actions[a].context;
}

/*
 * The request environments of a policy's scope: the same analysis as
 * gov_sch_check_policy's (which refuses a scope with none), listing each
 * (action, principal type, resource type) the scope admits and the
 * action applies to.
 */
bool
gov_sch_policy_envs(const GovSchema *s, GovPolArena *scratch, const GovPolicy *p,
					GovSchEnv **out, uint32_t *count, GovPolError *err)
{
	GovPolScopeInfo ps;
	GovPolScopeInfo as;
	GovPolScopeInfo rs;
	uint8_t    *pok;
	uint8_t    *rok;
	uint8_t    *aok;
	uint8_t    *seen;
	size_t		ne = s->nentities + 1;
	size_t		na = s->nactions + 1;
	uint32_t	i;
	uint32_t	j;
	uint32_t	n = 0;
	size_t		cap = 0;
	GovSchEnv  *envs = NULL;

	memset(err, 0, sizeof(GovPolError));
	*out = NULL;
	*count = 0;
	gov_pol_scope_info(p, GOV_POL_VAR_PRINCIPAL, &ps);
	gov_pol_scope_info(p, GOV_POL_VAR_ACTION, &as);
	gov_pol_scope_info(p, GOV_POL_VAR_RESOURCE, &rs);
	pok = gov_pol_alloc(scratch, ne);
	rok = gov_pol_alloc(scratch, ne);
	aok = gov_pol_alloc(scratch, na);
	seen = gov_pol_alloc(scratch, ne > na ? ne : na);
	if (!pok || !rok || !aok || !seen)
	{
		v_error(err, 0, 0, "schema validation ran out of memory");
		return false;
	}
	if (!scope_types(s, &ps, pok, seen, err) || !scope_types(s, &rs, rok, seen, err))
		return false;
	memset(aok, 0, na);
	for (j = 0; j < as.n || (as.kind == GOV_POL_SCOPE_ANY && j == 0); j++)
	{
		GovPolStr	id;
		int			target = -1;

		if (as.kind != GOV_POL_SCOPE_ANY)
		{
			if (!action_id(as.uids[j], &id) || (target = find_action(s, id)) < 0)
			{
				v_error(err, as.line, as.col, "unrecognized action %.*s", SHOWN(as.uids[j]));
				return false;
			}
		}
		for (i = 0; i < s->nactions; i++)
		{
			if (as.kind == GOV_POL_SCOPE_ANY || (int) i == target)
				aok[i] = 1;
			else if (as.kind != GOV_POL_SCOPE_EQ)
			{
				memset(seen, 0, na);
				if (action_below(s, (int) i, target, seen))
					aok[i] = 1;
			}
		}
	}
	for (i = 0; i < s->nactions; i++)
	{
		uint32_t	k;
		uint32_t	r;

		if (!aok[i])
			continue;
		for (k = 0; k < s->nentities; k++)
		{
			if (!pok[k] || !list_has(s, &s->actions[i].principals, (int) k))
				continue;
			for (r = 0; r < s->nentities; r++)
			{
				if (!rok[r] || !list_has(s, &s->actions[i].resources, (int) r))
					continue;
				if (n == cap)
				{
					GovSchEnv  *bigger;

					if (cap > (1u << 24))
					{
						v_error(err, 0, 0, "the policy applies to too many request types");
						return false;
					}
					bigger = gov_pol_alloc(scratch, sizeof(GovSchEnv) * (cap ? cap * 2 : 16));
					if (bigger == NULL)
					{
						v_error(err, 0, 0, "schema validation ran out of memory");
						return false;
					}
					if (n > 0)
						memcpy(bigger, envs, sizeof(GovSchEnv) * n);
					envs = bigger;
					cap = cap ? cap * 2 : 16;
				}
				envs[n].action = (int) i;
				envs[n].principal = (int) k;
				envs[n].resource = (int) r;
				n++;
			}
		}
	}
	if (n == 0)
	{
		v_error(err, as.line, as.col,
				"unable to find an applicable action given the policy scope constraints");
		return false;
	}
	*out = envs;
	*count = n;
	return true;
}

/* Can an entity of type a be (or be a descendant of) one of type b? */
bool
gov_sch_entity_below(const GovSchema *s, GovPolArena *scratch, int a, int b)
{
	uint8_t    *seen = gov_pol_alloc(scratch, s->nentities + 1);

	if (seen == NULL)
		return true;			/* the caller only loses precision */
	memset(seen, 0, s->nentities + 1);
	return type_below(s, a, b, seen);
}

/* Is action a, or one of its ancestors, action b? */
bool
gov_sch_action_below(const GovSchema *s, GovPolArena *scratch, int a, int b)
{
	uint8_t    *seen = gov_pol_alloc(scratch, s->nactions + 1);

	if (seen == NULL)
		return true;
	memset(seen, 0, s->nactions + 1);
	return action_below(s, a, b, seen);
}
