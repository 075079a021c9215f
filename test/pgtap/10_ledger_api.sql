-- The ledger API (issue 3): record(), the bytes and hashes of each row,
-- seal() and the blocks it makes (contiguity, gaps, counts, Merkle roots,
-- block hashes, signatures), checkpoint() and verify_checkpoint(),
-- verify_ledger() over ranges and from a checkpoint, key rotation; then bad
-- input and privileges.
--
-- The first part runs outside a transaction block on purpose: seal() only
-- seals rows whose transactions have committed.  The rows it writes stay in
-- the ledger (it is append-only); every check is written so that rows of
-- other tests and of the background sealer, which runs in this database,
-- cannot disturb it.  The second part (bad input, privileges) runs in one
-- transaction that is rolled back.
\ir lib/fixture.sql

-- FORMAT.md section 1: field(x) = u32 big-endian length || x; NULL = 0xFFFFFFFF
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(b)) || b END
$$;
CREATE FUNCTION pg_temp.tag(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.field(convert_to(t, 'UTF8'))
$$;
CREATE FUNCTION pg_temp.txt(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.field(convert_to(t, 'UTF8'))
$$;
CREATE FUNCTION pg_temp.i64(v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.field(int8send(v))
$$;
CREATE FUNCTION pg_temp.micros(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;
-- is seq one of the aborted seqs a block lists as inclusive (lo, hi) pairs?
CREATE FUNCTION pg_temp.in_gaps(gaps bigint[], s bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (SELECT 1 FROM generate_subscripts(gaps, 1) i
                    WHERE i % 2 = 1 AND s BETWEEN gaps[i] AND gaps[i + 1])
$$;
-- number of blocks that seal seq as a row (its range covers it, no gap does)
CREATE FUNCTION pg_temp.sealed_in(s bigint) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM governance.ledger_blocks b
     WHERE s BETWEEN b.first_seq AND b.last_seq AND NOT pg_temp.in_gaps(b.gaps, s)
$$;
-- event bytes rebuilt from the stored columns, by FORMAT.md section 5 alone
CREATE FUNCTION pg_temp.event_bytes(l governance.ledger) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT pg_temp.tag('governance.v1.event') || pg_temp.i64(l.seq) || pg_temp.i64(pg_temp.micros(l.at))
        || pg_temp.txt(l.kind) || pg_temp.field(uuid_send(l.lease_id)) || pg_temp.txt(l.principal)
        || pg_temp.txt(l.action) || pg_temp.txt(l.resource)
        || pg_temp.txt(governance.canonical_json(l.payload)) || pg_temp.txt(l.actor)
        || pg_temp.i64(l.txid::text::bigint) || pg_temp.field(int8send(l.prev_seq))
$$;
-- RFC 6962 Merkle tree hash with the leaf and node tags of FORMAT.md section 6
CREATE FUNCTION pg_temp.mth(d bytea[]) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n int := cardinality(d);
    k int := 1;
BEGIN
    IF n = 1 THEN
        RETURN d[1];
    END IF;
    WHILE k * 2 < n LOOP
        k := k * 2;
    END LOOP;
    RETURN governance.blake2b_512(pg_temp.tag('governance.v1.merkle-node')
        || pg_temp.field(pg_temp.mth(d[1:k])) || pg_temp.field(pg_temp.mth(d[k + 1:n])));
END
$$;
CREATE FUNCTION pg_temp.block_root(b governance.ledger_blocks) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT pg_temp.mth(array_agg(governance.blake2b_512(pg_temp.tag('governance.v1.merkle-leaf')
               || pg_temp.i64(l.seq) || pg_temp.field(l.evidence)) ORDER BY l.seq))
      FROM governance.ledger l WHERE l.seq BETWEEN b.first_seq AND b.last_seq
$$;
CREATE FUNCTION pg_temp.gap_bytes(g bigint[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(int8send(x), ''::bytea ORDER BY i), ''::bytea)
      FROM unnest(g) WITH ORDINALITY AS u(x, i)
$$;
-- format version 2 (FORMAT.md 6): the log id after the tag, the lineage root after the Merkle root
CREATE FUNCTION pg_temp.block_bytes(b governance.ledger_blocks) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b.version = 2
                THEN pg_temp.tag('governance.v2.block') || pg_temp.field(uuid_send(b.log_id))
                ELSE pg_temp.tag('governance.v1.block') END
        || pg_temp.i64(b.block_id) || pg_temp.i64(b.first_seq)
        || pg_temp.i64(b.last_seq) || pg_temp.i64(b.row_count) || pg_temp.i64(b.total_rows)
        || pg_temp.field(pg_temp.gap_bytes(b.gaps)) || pg_temp.field(b.merkle_root)
        || CASE WHEN b.version = 2 THEN pg_temp.field(b.lineage_root) ELSE ''::bytea END
        || pg_temp.field(b.prev_hash) || pg_temp.i64(pg_temp.micros(b.sealed_at)) || pg_temp.txt(b.key_id)
$$;
CREATE FUNCTION pg_temp.cp_tag(version int, log_id uuid) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN version = 2
                THEN pg_temp.tag('governance.v2.checkpoint') || pg_temp.field(uuid_send(log_id))
                ELSE pg_temp.tag('governance.v1.checkpoint') END
$$;
-- checkpoint bytes from a checkpoint's JSON alone (FORMAT.md section 7)
CREATE FUNCTION pg_temp.cp_bytes(cp jsonb) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.cp_tag((cp->>'version')::int, (cp->>'log_id')::uuid) || pg_temp.i64((cp->>'block_id')::bigint)
        || pg_temp.field(decode(cp->>'block_hash', 'hex')) || pg_temp.i64((cp->>'last_seq')::bigint)
        || pg_temp.i64((cp->>'total_rows')::bigint) || pg_temp.i64((cp->>'sealed_at_us')::bigint)
        || pg_temp.txt(cp->>'key_id')
$$;
-- change the first hex digit (or the last)
CREATE FUNCTION pg_temp.flip_first(h text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE left(h, 1) WHEN '0' THEN '1' ELSE '0' END || substr(h, 2)
$$;
CREATE FUNCTION pg_temp.flip_last(h text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT left(h, -1) || CASE right(h, 1) WHEN '0' THEN '1' ELSE '0' END
$$;

-- check(query, description): the boolean query must return true; an error
-- is a failed test (with the error as diagnostics), not an aborted script
CREATE FUNCTION pg_temp.check(q text, description text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    b boolean;
BEGIN
    BEGIN
        EXECUTE q INTO b;
    EXCEPTION WHEN OTHERS THEN
        RETURN ok(false, description) || E'\n' || diag('error ' || SQLSTATE || ': ' || SQLERRM);
    END;
    RETURN ok(coalesce(b, false), description);
END
$$;

SELECT plan(126);

-- A checkpoint from before this test, for verify_ledger(checkpoint) later.
SELECT governance.record('ledger_test.start', '{}') AS s0 \gset
SELECT governance.seal() AS b0 \gset
SELECT governance.checkpoint() AS cp0 \gset

------------------------------------------------------------------------------
-- record() and the rows it writes
------------------------------------------------------------------------------
SELECT governance.record('ledger_test.api', '{"n": 1}') AS s1 \gset
SELECT governance.record('ledger_test.api', '{"n": 2}') AS s2 \gset
SELECT governance.record('ledger_test.api', '{"n": 3, "nested": {"b": [true, null], "a": "é"}}') AS s3 \gset

SELECT ok(:s0 < :s1 AND :s1 < :s2 AND :s2 < :s3, 'record() returns increasing seqs');
SELECT is((SELECT payload FROM governance.ledger WHERE seq = :s3),
          '{"n": 3, "nested": {"b": [true, null], "a": "é"}}'::jsonb, 'the row holds the payload given');
SELECT is((SELECT string_agg(kind, ',' ORDER BY seq) FROM governance.ledger WHERE seq IN (:s1, :s2, :s3)),
          'ledger_test.api,ledger_test.api,ledger_test.api', 'the rows hold the kind given');
SELECT ok((SELECT bool_and(actor = session_user) FROM governance.ledger WHERE seq IN (:s1, :s2, :s3)),
          'actor is the session user');
SELECT ok((SELECT bool_and(lease_id IS NULL AND principal IS NULL AND action IS NULL
                           AND resource IS NULL AND prev_seq IS NULL)
             FROM governance.ledger WHERE seq IN (:s1, :s2, :s3)),
          'an event recorded outside a lease has no lease, principal, action, resource or predecessor');
SELECT is((SELECT count(DISTINCT txid) FROM governance.ledger WHERE seq IN (:s1, :s2, :s3))::int, 3,
          'rows appended by three transactions carry three transaction ids');

-- aborted appends: a rolled-back transaction, and a rolled-back savepoint
-- inside a transaction that commits
BEGIN;
SELECT governance.record('ledger_test.aborted', '{}') AS g1 \gset
ROLLBACK;
BEGIN;
SELECT governance.record('ledger_test.kept', '{"when": "before savepoint"}') AS k1 \gset
SAVEPOINT sp;
SELECT governance.record('ledger_test.aborted', '{}') AS g2 \gset
ROLLBACK TO SAVEPOINT sp;
SELECT governance.record('ledger_test.kept', '{"when": "after savepoint"}') AS k2 \gset
SELECT pg_current_xact_id() AS xid_kept \gset
COMMIT;
SELECT governance.record('ledger_test.api', '{"n": 4}') AS s4 \gset

SELECT ok(:s3 < :g1 AND :g1 < :k1 AND :k1 < :g2 AND :g2 < :k2 AND :k2 < :s4,
          'seqs keep increasing across aborted appends');
SELECT is((SELECT count(*) FROM governance.ledger WHERE seq IN (:g1, :g2) OR kind = 'ledger_test.aborted')::int, 0,
          'aborted appends leave no row');
SELECT is((SELECT array_agg(txid::text ORDER BY seq) FROM governance.ledger WHERE seq IN (:k1, :k2)),
          ARRAY[:'xid_kept', :'xid_kept'], 'txid is the appending top-level transaction''s id, savepoints included');

-- evidence, event bytes and links, for every row of the ledger
SELECT is((SELECT count(*) FROM governance.ledger
            WHERE evidence IS DISTINCT FROM governance.sha3_512(governance.event_bytes(seq)))::int, 0,
          'every row''s evidence is SHA3-512 of event_bytes(seq)');
SELECT is((SELECT count(*) FROM governance.ledger l
            WHERE governance.event_bytes(l.seq) IS DISTINCT FROM pg_temp.event_bytes(l))::int, 0,
          'event_bytes(seq) is exactly the encoding FORMAT.md gives for the stored columns');
SELECT is((SELECT count(*) FROM governance.ledger
            WHERE lease_id IS NULL
              AND (prev_seq IS NOT NULL OR link IS DISTINCT FROM governance.chain_link(NULL, evidence)))::int, 0,
          'a row outside any lease has link = chain_link(NULL, evidence)');
SELECT is((SELECT count(*) FROM governance.ledger
            WHERE seq IN (:s1, :s2, :s3, :s4, :k1, :k2)
              AND link = governance.blake2b_512(pg_temp.tag('governance.v1.link') || pg_temp.field(NULL)
                                                || pg_temp.field(evidence)))::int, 6,
          'chain links follow FORMAT.md: BLAKE2b-512(field(tag) || NULL field || field(evidence))');
SELECT isnt((SELECT evidence FROM governance.ledger WHERE seq = :s1),
            (SELECT evidence FROM governance.ledger WHERE seq = :s2),
            'two rows with the same kind never share an evidence hash');

-- events under a lease: one execution's chain.  The policy, the agent's
-- role and mapping, and the lease are committed (attach() only takes a
-- committed lease); the lease is revoked and the policy dropped at the end.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_t_bot') THEN
        CREATE ROLE ledger_t_bot LOGIN IN ROLE governance_agent;
    END IF;
END
$$;
SELECT count(governance.drop_policy(name)) AS dropped FROM governance.policies WHERE name = 'ledger_t_policy' \gset
SELECT governance.create_policy('ledger_t_policy',
    'permit (principal == Agent::"ledger-test-bot", action == Action::"ledger.test", resource);') IS NOT NULL
    AS policy_created \gset
SELECT governance.register_agent('Agent::"ledger-test-bot"', 'ledger_t_bot') IS NULL AS registered \gset
SET ROLE ledger_t_bot;
SELECT decision, lease_id, artifact
  FROM governance.authorize('Agent::"ledger-test-bot"', 'ledger.test', 'Doc::"ledger-1"', '{}', '10 minutes') \gset
BEGIN;
SELECT governance.attach(:'artifact') IS NOT NULL AS attached \gset
SELECT governance.record('ledger_test.leased', '{"step": 1}') AS l1 \gset
SELECT governance.record('ledger_test.leased', '{"step": 2}') AS l2 \gset
COMMIT;
RESET ROLE;
SELECT seq AS l0 FROM governance.ledger WHERE lease_id = :'lease_id' AND kind = 'governance.authorize' \gset

SELECT is(:'decision'::text, 'allow', 'set-up: the agent holds a lease');
SELECT results_eq(
    format('SELECT lease_id, principal, action, resource FROM governance.ledger WHERE seq IN (%s, %s)', :l1, :l2),
    format('VALUES (%L::uuid, %L, %L, %L), (%L::uuid, %L, %L, %L)',
           :'lease_id', 'Agent::"ledger-test-bot"', 'Action::"ledger.test"', 'Doc::"ledger-1"',
           :'lease_id', 'Agent::"ledger-test-bot"', 'Action::"ledger.test"', 'Doc::"ledger-1"'),
    'an event recorded under a lease carries its lease, principal, action and resource');
SELECT is((SELECT array_agg(prev_seq ORDER BY seq) FROM governance.ledger WHERE seq IN (:l1, :l2)),
          ARRAY[:l0, :l1]::bigint[],
          'prev_seq links each event to the previous event of its execution (the first to its authorization)');
SELECT ok((SELECT c.link = governance.chain_link(p.link, c.evidence)
             FROM governance.ledger c JOIN governance.ledger p ON p.seq = c.prev_seq WHERE c.seq = :l2),
          'link = chain_link(previous event''s link, evidence)');
SELECT is((SELECT actor FROM governance.ledger WHERE seq = :l1), session_user::text,
          'SET ROLE does not change the recorded actor (the session user)');
SELECT is((SELECT count(*) FROM governance.ledger c LEFT JOIN governance.ledger p ON p.seq = c.prev_seq
            WHERE c.prev_seq IS NOT NULL
              AND (p.seq IS NULL OR p.seq >= c.seq
                   OR c.link IS DISTINCT FROM governance.chain_link(p.link, c.evidence)))::int, 0,
          'every chained row of the ledger links to an earlier row by chain_link(prev.link, evidence)');
SELECT is((SELECT count(*) FROM governance.ledger l
            WHERE l.lease_id IS NOT NULL AND l.prev_seq IS NOT NULL
              AND EXISTS (SELECT 1 FROM governance.ledger m
                           WHERE m.lease_id = l.lease_id AND m.seq > l.prev_seq AND m.seq < l.seq))::int, 0,
          'within an execution prev_seq always names the immediately preceding row');

-- an uncommitted row is never sealed, not even by seal() in its own transaction
BEGIN;
SELECT governance.record('ledger_test.own', '{}') AS own \gset
SELECT governance.seal() AS b_own \gset
SELECT is(pg_temp.sealed_in(:own), 0::bigint, 'seal() does not seal a row of its own open transaction');
SELECT ok((SELECT coalesce(max(last_seq), 0) < :own FROM governance.ledger_blocks),
          'no block reaches past a row whose transaction is open');
COMMIT;

------------------------------------------------------------------------------
-- seal() and the blocks
------------------------------------------------------------------------------
SELECT governance.seal() AS b1 \gset
SELECT is(:b1::bigint, (SELECT max(block_id) FROM governance.ledger_blocks), 'seal() returns the newest block id');
SELECT is((SELECT count(*) FROM unnest(ARRAY[:s0, :s1, :s2, :s3, :s4, :k1, :k2, :l1, :l2, :own]::bigint[]) s
            WHERE pg_temp.sealed_in(s) = 1)::int, 10,
          'after seal() every row of this test is sealed in exactly one block');
SELECT is((SELECT count(*) FROM governance.ledger l WHERE l.seq <= :own AND pg_temp.sealed_in(l.seq) <> 1)::int, 0,
          'every row committed before seal() was called is sealed, each in exactly one block');
SELECT is((SELECT count(*) FROM unnest(ARRAY[:g1, :g2]::bigint[]) g
            WHERE EXISTS (SELECT 1 FROM governance.ledger_blocks b
                           WHERE g BETWEEN b.first_seq AND b.last_seq AND pg_temp.in_gaps(b.gaps, g)))::int, 2,
          'both aborted seqs (transaction and savepoint) are listed as gaps of the block that covers them');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b, governance.ledger l
            WHERE l.seq BETWEEN b.first_seq AND b.last_seq AND pg_temp.in_gaps(b.gaps, l.seq))::int, 0,
          'no block lists a seq as a gap that has a row');
SELECT is((SELECT count(*) FROM (
             SELECT block_id, first_seq, lag(block_id) OVER w AS pb, lag(last_seq) OVER w AS pl
               FROM governance.ledger_blocks WINDOW w AS (ORDER BY block_id)) x
            WHERE (pb IS NULL AND (block_id <> 1 OR first_seq <> 1))
               OR (pb IS NOT NULL AND (block_id <> pb + 1 OR first_seq <> pl + 1)))::int, 0,
          'blocks are contiguous: block 1 starts at seq 1, each next block at the previous last_seq + 1');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b
            WHERE b.row_count <> (SELECT count(*) FROM governance.ledger l
                                   WHERE l.seq BETWEEN b.first_seq AND b.last_seq)
               OR b.row_count + (SELECT coalesce(sum(b.gaps[i + 1] - b.gaps[i] + 1), 0)
                                   FROM generate_subscripts(b.gaps, 1) i WHERE i % 2 = 1)
                  <> b.last_seq - b.first_seq + 1)::int, 0,
          'row_count counts the rows of the range, and rows plus gaps fill the range exactly');
SELECT is((SELECT count(*) FROM (
             SELECT total_rows, sum(row_count) OVER (ORDER BY block_id) AS running
               FROM governance.ledger_blocks) x WHERE total_rows <> running)::int, 0,
          'total_rows is the running total of row_count');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b
            WHERE cardinality(b.gaps) % 2 <> 0
               OR EXISTS (SELECT 1 FROM generate_subscripts(b.gaps, 1) i
                           WHERE i % 2 = 1
                             AND (b.gaps[i] > b.gaps[i + 1] OR b.gaps[i] < b.first_seq
                                  OR b.gaps[i + 1] >= b.last_seq
                                  OR (i > 1 AND b.gaps[i] <= b.gaps[i - 1] + 1))))::int, 0,
          'gaps are sorted, disjoint, non-adjacent (lo, hi) pairs inside the range, and a block ends on a row');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b WHERE b.merkle_root IS DISTINCT FROM pg_temp.block_root(b))::int, 0,
          'every Merkle root recomputes (RFC 6962 tree, tagged leaves and nodes, in SQL)');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b
            WHERE governance.block_bytes(b.block_id) IS DISTINCT FROM pg_temp.block_bytes(b)
               OR b.block_hash IS DISTINCT FROM governance.blake2b_512(pg_temp.block_bytes(b)))::int, 0,
          'block_bytes() is the documented encoding and block_hash is its BLAKE2b-512');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b LEFT JOIN governance.ledger_blocks p
                  ON p.block_id = b.block_id - 1
            WHERE (b.block_id = 1 AND b.prev_hash IS NOT NULL)
               OR (b.block_id > 1 AND b.prev_hash IS DISTINCT FROM p.block_hash))::int, 0,
          'each block names the previous block''s hash (block 1 none)');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b LEFT JOIN governance.signing_keys k USING (key_id)
            WHERE NOT coalesce(governance.ed25519_verify(b.signature,
                      pg_temp.cp_tag(b.version, b.log_id) || pg_temp.i64(b.block_id)
                      || pg_temp.field(b.block_hash) || pg_temp.i64(b.last_seq) || pg_temp.i64(b.total_rows)
                      || pg_temp.i64(pg_temp.micros(b.sealed_at)) || pg_temp.txt(b.key_id),
                      k.public_key), false))::int, 0,
          'every block''s signature verifies over its checkpoint bytes under the key it names');
