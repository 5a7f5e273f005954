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
#include "internal.h"

#define PATH_MAX_LEN sizeof(((struct sn_wf_error *)0)->path)
#define MAX_DOMAINS  64
#define MAX_KEYS     16
#define MAX_NODES    1023
#define MAX_STAGES   1024
#define MAX_FLOWS    4096
#define MAX_LIST     64

const char *const sn_wf_tdx_tcb_status[] = {
	"UpToDate",
	"SWHardeningNeeded",
	"ConfigurationNeeded",
	"ConfigurationAndSWHardeningNeeded",
	"OutOfDate",
	"OutOfDateConfigurationNeeded",
	NULL,
};

const char *wf_tee_name(enum sn_wf_tee t)
{
	switch (t) {
	case SN_WF_TEE_SIM:
		return "sim";
	case SN_WF_TEE_SNP:
		return "snp";
	case SN_WF_TEE_TDX:
		return "tdx";
	}
	return "?";
}

const char *wf_proto_name(enum sn_wf_proto p)
{
	switch (p) {
	case SN_WF_TCP:
		return "tcp";
	case SN_WF_UDP:
		return "udp";
	case SN_WF_ICMP:
		return "icmp";
	}
	return "?";
}

struct ctx {
	struct sn_wf_diag *d;
	struct sn_workflow *wf;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static char *SUB(char *buf,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX_LEN, fmt, ap);
	va_end(ap);
	return buf;
}

/* every member of o in allowed (NULL-terminated); "comment" always is */
static void only(struct ctx *c, json_t *o, const char *path,
		 const char *const *allowed, const char *what)
{
	const char *k;
	json_t *v;
	char sub[PATH_MAX_LEN];

	json_object_foreach(o, k, v)
	{
		const char *const *a;

		if (!strcmp(k, "comment")) {
			if (!json_is_string(v))
				wf_err(c->d, SUB(sub, "%s.comment", path),
				       "must be a string (free text, part of "
				       "the "
				       "signed manifest)");
			continue;
		}
		for (a = allowed; *a; a++)
			if (!strcmp(*a, k))
				break;
		if (!*a) {
			char list[256] = "";

			for (a = allowed; *a; a++) {
				strncat(list, *a,
					sizeof(list) - strlen(list) - 1);
				if (a[1])
					strncat(list, ", ",
						sizeof(list) - strlen(list) -
							1);
			}
			SUB(sub, "%s.%s", path, k);
			wf_err(c->d, sub,
			       "unknown member of %s (allowed: %s, comment): "
			       "check the spelling, docs/workflow.md lists "
			       "them",
			       what, list);
		}
	}
}

static bool is_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= SN_WF_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

/* o.k: a string; name: the name rules, else 1..cap-1 characters.
 * 1 when absent (not required), 0 when read, -EINVAL */
