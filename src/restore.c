/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Restoring a dump of a governed database (docs/DESIGN.md, "Backup and
 *	  restore").
 *
 *	  pg_dump writes the extension's state as the data of its configuration
 *	  tables (and the ledger's sequence): COPY statements that pg_restore or
 *	  psql send after CREATE EXTENSION.  A trigger on each of those tables
 *	  recognises such a COPY (the statement the client sent is a COPY FROM
 *	  into that very table) and:
 *
 *	  - admits it only from a superuser, and only into a database whose
 *	    ledger was empty when the restoring session began (a fresh CREATE
 *	    EXTENSION): the session is then registered as restoring, in shared
 *	    memory until it ends and in governance.restores;
 *	  - lets the ledger's and the blocks' rows past the append-only guard,
 *	    for that statement only, and only into an empty table;
 *	  - replaces the key history CREATE EXTENSION recorded (which signed
 *	    nothing here) by the dump's;
 *	  - ends every lease of the dump that was live, before the COPY's rows
 *	    can be seen ('restored from a dump'): a lease is a grant to a
 *	    running agent, which the restored database has never seen;
 *	  - refuses agents whose role and governed tables whose table do not
 *	    exist here (a dump names them; an old dump may carry raw OIDs).
 *
 *	  While a session restores, and until the sealer has finished the
 *	  restore, trust is degraded and the workers wait (gov_restore_gate):
 *	  nothing is sealed, verified or expired half-way through a load.  When
 *	  the session has ended the sealer finishes it, once, in one transaction:
 *	  the ledger's sequence continues after the restored rows, the server's
 *	  key is recorded again (the restored current key when the key file or
 *	  key command supplied it, otherwise a new, unendorsed key, which keeps
 *	  trust degraded until an administrator vouches for it with
 *	  restore_trust()), each ended lease gets its revocation event, every
 *	  governed table is checked in full, and governance.restored says what
 *	  came back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "storage/lock.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common.h"
#include "encode.h"
#include "keys.h"
#include "lease_rows.h"
#include "ledger.h"
#include "restore.h"
#include "trust.h"

#define RESTORED_REASON "restored from a dump"
#define GATE_MSG_LEN 64
#define DEGRADE_LEN 512

/* ---------------------------------------------------------------------
 * The load: triggers on the extension's dumped tables
 * ---------------------------------------------------------------------
 */

/* Is the statement the client sent a COPY FROM into rel? */
static bool
restore_copy(Relation rel)
{
	PlannedStmt *ps;
	CopyStmt   *cs;

	if (ActivePortal == NULL || ActivePortal->commandTag != CMDTAG_COPY ||
		list_length(ActivePortal->stmts) != 1)
		return false;
	ps = linitial_node(PlannedStmt, ActivePortal->stmts);
	if (ps->commandType != CMD_UTILITY || ps->utilityStmt == NULL ||
		!IsA(ps->utilityStmt, CopyStmt))
		return false;
	cs = (CopyStmt *) ps->utilityStmt;
	return cs->is_from && cs->relation != NULL &&
		RangeVarGetRelid(cs->relation, NoLock, true) == RelationGetRelid(rel);
}

static bool
spi_exists(const char *sql)
{
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", sql);
	return SPI_processed > 0;
}

/*
 * This session's restore: its start, beginning it if begin (and the
 * database is fresh).  In SPI.
 */
static TimestampTz
session_restore(bool begin)
{
	int			rc;
	int			other;
	bool		isnull;
	TimestampTz started;
	Oid			find_types[] = {INT4OID, TIMESTAMPTZOID};
	Datum		find_args[] = {Int32GetDatum(MyProcPid), TimestampTzGetDatum(MyStartTimestamp)};
	Oid			insert_types[] = {TIMESTAMPTZOID, TEXTOID, INT4OID, TIMESTAMPTZOID};
	Datum		insert_args[4];

	rc = SPI_execute_with_args("SELECT started_at FROM governance.restores "
							   "WHERE backend_pid = $1 AND backend_start = $2 AND finished_at IS NULL",
							   2, find_types, find_args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.restores");
	if (SPI_processed > 0)
		return DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!begin)
		elog(ERROR, "governance: this session has no restore in progress");

	if (spi_exists("SELECT 1 FROM governance.ledger LIMIT 1") ||
		spi_exists("SELECT 1 FROM governance.ledger_blocks LIMIT 1"))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a dump of governance can be restored only into a database where the extension was just created"),
				 errdetail("governance.ledger already holds rows: a restore would mix two histories."),
				 errhint("Create a new database and restore into it (README, \"Backup and restore\").")));
	if (!gov_trust_restore_register(&other))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 other != 0 ?
				 errmsg("another session (backend %d) is restoring a dump into this database", other) :
				 errmsg("too many sessions are restoring dumps"),
				 errhint("Restore in one session: pg_restore -j is not supported.")));

	/*
	 * Announced: the workers' gates now hold every new round.  Wait for the
	 * rounds already past their gate (src/worker.c).
	 */
	{
		LOCKTAG		round;

		SET_LOCKTAG_ADVISORY(round, MyDatabaseId, 0, 0, GOV_LOCK_ROUND);
		(void) LockAcquire(&round, ExclusiveLock, true, false);
		LockRelease(&round, ExclusiveLock, true);
	}

	started = GetCurrentTimestamp();
	insert_args[0] = TimestampTzGetDatum(started);
	insert_args[1] = CStringGetTextDatum(gov_caller_name());
	insert_args[2] = Int32GetDatum(MyProcPid);
	insert_args[3] = TimestampTzGetDatum(MyStartTimestamp);
	rc = SPI_execute_with_args("INSERT INTO governance.restores (started_at, started_by, backend_pid, backend_start) "
							   "VALUES ($1, $2, $3, $4)",
							   4, insert_types, insert_args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record the restore");
	ereport(LOG,
			(errmsg("governance: a dump is being restored into this database (backend %d); "
					"trust stays degraded until the session ends and the sealer has finished the restore",
					MyProcPid)));
	return started;
}

