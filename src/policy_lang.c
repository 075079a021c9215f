/*-------------------------------------------------------------------------
 *
 * policy_lang.c
 *	  Lexer, parser, compiled form and evaluator of the policy language
 *	  (docs/POLICY.md).  Pure C99, no PostgreSQL headers: see the rules at
 *	  the top of policy_lang.h.
 *
 *	  Compiled form.  A policy is its effect, three scope constraints (any,
 *	  == uid, in uid, in [uids]) and a list of when/unless conditions, each
 *	  an expression tree.  Chains of && and || and of + and * are n-ary
 *	  nodes, so a policy of ten thousand clauses is a wide tree, not a deep
 *	  one; every node records its height and the parser refuses a tree
 *	  taller than GOV_POL_MAX_NESTING, which is what bounds the evaluator's
 *	  recursion.  The parser's own recursion is bounded by the same limit.
 *
 *	  Evaluation.  A session holds one request.  "A in B" is answered from
 *	  the set of A's ancestors, computed once per session by a breadth-first
 *	  walk through the entity store that visits each entity once (so cycles
 *	  terminate) and stops after max_entity_depth parent hops.  When the
 *	  walk had to stop with ancestors left unexplored, "A in B" for a B not
 *	  found is an error rather than false: a forbid must never stop
 *	  matching because a hierarchy is deep.
 *
 *	  Time bounds.  Set operations index the larger side by hash instead
 *	  of comparing every pair, and "like" matches the literal pieces of a
 *	  pattern with KMP, so evaluation time is linear in the size of the
 *	  values it touches.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_lang.h"

#if defined(__GNUC__) || defined(__clang__)
#define POL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define POL_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------------
 * Arena
 * ---------------------------------------------------------------------
 */

#define CHUNK_SIZE	8192
#define ALIGN8(x)	(((x) + 7) & ~(size_t) 7)

struct GovPolChunk
{
	GovPolChunk *next;
	size_t		size;			/* usable bytes after the header */
	size_t		used;
};

#define CHUNK_HDR	ALIGN8(sizeof(GovPolChunk))

