// SPDX-License-Identifier: Apache-2.0
/*
 * Appraisal policy (JSON) and appraisal.  Deny by default: a policy must
 * say what it accepts (docs/attestation.md, "Appraisal policy").
 *   "backends": ["snp", "tdx", "sim"]   required, non-empty
 *   "measurements": ["<96 hex>", ...]   required (launch measurement /
 *                                       MRTD) unless
 *   "allow_any_measurement": true       (loud; warned about)
 *   "min_tcb": {"bootloader": n, "tee": n, "snp": n, "microcode": n,
 *               "fmc": n}              required with "snp" (fmc optional)
 *   "tdx": {...}                        required with "tdx" (policy_tdx.c)
 *   "allow_debug": false, "allow_migration_agent": true,
 *   "allow_smt": true, "vmpl": [0, ...] (default [0])
 *   "report_data": "<128 hex>"
 *   "sim_ark_spki_sha256": ["<64 hex>", ...]   required with "sim"
 * Unknown members are an error (a typo must not weaken a policy).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "appraise.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

#define MAX_LIST 64

struct sn_policy_appraisal {
	bool backend[4]; /* indexed by enum sn_tee */
	size_t n_meas;
	uint8_t meas[MAX_LIST][SN_MEASUREMENT_LEN];
	int min_tcb[5]; /* bootloader tee snp microcode fmc; -1 none */
	bool allow_debug, allow_ma, allow_smt;
	bool vmpl_set;
	uint32_t vmpl_mask;
	bool has_report_data;
	uint8_t report_data[SN_REPORT_DATA_LEN];
	size_t n_sim;
	uint8_t sim[MAX_LIST][SN_SHA256_LEN];
	bool has_meas, any_meas, has_sim;
	struct sn_tdx_policy tdx;
};

static const char *const tcb_names[5] = {"bootloader", "tee", "snp",
					 "microcode", "fmc"};

static void defaults(struct sn_policy_appraisal *p)
{
	memset(p, 0, sizeof(*p)); /* no backend: nothing is accepted */
	for (int i = 0; i < 5; i++)
		p->min_tcb[i] = -1;
	p->allow_ma = p->allow_smt = true;
	p->vmpl_set = true;
	p->vmpl_mask = 1u << 0;
	p->tdx.status_mask = 1u << SN_TCB_UP_TO_DATE;
}

int sn_policy_appraisal_default(struct sn_policy_appraisal **out)
{
	struct sn_policy_appraisal *p = malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	defaults(p);
	*out = p;
	return 0;
}

void sn_policy_appraisal_free(struct sn_policy_appraisal *p)
{
	if (!p)
		return;
	sn_tdx_collateral_free(p->tdx.coll);
	free(p);
}

void sn_policy_appraisal_set_tdx_collateral(struct sn_policy_appraisal *p,
					    struct sn_tdx_collateral *c)
{
	sn_tdx_collateral_free(p->tdx.coll);
	p->tdx.coll = c;
}

static int hex_exact(json_t *v, uint8_t *out, size_t n, const char *what)
{
	if (!json_is_string(v) ||
	    sn_hex_decode(json_string_value(v), json_string_length(v), out,
			  n) != (int)n) {
		sn_err("policy: %s must be a string of %zu hex digits", what,
		       2 * n);
		return -EINVAL;
	}
	return 0;
}

static int hex_list(json_t *arr, uint8_t *out, size_t width, size_t *n,
		    const char *what)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > MAX_LIST) {
		sn_err("policy: \"%s\" must be an array of at most %d strings",
		       what, MAX_LIST);
		return -EINVAL;
	}
	json_array_foreach(arr, i, v)
	{
		if (hex_exact(v, out + i * width, width, what))
			return -EINVAL;
	}
	*n = json_array_size(arr);
	return 0;
}

