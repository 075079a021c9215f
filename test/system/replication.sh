#!/bin/sh
# Replication-safe policy and entity versions (issue 15, item 4;
# docs/SCALING.md): governance.policies and governance.entities are
# replicated logically (PUBLICATION / SUBSCRIPTION) from cluster A to
# cluster B.  PostgreSQL's apply worker fires row triggers only, never the
# statement triggers a local change fires; a decision on B must still see
# every applied change at its next decision, in a session that has the old
# policies and entities cached: a new forbid, a changed entity attribute,
# a dropped forbid, a truncated entity table.  Also: the initial copy is seen, and the apply worker's
# changes reach the shared generation (no session on B reloads by chance:
# the same session decides before and after).  And names, not OIDs (issue
# 15, item 5): governance.agents is replicated too, into a cluster whose
# roles have other OIDs; its regrole column travels as the role's name, so
# B's agent is the role of the same name, and authorize() there works.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/common.sh"
W=$(gov_tmpdir)
A="$W/a"
B="$W/b"
trap 'gov_stop "$B"; gov_stop "$A"' EXIT

$SYS_PYTHON -c 'import psycopg' 2>/dev/null ||
	{ echo "not ok - python3-psycopg is needed (Debian package)"; exit 1; }

gov_new_cluster "$A" "wal_level = logical" || exit 1
gov_new_cluster "$B" || exit 1
gov_start "$A" || exit 1
gov_start "$B" || exit 1

