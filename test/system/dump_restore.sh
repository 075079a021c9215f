#!/bin/sh
# Backup and restore (README, "Backup and restore"; docs/DESIGN.md): a
# database with the extension, a governed table, a ledger of sealed blocks
# and live leases, dumped with the real pg_dump and pg_dumpall, prints no
# warning, and restored with the standard commands into fresh clusters
# comes back protected and verifiable: row-level security and triggers on
# the governed table, the ledger and its blocks verifying under the old
# public keys, the ledger's seqs continuing, agents found by role name,
# the dump's leases ended and ledgered, the server key either carried (the
# key file copied) or new and held degraded until an administrator vouches
# for it.  A restore that would lose protection fails; a ledger edited on
# the way is found by verify_ledger(), a truncated one by the checkpoint
# kept outside.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
A="$W/source"
NEW=""
trap 'for d in $A $NEW; do gov_stop "$d"; done' EXIT
gov_new_cluster "$A" || exit 1
gov_start "$A" || exit 1
C=$A
U=$GOV_DBUSER

# ---- the source: a governed table, two sealed blocks, two live leases ----
{
	gov_agents_sql dr bot
	gov_acct_sql "SELECT, INSERT, UPDATE" dr_bot
	echo "SELECT governance.create_policy('dr', 'permit (principal in Group::\"dr\", action, resource);');"
	# a template and a policy linked from it (issue 17)
	echo "SELECT governance.create_template('dr_t', 'forbid (principal == ?principal, action, resource);');"
	echo "SELECT governance.link_template('dr_t', 'dr_link', principal => 'Agent::\"dr-banned\"');"
	# its select policy in the sub-select form of 0.1, as a table governed
	# by 0.1 and not reformed has it (recorded first: the DDL guard compares)
	cat <<'EOF'
CREATE TABLE dr_old_form (owner text);
CREATE POLICY p ON dr_old_form USING (owner = (SELECT governance.authorized_resource('acct.select'))
    OR owner = ANY ((SELECT governance.authorized_resources('acct.select'))::text[]));
UPDATE governance.governed_tables
   SET policies = jsonb_set(policies, '{governance_select}',
                            jsonb_build_array((SELECT pg_get_expr(polqual, polrelid) FROM pg_policy
                                                WHERE polrelid = 'dr_old_form'::regclass), NULL))
 WHERE relid = 'acct'::regclass;
ALTER POLICY governance_select ON acct
    USING (owner = (SELECT governance.authorized_resource('acct.select'))
           OR owner = ANY ((SELECT governance.authorized_resources('acct.select'))::text[]));
DROP TABLE dr_old_form;
EOF
} | gov_psql "$A" >/dev/null
gov_like "authorized_resource\\('acct.select'" \
	"$(q "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polrelid = 'acct'::regclass AND polname = 'governance_select'")" \
	"source: the governed table's select policy has 0.1's sub-select form"
gov_wait_trusted "$A" 30; gov_ok $? "source: trusted"
art=$(bq dr_bot "SELECT artifact FROM governance.authorize('Agent::\"dr-bot\"', 'acct.update', 'Account::\"1\"', '{}', '1 hour')")
bq dr_bot "BEGIN; SELECT governance.attach('$art'); UPDATE acct SET id = id WHERE owner = 'Account::\"1\"'; COMMIT;" >/dev/null
q "SELECT governance.seal()" >/dev/null
bq dr_bot "SELECT lease_id FROM governance.authorize('Agent::\"dr-bot\"', 'acct.select', 'Account::\"2\"', '{}', '1 hour')" >/dev/null
q "SELECT governance.seal()" >/dev/null
# the checkpoint an operator keeps outside, taken before the dump
CP=$(q "SELECT governance.checkpoint()")
LOG_ID=$(q "SELECT log_id FROM governance.log_identity")
LAST_SEQ=$(q "SELECT max(seq) FROM governance.ledger")
LAST_BLOCK=$(q "SELECT max(block_id) FROM governance.ledger_blocks")
LAST_HASH=$(q "SELECT block_hash FROM governance.ledger_blocks WHERE block_id = $LAST_BLOCK")
gov_is "2" "$(q "SELECT count(*) FROM governance.leases WHERE state = 'live'")" "source: two live leases"
[ "$LAST_BLOCK" -ge 2 ]; gov_ok $? "source: at least two sealed blocks ($LAST_BLOCK)"

