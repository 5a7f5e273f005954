// SPDX-License-Identifier: Apache-2.0
/* Fuzz the workflow manifest parser: never crash or leak; an error always
 * comes with a JSON path and leaves no partial result; a valid manifest's
 * digest is its canonical form's, the canonical form is a fixed point,
 * and every node compiles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/workflow.h"

static struct sn_wf_diag diag;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_workflow *wf = (struct sn_workflow *)1;
	uint8_t d[SN_WF_DIGEST_LEN], d2[SN_WF_DIGEST_LEN];
	char *c1 = NULL, *dot = NULL;
	size_t n1 = 0;
	int err = sn_workflow_parse((const char *)data, size, &wf, &diag);

	if (err) {
		if (wf != (struct sn_workflow *)1 || !diag.n ||
		    diag.errors[0].path[0] != '$')
			abort();
		return 0;
	}
	if (sn_workflow_digest((const char *)data, size, d, NULL) ||
	    memcmp(d, wf->digest, sizeof(d)))
		abort();
	if (sn_workflow_canonical((const char *)data, size, &c1, &n1, NULL) ||
	    sn_workflow_digest(c1, n1, d2, NULL) || memcmp(d, d2, sizeof(d)))
		abort();
	for (size_t i = 0; i < wf->n_nodes; i++) {
		struct sn_wf_compiled *c = NULL;

		if (sn_workflow_compile_node(wf, wf->nodes[i].name, NULL, &c,
					     &diag))
			abort();
		sn_wf_compiled_free(c);
	}
	if (sn_workflow_graph_dot(wf, &dot))
		abort();
	free(dot);
	free(c1);
	sn_workflow_free(wf);
	return 0;
}
