#!/usr/bin/python3
"""The RLS scan's numbers of one or more runs of test/bench/run.sh, side by
side, as the markdown table docs/BENCHMARKS.md and the README carry.

    rls_table.py BENCH_OUT [BENCH_OUT ...]

BENCH_OUT: a run's directory (results.tsv, run.log, report.txt).  Ratios
are medians of per-round ratios [min..max], as report.py computes them;
"noise" is the baseline's interquartile range over its median.
"""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

PLAIN = "ungoverned twin"
HAND = "ungoverned twin, WHERE account = 'Account::\"0\"'"
GOV1 = "governed, 1 lease"
GOV8 = "governed, 8 leases (covering one last)"
SU = "governed, superuser (RLS bypassed)"
AGAIN = "ungoverned twin again (A/A)"
BENCHES = [("count(*)", "rls scan count(*)"), ("sum(amount)", "rls scan sum(amount)"),
           ("count(*), 10 columns", "rls scan count(*), 10 columns"),
           ("sum(amount), 10 columns", "rls scan sum(amount), 10 columns")]


def load(d):
    rows = {}
    for line in open(os.path.join(d, "results.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) < 6:
            continue
        rows.setdefault((f[0], f[1]), [float(x) for x in f[3].split()])
    log = open(os.path.join(d, "run.log")).read()
    loads = [float(x) for a, b in re.findall(r"rls round \d+/\d+: \d+ s, load ([0-9.]+) -> ([0-9.]+)", log)
             for x in (a, b)]
    m = re.search(r"== code: (\S+)", log)
    started = re.search(r"started ([0-9-]+ [0-9:]+ UTC)", log)
    gate = "passed" if re.search(r"^sanity gate.*\n  passed", log, re.M) else (
        "FAILED" if "UNSOUND" in log else "n/a")
    return dict(rows=rows, loads=loads, code=m.group(1) if m else "?", gate=gate,
                started=started.group(1) if started else "?")


def ratio(run, bench, var, base):
    v, b = run["rows"].get((bench, var)), run["rows"].get((bench, base))
    if not v or not b:
        return "-"
    rs = [x / y for x, y in zip(v, b)]
    return "%.2f [%.2f..%.2f]" % (statistics.median(rs), min(rs), max(rs))


def value(run, bench, var, fmt="%.1f"):
    v = run["rows"].get((bench, var))
    if not v:
        return "-"
    return (fmt + " [" + fmt + ".." + fmt + "]") % (statistics.median(v), min(v), max(v))


def noise(run, bench, var):
    v = run["rows"].get((bench, var))
    return "-" if not v else "%.1f%%" % (report.noise(v) * 100)


def main(argv):
    runs = [load(d) for d in argv[1:]]
    head = ["measure"] + ["run %d" % (i + 1) for i in range(len(runs))]
    out = [head, ["---"] * len(head)]

    def row(label, f):
        out.append([label] + [f(r) for r in runs])

    row("code", lambda r: r["code"])
    row("started", lambda r: r["started"])
    row("load average during the rounds", lambda r: "%.2f..%.2f" % (min(r["loads"]), max(r["loads"]))
        if r["loads"] else "-")
    row("sanity gate", lambda r: r["gate"])
    for name, b in BENCHES:
        row("**%s**: bare scan, ms (CPU ms)" % name,
            lambda r, b=b: "%s (%s)" % (value(r, b, PLAIN), value(r, b, PLAIN + ": CPU")))
        row("%s: noise of the bare scan (CPU)" % name,
            lambda r, b=b: "%s (%s)" % (noise(r, b, PLAIN), noise(r, b, PLAIN + ": CPU")))
        row("%s: hand filter / bare (CPU)" % name,
            lambda r, b=b: "%s (%s)" % (ratio(r, b, HAND, PLAIN), ratio(r, b, HAND + ": CPU", PLAIN + ": CPU")))
        row("%s: RLS, 1 lease / bare (CPU); target <= 1.3" % name,
            lambda r, b=b: "%s (%s)" % (ratio(r, b, GOV1, PLAIN), ratio(r, b, GOV1 + ": CPU", PLAIN + ": CPU")))
        row("%s: RLS, 1 lease / hand filter (CPU)" % name,
            lambda r, b=b: "%s (%s)" % (ratio(r, b, GOV1, HAND), ratio(r, b, GOV1 + ": CPU", HAND + ": CPU")))
        if "10 columns" not in name:
            row("%s: RLS, 8 leases / 1 lease (CPU)" % name,
                lambda r, b=b: "%s (%s)" % (ratio(r, b, GOV8, GOV1), ratio(r, b, GOV8 + ": CPU", GOV1 + ": CPU")))
            row("%s: superuser (RLS bypassed) / bare" % name, lambda r, b=b: ratio(r, b, SU, PLAIN))
        if name == "count(*)":
            row("%s: A/A, the bare scan again / bare" % name, lambda r, b=b: ratio(r, b, AGAIN, PLAIN))
        for label, var in (("ns/row: the bare scan", "per row: the bare scan"),
                           ("ns/row: hand filter over bare", "per row: hand filter over the bare scan"),
                           ("ns/row: RLS over bare", "per row: RLS over the bare scan"),
                           ("ns/row: RLS over hand filter", "per row: RLS over the hand filter"),
                           ("ns/row: RLS over hand filter, CPU", "per row: RLS over the hand filter, CPU"),
                           ("ns/row: 8 leases over 1", "per row: 8 leases over 1 lease"),
                           ("ns/row: A/A (resolution)", "per row: the bare scan again over the bare scan (A/A)")):
            if any((b, var) in r["rows"] for r in runs):
                row("%s: %s" % (name, label), lambda r, b=b, var=var: value(r, b, var))
    for q in ("count(*)", "sum(amount)"):
        b = "rls scan %s, JIT forced (jit_above_cost = 0)" % q
        row("**%s, JIT forced**: hand filter / bare (CPU)" % q,
            lambda r, b=b: "%s (%s)" % (ratio(r, b, HAND, PLAIN), ratio(r, b, HAND + ": CPU", PLAIN + ": CPU")))
        row("%s, JIT forced: RLS, 1 lease / bare" % q, lambda r, b=b: ratio(r, b, GOV1, PLAIN))
        row("%s, JIT forced: RLS, 1 lease / hand filter (CPU)" % q,
            lambda r, b=b: "%s (%s)" % (ratio(r, b, GOV1, HAND), ratio(r, b, GOV1 + ": CPU", HAND + ": CPU")))
        for name in (PLAIN, HAND, GOV1):
            short = {PLAIN: "bare", HAND: "hand filter", GOV1: "RLS, 1 lease"}[name]
            row("%s: %s, JIT forced / JIT off" % (q, short),
                lambda r, b=b, name=name: ratio(r, b, name + ", JIT forced", name + ", JIT off"))
    for line in out:
        print("| " + " | ".join(line) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
