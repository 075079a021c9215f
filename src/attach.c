/*-------------------------------------------------------------------------
 *
 * attach.c
 *	  The leases this backend is attached to, the checks that row-level
 *	  security, governed writes and record() make against them, and the
 *	  enforcer's signals to backends attached to leases that ended.
 *
 *	  Whose lease
 *	  -----------
 *	  A lease is issued to a principal, and the principal is registered
 *	  for one login role.  attach() lets only that role attach it, and
 *	  every check counts an attachment only while the code that checks
 *	  runs as that role: the current user (GetUserId(), which SET ROLE,
 *	  SECURITY DEFINER functions and triggers change), or, for a governed
 *	  table read through a view or a rule, the owner the rewriter checks
 *	  the table's privileges as (query_guard.c passes it in).  Code running
 *	  as anyone else sees what that role holds, which is usually nothing.
 *
 *	  Locking protocol
 *	  ----------------
 *	  Each backend owns one attachment slot in shared memory (indexed by
 *	  its PGPROC number) listing the ids of the leases it is attached to,
 *	  guarded by the slot's spinlock; the enforcer reads the slots to find
 *	  whom to signal.  Nothing that allocates, reads the clock or can raise
 *	  an error runs while a slot's spinlock is held.  The per-row check
 *	  reads the lease entry's generation without a lock (lease.c).
 *
 *	  Transactions
 *	  ------------
 *	  An attachment made by a (sub)transaction that rolls back is undone
 *	  (xact_defer.c); transaction-scoped attachments end with the top-level
 *	  transaction, session-scoped ones with the session.  detach() is not
 *	  undone by a rollback: giving up access is never rolled back into
 *	  access.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/twophase.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "attach.h"
#include "lease.h"
#include "policy.h"
#include "revoke.h"
#include "xact_defer.h"

#if PG_VERSION_NUM >= 170000
#define GOV_MY_PROCNO		MyProcNumber
#else
#define GOV_MY_PROCNO		(MyProc->pgprocno)
#endif

#define GOV_SIGNAL_REASON_MAX	(GOV_REASON_MAX + 128)

typedef struct GovAttachSlot
{
	slock_t		mutex;
	pid_t		pid;
	Oid			dboid;
	int			n;
	bool		reason_pending;
	bool		reason_terminate;	/* SIGTERM, not SIGINT */
	bool		reason_holder;	/* revoke() ended a lock holder */
	pid_t		reason_pid;		/* the process the reason is for */
	pg_uuid_t	reason_lease;
	TimestampTz signalled_at;
	char		reason[GOV_SIGNAL_REASON_MAX];
} GovAttachSlot;

/*
 * The slots, then for each slot gov_max_attached entries of: the lease
 * ids, whether the enforcer already acted on an attachment, and on which
 * generation of its lease.  An entry belongs to its slot's spinlock.
 */
typedef struct GovAttachShared
{
	int			nslots;
	int			per_slot;		/* gov_max_attached at startup */
	pg_uuid_t  *leases;
	bool	   *signalled;
	uint64	   *signalled_gen;
	GovAttachSlot slots[FLEXIBLE_ARRAY_MEMBER];
} GovAttachShared;

static GovAttachShared *attach_shared = NULL;

#define SLOT_LEASES(i)		(&attach_shared->leases[(Size) (i) * attach_shared->per_slot])
#define SLOT_SIGNALLED(i)	(&attach_shared->signalled[(Size) (i) * attach_shared->per_slot])
#define SLOT_SIGNALLED_GEN(i) (&attach_shared->signalled_gen[(Size) (i) * attach_shared->per_slot])

/* This backend's attachments; the shared slot mirrors the ids. */
typedef struct LocalAttachment
{
	pg_uuid_t	id;
	Oid			role;			/* the role its principal is registered for */
	bool		session_scope;
	uint64		generation;		/* validated generation */
	TimestampTz expires_at;		/* as of that generation */
	GovLease   *entry;			/* where it was, NULL until validated */
	char		action[GOV_UID_MAX];
	char		resource[GOV_UID_MAX];
} LocalAttachment;

