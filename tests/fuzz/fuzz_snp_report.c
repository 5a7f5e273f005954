// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: SEV-SNP report parser (raw and hex) and verifier. */
#include <stddef.h>
#include <stdint.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_evidence *ev = NULL;
	struct sn_claims c;

	sn_log_set(NULL, NULL);
	(void)sn_snp_report_parse(data, size, &c);
	if (!sn_evidence_parse(data, size, &ev)) {
		struct sn_appraisal a;

		(void)sn_evidence_verify(ev, NULL, &a);
		sn_evidence_free(ev);
	}
	return 0;
}
