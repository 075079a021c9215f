#!/bin/sh
# Issue 4, artifacts: an implementation outside C (test/outside/verify_artifact.py,
# written from docs/FORMAT.md section 9 alone) verifies artifacts issued by
# authorize() and delegate(), with and without a runtime measurement, using
# nothing but the public key; its claims agree with verify_artifact() in SQL and
# with governance.leases.  Then the same malformed, forged, expired, re-keyed and
# unknown-key artifacts are refused offline and in SQL.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"		# gov_is, gov_like
PY=$SYS_PYTHON
OUTSIDE=$(cd "$(dirname "$0")/../outside" && pwd)
VA="$OUTSIDE/verify_artifact.py"
VL="$OUTSIDE/verify_ledger.py"
export PGCLIENTENCODING=UTF8
T=$(gov_tmpdir)
C=$T/artifact
W=$(mktemp -d "${TMPDIR:-/tmp}/governance-artifact.XXXXXX")
gov_new_cluster "$C" || exit 1
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
gov_start "$C" || exit 1
gov_sql "$C" "CREATE EXTENSION governance" >/dev/null 2>&1

# as ROLE SQL: one statement as a login role (SET ROLE keeps the superuser's
# connection; GetOuterUserId() is then ROLE)
as() {
	r=$1; shift
	gov_psql "$C" -Atc "SET ROLE $r; $*"
}

i=0
until [ "$(gov_sql "$C" "SELECT governance.trust_state()")" = trusted ] || [ $i -ge 50 ]; do
	sleep 0.2; i=$((i + 1))
done
gov_ok $([ "$(gov_sql "$C" "SELECT governance.trust_state()")" = trusted ]; echo $?) \
	"the cluster is trusted (enforcer running)"

gov_psql "$C" >/dev/null <<'EOF'
CREATE ROLE bot LOGIN IN ROLE governance_agent;
CREATE ROLE sub LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"bot"', 'bot');
SELECT governance.register_agent('Agent::"sub"', 'sub');
SELECT governance.create_policy('bot', 'permit (principal == Agent::"bot", action, resource);');
SELECT governance.create_policy('sub', 'permit (principal == Agent::"sub", action in [Action::"read", Action::"payments.transfer"], resource);');
EOF

# --- issue artifacts ---------------------------------------------------------
# Each case: NAME<TAB>lease<TAB>artifact in $W/issued.tsv, and its context as
# typed in $W/ctx.NAME, its measurement (hex, or empty) in $W/meas.NAME.
issue() {	# issue NAME ROLE CONTEXT MEASUREMENT_HEX SQL-CALL
	name=$1; role=$2; ctx=$3; meas=$4; call=$5
	printf '%s' "$ctx" >"$W/ctx.$name"
	printf '%s' "$meas" >"$W/meas.$name"
	line=$(as "$role" "SELECT lease_id || E'\t' || artifact FROM $call") || line=
	printf '%s\t%s\n' "$name" "$line" >>"$W/issued.tsv"
	lease_of=${line%%	*}
	eval "lease_$name=\$lease_of"
}
: >"$W/issued.tsv"
M1=$($PY -c "import hashlib; print(hashlib.sha3_256(b'image:v1').hexdigest())")
M2=$($PY -c "import os; print(os.urandom(1024).hex())")
issue_ctx() {	# issue_ctx NAME ROLE CONTEXT MEAS FUNCTION-CALL-WITH-@CTX@
	call=$(printf '%s' "$5" | sed "s|@CTX@|\$j\$$3\$j\$|")
	issue "$1" "$2" "$3" "$4" "$call"
}
issue_ctx plain bot '{"amount": 1.50, "b": [1, 2e1], "a": "é"}' "" \
	"governance.authorize('Agent::\"bot\"', 'read', 'Doc::\"1\"', @CTX@, '10 minutes')"
issue_ctx measured bot '{"tool": "transfer", "n": 3}' "$M1" \
	"governance.authorize('Agent::\"bot\"', 'Action::\"payments.transfer\"', 'Account::\"17\"', @CTX@, '10 minutes', '\\x$M1')"
issue_ctx bigmeasure bot '{}' "$M2" \
	"governance.authorize('Agent::\"bot\"', 'write', 'Doc::\"2\"', @CTX@, '10 minutes', '\\x$M2')"
issue_ctx onbehalf postgres '{"why": "admin on behalf"}' "" \
	"governance.authorize('Agent::\"bot\"', 'read', 'Doc::\"3\"', @CTX@, '20 minutes')"
