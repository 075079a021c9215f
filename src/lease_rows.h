/*-------------------------------------------------------------------------
 *
 * lease_rows.h
 *	  The durable rows of leases and agents (governance.leases,
 *	  governance.agents): read, and locked in the order the "no live
 *	  orphan" rule needs (docs/DESIGN.md, "Invariants").
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_LEASE_ROWS_H
#define GOV_LEASE_ROWS_H

#include "rowio.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* governance.leases, column by column (sql/install/60_leases.sql) */
enum
{
	L_LEASE_ID, L_PARENT_ID, L_ANCESTORS, L_DEPTH, L_PRINCIPAL, L_ACTION, L_RESOURCE,
	L_CONTEXT, L_CONTEXT_HASH, L_MEASUREMENT, L_POLICY_SET_HASH, L_ROLE_OID,
	L_AUTHORIZED_BY, L_ISSUED_AT, L_TTL, L_EXPIRES_AT, L_MAX_EXPIRY, L_STATE,
	L_SESSION_BOUND, L_GENERATION, L_ENDED_AT, L_END_REASON, L_KEY_ID,
	L_ARTIFACT_HASH, L_FIRST_SEQ, L_TENANT, L_NATTS
};

extern int	gov_max_leases_per_principal;
extern bool gov_notify_lease_end_enabled;

extern void gov_lease_rows_define_gucs(void);
extern void gov_leases_open(GovRowIO *io);

typedef struct GovLeaseRow
{
	bool		found;
	bool		live;
	int			depth;
	TimestampTz expires_at;
	TimestampTz max_expiry;
	char	   *principal;
	Datum		ancestors;		/* uuid[] */
	char	   *state;
} GovLeaseRow;

typedef enum GovRowLock
{
	GOV_ROW_NO_LOCK,
	GOV_ROW_SHARE,
	GOV_ROW_UPDATE,
	GOV_ROW_UPDATE_NOWAIT		/* ERRCODE_LOCK_NOT_AVAILABLE if held */
} GovRowLock;

/*
 * Read a lease row, locking it as asked.  Lock order everywhere: ancestors
 * top down, then the lease itself; a row is never locked FOR SHARE and
 * later FOR UPDATE by the same transaction (that upgrade deadlocks).
 */
extern GovLeaseRow gov_lease_row(const pg_uuid_t *id, GovRowLock mode);

/* Lock every ancestor FOR SHARE, top down; false if one is not live. */
extern bool gov_lock_ancestors(Datum ancestors, pg_uuid_t *dead);

typedef struct GovAgentRow
{
	bool		found;
	Oid			role;
	bytea	   *public_key;
	int			lease_limit;	/* its max_leases, or the GUC's */
} GovAgentRow;

/*
 * The revocation channel (README, "The revocation channel"): queue a
 * notification on GOV_LEASE_END_CHANNEL, "<lease id> <state> <reason>", sent
 * when the calling transaction commits and dropped if it (or the
 * subtransaction) rolls back, as NOTIFY is.  Called for every lease whose
 * durable row ends; does nothing when governance.notify_lease_end is off.
 */
#define GOV_LEASE_END_CHANNEL "governance_lease_end"
extern void gov_notify_lease_end(const pg_uuid_t *id, const char *state, const char *reason);

/* The registration of a principal (found false: none). */
extern GovAgentRow gov_agent_row(const char *principal);

#endif							/* GOV_LEASE_ROWS_H */
