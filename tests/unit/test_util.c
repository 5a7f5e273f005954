// SPDX-License-Identifier: Apache-2.0
/* Unit tests for lib/util.c: hex codec, file reads, constant-time compare. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealnet/util.h"

static void hex_roundtrip(void **state)
{
	uint8_t in[256], out[256];
	char hex[513];

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	sn_hex_encode(in, sizeof(in), hex);
	assert_int_equal(strlen(hex), 512);
	assert_string_equal(hex + 508, "feff");
	assert_int_equal(sn_hex_decode(hex, strlen(hex), out, sizeof(out)), 256);
	assert_memory_equal(in, out, sizeof(in));
}

static void hex_whitespace_and_case(void **state)
{
	uint8_t out[4];
	const char *s = " DE ad\nbE\tef \n";

	assert_int_equal(sn_hex_decode(s, strlen(s), out, sizeof(out)), 4);
	assert_int_equal(out[0], 0xde);
	assert_int_equal(out[3], 0xef);
}

static void hex_errors(void **state)
{
	uint8_t out[2];

	assert_int_equal(sn_hex_decode("abc", 3, out, 2), -EINVAL);
	assert_int_equal(sn_hex_decode("zz", 2, out, 2), -EINVAL);
	assert_int_equal(sn_hex_decode("a b", 3, out, 2), -EINVAL);
	assert_int_equal(sn_hex_decode("aabbcc", 6, out, 2), -ENOSPC);
	assert_int_equal(sn_hex_decode("", 0, out, 2), 0);
}

static void read_file_limits(void **state)
{
	char path[] = "/tmp/sealnet-test-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(sn_read_file(path, 5, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal((char *)buf, "hello");
	free(buf);
	buf = NULL;
	assert_int_equal(sn_read_file(path, 4, &buf, &len), -EFBIG);
	assert_null(buf);
	unlink(path);
	assert_int_equal(sn_read_file(path, 4, &buf, &len), -ENOENT);
}

static void memeq_ct(void **state)
{
	assert_int_equal(sn_memeq_ct("abcd", "abcd", 4), 0);
	assert_int_not_equal(sn_memeq_ct("abcd", "abce", 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hex_roundtrip),
		cmocka_unit_test(hex_whitespace_and_case),
		cmocka_unit_test(hex_errors),
		cmocka_unit_test(read_file_limits),
		cmocka_unit_test(memeq_ct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