/*
 * The tables the append-only guard protects: a dump's rows go in only
 * through a restore's own COPY, only into an empty table (the retention
 * tables of src/retention.c with the ledger and its blocks).
 */
static bool
is_guarded_table(const char *name)
{
	return strcmp(name, "ledger") == 0 || strcmp(name, "ledger_blocks") == 0 ||
		strcmp(name, "ledger_exports") == 0 || strcmp(name, "ledger_pruned") == 0 ||
		strcmp(name, "ledger_anchors") == 0;
}

/* Before a restore's COPY into name. */
static void
before_load(const char *name)
{
	if (is_guarded_table(name))
	{
		if (spi_exists(psprintf("SELECT 1 FROM governance.%s LIMIT 1", quote_identifier(name))))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("governance.%s already holds rows; a dump's are loaded only into an empty one", name)));
	}
	else if (strcmp(name, "log_identity") == 0)
	{
		/*
		 * The log id CREATE EXTENSION made has sealed nothing here (the
		 * ledger was empty when the restore began): the dump's log continues,
		 * under its own id.
		 */
		if (SPI_execute("DELETE FROM governance.log_identity", false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not clear governance.log_identity");
	}
	else if (strcmp(name, "signing_keys") == 0)
	{
		/*
		 * The key CREATE EXTENSION recorded has signed nothing here (the
		 * ledger was empty when the restore began): the dump's history
		 * replaces it, and the sealer records the server's key again when it
		 * finishes the restore.
		 */
		if (SPI_execute("DELETE FROM governance.signing_keys", false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not clear governance.signing_keys");
		gov_keys_forget_synced();
	}
}

/* After a restore's COPY into name. */
static void
after_load(const char *name, TimestampTz started)
{
	int			rc;
	uint64		i;

	if (strcmp(name, "leases") == 0)
	{
		Oid			argtypes[] = {TIMESTAMPTZOID, TEXTOID};
		Datum		values[] = {TimestampTzGetDatum(started), CStringGetTextDatum(RESTORED_REASON)};

		rc = SPI_execute_with_args("UPDATE governance.leases SET state = 'revoked', ended_at = $1, end_reason = $2 "
								   "WHERE state = 'live' RETURNING lease_id",
								   2, argtypes, values, NULL, false, 0);
		if (rc != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "could not end the restored leases");
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			gov_notify_lease_end(DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull)),
								 "revoked", RESTORED_REASON);
		}
	}
	else if (strcmp(name, "agents") == 0)
	{
		if (SPI_execute("SELECT principal, role_oid::oid::text FROM governance.agents a "
						"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = a.role_oid)",
						true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not check the restored agents");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("agent %s of the dump maps to a role that does not exist here (OID %s)",
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
					 errhint("Create the roles first (pg_dumpall --roles-only), then restore.")));
	}
	else if (strcmp(name, "governed_tables") == 0)
	{
		if (SPI_execute("SELECT relid::oid::text FROM governance.governed_tables g "
						"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = g.relid) "
						"   OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = g.root_relid)",
						true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not check the restored governed tables");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("a governed table of the dump does not exist in this database (OID %s)",
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
					 errhint("Restore the whole database, tables before data, as pg_restore and psql do.")));
	}
}

