// SPDX-License-Identifier: Apache-2.0
/* The manifest's cross checks (`sealnet workflow lint`): names unique,
 * one domain per node, identities and ports unambiguous, every stage in a
 * flow, reference values consistent with the nodes' TEEs. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define P(buf, ...) snprintf(buf, sizeof(buf), __VA_ARGS__)

static void unique_names(const struct sn_workflow *wf, struct sn_wf_diag *d)
{
	char p[128];

	for (size_t i = 0; i < wf->n_domains; i++) {
		const struct sn_wf_domain *a = &wf->domains[i];

		for (size_t j = 0; j < i; j++)
			if (a->id[0] && !strcmp(a->id, wf->domains[j].id)) {
				P(p, "$.domains[%zu].id", i);
				wf_err(d, p,
				       "duplicate domain '%s' (also "
				       "$.domains[%zu]): merge them or "
				       "rename one",
				       a->id, j);
			}
		for (size_t k = 0; k < a->n_keys; k++) {
			for (size_t l = 0; l < k; l++) {
				if (a->keys[k].id[0] &&
				    !strcmp(a->keys[k].id, a->keys[l].id)) {
					P(p, "$.domains[%zu].keys[%zu].id", i,
					  k);
					wf_err(d, p,
					       "duplicate key id '%s' in "
					       "domain '%s': rename one",
					       a->keys[k].id, a->id);
				}
				if (!memcmp(a->keys[k].pub, a->keys[l].pub,
					    SN_WF_PUB_LEN)) {
					P(p, "$.domains[%zu].keys[%zu].ed25519",
					  i, k);
					wf_err(d, p,
					       "the same public key as "
					       "keys[%zu]: list each key "
					       "once",
					       l);
				}
			}
			/* one key in two domains: one party could sign for
			 * both, and "every domain signed" would mean less */
			for (size_t j = 0; j < i; j++)
				for (size_t l = 0; l < wf->domains[j].n_keys;
				     l++)
					if (!memcmp(a->keys[k].pub,
						    wf->domains[j].keys[l].pub,
						    SN_WF_PUB_LEN)) {
						P(p,
						  "$.domains[%zu].keys[%zu]"
						  ".ed25519",
						  i, k);
						wf_err(d, p,
						       "this key is also "
						       "domain "
						       "'%s''s: each domain "
						       "signs "
						       "with its own keys",
						       wf->domains[j].id);
					}
		}
	}
	for (size_t i = 0; i < wf->n_nodes; i++) {
		const struct sn_wf_node *a = &wf->nodes[i];

		for (size_t j = 0; j < i; j++) {
			const struct sn_wf_node *b = &wf->nodes[j];

			if (a->name[0] && !strcmp(a->name, b->name)) {
				P(p, "$.nodes[%zu].name", i);
				wf_err(d, p,
				       "duplicate node '%s' (also "
				       "$.nodes[%zu]): a node is listed "
				       "once, in one domain",
				       a->name, j);
			}
			if (a->id && a->id == b->id) {
				P(p, "$.nodes[%zu].id", i);
				wf_err(d, p,
				       "node id %u is also node '%s''s: "
				       "ids are unique in the workflow",
				       a->id, b->name);
			}
			if (a->addr && a->addr == b->addr) {
				char s[INET_ADDRSTRLEN];

				inet_ntop(AF_INET, &a->addr, s, sizeof(s));
				P(p, "$.nodes[%zu].address", i);
				wf_err(d, p,
				       "address %s is also node '%s''s: "
				       "one address per node",
				       s, b->name);
			}
		}
	}
	for (size_t i = 0; i < wf->n_stages; i++)
		for (size_t j = 0; j < i; j++)
			if (wf->stages[i].name[0] &&
			    !strcmp(wf->stages[i].name, wf->stages[j].name)) {
				P(p, "$.stages[%zu].name", i);
				wf_err(d, p,
				       "duplicate stage '%s' (also "
				       "$.stages[%zu]): rename one",
				       wf->stages[i].name, j);
			}
}

static bool shares_node(const struct sn_wf_stage *a,
			const struct sn_wf_stage *b, size_t *node)
{
	for (size_t i = 0; i < a->n_nodes; i++)
		for (size_t j = 0; j < b->n_nodes; j++)
			if (a->nodes[i] != SIZE_MAX &&
			    a->nodes[i] == b->nodes[j]) {
				*node = a->nodes[i];
				return true;
			}
	return false;
}

