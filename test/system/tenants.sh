#!/bin/sh
# Issue 15 item 2, tenants: a lease's tenant is derived at authorize() from
# the principal's ancestor of type Tenant (put_entity parents, transitively)
# and inherited by delegate() (even to a principal of another tenant);
# none gives NULL, two are refused (22023).  governance.export_tenant()
# gives a proof of each of one tenant's executions, none of another's,
# each verified offline by governance-verify proof; an edited proof fails.
# The tenant is evidence: the "tenant" member of the execution's
# governance.authorize event, reported by governance-verify proof and
# checked by --tenant; an edited leases.tenant is reported by
# verify_ledger() and refused by export_tenant().
# Bad input (NULL, empty, huge, malformed), privileges (42501 for an
# agent) and SAVEPOINT / ROLLBACK TO (the rolled-back lease is nobody's).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
GV="$PGBIN/governance-verify"
T=$(gov_tmpdir)
C=$T/tenants
W=$(mktemp -d "${TMPDIR:-/tmp}/governance-tenants.XXXXXX")
chmod 777 "$W"
gov_new_cluster "$C" "governance.max_block_rows = 5" || exit 1
trap 'gov_stop "$C"; [ -n "${GOV_KEEP:-}" ] || rm -rf "$W" "$T"' EXIT
gov_start "$C" || exit 1

{
	gov_agents_sql tn acme1 acme2 glob1 none1 two1
	cat <<'EOF'
CREATE ROLE tn_auditor LOGIN IN ROLE governance_auditor;
SELECT governance.put_entity('Tenant::"acme"', '{}', '{}');
SELECT governance.put_entity('Tenant::"globex"', '{}', '{}');
SELECT governance.put_entity('Team::"acme-ops"', ARRAY['Tenant::"acme"'], '{}');
-- acme1 through a team (transitively), acme2 directly, glob1 in globex,
-- none1 in no tenant, two1 in both
SELECT governance.put_entity('Agent::"tn-acme1"', ARRAY['Group::"tn"', 'Team::"acme-ops"'], '{}');
SELECT governance.put_entity('Agent::"tn-acme2"', ARRAY['Group::"tn"', 'Tenant::"acme"'], '{}');
SELECT governance.put_entity('Agent::"tn-glob1"', ARRAY['Group::"tn"', 'Tenant::"globex"'], '{}');
SELECT governance.put_entity('Agent::"tn-two1"', ARRAY['Group::"tn"', 'Tenant::"acme"', 'Tenant::"globex"'], '{}');
SELECT governance.create_policy('tn', 'permit (principal in Group::"tn", action == Action::"tool.run", resource);');
EOF
} | gov_psql "$C" >/dev/null
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"

auth() {
	gov_sql_as "$C" "tn_$1" "SELECT lease_id || ' ' || artifact FROM governance.authorize('Agent::\"tn-$1\"', 'tool.run', 'Tool::\"t\"')"
}
tenant() { q "SELECT coalesce(tenant, 'NULL') FROM governance.leases WHERE lease_id = '$1'"; }
set -- $(auth acme1); la=$1; arta=$2
set -- $(auth acme2); la2=$1
set -- $(auth glob1); lg=$1; artg=$2
set -- $(auth none1); ln=$1
gov_is 'Tenant::"acme"' "$(tenant "$la")" "a principal within a team within Tenant::\"acme\" gets that tenant"
gov_is 'Tenant::"acme"' "$(tenant "$la2")" "a principal directly in Tenant::\"acme\" gets it"
gov_is 'Tenant::"globex"' "$(tenant "$lg")" "a principal in Tenant::\"globex\" gets globex"
gov_is NULL "$(tenant "$ln")" "a principal in no tenant: NULL"
err=$(gov_psql "$C" -U tn_two1 -v VERBOSITY=verbose -Atc "SELECT governance.authorize('Agent::\"tn-two1\"', 'tool.run', 'Tool::\"t\"')" 2>&1)
gov_like "22023.*more than one tenant" "$err" "a principal in two tenants is refused (22023)"
gov_is 0 "$(q "SELECT count(*) FROM governance.leases WHERE principal = 'Agent::\"tn-two1\"'")" "and gets no lease"

