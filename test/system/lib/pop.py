#!/usr/bin/python3
"""Proof of possession (issue 13, docs/FORMAT.md section 13), end to end:
real psycopg sessions of real login roles, requests signed outside the
database by test/outside/pop_sign.py (OpenSSL's Ed25519 through the
`cryptography` package, from the format document, not the server's code).

usage: pop.py CLUSTER_DIR      (test/system/pop.sh starts the cluster)
Prints ok / not ok lines; exits 1 if any failed.
"""
import hashlib
import json
import os
import subprocess
import sys
import time

import psycopg
import psycopg.errors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "outside"))
import pop_sign  # noqa: E402

CLUSTER = sys.argv[1]
BOT = 'Agent::"pp-bot"'
SUB = 'Agent::"pp-sub"'
K1 = "11" * 32
K2 = "22" * 32
K3 = "33" * 32
KX = "77" * 32          # never registered: a thief's key
failed = 0
refusals = 0


def check(cond, what, got=None):
    global failed
    if cond:
        print("ok - %s" % what)
    else:
        failed += 1
        print("not ok - %s%s" % (what, "" if got is None else " (got: %r)" % (got,)))
    sys.stdout.flush()


def connect(user, autocommit=True):
    return psycopg.connect(host=CLUSTER, port=5432, dbname="postgres", user=user,
                           autocommit=autocommit)


ADMIN = connect(os.environ.get("GOV_DBUSER", "postgres"))


def admin(sql, *args):
    cur = ADMIN.execute(sql, args)
    return cur.fetchall() if cur.description else None


def challenge(conn):
    nonce, kid, _ = conn.execute("SELECT * FROM governance.challenge()").fetchone()
    return bytes(nonce).hex(), kid


def refused(fn, why, what):
    """fn() must fail with 28L01 and a message naming why."""
    global refusals
    try:
        fn()
    except psycopg.Error as e:
        ok = e.sqlstate == "28L01" and why in str(e)
        if e.sqlstate == "28L01":
            refusals += 1
        check(ok, what, None if ok else (e.sqlstate, str(e).splitlines()[0]))
        return
    check(False, what, "no error")


def raises(fn, sqlstate, what):
    global refusals
    try:
        fn()
    except psycopg.Error as e:
        refusals += e.sqlstate == "28L01"
        check(e.sqlstate == sqlstate, what, None if e.sqlstate == sqlstate else (e.sqlstate, str(e).splitlines()[0]))
        return
    check(False, what, "no error")


# --- setup ---------------------------------------------------------------
for stmt in [
    "CREATE ROLE pp_bot LOGIN IN ROLE governance_agent",
    "CREATE ROLE pp_sub LOGIN IN ROLE governance_agent",
    "CREATE ROLE pp_nokey LOGIN IN ROLE governance_agent",
    "CREATE ROLE pp_outsider LOGIN",
]:
    admin(stmt)
admin("SELECT governance.register_agent(%s, 'pp_bot', %s)", BOT, bytes.fromhex(pop_sign.pubkey(K1)))
admin("SELECT governance.register_agent(%s, 'pp_sub', %s)", SUB, bytes.fromhex(pop_sign.pubkey(K3)))
admin("SELECT governance.register_agent('Agent::\"pp-nokey\"', 'pp_nokey')")
admin("SELECT governance.put_entity('Dataset::\"sales\"', ARRAY[]::text[], '{}')")
admin("SELECT governance.put_entity('Dataset::\"sales-eu\"', ARRAY['Dataset::\"sales\"'], '{}')")
admin("SELECT governance.create_policy('pp', 'permit (principal, action, resource);')")

bot = connect("pp_bot")
sub = connect("pp_sub")
CTX = {"ticket": "T-1", "n": 3}
CTXJ = '{"n": 3, "ticket": "T-1"}'
TTL_US = 120 * 1000000


def auth_req(nonce, kid, resource='Dataset::"sales"', meas=None, ctx=CTX):
    return {"op": "authorize", "server_key_id": kid, "nonce": nonce, "principal": BOT,
            "action": "etl.run", "resource": resource, "context": ctx, "ttl_us": TTL_US,
            "measurement": meas}


