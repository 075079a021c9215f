/* governance--0.1.sql -- version 0.1 as released (2026-12-04, commit de5d69d): frozen, never edited; later versions reach it through sql/governance--0.1--0.2.sql ... */

\echo Use "CREATE EXTENSION governance" to load this file. \quit

-- sql/install/00_schema.sql
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

-- The owner of every governed table (src/govern.c): it can do nothing
-- itself (no login, no inherited privileges) and must never have members.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'governance_owner') THEN
        CREATE ROLE governance_owner NOLOGIN NOINHERIT;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA governance TO governance_admin, governance_agent, governance_auditor;

-- sql/install/10_crypto.sql
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

GRANT EXECUTE ON FUNCTION
    governance.sha3_512(bytea),
    governance.blake2b_512(bytea),
    governance.ed25519_verify(bytea, bytea, bytea)
TO governance_admin, governance_agent, governance_auditor;

-- sql/install/20_keys.sql
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

GRANT EXECUTE ON FUNCTION governance.public_key(), governance.current_key_id()
TO governance_admin, governance_agent, governance_auditor;
GRANT EXECUTE ON FUNCTION governance.rotate_key() TO governance_admin;

-- sql/install/30_trust_workers.sql
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

GRANT EXECUTE ON FUNCTION governance.trust_state()
TO governance_admin, governance_agent, governance_auditor;
GRANT EXECUTE ON FUNCTION governance.worker_status() TO governance_admin, governance_auditor;
GRANT SELECT ON governance.workers TO governance_admin, governance_auditor;

-- sql/install/40_ledger.sql
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

-- sql/install/50_policy.sql
------------------------------------------------------------------------------
-- Policies and entities (D9); the language is described in docs/POLICY.md
------------------------------------------------------------------------------

CREATE TABLE governance.policies (
    name        text PRIMARY KEY,
    source      text NOT NULL,
    effect      text NOT NULL CHECK (effect OPERATOR(pg_catalog.=) ANY (ARRAY['permit', 'forbid'])),
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL
);
COMMENT ON TABLE governance.policies IS
    'One policy statement per row; change with create_policy, replace_policy, drop_policy';

CREATE TABLE governance.entities (
    uid         text PRIMARY KEY,
    parents     text[] NOT NULL DEFAULT '{}',
    attrs       jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL
);
COMMENT ON TABLE governance.entities IS
    'Principals, resources, actions and groups: parents make the hierarchy "in" follows';

-- Whoever changes these tables, every backend's next decision must see it.
CREATE FUNCTION governance._policy_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_policy_changed';

CREATE TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON governance.policies FOR EACH STATEMENT EXECUTE FUNCTION governance._policy_changed();
CREATE TRIGGER entities_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON governance.entities FOR EACH STATEMENT EXECUTE FUNCTION governance._policy_changed();
ALTER TABLE governance.policies ENABLE ALWAYS TRIGGER policies_changed;
ALTER TABLE governance.entities ENABLE ALWAYS TRIGGER entities_changed;

REVOKE ALL ON governance.policies, governance.entities FROM PUBLIC;
GRANT SELECT ON governance.policies, governance.entities TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.policies', '');
SELECT pg_catalog.pg_extension_config_dump('governance.entities', '');

