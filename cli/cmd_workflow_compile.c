// SPDX-License-Identifier: Apache-2.0
/* sealnet workflow compile | graph */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <limits.h>

#include <jansson.h>

#include "sealnet/util.h"
#include "args.h"
#include "commands.h"
#include "workflow.h"

extern char **environ;

enum { C_NODE, C_LOCAL, C_OUT, C_SIG, C_UNSIGNED };
static const struct sn_cli_opt compile_opts[] = {
	[C_NODE] = {"node", 'n', "N", "the node to compile for (required)"},
	[C_LOCAL] = {"local", 0, "FILE",
		     "node-local members merged into the config (JSON\n"
		     "object: interface, control_socket, state_dir,\n"
		     "make.sim_platform, make.appraisal_policy...);\n"
		     "it may not set node, id, peers, rules, make.tee,\n"
		     "make.rekey_interval_s, make.session_lifetime_s"},
	[C_OUT] = {"out-dir", 'o', "DIR",
		   "write DIR/sealnetd.json and DIR/policy-PEER.json\n"
		   "(and DIR/policy.json, set as make.appraisal_policy\n"
		   "when every peer has the same policy and --local\n"
		   "sets none) instead of printing"},
	[C_SIG] = {"sig", 0, "SIGFILE",
		   "the signature file (default: FILE with .json\n"
		   "replaced by .sig.json)"},
	[C_UNSIGNED] = {"unsigned", 0, NULL,
			"compile without checking the signatures (drafts;\n"
			"sealnetd never runs an unsigned manifest)"},
	{0},
};

static const struct sn_cli_spec compile_spec = {
	.cmd = "sealnet workflow compile",
	.args = "FILE",
	.about = "Validate the manifest in FILE, verify every domain's "
		 "signature,\n"
		 "and print node N's sealnetd policy as one JSON object:\n"
		 "  {\"workflow\", \"version\", \"workflow_digest\",\n"
		 "   \"node_policy_digest\", \"config\": {node, id, peers, "
		 "rules,\n"
		 "   make: {tee, rekey_interval_s, session_lifetime_s}},\n"
		 "   \"appraisal_policies\": {PEER: policy},\n"
		 "   \"peer_appraisal\": {PEER: \"token\"|\"evidence\"} (peers "
		 "of other domains only)}\n"
		 "Peers: the nodes running a stage with a flow to or from one "
		 "of "
		 "N's\n"
		 "stages.  Rules: per flow and port, egress from N's stage "
		 "(with its\n"
		 "cgroup or local port) and ingress to it.  Appraisal policy "
		 "per "
		 "peer:\n"
		 "the reference values of the stages it runs "
		 "(docs/attestation.md).\n",
	.opts = compile_opts,
	.after = WF_EXIT_TEXT,
};

static int write_policy(const char *dir, const char *name, const char *json)
{
	char path[4096];
	json_t *v = json_loads(json, 0, NULL);
	char *txt = v ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err = txt ? wf_write_file(path, txt, 0644) : -ENOMEM;
	if (err)
		fprintf(stderr,
			"sealnet workflow compile: cannot write %s: %s\n", path,
			strerror(-err));
	free(txt);
	json_decref(v);
	return err;
}

static int write_out(const char *dir, const struct sn_wf_compiled *c,
		     const char *node)
{
	char path[4096], name[SN_WF_NAME_MAX + 16];

	for (size_t i = 0; i < c->n_policies; i++) {
		snprintf(name, sizeof(name), "policy-%s.json",
			 c->policies[i].peer);
		if (write_policy(dir, name, c->policies[i].policy_json))
			return WF_EXIT_FAIL;
	}
	snprintf(path, sizeof(path), "%s/sealnetd.json", dir);
	if (wf_write_file(path, c->config_json, 0644)) {
		fprintf(stderr, "sealnet workflow compile: cannot write %s\n",
			path);
		return WF_EXIT_FAIL;
	}
	printf("%s: sealnetd configuration of node %s, %zu peer appraisal "
	       "polic%s in %s\n",
	       path, node, c->n_policies, c->n_policies == 1 ? "y" : "ies",
	       dir);
	return WF_EXIT_OK;
}

/* the local members, with make.appraisal_policy = DIR/policy.json when
 * --local sets none and every peer has the same policy (written) */
