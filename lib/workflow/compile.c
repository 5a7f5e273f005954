// SPDX-License-Identifier: Apache-2.0
/* One node's sealnetd policy from the manifest (docs/workflow.md,
 * "Compiling a node's policy"), and the Graphviz view. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/util.h"
#include "internal.h"

#define NODE_POLICY_PREFIX "sealnet-workflow-node-policy-v1"

static bool runs(const struct sn_wf_stage *s, size_t node)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i] == node)
			return true;
	return false;
}

/* append r (owned) unless an equal rule is there already: seen is the set
 * of the rules' canonical texts */
static int add_rule(json_t *rules, json_t *seen, json_t *r)
{
	char *key;
	int err = 0;

	if (!r)
		return -ENOMEM;
	key = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	if (!key)
		err = -ENOMEM;
	else if (json_object_get(seen, key))
		; /* a duplicate */
	else if (json_array_size(rules) >= SN_WF_MAX_RULES_PER_NODE)
		err = -E2BIG;
	else if (json_object_set_new(seen, key, json_true()) ||
		 json_array_append(rules, r))
		err = -ENOMEM;
	free(key);
	json_decref(r);
	return err;
}

/* the rules of flow f for node n with peer m */
static int flow_rules(const struct sn_workflow *wf, const struct sn_wf_flow *f,
		      bool egress, const char *peer, json_t *rules,
		      json_t *seen)
{
	const struct sn_wf_stage *from = &wf->stages[f->from];
	const char *proto = wf_proto_name(f->proto);
	unsigned first = f->port_first, last = f->port_last;
	int err = 0;

	for (unsigned p = first; p <= last && !err; p++) {
		json_t *r = json_pack("{ssssss}", "peer", peer, "direction",
				      egress ? "egress" : "ingress", "protocol",
				      proto);

		if (r && p)
			json_object_set_new(r, "port", json_integer(p));
		if (!egress) {
			err = add_rule(rules, seen, r);
		} else if (from->cgroup[0]) {
			if (r)
				json_object_set_new(r, "cgroup",
						    json_string(from->cgroup));
			err = add_rule(rules, seen, r);
		} else {
			for (size_t k = 0; k < from->n_local_ports && !err;
			     k++) {
				json_t *c = json_deep_copy(r);

				if (c)
					json_object_set_new(
						c, "local_port",
						json_integer(
							from->local_ports[k]));
				err = add_rule(rules, seen, c);
			}
			json_decref(r);
		}
	}
	return err;
}

static int merge_local(json_t *cfg, const char *local_json,
		       struct sn_wf_diag *d)
{
	static const char *const fixed[] = {"node",  "id",	  "peers",
					    "rules", "dataplane", NULL};
	static const char *const make_fixed[] = {"tee", "rekey_interval_s",
						 "session_lifetime_s", NULL};
	json_error_t je;
	json_t *loc = json_loads(local_json, JSON_REJECT_DUPLICATES, &je);
	json_t *v, *make = json_object_get(cfg, "make");
	const char *k;
	char p[128];
	int err = 0;

	if (!loc || !json_is_object(loc)) {
		json_decref(loc);
		return wf_err(d, "local",
			      "node-local members: not a JSON "
			      "object (line %d: %s)",
			      je.line, loc ? "not an object" : je.text);
	}
	json_object_foreach(loc, k, v)
	{
		for (const char *const *f = fixed; *f; f++)
			if (!strcmp(*f, k)) {
				snprintf(p, sizeof(p), "local.%s", k);
				err = wf_err(d, p,
					     "decided by the manifest: "
					     "remove it from the local "
					     "members");
			}
		if (strcmp(k, "make")) {
			if (!err)
				json_object_set(cfg, k, v);
			continue;
		}
		if (!json_is_object(v)) {
			err = wf_err(d, "local.make", "must be an object");
			continue;
		}
		{
			const char *mk;
			json_t *mv;

			json_object_foreach(v, mk, mv)
			{
				bool bad = false;

				for (const char *const *f = make_fixed; *f; f++)
					bad |= !strcmp(*f, mk);
				snprintf(p, sizeof(p), "local.make.%s", mk);
				if (bad)
					err = wf_err(d, p,
						     "decided by the manifest: "
						     "remove it from the local "
						     "members");
				else if (!err)
					json_object_set(make, mk, mv);
			}
		}
	}
	json_decref(loc);
	return err;
}

