-- Baseline: one INSERT per transaction into an ordinary table (the same
-- columns, values and indexes as the governed table of lease_governed.sql).
\set n random(1, 1000000)
INSERT INTO bench_ins_plain (account, amount, note) VALUES ('Account::"' || :client_id || '"', :n, 'invoice ' || :n);
