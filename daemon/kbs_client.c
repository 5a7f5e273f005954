// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's link to its domain's key broker (docs/sealnetd.md "kbs",
 * docs/kbs-api.md "GET /events"): revocation at the nodes.
 *
 * With "kbs" configured, sealnetd keeps one `GET /events?after=N&wait=S`
 * long-poll open to the KBS, over TLS 1.3 verified against the configured
 * trust anchor and the URL's host (name or IP address), in its event loop
 * (libevent evhttp over an OpenSSL bufferevent: nothing blocks).  The
 * first poll asks wait=0 (the backlog, at once), the next ones wait up to
 * poll_s.  Each answer is applied, then the next poll starts with after =
 * last; a
 * failed poll is retried with exponential backoff (1 s .. 30 s).  At start
 * N = 0, so every revocation the KBS ever recorded is applied again.
 * An answer whose "epoch" differs from the one seen before, or whose
 * "head" (the KBS's highest event ever) is below N, means the KBS's
 * database was recreated or restored: that answer is dropped and N goes
 * back to 0 (applying an event again changes nothing).
 *
 * An event of kind "node" whose value is a peer's name, or of kind
 * "measurement" whose value is the measurement the peer's last accepted
 * appraisal showed, revokes the peer (make_peers.c sn_make_revoke: its
 * sessions end, its keys leave the data plane, its MAKE is refused).
 * Revoked measurements are also remembered: a later MAKE whose appraisal
 * shows one gets no keys.  A lift event ("op": "lift") removes the one
 * revocation it names; a peer no longer covered by any revocation is
 * re-admitted (sn_make_unrevoke: MAKE allowed again, dialled at once when
 * we are its client).  The revocations held, the position and the epoch,
 * the refusal of replayed, reordered or mismatched events and the full
 * re-read after the KBS's sequence restarted are lib/kbs/revset.c's
 * (docs/kbs-api.md "Following GET /events").  Every revocation and lift
 * applied, and every event ignored, is logged and written to the audit
 * log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sealnet/kbs.h"
#include "sealnet/kbs_revset.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnetd.h"

#define KBSC_BODY_MAX (4u << 20) /* 1000 events at most per answer */

struct sn_kbsc {
	struct sealnetd *d;
	SSL_CTX *ctx;
	char host[128];
	uint16_t port;
	bool host_is_ip;
	struct evhttp_connection *conn;
	struct event *next; /* start the next poll (outside callbacks) */
	unsigned int backoff_s;
	bool connected;
	struct sn_kbs_revset *rs; /* revocations in force, position, epoch */
	uint64_t events, revocations, lifts, ignored, polls, failures;
	char error[256];
};

static int split_host_port(const char *s, char *host, size_t cap,
			   uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long p;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	p = strtoul(colon + 1, &end, 10);
	if (!hl || hl >= cap || *end || !colon[1] || !p || p > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

bool sn_kbsc_refused(struct sealnetd *d, const char *name, const uint8_t *meas,
		     char *why, size_t cap)
{
	struct sn_kbsc *k = d->kbsc;
	char hex[2 * SN_MEASUREMENT_LEN + 1];
	const char *r = NULL;

	if (!k)
		return false;
	if (sn_kbs_revset_revoked(k->rs, "node", name, &r)) {
		snprintf(why, cap, "revoked by the KBS: node %.60s (%.60s)",
			 name, r);
		return true;
	}
	if (!meas)
		return false;
	sn_hex_encode(meas, SN_MEASUREMENT_LEN, hex);
	if (!sn_kbs_revset_revoked(k->rs, "measurement", hex, &r))
		return false;
	snprintf(why, cap, "revoked by the KBS: measurement %.16s... (%.60s)",
		 hex, r);
	return true;
}

static void audit_revocation(struct sealnetd *d, int64_t seq, const char *kind,
			     const char *value, const char *reason,
			     const char *peer)
{
	json_t *j =
		json_pack("{ss sI ss ss ss ss}", "event", "kbs-revocation",
			  "seq", (json_int_t)seq, "kind", kind, "value", value,
			  "reason", reason, "peer", peer ? peer : "");

	if (j) {
		sn_audit(d, j);
		json_decref(j);
	}
}

static void audit_event(struct sealnetd *d, const char *event,
			const struct sn_kbs_rev_event *e, const char *outcome,
			const char *peer)
{
	json_t *j = json_pack("{ss sI sI ss ss ss ss ss}", "event", event,
			      "seq", (json_int_t)e->seq, "lifts",
			      (json_int_t)e->lifts, "kind", e->kind, "value",
			      e->value, "reason", e->reason, "outcome", outcome,
			      "peer", peer ? peer : "");

	if (j) {
		sn_audit(d, j);
		json_decref(j);
	}
}

/* after a lift or a completed re-read: every peer refused because of the
 * KBS that no revocation covers any more gets its MAKE back */
static void reconsider(struct sn_kbsc *k, const struct sn_kbs_rev_event *e)
{
	struct sealnetd *d = k->d;

	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_peer_config *p = &d->cfg->peers[i];
		uint8_t m[SN_MEASUREMENT_LEN];
		char why[256];
		bool has_m;

		if (p->has_static_keys || !sn_make_peer_revoked(d, i))
			continue;
		has_m = !sn_make_peer_measurement(d, i, m);
		if (sn_kbsc_refused(d, p->name, has_m ? m : NULL, why,
				    sizeof(why)))
			continue;
		if (e)
			snprintf(why, sizeof(why),
				 "revocation %lld lifted by the KBS (event "
				 "%lld: %.80s)",
				 (long long)e->lifts, (long long)e->seq,
				 e->reason);
		else
			snprintf(why, sizeof(why),
				 "no longer revoked by the KBS (its "
				 "revocations read again)");
		sn_make_unrevoke(d, i, why);
		k->lifts++;
		if (e) {
			audit_event(d, "kbs-lift", e, "re-admitted", p->name);
		} else {
			json_t *j = json_pack(
				"{ss ss ss}", "event", "kbs-lift", "outcome",
				"re-admitted-after-resync", "peer", p->name);

			if (j) {
				sn_audit(d, j);
				json_decref(j);
			}
		}
	}
}

/* one event of GET /events */
static void apply_event(struct sn_kbsc *k, json_t *ev)
{
	struct sealnetd *d = k->d;
	struct sn_kbs_rev_event e;
	char why[256];
	bool applied = false;
	int v;

	if (sn_kbs_rev_event_parse(ev, &e)) {
		json_int_t seq = json_integer_value(json_object_get(ev, "seq"));
		json_t *j;

		/* ignored, but the position moves past it (a later event
		 * cannot be held up by one this node does not understand) */
		sn_warn("kbs: event %lld is not {seq, kind: node|measurement, "
			"value, reason, [op: revoke|lift, lifts < seq]}: "
			"ignored",
			(long long)seq);
		k->ignored++;
		j = json_pack("{ss sI ss}", "event", "kbs-event-ignored", "seq",
			      seq, "outcome", "malformed");
		if (j) {
			sn_audit(d, j);
			json_decref(j);
		}
		return;
	}
	k->events++;
	v = sn_kbs_revset_apply(k->rs, &e);
	if (v < 0) {
		sn_err("kbs: cannot hold revocation %lld (%s %s): %s; its "
		       "peers are cut off now but a later MAKE is not refused",
		       (long long)e.seq, e.kind, e.value, strerror(-v));
	} else if (v != SN_KBS_REV_REVOKED) {
		const char *name = sn_kbs_rev_verdict_name(v);

		if (v == SN_KBS_REV_LIFTED || v == SN_KBS_REV_LIFTED_KEPT ||
		    v == SN_KBS_REV_LIFT_UNKNOWN) {
			sn_info("kbs: event %lld lifts revocation %lld (%s %s, "
				"%s)%s",
				(long long)e.seq, (long long)e.lifts, e.kind,
				e.value, e.reason,
				v == SN_KBS_REV_LIFTED_KEPT ?
					": another revocation still holds it" :
				v == SN_KBS_REV_LIFT_UNKNOWN ?
					": not held here, nothing to lift" :
					"");
			audit_event(d, "kbs-lift", &e, name, NULL);
			if (v == SN_KBS_REV_LIFTED)
				reconsider(k, &e);
		} else {
			/* a replayed or reordered event, or a lift naming
			 * another revocation: nothing changes */
			sn_warn("kbs: event %lld (%s %s %s) ignored: %s "
				"(position %lld)",
				(long long)e.seq, e.lift ? "lift" : "revoke",
				e.kind, e.value, name,
				(long long)sn_kbs_revset_after(k->rs));
			k->ignored++;
			audit_event(d, "kbs-event-ignored", &e, name, NULL);
		}
		return;
	}
	if (!strcmp(e.kind, "node"))
		snprintf(why, sizeof(why),
			 "revoked by the KBS: node %.60s (%.60s)", e.value,
			 e.reason);
	else
		snprintf(why, sizeof(why),
			 "revoked by the KBS: measurement %.16s... (%.60s)",
			 e.value, e.reason);
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_peer_config *p = &d->cfg->peers[i];
		uint8_t m[SN_MEASUREMENT_LEN];
		char hex[2 * SN_MEASUREMENT_LEN + 1];
		bool hit;

		if (p->has_static_keys || sn_make_peer_revoked(d, i))
			continue;
		if (!strcmp(e.kind, "node")) {
			hit = !strcmp(p->name, e.value);
		} else {
			hit = !sn_make_peer_measurement(d, i, m);
			if (hit) {
				sn_hex_encode(m, sizeof(m), hex);
				hit = !strcmp(hex, e.value);
			}
		}
		if (!hit)
			continue;
		sn_make_revoke(d, i, why);
		audit_revocation(d, e.seq, e.kind, e.value, e.reason, p->name);
		k->revocations++;
		applied = true;
	}
	if (!strcmp(e.kind, "node") && !strcmp(e.value, d->cfg->node))
		sn_warn("kbs: this node (%s) is revoked (event %lld, %s): its "
			"peers refuse it",
			e.value, (long long)e.seq, e.reason);
	if (!applied) {
		sn_info("kbs: revocation %lld (%s %s) noted: no current peer "
			"is affected",
			(long long)e.seq, e.kind, e.value);
		audit_revocation(d, e.seq, e.kind, e.value, e.reason, NULL);
	}
}

/* the KBS's event sequence restarted (docs/kbs-api.md "GET /events"):
 * follow it again from its first event; the revocations held stay in
 * force until the full set was read again (revset.c); true then */
static bool restarted(struct sn_kbsc *k, json_t *root)
{
	const char *ep = json_string_value(json_object_get(root, "epoch"));
	json_t *h = json_object_get(root, "head"), *j;
	int64_t after = sn_kbs_revset_after(k->rs);
	char old[65];
	bool other;

	snprintf(old, sizeof(old), "%s", sn_kbs_revset_epoch(k->rs));
	if (!sn_kbs_revset_answer_begin(k->rs, ep, json_is_integer(h),
					json_integer_value(h)))
		return false;
	other = old[0] && ep && strcmp(old, ep);
	sn_warn("kbs %s:%u: its event sequence restarted (%s, its highest "
		"event %lld, followed up to %lld): reading its revocations "
		"again from its first event; those held stay in force until "
		"then, and those it no longer lists are dropped after",
		k->host, k->port,
		other ? "another database" : "an older copy of its database",
		(long long)json_integer_value(h), (long long)after);
	j = json_pack("{ss ss sI sI}", "event", "kbs-events-reset", "epoch", ep,
		      "head", (json_int_t)json_integer_value(h), "after",
		      (json_int_t)after);
	if (j) {
		sn_audit(k->d, j);
		json_decref(j);
	}
	return true;
}

static void schedule(struct sn_kbsc *k, unsigned int s)
{
	struct timeval tv = {.tv_sec = s};

	event_add(k->next, &tv);
}

static void poll_failed(struct sn_kbsc *k, const char *what)
{
	k->failures++;
	k->connected = false;
	if (strcmp(k->error, what))
		sn_warn("kbs %s:%u: %s; retrying in %u s", k->host, k->port,
			what, k->backoff_s);
	snprintf(k->error, sizeof(k->error), "%s", what);
	schedule(k, k->backoff_s);
	k->backoff_s = k->backoff_s >= 16 ? 30 : k->backoff_s * 2;
}

static void on_answer(struct evhttp_request *req, void *arg)
{
	struct sn_kbsc *k = arg;
	struct evbuffer *b;
	json_t *root = NULL, *evs, *ev;
	json_int_t last;
	json_error_t jerr;
	char what[256];
	unsigned long e;
	size_t len, i;
	int code;

	if (!req || !(code = evhttp_request_get_response_code(req))) {
		struct bufferevent *bev =
			k->conn ? evhttp_connection_get_bufferevent(k->conn) :
				  NULL;

		e = bev ? bufferevent_get_openssl_error(bev) : 0;
		if (!e)
			e = ERR_peek_last_error();
		snprintf(
			what, sizeof(what),
			"GET /events failed: %s (check kbs.url and that kbs.ca "
			"signed the KBS's certificate for that host)",
			e ? ERR_reason_error_string(e) : "connection failed");
		ERR_clear_error();
		poll_failed(k, what);
		return;
	}
	b = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(b);
	if (code != 200 || len > KBSC_BODY_MAX) {
		snprintf(what, sizeof(what),
			 "GET /events answered HTTP %d (%zu bytes)", code, len);
		poll_failed(k, what);
		return;
	}
	root = json_loadb((const char *)evbuffer_pullup(b, -1), len, 0, &jerr);
	evs = root ? json_object_get(root, "events") : NULL;
	if (!json_is_array(evs) || json_unpack(root, "{sI}", "last", &last)) {
		json_decref(root);
		poll_failed(k, "GET /events: the answer is not {events: [...], "
			       "last: N}");
		return;
	}
	if (restarted(k, root)) {
		json_decref(root);
		schedule(k, 0);
		return;
	}
	json_array_foreach(evs, i, ev) apply_event(k, ev);
	{
		json_t *h = json_object_get(root, "head");
		int dropped = sn_kbs_revset_answer_end(
			k->rs, last, json_array_size(evs), json_is_integer(h),
			json_integer_value(h));

		if (dropped > 0) {
			json_t *j = json_pack("{ss si}", "event",
					      "kbs-events-resynced", "dropped",
					      dropped);

			sn_warn("kbs %s:%u: revocations read again: %d held "
				"from before the restart of its sequence and no "
				"longer listed by the KBS are dropped",
				k->host, k->port, dropped);
			if (j) {
				sn_audit(k->d, j);
				json_decref(j);
			}
			reconsider(k, NULL);
		}
	}
	json_decref(root);
	if (!k->connected)
		sn_info("kbs %s:%u: following revocations (after event %lld)",
			k->host, k->port,
			(long long)sn_kbs_revset_after(k->rs));
	k->connected = true;
	k->error[0] = '\0';
	k->backoff_s = 1;
	schedule(k, 0);
}

static void poll_start(evutil_socket_t fd, short what, void *arg)
{
	struct sn_kbsc *k = arg;
	struct evhttp_request *req;
	struct bufferevent *bev;
	char target[96], hosthdr[160];
	SSL *ssl;

	if (k->conn) {
		evhttp_connection_free(k->conn);
		k->conn = NULL;
	}
	ssl = SSL_new(k->ctx);
	if (!ssl)
		goto fail;
	if (k->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
						  k->host) != 1)
			goto fail_ssl;
	} else if (SSL_set_tlsext_host_name(ssl, k->host) != 1 ||
		   SSL_set1_host(ssl, k->host) != 1) {
		goto fail_ssl;
	}
	bev = bufferevent_openssl_socket_new(
		k->d->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev)
		goto fail_ssl;
	k->conn = evhttp_connection_base_bufferevent_new(k->d->base, NULL, bev,
							 k->host, k->port);
	if (!k->conn) {
		bufferevent_free(bev); /* frees ssl too */
		goto fail;
	}
	evhttp_connection_set_timeout(k->conn, (int)k->d->cfg->kbs.poll_s + 10);
	evhttp_connection_set_retries(k->conn, 0);
	req = evhttp_request_new(on_answer, k);
	if (!req)
		goto fail;
	snprintf(hosthdr, sizeof(hosthdr), "%s:%u", k->host, k->port);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
			  hosthdr);
	/* the first poll (and the first after a failure) is answered at
	 * once: the backlog is applied and the link known to work */
	snprintf(target, sizeof(target), "/events?after=%lld&wait=%u",
		 (long long)sn_kbs_revset_after(k->rs),
		 k->connected && !sn_kbs_revset_resyncing(k->rs) ?
			 k->d->cfg->kbs.poll_s :
			 0);
	k->polls++;
	if (evhttp_make_request(k->conn, req, EVHTTP_REQ_GET, target))
		goto fail; /* the request is freed by evhttp on failure */
	return;
