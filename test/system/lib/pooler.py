#!/usr/bin/python3
"""Poolers and application roles, through real pgbouncer and real psycopg
(test/system/pooler.sh starts both; README "Connection poolers and
application roles").

usage: pooler.py POOLER_DIR POOLER_PORT CLUSTER_DIR SERVER_LOG

POOLER_DIR/POOLER_PORT is a pgbouncer in transaction pooling mode with one
server connection per pool; CLUSTER_DIR the cluster's socket directory
(port 5432), used directly for what an administrator does.  The roles
(po_bot, po_app, po_rep) and the governed table acct come from pooler.sh.
Prints ok / not ok lines.
"""
import sys
import time

import psycopg
import psycopg.errors

POOL_DIR, POOL_PORT, CLUSTER, SERVER_LOG = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
BOT = 'Agent::"po-bot"'
failed = 0


def check(cond, what, got=None):
    global failed
    if cond:
        print("ok - %s" % what)
    else:
        failed += 1
        print("not ok - %s%s" % (what, "" if got is None else " (got: %r)" % (got,)))
    sys.stdout.flush()


def pooled(user="po_bot", **kw):
    return psycopg.connect(host=POOL_DIR, port=POOL_PORT, dbname="postgres", user=user, **kw)


def direct(user="postgres", **kw):
    return psycopg.connect(host=CLUSTER, port=5432, dbname="postgres", user=user, **kw)


ADMIN = direct(autocommit=True)


def admin(sql, *args):
    cur = ADMIN.execute(sql, args)
    return cur.fetchall() if cur.description else None


def authorize(resource='Account::"1"', action="acct.select"):
    """A committed lease, authorized by the agent directly: (lease_id, artifact)."""
    with direct("po_bot", autocommit=True) as c:
        return c.execute("SELECT lease_id, artifact FROM governance.authorize(%s, %s, %s)",
                         (BOT, action, resource)).fetchone()


def err(conn, sql, args=()):
    """Run sql; return the psycopg error (and roll back), or None."""
    try:
        conn.execute(sql, args)
    except psycopg.Error as e:
        if not conn.autocommit:
            conn.rollback()
        return e
    return None


def sees(conn):
    """(rows of acct, leases attached, server pid) in one transaction of conn."""
    with conn.transaction():
        n = conn.execute("SELECT count(*) FROM acct").fetchone()[0]
        leases = conn.execute("SELECT count(*) FROM governance.current_lease()").fetchone()[0]
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    return n, leases, pid


def refused_events():
    return admin("SELECT count(*) FROM governance.ledger WHERE kind = 'governance.attach.refused'")[0][0]


# ---------------------------------------------------------------------
# two clients, one server connection
# ---------------------------------------------------------------------
lid, art = authorize()
a = pooled(autocommit=True)
b = pooled(autocommit=True)
pid_a = a.execute("SELECT pg_backend_pid()").fetchone()[0]
pid_b = b.execute("SELECT pg_backend_pid()").fetchone()[0]
check(pid_a == pid_b, "pgbouncer (transaction mode, pool size 1) gives both clients the same server connection",
      (pid_a, pid_b))

with a.transaction():
    a.execute("SELECT governance.attach(%s)", (art,))
    n = a.execute("SELECT count(*) FROM acct").fetchone()[0]
check(n == 1, "client A attaches for its transaction and reads its row through the pooler", n)
n, leases, pid = sees(b)
check((n, leases, pid) == (0, 0, pid_a),
      "client B's next transaction on the same server connection sees no row and no attached lease",
      (n, leases, pid, pid_a))

# A attaches and disconnects in the middle of its transaction
a2 = pooled()
a2.execute("SELECT governance.attach(%s)", (art,))
n = a2.execute("SELECT count(*) FROM acct").fetchone()[0]
check(n == 1, "client A2 attaches in an open transaction (psycopg's implicit one) and reads", n)
a2.close()
time.sleep(0.3)
n, leases, pid = sees(b)
check((n, leases) == (0, 0), "after A2 disconnects mid-transaction, B sees no row and no attached lease "
      "(pgbouncer %s the server connection)" % ("kept" if pid == pid_a else "replaced"), (n, leases, pid))

# a session attachment is refused behind the pooler (governance.session_attach is off)
e = err(a, "SELECT governance.attach(%s, session => true)", (art,))
check(isinstance(e, psycopg.errors.ObjectNotInPrerequisiteState)
      and "attaching a lease for the session is not enabled" in str(e),
      "attach(..., session => true) through the pooler is refused (55000)", e)
