-- governance.record() as an administrator (outside any lease): one event per transaction.
\set n random(1, 1000000)
SELECT governance.record('tool_call', ('{"tool": "search", "args": {"query": "invoice ' || :n || '", "limit": 10}, "agent": "billing-bot", "step": ' || :n || '}')::jsonb);
