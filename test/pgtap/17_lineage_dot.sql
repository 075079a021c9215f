-- lineage_dot(lease_id) (issue 12, section 5): an execution as Graphviz DOT
-- text -- the lease, its delegated child, each event (decision,
-- delegation, an application event, a heartbeat, the revocation) with its
-- time and verification status, chained.  Labels are quoted so that a
-- principal or a revocation reason made of quotes, backslashes, newlines,
-- braces and semicolons cannot end a string, add an attribute or a
-- statement: with every quoted string taken out, what is left is exactly
-- the graph's own structure.  Privileges, bad input, ROLLBACK TO SAVEPOINT.
-- Graphviz itself reads the output in test/system/lineage_dot.sh.
\ir lib/fixture.sql

DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt17_bot', 'lt17_auditor', 'lt17_nobody']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt17%';

SELECT plan(17);

CREATE ROLE lt17_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt17_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE lt17_nobody LOGIN;
GRANT USAGE ON SCHEMA governance TO lt17_nobody;
-- a principal made to break DOT: quote, bracket, attribute, newline, backslashes
SELECT E'Agent::"lt17 \\"] ; evil=1; x [color=red\n} digraph y { \\\\N\\\\"' AS evil \gset
SELECT governance.register_agent(:'evil', 'lt17_bot');
SELECT governance.create_policy('lt17_p', 'permit (principal, action == Action::"lt17.run", resource);');
SET ROLE lt17_bot;
SELECT lease_id AS l, artifact AS a FROM governance.authorize(:'evil', 'lt17.run', 'Tool::"t"') \gset
SELECT lease_id AS c FROM governance.delegate(:'l', :'evil', 'lt17.run', 'Tool::"t"') \gset
BEGIN;
SELECT governance.attach(:'a');
SELECT governance.record('tool.call', '{"n": 1}');
COMMIT;
SELECT governance.heartbeat(:'l');
RESET ROLE;
SELECT governance.revoke(:'l', E'done "here"\n}; evil=2 {');

-- sealed first, so that the sealer cannot change a label between two calls
SELECT governance.seal();
SELECT governance.lineage_dot(:'l') AS dot \gset
-- the DOT with every quoted string ("...", \" and \\ inside) replaced by S
CREATE FUNCTION pg_temp.skeleton(t text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(t, '"([^"\\]|\\.)*"', 'S', 'g')
$$;

SELECT is((SELECT count(*)::int FROM governance.ledger WHERE lease_id IN (:'l', :'c')),
          (SELECT count(*)::int FROM regexp_matches(:'dot', '^    e[0-9]+ \[label=', 'gn')),
          'one node per event of the lease and its delegated child');
SELECT is((SELECT count(*)::int FROM regexp_matches(:'dot', '^  subgraph cluster_[0-9]+ \{$', 'gn')), 2,
          'one cluster per lease');
SELECT is((SELECT count(*)::int FROM regexp_matches(pg_temp.skeleton(:'dot'), '->', 'g')),
          (SELECT count(*)::int FROM governance.ledger WHERE lease_id IN (:'l', :'c') AND prev_seq IS NOT NULL),
          'one edge per chain link (the child''s first event hangs off the parent''s delegated event)');
SELECT ok(pg_temp.skeleton(:'dot') !~ 'evil|digraph y|color=red',
          'the hostile principal and reason stay inside their quoted strings');
SELECT ok(strpos(:'dot', '\n' || substr(governance._dot_string(:'evil'), 2, length(governance._dot_string(:'evil')) - 2) || '\n') > 0,
          'the principal is in the lease''s label, escaped');
SELECT is(governance._dot_string(E'a"b\\c\nd\te\r\n\\N'), E'"a\\"b\\\\c\\nd e\\n\\\\N"',
          'escaping: \\ and " get a backslash, a line end is \\n, other control characters a space');
SELECT ok(:'dot' ~ 'governance\.authorize allow\\nseq [0-9]+, [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\\n(not sealed yet|sealed in block [0-9]+), verified',
          'an event shows its kind, decision, seq, UTC time, block and that it verifies');
SELECT ok(:'dot' ~ 'governance\.delegated\\n' AND :'dot' ~ 'governance\.heartbeat\\n' AND :'dot' ~ 'tool\.call\\n'
          AND :'dot' ~ 'governance\.revoke[a-z._]*\\n[^"]*", fillcolor="salmon"',
          'decision, delegation, application event, heartbeat and revocation are all there');
SELECT ok(:'dot' ~ ('delegated lease \(depth 1\) ' || :'c'), 'the delegated lease has its own cluster');
SELECT ok(:'dot' ~ E'revoked at [^"]*\\(done \\\\"here\\\\"\\\\n\\}; evil=2 \\{\\)"',
          'the revocation reason is shown, quoted');

-- privileges and bad input
SET ROLE lt17_auditor;
SELECT is(left(governance.lineage_dot(:'l'), 17), 'digraph lineage {', 'an auditor may draw an execution');
SET ROLE lt17_bot;
SELECT is(pg_temp.err(format('SELECT governance.lineage_dot(%L)', :'l')),
          '42501: permission denied for function lineage_dot', 'an agent may not');
SET ROLE lt17_nobody;
SELECT is(pg_temp.err(format('SELECT governance.lineage_dot(%L)', :'l')),
          '42501: permission denied for function lineage_dot', 'nor a role without grants');
RESET ROLE;
SELECT is(pg_temp.err('SELECT governance.lineage_dot(NULL)'), '22004: lease_id must not be NULL', 'NULL');
SELECT is(pg_temp.err('SELECT governance.lineage_dot(''00000000-0000-0000-0000-000000000000'')'),
          'P0002: lease 00000000-0000-0000-0000-000000000000 does not exist', 'an unknown lease');
SELECT is(pg_temp.err('SELECT governance.lineage_dot(''not a uuid'')'),
          '22P02: invalid input syntax for type uuid: "not a uuid"', 'a malformed id');
BEGIN;
SAVEPOINT s;
SELECT pg_temp.err('SELECT governance.lineage_dot(NULL)');
ROLLBACK TO SAVEPOINT s;
SELECT is(regexp_replace(governance.lineage_dot(:'l'), 'as of [^"]*', ''), regexp_replace(:'dot', 'as of [^"]*', ''),
          'after ROLLBACK TO SAVEPOINT the same graph');
COMMIT;

SELECT * FROM finish();
SELECT governance.drop_policy('lt17_p');
SELECT pg_temp.drop_roles(ARRAY['lt17_bot', 'lt17_auditor', 'lt17_nobody']);
