// SPDX-License-Identifier: Apache-2.0
/* Authenticity check entry point: re-reads the claims, dispatches. */
#include <errno.h>
#include <stdlib.h>

#include "verify.h"
#include "sealnet/log.h"

int sn_evidence_verify(const struct sn_evidence *ev,
		       const struct sn_verify_opts *opts,
		       struct sn_appraisal *out)
{
	struct sn_appraisal *a;
	bool tdx;
	int err;

	if (!ev || !out)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->accepted = true;
	tdx = ev->claims.tee == SN_TEE_TDX;
	/* never trust claims cached in the object: read the bytes again */
	err = !ev->report ? -EINVAL :
	      tdx ? sn_tdx_quote_parse(ev->report, ev->report_len, &a->claims) :
		    sn_snp_report_parse(ev->report, ev->report_len, &a->claims);
	if (err)
		sn_appraisal_add(a, SN_R_MALFORMED, "%s could not be parsed",
				 tdx ? "TDX quote" : "SNP report");
	else if (tdx)
		sn_verify_tdx(ev, opts, a);
	else
		sn_verify_snp(ev, opts, a);
	a->authentic = a->n_reasons == 0;
	a->accepted = a->authentic;
	sn_dbg("evidence verify: %s, %zu reason(s)",
	       a->authentic ? "authentic" : "not authentic", a->n_reasons);
	*out = *a;
	free(a);
	return 0;
}
