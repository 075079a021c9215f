/*-------------------------------------------------------------------------
 *
 * fuzz_artifact.c
 *	  libFuzzer harness for the artifact codec (src/artifact_codec.c): the
 *	  base64url coder and the structural decoder of
 *	  gov1.<base64url(payload)>.<base64url(signature)> (docs/FORMAT.md
 *	  section 9).  Every input is used three ways:
 *
 *	  1. as bytes to encode: decode(encode(x)) == x, the text has the
 *	     documented length and alphabet, and decoding it into a buffer one
 *	     byte too small fails without writing past the buffer;
 *	  2. as base64url text to decode: when it decodes, re-encoding gives
 *	     the same text back (one text per byte string: non-zero trailing
 *	     bits are refused), and the byte count is the one its length
 *	     implies;
 *	  3. as an artifact text, and wrapped as the payload of an artifact:
 *	     when gov_artifact_decode accepts, every claim lies inside the
 *	     payload with the length FORMAT.md gives it, the fields re-encode
 *	     to exactly the payload, the artifact re-encodes to exactly the
 *	     input text, and a refusal is one of the decoder's reasons.
 *
 *	  All buffers are allocated at their exact size so that AddressSanitizer
 *	  sees any read or write past them.  A broken property calls abort().
 *
 *	  Built by contrib/fuzz/run.sh against the pure-C codec only:
 *
 * fuzz-sources: src/artifact_codec.c
 * fuzz-options: -max_len=12288 -timeout=5
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_codec.h"

#define CHECK(cond, what) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_artifact: property broken: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

static const char alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* the decoder's reasons (artifact_codec.c); any other text is a bug */
static const char *const reasons[] = {
	"too long to be an artifact",
	"not an artifact of version gov1",
	"missing signature part",
	"too many parts",
	"signature is not 64 bytes of base64url",
	"payload is not base64url",
	"payload does not start with the artifact tag",
	"payload is truncated",
	"payload has trailing bytes",
	"a claim has the wrong type or length",
	"measurement claim is too long",
	"key id is not lowercase hex",
	"agent key id is not lowercase hex",
};

static size_t
enc_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

/* 1. encode, then decode */
static void
check_roundtrip(const uint8_t *data, size_t size)
{
	size_t		want = enc_len(size);
	char	   *txt = xmalloc(want + 1);
	uint8_t    *back;
	size_t		n;
	long		m;
	size_t		i;

	n = gov_b64url_encode(data, size, txt);
	CHECK(n == want, "encode: length is 4*floor(n/3) + (n%3 ? n%3+1 : 0)");
	CHECK(txt[n] == '\0', "encode: terminated");
	for (i = 0; i < n; i++)
		CHECK(memchr(alphabet, txt[i], 64) != NULL && txt[i] != '\0', "encode: base64url alphabet only");
	CHECK(n % 4 != 1, "encode: never a length of 1 mod 4");

	back = xmalloc(size);
	m = gov_b64url_decode(txt, n, back, size);
	CHECK(m == (long) size, "decode(encode(x)) has the length of x");
	CHECK(size == 0 || memcmp(back, data, size) == 0, "decode(encode(x)) == x");
	free(back);

	if (size > 0)
	{
		/* one byte too little room: refused, and nothing written past it */
		uint8_t    *small = xmalloc(size - 1);

		m = gov_b64url_decode(txt, n, small, size - 1);
		CHECK(m == -1, "decode refuses an output buffer one byte too small");
		free(small);
	}
	free(txt);
}

/* 2. decode text, then encode */
static void
check_decode_text(const uint8_t *data, size_t size)
{
	size_t		cap = (size / 4) * 3 + 3;
	uint8_t    *out = xmalloc(cap);
	char	   *again;
	long		m;

	m = gov_b64url_decode((const char *) data, size, out, cap);
	if (m >= 0)
	{
		CHECK((size_t) m == (size / 4) * 3 + (size % 4 ? size % 4 - 1 : 0),
			  "decode: byte count follows from the text length");
		again = xmalloc(size + 1);
		CHECK(gov_b64url_encode(out, (size_t) m, again) == size, "encode(decode(t)) has the length of t");
		CHECK(memcmp(again, data, size) == 0, "encode(decode(t)) == t: one text per byte string");
		free(again);

		/* exactly enough room also works */
		if (m > 0)
		{
			uint8_t    *exact = xmalloc((size_t) m);

			CHECK(gov_b64url_decode((const char *) data, size, exact, (size_t) m) == m,
				  "decode into a buffer of exactly the needed size");
			CHECK(memcmp(exact, out, (size_t) m) == 0, "same bytes whatever the room");
			free(exact);
		}
	}
	free(out);
}

