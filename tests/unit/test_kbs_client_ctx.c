// SPDX-License-Identifier: Apache-2.0
/*
 * lib/kbs client context kept across connections (sn_kbs_client_ctx_*)
 * and the store's prepared-statement cache (sn_kbs_stmt):
 *   - two requests with one context succeed, each a full TLS 1.3
 *     handshake with the client certificate (the test server offers
 *     session tickets: none is used), and they need the files no more
 *     (deleted after the context is made: the same requests without the
 *     context fail);
 *   - the context's SPKI is the certificate file's;
 *   - a certificate or key replaced (renamed over, or rewritten in place)
 *     or another path makes the context not current; refresh then loads
 *     the new identity (the server sees the new certificate), and keeps
 *     the same context while nothing changed; a failed reload leaves no
 *     context (the old identity is not used on);
 *   - a key that is not the certificate's, a missing CA: refused;
 *   - the store compiles a statement once for many calls, and a cached
 *     statement reads the data as it is now (a revocation after the
 *     first lookup is seen).
 * The test server listens on 127.0.0.1 (an ephemeral port).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sealnet/kbs.h"
#include "../../lib/kbs/internal.h"

static char dir[64];

static void path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static EVP_PKEY *keygen(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* a certificate for key, signed by ca_key (NULL: self-signed) */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca,
		       EVP_PKEY *ca_key, bool is_ca, const char *san_ip)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;
	static long serial = 1;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : n);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, ca ? ca : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (san_ip) {
		char v[64];

		snprintf(v, sizeof(v), "IP:%s", san_ip);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, v);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void write_cert(const char *name, X509 *x)
{
	char p[128];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

static void write_key(const char *name, EVP_PKEY *k)
{
	char p[128];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(f);
}

static void spki_of(X509 *x, uint8_t out[SN_SHA256_LEN])
{
	uint8_t *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	assert_true(n > 0);
	assert_int_equal(
		EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL), 1);
	OPENSSL_free(der);
}

/* --- a TLS 1.3 server on 127.0.0.1 answering "ok" ------------------------ */

struct server {
	int fd;
	char addr[32];
	SSL_CTX *ctx;
	pthread_t t;
	int want, served, resumed, no_cert;
	uint8_t last_spki[SN_SHA256_LEN];
};

static void *serve(void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < s->want; i++) {
		int c = accept(s->fd, NULL, NULL);
		SSL *ssl;
		char buf[4096];
		size_t len = 0;
		X509 *peer;
		static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: "
					  "2\r\nConnection: close\r\n\r\nok";

		if (c < 0)
			break;
		ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1) {
			while (len < sizeof(buf) - 1) {
				int n = SSL_read(ssl, buf + len,
						 (int)(sizeof(buf) - 1 - len));

				if (n <= 0)
					break;
				len += (size_t)n;
				buf[len] = '\0';
				if (strstr(buf, "\r\n\r\n"))
					break;
			}
			s->resumed += SSL_session_reused(ssl);
			peer = SSL_get1_peer_certificate(ssl);
			if (peer) {
				spki_of(peer, s->last_spki);
				X509_free(peer);
			} else {
				s->no_cert++;
			}
			SSL_write(ssl, ans, (int)strlen(ans));
			SSL_shutdown(ssl);
			s->served++;
		}
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

static int accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1; /* the client certificate is only looked at */
}

static void server_start(struct server *s, int want)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	char p[128], k[128];

	memset(s, 0, sizeof(*s));
	s->want = want;
	s->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(s->ctx);
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_3_VERSION);
	/* tickets on (the default): a client that kept sessions would
	 * resume */
	path(p, sizeof(p), "server.pem");
	path(k, sizeof(k), "server.key");
	assert_int_equal(
		SSL_CTX_use_certificate_file(s->ctx, p, SSL_FILETYPE_PEM), 1);
	assert_int_equal(
		SSL_CTX_use_PrivateKey_file(s->ctx, k, SSL_FILETYPE_PEM), 1);
	SSL_CTX_set_verify(s->ctx,
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   accept_any);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%u", ntohs(a.sin_port));
	assert_int_equal(pthread_create(&s->t, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	/* wake an accept still waiting (a request that failed early) */
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->t, NULL);
	close(s->fd);
	SSL_CTX_free(s->ctx);
}

/* --- fixture: CA, server certificate, node identities A and B ------------ */

static X509 *crt_a, *crt_b;

