#!/usr/bin/python3
"""Revocations that a lease holder's open transaction cannot hold off.

Used by test/system/revoke_holdoff.sh (--tap: assertions, one "ok" or
"not ok" line each) and test/bench/run.sh (--bench N: timings).  Talks to
the server through libpq (ctypes, no driver needed) from one process, so
every time is read from one clock.

A trial: a lease L (held by Agent::"rv-bot", role rv_bot) with a child K
(delegated to Agent::"rv-sub", role rv_sub).  A reader session of rv_bot
has attached L in an open transaction.  A holder session of rv_bot keeps
a transaction open after one of:

  heartbeat   heartbeat(L)                      (L's row, FOR UPDATE)
  delegate    delegate(L, ...)                  (L's row FOR SHARE, L's chain)
  record      attach(L); record(...)            (L's chain lock)
  write       attach(L); INSERT into a governed table   (L's chain lock)
  session     attach(L, session => true)        (L's row, updated)

Then another session calls revoke(L) (at t0), and the reader polls
is_authorized() until it is false:

  refused_ms  when the reader's check first said false, minus t0
  return_ms   when revoke()'s reply arrived, minus t0

Checked after each trial (--tap): L was refused while revoke() was still
waiting for the holder, and a new attach of L (by rv_bot) and of K (by
rv_sub) is refused; revoke() returned within the bound (twice
governance.revoke_lock_timeout, plus --slack) and ended 2 leases; the
holder's session was ended; L and K are revoked durably.

    holdoff.py --host DIR [--port 5432] [--db postgres] --admin USER
               (--tap | --bench N [--kinds heartbeat,delegate,...])
"""
import argparse
import ctypes
import ctypes.util
import math
import os
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
pq.PQnfields.argtypes = [ctypes.c_void_p]
pq.PQclear.argtypes = [ctypes.c_void_p]
pq.PQfinish.argtypes = [ctypes.c_void_p]
pq.PQbackendPID.argtypes = [ctypes.c_void_p]
NOTICE_RECEIVER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
pq.PQsetNoticeReceiver.restype = ctypes.c_void_p
pq.PQsetNoticeReceiver.argtypes = [ctypes.c_void_p, NOTICE_RECEIVER, ctypes.c_void_p]

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2
PG_DIAG_SQLSTATE = ord("C")
INF = float("inf")


def die(msg):
    sys.stderr.write("holdoff: %s\n" % msg)
    sys.exit(2)


class Result:
    def __init__(self, ok, rows=None, code=None, msg=None):
        self.ok, self.rows, self.code, self.msg = ok, rows or [], code, msg

    def val(self):
        return self.rows[0][0] if self.rows else None


