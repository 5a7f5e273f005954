// SPDX-License-Identifier: Apache-2.0
/* sealnetd's JSON node configuration: strict parse, errors name the field. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "sealnet/config.h"
#include "sealnet/kbs.h"
#include "sealnet/control.h"
#include "sealnet/evidence.h"
#include "sealnet/util.h"

#define SN_CONFIG_MAX (1u << 20)

/*
 * jansson's memory while a configuration is parsed: every block it frees
 * (string values such as tx_key, the lexer's token buffers and their
 * copies when they grow, hashtable entries) is wiped first.  jansson's
 * free function gets no size, so each block carries it in a header; the
 * blocks come from the allocator that was set before (chained), and are
 * all freed before sn_config_parse returns.
 */
#define WIPE_HDR 16 /* keeps jansson's blocks max_align_t-aligned */
static json_malloc_t prev_malloc;
static json_free_t prev_free;

static void *wipe_malloc(size_t n)
{
	uint8_t *p;

	if (n > SIZE_MAX - WIPE_HDR)
		return NULL;
	p = prev_malloc(n + WIPE_HDR);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + WIPE_HDR;
}

static void wipe_free(void *q)
{
	uint8_t *p;
	size_t n;

	if (!q)
		return;
	p = (uint8_t *)q - WIPE_HDR;
	memcpy(&n, p, sizeof(n));
	OPENSSL_cleanse(q, n);
	prev_free(p);
}

struct perr {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3))) static int fail(struct perr *e,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* every member of o must be in allowed (NULL-terminated) */
static int only(struct perr *e, json_t *o, const char *where,
		const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, k))
				break;
		if (!*a)
			return fail(e, "%s%s%s: unknown member (allowed: see docs/sealnetd.md)",
				    where, *where ? "." : "", k);
	}
	return 0;
}

