/*-------------------------------------------------------------------------
 *
 * evidence.c
 *	  Evidence an auditor carries away (docs/FORMAT.md, section 12):
 *	  export(from_block, to_block), a bundle of blocks with their rows,
 *	  keys and checkpoint; inclusion_proof(seq), one event's audit path in
 *	  its block's Merkle tree; consistency_proof(old, new), the block
 *	  headers that show a later checkpoint extends an earlier one.
 *
 *	  Each returns lines of text (src/evidence_codec.c writes the tokens)
 *	  for COPY ... TO STDOUT or psql's \copy, so no superuser is needed,
 *	  and each reads the ledger as it is stored, without judging it:
 *	  verification is the reader's job (verify_ledger() in SQL, or
 *	  contrib/governance-verify offline).  export() returns its lines one
 *	  at a time, reading the ledger in batches, so called in a select list
 *	  it streams any number of rows; it reports progress every 5 seconds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "common.h"
#include "crypto.h"
#include "encode.h"
#include "evidence.h"
#include "evidence_codec.h"
#include "keys.h"
#include "seal.h"
#include "retention.h"

#define EXPORT_BATCH		2000
#define PROGRESS_EVERY_MS	5000

/* ---------------------------------------------------------------------
 * Tokens on a StringInfo
 * ---------------------------------------------------------------------
 */

static void
put_word(StringInfo s, const char *w)
{
	if (s->len > 0)
		appendStringInfoChar(s, ' ');
	appendStringInfoString(s, w);
}

static void
put_int(StringInfo s, int64 v)
{
	put_word(s, "");
	enlargeStringInfo(s, GOV_EV_INT_MAX + 1);
	s->len += gov_ev_put_int(s->data + s->len, v);
	s->data[s->len] = '\0';
}

static void
put_hex(StringInfo s, const void *p, size_t n)
{
	if (p == NULL)
	{
		put_word(s, "-");
		return;
	}
	put_word(s, "");
	enlargeStringInfo(s, 2 * n + 1);
	s->len += gov_ev_put_hex(s->data + s->len, p, n);
	s->data[s->len] = '\0';
}

static void
put_b64(StringInfo s, const void *p, size_t n)
{
	put_word(s, "");
	enlargeStringInfo(s, GOV_EV_B64_LEN(n) + 2);
	s->len += gov_ev_put_b64(s->data + s->len, p, n);
	s->data[s->len] = '\0';
}

