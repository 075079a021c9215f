/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  Appending events to governance.ledger, the canonical bytes of a row,
 *	  chain links, the append-only guard and the sealing horizon.
 *
 *	  Every event is one row.  At insert the row gets its evidence hash,
 *	  SHA3-512 of its canonical bytes, and its chain link, BLAKE2b-512 over
 *	  the link of the previous event of the same execution (lease) and its
 *	  own evidence.  Events outside any lease have no predecessor: they are
 *	  tied into the record by the sealed block that covers them.
 *
 *	  Locking protocol (D5: appends never serialize commits)
 *	  --------------------------------------------------------
 *	  - seq comes from governance.ledger_seq (CACHE 1, so values are handed
 *	    out in increasing order across backends).  nextval takes the
 *	    sequence's buffer lock for an instant and no lock until commit.
 *	  - Events of one lease take a transaction-scoped advisory lock on that
 *	    lease (GOV_LOCK_CHAIN) before reading the chain head and allocating
 *	    their seq.  Only writers of the same execution share it; when it is
 *	    granted, every earlier writer of the chain has committed or aborted,
 *	    so the head is read with SnapshotSelf (committed rows plus our own,
 *	    aborted subtransactions excluded) and chain order is seq order.
 *	  - Nothing else is locked: unrelated writers never wait for each other
 *	    or for the sealer.
 *
 *	  The chain head cache
 *	  --------------------
 *	  Reading the head from the ledger is an index scan per append.  The
 *	  shared lease entry keeps it instead (gov_ledger_head_get/put, set to
 *	  lease.c by _PG_init): seq and link of the chain's newest committed
 *	  row.  It is written only by the commit callback of a transaction that
 *	  appended to the chain, at XACT_EVENT_COMMIT, which PostgreSQL calls
 *	  after the commit and before it releases the transaction's locks: the
 *	  chain lock is still held, so no other appender can read the entry
 *	  between our commit and the write, and every later holder of the lock
 *	  finds there the newest committed row.  A transaction that aborts
 *	  writes nothing: its rows never were the committed head, and the entry
 *	  still holds the one before them.  Within a transaction the backend's
 *	  own appends take precedence (pending_heads: one entry per lease and
 *	  subtransaction; a savepoint rolled back drops its entries, which had
 *	  their rows and, if the subtransaction took it, the chain lock; a
 *	  released one hands them to its parent).  A head is trusted only if
 *	  it was written in this database for this ledger relation (a
 *	  re-created extension is a new ledger); new and reinstalled entries
 *	  (authorize, the reload after a restart, which rebuilds shared memory)
 *	  hold none, and the first append looks it up in the ledger.  A standby
 *	  never appends, so it never writes one.
 *
 *	  The sealing horizon
 *	  -------------------
 *	  Sequence values are handed out before the transaction that uses them
 *	  commits, and transactions commit out of order, so the sealer must not
 *	  seal past a seq whose transaction may still commit.  Each backend owns
 *	  a slot in shared memory (indexed by its PGPROC number) holding the
 *	  first seq its current transaction allocated.  To allocate, a backend
 *	  first marks its slot ALLOCATING, then calls nextval, then stores the
 *	  value.  The sealer reads the sequence's last value L (under the same
 *	  buffer lock nextval takes) and then the slots: any seq <= L was handed
 *	  out by a nextval that happened before that read, whose backend had
 *	  already marked its slot, so the slot shows ALLOCATING (wait a moment)
 *	  or a value <= that seq, or is empty because the transaction ended.
 *	  The horizon is L, lowered below every pending first seq.  A slot is
 *	  cleared by the commit or abort callback, which PostgreSQL calls after
 *	  ProcArrayEndTransaction(): a snapshot taken after the horizon sees the
 *	  transaction as finished.  PREPARE TRANSACTION is refused for a
 *	  transaction that appended, so no row outlives its backend's slot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "utils/xid8.h"

#include "common.h"
#include "ledger.h"
#include "rowio.h"
#include "worker.h"

#if PG_VERSION_NUM >= 170000
#define GOV_MY_PROCNO		MyProcNumber
#else
#define GOV_MY_PROCNO		(MyProc->pgprocno)
#endif

#define PENDING_NONE		UINT64CONST(0)
#define PENDING_ALLOCATING	PG_UINT64_MAX

typedef struct GovAppendSlot
{
	pg_atomic_uint32 dboid;
	pg_atomic_uint32 xid;		/* top-level xid of the appending transaction */
	pg_atomic_uint64 pending;	/* first seq of the transaction, or a marker */
} GovAppendSlot;

