// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE session: the state machine of docs/protocol.md on a libevent
 * OpenSSL bufferevent, and its input -- §1 (TLS 1.3 with a peer
 * certificate), §2 (frames read and checked for state and sender), the
 * sequence of §3 and the epochs and rekey of §4.  TLS handshake -> HELLO +
 * EVIDENCE both ways -> appraise the peer (appraise_peer.c) -> VERDICT
 * both ways -> keys of epoch 1 (keys.c) -> KEYS_READY; then REKEY.
 * Sending, failing and closing, timers and the deferred free: conn.c.
 *
 * Every message is checked for its state and sender before it is acted
 * upon; each may arrive once (per epoch).  Any violation sends ERROR and
 * closes.
 */
#include <errno.h>
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
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "internal.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

#define DEFAULT_TIMEOUT_MS 10000

/* --- keys ----------------------------------------------------------------- */

/* epoch's keys (keys.c) to the caller: on_keys, or on_rekey after 1.
 * Fails the session when they cannot be derived. */
static int derive(struct sn_make_session *s, uint16_t epoch, bool first)
{
	struct sn_make_epoch_keys k;
	int err;

	err = sn_make_keys_epoch(&s->keys, s->ssl, epoch, &k);
	if (err) {
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL,
			     "key derivation failed");
		goto cleanup;
	}
	s->epoch = epoch;
	s->ready_notified = false;
	s->peer_rekey_seen = false;
	sn_info("make: %s (id %u): keys of epoch %u derived", sn_make_who(s),
		s->peer_id, epoch);
	if (!first && s->cb.on_rekey)
		s->cb.on_rekey(s->cb.arg, s->peer_id, epoch, k.tx, k.rx);
	else if (s->cb.on_keys)
		s->cb.on_keys(s->cb.arg, s->peer_id, epoch, k.tx, k.rx);
cleanup:
	OPENSSL_cleanse(&k, sizeof(k));
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
	return sn_make_send(s, &m);
}

/* we receive with epoch's keys: tell the peer */
static void send_keys_ready(struct sn_make_session *s, uint16_t epoch)
{
	int err = send_epoch(s, SN_MAKE_KEYS_READY, epoch);

	if (err)
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL,
			     "cannot send KEYS_READY");
}

/* both verdicts accept: epoch 1 */
static void maybe_keys(struct sn_make_session *s)
{
	if (!s->own_accept || !s->peer_accept || s->st != SN_MAKE_ST_ATTEST)
		return;
	s->st = SN_MAKE_ST_KEYS;
	s->await_keys_ready = true;
	if (derive(s, 1, true) || !sn_make_alive(s))
		return;
	send_keys_ready(s, 1);
}

int sn_make_session_rekey(struct sn_make_session *s)
{
	int err;

	if (!s || s->st != SN_MAKE_ST_ESTABLISHED || s->rekey_pending ||
	    s->await_keys_ready || s->free_pending)
		return -EAGAIN;
	if (s->epoch == UINT16_MAX)
		return -ERANGE;
	sn_make_enter(s);
	/* roll the TLS traffic keys of both directions forward as well */
	if (SSL_key_update(s->ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
		ERR_clear_error();
		err = -EIO;
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL,
			     "TLS key update failed");
		goto out;
	}
	s->rekey_pending = true;
	s->await_keys_ready = true;
	err = derive(s, (uint16_t)(s->epoch + 1), false);
	if (err || !sn_make_alive(s))
		goto out;
	err = send_epoch(s, SN_MAKE_REKEY, s->epoch);
	if (err) {
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL, "cannot send REKEY");
		goto out;
	}
	sn_make_arm_timer(s, s->p.rekey_timeout_ms);
out:
	sn_make_leave(s);
	return err;
}

/* --- attestation ----------------------------------------------------------- */

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
			sn_make_fail(s, err, SN_MAKE_E_INTERNAL,
				     "own measurement log unavailable");
			return;
		}
	}
	err = sn_make_keys_report_data(&s->keys, digest, rd);
	if (!err)
		err = s->p.evidence(s->p.evidence_arg, rd, &ev, &len);
	if (err || !ev || !len) {
		sn_make_fail(s, err ? err : -EINVAL, SN_MAKE_E_INTERNAL,
			     "own evidence unavailable");
		goto cleanup;
	}
	if (!sn_make_alive(s))
		goto cleanup;
	m.evidence.data = ev;
	m.evidence.len = len;
	err = sn_make_send(s, &m);
	if (err)
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL,
			     "cannot send own evidence");
