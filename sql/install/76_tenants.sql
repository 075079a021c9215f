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
    'the tenant (Tenant::"id") of the execution: the principal''s ancestor of type Tenant at authorize(), the parent''s at delegate(); NULL for none. An index: the evidence is the "tenant" member of the lease''s governance.authorize event, which verify_ledger() and export_tenant() check it against';
CREATE INDEX leases_tenant_idx ON governance.leases (tenant, issued_at) WHERE tenant IS NOT NULL;

-- One tenant's evidence: a proof (governance.proof(), FORMAT.md section 14)
-- of each of its executions (root leases; a delegation is inside its root's
-- proof), each verified offline by governance-verify proof FILE [--tenant
-- T].  A root lease whose tenant column is not the tenant its first event
-- names (an edited column) is refused (XX001), not exported as this
-- tenant's.  Not SECURITY DEFINER, like export() and proof(): the caller's
-- own rights.
CREATE FUNCTION governance.export_tenant(tenant text)
RETURNS TABLE (lease_id uuid, issued_at timestamptz, proof text)
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    x record;
    named text;
    seq bigint;
BEGIN
    FOR x IN SELECT l.lease_id AS id, l.issued_at AS at
               FROM governance.leases l
              WHERE l.tenant OPERATOR(pg_catalog.=) export_tenant.tenant AND l.parent_id IS NULL
              ORDER BY l.issued_at, l.lease_id
    LOOP
        -- The column is an index; the execution's first event is evidence
        -- (its payload's "tenant", FORMAT.md section 15).  A lease whose
        -- column was edited would put another tenant's execution here.
        SELECT g.payload OPERATOR(pg_catalog.->>) 'tenant', g.seq INTO named, seq
          FROM governance.ledger g
         WHERE g.lease_id OPERATOR(pg_catalog.=) x.id
           AND g.kind OPERATOR(pg_catalog.=) 'governance.authorize'
         ORDER BY g.seq LIMIT 1;
        IF FOUND AND named IS DISTINCT FROM export_tenant.tenant THEN
            RAISE EXCEPTION 'lease % is not of tenant %', x.id, export_tenant.tenant
                USING ERRCODE = 'data_corrupted',
                      DETAIL = format('governance.leases names tenant %s, its governance.authorize event at row %s names %s.',
                                      export_tenant.tenant, seq, coalesce(named, 'none')),
                      HINT = 'The leases row was changed outside the extension: run governance.verify_ledger().';
        END IF;
        -- (when it is not found, the first event was pruned: proof() says so)
        lease_id := x.id;
        issued_at := x.at;
        SELECT string_agg(p.line, E'\n' ORDER BY p.n) OPERATOR(pg_catalog.||) E'\n' INTO proof
          FROM governance.proof(x.id) WITH ORDINALITY AS p(line, n);
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION governance.export_tenant(text) IS
    'One tenant''s evidence: a proof of each of its executions (root leases), for governance-verify proof';
REVOKE ALL ON FUNCTION governance.export_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.export_tenant(text) TO governance_admin, governance_auditor;
