#!/bin/sh
# make bench: pgbench benchmarks, each variant side by side with its
# baseline in one run (same cluster, same settings, rounds interleaved
# A B C A B C ...), reported as medians, spreads and per-round ratios.
# The method and the latest results are in docs/BENCHMARKS.md.
#
# Every benchmark is a shell function bench_<name>; BENCHMARKS lists them
# in the order they run.  A function measures, then calls `emit` once per
# reported number (see report.py for the format); the table at the end is
# built from those lines.  To add one: write bench_<name>, add <name> below.
BENCHMARKS="ledger_append ledger_verify evidence prune lease_ops pop rls_scan enforcement revoke_holdoff revoke_tree policy_ext governance_run"
#
# Environment (defaults finish in about 20 minutes on 2 cores):
#   BENCH_SECONDS=15       duration of each pgbench run
#   BENCH_ROUNDS=3         rounds of each benchmark (each round runs every variant once,
#                          in an order drawn anew each round)
#   BENCH_ONLY="..."       run only these benchmarks (names from BENCHMARKS)
#   BENCH_CLIENTS=8 BENCH_JOBS=2          pgbench -c and -j
#   BENCH_COMMIT_MODES="on"               synchronous_commit of the pgbench clients;
#                                         targets are judged on "on" (the default setting);
#                                         "on off" adds runs without the WAL flush (the CPU
#                                         cost alone; about 6 minutes more)
#   BENCH_VERIFY_ROWS=1000000             least ledger rows verify_ledger() is timed on
#   BENCH_VERIFY_REPS=3                   executions of verify_ledger() and of its baseline
#                                         per round (BENCH_ROUNDS rounds)
#   BENCH_PROOF_SIZES="10000 100000 1000000"  ledger sizes (rows) at which bench_evidence
#                                         times one event's inclusion proof (the largest
#                                         at least BENCH_VERIFY_ROWS: the ledger grows to it)
#   BENCH_PRUNE_ROWS=1000000              rows bench_prune archives and prunes (its own cluster)
#   BENCH_SCAN_ROUNDS=5                   rounds (sessions) of the RLS scan
#   BENCH_SCAN_REPS=20                    executions of each RLS scan variant per round
#   BENCH_SEED=N                          seed of the random orders (default: the time)
#   BENCH_SHARED_BUFFERS=3GB              shared_buffers: every table a statement
#                                         benchmark compares must fit (checked)
#   BENCH_QUIET_LOAD=X                    before starting, wait until the 1-minute load
#                                         average is below X (at most BENCH_QUIET_WAIT
#                                         seconds, default 3600; then start anyway and say so)
#   BENCH_ENFORCE_TRIALS=40               enforcement latency trials per round
#   BENCH_TREE_ENFORCE_TRIALS=20          the same, per round, while a 100k tree is live
#   BENCH_HOLDOFF_TRIALS=20               revocations per holder kind and round, from a new
#                                         session and again from a warm one (revoke_holdoff)
#   BENCH_TREE_MID=100 BENCH_TREE_LEAF=999  the revoked tree: MID children of the root,
#                                         LEAF children under each (100,000 descendants)
#   BENCH_POP_PROOFS=12000                presigned proofs per pgbench client (bench_pop;
#                                         each signed authorize() uses one)
#   BENCH_GR_RUNS=20                      governance-run runs of each kind (revocation,
#                                         integrity, database unreachable; about 5 s
#                                         per run of each kind together); 100 for the
#                                         p99 docs/BENCHMARKS.md reports
#   BENCH_REVOKE_TIMEOUT=30               seconds after which the revoke with statistics
#                                         from before the tree is stopped
#   BENCH_CONF="a = b;c = d"              extra postgresql.conf lines (";"-separated)
#   BENCH_SRC=DIR          build and measure the source tree in DIR (default: this
#                          working tree, copied, so a concurrent `make clean` is harmless)
#   BENCH_KEEP=1           keep the temporary directory (cluster, logs, results)
#   BENCH_TMP=DIR          where that directory is made (default /var/tmp/governance-bench)
#   BENCH_OUT=DIR          where this run's log, results table, per-execution
#                          timings and plans are saved (default
#                          $BENCH_TMP/results/<UTC date>-<commit>; kept)
#
# Exit status: 0 every target met; 1 a target missed or undecided (the
# rounds straddle it); 2 the sanity gate failed (the comparison is unsound:
# no verdict printed for it), or the run itself failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)

BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_ONLY=${BENCH_ONLY:-$BENCHMARKS}
BENCH_CLIENTS=${BENCH_CLIENTS:-8}
BENCH_JOBS=${BENCH_JOBS:-2}
BENCH_COMMIT_MODES=${BENCH_COMMIT_MODES:-on}
BENCH_VERIFY_ROWS=${BENCH_VERIFY_ROWS:-1000000}
BENCH_CONF=${BENCH_CONF:-}
BENCH_SCAN_ROUNDS=${BENCH_SCAN_ROUNDS:-5}
BENCH_SCAN_REPS=${BENCH_SCAN_REPS:-20}
BENCH_VERIFY_REPS=${BENCH_VERIFY_REPS:-3}
BENCH_GR_RUNS=${BENCH_GR_RUNS:-20}
BENCH_SEED=${BENCH_SEED:-$(date +%s)}
BENCH_SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-3GB}
BENCH_ENFORCE_TRIALS=${BENCH_ENFORCE_TRIALS:-40}
BENCH_TREE_ENFORCE_TRIALS=${BENCH_TREE_ENFORCE_TRIALS:-20}
BENCH_HOLDOFF_TRIALS=${BENCH_HOLDOFF_TRIALS:-20}
BENCH_TREE_MID=${BENCH_TREE_MID:-100}
BENCH_TREE_LEAF=${BENCH_TREE_LEAF:-999}
BENCH_REVOKE_TIMEOUT=${BENCH_REVOKE_TIMEOUT:-30}
BENCH_POP_PROOFS=${BENCH_POP_PROOFS:-12000}

sh test/deps.sh || exit 1
. test/lib.sh
GOV_ROOT=$TOP
CLK_TCK=$(getconf CLK_TCK)

# Not under /tmp/governance.*: on the shared machine test clean-ups remove
# those, and once removed a benchmark's directory mid-run.
BENCH_TMP=${BENCH_TMP:-/var/tmp/governance-bench}
mkdir -p "$BENCH_TMP" && chmod 755 "$BENCH_TMP" || exit 1

# Everything this run prints also goes to $BENCH_OUT/run.log, next to the
# results it saves there.
if [ -z "${BENCH_LOGGED:-}" ]; then
	BENCH_OUT=${BENCH_OUT:-$BENCH_TMP/results/$(date -u +%Y%m%dT%H%M%SZ)-$(git describe --always --dirty 2>/dev/null || echo src)}
	mkdir -p "$BENCH_OUT" || exit 2
	{ BENCH_LOGGED=1 BENCH_OUT=$BENCH_OUT sh "$TOP/test/bench/run.sh" "$@" 2>&1; echo $? >"$BENCH_OUT/exit-status"; } |
		tee "$BENCH_OUT/run.log"
	rc=$(cat "$BENCH_OUT/exit-status")
	case $rc in
	0) echo "every target met" ;;
	1) echo "exit status 1: a target missed or undecided (see the table)" ;;
	*) echo "exit status $rc: the run failed or its sanity gate did (UNSOUND above): no verdict to trust" ;;
	esac
	echo "results, log, per-execution timings and plans: $BENCH_OUT"
	exit "$rc"
fi
# Wait for a quiet machine (BENCH_QUIET_LOAD) before anything is made.
if [ -n "${BENCH_QUIET_LOAD:-}" ]; then
	qw_t0=$(date +%s)
	while awk -v x="$BENCH_QUIET_LOAD" '{ exit !($1 >= x) }' /proc/loadavg; do
		if [ $(($(date +%s) - qw_t0)) -ge "${BENCH_QUIET_WAIT:-3600}" ]; then
			echo "[$(date +%H:%M:%S)] the load average is still $(cut -d' ' -f1 /proc/loadavg) after ${BENCH_QUIET_WAIT:-3600} s: starting anyway"
			break
		fi
		sleep 15
	done
	echo "[$(date +%H:%M:%S)] load average $(cut -d' ' -f1-3 /proc/loadavg) (waited $(($(date +%s) - qw_t0)) s for below $BENCH_QUIET_LOAD)"
fi
WORK=$(TMPDIR=$BENCH_TMP gov_tmpdir)
C="$WORK/cluster"
RESULTS="$BENCH_OUT/results.tsv"
: >"$RESULTS"

