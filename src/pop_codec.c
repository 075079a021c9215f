/*-------------------------------------------------------------------------
 *
 * pop_codec.c
 *	  The proof-of-possession request and proof text (docs/FORMAT.md
 *	  section 13).  Plain C: every input is untrusted, every length is
 *	  checked before it is used, and nothing allocates.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "artifact_codec.h"
#include "pop_codec.h"

static const char *const op_names[] = {"authorize", "delegate", "heartbeat", "attach", "rotate-key", "present"};

const char *
gov_pop_op_name(GovPopOp op)
{
	if ((unsigned) op >= sizeof(op_names) / sizeof(op_names[0]))
		return "?";
	return op_names[op];
}

/* A message under construction: counts when out is NULL. */
typedef struct PopBuf
{
	uint8_t    *out;
	size_t		cap;
	size_t		len;
	bool		overflow;
} PopBuf;

static void
put_field(PopBuf *b, const void *p, size_t n, bool isnull)
{
	uint32_t	l = isnull ? 0xFFFFFFFFu : (uint32_t) n;
	uint8_t		hdr[4];

	if (!isnull && n >= 0xFFFFFFFFu)
	{
		b->overflow = true;
		return;
	}
	hdr[0] = (uint8_t) (l >> 24);
	hdr[1] = (uint8_t) (l >> 16);
	hdr[2] = (uint8_t) (l >> 8);
	hdr[3] = (uint8_t) l;
	if (isnull)
		n = 0;
	if (b->out)
	{
		if (b->overflow || b->cap - b->len < 4 + n)
		{
			b->overflow = true;
			return;
		}
		memcpy(b->out + b->len, hdr, 4);
		if (n > 0)
			memcpy(b->out + b->len + 4, p, n);
	}
	b->len += 4 + n;
}

static void
put_text(PopBuf *b, const char *s)
{
	put_field(b, s, s ? strlen(s) : 0, s == NULL);
}

static void
put_int64(PopBuf *b, int64_t v, bool isnull)
{
	uint8_t		be[8];
	uint64_t	u = (uint64_t) v;
	int			i;

	for (i = 7; i >= 0; i--)
	{
		be[i] = (uint8_t) u;
		u >>= 8;
	}
	put_field(b, be, 8, isnull);
}

static size_t
build(const GovPopRequest *r, PopBuf *b)
{
	put_text(b, GOV_POP_TAG);
	put_text(b, gov_pop_op_name(r->op));
	put_text(b, r->server_key_id);
	put_field(b, r->nonce, GOV_POP_NONCE_LEN, false);
	put_text(b, r->principal);
	put_text(b, r->action);
	put_text(b, r->resource);
	put_field(b, r->context_hash, GOV_POP_HASH_LEN, r->context_hash == NULL);
	put_int64(b, r->ttl_us, !r->has_ttl);
	put_field(b, r->lease_id, 16, r->lease_id == NULL);
	put_field(b, r->measurement, r->measurement_len, r->measurement == NULL);
	put_field(b, r->artifact_hash, GOV_POP_HASH_LEN, r->artifact_hash == NULL);
	put_int64(b, r->session ? 1 : 0, !r->has_session);
	put_field(b, r->new_key, 32, r->new_key == NULL);
	return b->overflow ? 0 : b->len;
}

size_t
gov_pop_message_size(const GovPopRequest *r)
{
	PopBuf		b = {NULL, 0, 0, false};

	return build(r, &b);
}

size_t
gov_pop_message(const GovPopRequest *r, uint8_t *out, size_t cap)
{
	PopBuf		b = {out, cap, 0, false};

	if (out == NULL)
		return 0;
	return build(r, &b);
}

const char *
gov_pop_proof_decode(const char *txt, size_t len, uint8_t *nonce, uint8_t *signature)
{
	const size_t plen = sizeof(GOV_POP_PREFIX) - 1;
	const char *p;
	const char *dot;
	size_t		rest;
	uint8_t		buf[GOV_POP_SIG_LEN + 3];

	if (txt == NULL || len == 0)
		return "empty proof";
	if (len > GOV_POP_MAX_TEXT)
		return "proof is too long";
	if (len < plen || memcmp(txt, GOV_POP_PREFIX, plen) != 0)
		return "proof does not begin with pop1.";
	p = txt + plen;
	rest = len - plen;
	dot = memchr(p, '.', rest);
	if (dot == NULL)
		return "proof has no signature part";
	if (memchr(dot + 1, '.', rest - (size_t) (dot + 1 - p)) != NULL)
		return "proof has more than three parts";
	if (gov_b64url_decode(p, (size_t) (dot - p), buf, sizeof(buf)) != GOV_POP_NONCE_LEN)
		return "nonce is not 32 bytes of canonical base64url";
	memcpy(nonce, buf, GOV_POP_NONCE_LEN);
	if (gov_b64url_decode(dot + 1, rest - (size_t) (dot + 1 - p), buf, sizeof(buf)) != GOV_POP_SIG_LEN)
		return "signature is not 64 bytes of canonical base64url";
	memcpy(signature, buf, GOV_POP_SIG_LEN);
	return NULL;
}

size_t
gov_pop_proof_encode(const uint8_t *nonce, const uint8_t *signature, char *out)
{
	size_t		o;

	memcpy(out, GOV_POP_PREFIX, sizeof(GOV_POP_PREFIX) - 1);
	o = sizeof(GOV_POP_PREFIX) - 1;
	o += gov_b64url_encode(nonce, GOV_POP_NONCE_LEN, out + o);
	out[o++] = '.';
	o += gov_b64url_encode(signature, GOV_POP_SIG_LEN, out + o);
	out[o] = '\0';
	return o;
}
