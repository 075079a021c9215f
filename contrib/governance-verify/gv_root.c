/*-------------------------------------------------------------------------
 *
 * gv_root.c
 *	  governance-verify root-keygen, root-seal and root-verify: a signed
 *	  root over the heads (newest checkpoints) of many logs, chained root
 *	  to root (docs/FORMAT.md section 19).
 *
 *	  The sealer is this command run by cron: it reads each log's
 *	  checkpoint (and, when a head moved, a consistency proof from the
 *	  previous root's head), files written with psql, so the CLI stays
 *	  without libpq.  The verifier checks a chain of roots and one exported
 *	  bundle per registered log.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "gv.h"
#include "gv_root.h"

#define ROOT_MAX_LOGS	256
#define ROOT_MAX_ROOTS	1024
#define TAG_ROOT		"governance.v1.root"
#define TAG_ROOT_LEAF	"governance.v1.root-leaf"
#define TAG_ROOT_NODE	"governance.v1.root-node"
#define TAG_ROOT_HASH	"governance.v1.root-hash"

typedef struct RegLog
{
	char		name[64];
	uint8_t		log_id[GOV_EV_LOG_ID];
	uint8_t		pk[GOV_EV_PK];
	const char *input;			/* seal: checkpoint; verify: bundle */
	const char *proof;			/* seal: consistency proof, or NULL */
} RegLog;

typedef struct Root
{
	int64_t		seq;
	int64_t		sealed_at;
	bool		has_prev;
	uint8_t		prev[GOV_EV_HASH];
	int			nlogs;
	GovEvCheckpoint heads[ROOT_MAX_LOGS];
	uint8_t		merkle[GOV_EV_HASH];
	char		key_id[GOV_EV_KEY_ID + 1];
	uint8_t		signature[GOV_EV_SIG];
} Root;

static bool json_out;

static void
			root_bad(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));

static void
root_bad(const char *fmt,...)
{
	va_list		ap;

	fputs("governance-verify: bad input: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(GV_BAD_INPUT);
}

static int
			root_failed(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));

/* print FAILED: problem (or the JSON form) and return GV_TAMPERED */
static int
root_failed(const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];
	const char *p;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!json_out)
	{
		printf("FAILED: %s\n", buf);
		return GV_TAMPERED;
	}
	printf("{\"verified\": false, \"status\": \"tampered\", \"what\": \"root\", \"problem\": \"");
	for (p = buf; *p; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char) *p >= 0x20)
			putchar(*p);
	printf("\"}\n");
	return GV_TAMPERED;
}

/* ---- bytes (FORMAT.md section 1's field(): 4-byte big-endian length) */

typedef struct Buf
{
	uint8_t    *p;
	size_t		len;
	size_t		cap;
} Buf;

