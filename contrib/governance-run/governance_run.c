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
 *	  is asynchronous and bounded by the expiry, so a hung server can
 *	  never hold the loop past it.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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

#define GR_VERSION "0.2"

/* Exit statuses (README, "governance-run"), besides the command's own. */
#define EXIT_USAGE			64	/* bad arguments */
#define EXIT_DENIED			65	/* the policy denied the authorization */
#define EXIT_MEASURE		66	/* a file to measure could not be read */
#define EXIT_UNAVAILABLE	69	/* no database, or authorize() failed */
#define EXIT_INTERNAL		70	/* could not start or supervise */
#define EXIT_REVOKED		80	/* stopped: the lease was revoked */
#define EXIT_EXPIRED		81	/* stopped: the lease expired */
#define EXIT_INTEGRITY		82	/* stopped: a measured file changed */
#define EXIT_POLICY			83	/* stopped: the policy no longer allows it */
#define EXIT_TRUST			84	/* stopped: the server's trust is degraded */
#define EXIT_UNREACHABLE	85	/* stopped: no database before the expiry */
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
	WHY_INTERRUPTED
} StopWhy;

static const char *const why_word[] = {
	"", "revoked", "expired", "integrity", "policy", "trust", "unreachable", "interrupted"
};
static const int why_exit[] = {
	0, EXIT_REVOKED, EXIT_EXPIRED, EXIT_INTEGRITY, EXIT_POLICY, EXIT_TRUST, EXIT_UNREACHABLE, 0
};

/* options */
static const char *opt_principal;
static const char *opt_action;
static const char *opt_resource;
static const char *opt_context = "{}";
static const char *opt_dbname;
static const char *opt_key;
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
		   "                   [--key FILE] [--json] -- COMMAND [ARG]...\n"
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
		   "    --key FILE         the agent's Ed25519 key (mode 0600), for servers\n"
		   "                       that require proof of possession\n"
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
		   "    126  cannot execute         85  stopped: database unreachable\n"
		   "    127  command not found          before the lease's expiry\n"
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
 * Proof of possession
 *
 * Servers whose agents must sign their requests (governance.challenge())
 * define the signed-request format in docs/FORMAT.md.  This build sends
 * unsigned requests; build_proof() is where the signature over that
 * format goes, and it returns NULL ("no proof").
 * ---------------------------------------------------------------------
 */

static void
load_key(const char *path)
{
	struct stat st;
	int			fd;
	ssize_t		n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
		usage_error("could not open key file \"%s\": %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		usage_error("key file \"%s\" is not a regular file", path);
	if ((st.st_mode & 077) != 0)
		usage_error("key file \"%s\" is readable by others (mode %04o); it must be 0600",
					path, (unsigned) (st.st_mode & 07777));
	if (st.st_size <= 0 || st.st_size > 4096)
		usage_error("key file \"%s\" has an impossible size (%lld bytes)", path, (long long) st.st_size);
	key_bytes = sodium_malloc(st.st_size);
	if (key_bytes == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(EXIT_INTERNAL);
	}
	n = read(fd, key_bytes, st.st_size);
	close(fd);
	if (n != st.st_size)
		usage_error("could not read key file \"%s\"", path);
	key_len = n;
}

static void
forget_key(void)
{
	if (key_bytes != NULL)
	{
		sodium_free(key_bytes); /* zeroes it */
		key_bytes = NULL;
		key_len = 0;
	}
}

/* the proof for one request, or NULL: none (see above) */
static const char *
build_proof(const char *function)
{
	(void) function;
	return NULL;
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

	if (conn == NULL)
		return false;
	a = PQescapeLiteral(conn, artifact, strlen(artifact));
	p = PQescapeLiteral(conn, payload_json, strlen(payload_json));
	k = PQescapeLiteral(conn, kind, strlen(kind));
	if (a == NULL || p == NULL || k == NULL)
		return false;
	sql = malloc(strlen(a) + strlen(p) + strlen(k) + 200);
	sprintf(sql, "SELECT governance.attach(%s); SELECT governance.record(%s, %s::jsonb)", a, k, p);
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
		r = db_exec("SELECT pg_catalog.to_regprocedure('governance.challenge()') IS NOT NULL",
					-1, NULL, now_ms() + CONNECT_TIMEOUT_MS);
		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			log_state("unavailable", "error", r ? result_error(r) : last_error, NULL);
			return EXIT_UNAVAILABLE;
		}
		if (strcmp(PQgetvalue(r, 0, 0), "t") == 0 && build_proof("authorize") == NULL)
		{
			log_state("unavailable", "error",
					  "the server supports proof of possession, which this governance-run cannot produce yet",
					  NULL);
			forget_key();
			return EXIT_UNAVAILABLE;
		}
		PQclear(r);
		log_state("key_unused", "key", opt_key,
				  "why", "the server does not support proof of possession; requests are sent unsigned", NULL);
		forget_key();
	}
	snprintf(ttl_text, sizeof(ttl_text), "%.3f seconds", opt_ttl);
	{
		const char *params[] = {opt_principal, opt_action, opt_resource, opt_context, ttl_text, mhex};

		t_sent = now_ms();
		r = db_exec("SELECT decision, lease_id, artifact, "
					"floor(extract(epoch FROM expires_at - pg_catalog.clock_timestamp()) * 1000)::bigint, "
					"array_to_string(reasons, '; ') "
					"FROM governance.authorize($1, $2, $3, $4::jsonb, $5::interval, $6::bytea)",
					6, params, t_sent + CONNECT_TIMEOUT_MS);
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
			const char *params[] = {lease_id, mhex};
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
					params[1] = nhex;
				}
				else
					params[1] = "\\x00";
				r = db_exec("SELECT governance.heartbeat($1::uuid, $2::bytea)", 2, params, expiry);
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
			r = db_exec("SELECT floor(extract(epoch FROM h - pg_catalog.clock_timestamp()) * 1000)::bigint "
						"FROM governance.heartbeat($1::uuid, $2::bytea) h",
						2, params, expiry);
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
				if (strstr(m2, "trust degraded") != NULL)
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
