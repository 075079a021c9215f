#!/bin/sh
# No security event is lost (issue 9 item 7).  Refused writes and attaches
# are queued by the failing transaction and ledgered by the enforcer: in
# shared memory (256 slots), then in a spool file under the data directory
# (src/events.c).
#  1. The enforcer is stopped (SIGSTOP) while 1500 refused writes are
#     queued, far more than shared memory holds; once it resumes every one
#     of them is ledgered, once, in order.
#  2. The same, then the server is killed (-9): what was spooled is
#     ledgered after the restart, once.
#  3. An agent keeps a transaction open on its lease's chain: other
#     agents' events are ledgered at once, and the agent's own (a refused
#     attach of its lease) within the bound (1 s), unchained.
#  4. The one way to lose events, a spool that cannot be written, fails
#     closed: trust is degraded (and that is ledgered) and the loss counted.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/ledger.sh"
W=$(gov_tmpdir)
C="$W/events"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" "governance.enforcer_max_silence = '2s'" \
	"governance.verify_interval = '500ms'" || exit 1
gov_start "$C" || exit 1

q() { gov_sql "$C" "$1"; }
bq() { gov_sql_as "$C" "$1" "$2"; }
must() { [ "$1" -eq 0 ] || { echo "not ok - $2"; exit 1; }; }
enforcer_pid() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'governance enforcer'"; }
# stop_enforcer: SIGSTOP the enforcer (E) while it naps between rounds,
# never in the middle of one, where it may hold a lock backends need
stop_enforcer() {
	E=$(enforcer_pid)
	for _ in $(seq 1 100); do
		kill -STOP "$E" || return 1
		[ "$(q "SELECT wait_event FROM pg_stat_activity WHERE pid = $E")" = "Extension" ] && return 0
		kill -CONT "$E"
		sleep 0.03
	done
	return 1
}
SPOOL="$C/data/pg_governance/events.spool"

