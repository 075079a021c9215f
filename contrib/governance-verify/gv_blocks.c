/*-------------------------------------------------------------------------
 *
 * gv_blocks.c
 *	  The records of a bundle or proof in order (docs/FORMAT.md, section
 *	  12): block headers against the previous block, rows against their
 *	  block, audit paths against their block's Merkle root, consistency
 *	  proofs against their two checkpoints.  Problems are worded as
 *	  verify_ledger() words them.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gv_int.h"

#define LL(x) ((long long) (x))

static void uuid_text(const uint8_t *u, char *out);
static bool kind_is(const GovEvStr *k, const char *name);

static bool
in_gap(const GovEvBlock *b, size_t gi, int64_t seq)
{
	for (; gi < b->ngaps; gi++)
	{
		if (b->gaps[2 * gi] > seq)
			return false;
		if (b->gaps[2 * gi + 1] >= seq)
			return true;
	}
	return false;
}

/* Are all seqs in [lo, hi] gaps of b?  *gi walks the sorted gap list. */
static bool
covered_by_gaps(const GovEvBlock *b, size_t *gi, int64_t lo, int64_t hi, int64_t *first_missing)
{
	while (lo <= hi)
	{
		while (*gi < b->ngaps && b->gaps[2 * *gi + 1] < lo)
			(*gi)++;
		if (*gi >= b->ngaps || b->gaps[2 * *gi] > lo)
		{
			*first_missing = lo;
			return false;
		}
		if (b->gaps[2 * *gi + 1] == INT64_MAX)
			return true;
		lo = b->gaps[2 * *gi + 1] + 1;
	}
	return true;
}

static void
hex16(const uint8_t *p, char *out)
{
	static const char digits[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < GOV_EV_LOG_ID; i++)
	{
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * GOV_EV_LOG_ID] = '\0';
}

/*
 * Format version 2: a line's form matches the header's version, and a
 * version 2 block or checkpoint names the log expected (given with
 * --log-id or by a trusted version 2 checkpoint, else the first one met).
 */
static bool
log_ok(GvState *st, bool v2_line, int64_t version, const uint8_t *log_id,
	   const char *what, int64_t block_id, int64_t seq)
{
	char		got[33];
	char		want[33];

	if (v2_line != (st->header.version >= 2))
		return FAIL(st, seq, "%s %lld is written in the line form of another format version than the header's %lld",
					what, LL(block_id), LL(st->header.version));
	if (version < 2)
		return true;
	if (!st->have_log)
	{
		memcpy(st->log_id, log_id, GOV_EV_LOG_ID);
		st->have_log = true;
		st->res->have_log_id = true;
		memcpy(st->res->log_id, log_id, GOV_EV_LOG_ID);
		return true;
	}
	if (memcmp(st->log_id, log_id, GOV_EV_LOG_ID) != 0)
	{
		hex16(log_id, got);
		hex16(st->log_id, want);
		return FAIL(st, seq, "%s %lld belongs to another log: it names log %s, expected log %s",
					what, LL(block_id), got, want);
	}
	return true;
}

/*
 * A block header: its place after the previous block (when chain), its
 * range and gaps, its hash, its key and signature, and the trusted
 * checkpoint when it names this block.
 */
static bool
block_header(GvState *st, const GovEvBlock *b, bool chain, bool first_rule, bool prev_is_old)
{
	uint8_t		hash[64];
	const uint8_t *pk;
	GovEvCheckpoint c;
	size_t		i;

	if (chain && st->have_prev)
	{
		const GovEvBlock *p = &st->prev;

		if (b->block_id <= p->block_id)
			return FAIL(st, b->first_seq, "reordered block %lld: it follows block %lld",
						LL(b->block_id), LL(p->block_id));
		if (b->block_id != p->block_id + 1)
			return FAIL(st, p->last_seq + 1, "missing block %lld: block %lld follows block %lld",
						LL(p->block_id + 1), LL(b->block_id), LL(p->block_id));
		if (prev_is_old && (!b->has_prev || memcmp(b->prev_hash, p->block_hash, 64) != 0))
			return FAIL(st, b->first_seq,
						"the new checkpoint does not extend the old one: block %lld does not name the hash of the old checkpoint's block %lld",
						LL(b->block_id), LL(p->block_id));
		if (b->first_seq != p->last_seq + 1)
			return FAIL(st, b->first_seq < p->last_seq + 1 ? b->first_seq : p->last_seq + 1,
						"bad block %lld: it starts at row %lld, not %lld",
						LL(b->block_id), LL(b->first_seq), LL(p->last_seq + 1));
		if (!b->has_prev || memcmp(b->prev_hash, p->block_hash, 64) != 0)
			return FAIL(st, b->first_seq, "bad block %lld: it does not name block %lld's hash",
						LL(b->block_id), LL(p->block_id));
		if (b->total_rows != p->total_rows + b->row_count)
			return FAIL(st, b->first_seq, "bad block %lld: its running row total is wrong",
						LL(b->block_id));
	}
	else if (first_rule)
	{
		if (b->block_id != 1 || b->first_seq != 1 || b->has_prev || b->total_rows != b->row_count)
			return FAIL(st, b->first_seq, "bad block %lld: the first block must be block 1 starting at row 1",
						LL(b->block_id));
	}
	if (b->last_seq < b->first_seq || b->row_count <= 0)
		return FAIL(st, b->first_seq, "bad block %lld: empty or inverted range", LL(b->block_id));
	if (chain && st->have_prev && b->version < st->prev.version)
		return FAIL(st, b->first_seq, "bad block %lld: format version %lld after version %lld",
					LL(b->block_id), LL(b->version), LL(st->prev.version));
	if (!log_ok(st, b->v2_line, b->version, b->log_id, "block", b->block_id, b->first_seq))
		return false;
	for (i = 0; i < b->ngaps; i++)
		if (b->gaps[2 * i] > b->gaps[2 * i + 1] || b->gaps[2 * i] < b->first_seq ||
			b->gaps[2 * i + 1] >= b->last_seq ||
			(i > 0 && b->gaps[2 * i] <= b->gaps[2 * i - 1] + 1))
			return FAIL(st, b->first_seq, "bad block %lld: malformed gap list", LL(b->block_id));

	block_hash(&st->msg, b, hash);
	if (memcmp(hash, b->block_hash, 64) != 0)
		return FAIL(st, b->first_seq, "bad block %lld: its hash does not match its contents",
					LL(b->block_id));
	pk = signer(st, b->key_id, b->block_id, b->first_seq, chain);
	if (pk == NULL)
		return false;
	checkpoint_of(b, &c);
	if (!gv_checkpoint_signature_ok(&c, pk))
		return FAIL(st, b->first_seq, "bad signature on block %lld", LL(b->block_id));
	if (st->trust->have_cp && st->trust->cp.block_id == b->block_id)
	{
		if (memcmp(st->trust->cp.block_hash, b->block_hash, 64) != 0 ||
			st->trust->cp.last_seq != b->last_seq || st->trust->cp.total_rows != b->total_rows)
			return FAIL(st, b->first_seq, "block %lld differs from the checkpoint", LL(b->block_id));
		st->cp_seen = true;
	}
	return true;
}

