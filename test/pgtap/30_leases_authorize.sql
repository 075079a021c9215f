-- Leases, part 1 (issue 5): authorize (allow, deny, what is ledgered, the
-- caller's identity, acting on behalf as governance_admin), attach (by the
-- registered role; a copied artifact, revoked, expired, unknown, uncommitted
-- and malformed artifacts refused and ledgered), the scope of an attachment
-- (transaction, session), current_lease(), is_authorized() (exactly the
-- action and resource), verify_artifact(), and record() under a lease.
--
-- Runs outside a transaction block on purpose: a lease goes live only when
-- the transaction that authorized it commits, and attachments end with
-- their transaction.  Everything it creates is named lt30a_* / "lt30a-*";
-- roles and policies are dropped at the end, the ledger keeps its rows.
-- The enforcer runs in this database and ledgers refused attachments
-- within one of its rounds: those checks poll.
\ir lib/fixture.sql

-- leftovers of an interrupted earlier run
DO $$
BEGIN
    PERFORM pg_temp.drop_roles(ARRAY['lt30a_bot', 'lt30a_bot2', 'lt30a_admin', 'lt30a_nobody']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt30a%';

SELECT plan(104);

-- 'SQLSTATE: message' of the error sql raises, or 'no error'
-- poll until the boolean query cond is true, at most secs seconds
\ir lib/poll.sql
-- an artifact with the character at position pos (1-based) of part n
-- (1 prefix, 2 payload, 3 signature) replaced by a different base64url one
CREATE FUNCTION pg_temp.flip(a text, n int, pos int) RETURNS text LANGUAGE sql AS $$
    SELECT array_to_string(parts[1:n - 1] ||
               overlay(parts[n] PLACING CASE WHEN substr(parts[n], pos, 1) = 'A' THEN 'Q' ELSE 'A' END
                       FROM pos FOR 1) || parts[n + 1:], '.')
      FROM (SELECT string_to_array(a, '.') AS parts) x
$$;

CREATE ROLE lt30a_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt30a_bot2 LOGIN IN ROLE governance_agent;
CREATE ROLE lt30a_nobody LOGIN IN ROLE governance_agent;
CREATE ROLE lt30a_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"lt30a-bot"', 'lt30a_bot');
SELECT governance.register_agent('Agent::"lt30a-bot2"', 'lt30a_bot2');
SELECT governance.put_entity('Agent::"lt30a-bot"', ARRAY['Group::"lt30a-billing"'], '{}');
SELECT governance.put_entity('Agent::"lt30a-bot2"', ARRAY['Group::"lt30a-billing"'], '{}');
SELECT governance.create_policy('lt30a_p',
    'permit (principal in Group::"lt30a-billing", action in [Action::"lt30a.select", Action::"lt30a.update"], resource) when { context.amount <= 1000 };');

SELECT max(seq) AS mark FROM governance.ledger \gset

------------------------------------------------------------------------
-- authorize: allow
------------------------------------------------------------------------
SET ROLE lt30a_bot;
SELECT decision AS d1, lease_id AS l1, artifact AS a1, expires_at AS e1, reasons AS r1
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"1"', '{"amount": 5}') \gset
RESET ROLE;

SELECT is(:'d1'::text, 'allow', 'authorize: a request the policy permits is allowed');
SELECT ok(:'l1' <> '' AND :'a1' LIKE 'gov1.%.%', 'an allow carries a lease id and a gov1. artifact');
SELECT ok(:'e1'::timestamptz BETWEEN now() + interval '4 min 50 s' AND clock_timestamp() + interval '5 min',
          'the lease lasts the default ttl of 5 minutes');
SELECT is(:'r1'::text[], ARRAY['allowed by policy'],
          'the agent is told it is allowed, not by which policy (governance.deny_reasons = short)');

SELECT is((SELECT row(kind, principal, action, resource)::text FROM governance.ledger
            WHERE lease_id = :'l1' ORDER BY seq LIMIT 1),
          row('governance.authorize', 'Agent::"lt30a-bot"', 'Action::"lt30a.select"', 'Account::"1"')::text,
          'the allow is ledgered on the lease''s chain, shorthand action normalised');
SELECT is((SELECT payload - 'expires_at' FROM governance.ledger WHERE lease_id = :'l1' ORDER BY seq LIMIT 1),
          jsonb_build_object('decision', 'allow', 'reasons', ARRAY['allowed: permit policy "lt30a_p" matched'],
                             'determining_policies', ARRAY['lt30a_p'],
                             'policy_set_hash', encode(governance.policy_set_hash(), 'hex'),
                             'context_sha3_512', encode(governance.sha3_512(convert_to(
                                 governance.canonical_json('{"amount": 5}'), 'UTF8')), 'hex'),
                             'caller', 'lt30a_bot', 'on_behalf', false),
          'its payload: decision, full reasons, policies, policy-set hash, SHA3-512 of the context, caller');
SELECT is((SELECT (payload->>'expires_at')::timestamptz FROM governance.ledger
            WHERE lease_id = :'l1' ORDER BY seq LIMIT 1), :'e1'::timestamptz,
          'and the expiry it granted');
SELECT is((SELECT row(state, role_oid::regrole::text, depth, parent_id, generation, authorized_by,
                      first_seq = (SELECT min(seq) FROM governance.ledger WHERE lease_id = :'l1'))::text
             FROM governance.leases WHERE lease_id = :'l1'),
          row('live', 'lt30a_bot', 0, NULL::uuid, 1, 'lt30a_bot', true)::text,
          'the durable lease: live, held by the registered role, depth 0, generation 1, first_seq its first event');

------------------------------------------------------------------------
-- authorize: deny, and the caller's identity
------------------------------------------------------------------------
SET ROLE lt30a_bot;
SELECT decision AS d2, lease_id IS NULL AND artifact IS NULL AND expires_at IS NULL AS n2, reasons AS r2
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"1"', '{"amount": 5000}') \gset
RESET ROLE;
SELECT is(:'d2'::text, 'deny', 'authorize: a request no policy permits is denied');
SELECT ok(:'n2', 'a deny carries no lease, no artifact, no expiry');
SELECT is(:'r2'::text[], ARRAY['denied by policy'], 'and says why, briefly');
SELECT is((SELECT count(*)::int FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.authorize' AND lease_id IS NULL
              AND principal = 'Agent::"lt30a-bot"' AND payload->>'decision' = 'deny'
              AND payload->>'caller' = 'lt30a_bot'
              AND payload->'reasons' = '["denied by default: no permit policy matched"]'),
          1, 'the deny is ledgered, with no lease, its caller and its full reasons');

SET ROLE lt30a_bot2;
SELECT decision AS d3, reasons AS r3
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"1"', '{"amount": 5}') \gset
RESET ROLE;
SELECT is(:'d3'::text, 'deny', 'a role not registered for the principal is denied, though the policy would allow');
SELECT is(:'r3'::text[], ARRAY['role lt30a_bot2 may not act as Agent::"lt30a-bot"'], 'with a reason naming role and principal');
SELECT is((SELECT count(*)::int FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.authorize' AND lease_id IS NULL
              AND principal = 'Agent::"lt30a-bot"' AND payload->>'caller' = 'lt30a_bot2'
              AND payload->>'decision' = 'deny'),
          1, 'that deny is ledgered with the caller who tried');

SET ROLE lt30a_nobody;
SELECT decision AS d4, reasons AS r4
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"1"', '{"amount": 5}') \gset
SELECT decision AS d5, reasons AS r5
  FROM governance.authorize('Agent::"lt30a-ghost"', 'lt30a.select', 'Account::"1"', '{"amount": 5}') \gset
RESET ROLE;
SELECT is(:'d4' || ' ' || (:'r4'::text[])[1], 'deny role lt30a_nobody may not act as Agent::"lt30a-bot"',
          'an agent role registered for nothing is denied');
SELECT is(:'d5' || ' ' || (:'r5'::text[])[1], 'deny role lt30a_nobody may not act as Agent::"lt30a-ghost"',
          'a principal nobody registered is denied, with the reason a principal registered to another role gets');

-- governance_admin acting on behalf of the principal
SET ROLE lt30a_admin;
SELECT decision AS d6, lease_id AS l6, artifact AS a6
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"6"', '{"amount": 5}') \gset
RESET ROLE;
SELECT is(:'d6'::text, 'allow', 'governance_admin may authorize on behalf of a principal');
SELECT is((SELECT row(payload->>'caller', payload->'on_behalf')::text FROM governance.ledger
            WHERE lease_id = :'l6' AND kind = 'governance.authorize'),
          row('lt30a_admin', 'true'::jsonb)::text, 'and it is ledgered as on behalf, with the admin as caller');
SELECT is((SELECT row(role_oid::regrole::text, authorized_by)::text FROM governance.leases WHERE lease_id = :'l6'),
          row('lt30a_bot', 'lt30a_admin')::text, 'the lease is held by the principal''s role, authorized by the admin');
SET ROLE lt30a_admin;
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', :'a6')), '^42501: artifact refused: role lt30a_admin is not',
               'the admin who authorized on behalf cannot attach it');
