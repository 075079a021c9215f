-- Artifacts (issue 4, D10): verify_artifact() on genuine artifacts (authorize
-- with and without a measurement, delegate, on behalf), their claims against
-- governance.leases and the ledger; revoked (directly and through an
-- ancestor), expired (short ttl + pg_sleep), uncommitted and rolled-back
-- leases; a key rotated after issuing; then malformed input of many kinds
-- (NULL, empty, 1 MB, random bytes, random base64url, wrong prefix, every
-- claim of a well-formed payload at a wrong length, every byte of a genuine
-- payload edited): always valid = false with a reason, never an error.
--
-- Runs outside a transaction block on purpose: a lease goes live only when
-- the transaction that authorized it commits.  Everything it creates is
-- named art40_* / "art40-*"; roles and policies are dropped at the end, the
-- ledger keeps its rows.  The key rotation stays (as in 03_key_rotation).
\ir lib/fixture.sql

-- leftovers of an interrupted earlier run
DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['art40_bot', 'art40_sub', 'art40_aud', 'art40_admin']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'art40%';

SELECT plan(71);

-- FORMAT.md section 1: field(x) = u32 big-endian length || x; NULL = 0xFFFFFFFF
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(b)) || b END
$$;
CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT translate(encode(b, 'base64'), E'+/=\n', '-_')
$$;
CREATE FUNCTION pg_temp.unb64url(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT decode(translate(s, '-_', '+/') || repeat('=', (4 - length(s) % 4) % 4), 'base64')
$$;
-- the fields of a message, in order (NULL val for a NULL field)
CREATE FUNCTION pg_temp.fields(b bytea) RETURNS bytea[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    pos int := 1;
    l bigint;
    out bytea[] := '{}';
BEGIN
    WHILE pos <= length(b) LOOP
        l := ('x' || encode(substr(b, pos, 4), 'hex'))::bit(32)::bigint;
        IF l = 4294967295 THEN
            out := out || NULL::bytea; pos := pos + 4;
        ELSE
            out := out || substr(b, pos + 4, l::int); pos := pos + 4 + l::int;
        END IF;
    END LOOP;
    RETURN out;
END $$;
CREATE FUNCTION pg_temp.join(f bytea[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(pg_temp.field(x), '' ORDER BY i), '')
      FROM unnest(f) WITH ORDINALITY AS u(x, i)
$$;
CREATE FUNCTION pg_temp.payload_of(a text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.unb64url(split_part(a, '.', 2))
$$;
CREATE FUNCTION pg_temp.sig_of(a text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT split_part(a, '.', 3)
$$;
CREATE FUNCTION pg_temp.art(p bytea, sig text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'gov1.' || pg_temp.b64url(p) || '.' || sig
$$;
-- verify_artifact over a set of texts: how many were valid, how many raised
-- an error (and the first error), how many gave no reason
CREATE FUNCTION pg_temp.survey(arts text[], OUT n int, OUT nvalid int, OUT nerror int,
                               OUT nnoreason int, OUT first_error text, OUT reasons text[])
LANGUAGE plpgsql AS $$
DECLARE
    a text;
    v record;
BEGIN
    n := 0; nvalid := 0; nerror := 0; nnoreason := 0; reasons := '{}';
    FOREACH a IN ARRAY arts LOOP
        n := n + 1;
        BEGIN
            SELECT * INTO v FROM governance.verify_artifact(a);
            IF v.valid IS DISTINCT FROM false THEN nvalid := nvalid + 1; END IF;
            IF v.reason IS NULL OR v.reason = '' THEN
                nnoreason := nnoreason + 1;
            ELSIF NOT v.reason = ANY (reasons) THEN
                reasons := reasons || v.reason;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            nerror := nerror + 1;
            first_error := coalesce(first_error, SQLSTATE || ': ' || SQLERRM);
        END;
    END LOOP;
END $$;
-- 'SQLSTATE: message' of the error sql raises, or 'no error'
-- 'valid|reason' of verify_artifact(a), or 'error SQLSTATE: message'
CREATE FUNCTION pg_temp.vr(a text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v record;
BEGIN
    SELECT * INTO v FROM governance.verify_artifact(a);
    RETURN v.valid || '|' || coalesce(v.reason, '<null>');
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION pg_temp.us(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;

CREATE ROLE art40_bot LOGIN IN ROLE governance_agent;
CREATE ROLE art40_sub LOGIN IN ROLE governance_agent;
CREATE ROLE art40_aud LOGIN IN ROLE governance_auditor;
CREATE ROLE art40_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"art40-bot"', 'art40_bot');
SELECT governance.register_agent('Agent::"art40-sub"', 'art40_sub');
SELECT governance.create_policy('art40_bot', 'permit (principal == Agent::"art40-bot", action, resource);');
SELECT governance.create_policy('art40_sub',
    'permit (principal == Agent::"art40-sub", action == Action::"art40.read", resource);');

------------------------------------------------------------------------
-- genuine artifacts: valid, and their claims
------------------------------------------------------------------------
SET ROLE art40_bot;
SELECT lease_id AS l1, artifact AS a1, expires_at AS e1
  FROM governance.authorize('Agent::"art40-bot"', 'art40.read', 'Doc::"art40-1"',
                            '{"n": 1.50, "s": "é", "a": [1, {"z": null}]}', '10 minutes') \gset
SELECT lease_id AS l2, artifact AS a2
  FROM governance.authorize('Agent::"art40-bot"', 'Action::"art40.write"', 'Doc::"art40-2"', '{}',
                            '10 minutes', '\x0123456789abcdef') \gset
SELECT lease_id AS l3, artifact AS a3
  FROM governance.delegate(:'l1', 'Agent::"art40-sub"', 'art40.read', 'Doc::"art40-1"', '{"d": 1}', '1 hour') \gset
RESET ROLE;
SET ROLE art40_sub;
SELECT lease_id AS l4, artifact AS a4
  FROM governance.delegate(:'l3', 'Agent::"art40-sub"', 'art40.read', 'Doc::"art40-1"', '{"d": 2}') \gset
RESET ROLE;
SET ROLE art40_admin;
SELECT lease_id AS l5, artifact AS a5
  FROM governance.authorize('Agent::"art40-bot"', 'art40.read', 'Doc::"art40-5"') \gset
RESET ROLE;
SELECT governance.current_key_id() AS k1 \gset

SELECT is((SELECT array_agg(row(valid, reason)::text ORDER BY i)
             FROM unnest(ARRAY[:'a1', :'a2', :'a3', :'a4', :'a5']) WITH ORDINALITY AS u(a, i),
                  governance.verify_artifact(a)),
          array_fill(row(true, NULL::text)::text, ARRAY[5]),
          'authorize (with and without measurement, on behalf) and delegate (depth 1, 2): all five valid');
SET ROLE art40_aud;
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a1')), row(true, NULL::text)::text,
          'an auditor can verify');
RESET ROLE;
SET ROLE art40_sub;
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a2')), row(true, NULL::text)::text,
          'any agent can verify any artifact');
RESET ROLE;

-- the claims against the durable lease row, one artifact at a time
CREATE TEMP TABLE arts (name text, lease uuid, art text);
INSERT INTO arts VALUES ('a1', :'l1', :'a1'), ('a2', :'l2', :'a2'), ('a3', :'l3', :'a3'),
                        ('a4', :'l4', :'a4'), ('a5', :'l5', :'a5');
SELECT is((SELECT array_agg(a.name ORDER BY a.name) FROM arts a, governance.verify_artifact(a.art) v,
                  governance.leases l
            WHERE l.lease_id = a.lease
              AND (v.claims->>'lease_id')::uuid = l.lease_id
              AND (v.claims->>'parent')::uuid IS NOT DISTINCT FROM l.parent_id
              AND (v.claims->>'depth')::int = l.depth
              AND v.claims->>'principal' = l.principal
              AND v.claims->>'action' = l.action
              AND v.claims->>'resource' = l.resource
              AND v.claims->>'context_sha3_512' = encode(l.context_hash, 'hex')
              AND v.claims->>'policy_set_hash' = encode(l.policy_set_hash, 'hex')
              AND v.claims->>'measurement' IS NOT DISTINCT FROM encode(l.measurement, 'hex')
              AND (v.claims->>'issued_at')::timestamptz = l.issued_at
              AND (v.claims->>'expires_at')::timestamptz = l.expires_at
              AND (v.claims->>'max_expiry')::timestamptz = l.max_expiry
              AND v.claims->>'key_id' = l.key_id),
          ARRAY['a1', 'a2', 'a3', 'a4', 'a5'],
          'every claim equals the lease row: ids, parent, depth, principal, action, resource, hashes, measurement, times, key');
SELECT is((SELECT array_agg(a.name ORDER BY a.name) FROM arts a, governance.leases l
            WHERE l.lease_id = a.lease
              AND l.artifact_hash = governance.sha3_512(convert_to(a.art, 'UTF8'))),
          ARRAY['a1', 'a2', 'a3', 'a4', 'a5'], 'leases.artifact_hash is SHA3-512 of each artifact''s text');
SELECT is((SELECT array_agg(a.name ORDER BY a.name) FROM arts a, governance.verify_artifact(a.art) v,
                  governance.ledger e
            WHERE e.lease_id = a.lease AND e.kind = 'governance.authorize'
              AND e.payload->>'policy_set_hash' = v.claims->>'policy_set_hash'
              AND e.payload->>'context_sha3_512' = v.claims->>'context_sha3_512'),
          ARRAY['a1', 'a2', 'a3', 'a4', 'a5'], 'the hashes in each claim are those of the ledgered decision');
SELECT is((SELECT claims->>'context_sha3_512' FROM governance.verify_artifact(:'a1')),
          encode(governance.sha3_512(convert_to(governance.canonical_json(
              '{"a": [1, {"z": null}], "s": "é", "n": 1.50}'), 'UTF8')), 'hex'),
          'context_sha3_512 is SHA3-512 of the canonical JSON of the context');
SELECT is((SELECT claims->>'measurement' FROM governance.verify_artifact(:'a2')), '0123456789abcdef',
          'the measurement claim is the bound measurement');
SELECT is((SELECT claims->>'measurement' FROM governance.verify_artifact(:'a1')), NULL,
          'no measurement: the claim is null');
SELECT is((SELECT claims->>'action' FROM governance.verify_artifact(:'a1')), 'Action::"art40.read"',
          'the shorthand action is expanded in the claim');
SELECT is((SELECT row(claims->>'parent', claims->>'depth')::text FROM governance.verify_artifact(:'a3')),
          row(:'l1', '1')::text, 'a delegation names its parent, depth 1');
SELECT is((SELECT row(claims->>'parent', claims->>'depth')::text FROM governance.verify_artifact(:'a4')),
          row(:'l3', '2')::text, 'a delegation of a delegation: depth 2');
SELECT is((SELECT row(claims->>'parent', claims->>'depth')::text FROM governance.verify_artifact(:'a1')),
          row(NULL, '0')::text, 'a root: no parent, depth 0');
SELECT ok((SELECT (c.claims->>'expires_at')::timestamptz <= (p.claims->>'expires_at')::timestamptz
                  AND (c.claims->>'max_expiry')::timestamptz <= (p.claims->>'max_expiry')::timestamptz
             FROM governance.verify_artifact(:'a3') c, governance.verify_artifact(:'a1') p),
          'a child (ttl 1 hour) never outlives its parent (10 minutes) in its claims');
SELECT ok((SELECT (claims->>'issued_at')::timestamptz <= (claims->>'expires_at')::timestamptz
                  AND (claims->>'expires_at')::timestamptz <= (claims->>'max_expiry')::timestamptz
             FROM governance.verify_artifact(:'a1')), 'issued_at <= expires_at <= max_expiry');
SELECT is((SELECT claims->>'key_id' FROM governance.verify_artifact(:'a1')), :'k1', 'signed by the current key');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(
              (SELECT claims FROM governance.verify_artifact(:'a1'))) k),
          ARRAY['action', 'context_sha3_512', 'depth', 'expires_at', 'issued_at', 'key_id', 'lease_id',
                'max_expiry', 'measurement', 'parent', 'policy_set_hash', 'principal', 'resource'],
          'the claims are the 13 of FORMAT.md section 9');

-- the payload, decoded here field by field (FORMAT.md section 9)
SELECT is(array_length(pg_temp.fields(pg_temp.payload_of(:'a2')), 1), 14, 'the payload is the tag and 13 fields');
SELECT is((pg_temp.fields(pg_temp.payload_of(:'a2')))[1], convert_to('governance.v1.artifact', 'UTF8'),
          'its first field is the tag governance.v1.artifact');
SELECT is((SELECT array[encode(f[2], 'escape'), encode(f[3], 'hex'), coalesce(encode(f[4], 'hex'), 'NULL'),
                        convert_from(f[5], 'UTF8'), convert_from(f[6], 'UTF8'), convert_from(f[7], 'UTF8'),
                        encode(f[10], 'hex'),
                        (('x' || encode(f[11], 'hex'))::bit(64)::bigint = pg_temp.us(l.issued_at))::text,
                        (('x' || encode(f[12], 'hex'))::bit(64)::bigint = pg_temp.us(l.expires_at))::text,
                        (('x' || encode(f[13], 'hex'))::bit(64)::bigint = pg_temp.us(l.max_expiry))::text,
                        ('x' || encode(f[14], 'hex'))::bit(64)::bigint::text]
             FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x, governance.leases l
            WHERE l.lease_id = :'l2'),
          ARRAY[:'k1', replace(:'l2', '-', ''), 'NULL', 'Agent::"art40-bot"', 'Action::"art40.write"',
                'Doc::"art40-2"', '0123456789abcdef', 'true', 'true', 'true', '0'],
          'key id, lease, no parent, principal, action, resource, measurement, times as Unix microseconds, depth');
SELECT ok(governance.ed25519_verify(pg_temp.unb64url(pg_temp.sig_of(:'a2')), pg_temp.payload_of(:'a2'),
                                    governance.public_key()),
          'the signature is Ed25519 over the payload bytes exactly, by the server key');
SELECT ok(pg_temp.art(pg_temp.payload_of(:'a2'), pg_temp.sig_of(:'a2')) = :'a2'
          AND pg_temp.b64url(pg_temp.unb64url(pg_temp.sig_of(:'a2'))) = pg_temp.sig_of(:'a2'),
          'the artifact is unpadded base64url that re-encodes to itself');

------------------------------------------------------------------------
-- the lease's state: uncommitted, rolled back, revoked, expired
------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE art40_bot;
SELECT artifact AS a6 FROM governance.authorize('Agent::"art40-bot"', 'art40.read', 'Doc::"art40-6"') \gset
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a6')),
          row(false, 'lease not committed')::text, 'in the authorizing transaction: lease not committed');
ROLLBACK;
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a6')),
          row(false, 'lease unknown')::text, 'after a rollback the genuine artifact names an unknown lease');
SELECT is((SELECT claims->>'principal' FROM governance.verify_artifact(:'a6')), 'Agent::"art40-bot"',
          'its claims are still reported');

SET ROLE art40_bot;
SELECT governance.revoke(:'l3', 'art40: revoked') AS nrev \gset
RESET ROLE;
SELECT is(:nrev, 2, 'revoke() of the child ends it and the grandchild');
SELECT is((SELECT array_agg(row(valid, reason)::text ORDER BY i)
             FROM unnest(ARRAY[:'a3', :'a4', :'a1']) WITH ORDINALITY AS u(a, i), governance.verify_artifact(a)),
          ARRAY[row(false, 'lease revoked')::text, row(false, 'lease revoked')::text, row(true, NULL::text)::text],
          'revoked: the child and, through it, the grandchild; the parent stays valid');
SELECT is((SELECT (claims->>'lease_id')::uuid FROM governance.verify_artifact(:'a4')), :'l4'::uuid,
          'a revoked lease''s artifact still reports its claims');

SET ROLE art40_bot;
SELECT lease_id AS l7, artifact AS a7
  FROM governance.authorize('Agent::"art40-bot"', 'art40.read', 'Doc::"art40-7"', '{}', '1 second') \gset
RESET ROLE;
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a7')), row(true, NULL::text)::text,
          'a 1-second artifact is valid at first');
-- expires_at is the lease's first expiry; heartbeats may renew the lease up
-- to max_expiry, so past its first expiry the lease's state decides
SELECT pg_sleep(1.2);
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a7')),
          row(false, 'artifact expired')::text, 'after pg_sleep(1.2), not renewed: artifact expired');