SELECT ok((SELECT bool_and(governance.checkpoint_bytes(b.block_id) =
                  pg_temp.cp_tag(b.version, b.log_id) || pg_temp.i64(b.block_id)
                  || pg_temp.field(b.block_hash) || pg_temp.i64(b.last_seq) || pg_temp.i64(b.total_rows)
                  || pg_temp.i64(pg_temp.micros(b.sealed_at)) || pg_temp.txt(b.key_id))
             FROM governance.ledger_blocks b),
          'checkpoint_bytes() is the documented encoding');

SELECT governance.seal() AS b2 \gset
SELECT is(:b2::bigint, :b1::bigint, 'seal() with nothing new to seal makes no block and returns the newest id');

------------------------------------------------------------------------------
-- checkpoint() and verify_checkpoint()
------------------------------------------------------------------------------
SELECT governance.checkpoint() AS cp \gset
SELECT is((:'cp'::jsonb->>'block_id')::bigint, :b1::bigint, 'checkpoint() names the newest block');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'cp'::jsonb) k),
          ARRAY['block_hash', 'block_id', 'key_id', 'last_seq', 'log_id', 'sealed_at', 'sealed_at_us',
                'signature', 'total_rows', 'version'],
          'checkpoint() has exactly the documented fields');
SELECT is(:'cp'::jsonb->'version', '2'::jsonb, 'checkpoint version is 2');
SELECT is(:'cp'::jsonb->>'log_id', (SELECT replace(log_id::text, '-', '') FROM governance.log_identity),
          'checkpoint() names the log (governance.log_identity) in 32 hex digits');