static void
put_field(Buf *b, const void *p, size_t n)
{
	if (b->len + 4 + n > b->cap)
	{
		b->cap = (b->len + 4 + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			root_bad("out of memory");
	}
	b->p[b->len++] = (uint8_t) (n >> 24);
	b->p[b->len++] = (uint8_t) (n >> 16);
	b->p[b->len++] = (uint8_t) (n >> 8);
	b->p[b->len++] = (uint8_t) n;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_text(Buf *b, const char *s)
{
	put_field(b, s, strlen(s));
}

static void
put_int(Buf *b, int64_t v)
{
	uint8_t		x[8];
	int			i;

	for (i = 0; i < 8; i++)
		x[i] = (uint8_t) ((uint64_t) v >> (56 - 8 * i));
	put_field(b, x, 8);
}

static void
root_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg)
{
	Buf			b = {NULL, 0, 0};

	(void) arg;
	put_text(&b, TAG_ROOT_NODE);
	put_field(&b, l, GOV_EV_HASH);
	put_field(&b, r, GOV_EV_HASH);
	gv_sha3_512(b.p, b.len, out);
	free(b.p);
}

/* a log's leaf: its head, the checkpoint bytes and their signature */
static void
root_leaf(const GovEvCheckpoint *c, uint8_t *out)
{
	Buf			b = {NULL, 0, 0};

	put_text(&b, TAG_ROOT_LEAF);
	put_field(&b, c->log_id, GOV_EV_LOG_ID);
	put_int(&b, c->block_id);
	put_field(&b, c->block_hash, GOV_EV_HASH);
	put_int(&b, c->last_seq);
	put_int(&b, c->total_rows);
	put_int(&b, c->sealed_at);
	put_text(&b, c->key_id);
	put_field(&b, c->signature, GOV_EV_SIG);
	gv_sha3_512(b.p, b.len, out);
	free(b.p);
}

static void
root_merkle(const Root *r, uint8_t *out)
{
	uint8_t    *leaves = malloc((size_t) (r->nlogs > 0 ? r->nlogs : 1) * GOV_EV_HASH);
	int			i;

	if (leaves == NULL)
		root_bad("out of memory");
	for (i = 0; i < r->nlogs; i++)
		root_leaf(&r->heads[i], leaves + (size_t) i * GOV_EV_HASH);
	if (r->nlogs == 0)
		memset(out, 0, GOV_EV_HASH);
	else
		gov_ev_merkle_root(leaves, r->nlogs, out, root_node, NULL);
	free(leaves);
}

/* the signed bytes of a root */
static void
root_bytes(const Root *r, Buf *b)
{
	put_text(b, TAG_ROOT);
	put_int(b, r->seq);
	put_int(b, r->sealed_at);
	if (r->has_prev)
		put_field(b, r->prev, GOV_EV_HASH);
	else
	{
		/* NULL: 0xFFFFFFFF, no bytes (FORMAT.md section 1) */
		put_field(b, "", 0);
		memset(b->p + b->len - 4, 0xFF, 4);
	}
	put_int(b, r->nlogs);
	put_field(b, r->merkle, GOV_EV_HASH);
	put_text(b, r->key_id);
}

/* the hash the next root names as prev: over the signed bytes and the signature */
static void
root_hash(const Root *r, uint8_t *out)
{
	Buf			b = {NULL, 0, 0};

	put_text(&b, TAG_ROOT_HASH);
	root_bytes(r, &b);
	put_field(&b, r->signature, GOV_EV_SIG);
	gv_sha3_512(b.p, b.len, out);
	free(b.p);
}

/* ---- text */

static void
put_hex_file(FILE *f, const uint8_t *p, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void
root_write(FILE *f, const Root *r)
{
	int			i;

	fprintf(f, "governance-root 1\nseq %lld\nsealed_at_us %lld\nprev ",
			(long long) r->seq, (long long) r->sealed_at);
	if (r->has_prev)
		put_hex_file(f, r->prev, GOV_EV_HASH);
	else
		fputc('-', f);
	fprintf(f, "\nlogs %d\n", r->nlogs);
	for (i = 0; i < r->nlogs; i++)
	{
		const GovEvCheckpoint *c = &r->heads[i];

		fputs("head ", f);
		put_hex_file(f, c->log_id, GOV_EV_LOG_ID);
		fprintf(f, " %lld ", (long long) c->block_id);
		put_hex_file(f, c->block_hash, GOV_EV_HASH);
		fprintf(f, " %lld %lld %lld %s ", (long long) c->last_seq,
				(long long) c->total_rows, (long long) c->sealed_at, c->key_id);
		put_hex_file(f, c->signature, GOV_EV_SIG);
		fputc('\n', f);
	}
	fputs("merkle_root ", f);
	put_hex_file(f, r->merkle, GOV_EV_HASH);
	fprintf(f, "\nkey_id %s\nsignature ", r->key_id);
	put_hex_file(f, r->signature, GOV_EV_SIG);
	fputc('\n', f);
}

static char *
read_small(const char *path, size_t max)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char	   *buf;
	size_t		n;

	if (f == NULL)
		root_bad("cannot open %s: %s", path, strerror(errno));
	buf = malloc(max + 1);
	if (buf == NULL)
		root_bad("out of memory");
	n = fread(buf, 1, max + 1, f);
	if (ferror(f))
		root_bad("cannot read %s: %s", path, strerror(errno));
	if (n > max)
		root_bad("%s is larger than %zu bytes", path, max);
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	if (strlen(buf) != n)
		root_bad("%s holds a NUL byte", path);
	return buf;
}

static bool
hex_exact(const char *s, uint8_t *out, size_t n)
{
	return strlen(s) == 2 * n && gov_ev_parse_hex(s, out, n);
}

/* parse a root file; NULL on success, else what is wrong */
static const char *
root_parse(char *text, Root *r)
{
	char	   *save = NULL;
	char	   *line;
	int			want = 0;
	char		kid[64];
	char		prev[200];
	char		h[8][300];
	long long	a,
				b;
	int			i;

	memset(r, 0, sizeof(*r));
	line = strtok_r(text, "\n", &save);
	if (line == NULL || strcmp(line, "governance-root 1") != 0)
		return "not a root (the first line is not \"governance-root 1\")";
	if ((line = strtok_r(NULL, "\n", &save)) == NULL || sscanf(line, "seq %lld%n", &a, &i) != 1 ||
		line[i] || a < 1)
		return "bad seq line";
	r->seq = a;
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
		sscanf(line, "sealed_at_us %lld%n", &b, &i) != 1 || line[i])
		return "bad sealed_at_us line";
	r->sealed_at = b;
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
		sscanf(line, "prev %199s%n", prev, &i) != 1 || line[i])
		return "bad prev line";
	if (strcmp(prev, "-") != 0)
	{
		if (!hex_exact(prev, r->prev, GOV_EV_HASH))
			return "bad prev hash";
		r->has_prev = true;
	}
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
		sscanf(line, "logs %d%n", &want, &i) != 1 || line[i] || want < 0 || want > ROOT_MAX_LOGS)
		return "bad logs line";
	r->nlogs = want;
	for (int k = 0; k < want; k++)
	{
		GovEvCheckpoint *c = &r->heads[k];
		long long	v[4];

		if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
			sscanf(line, "head %299s %lld %299s %lld %lld %lld %299s %299s%n",
				   h[0], &v[0], h[1], &v[1], &v[2], &v[3], h[2], h[3], &i) != 8 || line[i])
			return "bad head line (or fewer heads than logs says)";
		if (!hex_exact(h[0], c->log_id, GOV_EV_LOG_ID) || !hex_exact(h[1], c->block_hash, GOV_EV_HASH) ||
			strlen(h[2]) != GOV_EV_KEY_ID || !hex_exact(h[3], c->signature, GOV_EV_SIG))
			return "bad head line";
		c->block_id = v[0];
		c->last_seq = v[1];
		c->total_rows = v[2];
		c->sealed_at = v[3];
		memcpy(c->key_id, h[2], GOV_EV_KEY_ID + 1);
		c->version = 2;
		c->v2_line = true;
	}
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
		sscanf(line, "merkle_root %299s%n", h[0], &i) != 1 || line[i] ||
		!hex_exact(h[0], r->merkle, GOV_EV_HASH))
		return "bad merkle_root line";
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
		sscanf(line, "key_id %63s%n", kid, &i) != 1 || line[i] || strlen(kid) != GOV_EV_KEY_ID)
		return "bad key_id line";
	memcpy(r->key_id, kid, GOV_EV_KEY_ID + 1);
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
		sscanf(line, "signature %299s%n", h[0], &i) != 1 || line[i] ||
		!hex_exact(h[0], r->signature, GOV_EV_SIG))
		return "bad signature line";
	if (strtok_r(NULL, "\n", &save) != NULL)
		return "text after the signature";
	return NULL;
}