# delegate: inherited, even to a principal of another tenant
sub=$(gov_sql_as "$C" tn_acme1 "SELECT lease_id FROM governance.delegate('$la', 'Agent::\"tn-glob1\"', 'tool.run', 'Tool::\"t\"')")
gov_is 'Tenant::"acme"' "$(tenant "$sub")" "delegate() inherits the parent's tenant (acme), not the delegate's (globex)"

# activity, sealed
for x in "tn_acme1:$arta" "tn_glob1:$artg"; do
	gov_psql "$C" -U "${x%%:*}" -c "BEGIN" -c "SELECT governance.attach('${x#*:}')" \
		-c "SELECT count(governance.record('tool.call', jsonb_build_object('i', g))) FROM generate_series(1, 6) g" -c "COMMIT" >/dev/null
done
q "SELECT governance.seal()" >/dev/null
q "SELECT encode(governance.public_key(), 'hex')" >"$W/pub"

# SAVEPOINT / ROLLBACK TO: the lease rolled back is in no tenant's export
gov_psql "$C" -U tn_acme2 -c "BEGIN" -c "SAVEPOINT s" \
	-c "SELECT governance.authorize('Agent::\"tn-acme2\"', 'tool.run', 'Tool::\"rolled-back\"')" \
	-c "ROLLBACK TO SAVEPOINT s" -c "COMMIT" >/dev/null
gov_is 0 "$(q "SELECT count(*) FROM governance.leases WHERE resource = 'Tool::\"rolled-back\"'")" "a lease rolled back to a savepoint leaves no row"

gov_is 2 "$(gov_sql_as "$C" tn_auditor "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme\"')")" \
	"export_tenant(acme): its two executions (the delegation is inside its root's proof)"
gov_is 0 "$(gov_sql_as "$C" tn_auditor "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme\"') WHERE lease_id IN ('$lg', '$ln', '$sub')")" \
	"and none of globex's, of no tenant's, nor the delegated lease on its own"
gov_psql "$C" -U tn_auditor -At -c "SELECT proof FROM governance.export_tenant('Tenant::\"acme\"') WHERE lease_id = '$la'" >"$W/proof_a.txt"
gov_psql "$C" -U tn_auditor -At -c "SELECT proof FROM governance.export_tenant('Tenant::\"globex\"')" >"$W/proof_g.txt"
sed -i '$d' "$W/proof_a.txt"; sed -i '$d' "$W/proof_g.txt"	# psql's own line feed after the value's
"$GV" --key "$W/pub" proof "$W/proof_a.txt" >"$W/va.out" 2>&1
gov_is 0 $? "governance-verify proof verifies acme's execution offline: $(cat "$W/va.out")"
grep -q "$sub" "$W/proof_a.txt" 2>/dev/null || grep -q "$(echo "$sub" | tr -d -)" "$W/proof_a.txt"
gov_ok $? "acme's proof holds the delegated lease"
"$GV" --key "$W/pub" proof "$W/proof_g.txt" >"$W/vg.out" 2>&1
gov_is 0 $? "and globex's: $(cat "$W/vg.out")"
$SYS_PYTHON - "$W/proof_a.txt" "$W/proof_e.txt" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = [i for i, l in enumerate(lines) if l.startswith("row ")][-1]
t = lines[i].split(" ")
k = next(k for k, x in enumerate(t) if len(x) == 128 and all(c in "0123456789abcdef" for c in x))
t[k] = ("0" if t[k][0] != "0" else "1") + t[k][1:]
lines[i] = " ".join(t)
open(sys.argv[2], "w").write("\n".join(lines))
EOF
"$GV" --key "$W/pub" proof "$W/proof_e.txt" >"$W/ve.out" 2>&1
gov_is 1 $? "an edited evidence hash in a tenant's proof fails: $(cat "$W/ve.out")"

