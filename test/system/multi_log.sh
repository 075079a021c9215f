#!/bin/sh
# Issue 15 item 3, a root over many logs: three clusters, three logs (A and
# B share one signing key file, C has its own), agents executing on each.
# governance-verify root-seal (the sealer cron runs) seals a root over the
# three heads, then, after more activity on A and B, a second root chained
# to the first, each head checked by a consistency proof from the previous
# root's head.  root-verify checks the chain of roots and the three exported
# bundles offline.  Negative cases each fail (exit 1) with the problem
# named: a log left out of the root, B's export presented as A's (the same
# key: only the log id tells them apart), a log's tail removed, two roots
# reordered, an old root replayed, a root signed by another key, an edited
# root, a head that goes back, a consistency proof of the other log; bad
# input exits 2.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
GV="$PGBIN/governance-verify"
T=$(gov_tmpdir)
A=$T/loga
B=$T/logb
L3=$T/logc
W=$(mktemp -d "${TMPDIR:-/tmp}/governance-multilog.XXXXXX")
chmod 777 "$W"
trap 'gov_stop "$A"; gov_stop "$B"; gov_stop "$L3"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
for d in "$A" "$B" "$L3"; do
	gov_new_cluster "$d" "governance.max_block_rows = 5" || exit 1
done
gov_start "$A" || exit 1
# B gets A's key file before its first start: one key, two logs
cp -p "$A/data/governance_signing.key" "$B/data/governance_signing.key"
gov_start "$B" || exit 1
gov_start "$L3" || exit 1

n=0
for d in "$A" "$B" "$L3"; do
	n=$((n + 1))
	{
		gov_agents_sql ml bot
		echo "SELECT governance.create_policy('ml', 'permit (principal in Group::\"ml\", action == Action::\"tool.run\", resource);');"
	} | gov_psql "$d" >/dev/null
	gov_wait_trusted "$d" 20
	gov_ok $? "log $n is trusted"
done

# run NAME DIR K: an agent authorizes and records K events on the log, sealed
run() {
	art=$(gov_sql_as "$2" ml_bot "SELECT artifact FROM governance.authorize('Agent::\"ml-bot\"', 'tool.run', 'Tool::\"$1\"')")
	gov_psql "$2" -U ml_bot -c "BEGIN" -c "SELECT governance.attach('$art')" \
		-c "SELECT count(governance.record('tool.call', jsonb_build_object('log', '$1', 'i', g))) FROM generate_series(1, $3) g" \
		-c "COMMIT" >/dev/null && gov_sql "$2" "SELECT governance.seal()" >/dev/null
}
run a "$A" 7 && run b "$B" 9 && run c "$L3" 4
gov_ok $? "agents execute on the three logs"

ida=$(gov_sql "$A" "SELECT log_id FROM governance.log_identity")
idb=$(gov_sql "$B" "SELECT log_id FROM governance.log_identity")
idc=$(gov_sql "$L3" "SELECT log_id FROM governance.log_identity")
pka=$(gov_sql "$A" "SELECT encode(governance.public_key(), 'hex')")
pkb=$(gov_sql "$B" "SELECT encode(governance.public_key(), 'hex')")
pkc=$(gov_sql "$L3" "SELECT encode(governance.public_key(), 'hex')")
[ -n "$pka" ] && [ "$pka" = "$pkb" ] && [ "$pka" != "$pkc" ] && [ "$ida" != "$idb" ]
gov_ok $? "logs A and B share one signing key under two log ids ($ida, $idb)"

{
	echo "# name log_id public_key"
	echo "a $ida $pka"
	echo "b $idb $pkb"
	echo "c $idc $pkc"
} >"$W/registry"
grep -v '^c ' "$W/registry" >"$W/registry_ab"

