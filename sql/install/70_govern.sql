------------------------------------------------------------------------------
-- Enforcement next to the data (D11): governed tables
------------------------------------------------------------------------------

CREATE TABLE governance.governed_tables (
    relid           oid PRIMARY KEY,
    action_prefix   text NOT NULL,
    resource_column text NOT NULL,
    governed_at     timestamptz NOT NULL,
    governed_by     text NOT NULL
);
COMMENT ON TABLE governance.governed_tables IS
    'Tables under governance: forced row-level security tied to live leases, and a lineage trigger';
REVOKE ALL ON governance.governed_tables FROM PUBLIC;
GRANT SELECT ON governance.governed_tables TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.governed_tables', '');

CREATE FUNCTION governance._lineage()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_lineage_trigger';

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
