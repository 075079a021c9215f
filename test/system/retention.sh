#!/bin/sh
# Issue 12, section 4: retention without losing verifiability.  Executions
# (one delegated) write events across several blocks; an auditor exports
# the first blocks as a bundle (the archive), governance-verify verifies it
# with the public key alone, an administrator marks it exported and prunes
# those blocks.  Then: the rows are gone and the signed headers stay;
# verify_ledger() is ok and says which blocks it checked by header only;
# the executions go on (their chains continue from the anchors of the
# pruned rows) and verify; a bundle exported after the prune verifies
# offline with governance-verify and the Python verifier (its prior block
# and anchors), and both refuse it tampered (an anchor's link, an anchor
# removed, the prior block's hash or signature, the prior block removed,
# an archived row put back); its prior block is the archive's
# last block, and a consistency proof from the archive's checkpoint to the
# pruned ledger's newest verifies (the same chain); a superuser's DELETE is
# still refused and an edited remaining row is still found.  Last, a lease
# revoked and pruned (its revocation kept as an anchor) gets a write hidden
# after it by a superuser: verify_ledger(), governance-verify and the Python
# verifier all name it (the lease's end read from the anchor).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
PY=$SYS_PYTHON
VL="$(cd "$(dirname "$0")/../outside" && pwd)/verify_ledger.py"
GV="$PGBIN/governance-verify"
T=$(gov_tmpdir)
C=$T/retention
W=$(mktemp -d "${TMPDIR:-/tmp}/governance-retention.XXXXXX")
chmod 777 "$W"
gov_new_cluster "$C" "governance.max_block_rows = 7" || exit 1
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
gov_start "$C" || exit 1

gov_psql "$C" >/dev/null <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION governance;
CREATE ROLE rt_bot LOGIN IN ROLE governance_agent;
CREATE ROLE rt_sub LOGIN IN ROLE governance_agent;
CREATE ROLE rt_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE rt_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"rt-bot"', 'rt_bot');
SELECT governance.register_agent('Agent::"rt-sub"', 'rt_sub');
SELECT governance.create_policy('rt', 'permit (principal, action == Action::"tool.run", resource);');
EOF
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"

as() { r=$1; shift; gov_psql "$C" -Atc "SET ROLE $r; $*"; }
# run ROLE ARTIFACT SQL: SQL in a transaction with the artifact attached
run() { gov_psql "$C" -c "SET ROLE $1" -c "BEGIN" -c "SELECT governance.attach('$2')" -c "$3" -c "COMMIT" >/dev/null; }

# phase A (to be archived and pruned): two executions, one delegated child
set -- $(as rt_bot "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"rt-bot\"', 'tool.run', 'Tool::\"a\"')")
la=${1:-}; aa=${2:-}
set -- $(as rt_bot "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"rt-bot\"', 'tool.run', 'Tool::\"b\"')")
lb=${1:-}; ab=${2:-}
run rt_bot "$aa" "SELECT count(governance.record('tool.call', jsonb_build_object('i', g))) FROM generate_series(1, 5) g"
run rt_bot "$ab" "SELECT count(governance.record('tool.call', jsonb_build_object('j', g))) FROM generate_series(1, 3) g"
sub=$(as rt_bot "SELECT artifact FROM governance.delegate('$la', 'Agent::\"rt-sub\"', 'tool.run', 'Tool::\"a\"')")
run rt_sub "$sub" "SELECT count(governance.record('tool.call', jsonb_build_object('sub', g))) FROM generate_series(1, 2) g"
q "SELECT count(governance.record('bulk', jsonb_build_object('n', g))) FROM generate_series(1, 9) g" >/dev/null
q "SELECT governance.seal()" >/dev/null
k=$(q "SELECT max(block_id) FROM governance.ledger_blocks")
q "SELECT governance.checkpoint()" >"$W/cpA.json"
q "SELECT encode(public_key, 'hex') FROM governance.signing_keys ORDER BY created_at LIMIT 1" >"$W/key.hex"
[ "$k" -ge 3 ]
gov_ok $? "phase A sealed in $k blocks"

# the archive: exported by the auditor, verified offline
gov_psql "$C" -U rt_auditor -c "\\copy (SELECT governance.export(1, $k)) TO '$W/archive.txt'" >/dev/null
"$GV" --key "$W/key.hex" bundle "$W/archive.txt" >"$W/archive.out" 2>&1
gov_is 0 $? "governance-verify verifies the archive $(head -c 80 "$W/archive.out")"
$PY "$VL" --bundle --pin "$(cat "$W/key.hex")" "$W/archive.txt" >"$W/py.out" 2>&1
gov_is 0 $? "and so does the Python outside verifier"
hash=$(awk '$1 == "checkpoint" { print $3 }' "$W/archive.txt")
archived_rows=$(grep -c '^row ' "$W/archive.txt")

