/*-------------------------------------------------------------------------
 *
 * evidence_codec.c
 *	  Tokens and records of evidence bundles and proofs, and the shape of
 *	  Merkle audit paths.  Plain C: every input is untrusted, every length
 *	  is checked before it is used, nothing allocates (the caller gives
 *	  the buffers), and no hash function is called except through the
 *	  caller's node function.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "artifact_codec.h"
#include "evidence_codec.h"

static const char hexdigits[] = "0123456789abcdef";

/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

size_t
gov_ev_put_int(char *out, int64_t v)
{
	char		tmp[GOV_EV_INT_MAX + 1];
	size_t		n = 0;
	size_t		i;
	uint64_t	u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

	do
	{
		tmp[n++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u != 0);
	i = 0;
	if (v < 0)
		out[i++] = '-';
	while (n > 0)
		out[i++] = tmp[--n];
	return i;
}

size_t
gov_ev_put_hex(char *out, const uint8_t *p, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = hexdigits[p[i] >> 4];
		out[2 * i + 1] = hexdigits[p[i] & 15];
	}
	return 2 * n;
}

size_t
gov_ev_put_b64(char *out, const uint8_t *p, size_t n)
{
	if (p == NULL)
	{
		out[0] = '-';
		return 1;
	}
	if (n == 0)
	{
		out[0] = '=';
		return 1;
	}
	return gov_b64url_encode(p, n, out);
}

/* ---------------------------------------------------------------------
 * Tokens
 * ---------------------------------------------------------------------
 */

bool
gov_ev_parse_int(const char *t, int64_t *v)
{
	uint64_t	u = 0;
	bool		neg = false;
	const char *s = t;

	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;
	/* one spelling per number: no leading zeros, no "-0" */
	if (*s == '0' && (s[1] != '\0' || neg))
		return false;
	for (; *s; s++)
	{
		unsigned	d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned) (*s - '0');
		if (u > (UINT64_C(9223372036854775808) - d) / 10)
			return false;
		u = u * 10 + d;
	}
	if (neg)
	{
		if (u > UINT64_C(9223372036854775808))
			return false;
		*v = u == UINT64_C(9223372036854775808) ? INT64_MIN : -(int64_t) u;
	}
	else
	{
		if (u > (uint64_t) INT64_MAX)
			return false;
		*v = (int64_t) u;
	}
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool
gov_ev_parse_hex(const char *t, uint8_t *out, size_t n)
{
	size_t		i;

	if (strlen(t) != 2 * n)
		return false;
	for (i = 0; i < n; i++)
	{
		int			h = hexval(t[2 * i]);
		int			l = hexval(t[2 * i + 1]);

		if (h < 0 || l < 0)
			return false;
		out[i] = (uint8_t) (h << 4 | l);
	}
	return true;
}

static bool
parse_int_or_null(const char *t, int64_t *v, bool *isnull)
{
	*isnull = (strcmp(t, "-") == 0);
	if (*isnull)
	{
		*v = 0;
		return true;
	}
	return gov_ev_parse_int(t, v);
}

static bool
parse_hex_or_null(const char *t, uint8_t *out, size_t n, bool *isnull)
{
	*isnull = (strcmp(t, "-") == 0);
	if (*isnull)
	{
		memset(out, 0, n);
		return true;
	}
	return gov_ev_parse_hex(t, out, n);
}

/* base64url decoded in place; "-" NULL, "=" empty */
static bool
parse_b64(char *t, GovEvStr *s)
{
	size_t		n = strlen(t);
	long		m;

	memset(s, 0, sizeof(*s));
	if (strcmp(t, "-") == 0)
	{
		s->isnull = true;
		return true;
	}
	s->p = (const uint8_t *) t;
	if (strcmp(t, "=") == 0)
		return true;
	m = gov_b64url_decode(t, n, (uint8_t *) t, n);
	if (m <= 0)
		return false;
	s->len = (size_t) m;
	return true;
}

