/*-------------------------------------------------------------------------
 *
 * artifact.h
 *	  Signed authorization artifacts (design decision D10).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_ARTIFACT_H
#define GOV_ARTIFACT_H


#include "crypto.h"
#include "keys.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

typedef struct GovClaims
{
	char		key_id[GOV_KEY_ID_LEN + 1];
	pg_uuid_t	lease_id;
	bool		has_parent;
	pg_uuid_t	parent;
	char	   *principal;
	char	   *action;
	char	   *resource;
	uint8		context_hash[GOV_HASH_LEN];
	uint8		policy_hash[GOV_HASH_LEN];
	bytea	   *measurement;	/* NULL when none was bound */
	TimestampTz issued_at;
	TimestampTz expires_at;
	TimestampTz max_expiry;
	int64		depth;
	bool		has_agent_key;	/* issued to an agent with a key */
	char		agent_key_id[GOV_KEY_ID_LEN + 1];
} GovClaims;

/* Sign claims with the server key (claims->key_id is filled in). */
extern char *gov_artifact_issue(GovClaims *claims);

/*
 * Decode and check an artifact: structure, version, key, expiry (before
 * the signature, which costs more), signature.  Returns NULL and fills
 * claims when all hold; otherwise the reason, with claims filled as far as
 * they could be decoded (*decoded says whether they are well formed).
 * With allow_renewed the claimed first expiry may have passed (a heartbeat
 * may have renewed the lease; the caller then checks the live lease), but
 * never the claimed max expiry.  The caller is in SPI.
 */
extern char *gov_artifact_check(const char *txt, GovClaims *claims, bool *decoded,
								bool allow_renewed);

extern Jsonb *gov_claims_jsonb(const GovClaims *c);

#endif							/* GOV_ARTIFACT_H */
