// SPDX-License-Identifier: Apache-2.0
/*
 * The report_data binding of an attestation, and resources sealed to the
 * node's resource encryption key (rek, X25519), bound in its evidence:
 *
 *   epk, esk   = a fresh X25519 key pair (KBS side)
 *   z          = X25519(esk, rek)
 *   key||nonce = HKDF-SHA256(salt = epk || rek, ikm = z,
 *                            info = "sealnet-kbs-resource-v1" || path, 44)
 *   ct         = AES-256-GCM(key, nonce, aad = path, plaintext) || tag(16)
 *   answer     = {"alg": "X25519-HKDF-SHA256-A256GCM", "epk": b64u(epk),
 *                 "ct": b64u(ct)}
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"

#define SEAL_ALG  "X25519-HKDF-SHA256-A256GCM"
#define SEAL_INFO "sealnet-kbs-resource-v1"
#define SEAL_TAG  16

void sn_kbs_channel_binding(const uint8_t challenge[SN_KBS_CHALLENGE_LEN],
			    const uint8_t spki_sha256[SN_SHA256_LEN],
			    const uint8_t rek[SN_KBS_REK_LEN],
			    uint8_t out[SN_KBS_CB_LEN])
{
	size_t o = sizeof(SN_KBS_CB_LABEL); /* with its NUL */

	memcpy(out, SN_KBS_CB_LABEL, o);
	memcpy(out + o, challenge, SN_KBS_CHALLENGE_LEN);
	memcpy(out + o + 32, spki_sha256, SN_SHA256_LEN);
	memcpy(out + o + 64, rek, SN_KBS_REK_LEN);
}

int sn_kbs_x25519_pub(const uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *k =
		EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	size_t n = 32;
	int ok;

	if (!k)
		return -EINVAL;
	ok = EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;
	EVP_PKEY_free(k);
	return ok ? 0 : -EIO;
}

int sn_kbs_x25519_keygen(uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	size_t n = 32, m = 32;
	int ok;

	if (!k)
		return -EIO;
	ok = EVP_PKEY_get_raw_private_key(k, priv, &n) == 1 && n == 32 &&
	     EVP_PKEY_get_raw_public_key(k, pub, &m) == 1 && m == 32;
	EVP_PKEY_free(k);
	return ok ? 0 : -EIO;
}

static int ecdh(const uint8_t priv[32], const uint8_t pub[32], uint8_t z[32])
{
	EVP_PKEY *sk =
		EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	EVP_PKEY *pk =
		EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
	EVP_PKEY_CTX *c = sk ? EVP_PKEY_CTX_new(sk, NULL) : NULL;
	size_t n = 32;
	int ok;

	ok = sk && pk && c && EVP_PKEY_derive_init(c) == 1 &&
	     EVP_PKEY_derive_set_peer(c, pk) == 1 &&
	     EVP_PKEY_derive(c, z, &n) == 1 && n == 32;
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(sk);
	return ok ? 0 : -EINVAL; /* e.g. a low-order point: all-zero z */
}

static int kdf(const uint8_t z[32], const uint8_t epk[32],
	       const uint8_t rek[32], const char *path, uint8_t okm[44])
{
	EVP_KDF *k = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = k ? EVP_KDF_CTX_new(k) : NULL;
	uint8_t salt[64], info[sizeof(SEAL_INFO) - 1 + SN_KBS_PATH_MAX];
	size_t plen = strlen(path), ilen = sizeof(SEAL_INFO) - 1 + plen;
	OSSL_PARAM p[5];
	int ok;

	memcpy(salt, epk, 32);
	memcpy(salt + 32, rek, 32);
	memcpy(info, SEAL_INFO, sizeof(SEAL_INFO) - 1);
	memcpy(info + sizeof(SEAL_INFO) - 1, path, plen);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z,
						 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt,
						 sizeof(salt));
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
						 ilen);
	p[4] = OSSL_PARAM_construct_end();
	ok = c && EVP_KDF_derive(c, okm, 44, p) == 1;
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(k);
	return ok ? 0 : -EIO;
}

