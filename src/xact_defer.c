/*-------------------------------------------------------------------------
 *
 * xact_defer.c
 *	  Work deferred to the end of a transaction, savepoint-aware: the one
 *	  place where the extension's changes outside the database (shared
 *	  memory, the key file, attachments) meet COMMIT, ROLLBACK, ROLLBACK
 *	  TO SAVEPOINT, PL/pgSQL exception blocks and PREPARE TRANSACTION.
 *
 *	  Each registered change remembers the transaction nesting level that
 *	  made it.  The list is kept in registration order, and its levels
 *	  never decrease from head to tail: a subtransaction's changes are
 *	  either released into its parent (their level drops to the parent's)
 *	  or aborted (removed) before its parent can register anything new.
 *	  So the changes a subtransaction event concerns are always a suffix of
 *	  the list, and both events walk only that suffix, from the tail.
 *
 *	  The list and its arguments live in TopTransactionContext.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/ilist.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "xact_defer.h"

typedef struct Deferred
{
	dlist_node	node;
	int			level;
	const GovXactOps *ops;
	void	   *arg;
} Deferred;

static dlist_head deferred = DLIST_STATIC_INIT(deferred);
static bool durable_requested = false;
static bool registered = false;

static void
run_discard(Deferred *d)
{
	if (d->ops->discard)
		d->ops->discard(d->arg);
}

/* Forget every change (memory goes with TopTransactionContext). */
static void
reset_all(void)
{
	dlist_init(&deferred);
	durable_requested = false;
}

static void
at_pre_commit(void)
{
	dlist_iter	it;

	/* a pre_commit member may register more changes: they are run too */
	dlist_foreach(it, &deferred)
	{
		Deferred   *d = dlist_container(Deferred, node, it.cur);

		if (d->ops->pre_commit)
			d->ops->pre_commit(d->arg);
	}

	if (durable_requested)
	{
		/*
		 * Flush the commit record before acknowledging it, and wait for
		 * synchronous standbys, whatever the session asked for: set locally,
		 * so the setting outlives no transaction.
		 */
		ForceSyncCommit();
		if (synchronous_commit < SYNCHRONOUS_COMMIT_REMOTE_FLUSH)
			(void) set_config_option("synchronous_commit", "on",
									 PGC_SUSET, PGC_S_SESSION,
									 GUC_ACTION_LOCAL, true, 0, false);
	}
}

static void
at_commit(void)
{
	dlist_iter	it;

	dlist_foreach(it, &deferred)
	{
		Deferred   *d = dlist_container(Deferred, node, it.cur);

		if (d->ops->commit)
			d->ops->commit(d->arg);
		run_discard(d);
	}
	reset_all();
}

/* Undo in the reverse order of the changes. */
static void
abort_down_to(int level)
{
	while (!dlist_is_empty(&deferred))
	{
		Deferred   *d = dlist_container(Deferred, node, dlist_tail_node(&deferred));

		if (d->level < level)
			break;
		dlist_delete(&d->node);
		if (d->ops->abort)
			d->ops->abort(d->arg);
		run_discard(d);
	}
}

static void
defer_xact_callback(XactEvent event, void *arg)
{
	dlist_iter	it;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			at_pre_commit();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			at_commit();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			abort_down_to(0);
			reset_all();
			break;
		case XACT_EVENT_PRE_PREPARE:
			dlist_foreach(it, &deferred)
			{
				Deferred   *d = dlist_container(Deferred, node, it.cur);

				if (d->ops->what)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot PREPARE a transaction that %s", d->ops->what),
							 d->ops->prepare_detail ? errdetail_internal("%s", d->ops->prepare_detail) : 0));
			}
			break;
		case XACT_EVENT_PREPARE:
			/* what is left may be prepared: it is applied now */
			at_commit();
			break;
	}
}

static void
defer_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	dlist_iter	it;

	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			dlist_reverse_foreach(it, &deferred)
			{
				Deferred   *d = dlist_container(Deferred, node, it.cur);

				if (d->level < level)
					break;
				d->level = level - 1;
			}
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			abort_down_to(level);
			break;
		default:
			break;
	}
}

static void
register_callbacks(void)
{
	if (registered)
		return;
	RegisterXactCallback(defer_xact_callback, NULL);
	RegisterSubXactCallback(defer_subxact_callback, NULL);
	registered = true;
}

void
gov_xact_defer(const GovXactOps *ops, void *arg)
{
	Deferred   *d;

	register_callbacks();
	d = MemoryContextAlloc(TopTransactionContext, sizeof(Deferred));
	d->level = GetCurrentTransactionNestLevel();
	d->ops = ops;
	d->arg = arg;
	dlist_push_tail(&deferred, &d->node);
}

void
gov_xact_require_durable_commit(void)
{
	register_callbacks();
	durable_requested = true;
}

bool
gov_xact_has_deferred(void)
{
	return !dlist_is_empty(&deferred);
}
