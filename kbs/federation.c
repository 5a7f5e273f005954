// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs and its peer domains (docs/federation.md "The KBS and its
 * peers", docs/kbs-api.md):
 *
 *   - for every other domain of the signed manifest that names a key
 *     broker (kbs.url), GET <url>/bundle over TLS 1.3 with the server's
 *     certificate chain pinned to kbs.trust_anchor_sha256 (SHA-256 of the
 *     trust anchor's DER: a certificate of the presented chain with that
 *     hash is the only trust anchor, the leaf must chain to it and carry
 *     the URL's host).  At start, then at half the remaining validity
 *     (jittered), after a failure with a jittered exponential backoff.
 *     Each answer is verified (lib/federation) against the manifest and
 *     the bundle last accepted (the store); accepted bundles go into the
 *     store (lib/kbs/fedstore.c), refused ones are audited and the last
 *     good bundle is kept.  A stale bundle (peer unreachable) is honoured
 *     until its not_after.
 *   - every peer domain's GET /events, long-polled over the same pinned
 *     TLS: a revocation of a node the manifest puts in that domain, or of
 *     a measurement only that domain's stages list, is re-published on
 *     this KBS's GET /events (with "domain"); any other is refused and
 *     audited.
 *   - withdrawal: a verified bundle with no stage from a domain the
 *     manifest gives stages (signed withdrawal), or POST /admin/withdraw,
 *     revokes every node of that domain here.
 *   - GET /federation/bundles: the valid peer bundles, for this domain's
 *     nodes (kbs_fed_bundles).
 *
 * This file: the pinned TLS, requests and backoff, bundle fetches,
 * start/stop, metrics; fed_accept.c: accepting bundles, withdrawal, GET
 * /federation/bundles, admin; fed_events.c: peers' revocations.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sealnet/federation.h"
#include "sealnet/kbs_fed.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "fed_internal.h"
#include "kbs.h"

static int ssl_peer_idx = -1;

const struct sn_workflow *kbs_fed_manifest(struct kbs *k)
{
	/* the manifest this KBS checks peers against: the imported one
	 * (manifest.c; signatures verified when loaded) */
	return kbs_manifest(k);
}

int64_t fed_now_s(void)
{
	return (int64_t)time(NULL);
}

/* x +- 20 %, at least 1 */
unsigned int fed_jitter(unsigned int x)
{
	uint32_t r = 0;
	unsigned int spread = x / 5;

	if (!spread)
		return x ? x : 1;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	return x - spread + r % (2 * spread + 1);
}

void fed_audit(struct kbs *k, const char *action, const char *subject,
	       const char *outcome, const char *fmt, ...)
{
	char detail[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	{
		const struct sn_kbs_audit_in a = {"federation", action, subject,
						  outcome, detail};

		if (sn_kbs_audit_append(k->st, &a))
			sn_err("federation: %s %s not audited (database "
			       "error above)",
			       action, subject);
	}
}

/* ---- the pinned TLS ---------------------------------------------------- */

/* The presented chain (leaf first) must hold a certificate whose SHA-256
 * (DER) is the manifest's pin; that certificate is the only trust anchor
 * the chain is verified against (host/IP from the SSL's parameters). */
static int pin_verify(X509_STORE_CTX *ctx, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
		ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct kbs_peer *p = ssl ? SSL_get_ex_data(ssl, ssl_peer_idx) : NULL;
	int *which = ssl ? SSL_get_ex_data(ssl, ssl_peer_idx + 1) : NULL;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(ctx);
	STACK_OF(X509) *anchors = NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(ctx), *anchor = NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int ok = 0, n = chain ? sk_X509_num(chain) : 0;

	(void)arg;
	if (!p || !which || !leaf)
		return 0;
	for (int i = -1; i < n && !anchor; i++) {
		X509 *x = i < 0 ? leaf : sk_X509_value(chain, i);

		if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 &&
		    mdlen == SN_SHA256_LEN &&
		    !CRYPTO_memcmp(md, p->pin, SN_SHA256_LEN))
			anchor = x;
	}
	if (!anchor) {
		p->ch[*which].pin_failed = true;
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_UNTRUSTED);
		return 0;
	}
	anchors = sk_X509_new_null();
	if (!anchors || !sk_X509_push(anchors, anchor)) {
		sk_X509_free(anchors);
		return 0;
	}
	X509_STORE_CTX_set0_trusted_stack(ctx, anchors);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
				    X509_V_FLAG_PARTIAL_CHAIN);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_set0_trusted_stack(ctx, NULL);
	sk_X509_free(anchors);
	p->ch[*which].pin_failed = !ok;
	return ok;
}

