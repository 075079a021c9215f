-- Roles and privileges: PUBLIC gets nothing, agents and auditors cannot
-- administer, every SECURITY DEFINER function pins its search_path.
\ir lib/fixture.sql
BEGIN;
SELECT plan(13);

SELECT has_role('governance_admin');
SELECT has_role('governance_agent');
SELECT has_role('governance_auditor');

CREATE ROLE t_agent LOGIN IN ROLE governance_agent;
CREATE ROLE t_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE t_admin LOGIN IN ROLE governance_admin;
CREATE ROLE t_nobody LOGIN;

SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'governance'::regnamespace
              AND p.prosecdef
              AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false))::int,
          0, 'every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp');

SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text)
             FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
            WHERE p.pronamespace = 'governance'::regnamespace AND a.grantee = 0),
          ARRAY['governance.authorized_resource(text)', 'governance.authorized_resources(text)',
                'governance.is_authorized(text,text)', 'governance.lease_covers(text,text)'],
          'PUBLIC may execute no governance function but the four lease checks that row-level security calls');

SELECT ok(NOT has_schema_privilege('t_nobody', 'governance', 'USAGE'),
          'a role outside the governance roles cannot use the schema');

SET ROLE t_agent;
SELECT throws_ok('SELECT governance.rotate_key()', '42501', NULL,
                 'an agent cannot rotate the signing key');
SELECT lives_ok('SELECT governance.sha3_512(''x'')', 'an agent can hash');
SELECT throws_ok('SELECT * FROM governance.workers', '42501', NULL,
                 'an agent cannot read worker status');
RESET ROLE;

SET ROLE t_auditor;
SELECT throws_ok('SELECT governance.rotate_key()', '42501', NULL,
                 'an auditor cannot rotate the signing key');
SELECT lives_ok('SELECT * FROM governance.signing_keys', 'an auditor can read the key history');
RESET ROLE;

SET ROLE t_nobody;
SELECT throws_ok('SELECT governance.sha3_512(''x'')', '42501', NULL,
                 'a role outside the governance roles cannot call anything');
RESET ROLE;

SET ROLE t_admin;
SELECT ok(has_function_privilege('governance.rotate_key()', 'EXECUTE'),
          'an admin may rotate the signing key');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