# ---- dumps: no warnings ------------------------------------------------
"$PGBIN/pg_dump" -h "$A" -U "$U" -Fc -f "$W/dump.custom" postgres 2>"$W/dump.err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$W/dump.err" ]; gov_ok $? "pg_dump -Fc succeeds and prints nothing on stderr ($(head -c 200 "$W/dump.err"))"
"$PGBIN/pg_dump" -h "$A" -U "$U" -f "$W/dump.sql" postgres 2>"$W/dump2.err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$W/dump2.err" ]; gov_ok $? "pg_dump (plain) succeeds and prints nothing on stderr"
"$PGBIN/pg_dumpall" -h "$A" -U "$U" -f "$W/all.sql" 2>"$W/dumpall.err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$W/dumpall.err" ]; gov_ok $? "pg_dumpall succeeds and prints nothing on stderr"
"$PGBIN/pg_dumpall" -h "$A" -U "$U" --roles-only -f "$W/roles.sql" 2>/dev/null
grep -q "setval('governance.ledger_seq', $LAST_SEQ, true)" "$W/dump.sql"
gov_ok $? "the dump carries the ledger's sequence"
rls_line=$(grep -n "ALTER TABLE public.acct ENABLE ROW LEVEL SECURITY" "$W/dump.sql" | cut -d: -f1)
grant_line=$(grep -n "GRANT .* ON TABLE public.acct TO dr_bot" "$W/dump.sql" | cut -d: -f1)
[ -n "$rls_line" ] && [ -n "$grant_line" ] && [ "$rls_line" -lt "$grant_line" ]
gov_ok $? "the dump enables row-level security on the governed table before it grants anyone the table"

# new_cluster NAME [key]: a fresh cluster (the source's key file copied in
# with "key"), started, with the source's roles
new_cluster() {
	_d="$W/$1"
	gov_new_cluster "$_d" || return 1
	NEW="$NEW $_d"
	[ "${2:-}" = key ] && cp -p "$A/data/governance_signing.key" "$_d/data/"
	gov_start "$_d" || return 1
	[ "${3:-}" = noroles ] || "$PGBIN/psql" -X -q -h "$_d" -U "$U" -d postgres -f "$W/roles.sql" >/dev/null 2>&1
	return 0
}

# wait_finished DIR: the sealer has finished the restore
wait_finished() {
	gov_wait "$1" "SELECT count(*) = 1 FROM governance.restores WHERE finished_at IS NOT NULL" 30
}

