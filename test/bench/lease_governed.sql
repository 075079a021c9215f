-- Governed INSERT: each pgbench client attaches its own lease (ins.insert
-- on Account::"<client_id>") for its session on its first pass (run with
-- -D attached=0), then inserts rows whose resource that lease covers:
-- row-level security WITH CHECK and the lineage trigger (ledger row on
-- the lease's chain) on every INSERT.
\if :attached = 0
SELECT governance.attach(artifact, true) FROM bench_client_leases WHERE client = :client_id;
\set attached 1
\endif
\set n random(1, 1000000)
INSERT INTO bench_ins_gov (account, amount, note) VALUES ('Account::"' || :client_id || '"', :n, 'invoice ' || :n);
