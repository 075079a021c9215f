#!/bin/sh
# Issue 12, evidence an auditor carries away: an auditor (no superuser)
# exports a bundle with psql's \copy from a cluster with sealed blocks, a key
# rotation, aborted appends and delegated executions; governance-verify (the
# installed CLI, contrib/governance-verify) verifies it offline with nothing
# but the first public key (exit 0), and so does the Python outside verifier
# (test/outside/verify_ledger.py --bundle).  A tamper matrix (an edited byte
# in a row, a removed event, a removed block, a reordered pair, a bad
# signature, a wrong key, truncated files, a checkpoint the ledger does not
# extend) fails with exit 1 and the problem named, and both verifiers agree
# on every case; bad input exits 2.  Inclusion proofs of every sealed event,
# a consistency proof between two checkpoints, a ranged bundle and an
# artifact verify offline too, and a split view (a rewritten history
# re-signed with the server key) is caught by the consistency proof.  A
# checkpoint signed by the rotated-to key verifies from the first key with
# checkpoint --keys (the endorsement chain in an evidence file), and not
# with a forged or removed endorsement or another trusted key.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
PY=$SYS_PYTHON
VL="$(cd "$(dirname "$0")/../outside" && pwd)/verify_ledger.py"
GV="$PGBIN/governance-verify"
export PGCLIENTENCODING=UTF8
T=$(gov_tmpdir)
C=$T/evidence
W=$(mktemp -d "${TMPDIR:-/tmp}/governance-evidence.XXXXXX")
chmod 777 "$W"
gov_new_cluster "$C" "governance.max_block_rows = 7" || exit 1
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
gov_start "$C" || exit 1

[ -x "$GV" ]
gov_ok $? "make install put governance-verify into pg_config --bindir ($GV)"

gov_psql "$C" >/dev/null <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION governance;
CREATE ROLE ev_bot LOGIN IN ROLE governance_agent;
CREATE ROLE ev_sub LOGIN IN ROLE governance_agent;
CREATE ROLE ev_auditor LOGIN IN ROLE governance_auditor;
SELECT governance.register_agent('Agent::"ev-bot"', 'ev_bot');
SELECT governance.register_agent('Agent::"ev-sub"', 'ev_sub');
SELECT governance.create_policy('ev', 'permit (principal, action == Action::"tool.run", resource);');
EOF
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"

# as ROLE SQL
as() { r=$1; shift; gov_psql "$C" -Atc "SET ROLE $r; $*"; }

# phase A: an execution with a delegated child, application events, an abort
set -- $(as ev_bot "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"ev-bot\"', 'tool.run', 'Tool::\"t\"')")
lease=${1:-}; art=${2:-}
gov_psql "$C" -c "SET ROLE ev_bot" -c "BEGIN" -c "SELECT governance.attach('$art')" \
	-c "SELECT governance.record('tool.call', jsonb_build_object('i', g, 'note', 'a \"quoted\" \\ back é')) FROM generate_series(1, 5) g" -c "COMMIT" >/dev/null
sub=$(as ev_bot "SELECT artifact FROM governance.delegate('$lease', 'Agent::\"ev-sub\"', 'tool.run', 'Tool::\"t\"')")
gov_psql "$C" -c "SET ROLE ev_sub" -c "BEGIN" -c "SELECT governance.attach('$sub')" \
	-c "SELECT governance.record('tool.call', jsonb_build_object('sub', g)) FROM generate_series(1, 4) g" -c "COMMIT" >/dev/null
gov_psql "$C" -c "BEGIN" -c "SELECT governance.record('aborted', '{}')" -c "ROLLBACK" >/dev/null
q "SELECT count(governance.record('bulk', jsonb_build_object('n', g, 'x', g * 1.5))) FROM generate_series(1, 12) g" >/dev/null
q "SELECT governance.seal()" >/dev/null
q "SELECT governance.checkpoint()" >"$W/cpA.json"
k1=$(q "SELECT key_id FROM governance.signing_keys ORDER BY created_at LIMIT 1")
q "SELECT encode(public_key, 'hex') FROM governance.signing_keys WHERE key_id = '$k1'" >"$W/key1.hex"

# phase B: a key rotation, the same executions go on, more aborts
k2=$(q "SELECT governance.rotate_key()")
gov_psql "$C" -c "SET ROLE ev_bot" -c "BEGIN" -c "SELECT governance.attach('$art')" \
	-c "SELECT governance.record('tool.result', jsonb_build_object('ok', true, 'n', g)) FROM generate_series(1, 3) g" -c "COMMIT" >/dev/null
