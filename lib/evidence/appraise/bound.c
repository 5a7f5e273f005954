// SPDX-License-Identifier: Apache-2.0
/*
 * Appraisal of evidence bound to a channel (docs/attestation.md, "Runtime
 * measurement log and report_data binding"; used for MAKE's EVIDENCE,
 * docs/protocol.md §3): the serialized evidence as it arrived, its
 * measurement log replayed, sn_appraise() with the policy, then
 * report_data against the binding recomputed from the verifier's own view
 * of the channel and the replayed log, and the log's digest against an
 * optional allow-list.  Every problem is a reason in the one appraisal.
 */
#include <errno.h>
#include <stdlib.h>

#include "appraise.h"
#include "sealnet/util.h"

/* the attached log's running digest (zeros without a log); false when
 * the log does not parse */
static bool mlog_digest(const struct sn_evidence *ev,
			uint8_t digest[SN_SHA384_LEN])
{
	struct sn_mlog log;

	memset(digest, 0, SN_SHA384_LEN);
	if (!ev->mlog)
		return true;
	if (sn_mlog_parse(ev->mlog, ev->mlog_len, &log))
		return false;
	memcpy(digest, log.digest, SN_SHA384_LEN);
	sn_mlog_free(&log);
	return true;
}

static void check_binding(const struct sn_appraise_binding *b,
			  const uint8_t digest[SN_SHA384_LEN], bool log_ok,
			  const uint8_t expect[SN_REPORT_DATA_LEN],
			  struct sn_appraisal *a)
{
	bool found = false;

	if (!log_ok)
		sn_appraisal_add(a, SN_R_MALFORMED,
				 "runtime measurement log malformed");
	if (sn_memeq_ct(a->claims.report_data, expect, SN_REPORT_DATA_LEN))
		sn_appraisal_add(a, SN_R_REPORT_DATA,
				 "report_data does not bind this TLS session "
				 "(relayed or replayed evidence)");
	if (!b->n_mlog_digests || !log_ok)
		return;
	for (size_t i = 0; i < b->n_mlog_digests; i++)
		if (!sn_memeq_ct(b->mlog_digests[i], digest, SN_SHA384_LEN))
			found = true;
	if (!found)
		sn_appraisal_add(a, SN_R_MEASUREMENT_NOT_ALLOWED,
				 "runtime measurement log digest not allowed");
}

int sn_appraise_bound(const uint8_t *buf, size_t len,
		      const struct sn_policy_appraisal *policy, time_t at,
		      const struct sn_appraise_binding *binding,
		      struct sn_appraisal *out)
{
	uint8_t digest[SN_SHA384_LEN], expect[SN_REPORT_DATA_LEN];
	struct sn_evidence *ev = NULL;
	struct sn_appraisal *a;
	bool log_ok;
	int err;

	if (!buf || !binding || !binding->channel_binding || !out)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (sn_evidence_parse(buf, len, &ev)) {
		sn_appraisal_add(a, SN_R_MALFORMED,
				 "evidence could not be parsed");
		err = 0;
		goto done;
	}
	log_ok = mlog_digest(ev, digest);
	err = sn_appraise(ev, policy, at, a);
	if (!err)
		err = sn_report_data_binding(binding->channel_binding,
					     binding->cb_len, digest, expect);
	if (err)
		goto cleanup;
	check_binding(binding, digest, log_ok, expect, a);
done:
	*out = *a;
cleanup:
	sn_evidence_free(ev);
	free(a);
	return err;
}
