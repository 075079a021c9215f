/*-------------------------------------------------------------------------
 *
 * gv_engine.c
 *	  Verification of evidence bundles and proofs (docs/FORMAT.md, sections
 *	  1, 2, 5, 6, 7 and 12), one line at a time.  The checks and the words
 *	  of their problems follow verify_ledger() (src/verify.c): the first
 *	  problem found is reported, naming the seq or block it concerns.
 *
 *	  Memory: the keys, one chain head per execution (lease), the links of
 *	  governance.delegated events and anchors, and an O(log n) Merkle
 *	  stack; rows are not kept.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "gv_int.h"

#define TAG_KEY_ID		"governance.v1.key-id"
#define TAG_KEY			"governance.v1.key"
#define TAG_ENDORSE		"governance.v1.key-endorsement"
#define TAG_EVENT		"governance.v1.event"
#define TAG_LINK		"governance.v1.link"
#define TAG_LEAF		"governance.v1.merkle-leaf"
#define TAG_NODE		"governance.v1.merkle-node"
#define TAG_BLOCK		"governance.v1.block"
#define TAG_CHECKPOINT	"governance.v1.checkpoint"
#define TAG_BLOCK_V2	"governance.v2.block"
#define TAG_CHECKPOINT_V2	"governance.v2.checkpoint"
#define TAG_LINEAGE_LEAF	"governance.v2.lineage-leaf"
#define TAG_LINEAGE_NODE	"governance.v2.lineage-node"
#define TAG_LINEAGE_EMPTY	"governance.v2.lineage-empty"

/* ---------------------------------------------------------------------
 * Messages (FORMAT.md section 1) and crypto
 * ---------------------------------------------------------------------
 */

void
msg_raw(Msg *m, const void *p, size_t n)
{
	if (m->len + n > m->cap)
	{
		size_t		cap = m->cap ? m->cap : 256;

		while (cap < m->len + n)
			cap *= 2;
		m->p = realloc(m->p, cap);
		if (m->p == NULL)
		{
			fprintf(stderr, "governance-verify: out of memory\n");
			exit(GV_BAD_INPUT);
		}
		m->cap = cap;
	}
	if (n)
		memcpy(m->p + m->len, p, n);
	m->len += n;
}

void
msg_field(Msg *m, const void *p, size_t n)
{
	uint8_t		len[4] = {(uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n};

	msg_raw(m, len, 4);
	msg_raw(m, p, n);
}

void
msg_null(Msg *m)
{
	static const uint8_t null[4] = {0xff, 0xff, 0xff, 0xff};

	msg_raw(m, null, 4);
}

void
msg_text(Msg *m, const char *s)
{
	msg_field(m, s, strlen(s));
}

void
msg_str(Msg *m, const GovEvStr *s)
{
	if (s->isnull)
		msg_null(m);
	else
		msg_field(m, s->p, s->len);
}

void
msg_int(Msg *m, int64_t v)
{
	uint8_t		be[8];
	uint64_t	u = (uint64_t) v;
	int			i;

	for (i = 7; i >= 0; i--)
	{
		be[i] = (uint8_t) u;
		u >>= 8;
	}
	msg_field(m, be, 8);
}

void
msg_start(Msg *m, const char *tag)
{
	m->len = 0;
	msg_text(m, tag);
}

void
gv_sha3_512(const void *p, size_t n, uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha3_512(), NULL) != 1 ||
		EVP_DigestUpdate(ctx, p, n) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 64)
	{
		fprintf(stderr, "governance-verify: SHA3-512 failed in OpenSSL\n");
		exit(GV_BAD_INPUT);
	}
	EVP_MD_CTX_free(ctx);
}

void
gv_blake2b_512(const void *p, size_t n, uint8_t *out)
{
	crypto_generichash(out, 64, p, n, NULL, 0);
}

bool
gv_ed25519_verify(const uint8_t *sig, const void *msg, size_t n, const uint8_t *pk)
{
	return crypto_sign_verify_detached(sig, msg, n, pk) == 0;
}