-- the same payload with max_expiry moved back to its (past) first expiry:
-- refused on time before the signature (which no longer matches) is checked
SELECT is((SELECT row(valid, reason)::text
             FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a7')) AS f) x,
                  governance.verify_artifact(pg_temp.art(pg_temp.join(f[1:12] || f[12] || f[14:14]),
                                                         pg_temp.sig_of(:'a7')))),
          row(false, 'artifact expired')::text, 'past max_expiry: artifact expired, checked before the signature');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(
              pg_temp.art(pg_temp.payload_of(:'a7'),
                          -- its first character changed (never to itself: 1 in 64 signatures starts with A)
                          CASE WHEN left(pg_temp.sig_of(:'a7'), 1) = 'A' THEN 'B' ELSE 'A' END
                          || substr(pg_temp.sig_of(:'a7'), 2)))),
          row(false, 'bad signature')::text, 'past its first expiry, before max_expiry: the signature is checked');

-- heartbeats renew the lease past the artifact's first expiry: the
-- artifact verifies while the lease lives
SET ROLE art40_bot;
SELECT lease_id AS l8, artifact AS a8
  FROM governance.authorize('Agent::"art40-bot"', 'art40.read', 'Doc::"art40-8"', '{}', '2 seconds') \gset
RESET ROLE;
SELECT pg_sleep(1.5);
SET ROLE art40_bot;
SELECT governance.heartbeat(:'l8') AS hb8 \gset
RESET ROLE;
SELECT pg_sleep(1);
SELECT ok(clock_timestamp() > (SELECT (claims->>'expires_at')::timestamptz FROM governance.verify_artifact(:'a8'))
          AND clock_timestamp() < :'hb8'::timestamptz,
          'now past the artifact''s first expiry, within the renewed lease');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a8')), row(true, NULL::text)::text,
          'the renewed lease''s artifact is valid');

