-- Key rotation: the new key becomes current, the old one is retired but
-- kept, and every signature ever made (self-signatures, endorsements)
-- still verifies under the key that made it.  Runs outside a transaction
-- block on purpose: a rotation takes effect at commit.
\ir lib/fixture.sql
CREATE TEMP TABLE before AS SELECT governance.current_key_id() AS key_id, governance.public_key() AS pk;

CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT int4send(length(b)) || b $$;
CREATE FUNCTION pg_temp.micros(t timestamptz) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT int8send((extract(epoch FROM t) * 1000000)::bigint) $$;

SELECT plan(11);

SELECT governance.rotate_key() AS first_rotation \gset
SELECT governance.rotate_key() AS second_rotation \gset

SELECT isnt(:'first_rotation', (SELECT key_id FROM before), 'rotation produces a new key id');
SELECT is(governance.current_key_id(), :'second_rotation', 'the latest rotation is current');
SELECT isnt(governance.public_key(), (SELECT pk FROM before), 'the public key changed');
SELECT is((SELECT count(*) FROM governance.signing_keys WHERE retired_at IS NULL)::int, 1,
          'exactly one key is current');
SELECT ok((SELECT retired_at IS NOT NULL FROM governance.signing_keys
            WHERE key_id = (SELECT key_id FROM before)),
          'the original key is retired, not deleted');

SELECT is((SELECT count(*) FROM governance.signing_keys
            WHERE NOT governance.ed25519_verify(self_signature,
                    pg_temp.field(convert_to('governance.v1.key', 'UTF8')) ||
                    pg_temp.field(convert_to(key_id, 'UTF8')) ||
                    pg_temp.field(public_key) || pg_temp.field(pg_temp.micros(created_at)),
                    public_key))::int, 0,
          'every self-signature, retired keys included, still verifies');

SELECT is((SELECT endorsed_by FROM governance.signing_keys WHERE key_id = :'first_rotation'),
          (SELECT key_id FROM before), 'the first rotation was endorsed by the original key');
SELECT is((SELECT endorsed_by FROM governance.signing_keys WHERE key_id = :'second_rotation'),
          :'first_rotation', 'the second rotation was endorsed by the first');

SELECT ok((SELECT bool_and(governance.ed25519_verify(n.endorsement,
                    pg_temp.field(convert_to('governance.v1.key-endorsement', 'UTF8')) ||
                    pg_temp.field(convert_to(o.key_id, 'UTF8')) ||
                    pg_temp.field(convert_to(n.key_id, 'UTF8')) ||
                    pg_temp.field(n.public_key) || pg_temp.field(pg_temp.micros(n.created_at)),
                    o.public_key))
             FROM governance.signing_keys n JOIN governance.signing_keys o ON o.key_id = n.endorsed_by
            WHERE n.key_id IN (:'first_rotation', :'second_rotation')),
          'each endorsement verifies under the retired key that made it');

-- an endorsement checked against the wrong key must fail
SELECT ok(NOT (SELECT governance.ed25519_verify(n.endorsement,
                    pg_temp.field(convert_to('governance.v1.key-endorsement', 'UTF8')) ||
                    pg_temp.field(convert_to(n.endorsed_by, 'UTF8')) ||
                    pg_temp.field(convert_to(n.key_id, 'UTF8')) ||
                    pg_temp.field(n.public_key) || pg_temp.field(pg_temp.micros(n.created_at)),
                    n.public_key)
             FROM governance.signing_keys n WHERE n.key_id = :'second_rotation'),
          'an endorsement does not verify under the endorsed key itself');

-- a rotation rolled back leaves the current key alone
BEGIN;
SELECT governance.rotate_key() AS aborted_rotation \gset
ROLLBACK;
SELECT is(governance.current_key_id(), :'second_rotation', 'a rolled-back rotation changes nothing');

SELECT * FROM finish();
