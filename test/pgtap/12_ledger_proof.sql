-- The auditor's proof views (issue 3 item 7): ledger_proof shows each row
-- with its block and verification status, block_proof each block with its
-- hash, chain and signature status.  Sealed rows and blocks show as ok; an
-- open row shows as unsealed; and, so that the views are known to be able
-- to say anything else, rows and a block planted by a superuser (with
-- governance.allow_restore, inside a transaction that is rolled back) show
-- as what they are.
\ir lib/fixture.sql

CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(b)) || b END
$$;
CREATE FUNCTION pg_temp.txt(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.field(convert_to(t, 'UTF8'))
$$;
CREATE FUNCTION pg_temp.i64(v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.field(int8send(v))
$$;
-- event bytes of a row value, by docs/FORMAT.md section 5
CREATE FUNCTION pg_temp.event_bytes(l governance.ledger) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT pg_temp.txt('governance.v1.event') || pg_temp.i64(l.seq)
        || pg_temp.i64((extract(epoch FROM l.at) * 1000000)::bigint)
        || pg_temp.txt(l.kind) || pg_temp.field(uuid_send(l.lease_id)) || pg_temp.txt(l.principal)
        || pg_temp.txt(l.action) || pg_temp.txt(l.resource)
        || pg_temp.txt(governance.canonical_json(l.payload)) || pg_temp.txt(l.actor)
        || pg_temp.i64(l.txid::text::bigint) || pg_temp.field(int8send(l.prev_seq))
$$;
-- a self-consistent row (right evidence and link) for a given seq
CREATE FUNCTION pg_temp.forge(s bigint, k text) RETURNS governance.ledger LANGUAGE plpgsql STABLE AS $$
DECLARE
    r governance.ledger;
BEGIN
    r := ROW(s, now(), k, NULL, NULL, NULL, NULL, '{"forged": true}'::jsonb, session_user,
             '1'::xid8, NULL, NULL, NULL)::governance.ledger;
    r.evidence := governance.sha3_512(pg_temp.event_bytes(r));
    r.link := governance.chain_link(NULL, r.evidence);
    RETURN r;
END
$$;

-- committed rows with two aborted seqs between them, sealed
SELECT governance.record('ledger_test.proof', '{"step": 1}') AS p1 \gset
BEGIN;
SELECT governance.record('ledger_test.proof_aborted', '{}') AS a1 \gset
ROLLBACK;
BEGIN;
SELECT governance.record('ledger_test.proof_aborted', '{}') AS a2 \gset
ROLLBACK;
SELECT governance.record('ledger_test.proof', '{"step": 2}') AS p2 \gset
SELECT governance.seal() AS pb \gset
SELECT block_id AS p_block FROM governance.ledger_blocks WHERE :p2 BETWEEN first_seq AND last_seq \gset

BEGIN;
SELECT plan(21);

------------------------------------------------------------------------------
-- Sealed rows and blocks show as ok
------------------------------------------------------------------------------
SELECT results_eq(
    format('SELECT seq, block_id, evidence_ok, link_ok, status FROM governance.ledger_proof
             WHERE seq IN (%s, %s) ORDER BY seq', :p1, :p2),
    format('SELECT l.seq, b.block_id, true, true, %L FROM governance.ledger l
              JOIN governance.ledger_blocks b ON l.seq BETWEEN b.first_seq AND b.last_seq
             WHERE l.seq IN (%s, %s) ORDER BY l.seq', 'sealed', :p1, :p2),
    'ledger_proof shows sealed rows with their block, evidence ok, link ok, status sealed');
SELECT is((SELECT count(*) FROM governance.ledger_proof p
            WHERE p.seq <= (SELECT max(last_seq) FROM governance.ledger_blocks)
              AND (p.block_id IS NOT NULL AND p.evidence_ok AND p.link_ok AND p.status = 'sealed') IS NOT TRUE)::int, 0,
          'every row up to the newest block is sealed and verifies in ledger_proof');
SELECT is((SELECT count(*) FROM governance.ledger_proof)::bigint, (SELECT count(*) FROM governance.ledger),
          'ledger_proof has one line per ledger row');
SELECT is((SELECT count(*) FROM governance.ledger_proof WHERE seq IN (:a1, :a2))::int, 0,
          'aborted seqs have no line in ledger_proof');
SELECT ok((SELECT hash_ok AND prev_ok AND signature_ok FROM governance.block_proof WHERE block_id = :p_block),
          'block_proof shows the block sealing these rows as ok');
SELECT is((SELECT count(*) FROM governance.block_proof WHERE (hash_ok AND prev_ok AND signature_ok) IS NOT TRUE)::int, 0,
          'every block verifies in block_proof');
SELECT is((SELECT count(*) FROM governance.block_proof)::bigint, (SELECT count(*) FROM governance.ledger_blocks),
          'block_proof has one line per block');
SELECT is((SELECT count(*) FROM governance.block_proof p JOIN governance.signing_keys k USING (key_id)
            WHERE p.key_retired <> (k.retired_at IS NOT NULL))::int, 0,
          'block_proof.key_retired says whether the signing key has been retired');
SELECT results_eq(
    format('SELECT first_seq, last_seq, row_count, sealed_at, key_id FROM governance.block_proof WHERE block_id = %s', :p_block),
    format('SELECT first_seq, last_seq, row_count, sealed_at, key_id FROM governance.ledger_blocks WHERE block_id = %s', :p_block),
    'block_proof repeats the block''s range, row count, time and key');

------------------------------------------------------------------------------
-- An open row shows as unsealed
------------------------------------------------------------------------------
SELECT governance.record('ledger_test.proof_open', '{}') AS open_seq \gset
SELECT results_eq(
    format('SELECT block_id, evidence_ok, link_ok, status FROM governance.ledger_proof WHERE seq = %s', :open_seq),
    $$VALUES (NULL::bigint, true, true, 'unsealed')$$,
    'a row of an open transaction shows as unsealed, its hashes ok');

------------------------------------------------------------------------------
-- Who may read the views
------------------------------------------------------------------------------
CREATE ROLE ledger_t_auditor2 LOGIN IN ROLE governance_auditor;
CREATE ROLE ledger_t_agent2 LOGIN IN ROLE governance_agent;
SET LOCAL ROLE ledger_t_auditor2;
SELECT lives_ok('SELECT count(*) FROM governance.ledger_proof', 'an auditor can read ledger_proof');
SELECT lives_ok('SELECT count(*) FROM governance.block_proof', 'an auditor can read block_proof');
RESET ROLE;
SET LOCAL ROLE ledger_t_agent2;
SELECT throws_ok('SELECT count(*) FROM governance.block_proof', '42501', NULL, 'an agent cannot read block_proof');
RESET ROLE;

------------------------------------------------------------------------------
-- Planted rows and a planted block show as what they are
------------------------------------------------------------------------------
SET LOCAL governance.allow_restore = on;

-- a row planted in the first aborted seq, with an evidence hash that does not match
INSERT INTO governance.ledger
SELECT (f).seq, (f).at, (f).kind, (f).lease_id, (f).principal, (f).action, (f).resource, (f).payload,
       (f).actor, (f).txid, (f).prev_seq, governance.sha3_512('not these bytes'), (f).link
  FROM (SELECT pg_temp.forge(:a1, 'ledger_test.planted') AS f) x;
SELECT results_eq(
    format('SELECT evidence_ok, status FROM governance.ledger_proof WHERE seq = %s', :a1),
    $$VALUES (false, 'modified')$$,
    'a row whose evidence does not match its contents shows as modified');

-- a self-consistent row planted in the second aborted seq: its hashes
-- recompute, but its block sealed that seq as aborted, so it is in no
-- Merkle root: it is not sealed
INSERT INTO governance.ledger SELECT (pg_temp.forge(:a2, 'ledger_test.planted')).*;
SELECT ok((SELECT evidence_ok AND link_ok FROM governance.ledger_proof WHERE seq = :a2),
          'set-up: the planted row''s own hashes recompute');
SELECT isnt((SELECT status FROM governance.ledger_proof WHERE seq = :a2), 'sealed',
            'a row planted in a seq its block recorded as aborted does not show as sealed');
SELECT ok((SELECT NOT ok AND first_bad_seq IN (:a1, :a2) AND problem LIKE 'extra row%'
             FROM governance.verify_ledger()),
          'verify_ledger() names the planted row as an extra row');

-- a planted block: copied from a real one, one count changed
INSERT INTO governance.ledger_blocks
SELECT block_id + 1000000, first_seq, last_seq, row_count + 1, total_rows + 1, gaps, merkle_root,
       prev_hash, sealed_at, key_id, block_hash, signature
  FROM governance.ledger_blocks WHERE block_id = :p_block;
SELECT results_eq(
    format('SELECT hash_ok, signature_ok FROM governance.block_proof WHERE block_id = %s', :p_block + 1000000),
    $$VALUES (false, false)$$,
    'a block whose contents do not match its hash shows hash and signature as not ok');
-- It has no predecessor either.  A NULL here would hide it from an
-- auditor's WHERE NOT prev_ok (and from NOT (hash_ok AND prev_ok AND
-- signature_ok) once hash and signature are fine, as for a block whose
-- predecessor was deleted): fail closed means false.
SELECT is((SELECT prev_ok FROM governance.block_proof WHERE block_id = :p_block + 1000000), false,
          'a block whose previous block is missing shows prev_ok false, not NULL');
SELECT ok((SELECT hash_ok AND prev_ok AND signature_ok FROM governance.block_proof WHERE block_id = :p_block),
          'the real block still shows as ok');

-- a planted block signed by a key the ledger does not know
INSERT INTO governance.ledger_blocks
SELECT block_id + 2000000, first_seq, last_seq, row_count, total_rows, gaps, merkle_root,
       prev_hash, sealed_at, '00000000deadbeef', block_hash, signature
  FROM governance.ledger_blocks WHERE block_id = :p_block;
SELECT is((SELECT signature_ok FROM governance.block_proof WHERE block_id = :p_block + 2000000), false,
          'a block naming an unknown key shows its signature as not ok');
SET LOCAL governance.allow_restore = off;

SELECT * FROM finish();
ROLLBACK;