/* a column of a tuple as base64url of its bytes (text, bytea), "-" if NULL */
static void
put_col_b64(StringInfo s, HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	text	   *t;

	if (isnull)
	{
		put_b64(s, NULL, 0);
		return;
	}
	t = DatumGetTextPP(d);
	put_b64(s, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static void
put_col_hex(StringInfo s, HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	bytea	   *b;

	if (isnull)
	{
		put_hex(s, NULL, 0);
		return;
	}
	b = DatumGetByteaPP(d);
	put_hex(s, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
}

static void
put_col_int(StringInfo s, HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		put_word(s, "-");
	else
		put_int(s, DatumGetInt64(d));
}

static void
put_col_time(StringInfo s, HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		put_word(s, "-");
	else
		put_int(s, gov_timestamp_to_unix_micros(DatumGetTimestampTz(d)));
}

/* a key id column: 16 hex characters as they are, "-" if NULL */
static void
put_col_word(StringInfo s, HeapTuple tup, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	put_word(s, v ? v : "-");
}

/* ---------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------------
 */

static void
block_line(StringInfo s, const char *type, const GovBlock *b)
{
	int			i;

	resetStringInfo(s);
	put_word(s, type);
	put_int(s, b->block_id);
	put_int(s, b->first_seq);
	put_int(s, b->last_seq);
	put_int(s, b->row_count);
	put_int(s, b->total_rows);
	if (b->ngaps == 0)
		put_word(s, "=");
	else
		for (i = 0; i < b->ngaps; i++)
			appendStringInfo(s, "%s" INT64_FORMAT ":" INT64_FORMAT, i == 0 ? " " : ",",
							 b->gaps[2 * i], b->gaps[2 * i + 1]);
	put_hex(s, b->merkle_root, GOV_HASH_LEN);
	put_hex(s, b->has_prev ? b->prev_hash : NULL, GOV_HASH_LEN);
	put_int(s, gov_timestamp_to_unix_micros(b->sealed_at));
	put_word(s, b->key_id[0] ? b->key_id : "-");
	put_hex(s, b->block_hash, GOV_HASH_LEN);
	put_hex(s, b->signature, GOV_ED25519_SIG_LEN);
	put_int(s, b->version);
	put_hex(s, b->version >= 2 ? b->log_id : NULL, GOV_LOG_ID_LEN);
	put_hex(s, b->version >= 2 ? b->lineage_root : NULL, GOV_HASH_LEN);
}

static void
checkpoint_line(StringInfo s, const GovBlock *b)
{
	resetStringInfo(s);
	put_word(s, "checkpoint");
	put_int(s, b->block_id);
	put_hex(s, b->block_hash, GOV_HASH_LEN);
	put_int(s, b->last_seq);
	put_int(s, b->total_rows);
	put_int(s, gov_timestamp_to_unix_micros(b->sealed_at));
	put_word(s, b->key_id[0] ? b->key_id : "-");
	put_hex(s, b->signature, GOV_ED25519_SIG_LEN);
	put_int(s, b->version);
	put_hex(s, b->version >= 2 ? b->log_id : NULL, GOV_LOG_ID_LEN);
}

#define ROW_COLUMNS "seq, at, kind, lease_id, principal, action, resource, payload, " \
	"actor, txid::text::bigint, prev_seq, evidence, link"

static void
row_line(StringInfo s, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		d;
	StringInfoData canon;

	resetStringInfo(s);
	put_word(s, "row");
	put_col_int(s, tup, desc, 1);
	put_col_time(s, tup, desc, 2);
	put_col_b64(s, tup, desc, 3);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	put_hex(s, isnull ? NULL : DatumGetUUIDP(d)->data, UUID_LEN);
	put_col_b64(s, tup, desc, 5);
	put_col_b64(s, tup, desc, 6);
	put_col_b64(s, tup, desc, 7);
	d = SPI_getbinval(tup, desc, 8, &isnull);
	if (isnull)
		put_b64(s, NULL, 0);
	else
	{
		initStringInfo(&canon);
		gov_canonical_json(&canon, DatumGetJsonbP(d));
		put_b64(s, canon.data, canon.len);
		pfree(canon.data);
	}
	put_col_b64(s, tup, desc, 9);
	put_col_int(s, tup, desc, 10);
	put_col_int(s, tup, desc, 11);
	put_col_hex(s, tup, desc, 12);
	put_col_hex(s, tup, desc, 13);
}

/*
 * Append a copy of line to *lines in cxt.  SPI calls return in SPI's
 * procedure context, so nothing here relies on the current context.
 */
static void
add_line(List **lines, MemoryContext cxt, const char *line)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	*lines = lappend(*lines, pstrdup(line));
	MemoryContextSwitchTo(old);
}

/* Every key, oldest first, one line each, appended to *lines in cxt. */
static void
key_lines(List **lines, MemoryContext cxt, StringInfo s)
{
	int			rc;
	uint64		i;

	rc = SPI_execute("SELECT key_id, public_key, created_at, retired_at, self_signature, "
					 "endorsed_by, endorsement FROM governance.signing_keys "
					 "ORDER BY created_at, key_id COLLATE \"C\"", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.signing_keys");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		resetStringInfo(s);
		put_word(s, "key");
		put_col_word(s, tup, desc, 1);
		put_col_hex(s, tup, desc, 2);
		put_col_time(s, tup, desc, 3);
		put_col_time(s, tup, desc, 4);
		put_col_hex(s, tup, desc, 5);
		put_col_word(s, tup, desc, 6);
		put_col_hex(s, tup, desc, 7);
		add_line(lines, cxt, s->data);
	}
}

/* The newest block, or false when nothing is sealed. */
static bool
newest_block(GovBlock *b)
{
	int			rc;
	bool		isnull;
	Datum		d;

	rc = SPI_execute("SELECT max(block_id) FROM governance.ledger_blocks", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read governance.ledger_blocks");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	return gov_block_load(DatumGetInt64(d), b);
}

/* The first block after after_id up to to_id, or false. */
static bool
next_block(int64 after_id, int64 to_id, GovBlock *b)
{
	int			rc;
	bool		isnull;
	Datum		d;
	Oid			argtypes[] = {INT8OID, INT8OID};
	Datum		values[] = {Int64GetDatum(after_id), Int64GetDatum(to_id)};

	rc = SPI_execute_with_args("SELECT min(block_id) FROM governance.ledger_blocks "
							   "WHERE block_id > $1 AND block_id <= $2",
							   2, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read governance.ledger_blocks");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	return gov_block_load(DatumGetInt64(d), b);
}

static void
require_sealed(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the ledger has no sealed block yet"),
			 errhint("The sealer seals committed rows every governance.seal_interval; governance.seal() seals them now.")));
}

static void
no_such_block(int64 block_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("ledger block " INT64_FORMAT " does not exist", block_id)));
}

