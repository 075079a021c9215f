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

#include "fmgr.h"

#include "common.h"

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

#endif							/* GOVERNANCE_H */