def authorize(conn, proof, resource='Dataset::"sales"', meas=None, ctxj=CTXJ):
    return conn.execute(
        "SELECT decision, lease_id, artifact FROM governance.authorize(%s, 'etl.run', %s, %s::jsonb, "
        "'120 s', %s, proof => %s)",
        (BOT, resource, ctxj, None if meas is None else bytes.fromhex(meas), proof)).fetchone()


# --- authorize -----------------------------------------------------------
refused(lambda: authorize(bot, None), "proof required", "authorize: unsigned request of a key-holding agent is refused (28L01)")
raises(lambda: bot.execute("SELECT governance.authorize(%s, 'etl.run', 'Dataset::\"sales\"')", (BOT,)),
       "28L01", "authorize: the 0.1 call form without proof is refused too")
n, kid = challenge(bot)
p = pop_sign.proof(K1, auth_req(n, kid, meas="aa01"))
row = authorize(bot, p, meas="aa01")
check(row[0] == "allow" and row[2].startswith("gov1."), "authorize: a signed request is allowed", row)
LEASE, ART = row[1], row[2]
refused(lambda: authorize(bot, p, meas="aa01"), "unknown or used nonce", "authorize: the same proof replayed is refused")
n, kid = challenge(bot)
refused(lambda: authorize(bot, pop_sign.proof(KX, auth_req(n, kid))), "bad signature",
        "authorize: a request signed by another key is refused")
n, kid = challenge(bot)
refused(lambda: authorize(bot, pop_sign.proof(K1, auth_req(n, kid)), resource='Dataset::"sales-eu"'),
        "bad signature", "authorize: a signature over another resource is refused (the message binds it)")
n, kid = challenge(bot)
refused(lambda: authorize(bot, pop_sign.proof(K1, auth_req(n, kid, ctx={"ticket": "T-2", "n": 3}))),
        "bad signature", "authorize: a signature over another context is refused")
n, kid = challenge(bot)
refused(lambda: authorize(bot, pop_sign.proof(K1, auth_req(n, kid)), meas="ff"),
        "bad signature", "authorize: a signature over another measurement is refused")
n, kid = challenge(bot)
p = pop_sign.proof(K1, auth_req(n, kid))
admin("UPDATE governance.pop_challenges SET expires_at = now() - interval '1 s' WHERE nonce = %s", bytes.fromhex(n))
refused(lambda: authorize(bot, p), "nonce expired", "authorize: a stale nonce (past challenge_ttl) is refused")
n, kid = challenge(sub)
refused(lambda: authorize(bot, pop_sign.proof(K1, auth_req(n, kid))), "nonce issued to another role",
        "authorize: a nonce issued to another role is refused")
refused(lambda: authorize(bot, "pop1.AAAA.BBBB"), "malformed proof", "authorize: a malformed proof is refused")
refused(lambda: authorize(bot, ""), "malformed proof", "authorize: an empty proof is refused")
refused(lambda: authorize(bot, "pop1." + "A" * 5000), "malformed proof", "authorize: a huge proof is refused")
refused(lambda: authorize(bot, "pop1.%s.%s" % ("A" * 43, "A" * 86)), "unknown or used nonce",
        "authorize: a well-formed proof with a nonce never issued is refused")
row = ADMIN.execute("SELECT decision FROM governance.authorize(%s, 'etl.run', 'Dataset::\"sales\"')", (BOT,)).fetchone()
check(row[0] == "allow", "authorize: an administrator acting on the agent's behalf needs no proof", row)
check(admin("SELECT count(*) FROM governance.pop_challenges WHERE role_oid = 'pp_bot'::regrole")[0][0] >= 1,
      "refused requests leave their nonce until it expires (the refusal rolled the deletion back)")

