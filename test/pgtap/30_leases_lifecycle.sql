-- Leases, part 2 (issue 5 items 2-4): heartbeat (renewal, never past the
-- max expiry nor the parent's expiry, a changed measurement revokes for
-- integrity, a policy that now denies revokes for policy), revoke (cascade
-- through a tree, the count, who may), delegate (the child never outlives
-- its parent, depth bounded, the child allowed by policy on its own, never
-- from a dead parent, its first event linked to the parent's chain).
--
-- Outside a transaction block: leases go live when their authorization
-- commits.  Everything is named lt30b_* / "lt30b-*" and dropped at the end.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['lt30b_bot', 'lt30b_sub', 'lt30b_sub2', 'lt30b_bot2', 'lt30b_out', 'lt30b_admin'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt30b%';

SELECT plan(81);

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\ir lib/poll.sql
CREATE FUNCTION pg_temp.lease(id uuid) RETURNS governance.leases LANGUAGE sql AS $$
    SELECT * FROM governance.leases WHERE lease_id = id
$$;

CREATE ROLE lt30b_bot LOGIN IN ROLE governance_agent;
CREATE ROLE lt30b_sub LOGIN IN ROLE governance_agent;
CREATE ROLE lt30b_sub2 LOGIN IN ROLE governance_agent;
CREATE ROLE lt30b_bot2 LOGIN IN ROLE governance_agent;
CREATE ROLE lt30b_out LOGIN IN ROLE governance_agent;
CREATE ROLE lt30b_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"lt30b-' || r || '"', 'lt30b_' || r)
  FROM unnest(ARRAY['bot', 'sub', 'sub2', 'bot2', 'out']) r;
SELECT governance.put_entity('Agent::"lt30b-' || r || '"', ARRAY['Group::"lt30b-g"'], '{}')
  FROM unnest(ARRAY['bot', 'sub', 'sub2', 'bot2']) r;
SELECT governance.put_entity('Agent::"lt30b-out"', '{}', '{}');
SELECT governance.create_policy('lt30b_p',
    'permit (principal in Group::"lt30b-g", action in [Action::"lt30b.select", Action::"lt30b.update"], resource) when { context.amount <= 1000 };');

SELECT max(seq) AS mark FROM governance.ledger \gset

------------------------------------------------------------------------
-- heartbeat
------------------------------------------------------------------------
SET ROLE lt30b_bot;
SELECT lease_id AS h1, expires_at AS h1e
  FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"1"', '{"amount": 5}', '10 minutes') \gset
SELECT pg_sleep(0.2);
SELECT governance.heartbeat(:'h1') AS h1r \gset
RESET ROLE;
-- lease ids are version 7 UUIDs: Unix milliseconds first, then random bits
SELECT is(substr(:'h1', 15, 1) || substr(:'h1', 20, 1) ~ '^7[89ab]$', true,
          'a lease id is a version 7 UUID (RFC 9562)');
SELECT ok(to_timestamp(('x' || lpad(replace(substr(:'h1', 1, 13), '-', ''), 16, '0'))::bit(64)::bigint / 1000.0)
            BETWEEN now() - interval '5 s' AND clock_timestamp(),
          'whose first 48 bits are the time it was issued, in Unix milliseconds');
SELECT ok(:'h1r'::timestamptz > :'h1e'::timestamptz, 'heartbeat moves the expiry forward');
SELECT ok(:'h1r'::timestamptz BETWEEN now() + interval '9 min 50 s' AND clock_timestamp() + interval '10 min',
          'by the lease''s ttl from now');
SELECT is(row((pg_temp.lease(:'h1')).expires_at, (pg_temp.lease(:'h1')).generation)::text,
          row(:'h1r'::timestamptz, 2)::text, 'durably, with the generation (fencing token) incremented');
SELECT is((SELECT row(kind, (payload->>'expires_at')::timestamptz, payload->>'policy_set_hash')::text
             FROM governance.ledger WHERE lease_id = :'h1' ORDER BY seq DESC LIMIT 1),
          row('governance.heartbeat', :'h1r'::timestamptz, encode(governance.policy_set_hash(), 'hex'))::text,
          'the heartbeat is ledgered on the lease''s chain with the new expiry and the policy-set hash');
SET ROLE lt30b_bot2;
SELECT is(pg_temp.err(format('SELECT governance.heartbeat(%L)', :'h1')),
          format('42501: only the holder of lease %s may renew it', :'h1'), 'only the holder may renew a lease');
RESET ROLE;
SET ROLE lt30b_admin;
SELECT ok(governance.heartbeat(:'h1') >= :'h1r'::timestamptz, 'governance_admin may renew it');
RESET ROLE;

-- never past the max expiry
SET governance.max_lease_ttl = '10s';
SET ROLE lt30b_bot;
SELECT lease_id AS h2 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"2"', '{"amount": 5}', '10 seconds') \gset
SELECT pg_sleep(0.3);
SELECT governance.heartbeat(:'h2') AS h2r \gset
RESET ROLE;
RESET governance.max_lease_ttl;
SELECT is((pg_temp.lease(:'h2')).max_expiry - (pg_temp.lease(:'h2')).issued_at, interval '10 seconds',
          'max expiry is governance.max_lease_ttl after authorization');
SELECT is(:'h2r'::timestamptz, (pg_temp.lease(:'h2')).max_expiry, 'heartbeat never renews past the max expiry');
SELECT is((pg_temp.lease(:'h2')).expires_at, (pg_temp.lease(:'h2')).max_expiry, 'durably');

-- a changed measurement revokes (integrity)
SET ROLE lt30b_bot;
SELECT lease_id AS m1 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"3"', '{"amount": 5}',
                                                 '10 minutes', '\x0102030405'::bytea) \gset
SELECT ok(governance.heartbeat(:'m1', '\x0102030405') IS NOT NULL, 'heartbeat with the bound measurement renews');
SELECT lease_id AS m1c FROM governance.delegate(:'m1', 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"3"', '{"amount": 5}') \gset
SELECT is(governance.heartbeat(:'m1', '\x0102030406'), NULL, 'heartbeat with a changed measurement returns NULL');
RESET ROLE;
SELECT is(row((pg_temp.lease(:'m1')).state, (pg_temp.lease(:'m1')).end_reason)::text,
          row('revoked', 'integrity: the runtime measurement changed')::text, 'and revokes the lease for integrity');
SELECT is((pg_temp.lease(:'m1c')).state, 'revoked', 'and its delegated child with it');
SELECT is((SELECT row(payload->>'reason', payload->'count', payload->'ended' @> to_jsonb(ARRAY[:'m1', :'m1c']))::text
             FROM governance.ledger WHERE lease_id = :'m1' AND kind = 'governance.revoke'),
          row('integrity: the runtime measurement changed', '2'::jsonb, true)::text,
          'the revocation is ledgered with its reason and the leases it ended');
SET ROLE lt30b_bot;
SELECT is(pg_temp.err(format('SELECT governance.heartbeat(%L, %L)', :'m1', '\x0102030405')),
          format('55000: lease %s is revoked', :'m1'), 'a revoked lease cannot be renewed, even with the right measurement');
SELECT lease_id AS m2 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"3"', '{"amount": 5}',
                                                 '10 minutes', '\x01'::bytea) \gset
SELECT is(governance.heartbeat(:'m2'), NULL, 'heartbeat without the measurement a lease was bound to revokes it');
SELECT lease_id AS m3 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"3"', '{"amount": 5}') \gset
SELECT is(governance.heartbeat(:'m3', '\x01'), NULL, 'heartbeat with a measurement a lease was not bound to revokes it');
SELECT lease_id AS m4 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"3"', '{"amount": 5}',
                                                 '10 minutes', '\x0102'::bytea) \gset
