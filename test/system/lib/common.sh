#!/bin/sh
# The fixtures and helpers the system tests share (test/system/*.sh).
# Source it after test/lib.sh; do not run it.  Scripts set C to their
# cluster's directory before they call q, bq or gov_wait_trusted.

# q SQL: as the bootstrap superuser, one value per line.
q() { gov_sql "$C" "$1"; }
# bq ROLE SQL: the same as a login role.
bq() { gov_sql_as "$C" "$1" "$2"; }

# gov_wait_trusted DIR SECONDS: poll until trust_state() is trusted (the
# workers are up and have checked the ledger and the key).
gov_wait_trusted() {
	gov_wait "$1" "SELECT governance.trust_state() = 'trusted'" "$2"
}

# gov_agents_sql TAG NAME...: the SQL that creates the extension and, for
# each NAME, a login agent role TAG_NAME registered as Agent::"TAG-NAME",
# a member of Group::"TAG".  Pipe it, with a test's own SQL after it, into
# gov_psql.
gov_agents_sql() {
	_tag=$1; shift
	echo "SET client_min_messages = warning;"
	echo "CREATE EXTENSION governance;"
	for _n in "$@"; do
		echo "CREATE ROLE ${_tag}_$_n LOGIN IN ROLE governance_agent;"
		echo "SELECT governance.register_agent('Agent::\"$_tag-$_n\"', '${_tag}_$_n');"
		echo "SELECT governance.put_entity('Agent::\"$_tag-$_n\"', ARRAY['Group::\"$_tag\"'], '{}');"
	done
}

# gov_acct_sql PRIVILEGES ROLE...: a governed table acct (id, owner) of two
# rows, owner the resource (Account::"1", Account::"2"), PRIVILEGES on it
# granted to each ROLE.
gov_acct_sql() {
	_privs=$1; shift
	echo "CREATE TABLE acct (id int PRIMARY KEY, owner text);"
	echo "INSERT INTO acct VALUES (1, 'Account::\"1\"'), (2, 'Account::\"2\"');"
	echo "SELECT governance.govern_table('acct', 'acct', 'owner');"
	for _r in "$@"; do echo "GRANT $_privs ON acct TO $_r;"; done
}

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
