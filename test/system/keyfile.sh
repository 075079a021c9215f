#!/bin/sh
# The server key file (D3): created 0600 on first start; refused when others
# can read it, when it has the wrong size or cannot be read, leaving the
# extension fail-closed; a key command works; the key never reaches the log;
# a rotated key survives restart and a crash of a backend.
set -u
. "$(dirname "$0")/../lib.sh"
C=$(gov_tmpdir)/keys
gov_new_cluster "$C" || exit 1
trap 'gov_stop "$C"' EXIT
KEY="$C/data/governance_signing.key"

gov_start "$C" || exit 1
gov_sql "$C" "CREATE EXTENSION governance" >/dev/null 2>&1

[ -f "$KEY" ]; gov_ok $? "key file created on first start"
mode=$(stat -c %a "$KEY")
[ "$mode" = "600" ]; gov_ok $? "key file mode is 0600 (got $mode)"
[ "$(gov_sql "$C" "SELECT governance.trust_state()")" = "trusted" ]; gov_ok $? "trusted with a good key"

# the public key the server reports is the one derived from the file's seed
pk_file=$($SYS_PYTHON -c "
import nacl.signing,sys
seed=bytes.fromhex(open('$KEY').read().strip())
print(nacl.signing.SigningKey(seed).verify_key.encode().hex())")
pk_sql=$(gov_sql "$C" "SELECT encode(governance.public_key(), 'hex')")
[ -n "$pk_file" ] && [ "$pk_file" = "$pk_sql" ]; gov_ok $? "public key matches the seed in the key file"

# rotation survives a restart and a backend crash (postmaster reinitialises)
new_id=$(gov_sql "$C" "SELECT governance.rotate_key()")
gov_stop "$C"; gov_start "$C"
[ "$(gov_sql "$C" "SELECT governance.current_key_id()")" = "$new_id" ]; gov_ok $? "rotated key is current after restart"
newer_id=$(gov_sql "$C" "SELECT governance.rotate_key()")
$GOV_RUNAS kill -9 "$(gov_sql "$C" "SELECT pid FROM governance.workers WHERE name = 'sealer'")"
sleep 3
for i in 1 2 3 4 5 6 7 8 9 10; do gov_sql "$C" "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
[ "$(gov_sql "$C" "SELECT governance.current_key_id()")" = "$newer_id" ]; gov_ok $? "rotated key is current after crash recovery"
[ "$(gov_sql "$C" "SELECT key_id FROM governance.signing_keys WHERE retired_at IS NULL")" = "$newer_id" ]
gov_ok $? "the key table agrees after crash recovery"
[ "$(stat -c %a "$KEY")" = "600" ]; gov_ok $? "rotated key file is still mode 0600"

# the key never reaches the log
seed=$(tr -d '\n' <"$KEY")
! grep -qi "$seed" "$C/server.log"; gov_ok $? "the key seed does not appear in the server log"

degraded_case() {	# degraded_case DESCRIPTION EXPECTED-REASON-FRAGMENT
	gov_stop "$C"
	: >"$C/server.log"
	gov_start "$C" || { gov_ok 1 "$1: server starts"; return; }
	gov_ok 0 "$1: server still starts"
	st=$(gov_sql "$C" "SELECT governance.trust_state()")
	case "$st" in
		"degraded: signing key unavailable: "*"$2"*) gov_ok 0 "$1: trust_state says why ($st)";;
		*) gov_ok 1 "$1: trust_state says why (got: $st)";;
	esac
	grep -q "signing key unavailable" "$C/server.log"; gov_ok $? "$1: the log says so at start"
	out=$(gov_sql "$C" "SELECT governance.rotate_key()" 2>&1)
	echo "$out" | grep -q "signing key unavailable"; gov_ok $? "$1: nothing can be signed"
	out=$(gov_sql "$C" "SELECT governance.public_key()" 2>&1)
	echo "$out" | grep -q "signing key unavailable"; gov_ok $? "$1: no public key is claimed"
}

cp -p "$KEY" "$C/key.good"
chmod 0644 "$KEY"
degraded_case "world-readable key file" "group or world access"

chmod 0640 "$KEY"
degraded_case "group-readable key file" "group or world access"

printf '0123456789abcdef\n' >"$KEY"; chmod 0600 "$KEY"
degraded_case "short key file" "64 hexadecimal digits"

head -c 32 /dev/urandom >"$KEY"; chmod 0600 "$KEY"
degraded_case "raw binary key file" "64 hexadecimal digits"

cp -p "$C/key.good" "$KEY"; chmod 0000 "$KEY"
degraded_case "unreadable key file" "could not open key file"

gov_conf "$C" "governance.key_command = 'false'"
degraded_case "failing key command" "governance.key_command failed"

# a working key command: the server uses its seed
seed=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
gov_conf "$C" "governance.key_command = 'echo $seed'"
gov_stop "$C"; gov_start "$C"
want=$($SYS_PYTHON -c "import nacl.signing; print(nacl.signing.SigningKey(bytes.fromhex('$seed')).verify_key.encode().hex())")
[ "$(gov_sql "$C" "SELECT encode(governance.public_key(), 'hex')")" = "$want" ]
gov_ok $? "key command supplies the key"
out=$(gov_sql "$C" "SELECT governance.rotate_key()" 2>&1)
echo "$out" | grep -q "cannot rotate a key supplied by governance.key_command"
gov_ok $? "a key from a command cannot be rotated from SQL"
! grep -qi "$seed" "$C/server.log"; gov_ok $? "the seed from the command is not logged"
[ "$(gov_sql "$C" "SELECT count(*) FROM governance.signing_keys WHERE retired_at IS NULL AND endorsed_by IS NULL AND key_id = governance.current_key_id()")" = "1" ]
gov_ok $? "a key that appeared without rotation is recorded, unendorsed"

gov_stop "$C"
