-- Leases, part 3 (issue 5, "Bad input"): every lease function given NULLs,
-- empty strings, malformed entity uids, oversized and deeply nested
-- contexts, huge, zero and negative ttls, oversized measurements and
-- reasons, unknown leases; and the roles that may not call them at all.
-- Each is a clear error (or false), never a lease.
--
-- One transaction, rolled back: nothing here needs a committed lease.
\set ON_ERROR_STOP 1
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(84);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- authorize with one argument replaced (a SQL expression), as the bot
CREATE FUNCTION pg_temp.az(principal text DEFAULT '''Agent::"lt30c-bot"''', action text DEFAULT '''lt30c.select''',
                           resource text DEFAULT '''Account::"1"''', context text DEFAULT '''{"amount": 5}''',
                           ttl text DEFAULT '''5 minutes''', measurement text DEFAULT 'NULL') RETURNS text
LANGUAGE sql AS $$
    SELECT pg_temp.err(format('SELECT governance.authorize(%s, %s, %s, %s, %s, %s)',
                              principal, action, resource, context, ttl, measurement))
$$;

CREATE ROLE lt30c_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt30c_auditor LOGIN IN ROLE governance_auditor;
CREATE ROLE lt30c_plain LOGIN;
CREATE ROLE lt30c_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"lt30c-bot"', 'lt30c_bot');
SELECT governance.put_entity('Agent::"lt30c-bot"', ARRAY['Group::"lt30c-g"'], '{}');
SELECT governance.create_policy('lt30c_p',
    'permit (principal in Group::"lt30c-g", action == Action::"lt30c.select", resource) when { context.amount <= 1000 };');

SET LOCAL ROLE lt30c_bot;
SELECT is(pg_temp.az(), 'no error', 'the reference request is accepted (so each failure below is the argument''s)');

------------------------------------------------------------------------
-- authorize
------------------------------------------------------------------------
SELECT is(pg_temp.az(principal => 'NULL'), '22004: principal must not be NULL', 'authorize: NULL principal');
SELECT is(pg_temp.az(action => 'NULL'), '22004: action must not be NULL', 'authorize: NULL action');
SELECT is(pg_temp.az(resource => 'NULL'), '22004: resource must not be NULL', 'authorize: NULL resource');
SELECT is(pg_temp.az(context => 'NULL'), '22004: context must not be NULL', 'authorize: NULL context');
SELECT is(pg_temp.az(ttl => 'NULL'), '22004: ttl must not be NULL', 'authorize: NULL ttl');
SELECT is(pg_temp.az(principal => ''''''), '22023: principal must not be empty', 'authorize: empty principal');
SELECT is(pg_temp.az(action => ''''''), '22023: action must not be empty', 'authorize: empty action');
SELECT is(pg_temp.az(resource => ''''''), '22023: resource must not be empty', 'authorize: empty resource');

SELECT is(pg_temp.az(principal => quote_literal(p)), format('22023: principal "%s" is not an entity uid', p),
          format('authorize: malformed principal %s', p))
  FROM unnest(ARRAY['lt30c-bot', 'Agent::lt30c-bot', 'Agent::"lt30c-bot', 'Agent::"lt30c-bot"x', '::"lt30c-bot"',
                    'Agent:"lt30c-bot"', 'Agent::"a"b"', 'Agent::"a\b"', ' Agent::"lt30c-bot"', '1Agent::"x"']) p;
SELECT is(pg_temp.az(resource => quote_literal(r)), format('22023: resource "%s" is not an entity uid', r),
          format('authorize: malformed resource %s', r))
  FROM unnest(ARRAY['Account::1', 'Account::"1"; DROP TABLE x', 'Account::"1""']) r;
SELECT matches(pg_temp.az(action => quote_literal(a)), '^22023: ', format('authorize: malformed action %s', a))
  FROM unnest(ARRAY['Action::lt30c.select', 'Action::"lt30c.select', 'Action::"x"y']) a;