cleanup:
	free(ev);
}

static enum sn_make_accept own_accept(const struct sn_make_session *s)
{
	return s->p.accept ? s->p.accept : SN_MAKE_ACCEPT_EVIDENCE;
}

/* our token in TOKEN: 0 sent, -ENOENT none (nothing sent), other errors
 * fail the session */
static int send_own_token(struct sn_make_session *s)
{
	struct sn_make_msg m = {.type = SN_MAKE_TOKEN};
	char *tok = NULL;
	int err;

	if (!s->p.token)
		return -ENOENT;
	err = s->p.token(s->p.token_arg, &tok);
	if (err == -ENOENT)
		return err;
	if (err || !tok) {
		sn_make_fail(s, err ? err : -EINVAL, SN_MAKE_E_INTERNAL,
			     "own KBS token unavailable");
		return err ? err : -EINVAL;
	}
	m.token.data = tok;
	m.token.len = strlen(tok);
	err = sn_make_send(s, &m);
	if (err)
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL, "cannot send TOKEN");
	OPENSSL_cleanse(tok, m.token.len);
	free(tok);
	return err;
}

/* v2: what the peer's HELLO accepts decides what we prove ourselves with */
static void send_proofs(struct sn_make_session *s)
{
	int err;

	switch (s->peer_wants) {
	case SN_MAKE_ACCEPT_EVIDENCE:
		send_own_evidence(s);
		return;
	case SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE:
		if (send_own_token(s) == -ENOENT && sn_make_alive(s))
			send_own_evidence(s);
		return;
	case SN_MAKE_ACCEPT_TOKEN:
	case SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE:
		err = send_own_token(s);
		if (err == -ENOENT)
			sn_make_fail(s, -ENOKEY, SN_MAKE_E_PEER,
				     "the peer requires a KBS token and this "
				     "node has none (attest to the KBS)");
		else if (!err && sn_make_alive(s) &&
			 s->peer_wants == SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE)
			send_own_evidence(s);
		return;
	}
}

static void on_connected(struct sn_make_session *s)
{
	struct sn_make_msg m = {.type = SN_MAKE_HELLO};
	int err;

	if (SSL_version(s->ssl) != TLS1_3_VERSION) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_VERSION, "not TLS 1.3");
		return;
	}
	if (!SSL_get0_peer_certificate(s->ssl)) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_PEER,
			     "peer sent no certificate");
		return;
	}
	err = sn_make_keys_bind(&s->keys, s->ssl, s->is_client);
	if (err) {
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL, "TLS exporter failed");
		return;
	}
	s->st = SN_MAKE_ST_ATTEST;
	/* version 1 unless tokens are involved on our side; 3 with a
	 * workflow binding (§3.2), which proves like 2 */
	s->v2 = s->p.token || own_accept(s) != SN_MAKE_ACCEPT_EVIDENCE ||
		s->keys.has_bind;
	m.hello.version = s->keys.has_bind ? SN_MAKE_VERSION_WORKFLOW :
			  s->v2		   ? SN_MAKE_VERSION_TOKEN :
					     SN_MAKE_VERSION;
	if (s->keys.has_bind) {
		err = sn_make_confirm(s->ssl, s->is_client, s->keys.bind,
				      m.hello.confirm);
		if (err) {
			sn_make_fail(s, err, SN_MAKE_E_INTERNAL,
				     "TLS exporter failed");
			return;
		}
	}
	m.hello.accept = (uint8_t)own_accept(s);
	m.hello.role = s->is_client ? SN_MAKE_CLIENT : SN_MAKE_SERVER;
	m.hello.node_id = s->p.node_id;
	snprintf(m.hello.name, sizeof(m.hello.name), "%s", s->node_name);
	memcpy(m.hello.nonce, s->nonce, sizeof(s->nonce));
	err = sn_make_send(s, &m);
	if (err) {
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL, "cannot send HELLO");
		return;
	}
	if (!s->v2)
		send_own_evidence(s); /* v1: at once, as always */
}

/* --- receiving ------------------------------------------------------------ */