static int get_bool(json_t *v, bool *out, const char *k)
{
	if (!json_is_boolean(v)) {
		sn_err("policy: \"%s\" must be true or false", k);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

/* A malformed member: "policy: " and what it must be; -EINVAL. */
static int malformed(const char *must)
{
	sn_err("policy: %s", must);
	return -EINVAL;
}

static int parse_backends(json_t *v, struct sn_policy_appraisal *p)
{
	size_t i;
	json_t *b;

	if (!json_is_array(v))
		goto bad;
	memset(p->backend, 0, sizeof(p->backend));
	json_array_foreach(v, i, b)
	{
		enum sn_tee t;

		if (sn_tee_from_name(json_string_value(b), &t))
			goto bad;
		p->backend[t] = true;
	}
	return 0;
bad:
	return malformed("\"backends\" must be an array of \"snp\", \"tdx\", "
			 "\"sim\"");
}

static int parse_tcb(json_t *v, struct sn_policy_appraisal *p)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v))
		goto bad;
	json_object_foreach(v, k, x)
	{
		int i;

		for (i = 0; i < 5; i++)
			if (!strcmp(k, tcb_names[i]))
				break;
		if (i == 5 || !json_is_integer(x) ||
		    json_integer_value(x) < 0 || json_integer_value(x) > 255)
			goto bad;
		p->min_tcb[i] = (int)json_integer_value(x);
	}
	return 0;
bad:
	return malformed(
		"\"min_tcb\" must map bootloader/tee/snp/microcode/fmc "
		"to 0..255");
}

static int parse_vmpl(json_t *v, struct sn_policy_appraisal *p)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v))
		goto bad;
	p->vmpl_set = true;
	p->vmpl_mask = 0;
	json_array_foreach(v, i, x)
	{
		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) > 3)
			goto bad;
		p->vmpl_mask |= 1u << json_integer_value(x);
	}
	if (p->vmpl_mask & ~1u)
		sn_warn("policy: \"vmpl\" accepts a VMPL above 0: a report "
			"requested by less privileged guest code passes");
	return 0;
bad:
	return malformed("\"vmpl\" must be an array of integers 0..3");
}

static int parse_member(const char *k, json_t *v, const char *base,
			struct sn_policy_appraisal *p)
{
	if (!strcmp(k, "backends"))
		return parse_backends(v, p);
	if (!strcmp(k, "measurements")) {
		p->has_meas = true;
		return hex_list(v, &p->meas[0][0], SN_MEASUREMENT_LEN,
				&p->n_meas, k);
	}
	if (!strcmp(k, "allow_any_measurement"))
		return get_bool(v, &p->any_meas, k);
	if (!strcmp(k, "tdx"))
		return sn_tdx_policy_parse(v, base, &p->tdx);
	if (!strcmp(k, "min_tcb"))
		return parse_tcb(v, p);
	if (!strcmp(k, "allow_debug"))
		return get_bool(v, &p->allow_debug, k);
	if (!strcmp(k, "allow_migration_agent"))
		return get_bool(v, &p->allow_ma, k);
	if (!strcmp(k, "allow_smt"))
		return get_bool(v, &p->allow_smt, k);
	if (!strcmp(k, "vmpl"))
		return parse_vmpl(v, p);
	if (!strcmp(k, "report_data")) {
		p->has_report_data = true;
		return hex_exact(v, p->report_data, SN_REPORT_DATA_LEN, k);
	}
	if (!strcmp(k, "sim_ark_spki_sha256")) {
		p->has_sim = true;
		return hex_list(v, &p->sim[0][0], SN_SHA256_LEN, &p->n_sim, k);
	}
	if (!strcmp(k, "comment"))
		return 0;
	sn_err("policy: unknown member \"%s\"", k);
	return -EINVAL;
}