SELECT is(pg_temp.az(resource => format('%L', 'Account::"' || repeat('9', 300) || '"')),
          '22023: resource is too long (at most 255 bytes)', 'authorize: a resource uid over 255 bytes');
SELECT is(pg_temp.az(principal => format('%L', 'Agent::"' || repeat('9', 300) || '"')),
          '22023: principal is too long (at most 255 bytes)', 'authorize: a principal uid over 255 bytes');

SELECT is(pg_temp.az(context => '''[]'''), '22023: context must be a JSON object', 'authorize: an array context');
SELECT is(pg_temp.az(context => '''5'''), '22023: context must be a JSON object', 'authorize: a scalar context');
SELECT is(pg_temp.az(context => '''"amount"'''), '22023: context must be a JSON object', 'authorize: a string context');
SELECT is(pg_temp.az(context => '''null'''), '22023: context must be a JSON object', 'authorize: a JSON null context');
SELECT matches(pg_temp.az(context => 'jsonb_build_object(''amount'', 5, ''pad'', repeat(''x'', 1048576))'),
               '^54000: context is too large', 'authorize: a 1 MB context is refused (governance.max_payload_size)');
SELECT ok(pg_temp.az(context => format('(%L || %L || %L)::jsonb', '{"amount": 5, "deep": ' || repeat('{"a":', 10000), '1',
                                        repeat('}', 10000) || '}')) ~ '^(no error|54000: |54001: )',
          'authorize: a context nested 10000 levels deep is decided or refused cleanly');
SELECT is(pg_temp.az(context => format('(%L || %L || %L)::jsonb', '{"amount": 5, "deep": ' || repeat('[', 5000), '1',
                                        repeat(']', 5000) || '}')) ~ '^(no error|54000: |54001: )', true,
          'authorize: 5000 nested arrays likewise');

SELECT is(pg_temp.az(ttl => '''0'''), '22023: ttl must be positive', 'authorize: a zero ttl');
SELECT is(pg_temp.az(ttl => '''-1 second'''), '22023: ttl must be positive', 'authorize: a negative ttl');
SELECT is(pg_temp.az(ttl => '''1 mon -31 days'''), '22023: ttl must be positive', 'authorize: a ttl that adds up to less than zero');
SELECT is(pg_temp.az(ttl => '''1000 years'''), '22023: ttl exceeds governance.max_lease_ttl (3600000 ms)', 'authorize: a ttl of 1000 years');
SELECT is(pg_temp.az(ttl => '''2 hours'''), '22023: ttl exceeds governance.max_lease_ttl (3600000 ms)', 'authorize: a ttl over governance.max_lease_ttl');
SELECT is(pg_temp.az(ttl => '''2147483647 days'''), '22023: ttl exceeds governance.max_lease_ttl (3600000 ms)', 'authorize: a ttl of 2^31-1 days');
SELECT is(pg_temp.az(ttl => '''178000000 years'''), '22023: ttl exceeds governance.max_lease_ttl (3600000 ms)', 'authorize: the largest interval');
-- 2147483647 days less 298651767:41:43.48384 is still 5.8 million years;
-- in 64-bit microseconds the days alone wrap around to exactly that amount
-- minus one second
SELECT is(pg_temp.az(ttl => '''2147483647 days -298651767:41:43.483840'''),
          '22023: ttl exceeds governance.max_lease_ttl (3600000 ms)',
          'authorize: a ttl of 5.8 million years is refused, not wrapped around to one second');
SELECT is(pg_temp.az(ttl => '''-178000000 years'''), '22023: ttl must be positive', 'authorize: the most negative interval');
SELECT is(pg_temp.az(measurement => format('%L::bytea', '\x' || repeat('ab', 1025))),
          '22023: measurement is too long (at most 1024 bytes)', 'authorize: a measurement over 1 kB');