static void
root_read(const char *path, Root *r)
{
	char	   *text = read_small(path, 1 << 20);
	const char *err = root_parse(text, r);

	if (err)
		root_bad("root %s: %s", path, err);
	free(text);
}

/* 64 hex digits (optionally in a file), as --key reads them */
static void
read_hex32(const char *arg, uint8_t *out, const char *what)
{
	char		hex[65];
	char	   *text = NULL;
	const char *s = arg;
	size_t		n;

	if (!(strlen(arg) == 64 && strspn(arg, "0123456789abcdefABCDEF") == 64))
	{
		text = read_small(arg, 4096);
		s = text;
	}
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	if (s[0] == '\\' && s[1] == 'x')
		s += 2;
	n = strspn(s, "0123456789abcdefABCDEF");
	if (n != 64 || strspn(s + n, " \n\r\t") != strlen(s + n))
		root_bad("%s %s: not 64 hexadecimal digits", what, arg);
	memcpy(hex, s, 64);
	hex[64] = '\0';
	for (n = 0; n < 64; n++)
		if (hex[n] >= 'A' && hex[n] <= 'F')
			hex[n] = (char) (hex[n] - 'A' + 'a');
	if (!gov_ev_parse_hex(hex, out, 32))
		root_bad("%s %s: not 64 hexadecimal digits", what, arg);
	sodium_memzero(hex, sizeof(hex));
	if (text)
		sodium_memzero(text, strlen(text));
	free(text);
}

static bool
parse_log_id(const char *s, uint8_t *out)
{
	char		hex[33];
	size_t		n = 0;

	for (; *s && n < 32; s++)
		if (*s != '-')
			hex[n++] = (*s >= 'A' && *s <= 'F') ? (char) (*s - 'A' + 'a') : *s;
	hex[n] = '\0';
	return *s == '\0' && n == 32 && gov_ev_parse_hex(hex, out, GOV_EV_LOG_ID);
}

/*
 * The registry: one log a line, "NAME LOG_ID KEY" (KEY: 64 hex digits or a
 * file holding them), # comments; sorted here by log id.
 */
static int
log_cmp(const void *a, const void *b)
{
	return memcmp(((const RegLog *) a)->log_id, ((const RegLog *) b)->log_id, GOV_EV_LOG_ID);
}

