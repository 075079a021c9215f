/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Security events that must reach the ledger although the transaction
 *	  that saw them fails: refused attaches and refused writes (raised as
 *	  errors), and denied decisions whose caller rolls back.  Backends queue
 *	  them; the enforcer ledgers them in its own transaction, each exactly
 *	  once, and none is dropped.
 *
 *	  Where an event waits
 *	  --------------------
 *	  In a ring of EVENT_QUEUE_SIZE slots in shared memory, and behind it in
 *	  a spool file, pg_governance/events.spool in the data directory.  A
 *	  backend puts an event in the ring while the ring has room and nothing
 *	  is spooled; otherwise it appends the event to the spool and fsyncs it
 *	  before going on.  Once anything is spooled every newer event is
 *	  spooled too, until the enforcer has drained the spool: the ring only
 *	  ever holds events older than the spool's, so draining the ring first,
 *	  then the spool, keeps the order in which events were queued.  A spool
 *	  that cannot be written (a full disk) is the one way to lose an event:
 *	  that degrades trust (fail closed) and is ledgered as
 *	  governance.security.events_lost.  The ring is shared memory: a crash of
 *	  the server loses what it holds (as it loses the transactions that
 *	  queued it); what was spooled survives.  docs/FORMAT.md, section 11,
 *	  describes both files byte by byte.
 *
 *	  Exactly once
 *	  ------------
 *	  The enforcer ledgers events in its transaction and marks them consumed
 *	  only when that transaction has committed.  It may die in between, so
 *	  the marks name the transaction: ring slots it ledgered are CLAIMED
 *	  under queue->claim_xid, and spool progress is written (and fsynced) to
 *	  pg_governance/events.cursor before the commit as "the state before,
 *	  and the state after if transaction X commits".  A restarted enforcer
 *	  asks the commit log whether X committed.  Its commit is forced
 *	  durable when it consumed spooled events, so "committed" means on disk.
 *
 *	  Chains held by an agent
 *	  -----------------------
 *	  An event of a lease goes on that lease's chain, whose lock an agent's
 *	  open transaction may hold for as long as it likes.  The enforcer never
 *	  waits for it: it leaves that lease's events where they are (in order)
 *	  and goes on with the others; once a lease's chain has been busy for
 *	  EVENT_MAX_HOLD_MS, its events are ledgered without a chain link, with
 *	  the lease id in the payload and "chain_busy": true.
 *
 *	  Locking
 *	  -------
 *	  queue->lock guards the ring and the flags, queue->spool_lock the spool
 *	  file and where it ends; a process taking both takes the spool lock
 *	  first.  File I/O happens under the spool lock only (never under a
 *	  spinlock).  Only the enforcer changes a slot once it is READY, or the
 *	  tail.  A backend may queue an event from an abort callback: whatever
 *	  it does after the event is encoded never raises an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "crypto.h"
#include "encode.h"
#include "events.h"
#include "common.h"
#include "ledger.h"
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"

#define EVENT_QUEUE_SIZE	256
#define EVENT_RECORD_MAX	4096	/* one encoded event, bytes */
#define EVENT_DRAIN_BATCH	1000	/* events ledgered per enforcer round */
#define EVENT_MAX_HOLD_MS	1000	/* longest a busy chain holds back its events */
#define SPOOL_MAX_SKIPPED	1024	/* spooled events ledgered past one left waiting */

#define EVENTS_TRANCHE		"governance security events"

#define SPOOL_DIR			"pg_governance"
#define SPOOL_FILE			SPOOL_DIR "/events.spool"
#define SPOOL_TMP			SPOOL_DIR "/events.spool.tmp"
#define CURSOR_FILE			SPOOL_DIR "/events.cursor"
#define CURSOR_TMP			SPOOL_DIR "/events.cursor.tmp"
#define SPOOL_MAGIC			"GOVSPOOL"
#define CURSOR_MAGIC		"GOVCURSR"
#define SPOOL_HEADER		16	/* magic, generation */
#define RECORD_MAGIC		0x47455631	/* "GEV1" */
#define RECORD_HEADER		12	/* magic, length, CRC-32C */
#define CURSOR_MAX_DONE		SPOOL_MAX_SKIPPED
#define CURSOR_MAX			(8 + 8 + 8 + 2 * (8 + 4 + 8 * CURSOR_MAX_DONE) + 4)

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_READY,					/* queued */
	SLOT_CLAIMED,				/* ledgered by queue->claim_xid, not yet committed */
	SLOT_DONE					/* ledgered and committed */
} SlotState;

typedef struct EventSlot
{
	uint32		state;
	uint32		len;
	char		data[EVENT_RECORD_MAX];
} EventSlot;

typedef struct EventQueue
{
	LWLock	   *lock;
	LWLock	   *spool_lock;
	/* under lock */
	uint64		head;			/* next slot to fill */
	uint64		tail;			/* oldest slot not DONE */
	bool		spilling;		/* new events go to the spool */
	int			spool_writers;	/* backends between deciding to spool and done */
	uint64		lost;			/* events that could not be spooled */
	FullTransactionId claim_xid;	/* the enforcer transaction that CLAIMED slots */
	/* under spool_lock */
	bool		spool_known;	/* the two below were read from the file */
	uint64		spool_gen;		/* generation of the spool file, 0 when none */
	uint64		spool_end;		/* just past its last complete record */
	EventSlot	slots[EVENT_QUEUE_SIZE];
} EventQueue;

static EventQueue *queue = NULL;

/* An encoded event (docs/FORMAT.md, section 11), as queued. */
typedef struct EncodedEvent
{
	uint32		len;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} EncodedEvent;

/* for reading and writing records; also usable in an abort callback */
static char iobuf[RECORD_HEADER + EVENT_RECORD_MAX];

/* the enforcer's, for what it reads back */
static char readbuf[RECORD_HEADER + EVENT_RECORD_MAX];

/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */

Size
gov_events_shmem_size(void)
{
	return MAXALIGN(sizeof(EventQueue));
}

