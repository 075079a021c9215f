------------------------------------------------------------------------------
-- Retention (issue 12, section 4; src/retention.c): archived blocks lose
-- their rows, never their signed headers.  mark_exported() records that a
-- bundle is archived; prune(before_block) removes the rows of exported
-- blocks older than governance.retention_min_age, keeping the anchors that
-- chains and later bundles link to.  All three tables are append-only
-- through the extension (the ledger's guard).
------------------------------------------------------------------------------

CREATE TABLE governance.ledger_exports (
    from_block  bigint NOT NULL,
    to_block    bigint NOT NULL,
    block_hash  bytea NOT NULL,
    marked_at   timestamptz NOT NULL,
    marked_by   text NOT NULL,
    seq         bigint NOT NULL
);
COMMENT ON TABLE governance.ledger_exports IS
    'Block ranges whose evidence bundle an administrator archived (mark_exported); prune() removes only these';

CREATE TABLE governance.ledger_pruned (
    block_id    bigint PRIMARY KEY,
    row_count   bigint NOT NULL,
    pruned_at   timestamptz NOT NULL,
    seq         bigint NOT NULL
);
COMMENT ON TABLE governance.ledger_pruned IS
    'Blocks whose rows prune() removed: verify_ledger() checks their header, chain and signature only';

CREATE TABLE governance.ledger_anchors (
    seq         bigint PRIMARY KEY,
    lease_id    uuid,
    kind        text NOT NULL,
    link        bytea NOT NULL
);
CREATE INDEX ledger_anchors_lease_idx ON governance.ledger_anchors (lease_id, seq) WHERE lease_id IS NOT NULL;
COMMENT ON TABLE governance.ledger_anchors IS
    'Pruned rows that a later row links to or that ended their chain: seq, lease, kind and link (a bundle''s anchor lines)';

CREATE TRIGGER exports_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger_exports
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER exports_no_truncate BEFORE TRUNCATE ON governance.ledger_exports
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER pruned_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger_pruned
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER pruned_no_truncate BEFORE TRUNCATE ON governance.ledger_pruned
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER anchors_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger_anchors
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER anchors_no_truncate BEFORE TRUNCATE ON governance.ledger_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
ALTER TABLE governance.ledger_exports ENABLE ALWAYS TRIGGER exports_append_only;
ALTER TABLE governance.ledger_exports ENABLE ALWAYS TRIGGER exports_no_truncate;
ALTER TABLE governance.ledger_pruned ENABLE ALWAYS TRIGGER pruned_append_only;
ALTER TABLE governance.ledger_pruned ENABLE ALWAYS TRIGGER pruned_no_truncate;
ALTER TABLE governance.ledger_anchors ENABLE ALWAYS TRIGGER anchors_append_only;
ALTER TABLE governance.ledger_anchors ENABLE ALWAYS TRIGGER anchors_no_truncate;

REVOKE ALL ON governance.ledger_exports, governance.ledger_pruned, governance.ledger_anchors FROM PUBLIC;
GRANT SELECT ON governance.ledger_exports, governance.ledger_pruned, governance.ledger_anchors
    TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_exports', '');
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_pruned', '');
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_anchors', '');

CREATE FUNCTION governance.mark_exported(from_block bigint, to_block bigint, block_hash bytea)
RETURNS bigint
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_mark_exported';
COMMENT ON FUNCTION governance.mark_exported(bigint, bigint, bytea) IS
    'Record that the bundle of blocks from_block..to_block is archived (block_hash: to_block''s, from the bundle''s checkpoint line); ledgered';

CREATE FUNCTION governance.prune(before_block bigint)
RETURNS bigint
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_prune';
COMMENT ON FUNCTION governance.prune(bigint) IS
    'Remove the rows of the exported blocks before before_block older than governance.retention_min_age, keeping their signed headers; ledgered; returns the rows removed';

REVOKE ALL ON FUNCTION governance.mark_exported(bigint, bigint, bytea), governance.prune(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.mark_exported(bigint, bigint, bytea), governance.prune(bigint)
TO governance_admin;
