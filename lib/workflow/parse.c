// SPDX-License-Identifier: Apache-2.0
/* The manifest's schema: JSON -> struct sn_workflow, every error with its
 * JSON path (docs/workflow.md, "Format"). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sealnet/util.h"
#include "schema.h"

/* name -> index, SIZE_MAX and an error when unknown */
static size_t resolve(struct wf_ctx *c, json_t *o, const char *path,
		      const char *k, const char *kind, size_t n,
		      const char *(*name_of)(const struct sn_workflow *,
					     size_t))
{
	char s[SN_WF_NAME_MAX], sub[PATH_MAX_LEN];

	if (wf_get_str(c, o, path, k, true, true, s, sizeof(s)))
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name_of(c->wf, i), s))
			return i;
	wf_err(c->d, wf_sub(sub, "%s.%s", path, k),
	       "no %s named '%s': add it to %ss or fix the name", kind, s,
	       kind);
	return SIZE_MAX;
}

static const char *domain_name(const struct sn_workflow *wf, size_t i)
{
	return wf->domains[i].id;
}

static const char *stage_name(const struct sn_workflow *wf, size_t i)
{
	return wf->stages[i].name;
}

static void parse_domain(struct wf_ctx *c, json_t *o, const char *path,
			 struct sn_wf_domain *dm)
{
	static const char *const allowed[] = {"id", "keys", "kbs", NULL};
	static const char *const kallowed[] = {"id", "ed25519", NULL};
	static const char *const ballowed[] = {"url", "trust_anchor_sha256",
					       NULL};
	char sub[PATH_MAX_LEN];
	json_t *keys = NULL, *k, *kbs;
	size_t i;

	if (!wf_is_object(c, o, path, "a domain"))
		return;
	wf_only(c, o, path, allowed, "a domain");
	wf_get_str(c, o, path, "id", true, true, dm->id, sizeof(dm->id));
	if (!wf_get_array(c, o, path, "keys", true, MAX_KEYS, &keys)) {
		dm->keys = calloc(json_array_size(keys), sizeof(*dm->keys));
		if (!dm->keys) {
			c->oom = true;
			return;
		}
		dm->n_keys = json_array_size(keys);
		json_array_foreach(keys, i, k)
		{
			struct sn_wf_key *key = &dm->keys[i];

			wf_sub(sub, "%s.keys[%zu]", path, i);
			if (!wf_is_object(
				    c, k, sub,
				    "a signing key: {\"id\", \"ed25519\"}"))
				continue;
			wf_only(c, k, sub, kallowed, "a key");
			wf_get_str(c, k, sub, "id", true, true, key->id,
				   sizeof(key->id));
			if (!wf_get_hex(c, k, sub, "ed25519", true, key->pub,
					SN_WF_PUB_LEN,
					"a raw Ed25519 public key; `sealnet "
					"workflow "
					"keygen` prints it"))
				EVP_Q_digest(NULL, "SHA256", NULL, key->pub,
					     SN_WF_PUB_LEN, key->fpr, NULL);
		}
	}
	kbs = json_object_get(o, "kbs");
	if (kbs) {
		wf_sub(sub, "%s.kbs", path);
		if (!wf_is_object(c, kbs, sub, "the domain's key broker"))
			return;
		wf_only(c, kbs, sub, ballowed, "kbs");
		dm->has_kbs = true;
		if (!wf_get_str(c, kbs, sub, "url", true, false, dm->kbs_url,
				sizeof(dm->kbs_url)) &&
		    strncmp(dm->kbs_url, "https://", 8)) {
			char s2[PATH_MAX_LEN];

			wf_err(c->d, wf_sub(s2, "%s.url", sub),
			       "must start with https:// (the broker is "
			       "reached over TLS)");
		}
		wf_get_hex(c, kbs, sub, "trust_anchor_sha256", true,
			   dm->kbs_anchor_sha256, 32,
			   "SHA-256 of the broker's trust anchor certificate "
			   "(DER)");
	}
}

static void parse_node(struct wf_ctx *c, json_t *o, const char *path,
		       struct sn_wf_node *n)
{
	static const char *const allowed[] = {"name", "domain", "id", "address",
					      "tee",  "engine", NULL};
	char addr[64], engine[16] = "tc", sub[PATH_MAX_LEN];
	struct in_addr a;
	uint64_t v;

