-- The governance extension's catalog footprint, one line per fact, sorted,
-- by name only (no OIDs): run it in two databases and diff the output.
-- test/system/upgrade.sh compares an upgraded install with a fresh one.
-- Generic: it lists whatever the extension has (pg_depend deptype 'e'), so
-- a new object in sql/install/ without its counterpart in sql/upgrade/ (or
-- the other way round) shows up as a difference.  Cluster-wide state
-- (roles, memberships) is in roles.sql.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog, pg_temp;

-- an ACL as a sorted list of grantee:privilege:grantable (grantor kept: a
-- grant by another role is another grant); NULL is the object kind's default
CREATE FUNCTION pg_temp.acl(a aclitem[], kind "char", owner oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(x, ',' ORDER BY x), '(none)')
      FROM (SELECT format('%s:%s:%s:%s',
                          CASE e.grantee WHEN 0 THEN 'PUBLIC' ELSE e.grantee::regrole::text END,
                          e.privilege_type, e.is_grantable, e.grantor::regrole) AS x
              FROM aclexplode(coalesce(a, acldefault(kind, owner))) e) s
$$;

CREATE TEMP TABLE ext AS SELECT e.* FROM pg_extension e WHERE e.extname = 'governance';
CREATE TEMP TABLE member AS
    SELECT d.classid, d.objid, d.objsubid,
           pg_describe_object(d.classid, d.objid, d.objsubid) AS descr,
           (pg_identify_object(d.classid, d.objid, d.objsubid)).type AS otype,
           (pg_identify_object(d.classid, d.objid, d.objsubid)).identity AS ident
      FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e';
-- the extension's schema belongs to it without being a member
CREATE TEMP TABLE nsp AS
    SELECT n.* FROM pg_namespace n
     WHERE n.oid IN (SELECT extnamespace FROM ext)
        OR n.oid IN (SELECT objid FROM member WHERE classid = 'pg_namespace'::regclass);
CREATE TEMP TABLE rel AS
    SELECT c.*, m.ident FROM pg_class c JOIN member m
        ON m.classid = 'pg_class'::regclass AND m.objid = c.oid AND m.objsubid = 0;

CREATE TEMP TABLE fact (obj text, prop text, val text);

-- the extension itself
INSERT INTO fact
SELECT 'extension', p, v FROM ext, LATERAL (VALUES
    ('owner', extowner::regrole::text),
    ('schema', extnamespace::regnamespace::text),
    ('relocatable', extrelocatable::text),
    ('version', extversion),
    ('comment', coalesce(obj_description(ext.oid, 'pg_extension'), '(none)'))) x(p, v);
INSERT INTO fact
SELECT 'extension', 'config dump', c.rel::regclass::text || ' WHERE ' || coalesce(nullif(c.cond, ''), '(all rows)')
  FROM ext, unnest(extconfig, extcondition) AS c(rel, cond);
INSERT INTO fact
SELECT 'extension', 'config dump', '(none)' FROM ext WHERE extconfig IS NULL;
INSERT INTO fact
SELECT 'extension', 'requires', pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) || ' (' || d.deptype::text || ')'
  FROM pg_depend d, ext
 WHERE d.classid = 'pg_extension'::regclass AND d.objid = ext.oid;

-- membership
INSERT INTO fact SELECT 'member', descr, otype || ' ' || ident FROM member;
INSERT INTO fact SELECT 'member count', '', count(*)::text FROM member;

-- schemas
INSERT INTO fact
SELECT 'schema ' || nspname, p, v FROM nsp, LATERAL (VALUES
    ('member', (oid IN (SELECT objid FROM member WHERE classid = 'pg_namespace'::regclass))::text),
    ('owner', nspowner::regrole::text),
    ('acl', pg_temp.acl(nspacl, 'n', nspowner)),
    ('comment', coalesce(obj_description(nsp.oid, 'pg_namespace'), '(none)'))) x(p, v);

-- functions and procedures
INSERT INTO fact
SELECT m.descr, p, v
  FROM member m JOIN pg_proc f ON m.classid = 'pg_proc'::regclass AND f.oid = m.objid,
       LATERAL (VALUES
    ('definition', CASE WHEN f.prokind = 'a' THEN '(aggregate)' ELSE pg_get_functiondef(f.oid) END),
    ('kind', f.prokind::text),
    ('owner', f.proowner::regrole::text),
    ('acl', pg_temp.acl(f.proacl, 'f', f.proowner)),
    ('config', coalesce(array_to_string(f.proconfig, ', '), '(none)')),
    ('security definer', f.prosecdef::text),
    ('volatility', f.provolatile::text),
    ('parallel', f.proparallel::text),
    ('strict', f.proisstrict::text),
    ('leakproof', f.proleakproof::text),
    ('cost/rows', f.procost || '/' || f.prorows),
    ('returns set', f.proretset::text),
    ('language', (SELECT lanname FROM pg_language WHERE oid = f.prolang)),
    ('C symbol', CASE WHEN f.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
                      THEN f.probin || ':' || f.prosrc ELSE '-' END),
    ('comment', coalesce(obj_description(f.oid, 'pg_proc'), '(none)'))) x(p, v);
