-- Objects for the ledger benchmarks (test/bench/run.sh, bench_ledger_*).
-- Run once, as the superuser, in the benchmark database.

CREATE EXTENSION IF NOT EXISTS governance;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Baseline 1: a plain INSERT of the same payload into an ordinary table
-- with a bigserial primary key and a jsonb column.
CREATE TABLE bench_plain (
    id      bigserial PRIMARY KEY,
    kind    text NOT NULL,
    payload jsonb NOT NULL
);

-- Baseline 2: the naive hash chain of issue 3 / D5.  A BEFORE INSERT
-- trigger locks one head row FOR UPDATE (held until commit), hashes the
-- previous hash plus the row's text with pgcrypto's sha512 and moves the
-- head.  Every insert serializes on the head row until its commit.
CREATE TABLE bench_chain_head (id int PRIMARY KEY, hash bytea NOT NULL);
INSERT INTO bench_chain_head VALUES (1, '\x');
CREATE TABLE bench_chain (
    id      bigserial PRIMARY KEY,
    kind    text NOT NULL,
    payload jsonb NOT NULL,
    hash    bytea
);
CREATE FUNCTION bench_chain_link() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
BEGIN
    SELECT hash INTO prev FROM bench_chain_head WHERE id = 1 FOR UPDATE;
    NEW.hash := digest(prev || convert_to(NEW::text, 'UTF8'), 'sha512');
    UPDATE bench_chain_head SET hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER bench_chain_link BEFORE INSERT ON bench_chain
    FOR EACH ROW EXECUTE FUNCTION bench_chain_link();

-- The baselines' pgbench clients log in as the agent role too: a
-- non-superuser in governance_agent, with plain INSERT rights on them.
CREATE ROLE bench_agent LOGIN IN ROLE governance_agent;
GRANT USAGE ON SCHEMA governance TO bench_agent;
GRANT INSERT ON bench_plain, bench_chain TO bench_agent;
GRANT SELECT, UPDATE ON bench_chain_head TO bench_agent;
GRANT USAGE ON SEQUENCE bench_plain_id_seq, bench_chain_id_seq TO bench_agent;

-- CPU seconds (user + system) used so far by the calling backend, from
-- /proc/self/stat (fields 14 and 15, in clock ticks of clk_tck Hz).
CREATE FUNCTION bench_backend_cpu(clk_tck int) RETURNS float8
LANGUAGE sql AS $$
    SELECT (split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint)::float8 / clk_tck
      FROM (SELECT split_part(pg_read_file('/proc/self/stat'), ') ', 2) AS s) AS st
$$;

-- verify_ledger() timed inside the server: wall-clock and CPU seconds of
-- this one backend (verify_ledger() runs in the calling backend only).
CREATE FUNCTION bench_time_verify(clk_tck int,
    OUT ok boolean, OUT rows_checked bigint, OUT elapsed float8, OUT cpu float8)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    c0 float8;
BEGIN
    c0 := bench_backend_cpu(clk_tck);
    t0 := clock_timestamp();
    SELECT v.ok, v.rows_checked INTO ok, rows_checked FROM governance.verify_ledger() AS v;
    elapsed := extract(epoch FROM clock_timestamp() - t0);
    cpu := bench_backend_cpu(clk_tck) - c0;
END
$$;

-- Baseline for verify_ledger(): the same rows read in seq order with every
-- column deformed (pg_column_size of the whole row), but nothing hashed.
CREATE FUNCTION bench_time_scan(clk_tck int,
    OUT ok boolean, OUT rows_checked bigint, OUT elapsed float8, OUT cpu float8)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    c0 float8;
    total bigint;
BEGIN
    SET LOCAL max_parallel_workers_per_gather = 0;
    SET LOCAL enable_seqscan = off;     -- the index order verify_ledger() reads in
    c0 := bench_backend_cpu(clk_tck);
    t0 := clock_timestamp();
    SELECT count(*), sum(pg_column_size(s.*)) INTO rows_checked, total
      FROM (SELECT seq, at, kind, lease_id, principal, action, resource, payload,
                   actor, txid, prev_seq, evidence, link
              FROM governance.ledger ORDER BY seq OFFSET 0) AS s;
    elapsed := extract(epoch FROM clock_timestamp() - t0);
    cpu := bench_backend_cpu(clk_tck) - c0;
    ok := total > 0;
END
$$;

-- An administrator records events outside any lease; an agent records
-- under the lease it attached.  One agent principal, mapped to
-- bench_agent, runs one execution (lease) per pgbench client.
CREATE ROLE bench_admin LOGIN IN ROLE governance_admin;
GRANT USAGE ON SCHEMA governance TO bench_admin;
SELECT governance.create_policy('bench',
    'permit (principal == Agent::"bench-bot", action == Action::"tool_call", resource);');
SELECT governance.register_agent('Agent::"bench-bot"', 'bench_agent');
CREATE TABLE bench_leases (client int PRIMARY KEY, lease_id uuid, artifact text);
GRANT SELECT ON bench_leases TO bench_agent;

-- Fresh leases for clients 0 .. n-1 (pgbench's client_id).  Leases attached
-- for a session end with it, so every run gets new ones.
CREATE FUNCTION bench_new_leases(n int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bench_leases;
    INSERT INTO bench_leases
    SELECT c, a.lease_id, a.artifact
      FROM generate_series(0, n - 1) AS c,
           governance.authorize('Agent::"bench-bot"', 'tool_call', format('Tool::"search-%s"', c),
                                '{}', '1 hour') AS a;
    IF (SELECT count(*) FROM bench_leases WHERE artifact IS NOT NULL) <> n THEN
        RAISE EXCEPTION 'bench: authorize() did not allow the benchmark leases';
    END IF;
END
$$;
