// SPDX-License-Identifier: Apache-2.0
/* BPF_PROG_TEST_RUN of the TC programs on crafted packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealnet.skel.h"

static void counts_and_passes(void **state)
{
	struct sealnet_bpf *s = sealnet_bpf__open_and_load();
	uint8_t pkt[64] = { 0 };
	uint8_t out[128];
	uint64_t vals[256];
	uint32_t key = 0;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	assert_non_null(s);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
		    .data_size_in = sizeof(pkt), .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 3);
	assert_int_equal(bpf_prog_test_run_opts(
				 bpf_program__fd(s->progs.sn_egress), &o),
			 0);
	assert_int_equal(o.retval, 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.sn_count),
					     &key, vals),
			 0);
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	assert_int_equal(sum, 3);
	sealnet_bpf__destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_and_passes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
