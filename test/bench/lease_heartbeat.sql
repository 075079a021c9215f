-- heartbeat(): each pgbench client renews its own lease (ops.run on
-- Account::"<client_id>", authorized before the run), which re-decides the
-- lease's request against the current policies; it finds the lease id on
-- its first pass (run with -D attached=0).
\if :attached = 0
SELECT lease_id AS lease FROM bench_client_leases WHERE client = :client_id \gset
\set attached 1
\endif
SELECT governance.heartbeat(:lease);