typedef struct GovLedgerShared
{
	int			nslots;
	GovAppendSlot slots[FLEXIBLE_ARRAY_MEMBER];
} GovLedgerShared;

static GovLedgerShared *ledger_shared = NULL;

int			gov_max_payload_bytes = 1024 * 1024;
bool		gov_ledger_writing = false;
bool		gov_allow_restore = false;
bool		gov_ledger_pruning = false;
int64		gov_ledger_prune_max_seq = 0;

/* Backend-local state of the current transaction's appends. */
static bool my_slot_pending = false;
static bool callbacks_registered = false;

GovChainHeadGetFn gov_ledger_head_get = NULL;
GovChainHeadPutFn gov_ledger_head_put = NULL;

/*
 * The chain heads this transaction's appends made (see "The chain head
 * cache" above), in TopTransactionContext; newest last.
 */
typedef struct PendingHead
{
	pg_uuid_t	lease;
	SubTransactionId subid;
	int64		seq;
	uint8		link[GOV_HASH_LEN];
} PendingHead;

static List *pending_heads = NIL;
static Oid	pending_ledger = InvalidOid;

static int
total_procs(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

void
gov_ledger_define_gucs(void)
{
	DefineCustomIntVariable("governance.max_payload_size",
							"Largest payload, in bytes, an event may carry.",
							"Larger payloads are refused with an error and nothing is written.",
							&gov_max_payload_bytes,
							1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("governance.allow_restore",
							 "Lets a superuser load ledger rows and blocks from a dump.",
							 "Only for pg_restore; verify_ledger() checks what was loaded.",
							 &gov_allow_restore,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

Size
gov_ledger_shmem_size(void)
{
	return add_size(offsetof(GovLedgerShared, slots),
					mul_size(sizeof(GovAppendSlot), total_procs()));
}

void
gov_ledger_shmem_startup(void)
{
	bool		found;
	int			i;

	ledger_shared = ShmemInitStruct("governance ledger", gov_ledger_shmem_size(), &found);
	if (!found)
	{
		ledger_shared->nslots = total_procs();
		for (i = 0; i < ledger_shared->nslots; i++)
		{
			pg_atomic_init_u32(&ledger_shared->slots[i].dboid, InvalidOid);
			pg_atomic_init_u32(&ledger_shared->slots[i].xid, InvalidTransactionId);
			pg_atomic_init_u64(&ledger_shared->slots[i].pending, PENDING_NONE);
		}
	}
}

static GovAppendSlot *
my_slot(void)
{
	int			n = GOV_MY_PROCNO;

	if (n < 0 || n >= ledger_shared->nslots)
		elog(ERROR, "governance: process number %d outside the append slots", n);
	return &ledger_shared->slots[n];
}

static void
clear_my_slot(void)
{
	if (my_slot_pending)
	{
		GovAppendSlot *slot = my_slot();

		pg_atomic_write_u64(&slot->pending, PENDING_NONE);
		pg_atomic_write_u32(&slot->xid, InvalidTransactionId);
		my_slot_pending = false;
	}
}

/* This transaction's own newest event of a lease's chain, if any. */
static PendingHead *
pending_head(const pg_uuid_t *lease_id)
{
	int			i;

	for (i = list_length(pending_heads) - 1; i >= 0; i--)
	{
		PendingHead *h = (PendingHead *) list_nth(pending_heads, i);

		if (memcmp(&h->lease, lease_id, sizeof(pg_uuid_t)) == 0)
			return h;
	}
	return NULL;
}

static void
note_pending_head(const pg_uuid_t *lease_id, Oid ledger, int64 seq, const uint8 *link)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	PendingHead *h = pending_head(lease_id);

	if (h == NULL || h->subid != subid)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		h = palloc(sizeof(PendingHead));
		memcpy(&h->lease, lease_id, sizeof(pg_uuid_t));
		h->subid = subid;
		pending_heads = lappend(pending_heads, h);
		MemoryContextSwitchTo(old);
	}
	h->seq = seq;
	memcpy(h->link, link, GOV_HASH_LEN);
	pending_ledger = ledger;
}

/*
 * At commit, with the chain locks still held: the heads this transaction
 * made are the committed ones now.  Only the newest entry of each lease
 * counts (after the subtransactions merged, an older one of the same
 * lease can be left before it).
 */
static void
publish_pending_heads(void)
{
	ListCell   *lc;

	foreach(lc, pending_heads)
	{
		PendingHead *h = (PendingHead *) lfirst(lc);

		if (gov_ledger_head_put != NULL && pending_head(&h->lease) == h)
			gov_ledger_head_put(&h->lease, pending_ledger, h->seq, h->link);
	}
	pending_heads = NIL;
}

static void
ledger_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (pending_heads == NIL)
		return;
	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			/* its rows are gone, and the chain lock too if it took it */
			foreach(lc, pending_heads)
			{
				if (((PendingHead *) lfirst(lc))->subid == mySubid)
					pending_heads = foreach_delete_current(pending_heads, lc);
			}
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			foreach(lc, pending_heads)
			{
				PendingHead *h = (PendingHead *) lfirst(lc);

				if (h->subid == mySubid)
					h->subid = parentSubid;
			}
			break;
		default:
			break;
	}
}

