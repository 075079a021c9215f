#!/usr/bin/env python3
"""Verify a chain of roots over many logs, written from docs/FORMAT.md
section 19 alone (not from contrib/governance-verify's code): each root's
signature under the root key, its Merkle root, the chain (seq, prev, time),
the registry complete, every head signed by its log's key under its log id,
heads only moving forward, and each head held by its log's bundle (checked
by verify_ledger.py --bundle --checkpoint HEAD --log-id LOG).

    verify_root.py --registry REG --key ROOTPUB --bundle NAME=FILE ... ROOT...

Exit 0 verified, 1 a problem (printed as "FAILED: ..."), 2 bad input.
python3-nacl for Ed25519, hashlib for SHA3-512.
"""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import nacl.exceptions
import nacl.signing

NULL = struct.pack(">I", 0xFFFFFFFF)


def field(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def f_int(v):
    return field(struct.pack(">q", v))


def sha3(b):
    return hashlib.sha3_512(b).digest()


def key_id(pk):
    return hashlib.blake2b(field("governance.v1.key-id") + field(pk), digest_size=64).digest()[:8].hex()


def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha3(field("governance.v1.root-node") + field(mth(leaves[:k])) + field(mth(leaves[k:])))


class Bad(Exception):
    pass


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def parse_root(path):
    try:
        lines = open(path, encoding="ascii").read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise Bad("cannot read root %s: %s" % (path, e))
    if lines and lines[-1] == "":
        lines.pop()
    it = iter(lines)

    def want(word, n=1):
        t = next(it, "").split(" ")
        if t[0] != word or len(t) != n + 1:
            raise Bad("root %s: bad %s line" % (path, word))
        return t[1:]
    try:
        if next(it, None) != "governance-root 1":
            raise Bad("root %s: not a root" % path)
        r = {"path": path, "seq": int(want("seq")[0]), "sealed_at": int(want("sealed_at_us")[0])}
        p = want("prev")[0]
        r["prev"] = None if p == "-" else bytes.fromhex(p)
        n = int(want("logs")[0])
        r["heads"] = []
        for _ in range(n):
            t = want("head", 8)
            r["heads"].append({"log_id": bytes.fromhex(t[0]), "block_id": int(t[1]),
                               "block_hash": bytes.fromhex(t[2]), "last_seq": int(t[3]),
                               "total_rows": int(t[4]), "sealed_at_us": int(t[5]),
                               "key_id": t[6], "signature": bytes.fromhex(t[7])})
        r["merkle"] = bytes.fromhex(want("merkle_root")[0])
        r["key_id"] = want("key_id")[0]
        r["signature"] = bytes.fromhex(want("signature")[0])
        if next(it, None) is not None:
            raise Bad("root %s: text after the signature" % path)
    except ValueError as e:
        raise Bad("root %s: %s" % (path, e))
    return r


def checkpoint_bytes(h):
    return (field("governance.v2.checkpoint") + field(h["log_id"]) + f_int(h["block_id"])
            + field(h["block_hash"]) + f_int(h["last_seq"]) + f_int(h["total_rows"])
            + f_int(h["sealed_at_us"]) + field(h["key_id"]))


def leaf(h):
    return sha3(field("governance.v1.root-leaf") + field(h["log_id"]) + f_int(h["block_id"])
                + field(h["block_hash"]) + f_int(h["last_seq"]) + f_int(h["total_rows"])
                + f_int(h["sealed_at_us"]) + field(h["key_id"]) + field(h["signature"]))


def root_bytes(r):
    return (field("governance.v1.root") + f_int(r["seq"]) + f_int(r["sealed_at"])
            + (NULL if r["prev"] is None else field(r["prev"])) + f_int(len(r["heads"]))
            + field(r["merkle"]) + field(r["key_id"]))


def root_hash(r):
    return sha3(field("governance.v1.root-hash") + root_bytes(r) + field(r["signature"]))


def ok_sig(pk, sig, msg):
    try:
        nacl.signing.VerifyKey(pk).verify(msg, sig)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True)
    ap.add_argument("--key", required=True, help="the root public key, 64 hex digits or a file")
    ap.add_argument("--bundle", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("roots", nargs="+")
    a = ap.parse_args()
    try:
        k = a.key if len(a.key) == 64 else open(a.key).read().strip()
        root_pk = bytes.fromhex(k)
        if len(root_pk) != 32:
            raise ValueError("not 32 bytes")
        reg = {}
        for n, line in enumerate(open(a.registry).read().split("\n"), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            t = line.split()
            if len(t) != 3:
                raise Bad("registry line %d: want NAME LOG_ID KEY" % n)
            pk = t[2] if len(t[2]) == 64 else open(t[2]).read().strip()
            reg[bytes.fromhex(t[1].replace("-", ""))] = {"name": t[0], "pk": bytes.fromhex(pk)}
        bundles = {}
        for b in a.bundle:
            name, _, path = b.partition("=")
            bundles[name] = path
        for v in reg.values():
            if v["name"] not in bundles:
                raise Bad("no --bundle for log %s" % v["name"])
        roots = [parse_root(p) for p in a.roots]
    except (Bad, ValueError, OSError) as e:
        print("bad input: %s" % e, file=sys.stderr)
        sys.exit(2)

    vl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verify_ledger.py")
    rid = key_id(root_pk)
    seen = []
    for i, r in enumerate(roots):
        if r["key_id"] != rid or not ok_sig(root_pk, r["signature"], root_bytes(r)):
            fail("root %s (seq %d): not signed by the root key" % (r["path"], r["seq"]))
        want = mth([leaf(h) for h in r["heads"]]) if r["heads"] else bytes(64)
        if want != r["merkle"]:
            fail("root %s (seq %d): the Merkle root does not match its heads" % (r["path"], r["seq"]))
        h = root_hash(r)
        if h in seen:
            fail("an old root replayed: root %s (seq %d) was already seen" % (r["path"], r["seq"]))
        if i > 0:
            p = roots[i - 1]
            if r["seq"] <= p["seq"]:
                fail("roots reordered: root %s has seq %d after seq %d" % (r["path"], r["seq"], p["seq"]))
            if r["seq"] != p["seq"] + 1 or r["prev"] != seen[-1] or r["sealed_at"] < p["sealed_at"]:
                fail("broken root chain: root %s (seq %d)" % (r["path"], r["seq"]))
        seen.append(h)
        ids = [x["log_id"] for x in r["heads"]]
        if ids != sorted(set(ids)):
            fail("root seq %d: heads not sorted by log id (or a log twice)" % r["seq"])
        for lid in ids:
            if lid not in reg:
                fail("root seq %d names log %s, which is not in the registry" % (r["seq"], lid.hex()))
        for lid, v in sorted(reg.items()):
            hd = next((x for x in r["heads"] if x["log_id"] == lid), None)
            if hd is None:
                fail("registry incomplete: log %s is left out of root seq %d" % (v["name"], r["seq"]))
            if hd["key_id"] != key_id(v["pk"]) or not ok_sig(v["pk"], hd["signature"], checkpoint_bytes(hd)):
                fail("root seq %d: the head of log %s is not signed by its key under its log id" % (r["seq"], v["name"]))
            if i > 0:
                ph = next((x for x in roots[i - 1]["heads"] if x["log_id"] == lid), None)
                if ph and (hd["block_id"] < ph["block_id"] or
                           (hd["block_id"] == ph["block_id"] and hd["block_hash"] != ph["block_hash"])):
                    fail("log %s went back between root seq %d and %d" % (v["name"], roots[i - 1]["seq"], r["seq"]))
            cp = {"version": 2, "log_id": lid.hex(), "block_id": hd["block_id"],
                  "block_hash": hd["block_hash"].hex(), "last_seq": hd["last_seq"],
                  "total_rows": hd["total_rows"], "sealed_at_us": hd["sealed_at_us"],
                  "key_id": hd["key_id"], "signature": hd["signature"].hex()}
            with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
                json.dump(cp, f)
                f.flush()
                pr = subprocess.run([sys.executable, vl, "--bundle", "--pin", v["pk"].hex(),
                                     "--checkpoint", f.name, "--log-id", lid.hex(), bundles[v["name"]]],
                                    capture_output=True, text=True)
            if pr.returncode != 0:
                fail("log %s against its head in root seq %d: %s" % (
                    v["name"], r["seq"], (pr.stdout + pr.stderr).strip().split("\n")[-1]))
    print("OK: %d roots (seq %d to %d) over %d logs" % (len(roots), roots[0]["seq"], roots[-1]["seq"], len(reg)))


if __name__ == "__main__":
    main()