static LocalAttachment *attached = NULL;	/* gov_max_attached of them */
static int	nattached = 0;
int			gov_max_attached = GOV_MAX_ATTACHED_DEFAULT;
static bool backend_ready = false;
static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * What the enforcer last ended in this session, for last_termination():
 * kept through the end of the transaction after the one it ended (the
 * caller's next one, where it asks), then forgotten.
 */
static GovTermination last_term;
static bool have_term = false;
static bool term_fresh = false; /* its own transaction has not ended yet */
static bool term_emitted = false;	/* a client was told, with the new
									 * SQLSTATE */
static Oid	term_role = InvalidOid;
static bool term_holder = false;	/* revoke() signalled, as a lock holder */

bool		gov_session_attach = false;

void
gov_attach_define_gucs(void)
{
	DefineCustomBoolVariable("governance.session_attach",
							 "Lets sessions attach leases for the session (attach(..., session => true)).",
							 "Off: only per-transaction attachments, the only safe kind behind a transaction-mode "
							 "connection pooler, where one server session serves many clients in turn. "
							 "Turn it on only for roles whose sessions each serve one client (ALTER ROLE ... SET).",
							 &gov_session_attach,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("governance.max_attached_leases",
							"Leases one session may have attached at once.",
							"Sizes each backend's attachment slot in shared memory; the per-row cost of "
							"row-level security does not grow with it (a hashed set built once per statement).",
							&gov_max_attached,
							GOV_MAX_ATTACHED_DEFAULT, 1, GOV_MAX_ATTACHED_LIMIT,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

static int
total_procs(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

Size
gov_attach_shmem_size(void)
{
	Size		entries = mul_size(total_procs(), gov_max_attached);
	Size		size;

	size = MAXALIGN(add_size(offsetof(GovAttachShared, slots),
							 mul_size(sizeof(GovAttachSlot), total_procs())));
	size = add_size(size, MAXALIGN(mul_size(entries, sizeof(pg_uuid_t))));
	size = add_size(size, MAXALIGN(mul_size(entries, sizeof(uint64))));
	size = add_size(size, MAXALIGN(mul_size(entries, sizeof(bool))));
	return size;
}

void
gov_attach_shmem_startup(void)
{
	bool		found;
	int			i;

	attach_shared = ShmemInitStruct("governance attachment slots",
									gov_attach_shmem_size(), &found);
	if (!found)
	{
		char	   *p;
		Size		entries = mul_size(total_procs(), gov_max_attached);

		attach_shared->nslots = total_procs();
		attach_shared->per_slot = gov_max_attached;
		p = (char *) attach_shared +
			MAXALIGN(offsetof(GovAttachShared, slots) + sizeof(GovAttachSlot) * attach_shared->nslots);
		attach_shared->leases = (pg_uuid_t *) p;
		p += MAXALIGN(entries * sizeof(pg_uuid_t));
		attach_shared->signalled_gen = (uint64 *) p;
		p += MAXALIGN(entries * sizeof(uint64));
		attach_shared->signalled = (bool *) p;
		memset(attach_shared->leases, 0, entries * sizeof(pg_uuid_t));
		memset(attach_shared->signalled_gen, 0, entries * sizeof(uint64));
		memset(attach_shared->signalled, 0, entries * sizeof(bool));
		for (i = 0; i < attach_shared->nslots; i++)
		{
			memset(&attach_shared->slots[i], 0, sizeof(GovAttachSlot));
			SpinLockInit(&attach_shared->slots[i].mutex);
		}
	}
}

static int
my_slotno(void)
{
	int			n = GOV_MY_PROCNO;

	if (n < 0 || n >= attach_shared->nslots)
		elog(ERROR, "governance: process number %d outside the attachment slots", n);
	return n;
}

static GovAttachSlot *
my_slot(void)
{
	return &attach_shared->slots[my_slotno()];
}

/*
 * revoke() is about to signal the backend (procno, pid), which holds a lock
 * it needs: leave the reason for that backend's error report, as the
 * enforcer does (src/revoke.c calls this through gov_revoke_signal_note).
 */
void
gov_attach_note_signal(int procno, pid_t pid, const pg_uuid_t *lease, bool terminate,
					   const char *message)
{
	GovAttachSlot *slot;
	TimestampTz at = GetCurrentTimestamp();

	if (attach_shared == NULL || procno < 0 || procno >= attach_shared->nslots)
		return;

	/*
	 * By process number, whatever the slot's pid: a lock holder may never
	 * have attached anything (a heartbeat() or delegate() holds the lease's
	 * row), and its slot is then unused; reason_pid says whose it is.
	 */
	slot = &attach_shared->slots[procno];
	SpinLockAcquire(&slot->mutex);
	slot->reason_pending = true;
	slot->reason_terminate = terminate;
	slot->reason_holder = true;
	slot->reason_pid = pid;
	slot->reason_lease = *lease;
	slot->signalled_at = at;
	strlcpy(slot->reason, message, sizeof(slot->reason));
	SpinLockRelease(&slot->mutex);
}

GovAttachedBackend *
gov_attached_backends(int *n)
{
	GovAttachedBackend *res = NULL;
	pg_uuid_t  *ids = palloc(sizeof(pg_uuid_t) * attach_shared->per_slot);
	int			cap = 0;
	int			k = 0;
	int			i;

	for (i = 0; i < attach_shared->nslots; i++)
	{
		GovAttachSlot *slot = &attach_shared->slots[i];
		pid_t		pid;
		Oid			dboid;
		int			m;
		int			j;

		SpinLockAcquire(&slot->mutex);
		pid = slot->pid;
		dboid = slot->dboid;
		m = slot->n;
		memcpy(ids, SLOT_LEASES(i), sizeof(pg_uuid_t) * m);
		SpinLockRelease(&slot->mutex);
		if (pid == 0)
			continue;
		for (j = 0; j < m; j++)
		{
			if (k >= cap)
			{
				cap = cap ? cap * 2 : 16;
				res = res ? repalloc(res, sizeof(GovAttachedBackend) * cap) :
					palloc(sizeof(GovAttachedBackend) * cap);
			}
			res[k].pid = pid;
			res[k].dboid = dboid;
			res[k].lease = ids[j];
			k++;
		}
	}
	pfree(ids);
	*n = k;
	return res;
}

bool
gov_backend_alive(int procno, pid_t pid)
{
	GovAttachSlot *slot;
	pid_t		now;

	if (procno < 0 || procno >= attach_shared->nslots)
		return false;
	slot = &attach_shared->slots[procno];
	SpinLockAcquire(&slot->mutex);
	now = slot->pid;
	SpinLockRelease(&slot->mutex);
	return now == pid;
}

static void
publish_attachments(void)
{
	int			slotno = my_slotno();
	GovAttachSlot *slot = &attach_shared->slots[slotno];
	pg_uuid_t  *leases = SLOT_LEASES(slotno);
	int			n = Min(nattached, attach_shared->per_slot);
	int			i;

	SpinLockAcquire(&slot->mutex);
	slot->pid = MyProcPid;
	slot->dboid = MyDatabaseId;
	slot->n = n;
	for (i = 0; i < n; i++)
		leases[i] = attached[i].id;
	memset(SLOT_SIGNALLED(slotno), 0, sizeof(bool) * attach_shared->per_slot);
	memset(SLOT_SIGNALLED_GEN(slotno), 0, sizeof(uint64) * attach_shared->per_slot);
	SpinLockRelease(&slot->mutex);
}

static int
find_attachment(const pg_uuid_t *id)
{
	int			i;

	for (i = 0; i < nattached; i++)
		if (memcmp(&attached[i].id, id, sizeof(pg_uuid_t)) == 0)
			return i;
	return -1;
}

static void
remove_attachment(int k)
{
	int			i;

	for (i = k + 1; i < nattached; i++)
		attached[i - 1] = attached[i];
	nattached--;
}

/* ---------------------------------------------------------------------
 * Transaction ends
 * ---------------------------------------------------------------------
 */

/* Transaction-scoped attachments end with the top-level transaction. */
static void
attach_xact_callback(XactEvent event, void *arg)
{
	int			i;
	int			j = 0;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			break;
		default:
			return;
	}
	if (have_term)
	{
		if (term_fresh)
			term_fresh = false;
		else
			have_term = false;
	}
	if (nattached == 0)
		return;
	for (i = 0; i < nattached; i++)
		if (attached[i].session_scope)
			attached[j++] = attached[i];
	if (j != nattached)
	{
		nattached = j;
		publish_attachments();
	}
}

/* What attach() changed, to undo it if its (sub)transaction rolls back. */
typedef struct AttachChange
{
	pg_uuid_t	id;
	bool		was_new;		/* the lease was not attached before */
	bool		made_session;	/* its scope became the session */
} AttachChange;

static void
attach_change_abort(void *arg)
{
	AttachChange *c = arg;
	int			k = find_attachment(&c->id);

	if (k < 0)
		return;

	/*
	 * At a top-level abort a restored transaction scope would end at once
	 * anyway: drop it, whichever of this callback and the transaction-end one
	 * runs first.
	 */
	if (c->was_new || (c->made_session && !IsSubTransaction()))
		remove_attachment(k);
	else if (c->made_session)
		attached[k].session_scope = false;
	publish_attachments();
}

/* A session attachment binds the lease to this session once it commits. */
static void
attach_change_commit(void *arg)
{
	AttachChange *c = arg;

	if (c->made_session)
		gov_lease_bind_session(&c->id, GOV_MY_PROCNO, MyProcPid);
}

static const GovXactOps attach_change_ops = {
	/* a prepared transaction's attachments just end */
	.what = NULL,
	.commit = attach_change_commit,
	.abort = attach_change_abort,
};

/* ---------------------------------------------------------------------
 * The enforcer's message
 * ---------------------------------------------------------------------
 */

/*
 * Take the reason the enforcer left in this backend's slot before it
 * signalled, if it is recent (a signal to an idle session is ignored by
 * PostgreSQL, and its reason must not stick to a later cancel), into the
 * session's record.
 */
static bool
take_pending_reason(void)
{
	GovAttachSlot *slot = my_slot();
	GovTermination t;
	bool		terminate = false;
	bool		have = false;

	SpinLockAcquire(&slot->mutex);
	if (slot->reason_pending && slot->reason_pid == MyProcPid)
	{
		memcpy(t.message, slot->reason, sizeof(t.message));
		t.at = slot->signalled_at;
		t.lease = slot->reason_lease;
		terminate = slot->reason_terminate;
		term_holder = slot->reason_holder;
		slot->reason_pending = false;
		have = true;
	}
	SpinLockRelease(&slot->mutex);
	if (!have || TimestampDifferenceExceeds(t.at, GetCurrentTimestamp(), 2000))
		return false;
	t.sqlerrcode = terminate ? GOV_ERRCODE_LEASE_TERMINATED : GOV_ERRCODE_LEASE_CANCELED;
	last_term = t;
	have_term = true;
	term_fresh = true;
	term_emitted = false;
	term_role = GetOuterUserId();
	return true;
}

/*
 * Rewrite the cancel or terminate error of a statement the enforcer
 * stopped, so the client learns why and can tell it from a statement
 * timeout or an administrator's cancel: governance's message, and its own
 * SQLSTATE (57L01, 57L02).  emit_log_hook runs in EmitErrorReport, before
 * the error goes to the log and the client, and after every handler inside
 * the server had its chance: PL/pgSQL's exception blocks, which copy the
 * error without emitting it, still see query_canceled (57014) or
 * admin_shutdown (57P01), and a cancel still cannot be caught by WHEN
 * OTHERS.  Nothing after EmitErrorReport reads the code (the transaction
 * abort, the protocol's ErrorResponse, which carries it, and a FATAL's
 * exit do not branch on it).  A handler that caught the cancel and asked
 * last_termination() took the reason; its re-raise is rewritten from the
 * session's record.
 */
static void
attach_emit_log_hook(ErrorData *edata)
{
	bool		terminate;

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);

	/*
	 * Only the cancel and terminate that the enforcer's signal causes: not a
	 * statement timeout, and not a signal it sent to an idle session long ago
	 * (PostgreSQL ignores those).
	 */
	if (attach_shared == NULL || MyProc == NULL || GOV_MY_PROCNO < 0 ||
		GOV_MY_PROCNO >= attach_shared->nslots || edata->message_id == NULL ||
		!((edata->sqlerrcode == ERRCODE_QUERY_CANCELED &&
		   strcmp(edata->message_id, "canceling statement due to user request") == 0) ||
		  (edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN &&
		   strcmp(edata->message_id, "terminating connection due to administrator command") == 0)))
		return;
	terminate = edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN;
	if (!take_pending_reason() &&
		!(have_term && term_fresh && !term_emitted &&
		  !TimestampDifferenceExceeds(last_term.at, GetCurrentTimestamp(), 2000)))
		return;
	{
		MemoryContext old = MemoryContextSwitchTo(ErrorContext);

		edata->message = pstrdup(last_term.message);
		edata->detail = pstrdup(term_holder ?
								"A revocation of the lease stopped this statement: its transaction held a lock the revocation needed." :
								"The governance enforcer stopped this statement because the lease it ran under ended.");
		edata->hint = pstrdup("governance.last_termination() tells what ended it; the lease must be authorized again.");
		MemoryContextSwitchTo(old);
	}
	last_term.sqlerrcode = terminate ? GOV_ERRCODE_LEASE_TERMINATED : GOV_ERRCODE_LEASE_CANCELED;
	edata->sqlerrcode = last_term.sqlerrcode;
	term_emitted = true;
}

bool
gov_last_termination(GovTermination *out)
{
	if (attach_shared != NULL && MyProc != NULL)
		(void) take_pending_reason();
	if (!have_term || term_role != GetOuterUserId())
		return false;
	*out = last_term;
	return true;
}

/*
 * This backend ends its own statement because a lease it read under ended
 * (src/query_guard.c): last_termination() says so, as for the enforcer's
 * cancel; the error that follows carries the SQLSTATE itself.
 */
void
gov_note_own_termination(const pg_uuid_t *lease, const char *message)
{
	last_term.at = GetCurrentTimestamp();
	last_term.sqlerrcode = GOV_ERRCODE_LEASE_CANCELED;
	last_term.lease = *lease;
	strlcpy(last_term.message, message, sizeof(last_term.message));
	have_term = true;
	term_fresh = true;
	term_emitted = true;
	term_holder = false;
	term_role = GetOuterUserId();
}

void
gov_forget_termination(void)
{
	have_term = false;
}

static void
attach_shmem_exit(int code, Datum arg)
{
	GovAttachSlot *slot = my_slot();

	SpinLockAcquire(&slot->mutex);
	slot->pid = 0;
	slot->n = 0;
	slot->reason_pending = false;
	SpinLockRelease(&slot->mutex);
}

static void
init_backend(void)
{
	if (backend_ready)
		return;
	attached = MemoryContextAllocZero(TopMemoryContext,
									  sizeof(LocalAttachment) * gov_max_attached);
	before_shmem_exit(attach_shmem_exit, (Datum) 0);
	backend_ready = true;
}

/*
 * The error-report hook and the transaction callback (which also ends
 * last_termination()'s record) are every process's, from the postmaster
 * on: a backend that revoke() cancels as a lock holder may never have
 * attached.
 */
void
gov_attach_install_hooks(void)
{
	RegisterXactCallback(attach_xact_callback, NULL);
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = attach_emit_log_hook;
}

/* ---------------------------------------------------------------------
 * Attaching
 * ---------------------------------------------------------------------
 */

void
gov_attach(const GovLeaseSnapshot *l, bool session_scope)
{
	int			k;
	LocalAttachment *a;
	AttachChange *c;

	init_backend();
	c = MemoryContextAllocZero(TopTransactionContext, sizeof(AttachChange));
	c->id = l->id;
	k = find_attachment(&l->id);
	if (k < 0)
	{
		if (nattached >= gov_max_attached)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("at most %d leases can be attached at once", gov_max_attached),
					 errdetail("governance.max_attached_leases is %d.", gov_max_attached),
					 errhint("Detach a lease first with governance.detach(lease_id), or raise "
							 "governance.max_attached_leases (takes a restart).")));
		a = &attached[nattached++];
		memset(a, 0, sizeof(*a));
		c->was_new = true;
		c->made_session = session_scope;
	}
	else
	{
		a = &attached[k];
		c->made_session = session_scope && !a->session_scope;
	}
	a->id = l->id;
	a->role = l->role;
	a->session_scope = session_scope || a->session_scope;
	a->generation = 0;
	a->expires_at = l->expires_at;
	a->entry = NULL;			/* the first check validates under the lock */
	strlcpy(a->action, l->action, GOV_UID_MAX);
	strlcpy(a->resource, l->resource, GOV_UID_MAX);
	publish_attachments();
	gov_xact_defer(&attach_change_ops, c);
}

bool
gov_detach(const pg_uuid_t *id)
{
	int			i;
	int			j = 0;
	bool		found = false;

	for (i = 0; i < nattached; i++)
	{
		if (id == NULL || memcmp(&attached[i].id, id, sizeof(pg_uuid_t)) == 0)
			found = true;
		else
			attached[j++] = attached[i];
	}
	nattached = j;
	if (found)
		publish_attachments();
	return found;
}

int
gov_attached_count(void)
{
	return nattached;
}

bool
gov_attached_lease(int i, pg_uuid_t *id, bool *session_scope)
{
	if (i < 0 || i >= nattached)
		return false;
	*id = attached[i].id;
	*session_scope = attached[i].session_scope;
	return true;
}

/* ---------------------------------------------------------------------
 * Checks
 * ---------------------------------------------------------------------
 */

/* The slow path: look the lease up under its partition lock. */
static bool
attachment_live(LocalAttachment *a, TimestampTz now)
{
	GovLeaseSnapshot l;
	GovLease   *entry;

	if (!gov_lease_get_entry(&a->id, &l, &entry) || !gov_lease_is_live(&l, now))
		return false;
	a->entry = entry;
	a->generation = pg_atomic_read_u64(&l.generation);
	a->expires_at = l.expires_at;
	return true;
}

/*
 * Is attachment a still live?  The entry's address was taken under the
 * lock when we last validated; entries never move, so reading its
 * generation is safe, and the cached expiry is trusted only while the
 * generation has not moved.  Anything else goes to the slow path.
 */
static inline bool
fast_live(LocalAttachment *a, TimestampTz now)
{
	if (a->entry != NULL &&
		pg_atomic_read_u64(&a->entry->generation) == a->generation &&
		now < a->expires_at)
		return true;
	return attachment_live(a, now);
}

bool
gov_action_matches(const char *lease_action, const char *action)
{
	static const char prefix[] = "Action::\"";
	size_t		alen;

	if (strstr(action, "::") != NULL)
		return strcmp(lease_action, action) == 0;
	/* shorthand: x means Action::"x" */
	alen = strlen(action);
	return strncmp(lease_action, prefix, sizeof(prefix) - 1) == 0 &&
		strncmp(lease_action + sizeof(prefix) - 1, action, alen) == 0 &&
		lease_action[sizeof(prefix) - 1 + alen] == '"' &&
		lease_action[sizeof(prefix) + alen] == '\0';
}

/*
 * Exact leases first (a comparison); then subtree leases, whose root must
 * contain the resource ("in", a walk up the cached hierarchy: the per-row
 * paths use a GovCoverSet instead).  A membership that cannot be settled
 * is not coverage (fail closed).
 */
bool
gov_attached_covers(Oid as_role, const char *action, const char *resource,
					pg_uuid_t *lease_out)
{
	TimestampTz now;
	int			i;
	bool		subtrees = false;

	if (nattached == 0)
		return false;
	now = GetCurrentTimestamp();
	for (i = 0; i < nattached; i++)
	{
		LocalAttachment *a = &attached[i];

		if (a->role != as_role || !gov_action_matches(a->action, action))
			continue;
		if (strcmp(a->resource, resource) != 0)
		{
			subtrees |= gov_subtree_root(a->resource) != NULL;
			continue;
		}
		if (fast_live(a, now))
		{
			if (lease_out)
				*lease_out = a->id;
			return true;
		}
	}
	for (i = 0; subtrees && i < nattached; i++)
	{
		LocalAttachment *a = &attached[i];
		const char *root = gov_subtree_root(a->resource);
		char	   *error = NULL;

		if (a->role != as_role || root == NULL || !gov_action_matches(a->action, action))
			continue;
		if (gov_policy_entity_in(resource, root, &error) == 1 && fast_live(a, now))
		{
			if (lease_out)
				*lease_out = a->id;
			return true;
		}
	}
	return false;
}

static void
cover_set_add(GovCoverSet *cs, const char *key, int lease)
{
	uint32		len = strlen(key);
	uint32		h = DatumGetUInt32(hash_any((const unsigned char *) key, len));
	uint32		i;

	for (i = h & cs->mask;; i = (i + 1) & cs->mask)
	{
		if (cs->keys[i] == NULL)
			break;
		if (cs->hashes[i] == h && cs->lens[i] == len && memcmp(cs->keys[i], key, len) == 0)
			return;				/* already there: the first lease covers it */
	}
	cs->keys[i] = key;
	cs->lens[i] = len;
	cs->hashes[i] = h;
	cs->lease[i] = lease;
	cs->only = i;
	cs->n++;
}

/*
 * Exact leases go in first, so that a resource an exact lease covers is
 * attributed to it (the ledger's lease of a governed write).  A subtree
 * larger than governance.max_subtree_resources is an error, not a part
 * of it: the statement fails rather than see a truncated set.
 */
GovCoverSet *
gov_cover_set_build(Oid as_role, const char *action)
{
	GovCoverSet *cs = palloc0(sizeof(GovCoverSet));
	TimestampTz now = GetCurrentTimestamp();
	int		   *use = palloc(sizeof(int) * Max(nattached, 1));
	char	 ***sub = palloc0(sizeof(char **) * Max(nattached, 1));
	int		   *nsub = palloc0(sizeof(int) * Max(nattached, 1));
	int			total = 0;
	int			pass;
	int			i;
	uint32		slots = 2;

	cs->role = as_role;
	for (i = 0; i < nattached; i++)
	{
		LocalAttachment *a = &attached[i];

		if (a->role == as_role && gov_action_matches(a->action, action) && fast_live(a, now))
			use[cs->nleases++] = i;
	}
	cs->leases = palloc(sizeof(pg_uuid_t) * Max(cs->nleases, 1));
	for (i = 0; i < cs->nleases; i++)
	{
		LocalAttachment *a = &attached[use[i]];
		const char *root = gov_subtree_root(a->resource);

		cs->leases[i] = a->id;
		total++;
		if (root != NULL)
		{
			char	  **uids;
			int			n = gov_policy_subtree(root, gov_max_subtree_resources - 1, &uids);

			if (n < 0)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("the subtree of lease %s on %s has more than %d resources",
								DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&a->id))),
								root, gov_max_subtree_resources),
						 errdetail("A subtree lease covers its root and every entity within it; the entity "
								   "hierarchy grew beyond governance.max_subtree_resources since it was issued."),
						 errhint("Authorize leases on smaller subtrees, or raise governance.max_subtree_resources.")));
			sub[i] = palloc(sizeof(char *) * Max(n, 1));
			memcpy(sub[i], uids, sizeof(char *) * n);
			nsub[i] = n;
			total += n;
		}
	}
	while (slots < (uint32) total * 2)
		slots <<= 1;
	cs->mask = slots - 1;
	cs->keys = palloc0(sizeof(char *) * slots);
	cs->lens = palloc0(sizeof(uint32) * slots);
	cs->hashes = palloc0(sizeof(uint32) * slots);
	cs->lease = palloc0(sizeof(int) * slots);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < cs->nleases; i++)
		{
			LocalAttachment *a = &attached[use[i]];
			const char *root = gov_subtree_root(a->resource);
			int			k;

			if ((root != NULL) != (pass == 1))
				continue;
			if (root == NULL)
			{
				cover_set_add(cs, pstrdup(a->resource), i);
				continue;
			}
			cover_set_add(cs, pstrdup(root), i);
			for (k = 0; k < nsub[i]; k++)
				cover_set_add(cs, pstrdup(sub[i][k]), i);
		}
	pfree(use);
	pfree(nsub);
	return cs;
}

