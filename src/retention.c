/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  Retention: mark_exported() and prune() (issue 12, section 4).
 *
 *	  A busy ledger grows by millions of rows a day.  Sealed blocks can be
 *	  taken out as evidence bundles (export(), src/evidence.c) and archived;
 *	  mark_exported() records that an administrator holds the bundle of a
 *	  block range (naming the hash of its last block, which the bundle's
 *	  checkpoint line carries), and prune(before_block) then deletes the
 *	  rows of the blocks before before_block that are exported and older
 *	  than governance.retention_min_age.  What stays:
 *
 *	  - every signed block header (governance.ledger_blocks is never
 *	    pruned), so verify_ledger() still checks the whole block chain and
 *	    each signature, and an archived bundle is checked against the same
 *	    chain (its checkpoint names a block hash the database still holds);
 *	  - governance.ledger_pruned, one row per pruned block: verify_ledger()
 *	    expects no rows there and says how many blocks it checked by header
 *	    only;
 *	  - governance.ledger_anchors: the seq, lease, kind and link of each
 *	    pruned row that a later row links to, or that is the last row of its
 *	    lease's chain so far.  A chain goes on from there (the ledger looks a
 *	    lease's head up there when it has no row left), verify_ledger() and
 *	    export() take the link as given, as a bundle's anchor line (FORMAT.md
 *	    section 12); the archived bundle holds the row itself.
 *
 *	  The append-only guard lets a DELETE of ledger rows through only while
 *	  prune() runs (gov_ledger_pruning, backend-local, set nowhere else) and
 *	  only up to its last seq; a superuser's own DELETE is refused as ever.
 *	  Prunes are serialized by an EXCLUSIVE lock on ledger_pruned and each
 *	  one is ledgered (governance.ledger.pruned), as is each mark
 *	  (governance.ledger.exported).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "common.h"
#include "encode.h"
#include "ledger.h"
#include "seal.h"
#include "retention.h"

/* seconds; a block younger than this is never pruned */
int			gov_retention_min_age_s = 30 * 24 * 3600;