static int get_str(struct perr *e, json_t *o, const char *where,
		   const char *k, bool required, char *out, size_t cap)
{
	json_t *v = json_object_get(o, k);
	const char *s;

	if (!v) {
		if (required)
			return fail(e, "%s%s%s: missing (a string)", where,
				    *where ? "." : "", k);
		return 0;
	}
	s = json_string_value(v);
	if (!s || !*s || strlen(s) >= cap)
		return fail(e, "%s%s%s: must be a non-empty string of at most %zu characters",
			    where, *where ? "." : "", k, cap - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int get_uint(struct perr *e, json_t *o, const char *where,
		    const char *k, bool required, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	json_t *v = json_object_get(o, k);
	json_int_t n;

	if (!v) {
		if (required)
			return fail(e, "%s%s%s: missing (an integer)", where,
				    *where ? "." : "", k);
		return 0;
	}
	n = json_integer_value(v);
	if (!json_is_integer(v) || n < 0 || (uint64_t)n < min ||
	    (uint64_t)n > max)
		return fail(e, "%s%s%s: must be an integer in %llu..%llu", where,
			    *where ? "." : "", k, (unsigned long long)min,
			    (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

/* o.k as an array (absent and not required: none), with zeroed room for
 * its elements, size bytes each: 0 and *arr, *n, *items (to be freed), or
 * the error, named */
static int get_array(struct perr *e, json_t *o, const char *k, bool required,
		     size_t size, json_t **arr, size_t *n, void **items)
{
	json_t *v = json_object_get(o, k);
	size_t len = json_array_size(v);
	void *p;

	if (required && !json_is_array(v))
		return fail(e, "%s: missing or not an array", k);
	if (v && !json_is_array(v))
		return fail(e, "%s: must be an array", k);
	p = calloc(len ? len : 1, size);
	if (!p)
		return -ENOMEM;
	*arr = v;
	*n = len;
	*items = p;
	return 0;
}

static int get_mode(struct perr *e, json_t *o, const char *k, bool *drop)
{
	json_t *v = json_object_get(o, k);
	const char *s = json_string_value(v);

	if (!v)
		return 0;
	if (s && !strcmp(s, "pass"))
		*drop = false;
	else if (s && !strcmp(s, "drop"))
		*drop = true;
	else
		return fail(e, "unprotected.%s: must be \"pass\" or \"drop\"", k);
	return 0;
}

static int get_key(struct perr *e, json_t *o, const char *where, const char *k,
		   uint8_t out[SN_KEY_LEN])
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!s || strlen(s) != 2 * SN_KEY_LEN ||
	    sn_hex_decode(s, strlen(s), out, SN_KEY_LEN) != SN_KEY_LEN)
		return fail(e, "%s.%s: must be %u hex digits (a 256-bit key)",
			    where, k, 2 * SN_KEY_LEN);
	return 0;
}

static int parse_peer(struct perr *e, json_t *p, size_t i,
		      struct sn_peer_config *pc)
{
	static const char *const allowed[] = { "name", "id", "address",
					       "tx_key", "rx_key", "epoch",
					       "make_port", "make_address", "address6",
					       "engine", NULL };
	char where[32], addr[64];
	struct in_addr a;
	uint64_t v;
	int err;

	snprintf(where, sizeof(where), "peers[%zu]", i);
	if (!json_is_object(p))
		return fail(e, "%s: must be an object", where);
	if ((err = only(e, p, where, allowed)) ||
	    (err = get_str(e, p, where, "name", true, pc->name,
			   sizeof(pc->name))) ||
	    (err = get_uint(e, p, where, "id", true, 1, SN_MAX_NODES - 1, &v)))
		return err;
	pc->id = (uint32_t)v;
	if ((err = get_str(e, p, where, "address", true, addr, sizeof(addr))))
		return err;
	if (inet_pton(AF_INET, addr, &a) != 1 || a.s_addr == 0)
		return fail(e, "%s.address: '%s' is not an IPv4 address", where,
			    addr);
	pc->addr = a.s_addr;
	v = 0;
	if ((err = get_uint(e, p, where, "make_port", false, 1, 65535, &v)))
		return err;
	pc->make_port = (uint16_t)v;
	pc->make_addr = pc->addr;
	if (json_object_get(p, "address6")) {
		char a6[INET6_ADDRSTRLEN];

		if ((err = get_str(e, p, where, "address6", true, a6,
				   sizeof(a6))))
			return err;
		if (inet_pton(AF_INET6, a6, pc->addr6) != 1)
			return fail(e, "%s.address6: '%s' is not an IPv6 address",
				    where, a6);
		pc->has_addr6 = true;
	}
	if (json_object_get(p, "make_address")) {
		if ((err = get_str(e, p, where, "make_address", true, addr,
				   sizeof(addr))))
			return err;
		if (inet_pton(AF_INET, addr, &a) != 1 || a.s_addr == 0)
			return fail(e, "%s.make_address: '%s' is not an IPv4 address",
				    where, addr);
		pc->make_addr = a.s_addr;
	}
	if (json_object_get(p, "tx_key") || json_object_get(p, "rx_key")) {
		if ((err = get_key(e, p, where, "tx_key", pc->tx_key)) ||
		    (err = get_key(e, p, where, "rx_key", pc->rx_key)))
			return err;
		pc->has_static_keys = true;
		if (!sn_memeq_ct(pc->tx_key, pc->rx_key, SN_KEY_LEN))
			return fail(e, "%s: tx_key and rx_key are the same key: each "
				       "direction needs its own (generate two, e.g. "
				       "openssl rand -hex 32)", where);
	}
	if (json_object_get(p, "engine")) {
		char eng[8];

		if ((err = get_str(e, p, where, "engine", true, eng,
				   sizeof(eng))))
			return err;
		if (strcmp(eng, "bpf") && strcmp(eng, "simd"))
			return fail(e, "%s.engine: must be \"bpf\" (default) or "
				       "\"simd\": the data-plane engine that peer "
				       "runs (with \"simd\" a SIMD engine here sends "
				       "it 64 KB UDP GSO super-datagrams whole)",
				    where);
		pc->engine_simd = !strcmp(eng, "simd");
	}
	if (json_object_get(p, "epoch"))
		return fail(e, "%s.epoch: no longer configured: sealnetd chooses a "
			       "fresh static-key epoch at every start and keeps them "
			       "in state_dir (docs/wire-format.md); remove it", where);
	return 0;
}

static int parse_make(struct perr *e, json_t *m, struct sn_make_config *mc)
{
	static const char *const allowed[] = {
		"listen_port", "tee", "sim_platform", "appraisal_policy",
		"rekey_interval_s", "session_lifetime_s", "allowed_dataplane",
		NULL
	};
	enum sn_tee tee;
	json_t *dd, *x;
	uint64_t v;
	size_t i;
	int err;

	if (!json_is_object(m))
		return fail(e, "make: must be an object");
	if ((err = only(e, m, "make", allowed)))
		return err;
	mc->enabled = true;
	v = 51821;
	if ((err = get_uint(e, m, "make", "listen_port", false, 1, 65535, &v)))
		return err;
	mc->port = (uint16_t)v;
	strcpy(mc->tee, "sim");
	if ((err = get_str(e, m, "make", "tee", false, mc->tee,
			   sizeof(mc->tee))))
		return err;
	if (sn_tee_from_name(mc->tee, &tee))
		return fail(e, "make.tee: must be \"sim\", \"snp\" or \"tdx\"");
	if (!strcmp(mc->tee, "sim") &&
	    (err = get_str(e, m, "make", "sim_platform", true, mc->sim_platform,
			   sizeof(mc->sim_platform))))
		return err;
	if ((err = get_str(e, m, "make", "appraisal_policy", true, mc->policy,
			   sizeof(mc->policy))))
		return err;
	v = 120;
	if ((err = get_uint(e, m, "make", "rekey_interval_s", false, 1, 86400,
			    &v)))
		return err;
	mc->rekey_s = (uint32_t)v;
	v = 300;
	if ((err = get_uint(e, m, "make", "session_lifetime_s", false, 2,
			    7 * 86400, &v)))
		return err;
	mc->lifetime_s = (uint32_t)v;
	if (mc->lifetime_s <= mc->rekey_s)
		return fail(e, "make.session_lifetime_s: must be longer than "
			       "rekey_interval_s (%u)", mc->rekey_s);
	dd = json_object_get(m, "allowed_dataplane");
	if (dd) {
		if (!json_is_array(dd) || !json_array_size(dd))
			return fail(e, "make.allowed_dataplane: must be a non-empty array of SHA-384 hex digests");
		mc->n_dp_digests = json_array_size(dd);
		mc->dp_digests = calloc(mc->n_dp_digests, 48);
		if (!mc->dp_digests)
			return -ENOMEM;
		json_array_foreach(dd, i, x) {
			const char *h = json_string_value(x);

			if (!h || strlen(h) != 96 ||
			    sn_hex_decode(h, 96, mc->dp_digests[i], 48) != 48)
				return fail(e, "make.allowed_dataplane[%zu]: must be 96 hex digits (SHA-384)", i);
		}
	}
	return 0;
}

/* "kbs": {"url": "https://HOST:PORT", "ca": PATH[, "poll_s": N]} */
static int parse_kbs(struct perr *e, json_t *k, struct sn_kbs_node_config *kc)
{
	static const char *const allowed[] = { "url",	   "ca",
					       "poll_s",   "node_cert",
					       "node_key", "make_accept",
					       "resources", NULL };
	json_t *res = json_object_get(k, "resources"), *x;
	size_t ri;
	static const char *const accepts[] = { "evidence", "token",
					       "token-or-evidence",
					       "token-and-evidence", NULL };
	char url[sizeof(kc->server) + 8], acc[32] = "";
	uint64_t v = 20;
	int err;

	if (!json_is_object(k))
		return fail(e, "kbs: must be an object");
	if ((err = only(e, k, "kbs", allowed)) ||
	    (err = get_str(e, k, "kbs", "url", true, url, sizeof(url))) ||
	    (err = get_str(e, k, "kbs", "ca", true, kc->ca, sizeof(kc->ca))) ||
	    (err = get_uint(e, k, "kbs", "poll_s", false, 1, 300, &v)))
		return err;
	if (strncmp(url, "https://", 8) || !url[8] || strchr(url + 8, '/') ||
	    !strchr(url + 8, ':'))
		return fail(e, "kbs.url \"%s\": expected https://HOST:PORT "
			       "(e.g. https://198.18.0.1:8443), no path", url);
	snprintf(kc->server, sizeof(kc->server), "%s", url + 8);
	kc->poll_s = (uint32_t)v;
	if ((err = get_str(e, k, "kbs", "node_cert", false, kc->node_cert,
			   sizeof(kc->node_cert))) ||
	    (err = get_str(e, k, "kbs", "node_key", false, kc->node_key,
			   sizeof(kc->node_key))) ||
	    (err = get_str(e, k, "kbs", "make_accept", false, acc,
			   sizeof(acc))))
		return err;
	if (!kc->node_cert[0] != !kc->node_key[0])
		return fail(e, "kbs.node_cert and kbs.node_key: give both (the "
			       "node's TLS key pair enrolled at the KBS) or "
			       "neither");
	kc->make_accept = kc->node_cert[0] ? 3 : 1;
	if (acc[0]) {
		uint8_t i;

		for (i = 0; accepts[i] && strcmp(accepts[i], acc); i++)
			;
		if (!accepts[i])
			return fail(e, "kbs.make_accept \"%s\": expected "
				       "\"evidence\", \"token\", "
				       "\"token-or-evidence\" or "
				       "\"token-and-evidence\"", acc);
		kc->make_accept = (uint8_t)(i + 1);
	}
	if (res) {
		if (!json_is_array(res) ||
		    json_array_size(res) > SN_ARRAY_SIZE(kc->resources) ||
		    !kc->node_cert[0])
			return fail(e, "kbs.resources: an array of at most %zu "
				       "resource paths, with kbs.node_cert",
				    SN_ARRAY_SIZE(kc->resources));
		json_array_foreach(res, ri, x) {
			const char *rp = json_string_value(x);

			if (!rp || sn_kbs_path_check(rp))
				return fail(e, "kbs.resources[%zu]: not a resource "
					       "path (segments of [A-Za-z0-9._-] "
					       "separated by /)", ri);
			snprintf(kc->resources[ri], sizeof(kc->resources[ri]),
				 "%s", rp);
		}
		kc->n_resources = json_array_size(res);
	}
	if (kc->make_accept != 1 && !kc->node_cert[0])
		return fail(e, "kbs.make_accept \"%s\" needs kbs.node_cert "
			       "and kbs.node_key (a node that checks tokens "
			       "presents one too)", acc);
	kc->enabled = true;
	return 0;
}

static int parse_proto(const char *s, uint8_t *out)
{
	if (!strcmp(s, "tcp"))
		*out = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*out = IPPROTO_UDP;
	else if (!strcmp(s, "icmp"))
		*out = IPPROTO_ICMP;
	else
		return -EINVAL;
	return 0;
}

static int parse_rule(struct perr *e, json_t *r, size_t i,
		      const struct sn_node_config *c, struct sn_dp_rule *dr)
{
	static const char *const allowed[] = { "peer", "direction", "protocol",
					       "port", "cgroup", "local_port",
					       NULL };
	char where[32], peer[SN_NAME_MAX], dir[16], proto[8], cg[256] = "";
	uint64_t v = 0;
	size_t j;
	int err;

	snprintf(where, sizeof(where), "rules[%zu]", i);
	memset(dr, 0, sizeof(*dr));
	if (!json_is_object(r))
		return fail(e, "%s: must be an object", where);
	if ((err = only(e, r, where, allowed)) ||
	    (err = get_str(e, r, where, "peer", true, peer, sizeof(peer))) ||
	    (err = get_str(e, r, where, "direction", true, dir, sizeof(dir))) ||
	    (err = get_str(e, r, where, "protocol", true, proto,
			   sizeof(proto))))
		return err;
	for (j = 0; j < c->n_peers; j++)
		if (!strcmp(c->peers[j].name, peer))
			break;
	if (j == c->n_peers)
		return fail(e, "%s.peer: no peer named '%s' in peers", where,
			    peer);
	dr->peer_id = c->peers[j].id;
	if (!strcmp(dir, "egress"))
		dr->dir = SN_DIR_EGRESS;
	else if (!strcmp(dir, "ingress"))
		dr->dir = SN_DIR_INGRESS;
	else
		return fail(e, "%s.direction: must be \"egress\" or \"ingress\"",
			    where);
	if (parse_proto(proto, &dr->proto))
		return fail(e, "%s.protocol: must be \"tcp\", \"udp\" or \"icmp\"",
			    where);
	if ((err = get_uint(e, r, where, "port", false, 0, 65535, &v)))
		return err;
	dr->port = (uint16_t)v;
	if (dr->proto == IPPROTO_ICMP && dr->port)
		return fail(e, "%s.port: icmp has no ports", where);
	if (json_object_get(r, "cgroup") && json_object_get(r, "local_port"))
		return fail(e, "%s: give at most one of cgroup and local_port",
			    where);
	if (dr->dir == SN_DIR_INGRESS && (json_object_get(r, "cgroup") ||
					  json_object_get(r, "local_port")))
		return fail(e, "%s: cgroup/local_port select the local sender "
			       "and apply to egress rules only", where);
	if (json_object_get(r, "cgroup")) {
		struct stat st;

		if ((err = get_str(e, r, where, "cgroup", true, cg, sizeof(cg))))
			return err;
		if (stat(cg, &st) || !S_ISDIR(st.st_mode))
			return fail(e, "%s.cgroup: '%s' is not a cgroup v2 directory "
				       "(create it, e.g. mkdir %s)", where, cg, cg);
		dr->local_kind = SN_LOCAL_CGROUP;
		dr->local = st.st_ino; /* cgroup v2 id = directory inode */
	} else if (json_object_get(r, "local_port")) {
		if ((err = get_uint(e, r, where, "local_port", true, 1, 65535,
				    &v)))
			return err;
		dr->local_kind = SN_LOCAL_PORT;
		dr->local = v;
	}
	return 0;
}

/* Static keys: an explicit insecure test mode, with a state_dir for the
 * per-start epochs (docs/wire-format.md, "Static keys"). */
static int check_static(struct perr *e, json_t *root, struct sn_node_config *c)
{
	json_t *f = json_object_get(root, "insecure_static_keys");
	uint64_t v = 30;
	size_t i;
	int err;

	if (f && !json_is_boolean(f))
		return fail(e, "insecure_static_keys: must be true or false");
	c->insecure_static_keys = json_is_true(f);
	/* at least 2: the receiver looks for the next epoch every second */
	if ((err = get_uint(e, root, "", "static_rekey_interval_s", false, 2,
			    86400, &v)))
		return err;
	c->static_rekey_s = (uint32_t)v;
	for (i = 0; i < c->n_peers; i++)
		if (c->peers[i].has_static_keys)
			break;
	if (i == c->n_peers)
		return 0;
	if (!c->insecure_static_keys)
		return fail(e, "peers[%zu].tx_key: static keys are for tests only "
			       "(no attestation, no key exchange): set "
			       "\"insecure_static_keys\": true to use them; production "
			       "keys peers with the \"make\" section", i);
	if (!c->state_dir[0])
		return fail(e, "state_dir: required with static keys: sealnetd keeps "
			       "each start's key epochs there, so that no key and "
			       "counter is ever used twice");
	return 0;
}

/* "dataplane": { "engine": "bpf" | "simd" } (absent: bpf) */
static int parse_dataplane(struct perr *e, json_t *d, struct sn_dp_opts *dp)
{
	static const char *const allowed[] = { "engine", NULL };
	char engine[8] = "bpf";
	int err;

	if (!d)
		return 0;
	if (!json_is_object(d))
		return fail(e, "dataplane: must be an object, e.g. "
			       "{\"engine\": \"simd\"}");
	if ((err = only(e, d, "dataplane", allowed)) ||
	    (err = get_str(e, d, "dataplane", "engine", false, engine,
			   sizeof(engine))))
		return err;
	if (strcmp(engine, "bpf") && strcmp(engine, "simd"))
		return fail(e, "dataplane.engine: must be \"bpf\" (seal in the "
			       "kernel's TC programs, default) or \"simd\" "
			       "(seal in sealnetd with the CPU's vector units)");
	dp->engine_simd = !strcmp(engine, "simd");
	return 0;
}

int sn_config_parse(const char *json, size_t len, struct sn_node_config **out,
		    char *errbuf, size_t errlen)
{
	static const char *const allowed[] = {
		"node", "id", "interface", "udp_port", "control_port",
		"unprotected", "counter_limit", "events_per_sec",
		"control_socket", "peers", "rules", "make", "state_dir",
		"control_mark", "flow_timeout_tcp_s", "flow_timeout_other_s",
		"insecure_static_keys", "static_rekey_interval_s", "on_stop",
		"spread_receive", "metrics_listen", "dataplane", "kbs",
		NULL
	};
	struct perr e = { errbuf, errlen };
	struct sn_node_config *c = NULL;
	json_t *root, *peers, *rules, *un;
	void *items;
	json_error_t jerr;
	uint64_t v;
	size_t i, j;
	int err;

	/* not reentrant: the allocator is process-wide (see wipe_free) */
	json_get_alloc_funcs(&prev_malloc, &prev_free);
	json_set_alloc_funcs(wipe_malloc, wipe_free);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		json_set_alloc_funcs(prev_malloc, prev_free);
		err = fail(&e, "line %d column %d: %s", jerr.line, jerr.column,
			   jerr.text);
		OPENSSL_cleanse(&jerr, sizeof(jerr)); /* holds input text */
		return err;
	}
	err = -EINVAL;
	if (!json_is_object(root)) {
		fail(&e, "the configuration must be a JSON object");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = only(&e, root, "", allowed)) ||
	    (err = get_str(&e, root, "", "node", true, c->node,
			   sizeof(c->node))) ||
	    (err = get_uint(&e, root, "", "id", true, 1, SN_MAX_NODES - 1, &v)))
		goto out;
	c->id = (uint32_t)v;
	if ((err = get_str(&e, root, "", "interface", true, c->ifname,
			   sizeof(c->ifname))))
		goto out;
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
		 SN_CONTROL_SOCKET_DEFAULT);
	if ((err = get_str(&e, root, "", "control_socket", false,
			   c->control_socket, sizeof(c->control_socket))) ||
	    (err = get_str(&e, root, "", "metrics_listen", false,
			   c->metrics_listen, sizeof(c->metrics_listen))))
		goto out;
	if (c->metrics_listen[0]) {
		char host[64];
		uint16_t port;

		if (sn_parse_listen(c->metrics_listen, host, sizeof(host),
				    &port)) {
			err = fail(&e,
				   "metrics_listen \"%s\": expected ADDR:PORT "
				   "with a numeric address (e.g. "
				   "127.0.0.1:9477 or [::1]:9477)",
				   c->metrics_listen);
			goto out;
		}
	}
	if ((err = get_str(&e, root, "", "state_dir", false, c->state_dir,
			   sizeof(c->state_dir))))
		goto out;
	if (json_object_get(root, "kbs") &&
	    (err = parse_kbs(&e, json_object_get(root, "kbs"), &c->kbs)))
		goto out;
	if (c->kbs.n_resources && !c->state_dir[0]) {
		err = fail(&e, "kbs.resources: needs state_dir (they are "
			       "written to STATE_DIR/resources)");
		goto out;
	}
	c->dp.ifname = c->ifname;
	c->dp.self_id = c->id;
	v = SN_UDP_PORT_DEFAULT;
	if ((err = get_uint(&e, root, "", "udp_port", false, 1, 65535, &v)))
		goto out;
	c->dp.udp_port = (uint16_t)v;
	v = 0;
	if ((err = get_uint(&e, root, "", "control_port", false, 0, 65535, &v)))
		goto out;
	c->dp.control_port = (uint16_t)v;
	v = 0;
	if ((err = get_uint(&e, root, "", "control_mark", false, 1, UINT32_MAX,
			    &v)))
		goto out;
	c->dp.control_mark = (uint32_t)v;
	v = 0;
	if ((err = get_uint(&e, root, "", "flow_timeout_tcp_s", false, 1,
			    UINT32_MAX / 2, &v)))
		goto out;
	c->dp.flow_tcp_s = (uint32_t)v;
	v = 0;
	if ((err = get_uint(&e, root, "", "flow_timeout_other_s", false, 1,
			    UINT32_MAX / 2, &v)))
		goto out;
	c->dp.flow_other_s = (uint32_t)v;
	v = 0;
	if ((err = get_uint(&e, root, "", "counter_limit", false, 0,
			    UINT64_MAX >> 1, &v)))
		goto out;
	c->dp.counter_limit = v;
	v = 0;
	if ((err = get_uint(&e, root, "", "events_per_sec", false, 0, 1000000,
			    &v)))
		goto out;
	c->dp.events_per_sec = (uint32_t)v;
	{
		json_t *sr = json_object_get(root, "spread_receive");

		if (sr && !json_is_boolean(sr)) {
			err = fail(&e, "spread_receive: must be true or false");
			goto out;
		}
		c->dp.no_spread_receive = sr && json_is_false(sr);
	}
	{
		char on_stop[16] = "drop";

		if ((err = get_str(&e, root, "", "on_stop", false, on_stop,
				   sizeof(on_stop))))
			goto out;
		if (strcmp(on_stop, "drop") && strcmp(on_stop, "detach")) {
			err = fail(&e, "on_stop: must be \"drop\" (keep the data "
				   "plane, keyless: peers' traffic dropped) or "
				   "\"detach\" (restore the interface)");
			goto out;
		}
		c->on_stop_detach = !strcmp(on_stop, "detach");
	}
	if ((err = parse_dataplane(&e, json_object_get(root, "dataplane"),
				   &c->dp)))
		goto out;
	/* absent: spread for the BPF engine, whose open runs in the receive
	 * softirq; not for the SIMD engine, which opens in its own thread,
	 * where steering only adds an IPI per receive (docs/performance.md,
	 * "The SIMD engine, round 3") */
	if (!json_object_get(root, "spread_receive"))
		c->dp.no_spread_receive = c->dp.engine_simd;
	un = json_object_get(root, "unprotected");
	if (un) {
		static const char *const ua[] = { "egress", "ingress", NULL };

		if (!json_is_object(un)) {
			err = fail(&e, "unprotected: must be an object");
			goto out;
		}
		if ((err = only(&e, un, "unprotected", ua)) ||
		    (err = get_mode(&e, un, "egress",
				    &c->dp.drop_unprotected_egress)) ||
		    (err = get_mode(&e, un, "ingress",
				    &c->dp.drop_unprotected_ingress)))
			goto out;
	}

	if (json_object_get(root, "make")) {
		if ((err = parse_make(&e, json_object_get(root, "make"),
				      &c->make)))
			goto out;
		if (c->dp.control_port && c->dp.control_port != c->make.port) {
			err = fail(&e, "control_port: must equal make.listen_port (%u) or be absent",
				   c->make.port);
			goto out;
		}
		c->dp.control_port = c->make.port;
	}
	/* a KBS token does not carry the peer's data-plane digest (the KBS
	 * never sees it): allowed_dataplane needs the peer's EVIDENCE too */
	if (c->make.n_dp_digests && c->kbs.enabled &&
	    (c->kbs.make_accept == 2 || c->kbs.make_accept == 3)) {
		if (json_object_get(json_object_get(root, "kbs"),
				    "make_accept")) {
			err = fail(&e,
				   "kbs.make_accept \"%s\" would accept a "
				   "peer's token alone, which does not "
				   "show its data plane: with "
				   "make.allowed_dataplane use "
				   "\"token-and-evidence\" (or "
				   "\"evidence\")",
				   c->kbs.make_accept == 2 ?
					   "token" :
					   "token-or-evidence");
			goto out;
		}
		c->kbs.make_accept = 4; /* token-and-evidence */
	}
	if ((err = get_array(&e, root, "peers", true, sizeof(*c->peers), &peers,
			     &c->n_peers, &items)))
		goto out;
	c->peers = items;
	for (i = 0; i < c->n_peers; i++) {
		if ((err = parse_peer(&e, json_array_get(peers, i), i,
				      &c->peers[i])))
			goto out;
		if (!c->peers[i].make_port)
			c->peers[i].make_port = c->make.port;
		if (!c->peers[i].has_static_keys && !c->make.enabled) {
			err = fail(&e, "peers[%zu]: no tx_key/rx_key and no \"make\" section: "
				       "give static keys or enable MAKE", i);
			goto out;
		}
		if (c->peers[i].id == c->id) {
			err = fail(&e, "peers[%zu].id: %u is this node's own id",
				   i, c->id);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (c->peers[j].id == c->peers[i].id ||
			    c->peers[j].addr == c->peers[i].addr ||
			    !strcmp(c->peers[j].name, c->peers[i].name)) {
				err = fail(&e, "peers[%zu]: same name, id or address as peers[%zu]",
					   i, j);
				goto out;
			}
		}
	}
	if ((err = check_static(&e, root, c)))
		goto out;
	if ((err = get_array(&e, root, "rules", false, sizeof(*c->rules), &rules,
			     &c->n_rules, &items)))
		goto out;
	c->rules = items;
	for (i = 0; i < c->n_rules; i++)
		if ((err = parse_rule(&e, json_array_get(rules, i), i, c,
				      &c->rules[i])))
			goto out;
	*out = c;
	c = NULL;
	err = 0;
out:
	sn_config_free(c);
	json_decref(root);
	json_set_alloc_funcs(prev_malloc, prev_free);
	return err;
}

