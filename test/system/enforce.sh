#!/bin/sh
# Enforcement (issue 5 items 1, 2, 8; D8): the enforcer cancels the running
# statement of a session attached to a lease within 1 s of its revocation
# or expiry, with a message naming the lease and why; with
# governance.enforcement = terminate it ends the session instead; a lease
# attached for the session is revoked when that session ends, one attached
# for a transaction is not; heartbeat with a changed measurement warns.
# governance.max_leases: when shared memory is full, authorize() fails with
# a clear error and no live lease is evicted.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/enforce"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.max_leases = 16" "governance.enforcer_naptime = '100ms'" || exit 1
gov_start "$C" || exit 1

# bq ROLE SQL: run SQL logged in as ROLE (one value, unaligned)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

{ gov_agents_sql enf bot; cat <<'EOF'; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('enf',
    'permit (principal in Group::"enf", action in [Action::"acct.select", Action::"acct.update"], resource);');
CREATE TABLE acct (id int PRIMARY KEY, owner text, balance int);
INSERT INTO acct VALUES (1, 'Account::"1"', 10), (2, 'Account::"2"', 20);
SELECT governance.govern_table('acct', 'acct', 'owner');
GRANT SELECT, UPDATE ON acct TO enf_bot;
EOF
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted (enforcer running)"

# authorize RESOURCE-ID [TTL] [MEASUREMENT]: as the agent; prints "lease_id|artifact"
authorize() {
	bq enf_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"enf-bot\"', 'acct.select',
	            'Account::\"$1\"', '{}', '${2:-5 minutes}', ${3:-NULL})"
}

# ---------------------------------------------------------------------
# governance.max_leases = 16: full shared memory refuses, evicts nothing
# ---------------------------------------------------------------------
# fill shared memory until authorize() refuses (at most 200 tries)
i=1
: >"$W/leases"
while [ $i -le 200 ]; do
	authorize "$i" >>"$W/leases" 2>"$W/err" || break
	i=$((i + 1))
done
fit=$(wc -l <"$W/leases")
echo "# $fit leases fit with governance.max_leases = 16"
out=$(cat "$W/err")
gov_like 'too many leases: governance.max_leases \(16\) is reached' "$out" \
	"when shared memory is full authorize fails with a clear error"
gov_like 'No live lease is evicted' "$out" "which says no live lease is evicted"
gov_is "16" "$fit" "exactly governance.max_leases (16) leases fit"
gov_is "$fit" "$(q "SELECT count(*) FROM governance.leases WHERE state = 'live'")" \
	"the refused authorization left no durable lease"
valid=0
while IFS='|' read -r id art; do
	[ "$(bq enf_bot "SELECT valid FROM governance.verify_artifact('$art')")" = "t" ] && valid=$((valid + 1))
done <"$W/leases"
gov_is "$fit" "$valid" "every lease issued before is still live in shared memory (none evicted)"
art1=$(head -n 1 "$W/leases" | cut -d'|' -f2)
gov_is "1" "$(bq enf_bot "BEGIN; SELECT governance.attach('$art1') IS NOT NULL; SELECT count(*) FROM acct; COMMIT;" | tail -n 1)" \
	"the first one is still attachable and shows its row"
out=$(authorize 999 2>&1)
gov_like 'too many leases' "$out" "still full on the next try"
out=$(bq enf_bot "SELECT decision FROM governance.authorize('Agent::\"enf-bot\"', 'acct.delete', 'Account::\"1\"')" 2>&1)
gov_is "deny" "$out" "a deny needs no room: still answered when full"
# revoke one; ended leases are cleared from shared memory after a while
id1=$(head -n 1 "$W/leases" | cut -d'|' -f1)
q "SELECT governance.revoke('$id1', 'make room')" >/dev/null
j=0
while [ $j -lt 100 ]; do
	authorize 18 >/dev/null 2>&1 && break
	sleep 0.25; j=$((j + 1))
done
[ $j -lt 100 ]; gov_ok $? "after a revocation the ended lease is cleared and a new lease fits (after about $((j / 4)) s)"

# the rest of the tests want room
gov_stop "$C"
gov_conf "$C" "governance.max_leases = 1000"
gov_start "$C" || exit 1
gov_wait_trusted "$C" 20