static const int which_ids[CH_N] = {CH_BUNDLE, CH_EVENTS};

static void on_bundle(struct evhttp_request *req, void *arg);
static void peer_free(struct kbs_peer *p);

/* one GET on channel c of peer p; 0 or -ENOMEM */
int fed_request(struct kbs_peer *p, int c, const char *target, int timeout_s)
{
	struct kbs_fed *f = p->f;
	struct evhttp_request *req;
	struct bufferevent *bev;
	char hosthdr[160];
	SSL *ssl;

	if (p->ch[c].conn) {
		evhttp_connection_free(p->ch[c].conn);
		p->ch[c].conn = NULL;
	}
	p->ch[c].pin_failed = false;
	ssl = SSL_new(f->ctx);
	if (!ssl)
		return -ENOMEM;
	SSL_set_ex_data(ssl, ssl_peer_idx, p);
	SSL_set_ex_data(ssl, ssl_peer_idx + 1, (void *)&which_ids[c]);
	if (p->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
							  p->host) != 1 :
			    (SSL_set_tlsext_host_name(ssl, p->host) != 1 ||
			     SSL_set1_host(ssl, p->host) != 1)) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	bev = bufferevent_openssl_socket_new(
		f->k->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	p->ch[c].conn = evhttp_connection_base_bufferevent_new(
		f->k->base, p->host_is_ip ? NULL : f->dns, bev, p->host,
		p->port);
	if (!p->ch[c].conn) {
		bufferevent_free(bev);
		return -ENOMEM;
	}
	evhttp_connection_set_timeout(p->ch[c].conn, timeout_s);
	evhttp_connection_set_retries(p->ch[c].conn, 0);
	req = evhttp_request_new(c == CH_BUNDLE ? on_bundle : fed_on_events, p);
	if (!req)
		return -ENOMEM;
	snprintf(hosthdr, sizeof(hosthdr), "%s:%u", p->host, p->port);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
			  hosthdr);
	if (evhttp_make_request(p->ch[c].conn, req, EVHTTP_REQ_GET, target))
		return -ENOMEM;
	return 0;
}

/* why a request got no HTTP answer */
const char *fed_no_answer(struct kbs_peer *p, int c, char *buf, size_t cap)
{
	struct bufferevent *bev =
		p->ch[c].conn ?
			evhttp_connection_get_bufferevent(p->ch[c].conn) :
			NULL;
	unsigned long e = bev ? bufferevent_get_openssl_error(bev) : 0;

	if (p->ch[c].pin_failed)
		return "tls-pin-mismatch";
	if (!e)
		e = ERR_peek_last_error();
	snprintf(buf, cap, "%s",
		 e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
						   "connection failed");
	ERR_clear_error();
	return NULL;
}

void fed_schedule(struct kbs_peer *p, int c, unsigned int s)
{
	struct timeval tv = {.tv_sec = s};

	sn_dbg("federation: domain %s: next %s in %u s", p->domain,
	       c == CH_BUNDLE ? "bundle fetch" : "events poll", s);
	if (!p->stopped)
		evtimer_add(p->ch[c].timer, &tv);
}

/* retry after a jittered backoff: 1, 2, 4 ... s, at most 60 s, and at
 * most peer_refresh_max_s when that is shorter (but 2 s at least) */
void fed_failed(struct kbs_peer *p, int c)
{
	unsigned int b = p->ch[c].backoff_s ? p->ch[c].backoff_s : 1;
	unsigned int max = FED_BACKOFF_MAX_S,
		     r = (unsigned int)p->f->k->cfg.peer_refresh_max;

	if (r < max)
		max = r < 2 ? 2 : r;
	p->ch[c].ok = false;
	fed_schedule(p, c, fed_jitter(b > max ? max : b));
	p->ch[c].backoff_s = b * 2 > max ? max : b * 2;
}

/* ---- bundles ------------------------------------------------------------ */

void fed_arm_expiry(struct kbs_peer *p, int64_t not_after)
{
	int64_t d = not_after - fed_now_s();
	struct timeval tv = {.tv_sec = d > 0 ? d : 0};

	if (!p->stopped)
		evtimer_add(p->expiry, &tv);
}

