#!/bin/sh
# Fail closed (issue 5 item 9, D7): one test per cause of distrust.
#
#  A. The enforcer is not running (SIGSTOP; its heartbeat goes stale past
#     governance.enforcer_max_silence): trust_state() says so, authorize()
#     and delegate() deny with that reason, attach() refuses, and a session
#     already attached to a live lease sees is_authorized() false and no
#     rows; after SIGCONT trust comes back by itself and so does access.
#  C. The verifier finds the ledger tampered with (a superuser switches the
#     guards off and edits a sealed row): the same refusals; the
#     degradation is ledgered; trust stays degraded after the tampering is
#     undone until restore_trust() (admin only, ledgered) restores it.
#  D. A database other than governance.database, where no enforcer
#     watches: trust_state() degraded there, authorize() denies, attach()
#     refuses.
#  B. The signing key is unavailable (key file readable by others at
#     start): authorize() denies with that reason, attach() refuses,
#     restore_trust() cannot restore it; a good key and a restart do.
# Every degradation must itself be ledgered (governance.trust.degraded).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/failclosed"
EPID=""
SESSPID=""
cleanup() {
	[ -n "$EPID" ] && kill -CONT "$EPID" 2>/dev/null
	exec 3>&- 2>/dev/null
	[ -n "$SESSPID" ] && kill "$SESSPID" 2>/dev/null
	gov_stop "$C"
}
trap cleanup EXIT

gov_new_cluster "$C" "governance.enforcer_max_silence = '1s'" "governance.verify_interval = '200ms'" \
	"governance.unsealed_grace = '1h'" || exit 1
gov_start "$C" || exit 1

{ gov_agents_sql fc bot sub; cat <<'EOF'; gov_acct_sql SELECT fc_bot fc_sub; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
CREATE ROLE fc_admin LOGIN IN ROLE governance_admin;
SELECT governance.create_policy('fc', 'permit (principal in Group::"fc", action == Action::"acct.select", resource);');
EOF
gov_wait_trusted "$C" 20
gov_ok $? "the cluster starts trusted"

# authorize: as the bot, prints "decision|lease_id|artifact|first reason"
authorize() {
	bq fc_bot "SELECT decision || '|' || coalesce(lease_id::text, '') || '|' || coalesce(artifact, '') || '|' || reasons[1]
	           FROM governance.authorize('Agent::\"fc-bot\"', 'acct.select', 'Account::\"1\"')"
}
delegate() {	# delegate PARENT: as the bot, prints "decision|first reason"
	bq fc_bot "SELECT decision || '|' || reasons[1] FROM governance.delegate('$1', 'Agent::\"fc-sub\"', 'acct.select', 'Account::\"1\"')"
}
reason() { echo "$1" | cut -d'|' -f4-; }

# A persistent agent session, fed through a FIFO.  sess SQL prints its output.
mkfifo "$W/s.in"
"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U fc_bot -d postgres <"$W/s.in" >"$W/s.out" 2>&1 &
SESSPID=$!
exec 3>"$W/s.in"
echo 0 >"$W/s.n"
sess() {	# (called in $(...) subshells: the counter lives in a file)
	N=$(($(cat "$W/s.n") + 1)); echo "$N" >"$W/s.n"
	printf '%s;\n\\echo @@%s\n' "$1" "$N" >&3
	_i=0
	while [ $_i -lt 300 ] && ! grep -q "^@@$N\$" "$W/s.out"; do sleep 0.05; _i=$((_i + 1)); done
	awk -v a="@@$((N - 1))" -v b="@@$N" '$0 == b { exit } p { print } $0 == a { p = 1 }' "$W/s.out"
}
sess "SELECT 'session up'" >/dev/null	# line @@1 is the start marker

l=$(authorize); L1=$(echo "$l" | cut -d'|' -f2); A1=$(echo "$l" | cut -d'|' -f3)
[ -n "$A1" ]; gov_ok $? "an agent is authorized"
gov_is "$L1" "$(sess "SELECT governance.attach('$A1', session => true)")" "its session attaches the lease for the session"
gov_is "true|1" "$(sess "SELECT governance.is_authorized('acct.select', 'Account::\"1\"') || '|' || (SELECT count(*) FROM acct)")" \
	"and is authorized and sees its row"

# check_refusals TAG REASON-REGEX: everything that authorizes refuses, the
# attached session sees nothing
check_refusals() {
	out=$(authorize)
	gov_like "^deny\|\|\|trust degraded: $2" "$out" "$1: authorize() denies, with the reason"
	gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.authorize' AND lease_id IS NULL
	                  AND payload->>'decision' = 'deny' AND payload->'reasons'->>0 = '$(reason "$out" | sed "s/'/''/g")'")" \
		"$1: the denial is ledgered with it"
	gov_like "^deny\|trust degraded: $2" "$(delegate "$L1")" "$1: delegate() denies, with the reason"
	gov_like "ERROR: +trust degraded: $2" "$(bq fc_bot "SELECT governance.attach('$A1')" 2>&1)" "$1: attach() refuses"
	gov_is "false|0" "$(sess "SELECT governance.is_authorized('acct.select', 'Account::\"1\"') || '|' || (SELECT count(*) FROM acct)")" \
		"$1: the session attached to a live lease is no longer authorized and sees no rows"
}

