#!/usr/bin/python3
"""Offline verifier of a governance authorization artifact, written from
docs/FORMAT.md section 9 (and the field encoding of section 1, the key id of
section 2, the policy-set hash length of section 8) alone.

It imports nothing from the project: only the Python standard library and an
Ed25519 implementation (python3-nacl, or else python3-cryptography).  The only
thing it trusts is a public key: given as hex, or picked by key id from an
export of governance.signing_keys.

    verify_artifact.py --public-key HEX [--now T] ARTIFACT
    verify_artifact.py --keys KEYS.json [--key-id ID] [--now T] ARTIFACT
    verify_artifact.py --decode ARTIFACT        structure only, no key, no clock

ARTIFACT is the artifact text, or @FILE, or - for stdin (one trailing newline
is ignored).  KEYS.json is either the export made by verify_ledger.py
--export-sql (its "keys" list), or a JSON array of signing_keys rows, e.g.
`psql -XAtc "SELECT json_agg(k) FROM governance.signing_keys k"`; every key's
id is recomputed from its public key.  With --key-id the artifact must name
that key; without it, the key the artifact names is looked up.  --now (Unix
microseconds, or ISO 8601 with a time zone) replaces the clock.

Checks, in this order (section 9): the gov1. prefix, exactly two further
parts, strict unpadded base64url with zero trailing bits, a 64-byte
signature, the payload's fields (tag "governance.v1.artifact", exactly 13
claims, or 14 with agent_key_id (section 13), nothing after them) and each claim's type and length, the claims'
consistency, the key, expires_at against the clock (before the signature,
which costs more), then the Ed25519 signature over the payload bytes.

Exit status 0: the claims are printed as one JSON object on stdout and an
"OK: ..." line on stderr.  1: "FAILED: <reason>" on stdout.  2: bad usage or
an unreadable key file.
"""

import argparse
import datetime
import hashlib
import json
import re
import struct
import sys
import time

# ---------------------------------------------------------------------------
# Ed25519 verification: python3-nacl, or python3-cryptography.

try:
    import nacl.exceptions
    import nacl.signing

    def ed25519_verify(signature, message, public_key):
        if len(signature) != 64 or len(public_key) != 32:
            return False
        try:
            nacl.signing.VerifyKey(public_key).verify(message, signature)
            return True
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError,
                nacl.exceptions.TypeError):
            return False
    ED25519_IMPL = "python3-nacl"
except ImportError:  # pragma: no cover - depends on the machine
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def ed25519_verify(signature, message, public_key):
        if len(signature) != 64 or len(public_key) != 32:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False
    ED25519_IMPL = "python3-cryptography"

# ---------------------------------------------------------------------------
# Section 1: fields.  Section 2: key ids.

NULL_LEN = 0xFFFFFFFF
PREFIX = "gov1."
TAG = b"governance.v1.artifact"
TAG_KEY_ID = b"governance.v1.key-id"


def field(b):
    """len:u32 big-endian || bytes; None is the NULL field."""
    if b is None:
        return struct.pack(">I", NULL_LEN)
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def i64(v):
    return struct.pack(">q", v)


def key_id_of(public_key):
    return hashlib.blake2b(field(TAG_KEY_ID) + field(public_key),
                           digest_size=64).digest()[:8].hex()


class Invalid(Exception):
    """The artifact does not verify; the message says why."""


class BadUsage(Exception):
    """Options or a key file that cannot be used."""


# ---------------------------------------------------------------------------
# base64url, RFC 4648 section 5, no padding, canonical (section 9).

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
B64VAL = {c: i for i, c in enumerate(B64)}


def b64url_encode(b):
    out = []
    for i in range(0, len(b), 3):
        chunk = b[i:i + 3]
        v = int.from_bytes(chunk + b"\0" * (3 - len(chunk)), "big")
        chars = [B64[(v >> s) & 63] for s in (18, 12, 6, 0)]
        out.append("".join(chars[:len(chunk) + 1]))
    return "".join(out)