void
gov_events_request_locks(void)
{
	RequestNamedLWLockTranche(EVENTS_TRANCHE, 2);
}

void
gov_events_shmem_startup(void)
{
	bool		found;

	queue = ShmemInitStruct("governance security events", sizeof(EventQueue), &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche(EVENTS_TRANCHE);

		memset(queue, 0, sizeof(EventQueue));
		queue->lock = &locks[0].lock;
		queue->spool_lock = &locks[1].lock;
		queue->claim_xid = InvalidFullTransactionId;
	}
}

/* ---------------------------------------------------------------------
 * Bytes
 * ---------------------------------------------------------------------
 */

static void
put32(char *p, uint32 v)
{
	p[0] = (char) (v >> 24);
	p[1] = (char) (v >> 16);
	p[2] = (char) (v >> 8);
	p[3] = (char) v;
}

static void
put64(char *p, uint64 v)
{
	put32(p, (uint32) (v >> 32));
	put32(p + 4, (uint32) v);
}

static uint32
get32(const char *p)
{
	const uint8 *u = (const uint8 *) p;

	return ((uint32) u[0] << 24) | ((uint32) u[1] << 16) | ((uint32) u[2] << 8) | u[3];
}

static uint64
get64(const char *p)
{
	return ((uint64) get32(p) << 32) | get32(p + 4);
}

static uint32
crc32c(const char *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return crc;
}

/* pread/pwrite of exactly len bytes */
static bool
read_at(int fd, char *buf, size_t len, uint64 off)
{
	return pg_pread(fd, buf, len, (off_t) off) == (ssize_t) len;
}

