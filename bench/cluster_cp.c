// SPDX-License-Identifier: Apache-2.0
/*
 * cluster_cp: the control plane of a whole workflow on this one machine,
 * without a data plane per node (issue 15, item 2: "1,000 nodes' control
 * plane ... <= 10 s").  Not a test: figures only.
 *
 *   cluster_cp MANIFEST [-w WORKERS] [-n MAX_EDGES] [-v]
 *
 * MANIFEST: a workflow manifest (bench/cluster/gen_manifest.py writes
 * one: a pipeline of one-node stages and an all-to-all stage).  Phases,
 * each timed (wall, CLOCK_MONOTONIC) and printed as a JSON line and a
 * table row:
 *
 *   parse     sn_workflow_parse: syntax, schema, lint, digest
 *   compile   sn_workflow_compile_node for every node (its peers, rules
 *             and per-peer appraisal policies, and the node policy digest)
 *   make      one MAKE per edge (an edge: two nodes that a flow joins,
 *             either direction, counted once), both sides in this
 *             process over an AF_UNIX socketpair with the sim TEE
 *             (tests/unit/make/pair.h: TLS 1.3, evidence both ways,
 *             appraisal, key export), in WORKERS forked processes
 *             (default: the number of CPUs) that split the edges
 *
 * Setup (not timed): a sim platform (RSA-4096 keygen, seconds).  Every
 * MAKE computes both sides' crypto on this machine, so the make phase is
 * the CPU of 2 x edges attestations; on separate machines each node does
 * its own share in parallel.  No key broker: token-mode MAKE and KBS
 * attestation are measured by bench/kbs_quick.sh and make_latency.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"
#include "sealnet/workflow.h"

#include "pair.h" /* tests/unit/make: the socketpair MAKE fixture */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "cluster_cp: %s: %s\n", what, why);
	exit(1);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cluster_cp MANIFEST [-w WORKERS] [-n MAX_EDGES] "
		   "[-v]\n"
		   "  the control plane of a workflow on this machine: parse, "
		   "compile every node,\n"
		   "  one MAKE per edge (sim TEE, both sides in-process, "
		   "WORKERS processes)\n");
}

struct edge {
	uint16_t a, b; /* node indices */
};

/* the node pairs the flows join, each once */
static size_t edges_of(const struct sn_workflow *wf, struct edge **out)
{
	size_t n = wf->n_nodes, cap = 1024, ne = 0;
	uint8_t *seen = calloc((n * n + 7) / 8, 1);
	struct edge *e = malloc(cap * sizeof(*e));

	if (!seen || !e)
		die("edges", "out of memory");
	for (size_t f = 0; f < wf->n_flows; f++) {
		const struct sn_wf_stage *s = &wf->stages[wf->flows[f].from];
		const struct sn_wf_stage *t = &wf->stages[wf->flows[f].to];

		for (size_t i = 0; i < s->n_nodes; i++)
			for (size_t j = 0; j < t->n_nodes; j++) {
				size_t a = s->nodes[i], b = t->nodes[j], k;

				if (a == b)
					continue;
				if (a > b) {
					k = a;
					a = b;
					b = k;
				}
				k = a * n + b;
				if (seen[k / 8] & (1u << (k % 8)))
					continue;
				seen[k / 8] |= (uint8_t)(1u << (k % 8));
				if (ne == cap) {
					cap *= 2;
					e = realloc(e, cap * sizeof(*e));
					if (!e)
						die("edges", "out of memory");
				}
				e[ne++] =
					(struct edge){(uint16_t)a, (uint16_t)b};
			}
	}
	free(seen);
	*out = e;
	return ne;
}

/* worker w of nw: MAKE every edge i with i % nw == w; exit status 0 when
 * all keyed */