	n->domain = SIZE_MAX;
	if (!wf_is_object(c, o, path, "a node"))
		return;
	wf_only(c, o, path, allowed, "a node");
	wf_get_str(c, o, path, "name", true, true, n->name, sizeof(n->name));
	n->domain = resolve(c, o, path, "domain", "domain", c->wf->n_domains,
			    domain_name);
	if (!wf_get_uint(c, o, path, "id", true, 1, MAX_NODES, &v))
		n->id = (uint32_t)v;
	if (!wf_get_str(c, o, path, "address", true, false, addr,
			sizeof(addr))) {
		if (inet_pton(AF_INET, addr, &a) != 1)
			wf_err(c->d, wf_sub(sub, "%s.address", path),
			       "'%s' is not an IPv4 address (dotted quad, "
			       "e.g. 198.18.0.1)",
			       addr);
		else
			n->addr = a.s_addr;
	}
	wf_get_tee(c, o, path, &n->tee);
	n->engine = SN_WF_ENGINE_TC;
	if (!wf_get_str(c, o, path, "engine", false, false, engine,
			sizeof(engine))) {
		if (!strcmp(engine, "simd"))
			n->engine = SN_WF_ENGINE_SIMD;
		else if (strcmp(engine, "tc"))
			wf_err(c->d, wf_sub(sub, "%s.engine", path),
			       "'%s' is not a data-plane engine: \"tc\" (the "
			       "eBPF TC data plane, the default) or \"simd\" "
			       "(the user-space SIMD engine behind BPF policy "
			       "on a TUN device)",
			       engine);
	}
}

static void parse_stage(struct wf_ctx *c, json_t *o, const char *path,
			struct sn_wf_stage *s)
{
	static const char *const allowed[] = {"name",	  "domain",    "nodes",
					      "identity", "reference", NULL};
	static const char *const iallowed[] = {"cgroup", "local_ports", NULL};
	char sub[PATH_MAX_LEN];
	json_t *nodes = NULL, *id, *lp = NULL, *v, *ref;
	size_t i;

	s->domain = SIZE_MAX;
	if (!wf_is_object(c, o, path, "a stage"))
		return;
	wf_only(c, o, path, allowed, "a stage");
	wf_get_str(c, o, path, "name", true, true, s->name, sizeof(s->name));
	s->domain = resolve(c, o, path, "domain", "domain", c->wf->n_domains,
			    domain_name);
	if (wf_get_array(c, o, path, "nodes", false, MAX_NODES, &nodes) ||
	    !json_array_size(nodes)) {
		wf_err(c->d, wf_sub(sub, "%s.nodes", path),
		       "the stage runs on no node: list the nodes that run "
		       "it (names from nodes)");
	} else {
		s->nodes = calloc(json_array_size(nodes), sizeof(*s->nodes));
		if (!s->nodes) {
			c->oom = true;
			return;
		}
		s->n_nodes = json_array_size(nodes);
		json_array_foreach(nodes, i, v)
		{
			wf_sub(sub, "%s.nodes[%zu]", path, i);
			s->nodes[i] = SIZE_MAX;
			{
				char s2[SN_WF_NAME_MAX];
				const char *nm = json_string_value(v);

				if (!nm || !wf_is_name(nm)) {
					wf_err(c->d, sub,
					       "must be a node name");
				} else {
					snprintf(s2, sizeof(s2), "%s", nm);
					for (size_t j = 0; j < c->wf->n_nodes;
					     j++)
						if (!strcmp(c->wf->nodes[j]
								    .name,
							    s2))
							s->nodes[i] = j;
					if (s->nodes[i] == SIZE_MAX)
						wf_err(c->d, sub,
						       "no node named '%s': "
						       "add it "
						       "to nodes or fix the "
						       "name",
						       s2);
				}
			}
		}
	}
	id = json_object_get(o, "identity");
	wf_sub(sub, "%s.identity", path);
	if (!id) {
		wf_err(c->d, sub,
		       "missing: say how the stage's processes are recognised "
		       "on its nodes: {\"cgroup\": \"/sys/fs/cgroup/...\"} or "
		       "{\"local_ports\": [...]}");
	} else if (wf_is_object(c, id, sub,
				"{\"cgroup\"} or {\"local_ports\"}")) {
		wf_only(c, id, sub, iallowed, "identity");
		if (json_object_get(id, "cgroup") &&
		    json_object_get(id, "local_ports")) {
			wf_err(c->d, sub,
			       "give one of cgroup and local_ports, "
			       "not both");
		} else if (json_object_get(id, "cgroup")) {
			if (!wf_get_str(c, id, sub, "cgroup", true, false,
					s->cgroup, sizeof(s->cgroup)) &&
			    s->cgroup[0] != '/')
				wf_err(c->d,
				       wf_sub(sub, "%s.identity.cgroup", path),
				       "must be an absolute path to a cgroup "
				       "v2 "
				       "directory (/sys/fs/cgroup/...)");
		} else if (!wf_get_array(c, id, sub, "local_ports", true,
					 SN_WF_MAX_LOCAL_PORTS, &lp)) {
			s->n_local_ports = json_array_size(lp);
			json_array_foreach(lp, i, v)
			{
				json_int_t n = json_integer_value(v);

				if (!json_is_integer(v) || n < 1 || n > 65535)
					wf_err(c->d,
					       wf_sub(sub,
						      "%s.identity.local_ports["
						      "%"
						      "zu]",
						      path, i),
					       "must be a port, 1..65535");
				else
					s->local_ports[i] = (uint16_t)n;
			}
		}
	}
	ref = json_object_get(o, "reference");
	wf_sub(sub, "%s.reference", path);
	if (!ref)
		wf_err(c->d, sub,
		       "missing: the reference values the stage's TEE must "
		       "show (tee, measurements, TCB floor...)");
	else
		wf_parse_reference(c, ref, sub, &s->ref);
}

