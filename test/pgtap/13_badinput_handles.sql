-- Bad handles and event kinds (issue 9, items 8 and 14).
--
-- Item 8: every function that takes a seq, a block id, a block range, a
-- checkpoint, a role name or another handle answers a bad one with a clear
-- error and the right SQLSTATE (42704 for what does not exist, 22023 for a
-- value that cannot be one, 42939 for a reserved name), never an internal
-- error or a crash; the trigger functions refuse to be called directly.
-- (govern_table and ungovern_table, in govern.c, are the lead's.)
--
-- Item 14: the kind grammar of record(): lower-case ASCII segments
-- [a-z][a-z0-9_-]* joined by single dots, at most 128 bytes, the
-- "governance" namespace reserved; each rejected form, the accepted ones,
-- who may call it, and SAVEPOINT / ROLLBACK TO.
--
-- One transaction, rolled back.
\ir lib/fixture.sql
BEGIN;
SELECT plan(104);


CREATE ROLE bh13_agent LOGIN IN ROLE governance_agent;
CREATE ROLE bh13_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE bh13_plain LOGIN;

------------------------------------------------------------------------
-- seqs and block ids that name nothing
------------------------------------------------------------------------
SELECT is(pg_temp.err(format('SELECT governance.event_bytes(%s)', s)),
          format('42704: ledger row %s does not exist', s), format('event_bytes(%s) names the missing row', s))
  FROM unnest(ARRAY[0, -1, -9223372036854775808, 9223372036854775807]::bigint[]) s;
SELECT is(pg_temp.err(format('SELECT governance.%s(%s)', f, b)),
          format('42704: ledger block %s does not exist', b), format('%s(%s) names the missing block', f, b))
  FROM unnest(ARRAY['block_bytes', 'checkpoint_bytes']) f,
       unnest(ARRAY[0, -1, -9223372036854775808, 9223372036854775807]::bigint[]) b;
SELECT is(governance.event_bytes(NULL), NULL, 'event_bytes(NULL) is NULL (strict)');
SELECT is(governance.block_bytes(NULL), NULL, 'block_bytes(NULL) is NULL (strict)');

------------------------------------------------------------------------
-- block ranges
------------------------------------------------------------------------
SELECT is(pg_temp.err(format('SELECT * FROM governance.verify_ledger(%s, %s)', f, t)),
          format('22023: invalid block range %s..%s', f, t), format('verify_ledger(%s, %s) is not a range', f, t))
  FROM (VALUES (1, 0), (0, 0), (-1, 5), (5, 4), (-9223372036854775808, 1), (1, -9223372036854775808))
       AS r(f, t);
SELECT is(pg_temp.err('SELECT * FROM governance.verify_ledger(-3)'), '22023: invalid block range -3..0',
          'verify_ledger(-3) is not a range');
SELECT is((SELECT blocks_checked FROM governance.verify_ledger(NULL, NULL)),
          (SELECT count(*) FROM governance.ledger_blocks),
          'verify_ledger(NULL, NULL) verifies from the first block to the newest');
SELECT is((SELECT problem FROM governance.verify_ledger(9223372036854775807)),
          'missing block 9223372036854775806',
          'a range beyond the newest block is reported as a missing block (a removed tail looks the same)');
SELECT is((SELECT ok FROM governance.verify_ledger(1, 9223372036854775807)), false,
          'as is an upper bound beyond it');

------------------------------------------------------------------------
-- checkpoints whose numbers are out of range
------------------------------------------------------------------------
SELECT is((governance.verify_checkpoint(c)).problem,
          'malformed checkpoint: it needs block_id, block_hash, last_seq, total_rows, sealed_at_us, key_id and signature',
          format('verify_checkpoint with block_id %s is malformed, not an error', c->'block_id'))
  FROM unnest(ARRAY['{"version": 1, "block_id": 1e400}', '{"version": 1, "block_id": -1.5}',
                    '{"version": 1, "block_id": 99999999999999999999}', '{"version": 1, "block_id": "1"}']::jsonb[]) c;
SELECT is((governance.verify_ledger('{"version": 1e400}'::jsonb)).problem,
          'unsupported checkpoint version: only versions 1 and 2 exist', 'verify_ledger(checkpoint) with a huge version');

------------------------------------------------------------------------
-- register_agent: roles that cannot be an agent's
------------------------------------------------------------------------
SELECT is(pg_temp.err(format('SELECT governance.register_agent(''Agent::"bh13"'', %L)', r)),
          format('42939: role "%s" cannot be registered as an agent', r), format('register_agent refuses role %s', r))
  FROM unnest(ARRAY['governance_admin', 'governance_agent', 'governance_auditor', 'pg_monitor',
                    'pg_read_all_data', 'pg_signal_backend']) r;
SELECT is(pg_temp.err(format('SELECT governance.register_agent(''Agent::"bh13"'', %L)', r)),
          format('42704: role "%s" does not exist', r), format('register_agent: role %L does not exist', r))
  FROM unnest(ARRAY['public', '', 'bh13_nobody']) r;
SELECT is((SELECT count(*)::int FROM governance.agents WHERE principal = 'Agent::"bh13"'), 0,
          'none of them registered anything');

------------------------------------------------------------------------
-- other handles
------------------------------------------------------------------------
\ir ../bench/policy_benchmark.sql
SELECT is(pg_temp.err(format('SELECT * FROM governance_bench.policy_benchmark(''Agent::"x"'', ''a'', ''Doc::"1"'', ''{}'', %s)', n)),
          '22023: iterations must be between 1 and 10000000', format('policy_benchmark (bench harness) with %s iterations', n))
  FROM unnest(ARRAY[-1, 0, 10000001, -2147483648, 2147483647]) n;
DROP SCHEMA governance_bench CASCADE;
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'policy_benchmark' AND pronamespace = 'governance'::regnamespace),
          'the policy benchmark is not part of the extension''s API');SELECT is(governance.delete_entity('Nothing::"bh13"'), false, 'delete_entity of an unknown uid is false');
