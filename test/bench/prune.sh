#!/bin/sh
# Retention's cost (issue 12, section 4) on a throwaway cluster:
#   1. ledger bytes per event: the ledger table with its indexes and TOAST
#      (pg_total_relation_size) and the heap alone, divided by its rows,
#      for BENCH_PRUNE_ROWS events of a typical payload, sealed;
#   2. mark_exported() and prune() of all those rows (one prune, timed
#      server-side), the anchors it kept, and verify_ledger() before and
#      after (rows/s, and how long the pruned blocks' headers take).
# BENCH_PRUNE_ROWS (default 1000000) events: 90% outside any lease, 10% on
# 500 lease chains (so anchors have work).  Leases need the workers'
# database, so the chains here are appended to leases this script
# authorizes.
set -u
. "$(dirname "$0")/../lib.sh"
# run.sh's bench_prune: the installation under test, not PG_CONFIG's
[ -n "${BENCH_PGBIN:-}" ] && PGBIN=$BENCH_PGBIN
N=${BENCH_PRUNE_ROWS:-1000000}
W=$(gov_tmpdir)
C="$W/prune"
trap 'gov_stop "$C"; rm -rf "$W"' EXIT
gov_new_cluster "$C" "shared_buffers = '512MB'" "jit = off" "governance.retention_min_age = 0" \
	"governance.max_block_rows = 100000" || exit 1
gov_start "$C" || exit 1
q() { gov_sql "$C" "$1"; }
gov_psql "$C" -q <<'SQL' >/dev/null || exit 1
CREATE EXTENSION governance;
CREATE ROLE pr_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"pr-bot"', 'pr_bot');
SELECT governance.create_policy('pr', 'permit (principal, action, resource);');
SQL
i=0; while [ $i -lt 100 ] && [ "$(q "SELECT governance.trust_state() = 'trusted'")" != t ]; do sleep 0.2; i=$((i + 1)); done
t0=$(date +%s.%N)
per=$((N / 5000))
# 500 leases, each with N/5000 events on its chain, then the rest unleased
echo "SET ROLE pr_bot;" >"$W/chains.sql"
gov_sql_as "$C" pr_bot "SELECT artifact FROM generate_series(1, 500) g, governance.authorize('Agent::\"pr-bot\"', 'tool.run', 'Tool::\"c' || g || '\"', '{}', '1 hour') a" >"$W/arts"
while read -r art; do
	printf "BEGIN; SELECT governance.attach('%s'); SELECT count(governance.record('tool.call', jsonb_build_object('i', g, 'tool', 'search', 'args', 'q=retention'))) FROM generate_series(1, %d) g; COMMIT;\n" "$art" "$per"
done <"$W/arts" >>"$W/chains.sql"
gov_psql "$C" -q -f "$W/chains.sql" >/dev/null || exit 1
rest=$((N - $(q "SELECT count(*) FROM governance.ledger")))
b=0; while [ $b -lt "$rest" ]; do
	n=$((rest - b)); [ $n -gt 100000 ] && n=100000
	q "SELECT count(governance.record('tool.call', jsonb_build_object('i', g, 'tool', 'search', 'args', 'q=retention'))) FROM generate_series(1, $n) g" >/dev/null
	b=$((b + n))
done
q "SELECT governance.seal()" >/dev/null
while [ "$(q "SELECT count(*) FROM governance.ledger l WHERE l.seq > coalesce((SELECT max(last_seq) FROM governance.ledger_blocks), 0)")" != 0 ]; do
	q "SELECT governance.seal()" >/dev/null; sleep 0.5
done
t1=$(date +%s.%N)
q "VACUUM ANALYZE governance.ledger" >/dev/null
rows=$(q "SELECT count(*) FROM governance.ledger")
echo "ledger: $rows rows in $(q "SELECT count(*) FROM governance.ledger_blocks") blocks, appended and sealed in $(echo "$t1 - $t0" | bc) s"
echo "bytes per event: $(q "SELECT round(pg_total_relation_size('governance.ledger')::numeric / count(*), 1) || ' with indexes and TOAST, ' || round(pg_relation_size('governance.ledger')::numeric / count(*), 1) || ' heap only, ' || round(avg(pg_column_size(l.*)), 1) || ' per row value' FROM governance.ledger l")"
echo "verify_ledger() before: $(gov_psql "$C" -At -c '\timing on' -c "SELECT rows_checked FROM governance.verify_ledger()" | tr '\n' ' ')"
last=$(q "SELECT max(block_id) FROM governance.ledger_blocks")
q "SELECT governance.mark_exported(1, $last, (SELECT block_hash FROM governance.ledger_blocks WHERE block_id = $last))" >/dev/null
echo "prune($((last + 1))): $(gov_psql "$C" -At -c '\timing on' -c "SELECT governance.prune($((last + 1)))" | tr '\n' ' ')"
echo "anchors kept: $(q "SELECT count(*) FROM governance.ledger_anchors"), ledger rows left: $(q "SELECT count(*) FROM governance.ledger")"
echo "verify_ledger() after: $(gov_psql "$C" -At -c '\timing on' -c "SELECT rows_checked || ' rows, ' || blocks_checked || ' blocks: ' || problem FROM governance.verify_ledger()" | tr '\n' ' ')"
q "VACUUM governance.ledger" >/dev/null
echo "ledger after VACUUM: $(q "SELECT pg_size_pretty(pg_total_relation_size('governance.ledger'))") (the space is reused by later rows)"