SELECT is(governance.heartbeat(:'m4', '\x010203'), NULL, 'a measurement extended by one byte is a changed measurement');
RESET ROLE;
SELECT is((SELECT array_agg(state || ':' || end_reason ORDER BY lease_id) FROM governance.leases WHERE lease_id IN (:'m2', :'m3', :'m4')),
          array_fill('revoked:integrity: the runtime measurement changed'::text, ARRAY[3]), 'each of them revoked for integrity');

-- the integrity revocation holds even if the transaction that found it rolls back
SET ROLE lt30b_bot;
SELECT lease_id AS m5, artifact AS m5a FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"3"', '{"amount": 5}',
                                                 '10 minutes', '\x05'::bytea) \gset
BEGIN;
SELECT governance.heartbeat(:'m5', '\x06');
ROLLBACK;
RESET ROLE;
SELECT is((governance.verify_artifact(:'m5a')).reason, 'lease revoked',
          'a heartbeat that found a changed measurement ends the lease at once, even if its transaction rolls back');
SELECT ok(pg_temp.poll(format('SELECT state = %L FROM governance.leases WHERE lease_id = %L', 'revoked', :'m5')),
          'and the revocation becomes durable all the same');

-- a policy that now denies revokes (policy)
SET ROLE lt30b_bot;
SELECT lease_id AS p1 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.update', 'Account::"4"', '{"amount": 500}') \gset
SELECT lease_id AS p2 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.update', 'Account::"4"', '{"amount": 50}') \gset
RESET ROLE;
SELECT governance.replace_policy('lt30b_p',
    'permit (principal in Group::"lt30b-g", action in [Action::"lt30b.select", Action::"lt30b.update"], resource) when { context.amount <= 100 };');
