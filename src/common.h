/*-------------------------------------------------------------------------
 *
 * common.h
 *	  The bottom layer every other file may use: the preload guard, the
 *	  extension's names, and small helpers with no state of their own
 *	  (docs/DESIGN.md, "Layers").
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_COMMON_H
#define GOV_COMMON_H

#include "fmgr.h"
#include "datatype/timestamp.h"
#include "utils/uuid.h"

#define GOV_EXTENSION_NAME	"governance"
#define GOV_SCHEMA_NAME		"governance"
#define GOV_OWNER_ROLE		"governance_owner"	/* owns governed tables */

/* Set by _PG_init when loaded through shared_preload_libraries. */
extern bool gov_preloaded;

/*
 * Every SQL-callable entry point calls this first.  Without preloading
 * there is no shared memory, no key and no workers: refuse clearly rather
 * than half-work (D1).
 */
extern void gov_require_preload(void);

#define GOV_ENTRY() gov_require_preload()

/*
 * Heavyweight locks the extension takes are advisory locktags whose fourth
 * field (the "kind") user advisory locks never use (they use 1 and 2), so
 * pg_advisory_lock() can neither collide with nor forge them.
 */
#define GOV_LOCK_KEY_ROTATION	0x4701
#define GOV_LOCK_CHAIN			0x4702
#define GOV_LOCK_SEAL			0x4703
#define GOV_LOCK_ROUND			0x4704	/* a worker's round; a restore's start
										 * waits for it */

/* The extension and its schema in the current database, or InvalidOid. */
extern Oid	gov_extension_oid(void);
extern Oid	gov_schema_oid(void);

/* Is the session's role (SET ROLE included) a governance_admin? */
extern bool gov_caller_is_admin(void);

/* A uuid as text (palloc'd). */
extern char *gov_uuid_text(const pg_uuid_t *u);

/* The SQL entry points' arguments and preconditions. */
extern char *gov_caller_name(void); /* the session's role (SET ROLE included) */
extern void gov_require_read_committed(const char *what);
extern void gov_require_primary(const char *what);
extern char *gov_arg_text(FunctionCallInfo fcinfo, int n, const char *what);	/* not NULL, not empty */
extern pg_uuid_t gov_arg_uuid(FunctionCallInfo fcinfo, int n, const char *what);
extern int64 gov_interval_us(Interval *iv); /* saturating */

#endif							/* GOV_COMMON_H */