static int worker(const struct sn_workflow *wf, const struct edge *e, size_t ne,
		  int w, int nw)
{
	size_t ok = 0, n = 0;

	if (event_reinit(pair_env.base))
		die("event_reinit", "failed");
	for (size_t i = (size_t)w; i < ne; i += (size_t)nw) {
		const struct sn_wf_node *a = &wf->nodes[e[i].a];
		const struct sn_wf_node *b = &wf->nodes[e[i].b];
		struct pair_node x, y;

		if (pair_node_init(&x, a->name, a->id, b->id, pair_env.meas) ||
		    pair_node_init(&y, b->name, b->id, a->id, pair_env.meas) ||
		    pair_start(&x, &y))
			die("MAKE", "cannot start a pair");
		if (!pair_run(&x, &y, 30) && x.n_keys && y.n_keys &&
		    !x.n_fail && !y.n_fail)
			ok++;
		else
			fprintf(stderr,
				"cluster_cp: MAKE %s <-> %s failed: %s%s\n",
				a->name, b->name, x.reason, y.reason);
		pair_node_free(&x);
		pair_node_free(&y);
		/* the closed connections' events, without the fixture's
		 * 50 ms settle per pair */
		event_base_loop(pair_env.base, EVLOOP_NONBLOCK);
		n++;
	}
	pair_settle();
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	long workers = sysconf(_SC_NPROCESSORS_ONLN), max_edges = -1;
	double t0, t_parse, t_compile, t_make, cpu_make;
	struct sn_wf_diag diag = {0};
	struct sn_workflow *wf = NULL;
	struct edge *e = NULL;
	struct rusage ru;
	size_t ne, rules = 0;
	int opt, bad = 0;

	while ((opt = getopt(argc, argv, "w:n:vh")) != -1) {
		switch (opt) {
		case 'w':
			workers = strtol(optarg, NULL, 10);
			break;
		case 'n':
			max_edges = strtol(optarg, NULL, 10);
			break;
		case 'v':
			sn_log_set(sn_log_stderr, "cluster_cp");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || workers < 1 || workers > 64) {
		usage(stderr);
		return 2;
	}
	if (pair_env_init("cluster_cp"))
		die("setup", "cannot create the sim platform");

	t0 = now_s();
	if (sn_workflow_load(argv[optind], &wf, &diag)) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s: %s: %s\n", argv[optind],
				diag.errors[i].path, diag.errors[i].msg);
		die(argv[optind], "not a valid manifest");
	}
	t_parse = now_s() - t0;

	t0 = now_s();
	for (size_t i = 0; i < wf->n_nodes; i++) {
		struct sn_wf_compiled *c = NULL;

		if (sn_workflow_compile_node(wf, wf->nodes[i].name, NULL, &c,
					     &diag))
			die(wf->nodes[i].name, "does not compile");
		rules += c->n_policies;
		sn_wf_compiled_free(c);
	}
	t_compile = now_s() - t0;

	ne = edges_of(wf, &e);
	if (max_edges >= 0 && (size_t)max_edges < ne)
		ne = (size_t)max_edges;
	t0 = now_s();
	for (int w = 0; w < workers; w++) {
		pid_t p = fork();

		if (p < 0)
			die("fork", strerror(errno));
		if (p == 0)
			_exit(worker(wf, e, ne, w, (int)workers));
	}
	for (int w = 0; w < workers; w++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	t_make = now_s() - t0;
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu_make = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

	printf("{\"bench\":\"cluster_cp\",\"nodes\":%zu,\"stages\":%zu,"
	       "\"flows\":%zu,\"edges\":%zu,\"workers\":%ld,"
	       "\"parse_s\":%.3f,\"compile_s\":%.3f,\"make_s\":%.3f,"
	       "\"make_cpu_s\":%.3f,\"total_s\":%.3f,\"all_keyed\":%s}\n",
	       wf->n_nodes, wf->n_stages, wf->n_flows, ne, workers, t_parse,
	       t_compile, t_make, cpu_make, t_parse + t_compile + t_make,
	       bad ? "false" : "true");
	printf("# %zu nodes, %zu stages, %zu flows -> %zu edges "
	       "(%zu peer policies compiled)\n",
	       wf->n_nodes, wf->n_stages, wf->n_flows, ne, rules);
	printf("# parse + lint + digest   %8.3f s\n", t_parse);
	printf("# compile every node      %8.3f s\n", t_compile);
	printf("# MAKE every edge (%ld workers) %8.3f s wall, %.3f s CPU "
	       "(%.2f ms CPU per MAKE pair)\n",
	       workers, t_make, cpu_make, ne ? cpu_make * 1e3 / ne : 0.0);
	printf("# total                   %8.3f s%s\n",
	       t_parse + t_compile + t_make,
	       bad ? "  (some MAKE failed: see stderr)" : "");
	free(e);
	sn_workflow_free(wf);
	pair_env_free();
	return bad;
}
