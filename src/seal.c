/*-------------------------------------------------------------------------
 *
 * seal.c
 *	  The sealer: committed ledger rows are grouped into blocks, each a
 *	  contiguous range of seq numbers with a Merkle root over the rows'
 *	  evidence hashes, the previous block's hash, and an Ed25519 signature
 *	  over a checkpoint that names the block.
 *
 *	  The sealing invariant (D5)
 *	  --------------------------
 *	  Every committed row is sealed in exactly one block, never before its
 *	  transaction commits, and no block skips a row that commits later.
 *	  - One sealer at a time per database: a transaction-scoped advisory
 *	    lock (GOV_LOCK_SEAL) is taken before reading the last block, so the
 *	    next sealer sees this one's block once it commits.  Appenders never
 *	    take it.
 *	  - A block only reaches up to the sealing horizon (ledger.c): every
 *	    seq at or below it belongs to a transaction that has ended, so a
 *	    snapshot taken after computing the horizon shows every committed
 *	    row in the range, and a seq it does not show belongs to a
 *	    transaction that aborted and can never appear.  Such seqs are
 *	    recorded in the block as gaps, so that verification can tell an
 *	    aborted seq from a deleted row.
 *	  - Blocks are contiguous: first_seq is the previous block's last_seq
 *	    plus one.  A block ends on a row that exists; trailing aborted seqs
 *	    fall into the next block's range.
 *	  seal() in SQL additionally waits for older transactions holding seqs
 *	  (like CREATE INDEX CONCURRENTLY), so that it seals every row that
 *	  had committed when it was called.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common.h"
#include "keys.h"
#include "ledger.h"
#include "seal.h"
#include "trust.h"

int			gov_max_block_rows = 10000;
char	   *gov_checkpoint_command = NULL;

/* Blocks one sealer round may make before it commits. */
#define SEAL_MAX_BLOCKS_PER_ROUND 64

