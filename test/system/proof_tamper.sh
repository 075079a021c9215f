#!/bin/sh
# Format version 2 and proof(lease_id) (issue 12 section 2, issue 15
# section 1), against the installed governance-verify and the Python outside
# verifier.  An auditor takes a lease proof and an export with psql's \copy;
# both verify offline with only the public key (exit 0).  A tamper matrix
# fails with exit 1 and the problem named: one edited byte, a removed event
# (in the middle of a chain and at its end), a hidden post-revocation write
# inserted by a superuser around every guard (in the proof as the database
# gives it, and with the write cut out of the proof), a delegated execution
# cut out, a block's log id edited; and two clusters sharing one signing key
# (one key file) cannot present each other's ledger, checkpoint or proof:
# verification names the log-id mismatch given the expected log id or a
# trusted checkpoint.  Wrong input exits 2.  The Python verifier agrees with
# the CLI on every export case.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
PY=$SYS_PYTHON
VL="$(cd "$(dirname "$0")/../outside" && pwd)/verify_ledger.py"
GV="$PGBIN/governance-verify"
export PGCLIENTENCODING=UTF8
T=$(gov_tmpdir)
A=$T/a
B=$T/b
W=$(mktemp -d "${TMPDIR:-/tmp}/governance-proof.XXXXXX")
chmod 777 "$W"
trap 'gov_stop "$A"; gov_stop "$B"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
gov_new_cluster "$A" "governance.max_block_rows = 5" || exit 1
gov_start "$A" || exit 1
C=$A

setup_sql() {
	gov_agents_sql pt bot sub
	gov_acct_sql "SELECT, INSERT, UPDATE" pt_bot pt_sub
	cat <<'EOF'
CREATE ROLE pt_auditor LOGIN IN ROLE governance_auditor;
SELECT governance.create_policy('pt', 'permit (principal in Group::"pt", action, resource);');
EOF
}
setup_sql | gov_psql "$A" >/dev/null || { echo "not ok - set-up"; exit 1; }
gov_wait_trusted "$A" 30
gov_ok $? "cluster A is trusted"

# an execution: writes, a delegated child that writes, heartbeats, noise
# in between (several blocks), then the revocation and more noise
set -- $(bq pt_bot "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"pt-bot\"', 'acct.insert', 'Account::\"1\"', '{}', '1 hour')")
L=${1:-}; ART=${2:-}
bq pt_bot "BEGIN; SELECT governance.attach('$ART'); INSERT INTO acct VALUES (11, 'Account::\"1\"'); COMMIT;" >/dev/null
q "SELECT count(governance.record('noise', jsonb_build_object('n', g))) FROM generate_series(1, 7) g" >/dev/null
set -- $(bq pt_bot "SELECT lease_id || ' ' || artifact FROM governance.delegate('$L', 'Agent::\"pt-sub\"', 'acct.insert', 'Account::\"1\"')")
D=${1:-}; DART=${2:-}
bq pt_sub "BEGIN; SELECT governance.attach('$DART'); INSERT INTO acct VALUES (12, 'Account::\"1\"'); COMMIT;" >/dev/null
bq pt_bot "BEGIN; SELECT governance.attach('$ART'); INSERT INTO acct VALUES (13, 'Account::\"1\"'); INSERT INTO acct VALUES (14, 'Account::\"1\"'); COMMIT;" >/dev/null
bq pt_bot "SELECT governance.heartbeat('$L')" >/dev/null
q "SELECT count(governance.record('noise', jsonb_build_object('m', g))) FROM generate_series(1, 6) g" >/dev/null
q "SELECT governance.revoke('$L', 'proof test')" >/dev/null
q "SELECT count(governance.record('noise', jsonb_build_object('k', g))) FROM generate_series(1, 6) g" >/dev/null
q "SELECT governance.seal()" >/dev/null
q "SELECT encode(governance.public_key(), 'hex')" >"$W/pub.hex"
q "SELECT governance.checkpoint()" >"$W/cpA.json"
LOGA=$(q "SELECT replace(log_id::text, '-', '') FROM governance.log_identity")
WRITES=$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.write' AND lease_id IN ('$L', '$D')")
[ -n "$L" ] && [ -n "$D" ] && [ "$WRITES" -eq 4 ] && [ "$(q "SELECT count(*) FROM governance.ledger_blocks")" -ge 5 ]
gov_ok $? "an execution with a delegated child and $WRITES governed writes, revoked, sealed in several blocks"