static int get_str(struct ctx *c, json_t *o, const char *path, const char *k,
		   bool required, bool name, char *out, size_t cap)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];
	const char *s;

	SUB(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(c->d, sub, "missing: add it (a %s)",
				      name ? "name" : "string");
		return 1;
	}
	s = json_string_value(v);
	if (!s)
		return wf_err(c->d, sub, "must be a string");
	if (name && !is_name(s))
		return wf_err(c->d, sub,
			      "'%s' is not a name: use 1..%d characters of "
			      "A-Z a-z 0-9 . _ -",
			      s, SN_WF_NAME_MAX - 1);
	if (!*s || strlen(s) >= cap)
		return wf_err(c->d, sub,
			      "must be a non-empty string of at most %zu "
			      "characters",
			      cap - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int get_uint(struct ctx *c, json_t *o, const char *path, const char *k,
		    bool required, uint64_t min, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];
	json_int_t n;

	SUB(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(
				c->d, sub,
				"missing: add it (an integer in %llu..%llu)",
				(unsigned long long)min,
				(unsigned long long)max);
		return 1;
	}
	n = json_integer_value(v);
	if (!json_is_integer(v) || n < 0 || (uint64_t)n < min ||
	    (uint64_t)n > max)
		return wf_err(c->d, sub, "must be an integer in %llu..%llu",
			      (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static int get_bool(struct ctx *c, json_t *o, const char *path, const char *k,
		    bool *out)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];

	if (!v)
		return 1;
	if (!json_is_boolean(v))
		return wf_err(c->d, SUB(sub, "%s.%s", path, k),
			      "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int hex_value(struct ctx *c, json_t *v, const char *path, uint8_t *out,
		     size_t nbytes, const char *what)
{
	const char *s = json_string_value(v);

	if (!s)
		return wf_err(c->d, path,
			      "must be a string of %zu hex digits (%s, %zu "
			      "bytes)",
			      2 * nbytes, what, nbytes);
	if (strlen(s) != 2 * nbytes ||
	    sn_hex_decode(s, strlen(s), out, nbytes) != (int)nbytes)
		return wf_err(c->d, path,
			      "must be %zu hex digits (%s, %zu bytes); this "
			      "one has %zu characters%s",
			      2 * nbytes, what, nbytes, strlen(s),
			      strlen(s) == 2 * nbytes ? ", not all hex" : "");
	return 0;
}

static int get_hex(struct ctx *c, json_t *o, const char *path, const char *k,
		   bool required, uint8_t *out, size_t nbytes, const char *what)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];

	SUB(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(c->d, sub,
				      "missing: add %s (%zu hex digits)", what,
				      2 * nbytes);
		return 1;
	}
	return hex_value(c, v, sub, out, nbytes, what);
}

/* o.k: an array (1..max elements when required, 0..max otherwise);
 * *arr; 1 absent */
static int get_array(struct ctx *c, json_t *o, const char *path, const char *k,
		     bool required, size_t max, json_t **arr)
{
	json_t *v = json_object_get(o, k);
	char sub[PATH_MAX_LEN];

	SUB(sub, "%s.%s", path, k);
	if (!v) {
		if (required)
			return wf_err(c->d, sub,
				      "missing: add a non-empty list");
		return 1;
	}
	if (!json_is_array(v))
		return wf_err(c->d, sub, "must be a list ([...])");
	if (required && !json_array_size(v))
		return wf_err(c->d, sub, "must not be empty");
	if (json_array_size(v) > max)
		return wf_err(c->d, sub, "has %zu entries; at most %zu",
			      json_array_size(v), max);
	*arr = v;
	return 0;
}

/* list of fixed-size hex values */
static int get_hex_list(struct ctx *c, json_t *o, const char *path,
			const char *k, bool required, size_t nbytes,
			const char *what, void **out, size_t *n)
{
	json_t *arr = NULL, *v;
	char sub[PATH_MAX_LEN];
	uint8_t *p;
	size_t i;
	int err = get_array(c, o, path, k, required, MAX_LIST, &arr);

	if (err)
		return err;
	p = calloc(json_array_size(arr) + 1, nbytes);
	if (!p) {
		c->oom = true;
		return -ENOMEM;
	}
	json_array_foreach(arr, i, v)
	{
		SUB(sub, "%s.%s[%zu]", path, k, i);
		hex_value(c, v, sub, p + i * nbytes, nbytes, what);
	}
	*out = p;
	*n = json_array_size(arr);
	return 0;
}

static int get_tee(struct ctx *c, json_t *o, const char *path,
		   enum sn_wf_tee *t)
{
	char s[8], sub[PATH_MAX_LEN];
	int err = get_str(c, o, path, "tee", true, false, s, sizeof(s));

	if (err)
		return -EINVAL;
	if (!strcmp(s, "sim"))
		*t = SN_WF_TEE_SIM;
	else if (!strcmp(s, "snp"))
		*t = SN_WF_TEE_SNP;
	else if (!strcmp(s, "tdx"))
		*t = SN_WF_TEE_TDX;
	else
		return wf_err(c->d, SUB(sub, "%s.tee", path),
			      "'%s' is not a TEE type: \"snp\", \"tdx\" or "
			      "\"sim\" (simulated SNP, tests only)",
			      s);
	return 0;
}

