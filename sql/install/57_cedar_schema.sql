------------------------------------------------------------------------------
-- Cedar schemas (issue 17): set_schema() stores a schema in Cedar's
-- human-readable or JSON format; while one is set, create_policy (and
-- create_policies, replace_policy, create_template, link_template),
-- put_entity (and put_entities) and decide / explain / authorize / delegate
-- refuse what disagrees with it.
-- docs/POLICY.md section 9.
------------------------------------------------------------------------------

CREATE TABLE governance.cedar_schema (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    source      text NOT NULL,
    set_at      timestamptz NOT NULL,
    set_by      text NOT NULL
);
COMMENT ON TABLE governance.cedar_schema IS
    'The Cedar schema policies, entities and requests are validated against (at most one row); change with set_schema';

REVOKE ALL ON governance.cedar_schema FROM PUBLIC;
GRANT SELECT ON governance.cedar_schema TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.cedar_schema', '');

CREATE FUNCTION governance.set_schema(schema text)
RETURNS void
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_set_schema';
COMMENT ON FUNCTION governance.set_schema(text) IS
    'Set (or, with NULL, clear) the Cedar schema (human-readable or JSON format) policies, entities and requests are validated against; refused when a stored policy, template or entity disagrees; ledgered';

REVOKE ALL ON FUNCTION governance.set_schema(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.set_schema(text) TO governance_admin;
