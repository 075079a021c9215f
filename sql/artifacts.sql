-- verify_artifact(): the exact reason for each kind of bad input, and the
-- claims as decoded (docs/FORMAT.md section 9).  This database is not
-- governance.database, so no artifact can be issued here: every artifact is
-- built below, field by field, and none carries a valid signature.  Values
-- that differ between runs (the server's key id) are never printed.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS governance;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';

-- field(x) = u32 big-endian length || x, NULL = 0xFFFFFFFF (FORMAT.md 1)
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(b)) || b END
$$;
CREATE FUNCTION pg_temp.t(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(s, 'UTF8')
$$;
-- base64url without padding (RFC 4648 section 5)
CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT translate(encode(b, 'base64'), E'+/=\n', '-_')
$$;
-- A payload with every claim overridable; the defaults are well formed and
-- name the server's current key.  Times are Unix microseconds.
CREATE FUNCTION pg_temp.payload(
    key_id bytea DEFAULT NULL,
    lease bytea DEFAULT '\x00112233445566778899aabbccddeeff',
    parent bytea DEFAULT NULL,
    principal bytea DEFAULT pg_temp.t('Agent::"bot"'),
    action bytea DEFAULT pg_temp.t('Action::"read"'),
    resource bytea DEFAULT pg_temp.t('Doc::"1"'),
    ctx bytea DEFAULT decode(repeat('11', 64), 'hex'),
    pol bytea DEFAULT decode(repeat('22', 64), 'hex'),
    meas bytea DEFAULT NULL,
    issued bytea DEFAULT int8send(1700000000000000),      -- 2023-11-14 22:13:20 UTC
    expires bytea DEFAULT int8send(4102444800000000),     -- 2100-01-01
    maxexp bytea DEFAULT int8send(4102444800000000),
    depth bytea DEFAULT int8send(0),
    tag text DEFAULT 'governance.v1.artifact')
RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.field(pg_temp.t(tag))
        || pg_temp.field(coalesce(key_id, pg_temp.t(governance.current_key_id())))
        || pg_temp.field(lease) || pg_temp.field(parent) || pg_temp.field(principal)
        || pg_temp.field(action) || pg_temp.field(resource) || pg_temp.field(ctx)
        || pg_temp.field(pol) || pg_temp.field(meas) || pg_temp.field(issued)
        || pg_temp.field(expires) || pg_temp.field(maxexp) || pg_temp.field(depth)
$$;
CREATE FUNCTION pg_temp.art(p bytea, sig bytea DEFAULT decode(repeat('ab', 64), 'hex'))
RETURNS text LANGUAGE sql AS $$
    SELECT 'gov1.' || pg_temp.b64url(p) || '.' || pg_temp.b64url(sig)
$$;
CREATE FUNCTION pg_temp.v(a text) RETURNS TABLE (valid boolean, reason text)
LANGUAGE sql AS $$
    SELECT valid, reason FROM governance.verify_artifact(a)
$$;

-- the default payload parses into the tag and 13 claims
SELECT length(pg_temp.payload()) AS payload_bytes,
       length(pg_temp.art(pg_temp.payload())) AS artifact_chars;

------------------------------------------------------------------------
-- not an artifact at all
------------------------------------------------------------------------
SELECT * FROM governance.verify_artifact(NULL);
SELECT * FROM governance.verify_artifact('');
SELECT * FROM pg_temp.v('gov1');
SELECT * FROM pg_temp.v('gov1.');
SELECT * FROM pg_temp.v('gov2.' || split_part(pg_temp.art(pg_temp.payload()), '.', 2) || '.' || split_part(pg_temp.art(pg_temp.payload()), '.', 3));
SELECT * FROM pg_temp.v('GOV1.' || split_part(pg_temp.art(pg_temp.payload()), '.', 2) || '.' || split_part(pg_temp.art(pg_temp.payload()), '.', 3));
SELECT * FROM pg_temp.v(' ' || pg_temp.art(pg_temp.payload()));
SELECT * FROM pg_temp.v('eyJhbGciOiJub25lIn0.eyJzdWIiOiJib3QifQ.');   -- a JWT with alg none
SELECT * FROM pg_temp.v(repeat('x', 1024 * 1024));                     -- 1 MB
SELECT * FROM pg_temp.v('gov1.' || repeat('A', 1024 * 1024) || '.A');  -- 1 MB behind the prefix
SELECT * FROM pg_temp.v(repeat('gov1.', 2000));
SELECT * FROM pg_temp.v(E'gov1.\u00e9\u00e9.\u00e9');                     -- non-ASCII
SELECT * FROM pg_temp.v('gov1.AAAA.' || repeat('ab', 43) || '.');

------------------------------------------------------------------------
-- parts, base64url, lengths
------------------------------------------------------------------------
-- the signature part: missing, empty, truncated, not base64url, padded,
-- standard alphabet, non-canonical (non-zero unused bits), 63 and 65 bytes
SELECT * FROM pg_temp.v('gov1.' || pg_temp.b64url(pg_temp.payload()));
SELECT * FROM pg_temp.v('gov1.' || pg_temp.b64url(pg_temp.payload()) || '.');
SELECT * FROM pg_temp.v(left(pg_temp.art(pg_temp.payload()), -1));
SELECT * FROM pg_temp.v(left(pg_temp.art(pg_temp.payload()), -2));
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload()) || '==');
SELECT * FROM pg_temp.v(left(pg_temp.art(pg_temp.payload()), -3) || '+/w');
SELECT * FROM pg_temp.v(left(pg_temp.art(pg_temp.payload()), -1) || 'x');
SELECT * FROM pg_temp.v('gov1.' || pg_temp.b64url(pg_temp.payload()) || '.' || pg_temp.b64url(decode(repeat('ab', 63), 'hex')));
SELECT * FROM pg_temp.v('gov1.' || pg_temp.b64url(pg_temp.payload()) || '.' || pg_temp.b64url(decode(repeat('ab', 65), 'hex')));
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload()) || '.');
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload()) || '.' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));
-- the payload part: empty, bad characters, an impossible length,
-- non-canonical, cut short
SELECT * FROM pg_temp.v('gov1..' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));
SELECT * FROM pg_temp.v('gov1.AAAA*AAA.' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));
SELECT * FROM pg_temp.v('gov1.AAAA AAA.' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));
SELECT * FROM pg_temp.v('gov1.AAAAA.' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));
SELECT * FROM pg_temp.v('gov1.AAB.' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));   -- 2 bytes, last bits set
SELECT * FROM pg_temp.v('gov1.AAF.' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));
SELECT * FROM pg_temp.v('gov1.AAE.' || pg_temp.b64url(decode(repeat('ab', 64), 'hex')));   -- canonical: 0x00 0x01
SELECT * FROM pg_temp.v(pg_temp.art(substr(pg_temp.payload(), 1, 200)));
SELECT * FROM pg_temp.v(pg_temp.art(substr(pg_temp.payload(), 1, 2)));

