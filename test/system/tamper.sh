#!/bin/sh
# D4: a superuser switches the guards off and tampers with the ledger; every
# modified, removed, inserted or reordered row, every altered block, a
# removed tail (given a checkpoint kept outside) is found and named, and
# re-sealing does not hide it.  D7/D8: the verifier worker notices tampering
# on its own, degrades trust, ledgers the degradation, and only an explicit
# restore_trust() after the tampering is undone brings trust back.
#
# Part 1 builds one ledger (rows in several transactions, rolled-back
# appends that leave gaps, two executions whose events are hash-chained,
# four blocks signed by two keys) in database "base", keeps its checkpoint
# in a file, and then runs each scenario in a fresh copy of that database
# (CREATE DATABASE ... TEMPLATE base).  No worker runs in those databases:
# the workers live in governance.database ("postgres"), where the
# extension is not installed in this cluster.
#
# Part 2 runs a second cluster where the extension lives in
# governance.database, with the verifier every 200 ms.
#
# Rows of an execution (lease) are loaded through governance.allow_restore,
# the path pg_restore uses: leases are only issued in governance.database,
# and a database the workers are connected to cannot serve as a template.
# Their hashes and links are computed here from docs/FORMAT.md, and the
# encoder is checked against event_bytes() for every row.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
T="$W/tamper"
V="$W/verifier"
trap 'gov_stop "$T"; gov_stop "$V"' EXIT

gov_new_cluster "$T" "governance.unsealed_grace = '1h'" || exit 1
gov_start "$T" || exit 1

q() {	# q DB SQL: one value from database DB of the tamper cluster
	GOV_DB=$1 gov_sql "$T" "$2"
}

# ---------------------------------------------------------------------
# The ledger every scenario starts from
# ---------------------------------------------------------------------
gov_sql "$T" "CREATE DATABASE base" >/dev/null || exit 1
GOV_DB=base gov_psql "$T" >/dev/null <<'EOF' || { echo "not ok - base ledger built"; exit 1; }
-- not governance.database: a ledger to copy and tamper with, no workers
SET governance.allow_other_database = on;
CREATE EXTENSION governance;

