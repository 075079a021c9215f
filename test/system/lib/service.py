#!/usr/bin/python3
"""A downstream service that receives artifacts (issue 13 section 3,
README "Downstream services: is the lease still live?"): it checks an
artifact once with governance.verify_artifact(), caches the answer until
the artifact's expires_at, LISTENs on governance_lease_end and drops a
cached lease the moment its end is announced.  It fails closed: while its
listening connection is down it caches nothing and asks the database on
every request.  Real sessions of real login roles (psycopg), a real
cluster.

usage: service.py CLUSTER_DIR      (test/system/downstream.sh starts it)
Prints ok / not ok lines; exits 1 if any failed.
"""
import datetime
import os
import select
import sys
import time

import psycopg

CLUSTER = sys.argv[1]
SUPER = os.environ.get("GOV_DBUSER", "postgres")
BOUND_MS = 1000          # a revocation commit to the cache entry gone
failed = 0


def check(cond, what, detail=None):
    global failed
    if cond:
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what + ("" if detail is None else ": %r" % (detail,)))


def connect(user):
    return psycopg.connect(host=CLUSTER, port=5432, dbname="postgres", user=user, autocommit=True)


class Service:
    """The pattern README documents, in about forty lines."""

    def __init__(self, user):
        self.user = user
        self.db = connect(user)          # a member of governance_auditor
        self.cache = {}                  # artifact -> (lease_id, expires_at)
        self.verifications = 0
        self.listener = None
        self.listen()

    def listen(self):
        try:
            self.listener = connect(self.user)
            self.listener.execute("LISTEN governance_lease_end")
        except psycopg.Error:
            self.listener = None
        # whatever was cached before (re)listening may have missed its
        # notification: ask again
        self.cache.clear()

    def pump(self, timeout=0.0):
        """Read notifications; drop every cached artifact of an ended lease."""
        if self.listener is None:
            self.listen()
            return
        try:
            select.select([self.listener.fileno()], [], [], timeout)
            self.listener.pgconn.consume_input()
            if self.listener.pgconn.status != psycopg.pq.ConnStatus.OK:
                raise OSError("the listening connection is closed")
            while (n := self.listener.pgconn.notifies()) is not None:
                lease = n.extra.decode().split(" ", 1)[0]
                for art in [a for a, (l, _) in self.cache.items() if l == lease]:
                    del self.cache[art]
        except (psycopg.Error, OSError, ValueError):
            # the channel is gone: nothing cached can be trusted any more
            self.listener = None
            self.cache.clear()

    def accept(self, artifact):
        """True if the artifact's lease is live; from the cache when it can be."""
        self.pump()
        now = datetime.datetime.now(datetime.timezone.utc)
        hit = self.cache.get(artifact)
        if hit is not None and hit[1] > now and self.listener is not None:
            return True
        self.cache.pop(artifact, None)
        self.verifications += 1
        valid, claims = self.db.execute(
            "SELECT valid, claims FROM governance.verify_artifact(%s)", (artifact,)).fetchone()
        if valid and self.listener is not None:
            exp = datetime.datetime.fromisoformat(claims["expires_at"].replace("Z", "+00:00"))
            self.cache[artifact] = (claims["lease_id"], exp)
        return bool(valid)


adm = connect(SUPER)
agent = connect("ds_agent")
svc = Service("ds_svc")


def authorize(ttl="5 minutes"):
    lid, art = agent.execute(
        "SELECT lease_id::text, artifact FROM governance.authorize('Agent::\"ds-agent\"', 'etl.run', "
        "'Dataset::\"x\"', '{}', %s)", (ttl,)).fetchone()
    return lid, art


def wait_dropped(art, secs):
    """ms until the service's cache no longer holds art (None: never)"""
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        if art not in svc.cache:
            return (time.monotonic() - t0) * 1000
        svc.pump(0.01)
    return None