static void
ledger_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
			{
				bool		had_rows = my_slot_pending;

				/*
				 * At commit the chain locks are still held: this
				 * transaction's chain heads are the committed ones now.  An
				 * abort's never were.
				 */
				if (event == XACT_EVENT_COMMIT)
					publish_pending_heads();
				else
					pending_heads = NIL;

				/*
				 * Clear the slot first, then wake the sealer (batched,
				 * governance.seal_delay): woken before the slot is clear, it
				 * could take its horizon below our rows and then sleep a
				 * whole round.  The commit is visible to others by now.  An
				 * abort wakes it too: rows of later commits may be waiting
				 * behind our pending seq, and nobody else would wake it.
				 */
				clear_my_slot();
				gov_ledger_writing = false;
				if (event == XACT_EVENT_ABORT)
					gov_ledger_pruning = false;
				if (had_rows)
					gov_worker_wake_at(GOV_WORKER_SEALER, 0);
			}
			break;
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			pending_heads = NIL;
			clear_my_slot();
			gov_ledger_writing = false;
			gov_ledger_pruning = false;
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (my_slot_pending)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that appended to the governance ledger"),
						 errdetail("A prepared transaction would hold back sealing of the ledger indefinitely.")));
			break;
		case XACT_EVENT_PREPARE:
			pending_heads = NIL;
			break;
		default:
			break;
	}
}

static void
ledger_shmem_exit(int code, Datum arg)
{
	clear_my_slot();
}

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(ledger_xact_callback, NULL);
	RegisterSubXactCallback(ledger_subxact_callback, NULL);
	before_shmem_exit(ledger_shmem_exit, (Datum) 0);
	callbacks_registered = true;
}

/*
 * Relation ids by name, cached: every append needs three of them.  Any
 * relcache invalidation empties the cache (the extension may have been
 * dropped and created again).
 */
#define RELID_CACHE 8
static struct
{
	char		name[NAMEDATALEN];
	Oid			relid;
}			relid_cache[RELID_CACHE];
static int	relid_cached = 0;
static bool relid_callback = false;

static void
relid_cache_inval(Datum arg, Oid relid)
{
	relid_cached = 0;
}

Oid
gov_relid(const char *relname)
{
	Oid			nsp;
	Oid			relid;
	int			i;

	for (i = 0; i < relid_cached; i++)
		if (strcmp(relid_cache[i].name, relname) == 0)
			return relid_cache[i].relid;

	nsp = get_namespace_oid(GOV_SCHEMA_NAME, true);
	relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
	if (OidIsValid(relid))
	{
		if (!relid_callback)
		{
			CacheRegisterRelcacheCallback(relid_cache_inval, (Datum) 0);
			relid_callback = true;
		}
		if (relid_cached < RELID_CACHE)
		{
			strlcpy(relid_cache[relid_cached].name, relname, NAMEDATALEN);
			relid_cache[relid_cached].relid = relid;
			relid_cached++;
		}
	}

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation governance.%s does not exist", relname),
				 errhint("Run CREATE EXTENSION governance in this database.")));
	return relid;
}

/*
 * Hand out the next seq, keeping the horizon protocol described at the top
 * of the file.  The caller has already taken any chain lock.
 */
static int64
allocate_seq(void)
{
	GovAppendSlot *slot = my_slot();
	Oid			seqid = gov_relid("ledger_seq");
	int64		seq;

	register_callbacks();
	if (my_slot_pending)
		return nextval_internal(seqid, false);

	/* the sealer's waits need our xid before it can see our seq */
	pg_atomic_write_u32(&slot->xid, GetTopTransactionId());
	pg_atomic_write_u32(&slot->dboid, MyDatabaseId);
	pg_atomic_write_u64(&slot->pending, PENDING_ALLOCATING);
	my_slot_pending = true;
	pg_memory_barrier();
	PG_TRY();
	{
		seq = nextval_internal(seqid, false);
	}
	PG_CATCH();
	{
		pg_atomic_write_u64(&slot->pending, PENDING_NONE);
		my_slot_pending = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	pg_atomic_write_u64(&slot->pending, (uint64) seq);
	return seq;
}

static Oid
ledger_owner(void)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(gov_relid("ledger")));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for governance.ledger");
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Last value handed out by governance.ledger_seq, read under the buffer
 * lock nextval takes (which orders it against every allocation).  0 when
 * nothing was ever handed out.
 */
