------------------------------------------------------------------------------
-- Monitoring (issue 11, item 4; README "Monitoring")
--
-- stats and stats_principals are for pg_monitor (and the governance roles):
-- counts, ages and states, never ledger contents, lease ids, actions,
-- resources or contexts.  stats() is SECURITY DEFINER so that its two
-- aggregates over the ledger's tables need no grant on them.
-- backend_leases names leases and what they cover: governance_admin only.
------------------------------------------------------------------------------

CREATE FUNCTION governance.stats(
    OUT stats_reset timestamptz,
    OUT leases_live bigint, OUT leases_pending bigint, OUT leases_ended bigint,
    OUT leases_capacity integer,
    OUT authorizations_allowed bigint, OUT authorizations_denied bigint,
    OUT revocations bigint,
    OUT enforcer_rounds bigint, OUT enforcer_last_beat timestamptz,
    OUT cancellations_sent bigint,
    OUT sealer_last_beat timestamptz,
    OUT unsealed_rows bigint, OUT oldest_unsealed_at timestamptz,
    OUT seal_lag_seconds double precision,
    OUT last_block_id bigint, OUT last_block_at timestamptz,
    OUT verifier_rounds bigint, OUT verifier_failures bigint,
    OUT verifier_last_beat timestamptz, OUT verified_through_block bigint,
    OUT verifier_last_ok boolean, OUT verifier_last_at timestamptz,
    OUT events_in_queue bigint, OUT events_spilling boolean,
    OUT events_queued bigint, OUT events_spooled bigint, OUT events_lost bigint,
    OUT trusted boolean, OUT trust_state text)
RETURNS record
LANGUAGE C STRICT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_stats';
COMMENT ON FUNCTION governance.stats() IS
    'Counters (since stats_reset, the server start) and gauges for monitoring; no ledger contents';

CREATE VIEW governance.stats AS
    SELECT * FROM governance.stats();
COMMENT ON VIEW governance.stats IS
    'Counters (since stats_reset, the server start) and gauges for monitoring; readable by pg_monitor';

CREATE FUNCTION governance.stats_principals(
    OUT principal text, OUT leases_live bigint, OUT leases_pending bigint,
    OUT leases_ended bigint)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_stats_principals';
COMMENT ON FUNCTION governance.stats_principals() IS
    'Entries of the shared lease table per principal (what max_leases_per_principal limits)';

CREATE VIEW governance.stats_principals AS
    SELECT * FROM governance.stats_principals();
COMMENT ON VIEW governance.stats_principals IS
    'Entries of the shared lease table per principal; readable by pg_monitor';

CREATE FUNCTION governance.backend_leases(
    OUT pid integer, OUT lease_id uuid, OUT principal text, OUT action text,
    OUT resource text, OUT state text, OUT expires_at timestamptz,
    OUT session_bound boolean)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_backend_leases';
COMMENT ON FUNCTION governance.backend_leases() IS
    'Which backend of this database is attached to which lease; governance_admin only';

CREATE VIEW governance.backend_leases AS
    SELECT * FROM governance.backend_leases();
COMMENT ON VIEW governance.backend_leases IS
    'Which backend of this database is attached to which lease; governance_admin only';

REVOKE ALL ON FUNCTION governance.stats(), governance.stats_principals(),
    governance.backend_leases() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.stats(), governance.stats_principals()
TO pg_monitor, governance_admin, governance_auditor;
GRANT SELECT ON governance.stats, governance.stats_principals
TO pg_monitor, governance_admin, governance_auditor;
GRANT EXECUTE ON FUNCTION governance.backend_leases() TO governance_admin;
-- the schema, for pg_monitor: it holds nothing pg_monitor may use but these
GRANT USAGE ON SCHEMA governance TO pg_monitor;
GRANT SELECT ON governance.backend_leases TO governance_admin;
