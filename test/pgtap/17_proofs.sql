-- Format version 2 (issue 12 section 2, issue 15 section 1): the log id
-- in every new block's and checkpoint's signed bytes, and the lineage map
-- (each execution's chain head as of each block), recomputed here in SQL
-- from docs/FORMAT.md alone; verify_checkpoint() and verify_ledger()
-- refusing another log's checkpoint or a changed log id; who may read the
-- log id; savepoints around sealing.
--
-- Outside a transaction block: leases go live when their authorization
-- commits.  Everything is named fp17_* / "fp17-*" and dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['fp17_bot', 'fp17_sub', 'fp17_auditor', 'fp17_nobody']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'fp17%';

SELECT plan(49);

-- FORMAT.md section 1 fields, section 6 trees
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(b)) || b END
$$;
CREATE FUNCTION pg_temp.tag(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.field(convert_to(t, 'UTF8'))
$$;
CREATE FUNCTION pg_temp.lineage_mth(d bytea[]) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n int := cardinality(d);
    k int := 1;
BEGIN
    IF n IS NULL OR n = 0 THEN
        RETURN governance.blake2b_512(pg_temp.tag('governance.v2.lineage-empty'));
    END IF;
    IF n = 1 THEN
        RETURN d[1];
    END IF;
    WHILE k * 2 < n LOOP
        k := k * 2;
    END LOOP;
    RETURN governance.blake2b_512(pg_temp.tag('governance.v2.lineage-node')
        || pg_temp.field(pg_temp.lineage_mth(d[1:k])) || pg_temp.field(pg_temp.lineage_mth(d[k + 1:n])));
END
$$;
-- the lineage map of a block: per lease, the seq and link of its last row
-- in the block, leaves in the order of the lease ids' bytes
CREATE FUNCTION pg_temp.lineage_root(b governance.ledger_blocks, skip bigint DEFAULT NULL) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT pg_temp.lineage_mth(array_agg(governance.blake2b_512(pg_temp.tag('governance.v2.lineage-leaf')
               || pg_temp.field(uuid_send(h.lease_id)) || pg_temp.field(int8send(h.seq))
               || pg_temp.field(h.link)) ORDER BY uuid_send(h.lease_id)))
      FROM (SELECT DISTINCT ON (l.lease_id) l.lease_id, l.seq, l.link
              FROM governance.ledger l
             WHERE l.seq BETWEEN b.first_seq AND b.last_seq AND l.lease_id IS NOT NULL
               AND l.seq IS DISTINCT FROM skip
             ORDER BY l.lease_id, l.seq DESC) h
$$;

CREATE ROLE fp17_bot LOGIN IN ROLE governance_agent;
CREATE ROLE fp17_sub LOGIN IN ROLE governance_agent;
CREATE ROLE fp17_auditor IN ROLE governance_auditor;
CREATE ROLE fp17_nobody;
SELECT governance.register_agent('Agent::"fp17-' || r || '"', 'fp17_' || r) FROM unnest(ARRAY['bot', 'sub']) r;
SELECT governance.put_entity('Agent::"fp17-' || r || '"', ARRAY['Group::"fp17-g"'], '{}')
  FROM unnest(ARRAY['bot', 'sub']) r;
SELECT governance.create_policy('fp17_p',
    'permit (principal in Group::"fp17-g", action == Action::"fp17.run", resource);');

------------------------------------------------------------------------------
-- the log id
------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM governance.log_identity), 1::bigint, 'governance.log_identity holds one row');
SELECT ok((SELECT log_id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
             FROM governance.log_identity), 'the log id is a random (version 4) UUID');
SELECT is(pg_temp.err('INSERT INTO governance.log_identity (log_id) VALUES (gen_random_uuid())'),
          '23505: duplicate key value violates unique constraint "log_identity_pkey"',
          'a second log id is refused');
SELECT alike(pg_temp.err('INSERT INTO governance.log_identity (singleton, log_id) VALUES (false, gen_random_uuid())'),
          '23514: %', 'nor can a second row dodge the single-row key');

