// SPDX-License-Identifier: Apache-2.0
/* sn_workflow_parse/load/free, lookups, reference values -> appraisal
 * policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/util.h"
#include "internal.h"

void sn_workflow_free(struct sn_workflow *wf)
{
	if (!wf)
		return;
	for (size_t i = 0; i < wf->n_domains; i++)
		free(wf->domains[i].keys);
	for (size_t i = 0; i < wf->n_stages; i++) {
		struct sn_wf_reference *r = &wf->stages[i].ref;

		free(wf->stages[i].nodes);
		free(r->measurements);
		for (int k = 0; k < 4; k++)
			free(r->rtmr[k]);
		free(r->sim_ark_spki_sha256);
	}
	free(wf->domains);
	free(wf->nodes);
	free(wf->stages);
	free(wf->flows);
	free(wf);
}

int sn_workflow_parse(const char *json, size_t len, struct sn_workflow **out,
		      struct sn_wf_diag *diag)
{
	struct sn_wf_diag *d = diag ? diag : calloc(1, sizeof(*d));
	struct sn_workflow *wf = NULL;
	json_t *root = NULL;
	char *canon = NULL;
	size_t clen;
	int err;

	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	err = wf_json_load(json, len, &root, d);
	if (err)
		goto out;
	wf = calloc(1, sizeof(*wf));
	if (!wf) {
		err = -ENOMEM;
		goto out;
	}
	err = wf_parse_tree(root, wf, d);
	if (err == -ENOMEM)
		goto out;
	/* cross checks on whatever parsed (unresolved names are SIZE_MAX) */
	wf_check(wf, d);
	if (d->n_total) {
		err = -EINVAL;
		goto out;
	}
	err = wf_json_canonical(root, &canon, &clen);
	if (err)
		goto out;
	err = wf_sha384_prefixed(SN_WF_DIGEST_PREFIX, canon, clen, wf->digest);
	if (err)
		goto out;
	*out = wf;
	wf = NULL;
out:
	free(canon);
	json_decref(root);
	sn_workflow_free(wf);
	if (d != diag)
		free(d);
	return err;
}

int sn_workflow_load(const char *path, struct sn_workflow **out,
		     struct sn_wf_diag *diag)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = wf_read_input(path, SN_WF_MAX_BYTES, &buf, &len, diag);

	if (err)
		return err;
	err = sn_workflow_parse((const char *)buf, len, out, diag);
	free(buf);
	return err;
}

int sn_workflow_find_domain(const struct sn_workflow *wf, const char *id)
{
	for (size_t i = 0; i < wf->n_domains; i++)
		if (!strcmp(wf->domains[i].id, id))
			return (int)i;
	return -ENOENT;
}

int sn_workflow_find_node(const struct sn_workflow *wf, const char *name)
{
	for (size_t i = 0; i < wf->n_nodes; i++)
		if (!strcmp(wf->nodes[i].name, name))
			return (int)i;
	return -ENOENT;
}

int sn_workflow_find_stage(const struct sn_workflow *wf, const char *name)
{
	for (size_t i = 0; i < wf->n_stages; i++)
		if (!strcmp(wf->stages[i].name, name))
			return (int)i;
	return -ENOENT;
}

const char *sn_wf_appraisal_name(enum sn_wf_appraisal a)
{
	return a == SN_WF_APPRAISAL_TOKEN ? "token" : "evidence";
}

static bool stage_on(const struct sn_wf_stage *s, size_t node)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i] == node)
			return true;
	return false;
}

int sn_workflow_pair_appraisal(const struct sn_workflow *wf, size_t a, size_t b)
{
	bool any = false, evidence = false;

	if (a >= wf->n_nodes || b >= wf->n_nodes ||
	    wf->nodes[a].domain == wf->nodes[b].domain)
		return -EINVAL;
	for (size_t i = 0; i < wf->n_flows; i++) {
		const struct sn_wf_flow *f = &wf->flows[i];
		const struct sn_wf_stage *from = &wf->stages[f->from],
					 *to = &wf->stages[f->to];

		if (!((stage_on(from, a) && stage_on(to, b)) ||
		      (stage_on(from, b) && stage_on(to, a))))
			continue;
		any = true;
		if (f->appraisal != SN_WF_APPRAISAL_TOKEN)
			evidence = true;
	}
	if (!any)
		return -ENOENT;
	return evidence ? SN_WF_APPRAISAL_EVIDENCE : SN_WF_APPRAISAL_TOKEN;
}

static json_t *hex(const uint8_t *p, size_t n)
{
	char s[2 * 64 + 1];

	sn_hex_encode(p, n, s);
	return json_string(s);
}

