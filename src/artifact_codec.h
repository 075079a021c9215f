/*-------------------------------------------------------------------------
 *
 * artifact_codec.h
 *	  Decoding of authorization artifacts (D10), in plain C with no
 *	  PostgreSQL dependency so that contrib/fuzz can fuzz it standalone.
 *
 *	  An artifact is   gov1.<base64url(payload)>.<base64url(signature)>
 *	  with no padding; the payload is a canonical message (docs/FORMAT.md
 *	  section 1) whose first field is the tag "governance.v1.artifact",
 *	  and the signature is Ed25519 over the payload bytes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_ARTIFACT_CODEC_H
#define GOV_ARTIFACT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOV_ARTIFACT_PREFIX		"gov1."
#define GOV_ARTIFACT_TAG		"governance.v1.artifact"
#define GOV_ARTIFACT_MAX_TEXT	8192
#define GOV_ARTIFACT_MAX_FIELD	1024

/* Claims, in payload order after the tag. */
enum
{
	GOV_CLAIM_KEY_ID = 0,
	GOV_CLAIM_LEASE_ID,
	GOV_CLAIM_PARENT,
	GOV_CLAIM_PRINCIPAL,
	GOV_CLAIM_ACTION,
	GOV_CLAIM_RESOURCE,
	GOV_CLAIM_CONTEXT_HASH,
	GOV_CLAIM_POLICY_HASH,
	GOV_CLAIM_MEASUREMENT,
	GOV_CLAIM_ISSUED_AT,
	GOV_CLAIM_EXPIRES_AT,
	GOV_CLAIM_MAX_EXPIRY,
	GOV_CLAIM_DEPTH,
	GOV_CLAIM_AGENT_KEY_ID,		/* optional: only for an agent with a key */
	GOV_NCLAIMS
};

/* claims every artifact has; the agent key id may follow them */
#define GOV_NCLAIMS_REQUIRED	GOV_CLAIM_AGENT_KEY_ID

typedef struct GovClaimField
{
	const uint8_t *p;
	uint32_t	len;
	bool		isnull;
} GovClaimField;

typedef struct GovArtifactParts
{
	uint8_t    *payload;		/* decoded payload, inside the caller's buffer */
	size_t		payload_len;
	uint8_t		signature[64];
	GovClaimField claims[GOV_NCLAIMS];
} GovArtifactParts;

/*
 * Base64url without padding.  encode writes 4*ceil(n/3) chars at most plus
 * a terminator and returns the length; decode returns the number of bytes
 * or -1 for invalid input (bad character, impossible length, non-zero
 * trailing bits) or when it would exceed outcap.
 */
extern size_t gov_b64url_encode(const uint8_t *in, size_t n, char *out);
extern long gov_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outcap);

/* Read a big-endian int64 claim; false if the field is not 8 bytes. */
extern bool gov_claim_int64(const GovClaimField *f, int64_t *v);

/*
 * Split and decode an artifact.  buf must hold GOV_ARTIFACT_MAX_TEXT
 * bytes.  Returns NULL on success, else a static string saying what is
 * wrong.  Checks structure and the length of every claim; it does not
 * check the signature or any meaning.
 */
extern const char *gov_artifact_decode(const char *txt, size_t len,
									   uint8_t *buf, size_t bufcap,
									   GovArtifactParts *out);

#endif							/* GOV_ARTIFACT_CODEC_H */