static bool
parse_key_id(const char *t, char *out, bool nullable, bool *isnull)
{
	size_t		i;

	*isnull = false;
	out[0] = '\0';
	if (nullable && strcmp(t, "-") == 0)
	{
		*isnull = true;
		return true;
	}
	if (strlen(t) != GOV_EV_KEY_ID)
		return false;
	for (i = 0; i < GOV_EV_KEY_ID; i++)
		if (hexval(t[i]) < 0)
			return false;
	memcpy(out, t, GOV_EV_KEY_ID + 1);
	return true;
}

/* Cut a line into tokens at single spaces; -1 for a malformed line. */
static int
split(char *line, size_t len, char **tok, int max)
{
	int			n = 0;
	size_t		i;
	size_t		start = 0;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) line[i];

		if (c == ' ')
		{
			if (i == start || n == max)
				return -1;
			line[i] = '\0';
			tok[n++] = line + start;
			start = i + 1;
		}
		else if (c < 0x21 || c > 0x7e || c == '\\')
			return -1;
	}
	if (start == len || n == max)
		return -1;
	line[len] = '\0';
	tok[n++] = line + start;
	return n;
}

size_t
gov_ev_gap_capacity(size_t linelen)
{
	/* each pair takes at least "a:b," */
	return 2 * (linelen / 4 + 1);
}

