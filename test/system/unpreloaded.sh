#!/bin/sh
# D1: without shared_preload_libraries, CREATE EXTENSION warns and every
# function refuses with SQLSTATE 55000 and a hint naming the setting.
set -u
. "$(dirname "$0")/../lib.sh"
C=$(gov_tmpdir)/unpreloaded
gov_new_cluster "$C" "shared_preload_libraries = ''" || exit 1
trap 'gov_stop "$C"' EXIT
gov_start "$C" || exit 1

out=$(gov_psql "$C" -c "CREATE EXTENSION governance" 2>&1)
echo "$out" | grep -q "WARNING:  governance is not loaded via shared_preload_libraries"
gov_ok $? "CREATE EXTENSION warns that the library is not preloaded"

for f in "governance.sha3_512('x')" "governance.public_key()" "governance.trust_state()" \
         "governance.ed25519_verify('', '', '')" "* FROM governance.workers"; do
	out=$(gov_psql "$C" -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "SELECT $f" 2>&1)
	echo "$out" | grep -q "ERROR:  55000: governance must be loaded via shared_preload_libraries" &&
	echo "$out" | grep -q "HINT:  Add 'governance' to shared_preload_libraries"
	gov_ok $? "SELECT $f refuses with 55000 and the hint"
done
gov_stop "$C"
