#!/bin/sh
# Precise expiry and fresh seals (issue 14 items 3, 4).  The workers' rounds
# are made long on purpose (the enforcer's 2 s, the sealer's 60 s), so that
# only the wake-ups can explain what is checked:
# - a running statement under a lease that expires is cancelled soon after
#   its expires_at, every time (polling every 2 s would miss that
#   in most trials; 500 ms on a loaded machine, see LIMIT), also when
#   another attached lease expires later, and
#   when the lease is attached after the enforcer planned its sleep;
# - a committed ledger row is sealed within SEAL_LIMIT of its commit (the
#   sealer's round is 60 s), and a burst of commits is batched into few blocks
#   (governance.seal_delay), not a block per commit;
# - a rolled-back append wakes nobody into sealing a row.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/wake"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.enforcer_naptime = '2s'" "governance.enforcer_max_silence = '10s'" \
	"governance.seal_interval = '60s'" "governance.seal_delay = '200ms'" \
	"track_commit_timestamp = on" || exit 1
gov_start "$C" || exit 1

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

{ gov_agents_sql wk bot; gov_acct_sql SELECT wk_bot; cat <<'EOF2'; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('wk', 'permit (principal in Group::"wk", action == Action::"acct.select", resource);');
EOF2
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted (enforcer running)"

# authorize RESOURCE-ID TTL: as the agent; prints "lease_id|artifact"
authorize() {
	bq wk_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"wk-bot\"', 'acct.select',
	            'Account::\"$1\"', '{}', '$2')"
}
# sleeper ARTIFACT OUTFILE: an agent session attached for the session that
# runs pg_sleep(30) in the background; sets SLEEPER to the psql pid
sleeper() {
	"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$C" -p 5432 -U wk_bot -d postgres \
		-c "SELECT governance.attach('$1', session => true)" \
		-c "SELECT pg_sleep(30)" >"$2" 2>&1 &
	SLEEPER=$!
}
wait_sleeping() {	# wait_sleeping N: until N backends of wk_bot run pg_sleep
	gov_wait "$C" "SELECT count(*) = $1 FROM pg_stat_activity WHERE usename = 'wk_bot' AND state = 'active' AND query = 'SELECT pg_sleep(30)'" 20
}
# lag LEASE_ID: ms from the lease's expires_at to the cancel its backend
# logged (the server's clock: no client or shell scheduling in it)
lag() {
	_at=$(grep "canceling statement: governance lease $1" "$C/server.log" | head -n 1 | cut -c1-23)
	if [ -z "$_at" ]; then echo 999999; return; fi
	q "SELECT round(extract(epoch FROM ('$_at UTC'::timestamptz - expires_at)) * 1000) FROM governance.leases WHERE lease_id = '$1'"
}
# LIMIT: what counts as on time.  Polling every 2 s would put the cancel
# 0-2000 ms after the expiry, uniformly: all of 5 trials within LIMIT by
# chance has probability (LIMIT / 2000)^5, 0.1% for 500 ms, which leaves
# room for a machine at load 20 (its scheduling delays: 150-300 ms seen).
LIMIT=500
# SEAL_LIMIT: what counts as sealed on commit, on the server's clock: a
# twelfth of the sealer's 60 s round, room for a loaded machine.
SEAL_LIMIT=5000

