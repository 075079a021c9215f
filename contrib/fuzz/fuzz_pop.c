/*-------------------------------------------------------------------------
 *
 * fuzz_pop.c
 *	  libFuzzer harness for the proof-of-possession codec
 *	  (src/pop_codec.c, docs/FORMAT.md section 13).  Every input is used
 *	  two ways:
 *
 *	  1. as a proof text pop1.<nonce>.<signature>: when
 *	     gov_pop_proof_decode accepts, re-encoding the nonce and signature
 *	     gives exactly the input text; a refusal is one of the decoder's
 *	     reasons, and nothing is read past the input;
 *	  2. as the fields of a request (split at NUL bytes): the message is
 *	     exactly as long as gov_pop_message_size says, its fields parse
 *	     back one by one to the very values (NULL stays NULL), and a buffer
 *	     one byte too small is refused without a write past it.
 *
 *	  Buffers are allocated at their exact size so that AddressSanitizer
 *	  sees any access past them.  A broken property calls abort().
 *
 * fuzz-sources: src/pop_codec.c src/artifact_codec.c
 * fuzz-options: -max_len=4096 -timeout=5
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop_codec.h"

#define CHECK(cond, what) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_pop: property broken: %s\n", what); \
			abort(); \
		} \
	} while (0)

static const char *const reasons[] = {
	"empty proof",
	"proof is too long",
	"proof does not begin with pop1.",
	"proof has no signature part",
	"proof has more than three parts",
	"nonce is not 32 bytes of canonical base64url",
	"signature is not 64 bytes of canonical base64url",
};

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

static void
check_proof(const uint8_t *data, size_t size)
{
	char	   *txt = xmalloc(size);
	uint8_t		nonce[GOV_POP_NONCE_LEN];
	uint8_t		sig[GOV_POP_SIG_LEN];
	const char *err;
	size_t		i;

	memcpy(txt, data, size);
	err = gov_pop_proof_decode(size ? txt : NULL, size, nonce, sig);
	if (err)
	{
		int			known = 0;

		for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (strcmp(err, reasons[i]) == 0)
				known = 1;
		CHECK(known, "a refusal is one of the decoder's reasons");
	}
	else
	{
		char		re[GOV_POP_MAX_TEXT];
		size_t		n = gov_pop_proof_encode(nonce, sig, re);

		CHECK(n < GOV_POP_MAX_TEXT, "a proof text fits its bound");
		CHECK(n == size && memcmp(re, txt, size) == 0, "an accepted proof re-encodes to exactly its text");
	}
	free(txt);
}

/* read one field at *pos of msg; false at the end or on a bad length */
static int
read_field(const uint8_t *msg, size_t len, size_t *pos, const uint8_t **p, uint32_t *flen, int *isnull)
{
	uint32_t	l;

	if (len - *pos < 4)
		return 0;
	l = ((uint32_t) msg[*pos] << 24) | ((uint32_t) msg[*pos + 1] << 16) |
		((uint32_t) msg[*pos + 2] << 8) | msg[*pos + 3];
	*pos += 4;
	*isnull = l == 0xFFFFFFFFu;
	if (*isnull)
	{
		*p = NULL;
		*flen = 0;
		return 1;
	}
	if (l > len - *pos)
		return 0;
	*p = msg + *pos;
	*flen = l;
	*pos += l;
	return 1;
}

static void
expect(const uint8_t *msg, size_t len, size_t *pos, const void *want, size_t wlen, int wnull, const char *what)
{
	const uint8_t *p;
	uint32_t	l;
	int			isnull;

	CHECK(read_field(msg, len, pos, &p, &l, &isnull), what);
	CHECK(isnull == wnull, what);
	if (!wnull)
		CHECK(l == wlen && (wlen == 0 || memcmp(p, want, wlen) == 0), what);
}

