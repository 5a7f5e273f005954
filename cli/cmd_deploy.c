// SPDX-License-Identifier: Apache-2.0
/* sealnet deploy: bring a signed workflow manifest up as a local cluster
 * (one network namespace and sealnetd per node, docs/deploy.md), or write
 * per-node configurations and systemd units for real machines (--emit). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealnet/control.h"
#include "args.h"
#include "commands.h"
#include "deploy_run.h"
#include "workflow.h"

enum {
	O_SIGS,
	O_JSON,
	O_STATE,
	O_TIMEOUT,
	O_CONC,
	O_EMIT,
	O_MEASURE,
	O_SEALNETD,
	O_PREFIX
};
static const struct sn_cli_opt opts[] = {
	[O_SIGS] = {"signatures", 0, "FILE",
		    "the signature envelope (default: MANIFEST with .json\n"
		    "replaced by .sig.json)"},
	[O_JSON] = {"json", 0, NULL, "one JSON event per line on stdout"},
	[O_STATE] = {"state", 0, "DIR",
		     "state directory (default /run/sealnet/deploy)"},
	[O_TIMEOUT] = {"timeout", 0, "S",
		       "give up after S seconds (default 60)"},
	[O_CONC] = {"concurrency", 0, "N",
		    "sealnetd starts in flight at once (default 8)"},
	[O_EMIT] = {"emit", 0, "DIR",
		    "real machines: write DIR/NODE/{sealnetd.json,\n"
		    "workflow.json,workflow.sig.json,sealnetd.service};\n"
		    "start nothing"},
	[O_MEASURE] = {"print-measurements", 0, NULL,
		       "create the state directory's sim platform, print\n"
		       "its ARK hash and each node's launch measurement\n"
		       "(JSON) for the manifest's reference values; start\n"
		       "nothing (signatures not required)"},
	[O_SEALNETD] = {"sealnetd", 0, "PATH",
			"the sealnetd binary (default: next to sealnet)"},
	[O_PREFIX] = {"emit-prefix", 0, "DIR",
		      "--emit: where the files go on the machine\n"
		      "(default /etc/sealnet)"},
	{0},
};

static const struct sn_cli_spec spec = {
	.cmd = "sealnet deploy",
	.args = "MANIFEST",
	.about =
		"Bring the signed workflow MANIFEST up on this machine: one "
		"network\n"
		"namespace per node (sndp-TAG-NODE) on one bridge, with the "
		"node's\n"
		"address, a simulated TEE platform, and the node's sealnetd "
		"running\n"
		"from a copy of the manifest (sealnetd --config with a "
		"\"workflow\"\n"
		"member: per-peer appraisal, the manifest bound into its "
		"evidence).\n"
		"Shows progress (nodes started, data plane loaded, attested\n"
		"and keyed, every edge of every flow proven by a probe packet\n"
		"that the sender's counters show sealed and the receiver's\n"
		"show opened) and ends when every edge is proven, "
		"or\n"
		"names the nodes and edges that are not. Re-running it on the\n"
		"running cluster changes nothing. Ctrl-C removes what this "
		"run\n"
		"created. `sealnet undeploy` removes the cluster. "
		"docs/deploy.md.\n",
	.opts = opts,
	.after = "Exit status: 0 every edge proven (or emitted), 1 some node "
		 "or\n"
		 "edge failed, interrupted, or a system error; 2 bad usage or\n"
		 "unreadable file; 3 invalid manifest; 4 unsigned; 5 bad\n"
		 "signature; 6 another manifest is deployed in this state\n"
		 "directory (undeploy it first).\n",
};

static void on_signal(int sig)
{
	(void)sig;
	dp_interrupted = 1;
}

static int by_id_desc(const void *a, const void *b, void *arg)
{
	const struct sn_workflow *wf = arg;
	uint32_t x = wf->nodes[*(const size_t *)a].id,
		 y = wf->nodes[*(const size_t *)b].id;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int run_local(struct run *r, double timeout, long conc,
		     const char *sealnetd, bool measure)
{
	struct sn_workflow *wf = r->wf;
	char platform[DP_PATH_MAX + 16], nodes[DP_PATH_MAX + 16], ark[65];
	struct dp_cluster old = {0};
	bool existing = false, created = false;
	size_t *order;
	size_t n_proven = 0;
	int rc = 1, err;

	snprintf(platform, sizeof(platform), "%s/platform", r->c.state);
	snprintf(nodes, sizeof(nodes), "%s/nodes", r->c.state);
	for (size_t i = 0; i < wf->n_nodes; i++)
		if (wf->nodes[i].tee != SN_WF_TEE_SIM) {
			fprintf(stderr,
				"sealnet deploy: node %s has tee %s: a local "
				"cluster runs the simulated TEE only; use "
				"--emit DIR for real machines\n",
				wf->nodes[i].name,
				wf->nodes[i].tee == SN_WF_TEE_SNP ? "snp" :
								    "tdx");
			return 2;
		}
	if (dp_ensure_dir(r->c.state) || dp_ensure_dir(nodes) ||
	    dp_ensure_platform(platform))
		return 1;
	if (dp_ark_hash(platform, ark)) {
		fprintf(stderr, "sealnet deploy: cannot read %s/ark.pem\n",
			platform);
		return 1;
	}
	/* what this state directory already runs */
	snprintf(old.state, sizeof(old.state), "%s", r->c.state);
	err = dp_state_load(&old);
	if (err && err != -ENOENT) {
		fprintf(stderr,
			"sealnet deploy: %s/deploy.json is unreadable: "
			"`sealnet undeploy --state %s` or remove it\n",
			r->c.state, r->c.state);
		return 1;
	}
	if (!err) {
		if (strcmp(old.digest_hex, r->c.digest_hex) && !measure) {
			fprintf(stderr,
				"sealnet deploy: %s runs another manifest "
				"(digest %.16s...); `sealnet undeploy --state "
				"%s` first\n",
				r->c.state, old.digest_hex, r->c.state);
			free(old.nodes);
			free(old.cgroups);
			return 6;
		}
		existing = true;
		snprintf(r->c.tag, sizeof(r->c.tag), "%s", old.tag);
		/* the cgroups it created stay recorded */
		r->c.cgroups = old.cgroups;
		r->c.n_cgroups = old.n_cgroups;
		old.cgroups = NULL;
	} else {
		struct stat st;

		stat(r->c.state, &st);
		snprintf(r->c.tag, sizeof(r->c.tag), "%06lx",
			 (unsigned long)(st.st_ino & 0xffffff));
	}
	snprintf(r->c.sw_ns, sizeof(r->c.sw_ns), DP_PREFIX "%s-sw", r->c.tag);
	r->c.n_nodes = wf->n_nodes;
	r->c.nodes = calloc(wf->n_nodes, sizeof(*r->c.nodes));
	if (!r->c.nodes || dp_view_alloc(&r->v, wf->n_nodes) ||
	    dp_build_edges(r))
		return 1;
	for (size_t i = 0; i < wf->n_nodes; i++) {
		struct dp_node *nd = &r->c.nodes[i];
		char st[DP_PATH_MAX + 32], *loc;
		int code = 1;

		snprintf(nd->name, sizeof(nd->name), "%s", wf->nodes[i].name);
		snprintf(nd->ns, sizeof(nd->ns), DP_PREFIX "%s-%s", r->c.tag,
			 nd->name);
		if ((size_t)snprintf(nd->dir, sizeof(nd->dir), "%s/%s", nodes,
				     nd->name) >= sizeof(nd->dir) ||
		    (size_t)snprintf(nd->sock, sizeof(nd->sock),
				     "%s/sealnetd.sock",
				     nd->dir) >= sizeof(nd->sock)) {
			fprintf(stderr,
				"deploy: node %s: the state directory path "
				"\"%s\" is too long; use a shorter --state\n",
				nd->name, nodes);
			return 1;
		}
		snprintf(st, sizeof(st), "%s/state", nd->dir);
		for (size_t k = 0; existing && k < old.n_nodes; k++)
			if (!strcmp(old.nodes[k].name, nd->name)) {
				nd->pid = old.nodes[k].pid;
				nd->ns_made = old.nodes[k].ns_made;
			}
		if (existing && dp_node_alive(nd))
			continue; /* running: its files stay as they are */
		loc = dp_local_json(nd->name, "eth0", nd->sock, st, platform,
				    true);
		if (!loc || dp_write_node(wf, i, nd->dir, loc, r->manifest,
					  r->sigs, &code)) {
			free(loc);
			free(old.nodes);
			return code;
		}
		free(loc);
	}
	free(old.nodes);
	if (measure) {
		/* sealnetd --print-measurement loads the configuration, whose
		 * cgroup rules must name existing directories: the missing ones
		 * exist for the measurement only */
		struct dp_cluster tmp = {0};
		const char *bad = NULL;

		err = dp_make_cgroups(&tmp, wf, false, &bad);
		if (err) {
			fprintf(stderr, "sealnet deploy: stage cgroup %s: %s\n",
				bad ? bad : "?",
				err == -EPERM ? "its parent is not a cgroup v2 "
						"directory (mount one, or use "
						"local_ports)" :
						strerror(-err));
			dp_teardown(&tmp, true);
			free(tmp.cgroups);
			return err == -EPERM ? 2 : 1;
		}
		rc = dp_measure_all(r, sealnetd, ark);
		dp_teardown(&tmp, true);
		free(tmp.cgroups);
		return rc;
	}
	dp_emit_json(r,
		     json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "event",
			       "verified", "workflow", wf->name, "digest",
			       r->c.digest_hex, "nodes",
			       (json_int_t)wf->n_nodes, "edges",
			       (json_int_t)r->n_e, "sim_ark_spki_sha256", ark));

	/* namespaces */
	bool all_running = existing;

	for (size_t i = 0; i < wf->n_nodes; i++)
		all_running &= dp_node_alive(&r->c.nodes[i]);
	if (!all_running)
		created = true;
	{
		const char *bad = NULL;

		err = dp_make_cgroups(&r->c, wf, true, &bad);
		if (err) {
			fprintf(stderr,
				"sealnet deploy: stage cgroup %s: %s; a local "
				"cluster creates a stage's missing cgroup only "
				"in a cgroup v2 file system (mount one, or use "
				"local_ports)\n",
				bad ? bad : "?",
				err == -EPERM ? "its parent is not a cgroup v2 "
						"directory" :
						strerror(-err));
			rc = err == -EPERM ? 2 : 1;
			dp_teardown(&r->c, r->json);
			return rc;
		}
	}
	err = dp_make_netns(&r->c, wf);
	r->t_netns = dp_now();
	dp_emit_json(
		r, json_pack("{s:s, s:s}", "event", "phase", "phase", "netns"));
	if (err) {
		if (err != -EINTR)
			fprintf(stderr,
				"sealnet deploy: creating the namespaces "
				"failed (%s)\n",
				strerror(-err));
		goto out;
	}
	if (all_running) {
		if (!r->json)
			printf("already deployed: all %zu nodes running; "
			       "nothing "
			       "changed (checking every edge)\n",
			       wf->n_nodes);
		dp_emit_json(r, json_pack("{s:s, s:I}", "event", "unchanged",
					  "nodes", (json_int_t)wf->n_nodes));
	}
	if (r->tty && !r->json)
		printf("\n");
	for (size_t i = 0; i < wf->n_nodes; i++)
		if (dp_node_alive(&r->c.nodes[i])) {
			r->c.nodes[i].started = true;
			r->c.nodes[i].t_started = dp_now();
		}
	/* start order: highest node id first.  Of two peers the lower id
	 * dials (docs/sealnetd.md); started after its higher peers, a node
	 * usually finds them listening, instead of waiting for its MAKE
	 * retry (first after 100-200 ms) */
	order = r->order = malloc(wf->n_nodes * sizeof(*order));
	if (!order)
		goto out;
	for (size_t i = 0; i < wf->n_nodes; i++)
		order[i] = i;
	qsort_r(order, wf->n_nodes, sizeof(*order), by_id_desc, wf);
	/* start, poll, probe */
	for (;;) {
		size_t inflight = 0, keyed = 0, proven;
		double now = dp_now();

		if (dp_interrupted)
			break;
		for (size_t i = 0; i < wf->n_nodes; i++)
			inflight += r->c.nodes[i].started &&
				    !r->c.nodes[i].dataplane &&
				    !r->c.nodes[i].failed;
		for (size_t o = 0; o < wf->n_nodes && inflight < (size_t)conc;
		     o++) {
			size_t i = order[o];
			struct dp_node *nd = &r->c.nodes[i];

			if (nd->started)
				continue;
			if (dp_spawn_sealnetd(&r->c, i, sealnetd)) {
				nd->failed = true;
				snprintf(nd->why, sizeof(nd->why),
					 "cannot start sealnetd");
			}
			nd->started = true;
			nd->t_started = dp_now();
			dp_node_event(r, i, "started", NULL);
			inflight++;
		}
		for (size_t i = 0; i < wf->n_nodes; i++) {
			struct dp_node *nd = &r->c.nodes[i];
			bool dpl = false;

			if (!nd->started || nd->failed)
				continue;
			if (!dp_node_alive(nd)) {
				nd->failed = true;
				dp_last_log_line(nd, nd->why, sizeof(nd->why));
				dp_node_event(r, i, "failed", nd->why);
				continue;
			}
			/* a node keyed with every peer whose edges are all
			 * proven has nothing left to show: not asked again
			 * (each status answer costs its sealnetd a snapshot of
			 * the data plane, CPU the starting nodes need) */
			if (nd->keyed && !r->open_edges[i])
				continue;
			if (dp_poll_node(r, i, &dpl))
				continue;
			if (dpl && !nd->dataplane) {
				nd->dataplane = true;
				nd->t_dataplane = dp_now();
				dp_node_event(r, i, "dataplane", NULL);
			}
			bool k = nd->dataplane &&
				 r->v.n_est[i] == r->v.n_peers[i];

			if (k && !nd->keyed) {
				nd->keyed = true;
				nd->t_keyed = dp_now();
				dp_node_event(r, i, "keyed", NULL);
			}
			nd->keyed = k;
		}
		proven = n_proven = dp_probe_round(r);
		for (size_t i = 0; i < wf->n_nodes; i++)
			keyed += r->c.nodes[i].keyed;
		dp_show(r, false);
		if (proven == r->n_e && keyed == wf->n_nodes) {
			rc = 0;
			break;
		}
		if (now > timeout)
			break;
		usleep(50 * 1000);
	}
	dp_show(r, true);
	if (dp_interrupted) {
		fprintf(stderr, "sealnet deploy: interrupted%s\n",
			created ? ": removing what this run created" :
				  "; the running cluster is left as it was");
		dp_emit_json(r, json_pack("{s:s, s:b}", "event", "interrupted",
					  "removed", created));
		if (created)
			goto out;
		return 1;
	}
	dp_report_failures(r);
	if (!r->json)
		printf("%s in %.2f s: %zu nodes, %zu/%zu edges proven\n",
		       rc ? "FAILED" : "deployed", dp_now(), wf->n_nodes,
		       n_proven, r->n_e);
	return rc;
