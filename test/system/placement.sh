#!/bin/sh
# Placement and noise (issue 11, section 5; docs/DESIGN.md "Placement"):
#  - while governance.database does not exist the workers say so once and
#    wait quietly (not 6 log lines a second);
#  - CREATE EXTENSION governance elsewhere is refused with a hint (any
#    version), unless a superuser sets governance.allow_other_database;
#  - the extension lives in its schema, governance (\dx), and nowhere else;
#  - a plain DROP DATABASE of governance.database works (the workers leave
#    it), a failed one brings them back, and a re-created database with the
#    extension gets its workers back, with nothing of the old one live.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/placement"
SLEEPERS=""
cleanup() {
	for p in $SLEEPERS; do kill "$p" 2>/dev/null; done
	gov_stop "$C"
}
trap cleanup EXIT

gov_new_cluster "$C" "governance.database = 'gdb'" || exit 1
gov_start "$C" || exit 1

# worker_lines: lines the workers (and the postmaster about them) logged
worker_lines() {
	grep -cE 'governance (enforcer|sealer|verifier)|background worker "governance' "$C/server.log"
}
# in DB: as the superuser
qd() { GOV_DB=$1 gov_sql "$C" "$2"; }
# err DB SQL: SQLSTATE and message of the error SQL raises, or "no error"
err() {
	GOV_DB=$1 "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -h "$C" -p 5432 \
		-U "${3:-$GOV_DBUSER}" -d "$1" -c "$2" 2>&1 | grep -E '^(ERROR|HINT)' | tr '\n' ' ' || true
}

# ---------------------------------------------------------------------
# governance.database missing: one line, then quiet
# ---------------------------------------------------------------------
sleep 4
n1=$(worker_lines)
sleep 6
n2=$(worker_lines)
gov_is "0" "$((n2 - n1))" "missing database: no worker logs anything in 6 seconds after the first (was about 6 lines a second)"
[ "$n2" -le 12 ]
gov_ok $? "missing database: the first start says it in a handful of lines ($n2)"
gov_is "1" "$(grep -c 'database "gdb" (governance.database) does not exist; the workers wait for it' "$C/server.log")" \
	"missing database: it is said once, for all three workers"
gov_is "3" "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'governance %' AND datid IS NULL")" \
	"missing database: the three workers wait, connected to no database"
gov_is "0" "$(grep -c 'terminated by signal' "$C/server.log")" "missing database: nothing crashed"

# ---------------------------------------------------------------------
# CREATE EXTENSION only in governance.database, only in schema governance
# ---------------------------------------------------------------------
q "CREATE DATABASE gdb" >/dev/null
q "CREATE DATABASE other" >/dev/null
q "CREATE ROLE pl_user LOGIN" >/dev/null
gov_like '^ERROR: +0A000: the governance extension can only be created in database "gdb" \(governance.database\) HINT: +Connect to database "gdb", or set governance.database = .other. in postgresql.conf' \
	"$(err other "CREATE EXTENSION governance")" "CREATE EXTENSION in another database is refused, with a hint"
gov_like '^ERROR: +0A000: the governance extension can only be created in database "gdb"' \
	"$(err other "CREATE EXTENSION governance VERSION '0.1'")" "so is the released 0.1 script"
gov_like '^ERROR: +0A000: the governance extension can only be created' \
	"$(err other "CREATE EXTENSION IF NOT EXISTS governance")" "and CREATE EXTENSION IF NOT EXISTS"
gov_is "0 0" "$(qd other "SELECT count(*) FROM pg_extension WHERE extname = 'governance'") $(qd other "SELECT count(*) FROM pg_namespace WHERE nspname = 'governance'")" \
	"nothing of it is left there, not even the schema"
gov_like '^ERROR: +42501: permission denied to set parameter "governance.allow_other_database"' \
	"$(err other "SET governance.allow_other_database = on" pl_user)" "only a superuser may set governance.allow_other_database"
r=$(GOV_DB=other gov_psql "$C" -Atc "SET client_min_messages = warning" -c "SET governance.allow_other_database = on" \
	-c "CREATE EXTENSION governance" -c "SELECT extversion FROM pg_extension WHERE extname = 'governance'" 2>&1)
gov_is "0.2" "$r" "with governance.allow_other_database a superuser can create it there (a copy to verify)"
gov_like '^degraded: leases are enforced in database "gdb"' "$(qd other "SELECT governance.trust_state()")" \
	"and there it is fail-closed"

gov_like '^ERROR: +0A000: extension "governance" must be installed in schema "governance"' \
	"$(err gdb "CREATE EXTENSION governance SCHEMA public")" "CREATE EXTENSION ... SCHEMA public is refused, not ignored"
qd gdb "SET client_min_messages = warning; CREATE EXTENSION governance" >/dev/null
gov_is "governance|false|0.2" "$(qd gdb "SELECT extnamespace::regnamespace || '|' || extrelocatable || '|' || extversion FROM pg_extension WHERE extname = 'governance'")" \
	"in governance.database it is created, in schema governance (\\dx), not relocatable"
gov_like "governance +\| 0.2 +\| governance +\|" "$(GOV_DB=gdb gov_psql "$C" -c '\dx governance')" "\\dx says so"
gov_like '^ERROR: +0A000: extension "governance" does not support SET SCHEMA' \
	"$(err gdb "ALTER EXTENSION governance SET SCHEMA public")" "ALTER EXTENSION ... SET SCHEMA is refused"
