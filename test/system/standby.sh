#!/bin/sh
# D8, D12: the ledger on a hot standby.  A standby made with pg_basebackup
# starts the workers, keeps the sealer idle, logs no errors, verifies the
# replicated ledger (and sees tampering done on the primary), and refuses
# to seal or append with a clear read-only error.  After promotion, rows
# the old primary left unsealed and new rows are sealed by the new
# primary's sealer, its blocks continue the chain, and everything verifies,
# the old primary's checkpoint included.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
P="$W/primary"
S="$W/standby"
trap 'gov_stop "$S"; gov_stop "$P"' EXIT

# The primary seals only when asked, so that rows are still unsealed when
# the standby is promoted, and verifies once at start, so that tampering
# later is seen by the standby's verifier alone.
gov_new_cluster "$P" "governance.seal_interval = '1h'" "governance.seal_delay = '1h'" "governance.verify_interval = '1h'" || exit 1
gov_start "$P" || exit 1
gov_sql "$P" "CREATE EXTENSION governance" >/dev/null || exit 1
# the sealer's first round comes when it sees the extension; after it, the
# sealer sleeps for governance.seal_interval (and seal_delay keeps commits
# from waking it sooner)
gov_wait "$P" "SELECT state = 'idle' FROM governance.workers WHERE name = 'sealer'" 20
gov_ok $? "primary: the sealer did its first round"
gov_psql "$P" >/dev/null <<'EOF' || { echo "not ok - primary ledger built"; exit 1; }
SELECT governance.record('tool.call', jsonb_build_object('i', i)) FROM generate_series(1, 100) i;
BEGIN;
SELECT governance.record('tool.call', '{"rolled": "back"}') FROM generate_series(1, 3);
ROLLBACK;
SELECT governance.record('outcome', jsonb_build_object('i', i)) FROM generate_series(1, 50) i;
SELECT governance.seal();
SELECT governance.record('tool.call', jsonb_build_object('i', i, 'unsealed', true)) FROM generate_series(1, 30) i;
EOF
CPJ=$(gov_sql "$P" "SELECT governance.checkpoint()")
gov_like '"block_id": 1' "$CPJ" "primary: a sealed block, a checkpoint kept outside and 30 unsealed rows"

# ---------------------------------------------------------------------
# The standby
# ---------------------------------------------------------------------
mkdir -p "$S"
[ -n "$GOV_RUNAS" ] && chown postgres: "$S"
chmod 700 "$S"
$GOV_RUNAS "$PGBIN/pg_basebackup" -D "$S/data" -h "$P" -p 5432 -U "$GOV_DBUSER" -R -X stream -c fast \
	>"$S/basebackup.log" 2>&1
gov_ok $? "pg_basebackup -R made a standby$( [ -s "$S/basebackup.log" ] && echo ": $(head -n 2 "$S/basebackup.log")")"
grep -Eq "host=('')?$P('')? " "$S/data/postgresql.auto.conf"; gov_ok $? "its primary_conninfo names the primary's socket directory"
gov_conf "$S" "unix_socket_directories = '$S'"
gov_conf "$S" "governance.seal_interval = '100ms'"
gov_conf "$S" "governance.verify_interval = '200ms'"
gov_start "$S"; gov_ok $? "the standby starts"

caught_up() {	# the standby replayed everything the primary wrote so far
	_lsn=$(gov_sql "$P" "SELECT pg_current_wal_lsn()")
	gov_wait "$S" "SELECT pg_last_wal_replay_lsn() >= '$_lsn'" 60
}
gov_is "t" "$(gov_sql "$S" "SELECT pg_is_in_recovery()")" "the standby is in recovery (hot standby)"
caught_up; gov_ok $? "the standby has replayed the primary's ledger"

gov_wait "$S" "SELECT count(*) = 3 FROM governance.workers WHERE pid IS NOT NULL" 30
gov_ok $? "standby: enforcer, sealer and verifier are running"
gov_wait "$S" "SELECT state = 'standby (idle until promotion)' FROM governance.workers WHERE name = 'sealer'" 30
gov_ok $? "standby: the sealer is idle until promotion"
loops=$(gov_sql "$S" "SELECT loops FROM governance.workers WHERE name = 'verifier'")
gov_wait "$S" "SELECT loops >= $loops + 5 FROM governance.workers WHERE name = 'verifier'" 30
gov_ok $? "standby: the verifier goes round"
gov_is "0" "$(gov_sql "$S" "SELECT count(*) FROM governance.ledger_blocks WHERE block_id > 1")" \
	"standby: nothing was sealed on the standby"

