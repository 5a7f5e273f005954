// SPDX-License-Identifier: Apache-2.0
/*
 * cluster_cp: the control plane of a whole workflow on this one machine,
 * without a data plane per node (issue 15, item 2: "1,000 nodes' control
 * plane ... <= 10 s").  Not a test: figures only.
 *
 *   cluster_cp MANIFEST [-w WORKERS] [-n MAX_EDGES] [-v]
 *              [--kbs [--clients C] [--kbs-bin PATH]]
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
 * --kbs: with a real sealnet-kbs (cluster_kbs.h; set-up not timed) and
 * two more phases before MAKE:
 *
 *   enrol     every stage's reference values and every node (its own TLS
 *             key's SPKI hash) through the admin API, one kept-alive
 *             admin connection
 *   attest    every node's attestation (sn_kbs_attest: challenge and
 *             attest on one TLS connection with the node's key), C client
 *             threads (default 16): a token per node
 *
 * and the make phase in token mode: each side presents its KBS token over
 * its own TLS key and accepts only a token, checked against the KBS's
 * JWKS (no evidence in the MAKE).  The KBS process's CPU is printed per
 * phase beside this process's.
 *
 * Setup (not timed): a sim platform (RSA-4096 keygen, seconds).  Every
 * MAKE computes both sides' crypto on this machine, so the make phase is
 * the CPU of 2 x edges attestations; on separate machines each node does
 * its own share in parallel.
 */
