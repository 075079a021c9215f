-- Policy language: the exact parser error messages (line, column, what was
-- expected, what was found) and the output of explain() and decide().
-- Everything runs in one transaction that starts from an empty policy set
-- and entity store and is rolled back.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS governance;
RESET client_min_messages;

BEGIN;
SELECT count(*) >= 0 AS cleared FROM (SELECT governance.drop_policy(name) FROM governance.policies) s;
SELECT count(*) >= 0 AS cleared FROM (SELECT governance.delete_entity(uid) FROM governance.entities) s;

-- create a policy named "t" and roll it back: 'ok', or the error
CREATE FUNCTION pg_temp.try(src text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM governance.create_policy('t', src);
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'parsed';
EXCEPTION
    WHEN syntax_error OR program_limit_exceeded THEN
        RETURN SQLSTATE || ': ' || SQLERRM;
    WHEN raise_exception THEN
        RETURN 'ok';
END
$$;

-- the statement
SELECT pg_temp.try('');
SELECT pg_temp.try('   // only a comment');
SELECT pg_temp.try('allow (principal, action, resource);');
SELECT pg_temp.try('permit principal, action, resource);');
SELECT pg_temp.try('permit (action, principal, resource);');
SELECT pg_temp.try('permit (principal action, resource);');
SELECT pg_temp.try('permit (principal, action, resource, context);');
SELECT pg_temp.try('permit (principal, action, resource)');
SELECT pg_temp.try('permit (principal, action, resource) when context.ok };');
SELECT pg_temp.try('permit (principal, action, resource) when { };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.ok ;');
SELECT pg_temp.try('permit (principal, action, resource); forbid (principal, action, resource);');
SELECT pg_temp.try('permit (principal, action, resource);;');

-- scope constraints
SELECT pg_temp.try('permit (principal == alice, action, resource);');
SELECT pg_temp.try('permit (principal == "alice", action, resource);');
SELECT pg_temp.try('permit (principal == User::, action, resource);');
SELECT pg_temp.try('permit (principal == User::"a", action == read, resource);');
SELECT pg_temp.try('permit (principal, action in [Action::"a" Action::"b"], resource);');
SELECT pg_temp.try('permit (principal, action in [Action::"a",], resource);');
SELECT pg_temp.try('permit (principal in [Group::"a"], action, resource);');
SELECT pg_temp.try('permit (principal, action, resource in [Folder::"a"]);');
SELECT pg_temp.try('permit (principal, action, resource == Doc::"1" );');

-- expressions
SELECT pg_temp.try('permit (principal, action, resource) when { foo };');
SELECT pg_temp.try('permit (principal, action, resource) when { 1 == 2 == 3 };');
SELECT pg_temp.try('permit (principal, action, resource) when { context. };');
SELECT pg_temp.try('permit (principal, action, resource) when { context[1] };');
SELECT pg_temp.try('permit (principal, action, resource) when { context["a" };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.tags.startsWith("a") };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.tags.contains("a" };');
SELECT pg_temp.try('permit (principal, action, resource) when { if true then 1 };');
SELECT pg_temp.try('permit (principal, action, resource) when { if true 1 else 2 };');
SELECT pg_temp.try('permit (principal, action, resource) when { principal has 1 };');
SELECT pg_temp.try('permit (principal, action, resource) when { resource like 5 };');
SELECT pg_temp.try('permit (principal, action, resource) when { [1, 2 };');
SELECT pg_temp.try('permit (principal, action, resource) when { (true };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a = 1 };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a & true };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a @ 1 };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a → 1 };');
SELECT pg_temp.try('permit (principal, action, resource) when { 99999999999999999999 > 1 };');
SELECT pg_temp.try('permit (principal, action, resource) when { -9223372036854775809 < 1 };');

-- strings
SELECT pg_temp.try('permit (principal, action, resource) when { context.a == "abc };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a == "a\qb" };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a == "a\*b" };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a == "\u{D800}" };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a == "\u{110000}" };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a like "a\*b" };');

-- positions count lines and characters, not bytes
SELECT pg_temp.try(E'// billing\npermit (\n  principal in Group::"billing",\n  action,\n  resource\n) when {\n  context.amount <=\n};');
SELECT pg_temp.try(E'permit (principal, action, resource) when {\n  context.name == "é" && é\n};');
SELECT pg_temp.try(E'permit (principal, action, resource) when { "multi\nline" == 1 } wen');

-- limits
SELECT pg_temp.try('permit (principal, action, resource) when { ' || repeat('(', 65) || 'true' || repeat(')', 65) || ' };');
-- the condition is level 1: 63 parentheses inside it is the deepest accepted
SELECT pg_temp.try('permit (principal, action, resource) when { ' || repeat('(', 63) || 'true' || repeat(')', 63) || ' };');
SELECT pg_temp.try('permit (principal, action, resource) when { ' || repeat('(', 64) || 'true' || repeat(')', 64) || ' };');
SELECT pg_temp.try('permit (principal, action, resource) when { ' || repeat('!', 70) || 'true };');
SELECT pg_temp.try('permit (principal, action, resource) when { principal' || repeat('.a', 70) || ' };');
SELECT pg_temp.try('permit (principal, action, resource) when { ' || repeat('x', 300000) || ' };');

-- accepted: comments anywhere, spaces around ::, namespaces, escapes
SELECT pg_temp.try(E'permit ( // who\n principal in Org :: Team :: "a\\"b", // what\n action in [Action::"x", Action::"y"], resource )\n when { context has x && context.x like "*\\**" } // done\n unless { false };\n// trailing comment');

-- issue 17, the rest of Cedar's syntax: accepted
SELECT pg_temp.try('@id("r1") @advice("read only") @flag permit (principal is User in Group::"a", action in [Action::"a", Action::"b",], resource is Org::Doc,) when { principal is User && resource is Org::Doc in Folder::"f" };');
SELECT pg_temp.try('permit (principal, action, resource) when { {a: 1, "b c": [1, 2,], d: {e: true},} == context && context has d.e && [].isEmpty() };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.s == "\0\x41\u{0}\x7f" && context.permit && context.when };');
SELECT pg_temp.try('permit (principal, action, resource) when { [1].contains(1,) && [1].containsAny([1],) };');
-- refused as Cedar refuses them
SELECT pg_temp.try('permit (principal, action, resource) when { context.if };');
SELECT pg_temp.try('permit (principal, action, resource) when { context has is };');
SELECT pg_temp.try('permit (principal, action, resource) when { context has a.like };');
SELECT pg_temp.try('permit (principal, action, resource) when { context has "a".b };');
SELECT pg_temp.try('permit (principal, action, resource) when { principal == Org::__cedar::"a" };');
SELECT pg_temp.try('permit (principal, action, resource) when { principal == true::"a" };');
SELECT pg_temp.try('permit (principal, action, resource) when { principal is in };');
SELECT pg_temp.try('permit (principal, action, resource) when { principal is User == true };');
SELECT pg_temp.try('permit (principal, action is Action, resource);');
SELECT pg_temp.try('permit (principal is User in [Group::"a"], action, resource);');
SELECT pg_temp.try('permit (principal, action, resource) when { {a: 1, "a": 2} == context };');
SELECT pg_temp.try('permit (principal, action, resource) when { {then: 1} == context };');
SELECT pg_temp.try('permit (principal, action, resource) when { {a 1} == context };');
SELECT pg_temp.try('permit (principal, action, resource) when { [].isEmpty(1) };');
SELECT pg_temp.try('permit (principal, action, resource) when { [,] == [] };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a == "\x80" };');
SELECT pg_temp.try('permit (principal, action, resource) when { context.a == "\x4" };');
SELECT pg_temp.try('@id("a") @id("b") permit (principal, action, resource);');
SELECT pg_temp.try('@id(1) permit (principal, action, resource);');
SELECT pg_temp.try('@ permit (principal, action, resource);');
SELECT pg_temp.try('@id("a") when;');
SELECT pg_temp.try('permit (principal, action in [Action::"a", Doc::"b"], resource);');
SELECT pg_temp.try('permit (principal, action == Billing::Action::"pay", resource);');

-- the error as a client sees it
SAVEPOINT s;
SELECT governance.create_policy('shown', E'permit (principal, action, resource)\nwhen { context.a <= };');
ROLLBACK TO SAVEPOINT s;

-- explain and decide
SELECT governance.put_entity('User::"alice"', ARRAY['Group::"billing"'], '{"level": 5}');
SELECT governance.put_entity('Group::"billing"', ARRAY['Group::"finance"']);
SELECT governance.put_entity('Account::"17"', ARRAY[]::text[], '{"frozen": false}');
SELECT governance.put_entity('Account::"18"', ARRAY[]::text[], '{"frozen": true}');
SELECT length(governance.create_policy('billing-transfer', $$
    // the example of docs/POLICY.md
    permit (principal in Group::"billing", action == Action::"payments.transfer", resource)
    when { context.amount <= 1000 }
    unless { resource.frozen };
$$)) AS hash_bytes;
SELECT length(governance.create_policy('no-weekend', $$
    forbid (principal, action in [Action::"payments.transfer"], resource)
    when { context.weekday like "S*" };
$$)) AS hash_bytes;
SELECT length(governance.create_policy('senior-any', $$
    permit (principal in Group::"finance", action, resource) when { principal.level >= 7 };
$$)) AS hash_bytes;

SELECT * FROM governance.explain('User::"alice"', 'payments.transfer', 'Account::"17"',
                                 '{"amount": 500, "weekday": "Tuesday"}');
SELECT decision, determining, reasons
  FROM governance.decide('User::"alice"', 'payments.transfer', 'Account::"17"',
                         '{"amount": 500, "weekday": "Tuesday"}');

SELECT * FROM governance.explain('User::"alice"', 'payments.transfer', 'Account::"18"',
                                 '{"amount": 500, "weekday": "Tuesday"}');
SELECT decision, determining, reasons
  FROM governance.decide('User::"alice"', 'payments.transfer', 'Account::"18"',
                         '{"amount": 500, "weekday": "Tuesday"}');

SELECT * FROM governance.explain('User::"alice"', 'payments.transfer', 'Account::"17"',
                                 '{"amount": 500, "weekday": "Saturday"}');
SELECT decision, determining, reasons
  FROM governance.decide('User::"alice"', 'payments.transfer', 'Account::"17"',
                         '{"amount": 500, "weekday": "Saturday"}');

-- a context without weekday: the forbid fails to evaluate, and so denies
SELECT * FROM governance.explain('User::"alice"', 'payments.transfer', 'Account::"17"',
                                 '{"amount": 500}');
SELECT decision, determining, reasons
  FROM governance.decide('User::"alice"', 'payments.transfer', 'Account::"17"',
                         '{"amount": 500}');

-- not a transfer: only senior-any could apply, and alice is not senior: default deny
SELECT * FROM governance.explain('User::"alice"', 'payments.view', 'Account::"17"', '{}');
SELECT decision, determining, reasons
  FROM governance.decide('User::"alice"', 'payments.view', 'Account::"17"', '{}');

ROLLBACK;

-- a transaction that changed policies or entities cannot be prepared:
-- COMMIT PREPARED would not tell the other backends
BEGIN;
DELETE FROM governance.policies WHERE false;
PREPARE TRANSACTION 'policy_regress';
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'policy_regress';
