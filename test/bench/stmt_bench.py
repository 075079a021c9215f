#!/usr/bin/python3
"""Side-by-side timing of one-off statements (test/bench/run.sh: the RLS
scan, verify_ledger()), built so that a comparison cannot mislead:

* Same state.  Before every round each relation of the comparison is
  prewarmed (pg_prewarm) and checked: every block of it in shared buffers,
  all-visible and all-frozen in the visibility map, relallvisible = blocks.
  The run fails when a relation does not fit or was not frozen.
* Same session, same settings.  A round is one session (one backend) of
  the given role with the given settings (jit, max_parallel_workers_per_
  gather).  It first runs every variant once, untimed (a new backend's
  first touch of each page of shared buffers is a page fault: on this VM
  about 100 us of CPU per fault, 100-250 ms for a first full read of a
  100 MB table; the log reports what those first executions paid), then
  REPS blocks; each block runs every
  variant once, in a random order drawn anew for each block and round
  (seeded; the seed is printed).
* Timed inside the server (bench_time() in probe_setup.sql): wall clock,
  CPU time and run-queue wait of the backend (/proc/self/schedstat, ns),
  minor page faults, and bytes read through the OS (/proc/self/io rchar).
  An execution that read a block from outside shared buffers fails the run.
  Every variant of a result group must return the same value.
* Plans.  After the timed blocks, each variant runs once more under
  auto_explain (EXPLAIN ANALYZE, BUFFERS, JSON: the plan the timed runs got,
  as the same role, nested in the same timing function); the plans are
  saved and checked against the variant's "plan" spec: no parallel nodes,
  exactly one scan of the intended type on the intended relation, a filter
  or none as intended, no block read (Shared Read Blocks = 0 everywhere),
  every block of the relation hit, JIT used only when expected.

Per variant and round: the median of the REPS executions (elapsed, CPU,
wait), their interquartile range, median page faults.  The report entries
of the spec turn those into lines of run.sh's results file (report.py
format, one value per round, with baselines, targets and sanity gates).

    stmt_bench.py --spec NAME --psql "PSQL ARGS" --psql-admin "PSQL ARGS" \
        --out DIR --results RESULTS.tsv --rounds R --reps K [--seed S] [--rows N]

--psql: psql and its connection arguments for the timed sessions (role,
database, host); --psql-admin: the same as a superuser (prewarm, checks).

SPEC (specs.py, by name; a dict):
  label         file name prefix in DIR
  session       statements run at the start of each round's session
  relations     relations to prewarm and check before each round; or
  relations_query  a query (as the superuser) returning them
  require_frozen   fail unless the tables are all-visible and frozen
  rows          rows each variant reads (per-row costs, rates; --rows)
  variants      [{name, query, setup: [sql...], fn: bench_time|bench_time_su,
                  group, plan: {scan, relation, filter, jit}}]
  report        [{bench, variant, metric, of, minus, unit, baseline, target,
                  family}]; metric: elapsed | cpu | wait_share (of the
                  round's elapsed time) | first (the untimed execution) |
                  per_row (of - minus, ns per row; time: elapsed or cpu) |
                  rate (rows/s) | cpu_rate | cpu_share
"""
import argparse
import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import time

BLOCK = 8192


def die(msg):
    print("stmt_bench: " + msg, file=sys.stderr)
    sys.exit(1)