bool
gov_cover_set_lookup(const GovCoverSet *cs, const char *key, uint32 len, pg_uuid_t *lease_out)
{
	uint32		h;
	uint32		i;

	if (cs->n == 0)
		return false;
	/* the common case, one resource: one comparison, as 0.1's form made */
	if (cs->n == 1)
	{
		i = cs->only;
		if (cs->lens[i] != len || memcmp(cs->keys[i], key, len) != 0)
			return false;
		if (lease_out)
			*lease_out = cs->leases[cs->lease[i]];
		return true;
	}
	h = DatumGetUInt32(hash_any((const unsigned char *) key, len));
	for (i = h & cs->mask; cs->keys[i] != NULL; i = (i + 1) & cs->mask)
		if (cs->hashes[i] == h && cs->lens[i] == len && memcmp(cs->keys[i], key, len) == 0)
		{
			if (lease_out)
				*lease_out = cs->leases[cs->lease[i]];
			return true;
		}
	return false;
}

bool
gov_attached_any_live(Oid as_role, pg_uuid_t *lease_out)
{
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	for (i = 0; i < nattached; i++)
		if (attached[i].role == as_role && fast_live(&attached[i], now))
		{
			if (lease_out)
				*lease_out = attached[i].id;
			return true;
		}
	return false;
}

