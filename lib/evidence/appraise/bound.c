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

/* the attached log (empty without one); false when it does not parse */
static bool mlog_load(const struct sn_evidence *ev, struct sn_mlog *log)
{
	sn_mlog_init(log);
	if (!ev->mlog)
		return true;
	return sn_mlog_parse(ev->mlog, ev->mlog_len, log) == 0;
}

/* each required event: its type exactly once, digest (and desc) equal */
static void check_required(const struct sn_appraise_binding *b,
			   const struct sn_mlog *log, struct sn_appraisal *a)
{
	for (size_t i = 0; i < b->n_require; i++) {
		const struct sn_mlog_require *r = &b->require[i];
		const struct sn_mlog_event *hit = NULL;
		size_t n = 0;

		for (size_t j = 0; j < log->n; j++)
			if (log->ev[j].type == r->type) {
				hit = &log->ev[j];
				n++;
			}
		if (!n)
			sn_appraisal_add(a, SN_R_WORKFLOW,
					 "the peer's measurement log holds no "
					 "%s",
					 r->what);
		else if (n > 1)
			sn_appraisal_add(a, SN_R_WORKFLOW,
					 "the peer's measurement log holds %zu "
					 "%s events (one expected)",
					 n, r->what);
		else if (r->desc && strcmp(hit->desc, r->desc))
			sn_appraisal_add(a, SN_R_WORKFLOW,
					 "the peer's %s is \"%s\", expected "
					 "\"%s\"",
					 r->what, hit->desc, r->desc);
		else if (sn_memeq_ct(hit->digest, r->digest, SN_SHA384_LEN))
			sn_appraisal_add(a, SN_R_WORKFLOW,
					 "the peer's %s (\"%s\") has another "
					 "digest than ours",
					 r->what, hit->desc);
	}
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

int sn_appraise_bound_ev(const struct sn_evidence *ev,
			 const struct sn_policy_appraisal *policy, time_t at,
			 const struct sn_appraise_binding *binding,
			 struct sn_appraisal *out)
{
	uint8_t digest[SN_SHA384_LEN], expect[SN_REPORT_DATA_LEN];
	struct sn_appraisal *a;
	struct sn_mlog log;
	bool log_ok;
	int err;

	if (!binding || !binding->channel_binding || !out)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (!ev) {
		sn_appraisal_add(a, SN_R_MALFORMED,
				 "evidence could not be parsed");
		err = 0;
		goto done;
	}
	log_ok = mlog_load(ev, &log);
	memcpy(digest, log.digest, SN_SHA384_LEN); /* zeros: no log */
	err = sn_appraise(ev, policy, at, a);
	if (!err)
		err = sn_report_data_binding(binding->channel_binding,
					     binding->cb_len, digest, expect);
	if (!err) {
		check_binding(binding, digest, log_ok, expect, a);
		if (log_ok)
			check_required(binding, &log, a);
		else if (binding->n_require)
			sn_appraisal_add(a, SN_R_WORKFLOW,
					 "no readable measurement log to find "
					 "the %s in",
					 binding->require[0].what);
	}
	sn_mlog_free(&log);
	if (err)
		goto cleanup;
done:
	*out = *a;
cleanup:
	free(a);
	return err;
}

int sn_appraise_bound(const uint8_t *buf, size_t len,
		      const struct sn_policy_appraisal *policy, time_t at,
		      const struct sn_appraise_binding *binding,
		      struct sn_appraisal *out)
{
	struct sn_evidence *ev = NULL;
	int err;

	if (!buf || !binding || !binding->channel_binding || !out)
		return -EINVAL;
	if (sn_evidence_parse(buf, len, &ev))
		ev = NULL;
	err = sn_appraise_bound_ev(ev, policy, at, binding, out);
	sn_evidence_free(ev);
	return err;
}
