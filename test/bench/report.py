#!/usr/bin/python3
"""Print the results table of test/bench/run.sh.

Input: a tab-separated file, one line per reported measure:

    benchmark  variant  unit  values  baseline  target  [family]

values   one number per round, space-separated, in round order (for the
         statement benchmarks: each round's median of many executions)
baseline the variant (same benchmark) this one is compared with, or "-";
         the ratio is taken round by round (each round's value over the
         baseline's value in the same round), and the median of those
         per-round ratios is reported
target   "-", a target: "ratio>=X", "ratio<=X", ">=X", "<=X", ">X", "<X"
         (on the median; "inf", a run stopped unfinished, fails every upper
         bound), or a sanity gate:
           gate>=1  this variant does strictly more work than the baseline
                    (a filtered scan against the same scan unfiltered): it
                    must not be faster beyond the noise
           gate<=1  the same for a rate (rows/s: it must not be higher)
           gate=1   the same work: the ratio must be 1 within the noise
family   the verdicts a failed gate voids (default: the benchmark)

Noise.  A variant's spread is the range of its per-round values over their
median; its noise, their interquartile range over their median (robust to
one disturbed round, as the medians are).  Next to every ratio the table
shows the baseline's noise: the machine's noise as this run measured it.  A
gate allows a deviation of the larger of the two variants' noises, and at
least 1%.

Verdicts.  PASS or MISS when every round's value (or ratio) is on the same
side of the target as the median; UNSURE when the rounds straddle it (the
target lies within the noise).  When a gate of a family fails, its rows
print "unsound" instead of a verdict.

Output: benchmark, variant, median, spread (min..max, range), ratio to the
baseline (median of the per-round ratios, [min..max]), the baseline's
noise, target, result; then the gates and the raw values per round.
Exit status: 2 when a sanity gate failed, else 1 when a target is missed
or undecided, else 0.

    report.py results.tsv [--markdown]
"""
import math
import statistics
import sys

GATE_FLOOR = 0.01


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


def spread(vals):
    """range over median, as a fraction (nan when undefined)"""
    med = statistics.median(vals)
    if not med or any(math.isinf(v) for v in vals):
        return float("nan")
    return (max(vals) - min(vals)) / abs(med)


def quantile(xs, q):
    xs = sorted(xs)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def noise(vals):
    """interquartile range over median, as a fraction (nan when undefined):
    robust to one disturbed round, unlike the range"""
    med = statistics.median(vals)
    if not med or any(math.isinf(v) for v in vals):
        return float("nan")
    return (quantile(vals, 0.75) - quantile(vals, 0.25)) / abs(med)


def pct(x):
    return "n/a" if math.isnan(x) else "%.1f%%" % (x * 100)


def main(argv):
    path = argv[1]
    markdown = "--markdown" in argv
    rows = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        bench, variant, unit, values, baseline, target = f[:6]
        family = f[6] if len(f) > 6 else bench
        vals = [float(x) for x in values.split()]
        rows.append(dict(bench=bench, variant=variant, unit=unit, vals=vals,
                         baseline=baseline, target=target, family=family))
    index = {}
    for r in rows:
        index.setdefault((r["bench"], r["variant"]), r)

    # ratios and gates first: a failed gate voids its family's verdicts
    unsound = {}
    gates = []
    for r in rows:
        r["ratios"] = None
        if r["baseline"] != "-":
            base = index[(r["bench"], r["baseline"])]
            r["base_noise"] = noise(base["vals"])
            r["ratios"] = [v / b for v, b in zip(r["vals"], base["vals"]) if b]
            r["ratio"] = statistics.median(r["ratios"]) if r["ratios"] else float("nan")
        t = r["target"]
        if t.startswith("gate"):
            margin = max([GATE_FLOOR] + [x for x in (r["base_noise"], noise(r["vals"])) if not math.isnan(x)])
            q = r["ratio"]
            if t == "gate>=1":
                ok = q >= 1 - margin
                rule = "ratio >= %.3f" % (1 - margin)
            elif t == "gate<=1":
                ok = q <= 1 + margin
                rule = "ratio <= %.3f" % (1 + margin)
            elif t == "gate=1":
                ok = abs(q - 1) <= margin
                rule = "|ratio - 1| <= %.3f" % margin
            else:
                raise ValueError("bad gate %r" % t)
            r["gate_ok"] = ok
            gates.append((r, rule, ok))
            if not ok:
                unsound.setdefault(r["family"], []).append(r)

    table = []
    missed = 0
    for r in rows:
        vals = r["vals"]
        med = statistics.median(vals)
        lo, hi = min(vals), max(vals)
        sp = spread(vals)
        spread_s = "%s..%s (%s)" % (fmt(lo, r["unit"]), fmt(hi, r["unit"]), pct(sp))
        ratio_s = noise_s = "-"
        if r["ratios"] is not None:
            ratio_s = "%.3f [%.3f..%.3f] vs %s" % (r["ratio"], min(r["ratios"]), max(r["ratios"]), r["baseline"])
            noise_s = pct(r["base_noise"])
        result = ""
        target = r["target"]
        if target.startswith("gate"):
            result = "sound" if r["gate_ok"] else "UNSOUND"
        elif target != "-":
            if r["family"] in unsound:
                result = "unsound"
            else:
                if target.startswith("ratio"):
                    per_round, value, op = r["ratios"] or [], r["ratio"], target[5:]
                else:
                    per_round, value, op = vals, med, target
                ok = check(op, value)
                if all(check(op, x) == ok for x in per_round):
                    result = "PASS" if ok else "MISS"
                else:
                    result = "UNSURE"
                missed += result != "PASS"
        table.append([r["bench"], r["variant"], "%s %s" % (fmt(med, r["unit"]), r["unit"]),
                      spread_s, ratio_s, noise_s, target, result])

    head = ["benchmark", "variant", "median", "spread (min..max, range)", "ratio to baseline [rounds]",
            "noise", "target", "result"]
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
    print("noise: the baseline's interquartile range over its median (per-round values)")

    if gates:
        print()
        print("sanity gate (%d checks): a variant doing strictly more work may not be faster than its"
              " baseline beyond the noise (the larger of the two, at least %.0f%%):"
              % (len(gates), GATE_FLOOR * 100))
        for r, rule, ok in gates:
            if not ok:
                print("  UNSOUND  %s / %s vs %s: ratio %.3f, needs %s" % (
                    r["bench"], r["variant"], r["baseline"], r["ratio"], rule))
        if unsound:
            print("  FAILED: no verdict is printed for %s" % ", ".join(sorted(unsound)))
        else:
            print("  passed")

    print()
    print("raw values per round:")
    for r in rows:
        print("  %s / %s: %s" % (r["bench"], r["variant"],
                                 " ".join(fmt(v, r["unit"]) for v in r["vals"])))
    if unsound:
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