static void rx_hello(struct sn_make_session *s, const struct sn_make_msg *m)
{
	uint8_t want = s->is_client ? SN_MAKE_SERVER : SN_MAKE_CLIENT;

	uint8_t confirm[SN_MAKE_CONFIRM_LEN];

	if (m->hello.version != SN_MAKE_VERSION &&
	    m->hello.version != SN_MAKE_VERSION_TOKEN &&
	    m->hello.version != SN_MAKE_VERSION_WORKFLOW) {
		sn_make_fail(s, -EPROTONOSUPPORT, SN_MAKE_E_VERSION,
			     "unsupported MAKE version %u", m->hello.version);
		return;
	}
	/* §3.2: both sides bind the same workflow and domains, or neither */
	if (s->keys.has_bind !=
	    (m->hello.version == SN_MAKE_VERSION_WORKFLOW)) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_WORKFLOW,
			     "workflow-mismatch: %s",
			     s->keys.has_bind ?
				     "the peer does not bind a workflow "
				     "(HELLO version < 3): it runs no "
				     "manifest, or not as a peer of another "
				     "domain" :
				     "the peer binds a workflow (HELLO version "
				     "3) and this node does not");
		return;
	}
	if (s->keys.has_bind &&
	    (sn_make_confirm(s->ssl, !s->is_client, s->keys.bind, confirm) ||
	     CRYPTO_memcmp(confirm, m->hello.confirm, sizeof(confirm)))) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_WORKFLOW,
			     "workflow-mismatch: the peer's HELLO confirms "
			     "another workflow binding (another manifest "
			     "digest, or other domains for the two nodes)");
		return;
	}
	if (m->hello.role != want) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_PEER,
			     "peer claims our own role");
		return;
	}
	if (m->hello.node_id == s->p.node_id) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_PEER,
			     "peer claims our node id %u", m->hello.node_id);
		return;
	}
	if (s->p.peer_id != SN_MAKE_ANY_PEER &&
	    m->hello.node_id != s->p.peer_id) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_PEER,
			     "peer is node %u, expected %u", m->hello.node_id,
			     s->p.peer_id);
		return;
	}
	s->got_hello = true;
	s->peer_wants = m->hello.accept;
	s->peer_id = m->hello.node_id;
	memcpy(s->peer_nonce, m->hello.nonce, sizeof(s->peer_nonce));
	snprintf(s->peer_name, sizeof(s->peer_name), "%s", m->hello.name);
	if (s->cb.on_hello &&
	    s->cb.on_hello(s->cb.arg, s->peer_id, s->peer_name)) {
		if (sn_make_alive(s))
			sn_make_fail(s, -EPERM, SN_MAKE_E_PEER,
				     "peer refused by local configuration");
		return;
	}
	if (s->v2 && sn_make_alive(s))
		send_proofs(s);
}

/* the verdict on the peer, once the proofs our accept mode needs are in:
 * the evidence's appraisal, the token's check, or (both required) the
 * evidence's with the token's reasons added and the measurements equal */
static void conclude(struct sn_make_session *s)
{
	enum sn_make_accept acc = own_accept(s);
	struct sn_appraisal *a;
	struct sn_make_msg *v;
	char summary[SN_MAKE_ERR_TEXT];
	int err;

	if (acc == SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE) {
		if (!s->ev_appraisal || !s->tok_appraisal)
			return;
		a = s->ev_appraisal;
		s->ev_appraisal = NULL;
		for (size_t i = 0; i < s->tok_appraisal->n_reasons &&
				   a->n_reasons < SN_MAX_REASONS; i++)
			a->reasons[a->n_reasons++] =
				s->tok_appraisal->reasons[i];
		if (s->tok_appraisal->accepted && a->accepted &&
		    CRYPTO_memcmp(s->tok_appraisal->claims.measurement,
				  a->claims.measurement,
				  sizeof(a->claims.measurement)) &&
		    a->n_reasons < SN_MAX_REASONS) {
			a->reasons[a->n_reasons].code = SN_R_TOKEN;
			snprintf(a->reasons[a->n_reasons].detail,
				 sizeof(a->reasons[0].detail),
				 "the token's measurement is not the evidence's");
			a->n_reasons++;
		}
		a->accepted = a->accepted && s->tok_appraisal->accepted &&
			      !a->n_reasons;
	} else if (s->tok_appraisal) {
		a = s->tok_appraisal;
		s->tok_appraisal = NULL;
	} else if (s->ev_appraisal) {
		a = s->ev_appraisal;
		s->ev_appraisal = NULL;
	} else {
		return;
	}
	free(s->appraisal);
	s->appraisal = a;
	v = calloc(1, sizeof(*v));
	if (!v) {
		sn_make_fail(s, -ENOMEM, SN_MAKE_E_INTERNAL, "out of memory");
		return;
	}
	sn_make_verdict(v, a, s->peer_nonce);
	err = sn_make_send(s, v);
	if (err) {
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL, "cannot send VERDICT");
		goto out;
	}
	if (!a->accepted) {
		sn_make_reasons_summary(summary, sizeof(summary),
					v->verdict.reasons, v->verdict.n_reasons);
		sn_make_fail(s, -EACCES, 0, "peer %s rejected: %s",
			     s->got_token ? "token or evidence" : "evidence",
			     summary);
		goto out;
	}
	sn_info("make: %s (id %u): %s accepted (%s)", sn_make_who(s),
		s->peer_id,
		!s->got_token	   ? "evidence" :
		s->got_evidence ? "token and evidence" :
				  "token",
		sn_tee_name(a->claims.tee));
	s->own_accept = true;
	maybe_keys(s);