out=$("$GV" root-keygen "$W/root.key")
gov_is 0 $? "root-keygen writes a root key"
echo "$out" >"$W/root.pub"
[ "$(stat -c %a "$W/root.key")" = 600 ] && [ ${#out} -eq 64 ]
gov_ok $? "the root key file is 0600; its public key is printed"
"$GV" root-keygen "$W/root.key" >/dev/null 2>&1
gov_is 2 $? "root-keygen never overwrites a key"

# cp NAME DIR: the log's checkpoint, as cron fetches it
cp_of() { gov_sql "$2" "SELECT governance.checkpoint()" >"$W/cp_$1.$3.json"; }
cp_of a "$A" 1; cp_of b "$B" 1; cp_of c "$L3" 1
seal1="--checkpoint a=$W/cp_a.1.json --checkpoint b=$W/cp_b.1.json --checkpoint c=$W/cp_c.1.json"
"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" $seal1 -o "$W/root1" >"$W/seal1.out" 2>&1
gov_is 0 $? "root 1 sealed over the three heads: $(cat "$W/seal1.out")"
gov_is 3 "$(grep -c '^head ' "$W/root1")" "root 1 holds three heads"
! grep -q "$(cut -c1-20 "$W/root.key")" "$W/root1" "$W/seal1.out"
gov_ok $? "the root key's seed is in neither the root nor the output"
[ "$(grep '^head ' "$W/root1" | cut -d' ' -f2 | sort -c 2>&1)" = "" ]
gov_ok $? "the heads are sorted by log id"

# activity between the roots on A and B (C stays where it was)
run a2 "$A" 6 && run b2 "$B" 11
gov_ok $? "more executions on logs A and B"
cp_of a "$A" 2; cp_of b "$B" 2; cp_of c "$L3" 2
# cron: the previous root's head of each log, a consistency proof to the new one
for x in a:"$A":$ida b:"$B":$idb; do
	nm=${x%%:*}; rest=${x#*:}; dir=${rest%%:*}; id=${rest#*:}
	"$GV" root-head "$W/root1" "$id" >"$W/old_$nm.json" || echo "no head of $nm" >&2
	gov_psql "$dir" -c "\\copy (SELECT governance.consistency_proof('$(cat "$W/old_$nm.json")', '$(cat "$W/cp_$nm.2.json")')) TO '$W/cons_$nm.txt'"
done
cmp -s "$W/cp_c.1.json" "$W/cp_c.2.json"
gov_ok $? "log C's head did not move"
seal2="--checkpoint a=$W/cp_a.2.json --checkpoint b=$W/cp_b.2.json --checkpoint c=$W/cp_c.2.json"
cons="--consistency a=$W/cons_a.txt --consistency b=$W/cons_b.txt"
"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" --prev "$W/root1" $seal2 $cons -o "$W/root2" >"$W/seal2.out" 2>&1
gov_is 0 $? "root 2 sealed, chained to root 1, each moved head proven to extend: $(cat "$W/seal2.out")"
gov_like "^seq 2$" "$(cat "$W/root2")" "root 2 has seq 2"

# the auditor's set: each log's bundle
for x in a:"$A" b:"$B" c:"$L3"; do
	gov_psql "${x#*:}" -c "\\copy (SELECT governance.export()) TO '$W/bundle_${x%%:*}.txt'"
done
bundles="--bundle a=$W/bundle_a.txt --bundle b=$W/bundle_b.txt --bundle c=$W/bundle_c.txt"
"$GV" root-verify --registry "$W/registry" --key "$W/root.pub" $bundles "$W/root1" "$W/root2" >"$W/v.out" 2>&1
gov_is 0 $? "root-verify: the set of logs verifies offline against the chain of roots"
gov_like "^OK: 2 roots \\(seq 1 to 2\\)" "$(cat "$W/v.out")" "it says so: $(cat "$W/v.out")"
"$GV" root-verify --json --registry "$W/registry" --key "$(cat "$W/root.pub")" $bundles --after "$W/root1" "$W/root2" >"$W/v.json"
gov_is 0 $? "--after: the kept root 1, then root 2"
$SYS_PYTHON -c "
import json,sys; j=json.load(open(sys.argv[1])); assert j['verified'] and j['newest_seq']==2 and j['logs']==3, j" "$W/v.json"
gov_ok $? "--json reports it"

# the Python outside verifier (test/outside/verify_root.py, from FORMAT.md 19)
VR="$SYS_PYTHON $(cd "$(dirname "$0")/../outside" && pwd)/verify_root.py --registry $W/registry --key $W/root.pub"
$VR $bundles "$W/root1" "$W/root2" >"$W/py.out" 2>&1
gov_is 0 $? "the Python outside verifier verifies the same set: $(cat "$W/py.out")"

# expect NAME WANT-REGEX CMD...: exit 1 and the problem named
expect() {
	nm=$1; want=$2; shift 2
	"$@" >"$W/neg.out" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -Eq "^FAILED: .*$want" "$W/neg.out"; then
		echo "ok - $nm: $(head -n 1 "$W/neg.out")"
	else
		echo "not ok - $nm: exit $rc: $(head -n 3 "$W/neg.out")"
	fi
}
V="$GV root-verify --registry $W/registry --key $W/root.pub"

# a log left out of the root
"$GV" root-seal --registry "$W/registry_ab" --root-key "$W/root.key" \
	--checkpoint a="$W/cp_a.1.json" --checkpoint b="$W/cp_b.1.json" -o "$W/root_ab" >/dev/null
expect "a log left out of the root" "registry incomplete: log c is left out of root seq 1" \
	$V $bundles "$W/root_ab"
# one log's export presented as the other's (the same key)
expect "B's export presented as A's under the same key" "log a .*another log" \
	$V --bundle a="$W/bundle_b.txt" --bundle b="$W/bundle_b.txt" --bundle c="$W/bundle_c.txt" "$W/root1" "$W/root2"
expect "the sealer refuses B's checkpoint given as A's" "log a: the checkpoint is of another log" \
	"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" \
	--checkpoint a="$W/cp_b.1.json" --checkpoint b="$W/cp_b.1.json" --checkpoint c="$W/cp_c.1.json" -o "$W/bad"
[ ! -e "$W/bad" ]; gov_ok $? "and writes no root"
# a log's tail removed: A's export stops at root 1's head
hb1=$(grep "^head $(echo "$ida" | tr -d -)" "$W/root1" | cut -d' ' -f3)
gov_psql "$A" -c "\\copy (SELECT governance.export(NULL, $hb1)) TO '$W/bundle_a_cut.txt'"
expect "a log's tail removed" "log a .*root seq 2" \
	$V --bundle a="$W/bundle_a_cut.txt" --bundle b="$W/bundle_b.txt" --bundle c="$W/bundle_c.txt" "$W/root1" "$W/root2"
$V --bundle a="$W/bundle_a_cut.txt" --bundle b="$W/bundle_b.txt" --bundle c="$W/bundle_c.txt" "$W/root1" >/dev/null 2>&1
gov_is 0 $? "(the cut export still verifies against root 1 alone: the failure is the tail)"
# two roots reordered
expect "two roots reordered" "roots reordered: .* seq 1 after seq 2" $V $bundles "$W/root2" "$W/root1"
# an old root replayed
expect "an old root replayed after the kept root" "an old root replayed" $V $bundles --after "$W/root2" "$W/root1"
expect "an old root replayed in the chain" "an old root replayed" $V $bundles "$W/root1" "$W/root2" "$W/root1"
# a fork: a second root 1 (the same key, the same heads), then root 2
"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" $seal1 -o "$W/root1b" >/dev/null
expect "a root of another chain (a fork at seq 1)" "broken root chain: .* does not name the hash of root seq 1" \
	$V $bundles --after "$W/root1b" "$W/root2"
# the Python verifier fails the same cases, naming them
"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" $seal1 -o "$W/root1b" >/dev/null
expect "Python: a log left out" "registry incomplete: log c is left out" $VR $bundles "$W/root_ab"
expect "Python: B's export as A's" "log a against its head" \
	$VR --bundle a="$W/bundle_b.txt" --bundle b="$W/bundle_b.txt" --bundle c="$W/bundle_c.txt" "$W/root1" "$W/root2"
expect "Python: a tail removed" "log a against its head in root seq 2" \
	$VR --bundle a="$W/bundle_a_cut.txt" --bundle b="$W/bundle_b.txt" --bundle c="$W/bundle_c.txt" "$W/root1" "$W/root2"
expect "Python: roots reordered" "roots reordered" $VR $bundles "$W/root2" "$W/root1"
expect "Python: an old root replayed" "an old root replayed" $VR $bundles "$W/root1" "$W/root2" "$W/root1"
expect "Python: a fork" "broken root chain" $VR $bundles "$W/root1b" "$W/root2"

# a root signed by another key
"$GV" root-keygen "$W/other.key" >"$W/other.pub"
"$GV" root-seal --registry "$W/registry" --root-key "$W/other.key" $seal1 -o "$W/root_other" >/dev/null
expect "a root signed by another key" "unknown key" $V $bundles "$W/root_other"
expect "the sealer refuses a previous root of another key" "not signed by the root key" \
	"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" --prev "$W/root_other" $seal2 $cons -o "$W/bad"
# an edited root: a head's block hash changed
$SYS_PYTHON - "$W/root1" "$W/root1_ed" <<'EOF2'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = next(i for i, l in enumerate(lines) if l.startswith("head "))
t = lines[i].split(" ")
t[3] = ("0" if t[3][0] != "0" else "1") + t[3][1:]
lines[i] = " ".join(t)
open(sys.argv[2], "w").write("\n".join(lines))
EOF2
expect "an edited head in a root" "Merkle root does not match|bad signature" $V $bundles "$W/root1_ed"
sed 's/^seq 2$/seq 3/' "$W/root2" >"$W/root2_ed"
expect "an edited seq" "bad signature" $V $bundles "$W/root1" "$W/root2_ed"
# the sealer: a head that goes back, a proof of the other log
expect "the sealer refuses a head that went back" "log [ab]: the head went back" \
	"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" --prev "$W/root2" $seal1 -o "$W/bad"
expect "the sealer refuses B's consistency proof for A" "log a does not extend its head" \
	"$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" --prev "$W/root1" $seal2 \
	--consistency a="$W/cons_b.txt" --consistency b="$W/cons_b.txt" -o "$W/bad"
[ ! -e "$W/bad" ]; gov_ok $? "no root written by a refused seal"

# bad input: exit 2
bad() {
	nm=$1; shift
	"$@" >"$W/bad.out" 2>&1
	rc=$?
	[ "$rc" -eq 2 ]; gov_ok $? "bad input exits 2: $nm ($(head -c 150 "$W/bad.out" | tr '\n' ' '))"
}
bad "a moved head without its consistency proof" "$GV" root-seal --registry "$W/registry" --root-key "$W/root.key" --prev "$W/root1" $seal2 -o "$W/bad"
bad "a missing bundle" $V --bundle a="$W/bundle_a.txt" --bundle b="$W/bundle_b.txt" "$W/root1"
bad "a log the registry does not name" $V $bundles --bundle z="$W/bundle_a.txt" "$W/root1"
printf 'a not-a-log-id %s\n' "$pka" >"$W/reg_bad"
bad "a malformed registry" "$GV" root-verify --registry "$W/reg_bad" --key "$W/root.pub" --bundle a="$W/bundle_a.txt" "$W/root1"
: >"$W/reg_empty"
bad "an empty registry" "$GV" root-verify --registry "$W/reg_empty" --key "$W/root.pub" "$W/root1"
head -c 300 "$W/root1" >"$W/root_cut"
bad "a truncated root" $V $bundles "$W/root_cut"
: >"$W/root_empty"
bad "an empty root" $V $bundles "$W/root_empty"
head -c 100000 /dev/zero | tr '\0' 'x' >"$W/root_huge"
bad "a root of garbage" $V $bundles "$W/root_huge"
bad "no roots" $V $bundles
bad "a malformed root key" "$GV" root-verify --registry "$W/registry" --key 1234 $bundles "$W/root1"
cp "$W/root1" "$W/root_dup"
sed -i 's/^logs 3$/logs 300/' "$W/root_dup"
bad "a root claiming more logs than it holds" $V $bundles "$W/root_dup"
bad "root-head of a malformed log id" "$GV" root-head "$W/root1" nope
"$GV" root-head "$W/root1" 00000000000000000000000000000000 >/dev/null 2>&1
gov_is 1 $? "root-head of a log the root does not hold exits 1"
