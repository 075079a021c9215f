/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  The policy engine in the backend (design decision D9): the policies
 *	  and entities tables, per-backend caches of compiled policies and of
 *	  entities, the shared change counter, gov_policy_decide() and the SQL
 *	  functions create_policy, replace_policy, drop_policy, put_entity,
 *	  delete_entity, explain, decide and policy_set_hash.
 *
 *	  The language is policy_lang.c's; this file only feeds it.  jsonb
 *	  context and attributes become policy values (objects are records,
 *	  arrays sets, {"__entity": "T::\"id\""} an entity reference; see
 *	  docs/POLICY.md), and entity lookups come back here through a
 *	  callback.
 *
 *	  Change visibility protocol
 *	  --------------------------
 *	  D9 requires that a policy or entity change be seen by the very next
 *	  decision in every backend.  Shared memory holds one 64-bit generation
 *	  counter.  A statement trigger on governance.policies and
 *	  governance.entities marks the transaction as changing them (so even a
 *	  superuser's direct DML counts), and the transaction's COMMIT callback
 *	  increments the counter.  A row trigger does the same, for logical
 *	  replication's apply worker, which fires row triggers only (both are
 *	  ENABLE ALWAYS, so session_replication_role = replica, the apply
 *	  worker's, does not switch them off): a policy replicated from another
 *	  node is seen by the next decision here (docs/SCALING.md).  PostgreSQL calls that callback after
 *	  ProcArrayEndTransaction(), so by the time the counter moves, every
 *	  new snapshot includes the commit; and COMMIT returns to the client
 *	  only after the callback, so any decision that starts after the
 *	  client saw the commit reads the new value.
 *
 *	  A decision first reads the counter, then, if it moved (or this
 *	  backend's relcache saw the tables change), drops its caches and
 *	  reloads what it needs, always with a fresh snapshot
 *	  (GetLatestSnapshot): the caller's own snapshot may be older
 *	  (REPEATABLE READ), and caching data older than the counter value it
 *	  is filed under would hide a change forever.  Reading the counter
 *	  before the data errs only towards reloading once too often.
 *
 *	  While the current transaction itself has changed policies or
 *	  entities, nothing is trusted from one decision to the next (its own
 *	  changes may yet roll back, in part through savepoints), and on a hot
 *	  standby, where replayed commits run no callbacks, the caches are not
 *	  used at all.  PREPARE TRANSACTION is refused for a changing
 *	  transaction, since COMMIT PREPARED would run no callback of ours.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "cedar_schema.h"
#include "crypto.h"
#include "encode.h"
#include "common.h"
#include "ledger.h"
#include "policy.h"
#include "policy_lang.h"
#include "xact_defer.h"

int			gov_max_entity_depth = 32;
int			gov_max_policy_size = 256;	/* kB */

/* policy names: short, and safe to show anywhere */

/* drop the entity cache when it grows past this many entries or bytes */
#define ENTITY_CACHE_MAX	65536
#define ENTITY_CACHE_BYTES	((Size) 64 * 1024 * 1024)

/* scratch memory one decision may use */
#define DECISION_ARENA_LIMIT	((size_t) 256 * 1024 * 1024)

/* ---------------------------------------------------------------------
 * Shared state and GUCs
 * ---------------------------------------------------------------------
 */

typedef struct GovPolicyShared
{
	pg_atomic_uint64 generation;
} GovPolicyShared;

static GovPolicyShared *policy_shared = NULL;

Size
gov_policy_shmem_size(void)
{
	return MAXALIGN(sizeof(GovPolicyShared));
}

void
gov_policy_shmem_startup(void)
{
	bool		found;

	policy_shared = ShmemInitStruct("governance policy", sizeof(GovPolicyShared), &found);
	if (!found)
		pg_atomic_init_u64(&policy_shared->generation, 1);
}

void
gov_policy_define_gucs(void)
{
	/*
	 * SIGHUP, not USERSET: every backend must reach the same decision for the
	 * same request, so no session may tune the semantics for itself.
	 */
	DefineCustomIntVariable("governance.max_entity_depth",
							"Parent hops that \"in\" follows through the entity hierarchy.",
							"Beyond this depth, membership that is not already established is an evaluation error.",
							&gov_max_entity_depth,
							32, 0, 1024,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("governance.max_subtree_resources",
							"Most resources one subtree lease may cover (its root and the entities within it).",
							"A subtree larger than this is refused by authorize() and delegate(), and a statement "
							"under a lease whose subtree grew beyond it fails rather than cover part of it.",
							&gov_max_subtree_resources,
							100000, 1, 10000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("governance.max_policy_size",
							"Largest policy source create_policy accepts.",
							NULL,
							&gov_max_policy_size,
							256, 1, 16 * 1024,
							PGC_SIGHUP,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Per-backend caches
 * ---------------------------------------------------------------------
 */

typedef struct CachedPolicy
{
	char	   *name;
	char	   *source;
	bool		permit;
	GovPolicy  *compiled;		/* NULL when the stored source does not parse */
	char	   *compile_error;
	char	   *annot_text;		/* gov_policy_annotations(); NULL: none */
	char	   *annot_json;
	MemoryContext cxt;			/* holds all of the above */
} CachedPolicy;

static MemoryContext policy_cxt = NULL;
static CachedPolicy *cached = NULL;
static int	ncached = 0;
static uint8 cached_hash[GOV_HASH_LEN];
static bool cache_valid = false;

/* the Cedar schema for request validation, reloaded with the caches */
static MemoryContext schema_cxt = NULL;
static GovSchema *schema_cached = NULL;
static bool schema_loaded = false;
static uint64 cache_generation = 0;
static Oid	cache_policies_relid = InvalidOid;
static Oid	cache_entities_relid = InvalidOid;
static Oid	cache_owner = InvalidOid;

typedef struct EntKey
{
	const char *p;
	uint32		len;
} EntKey;

typedef struct EntEntry
{
	EntKey		key;			/* points into entity_cxt */
	bool		exists;
	GovPolEntity ent;
} EntEntry;

static MemoryContext entity_cxt = NULL;
static HTAB *entity_cache = NULL;
static long entity_count = 0;

/*
 * Per decision: decision_cxt (reset at the start of each) holds the
 * converted context; the evaluator's scratch arena lives in its own
 * context and is reset rather than freed, so that its first chunk, big
 * enough for ordinary requests, is reused.
 */
static MemoryContext decision_cxt = NULL;
static MemoryContext scratch_cxt = NULL;
static GovPolArena scratch_arena;
#define SCRATCH_CHUNK	(64 * 1024)

/* total bytes of the cached policy names, NULs included */
static Size cached_names_len = 0;

static int	changed_level = 0;	/* nest level of the last change, 0: none */

int			gov_max_subtree_resources = 100000;

/*
 * The entities within a subtree root, per root, as of a policy generation
 * (gov_policy_subtree).  At most SUBTREE_CACHE_MAX roots; all are dropped
 * when the generation moves or the cache is full.
 */
typedef struct SubtreeEntry
{
	char	   *root;
	uint64		generation;
	int			n;
	char	  **uids;
} SubtreeEntry;

#define SUBTREE_CACHE_MAX 16
static MemoryContext subtree_cxt = NULL;
static SubtreeEntry subtree_cache[SUBTREE_CACHE_MAX];
static int	nsubtree = 0;
static SPIPlanPtr plan_subtree = NULL;
static bool callbacks_registered = false;

static SPIPlanPtr plan_policies = NULL;
static SPIPlanPtr plan_entity = NULL;

static uint32
entkey_hash(const void *key, Size keysize)
{
	const EntKey *k = key;

	return hash_bytes((const unsigned char *) k->p, (int) k->len);
}

static int
entkey_match(const void *a, const void *b, Size keysize)
{
	const EntKey *x = a;
	const EntKey *y = b;

	if (x->len != y->len)
		return 1;
	return x->len == 0 ? 0 : memcmp(x->p, y->p, x->len);
}

static void *
entkey_copy(void *dest, const void *src, Size keysize)
{
	memcpy(dest, src, sizeof(EntKey));
	return dest;
}

static void
entity_cache_reset(void)
{
	HASHCTL		ctl;

	if (entity_cxt == NULL)
		entity_cxt = AllocSetContextCreate(TopMemoryContext,
										   "governance entity cache",
										   ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(entity_cxt);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(EntKey);
	ctl.entrysize = sizeof(EntEntry);
	ctl.hash = entkey_hash;
	ctl.match = entkey_match;
	ctl.keycopy = entkey_copy;
	ctl.hcxt = entity_cxt;
	entity_cache = hash_create("governance entity cache", 256, &ctl,
							   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE |
							   HASH_KEYCOPY | HASH_CONTEXT);
	entity_count = 0;
}

/* Relcache says one of our tables changed (or everything did): reload. */
static void
policy_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cache_policies_relid ||
		relid == cache_entities_relid)
		cache_valid = false;
}

/*
 * A change to policies or entities is announced to every backend (the
 * shared generation moves) when its transaction commits, durably: a new
 * forbid lost to a crash would turn denies back into allows.  A rollback,
 * of the transaction or of the savepoint that made the change, only
 * drops this backend's cache, which may hold the undone change.
 */
static void
policy_change_commit(void *arg)
{
	pg_atomic_fetch_add_u64(&policy_shared->generation, 1);
	changed_level = 0;
	cache_valid = false;
}

static void
policy_change_abort(void *arg)
{
	changed_level = 0;
	cache_valid = false;
}

static const GovXactOps policy_change_ops = {
	.what = "changed governance policies or entities",
	.prepare_detail = "Other backends learn of such changes when the transaction commits, which COMMIT PREPARED would not tell them.",
	.commit = policy_change_commit,
	.abort = policy_change_abort,
};

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	CacheRegisterRelcacheCallback(policy_relcache_callback, (Datum) 0);
	callbacks_registered = true;
}

void
gov_policy_mark_changed(void)
{
	register_callbacks();
	/* one per savepoint level, so that rolling back to it drops the cache */
	if (changed_level != GetCurrentTransactionNestLevel())
	{
		gov_xact_defer(&policy_change_ops, NULL);
		gov_xact_require_durable_commit();
		changed_level = GetCurrentTransactionNestLevel();
	}
	cache_valid = false;
}

/*
 * AFTER ... FOR EACH STATEMENT on governance.policies and
 * governance.entities: whoever changes them, other backends must hear of
 * it at commit.
 */
PG_FUNCTION_INFO_V1(gov_policy_changed);
Datum
gov_policy_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function can only be called as a trigger")));
	gov_policy_mark_changed();
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * Reading the tables
 * ---------------------------------------------------------------------
 */

/*
 * Reads run as the tables' owner, so that whoever calls
 * gov_policy_decide() (a SECURITY DEFINER function or not) sees the same
 * policies, and with a fresh snapshot (see the protocol above).
 */
typedef struct AsOwner
{
	Oid			save_userid;
	int			save_sec;
} AsOwner;

static void
as_owner_begin(AsOwner *s)
{
	GetUserIdAndSecContext(&s->save_userid, &s->save_sec);
	SetUserIdAndSecContext(cache_owner, s->save_sec | SECURITY_LOCAL_USERID_CHANGE);
}

static void
as_owner_end(AsOwner *s)
{
	SetUserIdAndSecContext(s->save_userid, s->save_sec);
}

static Oid
rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

static void *
cxt_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size, MCXT_ALLOC_NO_OOM);
}

static void
cxt_release(void *ctx, void *ptr)
{
	pfree(ptr);
}

void
gov_policy_arena_in_context(GovPolArena *a, MemoryContext cxt, size_t limit)
{
	GovPolAllocator al;

	al.alloc = cxt_alloc;
	al.release = cxt_release;
	al.ctx = cxt;
	gov_pol_arena_init(a, &al, limit);
}

size_t
gov_policy_compile_limit(size_t srclen)
{
	size_t		limit = srclen * 64 + 1024 * 1024;

	return Min(limit, (size_t) 512 * 1024 * 1024);
}

/* Compile a stored policy into its own memory context. */
static void
compile_cached(CachedPolicy *cp, const char *name, const char *source, bool permit)
{
	GovPolArena arena;
	GovPolError err;
	MemoryContext old;

	cp->cxt = AllocSetContextCreate(policy_cxt, "governance policy",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cp->cxt);
	cp->name = pstrdup(name);
	cp->source = pstrdup(source);
	cp->permit = permit;
	cp->compile_error = NULL;
	cp->annot_text = NULL;
	cp->annot_json = NULL;
	gov_policy_arena_in_context(&arena, cp->cxt, gov_policy_compile_limit(strlen(source)));
	if (!gov_pol_parse(&arena, source, strlen(source), &cp->compiled, &err))
	{
		cp->compiled = NULL;
		cp->compile_error = psprintf("stored policy does not compile: %s", err.message);
	}
	else if (gov_pol_is_permit(cp->compiled) != permit)
	{
		/* the effect column disagrees with the source: trust neither */
		cp->compiled = NULL;
		cp->compile_error = pstrdup("stored effect does not match the policy source");
	}
	else
		gov_policy_annotations(cp->compiled, &cp->annot_text, &cp->annot_json);
	MemoryContextSwitchTo(old);
}

static void
compute_set_hash(const CachedPolicy *pols, int n, uint8 *out)
{
	GovEnc		e;
	int			i;

	gov_enc_init(&e, GOV_TAG_POLICY_SET);
	for (i = 0; i < n; i++)
	{
		gov_enc_text(&e, pols[i].name);
		gov_enc_text(&e, pols[i].source);
	}
	gov_blake2b_512(e.buf.data, e.buf.len, out);
	gov_enc_free(&e);
}

/*
 * Read every policy with a fresh snapshot and rebuild the cache, reusing
 * the compiled form of each policy whose source is unchanged.
 */
static void
reload_policies(void)
{
	typedef struct Row
	{
		char	   *name;
		char	   *source;
		bool		permit;
	} Row;
	Row		   *rows = NULL;
	int			nrows;
	int			i;
	int			j;
	AsOwner		own;
	MemoryContext caller = CurrentMemoryContext;
	CachedPolicy *fresh;
	bool	   *reused;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	as_owner_begin(&own);
	if (plan_policies == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT name, source, effect OPERATOR(pg_catalog.=) 'permit'"
									"  FROM governance.policies"
									" ORDER BY name COLLATE pg_catalog.\"C\"",
									0, NULL);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the policy query: %s",
				 SPI_result_code_string(SPI_result));
		plan_policies = p;
	}
	if (SPI_execute_snapshot(plan_policies, NULL, NULL, GetLatestSnapshot(),
							 InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.policies");
	as_owner_end(&own);

	nrows = (int) SPI_processed;
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		rows = palloc(sizeof(Row) * (nrows + 1));
		for (i = 0; i < nrows; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		d;

			d = SPI_getbinval(tup, desc, 1, &isnull);
			rows[i].name = isnull ? pstrdup("") : TextDatumGetCString(d);
			d = SPI_getbinval(tup, desc, 2, &isnull);
			rows[i].source = isnull ? pstrdup("") : TextDatumGetCString(d);
			d = SPI_getbinval(tup, desc, 3, &isnull);
			/* an unknown effect is treated as forbid: it can only deny */
			rows[i].permit = !isnull && DatumGetBool(d);
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	if (policy_cxt == NULL)
		policy_cxt = AllocSetContextCreate(TopMemoryContext,
										   "governance policy cache",
										   ALLOCSET_DEFAULT_SIZES);

	fresh = MemoryContextAllocZero(policy_cxt, sizeof(CachedPolicy) * (nrows + 1));
	reused = palloc0(sizeof(bool) * (ncached + 1));

	/* both lists are in name order: walk them together */
	j = 0;
	for (i = 0; i < nrows; i++)
	{
		while (j < ncached && strcmp(cached[j].name, rows[i].name) < 0)
			j++;
		if (j < ncached && strcmp(cached[j].name, rows[i].name) == 0 &&
			strcmp(cached[j].source, rows[i].source) == 0 &&
			cached[j].permit == rows[i].permit)
		{
			fresh[i] = cached[j];
			reused[j] = true;
			j++;
		}
		else
			compile_cached(&fresh[i], rows[i].name, rows[i].source, rows[i].permit);
	}
	for (j = 0; j < ncached; j++)
		if (!reused[j])
			MemoryContextDelete(cached[j].cxt);
	if (cached)
		pfree(cached);
	cached = fresh;
	ncached = nrows;
	cached_names_len = 0;
	for (i = 0; i < ncached; i++)
		cached_names_len += strlen(cached[i].name) + 1;
	compute_set_hash(cached, ncached, cached_hash);
}

/*
 * Make the caches current: see the protocol at the top of the file.  Called
 * at the start of every decision, never in the middle of one (evaluation
 * holds pointers into the caches).
 */
void
gov_policy_cache_check(void)
{
	uint64		gen;

	register_callbacks();
	gen = pg_atomic_read_u64(&policy_shared->generation);

	if (cache_valid && gen == cache_generation && changed_level == 0 &&
		entity_count < ENTITY_CACHE_MAX &&
		MemoryContextMemAllocated(entity_cxt, true) < ENTITY_CACHE_BYTES)
		return;

	cache_policies_relid = gov_relid("policies");
	cache_entities_relid = gov_relid("entities");
	cache_owner = rel_owner(cache_policies_relid);

	entity_cache_reset();
	reload_policies();
	/* set_schema() moves the generation too (gov_policy_mark_changed) */
	schema_loaded = false;
	cache_generation = gen;
	cache_valid = changed_level == 0 && !RecoveryInProgress();
}

/* ---------------------------------------------------------------------
 * Request validation against the Cedar schema (issue 17)
 * ---------------------------------------------------------------------
 */

/*
 * Read and parse governance.cedar_schema into schema_cxt (NULL when none is
 * set, or in the upgrade window before the table exists).  No lock: a
 * decision reads the schema as it reads the policies, as of its snapshot.
 */
static void
load_request_schema(void)
{
	AsOwner		own;
	char	   *src = NULL;
	size_t		len = 0;
	Oid			nsp = gov_schema_oid();
	GovPolArena arena;
	GovPolError err;
	GovSchema  *schema;

	if (schema_cxt == NULL)
		schema_cxt = AllocSetContextCreate(TopMemoryContext, "governance request schema",
										   ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(schema_cxt);
	schema_cached = NULL;
	schema_loaded = false;
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("cedar_schema", nsp)))
	{
		schema_loaded = true;
		return;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	as_owner_begin(&own);
	if (SPI_execute("SELECT source FROM governance.cedar_schema", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.cedar_schema");
	as_owner_end(&own);
	if (SPI_processed > 0)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v != NULL)
		{
			len = strlen(v);
			src = MemoryContextStrdup(schema_cxt, v);
		}
	}
	SPI_finish();
	if (src != NULL)
	{
		gov_policy_arena_in_context(&arena, schema_cxt, gov_policy_compile_limit(len));
		if (!gov_sch_parse(&arena, src, len, &schema, &err))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the stored Cedar schema does not parse: %s", err.message)));
		schema_cached = schema;
	}
	schema_loaded = true;
}

bool
gov_policy_check_request(const GovRequest *req, char **why)
{
	GovPolValue context;
	GovPolError err;
	MemoryContext tmp;
	MemoryContext old;
	bool		ok;

	*why = NULL;
	gov_policy_cache_check();
	if (!schema_loaded)
		load_request_schema();
	if (schema_cached == NULL)
		return true;
	tmp = AllocSetContextCreate(CurrentMemoryContext, "governance request check",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(tmp);
	memset(&context, 0, sizeof(context));
	context.kind = GOV_POL_RECORD;
	if (req->context)
		gov_policy_jsonb_to_value(req->context, &context);
	ok = gov_sch_check_request(schema_cached, req->principal, req->action, req->resource,
							   &context, &err);
	MemoryContextSwitchTo(old);
	if (!ok)
		*why = pstrdup(err.message);
	MemoryContextDelete(tmp);
	return ok;
}

/* ---------------------------------------------------------------------
 * The entity store, as the language core sees it
 * ---------------------------------------------------------------------
 */

static void
load_entity(const char *uid, uint32 len, EntEntry *e)
{
	AsOwner		own;
	Datum		arg;
	MemoryContext caller = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	as_owner_begin(&own);
	if (plan_entity == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};

		/*
		 * tags through to_jsonb(): the column is new in 0.2, and this library
		 * must also decide in the window before ALTER EXTENSION UPDATE adds
		 * it (README, "Upgrading")
		 */
		SPIPlanPtr	p = SPI_prepare("SELECT parents, attrs,"
									" pg_catalog.to_jsonb(e) OPERATOR(pg_catalog.->) 'tags'"
									" FROM governance.entities e"
									" WHERE uid OPERATOR(pg_catalog.=) $1",
									1, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the entity query: %s",
				 SPI_result_code_string(SPI_result));
		plan_entity = p;
	}
	arg = PointerGetDatum(cstring_to_text_with_len(uid, (int) len));
	if (SPI_execute_snapshot(plan_entity, &arg, NULL, GetLatestSnapshot(),
							 InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.entities");
	as_owner_end(&own);

	memset(e, 0, sizeof(EntEntry));
	{
		MemoryContext spi = MemoryContextSwitchTo(entity_cxt);
		char	   *key = palloc(len + 1);

		memcpy(key, uid, len);
		key[len] = '\0';
		e->key.p = key;
		e->key.len = len;

		if (SPI_processed > 0)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		d;

			e->exists = true;
			d = SPI_getbinval(tup, desc, 1, &isnull);
			if (!isnull)
			{
				ArrayType  *arr = DatumGetArrayTypePCopy(d);
				Datum	   *elems;
				bool	   *nulls;
				int			nelems;
				int			i;
				GovPolStr  *parents;
				uint32		np = 0;

				deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
								  &elems, &nulls, &nelems);
				parents = palloc(sizeof(GovPolStr) * (nelems + 1));
				for (i = 0; i < nelems; i++)
				{
					text	   *t;

					if (nulls[i])
						continue;
					t = DatumGetTextPP(elems[i]);
					parents[np].p = text_to_cstring(t);
					parents[np].len = VARSIZE_ANY_EXHDR(t);
					np++;
				}
				e->ent.parents = parents;
				e->ent.nparents = np;
			}
			d = SPI_getbinval(tup, desc, 2, &isnull);
			if (!isnull)
			{
				Jsonb	   *jb = DatumGetJsonbPCopy(d);
				GovPolValue *attrs = palloc(sizeof(GovPolValue));

				gov_policy_jsonb_to_value(jb, attrs);
				e->ent.attrs = attrs->kind == GOV_POL_RECORD ? attrs : NULL;
			}
			d = SPI_getbinval(tup, desc, 3, &isnull);
			if (!isnull)
			{
				Jsonb	   *jb = DatumGetJsonbPCopy(d);
				GovPolValue *tags = palloc(sizeof(GovPolValue));

				gov_policy_jsonb_to_value(jb, tags);
				e->ent.tags = tags->kind == GOV_POL_RECORD && tags->u.rec.n > 0 ? tags : NULL;
			}
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);
}

static const GovPolEntity *
entity_lookup(void *arg, const char *uid, uint32_t len)
{
	EntKey		key;
	EntEntry   *e;
	EntEntry	loaded;
	bool		found;

	key.p = uid;
	key.len = len;
	e = hash_search(entity_cache, &key, HASH_FIND, NULL);
	if (e == NULL)
	{
		load_entity(uid, len, &loaded);
		e = hash_search(entity_cache, &loaded.key, HASH_ENTER, &found);
		*e = loaded;
		entity_count++;
	}
	return e->exists ? &e->ent : NULL;
}

/* ---------------------------------------------------------------------
 * Deciding
 * ---------------------------------------------------------------------
 */



static const char *
request_problem(const GovRequest *req)
{
	if (!gov_valid_uid(req->principal))
		return "invalid request: the principal is not an entity uid Type::\"id\"";
	if (!gov_valid_uid(req->action))
		return "invalid request: the action is not an entity uid Type::\"id\"";
	if (!gov_valid_uid(req->resource))
		return "invalid request: the resource is not an entity uid Type::\"id\"";
	if (req->context != NULL && !JB_ROOT_IS_OBJECT(req->context))
		return "invalid request: the context is not a JSON object";
	return NULL;
}

static GovPolStr
polstr(const char *s)
{
	GovPolStr	r;

	r.p = s;
	r.len = (uint32) strlen(s);
	return r;
}

/* Current caches, and the per-decision memory emptied. */
static void
decision_begin(void)
{
	gov_policy_cache_check();

	if (decision_cxt == NULL)
	{
		decision_cxt = AllocSetContextCreate(TopMemoryContext,
											 "governance policy decision",
											 ALLOCSET_DEFAULT_SIZES);
		scratch_cxt = AllocSetContextCreate(TopMemoryContext,
											"governance policy scratch",
											ALLOCSET_DEFAULT_SIZES);
		gov_policy_arena_in_context(&scratch_arena, scratch_cxt, DECISION_ARENA_LIMIT);
		scratch_arena.chunk_size = SCRATCH_CHUNK;
	}
	MemoryContextReset(decision_cxt);
	gov_pol_arena_reset(&scratch_arena);
}

/* A policy as reasons name it: "name", then its annotations if any. */
static char *
label(const GovPolicyOutcome *o)
{
	return o->annotations ? psprintf("\"%s\" %s", o->policy, o->annotations)
		: psprintf("\"%s\"", o->policy);
}

void
gov_policy_decide(const GovRequest *req, GovDecision *out)
{
	const char *problem;
	GovPolSession *session = NULL;
	char	   *names;
	GovPolRequest preq;
	GovPolValue context;
	GovPolicyOutcome *outs;
	List	   *overridden = NIL;
	List	   *not_applied = NIL;
	bool		any_forbid = false;
	int			i;
	ListCell   *lc;

	GOV_ENTRY();
	decision_begin();

	memset(out, 0, sizeof(GovDecision));
	memcpy(out->policy_set_hash, cached_hash, GOV_HASH_LEN);

	problem = request_problem(req);
	if (problem == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(decision_cxt);

		if (req->context)
			gov_policy_jsonb_to_value(req->context, &context);
		else
		{
			context.kind = GOV_POL_RECORD;
			context.u.rec.fields = NULL;
			context.u.rec.n = 0;
		}
		MemoryContextSwitchTo(old);

		memset(&preq, 0, sizeof(preq));
		preq.principal = polstr(req->principal);
		preq.action = polstr(req->action);
		preq.resource = polstr(req->resource);
		preq.context = &context;
		preq.lookup = entity_lookup;
		preq.lookup_arg = NULL;
		preq.max_entity_depth = gov_max_entity_depth;
		session = gov_pol_session_new(&scratch_arena, &preq);
		if (session == NULL)
			problem = "out of memory while evaluating";
	}

	outs = palloc(sizeof(GovPolicyOutcome) * (ncached + 1));
	names = palloc(cached_names_len + 1);
	for (i = 0; i < ncached; i++)
	{
		CachedPolicy *cp = &cached[i];
		GovPolicyOutcome *o = &outs[i];
		const char *err = NULL;
		GovPolResult r;

		CHECK_FOR_INTERRUPTS();
		if (problem)
		{
			r = GOV_POL_ERROR;
			err = problem;
		}
		else if (cp->compiled == NULL)
		{
			r = GOV_POL_ERROR;
			err = cp->compile_error;
		}
		else
			r = gov_pol_evaluate(session, cp->compiled, &err);

		o->policy = names;
		strcpy(names, cp->name);
		names += strlen(names) + 1;
		o->permit = cp->permit;
		o->matched = (r == GOV_POL_MATCH);
		o->error = r == GOV_POL_ERROR ? pstrdup(err ? err : "evaluation failed") : NULL;
		o->annotations = cp->annot_text ? pstrdup(cp->annot_text) : NULL;
		o->annotations_json = cp->annot_json ? pstrdup(cp->annot_json) : NULL;
		out->outcomes = lappend(out->outcomes, o);
		if (!o->permit && (o->matched || o->error))
			any_forbid = true;
	}

	/* forbid overrides permit; an erroring forbid counts as matching */
	out->allow = false;
	if (!any_forbid)
	{
		foreach(lc, out->outcomes)
		{
			GovPolicyOutcome *o = lfirst(lc);

			if (o->permit && o->matched)
			{
				out->allow = true;
				break;
			}
		}
	}

	foreach(lc, out->outcomes)
	{
		GovPolicyOutcome *o = lfirst(lc);

		if (out->allow)
		{
			if (o->permit && o->matched)
			{
				out->determining = lappend(out->determining, o->policy);
				out->reasons = lappend(out->reasons,
									   psprintf("allowed: permit policy %s matched", label(o)));
			}
		}
		else if (!o->permit && o->matched)
		{
			out->determining = lappend(out->determining, o->policy);
			out->reasons = lappend(out->reasons,
								   psprintf("denied: forbid policy %s matched", label(o)));
		}
		else if (!o->permit && o->error)
		{
			out->determining = lappend(out->determining, o->policy);
			out->reasons = lappend(out->reasons,
								   psprintf("denied: forbid policy %s failed to evaluate, which counts as a match: %s",
											label(o), o->error));
		}
		if (o->permit && o->error)
			not_applied = lappend(not_applied,
								  psprintf("permit policy %s was not applied: %s",
										   label(o), o->error));
		if (!out->allow && o->permit && o->matched)
			overridden = lappend(overridden,
								 psprintf("permit policy %s matched but a forbid overrides it",
										  label(o)));
	}
	if (!out->allow && out->determining == NIL)
	{
		if (problem)
			out->reasons = lappend(out->reasons, psprintf("denied: %s", problem));
		else
			out->reasons = lappend(out->reasons,
								   pstrdup(ncached == 0 ? "denied by default: there are no policies"
										   : "denied by default: no permit policy matched"));
	}
	else if (problem)
		out->reasons = lappend(out->reasons, psprintf("%s", problem));
	out->reasons = list_concat(out->reasons, overridden);
	if (!problem)
		out->reasons = list_concat(out->reasons, not_applied);
}

/*
 * Is uid in ancestor, as a policy's "in" would answer it now?  1 or 0; -1
 * when the hierarchy cannot settle it (deeper than
 * governance.max_entity_depth), with *error saying why.
 */
int
gov_policy_entity_in(const char *uid, const char *ancestor, char **error)
{
	GovPolRequest preq;
	GovPolSession *session;
	GovPolResult r;
	const char *err = NULL;

	GOV_ENTRY();
	decision_begin();
	memset(&preq, 0, sizeof(preq));
	preq.principal = polstr(uid);
	preq.action = polstr("");
	preq.resource = polstr(ancestor);
	preq.lookup = entity_lookup;
	preq.max_entity_depth = gov_max_entity_depth;
	session = gov_pol_session_new(&scratch_arena, &preq);
	if (session == NULL)
	{
		r = GOV_POL_ERROR;
		err = "out of memory while evaluating";
	}
	else
		r = gov_pol_entity_in(session, preq.principal, preq.resource, &err);
	if (r == GOV_POL_ERROR)
	{
		*error = pstrdup(err ? err : "evaluation failed");
		return -1;
	}
	return r == GOV_POL_MATCH ? 1 : 0;
}

/* The hash of the current policy set (docs/FORMAT.md section 8). */
void
gov_policy_set_hash(uint8 *out)
{
	gov_policy_cache_check();
	memcpy(out, cached_hash, GOV_HASH_LEN);
}

/* ---------------------------------------------------------------------
 * Subtrees (subtree leases: docs/POLICY.md, "Subtree leases")
 * ---------------------------------------------------------------------
 */

/*
 * The entities within root through put_entity parents, root excluded, as
 * "in" answers it now (the hierarchy at a fresh snapshot, to any depth:
 * a subtree lease's coverage is not cut at governance.max_entity_depth,
 * which bounds a walk up, not this set): their number, with *uids
 * pointing to them (valid until the next call), or -1 when there are
 * more than max.  Cached per root until the policy generation moves, as
 * the decisions' caches are (the change visibility protocol above): an
 * entity change is seen by the next statement of every backend.
 */
int
gov_policy_subtree(const char *root, int max, char ***uids)
{
	uint64		gen;
	bool		cacheable;
	int			i;
	AsOwner		own;
	Datum		args[2];
	MemoryContext caller = CurrentMemoryContext;
	SubtreeEntry *e;
	uint64		n;

	GOV_ENTRY();
	gov_policy_cache_check();
	gen = pg_atomic_read_u64(&policy_shared->generation);
	cacheable = changed_level == 0 && !RecoveryInProgress();
	if (subtree_cxt == NULL)
		subtree_cxt = AllocSetContextCreate(TopMemoryContext, "governance subtrees",
											ALLOCSET_DEFAULT_SIZES);
	if (nsubtree > 0 && (!cacheable || subtree_cache[0].generation != gen ||
						 nsubtree >= SUBTREE_CACHE_MAX))
	{
		MemoryContextReset(subtree_cxt);
		nsubtree = 0;
	}
	for (i = 0; i < nsubtree; i++)
		if (strcmp(subtree_cache[i].root, root) == 0)
		{
			if (subtree_cache[i].n > max)
				return -1;
			*uids = subtree_cache[i].uids;
			return subtree_cache[i].n;
		}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	as_owner_begin(&own);
	if (plan_subtree == NULL)
	{
		Oid			argtypes[2] = {TEXTOID, INT4OID};

		/*
		 * Edges once, joined by hash at each level; UNION drops what was
		 * reached already, so a cycle or a diamond ends.  One row more than
		 * the bound tells that it was exceeded.
		 */
		SPIPlanPtr	p = SPI_prepare("WITH RECURSIVE edge AS MATERIALIZED ("
									"  SELECT e.uid AS child, p.parent FROM governance.entities e, "
									"         pg_catalog.unnest(e.parents) AS p(parent)), "
									"d(uid) AS (SELECT $1 UNION "
									"  SELECT edge.child FROM d JOIN edge ON edge.parent OPERATOR(pg_catalog.=) d.uid) "
									"SELECT uid FROM d WHERE uid OPERATOR(pg_catalog.<>) $1 LIMIT $2",
									2, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the subtree query: %s",
				 SPI_result_code_string(SPI_result));
		plan_subtree = p;
	}
	args[0] = CStringGetTextDatum(root);
	args[1] = Int32GetDatum(max < INT_MAX ? max + 1 : max);
	if (SPI_execute_snapshot(plan_subtree, args, NULL, GetLatestSnapshot(),
							 InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.entities");
	as_owner_end(&own);
	n = SPI_processed;

	MemoryContextSwitchTo(subtree_cxt);
	e = &subtree_cache[nsubtree];
	e->root = pstrdup(root);
	e->generation = gen;
	e->n = (int) n;
	e->uids = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < (int) n; i++)
		e->uids[i] = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1,
													   &cacheable));
	MemoryContextSwitchTo(caller);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	cacheable = changed_level == 0 && !RecoveryInProgress();
	if (cacheable)
		nsubtree++;
	else
	{
		/* not kept: copy out before the next call drops it */
		char	  **copy = palloc(sizeof(char *) * Max(n, 1));

		for (i = 0; i < (int) n; i++)
			copy[i] = pstrdup(e->uids[i]);
		MemoryContextReset(subtree_cxt);
		e->uids = copy;
	}
	if (e->n > max)
		return -1;
	*uids = e->uids;
	return e->n;
}

const char *
gov_subtree_root(const char *resource)
{
	if (resource != NULL &&
		strncmp(resource, GOV_SUBTREE_PREFIX, sizeof(GOV_SUBTREE_PREFIX) - 1) == 0)
		return resource + sizeof(GOV_SUBTREE_PREFIX) - 1;
	return NULL;
}

int
gov_resource_within(const char *resource, const char *parent, char **error)
{
	const char *root = gov_subtree_root(resource);
	const char *proot = gov_subtree_root(parent);

	/* a subtree under an exact lease would reach rows its parent cannot */
	if (root != NULL && proot == NULL)
		return 0;
	return gov_policy_entity_in(root ? root : resource, proot ? proot : parent, error);
}

/*
 * A subtree lease grants the action on every resource of the subtree, so
 * each must be allowed: the root's decision, then each entity's within it
 * (a forbid on one of them denies the whole request, naming it).  Entities
 * that join the subtree later are covered without a decision of their
 * own; a heartbeat decides the subtree again as it is then.
 */
void
gov_policy_decide_subtree(const GovRequest *req, GovDecision *out)
{
	char	  **uids;
	char	  **copy;
	int			n;
	int			i;
	MemoryContext tmp;
	MemoryContext old;

	gov_policy_decide(req, out);
	if (!out->allow)
		return;
	n = gov_policy_subtree(req->resource, gov_max_subtree_resources - 1, &uids);
	if (n < 0)
	{
		out->allow = false;
		out->determining = NIL;
		out->reasons = list_make1(psprintf("denied: the subtree of %s has more than %d resources "
										   "(governance.max_subtree_resources)",
										   req->resource, gov_max_subtree_resources));
		return;
	}
	copy = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
		copy[i] = pstrdup(uids[i]);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "governance subtree decision",
								ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i++)
	{
		GovRequest	r = *req;
		GovDecision d;

		CHECK_FOR_INTERRUPTS();
		r.resource = copy[i];
		old = MemoryContextSwitchTo(tmp);
		gov_policy_decide(&r, &d);
		MemoryContextSwitchTo(old);
		if (!d.allow)
		{
			ListCell   *lc;

			out->allow = false;
			out->determining = NIL;
			foreach(lc, d.determining)
				out->determining = lappend(out->determining, pstrdup(lfirst(lc)));
			out->reasons = list_make1(psprintf("denied for %s, within the subtree of %s",
											   copy[i], req->resource));
			foreach(lc, d.reasons)
				out->reasons = lappend(out->reasons, pstrdup(lfirst(lc)));
			break;
		}
		MemoryContextReset(tmp);
	}
	MemoryContextDelete(tmp);
}