int
gov_attached_resources(Oid as_role, const char *action, GovCover *out, int max)
{
	TimestampTz now;
	int			i;
	int			n = 0;

	if (nattached == 0)
		return 0;
	now = GetCurrentTimestamp();
	for (i = 0; i < nattached && n < max; i++)
	{
		LocalAttachment *a = &attached[i];

		if (a->role == as_role && gov_action_matches(a->action, action) && fast_live(a, now))
		{
			out[n].lease = a->id;
			out[n].resource = a->resource;
			n++;
		}
	}
	return n;
}

bool
gov_attachment_usable(const pg_uuid_t *id, Oid as_role)
{
	int			k = find_attachment(id);

	return k >= 0 && attached[k].role == as_role &&
		fast_live(&attached[k], GetCurrentTimestamp());
}

/* ---------------------------------------------------------------------
 * Enforcement
 * ---------------------------------------------------------------------
 */

static const char *
state_word(GovLeaseState s)
{
	switch (s)
	{
		case GOV_LEASE_REVOKED:
			return "was revoked";
		case GOV_LEASE_EXPIRED:
			return "expired";
		case GOV_LEASE_PENDING:
			return "was never committed";
		default:
			return "ended";
	}
}

/*
 * Is backend pid running a statement that began at or before "ended"?
 *
 * Only such a statement needs cancelling: one that begins later finds the
 * lease dead when it starts (row-level security shows nothing, writes are
 * refused), and a backend idle between statements has nothing to cancel
 * (PostgreSQL ignores a cancel that arrives while it waits for a command).
 * Signalling those anyway is worse than useless: the signal can land in
 * the next statement the client sends and cancel it for no reason.
 * Unknown (activity tracking off, the backend not found): true, so that
 * the statement is cancelled rather than left running.  Reads the backend
 * status snapshot the caller took, which must be younger than the lease
 * state the caller read: a snapshot from before could show idle a backend
 * that has since begun a statement under a lease still live then.
 */