/* read all of fd (a regular file of st_size bytes, give or take a
 * concurrent writer) into one buffer; a buffer that has to grow is wiped
 * before it is freed */
static int read_all(int fd, size_t hint, uint8_t **out, size_t *len)
{
	size_t cap = hint + 1, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t *nb;

			if (cap > SN_CONFIG_MAX) {
				OPENSSL_cleanse(buf, n);
				free(buf);
				return -EFBIG;
			}
			nb = malloc(cap * 2);
			if (!nb) {
				OPENSSL_cleanse(buf, n);
				free(buf);
				return -ENOMEM;
			}
			memcpy(nb, buf, n);
			OPENSSL_cleanse(buf, n);
			free(buf);
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			OPENSSL_cleanse(buf, n);
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

static bool has_static_keys(const struct sn_node_config *c)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].has_static_keys)
			return true;
	return false;
}

int sn_config_load(const char *path, struct sn_node_config **out, char *err,
		   size_t errlen)
{
	struct sn_node_config *c = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > SN_CONFIG_MAX) {
		r = -EFBIG;
		snprintf(err, errlen, "%s is larger than %u bytes", path,
			 SN_CONFIG_MAX);
		goto out;
	}
	r = read_all(fd, (size_t)st.st_size, &buf, &len);
	if (r) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		goto out;
	}
	r = sn_config_parse((const char *)buf, len, &c, err, errlen);
	if (r)
		goto out;
	/* the static keys are secrets: only root or we may read the file
	 * (the mode and owner of the file we read, not of the path now) */
	if (has_static_keys(c) && (st.st_mode & 077)) {
		r = -EPERM;
		snprintf(err, errlen,
			 "%s holds static keys (tx_key/rx_key) but its mode %04o lets group or others read or write it; run: chmod 600 %s",
			 path, (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	if (has_static_keys(c) && st.st_uid != 0 && st.st_uid != geteuid()) {
		r = -EPERM;
		snprintf(err, errlen,
			 "%s holds static keys (tx_key/rx_key) but belongs to uid %u, not to root or sealnetd's uid %u; run: chown root %s",
			 path, (unsigned int)st.st_uid, (unsigned int)geteuid(), path);
		goto out;
	}
	/* kbs.node_key: the key a KBS token's cnf names (token-mode MAKE
	 * and GET /resource): whoever reads it and sees a token is the node */
	if (c->kbs.node_key[0]) {
		struct stat ks;

		if (!stat(c->kbs.node_key, &ks) && (ks.st_mode & 077)) {
			r = -EPERM;
			snprintf(err, errlen,
				 "kbs.node_key %s: mode %04o lets group or "
				 "others read or write this node's TLS private "
				 "key; run: chmod 600 %s",
				 c->kbs.node_key,
				 (unsigned int)(ks.st_mode & 07777),
				 c->kbs.node_key);
			goto out;
		}
		if (!stat(c->kbs.node_key, &ks) && ks.st_uid != 0 &&
		    ks.st_uid != geteuid()) {
			r = -EPERM;
			snprintf(
				err, errlen,
				"kbs.node_key %s: belongs to uid %u, not to "
				"root or sealnetd's uid %u; run: chown root %s",
				c->kbs.node_key, (unsigned int)ks.st_uid,
				(unsigned int)geteuid(), c->kbs.node_key);
			goto out;
		}
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	*out = c;
	c = NULL;
out:
	sn_config_free(c);
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return r;
}

int sn_open_private_dir(const char *path, const char *what, int *fd_out,
			char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s %s: cannot open it as a directory: %s",
			 what, path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(-r));
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		r = -EPERM;
		snprintf(err, errlen,
			 "%s %s: belongs to uid %u, not to root or sealnetd's uid %u; another user could replace what sealnetd keeps there; run: chown root %s",
			 what, path, (unsigned int)st.st_uid,
			 (unsigned int)geteuid(), path);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		r = -EPERM;
		snprintf(err, errlen,
			 "%s %s: mode %04o lets group or others write to it (plant or replace files); run: chmod go-w %s",
			 what, path, (unsigned int)(st.st_mode & 07777), path);
		goto fail;
	}
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return r;
}

void sn_config_free(struct sn_node_config *c)
{
	if (!c)
		return;
	if (c->peers) {
		OPENSSL_cleanse(c->peers, c->n_peers * sizeof(*c->peers));
		free(c->peers);
	}
	free(c->rules);
	free(c->make.dp_digests);
	free(c);
}