static void *
default_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static void
default_release(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

void
gov_pol_arena_init(GovPolArena *a, const GovPolAllocator *al, size_t limit)
{
	if (al)
		a->al = *al;
	else
	{
		a->al.alloc = default_alloc;
		a->al.release = default_release;
		a->al.ctx = NULL;
	}
	a->chunks = NULL;
	a->total = 0;
	a->limit = limit;
	a->chunk_size = CHUNK_SIZE;
	a->failed = false;
}

void *
gov_pol_alloc(GovPolArena *a, size_t size)
{
	GovPolChunk *c = a->chunks;
	void	   *p;

	if (size > a->limit)
	{
		a->failed = true;
		return NULL;
	}
	size = ALIGN8(size == 0 ? 1 : size);
	if (c == NULL || c->size - c->used < size)
	{
		size_t		usual = a->chunk_size > CHUNK_HDR ? a->chunk_size - CHUNK_HDR : CHUNK_SIZE - CHUNK_HDR;
		size_t		want = size > usual ? size : usual;

		if (a->total + want + CHUNK_HDR > a->limit)
		{
			/* near the limit: settle for exactly what is needed */
			want = size;
			if (a->total + want + CHUNK_HDR > a->limit)
			{
				a->failed = true;
				return NULL;
			}
		}
		c = a->al.alloc(a->al.ctx, CHUNK_HDR + want);
		if (c == NULL)
		{
			a->failed = true;
			return NULL;
		}
		c->size = want;
		c->used = 0;
		c->next = a->chunks;
		a->chunks = c;
		a->total += CHUNK_HDR + want;
	}
	p = (char *) c + CHUNK_HDR + c->used;
	c->used += size;
	return p;
}

void
gov_pol_arena_reset(GovPolArena *a)
{
	GovPolChunk *c = a->chunks;

	while (c && c->next)
	{
		GovPolChunk *next = c->next;

		a->total -= CHUNK_HDR + c->size;
		if (a->al.release)
			a->al.release(a->al.ctx, c);
		c = next;
	}
	a->chunks = c;
	if (c)
		c->used = 0;
	a->failed = false;
}

void
gov_pol_arena_free(GovPolArena *a)
{
	gov_pol_arena_reset(a);
	if (a->chunks && a->al.release)
		a->al.release(a->al.ctx, a->chunks);
	a->chunks = NULL;
	a->total = 0;
}

static char *
arena_strndup(GovPolArena *a, const char *s, size_t len)
{
	char	   *p = gov_pol_alloc(a, len + 1);

	if (p)
	{
		if (len)
			memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* ---------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------
 */

static uint64_t
hash_bytes(const char *p, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= (unsigned char) p[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static bool
str_eq(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* jsonb's key order: shorter first, then bytes */
static int
key_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen == 0 ? 0 : memcmp(a, b, alen);
}

static int
field_cmp(const void *x, const void *y)
{
	const GovPolField *a = x;
	const GovPolField *b = y;

	return key_cmp(a->key.p, a->key.len, b->key.p, b->key.len);
}

bool
gov_pol_record_sort(GovPolField *fields, uint32_t n)
{
	uint32_t	i;
	bool		sorted = true;

	for (i = 1; i < n && sorted; i++)
		if (field_cmp(&fields[i - 1], &fields[i]) >= 0)
			sorted = false;
	if (!sorted)
		qsort(fields, n, sizeof(GovPolField), field_cmp);
	for (i = 1; i < n; i++)
		if (field_cmp(&fields[i - 1], &fields[i]) == 0)
			return false;
	return true;
}

static const GovPolValue *
record_get(const GovPolValue *rec, const char *key, uint32_t keylen)
{
	uint32_t	lo = 0;
	uint32_t	hi = rec->u.rec.n;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;
		const GovPolField *f = &rec->u.rec.fields[mid];
		int			c = key_cmp(f->key.p, f->key.len, key, keylen);

		if (c == 0)
			return &f->value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
gov_pol_kind_name(GovPolKind kind)
{
	switch (kind)
	{
		case GOV_POL_BOOL:
			return "boolean";
		case GOV_POL_LONG:
			return "integer";
		case GOV_POL_STRING:
			return "string";
		case GOV_POL_ENTITY:
			return "entity";
		case GOV_POL_SET:
			return "set";
		case GOV_POL_RECORD:
			return "record";
		case GOV_POL_UNUSABLE:
			return "unusable value";
		case GOV_POL_DECIMAL:
			return "decimal";
		case GOV_POL_IPADDR:
			return "ipaddr";
		case GOV_POL_DATETIME:
			return "datetime";
		case GOV_POL_DURATION:
			return "duration";
	}
	return "value";
}

/* "a string", "an integer": for messages */
static const char *
kind_article(GovPolKind kind)
{
	switch (kind)
	{
		case GOV_POL_BOOL:
			return "a boolean";
		case GOV_POL_LONG:
			return "an integer";
		case GOV_POL_STRING:
			return "a string";
		case GOV_POL_ENTITY:
			return "an entity";
		case GOV_POL_SET:
			return "a set";
		case GOV_POL_RECORD:
			return "a record";
		case GOV_POL_UNUSABLE:
			return "an unusable value";
		case GOV_POL_DECIMAL:
			return "a decimal";
		case GOV_POL_IPADDR:
			return "an ipaddr";
		case GOV_POL_DATETIME:
			return "a datetime";
		case GOV_POL_DURATION:
			return "a duration";
	}
	return "a value";
}

static bool
is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

bool
gov_pol_valid_uid(const char *s, size_t len)
{
	size_t		i = 0;

	/* Type: ident (:: ident)* followed by :: */
	for (;;)
	{
		if (i >= len || !is_ident_start((unsigned char) s[i]))
			return false;
		while (i < len && is_ident_char((unsigned char) s[i]))
			i++;
		if (i + 2 > len || s[i] != ':' || s[i + 1] != ':')
			return false;
		i += 2;
		if (i < len && s[i] == '"')
			break;
	}
	i++;
	/* id: anything but NUL, with only \" and \\ escaped */
	while (i < len)
	{
		char		c = s[i];

		if (c == '\0')
			return false;
		if (c == '"')
			return i + 1 == len;
		if (c == '\\')
		{
			if (i + 1 >= len || (s[i + 1] != '"' && s[i + 1] != '\\'))
				return false;
			i += 2;
			continue;
		}
		i++;
	}
	return false;
}

/*
 * Copy at most max bytes of s for a message, cutting at a character
 * boundary and before any control character, so messages stay valid
 * UTF-8 and one line.  Sets *cut when something was left out.
 */
static size_t
excerpt_len(const char *s, size_t len, size_t max, bool *cut)
{
	size_t		n = 0;

	*cut = false;
	while (n < len)
	{
		unsigned char c = (unsigned char) s[n];
		size_t		clen = 1;
		size_t		k;

		if (c < 0x20 || c == 0x7f)
			break;
		if (c >= 0x80)
		{
			if (c >= 0xc2 && c <= 0xdf)
				clen = 2;
			else if (c >= 0xe0 && c <= 0xef)
				clen = 3;
			else if (c >= 0xf0 && c <= 0xf4)
				clen = 4;
			else
				break;
			if (n + clen > len)
				break;
			for (k = 1; k < clen; k++)
				if (((unsigned char) s[n + k] & 0xc0) != 0x80)
					break;
			if (k < clen)
				break;
		}
		if (n + clen > max)
			break;
		n += clen;
	}
	if (n < len)
		*cut = true;
	return n;
}

/* ---------------------------------------------------------------------
 * Extension types: decimal, ipaddr, datetime, duration (issue 17)
 *
 * Each constructor follows Cedar's parser exactly (what it accepts, what
 * it refuses, where it overflows): the differential test compares them
 * string by string.  Values are plain integers but for IP addresses.
 * ---------------------------------------------------------------------
 */

#define MS_PER_DAY		INT64_C(86400000)
#define MS_PER_HOUR		INT64_C(3600000)
#define MS_PER_MINUTE	INT64_C(60000)
#define MS_PER_SECOND	INT64_C(1000)

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * -?[0-9]+\.[0-9]{1,4}: the value times 10^4, within 64 bits (so from
 * -922337203685477.5808 to 922337203685477.5807).
 */
static const char *
parse_decimal(const char *s, size_t len, int64_t *out)
{
	size_t		i = 0;
	bool		neg = false;
	uint64_t	limit;
	uint64_t	mag = 0;
	bool		overflow = false;
	size_t		start;
	int			nfrac = 0;

	if (i < len && s[i] == '-')
	{
		neg = true;
		i++;
	}
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	start = i;
	for (; i < len && is_digit(s[i]); i++)
	{
		unsigned	d = (unsigned) (s[i] - '0');

		if (mag > (limit - d) / 10)
			overflow = true;
		else
			mag = mag * 10 + d;
	}
	if (i == start || i >= len || s[i] != '.')
		return "is not a well-formed decimal value";
	i++;
	start = i;
	for (; i < len && is_digit(s[i]); i++)
		nfrac++;
	if (i != len || nfrac == 0)
		return "is not a well-formed decimal value";
	if (nfrac > 4)
		return "has too many digits after the decimal point (the limit is 4)";
	if (overflow || mag > limit / 10000)
		return "overflows a decimal (the range is -922337203685477.5808 to 922337203685477.5807)";
	mag *= 10000;
	{
		uint64_t	frac = 0;
		int			k;

		for (k = 0; k < 4; k++)
			frac = frac * 10 + (k < nfrac ? (unsigned) (s[start + k] - '0') : 0);
		if (mag > limit - frac)
			return "overflows a decimal (the range is -922337203685477.5808 to 922337203685477.5807)";
		mag += frac;
	}
	*out = neg ? (mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag) : (int64_t) mag;
	return NULL;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Rust's Ipv4Addr parser: four decimal octets, no leading zero. */
static bool
parse_ipv4(const char *s, size_t len, uint8_t *addr)
{
	size_t		i = 0;
	int			k;

	for (k = 0; k < 4; k++)
	{
		size_t		start = i;
		unsigned	v = 0;

		if (k > 0)
		{
			if (i >= len || s[i] != '.')
				return false;
			start = ++i;
		}
		while (i < len && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned) (s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return false;
		addr[k] = (uint8_t) v;
	}
	return i == len;
}

/* one group of 1 to 4 hex digits at *i */
static bool
ipv6_group(const char *s, size_t len, size_t *i, unsigned *g)
{
	size_t		start = *i;
	unsigned	v = 0;

	while (*i < len && hex_digit(s[*i]) >= 0 && *i - start < 4)
		v = v * 16 + (unsigned) hex_digit(s[(*i)++]);
	*g = v;
	return *i > start;
}

/*
 * Rust's Ipv6Addr parser without the embedded IPv4 form (Cedar refuses
 * it): up to 8 groups, "::" once, standing for at least one group.
 */
static bool
parse_ipv6(const char *s, size_t len, uint8_t *addr)
{
	unsigned	head[8];
	unsigned	tail[8];
	int			nhead = 0;
	int			ntail = 0;
	size_t		i = 0;
	bool		gap = false;
	int			k;

	if (len >= 2 && s[0] == ':' && s[1] == ':')
	{
		gap = true;
		i = 2;
	}
	else
	{
		for (;;)
		{
			if (!ipv6_group(s, len, &i, &head[nhead]))
				return false;
			nhead++;
			if (nhead == 8)
				break;
			if (i + 1 < len && s[i] == ':' && s[i + 1] == ':')
			{
				gap = true;
				i += 2;
				break;
			}
			if (i < len && s[i] == ':')
			{
				i++;
				continue;
			}
			break;
		}
	}
	if (gap)
	{
		int			limit = 8 - nhead - 1;

		while (ntail < limit)
		{
			size_t		save = i;

			if (ntail > 0)
			{
				if (i >= len || s[i] != ':')
					break;
				i++;
			}
			if (!ipv6_group(s, len, &i, &tail[ntail]))
			{
				i = save;
				break;
			}
			ntail++;
		}
	}
	else if (nhead != 8)
		return false;
	if (i != len)
		return false;
	memset(addr, 0, 16);
	for (k = 0; k < nhead; k++)
	{
		addr[2 * k] = (uint8_t) (head[k] >> 8);
		addr[2 * k + 1] = (uint8_t) head[k];
	}
	for (k = 0; k < ntail; k++)
	{
		addr[16 - 2 * (ntail - k)] = (uint8_t) (tail[k] >> 8);
		addr[16 - 2 * (ntail - k) + 1] = (uint8_t) tail[k];
	}
	return true;
}

/* an address, IPv4 or IPv6, with an optional /prefix */
static const char *
parse_ip(const char *s, size_t len, GovPolIp *ip)
{
	size_t		alen = len;
	bool		colon = false;
	bool		dot = false;
	size_t		i;
	unsigned	max;

	memset(ip, 0, sizeof(GovPolIp));
	for (i = 0; i < len; i++)
		if (s[i] == '/')
		{
			alen = i;
			break;
		}
	for (i = 0; i < alen; i++)
	{
		colon |= s[i] == ':';
		dot |= s[i] == '.';
	}
	if (colon && dot)
		return "is an IPv4 address embedded in IPv6, which Cedar does not accept";
	ip->v6 = colon;
	if (colon ? !parse_ipv6(s, alen, ip->addr) : !parse_ipv4(s, alen, ip->addr))
		return "is not a valid IP address";
	max = colon ? 128 : 32;
	ip->prefix = (uint8_t) max;
	if (alen < len)
	{
		const char *p = s + alen + 1;
		size_t		plen = len - alen - 1;
		unsigned	v = 0;

		if (plen == 0 || plen > (colon ? 3 : 2))
			return "has an invalid prefix length";
		for (i = 0; i < plen; i++)
		{
			if (!is_digit(p[i]))
				return "has an invalid prefix length";
			v = v * 10 + (unsigned) (p[i] - '0');
		}
		if ((plen > 1 && p[0] == '0') || v > max)
			return "has an invalid prefix length";
		ip->prefix = (uint8_t) v;
	}
	return NULL;
}

/* days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe;
	unsigned	doy;
	unsigned	doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t) doe - 719468;
}

/* n ASCII digits at s[at] as a number; -1 if any is not a digit */
static int
digits_at(const char *s, size_t len, size_t at, int n)
{
	int			v = 0;
	int			k;

	if (at + (size_t) n > len)
		return -1;
	for (k = 0; k < n; k++)
	{
		if (!is_digit(s[at + k]))
			return -1;
		v = v * 10 + (s[at + k] - '0');
	}
	return v;
}

/*
 * YYYY-MM-DD, optionally followed by Thh:mm:ss, optional .SSS (exactly
 * three digits) and Z or an offset +hhmm / -hhmm: milliseconds since the
 * epoch.
 */
static const char *
parse_datetime(const char *s, size_t len, int64_t *out)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y = digits_at(s, len, 0, 4);
	int			mo = digits_at(s, len, 5, 2);
	int			d = digits_at(s, len, 8, 2);
	int64_t		ms;
	bool		leap;

	if (len < 10 || y < 0 || mo < 0 || d < 0 || s[4] != '-' || s[7] != '-')
		return "is not a well-formed datetime";
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 ||
		(unsigned) d > mdays[mo - 1] + (mo == 2 && leap ? 1 : 0))
		return "is not a valid date";
	ms = days_from_civil(y, (unsigned) mo, (unsigned) d) * MS_PER_DAY;
	if (len > 10)
	{
		int			h = digits_at(s, len, 11, 2);
		int			mi = digits_at(s, len, 14, 2);
		int			sec = digits_at(s, len, 17, 2);
		size_t		i = 19;

		if (s[10] != 'T' || h < 0 || mi < 0 || sec < 0 || s[13] != ':' || s[16] != ':')
			return "is not a well-formed datetime";
		if (h > 23 || mi > 59 || sec > 59)
			return "is not a valid time of day";
		ms += h * MS_PER_HOUR + mi * MS_PER_MINUTE + sec * MS_PER_SECOND;
		if (i < len && s[i] == '.')
		{
			int			frac = digits_at(s, len, i + 1, 3);

			if (frac < 0)
				return "is not a well-formed datetime";
			ms += frac;
			i += 4;
		}
		if (i == len)
			return "is not a well-formed datetime";
		if (i + 1 == len && s[i] == 'Z')
			i++;
		else if (i + 5 == len && (s[i] == '+' || s[i] == '-'))
		{
			int			oh = digits_at(s, len, i + 1, 2);
			int			om = digits_at(s, len, i + 3, 2);

			if (oh < 0 || om < 0)
				return "is not a well-formed datetime";
			if (oh > 23 || om > 59)
				return "has an invalid offset";
			/* local time minus the offset is UTC */
			ms += (s[i] == '+' ? -1 : 1) * (oh * MS_PER_HOUR + om * MS_PER_MINUTE);
			i += 5;
		}
		if (i != len)
			return "is not a well-formed datetime";
	}
	*out = ms;
	return NULL;
}

/*
 * -?(Nd)?(Nh)?(Nm)?(Ns)?(Nms)?, at least one unit, in that order: the
 * milliseconds, within 64 bits.
 */
static const char *
parse_duration(const char *s, size_t len, int64_t *out)
{
	static const int64_t unit_ms[] = {MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, 1};
	size_t		i = 0;
	bool		neg = false;
	uint64_t	limit;
	uint64_t	total = 0;
	bool		overflow = false;
	int			last = -1;

	if (i < len && s[i] == '-')
	{
		neg = true;
		i++;
	}
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	while (i < len)
	{
		size_t		start = i;
		uint64_t	v = 0;
		int			unit;

		for (; i < len && is_digit(s[i]); i++)
		{
			unsigned	d = (unsigned) (s[i] - '0');

			if (v > (limit - d) / 10)
				overflow = true;
			else
				v = v * 10 + d;
		}
		if (i == start || i >= len)
			return "is not a well-formed duration";
		if (s[i] == 'd')
			unit = 0;
		else if (s[i] == 'h')
			unit = 1;
		else if (s[i] == 'm' && i + 1 < len && s[i + 1] == 's')
		{
			unit = 4;
			i++;
		}
		else if (s[i] == 'm')
			unit = 2;
		else if (s[i] == 's')
			unit = 3;
		else
			return "is not a well-formed duration";
		i++;
		if (unit <= last)
			return "is not a well-formed duration";
		last = unit;
		if (!overflow)
		{
			if (v > limit / (uint64_t) unit_ms[unit])
				overflow = true;
			else
			{
				v *= (uint64_t) unit_ms[unit];
				if (total > limit - v)
					overflow = true;
				else
					total += v;
			}
		}
	}
	if (last < 0)
		return "is not a well-formed duration";
	if (overflow)
		return "overflows a duration (64-bit milliseconds)";
	*out = neg ? (total == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) total)
		: (int64_t) total;
	return NULL;
}

bool
gov_pol_extension_value(const char *fn, size_t fnlen, const char *arg, size_t len,
						GovPolIp *ip, GovPolValue *out, const char **why)
{
	const char *err;

	memset(out, 0, sizeof(GovPolValue));
	if (fnlen == 7 && memcmp(fn, "decimal", 7) == 0)
	{
		out->kind = GOV_POL_DECIMAL;
		err = parse_decimal(arg, len, &out->u.i);
	}
	else if (fnlen == 2 && memcmp(fn, "ip", 2) == 0)
	{
		out->kind = GOV_POL_IPADDR;
		err = parse_ip(arg, len, ip);
		out->u.ip = ip;
	}
	else if (fnlen == 8 && memcmp(fn, "datetime", 8) == 0)
	{
		out->kind = GOV_POL_DATETIME;
		err = parse_datetime(arg, len, &out->u.i);
	}
	else if (fnlen == 8 && memcmp(fn, "duration", 8) == 0)
	{
		out->kind = GOV_POL_DURATION;
		err = parse_duration(arg, len, &out->u.i);
	}
	else
		err = "unknown extension function";
	*why = err;
	return err == NULL;
}

/* the network address (the address masked by the prefix) into net */
static void
ip_network(const GovPolIp *ip, uint8_t *net, uint8_t *bcast)
{
	int			n = ip->v6 ? 16 : 4;
	int			k;

	for (k = 0; k < n; k++)
	{
		int			bits = ip->prefix - 8 * k;
		uint8_t		mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));

		net[k] = ip->addr[k] & mask;
		bcast[k] = net[k] | (uint8_t) ~mask;
	}
}

/* Cedar's isInRange: a's range lies within b's (same family) */
static bool
ip_in_range(const GovPolIp *a, const GovPolIp *b)
{
	uint8_t		an[16],
				ab[16],
				bn[16],
				bb[16];
	int			n = a->v6 ? 16 : 4;

	if (a->v6 != b->v6)
		return false;
	ip_network(a, an, ab);
	ip_network(b, bn, bb);
	return memcmp(bn, an, n) <= 0 && memcmp(ab, bb, n) <= 0;
}

static bool
ip_eq(const GovPolIp *a, const GovPolIp *b)
{
	return a->v6 == b->v6 && a->prefix == b->prefix &&
		memcmp(a->addr, b->addr, a->v6 ? 16 : 4) == 0;
}

/* ---------------------------------------------------------------------
 * Lexer
 * ---------------------------------------------------------------------
 */

typedef enum TokKind
{
	T_EOF,
	T_IDENT,
	T_STRING,
	T_INT,
	T_LPAREN,
	T_RPAREN,
	T_LBRACKET,
	T_RBRACKET,
	T_LBRACE,
	T_RBRACE,
	T_COMMA,
	T_SEMI,
	T_DOT,
	T_COLONCOLON,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_AND,
	T_OR,
	T_NOT,
	T_PLUS,
	T_MINUS,
	T_STAR,
	T_AT,
	T_QUESTION,
	T_COLON,
	T_INVALID,					/* a character that starts no token */
	T_BADSTRING					/* unterminated, or a bad escape */
} TokKind;

typedef struct Token
{
	TokKind		kind;
	const char *start;
	size_t		len;
	int			line;
	int			col;
	/* T_STRING: where the first \* escape is (line 0: none) */
	int			star_line;
	int			star_col;
	/* T_BADSTRING: where and what */
	int			err_line;
	int			err_col;
	const char *err_at;			/* the bad escape, or NULL: unterminated */
	size_t		err_len;
} Token;

typedef struct Lexer
{
	const char *src;
	size_t		len;
	size_t		pos;
	int			line;
	int			col;
} Lexer;

static void
lx_advance(Lexer *lx, size_t n)
{
	while (n-- > 0 && lx->pos < lx->len)
	{
		unsigned char c = (unsigned char) lx->src[lx->pos++];

		if (c == '\n')
		{
			lx->line++;
			lx->col = 1;
		}
		else if ((c & 0xc0) != 0x80)
			lx->col++;
	}
}

static int
lx_peek(const Lexer *lx, size_t off)
{
	return lx->pos + off < lx->len ? (unsigned char) lx->src[lx->pos + off] : -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Scan one escape starting at the backslash at src[i].  Returns its length,
 * or 0 if it is not valid; *cp gets the code point (-1 for \*).
 */
static size_t
scan_escape(const char *src, size_t len, size_t i, long *cp)
{
	int			c = i + 1 < len ? (unsigned char) src[i + 1] : -1;

	switch (c)
	{
		case '\\':
			*cp = '\\';
			return 2;
		case '"':
			*cp = '"';
			return 2;
		case '\'':
			*cp = '\'';
			return 2;
		case 'n':
			*cp = '\n';
			return 2;
		case 'r':
			*cp = '\r';
			return 2;
		case 't':
			*cp = '\t';
			return 2;
		case '0':
			*cp = 0;
			return 2;
		case 'x':
			{
				int			h1 = i + 2 < len ? hexval((unsigned char) src[i + 2]) : -1;
				int			h2 = i + 3 < len ? hexval((unsigned char) src[i + 3]) : -1;

				/* two hex digits, ASCII only (as Cedar) */
				if (h1 < 0 || h2 < 0 || h1 * 16 + h2 > 0x7f)
					return 0;
				*cp = h1 * 16 + h2;
				return 4;
			}
		case '*':
			*cp = -1;
			return 2;
		case 'u':
			{
				size_t		j = i + 2;
				long		v = 0;
				int			digits = 0;

				if (j >= len || src[j] != '{')
					return 0;
				j++;
				while (j < len && hexval((unsigned char) src[j]) >= 0 && digits < 6)
				{
					v = v * 16 + hexval((unsigned char) src[j]);
					j++;
					digits++;
				}
				if (digits == 0 || j >= len || src[j] != '}')
					return 0;
				if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
					return 0;
				*cp = v;
				return j + 1 - i;
			}
		default:
			return 0;
	}
}

static void
lx_next(Lexer *lx, Token *t)
{
	int			c;

	memset(t, 0, sizeof(Token));

	/* whitespace and // comments */
	for (;;)
	{
		c = lx_peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
			lx_advance(lx, 1);
		else if (c == '/' && lx_peek(lx, 1) == '/')
		{
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
				lx_advance(lx, 1);
		}
		else
			break;
	}

	t->start = lx->src + lx->pos;
	t->line = lx->line;
	t->col = lx->col;

	if (c < 0)
	{
		t->kind = T_EOF;
		return;
	}

	if (is_ident_start(c))
	{
		size_t		n = 1;

		while (is_ident_char(lx_peek(lx, n)))
			n++;
		t->kind = T_IDENT;
		t->len = n;
		lx_advance(lx, n);
		return;
	}
	if (c >= '0' && c <= '9')
	{
		size_t		n = 1;

		while (lx_peek(lx, n) >= '0' && lx_peek(lx, n) <= '9')
			n++;
		t->kind = T_INT;
		t->len = n;
		lx_advance(lx, n);
		return;
	}
	if (c == '"')
	{
		size_t		start = lx->pos;

		t->kind = T_STRING;
		lx_advance(lx, 1);
		for (;;)
		{
			int			d = lx_peek(lx, 0);

			if (d < 0)
			{
				t->kind = T_BADSTRING;
				t->err_line = lx->line;
				t->err_col = lx->col;
				t->err_at = NULL;
				break;
			}
			if (d == '"')
			{
				lx_advance(lx, 1);
				break;
			}
			if (d == '\\')
			{
				long		cp;
				size_t		elen = scan_escape(lx->src, lx->len, lx->pos, &cp);

				if (elen == 0)
				{
					if (t->kind != T_BADSTRING)
					{
						size_t		shown = 2;

						t->kind = T_BADSTRING;
						t->err_line = lx->line;
						t->err_col = lx->col;
						t->err_at = lx->src + lx->pos;
						if (lx->pos + 1 < lx->len && lx_peek(lx, 1) == 'u')
						{
							/* show \u{... up to its end, within reason */
							while (lx->pos + shown < lx->len && shown < 12 &&
								   lx->src[lx->pos + shown] != '"' &&
								   lx->src[lx->pos + shown - 1] != '}')
								shown++;
						}
						else if (lx->pos + 1 < lx->len && lx_peek(lx, 1) == 'x')
						{
							/* \x and up to two hex digits */
							while (shown < 4 && lx->pos + shown < lx->len &&
								   hexval((unsigned char) lx->src[lx->pos + shown]) >= 0)
								shown++;
						}
						if (lx->pos + shown > lx->len)
							shown = lx->len - lx->pos;
						t->err_len = shown;
					}
					lx_advance(lx, 1);
					continue;
				}
				if (cp == -1 && t->star_line == 0)
				{
					t->star_line = lx->line;
					t->star_col = lx->col;
				}
				lx_advance(lx, elen);
				continue;
			}
			if (d == 0)
			{
				/* NUL cannot be stored in PostgreSQL text */
				if (t->kind != T_BADSTRING)
				{
					t->kind = T_BADSTRING;
					t->err_line = lx->line;
					t->err_col = lx->col;
					t->err_at = lx->src + lx->pos;
					t->err_len = 1;
				}
			}
			lx_advance(lx, 1);
		}
		t->len = lx->pos - start;
		return;
	}

	t->len = 1;
	switch (c)
	{
		case '(':
			t->kind = T_LPAREN;
			break;
		case ')':
			t->kind = T_RPAREN;
			break;
		case '[':
			t->kind = T_LBRACKET;
			break;
		case ']':
			t->kind = T_RBRACKET;
			break;
		case '{':
			t->kind = T_LBRACE;
			break;
		case '}':
			t->kind = T_RBRACE;
			break;
		case ',':
			t->kind = T_COMMA;
			break;
		case ';':
			t->kind = T_SEMI;
			break;
		case '.':
			t->kind = T_DOT;
			break;
		case '+':
			t->kind = T_PLUS;
			break;
		case '-':
			t->kind = T_MINUS;
			break;
		case '*':
			t->kind = T_STAR;
			break;
		case '@':
			t->kind = T_AT;
			break;
		case '?':
			t->kind = T_QUESTION;
			break;
		case ':':
			if (lx_peek(lx, 1) == ':')
			{
				t->kind = T_COLONCOLON;
				t->len = 2;
			}
			else
				t->kind = T_COLON;
			break;
		case '=':
			if (lx_peek(lx, 1) == '=')
			{
				t->kind = T_EQ;
				t->len = 2;
			}
			else
				t->kind = T_INVALID;
			break;
		case '!':
			if (lx_peek(lx, 1) == '=')
			{
				t->kind = T_NE;
				t->len = 2;
			}
			else
				t->kind = T_NOT;
			break;
		case '<':
			if (lx_peek(lx, 1) == '=')
			{
				t->kind = T_LE;
				t->len = 2;
			}
			else
				t->kind = T_LT;
			break;
		case '>':
			if (lx_peek(lx, 1) == '=')
			{
				t->kind = T_GE;
				t->len = 2;
			}
			else
				t->kind = T_GT;
			break;
		case '&':
			if (lx_peek(lx, 1) == '&')
			{
				t->kind = T_AND;
				t->len = 2;
			}
			else
				t->kind = T_INVALID;
			break;
		case '|':
			if (lx_peek(lx, 1) == '|')
			{
				t->kind = T_OR;
				t->len = 2;
			}
			else
				t->kind = T_INVALID;
			break;
		default:
			t->kind = T_INVALID;
			if (c >= 0x80)
			{
				bool		cut;
				size_t		n = excerpt_len(t->start, lx->len - lx->pos, 4, &cut);
				size_t		clen = 1;

				/* one whole character when it is valid UTF-8 */
				if (c >= 0xc2 && c <= 0xdf)
					clen = 2;
				else if (c >= 0xe0 && c <= 0xef)
					clen = 3;
				else if (c >= 0xf0 && c <= 0xf4)
					clen = 4;
				if (n >= clen)
					t->len = clen;
			}
			break;
	}
	lx_advance(lx, t->len);
}

/* ---------------------------------------------------------------------
 * Compiled form
 * ---------------------------------------------------------------------
 */

typedef enum NodeKind
{
	N_LIT,
	N_VAR,
	N_ATTR,
	N_HAS,
	N_EQ,
	N_NE,
	N_LT,
	N_LE,
	N_GT,
	N_GE,
	N_IN,
	N_LIKE,
	N_AND,
	N_OR,
	N_NOT,
	N_NEG,
	N_ADD,
	N_MUL,
	N_IF,
	N_SET,
	N_CONTAINS,
	N_CONTAINS_ALL,
	N_CONTAINS_ANY,
	N_IS,						/* kids[0] is entity type "name" */
	N_IS_EMPTY,
	N_RECORD,					/* fields keys[i] = kids[i], sorted by key */
	N_HAS_TAG,					/* e.hasTag(k) */
	N_GET_TAG,					/* e.getTag(k) */
	N_EXT						/* extension call ext: kids are its arguments,
								 * a method's receiver first */
} NodeKind;

/* Cedar's extension functions and methods */
typedef enum ExtOp
{
	X_DECIMAL,
	X_IP,
	X_DATETIME,
	X_DURATION,
	X_LESS_THAN,
	X_LESS_THAN_OR_EQUAL,
	X_GREATER_THAN,
	X_GREATER_THAN_OR_EQUAL,
	X_IS_IPV4,
	X_IS_IPV6,
	X_IS_LOOPBACK,
	X_IS_MULTICAST,
	X_IS_IN_RANGE,
	X_OFFSET,
	X_DURATION_SINCE,
	X_TO_DATE,
	X_TO_TIME,
	X_TO_DAYS,
	X_TO_HOURS,
	X_TO_MINUTES,
	X_TO_SECONDS,
	X_TO_MILLISECONDS
} ExtOp;

typedef struct ExtInfo
{
	const char *name;
	bool		function;		/* f(x), else a method x.f(...) */
	uint32_t	arity;			/* arguments, a method's receiver included */
	GovPolKind	self;			/* the kind of the first argument */
	GovPolKind	other;			/* of the second, if any */
} ExtInfo;

static const ExtInfo ext_info[] = {
	[X_DECIMAL] = {"decimal", true, 1, GOV_POL_STRING, GOV_POL_STRING},
	[X_IP] = {"ip", true, 1, GOV_POL_STRING, GOV_POL_STRING},
	[X_DATETIME] = {"datetime", true, 1, GOV_POL_STRING, GOV_POL_STRING},
	[X_DURATION] = {"duration", true, 1, GOV_POL_STRING, GOV_POL_STRING},
	[X_LESS_THAN] = {"lessThan", false, 2, GOV_POL_DECIMAL, GOV_POL_DECIMAL},
	[X_LESS_THAN_OR_EQUAL] = {"lessThanOrEqual", false, 2, GOV_POL_DECIMAL, GOV_POL_DECIMAL},
	[X_GREATER_THAN] = {"greaterThan", false, 2, GOV_POL_DECIMAL, GOV_POL_DECIMAL},
	[X_GREATER_THAN_OR_EQUAL] = {"greaterThanOrEqual", false, 2, GOV_POL_DECIMAL, GOV_POL_DECIMAL},
	[X_IS_IPV4] = {"isIpv4", false, 1, GOV_POL_IPADDR, GOV_POL_IPADDR},
	[X_IS_IPV6] = {"isIpv6", false, 1, GOV_POL_IPADDR, GOV_POL_IPADDR},
	[X_IS_LOOPBACK] = {"isLoopback", false, 1, GOV_POL_IPADDR, GOV_POL_IPADDR},
	[X_IS_MULTICAST] = {"isMulticast", false, 1, GOV_POL_IPADDR, GOV_POL_IPADDR},
	[X_IS_IN_RANGE] = {"isInRange", false, 2, GOV_POL_IPADDR, GOV_POL_IPADDR},
	[X_OFFSET] = {"offset", false, 2, GOV_POL_DATETIME, GOV_POL_DURATION},
	[X_DURATION_SINCE] = {"durationSince", false, 2, GOV_POL_DATETIME, GOV_POL_DATETIME},
	[X_TO_DATE] = {"toDate", false, 1, GOV_POL_DATETIME, GOV_POL_DATETIME},
	[X_TO_TIME] = {"toTime", false, 1, GOV_POL_DATETIME, GOV_POL_DATETIME},
	[X_TO_DAYS] = {"toDays", false, 1, GOV_POL_DURATION, GOV_POL_DURATION},
	[X_TO_HOURS] = {"toHours", false, 1, GOV_POL_DURATION, GOV_POL_DURATION},
	[X_TO_MINUTES] = {"toMinutes", false, 1, GOV_POL_DURATION, GOV_POL_DURATION},
	[X_TO_SECONDS] = {"toSeconds", false, 1, GOV_POL_DURATION, GOV_POL_DURATION},
	[X_TO_MILLISECONDS] = {"toMilliseconds", false, 1, GOV_POL_DURATION, GOV_POL_DURATION},
};

/* gov_pol_expr_info relies on the public kinds following the node kinds */
typedef char node_kinds_match[(int) N_EXT == (int) GOV_POL_E_EXT &&
							  (int) N_IS == (int) GOV_POL_E_IS ? 1 : -1];

#define N_EXT_OPS ((int) (sizeof(ext_info) / sizeof(ext_info[0])))

/* the extension function or method of this name, or -1 */
static int
ext_lookup(const char *name, size_t len)
{
	int			k;

	for (k = 0; k < N_EXT_OPS; k++)
		if (strlen(ext_info[k].name) == len && memcmp(ext_info[k].name, name, len) == 0)
			return k;
	return -1;
}

typedef enum VarKind
{
	V_PRINCIPAL,
	V_ACTION,
	V_RESOURCE,
	V_CONTEXT
} VarKind;

/* A "like" pattern: literal segments separated by wildcards. */
typedef struct PatSeg
{
	const char *p;
	uint32_t	len;
	const uint32_t *fail;		/* KMP failure function */
} PatSeg;

typedef struct Pattern
{
	bool		lead_star;
	bool		trail_star;
	bool		has_star;
	uint32_t	nseg;
	PatSeg	   *segs;
} Pattern;

typedef struct Node Node;

struct Node
{
	NodeKind	kind;
	int			height;
	VarKind		var;			/* N_VAR */
	uint32_t	pos;			/* byte offset of its start in the source
								 * (schema validation); fills a hole */
	GovPolValue lit;			/* N_LIT */
	GovPolStr	name;			/* N_ATTR, N_HAS; N_IS: the entity type */
	GovPolStr  *keys;			/* N_RECORD */
	const Pattern *pat;			/* N_LIKE */
	ExtOp		ext;			/* N_EXT */
	uint32_t	nkids;
	Node	  **kids;
	char	   *ops;			/* N_ADD: '+' or '-' before kids[i], i >= 1 */
};

typedef enum ScopeKind
{
	S_ANY,
	S_EQ,
	S_IN,
	S_IN_SET
} ScopeKind;

typedef struct Scope
{
	ScopeKind	kind;
	uint32_t	n;
	GovPolStr  *uids;
	GovPolStr	is_type;		/* "principal is T ...": T; len 0 when none */
	bool		slot;			/* a template's ?principal or ?resource */
	size_t		slot_start;		/* its bytes in the source */
	size_t		slot_end;
	int			line;			/* where the scope's variable is */
	int			col;
} Scope;

typedef struct Cond
{
	bool		is_when;
	Node	   *expr;
} Cond;

struct GovPolicy
{
	bool		permit;
	uint32_t	nannot;			/* annotations, in source order */
	GovPolStr  *annot_keys;
	GovPolStr  *annot_vals;
	size_t		src_start;		/* the statement's bytes in the source */
	size_t		src_end;
	Scope		principal;
	Scope		action;
	Scope		resource;
	uint32_t	ncond;
	Cond	   *conds;
	const char *src;			/* the source parsed (gov_pol_walk_refs) */
};

bool
gov_pol_is_permit(const GovPolicy *p)
{
	return p->permit;
}

void
gov_pol_scope_info(const GovPolicy *p, GovPolVar var, GovPolScopeInfo *out)
{
	const Scope *sc = &p->resource;

	if (var == GOV_POL_VAR_PRINCIPAL)
		sc = &p->principal;
	else if (var == GOV_POL_VAR_ACTION)
		sc = &p->action;

	out->kind = sc->kind == S_ANY ? GOV_POL_SCOPE_ANY :
		sc->kind == S_EQ ? GOV_POL_SCOPE_EQ :
		sc->kind == S_IN ? GOV_POL_SCOPE_IN : GOV_POL_SCOPE_IN_SET;
	out->n = sc->n;
	out->uids = sc->uids;
	out->is_type = sc->is_type;
	out->slot = sc->slot;
	out->line = sc->line;
	out->col = sc->col;
}

/* Line and column (1-based, in characters) of byte pos, as the lexer counts. */
static void
pos_line_col(const char *src, uint32_t pos, int *line, int *col)
{
	uint32_t	i;

	*line = 1;
	*col = 1;
	for (i = 0; i < pos; i++)
	{
		unsigned char c = (unsigned char) src[i];

		if (c == '\n')
		{
			(*line)++;
			*col = 1;
		}
		else if ((c & 0xc0) != 0x80)
			(*col)++;
	}
}

static bool
walk_refs(const char *src, const Node *n, GovPolRefFn fn, void *arg)
{
	uint32_t	i;
	int			line;
	int			col;

	if (n->kind == N_ATTR && n->kids[0]->kind == N_VAR)
	{
		const Node *v = n->kids[0];
		GovPolVar	var = GOV_POL_VAR_CONTEXT;

		if (v->var == V_PRINCIPAL)
			var = GOV_POL_VAR_PRINCIPAL;
		else if (v->var == V_ACTION)
			var = GOV_POL_VAR_ACTION;
		else if (v->var == V_RESOURCE)
			var = GOV_POL_VAR_RESOURCE;

		pos_line_col(src, v->pos, &line, &col);
		if (!fn(arg, GOV_POL_REF_ATTR, var, n->name, line, col))
			return false;
	}
	if (n->kind == N_LIT && n->lit.kind == GOV_POL_ENTITY)
	{
		pos_line_col(src, n->pos, &line, &col);
		if (!fn(arg, GOV_POL_REF_ENTITY, GOV_POL_VAR_CONTEXT, n->lit.u.s, line, col))
			return false;
	}
	if (n->kind == N_IS)
	{
		pos_line_col(src, n->pos, &line, &col);
		if (!fn(arg, GOV_POL_REF_TYPE, GOV_POL_VAR_CONTEXT, n->name, line, col))
			return false;
	}
	for (i = 0; i < n->nkids; i++)
		if (!walk_refs(src, n->kids[i], fn, arg))
			return false;
	return true;
}

bool
gov_pol_walk_refs(const GovPolicy *p, GovPolRefFn fn, void *arg)
{
	uint32_t	i;

	for (i = 0; i < p->ncond; i++)
		if (!walk_refs(p->src, p->conds[i].expr, fn, arg))
			return false;
	return true;
}

uint32_t
gov_pol_cond_count(const GovPolicy *p)
{
	return p->ncond;
}

const GovPolExpr *
gov_pol_cond(const GovPolicy *p, uint32_t i, bool *is_when)
{
	*is_when = p->conds[i].is_when;
	return (const GovPolExpr *) p->conds[i].expr;
}

void
gov_pol_expr_info(const GovPolExpr *e, GovPolExprInfo *out)
{
	const Node *n = (const Node *) e;

	/* the public kinds are the node kinds, in the same order */
	out->kind = (GovPolExprKind) n->kind;
	out->var = n->var == V_PRINCIPAL ? GOV_POL_VAR_PRINCIPAL :
		n->var == V_ACTION ? GOV_POL_VAR_ACTION :
		n->var == V_RESOURCE ? GOV_POL_VAR_RESOURCE : GOV_POL_VAR_CONTEXT;
	out->lit = &n->lit;
	out->name = n->name;
	out->method = false;
	if (n->kind == N_EXT)
	{
		out->name.p = ext_info[n->ext].name;
		out->name.len = (uint32_t) strlen(ext_info[n->ext].name);
		out->method = !ext_info[n->ext].function;
	}
	out->keys = n->keys;
	out->nkids = n->nkids;
	out->kids = (const GovPolExpr *const *) n->kids;
}

void
gov_pol_expr_where(const GovPolicy *p, const GovPolExpr *e, int *line, int *col)
{
	const Node *n = (const Node *) e;

	/* an operator's node starts where its left operand does */
	for (;;)
	{
		switch (n->kind)
		{
			case N_ATTR:
			case N_HAS:
			case N_EQ:
			case N_NE:
			case N_LT:
			case N_LE:
			case N_GT:
			case N_GE:
			case N_IN:
			case N_LIKE:
			case N_AND:
			case N_OR:
			case N_ADD:
			case N_MUL:
			case N_CONTAINS:
			case N_CONTAINS_ALL:
			case N_CONTAINS_ANY:
			case N_IS:
			case N_IS_EMPTY:
			case N_HAS_TAG:
			case N_GET_TAG:
				n = n->kids[0];
				continue;
			case N_EXT:
				if (!ext_info[n->ext].function)
				{
					n = n->kids[0];
					continue;
				}
				break;
			default:
				break;
		}
		break;
	}
	pos_line_col(p->src, n->pos, line, col);
}

/* ---------------------------------------------------------------------
 * Parser
 * ---------------------------------------------------------------------
 */

typedef struct Parser
{
	GovPolArena *arena;
	Lexer		lx;
	Token		cur;
	Token		next;
	int			nesting;
	bool		failed;
	bool		template;		/* slots allowed: gov_pol_parse_template */
	GovPolError *err;
} Parser;

static void
p_advance(Parser *P)
{
	P->cur = P->next;
	lx_next(&P->lx, &P->next);
}

static void p_error_at(Parser *P, int line, int col, const char *fmt,...) POL_PRINTF(4, 5);

static void
p_error_at(Parser *P, int line, int col, const char *fmt,...)
{
	int			n;
	va_list		ap;

	if (P->failed)
		return;
	P->failed = true;
	P->err->line = line;
	P->err->column = col;
	n = snprintf(P->err->message, GOV_POL_ERRMSG_LEN, "line %d, column %d: ", line, col);
	if (n < 0 || n >= GOV_POL_ERRMSG_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(P->err->message + n, GOV_POL_ERRMSG_LEN - n, fmt, ap);
	va_end(ap);
}

static void
describe_token(const Token *t, char *buf, size_t size)
{
	bool		cut;
	size_t		n;

	switch (t->kind)
	{
		case T_EOF:
			snprintf(buf, size, "end of input");
			return;
		case T_STRING:
		case T_BADSTRING:
			{
				const char *body = t->start + 1;
				size_t		blen = t->len >= 2 ? t->len - 2 : 0;

				if (t->kind == T_BADSTRING || t->len < 2)
					blen = t->len - 1;
				n = excerpt_len(body, blen, 32, &cut);
				snprintf(buf, size, "string \"%.*s%s\"", (int) n, body, cut ? "..." : "");
				return;
			}
		case T_INVALID:
			{
				unsigned char c = (unsigned char) t->start[0];

				if (c < 0x20 || c == 0x7f || (c >= 0x80 && t->len == 1))
					snprintf(buf, size, "byte 0x%02x", c);
				else
					snprintf(buf, size, "\"%.*s\"", (int) t->len, t->start);
				return;
			}
		default:
			n = excerpt_len(t->start, t->len, 32, &cut);
			snprintf(buf, size, "\"%.*s%s\"", (int) n, t->start, cut ? "..." : "");
			return;
	}
}

/* "expected X, found <the current token>" */
static void
p_expected(Parser *P, const char *what)
{
	char		found[64];
	const Token *t = &P->cur;

	if (P->failed)
		return;
	if (t->kind == T_BADSTRING)
	{
		if (t->err_at == NULL)
			p_error_at(P, t->err_line, t->err_col,
					   "expected a closing quote for the string starting at line %d, column %d, found end of input",
					   t->line, t->col);
		else if (t->err_at[0] == '\0')
			p_error_at(P, t->err_line, t->err_col,
					   "expected a character, found byte 0x00 in a string");
		else
		{
			bool		cut;
			size_t		n = excerpt_len(t->err_at, t->err_len, 12, &cut);

			p_error_at(P, t->err_line, t->err_col,
					   "expected an escape sequence (\\\\ \\\" \\' \\n \\r \\t \\0 \\xHH \\u{hex}), found \"%.*s\"",
					   (int) n, t->err_at);
		}
		return;
	}
	describe_token(t, found, sizeof(found));
	p_error_at(P, t->line, t->col, "expected %s, found %s", what, found);
}

static bool
tok_is(const Token *t, const char *kw)
{
	size_t		n = strlen(kw);

	return t->kind == T_IDENT && t->len == n && memcmp(t->start, kw, n) == 0;
}

/*
 * Cedar's reserved words: never an attribute name, a record key, a part of
 * an entity type, nor a name after "has" or "is".
 */
static bool
is_reserved(const Token *t)
{
	static const char *const words[] = {
		"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"
	};
	size_t		i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (tok_is(t, words[i]))
			return true;
	return false;
}

/* The current token is an identifier: refuse it if it is reserved. */
static bool
p_not_reserved(Parser *P, const char *what)
{
	if (P->failed)
		return false;
	if (is_reserved(&P->cur))
	{
		p_error_at(P, P->cur.line, P->cur.col, "expected %s, found the reserved word \"%.*s\"",
				   what, (int) P->cur.len, P->cur.start);
		return false;
	}
	return true;
}

static bool
p_accept(Parser *P, TokKind k)
{
	if (P->cur.kind == k)
	{
		p_advance(P);
		return true;
	}
	return false;
}

static bool
p_expect(Parser *P, TokKind k, const char *what)
{
	if (P->failed)
		return false;
	if (p_accept(P, k))
		return true;
	p_expected(P, what);
	return false;
}

static bool
p_expect_kw(Parser *P, const char *kw, const char *what)
{
	if (P->failed)
		return false;
	if (tok_is(&P->cur, kw))
	{
		p_advance(P);
		return true;
	}
	p_expected(P, what);
	return false;
}

static void *
p_alloc(Parser *P, size_t size)
{
	void	   *p = gov_pol_alloc(P->arena, size);

	if (p == NULL)
		p_error_at(P, P->cur.line, P->cur.col, "policy too large to compile");
	return p;
}

static Node *
mk_node(Parser *P, NodeKind kind, uint32_t nkids)
{
	Node	   *n = p_alloc(P, sizeof(Node));

	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(Node));
	n->kind = kind;
	n->pos = (uint32_t) (P->cur.start - P->lx.src);
	n->height = 1;
	n->nkids = nkids;
	if (nkids > 0)
	{
		n->kids = p_alloc(P, sizeof(Node *) * nkids);
		if (n->kids == NULL)
			return NULL;
	}
	return n;
}

/* Set the node's height from its children; refuse trees that are too tall. */
static Node *
finish_node(Parser *P, Node *n, int line, int col)
{
	uint32_t	i;
	int			h = 0;

	if (n == NULL)
		return NULL;
	for (i = 0; i < n->nkids; i++)
		if (n->kids[i]->height > h)
			h = n->kids[i]->height;
	n->height = h + 1;
	if (n->height > GOV_POL_MAX_NESTING)
	{
		p_error_at(P, line, col, "expression nested too deeply (the limit is %d levels)",
				   GOV_POL_MAX_NESTING);
		return NULL;
	}
	return n;
}

static Node *
mk_binary(Parser *P, NodeKind kind, Node *l, Node *r, int line, int col)
{
	Node	   *n = mk_node(P, kind, 2);

	if (n == NULL)
		return NULL;
	n->kids[0] = l;
	n->kids[1] = r;
	return finish_node(P, n, line, col);
}

/*
 * Decode the body of a string token.  As a pattern, \* is a literal star
 * and a bare * a wildcard (marked in *wild, one flag per output byte);
 * otherwise \* is refused.
 */
static char *
decode_string(Parser *P, const Token *t, uint32_t *outlen, bool pattern, bool **wild)
{
	const char *s = t->start + 1;
	size_t		len = t->len - 2;
	char	   *out;
	bool	   *w = NULL;
	size_t		i = 0;
	size_t		o = 0;

	if (!pattern && t->star_line != 0)
	{
		p_error_at(P, t->star_line, t->star_col,
				   "expected an escape sequence (\\\\ \\\" \\' \\n \\r \\t \\0 \\xHH \\u{hex}), found \"\\*\" outside a like pattern");
		return NULL;
	}
	if (len > UINT32_MAX - 1)
	{
		p_error_at(P, t->line, t->col, "string literal too long");
		return NULL;
	}
	out = p_alloc(P, len + 1);
	if (out == NULL)
		return NULL;
	if (pattern)
	{
		w = p_alloc(P, (len + 1) * sizeof(bool));
		if (w == NULL)
			return NULL;
	}
	while (i < len)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '\\')
		{
			long		cp = 0;
			size_t		elen = scan_escape(s, len, i, &cp);

			/* the lexer only lets valid escapes through */
			if (elen == 0)
			{
				p_error_at(P, t->line, t->col, "invalid escape in string");
				return NULL;
			}
			i += elen;
			if (cp == -1)
			{
				if (w)
					w[o] = false;
				out[o++] = '*';
			}
			else if (cp < 0x80)
			{
				if (w)
					w[o] = false;
				out[o++] = (char) cp;
			}
			else
			{
				char		buf[4];
				int			n;
				int			k;

				if (cp < 0x800)
				{
					buf[0] = (char) (0xc0 | (cp >> 6));
					buf[1] = (char) (0x80 | (cp & 0x3f));
					n = 2;
				}
				else if (cp < 0x10000)
				{
					buf[0] = (char) (0xe0 | (cp >> 12));
					buf[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
					buf[2] = (char) (0x80 | (cp & 0x3f));
					n = 3;
				}
				else
				{
					buf[0] = (char) (0xf0 | (cp >> 18));
					buf[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
					buf[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
					buf[3] = (char) (0x80 | (cp & 0x3f));
					n = 4;
				}
				/* an escape is never shorter than its UTF-8 encoding */
				for (k = 0; k < n; k++)
				{
					if (w)
						w[o] = false;
					out[o++] = buf[k];
				}
			}
			continue;
		}
		if (w)
			w[o] = (c == '*');
		out[o++] = (char) c;
		i++;
	}
	out[o] = '\0';
	*outlen = (uint32_t) o;
	if (wild)
		*wild = w;
	return out;
}

/* Canonical uid text of an entity: Type::"id" with " and \ escaped. */
static bool
make_uid(Parser *P, const char *type, size_t tlen, const char *id, uint32_t idlen,
		 GovPolStr *out)
{
	size_t		extra = 0;
	size_t		i;
	size_t		total;
	char	   *buf;
	size_t		o = 0;

	for (i = 0; i < idlen; i++)
		if (id[i] == '"' || id[i] == '\\')
			extra++;
	total = tlen + 2 + 1 + idlen + extra + 1;
	if (total > UINT32_MAX - 1)
	{
		p_error_at(P, P->cur.line, P->cur.col, "entity literal too long");
		return false;
	}
	buf = p_alloc(P, total + 1);
	if (buf == NULL)
		return false;
	memcpy(buf, type, tlen);
	o = tlen;
	buf[o++] = ':';
	buf[o++] = ':';
	buf[o++] = '"';
	for (i = 0; i < idlen; i++)
	{
		if (id[i] == '"' || id[i] == '\\')
			buf[o++] = '\\';
		buf[o++] = id[i];
	}
	buf[o++] = '"';
	buf[o] = '\0';
	out->p = buf;
	out->len = (uint32_t) o;
	return true;
}

/* An entity type's text without any whitespace or comments around "::". */
static bool
squeeze_type(Parser *P, const char *start, size_t len, GovPolStr *out)
{
	const char *s = start;
	const char *end = start + len;
	char	   *type = p_alloc(P, len + 1);
	size_t		o = 0;

	if (type == NULL)
		return false;
	while (s < end)
	{
		if (is_ident_char((unsigned char) *s) || *s == ':')
			type[o++] = *s++;
		else if (*s == '/' && s + 1 < end && s[1] == '/')
		{
			while (s < end && *s != '\n')
				s++;
		}
		else
			s++;
	}
	type[o] = '\0';
	out->p = type;
	out->len = (uint32_t) o;
	return true;
}

/*
 * Entity literal: Ident {"::" Ident} "::" String.  The caller has checked
 * that the current token is an identifier followed by "::" when ident_ok.
 */
static bool
parse_entity(Parser *P, GovPolStr *out)
{
	const char *tstart;
	size_t		tlen;
	uint32_t	idlen;
	char	   *id;

	if (P->cur.kind != T_IDENT)
	{
		p_expected(P, "an entity literal such as Type::\"id\"");
		return false;
	}
	if (!p_not_reserved(P, "an entity type"))
		return false;
	tstart = P->cur.start;
	tlen = P->cur.len;
	p_advance(P);
	for (;;)
	{
		if (!p_expect(P, T_COLONCOLON, "\"::\""))
			return false;
		if (P->cur.kind == T_STRING)
			break;
		if (P->cur.kind != T_IDENT)
		{
			p_expected(P, "a type name or a quoted entity id");
			return false;
		}
		if (!p_not_reserved(P, "a type name"))
			return false;
		/* the type's text runs contiguously only if written without spaces */
		tlen = (size_t) (P->cur.start + P->cur.len - tstart);
		p_advance(P);
	}

	{
		GovPolStr	type;

		if (!squeeze_type(P, tstart, tlen, &type))
			return false;
		id = decode_string(P, &P->cur, &idlen, false, NULL);
		if (id == NULL)
			return false;
		p_advance(P);
		return make_uid(P, type.p, type.len, id, idlen, out);
	}
}

/* An entity type after "is": Ident {"::" Ident}. */
static bool
parse_type(Parser *P, GovPolStr *out)
{
	const char *tstart;
	size_t		tlen;

	if (P->cur.kind != T_IDENT)
	{
		p_expected(P, "an entity type");
		return false;
	}
	if (!p_not_reserved(P, "an entity type"))
		return false;
	tstart = P->cur.start;
	tlen = P->cur.len;
	p_advance(P);
	while (P->cur.kind == T_COLONCOLON && P->next.kind == T_IDENT)
	{
		p_advance(P);
		if (!p_not_reserved(P, "a type name"))
			return false;
		tlen = (size_t) (P->cur.start + P->cur.len - tstart);
		p_advance(P);
	}
	return squeeze_type(P, tstart, tlen, out);
}

static Node *parse_expr(Parser *P);
static bool attr_name(Parser *P, GovPolStr *name);

#define SHOW_KEY 64

static Node *
mk_lit(Parser *P, GovPolKind kind)
{
	Node	   *n = mk_node(P, N_LIT, 0);

	if (n)
		n->lit.kind = kind;
	return n;
}

/* Integer literal; negate folds a unary minus into it (for INT64_MIN). */
static Node *
parse_int(Parser *P, bool negate, int line, int col)
{
	const Token *t = &P->cur;
	uint64_t	v = 0;
	uint64_t	max = negate ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	size_t		i;
	Node	   *n;

	for (i = 0; i < t->len; i++)
	{
		unsigned	d = (unsigned) (t->start[i] - '0');

		if (v > (max - d) / 10)
		{
			bool		cut;
			size_t		shown = excerpt_len(t->start, t->len, 32, &cut);

			p_error_at(P, line, col,
					   "expected an integer between -9223372036854775808 and 9223372036854775807, found \"%s%.*s%s\"",
					   negate ? "-" : "", (int) shown, t->start, cut ? "..." : "");
			return NULL;
		}
		v = v * 10 + d;
	}
	n = mk_lit(P, GOV_POL_LONG);
	if (n == NULL)
		return NULL;
	if (negate)
		n->lit.u.i = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) v;
	else
		n->lit.u.i = (int64_t) v;
	p_advance(P);
	return n;
}

typedef struct RecEntry
{
	GovPolStr	key;
	Node	   *value;
	uint32_t	order;			/* position in the source */
	int			line;
	int			col;
} RecEntry;

static int
rec_entry_cmp(const void *x, const void *y)
{
	const RecEntry *a = x;
	const RecEntry *b = y;
	int			c = key_cmp(a->key.p, a->key.len, b->key.p, b->key.len);

	if (c != 0)
		return c;
	return a->order < b->order ? -1 : a->order > b->order;
}

/*
 * Record literal: "{" [ Key ":" Expr { "," Key ":" Expr } [","] ] "}",
 * Key an identifier or a string.  Its fields are kept sorted by key, the
 * order record values keep.
 */
static Node *
parse_record(Parser *P)
{
	Token		t = P->cur;
	RecEntry	small[8];
	RecEntry   *all = small;
	uint32_t	count = 0;
	uint32_t	cap = 8;
	uint32_t	i;
	Node	   *n;

	p_advance(P);
	while (P->cur.kind != T_RBRACE)
	{
		RecEntry	e;

		memset(&e, 0, sizeof(e));
		e.line = P->cur.line;
		e.col = P->cur.col;
		if (P->cur.kind != T_IDENT && P->cur.kind != T_STRING)
		{
			p_expected(P, count ? "a record key or \"}\"" : "a record key or \"}\"");
			return NULL;
		}
		if (!attr_name(P, &e.key) || !p_expect(P, T_COLON, "\":\""))
			return NULL;
		e.value = parse_expr(P);
		if (e.value == NULL)
			return NULL;
		e.order = count;
		if (count == cap)
		{
			RecEntry   *bigger;

			if (cap > (UINT32_MAX / 2) / sizeof(RecEntry))
			{
				p_error_at(P, t.line, t.col, "record literal too large");
				return NULL;
			}
			bigger = p_alloc(P, sizeof(RecEntry) * cap * 2);
			if (bigger == NULL)
				return NULL;
			memcpy(bigger, all, sizeof(RecEntry) * count);
			all = bigger;
			cap *= 2;
		}
		all[count++] = e;
		if (!p_accept(P, T_COMMA))
			break;
	}
	if (!p_expect(P, T_RBRACE, "\",\" or \"}\""))
		return NULL;
	qsort(all, count, sizeof(RecEntry), rec_entry_cmp);
	for (i = 1; i < count; i++)
		if (key_cmp(all[i - 1].key.p, all[i - 1].key.len, all[i].key.p, all[i].key.len) == 0)
		{
			char		buf[SHOW_KEY + 4];
			bool		cut;
			size_t		k = excerpt_len(all[i].key.p, all[i].key.len, SHOW_KEY, &cut);

			memcpy(buf, all[i].key.p, k);
			memcpy(buf + k, cut ? "..." : "", cut ? 4 : 1);
			p_error_at(P, all[i].line, all[i].col, "duplicate key \"%s\" in a record literal", buf);
			return NULL;
		}
	n = mk_node(P, N_RECORD, count);
	if (n == NULL)
		return NULL;
	n->keys = p_alloc(P, sizeof(GovPolStr) * (count ? count : 1));
	if (n->keys == NULL)
		return NULL;
	for (i = 0; i < count; i++)
	{
		n->keys[i] = all[i].key;
		n->kids[i] = all[i].value;
	}
	n->pos = (uint32_t) (t.start - P->lx.src);
	return finish_node(P, n, t.line, t.col);
}

/*
 * The arguments of an extension call, "(" [Expr {"," Expr} [","]] ")",
 * after the receiver of a method (NULL for a function).  As in Cedar the
 * number of arguments is checked when evaluating, not here.  A function
 * of one string literal is computed now: a literal that does not parse
 * stays a call, an error when evaluated, as in Cedar.
 */
static Node *
parse_ext_call(Parser *P, Node *receiver, ExtOp op, int line, int col,
			   uint32_t start)
{
	Node	   *small[8];
	Node	  **args = small;
	uint32_t	cap = 8;
	uint32_t	count = 0;
	uint32_t	i;
	Node	   *n;

	if (receiver)
		args[count++] = receiver;
	if (!p_expect(P, T_LPAREN, "\"(\""))
		return NULL;
	while (P->cur.kind != T_RPAREN)
	{
		Node	   *e;

		if (count == cap)
		{
			Node	  **bigger;

			if (cap > (UINT32_MAX / 2) / sizeof(Node *))
			{
				p_error_at(P, line, col, "policy too large to compile");
				return NULL;
			}
			bigger = p_alloc(P, sizeof(Node *) * cap * 2);
			if (bigger == NULL)
				return NULL;
			memcpy(bigger, args, sizeof(Node *) * count);
			args = bigger;
			cap *= 2;
		}
		e = parse_expr(P);
		if (e == NULL)
			return NULL;
		args[count++] = e;
		if (!p_accept(P, T_COMMA))
			break;
	}
	if (!p_expect(P, T_RPAREN, "\",\" or \")\""))
		return NULL;
	if (ext_info[op].function && count == 1 && args[0]->kind == N_LIT &&
		args[0]->lit.kind == GOV_POL_STRING)
	{
		GovPolIp   *ip = p_alloc(P, sizeof(GovPolIp));
		GovPolValue v;
		const char *why;

		if (ip == NULL)
			return NULL;
		if (gov_pol_extension_value(ext_info[op].name, strlen(ext_info[op].name),
									args[0]->lit.u.s.p, args[0]->lit.u.s.len,
									ip, &v, &why))
		{
			n = mk_node(P, N_LIT, 0);
			if (n)
			{
				n->lit = v;
				n->pos = start;
			}
			return n;
		}
	}
	n = mk_node(P, N_EXT, count);
	if (n == NULL)
		return NULL;
	n->ext = op;
	n->pos = start;
	for (i = 0; i < count; i++)
		n->kids[i] = args[i];
	return finish_node(P, n, line, col);
}

static Node *
parse_primary(Parser *P, bool negate_int)
{
	Token		t = P->cur;
	Node	   *n;

	if (P->failed)
		return NULL;
	switch (t.kind)
	{
		case T_INT:
			return parse_int(P, negate_int, t.line, t.col);
		case T_STRING:
			{
				uint32_t	len;
				char	   *s = decode_string(P, &t, &len, false, NULL);

				if (s == NULL)
					return NULL;
				n = mk_lit(P, GOV_POL_STRING);
				if (n == NULL)
					return NULL;
				n->lit.u.s.p = s;
				n->lit.u.s.len = len;
				p_advance(P);
				return n;
			}
		case T_LPAREN:
			p_advance(P);
			n = parse_expr(P);
			if (n == NULL || !p_expect(P, T_RPAREN, "\")\""))
				return NULL;
			return n;
		case T_LBRACKET:
			{
				Node	   *items[16];
				Node	  **all = items;
				uint32_t	count = 0;
				uint32_t	cap = 16;
				uint32_t	i;

				p_advance(P);
				if (P->cur.kind != T_RBRACKET)
				{
					for (;;)
					{
						Node	   *e = parse_expr(P);

						if (e == NULL)
							return NULL;
						if (count == cap)
						{
							Node	  **bigger;

							if (cap > (UINT32_MAX / 2) / sizeof(Node *))
							{
								p_error_at(P, t.line, t.col, "set literal too large");
								return NULL;
							}
							bigger = p_alloc(P, sizeof(Node *) * cap * 2);
							if (bigger == NULL)
								return NULL;
							memcpy(bigger, all, sizeof(Node *) * count);
							all = bigger;
							cap *= 2;
						}
						all[count++] = e;
						/* a trailing comma is allowed, as in Cedar */
						if (p_accept(P, T_COMMA) && P->cur.kind != T_RBRACKET)
							continue;
						break;
					}
				}
				if (!p_expect(P, T_RBRACKET, count ? "\",\" or \"]\"" : "an expression or \"]\""))
					return NULL;
				n = mk_node(P, N_SET, count);
				if (n == NULL)
					return NULL;
				for (i = 0; i < count; i++)
					n->kids[i] = all[i];
				n->pos = (uint32_t) (t.start - P->lx.src);
				return finish_node(P, n, t.line, t.col);
			}
		case T_LBRACE:
			return parse_record(P);
		case T_IDENT:
			if (P->next.kind == T_COLONCOLON)
			{
				GovPolStr	uid;

				if (!parse_entity(P, &uid))
					return NULL;
				n = mk_lit(P, GOV_POL_ENTITY);
				if (n)
				{
					n->lit.u.s = uid;
					n->pos = (uint32_t) (t.start - P->lx.src);
				}
				return n;
			}
			if (tok_is(&t, "true") || tok_is(&t, "false"))
			{
				n = mk_lit(P, GOV_POL_BOOL);
				if (n)
					n->lit.u.b = tok_is(&t, "true");
				p_advance(P);
				return n;
			}
			if (tok_is(&t, "principal") || tok_is(&t, "action") ||
				tok_is(&t, "resource") || tok_is(&t, "context"))
			{
				n = mk_node(P, N_VAR, 0);
				if (n == NULL)
					return NULL;
				n->var = tok_is(&t, "principal") ? V_PRINCIPAL :
					tok_is(&t, "action") ? V_ACTION :
					tok_is(&t, "resource") ? V_RESOURCE : V_CONTEXT;
				p_advance(P);
				return n;
			}
			if (P->next.kind == T_LPAREN && !is_reserved(&t))
			{
				int			op = ext_lookup(t.start, t.len);

				if (op < 0 || !ext_info[op].function)
				{
					p_error_at(P, t.line, t.col, op < 0 ?
							   "\"%.*s\" is not a function (the functions are decimal, ip, datetime and duration)" :
							   "\"%.*s\" is a method, not a function",
							   (int) t.len, t.start);
					return NULL;
				}
				p_advance(P);
				return parse_ext_call(P, NULL, (ExtOp) op, t.line, t.col,
									  (uint32_t) (t.start - P->lx.src));
			}
			/* FALLTHROUGH */
		default:
			p_expected(P, "an expression");
			return NULL;
	}
}

static bool
attr_name(Parser *P, GovPolStr *name)
{
	if (P->cur.kind == T_IDENT)
	{
		if (!p_not_reserved(P, "an attribute name"))
			return false;
		name->p = arena_strndup(P->arena, P->cur.start, P->cur.len);
		if (name->p == NULL)
		{
			p_error_at(P, P->cur.line, P->cur.col, "policy too large to compile");
			return false;
		}
		name->len = (uint32_t) P->cur.len;
		p_advance(P);
		return true;
	}
	if (P->cur.kind == T_STRING)
	{
		char	   *s = decode_string(P, &P->cur, &name->len, false, NULL);

		if (s == NULL)
			return false;
		name->p = s;
		p_advance(P);
		return true;
	}
	p_expected(P, "an attribute name");
	return false;
}

/* Primary {"." Ident ["(" Expr ")"] | "[" String "]"} */
static Node *
parse_member(Parser *P, bool negate_int)
{
	Node	   *n = parse_primary(P, negate_int);

	while (n && !P->failed)
	{
		Token		t = P->cur;

		if (t.kind == T_DOT)
		{
			p_advance(P);
			if (P->cur.kind != T_IDENT)
			{
				p_expected(P, "an attribute or method name");
				return NULL;
			}
			if (P->next.kind == T_LPAREN)
			{
				NodeKind	k;
				Node	   *arg;

				if (tok_is(&P->cur, "contains"))
					k = N_CONTAINS;
				else if (tok_is(&P->cur, "containsAll"))
					k = N_CONTAINS_ALL;
				else if (tok_is(&P->cur, "containsAny"))
					k = N_CONTAINS_ANY;
				else if (tok_is(&P->cur, "isEmpty"))
					k = N_IS_EMPTY;
				else if (tok_is(&P->cur, "hasTag"))
					k = N_HAS_TAG;
				else if (tok_is(&P->cur, "getTag"))
					k = N_GET_TAG;
				else
				{
					int			op = ext_lookup(P->cur.start, P->cur.len);

					if (op < 0 || ext_info[op].function)
					{
						p_error_at(P, P->cur.line, P->cur.col, op < 0 ?
								   "\"%.*s\" is not a method" :
								   "\"%.*s\" is a function, not a method",
								   (int) P->cur.len, P->cur.start);
						return NULL;
					}
					p_advance(P);
					n = parse_ext_call(P, n, (ExtOp) op, t.line, t.col, n->pos);
					continue;
				}
				p_advance(P);
				p_advance(P);	/* ( */
				if (k == N_IS_EMPTY)
				{
					Node	   *u;

					if (!p_expect(P, T_RPAREN, "\")\" (isEmpty takes no argument)"))
						return NULL;
					u = mk_node(P, N_IS_EMPTY, 1);
					if (u == NULL)
						return NULL;
					u->kids[0] = n;
					n = finish_node(P, u, t.line, t.col);
					continue;
				}
				arg = parse_expr(P);
				if (arg == NULL)
					return NULL;
				p_accept(P, T_COMMA);	/* Cedar allows a trailing comma */
				if (!p_expect(P, T_RPAREN, "\")\""))
					return NULL;
				n = mk_binary(P, k, n, arg, t.line, t.col);
			}
			else
			{
				Node	   *a = mk_node(P, N_ATTR, 1);

				if (a == NULL || !attr_name(P, &a->name))
					return NULL;
				a->kids[0] = n;
				n = finish_node(P, a, t.line, t.col);
			}
		}
		else if (t.kind == T_LBRACKET)
		{
			Node	   *a;

			p_advance(P);
			if (P->cur.kind != T_STRING)
			{
				p_expected(P, "a quoted attribute name");
				return NULL;
			}
			a = mk_node(P, N_ATTR, 1);
			if (a == NULL || !attr_name(P, &a->name))
				return NULL;
			if (!p_expect(P, T_RBRACKET, "\"]\""))
				return NULL;
			a->kids[0] = n;
			n = finish_node(P, a, t.line, t.col);
		}
		else
			break;
	}
	return P->failed ? NULL : n;
}

/* {"!" | "-"} Member */
static Node *
parse_unary(Parser *P)
{
	char		ops[GOV_POL_MAX_NESTING + 1];
	int			lines[GOV_POL_MAX_NESTING + 1];
	int			cols[GOV_POL_MAX_NESTING + 1];
	uint32_t	offs[GOV_POL_MAX_NESTING + 1];
	int			nops = 0;
	bool		negate_int = false;
	Node	   *n;

	while (P->cur.kind == T_NOT || P->cur.kind == T_MINUS)
	{
		char		op = P->cur.kind == T_NOT ? '!' : '-';

		/*
		 * as Cedar: a run of one operator, at most 4 long (parentheses nest
		 * more)
		 */
		if (nops > 0 && op != ops[0])
		{
			p_expected(P, "an expression");
			return NULL;
		}
		if (nops == 4)
		{
			p_error_at(P, P->cur.line, P->cur.col,
					   "too many occurrences of \"%c\" in a row (the limit is 4)", op);
			return NULL;
		}
		ops[nops] = P->cur.kind == T_NOT ? '!' : '-';
		lines[nops] = P->cur.line;
		cols[nops] = P->cur.col;
		offs[nops] = (uint32_t) (P->cur.start - P->lx.src);
		nops++;
		p_advance(P);
	}
	if (nops > 0 && ops[nops - 1] == '-' && P->cur.kind == T_INT)
	{
		negate_int = true;
		nops--;
	}
	n = parse_member(P, negate_int);
	while (n && nops > 0)
	{
		Node	   *u;

		nops--;
		u = mk_node(P, ops[nops] == '!' ? N_NOT : N_NEG, 1);
		if (u == NULL)
			return NULL;
		u->kids[0] = n;
		u->pos = offs[nops];
		n = finish_node(P, u, lines[nops], cols[nops]);
	}
	return n;
}

/*
 * An n-ary chain of one operator kind: first {op next}.  Children are
 * gathered in a growing array, then copied into the node.
 */
typedef struct Chain
{
	Node	   *small[8];
	Node	  **kids;
	char	   *ops;
	char		small_ops[8];
	uint32_t	n;
	uint32_t	cap;
} Chain;

static void
chain_init(Chain *c, Node *first)
{
	c->kids = c->small;
	c->ops = c->small_ops;
	c->cap = 8;
	c->n = 1;
	c->kids[0] = first;
	c->ops[0] = 0;
}

static bool
chain_add(Parser *P, Chain *c, Node *n, char op)
{
	if (c->n == c->cap)
	{
		Node	  **kids;
		char	   *ops;

		if (c->cap > (UINT32_MAX / 2) / sizeof(Node *))
		{
			p_error_at(P, P->cur.line, P->cur.col, "policy too large to compile");
			return false;
		}
		kids = p_alloc(P, sizeof(Node *) * c->cap * 2);
		ops = p_alloc(P, c->cap * 2);
		if (kids == NULL || ops == NULL)
			return false;
		memcpy(kids, c->kids, sizeof(Node *) * c->n);
		memcpy(ops, c->ops, c->n);
		c->kids = kids;
		c->ops = ops;
		c->cap *= 2;
	}
	c->kids[c->n] = n;
	c->ops[c->n] = op;
	c->n++;
	return true;
}

static Node *
chain_finish(Parser *P, Chain *c, NodeKind kind, int line, int col)
{
	Node	   *n;
	uint32_t	i;

	if (c->n == 1)
		return c->kids[0];
	n = mk_node(P, kind, c->n);
	if (n == NULL)
		return NULL;
	for (i = 0; i < c->n; i++)
		n->kids[i] = c->kids[i];
	if (kind == N_ADD)
	{
		n->ops = p_alloc(P, c->n);
		if (n->ops == NULL)
			return NULL;
		memcpy(n->ops, c->ops, c->n);
	}
	return finish_node(P, n, line, col);
}

static Node *
parse_mul(Parser *P)
{
	int			line = P->cur.line;
	int			col = P->cur.col;
	Node	   *n = parse_unary(P);
	Chain		c;

	if (n == NULL)
		return NULL;
	chain_init(&c, n);
	while (P->cur.kind == T_STAR)
	{
		p_advance(P);
		n = parse_unary(P);
		if (n == NULL || !chain_add(P, &c, n, '*'))
			return NULL;
	}
	return chain_finish(P, &c, N_MUL, line, col);
}

static Node *
parse_add(Parser *P)
{
	int			line = P->cur.line;
	int			col = P->cur.col;
	Node	   *n = parse_mul(P);
	Chain		c;

	if (n == NULL)
		return NULL;
	chain_init(&c, n);
	while (P->cur.kind == T_PLUS || P->cur.kind == T_MINUS)
	{
		char		op = P->cur.kind == T_PLUS ? '+' : '-';

		p_advance(P);
		n = parse_mul(P);
		if (n == NULL || !chain_add(P, &c, n, op))
			return NULL;
	}
	return chain_finish(P, &c, N_ADD, line, col);
}

static Pattern *
compile_pattern(Parser *P, const char *s, uint32_t len, const bool *wild)
{
	Pattern    *pat = p_alloc(P, sizeof(Pattern));
	uint32_t	i = 0;
	uint32_t	nseg = 0;

	if (pat == NULL)
		return NULL;
	memset(pat, 0, sizeof(Pattern));
	/* at most len/1 + 1 segments */
	pat->segs = p_alloc(P, sizeof(PatSeg) * ((size_t) len + 1));
	if (pat->segs == NULL)
		return NULL;
	pat->lead_star = len > 0 && wild[0];
	pat->trail_star = len > 0 && wild[len - 1];
	while (i < len)
	{
		uint32_t	start;

		if (wild[i])
		{
			pat->has_star = true;
			i++;
			continue;
		}
		start = i;
		while (i < len && !wild[i])
			i++;
		{
			PatSeg	   *seg = &pat->segs[nseg++];
			uint32_t   *fail = p_alloc(P, sizeof(uint32_t) * (i - start));
			uint32_t	k = 0;
			uint32_t	j;

			if (fail == NULL)
				return NULL;
			seg->p = s + start;
			seg->len = i - start;
			fail[0] = 0;
			for (j = 1; j < seg->len; j++)
			{
				while (k > 0 && seg->p[j] != seg->p[k])
					k = fail[k - 1];
				if (seg->p[j] == seg->p[k])
					k++;
				fail[j] = k;
			}
			seg->fail = fail;
		}
	}
	pat->nseg = nseg;
	return pat;
}

/*
 * e has a.b.c: (e has a) && (e.a has b) && (e.a.b has c), as Cedar reads
 * it; a path goes on only from an identifier.
 */
static Node *
parse_has(Parser *P, Node *l, const Token *t)
{
	Chain		c;
	Node	   *obj = l;
	Node	   *n = mk_node(P, N_HAS, 1);
	bool		ident;

	p_advance(P);
	ident = P->cur.kind == T_IDENT;
	if (n == NULL || !attr_name(P, &n->name))
		return NULL;
	n->kids[0] = l;
	n = finish_node(P, n, t->line, t->col);
	if (n == NULL)
		return NULL;
	chain_init(&c, n);
	while (ident && P->cur.kind == T_DOT && P->next.kind == T_IDENT)
	{
		Node	   *a = mk_node(P, N_ATTR, 1);
		Node	   *h = mk_node(P, N_HAS, 1);

		if (a == NULL || h == NULL)
			return NULL;
		a->kids[0] = obj;
		a->name = c.kids[c.n - 1]->name;
		obj = finish_node(P, a, t->line, t->col);
		p_advance(P);
		if (obj == NULL || !attr_name(P, &h->name))
			return NULL;
		h->kids[0] = obj;
		h = finish_node(P, h, t->line, t->col);
		if (h == NULL || !chain_add(P, &c, h, '&'))
			return NULL;
	}
	return chain_finish(P, &c, N_AND, t->line, t->col);
}

/* Add [relop Add | "has" Name {"." Name} | "like" Pattern | "is" Type ["in" Add]] */
static Node *
parse_relation(Parser *P)
{
	Node	   *l = parse_add(P);
	Token		t = P->cur;
	NodeKind	k;

	if (l == NULL)
		return NULL;
	switch (t.kind)
	{
		case T_EQ:
			k = N_EQ;
			break;
		case T_NE:
			k = N_NE;
			break;
		case T_LT:
			k = N_LT;
			break;
		case T_LE:
			k = N_LE;
			break;
		case T_GT:
			k = N_GT;
			break;
		case T_GE:
			k = N_GE;
			break;
		case T_IDENT:
			if (tok_is(&t, "in"))
			{
				k = N_IN;
				break;
			}
			if (tok_is(&t, "has"))
				return parse_has(P, l, &t);
			if (tok_is(&t, "is"))
			{
				Node	   *n = mk_node(P, N_IS, 1);

				p_advance(P);
				if (n == NULL || !parse_type(P, &n->name))
					return NULL;
				n->kids[0] = l;
				n = finish_node(P, n, t.line, t.col);
				if (n && tok_is(&P->cur, "in"))
				{
					/* e is T in x: (e is T) && (e in x), as Cedar reads it */
					Token		in = P->cur;
					Node	   *r;
					Node	   *and;

					p_advance(P);
					r = parse_add(P);
					if (r == NULL)
						return NULL;
					r = mk_binary(P, N_IN, l, r, in.line, in.col);
					if (r == NULL)
						return NULL;
					and = mk_binary(P, N_AND, n, r, t.line, t.col);
					return and;
				}
				return n;
			}
			if (tok_is(&t, "like"))
			{
				Node	   *n;
				uint32_t	len;
				bool	   *wild;
				char	   *s;

				p_advance(P);
				if (P->cur.kind != T_STRING)
				{
					p_expected(P, "a quoted pattern");
					return NULL;
				}
				s = decode_string(P, &P->cur, &len, true, &wild);
				if (s == NULL)
					return NULL;
				p_advance(P);
				n = mk_node(P, N_LIKE, 1);
				if (n == NULL)
					return NULL;
				n->pat = compile_pattern(P, s, len, wild);
				if (n->pat == NULL)
					return NULL;
				n->kids[0] = l;
				return finish_node(P, n, t.line, t.col);
			}
			return l;
		default:
			return l;
	}
	p_advance(P);
	{
		Node	   *r = parse_add(P);

		if (r == NULL)
			return NULL;
		return mk_binary(P, k, l, r, t.line, t.col);
	}
}

static Node *
parse_and(Parser *P)
{
	int			line = P->cur.line;
	int			col = P->cur.col;
	Node	   *n = parse_relation(P);
	Chain		c;

	if (n == NULL)
		return NULL;
	chain_init(&c, n);
	while (P->cur.kind == T_AND)
	{
		p_advance(P);
		n = parse_relation(P);
		if (n == NULL || !chain_add(P, &c, n, '&'))
			return NULL;
	}
	return chain_finish(P, &c, N_AND, line, col);
}

static Node *
parse_or(Parser *P)
{
	int			line = P->cur.line;
	int			col = P->cur.col;
	Node	   *n = parse_and(P);
	Chain		c;

	if (n == NULL)
		return NULL;
	chain_init(&c, n);
	while (P->cur.kind == T_OR)
	{
		p_advance(P);
		n = parse_and(P);
		if (n == NULL || !chain_add(P, &c, n, '|'))
			return NULL;
	}
	return chain_finish(P, &c, N_OR, line, col);
}

/* "if" Expr "then" Expr "else" Expr | Or */
static Node *
parse_expr(Parser *P)
{
	Token		t = P->cur;
	Node	   *n;

	if (P->failed)
		return NULL;
	if (++P->nesting > GOV_POL_MAX_NESTING)
	{
		p_error_at(P, t.line, t.col, "expression nested too deeply (the limit is %d levels)",
				   GOV_POL_MAX_NESTING);
		return NULL;
	}
	if (tok_is(&t, "if"))
	{
		Node	   *c;
		Node	   *a;
		Node	   *b;

		p_advance(P);
		c = parse_expr(P);
		if (c == NULL || !p_expect_kw(P, "then", "\"then\""))
			return NULL;
		a = parse_expr(P);
		if (a == NULL || !p_expect_kw(P, "else", "\"else\""))
			return NULL;
		b = parse_expr(P);
		if (b == NULL)
			return NULL;
		n = mk_node(P, N_IF, 3);
		if (n == NULL)
			return NULL;
		n->kids[0] = c;
		n->kids[1] = a;
		n->kids[2] = b;
		n->pos = (uint32_t) (t.start - P->lx.src);
		n = finish_node(P, n, t.line, t.col);
	}
	else
		n = parse_or(P);
	P->nesting--;
	return P->failed ? NULL : n;
}

/*
 * An entity of the action scope, whose type must be Action or end in
 * ::Action (as Cedar requires); others parse as any entity.
 */
static bool
parse_scope_entity(Parser *P, GovPolStr *out, bool is_action)
{
	int			line = P->cur.line;
	int			col = P->cur.col;
	const char *q;
	size_t		tlen;

	if (!parse_entity(P, out))
		return false;
	if (!is_action)
		return true;
	q = memchr(out->p, '"', out->len);
	tlen = q ? (size_t) (q - out->p) - 2 : 0;	/* the type, without "::" */
	if (!((tlen == 6 && memcmp(out->p, "Action", 6) == 0) ||
		  (tlen > 8 && memcmp(out->p + tlen - 8, "::Action", 8) == 0)))
	{
		char		buf[SHOW_KEY + 4];
		bool		cut;
		size_t		k = excerpt_len(out->p, out->len, SHOW_KEY, &cut);

		memcpy(buf, out->p, k);
		memcpy(buf + k, cut ? "..." : "", cut ? 4 : 1);
		p_error_at(P, line, col, "expected an action (an entity of type Action), found %s", buf);
		return false;
	}
	return true;
}

/*
 * The entity after "==" or "in" in a scope: a literal, or in a template the
 * slot named after the scope's variable (?principal in the principal
 * scope, ?resource in the resource scope), written as one token as Cedar
 * writes it.  Slots are never allowed in the action scope.
 */
static bool
parse_scope_target(Parser *P, Scope *sc, const char *var, bool is_action)
{
	if (P->cur.kind == T_QUESTION && P->next.kind == T_IDENT &&
		P->next.start == P->cur.start + 1)
	{
		int			line = P->cur.line;
		int			col = P->cur.col;
		int			nlen = (int) (P->next.len > 64 ? 64 : P->next.len);
		const char *name = P->next.start;

		if (!tok_is(&P->next, "principal") && !tok_is(&P->next, "resource"))
		{
			p_error_at(P, line, col, "unknown slot ?%.*s (a template has ?principal and ?resource)",
					   nlen, name);
			return false;
		}
		if (is_action)
		{
			p_error_at(P, line, col, "a slot (?%.*s) cannot constrain the action", nlen, name);
			return false;
		}
		if (!tok_is(&P->next, var))
		{
			p_error_at(P, line, col, "?%.*s cannot appear in the %s scope (only ?%s can)",
					   nlen, name, var, var);
			return false;
		}
		if (!P->template)
		{
			p_error_at(P, line, col, "?%s is a template slot: a policy has none (create a template and link it)",
					   var);
			return false;
		}
		sc->slot = true;
		sc->slot_start = (size_t) (P->cur.start - P->lx.src);
		sc->slot_end = (size_t) (P->next.start + P->next.len - P->lx.src);
		/* the uid stays empty: a template is never evaluated */
		sc->uids[0].p = "";
		sc->uids[0].len = 0;
		p_advance(P);
		p_advance(P);
		return true;
	}
	return parse_scope_entity(P, &sc->uids[0], is_action);
}

static bool
parse_scope(Parser *P, const char *var, Scope *sc, bool is_action, const char *after)
{
	char		what[64];

	memset(sc, 0, sizeof(Scope));
	sc->line = P->cur.line;
	sc->col = P->cur.col;
	snprintf(what, sizeof(what), "\"%s\"", var);
	if (!p_expect_kw(P, var, what))
		return false;
	if (!is_action && tok_is(&P->cur, "is"))
	{
		/* principal is T [in Entity] */
		p_advance(P);
		if (!parse_type(P, &sc->is_type))
			return false;
		if (!tok_is(&P->cur, "in"))
		{
			sc->kind = S_ANY;
			return true;
		}
		p_advance(P);
		sc->kind = S_IN;
		sc->n = 1;
		sc->uids = p_alloc(P, sizeof(GovPolStr));
		return sc->uids && parse_scope_target(P, sc, var, is_action);
	}
	if (p_accept(P, T_EQ))
	{
		sc->kind = S_EQ;
		sc->n = 1;
		sc->uids = p_alloc(P, sizeof(GovPolStr));
		return sc->uids && parse_scope_target(P, sc, var, is_action);
	}
	if (tok_is(&P->cur, "in"))
	{
		p_advance(P);
		if (is_action && P->cur.kind == T_LBRACKET)
		{
			uint32_t	cap = 4;

			p_advance(P);
			sc->kind = S_IN_SET;
			sc->uids = p_alloc(P, sizeof(GovPolStr) * cap);
			if (sc->uids == NULL)
				return false;
			if (P->cur.kind == T_RBRACKET)
			{
				p_advance(P);
				return true;
			}
			for (;;)
			{
				if (sc->n == cap)
				{
					GovPolStr  *bigger;

					if (cap > (UINT32_MAX / 2) / sizeof(GovPolStr))
					{
						p_error_at(P, P->cur.line, P->cur.col, "policy too large to compile");
						return false;
					}
					bigger = p_alloc(P, sizeof(GovPolStr) * cap * 2);
					if (bigger == NULL)
						return false;
					memcpy(bigger, sc->uids, sizeof(GovPolStr) * sc->n);
					sc->uids = bigger;
					cap *= 2;
				}
				if (!parse_scope_entity(P, &sc->uids[sc->n], is_action))
					return false;
				sc->n++;
				if (p_accept(P, T_COMMA) && P->cur.kind != T_RBRACKET)
					continue;
				return p_expect(P, T_RBRACKET, "\",\" or \"]\"");
			}
		}
		sc->kind = S_IN;
		sc->n = 1;
		sc->uids = p_alloc(P, sizeof(GovPolStr));
		return sc->uids && parse_scope_target(P, sc, var, is_action);
	}
	sc->kind = S_ANY;
	if (P->cur.kind == T_COMMA || (strcmp(after, ")") == 0 && P->cur.kind == T_RPAREN))
		return true;
	snprintf(what, sizeof(what), "\"==\", \"in\"%s or \"%s\"", is_action ? "" : ", \"is\"", after);
	p_expected(P, what);
	return false;
}

/* "@" Ident [ "(" String ")" ]: an annotation, kept as key and value. */
static bool
parse_annotations(Parser *P, GovPolicy *pol)
{
	uint32_t	cap = 0;

	while (P->cur.kind == T_AT)
	{
		GovPolStr	key;
		GovPolStr	val = {"", 0};
		Token		at = P->cur;
		uint32_t	i;

		p_advance(P);
		if (P->cur.kind != T_IDENT)
		{
			p_expected(P, "an annotation name");
			return false;
		}
		key.p = arena_strndup(P->arena, P->cur.start, P->cur.len);
		key.len = (uint32_t) P->cur.len;
		if (key.p == NULL)
		{
			p_error_at(P, P->cur.line, P->cur.col, "policy too large to compile");
			return false;
		}
		p_advance(P);
		if (p_accept(P, T_LPAREN))
		{
			char	   *v;

			if (P->cur.kind != T_STRING)
			{
				p_expected(P, "a quoted annotation value");
				return false;
			}
			v = decode_string(P, &P->cur, &val.len, false, NULL);
			if (v == NULL)
				return false;
			val.p = v;
			p_advance(P);
			if (!p_expect(P, T_RPAREN, "\")\""))
				return false;
		}
		for (i = 0; i < pol->nannot; i++)
			if (str_eq(pol->annot_keys[i].p, pol->annot_keys[i].len, key.p, key.len))
			{
				p_error_at(P, at.line, at.col, "duplicate annotation @%.*s", (int) (key.len > 64 ? 64 : key.len), key.p);
				return false;
			}
		if (pol->nannot == cap)
		{
			uint32_t	newcap = cap ? cap * 2 : 4;
			GovPolStr  *k;
			GovPolStr  *v;

			if (newcap > (UINT32_MAX / 2) / sizeof(GovPolStr))
			{
				p_error_at(P, at.line, at.col, "policy too large to compile");
				return false;
			}
			k = p_alloc(P, sizeof(GovPolStr) * newcap);
			v = p_alloc(P, sizeof(GovPolStr) * newcap);
			if (k == NULL || v == NULL)
				return false;
			if (pol->nannot)
			{
				memcpy(k, pol->annot_keys, sizeof(GovPolStr) * pol->nannot);
				memcpy(v, pol->annot_vals, sizeof(GovPolStr) * pol->nannot);
			}
			pol->annot_keys = k;
			pol->annot_vals = v;
			cap = newcap;
		}
		pol->annot_keys[pol->nannot] = key;
		pol->annot_vals[pol->nannot] = val;
		pol->nannot++;
	}
	return !P->failed;
}

/* One statement: {Annotation} Effect "(" Scope ")" {Condition} ";" */
static GovPolicy *
parse_statement(Parser *P)
{
	GovPolicy  *pol;
	Cond		small[4];
	Cond	   *conds = small;
	uint32_t	ncond = 0;
	uint32_t	cap = 4;

	pol = p_alloc(P, sizeof(GovPolicy));
	if (pol == NULL)
		return NULL;
	memset(pol, 0, sizeof(GovPolicy));
	pol->src = P->lx.src;
	pol->src_start = (size_t) (P->cur.start - P->lx.src);
	if (!parse_annotations(P, pol))
		return NULL;

	if (tok_is(&P->cur, "permit"))
		pol->permit = true;
	else if (!tok_is(&P->cur, "forbid"))
	{
		p_expected(P, pol->nannot ? "\"permit\", \"forbid\" or \"@\"" : "\"permit\" or \"forbid\"");
		return NULL;
	}
	p_advance(P);
	if (!p_expect(P, T_LPAREN, "\"(\"") ||
		!parse_scope(P, "principal", &pol->principal, false, ",") ||
		!p_expect(P, T_COMMA, "\",\"") ||
		!parse_scope(P, "action", &pol->action, true, ",") ||
		!p_expect(P, T_COMMA, "\",\"") ||
		!parse_scope(P, "resource", &pol->resource, false, ")"))
		return NULL;
	p_accept(P, T_COMMA);		/* Cedar allows (principal, action, resource,) */
	if (!p_expect(P, T_RPAREN, "\")\""))
		return NULL;

	while (tok_is(&P->cur, "when") || tok_is(&P->cur, "unless"))
	{
		bool		is_when = tok_is(&P->cur, "when");
		Node	   *e;

		p_advance(P);
		if (!p_expect(P, T_LBRACE, "\"{\""))
			return NULL;
		e = parse_expr(P);
		if (e == NULL || !p_expect(P, T_RBRACE, "\"}\""))
			return NULL;
		if (ncond == cap)
		{
			Cond	   *bigger;

			if (cap > (UINT32_MAX / 2) / sizeof(Cond))
			{
				p_error_at(P, P->cur.line, P->cur.col, "policy too large to compile");
				return NULL;
			}
			bigger = p_alloc(P, sizeof(Cond) * cap * 2);
			if (bigger == NULL)
				return NULL;
			memcpy(bigger, conds, sizeof(Cond) * ncond);
			conds = bigger;
			cap *= 2;
		}
		conds[ncond].is_when = is_when;
		conds[ncond].expr = e;
		ncond++;
	}
	pol->src_end = (size_t) (P->cur.start - P->lx.src) + 1; /* just past the ";" */
	if (!p_expect(P, T_SEMI, "\"when\", \"unless\" or \";\""))
		return NULL;

	pol->ncond = ncond;
	pol->conds = p_alloc(P, sizeof(Cond) * (ncond ? ncond : 1));
	if (pol->conds == NULL)
		return NULL;
	if (ncond)
		memcpy(pol->conds, conds, sizeof(Cond) * ncond);
	return pol;
}

static void
parser_init(Parser *P, GovPolArena *arena, const char *src, size_t len, GovPolError *err)
{
	memset(P, 0, sizeof(Parser));
	memset(err, 0, sizeof(GovPolError));
	P->arena = arena;
	P->err = err;
	P->lx.src = src;
	P->lx.len = len;
	P->lx.line = 1;
	P->lx.col = 1;
	lx_next(&P->lx, &P->cur);
	lx_next(&P->lx, &P->next);
}

bool
gov_pol_parse(GovPolArena *arena, const char *src, size_t len, GovPolicy **out,
			  GovPolError *err)
{
	Parser		P;
	GovPolicy  *pol;

	*out = NULL;
	parser_init(&P, arena, src, len, err);
	pol = parse_statement(&P);
	if (pol == NULL)
		return false;
	if (P.cur.kind != T_EOF)
	{
		p_expected(&P, "end of input (a policy holds exactly one statement)");
		return false;
	}
	*out = pol;
	return true;
}

bool
gov_pol_parse_template(GovPolArena *arena, const char *src, size_t len,
					   GovPolicy **out, GovPolError *err)
{
	Parser		P;
	GovPolicy  *pol;
	int			line;
	int			col;

	*out = NULL;
	parser_init(&P, arena, src, len, err);
	P.template = true;
	line = P.cur.line;
	col = P.cur.col;
	pol = parse_statement(&P);
	if (pol == NULL)
		return false;
	if (P.cur.kind != T_EOF)
	{
		p_expected(&P, "end of input (a template holds exactly one statement)");
		return false;
	}
	if (!pol->principal.slot && !pol->resource.slot)
	{
		p_error_at(&P, line, col, "a template holds at least one slot (?principal or ?resource)");
		return false;
	}
	*out = pol;
	return true;
}

bool
gov_pol_slot(const GovPolicy *p, GovPolSlot slot, size_t *start, size_t *end)
{
	const Scope *sc = slot == GOV_POL_SLOT_PRINCIPAL ? &p->principal : &p->resource;

	*start = sc->slot_start;
	*end = sc->slot_end;
	return sc->slot;
}

bool
gov_pol_parse_set(GovPolArena *arena, const char *src, size_t len,
				  GovPolicy ***out, uint32_t *count, GovPolError *err)
{
	Parser		P;
	GovPolicy **all = NULL;
	uint32_t	n = 0;
	uint32_t	cap = 0;

	*out = NULL;
	*count = 0;
	parser_init(&P, arena, src, len, err);
	while (P.cur.kind != T_EOF)
	{
		GovPolicy  *pol = parse_statement(&P);

		if (pol == NULL)
			return false;
		if (n == cap)
		{
			uint32_t	newcap = cap ? cap * 2 : 8;
			GovPolicy **bigger;

			if (newcap > (UINT32_MAX / 2) / sizeof(GovPolicy *))
			{
				p_error_at(&P, P.cur.line, P.cur.col, "policy set too large to compile");
				return false;
			}
			bigger = p_alloc(&P, sizeof(GovPolicy *) * newcap);
			if (bigger == NULL)
				return false;
			if (n)
				memcpy(bigger, all, sizeof(GovPolicy *) * n);
			all = bigger;
			cap = newcap;
		}
		all[n++] = pol;
	}
	*out = all;
	*count = n;
	return true;
}

uint32_t
gov_pol_annotation_count(const GovPolicy *p)
{
	return p->nannot;
}

void
gov_pol_annotation(const GovPolicy *p, uint32_t i, GovPolStr *key, GovPolStr *value)
{
	*key = p->annot_keys[i];
	*value = p->annot_vals[i];
}

const GovPolStr *
gov_pol_annotation_get(const GovPolicy *p, const char *key)
{
	uint32_t	i;
	size_t		len = strlen(key);

	for (i = 0; i < p->nannot; i++)
		if (str_eq(p->annot_keys[i].p, p->annot_keys[i].len, key, (uint32_t) len))
			return &p->annot_vals[i];
	return NULL;
}

void
gov_pol_source_span(const GovPolicy *p, size_t *start, size_t *end)
{
	*start = p->src_start;
	*end = p->src_end;
}

/* ---------------------------------------------------------------------
 * Evaluation
 * ---------------------------------------------------------------------
 */

/* Open-addressing map from strings to pointers, in the scratch arena. */
typedef struct StrSlot
{
	const char *p;				/* NULL: empty */
	uint32_t	len;
	uint64_t	hash;
	void	   *value;
} StrSlot;

typedef struct StrMap
{
	StrSlot    *slots;
	uint32_t	cap;			/* a power of two, or 0 */
	uint32_t	count;
} StrMap;

static bool
strmap_grow(GovPolArena *a, StrMap *m)
{
	uint32_t	newcap = m->cap ? m->cap * 2 : 16;
	StrSlot    *slots;
	uint32_t	i;

	if (newcap == 0 || newcap > UINT32_MAX / 2)
		return false;
	slots = gov_pol_alloc(a, sizeof(StrSlot) * newcap);
	if (slots == NULL)
		return false;
	memset(slots, 0, sizeof(StrSlot) * newcap);
	for (i = 0; i < m->cap; i++)
	{
		StrSlot    *s = &m->slots[i];

		if (s->p)
		{
			uint32_t	j = (uint32_t) s->hash & (newcap - 1);

			while (slots[j].p)
				j = (j + 1) & (newcap - 1);
			slots[j] = *s;
		}
	}
	m->slots = slots;
	m->cap = newcap;
	return true;
}

static StrSlot *
strmap_find(const StrMap *m, const char *p, uint32_t len, uint64_t hash)
{
	uint32_t	j;

	if (m->cap == 0)
		return NULL;
	j = (uint32_t) hash & (m->cap - 1);
	while (m->slots[j].p)
	{
		StrSlot    *s = &m->slots[j];

		if (s->hash == hash && str_eq(s->p, s->len, p, len))
			return s;
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

/* Insert; *fresh says whether it was new.  NULL when out of memory. */
static StrSlot *
strmap_insert(GovPolArena *a, StrMap *m, const char *p, uint32_t len, bool *fresh)
{
	uint64_t	hash = hash_bytes(p, len);
	StrSlot    *s = strmap_find(m, p, len, hash);
	uint32_t	j;

	*fresh = false;
	if (s)
		return s;
	if ((m->count + 1) * 2 > m->cap && !strmap_grow(a, m))
		return NULL;
	j = (uint32_t) hash & (m->cap - 1);
	while (m->slots[j].p)
		j = (j + 1) & (m->cap - 1);
	s = &m->slots[j];
	s->p = p;
	s->len = len;
	s->hash = hash;
	s->value = NULL;
	m->count++;
	*fresh = true;
	return s;
}

/* The ancestors of one entity, itself included. */
typedef struct Closure
{
	StrMap		members;
	bool		truncated;		/* parents beyond max_entity_depth remain */
} Closure;

struct GovPolSession
{
	GovPolArena *arena;
	GovPolRequest req;
	GovPolValue context;
	StrMap		closures;		/* uid -> Closure */
	const char *err;
};

GovPolSession *
gov_pol_session_new(GovPolArena *scratch, const GovPolRequest *req)
{
	GovPolSession *s = gov_pol_alloc(scratch, sizeof(GovPolSession));

	if (s == NULL)
		return NULL;
	memset(s, 0, sizeof(GovPolSession));
	s->arena = scratch;
	s->req = *req;
	if (req->context)
		s->context = *req->context;
	else
	{
		s->context.kind = GOV_POL_RECORD;
		s->context.u.rec.fields = NULL;
		s->context.u.rec.n = 0;
	}
	if (s->req.max_entity_depth < 0)
		s->req.max_entity_depth = 0;
	return s;
}

/* Record an evaluation error; always returns false. */
static bool ev_error(GovPolSession *s, const char *fmt,...) POL_PRINTF(2, 3);

static bool
ev_error(GovPolSession *s, const char *fmt,...)
{
	char		buf[GOV_POL_ERRMSG_LEN];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->err = arena_strndup(s->arena, buf, strlen(buf));
	if (s->err == NULL)
		s->err = "out of memory";
	return false;
}

static bool
ev_oom(GovPolSession *s)
{
	s->err = "out of memory while evaluating";
	return false;
}

/* printf arguments for a string shown in a message, bounded */
#define SHOW_MAX 64
#define SHOW(str, buf) show_str((str).p, (str).len, buf)

static const char *
show_str(const char *p, uint32_t len, char *buf)
{
	bool		cut;
	size_t		n = excerpt_len(p, len, SHOW_MAX, &cut);

	memcpy(buf, p, n);
	if (cut)
	{
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static const GovPolEntity *
lookup(GovPolSession *s, const char *uid, uint32_t len)
{
	/* a literal's id may hold NUL (\0); no stored uid can */
	if (s->req.lookup == NULL || (len > 0 && memchr(uid, '\0', len) != NULL))
		return NULL;
	return s->req.lookup(s->req.lookup_arg, uid, len);
}

static Closure *
closure_of(GovPolSession *s, const char *uid, uint32_t len)
{
	bool		fresh;
	StrSlot    *slot = strmap_insert(s->arena, &s->closures, uid, len, &fresh);
	Closure    *c;
	GovPolStr  *frontier;
	uint32_t	nfront = 1;
	int			depth = 0;

	if (slot == NULL)
		return NULL;
	if (!fresh)
		return slot->value;
	c = gov_pol_alloc(s->arena, sizeof(Closure));
	frontier = gov_pol_alloc(s->arena, sizeof(GovPolStr));
	if (c == NULL || frontier == NULL)
		return NULL;
	memset(c, 0, sizeof(Closure));
	if (strmap_insert(s->arena, &c->members, uid, len, &fresh) == NULL)
		return NULL;
	frontier[0].p = uid;
	frontier[0].len = len;

	while (nfront > 0)
	{
		GovPolStr  *next = NULL;
		uint32_t	nnext = 0;
		uint32_t	cap = 0;
		uint32_t	i;
		uint32_t	j;

		for (i = 0; i < nfront; i++)
		{
			const GovPolEntity *e = lookup(s, frontier[i].p, frontier[i].len);

			if (e == NULL)
				continue;
			for (j = 0; j < e->nparents; j++)
			{
				const GovPolStr *par = &e->parents[j];

				if (depth == s->req.max_entity_depth)
				{
					/* one hop too many: is there anything left unexplored? */
					if (strmap_find(&c->members, par->p, par->len,
									hash_bytes(par->p, par->len)) == NULL)
						c->truncated = true;
					continue;
				}
				if (strmap_insert(s->arena, &c->members, par->p, par->len, &fresh) == NULL)
					return NULL;
				if (!fresh)
					continue;
				if (nnext == cap)
				{
					uint32_t	newcap = cap ? cap * 2 : 8;
					GovPolStr  *bigger;

					if (newcap > UINT32_MAX / 2 / sizeof(GovPolStr))
						return NULL;
					bigger = gov_pol_alloc(s->arena, sizeof(GovPolStr) * newcap);
					if (bigger == NULL)
						return NULL;
					if (nnext)
						memcpy(bigger, next, sizeof(GovPolStr) * nnext);
					next = bigger;
					cap = newcap;
				}
				next[nnext++] = *par;
			}
		}
		if (depth == s->req.max_entity_depth)
			break;
		frontier = next;
		nfront = nnext;
		depth++;
	}
	slot->value = c;
	return c;
}

/* Is a in b (a == b, or b an ancestor of a)?  -1 on error. */
static int
entity_in(GovPolSession *s, const GovPolStr *a, const GovPolStr *b)
{
	Closure    *c;
	char		buf[SHOW_MAX + 4];

	if (str_eq(a->p, a->len, b->p, b->len))
		return 1;
	c = closure_of(s, a->p, a->len);
	if (c == NULL)
	{
		ev_oom(s);
		return -1;
	}
	if (strmap_find(&c->members, b->p, b->len, hash_bytes(b->p, b->len)))
		return 1;
	if (c->truncated)
	{
		ev_error(s, "the ancestors of %s go deeper than governance.max_entity_depth (%d)",
				 SHOW(*a, buf), s->req.max_entity_depth);
		return -1;
	}
	return 0;
}

GovPolResult
gov_pol_entity_in(GovPolSession *s, GovPolStr a, GovPolStr b, const char **error)
{
	int			r = entity_in(s, &a, &b);

	if (r < 0)
	{
		*error = s->err ? s->err : "evaluation failed";
		return GOV_POL_ERROR;
	}
	return r ? GOV_POL_MATCH : GOV_POL_NO_MATCH;
}

static bool
check_usable(GovPolSession *s, const GovPolValue *v)
{
	uint32_t	i;

	switch (v->kind)
	{
		case GOV_POL_UNUSABLE:
			{
				/* the reason was written by whoever built the value */
				bool		cut;
				size_t		n = excerpt_len(v->u.s.p, v->u.s.len, 256, &cut);

				return ev_error(s, "%.*s", (int) n, v->u.s.p);
			}
		case GOV_POL_SET:
			for (i = 0; i < v->u.set.n; i++)
				if (!check_usable(s, &v->u.set.items[i]))
					return false;
			return true;
		case GOV_POL_RECORD:
			for (i = 0; i < v->u.rec.n; i++)
				if (!check_usable(s, &v->u.rec.fields[i].value))
					return false;
			return true;
		default:
			return true;
	}
}

static uint64_t
value_hash(const GovPolValue *v)
{
	uint32_t	i;
	uint64_t	h;

	switch (v->kind)
	{
		case GOV_POL_BOOL:
			return v->u.b ? 0x51ed270b1ULL : 0x7a3c11e5ULL;
		case GOV_POL_LONG:
		case GOV_POL_DECIMAL:
		case GOV_POL_DATETIME:
		case GOV_POL_DURATION:
			h = ((uint64_t) v->u.i + (uint64_t) v->kind) * 0x9e3779b97f4a7c15ULL;
			return h ^ (h >> 31);
		case GOV_POL_IPADDR:
			return hash_bytes((const char *) v->u.ip->addr, v->u.ip->v6 ? 16 : 4) +
				v->u.ip->prefix;
		case GOV_POL_STRING:
			return hash_bytes(v->u.s.p, v->u.s.len);
		case GOV_POL_ENTITY:
			return hash_bytes(v->u.s.p, v->u.s.len) ^ 0xe17e17e1ULL;
		case GOV_POL_SET:
			/* set equality ignores order and duplicates: hash the kind only */
			return 0x5e75e75eULL;
		case GOV_POL_RECORD:
			h = 0x7ec07dULL;
			for (i = 0; i < v->u.rec.n; i++)
				h += hash_bytes(v->u.rec.fields[i].key.p, v->u.rec.fields[i].key.len) * 31 +
					value_hash(&v->u.rec.fields[i].value);
			return h;
		default:
			return 0;
	}
}

static bool set_subset(GovPolSession *s, const GovPolValue *a, const GovPolValue *b, bool *ok);

/*
 * Equality of usable values (check_usable first).  Values of different
 * kinds are unequal, as in Cedar.  *ok false only when out of memory.
 */
static bool
value_eq(GovPolSession *s, const GovPolValue *a, const GovPolValue *b, bool *ok)
{
	uint32_t	i;

	if (a->kind != b->kind)
		return false;
	switch (a->kind)
	{
		case GOV_POL_BOOL:
			return a->u.b == b->u.b;
		case GOV_POL_LONG:
		case GOV_POL_DECIMAL:
		case GOV_POL_DATETIME:
		case GOV_POL_DURATION:
			return a->u.i == b->u.i;
		case GOV_POL_IPADDR:
			return ip_eq(a->u.ip, b->u.ip);
		case GOV_POL_STRING:
		case GOV_POL_ENTITY:
			return str_eq(a->u.s.p, a->u.s.len, b->u.s.p, b->u.s.len);
		case GOV_POL_SET:
			return set_subset(s, a, b, ok) && *ok && set_subset(s, b, a, ok);
		case GOV_POL_RECORD:
			if (a->u.rec.n != b->u.rec.n)
				return false;
			for (i = 0; i < a->u.rec.n; i++)
			{
				const GovPolField *fa = &a->u.rec.fields[i];
				const GovPolField *fb = &b->u.rec.fields[i];

				if (!str_eq(fa->key.p, fa->key.len, fb->key.p, fb->key.len) ||
					!value_eq(s, &fa->value, &fb->value, ok))
					return false;
			}
			return true;
		default:
			return false;
	}
}

/* A hash index over a set's items, for sets too large to scan per probe. */
typedef struct SetIndex
{
	uint32_t   *slots;			/* item index + 1; 0 empty */
	uint64_t   *hashes;
	uint32_t	cap;
} SetIndex;

#define SCAN_LIMIT 1024			/* |a| * |b| below this: compare pairwise */

static bool
set_index_build(GovPolSession *s, const GovPolValue *set, SetIndex *ix)
{
	uint32_t	cap = 16;
	uint32_t	i;

	while ((uint64_t) cap < (uint64_t) set->u.set.n * 2)
	{
		if (cap > UINT32_MAX / 4)
			return false;
		cap *= 2;
	}
	ix->cap = cap;
	ix->slots = gov_pol_alloc(s->arena, sizeof(uint32_t) * cap);
	ix->hashes = gov_pol_alloc(s->arena, sizeof(uint64_t) * set->u.set.n + 1);
	if (ix->slots == NULL || ix->hashes == NULL)
		return false;
	memset(ix->slots, 0, sizeof(uint32_t) * cap);
	for (i = 0; i < set->u.set.n; i++)
	{
		uint64_t	h = value_hash(&set->u.set.items[i]);
		uint32_t	j = (uint32_t) h & (cap - 1);

		ix->hashes[i] = h;
		while (ix->slots[j])
			j = (j + 1) & (cap - 1);
		ix->slots[j] = i + 1;
	}
	return true;
}

static bool
set_index_has(GovPolSession *s, const GovPolValue *set, const SetIndex *ix,
			  const GovPolValue *v, bool *ok)
{
	uint64_t	h = value_hash(v);
	uint32_t	j = (uint32_t) h & (ix->cap - 1);

	while (ix->slots[j])
	{
		uint32_t	k = ix->slots[j] - 1;

		if (ix->hashes[k] == h && value_eq(s, &set->u.set.items[k], v, ok))
			return true;
		if (!*ok)
			return false;
		j = (j + 1) & (ix->cap - 1);
	}
	return false;
}

static bool
set_has(GovPolSession *s, const GovPolValue *set, const GovPolValue *v, bool *ok)
{
	uint32_t	i;

	for (i = 0; i < set->u.set.n && *ok; i++)
		if (value_eq(s, &set->u.set.items[i], v, ok))
			return true;
	return false;
}

/* Every item of a is in b. */
static bool
set_subset(GovPolSession *s, const GovPolValue *a, const GovPolValue *b, bool *ok)
{
	uint32_t	i;

	if ((uint64_t) a->u.set.n * b->u.set.n <= SCAN_LIMIT)
	{
		for (i = 0; i < a->u.set.n; i++)
			if (!set_has(s, b, &a->u.set.items[i], ok))
				return false;
		return true;
	}
	else
	{
		SetIndex	ix;

		if (!set_index_build(s, b, &ix))
		{
			*ok = false;
			return false;
		}
		for (i = 0; i < a->u.set.n; i++)
			if (!set_index_has(s, b, &ix, &a->u.set.items[i], ok))
				return false;
		return true;
	}
}

/* Some item of a is in b. */
static bool
set_overlaps(GovPolSession *s, const GovPolValue *a, const GovPolValue *b, bool *ok)
{
	uint32_t	i;

	if ((uint64_t) a->u.set.n * b->u.set.n <= SCAN_LIMIT)
	{
		for (i = 0; i < a->u.set.n; i++)
			if (set_has(s, b, &a->u.set.items[i], ok))
				return true;
		return false;
	}
	else
	{
		SetIndex	ix;

		if (!set_index_build(s, b, &ix))
		{
			*ok = false;
			return false;
		}
		for (i = 0; i < a->u.set.n && *ok; i++)
			if (set_index_has(s, b, &ix, &a->u.set.items[i], ok))
				return true;
		return false;
	}
}

/* leftmost occurrence of seg in s[from, to), or -1 */
static int64_t
kmp_find(const PatSeg *seg, const char *s, size_t from, size_t to)
{
	uint32_t	k = 0;
	size_t		i;

	if (seg->len == 0)
		return (int64_t) from;
	for (i = from; i < to; i++)
	{
		while (k > 0 && s[i] != seg->p[k])
			k = seg->fail[k - 1];
		if (s[i] == seg->p[k])
			k++;
		if (k == seg->len)
			return (int64_t) (i + 1 - seg->len);
	}
	return -1;
}

/*
 * Glob matching with * only.  The first segment is anchored at the start
 * unless the pattern starts with *, the last at the end unless it ends
 * with *, and the ones in between are matched leftmost-first, which is
 * optimal for * patterns; each search is KMP, so the whole is linear.
 */
static bool
like_match(const Pattern *pat, const char *s, size_t n)
{
	uint32_t	first = 0;
	uint32_t	last = pat->nseg;	/* exclusive */
	size_t		pos = 0;
	size_t		end = n;
	uint32_t	i;

	if (!pat->has_star)
	{
		if (pat->nseg == 0)
			return n == 0;
		return n == pat->segs[0].len && memcmp(s, pat->segs[0].p, n) == 0;
	}
	if (!pat->lead_star && pat->nseg > 0)
	{
		const PatSeg *seg = &pat->segs[0];

		if (n < seg->len || memcmp(s, seg->p, seg->len) != 0)
			return false;
		pos = seg->len;
		first = 1;
	}
	if (!pat->trail_star && last > first)
	{
		const PatSeg *seg = &pat->segs[last - 1];

		if (n - pos < seg->len || memcmp(s + n - seg->len, seg->p, seg->len) != 0)
			return false;
		end = n - seg->len;
		last--;
	}
	for (i = first; i < last; i++)
	{
		int64_t		at = kmp_find(&pat->segs[i], s, pos, end);

		if (at < 0)
			return false;
		pos = (size_t) at + pat->segs[i].len;
	}
	return true;
}

static bool eval(GovPolSession *s, const Node *n, GovPolValue *out);
static bool uid_has_type(const GovPolStr *uid, const GovPolStr *type);

/* The start of a type error message about an operator. */
static const char *
op_expects(NodeKind k)
{
	switch (k)
	{
		case N_LT:
			return "\"<\" expects";
		case N_LE:
			return "\"<=\" expects";
		case N_GT:
			return "\">\" expects";
		case N_GE:
			return "\">=\" expects";
		case N_AND:
			return "\"&&\" expects";
		case N_OR:
			return "\"||\" expects";
		case N_MUL:
			return "\"*\" expects";
		default:
			return "\"+\" expects";
	}
}

/*
 * Evaluate a child that must be of one kind.  what is the start of the
 * message: "\"<\" expects", "a when condition must be".
 */
static bool
eval_kind(GovPolSession *s, const Node *n, GovPolKind kind, const char *what,
		  GovPolValue *out)
{
	if (!eval(s, n, out))
		return false;
	if (out->kind == kind)
		return true;
	if (out->kind == GOV_POL_UNUSABLE)
		return check_usable(s, out);
	return ev_error(s, "type error: %s %s, found %s", what,
					kind_article(kind), kind_article(out->kind));
}

static bool
eval_attr(GovPolSession *s, const Node *n, GovPolValue *out, bool has)
{
	GovPolValue obj;
	const GovPolValue *found = NULL;
	char		b1[SHOW_MAX + 4];
	char		b2[SHOW_MAX + 4];

	if (!eval(s, n->kids[0], &obj))
		return false;
	switch (obj.kind)
	{
		case GOV_POL_ENTITY:
			{
				const GovPolEntity *e = lookup(s, obj.u.s.p, obj.u.s.len);

				if (e && e->attrs && e->attrs->kind == GOV_POL_RECORD)
					found = record_get(e->attrs, n->name.p, n->name.len);
				if (has)
					break;
				if (e == NULL)
					return ev_error(s, "entity %s does not exist", SHOW(obj.u.s, b1));
				if (found == NULL)
					return ev_error(s, "entity %s has no attribute \"%s\"",
									SHOW(obj.u.s, b1), SHOW(n->name, b2));
				break;
			}
		case GOV_POL_RECORD:
			found = record_get(&obj, n->name.p, n->name.len);
			if (found == NULL && !has)
			{
				if (n->kids[0]->kind == N_VAR)
					return ev_error(s, "context has no attribute \"%s\"", SHOW(n->name, b2));
				return ev_error(s, "record has no attribute \"%s\"", SHOW(n->name, b2));
			}
			break;
		case GOV_POL_UNUSABLE:
			return check_usable(s, &obj);
		default:
			if (has)
				return ev_error(s, "type error: \"has\" expects an entity or a record, found %s",
								kind_article(obj.kind));
			return ev_error(s, "type error: cannot read attribute \"%s\" of %s",
							SHOW(n->name, b2), kind_article(obj.kind));
	}
	if (has)
	{
		out->kind = GOV_POL_BOOL;
		out->u.b = (found != NULL);
	}
	else
		*out = *found;
	return true;
}

static bool
eval_in(GovPolSession *s, const Node *n, GovPolValue *out)
{
	GovPolValue l;
	GovPolValue r;
	int			res;
	uint32_t	i;

	if (!eval_kind(s, n->kids[0], GOV_POL_ENTITY, "\"in\" expects", &l))
		return false;
	if (!eval(s, n->kids[1], &r))
		return false;
	out->kind = GOV_POL_BOOL;
	if (r.kind == GOV_POL_ENTITY)
	{
		res = entity_in(s, &l.u.s, &r.u.s);
		if (res < 0)
			return false;
		out->u.b = res == 1;
		return true;
	}
	if (r.kind == GOV_POL_SET)
	{
		/* type-check every item first: the answer must not depend on order */
		for (i = 0; i < r.u.set.n; i++)
		{
			const GovPolValue *it = &r.u.set.items[i];

			if (it->kind == GOV_POL_UNUSABLE)
				return check_usable(s, it);
			if (it->kind != GOV_POL_ENTITY)
				return ev_error(s, "type error: \"in\" expects a set of entities, found a set containing %s",
								kind_article(it->kind));
		}
		out->u.b = false;
		for (i = 0; i < r.u.set.n; i++)
		{
			res = entity_in(s, &l.u.s, &r.u.set.items[i].u.s);
			if (res < 0)
				return false;
			if (res == 1)
			{
				out->u.b = true;
				break;
			}
		}
		return true;
	}
	if (r.kind == GOV_POL_UNUSABLE)
		return check_usable(s, &r);
	return ev_error(s, "type error: \"in\" expects an entity or a set of entities on its right, found %s",
					kind_article(r.kind));
}

/* e.hasTag(k), e.getTag(k): the entity's tags (docs/POLICY.md section 4) */
static bool
eval_tag(GovPolSession *s, const Node *n, GovPolValue *out)
{
	const char *what = n->kind == N_HAS_TAG ? "\".hasTag()\" expects" : "\".getTag()\" expects";
	GovPolValue e;
	GovPolValue k;
	const GovPolEntity *ent;
	const GovPolValue *found = NULL;
	char		b1[SHOW_MAX + 4];
	char		b2[SHOW_MAX + 4];

	if (!eval_kind(s, n->kids[0], GOV_POL_ENTITY, what, &e) ||
		!eval_kind(s, n->kids[1], GOV_POL_STRING, what, &k))
		return false;
	ent = lookup(s, e.u.s.p, e.u.s.len);
	if (ent && ent->tags && ent->tags->kind == GOV_POL_RECORD)
		found = record_get(ent->tags, k.u.s.p, k.u.s.len);
	if (n->kind == N_HAS_TAG)
	{
		out->kind = GOV_POL_BOOL;
		out->u.b = found != NULL;
		return true;
	}
	if (ent == NULL)
		return ev_error(s, "entity %s does not exist", SHOW(e.u.s, b1));
	if (found == NULL)
		return ev_error(s, "entity %s has no tag \"%s\"", SHOW(e.u.s, b1), SHOW(k.u.s, b2));
	*out = *found;
	return true;
}

/*
 * An extension function or method.  Every argument is evaluated first,
 * then the count and kinds are checked, as in Cedar.
 */
static bool
eval_ext(GovPolSession *s, const Node *n, GovPolValue *out)
{
	const ExtInfo *x = &ext_info[n->ext];
	GovPolValue args[2];
	uint32_t	i;
	int64_t		r;

	for (i = 0; i < n->nkids && i < x->arity; i++)
		if (!eval(s, n->kids[i], &args[i]) || !check_usable(s, &args[i]))
			return false;
	if (n->nkids != x->arity)
		return ev_error(s, "\"%s\" takes %u argument%s%s, found %u",
						x->name, x->function ? x->arity : x->arity - 1,
						(x->function ? x->arity : x->arity - 1) == 1 ? "" : "s",
						x->function ? "" : " besides its receiver",
						x->function ? n->nkids : n->nkids - 1);
	for (i = 0; i < n->nkids; i++)
	{
		GovPolKind	want = i == 0 ? x->self : x->other;

		if (args[i].kind != want)
			return ev_error(s, "type error: \"%s\" expects %s%s, found %s",
							x->name, kind_article(want),
							x->function ? "" : i == 0 ? " to call it on" : " as its argument",
							kind_article(args[i].kind));
	}
	switch (n->ext)
	{
		case X_DECIMAL:
		case X_IP:
		case X_DATETIME:
		case X_DURATION:
			{
				GovPolIp   *ip = gov_pol_alloc(s->arena, sizeof(GovPolIp));
				const char *why;
				char		b1[SHOW_MAX + 4];

				if (ip == NULL)
					return ev_oom(s);
				if (!gov_pol_extension_value(x->name, strlen(x->name),
											 args[0].u.s.p, args[0].u.s.len,
											 ip, out, &why))
					return ev_error(s, "%s(\"%s\"): the string %s", x->name,
									SHOW(args[0].u.s, b1), why);
				return true;
			}
		case X_LESS_THAN:
		case X_LESS_THAN_OR_EQUAL:
		case X_GREATER_THAN:
		case X_GREATER_THAN_OR_EQUAL:
			out->kind = GOV_POL_BOOL;
			out->u.b = n->ext == X_LESS_THAN ? args[0].u.i < args[1].u.i :
				n->ext == X_LESS_THAN_OR_EQUAL ? args[0].u.i <= args[1].u.i :
				n->ext == X_GREATER_THAN ? args[0].u.i > args[1].u.i :
				args[0].u.i >= args[1].u.i;
			return true;
		case X_IS_IPV4:
		case X_IS_IPV6:
			out->kind = GOV_POL_BOOL;
			out->u.b = args[0].u.ip->v6 == (n->ext == X_IS_IPV6);
			return true;
		case X_IS_LOOPBACK:
		case X_IS_MULTICAST:
			{
				const GovPolIp *ip = args[0].u.ip;
				uint8_t		net[16];
				uint8_t		bcast[16];

				ip_network(ip, net, bcast);
				out->kind = GOV_POL_BOOL;
				if (n->ext == X_IS_MULTICAST)
					out->u.b = ip->v6 ? net[0] == 0xff && ip->prefix >= 8 :
						(net[0] & 0xf0) == 0xe0 && ip->prefix >= 4;
				else if (!ip->v6)
					out->u.b = net[0] == 127;
				else
				{
					static const uint8_t one[16] = {[15] = 1};

					out->u.b = memcmp(net, one, 16) == 0;
				}
				return true;
			}
		case X_IS_IN_RANGE:
			out->kind = GOV_POL_BOOL;
			out->u.b = ip_in_range(args[0].u.ip, args[1].u.ip);
			return true;
		case X_OFFSET:
			if ((args[1].u.i > 0 && args[0].u.i > INT64_MAX - args[1].u.i) ||
				(args[1].u.i < 0 && args[0].u.i < INT64_MIN - args[1].u.i))
				return ev_error(s, "overflow in \"offset\": the datetime is out of range");
			out->kind = GOV_POL_DATETIME;
			out->u.i = args[0].u.i + args[1].u.i;
			return true;
		case X_DURATION_SINCE:
			if ((args[1].u.i < 0 && args[0].u.i > INT64_MAX + args[1].u.i) ||
				(args[1].u.i > 0 && args[0].u.i < INT64_MIN + args[1].u.i))
				return ev_error(s, "overflow in \"durationSince\": the duration is out of range");
			out->kind = GOV_POL_DURATION;
			out->u.i = args[0].u.i - args[1].u.i;
			return true;
		case X_TO_DATE:
			r = args[0].u.i % MS_PER_DAY;
			if (r < 0)
			{
				if (args[0].u.i - r < INT64_MIN + MS_PER_DAY)
					return ev_error(s, "overflow in \"toDate\": the datetime is out of range");
				r += MS_PER_DAY;
			}
			out->kind = GOV_POL_DATETIME;
			out->u.i = args[0].u.i - r;
			return true;
		case X_TO_TIME:
			r = args[0].u.i % MS_PER_DAY;
			out->kind = GOV_POL_DURATION;
			out->u.i = r < 0 ? r + MS_PER_DAY : r;
			return true;
		case X_TO_DAYS:
		case X_TO_HOURS:
		case X_TO_MINUTES:
		case X_TO_SECONDS:
		case X_TO_MILLISECONDS:
			out->kind = GOV_POL_LONG;
			out->u.i = args[0].u.i / (n->ext == X_TO_DAYS ? MS_PER_DAY :
									  n->ext == X_TO_HOURS ? MS_PER_HOUR :
									  n->ext == X_TO_MINUTES ? MS_PER_MINUTE :
									  n->ext == X_TO_SECONDS ? MS_PER_SECOND : 1);
			return true;
	}
	return ev_error(s, "unknown extension call");
}

static bool
eval(GovPolSession *s, const Node *n, GovPolValue *out)
{
	GovPolValue a;
	GovPolValue b;
	uint32_t	i;
	bool		ok = true;

	switch (n->kind)
	{
		case N_LIT:
			*out = n->lit;
			return true;
		case N_VAR:
			switch (n->var)
			{
				case V_PRINCIPAL:
					out->kind = GOV_POL_ENTITY;
					out->u.s = s->req.principal;
					return true;
				case V_ACTION:
					out->kind = GOV_POL_ENTITY;
					out->u.s = s->req.action;
					return true;
				case V_RESOURCE:
					out->kind = GOV_POL_ENTITY;
					out->u.s = s->req.resource;
					return true;
				case V_CONTEXT:
					*out = s->context;
					return true;
			}
			return ev_error(s, "unknown variable");
		case N_ATTR:
			return eval_attr(s, n, out, false);
		case N_HAS:
			return eval_attr(s, n, out, true);
		case N_EQ:
		case N_NE:
			if (!eval(s, n->kids[0], &a) || !eval(s, n->kids[1], &b) ||
				!check_usable(s, &a) || !check_usable(s, &b))
				return false;
			out->kind = GOV_POL_BOOL;
			out->u.b = value_eq(s, &a, &b, &ok);
			if (!ok)
				return ev_oom(s);
			if (n->kind == N_NE)
				out->u.b = !out->u.b;
			return true;
		case N_LT:
		case N_LE:
		case N_GT:
		case N_GE:
			if (!eval(s, n->kids[0], &a) || !eval(s, n->kids[1], &b))
				return false;
			if (a.kind != GOV_POL_LONG || b.kind != GOV_POL_LONG)
			{
				/* integers, datetimes or durations: both of one kind */
				if (!check_usable(s, &a) || !check_usable(s, &b))
					return false;
				if ((a.kind != GOV_POL_DATETIME && a.kind != GOV_POL_DURATION &&
					 a.kind != GOV_POL_LONG) || b.kind != a.kind)
					return ev_error(s, "type error: %s two integers, datetimes or durations, found %s and %s",
									op_expects(n->kind), kind_article(a.kind),
									kind_article(b.kind));
			}
			out->kind = GOV_POL_BOOL;
			out->u.b = n->kind == N_LT ? a.u.i < b.u.i :
				n->kind == N_LE ? a.u.i <= b.u.i :
				n->kind == N_GT ? a.u.i > b.u.i : a.u.i >= b.u.i;
			return true;
		case N_IN:
			return eval_in(s, n, out);
		case N_LIKE:
			if (!eval_kind(s, n->kids[0], GOV_POL_STRING, "\"like\" expects", &a))
				return false;
			out->kind = GOV_POL_BOOL;
			out->u.b = like_match(n->pat, a.u.s.p, a.u.s.len);
			return true;
		case N_AND:
		case N_OR:
			for (i = 0; i < n->nkids; i++)
			{
				if (!eval_kind(s, n->kids[i], GOV_POL_BOOL, op_expects(n->kind), &a))
					return false;
				if (a.u.b == (n->kind == N_OR))
					break;		/* short circuit */
			}
			*out = a;
			return true;
		case N_NOT:
			if (!eval_kind(s, n->kids[0], GOV_POL_BOOL, "\"!\" expects", &a))
				return false;
			out->kind = GOV_POL_BOOL;
			out->u.b = !a.u.b;
			return true;
		case N_NEG:
			if (!eval_kind(s, n->kids[0], GOV_POL_LONG, "\"-\" expects", &a))
				return false;
			if (a.u.i == INT64_MIN)
				return ev_error(s, "integer overflow in \"-\"");
			out->kind = GOV_POL_LONG;
			out->u.i = -a.u.i;
			return true;
		case N_ADD:
		case N_MUL:
			{
				int64_t		acc;

				if (!eval_kind(s, n->kids[0], GOV_POL_LONG,
							   n->kind == N_ADD && n->ops[1] == '-' ? "\"-\" expects" :
							   op_expects(n->kind), &a))
					return false;
				acc = a.u.i;
				for (i = 1; i < n->nkids; i++)
				{
					char		op = n->kind == N_MUL ? '*' : n->ops[i];
					const char *opname = op == '*' ? "*" : op == '+' ? "+" : "-";
					char		what[16];
					bool		overflow;

					snprintf(what, sizeof(what), "\"%s\" expects", opname);
					if (!eval_kind(s, n->kids[i], GOV_POL_LONG, what, &b))
						return false;
					if (op == '+')
						overflow = (b.u.i > 0 && acc > INT64_MAX - b.u.i) ||
							(b.u.i < 0 && acc < INT64_MIN - b.u.i);
					else if (op == '-')
						overflow = (b.u.i < 0 && acc > INT64_MAX + b.u.i) ||
							(b.u.i > 0 && acc < INT64_MIN + b.u.i);
					else
					{
						overflow = false;
						if (acc != 0 && b.u.i != 0)
						{
							if ((acc == -1 && b.u.i == INT64_MIN) ||
								(b.u.i == -1 && acc == INT64_MIN))
								overflow = true;
							else if (acc > 0)
								overflow = b.u.i > 0 ? acc > INT64_MAX / b.u.i
									: b.u.i < INT64_MIN / acc;
							else
								overflow = b.u.i > 0 ? acc < INT64_MIN / b.u.i
									: acc < INT64_MAX / b.u.i;
						}
					}
					if (overflow)
						return ev_error(s, "integer overflow in \"%s\"", opname);
					acc = op == '+' ? acc + b.u.i : op == '-' ? acc - b.u.i : acc * b.u.i;
				}
				out->kind = GOV_POL_LONG;
				out->u.i = acc;
				return true;
			}
		case N_IF:
			if (!eval_kind(s, n->kids[0], GOV_POL_BOOL, "an if condition must be", &a))
				return false;
			return eval(s, n->kids[a.u.b ? 1 : 2], out);
		case N_SET:
			{
				GovPolValue *items = gov_pol_alloc(s->arena, sizeof(GovPolValue) * (n->nkids ? n->nkids : 1));

				if (items == NULL)
					return ev_oom(s);
				for (i = 0; i < n->nkids; i++)
					if (!eval(s, n->kids[i], &items[i]))
						return false;
				out->kind = GOV_POL_SET;
				out->u.set.items = items;
				out->u.set.n = n->nkids;
				return true;
			}
		case N_CONTAINS:
			if (!eval_kind(s, n->kids[0], GOV_POL_SET, "\".contains()\" expects", &a) ||
				!eval(s, n->kids[1], &b) ||
				!check_usable(s, &a) || !check_usable(s, &b))
				return false;
			out->kind = GOV_POL_BOOL;
			out->u.b = set_has(s, &a, &b, &ok);
			return ok ? true : ev_oom(s);
		case N_IS:
			if (!eval_kind(s, n->kids[0], GOV_POL_ENTITY, "\"is\" expects", &a))
				return false;
			out->kind = GOV_POL_BOOL;
			out->u.b = uid_has_type(&a.u.s, &n->name);
			return true;
		case N_IS_EMPTY:
			if (!eval_kind(s, n->kids[0], GOV_POL_SET, "\".isEmpty()\" expects", &a) ||
				!check_usable(s, &a))
				return false;
			out->kind = GOV_POL_BOOL;
			out->u.b = a.u.set.n == 0;
			return true;
		case N_RECORD:
			{
				GovPolField *fields = gov_pol_alloc(s->arena, sizeof(GovPolField) * (n->nkids ? n->nkids : 1));

				if (fields == NULL)
					return ev_oom(s);
				/* the parser sorted the keys and refused duplicates */
				for (i = 0; i < n->nkids; i++)
				{
					fields[i].key = n->keys[i];
					if (!eval(s, n->kids[i], &fields[i].value))
						return false;
				}
				out->kind = GOV_POL_RECORD;
				out->u.rec.fields = fields;
				out->u.rec.n = n->nkids;
				return true;
			}
		case N_EXT:
			return eval_ext(s, n, out);
		case N_HAS_TAG:
		case N_GET_TAG:
			return eval_tag(s, n, out);
		case N_CONTAINS_ALL:
		case N_CONTAINS_ANY:
			{
				const char *op = (n->kind == N_CONTAINS_ALL ? "\".containsAll()\" expects" :
								  "\".containsAny()\" expects");

				if (!eval_kind(s, n->kids[0], GOV_POL_SET, op, &a) ||
					!eval_kind(s, n->kids[1], GOV_POL_SET, op, &b) ||
					!check_usable(s, &a) || !check_usable(s, &b))
					return false;
				out->kind = GOV_POL_BOOL;
				out->u.b = n->kind == N_CONTAINS_ALL ? set_subset(s, &b, &a, &ok)
					: set_overlaps(s, &b, &a, &ok);
				return ok ? true : ev_oom(s);
			}
	}
	return ev_error(s, "unknown expression");
}

/* Is the uid Type::"id" of exactly this entity type? */
static bool
uid_has_type(const GovPolStr *uid, const GovPolStr *type)
{
	return uid->len > type->len + 2 &&
		memcmp(uid->p, type->p, type->len) == 0 &&
		uid->p[type->len] == ':' && uid->p[type->len + 1] == ':' &&
		uid->p[type->len + 2] == '"';
}

/* Does the request entity satisfy a scope constraint?  -1 on error. */
static int
scope_match(GovPolSession *s, const Scope *sc, const GovPolStr *uid)
{
	uint32_t	i;
	int			r;

	/* "is" first: a type that differs settles it before any "in" */
	if (sc->is_type.len > 0 && !uid_has_type(uid, &sc->is_type))
		return 0;
	switch (sc->kind)
	{
		case S_ANY:
			return 1;
		case S_EQ:
			return str_eq(uid->p, uid->len, sc->uids[0].p, sc->uids[0].len);
		case S_IN:
			return entity_in(s, uid, &sc->uids[0]);
		case S_IN_SET:
			for (i = 0; i < sc->n; i++)
			{
				r = entity_in(s, uid, &sc->uids[i]);
				if (r != 0)
					return r;
			}
			return 0;
	}
	return -1;
}

GovPolResult
gov_pol_evaluate(GovPolSession *s, const GovPolicy *p, const char **error)
{
	uint32_t	i;
	int			r;

	*error = NULL;
	s->err = NULL;

	if ((r = scope_match(s, &p->principal, &s->req.principal)) != 1 ||
		(r = scope_match(s, &p->action, &s->req.action)) != 1 ||
		(r = scope_match(s, &p->resource, &s->req.resource)) != 1)
	{
		if (r < 0)
		{
			*error = s->err ? s->err : "out of memory while evaluating";
			return GOV_POL_ERROR;
		}
		return GOV_POL_NO_MATCH;
	}

	for (i = 0; i < p->ncond; i++)
	{
		GovPolValue v;
		const Cond *c = &p->conds[i];

		if (!eval_kind(s, c->expr, GOV_POL_BOOL,
					   c->is_when ? "a when condition must be" : "an unless condition must be", &v))
		{
			*error = s->err ? s->err : "out of memory while evaluating";
			return GOV_POL_ERROR;
		}
		if (v.u.b != c->is_when)
			return GOV_POL_NO_MATCH;
	}
	return GOV_POL_MATCH;
}
