-- Commit-to-sealed lag of the ledger rows with first < seq <= last
-- (psql variables), once every one of them is sealed.
--
-- Primary measure ("commit_ts"): the commit timestamp PostgreSQL itself
-- recorded for the block's transaction minus the one it recorded for the
-- row's transaction (track_commit_timestamp = on).  Both are taken the same
-- way, just before the commit record is flushed, so the row's commit and
-- the block's commit are compared like for like: "sealed" means the signed
-- block is committed and visible, not merely computed.
--
-- Cross-check ("at"): the block's sealed_at minus the row's at.  at is
-- taken inside record(), before the row's commit, so this overstates the
-- lag by the row's insert-to-commit time; sealed_at is taken before the
-- block is inserted and committed, which understates it by a little.
--
-- A row still unsealed counts as an infinite lag.
--
-- Output, one line: rows, sealed rows, then p50 p99 max of each measure in
-- seconds.
WITH r AS (
    SELECT l.seq, l.at, pg_xact_commit_timestamp(l.xmin) AS committed
      FROM governance.ledger AS l
     WHERE l.seq > :first AND l.seq <= :last
), b AS (
    SELECT s.seq, blk.sealed_at, pg_xact_commit_timestamp(blk.xmin) AS committed
      FROM governance.ledger_blocks AS blk
     CROSS JOIN LATERAL generate_series(blk.first_seq, blk.last_seq) AS s(seq)
     WHERE blk.last_seq > :first AND blk.first_seq <= :last
), lag AS (
    SELECT coalesce(extract(epoch FROM b.committed - r.committed)::float8, 'Infinity') AS cts,
           coalesce(extract(epoch FROM b.sealed_at - r.at)::float8, 'Infinity') AS at_lag,
           b.seq IS NOT NULL AS sealed
      FROM r LEFT JOIN b USING (seq)
)
SELECT count(*), count(*) FILTER (WHERE sealed),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY cts),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY cts),
       max(cts),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY at_lag),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY at_lag),
       max(at_lag)
  FROM lag;