/* ---------------------------------------------------------------------
 * export(from_block, to_block)
 * ---------------------------------------------------------------------
 */

typedef enum
{
	EXPORT_START,
	EXPORT_ROWS,
	EXPORT_TAIL,
	EXPORT_DONE
} ExportPhase;

typedef struct ExportState
{
	ExportPhase phase;
	int64		from_block;
	int64		to_block;
	GovBlock	last;			/* to_block */
	int64		lo_seq;			/* rows lo_seq..hi_seq */
	int64		hi_seq;
	int64		after_seq;		/* last row read */
	bool		have_cur;		/* a block line has been written */
	GovBlock	cur;			/* the last block written */
	int64		records;
	int64		rows;
	int64		blocks;
	TimestampTz exported_at;
	TimestampTz last_progress;
	MemoryContext batchcxt;
	List	   *lines;			/* the batch, in batchcxt */
	int			pos;
} ExportState;

static void
export_progress(ExportState *st)
{
	TimestampTz now = GetCurrentTimestamp();

	if (TimestampDifferenceExceeds(st->last_progress, now, PROGRESS_EVERY_MS))
	{
		ereport(NOTICE,
				(errmsg("export: %lld rows and %lld blocks written so far (block %lld of %lld..%lld)",
						(long long) st->rows, (long long) st->blocks,
						(long long) (st->have_cur ? st->cur.block_id : st->from_block),
						(long long) st->from_block, (long long) st->to_block)));
		st->last_progress = now;
	}
}

/* Write the next block's line; false when no block is left. */
static bool
export_next_block(ExportState *st, StringInfo s)
{
	GovBlock	b;

	if (!next_block(st->have_cur ? st->cur.block_id : st->from_block - 1, st->to_block, &b))
		return false;
	block_line(s, "block", &b);
	add_line(&st->lines, st->batchcxt, s->data);
	st->cur = b;
	st->have_cur = true;
	st->blocks++;
	return true;
}

/* Header, keys, the prior block, anchors. */
static void
export_start(ExportState *st, StringInfo s)
{
	int			rc;
	uint64		i;

	resetStringInfo(s);
	appendStringInfo(s, "%s %d bundle " INT64_FORMAT " " INT64_FORMAT " " INT64_FORMAT,
					 GOV_EV_MAGIC, GOV_EV_VERSION, st->from_block, st->to_block,
					 gov_timestamp_to_unix_micros(st->exported_at));
	add_line(&st->lines, st->batchcxt, s->data);
	key_lines(&st->lines, st->batchcxt, s);
	st->lo_seq = PG_INT64_MIN;
	if (st->from_block > 1)
	{
		GovBlock	prior;
		Oid			argtypes[2] = {INT8OID, INT8OID};
		Datum		values[2];

		if (!gov_block_load(st->from_block - 1, &prior))
			no_such_block(st->from_block - 1);
		block_line(s, "prior", &prior);
		add_line(&st->lines, st->batchcxt, s->data);
		st->lo_seq = prior.last_seq + 1;

		/* the rows before the range that rows of the range link to */
		values[0] = Int64GetDatum(st->lo_seq);
		values[1] = Int64GetDatum(st->hi_seq);
		rc = SPI_execute_with_args("SELECT DISTINCT p.seq, p.lease_id, p.kind, p.link "
								   "FROM governance.ledger r JOIN (SELECT seq, lease_id, kind, link FROM governance.ledger "
								   "UNION ALL SELECT seq, lease_id, kind, link FROM governance.ledger_anchors) p "
								   "ON p.seq = r.prev_seq "
								   "WHERE r.seq >= $1 AND r.seq <= $2 AND r.prev_seq < $1 ORDER BY p.seq",
								   2, argtypes, values, NULL, true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not read the ledger");
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		d;

			resetStringInfo(s);
			put_word(s, "anchor");
			put_col_int(s, tup, desc, 1);
			d = SPI_getbinval(tup, desc, 2, &isnull);
			put_hex(s, isnull ? NULL : DatumGetUUIDP(d)->data, UUID_LEN);
			put_col_b64(s, tup, desc, 3);
			put_col_hex(s, tup, desc, 4);
			add_line(&st->lines, st->batchcxt, s->data);
		}
	}
	st->after_seq = st->lo_seq == PG_INT64_MIN ? PG_INT64_MIN : st->lo_seq - 1;
}

