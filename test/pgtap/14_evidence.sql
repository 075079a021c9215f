-- Evidence an auditor carries away (issue 12): export(), inclusion_proof(),
-- consistency_proof() -- their lines (docs/FORMAT.md section 12), bad input
-- (NULL, empty, out of range, huge), who may call them, and savepoints and
-- cursors around them.  The offline checks of what they return are in
-- test/system/evidence.sh (governance-verify and the Python verifier).
\ir lib/fixture.sql

SELECT pg_temp.drop_roles(ARRAY['ev_t_agent', 'ev_t_auditor', 'ev_t_nobody']);
CREATE ROLE ev_t_agent IN ROLE governance_agent;
CREATE ROLE ev_t_auditor IN ROLE governance_auditor;
CREATE ROLE ev_t_nobody;

SELECT governance.record('evidence_test.one', '{"step": 1, "s": "a \"quote\" and \\ é"}') AS p1 \gset
BEGIN;
SELECT governance.record('evidence_test.aborted', '{}') AS a1 \gset
ROLLBACK;
SELECT governance.record('evidence_test.two', '{"step": 2}') AS p2 \gset
SELECT governance.seal() AS sealed \gset

-- one snapshot for the whole test: the sealer may add blocks meanwhile
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT governance.checkpoint() AS cp \gset
SELECT (:'cp'::jsonb->>'block_id')::bigint AS newest \gset
SELECT block_id AS blk, row_count AS blk_rows, first_seq AS blk_first
  FROM governance.ledger_blocks WHERE :p2 BETWEEN first_seq AND last_seq \gset
SELECT plan(47);

------------------------------------------------------------------------------
-- export(): the lines
------------------------------------------------------------------------------
CREATE TEMP TABLE ex AS SELECT row_number() OVER () AS n, l FROM governance.export() l;
SELECT alike((SELECT l FROM ex WHERE n = 1), 'governance-evidence 2 bundle 1 ' || :newest || ' %',
    'export() starts with its header: format, version 1, the block range');
SELECT is((SELECT l FROM ex WHERE n = (SELECT max(n) FROM ex)), 'end ' || ((SELECT max(n) FROM ex) - 1),
    'it ends with the number of lines before the end record');
SELECT is((SELECT count(*) FROM ex WHERE l LIKE 'key %'),
    (SELECT count(*) FROM governance.signing_keys), 'every key is in it');
SELECT is((SELECT count(*) FROM ex WHERE l LIKE 'block %'), :newest::bigint, 'every block is in it');
SELECT is((SELECT count(*) FROM ex WHERE l LIKE 'row %'),
    (SELECT total_rows FROM governance.ledger_blocks WHERE block_id = :newest), 'every sealed row is in it');
SELECT is((SELECT count(*) FROM ex WHERE l ~ '[\\\t\r\n]' OR l !~ '^[ -~]+$'), 0::bigint,
    'every line is printable ASCII without backslash or tab, so COPY writes it unchanged');
SELECT is((SELECT l FROM ex WHERE l LIKE 'checkpoint %'),
    format('checkpoint %s %s %s %s %s %s %s %s %s', :'newest', :'cp'::jsonb->>'block_hash', :'cp'::jsonb->>'last_seq',
           :'cp'::jsonb->>'total_rows', :'cp'::jsonb->>'sealed_at_us', :'cp'::jsonb->>'key_id',
           :'cp'::jsonb->>'signature', :'cp'::jsonb->>'version', coalesce(:'cp'::jsonb->>'log_id', '-')),
    'its checkpoint record is checkpoint() of its last block');
SELECT is((SELECT split_part(l, ' ', 9) FROM ex WHERE l LIKE 'row ' || :p1 || ' %'),
    rtrim(translate(encode(convert_to(governance.canonical_json(payload), 'UTF8'), 'base64'), E'+/\n', '-_'), '='),
    'a row carries its payload as base64url of its canonical JSON')
  FROM governance.ledger WHERE seq = :p1;
SELECT is((SELECT split_part(l, ' ', 13) FROM ex WHERE l LIKE 'row ' || :p2 || ' %'),
    (SELECT encode(evidence, 'hex') FROM governance.ledger WHERE seq = :p2), 'and its stored evidence');
SELECT is((SELECT count(*) FROM governance.export(NULL, NULL)), (SELECT count(*) FROM ex),
    'NULL bounds are the first and the newest block');

