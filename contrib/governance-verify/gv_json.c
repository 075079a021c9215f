/*-------------------------------------------------------------------------
 *
 * gv_json.c
 *	  Reading a checkpoint as governance.checkpoint() returns it
 *	  (docs/FORMAT.md, section 7): one JSON object whose members version,
 *	  block_id, last_seq, total_rows, sealed_at_us (numbers), block_hash,
 *	  key_id, signature and sealed_at (strings) are read; other members
 *	  are skipped.  Strict JSON (RFC 8259); every input is untrusted.
 *	  And one member of an event's payload (gv_json_member).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gv.h"

typedef struct J
{
	const char *p;
	const char *end;
	int			depth;
} J;

static void
ws(J *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
lit(J *j, const char *s)
{
	size_t		n = strlen(s);

	if ((size_t) (j->end - j->p) < n || memcmp(j->p, s, n) != 0)
		return false;
	j->p += n;
	return true;
}

/* A string into out (UTF-8, truncated to cap - 1 and then refused). */
static bool
str(J *j, char *out, size_t cap)
{
	size_t		n = 0;

	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"')
	{
		unsigned char c = (unsigned char) *j->p++;

		if (c < 0x20)
			return false;
		if (c == '\\')
		{
			if (j->p >= j->end)
				return false;
			c = (unsigned char) *j->p++;
			switch (c)
			{
				case '"':
				case '\\':
				case '/':
					break;
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 't':
					c = '\t';
					break;
				case 'u':
					{
						int			k;

						/* not needed by any member read: keep it as '?' */
						for (k = 0; k < 4; k++)
							if (j->p >= j->end || !((*j->p >= '0' && *j->p <= '9') ||
													(*j->p >= 'a' && *j->p <= 'f') ||
													(*j->p >= 'A' && *j->p <= 'F')))
								return false;
							else
								j->p++;
						c = '?';
						break;
					}
				default:
					return false;
			}
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = (char) c;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	out[n] = '\0';
	return true;
}

/* A number token: an integer when it is one (*is_int). */
static bool
num(J *j, int64_t *v, bool *is_int)
{
	char		tok[64];
	size_t		n = 0;
	const char *s = j->p;

	*is_int = true;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.')
	{
		*is_int = false;
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E'))
	{
		*is_int = false;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (*is_int)
	{
		n = (size_t) (j->p - s);
		if (n >= sizeof(tok))
			*is_int = false;
		else
		{
			memcpy(tok, s, n);
			tok[n] = '\0';
			*is_int = gov_ev_parse_int(tok, v);
		}
	}
	return true;
}

static bool value(J *j);

static bool
skip_container(J *j, char close)
{
	char		buf[4096];

	if (++j->depth > 64)
		return false;
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close)
	{
		j->p++;
		j->depth--;
		return true;
	}
	for (;;)
	{
		ws(j);
		if (close == '}')
		{
			if (!str(j, buf, sizeof(buf)))
				return false;
			ws(j);
			if (!lit(j, ":"))
				return false;
			ws(j);
		}
		if (!value(j))
			return false;
		ws(j);
		if (lit(j, ","))
			continue;
		if (j->p < j->end && *j->p == close)
		{
			j->p++;
			j->depth--;
			return true;
		}
		return false;
	}
}

static bool
value(J *j)
{
	char		buf[4096];
	int64_t		v;
	bool		is_int;

	if (j->p >= j->end)
		return false;
	switch (*j->p)
	{
		case '{':
			return skip_container(j, '}');
		case '[':
			return skip_container(j, ']');
		case '"':
			return str(j, buf, sizeof(buf));
		case 't':
			return lit(j, "true");
		case 'f':
			return lit(j, "false");
		case 'n':
			return lit(j, "null");
		default:
			return num(j, &v, &is_int);
	}
}

/* The instant as checkpoint() writes it: 2026-11-28T00:01:33.181153Z */
static void
iso_utc(int64_t us, char *out, size_t cap)
{
	int64_t		secs = us / 1000000;
	int64_t		frac = us % 1000000;
	time_t		t;
	struct tm	tm;

	if (frac < 0)
	{
		frac += 1000000;
		secs--;
	}
	t = (time_t) secs;
	if (gmtime_r(&t, &tm) == NULL)
	{
		snprintf(out, cap, "invalid");
		return;
	}
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) frac);
}

const char *
gv_parse_checkpoint_json(const char *json, size_t len, GovEvCheckpoint *cp, bool *tampered)
{
	J			j = {json, json + len, 0};
	char		key[64];
	char		sval[4096];
	char		human[64] = "";
	int			have = 0;
	int64_t		version = 0;
	bool		have_version = false;

	*tampered = false;
	memset(cp, 0, sizeof(*cp));
	ws(&j);
	if (!lit(&j, "{"))
		return "malformed checkpoint: not a JSON object";
	ws(&j);
	if (!lit(&j, "}"))
		for (;;)
		{
			int64_t		v = 0;
			bool		is_int = false;
			bool		is_str = false;

			ws(&j);
			if (!str(&j, key, sizeof(key)))
				return "malformed checkpoint: not JSON";
			ws(&j);
			if (!lit(&j, ":"))
				return "malformed checkpoint: not JSON";
			ws(&j);
			if (j.p < j.end && *j.p == '"')
			{
				if (!str(&j, sval, sizeof(sval)))
					return "malformed checkpoint: not JSON";
				is_str = true;
			}
			else if (j.p < j.end && (*j.p == '-' || (*j.p >= '0' && *j.p <= '9')))
			{
				if (!num(&j, &v, &is_int))
					return "malformed checkpoint: not JSON";
			}
			else if (!value(&j))
				return "malformed checkpoint: not JSON";

#define INT_MEMBER(name, dst, bit) \
			do { \
				if (strcmp(key, name) == 0) \
				{ \
					if (!is_int) \
						return "malformed checkpoint: " name " is not an integer"; \
					dst = v; \
					have |= bit; \
				} \
			} while (0)
#define HEX_MEMBER(name, dst, n, bit) \
			do { \
				if (strcmp(key, name) == 0) \
				{ \
					if (!is_str || !gov_ev_parse_hex(sval, dst, n)) \
						return "malformed checkpoint: " name " has the wrong length or is not hexadecimal"; \
					have |= bit; \
				} \
			} while (0)

			if (strcmp(key, "version") == 0)
			{
				if (!is_int)
					return "unsupported checkpoint version: only versions 1 and 2 exist";
				version = v;
				have_version = true;
			}
			INT_MEMBER("block_id", cp->block_id, 1);
			INT_MEMBER("last_seq", cp->last_seq, 2);
			INT_MEMBER("total_rows", cp->total_rows, 4);
			INT_MEMBER("sealed_at_us", cp->sealed_at, 8);
			HEX_MEMBER("block_hash", cp->block_hash, 64, 16);
			HEX_MEMBER("signature", cp->signature, 64, 32);
			HEX_MEMBER("log_id", cp->log_id, 16, 128);
			if (strcmp(key, "key_id") == 0)
			{
				uint8_t		raw[8];

				if (!is_str || !gov_ev_parse_hex(sval, raw, 8))
					return "malformed checkpoint: key_id has the wrong length or is not hexadecimal";
				memcpy(cp->key_id, sval, 17);
				have |= 64;
			}
			if (strcmp(key, "sealed_at") == 0)
			{
				if (!is_str)
					return "malformed checkpoint: sealed_at is not a string";
				if (strlen(sval) >= sizeof(human))
				{
					*tampered = true;
					return "malformed checkpoint: sealed_at does not match the signed sealed_at_us";
				}
				memcpy(human, sval, strlen(sval) + 1);
			}
			ws(&j);
			if (lit(&j, ","))
				continue;
			if (lit(&j, "}"))
				break;
			return "malformed checkpoint: not JSON";
		}
	ws(&j);
	if (j.p != j.end)
		return "malformed checkpoint: text after the JSON object";
	if (!have_version || (version != 1 && version != 2))
		return "unsupported checkpoint version: only versions 1 and 2 exist";
	cp->version = version;
	if (version == 2 && !(have & 128))
		return "malformed checkpoint: a version 2 checkpoint needs log_id";
	if (version == 1 && (have & 128))
		return "malformed checkpoint: a version 1 checkpoint has no log_id";
	if ((have & 127) != 127)
		return "malformed checkpoint: it needs block_id, block_hash, last_seq, total_rows, sealed_at_us, key_id and signature";
	if (human[0])
	{
		char		want[64];

		iso_utc(cp->sealed_at, want, sizeof(want));
		if (strcmp(want, human) != 0)
		{
			*tampered = true;
			return "malformed checkpoint: sealed_at does not match the signed sealed_at_us";
		}
	}
	return NULL;
}

/*
 * A top-level string member of a JSON object (the payload is canonical
 * JSON, section 4), its escapes decoded but for \u, which stays as written;
 * NULL when absent or not a string.  Nested objects and arrays are skipped
 * whole, so a member of the same name inside "key" is never taken.
 * Malloc'd (the caller frees it).  Shared by the proof engine (the
 * tenant, gv_blocks.c) and the graph (gv_dot.c).
 */
char *
gv_json_member(const uint8_t *p, size_t n, const char *name)
{
	size_t		i = 0;
	size_t		namelen = strlen(name);

	if (n == 0 || p[0] != '{')
		return NULL;
	i = 1;
	while (i < n && p[i] == '"')
	{
		size_t		k0 = i + 1;
		size_t		k1;
		bool		match;
		int			depth;

		for (i = k0; i < n && p[i] != '"'; i++)
			if (p[i] == '\\')
				i++;
		if (i >= n)
			return NULL;
		k1 = i++;
		match = (k1 - k0 == namelen && memcmp(p + k0, name, namelen) == 0);
		if (i >= n || p[i] != ':')
			return NULL;
		i++;
		if (match)
		{
			char	   *out;
			size_t		o = 0;

			if (i >= n || p[i] != '"')
				return NULL;
			out = malloc(n - i + 1);
			if (out == NULL)
				return NULL;
			for (i++; i < n && p[i] != '"'; i++)
			{
				if (p[i] == '\\' && i + 1 < n)
				{
					char		c = (char) p[++i];

					out[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' :
						c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'u' ? 'u' : c;
					if (c == 'u')
					{
						out[o - 1] = '\\';
						out[o++] = 'u';
					}
				}
				else
					out[o++] = (char) p[i];
			}
			out[o] = '\0';
			return out;
		}
		/* skip the value */
		depth = 0;
		for (; i < n; i++)
		{
			if (p[i] == '"')
			{
				for (i++; i < n && p[i] != '"'; i++)
					if (p[i] == '\\')
						i++;
			}
			else if (p[i] == '{' || p[i] == '[')
				depth++;
			else if (p[i] == '}' || p[i] == ']')
			{
				if (depth == 0)
					return NULL;	/* the object's end */
				depth--;
			}
			else if (p[i] == ',' && depth == 0)
				break;
		}
		if (i >= n)
			return NULL;
		i++;					/* the comma */
	}
	return NULL;
}