static bool
running_since_before(pid_t pid, TimestampTz ended)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= n; i++)
	{
#if PG_VERSION_NUM >= 160000
		LocalPgBackendStatus *ls = pgstat_get_local_beentry_by_index(i);
#else
		LocalPgBackendStatus *ls = pgstat_fetch_stat_local_beentry(i);
#endif
		PgBackendStatus *be;

		if (ls == NULL || ls->backendStatus.st_procpid != pid)
			continue;
		be = &ls->backendStatus;
		if (be->st_state == STATE_IDLE || be->st_state == STATE_IDLEINTRANSACTION ||
			be->st_state == STATE_IDLEINTRANSACTION_ABORTED)
			return false;
		if (be->st_state == STATE_RUNNING || be->st_state == STATE_FASTPATH)
			return be->st_activity_start_timestamp <= ended;
		return true;
	}
	return true;
}

/*
 * Is the backend running the statement that revoked leases (revoke.c)?  It
 * ends them before it commits, so that statement began before they ended;
 * it is not stopped for them (its session may be, once it is over).
 */
static bool
running_a_revocation(int procno, pid_t pid)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= n; i++)
	{
#if PG_VERSION_NUM >= 160000
		LocalPgBackendStatus *ls = pgstat_get_local_beentry_by_index(i);
#else
		LocalPgBackendStatus *ls = pgstat_fetch_stat_local_beentry(i);
#endif

		if (ls == NULL || ls->backendStatus.st_procpid != pid)
			continue;
		return (ls->backendStatus.st_state == STATE_RUNNING ||
				ls->backendStatus.st_state == STATE_FASTPATH) &&
			gov_revoke_statement(procno, pid, ls->backendStatus.st_activity_start_timestamp);
	}
	return false;
}