# --- taken by the auditor, verified offline -------------------------------
gov_psql "$A" -U pt_auditor -c "\\copy (SELECT governance.proof('$L')) TO '$W/proof.txt'"
gov_ok $? "the auditor takes proof(lease_id) with psql's copy command"
gov_psql "$A" -U pt_auditor -c "\\copy (SELECT governance.export()) TO '$W/export.txt'"
gov_ok $? "and an export"
err=$(gov_psql "$A" -U pt_bot -c "SELECT count(*) FROM governance.proof('$L')" 2>&1)
gov_like "permission denied for function proof" "$err" "an agent (no grant) may not take a proof"

"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" >"$W/ok.out" 2>&1
gov_is 0 $? "governance-verify proof verifies with only the public key ($(cat "$W/ok.out"))"
$PY "$VL" --proof "$W/proof.txt" --pin "$(cat "$W/pub.hex")" --log-id "$LOGA" >"$W/ok.py" 2>&1
gov_is 0 $? "so does the Python verifier ($(tail -n 2 "$W/ok.py" | head -n 1))"
gov_like "2 executions, ended by governance.revoke at row [0-9]+, lineage complete to block" "$(cat "$W/ok.out")" \
	"it names the execution's two leases and its revocation"
"$GV" -q --checkpoint "$W/cpA.json" proof "$W/proof.txt" >/dev/null 2>&1
gov_is 0 $? "and with only the checkpoint kept outside"
"$GV" -q --key "$W/pub.hex" --log-id "$LOGA" --json proof "$W/proof.txt" >"$W/ok.json" 2>&1
gov_is 0 $? "and given the log id"
gov_like "\"executions\": 2, \"ended_by\": \"governance.revoke\"" "$(cat "$W/ok.json")" "--json says so too"
"$GV" -q --key "$W/pub.hex" bundle "$W/export.txt" >/dev/null 2>&1
gov_is 0 $? "the export verifies with only the public key"
$PY "$VL" --bundle "$W/export.txt" --pin "$(cat "$W/pub.hex")" >/dev/null 2>&1
gov_is 0 $? "the Python verifier agrees"
# --- the artifact against the proof (FORMAT.md section 14) -----------------
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "$ART" >"$W/art.out" 2>&1
gov_is 0 $? "the lease's artifact matches its proof ($(cat "$W/art.out"))"
printf '%s\n' "$ART" >"$W/art.txt"
"$GV" -q --checkpoint "$W/cpA.json" proof "$W/proof.txt" --artifact "@$W/art.txt" >/dev/null 2>&1
gov_is 0 $? "from a file, with only the checkpoint kept outside"
gov_psql "$A" -U pt_auditor -c "\\copy (SELECT governance.proof('$D')) TO '$W/proofD.txt'"
"$GV" -q --key "$W/pub.hex" proof "$W/proofD.txt" --artifact "$DART" >"$W/artD.out" 2>&1
gov_is 0 $? "the delegated lease's artifact matches its own proof (parent and depth) ($(cat "$W/artD.out"))"
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "$DART" >"$W/artx.out" 2>&1
gov_is "1 FAILED: the artifact is of lease $D, not of the proof's lease" "$? $(cat "$W/artx.out")" "another lease's artifact is refused"
# the artifact re-signed with the server's own key after one claim changed:
# a valid signature, but not the lease the proof shows
resign() {	# resign FIELD_INDEX PYTHON_EXPR_ON_b -> artifact text
	$PY - "$ART" "$A/data/governance_signing.key" "$1" "$2" <<'EOF'
import base64, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
art, keyfile, idx, expr = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def d64(t): return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
def e64(b): return base64.urlsafe_b64encode(b).decode().rstrip("=")
_, p, _ = art.split(".")
p = d64(p); fields = []; i = 0
while i < len(p):
    n = struct.unpack(">I", p[i:i + 4])[0]; i += 4
    if n == 0xFFFFFFFF: fields.append(None); continue
    fields.append(p[i:i + n]); i += n
b = fields[idx]; fields[idx] = eval(expr)
p = b"".join(b"\xff\xff\xff\xff" if f is None else struct.pack(">I", len(f)) + f for f in fields)
k = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(open(keyfile).read().strip()))
print("gov1." + e64(p) + "." + e64(k.sign(p)))
EOF
}
same=$(resign 4 'b')
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "$same" >/dev/null 2>&1
gov_is 0 $? "(the re-signing itself is sound: nothing changed, it verifies)"
forged=$(resign 4 'b.replace(b"pt-bot", b"pt-xxx")')
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "$forged" >"$W/artf.out" 2>&1
gov_like "^1 FAILED: the artifact does not match the proof: its principal differs from the governance.authorize event at row [0-9]+" \
	"$? $(cat "$W/artf.out")" "an artifact with another principal, validly signed, does not match the proof"
