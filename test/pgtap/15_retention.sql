-- Retention (issue 12, section 4): mark_exported() and prune() -- admin
-- only, bad input, the refusals (not exported, too young), ROLLBACK TO
-- SAVEPOINT leaves every row, verify_ledger() checks pruned blocks by header
-- and says so, the guard still refuses a superuser's DELETE, export() starts
-- after the pruned blocks, and tampering with a remaining row (or with the
-- record of what was pruned) is still found.
--
-- In a database of its own (lt15): pruning removes rows for good, and the
-- other files share the workers' database.  Chains across a prune (leases)
-- are tested in test/system/retention.sh, where leases can be issued.
\ir lib/fixture.sql
SET client_min_messages = warning;
DROP DATABASE IF EXISTS lt15;
DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt15_admin', 'lt15_auditor', 'lt15_nobody']);
END $$;
CREATE ROLE lt15_admin LOGIN IN ROLE governance_admin;
CREATE ROLE lt15_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE lt15_nobody LOGIN;
CREATE DATABASE lt15;
ALTER DATABASE lt15 SET governance.allow_other_database = on;
\c lt15
\ir lib/fixture.sql
CREATE EXTENSION pgtap;
CREATE EXTENSION governance;
GRANT USAGE ON SCHEMA governance TO lt15_nobody;

SELECT plan(38);

-- three sealed blocks of five rows each
SELECT count(governance.record('t.a', jsonb_build_object('i', g))) FROM generate_series(1, 5) g;
SELECT governance.seal();
SELECT count(governance.record('t.b', jsonb_build_object('i', g))) FROM generate_series(1, 5) g;
SELECT governance.seal();
SELECT count(governance.record('t.c', jsonb_build_object('i', g))) FROM generate_series(1, 5) g;
SELECT governance.seal();
SELECT encode(block_hash, 'hex') AS h1 FROM governance.ledger_blocks WHERE block_id = 1 \gset
SELECT encode(block_hash, 'hex') AS h2 FROM governance.ledger_blocks WHERE block_id = 2 \gset
SELECT is((SELECT count(*)::int FROM governance.ledger_blocks), 3, '(three sealed blocks)');

------------------------------------------------------------------------
-- privileges
------------------------------------------------------------------------
SET ROLE lt15_auditor;
SELECT is(pg_temp.err('SELECT governance.prune(2)'),
          '42501: permission denied for function prune', 'an auditor may not prune');
SELECT is(pg_temp.err(format('SELECT governance.mark_exported(1, 1, decode(%L, ''hex''))', :'h1')),
          '42501: permission denied for function mark_exported', 'nor mark blocks exported');
SELECT is((SELECT count(*)::int FROM governance.ledger_pruned), 0, 'but may read what was pruned');
SET ROLE lt15_nobody;
SELECT is(pg_temp.err('SELECT governance.prune(2)'),
          '42501: permission denied for function prune', 'a role without grants may not prune');
RESET ROLE;
SET ROLE lt15_admin;
SELECT is(pg_temp.err('SET governance.retention_min_age = 0'),
          '42501: permission denied to set parameter "governance.retention_min_age"',
          'an administrator may not lower governance.retention_min_age (a superuser setting)');

------------------------------------------------------------------------
-- bad input
------------------------------------------------------------------------
SELECT is(pg_temp.err('SELECT governance.prune(NULL)'), '22004: before_block must not be NULL', 'prune(NULL)');
SELECT matches(pg_temp.err('SELECT governance.prune(1)'), '^22023: before_block 1 is out of range', 'prune(1): nothing before block 1');
SELECT matches(pg_temp.err('SELECT governance.prune(-5)'), '^22023: before_block -5 is out of range', 'a negative block');
SELECT matches(pg_temp.err('SELECT governance.prune(5)'), '^22023: before_block 5 is out of range', 'past the newest block + 1');
SELECT matches(pg_temp.err('SELECT governance.prune(9223372036854775807)'), '^22023: ', 'a huge block number');
SELECT is(pg_temp.err('SELECT governance.mark_exported(NULL, 1, ''\x00'')'),
          '22004: from_block, to_block and block_hash must not be NULL', 'mark_exported with a NULL');
SELECT matches(pg_temp.err(format('SELECT governance.mark_exported(0, 1, decode(%L, ''hex''))', :'h1')),
               '^22023: from_block 0 is not a sealed block', 'block 0');
SELECT matches(pg_temp.err(format('SELECT governance.mark_exported(2, 1, decode(%L, ''hex''))', :'h1')),
               '^22023: from_block 2 is after to_block 1', 'an inverted range');
SELECT matches(pg_temp.err(format('SELECT governance.mark_exported(1, 9223372036854775807, decode(%L, ''hex''))', :'h1')),
               '^22023: to_block 9223372036854775807 is not a sealed block', 'a huge block number');