out:
	/* interrupted or failed before running: leave nothing behind */
	dp_teardown(&r->c, r->json);
	return 1;
}

int cmd_deploy(int argc, char **argv)
{
	struct run r = {0};
	const char *sigs = NULL, *state = "/run/sealnet/deploy", *emit = NULL,
		   *prefix = "/etc/sealnet";
	char *defsig = NULL, sealnetd[PATH_MAX], rs[PATH_MAX];
	long timeout = 60, conc = 8;
	bool measure = false, sealnetd_set = false;
	struct sn_cli_args a;
	int c, rc;

	dp_find_sealnetd(sealnetd, sizeof(sealnetd));
	sn_cli_args_init(&a, &spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0) {
		switch (c) {
		case O_SIGS:
			sigs = a.optarg;
			break;
		case O_JSON:
			r.json = true;
			break;
		case O_STATE:
			state = a.optarg;
			break;
		case O_TIMEOUT:
			if (sn_cli_number(&a, 1, 86400, &timeout))
				return 2;
			break;
		case O_CONC:
			if (sn_cli_number(&a, 1, 1024, &conc))
				return 2;
			break;
		case O_EMIT:
			emit = a.optarg;
			break;
		case O_MEASURE:
			measure = true;
			break;
		case O_SEALNETD:
			snprintf(sealnetd, sizeof(sealnetd), "%s", a.optarg);
			sealnetd_set = true;
			break;
		case O_PREFIX:
			prefix = a.optarg;
			break;
		}
	}
	c = sn_cli_end(&a, c, 1, 1);
	if (c)
		return sn_cli_exit(c);
	dp_clock_start();
	rc = wf_load(argv[a.optind], &r.wf);
	if (rc)
		return rc;
	if (!measure) {
		if (!sigs)
			sigs = defsig = wf_default_sig_path(argv[a.optind]);
		rc = sigs ? wf_check_sigs(r.wf, sigs, false) : 1;
		if (rc) {
			fprintf(stderr,
				"sealnet deploy: refused: %s is not signed by "
				"every domain it names (see `sealnet workflow "
				"verify`); nothing was started\n",
				argv[a.optind]);
			goto out;
		}
	}
	/* every node runs a copy of what was verified here (not in
	 * --print-measurements: a draft, measured without its manifest) */
	if (!measure && dp_read_manifest(r.wf, argv[a.optind], sigs,
					 &r.manifest, &r.sigs)) {
		rc = 1;
		goto out;
	}
	if (emit) {
		/* on the machines: the installed daemon (meson's default
		 * prefix), not this build's */
		rc = dp_do_emit(r.wf, emit, prefix,
				sealnetd_set ? sealnetd :
					       "/usr/local/bin/sealnetd",
				r.manifest, r.sigs);
		goto out;
	}
	if (geteuid()) {
		fprintf(stderr, "sealnet deploy: a local cluster needs root "
				"(network namespaces, BPF)\n");
		rc = 1;
		goto out;
	}
	if (mkdir(state, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", state,
			strerror(errno));
		rc = 1;
		goto out;
	}
	if (!realpath(state, rs)) {
		rc = 1;
		goto out;
	}
	/* the state directory's nodes/NAME/sealnetd.sock must fit a unix
	 * socket path; a truncated path would name another directory */
	if (strlen(rs) + SN_WF_NAME_MAX + 32 >= sizeof(r.c.state) ||
	    strlen(rs) > 60) {
		fprintf(stderr,
			"sealnet deploy: --state %s: path too long (%zu bytes; "
			"at most 60, so that each node's control socket path "
			"fits): choose a shorter directory\n",
			rs, strlen(rs));
		rc = 2;
		goto out;
	}
	snprintf(r.c.state, sizeof(r.c.state), "%s", rs);
	dp_hex(r.wf->digest, SN_WF_DIGEST_LEN, r.c.digest_hex);
	r.tty = isatty(1);
	{
		struct sigaction sa = {.sa_handler = on_signal};

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	rc = run_local(&r, (double)timeout, conc, sealnetd, measure);
out:
	free(defsig);
	free(r.manifest);
	free(r.sigs);
	free(r.e);
	free(r.pair);
	free(r.order);
	free(r.open_edges);
	dp_view_free(&r.v);
	free(r.c.nodes);
	free(r.c.cgroups);
	sn_workflow_free(r.wf);
	return rc;
}
