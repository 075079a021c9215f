------------------------------------------------------------------------------
-- Cedar's JSON entity format (issue 17): put_entities() loads an entity
-- store written for Cedar in one call, export_entities() writes one.  Each
-- entity goes through put_entity(), so each is checked and ledgered as
-- put_entity() checks and ledgers it.  docs/POLICY.md section 4.
------------------------------------------------------------------------------

-- A value of Cedar's JSON as the extension keeps it: every
-- {"__entity": {"type": T, "id": I}} becomes {"__entity": "T::\"I\""};
-- the rest ({"__extn": ...} included) is kept as it is.
CREATE FUNCTION governance._cedar_value_in(v jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(v) = 'array' THEN
        RETURN coalesce((SELECT jsonb_agg(governance._cedar_value_in(e) ORDER BY n)
                           FROM jsonb_array_elements(v) WITH ORDINALITY AS a(e, n)), '[]'::jsonb);
    ELSIF jsonb_typeof(v) <> 'object' THEN
        RETURN v;
    ELSIF v ? '__entity' AND jsonb_typeof(v -> '__entity') = 'object' THEN
        RETURN jsonb_build_object('__entity', governance._cedar_uid(v -> '__entity', 'an entity reference'));
    END IF;
    RETURN coalesce((SELECT jsonb_object_agg(k, governance._cedar_value_in(e))
                       FROM jsonb_each(v) AS o(k, e)), '{}'::jsonb);
END
$$;

-- {"type": "Org::Team", "id": "a\"b"} (or that inside {"__entity": ...}) as
-- the canonical uid text Org::Team::"a\"b"; what says where, for errors.
CREATE FUNCTION governance._cedar_uid(u jsonb, what text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(u) = 'object' AND u ? '__entity' AND (SELECT count(*) FROM jsonb_object_keys(u)) = 1 THEN
        u := u -> '__entity';
    END IF;
    IF jsonb_typeof(u) IS DISTINCT FROM 'object' OR jsonb_typeof(u -> 'type') IS DISTINCT FROM 'string'
       OR jsonb_typeof(u -> 'id') IS DISTINCT FROM 'string' OR (SELECT count(*) FROM jsonb_object_keys(u)) <> 2 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s must be {"type": "...", "id": "..."}', what),
            DETAIL = format('Found %s.', left(coalesce(u::text, 'nothing'), 200));
    END IF;
    RETURN (u ->> 'type') || '::"' || replace(replace(u ->> 'id', '\', '\\'), '"', '\"') || '"';
END
$$;

-- The reverse of _cedar_value_in, for export_entities().
CREATE FUNCTION governance._cedar_value_out(v jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(v) = 'array' THEN
        RETURN coalesce((SELECT jsonb_agg(governance._cedar_value_out(e) ORDER BY n)
                           FROM jsonb_array_elements(v) WITH ORDINALITY AS a(e, n)), '[]'::jsonb);
    ELSIF jsonb_typeof(v) <> 'object' THEN
        RETURN v;
    ELSIF v ? '__entity' AND jsonb_typeof(v -> '__entity') = 'string'
          AND (SELECT count(*) FROM jsonb_object_keys(v)) = 1 THEN
        RETURN jsonb_build_object('__entity', governance._cedar_uid_out(v ->> '__entity'));
    END IF;
    RETURN coalesce((SELECT jsonb_object_agg(k, governance._cedar_value_out(e))
                       FROM jsonb_each(v) AS o(k, e)), '{}'::jsonb);
END
$$;

-- Type::"id" (canonical, as put_entity stored it) as {"type": ..., "id": ...}
CREATE FUNCTION governance._cedar_uid_out(uid text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'type', substring(uid FROM '^(.*?)::"'),
        'id', regexp_replace(substring(uid FROM '^.*?::"(.*)"$'), '\\(.)', '\1', 'g'))
$$;

CREATE FUNCTION governance.put_entities(entities jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e jsonb;
    n integer := 0;
    uid text;
BEGIN
    IF entities IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'entities must not be NULL';
    END IF;
    IF jsonb_typeof(entities) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'entities must be a JSON array of entities in Cedar''s JSON entity format',
            HINT = 'Each element is {"uid": {"type": "User", "id": "alice"}, "attrs": {...}, "parents": [...], "tags": {...}}.';
    END IF;
    FOR e IN SELECT x FROM jsonb_array_elements(entities) WITH ORDINALITY AS a(x, i) ORDER BY i LOOP
        n := n + 1;
        IF jsonb_typeof(e) <> 'object' OR NOT e ? 'uid'
           OR EXISTS (SELECT FROM jsonb_object_keys(e) k WHERE k NOT IN ('uid', 'attrs', 'parents', 'tags')) THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('entity %s must be an object with "uid" and optionally "attrs", "parents", "tags"', n),
                DETAIL = format('Found %s.', left(e::text, 200));
        END IF;
        uid := governance._cedar_uid(e -> 'uid', format('the uid of entity %s', n));
        IF e ? 'parents' AND jsonb_typeof(e -> 'parents') <> 'array' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('the parents of entity %s must be an array', uid);
        END IF;
        PERFORM governance.put_entity(uid,
            coalesce((SELECT array_agg(governance._cedar_uid(p, format('a parent of entity %s', uid)) ORDER BY i)
                        FROM jsonb_array_elements(e -> 'parents') WITH ORDINALITY AS pa(p, i)), '{}'),
            governance._cedar_value_in(coalesce(e -> 'attrs', '{}')),
            governance._cedar_value_in(coalesce(e -> 'tags', '{}')));
    END LOOP;
    -- as Cedar, an entity twice is an error (the statement undoes it all)
    SELECT u INTO uid FROM (SELECT governance._cedar_uid(x -> 'uid', '') AS u
                              FROM jsonb_array_elements(entities) AS a(x)) d
     GROUP BY u HAVING count(*) > 1 ORDER BY u LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('entity %s is in the array twice', uid);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION governance.put_entities(jsonb) IS
    'Create or replace every entity of an array in Cedar''s JSON entity format, each as put_entity would (and ledgered); all or nothing; returns how many';

CREATE FUNCTION governance.export_entities()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'uid', governance._cedar_uid_out(e.uid),
               'attrs', governance._cedar_value_out(e.attrs),
               'parents', (SELECT coalesce(jsonb_agg(governance._cedar_uid_out(p) ORDER BY i), '[]'::jsonb)
                             FROM unnest(e.parents) WITH ORDINALITY AS pa(p, i)),
               'tags', governance._cedar_value_out(e.tags)) ORDER BY e.uid), '[]'::jsonb)
      FROM governance.entities e
$$;
COMMENT ON FUNCTION governance.export_entities() IS
    'The entity store in Cedar''s JSON entity format (put_entities reads it back), in uid order';

REVOKE ALL ON FUNCTION governance._cedar_value_in(jsonb), governance._cedar_uid(jsonb, text),
    governance._cedar_value_out(jsonb), governance._cedar_uid_out(text),
    governance.put_entities(jsonb), governance.export_entities() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance._cedar_value_in(jsonb), governance._cedar_uid(jsonb, text),
    governance.put_entities(jsonb) TO governance_admin;
GRANT EXECUTE ON FUNCTION governance._cedar_value_out(jsonb), governance._cedar_uid_out(text),
    governance.export_entities() TO governance_admin, governance_auditor;
