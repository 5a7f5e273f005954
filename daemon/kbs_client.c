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
 * shows one gets no keys.  Every revocation applied is logged, sent to the
 * monitors and written to the audit log.
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
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnetd.h"

#define KBSC_BODY_MAX	 (4u << 20) /* 1000 events at most per answer */
#define KBSC_REVOKED_MAX 65536	    /* remembered node ids + measurements */
#define KBSC_KEY_MAX	 112	    /* "node:<id>" or "meas:<96 hex>" */

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
	int64_t after;
	char (*revoked)[KBSC_KEY_MAX]; /* "node:<id>" / "meas:<hex>" */
	char (*reasons)[160];
	size_t n_revoked;
	uint64_t events, revocations, polls, failures;
	char error[256];
	char epoch[65]; /* the KBS's event epoch `after` counts in */
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

static bool remembered(struct sn_kbsc *k, const char *key, const char **why)
{
	for (size_t i = 0; i < k->n_revoked; i++)
		if (!strcmp(k->revoked[i], key)) {
			if (why)
				*why = k->reasons[i];
			return true;
		}
	return false;
}

static int remember(struct sn_kbsc *k, const char *key, const char *why)
{
	void *r, *w;

	if (remembered(k, key, NULL))
		return 0;
	if (k->n_revoked >= KBSC_REVOKED_MAX)
		return -ENOSPC;
	r = realloc(k->revoked, (k->n_revoked + 1) * sizeof(*k->revoked));
	if (!r)
		return -ENOMEM;
	k->revoked = r;
	w = realloc(k->reasons, (k->n_revoked + 1) * sizeof(*k->reasons));
	if (!w)
		return -ENOMEM;
	k->reasons = w;
	snprintf(k->revoked[k->n_revoked], sizeof(*k->revoked), "%s", key);
	snprintf(k->reasons[k->n_revoked], sizeof(*k->reasons), "%s", why);
	k->n_revoked++;
	return 0;
}

bool sn_kbsc_refused(struct sealnetd *d, const char *name, const uint8_t *meas,
		     char *why, size_t cap)
{
	struct sn_kbsc *k = d->kbsc;
	char key[KBSC_KEY_MAX];
	const char *r;

	if (!k)
		return false;
	snprintf(key, sizeof(key), "node:%s", name);
	if (!remembered(k, key, &r) && meas) {
		memcpy(key, "meas:", 5);
		sn_hex_encode(meas, SN_MEASUREMENT_LEN, key + 5);
	}
	if (!remembered(k, key, &r))
		return false;
	snprintf(why, cap, "%s", r);
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

/* one event of GET /events */
static void apply_event(struct sn_kbsc *k, json_t *ev)
{
	struct sealnetd *d = k->d;
	const char *kind = NULL, *value = NULL, *reason = "";
	json_int_t seq = 0;
	char key[KBSC_KEY_MAX], why[160];
	bool applied = false;

	if (json_unpack(ev, "{sI ss ss s?s}", "seq", &seq, "kind", &kind,
			"value", &value, "reason", &reason)) {
		sn_warn("kbs: an event that is not {seq, kind, value, reason}: "
			"ignored");
		return;
	}
	k->events++;
	if (!strcmp(kind, "node")) {
		snprintf(key, sizeof(key), "node:%.60s", value);
		snprintf(why, sizeof(why),
			 "revoked by the KBS: node %.60s (%.60s)", value,
			 reason);
	} else if (!strcmp(kind, "measurement") && strlen(value) == 96) {
		snprintf(key, sizeof(key), "meas:%s", value);
		snprintf(why, sizeof(why),
			 "revoked by the KBS: measurement %.16s... (%.60s)",
			 value, reason);
	} else {
		sn_warn("kbs: event %lld of unknown kind \"%s\": ignored",
			(long long)seq, kind);
		return;
	}
	if (remember(k, key, why))
		sn_err("kbs: cannot remember revocation %lld (%s): out of "
		       "memory "
		       "or more than %u revocations",
		       (long long)seq, key, KBSC_REVOKED_MAX);
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_peer_config *p = &d->cfg->peers[i];
		uint8_t m[SN_MEASUREMENT_LEN];
		char hex[2 * SN_MEASUREMENT_LEN + 1];
		bool hit;

		if (p->has_static_keys || sn_make_peer_revoked(d, i))
			continue;
		if (!strcmp(kind, "node")) {
			hit = !strcmp(p->name, value);
		} else {
			hit = !sn_make_peer_measurement(d, i, m);
			if (hit) {
				sn_hex_encode(m, sizeof(m), hex);
				hit = !strcmp(hex, value);
			}
		}
		if (!hit)
			continue;
		sn_make_revoke(d, i, why);
		audit_revocation(d, seq, kind, value, reason, p->name);
		k->revocations++;
		applied = true;
	}
	if (!strcmp(kind, "node") && !strcmp(value, d->cfg->node))
		sn_warn("kbs: this node (%s) is revoked (event %lld, %s): its "
			"peers refuse it",
			value, (long long)seq, reason);
	if (!applied) {
		sn_info("kbs: revocation %lld (%s %s) noted: no current peer "
			"is affected",
			(long long)seq, kind, value);
		audit_revocation(d, seq, kind, value, reason, NULL);
	}
}

/* the KBS's event sequence restarted (docs/kbs-api.md "GET /events"):
 * follow it again from its first event; true then */
static bool restarted(struct sn_kbsc *k, json_t *root)
{
	const char *ep = json_string_value(json_object_get(root, "epoch"));
	json_t *h = json_object_get(root, "head"), *j;
	bool other, rewound;

	if (!ep || !*ep || strlen(ep) >= sizeof(k->epoch))
		return false; /* a KBS that does not say */
	other = k->epoch[0] && strcmp(k->epoch, ep);
	rewound = json_is_integer(h) && json_integer_value(h) < k->after;
	if (!other && !rewound) {
		snprintf(k->epoch, sizeof(k->epoch), "%s", ep);
		return false;
	}
	sn_warn("kbs %s:%u: its event sequence restarted (%s, its highest "
		"event %lld, followed up to %lld): following it again from its "
		"first event",
		k->host, k->port,
		other ? "another database" : "an older copy of its database",
		(long long)json_integer_value(h), (long long)k->after);
	j = json_pack("{ss ss sI sI}", "event", "kbs-events-reset", "epoch", ep,
		      "head", (json_int_t)json_integer_value(h), "after",
		      (json_int_t)k->after);
	if (j) {
		sn_audit(k->d, j);
		json_decref(j);
	}
	snprintf(k->epoch, sizeof(k->epoch), "%s", ep);
	k->after = 0;
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
	if (last > k->after)
		k->after = last;
	json_decref(root);
	if (!k->connected)
		sn_info("kbs %s:%u: following revocations (after event %lld)",
			k->host, k->port, (long long)k->after);
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
		 (long long)k->after, k->connected ? k->d->cfg->kbs.poll_s : 0);
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
	if (split_host_port(c->server, k->host, sizeof(k->host), &k->port)) {
		sn_err("kbs.url https://%s: expected https://HOST:PORT",
		       c->server);
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
	free(k->revoked);
	free(k->reasons);
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
	sn_prom_family(
		p, "sealnet_kbs_poll_failures_total", "counter",
		"GET /events polls that failed (connection, TLS, answer).");
	sn_prom_u64(p, "sealnet_kbs_poll_failures_total", NULL, k->failures);
}
