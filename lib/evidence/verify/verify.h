/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/evidence: the verifiers of verify/. */
#ifndef SEALNET_EVIDENCE_VERIFY_H
#define SEALNET_EVIDENCE_VERIFY_H

#include "../formats/formats.h"

/* cert_checks.c */
/* Check validity of x at time at; adds EXPIRED / NOT_YET_VALID. */
void sn_cert_check_time(X509 *x, time_t at, const char *what,
			struct sn_appraisal *a);
/* Find the issuer of x among certs (by name, then signature); NULL. */
X509 *sn_cert_find_issuer(X509 *x, X509 **certs, size_t n);
/* ECDSA verify over data with raw r||s big-endian or LE 72-byte pairs */
int sn_ecdsa_verify_rs(EVP_PKEY *key, const EVP_MD *md, const uint8_t *data,
		       size_t len, const uint8_t *r, const uint8_t *s,
		       size_t comp_len, bool little_endian);

/* tdx_collateral.c: parsed Intel PCS collateral (see evidence.h) */
#define SN_TDX_MAX_LEVELS  32
#define SN_TDX_MAX_MODULES 8
struct sn_tdx_level {
	uint8_t sgx[16];
	uint16_t pcesvn;
	uint8_t tdx[16];
	enum sn_tcb_status status;
	char date[24];
};
struct sn_isv_level {
	uint16_t isvsvn;
	enum sn_tcb_status status;
	char date[24];
};
struct sn_tdx_module {
	char id[16]; /* "TDX_01" */
	uint8_t mrsigner[48], attr[8], attr_mask[8];
	size_t n_levels;
	struct sn_isv_level levels[SN_TDX_MAX_LEVELS];
};
struct sn_tdx_collateral {
	/* TCB info: signed bytes, signature, contents */
	uint8_t *tcb_raw;
	size_t tcb_raw_len;
	uint8_t tcb_sig[64];
	time_t tcb_issue, tcb_next;
	uint8_t fmspc[6], pce_id[2];
	uint32_t tcb_eval_num;
	uint8_t module_mrsigner[48], module_attr[8], module_attr_mask[8];
	size_t n_levels;
	struct sn_tdx_level levels[SN_TDX_MAX_LEVELS];
	size_t n_modules;
	struct sn_tdx_module modules[SN_TDX_MAX_MODULES];
	/* QE identity */
	uint8_t *qe_raw;
	size_t qe_raw_len;
	uint8_t qe_sig[64];
	time_t qe_issue, qe_next;
	uint8_t qe_miscselect[4], qe_miscselect_mask[4];
	uint8_t qe_attr[16], qe_attr_mask[16], qe_mrsigner[32];
	uint16_t qe_isvprodid;
	size_t n_qe_levels;
	struct sn_isv_level qe_levels[SN_TDX_MAX_LEVELS];
	/* issuer chain and CRLs */
	X509 *chain[4];
	size_t n_chain;
	X509_CRL *pck_crl, *root_crl;
};
/* "2023-06-18T08:42:58Z" (fraction allowed) */
int sn_pcs_time(const char *s, time_t *out);

/* tdx_tcb.c: PCK certificate SGX extensions */
struct sn_pck_tcb {
	uint8_t comp[16]; /* SGX TCB components 1..16 */
	uint16_t pcesvn;
	uint8_t pce_id[2];
	uint8_t fmspc[6];
};
int sn_pck_tcb_parse(X509 *pck, struct sn_pck_tcb *out);
/* Platform TCB status: tcbInfo levels against the PCK TCB, PCESVN and the
 * quote's TEE_TCB_SVN; *level gets the matching level (NULL: none). */
enum sn_tcb_status sn_tdx_platform_status(const struct sn_tdx_collateral *c,
					  const struct sn_pck_tcb *pck,
					  const uint8_t tee_tcb_svn[16],
					  const char **date);
/* Every collateral check; fills a->tdx_tcb. */
void sn_tdx_collateral_check(const struct sn_tdx_collateral *c,
			     const struct sn_tdx_parts *p, X509 *pck,
			     X509 **pool, size_t n_pool, time_t at,
			     struct sn_appraisal *a);

/* tdx_tcb.c: SHA-256 of the Intel SGX Root CA SubjectPublicKeyInfo */
extern const uint8_t sn_intel_root_spki[SN_SHA256_LEN];

/* verify_snp.c / verify_tdx.c */
void sn_verify_snp(const struct sn_evidence *ev,
		   const struct sn_verify_opts *opts, struct sn_appraisal *a);
void sn_verify_tdx(const struct sn_evidence *ev,
		   const struct sn_verify_opts *opts, struct sn_appraisal *a);

#endif
