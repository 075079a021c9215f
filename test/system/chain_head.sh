#!/bin/sh
# The chain head cache (src/ledger.c, "The chain head cache"): an append
# to a lease's chain takes the head (seq, link of the newest committed row)
# from the shared lease entry instead of the ledger.  Each way that head
# could be stale is tried, and after each the chain must still be exact:
# every row of the lease names the row of the lease just before it
# (prev_seq), no rolled-back row is in it, and, once sealed,
# verify_ledger() recomputes every link.  The ways: a savepoint rolled back
# after an append (with and without an earlier append of the transaction,
# nested, released), a transaction that appended and aborted (ROLLBACK, an
# error) followed by an append from another backend, an appender waiting
# on the chain lock of one that then commits or aborts, a backend killed
# with -9 (shared memory rebuilt), a restart, and many concurrent appenders
# on one lease.  Last, authorize()'s other per-backend caches: the lease
# table's CHECK constraints compiled once (a constraint added or dropped
# by DDL must take effect in a backend that compiled them before) and lease
# ids from a buffered random source.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/chainhead"

cleanup() { gov_stop "$C"; }
trap cleanup EXIT

gov_new_cluster "$C" "governance.seal_interval = '200ms'" || exit 1
gov_start "$C" || exit 1

{
	gov_agents_sql ch bot
	echo "SELECT governance.create_policy('ch_p', 'permit (principal, action, resource);');"
} | gov_psql "$C" >/dev/null || exit 1
gov_wait_trusted "$C" 30
gov_ok $? "set-up: the cluster is trusted"

lease=$(bq ch_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"ch-bot\"', 'ch.run', 'Doc::\"1\"', '{}', '1 hour')")
L=${lease%%|*}
ART=${lease#*|}
[ -n "$L" ] && [ -n "$ART" ]
gov_ok $? "set-up: a lease"

# as the agent, the lease attached for the transaction, then SQL
agent() { bq ch_bot "BEGIN; SELECT governance.attach('$ART') IS NULL; $1" | sed '1d'; }

# chain_bad: rows of the lease whose prev_seq is not the lease's row before
chain_bad() {
	q "SELECT count(*) FROM (SELECT prev_seq, lag(seq) OVER (ORDER BY seq) AS before
	                           FROM governance.ledger WHERE lease_id = '$L') t
	    WHERE before IS NOT NULL AND prev_seq IS DISTINCT FROM before"
}
head_seq() { q "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$L'"; }
prev_of() { q "SELECT coalesce(prev_seq::text, 'none') FROM governance.ledger WHERE seq = $1"; }
gone() { q "SELECT count(*) FROM governance.ledger WHERE payload->>'gone' = 'yes'"; }
verified() {	# seal what there is, then verify every row and block
	q "SELECT governance.seal()" >/dev/null 2>&1
	gov_is "t|$(q "SELECT count(*) FROM governance.ledger")|$(q "SELECT count(*) FROM governance.ledger_blocks")||" \
		"$(q "SELECT * FROM governance.verify_ledger()")" "$1: verify_ledger() ok over every row and block"
}

s1=$(agent "SELECT governance.record('ch.step', '{\"n\": 1}'); COMMIT;")
gov_like '^[0-9]+$' "$s1" "an agent appends under its lease"
s2=$(agent "SELECT governance.record('ch.step', '{\"n\": 2}'); COMMIT;")
gov_is "$s1" "$(prev_of "$s2")" "the second append links to the first (the head from authorize's commit on)"