# ---------------------------------------------------------------------
# A. the enforcer is not running
# ---------------------------------------------------------------------
mark=$(q "SELECT max(seq) FROM governance.ledger")
EPID=$(q "SELECT pid FROM governance.workers WHERE name = 'enforcer'")
kill -STOP "$EPID"
stopped_at=$(date +%s)
gov_wait "$C" "SELECT governance.trust_state() LIKE 'degraded: the enforcer is not running%'" 15
gov_ok $? "A: with the enforcer stopped, trust_state() degrades: $(q "SELECT governance.trust_state()")"
check_refusals "A" "the enforcer is not running"
# a sustained stop: several rounds of the sealer (governance.seal_interval,
# 1 s), which records conditions such as this one
while [ $(($(date +%s) - stopped_at)) -lt 5 ]; do sleep 0.2; done
kill -CONT "$EPID"; EPID=""
gov_wait_trusted "$C" 15
gov_ok $? "A: once the enforcer runs again trust comes back"
gov_is "true|1" "$(sess "SELECT governance.is_authorized('acct.select', 'Account::\"1\"') || '|' || (SELECT count(*) FROM acct)")" \
	"A: and so does the attached session's access (its lease is still live)"
gov_like "^allow" "$(authorize)" "A: authorize() allows again"
gov_wait "$C" "SELECT count(*) > 0 FROM governance.ledger WHERE seq > $mark AND kind = 'governance.trust.degraded' AND payload::text LIKE '%enforcer%'" 10
gov_ok $? "A: the degradation (enforcer not running) is ledgered"
gov_wait "$C" "SELECT count(*) > 0 FROM governance.ledger WHERE seq > $mark AND kind LIKE 'governance.trust.re%' AND payload::text LIKE '%enforcer%'" 10
gov_ok $? "A: and so is the recovery"