-- a range
CREATE TEMP TABLE ex1 AS SELECT row_number() OVER () AS n, l FROM governance.export(:blk, :blk) l;
SELECT alike((SELECT l FROM ex1 WHERE n = 1), 'governance-evidence 2 bundle ' || :blk || ' ' || :blk || ' %',
    'export(b, b): one block');
SELECT is((SELECT count(*) FROM ex1 WHERE l LIKE 'row %'), :blk_rows::bigint, 'with its rows');
SELECT is((SELECT count(*) FROM ex1 WHERE l LIKE 'prior %'), CASE WHEN :blk > 1 THEN 1 ELSE 0 END::bigint,
    'and the header of the block before it, if any');
SELECT is((SELECT split_part(l, ' ', 7) FROM ex WHERE l LIKE 'block ' || b.block_id || ' %'),
    (SELECT coalesce(string_agg(b.gaps[i] || ':' || b.gaps[i + 1], ',' ORDER BY i), '=')
       FROM generate_subscripts(b.gaps, 1) i WHERE i % 2 = 1),
    'the block holding the aborted seq lists its gaps as lo:hi pairs')
  FROM governance.ledger_blocks b WHERE :a1 BETWEEN b.first_seq AND b.last_seq;

------------------------------------------------------------------------------
-- export(): bad input
------------------------------------------------------------------------------
SELECT is(pg_temp.err('SELECT count(*) FROM governance.export(0)'),
    '22023: invalid block range 0..0', 'from_block 0');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.export(-1, 5)'),
    '22023: invalid block range -1..5', 'a negative from_block');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.export(3, 2)'),
    '22023: invalid block range 3..2', 'to_block before from_block');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.export(1, 9223372036854775807)'),
    '42704: ledger block 9223372036854775807 does not exist', 'a huge to_block');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.export(9223372036854775807)'),
    '42704: ledger block 9223372036854775807 does not exist', 'a huge from_block');

------------------------------------------------------------------------------
-- inclusion_proof()
------------------------------------------------------------------------------
CREATE TEMP TABLE ip AS SELECT row_number() OVER () AS n, l FROM governance.inclusion_proof(:p2) l;
SELECT is((SELECT l FROM ip WHERE n = 1), 'governance-evidence 2 inclusion ' || :p2, 'inclusion_proof(): its header');
SELECT alike((SELECT l FROM ip WHERE l LIKE 'block %'), 'block ' || :blk || ' %', 'the block that holds the row');
SELECT alike((SELECT l FROM ip WHERE l LIKE 'row %'), 'row ' || :p2 || ' %', 'the row');
SELECT alike((SELECT l FROM ip WHERE l LIKE 'path %'), 'path % ' || :blk_rows || ' %', 'an audit path in a tree of the block''s rows');
SELECT ok((SELECT CASE WHEN split_part(l, ' ', 4) = '=' THEN 0
                        ELSE array_length(string_to_array(split_part(l, ' ', 4), ','), 1) END
           FROM ip WHERE l LIKE 'path %') <= ceil(log(2, :blk_rows)),
    'of at most log2(rows) hashes (= when the block has one row)');
SELECT is((SELECT l FROM ip WHERE n = (SELECT max(n) FROM ip)), 'end ' || ((SELECT max(n) FROM ip) - 1), 'and its end');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.inclusion_proof(NULL)'),
    '22004: seq must not be NULL', 'NULL');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.inclusion_proof(0)'),
    '42704: ledger row 0 does not exist', 'seq 0');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.inclusion_proof(9223372036854775807)'),
    '42704: ledger row 9223372036854775807 does not exist', 'a huge seq');
SELECT is(pg_temp.err(format('SELECT count(*) FROM governance.inclusion_proof(%s)', :a1)),
    format('42704: ledger row %s does not exist', :a1), 'an aborted seq');
SELECT governance.record('evidence_test.open', '{}') AS open_seq \gset
SELECT is(pg_temp.err(format('SELECT count(*) FROM governance.inclusion_proof(%s)', :open_seq)),
    format('55000: ledger row %s is not sealed yet', :open_seq), 'a row not sealed yet');

