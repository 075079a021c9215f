-- pg_temp.poll(cond, secs): true as soon as the boolean query cond returns
-- true, false after secs seconds.  Included (\ir) by the pgTAP files that
-- wait for the enforcer or the sealer; pg_temp, so one per session.
CREATE FUNCTION pg_temp.poll(cond text, secs numeric DEFAULT 10) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + secs * interval '1 second';
    r boolean;
BEGIN
    LOOP
        EXECUTE cond INTO r;
        IF r THEN RETURN true; END IF;
        IF clock_timestamp() > deadline THEN RETURN false; END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
