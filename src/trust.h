/*-------------------------------------------------------------------------
 *
 * trust.h
 *	  The extension's overall trust state (design decision D7).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_TRUST_H
#define GOV_TRUST_H

/*
 * Is the system trusted right now?  If not, *why (palloc'd) names the
 * first cause found.  Every authorizing path asks this and refuses on
 * false; every check answers false.
 */
extern bool gov_trusted(char **why);
extern bool gov_trusted_cached(void);

/*
 * Record a trust failure (the first reason is kept until an administrator
 * restores trust).  Returns true if this call changed the state, so the
 * caller can ledger it once.
 */
extern bool gov_trust_degrade(const char *why);

/* A degradation seen during recovery, to be ledgered after promotion. */
extern void gov_trust_mark_unledgered(void);
extern char *gov_trust_take_unledgered(void);

/* Has restore_trust() asked the verifier to start over?  Clears the flag. */
extern bool gov_trust_take_reverify_request(void);

extern void gov_trust_ledger_conditions(void);

/* Sessions restoring a dump (src/restore.c): a condition of distrust. */
extern bool gov_trust_restore_register(int *other);
extern int	gov_trust_restore_session(Oid db);
extern uint64 gov_trust_restore_epoch(void);
extern void gov_trust_restore_unfinished(bool unfinished, uint64 epoch);

extern void gov_trust_define_gucs(void);
extern Size gov_trust_shmem_size(void);
extern void gov_trust_shmem_startup(void);

#endif							/* GOV_TRUST_H */