static void parse_flow(struct wf_ctx *c, json_t *o, const char *path,
		       struct sn_wf_flow *f)
{
	static const char *const allowed[] = {
		"from",	      "to",	"protocol",  "port",
		"port_range", "limits", "appraisal", NULL};
	static const char *const lallowed[] = {"rate_kbps", "max_bytes", NULL};
	char proto[8], mode[16], sub[PATH_MAX_LEN];
	json_t *pr, *lim;
	uint64_t v;

	f->from = f->to = SIZE_MAX;
	if (!wf_is_object(c, o, path, "a flow"))
		return;
	wf_only(c, o, path, allowed, "a flow");
	f->from = resolve(c, o, path, "from", "stage", c->wf->n_stages,
			  stage_name);
	f->to = resolve(c, o, path, "to", "stage", c->wf->n_stages, stage_name);
	if (json_object_get(o, "appraisal") &&
	    !wf_get_str(c, o, path, "appraisal", true, false, mode,
			sizeof(mode))) {
		f->has_appraisal = true;
		if (!strcmp(mode, "token"))
			f->appraisal = SN_WF_APPRAISAL_TOKEN;
		else if (strcmp(mode, "evidence"))
			wf_err(c->d, wf_sub(sub, "%s.appraisal", path),
			       "'%s': must be \"token\" (the peer domain's "
			       "attestation token, checked with its trust "
			       "bundle) or \"evidence\" (its raw evidence, "
			       "appraised here)",
			       mode);
	}
	if (wf_get_str(c, o, path, "protocol", true, false, proto,
		       sizeof(proto)))
		return;
	if (!strcmp(proto, "tcp"))
		f->proto = SN_WF_TCP;
	else if (!strcmp(proto, "udp"))
		f->proto = SN_WF_UDP;
	else if (!strcmp(proto, "icmp"))
		f->proto = SN_WF_ICMP;
	else
		wf_err(c->d, wf_sub(sub, "%s.protocol", path),
		       "'%s': must be \"tcp\", \"udp\" or \"icmp\"", proto);
	pr = json_object_get(o, "port_range");
	wf_sub(sub, "%s.port", path);
	if (f->proto == SN_WF_ICMP) {
		if (pr || json_object_get(o, "port"))
			wf_err(c->d, path,
			       "an icmp flow has no port: remove "
			       "port/port_range");
	} else if (pr && json_object_get(o, "port")) {
		wf_err(c->d, path, "give port or port_range, not both");
	} else if (pr) {
		json_int_t a = json_integer_value(json_array_get(pr, 0));
		json_int_t b = json_integer_value(json_array_get(pr, 1));

		wf_sub(sub, "%s.port_range", path);
		if (!json_is_array(pr) || json_array_size(pr) != 2 ||
		    !json_is_integer(json_array_get(pr, 0)) ||
		    !json_is_integer(json_array_get(pr, 1)) || a < 1 ||
		    b > 65535 || a > b)
			wf_err(c->d, sub,
			       "must be [first, last] with 1 <= "
			       "first <= last <= 65535");
		else if (b - a + 1 > SN_WF_MAX_PORTS_PER_FLOW)
			wf_err(c->d, sub,
			       "covers %lld ports; at most %d per flow (each "
			       "port is one sealnetd rule): split the flow or "
			       "narrow the range",
			       (long long)(b - a + 1),
			       SN_WF_MAX_PORTS_PER_FLOW);
		else {
			f->port_first = (uint16_t)a;
			f->port_last = (uint16_t)b;
		}
	} else if (!json_object_get(o, "port")) {
		wf_err(c->d, sub,
		       "missing: a tcp/udp flow names its "
		       "destination port (port) or ports "
		       "(port_range: [first, last])");
	} else if (!wf_get_uint(c, o, path, "port", true, 1, 65535, &v)) {
		f->port_first = f->port_last = (uint16_t)v;
	}
	lim = json_object_get(o, "limits");
	if (lim) {
		wf_sub(sub, "%s.limits", path);
		if (!wf_is_object(c, lim, sub, "{rate_kbps, max_bytes}"))
			return;
		wf_only(c, lim, sub, lallowed, "limits");
		wf_get_uint(c, lim, sub, "rate_kbps", false, 1, UINT32_MAX,
			    &f->rate_kbps);
		wf_get_uint(c, lim, sub, "max_bytes", false, 1, INT64_MAX,
			    &f->max_bytes);
	}
}