static void stage_checks(const struct sn_workflow *wf, struct sn_wf_diag *d)
{
	char p[128];

	for (size_t i = 0; i < wf->n_stages; i++) {
		const struct sn_wf_stage *s = &wf->stages[i];
		bool in_flow = false;

		for (size_t k = 0; k < s->n_nodes; k++) {
			const struct sn_wf_node *n;

			if (s->nodes[k] == SIZE_MAX)
				continue;
			n = &wf->nodes[s->nodes[k]];
			for (size_t l = 0; l < k; l++)
				if (s->nodes[l] == s->nodes[k]) {
					P(p, "$.stages[%zu].nodes[%zu]", i, k);
					wf_err(d, p,
					       "node '%s' is listed twice: "
					       "list it once",
					       n->name);
				}
			P(p, "$.stages[%zu].nodes[%zu]", i, k);
			if (s->domain != SIZE_MAX && n->domain != SIZE_MAX &&
			    n->domain != s->domain)
				wf_err(d, p,
				       "node '%s' belongs to domain '%s' but "
				       "stage '%s' to domain '%s': a node is "
				       "in "
				       "one domain; run the stage on a node of "
				       "its domain",
				       n->name, wf->domains[n->domain].id,
				       s->name, wf->domains[s->domain].id);
			if (s->ref.tee && n->tee && s->ref.tee != n->tee)
				wf_err(d, p,
				       "node '%s' is a %s TEE but the stage's "
				       "reference is for %s: fix one of them",
				       n->name, wf_tee_name(n->tee),
				       wf_tee_name(s->ref.tee));
		}
		for (size_t j = 0; j < i; j++) {
			const struct sn_wf_stage *t = &wf->stages[j];
			size_t node;

			if (!shares_node(s, t, &node))
				continue;
			/* one machine, one launch measurement and TCB */
			if (!wf_reference_equal(&s->ref, &t->ref)) {
				P(p, "$.stages[%zu].reference", i);
				wf_err(d, p,
				       "stages '%s' and '%s' both run on node "
				       "'%s' (one TEE, one evidence) but list "
				       "different reference values: give them "
				       "the same reference",
				       s->name, t->name, wf->nodes[node].name);
			}
			if (s->cgroup[0] && !strcmp(s->cgroup, t->cgroup)) {
				P(p, "$.stages[%zu].identity.cgroup", i);
				wf_err(d, p,
				       "stage '%s' has the same cgroup on node "
				       "'%s': each stage needs its own cgroup",
				       t->name, wf->nodes[node].name);
			}
			for (size_t a = 0; a < s->n_local_ports; a++)
				for (size_t b = 0; b < t->n_local_ports; b++)
					if (s->local_ports[a] ==
					    t->local_ports[b]) {
						P(p,
						  "$.stages[%zu].identity"
						  ".local_ports[%zu]",
						  i, a);
						wf_err(d, p,
						       "port %u also "
						       "identifies "
						       "stage '%s' on node "
						       "'%s': "
						       "give each stage its "
						       "own "
						       "ports",
						       s->local_ports[a],
						       t->name,
						       wf->nodes[node].name);
					}
		}
		for (size_t f = 0; f < wf->n_flows && !in_flow; f++)
			in_flow =
				wf->flows[f].from == i || wf->flows[f].to == i;
		if (!in_flow && s->name[0] && wf->flows) {
			P(p, "$.stages[%zu]", i);
			wf_err(d, p,
			       "stage '%s' is in no flow (unreachable): add "
			       "the flows to and from it, or remove it",
			       s->name);
		}
	}
}

static void flow_checks(const struct sn_workflow *wf, struct sn_wf_diag *d)
{
	char p[128];

	for (size_t i = 0; i < wf->n_flows; i++) {
		const struct sn_wf_flow *a = &wf->flows[i];

		if (a->from == SIZE_MAX || a->to == SIZE_MAX || !a->proto)
			continue;
		if (a->has_appraisal &&
		    wf->stages[a->from].domain != SIZE_MAX &&
		    wf->stages[a->from].domain == wf->stages[a->to].domain) {
			P(p, "$.flows[%zu].appraisal", i);
			wf_err(d, p,
			       "stages '%s' and '%s' are both of domain '%s': "
			       "appraisal chooses how domains appraise each "
			       "other; within one domain the nodes' "
			       "kbs.make_accept decides: remove it",
			       wf->stages[a->from].name, wf->stages[a->to].name,
			       wf->domains[wf->stages[a->from].domain].id);
		}
		for (size_t j = 0; j < i; j++) {
			const struct sn_wf_flow *b = &wf->flows[j];
			size_t node;

			if (b->from == SIZE_MAX || b->to == SIZE_MAX ||
			    a->proto != b->proto ||
			    a->port_last < b->port_first ||
			    b->port_last < a->port_first)
				continue;
			if (a->to != b->to && a->proto != SN_WF_ICMP &&
			    shares_node(&wf->stages[a->to], &wf->stages[b->to],
					&node)) {
				P(p, "$.flows[%zu]", i);
				wf_err(d, p,
				       "%s ports %u-%u on node '%s' would "
				       "reach "
				       "stage '%s' here and stage '%s' in "
				       "$.flows[%zu]: a port means one stage "
				       "per node; use distinct ports",
				       wf_proto_name(a->proto), a->port_first,
				       a->port_last, wf->nodes[node].name,
				       wf->stages[a->to].name,
				       wf->stages[b->to].name, j);
			} else if (a->to == b->to && a->from == b->from) {
				P(p, "$.flows[%zu]", i);
				wf_err(d, p,
				       "overlaps $.flows[%zu] (same stages, "
				       "protocol and ports): merge the two "
				       "flows",
				       j);
			}
		}
	}
}

/* a node that runs no stage has no role in the workflow */
static void idle_nodes(const struct sn_workflow *wf, struct sn_wf_diag *d)
{
	char p[128];

	if (!wf->stages)
		return;
	for (size_t n = 0; n < wf->n_nodes; n++) {
		bool used = false;

		for (size_t i = 0; i < wf->n_stages && !used; i++)
			for (size_t k = 0; k < wf->stages[i].n_nodes; k++)
				used |= wf->stages[i].nodes[k] == n;
		if (!used && wf->nodes[n].name[0]) {
			P(p, "$.nodes[%zu]", n);
			wf_err(d, p,
			       "node '%s' runs no stage: add it to a stage's "
			       "nodes or remove it",
			       wf->nodes[n].name);
		}
	}
}

void wf_check(const struct sn_workflow *wf, struct sn_wf_diag *d)
{
	idle_nodes(wf, d);
	unique_names(wf, d);
	stage_checks(wf, d);
	flow_checks(wf, d);
}
