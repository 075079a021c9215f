-- Issue 17: policy templates.  create_template / link_template /
-- unlink_template / drop_template: slots where Cedar allows them and
-- nowhere else, a link fills exactly its template's slots, the linked
-- policy decides like the policy written out by hand, the policy-set hash
-- follows links, drop_policy / replace_policy refuse a linked policy,
-- drop_template refuses while linked, bad input, privileges, SAVEPOINT /
-- ROLLBACK TO, and the ledger.
\ir lib/fixture.sql
BEGIN;
SELECT plan(64);

DO $$
BEGIN
    PERFORM governance.unlink_template(name) FROM governance.template_links;
    PERFORM governance.drop_template(name) FROM governance.policy_templates;
    PERFORM governance.drop_policy(name) FROM governance.policies;
END
$$;

CREATE FUNCTION pg_temp.templates() RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM governance.policy_templates $$;
CREATE FUNCTION pg_temp.names() RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM governance.policies $$;
CREATE FUNCTION pg_temp.last_event() RETURNS governance.ledger LANGUAGE sql AS
$$ SELECT * FROM governance.ledger ORDER BY seq DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.decision(p text, a text, r text) RETURNS text LANGUAGE sql AS
$$ SELECT decision FROM governance.decide(p, a, r) $$;

------------------------------------------------------------------------
-- create_template: bad input stores nothing
------------------------------------------------------------------------
SELECT throws_ok($$SELECT governance.create_template(NULL, 'permit (principal == ?principal, action, resource);')$$,
                 '22004', NULL, 'a NULL name is refused');
SELECT throws_ok($$SELECT governance.create_template('t', NULL)$$, '22004', 'template source must not be NULL',
                 'a NULL source is refused');
SELECT throws_ok($$SELECT governance.create_template('', 'permit (principal == ?principal, action, resource);')$$,
                 '22023', NULL, 'an empty name is refused');
SELECT throws_ok($$SELECT governance.create_template('a b', 'permit (principal == ?principal, action, resource);')$$,
                 '22023', 'invalid policy name "a b"', 'an invalid name is refused');
SELECT throws_ok($$SELECT governance.create_template('t', '')$$, '42601', NULL, 'an empty source is refused');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal == ?principal, action, resource); ' || repeat(' ', 300 * 1024))$$,
                 '54000', 'template "t" is too large', 'a source over governance.max_policy_size is refused');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal, action, resource);')$$,
                 '42601', 'line 1, column 1: a template holds at least one slot (?principal or ?resource)',
                 'a template without a slot is refused');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal == ?resource, action, resource);')$$,
                 '42601', 'line 1, column 22: ?resource cannot appear in the principal scope (only ?principal can)',
                 '?resource in the principal scope is refused, with its position');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal, action, resource in ?principal);')$$,
                 '42601', 'line 1, column 40: ?principal cannot appear in the resource scope (only ?resource can)',
                 '?principal in the resource scope is refused');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal, action == ?action, resource == ?resource);')$$,
                 '42601', 'line 1, column 30: unknown slot ?action (a template has ?principal and ?resource)',
                 'there is no ?action slot');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal, action in ?principal, resource);')$$,
                 '42601', 'line 1, column 30: a slot (?principal) cannot constrain the action',
                 'a slot never constrains the action');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal == ? principal, action, resource);')$$,
                 '42601', NULL, 'a slot is one token: "? principal" is not one');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal, action, resource) when { principal == ?principal };')$$,
                 '42601', NULL, 'a slot in a condition is refused, as Cedar refuses it');
SELECT throws_ok($$SELECT governance.create_template('t', 'permit (principal == ?principal, action, resource); permit (principal == ?principal, action, resource);')$$,
                 '42601', NULL, 'a template holds one statement');
SELECT is(pg_temp.templates(), '', 'none of these stored a template');

------------------------------------------------------------------------
-- a slot is not allowed in a policy
------------------------------------------------------------------------
SELECT throws_ok($$SELECT governance.create_policy('p', 'permit (principal == ?principal, action, resource);')$$,
                 '42601', 'line 1, column 22: ?principal is a template slot: a policy has none (create a template and link it)',
                 'create_policy refuses a slot');
SELECT throws_ok($$SELECT governance.create_policies('@id("p") permit (principal, action, resource in ?resource);')$$,
                 '42601', NULL, 'create_policies refuses a slot');

------------------------------------------------------------------------
-- create, link, decide
------------------------------------------------------------------------
SELECT lives_ok($$SELECT governance.create_policy('static', 'permit (principal == User::"zed", action == Action::"read", resource);')$$,
                'a static policy');
