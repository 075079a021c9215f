/*-------------------------------------------------------------------------
 *
 * restore.h
 *	  Restoring a dump of a governed database (docs/DESIGN.md, "Backup and
 *	  restore").
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_RESTORE_H
#define GOV_RESTORE_H

#include "worker.h"

/* The workers' gate: wait while a dump is restored, finish it after. */
extern const char *gov_restore_gate(GovWorkerKind kind);

#endif							/* GOV_RESTORE_H */