# ---------------------------------------------------------------------
# expiry: cancelled when it happens, not at the enforcer's next round
# ---------------------------------------------------------------------
worst=0
fails=0
for t in 1 2 3 4 5; do
	# a TTL that puts the expiry at a different phase of the 2 s round
	l=$(authorize 1 "$((2000 + t * 370)) milliseconds"); lid=${l%%|*}; art=${l#*|}
	sleeper "$art" "$W/expire$t.out"
	wait $SLEEPER
	d=$(lag "$lid")
	echo "# trial $t: cancelled $d ms after the lease expired"
	grep -q "canceling statement: governance lease $lid expired" "$W/expire$t.out" || fails=$((fails + 1))
	[ "$d" -ge -5 ] && [ "$d" -lt $LIMIT ] || fails=$((fails + 1))
	[ "$d" -gt "$worst" ] && worst=$d
done
gov_is 0 "$fails" "five expiries each cancel their statement within $LIMIT ms (worst $worst ms; the enforcer's round is 2 s)"

# two sessions: the later expiry is not forgotten once the earlier one fired
l=$(authorize 1 '2500 milliseconds'); lid1=${l%%|*}; art1=${l#*|}
l=$(authorize 2 '3300 milliseconds'); lid2=${l%%|*}; art2=${l#*|}
sleeper "$art1" "$W/two1.out"; p1=$SLEEPER
sleeper "$art2" "$W/two2.out"; p2=$SLEEPER
wait $p1; d1=$(lag "$lid1")
wait $p2; d2=$(lag "$lid2")
echo "# two leases: cancelled $d1 ms and $d2 ms after their expiries"
[ "$d1" -ge -5 ] && [ "$d1" -lt $LIMIT ] && [ "$d2" -ge -5 ] && [ "$d2" -lt $LIMIT ]
gov_ok $? "two attached leases expiring 0.8 s apart: each statement cancelled on time ($d1 ms, $d2 ms)"
gov_like "lease $lid2 expired" "$(cat "$W/two2.out")" "the second names its own lease"

# an already-attached later lease, then an earlier one attached afterwards
l=$(authorize 1 '20 seconds'); lidl=${l%%|*}; artl=${l#*|}
sleeper "$artl" "$W/late.out"; pl=$SLEEPER
wait_sleeping 1 >/dev/null
sleep 2.2		# the enforcer has planned its sleep on the 20 s lease (capped by its round)
l=$(authorize 2 '1200 milliseconds'); lide=${l%%|*}; arte=${l#*|}
sleeper "$arte" "$W/early.out"
wait $SLEEPER; de=$(lag "$lide")
[ "$de" -ge -5 ] && [ "$de" -lt $LIMIT ]
gov_ok $? "a lease attached after the enforcer went to sleep wakes it for its expiry ($de ms)"
gov_is "1" "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'wk_bot' AND query = 'SELECT pg_sleep(30)'")" \
	"the session under the later lease still runs"
q "SELECT governance.revoke('$lidl', 'done')" >/dev/null
wait $pl

# ---------------------------------------------------------------------
# fresh seals: a commit wakes the sealer (batched)
# ---------------------------------------------------------------------
q "SELECT governance.seal()" >/dev/null
b0=$(q "SELECT coalesce(max(block_id), 0) FROM governance.ledger_blocks")
s=$(q "SELECT governance.record('test.wake', '{}')")
gov_wait "$C" "SELECT EXISTS (SELECT FROM governance.ledger_blocks WHERE last_seq >= $s)" 20
# the lag on the server's clock (commit timestamps of the row and of its
# block), not the client's polling: psql processes started every 0.2 s on a
# loaded machine would add seconds.  The bound is far below the sealer's
# 60 s round, so only the wake-up on commit explains a pass; the target
# itself (p99 <= 250 ms) is make bench's (docs/BENCHMARKS.md).
lag1=$(q "SELECT round(extract(epoch FROM pg_xact_commit_timestamp(b.xmin) - pg_xact_commit_timestamp(l.xmin)) * 1000)
          FROM governance.ledger l JOIN governance.ledger_blocks b ON l.seq BETWEEN b.first_seq AND b.last_seq
         WHERE l.seq = $s")
[ -n "$lag1" ] || echo "# row $s: blocks $(q "SELECT string_agg(format('%s:%s-%s xmin %s ts %s', block_id, first_seq, last_seq, xmin, pg_xact_commit_timestamp(xmin)), ', ') FROM governance.ledger_blocks WHERE block_id > $b0"); row: $(q "SELECT format('xmin %s ts %s', xmin, pg_xact_commit_timestamp(xmin)) FROM governance.ledger WHERE seq = $s")"
[ -n "$lag1" ] && [ "$lag1" -lt $SEAL_LIMIT ]
gov_ok $? "a committed row is sealed soon after its commit (${lag1:-never} ms, bound $SEAL_LIMIT ms; the sealer's round is 60 s)"

# a burst of 400 single-row commits over about 2 s: few blocks, all sealed soon
s0=$(q "SELECT max(seq) FROM governance.ledger")
for i in $(seq 1 400); do echo "SELECT governance.record('test.burst', '{}');"; done |
	gov_psql "$C" >/dev/null
s1=$(q "SELECT max(seq) FROM governance.ledger")
gov_wait "$C" "SELECT EXISTS (SELECT FROM governance.ledger_blocks WHERE last_seq >= $s1)" 10
gov_ok $? "the burst is sealed"
nb=$(q "SELECT count(*) FROM governance.ledger_blocks WHERE last_seq > $s0")
lagp=$(q "SELECT round(max(extract(epoch FROM pg_xact_commit_timestamp(b.xmin) - pg_xact_commit_timestamp(l.xmin)) * 1000))
          FROM governance.ledger l JOIN governance.ledger_blocks b ON l.seq BETWEEN b.first_seq AND b.last_seq
         WHERE l.seq > $s0 AND l.seq <= $s1")
echo "# 400 commits went into $nb blocks; the worst commit-to-sealed lag was $lagp ms"
[ "$nb" -ge 1 ] && [ "$nb" -lt 100 ]
gov_ok $? "400 commits make fewer than 100 blocks ($nb; a block per commit would be 400)"
[ -n "$lagp" ] && [ "$lagp" -lt $SEAL_LIMIT ]
gov_ok $? "and every one of them was sealed soon after its commit ($lagp ms, bound $SEAL_LIMIT ms)"

# a rolled-back append: nothing to seal, no block for it.  Its abort wakes
# the sealer (rows committed after its seq may wait behind it), which then
# seals what the workers committed meanwhile, if anything, but makes no
# empty block for the aborted seq
b1=$(q "SELECT coalesce(max(block_id), 0) FROM governance.ledger_blocks")
q "BEGIN; SELECT governance.record('test.rollback', '{}'); ROLLBACK;" >/dev/null
sleep 0.5
gov_is "0" "$(q "SELECT count(*) FROM governance.ledger_blocks WHERE block_id > $b1 AND row_count = 0")" \
	"a rolled-back append makes no block (no empty block after it)"
gov_is "0" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'test.rollback'")" "and leaves no row"

# a row committed behind a pending append that then aborts: the sealer
# cannot seal past the pending seq, and the abort must wake it (nobody else
# would until its 60 s round)
gov_psql "$C" -c "BEGIN" -c "SELECT governance.record('test.held', '{}')" -c "SELECT pg_sleep(1.5)" -c "ROLLBACK" >/dev/null 2>&1 &
HELD=$!
gov_wait "$C" "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(1.5)')" 10
s2=$(q "SELECT governance.record('test.behind', '{}')")
sleep 0.5
gov_is "f" "$(q "SELECT EXISTS (SELECT FROM governance.ledger_blocks WHERE last_seq >= $s2)")" \
	"a row committed behind a pending append waits for it"
wait $HELD
gov_wait "$C" "SELECT EXISTS (SELECT FROM governance.ledger_blocks WHERE last_seq >= $s2)" 10
gov_ok $? "once the pending append rolls back, the row behind it is sealed at once (the abort wakes the sealer)"

# governance.seal_delay is reloadable and bounded
q "ALTER SYSTEM SET governance.seal_delay = '-1'" >/dev/null 2>&1
gov_ok $((1 - $?)) "a negative governance.seal_delay is refused"
gov_is "200ms" "$(q "SHOW governance.seal_delay")" "governance.seal_delay is shown with its unit"

gov_stop "$C"
! grep -E "PANIC|terminated by signal|server process .* was terminated" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log"
