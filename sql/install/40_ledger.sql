------------------------------------------------------------------------------
-- The ledger (D4, D5): append-only, hash-chained, sealed into signed blocks
------------------------------------------------------------------------------

-- CACHE 1 matters: seqs must be handed out in increasing order across
-- backends for the sealing horizon to hold (src/ledger.c).
CREATE SEQUENCE governance.ledger_seq CACHE 1 NO CYCLE;

CREATE TABLE governance.ledger (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    kind        text NOT NULL,
    lease_id    uuid,
    principal   text,
    action      text,
    resource    text,
    payload     jsonb NOT NULL,
    actor       text NOT NULL,
    txid        xid8 NOT NULL,
    prev_seq    bigint,
    evidence    bytea NOT NULL,
    link        bytea NOT NULL
);
CREATE INDEX ledger_lease_idx ON governance.ledger (lease_id, seq) WHERE lease_id IS NOT NULL;
COMMENT ON TABLE governance.ledger IS
    'Append-only record of every decision and governed write; see docs/FORMAT.md';
COMMENT ON COLUMN governance.ledger.evidence IS 'SHA3-512 of event_bytes(seq)';
COMMENT ON COLUMN governance.ledger.link IS
    'BLAKE2b-512 chain link over the link of prev_seq and this row''s evidence';
COMMENT ON COLUMN governance.ledger.prev_seq IS
    'previous event of the same execution (for a delegated execution''s first event: its parent''s)';

CREATE TABLE governance.ledger_blocks (
    block_id    bigint PRIMARY KEY,
    first_seq   bigint NOT NULL,
    last_seq    bigint NOT NULL,
    row_count   bigint NOT NULL,
    total_rows  bigint NOT NULL,
    gaps        bigint[] NOT NULL,
    merkle_root bytea NOT NULL,
    prev_hash   bytea,
    sealed_at   timestamptz NOT NULL,
    key_id      text NOT NULL,
    block_hash  bytea NOT NULL,
    signature   bytea NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    log_id      uuid,
    lineage_root bytea
);
COMMENT ON TABLE governance.ledger_blocks IS
    'Signed Merkle blocks over contiguous seq ranges; each signature is a checkpoint';
COMMENT ON COLUMN governance.ledger_blocks.version IS
    'block format: 1 (no log id, no lineage map) or 2 (docs/FORMAT.md section 6)';
COMMENT ON COLUMN governance.ledger_blocks.log_id IS
    'version 2: the log the block belongs to (governance.log_identity), in its signed bytes';
COMMENT ON COLUMN governance.ledger_blocks.lineage_root IS
    'version 2: Merkle root of the lineage map, lease id -> (last seq, link) of each execution with rows in the block';
COMMENT ON COLUMN governance.ledger_blocks.gaps IS
    'seqs in the range that belong to aborted transactions, as inclusive (lo, hi) pairs';

CREATE FUNCTION governance._ledger_guard()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_ledger_guard';

CREATE TRIGGER ledger_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON governance.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER blocks_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger_blocks
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER blocks_no_truncate BEFORE TRUNCATE ON governance.ledger_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
-- ALWAYS: session_replication_role = replica must not switch them off
ALTER TABLE governance.ledger ENABLE ALWAYS TRIGGER ledger_append_only;
ALTER TABLE governance.ledger ENABLE ALWAYS TRIGGER ledger_no_truncate;
ALTER TABLE governance.ledger_blocks ENABLE ALWAYS TRIGGER blocks_append_only;
ALTER TABLE governance.ledger_blocks ENABLE ALWAYS TRIGGER blocks_no_truncate;

REVOKE ALL ON governance.ledger, governance.ledger_blocks, governance.ledger_seq FROM PUBLIC;
GRANT SELECT ON governance.ledger, governance.ledger_blocks TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.ledger', '');
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_blocks', '');