# The tenant is evidence: the "tenant" member of each execution's
# governance.authorize event (FORMAT.md section 15), inside its evidence
# hash; governance-verify proof reports it and --tenant checks it.
gov_like 'tenant Tenant::"acme"' "$(cat "$W/va.out")" "governance-verify proof reports acme's execution as of Tenant::\"acme\""
gov_like 'tenant Tenant::"globex"' "$(cat "$W/vg.out")" "and globex's as of Tenant::\"globex\""
"$GV" --key "$W/pub" --tenant 'Tenant::"acme"' proof "$W/proof_a.txt" >"$W/vt.out" 2>&1
gov_is 0 $? "--tenant Tenant::\"acme\" accepts acme's export: $(cat "$W/vt.out")"
"$GV" --key "$W/pub" --tenant 'Tenant::"globex"' proof "$W/proof_a.txt" >"$W/vt.out" 2>&1
gov_is 1 $? "--tenant Tenant::\"globex\" refuses acme's export (exit 1, tampering found)"
gov_like 'FAILED: the execution of lease .* is not of tenant Tenant::"globex": its governance.authorize event at row [0-9]+ names Tenant::"acme"' \
	"$(cat "$W/vt.out")" "naming both tenants: $(cat "$W/vt.out")"
"$GV" --key "$W/pub" --tenant 'Tenant::"acme"' proof "$W/proof_g.txt" >/dev/null 2>&1
gov_is 1 $? "--tenant Tenant::\"acme\" refuses globex's export"
"$GV" --key "$W/pub" --tenant 'Tenant::"acme"' --json proof "$W/proof_a.txt" >"$W/vj.out" 2>&1
gov_is 0 $? "--json with --tenant"
$SYS_PYTHON -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["tenant"] == "Tenant::\"acme\"" and d["verified"] else 1)' "$W/vj.out"
gov_ok $? "--json reports the tenant: $(cat "$W/vj.out")"
gov_psql "$C" -U tn_auditor -At -c "SELECT governance.proof('$ln')" >"$W/proof_n.txt"
"$GV" --key "$W/pub" --json proof "$W/proof_n.txt" >"$W/vn.out" 2>&1
gov_is 0 $? "an execution of no tenant verifies"
$SYS_PYTHON -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if "tenant" in d and d["tenant"] is None else 1)' "$W/vn.out"
gov_ok $? "and --json reports \"tenant\": null"
"$GV" --key "$W/pub" --tenant 'Tenant::"acme"' proof "$W/proof_n.txt" >"$W/vt.out" 2>&1
gov_is 1 $? "--tenant refuses an execution of no tenant: $(cat "$W/vt.out")"
"$GV" --key "$W/pub" --tenant '' proof "$W/proof_a.txt" >/dev/null 2>&1
gov_is 2 $? "--tenant '' is bad input (exit 2)"
"$GV" --key "$W/pub" --tenant 'Tenant::"acme"' bundle "$W/proof_a.txt" >/dev/null 2>&1
gov_is 2 $? "--tenant is for proof only (exit 2)"
"$GV" --help 2>&1 | grep -q -- '--tenant TENANT'
gov_ok $? "--help documents --tenant"
# the delegation inside acme's proof names acme too (inherited, signed)
gov_is 'Tenant::"acme"' "$(q "SELECT payload->>'tenant' FROM governance.ledger WHERE lease_id = '$sub' AND kind = 'governance.authorize'")" \
	"the delegated lease's governance.authorize event names its parent's tenant"
gov_is 0 "$(q "SELECT count(*) FROM governance.ledger WHERE lease_id = '$ln' AND payload ? 'tenant'")" \
	"an execution of no tenant: no tenant member at all"
