-- Timing of one-off statements inside the server (test/bench/stmt_bench.py,
-- used by bench_rls_scan and bench_ledger_verify; bench_revoke_tree reads
-- bench_probe() around its revoke).  Run once, as the superuser, after
-- ledger_setup.sql (which creates bench_agent).
--
-- Method: the statement runs in the calling backend; before and after it
-- the backend reads its own counters from /proc/self:
--   schedstat  field 1: nanoseconds on a CPU (the scheduler's
--              sum_exec_runtime: exact, unlike the 10 ms ticks of
--              /proc/self/stat); field 2: nanoseconds spent runnable but
--              waiting for a CPU (other load on the machine)
--   stat       field 10: minor page faults (a backend's first touch of a
--              page of shared buffers is one: on this VM about 5 us each)
--   io         rchar: bytes read with read(2): any block PostgreSQL did
--              not find in shared buffers (8192 bytes each, from the OS
--              cache or the disk)
-- and the wall clock (clock_timestamp()).  The probe itself (three small
-- files read) costs about 50 us of CPU and is inside the CPU window,
-- equally for every variant.

CREATE EXTENSION IF NOT EXISTS pg_prewarm;
CREATE EXTENSION IF NOT EXISTS pg_visibility;
CREATE EXTENSION IF NOT EXISTS pg_buffercache;

CREATE FUNCTION bench_probe(OUT cpu_ns bigint, OUT wait_ns bigint, OUT minflt bigint, OUT rchar bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    s  text := pg_read_file('/proc/self/schedstat');
    st text := split_part(pg_read_file('/proc/self/stat'), ') ', 2);
    io text := pg_read_file('/proc/self/io');
BEGIN
    cpu_ns := split_part(s, ' ', 1)::bigint;
    wait_ns := split_part(s, ' ', 2)::bigint;
    minflt := split_part(st, ' ', 8)::bigint;   -- field 10; the split starts at field 3
    rchar := substring(io FROM 'rchar: ([0-9]+)')::bigint;
END
$$;

-- One execution of q (a query returning one value), timed as above.
-- Elapsed and CPU in microseconds; result: q's value, to check that every
-- variant saw the same rows.  Settings (jit, parallel query) are the
-- session's: the driver pins them and checks the plans.
CREATE FUNCTION bench_time(q text,
    OUT elapsed_us float8, OUT cpu_us float8, OUT wait_us float8,
    OUT minflt bigint, OUT rchar bigint, OUT result text)
LANGUAGE plpgsql AS $$
DECLARE
    p0 record;
    p1 record;
    t0 timestamptz;
    t1 timestamptz;
BEGIN
    SELECT * INTO p0 FROM bench_probe();
    t0 := clock_timestamp();
    EXECUTE q INTO result;
    t1 := clock_timestamp();
    SELECT * INTO p1 FROM bench_probe();
    elapsed_us := extract(epoch FROM t1 - t0) * 1e6;
    cpu_us := (p1.cpu_ns - p0.cpu_ns) / 1e3;
    wait_us := (p1.wait_ns - p0.wait_ns) / 1e3;
    minflt := p1.minflt - p0.minflt;
    rchar := p1.rchar - p0.rchar;
END
$$;

-- The same as the superuser, from any session: row-level security is
-- bypassed (the variant "superuser" of the RLS scan runs in the agent's
-- session, interleaved with the others).
CREATE FUNCTION bench_time_su(q text,
    OUT elapsed_us float8, OUT cpu_us float8, OUT wait_us float8,
    OUT minflt bigint, OUT rchar bigint, OUT result text)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT * FROM bench_time(q)
$$;

-- Until the end of the transaction: log every statement's plan with
-- EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) as a NOTICE to the client
-- (auto_explain), nested statements included.  EXPLAIN ANALYZE itself is
-- refused to non-superusers on governed tables (query_guard.c); the
-- benchmark needs the agent's plans exactly as it runs them.
CREATE FUNCTION bench_explain_on() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    LOAD 'auto_explain';
    PERFORM set_config('auto_explain.log_min_duration', '0', true);
    PERFORM set_config('auto_explain.log_analyze', 'on', true);
    PERFORM set_config('auto_explain.log_buffers', 'on', true);
    PERFORM set_config('auto_explain.log_timing', 'on', true);
    PERFORM set_config('auto_explain.log_format', 'json', true);
    PERFORM set_config('auto_explain.log_nested_statements', 'on', true);
    PERFORM set_config('auto_explain.log_level', 'notice', true);
END
$$;

-- The state of a relation's main fork: its blocks, how many of them are
-- in shared buffers, all-visible and all-frozen in the visibility map,
-- and pg_class.relallvisible (set by VACUUM).
CREATE FUNCTION bench_relstate(rel regclass,
    OUT blocks bigint, OUT resident bigint, OUT all_visible bigint, OUT all_frozen bigint,
    OUT relallvisible int)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT pg_relation_size(rel) / current_setting('block_size')::int,
           (SELECT count(*) FROM pg_buffercache b
             WHERE b.relfilenode = pg_relation_filenode(rel) AND b.relforknumber = 0
               AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())),
           CASE WHEN c.relkind IN ('r', 'm', 't') THEN (SELECT v.all_visible FROM pg_visibility_map_summary(rel) AS v) END,
           CASE WHEN c.relkind IN ('r', 'm', 't') THEN (SELECT v.all_frozen FROM pg_visibility_map_summary(rel) AS v) END,
           c.relallvisible
      FROM pg_class AS c WHERE c.oid = rel
$$;

-- Read every block of the relation into shared buffers (pg_prewarm), then
-- its state as above.
CREATE FUNCTION bench_prewarm(rel regclass,
    OUT blocks bigint, OUT resident bigint, OUT all_visible bigint, OUT all_frozen bigint,
    OUT relallvisible int)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT pg_prewarm(rel, 'buffer', 'main');
    SELECT * FROM bench_relstate(rel)
$$;

GRANT EXECUTE ON FUNCTION bench_probe(), bench_time(text), bench_time_su(text), bench_explain_on(),
    bench_relstate(regclass), bench_prewarm(regclass) TO bench_agent;
