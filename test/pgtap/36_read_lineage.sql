-- Read lineage (governance.read_lineage = statement): every statement that
-- read a governed table under a lease leaves one governance.read event per
-- lease, naming the tables and the rows their scans returned (not the
-- rows): in the reading transaction when it already writes, through the
-- enforcer when it is read-only, rolls back or the statement fails.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DO $$
DECLARE r text;
BEGIN
    DROP SCHEMA IF EXISTS lt36 CASCADE;
    DELETE FROM governance.governed_tables WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relid);
    FOREACH r IN ARRAY ARRAY['lt36_bot'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt36%';

SELECT plan(16);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\ir lib/poll.sql

CREATE ROLE lt36_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"lt36-bot"', 'lt36_bot');
SELECT governance.put_entity('Agent::"lt36-bot"', '{}', '{}');
SELECT governance.create_policy('lt36_p', 'permit (principal == Agent::"lt36-bot", action, resource);');
CREATE SCHEMA lt36;
GRANT USAGE ON SCHEMA lt36 TO PUBLIC;
CREATE TABLE lt36.t (id int, account text) PARTITION BY LIST (id);
CREATE TABLE lt36.t1 PARTITION OF lt36.t FOR VALUES IN (1, 2, 3);
CREATE TABLE lt36.t2 PARTITION OF lt36.t DEFAULT;
INSERT INTO lt36.t SELECT g, CASE WHEN g % 2 = 0 OR g > 10 THEN 'Account::"1"' ELSE 'Account::"2"' END FROM generate_series(1, 100) g;
GRANT SELECT ON lt36.t, lt36.t1, lt36.t2 TO lt36_bot;
SELECT governance.govern_table('lt36.t', 'lt36', 'account');

SET ROLE lt36_bot;
SELECT lease_id AS s1, artifact AS s1a FROM governance.authorize('Agent::"lt36-bot"', 'lt36.select', 'Account::"1"') \gset
RESET ROLE;
SELECT max(seq) AS mark FROM governance.ledger \gset
-- each read since a seq, in order: a read ledgered in its own transaction
-- is one row ({"tables": ...}), those the enforcer ledgers for one lease in
-- one round share a row ({"reads": [{"tables": ...}, ...]})
CREATE FUNCTION pg_temp.read_list(since bigint) RETURNS TABLE (seq bigint, n bigint, r jsonb) LANGUAGE sql AS $$
    SELECT l.seq, 0, l.payload FROM governance.ledger l
     WHERE l.seq > since AND l.kind = 'governance.read' AND l.payload ? 'tables'
    UNION ALL
    SELECT l.seq, e.n, e.v FROM governance.ledger l, jsonb_array_elements(l.payload->'reads') WITH ORDINALITY e(v, n)
     WHERE l.seq > since AND l.kind = 'governance.read'
$$;
CREATE FUNCTION pg_temp.reads(since bigint) RETURNS jsonb LANGUAGE sql AS $$
    SELECT coalesce(jsonb_agg(r->'tables' ORDER BY seq, n), '[]') FROM pg_temp.read_list(since)
$$;

SET ROLE lt36_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT count(*) FROM lt36.t;
COMMIT;
RESET ROLE;
SELECT ok(pg_temp.poll(format('SELECT jsonb_array_length(pg_temp.reads(%s)) = 1', :mark)),
          'a read in a read-only transaction is ledgered by the enforcer');
SELECT is(pg_temp.reads(:mark), '[[{"rows": 1, "table": "lt36.t1"}, {"rows": 94, "table": "lt36.t2"}]]'::jsonb,
          'naming each partition read and the rows its scan returned');
SELECT is((SELECT row(l.lease_id, r.r->>'caller')::text FROM pg_temp.read_list(:mark) r JOIN governance.ledger l USING (seq)),
          row(:'s1'::uuid, 'lt36_bot')::text, 'on the lease''s chain, with who read');

SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt36_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT governance.record('lt36.note', '{}');
SELECT * FROM lt36.t WHERE id = 2;
RESET ROLE;
SELECT is(pg_temp.reads(:mark), '[[{"rows": 1, "table": "lt36.t1"}]]'::jsonb,
          'a read in a transaction that already writes is ledgered in that transaction, before it commits');
COMMIT;

SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt36_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT governance.record('lt36.note', '{}');
SAVEPOINT a;
SELECT * FROM lt36.t WHERE id = 4;
ROLLBACK TO a;
ROLLBACK;
RESET ROLE;
SELECT ok(pg_temp.poll(format('SELECT jsonb_array_length(pg_temp.reads(%s)) = 1', :mark)),
          'a read rolled back with its savepoint is ledgered by the enforcer instead');
SELECT is(pg_temp.reads(:mark), '[[{"rows": 1, "table": "lt36.t2"}]]'::jsonb, 'exactly once');
-- many read-only transactions: the enforcer ledgers their reads in few rows
SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt36_bot;
SELECT set_config('lt36.a', :'s1a', false);
DO $$ BEGIN FOR i IN 1..20 LOOP PERFORM governance.attach(current_setting('lt36.a')); PERFORM count(*) FROM lt36.t1; PERFORM governance.detach(); END LOOP; END $$;
RESET ROLE;
SELECT ok(pg_temp.poll(format('SELECT jsonb_array_length(pg_temp.reads(%s)) = 20', :mark)), 'twenty reads are ledgered, one entry each');
SELECT cmp_ok((SELECT count(*) FROM governance.ledger WHERE seq > :mark AND kind = 'governance.read'), '<', 20::bigint,
              'in fewer ledger rows: the enforcer batches one lease''s reads of a round');

SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt36_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT pg_temp.err('SELECT 1 / (id - 6) FROM lt36.t ORDER BY id');
COMMIT;
RESET ROLE;
SELECT ok(pg_temp.poll(format($q$SELECT EXISTS (SELECT 1 FROM pg_temp.read_list(%s) WHERE (r->>'statement_failed')::boolean)$q$, :mark)),
          'a statement that failed after reading rows is ledgered, marked statement_failed');

-- a cursor read in part
SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt36_bot;
BEGIN;
SELECT governance.attach(:'s1a');
DECLARE c CURSOR FOR SELECT id FROM lt36.t2;
FETCH 2 FROM c;
CLOSE c;
COMMIT;
RESET ROLE;
SELECT ok(pg_temp.poll(format('SELECT jsonb_array_length(pg_temp.reads(%s)) = 1', :mark)), 'a cursor''s reads are ledgered when it closes');
SELECT is(pg_temp.reads(:mark), '[[{"rows": 2, "table": "lt36.t2"}]]'::jsonb, 'with the rows it handed out');

-- nothing without a lease, nothing for a superuser, nothing with none
SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt36_bot;
SELECT count(*) FROM lt36.t;
RESET ROLE;
SELECT count(*) FROM lt36.t;
SET governance.read_lineage = none;
SET ROLE lt36_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT count(*) FROM lt36.t;
COMMIT;
SELECT is(pg_temp.err('SET governance.read_lineage = none'), '42501: permission denied to set parameter "governance.read_lineage"',
          'an agent cannot switch read lineage off');
RESET ROLE;
RESET governance.read_lineage;
SELECT pg_sleep(0.5);
SELECT is(pg_temp.reads(:mark), '[]'::jsonb,
          'no event for a read without a lease, by a superuser, or with governance.read_lineage = none');

-- reads counted per row the scan returns: a 10-row limit over 94
SELECT max(seq) AS mark FROM governance.ledger \gset
SET ROLE lt36_bot;
BEGIN;
SELECT governance.attach(:'s1a');
SELECT count(*) FROM (SELECT * FROM lt36.t2 LIMIT 10) s;
COMMIT;
RESET ROLE;
SELECT ok(pg_temp.poll(format('SELECT jsonb_array_length(pg_temp.reads(%s)) = 1', :mark)), 'a limited read is ledgered');
SELECT is(pg_temp.reads(:mark), '[[{"rows": 10, "table": "lt36.t2"}]]'::jsonb, 'with the rows the scan returned before the limit stopped it');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'governance.authorized_resources(text)'::regprocedure), 'u',
          'the lease checks are parallel unsafe: no parallel worker reads rows lineage would not count');

SELECT governance.ungovern_table('lt36.t');
DROP SCHEMA lt36 CASCADE;
SELECT governance.drop_policy('lt36_p');
DROP OWNED BY lt36_bot;
DROP ROLE lt36_bot;

SELECT * FROM finish();