cleanup() {
	gov_stop "$C"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "benchmark files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 2; }
say() { echo "[$(date +%H:%M:%S)] $*"; }

# emit BENCHMARK VARIANT UNIT "V1 V2 ..." BASELINE-VARIANT|- TARGET|-
# (nothing when there are no values: a variant that did not run)
emit() {
	[ -n "$(echo $4)" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$RESULTS"
}

# sql SQL: one value (or one |-separated row), as the superuser.
sql() { gov_sql "$C" "$1"; }

# CPU seconds (user + system) of a process, and of its children that it
# has waited for (fields 14-15 and 16-17 of /proc/PID/stat).
proc_cpu() {
	awk -v tck="$CLK_TCK" '{ sub(/^.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat" 2>/dev/null || echo 0
}
proc_child_cpu() {
	awk -v tck="$CLK_TCK" '{ sub(/^.*\) /, ""); print ($14 + $15) / tck }' "/proc/$1/stat"
}
workers_cpu() {	# the ledger's background workers and the WAL writer
	wc_t=0
	for wc_p in $WORKER_PIDS; do wc_t=$(echo "$wc_t $(proc_cpu "$wc_p")" | awk '{ print $1 + $2 }'); done
	echo "$wc_t"
}

# run_pgbench SCRIPT SYNCHRONOUS_COMMIT ROLE [PGBENCH-ARGS...]: one pgbench
# run.  Sets PB_TPS; PB_TX, the transactions it ran; PB_CPU, the CPU
# microseconds per transaction of the client backends (the postmaster's
# children CPU, counted once they have exited); PB_WCPU, the same for the
# sealer, verifier, enforcer and WAL writer; PB_WAL, WAL bytes per
# transaction.  Fails on any failed transaction.  Scripts may test
# :attached (0) to do something once per client; extra arguments (-D
# name=value, say) go to pgbench.
run_pgbench() {
	pb_script=$1 pb_mode=$2 pb_role=$3; shift 3
	log="$WORK/pgbench-$(basename "$pb_script" .sql)-$pb_mode-$(date +%s%N).log"
	PM=$(head -n 1 "$C/data/postmaster.pid")
	WORKER_PIDS=$(sql "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
		WHERE backend_type LIKE 'governance%' OR backend_type = 'walwriter'")
	wal0=$(sql "SELECT pg_current_wal_insert_lsn() - '0/0'")
	cpu0=$(proc_child_cpu "$PM"); wcpu0=$(workers_cpu)
	PGOPTIONS="-c synchronous_commit=$pb_mode" "$PGBIN/pgbench" -n -h "$C" -p 5432 -U "$pb_role" \
		-c "$BENCH_CLIENTS" -j "$BENCH_JOBS" -T "$BENCH_SECONDS" -M prepared -D attached=0 "$@" \
		-f "$pb_script" postgres >"$log" 2>&1 || { cat "$log" >&2; return 1; }
	wcpu1=$(workers_cpu)
	# wait until the postmaster has reaped the client backends (a zombie
	# has lost its title but its CPU is not in the parent's count yet)
	rp_n=0
	while ps -o stat=,args= --ppid "$PM" | grep -Eq "^Z|postgres: $pb_role "; do
		rp_n=$((rp_n + 1)); [ "$rp_n" -gt 100 ] && break; sleep 0.1
	done
	# and until the count has settled
	cpu1=$(proc_child_cpu "$PM"); rp_n=0
	while sleep 0.2 && [ "$(proc_child_cpu "$PM")" != "$cpu1" ] && [ "$rp_n" -lt 10 ]; do
		cpu1=$(proc_child_cpu "$PM"); rp_n=$((rp_n + 1))
	done
	wal1=$(sql "SELECT pg_current_wal_insert_lsn() - '0/0'")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
	[ "${failed:-0}" -eq 0 ] || { cat "$log" >&2; return 1; }
	PB_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
	PB_TX=$tx
	set -- $(echo "$tx $cpu0 $cpu1 $wcpu0 $wcpu1 $wal0 $wal1" |
		awk '{ printf "%.1f %.1f %.0f", ($3 - $2) / $1 * 1e6, ($5 - $4) / $1 * 1e6, ($7 - $6) / $1 }')
	PB_CPU=$1 PB_WCPU=$2 PB_WAL=$3
}

# wait_sealed SEQ: until a block covers SEQ (at most 120 s).
wait_sealed() {
	ws_n=0
	while [ "$(sql "SELECT coalesce(max(last_seq), 0) >= $1 FROM governance.ledger_blocks")" != t ]; do
		ws_n=$((ws_n + 1))
		[ "$ws_n" -gt 1200 ] && { echo "bench: seq $1 still unsealed after 120 s" >&2; return 1; }
		sleep 0.1
	done
}

# shuffled FILE ROUND [SALT]: FILE's lines in an order drawn for this round
# (seeded by BENCH_SEED, ROUND and SALT: reproducible, different each round).
shuffled() {
	/usr/bin/python3 -c 'import random, sys
lines = open(sys.argv[1]).read().splitlines()
random.Random("%s/%s/%s" % (sys.argv[2], sys.argv[3], sys.argv[4])).shuffle(lines)
print("\n".join(lines))' "$1" "$BENCH_SEED" "$2" "${3:-}"
}

# stmt_bench SPEC ROLE ROUNDS REPS [ARGS...]: the statement benchmark SPEC
# (test/bench/specs.py) in sessions of ROLE; appends to the results.
stmt_bench() {
	sb_spec=$1 sb_role=$2 sb_rounds=$3 sb_reps=$4; shift 4
	/usr/bin/python3 test/bench/stmt_bench.py --spec "$sb_spec" \
		--psql "$PGBIN/psql -h $C -p 5432 -d postgres -U $sb_role" \
		--psql-admin "$PGBIN/psql -h $C -p 5432 -d postgres -U $GOV_DBUSER" \
		--out "$BENCH_OUT" --results "$RESULTS" --rounds "$sb_rounds" --reps "$sb_reps" \
		--seed "$BENCH_SEED" "$@"
}

# append VAR WORD: VAR="$VAR WORD" (per-variant lists of per-round values);
# get VAR: its value.  (Shell variables are global: helpers use names of
# their own.)
append() { eval "$1=\"\${$1:-} \$2\""; }
get() { eval "echo \"\${$1:-}\""; }

# ---------------------------------------------------------------------------
# Ledger appends (issue 3): record() against a plain INSERT of the same
# payload and against a naive PL/pgSQL hash chain, BENCH_CLIENTS clients,
# one call per transaction; and the commit-to-sealed lag of the rows
# record() wrote.  record() runs two ways: as an administrator, outside any
# lease (the path issue 3 specifies: no chain, nothing shared), and as an
# agent, each client under its own attached lease (the path agents take:
# per-execution chain lock, chain head lookup, linked rows).  "sealer by
# rounds only" is the administrator's record() again with
# governance.seal_delay = seal_interval (1 s): commits then wake the sealer
# no sooner than its round would, as before issue 14 item 4, so that its
# throughput and seal lag are the baseline of the wake-on-commit (same run).
#
# Variants: name|pgbench script (test/bench/ledger_<script>.sql)|login role|
# what to VACUUM ANALYZE after the run ("ledger" marks a record() variant).
# ---------------------------------------------------------------------------
APPEND_VARIANTS="plain INSERT|plain|bench_agent|bench_plain
record() admin, no lease|record|bench_admin|ledger
record() agent, own lease|record_lease|bench_agent|ledger
record() admin, sealer by rounds only|record_rounds|bench_admin|ledger
naive chain|chain|bench_agent|bench_chain, bench_chain_head"

bench_ledger_append() {
	echo "$APPEND_VARIANTS" | awk '{ print NR "|" $0 }' >"$WORK/variants"
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		for mode in $BENCH_COMMIT_MODES; do
			shuffled "$WORK/variants" "$r" "$mode" >"$WORK/variants.round"
			say "append round $r: $(cut -d'|' -f2 "$WORK/variants.round" | paste -sd ';' | sed 's/;/; /g')"
			while IFS='|' read -r i name script role vac <&3; do
				[ "$script" = record_lease ] && { sql "SELECT bench_new_leases($BENCH_CLIENTS)" >/dev/null || die "leases"; }
				if [ "$script" = record_rounds ]; then
					sql "ALTER SYSTEM SET governance.seal_delay = '1s'" >/dev/null &&
						sql "SELECT pg_reload_conf()" >/dev/null || die "seal_delay"
				fi
				sql "CHECKPOINT" >/dev/null
				first=$(sql "SELECT coalesce(max(seq), 0) FROM governance.ledger")
				run_pgbench "test/bench/ledger_$script.sql" "$mode" "$role" || die "pgbench ledger_$script failed"
				append "A_${i}_$mode" "$PB_TPS"; append "C_${i}_$mode" "$PB_CPU"
				append "W_${i}_$mode" "$PB_WCPU"; append "B_${i}_$mode" "$PB_WAL"
				say "append round $r synchronous_commit=$mode $name: $PB_TPS tps;" \
					"per transaction: backend $PB_CPU us, workers $PB_WCPU us CPU, $PB_WAL WAL bytes" \
					"(load $(cut -d' ' -f1 /proc/loadavg))"
				if [ "$vac" = ledger ]; then
					last=$(sql "SELECT max(seq) FROM governance.ledger")
					wait_sealed "$last" || true
					set -- $(gov_psql "$C" -At -F ' ' -v first="$first" -v last="$last" -f test/bench/ledger_lag.sql)
					[ "$1" = "$2" ] || echo "bench: $(($1 - $2)) of $1 rows unsealed (counted as infinite lag)" >&2
					append "L50_${i}_$mode" "$3"; append "L99_${i}_$mode" "$4"; append "Lmax_${i}_$mode" "$5"
					append "T99_${i}_$mode" "$7"
					say "  seal lag of $1 rows: p50 $3 s, p99 $4 s, max $5 s (at to sealed_at: p99 $7 s)"
					if [ "$script" = record_rounds ]; then
						sql "ALTER SYSTEM RESET governance.seal_delay" >/dev/null &&
							sql "SELECT pg_reload_conf()" >/dev/null || die "seal_delay"
					fi
					vac=governance.ledger
				fi
				sql "VACUUM ANALYZE $vac" || die "vacuum"
			done 3<"$WORK/variants.round"
		done
	done
	for mode in $BENCH_COMMIT_MODES; do
		b="append sc=$mode"
		while IFS='|' read -r i name script role vac; do
			case $script in
			plain) emit "$b" "$name" tps "$(get "A_${i}_$mode")" - - ;;
			chain) emit "$b" "$name" tps "$(get "A_${i}_$mode")" "plain INSERT" - ;;
			record*)
				if [ "$mode" = on ]; then t80="ratio>=0.8"; t3="ratio>=3"; else t80=-; t3=-; fi
				emit "$b" "$name" tps "$(get "A_${i}_$mode")" "plain INSERT" "$t80"
				emit "$b" "$name" tps "$(get "A_${i}_$mode")" "naive chain" "$t3"
				# the sealer woken by commits costs record() nothing (issue 14 item 4)
				[ "$script" = record ] && emit "$b" "$name" tps "$(get "A_${i}_$mode")" \
					"record() admin, sealer by rounds only" "$(if [ "$mode" = on ]; then echo "ratio>=0.95"; else echo -; fi)" ;;
			esac
		done <"$WORK/variants"
		b="cost sc=$mode"
		while IFS='|' read -r i name script role vac; do
			base=-; [ "$script" = plain ] || base="plain INSERT"
			emit "$b" "$name" "us CPU/tx" "$(get "C_${i}_$mode")" "$base" -
		done <"$WORK/variants"
		while IFS='|' read -r i name script role vac; do
			emit "$b" "$name: sealer+verifier+enforcer+walwriter" "us CPU/tx" "$(get "W_${i}_$mode")" - -
		done <"$WORK/variants"
		while IFS='|' read -r i name script role vac; do
			base=-; [ "$script" = plain ] || base="plain INSERT: WAL"
			emit "$b" "$name: WAL" "B/tx" "$(get "B_${i}_$mode")" "$base" -
		done <"$WORK/variants"
		b="seal lag sc=$mode"
		while IFS='|' read -r i name script role vac; do
			[ "$vac" = ledger ] || continue
			if [ "$mode" = on ] && [ "$script" != record_rounds ]; then t2="<=0.25"; else t2=-; fi
			emit "$b" "$name: p50" s "$(get "L50_${i}_$mode")" - -
			emit "$b" "$name: p99" s "$(get "L99_${i}_$mode")" - "$t2"
			emit "$b" "$name: max" s "$(get "Lmax_${i}_$mode")" - -
			emit "$b" "$name: p99, at to sealed_at" s "$(get "T99_${i}_$mode")" - -
		done <"$WORK/variants"
	done
}

