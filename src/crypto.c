/*-------------------------------------------------------------------------
 *
 * crypto.c
 *	  SHA3-512, BLAKE2b-512 and Ed25519 verification, and their SQL faces.
 *
 *	  OpenSSL digest contexts are heap objects outside palloc; like
 *	  pgcrypto we hang them off the current ResourceOwner so that a
 *	  transaction abort frees whatever an error left behind.  libsodium's
 *	  BLAKE2b state is a plain struct on the stack and needs no cleanup.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <sodium.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "crypto.h"
#include "common.h"

/* Hash large values in slices so that a cancel request is honoured. */
#define GOV_HASH_SLICE	(1024 * 1024)

struct GovSha3
{
	EVP_MD_CTX *ctx;
	ResourceOwner owner;
	struct GovSha3 *prev;
	struct GovSha3 *next;
};

static GovSha3 *open_sha3 = NULL;
static bool resowner_callback_registered = false;

/*
 * The SHA3-512 implementation, looked up once per backend.  With OpenSSL 3
 * the legacy EVP_sha3_512() object makes every EVP_DigestInit_ex fetch the
 * provider's implementation again (a name lookup under a lock); an
 * explicitly fetched EVP_MD skips that.  Never freed: it lives as long as
 * the process.
 */
static const EVP_MD *
sha3_md(void)
{
	static const EVP_MD *md = NULL;

	if (md == NULL)
	{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
		md = EVP_MD_fetch(NULL, "SHA3-512", NULL);
#else
		md = EVP_sha3_512();
#endif
		if (md == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("SHA3-512 is not available from OpenSSL")));
	}
	return md;
}

static void
sha3_unlink_free(GovSha3 *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		open_sha3 = h->next;
	if (h->next)
		h->next->prev = h->prev;
	EVP_MD_CTX_free(h->ctx);
	pfree(h);
}

static void
sha3_release_callback(ResourceReleasePhase phase, bool isCommit,
					  bool isTopLevel, void *arg)
{
	GovSha3    *h;
	GovSha3    *next;

	if (phase != RESOURCE_RELEASE_AFTER_LOCKS)
		return;

	for (h = open_sha3; h != NULL; h = next)
	{
		next = h->next;
		if (h->owner != CurrentResourceOwner)
			continue;
		if (isCommit)
			elog(WARNING, "governance: SHA3 context leaked at commit");
		sha3_unlink_free(h);
	}
}

GovSha3 *
gov_sha3_begin(void)
{
	GovSha3    *h;
	const EVP_MD *md;

	if (!resowner_callback_registered)
	{
		RegisterResourceReleaseCallback(sha3_release_callback, NULL);
		resowner_callback_registered = true;
	}

	md = sha3_md();
	h = MemoryContextAllocZero(TopMemoryContext, sizeof(GovSha3));
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL)
	{
		pfree(h);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate a SHA3-512 context")));
	}
	if (EVP_DigestInit_ex(h->ctx, md, NULL) != 1)
	{
		EVP_MD_CTX_free(h->ctx);
		pfree(h);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not initialize SHA3-512")));
	}
	h->owner = CurrentResourceOwner;
	h->next = open_sha3;
	if (open_sha3)
		open_sha3->prev = h;
	open_sha3 = h;
	return h;
}

void
gov_sha3_update(GovSha3 *h, const void *data, size_t len)
{
	const uint8 *p = data;

	while (len > 0)
	{
		size_t		n = Min(len, GOV_HASH_SLICE);

		if (EVP_DigestUpdate(h->ctx, p, n) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("could not compute SHA3-512")));
		p += n;
		len -= n;
		if (len > 0)
			CHECK_FOR_INTERRUPTS();
	}
}

