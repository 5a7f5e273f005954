/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sealnet deploy / undeploy (docs/deploy.md): a workflow manifest's nodes
 * as network namespaces on this machine, one sealnetd each.
 *
 * State directory (--state, default /run/sealnet/deploy):
 *   deploy.json           what exists: tag, manifest digest, switch and
 *                         node namespaces, sealnetd pids (written before
 *                         each thing is created, so that an interrupted
 *                         deploy and undeploy find everything)
 *   platform/             the simulated TEE platform (kept by undeploy)
 *   nodes/NODE/           sealnetd.json (local + "workflow"), workflow.json,
 *                         workflow.sig.json (the verified copies), sealnetd.log,
 *                         sealnetd.sock, state/
 */
#ifndef SEALNET_CLI_DEPLOY_H
#define SEALNET_CLI_DEPLOY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sealnet/workflow.h"

#define DP_PREFIX   "sndp-"
#define DP_PATH_MAX 512

struct dp_node {
	char name[SN_WF_NAME_MAX];
	char ns[96];		/* network namespace */
	char dir[DP_PATH_MAX];	/* STATE/nodes/NAME */
	char sock[DP_PATH_MAX]; /* control socket */
	pid_t pid;		/* sealnetd (0: not started) */
	bool ns_made;		/* namespace exists */
	bool child;		/* pid is our child (this run started it) */
	/* progress */
	bool started, dataplane, keyed, failed;
	double t_started, t_dataplane, t_keyed;
	char why[256]; /* why it failed / what it waits for */
};

struct dp_cluster {
	char state[DP_PATH_MAX];
	char tag[16];	/* unique per state directory */
	char sw_ns[96]; /* the bridge's namespace */
	bool sw_made;
	char digest_hex[2 * SN_WF_DIGEST_LEN + 1];
	struct dp_node *nodes;
	size_t n_nodes;
	/* stage cgroups this deploy created (removed by teardown) */
	char (*cgroups)[SN_WF_TEXT_MAX];
	size_t n_cgroups;
};

extern volatile sig_atomic_t dp_interrupted;

/* elapsed seconds since dp_clock_start() */
void dp_clock_start(void);
double dp_now(void);

/* run argv (no shell), stdin from `input` when not NULL; 0 when it
 * exited 0, else -EIO (its stderr went to ours) */
int dp_run(char *const argv[], const char *input);
/* the same, with its stdout in out[0..cap) (NUL-terminated) */
int dp_run_capture(char *const argv[], const char *input, char *out,
		   size_t cap);

/* state file */
int dp_state_load(struct dp_cluster *c); /* -ENOENT: none */
int dp_state_save(const struct dp_cluster *c);

/* namespaces: switch + one per node, veths on one bridge */
int dp_make_netns(struct dp_cluster *c, const struct sn_workflow *wf);
/* sealnetd of node i in its namespace (detached: own session) */
int dp_spawn_sealnetd(struct dp_cluster *c, size_t i, const char *sealnetd);
/* is node i's recorded sealnetd alive, in its namespace? */
bool dp_node_alive(struct dp_node *n);
/* stop every sealnetd, delete every namespace, forget them */
void dp_teardown(struct dp_cluster *c, bool quiet);

/* is path a directory name whose parent is on a cgroup v2 file system? */
bool dp_in_cgroup2(const char *path);
/* create every stage cgroup that is missing (recorded in deploy.json
 * first when record); -EPERM with *bad = the stage's path when one is
 * not in a cgroup v2 fs */
int dp_make_cgroups(struct dp_cluster *c, const struct sn_workflow *wf,
		    bool record, const char **bad);

/* a probe packet of flow f from node `from` to node `to` (fork + setns) */
int dp_probe(const struct sn_workflow *wf, const struct dp_cluster *c,
	     size_t flow, size_t from, size_t to);

#endif
