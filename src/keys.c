/*-------------------------------------------------------------------------
 *
 * keys.c
 *	  The server's Ed25519 signing key: loading, rotation, signing.
 *
 *	  The key is a 32-byte Ed25519 seed written as 64 hexadecimal digits
 *	  (an optional final newline is allowed).  It comes from
 *	  governance.key_command when that is set, otherwise from
 *	  governance.key_file, which is created with mode 0600 on first start.
 *	  The postmaster loads it when it creates shared memory, so every
 *	  backend inherits it at fork; the secret half lives only in sodium_malloc memory, kept
 *	  PROT_NONE except for the few instructions that sign.  It is never put
 *	  in a table, never returned and never logged (the key id, derived from
 *	  the public key, is what logs and tables name).
 *
 *	  If the key cannot be loaded (unreadable, wrong size, readable by
 *	  others, command failed) the server still starts, says why in the log,
 *	  and the extension is fail-closed: gov_sign() raises an error and
 *	  trust_state() reports the reason.  Nothing half-works.
 *
 *	  Rotation writes a new key file atomically and bumps a generation
 *	  counter in shared memory; a backend whose generation is stale reloads
 *	  the file before its next signature and checks that what it read is
 *	  the key shared memory announces.
 *
 *	  Only gov_sign() touches the secret key, and it accepts a GovEnc, a
 *	  message that starts with one of the extension's own domain tags:
 *	  there is no path by which SQL chooses the bytes the key signs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "catalog/pg_type_d.h"

#include "common.h"
#include "keys.h"
#include "ledger.h"
#include "xact_defer.h"

#define KEY_HEX_LEN			(GOV_ED25519_SEED_LEN * 2)
#define KEY_READ_MAX		256
#define REASON_LEN			256

char	   *gov_key_file = NULL;
char	   *gov_key_command = NULL;

/*
 * What every process can see: which key is current, and whether there is
 * one at all.  Public material only.
 */
typedef struct GovKeyShared
{
	slock_t		mutex;
	uint64		generation;		/* bumped by every rotation */
	bool		available;
	uint8		public_key[GOV_ED25519_PK_LEN];
	char		key_id[GOV_KEY_ID_LEN + 1];
	char		reason[REASON_LEN];
} GovKeyShared;

static GovKeyShared *key_shared = NULL;

/* This process's copy; the secret half is in sodium_malloc memory. */
typedef struct LocalKey
{
	bool		available;
	uint64		generation;
	uint8	   *secret;			/* GOV_ED25519_SK_LEN bytes, PROT_NONE */
	uint8		public_key[GOV_ED25519_PK_LEN];
	char		key_id[GOV_KEY_ID_LEN + 1];
	char		reason[REASON_LEN];
} LocalKey;

static LocalKey local_key;

/* Generation whose key this backend last saw in governance.signing_keys. */
static uint64 synced_generation = 0;

static void set_unavailable(LocalKey *k, const char *fmt,...) pg_attribute_printf(2, 3);

