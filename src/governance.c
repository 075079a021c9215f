/*-------------------------------------------------------------------------
 *
 * governance.c
 *	  Module entry point: _PG_init, the preload guard, GUCs that belong to
 *	  no single subsystem, and the shared-memory fan-out.
 *
 *	  governance only works when loaded by shared_preload_libraries (D1):
 *	  it needs shared memory for keys, leases and worker liveness, and
 *	  background workers that can only be registered at postmaster start.
 *	  Loaded any other way (CREATE EXTENSION on a server that does not
 *	  preload it), every SQL function refuses with a hint instead of
 *	  half-working.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "attach.h"
#include "authz.h"
#include "crypto.h"
#include "enforcer.h"
#include "events.h"
#include "governance.h"
#include "guard.h"
#include "keys.h"
#include "lease.h"
#include "lease_rows.h"
#include "ledger.h"
#include "policy.h"
#include "pop.h"
#include "query_guard.h"
#include "restore.h"
#include "retention.h"
#include "revoke.h"
#include "seal.h"
#include "stats.h"
#include "trust.h"
#include "verify.h"
#include "worker.h"

PG_MODULE_MAGIC;

#if PG_VERSION_NUM < 160000
void		_PG_init(void);
#endif


static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Subsystems with shared state, in initialisation order. */
static const GovShmemSubsystem gov_subsystems[] = {
	{"keys", gov_keys_shmem_size, NULL, gov_keys_shmem_startup},
	{"workers", gov_worker_shmem_size, NULL, gov_worker_shmem_startup},
	{"ledger", gov_ledger_shmem_size, NULL, gov_ledger_shmem_startup},
	{"trust", gov_trust_shmem_size, NULL, gov_trust_shmem_startup},
	{"policy", gov_policy_shmem_size, NULL, gov_policy_shmem_startup},
	{"leases", gov_lease_shmem_size, gov_lease_request_locks, gov_lease_shmem_startup},
	{"attachments", gov_attach_shmem_size, NULL, gov_attach_shmem_startup},
	{"security events", gov_events_shmem_size, gov_events_request_locks, gov_events_shmem_startup},
	{"revocations", gov_revoke_shmem_size, NULL, gov_revoke_shmem_startup},
	{"stats", gov_stats_shmem_size, NULL, gov_stats_shmem_startup},
};

#define GOV_NUM_SUBSYSTEMS lengthof(gov_subsystems)

static void
gov_shmem_request(void)
{
	Size		total = 0;
	int			i;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	for (i = 0; i < GOV_NUM_SUBSYSTEMS; i++)
	{
		total = add_size(total, gov_subsystems[i].memsize());
		if (gov_subsystems[i].request_locks)
			gov_subsystems[i].request_locks();
	}
	RequestAddinShmemSpace(total);
}

static void
gov_shmem_startup(void)
{
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	for (i = 0; i < GOV_NUM_SUBSYSTEMS; i++)
		gov_subsystems[i].startup();
	LWLockRelease(AddinShmemInitLock);
}

void
_PG_init(void)
{
	/*
	 * Without preloading there is nothing to set up: the SQL functions check
	 * gov_preloaded and refuse.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	gov_crypto_init();

	gov_keys_define_gucs();
	gov_worker_define_gucs();
	gov_ledger_define_gucs();
	gov_seal_define_gucs();
	gov_verify_define_gucs();
	gov_retention_define_gucs();
	gov_policy_define_gucs();
	gov_guard_define_gucs();
	gov_lease_define_gucs();
	gov_attach_define_gucs();
	gov_authz_define_gucs();
	gov_lease_rows_define_gucs();
	gov_revoke_define_gucs();
	gov_pop_define_gucs();
	gov_enforcer_define_gucs();
	gov_trust_define_gucs();
	gov_query_guard_define_gucs();
	MarkGUCPrefixReserved("governance");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = gov_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = gov_shmem_startup;

	gov_revoke_signal_note = gov_attach_note_signal;
	gov_ledger_head_get = gov_lease_chain_head;
	gov_ledger_head_put = gov_lease_set_chain_head;
	gov_attach_install_hooks();
	gov_guard_install_hooks();
	gov_query_guard_install_hooks();
	{
		static const GovWorkerDuty duties[GOV_NUM_WORKERS] = {
			[GOV_WORKER_ENFORCER] = gov_enforcer_duty,
			[GOV_WORKER_SEALER] = gov_sealer_duty,
			[GOV_WORKER_VERIFIER] = gov_verifier_duty,
		};

		gov_workers_register(duties, gov_restore_gate);
	}

	gov_preloaded = true;
}
