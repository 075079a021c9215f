/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  verify_ledger(): recompute everything the ledger claims, and the
 *	  verifier worker that does it continuously.
 *
 *	  Blocks are walked in block_id order and rows in seq order, side by
 *	  side.  For each block: ids without holes, ranges contiguous, the
 *	  previous block's hash, the block hash, the signature under the key it
 *	  names (retired keys included), the row count, the running total and
 *	  the Merkle root recomputed from the rows present.  For each row: the
 *	  evidence hash recomputed from its canonical bytes, its chain link, and
 *	  that it belongs where it is: a seq that a block records as a gap must
 *	  be absent (else an extra row), a seq it does not must be present
 *	  (else a missing row), and no governed write nor delegation follows the
 *	  revocation or expiry of its lease or of an ancestor (FORMAT.md section
 *	  12: the chains map already holds each lease; it learns its parent and
 *	  its end on the way).  Rows after the last block must be younger than
 *	  governance.unsealed_grace.  The first problem found is reported, with
 *	  the seq it concerns.
 *
 *	  Nothing here writes, so it runs on a hot standby as well.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "postmaster/postmaster.h"
#include "utils/timestamp.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "common.h"
#include "ledger.h"
#include "retention.h"
#include "seal.h"
#include "stats.h"
#include "trust.h"
#include "verify.h"
#include "encode.h"

#define VERIFY_FETCH		10000
#define PROGRESS_EVERY_MS	5000

int			gov_unsealed_grace_ms = 60 * 1000;

static void gov_verify_define_worker_gucs(void);

typedef struct VerifyResult
{
	bool		ok;
	int64		rows;
	int64		blocks;
	bool		has_bad_seq;
	int64		bad_seq;
	int64		last_block;		/* last block verified */
	int64		pruned_blocks;	/* of blocks: checked by header only */
	char	   *problem;
} VerifyResult;

typedef struct ChainEntry
{
	pg_uuid_t	lease;			/* hash key */
	int64		seq;
	uint8		link[GOV_HASH_LEN];
	bool		has_parent;		/* a delegated execution: its parent lease */
	pg_uuid_t	parent;
	int64		ended_seq;		/* its governance.revoke or .lease.expired row */
	bool		ended_expired;	/* that row is governance.lease.expired */
	bool		end_unknown;	/* its chain began before the scan */
} ChainEntry;

/* What a row before the scan that a chain starts from says (lookup_prev). */
typedef struct PrevRow
{
	uint8		link[GOV_HASH_LEN];
	bool		has_lease;
	pg_uuid_t	lease;
	int			kind;			/* PREV_OTHER, PREV_DELEGATED, PREV_ENDED... */
} PrevRow;

#define PREV_OTHER		0
#define PREV_DELEGATED	1
#define PREV_REVOKE		2
#define PREV_EXPIRED	3

#define KIND_WRITE		"governance.write"
#define KIND_DELEGATED	"governance.delegated"
#define KIND_REVOKE		"governance.revoke"
#define KIND_EXPIRED	"governance.lease.expired"

typedef struct KeyEntry
{
	char		key_id[GOV_KEY_ID_LEN + 1];
	uint8		pk[GOV_ED25519_PK_LEN];
} KeyEntry;

typedef struct Verifier
{
	VerifyResult *res;
	HTAB	   *chains;
	KeyEntry   *keys;
	int			nkeys;
	MemoryContext rowcxt;
	Portal		rows;
	SPITupleTable *batch;
	uint64		batch_pos;
	bool		rows_done;
	TimestampTz last_progress;
	bool		report_progress;
	uint8		log_id[GOV_LOG_ID_LEN]; /* this database's */
	GovLineageHead *heads;		/* the current block's rows with a lease */
	int64		nheads;
	int64		headcap;
} Verifier;

void
gov_verify_define_gucs(void)
{
	DefineCustomIntVariable("governance.unsealed_grace",
							"How long a committed ledger row may stay unsealed before verification reports it.",
							NULL,
							&gov_unsealed_grace_ms,
							60 * 1000, 1000, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	gov_verify_define_worker_gucs();
}

static bool fail(Verifier *v, int64 seq, const char *fmt,...) pg_attribute_printf(3, 4);

static bool
fail(Verifier *v, int64 seq, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v->res->ok = false;
	v->res->has_bad_seq = true;
	v->res->bad_seq = seq;
	v->res->problem = pstrdup(buf);
	return false;
}

static void
load_keys(Verifier *v)
{
	int			rc;
	uint64		i;

	rc = SPI_execute("SELECT key_id, public_key FROM governance.signing_keys", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.signing_keys");
	v->nkeys = (int) SPI_processed;
	v->keys = palloc0(sizeof(KeyEntry) * Max(v->nkeys, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		char	   *id = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bytea	   *pk = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 2, &isnull));

		if (id)
			strlcpy(v->keys[i].key_id, id, sizeof(v->keys[i].key_id));
		if (!isnull && VARSIZE_ANY_EXHDR(pk) == GOV_ED25519_PK_LEN)
			memcpy(v->keys[i].pk, VARDATA_ANY(pk), GOV_ED25519_PK_LEN);
	}
}

static const uint8 *
find_key(Verifier *v, const char *key_id)
{
	int			i;

	for (i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].key_id, key_id) == 0)
			return v->keys[i].pk;
	return NULL;
}

/* ---------------------------------------------------------------------
 * Rows
 * ---------------------------------------------------------------------
 */