-- A forger's toolkit, from docs/FORMAT.md alone: field encoding, the event
-- bytes of a row, and an insert that computes evidence and chain link.
CREATE FUNCTION public.f(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN b IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(b)) || b END $$;
CREATE FUNCTION public.t(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT f(convert_to(s, 'UTF8')) $$;
CREATE FUNCTION public.forge_bytes(seq bigint, at timestamptz, kind text, lease uuid,
    principal text, action text, resource text, payload jsonb, actor text,
    txid bigint, prev_seq bigint) RETURNS bytea LANGUAGE sql STABLE AS
$$ SELECT t('governance.v1.event') || f(int8send(seq))
       || f(int8send((extract(epoch FROM at) * 1000000)::bigint))
       || t(kind) || f(uuid_send(lease)) || t(principal) || t(action) || t(resource)
       || t(governance.canonical_json(payload)) || t(actor) || f(int8send(txid))
       || f(int8send(prev_seq)) $$;
CREATE FUNCTION public.forge(p_seq bigint, p_kind text, p_payload jsonb,
    p_lease uuid DEFAULT NULL, p_at timestamptz DEFAULT clock_timestamp())
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    prev bigint;
    prevlink bytea;
    ev bytea;
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF p_lease IS NOT NULL THEN
        SELECT seq, link INTO prev, prevlink FROM governance.ledger
         WHERE lease_id = p_lease AND seq < p_seq ORDER BY seq DESC LIMIT 1;
    END IF;
    ev := governance.sha3_512(forge_bytes(p_seq, p_at, p_kind, p_lease, NULL, NULL, NULL,
                                          p_payload, session_user::text, tx, prev));
    INSERT INTO governance.ledger (seq, at, kind, lease_id, payload, actor, txid, prev_seq, evidence, link)
    VALUES (p_seq, p_at, p_kind, p_lease, p_payload, session_user, tx::text::xid8, prev, ev,
            governance.chain_link(prevlink, ev));
    RETURN p_seq;
END $$;
-- After changing a row: recompute its evidence and chain link, as anyone can.
CREATE FUNCTION public.rehash(p_seq bigint) RETURNS void LANGUAGE sql AS $$
UPDATE governance.ledger SET evidence = governance.sha3_512(governance.event_bytes(seq)) WHERE seq = p_seq;
UPDATE governance.ledger l SET link = governance.chain_link(
    (SELECT p.link FROM governance.ledger p WHERE p.seq = l.prev_seq), l.evidence) WHERE seq = p_seq;
$$;

-- block 1: rows 1..125, seqs 61..65 rolled back
SELECT governance.record('tool.call', jsonb_build_object('i', i, 'batch', 1)) FROM generate_series(1, 60) i;
BEGIN;
SELECT governance.record('tool.call', '{"rolled": "back"}') FROM generate_series(1, 5);
ROLLBACK;
SELECT governance.record('intent', jsonb_build_object('i', i, 'text', 'é ü ☃', 'n', 1.50)) FROM generate_series(1, 20) i;
SELECT governance.record('outcome', jsonb_build_object('i', i, 'nested', jsonb_build_object('a', jsonb_build_array(1, 2, i)))) FROM generate_series(1, 20) i;
SELECT governance.record('tool.call', jsonb_build_object('i', i)) FROM generate_series(1, 20) i;
SELECT governance.seal();

-- block 2: two executions (leases) with interleaved chained events at
-- 126..145, plain rows, seqs 201..203 rolled back
SET governance.allow_restore = on;
SELECT public.forge(nextval('governance.ledger_seq'), 'tool.call', jsonb_build_object('step', i),
       CASE WHEN i % 2 = 1 THEN '11111111-1111-1111-1111-111111111111'::uuid
            ELSE '22222222-2222-2222-2222-222222222222'::uuid END)
  FROM generate_series(1, 20) i;
RESET governance.allow_restore;
SELECT governance.record('tool.call', jsonb_build_object('i', i, 'batch', 2)) FROM generate_series(1, 55) i;
BEGIN;
SELECT governance.record('tool.call', '{"rolled": "back"}') FROM generate_series(1, 3);
ROLLBACK;
SELECT governance.record('tool.call', jsonb_build_object('i', i, 'batch', 2)) FROM generate_series(1, 47) i;
SELECT governance.seal();

-- a new signing key (its own rotation event is a ledger row, seq 251),
-- block 3: 251..330; seqs 331..332 rolled back just before sealing, so
-- they fall at the start of block 4: 331..400
SELECT governance.rotate_key();
EOF
GOV_DB=base gov_psql "$T" >/dev/null <<'EOF' || { echo "not ok - base ledger built"; exit 1; }
SELECT governance.record('tool.call', jsonb_build_object('i', i, 'batch', 3)) FROM generate_series(1, 79) i;
BEGIN;
SELECT governance.record('tool.call', '{"rolled": "back"}') FROM generate_series(1, 2);
ROLLBACK;
SELECT governance.seal();
SELECT governance.record('tool.call', jsonb_build_object('i', i, 'batch', 4)) FROM generate_series(1, 68) i;
SELECT governance.seal();
EOF

layout=$(q base "SELECT string_agg(block_id || ':' || first_seq || '-' || last_seq || ':' || gaps::text, ' ' ORDER BY block_id) FROM governance.ledger_blocks")
gov_is "1:1-125:{61,65} 2:126-250:{201,203} 3:251-330:{} 4:331-400:{331,332}" "$layout" \
	"base ledger: four blocks with gaps where transactions rolled back"
gov_is "t|390|4||" "$(q base "SELECT * FROM governance.verify_ledger()")" \
	"base ledger verifies: 390 rows, 4 blocks"
KEY_A=$(q base "SELECT key_id FROM governance.ledger_blocks WHERE block_id = 1")
KEY_B=$(q base "SELECT key_id FROM governance.ledger_blocks WHERE block_id = 4")
[ -n "$KEY_A" ] && [ -n "$KEY_B" ] && [ "$KEY_A" != "$KEY_B" ]
gov_ok $? "blocks 1-2 and 3-4 are signed by two different keys ($KEY_A, $KEY_B)"
gov_is "0" "$(q base "SELECT count(*) FROM governance.ledger
    WHERE forge_bytes(seq, at, kind, lease_id, principal, action, resource, payload, actor,
                      txid::text::bigint, prev_seq) IS DISTINCT FROM governance.event_bytes(seq)")" \
	"docs/FORMAT.md is enough to recompute every row's bytes (the forger's encoder agrees)"
gov_is "10|18" "$(q base "SELECT count(*) FILTER (WHERE lease_id = '11111111-1111-1111-1111-111111111111'),
    count(*) FILTER (WHERE prev_seq IS NOT NULL AND prev_seq = seq - 2) FROM governance.ledger WHERE seq BETWEEN 126 AND 145")" \
	"two executions of 10 chained events each at 126..145"

# The checkpoint, kept outside the database.
CP="$W/checkpoint.json"
q base "SELECT governance.checkpoint()" >"$CP"
CPJ=$(cat "$CP")
gov_like '"block_id": 4' "$CPJ" "checkpoint of block 4 saved outside the database"

# ---------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------
N=0
DB=
# fresh NAME SQL: a fresh copy of base, guards switched off, then SQL.
fresh() {
	N=$((N + 1)); DB="s$N"
	gov_sql "$T" "CREATE DATABASE $DB TEMPLATE base" >/dev/null || { gov_ok 1 "$1: copy of base"; return 1; }
	if ! GOV_DB=$DB gov_psql "$T" -c "$GOV_GUARDS_OFF" -c "$2" >"$W/$DB.out" 2>&1; then
		gov_ok 1 "$1: tampering ran ($(tr '\n' ' ' <"$W/$DB.out"))"
		return 1
	fi
	return 0
}
# tamper NAME SQL [SQL...]: like fresh, each SQL its own transaction.
tamper() {
	_name=$1; shift
	fresh "$_name" "$1" || return 1
	shift
	for _s in "$@"; do
		GOV_DB=$DB gov_psql "$T" -c "$_s" >>"$W/$DB.out" 2>&1 || { gov_ok 1 "$_name: $_s"; return 1; }
	done
}
# detected NAME FIRST_BAD_SEQ REGEX [VERIFY-CALL]: verification fails,
# names the seq (FIRST_BAD_SEQ is matched as a whole, alternatives with |)
# and the kind of tampering.
detected() {
	_call=${4:-governance.verify_ledger()}
	_r=$(q "$DB" "SELECT ok, coalesce(first_bad_seq::text, 'null'), problem FROM $_call")
	_ok=${_r%%|*}; _rest=${_r#*|}; _seq=${_rest%%|*}; _problem=${_rest#*|}
	if [ "$_ok" = "f" ] && printf '%s\n' "$_seq" | grep -Eqx -- "$2" && printf '%s\n' "$_problem" | grep -Eq -- "$3"; then
		gov_ok 0 "$1: detected by $_call at seq $2: $_problem"
	else
		gov_ok 1 "$1: want ok=f, first_bad_seq=$2, problem /$3/ from $_call; got: $_r"
	fi
	[ -n "${4:-}" ] || ranges "$1"
}
# ranges NAME: the whole ledger verified in block ranges by separate
# backends (contrib/verify-ranges, one block per range here: every boundary
# is one) says exactly what verify_ledger() says.
ranges() {
	_whole=$(q "$DB" "SELECT ok, rows_checked, blocks_checked, coalesce(first_bad_seq::text, ''), coalesce(problem, '') FROM governance.verify_ledger()")
	_split=$(PSQL="$PGBIN/psql" sh "$GOV_ROOT/contrib/verify-ranges/verify-ranges.sh" 8 -h "$T" -p 5432 -U "$GOV_DBUSER" -d "$DB")
	_rc=$?
	if [ "${_whole%%|*}" = f ]; then
		# after a failure the counts differ (each range goes on to its end)
		[ "$_rc" = 1 ] && [ "${_split%%|*}" = f ] && [ "${_split#*|*|*|}" = "${_whole#*|*|*|}" ]
	else
		[ "$_rc" = 0 ] && [ "$_split" = "$_whole" ]
	fi
	gov_ok $? "$1: verified in ranges by separate backends, combined: the same verdict ($_split; whole: $_whole)"
}
# cp_detected NAME REGEX: the saved checkpoint no longer holds.
cp_detected() {
	_r=$(q "$DB" "SELECT ok, problem FROM governance.verify_checkpoint('$CPJ')")
	gov_like "^f\|.*($2)" "$_r" "$1: verify_checkpoint(saved checkpoint) reports it"
}
# lost_tail NAME FIRST-LOST: verify_ledger(saved checkpoint) reports the
# lost tail, and its first_bad_seq says where the loss starts: the first
# seq of the first block that is gone (FIRST-LOST also admits the first
# row of that block, when the block starts with an aborted seq).
lost_tail() {
	_r=$(q "$DB" "SELECT ok, problem FROM governance.verify_ledger('$CPJ'::jsonb)")
	gov_like '^f\|.*lost its tail' "$_r" "$1: verify_ledger(saved checkpoint) reports it"
	_r=$(q "$DB" "SELECT coalesce(first_bad_seq::text, 'null') FROM governance.verify_ledger('$CPJ'::jsonb)")
	gov_like "^($2)\$" "$_r" "$1: verify_ledger(saved checkpoint) names the first lost seq as first_bad_seq"
}
# note NAME: print what plain verify_ledger() says, for the record.
note() {
	echo "# $1: verify_ledger() says $(q "$DB" "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")"
}

# A control: an untouched copy verifies, and so does the checkpoint.
fresh "control" "SELECT 1" && {
	gov_is "t|390|4||" "$(q "$DB" "SELECT * FROM governance.verify_ledger()")" "control: an untouched copy verifies"
	ranges "control"
	gov_is "t|" "$(q "$DB" "SELECT * FROM governance.verify_checkpoint('$CPJ')")" "control: the saved checkpoint verifies"
	gov_is "t|0|0||" "$(q "$DB" "SELECT * FROM governance.verify_ledger('$CPJ'::jsonb)")" "control: verify_ledger(checkpoint) ok, nothing after it"
}

# -- modified rows ----------------------------------------------------
tamper "modified payload" "UPDATE governance.ledger SET payload = '{\"i\": 10, \"batch\": 1, \"amount\": 1000000}' WHERE seq = 10" &&
	detected "modified payload" 10 "modified row 10"
tamper "modified kind" "UPDATE governance.ledger SET kind = 'outcome' WHERE seq = 70" &&
	detected "modified kind" 70 "modified row 70"
tamper "modified at" "UPDATE governance.ledger SET at = at + interval '1 microsecond' WHERE seq = 300" &&
	detected "modified at" 300 "modified row 300"
tamper "modified actor" "UPDATE governance.ledger SET actor = 'somebody_else' WHERE seq = 400" &&
	detected "modified actor (last row of the last block)" 400 "modified row 400"
tamper "modified row of an execution" "UPDATE governance.ledger SET payload = '{\"step\": 99}' WHERE seq = 133" &&
	detected "modified row of an execution" 133 "modified row 133"
tamper "modified and re-hashed" "UPDATE governance.ledger SET payload = '{\"i\": 10, \"batch\": 1, \"amount\": 1000000}' WHERE seq = 10; SELECT rehash(10)" &&
	detected "modified row with its evidence and link recomputed" 1 "bad block 1: its Merkle root"
tamper "chain link" "UPDATE governance.ledger SET link = governance.blake2b_512('x') WHERE seq = 130" &&
	detected "altered chain link" 130 "broken chain at row 130"
tamper "chain relinked" "UPDATE governance.ledger SET prev_seq = 126 WHERE seq = 132; SELECT rehash(132)" &&
	detected "event re-linked to an earlier event of its execution" 132 "broken chain at row 132"

# -- removed rows -----------------------------------------------------
tamper "deleted row" "DELETE FROM governance.ledger WHERE seq = 20" &&
	detected "deleted sealed row" 20 "missing row 20"
tamper "deleted first row" "DELETE FROM governance.ledger WHERE seq = 1" &&
	detected "deleted first row of the ledger" 1 "missing row 1"
tamper "deleted last row of a block" "DELETE FROM governance.ledger WHERE seq = 125" &&
	detected "deleted last row of block 1" 125 "missing row 125"
tamper "deleted first row of a block" "DELETE FROM governance.ledger WHERE seq = 126" &&
	detected "deleted first row of block 2 (head of an execution)" 126 "missing row 126"
tamper "deleted chained row" "DELETE FROM governance.ledger WHERE seq = 132" &&
	detected "deleted sealed event in the middle of an execution" 132 "missing row 132"
tamper "deleted and relinked" "DELETE FROM governance.ledger WHERE seq = 132; UPDATE governance.ledger SET prev_seq = 130 WHERE seq = 134; SELECT rehash(134)" &&
	detected "deleted event, successor re-linked and re-hashed" 132 "missing row 132"
tamper "deleted a range" "DELETE FROM governance.ledger WHERE seq BETWEEN 300 AND 320" &&
	detected "deleted a range of sealed rows" 300 "missing row 300"

# The unsealed tail: rows after the last block are protected by their chain
# (events of an execution) and, once sealed, by their block; nothing else.
TAIL="SELECT governance.record('tool.call', jsonb_build_object('tail', i)) FROM generate_series(1, 5) i;
SELECT public.forge(nextval('governance.ledger_seq'), 'tool.call', jsonb_build_object('step', i),
       '33333333-3333-3333-3333-333333333333') FROM generate_series(1, 3) i;
SELECT governance.record('tool.call', jsonb_build_object('tail', i)) FROM generate_series(6, 7) i;"
# rows 401..405 plain, 406..408 one execution, 409..410 plain
tamper "unsealed tail" "$TAIL" && {
	gov_is "t|400|4||" "$(q "$DB" "SELECT * FROM governance.verify_ledger()")" "unsealed tail: 10 unsealed rows verify within the grace"
	GOV_DB=$DB gov_psql "$T" -c "DELETE FROM governance.ledger WHERE seq = 407" >/dev/null
	r=$(q "$DB" "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")
	gov_like '^f\|40[78]\|.*(broken chain|missing row).*\b407\b' "$r" \
		"deleted unsealed event in the middle of an execution: detected, names row 407"
}
tamper "unsealed head of execution" "$TAIL" "DELETE FROM governance.ledger WHERE seq = 406" &&
	detected "deleted first unsealed event of an execution" 406 "missing row 406"
# A row outside any execution that was never sealed is tied to nothing: its
# removal cannot be told from an aborted append (D5: such events are tied in
# by their sealed block alone).  Recorded here, not asserted.
tamper "unsealed plain row" "$TAIL" "DELETE FROM governance.ledger WHERE seq = 403" && {
	note "deleted unsealed row 403 outside any execution (undetectable by design)"
	echo "# after seal(), block $(q "$DB" "SELECT governance.seal()") records gaps $(q "$DB" "SELECT gaps FROM governance.ledger_blocks ORDER BY block_id DESC LIMIT 1")"
}

# -- inserted rows ----------------------------------------------------
tamper "forged in gap" "SELECT forge(62, 'tool.call', '{\"forged\": true}')" &&
	detected "forged row in a rolled-back seq of a sealed block" 62 "extra row 62"
tamper "forged in gap at block start" "SELECT forge(331, 'tool.call', '{\"forged\": true}')" &&
	detected "forged row in the gap at the start of block 4" 331 "extra row 331"
tamper "forged with bad hashes" "INSERT INTO governance.ledger (seq, at, kind, payload, actor, txid, evidence, link)
    VALUES (202, now(), 'tool.call', '{}', 'x', '1', '\\x00', '\\x00')" &&
	detected "forged row with nonsense hashes in a gap" 202 "extra row 202"
tamper "forged seq 0" "SELECT forge(0, 'tool.call', '{\"forged\": true}')" && {
	r=$(q "$DB" "SELECT ok, problem FROM governance.verify_ledger()")
	gov_like '^f\|.*extra row' "$r" "forged row with seq 0, below every block: detected as an extra row"
}
tamper "forged negative seq" "SELECT forge(-5, 'governance.trust.restored', '{\"reason\": \"forged\"}')" && {
	r=$(q "$DB" "SELECT ok, problem FROM governance.verify_ledger()")
	gov_like '^f\|.*extra row' "$r" "forged row with seq -5, below every block: detected as an extra row"
}

# -- reordered rows ---------------------------------------------------
SWAP="UPDATE governance.ledger l SET at = s.at, kind = s.kind, lease_id = s.lease_id,
    principal = s.principal, action = s.action, resource = s.resource, payload = s.payload,
    actor = s.actor, txid = s.txid, prev_seq = s.prev_seq, evidence = s.evidence, link = s.link
  FROM (SELECT CASE seq WHEN :a THEN :b ELSE :a END AS tgt, * FROM governance.ledger WHERE seq IN (:a, :b)) s
 WHERE l.seq = s.tgt"
swap() { echo "$SWAP" | sed "s/:a/$1/g; s/:b/$2/g"; }
tamper "swapped rows" "$(swap 30 31)" &&
	detected "two sealed rows swapped" 30 "(modified|reordered) row 30"
tamper "swapped across blocks" "$(swap 100 200)" &&
	detected "two rows of different blocks swapped" 100 "(modified|reordered) row 100"
tamper "swapped events re-hashed" "$(swap 128 130); SELECT rehash(128); SELECT rehash(130)" &&
	detected "two events of an execution swapped, hashes recomputed" 128 "(reordered|broken chain).* 128"

# -- altered blocks ---------------------------------------------------
tamper "merkle root" "UPDATE governance.ledger_blocks SET merkle_root = governance.blake2b_512('x') WHERE block_id = 2" &&
	detected "altered merkle_root of block 2" 126 "bad block 2"
tamper "row count" "UPDATE governance.ledger_blocks SET row_count = row_count - 1 WHERE block_id = 2" &&
	detected "altered row_count of block 2" 126 "bad block 2"
tamper "row count and totals" "UPDATE governance.ledger_blocks SET row_count = row_count - 1, total_rows = total_rows - 1 WHERE block_id = 2;
    UPDATE governance.ledger_blocks SET total_rows = total_rows - 1 WHERE block_id > 2" &&
	detected "altered row_count and running totals from block 2 on" 126 "bad block 2"
tamper "row count of block 1" "UPDATE governance.ledger_blocks SET row_count = row_count + 1, total_rows = total_rows + 1 WHERE block_id = 1" &&
	detected "altered row_count of block 1" 1 "bad block 1"
tamper "prev hash" "UPDATE governance.ledger_blocks SET prev_hash = governance.blake2b_512('x') WHERE block_id = 3" &&
	detected "altered prev_hash of block 3" 251 "bad block 3"
tamper "block hash" "UPDATE governance.ledger_blocks SET block_hash = governance.blake2b_512('x') WHERE block_id = 3" &&
	detected "altered block_hash of block 3" 251 "bad block 3"
tamper "gaps" "UPDATE governance.ledger_blocks SET gaps = '{61,64}' WHERE block_id = 1" &&
	detected "altered gap list of block 1" 1 "bad block 1"
tamper "signature" "UPDATE governance.ledger_blocks SET signature = overlay(signature placing '\\x00' from 10 for 1) WHERE block_id = 2" &&
	detected "altered signature of block 2" 126 "bad signature on block 2"
tamper "sealed_at re-hashed" "UPDATE governance.ledger_blocks SET sealed_at = sealed_at - interval '1 day' WHERE block_id = 2;
    UPDATE governance.ledger_blocks SET block_hash = governance.blake2b_512(governance.block_bytes(2)) WHERE block_id = 2" &&
	detected "altered sealed_at of block 2 with its hash recomputed" 126 "bad signature on block 2"
tamper "unknown key id" "UPDATE governance.ledger_blocks SET key_id = '0123456789abcdef' WHERE block_id = 3" &&
	detected "key_id of block 3 replaced" 251 "bad block 3"
tamper "unknown key id re-hashed" "UPDATE governance.ledger_blocks SET key_id = '0123456789abcdef' WHERE block_id = 3;
    UPDATE governance.ledger_blocks SET block_hash = governance.blake2b_512(governance.block_bytes(3)) WHERE block_id = 3" &&
	detected "key_id of block 3 replaced, block hash recomputed" 251 "unknown key 0123456789abcdef"
tamper "retired key deleted" "DELETE FROM governance.signing_keys WHERE key_id = '$KEY_A'" &&
	detected "retired signing key deleted from signing_keys" 1 "unknown key $KEY_A"
tamper "current key deleted" "DELETE FROM governance.signing_keys WHERE key_id = '$KEY_B'" &&
	detected "current signing key deleted from signing_keys" 251 "unknown key $KEY_B"
tamper "middle block deleted" "DELETE FROM governance.ledger_blocks WHERE block_id = 2" &&
	detected "block 2 deleted, its rows kept" 126 "missing block 2"
tamper "middle block and rows deleted" "DELETE FROM governance.ledger_blocks WHERE block_id = 2; DELETE FROM governance.ledger WHERE seq BETWEEN 126 AND 250" &&
	detected "block 2 and its rows deleted" 126 "missing block 2"

# -- removed tail -----------------------------------------------------
tamper "tail removed" "DELETE FROM governance.ledger_blocks WHERE block_id = 4; DELETE FROM governance.ledger WHERE seq >= 331" && {
	note "last block and its rows removed"
	cp_detected "last block and its rows removed" "lost its tail"
	lost_tail "last block and its rows removed" "331|333"
}
tamper "two blocks removed" "DELETE FROM governance.ledger_blocks WHERE block_id >= 3; DELETE FROM governance.ledger WHERE seq >= 251" && {
	cp_detected "last two blocks and their rows removed" "lost its tail"
	lost_tail "last two blocks and their rows removed" 251
}
tamper "last block removed" "DELETE FROM governance.ledger_blocks WHERE block_id = 4" && {
	note "last block removed, its rows kept (unsealed again, within the grace)"
	cp_detected "last block removed, its rows kept" "lost its tail"
}

# -- re-sealing after tampering does not hide it ------------------------
tamper "modified then sealed" "UPDATE governance.ledger SET payload = '{\"i\": 10}' WHERE seq = 10" \
	"SELECT governance.record('tool.call', '{\"after\": \"tampering\"}')" "SELECT governance.seal()" && {
	gov_is "5" "$(q "$DB" "SELECT max(block_id) FROM governance.ledger_blocks")" "modified row, then new rows sealed: a block 5 was made"
	detected "modified row, then new rows sealed" 10 "modified row 10"
}
tamper "forged in gap then sealed" "SELECT forge(63, 'tool.call', '{\"forged\": true}')" "SELECT governance.seal()" \
	"SELECT governance.record('tool.call', '{}')" "SELECT governance.seal()" &&
	detected "forged row in a gap, then sealed again" 63 "extra row 63"
tamper "tail removed then sealed" "DELETE FROM governance.ledger_blocks WHERE block_id = 4; DELETE FROM governance.ledger WHERE seq >= 331" \
	"SELECT governance.record('tool.call', '{\"after\": \"tampering\"}') FROM generate_series(1, 5)" "SELECT governance.seal()" && {
	note "tail removed, new rows sealed as a new block 4"
	cp_detected "tail removed, new rows sealed as a new block 4" "differs from the checkpoint"
	r=$(q "$DB" "SELECT ok, problem FROM governance.verify_ledger('$CPJ'::jsonb)")
	gov_like '^f\|.*differs from the checkpoint' "$r" "tail removed, re-sealed: verify_ledger(saved checkpoint) reports it"
}
tamper "last block re-sealed" "DELETE FROM governance.ledger_blocks WHERE block_id = 4" "SELECT governance.seal()" && {
	gov_is "t" "$(q "$DB" "SELECT count(*) = 1 AND min(first_seq) = 331 AND min(last_seq) = 400 FROM governance.ledger_blocks WHERE block_id = 4")" \
		"last block removed: seal() signs its rows again as a new block 4"
	cp_detected "last block removed and re-sealed" "differs from the checkpoint"
}
# The strongest rewrite: change a row, recompute its hashes, drop every
# block from its own on and have the server sign the result again.  The
# rewritten ledger is consistent; the checkpoint kept outside is what
# catches it.
tamper "history rewritten" "UPDATE governance.ledger SET payload = '{\"i\": 1, \"batch\": 2, \"amount\": 1000000}' WHERE seq = 146; SELECT rehash(146);
    DELETE FROM governance.ledger_blocks WHERE block_id >= 2" "SELECT governance.seal()" && {
	note "row 146 rewritten and blocks 2-4 re-signed by the server"
	cp_detected "row rewritten and blocks re-signed by the server" "lost its tail|differs from the checkpoint"
	r=$(q "$DB" "SELECT ok, problem FROM governance.verify_ledger('$CPJ'::jsonb)")
	gov_like '^f\|.*(lost its tail|differs from the checkpoint)' "$r" "row rewritten and blocks re-signed: verify_ledger(saved checkpoint) reports it"
}

# -- the grace for unsealed rows ----------------------------------------
# A row forged after the last block looks like a row that is not sealed
# yet; once governance.unsealed_grace passes it must be reported.
tamper "forged after last block" "SELECT forge(401, 'governance.trust.restored', '{\"reason\": \"forged\"}')" && {
	FORGED_TAIL=$DB
	note "forged row 401 after the last block, within the grace (looks like an unsealed row)"
}
tamper "last block removed, grace" "DELETE FROM governance.ledger_blocks WHERE block_id = 4" && LOST_BLOCK=$DB
gov_sql "$T" "ALTER SYSTEM SET governance.unsealed_grace = '1s'" >/dev/null
gov_sql "$T" "SELECT pg_reload_conf()" >/dev/null
gov_wait "$T" "SELECT current_setting('governance.unsealed_grace') = '1s'" 20
gov_ok $? "governance.unsealed_grace lowered to 1s"
sleep 2
# (a forged row whose seq the sequence never handed out is caught at once)
DB=$FORGED_TAIL; detected "forged row after the last block (a seq never handed out)" 401 "extra row 401"
DB=$LOST_BLOCK; detected "last block removed, once the grace has passed" 333 "unsealed row 333"

gov_stop "$T"

# ---------------------------------------------------------------------
# Part 2: the verifier worker
# ---------------------------------------------------------------------
gov_new_cluster "$V" "governance.verify_interval = '200ms'" "governance.seal_interval = '1h'" \
	"governance.unsealed_grace = '1h'" || exit 1
gov_start "$V" || exit 1
gov_sql "$V" "CREATE EXTENSION governance" >/dev/null
vq() { gov_sql "$V" "$1"; }
gov_wait "$V" "SELECT state = 'idle' FROM governance.workers WHERE name = 'sealer'" 20
gov_ok $? "verifier cluster: the sealer did its first round"
vq "SELECT governance.record('tool.call', jsonb_build_object('i', i)) FROM generate_series(1, 40) i" >/dev/null
vq "SELECT governance.seal()" >/dev/null
vq "SELECT governance.record('tool.call', jsonb_build_object('tail', i)) FROM generate_series(1, 10) i" >/dev/null
# 1..40 sealed in block 1, 41..50 unsealed
loops() { vq "SELECT loops FROM governance.workers WHERE name = 'verifier'"; }
wait_loops() {	# wait_loops N: the verifier went round N more times
	_target=$(($(loops) + $1))
	gov_wait "$V" "SELECT loops >= $_target FROM governance.workers WHERE name = 'verifier'" 60
}
wait_loops 3
gov_is "trusted" "$(vq "SELECT governance.trust_state()")" "verifier: trusted while the ledger is intact"

vq_off() { gov_psql "$V" -c "$GOV_GUARDS_OFF" -c "$1" >/dev/null; }
degraded_like() {	# degraded_like REGEX SECONDS
	_i=0
	while [ $_i -lt $(($2 * 5)) ]; do
		_s=$(vq "SELECT governance.trust_state()")
		printf '%s\n' "$_s" | grep -Eq -- "$1" && return 0
		sleep 0.2; _i=$((_i + 1))
	done
	echo "# trust_state: $_s"
	return 1
}

# Tampering with an unsealed row: the verifier's next round sees it.
orig=$(vq "SELECT payload FROM governance.ledger WHERE seq = 45")
vq_off "UPDATE governance.ledger SET payload = '{\"tail\": 5, \"amount\": 1000000}' WHERE seq = 45"
degraded_like '^degraded: ledger verification failed: modified row 45' 30
gov_ok $? "verifier: tampering with an unsealed row degrades trust on its own"
gov_is "1" "$(vq "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.trust.degraded' AND payload->>'reason' LIKE 'ledger verification failed: modified row 45%'")" \
	"verifier: the degradation is ledgered once, with its reason"

# restore_trust() while the tampering is still there: the verifier starts
# again from the first block and degrades trust again.
vq "SELECT governance.restore_trust('looking into it')" >/dev/null
gov_is "1" "$(vq "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.trust.restored' AND payload->>'reason' = 'looking into it' AND payload->>'was' LIKE 'ledger verification failed: modified row 45%'")" \
	"restore_trust() is ledgered with the reason and what it cleared"
degraded_like '^degraded: ledger verification failed: modified row 45' 30
gov_ok $? "restore_trust() with the tampering still present: trust degrades again"
gov_is "2" "$(vq "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.trust.degraded'")" \
	"the second degradation is ledgered too"

# Undo the tampering, then restore: trust stays.
vq_off "UPDATE governance.ledger SET payload = '$orig' WHERE seq = 45"
gov_is "t|" "$(vq "SELECT ok, problem FROM governance.verify_ledger()")" "tampering undone: verify_ledger() ok"
gov_is "degraded: ledger verification failed: modified row 45: its evidence hash does not match its contents" \
	"$(vq "SELECT governance.trust_state()")" "undoing the tampering alone does not restore trust"
# restore_trust() undone by a savepoint or an exception block restores nothing
vq "BEGIN; SAVEPOINT s; SELECT governance.restore_trust('rolled back'); ROLLBACK TO s; COMMIT" >/dev/null
vq "DO \$\$ BEGIN PERFORM governance.restore_trust('undone'); RAISE EXCEPTION 'no'; EXCEPTION WHEN raise_exception THEN NULL; END \$\$" >/dev/null
gov_like '^degraded: ledger verification failed' "$(vq "SELECT governance.trust_state()")" \
	"restore_trust() rolled back to a savepoint, or in a failed exception block, leaves trust degraded"
gov_is "0" "$(vq "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.trust.restored' AND payload->>'reason' IN ('rolled back', 'undone')")" \
	"and leaves no event"
vq "SELECT governance.restore_trust('payload restored from the export')" >/dev/null
wait_loops 10
gov_is "trusted" "$(vq "SELECT governance.trust_state()")" "tampering undone and restore_trust(): trust stays restored over 10 verifier rounds"

# Tampering with a block the verifier already checked (D8: sealed blocks
# are re-verified continuously).
vq "SELECT governance.seal()" >/dev/null
wait_loops 5
gov_is "trusted" "$(vq "SELECT governance.trust_state()")" "everything sealed and verified"
vq_off "UPDATE governance.ledger SET payload = '{\"i\": 5, \"amount\": 1000000}' WHERE seq = 5"
degraded_like '^degraded: ledger verification failed: modified row 5:' 30
gov_ok $? "verifier: tampering with a row of an already verified block degrades trust on its own"
# (whether or not the running verifier noticed, a restarted one must)
vq "SELECT pg_terminate_backend(pid) FROM governance.workers WHERE name = 'verifier'" >/dev/null
degraded_like '^degraded: ledger verification failed: modified row 5:' 30
gov_ok $? "verifier: a restarted verifier finds the tampered old block"

gov_stop "$V"
! grep -E "PANIC|terminated by signal" "$V/server.log" "$T/server.log" >/dev/null
gov_ok $? "no crash in either server log"
