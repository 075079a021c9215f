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

------------------------------------------------------------------------------
-- issue 11, backup and restore: pg_dump warns of nothing and a dump comes
-- back protected (sql/install/20_keys, 60_leases, 70_govern, 80_restore)
------------------------------------------------------------------------------

-- 80_restore.sql
-- Is this session restoring a dump (and the statement not a GRANT)?
CREATE FUNCTION governance._restoring()
RETURNS boolean
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'gov_sql_restoring';

-- 70_govern.sql: the DDL guard lets a restoring session build a governed
-- table up in dump order.  First: the guard runs after every command below,
-- and its loop must not depend on the type of relid, which changes.
CREATE OR REPLACE FUNCTION governance._check_governed_tables()
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

-- 20_keys.sql: no foreign key from a table to itself (a circle to pg_dump)
ALTER TABLE governance.signing_keys DROP CONSTRAINT signing_keys_endorsed_by_fkey;
COMMENT ON COLUMN governance.signing_keys.endorsed_by IS
    'key id of the key that signed this one''s endorsement (rotate_key); NULL for a key nobody vouched for';

-- 60_leases.sql: roles by name in a dump (regrole), no self-reference
ALTER TABLE governance.agents ALTER COLUMN role_oid TYPE regrole USING role_oid::regrole;
COMMENT ON COLUMN governance.agents.role_oid IS
    'the login role (regrole: a dump names it, and a restore finds it by name)';
ALTER TABLE governance.leases DROP CONSTRAINT leases_parent_id_fkey;
ALTER TABLE governance.leases ALTER COLUMN role_oid TYPE regrole USING role_oid::regrole;
COMMENT ON COLUMN governance.leases.parent_id IS
    'the lease this one was delegated from (delegate()); NULL for an authorization';
COMMENT ON COLUMN governance.leases.role_oid IS
    'the role the lease was issued to (regrole: a dump names it)';

-- 70_govern.sql: tables by name in a dump (regclass)
ALTER TABLE governance.governed_tables ALTER COLUMN relid TYPE regclass USING relid::regclass;
ALTER TABLE governance.governed_tables ALTER COLUMN root_relid TYPE regclass USING root_relid::regclass;
COMMENT ON COLUMN governance.governed_tables.relid IS
    'the governed table (regclass: a dump names it, and a restore finds the new table by name)';

-- 80_restore.sql
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
ALTER TABLE governance.policies ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.revocations_deferred ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.signing_keys ENABLE ALWAYS TRIGGER restore_load;

-- The ledger's sequence is dumped too (pg_dump writes its setval): a
-- restored ledger continues its seqs, never repeats one.
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_seq', '');
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
-- issue 12, evidence export and proofs: sql/install/45_evidence.sql
CREATE FUNCTION governance.export(from_block bigint DEFAULT NULL, to_block bigint DEFAULT NULL)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_export';
COMMENT ON FUNCTION governance.export(bigint, bigint) IS
    'Evidence bundle of sealed blocks from_block..to_block (NULL: the first, the newest): keys, blocks, rows, checkpoint; one line per row, streamed when called in a select list';

CREATE FUNCTION governance.inclusion_proof(seq bigint)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_inclusion_proof';
COMMENT ON FUNCTION governance.inclusion_proof(bigint) IS
    'Proof that a sealed event is in its signed block: the event, its Merkle audit path (RFC 9162), the block header and the keys';

CREATE FUNCTION governance.consistency_proof(old_checkpoint jsonb, new_checkpoint jsonb DEFAULT NULL)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_consistency_proof';
COMMENT ON FUNCTION governance.consistency_proof(jsonb, jsonb) IS
    'Proof that the ledger at new_checkpoint (NULL: the newest block) extends the one at old_checkpoint: the block headers between them';

REVOKE ALL ON FUNCTION
    governance.export(bigint, bigint),
    governance.inclusion_proof(bigint),
    governance.consistency_proof(jsonb, jsonb)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    governance.export(bigint, bigint),
    governance.inclusion_proof(bigint),
    governance.consistency_proof(jsonb, jsonb)
TO governance_admin, governance_auditor;
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

