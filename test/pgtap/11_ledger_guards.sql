-- The ledger's guards (D4, issue 3 item 3), tried as a superuser: UPDATE,
-- DELETE, TRUNCATE, MERGE and direct INSERT on governance.ledger and
-- governance.ledger_blocks are refused, also with session_replication_role
-- = replica; DDL that alters or drops ledger objects is refused, whichever
-- way it is spelt; dropping the extension needs governance.allow_drop; and
-- the event triggers leave other users' DDL alone.
--
-- Everything runs in one transaction that is rolled back, so that a guard
-- that fails cannot damage the ledger the other tests (and the background
-- workers of this database) use.  Statements that may succeed destructively
-- run inside a savepoint that is rolled back right after.
\ir lib/fixture.sql

-- a committed row and block to aim at, whatever ran before this file
SELECT governance.record('ledger_test.guards', '{}') AS target \gset
SELECT governance.seal() AS target_block \gset

BEGIN;
SELECT plan(68);

-- refused(statement, sqlstate, description): the statement must fail with
-- that SQLSTATE.  Unlike throws_ok(), a statement that succeeds is undone
-- at once (its subtransaction is rolled back), so a broken guard cannot
-- spoil the tests after it.
CREATE FUNCTION pg_temp.refused(stmt text, want text, description text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    got text;
    msg text;
BEGIN
    BEGIN
        EXECUTE stmt;
        got := 'none';
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN OTHERS THEN
        IF got IS NULL THEN
            got := SQLSTATE;
            msg := SQLERRM;
        END IF;
    END;
    IF got = want THEN
        RETURN ok(true, description);
    END IF;
    RETURN ok(false, description) || E'\n' || diag(
        CASE WHEN got = 'none' THEN 'the statement succeeded (undone at once)'
             ELSE 'caught ' || got || ': ' || msg END || '; wanted ' || want);
END
$fn$;

-- ledger_survives(statements, move_pgtap, description): run the statements
-- (an error is fine), check that the extension and both ledger tables are
-- still there, then undo everything.  With move_pgtap, pgTAP is moved out
-- of public first (and back by the undo), for statements that drop public.
CREATE FUNCTION pg_temp.ledger_survives(stmts text, move_pgtap boolean, description text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    survived boolean;
    outcome text := 'the statements succeeded';
BEGIN
    BEGIN
        IF move_pgtap THEN
            CREATE SCHEMA ledger_t_tap;
            ALTER EXTENSION pgtap SET SCHEMA ledger_t_tap;
        END IF;
        BEGIN
            EXECUTE stmts;
        EXCEPTION WHEN OTHERS THEN
            outcome := 'refused with ' || SQLSTATE || ': ' || SQLERRM;
        END;
        survived := EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'governance')
                    AND pg_catalog.to_regclass('governance.ledger') IS NOT NULL
                    AND pg_catalog.to_regclass('governance.ledger_blocks') IS NOT NULL;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN OTHERS THEN
        IF survived IS NULL THEN
            RAISE;
        END IF;
    END;
    IF survived THEN
        RETURN ok(true, description);
    END IF;
    RETURN ok(false, description) || E'\n' || diag(outcome || ' and the ledger was dropped (undone at once)');
END
$fn$;

------------------------------------------------------------------------------
-- DML
------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.dml_refused(replica boolean) RETURNS SETOF text LANGUAGE plpgsql AS $fn$
DECLARE
    how text := CASE WHEN replica THEN ' (session_replication_role = replica)' ELSE '' END;
    seq bigint := (SELECT max(seq) FROM governance.ledger);
    blk bigint := (SELECT max(block_id) FROM governance.ledger_blocks);
BEGIN
    IF replica THEN
        SET LOCAL session_replication_role = replica;
    ELSE
        SET LOCAL session_replication_role = origin;
    END IF;
    RETURN NEXT pg_temp.refused(format('UPDATE governance.ledger SET payload = ''{"forged": true}'' WHERE seq = %s', seq),
                          '42501', 'UPDATE of a ledger row is refused' || how);
    RETURN NEXT pg_temp.refused(format('DELETE FROM governance.ledger WHERE seq = %s', seq),
                          '42501', 'DELETE of a ledger row is refused' || how);
    RETURN NEXT pg_temp.refused('TRUNCATE governance.ledger CASCADE', '42501',
                          'TRUNCATE of the ledger is refused' || how);
    RETURN NEXT pg_temp.refused(format('INSERT INTO governance.ledger SELECT * FROM governance.ledger WHERE seq = %s', seq)
                          || ' ON CONFLICT DO NOTHING', '42501',
                          'INSERT into the ledger, even one that would conflict, is refused' || how);
    RETURN NEXT pg_temp.refused(format($$INSERT INTO governance.ledger (seq, at, kind, payload, actor, txid, evidence, link)
                                  VALUES (%s + 1000000, now(), 'forged', '{}', 'x', '1', '\x00', '\x00')$$, seq),
                          '42501', 'direct INSERT of a new ledger row is refused' || how);
    RETURN NEXT pg_temp.refused(format($$MERGE INTO governance.ledger l USING (SELECT %s AS seq) s ON l.seq = s.seq
                                  WHEN MATCHED THEN DELETE$$, seq),
                          '42501', 'MERGE ... DELETE on the ledger is refused' || how);
    RETURN NEXT pg_temp.refused(format('UPDATE governance.ledger_blocks SET row_count = row_count + 1 WHERE block_id = %s', blk),
                          '42501', 'UPDATE of a block is refused' || how);
    RETURN NEXT pg_temp.refused(format('DELETE FROM governance.ledger_blocks WHERE block_id = %s', blk),
                          '42501', 'DELETE of a block (removing the tail) is refused' || how);
    RETURN NEXT pg_temp.refused('TRUNCATE governance.ledger_blocks', '42501',
                          'TRUNCATE of the blocks is refused' || how);
    RETURN NEXT pg_temp.refused(format('INSERT INTO governance.ledger_blocks SELECT block_id + 1000000, first_seq, last_seq, '
                                 'row_count, total_rows, gaps, merkle_root, prev_hash, sealed_at, key_id, block_hash, '
                                 'signature FROM governance.ledger_blocks WHERE block_id = %s', blk),
                          '42501', 'direct INSERT of a block is refused' || how);
    SET LOCAL session_replication_role = origin;
END
$fn$;

SELECT * FROM pg_temp.dml_refused(false);
SELECT * FROM pg_temp.dml_refused(true);
SELECT is((SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger
            WHERE tgrelid IN ('governance.ledger'::regclass, 'governance.ledger_blocks'::regclass)
              AND NOT tgisinternal),
          'blocks_append_only=A,blocks_no_truncate=A,ledger_append_only=A,ledger_no_truncate=A,restore_load=A,restore_load=A',
          'the four guard triggers (and the restore''s) are ENABLE ALWAYS');
SELECT ok((SELECT payload = '{}'::jsonb FROM governance.ledger WHERE seq = :target)
          AND (SELECT count(*) FROM governance.ledger_blocks WHERE block_id = :target_block) = 1,
          'the target row and block are untouched');

------------------------------------------------------------------------------
-- DDL on ledger objects
------------------------------------------------------------------------------
CREATE SCHEMA ledger_t_other;
CREATE FUNCTION public.ledger_t_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;

SELECT pg_temp.refused('ALTER TABLE governance.ledger ADD COLUMN note text', '42501',
                 'ALTER TABLE ledger ADD COLUMN is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger DISABLE TRIGGER ledger_append_only', '42501',
                 'disabling the ledger''s guard trigger is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger ENABLE REPLICA TRIGGER ledger_append_only', '42501',
                 'demoting the guard trigger to REPLICA (off under session_replication_role = origin) is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger_blocks DISABLE TRIGGER ALL', '42501',
                 'disabling every trigger on the blocks is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger RENAME TO ledger_old', '42501',
                 'renaming the ledger is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger ALTER COLUMN actor DROP NOT NULL', '42501',
                 'relaxing a ledger column''s constraint is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger ENABLE ROW LEVEL SECURITY', '42501',
                 'row-level security on the ledger (which could hide rows from the sealer) is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger_blocks OWNER TO governance_admin', '42501',
                 'giving the blocks table to another owner is refused');
SELECT pg_temp.refused('ALTER TABLE governance.ledger SET SCHEMA ledger_t_other', '42501',
                 'moving the ledger out of the governance schema is refused');
SELECT pg_temp.refused('ALTER SCHEMA governance RENAME TO governance_old', '42501',
                 'renaming the governance schema is refused with a clear error');
SELECT pg_temp.refused('ALTER SEQUENCE governance.ledger_seq RESTART WITH 1', '42501',
                 'restarting the ledger''s sequence is refused');
SELECT pg_temp.refused('CREATE INDEX ON governance.ledger (kind)', '42501',
                 'CREATE INDEX on the ledger is refused');
SELECT pg_temp.refused('CREATE TRIGGER t BEFORE INSERT ON governance.ledger FOR EACH ROW EXECUTE FUNCTION public.ledger_t_trg()',
                 '42501', 'CREATE TRIGGER on the ledger is refused');
SELECT pg_temp.refused('CREATE TRIGGER t BEFORE INSERT ON governance.ledger_blocks FOR EACH ROW EXECUTE FUNCTION public.ledger_t_trg()',
                 '42501', 'CREATE TRIGGER on the blocks is refused');
SELECT pg_temp.refused('CREATE RULE r AS ON INSERT TO governance.ledger DO INSTEAD NOTHING', '42501',
                 'CREATE RULE on the ledger (which would swallow appends) is refused');
SELECT pg_temp.refused('CREATE RULE r AS ON INSERT TO governance.ledger_blocks DO INSTEAD NOTHING', '42501',
                 'CREATE RULE on the blocks is refused');
SELECT pg_temp.refused('CREATE POLICY p ON governance.ledger USING (false)', '42501',
                 'CREATE POLICY on the ledger is refused');
SELECT pg_temp.refused('DROP TRIGGER ledger_append_only ON governance.ledger', '42501',
                 'DROP TRIGGER of the ledger''s guard is refused');
SELECT pg_temp.refused('DROP TRIGGER blocks_no_truncate ON governance.ledger_blocks', '42501',
                 'DROP TRIGGER of the blocks'' guard is refused');
SELECT pg_temp.refused('DROP INDEX governance.ledger_lease_idx', '42501',
                 'DROP INDEX of a ledger index is refused');
-- Members of the extension: PostgreSQL itself refuses to drop them alone
-- (2BP01), and CASCADE does not get around it.
SELECT pg_temp.refused('DROP TABLE governance.ledger', '2BP01', 'DROP TABLE ledger is refused');
SELECT pg_temp.refused('DROP TABLE governance.ledger_blocks CASCADE', '2BP01', 'DROP TABLE ledger_blocks CASCADE is refused');
SELECT pg_temp.refused('DROP SEQUENCE governance.ledger_seq CASCADE', '2BP01', 'DROP SEQUENCE ledger_seq is refused');
SELECT pg_temp.refused('DROP EXTENSION governance', '42501', 'DROP EXTENSION governance is refused');
SELECT pg_temp.refused('DROP EXTENSION governance CASCADE', '42501', 'DROP EXTENSION governance CASCADE is refused');
SELECT pg_temp.refused('DROP EXTENSION IF EXISTS ledger_t_no_such_extension, governance', '42501',
                 'DROP EXTENSION naming governance second is refused');
SELECT pg_temp.refused('DROP SCHEMA governance CASCADE', '42501', 'DROP SCHEMA governance CASCADE is refused');
SELECT pg_temp.refused('DROP SCHEMA ledger_t_other, governance CASCADE', '42501',
                 'DROP SCHEMA naming governance second is refused');

-- session_replication_role = replica switches off event triggers that are
-- not ENABLE ALWAYS, just as it does row triggers; tools set it routinely
-- (restores, replication apply).  The DDL guards must hold there too.
SELECT pg_temp.refused('SET LOCAL session_replication_role = replica;
                        ALTER TABLE governance.ledger DISABLE TRIGGER ledger_append_only', '42501',
                       'disabling the ledger''s guard trigger is refused under session_replication_role = replica');
SELECT pg_temp.refused('SET LOCAL session_replication_role = replica;
                        CREATE RULE r AS ON INSERT TO governance.ledger DO INSTEAD NOTHING', '42501',
                       'CREATE RULE on the ledger is refused under session_replication_role = replica');
SELECT pg_temp.refused('SET LOCAL session_replication_role = replica; DROP EXTENSION governance', '42501',
                       'DROP EXTENSION governance is refused under session_replication_role = replica');
SELECT is(current_setting('session_replication_role'), 'origin', 'set-up: back to session_replication_role = origin');

-- Detached from the extension, the tables lose PostgreSQL's protection:
-- the guard's own sql_drop trigger must still refuse the drop.
SELECT pg_temp.refused('ALTER EXTENSION governance DROP SEQUENCE governance.ledger_seq;
                        DROP SEQUENCE governance.ledger_seq', '42501',
                       'the ledger sequence, detached from the extension, still cannot be dropped');
SELECT pg_temp.ledger_survives('ALTER EXTENSION governance DROP TABLE governance.ledger_blocks;
                                DROP TABLE governance.ledger_blocks CASCADE', false,
                               'the blocks table, detached from the extension, cannot be dropped with CASCADE '
                               '(its view cascades to the extension itself)');

SELECT ok(to_regclass('governance.ledger') IS NOT NULL AND to_regclass('governance.ledger_blocks') IS NOT NULL
          AND (SELECT relnamespace = 'governance'::regnamespace FROM pg_class WHERE oid = 'governance.ledger'::regclass),
          'the ledger tables are still there, in the governance schema');

------------------------------------------------------------------------------
-- Other users' DDL is not disturbed
------------------------------------------------------------------------------
CREATE ROLE ledger_t_ddl LOGIN;
CREATE SCHEMA ledger_t_scratch;
GRANT USAGE, CREATE ON SCHEMA ledger_t_scratch TO ledger_t_ddl;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO ledger_t_ddl', current_database()); END $$;
SET LOCAL ROLE ledger_t_ddl;
SELECT lives_ok($$
    CREATE TABLE ledger_t_scratch.t (id int PRIMARY KEY, v text);
    CREATE INDEX ON ledger_t_scratch.t (v);
    ALTER TABLE ledger_t_scratch.t ADD COLUMN w int;
    ALTER TABLE ledger_t_scratch.t RENAME COLUMN w TO x;
    CREATE FUNCTION ledger_t_scratch.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
    CREATE TRIGGER tr BEFORE INSERT ON ledger_t_scratch.t FOR EACH ROW EXECUTE FUNCTION ledger_t_scratch.f();
    ALTER TABLE ledger_t_scratch.t DISABLE TRIGGER tr;
    CREATE RULE r AS ON DELETE TO ledger_t_scratch.t DO INSTEAD NOTHING;
    ALTER TABLE ledger_t_scratch.t ENABLE ROW LEVEL SECURITY;
    CREATE POLICY p ON ledger_t_scratch.t USING (true);
    CREATE VIEW ledger_t_scratch.v AS SELECT id FROM ledger_t_scratch.t;
    COMMENT ON TABLE ledger_t_scratch.t IS 'scratch';
    INSERT INTO ledger_t_scratch.t VALUES (1, 'a', 2);
    UPDATE ledger_t_scratch.t SET v = 'b';
    TRUNCATE ledger_t_scratch.t;
    DROP VIEW ledger_t_scratch.v;
    DROP TRIGGER tr ON ledger_t_scratch.t;
    DROP TABLE ledger_t_scratch.t;
    DROP FUNCTION ledger_t_scratch.f();
$$, 'a non-superuser''s own DDL in a schema it may create in works');
SELECT lives_ok($$
    CREATE SCHEMA ledger_t_own;
    CREATE TABLE ledger_t_own.t (id int);
    DROP SCHEMA ledger_t_own CASCADE;
$$, 'a non-superuser can create and DROP SCHEMA ... CASCADE its own schema');
SELECT pg_temp.refused('SET governance.allow_drop = on', '42501',
                 'a non-superuser cannot set governance.allow_drop');
SELECT pg_temp.refused('SET governance.allow_restore = on', '42501',
                 'a non-superuser cannot set governance.allow_restore');
SELECT pg_temp.refused('DROP EXTENSION governance', '42501', 'a non-superuser cannot drop the extension');
RESET ROLE;
SELECT lives_ok($$
    CREATE TABLE public.ledger_t_su (id int);
    ALTER TABLE public.ledger_t_su ADD COLUMN v text;
    CREATE INDEX ON public.ledger_t_su (v);
    DROP TABLE public.ledger_t_su;
$$, 'a superuser''s DDL on other tables works');

------------------------------------------------------------------------------
-- Ways of dropping the ledger without governance.allow_drop
------------------------------------------------------------------------------

-- The extension depends on the schema it was created "in" (the first schema
-- of search_path unless the control file names one), not only on the
-- governance schema.  The common reset idiom DROP SCHEMA public CASCADE must
-- not take the ledger with it.
SELECT pg_temp.ledger_survives('DROP SCHEMA public CASCADE', true,
                               'DROP SCHEMA public CASCADE does not drop the governance extension and its ledger');

-- With governance.allow_drop (superuser only) the extension can go; this
-- transaction is rolled back, so nothing is lost.
SET LOCAL governance.allow_drop = on;
SELECT lives_ok('DROP EXTENSION governance', 'with governance.allow_drop = on a superuser can drop the extension');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'governance')
          AND to_regclass('governance.ledger') IS NULL, 'the extension and its ledger are gone (until ROLLBACK)');
SET LOCAL governance.allow_drop = off;

-- DROP OWNED BY the role that created the extension (any superuser but the
-- bootstrap one) must not drop it either.
CREATE ROLE ledger_t_owner SUPERUSER;
SET LOCAL ROLE ledger_t_owner;
CREATE EXTENSION governance;
RESET ROLE;
SELECT is((SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'governance'), 'ledger_t_owner',
          'set-up: the extension is owned by a non-bootstrap superuser');
SELECT pg_temp.ledger_survives('DROP OWNED BY ledger_t_owner', false,
                               'DROP OWNED BY the extension''s owner does not drop the extension and its ledger');

SELECT * FROM finish();
ROLLBACK;
