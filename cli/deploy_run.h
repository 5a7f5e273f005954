/* SPDX-License-Identifier: Apache-2.0 */
/* sealnet deploy's one run: shared by cmd_deploy.c (the flow),
 * deploy_config.c (configurations, --emit, measurements) and
 * deploy_progress.c (polls, display, events, edge proofs). */
#ifndef SEALNET_CLI_DEPLOY_RUN_H
#define SEALNET_CLI_DEPLOY_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deploy.h"

struct edge {
	size_t flow, a, b;
	bool proven, probing;
	double t_probe, t_proven;
	uint64_t tx0, rx0;
	int probe_err; /* the last probe could not be sent */
};

/* counters and peer states of the last status poll: [node][peer node] */
struct view {
	size_t n;
	uint64_t *tx, *rx;
	bool *est;
	size_t *n_peers, *n_est;
	char **why; /* [node][peer]: the peer's last failure (malloc'd) */
};

struct run {
	struct sn_workflow *wf;
	struct dp_cluster c;
	struct edge *e;
	size_t n_e;
	int *pair;	    /* [a * n + b]: the edge being probed, -1 */
	size_t *order;	    /* start order */
	size_t *open_edges; /* [node]: its edges not proven yet */
	struct view v;
	bool json, tty;
	int last_lines;
	size_t last_counts[5];
	double t_netns;
	char *manifest, *sigs; /* the verified bytes each node gets */
};

void dp_hex(const uint8_t *b, size_t n, char *out);
/* the files next to each node's sealnetd.json */
#define DP_MANIFEST "workflow.json"
#define DP_SIGS	    "workflow.sig.json"

int dp_read_manifest(const struct sn_workflow *wf, const char *mpath,
		     const char *spath, char **manifest, char **sigs);
int dp_write_node(const struct sn_workflow *wf, size_t i, const char *dir,
		  const char *local, const char *manifest, const char *sigs,
		  int *exit_code);
char *dp_local_json(const char *node, const char *iface, const char *sock,
		    const char *state, const char *platform, bool sim);
int dp_do_emit(const struct sn_workflow *wf, const char *out,
	       const char *prefix, const char *sealnetd_path,
	       const char *manifest, const char *sigs);
int dp_ark_hash(const char *platform, char out[65]);
void dp_find_sealnetd(char *out, size_t cap);
int dp_ensure_dir(const char *d);
int dp_ensure_platform(const char *platform);
int dp_measure_all(struct run *r, const char *sealnetd, const char *ark);
const char *dp_proto_name(enum sn_wf_proto p);
void dp_emit_json(struct run *r, json_t *ev);
void dp_view_free(struct view *v);
int dp_view_alloc(struct view *v, size_t n);
int dp_poll_node(struct run *r, size_t i, bool *dataplane);
void dp_last_log_line(const struct dp_node *nd, char *out, size_t cap);
void dp_show(struct run *r, bool final);
void dp_node_event(struct run *r, size_t i, const char *phase, const char *why);
json_t *dp_edge_json(const struct run *r, const struct edge *e);
size_t dp_probe_round(struct run *r);
int dp_build_edges(struct run *r);
void dp_report_failures(struct run *r);

#endif
