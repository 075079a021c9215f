#!/bin/sh
# Helpers shared by the ledger system tests (tamper.sh, crash.sh,
# standby.sh).  Source it after test/lib.sh; do not run it.

# What a superuser types to switch every guard of the ledger off: the DDL
# event triggers first (they would refuse the ALTER TABLEs), then the
# append-only triggers of the ledger and its blocks, and the foreign key of
# the key history.
GOV_GUARDS_OFF="
ALTER EVENT TRIGGER governance_guard_end DISABLE;
ALTER EVENT TRIGGER governance_guard_drop DISABLE;
ALTER EVENT TRIGGER governance_guard_start DISABLE;
ALTER TABLE governance.ledger DISABLE TRIGGER ALL;
ALTER TABLE governance.ledger_blocks DISABLE TRIGGER ALL;
ALTER TABLE governance.signing_keys DISABLE TRIGGER ALL;"

# gov_wait DIR SQL SECONDS: poll (in GOV_DB) until SQL returns t.
gov_wait() {
	_i=0
	while [ $_i -lt $(($3 * 5)) ]; do
		[ "$(gov_sql "$1" "$2" 2>/dev/null)" = "t" ] && return 0
		sleep 0.2; _i=$((_i + 1))
	done
	return 1
}

# gov_wait_up DIR SECONDS: poll until the server accepts connections.
gov_wait_up() {
	_i=0
	while [ $_i -lt $(($2 * 5)) ]; do
		gov_sql "$1" "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.2; _i=$((_i + 1))
	done
	return 1
}

# gov_cluster_pids DIR: pids of every process of the cluster in DIR.  Each
# PostgreSQL process (postmaster, backends, workers) has the data
# directory as its working directory, which tells this cluster's processes
# from any other cluster's on the machine.
gov_cluster_pids() {
	_data=$(cd "$1/data" && pwd -P)
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/cwd" 2>/dev/null)" = "$_data" ] && echo "${_p#/proc/}"
	done
}

# gov_wait_dead DIR SECONDS: wait until no process of the cluster is left,
# sending SIGKILL to any that lingers.  A killed postmaster stays a zombie
# until whoever adopted it reaps it, and a new postmaster refuses to start
# while the pid in postmaster.pid exists, so wait for that pid too.
gov_wait_dead() {
	_pm=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
	_i=0
	while [ $_i -lt $(($2 * 5)) ]; do
		_left=$(gov_cluster_pids "$1")
		if [ -z "$_left" ] && { [ -z "$_pm" ] || ! kill -0 "$_pm" 2>/dev/null; }; then
			return 0
		fi
		[ -n "$_left" ] && kill -9 $_left 2>/dev/null
		sleep 0.2; _i=$((_i + 1))
	done
	return 1
}

# gov_is WANT GOT DESCRIPTION: ok when GOT equals WANT, else say what came.
gov_is() {
	if [ "$2" = "$1" ]; then gov_ok 0 "$3"; else gov_ok 1 "$3 (want: $1, got: $2)"; fi
}

# gov_like REGEX GOT DESCRIPTION: ok when GOT matches the extended REGEX.
gov_like() {
	if printf '%s\n' "$2" | grep -Eq -- "$1"; then gov_ok 0 "$3"; else gov_ok 1 "$3 (want /$1/, got: $2)"; fi
}