------------------------------------------------------------------------
-- the payload's fields
------------------------------------------------------------------------
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload(tag => 'governance.v1.event')));
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload(tag => 'governance.v1.artifacT')));
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload(tag => '')));
SELECT * FROM pg_temp.v(pg_temp.art('\xffffffff'::bytea || substr(pg_temp.payload(), 27)));   -- NULL tag
SELECT * FROM pg_temp.v(pg_temp.art(substr(pg_temp.payload(), 1, length(pg_temp.payload()) - 12)));  -- 12 claims
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload() || pg_temp.field(int8send(0))));            -- 14 claims: the optional agent_key_id (FORMAT.md 13) must be 16 hex
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload() || '\x00'::bytea));                          -- a stray byte
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload() || '\xffffffff'::bytea));                   -- a stray NULL field
SELECT * FROM pg_temp.v(pg_temp.art(overlay(pg_temp.payload() PLACING '\x7fffffff'::bytea FROM 27)));  -- key id length overruns

-- each claim with the wrong length or a NULL where none is allowed
SELECT c AS claim, (pg_temp.v(pg_temp.art(p))).*
  FROM (VALUES
    ('key_id 15', pg_temp.payload(key_id => pg_temp.t('0123456789abcde'))),
    ('key_id 17', pg_temp.payload(key_id => pg_temp.t('0123456789abcdef0'))),
    ('key_id NULL', overlay(pg_temp.payload() PLACING '\xffffffff'::bytea FROM 27 FOR 20)),
    ('lease_id 15', pg_temp.payload(lease => '\x00112233445566778899aabbccddee')),
    ('lease_id 0', pg_temp.payload(lease => '\x')),
    ('lease_id NULL', pg_temp.payload(lease => NULL)),
    ('parent 8', pg_temp.payload(parent => '\x0011223344556677')),
    ('parent 17', pg_temp.payload(parent => '\x00112233445566778899aabbccddeeff00')),
    ('principal empty', pg_temp.payload(principal => '\x')),
    ('principal NULL', pg_temp.payload(principal => NULL)),
    ('principal 255 bytes (the most)', pg_temp.payload(principal => pg_temp.t('Agent::"' || repeat('b', 246) || '"'))),
    ('principal 256 bytes', pg_temp.payload(principal => pg_temp.t('Agent::"' || repeat('b', 247) || '"'))),
    ('principal with NUL', pg_temp.payload(principal => '\x41000042')),
    ('action empty', pg_temp.payload(action => '\x')),
    ('action NULL', pg_temp.payload(action => NULL)),
    ('resource NULL', pg_temp.payload(resource => NULL)),
    ('resource 1000 bytes', pg_temp.payload(resource => pg_temp.t(repeat('r', 1000)))),
    ('context hash 63', pg_temp.payload(ctx => decode(repeat('11', 63), 'hex'))),
    ('context hash 65', pg_temp.payload(ctx => decode(repeat('11', 65), 'hex'))),
    ('context hash NULL', pg_temp.payload(ctx => NULL)),
    ('policy hash 32', pg_temp.payload(pol => decode(repeat('22', 32), 'hex'))),
    ('policy hash NULL', pg_temp.payload(pol => NULL)),
    ('issued_at 7', pg_temp.payload(issued => '\x00060a24181e40')),
    ('issued_at 4', pg_temp.payload(issued => int4send(1))),
    ('issued_at NULL', pg_temp.payload(issued => NULL)),
    ('expires_at 9', pg_temp.payload(expires => '\x00' || int8send(4102444800000000))),
    ('expires_at NULL', pg_temp.payload(expires => NULL)),
    ('max_expiry 0', pg_temp.payload(maxexp => '\x')),
    ('depth 4', pg_temp.payload(depth => int4send(0))),
    ('depth NULL', pg_temp.payload(depth => NULL))
  ) AS x (c, p);

