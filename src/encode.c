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