static bool
write_at(int fd, const char *buf, size_t len, uint64 off)
{
	errno = 0;
	if (pg_pwrite(fd, buf, len, (off_t) off) != (ssize_t) len)
	{
		if (errno == 0)
			errno = ENOSPC;		/* a short write: no space, most likely */
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Encoding an event
 * ---------------------------------------------------------------------
 */

/* A timestamp in ISO 8601, UTC, whatever the session's DateStyle and TimeZone. */
static char *
iso_timestamp(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[MAXDATELEN + 1];

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	tm.tm_isdst = 0;			/* else no offset is printed */
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_XSD_DATES, buf);
	return pstrdup(buf);
}

static size_t
field_size(const char *s)
{
	return 4 + (s ? strlen(s) : 0);
}

static Jsonb *
object_of(JsonbValue *keys, JsonbValue *vals, const bool *keep, int n,
		  const uint8 *hash, size_t full_bytes)
{
	JsonbParseState *st = NULL;
	JsonbValue	k;
	JsonbValue	v;
	int			i;

	(void) pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < n; i++)
	{
		if (!keep[i])
			continue;
		(void) pushJsonbValue(&st, WJB_KEY, &keys[i]);
		(void) pushJsonbValue(&st, WJB_VALUE, &vals[i]);
	}
	k.type = jbvString;
	k.val.string.val = "payload_bytes";
	k.val.string.len = strlen(k.val.string.val);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric((int64) full_bytes);
	(void) pushJsonbValue(&st, WJB_KEY, &k);
	(void) pushJsonbValue(&st, WJB_VALUE, &v);
	k.val.string.val = "payload_sha3_512";
	k.val.string.len = strlen(k.val.string.val);
	v.type = jbvString;
	v.val.string.val = gov_hex(hash, GOV_HASH_LEN);
	v.val.string.len = GOV_HASH_LEN * 2;
	(void) pushJsonbValue(&st, WJB_KEY, &k);
	(void) pushJsonbValue(&st, WJB_VALUE, &v);
	k.val.string.val = "truncated";
	k.val.string.len = strlen(k.val.string.val);
	v.type = jbvBool;
	v.val.boolean = true;
	(void) pushJsonbValue(&st, WJB_KEY, &k);
	(void) pushJsonbValue(&st, WJB_VALUE, &v);
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * A payload too large for a queue slot stands in for itself with its
 * SHA3-512 and length (of its canonical JSON) and as many of its scalar
 * top-level members as fit, in key order; lists and objects are left out
 * (a request's context is already in it as a hash).
 */
static void
truncate_payload(Jsonb *full, StringInfo text, size_t budget)
{
	uint8		hash[GOV_HASH_LEN];
	size_t		full_bytes = text->len;
	int			n = 0;
	int			cap = 16;
	JsonbValue *keys = palloc(sizeof(JsonbValue) * cap);
	JsonbValue *vals = palloc(sizeof(JsonbValue) * cap);
	bool	   *keep;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue	key = {0};
	int			i;

	gov_sha3_512(text->data, text->len, hash);
	it = JsonbIteratorInit(&full->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = v;
		else if (tok == WJB_VALUE && v.type != jbvBinary)
		{
			if (n == cap)
			{
				cap *= 2;
				keys = repalloc(keys, sizeof(JsonbValue) * cap);
				vals = repalloc(vals, sizeof(JsonbValue) * cap);
			}
			keys[n] = key;
			vals[n] = v;
			n++;
		}
	}
	keep = palloc0(sizeof(bool) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		keep[i] = true;
		resetStringInfo(text);
		gov_canonical_json(text, object_of(keys, vals, keep, n, hash, full_bytes));
		if (text->len > budget)
			keep[i] = false;
	}
	resetStringInfo(text);
	gov_canonical_json(text, object_of(keys, vals, keep, n, hash, full_bytes));
	if (text->len > budget)
		elog(ERROR, "governance: a truncated event payload does not fit its queue slot");
}

/*
 * The bytes queued for an event (docs/FORMAT.md, section 11), allocated in
 * cxt.  The payload is canonical JSON, truncated to fit EVENT_RECORD_MAX.
 */
static EncodedEvent *
encode_event(const char *kind, const pg_uuid_t *lease_id, const char *principal,
			 const char *action, const char *resource, Jsonb *payload, MemoryContext cxt)
{
	StringInfoData text;
	size_t		fixed;
	GovEnc		e;
	EncodedEvent *out;

	fixed = field_size(GOV_TAG_QUEUED_EVENT) + field_size(kind) + 4 + (lease_id ? UUID_LEN : 0) +
		field_size(principal) + field_size(action) + field_size(resource) + 4;
	if (fixed > EVENT_RECORD_MAX / 2)
		elog(ERROR, "governance: security event too large to queue");
	initStringInfo(&text);
	gov_canonical_json(&text, payload);
	if (fixed + text.len > EVENT_RECORD_MAX)
		truncate_payload(payload, &text, EVENT_RECORD_MAX - fixed);

	gov_enc_init(&e, GOV_TAG_QUEUED_EVENT);
	gov_enc_text(&e, kind);
	gov_enc_uuid(&e, lease_id);
	gov_enc_text(&e, principal);
	gov_enc_text(&e, action);
	gov_enc_text(&e, resource);
	gov_enc_bytes(&e, text.data, text.len);
	Assert(e.buf.len <= EVENT_RECORD_MAX);
	out = MemoryContextAlloc(cxt, offsetof(EncodedEvent, data) + e.buf.len);
	out->len = e.buf.len;
	memcpy(out->data, e.buf.data, e.buf.len);
	gov_enc_free(&e);
	pfree(text.data);
	return out;
}

/* ---------------------------------------------------------------------
 * The spool file.  Every function here runs under spool_lock held
 * exclusively, reports failure with a reason in why, and never raises.
 * ---------------------------------------------------------------------
 */

static bool
fail(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s \"%s\": %m", what, SPOOL_FILE);
	return false;
}

/* Start an empty spool of generation gen (a new file, renamed into place). */
static bool
spool_create(uint64 gen, char *why, size_t whylen)
{
	int			fd;
	char		header[SPOOL_HEADER];
	bool		ok;
	int			save;

	if (MakePGDirectory(SPOOL_DIR) == 0)
		(void) fsync_fname_ext(".", true, false, LOG);
	else if (errno != EEXIST)
		return fail(why, whylen, "could not create the directory of");
	fd = BasicOpenFile(SPOOL_TMP, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY);
	if (fd < 0)
		return fail(why, whylen, "could not create");
	memcpy(header, SPOOL_MAGIC, 8);
	put64(header + 8, gen);
	ok = write_at(fd, header, SPOOL_HEADER, 0) && pg_fsync(fd) == 0;
	save = errno;
	close(fd);
	errno = save;
	if (!ok || durable_rename(SPOOL_TMP, SPOOL_FILE, LOG) != 0)
		return fail(why, whylen, "could not write");
	queue->spool_gen = gen;
	queue->spool_end = SPOOL_HEADER;
	return true;
}

/*
 * Learn the spool's generation and end once per server start (shared
 * memory was just created): read the file, keep every complete record, cut
 * off a torn one at the end (its writer never went on).  A spool with
 * records left makes new events go behind them.
 */
static bool
spool_ready(char *why, size_t whylen)
{
	int			fd;
	char		header[SPOOL_HEADER];
	uint64		off;
	struct stat st;

	if (queue->spool_known)
		return true;
	fd = BasicOpenFile(SPOOL_FILE, O_RDWR | PG_BINARY);
	if (fd < 0)
	{
		if (errno != ENOENT)
			return fail(why, whylen, "could not open");
		queue->spool_gen = 0;
		queue->spool_end = 0;
		queue->spool_known = true;
		return true;
	}
	if (fstat(fd, &st) != 0 || !read_at(fd, header, SPOOL_HEADER, 0) ||
		memcmp(header, SPOOL_MAGIC, 8) != 0)
	{
		close(fd);
		errno = EINVAL;
		return fail(why, whylen, "could not read the header of");
	}
	off = SPOOL_HEADER;
	while (off + RECORD_HEADER <= (uint64) st.st_size)
	{
		uint32		len;

		if (!read_at(fd, iobuf, RECORD_HEADER, off) || get32(iobuf) != RECORD_MAGIC)
			break;
		len = get32(iobuf + 4);
		if (len == 0 || len > EVENT_RECORD_MAX ||
			!read_at(fd, iobuf + RECORD_HEADER, len, off + RECORD_HEADER) ||
			crc32c(iobuf + RECORD_HEADER, len) != get32(iobuf + 8))
			break;
		off += RECORD_HEADER + len;
	}
	if (off < (uint64) st.st_size)
	{
		ereport(LOG,
				(errmsg("governance: ignoring an incomplete record at the end of \"%s\" (offset %llu)",
						SPOOL_FILE, (unsigned long long) off)));
		if (ftruncate(fd, (off_t) off) != 0 || pg_fsync(fd) != 0)
		{
			close(fd);
			return fail(why, whylen, "could not truncate");
		}
	}
	close(fd);
	queue->spool_gen = get64(header + 8);
	queue->spool_end = off;
	queue->spool_known = true;
	if (off > SPOOL_HEADER)
	{
		LWLockAcquire(queue->lock, LW_EXCLUSIVE);
		queue->spilling = true;
		LWLockRelease(queue->lock);
	}
	return true;
}

static uint64
next_generation(void)
{
	uint64		now = (uint64) GetCurrentTimestamp();

	return Max(now, queue->spool_gen + 1);
}

/* Append one record and make it durable. */
static bool
spool_append(const EncodedEvent *ev, char *why, size_t whylen)
{
	int			fd;
	bool		ok;
	uint32		total = RECORD_HEADER + ev->len;

	if (!spool_ready(why, whylen))
		return false;
	if (queue->spool_gen == 0 && !spool_create(next_generation(), why, whylen))
		return false;
	fd = BasicOpenFile(SPOOL_FILE, O_WRONLY | PG_BINARY);
	if (fd < 0)
		return fail(why, whylen, "could not open");
	put32(iobuf, RECORD_MAGIC);
	put32(iobuf + 4, ev->len);
	put32(iobuf + 8, crc32c(ev->data, ev->len));
	memcpy(iobuf + RECORD_HEADER, ev->data, ev->len);
	ok = write_at(fd, iobuf, total, queue->spool_end) && pg_fsync(fd) == 0;
	if (!ok)
	{
		int			save = errno;

		/*
		 * Leave no partial record behind.  If even that fails, no harm: the
		 * next append writes at spool_end, over it.
		 */
		if (ftruncate(fd, (off_t) queue->spool_end) != 0)
		{
			/* nothing more to do */
		}
		close(fd);
		errno = save;
		return fail(why, whylen, "could not write to");
	}
	close(fd);
	queue->spool_end += total;
	return true;
}

/* ---------------------------------------------------------------------
 * Queueing (backends)
 * ---------------------------------------------------------------------
 */

/* Put an encoded event in the ring or the spool.  Never raises. */
static void
queue_push(const EncodedEvent *ev)
{
	bool		to_spool;
	bool		wake = false;
	bool		ok;
	char		why[256];

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	to_spool = queue->spilling || queue->head - queue->tail >= EVENT_QUEUE_SIZE;
	if (!to_spool)
	{
		EventSlot  *s = &queue->slots[queue->head % EVENT_QUEUE_SIZE];

		memcpy(s->data, ev->data, ev->len);
		s->len = ev->len;
		s->state = SLOT_READY;
		queue->head++;
		wake = queue->head - queue->tail == EVENT_QUEUE_SIZE / 2;
	}
	else
	{
		wake = !queue->spilling;
		queue->spilling = true;
		queue->spool_writers++;
	}
	LWLockRelease(queue->lock);

	/*
	 * A burst: have the enforcer drain now rather than after its nap, before
	 * the ring overflows into the spool (whose every append costs an fsync),
	 * and once when it does.  Not for every event: its rounds would get
	 * smaller, not fewer.
	 */
	if (wake)
		gov_worker_wake(GOV_WORKER_ENFORCER);
	if (!to_spool)
		return;

	LWLockAcquire(queue->spool_lock, LW_EXCLUSIVE);
	ok = spool_append(ev, why, sizeof(why));
	LWLockRelease(queue->spool_lock);

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->spool_writers--;
	if (!ok)
		queue->lost++;
	LWLockRelease(queue->lock);
	if (!ok)
	{
		char		reason[320];

		/*
		 * The one way to lose an event: fail closed, loudly.  The verifier
		 * ledgers the degradation, the enforcer the count.
		 */
		snprintf(reason, sizeof(reason), "a security event could not be recorded: %s", why);
		if (gov_trust_degrade(reason))
			gov_trust_mark_unledgered();
	}
}

void
gov_security_event(const char *kind, const pg_uuid_t *lease_id,
				   const char *principal, const char *detail)
{
	const char *caller = GetUserNameFromId(GetOuterUserId(), true);
	GovJson		j;

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "caller");
	gj_str(&j, caller ? caller : "");
	gj_key(&j, "observed_at");
	gj_str(&j, iso_timestamp(GetCurrentTimestamp()));
	gj_key(&j, "detail");
	gj_str(&j, detail ? detail : "");
	gj_end_object(&j);
	queue_push(encode_event(kind, lease_id, principal, NULL, NULL, gj_finish(&j),
							CurrentMemoryContext));
}