# the artifact names the agent's key (docs/FORMAT.md sections 9, 13)
def key_id(pk_hex):
    """section 2: hex(BLAKE2b-512(field("governance.v1.key-id") || field(pk))[0:8])"""
    return hashlib.blake2b(pop_sign.field("governance.v1.key-id") + pop_sign.field(bytes.fromhex(pk_hex)),
                           digest_size=64).digest()[:8].hex()


KID1 = key_id(pop_sign.pubkey(K1))
claims = admin("SELECT valid, claims FROM governance.verify_artifact(%s)", ART)[0]
check(claims[0] and claims[1].get("agent_key_id") == KID1,
      "the artifact of a key-holding agent carries its key's thumbprint (verify_artifact)", claims)
SERVER_PK = bytes(admin("SELECT governance.public_key()")[0][0]).hex()
VA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "outside", "verify_artifact.py")
off = subprocess.run([sys.executable, VA, "--public-key", SERVER_PK, ART], capture_output=True, text=True)
check(off.returncode == 0 and json.loads(off.stdout).get("agent_key_id") == KID1,
      "the outside verifier (from docs/FORMAT.md) reads the thumbprint too", (off.returncode, off.stdout, off.stderr))
GV = os.environ.get("GOV_VERIFY")
check(GV and os.access(GV, os.X_OK), "governance-verify is installed", GV)
if GV:
    # downstream: a service challenges the bearer with its own nonce
    svc_nonce = os.urandom(32).hex()
    present = {"op": "present", "server_key_id": claims[1]["key_id"], "nonce": svc_nonce,
               "resource": 'Service::"billing"', "artifact": ART}
    pr = pop_sign.proof(K1, present)
    args = [GV, "--key", SERVER_PK, "pop", ART, "--agent-key", pop_sign.pubkey(K1), "--nonce", svc_nonce,
            "--audience", 'Service::"billing"', "--proof", pr]
    r = subprocess.run(args, capture_output=True, text=True)
    check(r.returncode == 0, "governance-verify pop: the artifact and a proof by the agent's key verify offline",
          (r.returncode, r.stdout, r.stderr))
    bad = subprocess.run(args[:-1] + [pop_sign.proof(KX, present)], capture_output=True, text=True)
    check(bad.returncode == 1 and "bad signature" in bad.stdout,
          "governance-verify pop: a proof by another key fails", (bad.returncode, bad.stdout))
    other = subprocess.run(args[:6] + [pop_sign.pubkey(KX)] + args[7:-1] + [pop_sign.proof(KX, present)],
                           capture_output=True, text=True)
    check(other.returncode == 1 and "thumbprint" in other.stdout,
          "governance-verify pop: a key other than the artifact's thumbprint fails, even with a valid signature",
          (other.returncode, other.stdout))
    wrongn = subprocess.run(args[:8] + [os.urandom(32).hex()] + args[9:], capture_output=True, text=True)
    check(wrongn.returncode == 1, "governance-verify pop: a proof over another challenge fails",
          (wrongn.returncode, wrongn.stdout))
    aud = subprocess.run(args[:10] + ['Service::"other"'] + args[11:], capture_output=True, text=True)
    check(aud.returncode == 1, "governance-verify pop: a proof for another audience fails", (aud.returncode, aud.stdout))
    nk = admin("SELECT artifact FROM governance.authorize('Agent::\"pp-nokey\"', 'etl.run', 'Dataset::\"sales\"')")[0][0]
    r = subprocess.run([GV, "--key", SERVER_PK, "pop", nk, "--agent-key", pop_sign.pubkey(K1), "--nonce", svc_nonce,
                        "--proof", pr], capture_output=True, text=True)
    check(r.returncode == 1 and "no agent key" in r.stdout,
          "governance-verify pop: an artifact without a thumbprint cannot prove possession", (r.returncode, r.stdout))
    r = subprocess.run([GV, "--key", SERVER_PK, "pop", ART, "--agent-key", pop_sign.pubkey(K1), "--nonce", svc_nonce,
                        "--proof", "pop1.%%%"], capture_output=True, text=True)
    check(r.returncode == 2, "governance-verify pop: a malformed proof is bad input (2)", (r.returncode, r.stdout, r.stderr))

