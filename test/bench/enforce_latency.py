#!/usr/bin/python3
"""Enforcement latency: revoke commit to cancelled statement.

Used by test/bench/run.sh (bench_enforcement, bench_revoke_tree).  Talks to
the server through libpq (ctypes, no driver needed), from one process, so
that every time is read from one clock (time.time(), CLOCK_REALTIME, the
clock clock_timestamp() reads too).

Each trial: a session logged in as the agent role attaches its own lease
for the session and runs SELECT pg_sleep(30).  Once the statement is seen
running in pg_stat_activity, an administrator session revokes the lease
(autocommit: the reply to the revoke arrives after its commit).  Then:

  sent        client time at which the revoke was sent
  commit_srv  clock_timestamp() read by the revoking session's next
              statement, right after the revoke's reply (server side, same
              clock)
  ended       client time at which the sleeping session's statement ended
              with its error (SQLSTATE 57L01, message naming the lease)

  latency     = ended - sent            (judged)
  latency_srv = ended - commit_srv      (negative: revoke() ends the lease
                                         in shared memory before it commits,
                                         and the enforcer acts on that)

With --expiry the leases are not revoked but expire (TTLs of 3 s and
more, 0.1 s apart plus a random 0-100 ms): latency = ended - the lease's
expires_at (the server's clock; the same clock here).

Trials run in batches: BATCH sessions start sleeping together, then their
leases are revoked one at a time, a random 20-120 ms apart (so revocations
fall at every phase of the enforcer's cycle), while the others keep
sleeping.  A statement that does not end within TIMEOUT seconds of its
revocation counts as an infinite latency.

    enforce_latency.py --host DIR --port 5432 --db postgres \
        --admin USER --agent USER --trials N [--batch B] [--timeout S]

Prints one line per trial ("trial latency latency_srv"), then a summary
line: "summary trials p50 p99 max p50_srv p99_srv max_srv" (seconds).
Leases: authorized by the administrator, for Agent::"bench-<i mod 128>"
(ops.run on Account::"<i mod 128>", leases_setup.sql), one per trial.
"""
import argparse
import ctypes
import ctypes.util
import math
import random
import select
import sys
import time

pq = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
pq.PQconnectdb.restype = ctypes.c_void_p
pq.PQconnectdb.argtypes = [ctypes.c_char_p]
pq.PQstatus.argtypes = [ctypes.c_void_p]
pq.PQerrorMessage.restype = ctypes.c_char_p
pq.PQerrorMessage.argtypes = [ctypes.c_void_p]
pq.PQexec.restype = ctypes.c_void_p
pq.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
pq.PQsendQuery.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
pq.PQgetResult.restype = ctypes.c_void_p
pq.PQgetResult.argtypes = [ctypes.c_void_p]
pq.PQconsumeInput.argtypes = [ctypes.c_void_p]
pq.PQisBusy.argtypes = [ctypes.c_void_p]
pq.PQsocket.argtypes = [ctypes.c_void_p]
pq.PQresultStatus.argtypes = [ctypes.c_void_p]
pq.PQresultErrorField.restype = ctypes.c_char_p
pq.PQresultErrorField.argtypes = [ctypes.c_void_p, ctypes.c_int]
pq.PQresultErrorMessage.restype = ctypes.c_char_p
pq.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
pq.PQgetvalue.restype = ctypes.c_char_p
pq.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
pq.PQntuples.argtypes = [ctypes.c_void_p]
pq.PQclear.argtypes = [ctypes.c_void_p]
pq.PQfinish.argtypes = [ctypes.c_void_p]
pq.PQbackendPID.argtypes = [ctypes.c_void_p]

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2
PG_DIAG_SQLSTATE = ord("C")


def die(msg):
    sys.stderr.write("enforce_latency: %s\n" % msg)
    sys.exit(1)


