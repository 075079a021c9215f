/*-------------------------------------------------------------------------
 *
 * revoke_tree.c
 *	  The durable part of a revocation: in the caller's transaction, lock
 *	  the lease row, read its descendants with a snapshot taken after the
 *	  lock ("no live orphan", docs/DESIGN.md), mark them revoked and ledger
 *	  it; its waits bounded when revoke.c asks (GovRevokeWait).  Shared
 *	  memory learns of it when the transaction commits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/twophase.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/sinvaladt.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "lease_rows.h"
#include "revoke_tree.h"
#include "encode.h"
#include "common.h"
#include "lease.h"
#include "ledger.h"
#include "spi_cache.h"
#include "xact_defer.h"

/* ---------------------------------------------------------------------
 * Revocation
 * ---------------------------------------------------------------------
 */

/*
 * Lock the live rows of a tree (uuid[]) FOR NO KEY UPDATE, waiting for a
 * row only as long as wait allows: all at once those that are free, then
 * one at a time the others, each wait ending with the polite wait (the
 * UPDATE that follows would wait for each in turn, without a bound).
 * Once the polite wait is over, a row that is not free is an error.
 */
static void
lock_tree_bounded(Datum tree, const GovRevokeWait *wait)
{
	int			rc;
	Datum		locked;
	Datum		missing;
	bool		isnull;
	ArrayType  *arr;
	Datum	   *elems;
	int			n;
	int			i;
	Oid			tree_types[] = {UUIDARRAYOID, UUIDARRAYOID};
	Datum		tree_args[] = {tree, (Datum) 0};	/* $2 is set below */

	if (!gov_revoke_may_wait(wait))
	{
		rc = gov_spi_exec("SELECT 1 FROM governance.leases WHERE lease_id = ANY ($1) AND state = 'live'"
						  " FOR NO KEY UPDATE NOWAIT",
						  1, tree_types, tree_args, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not lock the descendants of the lease");
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	rc = gov_spi_exec("SELECT coalesce(array_agg(lease_id), '{}') FROM ("
					  " SELECT lease_id FROM governance.leases WHERE lease_id = ANY ($1) AND state = 'live'"
					  " FOR NO KEY UPDATE SKIP LOCKED) s",
					  1, tree_types, tree_args, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not lock the descendants of the lease");
	locked = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
					   false, -1);
	SPI_freetuptable(SPI_tuptable);
	tree_args[1] = locked;
	rc = gov_spi_exec("SELECT array_agg(lease_id) FROM governance.leases"
					  " WHERE lease_id = ANY ($1) AND state = 'live' AND NOT lease_id = ANY ($2)",
					  2, tree_types, tree_args, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not lock the descendants of the lease");
	missing = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	arr = DatumGetArrayTypePCopy(missing);
	SPI_freetuptable(SPI_tuptable);
	deconstruct_array(arr, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, NULL, &n);
	for (i = 0; i < n; i++)
	{
		bool		may_wait = gov_revoke_may_wait(wait);
		Oid			lease_type[] = {UUIDOID};
		Datum		lease_arg[] = {elems[i]};

		rc = gov_spi_exec(may_wait ?
						  "SELECT 1 FROM governance.leases WHERE lease_id = $1 AND state = 'live'"
						  " FOR NO KEY UPDATE" :
						  "SELECT 1 FROM governance.leases WHERE lease_id = $1 AND state = 'live'"
						  " FOR NO KEY UPDATE NOWAIT",
						  1, lease_type, lease_arg, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not lock the descendants of the lease");
		SPI_freetuptable(SPI_tuptable);
	}
}

int64
gov_revoke_tree(const pg_uuid_t *id, const char *reason, bool by_enforcer)
{
	return gov_revoke_tree_wait(id, reason, by_enforcer, NULL);
}

int64
gov_revoke_tree_wait(const pg_uuid_t *id, const char *reason, bool by_enforcer,
					 const GovRevokeWait *wait)
{
	GovLeaseRow target;
	int			rc;
	uint64		i;
	GovJson		j;
	GovEvent	ev;
	TimestampTz now;
	int64		count;
	Datum		tree;
	bool		tree_null;
	GovLeaseSnapshot shm;
	Oid			id_type[] = {UUIDOID};
	Datum		id_arg[] = {UUIDPGetDatum(id)};
	Oid			update_types[] = {UUIDARRAYOID, TIMESTAMPTZOID, TEXTOID};
	Datum		update_args[3];

	/* an acknowledged revocation survives a crash (synchronous_commit) */
	gov_xact_require_durable_commit();
	target = gov_lease_row(id, wait && !gov_revoke_may_wait(wait) ? GOV_ROW_UPDATE_NOWAIT : GOV_ROW_UPDATE);
	if (!target.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lease %s does not exist", gov_uuid_text(id))));
	if (strcmp(target.state, "live") != 0)
		return 0;

	/*
	 * A new statement: its snapshot follows the lock (see the header).  Two
	 * statements, each of whose plans is linear in the tree whatever the
	 * planner's statistics say: the walk down parent_id (an index scan per
	 * level), then the update by primary key.  One statement that joined the
	 * walk to the update was planned, with statistics taken before a large
	 * tree was built, as a nested loop over every live lease and the whole
	 * tree: 100k descendants took minutes instead of seconds.
	 */
	now = GetCurrentTimestamp();
	rc = gov_spi_exec("WITH RECURSIVE tree AS ("
					  "  SELECT lease_id FROM governance.leases WHERE lease_id = $1"
					  "  UNION ALL"
					  "  SELECT l.lease_id FROM governance.leases l JOIN tree t ON l.parent_id = t.lease_id)"
					  " SELECT array_agg(lease_id) FROM tree",
					  1, id_type, id_arg, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not find the descendants of the lease");
	tree = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &tree_null);
	if (tree_null)
		return 0;
	tree = datumCopy(tree, false, -1);
	SPI_freetuptable(SPI_tuptable);

	/*
	 * Bounded waits (revoke.c).  The tree's rows: first the UPDATE takes
	 * their locks itself, failing rather than waiting (which costs nothing
	 * when nobody holds them); after a failed attempt, they are locked before
	 * it, each wait bounded.
	 */
	if (wait && wait->rows_first)
		lock_tree_bounded(tree, wait);
	else if (wait)
		gov_revoke_dont_wait();
	update_args[0] = tree;
	update_args[1] = TimestampTzGetDatum(now);
	update_args[2] = CStringGetTextDatum(reason);
	rc = gov_spi_exec(" UPDATE governance.leases SET state = 'revoked', ended_at = $2, end_reason = $3"
					  " WHERE lease_id = ANY ($1) AND state = 'live'"
					  " RETURNING lease_id",
					  3, update_types, update_args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not revoke the lease");
	count = (int64) SPI_processed;
	/* the chain lock, for what is left of the polite wait */
	if (wait && !gov_revoke_may_wait(wait) && !gov_ledger_try_lock_chain(id))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not obtain the ledger chain lock of lease %s", gov_uuid_text(id))));

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "reason");
	gj_str(&j, reason);
	gj_key(&j, "by");
	gj_str(&j, by_enforcer ? "enforcer" : gov_caller_name());
	gj_key(&j, "count");
	gj_int(&j, count);
	/* when access ended: earlier than this event if it ended at once */
	if (gov_lease_get(id, &shm) && shm.state == GOV_LEASE_REVOKED && shm.undurable)
	{
		gj_key(&j, "ended_in_shared_memory_at");
		gj_str(&j, gov_iso_timestamp(shm.ended_at));
	}
	gj_key(&j, "ended");
	gj_begin_array(&j);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		pg_uuid_t  *u = DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));

		gov_lease_commit_state(u, GOV_LEASE_REVOKED, reason);
		gov_notify_lease_end(u, "revoked", reason);
		gj_str(&j, gov_uuid_text(u));
	}
	gj_end_array(&j);
	gj_end_object(&j);

	memset(&ev, 0, sizeof(ev));
	ev.kind = "governance.revoke";
	ev.lease_id = id;
	ev.principal = target.principal;
	ev.payload = gj_finish(&j);
	ev.internal = true;			/* the list of ended leases may be long */
	(void) gov_ledger_append(&ev);

	/*
	 * A deferred revocation of these leases (revoke.c) is durable now; $1 is
	 * the tree, as in the UPDATE.
	 */
	if (count > 0 &&
		gov_spi_exec("DELETE FROM governance.revocations_deferred WHERE lease_id = ANY ($1)",
					 1, update_types, update_args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not clear the deferred revocations");
	return count;
}


bool
gov_revoke_tree_try(const pg_uuid_t *id, const char *reason, bool by_enforcer,
					const GovRevokeWait *wait, const char *lock_timeout, int64 *count)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool done = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		int			nest = NewGUCNestLevel();

		if (lock_timeout != NULL)
			(void) set_config_option("lock_timeout", lock_timeout, PGC_SUSET, PGC_S_SESSION,
									 GUC_ACTION_LOCAL, true, 0, false);
		*count = gov_revoke_tree_wait(id, reason, by_enforcer, wait);
		AtEOXact_GUC(true, nest);
		ReleaseCurrentSubTransaction();
		done = true;
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		if (ed->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE &&
			ed->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(ed);
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return done;
}

/* ---------------------------------------------------------------------
 * Lock waits of an attempt (GovRevokeWait, revoke.c)
 * ---------------------------------------------------------------------
 */

int
gov_revoke_ms_until(TimestampTz t)
{
	TimestampTz now = GetCurrentTimestamp();

	return t <= now ? 0 : (int) Min((t - now + 999) / 1000, INT_MAX);
}

static void
set_lock_timeout(int ms)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%dms", Max(ms, 1));
	(void) set_config_option("lock_timeout", buf, PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
gov_revoke_dont_wait(void)
{
	set_lock_timeout(1);
}

bool
gov_revoke_may_wait(const GovRevokeWait *w)
{
	int			polite = gov_revoke_ms_until(w->polite_until);

	/* a relation lock (LOCK TABLE) is waited for up to the deadline */
	set_lock_timeout(polite > 0 ? polite : gov_revoke_ms_until(w->deadline));
	return polite > 0;
}