# 0. a service's role needs governance_auditor (or agent): others are refused
try:
    connect("ds_nobody").execute("SELECT governance.verify_artifact('gov1.x')")
    check(False, "a role without governance_auditor cannot call verify_artifact")
except psycopg.errors.InsufficientPrivilege:
    check(True, "a role without governance_auditor cannot call verify_artifact (42501)")

# 1. first use asks the database, later ones hit the cache
lid, art = authorize()
check(svc.accept(art), "a live artifact is accepted")
check(svc.verifications == 1, "the first request asks the database (verify_artifact)", svc.verifications)
check(all(svc.accept(art) for _ in range(50)) and svc.verifications == 1,
      "the next 50 requests are answered from the cache, no database round trip", svc.verifications)

# 2. a committed revocation: gone from the cache within the bound
t0 = time.monotonic()
adm.execute("SELECT governance.revoke(%s, 'downstream test')", (lid,))
commit_ms = (time.monotonic() - t0) * 1000
ms = wait_dropped(art, 5)
print("# revoke committed in %.0f ms; the service dropped the lease %.1f ms after the commit returned"
      % (commit_ms, ms if ms is not None else -1))
check(ms is not None and ms <= BOUND_MS, "a revocation drops the cached lease within %d ms" % BOUND_MS, ms)
check(not svc.accept(art), "the revoked artifact is refused")
check(not svc.accept(art) and art not in svc.cache, "and a refused artifact is never cached")

# 3. a revoke whose transaction rolls back still ended the lease (shared
# memory at once); the enforcer makes it durable and announces it
lid, art = authorize()
check(svc.accept(art), "a second live artifact is accepted")
with adm.transaction():
    adm.execute("SELECT governance.revoke(%s, 'rolled back')", (lid,))
    raise psycopg.Rollback()
ms = wait_dropped(art, 5)
print("# a rolled-back revoke: dropped %.0f ms later (the enforcer's notification)" % (ms if ms is not None else -1))
check(ms is not None and ms <= 3000, "a rolled-back revoke (the lease ended anyway) drops it within 3 s", ms)
check(not svc.accept(art), "and the artifact is refused")

# 4. expiry: the cache never outlives the artifact's expires_at, whether
# or not the enforcer's notification has arrived yet
lid, art = authorize("1500 milliseconds")
check(svc.accept(art), "a short-lived artifact is accepted")
time.sleep(1.6)
check(not svc.accept(art), "past its expires_at it is refused (never served from the cache)")

# 5. the listening connection dies: fail closed, nothing cached, every
# request asks the database, so a revocation meanwhile is not missed
lid, art = authorize()
check(svc.accept(art), "a third live artifact is accepted and cached")
lpid = svc.listener.info.backend_pid
adm.execute("SELECT pg_terminate_backend(%s)", (lpid,))
t0 = time.monotonic()
while svc.listener is not None and svc.listener.info.backend_pid == lpid and time.monotonic() - t0 < 5:
    svc.pump(0.05)
check(art not in svc.cache and (svc.listener is None or svc.listener.info.backend_pid != lpid),
      "the listener killed: noticed, the cache is emptied", (art in svc.cache))
adm.execute("SELECT governance.revoke(%s, 'while the listener was down')", (lid,))
check(not svc.accept(art), "a revocation while the listener was down is not missed")
lid, art = authorize()
before = svc.verifications
svc.accept(art)
svc.accept(art)
check(svc.listener is not None and svc.verifications == before + 1,
      "the listener comes back: caching resumes", (svc.listener is not None, svc.verifications - before))

# 6. a forged artifact (one character of the signature changed)
forged = art[:-2] + ("A" if art[-2] != "A" else "B") + art[-1]
check(not svc.accept(forged) and forged not in svc.cache, "a tampered artifact is refused and not cached")
check(not svc.accept("") and not svc.accept("gov1.nonsense"), "garbage is refused (verify_artifact never raises)")

sys.exit(1 if failed else 0)