int64
gov_ledger_last_allocated(void)
{
	int			rc;
	bool		isnull;
	int64		last;
	bool		called;
	Oid			save_userid;
	int			save_sec;

	/* auditors verify without any right on the sequence: read as its owner */
	SPI_connect();
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(ledger_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		rc = SPI_execute("SELECT last_value, is_called FROM governance.ledger_seq", true, 1);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read governance.ledger_seq");
	last = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	called = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();
	return called ? last : last - 1;
}

int64
gov_ledger_horizon(bool wait, int64 target)
{
	int64		horizon;
	int			me = GOV_MY_PROCNO;
	int			i;

	if (wait)
	{
		bool		waited;

		/*
		 * Wait, like CREATE INDEX CONCURRENTLY, for every other transaction
		 * of this database holding a seq <= target.  A real lock wait, so the
		 * deadlock detector sees a cycle through us.
		 */
		do
		{
			waited = false;
			for (i = 0; i < ledger_shared->nslots; i++)
			{
				GovAppendSlot *slot = &ledger_shared->slots[i];
				uint64		p;
				TransactionId xid;

				if (i == me || pg_atomic_read_u32(&slot->dboid) != MyDatabaseId)
					continue;
				p = pg_atomic_read_u64(&slot->pending);
				if (p == PENDING_NONE || (p != PENDING_ALLOCATING && (int64) p > target))
					continue;
				xid = pg_atomic_read_u32(&slot->xid);
				if (TransactionIdIsValid(xid))
					XactLockTableWait(xid, NULL, NULL, XLTW_None);
				else
					pg_usleep(1000L);
				CHECK_FOR_INTERRUPTS();
				waited = true;
			}
		} while (waited);
	}

	horizon = gov_ledger_last_allocated();
	pg_memory_barrier();

	for (i = 0; i < ledger_shared->nslots; i++)
	{
		GovAppendSlot *slot = &ledger_shared->slots[i];
		uint64		p;

		if (pg_atomic_read_u32(&slot->dboid) != MyDatabaseId)
			continue;
		p = pg_atomic_read_u64(&slot->pending);
		while (p == PENDING_ALLOCATING && i != me)
		{
			/* a backend between marking its slot and nextval: an instant */
			pg_usleep(10L);
			CHECK_FOR_INTERRUPTS();
			p = pg_atomic_read_u64(&slot->pending);
		}
		if (p != PENDING_NONE && p != PENDING_ALLOCATING && (int64) p - 1 < horizon)
			horizon = (int64) p - 1;
	}
	return horizon;
}

/* ---------------------------------------------------------------------
 * Canonical bytes and hashes
 * ---------------------------------------------------------------------
 */

void
gov_event_encode(GovEnc *e, const GovEventRow *row)
{
	gov_enc_init(e, GOV_TAG_EVENT);
	gov_enc_int64(e, row->seq);
	gov_enc_timestamp(e, row->at);
	gov_enc_text(e, row->kind);
	gov_enc_uuid(e, row->lease_id);
	gov_enc_text(e, row->principal);
	gov_enc_text(e, row->action);
	gov_enc_text(e, row->resource);
	gov_enc_jsonb(e, row->payload);
	gov_enc_text(e, row->actor);
	gov_enc_int64(e, row->txid);
	if (row->has_prev)
		gov_enc_int64(e, row->prev_seq);
	else
		gov_enc_null(e);
}

void
gov_event_evidence(const GovEventRow *row, uint8 *evidence)
{
	GovEnc		e;

	gov_event_encode(&e, row);
	gov_sha3_512(e.buf.data, e.buf.len, evidence);
	gov_enc_free(&e);
}

void
gov_chain_link(const uint8 *prev_link, const uint8 *evidence, uint8 *out)
{
	GovEnc		e;

	gov_enc_init(&e, GOV_TAG_LINK);
	if (prev_link)
		gov_enc_bytes(&e, prev_link, GOV_HASH_LEN);
	else
		gov_enc_null(&e);
	gov_enc_bytes(&e, evidence, GOV_HASH_LEN);
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

/* ---------------------------------------------------------------------
 * Chain head lookup
 * ---------------------------------------------------------------------
 */

static void
copy_link(TupleTableSlot *slot, int attno, uint8 *out)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attno, &isnull);
	bytea	   *b;

	if (isnull)
		elog(ERROR, "governance: ledger row without a chain link");
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != GOV_HASH_LEN)
		elog(ERROR, "governance: ledger row with a malformed chain link");
	memcpy(out, VARDATA_ANY(b), GOV_HASH_LEN);
}