class Conn:
    def __init__(self, args, user):
        self.c = pq.PQconnectdb(("host=%s port=%s dbname=%s user=%s application_name=holdoff"
                                 % (args.host, args.port, args.db, user)).encode())
        if pq.PQstatus(self.c) != CONNECTION_OK:
            die("cannot connect as %s: %s" % (user, pq.PQerrorMessage(self.c).decode()))
        self.pid = pq.PQbackendPID(self.c)
        self.notices = []
        # keep a reference: libpq calls it for the connection's lifetime
        self._receiver = NOTICE_RECEIVER(self._notice)
        pq.PQsetNoticeReceiver(self.c, self._receiver, None)

    def _notice(self, arg, res):
        self.notices.append(pq.PQresultErrorMessage(res).decode())

    @staticmethod
    def _result(r):
        st = pq.PQresultStatus(r)
        if st in (PGRES_COMMAND_OK, PGRES_TUPLES_OK):
            rows = [[(pq.PQgetvalue(r, i, j) or b"").decode() for j in range(pq.PQnfields(r))]
                    for i in range(pq.PQntuples(r))]
            return Result(True, rows)
        code = pq.PQresultErrorField(r, PG_DIAG_SQLSTATE)
        return Result(False, code=code.decode() if code else None,
                      msg=pq.PQresultErrorMessage(r).decode().strip())

    def run(self, sql):
        """Run sql (several statements allowed); the last result."""
        r = pq.PQexec(self.c, sql.encode())
        if not r:
            return Result(False, code="lost", msg=pq.PQerrorMessage(self.c).decode().strip())
        res = self._result(r)
        pq.PQclear(r)
        return res

    def must(self, sql):
        r = self.run(sql)
        if not r.ok:
            die("%s: %s" % (sql[:100], r.msg))
        return r

    def send(self, sql):
        if not pq.PQsendQuery(self.c, sql.encode()):
            die("send failed: %s" % pq.PQerrorMessage(self.c).decode())

    def fileno(self):
        return pq.PQsocket(self.c)

    def poll(self):
        """The last result of the query sent, once it is done; else None."""
        if not pq.PQconsumeInput(self.c):
            return Result(False, code="lost", msg=pq.PQerrorMessage(self.c).decode().strip())
        if pq.PQisBusy(self.c):
            return None
        last = None
        while True:
            r = pq.PQgetResult(self.c)
            if not r:
                break
            last = self._result(r)
            pq.PQclear(r)
        return last or Result(False, code="lost", msg="no result")

    def wait(self, until):
        """poll() until a result or the time until (then None)."""
        while True:
            r = self.poll()
            if r is not None:
                return r
            left = until - time.time()
            if left <= 0:
                return None
            select.select([self.fileno()], [], [], min(left, 0.05))

    def alive(self):
        r = self.run("SELECT 1")
        return r.ok

    def close(self):
        pq.PQfinish(self.c)


def pct(vals, p):
    v = sorted(vals)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    f = math.floor(k)
    c = min(f + 1, len(v) - 1)
    if math.isinf(v[f]) or math.isinf(v[c]):
        return v[c] if k > f else v[f]
    return v[f] + (v[c] - v[f]) * (k - f)


def q(s):
    return "'" + s.replace("'", "''") + "'"


RES = 'Account::"1"'
KINDS = ["heartbeat", "delegate", "record", "write", "session"]


