------------------------------------------------------------------------------
-- Agents, leases and artifacts (D6, D10): authorize, delegate, heartbeat,
-- revoke, attach, and the checks behind row-level security
------------------------------------------------------------------------------

CREATE TABLE governance.agents (
    principal       text PRIMARY KEY,
    role_oid        regrole NOT NULL,
    public_key      bytea CHECK (public_key IS NULL OR pg_catalog.length(public_key) OPERATOR(pg_catalog.=) 32),
    registered_at   timestamptz NOT NULL,
    registered_by   text NOT NULL,
    max_leases      integer CHECK (max_leases OPERATOR(pg_catalog.>=) 0)
);
COMMENT ON TABLE governance.agents IS
    'Which login role may act as which principal (register_agent)';
COMMENT ON COLUMN governance.agents.role_oid IS
    'the login role (regrole: a dump names it, and a restore finds it by name)';
COMMENT ON COLUMN governance.agents.max_leases IS
    'most leases the principal may hold in shared memory at once; NULL: governance.max_leases_per_principal';

CREATE TABLE governance.leases (
    lease_id        uuid PRIMARY KEY,
    parent_id       uuid,
    ancestors       uuid[] NOT NULL,
    depth           integer NOT NULL,
    principal       text NOT NULL,
    action          text NOT NULL,
    resource        text NOT NULL,
    context         jsonb NOT NULL,
    context_hash    bytea NOT NULL,
    measurement     bytea,
    policy_set_hash bytea NOT NULL,
    role_oid        regrole NOT NULL,
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
-- No foreign key from parent_id to lease_id: a table that refers to itself
-- is a circle to pg_dump.  Only the extension writes leases, and delegate()
-- locks and checks the parent's row before it writes the child's.
COMMENT ON COLUMN governance.leases.parent_id IS
    'the lease this one was delegated from (delegate()); NULL for an authorization';
COMMENT ON COLUMN governance.leases.role_oid IS
    'the role the lease was issued to (regrole: a dump names it)';
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
    proof text DEFAULT NULL,
    OUT decision text, OUT lease_id uuid, OUT artifact text, OUT expires_at timestamptz,
    OUT reasons text[])
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_authorize_pop';
COMMENT ON FUNCTION governance.authorize(text, text, text, jsonb, interval, bytea, text) IS
    'Decide a request by policy; on allow, a lease and its signed artifact. Always ledgered';

CREATE FUNCTION governance.delegate(
    parent uuid, principal text, action text, resource text,
    context jsonb DEFAULT '{}', ttl interval DEFAULT '5 minutes',
    proof text DEFAULT NULL,
    OUT decision text, OUT lease_id uuid, OUT artifact text, OUT expires_at timestamptz,
    OUT reasons text[])
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_delegate_pop';
COMMENT ON FUNCTION governance.delegate(uuid, text, text, text, jsonb, interval, text) IS
    'A child lease under a live parent: the parent''s action on its resource or one within it, allowed by policy on its own, never outliving the parent';

CREATE FUNCTION governance.heartbeat(lease_id uuid, measurement bytea DEFAULT NULL, proof text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_heartbeat_pop';
COMMENT ON FUNCTION governance.heartbeat(uuid, bytea, text) IS
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

CREATE FUNCTION governance.attach(artifact text, session boolean DEFAULT false, proof text DEFAULT NULL)
RETURNS uuid
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_attach_pop';
COMMENT ON FUNCTION governance.attach(text, boolean, text) IS
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

CREATE FUNCTION governance.last_termination(
    OUT at timestamptz, OUT error_code text, OUT lease_id uuid, OUT message text)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_last_termination';
COMMENT ON FUNCTION governance.last_termination() IS
    'What the governance enforcer last ended in this session (SQLSTATE 57L01 cancel, 57L02 terminate), until the end of the next transaction';

GRANT EXECUTE ON FUNCTION governance.register_agent(text, name, bytea, integer) TO governance_admin;
GRANT EXECUTE ON FUNCTION
    governance.authorize(text, text, text, jsonb, interval, bytea, text),
    governance.delegate(uuid, text, text, text, jsonb, interval, text),
    governance.heartbeat(uuid, bytea, text),
    governance.revoke(uuid, text),
    governance.attach(text, boolean, text),
    governance.detach(uuid),
    governance.current_lease(),
    governance.last_termination(),
    governance.is_authorized(text, text),
    governance.authorized_resources(text),
    governance.authorized_resource(text)
TO governance_admin, governance_agent;
GRANT EXECUTE ON FUNCTION governance.verify_artifact(text)
TO governance_admin, governance_agent, governance_auditor;
