#!/bin/sh
# Upgrades (issue 11, section 2; README "Upgrading"; docs/DESIGN.md
# "Released scripts and upgrades").  With the current library:
#  1. the upgrade window: 0.1 as released (CREATE EXTENSION governance
#     VERSION '0.1'), run by this library before ALTER EXTENSION UPDATE --
#     every C function the 0.1 catalog declares exists in the library with
#     the same SQL signature as 0.2 declares it (or under a symbol 0.2 does
#     not use), and the basic flow works: authorize, attach, governed
#     reads, heartbeat, revoke, seal, verify, trust;
#  2. filled (ledger with sealed blocks, live leases, a governed table, an
#     agent attached for its session and reading), ALTER EXTENSION
#     governance UPDATE keeps everything: a role without a lease sees no row
#     before, during (the update's transaction open) and after, the agent
#     keeps exactly its rows, trust stays trusted, the ledger verifies and
#     goes on sealing;
#  3. the result equals a fresh 0.2 install in another database of the same
#     cluster, fact by fact (test/system/lib/catalog.sql: every member and
#     its definition, privileges, initial privileges, comments, config
#     dumps, the schema; roles.sql: the roles, which are cluster-wide).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/upgrade"
LIB="$GOV_ROOT/test/system/lib"
SESSIONS=""
cleanup() {
	exec 3>&- 4>&- 2>/dev/null
	for p in $SESSIONS; do kill "$p" 2>/dev/null; done
	gov_stop "$C"
}
trap cleanup EXIT

gov_new_cluster "$C" "governance.verify_interval = '300ms'" "governance.seal_interval = '200ms'" || exit 1
gov_start "$C" || exit 1

# ---------------------------------------------------------------------
# sessions that stay open: open_session FD NAME ROLE; ask FD NAME SQL
# prints what SQL printed (psql goes on after errors)
# ---------------------------------------------------------------------
open_session() {
	mkfifo "$W/$2.in"
	"$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U "$3" -d postgres <"$W/$2.in" >"$W/$2.out" 2>&1 &
	SESSIONS="$SESSIONS $!"
	eval "exec $1>\"\$W/\$2.in\""
}
ask() {	# (run in a command substitution: the marker cannot be a counter)
	_m="@@$(date +%s%N)"
	_from=$(($(wc -l <"$W/$2.out") + 1))
	printf '%s\n;\n\\echo %s\n' "$3" "$_m" >&"$1"
	_i=0
	while ! grep -q "^$_m\$" "$W/$2.out" && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	tail -n +"$_from" "$W/$2.out" | grep -v "^$_m\$"
}

# ---------------------------------------------------------------------
# 1. 0.1 as released, under this library
# ---------------------------------------------------------------------
q "SET client_min_messages = warning; CREATE EXTENSION governance VERSION '0.1'" >/dev/null
gov_is "0.1|public" "$(q "SELECT extversion || '|' || extnamespace::regnamespace FROM pg_extension WHERE extname = 'governance'")" \
	"0.1 installs as released (its script, in schema public as then)"
gov_is "0.2" "$(q "SHOW governance.library_version")" "the library loaded is 0.2: the upgrade window"

# every C function the 0.1 catalog names must be in the library
SO="$("$PG_CONFIG" --pkglibdir)/governance.so"
nm -D --defined-only "$SO" | awk '{print $3}' | sort -u >"$W/symbols"
q "SELECT DISTINCT prosrc FROM pg_proc WHERE prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
     AND oid IN (SELECT objid FROM pg_depend WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'governance')
                 AND deptype = 'e' AND classid = 'pg_proc'::regclass)" | sort >"$W/c01"
missing=""
while read -r sym; do
	grep -qx "$sym" "$W/symbols" && grep -qx "pg_finfo_$sym" "$W/symbols" || missing="$missing $sym"
done <"$W/c01"
gov_is "" "$missing" "window: every C function of the 0.1 catalog ($(wc -l <"$W/c01")) is in the 0.2 library"

# the fill, which is also the basic flow in the window
{ gov_agents_sql up bot sub | grep -v 'CREATE EXTENSION'; cat <<'EOF'; gov_acct_sql SELECT up_bot up_sub up_plain; } | gov_psql "$C" >/dev/null || { echo "not ok - set-up"; exit 1; }
CREATE ROLE up_plain LOGIN IN ROLE governance_agent;
SELECT governance.create_policy('up', 'permit (principal in Group::"up", action == Action::"acct.select", resource);');
EOF
gov_is "1" "$(q "SELECT count(*) FROM governance.governed_tables")" "window: a table is governed"
gov_wait_trusted "$C" 20
gov_ok $? "window: trusted (the workers run against the 0.1 catalog)"

