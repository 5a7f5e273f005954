// SPDX-License-Identifier: Apache-2.0
/*
 * AMD SEV-SNP attestation report (ABI spec 56860, ATTESTATION_REPORT):
 * 1184 bytes, little-endian, versions 2, 3 and 5 (4 is read like 3).
 */
#include <errno.h>

#include "formats.h"
#include "sealnet/log.h"

/* field offsets */
#define OFF_VERSION	  0x000
#define OFF_GUEST_SVN	  0x004
#define OFF_POLICY	  0x008
#define OFF_VMPL	  0x030
#define OFF_SIG_ALGO	  0x034
#define OFF_CURRENT_TCB	  0x038
#define OFF_PLATFORM_INFO 0x040
#define OFF_SIGNER_INFO	  0x048
#define OFF_REPORT_DATA	  0x050
#define OFF_MEASUREMENT	  0x090
#define OFF_HOST_DATA	  0x0C0
#define OFF_REPORTED_TCB  0x180
#define OFF_CPUID_FAM	  0x188
#define OFF_CPUID_MOD	  0x189
#define OFF_CPUID_STEP	  0x18A
#define OFF_CHIP_ID	  0x1A0
#define OFF_COMMITTED_TCB 0x1E0
#define OFF_LAUNCH_TCB	  0x1F0

void sn_snp_tcb_decode(uint64_t raw, bool turin, struct sn_tcb *out)
{
	memset(out, 0, sizeof(*out));
	out->raw = raw;
	out->microcode = (uint8_t)(raw >> 56);
	if (turin) {
		out->fmc = (uint8_t)raw;
		out->has_fmc = true;
		out->bootloader = (uint8_t)(raw >> 8);
		out->tee = (uint8_t)(raw >> 16);
		out->snp = (uint8_t)(raw >> 24);
	} else {
		out->bootloader = (uint8_t)raw;
		out->tee = (uint8_t)(raw >> 8);
		out->snp = (uint8_t)(raw >> 48);
	}
}

uint64_t sn_snp_tcb_encode(const struct sn_tcb *t, bool turin)
{
	uint64_t v = (uint64_t)t->microcode << 56;

	if (turin)
		v |= (uint64_t)t->fmc | (uint64_t)t->bootloader << 8 |
		     (uint64_t)t->tee << 16 | (uint64_t)t->snp << 24;
	else
		v |= (uint64_t)t->bootloader | (uint64_t)t->tee << 8 |
		     (uint64_t)t->snp << 48;
	return v;
}

static enum sn_amd_product product_of(uint8_t fam, uint8_t mod)
{
	if (fam == 0x1A)
		return SN_AMD_TURIN;
	if (fam == 0x19 && mod < 0x10)
		return SN_AMD_MILAN;
	if (fam == 0x19)
		return SN_AMD_GENOA;
	return SN_AMD_UNKNOWN;
}

int sn_snp_report_parse(const uint8_t *b, size_t len, struct sn_claims *out)
{
	struct sn_claims c;
	bool turin;

	if (len != SN_SNP_REPORT_SIZE) {
		sn_dbg("SNP report: %zu bytes, expected %d", len,
		       SN_SNP_REPORT_SIZE);
		return len > SN_SNP_REPORT_SIZE ? -E2BIG : -EINVAL;
	}
	memset(&c, 0, sizeof(c));
	c.version = sn_le32(b + OFF_VERSION);
	if (c.version < 2 || c.version > 5) {
		sn_dbg("SNP report: unsupported version %u", c.version);
		return -ENOTSUP;
	}
	c.tee = SN_TEE_SNP;
	c.guest_svn = sn_le32(b + OFF_GUEST_SVN);
	c.policy = sn_le64(b + OFF_POLICY);
	c.debug = c.policy & SN_SNP_POLICY_DEBUG;
	c.migration_agent = c.policy & SN_SNP_POLICY_MIGRATE_MA;
	c.smt_allowed = c.policy & SN_SNP_POLICY_SMT;
	c.vmpl = sn_le32(b + OFF_VMPL);
	c.platform_info = sn_le64(b + OFF_PLATFORM_INFO);
	c.signing_key = (sn_le32(b + OFF_SIGNER_INFO) >> 2) & 7;
	memcpy(c.report_data, b + OFF_REPORT_DATA, SN_REPORT_DATA_LEN);
	memcpy(c.measurement, b + OFF_MEASUREMENT, SN_MEASUREMENT_LEN);
	memcpy(c.host_data, b + OFF_HOST_DATA, sizeof(c.host_data));
	memcpy(c.chip_id, b + OFF_CHIP_ID, SN_CHIP_ID_LEN);
	if (c.version >= 3) {
		c.cpuid_fam = b[OFF_CPUID_FAM];
		c.cpuid_mod = b[OFF_CPUID_MOD];
		c.cpuid_step = b[OFF_CPUID_STEP];
		c.product = product_of(c.cpuid_fam, c.cpuid_mod);
	}
	turin = c.product == SN_AMD_TURIN;
	sn_snp_tcb_decode(sn_le64(b + OFF_REPORTED_TCB), turin,
			  &c.reported_tcb);
	sn_snp_tcb_decode(sn_le64(b + OFF_CURRENT_TCB), turin, &c.current_tcb);
	sn_snp_tcb_decode(sn_le64(b + OFF_COMMITTED_TCB), turin,
			  &c.committed_tcb);
	sn_snp_tcb_decode(sn_le64(b + OFF_LAUNCH_TCB), turin, &c.launch_tcb);
	*out = c;
	return 0;
}
