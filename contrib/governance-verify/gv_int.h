/*-------------------------------------------------------------------------
 *
 * gv_int.h
 *	  governance-verify's engine, shared by gv_engine.c (messages, crypto,
 *	  tables, keys) and gv_blocks.c (blocks, rows, proofs).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GV_INT_H
#define GV_INT_H

#include "gv.h"

typedef struct Msg
{
	uint8_t    *p;
	size_t		len;
	size_t		cap;
} Msg;

typedef struct Slot
{
	bool		used;
	uint8_t		key[16];
	int64_t		seq;
	uint8_t		link[64];
	bool		has_lease;
	uint8_t		lease[16];
	bool		delegated;
	/* chains: the execution's parent lease, and its end */
	bool		has_parent;
	uint8_t		parent[16];
	bool		ended;
	int64_t		ended_seq;
	char		ended_kind[28];
} Slot;

typedef struct Table
{
	Slot	   *slots;
	size_t		cap;
	size_t		n;
} Table;

typedef struct GvHead
{
	uint8_t		lease[16];
	int64_t		seq;
	uint8_t		link[64];
} GvHead;

/* proof: one lease of the execution */
typedef struct PfLease
{
	uint8_t		lease[16];
	int			parent;			/* index of its parent in the tree, -1 */
	int64_t		first_seq;
	int64_t		rows;
	bool		in_block;		/* has rows in the current block */
	int64_t		last_seq;		/* its last row so far */
	uint8_t		last_link[64];
	bool		ended;			/* a governance.revoke or .lease.expired row */
	int64_t		ended_seq;
	char		ended_kind[40];
} PfLease;

typedef struct KeyEnt
{
	GovEvKey	k;
	bool		trusted;
} KeyEnt;

struct GvState
{
	const GvTrust *trust;
	GvResult   *res;
	Msg			msg;
	int64_t		lineno;
	bool		have_header;
	GovEvHeader header;
	bool		ended;
	int64_t		end_count;
	GovEvType	last_type;
	/* keys */
	KeyEnt	   *keys;
	int			nkeys;
	bool		keys_done;
	/* blocks */
	int64_t    *gapbuf;
	size_t		gapcap;
	bool		have_prev;		/* prior or previous block, header checked */
	GovEvBlock	prev;
	int64_t    *prevgaps;
	bool		have_cur;		/* a block whose rows are being read */
	GovEvBlock	cur;
	int64_t    *curgaps;
	size_t		curgapcap;
	size_t		gi;
	int64_t		expect;
	int64_t		pending_missing;	/* > 0: a seq missing so far */
	int64_t		nleaves;
	GovEvMerkle merkle;
	int64_t		last_row_seq;
	bool		have_last_row;
	bool		cp_seen;		/* the trusted checkpoint's block was met */
	/* rows */
	Table		chains;			/* lease -> last seq and link */
	Table		links;			/* seq -> link: anchors, delegated events */
	/* inclusion */
	bool		have_row;
	GovEvRow	row;
	uint8_t		row_leaf[64];
	/* format version 2 */
	bool		have_log;		/* the log id every version 2 block must name */
	uint8_t		log_id[GOV_EV_LOG_ID];
	GvHead	   *heads;			/* the current block's rows with a lease */
	size_t		nheads;
	size_t		headcap;
	/* proof */
	PfLease    *pf;
	int			npf;
	int			pfcap;
	GovEvMap   *maps;			/* the current block's map records */
	size_t		nmaps;
	size_t		mapcap;
	int64_t    *pending;		/* delegated rows whose child is not seen */
	int			npending;
	int			pendcap;
	int64_t    *delegated;		/* every delegated row of the tree: seq, */
	int		   *delegated_by;	/* and the index of its lease */
	int			ndelegated;
	int			delcap;
	bool		pf_anchor;
	int64_t		anchor_seq;
	bool		pf_root_seen;
	char	   *pf_tenant;		/* the root's "tenant" member, NULL: none */
	bool		pf_want_path;
	int64_t		pf_row_seq;
	uint8_t		pf_leaf[64];
	int64_t		pf_index;
	/* consistency */
	int			ncheckpoints;
	GovEvCheckpoint old_cp;
};

/* Record the first problem (tampering found); always false. */
extern bool gv_problem(GvState *st, int64_t seq, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
#define FAIL gv_problem

extern void msg_raw(Msg *m, const void *p, size_t n);
extern void msg_field(Msg *m, const void *p, size_t n);
extern void msg_null(Msg *m);
extern void msg_text(Msg *m, const char *s);
extern void msg_str(Msg *m, const GovEvStr *s);
extern void msg_int(Msg *m, int64_t v);
extern void msg_start(Msg *m, const char *tag);
extern void leaf_hash(int64_t seq, const uint8_t *evidence, uint8_t *out);
extern void link_hash(const uint8_t *prev, const uint8_t *evidence, uint8_t *out);
extern void event_evidence(Msg *m, const GovEvRow *r, uint8_t *out);
extern void block_hash(Msg *m, const GovEvBlock *b, uint8_t *out);
extern void lineage_root(GvHead *heads, size_t n, uint8_t *out);
extern void lineage_leaf(const uint8_t *lease, int64_t seq, const uint8_t *link, uint8_t *out);
extern void gv_lineage_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg);
extern void lineage_empty(uint8_t *out);
extern void checkpoint_of(const GovEvBlock *b, GovEvCheckpoint *c);
extern bool same_checkpoint(const GovEvCheckpoint *a, const GovEvCheckpoint *b);
extern Slot *table_find(Table *t, const uint8_t *key, bool create);
extern void seq_key(int64_t seq, uint8_t *key);
extern KeyEnt *find_key(GvState *st, const char *key_id);
extern bool finish_keys(GvState *st);
extern const uint8_t *signer(GvState *st, const char *key_id, int64_t block_id, int64_t seq, bool chained);

#endif							/* GV_INT_H */
