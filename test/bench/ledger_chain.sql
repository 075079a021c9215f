-- Baseline: the naive PL/pgSQL hash chain (BEFORE INSERT trigger on a locked head row).
\set n random(1, 1000000)
INSERT INTO bench_chain (kind, payload) VALUES ('tool_call', ('{"tool": "search", "args": {"query": "invoice ' || :n || '", "limit": 10}, "agent": "billing-bot", "step": ' || :n || '}')::jsonb);