void
gv_key_id(const uint8_t *pk, char *out)
{
	Msg			m = {0};
	uint8_t		h[64];
	static const char hex[] = "0123456789abcdef";
	int			i;

	msg_start(&m, TAG_KEY_ID);
	msg_field(&m, pk, GOV_EV_PK);
	gv_blake2b_512(m.p, m.len, h);
	free(m.p);
	for (i = 0; i < 8; i++)
	{
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[16] = '\0';
}

void
gv_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg)
{
	uint8_t		buf[4 + sizeof(TAG_NODE) - 1 + 2 * (4 + 64)];
	Msg			m = {buf, 0, sizeof(buf)};

	(void) arg;
	msg_text(&m, TAG_NODE);
	msg_field(&m, l, 64);
	msg_field(&m, r, 64);
	gv_blake2b_512(m.p, m.len, out);
}

void
leaf_hash(int64_t seq, const uint8_t *evidence, uint8_t *out)
{
	uint8_t		buf[256];
	Msg			m = {buf, 0, sizeof(buf)};

	msg_text(&m, TAG_LEAF);
	msg_int(&m, seq);
	msg_field(&m, evidence, 64);
	gv_blake2b_512(m.p, m.len, out);
}

void
link_hash(const uint8_t *prev, const uint8_t *evidence, uint8_t *out)
{
	uint8_t		buf[256];
	Msg			m = {buf, 0, sizeof(buf)};

	msg_text(&m, TAG_LINK);
	if (prev)
		msg_field(&m, prev, 64);
	else
		msg_null(&m);
	msg_field(&m, evidence, 64);
	gv_blake2b_512(m.p, m.len, out);
}

void
event_evidence(Msg *m, const GovEvRow *r, uint8_t *out)
{
	msg_start(m, TAG_EVENT);
	msg_int(m, r->seq);
	msg_int(m, r->at);
	msg_str(m, &r->kind);
	if (r->has_lease)
		msg_field(m, r->lease, 16);
	else
		msg_null(m);
	msg_str(m, &r->principal);
	msg_str(m, &r->action);
	msg_str(m, &r->resource);
	msg_str(m, &r->payload);
	msg_str(m, &r->actor);
	msg_int(m, r->txid);
	if (r->has_prev)
		msg_int(m, r->prev_seq);
	else
		msg_null(m);
	gv_sha3_512(m->p, m->len, out);
}

void
block_hash(Msg *m, const GovEvBlock *b, uint8_t *out)
{
	size_t		i;

	msg_start(m, b->version >= 2 ? TAG_BLOCK_V2 : TAG_BLOCK);
	if (b->version >= 2)
		msg_field(m, b->log_id, GOV_EV_LOG_ID);
	msg_int(m, b->block_id);
	msg_int(m, b->first_seq);
	msg_int(m, b->last_seq);
	msg_int(m, b->row_count);
	msg_int(m, b->total_rows);
	{
		uint8_t		len[4];
		size_t		n = b->ngaps * 16;

		len[0] = (uint8_t) (n >> 24);
		len[1] = (uint8_t) (n >> 16);
		len[2] = (uint8_t) (n >> 8);
		len[3] = (uint8_t) n;
		msg_raw(m, len, 4);
		for (i = 0; i < 2 * b->ngaps; i++)
		{
			uint8_t		be[8];
			uint64_t	u = (uint64_t) b->gaps[i];
			int			j;

			for (j = 7; j >= 0; j--)
			{
				be[j] = (uint8_t) u;
				u >>= 8;
			}
			msg_raw(m, be, 8);
		}
	}
	msg_field(m, b->merkle_root, 64);
	if (b->version >= 2)
		msg_field(m, b->lineage_root, 64);
	if (b->has_prev)
		msg_field(m, b->prev_hash, 64);
	else
		msg_null(m);
	msg_int(m, b->sealed_at);
	msg_text(m, b->key_id);
	gv_blake2b_512(m->p, m->len, out);
}

bool
gv_checkpoint_signature_ok(const GovEvCheckpoint *c, const uint8_t *pk)
{
	uint8_t		buf[512];
	Msg			m = {buf, 0, sizeof(buf)};

	msg_text(&m, c->version >= 2 ? TAG_CHECKPOINT_V2 : TAG_CHECKPOINT);
	if (c->version >= 2)
		msg_field(&m, c->log_id, GOV_EV_LOG_ID);
	msg_int(&m, c->block_id);
	msg_field(&m, c->block_hash, 64);
	msg_int(&m, c->last_seq);
	msg_int(&m, c->total_rows);
	msg_int(&m, c->sealed_at);
	msg_text(&m, c->key_id);
	return gv_ed25519_verify(c->signature, m.p, m.len, pk);
}

