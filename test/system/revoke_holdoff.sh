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
# transaction open for 2 s do not delay revoke() beyond its bound.
# The trials themselves are in lib/holdoff.py.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/ledger.sh"
W=$(gov_tmpdir)
C="$W/holdoff"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.revoke_lock_timeout = '200ms'" || exit 1
gov_start "$C" || exit 1

gov_psql "$C" -f "$GOV_ROOT/test/bench/holdoff_setup.sql" >/dev/null || { echo "not ok - setup"; exit 1; }
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 20
gov_ok $? "the cluster is trusted (enforcer running)"

"$SYS_PYTHON" "$GOV_ROOT/test/system/lib/holdoff.py" --host "$C" --port 5432 --db postgres \
	--admin "$GOV_DBUSER" --tap
gov_ok $? "the holdoff trials ran to the end"

gov_is "t" "$(gov_sql "$C" "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"
gov_is "trusted" "$(gov_sql "$C" "SELECT governance.trust_state()")" "trust is still trusted"
gov_stop "$C"
! grep -E "PANIC|TRAP|terminated by signal|server process .* was terminated" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log"
