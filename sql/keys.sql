-- The server key: one current key, recorded with a verifiable self-signature,
-- and a key id anyone can derive from the public key (docs/FORMAT.md).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS governance;
RESET client_min_messages;

SELECT length(governance.public_key()) AS public_key_bytes;
-- outside governance.database (the harness runs this file in another
-- database) nothing can be enforced, so trust is degraded: fail closed
SELECT governance.trust_state() LIKE 'degraded: leases are enforced in database "%"%' AS fails_closed_here;

-- exactly one current key, and it is the one public_key() reports
SELECT count(*) AS current_keys FROM governance.signing_keys WHERE retired_at IS NULL;
SELECT public_key = governance.public_key() AS table_matches_server,
       key_id = governance.current_key_id() AS key_id_matches
  FROM governance.signing_keys WHERE retired_at IS NULL;

-- field(x) = 4-byte big-endian length || x; key id = first 8 bytes of
-- BLAKE2b-512(field('governance.v1.key-id') || field(public_key)), in hex
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT int4send(length(b)) || b $$;
SELECT key_id = encode(substr(governance.blake2b_512(
           pg_temp.field(convert_to('governance.v1.key-id', 'UTF8')) ||
           pg_temp.field(public_key)), 1, 8), 'hex') AS key_id_derivable
  FROM governance.signing_keys WHERE retired_at IS NULL;

-- the self-signature covers (tag, key id, public key, created_at in Unix microseconds)
SELECT governance.ed25519_verify(self_signature,
           pg_temp.field(convert_to('governance.v1.key', 'UTF8')) ||
           pg_temp.field(convert_to(key_id, 'UTF8')) ||
           pg_temp.field(public_key) ||
           pg_temp.field(int8send((extract(epoch FROM created_at) * 1000000)::bigint)),
           public_key) AS self_signature_valid
  FROM governance.signing_keys WHERE retired_at IS NULL;

-- only the extension writes the key table
SELECT has_table_privilege('public', 'governance.signing_keys', 'INSERT') AS public_can_insert;