RESET ROLE;
SET ROLE lt30a_bot;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a6')), 'no error',
          'the principal''s role can attach the lease an admin authorized for it');
RESET ROLE;

------------------------------------------------------------------------
-- attach by the registered role; transaction and session scope
------------------------------------------------------------------------
SET ROLE lt30a_bot;
SELECT lease_id AS l7, artifact AS a7
  FROM governance.authorize('Agent::"lt30a-bot"', 'Action::"lt30a.update"', 'Account::"7"', '{"amount": 5}') \gset

BEGIN;
SELECT is(governance.attach(:'a1'), :'l1'::uuid, 'attach returns the lease id');
SELECT is((SELECT row(lease_id, principal, action, resource, expires_at, scope, live)::text
             FROM governance.current_lease()),
          row(:'l1'::uuid, 'Agent::"lt30a-bot"', 'Action::"lt30a.select"', 'Account::"1"', :'e1'::timestamptz,
              'transaction', true)::text,
          'current_lease(): the attached lease, its claims, expiry, scope and liveness');
SELECT ok(governance.is_authorized('lt30a.select', 'Account::"1"'), 'is_authorized: the covered action (shorthand) and resource');
SELECT ok(governance.is_authorized('Action::"lt30a.select"', 'Account::"1"'), 'is_authorized: the same action written in full');
SELECT ok(NOT governance.is_authorized('lt30a.update', 'Account::"1"'), 'is_authorized: another action of the same resource is not covered');
SELECT ok(NOT governance.is_authorized('lt30a.select', 'Account::"2"'), 'is_authorized: another resource is not covered');
SELECT ok(NOT governance.is_authorized('Action::"lt30a.select"', 'Account::"1" '), 'is_authorized: exact resource, no trailing space');
SELECT ok(NOT governance.is_authorized('lt30a.selec', 'Account::"1"'), 'is_authorized: no prefix matching of the action');
SELECT ok(NOT governance.is_authorized('lt30a.select.x', 'Account::"1"'), 'is_authorized: no longer action');
SELECT ok(NOT governance.is_authorized('LT30A.SELECT', 'Account::"1"'), 'is_authorized: actions are case-sensitive');
SELECT ok(NOT governance.is_authorized('Other::"lt30a.select"', 'Account::"1"'), 'is_authorized: another entity type is another action');
SELECT ok(NOT governance.is_authorized('Action::"lt30a.select"', 'account::"1"'), 'is_authorized: resources are case-sensitive');
SELECT ok(NOT governance.is_authorized('Action::lt30a.select', 'Account::"1"'), 'is_authorized: a malformed action is not the shorthand');
SELECT is(governance.is_authorized(NULL, 'Account::"1"'), false, 'is_authorized(NULL, ...) is false, not NULL');
SELECT is(governance.is_authorized('lt30a.select', NULL), false, 'is_authorized(..., NULL) is false, not NULL');
SELECT is(governance.is_authorized('lt30a.select', repeat('x', 100000)), false, 'is_authorized with a 100 kB resource is false');
SELECT is(governance.attach(:'a7'), :'l7'::uuid, 'a second artifact can be attached at once');
SELECT is((SELECT array_agg(lease_id ORDER BY lease_id) FROM governance.current_lease()),
          (SELECT array_agg(x ORDER BY x) FROM unnest(ARRAY[:'l1'::uuid, :'l7'::uuid]) x),
          'current_lease() lists both');
