/*-------------------------------------------------------------------------
 *
 * authz.h
 *	  Authorizations, delegations, heartbeats and revocations: the lease
 *	  lifecycle as seen from SQL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_AUTHZ_H
#define GOV_AUTHZ_H


#include "lease.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

extern int	gov_max_lease_ttl_ms;
extern int	gov_max_delegation_depth;
extern int	gov_max_leases_per_principal;

extern void gov_authz_define_gucs(void);

/*
 * Revoke a lease and every live descendant durably, in this transaction;
 * returns how many ended.  gov_revoke_tree waits for every lock it needs;
 * with a GovRevokeWait (revoke.c), only as long as that allows.
 */
extern int64 gov_revoke_tree(const pg_uuid_t *id, const char *reason, bool by_enforcer);
struct GovRevokeWait;
extern int64 gov_revoke_tree_wait(const pg_uuid_t *id, const char *reason, bool by_enforcer,
								  const struct GovRevokeWait *wait);


#endif							/* GOV_AUTHZ_H */