static int local_with_policy(const char *local_path, const char *dir,
			     const struct sn_wf_compiled *c, char **out)
{
	json_t *loc = NULL, *make;
	json_error_t je;
	char path[4096];
	bool same = c->n_policies > 0;

	loc = local_path ?
		      json_load_file(local_path, JSON_REJECT_DUPLICATES, &je) :
		      json_object();
	if (!loc || !json_is_object(loc)) {
		fprintf(stderr, "%s: not a JSON object (%s)\n",
			local_path ? local_path : "-", loc ? "" : je.text);
		json_decref(loc);
		return WF_EXIT_USAGE;
	}
	make = json_object_get(loc, "make");
	for (size_t i = 1; i < c->n_policies; i++)
		same &= !strcmp(c->policies[i].policy_json,
				c->policies[0].policy_json);
	if (dir && same &&
	    !(json_is_object(make) &&
	      json_object_get(make, "appraisal_policy"))) {
		if (write_policy(dir, "policy.json",
				 c->policies[0].policy_json)) {
			json_decref(loc);
			return WF_EXIT_FAIL;
		}
		if (!make) {
			make = json_object();
			json_object_set_new(loc, "make", make);
		}
		/* absolute: sealnetd may run elsewhere */
		if (!realpath(dir, path) ||
		    strlen(path) + sizeof("/policy.json") > sizeof(path)) {
			json_decref(loc);
			return WF_EXIT_FAIL;
		}
		strcat(path, "/policy.json");
		if (json_is_object(make))
			json_object_set_new(make, "appraisal_policy",
					    json_string(path));
	} else if (dir && !same && c->n_policies) {
		fprintf(stderr,
			"sealnet workflow compile: note: the peers need "
			"different "
			"appraisal policies (policy-PEER.json); sealnetd takes "
			"one make.appraisal_policy today: give it in "
			"--local\n");
	}
	*out = json_dumps(loc, JSON_COMPACT);
	json_decref(loc);
	return *out ? WF_EXIT_OK : WF_EXIT_FAIL;
}

static int print_all(const struct sn_workflow *wf,
		     const struct sn_wf_compiled *c)
{
	char wd[2 * SN_WF_DIGEST_LEN + 1], pd[2 * SN_WF_DIGEST_LEN + 1], *txt;
	json_t *pols = json_object(), *o;

	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, wd);
	sn_hex_encode(c->policy_digest, SN_WF_DIGEST_LEN, pd);
	for (size_t i = 0; pols && i < c->n_policies; i++)
		json_object_set_new(
			pols, c->policies[i].peer,
			json_loads(c->policies[i].policy_json, 0, NULL));
	o = json_pack("{sssIsssssoso}", "workflow", wf->name, "version",
		      (json_int_t)wf->version, "workflow_digest", wd,
		      "node_policy_digest", pd, "config",
		      json_loads(c->config_json, 0, NULL), "appraisal_policies",
		      pols);
	/* peers of other domains: how each is appraised (docs/workflow.md) */
	for (size_t i = 0; o && i < c->n_policies; i++) {
		json_t *m = json_object_get(o, "peer_appraisal");

		if (!c->policies[i].cross_domain)
			continue;
		if (!m)
			json_object_set_new(o, "peer_appraisal",
					    m = json_object());
		json_object_set_new(m, c->policies[i].peer,
				    json_string(sn_wf_appraisal_name(
					    c->policies[i].appraisal)));
	}
	txt = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!txt)
		return WF_EXIT_FAIL;
	printf("%s\n", txt);
	free(txt);
	return WF_EXIT_OK;
}

