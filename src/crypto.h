/*-------------------------------------------------------------------------
 *
 * crypto.h
 *	  Hash and signature primitives (design decision D2).
 *
 *	  SHA3-512 (OpenSSL EVP) for evidence, BLAKE2b-512 (libsodium) for chain
 *	  links, Merkle nodes and block hashes, Ed25519 (libsodium) for every
 *	  signature.  Nothing here chooses what is hashed or signed: that is the
 *	  job of the canonical encoder (encode.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_CRYPTO_H
#define GOV_CRYPTO_H


#define GOV_HASH_LEN		64	/* SHA3-512 and BLAKE2b-512 */
#define GOV_ED25519_PK_LEN	32
#define GOV_ED25519_SK_LEN	64
#define GOV_ED25519_SEED_LEN 32
#define GOV_ED25519_SIG_LEN 64

/*
 * Incremental SHA3-512.  The OpenSSL context is tracked by the current
 * resource owner, so an error between begin and finish (an interrupt while
 * hashing a large value, say) releases it at transaction abort.
 */
typedef struct GovSha3 GovSha3;

extern GovSha3 *gov_sha3_begin(void);
extern void gov_sha3_update(GovSha3 *h, const void *data, size_t len);
extern void gov_sha3_finish(GovSha3 *h, uint8 *out);
extern void gov_sha3_512(const void *data, size_t len, uint8 *out);

extern void gov_blake2b_512(const void *data, size_t len, uint8 *out);

extern bool gov_ed25519_verify(const uint8 *sig, const void *msg, size_t len,
							   const uint8 *pk);

extern void gov_crypto_init(void);

/*
 * Random bytes for identifiers (lease ids): libsodium's CSPRNG, drawn a
 * buffer at a time per backend instead of a system call per id.
 */
extern void gov_random_bytes(void *out, size_t len);

#endif							/* GOV_CRYPTO_H */
