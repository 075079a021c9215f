/*-------------------------------------------------------------------------
 *
 * evidence_codec.h
 *	  The line format of evidence bundles and proofs (docs/FORMAT.md,
 *	  section 12), in plain C with no PostgreSQL dependency: the extension
 *	  writes it (src/evidence.c), the offline verifier reads it
 *	  (contrib/governance-verify), and contrib/fuzz fuzzes the reader.
 *
 *	  A bundle or proof is a sequence of records, one per line, each line
 *	  ASCII tokens separated by single spaces and ended by a line feed.
 *	  No token holds a backslash, a tab or a non-ASCII byte, so COPY ...
 *	  TO STDOUT and psql's \copy write the lines unchanged.  Tokens:
 *	  decimal int64, lowercase hex, base64url without padding (text and
 *	  byte strings), "-" for NULL and "=" for the empty string.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_EVIDENCE_CODEC_H
#define GOV_EVIDENCE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOV_EV_MAGIC		"governance-evidence"
#define GOV_EV_VERSION		2	/* written; version 1 is still read */
#define GOV_EV_HASH			64	/* SHA3-512, BLAKE2b-512 */
#define GOV_EV_SIG			64
#define GOV_EV_PK			32
#define GOV_EV_KEY_ID		16	/* hex characters */
#define GOV_EV_LOG_ID		16	/* bytes */
#define GOV_EV_MAX_TOKENS	20
#define GOV_EV_MAX_PATH		64	/* audit path hashes: trees of < 2^63 leaves */

/* Record types: the first token of a line. */
typedef enum GovEvType
{
	GOV_EV_BAD = 0,
	GOV_EV_HEADER,				/* governance-evidence 1 <what> ... */
	GOV_EV_KEY,
	GOV_EV_PRIOR,
	GOV_EV_ANCHOR,
	GOV_EV_BLOCK,
	GOV_EV_ROW,
	GOV_EV_PATH,
	GOV_EV_CHECKPOINT,
	GOV_EV_END,
	GOV_EV_MAP					/* proof: a lineage map entry and its path */
} GovEvType;

/* A text or byte string decoded in place (it points into the line). */
typedef struct GovEvStr
{
	const uint8_t *p;
	size_t		len;
	bool		isnull;
} GovEvStr;

typedef struct GovEvHeader
{
	char		what[16];		/* bundle, inclusion, consistency, proof */
	int64_t		version;
	int64_t		a;				/* bundle: from_block; inclusion: seq;
								 * consistency: old block */
	int64_t		b;				/* bundle: to_block; consistency: new block */
	int64_t		c;				/* bundle, proof: exported_at_us */
	uint8_t		lease[16];		/* proof: the lease (a is from_block, b
								 * to_block) */
} GovEvHeader;

typedef struct GovEvKey
{
	char		key_id[GOV_EV_KEY_ID + 1];
	uint8_t		pk[GOV_EV_PK];
	int64_t		created_at;
	bool		has_retired;
	int64_t		retired_at;
	uint8_t		self_sig[GOV_EV_SIG];
	bool		endorsed;
	char		endorsed_by[GOV_EV_KEY_ID + 1];
	uint8_t		endorsement[GOV_EV_SIG];
} GovEvKey;

typedef struct GovEvBlock
{
	int64_t		block_id;
	int64_t		first_seq;
	int64_t		last_seq;
	int64_t		row_count;
	int64_t		total_rows;
	size_t		ngaps;			/* pairs */
	int64_t    *gaps;			/* 2 * ngaps values, in the caller's buffer */
	uint8_t		merkle_root[GOV_EV_HASH];
	bool		has_prev;
	uint8_t		prev_hash[GOV_EV_HASH];
	int64_t		sealed_at;
	char		key_id[GOV_EV_KEY_ID + 1];
	uint8_t		block_hash[GOV_EV_HASH];
	uint8_t		signature[GOV_EV_SIG];
	bool		v2_line;		/* written in the version 2 line form */
	int64_t		version;		/* block format, 1 or 2 */
	uint8_t		log_id[GOV_EV_LOG_ID];	/* version 2 */
	uint8_t		lineage_root[GOV_EV_HASH];	/* version 2 */
} GovEvBlock;

typedef struct GovEvRow
{
	int64_t		seq;
	int64_t		at;
	GovEvStr	kind;
	bool		has_lease;
	uint8_t		lease[16];
	GovEvStr	principal;
	GovEvStr	action;
	GovEvStr	resource;
	GovEvStr	payload;		/* canonical JSON bytes */
	GovEvStr	actor;
	int64_t		txid;
	bool		has_prev;
	int64_t		prev_seq;
	uint8_t		evidence[GOV_EV_HASH];
	uint8_t		link[GOV_EV_HASH];
} GovEvRow;

typedef struct GovEvAnchor
{
	int64_t		seq;
	bool		has_lease;
	uint8_t		lease[16];
	GovEvStr	kind;
	uint8_t		link[GOV_EV_HASH];
} GovEvAnchor;