static bool is_object(struct ctx *c, json_t *v, const char *path,
		      const char *what)
{
	if (json_is_object(v))
		return true;
	wf_err(c->d, path, "must be an object (%s)", what);
	return false;
}

/* name -> index, SIZE_MAX and an error when unknown */
static size_t resolve(struct ctx *c, json_t *o, const char *path, const char *k,
		      const char *kind, size_t n,
		      const char *(*name_of)(const struct sn_workflow *,
					     size_t))
{
	char s[SN_WF_NAME_MAX], sub[PATH_MAX_LEN];

	if (get_str(c, o, path, k, true, true, s, sizeof(s)))
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name_of(c->wf, i), s))
			return i;
	wf_err(c->d, SUB(sub, "%s.%s", path, k),
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

static void parse_domain(struct ctx *c, json_t *o, const char *path,
			 struct sn_wf_domain *dm)
{
	static const char *const allowed[] = {"id", "keys", "kbs", NULL};
	static const char *const kallowed[] = {"id", "ed25519", NULL};
	static const char *const ballowed[] = {"url", "trust_anchor_sha256",
					       NULL};
	char sub[PATH_MAX_LEN];
	json_t *keys = NULL, *k, *kbs;
	size_t i;

	if (!is_object(c, o, path, "a domain"))
		return;
	only(c, o, path, allowed, "a domain");
	get_str(c, o, path, "id", true, true, dm->id, sizeof(dm->id));
	if (!get_array(c, o, path, "keys", true, MAX_KEYS, &keys)) {
		dm->keys = calloc(json_array_size(keys), sizeof(*dm->keys));
		if (!dm->keys) {
			c->oom = true;
			return;
		}
		dm->n_keys = json_array_size(keys);
		json_array_foreach(keys, i, k)
		{
			struct sn_wf_key *key = &dm->keys[i];

			SUB(sub, "%s.keys[%zu]", path, i);
			if (!is_object(c, k, sub,
				       "a signing key: {\"id\", \"ed25519\"}"))
				continue;
			only(c, k, sub, kallowed, "a key");
			get_str(c, k, sub, "id", true, true, key->id,
				sizeof(key->id));
			if (!get_hex(c, k, sub, "ed25519", true, key->pub,
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
		SUB(sub, "%s.kbs", path);
		if (!is_object(c, kbs, sub, "the domain's key broker"))
			return;
		only(c, kbs, sub, ballowed, "kbs");
		dm->has_kbs = true;
		if (!get_str(c, kbs, sub, "url", true, false, dm->kbs_url,
			     sizeof(dm->kbs_url)) &&
		    strncmp(dm->kbs_url, "https://", 8)) {
			char s2[PATH_MAX_LEN];

			wf_err(c->d, SUB(s2, "%s.url", sub),
			       "must start with https:// (the broker is "
			       "reached over TLS)");
		}
		get_hex(c, kbs, sub, "trust_anchor_sha256", true,
			dm->kbs_anchor_sha256, 32,
			"SHA-256 of the broker's trust anchor certificate "
			"(DER)");
	}
}

static void parse_node(struct ctx *c, json_t *o, const char *path,
		       struct sn_wf_node *n)
{
	static const char *const allowed[] = {"name", "domain", "id", "address",
					      "tee",  "engine", NULL};
	char addr[64], engine[16] = "tc", sub[PATH_MAX_LEN];
	struct in_addr a;
	uint64_t v;

	n->domain = SIZE_MAX;
	if (!is_object(c, o, path, "a node"))
		return;
	only(c, o, path, allowed, "a node");
	get_str(c, o, path, "name", true, true, n->name, sizeof(n->name));
	n->domain = resolve(c, o, path, "domain", "domain", c->wf->n_domains,
			    domain_name);
	if (!get_uint(c, o, path, "id", true, 1, MAX_NODES, &v))
		n->id = (uint32_t)v;
	if (!get_str(c, o, path, "address", true, false, addr, sizeof(addr))) {
		if (inet_pton(AF_INET, addr, &a) != 1)
			wf_err(c->d, SUB(sub, "%s.address", path),
			       "'%s' is not an IPv4 address (dotted quad, "
			       "e.g. 198.18.0.1)",
			       addr);
		else
			n->addr = a.s_addr;
	}
	get_tee(c, o, path, &n->tee);
	n->engine = SN_WF_ENGINE_TC;
	if (!get_str(c, o, path, "engine", false, false, engine,
		     sizeof(engine)) &&
	    strcmp(engine, "tc"))
		wf_err(c->d, SUB(sub, "%s.engine", path),
		       "'%s' is not a data-plane engine: version 1 has \"tc\" "
		       "(the eBPF TC data plane)",
		       engine);
}

static void parse_tdx(struct ctx *c, json_t *o, const char *path,
		      struct sn_wf_reference *r)
{
	static const char *const allowed[] = {
		"min_tee_tcb_svn",
		"rtmr0",
		"rtmr1",
		"rtmr2",
		"rtmr3",
		"mrconfigid",
		"mrowner",
		"mrownerconfig",
		"accepted_tcb_status",
		NULL,
	};
	char sub[PATH_MAX_LEN];
	json_t *st = NULL, *v;
	size_t i;

	if (!is_object(c, o, path, "TDX reference values"))
		return;
	only(c, o, path, allowed, "reference.tdx");
	get_hex(c, o, path, "min_tee_tcb_svn", true, r->min_tee_tcb_svn, 16,
		"TEE_TCB_SVN floor");
	for (i = 0; i < 4; i++) {
		char k[8];

		snprintf(k, sizeof(k), "rtmr%zu", i);
		get_hex_list(c, o, path, k, true, SN_WF_MEAS_LEN,
			     "an RTMR value, SHA-384", (void **)&r->rtmr[i],
			     &r->n_rtmr[i]);
	}
	get_hex(c, o, path, "mrconfigid", true, r->mrconfigid, SN_WF_MEAS_LEN,
		"MRCONFIGID");
	get_hex(c, o, path, "mrowner", true, r->mrowner, SN_WF_MEAS_LEN,
		"MROWNER");
	get_hex(c, o, path, "mrownerconfig", true, r->mrownerconfig,
		SN_WF_MEAS_LEN, "MROWNERCONFIG");
	r->tdx_tcb_status_mask = 1; /* UpToDate */
	if (json_object_get(o, "accepted_tcb_status") &&
	    !get_array(c, o, path, "accepted_tcb_status", true, 8, &st)) {
		r->tdx_tcb_status_mask = 0;
		json_array_foreach(st, i, v)
		{
			const char *s = json_string_value(v);
			int j;

			for (j = 0; s && sn_wf_tdx_tcb_status[j]; j++)
				if (!strcmp(s, sn_wf_tdx_tcb_status[j]))
					break;
			if (!s || !sn_wf_tdx_tcb_status[j])
				wf_err(c->d,
				       SUB(sub, "%s.accepted_tcb_status[%zu]",
					   path, i),
				       "not an Intel TCB status this version "
				       "accepts (UpToDate, SWHardeningNeeded, "
				       "ConfigurationNeeded, "
				       "ConfigurationAndSWHardeningNeeded, "
				       "OutOfDate, "
				       "OutOfDateConfigurationNeeded)");
			else
				r->tdx_tcb_status_mask |= 1u << j;
		}
	}
}

static void parse_reference(struct ctx *c, json_t *o, const char *path,
			    struct sn_wf_reference *r)
{
	static const char *const allowed[] = {
		"tee",	     "measurements", "min_tcb",
		"tdx",	     "allow_debug",  "allow_migration_agent",
		"allow_smt", "vmpl",	     "sim_ark_spki_sha256",
		NULL,
	};
	static const char *const tallowed[] = {"bootloader", "tee", "snp",
					       "microcode",  "fmc", NULL};
	char sub[PATH_MAX_LEN];
	json_t *t, *vm = NULL, *v;
	uint64_t x;
	size_t i;

	r->allow_migration_agent = true;
	r->allow_smt = true;
	r->vmpl_mask = 1;
	if (!is_object(c, o, path,
		       "the reference values the stage's TEE must show"))
		return;
	only(c, o, path, allowed, "reference");
	if (get_tee(c, o, path, &r->tee))
		return;
	get_hex_list(c, o, path, "measurements", true, SN_WF_MEAS_LEN,
		     "a launch measurement: SNP MEASUREMENT or TDX MRTD, "
		     "SHA-384",
		     (void **)&r->measurements, &r->n_measurements);
	t = json_object_get(o, "min_tcb");
	SUB(sub, "%s.min_tcb", path);
	if (t && r->tee == SN_WF_TEE_TDX) {
		wf_err(c->d, sub,
		       "is for snp/sim; a tdx reference gives "
		       "tdx.min_tee_tcb_svn instead");
	} else if (t && is_object(c, t, sub, "the SNP TCB floor")) {
		only(c, t, sub, tallowed, "min_tcb");
		r->has_min_tcb = true;
		if (!get_uint(c, t, sub, "bootloader", true, 0, 255, &x))
			r->min_tcb_bootloader = (uint8_t)x;
		if (!get_uint(c, t, sub, "tee", true, 0, 255, &x))
			r->min_tcb_tee = (uint8_t)x;
		if (!get_uint(c, t, sub, "snp", true, 0, 255, &x))
			r->min_tcb_snp = (uint8_t)x;
		if (!get_uint(c, t, sub, "microcode", true, 0, 255, &x))
			r->min_tcb_microcode = (uint8_t)x;
		if (!get_uint(c, t, sub, "fmc", false, 0, 255, &x)) {
			r->has_min_tcb_fmc = true;
			r->min_tcb_fmc = (uint8_t)x;
		}
	} else if (!t && r->tee == SN_WF_TEE_SNP) {
		wf_err(c->d, sub,
		       "missing: an snp reference needs a TCB floor "
		       "{bootloader, tee, snp, microcode}");
	}
	t = json_object_get(o, "tdx");
	SUB(sub, "%s.tdx", path);
	if (t && r->tee != SN_WF_TEE_TDX)
		wf_err(c->d, sub,
		       "given but tee is not \"tdx\": remove it or "
		       "fix tee");
	else if (t)
		parse_tdx(c, t, sub, r);
	else if (r->tee == SN_WF_TEE_TDX)
		wf_err(c->d, sub,
		       "missing: a tdx reference needs "
		       "min_tee_tcb_svn, rtmr0..rtmr3, mrconfigid, "
		       "mrowner, mrownerconfig, accepted_tcb_status");
	get_bool(c, o, path, "allow_debug", &r->allow_debug);
	get_bool(c, o, path, "allow_migration_agent",
		 &r->allow_migration_agent);
	get_bool(c, o, path, "allow_smt", &r->allow_smt);
	if (json_object_get(o, "vmpl") &&
	    !get_array(c, o, path, "vmpl", true, 4, &vm)) {
		r->vmpl_mask = 0;
		json_array_foreach(vm, i, v)
		{
			json_int_t n = json_integer_value(v);

			if (!json_is_integer(v) || n < 0 || n > 3)
				wf_err(c->d, SUB(sub, "%s.vmpl[%zu]", path, i),
				       "must be a VMPL, 0..3");
			else
				r->vmpl_mask |= (uint8_t)(1u << n);
		}
	}
	SUB(sub, "%s.sim_ark_spki_sha256", path);
	if (r->tee == SN_WF_TEE_SIM)
		get_hex_list(c, o, path, "sim_ark_spki_sha256", true, 32,
			     "SHA-256 of the simulated ARK's SPKI; `sealnet "
			     "sim-tee init` prints it",
			     (void **)&r->sim_ark_spki_sha256, &r->n_sim_ark);
	else if (json_object_get(o, "sim_ark_spki_sha256"))
		wf_err(c->d, sub, "only for tee \"sim\": remove it");
}

static void parse_stage(struct ctx *c, json_t *o, const char *path,
			struct sn_wf_stage *s)
{
	static const char *const allowed[] = {"name",	  "domain",    "nodes",
					      "identity", "reference", NULL};
	static const char *const iallowed[] = {"cgroup", "local_ports", NULL};
	char sub[PATH_MAX_LEN];
	json_t *nodes = NULL, *id, *lp = NULL, *v, *ref;
	size_t i;

	s->domain = SIZE_MAX;
	if (!is_object(c, o, path, "a stage"))
		return;
	only(c, o, path, allowed, "a stage");
	get_str(c, o, path, "name", true, true, s->name, sizeof(s->name));
	s->domain = resolve(c, o, path, "domain", "domain", c->wf->n_domains,
			    domain_name);
	if (get_array(c, o, path, "nodes", false, MAX_NODES, &nodes) ||
	    !json_array_size(nodes)) {
		wf_err(c->d, SUB(sub, "%s.nodes", path),
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
			SUB(sub, "%s.nodes[%zu]", path, i);
			s->nodes[i] = SIZE_MAX;
			{
				char s2[SN_WF_NAME_MAX];
				const char *nm = json_string_value(v);

				if (!nm || !is_name(nm)) {
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
	SUB(sub, "%s.identity", path);
	if (!id) {
		wf_err(c->d, sub,
		       "missing: say how the stage's processes are recognised "
		       "on its nodes: {\"cgroup\": \"/sys/fs/cgroup/...\"} or "
		       "{\"local_ports\": [...]}");
	} else if (is_object(c, id, sub, "{\"cgroup\"} or {\"local_ports\"}")) {
		only(c, id, sub, iallowed, "identity");
		if (json_object_get(id, "cgroup") &&
		    json_object_get(id, "local_ports")) {
			wf_err(c->d, sub,
			       "give one of cgroup and local_ports, "
			       "not both");
		} else if (json_object_get(id, "cgroup")) {
			if (!get_str(c, id, sub, "cgroup", true, false,
				     s->cgroup, sizeof(s->cgroup)) &&
			    s->cgroup[0] != '/')
				wf_err(c->d,
				       SUB(sub, "%s.identity.cgroup", path),
				       "must be an absolute path to a cgroup "
				       "v2 "
				       "directory (/sys/fs/cgroup/...)");
		} else if (!get_array(c, id, sub, "local_ports", true,
				      SN_WF_MAX_LOCAL_PORTS, &lp)) {
			s->n_local_ports = json_array_size(lp);
			json_array_foreach(lp, i, v)
			{
				json_int_t n = json_integer_value(v);

				if (!json_is_integer(v) || n < 1 || n > 65535)
					wf_err(c->d,
					       SUB(sub,
						   "%s.identity.local_ports[%"
						   "zu]",
						   path, i),
					       "must be a port, 1..65535");
				else
					s->local_ports[i] = (uint16_t)n;
			}
		}
	}
	ref = json_object_get(o, "reference");
	SUB(sub, "%s.reference", path);
	if (!ref)
		wf_err(c->d, sub,
		       "missing: the reference values the stage's TEE must "
		       "show (tee, measurements, TCB floor...)");
	else
		parse_reference(c, ref, sub, &s->ref);
}

static void parse_flow(struct ctx *c, json_t *o, const char *path,
		       struct sn_wf_flow *f)
{
	static const char *const allowed[] = {
		"from", "to", "protocol", "port", "port_range", "limits", NULL};
	static const char *const lallowed[] = {"rate_kbps", "max_bytes", NULL};
	char proto[8], sub[PATH_MAX_LEN];
	json_t *pr, *lim;
	uint64_t v;

	f->from = f->to = SIZE_MAX;
	if (!is_object(c, o, path, "a flow"))
		return;
	only(c, o, path, allowed, "a flow");
	f->from = resolve(c, o, path, "from", "stage", c->wf->n_stages,
			  stage_name);
	f->to = resolve(c, o, path, "to", "stage", c->wf->n_stages, stage_name);
	if (get_str(c, o, path, "protocol", true, false, proto, sizeof(proto)))
		return;
	if (!strcmp(proto, "tcp"))
		f->proto = SN_WF_TCP;
	else if (!strcmp(proto, "udp"))
		f->proto = SN_WF_UDP;
	else if (!strcmp(proto, "icmp"))
		f->proto = SN_WF_ICMP;
	else
		wf_err(c->d, SUB(sub, "%s.protocol", path),
		       "'%s': must be \"tcp\", \"udp\" or \"icmp\"", proto);
	pr = json_object_get(o, "port_range");
	SUB(sub, "%s.port", path);
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

		SUB(sub, "%s.port_range", path);
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
	} else if (!get_uint(c, o, path, "port", true, 1, 65535, &v)) {
		f->port_first = f->port_last = (uint16_t)v;
	}
	lim = json_object_get(o, "limits");
	if (lim) {
		SUB(sub, "%s.limits", path);
		if (!is_object(c, lim, sub, "{rate_kbps, max_bytes}"))
			return;
		only(c, lim, sub, lallowed, "limits");
		get_uint(c, lim, sub, "rate_kbps", false, 1, UINT32_MAX,
			 &f->rate_kbps);
		get_uint(c, lim, sub, "max_bytes", false, 1, INT64_MAX,
			 &f->max_bytes);
	}
}

/* allocate n elements of size for the list o.k (required) */
static size_t list(struct ctx *c, json_t *o, const char *k, size_t max,
		   size_t size, void **out, json_t **arr)
{
	*arr = NULL;
	if (get_array(c, o, "$", k, true, max, arr))
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
	struct ctx c = {.d = d, .wf = wf};
	char path[PATH_MAX_LEN];
	json_t *arr, *v, *lt;
	uint64_t x;
	size_t i;

	if (!get_uint(&c, root, "$", "sealnet_workflow", true, 0, INT64_MAX,
		      &x) &&
	    x != SN_WF_FORMAT)
		/* fail closed: a version-1 reader cannot enforce what a later
		 * format says */
		return wf_err(
			d, "$.sealnet_workflow",
			"this manifest is format %llu; this sealnet reads "
			"format %d only: upgrade sealnet",
			(unsigned long long)x, SN_WF_FORMAT);
	only(&c, root, "$", allowed, "the manifest");
	get_str(&c, root, "$", "name", true, true, wf->name, sizeof(wf->name));
	if (!get_uint(&c, root, "$", "version", true, 1, INT64_MAX, &x))
		wf->version = x;
	wf->rekey_interval_s = 120;
	wf->session_lifetime_s = 300;
	lt = json_object_get(root, "lifetimes");
	if (lt && is_object(&c, lt, "$.lifetimes",
			    "{rekey_interval_s, session_lifetime_s}")) {
		only(&c, lt, "$.lifetimes", lallowed, "lifetimes");
		if (!get_uint(&c, lt, "$.lifetimes", "rekey_interval_s", false,
			      1, 86400, &x))
			wf->rekey_interval_s = (uint32_t)x;
		if (!get_uint(&c, lt, "$.lifetimes", "session_lifetime_s",
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
		SUB(path, "$.domains[%zu]", i);
		parse_domain(&c, v, path, &wf->domains[i]);
	}
	wf->n_nodes = list(&c, root, "nodes", MAX_NODES, sizeof(*wf->nodes),
			   (void **)&wf->nodes, &arr);
	json_array_foreach(arr, i, v)
	{
		SUB(path, "$.nodes[%zu]", i);
		parse_node(&c, v, path, &wf->nodes[i]);
	}
	wf->n_stages = list(&c, root, "stages", MAX_STAGES, sizeof(*wf->stages),
			    (void **)&wf->stages, &arr);
	json_array_foreach(arr, i, v)
	{
		SUB(path, "$.stages[%zu]", i);
		parse_stage(&c, v, path, &wf->stages[i]);
	}
	wf->n_flows = list(&c, root, "flows", MAX_FLOWS, sizeof(*wf->flows),
			   (void **)&wf->flows, &arr);
	json_array_foreach(arr, i, v)
	{
		SUB(path, "$.flows[%zu]", i);
		parse_flow(&c, v, path, &wf->flows[i]);
	}
	if (c.oom)
		return -ENOMEM;
	return d->n_total ? -EINVAL : 0;
}
