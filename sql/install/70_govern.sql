------------------------------------------------------------------------------
-- Enforcement next to the data (D11): governed tables
------------------------------------------------------------------------------

CREATE TABLE governance.governed_tables (
    relid           regclass PRIMARY KEY,
    action_prefix   text NOT NULL,
    resource_column text NOT NULL,
    governed_at     timestamptz NOT NULL,
    governed_by     text NOT NULL,
    policies        jsonb NOT NULL,
    root_relid      regclass NOT NULL,
    former_owner    text NOT NULL,
    revoked         jsonb NOT NULL DEFAULT '[]',
    had_rls         boolean NOT NULL DEFAULT false,
    had_force_rls   boolean NOT NULL DEFAULT false
);
COMMENT ON COLUMN governance.governed_tables.relid IS
    'the governed table (regclass: a dump names it, and a restore finds the new table by name)';
COMMENT ON COLUMN governance.governed_tables.root_relid IS
    'the table govern_table() was called on: every partition and inheritance child is governed with it';
COMMENT ON COLUMN governance.governed_tables.former_owner IS
    'who owned the table before governance_owner did; ungovern_table() gives it back';
COMMENT ON COLUMN governance.governed_tables.had_rls IS
    'row-level security was enabled (had_force_rls: forced) before: ungovern_table() leaves it so';
COMMENT ON COLUMN governance.governed_tables.revoked IS
    'REFERENCES and TRIGGER privileges govern_table() revoked; ungovern_table() grants them again';
COMMENT ON TABLE governance.governed_tables IS
    'Tables under governance: forced row-level security tied to live leases, and a lineage trigger';
REVOKE ALL ON governance.governed_tables FROM PUBLIC;
GRANT SELECT ON governance.governed_tables TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.governed_tables', '');

CREATE FUNCTION governance._lineage()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_lineage_trigger';

CREATE FUNCTION governance._refuse_truncate()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_refuse_truncate';

CREATE FUNCTION governance._governing()
RETURNS boolean
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'gov_sql_governing';

CREATE FUNCTION governance._govern_new_members()
RETURNS integer
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_govern_new_members';

-- Would the governed tables still be governed after this DDL?  Called by
-- the DDL guard after every command; govern_table() and ungovern_table()
-- are let through.
CREATE FUNCTION governance._check_governed_tables()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    why text;
    -- a session restoring a dump (src/restore.c) creates a governed table's
    -- policies, triggers and row-level security after its data: until then
    -- only what keeps its rows from other roles is checked, and a GRANT on
    -- it is checked in full (governance._restoring() is false for a GRANT)
    restoring boolean := governance._restoring();
BEGIN
    IF governance._governing() THEN
        RETURN;
    END IF;
    -- a new partition or child of a governed table (only a superuser can
    -- make one) is governed with its tree; not while a dump is restored,
    -- which creates the members' triggers itself
    IF NOT restoring AND EXISTS (SELECT 1 FROM governance.governed_tables) THEN
        PERFORM governance._govern_new_members();
    END IF;
    FOR t IN SELECT g.relid::oid AS relid, g.policies FROM governance.governed_tables g LOOP
        why := NULL;
        IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid) THEN
            why := 'the table is gone';
        ELSIF (SELECT c.relowner FROM pg_class c WHERE c.oid = t.relid)
              IS DISTINCT FROM (SELECT r.oid FROM pg_roles r WHERE r.rolname = 'governance_owner') THEN
            why := 'it must belong to governance_owner';
        ELSIF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                       WHERE c.oid = t.relid AND a.privilege_type IN ('REFERENCES', 'TRIGGER')
                         AND a.grantee <> c.relowner) THEN
            why := 'REFERENCES and TRIGGER privileges on it are not granted to anyone';
        ELSIF EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = t.relid) THEN
            why := 'it may have no rules';
        ELSIF EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = t.relid AND NOT tg.tgisinternal
                       AND tg.tgname NOT IN ('governance_lineage', 'governance_no_truncate')) THEN
            why := 'it may have no triggers but governance''s';
        ELSIF restoring THEN
            NULL;
        ELSIF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid
                          AND c.relrowsecurity AND c.relforcerowsecurity) THEN
            why := 'row-level security would no longer be enabled and forced';
        ELSIF (SELECT jsonb_object_agg(p.polname, jsonb_build_array(pg_get_expr(p.polqual, p.polrelid),
                                                                    pg_get_expr(p.polwithcheck, p.polrelid)))
                 FROM pg_policy p WHERE p.polrelid = t.relid AND p.polpermissive)
              IS DISTINCT FROM t.policies THEN
            why := 'its permissive row-level security policies would change';
        ELSIF NOT EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = t.relid
                          AND tg.tgname = 'governance_lineage' AND tg.tgenabled = 'A')
           OR NOT EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = t.relid
                          AND tg.tgname = 'governance_no_truncate' AND tg.tgenabled = 'A') THEN
            why := 'its governance triggers would be dropped or disabled';
        END IF;
        IF why IS NOT NULL THEN
            RAISE EXCEPTION 'governed table % cannot be changed this way: %',
                    coalesce(t.relid::regclass::text, t.relid::text), why
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Take it out of governance first with governance.ungovern_table() (governance_admin, ledgered).';
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION governance.govern_table(tbl regclass, action_prefix text, resource_column name)
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_govern_table';
COMMENT ON FUNCTION governance.govern_table(regclass, text, name) IS
    'Put a table under row-level security tied to live leases and record every write in the ledger';

CREATE FUNCTION governance.ungovern_table(tbl regclass)
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_ungovern_table';
COMMENT ON FUNCTION governance.ungovern_table(regclass) IS
    'Take a table out of governance (ledgered)';

GRANT EXECUTE ON FUNCTION governance.govern_table(regclass, text, name),
                          governance.ungovern_table(regclass)
TO governance_admin;