/*
 * An event with its own payload, encoded now (in cxt) to be queued later by
 * gov_security_event_push(), where allocating or reading the catalog is
 * not safe (an aborting transaction).
 */
GovPreparedEvent *
gov_security_event_prepare(const char *kind, const pg_uuid_t *lease_id,
						   const char *principal, Jsonb *payload, MemoryContext cxt)
{
	return (GovPreparedEvent *) encode_event(kind, lease_id, principal, NULL, NULL, payload, cxt);
}

void
gov_security_event_push(const GovPreparedEvent *ev)
{
	queue_push((const EncodedEvent *) ev);
}

static void
queue_on_abort(void *arg)
{
	queue_push((const EncodedEvent *) arg);
}

static void
free_on_end(void *arg)
{
	pfree(arg);
}

static const GovXactOps rollback_ops = {
	.what = NULL,				/* PREPARE: the ledger refuses it by itself */
	.abort = queue_on_abort,
	.discard = free_on_end,
};

void
gov_security_event_on_abort(const GovEvent *ev)
{
	GovJson		j;
	Jsonb	   *extra;
	Jsonb	   *payload;

	Assert(ev->lease_id == NULL);
	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "rolled_back");
	gj_bool(&j, true);
	gj_key(&j, "observed_at");
	gj_str(&j, iso_timestamp(GetCurrentTimestamp()));
	gj_end_object(&j);
	extra = gj_finish(&j);
	payload = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(ev->payload),
												 JsonbPGetDatum(extra)));
	/* encoded now: the abort callback must neither allocate much nor fail */
	gov_xact_defer(&rollback_ops,
				   encode_event(ev->kind, NULL, ev->principal, ev->action, ev->resource,
								payload, TopTransactionContext));
}

/* ---------------------------------------------------------------------
 * Draining (the enforcer)
 * ---------------------------------------------------------------------
 */

/* Where the enforcer is in the spool: every record before offset, and those at done[], are ledgered. */
typedef struct SpoolCursor
{
	uint64		gen;
	uint64		offset;
	int			ndone;
	uint64	   *done;			/* sorted; in TopMemoryContext for the current one */
} SpoolCursor;

static bool recovered = false;
static SpoolCursor cursor;
static uint64 drain_round = 0;

/* Per lease with events waiting: is its chain free this round? */
typedef enum ChainStatus
{
	CHAIN_FREE,					/* we hold its lock: ledger on the chain */
	CHAIN_BUSY,					/* held by another transaction: leave its events */
	CHAIN_BYPASS				/* busy for too long: ledger without a link */
} ChainStatus;

typedef struct LeaseChain
{
	pg_uuid_t	id;				/* hash key */
	uint64		round;			/* when status was decided */
	ChainStatus status;
	TimestampTz busy_since;		/* 0 when it was free last time */
} LeaseChain;

static HTAB *chains = NULL;

