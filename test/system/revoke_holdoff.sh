#!/bin/sh
# Revocation that a lease holder cannot hold off (issue 16 item 1).  An
# agent keeps a transaction open after heartbeat(), delegate(), record(),
# a governed INSERT or attach(..., session => true), each of which holds a
# lock revoke() needs (the lease's row, or its ledger chain).  revoke(), by
# an administrator, by the holder itself, must refuse the lease and its
# child everywhere at once, while it still waits for the holder, return
# within twice governance.revoke_lock_timeout, end the holder's session
# and leave the leases revoked durably.  A holder it cannot end (a prepared
# transaction, a session the caller may not end) makes it return within
# the same bound with a WARNING and a ledgered deferral, and the enforcer
# lands the revocation once the lock is released.  A session attachment
# cannot be prepared.  Loops of heartbeat/delegate/attach that each keep a
# transaction open for 2 s do not delay revoke() beyond its bound.  A
# revocation acknowledged but not yet durable survives a kill -9 of the
# postmaster: the leases are refused from the restart on.
# The trials themselves are in lib/holdoff.py.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/holdoff"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.revoke_lock_timeout = '200ms'" || exit 1
gov_start "$C" || exit 1

gov_psql "$C" -f "$GOV_ROOT/test/bench/holdoff_setup.sql" >/dev/null || { echo "not ok - setup"; exit 1; }
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted (enforcer running)"

"$SYS_PYTHON" "$GOV_ROOT/test/system/lib/holdoff.py" --host "$C" --port 5432 --db postgres \
	--admin "$GOV_DBUSER" --tap
gov_ok $? "the holdoff trials ran to the end"

# Acknowledged but not durable, then a crash.  A prepared transaction
# holds L's row; revoke() returns with its WARNING and records the deferred
# revocation; the postmaster is killed (kill -9) and the server restarted.
# L and its child K are refused from the start (the enforcer reads the
# deferred revocations back when it reloads the leases), though their rows
# still say live; once the prepared transaction is rolled back, the
# enforcer makes the revocation durable.
set -- $(q "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"rv-bot\"', 'rv.select',
           'Account::\"1\"', '{}', '10 minutes')")
L=$1 LA=$2
set -- $(q "SELECT lease_id || ' ' || artifact FROM governance.delegate('$L', 'Agent::\"rv-sub\"', 'rv.select',
           'Account::\"1\"')")
K=$1 KA=$2
gov_psql "$C" -c "BEGIN" -c "SELECT 1 FROM governance.leases WHERE lease_id = '$L' FOR UPDATE" \
	-c "PREPARE TRANSACTION 'rv_crash'" >/dev/null
gov_ok $? "crash: a prepared transaction locks L's row"
out=$(gov_sql_as "$C" rv_admin "SET statement_timeout = '10s'; SELECT governance.revoke('$L', 'holdoff: before a crash')" 2>&1)
gov_like "not durable yet" "$out" "crash: revoke() returns, warning that the revocation is not durable yet"
gov_is "1" "$(q "SELECT count(*) FROM governance.revocations_deferred WHERE lease_id = '$L'")" \
	"crash: the deferred revocation is recorded (and committed)"
kill -9 "$(head -n 1 "$C/data/postmaster.pid")"
gov_wait_dead "$C" 20; gov_ok $? "crash: the postmaster is killed, every process of the cluster is gone"
gov_start "$C"; gov_ok $? "crash: the server restarts (the prepared transaction survives)"
gov_wait_trusted "$C" 30
gov_ok $? "crash: the enforcer has reloaded the leases"
# L's row is held by the prepared transaction, so it still says live; K's
# row is not locked and the enforcer may already have landed K's part of
# the deferred revocation (a race, not a fault): either state is right.
gov_is "live" "$(q "SELECT state FROM governance.leases WHERE lease_id = '$L'")" \
	"crash: L's row (locked by the prepared transaction) still says live"
gov_like "^(live|revoked)$" "$(q "SELECT state FROM governance.leases WHERE lease_id = '$K'")" \
	"crash: K's row says live, or revoked if the enforcer already landed it"
out=$(gov_sql_as "$C" rv_bot "SELECT governance.attach('$LA')" 2>&1)
gov_like "artifact refused: lease revoked" "$out" "crash: attaching L is refused after the restart"
out=$(gov_sql_as "$C" rv_sub "SELECT governance.attach('$KA')" 2>&1)
gov_like "artifact refused: lease revoked" "$out" "crash: attaching its child K is refused too"
q "ROLLBACK PREPARED 'rv_crash'" >/dev/null
gov_wait "$C" "SELECT string_agg(state, ',' ORDER BY depth) = 'revoked,revoked' FROM governance.leases
               WHERE lease_id IN ('$L', '$K')" 15
gov_ok $? "crash: once the lock is gone, the enforcer revokes L and K durably"
gov_is "0" "$(q "SELECT count(*) FROM governance.revocations_deferred")" "crash: and nothing is left deferred"

gov_is "t" "$(gov_sql "$C" "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"
gov_is "trusted" "$(gov_sql "$C" "SELECT governance.trust_state()")" "trust is still trusted"
gov_stop "$C"
! grep -E "PANIC|TRAP|terminated by signal|server process .* was terminated" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log"