static int
registry_read(const char *path, RegLog *logs)
{
	char	   *text = read_small(path, 1 << 20);
	char	   *save = NULL;
	char	   *line;
	int			n = 0;
	int			lineno = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char		name[200],
					id[200],
					key[4096],
					extra[2];
		int			k;

		lineno++;
		if (line[strspn(line, " \t\r")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		k = sscanf(line, "%199s %199s %4095s %1s", name, id, key, extra);
		if (k != 3)
			root_bad("registry %s line %d: want NAME LOG_ID KEY", path, lineno);
		if (n == ROOT_MAX_LOGS)
			root_bad("registry %s: more than %d logs", path, ROOT_MAX_LOGS);
		if (strlen(name) >= sizeof(logs[n].name))
			root_bad("registry %s line %d: the name is too long", path, lineno);
		memset(&logs[n], 0, sizeof(logs[n]));
		strcpy(logs[n].name, name);
		if (!parse_log_id(id, logs[n].log_id))
			root_bad("registry %s line %d: %s is not a log id (32 hex digits or a UUID)", path, lineno, id);
		read_hex32(key, logs[n].pk, "registry key");
		for (k = 0; k < n; k++)
			if (strcmp(logs[k].name, name) == 0 || memcmp(logs[k].log_id, logs[n].log_id, GOV_EV_LOG_ID) == 0)
				root_bad("registry %s line %d: log %s is registered twice", path, lineno, name);
		n++;
	}
	free(text);
	if (n == 0)
		root_bad("registry %s names no log", path);
	qsort(logs, n, sizeof(RegLog), log_cmp);
	return n;
}

static RegLog *
find_log(RegLog *logs, int n, const char *name)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(logs[i].name, name) == 0)
			return &logs[i];
	return NULL;
}

/* NAME=FILE of --checkpoint / --consistency / --bundle */
static void
assign_input(RegLog *logs, int n, const char *arg, bool proof, const char *opt)
{
	const char *eq = strchr(arg, '=');
	char		name[200];
	RegLog	   *l;

	if (eq == NULL || eq == arg || (size_t) (eq - arg) >= sizeof(name) || eq[1] == '\0')
		root_bad("%s %s: want NAME=FILE", opt, arg);
	memcpy(name, arg, eq - arg);
	name[eq - arg] = '\0';
	l = find_log(logs, n, name);
	if (l == NULL)
		root_bad("%s %s: no log %s in the registry", opt, arg, name);
	if (proof)
		l->proof = eq + 1;
	else
		l->input = eq + 1;
}

static void
id_text(const uint8_t *id, char *out)
{
	static const char hx[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < GOV_EV_LOG_ID; i++)
	{
		out[2 * i] = hx[id[i] >> 4];
		out[2 * i + 1] = hx[id[i] & 15];
	}
	out[32] = '\0';
}

/* run the evidence engine over a file (a bundle or a consistency proof) */
static void
run_engine(const char *path, const GvTrust *trust, GvResult *res)
{
	FILE	   *f = fopen(path, "rb");
	GvState    *st;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	bool		complete = true;

	if (f == NULL)
		root_bad("cannot open %s: %s", path, strerror(errno));
	st = gv_begin(trust, res);
	while ((n = getline(&line, &cap, f)) > 0)
	{
		if (line[n - 1] != '\n')
		{
			complete = false;
			break;
		}
		line[--n] = '\0';
		if (!gv_line(st, line, (size_t) n))
			break;
	}
	if (ferror(f))
		root_bad("cannot read %s: %s", path, strerror(errno));
	if (res->status == GV_VERIFIED)
		gv_finish(st, complete);
	gv_free(st);
	free(line);
	fclose(f);
}

static bool
root_signature_ok(const Root *r, const uint8_t *pk)
{
	Buf			b = {NULL, 0, 0};
	bool		ok;

	root_bytes(r, &b);
	ok = gv_ed25519_verify(r->signature, b.p, b.len, pk);
	free(b.p);
	return ok;
}

/* ---- root-keygen FILE: a new root key (the seed, 0600); prints the public key */
static int
root_keygen(const char *path)
{
	uint8_t		seed[32],
				pk[32],
				sk[64];
	int			fd;
	FILE	   *f;
	int			i;

	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		root_bad("cannot create %s: %s", path, strerror(errno));
	f = fdopen(fd, "w");
	for (i = 0; i < 32; i++)
		fprintf(f, "%02x", seed[i]);
	fputc('\n', f);
	if (fclose(f) != 0)
		root_bad("cannot write %s: %s", path, strerror(errno));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	for (i = 0; i < 32; i++)
		printf("%02x", pk[i]);
	printf("\n");
	return 0;
}

