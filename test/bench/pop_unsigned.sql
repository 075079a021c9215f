-- authorize() by an agent without a key (Agent::"bench-<client_id>", as
-- lease_authorize.sql), plus the same proof lookup pop_signed.sql makes
-- (its result unused), so that the two differ only in the proof check.
SELECT decision, (SELECT length(proof) FROM bench_pop_proofs WHERE client = :client_id AND seq = 1)
  FROM governance.authorize('Agent::"bench-' || :client_id || '"', 'ops.run', 'Account::"' || :client_id || '"', '{"amount": 10, "region": "eu-west"}', '1 hour');
