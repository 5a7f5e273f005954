// SPDX-License-Identifier: Apache-2.0
/*
 * A small blocking HTTPS client for the KBS API over TLS 1.3: one request
 * per connection (sn_kbs_request, Connection: close) or several on one
 * kept-alive connection (sn_kbs_conn_*: one handshake for GET /challenge
 * and POST /attest), server certificate checked against a given CA and
 * the host name or IP address, optional client certificate.
 * A caller may keep the TLS context (CA, client certificate and key
 * loaded once: sn_kbs_client_ctx_*) across connections.
 * Used by `sealnet kbs` and the tests.  Answers are bounded (8 MiB).
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"

#define RESP_MAX (8u << 20)

static int split_server(const char *server, char *host, size_t hcap, char *port,
			size_t pcap)
{
	const char *colon;
	size_t hl;

	if (server[0] == '[') {
		const char *rb = strchr(server, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - server - 1);
		server++;
		colon = rb + 1;
	} else {
		colon = strrchr(server, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - server);
	}
	if (!hl || hl >= hcap || strlen(colon + 1) >= pcap || !colon[1])
		return -EINVAL;
	memcpy(host, server, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int dial(const char *host, const char *port, int timeout_s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai, *p;
	struct timeval tv = {.tv_sec = timeout_s};
	int fd = -1, rc, one = 1;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		sn_err("kbs client: cannot resolve %s:%s: %s", host, port,
		       gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC,
			    p->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		/* requests are written whole: no need to wait (Nagle) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!connect(fd, p->ai_addr, p->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		sn_err("kbs client: cannot connect to %s:%s: %s", host, port,
		       strerror(errno));
		return -ECONNREFUSED;
	}
	return fd;
}

static SSL_CTX *client_ctx(const struct sn_kbs_client_opts *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* every connection a full handshake: nothing kept to resume */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		sn_err("kbs client: cannot read the CA file %s", o->ca);
		goto fail;
	}
	if (o->cert &&
	    (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, o->key ? o->key : o->cert,
					 SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		sn_err("kbs client: cannot use the client certificate %s with "
		       "key %s",
		       o->cert, o->key ? o->key : o->cert);
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* --- a context kept across connections ----------------------------------- */

struct file_id {
	bool set; /* the path was given */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct sn_kbs_client_ctx {
	SSL_CTX *ssl;
	char *ca, *cert, *key; /* the paths loaded (NULL: none) */
	struct file_id id[3];  /* ca, cert, key */
	bool has_spki;
	uint8_t spki[SN_SHA256_LEN];
};

/* 0 when the file is there (id filled), -errno when not; NULL path: set
 * false */
static int file_id(const char *path, struct file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (!path)
		return 0;
	if (stat(path, &st))
		return -errno;
	id->set = true;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	id->ctime = st.st_ctim;
	return 0;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->set == b->set && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static bool path_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static const char *key_path(const struct sn_kbs_client_opts *o)
{
	return o->cert ? (o->key ? o->key : o->cert) : NULL;
}

void sn_kbs_client_ctx_free(struct sn_kbs_client_ctx *x)
{
	if (!x)
		return;
	SSL_CTX_free(x->ssl);
	free(x->ca);
	free(x->cert);
	free(x->key);
	free(x);
}

int sn_kbs_client_ctx_new(const struct sn_kbs_client_opts *o,
			  struct sn_kbs_client_ctx **out)
{
	struct sn_kbs_client_ctx *x = calloc(1, sizeof(*x));
	const char *key = key_path(o);
	X509 *crt;
	int err = -ENOMEM;

	if (!x)
		return -ENOMEM;
	if (!o->ca) {
		sn_err("kbs client: no CA file given");
		err = -EINVAL;
		goto fail;
	}
	x->ca = strdup(o->ca);
	x->cert = o->cert ? strdup(o->cert) : NULL;
	x->key = key ? strdup(key) : NULL;
	if (!x->ca || (o->cert && (!x->cert || !x->key)))
		goto fail;
	/* the files' identities before loading them: a change while they
	 * are read makes the context not current */
	if (file_id(x->ca, &x->id[0]) || file_id(x->cert, &x->id[1]) ||
	    file_id(x->key, &x->id[2])) {
		sn_err("kbs client: cannot read %s, %s or %s: %s", x->ca,
		       x->cert ? x->cert : "-", x->key ? x->key : "-",
		       strerror(errno));
		err = -EINVAL;
		goto fail;
	}
	x->ssl = client_ctx(o);
	if (!x->ssl) {
		err = -EINVAL;
		goto fail;
	}
	crt = SSL_CTX_get0_certificate(x->ssl);
	if (crt) {
		uint8_t *der = NULL;
		int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(crt), &der);

		x->has_spki = n > 0 && EVP_Digest(der, (size_t)n, x->spki, NULL,
						  EVP_sha256(), NULL) == 1;
		OPENSSL_free(der);
		if (!x->has_spki) {
			err = -EIO;
			goto fail;
		}
	}
	*out = x;
	return 0;
fail:
	sn_kbs_client_ctx_free(x);
	return err;
}

bool sn_kbs_client_ctx_current(const struct sn_kbs_client_ctx *x,
			       const struct sn_kbs_client_opts *o)
{
	struct file_id now;

	if (!x || !path_eq(x->ca, o->ca) || !path_eq(x->cert, o->cert) ||
	    !path_eq(x->key, key_path(o)))
		return false;
	for (int i = 0; i < 3; i++) {
		const char *p = i == 0 ? x->ca : i == 1 ? x->cert : x->key;

		if (file_id(p, &now) || !file_id_eq(&now, &x->id[i]))
			return false;
	}
	return true;
}

int sn_kbs_client_ctx_refresh(struct sn_kbs_client_ctx **x,
			      const struct sn_kbs_client_opts *o)
{
	int err;

	if (sn_kbs_client_ctx_current(*x, o))
		return 0;
	sn_kbs_client_ctx_free(*x);
	*x = NULL;
	err = sn_kbs_client_ctx_new(o, x);
	if (err)
		*x = NULL;
	return err;
}

int sn_kbs_client_ctx_spki(const struct sn_kbs_client_ctx *x,
			   uint8_t out[SN_SHA256_LEN])
{
	if (!x->has_spki)
		return -ENOENT;
	memcpy(out, x->spki, SN_SHA256_LEN);
	return 0;
}

/* the value of header name (with its colon) in the NUL-terminated header
 * block hdr, or NULL */
static const char *header(const char *hdr, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = strstr(hdr, "\r\n"); l; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, name, n)) {
			l += 2 + n;
			while (*l == ' ' || *l == '\t')
				l++;
			return l;
		}
	return NULL;
}

/* an open connection to the KBS: several requests, one TLS handshake */
struct sn_kbs_conn {
	const struct sn_kbs_client_opts *o;
	char host[256], port[16];
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	unsigned int answered; /* answers read on this TLS connection */
};

static void conn_drop(struct sn_kbs_conn *c)
{
	SSL_free(c->ssl); /* no close_notify: the answers are framed */
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
	c->answered = 0;
}

static int conn_connect(struct sn_kbs_conn *c)
{
	struct in6_addr a6;
	struct in_addr a4;

	c->fd = dial(c->host, c->port,
		     c->o->timeout_s > 0 ? c->o->timeout_s : 10);
	if (c->fd < 0) {
		int err = c->fd;

		c->fd = -1;
		return err;
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		conn_drop(c);
		return -EIO;
	}
	if (inet_pton(AF_INET, c->host, &a4) == 1 ||
	    inet_pton(AF_INET6, c->host, &a6) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, c->host);
		SSL_set1_host(c->ssl, c->host);
	}
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);

		sn_err("kbs client: TLS handshake with %s failed: %s",
		       c->o->server,
		       v != X509_V_OK ?
			       X509_verify_cert_error_string(v) :
			       ERR_reason_error_string(ERR_peek_last_error()));
		conn_drop(c);
		return -ECONNABORTED;
	}
	return 0;
}