gov_psql "$C" -c "BEGIN" -c "SELECT governance.record('aborted', '[1]')" -c "SELECT governance.record('aborted', '[2]')" -c "ROLLBACK" >/dev/null
q "SELECT count(governance.record('bulk2', jsonb_build_object('n', g))) FROM generate_series(1, 15) g" >/dev/null
q "SELECT governance.seal()" >/dev/null
q "SELECT governance.checkpoint()" >"$W/cpB.json"
nblocks=$(q "SELECT count(*) FROM governance.ledger_blocks")
nrows=$(q "SELECT total_rows FROM governance.ledger_blocks ORDER BY block_id DESC LIMIT 1")
[ -n "$k2" ] && [ "$k1" != "$k2" ] && [ "$nblocks" -ge 6 ]
gov_ok $? "a ledger of $nrows sealed rows in $nblocks blocks, signed by $k1 and then $k2"

# --- export as the auditor, with \copy (no superuser) ---------------------
gov_psql "$C" -U ev_auditor -c "\\copy (SELECT governance.export()) TO '$W/bundle.txt'" 2>"$W/export.err"
gov_ok $? "the auditor exports the bundle with psql's copy command (no superuser)"
as ev_bot "SELECT count(*) FROM governance.export()" >/dev/null 2>"$W/agent.err"
gov_like "permission denied" "$(cat "$W/agent.err")" "an agent may not export"
gov_psql "$C" -At -U ev_auditor -c "COPY (SELECT governance.export()) TO STDOUT" >"$W/bundle.copy"
# the same bytes but the header's export time
tail -n +2 "$W/bundle.txt" >"$W/a.tail"; tail -n +2 "$W/bundle.copy" >"$W/b.tail"
[ -s "$W/a.tail" ] && cmp -s "$W/a.tail" "$W/b.tail" && ! grep -q '[\\	]' "$W/bundle.txt"
gov_ok $? "COPY ... TO STDOUT writes the same lines as psql's copy command (no backslash, no tab: nothing to escape)"

# verify with nothing but the first public key
"$GV" --key "$W/key1.hex" bundle "$W/bundle.txt" >"$W/ok.out" 2>&1
rc=$?
gov_is 0 "$rc" "governance-verify verifies the bundle with only the first public key"
gov_like "^OK: bundle verified: $nrows rows, $nblocks blocks" "$(cat "$W/ok.out")" "it checked every row and block"
"$GV" --json --key "$(cat "$W/key1.hex")" bundle "$W/bundle.txt" >"$W/ok.json"
$PY -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['verified'] is True and j['status'] == 'verified' and j['rows_checked'] == $nrows, j
assert j['checkpoint']['block_id'] == json.load(open(sys.argv[2]))['block_id'], j" "$W/ok.json" "$W/cpB.json"
gov_ok $? "--json reports the same, with the checkpoint the bundle proves (the newest one)"
"$GV" -q --checkpoint "$W/cpA.json" bundle "$W/bundle.txt" >/dev/null 2>&1
gov_is 0 $? "a trusted checkpoint (of an earlier block) alone also anchors the bundle"
$PY "$VL" --bundle --pin "$(cat "$W/key1.hex")" "$W/bundle.txt" >"$W/py.out" 2>&1
gov_is 0 $? "the Python outside verifier, written from FORMAT.md, verifies the same bundle"
[ "$(q "SELECT ok FROM governance.verify_ledger()")" = t ]
gov_ok $? "verify_ledger() in SQL agrees"

# a ranged bundle: prior block header, anchors of chains that began earlier
last=$(q "SELECT max(block_id) FROM governance.ledger_blocks")
gov_psql "$C" -U ev_auditor -c "\\copy (SELECT governance.export(3, $last)) TO '$W/range.txt'"
grep -q '^prior ' "$W/range.txt" && grep -q '^anchor ' "$W/range.txt"
gov_ok $? "a ranged bundle carries the prior block and the anchors of chains begun before it"
"$GV" -q --key "$W/key1.hex" bundle "$W/range.txt" >"$W/range.out" 2>&1
gov_is 0 $? "governance-verify verifies the ranged bundle $(cat "$W/range.out")"