# ---------------------------------------------------------------------------
# verify_ledger() over at least BENCH_VERIFY_ROWS rows, in one backend,
# against a scan of the same rows in the same order that hashes nothing
# (every column deformed).  stmt_bench.py (spec "verify" in specs.py):
# BENCH_ROUNDS sessions, each running both once untimed, then
# BENCH_VERIFY_REPS times each in random order, timed inside the server
# with the backend's CPU time; the ledger prewarmed and checked resident
# before each round; no execution may read a block from outside shared
# buffers.  Gate: verify_ledger() may not beat the scan.
# ---------------------------------------------------------------------------
bench_ledger_verify() {
	have=$(sql "SELECT count(*) FROM governance.ledger")
	while [ "$have" -lt "$BENCH_VERIFY_ROWS" ]; do
		n=$((BENCH_VERIFY_ROWS - have)); [ "$n" -gt 100000 ] && n=100000
		sql "SELECT count(governance.record('tool_call', jsonb_build_object('tool', 'search',
			'args', jsonb_build_object('query', 'invoice ' || g, 'limit', 10),
			'agent', 'billing-bot', 'step', g))) FROM generate_series(1, $n) AS g" >/dev/null ||
			die "filling the ledger failed"
		have=$((have + n))
	done
	blk=$(sql "SELECT governance.seal()") || die "seal() failed"
	# the same state for every execution: hint bits set and pages frozen,
	# clean, and (stmt_bench.py) every block of the ledger, its blocks
	# table and their indexes in shared buffers before every round
	sql "VACUUM (FREEZE, ANALYZE) governance.ledger, governance.ledger_blocks" && sql "CHECKPOINT" >/dev/null ||
		die "vacuum"
	rows=$(sql "SELECT count(*) FROM governance.ledger")
	say "verify: ledger has $rows rows in $blk blocks ($(sql "SELECT pg_size_pretty(pg_total_relation_size('governance.ledger'))"))"
	stmt_bench verify "$GOV_DBUSER" "$BENCH_ROUNDS" "$BENCH_VERIFY_REPS" --rows "$rows" || die "verify benchmark failed"
}

