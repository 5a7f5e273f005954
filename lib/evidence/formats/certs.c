// SPDX-License-Identifier: Apache-2.0
/* X.509 helpers for the verifiers: parsing, SPKI pins, time, ECDSA. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "../internal.h"
#include "sealnet/log.h"

X509 *sn_x509_from_der(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (len > 65536)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x && p != der + len) { /* trailing garbage */
		X509_free(x);
		return NULL;
	}
	return x;
}

int sn_spki_sha256(X509 *x, uint8_t out[SN_SHA256_LEN])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n, ok;

	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (n <= 0)
		return -EINVAL;
	ok = EVP_Digest(der, (size_t)n, out, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return ok ? 0 : -EINVAL;
}

void sn_cert_cn(X509 *x, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
				      buf, (int)cap) < 0)
		buf[0] = '\0';
}

void sn_cert_check_time(X509 *x, time_t at, const char *what,
			struct sn_appraisal *a)
{
	time_t t = at ? at : time(NULL);

	if (X509_cmp_time(X509_get0_notBefore(x), &t) > 0)
		sn_appraisal_add(a, SN_R_CERT_NOT_YET_VALID,
				 "%s is not valid before its notBefore", what);
	if (X509_cmp_time(X509_get0_notAfter(x), &t) < 0)
		sn_appraisal_add(a, SN_R_CERT_EXPIRED,
				 "%s expired (notAfter passed)", what);
}

bool sn_cert_self_signed(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (!k ||
	    X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)))
		return false;
	return X509_verify(x, k) == 1;
}

X509 *sn_cert_find_issuer(X509 *x, X509 **certs, size_t n)
{
	X509 *by_name = NULL;

	for (size_t i = 0; i < n; i++) {
		EVP_PKEY *k;

		if (certs[i] == x ||
		    X509_NAME_cmp(X509_get_subject_name(certs[i]),
				  X509_get_issuer_name(x)))
			continue;
		k = X509_get0_pubkey(certs[i]);
		if (k && X509_verify(x, k) == 1)
			return certs[i];
		if (!by_name)
			by_name = certs[i];
	}
	ERR_clear_error();
	return by_name; /* name matches but signature fails: caller reports */
}

int sn_ecdsa_verify_rs(EVP_PKEY *key, const EVP_MD *md, const uint8_t *data,
		       size_t len, const uint8_t *r, const uint8_t *s,
		       size_t comp_len, bool little_endian)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *br, *bs;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	int n, ret = -EINVAL;

	if (little_endian) {
		br = BN_lebin2bn(r, (int)comp_len, NULL);
		bs = BN_lebin2bn(s, (int)comp_len, NULL);
	} else {
		br = BN_bin2bn(r, (int)comp_len, NULL);
		bs = BN_bin2bn(s, (int)comp_len, NULL);
	}
	sig = ECDSA_SIG_new();
	if (!br || !bs || !sig) {
		BN_free(br);
		BN_free(bs);
		ret = -ENOMEM;
		goto out;
	}
	ECDSA_SIG_set0(sig, br, bs);
	n = i2d_ECDSA_SIG(sig, &der);
	if (n <= 0)
		goto out;
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		ret = -ENOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, der, (size_t)n, data, len) == 1)
		ret = 0;
	else
		ret = -EBADMSG;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ret;
}
