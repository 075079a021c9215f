/*-------------------------------------------------------------------------
 *
 * pop_codec.h
 *	  Proof of possession (docs/FORMAT.md section 13): the canonical signed
 *	  request of a key-holding agent and the text of its proof.  Plain C
 *	  with no PostgreSQL dependency, so that contrib/governance-verify,
 *	  an agent-side client and contrib/fuzz link the very same code.
 *
 *	  A proof is   pop1.<base64url(nonce)>.<base64url(signature)>
 *	  and the signature is Ed25519 over the message gov_pop_message()
 *	  builds.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_POP_CODEC_H
#define GOV_POP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOV_POP_PREFIX			"pop1."
#define GOV_POP_TAG				"governance.v1.pop-request"
#define GOV_POP_NONCE_LEN		32
#define GOV_POP_SIG_LEN			64
#define GOV_POP_HASH_LEN		64
#define GOV_POP_MAX_TEXT		256

typedef enum GovPopOp
{
	GOV_POP_AUTHORIZE = 0,
	GOV_POP_DELEGATE,
	GOV_POP_HEARTBEAT,
	GOV_POP_ATTACH,
	GOV_POP_ROTATE_KEY,
	GOV_POP_PRESENT				/* to a downstream service, offline */
} GovPopOp;

/*
 * One request.  Pointers left NULL (has_* false) are encoded as NULL
 * fields; which ones an operation sets is in docs/FORMAT.md.
 */
typedef struct GovPopRequest
{
	GovPopOp	op;
	const char *server_key_id;	/* 16 hex characters */
	uint8_t		nonce[GOV_POP_NONCE_LEN];
	const char *principal;
	const char *action;
	const char *resource;
	const uint8_t *context_hash;	/* GOV_POP_HASH_LEN bytes */
	bool		has_ttl;
	int64_t		ttl_us;
	const uint8_t *lease_id;	/* 16 bytes */
	const uint8_t *measurement;
	size_t		measurement_len;
	const uint8_t *artifact_hash;	/* GOV_POP_HASH_LEN bytes */
	bool		has_session;
	bool		session;
	const uint8_t *new_key;		/* 32 bytes: rotate-key's new public key */
} GovPopRequest;

/* "authorize", ... */
extern const char *gov_pop_op_name(GovPopOp op);

/*
 * Bytes of the signed message; returns its length, or 0 when it would not
 * fit in cap (nothing else can fail).  gov_pop_message_size() is enough.
 */
extern size_t gov_pop_message_size(const GovPopRequest *r);
extern size_t gov_pop_message(const GovPopRequest *r, uint8_t *out, size_t cap);

/*
 * Split and decode a proof text.  Returns NULL on success, else a static
 * string saying what is wrong.  Never reads past len.
 */
extern const char *gov_pop_proof_decode(const char *txt, size_t len,
										uint8_t *nonce, uint8_t *signature);

/* The proof text of nonce and signature; out needs GOV_POP_MAX_TEXT bytes. */
extern size_t gov_pop_proof_encode(const uint8_t *nonce, const uint8_t *signature,
								   char *out);

#endif							/* GOV_POP_CODEC_H */