out:
	free(v);
}

static int peer_spki_sha256(SSL *ssl, uint8_t out[SN_SHA256_LEN])
{
	X509 *c = SSL_get0_peer_certificate(ssl);
	unsigned char *der = NULL;
	int n;

	if (!c)
		return -EPROTO;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
	if (n <= 0)
		return -EINVAL;
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

static void rx_token(struct sn_make_session *s, const struct sn_make_msg *m)
{
	uint8_t spki[SN_SHA256_LEN];
	struct sn_appraisal *a;
	int err;

	s->got_token = true;
	a = calloc(1, sizeof(*a));
	if (!a) {
		sn_make_fail(s, -ENOMEM, SN_MAKE_E_INTERNAL, "out of memory");
		return;
	}
	err = peer_spki_sha256(s->ssl, spki);
	if (!err)
		err = s->p.verify_token(s->p.token_arg, m->token.data,
					m->token.len, spki, s->peer_id,
					s->peer_name, own_accept(s), a);
	if (err) {
		free(a);
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL,
			     "token check failed: %s", strerror(-err));
		return;
	}
	if (!a->accepted && !a->n_reasons) {
		a->reasons[0].code = SN_R_TOKEN;
		snprintf(a->reasons[0].detail, sizeof(a->reasons[0].detail),
			 "refused");
		a->n_reasons = 1;
	}
	free(s->tok_appraisal);
	s->tok_appraisal = a;
	conclude(s);
}

static void rx_evidence(struct sn_make_session *s, const struct sn_make_msg *m)
{
	struct sn_appraisal *a;
	int err;

	s->got_evidence = true;
	err = sn_make_appraise_peer(&s->p, s->keys.cb_peer, m->evidence.data,
				    m->evidence.len, &a);
	if (err) {
		sn_make_fail(s, err, SN_MAKE_E_INTERNAL, "appraisal failed: %s",
			     strerror(-err));
		return;
	}
	free(s->ev_appraisal);
	s->ev_appraisal = a;
	conclude(s);
}

static void rx_verdict(struct sn_make_session *s, const struct sn_make_msg *m)
{
	char summary[SN_MAKE_ERR_TEXT];

	s->got_verdict = true;
	if (CRYPTO_memcmp(m->verdict.nonce, s->nonce, sizeof(s->nonce))) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_PROTOCOL,
			     "VERDICT for another session (nonce differs)");
		return;
	}
	if (!m->verdict.accept) {
		sn_make_reasons_summary(summary, sizeof(summary),
					m->verdict.reasons, m->verdict.n_reasons);
		sn_make_fail(s, -EACCES, 0, "peer rejected our evidence: %s",
			     summary);
		return;
	}
	s->peer_accept = true;
	maybe_keys(s);
}

static void rx_keys_ready(struct sn_make_session *s, uint16_t epoch)
{
	if (!s->await_keys_ready || epoch != s->epoch) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_REKEY,
			     "unexpected KEYS_READY(%u) at epoch %u", epoch,
			     s->epoch);
		return;
	}
	s->await_keys_ready = false;
	if (s->st == SN_MAKE_ST_KEYS) {
		s->st = SN_MAKE_ST_ESTABLISHED;
		evtimer_del(s->timer);
	}
	if (s->rekey_pending) {
		s->rekey_pending = false;
		evtimer_del(s->timer);
	}
	notify_ready(s);
}