/* The next batch of rows, each after the line of the block it falls in. */
static void
export_rows(ExportState *st, StringInfo s)
{
	int			rc;
	uint64		i;
	uint64		n;
	SPITupleTable *rows;
	Oid			argtypes[] = {INT8OID, INT8OID, INT8OID};
	Datum		values[] = {
		Int64GetDatum(st->after_seq), Int64GetDatum(st->hi_seq), Int64GetDatum(EXPORT_BATCH)
	};

	rc = SPI_execute_with_args("SELECT " ROW_COLUMNS " FROM governance.ledger "
							   "WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
							   3, argtypes, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the ledger");
	n = SPI_processed;
	rows = SPI_tuptable;		/* reading blocks below replaces SPI_tuptable */
	if (!st->have_cur)
		(void) export_next_block(st, s);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = rows->vals[i];
		bool		isnull;
		int64		seq = DatumGetInt64(SPI_getbinval(tup, rows->tupdesc, 1, &isnull));

		while (st->have_cur && seq > st->cur.last_seq && export_next_block(st, s))
			;
		row_line(s, tup, rows->tupdesc);
		add_line(&st->lines, st->batchcxt, s->data);
		st->after_seq = seq;
		st->rows++;
		CHECK_FOR_INTERRUPTS();
	}
	if (n < EXPORT_BATCH)
		st->phase = EXPORT_TAIL;
}

/* Blocks left without rows, the checkpoint of to_block, the end. */
static void
export_tail(ExportState *st, StringInfo s)
{
	while (export_next_block(st, s))
		;
	checkpoint_line(s, &st->last);
	add_line(&st->lines, st->batchcxt, s->data);
	/* the end line counts every line before it */
	resetStringInfo(s);
	appendStringInfo(s, "end " INT64_FORMAT, st->records + list_length(st->lines) - st->pos);
	add_line(&st->lines, st->batchcxt, s->data);
	st->phase = EXPORT_DONE;
}

static void
export_setup(FunctionCallInfo fcinfo, ExportState *st)
{
	GovBlock	newest;
	GovBlock	first;
	int64		pruned;

	st->from_block = PG_ARGISNULL(0) ? 1 : PG_GETARG_INT64(0);
	if (st->from_block < 1 || (!PG_ARGISNULL(1) && PG_GETARG_INT64(1) < st->from_block))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid block range %lld..%lld", (long long) st->from_block,
						(long long) (PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1))),
				 errhint("Blocks are numbered from 1; NULL bounds mean the first and the newest block.")));
	SPI_connect();
	if (!newest_block(&newest))
		require_sealed();
	pruned = gov_retention_pruned_through();
	if (PG_ARGISNULL(0))
		st->from_block = pruned + 1;
	else if (st->from_block <= pruned)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("block %lld was pruned", (long long) st->from_block),
				 errdetail("The rows of blocks 1 to %lld were removed by governance.prune(); their bundles were archived before.",
						   (long long) pruned),
				 errhint("Export from block %lld.", (long long) (pruned + 1))));
	st->to_block = PG_ARGISNULL(1) ? newest.block_id : PG_GETARG_INT64(1);
	if (st->from_block > newest.block_id || !gov_block_load(st->from_block, &first))
		no_such_block(st->from_block);
	if (!gov_block_load(st->to_block, &st->last))
		no_such_block(st->to_block);
	st->last.gaps = NULL;		/* SPI's memory; the checkpoint needs none */
	st->last.ngaps = 0;
	SPI_finish();
	st->hi_seq = st->last.last_seq;
	st->exported_at = GetCurrentTimestamp();
	st->last_progress = st->exported_at;
	st->phase = EXPORT_START;
}