/* ---- root-seal */
static int
root_seal(int nlogs, RegLog *logs, const char *keyfile, const char *prevpath, const char *out)
{
	uint8_t		seed[32],
				pk[32],
				sk[64];
	Root		prev;
	Root	   *r = calloc(1, sizeof(Root));
	Buf			b = {NULL, 0, 0};
	struct timespec ts;
	FILE	   *f;
	int			i;
	char		tmp[4200];

	if (r == NULL)
		root_bad("out of memory");
	read_hex32(keyfile, seed, "--root-key");
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	gv_key_id(pk, r->key_id);
	if (prevpath)
	{
		root_read(prevpath, &prev);
		if (strcmp(prev.key_id, r->key_id) != 0 || !root_signature_ok(&prev, pk))
			return root_failed("the previous root %s is not signed by the root key", prevpath);
		{
			uint8_t		m[GOV_EV_HASH];

			root_merkle(&prev, m);
			if (memcmp(m, prev.merkle, GOV_EV_HASH) != 0)
				return root_failed("the previous root's Merkle root does not match its heads");
		}
	}
	for (i = 0; i < nlogs; i++)
	{
		RegLog	   *l = &logs[i];
		GovEvCheckpoint *c = &r->heads[i];
		char	   *text;
		bool		tampered;
		const char *err;
		char		idt[33];
		int			k;

		id_text(l->log_id, idt);
		if (l->input == NULL)
			root_bad("no --checkpoint for log %s (every registered log needs its head)", l->name);
		text = read_small(l->input, 65536);

		err = gv_parse_checkpoint_json(text, strlen(text), c, &tampered);
		free(text);
		if (err && !tampered)
			root_bad("checkpoint %s: %s", l->input, err);
		if (err)
			return root_failed("log %s: %s", l->name, err);
		if (c->version < 2)
			return root_failed("log %s: a version 1 checkpoint names no log", l->name);
		if (memcmp(c->log_id, l->log_id, GOV_EV_LOG_ID) != 0)
			return root_failed("log %s: the checkpoint is of another log (not %s)", l->name, idt);
		if (!gv_checkpoint_signature_ok(c, l->pk))
			return root_failed("log %s: the checkpoint is not signed by the log's key", l->name);
		if (!prevpath)
			continue;
		for (k = 0; k < prev.nlogs; k++)
			if (memcmp(prev.heads[k].log_id, l->log_id, GOV_EV_LOG_ID) == 0)
				break;
		if (k == prev.nlogs)
			continue;			/* a log registered since */
		if (c->block_id < prev.heads[k].block_id)
			return root_failed("log %s: the head went back from block %lld to %lld",
							   l->name, (long long) prev.heads[k].block_id, (long long) c->block_id);
		if (c->block_id == prev.heads[k].block_id)
		{
			if (memcmp(c->block_hash, prev.heads[k].block_hash, GOV_EV_HASH) != 0)
				return root_failed("log %s: block %lld has another hash than in the previous root",
								   l->name, (long long) c->block_id);
			continue;
		}
		if (l->proof == NULL)
			root_bad("log %s moved from block %lld to %lld: --consistency %s=FILE is needed",
					 l->name, (long long) prev.heads[k].block_id, (long long) c->block_id, l->name);
		{
			GvTrust		t;
			GvResult	res;

			memset(&t, 0, sizeof(t));
			t.nkeys = 1;
			memcpy(t.pk[0], l->pk, GOV_EV_PK);
			t.have_log_id = true;
			memcpy(t.log_id, l->log_id, GOV_EV_LOG_ID);
			t.have_old = true;
			t.old_cp = prev.heads[k];
			t.have_new = true;
			t.new_cp = *c;
			run_engine(l->proof, &t, &res);
			if (res.status == GV_BAD_INPUT)
				root_bad("consistency %s: %s", l->proof, res.problem);
			if (res.status != GV_VERIFIED)
				return root_failed("log %s does not extend its head in the previous root: %s",
								   l->name, res.problem);
			if (strcmp(res.what, "consistency") != 0)
				root_bad("consistency %s holds %s evidence", l->proof, res.what);
		}
	}
	r->nlogs = nlogs;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->sealed_at = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (prevpath)
	{
		r->seq = prev.seq + 1;
		r->has_prev = true;
		root_hash(&prev, r->prev);
		if (r->sealed_at <= prev.sealed_at)
			r->sealed_at = prev.sealed_at + 1;
	}
	else
		r->seq = 1;
	root_merkle(r, r->merkle);
	root_bytes(r, &b);
	crypto_sign_detached(r->signature, NULL, b.p, b.len, sk);
	sodium_memzero(sk, sizeof(sk));
	free(b.p);

	/*
	 * write next to the target, then rename: a cron job never leaves half a
	 * root
	 */
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if (strlen(out) > 4000)
		root_bad("-o: the path is too long");
	f = fopen(tmp, "w");
	if (f == NULL)
		root_bad("cannot create %s: %s", tmp, strerror(errno));
	root_write(f, r);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, out) != 0)
		root_bad("cannot write %s: %s", out, strerror(errno));
	if (json_out)
		printf("{\"sealed\": true, \"seq\": %lld, \"logs\": %d, \"key_id\": \"%s\"}\n",
			   (long long) r->seq, r->nlogs, r->key_id);
	else
		printf("OK: root %lld sealed over %d logs (root key %s)\n", (long long) r->seq, r->nlogs, r->key_id);
	free(r);
	return GV_VERIFIED;
}