static ChainStatus
chain_status(const pg_uuid_t *id)
{
	LeaseChain *c;
	bool		found;
	TimestampTz now;

	c = hash_search(chains, id, HASH_ENTER, &found);
	if (!found)
		c->busy_since = 0;
	else if (c->round == drain_round)
		return c->status;
	c->round = drain_round;
	if (gov_ledger_try_lock_chain(id))
	{
		c->status = CHAIN_FREE;
		c->busy_since = 0;
		return c->status;
	}
	now = GetCurrentTimestamp();
	if (c->busy_since == 0)
		c->busy_since = now;
	c->status = TimestampDifferenceExceeds(c->busy_since, now, EVENT_MAX_HOLD_MS) ?
		CHAIN_BYPASS : CHAIN_BUSY;
	return c->status;
}

/* Forget leases that were free, or not seen for a while. */
static void
prune_chains(void)
{
	HASH_SEQ_STATUS s;
	LeaseChain *c;

	hash_seq_init(&s, chains);
	while ((c = hash_seq_search(&s)) != NULL)
		if (c->status == CHAIN_FREE || c->round + 100 < drain_round)
			(void) hash_search(chains, &c->id, HASH_REMOVE, NULL);
}

static bool
take_field(const char **p, const char *end, const char **data, uint32 *len)
{
	if (end - *p < 4)
		return false;
	*len = get32(*p);
	*p += 4;
	if (*len == GOV_FIELD_NULL)
	{
		*data = NULL;
		return true;
	}
	if ((uint32) (end - *p) < *len)
		return false;
	*data = *p;
	*p += *len;
	return true;
}

static char *
field_text(const char *data, uint32 len)
{
	return data ? pnstrdup(data, len) : NULL;
}

/*
 * Reads (governance.read, one per statement) are many and small: those of
 * one lease drained in one round are ledgered as one row on its chain,
 * {"reads": [...]} in the order they were queued.  Anything else queued
 * for the same lease is ledgered after the reads queued before it, so the
 * chain keeps the order of events.
 */
typedef struct PendingReads
{
	pg_uuid_t	lease;
	char	   *principal;
	char	   *action;
	char	   *resource;
	List	   *payloads;		/* Jsonb * */
} PendingReads;

static List *pending_reads = NIL;	/* in the drain's transaction */

static void
flush_reads(const pg_uuid_t *lease)
{
	ListCell   *lc;

	foreach(lc, pending_reads)
	{
		PendingReads *r = lfirst(lc);
		ListCell   *pc;
		GovEvent	e;
		StringInfoData buf;

		if (lease != NULL && memcmp(&r->lease, lease, sizeof(pg_uuid_t)) != 0)
			continue;
		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"reads\": [");
		foreach(pc, r->payloads)
		{
			Jsonb	   *p = lfirst(pc);

			if (pc != list_head(r->payloads))
				appendStringInfoString(&buf, ", ");
			(void) JsonbToCString(&buf, &p->root, VARSIZE(p));
		}
		appendStringInfoString(&buf, "]}");
		memset(&e, 0, sizeof(e));
		e.kind = "governance.read";
		e.lease_id = &r->lease;
		e.principal = r->principal;
		e.action = r->action;
		e.resource = r->resource;
		e.payload = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
		e.internal = true;
		(void) gov_ledger_append(&e);
		pending_reads = foreach_delete_current(pending_reads, lc);
	}
}

static void
pend_read(const pg_uuid_t *lease, char *principal, char *action, char *resource, Jsonb *payload)
{
	ListCell   *lc;
	PendingReads *r = NULL;

	foreach(lc, pending_reads)
		if (memcmp(&((PendingReads *) lfirst(lc))->lease, lease, sizeof(pg_uuid_t)) == 0)
			r = lfirst(lc);
	if (r == NULL)
	{
		r = palloc0(sizeof(PendingReads));
		r->lease = *lease;
		r->principal = principal;
		r->action = action;
		r->resource = resource;
		pending_reads = lappend(pending_reads, r);
	}
	r->payloads = lappend(r->payloads, payload);
}

/*
 * Ledger one queued event; false when it must wait (its lease's chain is
 * busy).  A record that does not decode cannot have been written by
 * encode_event(): an error.
 */
static bool
ledger_record(const char *data, uint32 len)
{
	const char *p = data;
	const char *end = data + len;
	const char *f[7];
	uint32		flen[7];
	int			i;
	pg_uuid_t	lease;
	bool		has_lease;
	bool		bypass = false;
	GovEvent	e;
	Jsonb	   *payload;

	for (i = 0; i < 7; i++)
		if (!take_field(&p, end, &f[i], &flen[i]))
			elog(ERROR, "governance: malformed queued security event");
	if (p != end || f[0] == NULL || flen[0] != strlen(GOV_TAG_QUEUED_EVENT) ||
		memcmp(f[0], GOV_TAG_QUEUED_EVENT, flen[0]) != 0 || f[1] == NULL || f[6] == NULL ||
		(f[2] != NULL && flen[2] != UUID_LEN))
		elog(ERROR, "governance: malformed queued security event");
	has_lease = f[2] != NULL;
	if (has_lease)
	{
		ChainStatus st;

		memcpy(lease.data, f[2], UUID_LEN);
		st = chain_status(&lease);
		if (st == CHAIN_BUSY)
			return false;
		bypass = st == CHAIN_BYPASS;
	}

	payload = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(field_text(f[6], flen[6]))));
	if (bypass)
	{
		GovJson		j;

		gj_init(&j);
		gj_begin_object(&j);
		gj_key(&j, "lease_id");
		gj_str(&j, gov_uuid_text(&lease));
		gj_key(&j, "chain_busy");
		gj_bool(&j, true);
		gj_end_object(&j);
		payload = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(payload),
													 JsonbPGetDatum(gj_finish(&j))));
	}
	if (has_lease && !bypass)
	{
		char	   *kind = field_text(f[1], flen[1]);

		if (strcmp(kind, "governance.read") == 0)
		{
			pend_read(&lease, field_text(f[3], flen[3]), field_text(f[4], flen[4]),
					  field_text(f[5], flen[5]), payload);
			return true;
		}
		flush_reads(&lease);	/* the reads before it come first */
	}
	memset(&e, 0, sizeof(e));
	e.kind = field_text(f[1], flen[1]);
	e.lease_id = has_lease && !bypass ? &lease : NULL;
	e.principal = field_text(f[3], flen[3]);
	e.action = field_text(f[4], flen[4]);
	e.resource = field_text(f[5], flen[5]);
	e.payload = payload;
	e.internal = true;
	(void) gov_ledger_append(&e);
	return true;
}

