#!/bin/sh
# Issue 3, item 2: an implementation outside C that imports nothing from the
# project (test/outside/verify_ledger.py, written from docs/FORMAT.md alone)
# recomputes key ids, self-signatures, endorsements, canonical JSON, event
# bytes, evidence, chain links, Merkle roots, block hashes, block signatures
# and checkpoints of a varied ledger, agrees byte for byte with
# canonical_json() and event_bytes(), and rejects every kind of alteration of
# the exported ledger, naming the first problem.
set -u
. "$(dirname "$0")/../lib.sh"
PY=$SYS_PYTHON
# lib.sh derives GOV_ROOT from $0/.., which is test/ for a script in test/system
OUTSIDE=$(cd "$(dirname "$0")/../outside" && pwd)
V="$OUTSIDE/verify_ledger.py"
export PGCLIENTENCODING=UTF8
T=$(gov_tmpdir)
C=$T/outside
W=$(mktemp -d "${TMPDIR:-/tmp}/governance-outside.XXXXXX")
gov_new_cluster "$C" || exit 1
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
gov_start "$C" || exit 1
gov_sql "$C" "CREATE EXTENSION governance" >/dev/null 2>&1

# --- payloads exercising section 4, one JSON text per line, as typed -------
# (key order by UTF-8 bytes: "B" < "a" < "aa" < "ab" < "b" < "é"; U+E000 and
# U+FFFF sort before U+1F600 in UTF-8 but not in UTF-16; duplicates keep the
# last; number tokens that PostgreSQL rewrites; control characters; no \u0000,
# which jsonb refuses.)
cat >"$W/payloads.txt" <<'EOF'
{"b": 1, "a": [1, 2, {"z": null, "y": "é\n"}], "n": 1.50}
{"a": 1, "B": 2, "aa": 3, "é": 4, "b": 5, "ab": 6, "": 7, "~": 8, "ä": 9, "z\u0001": 10, "z": 11, "a\u007f": 12}
{"ctl": "line\nfeed\ttab\rcr\bbs\fff \u0001\u001f\u007f end", "q": "say \"hi\" \\ back\\slash / solidus \/"}
{"uni": "日本語 Ωμέγα", "emoji": "🚀👍🏽", "esc": "\u00e9\u65e5\ud83d\ude80", "ls": "\u2028\u2029", "nbsp": "\u00a0"}
{"nums": [1.50, 1e3, -0, 0.000001, 123456789012345678901234567890, 1E+2, 2.50e1, -0.00, 1.0e-2, -12.5, 0, -1, 1e-7, 0.1e1, 100, 1.000]}
[true, false, null, {}, [], "", [[]], {"x": {}}, [{}], "null", "true", "0"]
{"deep": {"l1": {"l2": {"l3": [1, {"l4": [2, {"l5": "bottom"}]}]}}}, "after": [[[[[]]]]]}
{"dup": 1, "dup": 2, "other": 0, "dup": {"x": "last wins"}}
"just a string with \"quotes\" and \\ and é"
42
-0.0
null
{"spaces in key": " leading and trailing ", "tab\tkey": 1, "nl\nkey": 2, "quote\"key": 3, "back\\key": 4}
{"big": -98765432109876543210.0123456789000, "small": 1e-20, "exp": 6.02214076e23, "neg": -1.5E-3}
{"\u00e9": "precomposed", "e\u0301": "decomposed"}
{"😀": 1, "\ue000": 2, "\uffff": 3, "\u0080": 4, "\u07ff": 5, "\u0800": 6, "z": 7}
   {  "ws"  :  [ 1 ,  2 ]  ,  "x" :{ } }   
{"amount": 1000.00, "currency": "EUR", "memo": "tool call: transfer(\"17\", 1000.00)"}
EOF

# record every line under a kind that says which line it was
$PY - "$W/payloads.txt" >"$W/payloads.sql" <<'EOF'
import sys
for n, line in enumerate(open(sys.argv[1], encoding="utf-8").read().split("\n"), 1):
    if line.strip():
        assert "$gov$" not in line
        print("SELECT governance.record('payload.p%d', $gov$%s$gov$::jsonb);" % (n, line))
EOF
npayload=$(grep -c . "$W/payloads.sql")
half=$((npayload / 2))
head -n "$half" "$W/payloads.sql" >"$W/batch1.sql"
tail -n +"$((half + 1))" "$W/payloads.sql" >"$W/batch2.sql"

# batch 1 (key 1): payloads, a rolled-back append, then a seal
gov_psql "$C" -f "$W/batch1.sql" >/dev/null
gov_psql "$C" -c "BEGIN" -c "SELECT governance.record('aborted', '{\"gap\": 1}')" -c "ROLLBACK" >/dev/null
gov_sql "$C" "SELECT governance.record('after-gap', '{\"x\": 1}')" >/dev/null
gov_sql "$C" "SELECT governance.seal()" >/dev/null
k1=$(gov_sql "$C" "SELECT governance.current_key_id()")

# rotate: later blocks are signed by key 2, earlier ones by the retired key 1
k2=$(gov_sql "$C" "SELECT governance.rotate_key()")

