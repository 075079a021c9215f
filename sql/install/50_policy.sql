------------------------------------------------------------------------------
-- Policies and entities (D9); the language is described in docs/POLICY.md
------------------------------------------------------------------------------

CREATE TABLE governance.policies (
    name        text PRIMARY KEY,
    source      text NOT NULL,
    effect      text NOT NULL CHECK (effect OPERATOR(pg_catalog.=) ANY (ARRAY['permit', 'forbid'])),
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL
);
COMMENT ON TABLE governance.policies IS
    'One policy statement per row; change with create_policy, replace_policy, drop_policy';

CREATE TABLE governance.entities (
    uid         text PRIMARY KEY,
    parents     text[] NOT NULL DEFAULT '{}',
    attrs       jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL,
    tags        jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE governance.entities IS
    'Principals, resources, actions and groups: parents make the hierarchy "in" follows';

-- Whoever changes these tables, every backend's next decision must see it.
CREATE FUNCTION governance._policy_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'gov_policy_changed';

CREATE TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON governance.policies FOR EACH STATEMENT EXECUTE FUNCTION governance._policy_changed();
CREATE TRIGGER entities_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON governance.entities FOR EACH STATEMENT EXECUTE FUNCTION governance._policy_changed();
ALTER TABLE governance.policies ENABLE ALWAYS TRIGGER policies_changed;
ALTER TABLE governance.entities ENABLE ALWAYS TRIGGER entities_changed;
-- Logical replication's apply worker fires row triggers only (never
-- statement triggers), and ALWAYS ones whatever session_replication_role
-- says: a change applied from another node must move the generation too
-- (issue 15, item 4; docs/SCALING.md).
CREATE TRIGGER policies_changed_row AFTER INSERT OR UPDATE OR DELETE
    ON governance.policies FOR EACH ROW EXECUTE FUNCTION governance._policy_changed();
CREATE TRIGGER entities_changed_row AFTER INSERT OR UPDATE OR DELETE
    ON governance.entities FOR EACH ROW EXECUTE FUNCTION governance._policy_changed();
ALTER TABLE governance.policies ENABLE ALWAYS TRIGGER policies_changed_row;
ALTER TABLE governance.entities ENABLE ALWAYS TRIGGER entities_changed_row;

REVOKE ALL ON governance.policies, governance.entities FROM PUBLIC;
GRANT SELECT ON governance.policies, governance.entities TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.policies', '');
SELECT pg_catalog.pg_extension_config_dump('governance.entities', '');

CREATE FUNCTION governance.create_policy(name text, source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_create_policy';
COMMENT ON FUNCTION governance.create_policy(text, text) IS
    'Parse and store a new policy; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.create_policies(source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_create_policies';
COMMENT ON FUNCTION governance.create_policies(text) IS
    'Create every policy of a policy set (a file of policies), each named by its @id; all or nothing; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.replace_policy(name text, source text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_replace_policy';
COMMENT ON FUNCTION governance.replace_policy(text, text) IS
    'Replace the source of an existing policy; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.drop_policy(name text)
RETURNS bytea
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_drop_policy';
COMMENT ON FUNCTION governance.drop_policy(text) IS
    'Remove a policy; ledgered; returns the new policy-set hash';

CREATE FUNCTION governance.put_entity(uid text, parents text[] DEFAULT '{}', attrs jsonb DEFAULT '{}',
    tags jsonb DEFAULT '{}')
RETURNS void
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_put_entity_tags';
COMMENT ON FUNCTION governance.put_entity(text, text[], jsonb, jsonb) IS
    'Create or replace an entity (its parents, attributes and tags); ledgered';

CREATE FUNCTION governance.delete_entity(uid text)
RETURNS boolean
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'gov_sql_delete_entity';
COMMENT ON FUNCTION governance.delete_entity(text) IS
    'Remove an entity; ledgered when it existed; true if it did';

-- Deciding reads the tables as their owner (in C), so these need no
-- SECURITY DEFINER; they write nothing.
CREATE FUNCTION governance.explain(principal text, action text, resource text,
    context jsonb DEFAULT '{}',
    OUT policy text, OUT effect text, OUT matched boolean, OUT error text,
    OUT annotations jsonb)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_explain';
COMMENT ON FUNCTION governance.explain(text, text, text, jsonb) IS
    'For each policy, in name order: did it match the request, did it fail to evaluate, and its annotations';

CREATE FUNCTION governance.decide(principal text, action text, resource text,
    context jsonb DEFAULT '{}',
    OUT decision text, OUT determining text[], OUT reasons text[], OUT policy_set_hash bytea)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_decide';
COMMENT ON FUNCTION governance.decide(text, text, text, jsonb) IS
    'The policy decision authorize() would take, without issuing or recording anything';

CREATE FUNCTION governance.policy_set_hash()
RETURNS bytea
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'gov_sql_policy_set_hash';
COMMENT ON FUNCTION governance.policy_set_hash() IS
    'BLAKE2b-512 of the current policy set (docs/FORMAT.md section 8)';

GRANT EXECUTE ON FUNCTION
    governance.create_policy(text, text),
    governance.create_policies(text),
    governance.replace_policy(text, text),
    governance.drop_policy(text),
    governance.put_entity(text, text[], jsonb, jsonb),
    governance.delete_entity(text)
TO governance_admin;
-- explain names every policy and how it fared: not for agents probing
-- what they might get away with (docs/POLICY.md, "Who may do what")
GRANT EXECUTE ON FUNCTION
    governance.explain(text, text, text, jsonb),
    governance.decide(text, text, text, jsonb)
TO governance_admin, governance_auditor;
-- the hash is in every artifact an agent holds anyway
GRANT EXECUTE ON FUNCTION governance.policy_set_hash()
TO governance_admin, governance_agent, governance_auditor;