SELECT ok((SELECT :'cp'::jsonb->>'block_hash' = encode(block_hash, 'hex')
              AND (:'cp'::jsonb->>'last_seq')::bigint = last_seq
              AND (:'cp'::jsonb->>'total_rows')::bigint = total_rows
              AND :'cp'::jsonb->>'key_id' = key_id
              AND :'cp'::jsonb->>'signature' = encode(signature, 'hex')
              AND (:'cp'::jsonb->>'sealed_at_us')::bigint = pg_temp.micros(sealed_at)
             FROM governance.ledger_blocks WHERE block_id = :b1),
          'checkpoint fields are those of the block (hex hashes, Unix microseconds)');
SELECT is(:'cp'::jsonb->>'sealed_at',
          (SELECT to_char(sealed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
             FROM governance.ledger_blocks WHERE block_id = :b1),
          'sealed_at is the same instant in ISO 8601 UTC');
SET TimeZone = 'America/St_Johns';
SELECT is(governance.checkpoint(), :'cp'::jsonb, 'checkpoint() does not depend on the session time zone');
RESET TimeZone;
SELECT ok(governance.ed25519_verify(decode(:'cp'::jsonb->>'signature', 'hex'), pg_temp.cp_bytes(:'cp'),
            (SELECT public_key FROM governance.signing_keys WHERE key_id = :'cp'::jsonb->>'key_id')),
          'the checkpoint''s signature verifies from its JSON alone');

SELECT ok((SELECT ok AND problem IS NULL FROM governance.verify_checkpoint(:'cp')),
          'verify_checkpoint() accepts a fresh checkpoint');
SELECT ok((SELECT ok FROM governance.verify_checkpoint(:'cp0')),
          'verify_checkpoint() accepts an older checkpoint');
SELECT is((SELECT problem FROM governance.verify_checkpoint(
             jsonb_set(:'cp', '{block_hash}', to_jsonb(pg_temp.flip_first(:'cp'::jsonb->>'block_hash'))))),
          'checkpoint signature does not verify', 'verify_checkpoint() refuses a flipped block_hash');
SELECT is((SELECT problem FROM governance.verify_checkpoint(
             jsonb_set(:'cp', '{signature}', to_jsonb(pg_temp.flip_last(:'cp'::jsonb->>'signature'))))),
          'checkpoint signature does not verify', 'verify_checkpoint() refuses a flipped signature');
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(
             jsonb_set(:'cp', '{last_seq}', to_jsonb((:'cp'::jsonb->>'last_seq')::bigint + 1)))),
          'verify_checkpoint() refuses an edited last_seq');
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(
             jsonb_set(:'cp', '{total_rows}', to_jsonb((:'cp'::jsonb->>'total_rows')::bigint + 1)))),
          'verify_checkpoint() refuses an edited total_rows');
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(
             jsonb_set(:'cp', '{sealed_at_us}', to_jsonb((:'cp'::jsonb->>'sealed_at_us')::bigint - 1)))),
          'verify_checkpoint() refuses an edited sealed_at_us');
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(
             jsonb_set(:'cp', '{block_id}', to_jsonb(:b0::bigint)))),
          'verify_checkpoint() refuses a checkpoint moved to another block');
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(
             jsonb_set(:'cp', '{sealed_at}', '"2001-01-01T00:00:00.000000Z"'))),
          'verify_checkpoint() refuses a checkpoint whose human sealed_at disagrees with the signed sealed_at_us');
