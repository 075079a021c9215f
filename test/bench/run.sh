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
BENCHMARKS="ledger_append ledger_verify"
#   planned: authorize heartbeat governed_insert rls_scan revoke_100k enforcement_latency
#
# Environment (defaults finish in about 8 minutes on 2 cores):
#   BENCH_SECONDS=15       duration of each pgbench run
#   BENCH_ROUNDS=3         rounds of each benchmark (each round runs every variant once)
#   BENCH_ONLY="..."       run only these benchmarks (names from BENCHMARKS)
#   BENCH_CLIENTS=8 BENCH_JOBS=2          pgbench -c and -j
#   BENCH_COMMIT_MODES="on off"           synchronous_commit of the pgbench clients;
#                                         targets are judged on "on" (the default setting),
#                                         "off" shows the CPU cost without the WAL flush
#   BENCH_VERIFY_ROWS=1000000             least ledger rows verify_ledger() is timed on
#   BENCH_CONF="a = b;c = d"              extra postgresql.conf lines (";"-separated)
#   BENCH_SRC=DIR          build and measure the source tree in DIR (default: this
#                          working tree, copied, so a concurrent `make clean` is harmless)
#   BENCH_KEEP=1           keep the temporary directory (cluster, logs, results)
#   BENCH_TMP=DIR          where that directory is made (default /var/tmp/governance-bench)
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)

BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_ONLY=${BENCH_ONLY:-$BENCHMARKS}
BENCH_CLIENTS=${BENCH_CLIENTS:-8}
BENCH_JOBS=${BENCH_JOBS:-2}
BENCH_COMMIT_MODES=${BENCH_COMMIT_MODES:-on off}
BENCH_VERIFY_ROWS=${BENCH_VERIFY_ROWS:-1000000}
BENCH_CONF=${BENCH_CONF:-}

sh test/deps.sh || exit 1
. test/lib.sh
GOV_ROOT=$TOP
CLK_TCK=$(getconf CLK_TCK)

# Not under /tmp/governance.*: on the shared machine test clean-ups remove
# those, and once removed a benchmark's directory mid-run.
BENCH_TMP=${BENCH_TMP:-/var/tmp/governance-bench}
mkdir -p "$BENCH_TMP" && chmod 755 "$BENCH_TMP" || exit 1
WORK=$(TMPDIR=$BENCH_TMP gov_tmpdir)
C="$WORK/cluster"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