void
gov_sha3_finish(GovSha3 *h, uint8 *out)
{
	unsigned int outlen = 0;
	int			rc = EVP_DigestFinal_ex(h->ctx, out, &outlen);

	sha3_unlink_free(h);
	if (rc != 1 || outlen != GOV_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not compute SHA3-512")));
}

/*
 * One-shot hashing of in-memory values, the common case (every ledger row):
 * one context for the life of the backend and the algorithm fetched once.
 * Nothing can raise an error between init and final, so no resource owner
 * is needed; large values take the sliced, interruptible path.
 */
void
gov_sha3_512(const void *data, size_t len, uint8 *out)
{
	static EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md;
	unsigned int outlen = 0;

	if (len > GOV_HASH_SLICE)
	{
		GovSha3    *h = gov_sha3_begin();

		gov_sha3_update(h, data, len);
		gov_sha3_finish(h, out);
		return;
	}
	md = sha3_md();
	if (ctx == NULL)
	{
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not allocate a SHA3-512 context")));
	}
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		EVP_DigestUpdate(ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ctx, out, &outlen) != 1 ||
		outlen != GOV_HASH_LEN)
	{
		EVP_MD_CTX_reset(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not compute SHA3-512")));
	}
}

void
gov_blake2b_512(const void *data, size_t len, uint8 *out)
{
	crypto_generichash_state st;
	const uint8 *p = data;

	crypto_generichash_init(&st, NULL, 0, GOV_HASH_LEN);
	while (len > 0)
	{
		size_t		n = Min(len, GOV_HASH_SLICE);

		crypto_generichash_update(&st, p, n);
		p += n;
		len -= n;
		if (len > 0)
			CHECK_FOR_INTERRUPTS();
	}
	crypto_generichash_final(&st, out, GOV_HASH_LEN);
}

bool
gov_ed25519_verify(const uint8 *sig, const void *msg, size_t len,
				   const uint8 *pk)
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

void
gov_crypto_init(void)
{
	if (sodium_init() < 0)
		ereport(FATAL,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not initialize libsodium")));
}

/*
 * A backend draws GOV_RANDOM_BUF bytes from libsodium at a time (one
 * getrandom() call) and hands them out in order, wiping each byte as it
 * goes, so none is ever handed out twice or left behind.  The buffer
 * belongs to the process that filled it: a child forked from the
 * postmaster after a fill (none is made there, but a fork copies memory)
 * starts afresh, or two backends would issue the same ids.
 */
#define GOV_RANDOM_BUF 256

static uint8 random_buf[GOV_RANDOM_BUF];
static size_t random_used = GOV_RANDOM_BUF;
static pid_t random_pid = 0;

void
gov_random_bytes(void *out, size_t len)
{
	uint8	   *o = (uint8 *) out;

	if (random_pid != MyProcPid)
	{
		sodium_memzero(random_buf, sizeof(random_buf));
		random_used = GOV_RANDOM_BUF;
		random_pid = MyProcPid;
	}
	while (len > 0)
	{
		size_t		n;

		if (random_used == GOV_RANDOM_BUF)
		{
			randombytes_buf(random_buf, GOV_RANDOM_BUF);
			random_used = 0;
		}
		n = Min(len, GOV_RANDOM_BUF - random_used);
		memcpy(o, random_buf + random_used, n);
		sodium_memzero(random_buf + random_used, n);
		random_used += n;
		o += n;
		len -= n;
	}
}

/* ---------------------------------------------------------------------
 * SQL interface
 * ---------------------------------------------------------------------
 */

static bytea *
hash_result(const uint8 *digest)
{
	bytea	   *res = palloc(VARHDRSZ + GOV_HASH_LEN);

	SET_VARSIZE(res, VARHDRSZ + GOV_HASH_LEN);
	memcpy(VARDATA(res), digest, GOV_HASH_LEN);
	return res;
}

PG_FUNCTION_INFO_V1(gov_sql_sha3_512);
Datum
gov_sql_sha3_512(PG_FUNCTION_ARGS)
{
	bytea	   *in;
	uint8		digest[GOV_HASH_LEN];

	GOV_ENTRY();
	in = PG_GETARG_BYTEA_PP(0);
	gov_sha3_512(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), digest);
	PG_RETURN_BYTEA_P(hash_result(digest));
}

PG_FUNCTION_INFO_V1(gov_sql_blake2b_512);
Datum
gov_sql_blake2b_512(PG_FUNCTION_ARGS)
{
	bytea	   *in;
	uint8		digest[GOV_HASH_LEN];

	GOV_ENTRY();
	in = PG_GETARG_BYTEA_PP(0);
	gov_blake2b_512(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), digest);
	PG_RETURN_BYTEA_P(hash_result(digest));
}

/*
 * ed25519_verify(signature, message, public_key)
 *
 * Not strict: a NULL anywhere is "not verified", so that a missing value
 * can never read as a success.  A signature of the wrong length is simply
 * invalid; a public key of the wrong length is a caller error.
 */
PG_FUNCTION_INFO_V1(gov_sql_ed25519_verify);
Datum
gov_sql_ed25519_verify(PG_FUNCTION_ARGS)
{
	bytea	   *sig;
	bytea	   *msg;
	bytea	   *pk;

	GOV_ENTRY();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);

	sig = PG_GETARG_BYTEA_PP(0);
	msg = PG_GETARG_BYTEA_PP(1);
	pk = PG_GETARG_BYTEA_PP(2);

	if (VARSIZE_ANY_EXHDR(pk) != GOV_ED25519_PK_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Ed25519 public key must be %d bytes, not %zu",
						GOV_ED25519_PK_LEN, (size_t) VARSIZE_ANY_EXHDR(pk))));
	if (VARSIZE_ANY_EXHDR(sig) != GOV_ED25519_SIG_LEN)
		PG_RETURN_BOOL(false);

	PG_RETURN_BOOL(gov_ed25519_verify((const uint8 *) VARDATA_ANY(sig),
									  VARDATA_ANY(msg),
									  VARSIZE_ANY_EXHDR(msg),
									  (const uint8 *) VARDATA_ANY(pk)));
}