-- FORMAT.md 7: version chooses the signed bytes, and a verifier must refuse any other than 1 and 2
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(jsonb_set(:'cp', '{version}', '3'))),
          'verify_checkpoint() refuses version 3');
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(jsonb_set(:'cp', '{version}', '1') - 'log_id')),
          'verify_checkpoint() refuses a version 2 checkpoint presented as version 1 (its signature covers the v2 bytes)');
SELECT ok((SELECT NOT ok FROM governance.verify_checkpoint(:'cp'::jsonb - 'version')),
          'verify_checkpoint() refuses a checkpoint without a version');
SELECT matches((SELECT problem FROM governance.verify_checkpoint(
                  jsonb_set(:'cp', '{key_id}', '"00000000deadbeef"'))),
               'unknown key 00000000deadbeef', 'verify_checkpoint() names an unknown key id');
SELECT is((SELECT count(*) FROM (VALUES
             (NULL::jsonb), ('{}'), ('[]'), ('17'), ('"checkpoint"'),
             (:'cp'::jsonb - 'signature'), (:'cp'::jsonb - 'block_hash'), (:'cp'::jsonb - 'key_id'),
             (:'cp'::jsonb - 'block_id'), (:'cp'::jsonb - 'last_seq'), (:'cp'::jsonb - 'total_rows'),
             (:'cp'::jsonb - 'sealed_at_us'),
             (jsonb_set(:'cp', '{block_id}', to_jsonb((:'cp'::jsonb->>'block_id')))),
             (jsonb_set(:'cp', '{block_id}', to_jsonb(:b1 + 0.5))),
             (jsonb_set(:'cp', '{block_id}', 'null')),
             (jsonb_set(:'cp', '{last_seq}', '1e400')),
             (jsonb_set(:'cp', '{block_hash}', to_jsonb(upper(repeat('g', 128))))),
             (jsonb_set(:'cp', '{block_hash}', to_jsonb(left(:'cp'::jsonb->>'block_hash', 126)))),
             (jsonb_set(:'cp', '{signature}', to_jsonb((:'cp'::jsonb->>'signature') || '00'))),
             (jsonb_set(:'cp', '{signature}', '""')),
             (jsonb_set(:'cp', '{key_id}', to_jsonb((:'cp'::jsonb->>'key_id') || '0')))
           ) t(c), LATERAL governance.verify_checkpoint(t.c) v
            WHERE v.ok OR v.problem IS NULL)::int, 0,
          'malformed checkpoints (missing, mistyped, non-hex or wrong-length fields, not an object) are refused with a reason');

