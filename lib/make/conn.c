// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE connection: what the state machine (session.c) acts through, and
 * never a protocol decision.  The session's lifetime (callbacks may free
 * it: entry points count their depth, the free waits for the outermost),
 * sending frames, timers, and the closing sequence of docs/protocol.md §2
 * ("Any violation: we send ERROR, close the connection and report the
 * failure") with §5's bound on it: ERROR, flush, half-close, discard
 * input for at most LINGER_MS, close, on_fail once.  Also the public
 * accessors of make.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "internal.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

#define LINGER_MS 1000 /* flush the last message at most this long */

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

const char *sn_make_who(const struct sn_make_session *s)
{
	return s->peer_name[0] ? s->peer_name : "(unknown peer)";
}

/* --- lifetime ----------------------------------------------------------- */

void sn_make_destroy(struct sn_make_session *s)
{
	if (s->timer)
		event_free(s->timer);
	if (s->bev)
		bufferevent_free(s->bev); /* frees the SSL, closes fd */
	SSL_CTX_free(s->ctx);
	free(s->appraisal);
	free(s->ev_appraisal);
	free(s->tok_appraisal);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void sn_make_enter(struct sn_make_session *s)
{
	s->depth++;
}

void sn_make_leave(struct sn_make_session *s)
{
	if (--s->depth == 0 && s->free_pending)
		sn_make_destroy(s);
}

/* false once the session is closing or the caller freed it */
bool sn_make_alive(const struct sn_make_session *s)
{
	return !s->free_pending && s->st < SN_MAKE_ST_CLOSING;
}

void sn_make_arm_timer(struct sn_make_session *s, unsigned int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};

	evtimer_add(s->timer, &tv);
}

/* Connection gone: close it and report the failure (once). */
void sn_make_finish(struct sn_make_session *s)
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

int sn_make_send(struct sn_make_session *s, const struct sn_make_msg *m)
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

/* Our last message reached the kernel: shut our write side so the peer
 * reads everything and then EOF (a close could make the peer's pending
 * write fail before it read our VERDICT / ERROR). */
static void half_close(struct sn_make_session *s)
{
	if (s->shut || !s->bev)
		return;
	s->shut = true;
	shutdown(bufferevent_getfd(s->bev), SHUT_WR);
}

/*
 * Fail the session: remember why, optionally send ERROR(code), flush what
 * is queued, shut our write side, discard input until the peer closes (at
 * most LINGER_MS), close, on_fail.
 * code 0: send nothing (the peer already knows, e.g. our VERDICT said it).
 */
void sn_make_fail(struct sn_make_session *s, int err, uint16_t code,
		  const char *fmt, ...)
{
	va_list ap;

	if (s->st >= SN_MAKE_ST_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->fail_err = err;
	sn_warn("make: %s (id %u): %s", sn_make_who(s), s->peer_id, s->error);

	if (code && s->bev && s->st != SN_MAKE_ST_TLS) {
		struct sn_make_msg *m = calloc(1, sizeof(*m));

		if (m) {
			/* our own text; printable by construction, but
			 * make sure before it goes on the wire */
			size_t tl = strnlen(s->error, SN_MAKE_ERROR_MAX);

			m->type = SN_MAKE_ERROR;
			m->error.code = code;
			memcpy(m->error.text, s->error, tl);
			m->error.text[tl] = '\0';
			sn_make_printable(m->error.text);
			(void)sn_make_send(s, m);
			free(m);
		}
	}
	s->st = SN_MAKE_ST_CLOSING;
	if (!s->bev) {
		sn_make_finish(s);
		return;
	}
	sn_make_arm_timer(s, LINGER_MS);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		half_close(s);
}

/* --- events --------------------------------------------------------------- */

void sn_make_write_cb(struct bufferevent *bev, void *arg)
{
	struct sn_make_session *s = arg;

	sn_make_enter(s);
	if (s->st == SN_MAKE_ST_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		half_close(s);
	sn_make_leave(s);
}

void sn_make_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sn_make_session *s = arg;

	sn_make_enter(s);
	if (s->st == SN_MAKE_ST_CLOSING)
		sn_make_finish(s);
	else if (s->st < SN_MAKE_ST_CLOSING)
		sn_make_fail(s, -ETIMEDOUT, SN_MAKE_E_TIMEOUT, "%s timed out",
			     s->rekey_pending ? "rekey" : "handshake");
	sn_make_leave(s);
}

static void ssl_error_text(struct bufferevent *bev, char *out, size_t cap)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	out[0] = '\0';
	if (e)
		ERR_error_string_n(e, out, cap);
	while (bufferevent_get_openssl_error(bev))
		;
}

/* The connection is gone (EOF or error outside CLOSING): nothing can be
 * sent any more; record why, close, on_fail. */
void sn_make_conn_lost(struct sn_make_session *s, short what)
{
	char tls[256];

	ssl_error_text(s->bev, tls, sizeof(tls));
	snprintf(s->error, sizeof(s->error), "%s in state %s%s%s",
		 (what & BEV_EVENT_EOF) ? "connection closed by peer"
					: "connection error",
		 sn_make_state_name(s->st), tls[0] ? ": " : "", tls);
	s->fail_err = (what & BEV_EVENT_EOF) ? -ECONNRESET : -EIO;
	sn_warn("make: %s (id %u): %s", sn_make_who(s), s->peer_id, s->error);
	s->st = SN_MAKE_ST_CLOSING;
	sn_make_finish(s);
}

/* --- public --------------------------------------------------------------- */

void sn_make_session_free(struct sn_make_session *s)
{
	if (!s)
		return;
	if (s->depth) {
		/* inside one of our callbacks: free on the way out */
		s->free_pending = true;
		if (s->bev)
			bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		evtimer_del(s->timer);
		return;
	}
	sn_make_destroy(s);
}

enum sn_make_state sn_make_session_state(const struct sn_make_session *s)
{
	return s->st;
}

uint32_t sn_make_session_peer_id(const struct sn_make_session *s)
{
	return s->peer_id;
}

const char *sn_make_session_peer_name(const struct sn_make_session *s)
{
	return s->peer_name;
}

uint16_t sn_make_session_epoch(const struct sn_make_session *s)
{
	return s->epoch;
}

int sn_make_session_id(const struct sn_make_session *s, uint8_t out[8])
{
	if (!s || !s->got_hello)
		return -EAGAIN;
	memcpy(out, s->is_client ? s->nonce : s->peer_nonce, 4);
	memcpy(out + 4, s->is_client ? s->peer_nonce : s->nonce, 4);
	return 0;
}

const struct sn_appraisal *
sn_make_session_peer_appraisal(const struct sn_make_session *s)
{
	return s->appraisal;
}

const char *sn_make_session_error(const struct sn_make_session *s)
{
	return s->error;
}
