-- authorize() by a key-holding agent (Agent::"benchpop-<client_id>") with
-- its proof: a nonce recorded before the run and a signature made outside
-- the database (run.sh, test/outside/pop_sign.py); the server consumes the
-- nonce and checks the Ed25519 signature over the canonical request.
SELECT decision FROM governance.authorize('Agent::"benchpop-' || :client_id || '"', 'ops.run', 'Account::"' || :client_id || '"', '{"amount": 10, "region": "eu-west"}', '1 hour', NULL,
  (SELECT proof FROM bench_pop_proofs WHERE client = :client_id AND seq = (SELECT nextval(('bench_pop_seq_' || :client_id)::regclass))));
