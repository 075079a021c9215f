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

extern void gov_authz_define_gucs(void);

/* governance.deny_reasons: what a caller that is not an admin is told */
typedef enum GovReasons
{
	GOV_REASONS_SHORT,
	GOV_REASONS_FULL
} GovReasons;
extern int	gov_deny_reasons;



#endif							/* GOV_AUTHZ_H */
