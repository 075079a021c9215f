/*-------------------------------------------------------------------------
 *
 * encode.c
 *	  Canonical, length-prefixed, domain-separated message encoding.
 *
 *	  See encode.h for the rules and docs/FORMAT.md for the byte layout.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "encode.h"

/*
 * A single field may not exceed what a 4-byte length can express, minus the
 * NULL marker.  palloc limits keep us far below that in practice.
 */
static void
put_len(GovEnc *e, uint32 len)
{
	uint8		b[4];

	b[0] = (uint8) (len >> 24);
	b[1] = (uint8) (len >> 16);
	b[2] = (uint8) (len >> 8);
	b[3] = (uint8) len;
	appendBinaryStringInfo(&e->buf, (const char *) b, 4);
}

void
gov_enc_init(GovEnc *e, const char *tag)
{
	initStringInfo(&e->buf);
	e->tag = tag;
	gov_enc_text(e, tag);
}

void
gov_enc_bytes(GovEnc *e, const void *data, size_t len)
{
	if (len >= GOV_FIELD_NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("field too large to encode")));
	put_len(e, (uint32) len);
	if (len > 0)
		appendBinaryStringInfo(&e->buf, data, (int) len);
}

void
gov_enc_text(GovEnc *e, const char *s)
{
	if (s == NULL)
		gov_enc_null(e);
	else
		gov_enc_bytes(e, s, strlen(s));
}

void
gov_enc_null(GovEnc *e)
{
	put_len(e, GOV_FIELD_NULL);
}

void
gov_enc_int64(GovEnc *e, int64 v)
{
	uint8		b[8];
	uint64		u = (uint64) v;
	int			i;

	for (i = 7; i >= 0; i--)
	{
		b[i] = (uint8) u;
		u >>= 8;
	}
	gov_enc_bytes(e, b, 8);
}

/*
 * Timestamps are encoded as signed microseconds since the Unix epoch, the
 * representation every language has at hand, not PostgreSQL's 2000 epoch.
 */
int64
gov_timestamp_to_unix_micros(TimestampTz ts)
{
	int64		res;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("infinite timestamps cannot be encoded")));
	if (pg_add_s64_overflow(ts,
							(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY,
							&res))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return res;
}

void
gov_enc_timestamp(GovEnc *e, TimestampTz ts)
{
	gov_enc_int64(e, gov_timestamp_to_unix_micros(ts));
}

void
gov_enc_uuid(GovEnc *e, const pg_uuid_t *u)
{
	if (u == NULL)
		gov_enc_null(e);
	else
		gov_enc_bytes(e, u->data, UUID_LEN);
}

char *
gov_hex(const uint8 *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char	   *out = palloc(len * 2 + 1);
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xF];
	}
	out[len * 2] = '\0';
	return out;
}

/* A bytea Datum holding a copy of len bytes. */
Datum
gov_bytea_datum(const void *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return PointerGetDatum(b);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode exactly outlen bytes from exactly 2*outlen hex digits. */
bool
gov_unhex(const char *hex, size_t hexlen, uint8 *out, size_t outlen)
{
	size_t		i;

	if (hexlen != outlen * 2)
		return false;
	for (i = 0; i < outlen; i++)
	{
		int			hi = hexval(hex[2 * i]);
		int			lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8) ((hi << 4) | lo);
	}
	return true;
}

void
gov_enc_free(GovEnc *e)
{
	if (e->buf.data)
		pfree(e->buf.data);
	e->buf.data = NULL;
}

/* ---------------------------------------------------------------------
 * Canonical JSON
 *
 * jsonb already removes duplicate keys and insignificant whitespace, but
 * orders object keys by length first, which no other JSON library does.
 * The canonical text is:
 *	 - objects with keys sorted by their UTF-8 bytes (shorter prefix first),
 *	 - no whitespace at all,
 *	 - strings with only '"', '\\' and control characters escaped
 *	   (\b \f \n \r \t, others as \u00xx with lowercase hex); every other
 *	   character, non-ASCII included, as its UTF-8 bytes,
 *	 - numbers as PostgreSQL's numeric output (plain decimal, no exponent,
 *	   the scale as stored: 1.0 stays 1.0),
 *	 - true, false, null.
 * docs/FORMAT.md repeats these rules for implementers outside C.
 * ---------------------------------------------------------------------
 */