SELECT ok(governance.is_authorized('lt30a.update', 'Account::"7"') AND governance.is_authorized('lt30a.select', 'Account::"1"'),
          'each covers its own action and resource');
SELECT ok(NOT governance.is_authorized('lt30a.update', 'Account::"1"') AND NOT governance.is_authorized('lt30a.select', 'Account::"7"'),
          'and never a mix of the two');
SELECT is(governance.attach(:'a1'), :'l1'::uuid, 'attaching the same artifact again is harmless');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 2, 'and does not list it twice');
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'COMMIT ends a transaction-scoped attachment');
SELECT ok(NOT governance.is_authorized('lt30a.select', 'Account::"1"'), 'is_authorized is false after COMMIT');

BEGIN;
SELECT governance.attach(:'a1');
ROLLBACK;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'ROLLBACK ends a transaction-scoped attachment');
SELECT ok(NOT governance.is_authorized('lt30a.select', 'Account::"1"'), 'is_authorized is false after ROLLBACK');

BEGIN;
SELECT governance.attach(:'a1');
PREPARE TRANSACTION 'lt30a_prepared';
SELECT ok(NOT governance.is_authorized('lt30a.select', 'Account::"1"'),
          'PREPARE TRANSACTION ends a transaction-scoped attachment: the next transaction is not authorized');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'and lists no attachment');
