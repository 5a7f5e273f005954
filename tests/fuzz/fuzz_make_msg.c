// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: the MAKE message decoder (lib/make/msg.c).  Every frame that
 * decodes must re-encode to the same bytes (the layout is canonical). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "sealnet/make.h"

/* The codec comes from libsealnet, which -Dfuzz instruments for coverage
 * like every target (meson.build), so its branches guide the fuzzer. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sn_make_msg m;
	uint8_t *enc;
	size_t len, body;

	sn_log_set(NULL, NULL);
	if (size >= SN_MAKE_HDR_LEN)
		(void)sn_make_msg_peek(data, &body);
	if (sn_make_msg_decode(data, size, &m))
		return 0;
	if (sn_make_msg_encode(&m, &enc, &len))
		abort(); /* a decoded message must be encodable */
	if (len != size || memcmp(enc, data, size))
		abort(); /* and round-trip exactly */
	free(enc);
	return 0;
}
