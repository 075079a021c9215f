/*-------------------------------------------------------------------------
 *
 * governance_verify.c
 *	  governance-verify: check evidence of the governance extension
 *	  offline, trusting nothing but a public key (or a checkpoint).  See
 *	  --help, docs/FORMAT.md (sections 7, 9 and 12) and README.md.
 *
 *	  Exit status: 0 verified, 1 tampering found (the first problem is
 *	  named), 2 bad input (unreadable, not evidence, bad usage).
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "artifact_codec.h"
#include "pop_codec.h"
#include "gv.h"
#include "gv_root.h"

#define VERSION "0.2"

static const char usage_text[] =
"NAME\n"
"    governance-verify - verify governance evidence offline\n"
"\n"
"SYNOPSIS\n"
"    governance-verify [OPTIONS] bundle FILE\n"
"    governance-verify [OPTIONS] inclusion FILE\n"
"    governance-verify [OPTIONS] consistency FILE [--old CP] [--new CP]\n"
"    governance-verify [OPTIONS] proof FILE [--dot] [--artifact ARTIFACT]\n"
"                      [--tenant TENANT]\n"
"    governance-verify [OPTIONS] checkpoint CP [--keys FILE]\n"
"    governance-verify [OPTIONS] artifact ARTIFACT\n"
"    governance-verify [OPTIONS] pop ARTIFACT --agent-key KEY --nonce HEX\n"
"                      --proof PROOF [--audience NAME]\n"
"    governance-verify root-keygen ROOTKEYFILE\n"
"    governance-verify root-seal --registry REG --root-key ROOTKEYFILE\n"
"                      --checkpoint NAME=CP ... [--prev ROOT\n"
"                      --consistency NAME=PROOF ...] -o ROOT\n"
"    governance-verify root-verify --registry REG --key ROOTPUB\n"
"                      --bundle NAME=FILE ... [--after ROOT] ROOT...\n"
"    governance-verify root-head ROOT LOG_ID\n"
"    governance-verify --help | --version\n"
"\n"
"DESCRIPTION\n"
"    Checks, without a database, evidence written by the governance\n"
"    extension (docs/FORMAT.md), given a trusted Ed25519 public key (--key)\n"
"    or a trusted checkpoint (--checkpoint). Keys named by the evidence are\n"
"    trusted only when endorsed, key by key, from a trusted one.\n"
"\n"
"    bundle       an evidence bundle, from governance.export(from, to):\n"
"                 every key id, self-signature and endorsement; every row's\n"
"                 evidence hash and chain link; every block's range, gaps,\n"
"                 row count, Merkle root, hash, link to the previous block\n"
"                 and signature; the closing checkpoint. Streams: memory\n"
"                 grows with the number of executions, not of rows.\n"
"    inclusion    a proof from governance.inclusion_proof(seq): the event's\n"
"                 evidence, its audit path (RFC 9162) to its block's Merkle\n"
"                 root, the block's hash and signature.\n"
"    consistency  a proof from governance.consistency_proof(old, new): the\n"
"                 block headers from the old checkpoint to the new one, each\n"
"                 naming the hash of the one before (the later ledger extends\n"
"                 the earlier: nothing removed or rewritten).\n"
"    proof        a proof from governance.proof(lease_id): one execution\n"
"                 (the lease and its delegations) end to end: each event's\n"
"                 evidence, chain link and audit path; every block header\n"
"                 from the first event's block to the newest, chained and\n"
"                 signed; and the lineage map entries (FORMAT.md 6b) that\n"
"                 show no event of the execution was left out, up to the\n"
"                 newest block (none after a revocation). A write after its\n"
"                 execution's revocation or expiry is tampering. Reports the\n"
"                 execution's tenant, as its governance.authorize event\n"
"                 names it (signed evidence); a delegation naming another\n"
"                 tenant than the execution's is tampering.\n"
"    checkpoint   a checkpoint (JSON from governance.checkpoint()): its\n"
"                 signature under a trusted key.\n"
"    artifact     an authorization artifact gov1.<payload>.<signature>\n"
"                 (or @FILE holding one): structure, key, times, expiry,\n"
"                 signature; prints its claims.\n"
"    pop          an artifact, as artifact checks it, and a proof of\n"
"                 possession by its bearer (docs/FORMAT.md section 13): the\n"
"                 artifact must name an agent key (agent_key_id), KEY must\n"
"                 be that key, and PROOF its signature over a \"present\"\n"
"                 request naming the artifact, the challenge HEX (32 random\n"
"                 bytes the service chose and will accept once) and NAME.\n"
"\n"
"    A root (docs/FORMAT.md section 19) is a Merkle root over the heads\n"
"    (newest checkpoints) of every log in a registry, chained to the root\n"
"    before it and signed with a root key kept outside every database.\n"
"    REG holds one log a line: NAME LOG_ID KEY (the log's name, its\n"
"    governance.log_identity and its public key, 64 hex digits or a file).\n"
"    root-keygen  writes a new root key (a seed, mode 0600) to ROOTKEYFILE\n"
"                 and prints its public key.\n"
"    root-seal    the sealer, run by cron: checks each log's checkpoint\n"
"                 (governance.checkpoint(), one per registered log) under\n"
"                 the log's key and log id; with --prev, checks each head\n"
"                 extends the previous root's head (a consistency proof,\n"
"                 governance.consistency_proof(old, new), for each log that\n"
"                 moved) and writes the next root to ROOT.\n"
"    root-verify  checks roots (oldest first; --after: the root kept from\n"
"                 last time) and one bundle (governance.export()) per log:\n"
"                 each root signed by ROOTPUB and chained to the one before,\n"
"                 the registry complete in every root, each head signed by\n"
"                 its log's key under its log id and held unchanged by that\n"
"                 log's bundle, heads only moving forward.\n"
"    root-head    prints a log's head in ROOT as checkpoint JSON (not\n"
"                 verified), the old checkpoint of consistency_proof().\n"
"\n"
"    FILE and CP may be - for standard input. Bundles and proofs are\n"
"    lines of text; write them with psql:\n"
"        \\copy (SELECT governance.export()) TO 'bundle.txt'\n"
"\n"
"OPTIONS\n"
"    -k, --key KEY         a trusted public key: 64 hex digits, or a file\n"
"                          holding them (as encode(public_key(), 'hex')\n"
"                          prints) or the 32 raw bytes; may be repeated\n"
"    -c, --checkpoint CP   a trusted checkpoint kept outside the database;\n"
"                          a bundle must hold its block unchanged (a removed\n"
"                          tail or a rewritten block shows)\n"
"        --old CP          consistency: the old checkpoint you kept\n"
"        --new CP          consistency: the new checkpoint you were given\n"
"        --log-id ID       the log the evidence must belong to (32 hex digits\n"
"                          or a UUID, as governance.log_identity holds it):\n"
"                          a version 2 block or checkpoint of another log\n"
"                          fails; a trusted version 2 checkpoint implies it\n"
"        --ignore-expiry   artifact: an expired artifact may still verify\n"
"        --artifact A      proof: the lease's artifact gov1.<...> (or @FILE\n"
"                          holding it) must be the proof's: its lease id,\n"
"                          its signature under a key the proof trusts, and\n"
"                          its claims those of the lease's governance.authorize\n"
"                          event (principal, action, resource, policy set and\n"
"                          context hashes, first expiry, parent); its expiry\n"
"                          against the clock is not checked (a proof speaks\n"
"                          of the past)\n"
"        --tenant TENANT   proof: the execution must be of this tenant (a uid,\n"
"                          as Tenant::\"acme\"; as export_tenant() gives it):\n"
"                          one of another tenant or of none fails (exit 1)\n"
"        --keys FILE       checkpoint: follow key rotations: the key records\n"
"                          of FILE (a bundle or any proof) are checked from\n"
"                          the trusted key, endorsement by endorsement, and\n"
"                          the checkpoint may be signed by any key so trusted\n"
"        --dot             proof: once it verified, print the execution as a\n"
"                          Graphviz graph on standard output (the shape of\n"
"                          governance.lineage_dot(): one cluster per lease,\n"
"                          one node per event, chained; labels quoted so no\n"
"                          text can break out), the verdict on standard\n"
"                          error; nothing on standard output if it fails:\n"
"                          governance-verify -k KEY proof p.txt --dot |\n"
"                          dot -Tsvg > lineage.svg\n"
"        --agent-key KEY   pop: the agent's Ed25519 public key, 64 hex digits\n"
"        --nonce HEX       pop: the service's challenge, 64 hex digits\n"
"        --proof PROOF     pop: pop1.<nonce>.<signature> from the bearer\n"
"        --audience NAME   pop: the service's name the proof must carry\n"
"    -j, --json            print one JSON object on standard output\n"
"    -q, --quiet           no progress line on standard error\n"
"    -h, --help            this text\n"
"    -V, --version         the version\n"
"\n"
"OUTPUT\n"
"    \"OK: ...\" on success; \"FAILED: <problem>\" naming the first problem\n"
"    (modified, missing, extra or reordered row, broken chain, bad or\n"
"    missing block, bad signature, unknown or untrusted key, truncated\n"
"    file) in verify_ledger()'s words. With --json: {\"verified\", \"status\",\n"
"    \"what\", \"problem\", \"first_bad_seq\", \"line\", \"rows_checked\",\n"
"    \"blocks_checked\", ...}. Inputs that take more than two seconds get a\n"
"    progress line on standard error.\n"
"\n"
"EXIT STATUS\n"
"    0  verified\n"
"    1  tampering found: the evidence does not verify\n"
"    2  bad input: unreadable, not governance evidence, unknown version,\n"
"       bad usage\n";

typedef struct Opts
{
	bool		json;
	bool		quiet;
	bool		ignore_expiry;
	bool		dot;			/* proof: the verified execution as DOT */
	const char *keys;			/* checkpoint: evidence whose keys to follow */
	const char *artifact;		/* proof: the artifact it must be of */
	const char *agent_key;		/* pop: the agent's public key, hex */
	const char *nonce;			/* pop: the service's challenge, hex */
	const char *audience;		/* pop: the service's name, or NULL */
	const char *proof;			/* pop: the bearer's proof */
	const char *command;
	const char *arg;
	GvTrust		trust;
} Opts;

