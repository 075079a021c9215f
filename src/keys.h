/*-------------------------------------------------------------------------
 *
 * keys.h
 *	  The server's Ed25519 signing key (design decision D3).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_KEYS_H
#define GOV_KEYS_H


#include "crypto.h"
#include "encode.h"

#define GOV_KEY_ID_LEN	16		/* hex characters */

typedef struct GovSignature
{
	uint8		sig[GOV_ED25519_SIG_LEN];
	char		key_id[GOV_KEY_ID_LEN + 1];
} GovSignature;

extern char *gov_key_file;
extern char *gov_key_command;

extern void gov_keys_define_gucs(void);
extern Size gov_keys_shmem_size(void);
extern void gov_keys_shmem_startup(void);

/* Is the signing key usable?  If not, *reason says why (palloc'd). */
extern bool gov_key_available(char **reason);

extern const char *gov_current_key_id(void);
extern bool gov_current_public_key(const char *key_id, uint8 *pk);

/* Sign a message built by the canonical encoder; ERROR if no key. */
extern void gov_sign(GovEnc *msg, GovSignature *out);

/* Key ids are derived from the public key alone (docs/FORMAT.md). */
extern void gov_key_id(const uint8 *pk, char *out);

/* Make sure the current key is in governance.signing_keys. */
extern void gov_keys_sync_table(void);
extern void gov_keys_sync_duty(void);
extern void gov_keys_resync(void);
extern void gov_keys_forget_synced(void);

extern bool gov_lookup_public_key(const char *key_id, uint8 *pk);

#endif							/* GOV_KEYS_H */
