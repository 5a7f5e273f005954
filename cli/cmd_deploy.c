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
#include "deploy.h"
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
		    "policy.json,sealnetd.service}; start nothing"},
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
		"compiled\n"
		"from the manifest. Shows progress (nodes started, data plane\n"
		"loaded, attested and keyed, every edge of every flow proven "
		"by a\n"
		"probe packet that the sender's counters show sealed and the\n"
		"receiver's show opened) and ends when every edge is proven, "
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
};

static void on_signal(int sig)
{
	(void)sig;
	dp_interrupted = 1;
}

static const char *proto_name(enum sn_wf_proto p)
{
	return p == SN_WF_TCP ? "tcp" : p == SN_WF_UDP ? "udp" : "icmp";
}

static void emit_json(struct run *r, json_t *ev)
{
	if (!r->json || !ev) {
		json_decref(ev);
		return;
	}
	json_object_set_new(ev, "t",
			    json_real((double)(long)(dp_now() * 1e3) / 1e3));
	json_dumpf(ev, stdout,
		   JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(7));
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(ev);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- the node-local configuration ------------------------------------ */

/* One appraisal policy from a node's per-peer policies (sealnetd applies
 * one to all peers): the union of backends, measurements and simulated
 * ARKs; every other member must agree. */
static int merge_policies(const struct sn_wf_compiled *cc, const char *node,
			  char **out)
{
	static const char *const lists[] = {"backends", "measurements",
					    "sim_ark_spki_sha256"};
	json_t *base = NULL;
	int err = 0;

	for (size_t i = 0; i < cc->n_policies; i++) {
		json_t *p = json_loads(cc->policies[i].policy_json, 0, NULL);
		const char *k;
		json_t *v;

		if (!p) {
			err = -EINVAL;
			break;
		}
		json_object_del(p, "comment");
		if (!base) {
			base = p;
			continue;
		}
		json_object_foreach(p, k, v)
		{
			bool is_list = false;

			for (size_t l = 0; l < 3; l++)
				is_list |= !strcmp(k, lists[l]);
			json_t *bv = json_object_get(base, k);

			if (is_list && json_is_array(v)) {
				size_t j;
				json_t *x;

				if (!bv) {
					json_object_set(base, k, v);
					continue;
				}
				json_array_foreach(v, j, x)
				{
					size_t m;
					json_t *y;
					bool have = false;

					json_array_foreach(bv, m, y) have |=
						json_equal(x, y);
					if (!have)
						json_array_append(bv, x);
				}
			} else if (!bv || !json_equal(bv, v)) {
				fprintf(stderr,
					"sealnet deploy: node %s: its peers' "
					"appraisal policies differ in '%s'; "
					"sealnetd applies one policy to all "
					"peers: give their stages the same "
					"reference values\n",
					node, k);
				err = -EINVAL;
			}
		}
		json_decref(p);
	}
	if (!err && !base) /* no peers: accept nothing */
		base = json_pack(
			"{s:[s], s:[s], s:[s]}", "backends", "sim",
			"measurements",
			"000000000000000000000000000000000000000000000"
			"000000000000000000000000000000000000000000000"
			"000000",
			"sim_ark_spki_sha256",
			"0000000000000000000000000000000000000000000000"
			"000000000000000000");
	if (!err) {
		*out = json_dumps(base, JSON_INDENT(2) | JSON_SORT_KEYS);
		err = *out ? 0 : -ENOMEM;
	}
	json_decref(base);
	return err;
}

/* compile node i with its local members; write sealnetd.json and
 * policy.json into dir (files unchanged when their content is) */
static int write_node(const struct sn_workflow *wf, size_t i, const char *dir,
		      const char *local, int *exit_code)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	struct sn_wf_compiled *cc = NULL;
	char p[DP_PATH_MAX + 32], *pol = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	err = sn_workflow_compile_node(wf, wf->nodes[i].name, local, &cc, d);
	if (err) {
		wf_print_diag(wf->nodes[i].name, d);
		*exit_code = err == -E2BIG ? WF_EXIT_INVALID : WF_EXIT_FAIL;
		goto out;
	}
	err = merge_policies(cc, wf->nodes[i].name, &pol);
	if (err) {
		*exit_code = WF_EXIT_INVALID;
		goto out;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", dir,
			strerror(errno));
		*exit_code = WF_EXIT_FAIL;
		goto out;
	}
	snprintf(p, sizeof(p), "%s/sealnetd.json", dir);
	err = wf_write_file(p, cc->config_json, 0600);
	snprintf(p, sizeof(p), "%s/policy.json", dir);
	if (!err)
		err = wf_write_file(p, pol, 0600);
	if (err) {
		*exit_code = WF_EXIT_FAIL;
		err = -EIO;
	}
