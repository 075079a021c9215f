#!/usr/bin/python3
"""Standalone verifier of a governance ledger export, written from docs/FORMAT.md alone.

It imports nothing from the project: only the Python standard library (hashlib has
SHA3-512 and BLAKE2b-512) and an Ed25519 implementation (python3-nacl, or else
python3-cryptography).

    verify_ledger.py [--pin HEX] [--checkpoint FILE]... [--allow-unendorsed-keys] EXPORT.json
    verify_ledger.py --export-sql                  print the SQL that makes EXPORT.json
    verify_ledger.py --dump canonical EXPORT.json  "seq<TAB>hex(canonical JSON of payload)"
    verify_ledger.py --dump event EXPORT.json      "seq<TAB>hex(event bytes)"
    verify_ledger.py --dump block|checkpoint EXPORT.json   "block_id<TAB>hex(bytes)"
    verify_ledger.py --canonicalize < FILE         canonical JSON of each input line

EXPORT.json is one JSON object {"rows": [...], "blocks": [...], "keys": [...]} as made
by the query that --export-sql prints (run it with `psql -Atc`).  Exit status 0 when
everything verifies, 1 naming the first problem, 2 on bad usage or unreadable input.
"""

import argparse
import datetime
import decimal
import hashlib
import json
import struct
import sys
import uuid

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
# FORMAT.md section 1: fields.

NULL_FIELD = struct.pack(">I", 0xFFFFFFFF)


def field(b):
    """len:u32 big-endian || bytes; None is the NULL field 0xFFFFFFFF."""
    if b is None:
        return NULL_FIELD
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def i64(v):
    return struct.pack(">q", v)


def f_int(v):
    return NULL_FIELD if v is None else field(i64(v))


def f_text(s):
    return NULL_FIELD if s is None else field(s.encode("utf-8"))


def f_uuid(u):
    if u is None:
        return NULL_FIELD
    b = bytes.fromhex(u.replace("-", ""))
    if len(b) != 16:
        raise ValueError("not a uuid: %r" % u)
    return field(b)


def sha3_512(b):
    return hashlib.sha3_512(b).digest()


def blake2b_512(b):
    return hashlib.blake2b(b, digest_size=64).digest()


# Domain tags (FORMAT.md sections 2, 5, 6, 7).
TAG_KEY_ID = "governance.v1.key-id"
TAG_KEY = "governance.v1.key"
TAG_ENDORSE = "governance.v1.key-endorsement"
TAG_EVENT = "governance.v1.event"
TAG_LINK = "governance.v1.link"
TAG_LEAF = "governance.v1.merkle-leaf"
TAG_NODE = "governance.v1.merkle-node"
TAG_BLOCK = "governance.v1.block"
TAG_CHECKPOINT = "governance.v1.checkpoint"
TAG_BLOCK_V2 = "governance.v2.block"
TAG_CHECKPOINT_V2 = "governance.v2.checkpoint"
TAG_LINEAGE_LEAF = "governance.v2.lineage-leaf"
TAG_LINEAGE_NODE = "governance.v2.lineage-node"
TAG_LINEAGE_EMPTY = "governance.v2.lineage-empty"

# ---------------------------------------------------------------------------
# FORMAT.md section 4: canonical JSON.


class Number:
    """A JSON number kept as its source token."""
    __slots__ = ("token",)

    def __init__(self, token):
        self.token = token


def _reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def _object(pairs):
    obj = {}
    for k, v in pairs:   # duplicates: the last one wins, as jsonb does on input
        obj.pop(k, None)
        obj[k] = v
    return obj


def parse_json(text):
    """Parse JSON text keeping every number's token verbatim."""
    return json.loads(text, parse_float=Number, parse_int=Number,
                      parse_constant=_reject_constant, object_pairs_hook=_object)


def numeric_text(token):
    """A JSON number token as PostgreSQL prints the numeric it becomes: plain decimal
    notation, no exponent, no '+', the scale as stored (digits after the point minus
    the exponent, never below 0), and no minus sign on zero.  On a token PostgreSQL
    printed itself this returns the token unchanged."""
    d = decimal.Decimal(token)
    if not d.is_finite():
        raise ValueError("number %r is not finite" % token)
    s = format(d, "f")            # fixed point, scale max(0, -exponent)
    if d.is_zero() and s.startswith("-"):
        s = s[1:]
    return s


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
            "\r": "\\r", "\t": "\\t"}