gov_wait "$C" "SELECT count(*) = 3 FROM pg_stat_activity WHERE backend_type LIKE 'governance %' AND datname = 'gdb'" 20
gov_ok $? "the workers found the new database and connected to it"
GOV_DB=gdb gov_wait_trusted "$C" 20
gov_ok $? "and trust is established there"
gov_is "1" "$(grep -c 'database "gdb" (governance.database) can be connected to; the workers connect' "$C/server.log")" \
	"that too is said once"

# an agent with a live lease, whose artifact must not outlive the database
{ gov_agents_sql pl bot | grep -v 'CREATE EXTENSION'; cat <<'EOF'; } | GOV_DB=gdb gov_psql "$C" >/dev/null || echo "not ok - agent set-up"
SELECT governance.create_policy('pl', 'permit (principal in Group::"pl", action == Action::"acct.select", resource);');
EOF
OLD_A=$(GOV_DB=gdb gov_sql_as "$C" pl_bot "SELECT artifact FROM governance.authorize('Agent::\"pl-bot\"', 'acct.select', 'Account::\"1\"', '{}', '10 minutes')")
gov_like '^gov1\.' "$OLD_A" "an agent holds a live lease in governance.database"

# ---------------------------------------------------------------------
# DROP DATABASE: failed, then plain, then re-created
# ---------------------------------------------------------------------
pids=$(q "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type LIKE 'governance %'")
gov_like '^ERROR: +42501: must be owner of database gdb' "$(err postgres "DROP DATABASE gdb" pl_user)" \
	"DROP DATABASE by a role that may not drop it is refused"
sleep 2
gov_is "$pids" "$(q "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type LIKE 'governance %'")" \
	"and does not send the workers away"
GOV_DB=gdb "$PGBIN/psql" -X -q -At -h "$C" -p 5432 -U "$GOV_DBUSER" -d gdb -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
SLEEPERS="$SLEEPERS $!"; BUSY=$!
gov_wait "$C" "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = 'gdb' AND query = 'SELECT pg_sleep(60)'" 20
gov_like '^ERROR: +55006: database "gdb" is being accessed by other users' "$(err postgres "DROP DATABASE gdb")" \
	"DROP DATABASE with a client connected fails as PostgreSQL says"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'gdb' AND query = 'SELECT pg_sleep(60)'" >/dev/null
wait "$BUSY" 2>/dev/null
gov_wait "$C" "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = 'gdb' AND backend_type = 'client backend'" 20
GOV_DB=gdb gov_wait "$C" "SELECT count(*) = 3 FROM governance.workers WHERE state IN ('idle', 'running')" 20
gov_ok $? "after the failed drop the workers are back in the database"
GOV_DB=gdb gov_wait_trusted "$C" 20
gov_ok $? "and it is trusted again"

mark=$(wc -l <"$C/server.log")
t0=$(date +%s)
r=$(err postgres "DROP DATABASE gdb")
gov_is "" "$r" "a plain DROP DATABASE of governance.database works, without FORCE"
gov_ok $(( $(date +%s) - t0 > 3 )) "it did not wait for the workers to time out ($(( $(date +%s) - t0 )) s)"
tail -n +"$mark" "$C/server.log" | grep -q 'governance enforcer: leaving database "gdb", which is being dropped'
gov_ok $? "the enforcer says why it left"
sleep 4
gov_is "3" "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'governance %' AND datid IS NULL")" \
	"the workers wait, connected to no database"
n1=$(worker_lines); sleep 5; n2=$(worker_lines)
gov_is "0" "$((n2 - n1))" "and quietly"

q "CREATE DATABASE gdb" >/dev/null
qd gdb "SET client_min_messages = warning; CREATE EXTENSION governance" >/dev/null
GOV_DB=gdb gov_wait "$C" "SELECT count(*) = 3 FROM governance.workers WHERE state IN ('idle', 'running')" 20
gov_ok $? "the re-created database with the extension gets its workers back"
GOV_DB=gdb gov_wait_trusted "$C" 20
gov_ok $? "and is trusted"
qd gdb "SELECT governance.record('placement.probe', '{}')" >/dev/null
GOV_DB=gdb gov_wait "$C" "SELECT count(*) > 0 FROM governance.ledger_blocks" 20
gov_ok $? "its ledger is sealed"
gov_is "ok" "$(qd gdb "SELECT CASE WHEN ok THEN 'ok' ELSE 'failed' END FROM governance.verify_ledger()" 2>&1)" \
	"and verifies"
{ gov_agents_sql pl bot | grep -v 'CREATE EXTENSION\|CREATE ROLE'; } | GOV_DB=gdb gov_psql "$C" >/dev/null
gov_like "artifact refused" "$(GOV_DB=gdb gov_sql_as "$C" pl_bot "BEGIN; SELECT governance.attach('$OLD_A'); COMMIT" 2>&1)" \
	"a lease of the dropped database cannot be attached in the new one"

gov_stop "$C"
gov_is "0" "$(grep -cE 'terminated by signal|PANIC' "$C/server.log")" "no crash and no PANIC in the server log"