issue_ctx child bot '{"step": 1}' "" \
	"governance.delegate('$lease_plain', 'Agent::\"sub\"', 'read', 'Doc::\"1\"', @CTX@, '1 hour')"
issue_ctx grandchild sub '{"step": 2}' "" \
	"governance.delegate('$lease_child', 'Agent::\"sub\"', 'read', 'Doc::\"1\"', @CTX@, '2 minutes')"
issue_ctx mchild bot '{}' "" \
	"governance.delegate('$lease_measured', 'Agent::\"sub\"', 'payments.transfer', 'Account::\"17\"', @CTX@)"
nissued=$(awk -F'\t' 'NF == 3 && $3 ~ /^gov1\./' "$W/issued.tsv" | wc -l)
gov_is 7 "$nissued" "7 artifacts issued (authorize with and without measurement, on behalf, 3 delegations)"

PK=$(gov_sql "$C" "SELECT encode(governance.public_key(), 'hex')")
K1=$(gov_sql "$C" "SELECT governance.current_key_id()")
gov_sql "$C" "SELECT json_agg(k ORDER BY created_at) FROM governance.signing_keys k" >"$W/keys.json"

# --- each verifies offline; claims agree with SQL and governance.leases ---------
# facts.NAME: one JSON object: the offline claims, the SQL result, the lease row
# and the ledger's authorize event of that lease.
while IFS='	' read -r name lease art; do
	printf '%s' "$art" >"$W/art.$name"
	$PY "$VA" --public-key "$PK" "@$W/art.$name" >"$W/off.$name" 2>"$W/off.$name.err"
	rc=$?
	gov_ok $rc "$name: verified offline with the public key only ($(cat "$W/off.$name.err" "$W/off.$name" | grep -m1 -E '^(OK|FAILED)'))"
	$PY "$VA" --keys "$W/keys.json" "@$W/art.$name" >"$W/offk.$name" 2>/dev/null
	rc2=$?
	[ $rc2 -eq 0 ] && cmp -s "$W/off.$name" "$W/offk.$name"
	gov_ok $? "$name: verified offline with its key id and the signing_keys export, same claims"
	gov_sql "$C" "SELECT json_build_object(
	    'sql', (SELECT row_to_json(v) FROM governance.verify_artifact(\$a\$$art\$a\$) v),
	    'sql_us', (SELECT json_build_object(
	        'issued_at', (extract(epoch FROM (v.claims->>'issued_at')::timestamptz) * 1000000)::bigint,
	        'expires_at', (extract(epoch FROM (v.claims->>'expires_at')::timestamptz) * 1000000)::bigint,
	        'max_expiry', (extract(epoch FROM (v.claims->>'max_expiry')::timestamptz) * 1000000)::bigint)
	        FROM governance.verify_artifact(\$a\$$art\$a\$) v),
	    'lease', (SELECT json_build_object(
	        'lease_id', l.lease_id, 'parent_id', l.parent_id, 'depth', l.depth,
	        'principal', l.principal, 'action', l.action, 'resource', l.resource,
	        'context', l.context::text, 'context_hash', encode(l.context_hash, 'hex'),
	        'measurement', encode(l.measurement, 'hex'),
	        'policy_set_hash', encode(l.policy_set_hash, 'hex'),
	        'issued_at', (extract(epoch FROM l.issued_at) * 1000000)::bigint,
	        'expires_at', (extract(epoch FROM l.expires_at) * 1000000)::bigint,
	        'max_expiry', (extract(epoch FROM l.max_expiry) * 1000000)::bigint,
	        'key_id', l.key_id, 'artifact_hash', encode(l.artifact_hash, 'hex'), 'state', l.state)
	        FROM governance.leases l WHERE l.lease_id = '$lease'),
	    'parent', (SELECT json_build_object(
	        'depth', p.depth,
	        'expires_at', (extract(epoch FROM p.expires_at) * 1000000)::bigint,
	        'max_expiry', (extract(epoch FROM p.max_expiry) * 1000000)::bigint)
	        FROM governance.leases l JOIN governance.leases p ON p.lease_id = l.parent_id
	        WHERE l.lease_id = '$lease'),
	    'event', (SELECT e.payload FROM governance.ledger e
	        WHERE e.lease_id = '$lease' AND e.kind = 'governance.authorize'))" >"$W/facts.$name"
	$PY "$VL" --canonicalize <"$W/ctx.$name" >"$W/canon.$name"
	$PY - "$W" "$name" "$lease" "$K1" >"$W/cmp.$name" 2>&1 <<'EOF'