out:
	free(pol);
	sn_wf_compiled_free(cc);
	free(d);
	return err;
}

static char *local_json(const char *iface, const char *sock, const char *state,
			const char *platform, const char *policy, bool sim)
{
	json_t *make = json_pack("{s:s}", "appraisal_policy", policy);
	json_t *o;
	char *s;

	if (sim)
		json_object_set_new(make, "sim_platform",
				    json_string(platform));
	o = json_pack("{s:s, s:s, s:s, s:o}", "interface", iface,
		      "control_socket", sock, "state_dir", state, "make", make);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* ---- --emit: files for real machines ---------------------------------- */

static int do_emit(const struct sn_workflow *wf, const char *out,
		   const char *prefix, const char *sealnetd_path)
{
	int code = 0;

	if (mkdir(out, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", out,
			strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < wf->n_nodes; i++) {
		const char *nm = wf->nodes[i].name;
		char dir[DP_PATH_MAX], pol[DP_PATH_MAX + 32],
			unit[DP_PATH_MAX + 32], *loc, *text = NULL;
		int err;

		snprintf(dir, sizeof(dir), "%s/%s", out, nm);
		snprintf(pol, sizeof(pol), "%s/policy.json", prefix);
		loc = local_json("eth0", "/run/sealnet/sealnetd.sock",
				 "/var/lib/sealnet",
				 "/var/lib/sealnet/platform", pol,
				 wf->nodes[i].tee == SN_WF_TEE_SIM);
		if (!loc)
			return 1;
		err = write_node(wf, i, dir, loc, &code);
		free(loc);
		if (err)
			return code ? code : 1;
		if (asprintf(&text,
			     "# sealnetd of node %s, workflow %s v%llu "
			     "(sealnet deploy --emit)\n"
			     "# install: %s/sealnetd.json and policy.json "
			     "(mode 0600, root);\n"
			     "# set \"interface\" in sealnetd.json to the "
			     "interface with address of node %s\n"
			     "[Unit]\nDescription=sealnet node agent (%s)\n"
			     "After=network-online.target\n"
			     "Wants=network-online.target\n\n"
			     "[Service]\nType=simple\n"
			     "ExecStart=%s --config %s/sealnetd.json\n"
			     "KillSignal=SIGTERM\nRestart=on-failure\n"
			     "RestartSec=2\n\n"
			     "[Install]\nWantedBy=multi-user.target\n",
			     nm, wf->name, (unsigned long long)wf->version,
			     prefix, nm, nm, sealnetd_path, prefix) < 0)
			return 1;
		snprintf(unit, sizeof(unit), "%s/sealnetd.service", dir);
		err = wf_write_file(unit, text, 0644);
		free(text);
		if (err)
			return 1;
		printf("%s: %s/{sealnetd.json,policy.json,sealnetd.service}\n",
		       nm, dir);
	}
	printf("%zu nodes emitted; nothing started\n", wf->n_nodes);
	return 0;
}

/* ---- the local cluster ------------------------------------------------ */

static int ark_hash(const char *platform, char out[65])
{
	char p[DP_PATH_MAX + 16];
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	FILE *f;
	X509 *x;
	int n;

	snprintf(p, sizeof(p), "%s/ark.pem", platform);
	f = fopen(p, "r");
	if (!f)
		return -errno;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return -EINVAL;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	X509_free(x);
	if (n <= 0 ||
	    !EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		return -EINVAL;
	}
	OPENSSL_free(der);
	hex(md, 32, out);
	return 0;
}

static void find_sealnetd(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *env = getenv("SEALNETD");

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return;
	}
	if (n > 0) {
		self[n] = 0;
		char *sl = strrchr(self, '/');

		if (sl) {
			*sl = 0;
			snprintf(out, cap, "%s/sealnetd", self);
			if (!access(out, X_OK))
				return;
			snprintf(out, cap, "%s/../daemon/sealnetd", self);
			if (!access(out, X_OK))
				return;
		}
	}
	snprintf(out, cap, "sealnetd");
}

static int ensure_dir(const char *d)
{
	if (mkdir(d, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealnet deploy: cannot create %s: %s\n", d,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int ensure_platform(const char *platform)
{
	char p[DP_PATH_MAX + 16], self[PATH_MAX];
	ssize_t n;

	snprintf(p, sizeof(p), "%s/ark.pem", platform);
	if (!access(p, F_OK))
		return 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	char *argv[] = {self, "sim-tee", "init", (char *)platform, NULL};

	if (dp_run(argv, NULL)) {
		fprintf(stderr,
			"sealnet deploy: sealnet sim-tee init %s failed\n",
			platform);
		return -1;
	}
	return 0;
}

static void view_free(struct view *v)
{
	if (v->why)
		for (size_t i = 0; i < v->n * v->n; i++)
			free(v->why[i]);
	free(v->why);
	free(v->tx);
	free(v->rx);
	free(v->est);
	free(v->n_peers);
	free(v->n_est);
}

static int view_alloc(struct view *v, size_t n)
{
	v->n = n;
	v->tx = calloc(n * n, sizeof(*v->tx));
	v->rx = calloc(n * n, sizeof(*v->rx));
	v->est = calloc(n * n, sizeof(*v->est));
	v->why = calloc(n * n, sizeof(*v->why));
	v->n_peers = calloc(n, sizeof(*v->n_peers));
	v->n_est = calloc(n, sizeof(*v->n_est));
	return v->tx && v->rx && v->est && v->why && v->n_peers && v->n_est ?
		       0 :
		       -ENOMEM;
}

/* poll node i's sealnetd: 0 and the view updated, or -errno */
static int poll_node(struct run *r, size_t i, bool *dataplane)
{
	struct sn_control_status st;
	json_t *ans = NULL;
	size_t n = r->wf->n_nodes;
	int err;

	err = sn_control_request(r->c.nodes[i].sock, SN_CONTROL_CMD_STATUS,
				 &ans);
	if (err)
		return err;
	err = sn_control_status_decode(ans, &st);
	if (err) {
		json_decref(ans);
		return err;
	}
	*dataplane = st.dataplane && st.egress_prog_id && st.ingress_prog_id;
	r->v.n_peers[i] = st.n_peers;
	r->v.n_est[i] = 0;
	for (size_t k = 0; k < st.n_peers; k++) {
		const struct sn_control_peer *p = &st.peers[k];
		int j = p->name ? sn_workflow_find_node(r->wf, p->name) : -1;
		bool est = p->state && (!strcmp(p->state, "established") ||
					!strcmp(p->state, "keyed"));

		if (j < 0)
			continue;
		r->v.tx[i * n + (size_t)j] = p->tx_packets;
		r->v.rx[i * n + (size_t)j] = p->rx_packets;
		r->v.est[i * n + (size_t)j] = est;
		r->v.n_est[i] += est;
		free(r->v.why[i * n + (size_t)j]);
		r->v.why[i * n + (size_t)j] = NULL;
		if (!est)
			asprintf(&r->v.why[i * n + (size_t)j], "%s%s%s%s%s",
				 p->state ? p->state : "?",
				 p->reason && *p->reason ? ": " : "",
				 p->reason ? p->reason : "",
				 p->appraisal ? "; evidence rejected: " : "",
				 p->appraisal ? p->appraisal : "");
	}
	sn_control_status_release(&st);
	json_decref(ans);
	return 0;
}

static void last_log_line(const struct dp_node *nd, char *out, size_t cap)
{
	char p[DP_PATH_MAX + 32], line[512];
	FILE *f;

	snprintf(out, cap, "sealnetd exited");
	snprintf(p, sizeof(p), "%s/sealnetd.log", nd->dir);
	f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] && line[0] != '\n') {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, cap, "sealnetd exited: %s", line);
		}
	fclose(f);
}

static void show(struct run *r, bool final)
{
	size_t n = r->c.n_nodes, st = 0, dpl = 0, key = 0, fail = 0, pr = 0;
	char line[5][160];

	for (size_t i = 0; i < n; i++) {
		st += r->c.nodes[i].started;
		dpl += r->c.nodes[i].dataplane;
		key += r->c.nodes[i].keyed;
		fail += r->c.nodes[i].failed;
	}
	for (size_t k = 0; k < r->n_e; k++)
		pr += r->e[k].proven;
	size_t counts[5] = {st, dpl, key, fail, pr};

	if (r->json)
		return;
	if (final && !r->tty)
		return;
	if (!final && !r->tty &&
	    !memcmp(counts, r->last_counts, sizeof(counts)))
		return;
	memcpy(r->last_counts, counts, sizeof(counts));
	snprintf(line[0], sizeof(line[0]),
		 "workflow %s v%llu: %zu nodes, %zu edges   %6.2f s",
		 r->wf->name, (unsigned long long)r->wf->version, n, r->n_e,
		 dp_now());
	snprintf(line[1], sizeof(line[1]), "  nodes started        %4zu/%zu%s",
		 st, n, fail ? "" : "");
	snprintf(line[2], sizeof(line[2]), "  data plane loaded    %4zu/%zu",
		 dpl, n);
	snprintf(line[3], sizeof(line[3]), "  attested+keyed       %4zu/%zu%s",
		 key, n, fail ? "   (some node failed: see below)" : "");
	snprintf(line[4], sizeof(line[4]), "  edges proven sealed  %4zu/%zu",
		 pr, r->n_e);
	if (r->tty) {
		if (r->last_lines)
			printf("\033[%dA", r->last_lines);
		for (int i = 0; i < 5; i++)
			printf("\033[2K%s\n", line[i]);
		r->last_lines = 5;
	} else {
		printf("%7.2fs started %zu/%zu, data plane %zu/%zu, keyed "
		       "%zu/%zu, edges %zu/%zu%s\n",
		       dp_now(), st, n, dpl, n, key, n, pr, r->n_e,
		       fail ? " (failures)" : "");
	}
	fflush(stdout);
}

static void node_event(struct run *r, size_t i, const char *phase,
		       const char *why)
{
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "node", "node",
			       r->c.nodes[i].name, "phase", phase);

	if (why && ev)
		json_object_set_new(ev, "reason", json_string(why));
	emit_json(r, ev);
}