PG_FUNCTION_INFO_V1(gov_sql_export);
Datum
gov_sql_export(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	ExportState *st;
	MemoryContext callcxt = CurrentMemoryContext;

	GOV_ENTRY();
	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(ExportState));
		st->batchcxt = AllocSetContextCreate(funcctx->multi_call_memory_ctx,
											 "governance export batch", ALLOCSET_DEFAULT_SIZES);
		export_setup(fcinfo, st);
		/* the GovBlock's gaps must outlive SPI */
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;

	while (st->lines == NIL || st->pos >= list_length(st->lines))
	{
		StringInfoData s;
		MemoryContext old;

		if (st->phase == EXPORT_DONE)
			SRF_RETURN_DONE(funcctx);
		st->records += list_length(st->lines);
		MemoryContextReset(st->batchcxt);
		st->lines = NIL;
		st->pos = 0;
		SPI_connect();
		old = MemoryContextSwitchTo(st->batchcxt);
		initStringInfo(&s);
		MemoryContextSwitchTo(old);
		if (st->phase == EXPORT_START)
		{
			export_start(st, &s);
			st->phase = EXPORT_ROWS;
		}
		else if (st->phase == EXPORT_ROWS)
			export_rows(st, &s);
		else
			export_tail(st, &s);
		/* only cur's id and range are used later; its gaps were SPI's */
		st->cur.gaps = NULL;
		st->cur.ngaps = 0;
		SPI_finish();
		export_progress(st);
	}
	{
		char	   *line = list_nth(st->lines, st->pos++);
		MemoryContext old = MemoryContextSwitchTo(callcxt);
		text	   *t = cstring_to_text(line);

		MemoryContextSwitchTo(old);
		SRF_RETURN_NEXT(funcctx, PointerGetDatum(t));
	}
}

/* ---------------------------------------------------------------------
 * Proofs: a few lines each, returned through a tuplestore
 * ---------------------------------------------------------------------
 */

static void
node_fn(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg)
{
	GovEnc		e;

	gov_enc_init(&e, GOV_TAG_MERKLE_NODE);
	gov_enc_bytes(&e, l, GOV_HASH_LEN);
	gov_enc_bytes(&e, r, GOV_HASH_LEN);
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

static void
return_lines(FunctionCallInfo fcinfo, List *lines)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	foreach(lc, lines)
	{
		Datum		v = CStringGetTextDatum((char *) lfirst(lc));
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &isnull);
	}
}

static void
end_line(List **lines, MemoryContext cxt, StringInfo s)
{
	resetStringInfo(s);
	appendStringInfo(s, "end %d", list_length(*lines));
	add_line(lines, cxt, s->data);
}

static void
header_line(List **lines, MemoryContext cxt, StringInfo s, const char *what,
			int64 a, int64 b, bool two)
{
	resetStringInfo(s);
	appendStringInfo(s, "%s %d %s " INT64_FORMAT, GOV_EV_MAGIC, GOV_EV_VERSION, what, a);
	if (two)
		appendStringInfo(s, " " INT64_FORMAT, b);
	add_line(lines, cxt, s->data);
}