-- an artifact that authorize() issues verifies: an action given as an
-- entity uid of another type is refused or yields a valid artifact
SET ROLE art40_bot;
SELECT pg_temp.err($$SELECT governance.authorize('Agent::"art40-bot"', 'Doc::"art40-x"', 'Doc::"art40-1"')$$) AS err10 \gset
SELECT CASE WHEN :'err10' = 'no error' THEN (SELECT coalesce(artifact, '') FROM governance.authorize(
           'Agent::"art40-bot"', 'Doc::"art40-x"', 'Doc::"art40-1"')) ELSE '' END AS a10 \gset
RESET ROLE;
SELECT ok(:'a10' = '' OR (SELECT valid FROM governance.verify_artifact(:'a10')),
          format('authorize() with action Doc::"art40-x" refuses or issues a valid artifact (%s)',
                 coalesce(CASE WHEN :'a10' = '' THEN :'err10' END,
                          (SELECT reason FROM governance.verify_artifact(:'a10')), 'valid')));

------------------------------------------------------------------------
-- a key rotated after issuing
------------------------------------------------------------------------
SELECT governance.rotate_key() AS k2 \gset
SELECT isnt(:'k2'::text, :'k1'::text, 'rotate_key() makes a new current key');
SELECT is((SELECT row(valid, reason, claims->>'key_id')::text FROM governance.verify_artifact(:'a2')),
          row(true, NULL::text, :'k1')::text, 'an artifact signed by the retired key still verifies');