-- an execution with a delegated child, sealed
SET ROLE fp17_bot;
SELECT lease_id AS root FROM governance.authorize('Agent::"fp17-bot"', 'fp17.run', 'Thing::"1"', '{}', '10 minutes') \gset
SELECT lease_id AS child FROM governance.delegate(:'root', 'Agent::"fp17-sub"', 'fp17.run', 'Thing::"1"', '{}', '5 minutes') \gset
RESET ROLE;
-- the root's heartbeat and the child's revocation in one transaction, so
-- the block sealing the revocation holds both executions' events (the
-- sealer wakes on every commit: two commits could land in two blocks)
BEGIN;
SET LOCAL ROLE fp17_bot;
SELECT governance.heartbeat(:'root');
RESET ROLE;
SELECT governance.revoke(:'child', 'fp17 test');
COMMIT;
SELECT max(seq) AS last_child FROM governance.ledger WHERE lease_id = :'child' \gset
SELECT governance.seal() AS blk \gset
SELECT block_id AS child_blk FROM governance.ledger_blocks WHERE :last_child BETWEEN first_seq AND last_seq \gset

SELECT is((SELECT version FROM governance.ledger_blocks WHERE block_id = :blk), 2, 'a new block is version 2');
SELECT is((SELECT log_id FROM governance.ledger_blocks WHERE block_id = :blk),
          (SELECT log_id FROM governance.log_identity), 'it names this database''s log');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b
            WHERE b.version = 2 AND (b.log_id IS DISTINCT FROM (SELECT log_id FROM governance.log_identity)
                                     OR length(b.lineage_root) IS DISTINCT FROM 64)), 0::bigint,
          'every version 2 block names the log and has a 64-byte lineage root');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b
            WHERE b.version = 1 AND (b.log_id IS NOT NULL OR b.lineage_root IS NOT NULL)), 0::bigint,
          'a version 1 block has neither');
SELECT is((SELECT count(*) FROM governance.ledger_blocks b
            WHERE b.version = 2 AND b.lineage_root IS DISTINCT FROM pg_temp.lineage_root(b)), 0::bigint,
          'every lineage root recomputes in SQL from FORMAT.md section 6b');
SELECT ok((SELECT count(DISTINCT lease_id) >= 2 FROM governance.ledger l, governance.ledger_blocks b
            WHERE b.block_id = :child_blk AND l.seq BETWEEN b.first_seq AND b.last_seq AND l.lease_id IS NOT NULL),
          'the block of the child''s revocation has entries for at least two executions (the test is not trivial)');
SELECT isnt((SELECT lineage_root FROM governance.ledger_blocks WHERE block_id = :child_blk),
            governance.blake2b_512(pg_temp.tag('governance.v2.lineage-empty')), 'so its root is not the empty map''s');
-- the map commits to the last event: a map ending one event earlier differs
SELECT isnt((SELECT lineage_root FROM governance.ledger_blocks WHERE block_id = :child_blk),
            (SELECT pg_temp.lineage_root(b, :last_child) FROM governance.ledger_blocks b WHERE block_id = :child_blk),
            'the map commits to each execution''s last event: without the child''s revocation it differs');
SELECT is((SELECT ok FROM governance.verify_ledger()), true, 'verify_ledger() verifies the version 2 blocks');

------------------------------------------------------------------------------
-- checkpoints of another log
------------------------------------------------------------------------------
SELECT governance.checkpoint() AS cp \gset
SELECT is((:'cp'::jsonb)->>'log_id', (SELECT replace(log_id::text, '-', '') FROM governance.log_identity),
          'checkpoint() shows the log id');
SELECT is((SELECT ok FROM governance.verify_checkpoint(:'cp')), true, 'the checkpoint verifies');
SELECT is((SELECT problem FROM governance.verify_checkpoint(jsonb_set(:'cp', '{log_id}', '"00000000000000000000000000000001"'))),
          'checkpoint of another log: it names log 00000000000000000000000000000001, this ledger is log '
              || (SELECT replace(log_id::text, '-', '') FROM governance.log_identity),
          'verify_checkpoint() names the log-id mismatch of a checkpoint of another log');
