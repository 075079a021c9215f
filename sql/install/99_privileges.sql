------------------------------------------------------------------------------
-- Last: nothing for PUBLIC.  Each part above granted its roles what their
-- jobs need; functions are executable by PUBLIC by default, so revoke that.
------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA governance FROM PUBLIC;

-- Record the server key now if the library is preloaded; otherwise say so.
DO $$
BEGIN
    PERFORM governance._sync_signing_key();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE WARNING 'governance is not loaded via shared_preload_libraries; its functions will refuse to run'
        USING HINT = 'Add ''governance'' to shared_preload_libraries in postgresql.conf and restart the server.';
END
$$;