# batch 2 (key 2): the other payloads, 40 rows in one transaction, two
# consecutive aborted appends, a transaction that commits after younger ones
gov_psql "$C" -f "$W/batch2.sql" >/dev/null
gov_sql "$C" "SELECT count(governance.record('bulk', jsonb_build_object('i', i, 'x', i * 1.5, 's', repeat('é', i)))) FROM generate_series(1, 40) i" >/dev/null
gov_psql "$C" -c "BEGIN" -c "SELECT governance.record('aborted', '[1]')" -c "SELECT governance.record('aborted', '[2]')" -c "ROLLBACK" >/dev/null
gov_psql "$C" -c "BEGIN" -c "SELECT governance.record('slow', '{\"slow\": true}')" -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null &
slow=$!
sleep 0.5
for i in 1 2 3; do gov_sql "$C" "SELECT governance.record('fast', '{\"i\": $i}')" >/dev/null; done
gov_sql "$C" "SELECT governance.seal()" >/dev/null
wait $slow
gov_sql "$C" "SELECT governance.seal()" >/dev/null

# rotate again; a block of one row, then a few more rows with a gap inside
k3=$(gov_sql "$C" "SELECT governance.rotate_key()")
gov_sql "$C" "SELECT governance.record('single', '{\"one\": [1]}')" >/dev/null
gov_sql "$C" "SELECT governance.seal()" >/dev/null
gov_sql "$C" "SELECT governance.record('tail', '1')" >/dev/null
gov_psql "$C" -c "BEGIN" -c "SELECT governance.record('aborted', '3')" -c "ROLLBACK" >/dev/null
for i in 1 2 3 4 5; do gov_sql "$C" "SELECT governance.record('tail', '{\"n\": $i.0}')" >/dev/null; done
gov_sql "$C" "SELECT governance.seal()" >/dev/null
gov_sql "$C" "SELECT governance.checkpoint()" >"$W/checkpoint.json"

[ -n "$k1" ] && [ -n "$k2" ] && [ -n "$k3" ] && [ "$k1" != "$k2" ] && [ "$k2" != "$k3" ]
gov_ok $? "the ledger was built across two key rotations ($k1, $k2, $k3)"

# --- export and verify --------------------------------------------------------
gov_sql "$C" "$($PY "$V" --export-sql)" >"$W/export.json"
pin=$(gov_sql "$C" "SELECT encode(public_key, 'hex') FROM governance.signing_keys WHERE key_id = '$k1'")
$PY "$V" --pin "$pin" --checkpoint "$W/checkpoint.json" "$W/export.json" >"$W/verify.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^OK: ledger verified' "$W/verify.out"
gov_ok $? "the outside verifier accepts the ledger, pinned to the first key, with the checkpoint (rc=$rc)"
sed 's/^/# /' "$W/verify.out"

nrows=$(gov_sql "$C" "SELECT count(*) FROM governance.ledger")
nblocks=$(gov_sql "$C" "SELECT count(*) FROM governance.ledger_blocks")
grep -q "^rows: $nrows " "$W/verify.out" && grep -q "^blocks: $nblocks," "$W/verify.out"
gov_ok $? "it checked all $nrows rows and all $nblocks blocks"
line=$(grep '^blocks:' "$W/verify.out")
retired=$(echo "$line" | sed -n 's/.*(\([0-9]*\) now retired).*/\1/p')
gaps=$(echo "$line" | sed -n 's/.*gaps: \([0-9]*\) seqs.*/\1/p')
[ "${retired:-0}" -ge 2 ] && [ "${gaps:-0}" -ge 4 ] && [ "$nblocks" -ge 4 ]
gov_ok $? "blocks signed by retired keys ($retired), gaps ($gaps seqs) and several blocks ($nblocks) were verified"
[ "$(gov_sql "$C" "SELECT ok FROM governance.verify_ledger()")" = "t" ]
gov_ok $? "verify_ledger() in SQL agrees"

# --- byte-for-byte agreement with the SQL functions ----------------------------
gov_sql "$C" "SELECT seq || E'\t' || encode(convert_to(governance.canonical_json(payload), 'UTF8'), 'hex') FROM governance.ledger ORDER BY seq" >"$W/canon.sql.txt"
$PY "$V" --dump canonical "$W/export.json" >"$W/canon.py.txt"
[ -s "$W/canon.py.txt" ] && cmp -s "$W/canon.sql.txt" "$W/canon.py.txt"
gov_ok $? "canonical_json(payload) equals the Python canonical form for every row"
diff "$W/canon.sql.txt" "$W/canon.py.txt" | head -n 6 | sed 's/^/# /'

gov_sql "$C" "SELECT seq || E'\t' || encode(governance.event_bytes(seq), 'hex') FROM governance.ledger ORDER BY seq" >"$W/event.sql.txt"
$PY "$V" --dump event "$W/export.json" >"$W/event.py.txt"
[ -s "$W/event.py.txt" ] && cmp -s "$W/event.sql.txt" "$W/event.py.txt"
gov_ok $? "event_bytes(seq) equals the Python event bytes for every row"
diff "$W/event.sql.txt" "$W/event.py.txt" | head -n 6 | sed 's/^/# /'