void
gov_seal_define_gucs(void)
{
	DefineCustomIntVariable("governance.max_block_rows",
							"Most ledger rows sealed into one block.",
							NULL,
							&gov_max_block_rows,
							10000, 1, 1000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("governance.checkpoint_command",
							   "Command that receives each new signed checkpoint as JSON on its standard input.",
							   "Use it to keep checkpoints outside the database. Empty disables it.",
							   &gov_checkpoint_command,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Merkle tree
 *
 * leaf(seq, evidence) = BLAKE2b-512(field(leaf tag) || field(seq) || field(evidence))
 * node(l, r)          = BLAKE2b-512(field(node tag) || field(l) || field(r))
 * root of n leaves: RFC 6962's MTH: one leaf is its own root; otherwise
 * split at k, the largest power of two below n, and combine the roots of
 * the first k and the remaining n - k leaves.  No node is duplicated.
 * ---------------------------------------------------------------------
 */

void
gov_merkle_leaf(int64 seq, const uint8 *evidence, uint8 *out)
{
	GovEnc		e;

	gov_enc_init(&e, GOV_TAG_MERKLE_LEAF);
	gov_enc_int64(&e, seq);
	gov_enc_bytes(&e, evidence, GOV_HASH_LEN);
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

static void
merkle_node(const uint8 *l, const uint8 *r, uint8 *out)
{
	GovEnc		e;

	gov_enc_init(&e, GOV_TAG_MERKLE_NODE);
	gov_enc_bytes(&e, l, GOV_HASH_LEN);
	gov_enc_bytes(&e, r, GOV_HASH_LEN);
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

static void
merkle_range(uint8 *leaves, int64 n, uint8 *out)
{
	int64		k = 1;
	uint8		left[GOV_HASH_LEN];
	uint8		right[GOV_HASH_LEN];

	if (n == 1)
	{
		memcpy(out, leaves, GOV_HASH_LEN);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	merkle_range(leaves, k, left);
	merkle_range(leaves + k * GOV_HASH_LEN, n - k, right);
	merkle_node(left, right, out);
}

void
gov_merkle_root(uint8 *leaves, int64 n, uint8 *out)
{
	if (n <= 0)
		elog(ERROR, "governance: Merkle root of an empty block");
	merkle_range(leaves, n, out);
}

/* ---------------------------------------------------------------------
 * The lineage map (format version 2)
 *
 * For the executions with rows in a block: lease id -> (seq, link) of the
 * execution's last row in the block, sorted by the lease id's 16 bytes.
 * leaf = BLAKE2b-512(field(lineage-leaf tag) || field(lease) || field(seq) || field(link))
 * node = BLAKE2b-512(field(lineage-node tag) || field(l) || field(r))
 * root: RFC 6962's MTH over the leaves; BLAKE2b-512(field(lineage-empty
 * tag)) when no row of the block has a lease.
 * ---------------------------------------------------------------------
 */

static int
head_cmp(const void *a, const void *b)
{
	const GovLineageHead *x = a;
	const GovLineageHead *y = b;
	int			c = memcmp(x->lease.data, y->lease.data, UUID_LEN);

	if (c != 0)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void
gov_lineage_node(const uint8 *l, const uint8 *r, uint8 *out)
{
	GovEnc		e;

	gov_enc_init(&e, GOV_TAG_LINEAGE_NODE);
	gov_enc_bytes(&e, l, GOV_HASH_LEN);
	gov_enc_bytes(&e, r, GOV_HASH_LEN);
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

static void
lineage_range(uint8 *leaves, int64 n, uint8 *out)
{
	int64		k = 1;
	uint8		left[GOV_HASH_LEN];
	uint8		right[GOV_HASH_LEN];

	if (n == 1)
	{
		memcpy(out, leaves, GOV_HASH_LEN);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	lineage_range(leaves, k, left);
	lineage_range(leaves + k * GOV_HASH_LEN, n - k, right);
	gov_lineage_node(left, right, out);
}

void
gov_lineage_leaf(const GovLineageHead *h, uint8 *out)
{
	GovEnc		e;

	gov_enc_init(&e, GOV_TAG_LINEAGE_LEAF);
	gov_enc_uuid(&e, &h->lease);
	gov_enc_int64(&e, h->seq);
	gov_enc_bytes(&e, h->link, GOV_HASH_LEN);
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

int64
gov_lineage_reduce(GovLineageHead *heads, int64 n)
{
	int64		i;
	int64		m = 0;

	if (n <= 0)
		return 0;
	qsort(heads, n, sizeof(GovLineageHead), head_cmp);
	for (i = 0; i < n; i++)
	{
		/* the last (highest seq) head of each lease */
		if (i + 1 < n && memcmp(heads[i].lease.data, heads[i + 1].lease.data, UUID_LEN) == 0)
			continue;
		if (m != i)
			heads[m] = heads[i];
		m++;
	}
	return m;
}

void
gov_lineage_root(GovLineageHead *heads, int64 n, uint8 *out)
{
	uint8	   *leaves;
	int64		i;
	GovEnc		e;

	n = gov_lineage_reduce(heads, n);
	if (n <= 0)
	{
		gov_enc_init(&e, GOV_TAG_LINEAGE_EMPTY);
		gov_blake2b_512(e.buf.data, e.buf.len, out);
		gov_enc_free(&e);
		return;
	}
	leaves = palloc(GOV_HASH_LEN * n);
	for (i = 0; i < n; i++)
		gov_lineage_leaf(&heads[i], leaves + i * GOV_HASH_LEN);
	lineage_range(leaves, n, out);
	pfree(leaves);
}

void
gov_log_id(uint8 *out)
{
	int			rc;
	bool		isnull;
	Datum		d;

	rc = SPI_execute("SELECT log_id FROM governance.log_identity", true, 2);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.log_identity: %s", SPI_result_code_string(rc));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("governance.log_identity must hold exactly one row, not " UINT64_FORMAT,
						SPI_processed),
				 errhint("Restore it from a dump of this database; the log id is signed into every block.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "governance.log_identity.log_id is NULL");
	memcpy(out, DatumGetUUIDP(d)->data, GOV_LOG_ID_LEN);
}

/* ---------------------------------------------------------------------
 * Block and checkpoint encodings
 * ---------------------------------------------------------------------
 */

static void
enc_gaps(GovEnc *e, const GovBlock *b)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < 2 * b->ngaps; i++)
	{
		uint64		u = (uint64) b->gaps[i];
		uint8		be[8];
		int			j;

		for (j = 7; j >= 0; j--)
		{
			be[j] = (uint8) u;
			u >>= 8;
		}
		appendBinaryStringInfo(&s, (char *) be, 8);
	}
	gov_enc_bytes(e, s.data, s.len);
	pfree(s.data);
}

void
gov_block_encode(GovEnc *e, const GovBlock *b)
{
	gov_enc_init(e, b->version >= 2 ? GOV_TAG_BLOCK_V2 : GOV_TAG_BLOCK);
	if (b->version >= 2)
		gov_enc_bytes(e, b->log_id, GOV_LOG_ID_LEN);
	gov_enc_int64(e, b->block_id);
	gov_enc_int64(e, b->first_seq);
	gov_enc_int64(e, b->last_seq);
	gov_enc_int64(e, b->row_count);
	gov_enc_int64(e, b->total_rows);
	enc_gaps(e, b);
	gov_enc_bytes(e, b->merkle_root, GOV_HASH_LEN);
	if (b->version >= 2)
		gov_enc_bytes(e, b->lineage_root, GOV_HASH_LEN);
	if (b->has_prev)
		gov_enc_bytes(e, b->prev_hash, GOV_HASH_LEN);
	else
		gov_enc_null(e);
	gov_enc_timestamp(e, b->sealed_at);
	gov_enc_text(e, b->key_id);
}

void
gov_block_hash(const GovBlock *b, uint8 *out)
{
	GovEnc		e;

	gov_block_encode(&e, b);
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

void
gov_checkpoint_encode(GovEnc *e, const GovBlock *b)
{
	gov_enc_init(e, b->version >= 2 ? GOV_TAG_CHECKPOINT_V2 : GOV_TAG_CHECKPOINT);
	if (b->version >= 2)
		gov_enc_bytes(e, b->log_id, GOV_LOG_ID_LEN);
	gov_enc_int64(e, b->block_id);
	gov_enc_bytes(e, b->block_hash, GOV_HASH_LEN);
	gov_enc_int64(e, b->last_seq);
	gov_enc_int64(e, b->total_rows);
	gov_enc_timestamp(e, b->sealed_at);
	gov_enc_text(e, b->key_id);
}

/* ---------------------------------------------------------------------
 * Reading and writing blocks (callers are connected to SPI)
 * ---------------------------------------------------------------------
 */

static void
copy_hash(HeapTuple tup, TupleDesc desc, int col, uint8 *out, int len, bool *isnull)
{
	Datum		d = SPI_getbinval(tup, desc, col, isnull);
	bytea	   *b;

	if (*isnull)
		return;
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != len)
	{
		/* a malformed stored value: make it compare unequal, not crash */
		memset(out, 0, len);
		return;
	}
	memcpy(out, VARDATA_ANY(b), len);
}

#define BLOCK_COLUMNS_V1 "block_id, first_seq, last_seq, row_count, total_rows, gaps, " \
	"merkle_root, prev_hash, sealed_at, key_id, block_hash, signature"
#define BLOCK_COLUMNS_V2 BLOCK_COLUMNS_V1 ", version, log_id, lineage_root"
#define BLOCK_COLUMNS (gov_format2() ? BLOCK_COLUMNS_V2 : BLOCK_COLUMNS_V1)

/*
 * Does the catalog have format version 2 (governance.log_identity and the
 * block columns)?  Not in the upgrade window (a 0.2 library serving 0.1's
 * catalog): blocks are then sealed and read as version 1, and nothing
 * claims a log id the catalog does not hold.
 */
bool
gov_format2(void)
{
	Oid			nsp = get_namespace_oid(GOV_SCHEMA_NAME, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("log_identity", nsp));
}

static void
block_from_tuple(HeapTuple tup, TupleDesc desc, GovBlock *b)
{
	bool		isnull;
	Datum		d;

	memset(b, 0, sizeof(*b));
	b->block_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	b->first_seq = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	b->last_seq = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	b->row_count = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	b->total_rows = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	d = SPI_getbinval(tup, desc, 6, &isnull);
	if (!isnull)
	{
		ArrayType  *arr = DatumGetArrayTypeP(d);
		Datum	   *elems;
		bool	   *enulls;
		int			n;
		int			i;

		deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, &enulls, &n);
		b->ngaps = n / 2;
		b->gaps = palloc(sizeof(int64) * Max(n, 1));
		for (i = 0; i < 2 * b->ngaps; i++)
			b->gaps[i] = enulls[i] ? 0 : DatumGetInt64(elems[i]);
	}
	copy_hash(tup, desc, 7, b->merkle_root, GOV_HASH_LEN, &isnull);
	copy_hash(tup, desc, 8, b->prev_hash, GOV_HASH_LEN, &isnull);
	b->has_prev = !isnull;
	b->sealed_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 9, &isnull));
	d = SPI_getbinval(tup, desc, 10, &isnull);
	if (!isnull)
		strlcpy(b->key_id, TextDatumGetCString(d), sizeof(b->key_id));
	copy_hash(tup, desc, 11, b->block_hash, GOV_HASH_LEN, &isnull);
	copy_hash(tup, desc, 12, b->signature, GOV_ED25519_SIG_LEN, &isnull);
	b->version = 1;
	if (desc->natts < 15)
		return;
	d = SPI_getbinval(tup, desc, 13, &isnull);
	b->version = isnull ? 0 : DatumGetInt32(d);
	d = SPI_getbinval(tup, desc, 14, &isnull);
	if (!isnull)
		memcpy(b->log_id, DatumGetUUIDP(d)->data, GOV_LOG_ID_LEN);
	else if (b->version >= 2)
		memset(b->log_id, 0, GOV_LOG_ID_LEN);	/* malformed: never verifies */
	copy_hash(tup, desc, 15, b->lineage_root, GOV_HASH_LEN, &isnull);
}

bool
gov_block_load(int64 block_id, GovBlock *b)
{
	int			rc;
	Oid			argtypes[] = {INT8OID};
	Datum		values[] = {Int64GetDatum(block_id)};

	rc = SPI_execute_with_args(psprintf("SELECT %s FROM governance.ledger_blocks WHERE block_id = $1",
										BLOCK_COLUMNS),
							   1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.ledger_blocks: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	block_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, b);
	return true;
}

/* The newest block, read with the latest snapshot. */
static bool
load_last_block(GovBlock *b)
{
	SPIPlanPtr	plan;
	int			rc;
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());

	plan = SPI_prepare(psprintf("SELECT %s FROM governance.ledger_blocks "
								"ORDER BY block_id DESC LIMIT 1", BLOCK_COLUMNS), 0, NULL);
	rc = SPI_execute_snapshot(plan, NULL, NULL, snap, InvalidSnapshot, true, false, 1);
	UnregisterSnapshot(snap);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.ledger_blocks: %s", SPI_result_code_string(rc));
	SPI_freeplan(plan);
	if (SPI_processed == 0)
		return false;
	block_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, b);
	return true;
}

ArrayType *
gov_gaps_array(const GovBlock *b)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(2 * b->ngaps, 1));
	int			i;

	for (i = 0; i < 2 * b->ngaps; i++)
		elems[i] = Int64GetDatum(b->gaps[i]);
	return construct_array(elems, 2 * b->ngaps, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

static void
insert_block(const GovBlock *b)
{
	Oid			types[15] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8ARRAYOID,
		BYTEAOID, BYTEAOID, TIMESTAMPTZOID, TEXTOID, BYTEAOID, BYTEAOID,
	INT4OID, UUIDOID, BYTEAOID};
	Datum		values[15];
	char		nulls[15];
	pg_uuid_t  *log_id = palloc(sizeof(pg_uuid_t));
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(b->block_id);
	values[1] = Int64GetDatum(b->first_seq);
	values[2] = Int64GetDatum(b->last_seq);
	values[3] = Int64GetDatum(b->row_count);
	values[4] = Int64GetDatum(b->total_rows);
	values[5] = PointerGetDatum(gov_gaps_array(b));
	values[6] = gov_bytea_datum(b->merkle_root, GOV_HASH_LEN);
	if (b->has_prev)
		values[7] = gov_bytea_datum(b->prev_hash, GOV_HASH_LEN);
	else
		nulls[7] = 'n';
	values[8] = TimestampTzGetDatum(b->sealed_at);
	values[9] = CStringGetTextDatum(b->key_id);
	values[10] = gov_bytea_datum(b->block_hash, GOV_HASH_LEN);
	values[11] = gov_bytea_datum(b->signature, GOV_ED25519_SIG_LEN);
	values[12] = Int32GetDatum(b->version);
	memcpy(log_id->data, b->log_id, GOV_LOG_ID_LEN);
	values[13] = UUIDPGetDatum(log_id);
	values[14] = gov_bytea_datum(b->lineage_root, GOV_HASH_LEN);
	if (b->version < 2)
		nulls[13] = nulls[14] = 'n';

	gov_ledger_writing = true;
	PG_TRY();
	{
		if (b->version >= 2)
			rc = SPI_execute_with_args("INSERT INTO governance.ledger_blocks (" BLOCK_COLUMNS_V2 ") "
									   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
									   15, types, values, nulls, false, 0);
		else
			rc = SPI_execute_with_args("INSERT INTO governance.ledger_blocks (" BLOCK_COLUMNS_V1 ") "
									   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
									   12, types, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		gov_ledger_writing = false;
	}
	PG_END_TRY();
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert a ledger block: %s", SPI_result_code_string(rc));
}

/* ---------------------------------------------------------------------
 * Sealing
 * ---------------------------------------------------------------------
 */

static void
add_gap(GovBlock *b, int *cap, int64 lo, int64 hi)
{
	if (lo > hi)
		return;
	if (b->ngaps == *cap)
	{
		*cap = Max(8, *cap * 2);
		b->gaps = b->gaps ? repalloc(b->gaps, sizeof(int64) * 2 * *cap)
			: palloc(sizeof(int64) * 2 * *cap);
	}
	b->gaps[2 * b->ngaps] = lo;
	b->gaps[2 * b->ngaps + 1] = hi;
	b->ngaps++;
}

/*
 * Build and insert one block from rows (prev->last_seq, horizon].  Returns
 * false when there is no committed row in that range.
 */
static bool
seal_one_block(GovBlock *prev, bool have_prev, int64 horizon, GovBlock *out)
{
	SPIPlanPtr	plan;
	Snapshot	snap;
	int			rc;
	uint64		n;
	uint64		i;
	uint8	   *leaves;
	GovLineageHead *heads;
	int64		nheads = 0;
	Datum		d;
	int			gapcap = 0;
	int64		expect;
	int64		from = have_prev ? prev->last_seq : 0;
	GovEnc		cp;
	GovSignature sig;
	Oid			argtypes[] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3];

	/* taken after the horizon: it shows every committed row up to it */
	snap = RegisterSnapshot(GetLatestSnapshot());
	plan = SPI_prepare("SELECT seq, evidence, lease_id, link FROM governance.ledger "
					   "WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
					   3, argtypes);
	values[0] = Int64GetDatum(from);
	values[1] = Int64GetDatum(horizon);
	values[2] = Int64GetDatum(gov_max_block_rows);
	rc = SPI_execute_snapshot(plan, values, NULL, snap, InvalidSnapshot, true, false, 0);
	UnregisterSnapshot(snap);
	SPI_freeplan(plan);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the ledger for sealing: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	if (n == 0)
		return false;

	memset(out, 0, sizeof(*out));
	out->block_id = have_prev ? prev->block_id + 1 : 1;
	out->first_seq = from + 1;
	out->row_count = (int64) n;
	out->total_rows = (have_prev ? prev->total_rows : 0) + (int64) n;
	out->has_prev = have_prev;
	if (have_prev)
		memcpy(out->prev_hash, prev->block_hash, GOV_HASH_LEN);

	leaves = palloc(GOV_HASH_LEN * n);
	heads = palloc(sizeof(GovLineageHead) * n);
	expect = out->first_seq;
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		int64		seq = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		uint8		evidence[GOV_HASH_LEN];

		copy_hash(tup, SPI_tuptable->tupdesc, 2, evidence, GOV_HASH_LEN, &isnull);
		if (isnull)
			elog(ERROR, "governance: ledger row %lld has no evidence hash", (long long) seq);
		add_gap(out, &gapcap, expect, seq - 1);
		gov_merkle_leaf(seq, evidence, leaves + i * GOV_HASH_LEN);
		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull);
		if (!isnull)
		{
			memcpy(&heads[nheads].lease, DatumGetUUIDP(d), sizeof(pg_uuid_t));
			heads[nheads].seq = seq;
			copy_hash(tup, SPI_tuptable->tupdesc, 4, heads[nheads].link, GOV_HASH_LEN, &isnull);
			if (isnull)
				elog(ERROR, "governance: ledger row %lld has no chain link", (long long) seq);
			nheads++;
		}
		expect = seq + 1;
		out->last_seq = seq;
	}
	gov_merkle_root(leaves, (int64) n, out->merkle_root);
	pfree(leaves);
	if (gov_format2())
	{
		out->version = GOV_BLOCK_VERSION;
		gov_lineage_root(heads, nheads, out->lineage_root);
		gov_log_id(out->log_id);
	}
	else
		out->version = 1;		/* the upgrade window */
	pfree(heads);

	out->sealed_at = GetCurrentTimestamp();
	if (!gov_key_available(NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key unavailable: cannot seal the ledger")));
	gov_keys_sync_table();
	strlcpy(out->key_id, gov_current_key_id(), sizeof(out->key_id));
	gov_block_hash(out, out->block_hash);
	gov_checkpoint_encode(&cp, out);
	gov_sign(&cp, &sig);
	gov_enc_free(&cp);
	if (strcmp(sig.key_id, out->key_id) != 0)
		elog(ERROR, "governance: the signing key changed while sealing");
	memcpy(out->signature, sig.sig, GOV_ED25519_SIG_LEN);

	insert_block(out);
	return true;
}

int
gov_seal(bool wait)
{
	LOCKTAG		tag;
	GovBlock	last;
	GovBlock	next;
	bool		have_last;
	int64		horizon;
	int			made = 0;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot seal the ledger during recovery")));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, GOV_LOCK_SEAL);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	SPI_connect();
	have_last = load_last_block(&last);
	horizon = gov_ledger_horizon(wait, wait ? gov_ledger_last_allocated() : 0);

	while (made < SEAL_MAX_BLOCKS_PER_ROUND || wait)
	{
		CHECK_FOR_INTERRUPTS();
		if (have_last && last.last_seq >= horizon)
			break;
		if (!seal_one_block(&last, have_last, horizon, &next))
			break;
		last = next;
		have_last = true;
		made++;
	}
	SPI_finish();
	return made;
}

/* ---------------------------------------------------------------------
 * Checkpoints
 * ---------------------------------------------------------------------
 */

/* An ISO 8601 UTC rendering, independent of the session's TimeZone. */
static char *
iso_utc(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("invalid");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

static Jsonb *
checkpoint_json(const GovBlock *b)
{
	StringInfoData s;
	char	   *hash = gov_hex(b->block_hash, GOV_HASH_LEN);
	char	   *sig = gov_hex(b->signature, GOV_ED25519_SIG_LEN);

	initStringInfo(&s);
	if (b->version >= 2)
		appendStringInfo(&s, "{\"version\": 2, \"log_id\": \"%s\", ",
						 gov_hex(b->log_id, GOV_LOG_ID_LEN));
	else
		appendStringInfoString(&s, "{\"version\": 1, ");
	appendStringInfo(&s,
					 "\"block_id\": " INT64_FORMAT ", \"block_hash\": \"%s\", "
					 "\"last_seq\": " INT64_FORMAT ", \"total_rows\": " INT64_FORMAT ", "
					 "\"sealed_at\": \"%s\", \"sealed_at_us\": " INT64_FORMAT ", "
					 "\"key_id\": \"%s\", \"signature\": \"%s\"}",
					 b->block_id, hash, b->last_seq, b->total_rows,
					 iso_utc(b->sealed_at),
					 gov_timestamp_to_unix_micros(b->sealed_at),
					 b->key_id, sig);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}

/*
 * Hand the newest checkpoint to governance.checkpoint_command.  Checkpoints
 * are cumulative (each block names its predecessor's hash), so exporting
 * the newest one each round is enough; a failed export is retried.
 */
static int64 last_exported_block = 0;

static void
export_checkpoint(void)
{
	GovBlock	b;
	bool		found;
	char	   *json;
	FILE	   *fh;
	int			rc;

	if (gov_checkpoint_command == NULL || gov_checkpoint_command[0] == '\0')
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	found = load_last_block(&b);
	json = NULL;
	if (found && b.block_id != last_exported_block)
		json = MemoryContextStrdup(TopTransactionContext,
								   JsonbToCString(NULL, &checkpoint_json(&b)->root, 0));
	SPI_finish();

	if (json != NULL)
	{
		fflush(NULL);
		fh = popen(gov_checkpoint_command, "w");
		if (fh == NULL)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("governance: could not run governance.checkpoint_command: %m")));
		else
		{
			fprintf(fh, "%s\n", json);
			rc = pclose(fh);
			if (rc != 0)
				ereport(WARNING,
						(errmsg("governance: governance.checkpoint_command failed: %s; will retry",
								wait_result_to_str(rc))));
			else
				last_exported_block = b.block_id;
		}
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
}

void
gov_sealer_duty(void)
{
	char	   *why;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	gov_trust_ledger_conditions();
	if (gov_key_available(&why))
	{
		gov_keys_sync_table();
		(void) gov_seal(false);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();

	export_checkpoint();
}

/* ---------------------------------------------------------------------
 * SQL interface
 * ---------------------------------------------------------------------
 */

/* seal() -> bigint: seal every committed row now; the newest block id. */
PG_FUNCTION_INFO_V1(gov_sql_seal);
Datum
gov_sql_seal(PG_FUNCTION_ARGS)
{
	GovBlock	b;
	bool		found;

	GOV_ENTRY();
	(void) gov_seal(true);
	SPI_connect();
	found = load_last_block(&b);
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_INT64(b.block_id);
}

PG_FUNCTION_INFO_V1(gov_sql_checkpoint);
Datum
gov_sql_checkpoint(PG_FUNCTION_ARGS)
{
	GovBlock	b;
	bool		found;
	Jsonb	   *res = NULL;

	GOV_ENTRY();
	SPI_connect();
	found = load_last_block(&b);
	if (found)
	{
		MemoryContext old = MemoryContextSwitchTo(CurTransactionContext);

		res = checkpoint_json(&b);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(res);
}

static bool
json_get_text(Jsonb *jb, const char *key, char **out)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return false;
	*out = pnstrdup(v->val.string.val, v->val.string.len);
	return true;
}

static bool
json_get_int64(Jsonb *jb, const char *key, int64 *out)
{
	JsonbValue	k;
	JsonbValue *v;
	char	   *txt;
	char	   *end;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvNumeric)
		return false;
	txt = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	*out = strtoi64(txt, &end, 10);
	return errno == 0 && *end == '\0' && end != txt;
}


/*
 * Check a checkpoint held outside the database: its signature, and that
 * the ledger still holds the block it names, unchanged.  Returns NULL when
 * it holds, otherwise the problem.  The caller is connected to SPI.
 */
char *
gov_checkpoint_check(Jsonb *cp, int64 *block_id_out, int64 *bad_seq_out)
{
	GovBlock	claimed;
	GovBlock	stored;
	char	   *hash_hex;
	char	   *sig_hex;
	char	   *key_id;
	uint8		pk[GOV_ED25519_PK_LEN];
	GovEnc		msg;
	bool		ok;
	int64		version = 0;
	char	   *human;

	memset(&claimed, 0, sizeof(claimed));
	if (!JB_ROOT_IS_OBJECT(cp) || JB_ROOT_IS_SCALAR(cp))
		return pstrdup("malformed checkpoint: not a JSON object");
	if (!json_get_int64(cp, "version", &version) || (version != 1 && version != 2))
		return pstrdup("unsupported checkpoint version: only versions 1 and 2 exist");
	claimed.version = (int) version;
	if (version == 2)
	{
		char	   *log_hex;
		uint8		ours[GOV_LOG_ID_LEN];

		if (!gov_format2())
			return pstrdup("a version 2 checkpoint, but this ledger has no log id yet: ALTER EXTENSION governance UPDATE");
		if (!json_get_text(cp, "log_id", &log_hex) ||
			!gov_unhex(log_hex, strlen(log_hex), claimed.log_id, GOV_LOG_ID_LEN))
			return pstrdup("malformed checkpoint: a version 2 checkpoint needs log_id, 32 hexadecimal digits");
		gov_log_id(ours);
		if (memcmp(ours, claimed.log_id, GOV_LOG_ID_LEN) != 0)
			return psprintf("checkpoint of another log: it names log %s, this ledger is log %s",
							log_hex, gov_hex(ours, GOV_LOG_ID_LEN));
	}
	else
	{
		char	   *log_hex;

		if (json_get_text(cp, "log_id", &log_hex))
			return pstrdup("malformed checkpoint: a version 1 checkpoint has no log_id");
	}
	if (
		!json_get_int64(cp, "block_id", &claimed.block_id) ||
		!json_get_int64(cp, "last_seq", &claimed.last_seq) ||
		!json_get_int64(cp, "total_rows", &claimed.total_rows) ||
		!json_get_int64(cp, "sealed_at_us", &claimed.sealed_at) ||
		!json_get_text(cp, "block_hash", &hash_hex) ||
		!json_get_text(cp, "signature", &sig_hex) ||
		!json_get_text(cp, "key_id", &key_id))
		return pstrdup("malformed checkpoint: it needs block_id, block_hash, last_seq, total_rows, sealed_at_us, key_id and signature");
	if (!gov_unhex(hash_hex, strlen(hash_hex), claimed.block_hash, GOV_HASH_LEN) ||
		!gov_unhex(sig_hex, strlen(sig_hex), claimed.signature, GOV_ED25519_SIG_LEN) ||
		strlen(key_id) != GOV_KEY_ID_LEN)
		return pstrdup("malformed checkpoint: block_hash, signature or key_id has the wrong length or is not hexadecimal");
	*block_id_out = claimed.block_id;

	/* sealed_at_us is Unix microseconds; convert back to a TimestampTz */
	claimed.sealed_at = claimed.sealed_at -
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	/* unsigned, the human-readable time must agree with the signed one */
	if (json_get_text(cp, "sealed_at", &human) &&
		strcmp(human, iso_utc(claimed.sealed_at)) != 0)
		return pstrdup("malformed checkpoint: sealed_at does not match the signed sealed_at_us");
	strlcpy(claimed.key_id, key_id, sizeof(claimed.key_id));

	if (!gov_lookup_public_key(key_id, pk))
		return psprintf("checkpoint signed by unknown key %s", key_id);
	gov_checkpoint_encode(&msg, &claimed);
	ok = gov_ed25519_verify(claimed.signature, msg.buf.data, msg.buf.len, pk);
	gov_enc_free(&msg);
	if (!ok)
		return pstrdup("checkpoint signature does not verify");

	if (!gov_block_load(claimed.block_id, &stored))
	{
		/* the first seq the checkpoint vouches for that the ledger lacks */
		int			rc = SPI_execute("SELECT max(last_seq) FROM governance.ledger_blocks", true, 1);
		bool		isnull = true;
		Datum		d = (Datum) 0;

		if (rc == SPI_OK_SELECT && SPI_processed == 1)
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (bad_seq_out)
			*bad_seq_out = isnull ? 1 : Min(DatumGetInt64(d) + 1, claimed.last_seq);
		return psprintf("block " INT64_FORMAT " named by the checkpoint is missing: the ledger lost its tail",
						claimed.block_id);
	}
	if (memcmp(stored.block_hash, claimed.block_hash, GOV_HASH_LEN) != 0 ||
		stored.version != claimed.version ||
		stored.last_seq != claimed.last_seq ||
		stored.total_rows != claimed.total_rows)
	{
		if (bad_seq_out)
			*bad_seq_out = stored.first_seq;
		return psprintf("block " INT64_FORMAT " differs from the checkpoint", claimed.block_id);
	}
	return NULL;
}

/* verify_checkpoint(jsonb) -> (ok boolean, problem text) */
PG_FUNCTION_INFO_V1(gov_sql_verify_checkpoint);
Datum
gov_sql_verify_checkpoint(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	char	   *problem;
	int64		block_id = 0;

	GOV_ENTRY();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	if (PG_ARGISNULL(0))
		problem = pstrdup("no checkpoint given");
	else
	{
		SPI_connect();
		problem = gov_checkpoint_check(PG_GETARG_JSONB_P(0), &block_id, NULL);
		if (problem)
		{
			MemoryContext old = MemoryContextSwitchTo(CurTransactionContext);

			problem = pstrdup(problem);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	values[0] = BoolGetDatum(problem == NULL);
	if (problem)
		values[1] = CStringGetTextDatum(problem);
	else
		nulls[1] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

static Datum
encoded_block_bytes(PG_FUNCTION_ARGS, bool checkpoint)
{
	int64		block_id = PG_GETARG_INT64(0);
	GovBlock	b;
	GovEnc		e;
	bytea	   *res;

	GOV_ENTRY();
	SPI_connect();
	if (!gov_block_load(block_id, &b))
	{
		SPI_finish();
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ledger block " INT64_FORMAT " does not exist", block_id)));
	}
	if (checkpoint)
		gov_checkpoint_encode(&e, &b);
	else
		gov_block_encode(&e, &b);
	res = (bytea *) SPI_palloc(VARHDRSZ + e.buf.len);
	SET_VARSIZE(res, VARHDRSZ + e.buf.len);
	memcpy(VARDATA(res), e.buf.data, e.buf.len);
	SPI_finish();
	PG_RETURN_BYTEA_P(res);
}

/* block_bytes(block_id): the bytes whose BLAKE2b-512 is the block hash. */
PG_FUNCTION_INFO_V1(gov_sql_block_bytes);
Datum
gov_sql_block_bytes(PG_FUNCTION_ARGS)
{
	return encoded_block_bytes(fcinfo, false);
}

/* checkpoint_bytes(block_id): the bytes the block's signature covers. */
PG_FUNCTION_INFO_V1(gov_sql_checkpoint_bytes);
Datum
gov_sql_checkpoint_bytes(PG_FUNCTION_ARGS)
{
	return encoded_block_bytes(fcinfo, true);
}
