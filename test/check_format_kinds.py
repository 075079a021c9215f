#!/usr/bin/env python3
"""Every ledger event kind the extension writes is specified in docs/FORMAT.md.

Finds the kinds in src/*.c: string literals of the reserved namespace
("governance" or "governance.<segments>", section 5's grammar) passed where
an event is made -- gov_ledger_append_system(), gov_security_event(),
gov_security_event_prepare(), ledger_decision(), an assignment to a
".kind" or a "kind" variable, or a conditional expression choosing one --
and checks that each appears in FORMAT.md's table of kinds (section 15)
as `kind`, either whole or as a `.suffix` of the row before it
(`governance.policy.created`, `.replaced`).  Also fails when it finds
fewer kinds than a floor (so a change to how events are written cannot
make it pass by finding nothing).  Exits 1 naming each missing kind.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
KIND = r'"(governance(?:\.[a-z][a-z0-9_-]*)*)"'
CALLS = [
    r'gov_ledger_append_system\(\s*' + KIND,
    r'gov_security_event(?:_prepare)?\(\s*' + KIND,
    r'ledger_decision\(\s*' + KIND,
    r'\.kind\s*=\s*' + KIND,
    r'\bkind\s*=\s*' + KIND,
    r'[?:]\s*' + KIND,
]
FLOOR = 25


def kinds_in_sources():
    found = {}
    src = os.path.join(ROOT, "src")
    for name in sorted(os.listdir(src)):
        if not name.endswith(".c"):
            continue
        text = open(os.path.join(src, name), encoding="utf-8").read()
        for pat in CALLS:
            for m in re.finditer(pat, text):
                k = m.group(1)
                if k.startswith("governance.v1"):
                    continue
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(k, f"src/{name}:{line}")
    return found


def kinds_in_doc():
    doc = open(os.path.join(ROOT, "docs", "FORMAT.md"), encoding="utf-8").read()
    m = re.search(r"^## 15\. Every event kind$(.*?)^## ", doc, re.S | re.M)
    if not m:
        sys.exit("docs/FORMAT.md has no section 15 (Every event kind)")
    kinds = set()
    for row in m.group(1).splitlines():
        if not row.startswith("| `"):
            continue
        first = row.split("|")[1]
        names = re.findall(r"`([a-z0-9_.-]+)`", first)
        base = None
        for n in names:
            if n.startswith("."):
                kinds.add(base.rsplit(".", 1)[0] + n)
            else:
                base = n
                kinds.add(n)
    return kinds


def main():
    src = kinds_in_sources()
    doc = kinds_in_doc()
    missing = sorted(k for k in src if k not in doc)
    for k in missing:
        print(f"{src[k]}: kind {k} is not in docs/FORMAT.md, section 15")
    if len(src) < FLOOR:
        print(f"only {len(src)} kinds found in src/ (expected at least {FLOOR}): has the way events are written changed?")
        return 1
    if missing:
        return 1
    print(f"{len(src)} kinds written by src/, each specified in docs/FORMAT.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