SELECT is(pg_temp.err('SELECT governance.mark_exported(1, 1, '''')'),
          '22000: block_hash is not the hash of block 1', 'an empty hash');
SELECT is(pg_temp.err(format('SELECT governance.mark_exported(1, 1, decode(%L, ''hex''))', :'h2')),
          '22000: block_hash is not the hash of block 1', 'another block''s hash');
SELECT is(pg_temp.err(format('SELECT governance.mark_exported(1, 1, decode(%L, ''hex''))', repeat('ab', 100000))),
          '22000: block_hash is not the hash of block 1', 'a huge hash');

------------------------------------------------------------------------
-- refusals
------------------------------------------------------------------------
SELECT is(pg_temp.err('SELECT governance.prune(2)'), '55000: block 1 was not exported',
          'a block not marked exported is not pruned');
SELECT governance.mark_exported(1, 1, decode(:'h1', 'hex'));
SELECT is(pg_temp.err('SELECT governance.prune(3)'), '55000: block 2 was not exported',
          'every block of the range must be exported');
SELECT is(pg_temp.err('SELECT governance.prune(2)'),
          '55000: block 1 is not older than governance.retention_min_age',
          'nor one younger than governance.retention_min_age (30 days by default)');
RESET ROLE;
SELECT is((SELECT payload - 'block_hash' FROM governance.ledger WHERE kind = 'governance.ledger.exported'),
          '{"by": "lt15_admin", "from_block": 1, "to_block": 1}'::jsonb, 'the mark is ledgered');

------------------------------------------------------------------------
-- ROLLBACK TO SAVEPOINT, then the prune
------------------------------------------------------------------------
SET governance.retention_min_age = 0;
BEGIN;
SAVEPOINT s;
SELECT is(governance.prune(2), 5::bigint, 'inside a savepoint prune() removes block 1''s five rows');
ROLLBACK TO SAVEPOINT s;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq <= 5), 5, 'ROLLBACK TO SAVEPOINT brings them back');
SELECT is((SELECT count(*)::int FROM governance.ledger_pruned), 0, 'and nothing is recorded as pruned');
COMMIT;
SET ROLE lt15_admin;
SELECT is(governance.prune(2), 5::bigint, 'prune(2) removes the rows of block 1');
SELECT is(governance.prune(2), 0::bigint, 'a second prune(2) has nothing left to do');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq <= 5), 0, 'block 1''s rows are gone');
SELECT is((SELECT count(*)::int FROM governance.ledger_blocks), 3, 'its signed header stays');
SELECT is((SELECT payload->>'rows' || '|' || (payload->>'to_block') FROM governance.ledger WHERE kind = 'governance.ledger.pruned'),
          '5|1', 'the prune is ledgered (rows, blocks)');
SELECT governance.seal();
SELECT is((SELECT row(ok, blocks_checked, problem)::text FROM governance.verify_ledger()),
          row(true, 4::bigint, 'ok; 1 pruned blocks checked by header, chain and signature only (their rows are in archived bundles)')::text,
          'verify_ledger() is ok and says which blocks it checked by header only');

------------------------------------------------------------------------
-- the guards and export()
------------------------------------------------------------------------
SELECT is(pg_temp.err('DELETE FROM governance.ledger WHERE seq = 7'),
          '42501: governance.ledger is append-only: DELETE is not allowed', 'a superuser''s DELETE is still refused');
SELECT is(pg_temp.err('DELETE FROM governance.ledger_pruned'),
          '42501: governance.ledger_pruned is append-only: DELETE is not allowed', 'so is one of what was pruned');
SELECT is(pg_temp.err('INSERT INTO governance.ledger_anchors VALUES (1, NULL, ''x'', ''\x00'')'),
          '42501: governance.ledger_anchors is append-only through the extension', 'and a forged anchor');
SELECT matches((SELECT governance.export() LIMIT 1), '^governance-evidence 2 bundle 2 ',
               'export() starts after the pruned blocks');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.export(1, 2)'), '55000: block 1 was pruned',
          'and refuses a pruned one');

------------------------------------------------------------------------
-- tampering after a prune is still found (each undone by a rollback)
------------------------------------------------------------------------
BEGIN;
ALTER EVENT TRIGGER governance_guard_start DISABLE;
ALTER EVENT TRIGGER governance_guard_end DISABLE;
ALTER TABLE governance.ledger DISABLE TRIGGER ALL;
UPDATE governance.ledger SET payload = '{"i": 99}' WHERE seq = 12;
SELECT is((SELECT row(ok, first_bad_seq)::text FROM governance.verify_ledger()), row(false, 12::bigint)::text,
          'an edited remaining row is found');
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER governance_guard_start DISABLE;
ALTER EVENT TRIGGER governance_guard_end DISABLE;
ALTER TABLE governance.ledger_pruned DISABLE TRIGGER ALL;
DELETE FROM governance.ledger_pruned;
SELECT matches((SELECT problem FROM governance.verify_ledger()), '^missing row 1: it was sealed in block 1',
               'removing the record of the prune makes the rows missing, not hidden');
ROLLBACK;

SELECT * FROM finish();
\c postgres
\ir lib/fixture.sql
DROP DATABASE lt15;
SELECT pg_temp.drop_roles(ARRAY['lt15_admin', 'lt15_auditor', 'lt15_nobody']);
