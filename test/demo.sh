#!/bin/sh
# make demo: set everything up like make test, start a throwaway cluster with
# governance preloaded, and walk through the whole agent lifecycle in order.
set -u
cd "$(dirname "$0")/.." || exit 1

sh test/deps.sh || exit 1
. test/lib.sh
make -s COPT=-Werror >/dev/null || { echo "build failed" >&2; exit 1; }
make -s install >/dev/null || { echo "install failed; as a non-root user run: sudo make install" >&2; exit 1; }

TOP=$(gov_tmpdir)
D="$TOP/demo"
gov_new_cluster "$D" "governance.verify_interval = '1s'" || exit 1
trap 'gov_stop "$D"; rm -rf "$TOP"' EXIT
gov_start "$D" || exit 1

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
run() {	# run [ROLE] SQL: show the SQL, then its result
	if [ $# -eq 2 ]; then role=$1; shift; else role=""; fi
	printf '\n  \033[36m%s%s\033[0m\n' "${role:+[as $role] }" \
		"$(printf '%s' "$1" | sed -E 's/(gov1\.[A-Za-z0-9_-]{12})[A-Za-z0-9_.-]+/\1.../g')"
	if [ -n "$role" ]; then
		gov_psql "$D" -P pager=off -v ON_ERROR_STOP=0 -c "SET ROLE $role" -c "$1" 2>&1 | sed 's/^/    /'
	else
		gov_psql "$D" -P pager=off -v ON_ERROR_STOP=0 -c "$1" 2>&1 | sed 's/^/    /'
	fi
}
val() {	# val [ROLE] SQL: one value
	if [ $# -eq 2 ]; then
		gov_psql "$D" -At -c "SET ROLE $1" -c "$2"
	else
		gov_psql "$D" -At -c "$1"
	fi
}

say "1. A throwaway PostgreSQL 15 cluster runs with shared_preload_libraries = 'governance'."
note "The server created its Ed25519 signing key at first start (a 0600 file in the data"
note "directory); SQL only ever sees the public half. Three background workers run:"
note "the enforcer, the sealer and the verifier."
run "CREATE EXTENSION governance"
run "SELECT governance.current_key_id() AS key_id, governance.trust_state()"
sleep 1
run "SELECT name, pid IS NOT NULL AS running, state FROM governance.workers"

say "2. A platform engineer sets the scene: agent roles, entities, a policy, a governed table."
gov_psql "$D" -q -c "CREATE ROLE billing_bot LOGIN IN ROLE governance_agent" \
	-c "CREATE ROLE report_bot LOGIN IN ROLE governance_agent" >/dev/null
run "SELECT governance.register_agent('Agent::\"billing-bot\"', 'billing_bot'),
        governance.register_agent('Agent::\"report-bot\"', 'report_bot')"
run "SELECT governance.put_entity('Group::\"billing\"'),
        governance.put_entity('Agent::\"billing-bot\"', ARRAY['Group::\"billing\"']),
        governance.put_entity('Agent::\"report-bot\"', ARRAY['Group::\"billing\"']),
        governance.put_entity('Account::\"17\"', '{}', '{\"frozen\": false}'),
        governance.put_entity('Account::\"99\"', '{}', '{\"frozen\": true}')"
run "SELECT governance.create_policy('billing-payments', \$\$
  permit (principal in Group::\"billing\",
          action in [Action::\"payments.select\", Action::\"payments.insert\", Action::\"payments.update\"],
          resource)
  when { context.amount <= 1000 }
  unless { resource.frozen };\$\$) IS NOT NULL AS created"
gov_psql "$D" -q -c "CREATE TABLE payments (id serial PRIMARY KEY, account text NOT NULL, amount int NOT NULL)" \
	-c "INSERT INTO payments (account, amount) VALUES ('Account::\"17\"', 100), ('Account::\"17\"', 250), ('Account::\"99\"', 5000)" \
	-c "GRANT SELECT, INSERT, UPDATE ON payments TO governance_agent" \
	-c "GRANT USAGE ON SEQUENCE payments_id_seq TO governance_agent" >/dev/null
run "SELECT governance.govern_table('payments', 'payments', 'account')"
note "payments now has forced row-level security tied to live leases, and a lineage trigger."

say "3. The agent asks. The policy decides, deterministically, and says why."
run billing_bot "SELECT decision, reasons FROM governance.authorize('Agent::\"billing-bot\"', 'payments.update', 'Account::\"99\"', '{\"amount\": 50}')"
note "Denied: no lease, no artifact. The agent gets a short reason; the ledger keeps the full ones,"
note "and an administrator (or an auditor) can ask which policy decided:"
run "SELECT payload->'reasons' AS ledgered_reasons FROM governance.ledger
      WHERE kind = 'governance.authorize' AND payload->>'decision' = 'deny' ORDER BY seq DESC LIMIT 1"
run "SELECT * FROM governance.explain('Agent::\"billing-bot\"', 'payments.update', 'Account::\"99\"', '{\"amount\": 50}')"
ART=$(val billing_bot "SELECT artifact FROM governance.authorize('Agent::\"billing-bot\"', 'payments.update', 'Account::\"17\"', '{\"amount\": 50}', '2 minutes', '\\xc0ffee')")
LEASE=$(val billing_bot "SELECT (governance.verify_artifact('$ART')).claims->>'lease_id'")
READ_ART=$(val billing_bot "SELECT artifact FROM governance.authorize('Agent::\"billing-bot\"', 'payments.select', 'Account::\"17\"', '{\"amount\": 50}')")
READ_LEASE=$(val billing_bot "SELECT (governance.verify_artifact('$READ_ART')).claims->>'lease_id'")
note "Allowed: lease $LEASE, bound to the runtime measurement \\xc0ffee."
note "The artifact is a compact signed string:"
note "$(echo "$ART" | cut -c1-100)..."
run "SELECT valid, reason, claims->>'principal' AS principal, claims->>'action' AS action,
        claims->>'expires_at' AS expires_at FROM governance.verify_artifact('$ART')"

say "4. The agent attaches the artifacts and works. Without them it sees nothing."
run billing_bot "SELECT count(*) AS rows_without_a_lease FROM payments"
run billing_bot "BEGIN;
SELECT governance.attach('$READ_ART') IS NOT NULL AS read_attached, governance.attach('$ART') IS NOT NULL AS update_attached;
SELECT id, account, amount FROM payments ORDER BY id;
UPDATE payments SET amount = amount + 1 WHERE id = 1;
COMMIT;"
note "Only Account 17's rows are visible; the update was recorded in the ledger:"
run "SELECT seq, kind, payload->>'op' AS op, payload->'key' AS key, left(payload->>'new_sha3_512', 16) || '...' AS new_row_hash
       FROM governance.ledger WHERE lease_id = '$LEASE' ORDER BY seq"
note "A copied artifact is useless to any other role:"
run report_bot "SELECT governance.attach('$ART')"

say "5. Delegation: the agent hands part of what it holds to a sub-agent, never more."
run billing_bot "SELECT decision, reasons FROM governance.delegate('$LEASE', 'Agent::\"report-bot\"', 'payments.update', 'Account::\"18\"', '{\"amount\": 10}')"
note "Denied: a delegation keeps the parent's action, on its resource or one within it."
CHILD=$(val billing_bot "SELECT lease_id FROM governance.delegate('$LEASE', 'Agent::\"report-bot\"', 'payments.update', 'Account::\"17\"', '{\"amount\": 10}', '1 minute')")
run "SELECT lease_id, parent_id, depth, principal, expires_at <= (SELECT expires_at FROM governance.leases WHERE lease_id = '$LEASE') AS within_parent
       FROM governance.leases WHERE lease_id = '$CHILD'"
note "The child's first ledger event links to the parent's chain:"
run "SELECT c.seq, c.kind, c.prev_seq, p.kind AS linked_to FROM governance.ledger c JOIN governance.ledger p ON p.seq = c.prev_seq
       WHERE c.lease_id = '$CHILD' ORDER BY c.seq LIMIT 1"

say "6. Heartbeats keep the lease alive while the runtime is unchanged and the policy still agrees."
run billing_bot "SELECT governance.heartbeat('$LEASE', '\\xc0ffee') AS new_expiry"

say "7. Revocation cascades and cuts off a running statement."
note "The sub-agent starts a long statement under its lease (session scope)..."
CHILD_ART=$(val billing_bot "SELECT artifact FROM governance.delegate('$READ_LEASE', 'Agent::\"report-bot\"', 'payments.select', 'Account::\"17\"', '{\"amount\": 10}')")
( gov_psql "$D" -v ON_ERROR_STOP=0 -c "SET ROLE report_bot" \
	-c "SELECT governance.attach('$CHILD_ART', session => true) IS NOT NULL AS attached" \
	-c "SELECT pg_sleep(60), count(*) FROM payments" >"$TOP/sleeper.out" 2>&1 ) &
SLEEPER=$!
sleep 2
note "...and the billing agent's leases are revoked. Every descendant ends with them:"
START=$(date +%s%N)
run "SELECT governance.revoke('$READ_LEASE', 'operator: suspicious activity') + governance.revoke('$LEASE', 'operator: suspicious activity') AS leases_ended"
wait $SLEEPER
END=$(date +%s%N)
note "What the sub-agent's session saw, $(( (END - START) / 1000000 )) ms after the revoke:"
sed 's/^/    /' "$TOP/sleeper.out"
run billing_bot "BEGIN; SELECT governance.attach('$ART'); ROLLBACK;"

say "8. governance-run: a process outside the database stops when its lease ends."
note "governance-run measures the job (SHA3-512 of sh and job.sh), authorizes, starts it in its"
note "own process group with the artifact in its environment, and LISTENs on governance_lease_end."
note "The job's agent holds an Ed25519 key (a 0600 file) and is registered with its public half:"
note "each authorize, heartbeat and attach governance-run sends is signed (proof of possession),"
note "so the role's password alone is not enough to act as job-bot."
(umask 077; head -c 32 /dev/urandom | od -An -vtx1 | tr -d ' \n' >"$TOP/job-bot.key")
JOB_PK=$($SYS_PYTHON test/outside/pop_sign.py pubkey "$(cat "$TOP/job-bot.key")")
gov_psql "$D" -q -c "CREATE ROLE job_bot LOGIN IN ROLE governance_agent" \
	-c "SELECT governance.put_entity('Agent::\"job-bot\"', ARRAY['Group::\"billing\"'])" >/dev/null
run "SELECT governance.register_agent('Agent::\"job-bot\"', 'job_bot', '\\x$JOB_PK')"
printf 'while :; do echo "[job] working under lease $GOVERNANCE_LEASE_ID"; sleep 1; done\n' >"$TOP/job.sh"
"$PGBIN/governance-run" --dbname "host=$D port=5432 user=job_bot dbname=${GOV_DB:-postgres}" \
	--principal 'Agent::"job-bot"' --action payments.select --resource 'Account::"17"' \
	--key "$TOP/job-bot.key" \
	--context '{"amount": 5}' --measure "$TOP/job.sh" --grace 2 -- sh "$TOP/job.sh" \
	>"$TOP/job.out" 2>"$TOP/run.log" &
RUNPID=$!
i=0
while [ $i -lt 100 ] && ! grep -q ' running ' "$TOP/run.log"; do sleep 0.1; i=$((i + 1)); done
sleep 1.5
RUN_LEASE=$(sed -n 's/.* running lease_id=\([^ ]*\).*/\1/p' "$TOP/run.log")
note "From another session, an operator revokes the job's lease:"
run "SELECT governance.revoke('$RUN_LEASE', 'operator: job cancelled')"
wait $RUNPID
RC=$?
note "The job's output, then governance-run's log (one line per state change):"
sed 's/^/    /' "$TOP/job.out" "$TOP/run.log" | cut -c1-150
note "key_loaded names the key by its id (the thumbprint the artifact carries); the key itself"
note "is never logged, and is wiped from memory on exit."
note "governance-run exited $RC (80: stopped by governance, lease revoked). The notification is sent"
note "at the revoke's commit, not at the next heartbeat (20 s away): SIGTERM follows within milliseconds."
run "SELECT kind, payload->>'reason' AS reason, payload->>'pid' AS pid FROM governance.ledger
      WHERE lease_id = '$RUN_LEASE' ORDER BY seq"

say "9. The ledger: every decision and write, hash-chained, sealed into signed blocks."
run "SELECT governance.seal() AS newest_block"
run "SELECT block_id, first_seq, last_seq, row_count, key_id, hash_ok, prev_ok, signature_ok FROM governance.block_proof ORDER BY block_id"
run "SELECT kind, count(*) FROM governance.ledger GROUP BY kind ORDER BY kind"
CP=$(val "SELECT governance.checkpoint()")
note "The latest signed checkpoint (keep it outside the database):"
note "$(echo "$CP" | cut -c1-150)..."
run "SELECT * FROM governance.verify_ledger()"

say "10. An auditor takes the evidence away and checks it with nothing but the public key."
GV="$PGBIN/governance-verify"
cli() {	# cli ARGS...: show a governance-verify command, then what it says
	printf '\n  \033[36m$ governance-verify %s\033[0m\n' "$*"
	"$GV" -q "$@" 2>&1 | sed 's/^/    /'
}
gov_psql "$D" -q -c "CREATE ROLE auditor LOGIN IN ROLE governance_auditor" >/dev/null
echo "$CP" >"$TOP/cp1.json"
val "SELECT encode(governance.public_key(), 'hex')" >"$TOP/server.pub"
note "The auditor (governance_auditor, no superuser) copies out a bundle of the whole ledger"
note "and the proof of the billing agent's execution, with psql's \\copy:"
gov_psql "$D" -U auditor -c "\\copy (SELECT governance.export()) TO '$TOP/bundle.txt'" >/dev/null
gov_psql "$D" -U auditor -c "\\copy (SELECT governance.proof('$LEASE')) TO '$TOP/lease.txt'" >/dev/null
note "$(wc -l <"$TOP/bundle.txt") lines in bundle.txt, $(wc -l <"$TOP/lease.txt") in lease.txt; offline, with the public key alone:"
cli --key "$TOP/server.pub" bundle "$TOP/bundle.txt"
cli --key "$TOP/server.pub" proof "$TOP/lease.txt"
note "The proof holds every event of the execution (the decision, the delegation, the writes"
note "with their row hashes, the heartbeats, the revocation), each with its Merkle path, and the"
note "signed lineage map of every block since: no event left out, none appended after the revocation."
note "The same execution drawn for people: governance.lineage_dot() gives Graphviz's DOT, rendered to SVG"
note "(governance-verify proof --dot draws it from the offline proof too):"
gov_psql "$D" -U auditor -At -c "SELECT governance.lineage_dot('$LEASE')" >"$TOP/lease.dot"
SVG="${TMPDIR:-/tmp}/governance-demo-lineage.svg"
if dot -Tsvg "$TOP/lease.dot" -o "$SVG" 2>"$TOP/dot.err"; then
	note "$(grep -c -- '->' "$TOP/lease.dot") edges between $(grep -c '<g id="node' "$SVG") events; open $SVG to look (kept after the demo)."
else
	note "dot failed: $(head -n 1 "$TOP/dot.err")"
fi
note "One event removed from the proof (the revocation: the proof would then show a live lease):"
$SYS_PYTHON - "$TOP/lease.txt" "$TOP/lease_cut.txt" <<'PYEOF'
import base64, sys
L = open(sys.argv[1]).read().split("\n")[:-1]
for i, l in enumerate(L):
    t = l.split(" ")
    if t[0] == "row" and base64.urlsafe_b64decode(t[3] + "=" * (-len(t[3]) % 4)) == b"governance.revoke":
        del L[i:i + 2]      # the row and its Merkle path
        break
if L[-1].startswith("end "):
    L[-1] = "end %d" % (len(L) - 1)
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PYEOF
cli --key "$TOP/server.pub" proof "$TOP/lease_cut.txt"
note "The block's signed lineage map still names the revocation as the lease's last event there."
note "Later, more is ledgered and sealed; a consistency proof shows the new checkpoint extends the old:"
val "SELECT governance.record('audit.note', '{\"checked\": true}')" >/dev/null
val "SELECT governance.seal()" >/dev/null
val "SELECT governance.checkpoint()" >"$TOP/cp2.json"
gov_psql "$D" -U auditor -c "\\copy (SELECT governance.consistency_proof('$(cat "$TOP/cp1.json")', '$(cat "$TOP/cp2.json")')) TO '$TOP/consistency.txt'" >/dev/null
cli --key "$TOP/server.pub" --old "$TOP/cp1.json" --new "$TOP/cp2.json" consistency "$TOP/consistency.txt"
note "One edit in the copy (a governed write's \"update\" made \"delete\") and the bundle no longer verifies:"
$SYS_PYTHON - "$TOP/bundle.txt" "$TOP/edited.txt" <<'PYEOF'
import base64, sys
out = []
done = False
for l in open(sys.argv[1]).read().split("\n")[:-1]:
    t = l.split(" ")
    if not done and t[0] == "row" and base64.urlsafe_b64decode(t[3] + "=" * (-len(t[3]) % 4)) == b"governance.write":
        p = base64.urlsafe_b64decode(t[8] + "=" * (-len(t[8]) % 4)).replace(b'"update"', b'"delete"')
        t[8] = base64.urlsafe_b64encode(p).decode().rstrip("=")
        l = " ".join(t)
        done = True
    out.append(l)
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PYEOF
cli --key "$TOP/server.pub" bundle "$TOP/edited.txt"
note "(exit status 1: tampering found; 0 verified; 2 bad input)"

say "11. Tampering is detected: a superuser switches the guards off and edits history."
run "UPDATE governance.ledger SET payload = '{\"amount\": 1}' WHERE kind = 'governance.write'"
note "Refused: the ledger is append-only. With the guards switched off, a superuser first hides a"
note "write after the revocation of the billing agent's lease, well formed (its evidence hash and"
note "chain link recomputed), and seals it into a signed block:"
HIDDEN_AFTER=$(val "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$LEASE'")
gov_psql "$D" -q -c "ALTER EVENT TRIGGER governance_guard_end DISABLE" \
	-c "ALTER TABLE governance.ledger DISABLE TRIGGER ledger_append_only" >/dev/null
gov_psql "$D" -q >/dev/null <<EOF
BEGIN;
INSERT INTO governance.ledger (seq, at, kind, lease_id, principal, action, resource, payload, actor, txid, prev_seq, evidence, link)
SELECT nextval('governance.ledger_seq'), now(), 'governance.write', lease_id, principal, action, resource,
       '{"op": "update", "table": "public.payments", "key": {"id": "1"}, "old_sha3_512": null, "new_sha3_512": null}',
       'billing_bot', pg_current_xact_id(), seq, '\\x00', '\\x00'
  FROM governance.ledger WHERE seq = $HIDDEN_AFTER;
UPDATE governance.ledger SET evidence = governance.sha3_512(governance.event_bytes(seq)) WHERE seq = currval('governance.ledger_seq');
UPDATE governance.ledger l SET link = governance.chain_link((SELECT p.link FROM governance.ledger p WHERE p.seq = l.prev_seq), l.evidence)
 WHERE seq = currval('governance.ledger_seq');
COMMIT;
EOF
gov_psql "$D" -q -c "ALTER TABLE governance.ledger ENABLE ALWAYS TRIGGER ledger_append_only" \
	-c "ALTER EVENT TRIGGER governance_guard_end ENABLE ALWAYS" >/dev/null
val "SELECT governance.seal()" >/dev/null
run "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()"
gov_psql "$D" -U auditor -c "\\copy (SELECT governance.proof('$LEASE')) TO '$TOP/hidden.txt'" >/dev/null
note "Offline, the execution's proof names it too (and cutting the write out of the proof fails as"
note "the removed revocation did: the block's lineage map names it):"
cli --key "$TOP/server.pub" proof "$TOP/hidden.txt"
note "Then the same superuser edits a sealed row (a governed write's \"update\" made \"delete\")..."
gov_psql "$D" -q -c "ALTER EVENT TRIGGER governance_guard_end DISABLE" \
	-c "ALTER TABLE governance.ledger DISABLE TRIGGER ledger_append_only" \
	-c "UPDATE governance.ledger SET payload = jsonb_set(payload, '{op}', '\"delete\"') WHERE seq = (SELECT min(seq) FROM governance.ledger WHERE kind = 'governance.write')" \
	-c "ALTER TABLE governance.ledger ENABLE ALWAYS TRIGGER ledger_append_only" \
	-c "ALTER EVENT TRIGGER governance_guard_end ENABLE ALWAYS" >/dev/null
run "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()"
run "SELECT * FROM governance.verify_checkpoint('$CP')"
note "The checkpoint still holds (the block is intact), but the row no longer matches the"
note "evidence hash sealed into it. The verifier worker notices tampering on its own (it names the"
note "first problem its round met) and degrades trust:"
i=0
while [ $i -lt 150 ]; do
	case "$(val "SELECT governance.trust_state()")" in degraded*) break;; esac
	sleep 0.2; i=$((i + 1))
done
run "SELECT governance.trust_state()"
run billing_bot "SELECT decision, reasons FROM governance.authorize('Agent::\"billing-bot\"', 'payments.select', 'Account::\"17\"', '{\"amount\": 5}')"
note "Fail closed: nothing is authorized until an administrator acts (restore_trust, ledgered)."

say "Done. The cluster is stopped and removed on exit."
