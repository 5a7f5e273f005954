// SPDX-License-Identifier: Apache-2.0
/* Rejection reasons: stable names, human strings, collection. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static const struct {
	const char *name;
	const char *str;
} reasons[SN_R_COUNT] = {
	[SN_R_NONE] = {"none", "no problem"},
	[SN_R_MALFORMED] = {"malformed", "evidence is malformed"},
	[SN_R_UNSUPPORTED] = {"unsupported",
			      "unsupported version or algorithm"},
	[SN_R_NO_SIGNER_CERT] =
		{"no-signer-cert",
		 "no certificate for the signing key (VCEK/VLEK/PCK)"},
	[SN_R_SIGNER_KIND] = {"signer-kind", "signing certificate kind differs "
					     "from the report's signer_info"},
	[SN_R_BAD_SIGNATURE] = {"bad-signature",
				"report/quote signature does not verify"},
	[SN_R_CHAIN_INCOMPLETE] =
		{"chain-incomplete",
		 "certificate chain incomplete (intermediate or root missing)"},
	[SN_R_CHAIN_SIGNATURE] =
		{"chain-signature",
		 "a certificate in the chain has an invalid signature"},
	[SN_R_CERT_EXPIRED] = {"cert-expired", "a certificate has expired"},
	[SN_R_CERT_NOT_YET_VALID] = {"cert-not-yet-valid",
				     "a certificate is not yet valid"},
	[SN_R_CERT_MALFORMED] = {"cert-malformed",
				 "a certificate could not be parsed"},
	[SN_R_ROOT_NOT_TRUSTED] = {"root-not-trusted",
				   "chain root is not a pinned vendor root nor "
				   "an allowed simulated root"},
	[SN_R_TCB_MISMATCH] =
		{"tcb-mismatch",
		 "certificate TCB differs from the report's reported_tcb"},
	[SN_R_CHIP_ID_MISMATCH] =
		{"chip-id-mismatch",
		 "certificate hwID differs from the report's chip_id"},
	[SN_R_QE_SIGNATURE] = {"qe-signature",
			       "QE report is not signed by the PCK key"},
	[SN_R_QE_BINDING] =
		{"qe-binding",
		 "QE report_data does not bind the attestation key"},
	[SN_R_BACKEND_NOT_ALLOWED] = {"backend-not-allowed",
				      "TEE backend not allowed by policy"},
	[SN_R_MEASUREMENT_NOT_ALLOWED] =
		{"measurement-not-allowed",
		 "launch measurement not in the policy's list"},
	[SN_R_TCB_TOO_LOW] = {"tcb-too-low",
			      "TCB component below the policy minimum"},
	[SN_R_DEBUG] = {"debug",
			"guest is debuggable and policy forbids debug"},
	[SN_R_MIGRATION_AGENT] =
		{"migration-agent",
		 "migration agent allowed and policy forbids it"},
	[SN_R_SMT] = {"smt", "SMT allowed and policy forbids it"},
	[SN_R_VMPL] = {"vmpl", "VMPL not allowed by policy"},
	[SN_R_REPORT_DATA] = {"report-data",
			      "report_data differs from the expected value"},
	[SN_R_COLLATERAL_MISSING] =
		{"collateral-missing",
		 "no TDX collateral to judge the TCB status with"},
	[SN_R_COLLATERAL_SIGNATURE] =
		{"collateral-signature",
		 "TDX collateral (TCB info, QE identity, CRL) signature or "
		 "signing chain invalid"},
	[SN_R_COLLATERAL_EXPIRED] = {"collateral-expired",
				     "TDX collateral outside its validity "
				     "(issueDate..nextUpdate)"},
	[SN_R_COLLATERAL_MISMATCH] =
		{"collateral-mismatch",
		 "TDX collateral is for another platform or TDX module"},
	[SN_R_CERT_REVOKED] = {"cert-revoked",
			       "a certificate is revoked by its CRL"},
	[SN_R_QE_IDENTITY] = {"qe-identity",
			      "QE report differs from Intel's QE identity"},
	[SN_R_TCB_STATUS] = {"tcb-status",
			     "TCB status not accepted by the policy"},
	[SN_R_RTMR] = {"rtmr-mismatch", "an RTMR is not in the policy"},
	[SN_R_WORKFLOW] = {"workflow-mismatch",
			   "the peer runs another workflow manifest, or is not "
			   "the node the manifest names"},
	[SN_R_TOKEN] = {"token-refused",
			"the peer's KBS token is invalid, expired, for another "
			"node or TLS key, or revoked"},
	[SN_R_TD_CONFIG] = {"td-config-mismatch",
			    "MRCONFIGID, MROWNER or MROWNERCONFIG is not in "
			    "the policy"},
};

const char *sn_reason_name(enum sn_reason r)
{
	if ((unsigned)r >= SN_R_COUNT || !reasons[r].name)
		return "unknown";
	return reasons[r].name;
}

const char *sn_reason_str(enum sn_reason r)
{
	if ((unsigned)r >= SN_R_COUNT || !reasons[r].str)
		return "unknown reason";
	return reasons[r].str;
}

void sn_appraisal_add(struct sn_appraisal *a, enum sn_reason r, const char *fmt,
		      ...)
{
	struct sn_reason_entry *e;
	va_list ap;

	a->accepted = false;
	if (a->n_reasons >= SN_MAX_REASONS)
		return;
	e = &a->reasons[a->n_reasons++];
	e->code = r;
	e->detail[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
		va_end(ap);
	}
}

bool sn_appraisal_has(const struct sn_appraisal *a, enum sn_reason r)
{
	for (size_t i = 0; i < a->n_reasons; i++)
		if (a->reasons[i].code == r)
			return true;
	return false;
}