# a tenant edited in the proof's decision row fails its evidence hash
$SYS_PYTHON - "$W/proof_a.txt" "$W/proof_t.txt" <<'EOF'
import base64, sys
def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def b64e(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")
lines = open(sys.argv[1]).read().split("\n")
for i, l in enumerate(lines):
    t = l.split(" ")
    if t[0] == "row" and b64d(t[3]) == b"governance.authorize":
        p = b64d(t[8])
        assert b'Tenant::\\"acme\\"' in p, p
        t[8] = b64e(p.replace(b'Tenant::\\"acme\\"', b'Tenant::\\"globex\\"'))
        lines[i] = " ".join(t)
        break
open(sys.argv[2], "w").write("\n".join(lines))
EOF
"$GV" --key "$W/pub" --tenant 'Tenant::"globex"' proof "$W/proof_t.txt" >"$W/vt.out" 2>&1
gov_is 1 $? "acme's proof with its decision row's tenant edited to globex fails"
gov_like "modified row [0-9]+: its evidence hash does not match" "$(cat "$W/vt.out")" "its evidence hash: $(cat "$W/vt.out")"

# an execution not sealed yet: export_tenant() says so (proof()'s 55000), seal() and it is in.
# The sealer wakes on commit (governance.seal_delay): hold it off first, or
# the execution may be sealed before the export looks (a race CI lost once).
q "ALTER SYSTEM SET governance.seal_interval = '1h'" >/dev/null
q "ALTER SYSTEM SET governance.seal_delay = '1h'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
gov_wait "$C" "SELECT current_setting('governance.seal_delay') = '1h'" 20
sleep 1	# the round the reload itself may start is over
set -- $(auth acme2); lu=$1
err=$(gov_psql "$C" -U tn_auditor -v VERBOSITY=verbose -Atc "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme\"')" 2>&1)
gov_like "55000" "$err" "a tenant execution not sealed yet: 55000 (seal first)"
q "SELECT governance.seal()" >/dev/null
gov_is 3 "$(gov_sql_as "$C" tn_auditor "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme\"')")" "after seal(): three executions"

# bad input and privileges
gov_is 0 "$(gov_sql_as "$C" tn_auditor "SELECT count(*) FROM governance.export_tenant(NULL)")" "export_tenant(NULL): nothing"
gov_is 0 "$(gov_sql_as "$C" tn_auditor "SELECT count(*) FROM governance.export_tenant('')")" "export_tenant(''): nothing"
gov_is 0 "$(gov_sql_as "$C" tn_auditor "SELECT count(*) FROM governance.export_tenant(repeat('x', 1000000))")" "a huge tenant name: nothing"
gov_is 0 "$(gov_sql_as "$C" tn_auditor "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme')")" "a malformed tenant uid: nothing"
err=$(gov_psql "$C" -U tn_acme1 -v VERBOSITY=verbose -Atc "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme\"')" 2>&1)
gov_like "42501" "$err" "an agent may not export a tenant (42501)"
err=$(gov_psql "$C" -U tn_acme1 -v VERBOSITY=verbose -Atc "SELECT tenant FROM governance.leases" 2>&1)
gov_like "42501" "$err" "nor read the leases' tenants (42501)"
gov_psql "$C" -c "BEGIN" -c "SAVEPOINT s" -c "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme\"')" \
	-c "SELECT governance.export_tenant(NULL::text)" -c "ROLLBACK TO SAVEPOINT s" \
	-c "SELECT count(*) FROM governance.export_tenant('Tenant::\"acme\"')" -c "COMMIT" >/dev/null 2>&1
gov_is 0 $? "export_tenant() inside a savepoint, rolled back to and called again"
q "SELECT ok FROM governance.verify_ledger()" | grep -qx t
gov_ok $? "verify_ledger() still verifies"

# An edited leases.tenant (a superuser; the column is an index) would move
# an execution between tenants' exports: verify_ledger() compares each
# lease's column with its governance.authorize event, export_tenant()
# refuses such an execution (XX001), and a delegation made from it names
# the edited tenant, which the proof's verification refuses.
fs=$(q "SELECT first_seq FROM governance.leases WHERE lease_id = '$la'")
q "UPDATE governance.leases SET tenant = 'Tenant::\"globex\"' WHERE lease_id = '$la'" >/dev/null
gov_is "f|$fs" "$(q "SELECT ok, first_bad_seq FROM governance.verify_ledger()")" \
	"verify_ledger() reports a lease whose tenant column was edited, at its first event's seq"