# savepoints: a nonce consumed in a rolled-back subtransaction is usable
# again, by the same signed request only; once committed, never again
tx = connect("pp_bot", autocommit=False)
n, kid = challenge(tx)
tx.commit()
p = pop_sign.proof(K1, auth_req(n, kid))
tx.execute("SAVEPOINT s")
r1 = authorize(tx, p)
tx.execute("ROLLBACK TO SAVEPOINT s")
r2 = authorize(tx, p)
tx.commit()
check(r1[0] == "allow" and r2[0] == "allow" and r1[1] != r2[1],
      "savepoint: a proof whose use was rolled back to a savepoint is accepted once more", (r1, r2))
check(admin("SELECT count(*) FROM governance.leases WHERE lease_id = %s", r1[1])[0][0] == 0 and
      admin("SELECT count(*) FROM governance.leases WHERE lease_id = %s", r2[1])[0][0] == 1,
      "savepoint: only the committed use left a lease")
refused(lambda: authorize(bot, p), "unknown or used nonce", "savepoint: after the commit the proof is used up")
tx.close()

# concurrency: two sessions present one proof at once; the second waits for
# the first's row lock on the nonce and, once the first commits, finds it
# used (at most one committed request per nonce)
import threading  # noqa: E402
n, kid = challenge(bot)
p = pop_sign.proof(K1, auth_req(n, kid))
first = connect("pp_bot", autocommit=False)
r_first = authorize(first, p)
second_result = {}


def second():
    c2 = connect("pp_bot")
    try:
        second_result["row"] = authorize(c2, p)
    except psycopg.Error as e:
        second_result["err"] = (e.sqlstate, str(e))
    c2.close()


t = threading.Thread(target=second)
t.start()
time.sleep(1.0)
waited = t.is_alive()
first.commit()
t.join(20)
first.close()
err = second_result.get("err")
check(r_first[0] == "allow" and waited and err and err[0] == "28L01" and "unknown or used nonce" in err[1],
      "concurrency: a second session presenting the same proof waits for the first and is refused once it commits",
      (r_first, waited, second_result))
refusals += 1 if err and err[0] == "28L01" else 0

# --- heartbeat -----------------------------------------------------------


def hb_req(nonce, kid, lease=LEASE, meas="aa01"):
    return {"op": "heartbeat", "server_key_id": kid, "nonce": nonce, "lease_id": str(lease), "measurement": meas}


def heartbeat(proof, lease=LEASE, meas="aa01"):
    return bot.execute("SELECT governance.heartbeat(%s, %s, %s)", (lease, bytes.fromhex(meas), proof)).fetchone()[0]


refused(lambda: heartbeat(None), "proof required", "heartbeat: unsigned is refused")
n, kid = challenge(bot)
p = pop_sign.proof(K1, hb_req(n, kid))
check(heartbeat(p) is not None, "heartbeat: signed renews the lease")
refused(lambda: heartbeat(p), "unknown or used nonce", "heartbeat: replayed is refused")
n, kid = challenge(bot)
refused(lambda: heartbeat(pop_sign.proof(KX, hb_req(n, kid))), "bad signature", "heartbeat: wrong key is refused")
n, kid = challenge(bot)
refused(lambda: heartbeat(pop_sign.proof(K1, hb_req(n, kid, meas="bb"))), "bad signature",
        "heartbeat: a signature over another measurement is refused")
n, kid = challenge(bot)
p = pop_sign.proof(K1, hb_req(n, kid))
admin("UPDATE governance.pop_challenges SET expires_at = now() - interval '1 s' WHERE nonce = %s", bytes.fromhex(n))
refused(lambda: heartbeat(p), "nonce expired", "heartbeat: stale is refused")
check(admin("SELECT state FROM governance.leases WHERE lease_id = %s", LEASE)[0][0] == "live",
      "heartbeat: refused proofs revoke nothing (the lease is still live)")

# --- delegate ------------------------------------------------------------


