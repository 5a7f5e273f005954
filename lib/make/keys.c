// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE key schedule: every value exported from the TLS session (RFC 8446
 * §7.5).  docs/protocol.md §3 "Channel binding and attestation" (the
 * per-role channel bindings and our report_data) and §4 "Keys, epochs and
 * rekey" (the keys of an epoch, per direction).  The session (session.c)
 * decides when; this file only computes.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "internal.h"
#include "sealnet/evidence.h"

/* --- exporters ------------------------------------------------------------ */

static int exporter(SSL *ssl, const char *label, const uint8_t *ctx,
		    size_t ctx_len, uint8_t *out, size_t out_len)
{
	uint8_t fin[1];

	/* handshake completed: both Finished messages exist (not
	 * SSL_is_init_finished: it is false while a KeyUpdate is processed) */
	if (!ssl || SSL_version(ssl) != TLS1_3_VERSION ||
	    !SSL_get_finished(ssl, fin, sizeof(fin)) ||
	    !SSL_get_peer_finished(ssl, fin, sizeof(fin)))
		return -ENOTCONN;
	if (SSL_export_keying_material(ssl, out, out_len, label,
				       strlen(label), ctx, ctx_len, 1) != 1) {
		sn_make_log_ssl("TLS exporter");
		return -EIO;
	}
	return 0;
}

int sn_make_channel_binding(SSL *ssl, bool is_client,
			    uint8_t out[SN_MAKE_CB_LEN])
{
	uint8_t ekm[32], h[SN_MAKE_CB_LEN];
	int err;

	err = exporter(ssl,
		       is_client ? SN_MAKE_LABEL_ATTEST_CLIENT
				 : SN_MAKE_LABEL_ATTEST_SERVER,
		       (const uint8_t *)"", 0, ekm, sizeof(ekm));
	if (err)
		goto cleanup;
	if (EVP_Digest(ekm, sizeof(ekm), h, NULL, EVP_sha256(), NULL) != 1) {
		sn_make_log_ssl("SHA-256");
		err = -EIO;
		goto cleanup;
	}
	memcpy(out, h, sizeof(h));
cleanup:
	OPENSSL_cleanse(ekm, sizeof(ekm));
	return err;
}

int sn_make_workflow_binding(const uint8_t manifest_digest[48],
			     const char *client_domain,
			     const char *server_domain,
			     uint8_t out[SN_MAKE_BIND_LEN])
{
	size_t cl = client_domain ? strlen(client_domain) : 0,
	       sl = server_domain ? strlen(server_domain) : 0;
	uint8_t lc = (uint8_t)cl, ls = (uint8_t)sl;
	EVP_MD_CTX *md;
	int ok;

	if (!cl || cl > SN_MAKE_NAME_MAX || !sl || sl > SN_MAKE_NAME_MAX)
		return -EINVAL;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha384(), NULL) == 1 &&
	     EVP_DigestUpdate(md, SN_MAKE_BIND_PREFIX,
			      sizeof(SN_MAKE_BIND_PREFIX)) == 1 &&
	     EVP_DigestUpdate(md, manifest_digest, 48) == 1 &&
	     EVP_DigestUpdate(md, &lc, 1) == 1 &&
	     EVP_DigestUpdate(md, client_domain, cl) == 1 &&
	     EVP_DigestUpdate(md, &ls, 1) == 1 &&
	     EVP_DigestUpdate(md, server_domain, sl) == 1 &&
	     EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -EIO;
}

int sn_make_confirm(SSL *ssl, bool is_client, const uint8_t w[SN_MAKE_BIND_LEN],
		    uint8_t out[SN_MAKE_CONFIRM_LEN])
{
	return exporter(ssl,
			is_client ? SN_MAKE_LABEL_CONFIRM_CLIENT :
				    SN_MAKE_LABEL_CONFIRM_SERVER,
			w, SN_MAKE_BIND_LEN, out, SN_MAKE_CONFIRM_LEN);
}

int sn_make_derive_keys(SSL *ssl, uint16_t epoch, uint8_t c2s[SN_MAKE_KEY_LEN],
			uint8_t s2c[SN_MAKE_KEY_LEN])
{
	return sn_make_derive_keys_bound(ssl, epoch, NULL, c2s, s2c);
}

int sn_make_derive_keys_bound(SSL *ssl, uint16_t epoch, const uint8_t *w,
			      uint8_t c2s[SN_MAKE_KEY_LEN],
			      uint8_t s2c[SN_MAKE_KEY_LEN])
{
	uint8_t ctx[2 + SN_MAKE_BIND_LEN] = {(uint8_t)(epoch >> 8),
					     (uint8_t)epoch};
	uint8_t k[2 * SN_MAKE_KEY_LEN];
	int err;

	if (!epoch)
		return -EINVAL;
	if (w)
		memcpy(ctx + 2, w, SN_MAKE_BIND_LEN);
	err = exporter(ssl, SN_MAKE_LABEL_KEYS, ctx, w ? sizeof(ctx) : 2, k,
		       sizeof(k));
	if (!err) {
		memcpy(c2s, k, SN_MAKE_KEY_LEN);
		memcpy(s2c, k + SN_MAKE_KEY_LEN, SN_MAKE_KEY_LEN);
	}
	OPENSSL_cleanse(k, sizeof(k));
	return err;
}

/* --- what the session uses ------------------------------------------------ */

int sn_make_keys_bind(struct sn_make_keys *k, SSL *ssl, bool is_client)
{
	struct sn_make_keys nk = {.is_client = is_client,
				  .has_bind = k->has_bind};
	int err;

	memcpy(nk.bind, k->bind, sizeof(nk.bind));
	err = sn_make_channel_binding(ssl, is_client, nk.cb_own);
	if (!err)
		err = sn_make_channel_binding(ssl, !is_client, nk.cb_peer);
	if (!err)
		*k = nk;
	OPENSSL_cleanse(&nk, sizeof(nk));
	return err;
}

int sn_make_keys_report_data(const struct sn_make_keys *k,
			     const uint8_t *mlog_digest,
			     uint8_t out[SN_REPORT_DATA_LEN])
{
	return sn_report_data_binding(k->cb_own, sizeof(k->cb_own),
				      mlog_digest, out);
}

int sn_make_keys_epoch(const struct sn_make_keys *k, SSL *ssl, uint16_t epoch,
		       struct sn_make_epoch_keys *out)
{
	uint8_t c2s[SN_MAKE_KEY_LEN], s2c[SN_MAKE_KEY_LEN];
	int err;

	err = sn_make_derive_keys_bound(ssl, epoch,
					k->has_bind ? k->bind : NULL, c2s, s2c);
	if (!err) {
		/* the client sends with c2s, the server with s2c */
		memcpy(out->tx, k->is_client ? c2s : s2c, SN_MAKE_KEY_LEN);
		memcpy(out->rx, k->is_client ? s2c : c2s, SN_MAKE_KEY_LEN);
	}
	OPENSSL_cleanse(c2s, sizeof(c2s));
	OPENSSL_cleanse(s2c, sizeof(s2c));
	return err;
}
