-- Objects for bench_rls_scan (test/bench/run.sh).  Run as the superuser.
--
-- bench_scan_gov: 1,000,000 rows, all with the resource Account::"0",
-- loaded before govern_table() (which then puts it under row-level
-- security: scan.select on the row's account).  bench_scan_plain: the
-- same rows, in the same order, same columns and indexes, never governed.
CREATE TABLE bench_scan_gov (
    id      bigint PRIMARY KEY,
    account text NOT NULL,
    amount  int NOT NULL,
    note    text NOT NULL
);
CREATE TABLE bench_scan_plain (LIKE bench_scan_gov INCLUDING ALL);
INSERT INTO bench_scan_gov
SELECT g, 'Account::"0"', ((g::bigint * 7919) % 10000)::int, 'invoice ' || g
  FROM generate_series(1, 1000000) AS g;
INSERT INTO bench_scan_plain SELECT * FROM bench_scan_gov ORDER BY id;
SELECT governance.govern_table('bench_scan_gov', 'scan', 'account');
GRANT SELECT ON bench_scan_gov, bench_scan_plain TO bench_agent;
VACUUM (FREEZE, ANALYZE) bench_scan_gov, bench_scan_plain;

-- bench_wide_gov, bench_wide_plain: the same rows with six more columns, as
-- a table of payments might hold them (about 170 bytes a row instead of
-- 50).  A plain count(*) over it costs about what the brief's reference
-- scan did (0.1 s for 1M rows); the narrow tables above are the worst
-- case for any per-row filter.
CREATE TABLE bench_wide_gov (
    id           bigint PRIMARY KEY,
    account      text NOT NULL,
    amount       int NOT NULL,
    currency     text NOT NULL,
    status       text NOT NULL,
    counterparty text NOT NULL,
    reference    text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    note         text NOT NULL
);
CREATE TABLE bench_wide_plain (LIKE bench_wide_gov INCLUDING ALL);
INSERT INTO bench_wide_gov
SELECT id, account, amount, 'EUR', (ARRAY['settled', 'pending', 'refunded'])[1 + id % 3],
       'Counterparty::"' || (id * 31) % 50000 || '"', 'REF-' || lpad(to_hex(id * 2654435761 % 4294967296), 8, '0'),
       timestamptz '2026-01-01' + id * interval '1 second', timestamptz '2026-01-01' + id * interval '2 seconds', note
  FROM bench_scan_gov ORDER BY id;
INSERT INTO bench_wide_plain SELECT * FROM bench_wide_gov ORDER BY id;
SELECT governance.govern_table('bench_wide_gov', 'scan', 'account');
GRANT SELECT ON bench_wide_gov, bench_wide_plain TO bench_agent;
VACUUM (FREEZE, ANALYZE) bench_wide_gov, bench_wide_plain;

-- bench_scan_old: the same rows governed with the row-level security
-- policy of 0.1 (a sub-select: "account = (SELECT authorized_resource(a))
-- OR account = ANY ((SELECT authorized_resources(a))::text[])"), as a
-- table governed by 0.1 and not reformed is: today's form against the new
-- governance.lease_covers(a, account), same rows, same read path.  The DDL
-- guard compares a governed table's policies with those recorded, so the
-- old expression is recorded first (its text as PostgreSQL prints it,
-- taken from a scratch table).
CREATE TABLE bench_scan_old (LIKE bench_scan_gov INCLUDING ALL);
INSERT INTO bench_scan_old SELECT * FROM bench_scan_gov ORDER BY id;
SELECT governance.govern_table('bench_scan_old', 'scan', 'account');
CREATE TABLE bench_old_form (account text);
CREATE POLICY p ON bench_old_form USING (account = (SELECT governance.authorized_resource('scan.select'))
    OR account = ANY ((SELECT governance.authorized_resources('scan.select'))::text[]));
UPDATE governance.governed_tables
   SET policies = jsonb_set(policies, '{governance_select}',
                            jsonb_build_array((SELECT pg_get_expr(polqual, polrelid) FROM pg_policy
                                                WHERE polrelid = 'bench_old_form'::regclass), NULL))
 WHERE relid = 'bench_scan_old'::regclass;
ALTER POLICY governance_select ON bench_scan_old
    USING (account = (SELECT governance.authorized_resource('scan.select'))
           OR account = ANY ((SELECT governance.authorized_resources('scan.select'))::text[]));
DROP TABLE bench_old_form;
GRANT SELECT ON bench_scan_old TO bench_agent;
VACUUM (FREEZE, ANALYZE) bench_scan_old;

-- Leases on scan.select for Account::"0" .. "63" (one per principal
-- Agent::"bench-<i>"), attached per transaction by the timed sessions.
CREATE TABLE bench_scan_leases (resource int PRIMARY KEY, artifact text NOT NULL);
GRANT SELECT ON bench_scan_leases TO bench_agent;
INSERT INTO bench_scan_leases
SELECT i, a.artifact
  FROM generate_series(0, 63) AS i,
       governance.authorize(format('Agent::"bench-%s"', i), 'scan.select', format('Account::"%s"', i),
                            bench_context(), '1 hour') AS a
 WHERE a.decision = 'allow';

-- One subtree lease (issue 14, item 1) on Tenant::"bench-sub", within
-- Bank::"main" (so bench-tables permits it), over 10,000 entities: 9,999
-- accounts of its own and Account::"0", every row's resource, given the
-- tenant as a second parent.  authorize() decides the root and each of
-- the 10,000 (a subtree is allowed only when all of it is).
SELECT governance.put_entity('Tenant::"bench-sub"', ARRAY['Bank::"main"']);
SELECT count(governance.put_entity(format('Account::"sub-%s"', i), ARRAY['Tenant::"bench-sub"'],
                                   jsonb_build_object('frozen', false, 'limit', 5000)))
  FROM generate_series(1, 9999) AS i;
SELECT governance.put_entity('Account::"0"', ARRAY['Bank::"main"', 'Tenant::"bench-sub"'],
                             jsonb_build_object('frozen', false, 'limit', 5000));
CREATE TABLE bench_scan_subtree (artifact text NOT NULL);
GRANT SELECT ON bench_scan_subtree TO bench_agent;
INSERT INTO bench_scan_subtree
SELECT a.artifact
  FROM governance.authorize('Agent::"bench-64"', 'scan.select', 'in Tenant::"bench-sub"',
                            bench_context(), '1 hour') AS a
 WHERE a.decision = 'allow';
CHECKPOINT;