/* every rule of node n, and which nodes are its peers */
static int node_rules(const struct sn_workflow *wf, size_t n, bool *is_peer,
		      json_t *rules, json_t *seen)
{
	int err;

	for (size_t i = 0; i < wf->n_flows; i++) {
		const struct sn_wf_flow *f = &wf->flows[i];
		bool out_of = runs(&wf->stages[f->from], n);
		bool into = runs(&wf->stages[f->to], n);

		for (size_t m = 0; m < wf->n_nodes; m++) {
			if (m == n)
				continue; /* stays on the node */
			if (out_of && runs(&wf->stages[f->to], m)) {
				is_peer[m] = true;
				if ((err = flow_rules(wf, f, true,
						      wf->nodes[m].name, rules,
						      seen)))
					return err;
			}
			if (into && runs(&wf->stages[f->from], m)) {
				is_peer[m] = true;
				if ((err = flow_rules(wf, f, false,
						      wf->nodes[m].name, rules,
						      seen)))
					return err;
			}
		}
	}
	return 0;
}

void sn_wf_compiled_free(struct sn_wf_compiled *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_policies; i++)
		free(c->policies[i].policy_json);
	free(c->policies);
	free(c->config_json);
	free(c);
}

int sn_workflow_compile_node(const struct sn_workflow *wf, const char *node,
			     const char *local_json,
			     struct sn_wf_compiled **out,
			     struct sn_wf_diag *diag)
{
	struct sn_wf_diag scratch, *d = diag ? diag : &scratch;
	json_t *cfg = NULL, *peers = NULL, *rules = NULL, *seen = NULL,
	       *pols = NULL, *whole = NULL, *modes = NULL;
	bool *is_peer = NULL;
	struct sn_wf_compiled *c = NULL;
	char *canon = NULL, *txt = NULL;
	size_t clen, n;
	int ni, err = -ENOMEM;

	memset(d, 0, sizeof(*d));
	ni = sn_workflow_find_node(wf, node);
	if (ni < 0)
		return wf_err(d, "$.nodes",
			      "no node named '%s' in the manifest", node);
	n = (size_t)ni;
	is_peer = calloc(wf->n_nodes + 1, sizeof(*is_peer));
	peers = json_array();
	rules = json_array();
	seen = json_object();
	pols = json_object();
	modes = json_object();
	c = calloc(1, sizeof(*c));
	if (!is_peer || !peers || !rules || !seen || !pols || !modes || !c)
		goto out;
	err = node_rules(wf, n, is_peer, rules, seen);
	if (err == -E2BIG)
		wf_err(d, "$.flows",
		       "node '%s' would get more than %d rules (the data "
		       "plane's policy map): narrow port ranges, use fewer "
		       "local ports or a cgroup identity",
		       node, SN_WF_MAX_RULES_PER_NODE);
	if (err)
		goto out;
	err = -ENOMEM;
	c->policies = calloc(wf->n_nodes + 1, sizeof(*c->policies));
	if (!c->policies)
		goto out;
	for (size_t m = 0; m < wf->n_nodes; m++) {
		struct in_addr a = {wf->nodes[m].addr};
		char addr[INET_ADDRSTRLEN];
		json_t *pol = NULL, *pe;

		if (!is_peer[m])
			continue;
		inet_ntop(AF_INET, &a, addr, sizeof(addr));
		pe = json_pack("{sssiss}", "name", wf->nodes[m].name, "id",
			       (int)wf->nodes[m].id, "address", addr);
		/* a SIMD peer may be sent UDP GSO super-datagrams */
		if (pe && wf->nodes[m].engine == SN_WF_ENGINE_SIMD &&
		    json_object_set_new(pe, "engine", json_string("simd"))) {
			json_decref(pe);
			goto out;
		}
		if (json_array_append_new(peers, pe))
			goto out;
		/* every stage on m has the same reference (lint) */
		for (size_t s = 0; s < wf->n_stages && !pol; s++)
			if (runs(&wf->stages[s], m))
				pol = wf_reference_policy(&wf->stages[s].ref);
		if (!pol)
			goto out;
		json_object_set_new(
			pol, "comment",
			json_sprintf("workflow %s v%llu", wf->name,
				     (unsigned long long)wf->version));
		snprintf(c->policies[c->n_policies].peer, SN_WF_NAME_MAX, "%s",
			 wf->nodes[m].name);
		/* a peer of another domain: how it is appraised */
		c->policies[c->n_policies].cross_domain =
			wf->nodes[m].domain != wf->nodes[n].domain;
		if (c->policies[c->n_policies].cross_domain) {
			int mode = sn_workflow_pair_appraisal(wf, n, m);

			c->policies[c->n_policies].appraisal =
				mode == SN_WF_APPRAISAL_TOKEN ?
					SN_WF_APPRAISAL_TOKEN :
					SN_WF_APPRAISAL_EVIDENCE;
			if (json_object_set_new(
				    modes, wf->nodes[m].name,
				    json_string(sn_wf_appraisal_name(
					    c->policies[c->n_policies]
						    .appraisal))))
				goto out;
		}
		c->policies[c->n_policies].policy_json =
			json_dumps(pol, JSON_COMPACT | JSON_SORT_KEYS);
		if (!c->policies[c->n_policies].policy_json ||
		    json_object_set_new(pols, wf->nodes[m].name, pol)) {
			json_decref(pol);
			goto out;
		}
		c->n_policies++;
	}
	cfg = json_pack("{sssisOsOs{sssisi}}", "node", wf->nodes[n].name, "id",
			(int)wf->nodes[n].id, "peers", peers, "rules", rules,
			"make", "tee", wf_tee_name(wf->nodes[n].tee),
			"rekey_interval_s", (int)wf->rekey_interval_s,
			"session_lifetime_s", (int)wf->session_lifetime_s);
	if (cfg && wf->nodes[n].engine == SN_WF_ENGINE_SIMD &&
	    json_object_set_new(cfg, "dataplane",
				json_pack("{ss}", "engine", "simd")))
		goto out;
	whole = json_pack("{sOsO}", "config", cfg, "appraisal_policies", pols);
	if (!cfg || !whole)
		goto out;
	/* peers of other domains: their appraisal mode is part of the
	 * policy (absent without such peers: single-domain digests stay) */
	if (json_object_size(modes) &&
	    json_object_set(whole, "peer_appraisal", modes))
		goto out;
	if ((err = wf_json_canonical(whole, &canon, &clen)) ||
	    (err = wf_sha384_prefixed(NODE_POLICY_PREFIX, canon, clen,
				      c->policy_digest)))
		goto out;
	if (local_json && (err = merge_local(cfg, local_json, d)))
		goto out;
	err = -ENOMEM;
	txt = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!txt)
		goto out;
	c->config_json = malloc(strlen(txt) + 2);
	if (!c->config_json)
		goto out;
	strcpy(c->config_json, txt);
	strcat(c->config_json, "\n");
	*out = c;
	c = NULL;
	err = 0;
