#!/bin/sh
# The enforcer's walks of shared memory in slices (issue 14, the expiry
# tail): the once-a-second walks hold the partition locks for about 256
# entries at a time and resume at the next hash bucket after letting go.
# With thousands of leases (many slices), while other backends insert and
# end leases between the slices, every lease the walks must find is found
# exactly once:
#   - leases past their expiry are made durable (expired), none twice,
#     none of the long-lived ones;
#   - leases bound to a session that ended are revoked ("session ended");
#   - ended leases are cleared from shared memory: the agent, at its
#     limit of leases, gets new ones again;
#   - an attached lease expiring while the walks run still has its
#     statement cancelled.
# What this cannot see: an entry one walk misses is found by the next one
# (a walk a second); a walk that skipped buckets when it resumed was caught
# only by timing (the agent at its limit sooner), so it is not asserted.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/walk"
trap 'gov_stop "$C"' EXIT

N=${GOV_WALK_LEASES:-3000}
gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" \
	"governance.max_leases_per_principal = $((2 * N + 60))" "governance.max_leases = $((4 * N))" || exit 1
gov_start "$C" || exit 1

{ gov_agents_sql wk bot; cat <<'EOF2'; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('wk', 'permit (principal in Group::"wk", action == Action::"job.run", resource);');
CREATE TABLE wk_leases (lease_id uuid, artifact text, kind text);
GRANT ALL ON wk_leases TO wk_bot;
EOF2
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"

# N long-lived leases, N that expire in a few seconds, and three to bind to
# sessions that end, all for the same agent
bq wk_bot "INSERT INTO wk_leases SELECT a.lease_id, a.artifact, 'keep'
     FROM generate_series(1, $N) i,
          governance.authorize('Agent::\"wk-bot\"', 'job.run', format('Job::\"k%s\"', i), '{}', '1 hour') a" >/dev/null &&
	bq wk_bot "INSERT INTO wk_leases SELECT a.lease_id, a.artifact, 'short'
     FROM generate_series(1, $N) i,
          governance.authorize('Agent::\"wk-bot\"', 'job.run', format('Job::\"s%s\"', i), '{}', '4 seconds') a" >/dev/null &&
	bq wk_bot "INSERT INTO wk_leases SELECT a.lease_id, a.artifact, 'session'
     FROM generate_series(1, 3) i,
          governance.authorize('Agent::\"wk-bot\"', 'job.run', format('Job::\"b%s\"', i), '{}', '1 hour') a" >/dev/null
gov_ok $? "$((2 * N + 3)) leases issued"
for a in $(q "SELECT artifact FROM wk_leases WHERE kind = 'session'"); do
	bq wk_bot "SELECT governance.attach('$a', session => true) IS NOT NULL" >/dev/null || echo "not ok - attach for the session"
done

# an attached lease that expires while the walks run: its statement is cancelled
l=$(bq wk_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"wk-bot\"', 'job.run', 'Job::\"sleep\"', '{}', '6 seconds')")
lid=${l%%|*}; lart=${l#*|}
gov_sql_as "$C" wk_bot "BEGIN; SELECT governance.attach('$lart') IS NOT NULL; SELECT pg_sleep(60); COMMIT" >"$W/sleep.out" 2>&1 &
spid=$!

# meanwhile other backends issue and end leases between the slices
( i=0; while [ $i -lt 40 ]; do
	c=$(bq wk_bot "SELECT lease_id FROM governance.authorize('Agent::\"wk-bot\"', 'job.run', 'Job::\"churn$i\"', '{}', '1 hour')") &&
		bq wk_bot "SELECT governance.revoke('$c', 'churn')" >/dev/null || echo "not ok - churn $i" 
	i=$((i + 1)); done ) &
cpid=$!

gov_wait "$C" "SELECT count(*) = $N FROM governance.leases l JOIN wk_leases w USING (lease_id)
                WHERE w.kind = 'short' AND l.state = 'expired'" 30
gov_ok $? "all $N short leases expired durably"
gov_is "$N|0|0" "$(q "SELECT count(*) FILTER (WHERE l.state = 'live'), count(*) FILTER (WHERE l.state <> 'live'),
                             count(DISTINCT l.lease_id) - count(*)
                        FROM governance.leases l JOIN wk_leases w USING (lease_id) WHERE w.kind = 'keep'")" \
	"the $N long-lived leases are all live"
gov_wait "$C" "SELECT count(*) = 3 FROM governance.leases l JOIN wk_leases w USING (lease_id)
                WHERE w.kind = 'session' AND l.state = 'revoked' AND l.end_reason = 'session ended'" 20
gov_ok $? "the three leases bound to sessions that ended are revoked (session ended)"
gov_is "$N" "$(q "SELECT count(DISTINCT e.lease_id) FROM governance.ledger e JOIN wk_leases w USING (lease_id)
                   WHERE w.kind = 'short' AND e.kind = 'governance.lease.expired'")" \
	"each short lease's expiry is ledgered"
gov_is "0" "$(q "SELECT count(*) FROM (SELECT e.lease_id FROM governance.ledger e JOIN wk_leases w USING (lease_id)
                   WHERE w.kind = 'short' AND e.kind = 'governance.lease.expired' GROUP BY 1 HAVING count(*) > 1) d")" \
	"and none twice"

wait "$spid"
gov_like "57L01|lease $lid" "$(cat "$W/sleep.out")" "the statement under the attached lease was cancelled at its expiry"
wait "$cpid"

# the ended leases are cleared from shared memory by the walks: the agent
# (limit 2N+60, holding N live ones, N+44 ended) gets N more
i=0
until [ "$(bq wk_bot "SELECT count(*) = $N FROM generate_series(1, $N) i,
                 governance.authorize('Agent::\"wk-bot\"', 'job.run', format('Job::\"n%s\"', i), '{}', '1 hour') a
                WHERE a.decision = 'allow'" 2>/dev/null)" = t ] || [ $i -ge 40 ]; do sleep 1; i=$((i + 1)); done
[ $i -lt 40 ]
gov_ok $? "the ended leases were cleared from shared memory (the agent gets $N new leases)"

gov_stop "$C"
