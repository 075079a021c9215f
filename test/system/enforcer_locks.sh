#!/bin/sh
# The enforcer never waits on an agent's open transaction (issue 5 items 8
# and 9).  An agent session attaches lease A, records an event (which takes
# A's chain lock until commit) and then sits idle in its transaction while
# A expires.  Making that expiry durable would append to A's chain; the
# enforcer skips A instead of waiting, so it keeps beating (trust stays
# trusted: an enforcer stuck on the lock would go silent and degrade trust
# for everybody) and keeps cancelling (a sleeping statement under lease B
# is cancelled when B is revoked meanwhile), also with a security event
# for A (a refused attach) in its queue, which it ledgers off A's chain
# once the chain has been busy for a second (test/system/events.sh).
# Once the agent's transaction ends, A's expiry is made durable and
# ledgered.
# An enforcer restart keeps live sessions' leases; a server restart with a
# prepared transaction locking a session-bound lease does not stop it.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/enflocks"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" "governance.enforcer_max_silence = '2s'" || exit 1
gov_start "$C" || exit 1

gov_psql "$C" >/dev/null <<'EOF' || { echo "not ok - setup"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION governance;
CREATE ROLE lk_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"lk-bot"', 'lk_bot');
SELECT governance.create_policy('lk', 'permit (principal == Agent::"lk-bot", action, resource);');
EOF
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted (enforcer running)"

# authorize TTL: as the agent; prints "lease_id|artifact"
authorize() {
	bq lk_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"lk-bot\"', 'tool.run',
	            'Tool::\"search\"', '{}', '$1')"
}
A=$(authorize '3 seconds') && B=$(authorize '5 minutes') || { echo "not ok - authorize"; exit 1; }
A_ID=${A%%|*} A_ART=${A#*|}
B_ID=${B%%|*} B_ART=${B#*|}

# the agent: attach A, record under it (A's chain lock, held to commit),
# then idle in the transaction for 9 s (\! runs in psql, not in the server)
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U lk_bot -d postgres >"$W/agent.out" 2>&1 <<EOF &
BEGIN;
SELECT governance.attach('$A_ART') IS NOT NULL;
SELECT governance.record('tool_call', '{"step": 1}') > 0;
\! sleep 9
COMMIT;
EOF
AGENT=$!
gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'lk_bot' AND state = 'idle in transaction'" 10
gov_ok $? "the agent sits idle in its transaction, holding lease A's chain lock"

# a second session sleeps under lease B
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U lk_bot -d postgres >"$W/sleeper.out" 2>&1 <<EOF &
SELECT governance.attach('$B_ART', true) IS NOT NULL;
SELECT pg_sleep(60);
EOF
SLEEPER=$!
gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'lk_bot' AND wait_event = 'PgSleep'" 10
gov_ok $? "another session sleeps under lease B"

# wait until A expired 3.5 s ago: the enforcer's walk (once a second) has
# found it, and an enforcer stuck on the lock since then would have been
# silent for longer than governance.enforcer_max_silence (2 s)
gov_wait "$C" "SELECT expires_at < now() - interval '3500 ms' FROM governance.leases WHERE lease_id = '$A_ID'" 10
gov_ok $? "lease A expired more than 3.5 s ago"
# a refused attach of A is a security event on A's chain, which the
# enforcer ledgers: it must not wait for the lock either
out=$(bq lk_bot "SELECT governance.attach('$A_ART')" 2>&1)
gov_like "artifact refused" "$out" "attaching the expired A is refused (a security event on A's chain)"
sleep 0.5
gov_is "trusted" "$(q "SELECT governance.trust_state()")" \
	"the enforcer did not wait on the agent's lock: trust is still trusted"
gov_is "live" "$(q "SELECT state FROM governance.leases WHERE lease_id = '$A_ID'")" \
	"A's durable row still says live (its expiry waits for the chain lock)"
gov_is "f" "$(q "SELECT valid FROM governance.verify_artifact('$A_ART')")" \
	"but A is dead for every check already (verify_artifact refuses it)"

t0=$(date +%s%N)
gov_is "1" "$(q "SELECT governance.revoke('$B_ID', 'test: revoke while the agent holds a lock')")" "B is revoked"
wait "$SLEEPER"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "# the sleeping statement under B ended ${ms} ms after the revoke"
gov_like "canceling statement: governance lease $B_ID was revoked" "$(cat "$W/sleeper.out")" \
	"the enforcer still cancels: the statement under B is cancelled, naming B"
[ "$ms" -lt 1000 ]
gov_ok $? "within 1 s of the revocation (${ms} ms)"

wait "$AGENT"
gov_like "^t" "$(cat "$W/agent.out")" "the agent's transaction ran"
gov_wait "$C" "SELECT state = 'expired' FROM governance.leases WHERE lease_id = '$A_ID'" 10
gov_ok $? "once the agent's transaction has ended, A's expiry is made durable"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.lease.expired' AND lease_id = '$A_ID'")" \
	"and ledgered once"
gov_is "1|t" "$(q "SELECT format('%s|%s', count(*), bool_and(lease_id IS NULL AND payload->>'chain_busy' = 'true'))
                    FROM governance.ledger WHERE kind = 'governance.attach.refused'
                     AND (lease_id = '$A_ID' OR payload->>'lease_id' = '$A_ID')")" \
	"the refused attach was ledgered once, without waiting for A's chain (unchained, lease id in the payload)"
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "trust is still trusted"
# A restarted enforcer (the server keeps running, and shared memory with
# it) must not take live sessions for dead ones: a lease bound to a
# session that is still open stays live across the enforcer's restart,
# and ends when the session does.
S=$(authorize '5 minutes') || { echo "not ok - authorize"; exit 1; }
S_ID=${S%%|*} S_ART=${S#*|}
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U lk_bot -d postgres >"$W/session.out" 2>&1 <<EOF &
SELECT governance.attach('$S_ART', true) IS NOT NULL;
\! sleep 6
SELECT count(*) FROM governance.current_lease() WHERE live;
EOF
SESSION=$!
gov_wait "$C" "SELECT session_bound FROM governance.leases WHERE lease_id = '$S_ID'" 10
gov_ok $? "a session attaches lease S for the session"
old_pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'governance enforcer'")
q "SELECT pg_terminate_backend($old_pid)" >/dev/null
gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'governance enforcer' AND pid <> $old_pid" 15
gov_ok $? "the enforcer is stopped and the postmaster starts it again"
sleep 1
gov_is "live" "$(q "SELECT state FROM governance.leases WHERE lease_id = '$S_ID'")" \
	"the restarted enforcer leaves S live: its session is still open"
wait "$SESSION"
gov_is "t
1" "$(cat "$W/session.out")" "and the session still holds S, live, after the restart"
gov_wait "$C" "SELECT state = 'revoked' FROM governance.leases WHERE lease_id = '$S_ID'" 10
gov_ok $? "when the session ends, S is revoked ($(q "SELECT end_reason FROM governance.leases WHERE lease_id = '$S_ID'"))"

# A server restart ends every session, so the first enforcer round revokes
# the leases bound to one.  A prepared transaction survives the restart
# and keeps its locks: one that locks the row of such a lease must not
# stop the enforcer (which would go silent and degrade trust for
# everybody).  The lease, and its delegated child, are dead from the
# start all the same; the revocation is made durable once the lock goes.
P=$(authorize '5 minutes') || { echo "not ok - authorize"; exit 1; }
P_ID=${P%%|*} P_ART=${P#*|}
K_ART=$(bq lk_bot "SELECT artifact FROM governance.delegate('$P_ID', 'Agent::\"lk-bot\"', 'tool.run',
                   'Tool::\"search\"', '{}', '5 minutes')")
gov_like "^gov1\." "$K_ART" "lease P and its delegated child K"
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U lk_bot -d postgres >"$W/bound.out" 2>&1 <<EOF &
SELECT governance.attach('$P_ART', true) IS NOT NULL;
\! sleep 60
EOF
BOUND=$!
gov_wait "$C" "SELECT session_bound FROM governance.leases WHERE lease_id = '$P_ID'" 10
gov_ok $? "a session holds P for the session"
gov_psql "$C" -c "BEGIN" -c "SELECT 1 FROM governance.leases WHERE lease_id = '$P_ID' FOR UPDATE" \
	-c "PREPARE TRANSACTION 'lk_hold'" >/dev/null
gov_ok $? "a prepared transaction locks P's row"
$GOV_RUNAS "$PGBIN/pg_ctl" -D "$C/data" -l "$C/server.log" -w -t 60 -m fast restart >/dev/null
gov_ok $? "the server restarts (the prepared transaction survives it)"
kill "$BOUND" 2>/dev/null; wait "$BOUND" 2>/dev/null
sleep 4
gov_is "trusted" "$(q "SELECT governance.trust_state()")" \
	"the enforcer did not wait on the prepared transaction's lock: trust is trusted 4 s after the restart"
# It still tries P's revocation now and then (a 50 ms lock wait, backing
# off to one every 4 s); what it must not do is sit in a lock wait.  A
# stuck enforcer is seen waiting in every sample and does no rounds.
rounds0=$(q "SELECT enforcer_rounds FROM governance.stats")
waiting=0
for i in $(seq 1 20); do
	w=$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	       WHERE NOT l.granted AND a.backend_type = 'governance enforcer'")
	waiting=$((waiting + w))
	sleep 0.1
done
rounds1=$(q "SELECT enforcer_rounds FROM governance.stats")
gov_ok "$([ "$waiting" -le 2 ] && echo 0 || echo 1)" \
	"and it does not sit in a lock wait (seen waiting in $waiting of 20 samples over 2 s)"
gov_ok "$([ $((rounds1 - rounds0)) -ge 5 ] && echo 0 || echo 1)" \
	"its rounds go on meanwhile ($((rounds1 - rounds0)) rounds in those 2 s)"
gov_is "live" "$(q "SELECT state FROM governance.leases WHERE lease_id = '$P_ID'")" \
	"P's durable row still says live (its revocation waits for the lock)"
gov_is "f|f" "$(q "SELECT format('%s|%s', (SELECT valid FROM governance.verify_artifact('$P_ART')),
                                           (SELECT valid FROM governance.verify_artifact('$K_ART')))")" \
	"but P and its child K are dead for every check already"
out=$(bq lk_bot "SELECT governance.attach('$K_ART')" 2>&1)
gov_like "artifact refused" "$out" "attaching K is refused"
q "ROLLBACK PREPARED 'lk_hold'" >/dev/null
gov_wait "$C" "SELECT bool_and(state = 'revoked') FROM governance.leases WHERE lease_id = '$P_ID' OR parent_id = '$P_ID'" 10
gov_ok $? "once the lock is gone, P and K are revoked durably ($(q "SELECT end_reason FROM governance.leases WHERE lease_id = '$P_ID'"))"
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"

# Many locked leases must not hold the enforcer either: a prepared
# transaction locks the rows of a lease Q and its 40 delegated children, Q
# is revoked (dead at once, made durable later: revocations_deferred), and
# every reconcile tries the tree again.  The tries back off, and after two
# lock timeouts in a round the others wait 1 ms, so a revocation meanwhile
# is still signalled at once (41 tries of 50 ms would hold each walk 2 s).
Q=$(authorize '5 minutes') || { echo "not ok - authorize"; exit 1; }
Q_ID=${Q%%|*}
gov_is "40" "$(bq lk_bot "SELECT count(*) FROM generate_series(1, 40) g,
                 LATERAL governance.delegate('$Q_ID', 'Agent::\"lk-bot\"', 'tool.run',
                                             'Tool::\"search\"', jsonb_build_object('n', g), '5 minutes') d")" \
	"lease Q and 40 delegated children"
gov_psql "$C" -c "BEGIN" -c "SELECT lease_id FROM governance.leases WHERE lease_id = '$Q_ID' OR parent_id = '$Q_ID' FOR UPDATE" \
	-c "PREPARE TRANSACTION 'lk_many'" >/dev/null
gov_ok $? "a prepared transaction locks the rows of Q and its 40 children"
q "SELECT governance.revoke('$Q_ID', 'test: a locked tree')" >/dev/null 2>&1
gov_is "1|41" "$(q "SELECT format('%s|%s', (SELECT count(*) FROM governance.revocations_deferred WHERE lease_id = '$Q_ID'),
                  (SELECT count(*) FROM governance.leases WHERE (lease_id = '$Q_ID' OR parent_id = '$Q_ID') AND state = 'live'))")" \
	"Q's revocation is deferred: its 41 rows still say live"
sleep 2
worst=0
for i in 1 2 3; do
	R=$(authorize '5 minutes') || { echo "not ok - authorize"; exit 1; }
	R_ID=${R%%|*} R_ART=${R#*|}
	"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U lk_bot -d postgres >"$W/sleeper$i.out" 2>&1 <<EOF &
SELECT governance.attach('$R_ART', true) IS NOT NULL;
SELECT pg_sleep(60);
EOF
	SLEEPER=$!
	gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'lk_bot' AND wait_event = 'PgSleep'" 10
	sleep 0.$((i * 3))
	t0=$(date +%s%N)
	q "SELECT governance.revoke('$R_ID', 'test: revoke while a tree is locked')" >/dev/null
	wait "$SLEEPER"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
	grep -q "canceling statement: governance lease $R_ID was revoked" "$W/sleeper$i.out" || worst=99999
done
gov_ok "$([ "$worst" -lt 1000 ] && echo 0 || echo 1)" \
	"while the enforcer retries the 41 locked rows, three revocations are each signalled within 1 s (worst ${worst} ms)"
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "trust is still trusted"
q "ROLLBACK PREPARED 'lk_many'" >/dev/null
gov_wait "$C" "SELECT bool_and(state = 'revoked') FROM governance.leases WHERE lease_id = '$Q_ID' OR parent_id = '$Q_ID'" 15
gov_ok $? "once the lock is gone, Q and its 40 children are revoked durably"
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"

# A session-bound lease whose session ends while a prepared transaction
# locks its row: fail closed first.  The enforcer cannot make the
# revocation durable yet, so it ends the lease (and its child) in shared
# memory at once; nobody can take it up meanwhile.
O=$(authorize '5 minutes') || { echo "not ok - authorize"; exit 1; }
O_ID=${O%%|*} O_ART=${O#*|}
OK_ART=$(bq lk_bot "SELECT artifact FROM governance.delegate('$O_ID', 'Agent::\"lk-bot\"', 'tool.run',
                    'Tool::\"search\"', '{}', '5 minutes')")
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U lk_bot -d postgres >"$W/orphan.out" 2>&1 <<EOF &
SELECT governance.attach('$O_ART', true) IS NOT NULL;
SELECT pg_sleep(60);
EOF
ORPHAN=$!
gov_wait "$C" "SELECT session_bound FROM governance.leases WHERE lease_id = '$O_ID'" 10
gov_ok $? "a session holds lease O (with a delegated child) for the session"
gov_psql "$C" -c "BEGIN" -c "SELECT lease_id FROM governance.leases WHERE lease_id = '$O_ID' FOR UPDATE" \
	-c "PREPARE TRANSACTION 'lk_orphan'" >/dev/null
gov_ok $? "a prepared transaction locks O's row"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'lk_bot' AND wait_event = 'PgSleep'" >/dev/null
wait "$ORPHAN" 2>/dev/null
gov_wait "$C" "SELECT NOT valid FROM governance.verify_artifact('$O_ART')" 5
gov_ok $? "O's session ended: O is dead for every check within the enforcer's walk"
gov_is "live|f" "$(q "SELECT format('%s|%s', (SELECT state FROM governance.leases WHERE lease_id = '$O_ID'),
                                      (SELECT valid FROM governance.verify_artifact('$OK_ART')))")" \
	"while its durable row still says live (locked), and O's child is dead too"
out=$(bq lk_bot "SELECT governance.attach('$O_ART', true)" 2>&1)
gov_like "artifact refused" "$out" "another session cannot take O up"
q "ROLLBACK PREPARED 'lk_orphan'" >/dev/null
gov_wait "$C" "SELECT bool_and(state = 'revoked') FROM governance.leases WHERE lease_id = '$O_ID' OR parent_id = '$O_ID'" 15
gov_ok $? "once the lock is gone, O and its child are revoked durably ($(q "SELECT end_reason FROM governance.leases WHERE lease_id = '$O_ID'"))"

gov_stop "$C"
! grep -E "PANIC|terminated by signal|server process .* was terminated" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log"
