------------------------------------------------------------------------------
-- Tenants (issue 15 item 2; docs/DESIGN.md, "Tenants"): the tenant of a
-- lease, derived at authorize() from the principal's ancestor of type
-- Tenant (put_entity parents) and inherited by delegate(); indexed, so one
-- tenant's executions are found, proven and exported alone.
------------------------------------------------------------------------------

-- Appended (not in 60_leases.sql's CREATE TABLE) so that a fresh install
-- and an upgraded one have the same column order (src/lease_rows.c checks it).
ALTER TABLE governance.leases ADD COLUMN tenant text;
COMMENT ON COLUMN governance.leases.tenant IS
    'the tenant (Tenant::"id") of the execution: the principal''s ancestor of type Tenant at authorize(), the parent''s at delegate(); NULL for none. An index, not evidence';
CREATE INDEX leases_tenant_idx ON governance.leases (tenant, issued_at) WHERE tenant IS NOT NULL;

-- One tenant's evidence: a proof (governance.proof(), FORMAT.md section 14)
-- of each of its executions (root leases; a delegation is inside its root's
-- proof), each verified offline by governance-verify proof FILE.  Not
-- SECURITY DEFINER, like export() and proof(): the caller's own rights.
CREATE FUNCTION governance.export_tenant(tenant text)
RETURNS TABLE (lease_id uuid, issued_at timestamptz, proof text)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT l.lease_id, l.issued_at,
           (SELECT string_agg(p.line, E'\n' ORDER BY p.n) || E'\n'
              FROM governance.proof(l.lease_id) WITH ORDINALITY AS p(line, n))
      FROM governance.leases l
     WHERE l.tenant OPERATOR(pg_catalog.=) $1 AND l.parent_id IS NULL
     ORDER BY l.issued_at, l.lease_id
$fn$;
COMMENT ON FUNCTION governance.export_tenant(text) IS
    'One tenant''s evidence: a proof of each of its executions (root leases), for governance-verify proof';
REVOKE ALL ON FUNCTION governance.export_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.export_tenant(text) TO governance_admin, governance_auditor;
