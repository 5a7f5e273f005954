// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE session: the state machine of docs/protocol.md on a libevent
 * OpenSSL bufferevent.  TLS handshake -> HELLO + EVIDENCE both ways ->
 * appraise the peer (channel binding recomputed from this session) ->
 * VERDICT both ways -> keys of epoch 1 -> KEYS_READY; then REKEY.
 *
 * Every message is checked for its state and sender before it is acted
 * upon; each may arrive once (per epoch).  Any violation sends ERROR and
 * closes.  User callbacks may free the session: entry points count their
 * depth and the free is deferred until the outermost one returns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"

#define DEFAULT_TIMEOUT_MS 10000
#define LINGER_MS	   1000 /* flush the last message at most this long */
#define ERR_TEXT	   512

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
	uint8_t cb_own[SN_MAKE_CB_LEN];
	uint8_t cb_peer[SN_MAKE_CB_LEN];

	/* attestation phase: each at most once */
	bool got_hello, got_evidence, got_verdict;
	bool own_accept, peer_accept;
	uint32_t peer_id;
	char peer_name[SN_MAKE_NAME_MAX + 1];
	struct sn_appraisal *appraisal;

	/* keys */
	uint16_t epoch;		/* latest derived, 0 none */
	bool await_keys_ready;	/* a KEYS_READY(epoch) is due from the peer */
	bool rekey_pending;	/* we sent REKEY(epoch) */
	bool peer_rekey_seen;	/* the peer's REKEY(epoch) arrived */
	bool ready_notified;	/* on_ready(epoch) was called */

	int fail_err;
	bool fail_reported;
	char error[ERR_TEXT];

	int depth;
	bool free_pending;
};

static const char *const state_names[] = {
	[SN_MAKE_ST_TLS] = "tls",
	[SN_MAKE_ST_ATTEST] = "attest",
	[SN_MAKE_ST_KEYS] = "keys",
	[SN_MAKE_ST_ESTABLISHED] = "established",
	[SN_MAKE_ST_CLOSING] = "closing",
	[SN_MAKE_ST_FAILED] = "failed",
};

const char *sn_make_state_name(enum sn_make_state st)
{
	if ((size_t)st < SN_ARRAY_SIZE(state_names))
		return state_names[st];
	return "unknown";
}

static const char *who(const struct sn_make_session *s)
{
	return s->peer_name[0] ? s->peer_name : "(unknown peer)";
}

/* --- lifetime ----------------------------------------------------------- */

static void destroy(struct sn_make_session *s)
{
	if (s->timer)
		event_free(s->timer);
	if (s->bev)
		bufferevent_free(s->bev); /* frees the SSL, closes fd */
	SSL_CTX_free(s->ctx);
	free(s->appraisal);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static void enter(struct sn_make_session *s)
{
	s->depth++;
}

static void leave(struct sn_make_session *s)
{
	if (--s->depth == 0 && s->free_pending)
		destroy(s);
}

/* false once the session is closing or the caller freed it */
static bool alive(const struct sn_make_session *s)
{
	return !s->free_pending && s->st < SN_MAKE_ST_CLOSING;
}

static void arm_timer(struct sn_make_session *s, unsigned int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};

	evtimer_add(s->timer, &tv);
}

/* Connection gone: close it and report the failure (once). */
static void finish(struct sn_make_session *s)
{
	s->st = SN_MAKE_ST_FAILED;
	evtimer_del(s->timer);
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
		s->ssl = NULL;
	}
	if (!s->fail_reported && !s->free_pending) {
		s->fail_reported = true;
		if (s->cb.on_fail)
			s->cb.on_fail(s->cb.arg, s->peer_id, s->fail_err,
				      s->error);
	}
}

static int send_msg(struct sn_make_session *s, const struct sn_make_msg *m)
{
	uint8_t *buf;
	size_t len;
	int err;

	if (!s->bev)
		return -ENOTCONN;
	err = sn_make_msg_encode(m, &buf, &len);
	if (err) {
		sn_err("make: cannot encode %s: %s",
		       sn_make_msg_type_name(m->type), strerror(-err));
		return err;
	}
	err = bufferevent_write(s->bev, buf, len) ? -ENOMEM : 0;
	free(buf);
	return err;
}

/*
 * Fail the session: remember why, optionally send ERROR(code), stop
 * reading, flush what is queued (at most LINGER_MS), close, on_fail.
 * code 0: send nothing (the peer already knows, e.g. our VERDICT said it).
 */