class Conn:
    def __init__(self, conninfo):
        self.c = pq.PQconnectdb(conninfo.encode())
        if pq.PQstatus(self.c) != CONNECTION_OK:
            die("cannot connect: %s" % pq.PQerrorMessage(self.c).decode())
        self.pid = pq.PQbackendPID(self.c)

    def query(self, sql):
        """Run sql, return the rows (lists of str); die on an error."""
        r = pq.PQexec(self.c, sql.encode())
        st = pq.PQresultStatus(r)
        if st not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK):
            msg = pq.PQresultErrorMessage(r).decode()
            pq.PQclear(r)
            die("%s: %s" % (sql[:80], msg))
        rows = [[pq.PQgetvalue(r, i, 0).decode()]
                for i in range(pq.PQntuples(r))]
        pq.PQclear(r)
        return rows

    def send(self, sql):
        if not pq.PQsendQuery(self.c, sql.encode()):
            die("send failed: %s" % pq.PQerrorMessage(self.c).decode())

    def fileno(self):
        return pq.PQsocket(self.c)

    def poll(self):
        """Consume input; if the query is done, return its results as
        (status, sqlstate, message) of the last one, else None."""
        if not pq.PQconsumeInput(self.c):
            return ("lost", None, pq.PQerrorMessage(self.c).decode())
        if pq.PQisBusy(self.c):
            return None
        last = None
        while True:
            r = pq.PQgetResult(self.c)
            if not r:
                break
            st = pq.PQresultStatus(r)
            code = pq.PQresultErrorField(r, PG_DIAG_SQLSTATE)
            msg = pq.PQresultErrorMessage(r).decode()
            val = pq.PQgetvalue(r, 0, 0).decode() if st == PGRES_TUPLES_OK and pq.PQntuples(r) else None
            last = (st, code.decode() if code else None, msg, val)
            pq.PQclear(r)
        return last

    def close(self):
        pq.PQfinish(self.c)