static void on_expiry(evutil_socket_t fd, short what, void *arg)
{
	struct kbs_peer *p = arg;
	struct kbs *k = p->f->k;
	struct sn_kbs_peer_bundle b;

	(void)fd;
	(void)what;
	if (sn_kbs_peer_bundle_get(k->st, p->domain, &b))
		return;
	if (fed_now_s() >= b.not_after) {
		sn_warn("federation: the bundle of domain %s (sequence %llu) "
			"expired at %lld without a newer one (its KBS %s:%u "
			"unreachable or refused?): its keys and references "
			"are no longer honoured",
			p->domain, (unsigned long long)b.sequence,
			(long long)b.not_after, p->host, p->port);
		fed_audit(k, "bundle-expired", p->domain, "expired",
			  "sequence %llu, not_after %lld",
			  (unsigned long long)b.sequence,
			  (long long)b.not_after);
	} else {
		fed_arm_expiry(p, b.not_after);
	}
	sn_kbs_peer_bundle_clear(&b);
}

struct kbs_peer *fed_find_peer(struct kbs *k, const char *domain)
{
	struct kbs_fed *f = k->fed;

	for (size_t i = 0; f && i < f->n_peers; i++)
		if (!strcmp(f->peers[i]->domain, domain))
			return f->peers[i];
	return NULL;
}

/* no more fetches or polls; a request in flight (possibly the one whose
 * callback runs now) is left to finish and ignored, its connection freed
 * at kbs_fed_stop */
void fed_stop_peer(struct kbs_peer *p)
{
	p->stopped = true;
	for (int c = 0; c < CH_N; c++)
		evtimer_del(p->ch[c].timer);
	evtimer_del(p->expiry);
}

static void fetch_bundle(evutil_socket_t fd, short what, void *arg)
{
	struct kbs_peer *p = arg;
	char target[SN_WF_TEXT_MAX + 16];

	(void)fd;
	(void)what;
	snprintf(target, sizeof(target), "%s/bundle", p->prefix);
	sn_dbg("federation: domain %s: GET https://%s:%u%s", p->domain, p->host,
	       p->port, target);
	if (fed_request(p, CH_BUNDLE, target, p->f->k->cfg.request_timeout))
		fed_failed(p, CH_BUNDLE);
}

/* record the fetch result; true when it differs from the last one */
static bool note(struct kbs_peer *p, const char *result, bool audit_it,
		 const char *detail)
{
	struct kbs *k = p->f->k;
	struct sn_kbs_peer_status ps = {0};
	const struct sn_kbs_audit_in a = {"federation", "bundle-fetch",
					  p->domain, result, detail};

	sn_kbs_peer_status_get(k->st, p->domain, &ps);
	/* unreachable: audited when it starts, not every retry */
	if (!strcmp(result, "unreachable") && !strcmp(ps.result, result))
		audit_it = false;
	if (sn_kbs_peer_fetch_note(k->st, p->domain, fed_now_s(), result,
				   audit_it ? &a : NULL))
		sn_err("federation: cannot record the fetch of domain %s's "
		       "bundle",
		       p->domain);
	return strcmp(ps.result, result) != 0;
}