------------------------------------------------------------------------------
-- verify_ledger()
------------------------------------------------------------------------------
SELECT ok((SELECT ok AND problem IS NULL AND first_bad_seq IS NULL FROM governance.verify_ledger()),
          'verify_ledger() is ok');
SELECT ok((SELECT blocks_checked = (SELECT count(*) FROM governance.ledger_blocks)
              AND rows_checked = (SELECT count(*) FROM governance.ledger)
             FROM governance.verify_ledger()),
          'verify_ledger() checks every block and every row');
SELECT ok((SELECT ok AND blocks_checked = :b1 FROM governance.verify_ledger(1, :b1)),
          'verify_ledger(1, newest) checks every block');
SELECT ok((SELECT v.ok AND v.blocks_checked = 1 AND v.rows_checked = b.row_count
             FROM governance.ledger_blocks b, governance.verify_ledger(b.block_id, b.block_id) v
            WHERE :s1 BETWEEN b.first_seq AND b.last_seq),
          'verify_ledger(b, b) checks exactly the rows of block b');
SELECT ok((SELECT bool_and(v.ok AND v.blocks_checked = 1 AND v.rows_checked = b.row_count)
             FROM governance.ledger_blocks b, governance.verify_ledger(b.block_id, b.block_id) v),
          'every block verifies on its own');
