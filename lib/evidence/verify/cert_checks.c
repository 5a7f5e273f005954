// SPDX-License-Identifier: Apache-2.0
/* Certificate checks for the verifiers: validity time, issuer, ECDSA. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "verify.h"

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
		if (k && sn_x509_verify_cached(x, certs[i]))
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
