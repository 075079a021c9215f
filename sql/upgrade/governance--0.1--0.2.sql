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

-- mon: monitoring (issue 11, item 4): governance.stats, stats_principals,
-- backend_leases, as sql/install/85_monitoring.sql creates them
CREATE FUNCTION governance.stats(
    OUT stats_reset timestamptz,
    OUT leases_live bigint, OUT leases_pending bigint, OUT leases_ended bigint,
    OUT leases_capacity integer,
    OUT authorizations_allowed bigint, OUT authorizations_denied bigint,
    OUT revocations bigint,
    OUT enforcer_rounds bigint, OUT enforcer_last_beat timestamptz,
    OUT cancellations_sent bigint,
    OUT sealer_last_beat timestamptz,
    OUT unsealed_rows bigint, OUT oldest_unsealed_at timestamptz,
    OUT seal_lag_seconds double precision,
    OUT last_block_id bigint, OUT last_block_at timestamptz,
    OUT verifier_rounds bigint, OUT verifier_failures bigint,
    OUT verifier_last_beat timestamptz, OUT verified_through_block bigint,
    OUT verifier_last_ok boolean, OUT verifier_last_at timestamptz,
    OUT events_in_queue bigint, OUT events_spilling boolean,
    OUT events_queued bigint, OUT events_spooled bigint, OUT events_lost bigint,
    OUT trusted boolean, OUT trust_state text)
RETURNS record
LANGUAGE C STRICT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_stats';
COMMENT ON FUNCTION governance.stats() IS
    'Counters (since stats_reset, the server start) and gauges for monitoring; no ledger contents';

CREATE VIEW governance.stats AS
    SELECT * FROM governance.stats();
COMMENT ON VIEW governance.stats IS
    'Counters (since stats_reset, the server start) and gauges for monitoring; readable by pg_monitor';

CREATE FUNCTION governance.stats_principals(
    OUT principal text, OUT leases_live bigint, OUT leases_pending bigint,
    OUT leases_ended bigint)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_stats_principals';
COMMENT ON FUNCTION governance.stats_principals() IS
    'Entries of the shared lease table per principal (what max_leases_per_principal limits)';

CREATE VIEW governance.stats_principals AS
    SELECT * FROM governance.stats_principals();
COMMENT ON VIEW governance.stats_principals IS
    'Entries of the shared lease table per principal; readable by pg_monitor';

CREATE FUNCTION governance.backend_leases(
    OUT pid integer, OUT lease_id uuid, OUT principal text, OUT action text,
    OUT resource text, OUT state text, OUT expires_at timestamptz,
    OUT session_bound boolean)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_backend_leases';
COMMENT ON FUNCTION governance.backend_leases() IS
    'Which backend of this database is attached to which lease; governance_admin only';

CREATE VIEW governance.backend_leases AS
    SELECT * FROM governance.backend_leases();
COMMENT ON VIEW governance.backend_leases IS
    'Which backend of this database is attached to which lease; governance_admin only';

REVOKE ALL ON FUNCTION governance.stats(), governance.stats_principals(),
    governance.backend_leases() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.stats(), governance.stats_principals()
TO pg_monitor, governance_admin, governance_auditor;
GRANT SELECT ON governance.stats, governance.stats_principals
TO pg_monitor, governance_admin, governance_auditor;
GRANT EXECUTE ON FUNCTION governance.backend_leases() TO governance_admin;
-- the schema, for pg_monitor: it holds nothing pg_monitor may use but these
GRANT USAGE ON SCHEMA governance TO pg_monitor;
GRANT SELECT ON governance.backend_leases TO governance_admin;

-- mon: replication-safe policy and entity versions (issue 15, item 4): row
-- triggers, which logical replication's apply worker fires, as
-- sql/install/50_policy.sql creates them
CREATE TRIGGER policies_changed_row AFTER INSERT OR UPDATE OR DELETE
    ON governance.policies FOR EACH ROW EXECUTE FUNCTION governance._policy_changed();
CREATE TRIGGER entities_changed_row AFTER INSERT OR UPDATE OR DELETE
    ON governance.entities FOR EACH ROW EXECUTE FUNCTION governance._policy_changed();
