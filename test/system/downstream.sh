#!/bin/sh
# Downstream services (issue 13 section 3): a service that receives an
# artifact learns whether its lease is still live by asking the database
# (verify_artifact) and caching the answer while it LISTENs on
# governance_lease_end.  test/system/lib/service.py is such a service:
# cache hits, a revocation dropping the cached lease within a bound, a
# rolled-back revoke, expiry, a killed listener (fail closed), forgeries.
# (The offline check with proof of possession, governance-verify pop, is
# tested in test/system/pop.sh.)
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/ds"
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W"' EXIT
$SYS_PYTHON -c 'import psycopg' 2>/dev/null ||
	{ echo "not ok - psycopg is needed (python3-psycopg; test/deps.sh)"; exit 1; }
gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" || exit 1
gov_start "$C" || exit 1
{ gov_agents_sql ds agent; cat <<'SQL'; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('ds',
    'permit (principal in Group::"ds", action == Action::"etl.run", resource);');
CREATE ROLE ds_svc LOGIN IN ROLE governance_auditor;
CREATE ROLE ds_nobody LOGIN;
SQL
gov_ok $(gov_wait_trusted "$C" 20; echo $?) "the cluster is trusted (enforcer running)"
GOV_DBUSER=$GOV_DBUSER $SYS_PYTHON "$(dirname "$0")/lib/service.py" "$C"
