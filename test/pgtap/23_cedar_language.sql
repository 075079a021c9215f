-- Issue 17, step 2: Cedar's extension types, decimal, ip, datetime and
-- duration, one case per row (the harness of 21_policy_cedar.sql); every
-- expected outcome is what Cedar 4.13 answers (the differential test,
-- test/cedar, compares them with random strings and expressions).
\ir lib/fixture.sql
BEGIN;
SELECT plan(114);

DO $$
BEGIN
    PERFORM governance.drop_policy(name) FROM governance.policies;
    PERFORM governance.delete_entity(uid) FROM governance.entities;
END
$$;

CREATE FUNCTION pg_temp.ent(uid text, parents text[], attrs jsonb DEFAULT '{}')
RETURNS void LANGUAGE sql AS $$ SELECT governance.put_entity(uid, parents, attrs) $$;

DO $$ BEGIN PERFORM pg_temp.ent('User::"alice"', ARRAY['Group::"billing"'],
    '{"level": 5, "tags": ["a", "b"], "manager": {"__entity": "User::\"bob\""},
      "profile": {"age": 30, "name": "Alice A"}}'); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('User::"bob"', ARRAY['Group::"admins"'], '{"level": 9}'); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Group::"billing"', ARRAY['Group::"finance"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent('Doc::"1"', ARRAY['Folder::"shared"']); END $$;
DO $$ BEGIN PERFORM pg_temp.ent(format('L::"%s"', i), ARRAY[format('L::"%s"', i + 1)])
  FROM generate_series(0, 39) AS i; END $$;

CREATE FUNCTION pg_temp.run(policies text[], principal text, action text, resource text,
                            context jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    i int;
    d record;
    errs text;
    res text;
BEGIN
    BEGIN
        FOR i IN 1 .. coalesce(array_length(policies, 1), 0) LOOP
            PERFORM governance.create_policy('p' || i, policies[i]);
        END LOOP;
        SELECT * INTO d FROM governance.decide(principal, action, resource, context);
        SELECT string_agg(' | ' || x.policy || ': ' || x.error, '' ORDER BY x.policy)
          INTO errs
          FROM governance.explain(principal, action, resource, context) x
         WHERE x.error IS NOT NULL;
        res := d.decision || ' ' || d.determining::text || coalesce(errs, '');
        -- roll the case back, carrying the result out
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'case done', DETAIL = res;
    EXCEPTION WHEN raise_exception THEN
        GET STACKED DIAGNOSTICS res = PG_EXCEPTION_DETAIL;
    END;
    RETURN res;
END
$$;

-- alice reads Doc 1: the request most cases use
CREATE FUNCTION pg_temp.alice(policies text[], context jsonb DEFAULT '{}')
RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.run(policies, 'User::"alice"', 'read', 'Doc::"1"', context)
$$;


CREATE FUNCTION pg_temp.cond(cond text)
RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.alice(ARRAY['permit (principal, action, resource) when { ' || cond || ' };'],
                         '{"d": "2.5", "addr": "192.168.1.7", "now": "2026-12-05T12:00:00+0100"}')
$$;

SELECT is(pg_temp.cond($c$decimal("1.23") == decimal("1.230")$c$),
          'allow {p1}', 'decimal: equal values written differently are equal');
SELECT is(pg_temp.cond($c$decimal("-0.0") == decimal("0.0")$c$),
          'allow {p1}', 'decimal: -0.0 is 0.0');
SELECT is(pg_temp.cond($c$decimal("01.50") == decimal("1.5")$c$),
          'allow {p1}', 'decimal: leading zeros are allowed');
SELECT is(pg_temp.cond($c$decimal("-0.5").lessThan(decimal("0.0")) && decimal("1.0").lessThanOrEqual(decimal("1.0")) && decimal("2.0").greaterThan(decimal("1.9999")) && decimal("1.0").greaterThanOrEqual(decimal("1.0"))$c$),
          'allow {p1}', 'decimal: the four comparison methods');
SELECT is(pg_temp.cond($c$decimal("1.0").lessThan(decimal("1.0"))$c$),
          'deny {}', 'decimal: lessThan is strict');
SELECT is(pg_temp.cond($c$decimal("922337203685477.5807").greaterThan(decimal("-922337203685477.5808"))$c$),
          'allow {p1}', 'decimal: the whole 64-bit range');
SELECT is(pg_temp.cond($c$decimal("922337203685477.5808") == decimal("0.0")$c$),
          'deny {} | p1: decimal("922337203685477.5808"): the string overflows a decimal (the range is -922337203685477.5808 to 922337203685477.5807)', 'decimal: one past the largest overflows');
SELECT is(pg_temp.cond($c$decimal("1.23456") == decimal("0.0")$c$),
          'deny {} | p1: decimal("1.23456"): the string has too many digits after the decimal point (the limit is 4)', 'decimal: five fraction digits are refused');
SELECT is(pg_temp.cond($c$decimal("1") == decimal("1.0")$c$),
          'deny {} | p1: decimal("1"): the string is not a well-formed decimal value', 'decimal: a point is required');
SELECT is(pg_temp.cond($c$decimal("+1.0") == decimal("1.0")$c$),
          'deny {} | p1: decimal("+1.0"): the string is not a well-formed decimal value', 'decimal: no plus sign');
SELECT is(pg_temp.cond($c$decimal(".5") == decimal("0.5")$c$),
          'deny {} | p1: decimal(".5"): the string is not a well-formed decimal value', 'decimal: a digit before the point');
SELECT is(pg_temp.cond($c$decimal("1.0") < decimal("2.0")$c$),
          'deny {} | p1: type error: "<" expects two integers, datetimes or durations, found a decimal and a decimal', 'decimal: < is not defined on decimals (as in Cedar)');
SELECT is(pg_temp.cond($c$decimal("1.0").lessThan(1)$c$),
          'deny {} | p1: type error: "lessThan" expects a decimal as its argument, found an integer', 'decimal: lessThan of an integer is a type error');
SELECT is(pg_temp.cond($c$decimal(1) == decimal("1.0")$c$),
          'deny {} | p1: type error: "decimal" expects a string, found an integer', 'decimal: the argument must be a string');
SELECT is(pg_temp.cond($c$decimal("1.0", "2.0") == decimal("1.0")$c$),
          'deny {} | p1: "decimal" takes 1 argument, found 2', 'decimal: one argument');
SELECT is(pg_temp.cond($c$decimal(context.d).lessThan(decimal("10.0"))$c$),
          'allow {p1}', 'decimal: of a string from the context');
SELECT is(pg_temp.cond($c$decimal("1.0") == ip("1.0.0.0")$c$),
          'deny {}', 'values of different extension types are unequal');
SELECT is(pg_temp.cond($c$[decimal("1.0"), ip("::1")].contains(decimal("1.00"))$c$),
          'allow {p1}', 'extension values in sets compare by value');
SELECT is(pg_temp.cond($c$decimal("1.0") has x$c$),
          'deny {} | p1: type error: "has" expects an entity or a record, found a decimal', 'has on an extension value is a type error');
SELECT is(pg_temp.cond($c$ip("10.0.0.1").isIpv4() && ip("::1").isIpv6() && !ip("::1").isIpv4()$c$),
          'allow {p1}', 'ip: isIpv4, isIpv6');
SELECT is(pg_temp.cond($c$ip("10.0.0.1") == ip("10.0.0.1/32") && ip("::1") == ip("::1/128")$c$),
          'allow {p1}', 'ip: an address is its /32 or /128 network');
SELECT is(pg_temp.cond($c$ip("10.0.0.1/24") == ip("10.0.0.0/24")$c$),
          'deny {}', 'ip: equality compares the address as written (as Cedar)');
SELECT is(pg_temp.cond($c$ip("2001:DB8::1") == ip("2001:db8:0:0:0:0:0:1")$c$),
          'allow {p1}', 'ip: IPv6 forms and case');
SELECT is(pg_temp.cond($c$ip("10.0.0.1/24").isInRange(ip("10.0.0.0/16")) && ip("10.0.0.1").isInRange(ip("10.0.0.0/24")) && ip("10.0.0.0/8").isInRange(ip("10.0.0.0/8"))$c$),
          'allow {p1}', 'ip: isInRange');
SELECT is(pg_temp.cond($c$ip("10.0.1.1/16").isInRange(ip("10.0.0.0/24")) || ip("10.0.0.1").isInRange(ip("::/0")) || ip("0.0.0.0/0").isInRange(ip("10.0.0.0/8"))$c$),
          'deny {}', 'ip: a wider network, or another family, is not in range');
SELECT is(pg_temp.cond($c$ip("127.0.0.1").isLoopback() && ip("127.255.255.255/8").isLoopback() && ip("::1").isLoopback()$c$),
          'allow {p1}', 'ip: isLoopback');
SELECT is(pg_temp.cond($c$ip("127.0.0.1/4").isLoopback() || ip("::1/127").isLoopback() || ip("10.0.0.1").isLoopback()$c$),
          'deny {}', 'ip: a network reaching outside loopback is not loopback');
SELECT is(pg_temp.cond($c$ip("224.0.0.1").isMulticast() && ip("224.0.0.1/4").isMulticast() && ip("ff02::1").isMulticast() && ip("ff00::/8").isMulticast()$c$),
          'allow {p1}', 'ip: isMulticast');
SELECT is(pg_temp.cond($c$ip("224.0.0.1/3").isMulticast() || ip("ff00::/7").isMulticast()$c$),
          'deny {}', 'ip: a network wider than multicast is not');
SELECT is(pg_temp.cond($c$ip("010.0.0.1").isIpv4()$c$),
          'deny {} | p1: ip("010.0.0.1"): the string is not a valid IP address', 'ip: leading zeros in an octet are refused');
SELECT is(pg_temp.cond($c$ip("::ffff:1.2.3.4").isIpv6()$c$),
          'deny {} | p1: ip("::ffff:1.2.3.4"): the string is an IPv4 address embedded in IPv6, which Cedar does not accept', 'ip: embedded IPv4 is refused');
SELECT is(pg_temp.cond($c$ip("1.2.3.4/33").isIpv4()$c$),
          'deny {} | p1: ip("1.2.3.4/33"): the string has an invalid prefix length', 'ip: a prefix past 32');
SELECT is(pg_temp.cond($c$ip("1.2.3.4/08").isIpv4()$c$),
          'deny {} | p1: ip("1.2.3.4/08"): the string has an invalid prefix length', 'ip: a prefix with a leading zero');
SELECT is(pg_temp.cond($c$ip("1::2::3").isIpv6()$c$),
          'deny {} | p1: ip("1::2::3"): the string is not a valid IP address', 'ip: :: twice');
SELECT is(pg_temp.cond($c$ip("1.2.3.4").isIpv4(1)$c$),
          'deny {} | p1: "isIpv4" takes 0 arguments besides its receiver, found 1', 'ip: a method with too many arguments');
SELECT is(pg_temp.cond($c$ip(context.addr).isInRange(ip("192.168.0.0/16"))$c$),
          'allow {p1}', 'ip: from a context string');
SELECT is(pg_temp.cond($c$datetime("2024-01-01") == datetime("2024-01-01T00:00:00Z") && datetime("2024-01-01T01:00:00+0100") == datetime("2024-01-01T00:00:00.000Z")$c$),
          'allow {p1}', 'datetime: the formats and offsets');
SELECT is(pg_temp.cond($c$datetime("2024-02-29") < datetime("2024-03-01") && datetime("1969-12-31") <= datetime("1970-01-01") && datetime("9999-12-31T23:59:59.999Z") > datetime("0000-01-01")$c$),
          'allow {p1}', 'datetime: comparisons');
SELECT is(pg_temp.cond($c$datetime("2023-02-29") == datetime("2023-03-01")$c$),
          'deny {} | p1: datetime("2023-02-29"): the string is not a valid date', 'datetime: no 29 February in 2023');
SELECT is(pg_temp.cond($c$datetime("1900-02-29") == datetime("1900-03-01")$c$),
          'deny {} | p1: datetime("1900-02-29"): the string is not a valid date', 'datetime: 1900 was not a leap year');
SELECT is(pg_temp.cond($c$datetime("2024-01-01T24:00:00Z") == datetime("2024-01-02")$c$),
          'deny {} | p1: datetime("2024-01-01T24:00:00Z"): the string is not a valid time of day', 'datetime: no hour 24');
SELECT is(pg_temp.cond($c$datetime("2024-01-01T00:00:00") == datetime("2024-01-01")$c$),
          'deny {} | p1: datetime("2024-01-01T00:00:00"): the string is not a well-formed datetime', 'datetime: a time needs Z or an offset');
SELECT is(pg_temp.cond($c$datetime("2024-01-01T00:00:00+2400") == datetime("2024-01-01")$c$),
          'deny {} | p1: datetime("2024-01-01T00:00:00+2400"): the string has an invalid offset', 'datetime: offsets below 24 hours');
SELECT is(pg_temp.cond($c$datetime("2024-01-01").offset(duration("1d")) == datetime("2024-01-02") && datetime("2024-01-02").durationSince(datetime("2024-01-01")) == duration("24h")$c$),
          'allow {p1}', 'datetime: offset and durationSince');
SELECT is(pg_temp.cond($c$datetime("1969-12-31T23:59:59.999Z").toDate() == datetime("1969-12-31") && datetime("1969-12-31T23:59:59.999Z").toTime() == duration("23h59m59s999ms")$c$),
          'allow {p1}', 'datetime: toDate and toTime before the epoch');
SELECT is(pg_temp.cond($c$datetime("2024-01-01").offset(duration("9223372036854775807ms")) == datetime("2024-01-01")$c$),
          'deny {} | p1: overflow in "offset": the datetime is out of range', 'datetime: offset overflows');
SELECT is(pg_temp.cond($c$datetime("2024-01-01") < duration("1d")$c$),
          'deny {} | p1: type error: "<" expects two integers, datetimes or durations, found a datetime and a duration', 'a datetime and a duration do not compare');
SELECT is(pg_temp.cond($c$duration("1d2h3m4s5ms").toMilliseconds() == 93784005 && duration("-36h").toDays() == -1 && duration("-1500ms").toSeconds() == -1 && duration("90m").toHours() == 1 && duration("90m").toMinutes() == 90$c$),
          'allow {p1}', 'duration: the conversions truncate toward zero');
SELECT is(pg_temp.cond($c$duration("-9223372036854775808ms") < duration("9223372036854775807ms") && duration("106751991167d") > duration("0ms")$c$),
          'allow {p1}', 'duration: the whole 64-bit range');
SELECT is(pg_temp.cond($c$duration("9223372036854775808ms") > duration("0ms")$c$),
          'deny {} | p1: duration("9223372036854775808ms"): the string overflows a duration (64-bit milliseconds)', 'duration: overflow');
SELECT is(pg_temp.cond($c$duration("1h1d") == duration("25h")$c$),
          'deny {} | p1: duration("1h1d"): the string is not a well-formed duration', 'duration: units in order');
SELECT is(pg_temp.cond($c$duration("") == duration("0ms")$c$),
          'deny {} | p1: duration(""): the string is not a well-formed duration', 'duration: at least one unit');
SELECT is(pg_temp.cond($c$context.now.toDays() > 0$c$),
          'deny {} | p1: type error: "toDays" expects a duration to call it on, found a string', 'a method on a value of another kind');
SELECT is(pg_temp.cond($c$datetime(context.now).offset(duration("1h")) == datetime("2026-12-05T12:00:00Z")$c$),
          'allow {p1}', 'datetime: from a context string');

------------------------------------------------------------------------
-- syntax: unknown functions and methods are refused when created
------------------------------------------------------------------------
SAVEPOINT syntax;
SELECT is(pg_temp.err($$SELECT governance.create_policy('x', 'permit (principal, action, resource) when { foo("1") };')$$),
          '42601: line 1, column 45: "foo" is not a function (the functions are decimal, ip, datetime and duration)',
          'an unknown function is a syntax error');
SELECT is(pg_temp.err($$SELECT governance.create_policy('x', 'permit (principal, action, resource) when { "1.0".decimal() };')$$),
          '42601: line 1, column 51: "decimal" is a function, not a method',
          'a function called as a method is a syntax error');
SELECT is(pg_temp.err($$SELECT governance.create_policy('x', 'permit (principal, action, resource) when { lessThan(decimal("1.0")) };')$$),
          '42601: line 1, column 45: "lessThan" is a method, not a function',
          'a method called as a function is a syntax error');
SELECT is(pg_temp.err($$SELECT governance.create_policy('x', 'permit (principal, action, resource) when { ip("::1").isIPv6() };')$$),
          '42601: line 1, column 55: "isIPv6" is not a method',
          'method names are case-sensitive');
SELECT is(pg_temp.err($$SELECT governance.create_policy('x', 'permit (principal, action, resource) when { Foo::decimal("1.0") };')$$),
          '42601: line 1, column 57: expected "::", found "("', 'a qualified name is not a function');
SELECT is(pg_temp.err($$SELECT governance.create_policy('x', 'permit (principal, action, resource) when { decimal("1.0",) == decimal("1.0") };')$$),
          'no error', 'a trailing comma after the arguments');
SELECT is(pg_temp.err($$SELECT governance.create_policy('y', 'permit (principal, action, resource) when { decimal(,) };')$$),
          '42601: line 1, column 53: expected an expression, found ","', 'an argument list of a lone comma');
SELECT is(pg_temp.err(format($$SELECT governance.create_policy('z', %L)$$,
              'permit (principal, action, resource) when { ' || repeat('ip("::1").isInRange(', 40) || 'ip("::1")' || repeat(')', 40) || ' };')),
          'no error', 'nested calls within the nesting limit');
SELECT is(pg_temp.err(format($$SELECT governance.create_policy('w', %L)$$,
              'permit (principal, action, resource) when { ' || repeat('ip("::1").isInRange(', 70) || 'ip("::1")' || repeat(')', 70) || ' };')),
          '42601: line 1, column 1308: expression nested too deeply (the limit is 64 levels)',
          'calls nested past the limit are refused');
ROLLBACK TO SAVEPOINT syntax;
SELECT is(pg_temp.alice(ARRAY['permit (principal, action, resource) when { decimal(' || (SELECT string_agg(format('"%s.0"', i), ', ') FROM generate_series(1, 300) i) || ') == decimal("1.0") };']),
          'deny {} | p1: "decimal" takes 1 argument, found 300', 'any number of arguments parses; the wrong number is an evaluation error, as in Cedar');

------------------------------------------------------------------------
-- Cedar's JSON form of extension values, in contexts and attributes
------------------------------------------------------------------------
SELECT is(pg_temp.alice(ARRAY['permit (principal, action, resource) when { context.limit.greaterThan(decimal("10.0")) && context.src.isInRange(ip("10.0.0.0/8")) && context.at.offset(context.ttl) == datetime("2024-01-02") };'],
              '{"limit": {"__extn": {"fn": "decimal", "arg": "10.5"}}, "src": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
                "at": {"__extn": {"fn": "datetime", "arg": "2024-01-01"}}, "ttl": {"__extn": {"arg": "24h", "fn": "duration"}}}'),
          'allow {p1}', 'extension values in a context');
SELECT is(pg_temp.alice(ARRAY['permit (principal, action, resource) when { context.limit == decimal("1.0") };'],
              '{"limit": {"__extn": {"fn": "decimal", "arg": "1.23456"}}}'),
          'deny {} | p1: invalid extension value: decimal("1.23456"): the string has too many digits after the decimal point (the limit is 4)',
          'a malformed one is an unusable value: an error when used');
SELECT is(pg_temp.alice(ARRAY['permit (principal, action, resource) when { context has limit };'],
              '{"limit": {"__extn": {"fn": "decimal"}}}'),
          'allow {p1}', 'harmless while not used');
SELECT is(pg_temp.alice(ARRAY['permit (principal, action, resource) when { context.limit == decimal("1.0") };'],
              '{"limit": {"__extn": {"fn": "money", "arg": "1.0"}}}'),
          'deny {} | p1: invalid extension value: "money" is not an extension function (decimal, ip, datetime, duration)',
          'an unknown constructor is unusable');
SELECT is(pg_temp.alice(ARRAY['permit (principal, action, resource) when { context.limit == decimal("1.0") };'],
              '{"limit": {"__extn": {"fn": "decimal", "arg": "1.0"}, "x": 1}}'),
          'deny {} | p1: invalid extension value: an object with key "__extn" must have no other key',
          'an "__extn" object with another key is unusable');
SAVEPOINT extn;
SELECT lives_ok($$SELECT governance.put_entity('Doc::"2"', '{}', '{"net": {"__extn": {"fn": "ip", "arg": "192.168.0.0/16"}}}')$$,
                'put_entity takes an extension value');
SELECT is(pg_temp.run(ARRAY['permit (principal, action, resource) when { context.src.isInRange(resource.net) };'],
              'User::"alice"', 'read', 'Doc::"2"', '{"src": {"__extn": {"fn": "ip", "arg": "192.168.1.7"}}}'),
          'allow {p1}', 'and a policy reads it from the entity');
SELECT is(pg_temp.err($$SELECT governance.put_entity('Doc::"3"', '{}', '{"net": {"__extn": {"fn": "ip", "arg": "192.168.0.0/33"}}}')$$),
          '22023: entity attributes hold an invalid extension value: ip("192.168.0.0/33"): the string has an invalid prefix length',
          'put_entity refuses a malformed extension value');
SELECT is(pg_temp.err($$SELECT governance.put_entity('Doc::"3"', '{}', '{"a": [{"__extn": "decimal(\"1.0\")"}]}')$$),
          '22023: entity attributes hold an invalid extension value: an object with key "__extn" must be {"__extn": {"fn": "decimal", "arg": "1.5"}}',
          'and one of the wrong shape, however deep');
ROLLBACK TO SAVEPOINT extn;
SELECT is((SELECT count(*) FROM governance.entities WHERE uid = 'Doc::"2"'), 0::bigint,
          'ROLLBACK TO SAVEPOINT forgets the entity');

------------------------------------------------------------------------
-- entity tags: hasTag, getTag; put_entity's tags
------------------------------------------------------------------------
SAVEPOINT tags;
SELECT lives_ok($$SELECT governance.put_entity('User::"carol"', ARRAY['Group::"billing"'], '{"level": 1}',
                    '{"role": "admin", "n": 3, "lim": {"__extn": {"fn": "decimal", "arg": "1.5"}}, "owner": {"__entity": "User::\"bob\""}}')$$,
                'put_entity takes tags');
SELECT is(pg_temp.run(ARRAY['permit (principal, action, resource) when { principal.hasTag("role") && principal.getTag("role") == "admin" && principal.getTag("n") + 1 == 4 && principal.getTag("lim").lessThan(decimal("2.0")) && principal.getTag("owner") == User::"bob" };'],
              'User::"carol"', 'read', 'Doc::"1"'),
          'allow {p1}', 'hasTag and getTag read the tags, of every kind');
SELECT is(pg_temp.run(ARRAY['permit (principal, action, resource) when { principal.hasTag("level") || principal.hasTag("ROLE") || User::"nobody".hasTag("role") };'],
              'User::"carol"', 'read', 'Doc::"1"'),
          'deny {}', 'tags are not attributes, names are case-sensitive, an entity not in the store has none');
SELECT is(pg_temp.run(ARRAY['permit (principal, action, resource) when { principal.getTag("x") == 1 };',
                            'forbid (principal, action, resource) when { User::"nobody".getTag("role") == "x" };'],
              'User::"carol"', 'read', 'Doc::"1"'),
          'deny {p2} | p1: entity User::"carol" has no tag "x" | p2: entity User::"nobody" does not exist',
          'getTag of a missing tag or entity is an error (and a failing forbid denies)');
SELECT is(pg_temp.run(ARRAY['permit (principal, action, resource) when { "User".hasTag("role") };',
                            'permit (principal, action, resource) when { principal.hasTag(1) };'],
              'User::"carol"', 'read', 'Doc::"1"'),
          'deny {} | p1: type error: ".hasTag()" expects an entity, found a string | p2: type error: ".hasTag()" expects a string, found an integer',
          'hasTag on a string, or of an integer, is a type error');
SELECT is(pg_temp.err($$SELECT governance.create_policy('t', 'permit (principal, action, resource) when { principal.hasTag("a", "b") };')$$),
          '42601: line 1, column 67: expected ")", found string "b"',
          'hasTag takes exactly one argument, checked when parsed (as in Cedar)');
SELECT is(pg_temp.err($$SELECT governance.put_entity('User::"dave"', '{}', '{}', NULL)$$),
          '22004: entity tags must not be NULL', 'NULL tags are refused');
SELECT is(pg_temp.err($$SELECT governance.put_entity('User::"dave"', '{}', '{}', '[1]')$$),
          '22023: entity tags must be a JSON object', 'tags that are not an object are refused');
SELECT is(pg_temp.err($$SELECT governance.put_entity('User::"dave"', '{}', '{}', '{"a": {"__entity": "nope"}}')$$),
          '22023: entity tags hold an invalid entity reference: an object with key "__entity" must be {"__entity": "Type::\"id\""}',
          'tags with a malformed entity reference are refused');
SELECT is(pg_temp.err($$SELECT governance.put_entity('User::"dave"', '{}', '{}', '{"a": {"__extn": {"fn": "ip", "arg": "1.2.3.4/99"}}}')$$),
          '22023: entity tags hold an invalid extension value: ip("1.2.3.4/99"): the string has an invalid prefix length',
          'tags with a malformed extension value are refused');
SELECT lives_ok(format($$SELECT governance.put_entity('User::"dave"', '{}', '{}', %L)$$,
                    (SELECT jsonb_object_agg('t' || i, repeat('x', 100)) FROM generate_series(1, 20000) i)),
                'an entity with 20,000 tags');
SELECT is(pg_temp.run(ARRAY['permit (principal, action, resource) when { principal.hasTag("t19999") && !principal.hasTag("t20001") };'],
              'User::"dave"', 'read', 'Doc::"1"'),
          'allow {p1}', 'and its tags are found');
SELECT is((SELECT payload->>'value_sha3_512' FROM governance.ledger WHERE kind = 'governance.entity.put'
            AND payload->>'uid' = 'User::"carol"' ORDER BY seq DESC LIMIT 1),
          encode(governance.sha3_512(convert_to(governance.canonical_json(jsonb_build_object(
              'attrs', '{"level": 1}'::jsonb, 'parents', jsonb_build_array('Group::"billing"'), 'uid', 'User::"carol"',
              'tags', '{"role": "admin", "n": 3, "lim": {"__extn": {"fn": "decimal", "arg": "1.5"}}, "owner": {"__entity": "User::\"bob\""}}'::jsonb)),
              'UTF8')), 'hex'),
          'the ledgered hash covers the tags (docs/FORMAT.md)');
ROLLBACK TO SAVEPOINT tags;
SELECT is((SELECT count(*) FROM governance.entities WHERE uid IN ('User::"carol"', 'User::"dave"')), 0::bigint,
          'ROLLBACK TO SAVEPOINT forgets the tagged entities');

SELECT pg_temp.drop_roles(ARRAY['cl_agent', 'cl_auditor']);
CREATE ROLE cl_agent IN ROLE governance_agent;
CREATE ROLE cl_auditor IN ROLE governance_auditor;
SET ROLE cl_agent;
SELECT throws_ok($$SELECT governance.put_entity('User::"e"', '{}', '{}', '{"role": "admin"}')$$, '42501', NULL,
                 'an agent cannot put an entity with tags');
RESET ROLE;
SET ROLE cl_auditor;
SELECT throws_ok($$SELECT governance.put_entity('User::"e"', '{}', '{}', '{"role": "admin"}')$$, '42501', NULL,
                 'nor can an auditor');
RESET ROLE;
SELECT pg_temp.drop_roles(ARRAY['cl_agent', 'cl_auditor']);

------------------------------------------------------------------------
-- Cedar's JSON entity format: put_entities(), export_entities()
------------------------------------------------------------------------
SAVEPOINT cedar_json;
SELECT is(governance.put_entities($j$[
    {"uid": {"type": "User", "id": "erin"},
     "attrs": {"boss": {"__entity": {"type": "User", "id": "q\"t\\b"}}, "lim": {"__extn": {"fn": "decimal", "arg": "7.5"}},
               "teams": [{"__entity": {"type": "Org::Team", "id": "t"}}], "rec": {"type": "x", "id": "y"}},
     "parents": [{"type": "Group", "id": "billing"}, {"__entity": {"type": "Group", "id": "ops"}}],
     "tags": {"clearance": "high"}},
    {"uid": {"__entity": {"type": "Group", "id": "ops"}}},
    {"uid": {"type": "User", "id": "q\"t\\b"}, "parents": []}
  ]$j$), 3, 'put_entities loads an array in Cedar''s JSON entity format');
SELECT is((SELECT attrs FROM governance.entities WHERE uid = 'User::"erin"'),
          '{"boss": {"__entity": "User::\"q\\\"t\\\\b\""}, "lim": {"__extn": {"fn": "decimal", "arg": "7.5"}},
            "teams": [{"__entity": "Org::Team::\"t\""}], "rec": {"type": "x", "id": "y"}}'::jsonb,
          'entity references become uids (escaped), extension values stay, a record with type and id stays a record');
SELECT is((SELECT parents FROM governance.entities WHERE uid = 'User::"erin"'), ARRAY['Group::"billing"', 'Group::"ops"'],
          'parents, in order, either form');
SELECT is(pg_temp.run(ARRAY['permit (principal in Group::"ops", action, resource) when { principal.boss == User::"q\"t\\b" && principal.lim.greaterThan(decimal("7.0")) && principal.getTag("clearance") == "high" };'],
              'User::"erin"', 'read', 'Doc::"1"'),
          'allow {p1}', 'and policies decide with them');
SELECT is((SELECT count(*) FROM governance.ledger WHERE kind = 'governance.entity.put'
             AND payload->>'uid' IN ('User::"erin"', 'Group::"ops"', 'User::"q\"t\\b"')), 3::bigint,
          'each entity is ledgered as put_entity ledgers it');
SELECT is((SELECT e FROM jsonb_array_elements(governance.export_entities()) e WHERE e->'uid'->>'id' = 'erin'),
          $j${"uid": {"type": "User", "id": "erin"},
              "attrs": {"boss": {"__entity": {"type": "User", "id": "q\"t\\b"}}, "lim": {"__extn": {"fn": "decimal", "arg": "7.5"}},
                        "teams": [{"__entity": {"type": "Org::Team", "id": "t"}}], "rec": {"type": "x", "id": "y"}},
              "parents": [{"type": "Group", "id": "billing"}, {"type": "Group", "id": "ops"}],
              "tags": {"clearance": "high"}}$j$::jsonb,
          'export_entities writes Cedar''s JSON entity format');
SELECT is((SELECT governance.put_entities(governance.export_entities())), (SELECT count(*)::int FROM governance.entities),
          'its output loads back');
SELECT is(pg_temp.err($$SELECT governance.put_entities(NULL)$$), '22004: entities must not be NULL', 'NULL is refused');
SELECT is(pg_temp.err($$SELECT governance.put_entities('{}')$$),
          '22023: entities must be a JSON array of entities in Cedar''s JSON entity format', 'an object is refused');
SELECT is(pg_temp.err($$SELECT governance.put_entities('[{"uid": {"type": "User"}}]')$$),
          '22023: the uid of entity 1 must be {"type": "...", "id": "..."}', 'a uid without id is refused');
SELECT is(pg_temp.err($$SELECT governance.put_entities('[{"uid": {"type": "User", "id": "f"}, "attributes": {}}]')$$),
          '22023: entity 1 must be an object with "uid" and optionally "attrs", "parents", "tags"', 'an unknown key is refused');
SELECT is(pg_temp.err($$SELECT governance.put_entities('[{"uid": {"type": "User", "id": "f"}, "parents": [{"type": "G"}]}]')$$),
          '22023: a parent of entity User::"f" must be {"type": "...", "id": "..."}', 'a malformed parent is refused');
SELECT is(pg_temp.err($$SELECT governance.put_entities('[{"uid": {"type": "Us er", "id": "f"}}]')$$),
          '22023: entity "Us er::"f"" is not an entity uid', 'an invalid type is refused');
SELECT is(pg_temp.err($$SELECT governance.put_entities('[{"uid": {"type": "User", "id": "f"}, "attrs": {"a": {"__extn": {"fn": "ip", "arg": "x"}}}}]')$$),
          '22023: entity attributes hold an invalid extension value: ip("x"): the string is not a valid IP address',
          'a malformed extension value is refused');
SELECT is(pg_temp.err($$SELECT governance.put_entities('[{"uid": {"type": "User", "id": "g"}}, {"uid": {"type": "User", "id": "g"}}]')$$),
          '22023: entity User::"g" is in the array twice', 'an entity twice is refused (as Cedar refuses it)');
SELECT is((SELECT count(*) FROM governance.entities WHERE uid IN ('User::"f"', 'User::"g"')), 0::bigint,
          'and a refused array stores nothing');
SELECT is(governance.put_entities((SELECT jsonb_agg(jsonb_build_object('uid', jsonb_build_object('type', 'Bulk', 'id', i::text),
              'parents', jsonb_build_array(jsonb_build_object('type', 'Bulk', 'id', (i / 2)::text))))
              FROM generate_series(1, 5000) i)), 5000, '5,000 entities in one call');
ROLLBACK TO SAVEPOINT cedar_json;
SELECT is((SELECT count(*) FROM governance.entities WHERE uid LIKE 'Bulk::%' OR uid = 'User::"erin"'), 0::bigint,
          'ROLLBACK TO SAVEPOINT forgets them');

SELECT pg_temp.drop_roles(ARRAY['cj_agent', 'cj_auditor']);
CREATE ROLE cj_agent IN ROLE governance_agent;
CREATE ROLE cj_auditor IN ROLE governance_auditor;
SET ROLE cj_agent;
SELECT throws_ok($$SELECT governance.put_entities('[]')$$, '42501', NULL, 'an agent cannot call put_entities');
SELECT throws_ok($$SELECT governance.export_entities()$$, '42501', NULL, 'nor export_entities');
RESET ROLE;
SET ROLE cj_auditor;
SELECT throws_ok($$SELECT governance.put_entities('[]')$$, '42501', NULL, 'an auditor cannot call put_entities');
SELECT lives_ok($$SELECT governance.export_entities()$$, 'an auditor can export');
RESET ROLE;
SELECT pg_temp.drop_roles(ARRAY['cj_agent', 'cj_auditor']);

------------------------------------------------------------------------
-- SAVEPOINT / ROLLBACK TO: a policy with extension calls is forgotten
------------------------------------------------------------------------
SAVEPOINT ext;
SELECT lives_ok($$SELECT governance.create_policy('ext', 'permit (principal, action, resource) when { ip(context.addr).isInRange(ip("10.0.0.0/8")) };')$$,
                'a policy with extension calls is created');
ROLLBACK TO SAVEPOINT ext;
SELECT is((SELECT count(*) FROM governance.policies WHERE name = 'ext'), 0::bigint,
          'ROLLBACK TO SAVEPOINT forgets it');

SELECT * FROM finish();
ROLLBACK;