#define LEDGER_ATT_SEQ		1
#define LEDGER_ATT_LINK		13
#define LEDGER_NATTS		13
/* governance.ledger_anchors (seq, lease_id, kind, link) */
#define ANCHOR_ATT_LINK		4

/*
 * Find the newest row of a lease (the chain head), or the row with a given
 * seq, in relname (the ledger, or the anchors prune() keeps of the rows it
 * removed: seq first, link at linkatt) with SnapshotSelf.
 */
static bool
find_in(const char *relname, const char *leaseidx, const char *pkidx, int linkatt,
		const pg_uuid_t *lease_id, int64 seq, int64 *seq_out, uint8 *link_out)
{
	Relation	rel;
	Relation	idx;
	IndexScanDesc scan;
	ScanKeyData key;
	TupleTableSlot *slot;
	bool		found = false;

	rel = table_open(gov_relid(relname), AccessShareLock);
	if (lease_id)
	{
		idx = index_open(gov_relid(leaseidx), AccessShareLock);
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(lease_id));
	}
	else
	{
		idx = index_open(gov_relid(pkidx), AccessShareLock);
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(seq));
	}

	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, idx, SnapshotSelf, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;

		*seq_out = DatumGetInt64(slot_getattr(slot, LEDGER_ATT_SEQ, &isnull));
		copy_link(slot, linkatt, link_out);
		found = true;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

/* Does this database have the tables of retention (0.2)? */
static bool
have_anchors(void)
{
	Oid			nsp = get_namespace_oid(GOV_SCHEMA_NAME, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("ledger_anchors", nsp));
}

/*
 * The chain head of a lease, or the row with a given seq: in the ledger,
 * else among the anchors of pruned rows (src/retention.c), so a chain goes
 * on after the rows it started with were pruned.
 */
static bool
find_event(const pg_uuid_t *lease_id, int64 seq, int64 *seq_out, uint8 *link_out)
{
	if (find_in("ledger", "ledger_lease_idx", "ledger_pkey", LEDGER_ATT_LINK,
				lease_id, seq, seq_out, link_out))
		return true;
	return have_anchors() &&
		find_in("ledger_anchors", "ledger_anchors_lease_idx", "ledger_anchors_pkey",
				ANCHOR_ATT_LINK, lease_id, seq, seq_out, link_out);
}

bool
gov_ledger_find_link(int64 seq, uint8 *link_out)
{
	int64		found_seq;

	return find_event(NULL, seq, &found_seq, link_out);
}

/* The lock of a lease's execution chain (an advisory lock tag of ours). */
static void
chain_locktag(const pg_uuid_t *lease_id, LOCKTAG *tag)
{
	uint32		a;
	uint32		b;

	memcpy(&a, lease_id->data, 4);
	memcpy(&b, lease_id->data + 4, 4);
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, a, b, GOV_LOCK_CHAIN);
}

/* The chain lock's tag, for finding who holds it (revoke.c). */
void
gov_ledger_chain_locktag(const pg_uuid_t *lease_id, LOCKTAG *tag)
{
	chain_locktag(lease_id, tag);
}

