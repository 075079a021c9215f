-- The plans of the two statements gov_revoke_tree() (src/authz.c) runs to
-- find and end a lease's live descendants, for the lease :'root', with the
-- statistics at hand (the update as a prepared statement, as SPI runs it:
-- its generic plan).  Copies of those statements: keep them in step.
EXPLAIN (COSTS OFF)
WITH RECURSIVE tree AS (
  SELECT lease_id FROM governance.leases WHERE lease_id = :'root'
  UNION ALL
  SELECT l.lease_id FROM governance.leases l JOIN tree t ON l.parent_id = t.lease_id)
SELECT array_agg(lease_id) FROM tree;
SET plan_cache_mode = force_generic_plan;
PREPARE gov_revoke_update(uuid[]) AS
UPDATE governance.leases SET state = 'revoked', ended_at = now(), end_reason = 'explain'
 WHERE lease_id = ANY ($1) AND state = 'live'
RETURNING lease_id;
EXPLAIN (COSTS OFF) EXECUTE gov_revoke_update(ARRAY[:'root']::uuid[]);