typedef struct GovEvPath
{
	int64_t		leaf_index;
	int64_t		tree_size;
	int			n;
	uint8_t		hashes[GOV_EV_MAX_PATH][GOV_EV_HASH];
} GovEvPath;

/* map <lease> <seq> <link> <leaf_index> <map_size> <path> */
typedef struct GovEvMap
{
	uint8_t		lease[16];
	int64_t		seq;
	uint8_t		link[GOV_EV_HASH];
	GovEvPath	path;
} GovEvMap;

typedef struct GovEvCheckpoint
{
	int64_t		block_id;
	uint8_t		block_hash[GOV_EV_HASH];
	int64_t		last_seq;
	int64_t		total_rows;
	int64_t		sealed_at;
	char		key_id[GOV_EV_KEY_ID + 1];
	uint8_t		signature[GOV_EV_SIG];
	bool		v2_line;		/* written in the version 2 line form */
	int64_t		version;		/* block format, 1 or 2 */
	uint8_t		log_id[GOV_EV_LOG_ID];	/* version 2 */
} GovEvCheckpoint;

/*
 * One parsed record.  Strings point into the line, which parsing changes
 * (tokens are cut and base64url decoded in place).  Gap pairs go to
 * gapbuf, which must hold gov_ev_gap_capacity(line) values.
 */
typedef struct GovEvRecord
{
	GovEvType	type;
	union
	{
		GovEvHeader header;
		GovEvKey	key;
		GovEvBlock	block;		/* block and prior */
		GovEvRow	row;
		GovEvAnchor anchor;
		GovEvPath	path;
		GovEvCheckpoint checkpoint;
		GovEvMap	map;
		int64_t		end_records;
	}			u;
} GovEvRecord;

/* ---- writing: each returns the number of chars written (no terminator) */

/* Upper bounds of the text of a token, for sizing buffers. */
#define GOV_EV_INT_MAX		20
#define GOV_EV_B64_LEN(n)	(((n) / 3) * 4 + 3)
extern size_t gov_ev_put_int(char *out, int64_t v);
extern size_t gov_ev_put_hex(char *out, const uint8_t *p, size_t n);

/* base64url; "-" for NULL (p == NULL), "=" for the empty string */
extern size_t gov_ev_put_b64(char *out, const uint8_t *p, size_t n);

/* ---- reading */

/* How many int64 gap values a line can hold at most (for gapbuf). */
extern size_t gov_ev_gap_capacity(size_t linelen);

/*
 * Parse one line (without its line feed; it is modified).  Returns NULL
 * on success, else a static string saying what is wrong with it.
 */
extern const char *gov_ev_parse(char *line, size_t len, GovEvRecord *rec,
								int64_t *gapbuf, size_t gapcap);

/* Name of a record type as it is written. */
extern const char *gov_ev_type_name(GovEvType t);

/* Single tokens (exposed for the checkpoint JSON and the tests). */
extern bool gov_ev_parse_int(const char *t, int64_t *v);
extern bool gov_ev_parse_hex(const char *t, uint8_t *out, size_t n);

/* ---- Merkle audit paths (RFC 6962 section 2.1.1, RFC 9162 2.1.3) */

typedef void (*GovEvNodeFn) (const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg);

/*
 * The audit path of leaf m among the n leaves (each GOV_EV_HASH bytes) in
 * the order RFC 6962 gives it (from the leaf up).  Writes at most
 * GOV_EV_MAX_PATH hashes to path and returns their number, or -1 when m
 * is not below n.  Recursion depth is about log2(n).
 */
extern int	gov_ev_audit_path(const uint8_t *leaves, int64_t n, int64_t m,
							  uint8_t (*path)[GOV_EV_HASH], GovEvNodeFn node, void *arg);

/* Root of n >= 1 leaves (RFC 6962 MTH). */
extern void gov_ev_merkle_root(const uint8_t *leaves, int64_t n, uint8_t *out,
							   GovEvNodeFn node, void *arg);

/*
 * RFC 9162 section 2.1.3.2: the root an audit path leads to from a leaf
 * hash.  False when the path does not fit leaf_index and tree_size.
 */
extern bool gov_ev_path_root(const GovEvPath *path, const uint8_t *leaf,
							 uint8_t *root, GovEvNodeFn node, void *arg);

/*
 * Incremental MTH over leaves given one at a time, in O(log n) memory:
 * push each leaf, then take the root.
 */
typedef struct GovEvMerkle
{
	int			depth;
	uint64_t	count;
	uint8_t		stack[64][GOV_EV_HASH];
	uint64_t	size[64];
} GovEvMerkle;

extern void gov_ev_merkle_init(GovEvMerkle *m);
extern void gov_ev_merkle_push(GovEvMerkle *m, const uint8_t *leaf, GovEvNodeFn node, void *arg);
extern bool gov_ev_merkle_finish(GovEvMerkle *m, uint8_t *root, GovEvNodeFn node, void *arg);

#endif							/* GOV_EVIDENCE_CODEC_H */
