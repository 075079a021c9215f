#!/bin/sh
# Issue 13, proof of possession: agents with a registered Ed25519 key sign
# authorize, delegate, heartbeat and attach (docs/FORMAT.md section 13).
# The signatures are made outside the database by test/outside/pop_sign.py
# (OpenSSL's Ed25519 via python3-cryptography, written from the format
# document), so the server's check is tested against an independent signer:
# signed, unsigned, stale, replayed, wrong-key and tampered requests for each
# function, savepoints, key rotation, compromise, require_agent_keys,
# privileges (test/system/lib/pop.py).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/pop"
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W"' EXIT
$SYS_PYTHON -c 'import psycopg, cryptography' 2>/dev/null ||
	{ echo "not ok - psycopg and cryptography are needed (python3-psycopg, python3-cryptography; test/deps.sh)"; exit 1; }
gov_new_cluster "$C" || exit 1
gov_start "$C" || exit 1
gov_sql "$C" "CREATE EXTENSION governance" >/dev/null 2>&1
gov_ok $(gov_wait_trusted "$C" 20; echo $?) "the cluster is trusted (enforcer running)"
GOV_VERIFY=$PGBIN/governance-verify GOV_DBUSER=$GOV_DBUSER $SYS_PYTHON "$(dirname "$0")/lib/pop.py" "$C"