CREATE FUNCTION governance.create_policy(name text, source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_create_policy';
COMMENT ON FUNCTION governance.create_policy(text, text) IS
    'Parse and store a new policy; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.replace_policy(name text, source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_replace_policy';
COMMENT ON FUNCTION governance.replace_policy(text, text) IS
    'Replace the source of an existing policy; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.drop_policy(name text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_drop_policy';
COMMENT ON FUNCTION governance.drop_policy(text) IS
    'Remove a policy; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.put_entity(uid text, parents text[] DEFAULT '{}', attrs jsonb DEFAULT '{}')
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_put_entity';
COMMENT ON FUNCTION governance.put_entity(text, text[], jsonb) IS
    'Create or replace an entity (its parents and attributes); ledgered';

CREATE FUNCTION governance.delete_entity(uid text)
RETURNS boolean
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_delete_entity';
COMMENT ON FUNCTION governance.delete_entity(text) IS
    'Remove an entity; ledgered when it existed; true if it did';

-- Deciding reads the tables as their owner (in C), so these need no
-- SECURITY DEFINER; they write nothing.
CREATE FUNCTION governance.explain(principal text, action text, resource text,
    context jsonb DEFAULT '{}',
    OUT policy text, OUT effect text, OUT matched boolean, OUT error text)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_explain';
COMMENT ON FUNCTION governance.explain(text, text, text, jsonb) IS
    'For each policy, in name order: did it match the request, and did it fail to evaluate';

CREATE FUNCTION governance.decide(principal text, action text, resource text,
    context jsonb DEFAULT '{}',
    OUT decision text, OUT determining text[], OUT reasons text[], OUT policy_set_hash bytea)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_decide';
COMMENT ON FUNCTION governance.decide(text, text, text, jsonb) IS
    'The policy decision authorize() would take, without issuing or recording anything';

CREATE FUNCTION governance.policy_set_hash()
RETURNS bytea
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_policy_set_hash';
COMMENT ON FUNCTION governance.policy_set_hash() IS
    'BLAKE2b-512 of the current policy set (docs/FORMAT.md section 8)';

GRANT EXECUTE ON FUNCTION
    governance.create_policy(text, text),
    governance.replace_policy(text, text),
    governance.drop_policy(text),
    governance.put_entity(text, text[], jsonb),
    governance.delete_entity(text)
TO governance_admin;
-- explain names every policy and how it fared: not for agents probing
-- what they might get away with (docs/POLICY.md, "Who may do what")
GRANT EXECUTE ON FUNCTION
    governance.explain(text, text, text, jsonb),
    governance.decide(text, text, text, jsonb)
TO governance_admin, governance_auditor;
-- the hash is in every artifact an agent holds anyway
GRANT EXECUTE ON FUNCTION governance.policy_set_hash()
TO governance_admin, governance_agent, governance_auditor;

-- sql/install/60_leases.sql
------------------------------------------------------------------------------
-- Agents, leases and artifacts (D6, D10): authorize, delegate, heartbeat,
-- revoke, attach, and the checks behind row-level security
------------------------------------------------------------------------------

CREATE TABLE governance.agents (
    principal       text PRIMARY KEY,
    role_oid        oid NOT NULL,
    public_key      bytea CHECK (public_key IS NULL OR pg_catalog.length(public_key) OPERATOR(pg_catalog.=) 32),
    registered_at   timestamptz NOT NULL,
    registered_by   text NOT NULL,
    max_leases      integer CHECK (max_leases OPERATOR(pg_catalog.>=) 0)
);
COMMENT ON TABLE governance.agents IS
    'Which login role may act as which principal (register_agent)';
COMMENT ON COLUMN governance.agents.max_leases IS
    'most leases the principal may hold in shared memory at once; NULL: governance.max_leases_per_principal';

CREATE TABLE governance.leases (
    lease_id        uuid PRIMARY KEY,
    parent_id       uuid REFERENCES governance.leases (lease_id),
    ancestors       uuid[] NOT NULL,
    depth           integer NOT NULL,
    principal       text NOT NULL,
    action          text NOT NULL,
    resource        text NOT NULL,
    context         jsonb NOT NULL,
    context_hash    bytea NOT NULL,
    measurement     bytea,
    policy_set_hash bytea NOT NULL,
    role_oid        oid NOT NULL,
    authorized_by   text NOT NULL,
    issued_at       timestamptz NOT NULL,
    ttl             interval NOT NULL,
    expires_at      timestamptz NOT NULL,
    max_expiry      timestamptz NOT NULL,
    state           text NOT NULL CHECK (state IN ('live', 'revoked', 'expired')),
    session_bound   boolean NOT NULL DEFAULT false,
    generation      bigint NOT NULL,
    ended_at        timestamptz,
    end_reason      text,
    key_id          text NOT NULL,
    artifact_hash   bytea NOT NULL,
    first_seq       bigint NOT NULL
) WITH (fillfactor = 90);
-- No index on expires_at, on purpose: heartbeat() changes it, and with it
-- unindexed (and room left on each page) a renewal is a HOT update, with no
-- new index entries.  The enforcer finds expiries in shared memory
-- (src/enforcer.c); its periodic sweep for expiries shared memory missed
-- reads the live leases through leases_live_idx, not the whole history.
CREATE INDEX leases_parent_idx ON governance.leases (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX leases_live_idx ON governance.leases (lease_id) WHERE state OPERATOR(pg_catalog.=) 'live';
COMMENT ON TABLE governance.leases IS
    'Durable state of every lease; shared memory holds the live ones and is rebuilt from here';
COMMENT ON COLUMN governance.leases.session_bound IS
    'attached for a session: it ends with that session, and does not survive a restart';
COMMENT ON COLUMN governance.leases.generation IS
    'fencing token: 1 at authorization, incremented by every heartbeat';

REVOKE ALL ON governance.agents, governance.leases FROM PUBLIC;
GRANT SELECT ON governance.agents, governance.leases TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.agents', '');
SELECT pg_catalog.pg_extension_config_dump('governance.leases', '');

-- A revoke() that could not make its revocation durable in time (a lock
-- it may not take: src/revoke.c) records it here, in its own transaction,
-- which commits: after a restart the enforcer ends these leases again
-- before anything can use them, and a row goes when the revocation is
-- made durable.  Usually empty.
CREATE TABLE governance.revocations_deferred (
    lease_id        uuid PRIMARY KEY,
    reason          text NOT NULL,
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL
);
COMMENT ON TABLE governance.revocations_deferred IS
    'revocations acknowledged in shared memory whose durable part waits for a lock; the enforcer ends them again after a restart';
REVOKE ALL ON governance.revocations_deferred FROM PUBLIC;
GRANT SELECT ON governance.revocations_deferred TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.revocations_deferred', '');

CREATE FUNCTION governance.register_agent(principal text, role name, public_key bytea DEFAULT NULL,
    max_leases integer DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_register_agent';
COMMENT ON FUNCTION governance.register_agent(text, name, bytea, integer) IS
    'Map the login role that may act as principal (its Ed25519 key, if any, and how many leases it may hold); ledgered';

CREATE FUNCTION governance.authorize(
    principal text, action text, resource text,
    context jsonb DEFAULT '{}', ttl interval DEFAULT '5 minutes', measurement bytea DEFAULT NULL,
    OUT decision text, OUT lease_id uuid, OUT artifact text, OUT expires_at timestamptz,
    OUT reasons text[])
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_authorize';
COMMENT ON FUNCTION governance.authorize(text, text, text, jsonb, interval, bytea) IS
    'Decide a request by policy; on allow, a lease and its signed artifact. Always ledgered';

CREATE FUNCTION governance.delegate(
    parent uuid, principal text, action text, resource text,
    context jsonb DEFAULT '{}', ttl interval DEFAULT '5 minutes',
    OUT decision text, OUT lease_id uuid, OUT artifact text, OUT expires_at timestamptz,
    OUT reasons text[])
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_delegate';
COMMENT ON FUNCTION governance.delegate(uuid, text, text, text, jsonb, interval) IS
    'A child lease under a live parent: the parent''s action on its resource or one within it, allowed by policy on its own, never outliving the parent';

CREATE FUNCTION governance.heartbeat(lease_id uuid, measurement bytea DEFAULT NULL)
RETURNS timestamptz
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_heartbeat';
COMMENT ON FUNCTION governance.heartbeat(uuid, bytea) IS
    'Renew a live lease after re-checking its measurement and the policy; NULL when that revoked it';

CREATE FUNCTION governance.revoke(lease_id uuid, reason text)
RETURNS integer
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_revoke';
COMMENT ON FUNCTION governance.revoke(uuid, text) IS
    'End a lease and every live descendant; returns how many ended';

CREATE FUNCTION governance.verify_artifact(artifact text,
    OUT valid boolean, OUT reason text, OUT claims jsonb)
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_verify_artifact';
COMMENT ON FUNCTION governance.verify_artifact(text) IS
    'Check an artifact: format, key, expiry, signature and the lease''s current state';

CREATE FUNCTION governance.attach(artifact text, session boolean DEFAULT false)
RETURNS uuid
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_attach';
COMMENT ON FUNCTION governance.attach(text, boolean) IS
    'Bind the transaction (or, with session => true, the session) to the artifact''s live lease';

CREATE FUNCTION governance.detach(lease_id uuid DEFAULT NULL)
RETURNS integer
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_detach';
COMMENT ON FUNCTION governance.detach(uuid) IS
    'Detach one lease, or all of them; returns how many';

CREATE FUNCTION governance.current_lease(
    OUT lease_id uuid, OUT principal text, OUT action text, OUT resource text,
    OUT expires_at timestamptz, OUT scope text, OUT live boolean)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_current_lease';
COMMENT ON FUNCTION governance.current_lease() IS
    'The leases attached to this transaction or session';

-- The lease checks are PARALLEL UNSAFE: a query that checks leases runs in
-- one process, so that read lineage counts every row its governed scans
-- return (a parallel worker's rows would not be counted), and because
-- only this backend holds its attachments.
CREATE FUNCTION governance.is_authorized(action text, resource text)
RETURNS boolean
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'gov_sql_is_authorized';
COMMENT ON FUNCTION governance.is_authorized(text, text) IS
    'true while an attached live lease covers exactly this action and resource';

CREATE FUNCTION governance.authorized_resources(action text)
RETURNS text[]
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'gov_sql_authorized_resources';
COMMENT ON FUNCTION governance.authorized_resources(text) IS
    'Resources the attached live leases cover for action (used once per statement by row-level security)';

CREATE FUNCTION governance.authorized_resource(action text)
RETURNS text
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'gov_sql_authorized_resource';
COMMENT ON FUNCTION governance.authorized_resource(text) IS
    'The first resource an attached live lease covers for action, or NULL (row-level security''s cheap first test)';

GRANT EXECUTE ON FUNCTION governance.register_agent(text, name, bytea, integer) TO governance_admin;
GRANT EXECUTE ON FUNCTION
    governance.authorize(text, text, text, jsonb, interval, bytea),
    governance.delegate(uuid, text, text, text, jsonb, interval),
    governance.heartbeat(uuid, bytea),
    governance.revoke(uuid, text),
    governance.attach(text, boolean),
    governance.detach(uuid),
    governance.current_lease(),
    governance.is_authorized(text, text),
    governance.authorized_resources(text),
    governance.authorized_resource(text)
TO governance_admin, governance_agent;
GRANT EXECUTE ON FUNCTION governance.verify_artifact(text)
TO governance_admin, governance_agent, governance_auditor;

-- sql/install/70_govern.sql
------------------------------------------------------------------------------
-- Enforcement next to the data (D11): governed tables
------------------------------------------------------------------------------

CREATE TABLE governance.governed_tables (
    relid           oid PRIMARY KEY,
    action_prefix   text NOT NULL,
    resource_column text NOT NULL,
    governed_at     timestamptz NOT NULL,
    governed_by     text NOT NULL,
    policies        jsonb NOT NULL,
    root_relid      oid NOT NULL,
    former_owner    text NOT NULL,
    revoked         jsonb NOT NULL DEFAULT '[]',
    had_rls         boolean NOT NULL DEFAULT false,
    had_force_rls   boolean NOT NULL DEFAULT false
);
COMMENT ON COLUMN governance.governed_tables.root_relid IS
    'the table govern_table() was called on: every partition and inheritance child is governed with it';
COMMENT ON COLUMN governance.governed_tables.former_owner IS
    'who owned the table before governance_owner did; ungovern_table() gives it back';
COMMENT ON COLUMN governance.governed_tables.had_rls IS
    'row-level security was enabled (had_force_rls: forced) before: ungovern_table() leaves it so';
COMMENT ON COLUMN governance.governed_tables.revoked IS
    'REFERENCES and TRIGGER privileges govern_table() revoked; ungovern_table() grants them again';
COMMENT ON TABLE governance.governed_tables IS
    'Tables under governance: forced row-level security tied to live leases, and a lineage trigger';
REVOKE ALL ON governance.governed_tables FROM PUBLIC;
GRANT SELECT ON governance.governed_tables TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.governed_tables', '');

CREATE FUNCTION governance._lineage()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_lineage_trigger';

CREATE FUNCTION governance._refuse_truncate()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_refuse_truncate';

CREATE FUNCTION governance._governing()
RETURNS boolean
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'gov_sql_governing';

CREATE FUNCTION governance._govern_new_members()
RETURNS integer
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_govern_new_members';

-- Would the governed tables still be governed after this DDL?  Called by
-- the DDL guard after every command; govern_table() and ungovern_table()
-- are let through.
CREATE FUNCTION governance._check_governed_tables()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    why text;
BEGIN
    IF governance._governing() THEN
        RETURN;
    END IF;
    -- a new partition or child of a governed table (only a superuser can
    -- make one) is governed with its tree
    IF EXISTS (SELECT 1 FROM governance.governed_tables) THEN
        PERFORM governance._govern_new_members();
    END IF;
    FOR t IN SELECT g.relid, g.policies FROM governance.governed_tables g LOOP
        why := NULL;
        IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid) THEN
            why := 'the table is gone';
        ELSIF (SELECT c.relowner FROM pg_class c WHERE c.oid = t.relid)
              IS DISTINCT FROM (SELECT r.oid FROM pg_roles r WHERE r.rolname = 'governance_owner') THEN
            why := 'it must belong to governance_owner';
        ELSIF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                       WHERE c.oid = t.relid AND a.privilege_type IN ('REFERENCES', 'TRIGGER')
                         AND a.grantee <> c.relowner) THEN
            why := 'REFERENCES and TRIGGER privileges on it are not granted to anyone';
        ELSIF EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = t.relid) THEN
            why := 'it may have no rules';
        ELSIF EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = t.relid AND NOT tg.tgisinternal
                       AND tg.tgname NOT IN ('governance_lineage', 'governance_no_truncate')) THEN
            why := 'it may have no triggers but governance''s';
        ELSIF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid
                          AND c.relrowsecurity AND c.relforcerowsecurity) THEN
            why := 'row-level security would no longer be enabled and forced';
        ELSIF (SELECT jsonb_object_agg(p.polname, jsonb_build_array(pg_get_expr(p.polqual, p.polrelid),
                                                                    pg_get_expr(p.polwithcheck, p.polrelid)))
                 FROM pg_policy p WHERE p.polrelid = t.relid AND p.polpermissive)
              IS DISTINCT FROM t.policies THEN
            why := 'its permissive row-level security policies would change';
        ELSIF NOT EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = t.relid
                          AND tg.tgname = 'governance_lineage' AND tg.tgenabled = 'A')
           OR NOT EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = t.relid
                          AND tg.tgname = 'governance_no_truncate' AND tg.tgenabled = 'A') THEN
            why := 'its governance triggers would be dropped or disabled';
        END IF;
        IF why IS NOT NULL THEN
            RAISE EXCEPTION 'governed table % cannot be changed this way: %',
                    coalesce(t.relid::regclass::text, t.relid::text), why
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Take it out of governance first with governance.ungovern_table() (governance_admin, ledgered).';
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION governance.govern_table(tbl regclass, action_prefix text, resource_column name)
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_govern_table';
COMMENT ON FUNCTION governance.govern_table(regclass, text, name) IS
    'Put a table under row-level security tied to live leases and record every write in the ledger';

