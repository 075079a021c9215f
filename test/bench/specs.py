"""The comparisons stmt_bench.py runs (test/bench/run.sh): variants, the
plan each must get, and the lines each puts in the results table.

Targets (report.py): "ratio<=X" etc. are the project's targets; "gate>=1"
(this variant does strictly more work than its baseline, so it must not be
faster beyond the noise), "gate<=1" (the same for a rate) and "gate=1"
(the same work: equal within the noise) are the sanity gate.  A failed
gate makes the run unsound: report.py then prints no PASS or MISS for the
family and exits 2.
"""

ROWS = 1000000
ACCOUNT = "account = 'Account::\"0\"'"

# Set-ups run in the execution's transaction before the timed statement;
# a line "S|variant|value" is checked against setup_expect.
ATTACH1 = ("SELECT 'S', '{name}', count(governance.attach(artifact)) "
           "FROM bench_scan_leases WHERE resource = 0")
# eight leases, the one covering every row (resource 0) attached last:
# authorized_resources() lists it last, the most comparisons per row (in
# the sub-select form of bench_scan_old; lease_covers() hashes)
ATTACH8 = ("SELECT 'S', '{name}', count(governance.attach(artifact)) "
           "FROM (SELECT artifact FROM bench_scan_leases WHERE resource < 8 ORDER BY resource DESC) AS s")
# issue 14, item 2: 64 leases, the one covering every row attached last
ATTACH64 = ("SELECT 'S', '{name}', count(governance.attach(artifact)) "
            "FROM (SELECT artifact FROM bench_scan_leases ORDER BY resource DESC) AS s")
# issue 14, item 1: one subtree lease over 10,000 entities, Account::"0" among them
ATTACHSUB = "SELECT 'S', '{name}', count(governance.attach(artifact)) FROM bench_scan_subtree"

QUERIES = {"count": "SELECT count(*) FROM {t}{w}", "sum": "SELECT sum(amount) FROM {t}{w}"}


JIT_ON = ["SET LOCAL jit = on", "SET LOCAL jit_above_cost = 0"]


def rls_variant(name, q, table, where=False, attach=None, expect=None, fn="bench_time", jit=False):
    v = dict(name=name, query=QUERIES[q].format(t=table, w=(" WHERE " + ACCOUNT) if where else ""),
             fn=fn, group=q,
             plan=dict(scan="Seq Scan", relation=table, rows=ROWS, jit=jit,
                       # a filter: written by hand, or row-level security's
                       filter=bool(where or attach)))
    setup = []
    if attach:
        setup.append(attach.format(name=name))
        v["setup_expect"] = expect
    if jit:
        setup += JIT_ON
    if setup:
        v["setup"] = setup
    return v


def rls_variants():
    vs = []
    for q in ("count", "sum"):
        vs += [
            rls_variant("plain." + q, q, "bench_scan_plain"),
            rls_variant("hand." + q, q, "bench_scan_plain", where=True),
            rls_variant("gov1." + q, q, "bench_scan_gov", attach=ATTACH1, expect="1"),
            rls_variant("gov8." + q, q, "bench_scan_gov", attach=ATTACH8, expect="8"),
            rls_variant("gov64." + q, q, "bench_scan_gov", attach=ATTACH64, expect="64"),
            rls_variant("govsub." + q, q, "bench_scan_gov", attach=ATTACHSUB, expect="1"),
            rls_variant("old1." + q, q, "bench_scan_old", attach=ATTACH1, expect="1"),
            rls_variant("old8." + q, q, "bench_scan_old", attach=ATTACH8, expect="8"),
            rls_variant("su." + q, q, "bench_scan_gov", fn="bench_time_su"),
            rls_variant("wplain." + q, q, "bench_wide_plain"),
            rls_variant("whand." + q, q, "bench_wide_plain", where=True),
            rls_variant("wgov1." + q, q, "bench_wide_gov", attach=ATTACH1, expect="1"),
            # JIT forced on for this transaction (SET LOCAL): at the
            # default jit_above_cost (100000) none of these plans would be
            # compiled (their costs: in the saved plans)
            rls_variant("jplain." + q, q, "bench_scan_plain", jit=True),
            rls_variant("jhand." + q, q, "bench_scan_plain", where=True, jit=True),
            rls_variant("jgov1." + q, q, "bench_scan_gov", attach=ATTACH1, expect="1", jit=True),
        ]
    # A/A: the bare scan again, as a variant of its own: its ratio to the
    # bare scan is what the harness can resolve
    vs.append(dict(rls_variant("plain.count", "count", "bench_scan_plain"), name="again.count"))
    return vs