# ---------------------------------------------------------------------------
# Evidence an auditor carries away (issue 12, "Done when").  On the ledger
# bench_ledger_verify uses (grown to BENCH_VERIFY_ROWS rows, sealed), each
# round, in an order drawn anew: export() of the whole ledger through
# COPY ... TO STDOUT into a file, governance-verify bundle on that file
# (one process, offline), and verify_ledger() in SQL; each as rows/s, the
# CLI and the export against verify_ledger().  Then the inclusion proof of
# one event (the middle seq) at each ledger size of BENCH_PROOF_SIZES as
# the ledger grows: its bytes, its audit-path length and the milliseconds
# inclusion_proof() takes (median of BENCH_VERIFY_REPS): the path is the
# event's block's Merkle path (log2 of the block's rows, at most
# governance.max_block_rows), so the proof does not grow with the ledger.
# ---------------------------------------------------------------------------
fill_ledger() {	# fill_ledger ROWS: grow the ledger to at least ROWS rows, sealed
	fl_have=$(sql "SELECT count(*) FROM governance.ledger")
	while [ "$fl_have" -lt "$1" ]; do
		fl_n=$(($1 - fl_have)); [ "$fl_n" -gt 100000 ] && fl_n=100000
		sql "SELECT count(governance.record('tool_call', jsonb_build_object('tool', 'search',
			'args', jsonb_build_object('query', 'invoice ' || g, 'limit', 10),
			'agent', 'billing-bot', 'step', g))) FROM generate_series(1, $fl_n) AS g" >/dev/null ||
			die "filling the ledger failed"
		fl_have=$((fl_have + fl_n))
	done
	sql "SELECT governance.seal()" >/dev/null || die "seal() failed"
}
now_s() { date +%s.%N; }
rate() { echo "$1 $2 $3" | awk '{ printf "%.0f", $1 / ($3 - $2) }'; }	# rate ROWS T0 T1
bench_evidence() {
	GV="$PGBIN/governance-verify"
	[ -x "$GV" ] || die "governance-verify is not installed in $PGBIN"
	sql "SELECT encode(governance.public_key(), 'hex')" >"$WORK/pub.hex"
	BENCH_PROOF_SIZES=${BENCH_PROOF_SIZES:-10000 100000 1000000}
	for ev_size in $BENCH_PROOF_SIZES; do
		fill_ledger "$ev_size"
		ev_rows=$(sql "SELECT count(*) FROM governance.ledger")
		ev_seq=$(sql "SELECT seq FROM governance.ledger ORDER BY seq OFFSET $((ev_rows / 2)) LIMIT 1")
		ev_ms=""
		for ev_i in $(seq 1 "$BENCH_VERIFY_REPS"); do
			ev_t0=$(now_s)
			gov_psql "$C" -At -c "COPY (SELECT governance.inclusion_proof($ev_seq)) TO STDOUT" >"$WORK/incl.txt" ||
				die "inclusion_proof failed"
			ev_t1=$(now_s)
			ev_ms="$ev_ms $(echo "$ev_t0 $ev_t1" | awk '{ printf "%.2f", ($2 - $1) * 1000 }')"
		done
		"$GV" -q --key "$WORK/pub.hex" inclusion "$WORK/incl.txt" >/dev/null || die "the inclusion proof does not verify"
		ev_path=$(awk '$1 == "path" { n = ($4 == "=") ? 0 : split($4, a, ","); print n }' "$WORK/incl.txt")
		ev_bytes=$(wc -c <"$WORK/incl.txt")
		say "inclusion proof of seq $ev_seq in a ledger of $ev_rows rows: $ev_bytes bytes, path of $ev_path hashes, ms:$ev_ms"
		emit evidence "inclusion proof, $ev_rows rows" bytes "$ev_bytes" - -
		emit evidence "inclusion proof path, $ev_rows rows" hashes "$ev_path" - -
		emit evidence "inclusion_proof() time, $ev_rows rows" ms "$(echo $ev_ms | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" - -
	done
	fill_ledger "$BENCH_VERIFY_ROWS"
	sql "VACUUM (FREEZE, ANALYZE) governance.ledger, governance.ledger_blocks" >/dev/null && sql "CHECKPOINT" >/dev/null ||
		die "vacuum"
	ev_rows=$(sql "SELECT total_rows FROM governance.ledger_blocks ORDER BY block_id DESC LIMIT 1")
	say "evidence: ledger of $ev_rows sealed rows"
	for ev_r in $(seq 1 "$BENCH_ROUNDS"); do
		printf "export\ncli\nsql\n" >"$WORK/ev_order"
		for ev_v in $(shuffled "$WORK/ev_order" evidence "$ev_r"); do
			case $ev_v in
			export)
				ev_t0=$(now_s)
				gov_psql "$C" -At -c "COPY (SELECT governance.export()) TO STDOUT" >"$WORK/bundle.txt" ||
					die "export failed"
				ev_t1=$(now_s)
				append ev_export "$(rate "$ev_rows" "$ev_t0" "$ev_t1")"
				;;
			cli)
				[ -s "$WORK/bundle.txt" ] || gov_psql "$C" -At -c "COPY (SELECT governance.export()) TO STDOUT" >"$WORK/bundle.txt"
				ev_t0=$(now_s)
				"$GV" -q --key "$WORK/pub.hex" bundle "$WORK/bundle.txt" >"$WORK/gv.out" ||
					die "governance-verify failed: $(cat "$WORK/gv.out")"
				ev_t1=$(now_s)
				append ev_cli "$(rate "$ev_rows" "$ev_t0" "$ev_t1")"
				;;
			sql)
				ev_t0=$(now_s)
				[ "$(sql "SELECT ok FROM governance.verify_ledger()")" = t ] || die "verify_ledger() failed"
				ev_t1=$(now_s)
				append ev_sql "$(rate "$ev_rows" "$ev_t0" "$ev_t1")"
				;;
			esac
		done
	done
	say "evidence: bundle of $(wc -c <"$WORK/bundle.txt") bytes for $ev_rows rows; rows/s export:$(get ev_export), CLI:$(get ev_cli), verify_ledger():$(get ev_sql)"
	emit evidence "verify_ledger() in SQL" rows/s "$(get ev_sql)" - -
	emit evidence "export() to a file (COPY TO STDOUT)" rows/s "$(get ev_export)" "verify_ledger() in SQL" -
	emit evidence "governance-verify bundle (offline)" rows/s "$(get ev_cli)" "verify_ledger() in SQL" -
	emit evidence "bundle bytes per row" bytes "$(wc -c <"$WORK/bundle.txt" | awk -v n="$ev_rows" '{ printf "%.1f", $1 / n }')" - -
}

# Retention's cost (test/bench/prune.sh, on a cluster of its own with the
# installation under test): ledger bytes per event, mark_exported() and
# prune() of BENCH_PRUNE_ROWS rows, verify_ledger() before and after.
bench_prune() {
	BENCH_PGBIN=$PGBIN BENCH_PRUNE_ROWS=${BENCH_PRUNE_ROWS:-1000000} sh test/bench/prune.sh >"$WORK/prune.out" 2>&1 ||
		die "prune.sh failed: $(tail -n 5 "$WORK/prune.out")"
	sed 's/^/    /' "$WORK/prune.out"
	pr_ms=$(sed -n 's/^prune([0-9]*): [0-9]* Time: \([0-9.]*\) ms.*/\1/p' "$WORK/prune.out")
	pr_rows=$(sed -n 's/^prune([0-9]*): \([0-9]*\) .*/\1/p' "$WORK/prune.out")
	emit prune "prune() of $pr_rows rows" ms "$pr_ms" - -
	emit prune "ledger bytes per event (with indexes)" bytes "$(sed -n 's/^bytes per event: \([0-9.]*\) with.*/\1/p' "$WORK/prune.out")" - -
}

# ---------------------------------------------------------------------------
# Proof of possession (issue 13): authorize() by an agent without a key
# against authorize() by a key-holding agent with its proof, one call per
# transaction, BENCH_CLIENTS clients, in one run (rounds interleaved, order
# drawn per round); and challenge() alone, the extra round trip a signed
# request needs.  pgbench cannot sign, so the proofs are made before the
# run, outside the database (test/bench/pop_proofs.py with
# test/outside/pop_sign.py), over nonces recorded in
# governance.pop_challenges for bench_agent as challenge() would; the server
# does for each exactly what it does for a live one: consume the nonce (a
# DELETE), build the canonical request, check the Ed25519 signature, and
# read the agent's key.  Both variants read one proof row (pop_unsigned.sql
# reads one it does not use), so they differ in the proof check only.
# Checked: one new lease per authorize() transaction.  challenge() runs as
# bench_chal, whose challenges live 1 s (so the unused ones stay few).
# ---------------------------------------------------------------------------
POP_VARIANTS="authorize() unsigned|unsigned
authorize() with proof|signed
challenge()|challenge"

bench_pop() {
	kid=$(sql "SELECT key_id FROM governance.signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1")
	say "signing $BENCH_CLIENTS x $BENCH_POP_PROOFS proofs outside the database (server key $kid, untimed)"
	/usr/bin/python3 test/bench/pop_proofs.py "$BENCH_CLIENTS" "$BENCH_POP_PROOFS" "$kid" "$WORK" ||
		die "pop_proofs.py failed"
	gov_psql "$C" >/dev/null <<SQL || die "loading the proofs failed"
\\copy bench_pop_proofs FROM '$WORK/proofs.tsv'
CREATE TEMP TABLE n (nonce bytea);
\\copy n FROM '$WORK/nonces.tsv'
INSERT INTO governance.pop_challenges
  SELECT nonce, 'bench_agent'::regrole, '$kid', now(), now() + interval '1 day' FROM n;
SELECT count(pg_catalog.setval(format('bench_pop_seq_%s', i), 1, false)) FROM generate_series(0, $BENCH_CLIENTS - 1) AS i;
SQL
	echo "$POP_VARIANTS" | awk '{ print NR "|" $0 }' >"$WORK/pop_variants"
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		for mode in $BENCH_COMMIT_MODES; do
			shuffled "$WORK/pop_variants" "$r" "pop$mode" >"$WORK/pop_variants.round"
			say "pop round $r: $(cut -d'|' -f2 "$WORK/pop_variants.round" | paste -sd ';' | sed 's/;/; /g')"
			while IFS='|' read -r i name script <&3; do
				role=bench_agent; [ "$script" = challenge ] && role=bench_chal
				n0=$(sql "SELECT count(*) FROM governance.leases WHERE authorized_by = 'bench_agent'")
				sql "CHECKPOINT" >/dev/null
				run_pgbench "test/bench/pop_$script.sql" "$mode" "$role" || die "pgbench pop_$script failed"
				n1=$(sql "SELECT count(*) FROM governance.leases WHERE authorized_by = 'bench_agent'")
				if [ "$script" != challenge ]; then
					[ $((n1 - n0)) -eq "$PB_TX" ] ||
						die "pop_$script: $PB_TX transactions, but $((n1 - n0)) leases"
				fi
				append "PA_${i}_$mode" "$PB_TPS"; append "PC_${i}_$mode" "$PB_CPU"
				say "pop round $r synchronous_commit=$mode $name: $PB_TPS tps; backend $PB_CPU us CPU per transaction"
				if [ "$script" != challenge ]; then
					sql "ANALYZE governance.leases" || die "analyze"
					revoke_live "authorized_by = 'bench_agent'"
				fi
				sql "VACUUM ANALYZE governance.leases, governance.ledger, governance.pop_challenges" || die "vacuum"
			done 3<"$WORK/pop_variants.round"
		done
	done
	for mode in $BENCH_COMMIT_MODES; do
		while IFS='|' read -r i name script; do
			base=-; [ "$script" = signed ] && base="authorize() unsigned"
			emit "proof of possession sc=$mode" "$name" tps "$(get "PA_${i}_$mode")" "$base" -
		done <"$WORK/pop_variants"
		while IFS='|' read -r i name script; do
			base=-; [ "$script" = signed ] && base="authorize() unsigned"
			emit "proof of possession cost sc=$mode" "$name" "us CPU/tx" "$(get "PC_${i}_$mode")" "$base" -
		done <"$WORK/pop_variants"
	done
}