static void on_bundle(struct evhttp_request *req, void *arg)
{
	struct kbs_peer *p = arg;
	struct kbs *k = p->f->k;
	struct kbs_fed_verdict v;
	char why[256], detail[400];
	const char *code;
	struct evbuffer *b;
	size_t len;
	int status, err;

	if (p->stopped)
		return;
	if (!req || !(status = evhttp_request_get_response_code(req))) {
		code = fed_no_answer(p, CH_BUNDLE, why, sizeof(why));
		sn_dbg("federation: domain %s: GET /bundle: no answer (%s)",
		       p->domain, code ? code : why);
		p->fetch_failed++;
		if (code) {
			p->bundles_refused++;
			kbs_metrics_refused(k, "bundle-fetch", code);
			if (note(p, code, true,
				 "the server's certificate chain is not pinned "
				 "by the manifest's kbs.trust_anchor_sha256"))
				sn_warn("federation: domain %s's KBS %s:%u: "
					"its "
					"certificate chain does not hold the "
					"certificate the manifest pins "
					"(kbs.trust_anchor_sha256): refused; "
					"retrying",
					p->domain, p->host, p->port);
		} else {
			snprintf(detail, sizeof(detail),
				 "GET /bundle from %s:%u: %s", p->host, p->port,
				 why);
			if (note(p, "unreachable", true, detail))
				sn_warn("federation: domain %s: %s; retrying "
					"(the stored bundle stays valid until "
					"its not_after)",
					p->domain, detail);
		}
		fed_failed(p, CH_BUNDLE);
		return;
	}
	b = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(b);
	sn_dbg("federation: domain %s: GET /bundle: HTTP %d, %zu bytes",
	       p->domain, status, len);
	if (status != 200 || len > SN_FED_MAX_BYTES) {
		snprintf(detail, sizeof(detail),
			 "GET /bundle from %s:%u answered HTTP %d (%zu bytes)",
			 p->host, p->port, status, len);
		p->fetch_failed++;
		if (note(p, "unreachable", true, detail))
			sn_warn("federation: domain %s: %s; retrying",
				p->domain, detail);
		fed_failed(p, CH_BUNDLE);
		return;
	}
	err = kbs_fed_accept(k, p->domain, (const char *)evbuffer_pullup(b, -1),
			     len, "federation", "bundle-fetch", &v);
	if (err) {
		p->fetch_failed++;
		p->bundles_refused++;
		if (!v.code[0])
			snprintf(v.code, sizeof(v.code), "internal");
		sn_warn("federation: domain %s's KBS %s:%u: bundle refused "
			"(%s): %s; the previous one is kept",
			p->domain, p->host, p->port, v.code, v.msg);
		note(p, v.code, true, v.msg);
		kbs_metrics_refused(k, "bundle-fetch", v.code);
		fed_failed(p, CH_BUNDLE);
		return;
	}
	p->fetch_ok++;
	note(p, "ok", false, NULL);
	p->ch[CH_BUNDLE].ok = true;
	p->ch[CH_BUNDLE].backoff_s = 1;
	{
		int64_t left = v.not_after - fed_now_s();
		int64_t next = left / 2;

		if (next < FED_REFRESH_MIN_S)
			next = FED_REFRESH_MIN_S;
		if (next > k->cfg.peer_refresh_max)
			next = k->cfg.peer_refresh_max;
		fed_schedule(p, CH_BUNDLE, fed_jitter((unsigned int)next));
	}
}

/* ---- start / stop -------------------------------------------------------- */

static int parse_url(struct kbs_peer *p, const char *url)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *h, *path;
	struct in6_addr a6;
	int port, err = -EINVAL;
	size_t l;

	if (!u)
		return -EINVAL;
	h = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	path = evhttp_uri_get_path(u);
	if (!h || !*h || strlen(h) >= sizeof(p->host) ||
	    strcmp(evhttp_uri_get_scheme(u) ? evhttp_uri_get_scheme(u) : "",
		   "https"))
		goto out;
	snprintf(p->host, sizeof(p->host), "%s", h);
	p->port = port > 0 ? (uint16_t)port : 443;
	snprintf(p->prefix, sizeof(p->prefix), "%s", path ? path : "");
	l = strlen(p->prefix);
	while (l && p->prefix[l - 1] == '/')
		p->prefix[--l] = '\0';
	p->host_is_ip = inet_pton(AF_INET, p->host, &a6) == 1 ||
			inet_pton(AF_INET6, p->host, &a6) == 1;
	err = 0;
out:
	evhttp_uri_free(u);
	return err;
}

/* a peer for domain d of wf (not started); NULL: out of memory or a bad
 * kbs.url (logged) */
static struct kbs_peer *peer_new(struct kbs_fed *f,
				 const struct sn_wf_domain *d)
{
	struct kbs *k = f->k;
	struct kbs_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->f = f;
	p->stopped = true;
	snprintf(p->domain, sizeof(p->domain), "%s", d->id);
	snprintf(p->url, sizeof(p->url), "%s", d->kbs_url);
	memcpy(p->pin, d->kbs_anchor_sha256, sizeof(p->pin));
	if (parse_url(p, d->kbs_url)) {
		sn_err("federation: domain %s: kbs.url %s is not "
		       "https://HOST[:PORT][/PATH]: not fetched",
		       d->id, d->kbs_url);
		free(p);
		return NULL;
	}
	if (!p->host_is_ip && !f->dns)
		f->dns = evdns_base_new(k->base,
					EVDNS_BASE_INITIALIZE_NAMESERVERS);
	for (int c = 0; c < CH_N; c++)
		p->ch[c].timer = evtimer_new(
			k->base,
			c == CH_BUNDLE ? fetch_bundle : fed_poll_events, p);
	p->expiry = evtimer_new(k->base, on_expiry, p);
	if (!p->ch[CH_BUNDLE].timer || !p->ch[CH_EVENTS].timer || !p->expiry) {
		peer_free(p);
		return NULL;
	}
	return p;
}