# --- the tamper matrix -------------------------------------------------------
# mutate NAME PYTHON-EXPR: lines = the bundle's lines; write $W/t.NAME
mutate() {
	$PY - "$W/bundle.txt" "$W/t.$1" "$2" <<'EOF'
import sys
src, dst, code = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(src, "rb").read().split(b"\n")[:-1]
rows = [i for i, l in enumerate(lines) if l.startswith(b"row ")]
blocks = [i for i, l in enumerate(lines) if l.startswith(b"block ")]
def tok(i, n): return lines[i].split(b" ")[n]
def block_rows(k):
    end = blocks[k + 1] if k + 1 < len(blocks) else len(lines)
    return [r for r in rows if blocks[k] < r < end]
# the target: a block with a block before and after it and at least 3 rows
K = next(k for k in range(2, len(blocks) - 1) if len(block_rows(k)) >= 3)
R = block_rows(K)
def settok(i, n, v):
    t = lines[i].split(b" "); t[n] = v; lines[i] = b" ".join(t)
out = None
exec(code)
open(dst, "wb").write(out if out is not None else b"\n".join(lines) + b"\n")
EOF
}
# expect NAME WANT-REGEX [extra CLI args]: governance-verify exits 1 naming it,
# and the Python verifier fails too (exit 1)
expect() {
	name=$1; want=$2; shift 2
	"$GV" -q --key "$W/key1.hex" "$@" bundle "$W/t.$name" >"$W/t.$name.out" 2>&1
	rc=$?
	got=$(cat "$W/t.$name.out")
	[ $rc -eq 1 ] && printf '%s\n' "$got" | grep -Eq -- "^FAILED: $want"
	gov_ok $? "$name: exit 1 and the problem named (rc=$rc: $got)"
	if [ $# -eq 0 ]; then
		$PY "$VL" --bundle --pin "$(cat "$W/key1.hex")" "$W/t.$name" >"$W/t.$name.py" 2>&1
		prc=$?
		gov_is 1 "$prc" "$name: the Python verifier agrees ($(grep -m1 FAILED "$W/t.$name.py"))"
	fi
}
# the target block K (see mutate) and its second and third rows
mutate probe 'out = b" ".join([tok(R[1], 1), tok(R[2], 1), tok(blocks[K], 1)]) + b"\n"'
set -- $(cat "$W/t.probe"); seq1=$1; seq2=$2; blk=$3
mutate edited_byte '
p = bytearray(tok(R[1], 8)); j = len(p) // 2
p[j] = ord("A") if p[j] != ord("A") else ord("B")
settok(R[1], 8, bytes(p))'
expect edited_byte "modified row $seq1: its evidence hash does not match its contents"

mutate removed_event 'del lines[R[1]]'
expect removed_event "missing row $seq1: it was sealed in block $blk"

mutate removed_block 'del lines[blocks[K]:blocks[K + 1]]'
expect removed_block "missing block $blk: block $((blk + 1)) follows block $((blk - 1))"

mutate reordered_pair 'lines[R[1]], lines[R[2]] = lines[R[2]], lines[R[1]]'
expect reordered_pair "reordered row $seq1: it follows row $seq2 in the bundle"

mutate bad_signature '
s = bytearray(tok(blocks[K], 12)); s[10] = ord("0") if s[10] != ord("0") else ord("1")
settok(blocks[K], 12, bytes(s))'
expect bad_signature "bad signature on block $blk"

cp "$W/bundle.txt" "$W/t.wrong_key"
$PY -c "import os; print(os.urandom(32).hex())" >"$W/other.hex"
"$GV" -q --key "$W/other.hex" bundle "$W/t.wrong_key" >"$W/t.wrong_key.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -Eq "^FAILED: the trusted key [0-9a-f]{16} is not among the keys given" "$W/t.wrong_key.out"
gov_ok $? "wrong_key: exit 1 and the problem named ($(cat "$W/t.wrong_key.out"))"
$PY "$VL" --bundle --pin "$(cat "$W/other.hex")" "$W/t.wrong_key" >/dev/null 2>&1
gov_is 1 $? "wrong_key: the Python verifier agrees"

size=$(wc -c <"$W/bundle.txt")
head -c $((size / 2)) "$W/bundle.txt" >"$W/t.truncated_mid_line"
expect truncated_mid_line "truncated bundle: its last line \\(line [0-9]+\\) is cut short"
mutate truncated_at_line 'del lines[-2:]'
expect truncated_at_line "truncated bundle: it ends without its end record"

mutate malformed 'i = rows[3]; settok(i, 12, tok(i, 12)[:-1] + b"Z")'
expect malformed "malformed record at line [0-9]+: evidence or link is not 128 hex digits"

mutate forged_row '
# a row rewritten with its evidence recomputed: only the Merkle root can tell
import hashlib, struct, base64
def f(b): return struct.pack(">I", 0xffffffff) if b is None else struct.pack(">I", len(b)) + b
def i64(v): return f(struct.pack(">q", v))
def b64(t): return None if t == b"-" else b"" if t == b"=" else base64.urlsafe_b64decode(t + b"=" * (-len(t) % 4))
i = R[1]
t = lines[i].split(b" ")
t[8] = base64.urlsafe_b64encode(b"{\"forged\":true}").rstrip(b"=")
ev = hashlib.sha3_512(f(b"governance.v1.event") + i64(int(t[1])) + i64(int(t[2])) + f(b64(t[3]))
     + (f(None) if t[4] == b"-" else f(bytes.fromhex(t[4].decode()))) + f(b64(t[5])) + f(b64(t[6]))
     + f(b64(t[7])) + f(b64(t[8])) + f(b64(t[9])) + i64(int(t[10]))
     + (f(None) if t[11] == b"-" else i64(int(t[11])))).hexdigest().encode()
t[12] = ev
prev = None
lines[i] = b" ".join(t)'
expect forged_row "(broken chain at row $seq1|bad block $blk: its Merkle root does not match its rows)"

# a checkpoint kept outside that the ledger no longer extends: the history
# after block A is rewritten by a superuser and re-signed with the server key
blkA=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['block_id'])" "$W/cpA.json")
blkB=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['block_id'])" "$W/cpB.json")
gov_psql "$C" -U ev_auditor -c "\\copy (SELECT governance.consistency_proof('$(cat "$W/cpA.json")', '$(cat "$W/cpB.json")')) TO '$W/consistency.txt'"
"$GV" -q --key "$W/key1.hex" --old "$W/cpA.json" --new "$W/cpB.json" consistency "$W/consistency.txt" >"$W/cons.out" 2>&1
gov_is 0 $? "the consistency proof from block $blkA to block $blkB verifies ($(cat "$W/cons.out"))"
gov_psql "$C" >/dev/null <<EOF
$GOV_GUARDS_OFF
DELETE FROM governance.ledger_blocks WHERE block_id > $blkA;
EOF
q "SELECT count(governance.record('after-fork', jsonb_build_object('n', g))) FROM generate_series(1, 20) g" >/dev/null
q "SELECT governance.seal()" >/dev/null
newest=$(q "SELECT max(block_id) FROM governance.ledger_blocks")
err=$(q "SELECT count(*) FROM governance.consistency_proof('$(cat "$W/cpB.json")')" 2>&1)
gov_like "the ledger does not extend the old checkpoint: block $blkB differs from the checkpoint" "$err" \
	"consistency_proof() in SQL refuses a checkpoint the rewritten ledger does not extend"
