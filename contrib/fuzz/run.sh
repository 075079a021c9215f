#!/bin/sh
# make fuzz: build every contrib/fuzz/fuzz_*.c harness with libFuzzer and
# the address and undefined-behaviour sanitizers, replay the crash inputs
# kept for it, then fuzz it for FUZZ_SECONDS (default 60) seconds.
#
# A harness declares what it is built from in comment lines anywhere in
# its source:
#     fuzz-sources: src/policy_lang.c src/other.c   (pure-C files to link)
#     fuzz-options: -max_len=8192 -timeout=5        (extra libFuzzer flags)
#     fuzz-libs: -lsodium -lcrypto                  (libraries to link)
# It is compiled with -I src.  For harness NAME (fuzz_NAME.c without .c):
#     contrib/fuzz/corpus/NAME/       the corpus: seeds, plus every input
#                                     that found new coverage (merged in at
#                                     the end of each run)
#     contrib/fuzz/regressions/NAME/  inputs that once crashed, hung or
#                                     leaked; replayed before fuzzing, and
#                                     where a new crash input is written
#     contrib/fuzz/NAME.dict          optional libFuzzer dictionary
# Environment: FUZZ_SECONDS, FUZZ_CC (default clang), FUZZ_ONLY (a harness
# name), FUZZ_WORK (build directory, default a temporary one).
# Exits non-zero if any harness fails to build, or crashes.
set -u
cd "$(dirname "$0")/../.." || exit 1

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CC=${FUZZ_CC:-clang}
WORK=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/governance-fuzz.XXXXXX")}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I src"
mkdir -p "$WORK"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz: $CC not found (install clang)" >&2
	exit 1
fi

# the text after "key:" on the harness's comment lines
directive() {
	sed -n "s/^.*$1:[[:space:]]*//p" "$2" | tr '\n' ' '
}

status=0
summary=""
for src in contrib/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	[ -n "${FUZZ_ONLY:-}" ] && [ "$FUZZ_ONLY" != "$name" ] && continue
	sources=$(directive fuzz-sources "$src")
	options=$(directive fuzz-options "$src")
	libs=$(directive fuzz-libs "$src")
	bin="$WORK/$name"
	corpus="contrib/fuzz/corpus/$name"
	regress="contrib/fuzz/regressions/$name"
	mkdir -p "$corpus" "$regress" "$WORK/$name.new"

	echo "== $name: build ($src $sources)"
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -o "$bin" "$src" $sources $libs; then
		echo "fuzz: $name: build failed" >&2
		status=1
		summary="$summary
$name: build failed"
		continue
	fi

	cases=$(find "$regress" -type f ! -name '.*' | sort)
	if [ -n "$cases" ]; then
		echo "== $name: replay $(echo "$cases" | wc -l) regression case(s)"
		# shellcheck disable=SC2086
		if ! "$bin" $options $cases >"$WORK/$name.replay.log" 2>&1; then
			tail -n 40 "$WORK/$name.replay.log"
			echo "fuzz: $name: a regression case fails again" >&2
			status=1
			summary="$summary
$name: regression case fails"
			continue
		fi
	fi

	dict=""
	[ -f "contrib/fuzz/$name.dict" ] && dict="-dict=contrib/fuzz/$name.dict"
	echo "== $name: fuzz for $FUZZ_SECONDS s"
	# New inputs go to a scratch directory; crashes straight into regressions/.
	# shellcheck disable=SC2086
	"$bin" $options $dict -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="$regress/" "$WORK/$name.new" "$corpus" >"$WORK/$name.log" 2>&1
	rc=$?
	grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY' "$WORK/$name.log" | head -n 20
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$WORK/$name.log"
		echo "fuzz: $name: found a failure; the input is kept in $regress/" >&2
		status=1
		summary="$summary
$name: FAILED (see $regress/)"
		continue
	fi
	# keep only inputs that add coverage
	"$bin" $options -merge=1 "$corpus" "$WORK/$name.new" >"$WORK/$name.merge.log" 2>&1 || true
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$name.log")
	summary="$summary
$name: ok, ${runs:-?} executions in $FUZZ_SECONDS s, corpus $(find "$corpus" -type f | wc -l) files"
done

echo
echo "fuzz summary:$summary"
[ -z "${FUZZ_WORK:-}" ] && rm -rf "$WORK"
exit $status
