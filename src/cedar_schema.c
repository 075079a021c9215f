/*-------------------------------------------------------------------------
 *
 * cedar_schema.c
 *	  Cedar schemas (issue 17): parsers of Cedar's human-readable schema
 *	  format and of its JSON schema format (docs/POLICY.md section 9), with
 *	  namespaces, common types, entity tags and enumerated entity types,
 *	  and the validation of policies, entities and requests against a
 *	  schema.
 *
 *	  Both formats are read into the same structures: names of entity
 *	  types (and of action types, NS::Action) are stored fully qualified,
 *	  common types are resolved away (a reference becomes a copy of the
 *	  type it names), so that the checks below never see a namespace.
 *
 *	  Pure C99, no PostgreSQL headers (like policy_lang.c): memory comes
 *	  from a GovPolArena and errors are returned as values.  Recursion is
 *	  bounded by GOV_POL_MAX_NESTING (nested types, JSON nesting, chains
 *	  of common types).
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

/* deepest JSON document: a type level takes about three JSON levels */
#define SCH_MAX_JSON_DEPTH (3 * GOV_POL_MAX_NESTING + 8)

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

/* SchType.pending: how a name written in a type is still to be resolved */
#define SCH_RESOLVED	0
#define SCH_PENDING_ANY	1		/* a common type, an entity type or a builtin */
#define SCH_PENDING_ENTITY 2	/* an entity type (JSON "Entity") */
#define SCH_PENDING_EXT 3		/* an extension type (JSON "Extension") */

typedef struct SchType SchType;
typedef struct SchAttr SchAttr;

struct SchType
{
	SchKind		kind;
	GovPolStr	name;			/* SK_ENTITY: the entity type (qualified) */
	int			line;			/* where it is written */
	int			col;
	const SchType *elem;		/* SK_SET */
	uint32_t	nattrs;			/* SK_RECORD */
	SchAttr    *attrs;
	/* while parsing only: a name to resolve in namespace ns */
	uint8_t		pending;
	GovPolStr	ns;
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
	GovPolStr  *names;			/* entity types (qualified once resolved) */
	int		   *lines;
	int		   *cols;
	GovPolStr  *types;			/* action lists: each action's type, or an
								 * empty string for the namespace's own
								 * Action; qualified once resolved */
	GovPolStr	ns;				/* the namespace the list is written in */
} NameList;

typedef struct SchEntity
{
	GovPolStr	name;
	NameList	parents;		/* entity types */
	SchType    *shape;			/* a record, or NULL for none */
	SchType    *tags;			/* the type of its tags, or NULL for none */
	uint32_t	nenum;			/* an enumerated type: its entity ids */
	GovPolStr  *enums;
} SchEntity;

typedef struct SchAction
{
	GovPolStr	name;			/* the id, without Action::"" */
	NameList	parents;		/* action ids (parents.types: their types) */
	bool		applies;		/* has appliesTo */
	NameList	principals;
	NameList	resources;
	SchType    *context;		/* a record, or NULL for none */
	GovPolStr	type;			/* its entity type: Action or NS::Action */
} SchAction;

typedef struct SchCommon
{
	GovPolStr	name;			/* qualified */
	SchType    *type;
	int			state;			/* 0 unresolved, 1 being resolved, 2 done */
	int			line;
	int			col;
} SchCommon;

struct GovSchema
{
	uint32_t	nentities;
	SchEntity  *entities;
	uint32_t	nactions;
	SchAction  *actions;
	uint32_t	ncommons;
	SchCommon  *commons;
	/* a hash index of the three arrays: slot = kind << 28 | (index + 1) */
	uint32_t	hcap;			/* a power of two, or 0 */
	uint32_t	hcount;
	uint32_t   *hslots;
};

#define H_ENTITY 1u
#define H_COMMON 2u
#define H_ACTION 3u
#define H_INDEX_MASK ((1u << 28) - 1)

/* ---------------------------------------------------------------------
 * Lexer and parser of the human-readable format
 * ---------------------------------------------------------------------
 */

typedef enum STok
{
	ST_EOF,
	ST_IDENT,
	ST_STRING,
	ST_PUNCT,					/* one of { } [ ] < > , ; : ? = @ ( ) */
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
	GovPolStr	tstr;			/* ST_STRING: its value, escapes decoded */
	GovPolError *err;
	bool		failed;
	/* growing arrays */
	uint32_t	cap_entities;
	uint32_t	cap_actions;
	uint32_t	cap_commons;
	GovSchema  *s;
	GovPolStr	ns;				/* the namespace being read ("" for none) */
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

#define SHOWN(str) (int) ((str).len > SCH_MAX_NAME ? SCH_MAX_NAME : (str).len), (str).p

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

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append code point cp as UTF-8; false for a surrogate or one too large. */
static bool
put_utf8(char *out, uint32_t *n, uint32_t cp)
{
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return false;
	if (cp < 0x80)
		out[(*n)++] = (char) cp;
	else if (cp < 0x800)
	{
		out[(*n)++] = (char) (0xC0 | (cp >> 6));
		out[(*n)++] = (char) (0x80 | (cp & 0x3F));
	}
	else if (cp < 0x10000)
	{
		out[(*n)++] = (char) (0xE0 | (cp >> 12));
		out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char) (0x80 | (cp & 0x3F));
	}
	else if (cp <= 0x10FFFF)
	{
		out[(*n)++] = (char) (0xF0 | (cp >> 18));
		out[(*n)++] = (char) (0x80 | ((cp >> 12) & 0x3F));
		out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char) (0x80 | (cp & 0x3F));
	}
	else
		return false;
	return true;
}

/*
 * A string literal at P->pos (its opening quote), escapes decoded as Cedar
 * decodes them: \n \r \t \\ \0 \' \" \xHH (at most \x7f) and \u{H...}
 * (one to six hex digits, a Unicode scalar value).
 */
static bool
s_string(SParser *P)
{
	size_t		end = P->pos + 1;
	char	   *buf;
	uint32_t	n = 0;

	/* the decoded value is never longer than the source */
	while (end < P->len && P->src[end] != '"')
		end += P->src[end] == '\\' && end + 1 < P->len ? 2 : 1;
	if (end >= P->len)
	{
		s_error_at(P, P->tline, P->tcol, "unterminated string");
		return false;
	}
	buf = s_alloc(P, end - P->pos + 1);
	if (buf == NULL)
		return false;
	s_bump(P);
	while (P->src[P->pos] != '"')
	{
		char		c = P->src[P->pos];
		int			line = P->line;
		int			col = P->col;

		if (c != '\\')
		{
			buf[n++] = c;
			s_bump(P);
			continue;
		}
		s_bump(P);
		c = P->src[P->pos];
		s_bump(P);
		switch (c)
		{
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case '0':
				buf[n++] = '\0';
				break;
			case '\\':
			case '\'':
			case '"':
				buf[n++] = c;
				break;
			case 'x':
				{
					int			h1 = P->pos < end ? hex_digit((unsigned char) P->src[P->pos]) : -1;
					int			h2 = P->pos + 1 < end ? hex_digit((unsigned char) P->src[P->pos + 1]) : -1;

					if (h1 < 0 || h2 < 0 || h1 > 7)
					{
						s_error_at(P, line, col, "invalid escape: \\x takes two hex digits, at most \\x7f");
						return false;
					}
					s_bump(P);
					s_bump(P);
					buf[n++] = (char) (h1 * 16 + h2);
					break;
				}
			case 'u':
				{
					uint32_t	cp = 0;
					int			digits = 0;

					if (P->pos >= end || P->src[P->pos] != '{')
					{
						s_error_at(P, line, col, "invalid escape: \\u takes the form \\u{...}");
						return false;
					}
					s_bump(P);
					while (P->pos < end && hex_digit((unsigned char) P->src[P->pos]) >= 0 && digits < 7)
					{
						cp = cp * 16 + (uint32_t) hex_digit((unsigned char) P->src[P->pos]);
						digits++;
						s_bump(P);
					}
					if (digits == 0 || digits > 6 || P->pos >= end || P->src[P->pos] != '}' ||
						!put_utf8(buf, &n, cp))
					{
						s_error_at(P, line, col, "invalid escape: \\u{...} takes one to six hex digits naming a Unicode scalar value");
						return false;
					}
					s_bump(P);
					break;
				}
			default:
				s_error_at(P, line, col, "invalid escape \\%c", (c >= 32 && c < 127) ? c : '?');
				return false;
		}
	}
	s_bump(P);
	P->tstr.p = buf;
	P->tstr.len = n;
	return true;
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
		if (!s_string(P))
		{
			P->kind = ST_BAD;
			return;
		}
		P->kind = ST_STRING;
	}
	else if (c == ':' && P->pos + 1 < P->len && P->src[P->pos + 1] == ':')
	{
		s_bump(P);
		s_bump(P);
		P->kind = ST_COLONCOLON;
	}
	else if (strchr("{}[]<>,;:?=@()", c) != NULL)
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

	return P->kind != ST_EOF && P->kind != ST_BAD && P->kind != ST_STRING &&
		P->tlen == n && memcmp(P->start, text, n) == 0;
}