def dg_req(nonce, kid, resource='Dataset::"sales-eu"'):
    return {"op": "delegate", "server_key_id": kid, "nonce": nonce, "principal": SUB, "action": "etl.run",
            "resource": resource, "context": {}, "ttl_us": 60 * 1000000, "lease_id": str(LEASE)}


def delegate(proof, resource='Dataset::"sales-eu"'):
    return bot.execute("SELECT decision, lease_id, artifact FROM governance.delegate(%s, %s, 'etl.run', %s, '{}', "
                       "'60 s', %s)", (LEASE, SUB, resource, proof)).fetchone()


refused(lambda: delegate(None), "proof required", "delegate: unsigned is refused")
n, kid = challenge(bot)
p = pop_sign.proof(K1, dg_req(n, kid))
row = delegate(p)
check(row[0] == "allow", "delegate: signed by the parent's holder is allowed", row)
CHILD, CHILD_ART = row[1], row[2]
refused(lambda: delegate(p), "unknown or used nonce", "delegate: replayed is refused")
n, kid = challenge(bot)
refused(lambda: delegate(pop_sign.proof(K3, dg_req(n, kid))), "bad signature",
        "delegate: signed by the child's key instead of the holder's is refused")
n, kid = challenge(bot)
refused(lambda: delegate(pop_sign.proof(K1, dg_req(n, kid)), resource='Dataset::"sales"'), "bad signature",
        "delegate: a signature over another resource is refused")
n, kid = challenge(bot)
p = pop_sign.proof(K1, dg_req(n, kid))
admin("UPDATE governance.pop_challenges SET expires_at = now() - interval '1 s' WHERE nonce = %s", bytes.fromhex(n))
refused(lambda: delegate(p), "nonce expired", "delegate: stale is refused")

# --- attach (in a transaction block, as attach requires) -----------------


def at_req(nonce, kid, art=ART, session=False):
    return {"op": "attach", "server_key_id": kid, "nonce": nonce, "artifact": art, "session": session}


def attach_with(make_proof, art=ART, sign_key=K1, user="pp_bot", expire=False):
    c = connect(user, autocommit=False)
    try:
        n, kid = challenge(c)
        proof = make_proof(n, kid) if make_proof else None
        if expire:
            c.commit()
            admin("UPDATE governance.pop_challenges SET expires_at = now() - interval '1 s' WHERE nonce = %s",
                  bytes.fromhex(n))
        return c.execute("SELECT governance.attach(%s, false, %s)", (art, proof)).fetchone()[0], proof
    finally:
        c.rollback()
        c.close()


refused(lambda: attach_with(None), "proof required", "attach: unsigned is refused")
got, _ = attach_with(lambda n, kid: pop_sign.proof(K1, at_req(n, kid)))
check(str(got) == str(LEASE), "attach: signed attaches the lease", got)
refused(lambda: attach_with(lambda n, kid: pop_sign.proof(KX, at_req(n, kid))), "bad signature",
        "attach: wrong key is refused")
refused(lambda: attach_with(lambda n, kid: pop_sign.proof(K1, at_req(n, kid, session=True))), "bad signature",
        "attach: a signature for a session attach does not serve a transaction attach")
refused(lambda: attach_with(lambda n, kid: pop_sign.proof(K1, at_req(n, kid)), expire=True), "nonce expired",
        "attach: stale is refused")
# replay: a committed attach's proof, presented again
c = connect("pp_bot", autocommit=False)
n, kid = challenge(c)
c.commit()
p = pop_sign.proof(K1, at_req(n, kid))
c.execute("SELECT governance.attach(%s, false, %s)", (ART, p))
c.commit()
try:
    c.execute("SELECT governance.attach(%s, false, %s)", (ART, p))
    check(False, "attach: replayed is refused", "no error")
except psycopg.Error as e:
    refusals += e.sqlstate == "28L01"
    check(e.sqlstate == "28L01" and "unknown or used nonce" in str(e), "attach: replayed is refused", e.sqlstate)
