#!/bin/sh
# Acknowledged is durable: with synchronous_commit = off for the whole
# server and a wal_writer_delay of 10 s (so an asynchronous commit can sit
# in WAL buffers for seconds), every change that lowers trust is flushed
# before its caller hears of it.  Each round makes one change, returns,
# kills every process of the cluster at once (kill -9), restarts, and
# checks the change survived: a revoke (and its cascade), a revocation by a
# failed heartbeat, a new forbid policy, and a key rotation.  A control
# round shows the set-up does lose an ordinary asynchronous commit.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/durable"

cleanup() { gov_stop "$C"; }
trap cleanup EXIT

gov_new_cluster "$C" "synchronous_commit = off" "wal_writer_delay = '10s'" \
	"governance.enforcer_naptime = '100ms'" || exit 1
gov_start "$C" || exit 1

sql() { gov_sql "$C" "$1"; }
as_bot() { gov_sql_as "$C" dur_bot "$1"; }

sql "CREATE EXTENSION governance;
CREATE ROLE dur_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::\"dur-bot\"', 'dur_bot');
SELECT governance.put_entity('Agent::\"dur-bot\"', '{}', '{}');
SELECT governance.create_policy('dur_p', 'permit (principal, action, resource);');
CHECKPOINT;" >/dev/null || exit 1
gov_wait_trusted "$C" 20
gov_ok $? "set-up: the cluster is trusted"

# crash: kill -9 every process at once, restart, wait for trust
crash() {
	kill -9 $(gov_cluster_pids "$C") 2>/dev/null
	gov_wait_dead "$C" 20 || { echo "not ok - $1: the cluster did not die"; return 1; }
	gov_start "$C" >/dev/null || return 1
	gov_wait_up "$C" 30 || return 1
	gov_wait_trusted "$C" 30
}

lease() {	# lease: a fresh lease id|artifact, committed
	as_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"dur-bot\"', 'dur.read', 'Doc::\"1\"', '{}', '10 minutes', '\\x01')"
}

attach_says() {	# attach_says ARTIFACT: ok, or the refusal
	as_bot "BEGIN; SELECT governance.attach('$1'); COMMIT" >/dev/null 2>"$W/attach.err" && echo ok || sed -n 's/^.*ERROR: *//p' "$W/attach.err"
}

# control: the set-up loses an asynchronous commit made just before a crash
sql "CREATE TABLE dur_control (x int)" >/dev/null
sql "CHECKPOINT" >/dev/null
sleep 11	# let the WAL writer's last flush age past its delay ...
sql "INSERT INTO dur_control VALUES (1)" >/dev/null	# ... and wake it: it writes only whole pages now
crash "control" || exit 1
lost=$(sql "SELECT count(*) FROM dur_control")
gov_is 0 "$lost" "control: an ordinary INSERT acknowledged with synchronous_commit = off is lost by the crash"

# 1. revoke, with a child that goes with it
l=$(lease); id=${l%%|*}; art=${l#*|}
child=$(as_bot "SELECT lease_id FROM governance.delegate('$id', 'Agent::\"dur-bot\"', 'dur.read', 'Doc::\"1\"')")
gov_is ok "$(attach_says "$art")" "revoke: the lease attaches before"
n=$(sql "SET synchronous_commit = off; SELECT governance.revoke('$id', 'durable test')")
gov_is 2 "$n" "revoke: revoke() acknowledged the lease and its child"
crash "revoke" || exit 1
gov_is "revoked revoked" "$(sql "SELECT string_agg(state, ' ' ORDER BY lease_id <> '$id') FROM governance.leases WHERE lease_id IN ('$id', '$child')")" \
	"revoke: after a kill -9 right after it, the lease and its child are still revoked"
gov_like "lease revoked" "$(attach_says "$art")" "revoke: and the artifact is refused"

# 2. a heartbeat with a changed measurement revokes (integrity)
l=$(lease); id=${l%%|*}; art=${l#*|}
hb=$(as_bot "SET synchronous_commit = off; SELECT governance.heartbeat('$id', '\\x02') IS NULL" 2>/dev/null)
gov_is t "$hb" "heartbeat: a changed measurement revokes the lease (NULL)"
crash "heartbeat" || exit 1
gov_is revoked "$(sql "SELECT state FROM governance.leases WHERE lease_id = '$id'")" \
	"heartbeat: after the crash the integrity revocation is still there"
gov_like "lease revoked" "$(attach_says "$art")" "heartbeat: and the artifact is refused"

# 3. a forbid policy
sql "SET synchronous_commit = off; SELECT governance.create_policy('dur_forbid', 'forbid (principal, action == Action::\"dur.write\", resource);')" >/dev/null
crash "policy" || exit 1
gov_is deny "$(sql "SELECT decision FROM governance.decide('Agent::\"dur-bot\"', 'dur.write', 'Doc::\"1\"')")" \
	"policy: after the crash a forbid created just before still denies"

# 4. a key rotation
new=$(sql "SET synchronous_commit = off; SELECT governance.rotate_key()")
crash "rotation" || exit 1
gov_is "$new" "$(sql "SELECT governance.current_key_id()")" "rotation: after the crash the rotated key is current"
gov_is 1 "$(sql "SELECT count(*) FROM governance.signing_keys WHERE key_id = '$new'")" "rotation: and recorded"
gov_is t "$(sql "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies after all of that"
