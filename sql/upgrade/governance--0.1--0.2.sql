/* governance--0.1--0.2.sql -- ALTER EXTENSION governance UPDATE from 0.1 */
\echo Use "ALTER EXTENSION governance UPDATE" to load this file. \quit

-- Every change to sql/install/ since 0.1 has its counterpart here, in the
-- same order; test/system/upgrade.sh compares the result with a fresh
-- install of 0.2, object by object.

-- issue 11, upgrades: first of all, the server must run the new library
-- (installed, and the server restarted: it is preloaded).  0.1's library
-- has no governance.library_version.
DO $$
BEGIN
    IF pg_catalog.current_setting('governance.library_version', true) IS NULL THEN
        RAISE EXCEPTION 'the governance library loaded by this server is older than version 0.2'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Install the new version''s files, restart the server (the library is preloaded), '
                         'then run ALTER EXTENSION governance UPDATE.';
    END IF;
END
$$;

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

-- issue 11, placement: the extension's schema is governance (governance.control
-- says schema = governance, not relocatable), as in a fresh install, where
-- PostgreSQL creates the schema before the script runs.  0.1 created it in
-- its script, as a member, and was placed in the first schema of
-- search_path.  A schema cannot contain its extension and belong to it, so
-- the schema leaves the members (it stays, with its privileges, recorded
-- again below as the extension's initial ones, as a fresh install records
-- them), and the extension moves into it.  PostgreSQL has no command that
-- moves a non-relocatable extension; this does what ALTER EXTENSION ...
-- SET SCHEMA does to the extension itself (its row and its dependency).
ALTER EXTENSION governance DROP SCHEMA governance;
DELETE FROM pg_catalog.pg_depend
 WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND objid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_extension
                                      WHERE extname OPERATOR(pg_catalog.=) 'governance')
   AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
   AND deptype OPERATOR(pg_catalog.=) 'n';
INSERT INTO pg_catalog.pg_depend (classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype)
SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass, e.oid, 0,
       'pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, 0, 'n'
  FROM pg_catalog.pg_extension e, pg_catalog.pg_namespace n
 WHERE e.extname OPERATOR(pg_catalog.=) 'governance' AND n.nspname OPERATOR(pg_catalog.=) 'governance';
UPDATE pg_catalog.pg_extension
   SET extnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) 'governance')
 WHERE extname OPERATOR(pg_catalog.=) 'governance';
REVOKE ALL ON SCHEMA governance FROM PUBLIC;
GRANT USAGE ON SCHEMA governance TO governance_admin, governance_agent, governance_auditor;