rows=$(gov_sql "$P" "SELECT count(*) FROM governance.ledger")
gov_is "t|$rows|1||" "$(gov_sql "$S" "SELECT * FROM governance.verify_ledger()")" \
	"standby: verify_ledger() is ok on the replicated ledger ($rows rows, 1 block)"
# Trust on a standby may be degraded for a standby's own reason (it issues
# no leases), never because verification failed.
st=$(gov_sql "$S" "SELECT governance.trust_state()")
echo "# standby: trust_state() says: $st"
gov_like '^(trusted|degraded: this server is a hot standby.*)$' "$st" "standby: trust_state() reports no verification failure"
gov_is "$CPJ" "$(gov_sql "$S" "SELECT governance.checkpoint()")" "standby: checkpoint() is the primary's"
gov_is "t|" "$(gov_sql "$S" "SELECT * FROM governance.verify_checkpoint('$CPJ')")" "standby: verify_checkpoint() ok"

! grep -E "ERROR|FATAL|PANIC" "$S/server.log" >"$W/standby-errors.log"
gov_ok $? "standby: no ERROR in the server log$( [ -s "$W/standby-errors.log" ] && echo ": $(head -n 3 "$W/standby-errors.log")")"

refused() {	# refused WHAT SQL: fails with SQLSTATE 25006 and says why
	_out=$(gov_psql "$S" -v VERBOSITY=verbose -c "$2" 2>&1)
	gov_like "ERROR: +25006: cannot .*(during recovery|read-only)" "$_out" "standby: $1 is refused with a read-only error"
}
refused "seal()" "SELECT governance.seal()"
refused "record()" "SELECT governance.record('tool.call', '{}')"
refused "restore_trust()" "SELECT governance.restore_trust('on a standby')"
gov_is "$rows" "$(gov_sql "$S" "SELECT count(*) FROM governance.ledger")" "standby: nothing was appended"

# New rows and blocks on the primary reach the standby and verify there.
gov_sql "$P" "SELECT governance.record('tool.call', jsonb_build_object('i', i, 'round', 2)) FROM generate_series(1, 20) i" >/dev/null
gov_sql "$P" "SELECT governance.seal()" >/dev/null
caught_up
rows=$(gov_sql "$P" "SELECT count(*) FROM governance.ledger")
gov_is "t|$rows|2||" "$(gov_sql "$S" "SELECT * FROM governance.verify_ledger()")" \
	"standby: a new block from the primary verifies on the standby"

# Tampering on the primary is found by an auditor on the standby.
TSEQ=$(gov_sql "$P" "SELECT max(seq) FROM governance.ledger WHERE kind = 'outcome'")
orig=$(gov_sql "$P" "SELECT payload FROM governance.ledger WHERE seq = $TSEQ")
gov_psql "$P" -c "$GOV_GUARDS_OFF" -c "UPDATE governance.ledger SET payload = '{\"i\": 0}' WHERE seq = $TSEQ" >/dev/null
caught_up
gov_like "^f\|$TSEQ\|modified row $TSEQ" "$(gov_sql "$S" "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")" \
	"standby: verify_ledger() finds a row modified on the primary"
gov_wait "$S" "SELECT governance.trust_state() LIKE 'degraded: ledger verification failed: modified row $TSEQ%'" 30
gov_ok $? "standby: the standby's own verifier finds it and degrades trust there"
gov_psql "$P" -c "UPDATE governance.ledger SET payload = '$orig' WHERE seq = $TSEQ" >/dev/null
caught_up
gov_is "t" "$(gov_sql "$S" "SELECT ok FROM governance.verify_ledger()")" "standby: and ok again once it is undone"

# ---------------------------------------------------------------------
# Failover
# ---------------------------------------------------------------------
gov_sql "$P" "SELECT governance.record('tool.call', jsonb_build_object('i', i, 'before', 'failover')) FROM generate_series(1, 15) i" >/dev/null
caught_up
last=$(gov_sql "$P" "SELECT max(seq) FROM governance.ledger")
old_blocks=$(gov_sql "$P" "SELECT max(block_id) FROM governance.ledger_blocks")
unsealed=$(gov_sql "$P" "SELECT count(*) FROM governance.ledger WHERE seq > (SELECT max(last_seq) FROM governance.ledger_blocks)")
gov_stop "$P"
echo "# primary stopped with $unsealed rows unsealed, last seq $last, $old_blocks blocks"
gov_is "$last" "$(gov_sql "$S" "SELECT max(seq) FROM governance.ledger")" "every row of the old primary reached the standby"

