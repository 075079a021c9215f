#!/usr/bin/python3
"""An agent's side of proof of possession, written from docs/FORMAT.md
section 13 alone (not from src/pop_codec.c): the signed request message
and the proof text.  Ed25519 is the `cryptography` package's (OpenSSL),
not libsodium, so the server's check is tested against an independent
signer.  Importable (test/system/lib/pop.py) and a command:

  pop_sign.py pubkey SEED_HEX                        -> public key, hex
  pop_sign.py sign SEED_HEX JSON                     -> proof text
     JSON: {"op", "server_key_id", "nonce" (hex), and as the op needs:
            "principal", "action", "resource", "context" (a JSON object),
            "ttl_us", "lease_id", "measurement" (hex), "artifact",
            "session", "new_key" (hex)}
"""
import base64
import hashlib
import json
import struct
import sys
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

TAG = "governance.v1.pop-request"


def field(b):
    """Section 1: len:u32 big-endian || bytes; NULL is 0xFFFFFFFF."""
    if b is None:
        return b"\xff\xff\xff\xff"
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def int64(v):
    return None if v is None else struct.pack(">q", v)


def canonical_json(v):
    """Section 4, for the values tests use (objects, arrays, strings,
    integers, booleans, null)."""
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
        return "{" + ",".join(canonical_json(k) + ":" + canonical_json(x) for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical_json(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        out = []
        for ch in v:
            o = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch in "\b\f\n\r\t":
                out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
            elif o < 0x20:
                out.append("\\u%04x" % o)
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    raise ValueError("unsupported JSON value %r" % (v,))


def message(r):
    ctx = r.get("context")
    ctx_hash = None if ctx is None else hashlib.sha3_512(canonical_json(ctx).encode("utf-8")).digest()
    art = r.get("artifact")
    art_hash = None if art is None else hashlib.sha3_512(art.encode("utf-8")).digest()
    meas = r.get("measurement")
    lease = r.get("lease_id")
    newk = r.get("new_key")
    sess = r.get("session")
    return b"".join([
        field(TAG),
        field(r["op"]),
        field(r["server_key_id"]),
        field(bytes.fromhex(r["nonce"])),
        field(r.get("principal")),
        field(r.get("action")),
        field(r.get("resource")),
        field(ctx_hash),
        field(int64(r.get("ttl_us"))),
        field(None if lease is None else uuid.UUID(lease).bytes),
        field(None if meas is None else bytes.fromhex(meas)),
        field(art_hash),
        field(int64(None if sess is None else (1 if sess else 0))),
        field(None if newk is None else bytes.fromhex(newk)),
    ])


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def key(seed_hex):
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def pubkey(seed_hex):
    return key(seed_hex).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def proof(seed_hex, r):
    sig = key(seed_hex).sign(message(r))
    return "pop1." + b64url(bytes.fromhex(r["nonce"])) + "." + b64url(sig)


if __name__ == "__main__":
    if sys.argv[1] == "pubkey":
        print(pubkey(sys.argv[2]))
    elif sys.argv[1] == "sign":
        print(proof(sys.argv[2], json.loads(sys.argv[3])))
    else:
        sys.exit("usage: pop_sign.py pubkey SEED | sign SEED JSON")