/* A backend attached to a dead lease, found by gov_enforce_attached(). */
typedef struct EnforceCandidate
{
	int			slotno;
	int			k;				/* index of the attachment in the slot */
	pid_t		pid;
	pg_uuid_t	id;
	uint64		generation;		/* of the lease when found dead */
	TimestampTz ended;			/* when it ended */
	char		reason[GOV_SIGNAL_REASON_MAX];
} EnforceCandidate;

/*
 * Signal every backend attached to a lease that is no longer live, once
 * per attachment and lease generation (a lease renewed after it was found
 * dead is watched again): with cancel, only a backend running a statement
 * that began before the lease ended; with terminate, any.  At most one
 * signal per backend per round.  Two passes: find the dead attachments,
 * then (cancel) take one snapshot of the backends' status, younger than
 * every lease state read, and decide.  Returns the number of backends
 * signalled.
 */
int
gov_enforce_attached(int mode)
{
	int			i;
	int			c;
	int			ncand = 0;
	int			signalled = 0;
	TimestampTz now = GetCurrentTimestamp();
	EnforceCandidate *cand = NULL;
	pg_uuid_t  *ids;
	bool	   *done;
	uint64	   *done_gen;

	if (mode == GOV_ENFORCE_OFF)
		return 0;
	ids = palloc(sizeof(pg_uuid_t) * attach_shared->per_slot);
	done = palloc(sizeof(bool) * attach_shared->per_slot);
	done_gen = palloc(sizeof(uint64) * attach_shared->per_slot);

	for (i = 0; i < attach_shared->nslots; i++)
	{
		GovAttachSlot *slot = &attach_shared->slots[i];
		int			n;
		int			k;
		pid_t		pid;

		SpinLockAcquire(&slot->mutex);
		pid = slot->pid;
		n = slot->n;
		memcpy(ids, SLOT_LEASES(i), sizeof(pg_uuid_t) * n);
		memcpy(done, SLOT_SIGNALLED(i), sizeof(bool) * n);
		memcpy(done_gen, SLOT_SIGNALLED_GEN(i), sizeof(uint64) * n);
		SpinLockRelease(&slot->mutex);
		if (pid == 0 || n == 0)
			continue;

		for (k = 0; k < n; k++)
		{
			GovLeaseSnapshot l;
			bool		known;
			uint64		gen;
			EnforceCandidate *e;
			char	   *idtxt;

			known = gov_lease_get(&ids[k], &l);
			gen = known ? pg_atomic_read_u64(&l.generation) : 0;
			if (done[k] && (!known || gen == done_gen[k]))
				continue;
			if (known && gov_lease_is_live(&l, now))
				continue;

			if (cand == NULL)
				cand = palloc(sizeof(EnforceCandidate) * attach_shared->nslots);
			e = &cand[ncand++];
			e->slotno = i;
			e->k = k;
			e->pid = pid;
			e->id = ids[k];
			e->generation = gen;
			e->ended = !known ? now : l.state == GOV_LEASE_LIVE ? l.expires_at : l.ended_at;
			idtxt = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&ids[k])));
			if (!known)
				snprintf(e->reason, sizeof(e->reason), "governance lease %s is no longer live", idtxt);
			else if (l.state == GOV_LEASE_LIVE)
				snprintf(e->reason, sizeof(e->reason), "governance lease %s expired", idtxt);
			else
			{
				/* a policy's words stay in the ledger; see deny_reasons */
				snprintf(e->reason, sizeof(e->reason), "governance lease %s %s%s%s", idtxt,
						 state_word(l.state), l.end_reason[0] ? ": " : "",
						 strncmp(l.end_reason, "policy: ", 8) == 0 ? "policy: denied by policy" : l.end_reason);
			}
			pfree(idtxt);
			break;				/* one signal per backend per round */
		}
	}
	pfree(ids);
	pfree(done);
	pfree(done_gen);
	if (ncand == 0)
		return 0;

	/* the next read of the backends' activity takes a fresh snapshot */
	pgstat_clear_backend_activity_snapshot();
	for (c = 0; c < ncand; c++)
	{
		EnforceCandidate *e = &cand[c];
		GovAttachSlot *slot = &attach_shared->slots[e->slotno];
		char		message[GOV_SIGNAL_REASON_MAX];
		TimestampTz at;
		bool		send;
		bool		current;

		/* left for a later round, not marked done */
		if (running_a_revocation(e->slotno, e->pid))
			continue;
		/* nothing to cancel: mark it done, without a signal */
		send = mode != GOV_ENFORCE_CANCEL || running_since_before(e->pid, e->ended);
		snprintf(message, sizeof(message), "%s %s",
				 mode == GOV_ENFORCE_TERMINATE ? "terminating connection:" : "canceling statement:",
				 e->reason);
		at = GetCurrentTimestamp();

		SpinLockAcquire(&slot->mutex);
		current = slot->pid == e->pid && e->k < slot->n &&
			memcmp(&SLOT_LEASES(e->slotno)[e->k], &e->id, sizeof(pg_uuid_t)) == 0;
		if (current)
		{
			SLOT_SIGNALLED(e->slotno)[e->k] = true;
			SLOT_SIGNALLED_GEN(e->slotno)[e->k] = e->generation;
			if (send)
			{
				slot->reason_pending = true;
				slot->reason_terminate = mode == GOV_ENFORCE_TERMINATE;
				slot->reason_holder = false;
				slot->reason_pid = e->pid;
				slot->reason_lease = e->id;
				slot->signalled_at = at;
				memcpy(slot->reason, message, sizeof(message));
			}
		}
		SpinLockRelease(&slot->mutex);
		if (current && send && kill(e->pid, mode == GOV_ENFORCE_TERMINATE ? SIGTERM : SIGINT) == 0)
			signalled++;
	}
	pgstat_clear_backend_activity_snapshot();
	pfree(cand);
	return signalled;
}

/*
 * The earliest expiry among the live leases backends are attached to (when
 * the enforcer must next look), or DT_NOEND when there is none.  A lease
 * attached after this read wakes the enforcer itself (session.c), so the
 * enforcer sleeps until then and not by rounds.
 */
TimestampTz
gov_attached_next_expiry(TimestampTz now)
{
	TimestampTz next = DT_NOEND;
	pg_uuid_t  *ids = palloc(sizeof(pg_uuid_t) * attach_shared->per_slot);
	int			i;

	for (i = 0; i < attach_shared->nslots; i++)
	{
		GovAttachSlot *slot = &attach_shared->slots[i];
		int			n;
		int			k;

		SpinLockAcquire(&slot->mutex);
		n = slot->pid == 0 ? 0 : slot->n;
		memcpy(ids, SLOT_LEASES(i), sizeof(pg_uuid_t) * n);
		SpinLockRelease(&slot->mutex);
		for (k = 0; k < n; k++)
		{
			GovLeaseSnapshot l;

			if (gov_lease_get(&ids[k], &l) && gov_lease_is_live(&l, now) &&
				l.expires_at < next)
				next = l.expires_at;
		}
	}
	pfree(ids);
	return next;
}
