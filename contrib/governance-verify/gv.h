/*-------------------------------------------------------------------------
 *
 * gv.h
 *	  governance-verify: the offline verifier of evidence bundles, proofs,
 *	  checkpoints and artifacts (docs/FORMAT.md).  libsodium and OpenSSL
 *	  only; no libpq, no server.
 *
 *	  gv_engine.c checks bundles and proofs a line at a time (bounded
 *	  memory but for one entry per execution), gv_json.c reads checkpoint
 *	  files, governance_verify.c is the command line.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GV_H
#define GV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "evidence_codec.h"

/* exit codes */
#define GV_VERIFIED		0
#define GV_TAMPERED		1
#define GV_BAD_INPUT	2

#define GV_MAX_KEYS		64		/* trusted keys given on the command line */
#define GV_TENANT_MAX	256		/* a tenant uid, terminator included (as
								 * GOV_UID_MAX) */

typedef struct GvTrust
{
	int			nkeys;
	uint8_t		pk[GV_MAX_KEYS][GOV_EV_PK];
	bool		have_cp;		/* a trusted checkpoint (--checkpoint) */
	GovEvCheckpoint cp;
	bool		have_old;		/* consistency: the old and new checkpoints
								 * kept */
	GovEvCheckpoint old_cp;
	bool		have_new;
	GovEvCheckpoint new_cp;
	bool		have_log_id;	/* --log-id: the log the evidence must be of */
	uint8_t		log_id[GOV_EV_LOG_ID];
	const char *tenant;			/* --tenant: the tenant a proof's execution
								 * must be of ("" for none), or NULL */
} GvTrust;

typedef struct GvResult
{
	int			status;			/* GV_VERIFIED, GV_TAMPERED, GV_BAD_INPUT */
	char		problem[1024];
	bool		has_bad_seq;
	int64_t		bad_seq;
	int64_t		line;			/* line of the problem, 0 if none */
	char		what[16];		/* bundle, inclusion, consistency */
	int64_t		rows;
	int64_t		blocks;
	int64_t		keys;
	int64_t		trusted_keys;
	int64_t		from_block;		/* blocks verified */
	int64_t		to_block;
	bool		have_checkpoint;	/* the newest checkpoint the input proves */
	GovEvCheckpoint checkpoint;
	int64_t		seq;			/* inclusion: the event */
	bool		have_log_id;	/* the log of the version 2 blocks */
	uint8_t		log_id[GOV_EV_LOG_ID];
	/* proof: the execution */
	uint8_t		lease[16];
	int64_t		leases;			/* the lease and its descendants */
	bool		root_ended;
	int64_t		root_end_seq;
	char		root_end_kind[40];
	bool		has_tenant;		/* its governance.authorize event names one */
	char		tenant[GV_TENANT_MAX];
	int64_t		tenant_seq;		/* that event */
} GvResult;

typedef struct GvState GvState;

/* crypto (gv_engine.c) */
extern void gv_sha3_512(const void *p, size_t n, uint8_t *out);
extern void gv_blake2b_512(const void *p, size_t n, uint8_t *out);
extern bool gv_ed25519_verify(const uint8_t *sig, const void *msg, size_t n, const uint8_t *pk);
extern void gv_key_id(const uint8_t *pk, char *out);
extern void gv_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg);
extern bool gv_checkpoint_signature_ok(const GovEvCheckpoint *c, const uint8_t *pk);

/* the engine: feed lines (without their line feed; each buffer must have
 * room for a terminator at line[len]), then finish */
extern GvState *gv_begin(const GvTrust *trust, GvResult *res);
extern bool gv_line(GvState *st, char *line, size_t len);	/* false: stop */
extern void gv_finish(GvState *st, bool last_line_complete);
extern void gv_free(GvState *st);
extern const uint8_t *gv_trusted_key(GvState *st, const char *key_id, bool *known);
extern void gv_fail(GvResult *res, int status, int64_t seq, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* proof --dot (gv_dot.c): keep the lines, then write the verified graph */
typedef struct GvDot GvDot;
extern GvDot *gv_dot_begin(void);
extern void gv_dot_line(GvDot *d, const char *line, size_t len);
extern bool gv_dot_write(GvDot *d, FILE *out);
extern void gv_dot_free(GvDot *d);

/* proof --artifact (gv_dot.c): a lease's first event, its members as text */
typedef struct GvAuthz
{
	int64_t		seq;
	char	   *kind;
	char	   *principal;
	char	   *action;
	char	   *resource;
	char	   *decision;
	char	   *policy_set_hash;
	char	   *context;		/* context_sha3_512 */
	char	   *expires_at;
	char	   *parent;
} GvAuthz;
extern bool gv_dot_authorize(GvDot *d, const uint8_t *lease, GvAuthz *out);
extern void gv_authz_free(GvAuthz *a);

/* a top-level string member of a canonical JSON payload, or NULL (gv_json.c) */
extern char *gv_json_member(const uint8_t *p, size_t n, const char *name);

/* checkpoint JSON (gv_json.c): NULL on success, else why not */
extern const char *gv_parse_checkpoint_json(const char *json, size_t len,
											GovEvCheckpoint *cp, bool *tampered);

#endif							/* GV_H */
