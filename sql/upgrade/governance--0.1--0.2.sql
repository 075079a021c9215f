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

-- issue 11, poolers and application roles: last_termination() (60_leases.sql)
CREATE FUNCTION governance.last_termination(
    OUT at timestamptz, OUT error_code text, OUT lease_id uuid, OUT message text)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_last_termination';
COMMENT ON FUNCTION governance.last_termination() IS
    'What the governance enforcer last ended in this session (SQLSTATE 57L01 cancel, 57L02 terminate), until the end of the next transaction';
REVOKE ALL ON FUNCTION governance.last_termination() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.last_termination() TO governance_admin, governance_agent;
