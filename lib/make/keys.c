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

int sn_make_derive_keys(SSL *ssl, uint16_t epoch, uint8_t c2s[SN_MAKE_KEY_LEN],
			uint8_t s2c[SN_MAKE_KEY_LEN])
{
	uint8_t ctx[2] = {(uint8_t)(epoch >> 8), (uint8_t)epoch};
	uint8_t k[2 * SN_MAKE_KEY_LEN];
	int err;

	if (!epoch)
		return -EINVAL;
	err = exporter(ssl, SN_MAKE_LABEL_KEYS, ctx, sizeof(ctx), k,
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
	struct sn_make_keys nk = {.is_client = is_client};
	int err;

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

	err = sn_make_derive_keys(ssl, epoch, c2s, s2c);
	if (!err) {
		/* the client sends with c2s, the server with s2c */
		memcpy(out->tx, k->is_client ? c2s : s2c, SN_MAKE_KEY_LEN);
		memcpy(out->rx, k->is_client ? s2c : c2s, SN_MAKE_KEY_LEN);
	}
	OPENSSL_cleanse(c2s, sizeof(c2s));
	OPENSSL_cleanse(s2c, sizeof(s2c));
	return err;
}