typedef struct RowData
{
	GovEventRow ev;
	pg_uuid_t	lease;
	uint8		evidence[GOV_HASH_LEN];
	uint8		link[GOV_HASH_LEN];
	bool		hashes_ok;		/* both stored hashes have the right length */
} RowData;

#define ROW_COLUMNS "seq, at, kind, lease_id, principal, action, resource, payload, " \
	"actor, txid, prev_seq, evidence, link"

static void
open_rows(Verifier *v, int64 from_seq, int64 to_seq)
{
	SPIPlanPtr	plan;
	Oid			argtypes[] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(from_seq), Int64GetDatum(to_seq)};

	plan = SPI_prepare("SELECT " ROW_COLUMNS " FROM governance.ledger "
					   "WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
					   2, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the ledger scan");
	v->rows = SPI_cursor_open(NULL, plan, args, NULL, true);
	v->batch = NULL;
	v->batch_pos = 0;
	v->rows_done = false;
}

static char *
text_or_null(Datum d, bool isnull)
{
	return isnull ? NULL : TextDatumGetCString(d);
}

static void
copy_stored_hash(Datum d, bool isnull, uint8 *out, bool *ok)
{
	bytea	   *b;

	if (isnull)
	{
		*ok = false;
		return;
	}
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != GOV_HASH_LEN)
	{
		*ok = false;
		return;
	}
	memcpy(out, VARDATA_ANY(b), GOV_HASH_LEN);
}

/* Next row in seq order into r (allocated in v->rowcxt); false at end. */
static bool
next_row(Verifier *v, RowData *r)
{
	HeapTuple	tup;
	Datum		vals[13];
	bool		nulls[13];
	MemoryContext old;

	if (v->rows_done)
		return false;
	if (v->batch == NULL || v->batch_pos >= v->batch->numvals)
	{
		if (v->batch)
			SPI_freetuptable(v->batch);
		SPI_cursor_fetch(v->rows, true, VERIFY_FETCH);
		v->batch = SPI_tuptable;
		v->batch_pos = 0;
		if (SPI_processed == 0)
		{
			v->rows_done = true;
			return false;
		}
	}
	tup = v->batch->vals[v->batch_pos++];

	MemoryContextReset(v->rowcxt);
	old = MemoryContextSwitchTo(v->rowcxt);
	heap_deform_tuple(tup, v->batch->tupdesc, vals, nulls);
	memset(r, 0, sizeof(*r));
	r->ev.seq = DatumGetInt64(vals[0]);
	r->ev.at = DatumGetTimestampTz(vals[1]);
	r->ev.kind = text_or_null(vals[2], nulls[2]);
	if (!nulls[3])
	{
		memcpy(&r->lease, DatumGetUUIDP(vals[3]), sizeof(pg_uuid_t));
		r->ev.lease_id = &r->lease;
	}
	r->ev.principal = text_or_null(vals[4], nulls[4]);
	r->ev.action = text_or_null(vals[5], nulls[5]);
	r->ev.resource = text_or_null(vals[6], nulls[6]);
	r->ev.payload = nulls[7] ? NULL : DatumGetJsonbP(vals[7]);
	r->ev.actor = text_or_null(vals[8], nulls[8]);
	r->ev.txid = nulls[9] ? 0 : (int64) U64FromFullTransactionId(DatumGetFullTransactionId(vals[9]));
	r->ev.has_prev = !nulls[10];
	r->ev.prev_seq = nulls[10] ? 0 : DatumGetInt64(vals[10]);
	r->hashes_ok = true;
	copy_stored_hash(vals[11], nulls[11], r->evidence, &r->hashes_ok);
	copy_stored_hash(vals[12], nulls[12], r->link, &r->hashes_ok);
	MemoryContextSwitchTo(old);
	return true;
}

static int
kind_code(const char *kind)
{
	if (strcmp(kind, KIND_DELEGATED) == 0)
		return PREV_DELEGATED;
	if (strcmp(kind, KIND_REVOKE) == 0)
		return PREV_REVOKE;
	if (strcmp(kind, KIND_EXPIRED) == 0)
		return PREV_EXPIRED;
	return PREV_OTHER;
}

/*
 * Does this database have retention's anchors (0.2)?  In the upgrade window
 * (the 0.2 library on the 0.1 catalog) it has not, and nothing was pruned.
 */
static bool
have_anchors(void)
{
	Oid			nsp = get_namespace_oid(GOV_SCHEMA_NAME, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("ledger_anchors", nsp));
}

/*
 * The row with a given seq outside the scan (rare: a delegated execution's
 * first row names its parent's governance.delegated row, or a chain goes on
 * after a prune): its link, lease and kind, from the ledger or, for a pruned
 * row, from its anchor (FORMAT.md section 17).
 */
