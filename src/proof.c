/*-------------------------------------------------------------------------
 *
 * proof.c
 *	  proof(lease_id): the evidence that one execution is what the ledger
 *	  says, end to end, for someone who trusts only a public key
 *	  (docs/FORMAT.md, section 14).
 *
 *	  The execution is the lease and its descendants (delegations).  The
 *	  proof holds every sealed event on their chains, each with its audit
 *	  path in its block's Merkle tree, and every block header from the
 *	  block of the first event to the newest block, each with the entries
 *	  of its lineage map (section 6b) that show, for every lease of the
 *	  execution begun by then, its chain head in that block or that it has
 *	  no event there.  So a reader can check that no event was left out:
 *	  the chain links join the events shown within a block, and the map
 *	  pins the last one of each block and the absence of any later one, up
 *	  to the newest block (nothing appended after a revocation).
 *
 *	  Like export(), it reads the ledger as stored and judges nothing:
 *	  verification is governance-verify's (and the reader's) job.  Events
 *	  not sealed yet are not in it: a proof speaks as of its checkpoint.
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "common.h"
#include "crypto.h"
#include "encode.h"
#include "evidence.h"
#include "evidence_codec.h"
#include "seal.h"

/* One lease of the execution. */
typedef struct ProofLease
{
	pg_uuid_t	lease;
	int64		first_seq;		/* its first sealed event */
} ProofLease;

static int
lease_cmp(const void *a, const void *b)
{
	return memcmp(((const ProofLease *) a)->lease.data, ((const ProofLease *) b)->lease.data, UUID_LEN);
}

static void
lineage_node_fn(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg)
{
	gov_lineage_node(l, r, out);
}

/* The lease and its descendants with sealed events, sorted by lease id. */
static ProofLease *
proof_leases(pg_uuid_t *root, int64 last_seq, int *n_out)
{
	int			rc;
	ProofLease *out;
	uint64		i;
	Oid			argtypes[] = {UUIDOID, INT8OID};
	Datum		values[] = {UUIDPGetDatum(root), Int64GetDatum(last_seq)};

	rc = SPI_execute_with_args("WITH tree AS ("
							   "  SELECT $1::uuid AS lease_id"
							   "  UNION SELECT lease_id FROM governance.leases WHERE $1::uuid = ANY (ancestors)) "
							   "SELECT t.lease_id, min(l.seq) FROM tree t "
							   "  JOIN governance.ledger l ON l.lease_id = t.lease_id AND l.seq <= $2 "
							   "GROUP BY t.lease_id",
							   2, argtypes, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the leases of the execution");
	out = palloc(sizeof(ProofLease) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		memcpy(&out[i].lease,
			   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)),
			   sizeof(pg_uuid_t));
		out[i].first_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	*n_out = (int) SPI_processed;
	qsort(out, *n_out, sizeof(ProofLease), lease_cmp);
	return out;
}

static bool
in_tree(const ProofLease *leases, int n, const pg_uuid_t *lease)
{
	ProofLease	key;

	memcpy(&key.lease, lease, sizeof(pg_uuid_t));
	return bsearch(&key, leases, n, sizeof(ProofLease), lease_cmp) != NULL;
}

static int64
single_int8(const char *sql, int nargs, Oid *types, Datum *values, bool *isnull)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, true, 1);

	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the ledger");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull));
}

/* The map line of entry i of a block's lineage map. */
static void
map_line(StringInfo s, GovLineageHead *heads, uint8 *leaves, int64 n, int64 i)
{
	GovEvPath	path;

	memset(&path, 0, sizeof(path));
	path.leaf_index = i;
	path.tree_size = n;
	path.n = gov_ev_audit_path(leaves, n, i, path.hashes, lineage_node_fn, NULL);
	if (path.n < 0)
		elog(ERROR, "governance: could not compute a lineage map path");
	resetStringInfo(s);
	appendStringInfoString(s, "map ");
	enlargeStringInfo(s, 2 * UUID_LEN + 2 * GOV_HASH_LEN + GOV_EV_INT_MAX + 4);
	s->len += gov_ev_put_hex(s->data + s->len, heads[i].lease.data, UUID_LEN);
	s->data[s->len] = '\0';
	appendStringInfo(s, " " INT64_FORMAT " ", heads[i].seq);
	enlargeStringInfo(s, 2 * GOV_HASH_LEN + 2);
	s->len += gov_ev_put_hex(s->data + s->len, heads[i].link, GOV_HASH_LEN);
	s->data[s->len] = '\0';
	appendStringInfoChar(s, ' ');
	gov_evidence_path_tokens(s, &path);
}

