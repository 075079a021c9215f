#!/bin/sh
# Read lineage's cost (issue 16 item 4): governance.read_lineage = none
# against = statement, interleaved round by round on one throwaway cluster.
#   1. a 1M-row count(*) of a governed table under one lease, in one
#      session (20 executions per round, server-side timing, median);
#   2. a 1-row lookup transaction (BEGIN; attach; SELECT by id; COMMIT),
#      pgbench, 8 clients, BENCH_SECONDS each.
# Prints the medians of BENCH_ROUNDS rounds and their ratio; the two modes
# run in alternating order from round to round.
set -u
. "$(dirname "$0")/../lib.sh"
ROUNDS=${BENCH_ROUNDS:-4}
SECS=${BENCH_SECONDS:-8}
W=$(gov_tmpdir)
C="$W/rl"
trap 'gov_stop "$C"; rm -rf "$W"' EXIT
gov_new_cluster "$C" "shared_buffers = '512MB'" "jit = off" "max_parallel_workers_per_gather = 0" || exit 1
gov_start "$C" || exit 1
gov_psql "$C" -q <<'SQL' >/dev/null || exit 1
CREATE EXTENSION governance;
CREATE ROLE rl_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"rl-bot"', 'rl_bot');
SELECT governance.put_entity('Agent::"rl-bot"', '{}', '{}');
SELECT governance.create_policy('rl', 'permit (principal == Agent::"rl-bot", action, resource);');
CREATE TABLE rl (id int PRIMARY KEY, account text, amount int);
INSERT INTO rl SELECT g, 'Account::"1"', g % 100 FROM generate_series(1, 1000000) g;
SELECT governance.govern_table('rl', 'rl', 'account');
GRANT SELECT ON rl TO rl_bot;
CREATE TABLE rl_times (mode text, ms float8);
GRANT INSERT ON rl_times TO rl_bot;
SQL
gov_psql "$C" -q -c "VACUUM (FREEZE, ANALYZE) rl" >/dev/null
gov_wait() { i=0; while [ $i -lt 100 ]; do [ "$(gov_sql "$C" "$1")" = t ] && return 0; sleep 0.2; i=$((i + 1)); done; return 1; }
gov_wait "SELECT governance.trust_state() = 'trusted'" || exit 1
ART=$(gov_sql_as "$C" rl_bot "SELECT artifact FROM governance.authorize('Agent::\"rl-bot\"', 'rl.select', 'Account::\"1\"', '{}', '1 hour')")
cat >"$W/lookup.sql" <<EOF
\set id random(1, 1000000)
BEGIN;
SELECT governance.attach('$ART');
SELECT amount FROM rl WHERE id = :id;
COMMIT;
EOF
setmode() { gov_psql "$C" -q -c "ALTER SYSTEM SET governance.read_lineage = $1" -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.5; }
for r in $(seq 1 "$ROUNDS"); do
	# the order alternates round by round (the first mode of a round is not always the same)
	if [ $((r % 2)) -eq 1 ]; then modes="none statement"; else modes="statement none"; fi
	for mode in $modes; do
		setmode $mode
		"$PGBIN/psql" -X -q -h "$C" -p 5432 -U rl_bot -d postgres -c "
DO \$\$ DECLARE s timestamptz; c bigint; t float8[] := '{}'; BEGIN
  PERFORM governance.attach('$ART');
  FOR i IN 1..20 LOOP s := clock_timestamp(); SELECT count(*) INTO c FROM rl;
    t := t || extract(epoch FROM clock_timestamp() - s)::float8 * 1000; END LOOP;
  INSERT INTO rl_times SELECT 'scan $mode', unnest(t); END \$\$" >/dev/null
		tps=$("$PGBIN/pgbench" -h "$C" -p 5432 -U rl_bot -n -c 8 -j 2 -T "$SECS" -f "$W/lookup.sql" postgres 2>"$W/pgbench.err" |
			awk '/^tps/ {print $3}')
		gov_psql "$C" -q -c "INSERT INTO rl_times VALUES ('lookup $mode', $tps)" >/dev/null
	done
done
tail -3 "$W/pgbench.err"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
gov_psql "$C" -c "
WITH m AS (SELECT mode, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS med, count(*) AS n FROM rl_times GROUP BY mode)
SELECT 'scan 1M rows, ms' AS what, round((SELECT med FROM m WHERE mode = 'scan none')::numeric, 2) AS none,
       round((SELECT med FROM m WHERE mode = 'scan statement')::numeric, 2) AS statement,
       round(((SELECT med FROM m WHERE mode = 'scan statement') / (SELECT med FROM m WHERE mode = 'scan none'))::numeric, 3) AS ratio
UNION ALL
SELECT '1-row lookup, tps', round((SELECT med FROM m WHERE mode = 'lookup none')::numeric),
       round((SELECT med FROM m WHERE mode = 'lookup statement')::numeric),
       round(((SELECT med FROM m WHERE mode = 'lookup statement') / (SELECT med FROM m WHERE mode = 'lookup none'))::numeric, 3)"