ROLLBACK PREPARED 'lt30a_prepared';

SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a1')), 'no error',
          'attach inside a function (here err()''s EXECUTE) outside a transaction block lasts for that statement');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'and it is gone by the next statement');
-- (attach() as the whole statement, outside a transaction block: 37_poolers_roles.sql)

RESET ROLE;

------------------------------------------------------------------------
-- copied, revoked, expired, unknown, uncommitted and malformed artifacts
------------------------------------------------------------------------
SET ROLE lt30a_bot2;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a1')),
          '42501: artifact refused: role lt30a_bot2 is not the role registered for Agent::"lt30a-bot"',
          'an artifact copied to another agent''s login role is refused (42501)');
SELECT ok(NOT governance.is_authorized('lt30a.select', 'Account::"1"'), 'and grants that role nothing');
RESET ROLE;
SELECT ok(pg_temp.poll(format($q$SELECT EXISTS (SELECT 1 FROM governance.ledger WHERE seq > %s
              AND kind = 'governance.attach.refused' AND lease_id = %L AND principal = 'Agent::"lt30a-bot"'
              AND payload->>'caller' = 'lt30a_bot2' AND payload->>'detail' LIKE 'role lt30a_bot2 is not the role registered%%')$q$,
              :mark, :'l1')),
          'the refused attachment is ledgered by the enforcer: lease, principal, caller and reason');
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', :'a1')), '^42501: artifact refused: role postgres is not',
               'a superuser cannot attach an agent''s artifact either');

SET ROLE lt30a_bot;
SELECT lease_id AS l8, artifact AS a8
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"8"', '{"amount": 5}') \gset
SELECT is(governance.revoke(:'l8', 'lt30a: no longer needed'), 1, 'the holder revokes its lease');
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a8')),
          '42501: artifact refused: lease revoked: lt30a: no longer needed', 'attach of a revoked lease is refused, with the reason it was revoked');
