/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  Retention: mark_exported() and prune().
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_RETENTION_H
#define GOV_RETENTION_H

extern int	gov_retention_min_age_s;

extern void gov_retention_define_gucs(void);

/*
 * The newest block whose rows prune() removed, 0 for none.  Caller is in
 * SPI.
 */
extern int64 gov_retention_pruned_through(void);

#endif							/* GOV_RETENTION_H */