gov_psql "$C" -U ev_auditor -c "\\copy (SELECT governance.export()) TO '$W/forked.txt'"
"$GV" -q --key "$W/key1.hex" bundle "$W/forked.txt" >/dev/null 2>&1
gov_is 0 $? "the rewritten ledger verifies on its own (its blocks are re-signed with the server key)"
cp "$W/forked.txt" "$W/t.not_extended"
expect not_extended "block $blkB differs from the checkpoint" --checkpoint "$W/cpB.json"
# the split view in a consistency proof: the old checkpoint kept (block B,
# before the rewrite) against the rewritten chain after it
gov_psql "$C" -U ev_auditor -c "\\copy (SELECT governance.consistency_proof('$(cat "$W/cpA.json")')) TO '$W/fork_cons.txt'"
$PY - "$W/fork_cons.txt" "$W/cpB.json" "$W/t.split_view" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
cp = json.load(open(sys.argv[2]))
b = cp["block_id"]
head = lines[0].split(" ")
head[3] = str(b)
out = [" ".join(head)]
for l in lines[1:-1]:
    t = l.split(" ")
    if t[0] == "checkpoint" and out[-1].split(" ")[0] in ("key", "governance-evidence"):
        l = " ".join(["checkpoint", str(b), cp["block_hash"], str(cp["last_seq"]), str(cp["total_rows"]),
                      str(cp["sealed_at_us"]), cp["key_id"], cp["signature"],
                      str(cp["version"]), cp.get("log_id", "-")])
    elif t[0] == "block" and int(t[1]) <= b:
        continue
    out.append(l)
