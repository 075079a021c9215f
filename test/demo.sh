#!/bin/sh
# make demo: set everything up like make test, start a throwaway cluster with
# governance preloaded, and walk through what the extension does, in order.
set -u
cd "$(dirname "$0")/.." || exit 1

sh test/deps.sh || exit 1
. test/lib.sh
make -s COPT=-Werror >/dev/null || { echo "build failed" >&2; exit 1; }
make -s install >/dev/null || { echo "install failed; as a non-root user run: sudo make install" >&2; exit 1; }

D=$(gov_tmpdir)/demo
gov_new_cluster "$D" || exit 1
trap 'gov_stop "$D"; rm -rf "$(dirname "$D")"' EXIT
gov_start "$D" || exit 1

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
run() {	# show the SQL, then its result
	printf '\n  \033[36m%s\033[0m\n' "$1"
	gov_psql "$D" -P pager=off -c "$1" 2>&1 | sed 's/^/    /'
}

say "1. A throwaway PostgreSQL 15 cluster is running with shared_preload_libraries = 'governance'."
echo "   Installing the extension creates schema governance and three roles:"
echo "   governance_admin, governance_agent and governance_auditor."
run "CREATE EXTENSION governance"

say "2. At its first start the server created its Ed25519 signing key (a file, mode 0600,"
echo "   in the data directory).  SQL never sees the secret half; only the public key:"
run "SELECT encode(governance.public_key(), 'hex') AS public_key, governance.current_key_id() AS key_id"
echo "   The key id is derived from the public key, so anyone can recompute it, and each"
echo "   key signs a statement about itself when it is recorded:"
run "SELECT key_id, created_at, retired_at, endorsed_by FROM governance.signing_keys"
ls -l "$D/data/governance_signing.key" | awk '{print "    key file: " $1 " " $3 " " $NF}'

say "3. Rotation: a new key becomes current, endorsed (signed) by the old one."
echo "   The old public key stays, so everything it ever signed still verifies."
run "SELECT governance.rotate_key() AS new_key_id"
run "SELECT key_id, retired_at IS NOT NULL AS retired, endorsed_by FROM governance.signing_keys ORDER BY created_at"
run "SELECT n.key_id, governance.ed25519_verify(n.endorsement,
            int4send(29) || convert_to('governance.v1.key-endorsement', 'UTF8') ||
            int4send(16) || convert_to(o.key_id, 'UTF8') || int4send(16) || convert_to(n.key_id, 'UTF8') ||
            int4send(32) || n.public_key ||
            int4send(8) || int8send((extract(epoch FROM n.created_at) * 1000000)::bigint),
            o.public_key) AS endorsement_verifies_under_retired_key
       FROM governance.signing_keys n JOIN governance.signing_keys o ON o.key_id = n.endorsed_by"

say "4. The hash functions behind all evidence: SHA3-512 and BLAKE2b-512."
run "SELECT encode(governance.sha3_512('abc'), 'hex') AS sha3_512_abc"
run "SELECT encode(governance.blake2b_512('abc'), 'hex') AS blake2b_512_abc"

say "5. Background workers (enforcer, sealer, verifier) run and report liveness."
sleep 1
run "SELECT name, pid IS NOT NULL AS running, state, starts FROM governance.workers"

say "6. Trust: every authorizing path asks this first and refuses when degraded."
run "SELECT governance.trust_state()"

say "Done.  The cluster is stopped and removed on exit."
