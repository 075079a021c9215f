-- The ledger's exact outputs: canonical JSON, the bytes hashed for a known
-- row and a known block (docs/FORMAT.md sections 4-7, decoded field by
-- field), chain-link known answers, and the error messages for bad input.
-- Values that differ between runs (seqs, times, txids, keys) are printed
-- as comparisons against the stored row, never raw.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS governance;
RESET client_min_messages;

-- field(x) = u32 big-endian length || x, NULL = 0xFFFFFFFF (FORMAT.md 1)
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(b)) || b END
$$;
CREATE FUNCTION pg_temp.tag(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.field(convert_to(t, 'UTF8'))
$$;
CREATE FUNCTION pg_temp.i64(b bytea) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || encode(b, 'hex'))::bit(64)::bigint
$$;
CREATE FUNCTION pg_temp.micros(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;
-- Split a message into its fields; len is NULL for a NULL field.  Raises
-- if the bytes do not parse exactly into fields.
CREATE FUNCTION pg_temp.fields(b bytea) RETURNS TABLE (n int, len int, val bytea)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    pos int := 1;
    l bigint;
BEGIN
    n := 0;
    WHILE pos <= length(b) LOOP
        IF pos + 3 > length(b) THEN
            RAISE EXCEPTION 'truncated length prefix at byte %', pos;
        END IF;
        n := n + 1;
        l := pg_temp.i64('\x00000000'::bytea || substr(b, pos, 4));
        IF l = 4294967295 THEN
            len := NULL; val := NULL; pos := pos + 4;
        ELSE
            IF pos + 4 + l - 1 > length(b) THEN
                RAISE EXCEPTION 'field % overruns the message', n;
            END IF;
            len := l; val := substr(b, pos + 4, l::int); pos := pos + 4 + l::int;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Canonical JSON (FORMAT.md 4)
------------------------------------------------------------------------------

-- key order is by UTF-8 bytes (jsonb's own order is length first), a key
-- that is a prefix of another sorts first, duplicates keep the last value
SELECT governance.canonical_json(v) AS canonical, v::text AS jsonb_text
  FROM (VALUES
    ('{"b": 1, "a": [1, 2, {"z": null, "y": "é\n"}], "n": 1.50}'::jsonb),
    ('{"": 1, "a": 2, "aa": 3, "b": 4, "é": 5, "z": 6, "Z": 7, "ab": 8}'),
    ('{"ab": 1, "a": 2, "abc": 3, "b": {"y": [], "x": {}}}'),
    ('{"a": 1, "a": 2}'),
    ('[]'), ('{}'), ('[[], {}, [[]]]'),
    ('null'), ('true'), ('false'), ('"x"'), ('""')
  ) t(v);

-- numbers: plain decimal, scale as stored, no exponent, no -0
SELECT governance.canonical_json(v) AS canonical, v::text AS jsonb_text
  FROM (VALUES
    ('1.50'::jsonb), ('1e3'), ('1E+2'), ('-0'), ('-0.0'), ('-1.0e-2'), ('0.000001'),
    ('1e30'), ('-123456789012345678901234567890.123456789'), ('[0, -1, 2.5e-1]')
  ) t(v);

-- strings: only '"', '\' and controls escaped (\b \f \n \r \t, else
-- \u00xx lowercase); '/', DEL, C1 controls, U+2028 and astral characters
-- are raw UTF-8.  Shown in hex so the terminal cannot reinterpret them.
SELECT encode(convert_to(governance.canonical_json(v), 'UTF8'), 'hex') AS canonical_hex
  FROM (VALUES
    ('"\"\\/"'::jsonb),
    ('"\b\f\n\r\t"'),
    ('"\u0001\u001f\u001F"'),
    ('"\u007f\u0080\u2028\ud83d\ude00"'),
    ('{"\n": "é"}')
  ) t(v);

------------------------------------------------------------------------------
-- Chain links (FORMAT.md 5): known answers, and the rule spelt out
------------------------------------------------------------------------------

SELECT encode(governance.chain_link(NULL, governance.sha3_512('abc')), 'hex') AS first_link;
SELECT encode(governance.chain_link(governance.blake2b_512('prev'), governance.sha3_512('abc')), 'hex') AS next_link;
SELECT governance.chain_link(NULL, governance.sha3_512('abc')) =
       governance.blake2b_512(pg_temp.tag('governance.v1.link') || pg_temp.field(NULL)
                              || pg_temp.field(governance.sha3_512('abc'))) AS first_link_rule,
       governance.chain_link(governance.blake2b_512('prev'), governance.sha3_512('abc')) =
       governance.blake2b_512(pg_temp.tag('governance.v1.link') || pg_temp.field(governance.blake2b_512('prev'))
                              || pg_temp.field(governance.sha3_512('abc'))) AS next_link_rule;
SELECT governance.chain_link(NULL, NULL) IS NULL AS null_evidence_gives_null;
SELECT governance.chain_link(NULL, '\x00');
SELECT governance.chain_link('\x00', governance.sha3_512('abc'));

------------------------------------------------------------------------------
-- A known row, byte by byte
------------------------------------------------------------------------------

-- Close whatever earlier tests left unsealed, and end a block on a row of
-- ours, so that the next block holds exactly the rows below.
SELECT governance.record('ledger_regress.start', '{}') AS start_seq \gset
SELECT governance.seal() IS NOT NULL AS sealed_start;

SELECT governance.record('ledger_regress.known',
    '{"b": 1, "a": [1, 2, {"z": null, "y": "é\n"}], "n": 1.50}') AS known_seq \gset
BEGIN;
SELECT governance.record('ledger_regress.aborted', '{}') AS aborted_seq \gset
ROLLBACK;
SELECT governance.record('ledger_regress.after', '["x"]') AS after_seq \gset
SELECT :known_seq - :start_seq AS known_offset, :aborted_seq - :start_seq AS aborted_offset,
       :after_seq - :start_seq AS after_offset;

-- event_bytes(seq) decoded: 12 fields in the documented order
SELECT f.n, f.len,
       CASE f.n
         WHEN 1 THEN 'tag ' || convert_from(f.val, 'UTF8')
         WHEN 2 THEN 'seq matches: ' || (pg_temp.i64(f.val) = l.seq)
         WHEN 3 THEN 'at (Unix us) matches: ' || (pg_temp.i64(f.val) = pg_temp.micros(l.at))
         WHEN 4 THEN 'kind ' || convert_from(f.val, 'UTF8')
         WHEN 5 THEN 'lease_id ' || coalesce(encode(f.val, 'hex'), 'NULL')
         WHEN 6 THEN 'principal ' || coalesce(convert_from(f.val, 'UTF8'), 'NULL')
         WHEN 7 THEN 'action ' || coalesce(convert_from(f.val, 'UTF8'), 'NULL')
         WHEN 8 THEN 'resource ' || coalesce(convert_from(f.val, 'UTF8'), 'NULL')
         WHEN 9 THEN 'payload ' || convert_from(f.val, 'UTF8')
         WHEN 10 THEN 'actor is session_user: ' || (convert_from(f.val, 'UTF8') = session_user)
         WHEN 11 THEN 'txid matches: ' || (pg_temp.i64(f.val) = l.txid::text::bigint)
         WHEN 12 THEN 'prev_seq ' || coalesce(pg_temp.i64(f.val)::text, 'NULL')
       END AS field
  FROM governance.ledger l, pg_temp.fields(governance.event_bytes(l.seq)) f
 WHERE l.seq = :known_seq
 ORDER BY f.n;

-- the fixed parts verbatim: the tag field, and the canonical payload field
SELECT encode(substr(governance.event_bytes(:known_seq), 1, 23), 'hex') AS tag_field_hex;
SELECT encode(f.val, 'hex') AS payload_field_hex
  FROM pg_temp.fields(governance.event_bytes(:known_seq)) f WHERE f.n = 9;

-- the same bytes rebuilt from the stored columns by FORMAT.md alone
SELECT governance.event_bytes(l.seq) =
       pg_temp.tag('governance.v1.event') || pg_temp.field(int8send(l.seq))
       || pg_temp.field(int8send(pg_temp.micros(l.at))) || pg_temp.field(convert_to(l.kind, 'UTF8'))
       || pg_temp.field(uuid_send(l.lease_id)) || pg_temp.field(convert_to(l.principal, 'UTF8'))
       || pg_temp.field(convert_to(l.action, 'UTF8')) || pg_temp.field(convert_to(l.resource, 'UTF8'))
       || pg_temp.field(convert_to(governance.canonical_json(l.payload), 'UTF8'))
       || pg_temp.field(convert_to(l.actor, 'UTF8')) || pg_temp.field(int8send(l.txid::text::bigint))
       || pg_temp.field(int8send(l.prev_seq)) AS rebuilt_from_columns,
       l.evidence = governance.sha3_512(governance.event_bytes(l.seq)) AS evidence_is_sha3_of_bytes,
       l.link = governance.chain_link(NULL, l.evidence) AS link_has_no_predecessor,
       length(l.evidence) AS evidence_len, length(l.link) AS link_len
  FROM governance.ledger l WHERE l.seq IN (:known_seq, :after_seq) ORDER BY l.seq;

------------------------------------------------------------------------------
-- The block that seals them, byte by byte (FORMAT.md 6 and 7)
------------------------------------------------------------------------------

SELECT governance.seal() AS block_id \gset
SELECT first_seq - :start_seq AS first_offset, last_seq - :start_seq AS last_offset,
       row_count, total_rows - (SELECT total_rows FROM governance.ledger_blocks WHERE block_id = :block_id - 1) AS rows_added,
       ARRAY(SELECT g - :start_seq FROM unnest(gaps) g) AS gap_offsets
  FROM governance.ledger_blocks WHERE block_id = :block_id;

-- format version 2: the log id after the tag, the lineage root after the Merkle root
SELECT f.n, f.len,
       CASE f.n
         WHEN 1 THEN 'tag ' || convert_from(f.val, 'UTF8')
         WHEN 2 THEN 'log_id matches: ' || (f.val = uuid_send((SELECT log_id FROM governance.log_identity)))
         WHEN 3 THEN 'block_id matches: ' || (pg_temp.i64(f.val) = b.block_id)
         WHEN 4 THEN 'first_seq offset ' || (pg_temp.i64(f.val) - :start_seq)
         WHEN 5 THEN 'last_seq offset ' || (pg_temp.i64(f.val) - :start_seq)
         WHEN 6 THEN 'row_count ' || pg_temp.i64(f.val)
         WHEN 7 THEN 'total_rows matches: ' || (pg_temp.i64(f.val) = b.total_rows)
         WHEN 8 THEN 'gaps as offsets ' || (pg_temp.i64(substr(f.val, 1, 8)) - :start_seq) || '..'
                                          || (pg_temp.i64(substr(f.val, 9, 8)) - :start_seq)
         WHEN 9 THEN 'merkle_root matches: ' || (f.val = b.merkle_root)
         WHEN 10 THEN 'lineage_root matches: ' || (f.val = b.lineage_root)
         WHEN 11 THEN 'prev_hash is the previous block''s hash: '
                     || (f.val = (SELECT p.block_hash FROM governance.ledger_blocks p WHERE p.block_id = b.block_id - 1))
         WHEN 12 THEN 'sealed_at (Unix us) matches: ' || (pg_temp.i64(f.val) = pg_temp.micros(b.sealed_at))
         WHEN 13 THEN 'key_id matches: ' || (convert_from(f.val, 'UTF8') = b.key_id)
       END AS field
  FROM governance.ledger_blocks b, pg_temp.fields(governance.block_bytes(b.block_id)) f
 WHERE b.block_id = :block_id
 ORDER BY f.n;

-- Merkle root of two leaves = node(leaf(known), leaf(after)); the aborted
-- seq contributes nothing
SELECT b.merkle_root =
       governance.blake2b_512(pg_temp.tag('governance.v1.merkle-node')
         || pg_temp.field(governance.blake2b_512(pg_temp.tag('governance.v1.merkle-leaf')
              || pg_temp.field(int8send(k.seq)) || pg_temp.field(k.evidence)))
         || pg_temp.field(governance.blake2b_512(pg_temp.tag('governance.v1.merkle-leaf')
              || pg_temp.field(int8send(a.seq)) || pg_temp.field(a.evidence)))) AS merkle_root_rule,
       b.block_hash = governance.blake2b_512(governance.block_bytes(b.block_id)) AS block_hash_rule
  FROM governance.ledger_blocks b, governance.ledger k, governance.ledger a
 WHERE b.block_id = :block_id AND k.seq = :known_seq AND a.seq = :after_seq;

SELECT f.n, f.len,
       CASE f.n
         WHEN 1 THEN 'tag ' || convert_from(f.val, 'UTF8')
         WHEN 2 THEN 'log_id matches: ' || (f.val = uuid_send((SELECT log_id FROM governance.log_identity)))
         WHEN 3 THEN 'block_id matches: ' || (pg_temp.i64(f.val) = b.block_id)
         WHEN 4 THEN 'block_hash matches: ' || (f.val = b.block_hash)
         WHEN 5 THEN 'last_seq offset ' || (pg_temp.i64(f.val) - :start_seq)
         WHEN 6 THEN 'total_rows matches: ' || (pg_temp.i64(f.val) = b.total_rows)
         WHEN 7 THEN 'sealed_at (Unix us) matches: ' || (pg_temp.i64(f.val) = pg_temp.micros(b.sealed_at))
         WHEN 8 THEN 'key_id matches: ' || (convert_from(f.val, 'UTF8') = b.key_id)
       END AS field
  FROM governance.ledger_blocks b, pg_temp.fields(governance.checkpoint_bytes(b.block_id)) f
 WHERE b.block_id = :block_id
 ORDER BY f.n;

SELECT governance.ed25519_verify(b.signature, governance.checkpoint_bytes(b.block_id), k.public_key)
         AS signature_verifies
  FROM governance.ledger_blocks b JOIN governance.signing_keys k USING (key_id)
 WHERE b.block_id = :block_id;

-- the checkpoint names this block, and its keys are exactly the documented ones
SELECT (cp->>'block_id')::bigint = :block_id AS names_block,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(cp) k) AS checkpoint_keys,
       cp->'version' AS version,
       (cp->>'last_seq')::bigint - :start_seq AS last_seq_offset,
       length(cp->>'block_hash') AS hash_hex_len, length(cp->>'signature') AS sig_hex_len,
       cp->>'sealed_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS sealed_at_iso_utc
  FROM (SELECT governance.checkpoint() AS cp) c;