/* Deny by default: everything a policy accepts must be named. */
static int complete(const struct sn_policy_appraisal *p)
{
	bool snp = p->backend[SN_TEE_SNP], tdx = p->backend[SN_TEE_TDX];

	if (!snp && !tdx && !p->backend[SN_TEE_SIM]) {
		sn_err("policy: \"backends\" is required: name the TEEs to "
		       "accept ([\"snp\"], [\"tdx\"], [\"sim\"])");
		return -EINVAL;
	}
	if (p->any_meas && p->has_meas) {
		sn_err("policy: \"measurements\" and "
		       "\"allow_any_measurement\": "
		       "true contradict each other; keep one");
		return -EINVAL;
	}
	if (!p->any_meas && !p->n_meas) {
		sn_err("policy: no launch measurement is allowed: list them in "
		       "\"measurements\" (96 hex digits each), or set "
		       "\"allow_any_measurement\": true to accept any "
		       "software");
		return -EINVAL;
	}
	if (p->any_meas)
		sn_warn("policy: \"allow_any_measurement\": true: ANY software "
			"running in a genuine TEE is accepted");
	if (snp && (p->min_tcb[0] < 0 || p->min_tcb[1] < 0 ||
		    p->min_tcb[2] < 0 || p->min_tcb[3] < 0)) {
		sn_err("policy: \"backends\" lists \"snp\" but there is no "
		       "complete TCB floor: \"min_tcb\" needs bootloader, tee, "
		       "snp and microcode (fmc optional, Turin)");
		return -EINVAL;
	}
	if (tdx && sn_tdx_policy_complete(&p->tdx, p->any_meas))
		return -EINVAL;
	if (!tdx && p->tdx.present) {
		sn_err("policy: \"tdx\" is given but \"backends\" does not "
		       "list \"tdx\"");
		return -EINVAL;
	}
	if (p->backend[SN_TEE_SIM] && !p->has_sim) {
		sn_err("policy: \"backends\" lists \"sim\" but "
		       "\"sim_ark_spki_sha256\" names no simulated ARK");
		return -EINVAL;
	}
	if (p->allow_debug)
		sn_warn("policy: \"allow_debug\": true: debuggable guests, "
			"whose memory the host can read, are accepted");
	return 0;
}

static int policy_parse(const char *json, size_t len, const char *base,
			struct sn_policy_appraisal **out)
{
	struct sn_policy_appraisal *p;
	json_t *root, *v;
	const char *k;
	int err = 0;

	root = sn_json_load_object(json, len, "policy");
	if (!root)
		return -EINVAL;
	p = malloc(sizeof(*p));
	if (!p) {
		json_decref(root);
		return -ENOMEM;
	}
	defaults(p);
	json_object_foreach(root, k, v)
	{
		err = parse_member(k, v, base, p);
		if (err)
			break;
	}
	json_decref(root);
	if (!err)
		err = complete(p);
	if (err) {
		sn_policy_appraisal_free(p);
		return err;
	}
	*out = p;
	return 0;
}

int sn_policy_appraisal_parse(const char *json, size_t len,
			      struct sn_policy_appraisal **out)
{
	return policy_parse(json, len, NULL, out);
}

int sn_policy_appraisal_load(const char *path, struct sn_policy_appraisal **out)
{
	uint8_t *buf;
	size_t len;
	int err;

	err = sn_read_file(path, 1u << 20, &buf, &len);
	if (err) {
		sn_err("cannot read policy %s: %s", path, strerror(-err));
		return err;
	}
	{
		/* relative paths in the policy are relative to its directory */
		char base[PATH_MAX];
		const char *slash = strrchr(path, '/');

		snprintf(base, sizeof(base), "%.*s",
			 slash ? (int)(slash - path) : 1, slash ? path : ".");
		if (slash == path)
			snprintf(base, sizeof(base), "/");
		err = policy_parse((const char *)buf, len, base, out);
	}
	if (err)
		sn_err("%s: invalid appraisal policy", path);
	free(buf);
	return err;
}

static void check_tcb(const struct sn_policy_appraisal *p,
		      const struct sn_tcb *t, struct sn_appraisal *a)
{
	const int have[5] = {t->bootloader, t->tee, t->snp, t->microcode,
			     t->has_fmc ? t->fmc : -1};

	for (int i = 0; i < 5; i++) {
		if (p->min_tcb[i] < 0 || (i == 4 && have[i] < 0))
			continue;
		if (have[i] < p->min_tcb[i])
			sn_appraisal_add(
				a, SN_R_TCB_TOO_LOW,
				"reported %s SPL %d < policy minimum %d",
				tcb_names[i], have[i], p->min_tcb[i]);
	}
}

