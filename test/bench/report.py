#!/usr/bin/python3
"""Print the results table of test/bench/run.sh.

Input: a tab-separated file, one line per reported measure:

    benchmark  variant  unit  values  baseline  target

values   one number per round, space-separated, in round order
baseline the variant (same benchmark) this one is compared with, or "-";
         the ratio is taken round by round (each round's value over the
         baseline's value in the same round, measured minutes apart), and
         the median of those per-round ratios is reported
target   "-", "ratio>=X", "ratio<=X", ">=X", "<=X", ">X" or "<X" (on the
         median; "inf", a run stopped unfinished, fails every upper bound)

Output: benchmark, variant, median, spread (min..max and the range as a
percentage of the median), ratio to baseline (median of per-round ratios,
with their min..max), target, PASS/MISS; then the raw values per round.
Exit status 1 when a target is missed.

    report.py results.tsv [--markdown]
"""
import math
import statistics
import sys


def fmt(v, unit):
    if math.isinf(v):
        return "inf"
    if unit == "s":
        return "%.3f" % v
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return "%.2f" % v


def check(op_value, value):
    if op_value.startswith(">="):
        return value >= float(op_value[2:])
    if op_value.startswith("<="):
        return value <= float(op_value[2:])
    if op_value.startswith(">"):
        return value > float(op_value[1:])
    if op_value.startswith("<"):
        return value < float(op_value[1:])
    raise ValueError("bad target %r" % op_value)


def main(argv):
    path = argv[1]
    markdown = "--markdown" in argv
    rows = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        bench, variant, unit, values, baseline, target = line.split("\t")
        vals = [float(x) for x in values.split()]
        rows.append(dict(bench=bench, variant=variant, unit=unit, vals=vals,
                         baseline=baseline, target=target))
    index = {}
    for r in rows:
        index.setdefault((r["bench"], r["variant"]), r)

    table = []
    missed = 0
    for r in rows:
        vals = r["vals"]
        med = statistics.median(vals)
        lo, hi = min(vals), max(vals)
        rng = (hi - lo) / med * 100 if med and not math.isinf(hi) else float("nan")
        spread = "%s..%s (%s)" % (fmt(lo, r["unit"]), fmt(hi, r["unit"]),
                                  "n/a" if math.isnan(rng) else "%.0f%%" % rng)
        ratio_s = "-"
        ratio = None
        if r["baseline"] != "-":
            base = index[(r["bench"], r["baseline"])]["vals"]
            ratios = [v / b for v, b in zip(vals, base) if b]
            ratio = statistics.median(ratios)
            ratio_s = "%.2f [%.2f..%.2f] vs %s" % (ratio, min(ratios), max(ratios), r["baseline"])
        result = ""
        target = r["target"]
        if target != "-":
            if target.startswith("ratio"):
                ok = ratio is not None and check(target[5:], ratio)
            else:
                ok = check(target, med)
            result = "PASS" if ok else "MISS"
            missed += not ok
        table.append([r["bench"], r["variant"], "%s %s" % (fmt(med, r["unit"]), r["unit"]),
                      spread, ratio_s, target, result])

    head = ["benchmark", "variant", "median", "spread (min..max, range)", "ratio to baseline", "target", "result"]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for t in table:
            print("| " + " | ".join(t) + " |")
    else:
        widths = [max(len(x[i]) for x in table + [head]) for i in range(len(head))]
        for t in [head] + table:
            print("  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip())

    print()
    print("raw values per round:")
    for r in rows:
        print("  %s / %s: %s" % (r["bench"], r["variant"],
                                 " ".join(fmt(v, r["unit"]) for v in r["vals"])))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
