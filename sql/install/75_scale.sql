------------------------------------------------------------------------------
-- Leases at scale (issue 14, items 1 and 2; issue 15, item 6): the lease
-- check of governed tables' row-level security without a sub-select, its
-- set of covered resources built once per execution and hashed
------------------------------------------------------------------------------

-- PARALLEL UNSAFE like the other lease checks (60_leases.sql): only this
-- backend holds its attachments, and read lineage counts every row.
CREATE FUNCTION governance.lease_covers(action text, resource text)
RETURNS boolean
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'gov_sql_lease_covers';
COMMENT ON FUNCTION governance.lease_covers(text, text) IS
    'true when a live lease the current role attached covers action on resource, as of the first call of this execution (row-level security of governed tables; a hashed set, one lookup per row)';
GRANT EXECUTE ON FUNCTION governance.lease_covers(text, text) TO governance_admin, governance_agent;

-- Governed tables' policies in the current form (govern.c); the upgrade
-- from 0.1 calls it for tables governed with the sub-select form.
CREATE FUNCTION governance._reform_policies()
RETURNS integer
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_reform_policies';
