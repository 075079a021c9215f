/*-------------------------------------------------------------------------
 *
 * governance_run.c
 *	  governance-run: a supervisor that runs a command only while a lease
 *	  allows it (README, "governance-run"; issue 13 section 2).
 *
 *	  It measures the workload (docs/FORMAT.md, "Workload measurement"),
 *	  authorizes, starts the command in its own process group with the
 *	  artifact and the lease id in its environment, LISTENs on the
 *	  revocation channel (governance_lease_end), and renews the lease with
 *	  a fresh measurement before each renewal is due.  It stops the command
 *	  (SIGTERM to the process group, SIGKILL after the grace period) as
 *	  soon as it learns that the lease ended: a notification, a heartbeat
 *	  that revokes or is refused, a measured file that changed, or the
 *	  database out of reach until the lease's expiry (fail closed: it never
 *	  lets the command outlive the lease's expiry as last confirmed by the
 *	  server).
 *
 *	  The server's clock is the only clock: the expiry is taken as the
 *	  time left that the server reported, counted on this machine's
 *	  monotonic clock from the moment the request was sent (which can only
 *	  make it earlier).
 *
 *	  One thread, one loop: poll() over the connection's socket and a
 *	  self-pipe that the signal handlers write to; every database request
 *	  is asynchronous and bounded by the expiry (a heartbeat by the moment
 *	  the command is to be signalled, EXPIRY_MARGIN_MS before it), so a
 *	  hung server can never hold the loop past it.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "pop_codec.h"

#define GR_VERSION "0.2"

/* Exit statuses (README, "governance-run"), besides the command's own. */
#define EXIT_USAGE			64	/* bad arguments */
#define EXIT_DENIED			65	/* the policy denied the authorization */
#define EXIT_MEASURE		66	/* a file to measure could not be read */
#define EXIT_UNAVAILABLE	69	/* no database, or authorize() failed */
#define EXIT_INTERNAL		70	/* could not start or supervise */
#define EXIT_NOPROOF		77	/* proof of possession refused */
#define EXIT_REVOKED		80	/* stopped: the lease was revoked */
#define EXIT_EXPIRED		81	/* stopped: the lease expired */
#define EXIT_INTEGRITY		82	/* stopped: a measured file changed */
#define EXIT_POLICY			83	/* stopped: the policy no longer allows it */
#define EXIT_TRUST			84	/* stopped: the server's trust is degraded */
#define EXIT_UNREACHABLE	85	/* stopped: no database before the expiry */
#define EXIT_PROOF			86	/* stopped: a renewal's proof was refused */
#define EXIT_CANNOT_EXEC	126
#define EXIT_NOT_FOUND		127

#define HASH_LEN			64
#define CHANNEL				"governance_lease_end"
#define MEASURE_TAG			"governance.v1.run-measurement"

/* the SIGTERM to the group goes out this long before the expiry */
#define EXPIRY_MARGIN_MS	250
#define RECONNECT_EVERY_MS	500
#define CONNECT_TIMEOUT_MS	10000

typedef enum StopWhy
{
	WHY_NONE = 0,
	WHY_REVOKED,
	WHY_EXPIRED,
	WHY_INTEGRITY,
	WHY_POLICY,
	WHY_TRUST,
	WHY_UNREACHABLE,
	WHY_INTERRUPTED,
	WHY_PROOF
} StopWhy;

static const char *const why_word[] = {
	"", "revoked", "expired", "integrity", "policy", "trust", "unreachable", "interrupted", "proof"
};
static const int why_exit[] = {
	0, EXIT_REVOKED, EXIT_EXPIRED, EXIT_INTEGRITY, EXIT_POLICY, EXIT_TRUST, EXIT_UNREACHABLE, 0, EXIT_PROOF
};

/* options */
static const char *opt_principal;
static const char *opt_action;
static const char *opt_resource;
static const char *opt_context = "{}";
static const char *opt_dbname;
static const char *opt_key;
static const char *opt_key_command;
static double opt_ttl = 60;
static double opt_heartbeat = 0;	/* 0: a third of the TTL */
static double opt_grace = 10;
static bool opt_json = false;

/* the measured files: [0] is the executable */
typedef struct Measured
{
	char	   *path;
	unsigned char digest[HASH_LEN];
} Measured;

static Measured *files;
static int	nfiles;
static unsigned char measurement[HASH_LEN];

/*
 * inotify on the measured files: a change is measured at once instead of
 * at the next heartbeat (which measures anyway, for what inotify cannot
 * see: files on network file systems, a replaced parent directory)
 */
static int	inotify_fd = -1;
static bool files_touched = false;

/* the lease */
static char lease_id[37];
static char *artifact;

/* the connection; the last NOTICE or WARNING it sent */
static PGconn *conn;
static char last_notice[1024];
static char last_error[1024];

/* the self-pipe that signal handlers write to */
static int	sigpipe[2] = {-1, -1};
static volatile sig_atomic_t got_signal = 0;

/* the key for proof of possession, in sodium_malloc memory */
static unsigned char *key_bytes;
static size_t key_len;
static unsigned char agent_pk[32];
static unsigned char context_hash[HASH_LEN];	/* of --context, when signing */

static PGresult *db_exec(const char *sql, int nparams, const char *const *params, int64_t deadline);
static const char *result_error(PGresult *r);
static int	status_exit_code(int st);

static const char *progname = "governance-run";

static inline int64_t
Min_i64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ---------------------------------------------------------------------
 * Logging: one line per state change, text or JSON
 * ---------------------------------------------------------------------
 */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/*
 * log_state(event, key, value, ..., NULL): one line on stderr.  Values are
 * strings; in JSON a value that is all digits is written as a number.
 */