def b64url_decode(s, what):
    """Strict: the alphabet only, no padding, no length that no encoding has,
    and unused trailing bits zero, so one byte string has one text."""
    if len(s) % 4 == 1:
        raise Invalid("%s: %d characters is not a base64url length" % (what, len(s)))
    acc = 0
    bits = 0
    out = bytearray()
    for i, c in enumerate(s):
        v = B64VAL.get(c)
        if v is None:
            raise Invalid("%s: character %r at offset %d is not base64url (RFC 4648 "
                          "section 5, unpadded)" % (what, c, i))
        acc = (acc << 6) | v
        bits += 6
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
            acc &= (1 << bits) - 1
    if acc != 0:
        raise Invalid("%s: non-canonical base64url (unused trailing bits are not zero)" % what)
    b = bytes(out)
    assert b64url_encode(b) == s
    return b


# ---------------------------------------------------------------------------
# Section 9: the payload.

# (name, kind, length or None, nullable)
CLAIMS = (
    ("key_id", "keyid", 16, False),
    ("lease_id", "uuid", 16, False),
    ("parent", "uuid", 16, True),
    ("principal", "text", None, False),
    ("action", "text", None, False),
    ("resource", "text", None, False),
    ("context_sha3_512", "bytes", 64, False),
    # section 8: BLAKE2b-512 of the policy set, 64 bytes
    ("policy_set_hash", "bytes", 64, False),
    ("measurement", "bytes", None, True),
    ("issued_at", "timestamp", 8, False),
    ("expires_at", "timestamp", 8, False),
    ("max_expiry", "timestamp", 8, False),
    ("depth", "int64", 8, False),
)

def read_fields(payload):
    """Split a message into fields; None for a NULL field."""
    fields = []
    pos = 0
    while pos < len(payload):
        if len(payload) - pos < 4:
            raise Invalid("payload: %d stray bytes after field %d (not a length prefix)"
                          % (len(payload) - pos, len(fields)))
        (n,) = struct.unpack(">I", payload[pos:pos + 4])
        pos += 4
        if n == NULL_LEN:
            fields.append(None)
            continue
        if n > len(payload) - pos:
            raise Invalid("payload: field %d says %d bytes but %d remain (truncated)"
                          % (len(fields), n, len(payload) - pos))
        fields.append(payload[pos:pos + n])
        pos += n
    return fields