SELECT is(length(governance.create_template('reader', $t$@advice("read what you were given")
permit (principal == ?principal, action == Action::"read", resource in ?resource)
when { context.ok == true };$t$)), 64, 'create_template returns the policy-set hash');
SELECT is((pg_temp.last_event()).kind, 'governance.template.created', 'create_template is ledgered');
SELECT is((pg_temp.last_event()).payload->>'effect', 'permit', 'with the effect');
SELECT lives_ok($$SELECT governance.create_template('owner', 'forbid (principal is User in ?principal, action, resource);')$$,
                'a template with "is T in ?principal"');
SELECT throws_ok($$SELECT governance.create_template('owner', 'forbid (principal == ?principal, action, resource);')$$,
                 '42710', 'template "owner" already exists', 'a template name is taken once');
SELECT is((SELECT effect FROM governance.policy_templates WHERE name = 'owner'), 'forbid', 'its effect is stored');

-- linking: exactly the slots of the template
SELECT throws_ok($$SELECT governance.link_template('nope', 'l', principal => 'User::"a"')$$,
                 '42704', 'template "nope" does not exist', 'linking a missing template is refused');
SELECT throws_ok($$SELECT governance.link_template('reader', 'l', principal => 'User::"a"')$$,
                 '22023', 'template "reader" has the slot ?resource: pass resource', 'a missing slot value is refused');
SELECT throws_ok($$SELECT governance.link_template('owner', 'l', principal => 'Group::"g"', resource => 'Doc::"d"')$$,
                 '22023', 'template "owner" has no slot ?resource: pass no resource', 'a value for a slot the template lacks is refused');
SELECT throws_ok($$SELECT governance.link_template('owner', 'l', principal => 'not a uid')$$,
                 '22023', NULL, 'a malformed uid is refused');
SELECT throws_ok($$SELECT governance.link_template('owner', 'l', principal => '')$$,
                 '22023', NULL, 'an empty uid is refused');
SELECT throws_ok($$SELECT governance.link_template('owner', 'l', principal => 'User::"' || repeat('x', 100000) || '"')$$,
                 '22023', NULL, 'a huge uid is refused');
SELECT throws_ok($$SELECT governance.link_template('owner', NULL, principal => 'User::"a"')$$,
                 '22004', NULL, 'a NULL link name is refused');
SELECT throws_ok($$SELECT governance.link_template(NULL, 'l', principal => 'User::"a"')$$,
                 '22004', NULL, 'a NULL template name is refused');
SELECT throws_ok($$SELECT governance.link_template('owner', 'static', principal => 'Group::"g"')$$,
                 '42710', 'policy "static" already exists', 'a link takes a policy name not taken');
SELECT is(pg_temp.names(), 'static', 'none of these linked anything');

SELECT is(pg_temp.decision('User::"ann"', 'read', 'Doc::"d1"'), 'deny', 'before the link: deny');
SELECT lives_ok($$SELECT governance.put_entity('Doc::"d1"', ARRAY['Folder::"f"'])$$, 'an entity in a folder');
CREATE TEMP TABLE h AS SELECT governance.policy_set_hash() AS before;
SELECT is(length(governance.link_template('reader', 'ann-reads-f', principal => 'User::"ann"', resource => 'Folder::"f"')), 64,
          'link_template returns the new policy-set hash');
SELECT isnt(governance.policy_set_hash(), (SELECT before FROM h), 'linking changes the policy-set hash');
SELECT is((pg_temp.last_event()).kind, 'governance.template.linked', 'link_template is ledgered');
SELECT is((pg_temp.last_event()).payload - 'policy_set_hash' - 'source_sha3_512',
          '{"name": "ann-reads-f", "effect": "permit", "template": "reader", "principal": "User::\"ann\"", "resource": "Folder::\"f\""}'::jsonb,
          'with the template and the slot values');
SELECT is((pg_temp.last_event()).payload->>'policy_set_hash', encode(governance.policy_set_hash(), 'hex'),
          'and the hash of the set it produced');