static void __attribute__((format(printf, 4, 5)))
fail(struct sn_make_session *s, int err, uint16_t code, const char *fmt, ...)
{
	va_list ap;

	if (s->st >= SN_MAKE_ST_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->fail_err = err;
	sn_warn("make: %s (id %u): %s", who(s), s->peer_id, s->error);

	if (code && s->bev && s->st != SN_MAKE_ST_TLS) {
		struct sn_make_msg *m = calloc(1, sizeof(*m));

		if (m) {
			m->type = SN_MAKE_ERROR;
			m->error.code = code;
			/* our own text; printable by construction, but
			 * make sure before it goes on the wire */
			snprintf(m->error.text, sizeof(m->error.text), "%s",
				 s->error);
			for (char *c = m->error.text; *c; c++)
				if (*c < 0x20 || *c > 0x7e)
					*c = '?';
			(void)send_msg(s, m);
			free(m);
		}
	}
	s->st = SN_MAKE_ST_CLOSING;
	if (!s->bev ||
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		finish(s);
		return;
	}
	bufferevent_disable(s->bev, EV_READ);
	arm_timer(s, LINGER_MS);
}

/* --- keys ----------------------------------------------------------------- */

static int derive(struct sn_make_session *s, uint16_t epoch, bool first)
{
	uint8_t c2s[SN_MAKE_KEY_LEN], s2c[SN_MAKE_KEY_LEN];
	const uint8_t *tx, *rx;
	int err;

	err = sn_make_derive_keys(s->ssl, epoch, c2s, s2c);
	if (err)
		goto cleanup;
	s->epoch = epoch;
	s->ready_notified = false;
	s->peer_rekey_seen = false;
	tx = s->is_client ? c2s : s2c;
	rx = s->is_client ? s2c : c2s;
	sn_info("make: %s (id %u): keys of epoch %u derived", who(s),
		s->peer_id, epoch);
	if (!first && s->cb.on_rekey)
		s->cb.on_rekey(s->cb.arg, s->peer_id, epoch, tx, rx);
	else if (s->cb.on_keys)
		s->cb.on_keys(s->cb.arg, s->peer_id, epoch, tx, rx);
cleanup:
	OPENSSL_cleanse(c2s, sizeof(c2s));
	OPENSSL_cleanse(s2c, sizeof(s2c));
	return err;
}

static void notify_ready(struct sn_make_session *s)
{
	if (s->ready_notified)
		return;
	s->ready_notified = true;
	if (s->cb.on_ready)
		s->cb.on_ready(s->cb.arg, s->peer_id, s->epoch);
}

static int send_epoch(struct sn_make_session *s, enum sn_make_msg_type t,
		      uint16_t epoch)
{
	struct sn_make_msg m = {.type = t};

	m.rekey.epoch = epoch;
	return send_msg(s, &m);
}

/* both verdicts accept: epoch 1 */
static void maybe_keys(struct sn_make_session *s)
{
	int err;

	if (!s->own_accept || !s->peer_accept || s->st != SN_MAKE_ST_ATTEST)
		return;
	s->st = SN_MAKE_ST_KEYS;
	s->await_keys_ready = true;
	err = derive(s, 1, true);
	if (err) {
		fail(s, err, SN_MAKE_E_INTERNAL, "key derivation failed");
		return;
	}
	if (!alive(s))
		return;
	err = send_epoch(s, SN_MAKE_KEYS_READY, 1);
	if (err)
		fail(s, err, SN_MAKE_E_INTERNAL, "cannot send KEYS_READY");
}

int sn_make_session_rekey(struct sn_make_session *s)
{
	int err;

	if (!s || s->st != SN_MAKE_ST_ESTABLISHED || s->rekey_pending ||
	    s->await_keys_ready || s->free_pending)
		return -EAGAIN;
	if (s->epoch == UINT16_MAX)
		return -ERANGE;
	enter(s);
	/* roll the TLS traffic keys of both directions forward as well */
	if (SSL_key_update(s->ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
		ERR_clear_error();
		err = -EIO;
		fail(s, err, SN_MAKE_E_INTERNAL, "TLS key update failed");
		goto out;
	}
	s->rekey_pending = true;
	s->await_keys_ready = true;
	err = derive(s, (uint16_t)(s->epoch + 1), false);
	if (err) {
		fail(s, err, SN_MAKE_E_INTERNAL, "key derivation failed");
		goto out;
	}
	if (!alive(s))
		goto out;
	err = send_epoch(s, SN_MAKE_REKEY, s->epoch);
	if (err) {
		fail(s, err, SN_MAKE_E_INTERNAL, "cannot send REKEY");
		goto out;
	}
	arm_timer(s, s->p.rekey_timeout_ms);
out:
	leave(s);
	return err;
}

/* --- attestation ------------------------------------------------------------ */

static void add_reason(struct sn_appraisal *a, enum sn_reason code,
		       const char *detail)
{
	a->accepted = false;
	if (a->n_reasons >= SN_MAX_REASONS)
		return;
	a->reasons[a->n_reasons].code = code;
	snprintf(a->reasons[a->n_reasons].detail,
		 sizeof(a->reasons[a->n_reasons].detail), "%s", detail);
	a->n_reasons++;
}

/*
 * Appraise the peer's serialized evidence into s->appraisal.  0 when the
 * appraisal ran (verdict in s->appraisal->accepted), negative errno when
 * it could not.
 */
static int appraise(struct sn_make_session *s, const uint8_t *buf,
		    size_t len)
{
	uint8_t digest[SN_SHA384_LEN] = {0}, expect[SN_REPORT_DATA_LEN];
	struct sn_evidence *ev = NULL;
	struct sn_appraisal *a;
	bool log_ok = true;
	int err;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	err = sn_evidence_parse(buf, len, &ev);
	if (err) {
		add_reason(a, SN_R_MALFORMED, "evidence could not be parsed");
		err = 0;
		goto out;
	}
	if (ev->mlog) {
		struct sn_mlog log;

		if (sn_mlog_parse(ev->mlog, ev->mlog_len, &log)) {
			log_ok = false;
		} else {
			memcpy(digest, log.digest, sizeof(digest));
			sn_mlog_free(&log);
		}
	}
	err = sn_appraise(ev, s->p.policy, s->p.appraisal_time, a);
	if (err)
		goto out;
	if (!log_ok)
		add_reason(a, SN_R_MALFORMED,
			   "runtime measurement log malformed");
	err = sn_report_data_binding(s->cb_peer, sizeof(s->cb_peer), digest,
				     expect);
	if (err)
		goto out;
	if (sn_memeq_ct(a->claims.report_data, expect, sizeof(expect)))
		add_reason(a, SN_R_REPORT_DATA,
			   "report_data does not bind this TLS session "
			   "(relayed or replayed evidence)");
	if (s->p.n_peer_mlog_digests && log_ok) {
		bool found = false;

		for (size_t i = 0; i < s->p.n_peer_mlog_digests; i++)
			if (!sn_memeq_ct(s->p.peer_mlog_digests[i], digest,
					 sizeof(digest)))
				found = true;
		if (!found)
			add_reason(a, SN_R_MEASUREMENT_NOT_ALLOWED,
				   "runtime measurement log digest not "
				   "allowed");
	}
out:
	sn_evidence_free(ev);
	if (err) {
		free(a);
		return err;
	}
	free(s->appraisal);
	s->appraisal = a;
	return 0;
}

/* "name: detail" made printable for the wire */
static void reason_text(char *out, size_t cap, int code, const char *detail)
{
	snprintf(out, cap, "%s%s%s", sn_reason_name((enum sn_reason)code),
		 detail[0] ? ": " : "", detail);
	for (char *c = out; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
}

static void reasons_summary(char *out, size_t cap,
			    const struct sn_make_reason *r, size_t n)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		int w = snprintf(out + off, cap - off, "%s%s", i ? "; " : "",
				 r[i].text);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (!n)
		snprintf(out, cap, "no reason given");
}

static void send_own_evidence(struct sn_make_session *s)
{
	uint8_t digest[SN_SHA384_LEN] = {0}, rd[SN_REPORT_DATA_LEN];
	struct sn_make_msg m = {.type = SN_MAKE_EVIDENCE};
	uint8_t *ev = NULL;
	size_t len = 0;
	int err;

	if (s->p.mlog_digest) {
		err = s->p.mlog_digest(s->p.evidence_arg, digest);
		if (err) {
			fail(s, err, SN_MAKE_E_INTERNAL,
			     "own measurement log unavailable");
			return;
		}
	}
	err = sn_report_data_binding(s->cb_own, sizeof(s->cb_own), digest, rd);
	if (!err)
		err = s->p.evidence(s->p.evidence_arg, rd, &ev, &len);
	if (err || !ev || !len) {
		fail(s, err ? err : -EINVAL, SN_MAKE_E_INTERNAL,
		     "own evidence unavailable");
		goto cleanup;
	}
	if (!alive(s))
		goto cleanup;
	m.evidence.data = ev;
	m.evidence.len = len;
	err = send_msg(s, &m);
	if (err)
		fail(s, err, SN_MAKE_E_INTERNAL, "cannot send own evidence");
cleanup:
	free(ev);
}

static void on_connected(struct sn_make_session *s)
{
	struct sn_make_msg m = {.type = SN_MAKE_HELLO};
	int err;

	if (SSL_version(s->ssl) != TLS1_3_VERSION) {
		fail(s, -EPROTO, SN_MAKE_E_VERSION, "not TLS 1.3");
		return;
	}
	if (!SSL_get0_peer_certificate(s->ssl)) {
		fail(s, -EPROTO, SN_MAKE_E_PEER, "peer sent no certificate");
		return;
	}
	err = sn_make_channel_binding(s->ssl, s->is_client, s->cb_own);
	if (!err)
		err = sn_make_channel_binding(s->ssl, !s->is_client,
					      s->cb_peer);
	if (err) {
		fail(s, err, SN_MAKE_E_INTERNAL, "TLS exporter failed");
		return;
	}
	s->st = SN_MAKE_ST_ATTEST;
	m.hello.version = SN_MAKE_VERSION;
	m.hello.role = s->is_client ? SN_MAKE_CLIENT : SN_MAKE_SERVER;
	m.hello.node_id = s->p.node_id;
	snprintf(m.hello.name, sizeof(m.hello.name), "%s", s->node_name);
	memcpy(m.hello.nonce, s->nonce, sizeof(s->nonce));
	err = send_msg(s, &m);
	if (err) {
		fail(s, err, SN_MAKE_E_INTERNAL, "cannot send HELLO");
		return;
	}
	send_own_evidence(s);
}

/* --- receiving ------------------------------------------------------------ */

static void rx_hello(struct sn_make_session *s, const struct sn_make_msg *m)
{
	uint8_t want = s->is_client ? SN_MAKE_SERVER : SN_MAKE_CLIENT;

	if (m->hello.version != SN_MAKE_VERSION) {
		fail(s, -EPROTONOSUPPORT, SN_MAKE_E_VERSION,
		     "unsupported MAKE version %u", m->hello.version);
		return;
	}
	if (m->hello.role != want) {
		fail(s, -EPROTO, SN_MAKE_E_PEER, "peer claims our own role");
		return;
	}
	if (m->hello.node_id == s->p.node_id) {
		fail(s, -EPROTO, SN_MAKE_E_PEER, "peer claims our node id %u",
		     m->hello.node_id);
		return;
	}
	if (s->p.peer_id != SN_MAKE_ANY_PEER &&
	    m->hello.node_id != s->p.peer_id) {
		fail(s, -EPROTO, SN_MAKE_E_PEER,
		     "peer is node %u, expected %u", m->hello.node_id,
		     s->p.peer_id);
		return;
	}
	s->got_hello = true;
	s->peer_id = m->hello.node_id;
	snprintf(s->peer_name, sizeof(s->peer_name), "%s", m->hello.name);
	if (s->cb.on_hello &&
	    s->cb.on_hello(s->cb.arg, s->peer_id, s->peer_name)) {
		if (alive(s))
			fail(s, -EPERM, SN_MAKE_E_PEER,
			     "peer refused by local configuration");
	}
}

static void rx_evidence(struct sn_make_session *s, const struct sn_make_msg *m)
{
	struct sn_make_msg *v;
	const struct sn_appraisal *a;
	int err;

	s->got_evidence = true;
	err = appraise(s, m->evidence.data, m->evidence.len);
	if (err) {
		fail(s, err, SN_MAKE_E_INTERNAL, "appraisal failed: %s",
		     strerror(-err));
		return;
	}
	a = s->appraisal;
	v = calloc(1, sizeof(*v));
	if (!v) {
		fail(s, -ENOMEM, SN_MAKE_E_INTERNAL, "out of memory");
		return;
	}
	v->type = SN_MAKE_VERDICT;
	v->verdict.accept = a->accepted;
	memcpy(v->verdict.nonce, s->peer_nonce_buf, 0);
	free(v);
}
