/*-------------------------------------------------------------------------
 *
 * fuzz_evidence.c
 *	  libFuzzer harness for what governance-verify reads (docs/FORMAT.md,
 *	  sections 7, 12 and 13): the line format of bundles and proofs
 *	  (lease proofs with their lineage map entries included)
 *	  (src/evidence_codec.c), the engine that verifies them record by
 *	  record (contrib/governance-verify/gv_engine.c, gv_blocks.c) and the
 *	  checkpoint JSON reader (gv_json.c).  Every input is used three ways:
 *
 *	  1. as a bundle or proof, split into lines and fed to the engine as
 *	     the command line does (trusting the first key of the seed
 *	     corpus, so that mutations of real bundles get past the keys):
 *	     it ends in one of the three verdicts, a refusal names a problem,
 *	     and nothing reads or writes out of bounds or leaks;
 *	  2. each line alone through gov_ev_parse: an accepted int token
 *	     re-encodes to itself, an accepted record's fields lie where the
 *	     format says;
 *	  3. as a checkpoint JSON text;
 *	  and its first bytes choose a Merkle tree (n leaves, leaf m) on which
 *	  the audit path, the recursive root, the incremental root and RFC
 *	  9162's path folding must agree.
 *
 *	  A verified proof is verified again with --tenant (the engine's
 *	  trust.tenant): its reported tenant must pass, another must fail.
 *
 *	  A broken property calls abort().  Built by contrib/fuzz/run.sh:
 *
 * fuzz-sources: src/evidence_codec.c src/artifact_codec.c contrib/governance-verify/gv_engine.c contrib/governance-verify/gv_blocks.c contrib/governance-verify/gv_json.c
 * fuzz-libs: -lsodium -lcrypto
 * fuzz-options: -max_len=65536 -timeout=10
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../governance-verify/gv.h"

#define CHECK(cond, what) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_evidence: property broken: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

/* the first key of the seed corpus (contrib/fuzz/corpus/fuzz_evidence), and
 * the key of its format version 2 seeds (seed_proof, seed_bundle_v2) */
static const char seed_key[] = "16a9ef632d5051a4fc3da68ac4587e2b372be2654927a37c199423f30faa5a50";
static const char seed_key_v2[] = "0a0aa73e5d9c70cc202933e7bd7880d21387774ce916ce0cda336686088ef047";
static GvTrust trust;

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	if (sodium_init() < 0)
		abort();
	memset(&trust, 0, sizeof(trust));
	trust.nkeys = 2;
	CHECK(gov_ev_parse_hex(seed_key, trust.pk[0], 32), "the seed key parses");
	CHECK(gov_ev_parse_hex(seed_key_v2, trust.pk[1], 32), "the version 2 seed key parses");
	return 0;
}

/* 1. the engine; tenant: as --tenant (NULL: none asked) */
static void
check_engine(const uint8_t *data, size_t size, const char *tenant, GvResult *out)
{
	GvResult	res;
	GvState    *st;
	size_t		start = 0;
	bool		complete = true;

	trust.tenant = tenant;
	st = gv_begin(&trust, &res);
	while (start < size)
	{
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t		len;
		char	   *line;

		if (nl == NULL)
		{
			complete = false;
			break;
		}
		len = (size_t) (nl - (data + start));
		line = malloc(len + 1); /* room for the terminator, exactly */
		CHECK(line != NULL, "malloc");
		memcpy(line, data + start, len);
		line[len] = '\0';
		start += len + 1;
		if (!gv_line(st, line, len))
		{
			free(line);
			break;
		}
		free(line);
	}
	if (res.status == GV_VERIFIED)
		gv_finish(st, complete);
	CHECK(res.status == GV_VERIFIED || res.status == GV_TAMPERED || res.status == GV_BAD_INPUT,
		  "a verdict is one of three");
	CHECK(res.status == GV_VERIFIED || res.problem[0] != '\0', "a refusal names its problem");
	CHECK(res.status != GV_VERIFIED || size > 0, "nothing is not verified evidence");
	CHECK(!res.has_tenant || memchr(res.tenant, '\0', sizeof(res.tenant)) != NULL,
		  "a reported tenant is a terminated string");
	gv_free(st);
	trust.tenant = NULL;
	*out = res;
}