# phase B: lease a goes on (its rows link back into the archived blocks)
run rt_bot "$aa" "SELECT count(governance.record('tool.call', jsonb_build_object('i', g))) FROM generate_series(6, 8) g"
q "SELECT governance.seal()" >/dev/null

# the prune
out=$(bq rt_admin "SELECT governance.prune($((k + 1)))" 2>&1)
gov_like "not exported" "$out" "prune() refuses blocks not marked exported"
bq rt_admin "SELECT governance.mark_exported(1, $k, decode('$hash', 'hex'))" >/dev/null
out=$(bq rt_admin "SELECT governance.prune($((k + 1)))" 2>&1)
gov_like "not older than governance.retention_min_age" "$out" "nor blocks younger than governance.retention_min_age"
gov_sql "$C" "ALTER SYSTEM SET governance.retention_min_age = 0" >/dev/null
gov_sql "$C" "SELECT pg_reload_conf()" >/dev/null
sleep 1
pruned=$(bq rt_admin "SELECT governance.prune($((k + 1)))")
gov_is "$archived_rows" "$pruned" "prune($((k + 1))) removes exactly the archived rows ($archived_rows)"
gov_is "0|$k" "$(q "SELECT (SELECT count(*) FROM governance.ledger l JOIN governance.ledger_blocks b ON l.seq BETWEEN b.first_seq AND b.last_seq WHERE b.block_id <= $k) || '|' || (SELECT count(*) FROM governance.ledger_blocks WHERE block_id <= $k)")" \
	"no row of the pruned blocks is left, every signed header is"
v=$(q "SELECT ok || '|' || problem FROM governance.verify_ledger()")
gov_like "^true\|ok; $k pruned blocks checked by header, chain and signature only" "$v" "verify_ledger() is ok after the prune and says so"

# phase C: the executions go on after the prune; b's chain head was pruned
run rt_bot "$ab" "SELECT governance.record('tool.call', '{\"after\": \"prune\"}')"
run rt_sub "$sub" "SELECT governance.record('tool.call', '{\"after\": \"prune\"}')"
run rt_bot "$aa" "SELECT governance.record('tool.call', '{\"after\": \"prune\"}')"
prev=$(q "SELECT prev_seq FROM governance.ledger WHERE lease_id = '$lb' ORDER BY seq DESC LIMIT 1")
anchor=$(q "SELECT max(seq) FROM governance.ledger_anchors WHERE lease_id = '$lb'")
[ -n "$prev" ] && [ "$prev" = "$anchor" ]
gov_ok $? "an execution whose rows were all pruned goes on from its anchor (prev_seq $prev)"
q "SELECT governance.seal()" >/dev/null
v=$(q "SELECT ok || '|' || rows_checked FROM governance.verify_ledger()")
gov_like "^true\|" "$v" "verify_ledger() is ok with the chains continued across the prune ($v)"

# bundles after the prune
gov_psql "$C" -U rt_auditor -c "\\copy (SELECT governance.export()) TO '$W/post.txt'" >/dev/null
gov_like "^governance-evidence 2 bundle $((k + 1)) " "$(head -n 1 "$W/post.txt")" "export() starts after the pruned blocks"
grep -q '^anchor ' "$W/post.txt"
gov_ok $? "with the anchors of chains begun in pruned blocks"
"$GV" --key "$W/key.hex" bundle "$W/post.txt" >"$W/post.out" 2>&1
gov_is 0 $? "governance-verify verifies the bundle exported after the prune $(head -c 80 "$W/post.out")"
gov_is "$hash" "$(awk '$1 == "prior" { print $12 }' "$W/post.txt")" \
	"its prior block is the archive's last block (same hash)"
$PY "$VL" --bundle --pin "$(cat "$W/key.hex")" "$W/post.txt" >"$W/post.py" 2>&1
gov_is 0 $? "the Python outside verifier verifies it too (prior block and anchors): $(grep '^prior block' "$W/post.py")"
gov_like "^prior block $k \(header only: its rows are in an earlier bundle\), [1-9][0-9]* anchors" "$(cat "$W/post.py")" \
	"and says it took the prior block's header and the anchors as given"