static bool
parse_gaps(char *t, GovEvBlock *b, int64_t *gapbuf, size_t gapcap)
{
	char	   *p = t;

	b->ngaps = 0;
	b->gaps = gapbuf;
	if (strcmp(t, "=") == 0)
		return true;
	for (;;)
	{
		char	   *comma = strchr(p, ',');
		char	   *colon;

		if (comma)
			*comma = '\0';
		colon = strchr(p, ':');
		if (colon == NULL || 2 * b->ngaps + 2 > gapcap)
			return false;
		*colon = '\0';
		if (!gov_ev_parse_int(p, &gapbuf[2 * b->ngaps]) ||
			!gov_ev_parse_int(colon + 1, &gapbuf[2 * b->ngaps + 1]))
			return false;
		b->ngaps++;
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

static const char *
parse_block(char **tok, GovEvBlock *b, int64_t *gapbuf, size_t gapcap)
{
	bool		isnull;

	memset(b, 0, sizeof(*b));
	if (!gov_ev_parse_int(tok[1], &b->block_id) ||
		!gov_ev_parse_int(tok[2], &b->first_seq) ||
		!gov_ev_parse_int(tok[3], &b->last_seq) ||
		!gov_ev_parse_int(tok[4], &b->row_count) ||
		!gov_ev_parse_int(tok[5], &b->total_rows))
		return "a block number is not an integer";
	if (!parse_gaps(tok[6], b, gapbuf, gapcap))
		return "the block's gaps are not lo:hi pairs";
	if (!gov_ev_parse_hex(tok[7], b->merkle_root, GOV_EV_HASH) ||
		!parse_hex_or_null(tok[8], b->prev_hash, GOV_EV_HASH, &isnull))
		return "a block hash is not 128 hex digits";
	b->has_prev = !isnull;
	if (!gov_ev_parse_int(tok[9], &b->sealed_at))
		return "sealed_at is not an integer";
	if (!parse_key_id(tok[10], b->key_id, false, &isnull))
		return "the key id is not 16 hex digits";
	if (!gov_ev_parse_hex(tok[11], b->block_hash, GOV_EV_HASH))
		return "a block hash is not 128 hex digits";
	if (!gov_ev_parse_hex(tok[12], b->signature, GOV_EV_SIG))
		return "the signature is not 128 hex digits";
	b->version = 1;
	return NULL;
}

/*
 * The three fields a version 2 line adds to a block: <format> <log_id|->
 * <lineage_root|->; a format 1 block has neither, a format 2 block both.
 */
static const char *
parse_v2_block_tail(char **tok, int64_t *version, uint8_t *log_id, uint8_t *lineage)
{
	bool		isnull1;
	bool		isnull2 = false;

	if (!gov_ev_parse_int(tok[0], version) || (*version != 1 && *version != 2))
		return "unknown block format version";
	if (!parse_hex_or_null(tok[1], log_id, GOV_EV_LOG_ID, &isnull1))
		return "the log id is not 32 hex digits";
	if (lineage && !parse_hex_or_null(tok[2], lineage, GOV_EV_HASH, &isnull2))
		return "the lineage root is not 128 hex digits";
	if (*version == 1 && (!isnull1 || !isnull2))
		return "a format 1 block has no log id nor lineage root";
	if (*version == 2 && (isnull1 || isnull2))
		return "a format 2 block needs its log id and lineage root";
	return NULL;
}

static const char *
parse_row(char **tok, GovEvRow *r)
{
	bool		isnull;

	memset(r, 0, sizeof(*r));
	if (!gov_ev_parse_int(tok[1], &r->seq) || !gov_ev_parse_int(tok[2], &r->at))
		return "seq or at is not an integer";
	if (!parse_b64(tok[3], &r->kind) || !parse_b64(tok[5], &r->principal) ||
		!parse_b64(tok[6], &r->action) || !parse_b64(tok[7], &r->resource) ||
		!parse_b64(tok[8], &r->payload) || !parse_b64(tok[9], &r->actor))
		return "a text column is not base64url";
	if (!parse_hex_or_null(tok[4], r->lease, 16, &isnull))
		return "the lease id is not 32 hex digits";
	r->has_lease = !isnull;
	if (!gov_ev_parse_int(tok[10], &r->txid))
		return "txid is not an integer";
	if (!parse_int_or_null(tok[11], &r->prev_seq, &isnull))
		return "prev_seq is not an integer";
	r->has_prev = !isnull;
	if (!gov_ev_parse_hex(tok[12], r->evidence, GOV_EV_HASH) ||
		!gov_ev_parse_hex(tok[13], r->link, GOV_EV_HASH))
		return "evidence or link is not 128 hex digits";
	return NULL;
}

static const char *
parse_path(char **tok, GovEvPath *p)
{
	char	   *s = tok[3];

	memset(p, 0, sizeof(*p));
	if (!gov_ev_parse_int(tok[1], &p->leaf_index) || !gov_ev_parse_int(tok[2], &p->tree_size))
		return "leaf index or tree size is not an integer";
	if (strcmp(s, "=") == 0)
		return NULL;
	for (;;)
	{
		char	   *comma = strchr(s, ',');

		if (comma)
			*comma = '\0';
		if (p->n == GOV_EV_MAX_PATH)
			return "the audit path is too long";
		if (!gov_ev_parse_hex(s, p->hashes[p->n], GOV_EV_HASH))
			return "an audit path hash is not 128 hex digits";
		p->n++;
		if (comma == NULL)
			return NULL;
		s = comma + 1;
	}
}

static const struct
{
	const char *name;
	GovEvType	type;
	int			ntok;
	int			v2_extra;		/* fields a version 2 line adds */
}			record_types[] =

{
	{"key", GOV_EV_KEY, 8, 0},
	{"prior", GOV_EV_PRIOR, 13, 3},
	{"anchor", GOV_EV_ANCHOR, 5, 0},
	{"block", GOV_EV_BLOCK, 13, 3},
	{"row", GOV_EV_ROW, 14, 0},
	{"path", GOV_EV_PATH, 4, 0},
	{"checkpoint", GOV_EV_CHECKPOINT, 8, 2},
	{"end", GOV_EV_END, 2, 0},
	{"map", GOV_EV_MAP, 7, 0},
};

const char *
gov_ev_type_name(GovEvType t)
{
	size_t		i;

	if (t == GOV_EV_HEADER)
		return GOV_EV_MAGIC;
	for (i = 0; i < sizeof(record_types) / sizeof(record_types[0]); i++)
		if (record_types[i].type == t)
			return record_types[i].name;
	return "?";
}

const char *
gov_ev_parse(char *line, size_t len, GovEvRecord *rec, int64_t *gapbuf, size_t gapcap)
{
	char	   *tok[GOV_EV_MAX_TOKENS];
	int			n;
	size_t		i;
	bool		isnull;

	memset(rec, 0, sizeof(*rec));
	n = split(line, len, tok, GOV_EV_MAX_TOKENS);
	if (n < 0)
		return "not a line of space-separated printable ASCII tokens";

	if (strcmp(tok[0], GOV_EV_MAGIC) == 0)
	{
		GovEvHeader *h = &rec->u.header;

		rec->type = GOV_EV_HEADER;
		if (n < 3 || !gov_ev_parse_int(tok[1], &h->version))
			return "the header has no version";
		if (h->version != 1 && h->version != 2)
			return "unsupported version: only versions 1 and 2 exist";
		if (strlen(tok[2]) >= sizeof(h->what))
			return "unknown kind of evidence";
		strcpy(h->what, tok[2]);
		if (strcmp(h->what, "bundle") == 0 && n == 6)
		{
			if (!gov_ev_parse_int(tok[3], &h->a) || !gov_ev_parse_int(tok[4], &h->b) ||
				!gov_ev_parse_int(tok[5], &h->c))
				return "the bundle header's numbers are not integers";
		}
		else if (strcmp(h->what, "inclusion") == 0 && n == 4)
		{
			if (!gov_ev_parse_int(tok[3], &h->a))
				return "the inclusion header's seq is not an integer";
		}
		else if (strcmp(h->what, "proof") == 0 && n == 7 && h->version >= 2)
		{
			if (!gov_ev_parse_hex(tok[3], h->lease, 16))
				return "the proof header's lease id is not 32 hex digits";
			if (!gov_ev_parse_int(tok[4], &h->a) || !gov_ev_parse_int(tok[5], &h->b) ||
				!gov_ev_parse_int(tok[6], &h->c))
				return "the proof header's numbers are not integers";
		}
		else if (strcmp(h->what, "consistency") == 0 && n == 5)
		{
			if (!gov_ev_parse_int(tok[3], &h->a) || !gov_ev_parse_int(tok[4], &h->b))
				return "the consistency header's block ids are not integers";
		}
		else
			return "unknown kind of evidence, or a header of the wrong length";
		return NULL;
	}

	for (i = 0; i < sizeof(record_types) / sizeof(record_types[0]); i++)
		if (strcmp(tok[0], record_types[i].name) == 0)
			break;
	if (i == sizeof(record_types) / sizeof(record_types[0]))
		return "unknown record type";
	rec->type = record_types[i].type;
	if (n != record_types[i].ntok &&
		!(n == record_types[i].ntok + record_types[i].v2_extra && record_types[i].v2_extra > 0))
		return "wrong number of fields for its record type";

	switch (rec->type)
	{
		case GOV_EV_KEY:
			{
				GovEvKey   *k = &rec->u.key;

				if (!parse_key_id(tok[1], k->key_id, false, &isnull))
					return "the key id is not 16 hex digits";
				if (!gov_ev_parse_hex(tok[2], k->pk, GOV_EV_PK))
					return "the public key is not 64 hex digits";
				if (!gov_ev_parse_int(tok[3], &k->created_at) ||
					!parse_int_or_null(tok[4], &k->retired_at, &isnull))
					return "a key time is not an integer";
				k->has_retired = !isnull;
				if (!gov_ev_parse_hex(tok[5], k->self_sig, GOV_EV_SIG))
					return "the self-signature is not 128 hex digits";
				if (!parse_key_id(tok[6], k->endorsed_by, true, &isnull))
					return "endorsed_by is not a key id";
				k->endorsed = !isnull;
				if (!parse_hex_or_null(tok[7], k->endorsement, GOV_EV_SIG, &isnull))
					return "the endorsement is not 128 hex digits";
				if (isnull == k->endorsed)
					return "endorsed_by and endorsement must both be set or both NULL";
				return NULL;
			}
		case GOV_EV_PRIOR:
		case GOV_EV_BLOCK:
			{
				const char *err = parse_block(tok, &rec->u.block, gapbuf, gapcap);

				if (err == NULL && n > record_types[i].ntok)
				{
					rec->u.block.v2_line = true;
					err = parse_v2_block_tail(tok + 13, &rec->u.block.version,
											  rec->u.block.log_id, rec->u.block.lineage_root);
				}
				return err;
			}
		case GOV_EV_ANCHOR:
			{
				GovEvAnchor *a = &rec->u.anchor;

				if (!gov_ev_parse_int(tok[1], &a->seq))
					return "the anchor's seq is not an integer";
				if (!parse_hex_or_null(tok[2], a->lease, 16, &isnull))
					return "the anchor's lease id is not 32 hex digits";
				a->has_lease = !isnull;
				if (!parse_b64(tok[3], &a->kind) || a->kind.isnull)
					return "the anchor's kind is not base64url";
				if (!gov_ev_parse_hex(tok[4], a->link, GOV_EV_HASH))
					return "the anchor's link is not 128 hex digits";
				return NULL;
			}
		case GOV_EV_ROW:
			return parse_row(tok, &rec->u.row);
		case GOV_EV_PATH:
			return parse_path(tok, &rec->u.path);
		case GOV_EV_CHECKPOINT:
			{
				GovEvCheckpoint *c = &rec->u.checkpoint;

				if (!gov_ev_parse_int(tok[1], &c->block_id) ||
					!gov_ev_parse_int(tok[3], &c->last_seq) ||
					!gov_ev_parse_int(tok[4], &c->total_rows) ||
					!gov_ev_parse_int(tok[5], &c->sealed_at))
					return "a checkpoint number is not an integer";
				if (!gov_ev_parse_hex(tok[2], c->block_hash, GOV_EV_HASH))
					return "the checkpoint's block hash is not 128 hex digits";
				if (!parse_key_id(tok[6], c->key_id, false, &isnull))
					return "the checkpoint's key id is not 16 hex digits";
				if (!gov_ev_parse_hex(tok[7], c->signature, GOV_EV_SIG))
					return "the checkpoint's signature is not 128 hex digits";
				c->version = 1;
				if (n > record_types[i].ntok)
				{
					c->v2_line = true;
					return parse_v2_block_tail(tok + 8, &c->version, c->log_id, NULL);
				}
				return NULL;
			}
		case GOV_EV_MAP:
			{
				GovEvMap   *m = &rec->u.map;
				const char *err;

				if (!gov_ev_parse_hex(tok[1], m->lease, 16))
					return "the map entry's lease id is not 32 hex digits";
				if (!gov_ev_parse_int(tok[2], &m->seq))
					return "the map entry's seq is not an integer";
				if (!gov_ev_parse_hex(tok[3], m->link, GOV_EV_HASH))
					return "the map entry's link is not 128 hex digits";
				/* its path: the tokens of a path record, shifted by three */
				err = parse_path(tok + 3, &m->path);
				return err;
			}
		case GOV_EV_END:
			if (!gov_ev_parse_int(tok[1], &rec->u.end_records))
				return "the end record's count is not an integer";
			return NULL;
		default:
			return "unknown record type";
	}
}

/* ---------------------------------------------------------------------
 * Merkle trees
 * ---------------------------------------------------------------------
 */

/* largest power of two strictly below n (n >= 2) */
static int64_t
split_point(int64_t n)
{
	int64_t		k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

void
gov_ev_merkle_root(const uint8_t *leaves, int64_t n, uint8_t *out,
				   GovEvNodeFn node, void *arg)
{
	uint8_t		l[GOV_EV_HASH];
	uint8_t		r[GOV_EV_HASH];
	int64_t		k;

	if (n == 1)
	{
		memcpy(out, leaves, GOV_EV_HASH);
		return;
	}
	k = split_point(n);
	gov_ev_merkle_root(leaves, k, l, node, arg);
	gov_ev_merkle_root(leaves + k * GOV_EV_HASH, n - k, r, node, arg);
	node(l, r, out, arg);
}

/* RFC 6962: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, else
 * PATH(m - k, D[k:n]) : MTH(D[0:k]); the path of a single leaf is empty. */
int
gov_ev_audit_path(const uint8_t *leaves, int64_t n, int64_t m,
				  uint8_t (*path)[GOV_EV_HASH], GovEvNodeFn node, void *arg)
{
	int64_t		k;
	int			got;

	if (m < 0 || m >= n)
		return -1;
	if (n == 1)
		return 0;
	k = split_point(n);
	if (m < k)
	{
		got = gov_ev_audit_path(leaves, k, m, path, node, arg);
		if (got < 0 || got >= GOV_EV_MAX_PATH)
			return -1;
		gov_ev_merkle_root(leaves + k * GOV_EV_HASH, n - k, path[got], node, arg);
	}
	else
	{
		got = gov_ev_audit_path(leaves + k * GOV_EV_HASH, n - k, m - k, path, node, arg);
		if (got < 0 || got >= GOV_EV_MAX_PATH)
			return -1;
		gov_ev_merkle_root(leaves, k, path[got], node, arg);
	}
	return got + 1;
}

bool
gov_ev_path_root(const GovEvPath *path, const uint8_t *leaf, uint8_t *root,
				 GovEvNodeFn node, void *arg)
{
	uint64_t	fn;
	uint64_t	sn;
	uint8_t		r[GOV_EV_HASH];
	uint8_t		t[GOV_EV_HASH];
	int			i;

	if (path->leaf_index < 0 || path->tree_size <= 0 || path->leaf_index >= path->tree_size)
		return false;
	fn = (uint64_t) path->leaf_index;
	sn = (uint64_t) path->tree_size - 1;
	memcpy(r, leaf, GOV_EV_HASH);
	for (i = 0; i < path->n; i++)
	{
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn)
		{
			node(path->hashes[i], r, t, arg);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0)
				{
					fn >>= 1;
					sn >>= 1;
				}
		}
		else
			node(r, path->hashes[i], t, arg);
		memcpy(r, t, GOV_EV_HASH);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return false;
	memcpy(root, r, GOV_EV_HASH);
	return true;
}

void
gov_ev_merkle_init(GovEvMerkle *m)
{
	m->depth = 0;
	m->count = 0;
}

/* The stack holds perfect subtrees of strictly decreasing size. */
void
gov_ev_merkle_push(GovEvMerkle *m, const uint8_t *leaf, GovEvNodeFn node, void *arg)
{
	memcpy(m->stack[m->depth], leaf, GOV_EV_HASH);
	m->size[m->depth] = 1;
	m->depth++;
	m->count++;
	while (m->depth >= 2 && m->size[m->depth - 1] == m->size[m->depth - 2])
	{
		uint8_t		t[GOV_EV_HASH];

		node(m->stack[m->depth - 2], m->stack[m->depth - 1], t, arg);
		memcpy(m->stack[m->depth - 2], t, GOV_EV_HASH);
		m->size[m->depth - 2] *= 2;
		m->depth--;
	}
}

/* MTH splits at the largest power of two below n: fold from the right. */
bool
gov_ev_merkle_finish(GovEvMerkle *m, uint8_t *root, GovEvNodeFn node, void *arg)
{
	uint8_t		r[GOV_EV_HASH];
	int			i;

	if (m->depth == 0)
		return false;
	memcpy(r, m->stack[m->depth - 1], GOV_EV_HASH);
	for (i = m->depth - 2; i >= 0; i--)
	{
		uint8_t		t[GOV_EV_HASH];

		node(m->stack[i], r, t, arg);
		memcpy(r, t, GOV_EV_HASH);
	}
	memcpy(root, r, GOV_EV_HASH);
	return true;
}