SELECT ok((SELECT retired_at IS NOT NULL FROM governance.signing_keys WHERE key_id = :'k1'), 'that key is retired');
SELECT ok(governance.ed25519_verify(pg_temp.unb64url(pg_temp.sig_of(:'a2')), pg_temp.payload_of(:'a2'),
                                    (SELECT public_key FROM governance.signing_keys WHERE key_id = :'k1')),
          'and its signature checks with the retired public key from signing_keys');
SET ROLE art40_bot;
SELECT artifact AS a9 FROM governance.authorize('Agent::"art40-bot"', 'art40.read', 'Doc::"art40-9"') \gset
RESET ROLE;
SELECT is((SELECT row(valid, claims->>'key_id')::text FROM governance.verify_artifact(:'a9')),
          row(true, :'k2')::text, 'a new artifact is signed by the new key');
-- the old key's id on a payload signed by the new key, and the other way round
SELECT is((SELECT reason FROM governance.verify_artifact(pg_temp.art(pg_temp.payload_of(:'a2'), pg_temp.sig_of(:'a9')))),
          'bad signature', 'a new-key signature on an old-key payload: bad signature');

------------------------------------------------------------------------
-- malformed input: never an error, always a reason
------------------------------------------------------------------------
SELECT is((SELECT row(valid, reason, claims)::text FROM governance.verify_artifact(NULL)),
          row(false, 'no artifact given', NULL::jsonb)::text, 'NULL');
