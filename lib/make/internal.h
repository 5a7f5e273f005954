/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to lib/make: what session.c (the state machine and its I/O)
 * uses of the folder's other files.  Dependencies go one way:
 *   session.c -> keys.c -> tls.c (error logging);  session.c -> msg.c
 */
#ifndef SEALNET_MAKE_INTERNAL_H
#define SEALNET_MAKE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "sealnet/make.h"

/* --- tls.c ----------------------------------------------------------------- */

/* Log "make: WHAT: <OpenSSL error>" and clear OpenSSL's error queue. */
void sn_make_log_ssl(const char *what);

/* --- keys.c: the key schedule (docs/protocol.md §3, §4) ---------------------- */

/* One session's channel bindings, fixed when the handshake completed. */
struct sn_make_keys {
	bool is_client;
	uint8_t cb_own[SN_MAKE_CB_LEN];	 /* in our evidence's report_data */
	uint8_t cb_peer[SN_MAKE_CB_LEN]; /* expected in the peer's */
};

/* A direction's keys of one epoch, as this side uses them. */
struct sn_make_epoch_keys {
	uint8_t tx[SN_MAKE_KEY_LEN];
	uint8_t rx[SN_MAKE_KEY_LEN];
};

/* After the handshake: both channel bindings of this role. */
int sn_make_keys_bind(struct sn_make_keys *k, SSL *ssl, bool is_client);

/* Our report_data = SHA-512(cb_own || mlog_digest); mlog_digest NULL:
 * no log (48 zero bytes). */
int sn_make_keys_report_data(const struct sn_make_keys *k,
			     const uint8_t *mlog_digest,
			     uint8_t out[SN_REPORT_DATA_LEN]);

/* The keys of epoch (>= 1), tx/rx by our role.  Wipe *out after use
 * (OPENSSL_cleanse). */
int sn_make_keys_epoch(const struct sn_make_keys *k, SSL *ssl, uint16_t epoch,
		       struct sn_make_epoch_keys *out);

#endif
