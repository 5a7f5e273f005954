// SPDX-License-Identifier: Apache-2.0
/* Fuzz the hex decoder: never crash, round-trip what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[2048], back[2048];
	char hex[4097];
	int n;

	if (size > 4096)
		return 0;
	n = sn_hex_decode((const char *)data, size, out, sizeof(out));
	if (n < 0)
		return 0;
	sn_hex_encode(out, (size_t)n, hex);
	if (sn_hex_decode(hex, strlen(hex), back, sizeof(back)) != n ||
	    memcmp(out, back, (size_t)n))
		abort();
	return 0;
}