static bool
lookup_prev(int64 seq, PrevRow *p)
{
	int			rc;
	bool		isnull;
	Datum		d;
	bool		ok = true;
	Oid			argtypes[] = {INT8OID};
	Datum		values[] = {Int64GetDatum(seq)};

	memset(p, 0, sizeof(*p));
	rc = SPI_execute_with_args(have_anchors() ?
							   "SELECT link, lease_id, kind FROM governance.ledger WHERE seq = $1 "
							   "UNION ALL "
							   "SELECT link, lease_id, kind FROM governance.ledger_anchors WHERE seq = $1 "
							   "LIMIT 1" :
							   "SELECT link, lease_id, kind FROM governance.ledger WHERE seq = $1",
							   1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	copy_stored_hash(d, isnull, p->link, &ok);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
	{
		p->has_lease = true;
		memcpy(&p->lease, DatumGetUUIDP(d), sizeof(pg_uuid_t));
	}
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (!isnull)
		p->kind = kind_code(TextDatumGetCString(d));
	return ok;
}

/*
 * A chain that began before the scan (a range verification, or after a
 * prune): did the lease end before seq, in a row the scan does not see?
 * Asked once per such lease, at its first write or delegation.
 */
static void
lookup_end(ChainEntry *ce, int64 seq)
{
	int			rc;
	bool		isnull;
	Datum		d;
	Oid			argtypes[] = {UUIDOID, INT8OID};
	Datum		values[] = {UUIDPGetDatum(&ce->lease), Int64GetDatum(seq)};

	ce->end_unknown = false;
	rc = SPI_execute_with_args(have_anchors() ?
							   "SELECT seq, kind FROM governance.ledger "
							   " WHERE lease_id = $1 AND seq < $2 AND kind IN ('" KIND_REVOKE "', '" KIND_EXPIRED "') "
							   "UNION ALL "
							   "SELECT seq, kind FROM governance.ledger_anchors "
							   " WHERE lease_id = $1 AND seq < $2 AND kind IN ('" KIND_REVOKE "', '" KIND_EXPIRED "') "
							   "ORDER BY seq LIMIT 1" :
							   "SELECT seq, kind FROM governance.ledger "
							   " WHERE lease_id = $1 AND seq < $2 AND kind IN ('" KIND_REVOKE "', '" KIND_EXPIRED "') "
							   "ORDER BY seq LIMIT 1",
							   2, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0)
		return;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	ce->ended_seq = DatumGetInt64(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	ce->ended_expired = !isnull && strcmp(TextDatumGetCString(d), KIND_EXPIRED) == 0;
}

/*
 * No governed write nor delegation on an execution after its revocation or
 * expiry, or after an ancestor's (a revocation ends the descendants too):
 * FORMAT.md sections 12 and 14.  The row that ended the lease, or the
 * nearest ancestor that ended before seq; NULL when none did.
 */
static ChainEntry *
ended_before(Verifier *v, ChainEntry *ce, int64 seq)
{
	int			depth;

	for (depth = 0; ce != NULL && depth < 10000; depth++)
	{
		bool		found;

		if (ce->ended_seq > 0 && ce->ended_seq < seq)
			return ce;
		if (!ce->has_parent)
			break;
		ce = hash_search(v->chains, &ce->parent, HASH_FIND, &found);
	}
	return NULL;
}

/* Evidence and chain checks of one row; also returns its Merkle leaf. */
static bool
check_row(Verifier *v, RowData *r, uint8 *leaf)
{
	uint8		evidence[GOV_HASH_LEN];
	uint8		link[GOV_HASH_LEN];
	PrevRow		pr;
	bool		have_pr = false;
	const uint8 *prev = NULL;
	ChainEntry *ce = NULL;
	bool		found = false;
	bool		kind_checked;

	if (!r->hashes_ok || r->ev.kind == NULL || r->ev.actor == NULL || r->ev.payload == NULL)
		return fail(v, r->ev.seq, "modified row %lld: a required column is NULL or malformed",
					(long long) r->ev.seq);

	gov_event_evidence(&r->ev, evidence);
	if (memcmp(evidence, r->evidence, GOV_HASH_LEN) != 0)
		return fail(v, r->ev.seq, "modified row %lld: its evidence hash does not match its contents",
					(long long) r->ev.seq);

	if (r->ev.lease_id)
		ce = hash_search(v->chains, r->ev.lease_id, HASH_FIND, &found);

	if (r->ev.has_prev)
	{
		if (r->ev.prev_seq >= r->ev.seq)
			return fail(v, r->ev.seq, "reordered row %lld: it links forward to row %lld",
						(long long) r->ev.seq, (long long) r->ev.prev_seq);
		if (found && ce->seq != r->ev.prev_seq)
			return fail(v, r->ev.seq,
						"broken chain at row %lld: it links to row %lld but the previous event of its execution is row %lld",
						(long long) r->ev.seq, (long long) r->ev.prev_seq, (long long) ce->seq);
		if (found)
			prev = ce->link;
		else if (lookup_prev(r->ev.prev_seq, &pr))
		{
			prev = pr.link;
			have_pr = true;
		}
		else
			return fail(v, r->ev.prev_seq, "missing row %lld: row %lld links to it",
						(long long) r->ev.prev_seq, (long long) r->ev.seq);
	}
	else if (found)
		return fail(v, r->ev.seq,
					"broken chain at row %lld: it starts its execution again after row %lld",
					(long long) r->ev.seq, (long long) ce->seq);

	gov_chain_link(prev, evidence, link);
	if (memcmp(link, r->link, GOV_HASH_LEN) != 0)
		return fail(v, r->ev.seq, "broken chain at row %lld: its chain link does not match",
					(long long) r->ev.seq);

	kind_checked = r->ev.lease_id &&
		(strcmp(r->ev.kind, KIND_WRITE) == 0 || strcmp(r->ev.kind, KIND_DELEGATED) == 0);
	if (r->ev.lease_id)
	{
		ce = hash_search(v->chains, r->ev.lease_id, HASH_ENTER, &found);
		if (!found)
		{
			ce->has_parent = false;
			ce->ended_seq = 0;
			ce->ended_expired = false;
			ce->end_unknown = false;
			/* a chain going on after a prune from its own end event */
			if (have_pr && pr.has_lease &&
				memcmp(&pr.lease, r->ev.lease_id, sizeof(pg_uuid_t)) == 0 &&
				(pr.kind == PREV_REVOKE || pr.kind == PREV_EXPIRED))
			{
				ce->ended_seq = r->ev.prev_seq;
				ce->ended_expired = (pr.kind == PREV_EXPIRED);
			}
			/* a delegated execution starts at its parent's delegated row */
			else if (have_pr && pr.has_lease && pr.kind == PREV_DELEGATED &&
					 memcmp(&pr.lease, r->ev.lease_id, sizeof(pg_uuid_t)) != 0)
			{
				ce->has_parent = true;
				memcpy(&ce->parent, &pr.lease, sizeof(pg_uuid_t));
			}
			else if (have_pr && pr.has_lease &&
					 memcmp(&pr.lease, r->ev.lease_id, sizeof(pg_uuid_t)) == 0)
				ce->end_unknown = true;
		}
		if (kind_checked)
		{
			ChainEntry *e;

			if (ce->end_unknown)
				lookup_end(ce, r->ev.seq);
			e = ended_before(v, ce, r->ev.seq);

			if (e != NULL)
				return fail(v, r->ev.seq,
							"%s after the end of its execution: row %lld of lease %s follows the %s event at row %lld",
							strcmp(r->ev.kind, KIND_WRITE) == 0 ? "a write" : "a delegation",
							(long long) r->ev.seq,
							DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(r->ev.lease_id))),
							e->ended_expired ? KIND_EXPIRED : KIND_REVOKE,
							(long long) e->ended_seq);
		}
		ce->seq = r->ev.seq;
		memcpy(ce->link, r->link, GOV_HASH_LEN);
		if (ce->ended_seq == 0 &&
			(strcmp(r->ev.kind, KIND_REVOKE) == 0 || strcmp(r->ev.kind, KIND_EXPIRED) == 0))
		{
			ce->ended_seq = r->ev.seq;
			ce->ended_expired = (strcmp(r->ev.kind, KIND_EXPIRED) == 0);
		}
	}
	if (leaf)
		gov_merkle_leaf(r->ev.seq, evidence, leaf);
	if (leaf && r->ev.lease_id)
	{
		if (v->nheads == v->headcap)
		{
			v->headcap = Max(64, v->headcap * 2);
			v->heads = v->heads ? repalloc(v->heads, sizeof(GovLineageHead) * v->headcap)
				: palloc(sizeof(GovLineageHead) * v->headcap);
		}
		memcpy(&v->heads[v->nheads].lease, r->ev.lease_id, sizeof(pg_uuid_t));
		v->heads[v->nheads].seq = r->ev.seq;
		memcpy(v->heads[v->nheads].link, r->link, GOV_HASH_LEN);
		v->nheads++;
	}
	v->res->rows++;
	return true;
}