-- Not SECURITY DEFINER: the C code writes the row itself (no SQL, no
-- privilege checks), so the caller's rights do not matter and the call
-- stays cheap.
CREATE FUNCTION governance.record(kind text, payload jsonb)
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_record';
COMMENT ON FUNCTION governance.record(text, jsonb) IS
    'Append an application event (tool call, intent, outcome); returns its seq';

CREATE FUNCTION governance.event_bytes(seq bigint)
RETURNS bytea
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'gov_sql_event_bytes';
COMMENT ON FUNCTION governance.event_bytes(bigint) IS
    'The exact bytes whose SHA3-512 is the row''s evidence hash, from the row as stored';

CREATE FUNCTION governance.chain_link(prev_link bytea, evidence bytea)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_chain_link';
COMMENT ON FUNCTION governance.chain_link(bytea, bytea) IS
    'The chain link rule: BLAKE2b-512 over the previous link (NULL for none) and the evidence';

CREATE FUNCTION governance.canonical_json(jsonb)
RETURNS text
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_canonical_json';
COMMENT ON FUNCTION governance.canonical_json(jsonb) IS
    'The canonical JSON text hashed for a payload (docs/FORMAT.md)';

CREATE FUNCTION governance.block_bytes(block_id bigint)
RETURNS bytea
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'gov_sql_block_bytes';
COMMENT ON FUNCTION governance.block_bytes(bigint) IS
    'The exact bytes whose BLAKE2b-512 is the block hash';

CREATE FUNCTION governance.checkpoint_bytes(block_id bigint)
RETURNS bytea
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'gov_sql_checkpoint_bytes';
COMMENT ON FUNCTION governance.checkpoint_bytes(bigint) IS
    'The exact bytes the block''s Ed25519 signature covers';

CREATE FUNCTION governance.seal()
RETURNS bigint
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_seal';
COMMENT ON FUNCTION governance.seal() IS
    'Seal every committed row now (waits for older transactions); returns the newest block id';

CREATE FUNCTION governance.checkpoint()
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_checkpoint';
COMMENT ON FUNCTION governance.checkpoint() IS
    'The latest signed checkpoint; keep it outside the database';

CREATE FUNCTION governance.verify_checkpoint(checkpoint jsonb, OUT ok boolean, OUT problem text)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_verify_checkpoint';
COMMENT ON FUNCTION governance.verify_checkpoint(jsonb) IS
    'Checks a checkpoint''s signature and that the ledger still holds its block unchanged';

CREATE FUNCTION governance.verify_ledger(from_block bigint DEFAULT 1, to_block bigint DEFAULT NULL,
    OUT ok boolean, OUT rows_checked bigint, OUT blocks_checked bigint,
    OUT first_bad_seq bigint, OUT problem text)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_verify_ledger';
COMMENT ON FUNCTION governance.verify_ledger(bigint, bigint) IS
    'Recompute every row hash, chain link, Merkle root, block hash and signature in a block range';

CREATE FUNCTION governance.verify_ledger(checkpoint jsonb,
    OUT ok boolean, OUT rows_checked bigint, OUT blocks_checked bigint,
    OUT first_bad_seq bigint, OUT problem text)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_verify_ledger_from_checkpoint';
COMMENT ON FUNCTION governance.verify_ledger(jsonb) IS
    'Check a checkpoint kept outside, then verify everything sealed after it';

CREATE FUNCTION governance.restore_trust(reason text)
RETURNS text
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_restore_trust';
COMMENT ON FUNCTION governance.restore_trust(text) IS
    'Administrator''s ledgered statement that a latched trust failure was dealt with';

