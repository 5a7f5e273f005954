// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: configfs-tsm JSON + GHCB certificate table, measurement log. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_evidence *ev = NULL;
	struct sn_mlog m;

	sn_log_set(NULL, NULL);
	if (!sn_evidence_parse(data, size, &ev)) {
		struct sn_appraisal a;
		uint8_t *wire;
		size_t len;

		(void)sn_evidence_verify(ev, NULL, &a);
		if (!sn_evidence_serialize(ev, &wire, &len))
			free(wire);
		sn_evidence_free(ev);
	}
	ev = calloc(1, sizeof(*ev));
	if (ev) {
		(void)sn_ghcb_certs_parse(data, size, ev);
		sn_evidence_free(ev);
	}
	if (!sn_mlog_parse(data, size, &m))
		sn_mlog_free(&m);
	return 0;
}