for what in block checkpoint; do
	gov_sql "$C" "SELECT block_id || E'\t' || encode(governance.${what}_bytes(block_id), 'hex') FROM governance.ledger_blocks ORDER BY block_id" >"$W/$what.sql.txt"
	$PY "$V" --dump $what "$W/export.json" >"$W/$what.py.txt"
	[ -s "$W/$what.py.txt" ] && cmp -s "$W/$what.sql.txt" "$W/$what.py.txt"
	gov_ok $? "${what}_bytes(block_id) equals the Python $what bytes for every block"
	diff "$W/$what.sql.txt" "$W/$what.py.txt" | head -n 6 | sed 's/^/# /'
done

# the canonical form of each payload as typed (numbers like 1e3, -0, 2.50e1;
# duplicate keys; whitespace) computed by Python from the input text alone
gov_sql "$C" "SELECT encode(convert_to(governance.canonical_json(payload), 'UTF8'), 'hex') FROM governance.ledger WHERE kind LIKE 'payload.%' ORDER BY substr(kind, 10)::int" >"$W/typed.sql.txt"
$PY "$V" --canonicalize <"$W/payloads.txt" | $PY -c "
import sys
for l in sys.stdin.buffer.read().split(b'\n')[:-1]: print(l.hex())" >"$W/typed.py.txt"
[ "$(wc -l <"$W/typed.py.txt")" -eq "$npayload" ] && cmp -s "$W/typed.sql.txt" "$W/typed.py.txt"
gov_ok $? "Python canonicalises each of the $npayload payloads as typed exactly as canonical_json() does"
diff "$W/typed.sql.txt" "$W/typed.py.txt" | head -n 6 | sed 's/^/# /'

# the example of FORMAT.md section 4, verbatim
want='{"a":[1,2,{"y":"é\n","z":null}],"b":1,"n":1.50}'
got=$(printf '%s\n' '{"b": 1, "a": [1, 2, {"z": null, "y": "é\n"}], "n": 1.50}' | $PY "$V" --canonicalize)
[ "$got" = "$want" ]; gov_ok $? "Python reproduces the canonical JSON example of FORMAT.md"

# --- alterations of the export must be found and named ------------------------
cat >"$W/mutate.py" <<'EOF'
# mutate.py WHAT IN OUT: alter an export the way a tamperer would.
import json, sys
sys.path.insert(0, sys.argv[4])
import verify_ledger as v          # only for the "recompute everything" tamperer
what, src, dst = sys.argv[1:4]
d = json.load(open(src, encoding="utf-8"))
rows, blocks, keys = d["rows"], d["blocks"], d["keys"]
def flip(h, i=10):                  # change one hex digit
    return h[:i] + ("0" if h[i] != "0" else "1") + h[i + 1:]
def find(kind_prefix):
    return next(r for r in rows if r["kind"].startswith(kind_prefix))
def block_of(seq):
    return next((b for b in blocks if b["first_seq"] <= seq <= b["last_seq"]), None)
def sealed_pair():                  # two consecutive rows (in seq order) of one block
    for a, b in zip(rows, rows[1:]):
        if b["seq"] == a["seq"] + 1 and block_of(a["seq"]) and block_of(a["seq"]) is block_of(b["seq"]):
            return a, b
msg = ""
if what == "payload-byte":
    r = find("payload.p7"); r["payload"] = r["payload"].replace("bottom", "bottoM", 1); msg = r["seq"]
elif what == "payload-scale":      # 1.50 and 1.5 are equal numbers, not equal evidence
    r = find("payload.p1"); assert "1.50" in r["payload"]
    r["payload"] = r["payload"].replace("1.50", "1.5", 1); msg = r["seq"]
elif what == "payload-key-order":  # same jsonb value, written in another order: still valid
    r = find("payload.p2"); o = json.loads(r["payload"])
    r["payload"] = json.dumps(dict(reversed(list(o.items()))), ensure_ascii=False); msg = r["seq"]
elif what == "at":
    r = find("payload.p3"); r["at_us"] += 1; msg = r["seq"]
elif what == "actor":
    r = find("bulk"); r["actor"] = r["actor"] + "x"; msg = r["seq"]
elif what == "txid":
    r = find("slow"); r["txid"] = str(int(r["txid"]) + 1); msg = r["seq"]
elif what == "link":
    r = find("fast"); r["link"] = flip(r["link"]); msg = r["seq"]
elif what == "evidence":
    r = find("single"); r["evidence"] = flip(r["evidence"]); msg = r["seq"]
elif what == "drop-row":
    a, b = sealed_pair(); rows.remove(b); msg = b["seq"]
elif what == "swap-rows":          # two rows change places in the export
    a, b = sealed_pair(); i = rows.index(a); rows[i], rows[i + 1] = b, a; msg = a["seq"]
elif what == "swap-seqs":          # two rows exchange their sequence numbers
    a, b = sealed_pair(); a["seq"], b["seq"] = b["seq"], a["seq"]
    i = rows.index(a); rows[i], rows[i + 1] = b, a; msg = b["seq"]
elif what == "insert-into-gap":    # a forged row where an aborted transaction left a gap
    b = next(b for b in blocks if b["gaps"]); g = b["gaps"][0]
    r = dict(find("after-gap")); r["seq"] = g
    i = next(i for i, x in enumerate(rows) if x["seq"] > g); rows.insert(i, r); msg = g
elif what == "merkle-root":
    b = blocks[1]; b["merkle_root"] = flip(b["merkle_root"]); msg = b["block_id"]
elif what == "block-hash":
    b = blocks[2]; b["block_hash"] = flip(b["block_hash"]); msg = b["block_id"]
