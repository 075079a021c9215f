/*-------------------------------------------------------------------------
 *
 * governance.h
 *	  Definitions shared by every subsystem of the governance extension:
 *	  the preload guard, the shared-memory fan-out and the GUC variables
 *	  that more than one file reads.
 *
 * Each subsystem lives in its own file with its own header; this header
 * only holds what ties them together.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVERNANCE_H
#define GOVERNANCE_H

#include "postgres.h"
#include "fmgr.h"

#define GOV_EXTENSION_NAME	"governance"
#define GOV_SCHEMA_NAME		"governance"

/* Set by _PG_init when loaded through shared_preload_libraries. */
extern bool gov_preloaded;

/* GUCs read by more than one subsystem */
extern char *gov_database;

/*
 * Every SQL-callable entry point calls this first.  Without preloading
 * there is no shared memory, no key and no workers: refuse clearly rather
 * than half-work.
 */
extern void gov_require_preload(void);

#define GOV_ENTRY() gov_require_preload()

/*
 * Shared-memory fan-out.  Each subsystem that keeps state in shared
 * memory exposes a request function (called from shmem_request_hook, adds
 * its size and LWLock tranches) and a startup function (called from
 * shmem_startup_hook under AddinShmemInitLock).  governance.c calls them
 * in the order of this table.
 */
typedef struct GovShmemSubsystem
{
	const char *name;
	Size		(*memsize) (void);
	void		(*request_locks) (void);
	void		(*startup) (void);
} GovShmemSubsystem;

/*
 * Heavyweight locks the extension takes are advisory locktags whose fourth
 * field (the "kind") user advisory locks never use (they use 1 and 2), so
 * pg_advisory_lock() can neither collide with nor forge them.
 */
#define GOV_LOCK_KEY_ROTATION	0x4701
#define GOV_LOCK_CHAIN			0x4702
#define GOV_LOCK_SEAL			0x4703
#define GOV_LOCK_LEASE			0x4704

/* Is the governance extension installed in the current database? */
extern Oid	gov_extension_oid(void);
extern Oid	gov_schema_oid(void);

#endif							/* GOVERNANCE_H */
