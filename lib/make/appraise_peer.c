// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE: the appraisal of the peer's EVIDENCE and the VERDICT that answers
 * it (docs/protocol.md §3 "Appraisal of the peer's EVIDENCE", §2 VERDICT).
 * The appraisal itself is lib/evidence's one API, sn_appraise_bound(); this
 * file gives it the session's view (the policy, the peer's channel
 * binding, the allowed data-plane digests) and turns the result into
 * VERDICT reasons and the one-line summary for logs and on_fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sn_make_appraise_peer(const struct sn_make_params *p,
			  const uint8_t cb_peer[SN_MAKE_CB_LEN],
			  const uint8_t *buf, size_t len,
			  struct sn_appraisal **out)
{
	const struct sn_appraise_binding b = {
		.channel_binding = cb_peer,
		.cb_len = SN_MAKE_CB_LEN,
		.mlog_digests = p->peer_mlog_digests,
		.n_mlog_digests = p->n_peer_mlog_digests,
		.require = p->peer_mlog_require,
		.n_require = p->n_peer_mlog_require,
	};
	struct sn_appraisal *a = malloc(sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	err = sn_appraise_bound(buf, len, p->policy, p->appraisal_time, &b, a);
	if (err) {
		free(a);
		return err;
	}
	*out = a;
	return 0;
}

/* "name: detail" made printable for the wire */
static void reason_text(char *out, size_t cap, int code, const char *detail)
{
	snprintf(out, cap, "%s%s%s", sn_reason_name((enum sn_reason)code),
		 detail[0] ? ": " : "", detail);
	sn_make_printable(out);
}

void sn_make_verdict(struct sn_make_msg *v, const struct sn_appraisal *a,
		     const uint8_t peer_nonce[SN_MAKE_NONCE_LEN])
{
	size_t n = a->n_reasons;

	v->type = SN_MAKE_VERDICT;
	v->verdict.accept = a->accepted;
	memcpy(v->verdict.nonce, peer_nonce, SN_MAKE_NONCE_LEN);
	if (a->accepted)
		return;
	if (n > SN_MAKE_MAX_REASONS)
		n = SN_MAKE_MAX_REASONS;
	for (size_t i = 0; i < n; i++) {
		v->verdict.reasons[i].code = (uint16_t)a->reasons[i].code;
		reason_text(v->verdict.reasons[i].text,
			    sizeof(v->verdict.reasons[i].text),
			    a->reasons[i].code, a->reasons[i].detail);
	}
	if (!n) {
		/* not accepted yet no reason: say so */
		v->verdict.reasons[0].code = SN_R_NONE;
		snprintf(v->verdict.reasons[0].text,
			 sizeof(v->verdict.reasons[0].text), "rejected");
		n = 1;
	}
	v->verdict.n_reasons = n;
}

void sn_make_reasons_summary(char *out, size_t cap,
			     const struct sn_make_reason *r, size_t n)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		int w = snprintf(out + off, cap - off, "%s%s", i ? "; " : "",
				 r[i].text);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (!n)
		snprintf(out, cap, "no reason given");
}
