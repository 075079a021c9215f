#!/bin/sh
# revoke() of a 10,000-lease tree (issue 14 item 6): every lease of the
# tree ends, durably and in shared memory, and the revocation is ledgered
# as FORMAT.md's governance.revoke payload says: one event on the revoked
# lease's chain, reason, by, count, and the list of the ended leases, each
# id exactly once and written as uuid_out() writes it.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
C="$W/rtree"
trap 'gov_stop "$C"' EXIT
MID=${GOV_TREE_MID:-100}
LEAF=${GOV_TREE_LEAF:-99}
TOTAL=$((MID * (LEAF + 1) + 1))

gov_new_cluster "$C" "governance.max_leases_per_principal = $((TOTAL + 10))" \
	"governance.max_leases = $((TOTAL * 2))" || exit 1
gov_start "$C" || exit 1

{ gov_agents_sql rt bot; cat <<'EOF2'; } | gov_psql "$C" >/dev/null || { echo "not ok - setup"; exit 1; }
SELECT governance.create_policy('rt', 'permit (principal in Group::"rt", action == Action::"tree.run", resource);');
CREATE TABLE rt_tree (lease_id uuid PRIMARY KEY, level int, artifact text);
EOF2
gov_wait_trusted "$C" 20
gov_ok $? "the cluster is trusted"

# the tree, with the real delegate() (a superuser may delegate under any lease)
root=$(q "SELECT lease_id FROM governance.authorize('Agent::\"rt-bot\"', 'tree.run', 'Job::\"0\"', '{}', '1 hour')")
q "INSERT INTO rt_tree VALUES ('$root', 0)" >/dev/null
q "INSERT INTO rt_tree SELECT d.lease_id, 1, d.artifact FROM generate_series(1, $MID) i,
     governance.delegate('$root', 'Agent::\"rt-bot\"', 'tree.run', 'Job::\"0\"', jsonb_build_object('i', i), '1 hour') d
    WHERE d.decision = 'allow'" >/dev/null
for m in $(q "SELECT lease_id FROM rt_tree WHERE level = 1"); do
	echo "INSERT INTO rt_tree SELECT d.lease_id, 2, d.artifact FROM generate_series(1, $LEAF) i,
	        governance.delegate('$m', 'Agent::\"rt-bot\"', 'tree.run', 'Job::\"0\"', jsonb_build_object('i', i), '1 hour') d
	       WHERE d.decision = 'allow';"
done | gov_psql "$C" >/dev/null
gov_is "$TOTAL" "$(q "SELECT count(*) FROM governance.leases l JOIN rt_tree USING (lease_id) WHERE l.state = 'live'")" \
	"a tree of $TOTAL live leases"
q "ANALYZE governance.leases" >/dev/null
leafart=$(q "SELECT artifact FROM rt_tree WHERE level = 2 LIMIT 1")
gov_is "t" "$(bq rt_bot "BEGIN; SELECT governance.attach('$leafart') IS NOT NULL; ROLLBACK" | head -n 1)" "a leaf attaches before"

gov_is "$TOTAL" "$(q "SELECT governance.revoke('$root', 'tree test')")" "revoke(root) ends $TOTAL leases"
gov_is "$TOTAL|$TOTAL|$TOTAL" "$(q "SELECT count(*) FILTER (WHERE l.state = 'revoked' AND l.end_reason = 'tree test'),
                                             count(l.ended_at), count(*)
                                        FROM governance.leases l JOIN rt_tree USING (lease_id)")" \
	"every lease of the tree is revoked durably, with the reason and the time"
gov_like "ERROR: .*revoked" "$(bq rt_bot "BEGIN; SELECT governance.attach('$leafart') IS NOT NULL; ROLLBACK" 2>&1)" \
	"the leaf no longer attaches"
gov_is "1" "$(q "SELECT count(*) FROM governance.ledger WHERE kind = 'governance.revoke' AND lease_id IN (SELECT lease_id FROM rt_tree)")" \
	"one governance.revoke event, on the revoked lease's chain"
gov_is "tree test|$GOV_DBUSER|$TOTAL|$TOTAL|$TOTAL|t" "$(q "SELECT e.payload->>'reason', e.payload->>'by', e.payload->>'count',
        jsonb_array_length(e.payload->'ended'),
        (SELECT count(DISTINCT x) FROM jsonb_array_elements_text(e.payload->'ended') x),
        (SELECT array_agg(x ORDER BY x) FROM jsonb_array_elements_text(e.payload->'ended') x)
          = (SELECT array_agg(lease_id::text ORDER BY lease_id::text) FROM rt_tree)
   FROM governance.ledger e WHERE e.kind = 'governance.revoke' AND e.lease_id = '$root'")" \
	"its payload: reason, by, count, and every ended lease exactly once, as uuid_out() writes its id"
gov_is "0" "$(q "SELECT governance.revoke('$root', 'again')")" "a second revoke ends nothing"
gov_is "t" "$(q "SELECT ok FROM governance.verify_ledger()")" "the ledger verifies"
gov_stop "$C"