/* 2. each line alone */
static void
check_lines(const uint8_t *data, size_t size)
{
	size_t		start = 0;

	while (start < size)
	{
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t		len = nl ? (size_t) (nl - (data + start)) : size - start;
		size_t		cap = gov_ev_gap_capacity(len);
		char	   *line = malloc(len + 1);
		char	   *copy = malloc(len + 1);
		int64_t    *gaps = malloc(sizeof(int64_t) * cap);
		GovEvRecord rec;
		const char *err;

		CHECK(line && copy && gaps, "malloc");
		memcpy(line, data + start, len);
		line[len] = '\0';
		memcpy(copy, line, len + 1);
		err = gov_ev_parse(line, len, &rec, gaps, cap);
		if (err == NULL)
		{
			char		buf[GOV_EV_INT_MAX + 1];

			CHECK(rec.type != GOV_EV_BAD, "an accepted line has a type");
			CHECK(strchr(copy, '\\') == NULL && strchr(copy, '\t') == NULL, "no backslash, no tab");
			if (rec.type == GOV_EV_END)
			{
				size_t		n = gov_ev_put_int(buf, rec.u.end_records);

				buf[n] = '\0';
				CHECK(strcmp(copy + 4, buf) == 0, "an int re-encodes to its token");
			}
			if (rec.type == GOV_EV_BLOCK || rec.type == GOV_EV_PRIOR)
				CHECK(rec.u.block.ngaps * 2 <= cap && rec.u.block.gaps == gaps, "gaps in the caller's buffer");
			if (rec.type == GOV_EV_ROW)
			{
				const GovEvStr *s[] = {&rec.u.row.kind, &rec.u.row.principal, &rec.u.row.action,
				&rec.u.row.resource, &rec.u.row.payload, &rec.u.row.actor};
				size_t		i;

				for (i = 0; i < 6; i++)
					CHECK(s[i]->isnull || s[i]->len == 0 ||
						  ((const char *) s[i]->p >= line && (const char *) s[i]->p + s[i]->len <= line + len),
						  "a decoded string lies inside its line");
			}
			if (rec.type == GOV_EV_PATH)
				CHECK(rec.u.path.n >= 0 && rec.u.path.n <= GOV_EV_MAX_PATH, "a path fits");
			if (rec.type == GOV_EV_MAP)
				CHECK(rec.u.map.path.n >= 0 && rec.u.map.path.n <= GOV_EV_MAX_PATH, "a map entry's path fits");
			if (rec.type == GOV_EV_BLOCK || rec.type == GOV_EV_PRIOR)
				CHECK(rec.u.block.version == 1 || (rec.u.block.version == 2 && rec.u.block.v2_line),
					  "a block is of format 1, or 2 in a version 2 line");
			if (rec.type == GOV_EV_HEADER)
				CHECK(rec.u.header.version == 1 || rec.u.header.version == 2, "a known version");
		}
		free(line);
		free(copy);
		free(gaps);
		start += len + 1;
	}
}

/* a cheap, non-cryptographic node, so the tree checks stay fast */
static void
toy_node(const uint8_t *l, const uint8_t *r, uint8_t *out, void *arg)
{
	int			i;

	(void) arg;
	for (i = 0; i < 64; i++)
		out[i] = (uint8_t) (l[i] * 31 + r[(i + 7) % 64] * 17 + i + 1);
}

/* 4. Merkle trees */
static void
check_merkle(const uint8_t *data, size_t size)
{
	int64_t		n;
	int64_t		m;
	uint8_t    *leaves;
	uint8_t		r1[64];
	uint8_t		r2[64];
	uint8_t		r3[64];
	GovEvPath  *path;
	GovEvMerkle *inc;
	int64_t		i;

	if (size < 4)
		return;
	n = 1 + ((data[0] | data[1] << 8) % 300);
	m = (data[2] | data[3] << 8) % n;
	leaves = malloc(64 * n);
	path = calloc(1, sizeof(GovEvPath));
	inc = malloc(sizeof(GovEvMerkle));
	CHECK(leaves && path && inc, "malloc");
	for (i = 0; i < 64 * n; i++)
		leaves[i] = data[(size_t) i % size] ^ (uint8_t) (i / 64);
	gov_ev_merkle_root(leaves, n, r1, toy_node, NULL);
	gov_ev_merkle_init(inc);
	for (i = 0; i < n; i++)
		gov_ev_merkle_push(inc, leaves + 64 * i, toy_node, NULL);
	CHECK(gov_ev_merkle_finish(inc, r2, toy_node, NULL), "an incremental root of n >= 1 leaves");
	CHECK(memcmp(r1, r2, 64) == 0, "the incremental root is RFC 6962's MTH");
	path->leaf_index = m;
	path->tree_size = n;
	path->n = gov_ev_audit_path(leaves, n, m, path->hashes, toy_node, NULL);
	CHECK(path->n >= 0, "an audit path exists for m < n");
	CHECK(gov_ev_path_root(path, leaves + 64 * m, r3, toy_node, NULL), "the path folds");
	CHECK(memcmp(r1, r3, 64) == 0, "the audit path leads to the root");
	if (n > 1)
	{
		/* another leaf index does not verify with the same path */
		path->leaf_index = (m + 1) % n;
		if (gov_ev_path_root(path, leaves + 64 * m, r3, toy_node, NULL))
			CHECK(path->n > 0, "a moved leaf index with an empty path");
	}
	free(leaves);
	free(path);
	free(inc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GvResult	res;
	GvResult	again;

	check_engine(data, size, NULL, &res);
	if (res.status == GV_VERIFIED && strcmp(res.what, "proof") == 0)
	{
		/* --tenant: the tenant reported passes, any other fails */
		check_engine(data, size, res.has_tenant ? res.tenant : "Tenant::\"fuzz\"", &again);
		CHECK(again.status == (res.has_tenant ? GV_VERIFIED : GV_TAMPERED),
			  "--tenant accepts exactly the tenant reported");
		check_engine(data, size, "Tenant::\"not-the-one\"\x01", &again);
		CHECK(again.status == GV_TAMPERED, "--tenant refuses another tenant");
	}
	check_lines(data, size);
	{
		GovEvCheckpoint cp;
		bool		tampered;
		const char *err = gv_parse_checkpoint_json((const char *) data, size, &cp, &tampered);

		CHECK(err != NULL || cp.key_id[16] == '\0', "an accepted checkpoint has a key id");
		CHECK(err == NULL || !tampered || strstr(err, "sealed_at") != NULL, "tampering is about sealed_at");
	}
	check_merkle(data, size);
	return 0;
}
