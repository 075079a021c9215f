#!/usr/bin/python3
"""Presigned proofs for bench_pop (test/bench/run.sh): for each pgbench
client i < CLIENTS and seq 1..PER_CLIENT, a random nonce and the proof of
pop_signed.sql's request by Agent::"benchpop-<i>" under it, signed with
seed 50..50 by test/outside/pop_sign.py (outside the database).

usage: pop_proofs.py CLIENTS PER_CLIENT SERVER_KEY_ID OUT_DIR
Writes OUT_DIR/proofs.tsv (client, seq, proof) and OUT_DIR/nonces.tsv
(nonce as \\x hex), for COPY.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "outside"))
import pop_sign  # noqa: E402

clients, per, kid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
seed = "50" * 32
ctx = {"amount": 10, "region": "eu-west"}
with open(os.path.join(out, "proofs.tsv"), "w") as pf, open(os.path.join(out, "nonces.tsv"), "w") as nf:
    for c in range(clients):
        base = {"op": "authorize", "server_key_id": kid, "principal": 'Agent::"benchpop-%d"' % c,
                "action": "ops.run", "resource": 'Account::"%d"' % c, "context": ctx,
                "ttl_us": 3600 * 1000000}
        for s in range(1, per + 1):
            n = os.urandom(32).hex()
            r = dict(base, nonce=n)
            pf.write("%d\t%d\t%s\n" % (c, s, pop_sign.proof(seed, r)))
            nf.write("\\\\x%s\n" % n)