SET ROLE lt30b_bot;
SELECT is(governance.heartbeat(:'p1'), NULL, 'heartbeat after a policy change that now denies the original request returns NULL');
SELECT ok(governance.heartbeat(:'p2') IS NOT NULL, 'a lease the changed policy still allows is renewed');
RESET ROLE;
SELECT is((pg_temp.lease(:'p1')).state, 'revoked', 'the denied one is revoked');
SELECT matches((pg_temp.lease(:'p1')).end_reason, '^policy: ', 'for policy');
SELECT governance.put_entity('Agent::"lt30b-bot"', '{}', '{}');
SET ROLE lt30b_bot;
SELECT is(governance.heartbeat(:'p2'), NULL, 'heartbeat after an entity change that now denies (bot left its group) returns NULL');
RESET ROLE;
SELECT is(row((pg_temp.lease(:'p2')).state, (pg_temp.lease(:'p2')).end_reason ~ '^policy: ')::text, row('revoked', true)::text,
          'and revokes for policy');
SELECT governance.put_entity('Agent::"lt30b-bot"', ARRAY['Group::"lt30b-g"'], '{}');
SELECT governance.replace_policy('lt30b_p',
    'permit (principal in Group::"lt30b-g", action in [Action::"lt30b.select", Action::"lt30b.update"], resource) when { context.amount <= 1000 };');

-- expired and unknown leases
SET ROLE lt30b_bot;
SELECT lease_id AS x1 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"5"', '{"amount": 5}', '1 second') \gset
SELECT pg_sleep(1.2);
SELECT is(pg_temp.err(format('SELECT governance.heartbeat(%L)', :'x1')),
          format('55000: lease %s is expired', :'x1'), 'an expired lease cannot be renewed');
SELECT is(pg_temp.err('SELECT governance.heartbeat(''00000000-0000-4000-8000-000000000000'')'),
          '42704: lease 00000000-0000-4000-8000-000000000000 does not exist', 'heartbeat of an unknown lease is an error');
RESET ROLE;

------------------------------------------------------------------------
-- delegate
------------------------------------------------------------------------
SET ROLE lt30b_bot;
SELECT lease_id AS root, expires_at AS root_e
  FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"10"', '{"amount": 5}', '1 minute') \gset
