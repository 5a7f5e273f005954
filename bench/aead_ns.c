// SPDX-License-Identifier: Apache-2.0
/*
 * aead_ns: ns per seal/open of the kernel (BPF) ChaCha20-Poly1305, measured
 * with BPF_PROG_TEST_RUN repeat on bpf/aead_test.bpf.c (includes copying
 * the message into and out of the scratch map; 20-byte aad).  Root.
 *
 *   aead_ns [REPEAT [LEN...]]     default: 100000, 64 512 1400
 *
 * Output: one line per op and size, "seal 1400 B: 2345 ns/op (597 MB/s)";
 * the best of 5 runs; seal and open, then ChaCha20 and Poly1305 alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/kaead.h"
#include "sealnet/log.h"

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
			uint64_t best = UINT64_MAX, ns;

			for (int run = 0; run < 5; run++) {
				err = sn_kaead_bench(ops[o], len, repeat, &ns);
				if (err) {
					fprintf(stderr, "aead_ns: %zu: %s\n",
						len, strerror(-err));
					return 1;
				}
				if (ns < best)
					best = ns;
			}
			printf("%s %zu B: %llu ns/op (%.0f MB/s)\n",
			       names[o], len,
			       (unsigned long long)best,
			       best ? len * 1e3 / (double)best : 0.0);
		}
	}
	sn_kaead_unload();
	return 0;
}
