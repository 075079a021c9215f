-- authorize(): each pgbench client asks for its own registered principal
-- Agent::"bench-<client_id>" (ops.run on Account::"<client_id>"), decided
-- by the 10-policy set of leases_setup.sql; every call is allowed (run.sh
-- checks) and issues a lease, a signed artifact and a ledger event.
SELECT decision FROM governance.authorize('Agent::"bench-' || :client_id || '"', 'ops.run', 'Account::"' || :client_id || '"', '{"amount": 10, "region": "eu-west"}', '1 hour');
