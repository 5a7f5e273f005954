/* SPDX-License-Identifier: Apache-2.0 */
/* daemon/workflow*.c: sealnetd running from a workflow manifest (between
 * workflow.c, start, and workflow_reload.c, new versions). */
#ifndef SEALNETD_WORKFLOW_H
#define SEALNETD_WORKFLOW_H

#include <limits.h>
#include <stdlib.h>

#include "sealnet/evidence.h"
#include "sealnet/workflow.h"
#include "sealnetd.h"

/* one loaded manifest version: what MAKE sessions started under it use */
struct sn_wf_gen {
	struct sn_wf_gen *next;
	size_t n_peers;
	struct sn_policy_appraisal **policy; /* [n_peers], like cfg->peers */
	struct sn_mlog_require (*req)[2];    /* [n_peers] */
	char (*desc)[2][SN_MLOG_DESC_MAX];   /* [n_peers] */
};

struct sn_wfd {
	char manifest[PATH_MAX], sigs[PATH_MAX], node[SN_WF_NAME_MAX];
	char *local_json; /* node-local members, compact JSON */
	struct sn_workflow *wf;
	struct sn_wf_compiled *comp;
	struct sn_wf_gen *gens; /* newest first: gens is the current one */
};

/* a manifest and its envelope, as read (once: what is verified is what
 * is applied and saved) */
struct wf_bytes {
	const char *mpath, *spath;
	uint8_t *m, *s;
	size_t ml, sl;
};

static inline void bytes_free(struct wf_bytes *b)
{
	free(b->m);
	free(b->s);
	b->m = b->s = NULL;
}

/* Load, verify and compile the version in b (both files read once into
 * b): *wf, *comp and the parsed configuration *cfg; every error logged. */
int wfd_load_version(struct sn_wfd *w, struct wf_bytes *b,
		     struct sn_workflow **wf_out,
		     struct sn_wf_compiled **comp_out,
		     struct sn_node_config **cfg_out);
/* The generation for cfg's peers (policies, required events) */
int wfd_gen_new(const struct sn_workflow *wf, const struct sn_wf_compiled *comp,
		const struct sn_node_config *cfg, struct sn_wf_gen **out);
void wfd_gen_free(struct sn_wf_gen *g);
/* extend m with w's WORKFLOW and NODE_POLICY events */
int wfd_extend(const struct sn_wfd *w, struct sn_mlog *m);

#endif