/* ---- root-verify */
static int
root_verify(int nlogs, RegLog *logs, const uint8_t *root_pk, const char *afterpath,
			int nroots, char **paths)
{
	Root	   *roots = calloc(nroots + 1, sizeof(Root));
	uint8_t		(*hashes)[GOV_EV_HASH] = calloc(nroots + 1, GOV_EV_HASH);
	char		kid[GOV_EV_KEY_ID + 1];
	int			i,
				j;
	int			base = 0;
	int64_t		checked = 0;

	if (roots == NULL || hashes == NULL)
		root_bad("out of memory");
	gv_key_id(root_pk, kid);
	for (i = 0; i < nlogs; i++)
		if (logs[i].input == NULL)
			root_bad("no --bundle for log %s (every registered log's export is needed)", logs[i].name);
	/* the root kept from last time, if any, goes first */
	if (afterpath)
	{
		root_read(afterpath, &roots[0]);
		base = 1;
	}
	for (i = 0; i < nroots; i++)
		root_read(paths[i], &roots[base + i]);
	nroots += base;
	for (i = 0; i < nroots; i++)
	{
		Root	   *r = &roots[i];
		const char *name = (base && i == 0) ? afterpath : paths[i - base];
		uint8_t		m[GOV_EV_HASH];

		if (strcmp(r->key_id, kid) != 0)
			return root_failed("root %s (seq %lld) is signed by unknown key %s, not the root key %s",
							   name, (long long) r->seq, r->key_id, kid);
		if (!root_signature_ok(r, root_pk))
			return root_failed("root %s (seq %lld): bad signature", name, (long long) r->seq);
		root_merkle(r, m);
		if (memcmp(m, r->merkle, GOV_EV_HASH) != 0)
			return root_failed("root %s (seq %lld): the Merkle root does not match its heads",
							   name, (long long) r->seq);
		root_hash(r, hashes[i]);
		for (j = 0; j < i; j++)
			if (memcmp(hashes[j], hashes[i], GOV_EV_HASH) == 0)
				return root_failed("an old root replayed: root %s (seq %lld) was already seen",
								   name, (long long) r->seq);
		if (i > 0)
		{
			Root	   *p = &roots[i - 1];

			if (r->seq <= p->seq && base && i == 1)
				return root_failed("an old root replayed: root %s has seq %lld, not after the kept root's seq %lld",
								   name, (long long) r->seq, (long long) p->seq);
			if (r->seq <= p->seq)
				return root_failed("roots reordered: root %s has seq %lld after seq %lld",
								   name, (long long) r->seq, (long long) p->seq);
			if (r->seq != p->seq + 1 || !r->has_prev || memcmp(r->prev, hashes[i - 1], GOV_EV_HASH) != 0)
				return root_failed("broken root chain: root %s (seq %lld) does not name the hash of root seq %lld",
								   name, (long long) r->seq, (long long) p->seq);
			if (r->sealed_at < p->sealed_at)
				return root_failed("roots reordered: root %s (seq %lld) is older than root seq %lld",
								   name, (long long) r->seq, (long long) p->seq);
		}
		/* registry complete, nothing else, sorted by log id */
		for (j = 0; j < r->nlogs; j++)
		{
			char		idt[33];
			int			k;

			id_text(r->heads[j].log_id, idt);
			if (j > 0 && memcmp(r->heads[j - 1].log_id, r->heads[j].log_id, GOV_EV_LOG_ID) >= 0)
				return root_failed("root seq %lld: heads not sorted by log id (or a log twice)",
								   (long long) r->seq);
			for (k = 0; k < nlogs; k++)
				if (memcmp(logs[k].log_id, r->heads[j].log_id, GOV_EV_LOG_ID) == 0)
					break;
			if (k == nlogs)
				return root_failed("root seq %lld names log %s, which is not in the registry",
								   (long long) r->seq, idt);
		}
		for (j = 0; j < nlogs; j++)
		{
			RegLog	   *l = &logs[j];
			const GovEvCheckpoint *c = NULL;
			int			k;

			for (k = 0; k < r->nlogs; k++)
				if (memcmp(l->log_id, r->heads[k].log_id, GOV_EV_LOG_ID) == 0)
					c = &r->heads[k];
			if (c == NULL)
				return root_failed("registry incomplete: log %s is left out of root seq %lld",
								   l->name, (long long) r->seq);
			if (!gv_checkpoint_signature_ok(c, l->pk))
				return root_failed("root seq %lld: the head of log %s is not signed by its key under its log id",
								   (long long) r->seq, l->name);
			if (i > 0)
			{
				const GovEvCheckpoint *pc = NULL;

				for (k = 0; k < roots[i - 1].nlogs; k++)
					if (memcmp(l->log_id, roots[i - 1].heads[k].log_id, GOV_EV_LOG_ID) == 0)
						pc = &roots[i - 1].heads[k];
				if (pc && c->block_id < pc->block_id)
					return root_failed("log %s went back: block %lld in root seq %lld, %lld in root seq %lld",
									   l->name, (long long) pc->block_id, (long long) roots[i - 1].seq,
									   (long long) c->block_id, (long long) r->seq);
				if (pc && c->block_id == pc->block_id &&
					memcmp(c->block_hash, pc->block_hash, GOV_EV_HASH) != 0)
					return root_failed("log %s: block %lld changed between root seq %lld and %lld",
									   l->name, (long long) c->block_id,
									   (long long) roots[i - 1].seq, (long long) r->seq);
			}

			/*
			 * the head is on the log's chain: its bundle holds that block
			 * unchanged
			 */
			{
				GvTrust		t;
				GvResult	res;

				memset(&t, 0, sizeof(t));
				t.nkeys = 1;
				memcpy(t.pk[0], l->pk, GOV_EV_PK);
				t.have_log_id = true;
				memcpy(t.log_id, l->log_id, GOV_EV_LOG_ID);
				t.have_cp = true;
				t.cp = *c;
				run_engine(l->input, &t, &res);
				if (res.status == GV_BAD_INPUT)
					root_bad("bundle %s of log %s: %s", l->input, l->name, res.problem);
				if (res.status != GV_VERIFIED)
					return root_failed("log %s (bundle %s) against its head in root seq %lld: %s",
									   l->name, l->input, (long long) r->seq, res.problem);
				if (strcmp(res.what, "bundle") != 0)
					root_bad("%s holds %s evidence, not a bundle", l->input, res.what);
				checked += res.rows;
			}
		}
	}
	if (json_out)
		printf("{\"verified\": true, \"status\": \"verified\", \"what\": \"root\", \"problem\": null, "
			   "\"roots\": %d, \"logs\": %d, \"newest_seq\": %lld, \"key_id\": \"%s\"}\n",
			   nroots, nlogs, (long long) roots[nroots - 1].seq, kid);
	else
		printf("OK: %d roots (seq %lld to %lld) chained and signed by root key %s; "
			   "%d logs, every head on its log's chain and moving forward\n",
			   nroots, (long long) roots[0].seq, (long long) roots[nroots - 1].seq, kid, nlogs);
	(void) checked;
	free(roots);
	free(hashes);
	return GV_VERIFIED;
}

