// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs's HTTPS server: libevent evhttp over OpenSSL bufferevents,
 * TLS 1.3 only.  A client certificate is requested but not required at
 * the TLS level: nodes present their TLS key (bound in their evidence),
 * admins a certificate signed by the admin CA, checked per request
 * (kbs_is_admin).  Routing and the helpers every handler uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "kbs.h"

uint64_t kbs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static SSL *req_ssl(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		c ? evhttp_connection_get_bufferevent(c) : NULL;

	return bev ? bufferevent_openssl_get_ssl(bev) : NULL;
}

X509 *kbs_peer_cert(struct evhttp_request *req)
{
	SSL *ssl = req_ssl(req);

	return ssl ? SSL_get0_peer_certificate(ssl) : NULL;
}

int kbs_peer_spki(struct evhttp_request *req, uint8_t out[SN_SHA256_LEN])
{
	X509 *x = kbs_peer_cert(req);
	uint8_t *der = NULL;
	int n, err = 0;

	if (!x)
		return -ENOENT;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (n <= 0 ||
	    EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL) != 1)
		err = -EIO;
	OPENSSL_free(der);
	return err;
}

bool kbs_is_admin(struct kbs *k, struct evhttp_request *req)
{
	SSL *ssl = req_ssl(req);
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	X509_STORE_CTX *ctx;
	bool ok = false;

	if (!x)
		return false;
	ctx = X509_STORE_CTX_new();
	if (ctx &&
	    X509_STORE_CTX_init(ctx, k->admin_store, x,
				SSL_get_peer_cert_chain(ssl)) == 1 &&
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1)
		ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	return ok;
}

void kbs_actor(struct kbs *k, struct evhttp_request *req, char *out, size_t cap)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	uint8_t h[SN_SHA256_LEN];
	char hex[2 * SN_SHA256_LEN + 1], cn[64] = "?";
	const char *addr = "?";
	ev_uint16_t port = 0;

	if (c)
		evhttp_connection_get_peer(c, (char **)&addr, &port);
	if (kbs_is_admin(k, req)) {
		X509_NAME_get_text_by_NID(
			X509_get_subject_name(kbs_peer_cert(req)),
			NID_commonName, cn, sizeof(cn));
		snprintf(out, cap, "admin:%s@%s", cn, addr);
	} else if (!kbs_peer_spki(req, h)) {
		sn_hex_encode(h, sizeof(h), hex);
		snprintf(out, cap, "key:%s@%s", hex, addr);
	} else {
		snprintf(out, cap, "anonymous@%s", addr);
	}
}

void kbs_reply(struct evhttp_request *req, int status, const char *json)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *reason;

	switch (status) {
	case 200:
		reason = "OK";
		break;
	case 400:
		reason = "Bad Request";
		break;
	case 401:
		reason = "Unauthorized";
		break;
	case 403:
		reason = "Forbidden";
		break;
	case 404:
		reason = "Not Found";
		break;
	case 405:
		reason = "Method Not Allowed";
		break;
	case 409:
		reason = "Conflict";
		break;
	case 411:
		reason = "Length Required";
		break;
	case 413:
		reason = "Payload Too Large";
		break;
	case 417:
		reason = "Expectation Failed";
		break;
	case 431:
		reason = "Request Header Fields Too Large";
		break;
	case 429:
		reason = "Too Many Requests";
		break;
	case 503:
		reason = "Service Unavailable";
		break;
	default:
		reason = "Error";
		break;
	}
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b) {
		evbuffer_add(b, json, strlen(json));
		evbuffer_add(b, "\n", 1);
	}
	evhttp_send_reply(req, status, reason, b);
	evbuffer_free(b);
}

/* a refusal of a client that is neither an admin nor an enrolled node's
 * key, from a source address over its audit budget (audit_limit.c) */
static bool audit_limited(struct kbs *k, struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	uint8_t spki[SN_SHA256_LEN];
	char id[SN_KBS_NAME_MAX];
	const char *addr = "?";
	ev_uint16_t port = 0;

	if (kbs_is_admin(k, req) ||
	    (!kbs_peer_spki(req, spki) &&
	     sn_kbs_node_by_spki(k->st, spki, id) != -ENOENT))
		return false;
	if (c)
		evhttp_connection_get_peer(c, (char **)&addr, &port);
	return !kbs_alim_allow(k, addr ? addr : "?");
}

