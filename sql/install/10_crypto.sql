------------------------------------------------------------------------------
-- Crypto primitives (D2)
------------------------------------------------------------------------------

CREATE FUNCTION governance.sha3_512(bytea)
RETURNS bytea
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_sha3_512';
COMMENT ON FUNCTION governance.sha3_512(bytea) IS
    'SHA3-512 (FIPS 202) of the input, 64 bytes';

CREATE FUNCTION governance.blake2b_512(bytea)
RETURNS bytea
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_blake2b_512';
COMMENT ON FUNCTION governance.blake2b_512(bytea) IS
    'BLAKE2b-512 (RFC 7693, unkeyed) of the input, 64 bytes';

-- Not strict: a NULL argument gives false, never NULL.
CREATE FUNCTION governance.ed25519_verify(signature bytea, message bytea, public_key bytea)
RETURNS boolean
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'gov_sql_ed25519_verify';
COMMENT ON FUNCTION governance.ed25519_verify(bytea, bytea, bytea) IS
    'true when signature is a valid Ed25519 signature of message under public_key';

GRANT EXECUTE ON FUNCTION
    governance.sha3_512(bytea),
    governance.blake2b_512(bytea),
    governance.ed25519_verify(bytea, bytea, bytea)
TO governance_admin, governance_agent, governance_auditor;