import hashlib, json, sys
w, name, lease, k1 = sys.argv[1:5]
off = json.load(open("%s/off.%s" % (w, name)))
f = json.load(open("%s/facts.%s" % (w, name)))
art = open("%s/art.%s" % (w, name)).read()
canon = open("%s/canon.%s" % (w, name), "rb").read().rstrip(b"\n")
meas = open("%s/meas.%s" % (w, name)).read() or None
sql, us, l, ev = f["sql"], f["sql_us"], f["lease"], f["event"]
bad = []
def want(what, a, b):
    if a != b:
        bad.append("%s: %r != %r" % (what, a, b))
want("SQL valid", sql["valid"], True)
want("SQL reason", sql["reason"], None)
c = sql["claims"]
for k in ("key_id", "lease_id", "parent", "principal", "action", "resource",
          "context_sha3_512", "policy_set_hash", "measurement"):
    want("claim %s offline vs SQL" % k, off[k], c[k])
want("claim depth offline vs SQL", str(off["depth"]), c["depth"])
for k in ("issued_at", "expires_at", "max_expiry"):
    want("claim %s offline vs SQL" % k, off[k + "_us"], us[k])
    want("claim %s vs governance.leases" % k, off[k + "_us"], l[k])
want("lease_id vs leases", off["lease_id"], l["lease_id"])
want("lease_id vs issued", off["lease_id"], lease)
want("parent vs leases", off["parent"], l["parent_id"])
want("depth vs leases", off["depth"], l["depth"])
for k in ("principal", "action", "resource", "key_id", "policy_set_hash"):
    want("%s vs leases" % k, off[k], l[k])
want("context_sha3_512 vs leases", off["context_sha3_512"], l["context_hash"])
want("measurement vs leases", off["measurement"], l["measurement"])
want("measurement vs what was bound", off["measurement"], meas)
want("key_id is the current key", off["key_id"], k1)
want("artifact_hash = SHA3-512(artifact text)", hashlib.sha3_512(art.encode()).hexdigest(),
     l["artifact_hash"])
# the context hash recomputed outside C from the context as typed (section 4)
want("context_sha3_512 = SHA3-512(canonical JSON of the context as typed)",
     off["context_sha3_512"], hashlib.sha3_512(canon).hexdigest())
want("policy_set_hash vs the ledger's authorize event", off["policy_set_hash"],
     ev and ev.get("policy_set_hash"))
want("context hash vs the ledger's authorize event", off["context_sha3_512"],
     ev and ev.get("context_sha3_512"))
want("the ledger's authorize event allowed", ev and ev.get("decision"), "allow")
if f["parent"] is None:
    want("a root has depth 0", off["depth"], 0)
else:
    p = f["parent"]
    want("child depth = parent depth + 1", off["depth"], p["depth"] + 1)
    if off["expires_at_us"] > p["expires_at"]:
        bad.append("the child expires after its parent")
    if off["max_expiry_us"] > p["max_expiry"]:
        bad.append("the child's max_expiry is after its parent's")
if not off["issued_at_us"] <= off["expires_at_us"] <= off["max_expiry_us"]:
    bad.append("times out of order")
print("\n".join(bad) if bad else "same")
sys.exit(1 if bad else 0)
EOF
	gov_ok $? "$name: offline claims = verify_artifact() claims = governance.leases row = ledger event ($(head -n 3 "$W/cmp.$name" | tr '\n' ';'))"
done <"$W/issued.tsv"

$PY - "$W" <<'EOF'
import json, sys
w = sys.argv[1]
def c(n): return json.load(open("%s/off.%s" % (w, n)))
assert c("measured")["measurement"] is not None and c("plain")["measurement"] is None
assert len(bytes.fromhex(c("bigmeasure")["measurement"])) == 1024
assert c("child")["parent"] == c("plain")["lease_id"] and c("child")["depth"] == 1
assert c("grandchild")["parent"] == c("child")["lease_id"] and c("grandchild")["depth"] == 2
assert c("mchild")["parent"] == c("measured")["lease_id"] and c("mchild")["measurement"] is None
assert c("child")["principal"] == 'Agent::"sub"' and c("plain")["action"] == 'Action::"read"'
EOF
gov_ok $? "claims: measurement bound (also 1024 bytes), delegation parents and depths 1 and 2"

