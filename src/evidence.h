/*-------------------------------------------------------------------------
 *
 * evidence.h
 *	  The lines of evidence bundles and proofs (docs/FORMAT.md, section
 *	  12) as src/evidence.c writes them, for the other SQL functions that
 *	  return evidence (src/proof.c).  Callers are connected to SPI.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_EVIDENCE_H
#define GOV_EVIDENCE_H

#include "access/htup.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "evidence_codec.h"
#include "seal.h"

/* The columns row lines are written from, in order. */
#define GOV_EVIDENCE_ROW_COLUMNS "seq, at, kind, lease_id, principal, action, resource, payload, " \
	"actor, txid::text::bigint, prev_seq, evidence, link"

extern void gov_evidence_block_line(StringInfo s, const GovBlock *b);
extern void gov_evidence_checkpoint_line(StringInfo s, const GovBlock *b);
extern void gov_evidence_row_line(StringInfo s, HeapTuple tup, TupleDesc desc);
extern void gov_evidence_add_line(List **lines, MemoryContext cxt, const char *line);
extern void gov_evidence_key_lines(List **lines, MemoryContext cxt, StringInfo s);
extern bool gov_evidence_newest_block(GovBlock *b);
extern void gov_evidence_require_sealed(void);
extern void gov_evidence_end_line(List **lines, MemoryContext cxt, StringInfo s);
extern void gov_evidence_return_lines(FunctionCallInfo fcinfo, List *lines);
extern void gov_evidence_merkle_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg);

/* "<leaf_index> <tree_size> <path>" of an audit path */
extern void gov_evidence_path_tokens(StringInfo s, const GovEvPath *path);

#endif							/* GOV_EVIDENCE_H */