RESET ROLE;
SELECT ok(pg_temp.poll(format($q$SELECT EXISTS (SELECT 1 FROM governance.ledger WHERE seq > %s
              AND kind = 'governance.attach.refused' AND lease_id = %L AND payload->>'caller' = 'lt30a_bot'
              AND payload->>'detail' LIKE 'lease revoked%%')$q$, :mark, :'l8')),
          'and ledgered');

SET ROLE lt30a_bot;
SELECT lease_id AS l9, artifact AS a9
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"9"', '{"amount": 5}', '1 second') \gset
RESET ROLE;
SELECT pg_temp.poll(format('SELECT clock_timestamp() > expires_at + interval ''50 ms'' FROM governance.leases WHERE lease_id = %L', :'l9'), 5);
SET ROLE lt30a_bot;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a9')), '42501: artifact refused: artifact expired',
          'attach of an expired lease is refused');
BEGIN;
SELECT lease_id AS l10, artifact AS a10
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"10"', '{"amount": 5}') \gset
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a10')), '55000: artifact refused: lease not committed',
          'a lease cannot be attached before the transaction that authorized it commits (55000: the caller''s own, 37_poolers_roles.sql)');
ROLLBACK;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a10')), '42501: artifact refused: lease unknown',
          'a validly signed artifact whose authorization rolled back is refused: lease unknown');
SELECT is(pg_temp.err('SELECT governance.attach(''garbage'')'), '42501: artifact refused: malformed artifact: not an artifact of version gov1',
          'attach of a string that is no artifact is refused');
SELECT matches(pg_temp.err('SELECT governance.attach('''')'), '^42501: artifact refused: malformed artifact', 'attach of an empty string is refused');
SELECT matches(pg_temp.err('SELECT governance.attach(''gov1.'')'), '^42501: artifact refused: malformed artifact', 'attach of a bare prefix is refused');
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', left(:'a1', length(:'a1') - 5))),
               '^42501: artifact refused: (malformed artifact|bad signature)', 'attach of a truncated artifact is refused');
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', pg_temp.flip(:'a1', 3, 20))), '42501: artifact refused: bad signature',
          'attach of an artifact with one signature character changed is refused: bad signature');
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', pg_temp.flip(:'a1', 2, 40))),
               '^42501: artifact refused: (malformed artifact|bad signature)', 'attach of an artifact with one payload character changed is refused');
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', :'a1' || '.' || split_part(:'a1', '.', 3))),
               '^42501: artifact refused: malformed artifact', 'attach of an artifact with an extra part is refused');
SELECT matches(pg_temp.err(format('SELECT governance.attach(%L)', repeat('A', 100000))),
               '^42501: artifact refused: malformed artifact', 'attach of 100 kB of junk is refused');
SELECT is(pg_temp.err('SELECT governance.attach(NULL)'), '22004: artifact must not be NULL', 'attach(NULL) is an error');
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0, 'none of the refused artifacts left an attachment');
RESET ROLE;
SELECT ok(pg_temp.poll(format($q$SELECT EXISTS (SELECT 1 FROM governance.ledger WHERE seq > %s
              AND kind = 'governance.attach.refused' AND lease_id IS NULL AND payload->>'caller' = 'lt30a_bot'
              AND payload->>'detail' = 'malformed artifact: not an artifact of version gov1')$q$, :mark)),
          'a refused malformed artifact is ledgered too');

------------------------------------------------------------------------
-- a lease renewed by heartbeat stays attachable after its first expiry
------------------------------------------------------------------------
SET ROLE lt30a_bot;
SELECT lease_id AS l11, artifact AS a11, expires_at AS e11
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"11"', '{"amount": 5}', '4 seconds') \gset
SELECT pg_sleep(2.5);
SELECT ok(governance.heartbeat(:'l11') > :'e11'::timestamptz, 'heartbeat pushes the expiry of a 4 s lease forward');
SELECT pg_temp.poll(format('SELECT clock_timestamp() > %L::timestamptz + interval ''100 ms''', :'e11'), 5);
RESET ROLE;
SELECT ok((SELECT state = 'live' AND expires_at > clock_timestamp() FROM governance.leases WHERE lease_id = :'l11'),
          'past the first expiry the renewed lease is still live');
