------------------------------------------------------------------------------
-- The log identity (format version 2, docs/FORMAT.md sections 6 and 7)
------------------------------------------------------------------------------

-- One row: 16 random bytes naming this ledger, made at CREATE EXTENSION (or
-- ALTER EXTENSION UPDATE from 0.1) and carried by pg_dump, so that a
-- restored database continues the same log.  Every version-2 block and
-- checkpoint signs it: two databases sharing one signing key cannot present
-- each other's blocks or checkpoints.  It is not a secret; nothing guards
-- it beyond privileges, because changing it makes every version-2 block
-- fail verification (its signed bytes name the old id).
CREATE TABLE governance.log_identity (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    log_id      uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE governance.log_identity IS
    'The identity of this ledger, signed into every version-2 block and checkpoint';
INSERT INTO governance.log_identity (log_id) VALUES (pg_catalog.gen_random_uuid());
REVOKE ALL ON governance.log_identity FROM PUBLIC;
GRANT SELECT ON governance.log_identity TO governance_admin, governance_auditor;
SELECT pg_catalog.pg_extension_config_dump('governance.log_identity', '');
