-- The policy benchmark is not part of the product's SQL API: the bench
-- harness (and bench_policy.c --sql) declare it, as a superuser, in a schema
-- of their own, over the C function the library exports.
CREATE SCHEMA IF NOT EXISTS governance_bench;
CREATE OR REPLACE FUNCTION governance_bench.policy_benchmark(principal text, action text, resource text,
    context jsonb DEFAULT '{}', iterations integer DEFAULT 100000,
    OUT runs integer, OUT decision text,
    OUT median_us float8, OUT p90_us float8, OUT p99_us float8, OUT min_us float8)
RETURNS record
LANGUAGE C VOLATILE
AS '$libdir/governance', 'gov_sql_policy_benchmark';
REVOKE ALL ON FUNCTION governance_bench.policy_benchmark(text, text, text, jsonb, integer) FROM PUBLIC;