static bool
xid_committed(FullTransactionId fxid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	TransactionId xid = XidFromFullTransactionId(fxid);
	bool		known;

	if (!FullTransactionIdIsValid(fxid) || !FullTransactionIdPrecedes(fxid, next) ||
		U64FromFullTransactionId(next) - U64FromFullTransactionId(fxid) > (uint64) 1 << 30)
		return false;
	LWLockAcquire(XactTruncationLock, LW_SHARED);
	known = !TransactionIdPrecedes(xid, ShmemVariableCache->oldestClogXid);
	LWLockRelease(XactTruncationLock);

	/*
	 * An enforcer transaction that old cannot have been left pending (the
	 * enforcer finishes or dies within a round); if it were, ledgering the
	 * events again is better than losing them.
	 */
	return known && TransactionIdDidCommit(xid);
}

/* --- the ring --- */

/* Slots claimed by the transaction that just ended: done, or back to ready. */
static void
ring_settle(bool committed)
{
	uint64		pos;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (pos = queue->tail; pos < queue->head; pos++)
	{
		EventSlot  *s = &queue->slots[pos % EVENT_QUEUE_SIZE];

		if (s->state == SLOT_CLAIMED)
			s->state = committed ? SLOT_DONE : SLOT_READY;
	}
	while (queue->tail < queue->head &&
		   queue->slots[queue->tail % EVENT_QUEUE_SIZE].state == SLOT_DONE)
	{
		queue->slots[queue->tail % EVENT_QUEUE_SIZE].state = SLOT_FREE;
		queue->tail++;
	}
	queue->claim_xid = InvalidFullTransactionId;
	LWLockRelease(queue->lock);
}

static void
ring_commit(void *arg)
{
	ring_settle(true);
}

static void
ring_abort(void *arg)
{
	ring_settle(false);
}

static const GovXactOps ring_ops = {
	.commit = ring_commit,
	.abort = ring_abort,
};

static int
drain_ring(int budget)
{
	uint64		pos;
	uint64		head;
	int			n = 0;

	LWLockAcquire(queue->lock, LW_SHARED);
	pos = queue->tail;
	head = queue->head;
	LWLockRelease(queue->lock);

	for (; pos < head && n < budget; pos++)
	{
		EventSlot  *s = &queue->slots[pos % EVENT_QUEUE_SIZE];

		/* slots before head stay as they are until this process changes them */
		if (s->state != SLOT_READY)
			continue;
		memcpy(readbuf, s->data, s->len);
		if (!ledger_record(readbuf, s->len))
			continue;
		LWLockAcquire(queue->lock, LW_EXCLUSIVE);
		if (!FullTransactionIdIsValid(queue->claim_xid))
			queue->claim_xid = GetTopFullTransactionId();
		s->state = SLOT_CLAIMED;
		LWLockRelease(queue->lock);
		if (n++ == 0)
			gov_xact_defer(&ring_ops, NULL);
	}
	return n;
}

/* --- the spool's cursor file --- */

static char cursor_buf[CURSOR_MAX];

static size_t
put_cursor_state(char *p, const SpoolCursor *c)
{
	int			i;

	put64(p, c->offset);
	put32(p + 8, (uint32) c->ndone);
	for (i = 0; i < c->ndone; i++)
		put64(p + 12 + 8 * i, c->done[i]);
	return 12 + 8 * (size_t) c->ndone;
}

/*
 * Write the cursor file: the state before, and the state after if fxid
 * commits (fxid invalid: after is the state).  Returns false with errno
 * set on failure; never raises.
 */
static bool
write_cursor(const SpoolCursor *before, FullTransactionId fxid, const SpoolCursor *after)
{
	size_t		len = 0;
	int			fd;
	bool		ok;

	memcpy(cursor_buf, CURSOR_MAGIC, 8);
	put64(cursor_buf + 8, after->gen);
	put64(cursor_buf + 16, FullTransactionIdIsValid(fxid) ? U64FromFullTransactionId(fxid) : 0);
	len = 24;
	len += put_cursor_state(cursor_buf + len, before);
	len += put_cursor_state(cursor_buf + len, after);
	put32(cursor_buf + len, crc32c(cursor_buf, len));
	len += 4;

	fd = BasicOpenFile(CURSOR_TMP, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY);
	if (fd < 0)
		return false;
	ok = write_at(fd, cursor_buf, len, 0) && pg_fsync(fd) == 0;
	close(fd);
	return ok && durable_rename(CURSOR_TMP, CURSOR_FILE, LOG) == 0;
}

static bool
get_cursor_state(const char **p, const char *end, SpoolCursor *c)
{
	int			i;

	if (end - *p < 12)
		return false;
	c->offset = get64(*p);
	c->ndone = (int) get32(*p + 8);
	*p += 12;
	if (c->ndone < 0 || c->ndone > CURSOR_MAX_DONE || end - *p < 8 * c->ndone)
		return false;
	c->done = MemoryContextAlloc(TopMemoryContext, sizeof(uint64) * Max(c->ndone, 1));
	for (i = 0; i < c->ndone; i++)
		c->done[i] = get64(*p + 8 * i);
	*p += 8 * c->ndone;
	return true;
}