SELECT ok((SELECT ok AND blocks_checked = 0 FROM governance.verify_ledger(:b1 + 1)),
          'verify_ledger() from the block after the newest checks no block');
SELECT matches((SELECT problem FROM governance.verify_ledger(:b1 + 2)), '^missing block',
               'verify_ledger() from beyond the end names the missing block');
SELECT matches((SELECT problem FROM governance.verify_ledger(1, :b1 + 1)), '^missing block',
               'verify_ledger() up to a block that does not exist names it as missing');
SELECT throws_ok('SELECT * FROM governance.verify_ledger(0)', '22023', NULL,
                 'verify_ledger() refuses block 0');
SELECT throws_ok('SELECT * FROM governance.verify_ledger(2, 1)', '22023', NULL,
                 'verify_ledger() refuses an inverted range');

SELECT ok((SELECT ok AND blocks_checked = 0 FROM governance.verify_ledger(:'cp'::jsonb)),
          'verify_ledger(fresh checkpoint) is ok and has nothing after it to check');
SELECT ok((SELECT v.ok AND v.blocks_checked = :b1 - (:'cp0'::jsonb->>'block_id')::bigint
                 AND v.rows_checked = (SELECT count(*) FROM governance.ledger
                                        WHERE seq > (:'cp0'::jsonb->>'last_seq')::bigint)
             FROM governance.verify_ledger(:'cp0'::jsonb) v),
          'verify_ledger(older checkpoint) checks exactly the blocks and rows after it');
SELECT is((SELECT problem FROM governance.verify_ledger(
             jsonb_set(:'cp0', '{block_hash}', to_jsonb(pg_temp.flip_first(:'cp0'::jsonb->>'block_hash'))))),
          'checkpoint signature does not verify', 'verify_ledger(edited checkpoint) is not ok and says why');
SELECT ok((SELECT NOT ok AND problem IS NOT NULL FROM governance.verify_ledger(NULL::jsonb)),
          'verify_ledger(NULL checkpoint) is not ok');

------------------------------------------------------------------------------
-- Key rotation: ledgered, and old blocks still verify
------------------------------------------------------------------------------
SELECT governance.record('ledger_test.before_rotation', '{}') AS r0 \gset
SELECT governance.seal() AS b_pre \gset
SELECT governance.current_key_id() AS key_before \gset
SELECT governance.checkpoint() AS cp_pre \gset
SELECT governance.rotate_key() AS key_after \gset
SELECT governance.record('ledger_test.after_rotation', '{}') AS r1 \gset
SELECT governance.seal() AS b_post \gset
SELECT seq AS rot_seq FROM governance.ledger
 WHERE kind = 'governance.key.rotated' AND payload->>'to' = :'key_after' \gset