static void peer_free(struct kbs_peer *p)
{
	for (int c = 0; c < CH_N; c++) {
		if (p->ch[c].conn)
			evhttp_connection_free(p->ch[c].conn);
		if (p->ch[c].timer)
			event_free(p->ch[c].timer);
	}
	if (p->expiry)
		event_free(p->expiry);
	free(p);
}

/* follow p from its stored position, unless the domain has withdrawn */
static int peer_start(struct kbs_peer *p)
{
	struct kbs *k = p->f->k;
	struct sn_kbs_peer_status ps = {0};
	struct sn_kbs_peer_bundle b;

	if (sn_kbs_peer_status_get(k->st, p->domain, &ps))
		return -EIO;
	p->events_after = ps.events_after;
	snprintf(p->events_epoch, sizeof(p->events_epoch), "%s",
		 ps.events_epoch);
	if (ps.withdrawn) {
		sn_info("federation: domain %s has withdrawn: not followed",
			p->domain);
		return 0;
	}
	p->stopped = false;
	for (int c = 0; c < CH_N; c++) {
		p->ch[c].backoff_s = 1;
		p->ch[c].ok = false;
	}
	if (!sn_kbs_peer_bundle_get(k->st, p->domain, &b)) {
		fed_arm_expiry(p, b.not_after);
		sn_kbs_peer_bundle_clear(&b);
	}
	sn_info("federation: domain %s: fetching its bundle and following its "
		"revocations at %s (pinned anchor %02x%02x%02x%02x...)%s",
		p->domain, p->url, p->pin[0], p->pin[1], p->pin[2], p->pin[3],
		ps.readmit ? "; re-admitted, waiting for a bundle issued after "
			     "its withdrawal" :
			     "");
	fed_schedule(p, CH_BUNDLE, 0);
	fed_schedule(p, CH_EVENTS, 0);
	return 0;
}

/* the peer domains wf names (with a KBS, not this one) */
static bool wanted(struct kbs *k, const struct sn_wf_domain *d)
{
	return d->has_kbs && strcmp(d->id, k->cfg.domain);
}

int kbs_fed_sync(struct kbs *k)
{
	const struct sn_workflow *wf = kbs_fed_manifest(k);
	struct kbs_fed *f = k->fed;
	struct kbs_peer **np;
	size_t n = 0;
	int err = 0;

	if (!f)
		return 0;
	np = calloc((wf ? wf->n_domains : 0) + 1, sizeof(*np));
	if (!np)
		return -ENOMEM;
	/* the manifest's peers, in its order: kept when the URL and the pin
	 * are the same (the same connections, position, backoff) */
	for (size_t i = 0; wf && i < wf->n_domains; i++) {
		const struct sn_wf_domain *d = &wf->domains[i];
		struct kbs_peer *p = NULL;
		struct sn_kbs_peer_status ps = {0};

		if (!wanted(k, d))
			continue;
		for (size_t j = 0; j < f->n_peers && !p; j++)
			if (f->peers[j] &&
			    !strcmp(f->peers[j]->domain, d->id) &&
			    !strcmp(f->peers[j]->url, d->kbs_url) &&
			    !memcmp(f->peers[j]->pin, d->kbs_anchor_sha256,
				    sizeof(p->pin))) {
				p = f->peers[j];
				f->peers[j] = NULL;
			}
		if (!p) {
			p = peer_new(f, d);
			if (!p)
				continue;
			np[n++] = p;
			if (peer_start(p))
				err = -EIO;
			continue;
		}
		np[n++] = p;
		if (sn_kbs_peer_status_get(k->st, p->domain, &ps)) {
			err = -EIO;
			continue;
		}
		if (ps.withdrawn && !p->stopped) {
			fed_stop_peer(p);
			sn_info("federation: domain %s has withdrawn: "
				"no longer followed",
				p->domain);
		} else if (!ps.withdrawn && p->stopped) {
			if (peer_start(p)) /* re-admitted */
				err = -EIO;
		}
	}
	for (size_t j = 0; j < f->n_peers; j++) {
		struct kbs_peer *p = f->peers[j];

		if (!p)
			continue;
		sn_info("federation: domain %s's KBS at %s: no longer followed "
			"(the manifest no longer names it)",
			p->domain, p->url);
		peer_free(p);
	}
	free(f->peers);
	f->peers = np;
	f->n_peers = n;
	return err;
}

