-- Baseline: a plain INSERT of the payload record() gets, one per transaction.
\set n random(1, 1000000)
INSERT INTO bench_plain (kind, payload) VALUES ('tool_call', ('{"tool": "search", "args": {"query": "invoice ' || :n || '", "limit": 10}, "agent": "billing-bot", "step": ' || :n || '}')::jsonb);
