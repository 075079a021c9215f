/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  DDL guard for the ledger (design decision D4).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_GUARD_H
#define GOV_GUARD_H

extern bool gov_allow_drop;

extern void gov_guard_define_gucs(void);
extern void gov_guard_install_hooks(void);

#endif							/* GOV_GUARD_H */
