------------------------------------------------------------------------------
-- DDL guard (D4): ledger objects cannot be altered or dropped
------------------------------------------------------------------------------

CREATE FUNCTION governance._ddl_guard_start()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_ddl_guard_start';

CREATE FUNCTION governance._is_ledger_object(classid oid, objid oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH guarded(relid) AS (
        SELECT c.oid FROM pg_class c
         WHERE c.relnamespace = 'governance'::regnamespace
           AND c.relname IN ('ledger', 'ledger_blocks', 'ledger_seq')
    )
    SELECT CASE classid
        WHEN 'pg_class'::regclass THEN
            objid IN (SELECT relid FROM guarded)
            OR objid IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid IN (SELECT relid FROM guarded))
            OR objid IN (SELECT c.reltoastrelid FROM pg_class c WHERE c.oid IN (SELECT relid FROM guarded))
        WHEN 'pg_trigger'::regclass THEN
            EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = objid AND t.tgrelid IN (SELECT relid FROM guarded))
        WHEN 'pg_rewrite'::regclass THEN
            EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.oid = objid AND r.ev_class IN (SELECT relid FROM guarded))
        WHEN 'pg_policy'::regclass THEN
            EXISTS (SELECT 1 FROM pg_policy p WHERE p.oid = objid AND p.polrelid IN (SELECT relid FROM guarded))
        WHEN 'pg_constraint'::regclass THEN
            EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = objid AND c.conrelid IN (SELECT relid FROM guarded))
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
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        CONTINUE WHEN r.in_extension;
        IF governance._is_ledger_object(r.classid, r.objid) THEN
            RAISE EXCEPTION 'governance ledger objects cannot be altered (% on %)',
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
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION governance._ddl_guard_start();
CREATE EVENT TRIGGER governance_guard_end ON ddl_command_end
    EXECUTE FUNCTION governance._ddl_guard_end();
CREATE EVENT TRIGGER governance_guard_drop ON sql_drop
    EXECUTE FUNCTION governance._ddl_guard_drop();
