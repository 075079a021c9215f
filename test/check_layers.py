#!/usr/bin/env python3
"""make check-layers: src/ is layered (docs/DESIGN.md, "Layers").

Every file of src/ belongs to one layer; a file may include the headers of
its own layer and of the layers below, never of a layer above.  Within a
layer the include graph must have no circle.  A file that is in no layer
is an error too, so a new file has to be placed.  Exits 1 and names every
offending include.
"""
import os
import re
import subprocess
import sys

# Lowest first.  Keep in step with docs/DESIGN.md.
LAYERS = [
    ("pure C", ["policy_lang", "cedar_schema", "cedar_typecheck", "artifact_codec", "evidence_codec", "pop_codec"]),
    ("leaf", ["common"]),
    ("mechanisms", ["crypto", "encode", "xact_defer", "rowio", "spi_cache", "uid", "policy_values", "stats"]),
    ("workers' loop", ["worker"]),
    ("state", ["lease_rows", "keys", "ledger", "trust", "events_spool", "events", "events_drain", "lease", "policy", "guard"]),
    ("evidence and attachments", ["artifact", "seal", "retention", "verify", "restore", "evidence", "proof", "revoke_tree", "revoke", "attach", "pop"]),
    ("enforcement", ["rls_guard", "query_guard", "enforcer"]),
    ("SQL surface", ["authz", "agents", "heartbeat", "session", "govern", "lineage", "policy_sql", "monitor"]),
    ("entry", ["governance"]),
]


def call_graph(root):
    """{module: modules whose symbols its object file uses}, from nm over
    src/*.o (empty when nothing is built: run make first)."""
    objs = sorted(f for f in os.listdir(root) if f.endswith(".o"))
    if not objs:
        return {}
    defined, undefined = {}, {}
    for o in objs:
        mod = o[:-2]
        out = subprocess.run(["nm", os.path.join(root, o)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = mod
            elif len(parts) == 2 and parts[0] == "U":
                undefined.setdefault(mod, set()).add(parts[1])
    return {m: {defined[s] for s in syms if s in defined and defined[s] != m}
            for m, syms in undefined.items()}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    layer_of = {}
    for i, (_, mods) in enumerate(LAYERS):
        for m in mods:
            layer_of[m] = i
    problems = []
    graph = {}
    for name in sorted(os.listdir(root)):
        if not name.endswith((".c", ".h")):
            continue
        mod = name[:-2]
        if mod not in layer_of:
            problems.append(f"src/{name}: in no layer (add it to test/check_layers.py and docs/DESIGN.md)")
            continue
        with open(os.path.join(root, name), encoding="utf-8") as f:
            text = f.read()
        if name.endswith(".h") and re.search(r'#include\s+"postgres\.h"', text):
            problems.append(f"src/{name}: a header includes postgres.h (only .c files do, first)")
        for inc in re.findall(r'#include\s+"([a-z_0-9]+)\.h"', text):
            if inc in ("postgres", "postgres_fe", "fmgr", "miscadmin", "funcapi", "pgstat", "port"):
                continue
            if inc not in layer_of:
                if os.path.exists(os.path.join(root, inc + ".h")):
                    problems.append(f"src/{name}: includes {inc}.h, which is in no layer")
                continue
            if inc == mod:
                continue
            if layer_of[inc] > layer_of[mod]:
                problems.append(
                    f"src/{name} ({LAYERS[layer_of[mod]][0]}) includes {inc}.h "
                    f"({LAYERS[layer_of[inc]][0]}): an arrow up")
            graph.setdefault(mod, set()).add(inc)
    # calls: what each object file takes from the others (nm), when built
    calls = call_graph(root)
    for mod, used in sorted(calls.items()):
        for dep in sorted(used):
            if mod not in layer_of or dep not in layer_of or dep == mod:
                continue
            if layer_of[dep] > layer_of[mod]:
                problems.append(
                    f"src/{mod}.c ({LAYERS[layer_of[mod]][0]}) calls into src/{dep}.c "
                    f"({LAYERS[layer_of[dep]][0]}): an arrow up")
            graph.setdefault(mod, set()).add(dep)
    # no circle within a layer
    state = {}

    def visit(m, path):
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                cyc = path[path.index(n):] + [n] if n in path else [m, n]
                problems.append("a circle: " + " -> ".join(cyc))
            elif state.get(n) is None:
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(graph):
        if state.get(m) is None:
            visit(m, [m])
    for p in problems:
        print(p)
    if problems:
        print(f"check-layers: {len(problems)} problem(s)")
        return 1
    how = "includes and calls (nm)" if calls else "includes (build first for calls too)"
    print(f"check-layers: {len(layer_of)} modules in {len(LAYERS)} layers, no arrow up, no circle ({how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
