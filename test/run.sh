#!/bin/sh
# make test: install what is missing, build with warnings as errors,
# install, start a throwaway preloaded cluster and run every suite:
#   pg_regress (sql/ + expected/), pgTAP through pg_prove (test/pgtap),
#   isolation specs (test/isolation), system tests (test/system/*.sh).
# Prints a closing "N passed, N failed" line; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.." || exit 1

sh test/deps.sh || exit 1
. test/lib.sh

echo "== build (warnings are errors)"
make -s clean >/dev/null 2>&1
make -s COPT=-Werror >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
if ! make -s install >/dev/null; then
	echo "installing the extension failed; as a non-root user run: sudo make install" >&2
	echo "0 passed, 1 failed"; exit 1
fi

WORK=$(gov_tmpdir)
MAIN="$WORK/main"
export WORK MAIN
PASSED=0
FAILED=0
SUITE_FILTER=${GOV_TEST_ONLY:-}

tally() {	# tally PASSED_N FAILED_N
	PASSED=$((PASSED + $1)); FAILED=$((FAILED + $2))
}

cleanup() {
	gov_stop "$MAIN"
	for d in "$WORK"/*/; do [ -d "$d/data" ] && gov_stop "${d%/}"; done
	if [ "$FAILED" -eq 0 ] && [ -z "${GOV_KEEP:-}" ]; then rm -rf "$WORK"; else echo "test files kept in $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want() { [ -z "$SUITE_FILTER" ] || echo "$SUITE_FILTER" | grep -qw "$1"; }

echo "== cluster in $MAIN"
gov_new_cluster "$MAIN" || { echo "0 passed, 1 failed"; exit 1; }
gov_start "$MAIN" || { echo "0 passed, 1 failed"; exit 1; }
# regression and isolation are not governance.database: the suites there
# create the extension where no worker runs, on purpose
for db in regression isolation; do
	gov_sql "$MAIN" "CREATE DATABASE $db" >/dev/null || exit 1
	gov_sql "$MAIN" "ALTER DATABASE $db SET governance.allow_other_database = on" >/dev/null || exit 1
done
# the workers' database: every suite that needs the workers runs there
if ! gov_sql "$MAIN" "CREATE EXTENSION IF NOT EXISTS pgtap; CREATE EXTENSION IF NOT EXISTS governance;" >"$WORK/create.log" 2>&1; then
	echo "CREATE EXTENSION failed:"; cat "$WORK/create.log"
	echo "0 passed, 1 failed"; exit 1
fi

# ---- pg_regress -------------------------------------------------------
if want regress; then
	echo "== pg_regress"
	REGRESS=$(make -s print-regress 2>/dev/null)
	out="$WORK/regress"; mkdir -p "$out"
	"$PG_REGRESS" --use-existing --host="$MAIN" --port=5432 --user="$GOV_DBUSER" \
		--dbname=regression --inputdir=. --outputdir="$out" --bindir="$PGBIN" \
		$REGRESS >"$out/log" 2>&1
	cat "$out/log"
	p=$(grep -Ec '^(ok|test) .*\.\.\. +ok|^ +[a-z_0-9]+ +\.\.\. ok' "$out/log")
	f=$(grep -Ec '\.\.\. FAILED|\.\.\. failed' "$out/log")
	[ -f "$out/regression.diffs" ] && [ "$f" -eq 0 ] && f=1
	[ -f "$out/regression.diffs" ] && head -n 200 "$out/regression.diffs"
	tally "$p" "$f"
fi

# ---- pgTAP ------------------------------------------------------------
if want pgtap; then
	echo "== pgTAP (pg_prove)"
	out="$WORK/pgtap.log"
	pg_prove -v -h "$MAIN" -p 5432 -U "$GOV_DBUSER" -d postgres test/pgtap/*.sql >"$out" 2>&1
	rc=$?
	grep -Ev '^ *ok [0-9]+' "$out"
	p=$(grep -Ec '^ *ok [0-9]+' "$out")
	f=$(grep -Ec '^ *not ok [0-9]+' "$out")
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	echo "pgTAP: $p assertions passed, $f failed"
	tally "$p" "$f"
fi

# ---- isolation --------------------------------------------------------
if want isolation && ls test/isolation/specs/*.spec >/dev/null 2>&1; then
	echo "== isolation"
	# ledger_* specs run where no sealer works behind their back (database
	# isolation); the others need the enforcer, which runs in postgres.
	for group in "isolation:ledger_" "postgres:"; do
		db=${group%%:*}; prefix=${group#*:}
		if [ -n "$prefix" ]; then
			specs=$(cd test/isolation/specs && ls "$prefix"*.spec 2>/dev/null | sed 's/\.spec$//')
		else
			specs=$(cd test/isolation/specs && ls *.spec | grep -v '^ledger_' | sed 's/\.spec$//')
		fi
		[ -n "$specs" ] || continue
		out="$WORK/isolation-$db"; mkdir -p "$out"
		"$PG_ISOLATION_REGRESS" --use-existing --host="$MAIN" --port=5432 --user="$GOV_DBUSER" \
			--dbname="$db" --inputdir=test/isolation --outputdir="$out" --bindir="$PGBIN" \
			$specs >"$out/log" 2>&1
		cat "$out/log"
		p=$(grep -Ec '\.\.\. +ok' "$out/log")
		f=$(grep -Ec '\.\.\. FAILED|\.\.\. failed' "$out/log")
		[ -f "$out/regression.diffs" ] && [ "$f" -eq 0 ] && f=1
		[ -f "$out/regression.diffs" ] && head -n 200 "$out/regression.diffs"
		tally "$p" "$f"
	done
fi

# ---- issue 17: the policy language against the reference Cedar --------
# test/cedar/run.sh: random policy sets, entities and requests decided by
# the extension and by @cedar-policy/cedar-wasm, decision by decision
# (GOV_CEDAR_DECISIONS, default 20000; make conformance runs far more).
if want cedar; then
	echo "== cedar: differential test against the reference implementation"
	out="$WORK/cedar.log"
	sh test/cedar/run.sh "$MAIN" "${GOV_CEDAR_DECISIONS:-20000}" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -Ec '^ok ' "$out")
	f=$(grep -Ec '^not ok ' "$out")
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	tally "$p" "$f"
fi

# ---- system tests -----------------------------------------------------
export TMPDIR="$WORK"
if want system; then
	for t in test/system/*.sh; do
		[ -f "$t" ] || continue
		echo "== system: $t"
		out="$WORK/$(basename "$t" .sh).log"
		sh "$t" >"$out" 2>&1
		rc=$?
		cat "$out"
		p=$(grep -Ec '^ok ' "$out")
		f=$(grep -Ec '^not ok ' "$out")
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
		tally "$p" "$f"
	done
fi

# ---- the main cluster's log ------------------------------------------
# Every suite above ran against it: resource leaks the server only warns
# about, and crashed or aborted backends, fail the run too.
if [ -f "$MAIN/server.log" ]; then
	echo "== server log: $MAIN/server.log"
	grep -E "leak|PANIC|TRAP|terminated by signal|was terminated|server process .* exited with exit code" \
		"$MAIN/server.log" >"$WORK/bad.log"
	if [ -s "$WORK/bad.log" ]; then
		echo "not ok - the main cluster's log has no leak warnings, assertion failures or crashed backends"
		head -n 20 "$WORK/bad.log" | sed 's/^/#   /'
		tally 0 1
	else
		echo "ok - the main cluster's log has no leak warnings, assertion failures or crashed backends"
		tally 1 0
	fi
fi

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
