------------------------------------------------------------------------------
-- Retention's tables (47_retention.sql) come back from a dump like the
-- ledger: only through a restore's own COPY (src/restore.c), only into
-- empty tables.  Here, after 80_restore.sql has made _restore_load().
------------------------------------------------------------------------------

CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger_exports
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger_pruned
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
ALTER TABLE governance.ledger_exports ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.ledger_pruned ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.ledger_anchors ENABLE ALWAYS TRIGGER restore_load;