c.rollback()
c.close()
# the child lease's agent has its own key: the child's artifact needs K3
got, _ = attach_with(lambda n, kid: pop_sign.proof(K3, at_req(n, kid, art=CHILD_ART)), art=CHILD_ART, user="pp_sub")
check(str(got) == str(CHILD), "attach: a delegated lease is attached with its own agent's key", got)

# --- security events ---------------------------------------------------------
deadline = time.time() + 20
want = refusals
while time.time() < deadline:
    got = admin("SELECT count(*) FROM governance.ledger WHERE kind = 'governance.pop.refused'")[0][0]
    if got >= want:
        break
    time.sleep(0.2)
check(got == want, "every refusal (%d) is ledgered as governance.pop.refused, although each call failed" % want, got)
det = admin("SELECT payload->>'detail' FROM governance.ledger WHERE kind = 'governance.pop.refused' "
            "AND payload->>'detail' LIKE 'heartbeat: bad signature%%' LIMIT 1")
check(det and det[0][0].startswith("heartbeat: bad signature"), "a refusal's event names the operation and why", det)
hb = admin("SELECT count(*) FROM governance.ledger WHERE kind = 'governance.pop.refused' AND lease_id = %s", LEASE)[0][0]
check(hb >= 4, "refusals of heartbeat and attach go on the lease's own chain", hb)

# --- rotation ----------------------------------------------------------------
newpk = pop_sign.pubkey(K2)
raises(lambda: bot.execute("SELECT governance.rotate_agent_key(%s, %s)", (BOT, bytes.fromhex(newpk))), "28L01",
       "rotate_agent_key: by the agent without a proof is refused")
n, kid = challenge(bot)
raises(lambda: bot.execute("SELECT governance.rotate_agent_key(%s, %s, %s)", (
    BOT, bytes.fromhex(newpk), pop_sign.proof(K1, {"op": "rotate-key", "server_key_id": kid, "nonce": n,
                                                    "principal": BOT, "new_key": pop_sign.pubkey(KX)}))),
       "28L01", "rotate_agent_key: a proof naming another new key is refused")
raises(lambda: sub.execute("SELECT governance.rotate_agent_key(%s, %s)", (BOT, bytes.fromhex(newpk))), "42501",
       "rotate_agent_key: another agent may not rotate the key")
n, kid = challenge(bot)
kid2 = bot.execute("SELECT governance.rotate_agent_key(%s, %s, %s)", (
    BOT, bytes.fromhex(newpk), pop_sign.proof(K1, {"op": "rotate-key", "server_key_id": kid, "nonce": n,
                                                    "principal": BOT, "new_key": newpk}))).fetchone()[0]
check(len(kid2) == 16, "rotate_agent_key: signed by the old key, the agent rotates; returns the new key id", kid2)
n, kid = challenge(bot)
refused(lambda: heartbeat(pop_sign.proof(K1, hb_req(n, kid))), "bad signature",
        "rotation: the old key is refused afterwards")
n, kid = challenge(bot)
check(heartbeat(pop_sign.proof(K2, hb_req(n, kid))) is not None, "rotation: the new key is accepted")
ev = admin("SELECT payload->>'new_key_id', payload->>'signed_by_old_key' FROM governance.ledger "
           "WHERE kind = 'governance.agent.key_rotated' ORDER BY seq DESC LIMIT 1")
check(ev and ev[0] == (kid2, "true"), "rotation is ledgered with the new key id", ev)
raises(lambda: ADMIN.execute("SELECT governance.rotate_agent_key(%s, '\\x00'::bytea)", (BOT,)), "22023",
       "rotate_agent_key: a key of the wrong length is refused")
raises(lambda: ADMIN.execute("SELECT governance.rotate_agent_key(NULL, %s)", (bytes.fromhex(newpk),)), "22004",
       "rotate_agent_key: a NULL principal is refused")
raises(lambda: ADMIN.execute("SELECT governance.rotate_agent_key('Agent::\"nobody\"', %s)", (bytes.fromhex(newpk),)),
       "42704", "rotate_agent_key: an unregistered principal is refused")

