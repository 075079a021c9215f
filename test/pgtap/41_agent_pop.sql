-- Proof of possession (issue 13, docs/FORMAT.md section 13) in SQL: the
-- functions, their privileges, bad input, the refusals (28L01), signed
-- requests from fixed vectors, savepoints, rotation, compromise, the GUC.
--
-- The vectors (P1...P6 below) were produced outside the database by
-- test/outside/pop_sign.py (OpenSSL's Ed25519 through python3-cryptography,
-- written from docs/FORMAT.md alone), with seeds 41..41 (the agent's key),
-- 42..42 (a thief's) and 43..43 (the key rotated to), the nonces 01..01,
-- 02..02, ... (32 bytes each) and server key id 0000000000000041.  A nonce
-- is random when challenge() makes it, so the test records these nonces in
-- governance.pop_challenges itself, as the superuser it runs as: the server
-- then checks the signatures over the request exactly as for a nonce of
-- its own.  test/system/pop.sh signs fresh challenges, for all four
-- functions.  Everything runs in one transaction that rolls back.
\ir lib/fixture.sql
BEGIN;
SELECT plan(42);

CREATE ROLE t41_bot LOGIN IN ROLE governance_agent;
CREATE ROLE t41_nokey LOGIN IN ROLE governance_agent;
CREATE ROLE t41_other LOGIN;
SELECT governance.register_agent('Agent::"t41-bot"', 't41_bot',
    '\xdb995fe25169d141cab9bbba92baa01f9f2e1ece7df4cb2ac05190f37fcc1f9d');
SELECT governance.register_agent('Agent::"t41-nokey"', 't41_nokey');
SELECT governance.create_policy('t41', 'permit (principal, action == Action::"t41.run", resource);');

-- a nonce of the vectors, for role, valid for an hour (or expired)
CREATE FUNCTION pg_temp.nonce(b text, role name, expired boolean DEFAULT false) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO governance.pop_challenges VALUES (decode(repeat(b, 32), 'hex'), role::regrole,
        '0000000000000041', now(), now() + CASE WHEN expired THEN interval '-1 s' ELSE interval '1 h' END)
$$;
CREATE FUNCTION pg_temp.az(proof text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.err(format('SELECT governance.authorize(%L, %L, %L, proof => %L)',
                              'Agent::"t41-bot"', 't41.run', 'Job::"j1"', proof))
$$;
\set P1 'pop1.AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE.Sq9LRQq_RStQbbOEsjjf9Usbe2HLOWuYHoHD_Env67k9SSoSx6dd5aw-uqlkHAmadnExmFyLeRVnddqM4ChTBw'
\set P2B 'pop1.AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI.xd9bpTQ-aShI1xgFGFWvHQGvNNS-IrnXMC3qXyedcNOTOzC1WILt2FrDTjQpBWL3Htlwe9l1i3nNJzwdhGx1Aw'
\set P3 'pop1.AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM.7ofCBK_rLHK90ip9qWfEUWNedX2JbW7KVTJjUG7p2Ljuffm1uDiyokDGXGvXa_GB_qrAAOsX0TJDiRx-4M0MAw'
\set P4 'pop1.BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ.wIHU-equbdsJgTQJaNg3jT-AdF0bXyOAB45EHmj0t-JcbYBeupaJXL0B-GXvFb5CnPDbyY2SjVFSvO38IRR_DQ'
\set P5 'pop1.BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU.PLyuPnUQ6oTnYcm61NDcrjcBsv0tkZ8MzKKHy1Sqa2H6_3uuA-fD7KaF-WyrpqtcwZRo_Q7GelqvIf_8YcxeDQ'
\set P6 'pop1.BgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgY.gvEPmLFoe52TDvs0mVJE3836G9dNyYWSOasulvylwWBRG_BwAqlKED6iAhkLmg7WpPHD4m2NDM5AGInESxvADA'
SELECT pg_temp.nonce('01', 't41_bot');
SELECT pg_temp.nonce('02', 't41_bot');
SELECT pg_temp.nonce('04', 't41_bot');
SELECT pg_temp.nonce('05', 't41_bot');
SELECT pg_temp.nonce('06', 't41_nokey');

-- the functions ----------------------------------------------------------
SELECT has_function('governance', 'challenge', ARRAY[]::name[], 'challenge() exists');
SELECT has_function('governance', 'rotate_agent_key', ARRAY['text', 'bytea', 'text'], 'rotate_agent_key(text, bytea, text) exists');
SELECT has_function('governance', 'revoke_agent_key', ARRAY['text', 'text'], 'revoke_agent_key(text, text) exists');
SELECT has_function('governance', 'authorize', ARRAY['text', 'text', 'text', 'jsonb', 'interval', 'bytea', 'text'], 'authorize takes a trailing proof');
SELECT has_function('governance', 'delegate', ARRAY['uuid', 'text', 'text', 'text', 'jsonb', 'interval', 'text'], 'delegate takes a trailing proof');
SELECT has_function('governance', 'heartbeat', ARRAY['uuid', 'bytea', 'text'], 'heartbeat takes a trailing proof');
SELECT has_function('governance', 'attach', ARRAY['text', 'boolean', 'text'], 'attach takes a trailing proof');

-- privileges ---------------------------------------------------------------
SET ROLE t41_other;
SELECT matches(pg_temp.err('SELECT governance.challenge()'), '^42501', 'challenge(): a role without the grant is refused');
SELECT matches(pg_temp.err($$SELECT governance.rotate_agent_key('Agent::"t41-bot"', '\x00')$$), '^42501', 'rotate_agent_key(): a role without the grant is refused');
RESET ROLE;
SET ROLE t41_bot;
SELECT matches(pg_temp.err($$SELECT governance.revoke_agent_key('Agent::"t41-bot"', 'x')$$), '^42501', 'revoke_agent_key(): agents are refused');
SELECT matches(pg_temp.err('SET governance.require_agent_keys = off'), '^42501', 'an agent cannot turn require_agent_keys off');
SELECT matches(pg_temp.err('SET governance.challenge_ttl = ''1h'''), '^42501', 'an agent cannot lengthen challenge_ttl');
SELECT is(length((governance.challenge()).nonce), 32, 'challenge(): 32 bytes for an agent');

-- refusals and vectors ----------------------------------------------------
SELECT is(pg_temp.az(NULL), '28L01: proof of possession refused: proof required', 'authorize without proof: 28L01');
SELECT is(pg_temp.az(''), '28L01: proof of possession refused: malformed proof', 'an empty proof is malformed');
SELECT is(pg_temp.az(repeat('A', 100000)), '28L01: proof of possession refused: malformed proof', 'a huge proof is malformed');
SELECT is(pg_temp.az('pop1.AQEB.AQEB.AQEB'), '28L01: proof of possession refused: malformed proof', 'a proof of four parts is malformed');
SELECT is(pg_temp.az('pop2.' || substr(:'P1', 6)), '28L01: proof of possession refused: malformed proof', 'another version prefix is malformed');
SELECT is(pg_temp.az(:'P1' || 'A'), '28L01: proof of possession refused: malformed proof', 'a non-canonical signature encoding is malformed');
SELECT is(pg_temp.az(:'P2B'), '28L01: proof of possession refused: bad signature', 'a vector signed by another key: bad signature');
RESET ROLE;
-- after challenge() above, which clears the caller's expired challenges
SELECT pg_temp.nonce('03', 't41_bot', true);
SET ROLE t41_bot;
SELECT is(pg_temp.az(:'P3'), '28L01: proof of possession refused: nonce expired', 'a vector over an expired nonce: nonce expired');
SELECT is(pg_temp.az(:'P6'), '28L01: proof of possession refused: nonce issued to another role', 'a nonce of another role is refused');
SELECT is(pg_temp.az(:'P1'), 'no error', 'the signed vector is allowed');
SELECT is(pg_temp.az(:'P1'), '28L01: proof of possession refused: unknown or used nonce', 'the same vector again: replay refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM governance.pop_challenges WHERE nonce = decode(repeat('01', 32), 'hex'))::int, 0,
          'the nonce is gone once used');

-- savepoints: a use rolled back to a savepoint consumed nothing --------------
SET ROLE t41_bot;
SAVEPOINT s;
SELECT is(pg_temp.az(:'P5'), 'no error', 'savepoint: the vector is allowed');
ROLLBACK TO SAVEPOINT s;
RESET ROLE;
SELECT is((SELECT count(*) FROM governance.pop_challenges WHERE nonce = decode(repeat('05', 32), 'hex'))::int, 1,
          'savepoint: after ROLLBACK TO the nonce is back');
SET ROLE t41_bot;
SELECT is(pg_temp.az(:'P5'), 'no error', 'savepoint: the same signed request may be made once more');
SELECT is(pg_temp.az(:'P5'), '28L01: proof of possession refused: unknown or used nonce', 'savepoint: but only once');
SAVEPOINT c;
SELECT governance.challenge() IS NOT NULL AS challenged;
ROLLBACK TO SAVEPOINT c;
RESET ROLE;
SELECT is((SELECT count(*) FROM governance.pop_challenges WHERE role_oid = 't41_bot'::regrole AND issued_at > now() - interval '1 h'
           AND server_key_id <> '0000000000000041')::int, 1,
          'savepoint: a challenge() rolled back is gone (the earlier one stays)');
SET ROLE t41_bot;

-- rotation (signed by the old key) ---------------------------------------
SELECT is(length(governance.rotate_agent_key('Agent::"t41-bot"',
          '\x22fc297792f0b6ffc0bfcfdb7edb0c0aa14e025a365ec0e342e86e3829cb74b6', :'P4')), 16,
          'rotate_agent_key: the agent rotates with a proof by its old key');
SELECT is(pg_temp.az(:'P2B'), '28L01: proof of possession refused: bad signature', 'after rotation the old key''s requests are refused');
RESET ROLE;
SELECT is((SELECT payload->>'signed_by_old_key' FROM governance.ledger WHERE kind = 'governance.agent.key_rotated'
           ORDER BY seq DESC LIMIT 1), 'true', 'the rotation is ledgered');

-- compromise -------------------------------------------------------------
SELECT matches(pg_temp.err($$SELECT governance.revoke_agent_key(NULL, 'x')$$), '^22004', 'revoke_agent_key: NULL principal');
SELECT matches(pg_temp.err($$SELECT governance.revoke_agent_key('Agent::"t41-nobody"', 'x')$$), '^42704', 'revoke_agent_key: unknown principal');
SELECT matches(pg_temp.err($$SELECT governance.revoke_agent_key('Agent::"t41-nokey"', 'x')$$), '^55000', 'revoke_agent_key: an agent without a key');
SELECT matches(pg_temp.err($$SELECT governance.revoke_agent_key('Agent::"t41-bot"', repeat('x', 2000))$$), '^22023', 'revoke_agent_key: a huge reason');
SELECT is(governance.revoke_agent_key('Agent::"t41-bot"', 'key stolen'), 2, 'revoke_agent_key: both live leases of the agent end');
SELECT is((SELECT count(*) FROM governance.leases WHERE principal = 'Agent::"t41-bot"' AND state = 'live')::int, 0, 'no live lease is left');
SELECT matches(pg_temp.err($$SELECT governance.register_agent('Agent::"t41-bot"', 't41_bot', '\x22fc297792f0b6ffc0bfcfdb7edb0c0aa14e025a365ec0e342e86e3829cb74b6')$$),
               '^22023', 'a revoked key cannot be registered again');

-- the GUC ----------------------------------------------------------------
SET governance.require_agent_keys = on;
SET ROLE t41_nokey;
SELECT is(pg_temp.err($$SELECT governance.authorize('Agent::"t41-nokey"', 't41.run', 'Job::"j1"')$$),
          '28L01: proof of possession refused: agent has no key', 'require_agent_keys: an agent without a key is refused');
RESET ROLE;
RESET governance.require_agent_keys;
SET ROLE t41_nokey;
SELECT is(pg_temp.err($$SELECT governance.authorize('Agent::"t41-nokey"', 't41.run', 'Job::"j1"')$$),
          'no error', 'by default an agent without a key needs no proof');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
