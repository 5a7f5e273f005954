// SPDX-License-Identifier: Apache-2.0
/*
 * Request framing in front of evhttp (docs/kbs-api.md "Request
 * framing"): libevent 2.1.12's evhttp refuses some requests by itself
 * (a body over its maximum, too many header bytes, a request line or a
 * header it cannot parse, a chunked body over the maximum, an unknown
 * method, an unmet Expect) with an HTML answer and no call into the KBS,
 * so without this they would leave no audit row.
 *
 * A callback on each connection's TLS bufferevent's input buffer sees the
 * plaintext as it is added, before evhttp's read callback runs: it takes
 * the new bytes out and runs the framer of lib/kbs/http_frame.c over
 * them.  A request's head is held back until it is complete and checked,
 * its body (whose length the head gave) goes back to evhttp at once.  The
 * first request the framer refuses is replaced by an internal request
 * ("GET /!framing", Connection: close) that the router hands to
 * kbs_framing_refused: it refuses the request with kbs_refuse, i.e.
 * answered in JSON, audited (within the audit rate limit of
 * unauthenticated clients), logged and counted like every refusal, with
 * the client's address and TLS key.  Requests before it on the connection
 * are served first; what the client sends after it is discarded.
 * (A bufferevent_filter is not used: in 2.1.12 it does not pass evhttp's
 * answer on when evhttp enables writing after writing it, and its write
 * callback means "handed to the TLS layer", after which evhttp shuts the
 * socket down: answers before a close would be lost.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "sealnet/kbs_http.h"
#include "sealnet/log.h"
#include "kbs.h"

/* what evhttp sees in place of a refused request */
static const char internal_req[] =
	"GET " KBS_FRAMING_PATH " HTTP/1.1\r\nConnection: close\r\n\r\n";

struct kbs_conn {
	struct sn_kbs_http_framer f;
	struct sn_kbs_http_refusal r;
	struct evbuffer *hold; /* new bytes; an incomplete head */
	struct evbuffer *tmp;
	bool busy;     /* in our own changes of the input buffer */
	bool refused;  /* internal request queued; input discarded */
	bool answered; /* kbs_framing_refused took it */
};

static int conn_idx = -1;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

/* with the connection's SSL object */
static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
		      long argl, void *argp)
{
	struct kbs_conn *c = ptr;

	if (!c)
		return;
	evbuffer_free(c->hold);
	evbuffer_free(c->tmp);
	free(c);
}

static void conn_idx_init(void)
{
	conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
}

/* frame what is held; what passes is appended to in */
static void frame(struct kbs_conn *c, struct evbuffer *in)
{
	struct evbuffer *src = c->hold;
	size_t used, hl;

	/* src: the held (scanned) part of a head, then unscanned bytes */
	while (evbuffer_get_length(src) > c->f.head_len) {
		struct evbuffer_ptr p;
		struct evbuffer_iovec v;
		const char *head;

		if (evbuffer_ptr_set(src, &p, c->f.head_len,
				     EVBUFFER_PTR_SET) ||
		    evbuffer_peek(src, -1, &p, &v, 1) < 1 || !v.iov_len)
			break;
		switch (sn_kbs_http_scan(&c->f, v.iov_base, v.iov_len, &used,
					 &c->r)) {
		case SN_KBS_HTTP_BODY:
			evbuffer_remove_buffer(src, in, used);
			continue;
		case SN_KBS_HTTP_MORE:
			continue;
		case SN_KBS_HTTP_HEAD:
			hl = c->f.head_len;
			head = (const char *)evbuffer_pullup(src,
							     (ev_ssize_t)hl);
			if (head && !sn_kbs_http_head(&c->f, head, hl, &c->r)) {
				evbuffer_remove_buffer(src, in, hl);
				continue;
			}
			if (!head) {
				c->r.status = 503;
				snprintf(c->r.code, sizeof(c->r.code),
					 "no-memory");
				snprintf(c->r.msg, sizeof(c->r.msg),
					 "no memory for a request head of %zu "
					 "bytes",
					 hl);
			}
			break;
		case SN_KBS_HTTP_REFUSED:
			break;
		}
		/* refused: evhttp gets the internal request instead */
		c->refused = true;
		evbuffer_drain(src, evbuffer_get_length(src));
		evbuffer_add(in, internal_req, sizeof(internal_req) - 1);
		return;
	}
}

static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
		     void *arg)
{
	struct kbs_conn *c = arg;
	size_t keep;

	if (c->busy || !info->n_added)
		return;
	c->busy = true;
	/* the new bytes are the last n_added: take them out, keep what
	 * evhttp has not read yet of what passed before */
	keep = evbuffer_get_length(in) - info->n_added;
	if (keep)
		evbuffer_remove_buffer(in, c->tmp, keep);
	if (c->refused)
		evbuffer_drain(in, evbuffer_get_length(in));
	else
		evbuffer_add_buffer(c->hold, in);
	if (keep)
		evbuffer_add_buffer(in, c->tmp);
	if (!c->refused)
		frame(c, in);
	c->busy = false;
}

int kbs_framing_attach(struct kbs *k, struct bufferevent *tls)
{
	SSL *ssl = bufferevent_openssl_get_ssl(tls);
	struct kbs_conn *c;

	pthread_once(&conn_once, conn_idx_init);
	if (conn_idx < 0 || !ssl)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	sn_kbs_http_framer_init(&c->f, KBS_HTTP_HEADER_MAX, KBS_HTTP_BODY_MAX);
	c->hold = evbuffer_new();
	c->tmp = evbuffer_new();
	if (!c->hold || !c->tmp || !SSL_set_ex_data(ssl, conn_idx, c)) {
		conn_free(NULL, c, NULL, 0, 0, NULL);
		return -ENOMEM;
	}
	/* c is freed with ssl from now on */
	if (!evbuffer_add_cb(bufferevent_get_input(tls), on_input, c))
		return -ENOMEM;
	return 0;
}

bool kbs_framing_refused(struct kbs *k, struct evhttp_request *req, SSL *ssl,
			 const char *path)
{
	struct kbs_conn *c = ssl ? SSL_get_ex_data(ssl, conn_idx) : NULL;

	if (!c || !c->refused || c->answered || strcmp(path, KBS_FRAMING_PATH))
		return false;
	c->answered = true;
	kbs_refuse(k, req, c->r.status, "request", NULL, c->r.code, NULL, "%s",
		   c->r.msg);
	return true;
}