gov_is "f|$fs" "$(gov_sql_as "$C" tn_auditor "SELECT ok, first_bad_seq FROM governance.verify_ledger()")" \
	"so does an auditor's"
gov_like "modified lease $la: its tenant column is Tenant::\"globex\", its governance.authorize event at row $fs names Tenant::\"acme\"" \
	"$(q "SELECT problem FROM governance.verify_ledger()")" "naming the lease and both tenants"
err=$(gov_psql "$C" -U tn_auditor -v VERBOSITY=verbose -Atc "SELECT count(*) FROM governance.export_tenant('Tenant::\"globex\"')" 2>&1)
gov_like "XX001.*lease $la is not of tenant Tenant::\"globex\"" "$err" "export_tenant(globex) refuses the moved execution (XX001)"
q "UPDATE governance.leases SET tenant = NULL WHERE lease_id = '$la'" >/dev/null
gov_like "its tenant column is NULL, .* names Tenant::\"acme\"" "$(q "SELECT problem FROM governance.verify_ledger()")" \
	"a tenant column set to NULL is reported too"
q "UPDATE governance.leases SET tenant = 'Tenant::\"acme\"' WHERE lease_id = '$ln'" >/dev/null
q "UPDATE governance.leases SET tenant = 'Tenant::\"acme\"' WHERE lease_id = '$la'" >/dev/null
gov_like "modified lease $ln: its tenant column is Tenant::\"acme\", .* names none" "$(q "SELECT problem FROM governance.verify_ledger()")" \
	"and a tenant given to an execution of none"
q "UPDATE governance.leases SET tenant = NULL WHERE lease_id = '$ln'" >/dev/null
q "SELECT ok FROM governance.verify_ledger()" | grep -qx t
gov_ok $? "with the columns put back, verify_ledger() verifies again"
q "UPDATE governance.leases SET first_seq = first_seq + 1 WHERE lease_id = '$la2'" >/dev/null
gov_like "lease $la2: its first_seq [0-9]+ is not its governance.authorize event" "$(q "SELECT problem FROM governance.verify_ledger()")" \
	"a first_seq moved off the lease's governance.authorize event is reported"
q "UPDATE governance.leases SET first_seq = first_seq - 1 WHERE lease_id = '$la2'" >/dev/null
# the parent's column edited, then a delegation: the child inherits the
# edited tenant in its signed event, and the execution's proof shows both
q "UPDATE governance.leases SET tenant = 'Tenant::\"globex\"' WHERE lease_id = '$la2'" >/dev/null
sub2=$(gov_sql_as "$C" tn_acme2 "SELECT lease_id FROM governance.delegate('$la2', 'Agent::\"tn-acme1\"', 'tool.run', 'Tool::\"t\"')")
q "UPDATE governance.leases SET tenant = 'Tenant::\"acme\"' WHERE lease_id = '$la2'" >/dev/null
q "SELECT governance.seal()" >/dev/null
gov_psql "$C" -U tn_auditor -At -c "SELECT proof FROM governance.export_tenant('Tenant::\"acme\"') WHERE lease_id = '$la2'" >"$W/proof_d.txt"
sed -i '$d' "$W/proof_d.txt"
"$GV" --key "$W/pub" proof "$W/proof_d.txt" >"$W/vd.out" 2>&1
gov_is 1 $? "a delegation naming another tenant than its execution's fails the proof"
gov_like "lease $sub2 of the execution names tenant Tenant::\"globex\" at row [0-9]+, the execution's governance.authorize event at row [0-9]+ names Tenant::\"acme\"" \
	"$(cat "$W/vd.out")" "naming the lease and both tenants: $(cat "$W/vd.out")"