# --- compromise ----------------------------------------------------------------
raises(lambda: bot.execute("SELECT governance.revoke_agent_key(%s, 'stolen')", (BOT,)), "42501",
       "revoke_agent_key: agents may not call it")
live = admin("SELECT count(*) FROM governance.leases WHERE principal = %s AND state = 'live'", BOT)[0][0]
ended = admin("SELECT governance.revoke_agent_key(%s, 'key stolen')", BOT)[0][0]
check(live >= 2 and ended >= live, "revoke_agent_key: revokes every live lease of the agent (%d)" % live, ended)
check(admin("SELECT count(*) FROM governance.leases WHERE principal = %s AND state = 'live'", BOT)[0][0] == 0,
      "compromise: no live lease of the agent is left")
check(admin("SELECT state FROM governance.leases WHERE lease_id = %s", CHILD)[0][0] == "revoked",
      "compromise: the leases delegated from its leases end too")
raises(lambda: authorize(bot, None), "53400", "compromise: the agent, keyless now, can hold no lease (no key-less fallback)")
raises(lambda: ADMIN.execute("SELECT governance.register_agent(%s, 'pp_bot', %s)", (BOT, bytes.fromhex(newpk))),
       "22023", "compromise: the revoked key cannot be registered again")
raises(lambda: ADMIN.execute("SELECT governance.rotate_agent_key(%s, %s)", (BOT, bytes.fromhex(newpk))),
       "22023", "compromise: nor be rotated in")
ev = admin("SELECT payload->>'leases_revoked' FROM governance.ledger WHERE kind = 'governance.agent.key_revoked'")
check(ev and int(ev[0][0]) == ended, "compromise is ledgered with the number of leases revoked", ev)

# --- the GUC -------------------------------------------------------------------
nk = connect("pp_nokey")
row = nk.execute("SELECT decision FROM governance.authorize('Agent::\"pp-nokey\"', 'etl.run', 'Dataset::\"sales\"')").fetchone()
check(row[0] == "allow", "an agent without a key needs no proof by default", row)
raises(lambda: nk.execute("SET governance.require_agent_keys = off"), "42501",
       "governance.require_agent_keys cannot be changed by an agent")
admin("ALTER ROLE pp_nokey SET governance.require_agent_keys = on")
nk.close()
nk = connect("pp_nokey")
try:
    nk.execute("SELECT governance.authorize('Agent::\"pp-nokey\"', 'etl.run', 'Dataset::\"sales\"')")
    check(False, "require_agent_keys: an agent without a key is refused", "no error")
except psycopg.Error as e:
    check(e.sqlstate == "28L01" and "agent has no key" in str(e), "require_agent_keys: an agent without a key is refused",
          e.sqlstate)

# --- privileges and bad input of challenge() -------------------------------------
out = connect("pp_outsider")
raises(lambda: out.execute("SELECT governance.challenge()"), "42501", "challenge: a role without the grant is refused")
raises(lambda: out.execute("SELECT governance.rotate_agent_key(%s, %s)", (BOT, bytes.fromhex(newpk))), "42501",
       "rotate_agent_key: a role without the grant is refused")
n1, _ = challenge(sub)
n2, _ = challenge(sub)
check(n1 != n2 and len(n1) == 64, "challenge: 32 fresh random bytes each time")

admin("CREATE ROLE pp_cap LOGIN IN ROLE governance_agent")
admin("ALTER ROLE pp_cap SET governance.max_challenges_per_role = 3")
cap = connect("pp_cap")
for _ in range(3):
    challenge(cap)
raises(lambda: challenge(cap), "53400", "challenge: a role holding governance.max_challenges_per_role unused ones is refused")
admin("UPDATE governance.pop_challenges SET expires_at = now() - interval '1 s' WHERE role_oid = 'pp_cap'::regrole")
n1, _ = challenge(cap)
check(admin("SELECT count(*) FROM governance.pop_challenges WHERE role_oid = 'pp_cap'::regrole")[0][0] == 1,
      "challenge: expired challenges of the caller are cleared (then it may ask again)")

print("# %d failed" % failed)
sys.exit(1 if failed else 0)