/*
 * ---- root-head ROOT LOG_ID: that log's head in ROOT as checkpoint JSON
 * (what governance.consistency_proof(old, new) takes as old), unverified.
 */
static int
root_head(const char *path, const char *id)
{
	Root	   *r = calloc(1, sizeof(Root));
	uint8_t		log_id[GOV_EV_LOG_ID];
	char		idt[33];
	int			i;

	if (r == NULL)
		root_bad("out of memory");
	if (!parse_log_id(id, log_id))
		root_bad("%s is not a log id (32 hex digits or a UUID)", id);
	root_read(path, r);
	for (i = 0; i < r->nlogs; i++)
		if (memcmp(r->heads[i].log_id, log_id, GOV_EV_LOG_ID) == 0)
		{
			const GovEvCheckpoint *c = &r->heads[i];

			id_text(c->log_id, idt);
			printf("{\"version\": 2, \"log_id\": \"%s\", \"block_id\": %lld, \"block_hash\": \"",
				   idt, (long long) c->block_id);
			put_hex_file(stdout, c->block_hash, GOV_EV_HASH);
			printf("\", \"last_seq\": %lld, \"total_rows\": %lld, \"sealed_at_us\": %lld, "
				   "\"key_id\": \"%s\", \"signature\": \"",
				   (long long) c->last_seq, (long long) c->total_rows, (long long) c->sealed_at, c->key_id);
			put_hex_file(stdout, c->signature, GOV_EV_SIG);
			printf("\"}\n");
			free(r);
			return GV_VERIFIED;
		}
	fprintf(stderr, "governance-verify: root %s has no head of log %s\n", path, id);
	free(r);
	return GV_TAMPERED;
}