SELECT is((SELECT row(valid, reason, claims)::text FROM governance.verify_artifact('')),
          row(false, 'malformed artifact: not an artifact of version gov1', NULL::jsonb)::text, 'empty');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(repeat('A', 1024 * 1024))),
          row(false, 'malformed artifact: too long to be an artifact')::text, '1 MB');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a1' || repeat('A', 1024 * 1024))),
          row(false, 'malformed artifact: too long to be an artifact')::text, 'a genuine artifact followed by 1 MB');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a1' || repeat('A', 8192))),
          row(false, 'malformed artifact: too long to be an artifact')::text, 'a genuine artifact followed by 8 kB');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a1' || 'A')),
          row(false, 'malformed artifact: signature is not 64 bytes of base64url')::text, 'one character more');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(left(:'a1', -1))),
          row(false, 'malformed artifact: signature is not 64 bytes of base64url')::text, 'one character less');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a1' || '.' || pg_temp.sig_of(:'a1'))),
          row(false, 'malformed artifact: too many parts')::text, 'an extra part');
SELECT is((SELECT array_agg(DISTINCT reason) FROM unnest(ARRAY['gov2', 'GOV1', 'gov0', 'gov1-', 'v1', 'gov11', 'jwt']) p,
                  governance.verify_artifact(p || substr(:'a1', 5)) v),
          ARRAY['malformed artifact: not an artifact of version gov1'], 'wrong prefixes: gov2, GOV1, gov0, ...');