INSERT INTO fact
SELECT m.descr, 'aggregate', format('%s %s %s %s %s', a.aggtransfn::regprocedure, a.aggfinalfn, a.aggtranstype::regtype,
                                    a.agginitval, a.aggkind)
  FROM member m JOIN pg_aggregate a ON m.classid = 'pg_proc'::regclass AND a.aggfnoid = m.objid;

-- relations: tables, views, sequences, composite types
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, p, v FROM rel r, LATERAL (VALUES
    ('owner', r.relowner::regrole::text),
    ('acl', pg_temp.acl(r.relacl, (CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END)::"char", r.relowner)),
    ('options', coalesce(array_to_string(r.reloptions, ', '), '(none)')),
    ('row security', r.relrowsecurity || '/forced ' || r.relforcerowsecurity),
    ('persistence', r.relpersistence::text),
    ('replica identity', r.relreplident::text),
    ('partition', r.relispartition::text),
    ('access method', coalesce((SELECT amname FROM pg_am WHERE oid = r.relam), '-')),
    ('inherits', coalesce((SELECT string_agg(inhparent::regclass::text, ',' ORDER BY inhseqno)
                             FROM pg_inherits WHERE inhrelid = r.oid), '(none)')),
    ('comment', coalesce(obj_description(r.oid, 'pg_class'), '(none)'))) x(p, v);
-- columns, by position among the live ones (a dropped column leaves a gap)
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, format('column %s %s', row_number() OVER w, a.attname),
       format('%s%s%s%s%s collate %s acl %s options %s comment %s',
              format_type(a.atttypid, a.atttypmod),
              CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
              coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
              CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END,
              CASE WHEN a.attgenerated <> '' THEN ' generated ' || a.attgenerated::text ELSE '' END,
              coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation), '-'),
              CASE WHEN a.attacl IS NULL THEN '(none)' ELSE pg_temp.acl(a.attacl, 'c', r.relowner) END,
              -- pg_attver: a stamp this server build keeps per column, not the extension's
              coalesce(nullif(array_to_string(ARRAY(SELECT o FROM unnest(a.attoptions) o
                                                    WHERE o NOT LIKE 'pg\_attver=%'), ', '), ''), '(none)'),
              coalesce(col_description(r.oid, a.attnum), '(none)'))
  FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