static Opts opts;

static void
			bad_input(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));

static void
bad_input(const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (opts.json)
	{
		const char *p;

		printf("{\"verified\": false, \"status\": \"bad input\", \"problem\": \"");
		for (p = buf; *p; p++)
			if (*p == '"' || *p == '\\')
				printf("\\%c", *p);
			else if ((unsigned char) *p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		printf("\"}\n");
	}
	fprintf(stderr, "governance-verify: bad input: %s\n", buf);
	exit(GV_BAD_INPUT);
}

/* ---------------------------------------------------------------------
 * Input
 * ---------------------------------------------------------------------
 */

static FILE *
open_input(const char *path)
{
	FILE	   *f;

	if (strcmp(path, "-") == 0)
		return stdin;
	f = fopen(path, "rb");
	if (f == NULL)
		bad_input("cannot open %s: %s", path, strerror(errno));
	return f;
}

/* A whole small file (keys, checkpoints, artifacts), at most max bytes. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	FILE	   *f = open_input(path);
	char	   *buf = malloc(max + 1);
	size_t		n;

	if (buf == NULL)
		bad_input("out of memory");
	n = fread(buf, 1, max + 1, f);
	if (ferror(f))
		bad_input("cannot read %s: %s", path, strerror(errno));
	if (n > max)
		bad_input("%s is larger than %zu bytes", path, max);
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
add_key(const char *arg)
{
	char		hex[65];
	const char *s = arg;
	char	   *file = NULL;
	size_t		n = strlen(arg);
	size_t		i;
	size_t		k = 0;

	if (opts.trust.nkeys == GV_MAX_KEYS)
		bad_input("too many --key options");
	if (!(n == 64 && strspn(arg, "0123456789abcdefABCDEF") == 64))
	{
		file = slurp(arg, 4096, &n);
		if (n == GOV_EV_PK)
		{
			memcpy(opts.trust.pk[opts.trust.nkeys++], file, GOV_EV_PK);
			free(file);
			return;
		}
		s = file;
	}
	/* 64 hex digits, with an optional \x and surrounding white space */
	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	if (s[0] == '\\' && s[1] == 'x')
		s += 2;
	for (i = 0; s[i] && k < 65; i++)
	{
		char		c = s[i];

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			break;
		hex[k++] = (c >= 'A' && c <= 'F') ? (char) (c - 'A' + 'a') : c;
	}
	for (; s[i]; i++)
		if (!(s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
			k = 0;
	if (k != 64)
		bad_input("--key %s: not an Ed25519 public key (64 hex digits or 32 bytes)", arg);
	hex[64] = '\0';
	if (!gov_ev_parse_hex(hex, opts.trust.pk[opts.trust.nkeys], GOV_EV_PK))
		bad_input("--key %s: not an Ed25519 public key (64 hex digits or 32 bytes)", arg);
	opts.trust.nkeys++;
	free(file);
}

static void
read_checkpoint(const char *path, GovEvCheckpoint *cp)
{
	size_t		n;
	char	   *text = slurp(path, 65536, &n);
	bool		tampered;
	const char *err = gv_parse_checkpoint_json(text, n, cp, &tampered);

	if (err)
		bad_input("checkpoint %s: %s", path, err);
	free(text);
}

/* ---------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------
 */

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
json_hex(const uint8_t *p, size_t n)
{
	size_t		i;

	putchar('"');
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('"');
}

static const char *
status_word(int status)
{
	return status == GV_VERIFIED ? "verified" : status == GV_TAMPERED ? "tampering found" : "bad input";
}

static int
report(const GvResult *r)
{
	if (opts.json)
	{
		printf("{\"verified\": %s, \"status\": \"%s\", \"what\": ",
			   r->status == GV_VERIFIED ? "true" : "false", status_word(r->status));
		json_str(r->what);
		printf(", \"problem\": ");
		if (r->status == GV_VERIFIED)
			printf("null");
		else
			json_str(r->problem);
		printf(", \"first_bad_seq\": ");
		if (r->has_bad_seq)
			printf("%lld", (long long) r->bad_seq);
		else
			printf("null");
		printf(", \"line\": ");
		if (r->line > 0)
			printf("%lld", (long long) r->line);
		else
			printf("null");
		printf(", \"rows_checked\": %lld, \"blocks_checked\": %lld, \"keys\": %lld, \"trusted_keys\": %lld",
			   (long long) r->rows, (long long) r->blocks, (long long) r->keys,
			   (long long) r->trusted_keys);
		if (r->blocks > 0)
			printf(", \"from_block\": %lld, \"to_block\": %lld",
				   (long long) r->from_block, (long long) r->to_block);
		if (strcmp(r->what, "inclusion") == 0 && r->seq > 0)
			printf(", \"seq\": %lld", (long long) r->seq);
		if (strcmp(r->what, "proof") == 0 && r->status == GV_VERIFIED)
		{
			printf(", \"lease_id\": ");
			json_hex(r->lease, 16);
			printf(", \"tenant\": ");
			if (r->has_tenant)
				json_str(r->tenant);
			else
				printf("null");
			printf(", \"executions\": %lld, \"ended_by\": ", (long long) r->leases);
			if (r->root_ended)
			{
				json_str(r->root_end_kind);
				printf(", \"ended_at_seq\": %lld", (long long) r->root_end_seq);
			}
			else
				printf("null");
		}
		if (r->have_log_id)
		{
			printf(", \"log_id\": ");
			json_hex(r->log_id, GOV_EV_LOG_ID);
		}
		if (r->status == GV_VERIFIED && r->have_checkpoint)
		{
			printf(", \"checkpoint\": {\"version\": %lld, ", (long long) r->checkpoint.version);
			if (r->checkpoint.version >= 2)
			{
				printf("\"log_id\": ");
				json_hex(r->checkpoint.log_id, GOV_EV_LOG_ID);
				printf(", ");
			}
			printf("\"block_id\": %lld, \"block_hash\": ",
				   (long long) r->checkpoint.block_id);
			json_hex(r->checkpoint.block_hash, 64);
			printf(", \"last_seq\": %lld, \"total_rows\": %lld, \"sealed_at_us\": %lld, \"key_id\": \"%s\", \"signature\": ",
				   (long long) r->checkpoint.last_seq, (long long) r->checkpoint.total_rows,
				   (long long) r->checkpoint.sealed_at, r->checkpoint.key_id);
			json_hex(r->checkpoint.signature, 64);
			printf("}");
		}
		printf("}\n");
	}
	else if (r->status == GV_VERIFIED)
	{
		printf("OK: %s verified: %lld rows, %lld blocks", r->what,
			   (long long) r->rows, (long long) r->blocks);
		if (r->blocks > 0)
			printf(" (%lld..%lld)", (long long) r->from_block, (long long) r->to_block);
		printf(", %lld keys (%lld trusted)", (long long) r->keys, (long long) r->trusted_keys);
		if (r->have_checkpoint)
			printf(", checkpoint of block %lld (last seq %lld, %lld rows)",
				   (long long) r->checkpoint.block_id, (long long) r->checkpoint.last_seq,
				   (long long) r->checkpoint.total_rows);
		if (strcmp(r->what, "proof") == 0)
		{
			printf(", tenant ");
			if (r->has_tenant)
			{
				const char *t;

				/* as signed, but no control character reaches a terminal */
				for (t = r->tenant; *t; t++)
					putchar((unsigned char) *t < 0x20 || *t == 0x7f ? '?' : *t);
			}
			else
				printf("none");
			printf(", %lld executions, ", (long long) r->leases);
			if (r->root_ended)
				printf("ended by %s at row %lld", r->root_end_kind, (long long) r->root_end_seq);
			else
				printf("not ended");
			printf(", lineage complete to block %lld", (long long) r->to_block);
		}
		if (r->have_log_id)
		{
			int			k;

			printf(", log ");
			for (k = 0; k < GOV_EV_LOG_ID; k++)
				printf("%02x", r->log_id[k]);
		}
		printf("\n");
	}
	else if (r->status == GV_TAMPERED)
		printf("FAILED: %s\n", r->problem);
	else
		fprintf(stderr, "governance-verify: bad input: %s\n", r->problem);
	return r->status;
}

/* ---------------------------------------------------------------------
 * Commands
 * ---------------------------------------------------------------------
 */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void proof_artifact(GvState *st, GvDot *d, GvResult *res);

static int
verify_evidence(const char *what, const char *path)
{
	FILE	   *f = open_input(path);
	GvResult	res;
	GvState    *st = gv_begin(&opts.trust, &res);
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	bool		complete = true;
	double		start = now_s();
	double		last = start;
	int64_t		lines = 0;
	bool		progressed = false;
	bool		tty = isatty(2);
	GvDot	   *dot = (opts.dot || opts.artifact) ? gv_dot_begin() : NULL;
	int			status;

	while ((n = getline(&line, &cap, f)) > 0)
	{
		if (line[n - 1] != '\n')
		{
			complete = false;	/* cut short: checked by gv_finish */
			break;
		}
		line[--n] = '\0';
		if (dot)
			gv_dot_line(dot, line, (size_t) n);
		if (!gv_line(st, line, (size_t) n))
			break;
		if (lines == 0 && strcmp(res.what, what) != 0)
			bad_input("%s holds %s evidence, not a %s", path, res.what, what);
		if ((++lines & 4095) == 0 && !opts.quiet)
		{
			double		t = now_s();

			if (t - start >= 2.0 && t - last >= 1.0)
			{
				fprintf(stderr, "%sgovernance-verify: line %lld, %lld rows and %lld blocks verified, %.0f rows/s%s",
						tty ? "\r" : "", (long long) lines, (long long) res.rows,
						(long long) res.blocks, res.rows / (t - start), tty ? "" : "\n");
				last = t;
				progressed = true;
			}
		}
	}
	if (ferror(f))
		bad_input("cannot read %s: %s", path, strerror(errno));
	if (progressed && tty)
		fprintf(stderr, "\n");
	if (res.status == GV_VERIFIED)
		gv_finish(st, complete);
	if (res.status == GV_BAD_INPUT)
	{
		if (opts.json)
			report(&res);
		else
			fprintf(stderr, "governance-verify: bad input: %s%s\n", res.problem,
					res.line ? "" : "");
		exit(GV_BAD_INPUT);
	}
	if (res.status == GV_VERIFIED && strcmp(res.what, what) != 0)
		bad_input("%s holds %s evidence, not a %s", path, res.what, what);
	if (res.status == GV_VERIFIED && opts.artifact)
		proof_artifact(st, dot, &res);
	gv_free(st);
	free(line);
	if (f != stdin)
		fclose(f);
	if (!opts.dot)
	{
		gv_dot_free(dot);
		return report(&res);
	}

	/*
	 * --dot: standard output is the graph alone (for dot -Tsvg), written only
	 * when everything verified; the verdict goes to standard error.
	 */
	{
		int			saved;

		fflush(stdout);
		saved = dup(1);
		if (saved < 0 || dup2(2, 1) < 0)
			bad_input("cannot redirect the report: %s", strerror(errno));
		status = report(&res);
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
	}
	if (status == GV_VERIFIED && !gv_dot_write(dot, stdout))
	{
		fprintf(stderr, "governance-verify: out of memory writing the graph\n");
		status = GV_BAD_INPUT;
	}
	gv_dot_free(dot);
	return status;
}

/*
 * checkpoint CP --keys FILE: the checkpoint may be signed by a key the
 * trusted one endorsed, directly or through a chain of rotations
 * (FORMAT.md section 2): the key records of FILE (any evidence file: a
 * bundle, a proof, an inclusion or consistency proof) are checked from the
 * trusted keys, endorsement by endorsement, and the checkpoint's signature
 * under the key it names, once that key is trusted.
 */
static void
rotated_checkpoint(const GovEvCheckpoint *cp, GvResult *res)
{
	FILE	   *f = open_input(opts.keys);
	GvResult	kres;
	GvState    *st = gv_begin(&opts.trust, &kres);
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	int64_t		lines = 0;
	const uint8_t *pk;
	bool		known;

	while ((n = getline(&line, &cap, f)) > 0)
	{
		if (line[n - 1] != '\n')
			break;
		line[--n] = '\0';
		/* the header, then the keys: what follows is not needed */
		if (lines++ > 0 && strncmp(line, "key ", 4) != 0)
			break;
		if (!gv_line(st, line, (size_t) n))
			break;
	}
	if (kres.status == GV_BAD_INPUT)
		bad_input("--keys %s: %s", opts.keys, kres.problem);
	pk = gv_trusted_key(st, cp->key_id, &known);
	memset(res, 0, sizeof(*res));
	snprintf(res->what, sizeof(res->what), "checkpoint");
	if (kres.status != GV_VERIFIED)
		gv_fail(res, kres.status, 0, "%s", kres.problem);
	else if (pk == NULL && !known)
		gv_fail(res, GV_TAMPERED, 0, "checkpoint signed by unknown key %s", cp->key_id);
	else if (pk == NULL)
		gv_fail(res, GV_TAMPERED, 0, "checkpoint signed by untrusted key %s: it is not endorsed from a trusted key",
				cp->key_id);
	else if (!gv_checkpoint_signature_ok(cp, pk))
		gv_fail(res, GV_TAMPERED, 0, "checkpoint signature does not verify");
	else if (opts.trust.have_log_id &&
			 (cp->version < 2 || memcmp(cp->log_id, opts.trust.log_id, GOV_EV_LOG_ID) != 0))
		gv_fail(res, GV_TAMPERED, 0, "checkpoint of another log: %s",
				cp->version < 2 ? "a version 1 checkpoint names no log" :
				"it names another log id than --log-id");
	if (cp->version >= 2)
	{
		res->have_log_id = true;
		memcpy(res->log_id, cp->log_id, GOV_EV_LOG_ID);
	}
	res->keys = kres.keys;
	res->trusted_keys = kres.trusted_keys;
	gv_free(st);
	free(line);
	if (f != stdin)
		fclose(f);
}

static int
verify_checkpoint(const char *path)
{
	GovEvCheckpoint cp;
	GvResult	res;
	int			i;
	char		id[17];
	size_t		n;
	char	   *text = slurp(path, 65536, &n);
	bool		tampered;
	const char *err = gv_parse_checkpoint_json(text, n, &cp, &tampered);

	memset(&res, 0, sizeof(res));
	snprintf(res.what, sizeof(res.what), "checkpoint");
	if (err && !tampered)
		bad_input("checkpoint %s: %s", path, err);
	if (err)
		gv_fail(&res, GV_TAMPERED, 0, "%s", err);
	else if (opts.keys)
		rotated_checkpoint(&cp, &res);
	else
	{
		gv_fail(&res, GV_TAMPERED, 0, "checkpoint signed by unknown key %s", cp.key_id);
		for (i = 0; i < opts.trust.nkeys; i++)
		{
			gv_key_id(opts.trust.pk[i], id);
			if (strcmp(id, cp.key_id) == 0)
			{
				memset(&res, 0, sizeof(res));
				snprintf(res.what, sizeof(res.what), "checkpoint");
				if (!gv_checkpoint_signature_ok(&cp, opts.trust.pk[i]))
					gv_fail(&res, GV_TAMPERED, 0, "checkpoint signature does not verify");
				else if (opts.trust.have_log_id &&
						 (cp.version < 2 || memcmp(cp.log_id, opts.trust.log_id, GOV_EV_LOG_ID) != 0))
					gv_fail(&res, GV_TAMPERED, 0, "checkpoint of another log: %s",
							cp.version < 2 ? "a version 1 checkpoint names no log" :
							"it names another log id than --log-id");
				if (cp.version >= 2)
				{
					res.have_log_id = true;
					memcpy(res.log_id, cp.log_id, GOV_EV_LOG_ID);
				}
				res.keys = res.trusted_keys = 1;
				break;
			}
		}
	}
	if (res.status == GV_VERIFIED)
	{
		res.have_checkpoint = true;
		res.checkpoint = cp;
	}
	free(text);
	return report(&res);
}

static void
uuid_text(const GovClaimField *f, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int			i;
	int			o = 0;

	for (i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[f->p[i] >> 4];
		out[o++] = hex[f->p[i] & 15];
	}
	out[o] = '\0';
}

#define MIN_UNIX_US INT64_C(-210866803200000000)	/* PostgreSQL's first
													 * instant */

/* the artifact text of arg (ARTIFACT or @FILE), trailing blanks cut */
static char *
artifact_text(const char *arg, size_t *lenp)
{
	char	   *text;
	size_t		len;

	if (arg[0] == '@')
		text = slurp(arg + 1, GOV_ARTIFACT_MAX_TEXT + 2, &len);

	else
	{
		text = strdup(arg);

		len = strlen(text);
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[	  --len] = '\0';

	*lenp = len;
	return text;
}

static void
hex_text(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A time as payloads write it (FORMAT.md section 15): ISO 8601 in UTC,
 * YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00, trailing zeros of the fraction cut. */
static bool
iso_time(int64_t us, char *out, size_t cap)
{
	int64_t		s = us / 1000000;
	int64_t		frac = us % 1000000;
	time_t		t;
	struct tm	tm;
	size_t		n;

	if (frac < 0)
	{
		frac += 1000000;
		s--;
	}
	t = (time_t) s;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return false;
	n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return false;
	if (frac > 0)
	{
		char		f[8];
		int			k;

		snprintf(f, sizeof(f), ".%06lld", (long long) frac);
		for (k = 6; f[k] == '0'; k--)
			f[k] = '\0';
		n += snprintf(out + n, cap - n, "%s", f);
	}
	snprintf(out + n, cap - n, "+00:00");
	return true;
}

static bool
claim_is(const GovClaimField *f, const char *s)
{
	return s != NULL && !f->isnull && f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

/*
 * proof FILE --artifact A: only the artifact's hash is in the database, so
 * a proof cannot carry it; an auditor who holds it checks that it is the
 * one the proof's lease was issued as (FORMAT.md section 14).
 */
static void
proof_artifact(GvState *st, GvDot *d, GvResult *res)
{
	char	   *text;
	size_t		len;
	uint8_t    *buf = malloc(GOV_ARTIFACT_MAX_TEXT);
	GovArtifactParts a;
	const char *err;
	char		kid[17];
	char		u[40];
	char		hex[129];
	char		iso[64];
	int64_t		t[3];
	int64_t		depth = -1;
	const uint8_t *pk;
	bool		known;
	GvAuthz		z;
	int			i;

	if (buf == NULL)
		bad_input("out of memory");
	text = artifact_text(opts.artifact, &len);

	err = gov_artifact_decode(text, len, buf, GOV_ARTIFACT_MAX_TEXT, &a);
	if (err)
		bad_input("malformed artifact: %s", err);
	memcpy(kid, a.claims[GOV_CLAIM_KEY_ID].p, 16);
	kid[16] = '\0';
	for (i = 0; i < 3; i++)
		(void) gov_claim_int64(&a.claims[GOV_CLAIM_ISSUED_AT + i], &t[i]);
	(void) gov_claim_int64(&a.claims[GOV_CLAIM_DEPTH], &depth);
	uuid_text(&a.claims[GOV_CLAIM_LEASE_ID], u);
	pk = gv_trusted_key(st, kid, &known);
	if (memcmp(a.claims[GOV_CLAIM_LEASE_ID].p, res->lease, 16) != 0)
		gv_fail(res, GV_TAMPERED, 0, "the artifact is of lease %s, not of the proof's lease", u);
	else if (pk == NULL)
		gv_fail(res, GV_TAMPERED, 0, "the artifact is signed by key %s, %s", kid,
				known ? "which is not endorsed from a trusted key" : "which is not among the proof's keys");
	else if (!gv_ed25519_verify(a.signature, a.payload, a.payload_len, pk))
		gv_fail(res, GV_TAMPERED, 0, "the artifact's signature does not verify under key %s", kid);
	else if (!gv_dot_authorize(d, res->lease, &z) || z.kind == NULL ||
			 strcmp(z.kind, "governance.authorize") != 0)
	{
		gv_fail(res, GV_TAMPERED, 0, "the proof holds no governance.authorize event of lease %s", u);
		gv_authz_free(&z);
	}
	else
	{
		const char *what = NULL;

		if (!claim_is(&a.claims[GOV_CLAIM_PRINCIPAL], z.principal))
			what = "principal";
		else if (!claim_is(&a.claims[GOV_CLAIM_ACTION], z.action))
			what = "action";
		else if (!claim_is(&a.claims[GOV_CLAIM_RESOURCE], z.resource))
			what = "resource";
		else if (z.decision == NULL || strcmp(z.decision, "allow") != 0)
			what = "decision";
		if (what == NULL)
		{
			hex_text(a.claims[GOV_CLAIM_POLICY_HASH].p, 64, hex);
			if (z.policy_set_hash == NULL || strcmp(hex, z.policy_set_hash) != 0)
				what = "policy set hash";
		}
		if (what == NULL)
		{
			hex_text(a.claims[GOV_CLAIM_CONTEXT_HASH].p, 64, hex);
			if (z.context == NULL || strcmp(hex, z.context) != 0)
				what = "context hash";
		}
		if (what == NULL &&
			(!iso_time(t[1], iso, sizeof(iso)) || z.expires_at == NULL || strcmp(iso, z.expires_at) != 0))
			what = "first expiry";
		if (what == NULL)
		{
			if (a.claims[GOV_CLAIM_PARENT].isnull)
			{
				if (z.parent != NULL || depth != 0)
					what = "parent";
			}
			else
			{
				uuid_text(&a.claims[GOV_CLAIM_PARENT], u);
				if (z.parent == NULL || strcmp(u, z.parent) != 0 || depth < 1)
					what = "parent";
			}
		}
		if (what)
			gv_fail(res, GV_TAMPERED, z.seq,
					"the artifact does not match the proof: its %s differs from the governance.authorize event at row %lld",
					what, (long long) z.seq);
		gv_authz_free(&z);
	}
	free(text);
	free(buf);
}

/*
 * Decode and check an artifact (structure, key, times, expiry, signature)
 * into a, res, kid, t and depth; bad input exits.
 */
static void
check_artifact(const char *text, size_t len, uint8_t *buf, GovArtifactParts *ap,
			   GvResult *resp, char *kid, int64_t *t, int64_t *depthp)
{
	GovArtifactParts a;
	GvResult	res;
	const char *err;
	const uint8_t *pk = NULL;
	int64_t		depth;
	int			i;

	memset(&res, 0, sizeof(res));
	snprintf(res.what, sizeof(res.what), "artifact");
	err = gov_artifact_decode(text, len, buf, GOV_ARTIFACT_MAX_TEXT, &a);
	if (err)
		bad_input("malformed artifact: %s", err);
	memcpy(kid, a.claims[GOV_CLAIM_KEY_ID].p, 16);
	kid[16] = '\0';
	for (i = 0; i < 3; i++)
		(void) gov_claim_int64(&a.claims[GOV_CLAIM_ISSUED_AT + i], &t[i]);
	(void) gov_claim_int64(&a.claims[GOV_CLAIM_DEPTH], &depth);
	for (i = 0; i < opts.trust.nkeys && pk == NULL; i++)
	{
		char		id[17];

		gv_key_id(opts.trust.pk[i], id);
		if (strcmp(id, kid) == 0)
			pk = opts.trust.pk[i];
	}
	if (t[0] < MIN_UNIX_US || t[1] < MIN_UNIX_US || t[2] < MIN_UNIX_US)
		gv_fail(&res, GV_TAMPERED, 0, "malformed artifact: a time is out of range");
	else if (depth < 0)
		gv_fail(&res, GV_TAMPERED, 0, "malformed artifact: the depth is negative");
	else if (pk == NULL)
		gv_fail(&res, GV_TAMPERED, 0, "unknown signing key %s", kid);
	else if (t[0] > t[1] || t[1] > t[2])
		gv_fail(&res, GV_TAMPERED, 0, "malformed artifact: inconsistent times");
	else if (!opts.ignore_expiry && t[1] <= (int64_t) time(NULL) * 1000000)
		gv_fail(&res, GV_TAMPERED, 0, "artifact expired");
	else if (!gv_ed25519_verify(a.signature, a.payload, a.payload_len, pk))
		gv_fail(&res, GV_TAMPERED, 0, "bad signature");
	res.keys = opts.trust.nkeys;
	res.trusted_keys = pk != NULL;
	*ap = a;
	*resp = res;
	*depthp = depth;
}

static int
verify_artifact(const char *arg)
{
	char	   *text;
	size_t		len;
	uint8_t    *buf = malloc(GOV_ARTIFACT_MAX_TEXT);
	GovArtifactParts a;
	GvResult	res;
	char		kid[17];
	int64_t		t[3];
	int64_t		depth;
	int			i;

	text = artifact_text(arg, &len);

	check_artifact(text, len, buf, &a, &res, kid, t, &depth);
	if (opts.json)
	{
		char		u[40];

		printf("{\"verified\": %s, \"status\": \"%s\", \"what\": \"artifact\", \"problem\": ",
			   res.status == GV_VERIFIED ? "true" : "false", status_word(res.status));
		if (res.status == GV_VERIFIED)
			printf("null");
		else
			json_str(res.problem);
		printf(", \"claims\": {\"key_id\": \"%s\", \"lease_id\": ", kid);
		uuid_text(&a.claims[GOV_CLAIM_LEASE_ID], u);
		json_str(u);
		printf(", \"parent\": ");
		if (a.claims[GOV_CLAIM_PARENT].isnull)
			printf("null");
		else
		{
			uuid_text(&a.claims[GOV_CLAIM_PARENT], u);
			json_str(u);
		}
		for (i = GOV_CLAIM_PRINCIPAL; i <= GOV_CLAIM_RESOURCE; i++)
		{
			char		s[256];

			memcpy(s, a.claims[i].p, a.claims[i].len);
			s[a.claims[i].len] = '\0';
			printf(", \"%s\": ", i == GOV_CLAIM_PRINCIPAL ? "principal" : i == GOV_CLAIM_ACTION ? "action" : "resource");
			json_str(s);
		}
		printf(", \"context_sha3_512\": ");
		json_hex(a.claims[GOV_CLAIM_CONTEXT_HASH].p, 64);
		printf(", \"policy_set_hash\": ");
		json_hex(a.claims[GOV_CLAIM_POLICY_HASH].p, 64);
		printf(", \"measurement\": ");
		if (a.claims[GOV_CLAIM_MEASUREMENT].isnull)
			printf("null");
		else
			json_hex(a.claims[GOV_CLAIM_MEASUREMENT].p, a.claims[GOV_CLAIM_MEASUREMENT].len);
		printf(", \"issued_at_us\": %lld, \"expires_at_us\": %lld, \"max_expiry_us\": %lld, \"depth\": %lld",
			   (long long) t[0], (long long) t[1], (long long) t[2], (long long) depth);
		if (!a.claims[GOV_CLAIM_AGENT_KEY_ID].isnull)
			printf(", \"agent_key_id\": \"%.16s\"", (const char *) a.claims[GOV_CLAIM_AGENT_KEY_ID].p);
		printf("}}\n");
	}
	else if (res.status == GV_VERIFIED)
		printf("OK: artifact verified: lease signed by key %s, depth %lld\n", kid, (long long) depth);
	else
		printf("FAILED: %s\n", res.problem);
	free(text);
	free(buf);
	return res.status;
}

/*
 * pop ARTIFACT: the artifact, then the bearer's proof of possession of the
 * key the artifact names (docs/FORMAT.md section 13, "present").
 */
static int
verify_pop(const char *arg)
{
	char	   *text;
	size_t		len;
	uint8_t    *buf = malloc(GOV_ARTIFACT_MAX_TEXT);
	GovArtifactParts a;
	GvResult	res;
	char		kid[17];
	char		akid[17];
	int64_t		t[3];
	int64_t		depth;
	uint8_t		agent_pk[32];
	uint8_t		want_nonce[GOV_POP_NONCE_LEN];
	uint8_t		nonce[GOV_POP_NONCE_LEN];
	uint8_t		sig[GOV_POP_SIG_LEN];
	uint8_t		art_hash[64];
	const char *err;
	GovPopRequest req;
	size_t		n;
	uint8_t    *msg;

	if (opts.agent_key == NULL || opts.nonce == NULL || opts.proof == NULL)
		bad_input("pop needs --agent-key, --nonce and --proof (see --help)");
	if (strlen(opts.agent_key) != 64 || !gov_ev_parse_hex(opts.agent_key, agent_pk, 32))
		bad_input("--agent-key must be 64 hexadecimal digits");
	if (strlen(opts.nonce) != 64 || !gov_ev_parse_hex(opts.nonce, want_nonce, 32))
		bad_input("--nonce must be 64 hexadecimal digits");
	err = gov_pop_proof_decode(opts.proof, strlen(opts.proof), nonce, sig);
	if (err)
		bad_input("malformed proof: %s", err);

	text = artifact_text(arg, &len);

	check_artifact(text, len, buf, &a, &res, kid, t, &depth);
	gv_key_id(agent_pk, akid);
	if (res.status != GV_VERIFIED)
	{
		/* the artifact's own problem comes first */
	}
	else if (a.claims[GOV_CLAIM_AGENT_KEY_ID].isnull)
		gv_fail(&res, GV_TAMPERED, 0, "the artifact names no agent key: its bearer cannot prove possession");
	else if (memcmp(a.claims[GOV_CLAIM_AGENT_KEY_ID].p, akid, 16) != 0)
		gv_fail(&res, GV_TAMPERED, 0, "the agent key %s is not the artifact's thumbprint %.16s",
				akid, (const char *) a.claims[GOV_CLAIM_AGENT_KEY_ID].p);
	else if (memcmp(nonce, want_nonce, GOV_POP_NONCE_LEN) != 0)
		gv_fail(&res, GV_TAMPERED, 0, "the proof answers another challenge");
	else
	{
		gv_sha3_512(text, len, art_hash);
		memset(&req, 0, sizeof(req));
		req.op = GOV_POP_PRESENT;
		req.server_key_id = kid;
		memcpy(req.nonce, nonce, GOV_POP_NONCE_LEN);
		req.resource = opts.audience;
		req.artifact_hash = art_hash;
		n = gov_pop_message_size(&req);
		msg = malloc(n);
		if (msg == NULL || gov_pop_message(&req, msg, n) != n)
			bad_input("out of memory");
		if (!gv_ed25519_verify(sig, msg, n, agent_pk))
			gv_fail(&res, GV_TAMPERED, 0, "bad signature: the proof is not by the agent key");
		free(msg);
	}
	if (opts.json)
	{
		printf("{\"verified\": %s, \"status\": \"%s\", \"what\": \"pop\", \"problem\": ",
			   res.status == GV_VERIFIED ? "true" : "false", status_word(res.status));
		if (res.status == GV_VERIFIED)
			printf("null");
		else
			json_str(res.problem);
		printf(", \"key_id\": \"%s\", \"agent_key_id\": \"%s\"}\n", kid, akid);
	}
	else if (res.status == GV_VERIFIED)
		printf("OK: artifact verified (key %s) and its bearer holds agent key %s\n", kid, akid);
	else
		printf("FAILED: %s\n", res.problem);
	free(text);
	free(buf);
	return res.status;
}

int
main(int argc, char **argv)
{
	int			i;
	const char *oldp = NULL;
	const char *newp = NULL;
	const char *cpp = NULL;
	const char *pos[2] = {NULL, NULL};
	int			npos = 0;

	if (argc > 1 && strncmp(argv[1], "root-", 5) == 0)
		return gv_root_main(argc, argv);
	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];

#define NEED_ARG() do { if (i + 1 >= argc) bad_input("%s needs an argument (see --help)", a); } while (0)
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		{
			fputs(usage_text, stdout);
			return 0;
		}
		else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
		{
			printf("governance-verify %s (evidence format %d)\n", VERSION, GOV_EV_VERSION);
			return 0;
		}
		else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0)
			opts.json = true;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			opts.quiet = true;
		else if (strcmp(a, "--ignore-expiry") == 0)
			opts.ignore_expiry = true;
		else if (strcmp(a, "--dot") == 0)
			opts.dot = true;
		else if (strcmp(a, "--artifact") == 0)
		{
			NEED_ARG();
			opts.artifact = argv[++i];
		}
		else if (strcmp(a, "--tenant") == 0)
		{
			NEED_ARG();
			opts.trust.tenant = argv[++i];
			if (opts.trust.tenant[0] == '\0' || strlen(opts.trust.tenant) >= GV_TENANT_MAX)
				bad_input("--tenant: a tenant uid of 1 to %d bytes is needed", GV_TENANT_MAX - 1);
		}
		else if (strcmp(a, "--keys") == 0)
		{
			NEED_ARG();
			opts.keys = argv[++i];
		}
		else if (strcmp(a, "-k") == 0 || strcmp(a, "--key") == 0)
		{
			NEED_ARG();
			add_key(argv[++i]);
		}
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--checkpoint") == 0)
		{
			NEED_ARG();
			cpp = argv[++i];
		}
		else if (strcmp(a, "--agent-key") == 0)
		{
			NEED_ARG();
			opts.agent_key = argv[++i];
		}
		else if (strcmp(a, "--nonce") == 0)
		{
			NEED_ARG();
			opts.nonce = argv[++i];
		}
		else if (strcmp(a, "--proof") == 0)
		{
			NEED_ARG();
			opts.proof = argv[++i];
		}
		else if (strcmp(a, "--audience") == 0)
		{
			NEED_ARG();
			opts.audience = argv[++i];
		}
		else if (strcmp(a, "--old") == 0)
		{
			NEED_ARG();
			oldp = argv[++i];
		}
		else if (strcmp(a, "--new") == 0)
		{
			NEED_ARG();
			newp = argv[++i];
		}
		else if (strcmp(a, "--log-id") == 0)
		{
			char		hex[33];
			const char *p;
			size_t		n = 0;

			NEED_ARG();
			for (p = argv[++i]; *p && n < sizeof(hex) - 1; p++)
				if (*p != '-')
					hex[n++] = (*p >= 'A' && *p <= 'F') ? (char) (*p - 'A' + 'a') : *p;
			hex[n] = '\0';
			if (*p || !gov_ev_parse_hex(hex, opts.trust.log_id, GOV_EV_LOG_ID))
				bad_input("--log-id %s: not a log id (32 hex digits or a UUID)", argv[i]);
			opts.trust.have_log_id = true;
		}
		else if (a[0] == '-' && a[1] != '\0' && npos < 1)
			bad_input("unknown option %s (see --help)", a);
		else if (npos < 2)
			pos[npos++] = a;
		else
			bad_input("too many arguments (see --help)");
	}
	if (sodium_init() < 0)
		bad_input("libsodium could not be initialised");
	if (npos != 2)
		bad_input("a command and its input are needed (see --help)");
	opts.command = pos[0];
	opts.arg = pos[1];
	if (cpp)
	{
		read_checkpoint(cpp, &opts.trust.cp);
		opts.trust.have_cp = true;
	}
	if (oldp)
	{
		read_checkpoint(oldp, &opts.trust.old_cp);
		opts.trust.have_old = true;
	}
	if (newp)
	{
		read_checkpoint(newp, &opts.trust.new_cp);
		opts.trust.have_new = true;
	}
	if (opts.dot && strcmp(opts.command, "proof") != 0)
		bad_input("--dot is for proof only (see --help)");
	if (opts.artifact && strcmp(opts.command, "proof") != 0)
		bad_input("--artifact is for proof only (see --help)");
	if (opts.trust.tenant && strcmp(opts.command, "proof") != 0)
		bad_input("--tenant is for proof only (see --help)");
	if (opts.keys && strcmp(opts.command, "checkpoint") != 0)
		bad_input("--keys is for checkpoint only (see --help)");
	if (opts.dot && opts.json)
		bad_input("--dot and --json both want standard output: choose one");
	if (opts.trust.nkeys == 0 && !opts.trust.have_cp)
		bad_input("a trusted public key (--key) or checkpoint (--checkpoint) is needed");
	if (strcmp(opts.command, "bundle") == 0 || strcmp(opts.command, "inclusion") == 0 ||
		strcmp(opts.command, "consistency") == 0 || strcmp(opts.command, "proof") == 0)
		return verify_evidence(opts.command, opts.arg);
	if (strcmp(opts.command, "checkpoint") == 0)
		return verify_checkpoint(opts.arg);
	if (strcmp(opts.command, "artifact") == 0)
		return verify_artifact(opts.arg);
	if (strcmp(opts.command, "pop") == 0)
		return verify_pop(opts.arg);
	bad_input("unknown command %s (see --help)", opts.command);
}
