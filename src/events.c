/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Security events that must reach the ledger although the transaction
 *	  that saw them fails: refused attaches and refused writes (raised as
 *	  errors), and denied decisions whose caller rolls back.  Backends gov_ev_queue
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
 *	  under gov_ev_queue->claim_xid, and spool progress is written (and fsynced) to
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
 *	  gov_ev_queue->lock guards the ring and the flags, gov_ev_queue->spool_lock the spool
 *	  file and where it ends; a process taking both takes the spool lock
 *	  first.  File I/O happens under the spool lock only (never under a
 *	  spinlock).  Only the enforcer changes a slot once it is READY, or the
 *	  tail.  A backend may gov_ev_queue an event from an abort callback: whatever
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
#include "events_spool.h"
#include "common.h"
#include "ledger.h"
#include "stats.h"
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"

EventQueue *gov_ev_queue = NULL;


/* for reading and writing records; also usable in an abort callback */
static char iobuf[RECORD_HEADER + EVENT_RECORD_MAX];


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

	gov_ev_queue = ShmemInitStruct("governance security events", sizeof(EventQueue), &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche(EVENTS_TRANCHE);

		memset(gov_ev_queue, 0, sizeof(EventQueue));
		gov_ev_queue->lock = &locks[0].lock;
		gov_ev_queue->spool_lock = &locks[1].lock;
		gov_ev_queue->claim_xid = InvalidFullTransactionId;
	}
}

/*
 * For governance.stats: events in the ring not yet ledgered and committed,
 * and whether newer ones go to the spool file.
 */
void
gov_events_queue_state(uint64 *in_ring, bool *spilling)
{
	LWLockAcquire(gov_ev_queue->lock, LW_SHARED);
	*in_ring = gov_ev_queue->head - gov_ev_queue->tail;
	*spilling = gov_ev_queue->spilling;
	LWLockRelease(gov_ev_queue->lock);
}

/* ---------------------------------------------------------------------
 * Bytes
 * ---------------------------------------------------------------------
 */

void
gov_ev_put32(char *p, uint32 v)
{
	p[0] = (char) (v >> 24);
	p[1] = (char) (v >> 16);
	p[2] = (char) (v >> 8);
	p[3] = (char) v;
}

void
gov_ev_put64(char *p, uint64 v)
{
	gov_ev_put32(p, (uint32) (v >> 32));
	gov_ev_put32(p + 4, (uint32) v);
}

uint32
gov_ev_get32(const char *p)
{
	const uint8 *u = (const uint8 *) p;

	return ((uint32) u[0] << 24) | ((uint32) u[1] << 16) | ((uint32) u[2] << 8) | u[3];
}

uint64
gov_ev_get64(const char *p)
{
	return ((uint64) gov_ev_get32(p) << 32) | gov_ev_get32(p + 4);
}

uint32
gov_ev_crc32c(const char *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return crc;
}

/* pread/pwrite of exactly len bytes */
bool
gov_ev_read_at(int fd, char *buf, size_t len, uint64 off)
{
	return pg_pread(fd, buf, len, (off_t) off) == (ssize_t) len;
}

bool
gov_ev_write_at(int fd, const char *buf, size_t len, uint64 off)
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
 * A payload too large for a gov_ev_queue slot stands in for itself with its
 * SHA3-512 and length (of its canonical JSON) and as many of its scalar
 * top-level members as fit, in key order; lists and objects are left out
 * (a request's context is already in it as a hash).
 */
static void
truncate_payload(Jsonb *full, StringInfo json, size_t budget)
{
	uint8		hash[GOV_HASH_LEN];
	size_t		full_bytes = json->len;
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

	gov_sha3_512(json->data, json->len, hash);
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
		resetStringInfo(json);
		gov_canonical_json(json, object_of(keys, vals, keep, n, hash, full_bytes));
		if (json->len > budget)
			keep[i] = false;
	}
	resetStringInfo(json);
	gov_canonical_json(json, object_of(keys, vals, keep, n, hash, full_bytes));
	if (json->len > budget)
		elog(ERROR, "governance: a truncated event payload does not fit its gov_ev_queue slot");
}

/*
 * The bytes queued for an event (docs/FORMAT.md, section 11), allocated in
 * cxt.  The payload is canonical JSON, truncated to fit EVENT_RECORD_MAX.
 */