out.append("end %d" % len(out))
open(sys.argv[3], "w").write("\n".join(out) + "\n")
EOF
"$GV" -q --key "$W/key1.hex" --old "$W/cpB.json" consistency "$W/t.split_view" >"$W/split.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "^FAILED: the new checkpoint does not extend the old one: block $((blkB + 1)) does not name the hash of the old checkpoint's block $blkB" "$W/split.out"
gov_ok $? "split view: the rewritten chain does not extend the old checkpoint (rc=$rc: $(cat "$W/split.out"))"

# --- inclusion proofs -------------------------------------------------------
bad=0; n=0
for s in $(q "SELECT l.seq FROM governance.ledger l JOIN governance.ledger_blocks b ON l.seq BETWEEN b.first_seq AND b.last_seq ORDER BY l.seq"); do
	gov_psql "$C" -At -U ev_auditor -c "SELECT governance.inclusion_proof($s)" >"$W/incl.txt"
	"$GV" -q --key "$W/key1.hex" inclusion "$W/incl.txt" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "# inclusion of $s fails"; }
	n=$((n + 1))
done
gov_is "0 of $n" "$bad of $n" "the inclusion proof of every sealed event verifies offline"
dseq=$(q "SELECT max(seq) FROM governance.ledger WHERE kind = 'governance.delegated'")
gov_psql "$C" -At -U ev_auditor -c "SELECT governance.inclusion_proof($dseq)" >"$W/incl.txt"
$PY -c "
import sys
l = open(sys.argv[1]).read().split('\n')
for i, x in enumerate(l):
    if x.startswith('path '):
        t = x.split(' '); h = t[3]
        t[3] = ('0' if h[0] != '0' else '1') + h[1:]
        l[i] = ' '.join(t)
open(sys.argv[2], 'w').write('\n'.join(l))" "$W/incl.txt" "$W/incl.bad"
"$GV" -q --key "$W/key1.hex" inclusion "$W/incl.bad" >"$W/incl.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "^FAILED: the audit path of row $dseq does not lead to block [0-9]*'s Merkle root" "$W/incl.out"
gov_ok $? "an altered audit path fails (rc=$rc: $(cat "$W/incl.out"))"

# --- artifacts, checkpoints ---------------------------------------------------
"$GV" -q --key "$W/key1.hex" artifact "$art" >"$W/art.out" 2>&1
gov_is 0 $? "the agent's artifact verifies offline ($(cat "$W/art.out"))"
forged=$(printf '%s' "$art" | sed 's/.$/A/')
[ "$forged" = "$art" ] && forged=$(printf '%s' "$art" | sed 's/.$/Q/')
"$GV" -q --key "$W/key1.hex" artifact "$forged" >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 2 ]
gov_ok $? "a forged artifact does not verify (rc=$rc)"
"$GV" -q --key "$(q "SELECT encode(public_key, 'hex') FROM governance.signing_keys WHERE key_id = '$k2'")" checkpoint "$W/cpB.json" >/dev/null 2>&1
gov_is 0 $? "a checkpoint verifies under its key"
sed 's/"last_seq": [0-9]*/"last_seq": 1/' "$W/cpB.json" >"$W/cp.bad"
"$GV" -q --key "$(q "SELECT encode(public_key, 'hex') FROM governance.signing_keys WHERE key_id = '$k2'")" checkpoint "$W/cp.bad" >"$W/cp.out" 2>&1
gov_is 1 $? "an altered checkpoint does not ($(cat "$W/cp.out"))"
# key rotation: the checkpoint signed by the rotated-to key k2, verified
# from the first key alone through the endorsement in an evidence file
"$GV" -q --key "$W/key1.hex" checkpoint "$W/cpB.json" >"$W/cpk.out" 2>&1
gov_is "1 FAILED: checkpoint signed by unknown key $k2" "$? $(cat "$W/cpk.out")" "the rotated-to key's checkpoint does not verify under the first key alone"
"$GV" -q --key "$W/key1.hex" --keys "$W/bundle.txt" checkpoint "$W/cpB.json" >"$W/cpk.out" 2>&1
gov_is 0 $? "it does with --keys BUNDLE: k2 endorsed by the first key ($(cat "$W/cpk.out"))"
gov_psql "$C" -U ev_auditor -c "\\copy (SELECT governance.inclusion_proof(1)) TO '$W/incl1.txt'" >/dev/null
"$GV" -q --key "$W/key1.hex" --keys "$W/incl1.txt" --json checkpoint "$W/cpB.json" >"$W/cpk.json" 2>&1
gov_like '"verified": true.*"keys": 2, "trusted_keys": 2' "$(cat "$W/cpk.json")" "any evidence file carries the keys (an inclusion proof), --json counts them"
"$GV" -q --key "$W/key1.hex" --keys "$W/bundle.txt" checkpoint "$W/cp.bad" >"$W/cpk.out" 2>&1
gov_is "1 FAILED: checkpoint signature does not verify" "$? $(cat "$W/cpk.out")" "an altered checkpoint of the rotated key does not verify"
awk -v k="$k2" '$1 == "key" && $2 == k { $8 = (substr($8, 1, 1) == "0" ? "1" : "0") substr($8, 2) } { print }' "$W/bundle.txt" >"$W/keys_bad.txt"
"$GV" -q --key "$W/key1.hex" --keys "$W/keys_bad.txt" checkpoint "$W/cpB.json" >"$W/cpk.out" 2>&1
gov_is "1 FAILED: key $k2: its endorsement by $k1 does not verify" "$? $(cat "$W/cpk.out")" "a forged endorsement is refused"
awk -v k="$k2" '$1 == "key" && $2 == k { $7 = "-"; $8 = "-" } { print }' "$W/bundle.txt" >"$W/keys_unend.txt"
"$GV" -q --key "$W/key1.hex" --keys "$W/keys_unend.txt" checkpoint "$W/cpB.json" >"$W/cpk.out" 2>&1
gov_is "1 FAILED: checkpoint signed by untrusted key $k2: it is not endorsed from a trusted key" "$? $(cat "$W/cpk.out")" \
	"a key whose endorsement was removed is not trusted"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/other.hex"