PLAIN = "ungoverned twin"
HAND = "ungoverned twin, WHERE " + ACCOUNT
GOV1 = "governed, 1 lease"
GOV8 = "governed, 8 leases (covering one last)"
GOV64 = "governed, 64 leases (covering one last)"
GOVSUB = "governed, 1 subtree lease over 10,000 entities"
OLD1 = "governed by 0.1's sub-select form, 1 lease"
OLD8 = "governed by 0.1's sub-select form, 8 leases (covering one last)"
SU = "governed, superuser (RLS bypassed)"
AGAIN = "ungoverned twin again (A/A)"


def rls_report():
    r = []

    def add(bench, variant, metric, of, unit, baseline="-", target="-", minus=None, time="elapsed"):
        e = dict(bench=bench, variant=variant, metric=metric, of=of, unit=unit, baseline=baseline,
                 target=target, family="rls")
        if minus:
            e["minus"] = minus
        if metric == "per_row":
            e["time"] = time
        r.append(e)

    for q, qname in (("count", "count(*)"), ("sum", "sum(amount)")):
        for wide in (False, True):
            w = "w" if wide else ""
            b = "rls scan %s%s" % (qname, ", 10 columns" if wide else "")
            p, h, g = w + "plain." + q, w + "hand." + q, w + "gov1." + q
            add(b, PLAIN, "elapsed", p, "ms")
            if q == "count" and not wide:
                add(b, AGAIN, "elapsed", "again.count", "ms", PLAIN, "gate=1")
            add(b, HAND, "elapsed", h, "ms", PLAIN, "gate>=1")
            add(b, GOV1, "elapsed", g, "ms", PLAIN, "ratio<=1.3")
            add(b, GOV1, "elapsed", g, "ms", HAND, "gate>=1")
            if not wide:
                add(b, GOV8, "elapsed", "gov8." + q, "ms", GOV1, "gate>=1")
                add(b, GOV8, "elapsed", "gov8." + q, "ms", PLAIN)
                # issue 14, item 2: the per-row cost independent of the leases
                add(b, GOV64, "elapsed", "gov64." + q, "ms", GOV1, "ratio<=1.2")
                add(b, GOV64, "elapsed", "gov64." + q, "ms", PLAIN)
                # issue 14, item 1: and of the size of a subtree
                add(b, GOVSUB, "elapsed", "govsub." + q, "ms", GOV1, "ratio<=1.2")
                add(b, GOVSUB, "elapsed", "govsub." + q, "ms", PLAIN)
                # issue 15, item 6: the sub-select form against lease_covers()
                add(b, OLD1, "elapsed", "old1." + q, "ms", PLAIN)
                add(b, GOV1, "elapsed", g, "ms", OLD1)
                add(b, OLD8, "elapsed", "old8." + q, "ms", OLD1, "gate>=1")
                add(b, GOV8, "elapsed", "gov8." + q, "ms", OLD8)
                add(b, SU, "elapsed", "su." + q, "ms", PLAIN, "gate=1")
            add(b, PLAIN + ": CPU", "cpu", p, "ms CPU")
            add(b, HAND + ": CPU", "cpu", h, "ms CPU", PLAIN + ": CPU", "gate>=1")
            add(b, GOV1 + ": CPU", "cpu", g, "ms CPU", HAND + ": CPU", "gate>=1")
            add(b, GOV1 + ": CPU", "cpu", g, "ms CPU", PLAIN + ": CPU")
            if not wide:
                add(b, GOV8 + ": CPU", "cpu", "gov8." + q, "ms CPU", GOV1 + ": CPU", "gate>=1")
                # issue 14, items 1 and 2, issue 15, item 6, in CPU time (a
                # loaded machine's run-queue waits do not blur it)
                add(b, GOV64 + ": CPU", "cpu", "gov64." + q, "ms CPU", GOV1 + ": CPU", "ratio<=1.2")
                add(b, GOVSUB + ": CPU", "cpu", "govsub." + q, "ms CPU", GOV1 + ": CPU", "ratio<=1.2")
                add(b, OLD1 + ": CPU", "cpu", "old1." + q, "ms CPU")
                add(b, GOV1 + ": CPU", "cpu", g, "ms CPU", OLD1 + ": CPU")
                add(b, OLD8 + ": CPU", "cpu", "old8." + q, "ms CPU", OLD1 + ": CPU", "gate>=1")
            if not wide:
                add(b, PLAIN + ": run-queue wait share", "wait_share", p, "wait/elapsed")
            add(b, "per row: the bare scan", "per_row", p, "ns/row")
            if q == "count" and not wide:
                # what a per-row difference can be resolved to
                add(b, "per row: the bare scan again over the bare scan (A/A)", "per_row", "again.count",
                    "ns/row", minus=p)
            add(b, "per row: hand filter over the bare scan", "per_row", h, "ns/row", minus=p)
            add(b, "per row: RLS over the bare scan", "per_row", g, "ns/row", minus=p)
            add(b, "per row: RLS over the hand filter", "per_row", g, "ns/row", minus=h)
            add(b, "per row: RLS over the hand filter, CPU", "per_row", g, "ns/row", minus=h, time="cpu")
            if not wide:
                add(b, "per row: 8 leases over 1 lease", "per_row", "gov8." + q, "ns/row", minus=g)
                add(b, "per row: 64 leases over 1 lease", "per_row", "gov64." + q, "ns/row", minus=g)
                add(b, "per row: a 10,000-entity subtree over 1 lease", "per_row", "govsub." + q, "ns/row",
                    minus=g)
                add(b, "per row: 1 lease, lease_covers() over the sub-select", "per_row", g, "ns/row",
                    minus="old1." + q)
                add(b, "per row: 8 leases in the sub-select form over 1", "per_row", "old8." + q, "ns/row",
                    minus="old1." + q)
    # strictly more work across the tables and queries
    b = "rls scan, cross-checks"
    add(b, "ungoverned twin count(*)", "elapsed", "plain.count", "ms")
    add(b, "ungoverned twin sum(amount)", "elapsed", "plain.sum", "ms", "ungoverned twin count(*)", "gate>=1")
    add(b, "ungoverned twin count(*), 10 columns", "elapsed", "wplain.count", "ms",
        "ungoverned twin count(*)", "gate>=1")
    add(b, "hand filter count(*)", "elapsed", "hand.count", "ms")
    add(b, "hand filter sum(amount)", "elapsed", "hand.sum", "ms", "hand filter count(*)", "gate>=1")
    return r