-- the measurement: any length up to 1024 bytes, or NULL
SELECT c AS measurement, (pg_temp.v(pg_temp.art(p))).*
  FROM (VALUES
    ('NULL', pg_temp.payload(meas => NULL)),
    ('empty', pg_temp.payload(meas => '\x')),
    ('1024 bytes', pg_temp.payload(meas => decode(repeat('5a', 1024), 'hex'))),
    ('1025 bytes', pg_temp.payload(meas => decode(repeat('5a', 1025), 'hex')))
  ) AS x (c, p);

-- the key id: 16 lowercase hex characters, naming a known key
SELECT c AS key_id, (pg_temp.v(pg_temp.art(p))).*
  FROM (VALUES
    ('uppercase', pg_temp.payload(key_id => pg_temp.t('0123456789ABCDEF'))),
    ('not hex', pg_temp.payload(key_id => pg_temp.t('0123456789abcdeg'))),
    ('with NUL', pg_temp.payload(key_id => '\x30313233343536373839616263646500')),
    ('unknown', pg_temp.payload(key_id => pg_temp.t('ffffffffffffffff'))),
    ('unknown, expired', pg_temp.payload(key_id => pg_temp.t('0000000000000000'), expires => int8send(1)))
  ) AS x (c, p);

-- text claims must be valid UTF-8; no claims are returned for them
SELECT c AS claim, valid, reason, claims IS NULL AS no_claims
  FROM (VALUES
    ('principal', pg_temp.payload(principal => '\xc328')),
    ('action', pg_temp.payload(action => '\x416374696f6e3a3a22ff22')),
    ('resource', pg_temp.payload(resource => '\xeda080')),        -- a UTF-16 surrogate
    ('resource, overlong', pg_temp.payload(resource => '\xc0af'))
  ) AS x (c, p), governance.verify_artifact(pg_temp.art(p));

-- principal, action and resource are entity uids Type::"id"; the depth is
-- not negative
SELECT c AS claim, valid, reason, claims IS NULL AS no_claims
  FROM (VALUES
    ('principal bot', pg_temp.payload(principal => pg_temp.t('bot'))),
    ('principal Agent::bot', pg_temp.payload(principal => pg_temp.t('Agent::bot'))),
    ('resource Doc::"1" trailing', pg_temp.payload(resource => pg_temp.t('Doc::"1" '))),
    ('resource ::"1"', pg_temp.payload(resource => pg_temp.t('::"1"'))),
    ('action Doc::"x"', pg_temp.payload(action => pg_temp.t('Doc::"x"'))),
    ('action NS::Action::"x"', pg_temp.payload(action => pg_temp.t('NS::Action::"x"'))),
    ('action Action::""', pg_temp.payload(action => pg_temp.t('Action::""'))),
    ('action Action::"x" (the shortest)', pg_temp.payload(action => pg_temp.t('Action::"x"'))),
    ('action Action::"x', pg_temp.payload(action => pg_temp.t('Action::"x'))),
    ('action read', pg_temp.payload(action => pg_temp.t('read'))),
    ('depth -1', pg_temp.payload(depth => int8send(-1))),
    ('depth min', pg_temp.payload(depth => int8send(-9223372036854775808))),
    ('depth max', pg_temp.payload(depth => int8send(9223372036854775807)))
  ) AS x (c, p), governance.verify_artifact(pg_temp.art(p));