"$GV" -q --key "$W/other.hex" --keys "$W/bundle.txt" checkpoint "$W/cpB.json" >"$W/cpk.out" 2>&1
gov_like "^1 FAILED: the trusted key [0-9a-f]{16} is not among the keys given" "$? $(cat "$W/cpk.out")" "another trusted key: the bundle's keys do not lead to it"
"$GV" -q --key "$W/key1.hex" --keys "$W/bundle.txt" bundle "$W/bundle.txt" >/dev/null 2>&1
gov_is 2 $? "--keys with another command is bad input"
"$GV" -q --key "$W/key1.hex" --keys "$W/hello.none" checkpoint "$W/cpB.json" >/dev/null 2>&1
gov_is 2 $? "--keys naming no file is bad input"

# --- bad input: exit 2 ----------------------------------------------------------
bad_in() {	# bad_in DESCRIPTION ARGS...
	d=$1; shift
	"$GV" "$@" >"$W/bad.out" 2>&1
	rc=$?
	gov_is 2 "$rc" "bad input exits 2: $d ($(head -n 1 "$W/bad.out"))"
}
echo "hello" >"$W/hello.txt"
sed '1s/^governance-evidence 2 /governance-evidence 3 /' "$W/bundle.txt" >"$W/v2.txt"
: >"$W/empty.txt"
bad_in "a file that does not exist" --key "$W/key1.hex" bundle "$W/nonexistent"
bad_in "not evidence" --key "$W/key1.hex" bundle "$W/hello.txt"
bad_in "an empty file" --key "$W/key1.hex" bundle "$W/empty.txt"
bad_in "an unknown version" --key "$W/key1.hex" bundle "$W/v2.txt"
bad_in "no trusted key" bundle "$W/bundle.txt"
bad_in "a key that is not one" --key "$W/hello.txt" bundle "$W/bundle.txt"
bad_in "a bundle given as an inclusion proof" --key "$W/key1.hex" inclusion "$W/bundle.txt"
bad_in "an unknown command" --key "$W/key1.hex" frobnicate "$W/bundle.txt"
bad_in "a malformed checkpoint" --checkpoint "$W/hello.txt" bundle "$W/bundle.txt"
"$GV" --help >"$W/help.out"
gov_ok $? "--help exits 0"
grep -q "^EXIT STATUS" "$W/help.out" && grep -q "^SYNOPSIS" "$W/help.out"
gov_ok $? "--help reads like a man page (SYNOPSIS, EXIT STATUS)"
