// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the KBS's request parsers: the first byte picks one.
 *   0: POST /attest body (sn_kbs_attest_request_parse): what it accepts
 *      has the exact lengths promised (the string form: evidence of
 *      1..SN_EVIDENCE_MAX_INPUT bytes; the object form: an object, at most
 *      SN_EVIDENCE_MAX_CERTS distinct cert_refs and no auxblob with them),
 *      and the object form goes on through sn_evidence_from_json
 *   1: a bearer token (sn_kbs_token_verify against a fixed key): nothing
 *      random verifies
 *   2: a sealed resource answer (sn_kbs_open): nothing random opens
 *   3: names, resource paths and base64url (round trip of what decodes)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sealnet/kbs.h"

/* a fixed token key on the tokens' curve (include/sealnet/kbs.h) */
#if SN_KBS_TOKEN_ES384
static const char key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDqaev/GtyQrcA/6me4\n"
	"DrE+4cFilD7rUfPwiHFI4TqBeHDjGROCoFDcJZVedMJn7dahZANiAARYx++SHuQM\n"
	"yc1fWMB9EdgKJuEPv1tSWsxtbMZOQUKUr+zOI6uN2eCMv8R7EWWzKwRP8xyQ3t2X\n"
	"Ct8nGDogdy0p+w5w+AwXGqXr1k4FihiN80lKklGCJaelzJ85f6V958s=\n"
	"-----END PRIVATE KEY-----\n";
#else
static const char key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPDCFQlyfqPbUYQv1\n"
	"Ejl0aPHuZx0mx2Re8vnr1pzboomhRANCAATm7BR9Lm60iuz0ZTbSEBqOvxTpmkOK\n"
	"rp/U209wmZv/BYY8FKZjgX+U1P04TYWCp5HM4DoDJJyv3L+GqKrn4zqv\n"
	"-----END PRIVATE KEY-----\n";
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sn_kbs_signer *k;
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	char *str;

	if (!size || size > 65536)
		return 0;
	if (!k && sn_kbs_signer_from_pem(key_pem, sizeof(key_pem) - 1, &k))
		abort();
	str = malloc(n + 1);
	memcpy(str, s, n);
	str[n] = '\0';
	switch (data[0] % 4) {
	case 0: {
		struct sn_kbs_attest_request r;

		if (!sn_kbs_attest_request_parse(s, n, &r)) {
			struct sn_evidence *ev = NULL;

			if (sn_kbs_name_check(r.node))
				abort();
			if (!r.evidence_obj &&
			    (!r.evidence_len || r.n_cert_refs ||
			     r.evidence_len > SN_EVIDENCE_MAX_INPUT))
				abort();
			if (r.evidence_obj &&
			    (r.evidence || !json_is_object(r.evidence_obj) ||
			     r.n_cert_refs > SN_EVIDENCE_MAX_CERTS ||
			     (r.n_cert_refs &&
			      json_object_get(r.evidence_obj, "auxblob"))))
				abort();
			for (size_t i = 0; i < r.n_cert_refs; i++)
				for (size_t j = 0; j < i; j++)
					if (!memcmp(r.cert_refs[i],
						    r.cert_refs[j], 32))
						abort();
			if (r.evidence_obj &&
			    !sn_evidence_from_json(r.evidence_obj, NULL, 0,
						   &ev))
				sn_evidence_free(ev);
			sn_kbs_attest_request_clear(&r);
		}
		break;
	}
	case 1: {
		struct sn_kbs_claims c;

		if (!sn_kbs_token_verify(k, s, n, 1800000000, &c))
			abort();
		break;
	}
	case 2: {
		uint8_t priv[32] = {7}, *pt = NULL;
		size_t len = 0;

		if (!sn_kbs_open(priv, "a/b", str, n, &pt, &len))
			abort();
		break;
	}
	case 3: {
		uint8_t *b = NULL;
		size_t len = 0;
		char *e = NULL;

		(void)sn_kbs_name_check(str);
		(void)sn_kbs_path_check(str);
		if (!sn_kbs_b64url_decode(s, n, &b, &len)) {
			if (sn_kbs_b64url_encode(b, len, &e) ||
			    strlen(e) != n || memcmp(e, s, n))
				abort();
			free(e);
			free(b);
		}
		break;
	}
	}
	free(str);
	return 0;
}