static void
lock_chain(const pg_uuid_t *lease_id)
{
	LOCKTAG		tag;

	chain_locktag(lease_id, &tag);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * Take the chain lock of a lease's execution if nobody holds it, without
 * waiting; held to the end of the transaction, so this transaction's
 * appends to that chain then need no wait either.  For the enforcer, which
 * must never wait on an agent's open transaction.
 */
bool
gov_ledger_try_lock_chain(const pg_uuid_t *lease_id)
{
	LOCKTAG		tag;

	chain_locktag(lease_id, &tag);
	return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/* ---------------------------------------------------------------------
 * Appending
 * ---------------------------------------------------------------------
 */

static void
check_text_arg(const char *what, const char *s, int maxlen)
{
	size_t		len;

	if (s == NULL)
		return;
	len = strlen(s);
	if (len > (size_t) maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long (%zu bytes, at most %d)", what, len, maxlen)));
}

/* ---------------------------------------------------------------------
 * Event kinds
 * ---------------------------------------------------------------------
 */

/*
 * The grammar is deliberately narrow: a kind is compared as bytes by every
 * reader of the ledger, so anything that could look like a reserved kind
 * without being one (upper case, spaces, a Unicode look-alike of the dot)
 * must not be a kind at all.
 */
const char *
gov_kind_problem(const char *kind)
{
	const char *p = kind;

	if (kind == NULL || kind[0] == '\0')
		return "it is empty";
	if (strlen(kind) > GOV_KIND_MAX)
		return "it is too long";
	for (;;)
	{
		if (*p == '\0' || *p == '.')
			return "it has an empty segment (a leading, trailing or doubled dot)";
		if (*p < 'a' || *p > 'z')
			return "a segment does not begin with a lower-case ASCII letter";
		p++;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			p++;
		if (*p == '\0')
			return NULL;
		if (*p != '.')
			return "it contains a character other than a-z, 0-9, \"_\", \"-\" and the dots between segments";
		p++;
	}
}

/* Is the first segment of a (well-formed) kind the reserved one? */
bool
gov_kind_is_reserved(const char *kind)
{
	size_t		n = strlen(GOV_KIND_RESERVED);

	return strncmp(kind, GOV_KIND_RESERVED, n) == 0 &&
		(kind[n] == '\0' || kind[n] == '.');
}

void
gov_ledger_check_kind(const char *kind, bool reserved_ok)
{
	const char *problem;

	if (kind == NULL || kind[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("event kind must not be NULL or empty")));
	check_text_arg("event kind", kind, GOV_KIND_MAX);
	problem = gov_kind_problem(kind);
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid event kind \"%s\": %s", kind, problem),
				 errhint("A kind is lower-case ASCII segments joined by single dots, each segment a letter followed by letters, digits, \"_\" or \"-\", for example \"tool.call\".")));
	if (!reserved_ok && gov_kind_is_reserved(kind))
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("event kind \"%s\" is reserved", kind),
				 errdetail("Kinds in the \"%s\" namespace are written by the extension only.",
						   GOV_KIND_RESERVED)));
}

static const char *const ledger_columns[LEDGER_NATTS] = {
	"seq", "at", "kind", "lease_id", "principal", "action", "resource",
	"payload", "actor", "txid", "prev_seq", "evidence", "link"
};

/*
 * Insert a ledger row straight into the heap and its indexes (rowio.c): no
 * SQL statement to plan, parse or check privileges for (the extension's own
 * code is the only writer; the append-only guard trigger still fires and
 * lets it through).
 */
static void
insert_row(Datum *values, bool *nulls)
{
	GovRowIO	io;

	gov_rowio_open(&io, gov_relid("ledger"), ledger_columns, LEDGER_NATTS);
	gov_ledger_writing = true;
	PG_TRY();
	{
		gov_rowio_insert(&io, values, nulls);
	}
	PG_FINALLY();
	{
		gov_ledger_writing = false;
	}
	PG_END_TRY();
	gov_rowio_close(&io);
}

int64
gov_ledger_append(const GovEvent *ev)
{
	GovEventRow row;
	uint8		evidence[GOV_HASH_LEN];
	uint8		prev_link[GOV_HASH_LEN];
	uint8		link[GOV_HASH_LEN];
	bool		have_prev = false;
	int64		prev_seq = 0;
	Datum		values[LEDGER_NATTS];
	bool		nulls[LEDGER_NATTS];

	gov_ledger_check_kind(ev->kind, true);
	if (ev->payload == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("event payload must not be NULL"),
				 errhint("Use '{}' for an event without details.")));
	check_text_arg("principal", ev->principal, 1024);
	check_text_arg("action", ev->action, 1024);
	check_text_arg("resource", ev->resource, 1024);
	if (!ev->internal && VARSIZE(ev->payload) > (Size) gov_max_payload_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("event payload is too large (%zu bytes, governance.max_payload_size is %d)",
						(size_t) VARSIZE(ev->payload), gov_max_payload_bytes)));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot append to the governance ledger during recovery")));

	if (ev->lease_id)
	{
		lock_chain(ev->lease_id);
		register_callbacks();
		if (!ev->new_chain)
		{
			PendingHead *mine = pending_head(ev->lease_id);

			/* our own newest event, the cached committed head, the ledger */
			if (mine)
			{
				prev_seq = mine->seq;
				memcpy(prev_link, mine->link, GOV_HASH_LEN);
				have_prev = true;
			}
			else if (gov_ledger_head_get != NULL &&
					 gov_ledger_head_get(ev->lease_id, gov_relid("ledger"), &prev_seq, prev_link))
				have_prev = true;
			else
				have_prev = find_event(ev->lease_id, 0, &prev_seq, prev_link);
		}
		if (!have_prev && ev->parent_seq > 0)
			have_prev = find_event(NULL, ev->parent_seq, &prev_seq, prev_link);
	}

	memset(&row, 0, sizeof(row));
	row.seq = allocate_seq();
	row.at = GetCurrentTimestamp();
	row.kind = ev->kind;
	row.lease_id = ev->lease_id;
	row.principal = ev->principal;
	row.action = ev->action;
	row.resource = ev->resource;
	row.payload = ev->payload;
	row.actor = GetUserNameFromId(GetSessionUserId(), false);
	row.txid = (int64) U64FromFullTransactionId(GetTopFullTransactionId());
	row.has_prev = have_prev;
	row.prev_seq = prev_seq;

	gov_event_evidence(&row, evidence);
	gov_chain_link(have_prev ? prev_link : NULL, evidence, link);

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum(row.seq);
	values[1] = TimestampTzGetDatum(row.at);
	values[2] = CStringGetTextDatum(row.kind);
	if (row.lease_id)
		values[3] = UUIDPGetDatum(row.lease_id);
	else
		nulls[3] = true;
