// SPDX-License-Identifier: Apache-2.0
/* Fuzz sealnetd's configuration parser: never crash, never leak, and an
 * error always comes with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_node_config *c = NULL;
	char err[256] = "";

	if (sn_config_parse((const char *)data, size, &c, err, sizeof(err))) {
		if (!err[0] || c)
			abort();
		return 0;
	}
	sn_config_free(c);
	return 0;
}
