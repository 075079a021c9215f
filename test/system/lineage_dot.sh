#!/bin/sh
# Issue 12, section 5: lineage_dot() read by Graphviz itself (Debian's
# graphviz, test/deps.sh).  An execution whose principal and revocation
# reason are made to break DOT (quotes, brackets, an attribute, a newline,
# backslashes, a second digraph): dot parses the output, renders it to SVG,
# and its own JSON view holds exactly one cluster per lease and one node
# per event, no attribute but those lineage_dot() writes, and the labels
# carrying the hostile text intact.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
PY=$SYS_PYTHON
T=$(gov_tmpdir)
C=$T/dot
gov_new_cluster "$C" || exit 1
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$T"' EXIT
gov_start "$C" || exit 1
command -v dot >/dev/null
gov_ok $? "Graphviz's dot is installed (test/deps.sh)"

gov_psql "$C" >/dev/null <<'EOF2'
SET client_min_messages = warning;
CREATE EXTENSION governance;
CREATE ROLE dt_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent(E'Agent::"dt \\"] ; evil=1; x [color=red\n} digraph y { \\\\N\\\\"', 'dt_bot');
SELECT governance.create_policy('dt', 'permit (principal, action, resource);');
CREATE TABLE acct (id int PRIMARY KEY, owner text);
SELECT governance.govern_table('acct', 'acct', 'owner');
GRANT INSERT, SELECT ON acct TO dt_bot;
EOF2
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"
P='E'"'"'Agent::"dt \\"] ; evil=1; x [color=red\n} digraph y { \\\\N\\\\"'"'"
set -- $(gov_psql "$C" -Atc "SET ROLE dt_bot; SELECT lease_id || ' ' || artifact FROM governance.authorize($P, 'acct.insert', 'Account::\"1\"')")
l=${1:-}; a=${2:-}
gov_psql "$C" -Atc "SET ROLE dt_bot; SELECT governance.delegate('$l', $P, 'acct.insert', 'Account::\"1\"')" >/dev/null
gov_psql "$C" -c "SET ROLE dt_bot" -c "BEGIN" -c "SELECT governance.attach('$a')" \
	-c "INSERT INTO acct VALUES (1, 'Account::\"1\"')" -c "COMMIT" >/dev/null
gov_psql "$C" -Atc "SET ROLE dt_bot; SELECT governance.heartbeat('$l')" >/dev/null
q "SELECT governance.revoke('$l', E'done \"here\"\\n}; evil=2 {')" >/dev/null
q "SELECT governance.seal()" >/dev/null
q "SELECT governance.lineage_dot('$l')" >"$T/l.dot"
events=$(q "SELECT count(*) FROM governance.ledger g JOIN governance.leases x ON x.lease_id = g.lease_id WHERE x.lease_id = '$l' OR '$l' = ANY (x.ancestors)")

dot -Tsvg "$T/l.dot" >"$T/l.svg" 2>"$T/dot.err" && [ ! -s "$T/dot.err" ]
gov_ok $? "dot renders lineage_dot() to SVG without a warning $(head -c 200 "$T/dot.err")"
dot -Tjson0 "$T/l.dot" >"$T/l.json"
$PY - "$T/l.json" "$events" <<'EOF2'
import json, sys
j = json.load(open(sys.argv[1]))
objs = j["objects"]
clusters = [o for o in objs if o["name"].startswith("cluster_")]
nodes = [o for o in objs if not o["name"].startswith("cluster_")]
assert len(clusters) == 2, [o["name"] for o in objs]
assert len(nodes) == int(sys.argv[2]), (len(nodes), sys.argv[2])
allowed = {"name", "label", "_gvid", "nodes", "edges", "subgraphs", "style", "color", "fillcolor", "shape",
           "fontname", "fontsize", "rankdir", "directed", "strict", "_subgraph_cnt", "width", "height",
           "bb", "lp", "pos", "lheight", "lwidth", "compound", "objects"}
for o in objs + [j]:
    extra = set(o) - allowed
    assert not extra, (o["name"] if "name" in o else "graph", extra)
evil = 'Agent::"dt \\\\"] ; evil=1; x [color=red\\n} digraph y { \\\\\\\\N\\\\\\\\"'
for c in clusters:
    assert evil in c["label"], c["label"]
assert any("done \"here\"\\n}; evil=2 {" in c["label"] for c in clusters), [c["label"] for c in clusters]
kinds = [n["label"].split("\\n")[0] for n in nodes]
for k in ("governance.authorize allow", "governance.delegated", "governance.write insert public.acct",
          "governance.heartbeat"):
    assert k in kinds, (k, kinds)
assert any(k.startswith("governance.revoke") for k in kinds), kinds
assert all(n["label"].endswith("verified") for n in nodes), [n["label"] for n in nodes]
EOF2
gov_ok $? "dot's own reading: 2 clusters, one node per event ($events), no injected attribute, the hostile text inside its labels, every event verified"
grep -q 'digraph y' "$T/l.svg" && ! grep -q 'evil=1"' "$T/l.svg"
gov_ok $? "the SVG shows the principal's text as text"