SELECT is((SELECT reason FROM governance.verify_artifact(' ' || :'a1')),
          'malformed artifact: not an artifact of version gov1', 'leading space');
SELECT is((SELECT reason FROM governance.verify_artifact(:'a1' || E'\n')),
          'malformed artifact: signature is not 64 bytes of base64url', 'trailing newline');

-- non-canonical base64url: the same bytes with non-zero unused bits
SELECT is((SELECT reason FROM governance.verify_artifact(
              left(:'a1', -1) || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
                  (strpos('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', right(:'a1', 1)) - 1 | 1) + 1, 1))),
          'malformed artifact: signature is not 64 bytes of base64url',
          'a signature with non-zero trailing bits (same 64 bytes to a lenient decoder) is refused');
SELECT is((SELECT pg_temp.unb64url(left(pg_temp.sig_of(:'a1'), -1) || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
              (strpos('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', right(:'a1', 1)) - 1 | 1) + 1, 1))),
          pg_temp.unb64url(pg_temp.sig_of(:'a1')),
          '(PostgreSQL''s own lenient base64 decoder reads the same signature from it)');
SELECT is((SELECT array_agg(DISTINCT v.reason)
             FROM (SELECT pg_temp.payload_of(:'a1') || b AS p
                     FROM unnest(ARRAY['\x00'::bytea, '\x0000', '\xff', '\xffff']) b) x,
                  governance.verify_artifact(
                      'gov1.' || left(pg_temp.b64url(x.p), -1)
                      || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
                           (strpos('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
                                   right(pg_temp.b64url(x.p), 1)) - 1 | 1) + 1, 1)
                      || '.' || pg_temp.sig_of(:'a1')) v
            WHERE length(pg_temp.b64url(x.p)) % 4 <> 0),
          ARRAY['malformed artifact: payload is not base64url'],
          'a payload with non-zero trailing bits is refused');

-- every claim of a genuine payload at a wrong length, or NULL where not allowed
SELECT is((SELECT array_agg(DISTINCT v.reason) || count(*)::text
             FROM (SELECT f, i FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x,
                                    generate_series(2, 14) i) y,
                  LATERAL (SELECT CASE k WHEN 0 THEN substr(y.f[y.i], 2) WHEN 1 THEN y.f[y.i] || '\x00'::bytea
                                        WHEN 2 THEN '\x'::bytea WHEN 3 THEN NULL::bytea
                                        ELSE y.f[y.i] || y.f[y.i] END AS nv
                             FROM generate_series(0, 4) k) m,
                  governance.verify_artifact(pg_temp.art(pg_temp.join(y.f[1:y.i - 1] || m.nv || y.f[y.i + 1:]),
                                                         pg_temp.sig_of(:'a2'))) v
            -- the measurement may be any length or NULL, a parent is NULL at depth 0
            WHERE y.i <> 10 AND NOT (y.i = 4 AND m.nv IS NULL)
              AND NOT (y.i IN (5, 6, 7) AND m.nv IS NOT NULL AND length(m.nv) BETWEEN 1 AND 255
                       AND position('\x00'::bytea IN m.nv) = 0)),
          ARRAY['malformed artifact: a claim has the wrong type or length', '50'],
          'each fixed-length claim shorter, longer, empty, NULL or doubled: wrong type or length');
SELECT is((SELECT array_agg(v.reason ORDER BY k)
             FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x,
                  LATERAL (VALUES (1, x.f[1:9] || '\x'::bytea || x.f[11:14]),
                                  (2, x.f[1:9] || NULL::bytea || x.f[11:14]),
                                  (3, x.f[1:9] || decode(repeat('ab', 1024), 'hex') || x.f[11:14]),
                                  (4, x.f[1:9] || decode(repeat('ab', 1025), 'hex') || x.f[11:14])) m (k, f),
                  governance.verify_artifact(pg_temp.art(pg_temp.join(m.f), pg_temp.sig_of(:'a2'))) v),
          ARRAY['bad signature', 'bad signature', 'bad signature', 'malformed artifact: measurement claim is too long'],
          'the measurement: empty, NULL and 1024 bytes decode (bad signature), 1025 bytes is too long');