SELECT is((SELECT problem FROM governance.verify_checkpoint(c)),
          'malformed checkpoint: a version 2 checkpoint needs log_id, 32 hexadecimal digits',
          'verify_checkpoint() refuses log_id ' || coalesce(c->>'log_id', 'missing') || ' as malformed')
  FROM (VALUES (:'cp'::jsonb - 'log_id'), (jsonb_set(:'cp', '{log_id}', 'null')),
               (jsonb_set(:'cp', '{log_id}', '""')), (jsonb_set(:'cp', '{log_id}', to_jsonb(repeat('ab', 5000)))),
               (jsonb_set(:'cp', '{log_id}', '"zz000000000000000000000000000000"'))) v(c);
SELECT is((SELECT problem FROM governance.verify_ledger(jsonb_set(:'cp', '{log_id}', '"ffffffffffffffffffffffffffffffff"'))),
          'checkpoint of another log: it names log ffffffffffffffffffffffffffffffff, this ledger is log '
              || (SELECT replace(log_id::text, '-', '') FROM governance.log_identity),
          'verify_ledger(checkpoint) refuses it too');

------------------------------------------------------------------------------
-- the log id is signed: changing it is found (in a savepoint, undone)
------------------------------------------------------------------------------
BEGIN;
SAVEPOINT s1;
UPDATE governance.log_identity SET log_id = '00000000-0000-4000-8000-000000000000';
SELECT alike((SELECT problem FROM governance.verify_ledger()),
            'block % belongs to another log: it names log %, this ledger is log 00000000000040008000000000000000',
            'a changed log id makes verify_ledger() name the first version 2 block as another log''s');
SELECT alike((SELECT problem FROM governance.verify_checkpoint(:'cp')), 'checkpoint of another log: %',
            'and the checkpoint kept outside as another log''s');
ROLLBACK TO SAVEPOINT s1;
SELECT is((SELECT ok FROM governance.verify_ledger()), true, 'rolled back to the savepoint, it verifies again');
-- a seal rolled back leaves no block
SAVEPOINT s2;
SELECT governance.record('fp17.rolled', '{}');
SELECT governance.seal() AS rolled_blk \gset
ROLLBACK TO SAVEPOINT s2;
SELECT is((SELECT count(*) FROM governance.ledger_blocks WHERE block_id = :rolled_blk AND :rolled_blk > :blk),
          0::bigint, 'a seal in a rolled-back savepoint leaves no block');
COMMIT;
SELECT is((SELECT ok FROM governance.verify_ledger()), true, 'and the ledger verifies after it');

------------------------------------------------------------------------------
-- proof(lease_id)
------------------------------------------------------------------------------
SELECT governance.seal();
CREATE TEMP TABLE pf AS SELECT row_number() OVER () AS n, l FROM governance.proof(:'root') l;
SELECT alike((SELECT l FROM pf WHERE n = 1), 'governance-evidence 2 proof ' || replace(:'root', '-', '') || ' %',
             'proof(): its header names the lease');
SELECT is((SELECT l FROM pf ORDER BY n DESC LIMIT 1), 'end ' || ((SELECT count(*) FROM pf) - 1),
          'it ends with the count of its records');
SELECT is((SELECT count(*) FROM pf WHERE l LIKE 'row %'),
          (SELECT count(*) FROM governance.ledger WHERE lease_id IN (:'root', :'child')),
          'it holds every event of the lease and its delegation');
SELECT is((SELECT count(*) FROM pf p JOIN pf q ON q.n = p.n + 1 WHERE p.l LIKE 'row %' AND q.l NOT LIKE 'path %'), 0::bigint,
          'each event is followed by its audit path');
SELECT is((SELECT count(*) FROM pf WHERE l LIKE 'block %'),
          (SELECT max(block_id) - min(block_id) + 1 FROM governance.ledger_blocks
            WHERE block_id >= (SELECT block_id FROM governance.ledger_blocks
                                WHERE (SELECT min(seq) FROM governance.ledger WHERE lease_id = :'root') BETWEEN first_seq AND last_seq)),
          'every block header from the first event''s to the newest');
SELECT ok((SELECT count(*) > 0 FROM pf WHERE l LIKE 'map ' || replace(:'root', '-', '') || ' %'),
          'lineage-map entries of the lease');
