// SPDX-License-Identifier: Apache-2.0
/*
 * aead_ns: ns per seal/open of the kernel (BPF) ChaCha20-Poly1305, measured
 * with BPF_PROG_TEST_RUN repeat on bpf/aead_test.bpf.c (includes copying
 * the message into and out of the scratch map; 20-byte aad).  Root.
 *
 *   aead_ns [REPEAT [LEN...]]     default: 100000, 64 512 1400
 *
 * Output: one line per op and size,
 * "seal 1400 B: 2345 ns/op (597 MB/s) best 2301", the median of NRUNS runs
 * (the machine is shared: the median is the figure to compare) and the
 * best; seal and open, then ChaCha20 and Poly1305 alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/kaead.h"
#include "sealnet/log.h"

#define NRUNS 7

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const size_t def_lens[] = { 64, 512, 1400 };
	static const enum sn_kaead_op ops[] = { SN_KAEAD_SEAL, SN_KAEAD_OPEN,
						SN_KAEAD_CHACHA20,
						SN_KAEAD_POLY1305 };
	static const char *const names[] = { "seal", "open", "chacha20",
					     "poly1305" };
	uint32_t repeat = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) :
				     100000;
	int nlens = argc > 2 ? argc - 2 : 3;
	int err;

	sn_log_set(sn_log_stderr, "aead_ns");
	err = sn_kaead_load();
	if (err) {
		fprintf(stderr, "aead_ns: %s\n", strerror(-err));
		return 1;
	}
	for (int o = 0; o < 4; o++) {
		for (int i = 0; i < nlens; i++) {
			size_t len = argc > 2 ? strtoul(argv[2 + i], NULL, 10) :
						def_lens[i];
			uint64_t ns[NRUNS], med;

			for (int run = 0; run < NRUNS; run++) {
				err = sn_kaead_bench(ops[o], len, repeat,
						     &ns[run]);
				if (err) {
					fprintf(stderr, "aead_ns: %zu: %s\n",
						len, strerror(-err));
					return 1;
				}
			}
			qsort(ns, NRUNS, sizeof(ns[0]), cmp_u64);
			med = ns[NRUNS / 2];
			printf("%s %zu B: %llu ns/op (%.0f MB/s) best %llu\n",
			       names[o], len, (unsigned long long)med,
			       med ? len * 1e3 / (double)med : 0.0,
			       (unsigned long long)ns[0]);
		}
	}
	sn_kaead_unload();
	return 0;
}