# check_restored DIR LABEL: what holds after every good restore, trust
# already restored where it had to be
check_restored() {
	C=$1; L=$2
	gov_is "t|t|governance_owner" "$(q "SELECT relrowsecurity, relforcerowsecurity, relowner::regrole FROM pg_class WHERE oid = 'public.acct'::regclass")" \
		"$L: the governed table has row-level security, forced, and belongs to governance_owner"
	gov_is "governance_delete governance_insert governance_select governance_update" \
		"$(q "SELECT string_agg(polname, ' ' ORDER BY polname) FROM pg_policy WHERE polrelid = 'public.acct'::regclass")" \
		"$L: its four policies"
	gov_is "governance.lease_covers('acct.select'::text, owner)|4" \
		"$(q "SELECT pg_get_expr(polqual, polrelid) || '|' || (SELECT count(*) FROM governance.governed_tables g, jsonb_each(g.policies) p(k, v)
		        WHERE g.relid = 'acct'::regclass AND (v->>0 LIKE 'governance.lease_covers(%' OR v->>1 LIKE 'governance.lease_covers(%'))
		      FROM pg_policy WHERE polrelid = 'public.acct'::regclass AND polname = 'governance_select'")" \
		"$L: the policy of 0.1's form came back reformed (issue 15, item 6), and recorded so"
	gov_is "governance_lineage:A governance_no_truncate:A" \
		"$(q "SELECT string_agg(tgname || ':' || tgenabled::text, ' ' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.acct'::regclass AND NOT tgisinternal")" \
		"$L: its lineage and truncate triggers, enabled always"
	gov_is "dr_t|dr_link|Agent::\"dr-banned\"|deny" \
		"$(q "SELECT t.name, l.name, l.principal, (SELECT decision FROM governance.decide(l.principal, 'read', 'Doc::\"x\"'))
		        FROM governance.policy_templates t JOIN governance.template_links l ON l.template = t.name")" \
		"$L: the template, its link and the linked policy's decision came back"
	gov_is "0" "$(bq dr_bot "SELECT count(*) FROM acct")" "$L: an agent without a lease sees no row"
	gov_is "acct|acct" "$(q "SELECT relid, root_relid FROM governance.governed_tables")" \
		"$L: governed_tables names the restored table"
	gov_is "t" "$(q "SELECT role_oid = 'dr_bot'::regrole FROM governance.agents WHERE principal = 'Agent::\"dr-bot\"'")" \
		"$L: the agent is mapped to the role of its name in this cluster"
	gov_is "0" "$(q "SELECT count(*) FROM governance.leases WHERE state = 'live'")" "$L: no lease of the dump is live"
	gov_is "2" "$(q "SELECT count(*) FROM governance.leases WHERE state = 'revoked' AND end_reason = 'restored from a dump'")" \
		"$L: the dump's live leases ended, 'restored from a dump'"
	gov_is "2" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.revoke' AND payload->>'reason' = 'restored from a dump'")" \
		"$L: each ending is ledgered in its lease's chain"
	gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.restored'")" "$L: the restore is ledgered"
	gov_is "$LAST_SEQ" "$(q "SELECT min(seq) - 1 FROM governance.ledger WHERE seq > $LAST_SEQ")" \
		"$L: the ledger's seqs continue right after the dump's"
	gov_is "t" "$(q "SELECT bool_and(hash_ok AND prev_ok AND signature_ok) FROM governance.block_proof WHERE block_id <= $LAST_BLOCK")" \
		"$L: the restored blocks verify under the restored public keys"
	gov_is "trusted" "$(q "SELECT governance.trust_state()")" "$L: trusted"
	# life goes on: a new lease, its rows, a new block, all verifying
	_art=$(bq dr_bot "SELECT artifact FROM governance.authorize('Agent::\"dr-bot\"', 'acct.select', 'Account::\"2\"', '{}', '5 minutes')" 2>&1)
	gov_is "1" "$(bq dr_bot "BEGIN; SELECT governance.attach('$_art') IS NOT NULL; SELECT count(*) FROM acct; COMMIT;" 2>&1 | tail -n 1)" \
		"$L: a new lease lets the agent read its row"
	_b=$(q "SELECT governance.seal()" 2>&1)
	[ "$_b" -gt "$LAST_BLOCK" ] 2>/dev/null; gov_ok $? "$L: sealing goes on ($_b)"
	gov_is "t||" "$(q "SELECT ok, first_bad_seq, problem FROM governance.verify_ledger()")" "$L: verify_ledger() is ok"
	gov_is "t" "$(q "SELECT ok FROM governance.verify_checkpoint('$CP')")" "$L: the checkpoint kept outside verifies"
	gov_is "1|$LOG_ID" "$(q "SELECT count(*) || '|' || min(log_id::text) FROM governance.log_identity")" \
		"$L: the log id is the dump's (the log continues; its version 2 checkpoint names it)"
	gov_is "1|1|1" "$(q "SELECT string_agg(starts::text, '|' ORDER BY name) FROM governance.workers")" \
		"$L: no worker restarted"
	q "CREATE TABLE ddl_probe (i int); DROP TABLE ddl_probe" >/dev/null 2>&1
	gov_ok $? "$L: DDL works in the restored database"
}

# ---- 1. pg_restore --single-transaction --exit-on-error, key carried ----
new_cluster custom key || exit 1
"$PGBIN/pg_restore" -h "$W/custom" -U "$U" --single-transaction --exit-on-error -d postgres "$W/dump.custom" 2>"$W/r1.err"
gov_ok $? "pg_restore --single-transaction --exit-on-error succeeds ($(head -c 300 "$W/r1.err"))"
C="$W/custom"
wait_finished "$C"; gov_ok $? "custom: the sealer finishes the restore"
gov_wait_trusted "$C" 10
gov_is "true|" "$(q "SELECT payload->>'key_carried', (SELECT endorsed_by FROM governance.signing_keys WHERE retired_at IS NULL) FROM governance.ledger WHERE kind = 'governance.restored'")" \
	"custom: the key file copied in, the server signs on with the restored key"
check_restored "$W/custom" custom
gov_stop "$W/custom"

# ---- 2. psql -v ON_ERROR_STOP=1 -f dump.sql, no key: a new key, vouched for
new_cluster plain || exit 1
C="$W/plain"
gov_psql "$C" -f "$W/dump.sql" >/dev/null 2>"$W/r2.err"
gov_ok $? "psql -v ON_ERROR_STOP=1 -f dump.sql succeeds ($(grep -m1 ERROR "$W/r2.err"))"
wait_finished "$C"; gov_ok $? "plain: the sealer finishes the restore"
gov_wait "$C" "SELECT governance.trust_state() LIKE 'degraded: the dump was restored without its signing key%'" 10
gov_ok $? "plain: without the old key trust stays degraded and says why ($(q "SELECT governance.trust_state()"))"
out=$(bq dr_bot "SELECT decision || ': ' || array_to_string(reasons, ', ') FROM governance.authorize('Agent::\"dr-bot\"', 'acct.select', 'Account::\"2\"')" 2>&1)
gov_like "^deny: .*without its signing key" "$out" "plain: nothing is authorized meanwhile ($out)"
gov_is "1" "$(q "SELECT count(*) FROM governance.signing_keys WHERE retired_at IS NULL AND endorsed_by IS NULL AND key_id = governance.current_key_id()")" \
	"plain: the new key is recorded, current and unendorsed"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.trust.degraded' AND payload->>'reason' LIKE '%without its signing key%'")" \
	"plain: the degradation is ledgered"
gov_stop "$C"; gov_start "$C"
gov_wait "$C" "SELECT governance.trust_state() LIKE 'degraded: a restore left a signing key that nothing endorses%'" 20
gov_ok $? "plain: a restart does not forget the unendorsed key ($(q "SELECT governance.trust_state()"))"
gov_is "f" "$(q "SELECT governance._restoring()")" "plain: _restoring() is false outside a restoring session"
out=$(bq dr_bot "SELECT governance._restoring()" 2>&1)
gov_like "permission denied" "$out" "plain: _restoring() is not for agents"
out=$(q "INSERT INTO governance.ledger SELECT * FROM governance.ledger WHERE seq = 1" 2>&1)
gov_like "append-only" "$out" "plain: a superuser's INSERT into the ledger is still refused"
q "SELECT governance.restore_trust('restored on new hardware; the new key is ours')" >/dev/null
gov_is "1" "$(q "SELECT count(*) FROM governance.restores WHERE acknowledged_at IS NOT NULL")" \
	"plain: restore_trust() vouches for the key (ledgered)"
gov_wait_trusted "$C" 10
check_restored "$W/plain" plain
# the acknowledgement survives a restart; an unacknowledged key would not
gov_stop "$C"; gov_start "$C"
gov_wait_trusted "$C" 20; gov_ok $? "plain: still trusted after a restart"

# a second restore into a used database is refused, loudly
out=$(printf '%s\n' "COPY governance.policies (name, source, effect, created_at, created_by) FROM stdin;" \
	"x	permit (principal, action, resource);	permit	2026-01-01 00:00:00+00	x" '\.' | gov_psql "$C" 2>&1)
gov_like "restored only into a database where the extension was just created" "$out" \
	"a COPY of dump data into a database with a ledger is refused"
out=$(printf '%s\n' "COPY governance.ledger_blocks FROM stdin;" '\.' | gov_psql "$C" 2>&1)
gov_like "just created|append-only" "$out" "so is one into the blocks"
gov_stop "$C"

# ---- 3. pg_dumpall round trip, key carried ----------------------------
new_cluster all key noroles || exit 1
C="$W/all"
"$PGBIN/psql" -X -q -h "$C" -U "$U" -d postgres -f "$W/all.sql" >"$W/r3.out" 2>&1
errs=$(grep -c "ERROR" "$W/r3.out")
other=$(grep "ERROR" "$W/r3.out" | grep -vc "role \"$U\" already exists")
gov_is "0" "$other" "pg_dumpall's script restores with no error but the bootstrap role's ($errs in all)"
wait_finished "$C"; gov_ok $? "dumpall: the sealer finishes the restore"
gov_wait_trusted "$C" 10
check_restored "$W/all" dumpall
gov_stop "$C"

# ---- 4. a restore that would lose protection fails ---------------------
# the policies left out of the restore list: the GRANT on the table refuses
new_cluster nopol key || exit 1
C="$W/nopol"
"$PGBIN/pg_restore" -l "$W/dump.custom" | grep -v " POLICY public acct " >"$W/nopol.list"
"$PGBIN/pg_restore" -h "$C" -U "$U" --single-transaction --exit-on-error -L "$W/nopol.list" -d postgres "$W/dump.custom" >"$W/r4.err" 2>&1
rc=$?
[ $rc -ne 0 ]; gov_ok $? "a restore without the governed table's policies fails"
gov_like "policies would change" "$(cat "$W/r4.err")" "it says why"
gov_is "0 0" "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'governance'") $(q "SELECT count(*) FROM pg_class WHERE relname = 'acct'")" \
	"and nothing of it remains"