SELECT ok, rows_checked = (SELECT count(*) FROM governance.ledger) AS all_rows_checked,
       blocks_checked = (SELECT count(*) FROM governance.ledger_blocks) AS all_blocks_checked,
       first_bad_seq, problem
  FROM governance.verify_ledger();

------------------------------------------------------------------------------
-- Bad input: a clear error, and nothing written
------------------------------------------------------------------------------

SELECT count(*) AS rows_before FROM governance.ledger \gset
SELECT governance.record(NULL, '{}');
SELECT governance.record('ledger_regress.bad', NULL);
SELECT governance.record('', '{}');
SELECT governance.record('governance.key.rotated', '{}');
SELECT governance.record('governance.', '{}');
-- the kind grammar (docs/FORMAT.md, section 5): not kinds, or reserved ones
SELECT governance.record('Governance.write', '{}');
SELECT governance.record(' governance.write', '{}');
SELECT governance.record('governance' || U&'\2024' || 'write', '{}');
SELECT governance.record('governance', '{}');
SELECT governance.record('governance.write', '{}');
SELECT governance.record('tool..call', '{}');
SELECT governance.record('.tool', '{}');
SELECT governance.record('tool call', '{}');
SELECT governance.record('tool.Call', '{}');
SELECT governance.record('9tool', '{}');
SELECT governance.record('tool._x', '{}');
SELECT governance.record('tóol', '{}');
SELECT governance.record(E'tool\ncall', '{}');
SELECT governance.record(repeat('k', 129), '{}');
SELECT governance.record(repeat('é', 65), '{}');
SELECT governance.record('ledger_regress.bad', jsonb_build_object('blob', repeat('x', 10 * 1024 * 1024)));
SET governance.max_payload_size = '2kB';
SELECT governance.record('ledger_regress.bad', jsonb_build_object('blob', repeat('x', 4096)));
RESET governance.max_payload_size;
-- strings that are not valid UTF-8, or not representable in the database
SELECT governance.record(convert_from('\xc328'::bytea, 'UTF8'), '{}');
SELECT governance.record('ledger_regress.bad', convert_from('\x7b2261223a22ff227d'::bytea, 'UTF8')::jsonb);
SELECT governance.record('ledger_regress.bad', '"\ud800"');
SELECT governance.record('ledger_regress.bad', '"\u0000"');
SELECT count(*) - :rows_before AS rows_written FROM governance.ledger;