def canonical_string(s):
    out = ['"']
    for ch in s:
        e = _ESCAPES.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Number):
        return numeric_text(v.token)
    if isinstance(v, str):
        return canonical_string(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-8"))
        return "{" + ",".join(canonical_string(k) + ":" + canonical(v[k]) for k in keys) + "}"
    raise TypeError("unexpected JSON value %r" % (v,))


def canonical_json_bytes(text):
    """The canonical UTF-8 bytes of a JSON text (strict UTF-8: a lone surrogate fails)."""
    return canonical(parse_json(text)).encode("utf-8")


# ---------------------------------------------------------------------------
# FORMAT.md sections 2, 5, 6, 7: the messages.


def key_id_of(public_key):
    return blake2b_512(field(TAG_KEY_ID) + field(public_key))[:8].hex()


def key_self_message(key_id, public_key, created_at_us):
    return field(TAG_KEY) + f_text(key_id) + field(public_key) + f_int(created_at_us)


def key_endorsement_message(endorsed_by, key_id, public_key, created_at_us):
    return (field(TAG_ENDORSE) + f_text(endorsed_by) + f_text(key_id) + field(public_key)
            + f_int(created_at_us))


def event_bytes(row):
    return (field(TAG_EVENT)
            + f_int(row["seq"])
            + f_int(row["at_us"])
            + f_text(row["kind"])
            + f_uuid(row["lease_id"])
            + f_text(row["principal"])
            + f_text(row["action"])
            + f_text(row["resource"])
            + field(row["payload_canonical"])
            + f_text(row["actor"])
            + f_int(row["txid"])
            + f_int(row["prev_seq"]))


def chain_link(prev_link, evidence):
    return blake2b_512(field(TAG_LINK) + field(prev_link) + field(evidence))


def merkle_leaf(seq, evidence):
    return blake2b_512(field(TAG_LEAF) + f_int(seq) + field(evidence))


def merkle_node(left, right):
    return blake2b_512(field(TAG_NODE) + field(left) + field(right))


def merkle_root(leaves):
    """RFC 6962 MTH over leaf hashes, n >= 1."""
    n = len(leaves)
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return merkle_node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def block_bytes(b):
    gaps = b"".join(i64(lo) + i64(hi) for lo, hi in b["gaps"])
    v2 = b.get("version", 1) >= 2
    return (field(TAG_BLOCK_V2 if v2 else TAG_BLOCK)
            + (field(b["log_id"]) if v2 else b"")
            + f_int(b["block_id"]) + f_int(b["first_seq"]) + f_int(b["last_seq"])
            + f_int(b["row_count"]) + f_int(b["total_rows"])
            + field(gaps)
            + field(b["merkle_root"])
            + (field(b["lineage_root"]) if v2 else b"")
            + field(b["prev_hash"])
            + f_int(b["sealed_at_us"])
            + f_text(b["key_id"]))


def checkpoint_bytes(block_id, block_hash, last_seq, total_rows, sealed_at_us, key_id,
                     version=1, log_id=None):
    v2 = version >= 2
    return (field(TAG_CHECKPOINT_V2 if v2 else TAG_CHECKPOINT)
            + (field(log_id) if v2 else b"")
            + f_int(block_id) + field(block_hash) + f_int(last_seq) + f_int(total_rows)
            + f_int(sealed_at_us) + f_text(key_id))


def lineage_node(left, right):
    return blake2b_512(field(TAG_LINEAGE_NODE) + field(left) + field(right))


def lineage_root(heads):
    """FORMAT.md section 6: heads maps a lease id (16 bytes) to (seq, link) of its
    last row in the block; leaves sorted by lease id; MTH with the lineage node."""
    if not heads:
        return blake2b_512(field(TAG_LINEAGE_EMPTY))
    leaves = [blake2b_512(field(TAG_LINEAGE_LEAF) + field(lease) + f_int(seq) + field(link))
              for lease, (seq, link) in sorted(heads.items())]

    def mth(d):
        if len(d) == 1:
            return d[0]
        k = 1
        while k * 2 < len(d):
            k *= 2
        return lineage_node(mth(d[:k]), mth(d[k:]))
    return mth(leaves)


# ---------------------------------------------------------------------------
# The export.

EXPORT_SQL = r"""
SELECT json_build_object(
  'format', 'governance-ledger-export/1',
  'rows', coalesce((SELECT json_agg(json_build_object(
      'seq', l.seq,
      'at_us', (extract(epoch FROM l.at) * 1000000)::bigint,
      'at', l.at,
      'kind', l.kind,
      'lease_id', l.lease_id,
      'principal', l.principal,
      'action', l.action,
      'resource', l.resource,
      'payload', l.payload::text,
      'actor', l.actor,
      'txid', l.txid::text,
      'prev_seq', l.prev_seq,
      'evidence', encode(l.evidence, 'hex'),
      'link', encode(l.link, 'hex')) ORDER BY l.seq) FROM governance.ledger l), '[]'),
  'blocks', coalesce((SELECT json_agg(json_build_object(
      'block_id', b.block_id,
      'first_seq', b.first_seq,
      'last_seq', b.last_seq,
      'row_count', b.row_count,
      'total_rows', b.total_rows,
      'gaps', b.gaps,
      'merkle_root', encode(b.merkle_root, 'hex'),
      'prev_hash', encode(b.prev_hash, 'hex'),
      'sealed_at_us', (extract(epoch FROM b.sealed_at) * 1000000)::bigint,
      'sealed_at', b.sealed_at,
      'key_id', b.key_id,
      'block_hash', encode(b.block_hash, 'hex'),
      'signature', encode(b.signature, 'hex'),
      'version', b.version,
      'log_id', replace(b.log_id::text, '-', ''),
      'lineage_root', encode(b.lineage_root, 'hex')) ORDER BY b.block_id)
    FROM governance.ledger_blocks b), '[]'),
  'keys', coalesce((SELECT json_agg(json_build_object(
      'key_id', k.key_id,
      'public_key', encode(k.public_key, 'hex'),
      'created_at_us', (extract(epoch FROM k.created_at) * 1000000)::bigint,
      'created_at', k.created_at,
      'retired_at_us', (extract(epoch FROM k.retired_at) * 1000000)::bigint,
      'self_signature', encode(k.self_signature, 'hex'),
      'endorsed_by', k.endorsed_by,
      'endorsement', encode(k.endorsement, 'hex')) ORDER BY k.created_at, k.key_id)
    FROM governance.signing_keys k), '[]'))
""".strip()


class Problem(Exception):
    """The first thing that does not verify."""


class BadInput(Exception):
    """The export is not shaped as expected."""


def hexbytes(v, what, length=None, nullable=False):
    if v is None:
        if nullable:
            return None
        raise BadInput("%s is missing" % what)
    if not isinstance(v, str):
        raise BadInput("%s is not a hex string" % what)
    s = v[2:] if v.startswith("\\x") else v
    try:
        b = bytes.fromhex(s)
    except ValueError:
        raise BadInput("%s is not hex: %r" % (what, v[:40]))
    if length is not None and len(b) != length:
        raise BadInput("%s has %d bytes, expected %d" % (what, len(b), length))
    return b


def integer(v, what, nullable=False):
    if v is None and nullable:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise BadInput("%s is not an integer: %r" % (what, v))
    try:
        n = int(v)
    except ValueError:
        raise BadInput("%s is not an integer: %r" % (what, v))
    if not -(1 << 63) <= n < (1 << 63):
        raise BadInput("%s does not fit in an int64: %r" % (what, v))
    return n


def text(v, what, nullable=False):
    if v is None and nullable:
        return None
    if not isinstance(v, str):
        raise BadInput("%s is not a string: %r" % (what, v))
    return v


def timestamp_us(obj, name, what, nullable=False):
    """Microseconds since the Unix epoch: NAME_us when present, else NAME as ISO 8601."""
    if obj.get(name + "_us") is not None:
        return integer(obj[name + "_us"], what)
    v = obj.get(name)
    if v is None:
        if nullable:
            return None
        raise BadInput("%s is missing" % what)
    try:
        dt = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise BadInput("%s is not a timestamp: %r" % (what, v))
    if dt.tzinfo is None:
        raise BadInput("%s has no time zone: %r" % (what, v))
    delta = dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def load_row(r, i):
    if not isinstance(r, dict):
        raise BadInput("rows[%d] is not an object" % i)
    seq = integer(r.get("seq"), "rows[%d].seq" % i)
    w = "seq %d" % seq
    payload = r.get("payload")
    if not isinstance(payload, str):
        # A payload exported as JSON rather than as jsonb text: its numbers went through
        # the export's own parser; serialise the value as text again and canonicalise.
        payload = json.dumps(payload, ensure_ascii=False)
    try:
        payload_canonical = canonical_json_bytes(payload)
        if "payload_bytes" in r and r["payload_bytes"] != payload_canonical:
            # a bundle carries the hashed bytes themselves: they must be canonical
            raise ValueError("its bytes are not the canonical form of their JSON")
    except (ValueError, TypeError, UnicodeEncodeError, decimal.InvalidOperation) as e:
        raise Problem("%s: payload is not valid JSON: %s" % (w, e))
    return {
        "seq": seq,
        "at_us": timestamp_us(r, "at", w + " at"),
        "kind": text(r.get("kind"), w + " kind"),
        "lease_id": text(r.get("lease_id"), w + " lease_id", nullable=True),
        "principal": text(r.get("principal"), w + " principal", nullable=True),
        "action": text(r.get("action"), w + " action", nullable=True),
        "resource": text(r.get("resource"), w + " resource", nullable=True),
        "payload_canonical": payload_canonical,
        "actor": text(r.get("actor"), w + " actor"),
        "txid": integer(r.get("txid"), w + " txid"),
        "prev_seq": integer(r.get("prev_seq"), w + " prev_seq", nullable=True),
        "evidence": hexbytes(r.get("evidence"), w + " evidence"),
        "link": hexbytes(r.get("link"), w + " link"),
    }


def load_gaps(v, w):
    """gaps as a flat bigint[] {lo1,hi1,lo2,hi2,...} (how governance.ledger_blocks stores
    them), or as a list of [lo, hi] pairs."""
    if not isinstance(v, list):
        raise BadInput("%s gaps is not an array" % w)
    if all(isinstance(x, list) for x in v):
        flat = [y for x in v for y in x]
        if any(len(x) != 2 for x in v):
            raise Problem("%s: gaps has a pair that is not (lo, hi)" % w)
    else:
        flat = v
    if len(flat) % 2:
        raise Problem("%s: gaps has an odd number of bounds" % w)
    nums = [integer(x, w + " gaps") for x in flat]
    return [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]


def load_block(b, i):
    if not isinstance(b, dict):
        raise BadInput("blocks[%d] is not an object" % i)
    bid = integer(b.get("block_id"), "blocks[%d].block_id" % i)
    w = "block %d" % bid
    version = integer(b.get("version", 1), w + " version")
    if version not in (1, 2):
        raise Problem("%s: unknown format version %d" % (w, version))
    if version == 1 and (b.get("log_id") is not None or b.get("lineage_root") is not None):
        raise Problem("%s: a format 1 block has no log id nor lineage root" % w)
    return {
        "block_id": bid,
        "first_seq": integer(b.get("first_seq"), w + " first_seq"),
        "last_seq": integer(b.get("last_seq"), w + " last_seq"),
        "row_count": integer(b.get("row_count"), w + " row_count"),
        "total_rows": integer(b.get("total_rows"), w + " total_rows"),
        "gaps": load_gaps(b.get("gaps"), w),
        "merkle_root": hexbytes(b.get("merkle_root"), w + " merkle_root"),
        "prev_hash": hexbytes(b.get("prev_hash"), w + " prev_hash", nullable=True),
        "sealed_at_us": timestamp_us(b, "sealed_at", w + " sealed_at"),
        "key_id": text(b.get("key_id"), w + " key_id"),
        "block_hash": hexbytes(b.get("block_hash"), w + " block_hash"),
        "signature": hexbytes(b.get("signature"), w + " signature"),
        "version": version,
        "log_id": hexbytes(b.get("log_id"), w + " log_id", 16, nullable=version < 2),
        "lineage_root": hexbytes(b.get("lineage_root"), w + " lineage_root", 64,
                                 nullable=version < 2),
    }


def load_key(k, i):
    if not isinstance(k, dict):
        raise BadInput("keys[%d] is not an object" % i)
    kid = text(k.get("key_id"), "keys[%d].key_id" % i)
    w = "key %s" % kid
    return {
        "key_id": kid,
        "public_key": hexbytes(k.get("public_key"), w + " public_key"),
        "created_at_us": timestamp_us(k, "created_at", w + " created_at"),
        "retired_at_us": timestamp_us(k, "retired_at", w + " retired_at", nullable=True),
        "self_signature": hexbytes(k.get("self_signature"), w + " self_signature"),
        "endorsed_by": text(k.get("endorsed_by"), w + " endorsed_by", nullable=True),
        "endorsement": hexbytes(k.get("endorsement"), w + " endorsement", nullable=True),
    }


def load_export(path):
    try:
        with (sys.stdin if path == "-" else open(path, encoding="utf-8")) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput("cannot read export %s: %s" % (path, e))
    if not isinstance(data, dict):
        raise BadInput("the export is not a JSON object")
    for part in ("rows", "blocks", "keys"):
        if not isinstance(data.get(part), list):
            raise BadInput("the export has no %r array" % part)
    return data


# ---------------------------------------------------------------------------
# Verification.


class Report:
    def __init__(self):
        self.lines = []
        self.warnings = []

    def say(self, s):
        self.lines.append(s)

    def warn(self, s):
        self.warnings.append(s)


def verify_keys(keys, pin, allow_unendorsed, rep):
    """Section 2: key ids, self-signatures, endorsements; returns the trusted keys by id."""
    by_id = {}
    for k in keys:
        kid = k["key_id"]
        if kid in by_id:
            raise Problem("key %s: listed twice" % kid)
        by_id[kid] = k
        if key_id_of(k["public_key"]) != kid:
            raise Problem("key %s: key id does not match its public key (derived %s)"
                          % (kid, key_id_of(k["public_key"])))
        msg = key_self_message(kid, k["public_key"], k["created_at_us"])
        if not ed25519_verify(k["self_signature"], msg, k["public_key"]):
            raise Problem("key %s: self-signature does not verify" % kid)
        if (k["endorsed_by"] is None) != (k["endorsement"] is None):
            raise Problem("key %s: endorsed_by and endorsement must both be set or both NULL"
                          % kid)
    for k in keys:
        if k["endorsed_by"] is None:
            continue
        kid = k["key_id"]
        old = by_id.get(k["endorsed_by"])
        if old is None:
            raise Problem("key %s: endorsed by %s, which is not in the export"
                          % (kid, k["endorsed_by"]))
        msg = key_endorsement_message(old["key_id"], kid, k["public_key"], k["created_at_us"])
        if not ed25519_verify(k["endorsement"], msg, old["public_key"]):
            raise Problem("key %s: endorsement by %s does not verify" % (kid, old["key_id"]))

    if not keys:
        if pin is not None:
            raise Problem("the pinned key is not in the export (no keys at all)")
        return {}
    # The trust anchor: the pinned key, else the oldest key.
    if pin is not None:
        anchors = [k for k in keys if k["public_key"] == pin]
        if not anchors:
            raise Problem("the pinned public key %s is not in the export" % pin.hex())
        anchor = anchors[0]
        rep.say("trust anchor: pinned key %s" % anchor["key_id"])
    else:
        anchor = min(keys, key=lambda k: (k["created_at_us"], k["key_id"]))
        if anchor["endorsed_by"] is not None:
            raise Problem("key %s: the oldest key claims an endorsement by %s"
                          % (anchor["key_id"], anchor["endorsed_by"]))
        rep.say("trust anchor: oldest key %s, public key %s (not pinned: compare it with "
                "the key you trust)" % (anchor["key_id"], anchor["public_key"].hex()))
    roots = [anchor]
    if allow_unendorsed:
        for k in keys:
            if k["endorsed_by"] is None and k is not anchor:
                rep.warn("key %s has no endorsement: the chain of custody from key %s is "
                         "broken (accepted: --allow-unendorsed-keys)"
                         % (k["key_id"], anchor["key_id"]))
                roots.append(k)
    # Follow endorsements from the roots.
    trusted = {k["key_id"]: k for k in roots}
    grew = True
    while grew:
        grew = False
        for k in keys:
            if k["key_id"] not in trusted and k["endorsed_by"] in trusted:
                trusted[k["key_id"]] = k
                grew = True
    for k in keys:
        if k["key_id"] in trusted:
            continue
        if k["endorsed_by"] is None:
            raise Problem("key %s has no endorsement: the chain of custody from key %s is "
                          "broken" % (k["key_id"], anchor["key_id"]))
        raise Problem("key %s is endorsed by %s, which is not endorsed from key %s"
                      % (k["key_id"], k["endorsed_by"], anchor["key_id"]))
    return trusted


def verify_rows(rows, rep, anchors=None):
    """Section 5: order, evidence, prev_seq structure, links.  Returns rows by seq.
    anchors: seq -> the anchor of a row before a bundle that starts after block 1
    (section 12): its lease, kind and link, taken as given."""
    anchors = anchors or {}
    by_seq = {}
    last_of_lease = {}      # lease_id -> seq of that execution's latest row so far
    delegated = 0           # executions whose first event links to a parent's chain
    parent_of = {}          # lease_id -> the parent execution's lease_id
    ended = {}              # lease_id -> (seq, kind) of its revocation or expiry
    prev = None
    for r in rows:
        seq = r["seq"]
        if seq < 1:
            raise Problem("seq %d: seq must be positive" % seq)
        if prev is not None and seq <= prev:
            raise Problem("seq %d: rows not in strictly increasing seq order (after seq %d)"
                          % (seq, prev))
        prev = seq
        ev = sha3_512(event_bytes(r))
        if ev != r["evidence"]:
            raise Problem("seq %d: evidence does not match SHA3-512 of the event bytes "
                          "(row modified)" % seq)
        ps = r["prev_seq"]
        lease = r["lease_id"]
        if lease is None:
            if ps is not None:
                raise Problem("seq %d: an event outside any lease has prev_seq %d" % (seq, ps))
        else:
            if lease in last_of_lease:
                want = last_of_lease[lease]
                if ps != want:
                    raise Problem("seq %d: prev_seq is %s but the execution's preceding row "
                                  "is seq %d" % (seq, "NULL" if ps is None else ps, want))
            elif ps in anchors and anchors[ps]["lease_id"] == lease:
                # an execution going on from a row before the bundle (section 17)
                a = anchors[ps]
                if a["kind"] in ("governance.revoke", "governance.lease.expired"):
                    ended[lease] = (ps, a["kind"])
            elif ps is not None:
                # first event of a delegated execution: it points to its parent's event
                parent = by_seq.get(ps) or anchors.get(ps)
                if parent is None:
                    raise Problem("seq %d: prev_seq %d names no earlier row" % (seq, ps))
                if parent["lease_id"] is None or parent["lease_id"] == lease:
                    raise Problem("seq %d: prev_seq %d of an execution's first event is not "
                                  "an event of another (parent) execution" % (seq, ps))
                # section 5: it is the governance.delegated event that delegate()
                # appended to the parent's chain
                if parent["kind"] != "governance.delegated":
                    raise Problem("seq %d: prev_seq %d of a delegated execution's first event "
                                  "is a %s event, not the parent's governance.delegated event"
                                  % (seq, ps, parent["kind"]))
                delegated += 1
                parent_of[lease] = parent["lease_id"]
            # no write nor delegation after the execution (or an ancestor) ended
            if r["kind"] in ("governance.write", "governance.delegated"):
                x, depth = lease, 0
                while x is not None and depth < 1000:
                    e = ended.get(x)
                    if e is not None and e[0] < seq:
                        raise Problem("%s after the end of its execution: row %d of lease %s follows "
                                      "the %s event at row %d"
                                      % ("a write" if r["kind"] == "governance.write" else "a delegation",
                                         seq, lease, e[1], e[0]))
                    x, depth = parent_of.get(x), depth + 1
            if r["kind"] in ("governance.revoke", "governance.lease.expired") and lease not in ended:
                ended[lease] = (seq, r["kind"])
            last_of_lease[lease] = seq
        if ps is not None and ps not in by_seq and ps not in anchors:
            raise Problem("seq %d: prev_seq %d names no earlier row" % (seq, ps))
        prev_link = None if ps is None else (by_seq[ps] if ps in by_seq else anchors[ps])["link"]
        if chain_link(prev_link, ev) != r["link"]:
            raise Problem("seq %d: link does not match BLAKE2b-512 of the previous link and "
                          "the evidence" % seq)
        by_seq[seq] = r
    rep.say("executions: %d leases with events (%d delegated: first event linked to the "
            "parent's governance.delegated event)" % (len(last_of_lease), delegated))
    return by_seq


def verify_blocks(blocks, by_seq, trusted, all_keys, rep, log_id=None, prior=None):
    """Sections 6 and 7: coverage, gaps, Merkle roots, lineage maps, log ids, block
    hashes, chain, signatures.  log_id: the log expected (else the first v2 block's).
    prior: the header of the block before the first (a bundle after a prune,
    section 17): its hash and signature are checked, its rows are not there."""
    prev_block = None
    total = 0
    if prior is not None:
        w = "block %d" % prior["block_id"]
        if blake2b_512(block_bytes(prior)) != prior["block_hash"]:
            raise Problem("%s: block_hash does not match BLAKE2b-512 of the block bytes" % w)
        key = trusted.get(prior["key_id"])
        if key is None:
            raise Problem("%s: signed by key %s, which is %s" % (
                w, prior["key_id"], "not trusted" if prior["key_id"] in all_keys else "not in the export"))
        msg = checkpoint_bytes(prior["block_id"], prior["block_hash"], prior["last_seq"],
                               prior["total_rows"], prior["sealed_at_us"], prior["key_id"],
                               prior["version"], prior["log_id"])
        if not ed25519_verify(prior["signature"], msg, key["public_key"]):
            raise Problem("%s: signature by key %s does not verify" % (w, prior["key_id"]))
        if prior["version"] >= 2:
            if log_id is None:
                log_id = prior["log_id"]
            elif prior["log_id"] != log_id:
                raise Problem("%s belongs to another log: it names log %s, expected log %s"
                              % (w, prior["log_id"].hex(), log_id.hex()))
        prev_block = prior
        total = prior["total_rows"]
    gap_seqs = 0
    covered = set()
    for b in blocks:
        bid = b["block_id"]
        w = "block %d" % bid
        want_id = 1 if prev_block is None else prev_block["block_id"] + 1
        if bid != want_id:
            raise Problem("%s: expected block %d next (blocks missing or out of order)"
                          % (w, want_id))
        want_first = 1 if prev_block is None else prev_block["last_seq"] + 1
        if b["first_seq"] != want_first:
            raise Problem("%s: first_seq is %d, expected %d" % (w, b["first_seq"], want_first))
        if b["last_seq"] < b["first_seq"]:
            raise Problem("%s: last_seq %d is before first_seq %d"
                          % (w, b["last_seq"], b["first_seq"]))
        # gaps: sorted, disjoint, inclusive, inside the range
        in_gap = set()
        last_hi = None
        for lo, hi in b["gaps"]:
            if lo > hi or lo < b["first_seq"] or hi > b["last_seq"]:
                raise Problem("%s: gap (%d, %d) is not inside %d..%d"
                              % (w, lo, hi, b["first_seq"], b["last_seq"]))
            if last_hi is not None and lo <= last_hi:
                raise Problem("%s: gaps are not sorted and disjoint at (%d, %d)" % (w, lo, hi))
            last_hi = hi
            in_gap.update(range(lo, hi + 1))
        gap_seqs += len(in_gap)
        leaves = []
        heads = {}
        for seq in range(b["first_seq"], b["last_seq"] + 1):
            if seq in in_gap:
                if seq in by_seq:
                    raise Problem("seq %d: present in the ledger but listed as a gap of %s"
                                  % (seq, w))
                continue
            r = by_seq.get(seq)
            if r is None:
                raise Problem("seq %d: missing from the ledger but covered by %s (row removed)"
                              % (seq, w))
            leaves.append(merkle_leaf(seq, r["evidence"]))
            if r["lease_id"] is not None:
                heads[bytes.fromhex(r["lease_id"].replace("-", ""))] = (seq, r["link"])
            covered.add(seq)
        if b["row_count"] != len(leaves):
            raise Problem("%s: row_count is %d but the range holds %d rows"
                          % (w, b["row_count"], len(leaves)))
        total += len(leaves)
        if b["total_rows"] != total:
            raise Problem("%s: total_rows is %d, expected %d" % (w, b["total_rows"], total))
        if not leaves:
            raise Problem("%s: holds no rows; FORMAT.md defines no Merkle root for that" % w)
        if merkle_root(leaves) != b["merkle_root"]:
            raise Problem("%s: merkle_root does not match the rows' evidence" % w)
        if prev_block is not None and b["version"] < prev_block["version"]:
            raise Problem("%s: format version %d after version %d"
                          % (w, b["version"], prev_block["version"]))
        if b["version"] >= 2:
            if log_id is None:
                log_id = b["log_id"]
            elif b["log_id"] != log_id:
                raise Problem("%s belongs to another log: it names log %s, expected log %s"
                              % (w, b["log_id"].hex(), log_id.hex()))
            if lineage_root(heads) != b["lineage_root"]:
                raise Problem("%s: its lineage map does not match its rows" % w)
        want_prev = None if prev_block is None else prev_block["block_hash"]
        if b["prev_hash"] != want_prev:
            if prev_block is None:
                raise Problem("%s: prev_hash must be NULL for the first block" % w)
            raise Problem("%s: prev_hash does not match block %d's block_hash" % (w, bid - 1))
        if blake2b_512(block_bytes(b)) != b["block_hash"]:
            raise Problem("%s: block_hash does not match BLAKE2b-512 of the block bytes" % w)
        key = trusted.get(b["key_id"])
        if key is None:
            if b["key_id"] in all_keys:
                raise Problem("%s: signed by key %s, which is not trusted" % (w, b["key_id"]))
            raise Problem("%s: signed by key %s, which is not in the export" % (w, b["key_id"]))
        msg = checkpoint_bytes(bid, b["block_hash"], b["last_seq"], b["total_rows"],
                               b["sealed_at_us"], b["key_id"], b["version"], b["log_id"])
        if not ed25519_verify(b["signature"], msg, key["public_key"]):
            raise Problem("%s: signature by key %s does not verify" % (w, b["key_id"]))
        if b["sealed_at_us"] < key["created_at_us"] or (
                key["retired_at_us"] is not None and b["sealed_at_us"] > key["retired_at_us"]):
            rep.warn("%s: sealed at %d, outside the lifetime of key %s (retired_at is not "
                     "signed; informative only)" % (w, b["sealed_at_us"], b["key_id"]))
        prev_block = b
    return covered, total, gap_seqs, log_id


def verify_checkpoint(cp, blocks_by_id, trusted, all_keys, rep, name, log_id=None):
    w = "checkpoint %s" % name
    if not isinstance(cp, dict):
        raise BadInput("%s is not a JSON object" % w)
    version = cp.get("version")
    if version not in (1, 2) or isinstance(version, bool):
        raise Problem("%s: version is %r, expected 1 or 2" % (w, version))
    cp_log = None
    if version == 2:
        cp_log = hexbytes(cp.get("log_id"), w + " log_id", 16)
        if log_id is not None and cp_log != log_id:
            raise Problem("%s belongs to another log: it names log %s, expected log %s"
                          % (w, cp_log.hex(), log_id.hex()))
    elif "log_id" in cp:
        raise Problem("%s: a version 1 checkpoint has no log_id" % w)
    bid = integer(cp.get("block_id"), w + " block_id")
    bhash = hexbytes(cp.get("block_hash"), w + " block_hash", 64)
    last_seq = integer(cp.get("last_seq"), w + " last_seq")
    total_rows = integer(cp.get("total_rows"), w + " total_rows")
    sealed_us = integer(cp.get("sealed_at_us"), w + " sealed_at_us")
    kid = text(cp.get("key_id"), w + " key_id")
    sig = hexbytes(cp.get("signature"), w + " signature")
    key = trusted.get(kid)
    if key is None:
        raise Problem("%s: key %s is %s" % (w, kid, "not trusted" if kid in all_keys
                                               else "not in the export"))
    msg = checkpoint_bytes(bid, bhash, last_seq, total_rows, sealed_us, kid, version, cp_log)
    if not ed25519_verify(sig, msg, key["public_key"]):
        raise Problem("%s: signature does not verify under key %s" % (w, kid))
    if cp.get("sealed_at") is not None:
        try:
            human = timestamp_us({"sealed_at": cp["sealed_at"]}, "sealed_at", "sealed_at")
        except BadInput:
            human = None
        if human != sealed_us:
            raise Problem("%s: sealed_at %r is not the instant sealed_at_us %d"
                          % (w, cp["sealed_at"], sealed_us))
    b = blocks_by_id.get(bid)
    if b is None:
        raise Problem("%s: block %d is not in the export (removed tail: the ledger ends at "
                      "block %s)" % (w, bid, max(blocks_by_id) if blocks_by_id else "none"))
    if b["block_hash"] != bhash or b["version"] != version:
        raise Problem("%s: block %d's block_hash differs from the checkpoint's" % (w, bid))
    for f, v in (("last_seq", last_seq), ("total_rows", total_rows),
                 ("sealed_at_us", sealed_us), ("key_id", kid)):
        if b[f] != v:
            raise Problem("%s: block %d's %s differs from the checkpoint's" % (w, bid, f))
    rep.say("checkpoint %s: block %d, last_seq %d, total_rows %d, signed by %s: verified"
            % (name, bid, last_seq, total_rows, kid))


def verify(data, pin=None, checkpoints=(), allow_unendorsed=False, log_id=None):
    rep = Report()
    keys = [load_key(k, i) for i, k in enumerate(data["keys"])]
    rows = [load_row(r, i) for i, r in enumerate(data["rows"])]
    blocks = [load_block(b, i) for i, b in enumerate(data["blocks"])]
    all_keys = {k["key_id"]: k for k in keys}
    trusted = verify_keys(keys, pin, allow_unendorsed, rep)
    prior = load_block(data["prior"], -1) if data.get("prior") else None
    anchors = data.get("anchors") or {}
    by_seq = verify_rows(rows, rep, anchors)
    # a trusted version 2 checkpoint names the log the blocks must be of
    for name, cp in checkpoints:
        if log_id is None and isinstance(cp, dict) and cp.get("version") == 2:
            log_id = hexbytes(cp.get("log_id"), "checkpoint %s log_id" % name, 16)
    covered, total, gap_seqs, log_id = verify_blocks(blocks, by_seq, trusted, all_keys, rep,
                                                     log_id, prior)
    if prior is not None:
        rep.say("prior block %d (header only: its rows are in an earlier bundle), %d anchors"
                % (prior["block_id"], len(anchors)))
    last_sealed = blocks[-1]["last_seq"] if blocks else 0
    unsealed = [s for s in by_seq if s not in covered]
    for s in unsealed:
        if s <= last_sealed:   # cannot happen after verify_blocks; kept as a guard
            raise Problem("seq %d: inside the sealed range but in no block" % s)
    blocks_by_id = {b["block_id"]: b for b in blocks}
    for name, cp in checkpoints:
        verify_checkpoint(cp, blocks_by_id, trusted, all_keys, rep, name, log_id)
    if log_id is not None:
        rep.say("log id: %s" % log_id.hex())
    signers = sorted({b["key_id"] for b in blocks})
    retired_signers = [k for k in signers if all_keys[k]["retired_at_us"] is not None]
    rep.say("keys: %d (%d trusted, %d endorsed)" % (
        len(keys), len(trusted), sum(1 for k in keys if k["endorsed_by"] is not None)))
    rep.say("rows: %d (%d sealed, %d not yet sealed), with a predecessor: %d" % (
        len(rows), len(covered), len(unsealed),
        sum(1 for r in rows if r["prev_seq"] is not None)))
    rep.say("blocks: %d, signed by %d keys (%d now retired), gaps: %d seqs, last sealed seq: %d"
            % (len(blocks), len(signers), len(retired_signers), gap_seqs, last_sealed))
    rep.say("checkpoints: %d" % len(checkpoints))
    return rep


# ---------------------------------------------------------------------------
# FORMAT.md section 12: evidence bundles (governance.export()), read into the
# same structure as the JSON export above.

B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64tok(t, what):
    """'-' NULL, '=' empty, else unpadded base64url with zero trailing bits."""
    import base64
    if t == "-":
        return None
    if t == "=":
        return b""
    if not t or any(c not in B64URL for c in t) or len(t) % 4 == 1:
        raise Problem("%s is not base64url" % what)
    b = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
    if base64.urlsafe_b64encode(b).decode().rstrip("=") != t:
        raise Problem("%s is not canonical base64url" % what)
    return b


def inttok(t, what, nullable=False):
    if nullable and t == "-":
        return None
    neg = t.startswith("-")
    d = t[1:] if neg else t
    if not d.isdigit() or not d.isascii() or (d[0] == "0" and (len(d) > 1 or neg)):
        raise Problem("%s is not an integer" % what)
    v = int(t)
    if not -(1 << 63) <= v < (1 << 63):
        raise Problem("%s does not fit in an int64" % what)
    return v


def hextok(t, what, n, nullable=False):
    if nullable and t == "-":
        return None
    if len(t) != 2 * n or any(c not in "0123456789abcdef" for c in t):
        raise Problem("%s is not %d hex digits" % (what, 2 * n))
    return t


def text_of(b, what):
    if b is None:
        return None
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem("%s is not UTF-8" % what)


def load_bundle(path):
    """Returns (export dict, header) or raises BadInput / Problem."""
    try:
        with (sys.stdin.buffer if path == "-" else open(path, "rb")) as f:
            raw = f.read()
    except OSError as e:
        raise BadInput("cannot read bundle %s: %s" % (path, e))
    lines = raw.split(b"\n")
    if not lines or not lines[0].startswith(b"governance-evidence "):
        raise BadInput("not an evidence bundle: no governance-evidence header")
    if lines[-1] != b"":
        raise Problem("truncated bundle: its last line is cut short")
    lines = lines[:-1]
    try:
        text = [l.decode("ascii") for l in lines]
    except UnicodeDecodeError:
        raise Problem("a line is not ASCII")
    head = text[0].split(" ")
    if len(head) < 3 or head[1] not in ("1", "2"):
        raise BadInput("unsupported version: only versions 1 and 2 exist")
    v2 = head[1] == "2"
    if head[2] != "bundle" or len(head) != 6:
        raise BadInput("not an evidence bundle: %s" % head[2])
    from_block = inttok(head[3], "from_block")
    if from_block < 1:
        raise BadInput("from_block %d: blocks are numbered from 1" % from_block)
    # a bundle from a later block (after a prune, section 17): the block before
    # it (header only) and the anchors, the rows before it that rows in it link to
    data = {"rows": [], "blocks": [], "keys": [], "prior": None, "anchors": {}}
    checkpoint = None
    ended = False

    def bundle_block(t, w):
        gaps = [] if t[6] == "=" else [
            [inttok(x, w) for x in pair.split(":")] for pair in t[6].split(",")]
        if any(len(g) != 2 for g in gaps):
            raise Problem("%s: gaps are not lo:hi pairs" % w)
        b = {"block_id": inttok(t[1], w), "first_seq": inttok(t[2], w),
             "last_seq": inttok(t[3], w), "row_count": inttok(t[4], w),
             "total_rows": inttok(t[5], w), "gaps": gaps,
             "merkle_root": hextok(t[7], w, 64), "prev_hash": hextok(t[8], w, 64, True),
             "sealed_at_us": inttok(t[9], w), "key_id": t[10],
             "block_hash": hextok(t[11], w, 64), "signature": hextok(t[12], w, 64)}
        if v2:
            b.update({"version": inttok(t[13], w), "log_id": hextok(t[14], w, 16, True),
                      "lineage_root": hextok(t[15], w, 64, True)})
        return b

    for n, line in enumerate(text[1:], 2):
        w = "line %d" % n
        if ended:
            raise Problem("a record follows the end record (%s)" % w)
        t = line.split(" ")
        kind = t[0]
        if kind == "key" and len(t) == 8:
            data["keys"].append({
                "key_id": t[1], "public_key": hextok(t[2], w, 32),
                "created_at_us": inttok(t[3], w), "retired_at_us": inttok(t[4], w, True),
                "self_signature": hextok(t[5], w, 64),
                "endorsed_by": None if t[6] == "-" else t[6],
                "endorsement": hextok(t[7], w, 64, True)})
        elif kind == "block" and len(t) == (16 if v2 else 13):
            if from_block > 1 and data["prior"] is None:
                raise Problem("the bundle starts at block %d but has no prior block" % from_block)
            data["blocks"].append(bundle_block(t, w))
        elif kind == "prior" and len(t) == (16 if v2 else 13):
            if from_block == 1 or data["prior"] is not None or data["blocks"] or data["anchors"]:
                raise Problem("a prior record out of place (%s)" % w)
            data["prior"] = bundle_block(t, w)
        elif kind == "anchor" and len(t) == 5:
            if data["prior"] is None or data["blocks"]:
                raise Problem("an anchor record out of place (%s)" % w)
            seq = inttok(t[1], w)
            if seq > data["prior"]["last_seq"]:
                raise Problem("%s: anchor %d is not before the bundle's first block" % (w, seq))
            if data["anchors"] and seq <= max(data["anchors"]):
                raise Problem("%s: anchors not in increasing seq order" % w)
            lease = hextok(t[2], w, 16, True)
            if lease is not None:
                lease = "%s-%s-%s-%s-%s" % (lease[:8], lease[8:12], lease[12:16], lease[16:20], lease[20:])
            data["anchors"][seq] = {"seq": seq, "lease_id": lease, "kind": text_of(b64tok(t[3], w), w),
                                    "link": bytes.fromhex(hextok(t[4], w, 64))}
        elif kind == "row" and len(t) == 14:
            payload = b64tok(t[8], w + " payload")
            if payload is None:
                raise Problem("%s: the payload is NULL" % w)
            lease = hextok(t[4], w, 16, True)
            if lease is not None:
                lease = "%s-%s-%s-%s-%s" % (lease[:8], lease[8:12], lease[12:16], lease[16:20], lease[20:])
            data["rows"].append({
                "seq": inttok(t[1], w), "at_us": inttok(t[2], w),
                "kind": text_of(b64tok(t[3], w), w), "lease_id": lease,
                "principal": text_of(b64tok(t[5], w), w), "action": text_of(b64tok(t[6], w), w),
                "resource": text_of(b64tok(t[7], w), w),
                "payload": text_of(payload, w), "payload_bytes": payload,
                "actor": text_of(b64tok(t[9], w), w), "txid": inttok(t[10], w),
                "prev_seq": inttok(t[11], w, True),
                "evidence": hextok(t[12], w, 64), "link": hextok(t[13], w, 64)})
        elif kind == "checkpoint" and len(t) == (10 if v2 else 8):
            checkpoint = {"version": 1, "block_id": inttok(t[1], w), "block_hash": hextok(t[2], w, 64),
                          "last_seq": inttok(t[3], w), "total_rows": inttok(t[4], w),
                          "sealed_at_us": inttok(t[5], w), "key_id": t[6],
                          "signature": hextok(t[7], w, 64)}
            if v2:
                checkpoint["version"] = inttok(t[8], w)
                if checkpoint["version"] == 2:
                    checkpoint["log_id"] = hextok(t[9], w, 16)
                elif t[9] != "-":
                    raise Problem("%s: a version 1 checkpoint names no log" % w)
        elif kind == "end" and len(t) == 2:
            if inttok(t[1], w) != n - 1:
                # named after the rows and blocks, which say what is missing
                data["count_problem"] = ("the end record counts %s records, there are %d"
                                         % (t[1], n - 1))
            ended = True
        else:
            raise Problem("malformed record at %s" % w)
    if not ended:
        raise Problem("truncated bundle: it ends without its end record")
    if data["prior"] is not None and data["prior"]["block_id"] != from_block - 1:
        raise Problem("the prior block is block %d, not block %d"
                      % (data["prior"]["block_id"], from_block - 1))
    if checkpoint is None or not data["blocks"]:
        raise Problem("the bundle has no checkpoint or no block")
    last = data["blocks"][-1]
    if last["block_id"] != inttok(head[4], "to_block"):
        raise Problem("missing block %s: the bundle ends at block %d" % (head[4], last["block_id"]))
    for f in ("block_id", "block_hash", "last_seq", "total_rows", "sealed_at_us", "key_id",
              "signature", "version", "log_id"):
        if checkpoint.get(f, 1 if f == "version" else None) != last.get(f, 1 if f == "version" else None):
            raise Problem("the bundle's checkpoint differs from its last block %d" % last["block_id"])
    return data, checkpoint


# ---------------------------------------------------------------------------
# FORMAT.md section 14: lease proofs (governance.proof(lease_id)).

def path_root(leaf_index, tree_size, path, leaf, node):
    """RFC 9162 section 2.1.3.2; None when the path does not fit."""
    if leaf_index < 0 or tree_size <= 0 or leaf_index >= tree_size:
        return None
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def path_tokens(t, w):
    path = [] if t[2] == "=" else [bytes.fromhex(hextok(h, w, 64)) for h in t[2].split(",")]
    return inttok(t[0], w), inttok(t[1], w), path


def block_record(t, w):
    gaps = [] if t[6] == "=" else [
        [inttok(x, w) for x in pair.split(":")] for pair in t[6].split(",")]
    if any(len(g) != 2 for g in gaps):
        raise Problem("%s: gaps are not lo:hi pairs" % w)
    return {"block_id": inttok(t[1], w), "first_seq": inttok(t[2], w),
            "last_seq": inttok(t[3], w), "row_count": inttok(t[4], w),
            "total_rows": inttok(t[5], w), "gaps": gaps,
            "merkle_root": hextok(t[7], w, 64), "prev_hash": hextok(t[8], w, 64, True),
            "sealed_at_us": inttok(t[9], w), "key_id": t[10],
            "block_hash": hextok(t[11], w, 64), "signature": hextok(t[12], w, 64),
            "version": inttok(t[13], w), "log_id": hextok(t[14], w, 16, True),
            "lineage_root": hextok(t[15], w, 64, True)}


def row_record(t, w):
    payload = b64tok(t[8], w + " payload")
    if payload is None:
        raise Problem("%s: the payload is NULL" % w)
    lease = hextok(t[4], w, 16, True)
    if lease is not None:
        lease = "%s-%s-%s-%s-%s" % (lease[:8], lease[8:12], lease[12:16], lease[16:20], lease[20:])
    return {"seq": inttok(t[1], w), "at_us": inttok(t[2], w),
            "kind": text_of(b64tok(t[3], w), w), "lease_id": lease,
            "principal": text_of(b64tok(t[5], w), w), "action": text_of(b64tok(t[6], w), w),
            "resource": text_of(b64tok(t[7], w), w),
            "payload": text_of(payload, w), "payload_bytes": payload,
            "actor": text_of(b64tok(t[9], w), w), "txid": inttok(t[10], w),
            "prev_seq": inttok(t[11], w, True),
            "evidence": hextok(t[12], w, 64), "link": hextok(t[13], w, 64)}


def verify_proof(path, pin=None, log_id=None, allow_unendorsed=False):
    """Returns a Report, or raises Problem / BadInput (FORMAT.md section 14)."""
    rep = Report()
    try:
        with (sys.stdin.buffer if path == "-" else open(path, "rb")) as f:
            raw = f.read()
    except OSError as e:
        raise BadInput("cannot read proof %s: %s" % (path, e))
    lines = raw.split(b"\n")
    if lines[-1] != b"":
        raise Problem("truncated proof: its last line is cut short")
    try:
        text = [l.decode("ascii") for l in lines[:-1]]
    except UnicodeDecodeError:
        raise Problem("a line is not ASCII")
    head = text[0].split(" ") if text else []
    if len(head) != 7 or head[0] != "governance-evidence" or head[1] != "2" or head[2] != "proof":
        raise BadInput("not a version 2 lease proof")
    root_hex = hextok(head[3], "the header", 16)
    root = "%s-%s-%s-%s-%s" % (root_hex[:8], root_hex[8:12], root_hex[12:16], root_hex[16:20], root_hex[20:])
    from_block, to_block = inttok(head[4], "from_block"), inttok(head[5], "to_block")
    keys, i = [], 1
    while i < len(text) and text[i].startswith("key "):
        t = text[i].split(" ")
        if len(t) != 8:
            raise Problem("malformed key at line %d" % (i + 1))
        keys.append(load_key({"key_id": t[1], "public_key": t[2], "created_at_us": inttok(t[3], "key"),
                              "retired_at_us": inttok(t[4], "key", True), "self_signature": t[5],
                              "endorsed_by": None if t[6] == "-" else t[6],
                              "endorsement": None if t[7] == "-" else t[7]}, i))
        i += 1
    all_keys = {k["key_id"]: k for k in keys}
    trusted = verify_keys(keys, pin, allow_unendorsed, rep)
    empty_root = blake2b_512(field(TAG_LINEAGE_EMPTY))

    leases = {}         # lease -> {"parent", "last", "link", "ended": (seq, kind) or None, "in_block": [seq, link]}
    links = {}          # seq -> link of delegated rows and the anchor
    pending = {}        # delegated seq -> parent lease
    anchor = None
    prev_block = None
    cur = None
    maps = []
    last_seq = None
    rows_seen = 0
    checkpoint = None
    ended = False

    def end_block():
        if cur is None:
            return
        size = None
        prev_m = None
        for m in maps:
            if size is None:
                size = m["size"]
            elif m["size"] != size or m["index"] <= prev_m["index"] or m["lease"] <= prev_m["lease"]:
                raise Problem("bad lineage map entries for block %d: not one map in order" % cur["block_id"])
            leaf = blake2b_512(field(TAG_LINEAGE_LEAF) + field(m["lease"]) + f_int(m["seq"]) + field(m["link"]))
            if path_root(m["index"], m["size"], m["path"], leaf, lineage_node) != cur["lineage_root"]:
                raise Problem("the lineage map entry of lease %s does not lead to block %d's lineage root"
                              % (m["lease_text"], cur["block_id"]))
            prev_m = m
        for lease, st in leases.items():
            lb = bytes.fromhex(lease.replace("-", ""))
            m = [m for m in maps if m["lease"] == lb]
            if st["in_block"] is not None:
                if not m:
                    raise Problem("the proof does not show lease %s's entry in block %d's lineage map"
                                  % (lease, cur["block_id"]))
                if (m[0]["seq"], m[0]["link"]) != tuple(st["in_block"]):
                    raise Problem("incomplete lineage: block %d's lineage map says lease %s's last event "
                                  "there is row %d, the proof shows row %d last"
                                  % (cur["block_id"], lease, m[0]["seq"], st["in_block"][0]))
                st["in_block"] = None
                continue
            if m:
                raise Problem("incomplete lineage: lease %s has events in block %d that the proof does "
                              "not show (its last there is row %d)" % (lease, cur["block_id"], m[0]["seq"]))
            after = [j for j, x in enumerate(maps) if x["lease"] > lb]
            j = after[0] if after else len(maps)
            if not maps:
                ok = cur["lineage_root"] == empty_root
            elif j == 0:
                ok = maps[0]["index"] == 0
            elif j == len(maps):
                ok = maps[-1]["index"] == size - 1
            else:
                ok = maps[j]["index"] == maps[j - 1]["index"] + 1
            if not ok:
                raise Problem("incomplete lineage: the proof does not show that lease %s has no event "
                              "in block %d" % (lease, cur["block_id"]))
        del maps[:]

    def ended_before(lease, seq):
        while lease is not None:
            st = leases[lease]
            if st["ended"] is not None and st["ended"][0] < seq:
                return st["ended"]
            lease = st["parent"]
        return None

    want_path = None
    for n in range(i, len(text)):
        w = "line %d" % (n + 1)
        if ended:
            raise Problem("a record follows the end record (%s)" % w)
        t = text[n].split(" ")
        kind = t[0]
        if want_path is not None and kind != "path":
            raise Problem("row %d has no audit path" % want_path[0])
        if kind == "block" and len(t) == 16:
            end_block()
            b = block_record(t, w)
            b = load_block(b, 0)
            bid = b["block_id"]
            if prev_block is None and bid != from_block:
                raise Problem("missing block %d: the proof's first block is block %d" % (from_block, bid))
            if prev_block is not None:
                if bid != prev_block["block_id"] + 1:
                    raise Problem("missing block %d: block %d follows block %d"
                                  % (prev_block["block_id"] + 1, bid, prev_block["block_id"]))
                if b["prev_hash"] != prev_block["block_hash"]:
                    raise Problem("block %d: prev_hash does not match block %d's block_hash" % (bid, bid - 1))
            if b["version"] < 2:
                raise Problem("block %d has no lineage map (format version 1)" % bid)
            if log_id is None:
                log_id = b["log_id"]
            elif b["log_id"] != log_id:
                raise Problem("block %d belongs to another log: it names log %s, expected log %s"
                              % (bid, b["log_id"].hex(), log_id.hex()))
            if blake2b_512(block_bytes(b)) != b["block_hash"]:
                raise Problem("block %d: block_hash does not match BLAKE2b-512 of the block bytes" % bid)
            key = trusted.get(b["key_id"])
            if key is None:
                raise Problem("block %d: signed by key %s, which is %s" % (
                    bid, b["key_id"], "not trusted" if b["key_id"] in all_keys else "not in the proof"))
            msg = checkpoint_bytes(bid, b["block_hash"], b["last_seq"], b["total_rows"],
                                   b["sealed_at_us"], b["key_id"], b["version"], b["log_id"])
            if not ed25519_verify(b["signature"], msg, key["public_key"]):
                raise Problem("block %d: signature by key %s does not verify" % (bid, b["key_id"]))
            cur = prev_block = b
        elif kind == "row" and len(t) == 14 and cur is not None:
            r = load_row(row_record(t, w), 0)
            seq = r["seq"]
            if last_seq is not None and seq <= last_seq:
                raise Problem("reordered row %d: it follows row %d in the proof" % (seq, last_seq))
            last_seq = seq
            gap = any(lo <= seq <= hi for lo, hi in cur["gaps"])
            if seq < cur["first_seq"] or seq > cur["last_seq"] or gap:
                raise Problem("row %d is not in block %d" % (seq, cur["block_id"]))
            ev = sha3_512(event_bytes(r))
            if ev != r["evidence"]:
                raise Problem("modified row %d: its evidence hash does not match its contents" % seq)
            index = seq - cur["first_seq"] - sum(hi - lo + 1 for lo, hi in cur["gaps"] if lo < seq)
            want_path = (seq, index, merkle_leaf(seq, ev))
            lease = r["lease_id"]
            if lease is None:
                raise Problem("row %d belongs to no execution" % seq)
            ps = r["prev_seq"]
            if lease not in leases:
                if lease == root and not leases:
                    if r["kind"] != "governance.authorize":
                        raise Problem("the execution's first event, row %d, is not its "
                                      "governance.authorize event" % seq)
                    if ps is not None and ps != anchor:
                        raise Problem("missing row %d: row %d links to it" % (ps, seq))
                    parent = None
                elif not leases and anchor is None and rows_seen == 0 and r["kind"] == "governance.delegated":
                    anchor = seq
                    links[seq] = r["link"]
                    rows_seen += 1
                    continue
                elif ps is not None and ps in pending:
                    if r["kind"] != "governance.authorize":
                        raise Problem("a delegated execution's first event, row %d, is not its "
                                      "governance.authorize event" % seq)
                    parent = pending.pop(ps)
                else:
                    raise Problem("row %d is an event of lease %s, which is not part of this execution"
                                  % (seq, lease))
                leases[lease] = {"parent": parent, "last": None, "link": None, "ended": None,
                                 "in_block": None}
                prev_link = links.get(ps) if ps is not None else None
                if ps is not None and prev_link is None:
                    raise Problem("missing row %d: row %d links to it" % (ps, seq))
            else:
                st = leases[lease]
                if ps != st["last"]:
                    raise Problem("broken chain at row %d: it links to row %s but the previous event of "
                                  "its execution is row %d" % (seq, ps, st["last"]))
                prev_link = st["link"]
            e = ended_before(lease, seq)
            if e is not None and r["kind"] in ("governance.write", "governance.delegated"):
                raise Problem("%s after the end of its execution: row %d of lease %s follows the %s event "
                              "at row %d" % ("a write" if r["kind"] == "governance.write" else "a delegation",
                                             seq, lease, e[1], e[0]))
            if chain_link(prev_link, ev) != r["link"]:
                raise Problem("broken chain at row %d: its chain link does not match" % seq)
            st = leases[lease]
            st["last"], st["link"], st["in_block"] = seq, r["link"], [seq, r["link"]]
            if st["ended"] is None and r["kind"] in ("governance.revoke", "governance.lease.expired"):
                st["ended"] = (seq, r["kind"])
            if r["kind"] == "governance.delegated":
                links[seq] = r["link"]
                pending[seq] = lease
            rows_seen += 1
        elif kind == "path" and len(t) == 4 and want_path is not None:
            seq, index, leaf = want_path
            want_path = None
            li, size, path = path_tokens(t[1:], w)
            if size != cur["row_count"]:
                raise Problem("the audit path's tree size %d is not block %d's row count %d"
                              % (size, cur["block_id"], cur["row_count"]))
            if li != index:
                raise Problem("the audit path's leaf index %d is not row %d's place %d in block %d"
                              % (li, seq, index, cur["block_id"]))
            if path_root(li, size, path, leaf, merkle_node) != cur["merkle_root"]:
                raise Problem("the audit path of row %d does not lead to block %d's Merkle root"
                              % (seq, cur["block_id"]))
        elif kind == "map" and len(t) == 7 and cur is not None:
            lb = bytes.fromhex(hextok(t[1], w, 16))
            li, size, path = path_tokens(t[4:], w)
            maps.append({"lease": lb, "lease_text": str(uuid.UUID(bytes=lb)), "seq": inttok(t[2], w),
                         "link": bytes.fromhex(hextok(t[3], w, 64)), "index": li, "size": size, "path": path})
        elif kind == "checkpoint" and len(t) == 10 and cur is not None:
            end_block()
            cp = {"block_id": inttok(t[1], w), "block_hash": bytes.fromhex(hextok(t[2], w, 64)),
                  "last_seq": inttok(t[3], w), "total_rows": inttok(t[4], w),
                  "sealed_at_us": inttok(t[5], w), "key_id": t[6],
                  "signature": bytes.fromhex(hextok(t[7], w, 64)), "version": inttok(t[8], w)}
            for f in ("block_id", "block_hash", "last_seq", "total_rows", "sealed_at_us", "key_id",
                      "signature", "version"):
                if cp[f] != cur[f]:
                    raise Problem("the proof's checkpoint differs from its last block %d" % cur["block_id"])
            checkpoint = cp
            cur = None
        elif kind == "end" and len(t) == 2 and checkpoint is not None:
            if inttok(t[1], w) != n:
                raise Problem("the end record counts %s records, there are %d" % (t[1], n))
            ended = True
        else:
            raise Problem("malformed record or record out of place at %s" % w)
    if not ended:
        raise Problem("truncated proof: it ends without its end record")
    if root not in leases:
        raise Problem("the proof holds no governance.authorize event of lease %s" % root)
    if pending:
        raise Problem("incomplete lineage: the delegation at row %d started an execution the proof "
                      "does not show" % min(pending))
    if prev_block["block_id"] != to_block:
        raise Problem("missing block %d: the proof ends at block %d" % (to_block, prev_block["block_id"]))
    e = leases[root]["ended"]
    rep.say("execution %s: %d leases, %s; lineage complete to block %d, log %s"
            % (root, len(leases), "ended by %s at row %d" % (e[1], e[0]) if e else "not ended",
               to_block, log_id.hex()))
    return rep


def main(argv=None):
    ap = argparse.ArgumentParser(description="Verify a governance ledger export "
                                 "(docs/FORMAT.md) without the extension.")
    ap.add_argument("export", nargs="?", help="the export JSON file, or - for stdin")
    ap.add_argument("--pin", help="hex public key trusted as the first key")
    ap.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                    help="a checkpoint JSON (from checkpoint()) kept outside the database")
    ap.add_argument("--log-id", metavar="HEX",
                    help="the log the ledger must be (32 hex digits or a UUID)")
    ap.add_argument("--allow-unendorsed-keys", action="store_true",
                    help="accept keys recorded without an endorsement (warn instead)")
    ap.add_argument("--bundle", action="store_true",
                    help="EXPORT is an evidence bundle (governance.export(), FORMAT.md section 12)")
    ap.add_argument("--proof", action="store_true",
                    help="EXPORT is a lease proof (governance.proof(lease_id), FORMAT.md section 14)")
    ap.add_argument("--export-sql", action="store_true", help="print the export query")
    ap.add_argument("--dump", choices=("canonical", "event", "block", "checkpoint"),
                    help="print seq and hex of each row's canonical payload or event bytes, "
                    "or block_id and hex of each block's block or checkpoint bytes")
    ap.add_argument("--canonicalize", action="store_true",
                    help="print the canonical JSON of each line of stdin")
    a = ap.parse_args(argv)

    if a.export_sql:
        print(EXPORT_SQL)
        return 0
    if a.canonicalize:
        out = sys.stdout.buffer
        for n, line in enumerate(sys.stdin.buffer.read().decode("utf-8").split("\n"), 1):
            if line.strip() == "":
                continue
            try:
                out.write(canonical_json_bytes(line) + b"\n")
            except (ValueError, UnicodeEncodeError, decimal.InvalidOperation) as e:
                print("line %d: %s" % (n, e), file=sys.stderr)
                return 1
        return 0
    if a.export is None:
        ap.error("an export file is required")
    if a.proof:
        try:
            pin = hexbytes(a.pin.strip(), "--pin", 32) if a.pin is not None else None
            log_id = (hexbytes(a.log_id.strip().replace("-", "").lower(), "--log-id", 16)
                      if a.log_id is not None else None)
            rep = verify_proof(a.export, pin, log_id, a.allow_unendorsed_keys)
        except BadInput as e:
            print("verify_ledger: bad input: %s" % e, file=sys.stderr)
            return 2
        except Problem as e:
            print("FAILED: %s" % e)
            return 1
        for line in rep.lines:
            print(line)
        print("OK: lease proof verified (Ed25519 by %s)" % ED25519_IMPL)
        return 0
    try:
        bundle_cp = None
        if a.bundle:
            data, bundle_cp = load_bundle(a.export)
        else:
            data = load_export(a.export)
        if a.dump in ("canonical", "event"):
            for i, r in enumerate(data["rows"]):
                row = load_row(r, i)
                b = row["payload_canonical"] if a.dump == "canonical" else event_bytes(row)
                print("%d\t%s" % (row["seq"], b.hex()))
            return 0
        if a.dump in ("block", "checkpoint"):
            for i, b in enumerate(data["blocks"]):
                blk = load_block(b, i)
                if a.dump == "block":
                    m = block_bytes(blk)
                else:
                    m = checkpoint_bytes(blk["block_id"], blk["block_hash"], blk["last_seq"],
                                         blk["total_rows"], blk["sealed_at_us"], blk["key_id"],
                                         blk["version"], blk["log_id"])
                print("%d\t%s" % (blk["block_id"], m.hex()))
            return 0
        pin = None
        if a.pin is not None:
            pin = hexbytes(a.pin.strip(), "--pin", 32)
        cps = []
        for path in a.checkpoint:
            try:
                with open(path, encoding="utf-8") as f:
                    cps.append((path, json.load(f)))
            except (OSError, ValueError) as e:
                raise BadInput("cannot read checkpoint %s: %s" % (path, e))
        if bundle_cp is not None:
            cps.append(("in the bundle", bundle_cp))
        log_id = None
        if a.log_id is not None:
            log_id = hexbytes(a.log_id.strip().replace("-", "").lower(), "--log-id", 16)
        rep = verify(data, pin, cps, a.allow_unendorsed_keys, log_id)
        if data.get("count_problem"):
            raise Problem(data["count_problem"])
    except BadInput as e:
        print("verify_ledger: bad input: %s" % e, file=sys.stderr)
        return 2
    except Problem as e:
        print("FAILED: %s" % e)
        return 1
    for line in rep.lines:
        print(line)
    for line in rep.warnings:
        print("warning: " + line)
    print("OK: ledger verified (Ed25519 by %s)" % ED25519_IMPL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