SELECT is((SELECT array_agg(v.reason ORDER BY k)
             FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x,
                  LATERAL (VALUES (1, x.f[1:13]), (2, x.f || '\x'::bytea), (3, x.f[2:14]),
                                  (4, ARRAY['\x'::bytea] || x.f[2:14]),
                                  (5, ARRAY[convert_to('governance.v1.event', 'UTF8')] || x.f[2:14]),
                                  (6, x.f || convert_to('0123456789ABCDEF', 'UTF8')),
                                  (7, x.f || convert_to('0123456789abcdef', 'UTF8') || '\x'::bytea)) m (k, f),
                  governance.verify_artifact(pg_temp.art(pg_temp.join(m.f), pg_temp.sig_of(:'a2'))) v),
          ARRAY['malformed artifact: payload is truncated', 'malformed artifact: a claim has the wrong type or length',
                'malformed artifact: payload does not start with the artifact tag',
                'malformed artifact: payload does not start with the artifact tag',
                'malformed artifact: payload does not start with the artifact tag',
                'malformed artifact: agent key id is not lowercase hex',
                'malformed artifact: payload has trailing bytes'],
          '12 claims, an empty 14th (agent_key_id, FORMAT.md section 13), no tag, an empty tag, another tag, an agent key id not lowercase hex, 15 claims');

-- random input
SELECT setseed(0.4040);
CREATE TEMP TABLE randoms AS
SELECT i,
       -- random characters U+0001..U+00FF
       (SELECT string_agg(chr(1 + (random() * 254)::int), '') FROM generate_series(1, 1 + (random() * 300)::int)) AS chars,
       -- random bytes as base64url, behind the prefix, with a random signature part
       'gov1.' || pg_temp.b64url(decode(
           (SELECT string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), '') FROM generate_series(1, 1 + (random() * 400)::int)), 'hex'))
           || '.' || pg_temp.b64url(decode(
           (SELECT string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), '') FROM generate_series(1, 64)), 'hex')) AS b64,
       i % 7 AS k
  FROM generate_series(1, 400) i;
SELECT is((SELECT row(nvalid, nerror, nnoreason, first_error)::text
             FROM pg_temp.survey(ARRAY(SELECT chars FROM randoms ORDER BY i))),
          row(0, 0, 0, NULL::text)::text, '400 random strings: none valid, no error, every one with a reason');
SELECT is((SELECT row(nvalid, nerror, nnoreason, first_error)::text
             FROM pg_temp.survey(ARRAY(SELECT 'gov1.' || chars FROM randoms ORDER BY i))),
          row(0, 0, 0, NULL::text)::text, '400 random strings behind gov1.: the same');
SELECT is((SELECT row(nvalid, nerror, nnoreason, first_error)::text
             FROM pg_temp.survey(ARRAY(SELECT b64 FROM randoms ORDER BY i))),
          row(0, 0, 0, NULL::text)::text, '400 random payloads in valid base64url: the same');
-- random payloads that begin with the tag and the server's key id
SELECT is((SELECT row(nvalid, nerror, nnoreason, first_error)::text
             FROM pg_temp.survey(ARRAY(
                 SELECT pg_temp.art(pg_temp.field(convert_to('governance.v1.artifact', 'UTF8'))
                                    || pg_temp.field(convert_to(:'k2', 'UTF8'))
                                    || pg_temp.unb64url(split_part(b64, '.', 2)), split_part(b64, '.', 3))
                   FROM randoms ORDER BY i))),
          row(0, 0, 0, NULL::text)::text, '400 random payloads after the tag and a real key id: the same');