static void
check_message(const uint8_t *data, size_t size)
{
	/* up to 6 NUL-terminated strings from the input; absent ones are NULL */
	char	   *copy = xmalloc(size + 1);
	char	   *parts[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
	int			np = 0;
	size_t		i;
	size_t		start = 0;
	uint8_t		hash[GOV_POP_HASH_LEN];
	uint8_t		lease[16];
	uint8_t		newkey[32];
	GovPopRequest r;
	size_t		n;
	uint8_t    *msg;
	size_t		pos = 0;
	uint8_t		be[8];

	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i <= size && np < 6; i++)
		if (copy[i] == '\0')
		{
			parts[np++] = copy + start;
			start = i + 1;
		}
	memset(&r, 0, sizeof(r));
	r.op = (GovPopOp) (size ? data[0] % 6 : 0);
	r.server_key_id = parts[0];
	for (i = 0; i < GOV_POP_NONCE_LEN; i++)
		r.nonce[i] = (uint8_t) (size ? data[i % size] : i);
	r.principal = parts[1];
	r.action = parts[2];
	r.resource = parts[3];
	memset(hash, 0xab, sizeof(hash));
	memset(lease, 0x11, sizeof(lease));
	memset(newkey, 0x22, sizeof(newkey));
	r.context_hash = (size & 1) ? hash : NULL;
	r.has_ttl = (size & 2) != 0;
	r.ttl_us = (int64_t) size * -7919;
	r.lease_id = (size & 4) ? lease : NULL;
	if (parts[4])
	{
		r.measurement = (const uint8_t *) parts[4];
		r.measurement_len = strlen(parts[4]);
	}
	r.artifact_hash = (size & 8) ? hash : NULL;
	r.has_session = (size & 16) != 0;
	r.session = (size & 32) != 0;
	r.new_key = (size & 64) ? newkey : NULL;

	n = gov_pop_message_size(&r);
	CHECK(n > 0, "every request has a message");
	msg = xmalloc(n);
	CHECK(gov_pop_message(&r, msg, n) == n, "the message has the size announced");
	{
		uint8_t    *small = xmalloc(n - 1);

		CHECK(gov_pop_message(&r, small, n - 1) == 0, "a buffer one byte short is refused");
		free(small);
	}

	expect(msg, n, &pos, GOV_POP_TAG, strlen(GOV_POP_TAG), 0, "the tag comes first");
	expect(msg, n, &pos, gov_pop_op_name(r.op), strlen(gov_pop_op_name(r.op)), 0, "operation");
	expect(msg, n, &pos, r.server_key_id, r.server_key_id ? strlen(r.server_key_id) : 0, r.server_key_id == NULL, "server key id");
	expect(msg, n, &pos, r.nonce, GOV_POP_NONCE_LEN, 0, "nonce");
	expect(msg, n, &pos, r.principal, r.principal ? strlen(r.principal) : 0, r.principal == NULL, "principal");
	expect(msg, n, &pos, r.action, r.action ? strlen(r.action) : 0, r.action == NULL, "action");
	expect(msg, n, &pos, r.resource, r.resource ? strlen(r.resource) : 0, r.resource == NULL, "resource");
	expect(msg, n, &pos, hash, GOV_POP_HASH_LEN, r.context_hash == NULL, "context hash");
	for (i = 0; i < 8; i++)
		be[i] = (uint8_t) ((uint64_t) r.ttl_us >> (56 - 8 * i));
	expect(msg, n, &pos, be, 8, !r.has_ttl, "ttl");
	expect(msg, n, &pos, lease, 16, r.lease_id == NULL, "lease id");
	expect(msg, n, &pos, r.measurement, r.measurement_len, r.measurement == NULL, "measurement");
	expect(msg, n, &pos, hash, GOV_POP_HASH_LEN, r.artifact_hash == NULL, "artifact hash");
	memset(be, 0, sizeof(be));
	be[7] = r.session ? 1 : 0;
	expect(msg, n, &pos, be, 8, !r.has_session, "session");
	expect(msg, n, &pos, newkey, 32, r.new_key == NULL, "new key");
	CHECK(pos == n, "nothing follows the last field");
	free(msg);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_proof(data, size);
	check_message(data, size);
	return 0;
}