class Harness:
    def __init__(self, args):
        self.a = args
        self.admin = Conn(args, args.admin)
        setting = self.admin.must(
            "SELECT setting FROM pg_settings WHERE name = 'governance.revoke_lock_timeout'").val()
        # (a build without the setting waits for holders: judge it by 200 ms)
        self.timeout_ms = int(setting) if setting else 200
        self.failed = 0
        self.n = 0

    # -- TAP ------------------------------------------------------------
    def check(self, cond, what):
        self.n += 1
        if cond:
            print("ok - %s" % what)
        else:
            self.failed += 1
            print("not ok - %s" % what)
        sys.stdout.flush()
        return cond

    def note(self, msg):
        print("# %s" % msg)
        sys.stdout.flush()

    # -- leases ---------------------------------------------------------
    def lease(self, action):
        """L (rv-bot, action on RES) and its child K (rv-sub, the same action:
        a delegation only narrows)."""
        r = self.admin.must(
            "SELECT lease_id, artifact FROM governance.authorize('Agent::\"rv-bot\"', %s, %s, '{}', '10 minutes')"
            " WHERE decision = 'allow'" % (q(action), q(RES)))
        if len(r.rows) != 1:
            die("authorize() did not allow")
        lid, art = r.rows[0]
        r = self.admin.must(
            "SELECT lease_id, artifact FROM governance.delegate(%s, 'Agent::\"rv-sub\"', %s, %s)"
            " WHERE decision = 'allow'" % (q(lid), q(action), q(RES)))
        if len(r.rows) != 1:
            die("delegate() did not allow")
        kid, kart = r.rows[0]
        return lid, art, kid, kart

    def states(self, *ids):
        return self.admin.must(
            "SELECT string_agg(state, ',' ORDER BY depth) FROM governance.leases WHERE lease_id IN (%s)"
            % ", ".join(q(i) for i in ids)).val()

    def hold_sql(self, kind, lid, art):
        if kind == "heartbeat":
            return "BEGIN; SELECT governance.heartbeat(%s)" % q(lid)
        if kind == "delegate":
            return ("BEGIN; SELECT decision FROM governance.delegate(%s, 'Agent::\"rv-sub\"', 'rv.select', %s)"
                    % (q(lid), q(RES)))
        if kind == "record":
            return "BEGIN; SELECT governance.attach(%s); SELECT governance.record('tool_call', '{\"step\": 1}')" % q(art)
        if kind == "write":
            return "BEGIN; SELECT governance.attach(%s); INSERT INTO rv_accounts (owner) VALUES (%s)" % (q(art), q(RES))
        if kind == "session":
            return "BEGIN; SELECT governance.attach(%s, true)" % q(art)
        die("unknown kind " + kind)

    # -- one trial --------------------------------------------------------
    def trial(self, kind, revoker_user="", tap=False, timeout=None, revoker=None):
        """Returns (refused_s, return_s) after t0; INF when it did not happen.
        revoker: a connection to revoke from (default: a new one)."""
        a = self.a
        revoker_user = revoker_user or a.admin
        timeout = timeout or max(5.0, 4 * self.timeout_ms / 1000.0 + 2)
        action = "rv.insert" if kind == "write" else "rv.select"
        lid, art, kid, kart = self.lease(action)

        reader = Conn(a, "rv_bot")
        reader.must("BEGIN; SELECT governance.attach(%s)" % q(art))
        authorized = "SELECT governance.is_authorized(%s, %s)" % (q(action), q(RES))
        if reader.must(authorized).val() != "t":
            die("the reader is not authorized before the revocation")
        holder = Conn(a, "rv_bot")
        h = holder.run(self.hold_sql(kind, lid, art))
        if not h.ok:
            die("holder (%s): %s" % (kind, h.msg))
        own_revoker = revoker is None
        if own_revoker:
            revoker = Conn(a, revoker_user)

        t0 = time.time()
        revoker.send("SELECT governance.revoke(%s, 'holdoff: %s')" % (q(lid), kind))
        t_ref = t_ret = INF
        ret = None
        cancelled = False
        while time.time() < t0 + timeout:
            r = reader.run(authorized)
            now = time.time()
            if r.ok and r.val() == "f":
                t_ref = now - t0
                break
            if not r.ok and r.code == "57L01" and "governance lease" in (r.msg or ""):
                # the enforcer stopped the reader's check, the lease having ended
                t_ref = now - t0
                cancelled = True
                reader.run("ROLLBACK")
                break
            if ret is None:
                ret = revoker.poll()
                if ret is not None:
                    t_ret = time.time() - t0
        if ret is None:
            ret = revoker.wait(t0 + timeout)
            if ret is not None:
                t_ret = time.time() - t0
        released = False
        if ret is None:
            # the old behaviour: revoke() waits for the holder; let it go
            holder.run("ROLLBACK")
            released = True
            ret = revoker.wait(time.time() + 30)

        if tap:
            bound = 2 * self.timeout_ms / 1000.0 + a.slack
            self.note("%s (revoked by %s): refused after %.1f ms, revoke() returned after %.1f ms"
                      % (kind, revoker_user, t_ref * 1000, t_ret * 1000))
            self.check(t_ref < t_ret and t_ref < 0.5,
                       "%s: L is refused while revoke() still waits for the holder (%.1f ms < %.1f ms)"
                       % (kind, t_ref * 1000, t_ret * 1000))
            f = Conn(a, "rv_bot")
            r = f.run("BEGIN; SELECT governance.attach(%s)" % q(art))
            self.check(not r.ok and r.code == "42501" and "revoked" in (r.msg or ""),
                       "%s: another session's attach of L is refused (%s)" % (kind, r.msg if not r.ok else "attached"))
            f.close()
            f = Conn(a, "rv_sub")
            r = f.run("BEGIN; SELECT governance.attach(%s)" % q(kart))
            self.check(not r.ok and r.code == "42501",
                       "%s: the child K is refused too (%s)" % (kind, r.msg if not r.ok else "attached"))
            f.close()
            if action == "rv.select" and not cancelled:
                r = reader.run("SELECT count(*) FROM rv_accounts")
                self.check(r.ok and r.val() == "0", "%s: the reader sees no row (%s)"
                           % (kind, r.val() if r.ok else r.msg))
            elif action == "rv.select":
                self.check(True, "%s: the reader sees no row (its statement was cancelled by the enforcer)" % kind)
            self.check(t_ret <= bound and not released,
                       "%s: revoke() returns within %.0f ms (%.1f ms)" % (kind, bound * 1000, t_ret * 1000))
            self.check(ret is not None and ret.ok and ret.val() == "2",
                       "%s: revoke() ended L and K (%s)" % (kind, ret.val() if ret and ret.ok else ret and ret.msg))
            self.check(not holder.alive(), "%s: the holder's session was ended" % kind)
            self.check(self.states(lid, kid) == "revoked,revoked",
                       "%s: L and K are revoked durably (%s)" % (kind, self.states(lid, kid)))
        for c in (reader, holder) + ((revoker,) if own_revoker else ()):
            c.close()
        return t_ref, t_ret

    # -- a holder running a statement ------------------------------------
    def running(self, savepoint):
        """The holder renewed L and now runs a statement: cancelling it is
        enough at the top level of its transaction (its session survives);
        in a savepoint the outer transaction keeps the lock, and the
        session is ended after the cancel."""
        what = "a holder running a statement%s" % (" in a savepoint" if savepoint else "")
        lid, art, kid, kart = self.lease("rv.select")
        holder = Conn(self.a, "rv_bot")
        holder.send("BEGIN; SELECT governance.heartbeat(%s); %sSELECT pg_sleep(30)"
                    % (q(lid), "SAVEPOINT s; " if savepoint else ""))
        deadline = time.time() + 10
        while time.time() < deadline and self.admin.must(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND wait_event = 'PgSleep'"
                % holder.pid).val() != "1":
            time.sleep(0.01)
        revoker = Conn(self.a, "rv_admin")
        t0 = time.time()
        revoker.send("SELECT governance.revoke(%s, %s)" % (q(lid), q("holdoff: " + what)))
        ret = revoker.wait(t0 + 10)
        t_ret = time.time() - t0 if ret is not None else INF
        h = holder.wait(time.time() + 10)
        bound = 2 * self.timeout_ms / 1000.0 + self.a.slack
        self.note("%s: revoke() returned after %.1f ms; the holder got %s"
                  % (what, t_ret * 1000, h and (h.code, (h.msg or "").splitlines()[0])))
        self.check(ret is not None and ret.ok and ret.val() == "2" and t_ret <= bound,
                   "%s: revoke() returns within %.0f ms (%.1f ms)" % (what, bound * 1000, t_ret * 1000))
        if savepoint:
            self.check(not holder.alive(), "%s: the cancel was not enough, the session was ended" % what)
        else:
            # revoke() cancels a lock holder itself (not the enforcer, and
            # not for an attachment: this holder attached nothing), and
            # still the client gets governance's SQLSTATE and reason
            self.check(h is not None and h.code == "57L01" and
                       "canceling statement: governance lease %s is being revoked" % lid in (h.msg or ""),
                "%s: its statement was cancelled with SQLSTATE 57L01, naming the lease (%s)"
                % (what, h and (h.code, (h.msg or "").splitlines()[0])))
            rb = holder.run("ROLLBACK").ok
            # asked in the transaction after the one it ended (alive() runs one)
            lt = holder.run("SELECT error_code || ' ' || lease_id FROM governance.last_termination()")
            self.check(rb and holder.alive(), "%s: its session goes on" % what)
            self.check(lt.ok and lt.val() == "57L01 %s" % lid,
                       "%s: last_termination() says so in the holder's session (%s)"
                       % (what, lt.val() if lt.ok else (lt.code, lt.msg)))
        self.check(self.states(lid, kid) == "revoked,revoked",
                   "%s: L and K are revoked durably (%s)" % (what, self.states(lid, kid)))
        holder.close()
        revoker.close()

    # -- holders that cannot be ended -------------------------------------
    def deferred(self, what, hold, revoker_user, after, release):
        """A holder revoke() may not end: it returns within the bound,
        says so, and the enforcer lands the revocation after release."""
        lid, art, kid, kart = self.lease("rv.select")
        holder = hold(lid)
        revoker = Conn(self.a, revoker_user)
        t0 = time.time()
        revoker.send("SELECT governance.revoke(%s, %s)" % (q(lid), q("holdoff: " + what)))
        ret = revoker.wait(t0 + 2 * self.timeout_ms / 1000.0 + self.a.slack)
        t_ret = time.time() - t0
        released = False
        if ret is None:
            release(holder)
            released = True
            ret = revoker.wait(time.time() + 30)
            t_ret = INF
        bound = 2 * self.timeout_ms / 1000.0 + self.a.slack
        self.check(t_ret <= bound and ret is not None and ret.ok and ret.val() == "2",
                   "%s: revoke() returns within %.0f ms (%.1f ms), counting L and K (%s)"
                   % (what, bound * 1000, t_ret * 1000, ret and (ret.val() if ret.ok else ret.msg)))
        warn = [n for n in revoker.notices if "not durable yet" in n]
        self.check(len(warn) == 1, "%s: with a WARNING that the revocation is not durable yet" % what)
        if warn:
            self.note(warn[0].replace("\n", " | "))
        f = Conn(self.a, "rv_bot")
        r = f.run("BEGIN; SELECT governance.attach(%s)" % q(art))
        self.check(not r.ok and "revoked" in (r.msg or ""), "%s: L is refused all the same" % what)
        f.close()
        # L's row is held, so it still says live; K's row is not locked, and
        # the enforcer may already have made K's part durable (it handles the
        # deferred revocation at once now that it wakes early): either is right
        st = self.states(lid, kid)
        self.check(st in ("live,live", "live,revoked"), "%s: L's durable row still says live (%s)"
                   % (what, st))
        ev = self.admin.must("SELECT count(*) FROM governance.ledger WHERE kind = 'governance.revoke.deferred'"
                             " AND payload->>'lease' = %s" % q(lid)).val()
        self.check(ev == "1", "%s: the ledger says the revocation was deferred" % what)
        if not released:
            after(holder)
            release(holder)
        deadline = time.time() + 10
        while time.time() < deadline and self.states(lid, kid) != "revoked,revoked":
            time.sleep(0.1)
        self.check(self.states(lid, kid) == "revoked,revoked",
                   "%s: once the lock is released, the enforcer revokes L and K durably" % what)
        r = self.admin.must(
            "SELECT payload->>'by', payload ? 'ended_in_shared_memory_at' FROM governance.ledger"
            " WHERE kind = 'governance.revoke' AND lease_id = %s" % q(lid))
        self.check(r.rows == [["enforcer", "t"]],
                   "%s: ledgered by the enforcer, with when the lease ended in shared memory (%s)" % (what, r.rows))
        revoker.close()

    # -- loops ------------------------------------------------------------
    def loops(self, hold_s, n_loops, revoker_user):
        """Agent sessions loop heartbeat / delegate / attach-and-read, each
        keeping its transaction open hold_s; revoke() must not wait for
        them beyond its bound."""
        lid, art, kid, kart = self.lease("rv.select")
        ops = [
            "BEGIN; SELECT governance.heartbeat(%s)" % q(lid),
            "BEGIN; SELECT decision FROM governance.delegate(%s, 'Agent::\"rv-sub\"', 'rv.select', %s)" % (q(lid), q(RES)),
            "BEGIN; SELECT governance.attach(%s); SELECT count(*) FROM rv_accounts" % q(art),
        ]
        conns = [Conn(self.a, "rv_bot") for _ in range(n_loops)]
        state = []				# per loop: [phase, since]
        start = time.time()
        for i, c in enumerate(conns):
            state.append(["idle", start + i * hold_s / n_loops])
        results = {"refused": 0, "done": 0}

        def step(until):
            while time.time() < until:
                now = time.time()
                for i, c in enumerate(conns):
                    ph, since = state[i]
                    if ph == "dead":
                        continue
                    if ph == "idle" and now >= since:
                        if not pq.PQsendQuery(c.c, ops[i % len(ops)].encode()):
                            state[i] = ["dead", now]
                            continue
                        state[i] = ["op", now]
                    elif ph == "op":
                        r = c.poll()
                        if r is not None:
                            if r.code == "lost":
                                state[i] = ["dead", now]
                                continue
                            results["done" if r.ok else "refused"] += 1
                            if not r.ok:
                                results.setdefault("errors", set()).add(r.msg.splitlines()[0])
                            if r.ok:
                                state[i] = ["hold", now]
                            else:
                                ok = pq.PQsendQuery(c.c, b"ROLLBACK")
                                state[i] = ["commit", now] if ok else ["dead", now]
                    elif ph == "hold" and now >= since + hold_s:
                        ok = pq.PQsendQuery(c.c, b"COMMIT")
                        state[i] = ["commit", now] if ok else ["dead", now]
                    elif ph == "commit":
                        r = c.poll()
                        if r is not None:
                            state[i] = ["dead", now] if r.code == "lost" else ["idle", now]
                time.sleep(0.002)

        step(time.time() + 2 * hold_s)		# the loops are under way
        # revoke just as a heartbeat or a delegation has begun to hold its
        # locks (what waiting for the holders would cost is then plain)
        holding = [i for i in range(n_loops) if i % len(ops) < 2 and state[i][0] == "hold"]
        deadline = time.time() + 3 * hold_s
        while time.time() < deadline:
            step(time.time() + 0.002)
            now_holding = [i for i in range(n_loops) if i % len(ops) < 2 and state[i][0] == "hold"]
            if any(i not in holding for i in now_holding):
                break
            holding = now_holding
        revoker = Conn(self.a, revoker_user)
        self.note("loops before the revocation: %s, %s" % ([s[0] for s in state], results))
        t0 = time.time()
        revoker.send("SELECT governance.revoke(%s, 'holdoff: loops')" % q(lid))
        ret = None
        while ret is None and time.time() < t0 + 30:
            step(time.time() + 0.005)
            ret = revoker.poll()
        t_ret = time.time() - t0
        step(time.time() + hold_s)
        bound = 2 * self.timeout_ms / 1000.0 + self.a.slack
        self.note("loops: %d sessions holding %.1f s each; revoke() returned after %.1f ms"
                  % (n_loops, hold_s, t_ret * 1000))
        self.check(ret is not None and ret.ok and t_ret <= bound,
                   "loops of heartbeat/delegate/attach: revoke() returns within %.0f ms (%.1f ms)"
                   % (bound * 1000, t_ret * 1000))
        self.check(self.states(lid, kid) == "revoked,revoked",
                   "loops: L and K are revoked durably (%s)" % self.states(lid, kid))
        revoker.close()
        for c in conns:
            c.close()


