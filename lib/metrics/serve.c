// SPDX-License-Identifier: Apache-2.0
/*
 * A Prometheus target on a libevent loop (include/sealnet/prom.h,
 * sn_prom_serve): GET or HEAD /metrics answers the page the caller builds
 * at each scrape (text format 0.0.4); other paths 404, other methods 405;
 * small requests only (headers 8 KiB, body 4 KiB, 10 s).  Used by sealnetd
 * and sealnet-kbs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "sealnet/log.h"
#include "sealnet/prom.h"
#include "sealnet/util.h"

struct sn_prom_server {
	struct evhttp *http;
	sn_prom_page_fn fn;
	void *arg;
};

static void on_request(struct evhttp_request *req, void *arg)
{
	struct sn_prom_server *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type c = evhttp_request_get_command(req);
	struct sn_prom *p = NULL;
	struct evbuffer *out = NULL;
	const char *text;
	size_t len;

	if (c != EVHTTP_REQ_GET && c != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "only GET /metrics");
		return;
	}
	if (!uri || (strcmp(uri, "/metrics") && strncmp(uri, "/metrics?", 9))) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics");
		return;
	}
	if (sn_prom_new(&p) || s->fn(p, s->arg) ||
	    !(text = sn_prom_text(p, &len)) || !(out = evbuffer_new()) ||
	    evbuffer_add(out, text, len)) {
		evhttp_send_error(req, HTTP_INTERNAL, "cannot build the page");
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Content-Type", "text/plain; version=0.0.4");
		evhttp_send_reply(req, HTTP_OK, "OK", out);
	}
	if (out)
		evbuffer_free(out);
	sn_prom_free(p);
}

int sn_prom_serve(struct event_base *base, const char *listen,
		  sn_prom_page_fn fn, void *arg, struct sn_prom_server **out)
{
	struct sn_prom_server *s;
	char host[64];
	uint16_t port;

	if (sn_parse_listen(listen, host, sizeof(host), &port)) {
		sn_err("metrics_listen \"%s\": expected ADDR:PORT (e.g. "
		       "127.0.0.1:9477 or [::1]:9477)",
		       listen);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->arg = arg;
	s->http = evhttp_new(base);
	if (!s->http) {
		free(s);
		return -ENOMEM;
	}
	evhttp_set_allowed_methods(
		s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
				 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_headers_size(s->http, 8192);
	evhttp_set_max_body_size(s->http, 4096);
	evhttp_set_timeout(s->http, 10);
	evhttp_set_gencb(s->http, on_request, s);
	if (evhttp_bind_socket(s->http, host, port)) {
		sn_err("metrics_listen %s: cannot listen there (address not "
		       "local, or port %u in use)",
		       listen, port);
		sn_prom_server_free(s);
		return -EADDRNOTAVAIL;
	}
	sn_info("metrics on http://%s/metrics", listen);
	*out = s;
	return 0;
}

void sn_prom_server_free(struct sn_prom_server *s)
{
	if (!s)
		return;
	evhttp_free(s->http);
	free(s);
}