/* inclusion_proof(seq) -> setof text */
PG_FUNCTION_INFO_V1(gov_sql_inclusion_proof);
Datum
gov_sql_inclusion_proof(PG_FUNCTION_ARGS)
{
	int64		seq;
	MemoryContext caller = CurrentMemoryContext;
	List	   *lines = NIL;
	StringInfoData s;
	GovBlock	b;
	int			rc;
	bool		isnull;
	Datum		d;
	uint64		i;
	uint64		n;
	int64		m = -1;
	uint8	   *leaves;
	GovEvPath	path;
	HeapTuple	rowtup = NULL;
	TupleDesc	rowdesc = NULL;
	Oid			seq_types[1] = {INT8OID};
	Datum		seq_values[1];
	Oid			range_types[2] = {INT8OID, INT8OID};
	Datum		range_values[2];

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seq must not be NULL")));
	seq = PG_GETARG_INT64(0);
	seq_values[0] = Int64GetDatum(seq);
	initStringInfo(&s);

	SPI_connect();
	rc = SPI_execute_with_args("SELECT max(block_id) FROM governance.ledger_blocks "
							   "WHERE first_seq <= $1 AND last_seq >= $1",
							   1, seq_types, seq_values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read governance.ledger_blocks");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
	{
		rc = SPI_execute_with_args("SELECT 1 FROM governance.ledger WHERE seq = $1",
								   1, seq_types, seq_values, NULL, true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed == 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("ledger row %lld is not sealed yet", (long long) seq),
					 errhint("The sealer seals committed rows every governance.seal_interval; governance.seal() seals them now.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ledger row %lld does not exist", (long long) seq)));
	}
	if (!gov_block_load(DatumGetInt64(d), &b))
		no_such_block(DatumGetInt64(d));

	header_line(&lines, caller, &s, "inclusion", seq, 0, false);
	key_lines(&lines, caller, &s);

	/* the block's leaves, as stored */
	range_values[0] = Int64GetDatum(b.first_seq);
	range_values[1] = Int64GetDatum(b.last_seq);
	rc = SPI_execute_with_args("SELECT " ROW_COLUMNS " FROM governance.ledger "
							   "WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
							   2, range_types, range_values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the ledger");
	n = SPI_processed;
	leaves = palloc(GOV_HASH_LEN * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		int64		rseq = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		uint8		evidence[GOV_HASH_LEN] = {0};

		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 12, &isnull);
		if (!isnull && VARSIZE_ANY_EXHDR(DatumGetByteaPP(d)) == GOV_HASH_LEN)
			memcpy(evidence, VARDATA_ANY(DatumGetByteaPP(d)), GOV_HASH_LEN);
		gov_merkle_leaf(rseq, evidence, leaves + i * GOV_HASH_LEN);
		if (rseq == seq)
		{
			m = (int64) i;
			rowtup = tup;
			rowdesc = SPI_tuptable->tupdesc;
		}
	}
	if (m < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ledger row %lld does not exist", (long long) seq),
				 errdetail("Block %lld records seq %lld as a gap: its transaction aborted.",
						   (long long) b.block_id, (long long) seq)));
	memset(&path, 0, sizeof(path));
	path.leaf_index = m;
	path.tree_size = (int64) n;
	path.n = gov_ev_audit_path(leaves, (int64) n, m, path.hashes, node_fn, NULL);
	if (path.n < 0)
		elog(ERROR, "governance: could not compute an audit path");

	block_line(&s, "block", &b);
	add_line(&lines, caller, s.data);
	row_line(&s, rowtup, rowdesc);
	add_line(&lines, caller, s.data);
	resetStringInfo(&s);
	appendStringInfo(&s, "path " INT64_FORMAT " " INT64_FORMAT " ", path.leaf_index, path.tree_size);
	if (path.n == 0)
		appendStringInfoChar(&s, '=');
	for (i = 0; i < (uint64) path.n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&s, ',');
		enlargeStringInfo(&s, 2 * GOV_HASH_LEN + 1);
		s.len += gov_ev_put_hex(s.data + s.len, path.hashes[i], GOV_HASH_LEN);
		s.data[s.len] = '\0';
	}
	add_line(&lines, caller, s.data);
	end_line(&lines, caller, &s);
	SPI_finish();
	return_lines(fcinfo, lines);
	return (Datum) 0;
}

/*
 * A checkpoint given to consistency_proof(): it must verify and name a
 * block the ledger holds unchanged, else the ledger does not extend it.
 */