cleanup() {
	gov_stop "$C"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "benchmark files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "[$(date +%H:%M:%S)] $*"; }

# emit BENCHMARK VARIANT UNIT "V1 V2 ..." BASELINE-VARIANT|- TARGET|-
emit() {
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

# run_pgbench SCRIPT SYNCHRONOUS_COMMIT ROLE: one pgbench run.  Sets PB_TPS;
# PB_CPU, the CPU microseconds per transaction of the client backends (the
# postmaster's children CPU, counted once they have exited); PB_WCPU, the
# same for the sealer, verifier, enforcer and WAL writer; PB_WAL, WAL bytes
# per transaction.  Fails on any failed transaction.  Scripts may test
# :attached (0) to do something once per client.
run_pgbench() {
	log="$WORK/pgbench-$(basename "$1" .sql)-$2-$(date +%s%N).log"
	PM=$(head -n 1 "$C/data/postmaster.pid")
	WORKER_PIDS=$(sql "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
		WHERE backend_type LIKE 'governance%' OR backend_type = 'walwriter'")
	wal0=$(sql "SELECT pg_current_wal_insert_lsn() - '0/0'")
	cpu0=$(proc_child_cpu "$PM"); wcpu0=$(workers_cpu)
	PGOPTIONS="-c synchronous_commit=$2" "$PGBIN/pgbench" -n -h "$C" -p 5432 -U "$3" \
		-c "$BENCH_CLIENTS" -j "$BENCH_JOBS" -T "$BENCH_SECONDS" -M prepared -D attached=0 \
		-f "$1" postgres >"$log" 2>&1 || { cat "$log" >&2; return 1; }
	wcpu1=$(workers_cpu)
	# wait until the postmaster has reaped the client backends (a zombie
	# has lost its title but its CPU is not in the parent's count yet)
	rp_n=0
	while ps -o stat=,args= --ppid "$PM" | grep -Eq "^Z|postgres: $3 "; do
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
# per-execution chain lock, chain head lookup, linked rows).
#
# Variants: name|pgbench script (test/bench/ledger_<script>.sql)|login role|
# what to VACUUM ANALYZE after the run ("ledger" marks a record() variant).
# ---------------------------------------------------------------------------
APPEND_VARIANTS="plain INSERT|plain|bench_agent|bench_plain
record() admin, no lease|record|bench_admin|ledger
record() agent, own lease|record_lease|bench_agent|ledger
naive chain|chain|bench_agent|bench_chain, bench_chain_head"

bench_ledger_append() {
	echo "$APPEND_VARIANTS" | awk '{ print NR "|" $0 }' >"$WORK/variants"
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		for mode in $BENCH_COMMIT_MODES; do
			while IFS='|' read -r i name script role vac <&3; do
				[ "$script" = record_lease ] && { sql "SELECT bench_new_leases($BENCH_CLIENTS)" >/dev/null || die "leases"; }
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
					vac=governance.ledger
				fi
				sql "VACUUM ANALYZE $vac" || die "vacuum"
			done 3<"$WORK/variants"
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
				emit "$b" "$name" tps "$(get "A_${i}_$mode")" "naive chain" "$t3" ;;
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
			if [ "$mode" = on ]; then t2="<=2"; else t2=-; fi
			emit "$b" "$name: p50" s "$(get "L50_${i}_$mode")" - -
			emit "$b" "$name: p99" s "$(get "L99_${i}_$mode")" - "$t2"
			emit "$b" "$name: max" s "$(get "Lmax_${i}_$mode")" - -
			emit "$b" "$name: p99, at to sealed_at" s "$(get "T99_${i}_$mode")" - -
		done <"$WORK/variants"
	done
}

# ---------------------------------------------------------------------------
# verify_ledger() over at least BENCH_VERIFY_ROWS rows, in one backend,
# against a scan of the same rows in the same order that hashes nothing.
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
	sql "VACUUM ANALYZE governance.ledger" && sql "CHECKPOINT" >/dev/null
	say "verify: ledger has $have rows in $blk blocks"
	# one untimed pass of each, so that every timed round reads warm caches
	sql "SET client_min_messages = warning; SELECT * FROM bench_time_verify($CLK_TCK)" >/dev/null || die "verify_ledger() failed"
	sql "SELECT * FROM bench_time_scan($CLK_TCK)" >/dev/null || die "scan failed"
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		for v in verify scan; do
			out=$(sql "SET client_min_messages = warning; SELECT * FROM bench_time_$v($CLK_TCK)") || die "$v failed"
			set -- $(echo "$out" | tr '|' ' ')
			ok=$1 rows=$2 elapsed=$3 cpu=$4
			[ "$ok" = t ] || die "$v reported a problem: $out"
			rate=$(/usr/bin/python3 -c "print('%.0f' % ($rows / $elapsed))")
			cpurate=$(/usr/bin/python3 -c "print('%.0f' % ($rows / max($cpu, 0.01)))")
			share=$(/usr/bin/python3 -c "print('%.2f' % ($cpu / $elapsed))")
			append "V_$v" "$rate"; append "VC_$v" "$cpurate"; append "VS_$v" "$share"
			say "verify round $r $v: $rows rows in $elapsed s (cpu $cpu s): $rate rows/s (load $(cut -d" " -f1 /proc/loadavg))"
		done
	done
	emit "verify" "verify_ledger()" rows/s "$V_verify" - ">=200000"
	emit "verify" "scan, no hashing" rows/s "$V_scan" - -
	emit "verify" "verify_ledger()" rows/s "$V_verify" "scan, no hashing" -
	emit "verify" "verify_ledger() per CPU-second" rows/s "$VC_verify" - ">=200000"
	emit "verify" "verify_ledger() CPU share of its backend" "cpu/elapsed" "$VS_verify" - -
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
# runs, so no run pays for one the previous run caused.
gov_new_cluster "$C" \
	"fsync = on" \
	"synchronous_commit = on" \
	"track_commit_timestamp = on" \
	"shared_buffers = 512MB" \
	"max_wal_size = 16GB" \
	"checkpoint_timeout = 1h" \
	"governance.seal_interval = '1s'" || die "initdb failed"
if [ -n "$BENCH_CONF" ]; then
	echo "$BENCH_CONF" | tr ';' '\n' | while read -r line; do gov_conf "$C" "$line"; done
fi
gov_start "$C" || die "server did not start"
[ "$(sql "SELECT setting FROM pg_config() WHERE name = 'PKGLIBDIR'")" = "$INST$("$PG_CONFIG" --pkglibdir)" ] ||
	die "the server does not use the private installation"
gov_psql "$C" -f test/bench/ledger_setup.sql >/dev/null || die "setup failed"

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
	'governance.max_block_rows', 'governance.verify_interval', 'autovacuum')")"
echo "== pgbench -c $BENCH_CLIENTS -j $BENCH_JOBS -T $BENCH_SECONDS -M prepared, $BENCH_ROUNDS rounds," \
	"client synchronous_commit: $BENCH_COMMIT_MODES"
echo "== load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

for b in $BENCH_ONLY; do
	echo "$BENCHMARKS" | grep -qw "$b" || die "unknown benchmark $b (known: $BENCHMARKS)"
	say "== $b"
	"bench_$b"
done

echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
/usr/bin/python3 test/bench/report.py "$RESULTS"