void
gov_retention_define_gucs(void)
{
	DefineCustomIntVariable("governance.retention_min_age",
							"How old a sealed block must be before prune() may remove its rows.",
							"Measured from the block's sealed_at.",
							&gov_retention_min_age_s,
							30 * 24 * 3600, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

/*
 * The newest pruned block (0 for none, or when the database has no
 * retention tables, a 0.1 schema).  Caller is in SPI.
 */
int64
gov_retention_pruned_through(void)
{
	Oid			nsp = get_namespace_oid(GOV_SCHEMA_NAME, true);
	int			rc;
	bool		isnull;
	Datum		d;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("ledger_pruned", nsp)))
		return 0;
	rc = SPI_execute("SELECT max(block_id) FROM governance.ledger_pruned", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read governance.ledger_pruned");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

static int64
newest_block(void)
{
	int			rc;
	bool		isnull;
	Datum		d;

	rc = SPI_execute("SELECT max(block_id) FROM governance.ledger_blocks", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read governance.ledger_blocks");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/* Run a statement that writes one of the retention tables (guarded). */
static uint64
write_guarded(const char *sql, int nargs, Oid *types, Datum *values)
{
	int			rc;

	gov_ledger_writing = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	}
	PG_FINALLY();
	{
		gov_ledger_writing = false;
	}
	PG_END_TRY();
	if (rc < 0)
		elog(ERROR, "could not write the retention tables: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

static void
check_block_arg(const char *what, int64 block, int64 newest)
{
	if (block < 1 || block > newest)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %lld is not a sealed block", what, (long long) block),
				 errdetail("The sealed blocks are 1 to %lld.", (long long) newest)));
}

/*
 * mark_exported(from_block bigint, to_block bigint, block_hash bytea) -> bigint
 *
 * Record that the bundle of blocks from_block..to_block is archived;
 * block_hash is to_block's hash as the bundle's checkpoint line gives it.
 * Returns the seq of the governance.ledger.exported event.
 */
PG_FUNCTION_INFO_V1(gov_sql_mark_exported);
Datum
gov_sql_mark_exported(PG_FUNCTION_ARGS)
{
	int64		from_block;
	int64		to_block;
	bytea	   *hash;
	int64		newest;
	GovBlock	b;
	GovJson		j;
	int64		seq;

	GOV_ENTRY();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("from_block, to_block and block_hash must not be NULL")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot mark blocks exported during recovery")));
	from_block = PG_GETARG_INT64(0);
	to_block = PG_GETARG_INT64(1);
	hash = PG_GETARG_BYTEA_PP(2);

	SPI_connect();
	newest = newest_block();
	check_block_arg("from_block", from_block, newest);
	check_block_arg("to_block", to_block, newest);
	if (from_block > to_block)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_block %lld is after to_block %lld",
						(long long) from_block, (long long) to_block)));
	if (!gov_block_load(to_block, &b))
		elog(ERROR, "block %lld disappeared", (long long) to_block);
	if (VARSIZE_ANY_EXHDR(hash) != GOV_HASH_LEN ||
		memcmp(VARDATA_ANY(hash), b.block_hash, GOV_HASH_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("block_hash is not the hash of block %lld", (long long) to_block),
				 errdetail("A bundle's checkpoint line gives the hash of its last block (128 hex digits: decode(..., 'hex'))."),
				 errhint("Mark only a bundle you have archived and verified.")));

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "from_block");
	gj_int(&j, from_block);
	gj_key(&j, "to_block");
	gj_int(&j, to_block);
	gj_key(&j, "block_hash");
	gj_hex(&j, b.block_hash, GOV_HASH_LEN);
	gj_key(&j, "by");
	gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
	gj_end_object(&j);
	seq = gov_ledger_append_system("governance.ledger.exported", NULL, gj_finish(&j));

	{
		Oid			types[5] = {INT8OID, INT8OID, BYTEAOID, TEXTOID, INT8OID};
		Datum		args[5];

		args[0] = Int64GetDatum(from_block);
		args[1] = Int64GetDatum(to_block);
		args[2] = gov_bytea_datum(b.block_hash, GOV_HASH_LEN);
		args[3] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
		args[4] = Int64GetDatum(seq);
		write_guarded("INSERT INTO governance.ledger_exports (from_block, to_block, block_hash, marked_at, marked_by, seq) "
					  "VALUES ($1, $2, $3, now(), $4, $5)", 5, types, args);
	}
	SPI_finish();
	PG_RETURN_INT64(seq);
}