/* One block: its header, the execution's rows with their paths, its map lines. */
static void
block_lines(List **lines, MemoryContext cxt, StringInfo s, const GovBlock *b,
			ProofLease *leases, int nleases, int64 anchor_seq)
{
	int			rc;
	uint64		n;
	uint64		i;
	uint8	   *leaves;
	GovLineageHead *heads;
	int64		nheads = 0;
	uint8	   *mleaves;
	bool	   *shown;
	int			k;
	SPITupleTable *tab;
	Oid			argtypes[] = {INT8OID, INT8OID};
	Datum		values[] = {Int64GetDatum(b->first_seq), Int64GetDatum(b->last_seq)};

	gov_evidence_block_line(s, b);
	gov_evidence_add_line(lines, cxt, s->data);

	rc = SPI_execute_with_args("SELECT " GOV_EVIDENCE_ROW_COLUMNS " FROM governance.ledger "
							   "WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
							   2, argtypes, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the ledger");
	tab = SPI_tuptable;
	n = SPI_processed;
	leaves = palloc(GOV_HASH_LEN * Max(n, 1));
	heads = palloc(sizeof(GovLineageHead) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = tab->vals[i];
		bool		isnull;
		int64		seq = DatumGetInt64(SPI_getbinval(tup, tab->tupdesc, 1, &isnull));
		uint8		evidence[GOV_HASH_LEN] = {0};
		Datum		d = SPI_getbinval(tup, tab->tupdesc, 12, &isnull);

		if (!isnull && VARSIZE_ANY_EXHDR(DatumGetByteaPP(d)) == GOV_HASH_LEN)
			memcpy(evidence, VARDATA_ANY(DatumGetByteaPP(d)), GOV_HASH_LEN);
		gov_merkle_leaf(seq, evidence, leaves + i * GOV_HASH_LEN);
		d = SPI_getbinval(tup, tab->tupdesc, 4, &isnull);
		if (!isnull)
		{
			Datum		link = SPI_getbinval(tup, tab->tupdesc, 13, &isnull);

			memcpy(&heads[nheads].lease, DatumGetUUIDP(d), sizeof(pg_uuid_t));
			heads[nheads].seq = seq;
			memset(heads[nheads].link, 0, GOV_HASH_LEN);
			if (!isnull && VARSIZE_ANY_EXHDR(DatumGetByteaPP(link)) == GOV_HASH_LEN)
				memcpy(heads[nheads].link, VARDATA_ANY(DatumGetByteaPP(link)), GOV_HASH_LEN);
			nheads++;
		}
	}

	/* the execution's rows (and the anchor), each with its audit path */
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = tab->vals[i];
		bool		isnull;
		int64		seq = DatumGetInt64(SPI_getbinval(tup, tab->tupdesc, 1, &isnull));
		Datum		d = SPI_getbinval(tup, tab->tupdesc, 4, &isnull);
		GovEvPath	path;

		if (seq != anchor_seq && (isnull || !in_tree(leases, nleases, DatumGetUUIDP(d))))
			continue;
		gov_evidence_row_line(s, tup, tab->tupdesc);
		gov_evidence_add_line(lines, cxt, s->data);
		memset(&path, 0, sizeof(path));
		path.leaf_index = (int64) i;
		path.tree_size = (int64) n;
		path.n = gov_ev_audit_path(leaves, (int64) n, (int64) i, path.hashes,
								   gov_evidence_merkle_node, NULL);
		if (path.n < 0)
			elog(ERROR, "governance: could not compute an audit path");
		resetStringInfo(s);
		appendStringInfoString(s, "path ");
		gov_evidence_path_tokens(s, &path);
		gov_evidence_add_line(lines, cxt, s->data);
	}

	/*
	 * The map: for each lease of the execution begun by the block's end, its
	 * entry, or the entries around where it would be (none for an empty map).
	 */
	nheads = gov_lineage_reduce(heads, nheads);
	if (nheads > 0)
	{
		mleaves = palloc(GOV_HASH_LEN * nheads);
		shown = palloc0(sizeof(bool) * nheads);
		for (i = 0; i < (uint64) nheads; i++)
			gov_lineage_leaf(&heads[i], mleaves + i * GOV_HASH_LEN);
		for (k = 0; k < nleases; k++)
		{
			int64		lo = 0;
			int64		hi = nheads;

			if (leases[k].first_seq > b->last_seq)
				continue;
			/* the first entry not below the lease */
			while (lo < hi)
			{
				int64		mid = lo + (hi - lo) / 2;

				if (memcmp(heads[mid].lease.data, leases[k].lease.data, UUID_LEN) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < nheads && memcmp(heads[lo].lease.data, leases[k].lease.data, UUID_LEN) == 0)
				shown[lo] = true;
			else
			{
				if (lo > 0)
					shown[lo - 1] = true;
				if (lo < nheads)
					shown[lo] = true;
			}
		}
		for (i = 0; i < (uint64) nheads; i++)
			if (shown[i])
			{
				map_line(s, heads, mleaves, nheads, (int64) i);
				gov_evidence_add_line(lines, cxt, s->data);
			}
		pfree(mleaves);
		pfree(shown);
	}
	pfree(leaves);
	pfree(heads);
	SPI_freetuptable(tab);
}

/* proof(lease_id) -> setof text */
PG_FUNCTION_INFO_V1(gov_sql_proof);
Datum
gov_sql_proof(PG_FUNCTION_ARGS)
{
	pg_uuid_t	root;
	MemoryContext caller = CurrentMemoryContext;
	List	   *lines = NIL;
	StringInfoData s;
	GovBlock	last;
	GovBlock	b;
	ProofLease *leases;
	int			nleases;
	int			k;
	int64		first_seq = PG_INT64_MAX;
	int64		anchor_seq = 0;
	int64		from_block;
	int64		block_id;
	bool		isnull;
	int64		v;
	Oid			uuid_type[1] = {UUIDOID};
	Datum		uuid_arg[1];
	Oid			int8_type[1] = {INT8OID};
	Datum		int8_arg[1];

	GOV_ENTRY();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease_id must not be NULL")));
	memcpy(&root, PG_GETARG_UUID_P(0), sizeof(pg_uuid_t));
	initStringInfo(&s);

	SPI_connect();
	if (!gov_format2())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("proof() needs the version 2 ledger format"),
				 errhint("ALTER EXTENSION governance UPDATE")));
	if (!gov_evidence_newest_block(&last))
		gov_evidence_require_sealed();

	leases = proof_leases(&root, last.last_seq, &nleases);
	for (k = 0; k < nleases; k++)
		first_seq = Min(first_seq, leases[k].first_seq);
	if (nleases == 0 || !in_tree(leases, nleases, &root))
	{
		uuid_arg[0] = UUIDPGetDatum(&root);
		v = single_int8("SELECT count(*) FROM governance.ledger WHERE lease_id = $1",
						1, uuid_type, uuid_arg, &isnull);
		if (v > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the events of lease %s are not sealed yet",
							DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&root)))),
					 errhint("The sealer seals committed rows every governance.seal_interval; governance.seal() seals them now.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the ledger has no event of lease %s",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&root))))));
	}

	/* a delegated lease starts at its parent's governance.delegated event */
	for (k = 0; k < nleases; k++)
		if (memcmp(&leases[k].lease, &root, sizeof(pg_uuid_t)) == 0)
			break;
	int8_arg[0] = Int64GetDatum(leases[k].first_seq);
	v = single_int8("SELECT prev_seq FROM governance.ledger WHERE seq = $1",
					1, int8_type, int8_arg, &isnull);
	if (!isnull)
	{
		anchor_seq = v;
		first_seq = Min(first_seq, anchor_seq);
	}

	int8_arg[0] = Int64GetDatum(first_seq);
	from_block = single_int8("SELECT max(block_id) FROM governance.ledger_blocks "
							 "WHERE first_seq <= $1 AND last_seq >= $1",
							 1, int8_type, int8_arg, &isnull);
	if (isnull)
		elog(ERROR, "governance: sealed row %lld is in no block", (long long) first_seq);
	int8_arg[0] = Int64GetDatum(from_block);
	v = single_int8("SELECT count(*) FROM governance.ledger_blocks WHERE block_id >= $1 AND version < 2",
					1, int8_type, int8_arg, &isnull);
	if (v > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lease %s has events in blocks of format version 1, which have no lineage map",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&root)))),
				 errdetail("Its events were sealed before the extension was updated to 0.2."),
				 errhint("inclusion_proof(seq) proves each of its events; export() its blocks.")));

	resetStringInfo(&s);
	appendStringInfo(&s, "%s %d proof ", GOV_EV_MAGIC, GOV_EV_VERSION);
	enlargeStringInfo(&s, 2 * UUID_LEN + 1);
	s.len += gov_ev_put_hex(s.data + s.len, root.data, UUID_LEN);
	s.data[s.len] = '\0';
	appendStringInfo(&s, " " INT64_FORMAT " " INT64_FORMAT " " INT64_FORMAT, from_block, last.block_id,
					 gov_timestamp_to_unix_micros(GetCurrentTimestamp()));
	gov_evidence_add_line(&lines, caller, s.data);
	gov_evidence_key_lines(&lines, caller, &s);

	for (block_id = from_block; block_id <= last.block_id; block_id++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!gov_block_load(block_id, &b))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ledger block " INT64_FORMAT " is missing", block_id)));
		block_lines(&lines, caller, &s, &b, leases, nleases, anchor_seq);
	}
	gov_evidence_checkpoint_line(&s, &last);
	gov_evidence_add_line(&lines, caller, s.data);
	gov_evidence_end_line(&lines, caller, &s);
	SPI_finish();
	gov_evidence_return_lines(fcinfo, lines);
	return (Datum) 0;
}
