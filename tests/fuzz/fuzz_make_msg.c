// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: the MAKE message decoder (lib/make/msg.c).  Every frame that
 * decodes must re-encode to the same bytes (the layout is canonical). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "sealnet/make.h"

/*
 * libsealnet is not built with coverage instrumentation (-Dfuzz only
 * instruments the targets), which leaves libFuzzer blind.  Compile the
 * codec into this target so its branches guide the fuzzer; the archive's
 * msg.o is then not linked (every symbol it defines is already here).
 */
#include "../../lib/make/msg.c"

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
