#!/bin/sh
# Install what building and testing governance needs, on Debian 12.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -eu

PKGS="postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl libsodium-dev libssl-dev libpq-dev python3 python3-nacl python3-yaml python3-cryptography pgbouncer python3-psycopg"
PKGS="$PKGS graphviz"	# issue 12: test/system/lineage_dot.sh renders lineage_dot() with dot
PKGS="$PKGS nodejs"; command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"	# issue 17: test/cedar (a nodejs that ships npm needs no npm package)
[ "${GOV_DEPS_EXTRA:-}" ] && PKGS="$PKGS $GOV_DEPS_EXTRA"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "governance: missing packages:$missing" >&2
	echo "run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

echo "governance: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null