static int setup(void **state)
{
	EVP_PKEY *ca_k = keygen(), *srv_k = keygen(), *a_k = keygen(),
		 *b_k = keygen();
	X509 *ca = make_cert(ca_k, "ca", NULL, NULL, true, NULL);
	X509 *srv = make_cert(srv_k, "kbs", ca, ca_k, false, "127.0.0.1");

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sn-kbs-ctx-XXXXXX");
	assert_non_null(mkdtemp(dir));
	crt_a = make_cert(a_k, "node-a", NULL, NULL, false, NULL);
	crt_b = make_cert(b_k, "node-b", NULL, NULL, false, NULL);
	write_cert("ca.pem", ca);
	write_cert("server.pem", srv);
	write_key("server.key", srv_k);
	write_cert("a.pem", crt_a);
	write_key("a.key", a_k);
	write_cert("b.pem", crt_b);
	write_key("b.key", b_k);
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_k);
	EVP_PKEY_free(srv_k);
	EVP_PKEY_free(a_k);
	EVP_PKEY_free(b_k);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	X509_free(crt_a);
	X509_free(crt_b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

/* node.pem/node.key: copies of identity id ("a" or "b") */
static void install(const char *id, const char *pem, const char *key)
{
	char src[128], dst[128], cmd[400];

	path(src, sizeof(src), id);
	path(dst, sizeof(dst), pem);
	snprintf(cmd, sizeof(cmd), "cp %s.pem %s.tmp && mv %s.tmp %s", src, dst,
		 dst, dst);
	assert_int_equal(system(cmd), 0);
	path(dst, sizeof(dst), key);
	snprintf(cmd, sizeof(cmd), "cp %s.key %s.tmp && mv %s.tmp %s", src, dst,
		 dst, dst);
	assert_int_equal(system(cmd), 0);
}

struct names {
	char ca[128], cert[128], key[128];
};

static void opts_for(struct sn_kbs_client_opts *o, struct names *n,
		     const char *server, const char *pem, const char *key)
{
	path(n->ca, sizeof(n->ca), "ca.pem");
	path(n->cert, sizeof(n->cert), pem);
	path(n->key, sizeof(n->key), key);
	*o = (struct sn_kbs_client_opts){.server = server,
					 .ca = n->ca,
					 .cert = n->cert,
					 .key = n->key,
					 .timeout_s = 5};
}

static int get_ok(const struct sn_kbs_client_opts *o)
{
	struct sn_kbs_response r = {0};
	int err = sn_kbs_request(o, "GET", "/keys", NULL, NULL, 0, &r);

	if (!err && (r.status != 200 || strcmp(r.body, "ok")))
		err = -EPROTO;
	sn_kbs_response_clear(&r);
	return err;
}

static void test_reuse(void **state)
{
	struct sn_kbs_client_opts o;
	struct sn_kbs_client_ctx *x = NULL;
	uint8_t want[SN_SHA256_LEN], got[SN_SHA256_LEN];
	struct server s;
	struct names n;
	struct sn_kbs_conn *c = NULL;
	struct sn_kbs_response r = {0};

	(void)state;
	install("a", "n1.pem", "n1.key");
	server_start(&s, 3);
	opts_for(&o, &n, s.addr, "n1.pem", "n1.key");
	assert_int_equal(sn_kbs_client_ctx_new(&o, &x), 0);
	assert_int_equal(sn_kbs_cert_file_spki(n.cert, want), 0);
	assert_int_equal(sn_kbs_client_ctx_spki(x, got), 0);
	assert_memory_equal(want, got, SN_SHA256_LEN);
	/* the files are gone: only the context can still connect */
	unlink(n.cert);
	unlink(n.key);
	assert_int_not_equal(get_ok(&o), 0);
	o.ctx = x;
	assert_int_equal(get_ok(&o), 0);
	assert_int_equal(get_ok(&o), 0);
	assert_int_equal(sn_kbs_conn_open(&o, &c), 0);
	assert_int_equal(
		sn_kbs_conn_request(c, "GET", "/keys", NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	sn_kbs_response_clear(&r);
	sn_kbs_conn_close(c);
	/* the context outlives nothing it handed out: freed after use */
	sn_kbs_client_ctx_free(x);
	server_stop(&s);
	assert_int_equal(s.served, 3);
	assert_int_equal(s.resumed, 0); /* each a full handshake */
	assert_int_equal(s.no_cert, 0);
	assert_memory_equal(s.last_spki, want, SN_SHA256_LEN);
}

static void test_current(void **state)
{
	struct sn_kbs_client_opts o, other;
	struct sn_kbs_client_ctx *x = NULL, *was;
	uint8_t a[SN_SHA256_LEN], b[SN_SHA256_LEN], got[SN_SHA256_LEN];
	struct names n, n2;
	struct server s;
	char p[128], cmd[400];

	(void)state;
	spki_of(crt_a, a);
	spki_of(crt_b, b);
	install("a", "n2.pem", "n2.key");
	opts_for(&o, &n, "127.0.0.1:1", "n2.pem", "n2.key");
	assert_int_equal(sn_kbs_client_ctx_refresh(&x, &o), 0);
	assert_non_null(x);
	assert_true(sn_kbs_client_ctx_current(x, &o));
	was = x;
	assert_int_equal(sn_kbs_client_ctx_refresh(&x, &o), 0);
	assert_ptr_equal(x, was); /* nothing changed: kept */
	/* another path, even to the same content */
	install("a", "n3.pem", "n3.key");
	opts_for(&other, &n2, "127.0.0.1:1", "n3.pem", "n3.key");
	assert_false(sn_kbs_client_ctx_current(x, &other));
	/* rotated: B's certificate and key renamed over A's */
	install("b", "n2.pem", "n2.key");
	assert_false(sn_kbs_client_ctx_current(x, &o));
	assert_int_equal(sn_kbs_client_ctx_refresh(&x, &o), 0);
	assert_int_equal(sn_kbs_client_ctx_spki(x, got), 0);
	assert_memory_equal(got, b, SN_SHA256_LEN);
	/* the server sees B */
	server_start(&s, 1);
	o.server = s.addr;
	o.ctx = x;
	assert_int_equal(get_ok(&o), 0);
	server_stop(&s);
	assert_memory_equal(s.last_spki, b, SN_SHA256_LEN);
	o.ctx = NULL;
	/* rewritten in place (same inode): A's certificate and key again */
	path(p, sizeof(p), "a");
	snprintf(cmd, sizeof(cmd), "cat %s.pem > %s; cat %s.key > %s", p,
		 n.cert, p, n.key);
	assert_int_equal(system(cmd), 0);
	assert_false(sn_kbs_client_ctx_current(x, &o));
	assert_int_equal(sn_kbs_client_ctx_refresh(&x, &o), 0);
	assert_int_equal(sn_kbs_client_ctx_spki(x, got), 0);
	assert_memory_equal(got, a, SN_SHA256_LEN);
	/* the key replaced by one that is not the certificate's: the
	 * reload fails and no context is left */
	path(p, sizeof(p), "b.key");
	snprintf(cmd, sizeof(cmd), "cp %s %s.tmp && mv %s.tmp %s", p, n.key,
		 n.key, n.key);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sn_kbs_client_ctx_refresh(&x, &o), -EINVAL);
	assert_null(x);
	sn_kbs_client_ctx_free(x);
}

static void test_refused(void **state)
{
	struct sn_kbs_client_opts o;
	struct sn_kbs_client_ctx *x = NULL;
	struct names n;

	(void)state;
	opts_for(&o, &n, "127.0.0.1:1", "a.pem", "b.key");
	assert_int_equal(sn_kbs_client_ctx_new(&o, &x), -EINVAL);
	assert_null(x);
	opts_for(&o, &n, "127.0.0.1:1", "a.pem", "a.key");
	path(n.ca, sizeof(n.ca), "no-such-ca.pem");
	assert_int_equal(sn_kbs_client_ctx_new(&o, &x), -EINVAL);
	assert_null(x);
	/* no certificate: a context for plain requests, no SPKI to bind */
	opts_for(&o, &n, "127.0.0.1:1", "a.pem", "a.key");
	o.cert = o.key = NULL;
	assert_int_equal(sn_kbs_client_ctx_new(&o, &x), 0);
	{
		uint8_t h[SN_SHA256_LEN];

		assert_int_equal(sn_kbs_client_ctx_spki(x, h), -ENOENT);
	}
	sn_kbs_client_ctx_free(x);
}

static void test_stmt_cache(void **state)
{
	struct sn_kbs_store *st;
	struct sn_kbs_node nd = {.id = "n1", .stage = "A"}, got;
	const struct sn_kbs_audit_in a = {"admin:test", "x", "n1", "ok", ""};
	char db[128];
	unsigned long before;

	(void)state;
	path(db, sizeof(db), "stmt.db");
	assert_int_equal(sn_kbs_store_open(db, &st), 0);
	assert_int_equal(sn_kbs_enrol(st, &nd, &a), 0);
	assert_int_equal(sn_kbs_node_get(st, "n1", &got), 0);
	assert_int_equal(sn_kbs_is_revoked(st, "node", "n1"), 0);
	before = st->stmt_prepared;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(sn_kbs_node_get(st, "n1", &got), 0);
		assert_string_equal(got.stage, "A");
		assert_int_equal(sn_kbs_node_get(st, "nx", &got), -ENOENT);
		assert_int_equal(sn_kbs_is_revoked(st, "node", "n1"), 0);
	}
	assert_int_equal(st->stmt_prepared, before); /* none compiled again */
	/* a cached statement reads the database as it is now */
	assert_int_equal(sn_kbs_revoke(st, "node", "n1", "test", &a, NULL), 0);
	assert_int_equal(sn_kbs_is_revoked(st, "node", "n1"), 1);
	assert_int_equal(sn_kbs_node_get(st, "n1", &got), 0);
	assert_true(got.revoked);
	sn_kbs_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_current),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_stmt_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