/* Read where a previous enforcer got to in the spool of generation gen. */
static void
read_cursor(uint64 gen)
{
	int			fd;
	ssize_t		len;
	SpoolCursor before;
	SpoolCursor after;
	const char *p;
	uint64		xid;

	cursor.gen = gen;
	cursor.offset = SPOOL_HEADER;
	cursor.ndone = 0;
	cursor.done = MemoryContextAlloc(TopMemoryContext, sizeof(uint64));
	fd = BasicOpenFile(CURSOR_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno != ENOENT)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("governance: could not open file \"%s\": %m; the events spooled in \"%s\" are ledgered from the first, some perhaps twice",
							CURSOR_FILE, SPOOL_FILE)));
		return;
	}
	len = read(fd, cursor_buf, sizeof(cursor_buf));
	close(fd);
	p = cursor_buf + 24;
	if (len < 24 + 12 + 12 + 4 || memcmp(cursor_buf, CURSOR_MAGIC, 8) != 0 ||
		crc32c(cursor_buf, len - 4) != get32(cursor_buf + len - 4) ||
		!get_cursor_state(&p, cursor_buf + len - 4, &before) ||
		!get_cursor_state(&p, cursor_buf + len - 4, &after))
	{
		/* written by rename, so never torn: better twice than never */
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("governance: file \"%s\" is corrupt; the events spooled in \"%s\" are ledgered from the first, some perhaps twice",
						CURSOR_FILE, SPOOL_FILE)));
		return;
	}
	if (get64(cursor_buf + 8) != gen)
		return;					/* about an earlier spool, all of it ledgered */
	xid = get64(cursor_buf + 16);
	if (xid == 0 || xid_committed(FullTransactionIdFromU64(xid)))
		cursor = after;
	else
		cursor = before;
	cursor.gen = gen;
}

/* --- the spool --- */

typedef struct SpoolProgress
{
	SpoolCursor before;
	SpoolCursor after;			/* in TopMemoryContext */
} SpoolProgress;

static void
spool_pre_commit(void *arg)
{
	SpoolProgress *sp = arg;

	if (!write_cursor(&sp->before, GetTopFullTransactionId(), &sp->after))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", CURSOR_FILE)));
}

static void
spool_commit(void *arg)
{
	SpoolProgress *sp = arg;

	pfree(cursor.done);
	cursor = sp->after;
	sp->after.done = NULL;
	/* if this fails, the file still says "after, if we committed" */
	if (!write_cursor(&cursor, InvalidFullTransactionId, &cursor))
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", CURSOR_FILE)));
}

static void
spool_discard(void *arg)
{
	SpoolProgress *sp = arg;

	if (sp->after.done)
		pfree(sp->after.done);
}

static const GovXactOps spool_ops = {
	.pre_commit = spool_pre_commit,
	.commit = spool_commit,
	.discard = spool_discard,
};

/* Set when the spool cannot be read: its events wait, trust is degraded. */
static bool spool_ok = false;
static bool spool_corrupt = false;

static void
spool_unreadable(const char *why)
{
	char		reason[320];

	snprintf(reason, sizeof(reason), "security events spooled in \"%s\" cannot be read: %s",
			 SPOOL_FILE, why);
	ereport(LOG, (errmsg("governance: %s", reason)));
	if (gov_trust_degrade(reason))
		gov_trust_mark_unledgered();
}

/*
 * Ledger spooled events from the cursor on, at most budget of them.  The
 * records of a busy chain are left where they are and those behind them
 * ledgered all the same: the cursor then keeps the offset of the first
 * record left and the offsets of those ledgered past it, at most
 * SPOOL_MAX_SKIPPED of them (the pass stops before more).
 */
static int
drain_spool(int budget)
{
	uint64		end;
	uint64		gen;
	uint64		off;
	uint64		first_left = 0; /* 0: every record so far is ledgered */
	int			fd;
	int			n = 0;
	uint64	   *past;			/* ledgered records past first_left */
	int			npast = 0;
	SpoolProgress *sp;
	int			i;
	int			j;

	LWLockAcquire(queue->spool_lock, LW_SHARED);
	end = queue->spool_end;
	gen = queue->spool_gen;
	LWLockRelease(queue->spool_lock);
	if (gen != cursor.gen)
	{
		/* a spool was started where there was none (an older one was drained) */
		cursor.gen = gen;
		cursor.offset = SPOOL_HEADER;
		cursor.ndone = 0;
	}
	if (cursor.offset >= end)
		return 0;

	fd = BasicOpenFile(SPOOL_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		char		why[256];

		snprintf(why, sizeof(why), "could not open it: %m");
		spool_unreadable(why);
		return 0;
	}
	past = palloc(sizeof(uint64) * (SPOOL_MAX_SKIPPED + 1));
	j = 0;
	for (off = cursor.offset; off < end;)
	{
		uint32		len;
		bool		ledgered;

		/* j: the first of the old cursor's offsets at or past off */
		while (j < cursor.ndone && cursor.done[j] < off)
			j++;
		if (!read_at(fd, readbuf, RECORD_HEADER, off) || get32(readbuf) != RECORD_MAGIC ||
			(len = get32(readbuf + 4)) == 0 || len > EVENT_RECORD_MAX)
		{
			spool_corrupt = true;
			break;
		}
		if (j < cursor.ndone && cursor.done[j] == off)
			ledgered = true;
		else
		{
			/* stop before the cursor would remember too many offsets */
			if (n >= budget ||
				(first_left != 0 && npast + (cursor.ndone - j) >= SPOOL_MAX_SKIPPED))
				break;
			if (!read_at(fd, readbuf + RECORD_HEADER, len, off + RECORD_HEADER) ||
				crc32c(readbuf + RECORD_HEADER, len) != get32(readbuf + 8))
			{
				spool_corrupt = true;
				break;
			}
			ledgered = ledger_record(readbuf + RECORD_HEADER, len);
			if (ledgered)
				n++;
		}
		if (!ledgered)
		{
			if (first_left == 0)
				first_left = off;
		}
		else if (first_left != 0)
			past[npast++] = off;
		off += RECORD_HEADER + len;
	}
	close(fd);
	if (spool_corrupt)
	{
		char		why[64];

		/* records are checked when the spool is opened: the disk changed them */
		snprintf(why, sizeof(why), "a damaged record at offset %llu", (unsigned long long) off);
		spool_unreadable(why);
		spool_ok = false;
	}
	if (n == 0)
	{
		pfree(past);
		return 0;
	}

	/*
	 * off is where this pass stopped: the old cursor's offsets from there
	 * on were not looked at and stay.  Offsets stay sorted.
	 */
	while (j < cursor.ndone && cursor.done[j] < off)
		j++;
	sp = MemoryContextAllocZero(TopTransactionContext, sizeof(SpoolProgress));
	sp->before = cursor;
	sp->after.gen = cursor.gen;
	sp->after.offset = first_left != 0 ? first_left : off;
	sp->after.done = MemoryContextAlloc(TopMemoryContext,
										sizeof(uint64) * (npast + cursor.ndone - j + 1));
	for (i = 0; i < npast; i++)
		sp->after.done[sp->after.ndone++] = past[i];
	for (i = j; i < cursor.ndone; i++)
		sp->after.done[sp->after.ndone++] = cursor.done[i];
	pfree(past);
	gov_xact_defer(&spool_ops, sp);
	/* the cursor file trusts this commit: it must be on disk */
	gov_xact_require_durable_commit();
	return n;
}

