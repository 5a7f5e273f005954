// SPDX-License-Identifier: Apache-2.0
/*
 * The appraisal policy's "tdx" member (issue 9):
 *   "tdx": {
 *     "min_tee_tcb_svn": "<32 hex>",      required: component-wise floor
 *     "rtmr0".."rtmr3", "mrconfigid", "mrowner", "mrownerconfig":
 *         ["<96 hex>", ...] (or one string)  required unless the policy
 *                                            says "allow_any_measurement"
 *     "accepted_tcb_status": ["UpToDate", ...]   default ["UpToDate"]
 *     "collateral": "DIR"   Intel PCS collateral (relative to the policy)
 *   }
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include <jansson.h>

#include "appraise.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

static const char *const reg_names[SN_TDX_NREG] = {
	"rtmr0",      "rtmr1",	 "rtmr2",	  "rtmr3",
	"mrconfigid", "mrowner", "mrownerconfig",
};

static int hex48_list(json_t *v, struct sn_tdx_policy *t, int r)
{
	json_t *one = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
	size_t i;
	json_t *x;
	int err = 0;

	if (!json_is_array(one) || !json_array_size(one) ||
	    json_array_size(one) > SN_TDX_MAX_VALUES)
		err = -EINVAL;
	json_array_foreach(one, i, x)
	{
		if (err || !json_is_string(x) ||
		    sn_hex_decode(json_string_value(x), json_string_length(x),
				  t->reg[r][i], 48) != 48) {
			err = -EINVAL;
			break;
		}
	}
	if (!err) {
		t->n_reg[r] = json_array_size(one);
		t->reg_set[r] = true;
	} else {
		sn_err("policy: \"tdx\".\"%s\" must be a string or an array of "
		       "1..%d strings of 96 hex digits",
		       reg_names[r], SN_TDX_MAX_VALUES);
	}
	json_decref(one);
	return err;
}

static int statuses(json_t *v, struct sn_tdx_policy *t)
{
	enum sn_tcb_status st;
	size_t i;
	json_t *x;

	if (!json_is_array(v) || !json_array_size(v))
		goto bad;
	t->status_mask = 0;
	json_array_foreach(v, i, x)
	{
		if (sn_tcb_status_from_name(json_string_value(x), &st))
			goto bad;
		if (st == SN_TCB_REVOKED) {
			sn_err("policy: \"tdx\".\"accepted_tcb_status\": "
			       "\"Revoked\" can never be accepted");
			return -EINVAL;
		}
		if (st != SN_TCB_UP_TO_DATE)
			sn_warn("policy: TDX TCB status \"%s\" accepted: a "
				"platform or QE that is not up to date (known "
				"vulnerabilities) passes",
				json_string_value(x));
		t->status_mask |= 1u << st;
	}
	return 0;
bad:
	sn_err("policy: \"tdx\".\"accepted_tcb_status\" must be a non-empty "
	       "array of Intel TCB statuses (UpToDate, SWHardeningNeeded, "
	       "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, "
	       "OutOfDate, OutOfDateConfigurationNeeded)");
	return -EINVAL;
}

static int collateral(json_t *v, const char *base, struct sn_tdx_policy *t)
{
	const char *dir = json_string_value(v);
	char path[PATH_MAX];
	int err;

	if (!dir || !*dir) {
		sn_err("policy: \"tdx\".\"collateral\" must be a directory "
		       "path");
		return -EINVAL;
	}
	if (dir[0] != '/' && base) {
		if (snprintf(path, sizeof(path), "%s/%s", base, dir) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		dir = path;
	}
	sn_tdx_collateral_free(t->coll);
	t->coll = NULL;
	err = sn_tdx_collateral_load(dir, &t->coll);
	if (err)
		sn_err("policy: \"tdx\".\"collateral\": %s could not be loaded",
		       dir);
	return err;
}

int sn_tdx_policy_parse(json_t *v, const char *base, struct sn_tdx_policy *t)
{
	const char *k;
	json_t *x;
	int r;

	if (!json_is_object(v)) {
		sn_err("policy: \"tdx\" must be an object");
		return -EINVAL;
	}
	t->present = true;
	json_object_foreach(v, k, x)
	{
		for (r = 0; r < SN_TDX_NREG; r++)
			if (!strcmp(k, reg_names[r]))
				break;
		if (r < SN_TDX_NREG) {
			if (hex48_list(x, t, r))
				return -EINVAL;
		} else if (!strcmp(k, "min_tee_tcb_svn")) {
			if (!json_is_string(x) ||
			    sn_hex_decode(json_string_value(x),
					  json_string_length(x), t->min_svn,
					  16) != 16) {
				sn_err("policy: \"tdx\".\"min_tee_tcb_svn\" "
				       "must be 32 hex digits (the 16 "
				       "TEE_TCB_SVN bytes)");
				return -EINVAL;
			}
			t->has_min_svn = true;
		} else if (!strcmp(k, "accepted_tcb_status")) {
			if (statuses(x, t))
				return -EINVAL;
		} else if (!strcmp(k, "collateral")) {
			if (collateral(x, base, t))
				return -EINVAL;
		} else {
			sn_err("policy: unknown member \"tdx\".\"%s\"", k);
			return -EINVAL;
		}
	}
	return 0;
}

int sn_tdx_policy_complete(const struct sn_tdx_policy *t, bool any)
{
	if (!t->present || !t->has_min_svn) {
		sn_err("policy: \"backends\" lists \"tdx\" but there is no TCB "
		       "floor: add \"tdx\": {\"min_tee_tcb_svn\": \"<32 "
		       "hex>\", "
		       "...}");
		return -EINVAL;
	}
	for (int r = 0; r < SN_TDX_NREG && !any; r++)
		if (!t->reg_set[r]) {
			sn_err("policy: \"backends\" lists \"tdx\" but "
			       "\"tdx\".\"%s\" is missing: MRTD covers only "
			       "the firmware; name the allowed value(s) of "
			       "every RTMR, MRCONFIGID, MROWNER and "
			       "MROWNERCONFIG (or set "
			       "\"allow_any_measurement\": true)",
			       reg_names[r]);
			return -EINVAL;
		}
	return 0;
}

static void check_reg(const struct sn_tdx_policy *t, int r,
		      const uint8_t have[48], struct sn_appraisal *a)
{
	char hex[97];

	for (size_t i = 0; i < t->n_reg[r]; i++)
		if (!memcmp(t->reg[r][i], have, 48))
			return;
	sn_hex_encode(have, 48, hex);
	sn_appraisal_add(a, r <= SN_TDX_RTMR3 ? SN_R_RTMR : SN_R_TD_CONFIG,
			 "%s %s is not in the policy", reg_names[r], hex);
}

void sn_tdx_policy_check(const struct sn_tdx_policy *t, bool any,
			 struct sn_appraisal *a)
{
	const struct sn_claims *c = &a->claims;
	const uint8_t *regs[SN_TDX_NREG] = {
		c->rtmr[0],    c->rtmr[1], c->rtmr[2],	     c->rtmr[3],
		c->mrconfigid, c->mrowner, c->mrownerconfig,
	};
	const struct sn_tdx_tcb_result *s = &a->tdx_tcb;

	for (int r = 0; r < SN_TDX_NREG && !any; r++)
		if (t->reg_set[r])
			check_reg(t, r, regs[r], a);
	for (int i = 0; i < 16; i++)
		if (t->has_min_svn && c->tee_tcb_svn[i] < t->min_svn[i])
			sn_appraisal_add(
				a, SN_R_TCB_TOO_LOW,
				"TEE_TCB_SVN[%d] = %u < policy minimum "
				"%u",
				i, c->tee_tcb_svn[i], t->min_svn[i]);
	if (!s->evaluated) {
		sn_appraisal_add(a, SN_R_COLLATERAL_MISSING,
				 "no TDX collateral was evaluated: give Intel "
				 "PCS collateral (\"tdx\".\"collateral\" or "
				 "--tdx-collateral DIR)");
		return;
	}
	if (!(t->status_mask >> s->platform & 1))
		sn_appraisal_add(a, SN_R_TCB_STATUS,
				 "platform TCB status %s (tcbDate %s) is not "
				 "in \"accepted_tcb_status\"",
				 sn_tcb_status_name(s->platform),
				 s->tcb_date[0] ? s->tcb_date : "none");
	if (!(t->status_mask >> s->qe & 1))
		sn_appraisal_add(a, SN_R_TCB_STATUS,
				 "QE TCB status %s is not in "
				 "\"accepted_tcb_status\"",
				 sn_tcb_status_name(s->qe));
}
