-- Crypto primitives: known answers, NULL and length handling.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS governance;
RESET client_min_messages;

-- FIPS 202 / RFC 7693 "abc" examples
SELECT encode(governance.sha3_512('abc'::bytea), 'hex') AS sha3_abc;
SELECT encode(governance.blake2b_512('abc'::bytea), 'hex') AS blake2b_abc;
SELECT length(governance.sha3_512(''::bytea)), length(governance.blake2b_512(''::bytea));

-- The hashes are strict: NULL in, NULL out (the SQL convention)
SELECT governance.sha3_512(NULL) IS NULL AS sha3_null, governance.blake2b_512(NULL) IS NULL AS blake_null;

-- Large input goes through the sliced path (16 MB of 'x'; expected values
-- from Python's hashlib)
SELECT encode(governance.sha3_512(convert_to(repeat('x', 16 * 1024 * 1024), 'UTF8')), 'hex') =
       '81952580b0371ee3974a42c8ae99067176a19f7900dc119e787821b3daed98f80911d3b3fae90ccf6deab2ad5c413f460b75c8c80801e3f6450f6c2507c30fc1'
       AS sha3_16mb,
       encode(governance.blake2b_512(convert_to(repeat('x', 16 * 1024 * 1024), 'UTF8')), 'hex') =
       '14f4072304317e8c67e58cc58fa7e24f2e08a9ebd8114f35947cc45599044a4c835fdfc0c72d9b067472a355ba72f9201e701665d24a31c4098a465acfa0761b'
       AS blake2b_16mb;

-- RFC 8032 test 1: empty message
\set pk '\\xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
\set sig '\\xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
SELECT governance.ed25519_verify(:'sig', '', :'pk') AS rfc8032_test1;
-- one flipped bit in the message
SELECT governance.ed25519_verify(:'sig', '\x00', :'pk') AS flipped_message;
-- NULL anywhere is "not verified", never NULL
SELECT governance.ed25519_verify(NULL, '', :'pk') AS null_sig,
       governance.ed25519_verify(:'sig', NULL, :'pk') AS null_msg,
       governance.ed25519_verify(:'sig', '', NULL) AS null_key;
-- a signature of the wrong length is invalid
SELECT governance.ed25519_verify('\x00', '', :'pk') AS short_sig,
       governance.ed25519_verify(:'sig' || '\x00'::bytea, '', :'pk') AS long_sig,
       governance.ed25519_verify('', '', :'pk') AS empty_sig;
-- a public key of the wrong length is an error
SELECT governance.ed25519_verify(:'sig', '', '\x0102');
SELECT governance.ed25519_verify(:'sig', '', '');