authorize() {	# authorize RESOURCE TTL: lease_id|artifact
	bq up_bot "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"up-bot\"', 'acct.select', '$1', '{}', '$2')"
}
l=$(authorize 'Account::"1"' '10 minutes'); LIVE=${l%%|*}; LIVE_A=${l#*|}
gov_like '^gov1\.' "$LIVE_A" "window: authorize() issues an artifact"
l=$(authorize 'Account::"2"' '10 minutes'); SESS=${l%%|*}; SESS_A=${l#*|}
l=$(bq up_bot "SELECT lease_id || '|' || artifact FROM governance.delegate('$LIVE', 'Agent::\"up-sub\"', 'acct.select', 'Account::\"1\"')")
CHILD_A=${l#*|}
l=$(authorize 'Account::"1"' '10 minutes'); REV=${l%%|*}; REV_A=${l#*|}
gov_is "1" "$(bq up_bot "SELECT governance.revoke('$REV', 'upgrade test')")" "window: revoke() ends a lease"
reads() {	# reads ROLE ARTIFACT: rows ROLE sees attached to ARTIFACT, or the error
	bq "$1" "BEGIN; SELECT governance.attach('$2') IS NOT NULL; SELECT count(*) FROM acct; COMMIT" 2>&1 | tail -n 1
}
gov_is "1" "$(reads up_bot "$LIVE_A")" "window: attach() and a governed read show the lease's row"
gov_is "1" "$(reads up_sub "$CHILD_A")" "window: so does a delegated lease"
gov_like "artifact refused: lease revoked" "$(reads up_bot "$REV_A")" "window: a revoked lease cannot be attached"
gov_like "^[0-9]{4}-" "$(bq up_bot "SELECT governance.heartbeat('$LIVE')")" "window: heartbeat() renews"
gov_is "0" "$(bq up_plain "SELECT count(*) FROM acct")" "window: a role without a lease sees no row"
q "SELECT governance.record('upgrade.before', jsonb_build_object('i', i)) FROM generate_series(1, 50) i" >/dev/null
gov_wait "$C" "SELECT coalesce(max(last_seq), 0) >= (SELECT max(seq) FROM governance.ledger) FROM governance.ledger_blocks" 20
gov_ok $? "window: the sealer seals every row"
BLOCKS0=$(q "SELECT count(*) FROM governance.ledger_blocks")
ROWS0=$(q "SELECT count(*) FROM governance.ledger")
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "window: verify_ledger() ok ($ROWS0 rows, $BLOCKS0 blocks)"

# the agent, attached for its session, reading
open_session 3 agent up_bot
gov_like "^[0-9a-f-]{36}$" "$(ask 3 agent "SELECT governance.attach('$SESS_A', session => true)")" \
	"an agent session attaches for the session"
gov_is "1" "$(ask 3 agent "SELECT count(*) FROM acct")" "before: the attached agent sees its one row"
gov_is "2" "$(q "SELECT count(*) FROM acct")" "before: (the table has two)"

# ---------------------------------------------------------------------
# 2. ALTER EXTENSION governance UPDATE
# ---------------------------------------------------------------------
gov_like "ERROR: +must be owner of extension governance" \
	"$(bq up_bot "ALTER EXTENSION governance UPDATE" 2>&1)" "a non-superuser cannot update the extension"
open_session 4 updater "$GOV_DBUSER"
r=$(ask 4 updater "SET client_min_messages = warning; BEGIN; ALTER EXTENSION governance UPDATE; SELECT extversion FROM pg_extension WHERE extname = 'governance';")
gov_is "0.2" "$r" "ALTER EXTENSION governance UPDATE runs (its transaction left open)"
# (the update reforms the governed table's policies, issue 15, item 6: it
# holds the table's lock until it commits)
gov_like "^0$|canceling statement due to lock timeout" \
	"$(bq up_plain "SET lock_timeout = '3s'; SELECT count(*) FROM acct" 2>&1 | grep -Ev '^(LINE [0-9]+:| *\^$)' | tail -n 1)" \
	"during: a role without a lease sees no row"
gov_like "^1$|canceling statement due to lock timeout" \
	"$(ask 3 agent "SET lock_timeout = '3s'; SELECT count(*) FROM acct; RESET lock_timeout;" | grep -Ev '^(LINE [0-9]+:| *\^$)' | tail -n 1)" \
	"during: the attached agent sees its row, no other"
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "during: trusted"
gov_is "" "$(ask 4 updater "COMMIT;")" "the update commits"
exec 4>&-

gov_is "0.2|governance|false" "$(q "SELECT extversion || '|' || extnamespace::regnamespace || '|' || extrelocatable FROM pg_extension WHERE extname = 'governance'")" \
	"after: version 0.2, in schema governance (\\dx), not relocatable"
gov_is "0" "$(bq up_plain "SELECT count(*) FROM acct")" "after: a role without a lease sees no row"
gov_is "1" "$(ask 3 agent "SELECT count(*) FROM acct")" "after: the attached agent still sees exactly its row"
gov_is "1" "$(reads up_bot "$LIVE_A")" "after: a lease of before the update attaches and reads"
gov_like "artifact refused: lease revoked" "$(reads up_bot "$REV_A")" "after: the revoked one stays revoked"
l=$(authorize 'Account::"2"' '10 minutes')
gov_is "1" "$(reads up_bot "${l#*|}")" "after: a new lease works"
# issue 15, item 6: the table governed by 0.1 (a sub-select per policy)
# has the new form, recorded for the DDL guard
gov_is "governance.lease_covers('acct.select'::text, owner)" \
	"$(q "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polrelid = 'acct'::regclass AND polname = 'governance_select'")" \
	"after: the table governed by 0.1 has the policy form without a sub-select"
gov_is "4|4" "$(q "SELECT count(*) FILTER (WHERE v->>0 LIKE 'governance.lease_covers(%' OR v->>1 LIKE 'governance.lease_covers(%') || '|' || count(*)
	FROM governance.governed_tables g, jsonb_each(g.policies) AS p(k, v) WHERE g.relid = 'acct'::regclass")" \
	"after: and its four policies are recorded in that form for the DDL guard"
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "after: trusted"
q "SELECT governance.record('upgrade.after', jsonb_build_object('i', i)) FROM generate_series(1, 20) i" >/dev/null
gov_wait "$C" "SELECT count(*) > $BLOCKS0 AND max(last_seq) >= (SELECT max(seq) FROM governance.ledger) FROM governance.ledger_blocks" 20
gov_ok $? "after: new blocks seal"
gov_is "true|0" "$(q "SELECT ok || '|' || ($ROWS0 + 0 > rows_checked)::int FROM governance.verify_ledger()")" \
	"after: verify_ledger() ok over the whole ledger, old and new"
# format version 2 (issue 12, issue 15): the update made a log id; the blocks
# of the window and before stay version 1, the new ones are version 2
gov_is "1" "$(q "SELECT count(*) FROM governance.log_identity")" "after: the update made the log id"
gov_is "t|t|t|t" "$(q "SELECT (count(*) FILTER (WHERE version = 1) >= $BLOCKS0) || '|' ||
                              (count(*) FILTER (WHERE version = 2) >= 1) || '|' ||
                              (max(block_id) FILTER (WHERE version = 1) < min(block_id) FILTER (WHERE version = 2)) || '|' ||
                              bool_and(CASE version WHEN 1 THEN log_id IS NULL AND lineage_root IS NULL
                                       ELSE log_id = (SELECT log_id FROM governance.log_identity) END)
                         FROM governance.ledger_blocks" | sed 's/true/t/g; s/false/f/g')" \
	"after: the blocks of before the update (the window's too) stay version 1, the next ones are version 2 of this log"
gov_is "2" "$(q "SELECT governance.checkpoint()->>'version'")" "after: the checkpoint is version 2"
q "SELECT governance.export()" >"$W/mixed.txt"
q "SELECT encode(public_key, 'hex') FROM governance.signing_keys ORDER BY created_at LIMIT 1" >"$W/first.key"
"$PGBIN/governance-verify" -q --key "$W/first.key" --log-id "$(q "SELECT log_id FROM governance.log_identity")" bundle "$W/mixed.txt" >"$W/mixed.out" 2>&1
gov_is 0 $? "after: governance-verify verifies the export of version 1 and version 2 blocks ($(cat "$W/mixed.out"))"
$SYS_PYTHON "$GOV_ROOT/test/outside/verify_ledger.py" --bundle --pin "$(cat "$W/first.key")" "$W/mixed.txt" >"$W/mixed.py" 2>&1
gov_is 0 $? "after: so does the Python verifier ($(tail -n 1 "$W/mixed.py"))"
vr=$(q "SELECT loops FROM governance.workers WHERE name = 'verifier'")
gov_wait "$C" "SELECT loops > $vr + 3 FROM governance.workers WHERE name = 'verifier'" 20
gov_is "trusted" "$(q "SELECT governance.trust_state()")" "after: the verifier went round again and trust stays trusted"
gov_like "ERROR: +the members of the governance extension cannot be changed" \
	"$(q "ALTER EXTENSION governance DROP TABLE governance.leases" 2>&1)" "after: the DDL guard still refuses member changes"
exec 3>&-

# ---------------------------------------------------------------------
# 3. equal to a fresh 0.2 install
# ---------------------------------------------------------------------
gov_psql "$C" -f "$LIB/roles.sql" >"$W/roles.upgraded" 2>&1
q "CREATE DATABASE fresh" >/dev/null
GOV_DB=fresh gov_sql "$C" "SET client_min_messages = warning; SET governance.allow_other_database = on; CREATE EXTENSION governance" >/dev/null
gov_is "0.2" "$(GOV_DB=fresh gov_sql "$C" "SELECT extversion FROM pg_extension WHERE extname = 'governance'")" "a fresh 0.2 install in another database"
gov_psql "$C" -f "$LIB/roles.sql" >"$W/roles.fresh" 2>&1
gov_psql "$C" -f "$LIB/catalog.sql" >"$W/catalog.upgraded" 2>&1
GOV_DB=fresh gov_psql "$C" -f "$LIB/catalog.sql" >"$W/catalog.fresh" 2>&1
n=$(grep -c '^member |' "$W/catalog.fresh")
[ "$n" -gt 50 ] && ! grep -q '^psql:' "$W/catalog.fresh" "$W/catalog.upgraded"
gov_ok $? "the catalog comparison ran ($n members, $(wc -l <"$W/catalog.fresh") facts)"
diff -u "$W/catalog.fresh" "$W/catalog.upgraded" >"$W/catalog.diff"
gov_ok $? "the upgraded catalog equals a fresh 0.2 install (members, definitions, privileges, comments, config dumps)"
sed 's/^/#   /' "$W/catalog.diff" | head -n 200
diff -u "$W/roles.upgraded" "$W/roles.fresh" >"$W/roles.diff"
gov_ok $? "the upgrade made the roles a fresh install makes (a fresh install changes no role after it)"
sed 's/^/#   /' "$W/roles.diff" | head -n 50

# a C function whose SQL signature 0.2 changed must use a new symbol: the
# 0.1 catalog calls the old one with the old arguments during the window
GOV_DB=fresh gov_sql "$C" "SELECT prosrc || ' ' || oid::regprocedure::text || ' ' || prorettype::regtype::text FROM pg_proc
     WHERE prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND pronamespace = 'governance'::regnamespace" \
	| sed 's/ governance\.[a-z_0-9]*(/ (/' | sort >"$W/sig.fresh"
q "CREATE DATABASE old_sig" >/dev/null
GOV_DB=old_sig gov_sql "$C" "SET client_min_messages = warning; SET governance.allow_other_database = on; CREATE EXTENSION governance VERSION '0.1'" >/dev/null
GOV_DB=old_sig gov_sql "$C" "SELECT prosrc || ' ' || oid::regprocedure::text || ' ' || prorettype::regtype::text FROM pg_proc
     WHERE prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND pronamespace = 'governance'::regnamespace" \
	| sed 's/ governance\.[a-z_0-9]*(/ (/' | sort >"$W/sig.01"
changed=$(awk 'NR == FNR { line[$0] = 1; sym[$1] = 1; next } ($1 in sym) && !($0 in line) { print $1 }' \
	"$W/sig.01" "$W/sig.fresh" | sort -u | tr '\n' ' ')
gov_is "" "$changed" "no C symbol is declared with one signature by 0.1 and another by 0.2"

gov_stop "$C"
gov_is "0" "$(grep -cE 'terminated by signal|PANIC' "$C/server.log")" "no crash and no PANIC in the server log"
