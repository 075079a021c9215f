/*-------------------------------------------------------------------------
 *
 * events_drain.c
 *	  The enforcer's part of the security events (events.c has the design):
 *	  ledger what waits in the ring and the spool, each event exactly once,
 *	  a busy chain never holding back others, and the reads of one lease
 *	  batched into one row per round.
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
#include "trust.h"
#include "worker.h"
#include "xact_defer.h"

/* what the enforcer reads back */
static char readbuf[RECORD_HEADER + EVENT_RECORD_MAX];

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
	/* sorted; in TopMemoryContext for the current one */
	uint64	   *done;
} SpoolCursor;

static bool recovered = false;
static SpoolCursor cursor;
static uint64 drain_round = 0;

/* Per lease with events waiting: is its chain free this round? */
typedef enum ChainStatus
{
	CHAIN_FREE,					/* we hold its lock: ledger on the chain */
	CHAIN_BUSY,					/* held by another xact: leave its events */
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
	*len = gov_ev_get32(*p);
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
	{
		if (memcmp(&((PendingReads *) lfirst(lc))->lease, lease, sizeof(pg_uuid_t)) == 0)
			r = lfirst(lc);
	}
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
 * gov_ev_encode_event(): an error.
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

	LWLockAcquire(gov_ev_queue->lock, LW_EXCLUSIVE);
	for (pos = gov_ev_queue->tail; pos < gov_ev_queue->head; pos++)
	{
		EventSlot  *s = &gov_ev_queue->slots[pos % EVENT_QUEUE_SIZE];

		if (s->state == SLOT_CLAIMED)
			s->state = committed ? SLOT_DONE : SLOT_READY;
	}
	while (gov_ev_queue->tail < gov_ev_queue->head &&
		   gov_ev_queue->slots[gov_ev_queue->tail % EVENT_QUEUE_SIZE].state == SLOT_DONE)
	{
		gov_ev_queue->slots[gov_ev_queue->tail % EVENT_QUEUE_SIZE].state = SLOT_FREE;
		gov_ev_queue->tail++;
	}
	gov_ev_queue->claim_xid = InvalidFullTransactionId;
	LWLockRelease(gov_ev_queue->lock);
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

	LWLockAcquire(gov_ev_queue->lock, LW_SHARED);
	pos = gov_ev_queue->tail;
	head = gov_ev_queue->head;
	LWLockRelease(gov_ev_queue->lock);

	for (; pos < head && n < budget; pos++)
	{
		EventSlot  *s = &gov_ev_queue->slots[pos % EVENT_QUEUE_SIZE];

		/* slots before head stay as they are until this process changes them */
		if (s->state != SLOT_READY)
			continue;
		memcpy(readbuf, s->data, s->len);
		if (!ledger_record(readbuf, s->len))
			continue;
		LWLockAcquire(gov_ev_queue->lock, LW_EXCLUSIVE);
		if (!FullTransactionIdIsValid(gov_ev_queue->claim_xid))
			gov_ev_queue->claim_xid = GetTopFullTransactionId();
		s->state = SLOT_CLAIMED;
		LWLockRelease(gov_ev_queue->lock);
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

	gov_ev_put64(p, c->offset);
	gov_ev_put32(p + 8, (uint32) c->ndone);
	for (i = 0; i < c->ndone; i++)
		gov_ev_put64(p + 12 + 8 * i, c->done[i]);
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
	gov_ev_put64(cursor_buf + 8, after->gen);
	gov_ev_put64(cursor_buf + 16, FullTransactionIdIsValid(fxid) ? U64FromFullTransactionId(fxid) : 0);
	len = 24;
	len += put_cursor_state(cursor_buf + len, before);
	len += put_cursor_state(cursor_buf + len, after);
	gov_ev_put32(cursor_buf + len, gov_ev_crc32c(cursor_buf, len));
	len += 4;

	fd = BasicOpenFile(CURSOR_TMP, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY);
	if (fd < 0)
		return false;
	ok = gov_ev_write_at(fd, cursor_buf, len, 0) && pg_fsync(fd) == 0;
	close(fd);
	return ok && durable_rename(CURSOR_TMP, CURSOR_FILE, LOG) == 0;
}

static bool
get_cursor_state(const char **p, const char *end, SpoolCursor *c)
{
	int			i;

	if (end - *p < 12)
		return false;
	c->offset = gov_ev_get64(*p);
	c->ndone = (int) gov_ev_get32(*p + 8);
	*p += 12;
	if (c->ndone < 0 || c->ndone > CURSOR_MAX_DONE || end - *p < 8 * c->ndone)
		return false;
	c->done = MemoryContextAlloc(TopMemoryContext, sizeof(uint64) * Max(c->ndone, 1));
	for (i = 0; i < c->ndone; i++)
		c->done[i] = gov_ev_get64(*p + 8 * i);
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
		gov_ev_crc32c(cursor_buf, len - 4) != gov_ev_get32(cursor_buf + len - 4) ||
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
	if (gov_ev_get64(cursor_buf + 8) != gen)
		return;					/* about an earlier spool, all of it ledgered */
	xid = gov_ev_get64(cursor_buf + 16);
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

	LWLockAcquire(gov_ev_queue->spool_lock, LW_SHARED);
	end = gov_ev_queue->spool_end;
	gen = gov_ev_queue->spool_gen;
	LWLockRelease(gov_ev_queue->spool_lock);
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
		if (!gov_ev_read_at(fd, readbuf, RECORD_HEADER, off) || gov_ev_get32(readbuf) != RECORD_MAGIC ||
			(len = gov_ev_get32(readbuf + 4)) == 0 || len > EVENT_RECORD_MAX)
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
			if (!gov_ev_read_at(fd, readbuf + RECORD_HEADER, len, off + RECORD_HEADER) ||
				gov_ev_crc32c(readbuf + RECORD_HEADER, len) != gov_ev_get32(readbuf + 8))
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
	 * off is where this pass stopped: the old cursor's offsets from there on
	 * were not looked at and stay.  Offsets stay sorted.
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
	LWLockAcquire(gov_ev_queue->spool_lock, LW_SHARED);
	drained = gov_ev_queue->spool_gen == cursor.gen && cursor.ndone == 0 &&
		cursor.offset >= gov_ev_queue->spool_end;
	restart = gov_ev_queue->spool_end > SPOOL_HEADER;
	LWLockRelease(gov_ev_queue->spool_lock);
	LWLockAcquire(gov_ev_queue->lock, LW_SHARED);
	spilling = gov_ev_queue->spilling;
	LWLockRelease(gov_ev_queue->lock);
	if (!drained || !(restart || spilling))
		return;

	restart = false;
	LWLockAcquire(gov_ev_queue->spool_lock, LW_EXCLUSIVE);
	if (gov_ev_queue->spool_gen == cursor.gen && cursor.ndone == 0 &&
		cursor.offset >= gov_ev_queue->spool_end)
	{
		LWLockAcquire(gov_ev_queue->lock, LW_EXCLUSIVE);
		if (gov_ev_queue->spool_writers == 0)
		{
			gov_ev_queue->spilling = false;
			restart = gov_ev_queue->spool_end > SPOOL_HEADER;
		}
		LWLockRelease(gov_ev_queue->lock);
	}
	if (restart)
	{
		ok = gov_ev_spool_create(gov_ev_next_generation(), why, sizeof(why));
		if (ok)
		{
			cursor.gen = gov_ev_queue->spool_gen;
			cursor.offset = SPOOL_HEADER;
			cursor.ndone = 0;
		}
	}
	LWLockRelease(gov_ev_queue->spool_lock);
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

	LWLockAcquire(gov_ev_queue->lock, LW_SHARED);
	claim = gov_ev_queue->claim_xid;
	LWLockRelease(gov_ev_queue->lock);
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
	LWLockAcquire(gov_ev_queue->spool_lock, LW_EXCLUSIVE);
	ok = gov_ev_spool_ready(why, sizeof(why));
	gen = gov_ev_queue->spool_gen;
	LWLockRelease(gov_ev_queue->spool_lock);
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
	LWLockAcquire(gov_ev_queue->lock, LW_EXCLUSIVE);
	gov_ev_queue->lost -= *(uint64 *) arg;
	LWLockRelease(gov_ev_queue->lock);
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

	LWLockAcquire(gov_ev_queue->lock, LW_SHARED);
	n = gov_ev_queue->lost;
	LWLockRelease(gov_ev_queue->lock);
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