def tap(h):
    a = h.a
    h.note("governance.revoke_lock_timeout = %d ms" % h.timeout_ms)
    for kind in KINDS:
        h.trial(kind, "rv_admin", tap=True)
    # revoked by the lease's own holder, and by an ancestor's holder
    h.trial("heartbeat", "rv_bot", tap=True)
    h.running(savepoint=False)
    h.running(savepoint=True)

    # a prepared transaction holds L's row (a superuser's doing: no function
    # of the extension lets such a transaction be prepared)
    def hold_prepared(lid):
        c = Conn(a, a.admin)
        c.must("BEGIN; SELECT 1 FROM governance.leases WHERE lease_id = %s FOR UPDATE; "
               "PREPARE TRANSACTION 'rv_holdoff'" % q(lid))
        return c

    h.deferred("prepared transaction", hold_prepared, "rv_admin", lambda c: None,
               lambda c: c.must("ROLLBACK PREPARED 'rv_holdoff'"))

    # a session the revoker may not end: an administrator's renewal, revoked
    # by the lease's holder (an agent)
    def hold_admin(lid):
        c = Conn(a, "rv_admin")
        c.must("BEGIN; SELECT governance.heartbeat(%s)" % q(lid))
        return c

    h.deferred("an administrator's open renewal, revoked by the holder", hold_admin, "rv_bot",
               lambda c: h.check(c.alive(), "the administrator's session was not ended"),
               lambda c: c.must("COMMIT"))

    # attach(..., session => true) updates the lease's row: it cannot be prepared
    lid, art, kid, kart = h.lease("rv.select")
    c = Conn(a, "rv_bot")
    c.must("BEGIN; SELECT governance.attach(%s, true)" % q(art))
    r = c.run("PREPARE TRANSACTION 'rv_session'")
    h.check(not r.ok and "cannot PREPARE a transaction that attached a governance lease for the session" in r.msg,
            "a session attachment cannot be prepared (%s)" % (r.msg if not r.ok else "prepared"))
    if r.ok:
        h.admin.run("ROLLBACK PREPARED 'rv_session'")
    c.close()

    h.loops(hold_s=2.0, n_loops=3, revoker_user="rv_admin")


