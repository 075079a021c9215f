#!/bin/sh
# The latency of governance-run (issue 13; docs/BENCHMARKS.md): revocation
# commit -> SIGTERM delivered -> command exited, and a measured file edited
# -> command stopped, over GR_RUNS runs each (default 100), on a cluster of
# its own.  GR_HEARTBEAT (seconds, default 0.5) is the heartbeat interval
# of the integrity runs.  Needs make install first (governance-run in
# pg_config --bindir).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../system/lib/common.sh"
W=$(gov_tmpdir)
C="$W/bench"
trap 'gov_stop "$C"' EXIT
gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" || exit 2
gov_start "$C" || exit 2
{ gov_agents_sql bench agent; cat <<'SQL'; } | gov_psql "$C" >/dev/null || exit 2
SELECT governance.create_policy('bench', 'permit (principal in Group::"bench", action == Action::"etl.run", resource);');
SQL
gov_wait_trusted "$C" 20 || { echo "the cluster never became trusted" >&2; exit 2; }
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$SYS_PYTHON" "$(dirname "$0")/governance_run.py" "$PGBIN/governance-run" "$C" "${GR_RUNS:-100}" \
	"${GR_HEARTBEAT:-0.5}" "$GOV_DBUSER"