static void check_claims(const struct sn_policy_appraisal *p,
			 struct sn_appraisal *a)
{
	const struct sn_claims *c = &a->claims;
	bool found = false;

	if ((unsigned)c->tee >= 4 || !p->backend[c->tee])
		sn_appraisal_add(
			a, SN_R_BACKEND_NOT_ALLOWED,
			"backend \"%s\" is not in the policy's \"backends\"",
			sn_tee_name(c->tee));
	for (size_t i = 0; i < p->n_meas && !found; i++)
		found = !memcmp(p->meas[i], c->measurement, SN_MEASUREMENT_LEN);
	if (!p->any_meas && !found) {
		char hex[2 * SN_MEASUREMENT_LEN + 1];

		sn_hex_encode(c->measurement, SN_MEASUREMENT_LEN, hex);
		sn_appraisal_add(a, SN_R_MEASUREMENT_NOT_ALLOWED,
				 "measurement %s is not in the policy", hex);
	}
	if (c->debug && !p->allow_debug)
		sn_appraisal_add(a, SN_R_DEBUG,
				 "%s (set \"allow_debug\": true to accept)",
				 c->tee == SN_TEE_TDX ?
					 "TD attributes DEBUG bit set" :
					 "guest policy DEBUG bit (19) set");
	if (c->tee == SN_TEE_TDX && p->backend[SN_TEE_TDX])
		sn_tdx_policy_check(&p->tdx, p->any_meas, a);
	if (c->tee != SN_TEE_TDX) {
		check_tcb(p, &c->reported_tcb, a);
		if (c->migration_agent && !p->allow_ma)
			sn_appraisal_add(
				a, SN_R_MIGRATION_AGENT,
				"guest policy MIGRATE_MA bit (18) set");
		if (c->smt_allowed && !p->allow_smt)
			sn_appraisal_add(a, SN_R_SMT,
					 "guest policy SMT bit (16) set");
		if (p->vmpl_set &&
		    (c->vmpl > 3 || !(p->vmpl_mask >> c->vmpl & 1)))
			sn_appraisal_add(a, SN_R_VMPL,
					 "VMPL %u is not in the policy",
					 c->vmpl);
	}
	if (p->has_report_data &&
	    sn_memeq_ct(p->report_data, c->report_data, SN_REPORT_DATA_LEN))
		sn_appraisal_add(a, SN_R_REPORT_DATA,
				 "report_data differs from the expected value");
}

int sn_appraise(const struct sn_evidence *ev,
		const struct sn_policy_appraisal *policy, time_t at,
		struct sn_appraisal *out)
{
	struct sn_policy_appraisal *def = NULL;
	struct sn_verify_opts opts = {.at = at};
	struct sn_appraisal *a;
	int err;

	if (!ev || !out)
		return -EINVAL;
	if (!policy) {
		err = sn_policy_appraisal_default(&def);
		if (err)
			return err;
		policy = def;
	}
	a = malloc(sizeof(*a));
	if (!a) {
		err = -ENOMEM;
		goto out;
	}
	opts.sim_ark_spki = (const uint8_t(*)[SN_SHA256_LEN])policy->sim;
	opts.n_sim_ark_spki = policy->n_sim;
	opts.tdx_collateral = policy->tdx.coll;
	err = sn_evidence_verify(ev, &opts, a);
	if (err)
		goto out;
	if (def)
		sn_appraisal_add(a, SN_R_BACKEND_NOT_ALLOWED,
				 "no appraisal policy: nothing is accepted");
	else if (!sn_appraisal_has(a, SN_R_MALFORMED))
		check_claims(policy, a);
	a->accepted = a->authentic && a->n_reasons == 0;
	*out = *a;
out:
	free(a);
	free(def);
	return err;
}
