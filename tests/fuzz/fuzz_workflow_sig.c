// SPDX-License-Identifier: Apache-2.0
/* Fuzz the workflow signature envelope: never crash or leak; an error
 * always comes with a JSON path and no result; a parsed envelope dumps
 * and re-parses to the same content, and verifying it against a manifest
 * never passes (none of its signatures can be valid). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/workflow.h"

static struct sn_wf_diag diag;
static struct sn_workflow *wf;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_wf_sigset *s = (struct sn_wf_sigset *)1, *back = NULL;
	struct sn_wf_verify_result r;
	char *txt = NULL;
	int err;

	if (!wf && sn_workflow_parse(sn_workflow_example,
				     strlen(sn_workflow_example), &wf, NULL))
		abort();
	err = sn_wf_sigset_parse((const char *)data, size, &s, &diag);
	if (err) {
		if (s != (struct sn_wf_sigset *)1 || !diag.n ||
		    diag.errors[0].path[0] != '$')
			abort();
		return 0;
	}
	if (sn_wf_sigset_dump(s, &txt) ||
	    sn_wf_sigset_parse(txt, strlen(txt), &back, &diag) ||
	    back->n_sigs != s->n_sigs ||
	    memcmp(back->digest, s->digest, SN_WF_DIGEST_LEN))
		abort();
	/* the example's keys are placeholders nobody holds */
	err = sn_workflow_verify_sigs(wf, s, &r, &diag);
	if (!err || r.n_ok)
		abort();
	sn_wf_verify_result_free(&r);
	sn_wf_sigset_free(back);
	sn_wf_sigset_free(s);
	free(txt);
	return 0;
}