gov_psql "$C" >/dev/null <<'EOF' || { echo "not ok - setup"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION governance;
CREATE ROLE ev_bot LOGIN IN ROLE governance_agent;
CREATE ROLE ev_other LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"ev-bot"', 'ev_bot');
SELECT governance.register_agent('Agent::"ev-other"', 'ev_other');
SELECT governance.create_policy('ev', 'permit (principal, action, resource);');
CREATE TABLE ev_acct (id int PRIMARY KEY, account text);
SELECT governance.govern_table('ev_acct', 'ev', 'account');
-- n refused inserts (no lease is attached), resources Account::"<tag>-1".."<tag>-n"
CREATE FUNCTION refuse_writes(tag text, n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE refused int := 0;
BEGIN
    FOR i IN 1..n LOOP
        BEGIN
            INSERT INTO ev_acct VALUES (i, format('Account::"%s-%s"', tag, i));
        EXCEPTION WHEN insufficient_privilege THEN
            refused := refused + 1;
        END;
    END LOOP;
    RETURN refused;
END $$;
-- the refused-write events of a tag, by the number in their resource
CREATE VIEW ev_refused AS
    SELECT seq, substring(payload->>'detail' FROM 'Account::"([a-z]+)-[0-9]+"$') AS tag,
           substring(payload->>'detail' FROM 'Account::"[a-z]+-([0-9]+)"$')::int AS i
      FROM governance.ledger WHERE kind = 'governance.write.refused';
EOF
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 20
gov_ok $? "the cluster is trusted (enforcer running)"

# ---- 1. overflow ------------------------------------------------------
N=1500
stop_enforcer
must $? "stop the enforcer"
gov_is "$N" "$(q "SELECT refuse_writes('ov', $N)")" "with the enforcer stopped, $N writes are refused"
[ -s "$SPOOL" ]
gov_ok $? "what shared memory could not hold is in the spool ($(stat -c %s "$SPOOL" 2>/dev/null) bytes)"
kill -CONT "$E"
t0=$(date +%s%N)
gov_wait "$C" "SELECT count(*) >= $N FROM ev_refused WHERE tag = 'ov'" 60
rc=$?
t1=$(date +%s%N)
gov_ok $rc "the resumed enforcer ledgers them ($(( (t1 - t0) / 1000000 )) ms)"
sleep 0.5
gov_is "$N|$N|1|$N" "$(q "SELECT count(*) || '|' || count(DISTINCT i) || '|' || min(i) || '|' || max(i) FROM ev_refused WHERE tag = 'ov'")" \
	"every one of the $N refused writes is ledgered exactly once"
gov_is "t" "$(q "SELECT bool_and(ordered) FROM (SELECT i > lag(i, 1, 0) OVER (ORDER BY seq) AS ordered FROM ev_refused WHERE tag = 'ov') x")" \
	"in the order they were refused"
gov_is "0" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.security.events_lost'")" \
	"nothing is counted as lost"
spool_size() { stat -c %s "$SPOOL" 2>/dev/null || echo none; }
i=0; while [ "$(spool_size)" != 16 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
gov_is "16" "$(spool_size)" "the drained spool starts over (just its header left)"
gov_is "5" "$(q "SELECT refuse_writes('after', 5)")" "later refusals ..."
gov_wait "$C" "SELECT count(*) = 5 FROM ev_refused WHERE tag = 'after'" 10
gov_ok $? "... go through shared memory again and are ledgered"
gov_is "16" "$(spool_size)" "without touching the spool"
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 20
gov_ok $? "trust comes back with the enforcer's heartbeat"

# ---- 2. a crash after spilling ----------------------------------------
N2=1000
stop_enforcer
must $? "stop the enforcer again"
gov_is "$N2" "$(q "SELECT refuse_writes('cr', $N2)")" "$N2 writes refused with the enforcer stopped"
PM=$(head -n 1 "$C/data/postmaster.pid")
kill -9 "$PM"
gov_wait_dead "$C" 20
gov_ok $? "the server is killed (-9), every process gone"
# a record torn by the crash (never acknowledged) is dropped at the start
printf 'GEV1\000\000\001\000torn' >>"$SPOOL"
gov_start "$C"
must $? "the server restarts"
gov_wait "$C" "SELECT count(*) >= $((N2 - 256)) FROM ev_refused WHERE tag = 'cr'" 60
gov_ok $? "after the restart the enforcer ledgers what was spooled"
sleep 0.5
gov_is "$((N2 - 256))|$((N2 - 256))|257|$N2" \
	"$(q "SELECT count(*) || '|' || count(DISTINCT i) || '|' || min(i) || '|' || max(i) FROM ev_refused WHERE tag = 'cr'")" \
	"each of the $((N2 - 256)) spooled events exactly once (the first 256 waited in shared memory, which the crash wiped: README)"
grep -q "ignoring an incomplete record at the end of \"pg_governance/events.spool\"" "$C/server.log"
gov_ok $? "a torn record at the end of the spool is reported and dropped"
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"

# ---- 3. a chain held open by an agent ---------------------------------
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 20
gov_ok $? "trusted again"
authorize() {	# as ev_bot: lease_id|artifact
	bq ev_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"ev-bot\"', 'tool.run', 'Tool::\"$1\"')"
}
A=$(authorize a) && B=$(authorize b) || { echo "not ok - authorize"; exit 1; }
A_ID=${A%%|*} A_ART=${A#*|}
B_ID=${B%%|*} B_ART=${B#*|}
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U ev_bot -d postgres >"$W/agent.out" 2>&1 <<EOF &
BEGIN;
SELECT governance.attach('$A_ART') IS NOT NULL;
SELECT governance.record('tool_call', '{"step": 1}') > 0;
\! sleep 8
COMMIT;
EOF
AGENT=$!
gov_wait "$C" "SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'ev_bot' AND state = 'idle in transaction'" 10
gov_ok $? "the agent sits in its transaction, holding lease A's chain"

# one session queues, within milliseconds: A's event first, then others
t0=$(date +%s%N)
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U "$GOV_DBUSER" -d postgres >"$W/other.out" 2>&1 <<EOF
SET ROLE ev_other;
SELECT governance.attach('$A_ART');
SELECT governance.attach('$B_ART');
RESET ROLE;
SELECT refuse_writes('bl', 3);
EOF
gov_like "artifact refused: role ev_other is not the role registered" "$(sed -n 1p "$W/other.out")" \
	"another role's attach of A is refused (an event for A's busy chain)"
gov_like "artifact refused" "$(sed -n 2p "$W/other.out")" "and of B (an event for B's chain, which is free)"
gov_is "3" "$(sed -n 3p "$W/other.out")" "and three writes (events of no chain)"
gov_wait "$C" "SELECT count(*) = 3 FROM ev_refused WHERE tag = 'bl'
               AND (SELECT count(*) = 1 FROM governance.ledger WHERE kind = 'governance.attach.refused' AND lease_id = '$B_ID')" 5
rc=$?
t1=$(date +%s%N)
gov_ok $rc "the events queued behind A's are ledgered (B's on its chain) ($(( (t1 - t0) / 1000000 )) ms)"
gov_is "1" "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'ev_bot' AND state = 'idle in transaction'")" \
	"while the agent still holds A's chain"
gov_wait "$C" "SELECT count(*) = 1 FROM governance.ledger WHERE kind = 'governance.attach.refused'
               AND lease_id IS NULL AND payload->>'lease_id' = '$A_ID' AND payload->>'chain_busy' = 'true'" 5
rc=$?
t2=$(date +%s%N)
ms=$(( (t2 - t0) / 1000000 ))
gov_ok $rc "A's own event is ledgered without waiting for the chain: no lease column, lease id and chain_busy in the payload (${ms} ms)"
[ "$ms" -lt 3000 ]
gov_ok $? "within the 1 s bound and a round or two (${ms} ms)"
gov_is "t" "$(q "SELECT greatest((SELECT max(seq) FROM ev_refused WHERE tag = 'bl'),
                                (SELECT seq FROM governance.ledger WHERE kind = 'governance.attach.refused' AND lease_id = '$B_ID'))
                      < (SELECT seq FROM governance.ledger WHERE payload->>'lease_id' = '$A_ID')")" \
	"the others went first: they were not held back for the bound, only A's was"
gov_is "1" "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'ev_bot' AND state = 'idle in transaction'")" \
	"A's was ledgered while the agent still held the chain"
wait "$AGENT"
gov_is "t
t" "$(cat "$W/agent.out")" "the agent's transaction commits its event on A's chain"
gov_is "1|0" "$(q "SELECT count(*) FILTER (WHERE kind = 'tool_call') || '|' || count(*) FILTER (WHERE kind = 'governance.attach.refused')
                   FROM governance.ledger WHERE lease_id = '$A_ID'")" \
	"A's chain holds the agent's event and not the refused attach (ledgered once, unchained)"
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "trust is still trusted"

# ---- 4. a spool that cannot be written -------------------------------
stop_enforcer
must $? "stop the enforcer"
mv "$C/data/pg_governance" "$W/pg_governance.saved" && touch "$C/data/pg_governance"
must $? "replace pg_governance/ by a file"
gov_is "300" "$(q "SELECT refuse_writes('full', 300)")" "300 writes refused: 256 fit in shared memory, 44 cannot be spooled"
kill -CONT "$E"
gov_wait "$C" "SELECT count(*) = 256 FROM ev_refused WHERE tag = 'full'" 20
gov_ok $? "the 256 in shared memory are ledgered"
gov_wait "$C" "SELECT count(*) = 1 FROM governance.ledger WHERE kind = 'governance.security.events_lost' AND payload->>'lost' = '44'" 10
gov_ok $? "the 44 lost are counted in the ledger"
gov_like "^degraded: a security event could not be recorded: could not open .*events.spool" "$(q "SELECT governance.trust_state()")" \
	"trust is degraded (fail closed)"
gov_wait "$C" "SELECT count(*) = 1 FROM governance.ledger WHERE kind = 'governance.trust.degraded'
               AND payload->>'reason' LIKE 'a security event could not be recorded%'" 10
gov_ok $? "and the degradation is ledgered"
rm -f "$C/data/pg_governance" && mv "$W/pg_governance.saved" "$C/data/pg_governance"
must $? "put pg_governance/ back"
q "SELECT governance.restore_trust('test: the spool is writable again')" >/dev/null
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 10
gov_ok $? "restore_trust() brings trust back"

gov_stop "$C"
! grep -E "PANIC|terminated by signal|server process .* was terminated" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log (besides the kill -9)"