SELECT is(pg_temp.err('SELECT governance.drop_policy(''bh13_nope'')'), '42704: policy "bh13_nope" does not exist',
          'drop_policy of an unknown policy');
SELECT is(governance.detach('00000000-0000-4000-8000-000000000000'), 0, 'detach of an unknown lease detaches nothing');
SELECT is(governance._is_ledger_object(0, 0), false, '_is_ledger_object(0, 0) is false');
SELECT is(pg_temp.err(format('SELECT governance.%s()', f)), '39P01: ' || m, format('%s() called directly is refused', f))
  FROM (VALUES ('_lineage', 'governance lineage trigger must be a row trigger with two arguments'),
               ('_refuse_truncate', 'governance truncate guard must be called as a trigger'),
               ('_ledger_guard', 'governance ledger guard must be called as a trigger'),
               ('_policy_changed', 'function can only be called as a trigger'),
               ('_ddl_guard_start', 'governance DDL guard must be called as an event trigger')) t(f, m);

-- an error in a savepoint leaves the transaction usable (the two errors
-- are printed)
\set ON_ERROR_STOP 0
SAVEPOINT lookup;
SELECT governance.event_bytes(0) \gset
ROLLBACK TO SAVEPOINT lookup;
SAVEPOINT range;
SELECT * FROM governance.verify_ledger(1, 0) \gset
ROLLBACK TO SAVEPOINT range;
\set ON_ERROR_STOP 1
SELECT is(pg_temp.err('SELECT governance.block_bytes(0)'), '42704: ledger block 0 does not exist',
          'after ROLLBACK TO SAVEPOINT of those errors the transaction goes on');
SELECT ok((SELECT count(*) FROM governance.verify_ledger(1, NULL)) = 1, 'and verifies');

------------------------------------------------------------------------
-- who may use the lookup functions
------------------------------------------------------------------------
SET LOCAL ROLE bh13_agent;
SELECT is(pg_temp.err(format('SELECT governance.%s(1)', f)), format('42501: permission denied for function %s', f),
          format('an agent may not call %s', f))
  FROM unnest(ARRAY['event_bytes', 'block_bytes', 'checkpoint_bytes']) f;
SELECT is(pg_temp.err('SELECT * FROM governance.verify_ledger(1, 0)'), '42501: permission denied for function verify_ledger',
          'nor verify_ledger (privileges are checked before arguments)');
RESET ROLE;
SET LOCAL ROLE bh13_auditor;
SELECT is(pg_temp.err('SELECT governance.event_bytes(0)'), '42704: ledger row 0 does not exist',
          'an auditor may, and gets the same clear error');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"bh13"'', ''bh13_agent'')'),
          '42501: permission denied for function register_agent', 'an auditor may not register agents');
RESET ROLE;

