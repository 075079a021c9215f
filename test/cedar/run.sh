#!/bin/sh
# The differential test against the reference Cedar implementation
# (issue 17; test/cedar/differential.cjs says what it compares), then
# the schema validation comparison (test/cedar/validation.cjs).
#   sh test/cedar/run.sh SOCKET_DIR [DECISIONS]
# runs against the preloaded cluster whose socket is in SOCKET_DIR (as
# test/run.sh starts it), in a database of its own (cedar_diff).  The
# package is installed into test/cedar/node_modules (ignored by git) from
# the exact version and integrity hash of test/cedar/package-lock.json;
# when it cannot be installed (no registry, no npm) the test FAILS: it
# never skips.  CEDAR_SEED repeats a run.
set -u
cd "$(dirname "$0")" || exit 1
HOST=$1
DECISIONS=${2:-20000}
PIN=$(sed -n 's/.*"@cedar-policy\/cedar-wasm": "\([^"]*\)".*/\1/p' package.json)
PKG=node_modules/@cedar-policy/cedar-wasm/package.json

if ! command -v node >/dev/null 2>&1; then
	echo "not ok - node is not installed (test/deps.sh installs Debian's nodejs)"
	exit 1
fi
have=$(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' "$PKG" 2>/dev/null | head -n 1)
if [ "$have" != "$PIN" ]; then
	echo "# installing @cedar-policy/cedar-wasm@$PIN into test/cedar/node_modules"
	if ! command -v npm >/dev/null 2>&1; then
		echo "not ok - npm is not installed, so @cedar-policy/cedar-wasm@$PIN cannot be (test/deps.sh installs it)"
		exit 1
	fi
	if ! npm ci --no-audit --no-fund --ignore-scripts --fetch-retries=1 --fetch-timeout=60000 >npm.log 2>&1; then
		sed 's/^/#   /' npm.log | tail -n 20
		rm -f npm.log
		echo "not ok - npm could not install @cedar-policy/cedar-wasm@$PIN (is the npm registry reachable?): the differential test against Cedar did not run"
		exit 1
	fi
	rm -f npm.log
	have=$(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' "$PKG" 2>/dev/null | head -n 1)
	if [ "$have" != "$PIN" ]; then
		echo "not ok - npm installed @cedar-policy/cedar-wasm $have, not the pinned $PIN"
		exit 1
	fi
fi

seed=""
[ -n "${CEDAR_SEED:-}" ] && seed="--seed $CEDAR_SEED"
# --no-opt: the V8 of Debian's and NodeSource's node 20 aborts now and then in its
# deoptimizer ("Fatal error ... unreachable code") on this script; without
# the optimizing compiler it never did, and the time goes to Cedar's wasm anyway.
# shellcheck disable=SC2086
CEDAR_PGHOST="$HOST" node --no-opt differential.cjs --decisions "$DECISIONS" $seed
rc=$?
# schema validation: a fixed corpus validated by Cedar's validator and by
# the extension, accept / reject compared (validation.cjs)
CEDAR_PGHOST="$HOST" node --no-opt validation.cjs
rc2=$?
# and random schemas and policies, well and ill typed, validated by both
# (validation_random.cjs; VALIDATION_CASES sets how many)
# shellcheck disable=SC2086
CEDAR_PGHOST="$HOST" node --no-opt validation_random.cjs --cases "${VALIDATION_CASES:-2000}" $seed
rc3=$?
[ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$rc3" -eq 0 ]
