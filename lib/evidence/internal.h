/* SPDX-License-Identifier: Apache-2.0 */
/* Private helpers shared by the lib/evidence sources. */
#ifndef SEALNET_EVIDENCE_INTERNAL_H
#define SEALNET_EVIDENCE_INTERNAL_H

#include <stdint.h>
#include <string.h>

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
