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
