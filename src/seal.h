/*-------------------------------------------------------------------------
 *
 * seal.h
 *	  Sealing ledger rows into signed Merkle blocks, and checkpoints.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_SEAL_H
#define GOV_SEAL_H


#include "crypto.h"
#include "keys.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#define GOV_LOG_ID_LEN 16
#define GOV_BLOCK_VERSION 2		/* the version sealed now */

/* A block row as stored (or about to be). */
typedef struct GovBlock
{
	int64		block_id;
	int64		first_seq;
	int64		last_seq;
	int64		row_count;
	int64		total_rows;
	int			ngaps;			/* number of (lo, hi) pairs */
	int64	   *gaps;			/* 2 * ngaps values, inclusive ranges */
	uint8		merkle_root[GOV_HASH_LEN];
	bool		has_prev;
	uint8		prev_hash[GOV_HASH_LEN];
	TimestampTz sealed_at;
	char		key_id[GOV_KEY_ID_LEN + 1];
	uint8		block_hash[GOV_HASH_LEN];
	uint8		signature[GOV_ED25519_SIG_LEN];
	int			version;		/* 1 or 2 (docs/FORMAT.md section 6) */
	uint8		log_id[GOV_LOG_ID_LEN]; /* version 2 */
	uint8		lineage_root[GOV_HASH_LEN]; /* version 2 */
} GovBlock;

/* One execution's chain head in a block (the lineage map's entries). */
typedef struct GovLineageHead
{
	pg_uuid_t	lease;
	int64		seq;
	uint8		link[GOV_HASH_LEN];
} GovLineageHead;

extern int	gov_max_block_rows;
extern char *gov_checkpoint_command;

extern void gov_seal_define_gucs(void);

/* Merkle tree (RFC 6962 shape, BLAKE2b-512, domain-separated). */
extern void gov_merkle_leaf(int64 seq, const uint8 *evidence, uint8 *out);
extern void gov_merkle_root(uint8 *leaves, int64 n, uint8 *out);

/*
 * The lineage map's root over n heads (sorted and reduced to the last head
 * of each lease here; heads is reordered).  n may be 0.
 */
extern void gov_lineage_root(GovLineageHead *heads, int64 n, uint8 *out);

/* Sort heads by lease id and keep the last of each lease; the new count. */
extern int64 gov_lineage_reduce(GovLineageHead *heads, int64 n);
extern void gov_lineage_leaf(const GovLineageHead *h, uint8 *out);
extern void gov_lineage_node(const uint8 *l, const uint8 *r, uint8 *out);

/* Is the catalog of format version 2 (not the upgrade window)? */
extern bool gov_format2(void);

/* This database's log id (governance.log_identity).  Caller is in SPI. */
extern void gov_log_id(uint8 *out);

extern void gov_block_encode(GovEnc *e, const GovBlock *b);
extern void gov_block_hash(const GovBlock *b, uint8 *out);
extern void gov_checkpoint_encode(GovEnc *e, const GovBlock *b);

/* Seal what can be sealed now; returns the number of blocks made. */
extern int	gov_seal(bool wait);

/* Read a stored block; false if it does not exist.  Caller is in SPI. */
extern bool gov_block_load(int64 block_id, GovBlock *b);
extern ArrayType *gov_gaps_array(const GovBlock *b);


/* NULL when the checkpoint holds, else the problem.  Caller is in SPI. */
extern char *gov_checkpoint_check(Jsonb *cp, int64 *block_id_out, int64 *bad_seq_out);

/* The sealer worker's duty. */
extern void gov_sealer_duty(void);

#endif							/* GOV_SEAL_H */