SELECT is(pg_temp.az(measurement => '''\x''::bytea'), 'no error', 'authorize: an empty measurement is a measurement');

------------------------------------------------------------------------
-- delegate, heartbeat, revoke, detach, record
------------------------------------------------------------------------
SELECT is(pg_temp.err('SELECT governance.delegate(NULL, ''Agent::"lt30c-bot"'', ''lt30c.select'', ''Account::"1"'')'),
          '22004: parent lease must not be NULL', 'delegate: NULL parent');
SELECT is(pg_temp.err('SELECT governance.delegate(''00000000-0000-4000-8000-000000000000'', ''Agent::"lt30c-bot"'', ''lt30c.select'', ''Account::"1"'')'),
          '42704: lease 00000000-0000-4000-8000-000000000000 does not exist', 'delegate: unknown parent');
SELECT is(pg_temp.err('SELECT governance.delegate(''00000000-0000-4000-8000-000000000000'', NULL, ''lt30c.select'', ''Account::"1"'')'),
          '22004: principal must not be NULL', 'delegate: NULL principal');
SELECT is(pg_temp.err('SELECT governance.delegate(''00000000-0000-4000-8000-000000000000'', ''Agent::"x"'', ''lt30c.select'', ''Account::"1"'', ''{}'', ''-1 s'')'),
          '22023: ttl must be positive', 'delegate: negative ttl');
SELECT is(pg_temp.err('SELECT governance.delegate(''00000000-0000-4000-8000-000000000000'', ''Agent::"x"'', ''lt30c.select'', ''Account::"1"'', ''{}'', ''1000 years'')'),
          '22023: ttl exceeds governance.max_lease_ttl (3600000 ms)', 'delegate: huge ttl');
SELECT is(pg_temp.err('SELECT governance.delegate(''00000000-0000-4000-8000-000000000000'', ''Agent::x'', ''lt30c.select'', ''Account::"1"'')'),
          '22023: principal "Agent::x" is not an entity uid', 'delegate: malformed principal');
SELECT is(pg_temp.err('SELECT governance.delegate(''00000000-0000-4000-8000-000000000000'', ''Agent::"x"'', ''lt30c.select'', ''Account::"1"'', ''[1]'')'),
          '22023: context must be a JSON object', 'delegate: array context');
SELECT is(pg_temp.err('SELECT governance.delegate(''00000000-0000-4000-8000-000000000000'', ''Agent::"x"'', ''lt30c.select'', ''Account::"1"'', NULL)'),
          '22004: context must not be NULL', 'delegate: NULL context');

SELECT is(pg_temp.err('SELECT governance.heartbeat(NULL)'), '22004: lease id must not be NULL', 'heartbeat: NULL lease');
SELECT is(pg_temp.err('SELECT governance.heartbeat(''00000000-0000-4000-8000-000000000000'', ''\x01'')'),
          '42704: lease 00000000-0000-4000-8000-000000000000 does not exist', 'heartbeat: unknown lease');
SELECT is(pg_temp.err('SELECT governance.heartbeat(''not-a-uuid'')'), '22P02: invalid input syntax for type uuid: "not-a-uuid"',
          'heartbeat: not a uuid');
SELECT is(pg_temp.err('SELECT governance.revoke(NULL, NULL)'), '22004: lease id must not be NULL', 'revoke: NULLs');
SELECT is(pg_temp.err('SELECT governance.revoke(''00000000-0000-4000-8000-000000000000'', ''x'')'),
          '42704: lease 00000000-0000-4000-8000-000000000000 does not exist', 'revoke: unknown lease');
SELECT is(governance.detach(NULL), 0, 'detach(NULL) with nothing attached detaches nothing');
SELECT is(governance.detach('00000000-0000-4000-8000-000000000000'), 0, 'detach of an unknown lease detaches nothing');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'current_lease() with nothing attached is empty');
SELECT is(pg_temp.err('SELECT governance.attach(NULL, NULL)'), '22004: artifact must not be NULL', 'attach: NULLs');
SELECT matches(pg_temp.err('SELECT governance.attach(''gov1.AAAA.AAAA'', NULL)'), '^42501: artifact refused: malformed artifact',
               'attach: malformed with a NULL scope');
SELECT is((governance.verify_artifact('gov1.' || repeat('A', 10000) || '.AAAA')).valid, false, 'verify_artifact: 10 kB of junk');
SELECT is(pg_temp.err('SELECT governance.record(NULL, ''{}'')'), '22004: event kind must not be NULL', 'record: NULL kind');
SELECT is(pg_temp.err('SELECT governance.record(''lt30c.x'', NULL)'), '22004: event payload must not be NULL', 'record: NULL payload');
SELECT is(pg_temp.err('SELECT governance.record(''governance.authorize'', ''{}'')'),
          '42939: event kind "governance.authorize" is reserved', 'record: reserved kind');
SELECT is(governance.is_authorized('', ''), false, 'is_authorized of empty strings is false');
SELECT is(governance.authorized_resources(NULL), '{}'::text[], 'authorized_resources(NULL) is empty');
SELECT is(governance.authorized_resources('lt30c.select'), '{}'::text[], 'authorized_resources with nothing attached is empty');
RESET ROLE;

------------------------------------------------------------------------
-- register_agent
------------------------------------------------------------------------
SELECT is(pg_temp.err('SELECT governance.register_agent(NULL, ''lt30c_bot'')'), '22004: principal must not be NULL', 'register_agent: NULL principal');
SELECT is(pg_temp.err('SELECT governance.register_agent('''', ''lt30c_bot'')'), '22023: principal must not be empty', 'register_agent: empty principal');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::lt30c'', ''lt30c_bot'')'),
          '22023: principal "Agent::lt30c" is not an entity uid', 'register_agent: malformed principal');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"lt30c-x"'', NULL)'), '22004: role must not be NULL', 'register_agent: NULL role');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"lt30c-x"'', ''lt30c_no_such_role'')'),
          '42704: role "lt30c_no_such_role" does not exist', 'register_agent: unknown role');
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"lt30c-x"'', ''lt30c_bot'', ''\x0102'')'),
          '22023: agent public key must be 32 bytes (Ed25519)', 'register_agent: a public key of the wrong length');

