------------------------------------------------------------------------------
-- proof(lease_id): one execution end to end, with its lineage proven
-- complete (issue 12 section 2; docs/FORMAT.md, section 14), verified
-- offline by governance-verify proof FILE --key PUB.
------------------------------------------------------------------------------

-- Not SECURITY DEFINER, like export(): the caller reads the ledger and the
-- leases with its own rights (governance_auditor and governance_admin may).
CREATE FUNCTION governance.proof(lease_id uuid)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_proof';
COMMENT ON FUNCTION governance.proof(uuid) IS
    'Proof of one execution (a lease and its delegations): every sealed event with its audit path, every block header since, the lineage-map entries that show no event was left out, the checkpoint and the keys';
REVOKE ALL ON FUNCTION governance.proof(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.proof(uuid) TO governance_admin, governance_auditor;
