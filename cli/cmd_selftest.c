// SPDX-License-Identifier: Apache-2.0
/* sealnet selftest: known-answer test of the kernel AEAD, or a vector file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "sealnet/selftest.h"
#include "args.h"
#include "commands.h"

enum { OPT_VECTORS, OPT_ROUNDS, OPT_QUIET };
static const struct sn_cli_opt opts[] = {
	[OPT_VECTORS] = { "vectors", 0, "FILE",
		"instead run every vector of FILE, a JSON file in the\n"
		"Wycheproof layout: {\"testGroups\": [{\"ivSize\": 96,\n"
		"\"keySize\": 256, \"tagSize\": 128, \"tests\": [{\"tcId\",\n"
		"\"key\", \"iv\", \"aad\", \"msg\", \"ct\", \"tag\",\n"
		"\"result\"}]}]} (hex strings; result valid, invalid\n"
		"or acceptable).  A valid vector must seal to ct and\n"
		"tag and open to msg; an invalid one must be rejected;\n"
		"an acceptable one may go either way.  Vectors the\n"
		"kernel AEAD cannot take (iv other than 96 bits, key\n"
		"other than 256, tag other than 128, aad over 32\n"
		"bytes, message over 2004 bytes) are skipped and\n"
		"counted.  Each tcId that disagrees is printed." },
	[OPT_ROUNDS] = { "rounds", 0, "N",
		"random round trips of the known-answer test\n"
		"(default 16, at most 100000)" },
	[OPT_QUIET] = { "quiet", 'q', NULL,
		"print nothing when everything passes" },
	{ 0 },
};

static const struct sn_cli_spec spec = {
	.cmd = "sealnet selftest",
	.about =
		"Check the kernel (BPF) ChaCha20-Poly1305 that seals and opens sealnet\n"
		"traffic.  The BPF code is loaded into the running kernel and driven\n"
		"through BPF_PROG_TEST_RUN, so this needs root (CAP_BPF); nothing is\n"
		"attached to any interface.\n"
		"\n"
		"Without --vectors, run the known-answer test: the RFC 8439 vectors\n"
		"(2.8.2 AEAD seal and open, A.5 decryption and a tampered copy of it,\n"
		"2.3.2 and 2.4.2 ChaCha20, 2.5.2 Poly1305), then N random round trips\n"
		"against OpenSSL in both directions (kernel seals, OpenSSL opens and\n"
		"the other way round, plus a forged tag that must be rejected).\n",
	.opts = opts,
	.after =
		"output: one line per failure on standard output,\n"
		"  FAIL <case>: <what differed>\n"
		"where <case> is the vector's name or \"tcId N\", then a summary line\n"
		"(unless --quiet and all passed).\n"
		"\n"
		"exit status: 0 all passed; 1 a vector failed (or the kernel AEAD\n"
		"could not be loaded); 2 bad usage, or FILE unreadable or malformed.\n",
};

struct fail_ctx {
	unsigned int printed;
};

static void print_fail(const char *name, int tc_id, const char *why,
		       void *arg)
{
	struct fail_ctx *f = arg;

	printf("FAIL %s: %s\n", name, why);
	f->printed++;
}

int cmd_selftest(int argc, char **argv)
{
	struct sn_selftest_stats st = { 0 };
	struct fail_ctx fc = { 0 };
	const char *vectors = NULL;
	unsigned int rounds = 0;
	struct sn_cli_args a;
	int quiet = 0, c, err;
	long v;

	sn_cli_args_init(&a, &spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0) {
		switch (c) {
		case OPT_VECTORS:
			vectors = a.optarg;
			break;
		case OPT_ROUNDS:
			if (sn_cli_number(&a, 1, 100000, &v))
				return 2;
			rounds = (unsigned int)v;
			break;
		case OPT_QUIET:
			quiet = 1;
			break;
		}
	}
	c = sn_cli_end(&a, c, 0, 0);
	if (c)
		return sn_cli_exit(c);
	if (vectors && rounds) {
		fprintf(stderr, "sealnet selftest: --rounds applies to the "
				"known-answer test, not to --vectors\n");
		return 2;
	}

	if (vectors)
		err = sn_selftest_vectors(vectors, print_fail, &fc, &st);
	else
		err = sn_selftest_kat(rounds, print_fail, &fc, &st);
	fflush(stdout);
	if (err) {
		fprintf(stderr, "sealnet selftest: %s%s%s\n",
			vectors ? vectors : "", vectors ? ": " : "",
			err == -EINVAL && vectors ? "malformed vector file" :
						    strerror(-err));
		/* unreadable or malformed input: 2; the kernel side: 1 */
		if (vectors && (err == -EINVAL || err == -ENOENT ||
				err == -EACCES || err == -EISDIR ||
				err == -EFBIG || err == -ENOTDIR))
			return 2;
		return 1;
	}
	if (st.failed || !quiet)
		printf("selftest %s: %s: %u cases, %u passed, %u failed, "
		       "%u skipped, %u acceptable\n",
		       st.failed ? "FAILED" : "passed",
		       vectors ? vectors : "known-answer test", st.total,
		       st.passed, st.failed, st.skipped, st.acceptable);
	return st.failed ? 1 : 0;
}