void
checkpoint_of(const GovEvBlock *b, GovEvCheckpoint *c)
{
	c->block_id = b->block_id;
	memcpy(c->block_hash, b->block_hash, 64);
	c->last_seq = b->last_seq;
	c->total_rows = b->total_rows;
	c->sealed_at = b->sealed_at;
	memcpy(c->key_id, b->key_id, sizeof(c->key_id));
	memcpy(c->signature, b->signature, 64);
	c->version = b->version;
	memcpy(c->log_id, b->log_id, GOV_EV_LOG_ID);
}

bool
same_checkpoint(const GovEvCheckpoint *a, const GovEvCheckpoint *b)
{
	return a->block_id == b->block_id && memcmp(a->block_hash, b->block_hash, 64) == 0 &&
		a->last_seq == b->last_seq && a->total_rows == b->total_rows &&
		a->sealed_at == b->sealed_at && strcmp(a->key_id, b->key_id) == 0 &&
		a->version == b->version &&
		(a->version < 2 || memcmp(a->log_id, b->log_id, GOV_EV_LOG_ID) == 0);
}

/* The lineage map's root (docs/FORMAT.md section 6), heads sorted here. */
static int
head_cmp(const void *a, const void *b)
{
	const GvHead *x = a;
	const GvHead *y = b;
	int			c = memcmp(x->lease, y->lease, 16);

	if (c != 0)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void
gv_lineage_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg)
{
	uint8_t		buf[4 + sizeof(TAG_LINEAGE_NODE) - 1 + 2 * (4 + 64)];
	Msg			m = {buf, 0, sizeof(buf)};

	(void) arg;
	msg_text(&m, TAG_LINEAGE_NODE);
	msg_field(&m, l, 64);
	msg_field(&m, r, 64);
	gv_blake2b_512(m.p, m.len, out);
}

void
lineage_root(GvHead *heads, size_t n, uint8_t *out)
{
	GovEvMerkle *mt;
	size_t		i;

	if (n == 0)
	{
		lineage_empty(out);
		return;
	}
	qsort(heads, n, sizeof(GvHead), head_cmp);
	mt = malloc(sizeof(GovEvMerkle));
	if (mt == NULL)
		exit(GV_BAD_INPUT);
	gov_ev_merkle_init(mt);
	for (i = 0; i < n; i++)
	{
		uint8_t		leaf[64];

		if (i + 1 < n && memcmp(heads[i].lease, heads[i + 1].lease, 16) == 0)
			continue;
		lineage_leaf(heads[i].lease, heads[i].seq, heads[i].link, leaf);
		gov_ev_merkle_push(mt, leaf, gv_lineage_node, NULL);
	}
	gov_ev_merkle_finish(mt, out, gv_lineage_node, NULL);
	free(mt);
}

void
lineage_leaf(const uint8_t *lease, int64_t seq, const uint8_t *link, uint8_t *out)
{
	uint8_t		buf[256];
	Msg			m = {buf, 0, sizeof(buf)};

	msg_text(&m, TAG_LINEAGE_LEAF);
	msg_field(&m, lease, 16);
	msg_int(&m, seq);
	msg_field(&m, link, 64);
	gv_blake2b_512(m.p, m.len, out);
}

void
lineage_empty(uint8_t *out)
{
	uint8_t		buf[64];
	Msg			m = {buf, 0, sizeof(buf)};

	msg_text(&m, TAG_LINEAGE_EMPTY);
	gv_blake2b_512(m.p, m.len, out);
}

/* ---------------------------------------------------------------------
 * Hash tables: 16-byte keys, open addressing
 * ---------------------------------------------------------------------
 */

static size_t
slot_of(const Table *t, const uint8_t *key)
{
	uint64_t	h = 1469598103934665603ULL;
	int			i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211ULL;
	return (size_t) (h & (t->cap - 1));
}

