-- challenge(): the extra round trip of a signed request (a nonce inserted
-- into governance.pop_challenges, the caller's expired ones deleted).
SELECT nonce FROM governance.challenge();
