------------------------------------------------------------------------------
-- DDL guard (D4): ledger objects cannot be altered or dropped
------------------------------------------------------------------------------

CREATE FUNCTION governance._ddl_guard_start()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_ddl_guard_start';

-- Is (classid, objid) the governance extension, one of its members, or an
-- index, trigger, rule, policy or constraint on a member relation?  By
-- membership, not by name, so that a rename cannot slip past.
CREATE FUNCTION governance._is_ledger_object(classid oid, objid oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'governance'),
    member(classid, objid) AS (
        SELECT d.classid, d.objid FROM pg_depend d, ext
         WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    ),
    member_rel(relid) AS (
        SELECT objid FROM member WHERE classid = 'pg_class'::regclass
    )
    SELECT (classid = 'pg_extension'::regclass AND objid IN (SELECT oid FROM ext))
        OR (classid, objid) IN (SELECT * FROM member)
        OR CASE classid
            WHEN 'pg_class'::regclass THEN
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = objid AND i.indrelid IN (SELECT relid FROM member_rel))
            WHEN 'pg_trigger'::regclass THEN
                EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = objid AND t.tgrelid IN (SELECT relid FROM member_rel))
            WHEN 'pg_rewrite'::regclass THEN
                EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.oid = objid AND r.ev_class IN (SELECT relid FROM member_rel))
            WHEN 'pg_policy'::regclass THEN
                EXISTS (SELECT 1 FROM pg_policy p WHERE p.oid = objid AND p.polrelid IN (SELECT relid FROM member_rel))
            WHEN 'pg_constraint'::regclass THEN
                EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = objid AND c.conrelid IN (SELECT relid FROM member_rel))
            ELSE false
        END
$$;

-- SECURITY DEFINER: it fires for every role's DDL and reads only catalogs
CREATE FUNCTION governance._ddl_guard_end()
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

-- SECURITY DEFINER: it fires for every role's DDL and reads only catalogs
CREATE FUNCTION governance._ddl_guard_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    IF current_setting('governance.allow_drop', true) = 'on' THEN
        RETURN;
    END IF;
    PERFORM governance._check_governed_tables();
    FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF r.schema_name = 'governance'
           AND (r.object_name IN ('ledger', 'ledger_blocks', 'ledger_seq', 'ledger_pkey',
                                  'ledger_lease_idx', 'ledger_blocks_pkey')
                OR r.object_identity LIKE '% on governance.ledger'
                OR r.object_identity LIKE '% on governance.ledger_blocks'
                OR r.object_identity LIKE 'governance.ledger.%'
                OR r.object_identity LIKE 'governance.ledger_blocks.%') THEN
            RAISE EXCEPTION 'governance ledger objects cannot be dropped (%)', r.object_identity
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'A superuser who means it can SET governance.allow_drop = on first.';
        END IF;
    END LOOP;
END
$$;

CREATE EVENT TRIGGER governance_guard_start ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'ALTER EXTENSION', 'ALTER SCHEMA')
    EXECUTE FUNCTION governance._ddl_guard_start();
CREATE EVENT TRIGGER governance_guard_end ON ddl_command_end
    EXECUTE FUNCTION governance._ddl_guard_end();
CREATE EVENT TRIGGER governance_guard_drop ON sql_drop
    EXECUTE FUNCTION governance._ddl_guard_drop();
-- ALWAYS: session_replication_role = replica must not switch them off
ALTER EVENT TRIGGER governance_guard_start ENABLE ALWAYS;
ALTER EVENT TRIGGER governance_guard_end ENABLE ALWAYS;
ALTER EVENT TRIGGER governance_guard_drop ENABLE ALWAYS;