def say(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def psql(argv, script, what):
    p = subprocess.run(argv + ["-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                       input=script, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        die("%s failed (psql exit %d)" % (what, p.returncode))
    return p.stdout, p.stderr


def dollar(q):
    tag = "$q$"
    assert tag not in q
    return tag + q + tag


def quantile(xs, q):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# ---------------------------------------------------------------------------
# State of the relations

def prepare_relations(spec, rnd):
    rels = spec.get("relations", [])
    if spec.get("relations_query"):
        out, _ = psql(spec["psql_admin"], spec["relations_query"] + ";\n", "listing the relations")
        rels = out.split()
    if not rels:
        return []
    script = "".join("SELECT %s, b.* FROM bench_prewarm(%s) AS b;\n" % (
        "'" + r + "'", "'" + r + "'::regclass") for r in rels)
    out, _ = psql(spec["psql_admin"], script, "prewarm")
    states = []
    for line in out.splitlines():
        rel, blocks, resident, allvis, frozen, relallvis = line.split("|")
        blocks, resident = int(blocks), int(resident)
        st = dict(relation=rel, blocks=blocks, resident=resident,
                  all_visible=None if allvis == "" else int(allvis),
                  all_frozen=None if frozen == "" else int(frozen), relallvisible=int(relallvis))
        states.append(st)
        if resident != blocks:
            die("round %d: %s has %d of its %d blocks in shared buffers after pg_prewarm: "
                "the comparison does not fit (raise BENCH_SHARED_BUFFERS)" % (rnd, rel, resident, blocks))
        frozen = st["all_visible"] == st["all_frozen"] == st["relallvisible"] == blocks
        if spec.get("require_frozen") and st["all_visible"] is not None and not frozen:
            die("round %d: %s is not all-visible and frozen (%s): VACUUM (FREEZE) it first" % (rnd, rel, st))
    return states


# ---------------------------------------------------------------------------
# One round

def exec_sql(v, block, pos):
    parts = []
    setup = v.get("setup", [])
    if setup:
        parts.append("BEGIN;")
        parts.extend(s.rstrip(";") + ";" for s in setup)
    parts.append("SELECT 'X', %s, %d, %d, t.* FROM %s(%s) AS t;" % (
        "'" + v["name"] + "'", block, pos, v.get("fn", "bench_time"), dollar(v["query"])))
    if setup:
        parts.append("COMMIT;")
    return "\n".join(parts) + "\n"


def plan_sql(v):
    parts = ["\\warn PLAN-OF " + v["name"], "BEGIN;"]
    parts.extend(s.rstrip(";") + ";" for s in v.get("setup", []))
    parts.append("SELECT bench_explain_on();")
    parts.append("SELECT 'P', t.result FROM %s(%s) AS t;" % (v.get("fn", "bench_time"), dollar(v["query"])))
    parts.append("COMMIT;")
    return "\n".join(parts) + "\n"


def run_round(spec, rnd, reps, rng):
    variants = spec["variants"]
    script = ["SET client_min_messages = warning;"]
    script.extend(s.rstrip(";") + ";" for s in spec.get("session", []))
    order = []
    for block in range(0, reps + 1):       # block 0: warm-up
        perm = list(range(len(variants)))
        rng.shuffle(perm)
        for pos, i in enumerate(perm):
            order.append((block, pos, i))
            script.append(exec_sql(variants[i], block, pos))
    script.append("SET client_min_messages = notice;")
    for v in variants:
        script.append(plan_sql(v))
    out, err = psql(spec["psql"], "\n".join(script), "round %d" % rnd)
    execs = []
    setups = {}
    for line in out.splitlines():
        f = line.split("|")
        if f[0] == "X":
            execs.append(dict(round=rnd, variant=f[1], block=int(f[2]), pos=int(f[3]),
                              elapsed_us=float(f[4]), cpu_us=float(f[5]), wait_us=float(f[6]),
                              minflt=int(f[7]), rchar=int(f[8]), result=f[9]))
        elif f[0] == "S":
            setups.setdefault(f[1], set()).add(f[2])
    if len(execs) != len(order):
        die("round %d: %d executions reported, %d expected" % (rnd, len(execs), len(order)))
    for v in variants:
        if "setup_expect" in v and setups.get(v["name"]) != {v["setup_expect"]}:
            die("round %d: variant %s: set-up returned %s, expected %s" % (
                rnd, v["name"], sorted(setups.get(v["name"], [])), v["setup_expect"]))
    return execs, parse_plans(err, rnd)


def parse_plans(err, rnd):
    """auto_explain's NOTICEs, by the variant named in the last PLAN-OF marker."""
    plans = {}
    current = None
    buf = None

    def flush():
        if current is not None and buf:
            text = "\n".join(buf)
            start = text.find("{")
            if start >= 0:
                try:
                    plans.setdefault(current, []).append(json.loads(text[start:]))
                except ValueError:
                    die("round %d: cannot parse a plan of %s" % (rnd, current))

    for line in err.splitlines():
        line = re.sub(r"^psql:[^:]*:[0-9]+: ", "", line)
        if line.startswith("PLAN-OF "):
            flush()
            current, buf = line[len("PLAN-OF "):].strip(), None
        elif line.startswith("NOTICE:") and "plan:" in line:
            flush()
            buf = []
        elif line.startswith(("NOTICE:", "WARNING:", "ERROR:", "LOG:")):
            flush()
            buf = None
        elif buf is not None:
            buf.append(line)
    flush()
    return plans


# ---------------------------------------------------------------------------
# Plan checks

def nodes(plan):
    yield plan
    for p in plan.get("Plans", []):
        yield from nodes(p)


def check_plan(v, explained, relblocks, rnd):
    """The plan of v's query among the statements auto_explain logged."""
    mine = [e for e in explained if e.get("Query Text", "").strip() == v["query"].strip()]
    if len(mine) != 1:
        return None, ["%d plans of the query logged, expected 1" % len(mine)]
    e = mine[0]
    want = v.get("plan", {})
    problems = []
    allnodes = list(nodes(e["Plan"]))
    for n in allnodes:
        if n["Node Type"] in ("Gather", "Gather Merge") or n.get("Parallel Aware"):
            problems.append("parallel node %s" % n["Node Type"])
        for k in ("Shared Read Blocks", "Local Read Blocks", "Temp Read Blocks"):
            if n.get(k, 0):
                problems.append("%s: %s = %d (read from outside shared buffers)" % (n["Node Type"], k, n[k]))
    scans = [n for n in allnodes if "Relation Name" in n]
    if want.get("relation"):
        if len(scans) != 1:
            problems.append("%d relation scans, expected 1: %s" % (
                len(scans), [(n["Node Type"], n["Relation Name"]) for n in scans]))
        else:
            s = scans[0]
            if s["Node Type"] != want.get("scan", "Seq Scan"):
                problems.append("scan type %s, expected %s" % (s["Node Type"], want.get("scan", "Seq Scan")))
            if s["Relation Name"] != want["relation"]:
                problems.append("scans %s, expected %s" % (s["Relation Name"], want["relation"]))
            if "filter" in want and bool(s.get("Filter")) != want["filter"]:
                problems.append("filter %r, expected %s" % (s.get("Filter"), "one" if want["filter"] else "none"))
            if s.get("Rows Removed by Filter", 0):
                problems.append("%d rows removed by the filter" % s["Rows Removed by Filter"])
            blocks = relblocks.get(want["relation"])
            if blocks is not None and s.get("Shared Hit Blocks") != blocks:
                problems.append("scan hit %s blocks of the relation's %d" % (s.get("Shared Hit Blocks"), blocks))
            if want.get("rows") is not None and s.get("Actual Rows") != want["rows"]:
                problems.append("scan returned %s rows, expected %d" % (s.get("Actual Rows"), want["rows"]))
    jit = "JIT" in e
    if jit != bool(want.get("jit", False)):
        problems.append("JIT %s, expected %s" % ("used" if jit else "not used", "used" if want.get("jit") else "off"))
    return e, problems


def plan_line(e):
    """one line: the node types, top down, then the scan's filter and buffers"""
    ns = list(nodes(e["Plan"]))
    parts = [" > ".join(n["Node Type"] + (" on " + n["Relation Name"] if "Relation Name" in n else "")
                        for n in ns)]
    for n in ns:
        if "Relation Name" in n:
            parts.append("filter: %s" % n.get("Filter", "none"))
            parts.append("rows %s, shared hit %s read %s" % (
                n.get("Actual Rows"), n.get("Shared Hit Blocks"), n.get("Shared Read Blocks")))
    parts.append("JIT: %s" % ("yes" if "JIT" in e else "no"))
    return "; ".join(parts)


# ---------------------------------------------------------------------------
# Summaries and report lines

def summarize(execs, variants, rounds):
    """per variant: per-round medians etc.; warm-up (block 0) kept apart."""
    out = {}
    for v in variants:
        s = out[v["name"]] = dict(elapsed=[], cpu=[], wait=[], iqr=[], minflt=[], first=[], first_minflt=[])
        for r in rounds:
            mine = [e for e in execs if e["variant"] == v["name"] and e["round"] == r]
            timed = [e for e in mine if e["block"] > 0]
            warm = [e for e in mine if e["block"] == 0]
            el = [e["elapsed_us"] / 1000 for e in timed]
            s["elapsed"].append(statistics.median(el))
            s["cpu"].append(statistics.median(e["cpu_us"] / 1000 for e in timed))
            # wait: the share of the round's elapsed time spent waiting for a CPU
            s["wait"].append(sum(e["wait_us"] for e in timed) / sum(e["elapsed_us"] for e in timed))
            s["iqr"].append((quantile(el, 0.75) - quantile(el, 0.25)) / statistics.median(el) * 100)
            s["minflt"].append(statistics.median(e["minflt"] for e in timed))
            s["first"].append(warm[0]["elapsed_us"] / 1000)
            s["first_minflt"].append(warm[0]["minflt"])
    return out


def report_values(entry, summ, rows):
    m = entry["metric"]
    a = summ[entry["of"]]
    if m == "elapsed":
        return a["elapsed"]
    if m == "cpu":
        return a["cpu"]
    if m == "first":
        return a["first"]
    if m == "wait_share":
        return a["wait"]
    if m == "cpu_share":
        return [c / e for c, e in zip(a["cpu"], a["elapsed"])]
    if m == "rate":
        return [rows / (e / 1000) for e in a["elapsed"]]
    if m == "cpu_rate":
        return [rows / (c / 1000) for c in a["cpu"]]
    if m == "per_row":       # ms over `rows` rows -> ns per row
        key = entry.get("time", "elapsed")
        b = summ[entry["minus"]][key] if entry.get("minus") else [0] * len(a[key])
        return [(x - y) * 1e6 / rows for x, y in zip(a[key], b)]
    raise ValueError("unknown metric %r" % m)


def fmt(x):
    return "%.6g" % x


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--psql", required=True)
    ap.add_argument("--psql-admin", required=True)
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv[1:])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import specs
    spec = specs.SPECS[args.spec]()
    spec["psql"] = shlex.split(args.psql)
    spec["psql_admin"] = shlex.split(args.psql_admin)
    if args.rows is not None:
        spec["rows"] = args.rows
    label = spec["label"]
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    variants = spec["variants"]
    names = [v["name"] for v in variants]
    assert len(set(names)) == len(names)
    os.makedirs(os.path.join(args.out, label + "-plans"), exist_ok=True)
    say("%s: %d variants, %d rounds of %d executions each, after one untimed; order seed %d" % (
        label, len(variants), args.rounds, args.reps, seed))

    execs = []
    problems = []
    relstates = []
    for rnd in range(1, args.rounds + 1):
        states = prepare_relations(spec, rnd)
        relstates.append(states)
        relblocks = {s["relation"]: s["blocks"] for s in states}
        l0 = loadavg()
        t0 = time.time()
        ex, plans = run_round(spec, rnd, args.reps, rng)
        execs.extend(ex)
        # executions: no block read through the OS, same results in a group
        for e in ex:
            if e["block"] > 0 and e["rchar"] >= BLOCK:
                problems.append("round %d: %s (execution %d.%d) read %d bytes from outside shared buffers" % (
                    rnd, e["variant"], e["block"], e["pos"], e["rchar"]))
        groups = {}
        for v in variants:
            res = {e["result"] for e in ex if e["variant"] == v["name"]}
            if len(res) != 1:
                problems.append("round %d: %s returned different results: %s" % (rnd, v["name"], sorted(res)))
            if "expect" in v and res != {v["expect"]}:
                problems.append("round %d: %s returned %s, expected %s" % (rnd, v["name"], sorted(res), v["expect"]))
            groups.setdefault(v.get("group", v["name"]), {}).setdefault(tuple(sorted(res)), []).append(v["name"])
        for g, by in groups.items():
            if len(by) > 1:
                problems.append("round %d: the variants of group %s disagree: %s" % (rnd, g, by))
        # plans
        for v in variants:
            e, pp = check_plan(v, plans.get(v["name"], []), relblocks, rnd)
            for p in pp:
                problems.append("round %d: plan of %s: %s" % (rnd, v["name"], p))
            if e is not None and rnd == 1:
                say("  plan of %-14s %s" % (v["name"], plan_line(e)))
            if e is not None and (rnd in (1, args.rounds) or pp):
                with open(os.path.join(args.out, label + "-plans", "%s.round%d.json" % (v["name"], rnd)), "w") as f:
                    json.dump(e, f, indent=1)
        rs = summarize(ex, variants, [rnd])
        say("%s round %d/%d: %.0f s, load %s -> %s; median ms (cpu): %s" % (
            label, rnd, args.rounds, time.time() - t0, l0, loadavg(),
            "; ".join("%s %.1f (%.1f)" % (n, rs[n]["elapsed"][0], rs[n]["cpu"][0]) for n in names)))
        if problems:
            break

    with open(os.path.join(args.out, label + "-executions.tsv"), "w") as f:
        cols = ["round", "block", "pos", "variant", "elapsed_us", "cpu_us", "wait_us", "minflt", "rchar", "result"]
        f.write("\t".join(cols) + "\n")
        for e in execs:
            f.write("\t".join(str(e[c]) for c in cols) + "\n")
    with open(os.path.join(args.out, label + "-relations.json"), "w") as f:
        json.dump(relstates, f, indent=1)
    if problems:
        for p in problems[:40]:
            print("stmt_bench: UNSOUND: " + p, file=sys.stderr)
        if len(problems) > 40:
            print("stmt_bench: ... and %d more" % (len(problems) - 40), file=sys.stderr)
        die("%s: the comparison is unsound (above); no result reported" % label)

    rounds = list(range(1, args.rounds + 1))
    summ = summarize(execs, variants, rounds)
    say("%s: per variant, over the rounds: median of the per-round medians; in brackets "
        "the rounds' min..max; IQR = the executions' interquartile range within a round "
        "(median over rounds) over their median; wait = run-queue wait share" % label)
    for n in names:
        s = summ[n]
        say("  %-34s %8.2f ms [%.2f..%.2f]  cpu %8.2f ms  IQR %4.1f%%  wait %4.1f%%  faults %5.0f"
            "  first in session %8.2f ms (%d faults)" % (
                n, statistics.median(s["elapsed"]), min(s["elapsed"]), max(s["elapsed"]),
                statistics.median(s["cpu"]), statistics.median(s["iqr"]),
                100 * statistics.median(s["wait"]),
                statistics.median(s["minflt"]), statistics.median(s["first"]),
                statistics.median(s["first_minflt"])))
    # what the untimed first executions paid for touching shared buffers
    # for the first time in their session (page faults)
    per_fault = []
    per_mb = []
    for e in execs:
        if e["block"] == 0 and e["minflt"] > 1000:
            timed = [x["cpu_us"] for x in execs
                     if x["variant"] == e["variant"] and x["round"] == e["round"] and x["block"] > 0]
            extra = e["cpu_us"] - statistics.median(timed)
            per_fault.append(extra / e["minflt"])
            per_mb.append((e["minflt"], extra))
    if per_fault:
        say("  first touch: %d untimed executions took over 1000 page faults each (a new backend's first "
            "touch of shared buffers: %d faults, %.0f ms of CPU more than their variant's median in all); "
            "%.1f us of CPU per fault (median; range %.1f..%.1f)" % (
                len(per_fault), sum(f for f, _ in per_mb), sum(x for _, x in per_mb) / 1000,
                statistics.median(per_fault), min(per_fault), max(per_fault)))
    with open(os.path.join(args.out, label + "-summary.json"), "w") as f:
        json.dump(dict(seed=seed, rounds=args.rounds, reps=args.reps, summary=summ), f, indent=1)
    with open(args.results, "a") as f:
        for entry in spec.get("report", []):
            vals = report_values(entry, summ, spec.get("rows", 1))
            f.write("\t".join([entry["bench"], entry["variant"], entry["unit"], " ".join(fmt(x) for x in vals),
                               entry.get("baseline", "-"), entry.get("target", "-"),
                               entry.get("family", entry["bench"])]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