/*
 * Once the spool is drained (and no backend is about to append to it),
 * events go to the ring again and the spool starts over, a new generation
 * renamed into place: the cursor file, which names the old generation,
 * then means "nothing ledgered yet" whatever happens next.
 */
static void
restart_spool_if_drained(void)
{
	char		why[256];
	bool		ok = true;
	bool		restart = false;
	bool		drained;
	bool		spilling;

	/* the common case, nothing spooled: no exclusive lock every round */
	LWLockAcquire(queue->spool_lock, LW_SHARED);
	drained = queue->spool_gen == cursor.gen && cursor.ndone == 0 &&
		cursor.offset >= queue->spool_end;
	restart = queue->spool_end > SPOOL_HEADER;
	LWLockRelease(queue->spool_lock);
	LWLockAcquire(queue->lock, LW_SHARED);
	spilling = queue->spilling;
	LWLockRelease(queue->lock);
	if (!drained || !(restart || spilling))
		return;

	restart = false;
	LWLockAcquire(queue->spool_lock, LW_EXCLUSIVE);
	if (queue->spool_gen == cursor.gen && cursor.ndone == 0 &&
		cursor.offset >= queue->spool_end)
	{
		LWLockAcquire(queue->lock, LW_EXCLUSIVE);
		if (queue->spool_writers == 0)
		{
			queue->spilling = false;
			restart = queue->spool_end > SPOOL_HEADER;
		}
		LWLockRelease(queue->lock);
	}
	if (restart)
	{
		ok = spool_create(next_generation(), why, sizeof(why));
		if (ok)
		{
			cursor.gen = queue->spool_gen;
			cursor.offset = SPOOL_HEADER;
			cursor.ndone = 0;
		}
	}
	LWLockRelease(queue->spool_lock);
	/* not fatal: the drained records stay, and later ones go behind them */
	if (!ok)
		ereport(LOG,
				(errmsg("governance: could not start a new event spool: %s", why)));
}

/* Slots a previous enforcer claimed: done if its transaction committed. */
static void
recover_ring(void)
{
	FullTransactionId claim;
	HASHCTL		ctl;

	LWLockAcquire(queue->lock, LW_SHARED);
	claim = queue->claim_xid;
	LWLockRelease(queue->lock);
	if (FullTransactionIdIsValid(claim))
		ring_settle(xid_committed(claim));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(LeaseChain);
	chains = hash_create("governance busy chains", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	recovered = true;
}

/*
 * Read the spool (once per server start) and where a previous enforcer got
 * to in it.  A spool that cannot be read holds events that cannot be
 * ledgered: trust degrades, and it is tried again next round.
 */
static bool
open_spool(void)
{
	char		why[256];
	bool		ok;
	uint64		gen;

	if (spool_corrupt)
		return false;
	LWLockAcquire(queue->spool_lock, LW_EXCLUSIVE);
	ok = spool_ready(why, sizeof(why));
	gen = queue->spool_gen;
	LWLockRelease(queue->spool_lock);
	if (!ok)
	{
		spool_unreadable(why);
		return false;
	}
	read_cursor(gen);
	return true;
}

static void
lost_commit(void *arg)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->lost -= *(uint64 *) arg;
	LWLockRelease(queue->lock);
}

static const GovXactOps lost_ops = {
	.commit = lost_commit,
};

/* Events that could not be spooled (trust is already degraded): say so. */
static void
ledger_lost(void)
{
	uint64	   *lost;
	uint64		n;
	GovJson		j;

	LWLockAcquire(queue->lock, LW_SHARED);
	n = queue->lost;
	LWLockRelease(queue->lock);
	if (n == 0)
		return;
	lost = MemoryContextAlloc(TopTransactionContext, sizeof(uint64));
	*lost = n;
	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "lost");
	gj_int(&j, (int64) *lost);
	gj_end_object(&j);
	(void) gov_ledger_append_system("governance.security.events_lost", NULL, gj_finish(&j));
	gov_xact_defer(&lost_ops, lost);
}

void
gov_events_drain(void)
{
	int			n;

	if (!recovered)
		recover_ring();
	if (!spool_ok)
		spool_ok = open_spool();
	drain_round++;
	if (spool_ok)
		restart_spool_if_drained();
	pending_reads = NIL;
	n = drain_ring(EVENT_DRAIN_BATCH);
	if (spool_ok && n < EVENT_DRAIN_BATCH)
		n += drain_spool(EVENT_DRAIN_BATCH - n);
	flush_reads(NULL);
	/* a full batch: more may be waiting, go round again without a nap */
	if (n >= EVENT_DRAIN_BATCH)
		SetLatch(MyLatch);
	ledger_lost();
	prune_chains();
}
