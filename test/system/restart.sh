#!/bin/sh
# Restart and crash (issue 5 item 10, D6): leases live in shared memory and
# are rebuilt from governance.leases.  After a clean restart (pg_ctl stop and
# start) and after a crash (kill -9 of a backend, which makes the postmaster
# reinitialise shared memory): a revoked lease stays revoked, an expired one
# stays expired, one that expired while the server was down is expired, a
# live one is live again (attachable, with its renewed expiry and
# generation) only if it has not expired, a delegated child likewise; a
# lease whose authorization had not committed does not exist; a lease bound
# to a session that the restart ended is not live.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/restart"
SLEEPERS=""
cleanup() {
	for p in $SLEEPERS; do kill "$p" 2>/dev/null; done
	gov_stop "$C"
}
trap cleanup EXIT

gov_new_cluster "$C" || exit 1
gov_start "$C" || exit 1

{ gov_agents_sql rs bot sub; cat <<'EOF'; gov_acct_sql SELECT rs_bot rs_sub; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('rs', 'permit (principal in Group::"rs", action == Action::"acct.select", resource);');
EOF
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"

# authorize TTL: as the bot, on Account::"1"; prints "lease_id|artifact"
authorize() {
	bq rs_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"rs-bot\"', 'acct.select', 'Account::\"1\"', '{}', '$1')"
}
# attach_as ROLE ARTIFACT: rows the role sees in a transaction attached to ARTIFACT, or the error
attach_as() {
	bq "$1" "BEGIN; SELECT governance.attach('$2') IS NOT NULL; SELECT count(*) FROM acct; COMMIT" 2>&1 | tail -n 1
}
state() { q "SELECT state FROM governance.leases WHERE lease_id = '$1'"; }
# sleeper ARTIFACT: a session attached for the session, sleeping; sets SLEEPER
sleeper() {
	"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U rs_bot -d postgres \
		-c "SELECT governance.attach('$1', session => true)" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
	SLEEPER=$!
	SLEEPERS="$SLEEPERS $SLEEPER"
	gov_wait "$C" "SELECT count(*) > 0 FROM pg_stat_activity WHERE usename = 'rs_bot' AND query = 'SELECT pg_sleep(120)' AND state = 'active'" 20
}

# the leases, and the states they should come back in
setup_leases() {	# setup_leases TAG
	l=$(authorize '10 minutes'); LIVE=${l%%|*}; LIVE_A=${l#*|}
	l=$(bq rs_bot "SELECT lease_id || '|' || artifact FROM governance.delegate('$LIVE', 'Agent::\"rs-sub\"', 'acct.select', 'Account::\"1\"')")
	CHILD=${l%%|*}; CHILD_A=${l#*|}
	l=$(authorize '10 minutes'); REV=${l%%|*}; REV_A=${l#*|}
	bq rs_bot "SELECT governance.revoke('$REV', '$1: revoked before')" >/dev/null
	l=$(authorize '1 second'); EXPD=${l%%|*}; EXPD_A=${l#*|}
	l=$(authorize '10 minutes'); SESS=${l%%|*}; SESS_A=${l#*|}
	l=$(authorize '6 seconds'); SHORT=${l%%|*}; SHORT_A=${l#*|}
	bq rs_bot "SELECT governance.heartbeat('$LIVE')" >/dev/null
	LIVE_EXP=$(q "SELECT expires_at || '|' || generation FROM governance.leases WHERE lease_id = '$LIVE'")
	gov_wait "$C" "SELECT state = 'expired' FROM governance.leases WHERE lease_id = '$EXPD'" 10
	gov_ok $? "$1: a 1-second lease has expired (durably) before"
	sleeper "$SESS_A"
	gov_ok $? "$1: a session attached to a session-bound lease is running"
	# an authorization whose transaction is still open
	: >"$W/open.out"
	"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U rs_bot -d postgres >"$W/open.out" 2>&1 <<EOF2 &
BEGIN;
SELECT artifact FROM governance.authorize('Agent::"rs-bot"', 'acct.select', 'Account::"1"');
SELECT pg_sleep(120);
EOF2
	SLEEPERS="$SLEEPERS $!"
	i=0; while [ $i -lt 100 ] && ! grep -q '^gov1\.' "$W/open.out"; do sleep 0.1; i=$((i + 1)); done
	OPEN_A=$(grep '^gov1\.' "$W/open.out" | head -n 1)
	[ -n "$OPEN_A" ]; gov_ok $? "$1: an authorization is open (not committed) with its artifact in hand"
}

check_leases() {	# check_leases TAG
	gov_wait_up "$C" 30
	gov_wait_trusted "$C" 30
	gov_ok $? "$1: trusted again"
	gov_is "live" "$(state "$LIVE")" "$1: the live lease is durably live"
	gov_is "$LIVE_EXP" "$(q "SELECT expires_at || '|' || generation FROM governance.leases WHERE lease_id = '$LIVE'")" \
		"$1: with the expiry and generation its heartbeat gave it"
	gov_wait "$C" "SELECT (governance.verify_artifact('$LIVE_A')).valid" 10
	gov_ok $? "$1: shared memory has it live again (verify_artifact)"
	gov_is "1" "$(attach_as rs_bot "$LIVE_A")" "$1: the live lease is attachable and shows its row"
	gov_is "1" "$(attach_as rs_sub "$CHILD_A")" "$1: its delegated child too"
	gov_is "revoked" "$(state "$REV")" "$1: the revoked lease is still revoked"
	gov_like "artifact refused: lease revoked" "$(attach_as rs_bot "$REV_A")" "$1: and cannot be attached"
	gov_is "lease revoked" "$(q "SELECT reason FROM governance.verify_artifact('$REV_A')")" "$1: verify_artifact says revoked"
	gov_is "expired" "$(state "$EXPD")" "$1: the expired lease is still expired"
	gov_like "artifact refused: (artifact|lease) expired" "$(attach_as rs_bot "$EXPD_A")" "$1: and cannot be attached"
	gov_like "artifact refused: (artifact|lease) expired" "$(attach_as rs_bot "$SHORT_A")" \
		"$1: a lease that expired while the server was down cannot be attached"
	gov_wait "$C" "SELECT state = 'expired' FROM governance.leases WHERE lease_id = '$SHORT'" 10
	gov_ok $? "$1: and the enforcer makes that expiry durable"
	gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.lease.expired' AND lease_id = '$SHORT'")" \
		"$1: and ledgers it"
	gov_like "artifact refused: lease unknown" "$(attach_as rs_bot "$OPEN_A")" \
		"$1: the artifact of an authorization that never committed names no lease"
	gov_wait "$C" "SELECT state <> 'live' FROM governance.leases WHERE lease_id = '$SESS'" 10
	gov_ok $? "$1: a lease bound to a session that ended with the server is not live (state: $(state "$SESS") $(q "SELECT end_reason FROM governance.leases WHERE lease_id = '$SESS'"))"
	gov_like "artifact refused" "$(attach_as rs_bot "$SESS_A")" "$1: and cannot be attached"
	r=$(bq rs_bot "SELECT governance.heartbeat('$LIVE') IS NOT NULL" 2>&1)
	gov_is "t" "$r" "$1: the live lease can be renewed"
	gov_is "$(( ${LIVE_EXP#*|} + 1 ))" "$(q "SELECT generation FROM governance.leases WHERE lease_id = '$LIVE'")" \
		"$1: its generation (fencing token) moves on from where it was"
}

# ---------------------------------------------------------------------
# clean restart
# ---------------------------------------------------------------------
setup_leases "restart"
short_exp=$(q "SELECT extract(epoch FROM expires_at)::bigint + 1 FROM governance.leases WHERE lease_id = '$SHORT'")
gov_stop "$C"
for p in $SLEEPERS; do wait "$p" 2>/dev/null; done; SLEEPERS=""
while [ "$(date +%s)" -le "$short_exp" ]; do sleep 0.5; done
gov_start "$C" || exit 1
check_leases "restart"
grep -q "governance enforcer: reloaded [0-9]* live lease" "$C/server.log"
gov_ok $? "restart: the enforcer logs that it reloaded the live leases"

# ---------------------------------------------------------------------
# crash: kill -9 of a backend; the postmaster reinitialises shared memory
# ---------------------------------------------------------------------
setup_leases "crash"
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U "$GOV_DBUSER" -d postgres -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
SLEEPERS="$SLEEPERS $!"
gov_wait "$C" "SELECT count(*) > 0 FROM pg_stat_activity WHERE usename = '$GOV_DBUSER' AND query = 'SELECT pg_sleep(120)'" 20
victim=$(q "SELECT pid FROM pg_stat_activity WHERE usename = '$GOV_DBUSER' AND query = 'SELECT pg_sleep(120)' LIMIT 1")
short_exp=$(q "SELECT extract(epoch FROM expires_at)::bigint + 1 FROM governance.leases WHERE lease_id = '$SHORT'")
kill -9 "$victim"
for p in $SLEEPERS; do wait "$p" 2>/dev/null; done; SLEEPERS=""
sleep 1
gov_wait_up "$C" 30
gov_ok $? "crash: the server is back after kill -9 of a backend"
grep -q "terminated by signal 9" "$C/server.log"; gov_ok $? "crash: the postmaster saw the crash and reinitialised"
while [ "$(date +%s)" -le "$short_exp" ]; do sleep 0.5; done
check_leases "crash"

gov_stop "$C"
! grep -E "PANIC" "$C/server.log" >/dev/null
gov_ok $? "no PANIC in the server log"
