#!/bin/sh
# Leases per principal (issue 9, item 9) across a reload of the setting and
# a restart, and what a heartbeat's revocation tells an agent (item 15).
#   - governance.max_leases_per_principal is read at each authorization: a
#     reload of the configuration raises or lowers it for new leases;
#   - a restart reloads every live lease whatever the limit (they were
#     issued already) and counts them: above a lowered limit, no new lease
#     until enough have ended and been cleared;
#   - a heartbeat that revokes for policy warns the agent briefly, while
#     the durable row and the ledger keep the policy's name.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/ledger.sh"
W=$(gov_tmpdir)
C="$W/limits"
trap 'gov_stop "$C"' EXIT

gov_new_cluster "$C" "governance.enforcer_naptime = '100ms'" "governance.max_leases_per_principal = 3" || exit 1
gov_start "$C" || exit 1
q() { gov_sql "$C" "$1"; }
bq() { gov_sql_as "$C" "$1" "$2"; }

gov_psql "$C" >/dev/null <<'EOF' || { echo "not ok - setup"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION governance;
CREATE ROLE ll_bot LOGIN IN ROLE governance_agent;
CREATE ROLE ll_other LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"ll-bot"', 'll_bot');
SELECT governance.register_agent('Agent::"ll-other"', 'll_other');
SELECT governance.put_entity('Agent::"ll-bot"', ARRAY['Group::"ll"']);
SELECT governance.put_entity('Agent::"ll-other"', ARRAY['Group::"ll"']);
SELECT governance.create_policy('ll', 'permit (principal in Group::"ll", action == Action::"job.run", resource);');
EOF
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 20
gov_ok $? "the cluster is trusted"

# authorize ROLE PRINCIPAL-ID JOB: "lease_id|artifact", or the error on stderr
authorize() {
	bq "$1" "SELECT lease_id || '|' || artifact FROM governance.authorize('Agent::\"$2\"', 'job.run', 'Job::\"$3\"', '{}', '10 minutes')"
}

: >"$W/leases"
for j in 1 2 3; do authorize ll_bot ll-bot "$j" >>"$W/leases" || echo "not ok - authorize $j"; done
out=$(authorize ll_bot ll-bot 4 2>&1)
gov_like 'too many leases for principal Agent::"ll-bot": it holds 3, its limit is 3' "$out" \
	"governance.max_leases_per_principal = 3: the fourth lease is refused"
gov_like '^[0-9a-f-]{36}\|gov1\.' "$(authorize ll_other ll-other 1 2>&1)" "another agent still gets one"
# two more of its leases, for the heartbeats at the end
authorize ll_other ll-other 2 >"$W/other" && authorize ll_other ll-other 3 >>"$W/other" || echo "not ok - authorize ll-other"

# raised by a reload of the configuration
q "ALTER SYSTEM SET governance.max_leases_per_principal = 4" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
gov_wait "$C" "SELECT current_setting('governance.max_leases_per_principal') = '4'" 10
authorize ll_bot ll-bot 4 >>"$W/leases" 2>"$W/err"
gov_ok $? "raised to 4 by a reload, the fourth lease is granted"
gov_like 'its limit is 4' "$(authorize ll_bot ll-bot 5 2>&1)" "and the fifth refused"

# lowered to 2, then a restart: the enforcer reloads all four
q "ALTER SYSTEM SET governance.max_leases_per_principal = 2" >/dev/null
gov_stop "$C"
gov_start "$C" || exit 1
gov_wait "$C" "SELECT governance.trust_state() = 'trusted'" 30
gov_ok $? "trusted again after the restart (the enforcer reloaded the leases)"
valid=0
while IFS='|' read -r id art; do
	[ "$(bq ll_bot "SELECT valid FROM governance.verify_artifact('$art')")" = "t" ] && valid=$((valid + 1))
done <"$W/leases"
gov_is 4 "$valid" "all four leases are live again, above the lowered limit (a reload is never refused)"
gov_like 'it holds 4, its limit is 2' "$(authorize ll_bot ll-bot 6 2>&1)" \
	"and they are counted: a new lease is refused while the agent holds four"
art1=$(head -n 1 "$W/leases" | cut -d'|' -f2)
gov_is "t" "$(bq ll_bot "BEGIN; SELECT governance.attach('$art1') IS NOT NULL; COMMIT;" | head -n 1)" \
	"a reloaded lease still attaches"

# ended leases count until cleared, then the agent is under its limit again
ids=$(cut -d'|' -f1 "$W/leases" | head -n 3 | sed "s/.*/'&'/" | paste -sd, -)
gov_is 3 "$(bq ll_bot "SELECT sum(governance.revoke(id, 'll: done')) FROM unnest(ARRAY[$ids]::uuid[]) id")" "three revoked"
gov_like 'it holds 4, its limit is 2' "$(authorize ll_bot ll-bot 7 2>&1)" "revoked leases still count until they are cleared"
i=0
until authorize ll_bot ll-bot 8 >/dev/null 2>&1 || [ $i -ge 30 ]; do sleep 1; i=$((i + 1)); done
[ $i -lt 30 ]; gov_ok $? "once cleared (after about $i s) the agent gets a lease again"
gov_like 'it holds 2, its limit is 2' "$(authorize ll_bot ll-bot 9 2>&1)" "and holds two, its limit"

# a heartbeat that revokes for policy: a brief warning to the agent
lid=$(sed -n 1p "$W/other" | cut -d'|' -f1)
lid2=$(sed -n 2p "$W/other" | cut -d'|' -f1)
q "SELECT governance.create_policy('ll_stop', 'forbid (principal == Agent::\"ll-other\", action, resource);')" >/dev/null
warn=$(bq ll_other "SELECT governance.heartbeat('$lid')" 2>&1)
gov_like "WARNING:  lease $lid revoked: policy: the policy now denies it" "$warn" \
	"a heartbeat revoking for policy warns the agent that the policy now denies it"
case "$warn" in *ll_stop*) gov_ok 1 "without naming the policy ($warn)";; *) gov_ok 0 "without naming the policy";; esac
gov_is 'policy: denied: forbid policy "ll_stop" matched' "$(q "SELECT end_reason FROM governance.leases WHERE lease_id = '$lid'")" \
	"the durable row keeps the full reason"
gov_like "WARNING:  lease $lid2 revoked: policy: denied: forbid policy \"ll_stop\" matched" \
	"$(q "SELECT governance.heartbeat('$lid2')" 2>&1)" "a superuser's heartbeat is warned in full"

gov_stop "$C"
