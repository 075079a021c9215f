/*-------------------------------------------------------------------------
 *
 * artifact_codec.c
 *	  Base64url and the structural decoding of artifacts.  Plain C: every
 *	  input is untrusted, every length is checked before it is used, and
 *	  nothing allocates.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "artifact_codec.h"

static const char b64chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
gov_b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t		i;
	size_t		o = 0;

	for (i = 0; i + 2 < n; i += 3)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];

		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (n - i == 1)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
	}
	else if (n - i == 2)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);

		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
gov_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outcap)
{
	size_t		i;
	size_t		o = 0;
	uint32_t	acc = 0;
	int			bits = 0;

	if (n % 4 == 1)
		return -1;				/* no valid encoding has this length */
	if ((n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > outcap)
		return -1;
	for (i = 0; i < n; i++)
	{
		int			v = b64val(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[o++] = (uint8_t) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* leftover bits must be zero: one encoding per byte string */
	if (acc != 0)
		return -1;
	return (long) o;
}

bool
gov_claim_int64(const GovClaimField *f, int64_t *v)
{
	uint64_t	u = 0;
	int			i;

	if (f->isnull || f->len != 8)
		return false;
	for (i = 0; i < 8; i++)
		u = (u << 8) | f->p[i];
	*v = (int64_t) u;
	return true;
}

/* Read one field at *pos; false when it runs past the end. */
static bool
read_field(const uint8_t *p, size_t len, size_t *pos, GovClaimField *f)
{
	uint32_t	flen;

	if (len - *pos < 4)
		return false;
	flen = ((uint32_t) p[*pos] << 24) | ((uint32_t) p[*pos + 1] << 16) |
		((uint32_t) p[*pos + 2] << 8) | p[*pos + 3];
	*pos += 4;
	if (flen == 0xFFFFFFFFu)
	{
		f->p = NULL;
		f->len = 0;
		f->isnull = true;
		return true;
	}
	if (flen > len - *pos)
		return false;
	f->p = p + *pos;
	f->len = flen;
	f->isnull = false;
	*pos += flen;
	return true;
}

static bool
is_text(const GovClaimField *f, bool nullable)
{
	if (f->isnull)
		return nullable;
	if (f->len == 0 || f->len > 255)
		return false;
	return memchr(f->p, '\0', f->len) == NULL;
}

static bool
is_bytes(const GovClaimField *f, uint32_t want, bool nullable)
{
	if (f->isnull)
		return nullable;
	return f->len == want;
}

const char *
gov_artifact_decode(const char *txt, size_t len, uint8_t *buf, size_t bufcap,
					GovArtifactParts *out)
{
	const char *p1;
	const char *dot;
	size_t		plen;
	size_t		slen;
	long		n;
	size_t		pos = 0;
	GovClaimField tag;
	int			i;
	size_t		prefix = strlen(GOV_ARTIFACT_PREFIX);

	memset(out, 0, sizeof(*out));
	if (len > GOV_ARTIFACT_MAX_TEXT)
		return "too long to be an artifact";
	if (len < prefix || memcmp(txt, GOV_ARTIFACT_PREFIX, prefix) != 0)
		return "not an artifact of version gov1";
	p1 = txt + prefix;
	dot = memchr(p1, '.', len - prefix);
	if (dot == NULL)
		return "missing signature part";
	plen = (size_t) (dot - p1);
	slen = len - prefix - plen - 1;
	if (memchr(dot + 1, '.', slen) != NULL)
		return "too many parts";

	n = gov_b64url_decode(dot + 1, slen, out->signature, sizeof(out->signature));
	if (n != 64)
		return "signature is not 64 bytes of base64url";
	n = gov_b64url_decode(p1, plen, buf, bufcap);
	if (n <= 0)
		return "payload is not base64url";
	out->payload = buf;
	out->payload_len = (size_t) n;

	if (!read_field(buf, (size_t) n, &pos, &tag) || tag.isnull ||
		tag.len != strlen(GOV_ARTIFACT_TAG) || memcmp(tag.p, GOV_ARTIFACT_TAG, tag.len) != 0)
		return "payload does not start with the artifact tag";
	for (i = 0; i < GOV_NCLAIMS_REQUIRED; i++)
		if (!read_field(buf, (size_t) n, &pos, &out->claims[i]))
			return "payload is truncated";
	/* the optional agent key id: present, never NULL, or absent */
	out->claims[GOV_CLAIM_AGENT_KEY_ID].isnull = true;
	if (pos != (size_t) n)
	{
		if (!read_field(buf, (size_t) n, &pos, &out->claims[GOV_CLAIM_AGENT_KEY_ID]))
			return "payload is truncated";
		if (!is_bytes(&out->claims[GOV_CLAIM_AGENT_KEY_ID], 16, false))
			return "a claim has the wrong type or length";
		for (i = 0; i < 16; i++)
		{
			uint8_t		c = out->claims[GOV_CLAIM_AGENT_KEY_ID].p[i];

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				return "agent key id is not lowercase hex";
		}
	}
	if (pos != (size_t) n)
		return "payload has trailing bytes";

	if (!is_bytes(&out->claims[GOV_CLAIM_KEY_ID], 16, false) ||
		!is_bytes(&out->claims[GOV_CLAIM_LEASE_ID], 16, false) ||
		!is_bytes(&out->claims[GOV_CLAIM_PARENT], 16, true) ||
		!is_text(&out->claims[GOV_CLAIM_PRINCIPAL], false) ||
		!is_text(&out->claims[GOV_CLAIM_ACTION], false) ||
		!is_text(&out->claims[GOV_CLAIM_RESOURCE], false) ||
		!is_bytes(&out->claims[GOV_CLAIM_CONTEXT_HASH], 64, false) ||
		!is_bytes(&out->claims[GOV_CLAIM_POLICY_HASH], 64, false) ||
		!is_bytes(&out->claims[GOV_CLAIM_ISSUED_AT], 8, false) ||
		!is_bytes(&out->claims[GOV_CLAIM_EXPIRES_AT], 8, false) ||
		!is_bytes(&out->claims[GOV_CLAIM_MAX_EXPIRY], 8, false) ||
		!is_bytes(&out->claims[GOV_CLAIM_DEPTH], 8, false))
		return "a claim has the wrong type or length";
	if (!out->claims[GOV_CLAIM_MEASUREMENT].isnull &&
		out->claims[GOV_CLAIM_MEASUREMENT].len > GOV_ARTIFACT_MAX_FIELD)
		return "measurement claim is too long";
	for (i = 0; i < 16; i++)
	{
		uint8_t		c = out->claims[GOV_CLAIM_KEY_ID].p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return "key id is not lowercase hex";
	}
	return NULL;
}
