-- Independent test vectors: every hash vector (one million 'a' included)
-- and all 150 Wycheproof Ed25519 cases.  The directory comes from
-- GOV_VECTORS (test/lib.sh: ../shared/vectors when present, otherwise the
-- copy in test/vectors).
\ir lib/fixture.sql
\getenv vecdir GOV_VECTORS
\set hv `cat :'vecdir'/hash_vectors.json 2>/dev/null || echo '{"vectors": []}'`
\set wp `cat :'vecdir'/wycheproof_ed25519_test.json 2>/dev/null || echo '{"testGroups": []}'`

SELECT plan(3 + 2 * 6 + 150);

SELECT cmp_ok(jsonb_array_length(:'hv'::jsonb -> 'vectors'), '=', 6,
              'hash vectors found in ' || coalesce(:'vecdir', '(GOV_VECTORS unset)'));
SELECT cmp_ok((:'wp'::jsonb ->> 'numberOfTests')::int, '=', 150,
              'Wycheproof Ed25519 vectors found in ' || coalesce(:'vecdir', '(GOV_VECTORS unset)'));

-- msg_rule is used by the one vector too large to write out: a million 'a'
CREATE TEMP TABLE hv AS
SELECT v ->> 'name' AS name,
       CASE WHEN v ? 'msg_hex' THEN decode(v ->> 'msg_hex', 'hex')
            ELSE convert_to(repeat('a', 1000000), 'UTF8') END AS msg,
       v ->> 'msg_rule' AS rule,
       v ->> 'sha3_512' AS sha3, v ->> 'blake2b_512' AS blake2b
  FROM jsonb_array_elements(:'hv'::jsonb -> 'vectors') v;

SELECT is(rule, 'the byte ''a'' (0x61) repeated 1,000,000 times',
          'the only rule-based vector is the one built here')
  FROM hv WHERE rule IS NOT NULL;

SELECT is(encode(governance.sha3_512(msg), 'hex'), sha3, 'SHA3-512 ' || name) FROM hv ORDER BY name;
SELECT is(encode(governance.blake2b_512(msg), 'hex'), blake2b, 'BLAKE2b-512 ' || name) FROM hv ORDER BY name;

SELECT is(governance.ed25519_verify(decode(t ->> 'sig', 'hex'), decode(t ->> 'msg', 'hex'),
                                    decode(g -> 'publicKey' ->> 'pk', 'hex')),
          t ->> 'result' = 'valid',
          format('Wycheproof tcId %s (%s) %s', t ->> 'tcId', t ->> 'result', t ->> 'comment'))
  FROM jsonb_array_elements(:'wp'::jsonb -> 'testGroups') g,
       jsonb_array_elements(g -> 'tests') t
 ORDER BY (t ->> 'tcId')::int;

SELECT * FROM finish();
