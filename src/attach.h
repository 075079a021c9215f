/*-------------------------------------------------------------------------
 *
 * attach.h
 *	  The leases this backend is attached to, the checks made against
 *	  them, and the enforcer's signals to backends attached to leases that
 *	  ended (docs/DESIGN.md, "Leases").
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_ATTACH_H
#define GOV_ATTACH_H

#include "lease.h"

/* governance.session_attach: may sessions attach leases for the session? */
extern bool gov_session_attach;
extern void gov_attach_define_gucs(void);

/*
 * The SQLSTATEs of a statement or session governance's enforcer ended
 * (class 57, operator intervention; an implementation-defined subclass),
 * as the client sees them.  Inside the server, for a PL/pgSQL exception
 * handler, they are still query_canceled (57014) and admin_shutdown
 * (57P01): PostgreSQL raises them, and the client's copy is rewritten.
 */
#define GOV_ERRCODE_LEASE_CANCELED		MAKE_SQLSTATE('5','7','L','0','1')
#define GOV_ERRCODE_LEASE_TERMINATED	MAKE_SQLSTATE('5','7','L','0','2')

/* What governance last ended in this session (last_termination()). */
typedef struct GovTermination
{
	TimestampTz at;				/* when the enforcer signalled */
	int			sqlerrcode;
	pg_uuid_t	lease;
	char		message[GOV_REASON_MAX + 128];
} GovTermination;
extern bool gov_last_termination(GovTermination *out);
extern void gov_forget_termination(void);
extern void gov_note_own_termination(const pg_uuid_t *lease, const char *message);

extern Size gov_attach_shmem_size(void);
extern void gov_attach_shmem_startup(void);

/*
 * Attach this backend to a live lease, for the transaction or for the
 * session.  Undone if the (sub)transaction that made it rolls back; a
 * session attachment binds the lease to this session when it commits.
 */
extern void gov_attach(const GovLeaseSnapshot *l, bool session_scope);
extern bool gov_detach(const pg_uuid_t *id);	/* NULL: all */
extern int	gov_attached_count(void);
extern bool gov_attached_lease(int i, pg_uuid_t *id, bool *session_scope);

/*
 * The checks.  A lease is used only on behalf of the role it was issued
 * to: as_role is the role the checking code runs as (GetUserId(), or the
 * owner of the view or rule through which a governed table is read), and
 * an attachment counts only if its lease's role is that role.
 */

/* A live attached lease covering action on resource: its id, or false. */
extern bool gov_attached_covers(Oid as_role, const char *action, const char *resource,
								pg_uuid_t *lease_out);

/* The first live attached lease of as_role, whatever it covers. */
extern bool gov_attached_any_live(Oid as_role, pg_uuid_t *lease_out);

/* Live attached leases of as_role covering action: up to max of them. */
typedef struct GovCover
{
	pg_uuid_t	lease;
	const char *resource;		/* points into this backend's attachment */
} GovCover;
extern int	gov_attached_resources(Oid as_role, const char *action, GovCover *out, int max);

/*
 * The resources the live attached leases of as_role cover for action, in
 * a hashed set: built once (per statement, per execution), then one
 * lookup per row whatever the number of leases or the size of subtrees.
 */
typedef struct GovCoverSet
{
	Oid			role;
	int			n;				/* resources in the set */
	int			only;			/* n == 1: its slot (compared without hashing) */
	uint32		mask;			/* slots - 1 (a power of two) */
	const char **keys;			/* slot: NULL when empty */
	uint32	   *lens;
	uint32	   *hashes;
	int		   *lease;			/* slot: index into leases */
	int			nleases;
	pg_uuid_t  *leases;			/* the leases that went into it */
} GovCoverSet;
extern GovCoverSet *gov_cover_set_build(Oid as_role, const char *action);
extern bool gov_cover_set_lookup(const GovCoverSet *cs, const char *key, uint32 len,
								 pg_uuid_t *lease_out);

/* Is this lease attached, live, and a lease of as_role? */
extern bool gov_attachment_usable(const pg_uuid_t *id, Oid as_role);

/* Does a lease's action match an action argument (shorthand allowed)? */
extern bool gov_action_matches(const char *lease_action, const char *action);

/* A backend attached to a lease, for governance.backend_leases. */
typedef struct GovAttachedBackend
{
	pid_t		pid;
	Oid			dboid;
	pg_uuid_t	lease;
} GovAttachedBackend;

extern void gov_attach_install_hooks(void);

/* revoke() signals a lock holder: the reason for its error report */
extern void gov_attach_note_signal(int procno, pid_t pid, const pg_uuid_t *lease,
								   bool terminate, const char *message);

/* Every (backend, lease) attachment published in shared memory. */
extern GovAttachedBackend *gov_attached_backends(int *n);

/* Is the backend with this process number and pid still running? */
extern bool gov_backend_alive(int procno, pid_t pid);

/*
 * Enforcer: signal every backend attached to a lease that is no longer
 * live (governance.enforcement); returns how many were signalled.
 */
extern int	gov_enforce_attached(int mode);

#define GOV_ENFORCE_OFF			0
#define GOV_ENFORCE_CANCEL		1
#define GOV_ENFORCE_TERMINATE	2

/* The earliest expiry of a live attached lease, or DT_NOEND (enforcer). */
extern TimestampTz gov_attached_next_expiry(TimestampTz now);

#endif							/* GOV_ATTACH_H */