out:
	free(txt);
	free(canon);
	free(is_peer);
	json_decref(whole);
	json_decref(cfg);
	json_decref(peers);
	json_decref(rules);
	json_decref(seen);
	json_decref(pols);
	json_decref(modes);
	sn_wf_compiled_free(c);
	return err;
}

int sn_workflow_graph_dot(const struct sn_workflow *wf, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f,
		"digraph \"%s\" {\n\tlabel=\"workflow %s v%llu\";\n"
		"\trankdir=LR;\n\tnode [shape=box];\n",
		wf->name, wf->name, (unsigned long long)wf->version);
	for (size_t i = 0; i < wf->n_domains; i++) {
		fprintf(f,
			"\tsubgraph \"cluster_%s\" {\n\t\tlabel=\"domain "
			"%s\";\n",
			wf->domains[i].id, wf->domains[i].id);
		for (size_t s = 0; s < wf->n_stages; s++) {
			const struct sn_wf_stage *st = &wf->stages[s];

			if (st->domain != i)
				continue;
			fprintf(f, "\t\t\"%s\" [label=\"%s\\n%s:", st->name,
				st->name, wf_tee_name(st->ref.tee));
			for (size_t k = 0; k < st->n_nodes; k++)
				fprintf(f, "%s%s", k ? "," : " ",
					wf->nodes[st->nodes[k]].name);
			fprintf(f, "\"];\n");
		}
		fprintf(f, "\t}\n");
	}
	for (size_t i = 0; i < wf->n_flows; i++) {
		const struct sn_wf_flow *fl = &wf->flows[i];

		fprintf(f, "\t\"%s\" -> \"%s\" [label=\"%s",
			wf->stages[fl->from].name, wf->stages[fl->to].name,
			wf_proto_name(fl->proto));
		if (fl->port_first == fl->port_last && fl->port_first)
			fprintf(f, "/%u", fl->port_first);
		else if (fl->port_first)
			fprintf(f, "/%u-%u", fl->port_first, fl->port_last);
		fprintf(f, "\"];\n");
	}
	fprintf(f, "}\n");
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