check(e is not None and "BEGIN; SELECT governance.attach(artifact)" in (e.diag.message_hint or ""),
      "and its hint says to attach per transaction", e and e.diag.message_hint)
with a.transaction(force_rollback=True):
    e = None
    try:
        with a.transaction():
            a.execute("SELECT governance.attach(%s, session => true)", (art,))
    except psycopg.Error as x:
        e = x
check(isinstance(e, psycopg.errors.ObjectNotInPrerequisiteState),
      "inside a transaction block too", e)
pid_now = a.execute("SELECT pg_backend_pid()").fetchone()[0]
n, leases, pid = sees(b)
check((n, leases, pid) == (0, 0, pid_now),
      "after the session attach attempts, B, on the same server connection, sees no row and no attached lease",
      (n, leases, pid, pid_now))

# a transaction attach that is the whole (autocommit) statement is refused
e = err(a, "SELECT governance.attach(%s)", (art,))
check(isinstance(e, psycopg.errors.NoActiveSqlTransaction) and "outside a transaction block" in str(e),
      "attach() alone in autocommit mode is refused (25P01) rather than doing nothing", e)
check(e is not None and "conn.transaction()" in (e.diag.message_hint or ""), "with a hint", e and e.diag.message_hint)
n, leases, pid = sees(b)
check((n, leases) == (0, 0), "and B still sees nothing", (n, leases))

# ---------------------------------------------------------------------
# psycopg's default: an implicit transaction around authorize and attach
# ---------------------------------------------------------------------
before = refused_events()
p = pooled()        # autocommit off, as psycopg defaults
lid2, art2 = p.execute("SELECT lease_id, artifact FROM governance.authorize(%s, 'acct.select', 'Account::\"1\"')",
                       (BOT,)).fetchone()
e = err(p, "SELECT governance.attach(%s)", (art2,))
check(isinstance(e, psycopg.errors.ObjectNotInPrerequisiteState) and "lease not committed" in str(e),
      "authorize then attach in psycopg's implicit transaction: 'lease not committed' (55000)", e)
check(e is not None and "conn.commit()" in (e.diag.message_hint or "")
      and "authorize" in (e.diag.message_hint or ""),
      "whose HINT says to commit the authorize first", e and e.diag.message_hint)
# another transaction's uncommitted lease: still refused as before, and ledgered
q = direct("po_bot")
lid3, art3 = q.execute("SELECT lease_id, artifact FROM governance.authorize(%s, 'acct.select', 'Account::\"2\"')",
                       (BOT,)).fetchone()
e = err(p, "SELECT governance.attach(%s)", (art3,))
check(isinstance(e, psycopg.errors.InsufficientPrivilege) and "lease not committed" in str(e),
      "attaching another transaction's uncommitted lease is still refused (42501)", e)
q.rollback()
q.close()
deadline = time.time() + 10
while refused_events() < before + 1 and time.time() < deadline:
    time.sleep(0.2)
time.sleep(1)
after = refused_events()
check(after == before + 1,
      "only that one is ledgered as governance.attach.refused, not the caller's own uncommitted lease",
      (before, after))

# the recipes
lid4, art4 = p.execute("SELECT lease_id, artifact FROM governance.authorize(%s, 'acct.select', 'Account::\"1\"')",
                       (BOT,)).fetchone()
p.commit()
p.execute("SELECT governance.attach(%s)", (art4,))
n = p.execute("SELECT count(*) FROM acct").fetchone()[0]
p.commit()
check(n == 1, "recipe: commit after authorize, attach in the next transaction, read", n)
p.close()
r = pooled(autocommit=True)
lid5, art5 = r.execute("SELECT lease_id, artifact FROM governance.authorize(%s, 'acct.select', 'Account::\"1\"')",
                       (BOT,)).fetchone()
with r.transaction():
    r.execute("SELECT governance.attach(%s)", (art5,))
    n = r.execute("SELECT count(*) FROM acct").fetchone()[0]
check(n == 1, "recipe: autocommit=True, authorize, then attach and read inside conn.transaction()", n)
r.close()

# ---------------------------------------------------------------------
# what ended a statement: governance (57L01) or a timeout (57014)
# ---------------------------------------------------------------------
lid6, art6 = authorize()
s = pooled(autocommit=True)
e = None
try:
    with s.transaction():
        s.execute("SELECT governance.attach(%s)", (art6,))
        s.execute("SET LOCAL statement_timeout = '300ms'")
        s.execute("SELECT pg_sleep(5) FROM acct")