SELECT is((SELECT key_id FROM governance.ledger_blocks WHERE :r0 BETWEEN first_seq AND last_seq),
          :'key_before', 'the block sealed before the rotation is signed by the old key');
SELECT is((SELECT payload FROM governance.ledger WHERE seq = :rot_seq),
          jsonb_build_object('from', :'key_before', 'to', :'key_after'),
          'the rotation is ledgered as governance.key.rotated {from, to}');
SELECT ok(:r0 < :rot_seq AND :rot_seq < :r1, 'the rotation event lies between the rows before and after it');
SELECT is((SELECT array_agg(DISTINCT b.key_id) FROM governance.ledger_blocks b
            WHERE EXISTS (SELECT 1 FROM unnest(ARRAY[:rot_seq, :r1]::bigint[]) s
                           WHERE s BETWEEN b.first_seq AND b.last_seq)),
          ARRAY[:'key_after'], 'blocks sealed after the rotation committed are signed by the new key');
SELECT is(pg_temp.sealed_in(:rot_seq) + pg_temp.sealed_in(:r1), 2::bigint,
          'the rotation event and the next row are sealed');
SELECT ok((SELECT retired_at IS NOT NULL FROM governance.signing_keys WHERE key_id = :'key_before'),
          'the old key is retired');
SELECT ok((SELECT ok FROM governance.verify_ledger()), 'verify_ledger() is ok across the rotation');
SELECT ok((SELECT ok FROM governance.verify_checkpoint(:'cp_pre')),
          'a checkpoint signed by the retired key still verifies');
SELECT ok((SELECT ok FROM governance.verify_ledger(:'cp_pre'::jsonb)),
          'verify_ledger(checkpoint signed by the retired key) is ok');
SELECT ok((SELECT key_retired AND signature_ok AND hash_ok FROM governance.block_proof
            WHERE block_id = (SELECT block_id FROM governance.ledger_blocks
                               WHERE :r0 BETWEEN first_seq AND last_seq)),
          'block_proof shows the old block signed by a retired key, signature ok');

------------------------------------------------------------------------------
-- Bad input, privileges and events under a lease: one transaction, rolled
-- back at the end.  "No row written" counts the rows of this transaction
-- (txid is the top-level transaction id, savepoints included), which other
-- sessions cannot disturb.
------------------------------------------------------------------------------
BEGIN;
SELECT count(*) AS n0 FROM governance.ledger WHERE txid = pg_current_xact_id() \gset

SELECT throws_ok($$SELECT governance.record(NULL, '{}')$$, '22004', 'event kind must not be NULL',
                 'record(NULL kind) is refused');
SELECT throws_ok($$SELECT governance.record('ledger_test.bad', NULL)$$, '22004', 'event payload must not be NULL',
                 'record(NULL payload) is refused');
SELECT throws_ok($$SELECT governance.record('', '{}')$$, '22004', NULL, 'record(empty kind) is refused');
SELECT throws_ok($$SELECT governance.record('governance.key.rotated', '{}')$$, '42939', NULL,
                 'a reserved kind (governance.*) is refused');
SELECT throws_ok($$SELECT governance.record('governance.', '{}')$$, '22023', NULL,
                 'the bare reserved prefix is not even a kind (an empty last segment)');
SELECT throws_ok($$SELECT governance.record(repeat('k', 129), '{}')$$, '22001', NULL,
                 'a kind longer than 128 bytes is refused');
SELECT throws_ok($$SELECT governance.record(repeat('é', 65), '{}')$$, '22001', NULL,
                 'the kind limit counts bytes, not characters');
SELECT throws_ok($$SELECT governance.record('ledger_test.bad', jsonb_build_object('blob', repeat('x', 10 * 1024 * 1024)))$$,
                 '54000', NULL, 'a 10 MB payload is refused');
SET LOCAL governance.max_payload_size = '2kB';
SELECT throws_ok($$SELECT governance.record('ledger_test.bad', jsonb_build_object('blob', repeat('x', 4096)))$$,
                 '54000', NULL, 'governance.max_payload_size is honoured');
SET LOCAL governance.max_payload_size = '1MB';
SELECT throws_ok($$SELECT governance.record(convert_from('\xc328'::bytea, 'UTF8'), '{}')$$, '22021', NULL,
                 'a kind that is not valid UTF-8 is refused');
SELECT throws_ok($$SELECT governance.record('ledger_test.bad', convert_from('\x7b2261223a22ff227d'::bytea, 'UTF8')::jsonb)$$,
                 '22021', NULL, 'a payload that is not valid UTF-8 is refused');
SELECT throws_ok($$SELECT governance.record('ledger_test.bad', '"\ud800"')$$, '22P02', NULL,
                 'a payload with a lone surrogate is refused');
SELECT throws_ok($$SELECT governance.record('ledger_test.bad', '"\u0000"')$$, '22P05', NULL,
                 'a payload with \u0000 is refused');
SELECT is((SELECT count(*) FROM governance.ledger WHERE txid = pg_current_xact_id()), :n0::bigint,
          'refused appends wrote no row');

