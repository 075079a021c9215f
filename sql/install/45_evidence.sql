------------------------------------------------------------------------------
-- Evidence an auditor carries away (issue 12; docs/FORMAT.md, section 12):
-- bundles and proofs as lines of text, for COPY ... TO STDOUT and psql's
-- \copy, verified offline by governance-verify (contrib/governance-verify).
------------------------------------------------------------------------------

-- Not SECURITY DEFINER: the caller reads the ledger with its own rights
-- (governance_auditor and governance_admin may).
CREATE FUNCTION governance.export(from_block bigint DEFAULT NULL, to_block bigint DEFAULT NULL)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_export';
COMMENT ON FUNCTION governance.export(bigint, bigint) IS
    'Evidence bundle of sealed blocks from_block..to_block (NULL: the first, the newest): keys, blocks, rows, checkpoint; one line per row, streamed when called in a select list';

CREATE FUNCTION governance.inclusion_proof(seq bigint)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_inclusion_proof';
COMMENT ON FUNCTION governance.inclusion_proof(bigint) IS
    'Proof that a sealed event is in its signed block: the event, its Merkle audit path (RFC 9162), the block header and the keys';

CREATE FUNCTION governance.consistency_proof(old_checkpoint jsonb, new_checkpoint jsonb DEFAULT NULL)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_consistency_proof';
COMMENT ON FUNCTION governance.consistency_proof(jsonb, jsonb) IS
    'Proof that the ledger at new_checkpoint (NULL: the newest block) extends the one at old_checkpoint: the block headers between them';

GRANT EXECUTE ON FUNCTION
    governance.export(bigint, bigint),
    governance.inclusion_proof(bigint),
    governance.consistency_proof(jsonb, jsonb)
TO governance_admin, governance_auditor;