CREATE FUNCTION governance.ungovern_table(tbl regclass)
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_ungovern_table';
COMMENT ON FUNCTION governance.ungovern_table(regclass) IS
    'Take a table out of governance (ledgered)';

GRANT EXECUTE ON FUNCTION governance.govern_table(regclass, text, name),
                          governance.ungovern_table(regclass)
TO governance_admin;

-- sql/install/90_ddl_guard.sql
------------------------------------------------------------------------------
-- DDL guard (D4): ledger objects cannot be altered or dropped
------------------------------------------------------------------------------

CREATE FUNCTION governance._ddl_guard_start()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_ddl_guard_start';

-- Is (classid, objid) the governance extension, one of its members, or an
-- index, trigger, rule, policy or constraint on a member relation?  By
-- membership, not by name, so that a rename cannot slip past.
CREATE FUNCTION governance._is_ledger_object(classid oid, objid oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'governance'),
    member(classid, objid) AS (
        SELECT d.classid, d.objid FROM pg_depend d, ext
         WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    ),
    member_rel(relid) AS (
        SELECT objid FROM member WHERE classid = 'pg_class'::regclass
    )
    SELECT (classid = 'pg_extension'::regclass AND objid IN (SELECT oid FROM ext))
        OR (classid, objid) IN (SELECT * FROM member)
        OR CASE classid
            WHEN 'pg_class'::regclass THEN
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = objid AND i.indrelid IN (SELECT relid FROM member_rel))
            WHEN 'pg_trigger'::regclass THEN
                EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = objid AND t.tgrelid IN (SELECT relid FROM member_rel))
            WHEN 'pg_rewrite'::regclass THEN
                EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.oid = objid AND r.ev_class IN (SELECT relid FROM member_rel))
            WHEN 'pg_policy'::regclass THEN
                EXISTS (SELECT 1 FROM pg_policy p WHERE p.oid = objid AND p.polrelid IN (SELECT relid FROM member_rel))
            WHEN 'pg_constraint'::regclass THEN
                EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = objid AND c.conrelid IN (SELECT relid FROM member_rel))
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
    PERFORM governance._check_governed_tables();
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        CONTINUE WHEN r.in_extension;
        IF governance._is_ledger_object(r.classid, r.objid) THEN
            RAISE EXCEPTION 'objects of the governance extension cannot be altered (% on %)',
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
    PERFORM governance._check_governed_tables();
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
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'ALTER EXTENSION', 'ALTER SCHEMA')
    EXECUTE FUNCTION governance._ddl_guard_start();
