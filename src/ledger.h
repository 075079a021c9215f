/*-------------------------------------------------------------------------
 *
 * ledger.h
 *	  The append-only, hash-chained ledger (design decisions D2, D4, D5).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_LEDGER_H
#define GOV_LEDGER_H


#include "crypto.h"
#include "encode.h"
#include "storage/lock.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/*
 * What a ledger event kind is (docs/FORMAT.md, section 5): lower-case ASCII
 * segments [a-z][a-z0-9_-]* joined by single dots, at most GOV_KIND_MAX
 * bytes.  Kinds whose first segment is GOV_KIND_RESERVED are the
 * extension's own and cannot be recorded by anyone else.
 */
#define GOV_KIND_MAX			128
#define GOV_KIND_RESERVED		"governance"

/* NULL when kind is well formed, otherwise why not (a static string) */
extern const char *gov_kind_problem(const char *kind);
extern bool gov_kind_is_reserved(const char *kind);

/*
 * ERROR unless kind is well formed and, unless reserved_ok, outside the
 * reserved namespace: what record() checks before it appends.
 */
extern void gov_ledger_check_kind(const char *kind, bool reserved_ok);

/* One event to append.  Everything but kind and payload may be NULL. */
typedef struct GovEvent
{
	const char *kind;
	const pg_uuid_t *lease_id;	/* the execution this event belongs to */
	const char *principal;
	const char *action;
	const char *resource;
	Jsonb	   *payload;

	/*
	 * For the first event of a delegated execution: the seq of the parent's
	 * event it descends from (0 for none).  Ignored once the execution has
	 * events of its own.
	 */
	int64		parent_seq;

	/*
	 * The first event of an execution whose id was generated in this very
	 * call (authorize, delegate): it can have no earlier event, so the
	 * chain-head lookup is skipped.
	 */
	bool		new_chain;

	/* the extension's own event: exempt from governance.max_payload_size */
	bool		internal;
} GovEvent;

/* A ledger row as stored, enough to recompute its hashes. */
typedef struct GovEventRow
{
	int64		seq;
	TimestampTz at;
	const char *kind;
	const pg_uuid_t *lease_id;
	const char *principal;
	const char *action;
	const char *resource;
	Jsonb	   *payload;
	const char *actor;
	int64		txid;
	bool		has_prev;
	int64		prev_seq;
} GovEventRow;

extern int	gov_max_payload_bytes;

extern void gov_ledger_define_gucs(void);
extern Size gov_ledger_shmem_size(void);
extern void gov_ledger_shmem_startup(void);

/*
 * The chain head cache (ledger.c): where the newest committed event of a
 * lease's chain is kept between transactions.  Set by _PG_init to the
 * shared lease entries (lease.c); NULL: every append looks the head up.
 */
typedef bool (*GovChainHeadGetFn) (const pg_uuid_t *lease_id, Oid ledger,
								   int64 *seq, uint8 *link);
typedef void (*GovChainHeadPutFn) (const pg_uuid_t *lease_id, Oid ledger,
								   int64 seq, const uint8 *link);
extern GovChainHeadGetFn gov_ledger_head_get;
extern GovChainHeadPutFn gov_ledger_head_put;

/* Append an event in the current transaction; returns its seq. */
extern int64 gov_ledger_append(const GovEvent *ev);
extern bool gov_ledger_try_lock_chain(const pg_uuid_t *lease_id);
extern void gov_ledger_chain_locktag(const pg_uuid_t *lease_id, LOCKTAG *tag);

/* Convenience for the extension's own events. */
extern int64 gov_ledger_append_system(const char *kind, const pg_uuid_t *lease_id,
									  Jsonb *payload);

/* Canonical bytes of a row (docs/FORMAT.md) and its hashes. */
extern void gov_event_encode(GovEnc *e, const GovEventRow *row);
extern void gov_event_evidence(const GovEventRow *row, uint8 *evidence);
extern void gov_chain_link(const uint8 *prev_link, const uint8 *evidence, uint8 *out);

/*
 * Sealing horizon: every seq <= the returned value was handed out to a
 * transaction that has ended (committed or aborted), so a fresh snapshot
 * taken afterwards shows exactly the committed rows up to it.  Rows of the
 * calling transaction are never below the horizon.  With wait, first wait
 * for every other transaction holding a seq <= target to end.
 */
extern int64 gov_ledger_horizon(bool wait, int64 target);
extern int64 gov_ledger_last_allocated(void);

/* Set while the extension itself inserts into ledger tables. */
extern bool gov_ledger_writing;

/*
 * Set by prune() (src/retention.c) while it deletes the ledger rows up to
 * gov_ledger_prune_max_seq: the append-only guard lets exactly those go.
 */
extern bool gov_ledger_pruning;
extern int64 gov_ledger_prune_max_seq;

/*
 * The link of the row with this seq, from the ledger or, once the row was
 * pruned, from governance.ledger_anchors.
 */
extern bool gov_ledger_find_link(int64 seq, uint8 *link_out);

/* Let this statement's rows past the append-only guard (src/restore.c). */
extern void gov_ledger_restore_approve(Oid relid);

extern Oid	gov_relid(const char *relname);

#endif							/* GOV_LEDGER_H */
