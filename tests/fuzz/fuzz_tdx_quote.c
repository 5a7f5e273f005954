// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: TDX quote v4 parser and verifier (PEM chain included). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_evidence *ev = NULL;
	struct sn_claims c;
	uint8_t *q;

	sn_log_set(NULL, NULL);
	(void)sn_tdx_quote_parse(data, size, &c);
	/* force the TDX path: header version 4, TEE type 0x81 */
	if (size < 8 || size > SN_EVIDENCE_MAX_INPUT)
		return 0;
	q = malloc(size);
	if (!q)
		return 0;
	memcpy(q, data, size);
	q[0] = 4, q[1] = 0, q[2] = 2, q[3] = 0;
	q[4] = 0x81, q[5] = q[6] = q[7] = 0;
	if (!sn_evidence_parse(q, size, &ev)) {
		struct sn_appraisal a;

		(void)sn_evidence_verify(ev, NULL, &a);
		sn_evidence_free(ev);
	}
	free(q);
	return 0;
}
