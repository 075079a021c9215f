/*-------------------------------------------------------------------------
 *
 * pop.h
 *	  Proof of possession of an agent's key (docs/FORMAT.md section 13):
 *	  challenge nonces, the check authorize, delegate, heartbeat and
 *	  attach make, and the agent key's rotation and revocation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_POP_H
#define GOV_POP_H

#include "fmgr.h"
#include "utils/uuid.h"

#include "lease_rows.h"
#include "pop_codec.h"

#define GOV_ERRCODE_POP_REFUSED		MAKE_SQLSTATE('2','8','L','0','1')

extern bool gov_require_agent_keys;
extern int	gov_challenge_ttl_ms;
extern int	gov_max_challenges_per_role;

extern void gov_pop_define_gucs(void);

/*
 * The proof the agent registered for principal owes for req, if any:
 * none when the caller is not the agent's role (an admin on its behalf),
 * or the agent has no key and governance.require_agent_keys is off.
 * Otherwise proof (the call's argument, NULL when not given) must be a
 * fresh proof by the agent's key over req, whose nonce it consumes; if
 * not, a governance.pop.refused security event and ERROR 28L01.  Needs
 * SPI.  event_lease: the lease the refusal's event belongs to, or NULL.
 */
extern void gov_pop_check(GovPopRequest *req, const char *principal,
						  const GovAgentRow *agent, text *proof,
						  const pg_uuid_t *event_lease);

/* ERROR unless pk (32 bytes) was never revoked by revoke_agent_key() */
extern void gov_pop_refuse_revoked_key(bytea *pk);

/* the proof argument n of a call, or NULL */
extern text *gov_pop_arg(FunctionCallInfo fcinfo, int n);

#endif							/* GOV_POP_H */