SELECT decision AS cd, lease_id AS c1, artifact AS c1a, expires_at AS c1e, reasons AS cr
  FROM governance.delegate(:'root', 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"10"', '{"amount": 5}', '10 minutes') \gset
RESET ROLE;
SELECT is(:'cd'::text, 'allow', 'delegate: the holder of a live lease delegates to another registered principal');
SELECT is(row((pg_temp.lease(:'c1')).parent_id, (pg_temp.lease(:'c1')).ancestors, (pg_temp.lease(:'c1')).depth,
              (pg_temp.lease(:'c1')).role_oid::regrole::text)::text,
          row(:'root'::uuid, ARRAY[:'root'::uuid], 1, 'lt30b_sub')::text,
          'the child: parent, ancestors, depth 1, held by the child principal''s role');
SELECT is(:'c1e'::timestamptz, :'root_e'::timestamptz, 'a child asking for 10 minutes under a 1-minute parent ends with its parent');
SELECT ok((pg_temp.lease(:'c1')).max_expiry <= (pg_temp.lease(:'root')).max_expiry, 'and its max expiry is within the parent''s');
SET ROLE lt30b_sub;
SELECT is(pg_temp.err(format('SELECT governance.attach(%L)', :'c1a')), 'no error', 'the child principal''s role attaches the child');
SELECT pg_sleep(0.2);
SELECT is(governance.heartbeat(:'c1'), :'root_e'::timestamptz, 'heartbeat never renews a child past its parent''s expiry');
RESET ROLE;
SET ROLE lt30b_bot;
SELECT governance.heartbeat(:'root') AS root_e2 \gset
SET ROLE lt30b_sub;
SELECT is(governance.heartbeat(:'c1'), :'root_e2'::timestamptz, 'once the parent is renewed the child may follow, up to the parent''s new expiry');
RESET ROLE;

-- the child's first event links to the delegation on the parent's chain
SELECT is((SELECT row(l.kind, l.payload->>'decision', p.kind, p.lease_id, p.payload)::text
             FROM governance.ledger l JOIN governance.ledger p ON p.seq = l.prev_seq
            WHERE l.seq = (pg_temp.lease(:'c1')).first_seq),
          row('governance.authorize', 'allow', 'governance.delegated', :'root'::uuid,
              jsonb_build_object('to_principal', 'Agent::"lt30b-sub"', 'action', 'Action::"lt30b.select"',
                                 'resource', 'Account::"10"'))::text,
          'the child''s first event links (prev_seq) to a governance.delegated event on the parent''s chain');
SELECT is((SELECT l.link FROM governance.ledger l WHERE l.seq = (pg_temp.lease(:'c1')).first_seq),
          (SELECT governance.chain_link(p.link, l.evidence) FROM governance.ledger l JOIN governance.ledger p ON p.seq = l.prev_seq
            WHERE l.seq = (pg_temp.lease(:'c1')).first_seq),
          'and its chain link is computed over the parent event''s link');
SELECT is((SELECT min(seq) FROM governance.ledger WHERE lease_id = :'c1'), (pg_temp.lease(:'c1')).first_seq,
          'that event is the child''s first');
SELECT is((SELECT payload->>'parent' FROM governance.ledger WHERE seq = (pg_temp.lease(:'c1')).first_seq), :'root',
          'and names the parent');

-- the child request must be allowed by policy on its own, and narrow its
-- parent (33_delegation_attenuation.sql has the details); the agent sees
-- short reasons, the ledger keeps the full ones
SET ROLE lt30b_bot;
SELECT decision || ' ' || reasons[1] AS dn1 FROM governance.delegate(:'root', 'Agent::"lt30b-out"', 'lt30b.select', 'Account::"10"', '{"amount": 5}') \gset
SELECT decision || ' ' || reasons[1] AS dn2 FROM governance.delegate(:'root', 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"10"', '{"amount": 5000}') \gset
SELECT decision || ' ' || reasons[1] AS dn3 FROM governance.delegate(:'root', 'Agent::"lt30b-sub"', 'lt30b.delete', 'Account::"10"', '{"amount": 5}') \gset
SELECT decision || ' ' || reasons[1] AS dn4 FROM governance.delegate(:'root', 'Agent::"lt30b-ghost"', 'lt30b.select', 'Account::"10"', '{"amount": 5}') \gset
RESET ROLE;
SELECT is(:'dn1'::text, 'deny denied by policy', 'delegate to a principal the policy does not permit is denied');
SELECT is(:'dn2'::text, 'deny denied by policy', 'delegate with a context the policy does not permit is denied');
SELECT is(:'dn3'::text, 'deny delegation cannot widen its parent: the action must be the parent lease''s, the resource the parent lease''s or within it',
          'delegate of another action than the parent''s is denied');
SELECT is(:'dn4'::text, 'deny principal Agent::"lt30b-ghost" cannot receive a delegation', 'delegate to an unregistered principal is denied');
SELECT is((SELECT array_agg(payload->'reasons'->>0 ORDER BY seq) FROM governance.ledger
            WHERE seq > :mark AND kind = 'governance.delegate'
              AND lease_id IS NULL AND payload->>'decision' = 'deny' AND payload->>'parent' = :'root'),
          ARRAY['denied by default: no permit policy matched', 'denied by default: no permit policy matched',
                'delegation cannot widen its parent: action Action::"lt30b.delete" is not the parent lease''s action Action::"lt30b.select"',
                'principal Agent::"lt30b-ghost" is not registered'],
          'each denied delegation is ledgered with its parent and its full reason');
SET ROLE lt30b_bot2;
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, 'Agent::"lt30b-bot2"', 'lt30b.select', 'Account::"10"', '{"amount": 5}')$$, :'root')),
          format('42501: only the holder of lease %s may delegate from it', :'root'), 'only the holder of a lease may delegate from it');
