/*-------------------------------------------------------------------------
 *
 * query_guard.h
 *	  No statement, cursor or plan outlives or borrows a lease: the
 *	  executor, planner, EXPLAIN and utility hooks (docs/DESIGN.md,
 *	  "Statements and cursors").
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_QUERY_GUARD_H
#define GOV_QUERY_GUARD_H

#include "utils/uuid.h"

extern void gov_query_guard_define_gucs(void);
extern void gov_query_guard_install_hooks(void);

/*
 * A check admitted rows (or a write) under this lease: every query now
 * running depends on it, and so does the cursor they run in, if it is
 * held past its transaction.  From now on they run only while it stays
 * usable.
 */
extern void gov_query_note_lease(const pg_uuid_t *id);

/*
 * Fail held cursors whose leases are no longer usable (after detach(),
 * and at every statement start).
 */
extern void gov_query_guard_sweep(void);

/*
 * Is the function being evaluated part of the client's own top-level
 * statement (the portal's query), rather than of a function, DO block or
 * procedure it called?
 */
extern bool gov_query_is_client_statement(void);

#endif							/* GOV_QUERY_GUARD_H */
