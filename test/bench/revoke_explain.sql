-- The plan of the statement gov_revoke_tree() (src/authz.c) runs to find
-- and end a lease's live descendants, for the lease :'root', with the
-- statistics at hand.  A copy of that statement: keep it in step.
EXPLAIN (COSTS OFF)
WITH RECURSIVE tree AS (
  SELECT lease_id FROM governance.leases WHERE lease_id = :'root'
  UNION ALL
  SELECT l.lease_id FROM governance.leases l JOIN tree t ON l.parent_id = t.lease_id)
UPDATE governance.leases SET state = 'revoked', ended_at = now(), end_reason = 'explain'
 WHERE lease_id IN (SELECT lease_id FROM tree) AND state = 'live'
RETURNING lease_id;