# A: the extension, a permit, a forbid on frozen resources, one entity
gov_psql "$A" >/dev/null <<'SQL' || { echo "not ok - setup of A"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION governance;
SELECT NULL FROM governance.create_policy('rp_permit',
    'permit (principal == Agent::"rp-bot", action == Action::"rp.read", resource);');
SELECT NULL FROM governance.create_policy('rp_frozen',
    'forbid (principal, action, resource) when { resource has frozen && resource.frozen };');
SELECT governance.put_entity('Doc::"1"', '{}', '{"frozen": false}');
CREATE ROLE rp_bot LOGIN IN ROLE governance_agent;
SELECT governance.register_agent('Agent::"rp-bot"', 'rp_bot');
CREATE PUBLICATION rp_pub FOR TABLE governance.policies, governance.entities, governance.agents;
SQL
gov_ok 0 "A: the extension, two policies, an entity, a publication of policies and entities"

gov_psql "$B" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION governance;
-- other roles first: rp_bot gets another OID than on A
CREATE ROLE rp_other1; CREATE ROLE rp_other2; CREATE ROLE rp_other3;
CREATE ROLE rp_bot LOGIN IN ROLE governance_agent;
CREATE SUBSCRIPTION rp_sub CONNECTION 'host=$A port=5432 dbname=postgres user=$GOV_DBUSER'
    PUBLICATION rp_pub;
SQL
gov_ok $? "B: the extension and a subscription to A's policies and entities"

$SYS_PYTHON - "$A" "$B" "$GOV_DBUSER" <<'PY'
import sys
import time
import psycopg

a_host, b_host, user = sys.argv[1:4]
a = psycopg.connect(host=a_host, port=5432, user=user, dbname="postgres", autocommit=True)
b_watch = psycopg.connect(host=b_host, port=5432, user=user, dbname="postgres", autocommit=True)
# the session whose caches must follow the replicated changes
b = psycopg.connect(host=b_host, port=5432, user=user, dbname="postgres", autocommit=True)


def ok(cond, what):
    print(("ok - " if cond else "not ok - ") + what)


def wait_applied(sql, want, secs=30):
    """Poll B (another session) until sql returns want."""
    deadline = time.time() + secs
    while time.time() < deadline:
        if b_watch.execute(sql).fetchone()[0] == want:
            return True
        time.sleep(0.05)
    return False


def decide(resource):
    # "applied" is the apply transaction complete, its commit callbacks
    # included, which the polling session cannot observe: allow it 100 ms
    time.sleep(0.1)
    return b.execute("SELECT decision FROM governance.decide('Agent::\"rp-bot\"', 'rp.read', %s)",
                     (resource,)).fetchone()[0]


ok(wait_applied("SELECT count(*) FROM governance.policies", 2),
   "the initial copy brings both policies to B")
ok(wait_applied("SELECT count(*) FROM governance.entities", 1), "and the entity")
ok(decide('Doc::"1"') == "allow" and decide('Doc::"2"') == "allow",
   "B decides: allow (and has the policies and the entity cached now)")
ok(decide('Doc::"2"') == "allow", "B decides again from its cache: allow")

# a new forbid on A
a.execute("SELECT governance.create_policy('rp_forbid_2', "
          "'forbid (principal, action, resource == Doc::\"2\");')")
ok(wait_applied("SELECT count(*) FROM governance.policies WHERE name = 'rp_forbid_2'", 1),
   "a forbid created on A is applied on B")
ok(decide('Doc::"2"') == "deny", "B's next decision in the same session denies (a replicated INSERT)")
ok(decide('Doc::"1"') == "allow", "and another resource is still allowed")

# an entity attribute changed on A
a.execute("SELECT governance.put_entity('Doc::\"1\"', '{}', '{\"frozen\": true}')")
ok(wait_applied("SELECT (attrs->>'frozen')::boolean FROM governance.entities WHERE uid = 'Doc::\"1\"'", True),
   "an entity changed on A is applied on B")
ok(decide('Doc::"1"') == "deny", "B's next decision denies (a replicated UPDATE of an entity)")

# the forbid dropped on A
a.execute("SELECT governance.drop_policy('rp_forbid_2')")
ok(wait_applied("SELECT count(*) FROM governance.policies WHERE name = 'rp_forbid_2'", 0),
   "a forbid dropped on A is gone on B")
ok(decide('Doc::"2"') == "allow", "B's next decision allows again (a replicated DELETE)")

# agents by name: the role's OID differs, the name is what arrived
oid_a = a.execute("SELECT 'rp_bot'::regrole::oid").fetchone()[0]
oid_b = b.execute("SELECT 'rp_bot'::regrole::oid").fetchone()[0]
ok(wait_applied("SELECT count(*) FROM governance.agents WHERE principal = 'Agent::\"rp-bot\"'", 1)
   and oid_a != oid_b, "the agent is applied on B, where its role has another OID (%s on A, %s on B)" % (oid_a, oid_b))
ok(b.execute("SELECT role_oid::oid = 'rp_bot'::regrole::oid FROM governance.agents "
             "WHERE principal = 'Agent::\"rp-bot\"'").fetchone()[0],
   "B's agents row names B's rp_bot (the regrole travelled as a name, not A's OID)")
bot = psycopg.connect(host=b_host, port=5432, user="rp_bot", dbname="postgres", autocommit=True)
time.sleep(0.1)
ok(bot.execute("SELECT decision FROM governance.authorize('Agent::\"rp-bot\"', 'rp.read', 'Doc::\"3\"')").fetchone()[0]
   == "allow", "rp_bot on B may act as the principal, and is allowed by the replicated policies")
ok(bot.execute("SELECT decision FROM governance.authorize('Agent::\"rp-bot\"', 'rp.read', 'Doc::\"1\"')").fetchone()[0]
   == "deny", "and denied by the replicated entity change")

# the policy-set hash B reports is that of its current policies
ok(b.execute("SELECT governance.policy_set_hash()").fetchone()[0] ==
   a.execute("SELECT governance.policy_set_hash()").fetchone()[0],
   "B's policy-set hash equals A's")

# a TRUNCATE (replicated as such; the apply worker fires TRUNCATE's
# statement triggers): the frozen attribute is gone with the entity
ok(decide('Doc::"1"') == "deny", "(B still denies the frozen resource)")
a.execute("TRUNCATE governance.entities")
ok(wait_applied("SELECT count(*) FROM governance.entities", 0), "a TRUNCATE of the entities on A is applied on B")
ok(decide('Doc::"1"') == "allow", "B's next decision no longer sees the frozen attribute (a replicated TRUNCATE)")
PY