CREATE EVENT TRIGGER governance_guard_end ON ddl_command_end
    EXECUTE FUNCTION governance._ddl_guard_end();
CREATE EVENT TRIGGER governance_guard_drop ON sql_drop
    EXECUTE FUNCTION governance._ddl_guard_drop();
-- ALWAYS: session_replication_role = replica must not switch them off
ALTER EVENT TRIGGER governance_guard_start ENABLE ALWAYS;
ALTER EVENT TRIGGER governance_guard_end ENABLE ALWAYS;
ALTER EVENT TRIGGER governance_guard_drop ENABLE ALWAYS;

-- sql/install/99_privileges.sql
------------------------------------------------------------------------------
-- Last: nothing for PUBLIC.  Each part above granted its roles what their
-- jobs need; functions are executable by PUBLIC by default, so revoke that.
------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA governance FROM PUBLIC;

-- But the lease checks that governed tables' row-level security calls:
-- any role that may read a governed table gets no rows without a lease,
-- rather than an error.  They answer only for the leases the calling
-- role attached in its own session.
GRANT EXECUTE ON FUNCTION governance.is_authorized(text, text),
                          governance.authorized_resources(text),
                          governance.authorized_resource(text)
TO PUBLIC;

-- Record the server key now if the library is preloaded; otherwise say so.
DO $$
BEGIN
    PERFORM governance._sync_signing_key();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE WARNING 'governance is not loaded via shared_preload_libraries; its functions will refuse to run'
        USING HINT = 'Add ''governance'' to shared_preload_libraries in postgresql.conf and restart the server.';
END
$$;
