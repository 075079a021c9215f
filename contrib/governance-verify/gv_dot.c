/*-------------------------------------------------------------------------
 *
 * gv_dot.c
 *	  governance-verify proof FILE --dot: the verified execution as a
 *	  Graphviz graph, in the shape of governance.lineage_dot() (issue 12,
 *	  section 5).
 *
 *	  The proof's header, block and row lines are kept while the engine
 *	  verifies them; only when the whole proof verified is the graph
 *	  written, so every node it shows is an event whose evidence, chain
 *	  link, audit path and block signature were checked.  One cluster per
 *	  lease of the execution (the lease, then its delegated descendants by
 *	  depth), one node per event, an edge from each event to the one its
 *	  prev_seq names; a delegated lease's parent delegation, when the proof
 *	  carries it as its anchor, is a node outside the clusters.
 *
 *	  Every text taken from the proof (kinds, principals, actions,
 *	  resources, payload members: anyone who can name an agent chooses
 *	  them) is written as a DOT quoted string that cannot end early or use
 *	  Graphviz's escapes, exactly as governance._dot_string() does:
 *	  backslash doubled, double quote escaped, a line end a \n line break,
 *	  every other control character a space; bytes that are not UTF-8
 *	  become '?'.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gv.h"

typedef struct DotRow
{
	int64_t		seq;
	int64_t		at;
	int64_t		block;
	char	   *kind;
	char	   *principal;
	char	   *action;
	char	   *resource;
	char	   *op;				/* a write's "op" and "table" */
	char	   *table;
	char	   *decision;		/* an authorize's "decision" */
	char	   *reason;			/* a revocation's "reason" */
	bool		has_lease;
	uint8_t		lease[16];
	bool		has_prev;
	int64_t		prev_seq;
	int			owner;			/* index in leases, -1: the anchor */
} DotRow;

typedef struct DotLease
{
	uint8_t		lease[16];
	int			parent;
	int			depth;
	int			first_row;
	int			end_row;		/* its revocation or expiry, -1 */
} DotLease;

struct GvDot
{
	char	  **lines;
	size_t		nlines;
	size_t		cap;
	bool		failed;			/* out of memory: no graph */
};

GvDot *
gv_dot_begin(void)
{
	return calloc(1, sizeof(GvDot));
}

/* Keep a copy of a line the graph needs (before the engine cuts it up). */
void
gv_dot_line(GvDot *d, const char *line, size_t len)
{
	char	   *copy;

	if (d == NULL || d->failed)
		return;
	if (!(strncmp(line, "governance-evidence ", 20) == 0 ||
		  strncmp(line, "block ", 6) == 0 || strncmp(line, "row ", 4) == 0))
		return;
	if (d->nlines == d->cap)
	{
		size_t		cap = d->cap ? 2 * d->cap : 256;
		char	  **p = realloc(d->lines, cap * sizeof(char *));

		if (p == NULL)
		{
			d->failed = true;
			return;
		}
		d->lines = p;
		d->cap = cap;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
	{
		d->failed = true;
		return;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	d->lines[d->nlines++] = copy;
}

void
gv_dot_free(GvDot *d)
{
	size_t		i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nlines; i++)
		free(d->lines[i]);
	free(d->lines);
	free(d);
}

static char *
dup_str(const GovEvStr *s)
{
	char	   *p;

	if (s->isnull)
		return NULL;
	p = malloc(s->len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	return p;
}

/* The number of bytes of a valid UTF-8 sequence at p, else 0. */
static int
utf8_len(const unsigned char *p)
{
	int			n;
	int			k;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (k = 1; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
		(p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;				/* overlong, surrogate, above U+10FFFF */
	return n;
}

/* Text into the DOT quoted string being written (no quotes). */
static void
dot_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");

	while (*p)
	{
		int			n;

		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\r' && p[1] == '\n')
		{
			fputs("\\n", out);
			p++;
		}
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20 || *p == 0x7f)
			fputc(' ', out);
		else if ((n = utf8_len(p)) == 0)
			fputc('?', out);
		else
		{
			fwrite(p, 1, n, out);
			p += n;
			continue;
		}
		p++;
	}
}

static void
put_uuid(FILE *out, const uint8_t *u)
{
	int			i;

	for (i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			fputc('-', out);
		fprintf(out, "%02x", u[i]);
	}
}

/* Unix microseconds as ISO 8601 UTC with microseconds, as lineage_dot(). */
static void
put_time(FILE *out, int64_t us)
{
	int64_t		s = us / 1000000;
	int64_t		frac = us % 1000000;
	time_t		t;
	struct tm	tm;

	if (frac < 0)
	{
		frac += 1000000;
		s--;
	}
	t = (time_t) s;
	if (gmtime_r(&t, &tm) == NULL)
	{
		fprintf(out, "%lld us", (long long) us);
		return;
	}
	fprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long) frac);
}