static json_t *hex_list(const uint8_t *p, size_t n, size_t size)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, hex(p + i * size, size));
	return a;
}

json_t *wf_reference_policy(const struct sn_wf_reference *r)
{
	json_t *p = json_object(), *vm = json_array();

	if (!p || !vm)
		goto fail;
	json_object_set_new(p, "backends",
			    json_pack("[s]", wf_tee_name(r->tee)));
	json_object_set_new(p, "measurements",
			    hex_list((const uint8_t *)r->measurements,
				     r->n_measurements, SN_WF_MEAS_LEN));
	if (r->has_min_tcb) {
		json_t *t = json_pack("{sisisisi}", "bootloader",
				      r->min_tcb_bootloader, "tee",
				      r->min_tcb_tee, "snp", r->min_tcb_snp,
				      "microcode", r->min_tcb_microcode);

		if (t && r->has_min_tcb_fmc)
			json_object_set_new(t, "fmc",
					    json_integer(r->min_tcb_fmc));
		json_object_set_new(p, "min_tcb", t);
	}
	if (r->tee == SN_WF_TEE_TDX) {
		json_t *t = json_object(), *st = json_array();

		json_object_set_new(t, "min_tee_tcb_svn",
				    hex(r->min_tee_tcb_svn, 16));
		for (int k = 0; k < 4; k++) {
			char name[8];

			snprintf(name, sizeof(name), "rtmr%d", k);
			json_object_set_new(
				t, name,
				hex_list((const uint8_t *)r->rtmr[k],
					 r->n_rtmr[k], SN_WF_MEAS_LEN));
		}
		json_object_set_new(t, "mrconfigid",
				    hex(r->mrconfigid, SN_WF_MEAS_LEN));
		json_object_set_new(t, "mrowner",
				    hex(r->mrowner, SN_WF_MEAS_LEN));
		json_object_set_new(t, "mrownerconfig",
				    hex(r->mrownerconfig, SN_WF_MEAS_LEN));
		for (int k = 0; sn_wf_tdx_tcb_status[k]; k++)
			if (r->tdx_tcb_status_mask & (1u << k))
				json_array_append_new(
					st,
					json_string(sn_wf_tdx_tcb_status[k]));
		json_object_set_new(t, "accepted_tcb_status", st);
		json_object_set_new(p, "tdx", t);
	}
	json_object_set_new(p, "allow_debug", json_boolean(r->allow_debug));
	json_object_set_new(p, "allow_migration_agent",
			    json_boolean(r->allow_migration_agent));
	json_object_set_new(p, "allow_smt", json_boolean(r->allow_smt));
	for (int v = 0; v < 4; v++)
		if (r->vmpl_mask & (1u << v))
			json_array_append_new(vm, json_integer(v));
	json_object_set_new(p, "vmpl", vm);
	if (r->tee == SN_WF_TEE_SIM)
		json_object_set_new(
			p, "sim_ark_spki_sha256",
			hex_list((const uint8_t *)r->sim_ark_spki_sha256,
				 r->n_sim_ark, 32));
	return p;
fail:
	json_decref(p);
	json_decref(vm);
	return NULL;
}

int wf_reference_equal(const struct sn_wf_reference *a,
		       const struct sn_wf_reference *b)
{
	json_t *x, *y;
	int eq;

	if (a->tee != b->tee || !a->measurements || !b->measurements ||
	    (a->tee == SN_WF_TEE_TDX &&
	     (!a->rtmr[0] || !b->rtmr[0] || !a->rtmr[1] || !b->rtmr[1] ||
	      !a->rtmr[2] || !b->rtmr[2] || !a->rtmr[3] || !b->rtmr[3])) ||
	    (a->tee == SN_WF_TEE_SIM &&
	     (!a->sim_ark_spki_sha256 || !b->sim_ark_spki_sha256)))
		return a->tee == b->tee; /* incomplete: errors said already */
	x = wf_reference_policy(a);
	y = wf_reference_policy(b);
	eq = x && y && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

int sn_workflow_stage_policy(const struct sn_workflow *wf, size_t stage,
			     char **out)
{
	json_t *pol;
	char *txt;

	if (stage >= wf->n_stages)
		return -EINVAL;
	pol = wf_reference_policy(&wf->stages[stage].ref);
	if (!pol)
		return -ENOMEM;
	json_object_set_new(pol, "comment",
			    json_sprintf("workflow %s v%llu", wf->name,
					 (unsigned long long)wf->version));
	txt = json_dumps(pol, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(pol);
	if (!txt)
		return -ENOMEM;
	*out = txt;
	return 0;
}