elif what == "prev-hash":
    b = blocks[1]; b["prev_hash"] = flip(b["prev_hash"]); msg = b["block_id"]
elif what == "signature":
    b = blocks[0]; b["signature"] = flip(b["signature"]); msg = b["block_id"]
elif what == "sealed-at":
    b = blocks[-1]; b["sealed_at_us"] += 1; msg = b["block_id"]
elif what == "total-rows":
    b = blocks[-1]; b["total_rows"] += 1; msg = b["block_id"]
elif what == "gap-removed":
    b = next(b for b in blocks if b["gaps"]); g = b["gaps"][0]; b["gaps"] = b["gaps"][2:]; msg = g
elif what == "drop-block":         # a block in the middle disappears
    b = blocks[1]; blocks.remove(b); msg = blocks[1]["block_id"]
elif what == "resign-other-key":   # the block names another (trusted) key
    b = blocks[0]; b["key_id"] = blocks[-1]["key_id"]; msg = b["block_id"]
elif what == "recompute-all":      # change a payload and recompute every unsigned hash
    r = find("payload.p10"); r["payload"] = "43"
    rr = v.load_row(r, 0); r["evidence"] = v.sha3_512(v.event_bytes(rr)).hex()
    r["link"] = v.chain_link(None, bytes.fromhex(r["evidence"])).hex()
    by = {x["seq"]: x for x in rows}; prev = None
    for b in blocks:
        gap = set()
        flat = b["gaps"]
        for lo, hi in zip(flat[0::2], flat[1::2]): gap.update(range(lo, hi + 1))
        leaves = [v.merkle_leaf(s, bytes.fromhex(by[s]["evidence"]))
                  for s in range(b["first_seq"], b["last_seq"] + 1) if s not in gap]
        b["merkle_root"] = v.merkle_root(leaves).hex()
        b["prev_hash"] = prev
        bb = v.load_block(b, 0); b["block_hash"] = v.blake2b_512(v.block_bytes(bb)).hex()
        prev = b["block_hash"]
    msg = block_of(r["seq"])["block_id"]
elif what == "key-public":
    k = keys[1]; k["public_key"] = flip(k["public_key"]); msg = k["key_id"]
elif what == "key-self-signature":
    k = keys[0]; k["self_signature"] = flip(k["self_signature"]); msg = k["key_id"]
elif what == "key-created":
    k = keys[2]; k["created_at_us"] += 1; msg = k["key_id"]
elif what == "key-endorsement":
    k = keys[2]; k["endorsement"] = flip(k["endorsement"]); msg = k["key_id"]
elif what == "key-unendorsed":     # a key that appeared without a rotation
    k = keys[1]; k["endorsed_by"] = None; k["endorsement"] = None; msg = k["key_id"]
elif what == "key-removed":        # the (newest) key that signed the last block is gone
    keys.remove(next(k for k in keys if k["key_id"] == blocks[-1]["key_id"]))
    msg = blocks[-1]["key_id"]
elif what == "tail-removed":       # the last block and its rows vanish consistently
    b = blocks.pop(); d["rows"] = [r for r in rows if r["seq"] < b["first_seq"]]
    msg = b["block_id"]
else:
    raise SystemExit("unknown mutation " + what)
json.dump(d, open(dst, "w", encoding="utf-8"), ensure_ascii=False)
print(msg)
EOF

# expect_fail WHAT PATTERN [verifier options]: the mutated export is rejected
# with exit status 1 and a message matching PATTERN (@ = what mutate.py named).
expect_fail() {
	what=$1; pat=$2; shift 2
	name=$($PY "$W/mutate.py" "$what" "$W/export.json" "$W/m-$what.json" "$OUTSIDE") || {
		gov_ok 1 "tampering ($what): the export could be altered"; return; }
	pat=$(echo "$pat" | sed "s/@/$name/g")
	out=$($PY "$V" --pin "$pin" "$@" "$W/m-$what.json" 2>&1); rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: $pat"; then
		gov_ok 0 "tampering ($what) is found: $(echo "$out" | head -n 1)"
	else
		gov_ok 1 "tampering ($what) is found (rc=$rc, want /$pat/): $(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
}

expect_fail payload-byte      "seq @: evidence does not match"
expect_fail payload-scale     "seq @: evidence does not match"
expect_fail at                "seq @: evidence does not match"
expect_fail actor             "seq @: evidence does not match"
expect_fail txid              "seq @: evidence does not match"
expect_fail evidence          "seq @: evidence does not match"
expect_fail link              "seq @: link does not match"
expect_fail drop-row          "seq @: missing from the ledger but covered by block"
expect_fail swap-rows         "seq @: rows not in strictly increasing seq order"
expect_fail swap-seqs         "seq [0-9]*: evidence does not match"
expect_fail insert-into-gap   "seq @: evidence does not match"
expect_fail gap-removed       "seq @: missing from the ledger"
expect_fail merkle-root       "block @: merkle_root does not match"
expect_fail block-hash        "block @: block_hash does not match"
expect_fail prev-hash         "block @: prev_hash does not match"
expect_fail signature         "block @: signature by key [0-9a-f]* does not verify"
expect_fail sealed-at         "block @: block_hash does not match"
expect_fail total-rows        "block @: total_rows is"
expect_fail drop-block        "block @: expected block"
expect_fail resign-other-key  "block @: block_hash does not match"
expect_fail recompute-all     "block @: signature by key [0-9a-f]* does not verify"
expect_fail key-public        "key @: key id does not match"
expect_fail key-self-signature "key @: self-signature does not verify"
expect_fail key-created       "key @: self-signature does not verify"
expect_fail key-endorsement   "key @: endorsement by [0-9a-f]* does not verify"
expect_fail key-unendorsed    "key @ has no endorsement: the chain of custody"
expect_fail key-removed       "block [0-9]*: signed by key @, which is not in the export"

