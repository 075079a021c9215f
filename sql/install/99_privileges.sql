------------------------------------------------------------------------------
-- Last: nothing for PUBLIC.  Each part above granted its roles what their
-- jobs need; functions are executable by PUBLIC by default, so revoke that.
------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA governance FROM PUBLIC;

-- But the lease checks that governed tables' row-level security calls:
-- any role that may read a governed table gets no rows without a lease,
-- rather than an error.  They answer only for the leases the calling
-- role attached in its own session.
GRANT EXECUTE ON FUNCTION governance.is_authorized(text, text),
                          governance.authorized_resources(text),
                          governance.authorized_resource(text),
                          governance.lease_covers(text, text)
TO PUBLIC;

-- Record the server key now if the library is preloaded; otherwise say so.
DO $$
BEGIN
    PERFORM governance._sync_signing_key();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE WARNING 'governance is not loaded via shared_preload_libraries; its functions will refuse to run'
        USING HINT = 'Add ''governance'' to shared_preload_libraries in postgresql.conf and restart the server.';
END
$$;