#define TEXT_OR_NULL(i, s) \
	do { if (s) values[i] = CStringGetTextDatum(s); else nulls[i] = true; } while (0)
	TEXT_OR_NULL(4, row.principal);
	TEXT_OR_NULL(5, row.action);
	TEXT_OR_NULL(6, row.resource);
#undef TEXT_OR_NULL
	values[7] = JsonbPGetDatum(row.payload);
	values[8] = CStringGetTextDatum(row.actor);
	values[9] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	if (have_prev)
		values[10] = Int64GetDatum(prev_seq);
	else
		nulls[10] = true;
	values[11] = gov_bytea_datum(evidence, GOV_HASH_LEN);
	values[12] = gov_bytea_datum(link, GOV_HASH_LEN);

	insert_row(values, nulls);
	if (ev->lease_id)
		note_pending_head(ev->lease_id, gov_relid("ledger"), row.seq, link);
	return row.seq;
}

int64
gov_ledger_append_system(const char *kind, const pg_uuid_t *lease_id, Jsonb *payload)
{
	GovEvent	ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.lease_id = lease_id;
	ev.payload = payload;
	ev.internal = true;
	return gov_ledger_append(&ev);
}

/* ---------------------------------------------------------------------
 * Append-only guard
 * ---------------------------------------------------------------------
 */

/*
 * A restore's COPY into the ledger or its blocks (src/restore.c, which
 * checked who and where): its rows pass the guard below, for this one
 * statement only.
 */
static Oid	restore_relid = InvalidOid;
static LocalTransactionId restore_lxid = InvalidLocalTransactionId;
static CommandId restore_cid = InvalidCommandId;

void
gov_ledger_restore_approve(Oid relid)
{
	restore_relid = relid;
	restore_lxid = MyProc->lxid;
	restore_cid = GetCurrentCommandId(false);
}

static bool
restore_approved(Oid relid)
{
	return OidIsValid(restore_relid) && relid == restore_relid &&
		MyProc->lxid == restore_lxid && GetCurrentCommandId(false) == restore_cid;
}

/*
 * BEFORE INSERT OR UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement)
 * on governance.ledger and governance.ledger_blocks, ENABLE ALWAYS so that
 * session_replication_role does not switch it off.  Inserts pass only while
 * the extension itself writes, or while a superuser restores a dump with
 * governance.allow_restore on.
 */
PG_FUNCTION_INFO_V1(gov_ledger_guard);
Datum
gov_ledger_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *relname;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("governance ledger guard must be called as a trigger")));
	relname = RelationGetRelationName(td->tg_relation);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		if (gov_ledger_writing || gov_allow_restore ||
			restore_approved(RelationGetRelid(td->tg_relation)))
			return PointerGetDatum(td->tg_trigtuple);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("governance.%s is append-only through the extension", relname),
				 errhint("Use governance.record() to append an event; a dump is restored with pg_restore "
						 "or psql by a superuser into a database where the extension was just created.")));
	}

	/*
	 * prune() (src/retention.c) deletes the rows of archived blocks: only
	 * while it runs, only from the ledger, only up to its last seq.
	 */
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) && TRIGGER_FIRED_FOR_ROW(td->tg_event) &&
		gov_ledger_pruning && RelationGetRelid(td->tg_relation) == gov_relid("ledger"))
	{
		bool		isnull;
		Datum		seq = heap_getattr(td->tg_trigtuple, LEDGER_ATT_SEQ,
									   RelationGetDescr(td->tg_relation), &isnull);

		if (!isnull && DatumGetInt64(seq) <= gov_ledger_prune_max_seq)
			return PointerGetDatum(td->tg_trigtuple);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("governance.%s is append-only: %s is not allowed", relname,
					TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? "UPDATE" :
					TRIGGER_FIRED_BY_DELETE(td->tg_event) ? "DELETE" : "TRUNCATE"),
			 errdetail("Ledger rows are evidence; they are never changed or removed.")));
	PG_RETURN_NULL();
}