# ---------------------------------------------------------------------
# a running statement is cancelled within 1 s of a revocation
# ---------------------------------------------------------------------
# sleeper ARTIFACT OUTFILE: an agent session attached for the session that
# runs pg_sleep(30) in the background; sets SLEEPER to the psql pid
sleeper() {
	"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$C" -p 5432 -U enf_bot -d postgres \
		-c "SELECT governance.attach('$1', session => true)" \
		-c "SELECT count(*) FROM acct" \
		-c "SELECT pg_sleep(30)" >"$2" 2>&1 &
	SLEEPER=$!
}
# wait_sleeping: until a backend of enf_bot runs pg_sleep
wait_sleeping() {
	gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'enf_bot' AND state = 'active' AND query = 'SELECT pg_sleep(30)'" 20
}

l=$(authorize 1); lid=${l%%|*}; art=${l#*|}
sleeper "$art" "$W/cancel.out"
wait_sleeping; gov_ok $? "an attached agent session is running pg_sleep(30)"
t0=$(now_ms)
q "SELECT governance.revoke('$lid', 'operator pulled the plug')" >/dev/null
t1=$(now_ms)
wait $SLEEPER
t2=$(now_ms)
echo "# revoke took $((t1 - t0)) ms; cancelled $((t2 - t1)) ms after the revocation committed"
[ $((t2 - t1)) -lt 1000 ]; gov_ok $? "the running statement is cancelled within 1 s of the revocation ($((t2 - t1)) ms)"
gov_like "canceling statement: governance lease $lid was revoked: operator pulled the plug" "$(cat "$W/cancel.out")" \
	"the error names the lease and the reason"
gov_like '^1$' "$(head -n 2 "$W/cancel.out" | tail -n 1)" "(before that the session read its row)"
# the server's own clock: revocation (ended_at) to the cancel in the log
lat=$(q "SELECT 1" >/dev/null; grep "canceling statement: governance lease $lid" "$C/server.log" | head -n 1 | cut -c1-23)
if [ -n "$lat" ]; then
	ms=$(q "SELECT round(extract(epoch FROM ('$lat UTC'::timestamptz - ended_at)) * 1000) FROM governance.leases WHERE lease_id = '$lid'")
	echo "# server clock: cancel logged $ms ms after the revocation"
	[ "$ms" -lt 1000 ]; gov_ok $? "by the server's clock too ($ms ms from ended_at to the logged cancel)"
else
	gov_ok 1 "the cancel is in the server log"
fi

# ---------------------------------------------------------------------
# ... and within 1 s of an expiry
# ---------------------------------------------------------------------
l=$(authorize 2 '3 seconds'); lid=${l%%|*}; art=${l#*|}
sleeper "$art" "$W/expire.out"
wait_sleeping; gov_ok $? "an agent session attached to a 3-second lease is running pg_sleep(30)"
wait $SLEEPER
t2=$(now_ms)
exp_ms=$(q "SELECT (extract(epoch FROM expires_at) * 1000)::bigint FROM governance.leases WHERE lease_id = '$lid'")
echo "# cancelled $((t2 - exp_ms)) ms after the lease expired"
[ $((t2 - exp_ms)) -lt 1000 ] && [ $((t2 - exp_ms)) -gt -100 ]
gov_ok $? "the running statement is cancelled within 1 s of the expiry ($((t2 - exp_ms)) ms)"
gov_like "canceling statement: governance lease $lid expired" "$(cat "$W/expire.out")" "the error names the lease and says it expired"
gov_wait "$C" "SELECT state = 'expired' FROM governance.leases WHERE lease_id = '$lid'" 10
gov_ok $? "the enforcer makes the expiry durable"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.lease.expired' AND lease_id = '$lid'")" \
	"and ledgers it once"

# ---------------------------------------------------------------------
# governance.enforcement = terminate ends the session
# ---------------------------------------------------------------------
q "ALTER SYSTEM SET governance.enforcement = 'terminate'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
gov_wait "$C" "SELECT current_setting('governance.enforcement') = 'terminate'" 10
sleep 0.5	# the enforcer reloads its configuration between rounds
l=$(authorize 1); lid=${l%%|*}; art=${l#*|}
sleeper "$art" "$W/terminate.out"
wait_sleeping
pid=$(q "SELECT pid FROM pg_stat_activity WHERE usename = 'enf_bot' AND query = 'SELECT pg_sleep(30)'")
q "SELECT governance.revoke('$lid', 'terminate me')" >/dev/null
t1=$(now_ms)
wait $SLEEPER
t2=$(now_ms)
[ $((t2 - t1)) -lt 1000 ]; gov_ok $? "terminate: the session ends within 1 s of the revocation ($((t2 - t1)) ms)"
gov_wait "$C" "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid" 5
gov_ok $? "terminate: the backend is gone, not just its statement"
gov_like "terminating connection: governance lease $lid was revoked: terminate me" "$(cat "$W/terminate.out")" \
	"terminate: the agent is told which lease and why"
q "ALTER SYSTEM RESET governance.enforcement" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
gov_wait "$C" "SELECT current_setting('governance.enforcement') = 'cancel'" 10
sleep 0.5

# ---------------------------------------------------------------------
# a lease attached for the session ends with the session
# ---------------------------------------------------------------------
l=$(authorize 1); sid=${l%%|*}; sart=${l#*|}
l=$(authorize 1); tid=${l%%|*}; tart=${l#*|}
gov_is "1" "$(bq enf_bot "SELECT governance.attach('$sart', session => true) IS NOT NULL; SELECT count(*) FROM acct" | tail -n 1)" \
	"a session attaches a lease for the session, reads, and disconnects"
gov_is "1" "$(bq enf_bot "BEGIN; SELECT governance.attach('$tart') IS NOT NULL; SELECT count(*) FROM acct; COMMIT" | tail -n 1)" \
	"another attaches a lease for a transaction, reads, and disconnects"
gov_wait "$C" "SELECT state = 'revoked' AND end_reason = 'session ended' FROM governance.leases WHERE lease_id = '$sid'" 10
gov_ok $? "the session-bound lease is revoked (session ended) once its session has gone"
gov_is "enforcer|session ended|1" "$(q "SELECT payload->>'by', payload->>'reason', payload->>'count' FROM governance.ledger WHERE kind = 'governance.revoke' AND lease_id = '$sid'")" \
	"and the enforcer ledgers it"
gov_like "artifact refused: lease revoked" "$(bq enf_bot "SELECT governance.attach('$sart')" 2>&1)" \
	"its artifact is refused afterwards"
sleep 1
gov_is "live" "$(q "SELECT state FROM governance.leases WHERE lease_id = '$tid'")" \
	"the lease attached only for a transaction outlives the session"
gov_is "1" "$(bq enf_bot "BEGIN; SELECT governance.attach('$tart') IS NOT NULL; SELECT count(*) FROM acct; COMMIT" | tail -n 1)" \
	"and can be attached again by a new session"

# a session-bound lease is not revoked while its session lives
l=$(authorize 2); sid2=${l%%|*}; sart2=${l#*|}
sleeper "$sart2" "$W/alive.out"
wait_sleeping
sleep 1
gov_is "live" "$(q "SELECT state FROM governance.leases WHERE lease_id = '$sid2'")" \
	"a session-bound lease stays live while its session runs"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'enf_bot' AND query = 'SELECT pg_sleep(30)'" >/dev/null
wait "$SLEEPER" 2>/dev/null
gov_wait "$C" "SELECT state = 'revoked' AND end_reason = 'session ended' FROM governance.leases WHERE lease_id = '$sid2'" 10
gov_ok $? "and is revoked when that session is terminated"

# ---------------------------------------------------------------------
# heartbeat with a changed measurement: NULL and a WARNING
# ---------------------------------------------------------------------
l=$(authorize 1 '5 minutes' "'\\x0a0b'::bytea"); mid=${l%%|*}
out=$(bq enf_bot "SELECT coalesce(governance.heartbeat('$mid', '\\x0a0c')::text, 'NULL')" 2>&1)
gov_like "^WARNING: +lease $mid revoked: integrity: the runtime measurement changed" "$out" \
	"heartbeat with a changed measurement warns that it revoked the lease, and why"
gov_like "NULL$" "$out" "and returns NULL"

# ---------------------------------------------------------------------
# an idle session's lease ends; its later, unrelated cancel keeps its own
# message (the enforcer's reason is for the statement it stopped)
# ---------------------------------------------------------------------
l=$(authorize 1); iid=${l%%|*}; iart=${l#*|}
mkfifo "$W/idle.in"
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U enf_bot -d postgres <"$W/idle.in" >"$W/idle.out" 2>&1 &
IDLE=$!
exec 4>"$W/idle.in"
printf "SELECT governance.attach('%s', session => true);\n" "$iart" >&4
gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'enf_bot' AND state = 'idle' AND query LIKE 'SELECT governance.attach%'" 10
q "SELECT governance.revoke('$iid', 'while idle')" >/dev/null
sleep 1	# the enforcer signals the idle session, which ignores it
printf "SET statement_timeout = 200;\nSELECT pg_sleep(3);\n" >&4
exec 4>&-
wait $IDLE
gov_like "canceling statement due to statement timeout" "$(cat "$W/idle.out")" \
	"a statement timeout after the lease ended while the session was idle is reported as a statement timeout"

gov_stop "$C"
! grep -E "PANIC|terminated by signal|server process .* was terminated" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log"