#include <errno.h>
#include <getopt.h>
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
#include "cluster_kbs.h"

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
		   "       [--kbs [--clients C] [--kbs-bin PATH]]\n"
		   "  the control plane of a workflow on this machine: parse, "
		   "compile every node,\n"
		   "  one MAKE per edge (sim TEE, both sides in-process, "
		   "WORKERS processes)\n"
		   "  --kbs: a real sealnet-kbs (own netns, temp dir): enrol "
		   "and attest every\n"
		   "  node (C client threads, default 16), then token-mode "
		   "MAKE (default KBS:\n"
		   "  " SN_BUILD_ROOT "/kbs/sealnet-kbs)\n");
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
static bool kbs_mode;

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
		    pair_node_init(&y, b->name, b->id, a->id, pair_env.meas))
			die("MAKE", "cannot start a pair");
		if (kbs_mode) { /* token mode: KBS tokens, own TLS keys */
			x.accept = y.accept = SN_MAKE_ACCEPT_TOKEN;
			x.token = ckbs_token[e[i].a];
			y.token = ckbs_token[e[i].b];
			x.ctx = ckbs_ctx[e[i].a];
			y.ctx = ckbs_ctx[e[i].b];
		}
		if (pair_start(&x, &y))
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
	double t0, t_parse, t_compile, t_make, cpu_make, kbs0 = 0, kbs_make = 0;
	struct ckbs_phase enrol = {0}, att = {0};
	const char *kbs_bin = SN_BUILD_ROOT "/kbs/sealnet-kbs";
	long clients = 16;
	pid_t pids[64];
	double load[3] = {0};
	static const struct option lo[] = {
		{"kbs", no_argument, NULL, 'K'},
		{"clients", required_argument, NULL, 'c'},
		{"kbs-bin", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sn_wf_diag diag = {0};
	struct sn_workflow *wf = NULL;
	struct edge *e = NULL;
	struct rusage ru;
	size_t ne, rules = 0;
	int opt, bad = 0;

	while ((opt = getopt_long(argc, argv, "w:n:vh", lo, NULL)) != -1) {
		switch (opt) {
		case 'K':
			kbs_mode = true;
			break;
		case 'c':
			clients = strtol(optarg, NULL, 10);
			break;
		case 'B':
			kbs_bin = optarg;
			break;
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
	if (optind != argc - 1 || workers < 1 || workers > 64 || clients < 1 ||
	    clients > 256) {
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

	if (kbs_mode) {
		if (ckbs_setup(wf, kbs_bin,
			       SN_SRC_ROOT "/tests/netns/kbs_pki.sh",
			       pair_env.platform, pair_env.meas, pair_tok.keys,
			       SN_ARRAY_SIZE(pair_tok.keys), &pair_tok.n_keys))
			die("KBS", "set-up failed");
		ckbs_enrol(wf, &enrol);
		if (ckbs_attest(wf, (int)clients, &att))
			bad = 1; /* which: on stderr */
		kbs0 = ckbs_kbs_cpu();
	}

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
		pids[w] = p;
	}
	for (int w = 0; w < workers; w++) { /* not the KBS: by pid */
		int st;

		if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			bad = 1;
	}
	t_make = now_s() - t0;
	if (kbs_mode)
		kbs_make = ckbs_kbs_cpu() - kbs0;
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu_make = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

	if (getloadavg(load, 3) < 0)
		load[0] = load[1] = load[2] = -1;
	if (kbs_mode) {
		double total = t_parse + t_compile + enrol.wall_s + att.wall_s +
			       t_make;

		printf("{\"bench\":\"cluster_cp\",\"mode\":\"kbs\","
		       "\"nodes\":%zu,\"stages\":%zu,\"flows\":%zu,"
		       "\"edges\":%zu,\"workers\":%ld,\"clients\":%ld,"
		       "\"parse_s\":%.3f,\"compile_s\":%.3f,"
		       "\"enrol_s\":%.3f,\"enrol_cpu_s\":%.3f,"
		       "\"enrol_kbs_cpu_s\":%.3f,\"attest_s\":%.3f,"
		       "\"attest_cpu_s\":%.3f,\"attest_kbs_cpu_s\":%.3f,"
		       "\"attested\":%zu,\"make_s\":%.3f,"
		       "\"make_cpu_s\":%.3f,\"make_kbs_cpu_s\":%.3f,"
		       "\"total_s\":%.3f,\"all_keyed\":%s,"
		       "\"loadavg\":[%.2f,%.2f,%.2f]}\n",
		       wf->n_nodes, wf->n_stages, wf->n_flows, ne, workers,
		       clients, t_parse, t_compile, enrol.wall_s, enrol.cpu_s,
		       enrol.kbs_cpu_s, att.wall_s, att.cpu_s, att.kbs_cpu_s,
		       att.ok, t_make, cpu_make, kbs_make, total,
		       bad ? "false" : "true", load[0], load[1], load[2]);
		printf("# %zu nodes, %zu stages, %zu flows -> %zu edges; load "
		       "%.2f %.2f %.2f\n",
		       wf->n_nodes, wf->n_stages, wf->n_flows, ne, load[0],
		       load[1], load[2]);
		printf("# phase                          wall    CPU here  "
		       "CPU KBS\n");
		printf("# parse + lint + digest      %8.3f s\n", t_parse);
		printf("# compile every node         %8.3f s\n", t_compile);
		printf("# KBS enrol (%zu stages, %zu nodes) %8.3f s %8.3f s "
		       "%8.3f s\n",
		       wf->n_stages, enrol.n, enrol.wall_s, enrol.cpu_s,
		       enrol.kbs_cpu_s);
		printf("# KBS attest (%ld clients, %zu/%zu) %8.3f s %8.3f s "
		       "%8.3f s\n",
		       clients, att.ok, att.n, att.wall_s, att.cpu_s,
		       att.kbs_cpu_s);
		printf("# token MAKE every edge (%ld w) %8.3f s %8.3f s %8.3f "
		       "s\n",
		       workers, t_make, cpu_make, kbs_make);
		printf("# total                      %8.3f s%s\n", total,
		       bad ? "  (some attestation or MAKE failed: see stderr)" :
			     "");
		ckbs_teardown(wf);
		for (size_t i = 0; i < pair_tok.n_keys; i++)
			sn_kbs_signer_free(pair_tok.keys[i]);
		free(e);
		sn_workflow_free(wf);
		pair_env_free();
		return bad;
	}
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