def rls_jit_report(r):
    for q, qname in (("count", "count(*)"), ("sum", "sum(amount)")):
        b = "rls scan %s, JIT forced (jit_above_cost = 0)" % qname
        for name, of, base, target in (
                (PLAIN, "jplain", "-", "-"), (HAND, "jhand", PLAIN, "gate>=1"), (GOV1, "jgov1", PLAIN, "-"),
                (GOV1, "jgov1", HAND, "gate>=1"),
                (PLAIN + ": CPU", "jplain", "-", "-"), (HAND + ": CPU", "jhand", PLAIN + ": CPU", "gate>=1"),
                (GOV1 + ": CPU", "jgov1", HAND + ": CPU", "gate>=1")):
            r.append(dict(bench=b, variant=name, metric="cpu" if "CPU" in name else "elapsed",
                          of=of + "." + q, unit="ms CPU" if "CPU" in name else "ms",
                          baseline=base, target=target, family="rls"))
        r.append(dict(bench=b, variant="per row: RLS over the hand filter", metric="per_row", time="elapsed",
                      of="jgov1." + q, minus="jhand." + q, unit="ns/row", family="rls"))
        # JIT against the interpreter, same query
        for name, of in ((PLAIN, "plain"), (HAND, "hand"), (GOV1, "gov1")):
            r.append(dict(bench=b, variant=name + ", JIT off", metric="elapsed", of=of + "." + q, unit="ms",
                          family="rls"))
            r.append(dict(bench=b, variant=name + ", JIT forced", metric="elapsed", of="j" + of + "." + q,
                          unit="ms", baseline=name + ", JIT off", family="rls"))
    return r