RESET ROLE;

-- depth is bounded
SET governance.max_delegation_depth = 2;
SET ROLE lt30b_sub;
SELECT decision AS dd2, lease_id AS c2 FROM governance.delegate(:'c1', 'Agent::"lt30b-sub2"', 'lt30b.select', 'Account::"10"', '{"amount": 5}') \gset
SET ROLE lt30b_sub2;
SELECT decision AS dd3, lease_id IS NULL AS dd3n, reasons AS dd3r FROM governance.delegate(:'c2', 'Agent::"lt30b-bot"', 'lt30b.select', 'Account::"10"', '{"amount": 5}') \gset
RESET ROLE;
RESET governance.max_delegation_depth;
SELECT is(:'dd2'::text, 'allow', 'a child may delegate further (depth 2 of 2)');
SELECT is((pg_temp.lease(:'c2')).ancestors, ARRAY[:'root'::uuid, :'c1'::uuid], 'the grandchild lists its ancestors top down');
SELECT is(row(:'dd3'::text, :'dd3n'::boolean, :'dd3r'::text[])::text,
          row('deny', true, ARRAY['delegation depth 3 exceeds governance.max_delegation_depth (2)'])::text,
          'a delegation deeper than governance.max_delegation_depth is denied');
SET governance.max_delegation_depth = 0;
SET ROLE lt30b_bot;
SELECT decision AS dd0 FROM governance.delegate(:'root', 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"10"', '{"amount": 5}') \gset
RESET ROLE;
RESET governance.max_delegation_depth;
SELECT is(:'dd0'::text, 'deny', 'governance.max_delegation_depth = 0 forbids delegation');

------------------------------------------------------------------------
-- revoke
------------------------------------------------------------------------
-- root -> c1 -> c2 (three levels); a sibling c3 under root; another tree
SET ROLE lt30b_bot;
SELECT lease_id AS c3 FROM governance.delegate(:'root', 'Agent::"lt30b-sub2"', 'lt30b.select', 'Account::"10"', '{"amount": 5}') \gset
SET ROLE lt30b_sub2;
SELECT is(pg_temp.err(format('SELECT governance.revoke(%L, ''mine now'')', :'root')),
          format('42501: role lt30b_sub2 may not revoke lease %s', :'root'), 'a descendant''s holder may not revoke an ancestor');
RESET ROLE;
SET ROLE lt30b_bot2;
SELECT is(pg_temp.err(format('SELECT governance.revoke(%L, ''not mine'')', :'c2')),
          format('42501: role lt30b_bot2 may not revoke lease %s', :'c2'), 'an unrelated agent may not revoke');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM governance.leases WHERE lease_id IN (:'root', :'c1', :'c2', :'c3') AND state = 'live'), 4,
          'the refused revocations changed nothing');