static json_t *edge_json(const struct run *r, const struct edge *e)
{
	const struct sn_wf_flow *f = &r->wf->flows[e->flow];

	return json_pack(
		"{s:I, s:s, s:s, s:s, s:s, s:s, s:i}", "flow",
		(json_int_t)e->flow, "from_stage", r->wf->stages[f->from].name,
		"to_stage", r->wf->stages[f->to].name, "from",
		r->wf->nodes[e->a].name, "to", r->wf->nodes[e->b].name,
		"protocol", proto_name(f->proto), "port", (int)f->port_first);
}

/* one round of probes; returns the number of edges proven so far */
static size_t probe_round(struct run *r)
{
	size_t n = r->wf->n_nodes, done = 0;
	double now = dp_now();

	for (size_t k = 0; k < r->n_e; k++) {
		struct edge *e = &r->e[k];
		size_t ab = e->a * n + e->b, ba = e->b * n + e->a;

		if (e->proven) {
			done++;
			continue;
		}
		if (e->probing) {
			if (r->v.tx[ab] > e->tx0 && r->v.rx[ba] > e->rx0) {
				e->proven = true;
				e->probing = false;
				r->open_edges[e->a]--;
				r->open_edges[e->b]--;
				e->t_proven = now;
				r->pair[ab] = -1;
				done++;
				json_t *ev = edge_json(r, e);

				json_object_set_new(ev, "event",
						    json_string("edge"));
				json_object_set_new(ev, "proven", json_true());
				json_object_set_new(
					ev, "sealed",
					json_integer((json_int_t)(r->v.tx[ab] -
								  e->tx0)));
				json_object_set_new(
					ev, "opened",
					json_integer((json_int_t)(r->v.rx[ba] -
								  e->rx0)));
				emit_json(r, ev);
				continue;
			}
			if (now - e->t_probe < 0.25)
				continue;
		} else if (r->pair[ab] >= 0) {
			continue; /* another flow of this pair is being probed
				   */
		}
		if (!r->v.est[ab] || !r->v.est[ba] ||
		    !r->c.nodes[e->a].dataplane || !r->c.nodes[e->b].dataplane)
			continue;
		/* counters before this probe: any increase is its packet
		 * (nothing else runs between the pair on a fresh cluster) */
		e->tx0 = r->v.tx[ab];
		e->rx0 = r->v.rx[ba];
		e->t_probe = now;
		e->probing = true;
		r->pair[ab] = (int)k;
		e->probe_err = dp_probe(r->wf, &r->c, e->flow, e->a, e->b);
	}
	return done;
}

