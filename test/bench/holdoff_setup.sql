-- Revocation against holders (test/system/lib/holdoff.py): two agents,
-- a non-superuser administrator, and a governed table the trials read and
-- write.  Used by test/system/revoke_holdoff.sh and bench_revoke_holdoff.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS governance;
CREATE ROLE rv_bot LOGIN IN ROLE governance_agent;
CREATE ROLE rv_sub LOGIN IN ROLE governance_agent;
CREATE ROLE rv_admin LOGIN IN ROLE governance_admin;
SELECT governance.register_agent('Agent::"rv-bot"', 'rv_bot');
SELECT governance.register_agent('Agent::"rv-sub"', 'rv_sub');
SELECT governance.put_entity('Agent::"rv-bot"', ARRAY['Group::"rv"']);
SELECT governance.put_entity('Agent::"rv-sub"', ARRAY['Group::"rv"']);
SELECT governance.create_policy('rv', 'permit (principal in Group::"rv", action, resource);');
CREATE TABLE rv_accounts (id serial PRIMARY KEY, owner text NOT NULL);
INSERT INTO rv_accounts (owner) VALUES ('Account::"1"'), ('Account::"1"'), ('Account::"2"');
SELECT governance.govern_table('rv_accounts', 'rv', 'owner');
GRANT SELECT, INSERT ON rv_accounts TO governance_agent;
GRANT USAGE ON SEQUENCE rv_accounts_id_seq TO governance_agent;
