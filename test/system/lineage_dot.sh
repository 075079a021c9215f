#!/bin/sh
# Issue 12, section 5: lineage_dot() read by Graphviz itself (Debian's
# graphviz, test/deps.sh).  An execution whose principal and revocation
# reason are made to break DOT (quotes, brackets, an attribute, a newline,
# backslashes, a second digraph): dot parses the output, renders it to SVG,
# and its own JSON view holds exactly one cluster per lease and one node
# per event, no attribute but those lineage_dot() writes, and the labels
# carrying the hostile text intact.  governance-verify proof --dot (issue 12
# section 5): the same execution from its lease proof, verified offline,
# read by dot the same way, with the same nodes and edges as lineage_dot();
# a tampered proof gives no graph.
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

# --- governance-verify proof FILE --dot ----------------------------------
GV="$PGBIN/governance-verify"
q "SELECT encode(governance.public_key(), 'hex')" >"$T/pub.hex"
gov_psql "$C" -c "\\copy (SELECT governance.proof('$l')) TO '$T/proof.txt'" >/dev/null
"$GV" -q --key "$T/pub.hex" proof "$T/proof.txt" --dot >"$T/cli.dot" 2>"$T/cli.err"
gov_is 0 $? "governance-verify proof --dot verifies the proof ($(cat "$T/cli.err"))"
gov_like "^OK: proof verified" "$(cat "$T/cli.err")" "the verdict goes to standard error"
dot -Tsvg "$T/cli.dot" >"$T/cli.svg" 2>"$T/clidot.err" && [ ! -s "$T/clidot.err" ] && [ -s "$T/cli.svg" ]
gov_ok $? "dot renders the CLI's graph to SVG without a warning $(head -c 200 "$T/clidot.err")"
dot -Tjson0 "$T/cli.dot" >"$T/cli.json"
$PY - "$T/cli.json" "$T/l.json" "$events" <<'EOF2'
import json, sys
j = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
def parts(j):
    objs = j["objects"]
    clusters = [o for o in objs if o["name"].startswith("cluster_")]
    nodes = [o for o in objs if not o["name"].startswith("cluster_")]
    edges = sorted((objs[e["tail"]]["name"], objs[e["head"]]["name"]) for e in j.get("edges", []))
    return objs, clusters, nodes, edges
objs, clusters, nodes, edges = parts(j)
_, sclusters, snodes, sedges = parts(s)
assert len(clusters) == 2, [o["name"] for o in objs]
assert len(nodes) == int(sys.argv[3]), (len(nodes), sys.argv[3])
assert sorted(n["name"] for n in nodes) == sorted(n["name"] for n in snodes), "not the nodes of lineage_dot()"
assert edges == sedges, (edges, sedges)
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
# each cluster holds the same events as lineage_dot()'s cluster of that lease
def members(objs, clusters):
    return sorted(sorted(objs[i]["name"] for i in c.get("nodes", [])) for c in clusters)
assert members(objs, clusters) == members(s["objects"], sclusters), (members(objs, clusters), members(s["objects"], sclusters))
kinds = [n["label"].split("\\n")[0] for n in nodes]
for k in ("governance.authorize allow", "governance.delegated", "governance.write insert public.acct",
          "governance.heartbeat"):
    assert k in kinds, (k, kinds)
assert any(k.startswith("governance.revoke") for k in kinds), kinds
assert all(n["label"].endswith("verified") for n in nodes), [n["label"] for n in nodes]
EOF2
gov_ok $? "dot's reading of the CLI's graph: the nodes, edges and clusters of lineage_dot(), no injected attribute, the hostile text inside its labels"
# a tampered proof: exit 1, the problem named, and no graph
$PY - "$T/proof.txt" "$T/bad.txt" <<'EOF2'
import sys
L = open(sys.argv[1]).read().split("\n")[:-1]
i = [k for k, l in enumerate(L) if l.startswith("row ")][1]
t = L[i].split(" ")
t[2] = str(int(t[2]) + 1)   # the event's time moved by a microsecond
L[i] = " ".join(t)
open(sys.argv[2], "w").write("\n".join(L) + "\n")
EOF2
"$GV" -q --key "$T/pub.hex" proof "$T/bad.txt" --dot >"$T/bad.dot" 2>"$T/bad.err"
rc=$?
[ $rc -eq 1 ] && [ ! -s "$T/bad.dot" ] && grep -q "^FAILED: modified row" "$T/bad.err"
gov_ok $? "a tampered proof with --dot: exit 1, the problem on standard error, nothing on standard output (rc=$rc: $(cat "$T/bad.err"))"
"$GV" -q --key "$T/pub.hex" bundle "$T/proof.txt" --dot >/dev/null 2>&1
gov_is 2 $? "--dot with another command is bad input"
"$GV" -q --key "$T/pub.hex" --json proof "$T/proof.txt" --dot >/dev/null 2>&1
gov_is 2 $? "--dot with --json is bad input"
# a delegated lease's proof: its parent's delegation is the anchor, a node
# outside the one cluster, with an edge to the child's first event
dl=$(q "SELECT lease_id FROM governance.leases WHERE parent_id = '$l'")
gov_psql "$C" -c "\\copy (SELECT governance.proof('$dl')) TO '$T/child.txt'" >/dev/null
"$GV" -q --key "$T/pub.hex" proof "$T/child.txt" --dot >"$T/child.dot" 2>"$T/child.err"
gov_is 0 $? "the delegated lease's proof verifies with --dot ($(cat "$T/child.err"))"
dot -Tjson0 "$T/child.dot" >"$T/child.json" 2>"$T/childdot.err" && [ ! -s "$T/childdot.err" ] && [ -s "$T/child.json" ]
gov_ok $? "dot reads its graph without a warning"
$PY - "$T/child.json" "$(q "SELECT count(*) FROM governance.ledger WHERE lease_id = '$dl'")" <<'EOF2'
import json, sys
j = json.load(open(sys.argv[1]))
objs = j["objects"]
clusters = [o for o in objs if o["name"].startswith("cluster_")]
nodes = [o for o in objs if not o["name"].startswith("cluster_")]
assert len(clusters) == 1, [o["name"] for o in objs]
inside = {objs[i]["name"] for i in clusters[0]["nodes"]}
outside = [n for n in nodes if n["name"] not in inside]
assert len(inside) == int(sys.argv[2]), (inside, sys.argv[2])
assert len(outside) == 1 and outside[0]["label"].startswith("anchor: the parent's governance.delegated"), outside
assert any(objs[e["tail"]]["name"] == outside[0]["name"] for e in j["edges"])
EOF2
gov_ok $? "one cluster with the child's events, the parent's delegation as an anchor node outside it, linked"