gov_stop "$C"

# without the roles: the agent's role is not found by name
new_cluster noroles key noroles || exit 1
C="$W/noroles"
"$PGBIN/pg_restore" -h "$C" -U "$U" --single-transaction --exit-on-error -d postgres "$W/dump.custom" >"$W/r5.err" 2>&1
[ $? -ne 0 ]; gov_ok $? "a restore before the roles exist fails ($(grep -m1 ERROR "$W/r5.err"))"
gov_is "0" "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'governance'")" "and leaves nothing"
gov_stop "$C"

# ---- 5. tampering on the way -------------------------------------------
# one row's payload edited in the dump: verify_ledger() names it
awk 'BEGIN { inl = 0 }
	/^COPY governance.ledger \(/ { inl = 1; print; next }
	inl && /^\\\.$/ { inl = 0 }
	inl && $0 ~ /^1\t/ { sub(/"dr_bot"/, "\"dr_bit\"") }
	{ print }' "$W/dump.sql" >"$W/edited.sql"
! cmp -s "$W/dump.sql" "$W/edited.sql"; gov_ok $? "tamper: the dump's first ledger row is edited"
new_cluster edited key || exit 1
C="$W/edited"
gov_psql "$C" -f "$W/edited.sql" >/dev/null 2>&1; gov_ok $? "tamper: the edited dump restores"
wait_finished "$C"
gov_is "f|1" "$(q "SELECT ok, first_bad_seq FROM governance.verify_ledger()")" "tamper: verify_ledger() names the edited row"
gov_wait "$C" "SELECT governance.trust_state() LIKE 'degraded:%'" 30
gov_ok $? "tamper: the verifier degrades trust ($(q "SELECT governance.trust_state()"))"
gov_stop "$C"

# the last block and its rows removed: the checkpoint kept outside finds it
first_cut=$(gov_sql "$A" "SELECT first_seq FROM governance.ledger_blocks WHERE block_id = $LAST_BLOCK")
awk -v cut="$first_cut" -v blk="$LAST_BLOCK" 'BEGIN { inl = 0; inb = 0 }
	/^COPY governance.ledger \(/ { inl = 1; print; next }
	/^COPY governance.ledger_blocks \(/ { inb = 1; print; next }
	(inl || inb) && /^\\\.$/ { inl = 0; inb = 0 }
	inl { split($0, f, "\t"); if (f[1] + 0 >= cut + 0) next }
	inb { split($0, f, "\t"); if (f[1] + 0 == blk + 0) next }
	{ print }' "$W/dump.sql" >"$W/truncated.sql"
new_cluster truncated key || exit 1
C="$W/truncated"
gov_psql "$C" -f "$W/truncated.sql" >/dev/null 2>&1; gov_ok $? "truncate: the dump without its last block restores"
wait_finished "$C"
gov_is "0" "$(q "SELECT count(*) FROM governance.ledger_blocks WHERE block_hash = '$LAST_HASH'::bytea")" \
	"truncate: the restored ledger lacks the last block"
gov_is "f" "$(q "SELECT ok FROM governance.verify_checkpoint('$CP')")" "truncate: the checkpoint kept outside detects it"
gov_is "f" "$(q "SELECT ok FROM governance.verify_ledger('$CP'::jsonb)")" "truncate: so does verify_ledger(checkpoint)"
gov_stop "$C"
