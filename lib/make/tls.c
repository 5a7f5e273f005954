// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE TLS (docs/protocol.md §1, "Transport"): a TLS 1.3-only SSL_CTX
 * with an ephemeral in-memory P-256 key and self-signed certificate
 * (identity comes from attestation, §1 "Why no PKI is needed").  What is
 * exported from the session is keys.c's.
 */
#include <errno.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "internal.h"
#include "sealnet/log.h"

#define CERT_LIFETIME (30L * 24 * 3600) /* the key lives as long as the
					  * daemon; validity is not checked */

void sn_make_log_ssl(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		sn_err("make: %s: %s", what, buf);
	} else {
		sn_err("make: %s failed", what);
	}
	ERR_clear_error();
}

/* The chain is not verified (self-signed, no PKI): any certificate is
 * accepted here; that one is present is checked by the verify mode and
 * again after the handshake. */
static int accept_any_cert(int preverify_ok, X509_STORE_CTX *ctx)
{
	return 1;
}

static int self_signed(EVP_PKEY *key, X509 **out)
{
	X509 *x = X509_new();
	X509_NAME *name;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	int err = -EINVAL;

	if (!x)
		return -ENOMEM;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto cleanup;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto cleanup;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), CERT_LIFETIME))
		goto cleanup;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"sealnet-make",
				       -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
		goto cleanup;
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto cleanup;
	*out = x;
	x = NULL;
	err = 0;
cleanup:
	if (err)
		sn_make_log_ssl("self-signed certificate");
	BN_free(bn);
	X509_free(x);
	return err;
}

static int ctx_new(const char *cert_file, const char *key_file, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int err = -EINVAL;

	if (!ctx) {
		sn_make_log_ssl("SSL_CTX_new");
		return -ENOMEM;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		sn_make_log_ssl("TLS 1.3 only");
		goto cleanup;
	}
	/* no resumption: every session runs a fresh (EC)DHE exchange */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		sn_make_log_ssl("SSL_CTX_set_num_tickets");
		goto cleanup;
	}
	SSL_CTX_set_verify(ctx,
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   accept_any_cert);
	if (cert_file) {
		err = -EINVAL;
		if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key_file,
						SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			sn_err("make: cannot use certificate %s with key %s "
			       "(PEM files of one key pair)", cert_file,
			       key_file);
			ERR_clear_error();
			goto cleanup;
		}
		goto done;
	}

	key = EVP_EC_gen("P-256");
	if (!key) {
		sn_make_log_ssl("P-256 key");
		goto cleanup;
	}
	err = self_signed(key, &cert);
	if (err)
		goto cleanup;
	err = -EINVAL;
	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		sn_make_log_ssl("certificate/key");
		goto cleanup;
	}
done:
	*out = ctx;
	ctx = NULL;
	err = 0;
cleanup:
	X509_free(cert);
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
	return err;
}

int sn_make_tls_ctx_new(SSL_CTX **out)
{
	return ctx_new(NULL, NULL, out);
}

int sn_make_tls_ctx_new_with(const char *cert, const char *key,
			     SSL_CTX **out)
{
	if (!cert || !key)
		return -EINVAL;
	return ctx_new(cert, key, out);
}