$GOV_RUNAS "$PGBIN/pg_ctl" -D "$S/data" -w -t 60 promote >/dev/null
gov_ok $? "the standby is promoted"
gov_wait "$S" "SELECT NOT pg_is_in_recovery()" 30; gov_ok $? "promoted: out of recovery"
gov_wait "$S" "SELECT state IN ('idle', 'running') FROM governance.workers WHERE name = 'sealer'" 30
gov_ok $? "promoted: the sealer leaves its standby state"
gov_wait "$S" "SELECT coalesce(max(last_seq), 0) >= $last FROM governance.ledger_blocks" 30
gov_ok $? "promoted: the sealer seals the rows the old primary left unsealed"

new=$(gov_sql "$S" "SELECT governance.record('after.failover', '{\"ok\": true}')" 2>&1)
gov_like '^[0-9]+$' "$new" "promoted: record() works"
gov_wait "$S" "SELECT EXISTS (SELECT 1 FROM governance.ledger_blocks WHERE $new BETWEEN first_seq AND last_seq)" 30
gov_ok $? "promoted: the sealer seals new rows"

gov_is "t" "$(gov_sql "$S" "SELECT n.prev_hash = o.block_hash AND n.first_seq = o.last_seq + 1 AND n.key_id = o.key_id
    FROM governance.ledger_blocks o JOIN governance.ledger_blocks n ON n.block_id = o.block_id + 1
    WHERE o.block_id = $old_blocks")" \
	"promoted: the first new block continues the old primary's chain, signed by the same key"
rows=$(gov_sql "$S" "SELECT count(*) FROM governance.ledger")
blocks=$(gov_sql "$S" "SELECT count(*) FROM governance.ledger_blocks")
[ "$blocks" -gt "$old_blocks" ]; gov_ok $? "promoted: new blocks ($blocks blocks now, $old_blocks before)"
gov_is "t|$rows|$blocks||" "$(gov_sql "$S" "SELECT * FROM governance.verify_ledger()")" \
	"promoted: verify_ledger() ok over old and new blocks"
gov_is "t|" "$(gov_sql "$S" "SELECT * FROM governance.verify_checkpoint('$CPJ')")" \
	"promoted: the old primary's checkpoint still verifies"
gov_like '^t\|' "$(gov_sql "$S" "SELECT ok, problem FROM governance.verify_ledger('$CPJ'::jsonb)")" \
	"promoted: verify_ledger(old checkpoint) ok for everything after it"
# The degradation the standby's verifier latched stays after promotion
# (only restore_trust() clears it), and D7 wants every degradation in the
# ledger: the standby could not write it, the promoted server must.
gov_like "^degraded: ledger verification failed: modified row $TSEQ" "$(gov_sql "$S" "SELECT governance.trust_state()")" \
	"promoted: the degradation seen as a standby is still in force"
gov_wait "$S" "SELECT count(*) = 1 FROM governance.ledger WHERE kind = 'governance.trust.degraded'
                 AND payload->>'reason' LIKE 'ledger verification failed: modified row $TSEQ%'" 10
gov_ok $? "promoted: the degradation seen as a standby is ledgered"
gov_sql "$S" "SELECT governance.restore_trust('standby.sh: tampering undone on the old primary')" >/dev/null
loops=$(gov_sql "$S" "SELECT loops FROM governance.workers WHERE name = 'verifier'")
gov_wait "$S" "SELECT loops >= $loops + 5 FROM governance.workers WHERE name = 'verifier'" 30
gov_is "trusted" "$(gov_sql "$S" "SELECT governance.trust_state()")" "promoted: trusted after restore_trust(), the ledger being intact"

gov_stop "$S"
grep -E "ERROR|PANIC" "$S/server.log" | grep -Ev "cannot (seal the ledger|append to the governance ledger) during recovery" \
	| grep -v "STATEMENT" >"$W/standby-errors.log"
[ ! -s "$W/standby-errors.log" ]
gov_ok $? "no ERROR in the standby's log except the refusals asked for$( [ -s "$W/standby-errors.log" ] && echo ": $(head -n 3 "$W/standby-errors.log")")"