# the policy_set_hash claim recomputed outside C from the policies (FORMAT.md 8)
gov_sql "$C" "SELECT json_agg(json_build_object('name', name, 'source', source)) FROM governance.policies" >"$W/policies.json"
$PY - "$W" <<'EOF'
import hashlib, json, struct, sys
w = sys.argv[1]
def field(b): return struct.pack(">I", len(b)) + b
ps = sorted(json.load(open(w + "/policies.json")), key=lambda p: p["name"].encode())
msg = field(b"governance.v1.policy-set") + b"".join(
    field(p["name"].encode()) + field(p["source"].encode()) for p in ps)
h = hashlib.blake2b(msg, digest_size=64).hexdigest()
claims = [json.load(open("%s/off.%s" % (w, n)))["policy_set_hash"] for n in ("plain", "child", "mchild")]
print("# policy-set hash recomputed:", h)
sys.exit(0 if all(c == h for c in claims) else 1)
EOF
gov_ok $? "policy_set_hash claims = BLAKE2b-512 of the policy set, recomputed from governance.policies"

# --- the negative cases ---------------------------------------------------------
# craft.py: every variant as NAME<TAB>artifact, built with Python's own base64
# and PyNaCl (independent of verify_artifact.py).  "own" is a key of ours.
cat >"$W/craft.py" <<'EOF'
import base64, hashlib, struct, sys
import nacl.signing
w = sys.argv[1]
art = open(w + "/art.plain").read()
seed = bytes(range(32))
own = nacl.signing.SigningKey(seed)
own_pk = bytes(own.verify_key)
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def unb64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def field(b): return b"\xff\xff\xff\xff" if b is None else struct.pack(">I", len(b)) + b
def fields(p):
    out, pos = [], 0
    while pos < len(p):
        n = struct.unpack(">I", p[pos:pos + 4])[0]; pos += 4
        if n == 0xFFFFFFFF: out.append(None)
        else: out.append(p[pos:pos + n]); pos += n
    return out
def join(fs): return b"".join(field(f) for f in fs)
def own_kid(): return hashlib.blake2b(field(b"governance.v1.key-id") + field(own_pk),
                                      digest_size=64).digest()[:8].hex().encode()
_, p64, s64 = art.split(".")
payload, sig = unb64(p64), unb64(s64)
F = fields(payload)
out = []
def add(name, text): out.append((name, text))
def own_signed(fs): p = join(fs); return "gov1.%s.%s" % (b64(p), b64(own.sign(p).signature))
def with_claim(i, v):           # claim i (1-based after the tag) replaced, re-signed by own
    fs = list(F); fs[i] = v; return own_signed(fs)