EncodedEvent *
gov_ev_encode_event(const char *kind, const pg_uuid_t *lease_id, const char *principal,
					const char *action, const char *resource, Jsonb *payload, MemoryContext cxt)
{
	StringInfoData json;
	size_t		fixed;
	GovEnc		e;
	EncodedEvent *out;

	fixed = field_size(GOV_TAG_QUEUED_EVENT) + field_size(kind) + 4 + (lease_id ? UUID_LEN : 0) +
		field_size(principal) + field_size(action) + field_size(resource) + 4;
	if (fixed > EVENT_RECORD_MAX / 2)
		elog(ERROR, "governance: security event too large to gov_ev_queue");
	initStringInfo(&json);
	gov_canonical_json(&json, payload);
	if (fixed + json.len > EVENT_RECORD_MAX)
		truncate_payload(payload, &json, EVENT_RECORD_MAX - fixed);

	gov_enc_init(&e, GOV_TAG_QUEUED_EVENT);
	gov_enc_text(&e, kind);
	gov_enc_uuid(&e, lease_id);
	gov_enc_text(&e, principal);
	gov_enc_text(&e, action);
	gov_enc_text(&e, resource);
	gov_enc_bytes(&e, json.data, json.len);
	Assert(e.buf.len <= EVENT_RECORD_MAX);
	out = MemoryContextAlloc(cxt, offsetof(EncodedEvent, data) + e.buf.len);
	out->len = e.buf.len;
	memcpy(out->data, e.buf.data, e.buf.len);
	gov_enc_free(&e);
	pfree(json.data);
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
bool
gov_ev_spool_create(uint64 gen, char *why, size_t whylen)
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
	gov_ev_put64(header + 8, gen);
	ok = gov_ev_write_at(fd, header, SPOOL_HEADER, 0) && pg_fsync(fd) == 0;
	save = errno;
	close(fd);
	errno = save;
	if (!ok || durable_rename(SPOOL_TMP, SPOOL_FILE, LOG) != 0)
		return fail(why, whylen, "could not write");
	gov_ev_queue->spool_gen = gen;
	gov_ev_queue->spool_end = SPOOL_HEADER;
	return true;
}

/*
 * Learn the spool's generation and end once per server start (shared
 * memory was just created): read the file, keep every complete record, cut
 * off a torn one at the end (its writer never went on).  A spool with
 * records left makes new events go behind them.
 */
