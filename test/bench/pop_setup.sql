-- Objects for bench_pop (test/bench/run.sh), after leases_setup.sql:
-- principals Agent::"benchpop-<i>" with one Ed25519 key (seed 50..50,
-- test/outside/pop_sign.py), registered for bench_agent like
-- Agent::"bench-<i>", in the same group, so the policy work is the same;
-- the table of presigned proofs run.sh fills; and bench_chal, a login role
-- that only asks for challenges.
SELECT count(governance.put_entity(format('Agent::"benchpop-%s"', i), ARRAY['Group::"agents"']))
  FROM generate_series(0, 127) AS i;
SELECT count(governance.register_agent(format('Agent::"benchpop-%s"', i), 'bench_agent',
    '\x3ef08959033028c8fc6fc6d491a12548e78df6aefb2d7c2c190c3f78cef3f50b'::bytea))
  FROM generate_series(0, 127) AS i;
CREATE TABLE bench_pop_proofs (client int, seq bigint, proof text, PRIMARY KEY (client, seq));
GRANT SELECT ON bench_pop_proofs TO bench_agent;
CREATE ROLE bench_chal LOGIN IN ROLE governance_agent;
-- a challenge lives 1 s for it, so the nonces it never uses do not pile up
ALTER ROLE bench_chal SET governance.challenge_ttl = '1s';
ALTER ROLE bench_chal SET governance.max_challenges_per_role = 1000000;
-- one sequence per pgbench client: which presigned proof comes next
DO $$
BEGIN
    FOR i IN 0..127 LOOP
        EXECUTE format('CREATE SEQUENCE bench_pop_seq_%s', i);
        EXECUTE format('GRANT USAGE ON SEQUENCE bench_pop_seq_%s TO bench_agent', i);
    END LOOP;
END $$;