-- Proof views for auditors
CREATE VIEW governance.ledger_proof AS
SELECT l.seq, l.at, l.kind, l.lease_id, l.prev_seq, b.block_id,
       governance.sha3_512(governance.event_bytes(l.seq)) OPERATOR(pg_catalog.=) l.evidence AS evidence_ok,
       (l.prev_seq IS NULL OR p.seq IS NOT NULL)
         AND governance.chain_link(p.link, l.evidence) OPERATOR(pg_catalog.=) l.link AS link_ok,
       CASE
         WHEN governance.sha3_512(governance.event_bytes(l.seq)) OPERATOR(pg_catalog.<>) l.evidence THEN 'modified'
         WHEN l.prev_seq IS NOT NULL AND p.seq IS NULL THEN 'broken chain: previous event missing'
         WHEN governance.chain_link(p.link, l.evidence) OPERATOR(pg_catalog.<>) l.link THEN 'broken chain'
         WHEN b.block_id IS NULL THEN 'unsealed'
         WHEN EXISTS (SELECT 1 FROM pg_catalog.generate_subscripts(b.gaps, 1) i
                       WHERE i OPERATOR(pg_catalog.%) 2 OPERATOR(pg_catalog.=) 1
                         AND l.seq OPERATOR(pg_catalog.>=) b.gaps[i]
                         AND l.seq OPERATOR(pg_catalog.<=) b.gaps[i OPERATOR(pg_catalog.+) 1])
           THEN 'extra row: its block sealed this seq as aborted'
         ELSE 'sealed'
       END AS status
  FROM governance.ledger l
  LEFT JOIN governance.ledger p ON p.seq OPERATOR(pg_catalog.=) l.prev_seq
  LEFT JOIN governance.ledger_blocks b
         ON l.seq OPERATOR(pg_catalog.>=) b.first_seq AND l.seq OPERATOR(pg_catalog.<=) b.last_seq;
COMMENT ON VIEW governance.ledger_proof IS
    'Each ledger row with its block and whether its evidence hash and chain link recompute';

CREATE VIEW governance.block_proof AS
SELECT b.block_id, b.first_seq, b.last_seq, b.row_count, b.sealed_at, b.key_id,
       k.retired_at IS NOT NULL AS key_retired,
       governance.blake2b_512(governance.block_bytes(b.block_id)) OPERATOR(pg_catalog.=) b.block_hash AS hash_ok,
       coalesce((b.prev_hash IS NULL AND b.block_id OPERATOR(pg_catalog.=) 1)
         OR b.prev_hash OPERATOR(pg_catalog.=) pb.block_hash, false) AS prev_ok,
       coalesce(governance.ed25519_verify(b.signature, governance.checkpoint_bytes(b.block_id), k.public_key), false)
         AS signature_ok
  FROM governance.ledger_blocks b
  LEFT JOIN governance.ledger_blocks pb ON pb.block_id OPERATOR(pg_catalog.=) (b.block_id OPERATOR(pg_catalog.-) 1)
  LEFT JOIN governance.signing_keys k ON k.key_id OPERATOR(pg_catalog.=) b.key_id;
COMMENT ON VIEW governance.block_proof IS
    'Each block with whether its hash, link to the previous block and signature verify (the Merkle root is checked by verify_ledger)';

GRANT EXECUTE ON FUNCTION governance.restore_trust(text) TO governance_admin;
GRANT EXECUTE ON FUNCTION governance.record(text, jsonb) TO governance_admin, governance_agent;
GRANT EXECUTE ON FUNCTION governance.seal() TO governance_admin;

-- evidence and its verification are for auditors (and administrators)
GRANT EXECUTE ON FUNCTION
    governance.event_bytes(bigint),
    governance.chain_link(bytea, bytea),
    governance.canonical_json(jsonb),
    governance.block_bytes(bigint),
    governance.checkpoint_bytes(bigint),
    governance.checkpoint(),
    governance.verify_checkpoint(jsonb),
    governance.verify_ledger(bigint, bigint),
    governance.verify_ledger(jsonb)
TO governance_admin, governance_auditor;
GRANT SELECT ON governance.ledger_proof, governance.block_proof TO governance_admin, governance_auditor;
