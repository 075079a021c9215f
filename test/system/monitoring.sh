#!/bin/sh
# Monitoring (issue 11, item 4; README "Monitoring"): the postgres_exporter
# queries file, contrib/postgres_exporter/queries.yaml, parsed as
# postgres_exporter reads it (a map of metric groups, each a query and a
# list of one-key metric maps with usage and description), and every query
# run as a login role whose only privilege is membership in pg_monitor:
# each declared metric must be a column of the result, in order, numeric
# where it is a GAUGE or COUNTER; the counters must show the activity the
# test made; and a role outside pg_monitor must be refused (42501).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/monitoring"
trap 'gov_stop "$C"' EXIT

$SYS_PYTHON -c 'import yaml, psycopg' 2>/dev/null ||
	{ echo "not ok - python3-yaml and python3-psycopg are needed (Debian packages)"; exit 1; }

gov_new_cluster "$C" || exit 1
gov_start "$C" || exit 1
{
	gov_agents_sql mo bot
	echo "CREATE ROLE mo_mon LOGIN IN ROLE pg_monitor;"
	echo "CREATE ROLE mo_other LOGIN;"
	echo "SELECT NULL FROM governance.create_policy('mo_p', 'permit (principal in Group::\"mo\", action == Action::\"mo.read\", resource);');"
} | gov_psql "$C" >/dev/null || exit 1
gov_wait_trusted "$C" 30 || { echo "not ok - trusted"; exit 1; }
bq mo_bot "SELECT decision FROM governance.authorize('Agent::\"mo-bot\"', 'mo.read', 'Doc::\"1\"')" >/dev/null
bq mo_bot "SELECT decision FROM governance.authorize('Agent::\"mo-bot\"', 'mo.write', 'Doc::\"1\"')" >/dev/null

$SYS_PYTHON - "$C" "$GOV_ROOT/contrib/postgres_exporter/queries.yaml" <<'PY'
import sys
import psycopg
import yaml

host, path = sys.argv[1], sys.argv[2]
n = 0


def ok(cond, what):
    global n
    n += 1
    print(("ok - " if cond else "not ok - ") + what)


with open(path) as f:
    doc = yaml.safe_load(f)
ok(isinstance(doc, dict) and len(doc) >= 2, "queries.yaml is a map of metric groups")

mon = psycopg.connect(host=host, port=5432, user="mo_mon", dbname="postgres", autocommit=True)
other = psycopg.connect(host=host, port=5432, user="mo_other", dbname="postgres", autocommit=True)
values = {}
for group, spec in doc.items():
    ok(isinstance(spec, dict) and isinstance(spec.get("query"), str) and isinstance(spec.get("metrics"), list),
       f"{group}: a query and a list of metrics")
    declared = []
    usage = {}
    good = True
    for m in spec["metrics"]:
        if not (isinstance(m, dict) and len(m) == 1):
            good = False
            continue
        (name, attrs), = m.items()
        declared.append(name)
        usage[name] = attrs.get("usage")
        good = good and attrs.get("usage") in ("GAUGE", "COUNTER", "LABEL") \
            and isinstance(attrs.get("description"), str) and attrs["description"].strip() != ""
    ok(good, f"{group}: each metric has a usage (GAUGE, COUNTER or LABEL) and a description")
    try:
        cur = mon.execute(spec["query"])
        cols = [d.name for d in cur.description]
        rows = cur.fetchall()
        err = None
    except psycopg.Error as e:
        cols, rows, err = [], [], e
    ok(err is None, f"{group}: the query runs as a pg_monitor member" + (f" ({err.sqlstate}: {err})" if err else ""))
    ok(cols == declared, f"{group}: its columns are the declared metrics, in order"
       + ("" if cols == declared else f" (columns {cols}, declared {declared})"))
    numeric = all(isinstance(r[i], (int, float)) for r in rows for i, c in enumerate(cols)
                  if usage.get(c) in ("GAUGE", "COUNTER"))
    ok(numeric, f"{group}: every GAUGE and COUNTER value is a number ({len(rows)} rows)")
    if group == "governance" and rows:
        values = dict(zip(cols, rows[0]))
    if group == "governance_principal":
        ok(any(r[0] == 'Agent::"mo-bot"' and r[1] == 1 for r in rows),
           f"{group}: the test's agent has its one live lease")
    try:
        other.execute(spec["query"])
        code = None
    except psycopg.Error as e:
        code = e.sqlstate
    ok(code == "42501", f"{group}: a role outside pg_monitor is refused (42501), got {code}")

ok(values.get("authorizations_allowed", 0) >= 1 and values.get("authorizations_denied", 0) >= 1,
   "the counters show the test's allowed and denied decisions")
ok(values.get("trusted") == 1 and values.get("leases_live") == 1 and values.get("events_lost") == 0,
   "trusted, one live lease, no event lost")
ok(values.get("enforcer_beat_age_seconds", -1) >= 0 and values.get("enforcer_beat_age_seconds", 99) < 5,
   "the enforcer beat within 5 seconds")
PY
