/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/evidence: the parsers and writers of formats/. */
#ifndef SEALNET_EVIDENCE_FORMATS_H
#define SEALNET_EVIDENCE_FORMATS_H

#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../internal.h"

/* json.c: parse a JSON object; NULL after a message naming what */
json_t *sn_json_load_object(const char *buf, size_t len, const char *what);

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
bool sn_cert_self_signed(X509 *x);
/* x509_cache.c: sn_x509_from_der through the parsed-certificate cache (a
 * new reference: X509_free it), and X509_verify(child, issuer's key)
 * through the good-signature cache. */
X509 *sn_x509_from_der_cached(const uint8_t *der, size_t len);
bool sn_x509_verify_cached(X509 *child, X509 *issuer);
/* Common name of a certificate's subject into buf ("" when none). */
void sn_cert_cn(X509 *x, char *buf, size_t cap);

/* tsm_json.c: the configfs-tsm provider of a TEE ("sev_guest",
 * "tdx_guest") */
const char *sn_tsm_provider(enum sn_tee tee);
/* A configfs-tsm report into ev: outblob (a TDX quote v4 when tdx, else an
 * SNP report) to the claims and, on success, to ev->report (*outblob taken,
 * set to NULL); auxblob (NULL/0: none) as a GHCB certificate table.  what
 * names the outblob in the message. */
int sn_tsm_blobs_parse(struct sn_evidence *ev, bool tdx, uint8_t **outblob,
		       size_t out_len, const uint8_t *aux, size_t aux_len,
		       const char *what);

/* ghcb.c: a GHCB table from ev->certs with the SNP GUIDs (VCEK/VLEK, ASK,
 * ARK) */
int sn_ghcb_certs_build(const struct sn_evidence *ev, uint8_t **out,
			size_t *len);

#endif