# ---------------------------------------------------------------------------
# Lease operations (issues 4 and 5): authorize(), heartbeat() and a governed
# INSERT, BENCH_CLIENTS clients, one call per transaction, each against a
# plain INSERT transaction: one INSERT into an ordinary table with the same
# columns, values and indexes as the governed table (bench_ins_plain,
# leases_setup.sql).  Every client logs in as bench_agent (the role all the
# principals Agent::"bench-<i>" are registered for); client i acts as
# Agent::"bench-<i>" on Account::"<i>".
#
# - authorize(): 10 policies, a small entity hierarchy, every call allowed
#   (checked: one new lease per transaction).  Its leases (1 hour TTL) are
#   revoked after the run, untimed, so they do not pile up in shared memory
#   across runs (the enforcer's work grows with the live leases).
# - heartbeat(): each client renews its own lease, authorized before the
#   run (checked: one renewal per transaction); revoked after the run.
# - governed INSERT: each client attaches its own lease (ins.insert) for the
#   session once, then inserts rows under it (checked: one row per
#   transaction).  Session-bound leases end with their sessions.
#
# Variants: name|pgbench script (test/bench/lease_<script>.sql)|what to
# VACUUM ANALYZE after the run.
# ---------------------------------------------------------------------------
LEASE_VARIANTS="plain INSERT|plain|bench_ins_plain
authorize()|authorize|governance.leases, governance.ledger
heartbeat()|heartbeat|governance.leases, governance.ledger
governed INSERT|governed|bench_ins_gov, governance.ledger"

# lease_count SCRIPT: what one transaction of SCRIPT adds one to.
lease_count() {
	case $1 in
	plain) sql "SELECT count(*) FROM bench_ins_plain" ;;
	authorize) sql "SELECT count(*) FROM governance.leases WHERE authorized_by = 'bench_agent'" ;;
	heartbeat) sql "SELECT sum(generation) FROM governance.leases
		WHERE lease_id IN (SELECT lease_id FROM bench_client_leases)" ;;
	governed) sql "SELECT count(*) FROM bench_ins_gov" ;;	# the superuser bypasses RLS
	esac
}

# revoke_live WHERE: revoke every live lease matching WHERE (an SQL
# condition on governance.leases) as the administrator, in two sessions,
# at most 2000 to a transaction (each revocation holds a ledger chain lock
# until commit, and the lock table is finite: 40,000 in one transaction ran
# out of shared memory); then wait until the enforcer has cleared them from
# shared memory (it does 10 s after they end).
revoke_live() {
	rl_pids=
	for rl_p in 0 1; do
		# a batch can be cancelled by the other revoker (a revocation
		# stops a transaction holding a lock it needs): try it again
		(rl_fail=0
		while :; do
			if rl_n=$(sql "SELECT count(governance.revoke(lease_id, 'benchmark clean-up'))
				FROM (SELECT lease_id FROM governance.leases WHERE state = 'live' AND ($1)
				        AND get_byte(uuid_send(lease_id), 15) % 2 = $rl_p LIMIT 2000) AS s"); then
				[ "$rl_n" = 0 ] && exit 0
			else
				rl_fail=$((rl_fail + 1))
				[ $rl_fail -lt 10 ] || exit 1
			fi
		done) &
		rl_pids="$rl_pids $!"
	done
	for rl_pid in $rl_pids; do wait "$rl_pid" || die "revoking the benchmark's leases failed"; done
	sleep 11
}

bench_lease_ops() {
	echo "$LEASE_VARIANTS" | awk '{ print NR "|" $0 }' >"$WORK/lease_variants"
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		for mode in $BENCH_COMMIT_MODES; do
			shuffled "$WORK/lease_variants" "$r" "$mode" >"$WORK/lease_variants.round"
			say "leases round $r: $(cut -d'|' -f2 "$WORK/lease_variants.round" | paste -sd ';' | sed 's/;/; /g')"
			while IFS='|' read -r i name script vac <&3; do
				case $script in
				heartbeat) sql "SELECT bench_client_leases('ops.run', $BENCH_CLIENTS)" >/dev/null || die "leases" ;;
				governed) sql "SELECT bench_client_leases('ins.insert', $BENCH_CLIENTS)" >/dev/null || die "leases" ;;
				esac
				n0=$(lease_count "$script")
				sql "CHECKPOINT" >/dev/null
				run_pgbench "test/bench/lease_$script.sql" "$mode" bench_agent || die "pgbench lease_$script failed"
				n1=$(lease_count "$script")
				[ $((n1 - n0)) -eq "$PB_TX" ] ||
					die "lease_$script: $PB_TX transactions, but $((n1 - n0)) leases, renewals or rows"
				append "LA_${i}_$mode" "$PB_TPS"; append "LC_${i}_$mode" "$PB_CPU"
				append "LW_${i}_$mode" "$PB_WCPU"; append "LB_${i}_$mode" "$PB_WAL"
				say "leases round $r synchronous_commit=$mode $name: $PB_TPS tps;" \
					"per transaction: backend $PB_CPU us, workers $PB_WCPU us CPU, $PB_WAL WAL bytes" \
					"(load $(cut -d' ' -f1 /proc/loadavg))"
				case $script in
				authorize)
					t0=$(date +%s.%N)
					# statistics that know the new leases: with the ones from
					# before, each revoke() scanned the whole table (2 ms each)
					sql "ANALYZE governance.leases" || die "analyze"
					revoke_live "authorized_by = 'bench_agent'"
					say "  revoked the $PB_TX leases it made and waited for them to leave shared memory" \
						"($(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.0f", $2 - $1 }') s, untimed)" ;;
				heartbeat)
					sql "SELECT count(governance.revoke(lease_id, 'benchmark clean-up')) FROM bench_client_leases" \
						>/dev/null || die "revoke" ;;
				esac
				sql "VACUUM ANALYZE $vac" || die "vacuum"
			done 3<"$WORK/lease_variants.round"
		done
	done
	for mode in $BENCH_COMMIT_MODES; do
		b="leases sc=$mode"
		while IFS='|' read -r i name script vac; do
			base="plain INSERT" t=-
			[ "$script" = plain ] && base=-
			if [ "$mode" = on ]; then
				case $script in authorize | governed) t="ratio>=0.6" ;; heartbeat) t="ratio>=0.5" ;; esac
			fi
			emit "$b" "$name" tps "$(get "LA_${i}_$mode")" "$base" "$t"
		done <"$WORK/lease_variants"
		b="lease cost sc=$mode"
		while IFS='|' read -r i name script vac; do
			base=-; [ "$script" = plain ] || base="plain INSERT"
			emit "$b" "$name" "us CPU/tx" "$(get "LC_${i}_$mode")" "$base" -
		done <"$WORK/lease_variants"
		while IFS='|' read -r i name script vac; do
			emit "$b" "$name: sealer+verifier+enforcer+walwriter" "us CPU/tx" "$(get "LW_${i}_$mode")" - -
		done <"$WORK/lease_variants"
		while IFS='|' read -r i name script vac; do
			base=-; [ "$script" = plain ] || base="plain INSERT: WAL"
			emit "$b" "$name: WAL" "B/tx" "$(get "LB_${i}_$mode")" "$base" -
		done <"$WORK/lease_variants"
	done
}