/* Are all seqs in [lo, hi] gaps of b?  *gi walks the sorted gap list. */
static bool
covered_by_gaps(const GovBlock *b, int *gi, int64 lo, int64 hi, int64 *first_missing)
{
	while (lo <= hi)
	{
		while (*gi < b->ngaps && b->gaps[2 * *gi + 1] < lo)
			(*gi)++;
		if (*gi >= b->ngaps || b->gaps[2 * *gi] > lo)
		{
			*first_missing = lo;
			return false;
		}
		lo = b->gaps[2 * *gi + 1] + 1;
	}
	return true;
}

static bool
in_gap(const GovBlock *b, int gi, int64 seq)
{
	for (; gi < b->ngaps; gi++)
	{
		if (b->gaps[2 * gi] > seq)
			return false;
		if (b->gaps[2 * gi + 1] >= seq)
			return true;
	}
	return false;
}

static void
progress(Verifier *v)
{
	TimestampTz now;

	if (!v->report_progress)
		return;
	now = GetCurrentTimestamp();
	if (TimestampDifferenceExceeds(v->last_progress, now, PROGRESS_EVERY_MS))
	{
		ereport(NOTICE,
				(errmsg("verify_ledger: %lld rows and %lld blocks checked so far",
						(long long) v->res->rows, (long long) v->res->blocks)));
		v->last_progress = now;
	}
}