static bool
is_kind(const DotRow *r, const char *k)
{
	return r->kind && strcmp(r->kind, k) == 0;
}

static const char *
fill_of(const DotRow *r)
{
	if (strncmp(r->kind, "governance.revoke", 17) == 0 ||
		strncmp(r->kind, "governance.lease.revoked", 24) == 0)
		return "salmon";
	if (strstr(r->kind, "expire"))
		return "gray85";
	if (r->decision && strcmp(r->decision, "deny") == 0)
		return "orange";
	if (is_kind(r, "governance.write"))
		return "lightblue";
	if (strncmp(r->kind, "governance.heartbeat", 20) == 0)
		return "honeydew";
	if (is_kind(r, "governance.authorize") || is_kind(r, "governance.delegate") ||
		is_kind(r, "governance.delegated"))
		return "lightyellow";
	return "white";
}

static void
put_event(FILE *out, const DotRow *r, const char *indent, bool anchor)
{
	fprintf(out, "%se%lld [label=\"", indent, (long long) r->seq);
	if (anchor)
	{
		fputs("anchor: the parent's ", out);
		dot_text(out, r->kind);
		fputs("\\nof lease ", out);
		put_uuid(out, r->lease);
	}
	else
	{
		dot_text(out, r->kind);
		if (is_kind(r, "governance.write"))
		{
			fputc(' ', out);
			dot_text(out, r->op);
			fputc(' ', out);
			dot_text(out, r->table);
		}
		else if (r->decision)
		{
			fputc(' ', out);
			dot_text(out, r->decision);
		}
	}
	fprintf(out, "\\nseq %lld, ", (long long) r->seq);
	put_time(out, r->at);
	fprintf(out, "\\nsealed in block %lld, verified\", fillcolor=\"%s\"];\n",
			(long long) r->block, fill_of(r));
}