------------------------------------------------------------------------
-- event kinds (item 14)
------------------------------------------------------------------------
-- rejected: not a kind at all
SELECT is(pg_temp.err(format('SELECT governance.record(%L, ''{}'')', k)), '22023: invalid event kind ' || format('"%s"', k) || ': ' || why,
          format('record(%L) is refused: %s', k, why))
  FROM (VALUES ('Governance.write', 'a segment does not begin with a lower-case ASCII letter'),
               ('GOVERNANCE.WRITE', 'a segment does not begin with a lower-case ASCII letter'),
               (' governance.write', 'a segment does not begin with a lower-case ASCII letter'),
               ('governance.write ', 'it contains a character other than a-z, 0-9, "_", "-" and the dots between segments'),
               ('governance' || U&'\2024' || 'write', 'it contains a character other than a-z, 0-9, "_", "-" and the dots between segments'),
               ('governance' || U&'\FF0E' || 'write', 'it contains a character other than a-z, 0-9, "_", "-" and the dots between segments'),
               ('governance.', 'it has an empty segment (a leading, trailing or doubled dot)'),
               ('.governance', 'it has an empty segment (a leading, trailing or doubled dot)'),
               ('tool..call', 'it has an empty segment (a leading, trailing or doubled dot)'),
               ('.', 'it has an empty segment (a leading, trailing or doubled dot)'),
               ('tool.Call', 'a segment does not begin with a lower-case ASCII letter'),
               ('9tool', 'a segment does not begin with a lower-case ASCII letter'),
               ('tool.-x', 'a segment does not begin with a lower-case ASCII letter'),
               ('tool/call', 'it contains a character other than a-z, 0-9, "_", "-" and the dots between segments'),
               ('tóol', 'it contains a character other than a-z, 0-9, "_", "-" and the dots between segments'),
               (E'tool\tcall', 'it contains a character other than a-z, 0-9, "_", "-" and the dots between segments')) t(k, why);
-- rejected: reserved
SELECT is(pg_temp.err(format('SELECT governance.record(%L, ''{}'')', k)), format('42939: event kind "%s" is reserved', k),
          format('record(%L) is refused: the governance namespace is reserved', k))
  FROM unnest(ARRAY['governance', 'governance.write', 'governance.authorize', 'governance.x.y-z']) k;
-- rejected: length, emptiness
SELECT is(pg_temp.err(format('SELECT governance.record(%L, ''{}'')', repeat('k', 129))),
          '22001: event kind is too long (129 bytes, at most 128)', 'a 129-byte kind is refused');
SELECT is(pg_temp.err('SELECT governance.record('''', ''{}'')'), '22004: event kind must not be NULL or empty', 'an empty kind');
SELECT is(pg_temp.err('SELECT governance.record(NULL, ''{}'')'), '22004: event kind must not be NULL', 'a NULL kind');
-- accepted
SELECT is(pg_temp.err(format('SELECT governance.record(%L, ''{}'')', k)), 'no error', format('record(%L) is accepted', k))
  FROM unnest(ARRAY['a', 'tool.call', 'a-b_c.d9', 'x9.y-.z_', 'governancex.y', 'governance-x', 'governance_x.y',
                    'x.governance', 'x.governance.y', repeat('k', 128), repeat('ab.', 42) || 'ab']) k;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE txid = pg_current_xact_id()
             AND kind IN ('a', 'tool.call', 'a-b_c.d9', 'x9.y-.z_', 'governancex.y', 'governance-x', 'governance_x.y',
                          'x.governance', 'x.governance.y', repeat('k', 128), repeat('ab.', 42) || 'ab')),
          11, 'each accepted kind was appended, and nothing else');
-- who may record: an agent only under a live attached lease, an auditor never
SET LOCAL ROLE bh13_agent;
SELECT is(pg_temp.err('SELECT governance.record(''tool.call'', ''{}'')'), '42501: record() needs a live attached lease',
          'an agent without a lease may not record');
SELECT is(pg_temp.err('SELECT governance.record(''governance.write'', ''{}'')'), '42939: event kind "governance.write" is reserved',
          'a reserved kind is refused before anything else');
RESET ROLE;
SET LOCAL ROLE bh13_auditor;
SELECT is(pg_temp.err('SELECT governance.record(''tool.call'', ''{}'')'), '42501: permission denied for function record',
          'an auditor may not record');
RESET ROLE;
SET LOCAL ROLE bh13_plain;
SELECT is(pg_temp.err('SELECT governance.record(''tool.call'', ''{}'')'), '42501: permission denied for schema governance',
          'nor may a role outside the governance roles');
RESET ROLE;
-- SAVEPOINT / ROLLBACK TO
SAVEPOINT s1;
SELECT governance.record('bh13.rolled-back', '{}') AS rolled_back_seq \gset
ROLLBACK TO SAVEPOINT s1;
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq = :rolled_back_seq), 0,
          'a record() rolled back to its savepoint leaves no row');
SAVEPOINT s2;
SELECT is(pg_temp.err('SELECT governance.record(''Governance.write'', ''{}'')'),
          '22023: invalid event kind "Governance.write": a segment does not begin with a lower-case ASCII letter',
          'a refused kind inside a savepoint');
RELEASE SAVEPOINT s2;
SELECT ok(governance.record('bh13.after', '{}') > :rolled_back_seq, 'and the transaction records on afterwards');

SELECT * FROM finish();
ROLLBACK;
