------------------------------------------------------------------------------
-- Policy templates (issue 17): a template is a policy statement whose
-- principal and/or resource scope holds a slot (?principal, ?resource);
-- linking it stores a policy, with the slots filled in, among the other
-- policies (so the policy-set hash and every backend's next decision follow
-- it) and records the link.  A template cannot be dropped while linked.
-- docs/POLICY.md section 5.
------------------------------------------------------------------------------

CREATE TABLE governance.policy_templates (
    name        text PRIMARY KEY,
    source      text NOT NULL,
    effect      text NOT NULL CHECK (effect OPERATOR(pg_catalog.=) ANY (ARRAY['permit', 'forbid'])),
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL
);
COMMENT ON TABLE governance.policy_templates IS
    'Policy templates with ?principal / ?resource slots; change with create_template, drop_template';

-- name is the linked policy's name in governance.policies
CREATE TABLE governance.template_links (
    name        text PRIMARY KEY,
    template    text NOT NULL,
    principal   text,
    resource    text,
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL
);
CREATE INDEX template_links_template ON governance.template_links (template);
COMMENT ON TABLE governance.template_links IS
    'Template-linked policies: the policy of this name was linked from the template with these slot values; change with link_template, unlink_template';

REVOKE ALL ON governance.policy_templates, governance.template_links FROM PUBLIC;
GRANT SELECT ON governance.policy_templates, governance.template_links
    TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.policy_templates', '');
SELECT pg_catalog.pg_extension_config_dump('governance.template_links', '');

CREATE FUNCTION governance.create_template(name text, source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_create_template';
COMMENT ON FUNCTION governance.create_template(text, text) IS
    'Parse and store a policy template (?principal, ?resource slots); ledgered; returns the policy-set hash';

CREATE FUNCTION governance.drop_template(name text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_drop_template';
COMMENT ON FUNCTION governance.drop_template(text) IS
    'Remove a template no policy is linked from; ledgered; returns the policy-set hash';

CREATE FUNCTION governance.link_template(template text, name text,
    principal text DEFAULT NULL, resource text DEFAULT NULL)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_link_template';
COMMENT ON FUNCTION governance.link_template(text, text, text, text) IS
    'Store the policy name linked from a template, its slots filled with these entities; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.unlink_template(name text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_unlink_template';
COMMENT ON FUNCTION governance.unlink_template(text) IS
    'Remove a template-linked policy; ledgered; returns the new policy-set hash';

REVOKE ALL ON FUNCTION governance.create_template(text, text), governance.drop_template(text),
    governance.link_template(text, text, text, text), governance.unlink_template(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION governance.create_template(text, text), governance.drop_template(text),
    governance.link_template(text, text, text, text), governance.unlink_template(text)
TO governance_admin;
