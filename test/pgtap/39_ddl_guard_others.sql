-- The DDL guard ignores relations it does not govern (issue 15, item 5;
-- docs/SCALING.md): while the extension is installed and a table is
-- governed, the owner of a table in another schema (and a superuser, as a
-- sharding extension creating its shard tables would) alters, indexes,
-- triggers, partitions, renames and drops its own tables freely, even
-- ones named like the ledger's objects; the guard's protection of the
-- governance objects themselves is unchanged (checked again at the end).
--
-- Names are lt39_* / "lt39-*"; dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    IF to_regclass('lt39g.acct') IS NOT NULL
       AND EXISTS (SELECT 1 FROM governance.governed_tables WHERE relid = to_regclass('lt39g.acct')) THEN
        PERFORM governance.ungovern_table('lt39g.acct');
    END IF;
    DROP SCHEMA IF EXISTS lt39g CASCADE;
    DROP SCHEMA IF EXISTS lt39 CASCADE;
    DROP SCHEMA IF EXISTS lt39_shard CASCADE;
    PERFORM pg_temp.drop_roles(ARRAY['lt39_owner']);
END $$;

SELECT plan(22);

-- a governed table, so that the guard has something to protect
CREATE SCHEMA lt39g;
CREATE TABLE lt39g.acct (id int PRIMARY KEY, owner text);
SELECT governance.govern_table('lt39g.acct', 'lt39', 'owner');

CREATE ROLE lt39_owner LOGIN;
CREATE SCHEMA lt39 AUTHORIZATION lt39_owner;

SET ROLE lt39_owner;
SELECT is(pg_temp.err('CREATE TABLE lt39.t (id int PRIMARY KEY, v text)'), 'no error',
          'the owner of another schema creates a table');
SELECT is(pg_temp.err('ALTER TABLE lt39.t ADD COLUMN w int'), 'no error', 'adds a column');
SELECT is(pg_temp.err('ALTER TABLE lt39.t ALTER COLUMN v SET NOT NULL'), 'no error', 'changes a column');
SELECT is(pg_temp.err('CREATE INDEX lt39_t_v ON lt39.t (v)'), 'no error', 'creates an index');
SELECT is(pg_temp.err($$CREATE FUNCTION lt39.trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'$$),
          'no error', 'creates a trigger function');
SELECT is(pg_temp.err('CREATE TRIGGER governance_lineage BEFORE INSERT ON lt39.t FOR EACH ROW EXECUTE FUNCTION lt39.trg()'),
          'no error', 'creates a trigger, even one named like governance''s');
SELECT is(pg_temp.err('ALTER TABLE lt39.t DISABLE TRIGGER governance_lineage'), 'no error', 'and disables it');
SELECT is(pg_temp.err('ALTER TABLE lt39.t ENABLE ROW LEVEL SECURITY'), 'no error', 'enables row-level security');
SELECT is(pg_temp.err('CREATE POLICY p ON lt39.t USING (true)'), 'no error', 'creates a policy');
SELECT is(pg_temp.err('ALTER TABLE lt39.t DISABLE ROW LEVEL SECURITY'), 'no error', 'disables row-level security');
SELECT is(pg_temp.err('CREATE RULE r AS ON UPDATE TO lt39.t DO ALSO NOTIFY lt39'), 'no error', 'creates a rule');
SELECT is(pg_temp.err('CREATE TABLE lt39.ledger (seq bigint PRIMARY KEY)'), 'no error',
          'creates a table named ledger in its own schema');
SELECT is(pg_temp.err('ALTER TABLE lt39.ledger ADD COLUMN x int'), 'no error', 'alters it');
SELECT is(pg_temp.err('DROP TABLE lt39.ledger'), 'no error', 'and drops it');
SELECT is(pg_temp.err('CREATE TABLE lt39.p (id int, k int) PARTITION BY RANGE (k)'), 'no error', 'creates a partitioned table');
SELECT is(pg_temp.err('CREATE TABLE lt39.p1 PARTITION OF lt39.p FOR VALUES FROM (0) TO (10)'), 'no error',
          'a partition of it (not governed: its parent is not)');
SELECT is(pg_temp.err('ALTER TABLE lt39.p DETACH PARTITION lt39.p1'), 'no error', 'detaches it');
SELECT is(pg_temp.err('ALTER TABLE lt39.t RENAME TO t2'), 'no error', 'renames a table');
SELECT is(pg_temp.err('DROP TABLE lt39.t2, lt39.p, lt39.p1'), 'no error', 'drops its tables');
RESET ROLE;

-- as a sharding extension would, as a superuser: shard tables come and go
CREATE SCHEMA lt39_shard;
SELECT is(pg_temp.err($$DO 'BEGIN FOR i IN 102008..102011 LOOP
        EXECUTE format(''CREATE TABLE lt39_shard.acct_%s (LIKE lt39g.acct INCLUDING ALL)'', i);
        EXECUTE format(''ALTER TABLE lt39_shard.acct_%s ADD COLUMN tenant int'', i);
    END LOOP; END'$$), 'no error',
          'a superuser creates shard-like tables shaped like a governed table, and alters them');
SELECT is(pg_temp.err('DROP SCHEMA lt39_shard CASCADE'), 'no error', 'and drops them with their schema');

-- the governance objects themselves are still guarded
SELECT is(left(pg_temp.err('ALTER TABLE governance.ledger ADD COLUMN x int'), 6), '42501:',
          'while the ledger itself still cannot be altered');

SELECT governance.ungovern_table('lt39g.acct');
DROP SCHEMA lt39g CASCADE;
DROP SCHEMA lt39 CASCADE;
SELECT pg_temp.drop_roles(ARRAY['lt39_owner']);

SELECT * FROM finish();
