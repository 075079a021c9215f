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

/* Revoke a lease and every live descendant; returns how many ended. */
extern int64 gov_revoke_tree(const pg_uuid_t *id, const char *reason, bool by_enforcer);


#endif							/* GOV_AUTHZ_H */
