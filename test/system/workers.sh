#!/bin/sh
# D8: the three workers start, come back after being terminated, and stop
# cleanly with the server.
set -u
. "$(dirname "$0")/../lib.sh"
C=$(gov_tmpdir)/workers
gov_new_cluster "$C" || exit 1
trap 'gov_stop "$C"' EXIT
gov_start "$C" || exit 1
gov_sql "$C" "CREATE EXTENSION governance" >/dev/null 2>&1

wait_for() {	# wait_for SQL-that-returns-t SECONDS
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		[ "$(gov_sql "$C" "$1" 2>/dev/null)" = "t" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

wait_for "SELECT count(*) = 3 FROM governance.workers WHERE pid IS NOT NULL" 10
gov_ok $? "enforcer, sealer and verifier are running"
wait_for "SELECT bool_and(state <> 'waiting for CREATE EXTENSION governance') FROM governance.workers" 15
gov_ok $? "the workers notice the extension"

for w in enforcer sealer verifier; do
	old=$(gov_sql "$C" "SELECT pid FROM governance.workers WHERE name = '$w'")
	gov_sql "$C" "SELECT pg_terminate_backend($old)" >/dev/null
	wait_for "SELECT pid IS NOT NULL AND pid <> $old AND starts = 2 FROM governance.workers WHERE name = '$w'" 10
	gov_ok $? "the $w comes back after being terminated"
done

wait_for "SELECT bool_and(last_beat > now() - interval '15 seconds') FROM governance.workers" 15
gov_ok $? "every worker's heartbeat is fresh"

start=$(date +%s)
gov_stop "$C"
took=$(( $(date +%s) - start ))
[ "$took" -le 10 ]; gov_ok $? "the server stops with its workers promptly (${took}s)"
! grep -E "PANIC|ERROR|terminated by signal" "$C/server.log"; gov_ok $? "no errors or crashes in the server log"