static int build_edges(struct run *r)
{
	const struct sn_workflow *wf = r->wf;
	size_t cap = 0;

	for (size_t f = 0; f < wf->n_flows; f++) {
		const struct sn_wf_stage *fs = &wf->stages[wf->flows[f].from],
					 *ts = &wf->stages[wf->flows[f].to];

		for (size_t x = 0; x < fs->n_nodes; x++)
			for (size_t y = 0; y < ts->n_nodes; y++) {
				if (fs->nodes[x] == ts->nodes[y])
					continue; /* not over the network */
				if (r->n_e == cap) {
					cap = cap ? 2 * cap : 64;
					struct edge *ne = realloc(
						r->e, cap * sizeof(*ne));

					if (!ne)
						return -ENOMEM;
					r->e = ne;
				}
				r->e[r->n_e++] =
					(struct edge){.flow = f,
						      .a = fs->nodes[x],
						      .b = ts->nodes[y]};
			}
	}
	r->pair = malloc(wf->n_nodes * wf->n_nodes * sizeof(int));
	r->open_edges = calloc(wf->n_nodes, sizeof(*r->open_edges));
	if (!r->pair || !r->open_edges)
		return -ENOMEM;
	for (size_t k = 0; k < r->n_e; k++) {
		r->open_edges[r->e[k].a]++;
		r->open_edges[r->e[k].b]++;
	}
	memset(r->pair, 0xff, wf->n_nodes * wf->n_nodes * sizeof(int));
	return 0;
}

