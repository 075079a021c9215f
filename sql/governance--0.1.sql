/* governance--0.1.sql */

\echo Use "CREATE EXTENSION governance" to load this file. \quit

-- Canonical encodings are defined over UTF-8 (docs/FORMAT.md).
DO $$
BEGIN
    IF pg_catalog.current_setting('server_encoding') OPERATOR(pg_catalog.<>) 'UTF8' THEN
        RAISE EXCEPTION 'governance requires a UTF8 database, not %',
            pg_catalog.current_setting('server_encoding')
            USING ERRCODE = 'feature_not_supported';
    END IF;
END
$$;

CREATE SCHEMA governance;
REVOKE ALL ON SCHEMA governance FROM PUBLIC;

-- Roles are cluster-wide: create them once, keep them across DROP EXTENSION.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['governance_admin', 'governance_agent', 'governance_auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA governance TO governance_admin, governance_agent, governance_auditor;

------------------------------------------------------------------------------
-- Crypto primitives (D2)
------------------------------------------------------------------------------

CREATE FUNCTION governance.sha3_512(bytea)
RETURNS bytea
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_sha3_512';
COMMENT ON FUNCTION governance.sha3_512(bytea) IS
    'SHA3-512 (FIPS 202) of the input, 64 bytes';

CREATE FUNCTION governance.blake2b_512(bytea)
RETURNS bytea
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_blake2b_512';
COMMENT ON FUNCTION governance.blake2b_512(bytea) IS
    'BLAKE2b-512 (RFC 7693, unkeyed) of the input, 64 bytes';

-- Not strict: a NULL argument gives false, never NULL.
CREATE FUNCTION governance.ed25519_verify(signature bytea, message bytea, public_key bytea)
RETURNS boolean
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_ed25519_verify';
COMMENT ON FUNCTION governance.ed25519_verify(bytea, bytea, bytea) IS
    'true when signature is a valid Ed25519 signature of message under public_key';

------------------------------------------------------------------------------
-- Server signing key (D3)
------------------------------------------------------------------------------

CREATE TABLE governance.signing_keys (
    key_id          text PRIMARY KEY,
    public_key      bytea NOT NULL CHECK (pg_catalog.length(public_key) OPERATOR(pg_catalog.=) 32),
    created_at      timestamptz NOT NULL,
    retired_at      timestamptz,
    self_signature  bytea NOT NULL,
    endorsed_by     text REFERENCES governance.signing_keys (key_id),
    endorsement     bytea,
    CHECK ((endorsed_by IS NULL) OPERATOR(pg_catalog.=) (endorsement IS NULL))
);
CREATE UNIQUE INDEX signing_keys_one_current
    ON governance.signing_keys ((true)) WHERE retired_at IS NULL;
COMMENT ON TABLE governance.signing_keys IS
    'Every public key the server has signed with; retired keys stay so old signatures verify';
REVOKE ALL ON governance.signing_keys FROM PUBLIC;
GRANT SELECT ON governance.signing_keys TO governance_admin, governance_agent, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.signing_keys', '');

CREATE FUNCTION governance.public_key()
RETURNS bytea
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'gov_sql_public_key';
COMMENT ON FUNCTION governance.public_key() IS
    'The current Ed25519 public key of the server (32 bytes)';

CREATE FUNCTION governance.current_key_id()
RETURNS text
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'gov_sql_current_key_id';
COMMENT ON FUNCTION governance.current_key_id() IS
    'Key id of the current signing key, NULL when no key is available';

CREATE FUNCTION governance.rotate_key()
RETURNS text
LANGUAGE C STRICT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_rotate_key';
COMMENT ON FUNCTION governance.rotate_key() IS
    'Make a new signing key current (endorsed by the old one); returns its key id';

CREATE FUNCTION governance._sync_signing_key()
RETURNS void
LANGUAGE C STRICT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_sync_signing_key';

------------------------------------------------------------------------------
-- Trust and workers (D7, D8)
------------------------------------------------------------------------------

CREATE FUNCTION governance.trust_state()
RETURNS text
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_trust_state';
COMMENT ON FUNCTION governance.trust_state() IS
    '''trusted'', or ''degraded: <why>'' when any precondition for authorization is missing';

CREATE FUNCTION governance.worker_status(
    OUT name text, OUT pid integer, OUT state text,
    OUT started_at timestamptz, OUT last_beat timestamptz,
    OUT loops bigint, OUT starts integer)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_worker_status';

CREATE VIEW governance.workers AS
    SELECT * FROM governance.worker_status();
COMMENT ON VIEW governance.workers IS
    'Liveness of the enforcer, sealer and verifier background workers';

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
    signature   bytea NOT NULL
);
COMMENT ON TABLE governance.ledger_blocks IS
    'Signed Merkle blocks over contiguous seq ranges; each signature is a checkpoint';
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

CREATE FUNCTION governance.record(kind text, payload jsonb)
RETURNS bigint
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
       (b.prev_hash IS NULL AND b.block_id OPERATOR(pg_catalog.=) 1)
         OR b.prev_hash OPERATOR(pg_catalog.=) pb.block_hash AS prev_ok,
       coalesce(governance.ed25519_verify(b.signature, governance.checkpoint_bytes(b.block_id), k.public_key), false)
         AS signature_ok
  FROM governance.ledger_blocks b
  LEFT JOIN governance.ledger_blocks pb ON pb.block_id OPERATOR(pg_catalog.=) (b.block_id OPERATOR(pg_catalog.-) 1)
  LEFT JOIN governance.signing_keys k ON k.key_id OPERATOR(pg_catalog.=) b.key_id;
COMMENT ON VIEW governance.block_proof IS
    'Each block with whether its hash, link to the previous block and signature verify (the Merkle root is checked by verify_ledger)';

------------------------------------------------------------------------------
-- DDL guard (D4): ledger objects cannot be altered or dropped
------------------------------------------------------------------------------

CREATE FUNCTION governance._ddl_guard_start()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_ddl_guard_start';

CREATE FUNCTION governance._is_ledger_object(classid oid, objid oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH guarded(relid) AS (
        SELECT c.oid FROM pg_class c
         WHERE c.relnamespace = 'governance'::regnamespace
           AND c.relname IN ('ledger', 'ledger_blocks', 'ledger_seq')
    )
    SELECT CASE classid
        WHEN 'pg_class'::regclass THEN
            objid IN (SELECT relid FROM guarded)
            OR objid IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid IN (SELECT relid FROM guarded))
            OR objid IN (SELECT c.reltoastrelid FROM pg_class c WHERE c.oid IN (SELECT relid FROM guarded))
        WHEN 'pg_trigger'::regclass THEN
            EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = objid AND t.tgrelid IN (SELECT relid FROM guarded))
        WHEN 'pg_rewrite'::regclass THEN
            EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.oid = objid AND r.ev_class IN (SELECT relid FROM guarded))
        WHEN 'pg_policy'::regclass THEN
            EXISTS (SELECT 1 FROM pg_policy p WHERE p.oid = objid AND p.polrelid IN (SELECT relid FROM guarded))
        WHEN 'pg_constraint'::regclass THEN
            EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = objid AND c.conrelid IN (SELECT relid FROM guarded))
        ELSE false
    END
$$;

-- SECURITY DEFINER: it fires for every role's DDL and reads only catalogs
CREATE FUNCTION governance._ddl_guard_end()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        CONTINUE WHEN r.in_extension;
        IF governance._is_ledger_object(r.classid, r.objid) THEN
            RAISE EXCEPTION 'governance ledger objects cannot be altered (% on %)',
                    r.command_tag, r.object_identity
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'The ledger and its blocks are append-only evidence.';
        END IF;
    END LOOP;
END
$$;

-- SECURITY DEFINER: it fires for every role's DDL and reads only catalogs
CREATE FUNCTION governance._ddl_guard_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    IF current_setting('governance.allow_drop', true) = 'on' THEN
        RETURN;
    END IF;
    FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF r.schema_name = 'governance'
           AND (r.object_name IN ('ledger', 'ledger_blocks', 'ledger_seq', 'ledger_pkey',
                                  'ledger_lease_idx', 'ledger_blocks_pkey')
                OR r.object_identity LIKE '% on governance.ledger'
                OR r.object_identity LIKE '% on governance.ledger_blocks'
                OR r.object_identity LIKE 'governance.ledger.%'
                OR r.object_identity LIKE 'governance.ledger_blocks.%') THEN
            RAISE EXCEPTION 'governance ledger objects cannot be dropped (%)', r.object_identity
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'A superuser who means it can SET governance.allow_drop = on first.';
        END IF;
    END LOOP;
END
$$;

CREATE EVENT TRIGGER governance_guard_start ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION governance._ddl_guard_start();
CREATE EVENT TRIGGER governance_guard_end ON ddl_command_end
    EXECUTE FUNCTION governance._ddl_guard_end();
CREATE EVENT TRIGGER governance_guard_drop ON sql_drop
    EXECUTE FUNCTION governance._ddl_guard_drop();

------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC, each role what its job needs.
------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA governance FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    governance.sha3_512(bytea),
    governance.blake2b_512(bytea),
    governance.ed25519_verify(bytea, bytea, bytea),
    governance.public_key(),
    governance.current_key_id(),
    governance.trust_state()
TO governance_admin, governance_agent, governance_auditor;

GRANT EXECUTE ON FUNCTION governance.worker_status() TO governance_admin, governance_auditor;
GRANT SELECT ON governance.workers TO governance_admin, governance_auditor;

GRANT EXECUTE ON FUNCTION governance.rotate_key() TO governance_admin;
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

-- Record the server key now if the library is preloaded; otherwise say so.
DO $$
BEGIN
    PERFORM governance._sync_signing_key();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE WARNING 'governance is not loaded via shared_preload_libraries; its functions will refuse to run'
        USING HINT = 'Add ''governance'' to shared_preload_libraries in postgresql.conf and restart the server.';
END
$$;
