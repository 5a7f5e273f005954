// SPDX-License-Identifier: Apache-2.0
/* sealnet deploy: progress (status polls, display, JSON events) and the
 * proof of every edge by probes and counters (docs/deploy.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealnet/control.h"
#include "deploy_run.h"

const char *dp_proto_name(enum sn_wf_proto p)
{
	return p == SN_WF_TCP ? "tcp" : p == SN_WF_UDP ? "udp" : "icmp";
}

void dp_emit_json(struct run *r, json_t *ev)
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

void dp_view_free(struct view *v)
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

int dp_view_alloc(struct view *v, size_t n)
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
int dp_poll_node(struct run *r, size_t i, bool *dataplane)
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

void dp_last_log_line(const struct dp_node *nd, char *out, size_t cap)
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

void dp_show(struct run *r, bool final)
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

void dp_node_event(struct run *r, size_t i, const char *phase, const char *why)
{
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "node", "node",
			       r->c.nodes[i].name, "phase", phase);

	if (why && ev)
		json_object_set_new(ev, "reason", json_string(why));
	dp_emit_json(r, ev);
}

json_t *dp_edge_json(const struct run *r, const struct edge *e)
{
	const struct sn_wf_flow *f = &r->wf->flows[e->flow];

	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i}", "flow",
			 (json_int_t)e->flow, "from_stage",
			 r->wf->stages[f->from].name, "to_stage",
			 r->wf->stages[f->to].name, "from",
			 r->wf->nodes[e->a].name, "to", r->wf->nodes[e->b].name,
			 "protocol", dp_proto_name(f->proto), "port",
			 (int)f->port_first);
}

/* one round of probes; returns the number of edges proven so far */
size_t dp_probe_round(struct run *r)
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
				json_t *ev = dp_edge_json(r, e);

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
				dp_emit_json(r, ev);
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

int dp_build_edges(struct run *r)
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

void dp_report_failures(struct run *r)
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
		char why[400];

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
				r->wf->stages[f->to].name,
				dp_proto_name(f->proto), f->port_first, why);
		json_t *j = dp_edge_json(r, e);

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
	dp_emit_json(r, ev);
}