def pct(vals, p):
    """Percentile with linear interpolation (percentile_cont)."""
    v = sorted(vals)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    f = math.floor(k)
    c = min(f + 1, len(v) - 1)
    if math.isinf(v[f]) or math.isinf(v[c]):
        return v[c] if k > f else v[f]
    return v[f] + (v[c] - v[f]) * (k - f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", default="5432")
    ap.add_argument("--db", default="postgres")
    ap.add_argument("--admin", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--expiry", action="store_true",
                    help="let the leases expire instead of revoking them")
    a = ap.parse_args()
    rnd = random.Random(a.seed)

    def conninfo(user):
        return "host=%s port=%s dbname=%s user=%s application_name=enforce_latency" % (
            a.host, a.port, a.db, user)

    admin = Conn(conninfo(a.admin))
    lat = []
    lat_srv = []
    trial = 0
    while trial < a.trials:
        n = min(a.batch, a.trials - trial)
        # leases for this batch
        leases = []
        expires = []
        for i in range(n):
            k = (trial + i) % 128
            # --expiry: TTLs 3 s + 0.1 s per lease + a random 0-100 ms, so
            # the expiries fall one at a time, at every phase of the
            # enforcer's cycle
            ttl = "%.3f seconds" % (3.0 + 0.1 * i + rnd.uniform(0, 0.1)) if a.expiry else "1 hour"
            rows = admin.query(
                "SELECT lease_id::text || ' ' || extract(epoch FROM expires_at)::text || ' ' || artifact "
                "FROM governance.authorize("
                "'Agent::\"bench-%d\"', 'ops.run', 'Account::\"%d\"', bench_context(), '%s') "
                "WHERE decision = 'allow'" % (k, k, ttl))
            if len(rows) != 1:
                die("authorize() did not allow the lease")
            lease_id, exp, artifact = rows[0][0].split(" ", 2)
            leases.append((lease_id, artifact))
            expires.append(float(exp))
        # sleepers: attach for the session, then sleep
        sleepers = []
        for lease_id, artifact in leases:
            s = Conn(conninfo(a.agent))
            s.query("SELECT governance.attach('%s', true)" % artifact)
            s.send("SELECT pg_sleep(30)")
            sleepers.append((lease_id, s))
        pids = ",".join(str(s.pid) for _, s in sleepers)
        deadline = time.time() + 10
        while True:
            rows = admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid IN (%s) "
                               "AND state = 'active' AND wait_event = 'PgSleep'" % pids)
            if int(rows[0][0]) == n:
                break
            if a.expiry and time.time() >= min(expires) - 0.2:
                # on a loaded machine the sessions may start slower than the
                # first lease expires: measure from here (a sleeper that had
                # not started in time counts as a timeout, below)
                break
            if time.time() > deadline:
                die("the sleeping statements did not start")
            time.sleep(0.005)
        # revoke one at a time, a random 20-120 ms apart; watch everything
        pending = {}            # sleeper conn -> trial index
        commit = {}
        sent = {}
        commit_srv = {}
        ended = {}
        def sleeper_ready(c, now):
            # a sleeper's socket is readable: record its end, if it ended
            r = c.poll()
            if r is None:
                return
            j = pending.pop(c)
            if r[1] != "57L01" or "governance lease" not in r[2]:
                die("sleeper %d ended unexpectedly: %s %s" % (j, r[1], r[2].strip()))
            ended[j] = now

        def watch(until, rest=False):
            # until `until` or every sleeper has ended (with rest: until
            # `until` in any case), read the sleepers' errors as they arrive
            # (a time.sleep here would stamp an error that arrived during it
            # with the time the sleep ended: up to 120 ms too late)
            while pending:
                left = until - time.time()
                if left <= 0:
                    return
                rd, _, _ = select.select(list(pending), [], [], left)
                now = time.time()
                for c in rd:
                    sleeper_ready(c, now)
            left = until - time.time()
            if rest and left > 0:
                time.sleep(left)

        if a.expiry:
            for idx in range(n):
                pending[sleepers[idx][1]] = idx
                commit[idx] = sent[idx] = commit_srv[idx] = expires[idx]
            watch(max(expires) + a.timeout)
        for idx, (lease_id, s) in enumerate(sleepers if not a.expiry else []):
            watch(time.time() + rnd.uniform(0.02, 0.12), rest=True)
            sent[idx] = time.time()
            admin.send("SELECT governance.revoke('%s', 'enforcement latency benchmark')" % lease_id)
            pending[s] = idx
            stage = "revoke"
            while stage is not None:
                socks = [admin] + list(pending)
                rd, _, _ = select.select(socks, [], [], 0.5)
                now = time.time()
                for c in rd:
                    if c is admin:
                        r = admin.poll()
                        if r is None:
                            continue
                        if r[0] != PGRES_TUPLES_OK:
                            die("revoke failed: %s" % r[2])
                        if stage == "revoke":
                            commit[idx] = now
                            admin.send("SELECT extract(epoch FROM clock_timestamp())")
                            stage = "clock"
                        else:
                            commit_srv[idx] = float(r[3])
                            stage = None
                    else:
                        sleeper_ready(c, now)
        # the last ones
        watch(time.time() + a.timeout)
        for idx in range(n):
            if idx in ended and ended[idx] - sent[idx] <= a.timeout:
                l1, l2 = ended[idx] - sent[idx], ended[idx] - commit_srv[idx]
            else:
                l1 = l2 = float("inf")
            lat.append(l1)
            lat_srv.append(l2)
            print("%d %.6f %.6f" % (trial + idx, l1, l2))
        for _, s in sleepers:
            s.close()
        trial += n
    admin.close()
    print("summary %d %.6f %.6f %.6f %.6f %.6f %.6f" % (
        len(lat), pct(lat, 0.5), pct(lat, 0.99), max(lat),
        pct(lat_srv, 0.5), pct(lat_srv, 0.99), max(lat_srv)))


if __name__ == "__main__":
    main()