# truncated
add("truncated-half", art[:len(art) // 2])
add("truncated-one-char", art[:-1])
add("no-signature-part", "gov1." + p64)
add("no-signature", "gov1." + p64 + ".")
add("prefix-only", "gov1.")
add("empty", "")
add("truncated-payload", "gov1.%s.%s" % (b64(payload[:-9]), s64))
# bad base64
add("base64-std-alphabet-plus", "gov1.%s+%s.%s" % (p64[:3], p64[4:], s64))
add("base64-std-alphabet-slash", "gov1.%s.%s/%s" % (p64, s64[:3], s64[4:]))
add("base64-padding", "gov1.%s.%s==" % (p64, s64))
add("base64-bad-char", "gov1.%s*%s.%s" % (p64[:10], p64[11:], s64))
add("base64-space", "gov1.%s .%s" % (p64, s64))
p1 = p64
while len(p1) % 4 != 1:
    p1 += "A"
add("base64-length-1-mod-4", "gov1.%s.%s" % (p1, s64))
# non-canonical base64: same bytes, non-zero unused trailing bits (a lenient
# decoder reads the same signature, which then verifies)
sv = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
last = sv.index(s64[-1]); assert len(s64) % 4 == 2 and last & 15 == 0
add("non-canonical-signature", "gov1.%s.%s" % (p64, s64[:-1] + sv[last | 1]))
if len(p64) % 4:
    lp = sv.index(p64[-1]); assert lp & 1 == 0
    add("non-canonical-payload", "gov1.%s.%s" % (p64[:-1] + sv[lp | 1], s64))
assert unb64(s64[:-1] + sv[last | 1]) == sig
# wrong lengths
add("signature-63-bytes", "gov1.%s.%s" % (p64, b64(sig[:63])))
add("signature-65-bytes", "gov1.%s.%s" % (p64, b64(sig + b"\0")))
add("signature-empty", "gov1.%s." % p64)
add("claim-lease-15", with_claim(2, F[2][:15]))
add("claim-lease-17", with_claim(2, F[2] + b"\0"))
add("claim-parent-8", with_claim(3, b"\1" * 8))
add("claim-key-id-15", with_claim(1, F[1][:15]))
add("claim-key-id-upper", with_claim(1, F[1].upper() if F[1].upper() != F[1] else b"ABCDEF0123456789"))
add("claim-context-63", with_claim(7, F[7][:63]))
add("claim-policy-hash-32", with_claim(8, F[8][:32]))
add("claim-issued-7", with_claim(10, F[10][1:]))
add("claim-expires-9", with_claim(11, b"\0" + F[11]))
add("claim-depth-4", with_claim(13, F[13][4:]))
add("claim-principal-null", with_claim(4, None))
add("claim-expires-null", with_claim(11, None))
add("tag-wrong", own_signed([b"governance.v1.event"] + F[1:]))
add("tag-missing", own_signed(F[1:] + [F[13]]))
add("claims-12", own_signed(F[:-1]))
add("claims-14", own_signed(F + [F[13]]))
# a 14th claim is the optional agent_key_id (FORMAT.md section 13); a 15th is one too many
add("claims-15", own_signed(F + [b"0123456789abcdef", F[13]]))
add("trailing-bytes", "gov1.%s.%s" % (b64(payload + b"\0"), b64(own.sign(payload + b"\0").signature)))
# extra part, wrong prefix
add("extra-part", art + ".AAAA")
add("extra-dot", art + ".")
add("prefix-gov2", "gov2" + art[4:])
add("prefix-upper", "GOV1" + art[4:])
add("prefix-missing", art[5:])
# another key signs the genuine payload (it names the server's key)
add("signed-by-other-key", "gov1.%s.%s" % (p64, b64(own.sign(payload).signature)))
# the payload edited by one byte (principal bot -> bou), original signature
i = payload.index(b'Agent::"bot"') + 9
edited = payload[:i] + b"u" + payload[i + 1:]
add("payload-one-byte", "gov1.%s.%s" % (b64(edited), s64))
# the signature edited by one bit
add("signature-one-bit", "gov1.%s.%s" % (p64, b64(sig[:5] + bytes([sig[5] ^ 1]) + sig[6:])))
# an unknown key id: a key of ours names itself and signs correctly
add("unknown-key", with_claim(1, own_kid()))
for n, t in out:
    assert "\t" not in t and "\n" not in t
    print("%s\t%s" % (n, t))
print("own_pk\t" + own_pk.hex(), file=sys.stderr)
EOF
$PY "$W/craft.py" "$W" >"$W/bad.tsv" 2>"$W/craft.err"
gov_ok $? "crafted $(wc -l <"$W/bad.tsv") malformed, forged and foreign artifacts ($(grep -v own_pk "$W/craft.err" | head -n 2))"
OWN=$(sed -n 's/^own_pk\t//p' "$W/craft.err")

# expect NAME OFFLINE-PATTERN SQL-PATTERN: refused offline (exit 1, FAILED:
# matching) and in SQL (valid false, reason matching; never an error)
sqlreason() {
	gov_sql "$C" "SELECT CASE WHEN valid THEN 't' WHEN NOT valid THEN 'f' END || '|' || coalesce(reason, '<null>') FROM governance.verify_artifact(\$a\$$1\$a\$)" 2>&1
}
while IFS='	' read -r name text; do
	off=$($PY "$VA" --public-key "$PK" -- "$text" 2>&1); rc=$?
	sql=$(sqlreason "$text")
	case $name in
		truncated*|no-signature*|prefix-only|empty) opat='truncated|not an artifact|base64url length|signature is|payload'; spat='malformed artifact' ;;
		base64-*|non-canonical-*) opat='base64url'; spat='malformed artifact: (signature is not 64 bytes of base64url|payload is not base64url)' ;;
		signature-*-bytes|signature-empty) opat='signature is [0-9]+ bytes'; spat='malformed artifact: signature is not 64 bytes' ;;
		claim-key-id-upper) opat='key_id is not 16 lowercase hex'; spat='malformed artifact: key id is not lowercase hex' ;;
		claim-*) opat='claim [a-z_0-9]+ (is [0-9]+ bytes|is NULL)'; spat='malformed artifact: a claim has the wrong type or length' ;;
		tag-*) opat='does not start with the tag'; spat='malformed artifact: payload does not start with the artifact tag' ;;
		claims-12) opat='holds 12 claims'; spat='malformed artifact: payload is truncated' ;;
		claims-14) opat='agent_key_id is not 16 lowercase hex'; spat='malformed artifact: a claim has the wrong type or length' ;;
		claims-15) opat='holds 15 claims'; spat='malformed artifact: payload has trailing bytes' ;;
		trailing-bytes) opat='stray bytes'; spat='malformed artifact: payload is truncated' ;;
		extra-*) opat='parts after the prefix'; spat='malformed artifact: too many parts' ;;
		prefix-*) opat='version prefix'; spat='malformed artifact: not an artifact of version gov1' ;;
		signed-by-other-key|payload-one-byte|signature-one-bit) opat='bad signature'; spat='^f\|bad signature$' ;;
		unknown-key) opat='signed by key [0-9a-f]{16}, but the public key given is key'; spat='^f\|unknown signing key [0-9a-f]{16}$' ;;
		*) opat='^$'; spat='^$' ;;
	esac
	ook=1; sok=1
	[ $rc -eq 1 ] && printf '%s\n' "$off" | grep -Eq "^FAILED: .*($opat)" && ook=0
	printf '%s\n' "$sql" | grep -Eq "^f\|" && printf '%s\n' "$sql" | grep -Eq "$spat" && sok=0
	gov_ok $ook "$name: refused offline: $(printf '%s' "$off" | head -n 1 | cut -c1-150)"
	gov_ok $sok "$name: refused by verify_artifact(): $(printf '%s' "$sql" | head -n 1 | cut -c1-150)"