# a payload rewritten in another key order is the same jsonb value: still valid
$PY "$W/mutate.py" payload-key-order "$W/export.json" "$W/m-order.json" "$OUTSIDE" >/dev/null
$PY "$V" --pin "$pin" "$W/m-order.json" >/dev/null 2>&1
gov_ok $? "a payload exported with its keys in another order still verifies (canonical order)"

# an unendorsed key is accepted only when asked, and then with a warning
$PY "$V" --pin "$pin" --allow-unendorsed-keys "$W/m-key-unendorsed.json" >"$W/unendorsed.out" 2>&1
[ $? -eq 0 ] && grep -q "^warning: key .* has no endorsement" "$W/unendorsed.out"
gov_ok $? "--allow-unendorsed-keys accepts a key without endorsement, with a warning"

# a pin that is not the first key: fails
other=$($PY -c "import os; print(os.urandom(32).hex())")
out=$($PY "$V" --pin "$other" "$W/export.json" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: the pinned public key $other is not in the export"
gov_ok $? "a wrong pinned key is refused"

# a pin on the newest key: the older keys are not endorsed from it
pin3=$(gov_sql "$C" "SELECT encode(public_key, 'hex') FROM governance.signing_keys WHERE key_id = '$k3'")
out=$($PY "$V" --pin "$pin3" "$W/export.json" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: key $k1 has no endorsement"
gov_ok $? "pinned to the newest key, blocks of older keys are not trusted"

# a removed tail: consistent on its own, found only with the checkpoint
$PY "$W/mutate.py" tail-removed "$W/export.json" "$W/m-tail.json" "$OUTSIDE" >/dev/null
$PY "$V" --pin "$pin" "$W/m-tail.json" >/dev/null 2>&1
gov_ok $? "without a checkpoint a removed tail is self-consistent (as FORMAT.md section 7 says)"
last=$(gov_sql "$C" "SELECT max(block_id) FROM governance.ledger_blocks")
out=$($PY "$V" --pin "$pin" --checkpoint "$W/checkpoint.json" "$W/m-tail.json" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: checkpoint .*: block $last is not in the export (removed tail"
gov_ok $? "with the checkpoint kept outside, the removed tail is found: $(echo "$out" | head -n 1)"

# a checkpoint altered after signing, or signed over other values
for f in block_hash last_seq total_rows sealed_at_us; do
	$PY - "$W/checkpoint.json" "$W/cp-$f.json" "$f" <<'EOF'
import json, sys
cp = json.load(open(sys.argv[1])); f = sys.argv[3]
if f == "block_hash": cp[f] = cp[f][:5] + ("0" if cp[f][5] != "0" else "1") + cp[f][6:]
else: cp[f] += 1
json.dump(cp, open(sys.argv[2], "w"))
EOF
	out=$($PY "$V" --pin "$pin" --checkpoint "$W/cp-$f.json" "$W/export.json" 2>&1); rc=$?
	[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: checkpoint .*: signature does not verify"
	gov_ok $? "a checkpoint with an altered $f is refused"
done

# --- executions: leases, delegations, governed writes, revocations (issue 4) ---
# Rows on lease chains: authorize and deny decisions, heartbeats, record()
# under an attached lease, governed INSERT/UPDATE/DELETE (one rolled back),
# delegations two deep (each child's first event links to the parent's
# governance.delegated event), a revocation cascading down, an integrity
# revocation and an expiry.  The outside verifier checks every prev_seq and
# link of them, and finds the chain alterations below.
. "$(dirname "$0")/lib/common.sh"		# gov_is
i=0
until [ "$(gov_sql "$C" "SELECT governance.trust_state()")" = trusted ] || [ $i -ge 50 ]; do
	sleep 0.2; i=$((i + 1))
done
gov_psql "$C" >/dev/null <<'EOF'
CREATE ROLE oc_bot LOGIN IN ROLE governance_agent;
CREATE ROLE oc_sub LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"oc-bot"', 'oc_bot');
SELECT governance.register_agent('Agent::"oc-sub"', 'oc_sub');
SELECT governance.put_entity('Agent::"oc-bot"', ARRAY['Group::"oc"'], '{}');
SELECT governance.put_entity('Agent::"oc-sub"', ARRAY['Group::"oc"'], '{}');
SELECT governance.create_policy('oc_accounts',
    'permit (principal in Group::"oc", action in [Action::"acct.select", Action::"acct.insert", Action::"acct.update", Action::"acct.delete", Action::"acct.tool"], resource) when { context.amount <= 1000 };');
CREATE TABLE public.oc_accounts (id int PRIMARY KEY, account text NOT NULL, amount numeric NOT NULL);
INSERT INTO public.oc_accounts VALUES (1, 'Account::"1"', 100), (2, 'Account::"2"', 200.50);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.oc_accounts TO governance_agent;
SELECT governance.govern_table('public.oc_accounts', 'acct', 'account');
EOF
oc() {	# oc ROLE SQL...: statements as a login role, one session
	r=$1; shift
	gov_psql "$C" -At -c "SET ROLE $r" "$@"
}
grant() {	# grant ROLE PRINCIPAL ACTION RESOURCE [TTL [MEASUREMENT]] -> "lease artifact"
	oc "$1" -c "SELECT lease_id || ' ' || artifact FROM governance.authorize('$2', '$3', '$4', '{\"amount\": 5}', '${5:-10 minutes}'${6:+, '$6'})"
}
set -- $(grant oc_bot 'Agent::"oc-bot"' acct.update 'Account::"1"' '10 minutes' '\xc0ffee'); L1=$1; A1=$2
set -- $(grant oc_bot 'Agent::"oc-bot"' acct.select 'Account::"1"'); L1s=$1; A1s=$2
set -- $(grant oc_bot 'Agent::"oc-bot"' acct.insert 'Account::"3"'); L1i=$1; A1i=$2
set -- $(grant oc_bot 'Agent::"oc-bot"' acct.delete 'Account::"2"'); L1d=$1; A1d=$2
set -- $(grant oc_bot 'Agent::"oc-bot"' acct.select 'Account::"2"'); L1ds=$1; A1ds=$2
# a deny (amount too large): ledgered outside any lease
oc oc_bot -c "SELECT decision FROM governance.authorize('Agent::\"oc-bot\"', 'acct.update', 'Account::\"1\"', '{\"amount\": 5000}')" >/dev/null
# governed writes, a record() and a rolled-back write under the leases
oc oc_bot -c "BEGIN" -c "SELECT governance.attach('$A1') IS NOT NULL, governance.attach('$A1s') IS NOT NULL" \
	-c "UPDATE public.oc_accounts SET amount = amount + 1 WHERE id = 1" \
	-c "SELECT governance.record('tool.call', '{\"tool\": \"transfer\", \"amount\": 1.50}')" \
	-c "UPDATE public.oc_accounts SET amount = amount * 2 WHERE id = 1" -c "COMMIT" >/dev/null
oc oc_bot -c "BEGIN" -c "SELECT governance.attach('$A1') IS NOT NULL, governance.attach('$A1s') IS NOT NULL" \
	-c "UPDATE public.oc_accounts SET amount = 0 WHERE id = 1" -c "ROLLBACK" >/dev/null
oc oc_bot -c "BEGIN" -c "SELECT governance.attach('$A1i') IS NOT NULL" \
	-c "INSERT INTO public.oc_accounts VALUES (3, 'Account::\"3\"', 7)" -c "COMMIT" >/dev/null
oc oc_bot -c "BEGIN" -c "SELECT governance.attach('$A1d') IS NOT NULL, governance.attach('$A1ds') IS NOT NULL" \
	-c "DELETE FROM public.oc_accounts WHERE id = 2" -c "COMMIT" >/dev/null
oc oc_bot -c "SELECT governance.heartbeat('$L1', '\\xc0ffee')" >/dev/null
# delegation two deep; each child writes on its own chain
set -- $(oc oc_bot -c "SELECT lease_id || ' ' || artifact FROM governance.delegate('$L1', 'Agent::\"oc-sub\"', 'acct.update', 'Account::\"1\"', '{\"amount\": 5}')"); D1=$1; B1=$2
set -- $(oc oc_bot -c "SELECT lease_id || ' ' || artifact FROM governance.delegate('$L1s', 'Agent::\"oc-sub\"', 'acct.select', 'Account::\"1\"', '{\"amount\": 5}')"); D1s=$1; B1s=$2
oc oc_sub -c "BEGIN" -c "SELECT governance.attach('$B1') IS NOT NULL, governance.attach('$B1s') IS NOT NULL" \
	-c "UPDATE public.oc_accounts SET amount = amount - 3 WHERE id = 1" -c "COMMIT" >/dev/null
set -- $(oc oc_sub -c "SELECT lease_id || ' ' || artifact FROM governance.delegate('$D1', 'Agent::\"oc-sub\"', 'acct.update', 'Account::\"1\"', '{\"amount\": 5}')"); D2=$1; B2=$2
oc oc_sub -c "BEGIN" -c "SELECT governance.attach('$B2') IS NOT NULL" \
	-c "SELECT governance.record('tool.result', '{\"ok\": true}')" -c "COMMIT" >/dev/null
oc oc_sub -c "SELECT governance.heartbeat('$D2')" >/dev/null
# the parent writes again after delegating: its chain continues past the delegated event
oc oc_bot -c "BEGIN" -c "SELECT governance.attach('$A1') IS NOT NULL, governance.attach('$A1s') IS NOT NULL" \
	-c "UPDATE public.oc_accounts SET amount = amount + 10 WHERE id = 1" -c "COMMIT" >/dev/null
# revocations: the root (cascading to D1 and D2), an integrity revocation, an expiry
nrev=$(oc oc_bot -c "SELECT governance.revoke('$L1', 'outside_c: cascade')")
set -- $(grant oc_bot 'Agent::"oc-bot"' acct.select 'Account::"1"' '10 minutes' '\xbeef'); L3=$1
gov_psql "$C" -c "SET ROLE oc_bot" -c "SELECT governance.heartbeat('$L3', '\\xdead')" >/dev/null 2>&1
set -- $(grant oc_bot 'Agent::"oc-bot"' acct.select 'Account::"2"' '1 second'); L4=$1
sleep 2.5
gov_sql "$C" "SELECT governance.seal()" >/dev/null
gov_sql "$C" "SELECT governance.checkpoint()" >"$W/checkpoint2.json"

[ "$nrev" = 3 ] && [ -n "$D2" ] && [ -n "$L4" ]
gov_ok $? "executions built: 5 root leases with writes, 3 delegations (2 deep), a cascade of $nrev"
gov_sql "$C" "SELECT count(*) FILTER (WHERE kind = 'governance.write') || ' ' ||
                     count(*) FILTER (WHERE kind = 'governance.delegated') || ' ' ||
                     count(*) FILTER (WHERE kind = 'governance.revoke') || ' ' ||
                     count(*) FILTER (WHERE kind = 'governance.heartbeat') || ' ' ||
                     count(DISTINCT lease_id) || ' ' || count(prev_seq)
                FROM governance.ledger" >"$W/exec.counts"
read -r nwrites ndeleg nrevoke nhb nlease nprev <"$W/exec.counts"
gov_sql "$C" "SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM (SELECT kind, count(*) n FROM governance.ledger
               WHERE lease_id IS NOT NULL GROUP BY kind) k" | sed 's/^/# kinds on lease chains: /'
[ "$nwrites" -ge 6 ] && [ "$ndeleg" -ge 3 ] && [ "$nrevoke" -ge 2 ] && [ "$nhb" -ge 2 ]
gov_ok $? "the ledger holds $nwrites governed writes, $ndeleg delegated events, $nrevoke revocations, $nhb heartbeats on $nlease leases ($nprev rows with a predecessor)"
gov_is t "$(gov_sql "$C" "SELECT bool_and(p.kind = 'governance.delegated' AND p.lease_id = l.parent_id)
                            FROM governance.leases l
                            JOIN governance.ledger c ON c.seq = l.first_seq
                            JOIN governance.ledger p ON p.seq = c.prev_seq
                           WHERE l.parent_id IS NOT NULL AND l.principal = 'Agent::\"oc-sub\"'")" \
	"in SQL: each child's first event links to its parent's governance.delegated event"
gov_is 0 "$(gov_sql "$C" "SELECT count(*) FROM governance.ledger WHERE lease_id IS NOT NULL AND prev_seq IS NULL
                            AND lease_id IN (SELECT lease_id FROM governance.leases WHERE parent_id IS NOT NULL)")" \
	"in SQL: no delegated execution starts a chain of its own"

gov_sql "$C" "$($PY "$V" --export-sql)" >"$W/export2.json"
$PY "$V" --pin "$pin" --checkpoint "$W/checkpoint.json" --checkpoint "$W/checkpoint2.json" "$W/export2.json" >"$W/verify2.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^OK: ledger verified' "$W/verify2.out"
gov_ok $? "the outside verifier accepts the ledger with its executions, both checkpoints (rc=$rc)"
sed 's/^/# /' "$W/verify2.out"
nrows2=$(gov_sql "$C" "SELECT count(*) FROM governance.ledger")
grep -q "^rows: $nrows2 ($nrows2 sealed, 0 not yet sealed), with a predecessor: $nprev\$" "$W/verify2.out"
gov_ok $? "it checked every row's prev_seq and link ($nrows2 rows, $nprev with a predecessor)"
nchild=$(gov_sql "$C" "SELECT count(*) FROM governance.leases l WHERE parent_id IS NOT NULL
                        AND EXISTS (SELECT 1 FROM governance.ledger e WHERE e.lease_id = l.lease_id)")
grep -q "^executions: $((nlease)) leases with events ($nchild delegated: first event linked to the parent's governance.delegated event)" "$W/verify2.out"
gov_ok $? "it followed $nlease executions, $nchild of them delegated, to their parents' governance.delegated events"
[ "$(gov_sql "$C" "SELECT ok FROM governance.verify_ledger()")" = "t" ]
gov_ok $? "verify_ledger() in SQL agrees"
$PY "$V" --dump event "$W/export2.json" >"$W/event2.py.txt"
gov_sql "$C" "SELECT seq || E'\t' || encode(governance.event_bytes(seq), 'hex') FROM governance.ledger ORDER BY seq" >"$W/event2.sql.txt"
[ -s "$W/event2.py.txt" ] && cmp -s "$W/event2.sql.txt" "$W/event2.py.txt"
gov_ok $? "event_bytes(seq) equals the Python event bytes for every row, lease rows included"

# alterations of the execution chains; where a row changes, its evidence, its
# link, every later link of its chain and every block after it are recomputed,
# so that only the chain structure (or a block signature) is left to find it
cat >"$W/mutate2.py" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[4])
import verify_ledger as v
what, src, dst, _, l1, d1, d2 = sys.argv[1:8]
d = json.load(open(src, encoding="utf-8"))
rows, blocks = d["rows"], d["blocks"]
def chain(lease): return [r for r in rows if r["lease_id"] == lease]
def recompute():
    by = {}
    for r in rows:
        rr = v.load_row(r, 0)
        r["evidence"] = v.sha3_512(v.event_bytes(rr)).hex()
        prev = bytes.fromhex(by[r["prev_seq"]]["link"]) if r["prev_seq"] is not None else None
        r["link"] = v.chain_link(prev, bytes.fromhex(r["evidence"])).hex()
        by[r["seq"]] = r
    prevh = None
    for b in blocks:
        gap = set()
        for lo, hi in zip(b["gaps"][0::2], b["gaps"][1::2]): gap.update(range(lo, hi + 1))
        leaves = [v.merkle_leaf(s, bytes.fromhex(by[s]["evidence"]))
                  for s in range(b["first_seq"], b["last_seq"] + 1) if s not in gap]
        b["merkle_root"] = v.merkle_root(leaves).hex()
        if b.get("version", 1) >= 2:         # format 2: the lineage map too
            heads = {}
            for s in range(b["first_seq"], b["last_seq"] + 1):
                if s not in gap and by[s]["lease_id"] is not None:
                    heads[bytes.fromhex(by[s]["lease_id"].replace("-", ""))] = (s, bytes.fromhex(by[s]["link"]))
            b["lineage_root"] = v.lineage_root(heads).hex()
        b["prev_hash"] = prevh
        b["block_hash"] = v.blake2b_512(v.block_bytes(v.load_block(b, 0))).hex()
        prevh = b["block_hash"]
msg = ""
if what == "child-links-parent-authorize":   # the child's first event names the parent's authorize event
    c = chain(d1)[0]; c["prev_seq"] = chain(l1)[0]["seq"]; recompute(); msg = c["seq"]
elif what == "grandchild-links-root":        # ... or an event of its grandparent's chain
    c = chain(d2)[0]; c["prev_seq"] = [r for r in chain(l1) if r["kind"] == "governance.delegated"][0]["seq"]
    recompute(); msg = c["seq"]
elif what == "child-unlinked":               # the child's first event claims to start a chain
    c = chain(d1)[0]; c["prev_seq"] = None; recompute(); msg = c["seq"]
elif what == "write-skips":                  # a write names an older row of its chain
    ch = chain(l1); w = [r for r in ch if r["kind"] == "governance.write"][1]
    i = ch.index(w); w["prev_seq"] = ch[i - 2]["seq"]; recompute(); msg = w["seq"]
elif what == "write-moved":                  # a write is moved to the child's chain
    w = [r for r in chain(l1) if r["kind"] == "governance.write"][-1]; w["lease_id"] = d1
    recompute(); msg = w["seq"]
elif what == "write-payload":                # a governed write's row hash edited
    w = [r for r in chain(l1) if r["kind"] == "governance.write"][0]
    p = json.loads(w["payload"]); h = p["new_sha3_512"]
    p["new_sha3_512"] = ("0" if h[0] != "0" else "1") + h[1:]; w["payload"] = json.dumps(p); msg = w["seq"]
elif what == "delegated-dropped":            # the parent's delegated event vanishes
    r = [r for r in chain(l1) if r["kind"] == "governance.delegated"][0]; rows.remove(r); msg = r["seq"]
elif what == "revoke-kind":                  # the revocation is relabelled, recomputed
    r = [r for r in chain(l1) if r["kind"] == "governance.revoke"][0]; r["kind"] = "governance.heartbeat"
    recompute(); msg = blocks[-1]["block_id"]
else:
    raise SystemExit("unknown mutation " + what)
json.dump(d, open(dst, "w", encoding="utf-8"), ensure_ascii=False)
print(msg)
EOF
expect_fail2() {
	what=$1; pat=$2
	name=$($PY "$W/mutate2.py" "$what" "$W/export2.json" "$W/m2-$what.json" "$OUTSIDE" "$L1" "$D1" "$D2") || {
		gov_ok 1 "chain tampering ($what): the export could be altered"; return; }
	pat=$(echo "$pat" | sed "s/@/$name/g")
	out=$($PY "$V" --pin "$pin" "$W/m2-$what.json" 2>&1); rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: $pat"; then
		gov_ok 0 "chain tampering ($what) is found: $(echo "$out" | head -n 1)"
	else
		gov_ok 1 "chain tampering ($what) is found (rc=$rc, want /$pat/): $(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
}
expect_fail2 child-links-parent-authorize "seq @: prev_seq [0-9]* of a delegated execution's first event is a governance.authorize event, not the parent's governance.delegated event"
expect_fail2 grandchild-links-root "seq @: prev_seq [0-9]* of a delegated execution's first event is not an event of another (parent) execution\\|block [0-9]*: signature by key"
expect_fail2 child-unlinked        "block [0-9]*: signature by key [0-9a-f]* does not verify"
expect_fail2 write-skips           "seq @: prev_seq is [0-9]* but the execution's preceding row is seq [0-9]*"
expect_fail2 write-moved           "seq [0-9]*: prev_seq is [0-9]* but the execution's preceding row is seq [0-9]*"
expect_fail2 write-payload         "seq @: evidence does not match"
expect_fail2 delegated-dropped     "seq [0-9]*: prev_seq @ names no earlier row\\|seq [0-9]*: prev_seq is [0-9]* but\\|seq @: missing from the ledger"
expect_fail2 revoke-kind           "block [0-9]*: signature by key [0-9a-f]* does not verify"

gov_stop "$C"
