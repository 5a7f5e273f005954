/* SPDX-License-Identifier: Apache-2.0 */
/* Private helpers shared by the lib/evidence sources. */
#ifndef SEALNET_EVIDENCE_INTERNAL_H
#define SEALNET_EVIDENCE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sealnet/evidence.h"

static inline uint16_t sn_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t sn_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t sn_le64(const uint8_t *p)
{
	return (uint64_t)sn_le32(p) | (uint64_t)sn_le32(p + 4) << 32;
}

static inline void sn_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void sn_put_le64(uint8_t *p, uint64_t v)
{
	sn_put_le32(p, (uint32_t)v);
	sn_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* reasons.c */
void sn_appraisal_add(struct sn_appraisal *a, enum sn_reason r, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/* b64.c: base64url (and standard base64) without padding requirements */
int sn_b64_decode(const char *in, size_t in_len, uint8_t **out,
		  size_t *out_len);
int sn_b64url_encode(const uint8_t *in, size_t len, char **out);

/* snp_report.c */
void sn_snp_tcb_decode(uint64_t raw, bool turin, struct sn_tcb *out);
uint64_t sn_snp_tcb_encode(const struct sn_tcb *t, bool turin);

/* tdx_quote.c: the pieces of a quote v4 the verifier needs */
#define SN_TDX_HEADER_LEN    48
#define SN_TDX_BODY_LEN	     584
#define SN_TDX_QE_REPORT_LEN 384
struct sn_tdx_parts {
	const uint8_t *signed_data; /* header + TD report body */
	size_t signed_len;
	const uint8_t *sig;	  /* 64: r || s, big-endian */
	const uint8_t *att_key;	  /* 64: x || y */
	const uint8_t *qe_report; /* 384 */
	const uint8_t *qe_sig;	  /* 64 */
	const uint8_t *auth;	  /* QE authentication data */
	size_t auth_len;
	const uint8_t *pck_pem; /* PCK certificate chain, PEM */
	size_t pck_len;
};
int sn_tdx_quote_split(const uint8_t *b, size_t len, struct sn_tdx_parts *p);

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

/* verify_tdx.c: SHA-256 of the Intel SGX Root CA SubjectPublicKeyInfo */
extern const uint8_t sn_intel_root_spki[SN_SHA256_LEN];

/* certs.c */
X509 *sn_x509_from_der(const uint8_t *der, size_t len);
int sn_spki_sha256(X509 *x, uint8_t out[SN_SHA256_LEN]);
/* Check validity of x at time at; adds EXPIRED / NOT_YET_VALID. */
void sn_cert_check_time(X509 *x, time_t at, const char *what,
			struct sn_appraisal *a);
/* Find the issuer of x among certs (by name, then signature); NULL. */
X509 *sn_cert_find_issuer(X509 *x, X509 **certs, size_t n);
bool sn_cert_self_signed(X509 *x);
/* ECDSA verify over data with raw r||s big-endian or LE 72-byte pairs */
int sn_ecdsa_verify_rs(EVP_PKEY *key, const EVP_MD *md, const uint8_t *data,
		       size_t len, const uint8_t *r, const uint8_t *s,
		       size_t comp_len, bool little_endian);
/* Common name of a certificate's subject into buf ("" when none). */
void sn_cert_cn(X509 *x, char *buf, size_t cap);

/* sim.c */
extern const struct sn_tcb sn_sim_tcb;

/* evidence.c */
int sn_evidence_new(struct sn_evidence **out);
int sn_evidence_add_der(struct sn_evidence *ev, const uint8_t *der, size_t len);
/* GHCB table from ev->certs with the SNP GUIDs (VCEK/VLEK, ASK, ARK) */
int sn_ghcb_certs_build(const struct sn_evidence *ev, uint8_t **out,
			size_t *len);

/* verify_snp.c / verify_tdx.c */
void sn_verify_snp(const struct sn_evidence *ev,
		   const struct sn_verify_opts *opts, struct sn_appraisal *a);
void sn_verify_tdx(const struct sn_evidence *ev,
		   const struct sn_verify_opts *opts, struct sn_appraisal *a);

#endif