static void report_failures(struct run *r)
{
	size_t n = r->wf->n_nodes;
	json_t *fn = json_array(), *fe = json_array();
	size_t pr = 0;

	for (size_t i = 0; i < n; i++) {
		struct dp_node *nd = &r->c.nodes[i];
		char why[600];

		if (nd->keyed && !nd->failed)
			continue;
		if (nd->failed)
			snprintf(why, sizeof(why), "%s", nd->why);
		else if (!nd->started)
			snprintf(why, sizeof(why), "not started");
		else if (!nd->dataplane)
			snprintf(why, sizeof(why), "data plane not loaded");
		else {
			int o = snprintf(why, sizeof(why), "not keyed with");
			for (size_t j = 0; j < n && o < (int)sizeof(why); j++)
				if (r->v.why[i * n + j])
					o += snprintf(why + o,
						      sizeof(why) - (size_t)o,
						      " %s (%s)",
						      r->wf->nodes[j].name,
						      r->v.why[i * n + j]);
		}
		if (!r->json)
			fprintf(stderr, "sealnet deploy: node %s: %s\n",
				nd->name, why);
		json_array_append_new(fn, json_pack("{s:s, s:s}", "node",
						    nd->name, "reason", why));
	}
	for (size_t k = 0; k < r->n_e; k++) {
		const struct edge *e = &r->e[k];
		size_t ab = e->a * n + e->b, ba = e->b * n + e->a;
		char why[200];

		if (e->proven) {
			pr++;
			continue;
		}
		if (e->probe_err == -EPERM)
			snprintf(why, sizeof(why),
				 "no probe sent: the stage's cgroup %s is not "
				 "in a cgroup v2 file system",
				 r->wf->stages[r->wf->flows[e->flow].from]
					 .cgroup);
		else if (e->probe_err)
			snprintf(why, sizeof(why),
				 "the probe could not be sent from %s (%s)",
				 r->wf->nodes[e->a].name,
				 strerror(-e->probe_err));
		else if (!r->v.est[ab] || !r->v.est[ba])
			snprintf(why, sizeof(why), "%s and %s are not keyed",
				 r->wf->nodes[e->a].name,
				 r->wf->nodes[e->b].name);
		else
			snprintf(why, sizeof(why),
				 "probe not seen: sealed +%llu at %s, opened "
				 "+%llu at %s",
				 (unsigned long long)(r->v.tx[ab] - e->tx0),
				 r->wf->nodes[e->a].name,
				 (unsigned long long)(r->v.rx[ba] - e->rx0),
				 r->wf->nodes[e->b].name);
		const struct sn_wf_flow *f = &r->wf->flows[e->flow];

		if (!r->json)
			fprintf(stderr,
				"sealnet deploy: edge %s -> %s (flow %zu %s -> "
				"%s %s/%u): %s\n",
				r->wf->nodes[e->a].name,
				r->wf->nodes[e->b].name, e->flow,
				r->wf->stages[f->from].name,
				r->wf->stages[f->to].name, proto_name(f->proto),
				f->port_first, why);
		json_t *j = edge_json(r, e);

		json_object_set_new(j, "reason", json_string(why));
		json_array_append_new(fe, j);
	}
	json_t *ev = json_pack(
		"{s:s, s:b, s:I, s:I, s:I, s:o, s:o}", "event", "done", "ok",
		json_array_size(fn) == 0 && pr == r->n_e, "nodes",
		(json_int_t)n, "edges", (json_int_t)r->n_e, "proven",
		(json_int_t)pr, "failed_nodes", fn, "failed_edges", fe);

	if (ev) {
		/* the per-phase breakdown (bench/cluster) */
		json_t *ph = json_array();

		for (size_t i = 0; i < n; i++) {
			const struct dp_node *nd = &r->c.nodes[i];

			json_array_append_new(
				ph,
				json_pack("{s:s, s:f, s:f, s:f}", "node",
					  nd->name, "started", nd->t_started,
					  "dataplane", nd->t_dataplane, "keyed",
					  nd->t_keyed));
		}
		json_object_set_new(ev, "netns_done", json_real(r->t_netns));
		json_object_set_new(ev, "node_times", ph);
		json_t *et = json_array();

		for (size_t k = 0; k < r->n_e; k++)
			json_array_append_new(et, json_real(r->e[k].t_proven));
		json_object_set_new(ev, "edge_times", et);
	}
	emit_json(r, ev);
}