int kbs_fed_start(struct kbs *k)
{
	struct kbs_fed *f;

	if (ssl_peer_idx < 0) {
		/* two slots: the peer, the channel */
		ssl_peer_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL) !=
		    ssl_peer_idx + 1)
			return -EIO;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->k = k;
	k->fed = f;
	f->ctx = SSL_CTX_new(TLS_client_method());
	if (!f->ctx)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(f->ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(f->ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(f->ctx, pin_verify, NULL);
	if (!kbs_fed_manifest(k))
		sn_info("federation: no manifest imported: no peer domain is "
			"followed until one is (sealnet kbs import-manifest)");
	return kbs_fed_sync(k);
}

void kbs_fed_stop(struct kbs *k)
{
	struct kbs_fed *f = k->fed;

	if (!f)
		return;
	for (size_t i = 0; i < f->n_peers; i++)
		peer_free(f->peers[i]);
	if (f->dns)
		evdns_base_free(f->dns, 0);
	SSL_CTX_free(f->ctx);
	free(f->peers);
	free(f);
	k->fed = NULL;
}

/* ---- metrics ---------------------------------------------------------------
 */

void kbs_fed_metrics(struct kbs *k, struct sn_prom *pr)
{
	static const char *const states[] = {"fresh",	"stale",
					     "expired", "withdrawn",
					     "none",	"not-yet-valid"};
	struct kbs_fed *f = k->fed;
	int64_t now = fed_now_s();

	if (!f || !f->n_peers)
		return;
	sn_prom_family(pr, "sealnet_kbs_peer_bundle_state", "gauge",
		       "1 for the state of each peer domain's trust bundle "
		       "(docs/federation.md): fresh, stale (its KBS "
		       "unreachable or refused, still valid), expired, "
		       "withdrawn, none, not-yet-valid.");
	for (size_t i = 0; i < f->n_peers; i++) {
		struct kbs_peer *p = f->peers[i];
		struct sn_kbs_peer_bundle b;
		struct sn_kbs_peer_status ps = {0};
		bool has = !sn_kbs_peer_bundle_get(k->st, p->domain, &b);
		const char *s;

		sn_kbs_peer_status_get(k->st, p->domain, &ps);
		s = sn_kbs_peer_state(has ? &b : NULL, &ps, now);
		for (size_t j = 0; j < SN_ARRAY_SIZE(states); j++) {
			const char *l[] = {"domain", p->domain, "state",
					   states[j], NULL};

			sn_prom_u64(pr, "sealnet_kbs_peer_bundle_state", l,
				    !strcmp(s, states[j]));
		}
		if (has)
			sn_kbs_peer_bundle_clear(&b);
	}
#define PEER_COUNTER(name, help, field)                                   \
	do {                                                              \
		sn_prom_family(pr, name, "counter", help);                \
		for (size_t i = 0; i < f->n_peers; i++) {                 \
			const char *l[] = {"domain", f->peers[i]->domain, \
					   NULL};                         \
			sn_prom_u64(pr, name, l, f->peers[i]->field);     \
		}                                                         \
	} while (0)
	PEER_COUNTER("sealnet_kbs_peer_bundle_fetches_total",
		     "Fetches of a peer's bundle that gave an accepted bundle.",
		     fetch_ok);
	PEER_COUNTER("sealnet_kbs_peer_bundle_fetch_failures_total",
		     "Fetches of a peer's bundle that failed or were refused.",
		     fetch_failed);
	PEER_COUNTER("sealnet_kbs_peer_bundles_refused_total",
		     "Bundles a peer served that were refused (and audited).",
		     bundles_refused);
	PEER_COUNTER("sealnet_kbs_peer_revocations_total",
		     "A peer domain's revocations re-published here.",
		     revocations);
	PEER_COUNTER("sealnet_kbs_peer_events_refused_total",
		     "A peer domain's revocations refused (not its node or "
		     "measurement).",
		     events_refused);
#undef PEER_COUNTER
}