SET ROLE lt30b_bot;
SELECT is(governance.revoke(:'root', 'lt30b: job done'), 4, 'revoke of the root ends the whole tree and returns the count (4)');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT state || ':' || end_reason) FROM governance.leases WHERE lease_id IN (:'root', :'c1', :'c2', :'c3')),
          ARRAY['revoked:lt30b: job done'], 'every lease of the tree is durably revoked with the reason');
SELECT is((SELECT count(DISTINCT ended_at)::int FROM governance.leases WHERE lease_id IN (:'root', :'c1', :'c2', :'c3')), 1,
          'all at the same instant');
SELECT is((governance.verify_artifact(:'c1a')).reason, 'lease revoked',
          'shared memory agrees at once: the child''s artifact is no longer valid');
SELECT is((SELECT row(payload->>'reason', payload->>'by', payload->'count',
                      (SELECT array_agg(e ORDER BY e) FROM jsonb_array_elements_text(payload->'ended') e))::text
             FROM governance.ledger WHERE lease_id = :'root' AND kind = 'governance.revoke'),
          row('lt30b: job done', 'lt30b_bot', '4'::jsonb,
              (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(ARRAY[:'root'::uuid, :'c1'::uuid, :'c2'::uuid, :'c3'::uuid]) x))::text,
          'the revocation is ledgered on the root''s chain: reason, by whom, count and every lease it ended');
SET ROLE lt30b_bot;
SELECT is(governance.revoke(:'root', 'again'), 0, 'revoking it again revokes nothing');
SELECT is(governance.revoke(:'c2', 'again'), 0, 'revoking a revoked descendant revokes nothing');
RESET ROLE;
SELECT is((pg_temp.lease(:'root')).end_reason, 'lt30b: job done', 'and keeps the first reason');

