-- Objects for the lease benchmarks (test/bench/run.sh: bench_lease_ops,
-- bench_revoke_tree, bench_enforcement; bench_rls_scan has its own
-- rls_setup.sql).  Run once, as the superuser, after ledger_setup.sql
-- (which created bench_agent, bench_admin and the policy "bench").

-- A policy set of 10 policies (with "bench" from ledger_setup.sql):
-- permits and forbids, scope by group and by parent, conditions on the
-- context and on entity attributes, a like pattern, a set.  Every request
-- the benchmarks make is allowed by bench-ops or bench-tables; the forbids
-- are evaluated on every decision and do not apply.
SELECT governance.create_policy('bench-ops', $$
permit (principal in Group::"agents", action == Action::"ops.run", resource in Bank::"main")
when { context.amount <= 1000 && context.region like "eu-*" }
unless { resource.frozen };$$);
SELECT governance.create_policy('bench-tables', $$
permit (principal in Group::"agents",
        action in [Action::"ins.insert", Action::"scan.select", Action::"tree.run"],
        resource in Bank::"main");$$);
SELECT governance.create_policy('bench-suspended', $$
forbid (principal in Group::"suspended", action, resource);$$);
SELECT governance.create_policy('bench-closed', $$
forbid (principal, action, resource in Bank::"closed");$$);
SELECT governance.create_policy('bench-limit', $$
forbid (principal, action == Action::"ops.run", resource)
when { resource has limit && context.amount > resource.limit };$$);
SELECT governance.create_policy('bench-override', $$
forbid (principal, action, resource)
when { context has override && context.override == true };$$);
SELECT governance.create_policy('bench-auditor', $$
permit (principal == Agent::"auditor", action in [Action::"ops.read", Action::"ops.report"], resource);$$);
SELECT governance.create_policy('bench-report', $$
permit (principal in Group::"agents", action == Action::"ops.report", resource)
when { ["eu-west", "eu-north"].contains(context.region) };$$);
SELECT governance.create_policy('bench-night', $$
forbid (principal in Group::"day-shift", action == Action::"ops.run", resource)
when { context has hour && (context.hour < 6 || context.hour > 22) };$$);

-- The entity hierarchy: agents two levels below Group::"all", accounts
-- (with attributes) one level below a bank.
SELECT governance.put_entity('Group::"all"');
SELECT governance.put_entity('Group::"agents"', ARRAY['Group::"all"']);
SELECT governance.put_entity('Group::"day-shift"', ARRAY['Group::"all"']);
SELECT governance.put_entity('Bank::"main"');
SELECT governance.put_entity('Bank::"closed"');
-- Principals Agent::"bench-0" .. "bench-127", all acting through the one
-- login role bench_agent (pgbench logs in as one role); pgbench client i
-- authorizes as Agent::"bench-i" on Account::"i".
SELECT count(governance.put_entity(format('Agent::"bench-%s"', i), ARRAY['Group::"agents"']))
  FROM generate_series(0, 127) AS i;
SELECT count(governance.register_agent(format('Agent::"bench-%s"', i), 'bench_agent'))
  FROM generate_series(0, 127) AS i;
SELECT count(governance.put_entity(format('Account::"%s"', i), ARRAY['Bank::"main"'],
                                   jsonb_build_object('frozen', false, 'limit', 5000)))
  FROM generate_series(0, 127) AS i;

-- The context every benchmark request carries.
CREATE FUNCTION bench_context() RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$ SELECT '{"amount": 10, "region": "eu-west"}'::jsonb $$;

-- One lease per pgbench client (pgbench's client_id 0 .. n-1), for the
-- client's own principal Agent::"bench-<i>" on Account::"<i>", authorized
-- by the administrator on its behalf.  Fresh for every run.
CREATE TABLE bench_client_leases (client int PRIMARY KEY, lease_id uuid, artifact text);
GRANT SELECT ON bench_client_leases TO bench_agent;
CREATE FUNCTION bench_client_leases(action text, n int, ttl interval DEFAULT '1 hour') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bench_client_leases;
    INSERT INTO bench_client_leases
    SELECT c, a.lease_id, a.artifact
      FROM generate_series(0, n - 1) AS c,
           governance.authorize(format('Agent::"bench-%s"', c), action, format('Account::"%s"', c),
                                bench_context(), ttl) AS a;
    IF (SELECT count(*) FROM bench_client_leases WHERE artifact IS NOT NULL) <> n THEN
        RAISE EXCEPTION 'bench: authorize() did not allow the benchmark leases';
    END IF;
END
$$;

-- Governed INSERT against the same INSERT into an ungoverned table with
-- the same columns and indexes (a bigserial primary key).  The ungoverned
-- one is also the "plain INSERT transaction" that authorize() and
-- heartbeat() are compared with.
CREATE TABLE bench_ins_plain (
    id      bigserial PRIMARY KEY,
    account text NOT NULL,
    amount  int NOT NULL,
    note    text NOT NULL
);
CREATE TABLE bench_ins_gov (
    id      bigserial PRIMARY KEY,
    account text NOT NULL,
    amount  int NOT NULL,
    note    text NOT NULL
);
SELECT governance.govern_table('bench_ins_gov', 'ins', 'account');
GRANT INSERT ON bench_ins_plain, bench_ins_gov TO bench_agent;
GRANT USAGE ON SEQUENCE bench_ins_plain_id_seq, bench_ins_gov_id_seq TO bench_agent;