Slot *
table_find(Table *t, const uint8_t *key, bool create)
{
	size_t		i;

	if (create && (t->n + 1) * 2 > t->cap)
	{
		Table		nt = {0};
		size_t		j;

		nt.cap = t->cap ? t->cap * 2 : 1024;
		nt.slots = calloc(nt.cap, sizeof(Slot));
		if (nt.slots == NULL)
		{
			fprintf(stderr, "governance-verify: out of memory\n");
			exit(GV_BAD_INPUT);
		}
		for (j = 0; j < t->cap; j++)
			if (t->slots[j].used)
			{
				Slot	   *s = table_find(&nt, t->slots[j].key, true);

				*s = t->slots[j];
			}
		free(t->slots);
		*t = nt;
	}
	if (t->cap == 0)
		return NULL;
	for (i = slot_of(t, key);; i = (i + 1) & (t->cap - 1))
	{
		Slot	   *s = &t->slots[i];

		if (!s->used)
		{
			if (!create)
				return NULL;
			memset(s, 0, sizeof(*s));
			s->used = true;
			memcpy(s->key, key, 16);
			t->n++;
			return s;
		}
		if (memcmp(s->key, key, 16) == 0)
			return s;
	}
}

void
seq_key(int64_t seq, uint8_t *key)
{
	memset(key, 0, 16);
	memcpy(key, &seq, sizeof(seq));
}

/* ---------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------
 */

void
gv_fail(GvResult *res, int status, int64_t seq, const char *fmt,...)
{
	va_list		ap;

	if (res->status != GV_VERIFIED)
		return;
	va_start(ap, fmt);
	vsnprintf(res->problem, sizeof(res->problem), fmt, ap);
	va_end(ap);
	res->status = status;
	res->has_bad_seq = seq > 0;
	res->bad_seq = seq;
}

bool
gv_problem(GvState *st, int64_t seq, const char *fmt,...)
{
	va_list		ap;

	if (st->res->status != GV_VERIFIED)
		return false;
	va_start(ap, fmt);
	vsnprintf(st->res->problem, sizeof(st->res->problem), fmt, ap);
	va_end(ap);
	st->res->status = GV_TAMPERED;
	st->res->has_bad_seq = seq > 0;
	st->res->bad_seq = seq;
	st->res->line = st->lineno;
	return false;
}

GvState *
gv_begin(const GvTrust *trust, GvResult *res)
{
	GvState    *st = calloc(1, sizeof(GvState));

	if (st == NULL)
	{
		fprintf(stderr, "governance-verify: out of memory\n");
		exit(GV_BAD_INPUT);
	}
	memset(res, 0, sizeof(*res));
	st->trust = trust;
	st->res = res;
	/* the log the evidence must belong to, when the caller knows it */
	if (trust->have_log_id)
	{
		st->have_log = true;
		memcpy(st->log_id, trust->log_id, GOV_EV_LOG_ID);
	}
	else
	{
		const GovEvCheckpoint *cp = trust->have_cp ? &trust->cp :
		trust->have_old ? &trust->old_cp : trust->have_new ? &trust->new_cp : NULL;

		if (cp && cp->version >= 2)
		{
			st->have_log = true;
			memcpy(st->log_id, cp->log_id, GOV_EV_LOG_ID);
		}
	}
	if (st->have_log)
	{
		res->have_log_id = true;
		memcpy(res->log_id, st->log_id, GOV_EV_LOG_ID);
	}
	return st;
}

void
gv_free(GvState *st)
{
	free(st->msg.p);
	free(st->keys);
	free(st->gapbuf);
	free(st->prevgaps);
	free(st->curgaps);
	free(st->chains.slots);
	free(st->links.slots);
	free(st->heads);
	free(st->pf);
	free(st->pf_tenant);
	free(st->maps);
	free(st->pending);
	free(st->delegated);
	free(st->delegated_by);
	free(st);
}

KeyEnt *
find_key(GvState *st, const char *key_id)
{
	int			i;

	for (i = 0; i < st->nkeys; i++)
		if (strcmp(st->keys[i].k.key_id, key_id) == 0)
			return &st->keys[i];
	return NULL;
}