ALTER TABLE governance.policies ENABLE ALWAYS TRIGGER policies_changed_row;
ALTER TABLE governance.entities ENABLE ALWAYS TRIGGER entities_changed_row;
-- scale: issue 14, items 1 and 2, issue 15, item 6: governed tables'
-- row-level security without a sub-select, governance.lease_covers()
-- (75_scale.sql), and the tables governed by 0.1 given that form
CREATE FUNCTION governance.lease_covers(action text, resource text)
RETURNS boolean
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'gov_sql_lease_covers';
COMMENT ON FUNCTION governance.lease_covers(text, text) IS
    'true when a live lease the current role attached covers action on resource, as of the first call of this execution (row-level security of governed tables; a hashed set, one lookup per row)';
GRANT EXECUTE ON FUNCTION governance.lease_covers(text, text) TO governance_admin, governance_agent;
CREATE FUNCTION governance._reform_policies()
RETURNS integer
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_reform_policies';
REVOKE ALL ON FUNCTION governance.lease_covers(text, text), governance._reform_policies() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.lease_covers(text, text) TO PUBLIC;
SELECT governance._reform_policies();
-- pop: proof of possession (issue 13).  authorize, delegate, heartbeat and
-- attach take a trailing proof text DEFAULT NULL: a new argument changes
-- the signature, so each is dropped and created again (every existing call
-- form still works), with its privileges as 60_leases.sql and
-- 99_privileges.sql give them; then the challenges, the revoked agent keys
-- and their functions (65_pop.sql).
DROP FUNCTION governance.authorize(text, text, text, jsonb, interval, bytea);
DROP FUNCTION governance.delegate(uuid, text, text, text, jsonb, interval);
DROP FUNCTION governance.heartbeat(uuid, bytea);
DROP FUNCTION governance.attach(text, boolean);
CREATE FUNCTION governance.authorize(
    principal text, action text, resource text,
    context jsonb DEFAULT '{}', ttl interval DEFAULT '5 minutes', measurement bytea DEFAULT NULL,
    proof text DEFAULT NULL,
    OUT decision text, OUT lease_id uuid, OUT artifact text, OUT expires_at timestamptz,
    OUT reasons text[])
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_authorize_pop';
COMMENT ON FUNCTION governance.authorize(text, text, text, jsonb, interval, bytea, text) IS
    'Decide a request by policy; on allow, a lease and its signed artifact. Always ledgered';

CREATE FUNCTION governance.delegate(
    parent uuid, principal text, action text, resource text,
    context jsonb DEFAULT '{}', ttl interval DEFAULT '5 minutes',
    proof text DEFAULT NULL,
    OUT decision text, OUT lease_id uuid, OUT artifact text, OUT expires_at timestamptz,
    OUT reasons text[])
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_delegate_pop';
COMMENT ON FUNCTION governance.delegate(uuid, text, text, text, jsonb, interval, text) IS
    'A child lease under a live parent: the parent''s action on its resource or one within it, allowed by policy on its own, never outliving the parent';

