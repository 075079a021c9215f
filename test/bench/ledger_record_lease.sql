-- governance.record() as an agent: each pgbench client attaches its own
-- lease (one execution per client) for its session on its first pass
-- (run with -D attached=0), then appends one event per transaction,
-- chain-linked to the previous event of its execution.
\if :attached = 0
SELECT governance.attach(artifact, true) FROM bench_leases WHERE client = :client_id;
\set attached 1
\endif
\set n random(1, 1000000)
SELECT governance.record('tool_call', ('{"tool": "search", "args": {"query": "invoice ' || :n || '", "limit": 10}, "agent": "billing-bot", "step": ' || :n || '}')::jsonb);