static bool
check_block_header(Verifier *v, const GovBlock *b, const GovBlock *prev, bool have_prev)
{
	uint8		hash[GOV_HASH_LEN];
	const uint8 *pk;
	GovEnc		msg;
	bool		sig_ok;
	int			i;

	if (have_prev)
	{
		if (b->block_id != prev->block_id + 1)
			return fail(v, prev->last_seq + 1, "missing block %lld: block %lld follows block %lld",
						(long long) (prev->block_id + 1), (long long) b->block_id,
						(long long) prev->block_id);
		if (b->first_seq != prev->last_seq + 1)
			return fail(v, Min(b->first_seq, prev->last_seq + 1),
						"bad block %lld: it starts at row %lld, not %lld",
						(long long) b->block_id, (long long) b->first_seq,
						(long long) (prev->last_seq + 1));
		if (!b->has_prev || memcmp(b->prev_hash, prev->block_hash, GOV_HASH_LEN) != 0)
			return fail(v, b->first_seq, "bad block %lld: it does not name block %lld's hash",
						(long long) b->block_id, (long long) prev->block_id);
		if (b->total_rows != prev->total_rows + b->row_count)
			return fail(v, b->first_seq, "bad block %lld: its running row total is wrong",
						(long long) b->block_id);
	}
	else
	{
		if (b->block_id != 1 || b->first_seq != 1 || b->has_prev || b->total_rows != b->row_count)
			return fail(v, b->first_seq, "bad block %lld: the first block must be block 1 starting at row 1",
						(long long) b->block_id);
	}
	if (b->last_seq < b->first_seq || b->row_count <= 0)
		return fail(v, b->first_seq, "bad block %lld: empty or inverted range", (long long) b->block_id);
	if (b->version != 1 && b->version != 2)
		return fail(v, b->first_seq, "bad block %lld: unknown format version %d",
					(long long) b->block_id, b->version);
	if (have_prev && b->version < prev->version)
		return fail(v, b->first_seq, "bad block %lld: format version %d after version %d",
					(long long) b->block_id, b->version, prev->version);
	if (b->version >= 2 && memcmp(b->log_id, v->log_id, GOV_LOG_ID_LEN) != 0)
		return fail(v, b->first_seq, "block %lld belongs to another log: it names log %s, this ledger is log %s",
					(long long) b->block_id, gov_hex(b->log_id, GOV_LOG_ID_LEN),
					gov_hex(v->log_id, GOV_LOG_ID_LEN));
	for (i = 0; i < b->ngaps; i++)
		if (b->gaps[2 * i] > b->gaps[2 * i + 1] || b->gaps[2 * i] < b->first_seq ||
			b->gaps[2 * i + 1] >= b->last_seq ||
			(i > 0 && b->gaps[2 * i] <= b->gaps[2 * i - 1] + 1))
			return fail(v, b->first_seq, "bad block %lld: malformed gap list", (long long) b->block_id);

	gov_block_hash(b, hash);
	if (memcmp(hash, b->block_hash, GOV_HASH_LEN) != 0)
		return fail(v, b->first_seq, "bad block %lld: its hash does not match its contents",
					(long long) b->block_id);

	pk = find_key(v, b->key_id);
	if (pk == NULL)
		return fail(v, b->first_seq, "unknown key %s signed block %lld",
					b->key_id, (long long) b->block_id);
	gov_checkpoint_encode(&msg, b);
	sig_ok = gov_ed25519_verify(b->signature, msg.buf.data, msg.buf.len, pk);
	gov_enc_free(&msg);
	if (!sig_ok)
		return fail(v, b->first_seq, "bad signature on block %lld", (long long) b->block_id);
	return true;
}

/* Rows of block b, starting with *r (already read if *have_row). */
static bool
check_block_rows(Verifier *v, const GovBlock *b, RowData *r, bool *have_row)
{
	uint8	   *leaves = palloc(GOV_HASH_LEN * Max(b->row_count, 1));
	int64		nleaves = 0;
	int64		cap = Max(b->row_count, 1);
	int64		expect = b->first_seq;
	int			gi = 0;
	int64		missing;
	uint8		root[GOV_HASH_LEN];

	v->nheads = 0;
	while (*have_row && r->ev.seq <= b->last_seq)
	{
		if (r->ev.seq < expect)
			return fail(v, r->ev.seq, "extra row %lld: no block has room for it", (long long) r->ev.seq);
		if (in_gap(b, gi, r->ev.seq))
			return fail(v, r->ev.seq, "extra row %lld: block %lld sealed its seq as aborted",
						(long long) r->ev.seq, (long long) b->block_id);
		if (!covered_by_gaps(b, &gi, expect, r->ev.seq - 1, &missing))
			return fail(v, missing, "missing row %lld: it was sealed in block %lld",
						(long long) missing, (long long) b->block_id);
		if (nleaves == cap)
		{
			cap *= 2;
			leaves = repalloc(leaves, GOV_HASH_LEN * cap);
		}
		if (!check_row(v, r, leaves + nleaves * GOV_HASH_LEN))
			return false;
		nleaves++;
		expect = r->ev.seq + 1;
		progress(v);
		CHECK_FOR_INTERRUPTS();
		*have_row = next_row(v, r);
	}
	if (!covered_by_gaps(b, &gi, expect, b->last_seq, &missing))
		return fail(v, missing, "missing row %lld: it was sealed in block %lld",
					(long long) missing, (long long) b->block_id);
	if (nleaves != b->row_count)
		return fail(v, b->first_seq, "bad block %lld: it claims %lld rows, the ledger has %lld",
					(long long) b->block_id, (long long) b->row_count, (long long) nleaves);
	gov_merkle_root(leaves, nleaves, root);
	pfree(leaves);
	if (memcmp(root, b->merkle_root, GOV_HASH_LEN) != 0)
		return fail(v, b->first_seq, "bad block %lld: its Merkle root does not match its rows",
					(long long) b->block_id);
	if (b->version >= 2)
	{
		gov_lineage_root(v->heads, v->nheads, root);
		if (memcmp(root, b->lineage_root, GOV_HASH_LEN) != 0)
			return fail(v, b->first_seq, "bad block %lld: its lineage map does not match its rows",
						(long long) b->block_id);
	}
	v->res->blocks++;
	v->res->last_block = b->block_id;
	return true;
}

