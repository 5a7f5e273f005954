/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to lib/make: the session object and what session.c (the state
 * machine and its input) uses of the folder's other files.  Dependencies
 * go one way:
 *   session.c -> conn.c (lifetime, sending, closing, timers)
 *   session.c -> appraise_peer.c -> lib/evidence (sn_appraise_bound)
 *   session.c -> keys.c -> tls.c (error logging)
 *   session.c, appraise_peer.c -> msg.c (codec, the wire's text rules)
 */
#ifndef SEALNET_MAKE_INTERNAL_H
#define SEALNET_MAKE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>
#include <openssl/types.h>

#include "sealnet/make.h"

struct bufferevent;
struct event;
struct event_base;

/* --- msg.c: the wire's rules for text (docs/protocol.md §2) --------------- */

/* A node name: 1..SN_MAKE_NAME_MAX of [A-Za-z0-9._-]. */
bool sn_make_name_ok(const char *s, size_t len);
/* Replace every byte outside printable ASCII (0x20..0x7e) with '?'. */
void sn_make_printable(char *s);

/* --- tls.c ---------------------------------------------------------------- */

/* Log "make: WHAT: <OpenSSL error>" and clear OpenSSL's error queue. */
void sn_make_log_ssl(const char *what);

/* --- keys.c: the key schedule (docs/protocol.md §3, §4) ------------------- */

/* One session's channel bindings, fixed when the handshake completed. */
struct sn_make_keys {
	bool is_client;
	uint8_t cb_own[SN_MAKE_CB_LEN];	 /* in our evidence's report_data */
	uint8_t cb_peer[SN_MAKE_CB_LEN]; /* expected in the peer's */
	bool has_bind;			 /* a workflow binding W (§3.2) */
	uint8_t bind[SN_MAKE_BIND_LEN];
};

/* A direction's keys of one epoch, as this side uses them. */
struct sn_make_epoch_keys {
	uint8_t tx[SN_MAKE_KEY_LEN];
	uint8_t rx[SN_MAKE_KEY_LEN];
};

/* After the handshake: both channel bindings of this role (k's has_bind
 * and bind, set before, are kept). */
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

/* --- appraise_peer.c: the peer's EVIDENCE and VERDICT (docs/protocol.md §3) */

/*
 * Appraise the peer's serialized evidence against the session's policy,
 * the peer's channel binding and the allowed data-plane digests; *out is
 * malloc'd.  0 when the appraisal ran (verdict in (*out)->accepted),
 * negative errno when it could not.
 */
int sn_make_appraise_peer(const struct sn_make_params *p,
			  const uint8_t cb_peer[SN_MAKE_CB_LEN],
			  const uint8_t *buf, size_t len,
			  struct sn_appraisal **out);

/* Fill VERDICT *v from appraisal a, echoing the peer's nonce; a rejection
 * always carries at least one reason, each "name: detail" printable. */
void sn_make_verdict(struct sn_make_msg *v, const struct sn_appraisal *a,
		     const uint8_t peer_nonce[SN_MAKE_NONCE_LEN]);

/* A VERDICT's reasons on one line ("a; b"), for logs and on_fail. */
void sn_make_reasons_summary(char *out, size_t cap,
			     const struct sn_make_reason *r, size_t n);

/* --- conn.c and session.c: one MAKE session ------------------------------ */

#define SN_MAKE_ERR_TEXT 512

struct sn_make_session {
	struct event_base *base;
	struct bufferevent *bev;
	SSL *ssl; /* owned by bev */
	SSL_CTX *ctx;
	struct event *timer;
	struct sn_make_params p;
	char node_name[SN_MAKE_NAME_MAX + 1];
	struct sn_make_callbacks cb;
	bool is_client;
	enum sn_make_state st;

	uint8_t nonce[SN_MAKE_NONCE_LEN];
	struct sn_make_keys keys; /* channel bindings, once connected */

	/* attestation phase: each at most once */
	bool got_hello, got_evidence, got_verdict;
	bool own_accept, peer_accept;
	uint32_t peer_id;
	uint8_t peer_nonce[SN_MAKE_NONCE_LEN];
	char peer_name[SN_MAKE_NAME_MAX + 1];
	struct sn_appraisal *appraisal; /* the verdict's basis */
	/* KBS tokens (docs/protocol.md §3.1) */
	bool v2;		       /* we sent HELLO version 2 */
	uint8_t peer_wants;	       /* the peer's HELLO accept */
	bool got_token;
	struct sn_appraisal *ev_appraisal, *tok_appraisal;

	/* keys */
	uint16_t epoch;	       /* latest derived, 0 none */
	bool await_keys_ready; /* a KEYS_READY(epoch) is due from the peer */
	bool rekey_pending;    /* we sent REKEY(epoch) */
	bool peer_rekey_seen;  /* the peer's REKEY(epoch) arrived */
	bool ready_notified;   /* on_ready(epoch) was called */

	int fail_err;
	bool fail_reported;
	char error[SN_MAKE_ERR_TEXT];

	bool shut; /* our write side is shut down */
	int depth;
	bool free_pending;
};

/* conn.c: what the state machine acts through (see there) */
const char *sn_make_who(const struct sn_make_session *s);
void sn_make_destroy(struct sn_make_session *s);
void sn_make_enter(struct sn_make_session *s);
void sn_make_leave(struct sn_make_session *s);
/* false once the session is closing or the caller freed it */
bool sn_make_alive(const struct sn_make_session *s);
void sn_make_arm_timer(struct sn_make_session *s, unsigned int ms);
/* Connection gone: close it and report the failure (once). */
void sn_make_finish(struct sn_make_session *s);
int sn_make_send(struct sn_make_session *s, const struct sn_make_msg *m);
/* Fail: ERROR(code) unless code is 0, then close (see conn.c). */
void sn_make_fail(struct sn_make_session *s, int err, uint16_t code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* EOF or error on the connection outside CLOSING */
void sn_make_conn_lost(struct sn_make_session *s, short what);
/* bufferevent write callback, session timer (handshake, rekey, linger) */
void sn_make_write_cb(struct bufferevent *bev, void *arg);
void sn_make_timer_cb(evutil_socket_t fd, short what, void *arg);

#endif
