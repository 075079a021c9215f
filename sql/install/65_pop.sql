------------------------------------------------------------------------------
-- Proof of possession (issue 13, docs/FORMAT.md section 13): single-use
-- challenges, agent key rotation and revocation (src/pop.c)
------------------------------------------------------------------------------

-- A challenge is consumed by deleting its row in the request's own
-- transaction: a rolled-back request consumed nothing (src/pop.c).  Not
-- dumped: challenges live for seconds (governance.challenge_ttl).
CREATE TABLE governance.pop_challenges (
    nonce           bytea PRIMARY KEY CHECK (pg_catalog.length(nonce) OPERATOR(pg_catalog.=) 32),
    role_oid        oid NOT NULL,
    server_key_id   text NOT NULL,
    issued_at       timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX pop_challenges_role_idx ON governance.pop_challenges (role_oid, expires_at);
COMMENT ON TABLE governance.pop_challenges IS
    'Unused nonces from challenge(), each good for one signed request of its role until expires_at';
REVOKE ALL ON governance.pop_challenges FROM PUBLIC;
GRANT SELECT ON governance.pop_challenges TO governance_admin, governance_auditor;

CREATE TABLE governance.revoked_agent_keys (
    key_id          text PRIMARY KEY,
    principal       text NOT NULL,
    public_key      bytea NOT NULL,
    revoked_at      timestamptz NOT NULL,
    revoked_by      text NOT NULL,
    reason          text NOT NULL
);
COMMENT ON TABLE governance.revoked_agent_keys IS
    'Agent keys revoked as compromised (revoke_agent_key); none can be registered again';
REVOKE ALL ON governance.revoked_agent_keys FROM PUBLIC;
GRANT SELECT ON governance.revoked_agent_keys TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.revoked_agent_keys', '');

CREATE FUNCTION governance.challenge(
    OUT nonce bytea, OUT server_key_id text, OUT expires_at timestamptz)
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_challenge';
COMMENT ON FUNCTION governance.challenge() IS
    'A single-use nonce for one signed request of the calling role (docs/FORMAT.md section 13), valid for governance.challenge_ttl';

CREATE FUNCTION governance.rotate_agent_key(principal text, new_public_key bytea,
    proof text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_rotate_agent_key';
COMMENT ON FUNCTION governance.rotate_agent_key(text, bytea, text) IS
    'Replace an agent''s key: by the agent with a proof by its current key, or by an administrator; returns the new key id; ledgered';

CREATE FUNCTION governance.revoke_agent_key(principal text, reason text)
RETURNS integer
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_revoke_agent_key';
COMMENT ON FUNCTION governance.revoke_agent_key(text, text) IS
    'A compromised agent key: revoked for good, the agent may hold no lease until registered again, and every live lease of the principal is revoked; returns how many ended; ledgered';

REVOKE ALL ON FUNCTION governance.challenge(), governance.rotate_agent_key(text, bytea, text),
    governance.revoke_agent_key(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.challenge(), governance.rotate_agent_key(text, bytea, text)
TO governance_admin, governance_agent;
GRANT EXECUTE ON FUNCTION governance.revoke_agent_key(text, text) TO governance_admin;