static void
checked_checkpoint(Jsonb *cp, const char *which, GovBlock *b)
{
	int64		block_id = 0;
	int64		bad_seq = 0;
	char	   *problem = gov_checkpoint_check(cp, &block_id, &bad_seq);

	if (problem == NULL)
	{
		if (!gov_block_load(block_id, b))
			no_such_block(block_id);
		return;
	}
	if (strncmp(problem, "block ", 6) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the ledger does not extend the %s checkpoint: %s", which, problem),
				 errhint("Run governance.verify_ledger(); a checkpoint kept outside is how a rewritten or removed tail shows.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s checkpoint: %s", which, problem),
			 errhint("Pass a checkpoint as governance.checkpoint() returns it.")));
}

/* consistency_proof(old_checkpoint jsonb, new_checkpoint jsonb DEFAULT NULL) -> setof text */
PG_FUNCTION_INFO_V1(gov_sql_consistency_proof);
Datum
gov_sql_consistency_proof(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *lines = NIL;
	StringInfoData s;
	GovBlock	oldb;
	GovBlock	newb;
	GovBlock	b;
	int64		id;

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("old_checkpoint must not be NULL")));
	initStringInfo(&s);
	SPI_connect();
	checked_checkpoint(PG_GETARG_JSONB_P(0), "old", &oldb);
	if (PG_ARGISNULL(1))
	{
		if (!newest_block(&newb))
			require_sealed();
	}
	else
		checked_checkpoint(PG_GETARG_JSONB_P(1), "new", &newb);
	if (newb.block_id < oldb.block_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the new checkpoint (block %lld) is older than the old one (block %lld)",
						(long long) newb.block_id, (long long) oldb.block_id)));

	header_line(&lines, caller, &s, "consistency", oldb.block_id, newb.block_id, true);
	key_lines(&lines, caller, &s);
	checkpoint_line(&s, &oldb);
	add_line(&lines, caller, s.data);
	for (id = oldb.block_id + 1; id <= newb.block_id; id++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!gov_block_load(id, &b))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ledger block %lld is missing between the two checkpoints", (long long) id),
					 errhint("Run governance.verify_ledger().")));
		SPI_freetuptable(SPI_tuptable);
		block_line(&s, "block", &b);
		add_line(&lines, caller, s.data);
	}
	checkpoint_line(&s, &newb);
	add_line(&lines, caller, s.data);
	end_line(&lines, caller, &s);
	SPI_finish();
	return_lines(fcinfo, lines);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * For the other writers of evidence lines (src/proof.c): src/evidence.h
 * ---------------------------------------------------------------------
 */

void
gov_evidence_block_line(StringInfo s, const GovBlock *b)
{
	block_line(s, "block", b);
}

void
gov_evidence_checkpoint_line(StringInfo s, const GovBlock *b)
{
	checkpoint_line(s, b);
}

void
gov_evidence_row_line(StringInfo s, HeapTuple tup, TupleDesc desc)
{
	row_line(s, tup, desc);
}

void
gov_evidence_add_line(List **lines, MemoryContext cxt, const char *line)
{
	add_line(lines, cxt, line);
}

void
gov_evidence_key_lines(List **lines, MemoryContext cxt, StringInfo s)
{
	key_lines(lines, cxt, s);
}

bool
gov_evidence_newest_block(GovBlock *b)
{
	return newest_block(b);
}

void
gov_evidence_require_sealed(void)
{
	require_sealed();
}

void
gov_evidence_end_line(List **lines, MemoryContext cxt, StringInfo s)
{
	end_line(lines, cxt, s);
}

void
gov_evidence_return_lines(FunctionCallInfo fcinfo, List *lines)
{
	return_lines(fcinfo, lines);
}

void
gov_evidence_merkle_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg)
{
	node_fn(l, r, out, arg);
}

void
gov_evidence_path_tokens(StringInfo s, const GovEvPath *path)
{
	int			i;

	appendStringInfo(s, INT64_FORMAT " " INT64_FORMAT " ", path->leaf_index, path->tree_size);
	if (path->n == 0)
		appendStringInfoChar(s, '=');
	for (i = 0; i < path->n; i++)
	{
		if (i > 0)
			appendStringInfoChar(s, ',');
		enlargeStringInfo(s, 2 * GOV_HASH_LEN + 1);
		s->len += gov_ev_put_hex(s->data + s->len, path->hashes[i], GOV_HASH_LEN);
		s->data[s->len] = '\0';
	}
}
