// SPDX-License-Identifier: Apache-2.0
/* The KBS's request body parsers: strict (unknown members, wrong types
 * and lengths are refused), bounded, and fuzzed (tests/fuzz). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sealnet/kbs.h"

/* the evidence object: only configfs-tsm members, all strings, an
 * outblob, a provider that fits; its blobs are decoded by the appraisal
 * (sn_evidence_from_json), as those of the string form */
static int evidence_obj_check(json_t *ev)
{
	const char *key;
	json_t *v;

	if (!json_is_string(json_object_get(ev, "outblob")))
		return -EINVAL;
	json_object_foreach(ev, key, v)
	{
		if (strcmp(key, "provider") && strcmp(key, "outblob") &&
		    strcmp(key, "auxblob") && strcmp(key, "mlog"))
			return -EINVAL;
		if (!json_is_string(v))
			return -EINVAL;
	}
	v = json_object_get(ev, "provider");
	if (v && (!json_string_length(v) || json_string_length(v) > 31 ||
		  strlen(json_string_value(v)) != json_string_length(v)))
		return -EINVAL;
	return 0;
}

/* cert_refs: 1..SN_EVIDENCE_MAX_CERTS distinct 32-byte digests */
static int refs_parse(json_t *a, struct sn_kbs_attest_request *r)
{
	size_t n = json_array_size(a);

	if (!json_is_array(a) || !n || n > SN_EVIDENCE_MAX_CERTS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (sn_kbs_b64url_decode_fixed(
			    json_string_value(json_array_get(a, i)),
			    r->cert_refs[i], SN_SHA256_LEN))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!memcmp(r->cert_refs[i], r->cert_refs[j],
				    SN_SHA256_LEN))
				return -EINVAL;
	}
	r->n_cert_refs = n;
	return 0;
}

int sn_kbs_attest_request_parse(const char *body, size_t len,
				struct sn_kbs_attest_request *out)
{
	struct sn_kbs_attest_request r = {0};
	const char *node, *ch, *rek, *ev;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *evj = NULL, *refs = NULL;
	int err = -EINVAL;

	if (!o ||
	    json_unpack(o, "{s:s,s:s,s:s,s:o,s?o!}", "node", &node, "challenge",
			&ch, "rek", &rek, "evidence", &evj, "cert_refs", &refs))
		goto out;
	if (sn_kbs_name_check(node) ||
	    sn_kbs_b64url_decode_fixed(ch, r.challenge, SN_KBS_CHALLENGE_LEN) ||
	    sn_kbs_b64url_decode_fixed(rek, r.rek, SN_KBS_REK_LEN))
		goto out;
	if (json_is_object(evj)) {
		const char *prov =
			json_string_value(json_object_get(evj, "provider"));

		if (evidence_obj_check(evj))
			goto out;
		if (refs && (json_object_get(evj, "auxblob") ||
			     (prov && !strcmp(prov, "tdx_guest")) ||
			     refs_parse(refs, &r)))
			goto out;
		r.evidence_obj = json_incref(evj);
	} else {
		ev = json_string_value(evj);
		if (!ev || refs ||
		    strlen(ev) > 4 * (SN_EVIDENCE_MAX_INPUT / 3) + 4 ||
		    sn_kbs_b64url_decode(ev, strlen(ev), &r.evidence,
					 &r.evidence_len))
			goto out;
		if (!r.evidence_len || r.evidence_len > SN_EVIDENCE_MAX_INPUT) {
			free(r.evidence);
			goto out;
		}
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
	json_decref(r->evidence_obj);
	r->evidence_obj = NULL;
	r->n_cert_refs = 0;
}
