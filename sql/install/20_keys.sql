------------------------------------------------------------------------------
-- Server signing key (D3)
------------------------------------------------------------------------------

CREATE TABLE governance.signing_keys (
    key_id          text PRIMARY KEY,
    public_key      bytea NOT NULL CHECK (pg_catalog.length(public_key) OPERATOR(pg_catalog.=) 32),
    created_at      timestamptz NOT NULL,
    retired_at      timestamptz,
    self_signature  bytea NOT NULL,
    endorsed_by     text,
    endorsement     bytea,
    CHECK ((endorsed_by IS NULL) OPERATOR(pg_catalog.=) (endorsement IS NULL))
);
CREATE UNIQUE INDEX signing_keys_one_current
    ON governance.signing_keys ((true)) WHERE retired_at IS NULL;
COMMENT ON TABLE governance.signing_keys IS
    'Every public key the server has signed with; retired keys stay so old signatures verify';
-- No foreign key from endorsed_by to key_id: a table that refers to itself
-- is a circle to pg_dump (a warning on every dump of the extension's data).
-- Only the extension writes this table, and an endorsement is checked by
-- its signature, with the endorsing key's public key, not by a constraint.
COMMENT ON COLUMN governance.signing_keys.endorsed_by IS
    'key id of the key that signed this one''s endorsement (rotate_key); NULL for a key nobody vouched for';
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
