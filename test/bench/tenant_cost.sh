#!/bin/sh
# The cost of deriving a lease's tenant (docs/DESIGN.md, "Tenants and the root
# over many logs"): 400 authorize() calls by a principal three levels below
# its Tenant and by one in no tenant, and the tenant statement alone 5000
# times.  After make install: sh test/bench/tenant_cost.sh
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
