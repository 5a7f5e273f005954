// SPDX-License-Identifier: Apache-2.0
/* X.509 certificates: DER parsing, SPKI digest, subject CN, self-signed. */
#include <errno.h>
#include <stdlib.h>

#include "formats.h"

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

bool sn_cert_self_signed(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (!k ||
	    X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)))
		return false;
	return sn_x509_verify_cached(x, x);
}