static void
become_prev(GvState *st, const GovEvBlock *b)
{
	st->prev = *b;
	st->prev.gaps = NULL;
	st->prev.ngaps = 0;
	st->have_prev = true;
}

/* A row's evidence and chain (verify.c's check_row). */
static bool
check_row(GvState *st, const GovEvRow *r, uint8_t *leaf)
{
	uint8_t		evidence[64];
	uint8_t		link[64];
	const uint8_t *prev = NULL;
	Slot	   *ce = NULL;
	uint8_t		key[16];
	bool		has_parent = false;
	uint8_t		parent[16];
	const Slot *anchor_end = NULL;

	if (r->kind.isnull || r->actor.isnull || r->payload.isnull)
		return FAIL(st, r->seq, "modified row %lld: a required column is NULL or malformed", LL(r->seq));
	event_evidence(&st->msg, r, evidence);
	if (memcmp(evidence, r->evidence, 64) != 0)
		return FAIL(st, r->seq, "modified row %lld: its evidence hash does not match its contents",
					LL(r->seq));
	if (r->has_lease)
		ce = table_find(&st->chains, r->lease, false);
	if (r->has_prev)
	{
		if (r->prev_seq >= r->seq)
			return FAIL(st, r->seq, "reordered row %lld: it links forward to row %lld",
						LL(r->seq), LL(r->prev_seq));
		if (ce && ce->seq != r->prev_seq)
			return FAIL(st, r->seq,
						"broken chain at row %lld: it links to row %lld but the previous event of its execution is row %lld",
						LL(r->seq), LL(r->prev_seq), LL(ce->seq));
		if (ce)
			prev = ce->link;
		else
		{
			Slot	   *l;

			seq_key(r->prev_seq, key);
			l = table_find(&st->links, key, false);
			if (l == NULL)
			{
				if (st->res->rows > 0 && r->prev_seq >= st->res->seq)
					return FAIL(st, r->seq,
								"broken chain at row %lld: it starts its execution at row %lld, which is not a governance.delegated event",
								LL(r->seq), LL(r->prev_seq));
				return FAIL(st, r->prev_seq, "missing row %lld: row %lld links to it",
							LL(r->prev_seq), LL(r->seq));
			}
			prev = l->link;
			if (l->has_lease && r->has_lease && memcmp(l->lease, r->lease, 16) == 0)
				anchor_end = l->ended ? l : NULL;	/* its own chain, before */
			else if (l->has_lease)
			{
				has_parent = true;
				memcpy(parent, l->lease, 16);
			}
		}
	}
	else if (ce)
		return FAIL(st, r->seq, "broken chain at row %lld: it starts its execution again after row %lld",
					LL(r->seq), LL(ce->seq));
	link_hash(prev, evidence, link);
	if (memcmp(link, r->link, 64) != 0)
		return FAIL(st, r->seq, "broken chain at row %lld: its chain link does not match", LL(r->seq));

	/*
	 * No write nor delegation on an execution after its revocation or expiry,
	 * or after its parent's (which ended it too).
	 */
	if (r->has_lease && (kind_is(&r->kind, "governance.write") || kind_is(&r->kind, "governance.delegated")))
	{
		const Slot *c = ce;
		int			depth;

		if (c == NULL && anchor_end)
			c = anchor_end;
		if (c == NULL && has_parent)
			c = table_find(&st->chains, parent, false);
		for (depth = 0; c != NULL && depth < 1000; depth++)
		{
			if (c->ended && c->ended_seq < r->seq)
			{
				char		u[37];

				uuid_text(r->lease, u);
				return FAIL(st, r->seq, "%s after the end of its execution: row %lld of lease %s follows the %s event at row %lld",
							kind_is(&r->kind, "governance.write") ? "a write" : "a delegation",
							LL(r->seq), u, c->ended_kind, LL(c->ended_seq));
			}
			c = c->has_parent ? table_find(&st->chains, c->parent, false) : NULL;
		}
	}
	if (r->has_lease)
	{
		ce = table_find(&st->chains, r->lease, true);
		if (has_parent)
		{
			ce->has_parent = true;
			memcpy(ce->parent, parent, 16);
		}
		ce->seq = r->seq;
		memcpy(ce->link, r->link, 64);
		if (!ce->ended && anchor_end)
		{
			ce->ended = true;
			ce->ended_seq = anchor_end->ended_seq;
			memcpy(ce->ended_kind, anchor_end->ended_kind, sizeof(ce->ended_kind));
		}
		if (!ce->ended && (kind_is(&r->kind, "governance.revoke") || kind_is(&r->kind, "governance.lease.expired")))
		{
			ce->ended = true;
			ce->ended_seq = r->seq;
			snprintf(ce->ended_kind, sizeof(ce->ended_kind), "%.*s", (int) r->kind.len, (const char *) r->kind.p);
		}
	}
	if (r->kind.len == strlen("governance.delegated") &&
		memcmp(r->kind.p, "governance.delegated", r->kind.len) == 0)
	{
		Slot	   *l;

		seq_key(r->seq, key);
		l = table_find(&st->links, key, true);
		memcpy(l->link, r->link, 64);
		l->has_lease = r->has_lease;
		if (r->has_lease)
			memcpy(l->lease, r->lease, 16);
	}
	if (r->has_lease && st->have_cur && st->cur.version >= 2)
	{
		if (st->nheads == st->headcap)
		{
			st->headcap = st->headcap ? 2 * st->headcap : 64;
			st->heads = realloc(st->heads, sizeof(GvHead) * st->headcap);
			if (st->heads == NULL)
			{
				fprintf(stderr, "governance-verify: out of memory\n");
				exit(GV_BAD_INPUT);
			}
		}
		memcpy(st->heads[st->nheads].lease, r->lease, 16);
		st->heads[st->nheads].seq = r->seq;
		memcpy(st->heads[st->nheads].link, r->link, 64);
		st->nheads++;
	}
	leaf_hash(r->seq, evidence, leaf);
	return true;
}