/*
 * The tenant of each lease whose first event the scan verified (seq from
 * from_seq on) is the one that event names (docs/DESIGN.md, "Tenants"):
 * governance.leases.tenant is what export_tenant() selects by, so an
 * edited column would move an execution from one tenant's export to
 * another's; the governance.authorize event at the lease's first_seq is
 * evidence, just checked.  One join, not a lookup per row of the scan:
 * about 3 us a lease (docs/BENCHMARKS.md, "verify_ledger and tenants"),
 * where the scan spends about as much on each row.  Only verify_ledger()
 * to the newest row runs it, not the verifier worker's rounds.
 */
static void
check_tenants(Verifier *v, int64 from_seq)
{
	Oid			argtypes[] = {INT8OID};
	Datum		values[1];
	int			rc;
	bool		isnull;
	int64		seq;
	char	   *lease;
	char	   *column;
	char	   *event;
	bool		found;

	/* the upgrade window: the 0.1 catalog has no tenants (lease_rows.c) */
	if (get_attnum(gov_relid("leases"), "tenant") == InvalidAttrNumber)
		return;
	values[0] = Int64GetDatum(from_seq);
	rc = SPI_execute_with_args("SELECT l.first_seq, l.lease_id::text, l.tenant, g.payload->>'tenant', g.seq IS NOT NULL"
							   " FROM governance.leases l"
							   " LEFT JOIN governance.ledger g ON g.seq = l.first_seq AND g.lease_id = l.lease_id"
							   " AND g.kind = 'governance.authorize'"
							   " WHERE l.first_seq >= $1"
							   " AND (g.seq IS NULL OR l.tenant IS DISTINCT FROM g.payload->>'tenant')"
							   " ORDER BY l.first_seq, l.lease_id LIMIT 1",
							   1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the leases' tenants");
	if (SPI_processed == 0)
		return;
	seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lease = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	column = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	event = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	found = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	if (!found)
		fail(v, seq, "lease %s: its first_seq %lld is not its governance.authorize event, so its tenant cannot be checked",
			 lease, (long long) seq);
	else
		fail(v, seq, "modified lease %s: its tenant column is %s, its governance.authorize event at row %lld names %s",
			 lease, column ? column : "NULL", (long long) seq, event ? event : "none");
}

/*
 * Verify blocks from_block..to_block (to_block <= 0: all, and then the
 * unsealed tail; with tenants, then each lease's tenant against its first
 * event, check_tenants()).  The caller is connected to SPI.
 */
static void
verify_range(VerifyResult *res, int64 from_block, int64 to_block, bool report_progress,
			 TimestampTz grace_base, bool tenants)
{
	int64		horizon;
	int64		last_allocated;
	Verifier	v;
	HASHCTL		ctl;
	GovBlock	prev;
	GovBlock	b;
	bool		have_prev = false;
	RowData		r;
	bool		have_row;
	int64		first_seq = PG_INT64_MIN;	/* rows before block 1 are extra */
	int64		last_seq = PG_INT64_MAX;
	int64		block_id;
	int64		pruned_through;
	int64		tenants_from = 1;
	TimestampTz now = GetCurrentTimestamp();

	memset(res, 0, sizeof(*res));
	res->ok = true;
	memset(&v, 0, sizeof(v));
	v.res = res;
	v.report_progress = report_progress;
	v.last_progress = now;
	v.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "verify_ledger row",
									 ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(ChainEntry);
	ctl.hcxt = CurrentMemoryContext;
	v.chains = hash_create("verify_ledger chains", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	load_keys(&v);
	if (gov_format2())
		gov_log_id(v.log_id);

	if (from_block < 1)
		from_block = 1;
	if (from_block > 1)
	{
		if (!gov_block_load(from_block - 1, &prev))
		{
			Oid			argtypes[] = {INT8OID};
			Datum		values[] = {Int64GetDatum(from_block - 1)};
			int64		after = 1;
			bool		isnull = true;
			Datum		d;

			/*
			 * Name the seq a verification from block 1 would: the first after
			 * the nearest earlier block (so that block ranges verified apart
			 * and combined say what the whole says).
			 */
			if (SPI_execute_with_args("SELECT max(last_seq) FROM governance.ledger_blocks WHERE block_id < $1",
									  1, argtypes, values, NULL, true, 1) == SPI_OK_SELECT &&
				SPI_processed == 1)
			{
				d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
				if (!isnull)
					after = DatumGetInt64(d) + 1;
			}
			fail(&v, after, "missing block %lld", (long long) (from_block - 1));
			return;
		}
		have_prev = true;
		first_seq = prev.last_seq + 1;
	}
	if (to_block > 0)
	{
		GovBlock	lastb;

		if (!gov_block_load(to_block, &lastb))
		{
			fail(&v, 0, "missing block %lld", (long long) to_block);
			return;
		}
		last_seq = lastb.last_seq;
	}

	pruned_through = gov_retention_pruned_through();
	if (pruned_through >= from_block)
	{
		GovBlock	pb;

		/* leases whose first event was pruned are not checked */
		if (gov_block_load(pruned_through, &pb))
			tenants_from = pb.last_seq + 1;
	}
	if (first_seq > tenants_from)
		tenants_from = first_seq;
	open_rows(&v, first_seq, last_seq);
	have_row = next_row(&v, &r);

	for (block_id = from_block; to_block <= 0 || block_id <= to_block; block_id++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!gov_block_load(block_id, &b))
		{
			Oid			argtypes[] = {INT8OID};
			Datum		values[] = {Int64GetDatum(block_id)};
			int			rc;
			bool		isnull = true;

			/* a later block without this one is a hole, not the end */
			rc = SPI_execute_with_args("SELECT min(block_id) FROM governance.ledger_blocks WHERE block_id > $1",
									   1, argtypes, values, NULL, true, 1);
			if (rc == SPI_OK_SELECT && SPI_processed == 1)
				(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
			{
				fail(&v, have_prev ? prev.last_seq + 1 : 1, "missing block %lld", (long long) block_id);
				return;
			}
			if (to_block > 0)
			{
				fail(&v, 0, "missing block %lld", (long long) block_id);
				return;
			}
			break;
		}
		if (!check_block_header(&v, &b, &prev, have_prev))
			return;
		if (block_id <= pruned_through)
		{
			/* rows pruned (src/retention.c): the header, chain, signature */
			if (have_row && r.ev.seq <= b.last_seq)
			{
				fail(&v, r.ev.seq, "extra row %lld: block %lld was pruned",
					 (long long) r.ev.seq, (long long) b.block_id);
				return;
			}
			res->blocks++;
			res->pruned_blocks++;
			res->last_block = b.block_id;
		}
		else if (!check_block_rows(&v, &b, &r, &have_row))
			return;
		prev = b;
		have_prev = true;
	}

	if (to_block > 0)
		return;

	/*
	 * The unsealed tail: intact, and not stuck.  A row counts as stuck only
	 * if the sealer could have sealed it (it is below the sealing horizon: an
	 * open transaction holding sealing back is not tampering) and it has been
	 * sealable for longer than the grace period, counted from when this
	 * server (or this verifier) started if that is later.  A standby does not
	 * seal, so it does not judge this.
	 */
	horizon = RecoveryInProgress() ? PG_INT64_MIN : gov_ledger_horizon(false, 0);
	last_allocated = RecoveryInProgress() ? PG_INT64_MAX : gov_ledger_last_allocated();
	while (have_row)
	{
		if (r.ev.seq < 1)
		{
			fail(&v, r.ev.seq, "extra row %lld: seqs start at 1", (long long) r.ev.seq);
			return;
		}
		if (r.ev.seq > last_allocated)
		{
			fail(&v, r.ev.seq, "extra row %lld: no append was ever given this seq",
				 (long long) r.ev.seq);
			return;
		}
		if (!check_row(&v, &r, NULL))
			return;
		if (r.ev.seq <= horizon &&
			TimestampDifferenceExceeds(Max(r.ev.at, grace_base), now, gov_unsealed_grace_ms))
		{
			fail(&v, r.ev.seq, "unsealed row %lld: committed at %s and still in no block",
				 (long long) r.ev.seq, timestamptz_to_str(r.ev.at));
			return;
		}
		progress(&v);
		CHECK_FOR_INTERRUPTS();
		have_row = next_row(&v, &r);
	}
	if (tenants)
		check_tenants(&v, tenants_from);
}

static Datum
result_datum(FunctionCallInfo fcinfo, const VerifyResult *res)
{
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	values[0] = BoolGetDatum(res->ok);
	values[1] = Int64GetDatum(res->rows);
	values[2] = Int64GetDatum(res->blocks);
	if (res->has_bad_seq)
		values[3] = Int64GetDatum(res->bad_seq);
	else
		nulls[3] = true;
	if (res->problem)
		values[4] = CStringGetTextDatum(res->problem);
	else if (res->ok && res->pruned_blocks > 0)
		values[4] = CStringGetTextDatum(psprintf("ok; %lld pruned blocks checked by header, chain and signature only (their rows are in archived bundles)",
												 (long long) res->pruned_blocks));
	else
		nulls[4] = true;
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* Run a verification in its own memory context; copy the problem out. */
static void
run_verify(VerifyResult *res, int64 from_block, int64 to_block, bool report_progress,
		   TimestampTz grace_base, bool tenants)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *problem;

	SPI_connect();
	verify_range(res, from_block, to_block, report_progress, grace_base, tenants);
	problem = res->problem ? MemoryContextStrdup(caller, res->problem) : NULL;
	SPI_finish();
	res->problem = problem;
}

/*
 * verify_ledger(from_block bigint DEFAULT 1, to_block bigint DEFAULT NULL)
 *   -> (ok, rows_checked, blocks_checked, first_bad_seq, problem)
 */
PG_FUNCTION_INFO_V1(gov_sql_verify_ledger);
Datum
gov_sql_verify_ledger(PG_FUNCTION_ARGS)
{
	VerifyResult res;
	int64		from_block = PG_ARGISNULL(0) ? 1 : PG_GETARG_INT64(0);
	int64		to_block = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);

	GOV_ENTRY();

	/*
	 * NULL bounds mean the first and the newest block; an explicit bound must
	 * name a block (to_block 0 is not "to the end", which 0 means to
	 * verify_range).
	 */
	if (from_block < 1 || (!PG_ARGISNULL(1) && to_block < from_block))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid block range %lld..%lld", (long long) from_block,
						(long long) to_block)));
	run_verify(&res, from_block, to_block, true, PgStartTime, true);
	PG_RETURN_DATUM(result_datum(fcinfo, &res));
}