except psycopg.Error as x:
    e = x
check(isinstance(e, psycopg.errors.QueryCanceled) and e.sqlstate == "57014",
      "a statement_timeout still ends a statement with 57014 (QueryCanceled)", e and e.sqlstate)
with s.transaction():
    lt = s.execute("SELECT count(*) FROM governance.last_termination()").fetchone()[0]
check(lt == 0, "and last_termination() says governance ended nothing", lt)


def revoke_soon(lease, delay=1.0):
    import threading

    def go():
        time.sleep(delay)
        admin("SELECT governance.revoke(%s, 'pooler test')", lease)
    t = threading.Thread(target=go)
    t.start()
    return t


t = revoke_soon(lid6)
e = None
try:
    with s.transaction():
        s.execute("SELECT governance.attach(%s)", (art6,))
        s.execute("SELECT pg_sleep(10) FROM acct")
except psycopg.Error as x:
    e = x
t.join()
check(e is not None and e.sqlstate == "57L01" and isinstance(e, psycopg.OperationalError)
      and not isinstance(e, psycopg.errors.QueryCanceled),
      "a revocation ends the statement with SQLSTATE 57L01 through the pooler (psycopg: OperationalError, "
      "not QueryCanceled)", e and (type(e).__name__, e.sqlstate))
check(e is not None and str(e).startswith("canceling statement: governance lease %s was revoked" % lid6),
      "its message begins with the stable prefix and names the lease", e and str(e))
with s.transaction():
    lt = s.execute("SELECT error_code, lease_id, message FROM governance.last_termination()").fetchall()
check(len(lt) == 1 and lt[0][0] == "57L01" and str(lt[0][1]) == str(lid6) and "pooler test" in lt[0][2],
      "last_termination() in the next transaction tells what ended it", lt)
with s.transaction():
    lt = s.execute("SELECT count(*) FROM governance.last_termination()").fetchone()[0]
check(lt == 0, "and forgets it after that transaction", lt)
s.close()

# governance.enforcement = terminate: 57L02 (direct: a FATAL ends the pooled server connection too)
admin("ALTER SYSTEM SET governance.enforcement = 'terminate'")
admin("SELECT pg_reload_conf()")
time.sleep(0.5)
lid7, art7 = authorize()
d = direct("po_bot", autocommit=True)
t = revoke_soon(lid7)
e = None
try:
    with d.transaction():
        d.execute("SELECT governance.attach(%s)", (art7,))
        d.execute("SELECT pg_sleep(10) FROM acct")
except psycopg.Error as x:
    e = x
t.join()
msg = str(e) if e is not None else ""
check(isinstance(e, psycopg.OperationalError)
      and ("terminating connection: governance lease %s was revoked" % lid7) in msg,
      "with governance.enforcement = terminate the session ends, the client told why", msg)
# libpq hands psycopg a FATAL as a broken connection, without its fields:
# the SQLSTATE the client was sent is in the server's log (verbose)
with open(SERVER_LOG) as f:
    logged = [l for l in f if ("terminating connection: governance lease %s" % lid7) in l]
check(any("FATAL:  57L02: " in l for l in logged), "with SQLSTATE 57L02", logged)
admin("ALTER SYSTEM RESET governance.enforcement")
admin("SELECT pg_reload_conf()")

# ---------------------------------------------------------------------
# application and reporting roles
# ---------------------------------------------------------------------
with pooled("po_app", autocommit=True) as c:
    e = err(c, "SELECT count(*) FROM acct")
check(isinstance(e, psycopg.errors.InsufficientPrivilege) and "cannot hold a lease" in str(e),
      "an application role that is no agent is told it cannot hold a lease, not shown zero rows", e)
lid8, art8 = None, None
with direct("po_rep", autocommit=True) as c:
    lid8, art8 = c.execute("SELECT lease_id, artifact FROM governance.authorize('Service::\"po-reporting\"', "
                           "'acct.select', 'Account::\"2\"')").fetchone()
with pooled("po_rep", autocommit=True) as c:
    with c.transaction():
        c.execute("SELECT governance.attach(%s)", (art8,))
        rows = c.execute("SELECT id FROM acct ORDER BY id").fetchall()
check(rows == [(2,)], "a reporting role registered as a service agent reads what its lease covers", rows)

print("# %d failed" % failed)
sys.exit(1 if failed else 0)