# the later bundle tampered with: both verifiers refuse it (exit 1), or
# find it malformed (exit 2), and agree
# tamper NAME AWK: rewrite post.txt with an awk program, fix the end count
tamper() {
	awk "$2" "$W/post.txt" | awk '$1 == "end" { print "end " NR - 1; next } { print }' >"$W/$1.txt"
	"$GV" -q --key "$W/key.hex" bundle "$W/$1.txt" >"$W/$1.gv" 2>&1
	rc_gv=$?
	$PY "$VL" --bundle --pin "$(cat "$W/key.hex")" "$W/$1.txt" >"$W/$1.py" 2>&1
	rc_py=$?
	[ "$rc_gv" = "$3" ] && [ "$rc_py" = "$3" ]
	gov_ok $? "$1: governance-verify and the Python verifier both exit $3 (CLI $rc_gv: $(head -n 1 "$W/$1.gv"); Python $rc_py: $(grep -m 1 -v '^ ' "$W/$1.py"))"
}
# an anchor's link edited: the chain that goes on from it breaks
tamper anchor_link '$1 == "anchor" && !done { l = $5; $5 = (substr(l, 1, 1) == "0" ? "1" : "0") substr(l, 2); done = 1 } { print }' 1
# an anchor removed: the row that names it links to nothing
tamper anchor_removed '$1 == "anchor" && !done { done = 1; next } { print }' 1
# the prior block's hash edited: it no longer matches its bytes, nor the next block's prev_hash
tamper prior_hash '$1 == "prior" { h = $12; $12 = (substr(h, 1, 1) == "0" ? "1" : "0") substr(h, 2) } { print }' 1
# the prior block's signature edited
tamper prior_signature '$1 == "prior" { h = $13; $13 = (substr(h, 1, 1) == "0" ? "1" : "0") substr(h, 2) } { print }' 1
# the prior block left out: a bundle after block 1 needs it
tamper prior_removed '$1 == "prior" { next } { print }' 1
# a row of a pruned block (from the archive, intact) put back before the
# first block: the bundle's blocks do not cover it
awk '$1 == "row" && $5 == "-" && $12 == "-" { print; exit }' "$W/archive.txt" >"$W/old_row.txt"
tamper prior_row '$1 == "block" && !done { while ((getline l < "'"$W/old_row.txt"'") > 0) print l; done = 1 } { print }' 1
gov_like "^FAILED: seq [0-9]+: inside the sealed range but in no block" "$(cat "$W/prior_row.py")" "the Python verifier names the row outside the bundle's blocks"
gov_psql "$C" -At -U rt_auditor -c "\\copy (SELECT governance.consistency_proof('$(cat "$W/cpA.json")'::jsonb)) TO '$W/cons.txt'" >/dev/null
"$GV" --key "$W/key.hex" consistency "$W/cons.txt" --old "$W/cpA.json" >"$W/cons.out" 2>&1
gov_is 0 $? "a consistency proof from the archive's checkpoint to the pruned ledger verifies $(head -c 80 "$W/cons.out")"
out=$(gov_sql "$C" "SELECT count(*) FROM governance.export(1)" 2>&1)
gov_like "block 1 was pruned" "$out" "export() refuses a pruned block"

# a dump of the pruned database restores, pruned blocks and anchors included
U=$GOV_DBUSER
"$PGBIN/pg_dump" -h "$C" -U "$U" -Fc -f "$W/dump.custom" postgres 2>"$W/dump.err"
gov_ok $? "pg_dump of the pruned database ($(head -c 200 "$W/dump.err"))"
"$PGBIN/pg_dumpall" -h "$C" -U "$U" --roles-only -f "$W/roles.sql" 2>/dev/null
R=$T/restored
gov_new_cluster "$R" "governance.max_block_rows = 7" || exit 1
trap 'gov_stop "$C"; gov_stop "$R"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
cp -p "$C/data/governance_signing.key" "$R/data/"
gov_start "$R" || exit 1
"$PGBIN/psql" -X -q -h "$R" -U "$U" -d postgres -f "$W/roles.sql" >/dev/null 2>&1
"$PGBIN/pg_restore" -h "$R" -U "$U" --single-transaction --exit-on-error -d postgres "$W/dump.custom" 2>"$W/restore.err"
gov_ok $? "pg_restore of the pruned database succeeds ($(head -c 300 "$W/restore.err"))"
gov_wait "$R" "SELECT count(*) = 1 FROM governance.restores WHERE finished_at IS NOT NULL" 30
gov_ok $? "the sealer finishes the restore"
gov_is "$k|$(q "SELECT count(*) FROM governance.ledger_anchors")" \
	"$(gov_sql "$R" "SELECT (SELECT count(*) FROM governance.ledger_pruned) || '|' || (SELECT count(*) FROM governance.ledger_anchors)")" \
	"the restored database knows the pruned blocks and keeps the anchors"
