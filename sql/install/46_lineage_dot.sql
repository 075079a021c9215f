------------------------------------------------------------------------------
-- Lineage for people (issue 12, section 5): an execution as a Graphviz
-- graph.  One cluster per lease (the lease and its delegated descendants),
-- one node per ledger event of theirs, in seq order along each chain, an
-- edge from each event to the one its chain link names (prev_seq: a
-- delegated lease's first event hangs off its parent's governance.delegated
-- event).  Each event shows its kind, time (UTC, microseconds), seq, block
-- and whether its evidence hash and chain link recompute; writes, denials,
-- revocations and expiries are coloured.
--
-- Every text that comes from the ledger or a lease (principals, resources,
-- kinds, reasons: anyone who can name an agent chooses them) goes through
-- _dot_string(): a DOT quoted string in which nothing but the characters
-- themselves can appear, so no label can end early, add attributes or
-- statements, or use Graphviz's own escapes (\N, \G, \l ...).
------------------------------------------------------------------------------

CREATE FUNCTION governance._dot_string(s text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
-- backslash first (doubled: Graphviz prints one), then the double quote;
-- line ends become the \n line break, every other control character a space
RETURN '"' OPERATOR(pg_catalog.||)
       pg_catalog.regexp_replace(
           pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(s,
               E'\\', E'\\\\'), '"', E'\\"'), E'\r\n', E'\\n'), E'\n', E'\\n'),
           E'[\\x01-\\x1f\\x7f]', ' ', 'g')
       OPERATOR(pg_catalog.||) '"';
COMMENT ON FUNCTION governance._dot_string(text) IS
    'A text as a Graphviz DOT quoted string that cannot break out of itself (for lineage_dot)';

CREATE FUNCTION governance.lineage_dot(lease_id uuid)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    root    uuid := lease_id;
    out     text;
    l       record;
    e       record;
    lines   text[] := ARRAY[]::text[];
    n       int := 0;
BEGIN
    IF root IS NULL THEN
        RAISE EXCEPTION 'lease_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM governance.leases x WHERE x.lease_id OPERATOR(pg_catalog.=) root) THEN
        RAISE EXCEPTION 'lease % does not exist', root USING ERRCODE = 'no_data_found';
    END IF;

    lines := lines || ('digraph lineage {' || E'\n' ||
        '  graph [rankdir=TB, fontname="Helvetica", label=' ||
        governance._dot_string('execution ' || root::text || E'\n' || 'as of ' ||
            to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) || '];' || E'\n' ||
        '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize=10];');

    FOR l IN
        SELECT x.lease_id, x.parent_id, x.depth, x.principal, x.action, x.resource, x.state,
               x.end_reason, x.issued_at, x.expires_at, x.ended_at,
               row_number() OVER (ORDER BY x.depth, x.issued_at, x.lease_id) AS k
          FROM governance.leases x
         WHERE x.lease_id OPERATOR(pg_catalog.=) root OR root OPERATOR(pg_catalog.=) ANY (x.ancestors)
         ORDER BY x.depth, x.issued_at, x.lease_id
    LOOP
        lines := lines || ('  subgraph cluster_' || l.k || ' {' || E'\n' ||
            '    label=' || governance._dot_string(
                CASE WHEN l.depth = 0 THEN 'lease ' ELSE 'delegated lease (depth ' || l.depth || ') ' END ||
                l.lease_id::text || E'\n' || l.principal || E'\n' || l.action || ' on ' || l.resource || E'\n' ||
                'issued ' || to_char(l.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ||
                E'\n' || l.state ||
                CASE WHEN l.ended_at IS NOT NULL
                     THEN ' at ' || to_char(l.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                     ELSE ', expires ' || to_char(l.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END ||
                coalesce(' (' || l.end_reason || ')', '')) || ';' || E'\n' ||
            '    style="rounded"; color=' ||
            CASE l.state WHEN 'revoked' THEN '"red"' WHEN 'expired' THEN '"gray50"' ELSE '"darkgreen"' END || ';');
        FOR e IN
            SELECT g.seq, g.at, g.kind, g.payload, g.prev_seq,
                   governance.sha3_512(governance.event_bytes(g.seq)) OPERATOR(pg_catalog.=) g.evidence AS evidence_ok,
                   governance.chain_link(coalesce(p.link, a.link), g.evidence) OPERATOR(pg_catalog.=) g.link
                       AND (g.prev_seq IS NULL OR coalesce(p.link, a.link) IS NOT NULL) AS link_ok,
                   (SELECT b.block_id FROM governance.ledger_blocks b
                     WHERE g.seq BETWEEN b.first_seq AND b.last_seq) AS block_id
              FROM governance.ledger g
              LEFT JOIN governance.ledger p ON p.seq OPERATOR(pg_catalog.=) g.prev_seq
              LEFT JOIN governance.ledger_anchors a ON a.seq OPERATOR(pg_catalog.=) g.prev_seq
             WHERE g.lease_id OPERATOR(pg_catalog.=) l.lease_id
             ORDER BY g.seq
        LOOP
            n := n + 1;
            lines := lines || ('    e' || e.seq || ' [label=' || governance._dot_string(
                e.kind || CASE WHEN e.kind = 'governance.write'
                               THEN ' ' || coalesce(e.payload->>'op', '') || ' ' || coalesce(e.payload->>'table', '')
                               WHEN e.payload ? 'decision' THEN ' ' || (e.payload->>'decision')
                               ELSE '' END || E'\n' ||
                'seq ' || e.seq || ', ' || to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n' ||
                CASE WHEN e.block_id IS NULL THEN 'not sealed yet' ELSE 'sealed in block ' || e.block_id END || ', ' ||
                CASE WHEN e.evidence_ok AND e.link_ok THEN 'verified'
                     WHEN NOT e.evidence_ok THEN 'MODIFIED: evidence hash does not match'
                     ELSE 'BROKEN: chain link does not match' END) ||
                ', fillcolor=' ||
                CASE WHEN NOT (e.evidence_ok AND e.link_ok) THEN '"red"'
                     WHEN e.kind LIKE 'governance.revoke%' OR e.kind LIKE 'governance.lease.revoked%' THEN '"salmon"'
                     WHEN e.kind LIKE '%expire%' THEN '"gray85"'
                     WHEN e.payload->>'decision' = 'deny' THEN '"orange"'
                     WHEN e.kind = 'governance.write' THEN '"lightblue"'
                     WHEN e.kind LIKE 'governance.heartbeat%' THEN '"honeydew"'
                     WHEN e.kind IN ('governance.authorize', 'governance.delegate', 'governance.delegated') THEN '"lightyellow"'
                     ELSE '"white"' END || '];');
            IF e.prev_seq IS NOT NULL THEN
                lines := lines || ('    e' || e.prev_seq || ' -> e' || e.seq || ';');
            END IF;
        END LOOP;
        lines := lines || '  }'::text;
    END LOOP;
    lines := lines || '}'::text;
    RETURN array_to_string(lines, E'\n') || E'\n';
END
$fn$;
COMMENT ON FUNCTION governance.lineage_dot(uuid) IS
    'An execution (the lease and its delegated descendants) as Graphviz DOT text: every ledger event with its time, block and verification status, chained';

REVOKE ALL ON FUNCTION governance._dot_string(text), governance.lineage_dot(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.lineage_dot(uuid) TO governance_admin, governance_auditor;
GRANT EXECUTE ON FUNCTION governance._dot_string(text) TO governance_admin, governance_auditor;