/* AES-256-GCM; enc: out = ct || tag (len + 16); else in = ct || tag */
static int gcm(int enc, const uint8_t okm[44], const char *path,
	       const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, okm, okm + 32,
			       enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)path,
			      (int)strlen(path)) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
	if (ok && enc)
		ok = EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
					 out + len) == 1;
	else if (ok)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
					 (void *)(in + len)) == 1 &&
		     EVP_CipherFinal_ex(c, out + n, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EBADMSG;
}

int sn_kbs_seal(const uint8_t rek[SN_KBS_REK_LEN], const char *path,
		const uint8_t *data, size_t len, char **out)
{
	uint8_t esk[32], epk[32], z[32], okm[44];
	uint8_t *ct = NULL;
	char *epk_s = NULL, *ct_s = NULL, *txt = NULL;
	json_t *o = NULL;
	int err;

	if (sn_kbs_path_check(path) || len > SN_KBS_RESOURCE_MAX)
		return -EINVAL;
	ct = malloc(len + SEAL_TAG);
	if (!ct)
		return -ENOMEM;
	err = sn_kbs_x25519_keygen(esk, epk);
	if (!err)
		err = ecdh(esk, rek, z);
	if (!err)
		err = kdf(z, epk, rek, path, okm);
	if (!err)
		err = gcm(1, okm, path, data, len, ct);
	if (!err)
		err = sn_kbs_b64url_encode(epk, 32, &epk_s);
	if (!err)
		err = sn_kbs_b64url_encode(ct, len + SEAL_TAG, &ct_s);
	if (!err) {
		o = json_pack("{s:s,s:s,s:s}", "alg", SEAL_ALG, "epk", epk_s,
			      "ct", ct_s);
		txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (!txt)
			err = -ENOMEM;
	}
	OPENSSL_cleanse(esk, sizeof(esk));
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(okm, sizeof(okm));
	json_decref(o);
	free(epk_s);
	free(ct_s);
	free(ct);
	if (!err)
		*out = txt;
	return err;
}

int sn_kbs_open(const uint8_t priv[32], const char *path, const char *json,
		size_t json_len, uint8_t **out, size_t *out_len)
{
	uint8_t epk[32], rek[32], z[32], okm[44];
	const char *alg, *epk_s, *ct_s;
	uint8_t *ct = NULL, *pt = NULL;
	size_t ct_len = 0;
	json_t *o;
	int err;

	if (sn_kbs_path_check(path))
		return -EINVAL;
	o = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, NULL);
	if (!o ||
	    json_unpack(o, "{s:s,s:s,s:s!}", "alg", &alg, "epk", &epk_s, "ct",
			&ct_s) ||
	    strcmp(alg, SEAL_ALG) ||
	    sn_kbs_b64url_decode_fixed(epk_s, epk, 32) ||
	    sn_kbs_b64url_decode(ct_s, strlen(ct_s), &ct, &ct_len) ||
	    ct_len < SEAL_TAG) {
		sn_err("sealed resource %s: not a %s object", path, SEAL_ALG);
		err = -EINVAL;
		goto out;
	}
	pt = malloc(ct_len - SEAL_TAG + 1);
	err = pt ? sn_kbs_x25519_pub(priv, rek) : -ENOMEM;
	if (!err)
		err = ecdh(priv, epk, z);
	if (!err)
		err = kdf(z, epk, rek, path, okm);
	if (!err)
		err = gcm(0, okm, path, ct, ct_len - SEAL_TAG, pt);
	if (err == -EBADMSG)
		sn_err("sealed resource %s: does not authenticate with this "
		       "key (another node's key, or altered)",
		       path);
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(okm, sizeof(okm));
	json_decref(o);
	free(ct);
	if (err) {
		free(pt);
		return err;
	}
	*out = pt;
	*out_len = ct_len - SEAL_TAG;
	return 0;
}

int sn_kbs_cert_file_spki(const char *path, uint8_t out[SN_SHA256_LEN])
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	uint8_t *der = NULL;
	int n, err = 0;

	if (f)
		fclose(f);
	if (!x) {
		sn_err("%s: not a readable PEM certificate", path);
		return -EINVAL;
	}
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (n <= 0 ||
	    EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL) != 1)
		err = -EIO;
	OPENSSL_free(der);
	X509_free(x);
	return err;
}
