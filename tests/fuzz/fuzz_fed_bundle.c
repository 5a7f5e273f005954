// SPDX-License-Identifier: Apache-2.0
/* Fuzz the trust bundle parser (lib/federation): never crash or leak; an
 * error always comes with a JSON path and no result; a parsed bundle's
 * canonical form parses to the same digest, its token keys form a JWKS
 * the KBS code reads, and verifying it against the example manifest never
 * passes (its domain keys are placeholders nobody holds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/federation.h"
#include "sealnet/kbs.h"

static struct sn_wf_diag diag;
static struct sn_workflow *wf;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_fed_bundle *b = (struct sn_fed_bundle *)1, *back = NULL;
	struct sn_kbs_signer *keys[2];
	enum sn_fed_status st;
	char *canon = NULL, *jwks = NULL;
	size_t clen = 0, n = 0;
	int err;

	if (!wf && sn_workflow_parse(sn_workflow_example,
				     strlen(sn_workflow_example), &wf, NULL))
		abort();
	err = sn_fed_bundle_parse((const char *)data, size, &b, &diag);
	if (err) {
		if (b != (struct sn_fed_bundle *)1 || !diag.n ||
		    diag.errors[0].path[0] != '$')
			abort();
		return 0;
	}
	if (sn_workflow_canonical((const char *)data, size, &canon, &clen,
				  NULL) ||
	    sn_fed_bundle_parse(canon, clen, &back, &diag) ||
	    memcmp(back->digest, b->digest, SN_WF_DIGEST_LEN) ||
	    back->sequence != b->sequence)
		abort();
	if (sn_fed_bundle_jwks(b, &jwks) ||
	    sn_kbs_jwks_parse(jwks, strlen(jwks), keys, 2, &n) ||
	    n != (b->key_next ? 2u : 1u))
		abort();
	while (n)
		sn_kbs_signer_free(keys[--n]);
	if (!sn_fed_bundle_verify(wf, b, b->not_before, NULL, &st, &diag) ||
	    st == SN_FED_OK)
		abort();
	free(jwks);
	free(canon);
	sn_fed_bundle_free(back);
	sn_fed_bundle_free(b);
	return 0;
}
