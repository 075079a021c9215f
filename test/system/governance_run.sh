#!/bin/sh
# governance-run and the revocation channel (issue 13 section 2).
#
# The channel: a committed revocation (direct, cascaded) notifies
# governance_lease_end from the revoking backend, one payload per ended
# lease; a rolled-back revoke (ROLLBACK, ROLLBACK TO SAVEPOINT) sends
# nothing from its transaction (the enforcer makes the revocation, which
# shared memory already enforces, durable and notifies then); an expiry is
# notified by the enforcer.
#
# The supervisor: a command stopped by a revocation from another session
# (and how long it took), by expiry, by a measured file edited, by a policy
# change, by the database killed (kill -9: stopped no later than the
# lease's expiry); a command that ignores SIGTERM (SIGKILL after the
# grace period); the exit status passed through; the whole process group
# stopped; bad arguments; the ledger rows written.
#
# Proof of possession: a key-holding agent supervised with --key and
# --key-command (every authorize, heartbeat and attach signed; the public
# key computed by test/outside/pop_sign.py, an independent signer); a
# wrong key, no key, a key file of mode 0644, a malformed key, a 64-byte
# key whose halves do not match, require_agent_keys (refused, exit 77);
# the key rotated under a running command (exit 86); revoke_agent_key()
# stopping it (exit 80).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/run"
trap 'gov_stop "$C"; for p in $(cat "$W"/*.gpid 2>/dev/null); do kill -9 -"$p" 2>/dev/null; done' EXIT
GR="$PGBIN/governance-run"

gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" || exit 1
gov_start "$C" || exit 1