SET ROLE lt30a_bot;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'a11')), 'no error',
          'a live lease renewed by heartbeat can still be attached (transaction scope needs a new attach per transaction)');
RESET ROLE;

------------------------------------------------------------------------
-- verify_artifact
------------------------------------------------------------------------
SET ROLE lt30a_bot;
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a1')), row(true, NULL::text)::text,
          'verify_artifact: a live lease''s artifact is valid');
SELECT is((SELECT (claims->>'expires_at')::timestamptz FROM governance.verify_artifact(:'a1')), :'e1'::timestamptz,
          'verify_artifact: the expiry claim is the lease''s');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a8')), row(false, 'lease revoked')::text,
          'verify_artifact: a revoked lease''s artifact is not valid');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a9')), row(false, 'artifact expired')::text,
          'verify_artifact: an expired one is not valid');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(:'a10')), row(false, 'lease unknown')::text,
          'verify_artifact: one whose lease never committed is not valid');
SELECT is((SELECT row(valid, reason)::text FROM governance.verify_artifact(pg_temp.flip(:'a1', 3, 20))),
          row(false, 'bad signature')::text, 'verify_artifact: a changed signature is not valid');
SELECT is((SELECT row(valid, reason, claims)::text FROM governance.verify_artifact(NULL)),
          row(false, 'no artifact given', NULL::jsonb)::text, 'verify_artifact(NULL) is not valid');
SELECT matches((SELECT valid::text || ' ' || reason FROM governance.verify_artifact('junk')), '^false malformed artifact',
               'verify_artifact of junk is not valid');
RESET ROLE;
SELECT ok((SELECT claims @> jsonb_build_object('lease_id', :'l1', 'principal', 'Agent::"lt30a-bot"',
                             'action', 'Action::"lt30a.select"', 'resource', 'Account::"1"', 'depth', '0',
                             'context_sha3_512', encode(governance.sha3_512(convert_to(
                                 governance.canonical_json('{"amount": 5}'), 'UTF8')), 'hex'),
                             'key_id', governance.current_key_id())
                  AND claims->'parent' = 'null' AND claims->'measurement' = 'null'
             FROM governance.verify_artifact(:'a1')),
          'verify_artifact: the claims (lease, principal, action, resource, depth, context hash, key, no parent, no measurement)');

------------------------------------------------------------------------
-- record() under an attached lease
------------------------------------------------------------------------
SET ROLE lt30a_bot;
BEGIN;
SELECT governance.attach(:'a1');
SELECT governance.record('lt30a.tool_call', '{"tool": "lookup"}') AS rec1 \gset
COMMIT;
RESET ROLE;
SELECT is((SELECT row(kind, lease_id, principal, action, resource, payload)::text FROM governance.ledger WHERE seq = :rec1),
          row('lt30a.tool_call', :'l1'::uuid, 'Agent::"lt30a-bot"', 'Action::"lt30a.select"', 'Account::"1"',
              '{"tool": "lookup"}'::jsonb)::text,
          'record() under an attached lease is bound to it');
SELECT is((SELECT prev_seq FROM governance.ledger WHERE seq = :rec1),
          (SELECT max(seq) FROM governance.ledger WHERE lease_id = :'l1' AND seq < :rec1),
          'and links to the previous event of the lease''s chain');
SET ROLE lt30a_bot;
SELECT is(pg_temp.err('SELECT governance.record(''lt30a.tool_call'', ''{}'')'), '42501: record() needs a live attached lease',
          'record() by an agent without a lease is refused');
BEGIN;
SELECT governance.attach(:'a7');
SELECT governance.revoke(:'l7', 'lt30a: cut off');
SELECT is(pg_temp.err('SELECT governance.record(''lt30a.tool_call'', ''{}'')'), '42501: record() needs a live attached lease',
          'a revocation takes effect at once, before it commits');
COMMIT;

