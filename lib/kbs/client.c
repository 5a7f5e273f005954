// SPDX-License-Identifier: Apache-2.0
/*
 * A small blocking HTTPS client for the KBS API: one request per TLS 1.3
 * connection (Connection: close), server certificate checked against a
 * given CA and the host name or IP address, optional client certificate.
 * Used by `sealnet kbs` and the tests.  Answers are bounded (8 MiB).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
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
	int fd = -1, rc;

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
	SSL_CTX_free(ctx);
	return NULL;
}

/* status and body of a full HTTP/1.1 answer */
static int parse_answer(char *buf, size_t len, struct sn_kbs_response *out)
{
	char *hdr_end = memmem(buf, len, "\r\n\r\n", 4), *line, *body;
	long clen = -1;
	int status;

	if (!hdr_end || len < 12 || memcmp(buf, "HTTP/1.", 7) ||
	    sscanf(buf + 9, "%3d", &status) != 1)
		return -EPROTO;
	*hdr_end = '\0';
	body = hdr_end + 4;
	for (line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n"))
		if (!strncasecmp(line + 2, "Content-Length:", 15))
			clen = strtol(line + 17, NULL, 10);
	if (clen < 0)
		clen = (long)(buf + len - body);
	if (clen > buf + len - body)
		return -EPROTO;
	out->status = status;
	out->body = malloc((size_t)clen + 1);
	if (!out->body)
		return -ENOMEM;
	memcpy(out->body, body, (size_t)clen);
	out->body[clen] = '\0';
	out->len = (size_t)clen;
	return 0;
}

int sn_kbs_request(const struct sn_kbs_client_opts *o, const char *method,
		   const char *target, const char *bearer, const char *body,
		   size_t body_len, struct sn_kbs_response *out)
{
	char host[256], port[16], *req = NULL, *buf = NULL;
	struct sn_kbs_response r = {0};
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	size_t len = 0, cap = 0;
	int fd = -1, err, n;

	if (split_server(o->server, host, sizeof(host), port, sizeof(port))) {
		sn_err("kbs client: server '%s' is not HOST:PORT", o->server);
		return -EINVAL;
	}
	ctx = client_ctx(o);
	if (!ctx)
		return -EINVAL;
	fd = dial(host, port, o->timeout_s > 0 ? o->timeout_s : 10);
	if (fd < 0) {
		err = fd;
		goto out;
	}
	ssl = SSL_new(ctx);
	err = -EIO;
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		goto out;
	{
		struct in6_addr a6;
		struct in_addr a4;

		if (inet_pton(AF_INET, host, &a4) == 1 ||
		    inet_pton(AF_INET6, host, &a6) == 1) {
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
						      host);
		} else {
			SSL_set_tlsext_host_name(ssl, host);
			SSL_set1_host(ssl, host);
		}
	}
	if (SSL_connect(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);

		sn_err("kbs client: TLS handshake with %s failed: %s",
		       o->server,
		       v != X509_V_OK ?
			       X509_verify_cert_error_string(v) :
			       ERR_reason_error_string(ERR_peek_last_error()));
		err = -ECONNABORTED;
		goto out;
	}
	n = asprintf(
		&req,
		"%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
		"%s%s%s%sContent-Length: %zu\r\n\r\n",
		method, target, host, bearer ? "Authorization: Bearer " : "",
		bearer ? bearer : "", bearer ? "\r\n" : "",
		body ? "Content-Type: application/json\r\n" : "", body_len);
	if (n < 0) {
		req = NULL;
		err = -ENOMEM;
		goto out;
	}
	if (SSL_write(ssl, req, n) != n ||
	    (body_len &&
	     SSL_write(ssl, body, (int)body_len) != (int)body_len)) {
		sn_err("kbs client: sending the request to %s failed",
		       o->server);
		goto out;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb;

			if (cap >= RESP_MAX) {
				sn_err("kbs client: answer from %s above %u "
				       "bytes",
				       o->server, RESP_MAX);
				err = -E2BIG;
				goto out;
			}
			cap = cap ? 2 * cap : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = SSL_read(ssl, buf + len, 4096);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (!buf) {
		sn_err("kbs client: %s closed the connection without an answer",
		       o->server);
		err = -ECONNRESET;
		goto out;
	}
	buf[len] = '\0';
	err = parse_answer(buf, len, &r);
	if (err)
		sn_err("kbs client: malformed HTTP answer from %s", o->server);
	else
		*out = r;
out:
	free(req);
	free(buf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return err;
}

void sn_kbs_response_clear(struct sn_kbs_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