{ gov_agents_sql gr etl short; cat <<'EOF'; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('gr',
    'permit (principal in Group::"gr", action == Action::"etl.run", resource);');
ALTER ROLE gr_short SET governance.max_lease_ttl = '4s';
EOF
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted (enforcer running)"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
iso_ms() { echo $(( $(date -d "$1" +%s%N) / 1000000 )); }

# start NAME ROLE [options...] -- COMMAND...: governance-run in the
# background, its log in $W/NAME.log, its exit status in $W/NAME.rc
start() {
	_n=$1; _r=$2; shift 2
	rm -f "$W/$_n.rc"
	( timeout 120 "$GR" --dbname "host=$C port=5432 user=$_r dbname=postgres" \
		--principal "Agent::\"gr-${_r#gr_}\"" --action etl.run "$@" 2>"$W/$_n.log"
	  echo $? >"$W/$_n.rc" ) &
}
# wait_running NAME: until its log says running (10 s); prints the lease id
wait_running() {
	_i=0
	while [ $_i -lt 100 ]; do
		_l=$(grep -E ' running |"event":"running"' "$W/$1.log" 2>/dev/null) && {
			echo "$_l" | sed -E 's/.*lease_id(=|":")([0-9a-f-]{36}).*/\2/'; return 0; }
		[ -f "$W/$1.rc" ] && break
		sleep 0.1; _i=$((_i + 1))
	done
	echo "# $1 never ran: $(cat "$W/$1.log" 2>/dev/null)" >&2
	return 1
}
# wait_rc NAME SECONDS: until it exits; prints its exit status
wait_rc() {
	_i=0
	while [ $_i -lt $(($2 * 20)) ]; do
		[ -s "$W/$1.rc" ] && { cat "$W/$1.rc"; return 0; }
		sleep 0.05; _i=$((_i + 1))
	done
	echo "timeout"
}
# gone PIDFILE: every pid in it is gone or a zombie (an orphan waits for
# whoever adopted it to reap it), within 1 s
gone() {
	_i=0
	while [ $_i -lt 20 ]; do
		_alive=0
		for _p in $(cat "$1"); do
			[ "$(sed 's/.*) \(.\).*/\1/' "/proc/$_p/stat" 2>/dev/null || echo Z)" = Z ] || _alive=1
		done
		[ $_alive -eq 0 ] && return 0
		sleep 0.05; _i=$((_i + 1))
	done
	return 1
}
logts() { grep " $2 " "$W/$1.log" | head -n 1 | awk '{print $2}'; }

# ---------------------------------------------------------------------
# The revocation channel, seen by a listener (psycopg)
# ---------------------------------------------------------------------
cat >"$W/listen.py" <<'EOF'
import select, sys, time, psycopg
host, script = sys.argv[1], sys.argv[2]
lis = psycopg.connect(host=host, port=5432, dbname="postgres", user=sys.argv[3], autocommit=True)
lis.execute("LISTEN governance_lease_end")
adm = psycopg.connect(host=host, port=5432, dbname="postgres", user=sys.argv[3], autocommit=True)
enf = adm.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'governance enforcer'").fetchone()[0]
def auth(who="gr_etl", ttl="5 minutes"):
    c = psycopg.connect(host=host, port=5432, dbname="postgres", user=who, autocommit=True)
    r = c.execute("SELECT lease_id::text FROM governance.authorize('Agent::\"gr-etl\"', 'etl.run', 'Dataset::\"x\"', '{}', %s)", (ttl,)).fetchone()[0]
    return c, r
class N:
    def __init__(self, pid, payload):
        self.pid, self.payload = pid, payload
def drain(secs):
    """every notification that arrives within secs (libpq level: the
    psycopg of Debian 12 has no timeout on notifies())"""
    out, end = [], time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        select.select([lis.fileno()], [], [], left)
        lis.pgconn.consume_input()
        while (n := lis.pgconn.notifies()) is not None:
            out.append(N(n.be_pid, n.extra.decode()))
exec(open(script).read())
EOF
cat >"$W/channel.py" <<'EOF'
res = []
me = adm.execute("SELECT pg_backend_pid()").fetchone()[0]
# committed, direct
c, l1 = auth()
adm.execute("SELECT governance.revoke(%s, 'channel test')", (l1,))
ns = drain(1.0)
res.append(("committed", [(n.payload, n.pid == me) for n in ns if n.payload.startswith(l1)]))
# cascaded: a child delegated from l2
c, l2 = auth()
ch = c.execute("SELECT lease_id::text FROM governance.delegate(%s, 'Agent::\"gr-etl\"', 'etl.run', 'Dataset::\"x\"')", (l2,)).fetchone()[0]
adm.execute("SELECT governance.revoke(%s, 'cascade test')", (l2,))
ns = drain(1.0)
res.append(("cascade", sorted(n.payload.split(' ')[0] for n in ns if n.pid == me)))
res.append(("cascade_want", sorted([l2, ch])))
# rolled back: nothing from this backend; the enforcer notifies instead
c, l3 = auth()
with adm.transaction(force_rollback=True):
    adm.execute("SELECT governance.revoke(%s, 'rolled back')", (l3,))
ns = drain(3.0)
res.append(("rollback", [(n.pid == me, n.pid == enf, n.payload) for n in ns if n.payload.startswith(l3)]))
# ROLLBACK TO SAVEPOINT: the same
c, l4 = auth()
with adm.transaction():
    try:
        with adm.transaction():
            adm.execute("SELECT governance.revoke(%s, 'savepoint')", (l4,))
            raise RuntimeError
    except RuntimeError:
        pass
ns = drain(3.0)
res.append(("savepoint", [(n.pid == me, n.pid == enf, n.payload) for n in ns if n.payload.startswith(l4)]))
# expiry: the enforcer
c, l5 = auth(ttl="1 second")
ns = drain(4.0)
res.append(("expiry", [(n.pid == enf, n.payload) for n in ns if n.payload.startswith(l5)]))
# governance.notify_lease_end = off: revoked, and silent
adm.execute("ALTER SYSTEM SET governance.notify_lease_end = off")
adm.execute("SELECT pg_reload_conf()")
time.sleep(1.5)
c, l6 = auth()
adm.execute("SELECT governance.revoke(%s, 'silent')", (l6,))
ns = drain(2.5)
st = adm.execute("SELECT state FROM governance.leases WHERE lease_id = %s", (l6,)).fetchone()[0]
res.append(("off", (st, [n.payload for n in ns if n.payload.startswith(l6)])))
adm.execute("ALTER SYSTEM RESET governance.notify_lease_end")
adm.execute("SELECT pg_reload_conf()")
time.sleep(1)
for k, v in res:
    print(k, repr(v))
EOF
out=$("$SYS_PYTHON" "$W/listen.py" "$C" "$W/channel.py" "$GOV_DBUSER" 2>&1)
echo "$out" | sed 's/^/# /'
gov_like "^committed \[\('[0-9a-f-]{36} revoked channel test', True\)\]" "$out" \
	"a committed revoke notifies governance_lease_end once, from the revoking backend: '<id> revoked <reason>'"
want=$(echo "$out" | sed -n 's/^cascade_want //p')
gov_is "$want" "$(echo "$out" | sed -n 's/^cascade //p')" "a cascaded revocation notifies every lease of the tree"
gov_like "^rollback \[\(False, True, '[0-9a-f-]{36} revoked rolled back'\)\]$" "$out" \
	"a rolled-back revoke sends nothing from its transaction; the enforcer notifies when it makes the revocation durable"
gov_like "^savepoint \[\(False, True, '[0-9a-f-]{36} revoked savepoint'\)\]$" "$out" \
	"so does a revoke rolled back to a savepoint"
gov_like "^expiry \[\(True, '[0-9a-f-]{36} expired expired'\)\]$" "$out" "an expiry is notified by the enforcer"
gov_like "^off \('revoked', \[\]\)$" "$out" "governance.notify_lease_end = off: the lease is revoked and nothing is announced"

# ---------------------------------------------------------------------
# Exit status passed through; environment; ledger rows
# ---------------------------------------------------------------------
start pass gr_etl --resource 'Dataset::"sales"' --ttl 10 -- \
	sh -c 'echo "$GOVERNANCE_LEASE_ID" >"$0/pass.env"; echo "$GOVERNANCE_ARTIFACT" >>"$0/pass.env"; sleep 0.5; exit 7' "$W"
gov_is 7 "$(wait_rc pass 20)" "the command's exit status is passed through (7)"
id=$(sed -n 1p "$W/pass.env")
gov_like '^[0-9a-f-]{36}$' "$id" "the command sees GOVERNANCE_LEASE_ID"
gov_is "t" "$(q "SELECT valid OR reason LIKE '%revoked%' FROM governance.verify_artifact('$(sed -n 2p "$W/pass.env")')")" \
	"and GOVERNANCE_ARTIFACT, an artifact of the extension"
gov_is "$id" "$(q "SELECT claims->>'lease_id' FROM governance.verify_artifact('$(sed -n 2p "$W/pass.env")')")" \
	"the artifact is the lease's"
gov_is "run.start|run.stop" "$(q "SELECT string_agg(kind, '|' ORDER BY seq) FROM governance.ledger WHERE lease_id = '$id' AND kind LIKE 'run.%'")" \
	"run.start and run.stop are ledgered under the lease"
gov_is "exited|7" "$(q "SELECT payload->>'why' || '|' || (payload->>'status') FROM governance.ledger WHERE lease_id = '$id' AND kind = 'run.stop'")" \
	"run.stop says why and the status"
gov_like '^[0-9]+\|[0-9a-f]{128}$' "$(q "SELECT (payload->>'pid') || '|' || (payload->>'measurement') FROM governance.ledger WHERE lease_id = '$id' AND kind = 'run.start'")" \
	"run.start has the pid and the measurement"
gov_is "revoked|governance-run: the command exited with status 7" \
	"$(q "SELECT state || '|' || end_reason FROM governance.leases WHERE lease_id = '$id'")" \
	"a command that ends by itself gives its lease back (revoked)"
gov_is "t" "$(q "SELECT measurement = (SELECT decode(payload->>'measurement', 'hex') FROM governance.ledger WHERE lease_id = '$id' AND kind = 'run.start') FROM governance.leases WHERE lease_id = '$id'")" \
	"the lease is bound to the measurement governance-run computed"
# the measurement recomputed from docs/FORMAT.md section 18 alone
cat >"$W/measure.py" <<'PY'
import hashlib, os, shutil, struct, sys
def field(b): return struct.pack(">I", len(b)) + b
paths = [shutil.which(sys.argv[1])] + sys.argv[2:]
m = field(b"governance.v1.run-measurement") + field(struct.pack(">q", len(paths)))
for p in paths:
    p = os.path.realpath(p).encode()
    m += field(p) + field(hashlib.sha3_512(open(p, "rb").read()).digest())
print(hashlib.sha3_512(m).hexdigest())
PY
printf 'x\n' >"$W/m1"; printf 'y\n' >"$W/m2"
start meas gr_etl --resource 'Dataset::"sales"' --measure "$W/m1" --measure "$W/m2" -- true
gov_is 0 "$(wait_rc meas 20)" "a run with two measured files"
id=$(wait_running meas)
gov_is "$("$SYS_PYTHON" "$W/measure.py" true "$W/m1" "$W/m2" | sed 's/^/x/')" \
	"x$(q "SELECT encode(measurement, 'hex') FROM governance.leases WHERE lease_id = '$id'")" \
	"the lease's measurement is what docs/FORMAT.md section 18 computes (executable, then the files in order)"
start meas2 gr_etl --resource 'Dataset::"sales"' --measure "$W/m2" --measure "$W/m1" -- true
wait_rc meas2 20 >/dev/null
id2=$(wait_running meas2)
gov_is "f" "$(q "SELECT (SELECT measurement FROM governance.leases WHERE lease_id = '$id') = (SELECT measurement FROM governance.leases WHERE lease_id = '$id2')")" \
	"the order of the files matters"
start sig gr_etl --resource 'Dataset::"sales"' -- sh -c 'kill -9 $$'
gov_is 137 "$(wait_rc sig 20)" "a command killed by signal 9 gives 128+9"

# ---------------------------------------------------------------------
# Revocation from another session; the whole process group
# ---------------------------------------------------------------------
start rev gr_etl --resource 'Dataset::"sales"' --ttl 60 --json -- \
	sh -c 'sleep 300 & echo $! >"$0/rev.pids"; echo $$ >>"$0/rev.pids"; wait' "$W"
id=$(wait_running rev)
sleep 0.3
t0=$(now_ms)
q "SELECT governance.revoke('$id', 'stop it')" >/dev/null
t1=$(now_ms)
rc=$(wait_rc rev 10)
t2=$(now_ms)
gov_is 80 "$rc" "a revocation from another session stops the command: exit 80"
echo "# revoke committed after $((t1 - t0)) ms; governance-run exited $((t2 - t1)) ms after the commit (poll 50 ms)"
[ $((t2 - t1)) -lt 1000 ]; gov_ok $? "within 1 s of the commit (not at the next heartbeat, 20 s away)"
gone "$W/rev.pids"; gov_ok $? "the whole process group is gone (the shell and its background sleep)"
gov_like '"event":"stopping".*"why":"revoked".*"detail":"stop it"' "$(cat "$W/rev.log")" "--json: the stop and why, as JSON"
gov_is 0 "$(grep -cv '^{"ts":"[^"]*","event":"[a-z_]*"' "$W/rev.log")" "--json: every log line is a JSON object with ts and event"
gov_is "run.start" "$(q "SELECT string_agg(kind, '|' ORDER BY seq) FROM governance.ledger WHERE lease_id = '$id' AND kind LIKE 'run.%'")" \
	"the stop of a revoked lease is the extension's revocation event (nothing is written under a dead lease)"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE lease_id = '$id' AND kind = 'governance.revoke' AND payload->>'reason' = 'stop it'")" \
	"the revocation is ledgered with its reason"

# ---------------------------------------------------------------------
# A command that ignores SIGTERM: SIGKILL after the grace period
# ---------------------------------------------------------------------
start term gr_etl --resource 'Dataset::"sales"' --grace 1 -- \
	sh -c 'trap "" TERM; echo $$ >"$0/term.pids"; while :; do sleep 0.1; done' "$W"
id=$(wait_running term)
q "SELECT governance.revoke('$id', 'stubborn')" >/dev/null
gov_is 80 "$(wait_rc term 10)" "a command that ignores SIGTERM is still stopped"
gov_like ' killed .*signal=SIGKILL after_ms=1[0-9][0-9][0-9]' "$(cat "$W/term.log")" "with SIGKILL after the 1 s grace period"
gone "$W/term.pids"; gov_ok $? "and it is gone"

# ---------------------------------------------------------------------
# Expiry: a lease at its maximum lifetime (gr_short: 4 s)
# ---------------------------------------------------------------------
start exp gr_short --resource 'Dataset::"sales"' --ttl 2 --heartbeat 0.5 -- sleep 300
id=$(wait_running exp)
gov_is 81 "$(wait_rc exp 15)" "a lease that cannot be renewed past its maximum lifetime: stopped at expiry, exit 81"
exp_at=$(iso_ms "$(q "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM governance.leases WHERE lease_id = '$id'")")
stop_at=$(iso_ms "$(logts exp stopping)")
echo "# SIGTERM $((exp_at - stop_at)) ms before the expiry"
[ "$stop_at" -le "$exp_at" ]; gov_ok $? "the command was signalled before the lease expired"

# ---------------------------------------------------------------------
# A measured file edited
# ---------------------------------------------------------------------
# (a name with a double quote: the ledgered payload stays valid JSON)
JOB="$W/job\"q.sh"
printf 'while :; do sleep 0.1; done\n' >"$JOB"
start integ gr_etl --resource 'Dataset::"sales"' --heartbeat 0.5 --ttl 10 --measure "$JOB" -- sh "$JOB"
id=$(wait_running integ)
echo "# tampered" >>"$JOB"
t0=$(now_ms)
rc=$(wait_rc integ 10)
echo "# stopped $(( $(now_ms) - t0 )) ms after the edit (heartbeat every 500 ms)"
gov_is 82 "$rc" "a measured file edited stops the command: exit 82"
gov_like ' stopping why=integrity detail=".*job.*q.sh changed"' "$(cat "$W/integ.log")" "the log names the file"
gov_like '^revoked\|integrity: ' "$(q "SELECT state || '|' || end_reason FROM governance.leases WHERE lease_id = '$id'")" \
	"the lease is revoked by the server for integrity (the heartbeat with the new measurement)"
gov_like '^integrity\|.*job"q.sh$' "$(q "SELECT payload->>'why' || '|' || (payload->>'changed') FROM governance.ledger WHERE lease_id = '$id' AND kind = 'run.stop'")" \
	"run.stop is ledgered under the lease before it ends"

# ---------------------------------------------------------------------
# A policy change (forbid)
# ---------------------------------------------------------------------
start pol gr_etl --resource 'Dataset::"pol"' --heartbeat 0.5 --ttl 10 -- sleep 300
id=$(wait_running pol)
q "SELECT governance.create_policy('no_pol', 'forbid (principal, action, resource == Dataset::\"pol\");')" >/dev/null
gov_is 83 "$(wait_rc pol 10)" "a forbid policy stops the command at the next heartbeat: exit 83"
gov_like '^revoked\|policy: ' "$(q "SELECT state || '|' || end_reason FROM governance.leases WHERE lease_id = '$id'")" \
	"the lease is revoked: policy"
q "SELECT governance.drop_policy('no_pol')" >/dev/null

# ---------------------------------------------------------------------
# Trust degraded (the enforcer stopped with SIGSTOP)
# ---------------------------------------------------------------------
start trust gr_etl --resource 'Dataset::"sales"' --heartbeat 0.5 --ttl 30 -- sleep 300
id=$(wait_running trust)
EPID=$(q "SELECT pid FROM governance.workers WHERE name = 'enforcer'")
kill -STOP "$EPID"
rc=$(wait_rc trust 40)
kill -CONT "$EPID"
gov_is 84 "$rc" "trust degraded (the enforcer stopped): the command is stopped at the next heartbeat: exit 84"
gov_like ' stopping why=trust detail=".*trust degraded: the enforcer is not running' "$(cat "$W/trust.log")" "the log says why"
gov_wait_trusted "$C" 30
gov_ok $? "trust comes back with the enforcer"
gov_is "revoked|governance-run: stopped: trust degraded" "$(q "SELECT state || '|' || end_reason FROM governance.leases WHERE lease_id = '$id'")" \
	"governance-run gives the lease back (a degraded server revokes nothing by itself)"

# ---------------------------------------------------------------------
# Bad arguments, refusals
# ---------------------------------------------------------------------
badarg() {	# WANT_RC REGEX DESCRIPTION ARGS...
	_w=$1; _re=$2; _d=$3; shift 3
	_o=$(timeout 30 "$GR" "$@" 2>&1); _rc=$?
	gov_is "$_w" "$_rc" "$_d: exit $_w"
	gov_like "$_re" "$_o" "$_d: the message"
}
DB="host=$C port=5432 user=gr_etl dbname=postgres"
badarg 64 'principal, --action and --resource are required' "no principal" --action etl.run --resource 'Dataset::"a"' -- true
badarg 64 'no command to run' "no command" --principal 'Agent::"gr-etl"' --action etl.run --resource 'Dataset::"a"'
badarg 64 '--ttl must be a positive number of seconds, not \\"abc\\"' "a TTL that is not a number" --ttl abc --principal x --action y --resource z -- true
badarg 64 '--ttl must be a positive number' "a negative TTL" --ttl -5 --principal x --action y --resource z -- true
badarg 64 'must be shorter than --ttl' "a heartbeat longer than the TTL" --ttl 5 --heartbeat 9 --principal x --action y --resource z -- true
badarg 64 'unknown' "an unknown option" --bogus --principal x -- true
badarg 64 'must not be empty' "an empty principal" --principal '' --action y --resource z -- true
badarg 127 'not_found command=no-such-command-gr' "a command that does not exist" --principal x --action y --resource z -- no-such-command-gr
badarg 66 'cannot_measure file=.*nope' "a file to measure that does not exist" --measure "$W/nope" --principal x --action y --resource z -- true
badarg 69 'unavailable' "no database" --dbname "host=$W/nowhere port=5432" --principal x --action y --resource z -- true
badarg 65 'denied .*action=etl.delete' "a denied authorization" --dbname "$DB" --principal 'Agent::"gr-etl"' --action etl.delete --resource 'Dataset::"a"' -- true
badarg 65 'denied .*gr-short' "a principal the role may not act as" --dbname "$DB" --principal 'Agent::"gr-short"' --action etl.run --resource 'Dataset::"a"' -- true
badarg 69 'invalid input syntax for type json' "malformed context" --dbname "$DB" --context '{nope' --principal 'Agent::"gr-etl"' --action etl.run --resource 'Dataset::"a"' -- true
printf 'k' >"$W/key"; chmod 644 "$W/key"
badarg 64 'readable by others' "a key file readable by others" --key "$W/key" --principal x --action y --resource z -- true
chmod 600 "$W/key"
badarg 64 'holds no Ed25519 key' "a key file that holds no key" --key "$W/key" --principal x --action y --resource z -- true
badarg 64 'could not open key file' "a key file that does not exist" --key "$W/nokey" --principal x --action y --resource z -- true
badarg 64 'exclude each other' "--key and --key-command" --key "$W/key" --key-command true --principal x --action y --resource z -- true
badarg 64 'key-command failed' "a --key-command that fails" --key-command 'exit 3' --principal x --action y --resource z -- true
badarg 64 'key-command printed nothing' "a --key-command that prints nothing" --key-command true --principal x --action y --resource z -- true
head -c 5000 /dev/zero >"$W/hugekey"; chmod 600 "$W/hugekey"
badarg 64 'impossible size \(5000 bytes\)' "a key file of 5000 bytes" --key "$W/hugekey" --principal x --action y --resource z -- true
badarg 64 'printed more than 4096 bytes' "a --key-command that prints 5000 bytes" --key-command "cat '$W/hugekey'" --principal x --action y --resource z -- true
ln -s "$W/key" "$W/keylink"
badarg 64 'could not open key file .*keylink' "a key file that is a symbolic link" --key "$W/keylink" --principal x --action y --resource z -- true
badarg 64 'holds no Ed25519 key' "a key of 63 hex digits" --key-command "printf '%063d' 0" --principal x --action y --resource z -- true
gov_like 'NAME.*SYNOPSIS.*EXIT STATUS' "$("$GR" --help | tr '\n' ' ')" "--help is a manual page"

# ---------------------------------------------------------------------
# Proof of possession: an agent with a registered key (docs/FORMAT.md
# section 13).  Its public key is computed by test/outside/pop_sign.py
# (OpenSSL, not libsodium), so the signer in governance-run is checked
# against an independent implementation through the server's verifier.
# ---------------------------------------------------------------------
POPSIGN="$(dirname "$0")/../outside/pop_sign.py"
K1=$(printf '5a%.0s' $(seq 32))
K2=$(printf 'c3%.0s' $(seq 32))
PK1=$($SYS_PYTHON "$POPSIGN" pubkey "$K1")
PK2=$($SYS_PYTHON "$POPSIGN" pubkey "$K2")
cat <<EOF | gov_psql "$C" >/dev/null || echo "not ok - keyed agent setup"
SET client_min_messages = warning;
CREATE ROLE gr_keyed LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"gr-keyed"', 'gr_keyed', '\\x$PK1', 20);
SELECT governance.put_entity('Agent::"gr-keyed"', ARRAY['Group::"gr"'], '{}');
EOF
umask_old=$(umask); umask 077
echo "$K1" >"$W/k1.hex"                                   # the seed, hex, a newline
printf '%s%s' "$K1" "$PK1" | xxd -r -p >"$W/k1.raw64"      # libsodium's secret key, raw
printf '%s%s' "$K1" "$PK2" | xxd -r -p >"$W/bad.raw64"     # its public half someone else's
echo "$K2" >"$W/k2.hex"                                   # a key, not the agent's
umask "$umask_old"
KDB="host=$C port=5432 user=gr_keyed dbname=postgres"
pop_refusals() { q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.pop.refused' AND principal = 'Agent::\"gr-keyed\"'"; }
ref0=$(pop_refusals)

# signed: authorize, heartbeats, the start and stop records (attach); a
# context whose canonical form differs from what jsonb prints (key order,
# white space, numbers), so a wrong canonical encoding would be refused
start keyed gr_keyed --key "$W/k1.hex" --resource 'Dataset::"sales"' --ttl 3 --heartbeat 0.4 \
	--context '{"zz": [1, 2.50, {"b": "é\n", "a": null}], "y": true, "ab": 1e3, "b": "x"}' -- \
	sh -c 'printf %s "$GOVERNANCE_ARTIFACT" >"$0/keyed.art"; sleep 2.5; exit 3' "$W"
id=$(wait_running keyed)
gov_ok $? "a key-holding agent, supervised with its key: the command runs"
rc=$(wait_rc keyed 20)
gov_is 3 "$rc" "signed: the command's exit status passes through"
gov_like 'key_loaded agent_key_id=[0-9a-f]{16}' "$(cat "$W/keyed.log")" "the log names the key id (never the key)"
gov_ok "$( [ "$(grep -c ' renewed ' "$W/keyed.log")" -ge 3 ] && echo 0 || echo 1)" "signed heartbeats renew the lease ($(grep -c ' renewed ' "$W/keyed.log") renewals)"
gov_is "run.start run.stop" "$(q "SELECT string_agg(kind, ' ' ORDER BY seq) FROM governance.ledger WHERE lease_id = '$id' AND kind LIKE 'run.%'")" \
	"start and stop are recorded under the lease (signed attach)"
gov_is "$ref0" "$(pop_refusals)" "no proof was refused"
kid=$(sed -nE 's/.*key_loaded agent_key_id=([0-9a-f]{16}).*/\1/p' "$W/keyed.log")
gov_is "$kid" "$(q "SELECT claims->>'agent_key_id' FROM governance.verify_artifact('$(cat "$W/keyed.art")')")" \
	"the artifact carries the key id of the key governance-run signed with"
if grep -q "$K1" "$W/keyed.log"; then echo "not ok - the secret key reached the log"; else echo "ok - the secret key is not in the log"; fi

# libsodium's 64-byte secret key, raw, from --key-command
badarg 0 ' running ' "the 64-byte secret key from --key-command: runs" \
	--dbname "$KDB" --key-command "cat '$W/k1.raw64'" --principal 'Agent::"gr-keyed"' --action etl.run --resource 'Dataset::"a"' -- true
badarg 64 'does not match its seed' "a 64-byte secret key whose public half is not its seed's" \
	--dbname "$KDB" --key "$W/bad.raw64" --principal 'Agent::"gr-keyed"' --action etl.run --resource 'Dataset::"a"' -- true

# refused
badarg 77 'refused .*bad signature.*not the agent.s registered key' "a wrong key: refused" \
	--dbname "$KDB" --key "$W/k2.hex" --principal 'Agent::"gr-keyed"' --action etl.run --resource 'Dataset::"a"' -- touch "$W/wrongkey.ran"
gov_ok "$( [ -e "$W/wrongkey.ran" ] && echo 1 || echo 0)" "a wrong key: the command never started"
# a refused call's security event is ledgered by the enforcer from its ring
# (the caller's transaction aborted), so it lands a round later: wait for it
gov_wait "$C" "SELECT count(*) = $((ref0 + 1)) FROM governance.ledger WHERE kind = 'governance.pop.refused' AND principal = 'Agent::\"gr-keyed\"'" 10
gov_is "$((ref0 + 1))" "$(pop_refusals)" "a wrong key: the refusal is ledgered (governance.pop.refused)"
badarg 77 'refused .*proof required.*pass --key FILE or --key-command' "a key-holding agent without --key: refused, the message says what to do" \
	--dbname "$KDB" --principal 'Agent::"gr-keyed"' --action etl.run --resource 'Dataset::"a"' -- touch "$W/nokey.ran"
gov_ok "$( [ -e "$W/nokey.ran" ] && echo 1 || echo 0)" "without --key: the command never started"
chmod 644 "$W/k1.hex"
badarg 64 'readable by others \(mode 0644\)' "the agent's own key in a file of mode 0644: refused" \
	--dbname "$KDB" --key "$W/k1.hex" --principal 'Agent::"gr-keyed"' --action etl.run --resource 'Dataset::"a"' -- true
chmod 600 "$W/k1.hex"
q "ALTER ROLE gr_etl SET governance.require_agent_keys = on" >/dev/null
badarg 77 'refused .*agent has no key' "require_agent_keys on, an agent without a key, no --key: refused" \
	--dbname "$DB" --principal 'Agent::"gr-etl"' --action etl.run --resource 'Dataset::"a"' -- true
q "ALTER ROLE gr_etl RESET governance.require_agent_keys" >/dev/null
badarg 0 ' running ' "require_agent_keys off again: the same agent runs" \
	--dbname "$DB" --principal 'Agent::"gr-etl"' --action etl.run --resource 'Dataset::"a"' -- true

# the key rotated by an administrator under a running command: the next
# signed heartbeat is refused, and the command is stopped (no renewal can
# succeed with the old key) rather than left to run until the expiry
start keyrot gr_keyed --key "$W/k1.hex" --resource 'Dataset::"sales"' --ttl 30 --heartbeat 0.5 -- sleep 300
id=$(wait_running keyrot)
q "SELECT governance.rotate_agent_key('Agent::\"gr-keyed\"', '\\x$PK2')" >/dev/null
rc=$(wait_rc keyrot 10)
gov_is 86 "$rc" "the key rotated away: the next heartbeat's proof is refused, the command stopped: exit 86"
gov_like ' stopping why=proof detail=".*bad signature' "$(cat "$W/keyrot.log")" "the log says why"
gov_is "revoked|governance-run: stopped: a renewal's proof of possession was refused" \
	"$(q "SELECT state || '|' || end_reason FROM governance.leases WHERE lease_id = '$id'")" "and gives the lease back"
badarg 0 ' running ' "the new key runs" \
	--dbname "$KDB" --key "$W/k2.hex" --principal 'Agent::"gr-keyed"' --action etl.run --resource 'Dataset::"a"' -- true

# a compromised key: revoke_agent_key() ends every lease of the agent, and
# the supervised command with it (the revocation channel)
start keyrev gr_keyed --key "$W/k2.hex" --resource 'Dataset::"sales"' --ttl 30 --heartbeat 10 -- sleep 300
id=$(wait_running keyrev)
t0=$(now_ms)
gov_is 1 "$(q "SELECT governance.revoke_agent_key('Agent::\"gr-keyed\"', 'key compromised')")" "revoke_agent_key() revokes the supervised lease"
rc=$(wait_rc keyrev 10)
t1=$(now_ms)
gov_is 80 "$rc" "revoke_agent_key() stops the supervised command: exit 80"
echo "# revoke_agent_key() to governance-run exited: $((t1 - t0)) ms (polled every 50 ms)"
gov_ok "$( [ $((t1 - t0)) -le 3000 ] && echo 0 || echo 1)" "it stops within 3 s (the notification, not the 10 s heartbeat)"
gov_like ' stopping why=revoked' "$(cat "$W/keyrev.log")" "the log says revoked"
badarg 69 'limit is 0' "after revoke_agent_key() the agent may hold no lease, even with its old key" \
	--dbname "$KDB" --key "$W/k2.hex" --principal 'Agent::"gr-keyed"' --action etl.run --resource 'Dataset::"a"' -- true

# ---------------------------------------------------------------------
# The database killed (kill -9 the postmaster): fail closed at expiry
# ---------------------------------------------------------------------
start kill gr_etl --resource 'Dataset::"sales"' --ttl 3 --heartbeat 1 -- \
	sh -c 'echo $$ >"$0/kill.pids"; sleep 300 & echo $! >>"$0/kill.pids"; wait' "$W"
id=$(wait_running kill)
sleep 1.5
kill -9 "$(head -n 1 "$C/data/postmaster.pid")"
t0=$(now_ms)
gov_wait_dead "$C" 20
rc=$(wait_rc kill 15)
gov_is 85 "$rc" "the database killed under a supervised command stops it: exit 85"
gone "$W/kill.pids"; gov_ok $? "the whole process group is gone"
gov_like ' disconnected ' "$(cat "$W/kill.log")" "the log says it lost the database"
# the lease's last expiry, as the server committed it
gov_start "$C" || exit 1
exp_at=$(iso_ms "$(q "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM governance.leases WHERE lease_id = '$id'")")
stop_at=$(iso_ms "$(logts kill stopping)")
echo "# killed at +0; SIGTERM at +$((stop_at - t0)) ms; the lease's expiry at +$((exp_at - t0)) ms"
[ "$stop_at" -le "$exp_at" ]; gov_ok $? "SIGTERM no later than the lease's expiry"