int sn_kbs_conn_open(const struct sn_kbs_client_opts *o,
		     struct sn_kbs_conn **out)
{
	struct sn_kbs_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->o = o;
	c->fd = -1;
	if (split_server(o->server, c->host, sizeof(c->host), c->port,
			 sizeof(c->port))) {
		sn_err("kbs client: server '%s' is not HOST:PORT", o->server);
		free(c);
		return -EINVAL;
	}
	if (o->ctx && SSL_CTX_up_ref(o->ctx->ssl))
		c->ctx = o->ctx->ssl;
	else if (!o->ctx)
		c->ctx = client_ctx(o);
	if (!c->ctx) {
		free(c);
		return -EINVAL;
	}
	err = conn_connect(c);
	if (err) {
		sn_kbs_conn_close(c);
		return err;
	}
	*out = c;
	return 0;
}

void sn_kbs_conn_close(struct sn_kbs_conn *c)
{
	if (!c)
		return;
	conn_drop(c);
	SSL_CTX_free(c->ctx);
	free(c);
}

/* read one answer: the header block, then Content-Length bytes (or up to
 * the end of the stream without one); *reusable when the server keeps the
 * connection open.  -ECONNRESET when the connection ended before any
 * byte of an answer. */
static int read_answer(struct sn_kbs_conn *c, struct sn_kbs_response *out,
		       bool *reusable)
{
	char *buf = NULL, *hdr_end = NULL, *body;
	size_t len = 0, cap = 0, want = SIZE_MAX;
	const char *v;
	long clen = -1;
	int status, n, err;

	for (;;) {
		if (!hdr_end && len >= 4) {
			hdr_end = memmem(buf, len, "\r\n\r\n", 4);
			if (hdr_end) {
				*hdr_end = '\0';
				v = header(buf, "Content-Length:");
				clen = v ? strtol(v, NULL, 10) : -1;
				if (clen > (long)RESP_MAX) {
					err = -E2BIG;
					goto big;
				}
				if (clen >= 0)
					want = (size_t)(hdr_end - buf) + 4 +
					       (size_t)clen;
			}
		}
		if (len >= want)
			break;
		if (len + 4096 + 1 > cap) {
			size_t hoff = hdr_end ? (size_t)(hdr_end - buf) : 0;
			char *nb;

			if (cap >= RESP_MAX) {
				err = -E2BIG;
				goto big;
			}
			cap = cap ? 2 * cap : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			hdr_end = hdr_end ? nb + hoff : NULL;
			buf = nb;
		}
		n = SSL_read(c->ssl, buf + len, 4096);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (!len) {
		free(buf);
		return -ECONNRESET;
	}
	buf[len] = '\0';
	if (!hdr_end || len < 12 || memcmp(buf, "HTTP/1.", 7) ||
	    sscanf(buf + 9, "%3d", &status) != 1 || (clen >= 0 && len < want)) {
		free(buf);
		return -EPROTO;
	}
	body = hdr_end + 4;
	if (clen < 0)
		clen = (long)(buf + len - body);
	v = header(buf, "Connection:");
	*reusable = want != SIZE_MAX && buf[7] == '1' &&
		    !(v && !strncasecmp(v, "close", 5));
	out->status = status;
	out->body = malloc((size_t)clen + 1);
	if (!out->body) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(out->body, body, (size_t)clen);
	out->body[clen] = '\0';
	out->len = (size_t)clen;
	free(buf);
	return 0;
big:
	sn_err("kbs client: answer from %s above %u bytes", c->o->server,
	       RESP_MAX);
	free(buf);
	return err;
}

/* SSL_write on a connection the server may have closed meanwhile: the
 * SIGPIPE that would kill a process that does not ignore it (the CLI) is
 * held back and discarded (unless one was pending already); EPIPE is the
 * answer */
static int write_nosigpipe(SSL *ssl, const char *buf, int n)
{
	struct timespec zero = {0};
	sigset_t pipe, old, pending;
	bool was_pending;
	int r;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	r = SSL_write(ssl, buf, n);
	if (r != n && !was_pending)
		sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static int conn_send(struct sn_kbs_conn *c, const char *method,
		     const char *target, const char *bearer, const char *body,
		     size_t body_len, bool last)
{
	char *req = NULL;
	int n, err = 0;

	if (body_len > INT_MAX / 2)
		return -E2BIG;
	n = asprintf(
		&req,
		"%s %s HTTP/1.1\r\nHost: %s\r\n%s"
		"%s%s%s%sContent-Length: %zu\r\n\r\n",
		method, target, c->host, last ? "Connection: close\r\n" : "",
		bearer ? "Authorization: Bearer " : "", bearer ? bearer : "",
		bearer ? "\r\n" : "",
		body ? "Content-Type: application/json\r\n" : "", body_len);
	if (n < 0)
		return -ENOMEM;
	/* head and body in one write (one TLS record, one segment when
	 * small): a second small write would wait for the server's delayed
	 * ACK of the first (Nagle) on a kept-alive connection */
	if (body_len) {
		char *all = realloc(req, (size_t)n + body_len);

		if (!all) {
			free(req);
			return -ENOMEM;
		}
		req = all;
		memcpy(req + n, body, body_len);
		n += (int)body_len;
	}
	if (write_nosigpipe(c->ssl, req, n) != n)
		err = -EPIPE;
	free(req);
	return err;
}

static int conn_request(struct sn_kbs_conn *c, const char *method,
			const char *target, const char *bearer,
			const char *body, size_t body_len, bool last,
			struct sn_kbs_response *out)
{
	struct sn_kbs_response r = {0};
	bool reusable = false;
	int err;

	for (int attempt = 0;; attempt++) {
		bool reused = c->answered > 0;
		char b;

		/* closed by the server while idle: reconnect rather than
		 * write into it (SIGPIPE) */
		if (reused && c->fd >= 0 &&
		    recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
			conn_drop(c);
		if (!c->ssl) {
			err = conn_connect(c);
			if (err)
				return err;
		}
		err = conn_send(c, method, target, bearer, body, body_len,
				last);
		if (!err)
			err = read_answer(c, &r, &reusable);
		/* a kept-alive connection the server closed meanwhile (idle
		 * timeout): no byte of an answer came, so the request is sent
		 * again once on a new connection.  The KBS's own checks (a
		 * challenge is consumed once) make a repeat harmless. */
		if ((err == -EPIPE || err == -ECONNRESET) && reused &&
		    !attempt) {
			conn_drop(c);
			continue;
		}
		break;
	}
	if (err == -EPIPE)
		sn_err("kbs client: sending the request to %s failed",
		       c->o->server);
	else if (err == -ECONNRESET)
		sn_err("kbs client: %s closed the connection without an "
		       "answer",
		       c->o->server);
	else if (err == -EPROTO)
		sn_err("kbs client: malformed HTTP answer from %s",
		       c->o->server);
	if (err || !reusable || last)
		conn_drop(c);
	else
		c->answered++;
	if (!err)
		*out = r;
	return err;
}

int sn_kbs_conn_request(struct sn_kbs_conn *c, const char *method,
			const char *target, const char *bearer,
			const char *body, size_t body_len,
			struct sn_kbs_response *out)
{
	return conn_request(c, method, target, bearer, body, body_len, false,
			    out);
}

int sn_kbs_request(const struct sn_kbs_client_opts *o, const char *method,
		   const char *target, const char *bearer, const char *body,
		   size_t body_len, struct sn_kbs_response *out)
{
	struct sn_kbs_conn *c;
	int err = sn_kbs_conn_open(o, &c);

	if (err)
		return err;
	err = conn_request(c, method, target, bearer, body, body_len, true,
			   out);
	sn_kbs_conn_close(c);
	return err;
}

void sn_kbs_response_clear(struct sn_kbs_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