def us_to_iso(us):
    try:
        dt = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(microseconds=us)
    except OverflowError:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decode(text):
    """Structure and claims; returns (claims dict, payload bytes, signature)."""
    if not isinstance(text, str):
        raise Invalid("not text")
    if not text.startswith(PREFIX):
        raise Invalid("not an artifact: it does not start with the version prefix %r "
                      "(the only version)" % PREFIX)
    parts = text[len(PREFIX):].split(".")
    if len(parts) < 2:
        raise Invalid("truncated: no signature part (expected gov1.<payload>.<signature>)")
    if len(parts) > 2:
        raise Invalid("%d parts after the prefix, expected 2 (gov1.<payload>.<signature>)"
                      % len(parts))
    payload = b64url_decode(parts[0], "payload")
    signature = b64url_decode(parts[1], "signature")
    if len(signature) != 64:
        raise Invalid("signature is %d bytes, an Ed25519 signature is 64" % len(signature))
    if not payload:
        raise Invalid("payload is empty")

    fields = read_fields(payload)
    if fields[0] != TAG:
        raise Invalid("payload does not start with the tag %r" % TAG.decode())
    # section 9: a 14th claim, agent_key_id, follows for an agent with a key
    # (section 13); never NULL when present
    agent_key_id = None
    if len(fields) - 1 == len(CLAIMS) + 1:
        v = fields[-1]
        if v is None or not re.fullmatch(rb"[0-9a-f]{16}", v):
            raise Invalid("claim agent_key_id is not 16 lowercase hex characters: %r" % (v,))
        agent_key_id = v.decode("ascii")
        fields = fields[:-1]
    if len(fields) - 1 != len(CLAIMS):
        raise Invalid("payload holds %d claims, expected %d (or %d with agent_key_id)"
                      % (len(fields) - 1, len(CLAIMS), len(CLAIMS) + 1))

    claims = {}
    raw = {}
    for (name, kind, length, nullable), v in zip(CLAIMS, fields[1:]):
        raw[name] = v
        if v is None:
            if not nullable:
                raise Invalid("claim %s is NULL" % name)
            claims[name] = None
            continue
        if length is not None and len(v) != length:
            raise Invalid("claim %s is %d bytes, expected %d" % (name, len(v), length))
        if kind == "keyid":
            s = v.decode("ascii", "replace")
            if not re.fullmatch(r"[0-9a-f]{16}", s):
                raise Invalid("claim key_id is not 16 lowercase hex characters: %r" % v)
            claims[name] = s
        elif kind == "uuid":
            h = v.hex()
            claims[name] = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
        elif kind == "text":
            try:
                s = v.decode("utf-8")
            except UnicodeDecodeError:
                raise Invalid("claim %s is not valid UTF-8" % name)
            if s == "":
                raise Invalid("claim %s is empty" % name)
            claims[name] = s
        elif kind == "bytes":
            claims[name] = v.hex()
        elif kind in ("timestamp", "int64"):
            (n,) = struct.unpack(">q", v)
            if kind == "timestamp":
                claims[name + "_us"] = n
                iso = us_to_iso(n)
                if iso is None:
                    raise Invalid("claim %s (%d us) is not a representable time" % (name, n))
                claims[name] = iso
            else:
                claims[name] = n
    # FORMAT.md section 9: principal, action and resource are entity uids
    # (Type::"id", Type possibly namespaced); the action's type is free.
    for name in ("principal", "action", "resource"):
        if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*::"(?:[^"\\]|\\.)*"',
                            claims[name], re.S):
            raise Invalid("claim %s is not an entity uid: %r" % (name, claims[name]))
    if claims["depth"] < 0:
        raise Invalid("claim depth is negative (%d)" % claims["depth"])
    if (claims["depth"] == 0) != (claims["parent"] is None):
        raise Invalid("claims parent and depth disagree: depth %d with %s parent"
                      % (claims["depth"], "a" if claims["parent"] else "no"))
    if not claims["issued_at_us"] <= claims["expires_at_us"] <= claims["max_expiry_us"]:
        raise Invalid("claims are inconsistent: issued_at <= expires_at <= max_expiry "
                      "does not hold")
    if agent_key_id is not None:
        claims["agent_key_id"] = agent_key_id
    return claims, payload, signature


# ---------------------------------------------------------------------------
# Keys.