static void rx_rekey(struct sn_make_session *s, uint16_t epoch)
{
	if (s->rekey_pending && epoch == s->epoch && !s->peer_rekey_seen) {
		/* both started the same rekey: the peer's REKEY says it
		 * receives with this epoch; its KEYS_READY still follows */
		s->peer_rekey_seen = true;
		notify_ready(s);
		if (sn_make_alive(s))
			send_keys_ready(s, epoch);
		return;
	}
	if (s->rekey_pending || s->await_keys_ready || s->epoch == UINT16_MAX ||
	    epoch != s->epoch + 1) {
		sn_make_fail(s, -EPROTO, SN_MAKE_E_REKEY,
			     "unexpected REKEY(%u) at epoch %u", epoch,
			     s->epoch);
		return;
	}
	if (derive(s, epoch, false) || !sn_make_alive(s))
		return;
	/* the initiator installed its keys before sending REKEY */
	notify_ready(s);
	if (sn_make_alive(s))
		send_keys_ready(s, epoch);
}

static void handle(struct sn_make_session *s, const struct sn_make_msg *m)
{
	enum sn_make_state st = s->st;

	switch (m->type) {
	case SN_MAKE_ERROR:
		sn_make_fail(s, -ECONNABORTED, 0, "peer error %u: %s",
			     m->error.code, m->error.text);
		return;
	case SN_MAKE_HELLO:
		if (st != SN_MAKE_ST_ATTEST || s->got_hello)
			break;
		rx_hello(s, m);
		return;
	case SN_MAKE_EVIDENCE:
		if (st != SN_MAKE_ST_ATTEST || !s->got_hello || s->got_evidence)
			break;
		if (own_accept(s) == SN_MAKE_ACCEPT_TOKEN ||
		    (own_accept(s) == SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE &&
		     s->got_token)) {
			sn_make_fail(s, -EACCES, SN_MAKE_E_PEER,
				     "EVIDENCE where this node accepts %s",
				     s->got_token ? "one proof, a TOKEN came" :
						    "only a KBS token");
			return;
		}
		rx_evidence(s, m);
		return;
	case SN_MAKE_TOKEN:
		if (st != SN_MAKE_ST_ATTEST || !s->got_hello || s->got_token)
			break;
		if (own_accept(s) == SN_MAKE_ACCEPT_EVIDENCE ||
		    (own_accept(s) == SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE &&
		     s->got_evidence)) {
			sn_make_fail(s, -EACCES, SN_MAKE_E_PEER,
				     "TOKEN where this node accepts %s",
				     s->got_evidence ? "one proof, EVIDENCE came" :
						       "only raw evidence");
			return;
		}
		rx_token(s, m);
		return;
	case SN_MAKE_VERDICT:
		if (st != SN_MAKE_ST_ATTEST || !s->got_hello || s->got_verdict)
			break;
		rx_verdict(s, m);
		return;
	case SN_MAKE_KEYS_READY:
		if (st != SN_MAKE_ST_KEYS && st != SN_MAKE_ST_ESTABLISHED)
			break;
		rx_keys_ready(s, m->keys_ready.epoch);
		return;
	case SN_MAKE_REKEY:
		if (st != SN_MAKE_ST_ESTABLISHED)
			break;
		rx_rekey(s, m->rekey.epoch);
		return;
	}
	sn_make_fail(s, -EPROTO, SN_MAKE_E_PROTOCOL,
		     "unexpected %s in state %s",
		     sn_make_msg_type_name(m->type), sn_make_state_name(st));
}