# --- savepoints -------------------------------------------------------
h=$(head_seq)
s=$(agent "SAVEPOINT a; SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); ROLLBACK TO a;
	SELECT governance.record('ch.step', '{\"n\": 3}'); COMMIT;" | tail -n 1)
gov_is "$h" "$(prev_of "$s")" "savepoint rolled back after the transaction's first append: the next links to the committed head"

s=$(agent "SELECT governance.record('ch.step', '{\"n\": 4}');
	SAVEPOINT a; SELECT governance.record('ch.x', '{\"gone\": \"yes\"}');
	SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); ROLLBACK TO a;
	SELECT governance.record('ch.step', '{\"n\": 5}'); COMMIT;")
first=$(echo "$s" | head -n 1)
last=$(echo "$s" | tail -n 1)
gov_is "$first" "$(prev_of "$last")" "savepoint rolled back after an earlier append of the transaction: the next links to that append"

s=$(agent "SAVEPOINT a; SELECT governance.record('ch.step', '{\"n\": 6}');
	SAVEPOINT b; SELECT governance.record('ch.step', '{\"n\": 7}'); RELEASE b;
	SELECT governance.record('ch.step', '{\"n\": 8}'); RELEASE a;
	SELECT governance.record('ch.step', '{\"n\": 9}'); COMMIT;")
gov_is "$(echo "$s" | sed -n 3p)" "$(prev_of "$(echo "$s" | sed -n 4p)")" "released savepoints hand their head to the parent"
gov_is "$(echo "$s" | sed -n 2p)" "$(prev_of "$(echo "$s" | sed -n 3p)")" "a nested released savepoint's head is the next append's predecessor"

h=$(head_seq)
s=$(agent "SAVEPOINT a; SELECT governance.record('ch.x', '{\"gone\": \"yes\"}');
	SAVEPOINT b; SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); RELEASE b;
	ROLLBACK TO a; SELECT governance.record('ch.step', '{\"n\": 10}'); COMMIT;" | tail -n 1)
gov_is "$h" "$(prev_of "$s")" "a released savepoint inside one rolled back: its appends are dropped too"

# --- aborted transactions, then another backend ---------------------------
h=$(head_seq)
agent "SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); ROLLBACK;" >/dev/null
agent "SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); SELECT 1/0; COMMIT;" >/dev/null 2>&1
s=$(agent "SELECT governance.record('ch.step', '{\"n\": 11}'); COMMIT;")
gov_is "$h" "$(prev_of "$s")" "after a ROLLBACK and an error in other backends' transactions, an append links to the committed head"

s=$(bq ch_bot "BEGIN; SELECT governance.attach('$ART') IS NULL;
	SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); SELECT pg_terminate_backend(pg_backend_pid());" 2>/dev/null)
s=$(agent "SELECT governance.record('ch.step', '{\"n\": 12}'); COMMIT;")
gov_is "$(q "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$L' AND seq < $s")" "$(prev_of "$s")" \
	"after a backend that appended was terminated, an append links to the committed head"

# --- an appender waiting on the chain lock --------------------------------
for end in COMMIT ROLLBACK; do
	h=$(head_seq)
	g=no; [ $end = ROLLBACK ] && g=yes
	agent "SELECT governance.record('ch.hold', '{\"gone\": \"$g\"}'); SELECT pg_sleep(1.5); $end;" >"$W/hold.out" 2>&1 &
	holder=$!
	sleep 0.5
	s=$(agent "SELECT governance.record('ch.step', '{\"after\": \"$end\"}'); COMMIT;")
	wait $holder
	if [ $end = COMMIT ]; then want=$(head -n 1 "$W/hold.out"); else want=$h; fi
	gov_is "$want" "$(prev_of "$s")" "an append that waited on the chain lock of one that ended with $end links to the committed head"
done

gov_is 0 "$(gone)" "no rolled-back append is in the ledger"
gov_is 0 "$(chain_bad)" "every row of the lease links to the row before it"
verified "after savepoints and aborts"

# --- shared memory rebuilt -----------------------------------------------
h=$(head_seq)
bq ch_bot "SELECT pg_sleep(60) /* victim */" >/dev/null 2>&1 &
victim=$!
gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%/* victim */'" 20
kill -9 "$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE '%/* victim */' AND pid <> pg_backend_pid()")"
wait $victim
sleep 1
gov_wait_up "$C" 60 && gov_wait_trusted "$C" 60
gov_ok $? "crash restart: a process killed with -9, the server reinitialised shared memory and is trusted again"
s=$(agent "SELECT governance.record('ch.step', '{\"n\": \"crash\"}'); COMMIT;")
gov_is "$h" "$(prev_of "$s")" "after the crash restart an append links to the committed head"

gov_stop "$C"
gov_start "$C" || exit 1
gov_wait_trusted "$C" 60
h=$(head_seq)
s=$(agent "SELECT governance.record('ch.step', '{\"n\": \"restart\"}'); COMMIT;")
gov_is "$h" "$(prev_of "$s")" "after a restart an append links to the committed head"
s2=$(agent "SELECT governance.record('ch.step', '{\"n\": \"restart2\"}'); COMMIT;")
gov_is "$s" "$(prev_of "$s2")" "and the next one to that append"

# --- many appenders on one chain -----------------------------------------
n0=$(q "SELECT count(*) FROM governance.ledger WHERE lease_id = '$L'")
for c in 1 2 3 4 5 6; do
	(
		i=0
		while [ $i -lt 25 ]; do
			i=$((i + 1))
			if [ $((i % 5)) = 0 ]; then
				echo "BEGIN; SELECT governance.attach('$ART') IS NULL; SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); ROLLBACK;"
			elif [ $((i % 7)) = 0 ]; then
				echo "BEGIN; SELECT governance.attach('$ART') IS NULL; SAVEPOINT a; SELECT governance.record('ch.x', '{\"gone\": \"yes\"}'); ROLLBACK TO a; SELECT governance.record('ch.c', '{\"c\": $c}'); COMMIT;"
			else
				echo "BEGIN; SELECT governance.attach('$ART') IS NULL; SELECT governance.record('ch.c', '{\"c\": $c}'); COMMIT;"
			fi
		done | "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$C" -p 5432 -U ch_bot -d "${GOV_DB:-postgres}" >/dev/null 2>"$W/many.$c.err"
	) &
done
wait
gov_is "$((n0 + 6 * 20))" "$(q "SELECT count(*) FROM governance.ledger WHERE lease_id = '$L'")" \
	"six concurrent appenders on one lease: every committed append is in the chain"
gov_is 0 "$(gone)" "and no rolled-back one"
gov_is 0 "$(chain_bad)" "every row of the lease still links to the row before it"
verified "after concurrent appends, a crash and a restart"

# --- the lease table's CHECK constraints, compiled once per backend ----------
# (src/rowio.c, the check cache): one session authorizes, a constraint is
# added (NOT VALID: it still holds for new rows), the same session must be
# refused, and once it is dropped, allowed again.
out=$(gov_psql "$C" -At 2>&1 <<'SQL'
ALTER EVENT TRIGGER governance_guard_end DISABLE;
ALTER EVENT TRIGGER governance_guard_drop DISABLE;
ALTER EVENT TRIGGER governance_guard_start DISABLE;
\set ON_ERROR_STOP 0
SELECT 'before ' || (lease_id IS NOT NULL) FROM governance.authorize('Agent::"ch-bot"', 'ch.run', 'Doc::"2"', '{}', '1 hour');
ALTER TABLE governance.leases ADD CONSTRAINT no_doc2 CHECK (resource <> 'Doc::"2"') NOT VALID;
SELECT 'added ' || (lease_id IS NOT NULL) FROM governance.authorize('Agent::"ch-bot"', 'ch.run', 'Doc::"2"', '{}', '1 hour');
SELECT 'other ' || (lease_id IS NOT NULL) FROM governance.authorize('Agent::"ch-bot"', 'ch.run', 'Doc::"3"', '{}', '1 hour');
ALTER TABLE governance.leases DROP CONSTRAINT no_doc2;
SELECT 'dropped ' || (lease_id IS NOT NULL) FROM governance.authorize('Agent::"ch-bot"', 'ch.run', 'Doc::"2"', '{}', '1 hour');
ALTER EVENT TRIGGER governance_guard_end ENABLE ALWAYS;
ALTER EVENT TRIGGER governance_guard_drop ENABLE ALWAYS;
ALTER EVENT TRIGGER governance_guard_start ENABLE ALWAYS;
SQL
)
gov_like '^before true$' "$(echo "$out" | grep '^before')" "check cache: authorize() writes its lease row"
gov_like 'violates check constraint "no_doc2"' "$out" "check cache: a constraint added meanwhile refuses the same backend's next lease row"
gov_is "other true" "$(echo "$out" | grep '^other')" "check cache: and lets a row it allows through"
gov_is "dropped true" "$(echo "$out" | grep '^dropped')" "check cache: once dropped, the row is written again"
gov_is "$(q "SELECT count(*) FROM governance.leases")" "$(q "SELECT count(DISTINCT lease_id) FROM governance.leases")" \
	"lease ids from the buffered random source are distinct"
