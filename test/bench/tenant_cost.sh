#!/bin/sh
# The cost of deriving a lease's tenant (docs/DESIGN.md, "Tenants and the root
# over many logs"): 400 authorize() calls by a principal three levels below
# its Tenant and by one in no tenant, and the tenant statement alone 5000
# times.  Then the cost of verify_ledger()'s tenant check (the column of
# each lease against its governance.authorize event, src/verify.c
# check_tenants) on a ledger of TENANT_LEASES (default 20000) short leases
# (two rows each: the worst case, as few rows per lease as there can be):
# the check's statement alone and verify_ledger() whole, five times each,
# timed in the server.  After make install: sh test/bench/tenant_cost.sh
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../system/lib/common.sh"
T=$(gov_tmpdir); C=$T/m
gov_new_cluster "$C" >/dev/null || exit 1
trap 'gov_stop "$C"; rm -rf "$T"' EXIT
gov_start "$C" || exit 1
{ gov_agents_sql mm ten none
cat <<'SQL'
SELECT governance.put_entity('Tenant::"acme"', '{}', '{}');
SELECT governance.put_entity('Team::"t1"', ARRAY['Tenant::"acme"'], '{}');
SELECT governance.put_entity('Team::"t2"', ARRAY['Team::"t1"'], '{}');
SELECT governance.put_entity('Agent::"mm-ten"', ARRAY['Group::"mm"', 'Team::"t2"'], '{}');
SELECT governance.create_policy('mm', 'permit (principal in Group::"mm", action == Action::"tool.run", resource);');
SQL
} | gov_psql "$C" >/dev/null
gov_wait_trusted "$C" 20
for who in ten none; do
  gov_psql "$C" -U mm_$who -c "SET client_min_messages=warning" -c "\\timing on" -c "DO \$\$ BEGIN FOR i IN 1..400 LOOP PERFORM governance.authorize('Agent::\"mm-$who\"', 'tool.run', 'Tool::\"t\"', ttl => '1 hour'); END LOOP; END \$\$" 2>&1 | grep Time | sed "s/^/$who authorize x400: /"
done
gov_psql "$C" -c "\\timing on" -c "DO \$\$ DECLARE n int; BEGIN FOR i IN 1..5000 LOOP WITH RECURSIVE up(uid, d) AS (SELECT 'Agent::\"mm-ten\"'::text, 0 UNION SELECT p.p, up.d + 1 FROM up JOIN governance.entities e ON e.uid = up.uid, LATERAL unnest(e.parents) AS p(p) WHERE up.d < 64) SELECT count(DISTINCT uid) INTO n FROM up WHERE uid LIKE 'Tenant::%'; END LOOP; END \$\$" 2>&1 | grep Time | sed 's/^/tenant query x5000: /'
gov_psql "$C" -Atc "SELECT tenant, count(*) FROM governance.leases GROUP BY 1"

# verify_ledger()'s tenant check: leases of one second, 500 every 1.3 s
# (shared memory holds 10,000 live and ended-not-yet-cleared leases)
N=${TENANT_LEASES:-20000}
gov_psql "$C" -Atc "SELECT governance.register_agent('Agent::\"mm-ten\"', 'mm_ten', NULL, 1000000)" >/dev/null
i=0
while [ $i -lt "$N" ]; do
	gov_psql "$C" -U mm_ten -Atc "SELECT count(*) FROM (SELECT governance.authorize('Agent::\"mm-ten\"', 'tool.run', 'Tool::\"t\"', '{}', '1 second') FROM generate_series(1, 500)) x" >/dev/null || exit 1
	sleep 1.3
	i=$((i + 500))
done
gov_psql "$C" -Atc "SELECT governance.seal()" >/dev/null
gov_psql "$C" -Atc "SELECT count(*) || ' leases, ' || (SELECT count(*) FROM governance.ledger) || ' ledger rows' FROM governance.leases"
gov_psql "$C" -c "SET client_min_messages = notice" -c "DO \$\$
DECLARE t timestamptz;
BEGIN
    FOR i IN 1..5 LOOP
        t := clock_timestamp();
        PERFORM * FROM (SELECT l.first_seq, l.lease_id::text, l.tenant, g.payload->>'tenant', g.seq IS NOT NULL
                          FROM governance.leases l
                          LEFT JOIN governance.ledger g ON g.seq = l.first_seq AND g.lease_id = l.lease_id
                           AND g.kind = 'governance.authorize'
                         WHERE l.first_seq >= 1 AND (g.seq IS NULL OR l.tenant IS DISTINCT FROM g.payload->>'tenant')
                         ORDER BY l.first_seq, l.lease_id LIMIT 1) x;
        RAISE NOTICE 'tenant check: %', clock_timestamp() - t;
        t := clock_timestamp();
        PERFORM * FROM governance.verify_ledger();
        RAISE NOTICE 'verify_ledger(), the check included: %', clock_timestamp() - t;
    END LOOP;
END \$\$" 2>&1 | grep NOTICE