-- who may revoke: the holder, an ancestor's holder, governance_admin
SET ROLE lt30b_bot;
SELECT lease_id AS t1 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"11"', '{"amount": 5}') \gset
SELECT lease_id AS t2 FROM governance.delegate(:'t1', 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"11"', '{"amount": 5}') \gset
SET ROLE lt30b_sub;
SELECT lease_id AS t3 FROM governance.delegate(:'t2', 'Agent::"lt30b-sub2"', 'lt30b.select', 'Account::"11"', '{"amount": 5}') \gset
SELECT lease_id AS t4 FROM governance.delegate(:'t2', 'Agent::"lt30b-sub2"', 'lt30b.select', 'Account::"11"', '{"amount": 5}') \gset
SET ROLE lt30b_sub2;
SELECT is(governance.revoke(:'t3', 'holder'), 1, 'the holder of a leaf revokes it');
SET ROLE lt30b_bot;
SELECT is(governance.revoke(:'t4', 'grandparent'), 1, 'the holder of an ancestor two levels up revokes a descendant');
SET ROLE lt30b_sub;
SELECT is(governance.revoke(:'t2', 'middle'), 1, 'revoking a middle lease ends only it and its live descendants');
RESET ROLE;
SELECT is((pg_temp.lease(:'t1')).state, 'live', 'its parent stays live');
SET ROLE lt30b_admin;
SELECT is(governance.revoke(:'t1', 'admin'), 1, 'governance_admin revokes any lease');
RESET ROLE;
SELECT is((SELECT payload->>'by' FROM governance.ledger WHERE lease_id = :'t1' AND kind = 'governance.revoke'), 'lt30b_admin',
          'and is named in the ledger');

-- delegation from a revoked or expired parent is denied
SET ROLE lt30b_bot;
SELECT decision || ' ' || reasons[1] AS dr FROM governance.delegate(:'t1', 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"11"', '{"amount": 5}') \gset
SELECT lease_id AS e1 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"12"', '{"amount": 5}', '1 second') \gset
SELECT pg_sleep(1.2);
SELECT decision || ' ' || reasons[1] AS de FROM governance.delegate(:'e1', 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"12"', '{"amount": 5}') \gset
RESET ROLE;
SELECT is(:'dr'::text, format('deny parent lease %s is revoked', :'t1'), 'delegation from a revoked parent is denied');
SELECT is(:'de'::text, format('deny parent lease %s is expired', :'e1'), 'delegation from an expired parent is denied');
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq > :mark AND kind = 'governance.delegate'
              AND payload->>'decision' = 'deny' AND payload->>'parent' IN (:'t1', :'e1')), 2, 'both denials are ledgered');
SELECT is((SELECT count(*)::int FROM governance.leases WHERE parent_id IN (:'t1', :'e1') AND issued_at > (pg_temp.lease(:'t1')).ended_at),
          0, 'and no child was created');

-- revoke needs READ COMMITTED; bad arguments
SET ROLE lt30b_bot;
SELECT lease_id AS r1 FROM governance.authorize('Agent::"lt30b-bot"', 'lt30b.select', 'Account::"13"', '{"amount": 5}') \gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT is(pg_temp.err(format('SELECT governance.revoke(%L, ''x'')', :'r1')),
          '0A000: revoke() requires the READ COMMITTED isolation level', 'revoke() refuses to run under REPEATABLE READ');
SELECT is(pg_temp.err(format($$SELECT governance.delegate(%L, 'Agent::"lt30b-sub"', 'lt30b.select', 'Account::"13"', '{"amount": 5}')$$, :'r1')),
          '0A000: delegate() requires the READ COMMITTED isolation level', 'delegate() refuses to run under REPEATABLE READ');
ROLLBACK;
SELECT is(pg_temp.err('SELECT governance.revoke(''00000000-0000-4000-8000-000000000000'', ''x'')'),
          '42704: lease 00000000-0000-4000-8000-000000000000 does not exist', 'revoke of an unknown lease is an error');
SELECT is(pg_temp.err('SELECT governance.revoke(NULL, ''x'')'), '22004: lease id must not be NULL', 'revoke(NULL, ...) is an error');
SELECT is(pg_temp.err(format('SELECT governance.revoke(%L, NULL)', :'r1')), '22004: reason must not be NULL', 'revoke without a reason is an error');
SELECT is(pg_temp.err(format('SELECT governance.revoke(%L, '''')', :'r1')), '22023: reason must not be empty', 'revoke with an empty reason is an error');
SELECT is(pg_temp.err(format('SELECT governance.revoke(%L, repeat(''x'', 1001))', :'r1')),
          '22023: reason is too long (at most 1000 bytes)', 'revoke with a 1001-byte reason is an error');
RESET ROLE;
SELECT is((pg_temp.lease(:'r1')).state, 'live', 'none of those revoked anything');

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
SELECT governance.drop_policy('lt30b_p');
DROP OWNED BY lt30b_bot, lt30b_sub, lt30b_sub2, lt30b_bot2, lt30b_out, lt30b_admin;
DROP ROLE lt30b_bot, lt30b_sub, lt30b_sub2, lt30b_bot2, lt30b_out, lt30b_admin;

SELECT * FROM finish();
