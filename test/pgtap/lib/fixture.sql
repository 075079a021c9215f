-- The preamble of every pgTAP file (\ir lib/fixture.sql first): psql stops
-- at the first error outside a test function, notices stay quiet, and the
-- helpers most files use.  pg_temp, so one set per session.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- pg_temp.err(sql): 'no error', or 'SQLSTATE: message' of what sql raised
-- (a cancel included: the enforcer cancels statements of ended leases).
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- pg_temp.n(sql): how many rows sql returned or changed, or the error.
CREATE FUNCTION pg_temp.n(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE c bigint;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS c = ROW_COUNT;
    RETURN c::text;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- pg_temp.drop_roles(roles): drop each role that exists, with what it owns
-- (a test's leftovers from an interrupted earlier run, or its own at the end).
CREATE FUNCTION pg_temp.drop_roles(roles text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY roles LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