static void
put_field(uint8_t *p, size_t *pos, const GovClaimField *f)
{
	uint32_t	len = f->isnull ? 0xFFFFFFFFu : f->len;

	p[(*pos)++] = (uint8_t) (len >> 24);
	p[(*pos)++] = (uint8_t) (len >> 16);
	p[(*pos)++] = (uint8_t) (len >> 8);
	p[(*pos)++] = (uint8_t) len;
	if (!f->isnull)
	{
		memcpy(p + *pos, f->p, f->len);
		*pos += f->len;
	}
}

static void
check_claim(const GovArtifactParts *a, int i, int want_len, int nullable)
{
	const GovClaimField *f = &a->claims[i];

	if (f->isnull)
	{
		CHECK(nullable, "a claim that may not be NULL is NULL");
		CHECK(f->p == NULL && f->len == 0, "a NULL claim has no bytes");
		return;
	}
	CHECK(f->p >= a->payload && f->p + f->len <= a->payload + a->payload_len,
		  "a claim lies inside the payload");
	if (want_len >= 0)
		CHECK(f->len == (uint32_t) want_len, "a fixed-length claim has its length");
}

/* 3. an accepted artifact satisfies FORMAT.md section 9 and re-encodes to its text */
static void
check_artifact(const char *txt, size_t len)
{
	uint8_t    *buf = xmalloc(GOV_ARTIFACT_MAX_TEXT);
	GovArtifactParts a;
	const char *err;
	size_t		i;

	err = gov_artifact_decode(txt, len, buf, GOV_ARTIFACT_MAX_TEXT, &a);
	if (err != NULL)
	{
		int			known = 0;

		for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (strcmp(err, reasons[i]) == 0)
				known = 1;
		CHECK(known, "a refusal is one of the decoder's reasons");
		free(buf);
		return;
	}

	CHECK(len <= GOV_ARTIFACT_MAX_TEXT, "accepted text is not too long");
	CHECK(a.payload == buf && a.payload_len > 0 && a.payload_len <= GOV_ARTIFACT_MAX_TEXT,
		  "the payload is inside the caller's buffer");

	check_claim(&a, GOV_CLAIM_KEY_ID, 16, 0);
	check_claim(&a, GOV_CLAIM_LEASE_ID, 16, 0);
	check_claim(&a, GOV_CLAIM_PARENT, 16, 1);
	check_claim(&a, GOV_CLAIM_PRINCIPAL, -1, 0);
	check_claim(&a, GOV_CLAIM_ACTION, -1, 0);
	check_claim(&a, GOV_CLAIM_RESOURCE, -1, 0);
	check_claim(&a, GOV_CLAIM_CONTEXT_HASH, 64, 0);
	check_claim(&a, GOV_CLAIM_POLICY_HASH, 64, 0);
	check_claim(&a, GOV_CLAIM_MEASUREMENT, -1, 1);
	check_claim(&a, GOV_CLAIM_ISSUED_AT, 8, 0);
	check_claim(&a, GOV_CLAIM_EXPIRES_AT, 8, 0);
	check_claim(&a, GOV_CLAIM_MAX_EXPIRY, 8, 0);
	check_claim(&a, GOV_CLAIM_DEPTH, 8, 0);
	for (i = GOV_CLAIM_PRINCIPAL; i <= GOV_CLAIM_RESOURCE; i++)
		CHECK(a.claims[i].len >= 1 && a.claims[i].len <= 255 &&
			  memchr(a.claims[i].p, '\0', a.claims[i].len) == NULL,
			  "a text claim is 1..255 bytes without NUL");
	CHECK(a.claims[GOV_CLAIM_MEASUREMENT].isnull ||
		  a.claims[GOV_CLAIM_MEASUREMENT].len <= GOV_ARTIFACT_MAX_FIELD, "measurement <= 1024 bytes");
	for (i = 0; i < 16; i++)
	{
		uint8_t		c = a.claims[GOV_CLAIM_KEY_ID].p[i];

		CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "the key id is lowercase hex");
	}
	for (i = GOV_CLAIM_ISSUED_AT; i <= GOV_CLAIM_DEPTH; i++)
	{
		int64_t		v = 0;

		CHECK(gov_claim_int64(&a.claims[i], &v), "an 8-byte claim reads as an int64");
	}
	{
		int64_t		v;

		CHECK(!gov_claim_int64(&a.claims[GOV_CLAIM_LEASE_ID], &v), "a 16-byte claim is not an int64");
	}

	/* the fields re-encode to exactly the payload */
	{
		uint8_t    *re = xmalloc(a.payload_len);
		size_t		pos = 0;
		GovClaimField tag;
		size_t		need = 4 + strlen(GOV_ARTIFACT_TAG);

		/* the optional agent key id (section 13) is absent, or 16 bytes */
		int			nclaims = a.claims[GOV_CLAIM_AGENT_KEY_ID].isnull ?
		GOV_NCLAIMS_REQUIRED : GOV_NCLAIMS;

		if (nclaims == GOV_NCLAIMS)
		{
			CHECK(a.claims[GOV_CLAIM_AGENT_KEY_ID].len == 16, "an agent key id is 16 bytes");
			for (i = 0; i < 16; i++)
			{
				uint8_t		c = a.claims[GOV_CLAIM_AGENT_KEY_ID].p[i];

				CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "the agent key id is lowercase hex");
			}
		}
		for (i = 0; i < (size_t) nclaims; i++)
			need += 4 + (a.claims[i].isnull ? 0 : a.claims[i].len);
		CHECK(need == a.payload_len, "tag and 13 claims (14 with an agent key id) make up the whole payload");
		tag.p = (const uint8_t *) GOV_ARTIFACT_TAG;
		tag.len = (uint32_t) strlen(GOV_ARTIFACT_TAG);
		tag.isnull = 0;
		put_field(re, &pos, &tag);
		for (i = 0; i < (size_t) nclaims; i++)
			put_field(re, &pos, &a.claims[i]);
		CHECK(pos == a.payload_len && memcmp(re, a.payload, pos) == 0,
			  "the payload is exactly its fields");
		free(re);
	}

	/* the artifact re-encodes to exactly the input text */
	{
		size_t		plen = strlen(GOV_ARTIFACT_PREFIX);
		size_t		cap = plen + enc_len(a.payload_len) + 1 + enc_len(64) + 1;
		char	   *re = xmalloc(cap);
		size_t		n;

		memcpy(re, GOV_ARTIFACT_PREFIX, plen);
		n = plen + gov_b64url_encode(a.payload, a.payload_len, re + plen);
		re[n++] = '.';
		n += gov_b64url_encode(a.signature, 64, re + n);
		CHECK(n + 1 == cap, "re-encoded artifact length");
		CHECK(n == len && memcmp(re, txt, len) == 0,
			  "an accepted artifact re-encodes to exactly its text");
		free(re);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_roundtrip(data, size);
	check_decode_text(data, size);

	/* the input as an artifact text (an exact-size copy) */
	{
		char	   *txt = xmalloc(size);

		memcpy(txt, data, size);
		check_artifact(txt, size);
		free(txt);
	}

	/*
	 * The input as a payload, wrapped with a signature made of its first
	 * bytes, so that the field parser is reached without the fuzzer having to
	 * learn base64url.
	 */
	if (size <= GOV_ARTIFACT_MAX_TEXT)
	{
		size_t		plen = strlen(GOV_ARTIFACT_PREFIX);
		size_t		n = plen + enc_len(size) + 1 + enc_len(64);
		char	   *txt = xmalloc(n + 1);
		uint8_t		sig[64];
		size_t		pos;

		memset(sig, 0x5a, sizeof(sig));
		memcpy(sig, data, size < 64 ? size : 64);
		memcpy(txt, GOV_ARTIFACT_PREFIX, plen);
		pos = plen + gov_b64url_encode(data, size, txt + plen);
		txt[pos++] = '.';
		pos += gov_b64url_encode(sig, 64, txt + pos);
		CHECK(pos == n, "wrapped length");
		check_artifact(txt, n);

		/* when it decodes, the payload is the input */
		if (n <= GOV_ARTIFACT_MAX_TEXT)
		{
			uint8_t    *buf = xmalloc(GOV_ARTIFACT_MAX_TEXT);
			GovArtifactParts a;

			if (gov_artifact_decode(txt, n, buf, GOV_ARTIFACT_MAX_TEXT, &a) == NULL)
			{
				CHECK(a.payload_len == size && memcmp(a.payload, data, size) == 0,
					  "the decoded payload is the wrapped bytes");
				CHECK(memcmp(a.signature, sig, 64) == 0, "the decoded signature is the wrapped one");
			}
			free(buf);
		}
		free(txt);
	}
	return 0;
}