CREATE FUNCTION governance.heartbeat(lease_id uuid, measurement bytea DEFAULT NULL, proof text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_heartbeat_pop';
COMMENT ON FUNCTION governance.heartbeat(uuid, bytea, text) IS
    'Renew a live lease after re-checking its measurement and the policy; NULL when that revoked it';

CREATE FUNCTION governance.attach(artifact text, session boolean DEFAULT false, proof text DEFAULT NULL)
RETURNS uuid
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_attach_pop';
COMMENT ON FUNCTION governance.attach(text, boolean, text) IS
    'Bind the transaction (or, with session => true, the session) to the artifact''s live lease';

REVOKE ALL ON FUNCTION
    governance.authorize(text, text, text, jsonb, interval, bytea, text),
    governance.delegate(uuid, text, text, text, jsonb, interval, text),
    governance.heartbeat(uuid, bytea, text),
    governance.attach(text, boolean, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    governance.authorize(text, text, text, jsonb, interval, bytea, text),
    governance.delegate(uuid, text, text, text, jsonb, interval, text),
    governance.heartbeat(uuid, bytea, text),
    governance.attach(text, boolean, text)
TO governance_admin, governance_agent;

-- A challenge is consumed by deleting its row in the request's own
-- transaction: a rolled-back request consumed nothing (src/pop.c).  Not
-- dumped: challenges live for seconds (governance.challenge_ttl).
CREATE TABLE governance.pop_challenges (
    nonce           bytea PRIMARY KEY CHECK (pg_catalog.length(nonce) OPERATOR(pg_catalog.=) 32),
    role_oid        oid NOT NULL,
    server_key_id   text NOT NULL,
    issued_at       timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX pop_challenges_role_idx ON governance.pop_challenges (role_oid, expires_at);
COMMENT ON TABLE governance.pop_challenges IS
    'Unused nonces from challenge(), each good for one signed request of its role until expires_at';
REVOKE ALL ON governance.pop_challenges FROM PUBLIC;
GRANT SELECT ON governance.pop_challenges TO governance_admin, governance_auditor;

CREATE TABLE governance.revoked_agent_keys (
    key_id          text PRIMARY KEY,
    principal       text NOT NULL,
    public_key      bytea NOT NULL,
    revoked_at      timestamptz NOT NULL,
    revoked_by      text NOT NULL,
    reason          text NOT NULL
);
COMMENT ON TABLE governance.revoked_agent_keys IS
    'Agent keys revoked as compromised (revoke_agent_key); none can be registered again';
REVOKE ALL ON governance.revoked_agent_keys FROM PUBLIC;
GRANT SELECT ON governance.revoked_agent_keys TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.revoked_agent_keys', '');

CREATE FUNCTION governance.challenge(
    OUT nonce bytea, OUT server_key_id text, OUT expires_at timestamptz)
RETURNS record
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_challenge';
COMMENT ON FUNCTION governance.challenge() IS
    'A single-use nonce for one signed request of the calling role (docs/FORMAT.md section 13), valid for governance.challenge_ttl';

CREATE FUNCTION governance.rotate_agent_key(principal text, new_public_key bytea,
    proof text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_rotate_agent_key';
COMMENT ON FUNCTION governance.rotate_agent_key(text, bytea, text) IS
    'Replace an agent''s key: by the agent with a proof by its current key, or by an administrator; returns the new key id; ledgered';

CREATE FUNCTION governance.revoke_agent_key(principal text, reason text)
RETURNS integer
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_revoke_agent_key';
COMMENT ON FUNCTION governance.revoke_agent_key(text, text) IS
    'A compromised agent key: revoked for good, the agent may hold no lease until registered again, and every live lease of the principal is revoked; returns how many ended; ledgered';

REVOKE ALL ON FUNCTION governance.challenge(), governance.rotate_agent_key(text, bytea, text),
    governance.revoke_agent_key(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.challenge(), governance.rotate_agent_key(text, bytea, text)
TO governance_admin, governance_agent;
GRANT EXECUTE ON FUNCTION governance.revoke_agent_key(text, text) TO governance_admin;
-- fmt2: format version 2 (issue 12 section 2, issue 15 section 1): the log
-- identity, made now for an upgraded install (its old blocks stay version
-- 1 and keep verifying as such), and the block columns of version 2
ALTER TABLE governance.ledger_blocks
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN log_id uuid,
    ADD COLUMN lineage_root bytea;
COMMENT ON COLUMN governance.ledger_blocks.version IS
    'block format: 1 (no log id, no lineage map) or 2 (docs/FORMAT.md section 6)';
COMMENT ON COLUMN governance.ledger_blocks.log_id IS
    'version 2: the log the block belongs to (governance.log_identity), in its signed bytes';
COMMENT ON COLUMN governance.ledger_blocks.lineage_root IS
    'version 2: Merkle root of the lineage map, lease id -> (last seq, link) of each execution with rows in the block';
CREATE TABLE governance.log_identity (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    log_id      uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE governance.log_identity IS
    'The identity of this ledger, signed into every version-2 block and checkpoint';
INSERT INTO governance.log_identity (log_id) VALUES (pg_catalog.gen_random_uuid());
REVOKE ALL ON governance.log_identity FROM PUBLIC;
GRANT SELECT ON governance.log_identity TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.log_identity', '');
CREATE TRIGGER restore_load BEFORE INSERT ON governance.log_identity
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
ALTER TABLE governance.log_identity ENABLE ALWAYS TRIGGER restore_load;

-- fmt2: proof(lease_id) (sql/install/46_proof.sql)
CREATE FUNCTION governance.proof(lease_id uuid)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_proof';
COMMENT ON FUNCTION governance.proof(uuid) IS
    'Proof of one execution (a lease and its delegations): every sealed event with its audit path, every block header since, the lineage-map entries that show no event was left out, the checkpoint and the keys';
REVOKE ALL ON FUNCTION governance.proof(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.proof(uuid) TO governance_admin, governance_auditor;
-- canon: retention (sql/install/47_retention.sql): ledger_exports, ledger_pruned,
-- ledger_anchors, mark_exported(), prune()

CREATE TABLE governance.ledger_exports (
    from_block  bigint NOT NULL,
    to_block    bigint NOT NULL,
    block_hash  bytea NOT NULL,
    marked_at   timestamptz NOT NULL,
    marked_by   text NOT NULL,
    seq         bigint NOT NULL
);
COMMENT ON TABLE governance.ledger_exports IS
    'Block ranges whose evidence bundle an administrator archived (mark_exported); prune() removes only these';

CREATE TABLE governance.ledger_pruned (
    block_id    bigint PRIMARY KEY,
    row_count   bigint NOT NULL,
    pruned_at   timestamptz NOT NULL,
    seq         bigint NOT NULL
);
COMMENT ON TABLE governance.ledger_pruned IS
    'Blocks whose rows prune() removed: verify_ledger() checks their header, chain and signature only';

CREATE TABLE governance.ledger_anchors (
    seq         bigint PRIMARY KEY,
    lease_id    uuid,
    kind        text NOT NULL,
    link        bytea NOT NULL
);
CREATE INDEX ledger_anchors_lease_idx ON governance.ledger_anchors (lease_id, seq) WHERE lease_id IS NOT NULL;
COMMENT ON TABLE governance.ledger_anchors IS
    'Pruned rows that a later row links to or that ended their chain: seq, lease, kind and link (a bundle''s anchor lines)';

CREATE TRIGGER exports_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger_exports
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER exports_no_truncate BEFORE TRUNCATE ON governance.ledger_exports
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER pruned_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger_pruned
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER pruned_no_truncate BEFORE TRUNCATE ON governance.ledger_pruned
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER anchors_append_only BEFORE INSERT OR UPDATE OR DELETE ON governance.ledger_anchors
    FOR EACH ROW EXECUTE FUNCTION governance._ledger_guard();
CREATE TRIGGER anchors_no_truncate BEFORE TRUNCATE ON governance.ledger_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION governance._ledger_guard();
ALTER TABLE governance.ledger_exports ENABLE ALWAYS TRIGGER exports_append_only;
ALTER TABLE governance.ledger_exports ENABLE ALWAYS TRIGGER exports_no_truncate;
ALTER TABLE governance.ledger_pruned ENABLE ALWAYS TRIGGER pruned_append_only;
ALTER TABLE governance.ledger_pruned ENABLE ALWAYS TRIGGER pruned_no_truncate;
ALTER TABLE governance.ledger_anchors ENABLE ALWAYS TRIGGER anchors_append_only;
ALTER TABLE governance.ledger_anchors ENABLE ALWAYS TRIGGER anchors_no_truncate;

REVOKE ALL ON governance.ledger_exports, governance.ledger_pruned, governance.ledger_anchors FROM PUBLIC;
GRANT SELECT ON governance.ledger_exports, governance.ledger_pruned, governance.ledger_anchors
    TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_exports', '');
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_pruned', '');
SELECT pg_catalog.pg_extension_config_dump('governance.ledger_anchors', '');

CREATE FUNCTION governance.mark_exported(from_block bigint, to_block bigint, block_hash bytea)
RETURNS bigint
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_mark_exported';
COMMENT ON FUNCTION governance.mark_exported(bigint, bigint, bytea) IS
    'Record that the bundle of blocks from_block..to_block is archived (block_hash: to_block''s, from the bundle''s checkpoint line); ledgered';

CREATE FUNCTION governance.prune(before_block bigint)
RETURNS bigint
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_prune';
COMMENT ON FUNCTION governance.prune(bigint) IS
    'Remove the rows of the exported blocks before before_block older than governance.retention_min_age, keeping their signed headers; ledgered; returns the rows removed';

REVOKE ALL ON FUNCTION governance.mark_exported(bigint, bigint, bytea), governance.prune(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.mark_exported(bigint, bigint, bytea), governance.prune(bigint)
TO governance_admin;

-- canon: lineage_dot (sql/install/46_lineage_dot.sql)

CREATE FUNCTION governance._dot_string(s text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
-- backslash first (doubled: Graphviz prints one), then the double quote;
-- line ends become the \n line break, every other control character a space
RETURN '"' OPERATOR(pg_catalog.||)
       pg_catalog.regexp_replace(
           pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(s,
               E'\\', E'\\\\'), '"', E'\\"'), E'\r\n', E'\\n'), E'\n', E'\\n'),
           E'[\\x01-\\x1f\\x7f]', ' ', 'g')
       OPERATOR(pg_catalog.||) '"';
COMMENT ON FUNCTION governance._dot_string(text) IS
    'A text as a Graphviz DOT quoted string that cannot break out of itself (for lineage_dot)';

CREATE FUNCTION governance.lineage_dot(lease_id uuid)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    root    uuid := lease_id;
    out     text;
    l       record;
    e       record;
    lines   text[] := ARRAY[]::text[];
    n       int := 0;
BEGIN
    IF root IS NULL THEN
        RAISE EXCEPTION 'lease_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM governance.leases x WHERE x.lease_id OPERATOR(pg_catalog.=) root) THEN
        RAISE EXCEPTION 'lease % does not exist', root USING ERRCODE = 'no_data_found';
    END IF;

    lines := lines || ('digraph lineage {' || E'\n' ||
        '  graph [rankdir=TB, fontname="Helvetica", label=' ||
        governance._dot_string('execution ' || root::text || E'\n' || 'as of ' ||
            to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) || '];' || E'\n' ||
        '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize=10];');

    FOR l IN
        SELECT x.lease_id, x.parent_id, x.depth, x.principal, x.action, x.resource, x.state,
               x.end_reason, x.issued_at, x.expires_at, x.ended_at,
               row_number() OVER (ORDER BY x.depth, x.issued_at, x.lease_id) AS k
          FROM governance.leases x
         WHERE x.lease_id OPERATOR(pg_catalog.=) root OR root OPERATOR(pg_catalog.=) ANY (x.ancestors)
         ORDER BY x.depth, x.issued_at, x.lease_id
    LOOP
        lines := lines || ('  subgraph cluster_' || l.k || ' {' || E'\n' ||
            '    label=' || governance._dot_string(
                CASE WHEN l.depth = 0 THEN 'lease ' ELSE 'delegated lease (depth ' || l.depth || ') ' END ||
                l.lease_id::text || E'\n' || l.principal || E'\n' || l.action || ' on ' || l.resource || E'\n' ||
                'issued ' || to_char(l.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ||
                E'\n' || l.state ||
                CASE WHEN l.ended_at IS NOT NULL
                     THEN ' at ' || to_char(l.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                     ELSE ', expires ' || to_char(l.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END ||
                coalesce(' (' || l.end_reason || ')', '')) || ';' || E'\n' ||
            '    style="rounded"; color=' ||
            CASE l.state WHEN 'revoked' THEN '"red"' WHEN 'expired' THEN '"gray50"' ELSE '"darkgreen"' END || ';');
        FOR e IN
            SELECT g.seq, g.at, g.kind, g.payload, g.prev_seq,
                   governance.sha3_512(governance.event_bytes(g.seq)) OPERATOR(pg_catalog.=) g.evidence AS evidence_ok,
                   governance.chain_link(coalesce(p.link, a.link), g.evidence) OPERATOR(pg_catalog.=) g.link
                       AND (g.prev_seq IS NULL OR coalesce(p.link, a.link) IS NOT NULL) AS link_ok,
                   (SELECT b.block_id FROM governance.ledger_blocks b
                     WHERE g.seq BETWEEN b.first_seq AND b.last_seq) AS block_id
              FROM governance.ledger g
              LEFT JOIN governance.ledger p ON p.seq OPERATOR(pg_catalog.=) g.prev_seq
              LEFT JOIN governance.ledger_anchors a ON a.seq OPERATOR(pg_catalog.=) g.prev_seq
             WHERE g.lease_id OPERATOR(pg_catalog.=) l.lease_id
             ORDER BY g.seq
        LOOP
            n := n + 1;
            lines := lines || ('    e' || e.seq || ' [label=' || governance._dot_string(
                e.kind || CASE WHEN e.kind = 'governance.write'
                               THEN ' ' || coalesce(e.payload->>'op', '') || ' ' || coalesce(e.payload->>'table', '')
                               WHEN e.payload ? 'decision' THEN ' ' || (e.payload->>'decision')
                               ELSE '' END || E'\n' ||
                'seq ' || e.seq || ', ' || to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n' ||
                CASE WHEN e.block_id IS NULL THEN 'not sealed yet' ELSE 'sealed in block ' || e.block_id END || ', ' ||
                CASE WHEN e.evidence_ok AND e.link_ok THEN 'verified'
                     WHEN NOT e.evidence_ok THEN 'MODIFIED: evidence hash does not match'
                     ELSE 'BROKEN: chain link does not match' END) ||
                ', fillcolor=' ||
                CASE WHEN NOT (e.evidence_ok AND e.link_ok) THEN '"red"'
                     WHEN e.kind LIKE 'governance.revoke%' OR e.kind LIKE 'governance.lease.revoked%' THEN '"salmon"'
                     WHEN e.kind LIKE '%expire%' THEN '"gray85"'
                     WHEN e.payload->>'decision' = 'deny' THEN '"orange"'
                     WHEN e.kind = 'governance.write' THEN '"lightblue"'
                     WHEN e.kind LIKE 'governance.heartbeat%' THEN '"honeydew"'
                     WHEN e.kind IN ('governance.authorize', 'governance.delegate', 'governance.delegated') THEN '"lightyellow"'
                     ELSE '"white"' END || '];');
            IF e.prev_seq IS NOT NULL THEN
                lines := lines || ('    e' || e.prev_seq || ' -> e' || e.seq || ';');
            END IF;
        END LOOP;
        lines := lines || '  }'::text;
    END LOOP;
    lines := lines || '}'::text;
    RETURN array_to_string(lines, E'\n') || E'\n';
END
$fn$;
COMMENT ON FUNCTION governance.lineage_dot(uuid) IS
    'An execution (the lease and its delegated descendants) as Graphviz DOT text: every ledger event with its time, block and verification status, chained';

REVOKE ALL ON FUNCTION governance._dot_string(text), governance.lineage_dot(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.lineage_dot(uuid) TO governance_admin, governance_auditor;
GRANT EXECUTE ON FUNCTION governance._dot_string(text) TO governance_admin, governance_auditor;

-- canon: retention's tables restored like the ledger (sql/install/85_retention_restore.sql)

CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger_exports
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger_pruned
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
CREATE TRIGGER restore_load BEFORE INSERT ON governance.ledger_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION governance._restore_load();
ALTER TABLE governance.ledger_exports ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.ledger_pruned ENABLE ALWAYS TRIGGER restore_load;
ALTER TABLE governance.ledger_anchors ENABLE ALWAYS TRIGGER restore_load;
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

-- root: tenants (sql/install/76_tenants.sql)

ALTER TABLE governance.leases ADD COLUMN tenant text;
COMMENT ON COLUMN governance.leases.tenant IS
    'the tenant (Tenant::"id") of the execution: the principal''s ancestor of type Tenant at authorize(), the parent''s at delegate(); NULL for none. An index: the evidence is the "tenant" member of the lease''s governance.authorize event, which verify_ledger() and export_tenant() check it against';
CREATE INDEX leases_tenant_idx ON governance.leases (tenant, issued_at) WHERE tenant IS NOT NULL;

-- One tenant's evidence: a proof (governance.proof(), FORMAT.md section 14)
-- of each of its executions (root leases; a delegation is inside its root's
-- proof), each verified offline by governance-verify proof FILE [--tenant
-- T].  A root lease whose tenant column is not the tenant its first event
-- names (an edited column) is refused (XX001), not exported as this
-- tenant's.  Not SECURITY DEFINER, like export() and proof(): the caller's
-- own rights.
CREATE FUNCTION governance.export_tenant(tenant text)
RETURNS TABLE (lease_id uuid, issued_at timestamptz, proof text)
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    x record;
    named text;
    seq bigint;
BEGIN
    FOR x IN SELECT l.lease_id AS id, l.issued_at AS at
               FROM governance.leases l
              WHERE l.tenant OPERATOR(pg_catalog.=) export_tenant.tenant AND l.parent_id IS NULL
              ORDER BY l.issued_at, l.lease_id
    LOOP
        -- The column is an index; the execution's first event is evidence
        -- (its payload's "tenant", FORMAT.md section 15).  A lease whose
        -- column was edited would put another tenant's execution here.
        SELECT g.payload OPERATOR(pg_catalog.->>) 'tenant', g.seq INTO named, seq
          FROM governance.ledger g
         WHERE g.lease_id OPERATOR(pg_catalog.=) x.id
           AND g.kind OPERATOR(pg_catalog.=) 'governance.authorize'
         ORDER BY g.seq LIMIT 1;
        IF FOUND AND named IS DISTINCT FROM export_tenant.tenant THEN
            RAISE EXCEPTION 'lease % is not of tenant %', x.id, export_tenant.tenant
                USING ERRCODE = 'data_corrupted',
                      DETAIL = format('governance.leases names tenant %s, its governance.authorize event at row %s names %s.',
                                      export_tenant.tenant, seq, coalesce(named, 'none')),
                      HINT = 'The leases row was changed outside the extension: run governance.verify_ledger().';
        END IF;
        -- (when it is not found, the first event was pruned: proof() says so)
        lease_id := x.id;
        issued_at := x.at;
        SELECT string_agg(p.line, E'\n' ORDER BY p.n) OPERATOR(pg_catalog.||) E'\n' INTO proof
          FROM governance.proof(x.id) WITH ORDINALITY AS p(line, n);
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION governance.export_tenant(text) IS
    'One tenant''s evidence: a proof of each of its executions (root leases), for governance-verify proof';
REVOKE ALL ON FUNCTION governance.export_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.export_tenant(text) TO governance_admin, governance_auditor;
-- cedar3: policy templates (issue 17), as sql/install/56_cedar_templates.sql
CREATE TABLE governance.policy_templates (
    name        text PRIMARY KEY,
    source      text NOT NULL,
    effect      text NOT NULL CHECK (effect OPERATOR(pg_catalog.=) ANY (ARRAY['permit', 'forbid'])),
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL
);
COMMENT ON TABLE governance.policy_templates IS
    'Policy templates with ?principal / ?resource slots; change with create_template, drop_template';

-- name is the linked policy's name in governance.policies
CREATE TABLE governance.template_links (
    name        text PRIMARY KEY,
    template    text NOT NULL,
    principal   text,
    resource    text,
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL
);
CREATE INDEX template_links_template ON governance.template_links (template);
COMMENT ON TABLE governance.template_links IS
    'Template-linked policies: the policy of this name was linked from the template with these slot values; change with link_template, unlink_template';

REVOKE ALL ON governance.policy_templates, governance.template_links FROM PUBLIC;
GRANT SELECT ON governance.policy_templates, governance.template_links
    TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.policy_templates', '');
SELECT pg_catalog.pg_extension_config_dump('governance.template_links', '');

CREATE FUNCTION governance.create_template(name text, source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_create_template';
COMMENT ON FUNCTION governance.create_template(text, text) IS
    'Parse and store a policy template (?principal, ?resource slots); ledgered; returns the policy-set hash';

CREATE FUNCTION governance.drop_template(name text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_drop_template';
COMMENT ON FUNCTION governance.drop_template(text) IS
    'Remove a template no policy is linked from; ledgered; returns the policy-set hash';

CREATE FUNCTION governance.link_template(template text, name text,
    principal text DEFAULT NULL, resource text DEFAULT NULL)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_link_template';
COMMENT ON FUNCTION governance.link_template(text, text, text, text) IS
    'Store the policy name linked from a template, its slots filled with these entities; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.unlink_template(name text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_unlink_template';
COMMENT ON FUNCTION governance.unlink_template(text) IS
    'Remove a template-linked policy; ledgered; returns the new policy-set hash';

REVOKE ALL ON FUNCTION governance.create_template(text, text), governance.drop_template(text),
    governance.link_template(text, text, text, text), governance.unlink_template(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.create_template(text, text), governance.drop_template(text),
    governance.link_template(text, text, text, text), governance.unlink_template(text)
TO governance_admin;

-- schema: Cedar schemas (issue 17 step 5), sql/install/57_cedar_schema.sql

CREATE TABLE governance.cedar_schema (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    source      text NOT NULL,
    set_at      timestamptz NOT NULL,
    set_by      text NOT NULL
);
COMMENT ON TABLE governance.cedar_schema IS
    'The Cedar schema policies, entities and requests are validated against (at most one row); change with set_schema';

REVOKE ALL ON governance.cedar_schema FROM PUBLIC;
GRANT SELECT ON governance.cedar_schema TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.cedar_schema', '');

CREATE FUNCTION governance.set_schema(schema text)
RETURNS void
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_set_schema';
COMMENT ON FUNCTION governance.set_schema(text) IS
    'Set (or, with NULL, clear) the Cedar schema (human-readable or JSON format) policies, entities and requests are validated against; refused when a stored policy, template or entity disagrees; ledgered';

REVOKE ALL ON FUNCTION governance.set_schema(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.set_schema(text) TO governance_admin;