/* The rows of the current block are complete: count and Merkle root. */
static bool
finish_block(GvState *st)
{
	int64_t		missing;
	uint8_t		root[64];
	const GovEvBlock *b = &st->cur;

	if (!st->have_cur)
		return true;
	if (st->pending_missing > 0)
		return FAIL(st, st->pending_missing, "missing row %lld: it was sealed in block %lld",
					LL(st->pending_missing), LL(b->block_id));
	if (!covered_by_gaps(b, &st->gi, st->expect, b->last_seq, &missing))
		return FAIL(st, missing, "missing row %lld: it was sealed in block %lld",
					LL(missing), LL(b->block_id));
	if (st->nleaves != b->row_count)
		return FAIL(st, b->first_seq, "bad block %lld: it claims %lld rows, the bundle has %lld",
					LL(b->block_id), LL(b->row_count), LL(st->nleaves));
	if (!gov_ev_merkle_finish(&st->merkle, root, gv_node, NULL) ||
		memcmp(root, b->merkle_root, 64) != 0)
		return FAIL(st, b->first_seq, "bad block %lld: its Merkle root does not match its rows",
					LL(b->block_id));
	if (b->version >= 2)
	{
		lineage_root(st->heads, st->nheads, root);
		if (memcmp(root, b->lineage_root, 64) != 0)
			return FAIL(st, b->first_seq, "bad block %lld: its lineage map does not match its rows",
						LL(b->block_id));
	}
	st->res->blocks++;
	if (st->res->from_block == 0)
		st->res->from_block = b->block_id;
	st->res->to_block = b->block_id;
	become_prev(st, b);
	st->have_cur = false;
	return true;
}

/* Keep a block's gaps for its rows. */
static void
start_block(GvState *st, const GovEvBlock *b)
{
	if (st->curgapcap < 2 * b->ngaps + 2)
	{
		st->curgapcap = 2 * b->ngaps + 2;
		st->curgaps = realloc(st->curgaps, sizeof(int64_t) * st->curgapcap);
		if (st->curgaps == NULL)
		{
			fprintf(stderr, "governance-verify: out of memory\n");
			exit(GV_BAD_INPUT);
		}
	}
	st->cur = *b;
	if (b->ngaps)
		memcpy(st->curgaps, b->gaps, sizeof(int64_t) * 2 * b->ngaps);
	st->cur.gaps = st->curgaps;
	st->have_cur = true;
	st->gi = 0;
	st->expect = b->first_seq;
	st->pending_missing = 0;
	st->nleaves = 0;
	st->nheads = 0;
	gov_ev_merkle_init(&st->merkle);
}

static bool
bundle_row(GvState *st, const GovEvRow *r)
{
	int64_t		missing;
	uint8_t		leaf[64];

	if (st->have_last_row && r->seq <= st->last_row_seq)
		return FAIL(st, r->seq, "reordered row %lld: it follows row %lld in the bundle",
					LL(r->seq), LL(st->last_row_seq));
	st->have_last_row = true;
	st->last_row_seq = r->seq;
	if (st->res->seq == 0)
		st->res->seq = r->seq;	/* the bundle's first row */
	if (!st->have_cur)
		return FAIL(st, r->seq, "extra row %lld: no block has room for it", LL(r->seq));
	if (st->pending_missing > 0)
		return true;			/* named when the block ends, unless reordered */
	if (r->seq > st->cur.last_seq)
	{
		if (!finish_block(st))
			return false;
		return FAIL(st, r->seq, "extra row %lld: no block has room for it", LL(r->seq));
	}
	if (r->seq < st->expect)
		return FAIL(st, r->seq, "extra row %lld: no block has room for it", LL(r->seq));
	if (in_gap(&st->cur, st->gi, r->seq))
		return FAIL(st, r->seq, "extra row %lld: block %lld sealed its seq as aborted",
					LL(r->seq), LL(st->cur.block_id));
	if (!covered_by_gaps(&st->cur, &st->gi, st->expect, r->seq - 1, &missing))
	{
		st->pending_missing = missing;
		return true;
	}
	if (!check_row(st, r, leaf))
		return false;
	gov_ev_merkle_push(&st->merkle, leaf, gv_node, NULL);
	st->nleaves++;
	st->expect = r->seq + 1;
	st->res->rows++;
	return true;
}

/* A checkpoint record: signed by a trusted key. */
static bool
checkpoint_signed(GvState *st, const GovEvCheckpoint *c, const char *which)
{
	const uint8_t *pk = signer(st, c->key_id, c->block_id, 0, false);

	if (pk == NULL)
		return false;
	if (!gv_checkpoint_signature_ok(c, pk))
		return FAIL(st, 0, "bad signature on the %s checkpoint (block %lld)", which, LL(c->block_id));
	return true;
}

static bool
inclusion_path(GvState *st, const GovEvPath *p)
{
	const GovEvBlock *b = &st->cur;
	int64_t		index = st->row.seq - b->first_seq;
	uint8_t		root[64];
	size_t		i;

	for (i = 0; i < b->ngaps && b->gaps[2 * i] < st->row.seq; i++)
		index -= b->gaps[2 * i + 1] - b->gaps[2 * i] + 1;
	if (p->tree_size != b->row_count)
		return FAIL(st, st->row.seq, "the audit path's tree size %lld is not block %lld's row count %lld",
					LL(p->tree_size), LL(b->block_id), LL(b->row_count));
	if (p->leaf_index != index)
		return FAIL(st, st->row.seq, "the audit path's leaf index %lld is not row %lld's place %lld in block %lld",
					LL(p->leaf_index), LL(st->row.seq), LL(index), LL(b->block_id));
	if (!gov_ev_path_root(p, st->row_leaf, root, gv_node, NULL) ||
		memcmp(root, b->merkle_root, 64) != 0)
		return FAIL(st, st->row.seq, "the audit path of row %lld does not lead to block %lld's Merkle root",
					LL(st->row.seq), LL(b->block_id));
	st->res->blocks = 1;
	st->res->from_block = st->res->to_block = b->block_id;
	return true;
}