static int measure_all(struct run *r, const char *sealnetd, const char *ark)
{
	struct sn_workflow *wf = r->wf;

	json_t *o = json_pack("{s:s, s:{}}", "ark_spki_sha256", ark,
			      "measurements");

	for (size_t i = 0; i < wf->n_nodes; i++) {
		char cfg[DP_PATH_MAX + 32], out[256];
		char *argv[] = {(char *)sealnetd, "--print-measurement",
				"--config", cfg, NULL};

		snprintf(cfg, sizeof(cfg), "%s/sealnetd.json",
			 r->c.nodes[i].dir);
		if (dp_run_capture(argv, NULL, out, sizeof(out))) {
			fprintf(stderr,
				"sealnet deploy: %s "
				"--print-measurement "
				"--config %s failed\n",
				sealnetd, cfg);
			json_decref(o);
			return 1;
		}
		out[strcspn(out, "\n")] = 0;
		json_object_set_new(json_object_get(o, "measurements"),
				    r->c.nodes[i].name, json_string(out));
	}
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("\n");
	json_decref(o);
	return 0;
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
	if (ensure_dir(r->c.state) || ensure_dir(nodes) ||
	    ensure_platform(platform))
		return 1;
	if (ark_hash(platform, ark)) {
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
	if (!r->c.nodes || view_alloc(&r->v, wf->n_nodes) || build_edges(r))
		return 1;
	for (size_t i = 0; i < wf->n_nodes; i++) {
		struct dp_node *nd = &r->c.nodes[i];
		char pol[DP_PATH_MAX + 32], st[DP_PATH_MAX + 32], *loc;
		int code = 1;

		snprintf(nd->name, sizeof(nd->name), "%s", wf->nodes[i].name);
		snprintf(nd->ns, sizeof(nd->ns), DP_PREFIX "%s-%s", r->c.tag,
			 nd->name);
		snprintf(nd->dir, sizeof(nd->dir), "%s/%s", nodes, nd->name);
		snprintf(nd->sock, sizeof(nd->sock), "%s/sealnetd.sock",
			 nd->dir);
		snprintf(pol, sizeof(pol), "%s/policy.json", nd->dir);
		snprintf(st, sizeof(st), "%s/state", nd->dir);
		for (size_t k = 0; existing && k < old.n_nodes; k++)
			if (!strcmp(old.nodes[k].name, nd->name)) {
				nd->pid = old.nodes[k].pid;
				nd->ns_made = old.nodes[k].ns_made;
			}
		if (existing && dp_node_alive(nd))
			continue; /* running: its files stay as they are */
		loc = local_json("eth0", nd->sock, st, platform, pol, true);
		if (!loc || write_node(wf, i, nd->dir, loc, &code)) {
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
		rc = measure_all(r, sealnetd, ark);
		dp_teardown(&tmp, true);
		free(tmp.cgroups);
		return rc;
	}
	emit_json(r, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "event",
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
	emit_json(r,
		  json_pack("{s:s, s:s}", "event", "phase", "phase", "netns"));
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
		emit_json(r, json_pack("{s:s, s:I}", "event", "unchanged",
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
	 * retry (backoff 1 s) */
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
			node_event(r, i, "started", NULL);
			inflight++;
		}
		for (size_t i = 0; i < wf->n_nodes; i++) {
			struct dp_node *nd = &r->c.nodes[i];
			bool dpl = false;

			if (!nd->started || nd->failed)
				continue;
			if (!dp_node_alive(nd)) {
				nd->failed = true;
				last_log_line(nd, nd->why, sizeof(nd->why));
				node_event(r, i, "failed", nd->why);
				continue;
			}
			/* a node keyed with every peer whose edges are all
			 * proven has nothing left to show: not asked again
			 * (each status answer costs its sealnetd a snapshot of
			 * the data plane, CPU the starting nodes need) */
			if (nd->keyed && !r->open_edges[i])
				continue;
			if (poll_node(r, i, &dpl))
				continue;
			if (dpl && !nd->dataplane) {
				nd->dataplane = true;
				nd->t_dataplane = dp_now();
				node_event(r, i, "dataplane", NULL);
			}
			bool k = nd->dataplane &&
				 r->v.n_est[i] == r->v.n_peers[i];

			if (k && !nd->keyed) {
				nd->keyed = true;
				nd->t_keyed = dp_now();
				node_event(r, i, "keyed", NULL);
			}
			nd->keyed = k;
		}
		proven = n_proven = probe_round(r);
		for (size_t i = 0; i < wf->n_nodes; i++)
			keyed += r->c.nodes[i].keyed;
		show(r, false);
		if (proven == r->n_e && keyed == wf->n_nodes) {
			rc = 0;
			break;
		}
		if (now > timeout)
			break;
		usleep(50 * 1000);
	}
	show(r, true);
	if (dp_interrupted) {
		fprintf(stderr, "sealnet deploy: interrupted%s\n",
			created ? ": removing what this run created" :
				  "; the running cluster is left as it was");
		emit_json(r, json_pack("{s:s, s:b}", "event", "interrupted",
				       "removed", created));
		if (created)
			goto out;
		return 1;
	}
	report_failures(r);
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

	find_sealnetd(sealnetd, sizeof(sealnetd));
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
	if (emit) {
		/* on the machines: the installed daemon (meson's default
		 * prefix), not this build's */
		rc = do_emit(r.wf, emit, prefix,
			     sealnetd_set ? sealnetd :
					    "/usr/local/bin/sealnetd");
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
	snprintf(r.c.state, sizeof(r.c.state), "%s", rs);
	hex(r.wf->digest, SN_WF_DIGEST_LEN, r.c.digest_hex);
	r.tty = isatty(1);
	{
		struct sigaction sa = {.sa_handler = on_signal};

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	rc = run_local(&r, (double)timeout, conc, sealnetd, measure);
out:
	free(defsig);
	free(r.e);
	free(r.pair);
	free(r.order);
	free(r.open_edges);
	view_free(&r.v);
	free(r.c.nodes);
	free(r.c.cgroups);
	sn_workflow_free(r.wf);
	return rc;
}
