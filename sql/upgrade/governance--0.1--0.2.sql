/* governance--0.1--0.2.sql -- ALTER EXTENSION governance UPDATE from 0.1 */
\echo Use "ALTER EXTENSION governance UPDATE" to load this file. \quit

-- Every change to sql/install/ since 0.1 has its counterpart here, in the
-- same order; test/system/upgrade.sh compares the result with a fresh
-- install of 0.2, object by object.

-- 90_ddl_guard.sql: the guard admits ALTER EXTENSION governance UPDATE and
-- COMMENT ON EXTENSION governance (pg_dump writes one)
-- SECURITY DEFINER: it fires for every role's DDL and reads only catalogs
CREATE OR REPLACE FUNCTION governance._ddl_guard_end()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    PERFORM governance._check_governed_tables();
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        CONTINUE WHEN r.in_extension;
        -- ALTER EXTENSION governance UPDATE (its script's commands are
        -- in_extension; ADD/DROP of members is refused before it starts),
        -- and the COMMENT ON EXTENSION that every pg_dump writes
        CONTINUE WHEN r.classid = 'pg_extension'::regclass
                      AND r.command_tag IN ('ALTER EXTENSION', 'COMMENT');
        IF governance._is_ledger_object(r.classid, r.objid) THEN
            RAISE EXCEPTION 'objects of the governance extension cannot be altered (% on %)',
                    r.command_tag, r.object_identity
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'The ledger and its blocks are append-only evidence.';
        END IF;
    END LOOP;
END
$$;

-- issue 12, evidence export and proofs: sql/install/45_evidence.sql
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

REVOKE ALL ON FUNCTION
    governance.export(bigint, bigint),
    governance.inclusion_proof(bigint),
    governance.consistency_proof(jsonb, jsonb)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    governance.export(bigint, bigint),
    governance.inclusion_proof(bigint),
    governance.consistency_proof(jsonb, jsonb)
TO governance_admin, governance_auditor;