static void
log_state(const char *event,...)
{
	va_list		ap;
	const char *k;
	struct timespec ts;
	struct tm	tm;
	char		stamp[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ldZ", ts.tv_nsec / 1000000);

	va_start(ap, event);
	if (opt_json)
	{
		fprintf(stderr, "{\"ts\":\"%s\",\"event\":", stamp);
		json_str(stderr, event);
		while ((k = va_arg(ap, const char *)) != NULL)
		{
			const char *v = va_arg(ap, const char *);
			const char *p = v;

			fputc(',', stderr);
			json_str(stderr, k);
			fputc(':', stderr);
			while (*p && isdigit((unsigned char) *p))
				p++;
			if (*v && *p == '\0' && strlen(v) < 16 && (v[0] != '0' || v[1] == '\0'))
				fputs(v, stderr);
			else
				json_str(stderr, v);
		}
		fputs("}\n", stderr);
	}
	else
	{
		fprintf(stderr, "%s: %s %s", progname, stamp, event);
		while ((k = va_arg(ap, const char *)) != NULL)
		{
			const char *v = va_arg(ap, const char *);

			if (*v == '\0' || strpbrk(v, " \t\"=") != NULL)
			{
				fprintf(stderr, " %s=", k);
				json_str(stderr, v);
			}
			else
				fprintf(stderr, " %s=%s", k, v);
		}
		fputc('\n', stderr);
	}
	va_end(ap);
	fflush(stderr);
}

static void
usage_error(const char *fmt,...)
{
	va_list		ap;
	char		msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_state("usage_error", "error", msg, NULL);
	if (!opt_json)
		fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
	exit(EXIT_USAGE);
}

static void
help(void)
{
	printf("NAME\n"
		   "    governance-run - run a command only while a governance lease allows it\n"
		   "\n"
		   "SYNOPSIS\n"
		   "    governance-run --principal UID --action ACTION --resource UID\n"
		   "                   [--context JSON] [--measure FILE]... [--dbname CONNSTR]\n"
		   "                   [--ttl SECONDS] [--heartbeat SECONDS] [--grace SECONDS]\n"
		   "                   [--key FILE | --key-command CMD] [--json] -- COMMAND [ARG]...\n"
		   "\n"
		   "DESCRIPTION\n"
		   "    Measures the workload (SHA3-512 over COMMAND's executable, then each\n"
		   "    FILE in the order given; docs/FORMAT.md), calls governance.authorize()\n"
		   "    with that measurement, and runs COMMAND in its own process group with\n"
		   "    GOVERNANCE_ARTIFACT and GOVERNANCE_LEASE_ID in its environment.  It\n"
		   "    LISTENs on governance_lease_end and renews the lease with\n"
		   "    governance.heartbeat() before each renewal is due, measuring again\n"
		   "    each time (and at once when inotify sees a measured file written).\n"
		   "    It stops COMMAND (SIGTERM to the group, SIGKILL after\n"
		   "    the grace period) when the lease is revoked, expires, is no longer\n"
		   "    allowed by the policy, when a measured file changes (it then revokes\n"
		   "    the lease), when the server's trust is degraded, or when the\n"
		   "    database cannot be reached before the lease's expiry.  Start and\n"
		   "    stop are recorded with governance.record() under the lease while it\n"
		   "    is live; when COMMAND ends by itself the lease is revoked.\n"
		   "\n"
		   "OPTIONS\n"
		   "    --principal UID    the agent, e.g. 'Agent::\"etl\"' (required)\n"
		   "    --action ACTION    e.g. etl.run (required)\n"
		   "    --resource UID     e.g. 'Dataset::\"sales\"' (required)\n"
		   "    --context JSON     the request context (default {})\n"
		   "    --measure FILE     also measure FILE (repeatable)\n"
		   "    --dbname CONNSTR   a libpq connection string or database name\n"
		   "                       (default: the PG* environment variables)\n"
		   "    --ttl SECONDS      the lease's time to live (default 60)\n"
		   "    --heartbeat SECONDS  renew every SECONDS (default: a third of the TTL)\n"
		   "    --grace SECONDS    SIGTERM to SIGKILL (default 10)\n"
		   "    --key FILE         the agent's Ed25519 secret key (mode 0600, yours):\n"
		   "                       the 32-byte seed or libsodium's 64-byte secret key,\n"
		   "                       raw or hex; every authorize(), heartbeat() and\n"
		   "                       attach() is then signed (proof of possession,\n"
		   "                       docs/FORMAT.md section 13)\n"
		   "    --key-command CMD  the key is what sh -c CMD prints (same formats)\n"
		   "    --json             log one JSON object per line\n"
		   "    --help, --version\n"
		   "\n"
		   "EXIT STATUS\n"
		   "    COMMAND's own status when it ends by itself (128+N if killed by\n"
		   "    signal N).  Otherwise:\n"
		   "     64  bad arguments          80  stopped: lease revoked\n"
		   "     65  authorization denied   81  stopped: lease expired\n"
		   "     66  cannot measure a file  82  stopped: a measured file changed\n"
		   "     69  database unavailable   83  stopped: the policy now denies it\n"
		   "     70  internal error         84  stopped: trust degraded\n"
		   "     77  proof of possession    85  stopped: database unreachable\n"
		   "         refused (no/wrong key)     before the lease's expiry\n"
		   "    126  cannot execute         86  stopped: a renewal's proof was\n"
		   "    127  command not found          refused (key rotated)\n"
		   "    128+N  governance-run itself received signal N (it stops COMMAND\n"
		   "           and revokes the lease first)\n"
		   "\n"
		   "LOG\n"
		   "    One line on standard error per state change: measured, authorized,\n"
		   "    running, renewed (the expiry moved), disconnected, reconnected,\n"
		   "    stopping, killed, exited; with --json one object per line with\n"
		   "    \"ts\" and \"event\" keys.\n");
}

/* ---------------------------------------------------------------------
 * Measurement (docs/FORMAT.md, "Workload measurement")
 * ---------------------------------------------------------------------
 */

static void
put_field(EVP_MD_CTX *c, const void *p, uint32_t len)
{
	unsigned char be[4] = {len >> 24, len >> 16, len >> 8, len};

	EVP_DigestUpdate(c, be, 4);
	if (len > 0)
		EVP_DigestUpdate(c, p, len);
}

/* SHA3-512 of a file's content; false (errno set) if unreadable */
static bool
digest_file(const char *path, unsigned char *out)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *c;
	unsigned char buf[65536];
	ssize_t		n;
	unsigned int olen;
	int			saved;

	if (fd < 0)
		return false;
	c = EVP_MD_CTX_new();
	if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha3_512(), NULL))
	{
		fprintf(stderr, "%s: OpenSSL has no SHA3-512\n", progname);
		exit(EXIT_INTERNAL);
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0)
	{
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			saved = errno;
			EVP_MD_CTX_free(c);
			close(fd);
			errno = saved;
			return false;
		}
		EVP_DigestUpdate(c, buf, n);
	}
	close(fd);
	EVP_DigestFinal_ex(c, out, &olen);
	EVP_MD_CTX_free(c);
	return true;
}

/*
 * Measure every file into digests and the whole into out.  Returns the
 * index of the first unreadable file, or -1.
 */
static int
measure(Measured *fs, int n, unsigned char *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char count[8] = {0};
	unsigned int olen;
	int			i;

	EVP_DigestInit_ex(c, EVP_sha3_512(), NULL);
	put_field(c, MEASURE_TAG, strlen(MEASURE_TAG));
	for (i = 0; i < 8; i++)
		count[i] = (unsigned char) ((uint64_t) n >> (56 - 8 * i));
	put_field(c, count, 8);
	for (i = 0; i < n; i++)
	{
		if (!digest_file(fs[i].path, fs[i].digest))
		{
			EVP_MD_CTX_free(c);
			return i;
		}
		put_field(c, fs[i].path, strlen(fs[i].path));
		put_field(c, fs[i].digest, HASH_LEN);
	}
	EVP_DigestFinal_ex(c, out, &olen);
	EVP_MD_CTX_free(c);
	return -1;
}