-- claimed times outside what timestamptz can hold (int64 extremes, before
-- 4714-11-24 BC); the first instant PostgreSQL holds is accepted
SELECT c AS claim, valid, reason, claims IS NULL AS no_claims
  FROM (VALUES
    ('issued_at int64 min', pg_temp.payload(issued => int8send(-9223372036854775808))),
    ('issued_at int64 min + 1', pg_temp.payload(issued => int8send(-9223372036854775807))),
    ('issued_at -infinity after the shift', pg_temp.payload(issued => int8send(-9222425352054775808))),
    ('issued_at before 4714-11-24 BC', pg_temp.payload(issued => int8send(-210866803200000001))),
    ('issued_at 4714-11-24 BC', pg_temp.payload(issued => int8send(-210866803200000000))),
    ('expires_at int64 max', pg_temp.payload(expires => int8send(9223372036854775807), maxexp => int8send(9223372036854775807))),
    ('max_expiry int64 max (year 294247)', pg_temp.payload(maxexp => int8send(9223372036854775807)))
  ) AS x (c, p), governance.verify_artifact(pg_temp.art(p));

------------------------------------------------------------------------
-- well formed, the server's key: times, then the signature.  expires_at
-- is the lease's first expiry; heartbeats may renew the lease up to
-- max_expiry, so verify_artifact() refuses on time only past max_expiry
-- and otherwise lets the lease's state decide (after the signature).
------------------------------------------------------------------------
SELECT c AS case_, (pg_temp.v(pg_temp.art(p))).*
  FROM (VALUES
    ('max_expiry passed (1970)', pg_temp.payload(issued => int8send(0), expires => int8send(1), maxexp => int8send(2))),
    ('max_expiry passed (2023)', pg_temp.payload(expires => int8send(1700000000000001), maxexp => int8send(1700000000000001))),
    ('first expiry passed, max_expiry ahead', pg_temp.payload(expires => int8send(1700000000000001))),
    ('issued after it expires (past)', pg_temp.payload(issued => int8send(1700000000000002), expires => int8send(1700000000000001))),
    ('issued after it expires', pg_temp.payload(issued => int8send(4102444800000001))),
    ('expires after max_expiry', pg_temp.payload(maxexp => int8send(4102444799999999))),
    ('consistent, forged signature', pg_temp.payload()),
    ('a delegation, forged signature', pg_temp.payload(parent => '\xffeeddccbbaa99887766554433221100', depth => int8send(1))),
    ('measured, forged signature', pg_temp.payload(meas => '\xdeadbeef'))
  ) AS x (c, p);
-- an all-zero signature, and the zero public key's identity signature
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload(), decode(repeat('00', 64), 'hex')));
SELECT * FROM pg_temp.v(pg_temp.art(pg_temp.payload(), '\x01' || decode(repeat('00', 63), 'hex')));

-- the claims reported for a decoded artifact (here: one with a forged
-- signature), in FORMAT.md order; the key id varies between runs
SELECT valid, reason, jsonb_pretty(claims - 'key_id') AS claims,
       claims->>'key_id' = governance.current_key_id() AS names_current_key
  FROM governance.verify_artifact(pg_temp.art(pg_temp.payload(
        parent => '\xffeeddccbbaa99887766554433221100', depth => int8send(3),
        principal => pg_temp.t('Agent::"é \"quoted\""'), meas => '\x00ff',
        expires => int8send(4102444800000000), maxexp => int8send(4102444800123456))));
-- no claims when the artifact cannot be decoded
SELECT valid, reason, claims IS NULL AS no_claims FROM governance.verify_artifact('gov1.x.y');

-- the reason names the problem in a fixed order: structure, key, time,
-- signature (an unknown key is reported before expiry; expiry before a
-- bad signature; a malformed claim before anything else)
SELECT (pg_temp.v(pg_temp.art(pg_temp.payload(key_id => pg_temp.t('ffffffffffffffff'), issued => int8send(0),
                                              expires => int8send(1), maxexp => int8send(1))))).reason;
SELECT (pg_temp.v(pg_temp.art(pg_temp.payload(issued => int8send(0), expires => int8send(1), maxexp => int8send(1)),
                              decode(repeat('00', 64), 'hex')))).reason;
SELECT (pg_temp.v(pg_temp.art(pg_temp.payload(key_id => pg_temp.t('ffffffffffffffff'), lease => '\x00')))).reason;

-- verify_artifact is for agents, admins and auditors only
SELECT has_function_privilege('public', 'governance.verify_artifact(text)', 'EXECUTE') AS public_can_verify;
SELECT r AS role_, has_function_privilege(r, 'governance.verify_artifact(text)', 'EXECUTE') AS can_verify
  FROM unnest(ARRAY['governance_admin', 'governance_agent', 'governance_auditor']) AS r;