------------------------------------------------------------------------------
-- consistency_proof()
------------------------------------------------------------------------------
CREATE TEMP TABLE cp1 AS SELECT row_number() OVER () AS n, l FROM governance.consistency_proof(:'cp', :'cp') l;
SELECT is((SELECT l FROM cp1 WHERE n = 1), format('governance-evidence 2 consistency %s %s', :newest, :newest),
    'consistency_proof(cp, cp): its header');
SELECT is((SELECT count(*) FROM cp1 WHERE l LIKE 'checkpoint %'), 2::bigint, 'the two checkpoints');
SELECT is((SELECT count(*) FROM cp1 WHERE l LIKE 'block %'), 0::bigint, 'and no block between them');
SELECT is((SELECT count(*) FROM governance.consistency_proof(:'cp')), (SELECT count(*) FROM cp1),
    'a NULL new checkpoint is the newest block''s');
SELECT is(pg_temp.err('SELECT count(*) FROM governance.consistency_proof(NULL)'),
    '22004: old_checkpoint must not be NULL', 'NULL');
SELECT is(pg_temp.err($$SELECT count(*) FROM governance.consistency_proof('{}')$$),
    '22023: invalid old checkpoint: unsupported checkpoint version: only versions 1 and 2 exist', 'an empty object');
SELECT is(pg_temp.err($$SELECT count(*) FROM governance.consistency_proof('[]')$$),
    '22023: invalid old checkpoint: malformed checkpoint: not a JSON object', 'not an object');
SELECT is(pg_temp.err(format('SELECT count(*) FROM governance.consistency_proof(%L, %L)', :'cp',
        jsonb_set(:'cp'::jsonb, '{block_id}', '1e30'))),
    '22023: invalid new checkpoint: malformed checkpoint: it needs block_id, block_hash, last_seq, total_rows, sealed_at_us, key_id and signature',
    'a huge block id');
SELECT is(pg_temp.err(format('SELECT count(*) FROM governance.consistency_proof(%L)',
        jsonb_set(:'cp'::jsonb, '{total_rows}', '1'))),
    '22023: invalid old checkpoint: checkpoint signature does not verify', 'a checkpoint altered');

------------------------------------------------------------------------------
-- Who may: auditors and administrators
------------------------------------------------------------------------------
SET ROLE ev_t_auditor;
SELECT ok((SELECT count(*) FROM governance.export(:blk, :blk)) > 0, 'an auditor exports');
SELECT ok((SELECT count(*) FROM governance.inclusion_proof(:p2)) > 0
          AND (SELECT count(*) FROM governance.consistency_proof(:'cp')) > 0, 'and gets proofs');
SET ROLE ev_t_agent;
SELECT alike(pg_temp.err('SELECT count(*) FROM governance.export()'), '42501: permission denied%', 'an agent may not export');
SELECT alike(pg_temp.err(format('SELECT count(*) FROM governance.inclusion_proof(%s)', :p2)),
    '42501: permission denied%', 'nor get an inclusion proof');
SET ROLE ev_t_nobody;
SELECT alike(pg_temp.err(format('SELECT count(*) FROM governance.consistency_proof(%L)', :'cp')),
    '42501: permission denied%', 'nor may any other role get a consistency proof');
RESET ROLE;

------------------------------------------------------------------------------
-- Savepoints and cursors
------------------------------------------------------------------------------
SAVEPOINT s1;
\set ON_ERROR_STOP 0
SELECT count(*) FROM governance.export(0);
\set ON_ERROR_STOP 1
ROLLBACK TO SAVEPOINT s1;
SELECT is((SELECT count(*) FROM governance.export()), (SELECT count(*) FROM ex),
    'after an export failed in a savepoint rolled back to, export() works');
SAVEPOINT s2;
DECLARE c CURSOR FOR SELECT governance.export();
MOVE 2 IN c;
SELECT governance.record('evidence_test.between', '{}') AS between_seq \gset
MOVE 1 IN c;
ROLLBACK TO SAVEPOINT s2;
SELECT is((SELECT count(*) FROM (SELECT governance.export() LIMIT 3) x), 3::bigint,
    'a cursor over export() fetched in parts, rolled back; a LIMIT stops it early');
SELECT is((SELECT count(*) FROM governance.export()), (SELECT count(*) FROM ex),
    'and the next export() is whole');

SELECT * FROM finish();
ROLLBACK;

SELECT pg_temp.drop_roles(ARRAY['ev_t_agent', 'ev_t_auditor', 'ev_t_nobody']);
