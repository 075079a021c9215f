-- Objects for bench_revoke_tree (test/bench/run.sh): a lease tree built
-- with the real delegate(), then revoked at its root.  Run as the
-- superuser (a governance_admin may delegate under any lease).  Every
-- lease of the tree is on the root's resource: a delegation never widens
-- its parent.

-- The tree of one round: its root and the time it took to build.
CREATE TABLE bench_tree (round int PRIMARY KEY, root uuid NOT NULL, mids uuid[] NOT NULL);

-- Round r's root (authorized for Agent::"bench-0") and nmid children of
-- it.  A lease is live for delegation only once its transaction commits.
CREATE PROCEDURE bench_tree_root(r int, nmid int)
LANGUAGE plpgsql AS $$
DECLARE
    root uuid;
    m uuid[];
BEGIN
    SELECT a.lease_id INTO STRICT root
      FROM governance.authorize('Agent::"bench-0"', 'tree.run', 'Account::"0"', bench_context(), '1 hour') AS a
     WHERE a.decision = 'allow';
    COMMIT;
    SELECT array_agg(d.lease_id) INTO m
      FROM generate_series(1, nmid) AS i,
           governance.delegate(root, format('Agent::"bench-%s"', i % 128), 'tree.run',
                               'Account::"0"', bench_context(), '1 hour') AS d
     WHERE d.decision = 'allow';
    IF coalesce(array_length(m, 1), 0) <> nmid THEN
        RAISE EXCEPTION 'bench: delegate() did not allow the tree';
    END IF;
    INSERT INTO bench_tree VALUES (r, root, m);
    COMMIT;
END
$$;

-- The leaves: nleaf children under each middle lease whose position in
-- the array is part (mod nparts), one transaction per middle lease (a
-- transaction holds one ledger chain lock per lease it creates, and the
-- lock table is finite).  Run nparts of these concurrently.
CREATE PROCEDURE bench_tree_leaves(r int, nleaf int, part int, nparts int)
LANGUAGE plpgsql AS $$
DECLARE
    m uuid[];
    i int;
    n int;
BEGIN
    SELECT mids INTO STRICT m FROM bench_tree WHERE round = r;
    FOR i IN 1 .. array_length(m, 1) LOOP
        CONTINUE WHEN i % nparts <> part;
        SELECT count(*) INTO n
          FROM generate_series(1, nleaf) AS k,
               governance.delegate(m[i], format('Agent::"bench-%s"', k % 128), 'tree.run',
                                   'Account::"0"', bench_context(), '1 hour') AS d
         WHERE d.decision = 'allow';
        IF n <> nleaf THEN
            RAISE EXCEPTION 'bench: delegate() did not allow the tree';
        END IF;
        COMMIT;
    END LOOP;
END
$$;