static bool
s_punct(SParser *P, const char *text)
{
	return P->kind == ST_PUNCT && s_is(P, text);
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
	if (!s_is(P, punct))
	{
		s_expected(P, what);
		return false;
	}
	s_next(P);
	return !P->failed;
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
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool
str_has(GovPolStr s, const char *needle)
{
	size_t		n = strlen(needle);
	uint32_t	i;

	for (i = 0; i + n <= s.len; i++)
		if (memcmp(s.p + i, needle, n) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------------
 * The hash index of names: declarations are found in constant time, so
 * that a schema of many thousand declarations parses and validates fast.
 * ---------------------------------------------------------------------
 */

static uint32_t
h_hash(uint32_t kind, GovPolStr a, GovPolStr b)
{
	uint32_t	h = 2166136261u ^ kind;
	uint32_t	i;

	for (i = 0; i < a.len; i++)
		h = (h ^ (unsigned char) a.p[i]) * 16777619u;
	h = (h ^ 0xFFu) * 16777619u;
	for (i = 0; i < b.len; i++)
		h = (h ^ (unsigned char) b.p[i]) * 16777619u;
	return h;
}

/* The key of a slot's declaration. */
static void
h_key(const GovSchema *s, uint32_t slot, GovPolStr *a, GovPolStr *b)
{
	uint32_t	i = (slot & H_INDEX_MASK) - 1;

	b->p = "";
	b->len = 0;
	switch (slot >> 28)
	{
		case H_ENTITY:
			*a = s->entities[i].name;
			break;
		case H_COMMON:
			*a = s->commons[i].name;
			break;
		default:
			*a = s->actions[i].type;
			*b = s->actions[i].name;
			break;
	}
}

static int
h_find(const GovSchema *s, uint32_t kind, GovPolStr a, GovPolStr b)
{
	uint32_t	i;

	if (s->hcap == 0)
		return -1;
	for (i = h_hash(kind, a, b) & (s->hcap - 1);; i = (i + 1) & (s->hcap - 1))
	{
		uint32_t	slot = s->hslots[i];
		GovPolStr	ka;
		GovPolStr	kb;

		if (slot == 0)
			return -1;
		if (slot >> 28 != kind)
			continue;
		h_key(s, slot, &ka, &kb);
		if (str_eq(ka, a) && str_eq(kb, b))
			return (int) ((slot & H_INDEX_MASK) - 1);
	}
}

static void
h_put(GovSchema *s, uint32_t slot)
{
	GovPolStr	a;
	GovPolStr	b;
	uint32_t	i;

	h_key(s, slot, &a, &b);
	for (i = h_hash(slot >> 28, a, b) & (s->hcap - 1); s->hslots[i] != 0; i = (i + 1) & (s->hcap - 1))
		;
	s->hslots[i] = slot;
}

/* Index declaration index of kind (already in its array). */
static bool
h_insert(SParser *P, uint32_t kind, uint32_t index)
{
	GovSchema  *s = P->s;

	if ((s->hcount + 1) * 2 > s->hcap)
	{
		uint32_t	oldcap = s->hcap;
		uint32_t   *old = s->hslots;
		uint32_t	i;

		s->hslots = s_alloc(P, sizeof(uint32_t) * (oldcap ? oldcap * 2 : 64));
		if (s->hslots == NULL)
			return false;
		s->hcap = oldcap ? oldcap * 2 : 64;
		for (i = 0; i < oldcap; i++)
			if (old[i] != 0)
				h_put(s, old[i]);
	}
	h_put(s, kind << 28 | (index + 1));
	s->hcount++;
	return true;
}

/* ns::name (name alone in the empty namespace), in the arena */
static GovPolStr
s_qualify(SParser *P, GovPolStr ns, GovPolStr name)
{
	GovPolStr	q = name;
	char	   *buf;

	if (ns.len == 0)
		return q;
	buf = s_alloc(P, ns.len + 2 + name.len + 1);
	if (buf == NULL)
		return q;
	memcpy(buf, ns.p, ns.len);
	memcpy(buf + ns.len, "::", 2);
	memcpy(buf + ns.len + 2, name.p, name.len);
	q.p = buf;
	q.len = ns.len + 2 + name.len;
	return q;
}

/* Add a name to a list (the three or four parallel arrays grow together). */
static bool
list_add(SParser *P, NameList *l, uint32_t *cap, GovPolStr name, GovPolStr type,
		 bool typed, int line, int col)
{
	uint32_t	c2 = *cap;
	uint32_t	c3 = *cap;
	uint32_t	c4 = *cap;

	if (!s_grow(P, (void **) &l->lines, l->n, &c2, sizeof(int)) ||
		!s_grow(P, (void **) &l->cols, l->n, &c3, sizeof(int)) ||
		(typed && !s_grow(P, (void **) &l->types, l->n, &c4, sizeof(GovPolStr))) ||
		!s_grow(P, (void **) &l->names, l->n, cap, sizeof(GovPolStr)))
		return false;
	l->names[l->n] = name;
	l->lines[l->n] = line;
	l->cols[l->n] = col;
	if (typed)
		l->types[l->n] = type;
	l->n++;
	return true;
}

/* Ident {"::" Ident}: a type name, as written. */
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

/* An attribute or action name: an identifier or a string (decoded). */
static bool
s_name(SParser *P, GovPolStr *out, const char *what)
{
	if (P->kind == ST_IDENT)
	{
		out->p = P->start;
		out->len = (uint32_t) P->tlen;
	}
	else if (P->kind == ST_STRING)
		*out = P->tstr;
	else
	{
		s_expected(P, what);
		return false;
	}
	s_next(P);
	return !P->failed;
}

/* {"@" Ident ["(" String ")"]}: annotations, accepted and ignored */
static bool
s_annotations(SParser *P)
{
	while (s_punct(P, "@"))
	{
		s_next(P);
		if (P->kind != ST_IDENT)
		{
			s_expected(P, "an annotation name after \"@\"");
			return false;
		}
		s_next(P);
		if (s_punct(P, "("))
		{
			s_next(P);
			if (P->kind != ST_STRING)
			{
				s_expected(P, "a string in the annotation");
				return false;
			}
			s_next(P);
			if (!s_expect(P, ")", "\")\""))
				return false;
		}
	}
	return !P->failed;
}

static SchType *s_type(SParser *P, int depth);

/* "{" [Annotations Name ["?"] ":" Type {"," ...} [","]] "}" */
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
	for (;;)
	{
		SchAttr    *a;
		int			line;
		int			col;

		if (!s_annotations(P))
			return NULL;
		if (s_punct(P, "}"))
			break;
		line = P->tline;
		col = P->tcol;
		if (!s_grow(P, (void **) &t->attrs, t->nattrs, &cap, sizeof(SchAttr)))
			return NULL;
		a = &t->attrs[t->nattrs];
		if (!s_name(P, &a->name, "an attribute name or \"}\""))
			return NULL;
		for (i = 0; i < t->nattrs; i++)
			if (str_eq(t->attrs[i].name, a->name))
			{
				s_error_at(P, line, col, "attribute \"%.*s\" declared twice", SHOWN(a->name));
				return NULL;
			}
		a->required = true;
		if (s_punct(P, "?"))
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
		if (s_punct(P, ","))
		{
			s_next(P);
			continue;
		}
		if (!s_punct(P, "}"))
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
	if (s_punct(P, "{"))
		return s_record(P, depth);
	if (!s_path(P, &name))
		return NULL;
	t = s_alloc(P, sizeof(SchType));
	if (t == NULL)
		return NULL;
	t->line = line;
	t->col = col;
	if (str_is(name, "Set") || str_is(name, "__cedar::Set"))
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
		/*
		 * a common type, an entity type or a builtin, resolved once every
		 * declaration is read
		 */
		t->kind = SK_ENTITY;
		t->name = name;
		t->pending = SCH_PENDING_ANY;
		t->ns = P->ns;
	}
	return t;
}

/* Name | "[" [Name {"," Name} [","]] "]": entity types */
static bool
s_list(SParser *P, NameList *out)
{
	uint32_t	cap = 0;
	bool		bracket = s_punct(P, "[");
	GovPolStr	none = {"", 0};

	memset(out, 0, sizeof(NameList));
	out->ns = P->ns;
	if (bracket)
		s_next(P);
	while (!(bracket && s_punct(P, "]")))
	{
		int			line = P->tline;
		int			col = P->tcol;
		GovPolStr	name;

		if (!s_path(P, &name) || !list_add(P, out, &cap, name, none, false, line, col))
			return false;
		if (!bracket)
			return true;
		if (s_punct(P, ","))
		{
			s_next(P);
			continue;
		}
		if (!s_punct(P, "]"))
		{
			s_expected(P, "\",\" or \"]\"");
			return false;
		}
	}
	s_next(P);
	return !P->failed;
}

/*
 * Ref | "[" [Ref {"," Ref} [","]] "]" where Ref is Name (an action of this
 * namespace) or Path "::" String (an action of type Path): action parents.
 */
static bool
s_action_refs(SParser *P, NameList *out)
{
	uint32_t	cap = 0;
	bool		bracket = s_punct(P, "[");
	GovPolStr	none = {"", 0};

	memset(out, 0, sizeof(NameList));
	out->ns = P->ns;
	if (bracket)
		s_next(P);
	while (!(bracket && s_punct(P, "]")))
	{
		int			line = P->tline;
		int			col = P->tcol;
		GovPolStr	type = none;
		GovPolStr	id;

		if (P->kind == ST_STRING)
		{
			id = P->tstr;
			s_next(P);
		}
		else if (P->kind == ST_IDENT)
		{
			const char *start = P->start;
			const char *end = P->start + P->tlen;

			id.p = P->start;
			id.len = (uint32_t) P->tlen;
			s_next(P);
			while (P->kind == ST_COLONCOLON)
			{
				s_next(P);
				if (P->kind == ST_STRING)
				{
					type.p = start;
					type.len = (uint32_t) (end - start);
					id = P->tstr;
					s_next(P);
					break;
				}
				if (P->kind != ST_IDENT)
				{
					s_expected(P, "an identifier or an action id after \"::\"");
					return false;
				}
				end = P->start + P->tlen;
				s_next(P);
			}
			if (type.len == 0 && (size_t) (end - start) != id.len)
			{
				s_error_at(P, line, col, "an action reference is a name or Type::\"id\"");
				return false;
			}
		}
		else
		{
			s_expected(P, "an action name");
			return false;
		}
		if (P->failed || !list_add(P, out, &cap, id, type, true, line, col))
			return false;
		if (!bracket)
			return true;
		if (s_punct(P, ","))
		{
			s_next(P);
			continue;
		}
		if (!s_punct(P, "]"))
		{
			s_expected(P, "\",\" or \"]\"");
			return false;
		}
	}
	s_next(P);
	return !P->failed;
}

static bool
reserved_type_name(GovPolStr name)
{
	static const char *const reserved[] = {"Bool", "Boolean", "Entity", "Extension", "Long",
	"Record", "Set", "String"};
	size_t		i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (str_is(name, reserved[i]))
			return true;
	return str_has(name, "__cedar");
}

/* Is a qualified entity or common type name already declared? */
static bool
name_taken(SParser *P, GovPolStr q, int line, int col, bool common)
{
	GovPolStr	none = {"", 0};

	if (h_find(P->s, H_ENTITY, q, none) >= 0)
	{
		if (common)
			s_error_at(P, line, col, "the name %.*s is both a common type and an entity type",
					   SHOWN(q));
		else
			s_error_at(P, line, col, "entity type %.*s declared twice", SHOWN(q));
		return true;
	}
	if (h_find(P->s, H_COMMON, q, none) >= 0)
	{
		if (common)
			s_error_at(P, line, col, "common type %.*s declared twice", SHOWN(q));
		else
			s_error_at(P, line, col, "the name %.*s is both a common type and an entity type",
					   SHOWN(q));
		return true;
	}
	return false;
}

static SchEntity *
add_entity(SParser *P, GovPolStr name, int line, int col)
{
	GovPolStr	q = s_qualify(P, P->ns, name);

	if (P->failed || name_taken(P, q, line, col, false))
		return NULL;
	if (!s_grow(P, (void **) &P->s->entities, P->s->nentities, &P->cap_entities, sizeof(SchEntity)))
		return NULL;
	memset(&P->s->entities[P->s->nentities], 0, sizeof(SchEntity));
	P->s->entities[P->s->nentities].name = q;
	if (!h_insert(P, H_ENTITY, P->s->nentities))
		return NULL;
	return &P->s->entities[P->s->nentities++];
}

static bool
add_common(SParser *P, GovPolStr name, SchType *type, int line, int col)
{
	GovPolStr	q;
	SchCommon  *c;

	if (reserved_type_name(name))
	{
		s_error_at(P, line, col, "common type name %.*s is reserved", SHOWN(name));
		return false;
	}
	q = s_qualify(P, P->ns, name);
	if (P->failed || name_taken(P, q, line, col, true))
		return false;
	if (!s_grow(P, (void **) &P->s->commons, P->s->ncommons, &P->cap_commons, sizeof(SchCommon)))
		return false;
	c = &P->s->commons[P->s->ncommons++];
	memset(c, 0, sizeof(SchCommon));
	c->name = q;
	c->type = type;
	c->line = line;
	c->col = col;
	return h_insert(P, H_COMMON, P->s->ncommons - 1);
}

static bool
add_action(SParser *P, const SchAction *a, GovPolStr id, int line, int col)
{
	GovPolStr	action = {"Action", 6};
	GovPolStr	type = s_qualify(P, P->ns, action);

	if (h_find(P->s, H_ACTION, type, id) >= 0)
	{
		s_error_at(P, line, col, "action \"%.*s\" declared twice", SHOWN(id));
		return false;
	}
	if (P->failed ||
		!s_grow(P, (void **) &P->s->actions, P->s->nactions, &P->cap_actions, sizeof(SchAction)))
		return false;
	P->s->actions[P->s->nactions] = *a;
	P->s->actions[P->s->nactions].name = id;
	P->s->actions[P->s->nactions].type = type;
	P->s->nactions++;
	return h_insert(P, H_ACTION, P->s->nactions - 1);
}

/*
 * entity Name {"," Name} ["in" List] [["="] Record] ["tags" Type] ";"
 * entity Name {"," Name} "enum" "[" String {"," String} "]" ";"
 */
static bool
s_entity_decl(SParser *P)
{
	NameList	names;
	NameList	parents;
	SchType    *shape = NULL;
	SchType    *tags = NULL;
	uint32_t	nenum = 0;
	GovPolStr  *enums = NULL;
	uint32_t	cap = 0;
	uint32_t	i;
	GovPolStr	none = {"", 0};

	s_next(P);
	memset(&parents, 0, sizeof(parents));
	memset(&names, 0, sizeof(names));
	for (;;)
	{
		int			line = P->tline;
		int			col = P->tcol;
		GovPolStr	name;

		if (P->kind != ST_IDENT)
		{
			s_expected(P, "an entity type name");
			return false;
		}
		name.p = P->start;
		name.len = (uint32_t) P->tlen;
		if (!list_add(P, &names, &cap, name, none, false, line, col))
			return false;
		s_next(P);
		if (P->kind == ST_COLONCOLON)
		{
			s_error_at(P, P->tline, P->tcol,
					   "an entity type is declared with a simple name (its namespace qualifies it)");
			return false;
		}
		if (s_punct(P, ","))
		{
			s_next(P);
			continue;
		}
		break;
	}
	if (P->kind == ST_IDENT && s_is(P, "enum"))
	{
		uint32_t	ecap = 0;

		s_next(P);
		if (!s_expect(P, "[", "\"[\" after enum"))
			return false;
		for (;;)
		{
			if (P->kind != ST_STRING)
			{
				s_expected(P, "an entity id (a string)");
				return false;
			}
			for (i = 0; i < nenum; i++)
				if (str_eq(enums[i], P->tstr))
				{
					s_error_at(P, P->tline, P->tcol, "enum id \"%.*s\" appears twice", SHOWN(P->tstr));
					return false;
				}
			if (!s_grow(P, (void **) &enums, nenum, &ecap, sizeof(GovPolStr)))
				return false;
			enums[nenum++] = P->tstr;
			s_next(P);
			if (s_punct(P, ","))
			{
				s_next(P);
				if (s_punct(P, "]"))
					break;
				continue;
			}
			break;
		}
		if (!s_expect(P, "]", "\",\" or \"]\""))
			return false;
	}
	else
	{
		if (P->kind == ST_IDENT && s_is(P, "in"))
		{
			s_next(P);
			if (!s_list(P, &parents))
				return false;
		}
		if (s_punct(P, "="))
		{
			s_next(P);
			if (!s_punct(P, "{"))
			{
				s_expected(P, "a record type \"{\" after \"=\"");
				return false;
			}
		}
		if (s_punct(P, "{"))
		{
			shape = s_record(P, 0);
			if (shape == NULL)
				return false;
		}
		if (P->kind == ST_IDENT && s_is(P, "tags"))
		{
			s_next(P);
			tags = s_type(P, 0);
			if (tags == NULL)
				return false;
		}
	}
	if (!s_expect(P, ";", "\";\""))
		return false;
	for (i = 0; i < names.n; i++)
	{
		SchEntity  *e = add_entity(P, names.names[i], names.lines[i], names.cols[i]);

		if (e == NULL)
			return false;
		e->parents = parents;
		e->shape = shape;
		e->tags = tags;
		e->nenum = nenum;
		e->enums = enums;
	}
	return true;
}

/* type Name "=" Type ";" */
static bool
s_type_decl(SParser *P)
{
	GovPolStr	name;
	SchType    *t;
	int			line;
	int			col;

	s_next(P);
	line = P->tline;
	col = P->tcol;
	if (P->kind != ST_IDENT)
	{
		s_expected(P, "a common type name");
		return false;
	}
	name.p = P->start;
	name.len = (uint32_t) P->tlen;
	s_next(P);
	if (!s_expect(P, "=", "\"=\""))
		return false;
	t = s_type(P, 0);
	if (t == NULL || !s_expect(P, ";", "\";\""))
		return false;
	return add_common(P, name, t, line, col);
}

/*
 * action Name {"," Name} ["in" Refs] ["appliesTo" "{" principal: List,
 * resource: List [, context: Record or type name] "}"] ";"
 */
static bool
s_action_decl(SParser *P)
{
	NameList	names;
	SchAction	a;
	uint32_t	i;
	uint32_t	cap = 0;
	int			line;
	int			col;
	GovPolStr	none = {"", 0};

	memset(&a, 0, sizeof(a));
	memset(&names, 0, sizeof(names));
	s_next(P);
	for (;;)
	{
		GovPolStr	id;

		line = P->tline;
		col = P->tcol;
		if (!s_name(P, &id, "an action name") ||
			!list_add(P, &names, &cap, id, none, false, line, col))
			return false;
		if (!s_punct(P, ","))
			break;
		s_next(P);
	}
	a.parents.ns = P->ns;
	if (P->kind == ST_IDENT && s_is(P, "in"))
	{
		s_next(P);
		if (!s_action_refs(P, &a.parents))
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
		while (!s_punct(P, "}"))
		{
			int			kl = P->tline;
			int			kc = P->tcol;

			if (P->kind == ST_IDENT && s_is(P, "principal") && !seen_p)
			{
				s_next(P);
				seen_p = true;
				if (!s_expect(P, ":", "\":\"") || !s_list(P, &a.principals))
					return false;
			}
			else if (P->kind == ST_IDENT && s_is(P, "resource") && !seen_r)
			{
				s_next(P);
				seen_r = true;
				if (!s_expect(P, ":", "\":\"") || !s_list(P, &a.resources))
					return false;
			}
			else if (P->kind == ST_IDENT && s_is(P, "context") && !seen_c)
			{
				s_next(P);
				seen_c = true;
				if (!s_expect(P, ":", "\":\""))
					return false;
				/* a record, or a common type naming one (checked later) */
				a.context = s_type(P, 0);
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
			if (s_punct(P, ","))
			{
				s_next(P);
				continue;
			}
			if (!s_punct(P, "}"))
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
		if (!add_action(P, &a, names.names[i], names.lines[i], names.cols[i]))
			return false;
	return true;
}

/* Annotations (entity | action | type) */
static void
s_decl(SParser *P)
{
	if (!s_annotations(P))
		return;
	if (P->kind == ST_IDENT && s_is(P, "entity"))
		s_entity_decl(P);
	else if (P->kind == ST_IDENT && s_is(P, "action"))
		s_action_decl(P);
	else if (P->kind == ST_IDENT && s_is(P, "type"))
		s_type_decl(P);
	else if (P->kind == ST_IDENT && s_is(P, "namespace"))
		s_error_at(P, P->tline, P->tcol, "namespaces do not nest");
	else
		s_expected(P, "\"entity\", \"action\", \"type\" or \"namespace\"");
}

/* {Annotations ("namespace" Path "{" {Decl} "}" | Decl)} */
static void
s_schema(SParser *P)
{
	GovPolStr	none = {"", 0};
	uint32_t	nspaces = 0;
	uint32_t	cap = 0;
	GovPolStr  *spaces = NULL;

	while (!P->failed && P->kind != ST_EOF)
	{
		if (!s_annotations(P))
			return;
		if (P->kind == ST_IDENT && s_is(P, "namespace"))
		{
			int			line = P->tline;
			int			col = P->tcol;
			GovPolStr	ns;
			uint32_t	i;

			s_next(P);
			if (!s_path(P, &ns))
				return;
			if (str_has(ns, "__cedar"))
			{
				s_error_at(P, line, col, "the namespace __cedar is reserved");
				return;
			}
			for (i = 0; i < nspaces; i++)
				if (str_eq(spaces[i], ns))
				{
					s_error_at(P, line, col, "namespace %.*s declared twice", SHOWN(ns));
					return;
				}
			if (!s_grow(P, (void **) &spaces, nspaces, &cap, sizeof(GovPolStr)))
				return;
			spaces[nspaces++] = ns;
			if (!s_expect(P, "{", "\"{\" after the namespace name"))
				return;
			P->ns = ns;
			while (!P->failed && !s_punct(P, "}"))
			{
				if (P->kind == ST_EOF)
				{
					s_expected(P, "\"}\" closing the namespace");
					return;
				}
				s_decl(P);
			}
			P->ns = none;
			s_next(P);
		}
		else
			s_decl(P);
	}
}

/* ---------------------------------------------------------------------
 * Parser of the JSON format
 * ---------------------------------------------------------------------
 */

typedef enum JKind
{
	J_NULL,
	J_BOOL,
	J_NUMBER,
	J_STRING,
	J_ARRAY,
	J_OBJECT
} JKind;

typedef struct JNode JNode;

struct JNode
{
	JKind		kind;
	int			line;
	int			col;
	bool		b;
	GovPolStr	str;			/* J_STRING, decoded */
	uint32_t	n;				/* J_ARRAY, J_OBJECT */
	JNode	  **items;
	GovPolStr  *keys;			/* J_OBJECT */
	int		   *klines;
	int		   *kcols;
};

static void
j_blank(SParser *P)
{
	while (P->pos < P->len)
	{
		char		c = P->src[P->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		s_bump(P);
	}
	P->tline = P->line;
	P->tcol = P->col;
}

static int
j_hex4(SParser *P)
{
	int			v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		int			h = P->pos < P->len ? hex_digit((unsigned char) P->src[P->pos]) : -1;

		if (h < 0)
			return -1;
		v = v * 16 + h;
		s_bump(P);
	}
	return v;
}

/* A JSON string at its opening quote. */
static bool
j_string(SParser *P, GovPolStr *out)
{
	size_t		end = P->pos + 1;
	char	   *buf;
	uint32_t	n = 0;

	while (end < P->len && P->src[end] != '"')
		end += P->src[end] == '\\' && end + 1 < P->len ? 2 : 1;
	if (end >= P->len)
	{
		s_error_at(P, P->line, P->col, "unterminated string");
		return false;
	}
	buf = s_alloc(P, end - P->pos + 1);
	if (buf == NULL)
		return false;
	s_bump(P);
	while (P->src[P->pos] != '"')
	{
		unsigned char c = (unsigned char) P->src[P->pos];
		int			line = P->line;
		int			col = P->col;

		if (c < 0x20)
		{
			s_error_at(P, line, col, "a control character in a JSON string");
			return false;
		}
		s_bump(P);
		if (c != '\\')
		{
			buf[n++] = (char) c;
			continue;
		}
		c = (unsigned char) P->src[P->pos];
		s_bump(P);
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
				buf[n++] = (char) c;
				break;
			case 'b':
				buf[n++] = '\b';
				break;
			case 'f':
				buf[n++] = '\f';
				break;
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'u':
				{
					int			cp = j_hex4(P);

					if (cp >= 0xD800 && cp <= 0xDBFF && P->pos + 1 < end &&
						P->src[P->pos] == '\\' && P->src[P->pos + 1] == 'u')
					{
						int			lo;

						s_bump(P);
						s_bump(P);
						lo = j_hex4(P);
						if (lo < 0xDC00 || lo > 0xDFFF)
							cp = -1;
						else
							cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					if (cp < 0 || !put_utf8(buf, &n, (uint32_t) cp))
					{
						s_error_at(P, line, col, "invalid \\u escape in a JSON string");
						return false;
					}
					break;
				}
			default:
				s_error_at(P, line, col, "invalid escape in a JSON string");
				return false;
		}
	}
	s_bump(P);
	out->p = buf;
	out->len = n;
	return true;
}

/* No key twice in an object (a hash of its keys: objects may be large). */
static bool
j_unique_keys(SParser *P, const JNode *j)
{
	uint32_t	cap = 16;
	uint32_t   *slots;
	uint32_t	k;
	GovPolStr	none = {"", 0};

	if (j->kind != J_OBJECT || j->n < 2)
		return true;
	while (cap < j->n * 2)
		cap *= 2;
	slots = s_alloc(P, sizeof(uint32_t) * cap);
	if (slots == NULL)
		return false;
	for (k = 0; k < j->n; k++)
	{
		uint32_t	i;

		for (i = h_hash(0, j->keys[k], none) & (cap - 1); slots[i] != 0; i = (i + 1) & (cap - 1))
			if (str_eq(j->keys[slots[i] - 1], j->keys[k]))
			{
				s_error_at(P, j->klines[k], j->kcols[k], "key \"%.*s\" appears twice in a JSON object",
						   SHOWN(j->keys[k]));
				return false;
			}
		slots[i] = k + 1;
	}
	return true;
}

static JNode *
j_value(SParser *P, int depth)
{
	JNode	   *j;
	char		c;
	uint32_t	cap = 0;

	j_blank(P);
	if (P->failed)
		return NULL;
	if (depth > SCH_MAX_JSON_DEPTH)
	{
		s_error_at(P, P->line, P->col, "JSON nested too deeply (the limit is %d levels)",
				   SCH_MAX_JSON_DEPTH);
		return NULL;
	}
	j = s_alloc(P, sizeof(JNode));
	if (j == NULL)
		return NULL;
	j->line = P->line;
	j->col = P->col;
	if (P->pos >= P->len)
	{
		s_error_at(P, P->line, P->col, "expected a JSON value, found the end of the schema");
		return NULL;
	}
	c = P->src[P->pos];
	if (c == '{' || c == '[')
	{
		char		close = c == '{' ? '}' : ']';

		j->kind = c == '{' ? J_OBJECT : J_ARRAY;
		s_bump(P);
		j_blank(P);
		if (P->pos < P->len && P->src[P->pos] == close)
		{
			s_bump(P);
			return j;
		}
		for (;;)
		{
			uint32_t	c2 = cap,
						c3 = cap,
						c4 = cap;
			GovPolStr	key = {"", 0};
			int			kl;
			int			kc;
			JNode	   *v;

			j_blank(P);
			kl = P->line;
			kc = P->col;
			if (j->kind == J_OBJECT)
			{
				if (P->pos >= P->len || P->src[P->pos] != '"')
				{
					s_error_at(P, P->line, P->col, "expected a string key in a JSON object");
					return NULL;
				}
				if (!j_string(P, &key))
					return NULL;
				j_blank(P);
				if (P->pos >= P->len || P->src[P->pos] != ':')
				{
					s_error_at(P, P->line, P->col, "expected \":\" after a key");
					return NULL;
				}
				s_bump(P);
			}
			v = j_value(P, depth + 1);
			if (v == NULL)
				return NULL;
			if ((j->kind == J_OBJECT &&
				 (!s_grow(P, (void **) &j->keys, j->n, &c2, sizeof(GovPolStr)) ||
				  !s_grow(P, (void **) &j->klines, j->n, &c3, sizeof(int)) ||
				  !s_grow(P, (void **) &j->kcols, j->n, &c4, sizeof(int)))) ||
				!s_grow(P, (void **) &j->items, j->n, &cap, sizeof(JNode *)))
				return NULL;
			if (j->kind == J_OBJECT)
			{
				j->keys[j->n] = key;
				j->klines[j->n] = kl;
				j->kcols[j->n] = kc;
			}
			j->items[j->n++] = v;
			j_blank(P);
			if (P->pos < P->len && P->src[P->pos] == ',')
			{
				s_bump(P);
				continue;
			}
			if (P->pos < P->len && P->src[P->pos] == close)
			{
				s_bump(P);
				return j_unique_keys(P, j) ? j : NULL;
			}
			s_error_at(P, P->line, P->col, "expected \",\" or \"%c\"", close);
			return NULL;
		}
	}
	if (c == '"')
	{
		j->kind = J_STRING;
		return j_string(P, &j->str) ? j : NULL;
	}
	if (P->len - P->pos >= 4 && memcmp(P->src + P->pos, "true", 4) == 0)
	{
		j->kind = J_BOOL;
		j->b = true;
		P->pos += 4;
		P->col += 4;
		return j;
	}
	if (P->len - P->pos >= 5 && memcmp(P->src + P->pos, "false", 5) == 0)
	{
		j->kind = J_BOOL;
		P->pos += 5;
		P->col += 5;
		return j;
	}
	if (P->len - P->pos >= 4 && memcmp(P->src + P->pos, "null", 4) == 0)
	{
		j->kind = J_NULL;
		P->pos += 4;
		P->col += 4;
		return j;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
	{
		/* no number has a meaning in a schema; its syntax is all we check */
		j->kind = J_NUMBER;
		if (c == '-')
			s_bump(P);
		if (P->pos >= P->len || !(P->src[P->pos] >= '0' && P->src[P->pos] <= '9'))
		{
			s_error_at(P, j->line, j->col, "invalid JSON number");
			return NULL;
		}
		while (P->pos < P->len && strchr("0123456789.eE+-", P->src[P->pos]) != NULL)
			s_bump(P);
		return j;
	}
	s_error_at(P, P->line, P->col, "expected a JSON value, found '%c'",
			   (c >= 32 && c < 127) ? c : '?');
	return NULL;
}

static const char *
j_kind_name(JKind k)
{
	switch (k)
	{
		case J_NULL:
			return "null";
		case J_BOOL:
			return "a boolean";
		case J_NUMBER:
			return "a number";
		case J_STRING:
			return "a string";
		case J_ARRAY:
			return "an array";
		case J_OBJECT:
			return "an object";
	}
	return "?";
}

/* Is j of kind k?  Else an error naming what (a JSON path). */
static bool
j_want(SParser *P, const JNode *j, JKind k, const char *what)
{
	if (j->kind == k)
		return true;
	s_error_at(P, j->line, j->col, "%s must be %s, found %s", what, j_kind_name(k),
			   j_kind_name(j->kind));
	return false;
}

/* The members of object j must be among the allowed keys. */
static bool
j_keys(SParser *P, const JNode *j, const char *const *allowed, const char *what)
{
	uint32_t	i;

	for (i = 0; i < j->n; i++)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (str_is(j->keys[i], *a))
				break;
		if (*a == NULL)
		{
			s_error_at(P, j->klines[i], j->kcols[i], "unknown field \"%.*s\" in %s",
					   SHOWN(j->keys[i]), what);
			return false;
		}
	}
	return true;
}

static const JNode *
j_get(const JNode *j, const char *key)
{
	uint32_t	i;

	for (i = 0; i < j->n; i++)
		if (str_is(j->keys[i], key))
			return j->items[i];
	return NULL;
}

static bool
j_annotations(SParser *P, const JNode *j)
{
	const JNode *a = j_get(j, "annotations");
	uint32_t	i;

	if (a == NULL)
		return true;
	if (!j_want(P, a, J_OBJECT, "\"annotations\""))
		return false;
	for (i = 0; i < a->n; i++)
		if (!j_want(P, a->items[i], J_STRING, "an annotation value"))
			return false;
	return true;
}

/* Is s an identifier (path: Ident {"::" Ident})?  Else an error. */
static bool
j_ident(SParser *P, GovPolStr s, int line, int col, bool path, const char *what)
{
	uint32_t	i = 0;
	bool		ok = true;

	for (;;)
	{
		if (i >= s.len || !s_ident_start((unsigned char) s.p[i]))
		{
			ok = false;
			break;
		}
		while (i < s.len && s_ident_char((unsigned char) s.p[i]))
			i++;
		if (i == s.len)
			break;
		if (!path || i + 2 > s.len || s.p[i] != ':' || s.p[i + 1] != ':')
		{
			ok = false;
			break;
		}
		i += 2;
	}
	if (!ok)
		s_error_at(P, line, col, "%s \"%.*s\" is not a valid name", what, SHOWN(s));
	return ok;
}

static SchType *j_type(SParser *P, const JNode *j, int depth);

static SchType *
j_record(SParser *P, const JNode *j, SchType *t, int depth)
{
	const JNode *attrs = j_get(j, "attributes");
	const JNode *extra = j_get(j, "additionalAttributes");
	uint32_t	i;

	t->kind = SK_RECORD;
	if (extra != NULL)
	{
		if (!j_want(P, extra, J_BOOL, "\"additionalAttributes\""))
			return NULL;
		if (extra->b)
		{
			s_error_at(P, extra->line, extra->col,
					   "\"additionalAttributes\": true is not supported (docs/POLICY.md section 13)");
			return NULL;
		}
	}
	if (attrs == NULL)
		return t;
	if (!j_want(P, attrs, J_OBJECT, "\"attributes\""))
		return NULL;
	t->nattrs = attrs->n;
	t->attrs = s_alloc(P, sizeof(SchAttr) * (attrs->n ? attrs->n : 1));
	if (t->attrs == NULL)
		return NULL;
	for (i = 0; i < attrs->n; i++)
	{
		const JNode *a = attrs->items[i];
		const JNode *req;

		if (!j_want(P, a, J_OBJECT, "an attribute's type"))
			return NULL;
		t->attrs[i].name = attrs->keys[i];
		t->attrs[i].required = true;
		req = j_get(a, "required");
		if (req != NULL)
		{
			if (!j_want(P, req, J_BOOL, "\"required\""))
				return NULL;
			t->attrs[i].required = req->b;
		}
		t->attrs[i].type = j_type(P, a, depth + 1);
		if (t->attrs[i].type == NULL)
			return NULL;
	}
	return t;
}

/*
 * {"type": Long | String | Boolean | Set (element) | Record (attributes,
 * additionalAttributes) | Entity (name) | Extension (name) | EntityOrCommon
 * (name) | a common type's name}; in a record's attributes also
 * "required", and anywhere "annotations".
 */
static SchType *
j_type(SParser *P, const JNode *j, int depth)
{
	static const char *const keys[] = {"type", "element", "attributes", "additionalAttributes",
	"name", "required", "annotations", NULL};
	const JNode *type;
	SchType    *t;
	GovPolStr	k;

	if (P->failed)
		return NULL;
	if (depth > GOV_POL_MAX_NESTING)
	{
		s_error_at(P, j->line, j->col, "type nested too deeply (the limit is %d levels)",
				   GOV_POL_MAX_NESTING);
		return NULL;
	}
	if (!j_want(P, j, J_OBJECT, "a type") || !j_keys(P, j, keys, "a type") ||
		!j_annotations(P, j))
		return NULL;
	type = j_get(j, "type");
	if (type == NULL)
	{
		s_error_at(P, j->line, j->col, "a type needs a \"type\" field");
		return NULL;
	}
	if (!j_want(P, type, J_STRING, "\"type\""))
		return NULL;
	t = s_alloc(P, sizeof(SchType));
	if (t == NULL)
		return NULL;
	t->line = type->line;
	t->col = type->col;
	k = type->str;
	if (!str_is(k, "Set") && j_get(j, "element") != NULL)
	{
		s_error_at(P, j->line, j->col, "\"element\" belongs to a Set type only");
		return NULL;
	}
	if (!str_is(k, "Record") && (j_get(j, "attributes") || j_get(j, "additionalAttributes")))
	{
		s_error_at(P, j->line, j->col, "\"attributes\" belong to a Record type only");
		return NULL;
	}
	if (str_is(k, "Long"))
		t->kind = SK_LONG;
	else if (str_is(k, "String"))
		t->kind = SK_STRING;
	else if (str_is(k, "Boolean"))
		t->kind = SK_BOOL;
	else if (str_is(k, "Set"))
	{
		const JNode *e = j_get(j, "element");

		t->kind = SK_SET;
		if (e == NULL)
		{
			s_error_at(P, j->line, j->col, "a Set type needs an \"element\" type");
			return NULL;
		}
		t->elem = j_type(P, e, depth + 1);
		if (t->elem == NULL)
			return NULL;
	}
	else if (str_is(k, "Record"))
		return j_record(P, j, t, depth);
	else if (str_is(k, "Entity") || str_is(k, "Extension") || str_is(k, "EntityOrCommon"))
	{
		const JNode *name = j_get(j, "name");

		if (name == NULL)
		{
			s_error_at(P, j->line, j->col, "a %.*s type needs a \"name\"", SHOWN(k));
			return NULL;
		}
		if (!j_want(P, name, J_STRING, "\"name\"") ||
			!j_ident(P, name->str, name->line, name->col, true, "type name"))
			return NULL;
		t->kind = SK_ENTITY;
		t->name = name->str;
		t->line = name->line;
		t->col = name->col;
		t->ns = P->ns;
		t->pending = str_is(k, "Entity") ? SCH_PENDING_ENTITY :
			str_is(k, "Extension") ? SCH_PENDING_EXT : SCH_PENDING_ANY;
		return t;
	}
	else
	{
		/* a common type (or, as Cedar also accepts, an entity type) */
		if (!j_ident(P, k, type->line, type->col, true, "type name"))
			return NULL;
		t->kind = SK_ENTITY;
		t->name = k;
		t->ns = P->ns;
		t->pending = SCH_PENDING_ANY;
	}
	if (j_get(j, "name") != NULL)
	{
		s_error_at(P, j->line, j->col, "\"name\" belongs to an Entity, Extension or EntityOrCommon type only");
		return NULL;
	}
	return t;
}

/* ["A", "NS::B", ...]: entity type names */
static bool
j_types(SParser *P, const JNode *j, NameList *out, const char *what)
{
	uint32_t	cap = 0;
	uint32_t	i;
	GovPolStr	none = {"", 0};

	memset(out, 0, sizeof(NameList));
	out->ns = P->ns;
	if (!j_want(P, j, J_ARRAY, what))
		return false;
	for (i = 0; i < j->n; i++)
	{
		const JNode *e = j->items[i];

		if (!j_want(P, e, J_STRING, "an entity type name") ||
			!j_ident(P, e->str, e->line, e->col, true, "entity type") ||
			!list_add(P, out, &cap, e->str, none, false, e->line, e->col))
			return false;
	}
	return true;
}

static bool
j_entity(SParser *P, GovPolStr name, int line, int col, const JNode *j)
{
	static const char *const keys[] = {"memberOfTypes", "shape", "tags", "enum", "annotations", NULL};
	const JNode *member;
	const JNode *shape;
	const JNode *tags;
	const JNode *en;
	SchEntity  *e;
	uint32_t	i;

	if (!j_want(P, j, J_OBJECT, "an entity type") || !j_keys(P, j, keys, "an entity type") ||
		!j_annotations(P, j) || !j_ident(P, name, line, col, false, "entity type"))
		return false;
	e = add_entity(P, name, line, col);
	if (e == NULL)
		return false;
	member = j_get(j, "memberOfTypes");
	shape = j_get(j, "shape");
	tags = j_get(j, "tags");
	en = j_get(j, "enum");
	if (en != NULL && (member != NULL || shape != NULL || tags != NULL))
	{
		s_error_at(P, en->line, en->col, "an enumerated entity type has no memberOfTypes, shape or tags");
		return false;
	}
	if (member != NULL && !j_types(P, member, &e->parents, "\"memberOfTypes\""))
		return false;
	if (member == NULL)
		e->parents.ns = P->ns;
	if (shape != NULL)
	{
		e->shape = j_type(P, shape, 0);
		if (e->shape == NULL)
			return false;
		if (e->shape->kind != SK_RECORD && !e->shape->pending)
		{
			s_error_at(P, shape->line, shape->col, "an entity's shape must be a Record type");
			return false;
		}
	}
	if (tags != NULL)
	{
		e->tags = j_type(P, tags, 0);
		if (e->tags == NULL)
			return false;
	}
	if (en != NULL)
	{
		if (!j_want(P, en, J_ARRAY, "\"enum\""))
			return false;
		if (en->n == 0)
		{
			s_error_at(P, en->line, en->col, "\"enum\" must list at least one entity id");
			return false;
		}
		e->enums = s_alloc(P, sizeof(GovPolStr) * en->n);
		if (e->enums == NULL)
			return false;
		for (i = 0; i < en->n; i++)
		{
			uint32_t	k;

			if (!j_want(P, en->items[i], J_STRING, "an enum entity id"))
				return false;
			for (k = 0; k < i; k++)
				if (str_eq(e->enums[k], en->items[i]->str))
				{
					s_error_at(P, en->items[i]->line, en->items[i]->col,
							   "enum id \"%.*s\" appears twice", SHOWN(en->items[i]->str));
					return false;
				}
			e->enums[i] = en->items[i]->str;
		}
		e->nenum = en->n;
	}
	return true;
}

static bool
j_action(SParser *P, GovPolStr id, int line, int col, const JNode *j)
{
	static const char *const keys[] = {"memberOf", "appliesTo", "attributes", "annotations", NULL};
	static const char *const akeys[] = {"principalTypes", "resourceTypes", "context", NULL};
	static const char *const mkeys[] = {"id", "type", NULL};
	const JNode *member;
	const JNode *applies;
	SchAction	a;
	uint32_t	i;
	uint32_t	cap = 0;

	memset(&a, 0, sizeof(a));
	a.parents.ns = P->ns;
	if (!j_want(P, j, J_OBJECT, "an action") || !j_keys(P, j, keys, "an action") ||
		!j_annotations(P, j))
		return false;
	if (j_get(j, "attributes") != NULL)
	{
		s_error_at(P, j->line, j->col, "action attributes are not supported (Cedar dropped them)");
		return false;
	}
	member = j_get(j, "memberOf");
	if (member != NULL)
	{
		if (!j_want(P, member, J_ARRAY, "\"memberOf\""))
			return false;
		for (i = 0; i < member->n; i++)
		{
			const JNode *m = member->items[i];
			const JNode *mid;
			const JNode *mtype;
			GovPolStr	type = {"", 0};

			if (!j_want(P, m, J_OBJECT, "a \"memberOf\" entry") ||
				!j_keys(P, m, mkeys, "a \"memberOf\" entry"))
				return false;
			mid = j_get(m, "id");
			mtype = j_get(m, "type");
			if (mid == NULL)
			{
				s_error_at(P, m->line, m->col, "a \"memberOf\" entry needs an \"id\"");
				return false;
			}
			if (!j_want(P, mid, J_STRING, "\"id\""))
				return false;
			if (mtype != NULL)
			{
				if (!j_want(P, mtype, J_STRING, "\"type\"") ||
					!j_ident(P, mtype->str, mtype->line, mtype->col, true, "action type"))
					return false;
				type = mtype->str;
			}
			if (!list_add(P, &a.parents, &cap, mid->str, type, true, m->line, m->col))
				return false;
		}
	}
	applies = j_get(j, "appliesTo");
	if (applies != NULL && applies->kind != J_NULL)
	{
		const JNode *pt;
		const JNode *rt;
		const JNode *ctx;

		if (!j_want(P, applies, J_OBJECT, "\"appliesTo\"") ||
			!j_keys(P, applies, akeys, "\"appliesTo\""))
			return false;
		a.applies = true;
		pt = j_get(applies, "principalTypes");
		rt = j_get(applies, "resourceTypes");
		ctx = j_get(applies, "context");
		if (pt == NULL || rt == NULL)
		{
			s_error_at(P, applies->line, applies->col,
					   "\"appliesTo\" must declare both \"principalTypes\" and \"resourceTypes\"");
			return false;
		}
		if (!j_types(P, pt, &a.principals, "\"principalTypes\"") ||
			!j_types(P, rt, &a.resources, "\"resourceTypes\""))
			return false;
		if (ctx != NULL)
		{
			a.context = j_type(P, ctx, 0);
			if (a.context == NULL)
				return false;
		}
	}
	return add_action(P, &a, id, line, col);
}

/* {"NS": {"commonTypes": {...}, "entityTypes": {...}, "actions": {...}}} */
static void
j_schema(SParser *P)
{
	static const char *const keys[] = {"commonTypes", "entityTypes", "actions", "annotations", NULL};
	JNode	   *root = j_value(P, 0);
	uint32_t	i;
	uint32_t	k;

	if (root == NULL)
		return;
	j_blank(P);
	if (P->pos < P->len)
	{
		s_error_at(P, P->line, P->col, "unexpected text after the JSON schema");
		return;
	}
	if (!j_want(P, root, J_OBJECT, "a JSON schema"))
		return;
	for (i = 0; i < root->n && !P->failed; i++)
	{
		const JNode *ns = root->items[i];
		const JNode *part;
		GovPolStr	name = root->keys[i];

		if (name.len > 0 &&
			!j_ident(P, name, root->klines[i], root->kcols[i], true, "namespace"))
			return;
		if (str_has(name, "__cedar"))
		{
			s_error_at(P, root->klines[i], root->kcols[i], "the namespace __cedar is reserved");
			return;
		}
		if (!j_want(P, ns, J_OBJECT, "a namespace") || !j_keys(P, ns, keys, "a namespace") ||
			!j_annotations(P, ns))
			return;
		P->ns = name;
		part = j_get(ns, "commonTypes");
		if (part != NULL && j_want(P, part, J_OBJECT, "\"commonTypes\""))
			for (k = 0; k < part->n && !P->failed; k++)
			{
				SchType    *t;

				if (!j_ident(P, part->keys[k], part->klines[k], part->kcols[k], false, "common type"))
					return;
				t = j_type(P, part->items[k], 0);
				if (t == NULL)
					return;
				add_common(P, part->keys[k], t, part->klines[k], part->kcols[k]);
			}
		part = j_get(ns, "entityTypes");
		if (part == NULL)
		{
			s_error_at(P, ns->line, ns->col, "a namespace needs \"entityTypes\" (it may be {})");
			return;
		}
		if (j_want(P, part, J_OBJECT, "\"entityTypes\""))
			for (k = 0; k < part->n && !P->failed; k++)
				j_entity(P, part->keys[k], part->klines[k], part->kcols[k], part->items[k]);
		part = j_get(ns, "actions");
		if (part == NULL)
		{
			s_error_at(P, ns->line, ns->col, "a namespace needs \"actions\" (it may be {})");
			return;
		}
		if (!P->failed && j_want(P, part, J_OBJECT, "\"actions\""))
			for (k = 0; k < part->n && !P->failed; k++)
				j_action(P, part->keys[k], part->klines[k], part->kcols[k], part->items[k]);
	}
	P->ns.p = "";
	P->ns.len = 0;
}

/* ---------------------------------------------------------------------
 * Name resolution
 * ---------------------------------------------------------------------
 */

static int
find_entity(const GovSchema *s, GovPolStr name)
{
	GovPolStr	none = {"", 0};

	return h_find(s, H_ENTITY, name, none);
}

/* The action of type type (Action, NS::Action) and id id. */
static int
find_action(const GovSchema *s, GovPolStr type, GovPolStr id)
{
	return h_find(s, H_ACTION, type, id);
}

static int
find_common(const GovSchema *s, GovPolStr name)
{
	GovPolStr	none = {"", 0};

	return h_find(s, H_COMMON, name, none);
}

/*
 * The candidates for a name written in namespace ns, in Cedar's order: a
 * qualified name is taken as written; a simple one names something of the
 * namespace first, then of the empty namespace.
 */
static int
candidates(SParser *P, GovPolStr ns, GovPolStr name, GovPolStr out[2])
{
	if (str_has(name, "::") || ns.len == 0)
	{
		out[0] = name;
		return 1;
	}
	out[0] = s_qualify(P, ns, name);
	out[1] = name;
	return 2;
}

static bool
builtin(GovPolStr name, SchType *t, bool extension_only)
{
	static const struct
	{
		const char *name;
		SchKind		kind;
		bool		extension;
	}			b[] = {
		{"Long", SK_LONG, false},
		{"String", SK_STRING, false},
		{"Bool", SK_BOOL, false},
		{"Boolean", SK_BOOL, false},
		{"decimal", SK_DECIMAL, true},
		{"ipaddr", SK_IPADDR, true},
		{"datetime", SK_DATETIME, true},
		{"duration", SK_DURATION, true},
	};
	size_t		i;
	GovPolStr	n = name;

	if (n.len > 9 && memcmp(n.p, "__cedar::", 9) == 0)
	{
		n.p += 9;
		n.len -= 9;
	}
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (str_is(n, b[i].name) && (b[i].extension || !extension_only) &&
			(!str_is(n, "Boolean") || name.len != n.len))
		{
			t->kind = b[i].kind;
			t->name.p = NULL;
			t->name.len = 0;
			t->pending = SCH_RESOLVED;
			return true;
		}
	return false;
}

static bool resolve_type(SParser *P, SchType *t, int depth);

static bool
resolve_common(SParser *P, SchCommon *c, int line, int col, int depth)
{
	if (c->state == 2)
		return true;
	if (c->state == 1)
	{
		s_error_at(P, line, col, "common type %.*s is defined in terms of itself", SHOWN(c->name));
		return false;
	}
	if (depth > GOV_POL_MAX_NESTING)
	{
		s_error_at(P, line, col, "common types nested too deeply (the limit is %d levels)",
				   GOV_POL_MAX_NESTING);
		return false;
	}
	c->state = 1;
	if (!resolve_type(P, c->type, depth + 1))
		return false;
	c->state = 2;
	return true;
}

/* Replace every pending name in t by what it names. */
static bool
resolve_type(SParser *P, SchType *t, int depth)
{
	uint32_t	i;

	if (P->failed)
		return false;
	if (t->pending != SCH_RESOLVED)
	{
		GovPolStr	cand[2];
		int			n = candidates(P, t->ns, t->name, cand);
		int			k;
		int			line = t->line;
		int			col = t->col;

		if (t->pending == SCH_PENDING_EXT)
		{
			if (builtin(t->name, t, true))
				return true;
			s_error_at(P, line, col, "unknown extension type %.*s", SHOWN(t->name));
			return false;
		}
		if (str_has(t->name, "__cedar::") && builtin(t->name, t, false))
			return true;
		for (k = 0; k < n; k++)
		{
			int			c = t->pending == SCH_PENDING_ANY ? find_common(P->s, cand[k]) : -1;

			if (c >= 0)
			{
				SchCommon  *sc = &P->s->commons[c];

				if (!resolve_common(P, sc, line, col, depth))
					return false;
				*t = *sc->type;
				t->line = line;
				t->col = col;
				return true;
			}
			if (find_entity(P->s, cand[k]) >= 0)
			{
				t->name = cand[k];
				t->pending = SCH_RESOLVED;
				return true;
			}
		}
		if (t->pending == SCH_PENDING_ANY && builtin(t->name, t, false))
			return true;
		s_error_at(P, line, col, "unknown type %.*s", SHOWN(t->name));
		return false;
	}
	if (t->kind == SK_SET)
		return resolve_type(P, (SchType *) t->elem, depth + 1);
	if (t->kind == SK_RECORD)
		for (i = 0; i < t->nattrs; i++)
			if (!resolve_type(P, t->attrs[i].type, depth + 1))
				return false;
	return true;
}

/* Entity type lists: each name becomes the qualified name it resolves to. */
static bool
resolve_list(SParser *P, NameList *l)
{
	uint32_t	i;

	for (i = 0; i < l->n && !P->failed; i++)
	{
		GovPolStr	cand[2];
		int			n = candidates(P, l->ns, l->names[i], cand);
		int			k;

		for (k = 0; k < n; k++)
			if (find_entity(P->s, cand[k]) >= 0)
				break;
		if (k == n)
		{
			s_error_at(P, l->lines[i], l->cols[i], "unknown entity type %.*s", SHOWN(l->names[i]));
			return false;
		}
		l->names[i] = cand[k];
	}
	return !P->failed;
}

/* Action parents: each (type, id) becomes a declared action's. */
static bool
resolve_actions(SParser *P, NameList *l)
{
	GovPolStr	action = {"Action", 6};
	uint32_t	i;

	for (i = 0; i < l->n && !P->failed; i++)
	{
		GovPolStr	cand[2];
		int			n = candidates(P, l->ns, l->types[i].len ? l->types[i] : action, cand);
		int			k;

		/* an action without a type is one of its own namespace */
		if (l->types[i].len == 0)
			n = 1;
		for (k = 0; k < n; k++)
			if (find_action(P->s, cand[k], l->names[i]) >= 0)
				break;
		if (k == n)
		{
			s_error_at(P, l->lines[i], l->cols[i], "unknown action %.*s::\"%.*s\"",
					   SHOWN(cand[0]), SHOWN(l->names[i]));
			return false;
		}
		l->types[i] = cand[k];
	}
	return !P->failed;
}

static bool
is_record_type(SParser *P, const SchType *t, const char *what)
{
	if (t == NULL || t->kind == SK_RECORD)
		return true;
	s_error_at(P, t->line, t->col, "%s must be a record type", what);
	return false;
}

/*
 * Refuse a cycle in the action hierarchy, as Cedar does: a depth-first
 * walk with an explicit stack (no recursion however long a chain), each
 * action's parents resolved already.
 */
static bool
check_action_cycles(SParser *P)
{
	GovSchema  *s = P->s;
	uint8_t    *state;			/* 0 unvisited, 1 on the stack, 2 done */
	uint32_t   *stack;			/* action indexes */
	uint32_t   *next;			/* per action: the next parent to visit */
	uint32_t	i;

	if (s->nactions == 0)
		return true;
	state = s_alloc(P, s->nactions);
	stack = s_alloc(P, sizeof(uint32_t) * s->nactions);
	next = s_alloc(P, sizeof(uint32_t) * s->nactions);
	if (state == NULL || stack == NULL || next == NULL)
		return false;
	for (i = 0; i < s->nactions; i++)
	{
		uint32_t	depth = 0;

		if (state[i] != 0)
			continue;
		stack[depth++] = i;
		state[i] = 1;
		while (depth > 0)
		{
			uint32_t	a = stack[depth - 1];
			const NameList *pl = &s->actions[a].parents;
			int			p;

			if (next[a] >= pl->n)
			{
				state[a] = 2;
				depth--;
				continue;
			}
			p = find_action(s, pl->types[next[a]], pl->names[next[a]]);
			next[a]++;
			if (p < 0 || state[p] == 2)
				continue;
			if (state[p] == 1)
			{
				s_error_at(P, pl->lines[next[a] - 1], pl->cols[next[a] - 1],
						   "action \"%.*s\" is in a cycle of the action hierarchy",
						   SHOWN(s->actions[p].name));
				return false;
			}
			state[p] = 1;
			stack[depth++] = (uint32_t) p;
		}
	}
	return true;
}

bool
gov_sch_parse(GovPolArena *arena, const char *src, size_t len, GovSchema **out,
			  GovPolError *err)
{
	SParser		P;
	uint32_t	i;
	size_t		first = 0;

	memset(&P, 0, sizeof(P));
	memset(err, 0, sizeof(GovPolError));
	P.arena = arena;
	P.src = src;
	P.len = len;
	P.line = 1;
	P.col = 1;
	P.err = err;
	P.ns.p = "";
	if (memchr(src, '\0', len) != NULL)
	{
		s_error_at(&P, 1, 1, "the schema contains a NUL byte");
		return false;
	}
	P.s = s_alloc(&P, sizeof(GovSchema));
	if (P.s == NULL)
		return false;
	while (first < len && strchr(" \t\r\n", src[first]) != NULL)
		first++;
	/* Cedar's JSON schema format: a JSON object */
	if (first < len && src[first] == '{')
		j_schema(&P);
	else
	{
		s_next(&P);
		s_schema(&P);
	}

	for (i = 0; !P.failed && i < P.s->ncommons; i++)
		resolve_common(&P, &P.s->commons[i], P.s->commons[i].line, P.s->commons[i].col, 0);
	for (i = 0; !P.failed && i < P.s->nentities; i++)
	{
		SchEntity  *e = &P.s->entities[i];

		resolve_list(&P, &e->parents);
		if (!P.failed && e->shape)
			resolve_type(&P, e->shape, 0);
		if (!P.failed && e->tags)
			resolve_type(&P, e->tags, 0);
		if (!P.failed)
			is_record_type(&P, e->shape, "an entity's shape");
	}
	for (i = 0; !P.failed && i < P.s->nactions; i++)
	{
		SchAction  *a = &P.s->actions[i];

		resolve_actions(&P, &a->parents);
		if (!P.failed)
			resolve_list(&P, &a->principals);
		if (!P.failed)
			resolve_list(&P, &a->resources);
		if (!P.failed && a->context)
			resolve_type(&P, a->context, 0);
		if (!P.failed)
			is_record_type(&P, a->context, "an action's context");
	}
	if (!P.failed)
		check_action_cycles(&P);
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

/* The id of a uid Type::"id" (unescaped only when it holds no escape). */
static GovPolStr
uid_id(GovPolStr uid)
{
	GovPolStr	t = uid_type(uid);
	GovPolStr	id = {uid.p, 0};

	if (uid.len >= t.len + 4)
	{
		id.p = uid.p + t.len + 3;
		id.len = uid.len - t.len - 4;
	}
	return id;
}

/* Is t an action type: Action or NS::Action? */
static bool
is_action_type(GovPolStr t)
{
	return str_is(t, "Action") ||
		(t.len > 8 && memcmp(t.p + t.len - 8, "::Action", 8) == 0);
}

/* The type and id of an action's uid NS::Action::"id". */
static bool
action_uid(GovPolStr uid, GovPolStr *type, GovPolStr *id)
{
	*type = uid_type(uid);
	if (!is_action_type(*type))
		return false;
	*id = uid_id(uid);
	return true;
}

/* May an entity of type e have this id (enumerated types list theirs)? */
static bool
enum_ok(const GovSchema *s, int e, GovPolStr uid)
{
	GovPolStr	id = uid_id(uid);
	uint32_t	i;

	if (e < 0 || s->entities[e].nenum == 0)
		return true;
	for (i = 0; i < s->entities[e].nenum; i++)
		if (str_eq(s->entities[e].enums[i], id))
			return true;
	return false;
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
		int			p = find_action(s, s->actions[a].parents.types[i],
									s->actions[a].parents.names[i]);

		if (p >= 0 && action_below(s, p, b, seen))
			return true;
	}
	return false;
}

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
		if (!enum_ok(s, target, sc->uids[0]))
		{
			v_error(err, sc->line, sc->col, "entity %.*s is not one of the enumerated entities of type %.*s",
					SHOWN(sc->uids[0]), SHOWN(t));
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
		GovPolStr	at;
		GovPolStr	id;
		int			e;

		if (action_uid(name, &at, &id))
		{
			if (find_action(s, at, id) < 0)
			{
				v_error(c->err, line, col, "unrecognized action %.*s", SHOWN(name));
				return false;
			}
		}
		else if ((e = find_entity(s, t)) < 0)
		{
			v_error(c->err, line, col, "unrecognized entity type %.*s", SHOWN(t));
			return false;
		}
		else if (!enum_ok(s, e, name))
		{
			v_error(c->err, line, col, "entity %.*s is not one of the enumerated entities of type %.*s",
					SHOWN(name), SHOWN(t));
			return false;
		}
		return true;
	}
	if (kind == GOV_POL_REF_TYPE)
	{
		if (!is_action_type(name) && find_entity(s, name) < 0)
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
						"attribute %.*s in context for action %.*s::\"%.*s\" not found",
						SHOWN(name), SHOWN(s->actions[i].type), SHOWN(s->actions[i].name));
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

/*
 * The scope analysis shared by gov_sch_check_policy and
 * gov_sch_policy_envs: the entity types the principal and resource scopes
 * admit (pok, rok; enumerated ids checked) and the actions the action
 * scope admits (aok), each a flag per declared type or action, allocated
 * in scratch.  as is the action scope, for the position of errors.
 */
static bool
scope_analysis(const GovSchema *s, GovPolArena *scratch, const GovPolicy *p,
			   GovPolScopeInfo *as, uint8_t **pokp, uint8_t **rokp,
			   uint8_t **aokp, GovPolError *err)
{
	GovPolScopeInfo ps;
	GovPolScopeInfo rs;
	uint8_t    *pok;
	uint8_t    *rok;
	uint8_t    *aok;
	uint8_t    *seen;
	size_t		ne = s->nentities + 1;
	size_t		na = s->nactions + 1;
	uint32_t	i;
	uint32_t	j;

	gov_pol_scope_info(p, GOV_POL_VAR_PRINCIPAL, &ps);
	gov_pol_scope_info(p, GOV_POL_VAR_ACTION, as);
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

	/* the actions the scope admits ("in []" admits none) */
	memset(aok, 0, na);
	for (j = 0; j < as->n || (as->kind == GOV_POL_SCOPE_ANY && j == 0); j++)
	{
		GovPolStr	at;
		GovPolStr	id;
		int			target = -1;

		if (as->kind != GOV_POL_SCOPE_ANY)
		{
			if (!action_uid(as->uids[j], &at, &id) || (target = find_action(s, at, id)) < 0)
			{
				v_error(err, as->line, as->col, "unrecognized action %.*s", SHOWN(as->uids[j]));
				return false;
			}
		}
		for (i = 0; i < s->nactions; i++)
		{
			if (as->kind == GOV_POL_SCOPE_ANY || (int) i == target)
				aok[i] = 1;
			else if (as->kind != GOV_POL_SCOPE_EQ)
			{
				memset(seen, 0, na);
				if (action_below(s, (int) i, target, seen))
					aok[i] = 1;
			}
		}
	}
	*pokp = pok;
	*rokp = rok;
	*aokp = aok;
	return true;
}

bool
gov_sch_check_policy(const GovSchema *s, GovPolArena *scratch, const GovPolicy *p,
					 GovPolError *err)
{
	GovPolScopeInfo as;
	uint8_t    *pok;
	uint8_t    *rok;
	uint8_t    *aok;
	uint8_t    *pused;
	uint8_t    *rused;
	size_t		ne = s->nentities + 1;
	uint32_t	i;
	bool		any = false;
	Check		c;

	memset(err, 0, sizeof(GovPolError));
	if (!scope_analysis(s, scratch, p, &as, &pok, &rok, &aok, err))
		return false;
	pused = gov_pol_alloc(scratch, ne);
	rused = gov_pol_alloc(scratch, ne);
	if (!pused || !rused)
	{
		v_error(err, 0, 0, "schema validation ran out of memory");
		return false;
	}

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
	if (t->kind == SK_ENTITY && !enum_ok(s, find_entity(s, t->name), v->u.s))
	{
		v_error(err, 0, 0, "attribute %.*s: %.*s is not one of the enumerated entities of its type",
				SHOWN(attr), SHOWN(v->u.s));
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
	if (is_action_type(t))
	{
		GovPolStr	at;
		GovPolStr	id;

		if (action_uid(u, &at, &id) && find_action(s, at, id) >= 0)
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
	if (!enum_ok(s, e, u))
	{
		v_error(err, 0, 0, "entity %.*s is not one of the enumerated entities of type %.*s",
				SHOWN(u), SHOWN(t));
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
 * Kept apart from the parser, at the end of the file.  The structures
 * they read are those of either format, names qualified and common types
 * resolved away, so the type checker never sees a namespace.
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

const GovSchType *
gov_sch_entity_tags(const GovSchema *s, int e)
{
	return (const GovSchType *) s->entities[e].tags;
}

bool
gov_sch_entity_id_ok(const GovSchema *s, int e, GovPolStr uid)
{
	return enum_ok(s, e, uid);
}

bool
gov_sch_is_action_type(GovPolStr type)
{
	return is_action_type(type);
}

int
gov_sch_action_find(const GovSchema *s, GovPolStr uid)
{
	GovPolStr	type;
	GovPolStr	id;

	if (!action_uid(uid, &type, &id))
		return -1;
	return find_action(s, type, id);
}

GovPolStr
gov_sch_action_name(const GovSchema *s, int a)
{
	return s->actions[a].name;
}

GovPolStr
gov_sch_action_type(const GovSchema *s, int a)
{
	return s->actions[a].type;
}

const GovSchType *
gov_sch_action_context(const GovSchema *s, int a)
{
	return (const GovSchType *) s->actions[a].context;
}

/*
 * The request environments of a policy's scope: the same analysis as
 * gov_sch_check_policy's (scope_analysis; both refuse a scope with none),
 * listing each
 * (action, principal type, resource type) the scope admits and the
 * action applies to.
 */
bool
gov_sch_policy_envs(const GovSchema *s, GovPolArena *scratch, const GovPolicy *p,
					GovSchEnv **out, uint32_t *count, GovPolError *err)
{
	GovPolScopeInfo as;
	uint8_t    *pok;
	uint8_t    *rok;
	uint8_t    *aok;
	uint32_t	i;
	uint32_t	n = 0;
	size_t		cap = 0;
	GovSchEnv  *envs = NULL;

	memset(err, 0, sizeof(GovPolError));
	*out = NULL;
	*count = 0;
	if (!scope_analysis(s, scratch, p, &as, &pok, &rok, &aok, err))
		return false;
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

bool
gov_sch_check_tags(const GovSchema *s, const char *uid, size_t uidlen,
				   const GovPolValue *tags, GovPolError *err)
{
	GovPolStr	u = {uid, (uint32_t) uidlen};
	GovPolStr	t = uid_type(u);
	int			e;
	uint32_t	i;

	memset(err, 0, sizeof(GovPolError));
	if (tags == NULL || tags->kind != GOV_POL_RECORD || tags->u.rec.n == 0)
		return true;
	e = find_entity(s, t);
	if (e < 0 || s->entities[e].tags == NULL)
	{
		v_error(err, 0, 0, "entity type %.*s declares no tags (tag %.*s)",
				SHOWN(t), SHOWN(tags->u.rec.fields[0].key));
		return false;
	}
	for (i = 0; i < tags->u.rec.n; i++)
		if (!check_value(s, s->entities[e].tags, &tags->u.rec.fields[i].value,
						 tags->u.rec.fields[i].key, err, 0))
			return false;
	return true;
}

bool
gov_sch_check_request(const GovSchema *s, const char *principal, const char *action,
					  const char *resource, const GovPolValue *context, GovPolError *err)
{
	GovPolStr	pu = {principal, (uint32_t) strlen(principal)};
	GovPolStr	au = {action, (uint32_t) strlen(action)};
	GovPolStr	ru = {resource, (uint32_t) strlen(resource)};
	GovPolStr	pt = uid_type(pu);
	GovPolStr	rt = uid_type(ru);
	GovPolStr	at;
	GovPolStr	id;
	GovPolStr	none = {"", 0};
	GovPolValue empty;
	const SchAction *a;
	int			k;
	int			pe;
	int			re;

	memset(err, 0, sizeof(GovPolError));
	if (!action_uid(au, &at, &id) || (k = find_action(s, at, id)) < 0)
	{
		v_error(err, 0, 0, "request's action %.*s is not declared in the schema", SHOWN(au));
		return false;
	}
	a = &s->actions[k];
	pe = find_entity(s, pt);
	re = find_entity(s, rt);
	if (pe < 0 || !list_has(s, &a->principals, pe))
	{
		v_error(err, 0, 0, "principal type %.*s is not valid for action %.*s (its appliesTo)",
				SHOWN(pt), SHOWN(au));
		return false;
	}
	if (re < 0 || !list_has(s, &a->resources, re))
	{
		v_error(err, 0, 0, "resource type %.*s is not valid for action %.*s (its appliesTo)",
				SHOWN(rt), SHOWN(au));
		return false;
	}
	if (!enum_ok(s, pe, pu) || !enum_ok(s, re, ru))
	{
		v_error(err, 0, 0, "entity %.*s is not one of the enumerated entities of its type",
				SHOWN(enum_ok(s, pe, pu) ? ru : pu));
		return false;
	}
	memset(&empty, 0, sizeof(empty));
	empty.kind = GOV_POL_RECORD;
	if (context == NULL || context->kind != GOV_POL_RECORD)
		context = &empty;
	if (a->context == NULL)
	{
		if (context->u.rec.n > 0)
		{
			v_error(err, 0, 0, "context attribute %.*s is not declared for action %.*s",
					SHOWN(context->u.rec.fields[0].key), SHOWN(au));
			return false;
		}
		return true;
	}
	if (!check_record(s, a->context, context, none, err, 0))
	{
		char		msg[GOV_POL_ERRMSG_LEN];

		snprintf(msg, sizeof(msg), "context for action %.*s: %s", SHOWN(au), err->message);
		memcpy(err->message, msg, sizeof(msg));
		return false;
	}
	return true;
}
