// SPDX-License-Identifier: Apache-2.0
/* The KBS's request body parsers: strict (unknown members, wrong types
 * and lengths are refused), bounded, and fuzzed (tests/fuzz). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sealnet/kbs.h"

int sn_kbs_attest_request_parse(const char *body, size_t len,
				struct sn_kbs_attest_request *out)
{
	struct sn_kbs_attest_request r = {0};
	const char *node, *ch, *rek, *ev;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	int err = -EINVAL;

	if (!o || json_unpack(o, "{s:s,s:s,s:s,s:s!}", "node", &node,
			      "challenge", &ch, "rek", &rek, "evidence", &ev))
		goto out;
	if (sn_kbs_name_check(node) ||
	    sn_kbs_b64url_decode_fixed(ch, r.challenge, SN_KBS_CHALLENGE_LEN) ||
	    sn_kbs_b64url_decode_fixed(rek, r.rek, SN_KBS_REK_LEN) ||
	    strlen(ev) > 4 * (SN_EVIDENCE_MAX_INPUT / 3) + 4 ||
	    sn_kbs_b64url_decode(ev, strlen(ev), &r.evidence, &r.evidence_len))
		goto out;
	if (!r.evidence_len || r.evidence_len > SN_EVIDENCE_MAX_INPUT) {
		free(r.evidence);
		goto out;
	}
	strcpy(r.node, node);
	*out = r;
	err = 0;
out:
	json_decref(o);
	return err;
}

void sn_kbs_attest_request_clear(struct sn_kbs_attest_request *r)
{
	free(r->evidence);
	r->evidence = NULL;
	r->evidence_len = 0;
}
