-- Canonical row hashes (issue 12, section 3): the row hashes and the key of
-- a governed write are computed over the row's text under fixed settings
-- (docs/FORMAT.md, section 10), so the same row hashes the same whatever
-- the writing session's TimeZone, DateStyle, IntervalStyle, bytea_output,
-- extra_float_digits, lc_monetary and search_path, and equals a
-- recomputation from the document: the canonical text is spelled out here
-- by hand, byte by byte.  The session's own settings are left as they were.
--
-- Names are lt16_* / "lt16-*"; roles, policy and schema are dropped at the end.
\ir lib/fixture.sql

DO $$
BEGIN
    PERFORM governance.ungovern_table(relid) FROM governance.governed_tables
      WHERE relid IN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'lt16');
    DROP SCHEMA IF EXISTS lt16 CASCADE;
    DELETE FROM governance.governed_tables WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relid);
    PERFORM pg_temp.drop_roles(ARRAY['lt16_bot']);
END $$;
SELECT governance.drop_policy(name) FROM governance.policies WHERE name LIKE 'lt16%';

SELECT plan(17);

CREATE FUNCTION pg_temp.sha(t text) RETURNS text LANGUAGE sql AS $$
    SELECT encode(governance.sha3_512(convert_to(t, 'UTF8')), 'hex')
$$;

CREATE ROLE lt16_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"lt16-bot"', 'lt16_bot');
SELECT governance.put_entity('Agent::"lt16-bot"', '{}', '{}');
SELECT governance.create_policy('lt16_p', 'permit (principal == Agent::"lt16-bot", action, resource);');

CREATE SCHEMA lt16;
GRANT USAGE ON SCHEMA lt16 TO lt16_bot;
-- a (the default settings) and b (unusual ones): the same columns, a key
-- whose text depends on the settings (a timestamptz)
CREATE TABLE lt16.a (id int, at timestamptz, owner text, d date, iv interval, b bytea,
                     f8 float8, f4 real, m money, n numeric, t text, arr float8[], pt point,
                     rc regclass, PRIMARY KEY (id, at));
CREATE TABLE lt16.b (LIKE lt16.a INCLUDING ALL);
GRANT SELECT, INSERT, UPDATE ON lt16.a, lt16.b TO lt16_bot;
SELECT governance.govern_table('lt16.a', 'lt16', 'owner');
SELECT governance.govern_table('lt16.b', 'lt16', 'owner');

SET ROLE lt16_bot;
SELECT artifact AS ins FROM governance.authorize('Agent::"lt16-bot"', 'lt16.insert', 'Account::"1"') \gset
SELECT artifact AS upd FROM governance.authorize('Agent::"lt16-bot"', 'lt16.update', 'Account::"1"') \gset
SELECT artifact AS sel FROM governance.authorize('Agent::"lt16-bot"', 'lt16.select', 'Account::"1"') \gset
RESET ROLE;
SELECT max(seq) AS mark FROM governance.ledger \gset

-- the row, written with the server's default settings
SET ROLE lt16_bot;
BEGIN;
SELECT governance.attach(:'ins');
INSERT INTO lt16.a VALUES (1, '2026-03-01 10:00:00.5+00', 'Account::"1"', '2026-03-01', '1 day 02:03:04.5',
                           '\x00ff27', 0.1, 1.1, 1234.5, 1.50, 'a "b", c\d', '{0.1,2.5}', '(1.5,-2)', 'lt16.a');
COMMIT;

-- and the same row written under unusual settings
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'iso_8601';
SET bytea_output = 'escape';
SET extra_float_digits = -15;
SET lc_monetary = 'C.utf8';
SET search_path = lt16, public;
BEGIN;
SELECT governance.attach(:'ins');
INSERT INTO lt16.b VALUES (1, '2026-03-01 10:00:00.5+00', 'Account::"1"', '2026-03-01', '1 day 02:03:04.5',
                           '\x00ff27', 0.1, 1.1, 1234.5, 1.50, 'a "b", c\d', '{0.1,2.5}', '(1.5,-2)', 'lt16.a');
COMMIT;
RESET ROLE;

