// SPDX-License-Identifier: Apache-2.0
/* A stage's reference values (docs/workflow.md, "Reference values"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

static void parse_tdx(struct wf_ctx *c, json_t *o, const char *path,
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

	if (!wf_is_object(c, o, path, "TDX reference values"))
		return;
	wf_only(c, o, path, allowed, "reference.tdx");
	wf_get_hex(c, o, path, "min_tee_tcb_svn", true, r->min_tee_tcb_svn, 16,
		   "TEE_TCB_SVN floor");
	for (i = 0; i < 4; i++) {
		char k[8];

		snprintf(k, sizeof(k), "rtmr%zu", i);
		wf_get_hex_list(c, o, path, k, true, SN_WF_MEAS_LEN,
				"an RTMR value, SHA-384", (void **)&r->rtmr[i],
				&r->n_rtmr[i]);
	}
	wf_get_hex(c, o, path, "mrconfigid", true, r->mrconfigid,
		   SN_WF_MEAS_LEN, "MRCONFIGID");
	wf_get_hex(c, o, path, "mrowner", true, r->mrowner, SN_WF_MEAS_LEN,
		   "MROWNER");
	wf_get_hex(c, o, path, "mrownerconfig", true, r->mrownerconfig,
		   SN_WF_MEAS_LEN, "MROWNERCONFIG");
	r->tdx_tcb_status_mask = 1; /* UpToDate */
	if (json_object_get(o, "accepted_tcb_status") &&
	    !wf_get_array(c, o, path, "accepted_tcb_status", true, 8, &st)) {
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
				       wf_sub(sub,
					      "%s.accepted_tcb_status[%zu]",
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

void wf_parse_reference(struct wf_ctx *c, json_t *o, const char *path,
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
	if (!wf_is_object(c, o, path,
			  "the reference values the stage's TEE must show"))
		return;
	wf_only(c, o, path, allowed, "reference");
	if (wf_get_tee(c, o, path, &r->tee))
		return;
	wf_get_hex_list(c, o, path, "measurements", true, SN_WF_MEAS_LEN,
			"a launch measurement: SNP MEASUREMENT or TDX MRTD, "
			"SHA-384",
			(void **)&r->measurements, &r->n_measurements);
	t = json_object_get(o, "min_tcb");
	wf_sub(sub, "%s.min_tcb", path);
	if (t && r->tee == SN_WF_TEE_TDX) {
		wf_err(c->d, sub,
		       "is for snp/sim; a tdx reference gives "
		       "tdx.min_tee_tcb_svn instead");
	} else if (t && wf_is_object(c, t, sub, "the SNP TCB floor")) {
		wf_only(c, t, sub, tallowed, "min_tcb");
		r->has_min_tcb = true;
		if (!wf_get_uint(c, t, sub, "bootloader", true, 0, 255, &x))
			r->min_tcb_bootloader = (uint8_t)x;
		if (!wf_get_uint(c, t, sub, "tee", true, 0, 255, &x))
			r->min_tcb_tee = (uint8_t)x;
		if (!wf_get_uint(c, t, sub, "snp", true, 0, 255, &x))
			r->min_tcb_snp = (uint8_t)x;
		if (!wf_get_uint(c, t, sub, "microcode", true, 0, 255, &x))
			r->min_tcb_microcode = (uint8_t)x;
		if (!wf_get_uint(c, t, sub, "fmc", false, 0, 255, &x)) {
			r->has_min_tcb_fmc = true;
			r->min_tcb_fmc = (uint8_t)x;
		}
	} else if (!t && r->tee == SN_WF_TEE_SNP) {
		wf_err(c->d, sub,
		       "missing: an snp reference needs a TCB floor "
		       "{bootloader, tee, snp, microcode}");
	}
	t = json_object_get(o, "tdx");
	wf_sub(sub, "%s.tdx", path);
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
	wf_get_bool(c, o, path, "allow_debug", &r->allow_debug);
	wf_get_bool(c, o, path, "allow_migration_agent",
		    &r->allow_migration_agent);
	wf_get_bool(c, o, path, "allow_smt", &r->allow_smt);
	if (json_object_get(o, "vmpl") &&
	    !wf_get_array(c, o, path, "vmpl", true, 4, &vm)) {
		r->vmpl_mask = 0;
		json_array_foreach(vm, i, v)
		{
			json_int_t n = json_integer_value(v);

			if (!json_is_integer(v) || n < 0 || n > 3)
				wf_err(c->d,
				       wf_sub(sub, "%s.vmpl[%zu]", path, i),
				       "must be a VMPL, 0..3");
			else
				r->vmpl_mask |= (uint8_t)(1u << n);
		}
	}
	wf_sub(sub, "%s.sim_ark_spki_sha256", path);
	if (r->tee == SN_WF_TEE_SIM)
		wf_get_hex_list(c, o, path, "sim_ark_spki_sha256", true, 32,
				"SHA-256 of the simulated ARK's SPKI; `sealnet "
				"sim-tee init` prints it",
				(void **)&r->sim_ark_spki_sha256,
				&r->n_sim_ark);
	else if (json_object_get(o, "sim_ark_spki_sha256"))
		wf_err(c->d, sub, "only for tee \"sim\": remove it");
}