/* handle every complete frame in the input buffer */
static void process_input(struct sn_make_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct sn_make_msg *m = NULL;

	while (sn_make_alive(s)) {
		uint8_t hdr[SN_MAKE_HDR_LEN];
		size_t body, avail = evbuffer_get_length(in);
		const uint8_t *frame;
		int err;

		if (avail < SN_MAKE_HDR_LEN)
			break;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		err = sn_make_msg_peek(hdr, &body);
		if (err) {
			sn_make_fail(s, err,
				     err == -EMSGSIZE ? SN_MAKE_E_TOO_BIG :
							SN_MAKE_E_PROTOCOL,
				     "bad frame length");
			break;
		}
		if (avail < SN_MAKE_HDR_LEN + body)
			break;
		if (!m) {
			m = malloc(sizeof(*m));
			if (!m) {
				sn_make_fail(s, -ENOMEM, SN_MAKE_E_INTERNAL,
					     "out of memory");
				break;
			}
		}
		frame = evbuffer_pullup(in, (ev_ssize_t)(SN_MAKE_HDR_LEN + body));
		if (!frame) {
			sn_make_fail(s, -ENOMEM, SN_MAKE_E_INTERNAL,
				     "out of memory");
			break;
		}
		err = sn_make_msg_decode(frame, SN_MAKE_HDR_LEN + body, m);
		if (err) {
			sn_make_fail(s, err, SN_MAKE_E_PROTOCOL,
				     "malformed message (type %u, %zu bytes)",
				     frame[SN_MAKE_HDR_LEN], body);
			break;
		}
		sn_dbg("make: %s: received %s", sn_make_who(s),
		       sn_make_msg_type_name(m->type));
		handle(s, m);
		/* m->evidence points into the buffer: drain after use */
		if (!s->free_pending && s->bev)
			evbuffer_drain(in, SN_MAKE_HDR_LEN + body);
	}
	free(m);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct sn_make_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	sn_make_enter(s);
	if (s->st == SN_MAKE_ST_CLOSING)
		evbuffer_drain(in, evbuffer_get_length(in)); /* discard */
	else
		process_input(s);
	sn_make_leave(s);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sn_make_session *s = arg;

	sn_make_enter(s);
	if (what & BEV_EVENT_CONNECTED) {
		if (s->st == SN_MAKE_ST_TLS)
			on_connected(s);
		goto out;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		goto out;
	if (s->st >= SN_MAKE_ST_CLOSING) {
		if (s->st == SN_MAKE_ST_CLOSING)
			sn_make_finish(s);
		goto out;
	}
	/* frames that arrived before the close still count (e.g. the
	 * peer's VERDICT explaining why it closes) */
	if (s->st != SN_MAKE_ST_TLS)
		process_input(s);
	if (sn_make_alive(s))
		sn_make_conn_lost(s, what);
out:
	sn_make_leave(s);
}

/* --- public --------------------------------------------------------------- */

int sn_make_session_new(struct event_base *base, int fd, bool is_client,
			const struct sn_make_params *params,
			const struct sn_make_callbacks *cbs,
			struct sn_make_session **out)
{
	struct sn_make_session *s;
	SSL *ssl = NULL;
	int err;

	if (params && params->accept &&
	    (params->accept > SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE ||
	     (params->accept != SN_MAKE_ACCEPT_EVIDENCE &&
	      !params->verify_token)))
		return -EINVAL;
	if (!base || fd < 0 || !params || !params->evidence ||
	    !params->node_id || !params->node_name ||
	    !sn_make_name_ok(params->node_name, strlen(params->node_name)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base = base;
	s->is_client = is_client;
	s->p = *params;
	snprintf(s->node_name, sizeof(s->node_name), "%s", params->node_name);
	s->p.node_name = s->node_name;
	if (!s->p.handshake_timeout_ms)
		s->p.handshake_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!s->p.rekey_timeout_ms)
		s->p.rekey_timeout_ms = s->p.handshake_timeout_ms;
	if (cbs)
		s->cb = *cbs;
	if (params->workflow_bind) {
		s->keys.has_bind = true;
		memcpy(s->keys.bind, params->workflow_bind, SN_MAKE_BIND_LEN);
		s->p.workflow_bind = NULL; /* the copy in keys */
	}
	if (RAND_bytes(s->nonce, sizeof(s->nonce)) != 1) {
		err = -EIO;
		goto fail;
	}
	if (params->tls_ctx) {
		if (SSL_CTX_up_ref(params->tls_ctx) != 1) {
			err = -EIO;
			goto fail;
		}
		s->ctx = params->tls_ctx;
	} else {
		err = sn_make_tls_ctx_new(&s->ctx);
		if (err)
			goto fail;
	}
	s->timer = evtimer_new(base, sn_make_timer_cb, s);
	ssl = SSL_new(s->ctx);
	if (!s->timer || !ssl) {
		err = -ENOMEM;
		goto fail;
	}
	if (evutil_make_socket_nonblocking(fd)) {
		err = -errno;
		goto fail;
	}
	s->bev = bufferevent_openssl_socket_new(
		base, fd, ssl,
		is_client ? BUFFEREVENT_SSL_CONNECTING
			  : BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!s->bev) {
		err = -ENOMEM;
		goto fail;
	}
	s->ssl = ssl;
	ssl = NULL; /* owned by the bufferevent now */
	bufferevent_setcb(s->bev, read_cb, sn_make_write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0,
				 SN_MAKE_HDR_LEN + SN_MAKE_MAX_MSG);
	if (bufferevent_enable(s->bev, EV_READ | EV_WRITE)) {
		err = -EIO;
		goto fail;
	}
	sn_make_arm_timer(s, s->p.handshake_timeout_ms);
	*out = s;
	return 0;
fail:
	SSL_free(ssl);
	sn_make_destroy(s); /* once the bufferevent exists, this closes fd */
	return err;
}