-- a genuine payload with random claims (the right lengths): decodes, then fails
SELECT is((SELECT row(nvalid, nerror, nnoreason, first_error)::text
             FROM pg_temp.survey(ARRAY(
                 SELECT pg_temp.art(pg_temp.join(f[1:6] || convert_to('Doc::"' || i || '"', 'UTF8') || f[8:9]
                                    || decode(md5(chars), 'hex') || f[11:14]), pg_temp.sig_of(:'a2'))
                   FROM randoms, (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x ORDER BY i))),
          row(0, 0, 0, NULL::text)::text, '400 genuine payloads with another resource and measurement: none valid');

-- every byte of a genuine payload edited, under its genuine signature
CREATE TEMP TABLE edits AS
SELECT i, b, pg_temp.art(set_byte(p, i, get_byte(p, i) # b), pg_temp.sig_of(:'a2')) AS a
  FROM (SELECT pg_temp.payload_of(:'a2') AS p) x, generate_series(0, length(pg_temp.payload_of(:'a2')) - 1) i,
       unnest(ARRAY[1, 128]) b;
SELECT is((SELECT row(n, nvalid, nnoreason)::text FROM pg_temp.survey(ARRAY(SELECT a FROM edits WHERE b = 1 ORDER BY i))),
          row((SELECT count(*)::int FROM edits WHERE b = 1), 0, 0)::text,
          'each payload byte with its low bit flipped: none valid, each with a reason');
SELECT is((SELECT row(n, nvalid, nnoreason)::text FROM pg_temp.survey(ARRAY(SELECT a FROM edits WHERE b = 128 ORDER BY i))),
          row((SELECT count(*)::int FROM edits WHERE b = 128), 0, 0)::text,
          'each payload byte with its high bit flipped: none valid, each with a reason');
SELECT is((SELECT row(nerror, first_error)::text FROM pg_temp.survey(ARRAY(SELECT a FROM edits ORDER BY i, b))),
          row(0, NULL::text)::text, 'no edited payload makes verify_artifact() raise an error');

-- claims that decode but are out of PostgreSQL's range or not UTF-8
SELECT matches((SELECT pg_temp.vr(pg_temp.art(pg_temp.join(
                      f[1:10] || int8send(-300000000000000000) || f[12:14]), pg_temp.sig_of(:'a2')))
             FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x),
          '^false[|].',
          'issued_at before 4713 BC (beyond timestamptz): valid = false, not an error');
SELECT is((SELECT row(nvalid, nerror, first_error)::text
             FROM pg_temp.survey(ARRAY(
                 SELECT pg_temp.art(pg_temp.join(f[1:9 + c] || int8send(t) || f[11 + c:14]), pg_temp.sig_of(:'a2'))
                   FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x,
                        generate_series(1, 3) c,
                        -- int64 extremes; -infinity after the shift to 2000; just before and
                        -- at 4714-11-24 BC (PostgreSQL's first instant); the epoch
                        unnest(ARRAY[-9223372036854775808, -9223372036854775807, -9222425352054775808,
                                     -210866803200000001, -210866803200000000, -1, 0,
                                     9223372036854775807]::bigint[]) t))),
          row(0, 0, NULL::text)::text,
          'issued_at, expires_at, max_expiry at the extremes of int64 and of timestamptz: no error');
CREATE TEMP TABLE bad_utf8 AS
SELECT pg_temp.art(pg_temp.join(f[1:4] || '\xc328'::bytea || f[6:14]), pg_temp.sig_of(:'a2')) AS a
  FROM (SELECT pg_temp.fields(pg_temp.payload_of(:'a2')) AS f) x;
SELECT lives_ok($$SELECT convert_to(claims::text, 'UTF8') FROM bad_utf8, governance.verify_artifact(a)$$,
                'a principal claim that is not UTF-8: the claims returned are valid UTF-8 text');
SELECT is((SELECT pg_temp.vr(a) FROM bad_utf8),
          'false|malformed artifact: a claim is not valid UTF-8', 'and the reason says so');

-- cost: a 1 MB string and 400 malformed artifacts are refused quickly
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
SELECT count(*) FROM randoms, governance.verify_artifact(repeat(b64, 3000)) v WHERE i <= 50;
SELECT pg_temp.survey(ARRAY(SELECT a FROM edits));
\o
SELECT cmp_ok(clock_timestamp() - :'t0'::timestamptz, '<', interval '10 seconds',
              'fifty 1 MB-scale strings and every edited payload verified in under 10 s');

------------------------------------------------------------------------
-- clean up (the ledger keeps its rows)
------------------------------------------------------------------------
\o /dev/null
SELECT governance.revoke(lease_id, 'art40: done') FROM governance.leases
 WHERE principal IN ('Agent::"art40-bot"', 'Agent::"art40-sub"') AND state = 'live' AND parent_id IS NULL;
SELECT governance.drop_policy('art40_bot'), governance.drop_policy('art40_sub');
DROP OWNED BY art40_bot, art40_sub, art40_aud, art40_admin;
DROP ROLE art40_bot, art40_sub, art40_aud, art40_admin;
\o

SELECT * FROM finish();
