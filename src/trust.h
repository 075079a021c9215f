/*-------------------------------------------------------------------------
 *
 * trust.h
 *	  The extension's overall trust state (design decision D7).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_TRUST_H
#define GOV_TRUST_H

#include "postgres.h"

/*
 * Is the system trusted right now?  If not, *why (palloc'd) names the
 * first cause found.  Every authorizing path asks this and refuses on
 * false; every check answers false.
 */
extern bool gov_trusted(char **why);

#endif							/* GOV_TRUST_H */
