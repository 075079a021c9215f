#!/bin/sh
# Shared helpers for the test and demo scripts: find PostgreSQL, start and
# stop throwaway clusters (temporary directory, Unix socket only, governance
# preloaded), run SQL, and count results.  Source it; do not run it.

# The repository root: the nearest directory above the running script
# that holds governance.control (scripts live in test/ and test/system/).
GOV_ROOT=$(cd "$(dirname "$0")" && while [ ! -f governance.control ] && [ "$(pwd)" != / ]; do cd ..; done; pwd)
PG_CONFIG=${PG_CONFIG:-$(ls /usr/lib/postgresql/15/bin/pg_config 2>/dev/null || command -v pg_config)}
PGBIN=$("$PG_CONFIG" --bindir)
PGXS_DIR=$(dirname "$("$PG_CONFIG" --pgxs)")
PG_REGRESS="$PGXS_DIR/../test/regress/pg_regress"
PG_ISOLATION_REGRESS="$PGBIN/pg_isolation_regress"
[ -x "$PG_ISOLATION_REGRESS" ] || PG_ISOLATION_REGRESS="$PGXS_DIR/../test/isolation/pg_isolation_regress"
SYS_PYTHON=/usr/bin/python3		# Debian's, which has python3-nacl
export PGBIN PG_REGRESS PG_ISOLATION_REGRESS SYS_PYTHON GOV_ROOT

# The server cannot run as root: as root, run it as the postgres user.
if [ "$(id -u)" -eq 0 ]; then
	GOV_RUNAS="runuser -u postgres --"
	GOV_DBUSER=postgres
else
	GOV_RUNAS=""
	GOV_DBUSER=$(id -un)
fi
export GOV_RUNAS GOV_DBUSER

# Independent vectors: the shared copy when present, else ours.
if [ -d "$GOV_ROOT/../shared/vectors" ]; then
	GOV_VECTORS=$(cd "$GOV_ROOT/../shared/vectors" && pwd)
else
	GOV_VECTORS="$GOV_ROOT/test/vectors"
fi
export GOV_VECTORS

# gov_new_cluster DIR [postgresql.conf lines...]: initdb into DIR/data.
gov_new_cluster() {
	dir=$1; shift
	mkdir -p "$dir"
	[ -n "$GOV_RUNAS" ] && chown postgres: "$dir"
	chmod 700 "$dir"
	$GOV_RUNAS "$PGBIN/initdb" -D "$dir/data" -U "$GOV_DBUSER" --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2; return 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "port = 5432"
		echo "shared_preload_libraries = 'governance'"
		echo "max_prepared_transactions = 10"
		echo "log_line_prefix = '%m [%p] %b '"
		echo "fsync = off"
		# the suites attach leases for the session (direct connections,
		# one client each); test/system/pooler.sh turns it off again
		echo "governance.session_attach = on"
		for line in "$@"; do echo "$line"; done
	} >>"$dir/data/postgresql.conf"
}

# gov_conf DIR LINE: append a line to the cluster's configuration.
gov_conf() {
	echo "$2" >>"$1/data/postgresql.conf"
}

gov_start() {
	$GOV_RUNAS "$PGBIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 start >/dev/null || {
		echo "server did not start; log follows" >&2; tail -n 30 "$1/server.log" >&2; return 1; }
}

gov_stop() {
	$GOV_RUNAS "$PGBIN/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# gov_psql DIR [psql args...]: run psql against the cluster in DIR.
gov_psql() {
	d=$1; shift
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$d" -p 5432 -U "$GOV_DBUSER" -d "${GOV_DB:-postgres}" "$@"
}

# gov_sql DIR SQL: one value, unaligned, no headers.
gov_sql() {
	gov_psql "$1" -Atc "$2"
}

# gov_sql_as DIR ROLE SQL: like gov_sql, logged in as ROLE (an agent).
gov_sql_as() {
	"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$1" -p 5432 -U "$2" -d "${GOV_DB:-postgres}" -c "$3"
}

gov_tmpdir() {
	d=$(mktemp -d "${TMPDIR:-/tmp}/governance.XXXXXX")
	[ -n "$GOV_RUNAS" ] && chown postgres: "$d"
	chmod 755 "$d"
	echo "$d"
}

# TAP-style results for system tests: ok / not ok lines, counted by run.sh.
gov_ok() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}
