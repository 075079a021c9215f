------------------------------------------------------------------------------
-- Backup and restore: what pg_dump writes of the extension's state
-- (pg_extension_config_dump above) comes back protected (src/restore.c,
-- docs/DESIGN.md "Backup and restore", README "Backup and restore")
------------------------------------------------------------------------------

-- One row per restore into this database: written when a superuser's COPY
-- first loads one of the extension's tables, finished by the sealer once
-- the restoring session has ended.  Not dumped: a dump of a restored
-- database carries the restore as its ledger event, governance.restored.
CREATE TABLE governance.restores (
    restore_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at      timestamptz NOT NULL,
    started_by      text NOT NULL,
    backend_pid     integer NOT NULL,
    backend_start   timestamptz NOT NULL,
    finished_at     timestamptz,
    key_unendorsed  boolean NOT NULL DEFAULT false,
    acknowledged_at timestamptz,
    summary         jsonb
);
COMMENT ON TABLE governance.restores IS
    'Restores of a dump into this database: when, by whom, and what the sealer found when it finished them';
COMMENT ON COLUMN governance.restores.key_unendorsed IS
    'the server''s signing key was not the restored current key: trust stays degraded until restore_trust() (acknowledged_at)';
REVOKE ALL ON governance.restores FROM PUBLIC;
GRANT SELECT ON governance.restores TO governance_admin, governance_auditor;

-- Fired by every statement that inserts into one of the extension's dumped
-- tables.  It does nothing unless the statement is a COPY FROM into that
-- very table (what pg_restore and a plain dump send); then only a
-- superuser may run it, only into a database whose ledger was empty when
-- the restoring session began, and it is what lets the ledger's
-- append-only guard take the rows.
CREATE FUNCTION governance._restore_load()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_restore_load';

-- Is this session restoring a dump (and the statement not a GRANT)?
CREATE FUNCTION governance._restoring()
RETURNS boolean
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'gov_sql_restoring';

CREATE TRIGGER restore_load BEFORE INSERT ON governance.agents
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_check AFTER INSERT ON governance.agents
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.entities
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.governed_tables
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_check AFTER INSERT ON governance.governed_tables
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.leases
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_check AFTER INSERT ON governance.leases
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.log_identity
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.policies
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.revocations_deferred
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
-- ALWAYS: session_replication_role = replica must not switch them off
ALTER TABLE governance.agents ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.agents ENABLE ALWAYS TRIGGER restore_check;
ALTER TABLE governance.entities ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.governed_tables ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.governed_tables ENABLE ALWAYS TRIGGER restore_check;
ALTER TABLE governance.leases ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.leases ENABLE ALWAYS TRIGGER restore_check;
ALTER TABLE governance.ledger ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.ledger_blocks ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.log_identity ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.policies ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.revocations_deferred ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.signing_keys ENABLE ALWAYS TRIGGER restore_load;

-- The ledger's sequence is dumped too (pg_dump writes its setval): a
-- restored ledger continues its seqs, never repeats one.
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_seq', '');
