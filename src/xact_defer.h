/*-------------------------------------------------------------------------
 *
 * xact_defer.h
 *	  Work deferred to the end of a transaction, savepoint-aware.
 *
 *	  Every subsystem that changes state outside the database (shared
 *	  memory, the key file, this backend's attachments) registers the
 *	  change here instead of keeping its own transaction callbacks, so that
 *	  SAVEPOINT / ROLLBACK TO and PL/pgSQL exception blocks undo it the
 *	  same way everywhere (docs/DESIGN.md, "Transactions").
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_XACT_DEFER_H
#define GOV_XACT_DEFER_H

/*
 * What to do with one deferred change.  Any member may be NULL.
 *
 *	pre_commit	runs before the top-level commit, may raise an error (which
 *				aborts the transaction: the abort member then runs).
 *	commit		runs after the commit is durable and visible; must not
 *				raise an error (it would be promoted to PANIC).
 *	abort		runs when the (sub)transaction that registered the change
 *				aborts, or when the top-level transaction does: undo, or
 *				record what must survive the abort.  Must not raise.
 *	discard		runs after commit or abort, whichever happened, to free
 *				what arg holds outside transaction memory.
 *
 * what names the change for the error that refuses PREPARE TRANSACTION
 * ("cannot PREPARE a transaction that <what>"), prepare_detail its
 * detail; NULL lets it be prepared.
 */
typedef struct GovXactOps
{
	const char *what;
	const char *prepare_detail; /* the refusal's detail, or NULL */
	void		(*pre_commit) (void *arg);
	void		(*commit) (void *arg);
	void		(*abort) (void *arg);
	void		(*discard) (void *arg);
} GovXactOps;

/*
 * Register a change made by the current (sub)transaction.  arg is kept as
 * given (allocate it in TopTransactionContext, or own it and free it in
 * discard).  Changes run in the order they were registered.
 */
extern void gov_xact_defer(const GovXactOps *ops, void *arg);

/*
 * Make the commit of this transaction durable (flushed, and waited for by
 * synchronous standbys) whatever synchronous_commit says: for changes that
 * lower trust (a revocation, a policy, a key rotation), which must not be
 * lost by a crash once acknowledged.
 */
extern void gov_xact_require_durable_commit(void);

/* Has this transaction registered any change not yet applied? */
extern bool gov_xact_has_deferred(void);

#endif							/* GOV_XACT_DEFER_H */