PG_FUNCTION_INFO_V1(gov_restore_load);
Datum
gov_restore_load(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	const char *name;
	TimestampTz started;
	bool		before;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("governance restore trigger must be a statement-level INSERT trigger")));
	rel = td->tg_relation;
	if (!restore_copy(rel))
		return PointerGetDatum(NULL);

	GOV_ENTRY();
	name = RelationGetRelationName(rel);
	before = TRIGGER_FIRED_BEFORE(td->tg_event);
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser can load governance.%s from a dump", name),
				 errhint("Restore a dump of a governed database as a superuser.")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot restore during recovery")));

	SPI_connect();
	started = session_restore(before);
	if (before)
		before_load(name);
	else
		after_load(name, started);
	SPI_finish();

	/* last: the command id the guard compares is the one the rows get */
	if (before && is_guarded_table(name))
		gov_ledger_restore_approve(RelationGetRelid(rel));
	return PointerGetDatum(NULL);
}

/*
 * governance._restoring(): is this session restoring a dump?  The DDL
 * guard then lets a governed table be built up in dump order (data,
 * constraints, triggers, row-level security, policies); a GRANT or REVOKE
 * is always checked in full, so no role gets at the rows before they are
 * protected.
 */
PG_FUNCTION_INFO_V1(gov_sql_restoring);
Datum
gov_sql_restoring(PG_FUNCTION_ARGS)
{
	if (!gov_preloaded)
		PG_RETURN_BOOL(false);
	if (gov_trust_restore_session(MyDatabaseId) != MyProcPid)
		PG_RETURN_BOOL(false);
	if (ActivePortal != NULL &&
		(ActivePortal->commandTag == CMDTAG_GRANT || ActivePortal->commandTag == CMDTAG_REVOKE))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(true);
}

/* ---------------------------------------------------------------------
 * The finish: the workers' gate
 * ---------------------------------------------------------------------
 */

static char degrade_buf[2][DEGRADE_LEN];

static void
ledger_degradation(const char *why)
{
	GovJson		j;

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "reason");
	gj_str(&j, why);
	gj_end_object(&j);
	gov_ledger_append_system("governance.trust.degraded", NULL, gj_finish(&j));
}

static int64
spi_int8(const char *sql)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not run \"%s\"", sql);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