CREATE FUNCTION pg_temp.w(tbl text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT payload FROM governance.ledger
     WHERE seq > (SELECT max(seq) - 1000 FROM governance.ledger) AND kind = 'governance.write'
       AND payload->>'table' = tbl ORDER BY seq DESC LIMIT 1
$$;

SELECT is(current_setting('TimeZone') || '|' || current_setting('DateStyle') || '|' || current_setting('IntervalStyle')
          || '|' || current_setting('bytea_output') || '|' || current_setting('extra_float_digits')
          || '|' || current_setting('lc_monetary') || '|' || current_setting('search_path'),
          'Pacific/Chatham|SQL, DMY|iso_8601|escape|-15|C.utf8|lt16, public',
          'the writing session keeps its own settings after a governed write');
SELECT isnt((SELECT r::text FROM lt16.b r), (SELECT r::text FROM lt16.b r WHERE false),
            '(the row''s text form in this session)');
SELECT isnt((SELECT r::text FROM lt16.b r),
            '(1,"2026-03-01 10:00:00.5+00","Account::""1""",2026-03-01,"1 day 02:03:04.5","\\x00ff27",0.1,1.1,"$1,234.50",1.50,"a ""b"", c\\d","{0.1,2.5}","(1.5,-2)",lt16.a)',
            'differs from the canonical text (the settings matter)');
SELECT is(pg_temp.w('lt16.b')->>'new_sha3_512', pg_temp.w('lt16.a')->>'new_sha3_512',
          'the same row hashes the same under the default and the unusual settings');
SELECT is(pg_temp.w('lt16.b')->'key', pg_temp.w('lt16.a')->'key',
          'and its key is the same text');
SELECT is(pg_temp.w('lt16.a')->'key', '{"id": "1", "at": "2026-03-01 10:00:00.5+00"}'::jsonb,
          'the key columns in their canonical text (a timestamptz in UTC, ISO)');
SELECT is(pg_temp.w('lt16.b')->>'new_sha3_512',
          pg_temp.sha('(1,"2026-03-01 10:00:00.5+00","Account::""1""",2026-03-01,"1 day 02:03:04.5","\\x00ff27",0.1,1.1,"$1,234.50",1.50,"a ""b"", c\\d","{0.1,2.5}","(1.5,-2)",lt16.a)'),
          'the hash is SHA3-512 of the canonical text as FORMAT.md spells it, byte by byte');
SELECT is(pg_temp.w('lt16.b')->>'row_format', 'canonical-text-1', 'the payload names the row format');
SELECT ok(pg_temp.w('lt16.b')->'old_sha3_512' = 'null'::jsonb, 'an insert has no old row');

-- recomputed in SQL from the stored row under the documented settings
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, MDY';
SET LOCAL IntervalStyle = 'postgres';
SET LOCAL bytea_output = 'hex';
SET LOCAL extra_float_digits = 1;
SET LOCAL lc_monetary = 'C';
SET LOCAL search_path = pg_catalog, pg_temp;
SELECT pg_temp.sha(r::text) AS recomputed FROM lt16.b r \gset
COMMIT;
SELECT is(:'recomputed', pg_temp.w('lt16.b')->>'new_sha3_512',
          'a recomputation from the stored row under the documented settings agrees');

-- an update under yet other settings: old and new hashes both canonical
SET TimeZone = 'America/St_Johns';
SET DateStyle = 'German';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = 3;
SET ROLE lt16_bot;
BEGIN;
SELECT governance.attach(:'upd');
SELECT governance.attach(:'sel');
UPDATE lt16.b SET f8 = 2.5, iv = make_interval(months => -3, days => 1) WHERE id = 1;
COMMIT;
RESET ROLE;
SELECT is(pg_temp.w('lt16.b')->>'old_sha3_512', pg_temp.w('lt16.a')->>'new_sha3_512',
          'an update''s old row hash is the hash the insert recorded for the same row');
SELECT is(pg_temp.w('lt16.b')->>'new_sha3_512',
          pg_temp.sha('(1,"2026-03-01 10:00:00.5+00","Account::""1""",2026-03-01,"-3 mons +1 day","\\x00ff27",2.5,1.1,"$1,234.50",1.50,"a ""b"", c\\d","{0.1,2.5}","(1.5,-2)",lt16.a)'),
          'and its new row hash is that of the canonical text');

-- a write that rolls back to a savepoint leaves the session's settings too
SET ROLE lt16_bot;
BEGIN;
SELECT governance.attach(:'ins');
SAVEPOINT s;
INSERT INTO lt16.a VALUES (2, '2026-03-02 00:00:00+00', 'Account::"1"');
ROLLBACK TO SAVEPOINT s;
SELECT is(current_setting('TimeZone') || '|' || current_setting('DateStyle'), 'America/St_Johns|German, DMY',
          'after ROLLBACK TO SAVEPOINT the settings are the session''s');
SELECT is(pg_temp.n('INSERT INTO lt16.a VALUES (3, ''2026-03-02 00:00:00+00'', ''Account::"1"'', NULL, NULL, ''\x''::bytea, ''NaN'', ''-Infinity'', NULL, ''NaN'', '''', ''{}'', NULL, NULL)'),
          '1', 'a row of empty, NaN and infinite values is written');
COMMIT;
RESET ROLE;
SELECT is(pg_temp.w('lt16.a')->>'new_sha3_512',
          pg_temp.sha('(3,"2026-03-02 00:00:00+00","Account::""1""",,,"\\x",NaN,-Infinity,,NaN,"",{},,)'),
          'NULL is nothing, the empty string "", NaN and infinities as PostgreSQL prints them');
SELECT is((SELECT count(*)::int FROM governance.ledger WHERE seq > :mark AND kind = 'governance.write'), 4,
          'four writes ledgered (the rolled-back one is not)');
SELECT is(current_setting('search_path'), 'lt16, public', 'search_path is still the session''s');

RESET ALL;
SELECT * FROM finish();
DO $$
BEGIN
    PERFORM governance.ungovern_table('lt16.a');
    PERFORM governance.ungovern_table('lt16.b');
END $$;
DROP SCHEMA lt16 CASCADE;
SELECT governance.drop_policy('lt16_p');
SELECT pg_temp.drop_roles(ARRAY['lt16_bot']);
