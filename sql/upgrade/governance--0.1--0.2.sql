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

-- issue 17, policy language: explain() shows each policy's annotations
-- (@id("..."), ...) in a fifth column; a new OUT column changes the result
-- type, so the function is dropped and created again, with its privileges
-- as 50_policy.sql and 99_privileges.sql give them.
DROP FUNCTION governance.explain(text, text, text, jsonb);
CREATE FUNCTION governance.explain(principal text, action text, resource text,
    context jsonb DEFAULT '{}',
    OUT policy text, OUT effect text, OUT matched boolean, OUT error text,
    OUT annotations jsonb)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_explain';
COMMENT ON FUNCTION governance.explain(text, text, text, jsonb) IS
    'For each policy, in name order: did it match the request, did it fail to evaluate, and its annotations';
REVOKE ALL ON FUNCTION governance.explain(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.explain(text, text, text, jsonb)
TO governance_admin, governance_auditor;

-- issue 17, policy language: create_policies(source), a policy set in one
-- source, each policy named by its @id
CREATE FUNCTION governance.create_policies(source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_create_policies';
COMMENT ON FUNCTION governance.create_policies(text) IS
    'Create every policy of a policy set (a file of policies), each named by its @id; all or nothing; ledgered; returns the new policy-set hash';
REVOKE ALL ON FUNCTION governance.create_policies(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.create_policies(text) TO governance_admin;