static char *
spi_text(const char *sql)
{
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", sql);
	return SPI_processed == 0 ? NULL : SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Every governed table protected in full?  NULL, or what is wrong. */
static char *
governed_tables_problem(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *problem = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		if (SPI_execute("SELECT governance._check_governed_tables()", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not check the governed tables");

		/*
		 * Tables governed by 0.1 came back with its sub-select policies: give
		 * them the current form, as the upgrade does (not in the upgrade
		 * window, where the catalog has no _reform_policies()).
		 */
		if (spi_exists("SELECT 1 WHERE pg_catalog.to_regprocedure('governance._reform_policies()') IS NOT NULL") &&
			SPI_execute("SELECT governance._reform_policies()", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not reform the governed tables' policies");
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		problem = pstrdup(ed->message);
		FreeErrorData(ed);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return problem;
}

/* One revocation event per lease the load ended, in the lease's chain. */
static int64
ledger_ended_leases(TimestampTz started)
{
	SPITupleTable *tab;
	uint64		n;
	uint64		i;
	Oid			argtypes[] = {TEXTOID, TIMESTAMPTZOID};
	Datum		values[] = {CStringGetTextDatum(RESTORED_REASON), TimestampTzGetDatum(started)};

	if (SPI_execute_with_args("SELECT lease_id, principal, action, resource FROM governance.leases "
							  "WHERE end_reason = $1 AND ended_at = $2 ORDER BY issued_at, lease_id",
							  2, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the restored leases");
	tab = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		pg_uuid_t	id = *DatumGetUUIDP(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull));
		GovJson		j;
		GovEvent	ev;

		gj_init(&j);
		gj_begin_object(&j);
		gj_key(&j, "reason");
		gj_str(&j, RESTORED_REASON);
		gj_key(&j, "by");
		gj_str(&j, "restore");
		gj_key(&j, "count");
		gj_int(&j, 1);
		gj_key(&j, "ended");
		gj_begin_array(&j);
		gj_str(&j, gov_uuid_text(&id));
		gj_end_array(&j);
		gj_end_object(&j);
		memset(&ev, 0, sizeof(ev));
		ev.kind = "governance.revoke";
		ev.lease_id = &id;
		ev.principal = SPI_getvalue(tab->vals[i], tab->tupdesc, 2);
		ev.action = SPI_getvalue(tab->vals[i], tab->tupdesc, 3);
		ev.resource = SPI_getvalue(tab->vals[i], tab->tupdesc, 4);
		ev.payload = gj_finish(&j);
		ev.internal = true;
		(void) gov_ledger_append(&ev);
	}
	return (int64) n;
}

/*
 * Finish the restore that started at started (in SPI, in the sealer's
 * transaction).  Sets degrade_buf[0] (the key) and [1] (a governed
 * table) to what must degrade trust once this commits.
 */
static void
finish_one(int64 restore_id, TimestampTz started, const char *by)
{
	int64		max_seq;
	int64		seq_now;
	bool		seq_raised = false;
	char	   *restored_key;
	char	   *key = NULL;
	bool		carried = false;
	bool		unendorsed = false;
	int64		nkeys;
	int64		ended;
	char	   *problem;
	GovJson		j;
	Jsonb	   *summary;
	Oid			finish_types[] = {INT8OID, BOOLOID, JSONBOID};
	Datum		finish_args[3];

	/* the seqs continue after the restored rows (a dump of 0.1 has no setval) */
	max_seq = spi_int8("SELECT max(seq) FROM governance.ledger");
	seq_now = spi_int8("SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM governance.ledger_seq");
	if (max_seq > seq_now)
	{
		(void) spi_int8(psprintf("SELECT pg_catalog.setval('governance.ledger_seq', " INT64_FORMAT ")", max_seq));
		seq_raised = true;
	}

	/* the server's key: the restored current one, or a new one unendorsed */
	restored_key = spi_text("SELECT key_id FROM governance.signing_keys WHERE retired_at IS NULL");
	nkeys = spi_int8("SELECT count(*) FROM governance.signing_keys");
	if (gov_key_available(NULL))
	{
		key = pstrdup(gov_current_key_id());
		carried = spi_exists(psprintf("SELECT 1 FROM governance.signing_keys WHERE key_id = %s",
									  quote_literal_cstr(key)));
		unendorsed = !carried && nkeys > 0;
		gov_keys_resync();
	}

	ended = ledger_ended_leases(started);
	problem = governed_tables_problem();

	gj_init(&j);
	gj_begin_object(&j);
	gj_key(&j, "restore_started_at");
	gj_str(&j, gov_iso_timestamp(started));
	gj_key(&j, "by");
	gj_str(&j, by);
	gj_key(&j, "ledger_rows");
	gj_int(&j, spi_int8("SELECT count(*) FROM governance.ledger"));
	gj_key(&j, "last_seq");
	gj_int(&j, max_seq);
	gj_key(&j, "ledger_seq_raised");
	gj_bool(&j, seq_raised);
	gj_key(&j, "blocks");
	gj_int(&j, spi_int8("SELECT count(*) FROM governance.ledger_blocks"));
	gj_key(&j, "last_block");
	gj_int(&j, spi_int8("SELECT max(block_id) FROM governance.ledger_blocks"));
	gj_key(&j, "leases_ended");
	gj_int(&j, ended);
	gj_key(&j, "restored_key");
	gj_str(&j, restored_key);
	gj_key(&j, "signing_key");
	gj_str(&j, key);
	gj_key(&j, "key_carried");
	gj_bool(&j, carried);
	gj_key(&j, "governed_tables");
	gj_str(&j, problem ? problem : "protected");
	gj_end_object(&j);
	summary = gj_finish(&j);
	gov_ledger_append_system("governance.restored", NULL, summary);

	if (unendorsed)
	{
		snprintf(degrade_buf[0], DEGRADE_LEN,
				 "the dump was restored without its signing key: key %s is not endorsed by the restored key %s; "
				 "an administrator who vouches for it says so with governance.restore_trust()",
				 key, restored_key ? restored_key : "(none)");
		ledger_degradation(degrade_buf[0]);
	}
	if (problem)
	{
		snprintf(degrade_buf[1], DEGRADE_LEN, "a restored governed table is not protected: %s", problem);
		ledger_degradation(degrade_buf[1]);
	}

	finish_args[0] = Int64GetDatum(restore_id);
	finish_args[1] = BoolGetDatum(unendorsed);
	finish_args[2] = JsonbPGetDatum(summary);
	if (SPI_execute_with_args("UPDATE governance.restores SET finished_at = pg_catalog.now(), "
							  "key_unendorsed = $2, summary = $3 WHERE restore_id = $1",
							  3, finish_types, finish_args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the restore's finish");
	ereport(LOG,
			(errmsg("governance: restore finished: %s",
					DatumGetCString(DirectFunctionCall1(jsonb_out, JsonbPGetDatum(summary))))));
}

static void
finish_restores(void)
{
	SPITupleTable *tab;
	uint64		n;
	uint64		i;

	if (SPI_execute("SELECT restore_id, started_at, started_by FROM governance.restores "
					"WHERE finished_at IS NULL ORDER BY restore_id FOR UPDATE", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.restores");
	tab = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		finish_one(DatumGetInt64(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull)),
				   DatumGetTimestampTz(SPI_getbinval(tab->vals[i], tab->tupdesc, 2, &isnull)),
				   SPI_getvalue(tab->vals[i], tab->tupdesc, 3));
	}
}

#define KEY_PENDING_MSG \
	"a restore left a signing key that nothing endorses; an administrator who vouches for it says so with governance.restore_trust()"

static uint64 seen_epoch = 0;
static bool seen_once = false;
static bool seen_unfinished = false;
static char gate_msg[GATE_MSG_LEN];

/*
 * Before each round of each worker: wait while a session restores into
 * this database; the sealer finishes a restore once that session has
 * ended, the others wait for it.  Reads governance.restores only when a
 * restoring session started or ended since it last looked (and once after
 * the worker starts).
 */
const char *
gov_restore_gate(GovWorkerKind kind)
{
	int			pid = gov_trust_restore_session(MyDatabaseId);
	uint64		epoch;
	int64		unfinished = 0;
	bool		key_pending = false;
	int			i;

	if (pid != 0)
	{
		snprintf(gate_msg, GATE_MSG_LEN, "waiting for the restore in backend %d", pid);
		return gate_msg;
	}
	epoch = gov_trust_restore_epoch();
	if (seen_once && epoch == seen_epoch && !seen_unfinished)
		return NULL;

	degrade_buf[0][0] = degrade_buf[1][0] = '\0';
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	/* a library newer than the extension's installed version has no table yet */
	if (spi_exists("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
				   "WHERE n.nspname = 'governance' AND c.relname = 'restores'"))
	{
		unfinished = spi_int8("SELECT count(*) FROM governance.restores WHERE finished_at IS NULL");
		key_pending = spi_exists("SELECT 1 FROM governance.restores "
								 "WHERE finished_at IS NOT NULL AND key_unendorsed AND acknowledged_at IS NULL");
		if (unfinished > 0 && kind == GOV_WORKER_SEALER && !RecoveryInProgress())
		{
			finish_restores();
			unfinished = 0;
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	for (i = 0; i < 2; i++)
		if (degrade_buf[i][0])
			(void) gov_trust_degrade(degrade_buf[i]);
	if (key_pending && !RecoveryInProgress())
		(void) gov_trust_degrade(KEY_PENDING_MSG);
	gov_trust_restore_unfinished(unfinished > 0, epoch);
	seen_once = true;
	seen_epoch = epoch;
	seen_unfinished = unfinished > 0;
	if (unfinished > 0)
		return "waiting for the sealer to finish a restore";
	return NULL;
}