WINDOW w AS (PARTITION BY r.oid ORDER BY a.attnum);
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'constraint ' || c.conname,
       pg_get_constraintdef(c.oid) || ' validated ' || c.convalidated ||
       coalesce(' comment ' || obj_description(c.oid, 'pg_constraint'), '')
  FROM rel r JOIN pg_constraint c ON c.conrelid = r.oid;
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'index ' || i.indexrelid::regclass::text,
       pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisclustered THEN ' clustered' ELSE '' END ||
       CASE WHEN i.indisreplident THEN ' replica identity' ELSE '' END ||
       coalesce(' options ' || array_to_string(ic.reloptions, ', '), '') ||
       coalesce(' comment ' || obj_description(i.indexrelid, 'pg_class'), '')
  FROM rel r JOIN pg_index i ON i.indrelid = r.oid JOIN pg_class ic ON ic.oid = i.indexrelid;
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'trigger ' || t.tgname,
       pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text ||
       coalesce(' comment ' || obj_description(t.oid, 'pg_trigger'), '')
  FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal;
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'policy ' || p.polname,
       format('%s %s to %s using %s check %s', p.polcmd,
              CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
              (SELECT string_agg(CASE WHEN ro = 0 THEN 'PUBLIC' ELSE ro::regrole::text END, ',' ORDER BY 1)
                 FROM unnest(p.polroles) ro),
              coalesce(pg_get_expr(p.polqual, p.polrelid), '-'),
              coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-'))
  FROM rel r JOIN pg_policy p ON p.polrelid = r.oid;
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'rule ' || w.rulename, pg_get_ruledef(w.oid) || ' enabled ' || w.ev_enabled::text
  FROM rel r JOIN pg_rewrite w ON w.ev_class = r.oid AND w.rulename <> '_RETURN';
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'view', pg_get_viewdef(r.oid, true)
  FROM rel r WHERE r.relkind IN ('v', 'm');
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'sequence',
       format('%s start %s increment %s min %s max %s cache %s cycle %s owned by %s',
              s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
              coalesce((SELECT d.refobjid::regclass || '.' || a.attname
                          FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')), '(none)'))
  FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid;
INSERT INTO fact
SELECT r.relkind::text || ' ' || r.ident, 'statistics ' || s.stxname, pg_get_statisticsobjdef(s.oid)
  FROM rel r JOIN pg_statistic_ext s ON s.stxrelid = r.oid;

-- types
INSERT INTO fact
SELECT m.descr, p, v
  FROM member m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid, LATERAL (VALUES
    ('kind', t.typtype::text),
    ('owner', t.typowner::regrole::text),
    ('acl', pg_temp.acl(t.typacl, 'T', t.typowner)),
    ('base', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) || ' not null ' || t.typnotnull
                  || coalesce(' default ' || t.typdefault, '') ELSE '-' END),
    ('labels', coalesce((SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), '-')),
    ('attributes', coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                               FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '-')),
    ('constraints', coalesce((SELECT string_agg(c.conname || ' ' || pg_get_constraintdef(c.oid), ',' ORDER BY c.conname)
                                FROM pg_constraint c WHERE c.contypid = t.oid), '-')),
    ('comment', coalesce(obj_description(t.oid, 'pg_type'), '(none)'))) x(p, v);

-- event triggers
INSERT INTO fact
SELECT m.descr, p, v
  FROM member m JOIN pg_event_trigger e ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid, LATERAL (VALUES
    ('event', e.evtevent::text),
    ('function', e.evtfoid::regprocedure::text),
    ('enabled', e.evtenabled::text),
    ('tags', coalesce(array_to_string(ARRAY(SELECT unnest(e.evttags) ORDER BY 1), ','), '(all)')),
    ('owner', e.evtowner::regrole::text),
    ('comment', coalesce(obj_description(e.oid, 'pg_event_trigger'), '(none)'))) x(p, v);

-- everything else a member can be: its comment
INSERT INTO fact
SELECT m.descr, 'comment', coalesce(obj_description(m.objid, c.relname), '(none)')
  FROM member m JOIN pg_class c ON c.oid = m.classid
 WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass,
                         'pg_event_trigger'::regclass, 'pg_namespace'::regclass);

-- initial privileges (what pg_dump compares ACLs with)
INSERT INTO fact
SELECT 'initial privileges', pg_describe_object(i.classoid, i.objoid, i.objsubid),
       i.privtype::text || ' ' || pg_temp.acl(i.initprivs, 'r', 10)
  FROM pg_init_privs i
 WHERE (i.classoid, i.objoid) IN (SELECT classid, objid FROM member)
    OR (i.classoid = 'pg_namespace'::regclass AND i.objoid IN (SELECT oid FROM nsp));

-- what the governance roles (or PUBLIC, through the extension) were granted
-- on objects that are not members: the system's, the database, languages
CREATE TEMP TABLE gov_role AS SELECT oid FROM pg_roles WHERE rolname LIKE 'governance%';
INSERT INTO fact
SELECT 'grant outside the extension', o.what, pg_temp.acl(ARRAY(
           SELECT a FROM unnest(o.acl) a
            WHERE EXISTS (SELECT 1 FROM aclexplode(ARRAY[a]) e WHERE e.grantee IN (SELECT oid FROM gov_role))), o.k, 10)
  FROM (SELECT pg_describe_object('pg_class'::regclass, c.oid, 0) AS what, c.relacl AS acl, 'r'::"char" AS k
          FROM pg_class c WHERE c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
        UNION ALL
        SELECT pg_describe_object('pg_proc'::regclass, p.oid, 0), p.proacl, 'f'
          FROM pg_proc p WHERE p.pronamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
        UNION ALL
        SELECT 'schema ' || n.nspname, n.nspacl, 'n' FROM pg_namespace n WHERE n.oid NOT IN (SELECT oid FROM nsp)
        UNION ALL
        SELECT 'language ' || l.lanname, l.lanacl, 'l' FROM pg_language l
        UNION ALL
        SELECT 'this database', d.datacl, 'd' FROM pg_database d WHERE d.datname = current_database()
       ) o
 WHERE EXISTS (SELECT 1 FROM aclexplode(o.acl) e WHERE e.grantee IN (SELECT oid FROM gov_role));
INSERT INTO fact
SELECT 'default privileges', coalesce(d.defaclnamespace::regnamespace::text, '(all schemas)') || ' for ' ||
       d.defaclrole::regrole || ' on ' || d.defaclobjtype::text, pg_temp.acl(d.defaclacl, d.defaclobjtype, d.defaclrole)
  FROM pg_default_acl d
 WHERE d.defaclnamespace IN (SELECT oid FROM nsp) OR d.defaclrole IN (SELECT oid FROM gov_role)
    OR EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) e WHERE e.grantee IN (SELECT oid FROM gov_role));

-- objects in the extension's schema that are not members: a fresh install
-- has none (indexes, row types and the like belong to members)
INSERT INTO fact
SELECT 'not a member, in the schema', pg_describe_object('pg_class'::regclass, c.oid, 0), c.relkind::text
  FROM pg_class c
 WHERE c.relnamespace IN (SELECT oid FROM nsp) AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p', 'c')
   AND c.oid NOT IN (SELECT objid FROM member WHERE classid = 'pg_class'::regclass)
UNION ALL
SELECT 'not a member, in the schema', pg_describe_object('pg_proc'::regclass, p.oid, 0), p.prokind::text
  FROM pg_proc p
 WHERE p.pronamespace IN (SELECT oid FROM nsp)
   AND p.oid NOT IN (SELECT objid FROM member WHERE classid = 'pg_proc'::regclass);

SELECT obj || ' | ' || prop || ' | ' || replace(val, E'\n', E'\n    ') FROM fact ORDER BY obj, prop, val;