def load_keys(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise BadUsage("cannot read key export %s: %s" % (path, e))
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        data = data["keys"]
    if not isinstance(data, list):
        raise BadUsage("%s: expected a list of keys, or an object with a \"keys\" list" % path)
    keys = {}
    for i, k in enumerate(data):
        if not isinstance(k, dict) or not isinstance(k.get("public_key"), str) \
                or not isinstance(k.get("key_id"), str):
            raise BadUsage("%s: key %d has no key_id and public_key" % (path, i))
        h = k["public_key"]
        h = h[2:] if h.startswith("\\x") else h
        try:
            pk = bytes.fromhex(h)
        except ValueError:
            raise BadUsage("%s: key %s: public_key is not hex" % (path, k["key_id"]))
        if len(pk) != 32:
            raise BadUsage("%s: key %s: public_key is %d bytes, not 32"
                           % (path, k["key_id"], len(pk)))
        if key_id_of(pk) != k["key_id"]:
            raise BadUsage("%s: key %s: the key id is not that of its public key (%s)"
                           % (path, k["key_id"], key_id_of(pk)))
        keys[k["key_id"]] = pk
    return keys


def parse_now(s):
    if s is None:
        return time.time_ns() // 1000
    if re.fullmatch(r"-?[0-9]+", s):
        return int(s)
    try:
        dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise BadUsage("--now: not microseconds or an ISO 8601 time: %r" % s)
    if dt.tzinfo is None:
        raise BadUsage("--now: give a time zone: %r" % s)
    d = dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (d.days * 86400 + d.seconds) * 1000000 + d.microseconds


def verify(text, public_key=None, keys=None, key_id=None, now_us=None):
    """Returns the claims when the artifact verifies, else raises Invalid."""
    claims, payload, signature = decode(text)
    kid = claims["key_id"]
    if public_key is not None:
        pk = public_key
        if key_id_of(pk) != kid:
            raise Invalid("signed by key %s, but the public key given is key %s"
                          % (kid, key_id_of(pk)))
    else:
        if key_id is not None and kid != key_id:
            raise Invalid("signed by key %s, not by key %s" % (kid, key_id))
        pk = keys.get(kid)
        if pk is None:
            raise Invalid("signed by key %s, which is not in the key export" % kid)
    # expiry before the signature, which costs more (section 9)
    if now_us is None:
        now_us = time.time_ns() // 1000
    if claims["expires_at_us"] <= now_us:
        raise Invalid("expired at %s (%.3f s ago)"
                      % (claims["expires_at"], (now_us - claims["expires_at_us"]) / 1e6))
    if not ed25519_verify(signature, payload, pk):
        raise Invalid("bad signature: the payload is not signed by key %s" % kid)
    return claims


def read_artifact(arg):
    try:
        if arg == "-":
            s = sys.stdin.buffer.read()
        elif arg.startswith("@"):
            with open(arg[1:], "rb") as f:
                s = f.read()
        else:
            return arg
    except OSError as e:
        raise BadUsage("cannot read %s: %s" % (arg, e))
    if s.endswith(b"\n"):
        s = s[:-1]
    try:
        return s.decode("ascii")
    except UnicodeDecodeError:
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(description="Verify a governance authorization artifact "
                                 "offline (docs/FORMAT.md section 9).")
    ap.add_argument("artifact", help="the artifact, @FILE, or - for stdin")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--public-key", metavar="HEX", help="the signer's Ed25519 public key")
    g.add_argument("--keys", metavar="FILE", help="an export of governance.signing_keys")
    g.add_argument("--decode", action="store_true",
                   help="check the structure and print the claims; no key, no clock, "
                   "no signature: the claims are NOT verified")
    ap.add_argument("--key-id", help="with --keys: the key that must have signed")
    ap.add_argument("--now", help="the time to check expiry against (Unix us or ISO 8601)")
    a = ap.parse_args(argv)
    try:
        if a.key_id is not None and a.keys is None:
            raise BadUsage("--key-id needs --keys")
        pk = keys = None
        if a.public_key is not None:
            try:
                pk = bytes.fromhex(a.public_key.strip().replace("\\x", "", 1))
            except ValueError:
                raise BadUsage("--public-key is not hex")
            if len(pk) != 32:
                raise BadUsage("--public-key is %d bytes, an Ed25519 public key is 32" % len(pk))
        if a.keys is not None:
            keys = load_keys(a.keys)
            if a.key_id is not None and a.key_id not in keys:
                raise BadUsage("key %s is not in %s" % (a.key_id, a.keys))
        now = parse_now(a.now)
        text = read_artifact(a.artifact)
    except BadUsage as e:
        print("verify_artifact: %s" % e, file=sys.stderr)
        return 2
    try:
        if text is None:
            raise Invalid("not an artifact: the input is not ASCII")
        if a.decode:
            claims = decode(text)[0]
        else:
            claims = verify(text, pk, keys, a.key_id, now)
    except Invalid as e:
        print("FAILED: %s" % e)
        return 1
    print(json.dumps(claims, sort_keys=True))
    if a.decode:
        print("decoded (NOT verified): key %s" % claims["key_id"], file=sys.stderr)
    else:
        print("OK: artifact verified: signed by key %s (Ed25519 by %s), expires %s, in %.3f s"
              % (claims["key_id"], ED25519_IMPL, claims["expires_at"],
                 (claims["expires_at_us"] - now) / 1e6), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
