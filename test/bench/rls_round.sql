-- bench_rls_scan (test/bench/run.sh): one round as the agent, bench_agent,
-- in one session: the ungoverned twin, the twin filtered by hand and the
-- governed table under one lease covering every row's resource
-- (rls_twins.sql), for the four-column and the ten-column tables; then
-- the four-column governed table under 8 leases with that one attached
-- last.  Output: variant query elapsed cpu result.  Attachments are per
-- transaction (a session attachment would end its lease with the session).
\set tag ''
\set plain bench_scan_plain
\set gov bench_scan_gov
\ir rls_twins.sql
\set tag w
\set plain bench_wide_plain
\set gov bench_wide_gov
\ir rls_twins.sql
BEGIN;
SELECT 'attached', count(governance.attach(artifact))
  FROM (SELECT artifact FROM bench_scan_leases ORDER BY resource DESC) AS s;
SELECT 'resources', array_to_string(governance.authorized_resources('scan.select'), ',');
SELECT 'gov8', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_scan_gov', :clk);
SELECT 'gov8', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_scan_gov', :clk);
COMMIT;
