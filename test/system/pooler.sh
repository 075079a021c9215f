#!/bin/sh
# Connection poolers and application roles (issue 11, part 3): a real
# pgbouncer in transaction pooling mode (one server connection per pool)
# in front of the cluster, real psycopg clients (test/system/lib/pooler.py):
# per-transaction attach works through the pooler; nothing attached by one
# client reaches the next client of the same server connection (after a
# commit, after a disconnect in the middle of a transaction, after session
# attach attempts, which are refused while governance.session_attach is
# off); attach() alone outside a transaction block is refused; psycopg's
# implicit transaction around authorize and attach gets a HINT and is not
# ledgered as a security event (another transaction's uncommitted lease
# still is); the recipes work; a revocation ends a statement with SQLSTATE
# 57L01 (57L02 when terminating), a timeout still with 57014, and
# last_termination() tells which; a role that cannot hold a lease is told
# so; a reporting role registered as a service agent reads under a lease.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/pooler"
B="$W/pgbouncer"
PGB_PORT=6439
cleanup() {
	[ -f "$B/pgbouncer.pid" ] && kill "$(cat "$B/pgbouncer.pid")" 2>/dev/null
	gov_stop "$C"
}
trap cleanup EXIT

PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
[ -x "$PGBOUNCER" ] || { echo "not ok - pgbouncer is not installed (Debian package pgbouncer; test/deps.sh)"; exit 1; }
$SYS_PYTHON -c 'import psycopg' 2>/dev/null || { echo "not ok - psycopg is not installed (Debian package python3-psycopg)"; exit 1; }

gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" "log_error_verbosity = verbose" || exit 1
# the default, which test/lib.sh turns on for the other suites
gov_conf "$C" "governance.session_attach = off"
gov_start "$C" || exit 1

{ gov_agents_sql po bot; cat <<'SQL'; gov_acct_sql "SELECT, INSERT, UPDATE, DELETE" po_bot po_app po_rep; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('po', 'permit (principal in Group::"po", action, resource);');
CREATE ROLE po_app LOGIN;
CREATE ROLE po_rep LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Service::"po-reporting"', 'po_rep');
SELECT governance.create_policy('po_reporting',
    'permit (principal == Service::"po-reporting", action == Action::"acct.select", resource);');
SQL
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"
gov_is "off" "$(q "SELECT boot_val FROM pg_settings WHERE name = 'governance.session_attach'")" \
	"governance.session_attach is off unless a superuser turns it on"

# pgbouncer: Unix socket only, transaction pooling, one server connection per pool
mkdir -p "$B"
[ -n "$GOV_RUNAS" ] && chown postgres: "$B"
printf '"po_bot" ""\n"po_app" ""\n"po_rep" ""\n' >"$B/users.txt"
cat >"$B/pgbouncer.ini" <<INI
[databases]
postgres = host=$C port=5432 dbname=postgres

[pgbouncer]
listen_addr =
listen_port = $PGB_PORT
unix_socket_dir = $B
auth_type = trust
auth_file = $B/users.txt
pool_mode = transaction
default_pool_size = 1
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 50
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $B/pgbouncer.log
pidfile = $B/pgbouncer.pid
INI
[ -n "$GOV_RUNAS" ] && chown -R postgres: "$B"
$GOV_RUNAS "$PGBOUNCER" -d "$B/pgbouncer.ini" || { echo "not ok - pgbouncer did not start"; cat "$B/pgbouncer.log"; exit 1; }
i=0
while [ ! -S "$B/.s.PGSQL.$PGB_PORT" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
gov_ok $([ -S "$B/.s.PGSQL.$PGB_PORT" ]; echo $?) "pgbouncer listens on its socket in the test's directory"

$SYS_PYTHON "$(dirname "$0")/lib/pooler.py" "$B" "$PGB_PORT" "$C" "$C/server.log"
rc=$?
[ $rc -ne 0 ] && { echo "# pgbouncer log:"; tail -n 20 "$B/pgbouncer.log" | sed 's/^/# /'; }
exit $rc