void kbs_refuse(struct kbs *k, struct evhttp_request *req, int status,
		const char *action, const char *subject, const char *code,
		const char *reasons_json, const char *fmt, ...)
{
	char msg[512], actor[200], *txt;
	json_t *o, *r = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kbs_actor(k, req, actor, sizeof(actor));
	if (audit_limited(k, req)) {
		/* answered, logged at debug level, counted; no audit row */
		sn_dbg("refused %s %s for %s: %s: %s (not audited: rate "
		       "limit)",
		       action, subject ? subject : "", actor, code, msg);
		kbs_metrics_refused(k, action, code);
		goto answer;
	}
	{
		const struct sn_kbs_audit_in a = {
			.actor = actor,
			.action = action,
			.subject = subject ? subject : "",
			.outcome = code,
			.detail = msg,
		};

		if (sn_kbs_audit_append(k->st, &a))
			sn_err("refusal of %s by %s not audited (database "
			       "error above)",
			       action, actor);
	}
	sn_info("refused %s %s for %s: %s: %s", action, subject ? subject : "",
		actor, code, msg);
	kbs_metrics_refused(k, action, code);
answer:
	if (reasons_json)
		r = json_loads(reasons_json, 0, NULL);
	o = json_pack("{s:s,s:s}", "error", code, "message", msg);
	if (o && r)
		json_object_set_new(o, "reasons", r);
	else
		json_decref(r);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	kbs_reply(req, status, txt ? txt : "{\"error\":\"internal\"}");
	free(txt);
}

int kbs_body(struct kbs *k, struct evhttp_request *req, const char *action,
	     size_t max, char **out, size_t *len)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(b);
	char *buf;

	if (n > max) {
		kbs_refuse(k, req, 413, action, NULL, "too-large", NULL,
			   "request body of %zu bytes is above the %zu-byte "
			   "limit of this endpoint",
			   n, max);
		return -E2BIG;
	}
	buf = malloc(n + 1);
	if (!buf) {
		kbs_reply(req, 503, "{\"error\":\"no-memory\"}");
		return -ENOMEM;
	}
	evbuffer_remove(b, buf, n);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int kbs_query_int(struct evhttp_request *req, const char *name, long min,
		  long max, long def, long *out)
{
	const char *q =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq kv;
	const char *v;
	char *end;
	long n;

	*out = def;
	if (!q)
		return 0;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(q, &kv))
		return -EINVAL;
	v = evhttp_find_header(&kv, name);
	if (v) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || !*v || *end || n < min || n > max) {
			evhttp_clear_headers(&kv);
			return -EINVAL;
		}
		*out = n;
	}
	evhttp_clear_headers(&kv);
	return 0;
}

/* strict: the path's own characters only, no percent-encoding */
static bool path_chars_ok(const char *p)
{
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '.' ||
		      *p == '_' || *p == '-'))
			return false;
	return true;
}

static void route(struct evhttp_request *req, void *arg)
{
	struct kbs *k = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	bool get = m == EVHTTP_REQ_GET, post = m == EVHTTP_REQ_POST;

	if (path && kbs_framing_refused(k, req, req_ssl(req), path))
		return;
	if (!path || !path_chars_ok(path) || strlen(path) > 256) {
		kbs_refuse(k, req, 400, "request", NULL, "bad-path", NULL,
			   "the request path is empty, too long or has "
			   "characters outside [A-Za-z0-9/._-]");
		return;
	}
	if (!strcmp(path, "/challenge") && get)
		kbs_challenge(k, req);
	else if (!strcmp(path, "/attest") && post)
		kbs_attest(k, req);
	else if (!strncmp(path, "/resource/", 10) && get)
		kbs_resource(k, req, path + 10);
	else if (!strcmp(path, "/keys") && get)
		kbs_keys(k, req);
	else if (!strcmp(path, "/events") && get)
		kbs_events(k, req);
	else if (!strcmp(path, "/bundle") && get)
		kbs_bundle(k, req);
	else if (!strcmp(path, "/federation/bundles") && get)
		kbs_fed_bundles_get(k, req);
	else if (!strncmp(path, "/admin/", 7))
		kbs_admin(k, req, path + 7);
	else if (!strcmp(path, "/challenge") || !strcmp(path, "/attest") ||
		 !strncmp(path, "/resource/", 10) || !strcmp(path, "/keys") ||
		 !strcmp(path, "/events") || !strcmp(path, "/bundle") ||
		 !strcmp(path, "/federation/bundles"))
		kbs_refuse(k, req, 405, "request", path, "bad-method", NULL,
			   "%s takes %s", path,
			   !strcmp(path, "/attest") ? "POST" : "GET");
	else
		kbs_refuse(k, req, 404, "request", path, "not-found", NULL,
			   "no endpoint %s (see docs/kbs-api.md)", path);
}

/*
 * A connection that cannot get its TLS bufferevent (no memory) must not be
 * served at all: evhttp serves a NULL from bevcb as plain text on the TLS
 * port.  It gets one end of a bufferevent pair instead, whose partner is
 * gone: a pair takes no socket, so evhttp (2.1.12) fails to set it up and
 * closes the socket at once, before a byte is read or answered (checked by
 * hand with SSL_new forced to fail: a plain-text GET /keys got nothing; with
 * NULL returned it got "200 OK").  Without even the pair, the process stops
 * rather than serve plain text.
 */