bool
gov_ev_spool_ready(char *why, size_t whylen)
{
	int			fd;
	char		header[SPOOL_HEADER];
	uint64		off;
	struct stat st;

	if (gov_ev_queue->spool_known)
		return true;
	fd = BasicOpenFile(SPOOL_FILE, O_RDWR | PG_BINARY);
	if (fd < 0)
	{
		if (errno != ENOENT)
			return fail(why, whylen, "could not open");
		gov_ev_queue->spool_gen = 0;
		gov_ev_queue->spool_end = 0;
		gov_ev_queue->spool_known = true;
		return true;
	}
	if (fstat(fd, &st) != 0 || !gov_ev_read_at(fd, header, SPOOL_HEADER, 0) ||
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

		if (!gov_ev_read_at(fd, iobuf, RECORD_HEADER, off) || gov_ev_get32(iobuf) != RECORD_MAGIC)
			break;
		len = gov_ev_get32(iobuf + 4);
		if (len == 0 || len > EVENT_RECORD_MAX ||
			!gov_ev_read_at(fd, iobuf + RECORD_HEADER, len, off + RECORD_HEADER) ||
			gov_ev_crc32c(iobuf + RECORD_HEADER, len) != gov_ev_get32(iobuf + 8))
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
	gov_ev_queue->spool_gen = gov_ev_get64(header + 8);
	gov_ev_queue->spool_end = off;
	gov_ev_queue->spool_known = true;
	if (off > SPOOL_HEADER)
	{
		LWLockAcquire(gov_ev_queue->lock, LW_EXCLUSIVE);
		gov_ev_queue->spilling = true;
		LWLockRelease(gov_ev_queue->lock);
	}
	return true;
}

uint64
gov_ev_next_generation(void)
{
	uint64		now = (uint64) GetCurrentTimestamp();

	return Max(now, gov_ev_queue->spool_gen + 1);
}

/* Append one record and make it durable. */
static bool
spool_append(const EncodedEvent *ev, char *why, size_t whylen)
{
	int			fd;
	bool		ok;
	uint32		total = RECORD_HEADER + ev->len;

	if (!gov_ev_spool_ready(why, whylen))
		return false;
	if (gov_ev_queue->spool_gen == 0 && !gov_ev_spool_create(gov_ev_next_generation(), why, whylen))
		return false;
	fd = BasicOpenFile(SPOOL_FILE, O_WRONLY | PG_BINARY);
	if (fd < 0)
		return fail(why, whylen, "could not open");
	gov_ev_put32(iobuf, RECORD_MAGIC);
	gov_ev_put32(iobuf + 4, ev->len);
	gov_ev_put32(iobuf + 8, gov_ev_crc32c(ev->data, ev->len));
	memcpy(iobuf + RECORD_HEADER, ev->data, ev->len);
	ok = gov_ev_write_at(fd, iobuf, total, gov_ev_queue->spool_end) && pg_fsync(fd) == 0;
	if (!ok)
	{
		int			save = errno;

		/*
		 * Leave no partial record behind.  If even that fails, no harm: the
		 * next append writes at spool_end, over it.
		 */
		if (ftruncate(fd, (off_t) gov_ev_queue->spool_end) != 0)
		{
			/* nothing more to do */
		}
		close(fd);
		errno = save;
		return fail(why, whylen, "could not write to");
	}
	close(fd);
	gov_ev_queue->spool_end += total;
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

	LWLockAcquire(gov_ev_queue->lock, LW_EXCLUSIVE);
	to_spool = gov_ev_queue->spilling || gov_ev_queue->head - gov_ev_queue->tail >= EVENT_QUEUE_SIZE;
	if (!to_spool)
	{
		EventSlot  *s = &gov_ev_queue->slots[gov_ev_queue->head % EVENT_QUEUE_SIZE];

		memcpy(s->data, ev->data, ev->len);
		s->len = ev->len;
		s->state = SLOT_READY;
		gov_ev_queue->head++;
		wake = gov_ev_queue->head - gov_ev_queue->tail == EVENT_QUEUE_SIZE / 2;
	}
	else
	{
		wake = !gov_ev_queue->spilling;
		gov_ev_queue->spilling = true;
		gov_ev_queue->spool_writers++;
	}
	LWLockRelease(gov_ev_queue->lock);
	gov_stat_add(GOV_STAT_EVENTS_QUEUED, 1);
	if (to_spool)
		gov_stat_add(GOV_STAT_EVENTS_SPOOLED, 1);

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

	LWLockAcquire(gov_ev_queue->spool_lock, LW_EXCLUSIVE);
	ok = spool_append(ev, why, sizeof(why));
	LWLockRelease(gov_ev_queue->spool_lock);

	LWLockAcquire(gov_ev_queue->lock, LW_EXCLUSIVE);
	gov_ev_queue->spool_writers--;
	if (!ok)
		gov_ev_queue->lost++;
	LWLockRelease(gov_ev_queue->lock);
	if (!ok)
		gov_stat_add(GOV_STAT_EVENTS_LOST, 1);
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
	gj_str(&j, gov_iso_timestamp(GetCurrentTimestamp()));
	gj_key(&j, "detail");
	gj_str(&j, detail ? detail : "");
	gj_end_object(&j);
	queue_push(gov_ev_encode_event(kind, lease_id, principal, NULL, NULL, gj_finish(&j),
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
	return (GovPreparedEvent *) gov_ev_encode_event(kind, lease_id, principal, NULL, NULL, payload, cxt);
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
	gj_str(&j, gov_iso_timestamp(GetCurrentTimestamp()));
	gj_end_object(&j);
	extra = gj_finish(&j);
	payload = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(ev->payload),
												 JsonbPGetDatum(extra)));
	/* encoded now: the abort callback must neither allocate much nor fail */
	gov_xact_defer(&rollback_ops,
				   gov_ev_encode_event(ev->kind, NULL, ev->principal, ev->action, ev->resource,
									   payload, TopTransactionContext));
}