-- issue 11, backup and restore: the restore's internal functions, like
-- every function of the schema, are not PUBLIC's (99_privileges.sql)
REVOKE ALL ON FUNCTION governance._restore_load(), governance._restoring() FROM PUBLIC;

-- cedar2: issue 17, entity tags (hasTag, getTag): a tags column, and
-- put_entity gains a tags argument (a new signature: dropped and created)
ALTER TABLE governance.entities ADD COLUMN tags jsonb NOT NULL DEFAULT '{}';
DROP FUNCTION governance.put_entity(text, text[], jsonb);
CREATE FUNCTION governance.put_entity(uid text, parents text[] DEFAULT '{}', attrs jsonb DEFAULT '{}',
    tags jsonb DEFAULT '{}')
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_put_entity_tags';
COMMENT ON FUNCTION governance.put_entity(text, text[], jsonb, jsonb) IS
    'Create or replace an entity (its parents, attributes and tags); ledgered';
REVOKE ALL ON FUNCTION governance.put_entity(text, text[], jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.put_entity(text, text[], jsonb, jsonb) TO governance_admin;

-- cedar2: issue 17, Cedar's JSON entity format: put_entities(jsonb),
-- export_entities() and their helpers (sql/install/55_cedar_entities.sql)

-- A value of Cedar's JSON as the extension keeps it: every
-- {"__entity": {"type": T, "id": I}} becomes {"__entity": "T::\"I\""};
-- the rest ({"__extn": ...} included) is kept as it is.
CREATE FUNCTION governance._cedar_value_in(v jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(v) = 'array' THEN
        RETURN coalesce((SELECT jsonb_agg(governance._cedar_value_in(e) ORDER BY n)
                           FROM jsonb_array_elements(v) WITH ORDINALITY AS a(e, n)), '[]'::jsonb);
    ELSIF jsonb_typeof(v) <> 'object' THEN
        RETURN v;
    ELSIF v ? '__entity' AND jsonb_typeof(v -> '__entity') = 'object' THEN
        RETURN jsonb_build_object('__entity', governance._cedar_uid(v -> '__entity', 'an entity reference'));
    END IF;
    RETURN coalesce((SELECT jsonb_object_agg(k, governance._cedar_value_in(e))
                       FROM jsonb_each(v) AS o(k, e)), '{}'::jsonb);
END
$$;

-- {"type": "Org::Team", "id": "a\"b"} (or that inside {"__entity": ...}) as
-- the canonical uid text Org::Team::"a\"b"; what says where, for errors.
CREATE FUNCTION governance._cedar_uid(u jsonb, what text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(u) = 'object' AND u ? '__entity' AND (SELECT count(*) FROM jsonb_object_keys(u)) = 1 THEN
        u := u -> '__entity';
    END IF;
    IF jsonb_typeof(u) IS DISTINCT FROM 'object' OR jsonb_typeof(u -> 'type') IS DISTINCT FROM 'string'
       OR jsonb_typeof(u -> 'id') IS DISTINCT FROM 'string' OR (SELECT count(*) FROM jsonb_object_keys(u)) <> 2 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s must be {"type": "...", "id": "..."}', what),
            DETAIL = format('Found %s.', left(coalesce(u::text, 'nothing'), 200));
    END IF;
    RETURN (u ->> 'type') || '::"' || replace(replace(u ->> 'id', '\', '\\'), '"', '\"') || '"';
END
$$;

-- The reverse of _cedar_value_in, for export_entities().
CREATE FUNCTION governance._cedar_value_out(v jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(v) = 'array' THEN
        RETURN coalesce((SELECT jsonb_agg(governance._cedar_value_out(e) ORDER BY n)
                           FROM jsonb_array_elements(v) WITH ORDINALITY AS a(e, n)), '[]'::jsonb);
    ELSIF jsonb_typeof(v) <> 'object' THEN
        RETURN v;
    ELSIF v ? '__entity' AND jsonb_typeof(v -> '__entity') = 'string'
          AND (SELECT count(*) FROM jsonb_object_keys(v)) = 1 THEN
        RETURN jsonb_build_object('__entity', governance._cedar_uid_out(v ->> '__entity'));
    END IF;
    RETURN coalesce((SELECT jsonb_object_agg(k, governance._cedar_value_out(e))
                       FROM jsonb_each(v) AS o(k, e)), '{}'::jsonb);
END
$$;

-- Type::"id" (canonical, as put_entity stored it) as {"type": ..., "id": ...}
CREATE FUNCTION governance._cedar_uid_out(uid text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'type', substring(uid FROM '^(.*?)::"'),
        'id', regexp_replace(substring(uid FROM '^.*?::"(.*)"$'), '\\(.)', '\1', 'g'))
$$;

CREATE FUNCTION governance.put_entities(entities jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e jsonb;
    n integer := 0;
    uid text;
BEGIN
    IF entities IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'entities must not be NULL';
    END IF;
    IF jsonb_typeof(entities) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'entities must be a JSON array of entities in Cedar''s JSON entity format',
            HINT = 'Each element is {"uid": {"type": "User", "id": "alice"}, "attrs": {...}, "parents": [...], "tags": {...}}.';
    END IF;
    FOR e IN SELECT x FROM jsonb_array_elements(entities) WITH ORDINALITY AS a(x, i) ORDER BY i LOOP
        n := n + 1;
        IF jsonb_typeof(e) <> 'object' OR NOT e ? 'uid'
           OR EXISTS (SELECT FROM jsonb_object_keys(e) k WHERE k NOT IN ('uid', 'attrs', 'parents', 'tags')) THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('entity %s must be an object with "uid" and optionally "attrs", "parents", "tags"', n),
                DETAIL = format('Found %s.', left(e::text, 200));
        END IF;
        uid := governance._cedar_uid(e -> 'uid', format('the uid of entity %s', n));
        IF e ? 'parents' AND jsonb_typeof(e -> 'parents') <> 'array' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('the parents of entity %s must be an array', uid);
        END IF;
        PERFORM governance.put_entity(uid,
            coalesce((SELECT array_agg(governance._cedar_uid(p, format('a parent of entity %s', uid)) ORDER BY i)
                        FROM jsonb_array_elements(e -> 'parents') WITH ORDINALITY AS pa(p, i)), '{}'),
            governance._cedar_value_in(coalesce(e -> 'attrs', '{}')),
            governance._cedar_value_in(coalesce(e -> 'tags', '{}')));
    END LOOP;
    -- as Cedar, an entity twice is an error (the statement undoes it all)
    SELECT u INTO uid FROM (SELECT governance._cedar_uid(x -> 'uid', '') AS u
                              FROM jsonb_array_elements(entities) AS a(x)) d
     GROUP BY u HAVING count(*) > 1 ORDER BY u LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('entity %s is in the array twice', uid);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION governance.put_entities(jsonb) IS
    'Create or replace every entity of an array in Cedar''s JSON entity format, each as put_entity would (and ledgered); all or nothing; returns how many';

CREATE FUNCTION governance.export_entities()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'uid', governance._cedar_uid_out(e.uid),
               'attrs', governance._cedar_value_out(e.attrs),
               'parents', (SELECT coalesce(jsonb_agg(governance._cedar_uid_out(p) ORDER BY i), '[]'::jsonb)
                             FROM unnest(e.parents) WITH ORDINALITY AS pa(p, i)),
               'tags', governance._cedar_value_out(e.tags)) ORDER BY e.uid), '[]'::jsonb)
      FROM governance.entities e
$$;
COMMENT ON FUNCTION governance.export_entities() IS
    'The entity store in Cedar''s JSON entity format (put_entities reads it back), in uid order';

REVOKE ALL ON FUNCTION governance._cedar_value_in(jsonb), governance._cedar_uid(jsonb, text),
    governance._cedar_value_out(jsonb), governance._cedar_uid_out(text),
    governance.put_entities(jsonb), governance.export_entities() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance._cedar_value_in(jsonb), governance._cedar_uid(jsonb, text),
    governance.put_entities(jsonb) TO governance_admin;
GRANT EXECUTE ON FUNCTION governance._cedar_value_out(jsonb), governance._cedar_uid_out(text),
    governance.export_entities() TO governance_admin, governance_auditor;
