#!/bin/sh
# The enforcer's reload after a restart against concurrent revocations
# (issue 5 items 3 and 10).  After a restart the enforcer reads every live
# lease and installs it in shared memory.  A revocation that commits after
# that read but before its lease is installed finds nothing in shared
# memory to end; the enforcer must still end it (it reads the leases that
# ended since, once they are installed).  Here 20,000 live leases are
# reloaded while another session revokes 3,000 of them one by one, from
# the moment the server accepts connections; afterwards no lease whose row
# says revoked may verify as valid (verify_artifact answers from shared
# memory first).  The race is timing-dependent: the test counts how many
# revocations overlapped the reload and fails only on the invariant.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/ledger.sh"
W=$(gov_tmpdir)
C="$W/reload"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" "governance.max_leases = 50000" \
	"governance.enforcer_max_silence = '30s'" || exit 1
gov_start "$C" || exit 1
q() { gov_sql "$C" "$1"; }

gov_psql "$C" >/dev/null <<'EOF2' || { echo "not ok - setup"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION governance;
CREATE ROLE rr_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"rr-bot"', 'rr_bot', max_leases => 50000);
SELECT governance.create_policy('rr', 'permit (principal == Agent::"rr-bot", action, resource);');
CREATE TABLE rr_leases (n serial, lease_id uuid, artifact text);
EOF2
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 20
gov_ok $? "the cluster is trusted"

# 20,000 leases, 2,000 to a transaction (each holds its chain lock to commit)
for b in 1 2 3 4 5 6 7 8 9 10; do
	q "INSERT INTO rr_leases (lease_id, artifact)
	   SELECT a.lease_id, a.artifact FROM generate_series(1, 2000) AS g,
	          governance.authorize('Agent::\"rr-bot\"', 'tool.run', 'Tool::\"t' || g || '\"', '{}', '1 hour') AS a" \
		>/dev/null || { echo "not ok - authorize batch $b"; exit 1; }
done
gov_is "20000" "$(q "SELECT count(*) FROM governance.leases WHERE state = 'live'")" "20,000 live leases"

# one revoke per statement, autocommitted, in random order
q "SELECT format('SELECT governance.revoke(%L, %L);', lease_id, 'reload race')
     FROM rr_leases ORDER BY random() LIMIT 3000" >"$W/revokes.sql"

$GOV_RUNAS "$PGBIN/pg_ctl" -D "$C/data" -l "$C/server.log" -w -t 60 -m fast restart >/dev/null
gov_ok $? "the server restarts"
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U "$GOV_DBUSER" -d postgres -f "$W/revokes.sql" >"$W/revokes.out" 2>&1
gov_is "3000" "$(grep -c '^1$' "$W/revokes.out")" "3,000 revocations, each of one lease, from the first moment"
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 60
gov_ok $? "the enforcer has reloaded and beats"
loaded=$(grep -o 'reloaded [0-9]* live lease' "$C/server.log" | tail -n 1 | grep -o '[0-9]*')
echo "# the enforcer reloaded ${loaded:-?} live leases while the revocations ran"
gov_is "3000|0" "$(q "SELECT count(*) || '|' || count(*) FILTER (WHERE (governance.verify_artifact(r.artifact)).valid)
                       FROM rr_leases r JOIN governance.leases l USING (lease_id) WHERE l.state = 'revoked'")" \
	"no lease whose row says revoked verifies as valid"
gov_is "17000|17000" "$(q "SELECT count(*) || '|' || count(*) FILTER (WHERE (governance.verify_artifact(r.artifact)).valid)
                       FROM rr_leases r JOIN governance.leases l USING (lease_id) WHERE l.state = 'live'")" \
	"and every lease left live does"

gov_stop "$C"
! grep -E "PANIC|terminated by signal|server process .* was terminated" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log"