/* The row with a seq (rows are in increasing seq order), else -1. */
static int
find_row(const DotRow *rows, int n, int64_t seq)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (rows[mid].seq == seq)
			return mid;
		if (rows[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static void
free_rows(DotRow *rows, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		free(rows[i].kind);
		free(rows[i].principal);
		free(rows[i].action);
		free(rows[i].resource);
		free(rows[i].op);
		free(rows[i].table);
		free(rows[i].decision);
		free(rows[i].reason);
	}
	free(rows);
}

/*
 * Write the graph of a proof that verified.  False (nothing written) when
 * the lines cannot be read again or memory runs out.
 */
bool
gv_dot_write(GvDot *d, FILE *out)
{
	DotRow	   *rows;
	int			nrows = 0;
	DotLease   *leases;
	int			nleases = 0;
	GovEvHeader header;
	bool		have_header = false;
	int64_t		block = 0;
	int64_t		to_block = 0;
	int64_t    *gapbuf = NULL;
	size_t		i;
	int			j;
	int			depth;
	int			maxdepth = 0;
	int			cluster = 0;

	if (d == NULL || d->failed)
		return false;
	rows = calloc(d->nlines + 1, sizeof(DotRow));
	leases = calloc(d->nlines + 1, sizeof(DotLease));
	if (rows == NULL || leases == NULL)
	{
		free(rows);
		free(leases);
		return false;
	}
	for (i = 0; i < d->nlines; i++)
	{
		GovEvRecord rec;
		size_t		len = strlen(d->lines[i]);
		size_t		cap = gov_ev_gap_capacity(len);
		int64_t    *g = realloc(gapbuf, (cap + 1) * sizeof(int64_t));

		if (g == NULL)
			goto fail;
		gapbuf = g;
		if (gov_ev_parse(d->lines[i], len, &rec, gapbuf, cap) != NULL)
			goto fail;
		if (rec.type == GOV_EV_HEADER)
		{
			header = rec.u.header;
			have_header = true;
		}
		else if (rec.type == GOV_EV_BLOCK)
			block = to_block = rec.u.block.block_id;
		else if (rec.type == GOV_EV_ROW)
		{
			DotRow	   *r = &rows[nrows++];
			const GovEvRow *e = &rec.u.row;

			r->seq = e->seq;
			r->at = e->at;
			r->block = block;
			r->kind = dup_str(&e->kind);
			r->principal = dup_str(&e->principal);
			r->action = dup_str(&e->action);
			r->resource = dup_str(&e->resource);
			if (r->kind == NULL)
				goto fail;
			if (!e->payload.isnull)
			{
				r->op = gv_json_member(e->payload.p, e->payload.len, "op");
				r->table = gv_json_member(e->payload.p, e->payload.len, "table");
				r->decision = gv_json_member(e->payload.p, e->payload.len, "decision");
				r->reason = gv_json_member(e->payload.p, e->payload.len, "reason");
			}
			r->has_lease = e->has_lease;
			memcpy(r->lease, e->lease, 16);
			r->has_prev = e->has_prev;
			r->prev_seq = e->prev_seq;
			r->owner = -1;
		}
	}
	if (!have_header || strcmp(header.what, "proof") != 0)
		goto fail;

	/*
	 * The leases of the execution, in the order their first events come: the
	 * root, then each lease whose first event hangs off a delegated event of
	 * one already known.  Anything else (the root's parent delegation) is the
	 * anchor.
	 */
	for (j = 0; j < nrows; j++)
	{
		DotRow	   *r = &rows[j];
		int			k;
		int			parent = -1;

		if (!r->has_lease)
			continue;
		for (k = 0; k < nleases; k++)
			if (memcmp(leases[k].lease, r->lease, 16) == 0)
				break;
		if (k == nleases)
		{
			if (memcmp(r->lease, header.lease, 16) != 0)
			{
				int			m;

				if (!r->has_prev)
					continue;
				m = find_row(rows, j, r->prev_seq);
				if (m >= 0 && rows[m].owner >= 0 && is_kind(&rows[m], "governance.delegated"))
					parent = rows[m].owner;
				if (parent < 0)
					continue;	/* the anchor */
			}
			memcpy(leases[k].lease, r->lease, 16);
			leases[k].parent = parent;
			leases[k].depth = parent < 0 ? 0 : leases[parent].depth + 1;
			leases[k].first_row = j;
			leases[k].end_row = -1;
			if (leases[k].depth > maxdepth)
				maxdepth = leases[k].depth;
			nleases++;
		}
		r->owner = k;
		if (leases[k].end_row < 0 &&
			(is_kind(r, "governance.revoke") || is_kind(r, "governance.lease.expired")))
			leases[k].end_row = j;
	}

	fputs("digraph lineage {\n  graph [rankdir=TB, fontname=\"Helvetica\", label=\"execution ", out);
	put_uuid(out, header.lease);
	fprintf(out, "\\nverified offline by governance-verify, lineage complete to block %lld\"];\n",
			(long long) to_block);
	fputs("  node [shape=box, style=\"rounded,filled\", fillcolor=\"white\", fontname=\"Helvetica\", fontsize=10];\n", out);
	for (j = 0; j < nrows; j++)
		if (rows[j].owner < 0)
			put_event(out, &rows[j], "  ", true);
	for (depth = 0; depth <= maxdepth; depth++)
	{
		int			k;

		for (k = 0; k < nleases; k++)
		{
			const DotLease *l = &leases[k];
			const DotRow *first = &rows[l->first_row];

			if (l->depth != depth)
				continue;
			fprintf(out, "  subgraph cluster_%d {\n    label=\"", ++cluster);
			if (depth == 0)
				fputs("lease ", out);
			else
				fprintf(out, "delegated lease (depth %d) ", depth);
			put_uuid(out, l->lease);
			fputs("\\n", out);
			dot_text(out, first->principal);
			fputs("\\n", out);
			dot_text(out, first->action);
			fputs(" on ", out);
			dot_text(out, first->resource);
			fputs("\\nissued ", out);
			put_time(out, first->at);
			fputs("\\n", out);
			if (l->end_row >= 0)
			{
				fputs(is_kind(&rows[l->end_row], "governance.revoke") ? "revoked at " : "expired at ", out);
				put_time(out, rows[l->end_row].at);
				if (rows[l->end_row].reason)
				{
					fputs(" (", out);
					dot_text(out, rows[l->end_row].reason);
					fputc(')', out);
				}
			}
			else
				fprintf(out, "not ended as of block %lld", (long long) to_block);
			fprintf(out, "\";\n    style=\"rounded\"; color=\"%s\";\n",
					l->end_row < 0 ? "darkgreen" :
					is_kind(&rows[l->end_row], "governance.revoke") ? "red" : "gray50");
			for (j = 0; j < nrows; j++)
			{
				int			m;

				if (rows[j].owner != k)
					continue;
				put_event(out, &rows[j], "    ", false);
				/* an edge from the anchor is drawn outside: it is no member */
				m = rows[j].has_prev ? find_row(rows, j, rows[j].prev_seq) : -1;
				if (m >= 0 && rows[m].owner >= 0)
					fprintf(out, "    e%lld -> e%lld;\n", (long long) rows[j].prev_seq,
							(long long) rows[j].seq);
			}
			fputs("  }\n", out);
		}
	}
	for (j = 0; j < nrows; j++)
	{
		int			m = -1;

		if (rows[j].has_prev && rows[j].owner >= 0)
			m = find_row(rows, j, rows[j].prev_seq);
		if (m >= 0 && rows[m].owner < 0)
			fprintf(out, "  e%lld -> e%lld;\n", (long long) rows[m].seq, (long long) rows[j].seq);
	}
	fputs("}\n", out);
	free_rows(rows, nrows);
	free(leases);
	free(gapbuf);
	return true;

fail:
	free_rows(rows, nrows);
	free(leases);
	free(gapbuf);
	return false;
}

/*
 * proof FILE --artifact ARTIFACT: the governance.authorize event that began
 * a lease in the proof (its first event), with the members an artifact's
 * claims are checked against (docs/FORMAT.md section 14, "The artifact").
 * False when the proof holds none.
 */
bool
gv_dot_authorize(GvDot *d, const uint8_t *lease, GvAuthz *out)
{
	size_t		i;
	int64_t    *gapbuf = NULL;
	bool		found = false;

	memset(out, 0, sizeof(*out));
	if (d == NULL || d->failed)
		return false;
	for (i = 0; i < d->nlines && !found; i++)
	{
		GovEvRecord rec;
		char	   *copy;
		size_t		len = strlen(d->lines[i]);
		size_t		cap = gov_ev_gap_capacity(len);
		int64_t    *g;
		const GovEvRow *e;

		if (strncmp(d->lines[i], "row ", 4) != 0)
			continue;
		g = realloc(gapbuf, (cap + 1) * sizeof(int64_t));
		copy = strdup(d->lines[i]);
		if (g == NULL || copy == NULL)
		{
			free(g ? g : gapbuf);
			free(copy);
			return false;
		}
		gapbuf = g;
		if (gov_ev_parse(copy, len, &rec, gapbuf, cap) == NULL && rec.type == GOV_EV_ROW)
		{
			e = &rec.u.row;
			if (e->has_lease && memcmp(e->lease, lease, 16) == 0)
			{
				/* the lease's first event: it must be its authorize event */
				found = true;
				out->seq = e->seq;
				out->kind = dup_str(&e->kind);
				out->principal = dup_str(&e->principal);
				out->action = dup_str(&e->action);
				out->resource = dup_str(&e->resource);
				if (!e->payload.isnull)
				{
					out->decision = gv_json_member(e->payload.p, e->payload.len, "decision");
					out->policy_set_hash = gv_json_member(e->payload.p, e->payload.len, "policy_set_hash");
					out->context = gv_json_member(e->payload.p, e->payload.len, "context_sha3_512");
					out->expires_at = gv_json_member(e->payload.p, e->payload.len, "expires_at");
					out->parent = gv_json_member(e->payload.p, e->payload.len, "parent");
				}
			}
		}
		free(copy);
	}
	free(gapbuf);
	return found;
}

void
gv_authz_free(GvAuthz *a)
{
	free(a->kind);
	free(a->principal);
	free(a->action);
	free(a->resource);
	free(a->decision);
	free(a->policy_set_hash);
	free(a->context);
	free(a->expires_at);
	free(a->parent);
	memset(a, 0, sizeof(*a));
}