/* allocate n elements of size for the list o.k (required) */
static size_t list(struct wf_ctx *c, json_t *o, const char *k, size_t max,
		   size_t size, void **out, json_t **arr)
{
	*arr = NULL;
	if (wf_get_array(c, o, "$", k, true, max, arr))
		return 0;
	*out = calloc(json_array_size(*arr), size);
	if (!*out) {
		c->oom = true;
		*arr = NULL;
		return 0;
	}
	return json_array_size(*arr);
}

int wf_parse_tree(json_t *root, struct sn_workflow *wf, struct sn_wf_diag *d)
{
	static const char *const allowed[] = {
		"sealnet_workflow", "name",    "version",
		"lifetimes",	    "domains", "nodes",
		"stages",	    "flows",   NULL,
	};
	static const char *const lallowed[] = {"rekey_interval_s",
					       "session_lifetime_s", NULL};
	struct wf_ctx c = {.d = d, .wf = wf};
	char path[PATH_MAX_LEN];
	json_t *arr, *v, *lt;
	uint64_t x;
	size_t i;

	if (!wf_get_uint(&c, root, "$", "sealnet_workflow", true, 0, INT64_MAX,
			 &x) &&
	    x != SN_WF_FORMAT)
		/* fail closed: a version-1 reader cannot enforce what a later
		 * format says */
		return wf_err(
			d, "$.sealnet_workflow",
			"this manifest is format %llu; this sealnet reads "
			"format %d only: upgrade sealnet",
			(unsigned long long)x, SN_WF_FORMAT);
	wf_only(&c, root, "$", allowed, "the manifest");
	wf_get_str(&c, root, "$", "name", true, true, wf->name,
		   sizeof(wf->name));
	if (!wf_get_uint(&c, root, "$", "version", true, 1, INT64_MAX, &x))
		wf->version = x;
	wf->rekey_interval_s = 120;
	wf->session_lifetime_s = 300;
	lt = json_object_get(root, "lifetimes");
	if (lt && wf_is_object(&c, lt, "$.lifetimes",
			       "{rekey_interval_s, session_lifetime_s}")) {
		wf_only(&c, lt, "$.lifetimes", lallowed, "lifetimes");
		if (!wf_get_uint(&c, lt, "$.lifetimes", "rekey_interval_s",
				 false, 1, 86400, &x))
			wf->rekey_interval_s = (uint32_t)x;
		if (!wf_get_uint(&c, lt, "$.lifetimes", "session_lifetime_s",
				 false, 2, 7 * 86400, &x))
			wf->session_lifetime_s = (uint32_t)x;
		if (wf->session_lifetime_s <= wf->rekey_interval_s)
			wf_err(d, "$.lifetimes.session_lifetime_s",
			       "must be greater than rekey_interval_s (%u): a "
			       "session must outlive one rekey",
			       wf->rekey_interval_s);
	}
	/* in dependency order, so names resolve */
	wf->n_domains = list(&c, root, "domains", MAX_DOMAINS,
			     sizeof(*wf->domains), (void **)&wf->domains, &arr);
	json_array_foreach(arr, i, v)
	{
		wf_sub(path, "$.domains[%zu]", i);
		parse_domain(&c, v, path, &wf->domains[i]);
	}
	wf->n_nodes = list(&c, root, "nodes", MAX_NODES, sizeof(*wf->nodes),
			   (void **)&wf->nodes, &arr);
	json_array_foreach(arr, i, v)
	{
		wf_sub(path, "$.nodes[%zu]", i);
		parse_node(&c, v, path, &wf->nodes[i]);
	}
	wf->n_stages = list(&c, root, "stages", MAX_STAGES, sizeof(*wf->stages),
			    (void **)&wf->stages, &arr);
	json_array_foreach(arr, i, v)
	{
		wf_sub(path, "$.stages[%zu]", i);
		parse_stage(&c, v, path, &wf->stages[i]);
	}
	wf->n_flows = list(&c, root, "flows", MAX_FLOWS, sizeof(*wf->flows),
			   (void **)&wf->flows, &arr);
	json_array_foreach(arr, i, v)
	{
		wf_sub(path, "$.flows[%zu]", i);
		parse_flow(&c, v, path, &wf->flows[i]);
	}
	if (c.oom)
		return -ENOMEM;
	return d->n_total ? -EINVAL : 0;
}