/*
 * verify_ledger(checkpoint jsonb): check a checkpoint kept outside the
 * database, then everything after the block it names.  What the checkpoint
 * covers was verified when it was taken; a removed tail or a rewritten
 * block it names is caught by the checkpoint itself.
 */
PG_FUNCTION_INFO_V1(gov_sql_verify_ledger_from_checkpoint);
Datum
gov_sql_verify_ledger_from_checkpoint(PG_FUNCTION_ARGS)
{
	VerifyResult res;
	int64		block_id = 0;
	char	   *problem;
	MemoryContext caller = CurrentMemoryContext;

	GOV_ENTRY();
	memset(&res, 0, sizeof(res));
	if (PG_ARGISNULL(0))
	{
		res.problem = "no checkpoint given";
		PG_RETURN_DATUM(result_datum(fcinfo, &res));
	}
	SPI_connect();
	problem = gov_checkpoint_check(PG_GETARG_JSONB_P(0), &block_id, &res.bad_seq);
	if (problem)
		problem = MemoryContextStrdup(caller, problem);
	SPI_finish();
	if (problem)
	{
		res.ok = false;
		res.has_bad_seq = (res.bad_seq != 0);
		res.problem = problem;
		PG_RETURN_DATUM(result_datum(fcinfo, &res));
	}
	run_verify(&res, block_id + 1, 0, true, PgStartTime, true);
	PG_RETURN_DATUM(result_datum(fcinfo, &res));
}