typedef struct CanonPair
{
	JsonbValue	key;
	JsonbValue	val;
} CanonPair;

/* Deeper JSON is refused: no payload or context needs it. */
#define GOV_JSON_MAX_DEPTH 64

static void canon_value(StringInfo out, JsonbValue *v, int depth);

static void
canon_string(StringInfo out, const char *s, int len)
{
	int			i;

	appendStringInfoChar(out, '"');
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		switch (c)
		{
			case '"':
				appendBinaryStringInfo(out, "\\\"", 2);
				break;
			case '\\':
				appendBinaryStringInfo(out, "\\\\", 2);
				break;
			case '\b':
				appendBinaryStringInfo(out, "\\b", 2);
				break;
			case '\f':
				appendBinaryStringInfo(out, "\\f", 2);
				break;
			case '\n':
				appendBinaryStringInfo(out, "\\n", 2);
				break;
			case '\r':
				appendBinaryStringInfo(out, "\\r", 2);
				break;
			case '\t':
				appendBinaryStringInfo(out, "\\t", 2);
				break;
			default:
				if (c < 0x20)
					appendStringInfo(out, "\\u%04x", c);
				else
					appendStringInfoCharMacro(out, (char) c);
		}
	}
	appendStringInfoChar(out, '"');
}

static int
canon_key_cmp(const void *a, const void *b)
{
	const JsonbValue *ka = &((const CanonPair *) a)->key;
	const JsonbValue *kb = &((const CanonPair *) b)->key;
	int			la = ka->val.string.len;
	int			lb = kb->val.string.len;
	int			r = memcmp(ka->val.string.val, kb->val.string.val, Min(la, lb));

	if (r != 0)
		return r;
	return (la > lb) - (la < lb);
}

static void
canon_container(StringInfo out, JsonbContainer *c, int depth)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (depth > GOV_JSON_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("JSON value is nested too deeply (more than %d levels)", GOV_JSON_MAX_DEPTH)));
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	it = JsonbIteratorInit(c);
	tok = JsonbIteratorNext(&it, &v, true);

	if (tok == WJB_BEGIN_ARRAY)
	{
		bool		first = true;
		bool		scalar = v.val.array.rawScalar;

		if (!scalar)
			appendStringInfoChar(out, '[');
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_END_ARRAY)
		{
			Assert(tok == WJB_ELEM);
			if (!first)
				appendStringInfoChar(out, ',');
			canon_value(out, &v, depth);
			first = false;
		}
		if (!scalar)
			appendStringInfoChar(out, ']');
	}
	else if (tok == WJB_BEGIN_OBJECT)
	{
		int			n = v.val.object.nPairs;
		CanonPair  *pairs = palloc(sizeof(CanonPair) * Max(n, 1));
		int			i = 0;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_END_OBJECT)
		{
			Assert(tok == WJB_KEY && i < n);
			pairs[i].key = v;
			tok = JsonbIteratorNext(&it, &v, true);
			Assert(tok == WJB_VALUE);
			pairs[i].val = v;
			i++;
		}
		qsort(pairs, i, sizeof(CanonPair), canon_key_cmp);

		appendStringInfoChar(out, '{');
		for (n = 0; n < i; n++)
		{
			if (n > 0)
				appendStringInfoChar(out, ',');
			canon_string(out, pairs[n].key.val.string.val, pairs[n].key.val.string.len);
			appendStringInfoChar(out, ':');
			canon_value(out, &pairs[n].val, depth);
		}
		appendStringInfoChar(out, '}');
		pfree(pairs);
	}
	else
		elog(ERROR, "unexpected jsonb token %d", (int) tok);
}