fail_ssl:
	SSL_free(ssl);
fail:
	poll_failed(k, "cannot start a GET /events request (out of memory)");
}

int sn_kbsc_start(struct sealnetd *d)
{
	struct sn_kbs_node_config *c = &d->cfg->kbs;
	struct in6_addr a6;
	struct sn_kbsc *k;

	if (!c->enabled)
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->d = d;
	k->backoff_s = 1;
	if (sn_kbs_revset_new(&k->rs)) {
		free(k);
		return -ENOMEM;
	}
	if (split_host_port(c->server, k->host, sizeof(k->host), &k->port)) {
		sn_err("kbs.url https://%s: expected https://HOST:PORT",
		       c->server);
		sn_kbs_revset_free(k->rs);
		free(k);
		return -EINVAL;
	}
	k->host_is_ip = inet_pton(AF_INET, k->host, &a6) == 1 ||
			inet_pton(AF_INET6, k->host, &a6) == 1;
	k->ctx = SSL_CTX_new(TLS_client_method());
	if (!k->ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(k->ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(k->ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(k->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(k->ctx, c->ca, NULL) != 1) {
		sn_err("kbs.ca %s: cannot read a PEM CA certificate from it "
		       "(the certificate that signed the KBS's TLS "
		       "certificate)",
		       c->ca);
		goto fail;
	}
	k->next = evtimer_new(d->base, poll_start, k);
	if (!k->next)
		goto fail;
	d->kbsc = k;
	sn_info("kbs https://%s:%u: following its revocation events", k->host,
		k->port);
	poll_start(-1, 0, k);
	return 0;
fail:
	SSL_CTX_free(k->ctx);
	sn_kbs_revset_free(k->rs);
	free(k);
	return -EINVAL;
}

void sn_kbsc_stop(struct sealnetd *d)
{
	struct sn_kbsc *k = d->kbsc;

	if (!k)
		return;
	if (k->conn)
		evhttp_connection_free(k->conn);
	if (k->next)
		event_free(k->next);
	SSL_CTX_free(k->ctx);
	sn_kbs_revset_free(k->rs);
	free(k);
	d->kbsc = NULL;
}

void sn_kbsc_metrics(struct sealnetd *d, struct sn_prom *p)
{
	struct sn_kbsc *k = d->kbsc;

	if (!k)
		return;
	sn_prom_family(p, "sealnet_kbs_connected", "gauge",
		       "1 while the GET /events long-poll to the KBS works.");
	sn_prom_u64(p, "sealnet_kbs_connected", NULL, k->connected);
	sn_prom_family(p, "sealnet_kbs_events_total", "counter",
		       "Revocation events received from the KBS.");
	sn_prom_u64(p, "sealnet_kbs_events_total", NULL, k->events);
	sn_prom_family(p, "sealnet_kbs_peer_revocations_total", "counter",
		       "Peers revoked because of a KBS event (sessions ended, "
		       "keys deleted, MAKE refused).");
	sn_prom_u64(p, "sealnet_kbs_peer_revocations_total", NULL,
		    k->revocations);
	sn_prom_family(p, "sealnet_kbs_peer_lifts_total", "counter",
		       "Peers re-admitted because the KBS lifted their "
		       "revocation (MAKE allowed again).");
	sn_prom_u64(p, "sealnet_kbs_peer_lifts_total", NULL, k->lifts);
	sn_prom_family(p, "sealnet_kbs_events_ignored_total", "counter",
		       "KBS events ignored: malformed, replayed or reordered "
		       "(seq not above the position), or a lift naming "
		       "another revocation.");
	sn_prom_u64(p, "sealnet_kbs_events_ignored_total", NULL, k->ignored);
	sn_prom_family(
		p, "sealnet_kbs_poll_failures_total", "counter",
		"GET /events polls that failed (connection, TLS, answer).");
	sn_prom_u64(p, "sealnet_kbs_poll_failures_total", NULL, k->failures);
}