/* ---------------------------------------------------------------------
 * proof(lease_id): one execution, its lineage complete (FORMAT.md 14)
 * ---------------------------------------------------------------------
 */

static void *
grow(void *p, size_t elem, int *cap, int need)
{
	if (need <= *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	if (*cap < need)
		*cap = need;
	p = realloc(p, elem * (size_t) *cap);
	if (p == NULL)
	{
		fprintf(stderr, "governance-verify: out of memory\n");
		exit(GV_BAD_INPUT);
	}
	return p;
}

static int
pf_find(GvState *st, const uint8_t *lease)
{
	int			i;

	for (i = 0; i < st->npf; i++)
		if (memcmp(st->pf[i].lease, lease, 16) == 0)
			return i;
	return -1;
}

static void
uuid_text(const uint8_t *u, char *out)
{
	static const char digits[] = "0123456789abcdef";
	int			i;
	int			o = 0;

	for (i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[u[i] >> 4];
		out[o++] = digits[u[i] & 15];
	}
	out[o] = '\0';
}

static bool
kind_is(const GovEvStr *k, const char *name)
{
	return !k->isnull && k->len == strlen(name) && memcmp(k->p, name, k->len) == 0;
}

static int
pf_add(GvState *st, const uint8_t *lease, int parent, int64_t seq)
{
	PfLease    *l;

	st->pf = grow(st->pf, sizeof(PfLease), &st->pfcap, st->npf + 1);
	l = &st->pf[st->npf];
	memset(l, 0, sizeof(*l));
	memcpy(l->lease, lease, 16);
	l->parent = parent;
	l->first_seq = seq;
	return st->npf++;
}

/* The lease (or an ancestor) ended before seq: the row that ended it. */
static const PfLease *
ended_before(GvState *st, int i, int64_t seq)
{
	for (; i >= 0; i = st->pf[i].parent)
		if (st->pf[i].ended && st->pf[i].ended_seq < seq)
			return &st->pf[i];
	return NULL;
}

/* A row of the proof: in its block, its evidence, its place in the execution. */
static bool
proof_row(GvState *st, const GovEvRow *r)
{
	const GovEvBlock *b = &st->cur;
	uint8_t		evidence[64];
	uint8_t		leaf[64];
	int64_t		index;
	int			li;
	size_t		i;
	char		u[37];

	if (st->have_last_row && r->seq <= st->last_row_seq)
		return FAIL(st, r->seq, "reordered row %lld: it follows row %lld in the proof",
					LL(r->seq), LL(st->last_row_seq));
	st->have_last_row = true;
	st->last_row_seq = r->seq;
	if (r->seq < b->first_seq || r->seq > b->last_seq || in_gap(b, 0, r->seq))
		return FAIL(st, r->seq, "row %lld is not in block %lld", LL(r->seq), LL(b->block_id));
	if (r->kind.isnull || r->actor.isnull || r->payload.isnull)
		return FAIL(st, r->seq, "modified row %lld: a required column is NULL or malformed", LL(r->seq));
	event_evidence(&st->msg, r, evidence);
	if (memcmp(evidence, r->evidence, 64) != 0)
		return FAIL(st, r->seq, "modified row %lld: its evidence hash does not match its contents",
					LL(r->seq));
	leaf_hash(r->seq, evidence, leaf);
	index = r->seq - b->first_seq;
	for (i = 0; i < b->ngaps && b->gaps[2 * i] < r->seq; i++)
		index -= b->gaps[2 * i + 1] - b->gaps[2 * i] + 1;
	memcpy(st->pf_leaf, leaf, 64);
	st->pf_row_seq = r->seq;
	st->pf_index = index;
	st->pf_want_path = true;

	if (!r->has_lease)
		return FAIL(st, r->seq, "row %lld belongs to no execution", LL(r->seq));
	li = pf_find(st, r->lease);
	if (li < 0)
	{
		int			parent = -1;

		if (!st->pf_root_seen && memcmp(r->lease, st->header.lease, 16) == 0)
		{
			/* the execution's first event */
			if (!kind_is(&r->kind, "governance.authorize"))
				return FAIL(st, r->seq, "the execution's first event, row %lld, is not its governance.authorize event",
							LL(r->seq));
			if (r->has_prev && !(st->pf_anchor && r->prev_seq == st->anchor_seq))
				return FAIL(st, r->prev_seq, "missing row %lld: row %lld links to it",
							LL(r->prev_seq), LL(r->seq));
			st->pf_root_seen = true;
			/* the execution's tenant: evidence, its hash just checked */
			st->pf_tenant = gv_json_member(r->payload.p, r->payload.len, "tenant");
			if (st->pf_tenant && strlen(st->pf_tenant) >= GV_TENANT_MAX)
				return FAIL(st, r->seq, "row %lld names a tenant longer than any uid", LL(r->seq));
			st->res->tenant_seq = r->seq;
		}
		else if (!st->pf_root_seen && !st->pf_anchor && st->res->rows == 0 &&
				 kind_is(&r->kind, "governance.delegated"))
		{
			/* the parent's delegated event a delegated execution starts at */
			uint8_t		key[16];
			Slot	   *l;

			seq_key(r->seq, key);
			l = table_find(&st->links, key, true);
			memcpy(l->link, r->link, 64);
			st->pf_anchor = true;
			st->anchor_seq = r->seq;
			return true;
		}
		else
		{
			int			k;

			for (k = 0; r->has_prev && k < st->npending; k++)
				if (st->pending[k] == r->prev_seq)
					break;
			if (!r->has_prev || k == st->npending)
			{
				uuid_text(r->lease, u);
				return FAIL(st, r->seq, "row %lld is an event of lease %s, which is not part of this execution",
							LL(r->seq), u);
			}
			if (!kind_is(&r->kind, "governance.authorize"))
				return FAIL(st, r->seq, "a delegated execution's first event, row %lld, is not its governance.authorize event",
							LL(r->seq));
			/* an execution never changes tenant (delegate() inherits it) */
			{
				char	   *t = gv_json_member(r->payload.p, r->payload.len, "tenant");
				bool		same;

				if (t == NULL)
					same = st->pf_tenant == NULL;
				else
					same = st->pf_tenant != NULL && strcmp(t, st->pf_tenant) == 0;
				if (!same)
				{
					bool		ok;

					uuid_text(r->lease, u);
					ok = FAIL(st, r->seq, "lease %s of the execution names tenant %s at row %lld, the execution's governance.authorize event at row %lld names %s",
							  u, t ? t : "none", LL(r->seq), LL(st->res->tenant_seq),
							  st->pf_tenant ? st->pf_tenant : "none");
					free(t);
					return ok;
				}
				free(t);
			}
			for (i = 0; i < (size_t) st->ndelegated; i++)
				if (st->delegated[i] == r->prev_seq)
					parent = st->delegated_by[i];
			st->pending[k] = st->pending[--st->npending];
		}
		li = pf_add(st, r->lease, parent, r->seq);
	}
	{
		const PfLease *e = ended_before(st, li, r->seq);

		if (e && (kind_is(&r->kind, "governance.write") || kind_is(&r->kind, "governance.delegated")))
		{
			uuid_text(st->pf[li].lease, u);
			return FAIL(st, r->seq, "%s after the end of its execution: row %lld of lease %s follows the %s event at row %lld",
						kind_is(&r->kind, "governance.write") ? "a write" : "a delegation",
						LL(r->seq), u, e->ended_kind, LL(e->ended_seq));
		}
	}
	if (!check_row(st, r, leaf))
		return false;
	st->res->rows++;
	{
		PfLease    *l = &st->pf[li];

		l->rows++;
		l->in_block = true;
		l->last_seq = r->seq;
		memcpy(l->last_link, r->link, 64);
		if (!l->ended && (kind_is(&r->kind, "governance.revoke") || kind_is(&r->kind, "governance.lease.expired")))
		{
			l->ended = true;
			l->ended_seq = r->seq;
			snprintf(l->ended_kind, sizeof(l->ended_kind), "%.*s", (int) r->kind.len, (const char *) r->kind.p);
		}
		if (kind_is(&r->kind, "governance.delegated"))
		{
			st->pending = grow(st->pending, sizeof(int64_t), &st->pendcap, st->npending + 1);
			st->pending[st->npending++] = r->seq;
			st->delegated = grow(st->delegated, sizeof(int64_t), &st->delcap, st->ndelegated + 1);
			st->delegated_by = realloc(st->delegated_by, sizeof(int) * (size_t) st->delcap);
			if (st->delegated_by == NULL)
				exit(GV_BAD_INPUT);
			st->delegated[st->ndelegated] = r->seq;
			st->delegated_by[st->ndelegated++] = li;
		}
	}
	return true;
}

static bool
proof_path(GvState *st, const GovEvPath *p)
{
	const GovEvBlock *b = &st->cur;
	uint8_t		root[64];

	st->pf_want_path = false;
	if (p->tree_size != b->row_count)
		return FAIL(st, st->pf_row_seq, "the audit path's tree size %lld is not block %lld's row count %lld",
					LL(p->tree_size), LL(b->block_id), LL(b->row_count));
	if (p->leaf_index != st->pf_index)
		return FAIL(st, st->pf_row_seq, "the audit path's leaf index %lld is not row %lld's place %lld in block %lld",
					LL(p->leaf_index), LL(st->pf_row_seq), LL(st->pf_index), LL(b->block_id));
	if (!gov_ev_path_root(p, st->pf_leaf, root, gv_node, NULL) ||
		memcmp(root, b->merkle_root, 64) != 0)
		return FAIL(st, st->pf_row_seq, "the audit path of row %lld does not lead to block %lld's Merkle root",
					LL(st->pf_row_seq), LL(b->block_id));
	return true;
}

/*
 * The current block is complete: its map records lead to its lineage
 * root, and for each lease of the execution they show its last row in the
 * block (the last the proof shows there) or that it has none there.
 */
static bool
proof_block_end(GvState *st)
{
	const GovEvBlock *b = &st->cur;
	size_t		i;
	int			k;
	int64_t		size = 0;
	char		u[37];

	if (!st->have_cur)
		return true;
	if (st->pf_want_path)
		return FAIL(st, st->pf_row_seq, "row %lld has no audit path", LL(st->pf_row_seq));
	for (i = 0; i < st->nmaps; i++)
	{
		const GovEvMap *m = &st->maps[i];
		uint8_t		leaf[64];
		uint8_t		root[64];

		if (i == 0)
			size = m->path.tree_size;
		else if (m->path.tree_size != size ||
				 m->path.leaf_index <= st->maps[i - 1].path.leaf_index ||
				 memcmp(m->lease, st->maps[i - 1].lease, 16) <= 0)
			return FAIL(st, b->first_seq, "bad lineage map entries for block %lld: not one map in order",
						LL(b->block_id));
		lineage_leaf(m->lease, m->seq, m->link, leaf);
		if (!gov_ev_path_root(&m->path, leaf, root, gv_lineage_node, NULL) ||
			memcmp(root, b->lineage_root, 64) != 0)
		{
			uuid_text(m->lease, u);
			return FAIL(st, b->first_seq, "the lineage map entry of lease %s does not lead to block %lld's lineage root",
						u, LL(b->block_id));
		}
	}
	for (k = 0; k < st->npf; k++)
	{
		PfLease    *l = &st->pf[k];
		const GovEvMap *m = NULL;
		size_t		j;

		for (j = 0; j < st->nmaps; j++)
			if (memcmp(st->maps[j].lease, l->lease, 16) == 0)
				m = &st->maps[j];
		uuid_text(l->lease, u);
		if (l->in_block)
		{
			if (m == NULL)
				return FAIL(st, l->last_seq, "the proof does not show lease %s's entry in block %lld's lineage map",
							u, LL(b->block_id));
			if (m->seq != l->last_seq || memcmp(m->link, l->last_link, 64) != 0)
				return FAIL(st, m->seq > l->last_seq ? m->seq : l->last_seq,
							"incomplete lineage: block %lld's lineage map says lease %s's last event there is row %lld, the proof shows row %lld last",
							LL(b->block_id), u, LL(m->seq), LL(l->last_seq));
			l->in_block = false;
			continue;
		}
		if (m != NULL)
			return FAIL(st, m->seq, "incomplete lineage: lease %s has events in block %lld that the proof does not show (its last there is row %lld)",
						u, LL(b->block_id), LL(m->seq));
		/* absent: the entries either side of where it would be */
		for (j = 0; j < st->nmaps; j++)
			if (memcmp(st->maps[j].lease, l->lease, 16) > 0)
				break;
		if (st->nmaps == 0)
		{
			uint8_t		empty[64];

			lineage_empty(empty);
			if (memcmp(empty, b->lineage_root, 64) == 0)
				continue;
		}
		else if (j == 0 ? st->maps[0].path.leaf_index == 0 :
				 j == st->nmaps ? st->maps[j - 1].path.leaf_index == size - 1 :
				 st->maps[j].path.leaf_index == st->maps[j - 1].path.leaf_index + 1)
			continue;
		return FAIL(st, b->first_seq, "incomplete lineage: the proof does not show that lease %s has no event in block %lld",
					u, LL(b->block_id));
	}
	st->nmaps = 0;
	st->res->blocks++;
	if (st->res->from_block == 0)
		st->res->from_block = b->block_id;
	st->res->to_block = b->block_id;
	become_prev(st, b);
	st->have_cur = false;
	return true;
}

static bool
proof_record(GvState *st, GovEvRecord *rec)
{
	switch (rec->type)
	{
		case GOV_EV_BLOCK:
			if (!proof_block_end(st))
				return false;
			if (!st->have_prev && rec->u.block.block_id != st->header.a)
				return FAIL(st, 0, "missing block %lld: the proof's first block is block %lld",
							LL(st->header.a), LL(rec->u.block.block_id));
			if (!block_header(st, &rec->u.block, true, false, false))
				return false;
			if (rec->u.block.version < 2)
				return FAIL(st, rec->u.block.first_seq, "block %lld has no lineage map (format version 1)",
							LL(rec->u.block.block_id));
			start_block(st, &rec->u.block);
			return true;
		case GOV_EV_ROW:
			return proof_row(st, &rec->u.row);
		case GOV_EV_PATH:
			return proof_path(st, &rec->u.path);
		case GOV_EV_MAP:
			if (st->pf_want_path)
				return FAIL(st, st->pf_row_seq, "row %lld has no audit path", LL(st->pf_row_seq));
			if (st->nmaps == st->mapcap)
			{
				st->mapcap = st->mapcap ? 2 * st->mapcap : 16;
				st->maps = realloc(st->maps, sizeof(GovEvMap) * st->mapcap);
				if (st->maps == NULL)
					exit(GV_BAD_INPUT);
			}
			st->maps[st->nmaps++] = rec->u.map;
			return true;
		case GOV_EV_CHECKPOINT:
			{
				GovEvCheckpoint *c = &rec->u.checkpoint;
				GovEvCheckpoint last;

				if (!proof_block_end(st))
					return false;
				checkpoint_of(&st->prev, &last);
				if (!same_checkpoint(c, &last) || memcmp(c->signature, last.signature, 64) != 0)
					return FAIL(st, 0, "the proof's checkpoint differs from its last block %lld",
								LL(st->prev.block_id));
				if (!checkpoint_signed(st, c, "proof's"))
					return false;
				st->res->checkpoint = *c;
				st->res->have_checkpoint = true;
				return true;
			}
		case GOV_EV_END:
			{
				char		u[37];
				int			k;

				if (rec->u.end_records != st->lineno - 1)
					return FAIL(st, 0, "the end record counts %lld records, there are %lld",
								LL(rec->u.end_records), LL(st->lineno - 1));
				st->ended = true;
				if (!st->pf_root_seen)
				{
					uuid_text(st->header.lease, u);
					return FAIL(st, 0, "the proof holds no governance.authorize event of lease %s", u);
				}
				if (st->npending > 0)
					return FAIL(st, st->pending[0], "incomplete lineage: the delegation at row %lld started an execution the proof does not show",
								LL(st->pending[0]));
				if (st->res->to_block != st->header.b)
					return FAIL(st, 0, "missing block %lld: the proof ends at block %lld",
								LL(st->header.b), LL(st->res->to_block));
				if (st->trust->have_cp && !st->cp_seen)
					return FAIL(st, 0, "block %lld named by the checkpoint is not in the proof (blocks %lld..%lld)",
								LL(st->trust->cp.block_id), LL(st->res->from_block), LL(st->res->to_block));
				if (st->trust->tenant &&
					strcmp(st->trust->tenant, st->pf_tenant ? st->pf_tenant : "") != 0)
				{
					uuid_text(st->header.lease, u);
					return FAIL(st, st->res->tenant_seq, "the execution of lease %s is not of tenant %s: its governance.authorize event at row %lld names %s",
								u, st->trust->tenant[0] ? st->trust->tenant : "none",
								LL(st->res->tenant_seq), st->pf_tenant ? st->pf_tenant : "none");
				}
				if (st->pf_tenant)
				{
					st->res->has_tenant = true;
					snprintf(st->res->tenant, sizeof(st->res->tenant), "%s", st->pf_tenant);
				}
				memcpy(st->res->lease, st->header.lease, 16);
				st->res->leases = st->npf;
				for (k = 0; k < st->npf; k++)
					if (memcmp(st->pf[k].lease, st->header.lease, 16) == 0 && st->pf[k].ended)
					{
						st->res->root_ended = true;
						st->res->root_end_seq = st->pf[k].ended_seq;
						memcpy(st->res->root_end_kind, st->pf[k].ended_kind, sizeof(st->res->root_end_kind));
					}
				return true;
			}
		default:
			return FAIL(st, 0, "record out of place at line %lld", LL(st->lineno));
	}
}

/* Which record may follow which, per kind of evidence. */
static bool
in_order(GvState *st, GovEvType t)
{
	GovEvType	l = st->last_type;
	const char *w = st->header.what;

	if (t == GOV_EV_KEY)
		return l == GOV_EV_HEADER || l == GOV_EV_KEY;
	if (strcmp(w, "bundle") == 0)
		switch (t)
		{
			case GOV_EV_PRIOR:
				return l == GOV_EV_HEADER || l == GOV_EV_KEY;
			case GOV_EV_ANCHOR:
				return l == GOV_EV_PRIOR || l == GOV_EV_ANCHOR;
			case GOV_EV_BLOCK:
				return l == GOV_EV_HEADER || l == GOV_EV_KEY || l == GOV_EV_PRIOR ||
					l == GOV_EV_ANCHOR || l == GOV_EV_BLOCK || l == GOV_EV_ROW;
			case GOV_EV_ROW:
				return l == GOV_EV_BLOCK || l == GOV_EV_ROW;
			case GOV_EV_CHECKPOINT:
				return l == GOV_EV_BLOCK || l == GOV_EV_ROW;
			case GOV_EV_END:
				return l == GOV_EV_CHECKPOINT;
			default:
				return false;
		}
	if (strcmp(w, "proof") == 0)
		switch (t)
		{
			case GOV_EV_BLOCK:
			case GOV_EV_CHECKPOINT:
				return (t == GOV_EV_BLOCK && (l == GOV_EV_HEADER || l == GOV_EV_KEY)) ||
					l == GOV_EV_BLOCK || l == GOV_EV_PATH || l == GOV_EV_MAP;
			case GOV_EV_ROW:
				return l == GOV_EV_BLOCK || l == GOV_EV_PATH;
			case GOV_EV_PATH:
				return l == GOV_EV_ROW;
			case GOV_EV_MAP:
				return l == GOV_EV_BLOCK || l == GOV_EV_PATH || l == GOV_EV_MAP;
			case GOV_EV_END:
				return l == GOV_EV_CHECKPOINT;
			default:
				return false;
		}
	if (strcmp(w, "inclusion") == 0)
		return (t == GOV_EV_BLOCK && (l == GOV_EV_HEADER || l == GOV_EV_KEY)) ||
			(t == GOV_EV_ROW && l == GOV_EV_BLOCK) ||
			(t == GOV_EV_PATH && l == GOV_EV_ROW) ||
			(t == GOV_EV_END && l == GOV_EV_PATH);
	/* consistency */
	return (t == GOV_EV_CHECKPOINT && st->ncheckpoints == 0 && (l == GOV_EV_HEADER || l == GOV_EV_KEY)) ||
		(t == GOV_EV_BLOCK && (l == GOV_EV_CHECKPOINT || l == GOV_EV_BLOCK) && st->ncheckpoints == 1) ||
		(t == GOV_EV_CHECKPOINT && st->ncheckpoints == 1) ||
		(t == GOV_EV_END && st->ncheckpoints == 2);
}

static bool
record(GvState *st, GovEvRecord *rec)
{
	const char *w = st->header.what;

	if (!in_order(st, rec->type))
		return FAIL(st, 0, "record out of place at line %lld: a %s record cannot follow a %s record",
					LL(st->lineno), gov_ev_type_name(rec->type), gov_ev_type_name(st->last_type));
	st->last_type = rec->type;
	if (rec->type == GOV_EV_KEY)
	{
		if (find_key(st, rec->u.key.key_id))
			return FAIL(st, 0, "key %s is listed twice", rec->u.key.key_id);
		st->keys = realloc(st->keys, sizeof(KeyEnt) * (st->nkeys + 1));
		if (st->keys == NULL)
			exit(GV_BAD_INPUT);
		st->keys[st->nkeys].k = rec->u.key;
		st->keys[st->nkeys].trusted = false;
		st->nkeys++;
		return true;
	}
	if (!st->keys_done && !finish_keys(st))
		return false;
	if (strcmp(w, "proof") == 0)
		return proof_record(st, rec);

	switch (rec->type)
	{
		case GOV_EV_PRIOR:
			if (rec->u.block.block_id != st->header.a - 1)
				return FAIL(st, 0, "the prior block is block %lld, not block %lld",
							LL(rec->u.block.block_id), LL(st->header.a - 1));
			if (!block_header(st, &rec->u.block, false, false, false))
				return false;
			become_prev(st, &rec->u.block);
			return true;
		case GOV_EV_ANCHOR:
			{
				uint8_t		key[16];
				Slot	   *l;

				seq_key(rec->u.anchor.seq, key);
				l = table_find(&st->links, key, true);
				memcpy(l->link, rec->u.anchor.link, 64);
				l->has_lease = rec->u.anchor.has_lease;
				if (l->has_lease)
					memcpy(l->lease, rec->u.anchor.lease, 16);
				/* a lease that ended before the bundle (FORMAT.md section 17) */
				if (l->has_lease && (kind_is(&rec->u.anchor.kind, "governance.revoke") ||
									 kind_is(&rec->u.anchor.kind, "governance.lease.expired")))
				{
					l->ended = true;
					l->ended_seq = rec->u.anchor.seq;
					snprintf(l->ended_kind, sizeof(l->ended_kind), "%.*s",
							 (int) rec->u.anchor.kind.len, (const char *) rec->u.anchor.kind.p);
				}
				return true;
			}
		case GOV_EV_BLOCK:
			if (strcmp(w, "bundle") == 0)
			{
				if (!finish_block(st))
					return false;
				if (!st->have_prev && st->header.a > 1)
					return FAIL(st, 0, "the bundle starts at block %lld but has no prior block",
								LL(st->header.a));
				if (!block_header(st, &rec->u.block, true, true, false))
					return false;
				start_block(st, &rec->u.block);
				return true;
			}
			if (strcmp(w, "inclusion") == 0)
			{
				if (!block_header(st, &rec->u.block, false, false, false))
					return false;
				start_block(st, &rec->u.block);
				return true;
			}
			if (!block_header(st, &rec->u.block, true, false, st->prev.block_id == st->old_cp.block_id))
				return false;
			become_prev(st, &rec->u.block);
			st->res->blocks++;
			return true;
		case GOV_EV_ROW:
			if (strcmp(w, "bundle") == 0)
				return bundle_row(st, &rec->u.row);
			{
				const GovEvRow *r = &rec->u.row;
				int64_t		missing;
				size_t		gi = 0;

				if (r->seq != st->header.a)
					return FAIL(st, r->seq, "the proof is for row %lld but holds row %lld",
								LL(st->header.a), LL(r->seq));
				if (r->seq < st->cur.first_seq || r->seq > st->cur.last_seq ||
					in_gap(&st->cur, 0, r->seq) ||
					!covered_by_gaps(&st->cur, &gi, r->seq, r->seq - 1, &missing))
					return FAIL(st, r->seq, "row %lld is not in block %lld", LL(r->seq), LL(st->cur.block_id));
				if (r->kind.isnull || r->actor.isnull || r->payload.isnull)
					return FAIL(st, r->seq, "modified row %lld: a required column is NULL or malformed", LL(r->seq));
				event_evidence(&st->msg, r, st->row_leaf);
				if (memcmp(st->row_leaf, r->evidence, 64) != 0)
					return FAIL(st, r->seq, "modified row %lld: its evidence hash does not match its contents",
								LL(r->seq));
				leaf_hash(r->seq, r->evidence, st->row_leaf);
				st->row.seq = r->seq;
				st->res->seq = r->seq;
				st->res->rows = 1;
				return true;
			}
		case GOV_EV_PATH:
			return inclusion_path(st, &rec->u.path);
		case GOV_EV_CHECKPOINT:
			{
				GovEvCheckpoint *c = &rec->u.checkpoint;
				GovEvCheckpoint last;

				if (!log_ok(st, c->v2_line, c->version, c->log_id, "checkpoint of block", c->block_id, 0))
					return false;

				if (strcmp(w, "bundle") == 0)
				{
					if (!finish_block(st))
						return false;
					checkpoint_of(&st->prev, &last);
					if (!same_checkpoint(c, &last) || memcmp(c->signature, last.signature, 64) != 0)
						return FAIL(st, 0, "the bundle's checkpoint differs from its last block %lld",
									LL(st->prev.block_id));
					if (!checkpoint_signed(st, c, "bundle's"))
						return false;
					st->res->checkpoint = *c;
					st->res->have_checkpoint = true;
					return true;
				}
				if (st->ncheckpoints++ == 0)
				{
					if (c->block_id != st->header.a)
						return FAIL(st, 0, "the old checkpoint names block %lld, the header block %lld",
									LL(c->block_id), LL(st->header.a));
					if (!checkpoint_signed(st, c, "old"))
						return false;
					if (st->trust->have_old && !same_checkpoint(c, &st->trust->old_cp))
						return FAIL(st, 0, "the proof starts from another checkpoint of block %lld than the old one given (block %lld)",
									LL(c->block_id), LL(st->trust->old_cp.block_id));
					st->old_cp = *c;
					memset(&st->prev, 0, sizeof(st->prev));
					st->prev.block_id = c->block_id;
					st->prev.last_seq = c->last_seq;
					st->prev.total_rows = c->total_rows;
					memcpy(st->prev.block_hash, c->block_hash, 64);
					st->have_prev = true;
					return true;
				}
				if (c->block_id != st->header.b)
					return FAIL(st, 0, "the new checkpoint names block %lld, the header block %lld",
								LL(c->block_id), LL(st->header.b));
				if (c->block_id != st->prev.block_id)
					return FAIL(st, 0, "missing block %lld: the proof ends at block %lld",
								LL(c->block_id), LL(st->prev.block_id));
				if (memcmp(c->block_hash, st->prev.block_hash, 64) != 0 ||
					c->last_seq != st->prev.last_seq || c->total_rows != st->prev.total_rows)
					return FAIL(st, 0, "the new checkpoint does not extend the old one: its block %lld differs from the proof's",
								LL(c->block_id));
				if (!checkpoint_signed(st, c, "new"))
					return false;
				if (st->trust->have_new && !same_checkpoint(c, &st->trust->new_cp))
					return FAIL(st, 0, "the proof ends at another checkpoint than the new one given (block %lld)",
								LL(st->trust->new_cp.block_id));
				st->res->from_block = st->header.a;
				st->res->to_block = st->header.b;
				st->res->checkpoint = *c;
				st->res->have_checkpoint = true;
				return true;
			}
		case GOV_EV_END:
			if (rec->u.end_records != st->lineno - 1)
				return FAIL(st, 0, "the end record counts %lld records, there are %lld",
							LL(rec->u.end_records), LL(st->lineno - 1));
			st->ended = true;
			if (strcmp(w, "bundle") != 0)
				return true;
			if (st->res->from_block != st->header.a)
				return FAIL(st, 0, "missing block %lld: the bundle's first block is block %lld",
							LL(st->header.a), LL(st->res->from_block));
			if (st->res->to_block != st->header.b)
				return FAIL(st, 0, "missing block %lld: the bundle ends at block %lld",
							LL(st->header.b), LL(st->res->to_block));
			if (st->trust->have_cp && !st->cp_seen)
			{
				if (st->trust->cp.block_id > st->res->to_block)
					return FAIL(st, st->res->checkpoint.last_seq + 1,
								"block %lld named by the checkpoint is missing: the bundle ends at block %lld",
								LL(st->trust->cp.block_id), LL(st->res->to_block));
				return FAIL(st, 0, "block %lld named by the checkpoint is not in the bundle (blocks %lld..%lld)",
							LL(st->trust->cp.block_id), LL(st->res->from_block), LL(st->res->to_block));
			}
			return true;
		default:
			return FAIL(st, 0, "record out of place at line %lld", LL(st->lineno));
	}
}

bool
gv_line(GvState *st, char *line, size_t len)
{
	GovEvRecord rec;
	const char *err;
	size_t		need = gov_ev_gap_capacity(len);

	st->lineno++;
	if (st->res->status != GV_VERIFIED)
		return false;
	if (st->ended)
		return FAIL(st, 0, "a record follows the end record (line %lld)", LL(st->lineno));
	if (st->gapcap < need)
	{
		free(st->gapbuf);
		st->gapbuf = malloc(sizeof(int64_t) * need);
		if (st->gapbuf == NULL)
			exit(GV_BAD_INPUT);
		st->gapcap = need;
	}
	err = gov_ev_parse(line, len, &rec, st->gapbuf, st->gapcap);
	if (!st->have_header)
	{
		if (err != NULL || rec.type != GOV_EV_HEADER)
		{
			gv_fail(st->res, GV_BAD_INPUT, 0, "not governance evidence: %s",
					err ? err : "the first line is not a governance-evidence header");
			st->res->line = st->lineno;
			return false;
		}
		st->have_header = true;
		st->header = rec.u.header;
		st->last_type = GOV_EV_HEADER;
		snprintf(st->res->what, sizeof(st->res->what), "%s", st->header.what);
		return true;
	}
	if (err != NULL)
		return FAIL(st, 0, "malformed record at line %lld: %s", LL(st->lineno), err);
	if (rec.type == GOV_EV_HEADER)
		return FAIL(st, 0, "record out of place at line %lld: a second header", LL(st->lineno));
	return record(st, &rec);
}

void
gv_finish(GvState *st, bool last_line_complete)
{
	if (st->res->status != GV_VERIFIED)
		return;
	if (!st->have_header)
	{
		gv_fail(st->res, GV_BAD_INPUT, 0, "not governance evidence: the input is empty");
		return;
	}
	if (!last_line_complete)
	{
		FAIL(st, 0, "truncated %s: its last line (line %lld) is cut short", st->header.what, LL(st->lineno));
		return;
	}
	if (!st->ended)
		FAIL(st, 0, "truncated %s: it ends without its end record (after line %lld)",
			 st->header.what, LL(st->lineno));
}