static void
canon_value(StringInfo out, JsonbValue *v, int depth)
{
	switch (v->type)
	{
		case jbvNull:
			appendBinaryStringInfo(out, "null", 4);
			break;
		case jbvBool:
			if (v->val.boolean)
				appendBinaryStringInfo(out, "true", 4);
			else
				appendBinaryStringInfo(out, "false", 5);
			break;
		case jbvString:
			canon_string(out, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			appendStringInfoString(out,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvBinary:
			canon_container(out, v->val.binary.data, depth + 1);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

void
gov_canonical_json(StringInfo out, Jsonb *jb)
{
	canon_container(out, &jb->root, 1);
}

/* A jsonb value as a field holding its canonical JSON text. */
void
gov_enc_jsonb(GovEnc *e, Jsonb *jb)
{
	StringInfoData s;

	if (jb == NULL)
	{
		gov_enc_null(e);
		return;
	}
	initStringInfo(&s);
	gov_canonical_json(&s, jb);
	gov_enc_bytes(e, s.data, s.len);
	pfree(s.data);
}

/* ---------------------------------------------------------------------
 * JSON writer for event payloads
 * ---------------------------------------------------------------------
 */

void
gj_init(GovJson *j)
{
	j->state = NULL;
	j->result = NULL;
	j->depth = 0;
}

static void
gj_open(GovJson *j, JsonbIteratorToken tok)
{
	if (j->depth + 1 >= (int) lengthof(j->in_array))
		elog(ERROR, "governance: JSON payload nested too deeply");
	/* a container inside an array is an element; inside an object, a value */
	(void) pushJsonbValue(&j->state, tok, NULL);
	j->in_array[++j->depth] = (tok == WJB_BEGIN_ARRAY);
}

static void
gj_close(GovJson *j, JsonbIteratorToken tok)
{
	JsonbValue *v = pushJsonbValue(&j->state, tok, NULL);

	if (--j->depth == 0)
		j->result = v;
}

static void
gj_scalar(GovJson *j, JsonbValue *v)
{
	if (j->depth == 0)
		elog(ERROR, "governance: a JSON payload must be an object or an array");
	(void) pushJsonbValue(&j->state, j->in_array[j->depth] ? WJB_ELEM : WJB_VALUE, v);
}

void
gj_begin_object(GovJson *j)
{
	gj_open(j, WJB_BEGIN_OBJECT);
}

void
gj_end_object(GovJson *j)
{
	gj_close(j, WJB_END_OBJECT);
}

void
gj_begin_array(GovJson *j)
{
	gj_open(j, WJB_BEGIN_ARRAY);
}

void
gj_end_array(GovJson *j)
{
	gj_close(j, WJB_END_ARRAY);
}

static void
gj_string_value(JsonbValue *v, const char *s)
{
	size_t		len = strlen(s);

	if (len > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string too long to represent as jsonb string")));
	v->type = jbvString;
	/* the caller's buffer may be reused */
	v->val.string.val = pnstrdup(s, len);
	v->val.string.len = (int) len;
}

void
gj_key(GovJson *j, const char *key)
{
	JsonbValue	k;

	gj_string_value(&k, key);
	(void) pushJsonbValue(&j->state, WJB_KEY, &k);
}

void
gj_str(GovJson *j, const char *v)
{
	JsonbValue	jv;

	if (v == NULL)
		jv.type = jbvNull;
	else
		gj_string_value(&jv, v);
	gj_scalar(j, &jv);
}

void
gj_int(GovJson *j, int64 v)
{
	JsonbValue	jv;

	jv.type = jbvNumeric;
	jv.val.numeric = int64_to_numeric(v);
	gj_scalar(j, &jv);
}

void
gj_bool(GovJson *j, bool v)
{
	JsonbValue	jv;

	jv.type = jbvBool;
	jv.val.boolean = v;
	gj_scalar(j, &jv);
}

void
gj_hex(GovJson *j, const uint8 *p, size_t len)
{
	gj_str(j, gov_hex(p, len));
}

Jsonb *
gj_finish(GovJson *j)
{
	if (j->result == NULL || j->depth != 0)
		elog(ERROR, "governance: JSON payload left unfinished");
	return JsonbValueToJsonb(j->result);
}

/*
 * A timestamp as every ledger payload and claim prints it: ISO 8601 in UTC
 * with microseconds and the offset +00:00 (XML Schema's form, e.g.
 * 2026-11-28T10:00:00.123456+00:00, trailing zeros of the fraction
 * dropped), whatever the session's DateStyle and TimeZone.
 */
char *
gov_iso_timestamp(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[MAXDATELEN + 1];

	if (TIMESTAMP_NOT_FINITE(ts))
		return pstrdup(TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity");
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	tm.tm_isdst = 0;			/* else no offset is printed */
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_XSD_DATES, buf);
	return pstrdup(buf);
}