/* ---------------------------------------------------------------------
 * SQL interface
 * ---------------------------------------------------------------------
 */

/* Load a stored row into a GovEventRow (strings palloc'd). */
static bool
load_row(int64 seq, GovEventRow *row, pg_uuid_t *lease_buf)
{
	int			rc;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	Oid			argtypes[] = {INT8OID};
	Datum		values[] = {Int64GetDatum(seq)};

	rc = SPI_execute_with_args("SELECT seq, at, kind, lease_id, principal, action, resource, "
							   "payload, actor, txid::text::bigint, prev_seq "
							   "FROM governance.ledger WHERE seq = $1",
							   1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the ledger: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	memset(row, 0, sizeof(*row));
	row->seq = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	row->at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
	row->kind = SPI_getvalue(tup, desc, 3);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	if (!isnull)
	{
		memcpy(lease_buf, DatumGetUUIDP(d), sizeof(pg_uuid_t));
		row->lease_id = lease_buf;
	}
	row->principal = SPI_getvalue(tup, desc, 5);
	row->action = SPI_getvalue(tup, desc, 6);
	row->resource = SPI_getvalue(tup, desc, 7);
	d = SPI_getbinval(tup, desc, 8, &isnull);
	row->payload = isnull ? NULL : DatumGetJsonbPCopy(d);
	row->actor = SPI_getvalue(tup, desc, 9);
	row->txid = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
	d = SPI_getbinval(tup, desc, 11, &isnull);
	row->has_prev = !isnull;
	row->prev_seq = isnull ? 0 : DatumGetInt64(d);
	return true;
}

/*
 * event_bytes(seq) -> bytea: exactly the bytes whose SHA3-512 is the row's
 * evidence hash, recomputed from the row as it is stored now.
 */
PG_FUNCTION_INFO_V1(gov_sql_event_bytes);
Datum
gov_sql_event_bytes(PG_FUNCTION_ARGS)
{
	int64		seq = PG_GETARG_INT64(0);
	GovEventRow row;
	pg_uuid_t	lease;
	GovEnc		e;
	bytea	   *res;
	bool		found;

	GOV_ENTRY();
	SPI_connect();
	found = load_row(seq, &row, &lease);
	if (!found)
	{
		SPI_finish();
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ledger row %lld does not exist", (long long) seq)));
	}
	gov_event_encode(&e, &row);
	res = (bytea *) SPI_palloc(VARHDRSZ + e.buf.len);
	SET_VARSIZE(res, VARHDRSZ + e.buf.len);
	memcpy(VARDATA(res), e.buf.data, e.buf.len);
	SPI_finish();
	PG_RETURN_BYTEA_P(res);
}

/* chain_link(prev_link, evidence) -> bytea: the link rule, for auditors. */
PG_FUNCTION_INFO_V1(gov_sql_chain_link);
Datum
gov_sql_chain_link(PG_FUNCTION_ARGS)
{
	bytea	   *prev = PG_ARGISNULL(0) ? NULL : PG_GETARG_BYTEA_PP(0);
	bytea	   *evidence;
	uint8		out[GOV_HASH_LEN];

	GOV_ENTRY();
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	evidence = PG_GETARG_BYTEA_PP(1);
	if (VARSIZE_ANY_EXHDR(evidence) != GOV_HASH_LEN ||
		(prev && VARSIZE_ANY_EXHDR(prev) != GOV_HASH_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("chain link inputs must be %d-byte hashes", GOV_HASH_LEN)));
	gov_chain_link(prev ? (const uint8 *) VARDATA_ANY(prev) : NULL,
				   (const uint8 *) VARDATA_ANY(evidence), out);
	PG_RETURN_BYTEA_P(DatumGetByteaPP(gov_bytea_datum(out, GOV_HASH_LEN)));
}

/* canonical_json(jsonb) -> text: the payload encoding, for implementers. */
PG_FUNCTION_INFO_V1(gov_sql_canonical_json);
Datum
gov_sql_canonical_json(PG_FUNCTION_ARGS)
{
	StringInfoData s;

	GOV_ENTRY();
	initStringInfo(&s);
	gov_canonical_json(&s, PG_GETARG_JSONB_P(0));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(s.data, s.len));
}