static struct bufferevent *mute_bev(struct event_base *base)
{
	struct bufferevent *pair[2];

	if (bufferevent_pair_new(base, 0, pair)) {
		sn_err("no memory for a new connection's TLS state nor for "
		       "refusing it; stopping rather than serve it in plain "
		       "text");
		abort();
	}
	bufferevent_free(pair[1]);
	return pair[0];
}

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
	struct kbs *k = arg;
	SSL *ssl = SSL_new(k->ssl);
	struct bufferevent *bev;

	if (!ssl) {
		sn_err("no memory for a new connection's TLS state: the "
		       "connection is closed unserved");
		return mute_bev(base);
	}
	kbs_metrics_connection(k);
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
					     BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		sn_err("no memory for a new connection's TLS bufferevent: the "
		       "connection is closed unserved");
		SSL_free(ssl);
		return mute_bev(base);
	}
	/* requests evhttp would refuse by itself, refused and audited (not
	 * NULL on failure: evhttp would serve a plain-text connection) */
	if (kbs_framing_attach(k, bev))
		sn_err("no memory to frame a new connection's requests: its "
		       "malformed ones are refused by evhttp, not audited");
	return bev;
}

/* any client certificate is let through the handshake (its possession is
 * proven by TLS); who it belongs to is decided per request */
static int accept_any(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

static int tls_setup(struct kbs *k)
{
	static const unsigned char sid[] = "sealnet-kbs";
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	if (!c)
		return -ENOMEM;
	k->ssl = c;
	SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
	SSL_CTX_set_session_id_context(c, sid, sizeof(sid) - 1);
	/* no TLS 1.3 session tickets: no client resumes (the node's helper
	 * and the CLI are a new process per attestation), and making the
	 * default two per handshake (OpenSSL 3.0 re-encodes the session with
	 * the client certificate for each) was ~14 % of the KBS's CPU */
	SSL_CTX_set_num_tickets(c, 0);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, accept_any);
	if (SSL_CTX_use_certificate_chain_file(c, k->cfg.tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c, k->cfg.tls_key, SSL_FILETYPE_PEM) !=
		    1 ||
	    SSL_CTX_check_private_key(c) != 1) {
		sn_err("TLS certificate %s / key %s: unreadable or not a pair "
		       "(%s)",
		       k->cfg.tls_cert, k->cfg.tls_key,
		       ERR_reason_error_string(ERR_peek_last_error()));
		return -EINVAL;
	}
	k->admin_store = X509_STORE_new();
	if (!k->admin_store ||
	    X509_STORE_load_file(k->admin_store, k->cfg.admin_ca) != 1) {
		sn_err("admin CA %s: not a readable PEM certificate file",
		       k->cfg.admin_ca);
		return -EINVAL;
	}
	return 0;
}

int kbs_http_new(struct kbs *k)
{
	int err = kbs_batch_init(k);

	if (err)
		return err;
	k->http = evhttp_new(k->base);
	if (!k->http)
		return -ENOMEM;
	evhttp_set_bevcb(k->http, bevcb, k);
	evhttp_set_gencb(k->http, route, k);
	evhttp_set_max_body_size(k->http, KBS_HTTP_BODY_MAX);
	evhttp_set_max_headers_size(k->http, KBS_HTTP_HEADER_MAX);
	evhttp_set_timeout(k->http, k->cfg.request_timeout);
	evhttp_set_allowed_methods(
		k->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
				 EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	return 0;
}

int kbs_server_start(struct kbs *k)
{
	struct evhttp_bound_socket *bs;
	int err = tls_setup(k);

	if (!err)
		err = kbs_http_new(k);
	if (err)
		return err;
	bs = evhttp_bind_socket_with_handle(
		k->http, k->cfg.listen_host,
		(ev_uint16_t)atoi(k->cfg.listen_port));
	if (!bs) {
		sn_err("cannot listen on %s port %s: %s (address in use, or "
		       "not an address of this host?)",
		       k->cfg.listen_host, k->cfg.listen_port, strerror(errno));
		return -EADDRNOTAVAIL;
	}
	k->listen_fd = evhttp_bound_socket_get_fd(bs);
	/* inherited by the accepted sockets: an answer's last segment is not
	 * held back (Nagle) until the client's delayed ACK of the one before
	 * on a kept-alive connection (+40..200 ms per request otherwise) */
	if (setsockopt(k->listen_fd, IPPROTO_TCP, TCP_NODELAY, &(int){1},
		       sizeof(int)))
		sn_warn("TCP_NODELAY on the listening socket: %s",
			strerror(errno));
	return 0;
}

void kbs_server_stop(struct kbs *k)
{
	kbs_events_free(k);
	kbs_batch_free(k);
	if (k->http)
		evhttp_free(k->http);
	SSL_CTX_free(k->ssl);
	X509_STORE_free(k->admin_store);
}