static void
hex(const unsigned char *b, int n, char *out)
{
	static const char d[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha3_512(const void *p, size_t n, unsigned char *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int olen;

	EVP_DigestInit_ex(c, EVP_sha3_512(), NULL);
	EVP_DigestUpdate(c, p, n);
	EVP_DigestFinal_ex(c, out, &olen);
	EVP_MD_CTX_free(c);
}

/* s as the inside of a JSON string, cut to fit size (control bytes dropped) */
static void
json_inner(const char *s, char *out, size_t size)
{
	char	   *q = out;

	for (; *s && q < out + size - 3; s++)
	{
		if ((unsigned char) *s < 0x20)
			continue;
		if (*s == '"' || *s == '\\')
			*q++ = '\\';
		*q++ = *s;
	}
	*q = '\0';
}

/* COMMAND as execvp would find it, made absolute */
static char *
resolve_command(const char *cmd)
{
	const char *path;
	char		buf[PATH_MAX];
	char	   *real;

	if (strchr(cmd, '/') != NULL)
	{
		if (access(cmd, F_OK) != 0)
			return NULL;
		return realpath(cmd, NULL);
	}
	path = getenv("PATH");
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path)
	{
		const char *end = strchr(path, ':');
		size_t		len = end ? (size_t) (end - path) : strlen(path);

		if (len == 0)
			snprintf(buf, sizeof(buf), "./%s", cmd);
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", (int) len, path, cmd);
		if (access(buf, X_OK) == 0 && (real = realpath(buf, NULL)) != NULL)
		{
			struct stat st;

			if (stat(real, &st) == 0 && S_ISREG(st.st_mode))
				return real;
			free(real);
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * Proof of possession (docs/FORMAT.md section 13)
 *
 * The agent's key: from --key FILE (a regular file of mode 0600 or
 * stricter, owned by this user) or the standard output of --key-command
 * CMD.  Either holds the Ed25519 secret key as
 *   - the 32-byte seed, raw or as 64 hex digits, or
 *   - libsodium's 64-byte secret key (seed || public key), raw or as 128
 *     hex digits (the public half must match the seed);
 * hex may end in white space (a newline).  The key lives in sodium_malloc
 * memory that is readable only while a request is signed, and is wiped
 * (sodium_free) on every way out.  Nothing logs it; the log shows the key
 * id (section 2) of its public half.
 *
 * Each authorize(), heartbeat() and attach() that needs a proof asks the
 * server for a nonce (governance.challenge()) first and signs the
 * canonical request with the encoder the extension itself uses
 * (src/pop_codec.c).
 * ---------------------------------------------------------------------
 */

#define KEY_MAX_INPUT		4096

static void
forget_key(void)
{
	if (key_bytes != NULL)
	{
		sodium_mprotect_readwrite(key_bytes);
		sodium_free(key_bytes); /* zeroes it */
		key_bytes = NULL;
		key_len = 0;
	}
}

static void
key_error(const char *fmt,...)
{
	va_list		ap;
	char		msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	forget_key();
	log_state("key_error", "error", msg, NULL);
	exit(EXIT_USAGE);
}

static bool
all_hex(const unsigned char *p, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (!isxdigit(p[i]))
			return false;
	return true;
}

/*
 * raw (n bytes, sodium_malloc memory, freed here) is the key material read
 * from src: set key_bytes to the 64-byte secret key.
 */
static void
parse_key(unsigned char *raw, size_t n, const char *src)
{
	unsigned char *seed = sodium_malloc(crypto_sign_SEEDBYTES + crypto_sign_PUBLICKEYBYTES);
	unsigned char *given_pk = seed + crypto_sign_SEEDBYTES;
	bool		has_pk = false;
	size_t		m = n;

	key_bytes = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (seed == NULL || key_bytes == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(EXIT_INTERNAL);
	}
	key_len = crypto_sign_SECRETKEYBYTES;
	if ((n == 32 || n == 64) && !(n == 64 && all_hex(raw, n)))
	{
		memcpy(seed, raw, n);
		has_pk = n == 64;
	}
	else
	{
		while (m > 0 && isspace(raw[m - 1]))
			m--;
		if ((m != 64 && m != 128) || !all_hex(raw, m) ||
			sodium_hex2bin(seed, 64, (const char *) raw, m, NULL, NULL, NULL) != 0)
		{
			sodium_free(raw);
			sodium_free(seed);
			key_error("%s holds no Ed25519 key: expected 32 or 64 bytes, or 64 or 128 hex digits (%zu bytes read)",
					  src, n);
		}
		has_pk = m == 128;
	}
	sodium_free(raw);
	if (crypto_sign_seed_keypair(agent_pk, key_bytes, seed) != 0 ||
		(has_pk && sodium_memcmp(agent_pk, given_pk, crypto_sign_PUBLICKEYBYTES) != 0))
	{
		sodium_free(seed);
		key_error("%s: the public half of the 64-byte secret key does not match its seed", src);
	}
	sodium_free(seed);
	sodium_mprotect_noaccess(key_bytes);
}

static void
load_key(const char *path)
{
	struct stat st;
	int			fd;
	ssize_t		n;
	unsigned char *raw;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0)
		key_error("could not open key file \"%s\": %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		key_error("key file \"%s\" is not a regular file", path);
	if ((st.st_mode & 077) != 0)
		key_error("key file \"%s\" is readable by others (mode %04o); it must be 0600",
				  path, (unsigned) (st.st_mode & 07777));
	if (st.st_uid != geteuid())
		key_error("key file \"%s\" is not owned by this user", path);
	if (st.st_size <= 0 || st.st_size > KEY_MAX_INPUT)
		key_error("key file \"%s\" has an impossible size (%lld bytes)", path, (long long) st.st_size);
	raw = sodium_malloc(st.st_size);
	if (raw == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(EXIT_INTERNAL);
	}
	n = read(fd, raw, st.st_size);
	close(fd);
	if (n != st.st_size)
	{
		sodium_free(raw);
		key_error("could not read key file \"%s\"", path);
	}
	parse_key(raw, n, "key file");
}

/* the key from the standard output of sh -c CMD (which must exit 0) */
static void
load_key_command(const char *cmd)
{
	int			p[2];
	pid_t		pid;
	unsigned char *raw = sodium_malloc(KEY_MAX_INPUT + 1);
	size_t		n = 0;
	ssize_t		r;
	int			st;

	if (raw == NULL || pipe2(p, O_CLOEXEC) != 0)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(EXIT_INTERNAL);
	}
	pid = fork();
	if (pid < 0)
		key_error("could not run --key-command: %s", strerror(errno));
	if (pid == 0)
	{
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
		_exit(127);
	}
	close(p[1]);
	while (n <= KEY_MAX_INPUT && (r = read(p[0], raw + n, KEY_MAX_INPUT + 1 - n)) != 0)
	{
		if (r < 0)
		{
			if (errno == EINTR)
				continue;
			break;
		}
		n += r;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
	{
		sodium_free(raw);
		key_error("--key-command failed (status %d)", status_exit_code(st));
	}
	if (n == 0 || n > KEY_MAX_INPUT)
	{
		sodium_free(raw);
		key_error("--key-command printed %s", n == 0 ? "nothing" : "more than 4096 bytes");
	}
	parse_key(raw, n, "--key-command's output");
}

/* the key id (docs/FORMAT.md section 2) of the agent's public key */
static void
agent_key_id(char *out)
{
	static const char tag[] = "governance.v1.key-id";
	unsigned char m[4 + sizeof(tag) - 1 + 4 + crypto_sign_PUBLICKEYBYTES];
	unsigned char h[64];
	size_t		o = 0;

	m[o++] = 0;
	m[o++] = 0;
	m[o++] = 0;
	m[o++] = sizeof(tag) - 1;
	memcpy(m + o, tag, sizeof(tag) - 1);
	o += sizeof(tag) - 1;
	m[o++] = 0;
	m[o++] = 0;
	m[o++] = 0;
	m[o++] = crypto_sign_PUBLICKEYBYTES;
	memcpy(m + o, agent_pk, crypto_sign_PUBLICKEYBYTES);
	o += crypto_sign_PUBLICKEYBYTES;
	crypto_generichash(h, sizeof(h), m, o, NULL, 0);
	hex(h, 8, out);
}

/*
 * Canonical JSON (docs/FORMAT.md section 4) of the context, from the text
 * PostgreSQL prints for it as jsonb (numbers already as numeric prints
 * them, strings decoded and escaped as section 4 escapes them, duplicate
 * keys gone): the white space goes and object members are sorted by their
 * keys' UTF-8 bytes.
 */
typedef struct Sbuf
{
	char	   *p;
	size_t		len;
	size_t		cap;
} Sbuf;

static void
sb_put(Sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
		{
			fprintf(stderr, "%s: out of memory\n", progname);
			exit(EXIT_INTERNAL);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

typedef struct Member
{
	Sbuf		key;			/* decoded UTF-8, for sorting */
	Sbuf		pair;			/* "key":value, canonical */
} Member;

static int
member_cmp(const void *a, const void *b)
{
	const Sbuf *x = &((const Member *) a)->key;
	const Sbuf *y = &((const Member *) b)->key;
	int			c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static const char *
cj_skip(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* a string token at p, verbatim into out (decoded into dec if not NULL) */
static const char *
cj_string(const char *p, Sbuf *out, Sbuf *dec)
{
	const char *s = p;

	if (*p++ != '"')
		return NULL;
	while (*p != '"')
	{
		if (*p == '\0')
			return NULL;
		if (*p == '\\')
		{
			char		c;

			p++;
			switch (*p)
			{
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 't':
					c = '\t';
					break;
				case 'u':
					{
						unsigned	v;

						/* PostgreSQL prints \u only for control characters */
						if (sscanf(p + 1, "%4x", &v) != 1 || v >= 0x20)
							return NULL;
						c = (char) v;
						p += 4;
						break;
					}
				case '"':
				case '\\':
				case '/':
					c = *p;
					break;
				default:
					return NULL;
			}
			if (dec)
				sb_put(dec, &c, 1);
			p++;
			continue;
		}
		if (dec)
			sb_put(dec, p, 1);
		p++;
	}
	p++;
	sb_put(out, s, p - s);
	return p;
}

static const char *
cj_value(const char *p, Sbuf *out, int depth)
{
	p = cj_skip(p);
	if (depth > 1000)
		return NULL;
	if (*p == '"')
		return cj_string(p, out, NULL);
	if (*p == '[')
	{
		bool		first = true;

		sb_put(out, "[", 1);
		p = cj_skip(p + 1);
		while (*p != ']')
		{
			if (!first)
			{
				if (*p != ',')
					return NULL;
				sb_put(out, ",", 1);
				p++;
			}
			first = false;
			if ((p = cj_value(p, out, depth + 1)) == NULL)
				return NULL;
			p = cj_skip(p);
		}
		sb_put(out, "]", 1);
		return p + 1;
	}
	if (*p == '{')
	{
		Member	   *ms = NULL;
		int			n = 0;
		int			i;

		p = cj_skip(p + 1);
		while (*p != '}')
		{
			if (n > 0)
			{
				if (*p != ',')
					return NULL;
				p = cj_skip(p + 1);
			}
			ms = realloc(ms, (n + 1) * sizeof(Member));
			if (ms == NULL)
				return NULL;
			memset(&ms[n], 0, sizeof(Member));
			sb_put(&ms[n].key, "", 0);
			if ((p = cj_string(p, &ms[n].pair, &ms[n].key)) == NULL)
				return NULL;
			p = cj_skip(p);
			if (*p != ':')
				return NULL;
			sb_put(&ms[n].pair, ":", 1);
			if ((p = cj_value(p + 1, &ms[n].pair, depth + 1)) == NULL)
				return NULL;
			p = cj_skip(p);
			n++;
		}
		if (n > 1)
			qsort(ms, n, sizeof(Member), member_cmp);
		sb_put(out, "{", 1);
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				sb_put(out, ",", 1);
			sb_put(out, ms[i].pair.p, ms[i].pair.len);
			free(ms[i].key.p);
			free(ms[i].pair.p);
		}
		free(ms);
		sb_put(out, "}", 1);
		return p + 1;
	}
	{
		/* a number, true, false, null: verbatim */
		const char *s = p;

		while (*p && strchr(",]} \n\t\r", *p) == NULL)
			p++;
		if (p == s)
			return NULL;
		sb_put(out, s, p - s);
		return p;
	}
}

/* SHA3-512 of the canonical JSON of the jsonb text t; false if malformed */
static bool
context_hash_of(const char *t, unsigned char *out)
{
	Sbuf		b = {NULL, 0, 0};
	const char *end = cj_value(t, &b, 0);

	if (end == NULL || *cj_skip(end) != '\0')
	{
		free(b.p);
		return false;
	}
	sha3_512(b.p, b.len, out);
	free(b.p);
	return true;
}

static bool
uuid_bytes(const char *s, uint8_t *out)
{
	int			i = 0;

	for (; *s && i < 16; s++)
	{
		if (*s == '-')
			continue;
		if (!isxdigit((unsigned char) s[0]) || !isxdigit((unsigned char) s[1]))
			return false;
		if (sscanf(s, "%2hhx", &out[i]) != 1)
			return false;
		i++;
		s++;
	}
	return i == 16 && *s == '\0';
}

/*
 * The proof for one request (req: every field but the nonce and the
 * server key id), into out (GOV_POP_MAX_TEXT + 1 bytes).  NULL, with
 * nothing in out, when there is no key.  Otherwise out, or NULL with
 * last_error set when no nonce could be had.
 */
static const char *
build_proof(GovPopRequest *req, char *out, int64_t deadline)
{
	PGresult   *r;
	char		kid[17];
	uint8_t		sig[crypto_sign_BYTES];
	uint8_t    *msg;
	size_t		n;

	out[0] = '\0';
	if (key_bytes == NULL)
		return NULL;
	r = db_exec("SELECT pg_catalog.encode(nonce, 'hex'), server_key_id FROM governance.challenge()",
				0, NULL, deadline);
	if (r == NULL)
		return NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
		sodium_hex2bin(req->nonce, GOV_POP_NONCE_LEN, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)),
					   NULL, &n, NULL) != 0 || n != GOV_POP_NONCE_LEN)
	{
		snprintf(last_error, sizeof(last_error), "challenge() failed: %s",
				 PQresultStatus(r) == PGRES_TUPLES_OK ? "a malformed nonce" : result_error(r));
		PQclear(r);
		return NULL;
	}
	snprintf(kid, sizeof(kid), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	req->server_key_id = kid;
	n = gov_pop_message_size(req);
	msg = malloc(n);
	if (msg == NULL || gov_pop_message(req, msg, n) != n)
	{
		free(msg);
		snprintf(last_error, sizeof(last_error), "the signed request could not be built");
		return NULL;
	}
	sodium_mprotect_readonly(key_bytes);
	crypto_sign_detached(sig, NULL, msg, n, key_bytes);
	sodium_mprotect_noaccess(key_bytes);
	free(msg);
	req->server_key_id = NULL;
	gov_pop_proof_encode(req->nonce, sig, out);
	return out;
}

/* ---------------------------------------------------------------------
 * Signals: the handlers only write to the self-pipe
 * ---------------------------------------------------------------------
 */

static void
on_signal(int sig)
{
	int			saved = errno;
	unsigned char c = (unsigned char) sig;

	if (sig != SIGCHLD)
		got_signal = sig;
	if (write(sigpipe[1], &c, 1) < 0)
	{
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void
drain_sigpipe(void)
{
	unsigned char buf[64];

	while (read(sigpipe[0], buf, sizeof(buf)) > 0)
		;
}

/* ---------------------------------------------------------------------
 * The database: every request asynchronous, bounded by a deadline
 * ---------------------------------------------------------------------
 */

static void
notice_proc(void *arg, const char *message)
{
	size_t		n;

	(void) arg;
	snprintf(last_notice, sizeof(last_notice), "%s", message);
	n = strlen(last_notice);
	while (n > 0 && last_notice[n - 1] == '\n')
		last_notice[--n] = '\0';
}

static void
drop_connection(void)
{
	if (conn != NULL)
	{
		snprintf(last_error, sizeof(last_error), "%s", PQerrorMessage(conn));
		PQfinish(conn);
		conn = NULL;
	}
}

/* wait until fd is ready (events) or deadline; false on timeout */
static bool
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;)
	{
		struct pollfd p = {.fd = fd,.events = events};
		int64_t		left = deadline - now_ms();
		int			rc;

		if (left <= 0)
			return false;
		rc = poll(&p, 1, (int) (left > INT_MAX ? INT_MAX : left));
		if (rc > 0)
			return true;
		if (rc == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

static bool db_listen(int64_t deadline);

static bool
db_connect(int64_t deadline)
{
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {opt_dbname, "governance-run", NULL};
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	conn = PQconnectStartParams(keys, vals, 1);
	if (conn == NULL)
	{
		snprintf(last_error, sizeof(last_error), "out of memory");
		return false;
	}
	if (PQstatus(conn) == CONNECTION_BAD)
	{
		drop_connection();
		return false;
	}
	while (st != PGRES_POLLING_OK)
	{
		if (st == PGRES_POLLING_FAILED ||
			!wait_fd(PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline))
		{
			if (st != PGRES_POLLING_FAILED)
			{
				PQfinish(conn);
				conn = NULL;
				snprintf(last_error, sizeof(last_error), "timed out connecting");
				return false;
			}
			drop_connection();
			return false;
		}
		st = PQconnectPoll(conn);
	}
	PQsetNoticeProcessor(conn, notice_proc, NULL);
	return db_listen(deadline);
}

/*
 * Send a query (params: extended protocol, one statement; nparams < 0:
 * simple protocol, several statements in one implicit transaction) and
 * wait for its results until deadline.  Returns the first failed result,
 * else the last one; NULL if the connection broke or the deadline passed
 * (the connection is dropped then: a request whose fate is unknown leaves
 * nothing to rely on).
 */
static PGresult *
db_exec(const char *sql, int nparams, const char *const *params, int64_t deadline)
{
	PGresult   *res = NULL;
	PGresult   *r;
	int			ok;

	if (conn == NULL)
		return NULL;
	last_notice[0] = '\0';
	ok = nparams < 0 ? PQsendQuery(conn, sql) :
		PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!ok)
		goto broken;
	for (;;)
	{
		int			f = PQflush(conn);

		if (f == 0)
			break;
		if (f < 0 || !wait_fd(PQsocket(conn), POLLOUT, deadline))
			goto broken;
	}
	for (;;)
	{
		while (!PQisBusy(conn))
		{
			r = PQgetResult(conn);
			if (r == NULL)
				return res;
			if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR)
				PQclear(r);
			else
			{
				if (res != NULL)
					PQclear(res);
				res = r;
			}
		}
		if (!wait_fd(PQsocket(conn), POLLIN, deadline) || !PQconsumeInput(conn))
			goto broken;
	}

broken:
	if (res != NULL)
		PQclear(res);
	drop_connection();
	return NULL;
}

static bool
db_listen(int64_t deadline)
{
	PGresult   *r = db_exec("LISTEN " CHANNEL, -1, NULL, deadline);
	bool		ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;

	if (r == NULL)
		return false;
	if (!ok)
		snprintf(last_error, sizeof(last_error), "%s", PQresultErrorMessage(r));
	PQclear(r);
	if (!ok)
		drop_connection();
	return ok;
}

static const char *
result_error(PGresult *r)
{
	static char buf[1024];
	const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *d = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);

	snprintf(buf, sizeof(buf), "%s%s%s", m ? m : PQresultErrorMessage(r), d ? ": " : "", d ? d : "");
	return buf;
}

/*
 * Record an event under the lease (attach + record in one transaction).
 * Best effort: false, and a log line, if it could not.
 */
static bool
record_event(const char *kind, const char *payload_json, int64_t deadline)
{
	char	   *a;
	char	   *p;
	char	   *k;
	char	   *sql;
	PGresult   *r;
	bool		ok;
	GovPopRequest req;
	uint8_t		ah[HASH_LEN];
	char		proof[GOV_POP_MAX_TEXT + 1] = "";

	if (conn == NULL)
		return false;
	memset(&req, 0, sizeof(req));
	req.op = GOV_POP_ATTACH;
	sha3_512(artifact, strlen(artifact), ah);
	req.artifact_hash = ah;
	req.has_session = true;
	req.session = false;
	if (key_bytes != NULL && build_proof(&req, proof, deadline) == NULL)
	{
		log_state("not_recorded", "kind", kind, "error", last_error[0] ? last_error : "no connection", NULL);
		return false;
	}
	a = PQescapeLiteral(conn, artifact, strlen(artifact));
	p = PQescapeLiteral(conn, payload_json, strlen(payload_json));
	k = PQescapeLiteral(conn, kind, strlen(kind));
	if (a == NULL || p == NULL || k == NULL)
		return false;
	sql = malloc(strlen(a) + strlen(p) + strlen(k) + GOV_POP_MAX_TEXT + 200);
	sprintf(sql, "SELECT governance.attach(%s, false, %s%s%s); SELECT governance.record(%s, %s::jsonb)",
			a, proof[0] ? "'" : "", proof[0] ? proof : "NULL", proof[0] ? "'" : "", k, p);
	PQfreemem(a);
	PQfreemem(p);
	PQfreemem(k);
	r = db_exec(sql, -1, NULL, deadline);
	free(sql);
	ok = r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		log_state("not_recorded", "kind", kind,
				  "error", r ? result_error(r) : (last_error[0] ? last_error : "no connection"), NULL);
	if (r)
		PQclear(r);
	return ok;
}

/* revoke the lease (best effort) */
static void
revoke_lease(const char *reason, int64_t deadline)
{
	const char *params[] = {lease_id, reason};
	PGresult   *r = db_exec("SELECT governance.revoke($1::uuid, $2)", 2, params, deadline);

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		log_state("not_revoked", "lease_id", lease_id,
				  "error", r ? result_error(r) : (last_error[0] ? last_error : "no connection"), NULL);
	if (r)
		PQclear(r);
}

/*
 * Has a notification said that our lease ended?  Reads every notification
 * libpq holds ("<lease id> <state> <reason>"); WHY_NONE if none was ours.
 */
static StopWhy
lease_end_notified(char *detail, size_t size)
{
	PGnotify   *n;
	StopWhy		why = WHY_NONE;

	while (conn != NULL && (n = PQnotifies(conn)) != NULL)
	{
		if (why == WHY_NONE && strncmp(n->extra, lease_id, 36) == 0 && n->extra[36] == ' ')
		{
			const char *state = n->extra + 37;
			const char *reason = strchr(state, ' ');

			reason = reason ? reason + 1 : "";
			snprintf(detail, size, "%s", reason);
			why = strncmp(state, "expired", 7) == 0 ? WHY_EXPIRED :
				strncmp(reason, "policy:", 7) == 0 ? WHY_POLICY :
				strncmp(reason, "integrity:", 10) == 0 ? WHY_INTEGRITY : WHY_REVOKED;
		}
		PQfreemem(n);
	}
	return why;
}

/* ---------------------------------------------------------------------
 * The child
 * ---------------------------------------------------------------------
 */

static pid_t child = -1;
static int	child_status = -1;	/* its wait status once reaped */

/*
 * Fork the command, held before exec until release_child(): the start is
 * recorded with its pid first.  Its own process group (set on both sides,
 * so that a signal to the group can never miss it).
 */
static int	hold_pipe[2];

static void
fork_child(const char *exe, char **argv)
{
	int			err_pipe[2];

	if (pipe2(hold_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
	{
		log_state("error", "error", strerror(errno), NULL);
		exit(EXIT_INTERNAL);
	}
	child = fork();
	if (child < 0)
	{
		log_state("error", "error", strerror(errno), NULL);
		exit(EXIT_INTERNAL);
	}
	if (child == 0)
	{
		char		c;
		int			e;
		sigset_t	none;

		setpgid(0, 0);
		close(hold_pipe[1]);
		close(err_pipe[0]);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (read(hold_pipe[0], &c, 1) != 1)
			_exit(EXIT_INTERNAL);	/* the supervisor gave up */
		setenv("GOVERNANCE_ARTIFACT", artifact, 1);
		setenv("GOVERNANCE_LEASE_ID", lease_id, 1);
		execv(exe, argv);
		e = errno;
		if (write(err_pipe[1], &e, sizeof(e)) < 0)
			_exit(EXIT_CANNOT_EXEC);
		_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	setpgid(child, child);
	close(hold_pipe[0]);
	close(err_pipe[1]);
	hold_pipe[0] = err_pipe[0]; /* kept: tells whether exec worked */
}

/* let the child exec; false if exec failed (errno set) */
static bool
release_child(void)
{
	char		c = 'g';
	int			e;
	ssize_t		n;

	if (write(hold_pipe[1], &c, 1) != 1)
		return false;
	close(hold_pipe[1]);
	/* the error pipe closes on a successful exec */
	do
		n = read(hold_pipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(hold_pipe[0]);
	if (n == sizeof(e))
	{
		errno = e;
		return false;
	}
	return true;
}

/*
 * Has the child exited?  It is reaped only after the rest of its process
 * group has been sent SIGKILL, while its pid (the group's id) cannot have
 * been reused yet: nothing that governance-run started outlives it.
 */
static bool
child_exited(void)
{
	siginfo_t	si;

	if (child_status >= 0)
		return true;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, child, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
		return false;
	(void) kill(-child, SIGKILL);
	while (waitpid(child, &child_status, 0) < 0 && errno == EINTR)
		;
	return true;
}

static int
status_exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_INTERNAL;
}

static char *
itoa_buf(int64_t v, char *buf)
{
	sprintf(buf, "%lld", (long long) v);
	return buf;
}

/* ---------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------
 */

/* was r refused for want of a proof of possession (SQLSTATE 28L01)? */
static bool
pop_refused(PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return st != NULL && strcmp(st, "28L01") == 0;
}

/*
 * sql ($1 lease id, $2 measurement, $3 proof) with a signed heartbeat
 * request when there is a key.  m (mlen bytes) is the measurement that
 * mtext ('\x...') spells.  NULL as db_exec, or if no nonce could be had.
 */
static PGresult *
heartbeat_exec(const char *sql, const unsigned char *m, size_t mlen, const char *mtext, int64_t deadline)
{
	GovPopRequest req;
	uint8_t		lid[16];
	char		proof[GOV_POP_MAX_TEXT + 1] = "";
	const char *params[3];

	memset(&req, 0, sizeof(req));
	req.op = GOV_POP_HEARTBEAT;
	if (!uuid_bytes(lease_id, lid))
		return NULL;
	req.lease_id = lid;
	req.measurement = m;
	req.measurement_len = mlen;
	if (key_bytes != NULL && build_proof(&req, proof, deadline) == NULL)
		return NULL;
	params[0] = lease_id;
	params[1] = mtext;
	params[2] = proof[0] ? proof : NULL;
	return db_exec(sql, 3, params, deadline);
}

static double
parse_seconds(const char *opt, const char *s)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400 * 365)
		usage_error("%s must be a positive number of seconds, not \"%s\"", opt, s);
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"principal", required_argument, NULL, 'p'},
		{"action", required_argument, NULL, 'a'},
		{"resource", required_argument, NULL, 'r'},
		{"context", required_argument, NULL, 'c'},
		{"measure", required_argument, NULL, 'm'},
		{"dbname", required_argument, NULL, 'd'},
		{"ttl", required_argument, NULL, 't'},
		{"heartbeat", required_argument, NULL, 'b'},
		{"grace", required_argument, NULL, 'g'},
		{"key", required_argument, NULL, 'k'},
		{"key-command", required_argument, NULL, 'K'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	int			c;
	char	  **measure_args;
	int			nmeasure = 0;
	char	   *exe;
	char		mhex[2 * HASH_LEN + 3];
	char		buf1[32];
	char		buf2[32];
	char		ttl_text[64];
	int64_t		t_sent;
	int64_t		expiry;			/* local monotonic ms: the lease's expiry */
	int64_t		next_heartbeat;
	int64_t		next_reconnect = 0;
	int64_t		heartbeat_ms;
	int64_t		stop_at = 0;
	int64_t		kill_at = 0;
	bool		killed = false;
	StopWhy		why = WHY_NONE;
	const char *why_detail = "";
	char		detail[1200];
	PGresult   *r;
	struct sigaction sa;
	int			i;
	bool		lease_live;
	int			code;

	measure_args = calloc(argc + 1, sizeof(char *));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'p':
				opt_principal = optarg;
				break;
			case 'a':
				opt_action = optarg;
				break;
			case 'r':
				opt_resource = optarg;
				break;
			case 'c':
				opt_context = optarg;
				break;
			case 'm':
				measure_args[nmeasure++] = optarg;
				break;
			case 'd':
				opt_dbname = optarg;
				break;
			case 't':
				opt_ttl = parse_seconds("--ttl", optarg);
				break;
			case 'b':
				opt_heartbeat = parse_seconds("--heartbeat", optarg);
				break;
			case 'g':
				opt_grace = parse_seconds("--grace", optarg);
				break;
			case 'k':
				opt_key = optarg;
				break;
			case 'K':
				opt_key_command = optarg;
				break;
			case 'j':
				opt_json = true;
				break;
			case 'h':
				help();
				return 0;
			case 'V':
				printf("governance-run %s\n", GR_VERSION);
				return 0;
			default:
				if (optopt)
					usage_error("option %s%s needs an argument or is unknown",
								argv[optind - 1][1] == '-' ? "" : "-", argv[optind - 1]);
				usage_error("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (opt_principal == NULL || opt_action == NULL || opt_resource == NULL)
		usage_error("--principal, --action and --resource are required");
	if (*opt_principal == '\0' || *opt_action == '\0' || *opt_resource == '\0')
		usage_error("--principal, --action and --resource must not be empty");
	if (optind >= argc)
		usage_error("no command to run (put it after --)");
	if (opt_key != NULL && opt_key_command != NULL)
		usage_error("--key and --key-command exclude each other");
	if (opt_heartbeat == 0)
		opt_heartbeat = opt_ttl / 3;
	if (opt_heartbeat >= opt_ttl)
		usage_error("--heartbeat (%g s) must be shorter than --ttl (%g s)", opt_heartbeat, opt_ttl);
	heartbeat_ms = (int64_t) (opt_heartbeat * 1000);
	if (sodium_init() < 0)
	{
		fprintf(stderr, "%s: libsodium could not be initialized\n", progname);
		return EXIT_INTERNAL;
	}

	/* measure */
	exe = resolve_command(argv[optind]);
	if (exe == NULL)
	{
		log_state("not_found", "command", argv[optind], NULL);
		return EXIT_NOT_FOUND;
	}
	nfiles = nmeasure + 1;
	files = calloc(nfiles, sizeof(Measured));
	files[0].path = exe;
	for (i = 0; i < nmeasure; i++)
	{
		files[i + 1].path = realpath(measure_args[i], NULL);
		if (files[i + 1].path == NULL)
		{
			log_state("cannot_measure", "file", measure_args[i], "error", strerror(errno), NULL);
			return EXIT_MEASURE;
		}
	}
	if ((i = measure(files, nfiles, measurement)) >= 0)
	{
		log_state("cannot_measure", "file", files[i].path, "error", strerror(errno), NULL);
		return EXIT_MEASURE;
	}
	mhex[0] = '\\';
	mhex[1] = 'x';
	hex(measurement, HASH_LEN, mhex + 2);
	log_state("measured", "measurement", mhex + 2, "files", itoa_buf(nfiles, buf1), NULL);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (i = 0; i < nfiles && inotify_fd >= 0; i++)
		if (inotify_add_watch(inotify_fd, files[i].path,
							  IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVE_SELF | IN_DELETE_SELF) < 0)
		{
			close(inotify_fd);	/* the heartbeats still measure */
			inotify_fd = -1;
		}
	if (opt_key != NULL)
		load_key(opt_key);
	else if (opt_key_command != NULL)
		load_key_command(opt_key_command);
	if (key_bytes != NULL)
	{
		char		kid[17];

		atexit(forget_key);
		agent_key_id(kid);
		log_state("key_loaded", "agent_key_id", kid, NULL);
	}

	/* signals, before anything can start */
	if (pipe2(sigpipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return EXIT_INTERNAL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* connect, listen, authorize */
	if (!db_connect(now_ms() + CONNECT_TIMEOUT_MS))
	{
		log_state("unavailable", "error", last_error, NULL);
		return EXIT_UNAVAILABLE;
	}
	if (key_bytes != NULL)
	{
		const char *params[] = {opt_context};

		r = db_exec("SELECT pg_catalog.to_regprocedure('governance.challenge()') IS NOT NULL, $1::jsonb::text",
					1, params, now_ms() + CONNECT_TIMEOUT_MS);
		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			log_state("unavailable", "error", r ? result_error(r) : last_error, NULL);
			return EXIT_UNAVAILABLE;
		}
		if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		{
			log_state("key_unused", "key", opt_key ? opt_key : "--key-command",
					  "why", "the server does not support proof of possession; requests are sent unsigned", NULL);
			forget_key();
		}
		else if (!context_hash_of(PQgetvalue(r, 0, 1), context_hash))
		{
			log_state("unavailable", "error", "the server printed the context in a form this governance-run cannot read", NULL);
			return EXIT_UNAVAILABLE;
		}
		PQclear(r);
	}
	snprintf(ttl_text, sizeof(ttl_text), "%lld milliseconds", (long long) llround(opt_ttl * 1000));
	{
		const char *params[] = {opt_principal, opt_action, opt_resource, opt_context, ttl_text, mhex, NULL};
		GovPopRequest req;
		char		proof[GOV_POP_MAX_TEXT + 1] = "";

		memset(&req, 0, sizeof(req));
		req.op = GOV_POP_AUTHORIZE;
		req.principal = opt_principal;
		req.action = opt_action;
		req.resource = opt_resource;
		req.context_hash = context_hash;
		req.has_ttl = true;
		req.ttl_us = (int64_t) llround(opt_ttl * 1000) * 1000;
		req.measurement = measurement;
		req.measurement_len = HASH_LEN;
		if (key_bytes != NULL && build_proof(&req, proof, now_ms() + CONNECT_TIMEOUT_MS) == NULL)
		{
			log_state("unavailable", "error", last_error, NULL);
			return EXIT_UNAVAILABLE;
		}
		params[6] = proof[0] ? proof : NULL;
		t_sent = now_ms();
		r = db_exec("SELECT decision, lease_id, artifact, "
					"floor(extract(epoch FROM expires_at - pg_catalog.clock_timestamp()) * 1000)::bigint, "
					"array_to_string(reasons, '; ') "
					"FROM governance.authorize($1, $2, $3, $4::jsonb, $5::interval, $6::bytea, $7)",
					7, params, t_sent + CONNECT_TIMEOUT_MS);
	}
	if (pop_refused(r))
	{
		log_state("refused", "principal", opt_principal, "error", result_error(r),
				  "hint", key_bytes != NULL ?
				  "the key given is not the agent's registered key (or it was revoked)" :
				  "the agent must prove possession of its key: pass --key FILE or --key-command CMD",
				  NULL);
		return EXIT_NOPROOF;
	}
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
	{
		log_state("unavailable", "error", r ? result_error(r) : last_error, NULL);
		return EXIT_UNAVAILABLE;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "allow") != 0)
	{
		log_state("denied", "principal", opt_principal, "action", opt_action,
				  "resource", opt_resource, "reasons", PQgetvalue(r, 0, 4), NULL);
		return EXIT_DENIED;
	}
	snprintf(lease_id, sizeof(lease_id), "%s", PQgetvalue(r, 0, 1));
	artifact = strdup(PQgetvalue(r, 0, 2));
	expiry = t_sent + strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	PQclear(r);
	next_heartbeat = t_sent + heartbeat_ms;
	log_state("authorized", "lease_id", lease_id,
			  "expires_in_ms", itoa_buf(expiry - now_ms(), buf1), NULL);

	/* start: forked, recorded with its pid, then released */
	fork_child(exe, argv + optind);
	{
		char		payload[PATH_MAX + 512];
		char		jexe[PATH_MAX + 64];

		json_inner(exe, jexe, sizeof(jexe));
		snprintf(payload, sizeof(payload),
				 "{\"pid\": %d, \"executable\": \"%s\", \"measurement\": \"%s\", \"files\": %d}",
				 (int) child, jexe, mhex + 2, nfiles);
		if (!record_event("run.start", payload, expiry))
		{
			(void) kill(-child, SIGKILL);
			while (!child_exited())
				usleep(1000);
			revoke_lease("governance-run: the start could not be recorded", expiry);
			return EXIT_INTERNAL;
		}
	}
	if (!release_child())
	{
		int			e = errno;

		while (!child_exited())
			usleep(1000);
		log_state("cannot_execute", "command", exe, "error", strerror(e), NULL);
		revoke_lease("governance-run: the command could not be started", expiry);
		return e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	log_state("running", "lease_id", lease_id, "pid", itoa_buf(child, buf1), NULL);

	/* supervise */
	for (;;)
	{
		int64_t		now = now_ms();
		int64_t		wake;
		struct pollfd p[3];
		int			np = 0;

		/* notifications libpq read while it waited for a result */
		if (why == WHY_NONE && (why = lease_end_notified(detail, sizeof(detail))) != WHY_NONE)
			why_detail = detail;
		/* a stop decided elsewhere in the loop */
		if (why == WHY_NONE && got_signal)
		{
			why = WHY_INTERRUPTED;
			why_detail = got_signal == SIGINT ? "SIGINT" : got_signal == SIGHUP ? "SIGHUP" : "SIGTERM";
		}
		if (why == WHY_NONE && now >= expiry - EXPIRY_MARGIN_MS)
		{
			why = conn == NULL ? WHY_UNREACHABLE : WHY_EXPIRED;
			why_detail = conn == NULL ? last_error : "the lease reached its expiry";
		}
		if (why != WHY_NONE && stop_at == 0)
		{
			stop_at = now;
			kill_at = now + (int64_t) (opt_grace * 1000);
			(void) kill(-child, SIGTERM);
			log_state("stopping", "why", why_word[why], "detail", why_detail, "pid", itoa_buf(child, buf1),
					  "signal", "SIGTERM", NULL);
		}
		if (stop_at != 0 && !killed && now >= kill_at && !child_exited())
		{
			(void) kill(-child, SIGKILL);
			killed = true;
			log_state("killed", "pid", itoa_buf(child, buf1), "signal", "SIGKILL",
					  "after_ms", itoa_buf(now - stop_at, buf2), NULL);
		}
		if (child_exited())
			break;

		/* renew, measuring again first */
		if (why == WHY_NONE && ((conn != NULL && now >= next_heartbeat) || files_touched))
		{
			unsigned char m[HASH_LEN];
			unsigned char old[HASH_LEN];
			const char *changed = NULL;
			char		nhex[2 * HASH_LEN + 3];

			for (i = 0; i < nfiles && changed == NULL; i++)
			{
				memcpy(old, files[i].digest, HASH_LEN);
				if (measure(&files[i], 1, m) >= 0 || memcmp(old, files[i].digest, HASH_LEN) != 0)
					changed = files[i].path;
			}
			files_touched = false;
			if (changed == NULL && (conn == NULL || now < next_heartbeat))
				continue;		/* touched, unchanged: no heartbeat due */
			if (changed != NULL)
			{
				/* fail closed first: stop, then record and revoke */
				int64_t		t = now_ms();

				why = WHY_INTEGRITY;
				snprintf(detail, sizeof(detail), "%s changed", changed);
				why_detail = detail;
				stop_at = t;
				kill_at = t + (int64_t) (opt_grace * 1000);
				(void) kill(-child, SIGTERM);
				log_state("stopping", "why", why_word[why], "detail", why_detail,
						  "pid", itoa_buf(child, buf1), "signal", "SIGTERM", NULL);
				{
					char		payload[PATH_MAX + 128];
					char		jpath[PATH_MAX + 64];

					json_inner(changed, jpath, sizeof(jpath));
					snprintf(payload, sizeof(payload), "{\"why\": \"integrity\", \"changed\": \"%s\"}", jpath);
					(void) record_event("run.stop", payload, expiry);
				}

				/* the new measurement: the server revokes the lease */
				if (measure(files, nfiles, m) < 0)
				{
					nhex[0] = '\\';
					nhex[1] = 'x';
					hex(m, HASH_LEN, nhex + 2);
					r = heartbeat_exec("SELECT governance.heartbeat($1::uuid, $2::bytea, $3)",
									   m, HASH_LEN, nhex, expiry);
				}
				else
				{
					static const unsigned char zero[1] = {0};

					r = heartbeat_exec("SELECT governance.heartbeat($1::uuid, $2::bytea, $3)",
									   zero, 1, "\\x00", expiry);
				}
				if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || !PQgetisnull(r, 0, 0))
				{
					if (r)
						PQclear(r);
					revoke_lease("integrity: a measured file changed", expiry);
				}
				else
					PQclear(r);
				continue;
			}
			t_sent = now_ms();
			r = heartbeat_exec("SELECT floor(extract(epoch FROM h - pg_catalog.clock_timestamp()) * 1000)::bigint "
							   "FROM governance.heartbeat($1::uuid, $2::bytea, $3) h",
							   measurement, HASH_LEN, mhex, expiry - EXPIRY_MARGIN_MS);
			next_heartbeat = t_sent + heartbeat_ms;
			if (r == NULL)
			{
				log_state("disconnected", "error", last_error, NULL);
				next_reconnect = now_ms();
			}
			else if (PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0))
			{
				int64_t		e = t_sent + strtoll(PQgetvalue(r, 0, 0), NULL, 10);

				if (e > expiry)
					log_state("renewed", "lease_id", lease_id, "expires_in_ms", itoa_buf(e - now_ms(), buf1), NULL);
				expiry = e;
			}
			else if (PQresultStatus(r) == PGRES_TUPLES_OK)
			{
				/* NULL: the heartbeat revoked it; the WARNING says why */
				const char *w = strstr(last_notice, " revoked: ");

				snprintf(detail, sizeof(detail), "%s", w ? w + 10 : last_notice);
				why_detail = detail;
				why = strncmp(why_detail, "policy:", 7) == 0 ? WHY_POLICY :
					strncmp(why_detail, "integrity:", 10) == 0 ? WHY_INTEGRITY : WHY_REVOKED;
			}
			else
			{
				const char *m2 = result_error(r);

				snprintf(detail, sizeof(detail), "%s", m2);
				if (pop_refused(r))
				{
					/* the key was rotated or revoked: no renewal can succeed */
					why = WHY_PROOF;
					why_detail = detail;
				}
				else if (strstr(m2, "trust degraded") != NULL)
				{
					why = WHY_TRUST;
					why_detail = detail;
				}
				else if (strstr(m2, " is revoked") != NULL || strstr(m2, " is expired") != NULL ||
						 strstr(m2, "no longer live") != NULL || strstr(m2, "does not exist") != NULL)
				{
					why = strstr(m2, " is expired") != NULL ? WHY_EXPIRED :
						strstr(m2, "policy:") != NULL ? WHY_POLICY :
						strstr(m2, "integrity:") != NULL ? WHY_INTEGRITY : WHY_REVOKED;
					why_detail = detail;
				}
				else
				{
					/* not renewed: the expiry it had still holds */
					log_state("not_renewed", "error", m2, NULL);
				}
			}
			if (r)
				PQclear(r);
			continue;
		}

		/* reconnect; a revocation missed meanwhile shows in the heartbeat */
		if (why == WHY_NONE && conn == NULL && now >= next_reconnect)
		{
			next_reconnect = now + RECONNECT_EVERY_MS;
			if (db_connect(Min_i64(now + 2000, expiry - EXPIRY_MARGIN_MS)))
			{
				log_state("reconnected", NULL);
				next_heartbeat = now_ms();
			}
			continue;
		}

		/* wait for a notification, a signal, or the next thing due */
		wake = stop_at != 0 ? (killed ? now + 100 : kill_at) : expiry - EXPIRY_MARGIN_MS;
		if (why == WHY_NONE && conn != NULL && next_heartbeat < wake)
			wake = next_heartbeat;
		if (why == WHY_NONE && conn == NULL && next_reconnect < wake)
			wake = next_reconnect;
		p[np].fd = sigpipe[0];
		p[np++].events = POLLIN;
		p[np].fd = inotify_fd;	/* ignored by poll() when -1 */
		p[np++].events = POLLIN;
		if (conn != NULL)
		{
			p[np].fd = PQsocket(conn);
			p[np++].events = POLLIN;
		}
		for (i = 0; i < np; i++)
			p[i].revents = 0;
		if (wake - now > 0 && poll(p, np, (int) Min_i64(wake - now, INT_MAX)) < 0)
			continue;			/* EINTR: a signal, seen at the top */
		if (p[0].revents)
			drain_sigpipe();
		if (p[1].revents)
		{
			char		ev[4096];

			while (read(inotify_fd, ev, sizeof(ev)) > 0)
				;
			files_touched = true;
		}
		if (conn != NULL && np > 2 && p[2].revents)
		{
			if (!PQconsumeInput(conn))
			{
				drop_connection();
				log_state("disconnected", "error", last_error, NULL);
				next_reconnect = now_ms() + RECONNECT_EVERY_MS;
				continue;
			}
			if (why == WHY_NONE && (why = lease_end_notified(detail, sizeof(detail))) != WHY_NONE)
				why_detail = detail;
		}
	}

	/* the command has exited */
	code = status_exit_code(child_status);
	lease_live = why == WHY_NONE || why == WHY_INTERRUPTED;
	log_state("exited", "pid", itoa_buf(child, buf1), "status", itoa_buf(code, buf2),
			  "why", why == WHY_NONE ? "exited" : why_word[why],
			  "stopped_by_governance", why != WHY_NONE && why != WHY_INTERRUPTED ? "true" : "false", NULL);
	if (lease_live)
	{
		char		payload[1600];
		char		reason[1100];
		int64_t		deadline = Min_i64(now_ms() + CONNECT_TIMEOUT_MS, expiry);

		if (conn == NULL)
			(void) db_connect(deadline);
		snprintf(payload, sizeof(payload), "{\"why\": \"%s\", \"status\": %d, \"detail\": \"%s\"}",
				 why == WHY_NONE ? "exited" : "interrupted", code, why == WHY_NONE ? "" : why_detail);
		(void) record_event("run.stop", payload, deadline);
		if (why == WHY_NONE)
			snprintf(reason, sizeof(reason), "governance-run: the command exited with status %d", code);
		else
			snprintf(reason, sizeof(reason), "governance-run: interrupted by %.900s", why_detail);
		revoke_lease(reason, deadline);
	}
	else if (why == WHY_PROOF && conn != NULL)
		revoke_lease("governance-run: stopped: a renewal's proof of possession was refused",
					 Min_i64(now_ms() + CONNECT_TIMEOUT_MS, expiry));
	else if (why == WHY_TRUST && conn != NULL)
	{
		/*
		 * A degraded server revokes nothing (the cause may pass); the run is
		 * over, so its lease is given back.  (An unreachable server's lease
		 * has expired by now.)
		 */
		revoke_lease("governance-run: stopped: trust degraded", Min_i64(now_ms() + CONNECT_TIMEOUT_MS, expiry));
	}
	if (conn != NULL)
		PQfinish(conn);
	if (why == WHY_INTERRUPTED)
		return 128 + got_signal;
	return why == WHY_NONE ? code : why_exit[why];
}