RLS_RELATIONS = ["bench_scan_plain", "bench_scan_gov", "bench_wide_plain", "bench_wide_gov", "bench_scan_old"]
PINNED = ["SET max_parallel_workers_per_gather = 0"]
# Every variant of the RLS scan reads the heap sequentially.  With the
# visibility map set, count(*) over the ten-column twin would otherwise read
# its primary key instead (an index-only scan: 2,736 blocks instead of
# 17,242), which no filtered variant can do: a different plan, not a
# per-row cost.
SEQ_ONLY = ["SET enable_indexonlyscan = off", "SET enable_indexscan = off", "SET enable_bitmapscan = off"]


def rls():
    return dict(label="rls", rows=ROWS, relations=RLS_RELATIONS, require_frozen=True,
                session=PINNED + SEQ_ONLY + ["SET jit = off"],
                variants=rls_variants(), report=rls_jit_report(rls_report()))


# verify_ledger() against a scan of the same rows in the same order that
# hashes nothing (every column deformed), as the superuser.
VERIFY_Q = "SELECT v.ok::text || ' ' || v.rows_checked FROM governance.verify_ledger() AS v"
SCAN_Q = ("SELECT 'true ' || count(*) || CASE WHEN sum(pg_column_size(s.*)) > 0 THEN '' END FROM ("
          "SELECT seq, at, kind, lease_id, principal, action, resource, payload, actor, txid, "
          "prev_seq, evidence, link FROM governance.ledger ORDER BY seq OFFSET 0) AS s")


# the ledger, its blocks, their indexes and TOAST tables
VERIFY_RELATIONS = """SELECT c.oid::regclass FROM pg_class AS c
 WHERE c.oid IN ('governance.ledger'::regclass, 'governance.ledger_blocks'::regclass)
    OR c.oid IN (SELECT reltoastrelid FROM pg_class
                  WHERE oid IN ('governance.ledger'::regclass, 'governance.ledger_blocks'::regclass))
    OR c.oid IN (SELECT indexrelid FROM pg_index AS i JOIN pg_class AS t ON t.oid = i.indrelid
                  WHERE t.oid IN ('governance.ledger'::regclass, 'governance.ledger_blocks'::regclass)
                     OR t.oid IN (SELECT reltoastrelid FROM pg_class
                                   WHERE oid IN ('governance.ledger'::regclass, 'governance.ledger_blocks'::regclass)))
 ORDER BY 1"""


def verify():
    vs = [dict(name="verify", query=VERIFY_Q, group="rows"),
          dict(name="scan", query=SCAN_Q, group="rows")]
    b = "verify"
    rep = [
        dict(bench=b, variant="verify_ledger()", metric="rate", of="verify", unit="rows/s", target=">=200000"),
        dict(bench=b, variant="scan, no hashing", metric="rate", of="scan", unit="rows/s"),
        dict(bench=b, variant="verify_ledger()", metric="rate", of="verify", unit="rows/s",
             baseline="scan, no hashing", target="gate<=1"),
        dict(bench=b, variant="verify_ledger() per CPU-second", metric="cpu_rate", of="verify", unit="rows/s",
             target=">=200000"),
        dict(bench=b, variant="scan per CPU-second", metric="cpu_rate", of="scan", unit="rows/s"),
        dict(bench=b, variant="verify_ledger() per CPU-second", metric="cpu_rate", of="verify", unit="rows/s",
             baseline="scan per CPU-second", target="gate<=1"),
        dict(bench=b, variant="verify_ledger() CPU share of its backend", metric="cpu_share", of="verify",
             unit="cpu/elapsed"),
    ]
    for e in rep:
        e["family"] = "verify"
    return dict(label="verify", relations_query=VERIFY_RELATIONS, session=PINNED + ["SET jit = off"],
                variants=vs, report=rep)


SPECS = dict(rls=rls, verify=verify)