int wf_cmd_compile(int argc, char **argv)
{
	const char *node = NULL, *local = NULL, *dir = NULL, *sig = NULL;
	struct sn_wf_compiled *c0 = NULL, *c = NULL;
	struct sn_workflow *wf = NULL;
	struct sn_wf_diag *d = NULL;
	char *defsig = NULL, *loc = NULL;
	bool unsigned_ok = false;
	struct sn_cli_args a;
	int o, rc;

	sn_cli_args_init(&a, &compile_spec, argc, argv);
	while ((o = sn_cli_next(&a)) >= 0)
		switch (o) {
		case C_NODE:
			node = a.optarg;
			break;
		case C_LOCAL:
			local = a.optarg;
			break;
		case C_OUT:
			dir = a.optarg;
			break;
		case C_SIG:
			sig = a.optarg;
			break;
		case C_UNSIGNED:
			unsigned_ok = true;
			break;
		}
	o = sn_cli_end(&a, o, 1, 1);
	if (o)
		return sn_cli_exit(o);
	if (!node)
		return sn_cli_exit(
			sn_cli_usage_error(&a, "--node is required"));
	rc = wf_load(argv[a.optind], &wf);
	if (rc)
		return rc;
	rc = WF_EXIT_FAIL;
	if (!unsigned_ok) {
		if (!sig)
			sig = defsig = wf_default_sig_path(argv[a.optind]);
		rc = sig ? wf_check_sigs(wf, sig, false) : WF_EXIT_FAIL;
		if (rc) {
			fprintf(stderr,
				"sealnet workflow compile: refused: the "
				"manifest is not signed by every domain "
				"(`sealnet workflow verify`)\n");
			goto out;
		}
	} else {
		fprintf(stderr, "sealnet workflow compile: warning: signatures "
				"not checked (--unsigned)\n");
	}
	rc = WF_EXIT_FAIL;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out;
	o = sn_workflow_compile_node(wf, node, NULL, &c0, d);
	if (o) {
		wf_print_diag(argv[a.optind], d);
		/* too many rules: the manifest cannot be run on that node */
		rc = o == -E2BIG  ? WF_EXIT_INVALID :
		     o == -ENOMEM ? WF_EXIT_FAIL :
				    WF_EXIT_USAGE;
		goto out;
	}
	if (dir && mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr,
			"sealnet workflow compile: cannot create %s: %s\n", dir,
			strerror(errno));
		rc = WF_EXIT_FAIL;
		goto out;
	}
	rc = local_with_policy(local, dir, c0, &loc);
	if (rc)
		goto out;
	if (sn_workflow_compile_node(wf, node, loc, &c, d)) {
		wf_print_diag(local ? local : "--local", d);
		rc = WF_EXIT_USAGE;
		goto out;
	}
	rc = dir ? write_out(dir, c, node) : print_all(wf, c);
out:
	free(loc);
	free(defsig);
	free(d);
	sn_wf_compiled_free(c0);
	sn_wf_compiled_free(c);
	sn_workflow_free(wf);
	return rc;
}

enum { G_SVG };
static const struct sn_cli_opt graph_opts[] = {
	[G_SVG] = {"svg", 0, "OUT",
		   "render to OUT as SVG with Graphviz's dot\n"
		   "(instead of printing DOT)"},
	{0},
};

static const struct sn_cli_spec graph_spec = {
	.cmd = "sealnet workflow graph",
	.args = "FILE",
	.about = "Print the workflow as Graphviz DOT: one cluster per domain, "
		 "a box\n"
		 "per stage (with its TEE and nodes), an edge per flow "
		 "labelled\n"
		 "protocol/port(s).  Render with: dot -Tsvg -o g.svg, or "
		 "--svg.\n",
	.opts = graph_opts,
	.after = WF_EXIT_TEXT,
};

static int run_dot(const char *dot, const char *out)
{
	char *args[] = {"dot", "-Tsvg", "-o", (char *)out, NULL};
	posix_spawn_file_actions_t fa;
	int pfd[2], status = 0;
	size_t len = strlen(dot);
	pid_t pid;

	if (pipe(pfd))
		return WF_EXIT_FAIL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	if (posix_spawnp(&pid, "dot", &fa, NULL, args, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(pfd[0]);
		close(pfd[1]);
		fprintf(stderr,
			"sealnet workflow graph: cannot run dot: install "
			"Graphviz (apt-get install graphviz) or use the "
			"DOT output\n");
		return WF_EXIT_FAIL;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[0]);
	if (write(pfd[1], dot, len) != (ssize_t)len)
		status = -1;
	close(pfd[1]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr,
			"sealnet workflow graph: dot failed (exit "
			"status %d)\n",
			WEXITSTATUS(status));
		return WF_EXIT_FAIL;
	}
	return WF_EXIT_OK;
}

int wf_cmd_graph(int argc, char **argv)
{
	struct sn_workflow *wf = NULL;
	const char *svg = NULL;
	struct sn_cli_args a;
	char *dot = NULL;
	int o, rc;

	sn_cli_args_init(&a, &graph_spec, argc, argv);
	while ((o = sn_cli_next(&a)) >= 0)
		if (o == G_SVG)
			svg = a.optarg;
	o = sn_cli_end(&a, o, 1, 1);
	if (o)
		return sn_cli_exit(o);
	rc = wf_load(argv[a.optind], &wf);
	if (rc)
		return rc;
	if (sn_workflow_graph_dot(wf, &dot)) {
		sn_workflow_free(wf);
		return WF_EXIT_FAIL;
	}
	if (svg)
		rc = run_dot(dot, svg);
	else
		fputs(dot, stdout);
	free(dot);
	sn_workflow_free(wf);
	return rc;
}
