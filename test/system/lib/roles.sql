-- The cluster-wide part of the governance extension's footprint: its roles,
-- their attributes, memberships, settings and parameter privileges, one
-- line per fact, sorted (test/system/upgrade.sh; catalog.sql has the rest).
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
SELECT x FROM (
    SELECT format('role %s | %s', rolname,
                  concat_ws(' ', 'super ' || rolsuper, 'inherit ' || rolinherit, 'createrole ' || rolcreaterole,
                            'createdb ' || rolcreatedb, 'login ' || rolcanlogin, 'replication ' || rolreplication,
                            'bypassrls ' || rolbypassrls, 'connlimit ' || rolconnlimit)) AS x
      FROM pg_catalog.pg_roles WHERE rolname LIKE 'governance%'
    UNION ALL
    SELECT format('membership | %s in %s admin %s', m.member::regrole, m.roleid::regrole, m.admin_option)
      FROM pg_catalog.pg_auth_members m
     WHERE m.roleid::regrole::text LIKE 'governance%' OR m.member::regrole::text LIKE 'governance%'
    UNION ALL
    SELECT format('setting | %s in %s: %s', s.setrole::regrole, coalesce(d.datname, '(all)'), s.setconfig)
      FROM pg_catalog.pg_db_role_setting s LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
     WHERE s.setrole::regrole::text LIKE 'governance%'
    UNION ALL
    SELECT format('parameter | %s: %s', p.parname, p.paracl)
      FROM pg_catalog.pg_parameter_acl p
     WHERE p.paracl::text LIKE '%governance%'
) f ORDER BY x;
