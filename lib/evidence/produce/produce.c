// SPDX-License-Identifier: Apache-2.0
/* A node's evidence, ready to send: report + measurement log, serialised. */
#include <errno.h>
#include <stdlib.h>

#include "sealnet/evidence.h"

int sn_evidence_produce_ev(enum sn_tee tee, const char *platform_dir,
			   const uint8_t report_data[SN_REPORT_DATA_LEN],
			   const uint8_t measurement[SN_MEASUREMENT_LEN],
			   const struct sn_mlog *mlog, struct sn_evidence **out)
{
	struct sn_evidence *ev = NULL;
	uint8_t *log = NULL;
	size_t log_len = 0;
	int err;

	if (tee == SN_TEE_SIM)
		err = sn_evidence_produce_sim(platform_dir, report_data,
					      measurement, &ev);
	else if (tee == SN_TEE_SNP || tee == SN_TEE_TDX)
		err = sn_evidence_produce_tsm(tee, NULL, report_data, &ev);
	else
		err = -EINVAL;
	if (!err && mlog)
		err = sn_mlog_serialize(mlog, &log, &log_len);
	if (!err && mlog)
		err = sn_evidence_set_mlog(ev, log, log_len);
	free(log);
	if (err) {
		sn_evidence_free(ev);
		return err;
	}
	*out = ev;
	return 0;
}

int sn_evidence_produce(enum sn_tee tee, const char *platform_dir,
			const uint8_t report_data[SN_REPORT_DATA_LEN],
			const uint8_t measurement[SN_MEASUREMENT_LEN],
			const struct sn_mlog *mlog, uint8_t **out, size_t *len)
{
	struct sn_evidence *ev = NULL;
	int err = sn_evidence_produce_ev(tee, platform_dir, report_data,
					 measurement, mlog, &ev);

	if (!err)
		err = sn_evidence_serialize(ev, out, len);
	sn_evidence_free(ev);
	return err;
}