/* ---------------------------------------------------------------------
 * The verifier worker
 * ---------------------------------------------------------------------
 */

/*
 * The worker verifies two things each round: everything new since its last
 * round (blocks and the unsealed tail), and a slice of the blocks it has
 * already verified, walking from the first block to the last and starting
 * over, governance.verify_rows_per_round rows at a time.  So tampering with
 * an old block is found within (ledger rows / rows per round) rounds,
 * not only at the next restart.
 */
static int64 verified_through = 0;	/* newest block verified */
static int64 rescan_next = 1;	/* next old block to verify again */

/* After a failure, wait for restore_trust() before verifying again. */
static bool failed = false;

static TimestampTz grace_base = 0;
static bool was_in_recovery = false;

int			gov_verify_rows_per_round = 100000;

static void
gov_verify_define_worker_gucs(void)
{
	DefineCustomIntVariable("governance.verify_rows_per_round",
							"How many already-verified ledger rows the verifier re-verifies each round.",
							"The verifier walks the whole ledger again this many rows at a time, forever.",
							&gov_verify_rows_per_round,
							100000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}

/* Last block of a slice starting at from that holds about budget rows. */
static int64
slice_end(int64 from, int64 budget)
{
	int			rc;
	bool		isnull;
	Datum		d;
	Oid			argtypes[] = {INT8OID, INT8OID, INT8OID};
	Datum		values[] = {
		Int64GetDatum(from), Int64GetDatum(budget), Int64GetDatum(verified_through)
	};

	rc = SPI_execute_with_args("SELECT coalesce(max(b.block_id), $1) FROM governance.ledger_blocks b, "
							   "(SELECT total_rows - row_count AS base FROM governance.ledger_blocks "
							   " WHERE block_id = $1) s "
							   "WHERE b.block_id >= $1 AND b.block_id <= $3 "
							   "AND b.total_rows - s.base <= $2",
							   3, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0)
		return from;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? from : DatumGetInt64(d);
}

static void
ledger_degradation(const char *why)
{
	GovJson		j;

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "reason");
	gj_str(&j, why);
	gj_end_object(&j);
	gov_ledger_append_system("governance.trust.degraded", NULL, gj_finish(&j));
}

/*
 * A degradation seen during recovery could not be ledgered then; it is
 * ledgered as soon as this server can write (after a promotion).
 */
static void
ledger_pending_degradation(void)
{
	char	   *why = gov_trust_take_unledgered();

	if (why)
		ledger_degradation(why);
}

static void
degrade(const char *problem)
{
	char	   *why = psprintf("ledger verification failed: %s", problem);

	failed = true;
	if (gov_trust_degrade(why))
	{
		if (RecoveryInProgress())
			gov_trust_mark_unledgered();
		else
			ledger_degradation(why);
	}
}

void
gov_verifier_duty(void)
{
	VerifyResult res;

	/* grace periods count from our start, or from a promotion */
	if (grace_base == 0 || (was_in_recovery && !RecoveryInProgress()))
		grace_base = GetCurrentTimestamp();
	was_in_recovery = RecoveryInProgress();

	if (gov_trust_take_reverify_request())
	{
		verified_through = 0;
		rescan_next = 1;
		failed = false;
	}
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!RecoveryInProgress())
		ledger_pending_degradation();
	if (failed)
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		gov_stats_verifier_result(false, verified_through);
		return;
	}

	/* what is new */
	run_verify(&res, verified_through + 1, 0, false, grace_base, false);
	if (!res.ok)
		degrade(res.problem);
	else
	{
		if (res.last_block > verified_through)
			verified_through = res.last_block;

		/* a slice of what was verified before */
		if (gov_verify_rows_per_round > 0 && verified_through > 0)
		{
			int64		to;

			if (rescan_next > verified_through)
				rescan_next = 1;
			SPI_connect();
			to = slice_end(rescan_next, gov_verify_rows_per_round);
			SPI_finish();
			run_verify(&res, rescan_next, to, false, grace_base, false);
			if (!res.ok)
				degrade(res.problem);
			else
				rescan_next = to + 1;
		}
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	gov_stats_verifier_result(!failed, verified_through);
}