forged=$(resign 11 'struct.pack(">q", struct.unpack(">q", b)[0] + 1)')
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "$forged" >"$W/artf.out" 2>&1
gov_like "^1 FAILED: the artifact does not match the proof: its first expiry differs" "$? $(cat "$W/artf.out")" \
	"an artifact whose first expiry is one microsecond later does not match"
forged=$(resign 8 'bytes(64)')
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "$forged" >"$W/artf.out" 2>&1
gov_like "^1 FAILED: the artifact does not match the proof: its policy set hash differs" "$? $(cat "$W/artf.out")" \
	"an artifact with another policy set hash does not match"
sig=${ART##*.}; mid=$(( ${#sig} / 2 ))
c=$(printf '%s' "$sig" | cut -c$mid); [ "$c" = A ] && r=B || r=A
badsig="${ART%.*}.$(printf '%s' "$sig" | cut -c1-$((mid - 1)))$r$(printf '%s' "$sig" | cut -c$((mid + 1))-)"
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "$badsig" >"$W/artf.out" 2>&1
gov_like "^1 FAILED: the artifact's signature does not verify under key [0-9a-f]{16}" "$? $(cat "$W/artf.out")" "an edited signature is refused"
"$GV" -q --key "$W/pub.hex" proof "$W/proof.txt" --artifact "gov1.nonsense" >/dev/null 2>&1
gov_is 2 $? "a malformed artifact is bad input"
"$GV" -q --key "$W/pub.hex" --artifact "$ART" bundle "$W/export.txt" >/dev/null 2>&1
gov_is 2 $? "--artifact with another command is bad input"
n=$(grep -c "^row " "$W/proof.txt")
gov_is "$(q "SELECT count(*) FROM governance.ledger WHERE lease_id IN ('$L', '$D')")" "$n" "the proof holds every event of the execution"

# --- the tamper matrix ------------------------------------------------------
# mutate IN OUT PYTHON: rewrite a file of lines with a Python snippet over
# the list L of lines (without their line feeds); the end count is fixed
mutate() {
	$PY - "$1" "$2" "$3" "$L" "$D" <<'EOF'
import sys
src, dst, code, lease, child = sys.argv[1:6]
lease = lease.replace("-", ""); child = child.replace("-", "")
L = open(src).read().split("\n")[:-1]
def rows(kind=None, lid=None):
    import base64
    out = []
    for i, l in enumerate(L):
        t = l.split(" ")
        if t[0] != "row": continue
        k = base64.urlsafe_b64decode(t[3] + "=" * (-len(t[3]) % 4)).decode()
        if (kind is None or k == kind) and (lid is None or t[4] == lid):
            out.append(i)
    return out
def drop_row(i):       # a row and its path line
    del L[i:i + 2]
def edit_payload(i):   # one hex digit of a governed write's row hash, inside its payload
    import base64
    t = L[i].split(" ")
    p = base64.urlsafe_b64decode(t[8] + "=" * (-len(t[8]) % 4)).decode()
    k = p.index('"new_sha3_512":"') + len('"new_sha3_512":"')
    p = p[:k] + ("0" if p[k] != "0" else "1") + p[k + 1:]
    t[8] = base64.urlsafe_b64encode(p.encode()).decode().rstrip("=")
    L[i] = " ".join(t)
exec(code)
L = [l for l in L if l is not None]
if L[-1].startswith("end "):
    L[-1] = "end %d" % (len(L) - 1)
open(dst, "w").write("\n".join(L) + "\n")
EOF
}
# expect NAME CMD FILE PATTERN [options]: exit 1 and FAILED: PATTERN
expect() {
	name=$1; cmd=$2; file=$3; pat=$4; shift 4
	"$GV" -q --key "$W/pub.hex" "$@" "$cmd" "$file" >"$W/$name.out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -Eq "^FAILED: $pat" "$W/$name.out"; then
		gov_ok 0 "$name: exit 1 and the problem named ($(cat "$W/$name.out"))"
	else
		gov_ok 1 "$name: want exit 1 and /$pat/, got rc=$rc: $(cat "$W/$name.out")"
	fi
	# the Python verifier, from docs/FORMAT.md alone, says the same
	pyargs="--pin $(cat "$W/pub.hex")"
	[ "${1:-}" = "--log-id" ] && pyargs="$pyargs --log-id $2"
	if [ "$cmd" = proof ]; then pyargs="$pyargs --proof"; else pyargs="$pyargs --bundle"; fi
	$PY "$VL" $pyargs "$file" >"$W/$name.py" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -Eq "^FAILED: $pat" "$W/$name.py"; then
		gov_ok 0 "$name: the Python verifier agrees"
	else
		gov_ok 1 "$name: the Python verifier disagrees: rc=$rc: $(head -n 3 "$W/$name.py" | tr '\n' ' ')"
	fi
}

# one edited byte: a character of a governed write's payload
mutate "$W/proof.txt" "$W/p_byte.txt" 'edit_payload(rows("governance.write", lease)[0])'
expect proof_edited_byte proof "$W/p_byte.txt" "modified row [0-9]+: its evidence hash does not match its contents"

# a removed event in the middle of the chain (a write, with its path)
mutate "$W/proof.txt" "$W/p_mid.txt" 'drop_row(rows("governance.write", lease)[1])'
# (the next event links to it; or, when it was its block's last, the map names it)
expect proof_removed_event proof "$W/p_mid.txt" "broken chain at row [0-9]+: it links to row [0-9]+ but the previous event of its execution is row [0-9]+|incomplete lineage: block [0-9]+'s lineage map says lease $L's last event there is row [0-9]+, the proof shows row [0-9]+ last"

# the revocation removed: the lineage map of its block still names it
mutate "$W/proof.txt" "$W/p_rev.txt" 'drop_row(rows("governance.revoke", lease)[0])'
expect proof_removed_revocation proof "$W/p_rev.txt" "incomplete lineage: lease $L has events in block [0-9]+ that the proof does not show \\(its last there is row [0-9]+\\)"

# the whole delegated execution cut out
mutate "$W/proof.txt" "$W/p_child.txt" '
for i in reversed(rows(None, child)): drop_row(i)'
expect proof_removed_child proof "$W/p_child.txt" "incomplete lineage: the delegation at row [0-9]+ started an execution the proof does not show"

# a map entry edited (another seq): its path no longer leads to the root
mutate "$W/proof.txt" "$W/p_map.txt" '
i = [i for i, l in enumerate(L) if l.startswith("map " + lease)][0]; t = L[i].split(" ")
t[2] = str(int(t[2]) + 1); L[i] = " ".join(t)'
expect proof_edited_map proof "$W/p_map.txt" "the lineage map entry of lease $L does not lead to block [0-9]+'s lineage root"

# the newest blocks cut off (a proof as of an older checkpoint cannot pass for the newest)
"$GV" -q --checkpoint "$W/cpA.json" proof "$W/p_mid.txt" >/dev/null 2>&1
gov_is 1 $? "a tampered proof fails against the trusted checkpoint too"

# one edited byte and a removed event in the export (CLI and Python agree)
mutate "$W/export.txt" "$W/e_byte.txt" 'edit_payload(rows("governance.write", lease)[0])'
expect export_edited_byte bundle "$W/e_byte.txt" "modified row [0-9]+: its evidence hash does not match its contents|seq [0-9]+: evidence does not match SHA3-512 of the event bytes \\(row modified\\)"
mutate "$W/export.txt" "$W/e_removed.txt" 'del L[rows("governance.write", lease)[1]]'
# (the CLI reads blocks and rows together, the Python verifier chains first)
expect export_removed_event bundle "$W/e_removed.txt" "missing row [0-9]+: it was sealed in block [0-9]+|seq [0-9]+: prev_seq is [0-9]+ but the execution's preceding row is seq [0-9]+"
# a block's log id edited: its hash covers it
mutate "$W/export.txt" "$W/e_log.txt" '
i = [i for i, l in enumerate(L) if l.startswith("block ")][2]; t = L[i].split(" ")
t[14] = "00" * 16; L[i] = " ".join(t)'
expect export_edited_log_id bundle "$W/e_log.txt" "block 3 belongs to another log: it names log 0{32}, expected log $LOGA"

# --- a hidden write after the revocation, inserted around every guard ------
# hidden_write CLUSTER LEASE ROLE [KIND]: a governed write (or another KIND
# of event) of LEASE appended after
# its chain's last row by a superuser with every guard off, its evidence and
# link recomputed so that the row alone is well formed
hidden_write() {
	hw_last=$(gov_sql "$1" "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$2'")
	gov_psql "$1" -c "$GOV_GUARDS_OFF" >/dev/null
	gov_psql "$1" >/dev/null <<EOF
BEGIN;
INSERT INTO governance.ledger (seq, at, kind, lease_id, principal, action, resource, payload, actor, txid, prev_seq, evidence, link)
SELECT nextval('governance.ledger_seq'), now(), '${4:-governance.write}', '$2', principal, action, resource,
       '{"op": "update", "table": "public.acct", "key": {"id": "1"}, "old_sha3_512": null, "new_sha3_512": null}',
       '$3', pg_current_xact_id(), seq, '\\x00', '\\x00'
  FROM governance.ledger WHERE seq = $hw_last;
UPDATE governance.ledger SET evidence = governance.sha3_512(governance.event_bytes(seq))
 WHERE seq = currval('governance.ledger_seq');
UPDATE governance.ledger l SET link = governance.chain_link((SELECT p.link FROM governance.ledger p WHERE p.seq = l.prev_seq), l.evidence)
 WHERE seq = currval('governance.ledger_seq');
COMMIT;
EOF
}
last=$(q "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$L'")
revrow=$(q "SELECT seq FROM governance.ledger WHERE lease_id = '$L' AND kind = 'governance.revoke'")
hidden_write "$A" "$L" pt_bot
q "SELECT governance.seal()" >/dev/null
hidden=$(q "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$L'")
[ "$hidden" -gt "$last" ] && [ "$(q "SELECT governance.sha3_512(governance.event_bytes(seq)) = evidence FROM governance.ledger WHERE seq = $hidden")" = "t" ]
gov_ok $? "the hidden write (row $hidden) is well formed: its evidence matches its contents"
gov_is "f|$hidden|a write after the end of its execution: row $hidden of lease $L follows the governance.revoke event at row $revrow" \
	"$(q "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")" \
	"verify_ledger() names the write after the revocation, as the CLI does"
gov_like "^f\\|$hidden\\|a write after the end of its execution" \
	"$(gov_psql "$A" -U pt_auditor -Atc "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")" \
	"so it does for an auditor"
gov_like "^t\\|" "$(q "SELECT ok, first_bad_seq FROM governance.verify_ledger(1, (SELECT block_id FROM governance.ledger_blocks WHERE $hidden BETWEEN first_seq AND last_seq) - 1)")" \
	"the blocks before the hidden write still verify (the check is on the write, not the lease)"
gov_psql "$A" -U pt_auditor -c "\\copy (SELECT governance.proof('$L')) TO '$W/hidden.txt'"
expect proof_hidden_write proof "$W/hidden.txt" "a write after the end of its execution: row $hidden of lease $L follows the governance.revoke event at row [0-9]+"
mutate "$W/hidden.txt" "$W/hidden_cut.txt" 'drop_row(rows("governance.write", lease)[-1])'
expect proof_hidden_write_cut proof "$W/hidden_cut.txt" "incomplete lineage: lease $L has events in block [0-9]+ that the proof does not show \\(its last there is row $hidden\\)"
gov_psql "$A" -U pt_auditor -c "\\copy (SELECT governance.export()) TO '$W/hidden_export.txt'"
expect export_hidden_write bundle "$W/hidden_export.txt" "a write after the end of its execution: row $hidden of lease $L follows the governance.revoke event at row [0-9]+"

# --- two clusters, one signing key -----------------------------------------
gov_new_cluster "$B" "governance.max_block_rows = 5" || exit 1
cp "$A/data/governance_signing.key" "$B/data/governance_signing.key"
[ -n "$GOV_RUNAS" ] && chown postgres: "$B/data/governance_signing.key"
chmod 600 "$B/data/governance_signing.key"
gov_start "$B" || exit 1
C=$B
setup_sql | gov_psql "$B" >/dev/null || { echo "not ok - set-up of B"; exit 1; }
gov_wait_trusted "$B" 30
gov_is "$(cat "$W/pub.hex")" "$(q "SELECT encode(governance.public_key(), 'hex')")" "cluster B signs with A's key (one key file)"
LOGB=$(q "SELECT replace(log_id::text, '-', '') FROM governance.log_identity")
[ -n "$LOGB" ] && [ "$LOGA" != "$LOGB" ]
gov_ok $? "but it is another log ($LOGB, not $LOGA)"
set -- $(bq pt_bot "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"pt-bot\"', 'acct.insert', 'Account::\"1\"', '{}', '1 hour')")
LB=${1:-}
DB=$(bq pt_bot "SELECT lease_id FROM governance.delegate('$LB', 'Agent::\"pt-sub\"', 'acct.insert', 'Account::\"1\"')")
q "SELECT governance.revoke('$LB', 'proof test B')" >/dev/null
q "SELECT governance.seal()" >/dev/null
q "SELECT governance.checkpoint()" >"$W/cpB.json"
gov_psql "$B" -U pt_auditor -c "\\copy (SELECT governance.proof('$LB')) TO '$W/proofB.txt'"
gov_psql "$B" -U pt_auditor -c "\\copy (SELECT governance.export()) TO '$W/exportB.txt'"
"$GV" -q --key "$W/pub.hex" proof "$W/proofB.txt" >/dev/null 2>&1
gov_is 0 $? "B's proof verifies under the shared key alone (the key cannot tell the logs apart)"
expect other_log_proof proof "$W/proofB.txt" "block [0-9]+ belongs to another log: it names log $LOGB, expected log $LOGA" --log-id "$LOGA"
expect other_log_export bundle "$W/exportB.txt" "block [0-9]+ belongs to another log: it names log $LOGB, expected log $LOGA" --log-id "$LOGA"
"$GV" -q --checkpoint "$W/cpA.json" bundle "$W/exportB.txt" >"$W/cpx.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "^FAILED: block [0-9]* belongs to another log: it names log $LOGB, expected log $LOGA" "$W/cpx.out"
gov_ok $? "B's export against A's trusted checkpoint: another log named (rc=$rc: $(cat "$W/cpx.out"))"
C=$A
gov_like "checkpoint of another log: it names log $LOGB, this ledger is log $LOGA" \
	"$(q "SELECT problem FROM governance.verify_checkpoint('$(cat "$W/cpB.json")')")" \
	"A's verify_checkpoint() names B's checkpoint as another log's"
"$GV" -q --key "$W/pub.hex" --log-id "$LOGA" checkpoint "$W/cpB.json" >"$W/cpcheck.out" 2>&1
gov_is 1 $? "governance-verify checkpoint refuses B's checkpoint given A's log id ($(cat "$W/cpcheck.out"))"

# a hidden write of the delegated lease after its parent's revocation (the
# revocation's one row is the parent's: verify_ledger() walks the ancestry),
# then, in a second step, a hidden delegation after it
C=$B
revB=$(q "SELECT seq FROM governance.ledger WHERE lease_id = '$LB' AND kind = 'governance.revoke'")
[ -n "$DB" ] && [ -n "$revB" ] && [ "$(q "SELECT count(*) FROM governance.ledger WHERE lease_id = '$DB' AND kind = 'governance.revoke'")" = 0 ]
gov_ok $? "B: lease $LB delegated $DB and was revoked (one revocation row, the parent's)"
gov_like "^t\|" "$(q "SELECT ok, problem FROM governance.verify_ledger()")" "B's ledger verifies before the hidden rows"
hidden_write "$B" "$DB" pt_sub
q "SELECT governance.seal()" >/dev/null
hB=$(q "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$DB'")
gov_is "f|$hB|a write after the end of its execution: row $hB of lease $DB follows the governance.revoke event at row $revB" \
	"$(q "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")" \
	"verify_ledger() names a delegated lease's write after its parent's revocation"
gov_psql "$B" -U pt_auditor -c "\\copy (SELECT governance.export()) TO '$W/hiddenB.txt'"
"$GV" -q --key "$W/pub.hex" bundle "$W/hiddenB.txt" >"$W/hiddenB.out" 2>&1
gov_is "1 FAILED: a write after the end of its execution: row $hB of lease $DB follows the governance.revoke event at row $revB" \
	"$? $(cat "$W/hiddenB.out")" "the CLI names the same row and the same revocation"
C=$A
hidden_write "$A" "$L" pt_bot governance.delegated
q "SELECT governance.seal()" >/dev/null
hD=$(q "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$L'")
gov_like "^f\|$hidden\|a write after" "$(q "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")" \
	"A: the first problem is still the first hidden write"
gov_is "f|$hD|a delegation after the end of its execution: row $hD of lease $L follows the governance.revoke event at row $revrow" \
	"$(q "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger((SELECT block_id FROM governance.ledger_blocks WHERE $hD BETWEEN first_seq AND last_seq))")" \
	"verify_ledger() from the block of a hidden delegation names it (its revocation in an earlier block)"

# --- bad input ---------------------------------------------------------------
"$GV" -q --key "$W/pub.hex" bundle "$W/proof.txt" >/dev/null 2>&1
gov_is 2 $? "a proof given as a bundle is bad input (exit 2)"
"$GV" -q --key "$W/pub.hex" --log-id nothex proof "$W/proof.txt" >/dev/null 2>&1
gov_is 2 $? "a malformed --log-id is bad input (exit 2)"
sed '1s/^governance-evidence 2 proof /governance-evidence 1 proof /' "$W/proof.txt" >"$W/p_v1.txt"
"$GV" -q --key "$W/pub.hex" proof "$W/p_v1.txt" >/dev/null 2>&1
gov_is 2 $? "a proof under a version 1 header is bad input (exit 2)"
head -c 2000 "$W/proof.txt" >"$W/p_trunc.txt"
"$GV" -q --key "$W/pub.hex" proof "$W/p_trunc.txt" >"$W/trunc.out" 2>&1
gov_is 1 $? "a truncated proof fails ($(cat "$W/trunc.out"))"

gov_like "no crash" "$(grep -c "PANIC\|server process .* was terminated" "$A/server.log" "$B/server.log" | grep -q ':[1-9]' && echo crash || echo "no crash")" \
	"no crash in either server log"