/* Keys are complete: check each, then follow endorsements from the anchors. */
bool
finish_keys(GvState *st)
{
	int			i;
	int			j;
	bool		grew = true;

	st->keys_done = true;
	for (i = 0; i < st->nkeys; i++)
	{
		GovEvKey   *k = &st->keys[i].k;
		char		id[17];

		gv_key_id(k->pk, id);
		if (strcmp(id, k->key_id) != 0)
			return FAIL(st, 0, "key %s: its key id does not match its public key (that is %s)", k->key_id, id);
		msg_start(&st->msg, TAG_KEY);
		msg_text(&st->msg, k->key_id);
		msg_field(&st->msg, k->pk, GOV_EV_PK);
		msg_int(&st->msg, k->created_at);
		if (!gv_ed25519_verify(k->self_sig, st->msg.p, st->msg.len, k->pk))
			return FAIL(st, 0, "key %s: its self-signature does not verify", k->key_id);
		if (k->endorsed)
		{
			KeyEnt	   *by = find_key(st, k->endorsed_by);

			if (by == NULL)
				return FAIL(st, 0, "key %s: endorsed by %s, which is not among the keys given", k->key_id, k->endorsed_by);
			msg_start(&st->msg, TAG_ENDORSE);
			msg_text(&st->msg, k->endorsed_by);
			msg_text(&st->msg, k->key_id);
			msg_field(&st->msg, k->pk, GOV_EV_PK);
			msg_int(&st->msg, k->created_at);
			if (!gv_ed25519_verify(k->endorsement, st->msg.p, st->msg.len, by->k.pk))
				return FAIL(st, 0, "key %s: its endorsement by %s does not verify", k->key_id, k->endorsed_by);
		}
		for (j = 0; j < st->trust->nkeys; j++)
			if (memcmp(st->trust->pk[j], k->pk, GOV_EV_PK) == 0)
				st->keys[i].trusted = true;
		if (st->trust->have_cp && strcmp(st->trust->cp.key_id, k->key_id) == 0 &&
			gv_checkpoint_signature_ok(&st->trust->cp, k->pk))
			st->keys[i].trusted = true;
	}
	while (grew)
	{
		grew = false;
		for (i = 0; i < st->nkeys; i++)
		{
			KeyEnt	   *by;

			if (st->keys[i].trusted || !st->keys[i].k.endorsed)
				continue;
			by = find_key(st, st->keys[i].k.endorsed_by);
			if (by && by->trusted)
				st->keys[i].trusted = grew = true;
		}
	}
	for (i = 0; i < st->nkeys; i++)
		st->res->trusted_keys += st->keys[i].trusted;
	st->res->keys = st->nkeys;
	if (st->res->trusted_keys == 0)
	{
		char		id[17] = "(none)";

		if (st->trust->nkeys > 0)
			gv_key_id(st->trust->pk[0], id);
		else if (st->trust->have_cp)
			snprintf(id, sizeof(id), "%s", st->trust->cp.key_id);
		return FAIL(st, 0, "the trusted key %s is not among the keys given", id);
	}
	return true;
}

/*
 * checkpoint --keys: after the key records of an evidence file were fed,
 * check them (ids, self-signatures, endorsements from the trusted keys) and
 * give the public key of key_id if it is trusted.  NULL with *known telling
 * whether the file holds the key at all; NULL too when the keys do not
 * verify (st's result then names the problem).
 */
const uint8_t *
gv_trusted_key(GvState *st, const char *key_id, bool *known)
{
	KeyEnt	   *k;

	*known = false;
	if (st->res->status != GV_VERIFIED || st->nkeys == 0)
		return NULL;
	if (!st->keys_done && !finish_keys(st))
		return NULL;
	k = find_key(st, key_id);
	if (k == NULL)
		return NULL;
	*known = true;
	return k->trusted ? k->k.pk : NULL;
}

/* The signing key of a block (or checkpoint), or NULL after failing. */
const uint8_t *
signer(GvState *st, const char *key_id, int64_t block_id, int64_t seq, bool chained)
{
	KeyEnt	   *k = find_key(st, key_id);

	if (k == NULL)
		return FAIL(st, seq, "unknown key %s signed block %lld", key_id, (long long) block_id), NULL;
	/* blocks up to a trusted checkpoint are authenticated by its hash chain */
	if (!k->trusted && !(chained && st->trust->have_cp && block_id <= st->trust->cp.block_id))
		return FAIL(st, seq, "untrusted key %s signed block %lld: it is not endorsed from a trusted key",
					key_id, (long long) block_id), NULL;
	return k->k.pk;
}