gov_sql "$R" "SELECT governance.seal()" >/dev/null
v=$(gov_sql "$R" "SELECT ok || '|' || problem FROM governance.verify_ledger()")
gov_like "^true\|ok; $k pruned blocks checked by header" "$v" "verify_ledger() in the restored database is ok and names the pruned blocks"
gov_stop "$R"

# the guard and tampering
out=$(gov_sql "$C" "DELETE FROM governance.ledger WHERE seq = (SELECT max(seq) FROM governance.ledger)" 2>&1)
gov_like "append-only: DELETE is not allowed" "$out" "a superuser's DELETE is still refused after a prune"
s=$(q "SELECT min(seq) FROM governance.ledger WHERE lease_id = '$la'")
gov_psql "$C" -c "$GOV_GUARDS_OFF" -c "UPDATE governance.ledger SET payload = '{\"i\": 1000}' WHERE seq = $s" >/dev/null 2>&1
v=$(q "SELECT ok || '|' || first_bad_seq || '|' || problem FROM governance.verify_ledger()")
gov_like "^false\|$s\|modified row $s" "$v" "an edited remaining row is found after a prune"

# a write hidden after a revocation whose row was pruned: verify_ledger()
# reads the lease's end from its anchor (the edited row above is pruned too)
set -- $(as rt_bot "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"rt-bot\"', 'tool.run', 'Tool::\"c\"')")
lc=${1:-}
q "SELECT governance.revoke('$lc', 'retention test')" >/dev/null
q "SELECT governance.seal()" >/dev/null
k2=$(q "SELECT max(block_id) FROM governance.ledger_blocks")
bq rt_admin "SELECT governance.mark_exported($((k + 1)), $k2, (SELECT block_hash FROM governance.ledger_blocks WHERE block_id = $k2))" >/dev/null
bq rt_admin "SELECT governance.prune($((k2 + 1)))" >/dev/null
rev=$(q "SELECT seq FROM governance.ledger_anchors WHERE lease_id = '$lc' AND kind = 'governance.revoke'")
[ -n "$lc" ] && [ -n "$rev" ] && [ "$(q "SELECT count(*) FROM governance.ledger WHERE lease_id = '$lc'")" = 0 ]
gov_ok $? "a revoked lease's rows pruned, its revocation kept as an anchor (row $rev)"
gov_like "^true\|" "$(q "SELECT ok || '|' || problem FROM governance.verify_ledger()")" "verify_ledger() is ok after the second prune"
gov_psql "$C" -c "$GOV_GUARDS_OFF" >/dev/null
gov_psql "$C" >/dev/null <<SQL
BEGIN;
INSERT INTO governance.ledger (seq, at, kind, lease_id, principal, action, resource, payload, actor, txid, prev_seq, evidence, link)
VALUES (nextval('governance.ledger_seq'), now(), 'governance.write', '$lc', 'Agent::"rt-bot"', 'Action::"tool.run"', 'Tool::"c"',
        '{"op": "insert", "table": "public.t", "key": {"id": "1"}, "old_sha3_512": null, "new_sha3_512": null}',
        'rt_bot', pg_current_xact_id(), $rev, '\\x00', '\\x00');
UPDATE governance.ledger SET evidence = governance.sha3_512(governance.event_bytes(seq))
 WHERE seq = currval('governance.ledger_seq');
UPDATE governance.ledger l SET link = governance.chain_link((SELECT a.link FROM governance.ledger_anchors a WHERE a.seq = l.prev_seq), l.evidence)
 WHERE seq = currval('governance.ledger_seq');
COMMIT;
SQL
q "SELECT governance.seal()" >/dev/null
h=$(q "SELECT max(seq) FROM governance.ledger WHERE lease_id = '$lc'")
gov_is "false|$h|a write after the end of its execution: row $h of lease $lc follows the governance.revoke event at row $rev" \
	"$(q "SELECT ok || '|' || first_bad_seq || '|' || problem FROM governance.verify_ledger()")" \
	"verify_ledger() names a write hidden after a pruned revocation (its end read from the anchor)"
gov_psql "$C" -U rt_auditor -c "\\copy (SELECT governance.export()) TO '$W/hidden.txt'" >/dev/null
"$GV" -q --key "$W/key.hex" bundle "$W/hidden.txt" >"$W/hidden.gv" 2>&1
rc_gv=$?
$PY "$VL" --bundle --pin "$(cat "$W/key.hex")" "$W/hidden.txt" >"$W/hidden.py" 2>&1
rc_py=$?
gov_is "1 1" "$rc_gv $rc_py" "the bundle exported after it fails in governance-verify and the Python verifier (CLI: $(head -n 1 "$W/hidden.gv"); Python: $(grep -m 1 FAILED "$W/hidden.py"))"
