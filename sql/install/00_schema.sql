-- Canonical encodings are defined over UTF-8 (docs/FORMAT.md).
DO $$
BEGIN
    IF pg_catalog.current_setting('server_encoding') OPERATOR(pg_catalog.<>) 'UTF8' THEN
        RAISE EXCEPTION 'governance requires a UTF8 database, not %',
            pg_catalog.current_setting('server_encoding')
            USING ERRCODE = 'feature_not_supported';
    END IF;
END
$$;

-- The schema is the control file's (schema = governance): PostgreSQL creates
-- it before this script runs, it is the extension's schema (\dx), and, as
-- the schema that contains the extension, it is not one of its members.
REVOKE ALL ON SCHEMA governance FROM PUBLIC;

-- Roles are cluster-wide: create them once, keep them across DROP EXTENSION.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['governance_admin', 'governance_agent', 'governance_auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

-- The owner of every governed table (src/govern.c): it can do nothing
-- itself (no login, no inherited privileges) and must never have members.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'governance_owner') THEN
        CREATE ROLE governance_owner NOLOGIN NOINHERIT;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA governance TO governance_admin, governance_agent, governance_auditor;