# ---------------------------------------------------------------------------
# Row-level security scan (issue 5, D11; issue 18): SELECT count(*) and
# SELECT sum(amount) over 1,000,000 rows of a governed table, as the agent
# (bench_agent) under an attached lease that covers the resource of every
# row, against the same query over an ungoverned twin (same rows in the
# same order, same columns and indexes), and against the twin filtered by
# hand with the comparison the policy makes (WHERE account = 'Account::"0"',
# true for every row: the floor of any per-row filter on this table).  Also
# the governed table under 8 attached leases with the covering one last
# (the most comparisons per row), read by the superuser (RLS bypassed),
# the twin again (an A/A pair: what the harness resolves), and the plain,
# hand-filtered and governed scans of ten-column twins.
#
# stmt_bench.py (spec "rls" in specs.py) does the measuring: every table
# frozen, all-visible, prewarmed and checked resident in shared buffers
# before each round; BENCH_SCAN_ROUNDS rounds, each one session of the
# agent that runs every variant once untimed, then BENCH_SCAN_REPS blocks
# of one execution of each variant in a random order; JIT off, parallel
# query off, sequential scans only; each variant's plan checked (EXPLAIN
# ANALYZE BUFFERS through auto_explain) and saved; the sanity gate in
# report.py.  The plain, hand-filtered and one-lease narrow variants also
# run with JIT forced on (SET LOCAL jit_above_cost = 0 in their
# transactions), interleaved with the others, reported apart.
# rls_setup.sql, probe_setup.sql.
# ---------------------------------------------------------------------------
bench_rls_scan() {
	say "rls: loading 1,000,000 rows into a governed table and its ungoverned twin, narrow and wide"
	gov_psql "$C" -f test/bench/rls_setup.sql >/dev/null || die "rls setup failed"
	sql "CHECKPOINT" >/dev/null
	say "rls: $(sql "SELECT string_agg(relname || ' ' || pg_size_pretty(pg_relation_size(oid)), ', ' ORDER BY relname)
		FROM pg_class WHERE relname IN ('bench_scan_plain', 'bench_scan_gov', 'bench_wide_plain', 'bench_wide_gov')")"
	stmt_bench rls bench_agent "$BENCH_SCAN_ROUNDS" "$BENCH_SCAN_REPS" || die "rls scan benchmark failed"
}

# ---------------------------------------------------------------------------
# Enforcement latency (issue 5, D8): revoke call to cancelled statement.
# test/bench/enforce_latency.py: sessions attached to their own leases run
# SELECT pg_sleep(30); another session revokes each lease; latency = when
# the sleeping session's client got the cancel error minus when the
# revoking client sent its (autocommitted) revoke, both on this machine's
# clock (revoke() ends the lease in shared memory before it commits, so
# the cancel may come before the commit: measured from the commit, on the
# server's clock, it is negative).  BENCH_ENFORCE_TRIALS per round, in batches of 10
# concurrent sleepers, revocations a random 20-120 ms apart; p50, p99 and
# max per round.  Then as many trials in which the leases expire instead
# (latency: the cancel error minus the lease's expires_at): a revocation
# wakes the enforcer at commit, an expiry at the earliest expiry of an
# attached lease (issue 14 item 3).  bench_revoke_tree measures both again
# with 100k live leases.
# ---------------------------------------------------------------------------
enforce_trials() {	# enforce_trials N PREFIX [--expiry]: N trials; appends PREFIX50/99/max (ms)
	et_out="$WORK/enforce-$2-$(date +%s%N).out"
	/usr/bin/python3 test/bench/enforce_latency.py --host "$C" --port 5432 --db postgres \
		--admin "$GOV_DBUSER" --agent bench_agent --trials "$1" --batch 10 ${3:-} \
		>"$et_out" || die "enforcement latency harness failed"
	set -- "$1" "$2" $(sed -n 's/^summary //p' "$et_out")
	et_ms() { echo "$1" | awk '{ if ($1 == "inf") print "inf"; else printf "%.1f", $1 * 1000 }'; }
	append "${2}50" "$(et_ms "$4")"; append "${2}99" "$(et_ms "$5")"; append "${2}max" "$(et_ms "$6")"
	append "${2}s99" "$(et_ms "$8")"
	say "  enforcement latency, $3 trials: p50 $(et_ms "$4") ms, p99 $(et_ms "$5") ms, max $(et_ms "$6") ms" \
		"(from the server's clock after commit: p99 $(et_ms "$8") ms)"
}

bench_enforcement() {
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		say "enforcement round $r (load $(cut -d' ' -f1 /proc/loadavg))"
		enforce_trials "$BENCH_ENFORCE_TRIALS" EN
		enforce_trials "$BENCH_ENFORCE_TRIALS" EX --expiry
	done
	b="enforcement"
	emit "$b" "revoke call to cancel: p50" ms "$(get EN50)" - -
	emit "$b" "revoke call to cancel: p99" ms "$(get EN99)" - "<=200"
	emit "$b" "revoke call to cancel: max" ms "$(get ENmax)" - -
	emit "$b" "server clock after commit to cancel: p99" ms "$(get ENs99)" - -
	emit "$b" "expiry to cancel: p50" ms "$(get EX50)" - -
	emit "$b" "expiry to cancel: p99" ms "$(get EX99)" - "<=20"
	emit "$b" "expiry to cancel: max" ms "$(get EXmax)" - -
}

# ---------------------------------------------------------------------------
# Revocation against a holder (issue 16 item 1): the lease's holder keeps a
# transaction open after heartbeat(), delegate(), record(), a governed
# INSERT or attach(..., session => true) (each holds a lock revoke()
# needs); an administrator revokes the lease (t0); a session attached to it
# polls is_authorized().  refused = its first false minus t0 (the lease
# ended in shared memory, for every check); return = revoke()'s reply minus
# t0 (it waits governance.revoke_lock_timeout, 100 ms, for the holder, then
# ends the holder's session).  test/system/lib/holdoff.py, one process, one
# clock; BENCH_HOLDOFF_TRIALS per kind and round from a new session (what a
# one-off admin command pays: its first revoke() plans its statements), the
# same from one warm session.  p99 per round.
# ---------------------------------------------------------------------------
HOLDOFF_KINDS="heartbeat delegate record write session"

bench_revoke_holdoff() {
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		say "holdoff round $r (load $(cut -d' ' -f1 /proc/loadavg))"
		for w in new warm; do
			ho_out="$WORK/holdoff-$r-$w.out"
			/usr/bin/python3 test/system/lib/holdoff.py --host "$C" --port 5432 --db postgres \
				--admin "$GOV_DBUSER" --bench "$BENCH_HOLDOFF_TRIALS" $([ $w = warm ] && echo --warm) >"$ho_out" ||
				die "holdoff harness failed"
			sed 's/^/  /' "$ho_out"
			for k in $HOLDOFF_KINDS; do
				# summary KIND N refused_ms p50 A p99 B max C return_ms p50 D p99 E max F load L
				set -- $(sed -n "s|^summary $k[/a-z]* ||p" "$ho_out")
				append "HO_ref_${w}_$k" "$6"; append "HO_ret_${w}_$k" "${13}"
			done
		done
	done
	b="revoke against an open holder"
	for k in $HOLDOFF_KINDS; do
		emit "$b" "$k: refused everywhere, p99 (new session)" ms "$(get "HO_ref_new_$k")" - "<=50"
		emit "$b" "$k: refused everywhere, p99 (warm session)" ms "$(get "HO_ref_warm_$k")" - "<=50"
		emit "$b" "$k: revoke() returns, p99 (new session)" ms "$(get "HO_ret_new_$k")" - "<=300"
		emit "$b" "$k: revoke() returns, p99 (warm session)" ms "$(get "HO_ret_warm_$k")" - "<=300"
	done
}

# ---------------------------------------------------------------------------
# Revocation of a 100k-lease tree (issue 5): a root authorized, 100 leases
# delegated under it, and 999 under each of those (100,000 descendants,
# depth 2), all with the real delegate() (in two sessions, one transaction
# per middle lease); then revoke(root) timed by the client (autocommit:
# the reply comes after the commit, which applies the revocation to shared
# memory).  Judged: with planner statistics that know the tree (ANALYZE
# governance.leases after the build).  In round 1 also: the same revoke
# with statistics from before the tree (ANALYZE before the build,
# autovacuum off during it: what a tree built and revoked within
# autovacuum's reaction time gets), stopped after BENCH_REVOKE_TIMEOUT
# seconds.  While the tree is live: the enforcement latency again.
# Every timed revoke starts after a CHECKPOINT (no dirty buffers, the same
# full-page images to write each round) and reports the backend's CPU time
# and run-queue wait beside the client's elapsed time.  A tree can be
# revoked once: the rounds are the repetitions, and their spread is the
# noise.
# revoke_setup.sql.  It runs last: the 300,000 ended leases and the
# statistics it leaves behind slow what follows (every later revoke() was
# planned for a 100k-row tree and JIT-compiled: ~30 ms each instead of
# ~0.3 ms).  Run alone (BENCH_ONLY=revoke_tree, a fresh cluster), round 1
# shows what a young installation's statistics do to it.
# ---------------------------------------------------------------------------
REVOKE_SQL_NOTE="gov_revoke_tree's statements (src/authz.c)"