------------------------------------------------------------------------
-- session scope (last: in this backend a detached session attachment has
-- been seen to leave its scope behind for the next attach)
------------------------------------------------------------------------
SELECT lease_id AS l13, artifact AS a13
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.update', 'Account::"13"', '{"amount": 5}') \gset
SELECT is(governance.attach(:'a1', session => true), :'l1'::uuid, 'attach with session => true');
SELECT is((SELECT scope FROM governance.current_lease()), 'session', 'current_lease() says session scope');
SELECT ok(governance.is_authorized('lt30a.select', 'Account::"1"'), 'a session-scoped attachment survives the end of its transaction');
BEGIN;
SELECT governance.attach(:'a13');
ROLLBACK;
SELECT ok(governance.is_authorized('lt30a.select', 'Account::"1"') AND NOT governance.is_authorized('lt30a.update', 'Account::"13"'),
          'a ROLLBACK ends the transaction''s attachments, not the session''s');
BEGIN;
SELECT governance.attach(:'a13', session => true);
ROLLBACK;
SELECT ok(NOT governance.is_authorized('lt30a.update', 'Account::"13"'),
          'a session attachment made by a transaction that rolled back does not survive it');
SELECT is(governance.detach(:'l13'::uuid), 0, 'detach of a lease that is not attached detaches nothing');
SELECT is(governance.detach(), 1, 'detach() detaches all and says how many');
SELECT ok(NOT governance.is_authorized('lt30a.select', 'Account::"1"'), 'nothing is authorized after detach()');
BEGIN;
SELECT governance.attach(:'a13');
COMMIT;
SELECT is((SELECT count(*)::int FROM governance.current_lease()), 0,
          'a transaction-scoped attach after a session-scoped one was detached still ends at COMMIT');
SELECT ok(NOT governance.is_authorized('lt30a.update', 'Account::"13"'),
          'and authorizes nothing in the next transaction (no leak to the next client of a pooled connection)');
SELECT governance.detach();

SELECT governance.attach(:'a6', session => true);
RESET ROLE;
SELECT governance.revoke(:'l6', 'lt30a: cut off under an attachment');
-- the enforcer now cancels this session's running statement: let it land
-- here (rarely it lands between two statements and is ignored)
SELECT pg_temp.err('SELECT pg_sleep(5)');
SET ROLE lt30a_bot;
SELECT is((SELECT row(lease_id, live)::text FROM governance.current_lease()), row(:'l6'::uuid, false)::text,
          'a session attachment outlives the revocation of its lease, which current_lease() shows as not live');
SELECT is(pg_temp.err('SELECT governance.record(''lt30a.tool_call'', ''{}'')'), '42501: record() needs a live attached lease',
          'record() under an attached lease that was revoked (and committed) since is refused');
SELECT governance.detach();

-- the enforcer cancels a statement running under a lease that expires
SELECT lease_id AS l12, artifact AS a12
  FROM governance.authorize('Agent::"lt30a-bot"', 'lt30a.select', 'Account::"12"', '{"amount": 5}', '4 seconds') \gset
SELECT governance.attach(:'a12', session => true);
-- The enforcer cancels every statement still running under the ended lease,
-- round after round: the one that caught the cancel (here, err()'s) keeps
-- only the result, and the check runs after it (pgTAP's matches() inside
-- it would be cancelled in turn on a slow machine).
SELECT pg_temp.err('SELECT pg_sleep(20)') AS e12 \gset
SELECT matches(:'e12'::text, '^57014: ',
               'a statement running when its attached lease expires is cancelled (test/system/enforce.sh checks the message)');
SELECT ok(NOT governance.is_authorized('lt30a.select', 'Account::"12"'), 'an expired attached lease authorizes nothing');
SELECT is((SELECT live FROM governance.current_lease()), false, 'and current_lease() shows it as not live');
SELECT governance.detach();
RESET ROLE;

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT governance.drop_policy('lt30a_p');
DROP OWNED BY lt30a_bot, lt30a_bot2, lt30a_admin, lt30a_nobody;
DROP ROLE lt30a_bot, lt30a_bot2, lt30a_admin, lt30a_nobody;

SELECT * FROM finish();