/* The first block of lo..hi that no mark covers, or 0. */
static int64
first_unexported(int64 lo, int64 hi)
{
	int			rc;
	bool		isnull;
	Datum		d;

	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2];

	args[0] = Int64GetDatum(lo);
	args[1] = Int64GetDatum(hi);
	rc = SPI_execute_with_args("SELECT min(g) FROM generate_series($1::bigint, $2::bigint) g "
							   "WHERE NOT EXISTS (SELECT 1 FROM governance.ledger_exports e "
							   "WHERE g BETWEEN e.from_block AND e.to_block)",
							   2, types, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read governance.ledger_exports");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * prune(before_block bigint) -> bigint
 *
 * Delete the rows of every block before before_block not pruned yet; the
 * number of rows removed.  Refused (55000) unless each of those blocks was
 * marked exported and the newest of them is older than
 * governance.retention_min_age.
 */
PG_FUNCTION_INFO_V1(gov_sql_prune);
Datum
gov_sql_prune(PG_FUNCTION_ARGS)
{
	int64		before_block;
	int64		newest;
	int64		done;
	int64		lo;
	int64		hi;
	int64		missing;
	int64		rows;
	GovBlock	first;
	GovBlock	last;
	TimestampTz now = GetCurrentTimestamp();
	GovJson		j;
	int64		seq;
	int			rc;
	Oid			range_types[2] = {INT8OID, INT8OID};
	Datum		range_args[2];
	Oid			pruned_types[3] = {INT8OID, INT8OID, INT8OID};
	Datum		pruned_args[3];

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("before_block must not be NULL")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot prune the ledger during recovery")));
	before_block = PG_GETARG_INT64(0);

	SPI_connect();
	/* one prune at a time; marks and appends go on */
	rc = SPI_execute("LOCK TABLE governance.ledger_pruned IN EXCLUSIVE MODE", false, 0);
	if (rc < 0)
		elog(ERROR, "could not lock governance.ledger_pruned");
	newest = newest_block();
	if (before_block < 2 || before_block > newest + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("before_block %lld is out of range", (long long) before_block),
				 errdetail("Blocks 1 to before_block - 1 are pruned; the sealed blocks are 1 to %lld.",
						   (long long) newest)));
	done = gov_retention_pruned_through();
	if (done >= before_block - 1)
	{
		SPI_finish();
		PG_RETURN_INT64(0);
	}
	lo = done + 1;
	hi = before_block - 1;
	missing = first_unexported(lo, hi);
	if (missing > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("block %lld was not exported", (long long) missing),
				 errdetail("prune() removes only rows whose bundle was archived."),
				 errhint("Export the blocks with governance.export(), archive and verify the bundle, then call governance.mark_exported().")));
	if (!gov_block_load(lo, &first) || !gov_block_load(hi, &last))
		elog(ERROR, "a block to prune disappeared");
	if (now - last.sealed_at < (int64) gov_retention_min_age_s * USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("block %lld is not older than governance.retention_min_age", (long long) hi),
				 errdetail("It was sealed at %s; governance.retention_min_age is %d s.",
						   timestamptz_to_str(last.sealed_at), gov_retention_min_age_s)));

	range_args[0] = Int64GetDatum(first.first_seq);
	range_args[1] = Int64GetDatum(last.last_seq);

	/*
	 * The anchors: each row of the range that a later row links to, and each
	 * lease's last row in the range (its chain head if nothing follows).
	 */
	write_guarded("INSERT INTO governance.ledger_anchors (seq, lease_id, kind, link) "
				  "SELECT l.seq, l.lease_id, l.kind, l.link FROM governance.ledger l "
				  "WHERE l.seq >= $1 AND l.seq <= $2 AND (l.seq IN "
				  "(SELECT r.prev_seq FROM governance.ledger r WHERE r.seq > $2 AND r.prev_seq <= $2) "
				  "OR l.seq IN (SELECT max(m.seq) FROM governance.ledger m "
				  "WHERE m.seq >= $1 AND m.seq <= $2 AND m.lease_id IS NOT NULL GROUP BY m.lease_id)) "
				  "ON CONFLICT (seq) DO NOTHING",
				  2, range_types, range_args);

	gov_ledger_prune_max_seq = last.last_seq;
	gov_ledger_pruning = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args("DELETE FROM governance.ledger WHERE seq >= $1 AND seq <= $2",
								   2, range_types, range_args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		gov_ledger_pruning = false;
		gov_ledger_prune_max_seq = 0;
	}
	PG_END_TRY();
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not prune the ledger: %s", SPI_result_code_string(rc));
	rows = (int64) SPI_processed;

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "from_block");
	gj_int(&j, lo);
	gj_key(&j, "to_block");
	gj_int(&j, hi);
	gj_key(&j, "rows");
	gj_int(&j, rows);
	gj_key(&j, "last_seq");
	gj_int(&j, last.last_seq);
	gj_key(&j, "block_hash");
	gj_hex(&j, last.block_hash, GOV_HASH_LEN);
	gj_key(&j, "by");
	gj_str(&j, GetUserNameFromId(GetOuterUserId(), false));
	gj_end_object(&j);
	seq = gov_ledger_append_system("governance.ledger.pruned", NULL, gj_finish(&j));
	pruned_args[0] = Int64GetDatum(lo);
	pruned_args[1] = Int64GetDatum(hi);
	pruned_args[2] = Int64GetDatum(seq);

	write_guarded("INSERT INTO governance.ledger_pruned (block_id, row_count, pruned_at, seq) "
				  "SELECT b.block_id, b.row_count, now(), $3 FROM governance.ledger_blocks b "
				  "WHERE b.block_id >= $1 AND b.block_id <= $2",
				  3, pruned_types, pruned_args);
	SPI_finish();
	PG_RETURN_INT64(rows);
}