void
gov_keys_define_gucs(void)
{
	DefineCustomStringVariable("governance.key_file",
							   "Path of the server's Ed25519 signing key file.",
							   "Relative paths are taken from the data directory. "
							   "The file is created with mode 0600 on first start if it does not exist.",
							   &gov_key_file,
							   "governance_signing.key",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("governance.key_command",
							   "Command that prints the server's Ed25519 signing key seed as 64 hexadecimal digits.",
							   "When set, it is used instead of governance.key_file.",
							   &gov_key_command,
							   "",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

void
gov_key_id(const uint8 *pk, char *out)
{
	GovEnc		e;
	uint8		digest[GOV_HASH_LEN];
	char	   *hex;

	gov_enc_init(&e, GOV_TAG_KEY_ID);
	gov_enc_bytes(&e, pk, GOV_ED25519_PK_LEN);
	gov_blake2b_512(e.buf.data, e.buf.len, digest);
	hex = gov_hex(digest, GOV_KEY_ID_LEN / 2);
	memcpy(out, hex, GOV_KEY_ID_LEN + 1);
	pfree(hex);
	pfree(e.buf.data);
}

static void
set_unavailable(LocalKey *k, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(k->reason, REASON_LEN, fmt, ap);
	va_end(ap);
	k->available = false;
}

static void
free_secret(LocalKey *k)
{
	if (k->secret)
	{
		sodium_free(k->secret); /* zeroes before unmapping */
		k->secret = NULL;
	}
}

/*
 * Parse 64 hex digits (and an optional trailing newline) from buf into
 * seed.  Both buffers are sodium memory owned by the caller.
 */
static bool
parse_seed(const char *buf, size_t len, uint8 *seed)
{
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len != KEY_HEX_LEN)
		return false;
	return sodium_hex2bin(seed, GOV_ED25519_SEED_LEN, buf, len,
						  NULL, NULL, NULL) == 0;
}

/*
 * Read the key material into buf (sodium memory, KEY_READ_MAX bytes).
 * Returns the number of bytes read, or -1 with k->reason set.
 */
static ssize_t
read_key_command(LocalKey *k, char *buf)
{
	FILE	   *fh;
	size_t		n;
	int			rc;

	fflush(NULL);
	fh = popen(gov_key_command, "r");
	if (fh == NULL)
	{
		set_unavailable(k, "could not run governance.key_command: %m");
		return -1;
	}
	n = fread(buf, 1, KEY_READ_MAX, fh);
	rc = pclose(fh);
	if (rc != 0)
	{
		set_unavailable(k, "governance.key_command failed: %s", wait_result_to_str(rc));
		return -1;
	}
	return (ssize_t) n;
}

static bool
create_key_file(LocalKey *k, const char *path)
{
	uint8	   *seed = sodium_malloc(GOV_ED25519_SEED_LEN);
	char	   *hex = sodium_malloc(KEY_HEX_LEN + 2);
	int			fd;
	bool		ok = false;

	if (seed == NULL || hex == NULL)
	{
		set_unavailable(k, "out of secure memory");
		goto done;
	}
	randombytes_buf(seed, GOV_ED25519_SEED_LEN);
	sodium_bin2hex(hex, KEY_HEX_LEN + 1, seed, GOV_ED25519_SEED_LEN);
	hex[KEY_HEX_LEN] = '\n';

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		set_unavailable(k, "could not create key file \"%s\": %m", path);
		goto done;
	}
	if (write(fd, hex, KEY_HEX_LEN + 1) != KEY_HEX_LEN + 1 || pg_fsync(fd) != 0)
	{
		set_unavailable(k, "could not write key file \"%s\": %m", path);
		close(fd);
		unlink(path);
		goto done;
	}
	close(fd);
	ok = true;
	ereport(LOG,
			(errmsg("governance: created signing key file \"%s\"", path)));
done:
	if (seed)
		sodium_free(seed);
	if (hex)
		sodium_free(hex);
	return ok;
}

static ssize_t
read_key_file(LocalKey *k, char *buf, bool create_if_missing)
{
	const char *path = gov_key_file;
	struct stat st;
	int			fd;
	ssize_t		n;

	if (path == NULL || path[0] == '\0')
	{
		set_unavailable(k, "governance.key_file is empty and governance.key_command is not set");
		return -1;
	}

	fd = open(path, O_RDONLY | PG_BINARY, 0);
	if (fd < 0 && errno == ENOENT && create_if_missing)
	{
		if (!create_key_file(k, path))
			return -1;
		fd = open(path, O_RDONLY | PG_BINARY, 0);
	}
	if (fd < 0)
	{
		set_unavailable(k, "could not open key file \"%s\": %m", path);
		return -1;
	}

	/* Check the file we opened, not the name: no window for a swap. */
	if (fstat(fd, &st) != 0)
	{
		set_unavailable(k, "could not stat key file \"%s\": %m", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
	{
		set_unavailable(k, "key file \"%s\" is not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid())
	{
		set_unavailable(k, "key file \"%s\" is not owned by the database server user", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO))
	{
		set_unavailable(k, "key file \"%s\" has group or world access (mode %04o); it must be 0600 or 0400",
						path, (unsigned) (st.st_mode & 07777));
		close(fd);
		return -1;
	}

	n = read(fd, buf, KEY_READ_MAX);
	if (n < 0)
		set_unavailable(k, "could not read key file \"%s\": %m", path);
	close(fd);
	return n;
}

/*
 * Load the key into k.  On failure k->available is false and k->reason
 * says why; nothing here raises an error, because the postmaster must be
 * able to start fail-closed.
 */
static void
load_key(LocalKey *k, bool create_if_missing)
{
	char	   *buf = NULL;
	uint8	   *seed = NULL;
	ssize_t		n;
	bool		from_command = (gov_key_command && gov_key_command[0] != '\0');

	free_secret(k);
	k->available = false;
	k->reason[0] = '\0';

	buf = sodium_malloc(KEY_READ_MAX);
	seed = sodium_malloc(GOV_ED25519_SEED_LEN);
	k->secret = sodium_malloc(GOV_ED25519_SK_LEN);
	if (buf == NULL || seed == NULL || k->secret == NULL)
	{
		set_unavailable(k, "out of secure memory");
		goto done;
	}

	if (from_command)
		n = read_key_command(k, buf);
	else
		n = read_key_file(k, buf, create_if_missing);
	if (n < 0)
		goto done;

	if (!parse_seed(buf, (size_t) n, seed))
	{
		set_unavailable(k, "%s does not hold exactly %d hexadecimal digits (an Ed25519 seed of %d bytes)",
						from_command ? "the output of governance.key_command" : "the key file",
						KEY_HEX_LEN, GOV_ED25519_SEED_LEN);
		goto done;
	}

	crypto_sign_seed_keypair(k->public_key, k->secret, seed);
	gov_key_id(k->public_key, k->key_id);
	sodium_mprotect_noaccess(k->secret);
	k->available = true;

done:
	if (buf)
		sodium_free(buf);
	if (seed)
		sodium_free(seed);
	if (!k->available)
		free_secret(k);
}

/*
 * Load the key in the postmaster.  Called when shared memory is created,
 * which is at start and again after a crash of any backend: reloading then
 * picks up a key rotated since start, which the postmaster's inherited copy
 * would not hold.
 */
static void
load_key_in_postmaster(void)
{
	free_secret(&local_key);
	memset(&local_key, 0, sizeof(local_key));
	load_key(&local_key, true);
	local_key.generation = 1;

	if (local_key.available)
		ereport(LOG,
				(errmsg("governance: signing key loaded (key id %s)",
						local_key.key_id)));
	else
		ereport(WARNING,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("governance: signing key unavailable, nothing will be signed"),
				 errdetail("%s", local_key.reason),
				 errhint("Fix governance.key_file or governance.key_command and restart the server; until then authorizations are refused.")));
}

Size
gov_keys_shmem_size(void)
{
	return MAXALIGN(sizeof(GovKeyShared));
}

void
gov_keys_shmem_startup(void)
{
	bool		found;

	key_shared = ShmemInitStruct("governance keys", sizeof(GovKeyShared), &found);
	if (!found)
	{
		load_key_in_postmaster();
		SpinLockInit(&key_shared->mutex);
		key_shared->generation = 1;
		key_shared->available = local_key.available;
		memcpy(key_shared->public_key, local_key.public_key, GOV_ED25519_PK_LEN);
		memcpy(key_shared->key_id, local_key.key_id, GOV_KEY_ID_LEN + 1);
		strlcpy(key_shared->reason, local_key.reason, REASON_LEN);
	}
}

/* Copy the shared view under the spinlock. */
static void
read_shared(GovKeyShared *copy)
{
	SpinLockAcquire(&key_shared->mutex);
	memcpy(copy, key_shared, sizeof(GovKeyShared));
	SpinLockRelease(&key_shared->mutex);
}

/*
 * Bring this process's key up to the generation shared memory announces.
 * After a rotation by another backend that means re-reading the key file
 * and checking that it holds the announced key.
 */
static void
refresh_local_key(void)
{
	GovKeyShared cur;

	read_shared(&cur);
	if (cur.generation == local_key.generation)
		return;

	if (!cur.available)
	{
		free_secret(&local_key);
		local_key.available = false;
		strlcpy(local_key.reason, cur.reason, REASON_LEN);
	}
	else
	{
		load_key(&local_key, false);
		if (local_key.available &&
			memcmp(local_key.public_key, cur.public_key, GOV_ED25519_PK_LEN) != 0)
		{
			free_secret(&local_key);
			set_unavailable(&local_key,
							"the key file does not hold the current key (key id %s)",
							cur.key_id);
		}
	}
	local_key.generation = cur.generation;
}

bool
gov_key_available(char **reason)
{
	GovKeyShared cur;

	read_shared(&cur);
	if (!cur.available)
	{
		if (reason)
			*reason = pstrdup(cur.reason);
		return false;
	}
	refresh_local_key();
	if (!local_key.available)
	{
		if (reason)
			*reason = pstrdup(local_key.reason);
		return false;
	}
	return true;
}

static void
sign_with(LocalKey *k, const GovEnc *msg, GovSignature *out)
{
	sodium_mprotect_readonly(k->secret);
	crypto_sign_detached(out->sig, NULL,
						 (const unsigned char *) msg->buf.data, msg->buf.len,
						 k->secret);
	sodium_mprotect_noaccess(k->secret);
	memcpy(out->key_id, k->key_id, GOV_KEY_ID_LEN + 1);
}

/* The current public key, if key_id names it. */
bool
gov_current_public_key(const char *key_id, uint8 *pk)
{
	GovKeyShared cur;

	read_shared(&cur);
	if (!cur.available || strcmp(cur.key_id, key_id) != 0)
		return false;
	memcpy(pk, cur.public_key, GOV_ED25519_PK_LEN);
	return true;
}

/* Key id of this process's current key; call gov_key_available() first. */
const char *
gov_current_key_id(void)
{
	return local_key.key_id;
}

static void
raise_unavailable(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("signing key unavailable"),
			 errdetail("%s", local_key.reason),
			 errhint("Fix governance.key_file or governance.key_command and restart the server.")));
}

void
gov_sign(GovEnc *msg, GovSignature *out)
{
	char	   *reason;

	if (!gov_key_available(&reason))
		raise_unavailable();
	gov_keys_sync_table();
	sign_with(&local_key, msg, out);
}

/* Message a key signs about itself when it is registered. */
static void
key_statement(GovEnc *e, const char *key_id, const uint8 *pk, TimestampTz created)
{
	gov_enc_init(e, GOV_TAG_KEY);
	gov_enc_text(e, key_id);
	gov_enc_bytes(e, pk, GOV_ED25519_PK_LEN);
	gov_enc_timestamp(e, created);
}

/* Message the outgoing key signs about its successor. */
static void
endorsement_statement(GovEnc *e, const char *old_id, const char *new_id,
					  const uint8 *new_pk, TimestampTz created)
{
	gov_enc_init(e, GOV_TAG_KEY_ENDORSE);
	gov_enc_text(e, old_id);
	gov_enc_text(e, new_id);
	gov_enc_bytes(e, new_pk, GOV_ED25519_PK_LEN);
	gov_enc_timestamp(e, created);
}

/*
 * Record key k in governance.signing_keys as the current key, retiring any
 * other.  endorser/endorsement are NULL for a key that nobody vouched for
 * (the first key, or a key file replaced by hand between restarts).
 */
static void
insert_key_row(LocalKey *k, TimestampTz created, const char *endorser,
			   const GovSignature *endorsement)
{
	GovEnc		stmt;
	GovSignature self;
	Oid			argtypes[6] = {TEXTOID, BYTEAOID, TIMESTAMPTZOID, BYTEAOID, TEXTOID, BYTEAOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;
	Oid			retire_types[] = {TIMESTAMPTZOID, TEXTOID};
	Datum		retire_values[2];

	key_statement(&stmt, k->key_id, k->public_key, created);
	sign_with(k, &stmt, &self);

	values[0] = CStringGetTextDatum(k->key_id);
	values[1] = gov_bytea_datum(k->public_key, GOV_ED25519_PK_LEN);
	values[2] = TimestampTzGetDatum(created);
	values[3] = gov_bytea_datum(self.sig, GOV_ED25519_SIG_LEN);
	if (endorser)
	{
		values[4] = CStringGetTextDatum(endorser);
		values[5] = gov_bytea_datum(endorsement->sig, GOV_ED25519_SIG_LEN);
	}
	else
	{
		nulls[4] = 'n';
		nulls[5] = 'n';
	}

	SPI_connect();
	retire_values[0] = values[2];	/* created_at */
	retire_values[1] = values[0];	/* key_id */
	rc = SPI_execute_with_args("UPDATE governance.signing_keys SET retired_at = $1 "
							   "WHERE retired_at IS NULL AND key_id <> $2",
							   2, retire_types, retire_values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not retire previous signing keys: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args("INSERT INTO governance.signing_keys "
							   "(key_id, public_key, created_at, self_signature, endorsed_by, endorsement) "
							   "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
							   6, argtypes, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record signing key: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/*
 * Make sure the current key has its row.  A key that appears without a
 * rotation (the key file replaced between restarts) is recorded without
 * an endorsement, and said so loudly: an auditor will see the gap.
 */
void
gov_keys_sync_table(void)
{
	bool		known;
	int			rc;
	Oid			argtypes[] = {TEXTOID};
	Datum		values[1];

	if (synced_generation == local_key.generation || !local_key.available)
		return;
	if (RecoveryInProgress())
		return;

	SPI_connect();
	values[0] = CStringGetTextDatum(local_key.key_id);
	rc = SPI_execute_with_args("SELECT 1 FROM governance.signing_keys WHERE key_id = $1",
							   1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read governance.signing_keys: %s", SPI_result_code_string(rc));
	known = (SPI_processed > 0);
	SPI_finish();

	if (!known)
	{
		bool		first;

		SPI_connect();
		rc = SPI_execute("SELECT 1 FROM governance.signing_keys", true, 1);
		first = (rc == SPI_OK_SELECT && SPI_processed == 0);
		SPI_finish();
		if (!first)
			ereport(WARNING,
					(errmsg("governance: signing key %s was not introduced by rotate_key() and has no endorsement",
							local_key.key_id),
					 errdetail("The key file or key command changed outside the extension.")));
		insert_key_row(&local_key, GetCurrentTimestamp(), NULL, NULL);
	}
	synced_generation = local_key.generation;
}

/*
 * The table was replaced by a restore (src/restore.c): record the current
 * key again if the restored history does not have it.
 */
void
gov_keys_resync(void)
{
	synced_generation = 0;
	if (gov_key_available(NULL))
		gov_keys_sync_table();
}

/* A restore is about to replace the table: what this backend synced goes. */
void
gov_keys_forget_synced(void)
{
	synced_generation = 0;
}

/*
 * Worker duty: record a key that changed between restarts promptly, not
 * only at the next signature.
 */
void
gov_keys_sync_duty(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (gov_key_available(NULL))
		gov_keys_sync_table();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Write the new seed to the key file: a temporary file in the same
 * directory, fsync, rename over the old file, fsync the directory.
 */
static void
write_key_file_atomically(const uint8 *seed)
{
	char		tmp[MAXPGPATH];
	char	   *hex = sodium_malloc(KEY_HEX_LEN + 2);
	int			fd;
	int			save_errno;

	if (hex == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of secure memory")));
	snprintf(tmp, sizeof(tmp), "%s.new", gov_key_file);
	unlink(tmp);
	sodium_bin2hex(hex, KEY_HEX_LEN + 1, seed, GOV_ED25519_SEED_LEN);
	hex[KEY_HEX_LEN] = '\n';

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0 ||
		write(fd, hex, KEY_HEX_LEN + 1) != KEY_HEX_LEN + 1 ||
		pg_fsync(fd) != 0)
	{
		save_errno = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		sodium_free(hex);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write new key file \"%s\": %m", tmp)));
	}
	close(fd);
	sodium_free(hex);

	if (durable_rename(tmp, gov_key_file, ERROR) != 0)
	{
		unlink(tmp);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not install new key file \"%s\"", gov_key_file)));
	}
}

/* ---------------------------------------------------------------------
 * SQL interface
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(gov_sql_public_key);
Datum
gov_sql_public_key(PG_FUNCTION_ARGS)
{
	GovKeyShared cur;

	GOV_ENTRY();
	read_shared(&cur);
	if (!cur.available)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("signing key unavailable"),
				 errdetail("%s", cur.reason)));
	PG_RETURN_DATUM(gov_bytea_datum(cur.public_key, GOV_ED25519_PK_LEN));
}

PG_FUNCTION_INFO_V1(gov_sql_current_key_id);
Datum
gov_sql_current_key_id(PG_FUNCTION_ARGS)
{
	GovKeyShared cur;

	GOV_ENTRY();
	read_shared(&cur);
	if (!cur.available)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(cur.key_id));
}

/* Internal: record the current key (called by the install script). */
PG_FUNCTION_INFO_V1(gov_sql_sync_signing_key);
Datum
gov_sql_sync_signing_key(PG_FUNCTION_ARGS)
{
	GOV_ENTRY();
	if (gov_key_available(NULL))
		gov_keys_sync_table();
	PG_RETURN_VOID();
}

/*
 * A rotation takes effect when its transaction commits: the new key file
 * is written and announced from the pre-commit callback, so an aborted
 * rotate_key() leaves the old key in place.  If the commit itself fails
 * after the file was replaced, the new key is still picked up at the next
 * signature and recorded without endorsement, with a warning.
 */
static uint8 *pending_seed = NULL;
static LocalKey pending_key;

static void
discard_pending_rotation(void)
{
	if (pending_seed)
		sodium_free(pending_seed);
	pending_seed = NULL;
	free_secret(&pending_key);
	memset(&pending_key, 0, sizeof(pending_key));
}

/* Before the commit: the new key file, then the key in shared memory. */
static void
rotation_pre_commit(void *arg)
{
	if (pending_seed == NULL)
		return;
	write_key_file_atomically(pending_seed);

	SpinLockAcquire(&key_shared->mutex);
	key_shared->generation++;
	memcpy(key_shared->public_key, pending_key.public_key, GOV_ED25519_PK_LEN);
	memcpy(key_shared->key_id, pending_key.key_id, GOV_KEY_ID_LEN + 1);
	pending_key.generation = key_shared->generation;
	SpinLockRelease(&key_shared->mutex);

	free_secret(&local_key);
	local_key = pending_key;
	synced_generation = pending_key.generation;
	pending_key.secret = NULL;	/* now owned by local_key */
	ereport(LOG,
			(errmsg("governance: signing key rotated to %s", local_key.key_id)));
	discard_pending_rotation();
}

/* Rolled back (the transaction, or the savepoint it ran in): forget it. */
static void
rotation_discard(void *arg)
{
	discard_pending_rotation();
}

static const GovXactOps rotation_ops = {
	.what = "rotated the signing key",
	.pre_commit = rotation_pre_commit,
	.discard = rotation_discard,
};

/*
 * rotate_key() -> new key id
 *
 * Generates a fresh key, has the outgoing key endorse it, records it in
 * governance.signing_keys (retiring the old one, whose public key stays so
 * that old signatures still verify) and installs it at commit.
 */
PG_FUNCTION_INFO_V1(gov_sql_rotate_key);
Datum
gov_sql_rotate_key(PG_FUNCTION_ARGS)
{
	LOCKTAG		tag;
	TimestampTz now;
	GovEnc		stmt;
	GovSignature endorsement;

	GOV_ENTRY();

	if (!gov_key_available(NULL))
		raise_unavailable();
	if (gov_key_command && gov_key_command[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot rotate a key supplied by governance.key_command"),
				 errhint("Rotate the key at its source and restart the server.")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot rotate the signing key during recovery")));
	if (pending_seed != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the signing key was already rotated in this transaction")));

	/* One rotation at a time, cluster-wide; held until commit. */
	SET_LOCKTAG_ADVISORY(tag, 0, 0, 0, GOV_LOCK_KEY_ROTATION);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	if (!gov_key_available(NULL))
		raise_unavailable();
	gov_keys_sync_table();

	memset(&pending_key, 0, sizeof(pending_key));
	pending_seed = sodium_malloc(GOV_ED25519_SEED_LEN);
	pending_key.secret = sodium_malloc(GOV_ED25519_SK_LEN);
	if (pending_seed == NULL || pending_key.secret == NULL)
	{
		discard_pending_rotation();
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of secure memory")));
	}
	randombytes_buf(pending_seed, GOV_ED25519_SEED_LEN);
	crypto_sign_seed_keypair(pending_key.public_key, pending_key.secret, pending_seed);
	sodium_mprotect_noaccess(pending_key.secret);
	gov_key_id(pending_key.public_key, pending_key.key_id);
	pending_key.available = true;
	gov_xact_defer(&rotation_ops, NULL);
	gov_xact_require_durable_commit();

	now = GetCurrentTimestamp();
	endorsement_statement(&stmt, local_key.key_id, pending_key.key_id,
						  pending_key.public_key, now);
	sign_with(&local_key, &stmt, &endorsement);
	insert_key_row(&pending_key, now, local_key.key_id, &endorsement);

	/* the rotation is evidence too */
	{
		GovJson		j;

		gj_init(&j);
		gj_begin_object(&j);
		gj_key(&j, "from");
		gj_str(&j, local_key.key_id);
		gj_key(&j, "to");
		gj_str(&j, pending_key.key_id);
		gj_end_object(&j);
		gov_ledger_append_system("governance.key.rotated", NULL, gj_finish(&j));
	}

	PG_RETURN_TEXT_P(cstring_to_text(pending_key.key_id));
}

/* Look up a public key by key id (retired keys included).  In SPI. */
bool
gov_lookup_public_key(const char *key_id, uint8 *pk)
{
	int			rc;
	bool		isnull;
	bytea	   *b;
	Oid			argtypes[] = {TEXTOID};
	Datum		values[] = {CStringGetTextDatum(key_id)};

	rc = SPI_execute_with_args("SELECT public_key FROM governance.signing_keys WHERE key_id = $1",
							   1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0)
	{
		/*
		 * signing_keys is per database, the key per cluster: a key rotated in
		 * another database is current here before this table has its row. The
		 * current key is known from shared memory.
		 */
		return gov_current_public_key(key_id, pk);
	}
	b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || VARSIZE_ANY_EXHDR(b) != GOV_ED25519_PK_LEN)
		return false;
	memcpy(pk, VARDATA_ANY(b), GOV_ED25519_PK_LEN);
	return true;
}
