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

-- Record the server key now if the library is preloaded; otherwise say so.
DO $$
BEGIN
    PERFORM governance._sync_signing_key();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE WARNING 'governance is not loaded via shared_preload_libraries; its functions will refuse to run'
        USING HINT = 'Add ''governance'' to shared_preload_libraries in postgresql.conf and restart the server.';
END
$$;