SELECT is((SELECT source FROM governance.policies WHERE name = 'ann-reads-f'),
          '@advice("read what you were given")
permit (principal == User::"ann", action == Action::"read", resource in Folder::"f")
when { context.ok == true };', 'the linked policy is the template with its slots filled in');
SELECT is((SELECT decision FROM governance.decide('User::"ann"', 'read', 'Doc::"d1"', '{"ok": true}')), 'allow',
          'the linked policy decides: ann reads a document of the folder');
SELECT is((SELECT decision FROM governance.decide('User::"bob"', 'read', 'Doc::"d1"', '{"ok": true}')), 'deny',
          'but not bob');
SELECT is((SELECT decision FROM governance.decide('User::"ann"', 'read', 'Doc::"d1"', '{"ok": false}')), 'deny',
          'and the template''s condition holds in the link');
SELECT is((SELECT annotations->>'advice' FROM governance.explain('User::"ann"', 'read', 'Doc::"d1"') WHERE policy = 'ann-reads-f'),
          'read what you were given', 'explain() shows the template''s annotations on the link');
SELECT lives_ok($$SELECT governance.link_template('owner', 'no-g', principal => 'Group::"g\"q"')$$,
                'a uid with an escaped quote links');
SELECT lives_ok($$SELECT governance.put_entity('User::"ann"', ARRAY['Group::"g\"q"'])$$, 'ann joins that group');
SELECT is((SELECT decision FROM governance.decide('User::"ann"', 'read', 'Doc::"d1"', '{"ok": true}')), 'deny',
          'the forbid linked for the group denies ann');

-- a linked policy is changed through its template only
SELECT throws_ok($$SELECT governance.drop_policy('no-g')$$, '42809', 'policy "no-g" is linked from template "owner"',
                 'drop_policy refuses a linked policy');
SELECT throws_ok($$SELECT governance.replace_policy('no-g', 'permit (principal, action, resource);')$$, '42809', NULL,
                 'replace_policy refuses a linked policy');
SELECT throws_ok($$SELECT governance.drop_template('owner')$$, '2BP01', 'template "owner" is still linked',
                 'drop_template refuses while linked');
SELECT throws_ok($$SELECT governance.unlink_template('static')$$, '42704', 'template-linked policy "static" does not exist',
                 'unlink_template refuses a policy that is not a link');
SELECT throws_ok($$SELECT governance.unlink_template(NULL)$$, '22004', NULL, 'unlink_template refuses NULL');

-- SAVEPOINT / ROLLBACK TO
SAVEPOINT before_unlink;
SELECT lives_ok($$SELECT governance.unlink_template('no-g')$$, 'unlink');
SELECT is((pg_temp.last_event()).kind, 'governance.template.unlinked', 'unlink_template is ledgered');
SELECT lives_ok($$SELECT governance.drop_template('owner')$$, 'the template, no longer linked, can be dropped');
SELECT is((SELECT decision FROM governance.decide('User::"ann"', 'read', 'Doc::"d1"', '{"ok": true}')), 'allow',
          'without the forbid, ann may read again');
ROLLBACK TO SAVEPOINT before_unlink;
SELECT is(pg_temp.names() || ' / ' || pg_temp.templates(), 'ann-reads-f,no-g,static / owner,reader',
          'ROLLBACK TO SAVEPOINT restores the link and the template');
SELECT is((SELECT decision FROM governance.decide('User::"ann"', 'read', 'Doc::"d1"', '{"ok": true}')), 'deny',
          'and the decision it made');

------------------------------------------------------------------------
-- privileges
------------------------------------------------------------------------
SELECT pg_temp.drop_roles(ARRAY['tp_agent', 'tp_auditor']);
CREATE ROLE tp_agent IN ROLE governance_agent;
CREATE ROLE tp_auditor IN ROLE governance_auditor;
SET ROLE tp_agent;
SELECT is(pg_temp.err($$SELECT governance.create_template('x', 'permit (principal == ?principal, action, resource);')$$)
          || ' | ' || pg_temp.err($$SELECT governance.link_template('reader', 'x', 'User::"a"', 'Doc::"d"')$$)
          || ' | ' || pg_temp.err($$SELECT governance.unlink_template('ann-reads-f')$$)
          || ' | ' || pg_temp.err($$SELECT governance.drop_template('reader')$$),
          '42501: permission denied for function create_template | 42501: permission denied for function link_template'
          ' | 42501: permission denied for function unlink_template | 42501: permission denied for function drop_template',
          'an agent can neither create, link, unlink nor drop templates');
SELECT throws_ok($$SELECT * FROM governance.policy_templates$$, '42501', NULL, 'nor read them');
RESET ROLE;
SET ROLE tp_auditor;
SELECT throws_ok($$SELECT governance.link_template('reader', 'x', 'User::"a"', 'Doc::"d"')$$, '42501', NULL,
                 'an auditor cannot link');
SELECT is((SELECT count(*) FROM governance.template_links), 2::bigint, 'but reads the links');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