# ---------------------------------------------------------------------
# D. a database the enforcer does not watch
# ---------------------------------------------------------------------
q "CREATE DATABASE elsewhere" >/dev/null
GOV_DB=elsewhere gov_psql "$C" >/dev/null <<'EOF'
SET client_min_messages = warning;
-- refused without it (test/system/placement.sh); as if restored or copied here
SET governance.allow_other_database = on;
CREATE EXTENSION governance;
SELECT governance.register_agent('Agent::"fc-bot"', 'fc_bot');
SELECT governance.put_entity('Agent::"fc-bot"', ARRAY['Group::"fc"'], '{}');
SELECT governance.create_policy('fc', 'permit (principal in Group::"fc", action == Action::"acct.select", resource);');
EOF
eq() { "$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U fc_bot -d elsewhere -c "$1" 2>&1; }
gov_like '^degraded: leases are enforced in database "postgres"' "$(eq "SELECT governance.trust_state()")" \
	"D: in a database other than governance.database trust_state() is degraded"
gov_like '^deny\|trust degraded: leases are enforced in database "postgres"' \
	"$(eq "SELECT decision || '|' || reasons[1] FROM governance.authorize('Agent::\"fc-bot\"', 'acct.select', 'Account::\"1\"')")" \
	"D: authorize() there denies, with the reason"
gov_like "ERROR: +trust degraded: leases are enforced in database" "$(eq "SELECT governance.attach('$A1')")" \
	"D: a live lease of the watched database cannot be attached there"
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "D: the watched database is unaffected"

# ---------------------------------------------------------------------
# C. the verifier found the ledger tampered with
# ---------------------------------------------------------------------
tamper() {	# tamper SQL: run SQL on the ledger with its guards off, then put them back
	gov_psql "$C" >/dev/null <<EOF
ALTER EVENT TRIGGER governance_guard_end DISABLE;
ALTER EVENT TRIGGER governance_guard_drop DISABLE;
ALTER EVENT TRIGGER governance_guard_start DISABLE;
ALTER TABLE governance.ledger DISABLE TRIGGER ledger_append_only;
$1;
ALTER TABLE governance.ledger ENABLE ALWAYS TRIGGER ledger_append_only;
ALTER EVENT TRIGGER governance_guard_start ENABLE;
ALTER EVENT TRIGGER governance_guard_drop ENABLE;
ALTER EVENT TRIGGER governance_guard_end ENABLE;
EOF
}
loops() { q "SELECT loops FROM governance.workers WHERE name = 'verifier'"; }
q "SELECT governance.seal()" >/dev/null
target=$(($(loops) + 3))
gov_wait "$C" "SELECT loops >= $target FROM governance.workers WHERE name = 'verifier'" 30
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "C: the sealed ledger verifies"
mark=$(q "SELECT max(seq) FROM governance.ledger")
victim=$(q "SELECT min(seq) FROM governance.ledger WHERE kind = 'governance.agent.registered'")
orig=$(q "SELECT payload::text FROM governance.ledger WHERE seq = $victim")
tamper "UPDATE governance.ledger SET payload = payload || '{\"role\": \"postgres\"}' WHERE seq = $victim"
gov_ok $? "C: a superuser edits sealed row $victim with the guards off"
gov_wait "$C" "SELECT governance.trust_state() LIKE 'degraded: ledger verification failed: modified row $victim%'" 30
gov_ok $? "C: the verifier notices and trust degrades: $(q "SELECT governance.trust_state()")"
check_refusals "C" "ledger verification failed: modified row $victim"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE seq > $mark AND kind = 'governance.trust.degraded' AND payload->>'reason' LIKE 'ledger verification failed: modified row $victim%'")" \
	"C: the degradation is ledgered, once"
tamper "UPDATE governance.ledger SET payload = '$orig' WHERE seq = $victim"
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "C: the tampering is undone (verify_ledger() ok)"
sleep 1
gov_like "^degraded: ledger verification failed" "$(q "SELECT governance.trust_state()")" \
	"C: trust stays degraded until an administrator restores it"
gov_like "permission denied" "$(bq fc_bot "SELECT governance.restore_trust('agent says so')" 2>&1)" "C: an agent cannot restore trust"
gov_is "trusted" "$(bq fc_admin "SELECT governance.restore_trust('row $victim restored from the export')")" \
	"C: governance_admin restores it"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.trust.restored' AND payload->>'reason' = 'row $victim restored from the export' AND payload->>'was' LIKE 'ledger verification failed: modified row $victim%'")" \
	"C: the restoration is ledgered with its reason and what it cleared"
target=$(($(loops) + 5))
gov_wait "$C" "SELECT loops >= $target FROM governance.workers WHERE name = 'verifier'" 30
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "C: trust holds over five more verifier rounds"
gov_is "true|1" "$(sess "SELECT governance.is_authorized('acct.select', 'Account::\"1\"') || '|' || (SELECT count(*) FROM acct)")" \
	"C: the attached session's access is back"
gov_like "^allow" "$(authorize)" "C: authorize() allows again"

# ---------------------------------------------------------------------
# B. the signing key is unavailable
# ---------------------------------------------------------------------
exec 3>&-; wait "$SESSPID" 2>/dev/null; SESSPID=""
# a lease not bound to any session (L1 was), to attach across the restarts
l=$(authorize); A2=$(echo "$l" | cut -d'|' -f3)
KEY="$C/data/governance_signing.key"
mark=$(q "SELECT max(seq) FROM governance.ledger")
gov_stop "$C"
chmod 0644 "$KEY"
gov_start "$C" || exit 1
gov_wait "$C" "SELECT governance.trust_state() LIKE 'degraded: signing key unavailable: %'" 20
gov_ok $? "B: with a world-readable key file: $(q "SELECT governance.trust_state()")"
out=$(authorize)
gov_like "^deny\|\|\|trust degraded: signing key unavailable: " "$out" "B: authorize() denies, with the reason"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE seq > $mark AND kind = 'governance.authorize' AND payload->>'decision' = 'deny' AND payload->'reasons'->>0 LIKE 'trust degraded: signing key unavailable: %'")" \
	"B: the denial is ledgered"
gov_like "^deny\|trust degraded: signing key unavailable" "$(delegate "$L1")" "B: delegate() denies"
gov_like "ERROR: +trust degraded: signing key unavailable" "$(bq fc_bot "SELECT governance.attach('$A2')" 2>&1)" \
	"B: a live lease from before cannot be attached"
gov_is "f" "$(bq fc_bot "SELECT governance.is_authorized('acct.select', 'Account::\"1\"')")" "B: nothing is authorized"
gov_like "^degraded: signing key unavailable" "$(bq fc_admin "SELECT governance.restore_trust('wishful thinking')")" \
	"B: restore_trust() cannot restore trust while the key is unavailable"
gov_like "^degraded: signing key unavailable" "$(q "SELECT governance.trust_state()")" "B: still degraded"
gov_wait "$C" "SELECT count(*) > 0 FROM governance.ledger WHERE seq > $mark AND kind = 'governance.trust.degraded' AND payload::text LIKE '%signing key unavailable%'" 10
gov_ok $? "B: the degradation (signing key unavailable) is ledgered"
gov_stop "$C"
chmod 0600 "$KEY"
gov_start "$C" || exit 1
gov_wait_trusted "$C" 20
gov_ok $? "B: with the key file fixed and a restart, trust is back"
gov_is "1" "$(bq fc_bot "BEGIN; SELECT governance.attach('$A2') IS NOT NULL; SELECT count(*) FROM acct; COMMIT" | tail -n 1)" \
	"B: the lease from before is attachable again"

gov_stop "$C"
! grep -E "PANIC|terminated by signal" "$C/server.log" >/dev/null
gov_ok $? "no crash in the server log"
