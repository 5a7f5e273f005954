// SPDX-License-Identifier: Apache-2.0
/*
 * make_relay: the man in the middle of the MAKE relay test.
 *
 *   make_relay LISTEN_PORT UPSTREAM_ADDR UPSTREAM_PORT
 *
 * Accepts one TLS connection (it terminates TLS with its own ephemeral
 * certificate, like an honest sealnetd), opens its own TLS connection to
 * the upstream sealnetd, and forwards every decrypted byte both ways
 * unchanged: the honest peers' HELLO and EVIDENCE messages arrive intact,
 * only the TLS sessions differ.  MAKE must fail on the channel binding.
 * Prints what it forwarded; exits when either side closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sealnet/make.h"

static int die(const char *what)
{
	fprintf(stderr, "make_relay: %s: %s\n", what, strerror(errno));
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* move what is readable from a to b; 0 on EOF/error */
static int pump(SSL *a, SSL *b, size_t *total)
{
	char buf[16384];
	int n;

	do {
		n = SSL_read(a, buf, sizeof(buf));
		if (n <= 0)
			return SSL_get_error(a, n) == SSL_ERROR_WANT_READ;
		if (SSL_write(b, buf, n) != n)
			return 0;
		*total += (size_t)n;
	} while (SSL_pending(a));
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in la = { .sin_family = AF_INET }, ua = { .sin_family = AF_INET };
	size_t down = 0, up = 0;
	SSL_CTX *ctx;
	SSL *s1, *s2;
	int l, c1, c2, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: make_relay LISTEN_PORT UPSTREAM_ADDR UPSTREAM_PORT\n");
		return 2;
	}
	la.sin_port = htons((uint16_t)atoi(argv[1]));
	ua.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &ua.sin_addr) != 1)
		return 2;
	if (sn_make_tls_ctx_new(&ctx))
		die("TLS context");
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&la, sizeof(la)) || listen(l, 1))
		die("listen");
	printf("relay: listening\n");
	fflush(stdout);
	c1 = accept(l, NULL, NULL);
	if (c1 < 0)
		die("accept");
	s1 = SSL_new(ctx);
	SSL_set_fd(s1, c1);
	if (SSL_accept(s1) != 1)
		die("TLS with the downstream peer");
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c2, (struct sockaddr *)&ua, sizeof(ua)))
		die("connect upstream");
	s2 = SSL_new(ctx);
	SSL_set_fd(s2, c2);
	if (SSL_connect(s2) != 1)
		die("TLS with the upstream peer");
	printf("relay: two TLS sessions up, forwarding\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { c1, POLLIN, 0 }, { c2, POLLIN, 0 } };

		if (poll(p, 2, 15000) <= 0)
			break;
		if (p[0].revents && !pump(s1, s2, &up))
			break;
		if (p[1].revents && !pump(s2, s1, &down))
			break;
	}
	printf("relay: forwarded %zu bytes upstream, %zu downstream\n", up, down);
	SSL_free(s1);
	SSL_free(s2);
	SSL_CTX_free(ctx);
	close(c1);
	close(c2);
	close(l);
	return 0;
}
