// SPDX-License-Identifier: Apache-2.0
/*
 * TDX quote v4 authenticity: quote signature (ECDSA P-256 / SHA-256 by the
 * attestation key over header + TD report body), QE report signed by the
 * PCK, QE report_data[0..32] == SHA-256(attestation key || QE auth data),
 * PCK -> intermediate -> Intel SGX Root CA (pinned); with collateral
 * (opts->tdx_collateral) the checks of tdx_tcb.c (docs/attestation.md).
 */
#include <errno.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "verify.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

#define QE_REPORT_DATA 320
#define MAX_CHAIN      5

static EVP_PKEY *p256_key(const uint8_t xy[64])
{
	uint8_t pt[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;

	if (!ctx)
		return NULL;
	pt[0] = 0x04;
	memcpy(pt + 1, xy, 64);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return k;
}

/* PEM chain from the quote, then the caller's extra certificates. */
static size_t load_pool(const struct sn_tdx_parts *p,
			const struct sn_evidence *ev, X509 **xs,
			struct sn_appraisal *a)
{
	BIO *bio = BIO_new_mem_buf(p->pck_pem, (int)p->pck_len);
	size_t n = 0;
	X509 *x;

	while (bio && n < SN_EVIDENCE_MAX_CERTS &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		xs[n++] = x;
	BIO_free(bio);
	ERR_clear_error();
	if (!n)
		sn_appraisal_add(a, SN_R_NO_SIGNER_CERT,
				 "quote certification data (type 5) holds no "
				 "PEM PCK certificate");
	for (size_t i = 0; i < ev->n_certs && n < SN_EVIDENCE_MAX_CERTS; i++) {
		x = sn_x509_from_der_cached(ev->certs[i].der, ev->certs[i].len);
		if (x)
			xs[n++] = x;
	}
	ERR_clear_error();
	return n;
}

static void verify_chain(X509 *leaf, X509 **xs, size_t n, time_t at,
			 struct sn_appraisal *a)
{
	static const char *const names[MAX_CHAIN] = {
		"PCK certificate", "PCK CA certificate", "root certificate",
		"certificate 4", "certificate 5"};
	X509 *cur = leaf;
	uint8_t h[SN_SHA256_LEN];
	int depth;

	for (depth = 0; depth < MAX_CHAIN; depth++) {
		X509 *iss;

		sn_cert_check_time(cur, at, names[depth], a);
		if (sn_cert_self_signed(cur))
			break;
		iss = sn_cert_find_issuer(cur, xs, n);
		if (!iss) {
			sn_appraisal_add(a, SN_R_CHAIN_INCOMPLETE,
					 "no certificate issued the %s",
					 names[depth]);
			return;
		}
		if (!sn_x509_verify_cached(cur, iss))
			sn_appraisal_add(a, SN_R_CHAIN_SIGNATURE,
					 "%s signature does not verify",
					 names[depth]);
		ERR_clear_error();
		cur = iss;
	}
	ERR_clear_error();
	if (depth == MAX_CHAIN) {
		sn_appraisal_add(a, SN_R_CHAIN_INCOMPLETE,
				 "PCK chain longer than %d", MAX_CHAIN);
		return;
	}
	if (sn_spki_sha256(cur, h) ||
	    memcmp(h, sn_intel_root_spki, sizeof(h))) {
		sn_appraisal_add(
			a, SN_R_ROOT_NOT_TRUSTED,
			"PCK chain root is not the pinned Intel SGX Root CA");
		return;
	}
	memcpy(a->root_spki_sha256, h, sizeof(h));
}

void sn_verify_tdx(const struct sn_evidence *ev,
		   const struct sn_verify_opts *opts, struct sn_appraisal *a)
{
	struct sn_tdx_parts p;
	X509 *xs[SN_EVIDENCE_MAX_CERTS];
	EVP_PKEY *att = NULL, *pck;
	uint8_t h[SN_SHA256_LEN];
	EVP_MD_CTX *md = NULL;
	size_t n = 0;

	if (sn_tdx_quote_split(ev->report, ev->report_len, &p)) {
		sn_appraisal_add(a, SN_R_MALFORMED, "TDX quote structure");
		return;
	}
	att = p256_key(p.att_key);
	if (!att)
		sn_appraisal_add(a, SN_R_BAD_SIGNATURE,
				 "attestation key is not a P-256 point");
	else if (sn_ecdsa_verify_rs(att, EVP_sha256(), p.signed_data,
				    p.signed_len, p.sig, p.sig + 32, 32, false))
		sn_appraisal_add(a, SN_R_BAD_SIGNATURE,
				 "quote signature does not verify with the "
				 "attestation key");

	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, p.att_key, 64) != 1 ||
	    EVP_DigestUpdate(md, p.auth, p.auth_len) != 1 ||
	    EVP_DigestFinal_ex(md, h, NULL) != 1 ||
	    sn_memeq_ct(h, p.qe_report + QE_REPORT_DATA, sizeof(h)))
		sn_appraisal_add(a, SN_R_QE_BINDING,
				 "QE report_data[0..32] != SHA-256(attestation "
				 "key || QE auth data)");

	n = load_pool(&p, ev, xs, a);
	if (!n)
		goto out;
	pck = X509_get0_pubkey(xs[0]);
	if (!pck || EVP_PKEY_get_base_id(pck) != EVP_PKEY_EC ||
	    sn_ecdsa_verify_rs(pck, EVP_sha256(), p.qe_report,
			       SN_TDX_QE_REPORT_LEN, p.qe_sig, p.qe_sig + 32,
			       32, false))
		sn_appraisal_add(
			a, SN_R_QE_SIGNATURE,
			"QE report signature does not verify with the PCK key");
	verify_chain(xs[0], xs, n, opts ? opts->at : 0, a);
	if (opts && opts->tdx_collateral)
		sn_tdx_collateral_check(opts->tdx_collateral, &p, xs[0], xs, n,
					opts->at, a);
out:
	ERR_clear_error();
	for (size_t i = 0; i < n; i++)
		X509_free(xs[i]);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(att);
}