int
gv_root_main(int argc, char **argv)
{
	const char *cmd = argv[1];
	const char *registry = NULL;
	const char *rootkey = NULL;
	const char *rootpub = NULL;
	const char *prev = NULL;
	const char *after = NULL;
	const char *out = NULL;
	const char *inputs[2 * ROOT_MAX_LOGS];
	bool		isproof[2 * ROOT_MAX_LOGS];
	const char *what[2 * ROOT_MAX_LOGS];
	int			ninputs = 0;
	char	  **pos = calloc(argc, sizeof(char *));
	int			npos = 0;
	RegLog		logs[ROOT_MAX_LOGS];
	int			nlogs;
	int			i;

	if (sodium_init() < 0)
		root_bad("libsodium could not be initialised");
	for (i = 2; i < argc; i++)
	{
		const char *a = argv[i];

#define ROOT_ARG() do { if (i + 1 >= argc) root_bad("%s needs an argument (see --help)", a); } while (0)
		if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0)
			json_out = true;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			continue;
		else if (strcmp(a, "--registry") == 0)
		{
			ROOT_ARG();
			registry = argv[++i];
		}
		else if (strcmp(a, "--root-key") == 0)
		{
			ROOT_ARG();
			rootkey = argv[++i];
		}
		else if (strcmp(a, "-k") == 0 || strcmp(a, "--key") == 0)
		{
			ROOT_ARG();
			rootpub = argv[++i];
		}
		else if (strcmp(a, "--prev") == 0)
		{
			ROOT_ARG();
			prev = argv[++i];
		}
		else if (strcmp(a, "--after") == 0)
		{
			ROOT_ARG();
			after = argv[++i];
		}
		else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
		{
			ROOT_ARG();
			out = argv[++i];
		}
		else if (strcmp(a, "--checkpoint") == 0 || strcmp(a, "--consistency") == 0 ||
				 strcmp(a, "--bundle") == 0)
		{
			ROOT_ARG();
			if (ninputs == 2 * ROOT_MAX_LOGS)
				root_bad("too many %s options", a);
			what[ninputs] = a;
			isproof[ninputs] = strcmp(a, "--consistency") == 0;
			inputs[ninputs++] = argv[++i];
		}
		else if (a[0] == '-' && a[1] != '\0')
			root_bad("unknown option %s for %s (see --help)", a, cmd);
		else
			pos[npos++] = argv[i];
	}
	if (strcmp(cmd, "root-keygen") == 0)
	{
		if (npos != 1)
			root_bad("root-keygen FILE: one file, the new root key");
		return root_keygen(pos[0]);
	}
	if (strcmp(cmd, "root-head") == 0)
	{
		if (npos != 2)
			root_bad("root-head ROOT LOG_ID: a root and a log id");
		return root_head(pos[0], pos[1]);
	}
	if (registry == NULL)
		root_bad("%s needs --registry FILE (see --help)", cmd);
	nlogs = registry_read(registry, logs);
	for (i = 0; i < ninputs; i++)
	{
		bool		seal = strcmp(cmd, "root-seal") == 0;

		if (seal == (strcmp(what[i], "--bundle") == 0))
			root_bad("%s is not an option of %s (see --help)", what[i], cmd);
		assign_input(logs, nlogs, inputs[i], isproof[i], what[i]);
	}
	if (strcmp(cmd, "root-seal") == 0)
	{
		if (rootkey == NULL || out == NULL || npos != 0)
			root_bad("root-seal needs --root-key SEEDFILE and -o ROOTFILE (see --help)");
		return root_seal(nlogs, logs, rootkey, prev, out);
	}
	if (strcmp(cmd, "root-verify") == 0)
	{
		uint8_t		pk[32];

		if (rootpub == NULL || npos == 0)
			root_bad("root-verify needs --key ROOTKEY and at least one ROOT (see --help)");
		if (npos > ROOT_MAX_ROOTS)
			root_bad("more than %d roots", ROOT_MAX_ROOTS);
		read_hex32(rootpub, pk, "--key");
		return root_verify(nlogs, logs, pk, after, npos, pos);
	}
	root_bad("unknown command %s (see --help)", cmd);
}