done <"$W/bad.tsv"

# the unknown key: offline with the key export it is unknown; with the key of
# ours as the public key it verifies (the verifier trusts exactly the key given)
uk=$(awk -F'\t' '$1 == "unknown-key" {print $2}' "$W/bad.tsv")
out=$($PY "$VA" --keys "$W/keys.json" "$uk" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: signed by key [0-9a-f]*, which is not in the key export"
gov_ok $? "unknown key id: refused offline with the signing_keys export: $out"
$PY "$VA" --public-key "$OWN" "$uk" >/dev/null 2>&1
gov_ok $? "the same artifact verifies offline under our own key, given explicitly"
out=$($PY "$VA" --keys "$W/keys.json" --key-id "$K1" "$(cat "$W/art.plain")" 2>&1 >/dev/null)
gov_like '^OK: ' "$out" "--key-id pins the server key: accepted"
fk=$(awk -F'\t' '$1 == "signed-by-other-key" {print $2}' "$W/bad.tsv")
out=$($PY "$VA" --keys "$W/keys.json" --key-id "$K1" "$fk" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: bad signature"
gov_ok $? "signed by another key, checked against the export: $out"

# every payload byte edited (low bit, then high bit) under the genuine signature
$PY - "$W" >"$W/edits.txt" <<'EOF'
import base64, sys
w = sys.argv[1]
art = open(w + "/art.measured").read()
_, p64, s64 = art.split(".")
p = base64.urlsafe_b64decode(p64 + "=" * (-len(p64) % 4))
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
for i in range(len(p)):
    for bit in (0x01, 0x80):
        q = p[:i] + bytes([p[i] ^ bit]) + p[i + 1:]
        print("gov1.%s.%s" % (b64(q), s64))
EOF
nedits=$(wc -l <"$W/edits.txt")
okoff=$($PY - "$VA" "$PK" "$W/edits.txt" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("va", sys.argv[1])
va = importlib.util.module_from_spec(spec); spec.loader.exec_module(va)
pk = bytes.fromhex(sys.argv[2]); n = 0
for line in open(sys.argv[3]):
    try:
        va.verify(line.rstrip("\n"), public_key=pk); n += 1
    except va.Invalid:
        pass
print(n)
EOF
)
gov_is 0 "$okoff" "all $nedits one-byte edits of a payload are refused offline"
gov_psql "$C" -Atc "CREATE TABLE public.edits (n serial, a text)" >/dev/null
gov_psql "$C" -c "\\copy public.edits (a) FROM '$W/edits.txt'" >/dev/null
res=$(gov_sql "$C" "
DO \$\$
DECLARE r record; v record; nvalid int := 0; nerr int := 0; firsterr text;
BEGIN
  FOR r IN SELECT a FROM public.edits ORDER BY n LOOP
    BEGIN
      SELECT * INTO v FROM governance.verify_artifact(r.a);
      IF v.valid OR v.valid IS NULL OR v.reason IS NULL THEN nvalid := nvalid + 1; END IF;
    EXCEPTION WHEN OTHERS THEN
      nerr := nerr + 1; firsterr := coalesce(firsterr, SQLERRM);
    END;
  END LOOP;
  RAISE NOTICE 'result %|%|%', nvalid, nerr, coalesce(firsterr, '');
END \$\$" 2>&1 | sed -n 's/.*result //p')
gov_is 0 "${res%%|*}" "none of the $nedits one-byte edits is valid in SQL"
rest=${res#*|}
gov_is "0|" "$rest" "none of the $nedits one-byte edits makes verify_artifact() raise an error (errors|first)"

# --- expired --------------------------------------------------------------------
exp_line=$(as bot "SELECT lease_id || E'\t' || artifact FROM governance.authorize('Agent::\"bot\"', 'read', 'Doc::\"9\"', '{}', '1 second')")
exp_art=${exp_line#*	}
$PY "$VA" --public-key "$PK" "$exp_art" >/dev/null 2>&1
gov_ok $? "a 1-second artifact verifies offline at once"
out=$($PY "$VA" --public-key "$PK" --now "$($PY -c 'import time; print(time.time_ns() // 1000 + 2000000)')" "$exp_art" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: expired at"
gov_ok $? "offline with --now 2 s later: $out"
sleep 1.5
out=$($PY "$VA" --public-key "$PK" "$exp_art" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^FAILED: expired at"
gov_ok $? "expired artifact refused offline: $out"
# in SQL, past its first expiry the lease's state decides (heartbeats may
# have renewed it, up to max_expiry): this one was not renewed
gov_is "f|artifact expired" "$(sqlreason "$exp_art")" "expired artifact refused in SQL (not renewed)"
# expiry comes before the signature: an expired artifact whose signature is
# also wrong is reported as expired offline; in SQL only once max_expiry is
# past (here: max_expiry moved back to the first expiry, so the genuine
# signature no longer matches either)
exp_bad=$($PY - "$exp_art" <<'EOF'
import sys
a = sys.argv[1]; p, s = a.rsplit(".", 1)
print(p + "." + ("B" if s[0] == "A" else "A") + s[1:])
EOF
)
exp_max=$($PY - "$exp_art" <<'EOF'
import base64, struct, sys
a = sys.argv[1]; _, p64, s64 = a.split(".")
p = base64.urlsafe_b64decode(p64 + "=" * (-len(p64) % 4))
f, pos = [], 0
while pos < len(p):
    n = struct.unpack(">I", p[pos:pos + 4])[0]; pos += 4
    if n == 0xFFFFFFFF: f.append(None)
    else: f.append(p[pos:pos + n]); pos += n
f[12] = f[11]                       # max_expiry := expires_at (f[0] is the tag)
q = b"".join(b"\xff\xff\xff\xff" if x is None else struct.pack(">I", len(x)) + x for x in f)
print("gov1.%s.%s" % (base64.urlsafe_b64encode(q).rstrip(b"=").decode(), s64))
EOF
)
out=$($PY "$VA" --public-key "$PK" "$exp_bad" 2>&1)
gov_like '^FAILED: expired at' "$out" "offline: expiry is checked before the signature"
gov_is "f|bad signature" "$(sqlreason "$exp_bad")" "SQL, past the first expiry but before max_expiry: the signature is checked"
out=$($PY "$VA" --public-key "$PK" "$exp_max" 2>&1)
gov_like '^FAILED: expired at' "$out" "offline: max_expiry moved back, still expired first"
gov_is "f|artifact expired" "$(sqlreason "$exp_max")" "SQL, past max_expiry: artifact expired, before the (now bad) signature"

# a lease renewed past its artifact's first expiry: verify_artifact() accepts
# the artifact while the lease lives; FORMAT.md section 9 has an offline
# verifier check expires_at, so offline it is expired (conservative)
ren_line=$(as bot "SELECT lease_id || E'\t' || artifact FROM governance.authorize('Agent::\"bot\"', 'read', 'Doc::\"8\"', '{}', '2 seconds')")
ren_lease=${ren_line%%	*}; ren_art=${ren_line#*	}
sleep 1.5
as bot "SELECT governance.heartbeat('$ren_lease')" >/dev/null
sleep 1
gov_is "t|<null>" "$(sqlreason "$ren_art")" "SQL: a renewed lease's artifact is valid past its first expiry"
out=$($PY "$VA" --public-key "$PK" "$ren_art" 2>&1)
gov_like '^FAILED: expired at' "$out" "offline: the same artifact is expired (FORMAT.md 9: check expires_at)"

# --- revoked: still a genuine artifact offline; SQL knows the lease state ---------
gov_is 1 "$(as bot "SELECT governance.revoke('$lease_onbehalf', 'test: revoked')")" "revoke() ends the on-behalf lease"
$PY "$VA" --public-key "$PK" "@$W/art.onbehalf" >/dev/null 2>&1
gov_ok $? "a revoked lease's artifact still verifies offline (only the database knows the state)"
gov_is "f|lease revoked" "$(sqlreason "$(cat "$W/art.onbehalf")")" "verify_artifact() reports the revoked lease"
gov_is 3 "$(as bot "SELECT governance.revoke('$lease_plain', 'test: cascade')")" "revoking the root ends its 2 descendants"
gov_is "f|lease revoked" "$(sqlreason "$(cat "$W/art.grandchild")")" "the grandchild's artifact reports the revocation"

# --- a retired key --------------------------------------------------------------
K2=$(gov_sql "$C" "SELECT governance.rotate_key()")
PK2=$(gov_sql "$C" "SELECT encode(governance.public_key(), 'hex')")
[ -n "$K2" ] && [ "$K2" != "$K1" ] && [ "$PK2" != "$PK" ]
gov_ok $? "rotate_key(): $K1 retired, $K2 current"
gov_is t "$(gov_sql "$C" "SELECT retired_at IS NOT NULL FROM governance.signing_keys WHERE key_id = '$K1'")" "the old key is marked retired"
$PY "$VA" --public-key "$PK" "@$W/art.measured" >/dev/null 2>&1
gov_ok $? "an artifact signed by the retired key verifies offline with that key"
gov_sql "$C" "SELECT json_agg(k ORDER BY created_at) FROM governance.signing_keys k" >"$W/keys2.json"
$PY "$VA" --keys "$W/keys2.json" "@$W/art.measured" >/dev/null 2>&1
gov_ok $? "... and with the key export after rotation (key picked by id)"
out=$($PY "$VA" --public-key "$PK2" "@$W/art.measured" 2>&1)
gov_like "^FAILED: signed by key $K1, but the public key given is key $K2" "$out" "... but not with the new key"
gov_is "t|<null>" "$(sqlreason "$(cat "$W/art.measured")")" "verify_artifact() accepts the retired key's artifact of a live lease"
new_art=$(as bot "SELECT artifact FROM governance.authorize('Agent::\"bot\"', 'read', 'Doc::\"5\"')")
out=$($PY "$VA" --public-key "$PK2" "$new_art" 2>/dev/null)
gov_like "\"key_id\": \"$K2\"" "$out" "a new artifact is signed by the new key and verifies offline with it"
out=$($PY "$VA" --public-key "$PK" "$new_art" 2>&1)
gov_like "^FAILED: signed by key $K2, but the public key given is key $K1" "$out" "... and not with the retired key"
gov_is "t|<null>" "$(sqlreason "$new_art")" "verify_artifact() accepts it"

# --- what FORMAT.md section 9 says about the action claim ------------------------
# "text, always Action::"..." (the shorthand is expanded)": an action given as
# an entity uid of another type must either be refused by authorize() or give
# an artifact that a verifier written from FORMAT.md accepts.
res=$(as bot "SELECT coalesce(artifact, 'deny') FROM governance.authorize('Agent::\"bot\"', 'Doc::\"x\"', 'Doc::\"1\"')" 2>&1)
case $res in
	gov1.*) out=$($PY "$VA" --public-key "$PK2" "$res" 2>&1); rc=$?
		out="$out; verify_artifact(): $(sqlreason "$res")" ;;
	*) out="refused: $res"; rc=0 ;;
esac
gov_ok $rc "an action that is not Action::\"...\" (Doc::\"x\") is refused or its artifact matches FORMAT.md: $(echo "$out" | head -n 1)"

# --- usage errors exit 2 --------------------------------------------------------
$PY "$VA" --public-key abcd "$new_art" >/dev/null 2>&1; rc1=$?
$PY "$VA" --keys "$W/missing.json" "$new_art" >/dev/null 2>&1; rc2=$?
$PY "$VA" "$new_art" >/dev/null 2>&1; rc3=$?
gov_is "2 2 2" "$rc1 $rc2 $rc3" "a short public key, a missing key file, no key at all: exit 2"

gov_stop "$C"