-- the lookup and range functions
SELECT governance.event_bytes(-1);
SELECT governance.block_bytes(-1);
SELECT governance.checkpoint_bytes(-1);
SELECT * FROM governance.verify_ledger(0);
SELECT * FROM governance.verify_ledger(3, 2);
SELECT * FROM governance.verify_ledger(1, 0);

------------------------------------------------------------------------------
-- verify_checkpoint: what each kind of bad checkpoint is called
------------------------------------------------------------------------------

SELECT governance.checkpoint() AS cp \gset
SELECT replace(log_id::text, '-', '') AS log_hex FROM governance.log_identity \gset
SELECT label, v.ok, replace(replace(v.problem, 'block ' || :'block_id', 'block <block>'), :'log_hex', '<log>') AS problem
  FROM (VALUES
    ('fresh',                  :'cp'::jsonb),
    ('null',                   NULL::jsonb),
    ('empty object',           '{}'),
    ('array',                  '[]'),
    ('scalar',                 '"checkpoint"'),
    ('version 3',              jsonb_set(:'cp', '{version}', '3')),
    ('presented as version 1', jsonb_set(:'cp', '{version}', '1') - 'log_id'),
    ('version 1 with log_id',  jsonb_set(:'cp', '{version}', '1')),
    ('another log',            jsonb_set(:'cp', '{log_id}', '"0123456789abcdef0123456789abcdef"')),
    ('no log_id',              :'cp'::jsonb - 'log_id'),
    ('no version',             :'cp'::jsonb - 'version'),
    ('no signature',           :'cp'::jsonb - 'signature'),
    ('no sealed_at_us',        :'cp'::jsonb - 'sealed_at_us'),
    ('block_id as string',     jsonb_set(:'cp', '{block_id}', to_jsonb(:'block_id'::text))),
    ('block_id fractional',    jsonb_set(:'cp', '{block_id}', to_jsonb(:block_id + 0.5))),
    ('block_hash not hex',     jsonb_set(:'cp', '{block_hash}', to_jsonb(repeat('zz', 64)))),
    ('block_hash short',       jsonb_set(:'cp', '{block_hash}', to_jsonb(repeat('00', 63)))),
    ('signature long',         jsonb_set(:'cp', '{signature}', to_jsonb((:'cp'::jsonb->>'signature') || '00'))),
    ('key_id short',           jsonb_set(:'cp', '{key_id}', to_jsonb(left(:'cp'::jsonb->>'key_id', 15)))),
    ('unknown key',            jsonb_set(:'cp', '{key_id}', '"0000000000000000"')),
    ('block_hash flipped',     jsonb_set(:'cp', '{block_hash}', to_jsonb(
                                   (CASE left(:'cp'::jsonb->>'block_hash', 1) WHEN '0' THEN '1' ELSE '0' END)
                                   || substr(:'cp'::jsonb->>'block_hash', 2)))),
    ('last_seq + 1',           jsonb_set(:'cp', '{last_seq}', to_jsonb((:'cp'::jsonb->>'last_seq')::bigint + 1))),
    ('total_rows - 1',         jsonb_set(:'cp', '{total_rows}', to_jsonb((:'cp'::jsonb->>'total_rows')::bigint - 1))),
    ('sealed_at edited',       jsonb_set(:'cp', '{sealed_at}', '"2001-01-01T00:00:00.000000Z"')),
    ('sealed_at_us + 1',       jsonb_set(jsonb_set(:'cp', '{sealed_at_us}', to_jsonb((:'cp'::jsonb->>'sealed_at_us')::bigint + 1)),
                                   '{sealed_at}', to_jsonb(to_char(('1970-01-01 00:00:00+00'::timestamptz
                                       + ((:'cp'::jsonb->>'sealed_at_us')::bigint + 1) * interval '1 microsecond')
                                       AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))))
  ) t(label, cp), LATERAL governance.verify_checkpoint(t.cp) v;