-- A payload nested 10000 deep parses as jsonb, but it cannot be verified
-- offline (Python's json module stops near depth 1000) and, a little
-- deeper, not even by verify_ledger() in SQL (stack depth exceeded).
SELECT throws_ok($$SELECT governance.record('ledger_test.deep', (repeat('[', 10000) || repeat(']', 10000))::jsonb)$$,
                 '54000', NULL, 'a payload nested 10000 deep is refused');

SELECT lives_ok($$SELECT governance.record(repeat('k', 128), '{}')$$, 'a kind of exactly 128 bytes is accepted');
SELECT lives_ok($$SELECT governance.record('ledger_test.nested', (repeat('{"a":', 50) || '1' || repeat('}', 50))::jsonb)$$,
                'a payload nested 50 deep is accepted');

-- privileges
CREATE ROLE ledger_t_agent LOGIN IN ROLE governance_agent;
CREATE ROLE ledger_t_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE ledger_t_admin LOGIN IN ROLE governance_admin;
CREATE ROLE ledger_t_nobody LOGIN;

SET LOCAL ROLE ledger_t_admin;
SELECT lives_ok($$SELECT governance.record('ledger_test.admin', '{}')$$,
                'an administrator can record() outside any lease');
RESET ROLE;

SET LOCAL ROLE ledger_t_agent;
SELECT throws_ok($$SELECT governance.record('ledger_test.agent', '{}')$$, '42501', 'record() needs a live attached lease',
                 'an agent cannot record() outside an attached lease');
SELECT throws_ok('SELECT count(*) FROM governance.ledger', '42501', NULL, 'an agent cannot read the ledger');
SELECT throws_ok('SELECT count(*) FROM governance.ledger_blocks', '42501', NULL, 'an agent cannot read the blocks');
SELECT throws_ok('SELECT governance.seal()', '42501', NULL, 'an agent cannot seal()');
SELECT throws_ok('SELECT governance.event_bytes(1)', '42501', NULL, 'an agent cannot read event bytes');
SELECT throws_ok('SELECT * FROM governance.verify_ledger()', '42501', NULL, 'an agent cannot run verify_ledger()');
SELECT throws_ok('SELECT governance.checkpoint()', '42501', NULL, 'an agent cannot read checkpoints');
SELECT throws_ok('SELECT count(*) FROM governance.ledger_proof', '42501', NULL, 'an agent cannot read ledger_proof');
SELECT throws_ok($$SET governance.max_payload_size = '64MB'$$, '42501', NULL,
                 'an agent cannot raise governance.max_payload_size');
RESET ROLE;

SET LOCAL ROLE ledger_t_auditor;
SELECT lives_ok('SELECT count(*) FROM governance.ledger', 'an auditor can read the ledger');
SELECT lives_ok('SELECT count(*) FROM governance.ledger_blocks', 'an auditor can read the blocks');
SELECT pg_temp.check('SELECT ok FROM governance.verify_ledger()', 'an auditor can run verify_ledger()');
SELECT pg_temp.check('SELECT ok FROM governance.verify_checkpoint(governance.checkpoint())',
                     'an auditor can read and verify a checkpoint');
SELECT pg_temp.check('SELECT bool_and(hash_ok AND prev_ok AND signature_ok) FROM governance.block_proof',
                     'an auditor can read block_proof');
SELECT lives_ok($$SELECT governance.event_bytes(min(seq)) FROM governance.ledger$$, 'an auditor can read event bytes');
SELECT lives_ok('SELECT count(*) FROM governance.ledger_proof', 'an auditor can read ledger_proof');
SELECT throws_ok($$SELECT governance.record('ledger_test.auditor', '{}')$$, '42501', NULL,
                 'an auditor cannot record()');
SELECT throws_ok('SELECT governance.seal()', '42501', NULL, 'an auditor cannot seal()');
SELECT throws_ok($$SELECT governance.restore_trust('because')$$, '42501', NULL,
                 'an auditor cannot restore trust');
RESET ROLE;

SET LOCAL ROLE ledger_t_nobody;
SELECT throws_ok($$SELECT governance.record('ledger_test.nobody', '{}')$$, '42501', NULL,
                 'a role outside the governance roles cannot record()');
RESET ROLE;

-- actor is the session user: SET ROLE does not change it (see l1 above), a
-- new session authorization does
SET SESSION AUTHORIZATION ledger_t_bot;
SELECT governance.attach(:'artifact') IS NOT NULL AS attached \gset
SELECT governance.record('ledger_test.actor', '{}') AS session_seq \gset
SELECT throws_ok($$SELECT governance.record('governance.trust.restored', '{}')$$, '42939', NULL,
                 'an agent under a lease still cannot forge a governance.* event');
SELECT governance.detach() AS detached \gset
SELECT throws_ok($$SELECT governance.record('ledger_test.leased', '{}')$$, '42501', NULL,
                 'after detach() the agent cannot record() again');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT actor FROM governance.ledger WHERE seq = :session_seq), 'ledger_t_bot',
          'the actor is the session user who appended');
SELECT is((SELECT prev_seq FROM governance.ledger WHERE seq = :session_seq), :l2::bigint,
          'a later attachment of the same lease continues its chain');

SELECT * FROM finish();
ROLLBACK;

-- clean up the committed lease and policy (the role stays, as roles do)
SELECT governance.revoke(:'lease_id', 'ledger API test done') >= 0 AS revoked \gset
SELECT governance.drop_policy('ledger_t_policy') IS NOT NULL AS dropped \gset
