-- Included twice by rls_round.sql: the ungoverned twin :plain, the twin
-- filtered by hand, then the governed table :gov under the one lease that
-- covers every row's resource.  :tag prefixes the variant names ('' for
-- the four-column tables, 'w' for the ten-column ones).
SELECT :'tag' || 'plain', 'count', * FROM bench_time_query(format('SELECT count(*) FROM %I', :'plain'), :clk);
SELECT :'tag' || 'plain', 'sum', * FROM bench_time_query(format('SELECT sum(amount) FROM %I', :'plain'), :clk);
-- the floor of any per-row filter: the twin with the policy's comparison
-- written by hand (every row matches it, as every row matches the lease)
SELECT :'tag' || 'hand', 'count', * FROM bench_time_query(format('SELECT count(*) FROM %I WHERE account = ''Account::"0"''', :'plain'), :clk);
SELECT :'tag' || 'hand', 'sum', * FROM bench_time_query(format('SELECT sum(amount) FROM %I WHERE account = ''Account::"0"''', :'plain'), :clk);
BEGIN;
SELECT 'attached', count(governance.attach(artifact)) FROM bench_scan_leases WHERE resource = 0;
SELECT :'tag' || 'gov1', 'count', * FROM bench_time_query(format('SELECT count(*) FROM %I', :'gov'), :clk);
SELECT :'tag' || 'gov1', 'sum', * FROM bench_time_query(format('SELECT sum(amount) FROM %I', :'gov'), :clk);
COMMIT;
