#!/bin/sh
# verify-ranges.sh PARTS [psql connection options...]
#
# verify_ledger() over the whole ledger, in PARTS block ranges verified at
# the same time by PARTS backends (one core each), combined into the one
# line verify_ledger() would return: ok|rows_checked|blocks_checked|
# first_bad_seq|problem.  Exit status 0 when it verifies, 1 when it does
# not, 2 when a query failed.
#
# The ranges split the sealed rows into PARTS about equal shares (by the
# blocks' running total_rows); the last range has no upper bound, so it
# also checks the unsealed tail.  Consecutive ranges share nothing but the
# boundary: verify_ledger(from_block, to_block) checks from_block's link to
# block from_block - 1, which the previous range verifies itself.  The
# union of the ranges is what verify_ledger() checks: the combined result
# is not ok as soon as one range is not, and its problem is that of the
# first range (in block order) that failed, which is where a verification
# of the whole would have stopped.  The role needs EXECUTE on
# verify_ledger() and SELECT on governance.ledger_blocks (governance_auditor
# has both).  PSQL names the psql to run (default: psql in PATH).
set -u
[ $# -ge 1 ] && [ "$1" -ge 1 ] 2>/dev/null || { echo "usage: $0 PARTS [psql options...]" >&2; exit 2; }
parts=$1
shift
PSQL=${PSQL:-psql}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

"$PSQL" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -v parts="$parts" "$@" >"$tmp/ranges" <<'SQL' || exit 2
WITH b AS (
    SELECT block_id,
           least(:parts, 1 + (total_rows - row_count) * :parts
                              / greatest(max(total_rows) OVER (), 1)) AS part
      FROM governance.ledger_blocks
)
SELECT part, min(block_id),
       CASE WHEN part = max(part) OVER () THEN 'NULL' ELSE max(block_id)::text END
  FROM b GROUP BY part ORDER BY part;
SQL
[ -s "$tmp/ranges" ] || echo "1 1 NULL" >"$tmp/ranges"

pids=
while read -r part from to; do
	"$PSQL" -X -q -At -F '|' -v ON_ERROR_STOP=1 "$@" \
		-c "SELECT ok, rows_checked, blocks_checked, coalesce(first_bad_seq::text, ''), coalesce(problem, '')
		      FROM governance.verify_ledger($from, $to)" >"$tmp/part.$part" 2>"$tmp/err.$part" &
	pids="$pids $!"
done <"$tmp/ranges"
rc=0
for p in $pids; do wait "$p" || rc=2; done
if [ "$rc" != 0 ]; then
	cat "$tmp"/err.* >&2
	exit 2
fi

# in block order: sum the counts; the first range that failed gives the rest
sort -n "$tmp/ranges" | while read -r part from to; do cat "$tmp/part.$part"; done |
	awk -F '|' '
		{ rows += $2; blocks += $3 }
		$1 != "t" && !bad { bad = 1; seq = $4; problem = $5 }
		END {
			if (NR == 0) exit 2
			printf "%s|%d|%d|%s|%s\n", bad ? "f" : "t", rows, blocks, seq, problem
			exit bad ? 1 : 0
		}'