SELECT alike((SELECT l FROM pf WHERE l LIKE 'checkpoint %'),
             format('checkpoint %s %%', (SELECT max(block_id) FROM governance.ledger_blocks)),
             'the checkpoint of the newest block');
SELECT is((SELECT count(*) FROM pf WHERE l ~ '[\\\t\r\n]' OR l !~ '^[ -~]+$'), 0::bigint,
          'every line is printable ASCII');
SELECT is((SELECT count(*) FROM governance.proof(:'child') l WHERE l LIKE 'row %'),
          (SELECT count(*) FROM governance.ledger WHERE lease_id = :'child') + 1,
          'a delegated lease''s proof holds its events and the parent''s delegated event it starts at');
-- bad input
SELECT is(pg_temp.err('SELECT count(*) FROM governance.proof(NULL)'), '22004: lease_id must not be NULL', 'NULL is refused');
SELECT alike(pg_temp.err('SELECT count(*) FROM governance.proof(''00000000-0000-4000-8000-000000000000'')'),
             '42704: the ledger has no event of lease 00000000-0000-4000-8000-000000000000', 'an unknown lease is refused');
SELECT alike(pg_temp.err('SELECT count(*) FROM governance.proof(''not-a-uuid'')'), '22P02: %', 'a malformed lease id is refused');
SELECT alike(pg_temp.err(format('SELECT count(*) FROM governance.proof(%L)', repeat('a', 100000))), '22P02: %',
             'a huge one too');
SELECT alike(pg_temp.err('SELECT count(*) FROM governance.proof('''')'), '22P02: %', 'an empty one too');
-- a savepoint around it, and a cursor
BEGIN;
SAVEPOINT p1;
\set ON_ERROR_STOP 0
SELECT count(*) FROM governance.proof('00000000-0000-4000-8000-000000000000');
\set ON_ERROR_STOP 1
ROLLBACK TO SAVEPOINT p1;
DECLARE pc CURSOR FOR SELECT governance.proof(:'root');
MOVE 2 IN pc;
SAVEPOINT p2;
SELECT governance.record('fp17.between', '{}');
ROLLBACK TO SAVEPOINT p2;
CLOSE pc;
SELECT is((SELECT count(*) FROM governance.proof(:'root')), (SELECT count(*) FROM pf),
          'after a failed call and a cursor rolled back in savepoints, proof() is whole');
COMMIT;

------------------------------------------------------------------------------
-- who may read the log id, and take a proof
------------------------------------------------------------------------------
SET ROLE fp17_auditor;
SELECT is((SELECT count(*) FROM governance.log_identity), 1::bigint, 'an auditor reads the log id');
RESET ROLE;
SET ROLE fp17_nobody;
SELECT alike(pg_temp.err('SELECT log_id FROM governance.log_identity'), '42501: permission denied%',
             'a role without the grant may not');
RESET ROLE;
SET ROLE fp17_auditor;
SELECT alike(pg_temp.err('UPDATE governance.log_identity SET log_id = gen_random_uuid()'), '42501: permission denied%',
             'nor may an auditor change it');
RESET ROLE;
SET ROLE fp17_bot;
SELECT alike(pg_temp.err('SELECT log_id FROM governance.log_identity'), '42501: permission denied%',
             'nor an agent read it');
SELECT alike(pg_temp.err(format('SELECT count(*) FROM governance.proof(%L)', :'root')), '42501: permission denied%',
             'nor take a proof');
RESET ROLE;
SELECT count(*) AS pf_lines FROM pf \gset
SET ROLE fp17_auditor;
SELECT is((SELECT count(*) FROM governance.proof(:'root')), :pf_lines::bigint, 'an auditor takes a proof');
RESET ROLE;
SET ROLE fp17_nobody;
SELECT alike(pg_temp.err(format('SELECT count(*) FROM governance.proof(%L)', :'root')), '42501: permission denied%',
             'a role without the grant may not');
RESET ROLE;

SELECT * FROM finish();

SELECT governance.revoke(:'root', 'fp17 done');
SELECT governance.drop_policy('fp17_p');
SELECT pg_temp.drop_roles(ARRAY['fp17_bot', 'fp17_sub', 'fp17_auditor', 'fp17_nobody']);
