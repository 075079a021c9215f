-- bench_rls_scan (test/bench/run.sh): one round as the agent, bench_agent,
-- in one session: the ungoverned twin, the twin filtered by hand, then the governed table under one
-- lease covering every row's resource, the same three on the ten-column
-- tables, then under 8 leases with that one attached last.  Output: variant query elapsed cpu result.  Attachments
-- are per transaction (a session attachment would end its lease with the
-- session).
SELECT 'plain', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_scan_plain', :clk);
SELECT 'plain', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_scan_plain', :clk);
-- the floor of any per-row filter: the twin with the policy's comparison
-- written by hand (every row matches it, as every row matches the lease)
SELECT 'hand', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_scan_plain WHERE account = ''Account::"0"''', :clk);
SELECT 'hand', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_scan_plain WHERE account = ''Account::"0"''', :clk);
BEGIN;
SELECT 'attached', count(governance.attach(artifact)) FROM bench_scan_leases WHERE resource = 0;
SELECT 'gov1', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_scan_gov', :clk);
SELECT 'gov1', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_scan_gov', :clk);
COMMIT;
-- the same three on the ten-column tables
SELECT 'wplain', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_wide_plain', :clk);
SELECT 'wplain', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_wide_plain', :clk);
SELECT 'whand', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_wide_plain WHERE account = ''Account::"0"''', :clk);
SELECT 'whand', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_wide_plain WHERE account = ''Account::"0"''', :clk);
BEGIN;
SELECT 'attached', count(governance.attach(artifact)) FROM bench_scan_leases WHERE resource = 0;
SELECT 'wgov1', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_wide_gov', :clk);
SELECT 'wgov1', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_wide_gov', :clk);
COMMIT;
BEGIN;
SELECT 'attached', count(governance.attach(artifact))
  FROM (SELECT artifact FROM bench_scan_leases ORDER BY resource DESC) AS s;
SELECT 'resources', array_to_string(governance.authorized_resources('scan.select'), ',');
SELECT 'gov8', 'count', * FROM bench_time_query('SELECT count(*) FROM bench_scan_gov', :clk);
SELECT 'gov8', 'sum', * FROM bench_time_query('SELECT sum(amount) FROM bench_scan_gov', :clk);
COMMIT;