timed_revoke() {	# timed_revoke ROOT [TIMEOUT-S]: "elapsed cpu wait faults wal" (s, s, s, count, MB), or inf
	tr_to=${2:-0}
	# the same state before every timed revoke: statistics (the caller),
	# no dirty buffers (so every round writes the same full-page images:
	# the worst case, a revoke just after a checkpoint; until issue 18 the
	# revoke followed the tree's build, whose full-page images it saved)
	sql "CHECKPOINT" >/dev/null
	# elapsed: the client's, from sending the revoke to its reply after
	# the commit; CPU and run-queue wait: the backend's, read before and
	# after it in the same session (bench_probe(), probe_setup.sql)
	tr_out=$(gov_psql "$C" -At -c "SET statement_timeout = '${tr_to}s'" \
		-c "SELECT 'probe', *, pg_current_wal_insert_lsn() - '0/0' FROM bench_probe()" -c '\timing on' \
		-c "SELECT governance.revoke('$1', 'revocation benchmark')" -c '\timing off' \
		-c "SELECT 'probe', *, pg_current_wal_insert_lsn() - '0/0' FROM bench_probe()" 2>&1)
	case $tr_out in
	*"statement timeout"*) echo inf; return 0 ;;
	*ERROR*) echo "$tr_out" >&2; return 1 ;;
	esac
	[ "$(echo "$tr_out" | grep -v '^probe|' | sed -n 1p)" = $((BENCH_TREE_MID * (BENCH_TREE_LEAF + 1) + 1)) ] ||
		{ echo "revoke returned: $tr_out" >&2; return 1; }
	echo "$(echo "$tr_out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p') $(echo "$tr_out" | grep '^probe|' | tr '|\n' '  ')" |
		awk '{ printf "%.3f %.3f %.3f %d %.1f", $1 / 1000, ($9 - $3) / 1e9, ($10 - $4) / 1e9, $11 - $5, ($13 - $7) / 1e6 }'
}

# policy_ext (issue 17): the language core alone, no cluster.  The decision
# of contrib/fuzz/bench_policy.c (100 policies, 3-level hierarchy, the
# extension types present but unused; target 4 us), and one policy
# evaluated alone with a condition on each extension type, built from a
# context string per evaluation or read as a value, against the same
# policy on an integer.  Each round is one run of the program.
bench_policy_ext() {
	b=policy_ext
	bin="$WORK/bench_policy"
	cc -O2 -I src -o "$bin" contrib/fuzz/bench_policy.c src/policy_lang.c || die "cannot build bench_policy"
	dec=""
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		dec="$dec $("$bin" 300000 | sed -n 's/.*median \([0-9.]*\) us.*/\1/p')"
		"$bin" --ext 300000 >"$WORK/ext.$r" || die "bench_policy --ext failed"
	done
	emit "$b" "100 policies, decision" us "$dec" - "<=4"
	for name in integer decimal decimal-value ip ip-value datetime datetime-value duration duration-value; do
		vals=""
		for r in $(seq 1 "$BENCH_ROUNDS"); do
			vals="$vals $(sed -n "s/^ext $name \([0-9.]*\)$/\1/p" "$WORK/ext.$r")"
		done
		if [ "$name" = integer ]; then
			emit "$b" "one policy: $name" ns "$vals" - -
		else
			emit "$b" "one policy: $name" ns "$vals" "one policy: integer" -
		fi
	done
}

bench_revoke_tree() {
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		if [ "$r" = 1 ]; then
			sql "ANALYZE governance.leases" && sql "ALTER SYSTEM SET autovacuum = off" >/dev/null &&
				sql "SELECT pg_reload_conf()" >/dev/null || die "autovacuum off"
		fi
		EPID=$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'governance enforcer'")
		e0=$(proc_cpu "$EPID"); t0=$(date +%s.%N)
		sql "CALL bench_tree_root($r, $BENCH_TREE_MID)" || die "building the tree failed"
		rt_pids=
		for p in 0 1; do
			sql "CALL bench_tree_leaves($r, $BENCH_TREE_LEAF, $p, 2)" & rt_pids="$rt_pids $!"
		done
		for p in $rt_pids; do wait "$p" || die "building the tree failed"; done
		t1=$(date +%s.%N); e1=$(proc_cpu "$EPID")
		root=$(sql "SELECT root FROM bench_tree WHERE round = $r")
		n=$(sql "SELECT count(*) FROM governance.leases WHERE state = 'live' AND '$root' = ANY (ancestors)")
		[ "$n" -eq $((BENCH_TREE_MID * (BENCH_TREE_LEAF + 1))) ] || die "the tree has $n live descendants"
		set -- $(echo "$t0 $t1 $e0 $e1 $n" | awk '{ printf "%.1f %.0f %.2f", $2 - $1, $5 / ($2 - $1), ($4 - $3) / ($2 - $1) }')
		append RT_build "$1"; append RT_rate "$2"; append RT_enf "$3"
		say "revoke round $r: built $n descendants with delegate() in $1 s ($2 /s, two sessions;" \
			"enforcer CPU share meanwhile $3) (load $(cut -d' ' -f1 /proc/loadavg))"
		enforce_trials "$BENCH_TREE_ENFORCE_TRIALS" EH
		enforce_trials "$BENCH_TREE_ENFORCE_TRIALS" EY --expiry
		if [ "$r" = 1 ]; then
			say "  the plans of $REVOKE_SQL_NOTE with statistics from before the tree:"
			gov_psql "$C" -At -v root="$root" -f test/bench/revoke_explain.sql | sed 's/^/    /'
			v=$(timed_revoke "$root" "$BENCH_REVOKE_TIMEOUT") || die "revoke failed"
			set -- $v
			append RT_stale "$1"
			if [ "$1" = inf ]; then
				say "  revoke(root), statistics from before the tree: stopped after $BENCH_REVOKE_TIMEOUT s"
			else
				say "  revoke(root), statistics from before the tree: $1 s (backend CPU $2 s," \
					"run-queue wait $3 s, $4 page faults, $5 MB of WAL) (load $(cut -d' ' -f1 /proc/loadavg))"
			fi
			sql "ALTER SYSTEM RESET autovacuum" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null ||
				die "autovacuum on"
			[ "$1" = inf ] || continue
		fi
		sql "ANALYZE governance.leases" || die "analyze"
		v=$(timed_revoke "$root") || die "revoke failed"
		[ "$(sql "SELECT count(*) FROM governance.leases WHERE state = 'live'
			AND (lease_id = '$root' OR '$root' = ANY (ancestors))")" = 0 ] || die "leases of the tree still live"
		set -- $v
		append RT_fresh "$1"; append RT_fresh_cpu "$2"; append RT_fresh_wal "$5"
		append RT_fresh_wait "$(echo "$3 $1" | awk '{ printf "%.3f", $1 / $2 }')"
		say "  revoke(root), statistics that know the tree: $1 s (backend CPU $2 s, run-queue wait $3 s," \
			"$4 page faults, $5 MB of WAL) (load $(cut -d' ' -f1 /proc/loadavg))"
	done
	b="revoke 100k tree"
	emit "$b" "revoke(root), statistics that know the tree" s "$(get RT_fresh)" - "<10"
	emit "$b" "revoke(root), statistics that know the tree: backend CPU" s "$(get RT_fresh_cpu)" - -
	emit "$b" "revoke(root), statistics that know the tree: run-queue wait share" wait/elapsed "$(get RT_fresh_wait)" - -
	emit "$b" "revoke(root), statistics that know the tree: WAL" MB "$(get RT_fresh_wal)" - -
	emit "$b" "revoke(root), statistics from before the tree (round 1 only)" s "$(get RT_stale)" - "<10"
	emit "$b" "building it: delegate() in two sessions" "leases/s" "$(get RT_rate)" - -
	emit "$b" "building it: enforcer CPU share" cpu/elapsed "$(get RT_enf)" - -
	b="enforcement, 100k live leases"
	emit "$b" "revoke call to cancel: p50" ms "$(get EH50)" - -
	emit "$b" "revoke call to cancel: p99" ms "$(get EH99)" - "<=200"
	emit "$b" "revoke call to cancel: max" ms "$(get EHmax)" - -
	emit "$b" "expiry to cancel: p50" ms "$(get EY50)" - -
	emit "$b" "expiry to cancel: p99" ms "$(get EY99)" - "<=20"
	emit "$b" "expiry to cancel: max" ms "$(get EYmax)" - -
}

