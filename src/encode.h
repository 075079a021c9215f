/*-------------------------------------------------------------------------
 *
 * encode.h
 *	  The one canonical encoder behind every hash and signature (D2).
 *
 *	  A message is a sequence of fields.  Each field is a 4-byte big-endian
 *	  length followed by that many bytes; a NULL field is the length
 *	  0xFFFFFFFF and no bytes, so NULL and empty never collide.  The first
 *	  field is always the domain tag, an ASCII constant from the list below,
 *	  so that bytes hashed or signed for one purpose can never be taken for
 *	  another.  docs/FORMAT.md documents every message byte by byte.
 *
 *	  Only tags defined here may start a message: the signing code accepts
 *	  a GovEnc, never raw bytes, which is how the server key is kept from
 *	  signing anything a caller chooses.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_ENCODE_H
#define GOV_ENCODE_H

#include "lib/stringinfo.h"
#include "utils/timestamp.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* Domain tags.  Never change one: old evidence must keep verifying. */
#define GOV_TAG_KEY_ID			"governance.v1.key-id"
#define GOV_TAG_KEY				"governance.v1.key"
#define GOV_TAG_KEY_ENDORSE		"governance.v1.key-endorsement"
#define GOV_TAG_EVENT			"governance.v1.event"
#define GOV_TAG_LINK			"governance.v1.link"
#define GOV_TAG_MERKLE_LEAF		"governance.v1.merkle-leaf"
#define GOV_TAG_MERKLE_NODE		"governance.v1.merkle-node"
#define GOV_TAG_BLOCK			"governance.v1.block"
#define GOV_TAG_CHECKPOINT		"governance.v1.checkpoint"
#define GOV_TAG_POLICY_SET		"governance.v1.policy-set"
/* format version 2: blocks and checkpoints name their log (FORMAT.md 6, 7) */
#define GOV_TAG_BLOCK_V2		"governance.v2.block"
#define GOV_TAG_CHECKPOINT_V2	"governance.v2.checkpoint"
#define GOV_TAG_LINEAGE_LEAF	"governance.v2.lineage-leaf"
#define GOV_TAG_LINEAGE_NODE	"governance.v2.lineage-node"
#define GOV_TAG_LINEAGE_EMPTY	"governance.v2.lineage-empty"
/* never hashed nor signed: frames a security event waiting for the enforcer */
#define GOV_TAG_QUEUED_EVENT	"governance.v1.queued-event"

#define GOV_FIELD_NULL			0xFFFFFFFFu

typedef struct GovEnc
{
	StringInfoData buf;
	const char *tag;
} GovEnc;

extern void gov_enc_init(GovEnc *e, const char *tag);
extern void gov_enc_bytes(GovEnc *e, const void *data, size_t len);
extern void gov_enc_text(GovEnc *e, const char *s);
extern void gov_enc_null(GovEnc *e);
extern void gov_enc_int64(GovEnc *e, int64 v);
extern void gov_enc_timestamp(GovEnc *e, TimestampTz ts);
extern void gov_enc_uuid(GovEnc *e, const pg_uuid_t *u);

extern void gov_enc_jsonb(GovEnc *e, Jsonb *jb);
extern void gov_enc_free(GovEnc *e);

extern int64 gov_timestamp_to_unix_micros(TimestampTz ts);

/* ISO 8601 in UTC whatever the session's settings (FORMAT.md, section 5) */
extern char *gov_iso_timestamp(TimestampTz ts);

/* Canonical JSON text of a jsonb value (docs/FORMAT.md section 4). */
extern void gov_canonical_json(StringInfo out, Jsonb *jb);

extern char *gov_hex(const uint8 *data, size_t len);
extern Datum gov_bytea_datum(const void *data, size_t len);
extern bool gov_unhex(const char *hex, size_t hexlen, uint8 *out, size_t outlen);

/*
 * A small builder for the jsonb payloads of the extension's own ledger
 * events.  It builds the jsonb value directly (no JSON text to print and
 * parse back); objects keep jsonb's rules (keys sorted, the last of
 * duplicate keys wins).
 */
typedef struct GovJson
{
	JsonbParseState *state;
	JsonbValue *result;
	int			depth;
	bool		in_array[32];	/* the kind of container at each depth */
} GovJson;

extern void gj_init(GovJson *j);
extern void gj_begin_object(GovJson *j);
extern void gj_end_object(GovJson *j);
extern void gj_begin_array(GovJson *j);
extern void gj_end_array(GovJson *j);
extern void gj_key(GovJson *j, const char *key);
extern void gj_str(GovJson *j, const char *v);	/* NULL writes null */
extern void gj_int(GovJson *j, int64 v);
extern void gj_bool(GovJson *j, bool v);
extern void gj_hex(GovJson *j, const uint8 *p, size_t len);
extern Jsonb *gj_finish(GovJson *j);

#endif							/* GOV_ENCODE_H */