------------------------------------------------------------------------
-- who may call what
------------------------------------------------------------------------
SET LOCAL ROLE lt30c_bot;
SELECT is(pg_temp.err('SELECT governance.register_agent(''Agent::"lt30c-bot"'', ''lt30c_auditor'')'),
          '42501: permission denied for function register_agent', 'an agent cannot register (or re-map) principals');
RESET ROLE;
SET LOCAL ROLE lt30c_auditor;
SELECT matches(pg_temp.az(), '^42501: permission denied', 'an auditor cannot authorize');
SELECT matches(pg_temp.err('SELECT governance.attach(''gov1.x.y'')'), '^42501: permission denied', 'an auditor cannot attach');
SELECT matches(pg_temp.err('SELECT governance.revoke(''00000000-0000-4000-8000-000000000000'', ''x'')'), '^42501: permission denied',
               'an auditor cannot revoke');
SELECT is((governance.verify_artifact('junk')).valid, false, 'an auditor can verify artifacts');
RESET ROLE;
SET LOCAL ROLE lt30c_plain;
SELECT matches(pg_temp.az(), '^42501: permission denied', 'a role outside the governance roles cannot authorize');
SELECT matches(pg_temp.err('SELECT governance.is_authorized(''a'', ''b'')'), '^42501: permission denied',
               'nor call is_authorized');
RESET ROLE;

SELECT is((SELECT count(*)::int FROM governance.leases WHERE principal = 'Agent::"lt30c-bot"' AND NOT context ? 'deep'), 2,
          'of all the calls above only the reference request and the empty measurement made a lease (deep contexts aside)');

SELECT * FROM finish();
ROLLBACK;