def bench(h, n, kinds, warm):
    print("# governance.revoke_lock_timeout = %d ms; revoker: %s; load average %s"
          % (h.timeout_ms, "one session, warmed up by a revocation" if warm else "a new session each time",
             open("/proc/loadavg").read().split()[0]))
    revoker = None
    if warm:
        revoker = Conn(h.a, h.a.admin)
        lid = h.lease("rv.select")[0]
        revoker.must("SELECT governance.revoke(%s, 'warm-up')" % q(lid))
    for kind in kinds:
        refused = []
        returned = []
        for i in range(n):
            t_ref, t_ret = h.trial(kind, revoker=revoker)
            refused.append(t_ref)
            returned.append(t_ret)
        print("summary %s%s %d refused_ms p50 %.2f p99 %.2f max %.2f return_ms p50 %.1f p99 %.1f max %.1f load %s"
              % (kind, "/warm" if warm else "", n, pct(refused, .5) * 1000, pct(refused, .99) * 1000, max(refused) * 1000,
                 pct(returned, .5) * 1000, pct(returned, .99) * 1000, max(returned) * 1000,
                 open("/proc/loadavg").read().split()[0]))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", default="5432")
    ap.add_argument("--db", default="postgres")
    ap.add_argument("--admin", required=True)
    ap.add_argument("--tap", action="store_true")
    ap.add_argument("--bench", type=int, default=0)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--warm", action="store_true",
                    help="--bench: revoke from one session, warmed up (default: a new session each time)")
    ap.add_argument("--slack", type=float, default=1.0,
                    help="seconds allowed beyond twice the lock timeout (a loaded machine)")
    a = ap.parse_args()
    h = Harness(a)
    if a.tap:
        tap(h)
        sys.exit(1 if h.failed else 0)
    bench(h, a.bench, a.kinds.split(","), a.warm)


if __name__ == "__main__":
    main()