# ---------------------------------------------------------------------------
# governance-run (issue 13, "Measured"; docs/BENCHMARKS.md): a supervised
# command's stop after a revocation (commit acknowledged -> SIGTERM, ->
# governance-run exited), after a measured file is edited (heartbeat 0.5 s),
# and with the database unreachable (its backend SIGSTOPped; TTL 2 s):
# SIGTERM minus the lease's committed expiry, never above 0.  BENCH_GR_RUNS
# runs of each (test/bench/governance_run.py, the same harness as
# test/bench/governance_run.sh), once (not per round: a latency
# distribution, not a throughput).  The cost of signed requests is
# bench_pop's (authorize() with and without a proof, side by side).
bench_governance_run() {
	gov_psql "$C" >/dev/null <<'SQL' || die "governance_run setup"
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_gr') THEN
    CREATE ROLE bench_gr LOGIN IN ROLE governance_agent;
  END IF;
END $$;
SELECT governance.register_agent('Agent::"bench-gr"', 'bench_gr');
SELECT governance.put_entity('Agent::"bench-gr"', ARRAY['Group::"bench-gr"'], '{}');
SELECT governance.create_policy('bench-gr',
    'permit (principal in Group::"bench-gr", action == Action::"etl.run", resource == Dataset::"bench");');
SQL
	say "governance-run: $BENCH_GR_RUNS runs each (load $(cut -d' ' -f1 /proc/loadavg))"
	GR_ROLE=bench_gr GR_PRINCIPAL='Agent::"bench-gr"' GR_UNREACH_RUNS=$BENCH_GR_RUNS \
		/usr/bin/python3 test/bench/governance_run.py "$PGBIN/governance-run" "$C" "$BENCH_GR_RUNS" 0.5 \
		"$GOV_DBUSER" >"$WORK/governance_run.out" || die "governance_run.py failed"
	grep '^|' "$WORK/governance_run.out" | while read -r l; do say "  $l"; done
	grv() { sed -n "s/^value $1 //p" "$WORK/governance_run.out"; }
	b="governance-run ($BENCH_GR_RUNS runs)"
	emit "$b" "revoke() acknowledged -> SIGTERM: p50" ms "$(grv rev_term_p50)" - -
	emit "$b" "revoke() acknowledged -> SIGTERM: p99" ms "$(grv rev_term_p99)" - "<=200"
	emit "$b" "revoke() acknowledged -> exited: p99" ms "$(grv rev_exit_p99)" - "<=200"
	emit "$b" "measured file edited -> SIGTERM (heartbeat 500 ms): p99" ms "$(grv edit_term_p99)" - "<=700"
	emit "$b" "database unreachable: SIGTERM minus expiry, p50" ms "$(grv unreach_p50)" - -
	emit "$b" "database unreachable: SIGTERM minus expiry, max" ms "$(grv unreach_max)" - "<=0"
	sql "SELECT governance.drop_policy('bench-gr')" >/dev/null || die "governance_run teardown"
}

# ---------------------------------------------------------------------------
say "building the extension and installing it into a private PostgreSQL tree"
# Build from a copy of the working tree, so that a `make clean` someone runs
# in the same checkout meanwhile cannot break the build.
# BENCH_SRC=DIR benchmarks the source tree in DIR instead (a patch, say).
if [ -n "${BENCH_SRC:-}" ]; then
	mkdir -p "$WORK/src" && cp -a "$BENCH_SRC/." "$WORK/src/" || die "cannot copy $BENCH_SRC"
	BUILD="$WORK/src"
elif git rev-parse --git-dir >/dev/null 2>&1; then
	mkdir -p "$WORK/src"
	git ls-files -co --exclude-standard | while read -r f; do [ -f "$f" ] && echo "$f"; done |
		tar -cf - -T - | tar -xf - -C "$WORK/src"
	BUILD="$WORK/src"
else
	BUILD=$TOP
fi
# Install into a private, relocated copy of the PostgreSQL installation
# (PostgreSQL finds its lib and share directories relative to the postgres
# executable): other engineers' `make install` into the shared directories
# can then neither swap the library under this run nor be clobbered by it.
# Only the executables that locate those directories are copied; everything
# else is a symbolic link to the system installation.
INST="$WORK/inst"
make -s -C "$BUILD" >"$WORK/build.log" 2>&1 &&
	make -s -C "$BUILD" install DESTDIR="$INST" >>"$WORK/build.log" 2>&1 ||
	{ cat "$WORK/build.log" >&2; die "build failed"; }
private_tree() {	# private_tree SYSTEM-DIR: mirror it under $INST
	mkdir -p "$INST$1"
	for f in "$1"/*; do
		t="$INST$f"
		if [ -d "$f" ] && [ -d "$t" ]; then private_tree "$f"
		elif [ ! -e "$t" ]; then ln -s "$f" "$t"; fi
	done
}
mkdir -p "$INST$PGBIN"
for exe in postgres initdb pg_ctl; do cp "$PGBIN/$exe" "$INST$PGBIN/$exe" || die "copying $exe"; done
private_tree "$PGBIN"
private_tree "$("$PG_CONFIG" --pkglibdir)"
private_tree "$("$PG_CONFIG" --sharedir)"
PGBIN="$INST$PGBIN"
export PGBIN

say "cluster in $C"
# Settings: fsync and synchronous_commit stay at their defaults (on; lib.sh
# turns fsync off for tests, so it is switched back on here).
# track_commit_timestamp gives the commit time of every row and block for
# the seal lag.  Checkpoints happen only when the script asks, between
# runs, so no run pays for one the previous run caused.  max_leases holds
# the 100k tree of bench_revoke_tree next to the leases the other
# benchmarks make (about 320 MB of shared memory); one benchmark client
# (one principal) may fill it.  shared_buffers holds every table a
# statement benchmark compares (the RLS twins, about 420 MB; the ledger
# with its indexes, up to about 1.5 GB after the pgbench runs):
# stmt_bench.py prewarms them and fails the run when one does not fit.
gov_new_cluster "$C" \
	"fsync = on" \
	"synchronous_commit = on" \
	"track_commit_timestamp = on" \
	"shared_buffers = $BENCH_SHARED_BUFFERS" \
	"max_wal_size = 16GB" \
	"checkpoint_timeout = 1h" \
	"governance.seal_interval = '1s'" \
	"governance.max_leases = 300000" \
	"governance.max_leases_per_principal = 300000" || die "initdb failed"
if [ -n "$BENCH_CONF" ]; then
	echo "$BENCH_CONF" | tr ';' '\n' | while read -r line; do gov_conf "$C" "$line"; done
fi
gov_start "$C" || die "server did not start"
[ "$(sql "SELECT setting FROM pg_config() WHERE name = 'PKGLIBDIR'")" = "$INST$("$PG_CONFIG" --pkglibdir)" ] ||
	die "the server does not use the private installation"
for f in ledger_setup probe_setup leases_setup revoke_setup holdoff_setup pop_setup; do
	gov_psql "$C" -f "test/bench/$f.sql" >/dev/null || die "setup failed: $f.sql"
done

if [ -n "${BENCH_SRC:-}" ]; then
	echo "== code: $BENCH_SRC"
else
	echo "== code: $(git describe --always --dirty 2>/dev/null || echo "not a git checkout")" \
		"$(git status --short -- src sql 2>/dev/null | tr '\n' ' ')"
fi
echo "== machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)," \
	"$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr)"
echo "== $(sql "SELECT version()")"
echo "== settings: $(sql "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
	FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'track_commit_timestamp',
	'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'wal_level', 'governance.seal_interval',
	'governance.max_block_rows', 'governance.verify_interval', 'governance.max_leases',
	'governance.max_leases_per_principal',
	'governance.enforcer_naptime', 'governance.max_delegation_depth', 'autovacuum')")"
echo "== pgbench -c $BENCH_CLIENTS -j $BENCH_JOBS -T $BENCH_SECONDS -M prepared, $BENCH_ROUNDS rounds," \
	"client synchronous_commit: $BENCH_COMMIT_MODES"
echo "== load average at start: $(cut -d' ' -f1-3 /proc/loadavg); order seed (BENCH_SEED): $BENCH_SEED;" \
	"started $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

for b in $BENCH_ONLY; do
	echo "$BENCHMARKS" | grep -qw "$b" || die "unknown benchmark $b (known: $BENCHMARKS)"
	say "== $b"
	"bench_$b"
done

echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg); ended $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo
/usr/bin/python3 test/bench/report.py "$RESULTS" | tee "$BENCH_OUT/report.txt"
rc=$(/usr/bin/python3 test/bench/report.py "$RESULTS" >/dev/null; echo $?)
exit "$rc"
