/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/evidence: the appraisal policy of appraise/. */
#ifndef SEALNET_EVIDENCE_APPRAISE_H
#define SEALNET_EVIDENCE_APPRAISE_H

#include <stdbool.h>

#include "../verify/verify.h"

/* policy_tdx.c: the appraisal policy's "tdx" member */
enum {
	SN_TDX_RTMR0,
	SN_TDX_RTMR1,
	SN_TDX_RTMR2,
	SN_TDX_RTMR3,
	SN_TDX_MRCONFIGID,
	SN_TDX_MROWNER,
	SN_TDX_MROWNERCONFIG,
	SN_TDX_NREG,
};
#define SN_TDX_MAX_VALUES 16
struct sn_tdx_policy {
	bool present;
	bool has_min_svn;
	uint8_t min_svn[16];
	bool reg_set[SN_TDX_NREG];
	size_t n_reg[SN_TDX_NREG];
	uint8_t reg[SN_TDX_NREG][SN_TDX_MAX_VALUES][48];
	uint32_t status_mask; /* 1 << enum sn_tcb_status accepted */
	struct sn_tdx_collateral *coll;
};
struct json_t;
int sn_tdx_policy_parse(struct json_t *v, const char *base_dir,
			struct sn_tdx_policy *t);
/* every register named unless any_measurement; -EINVAL and a message */
int sn_tdx_policy_complete(const struct sn_tdx_policy *t, bool any_measurement);
void sn_tdx_policy_check(const struct sn_tdx_policy *t, bool any_measurement,
			 struct sn_appraisal *a);

#endif
