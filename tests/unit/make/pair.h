/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two MAKE peers in one process: sn_make_sessions over an AF_UNIX
 * socketpair on one event_base, sim TEE backend (a platform in a temp dir,
 * an appraisal policy naming its ARK and one measurement, one shared
 * SSL_CTX).  The fixture of tests/unit/make/test_make_{session,bind,token}.c
 * (their group setup: pair_test_setup) and bench/make_latency.c.
 *
 * Header only (each user is one file).  Functions return 0 or a negative
 * errno (NULL for pointers): tests assert on it, the bench exits.
 */
#ifndef SEALNET_TEST_MAKE_PAIR_H
#define SEALNET_TEST_MAKE_PAIR_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sealnet/evidence.h"
#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"

/* --- the world both peers live in ----------------------------------------- */

static struct pair_env {
	char tmpdir[256], platform[256];
	uint8_t meas[SN_MEASUREMENT_LEN]; /* the one the policy allows */
	struct sn_policy_appraisal *policy;
	SSL_CTX *tls_ctx;
	struct event_base *base;
	/* optional: called after every session callback (the bench's clock) */
	void (*progress)(void);
} pair_env;

/* A sim platform in a new temp dir named after prefix, a policy naming its
 * ARK and pair_env.meas (0x11...), the shared SSL_CTX, the event_base. */
static inline int pair_env_init(const char *prefix)
{
	char tmpl[128], hex[2 * SN_SHA256_LEN + 1];
	char mhex[2 * SN_MEASUREMENT_LEN + 1], json[1024];
	uint8_t h[SN_SHA256_LEN];
	int err;

	snprintf(tmpl, sizeof(tmpl), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(tmpl))
		return -errno;
	snprintf(pair_env.tmpdir, sizeof(pair_env.tmpdir), "%s", tmpl);
	snprintf(pair_env.platform, sizeof(pair_env.platform), "%s/plat", tmpl);
	err = sn_sim_platform_init(pair_env.platform);
	if (!err)
		err = sn_sim_ark_spki(pair_env.platform, h);
	if (err)
		return err;
	memset(pair_env.meas, 0x11, sizeof(pair_env.meas));
	sn_hex_encode(h, sizeof(h), hex);
	sn_hex_encode(pair_env.meas, sizeof(pair_env.meas), mhex);
	snprintf(json, sizeof(json),
		 "{\"backends\": [\"sim\"], \"sim_ark_spki_sha256\": "
		 "[\"%s\"], \"measurements\": [\"%s\"]}",
		 hex, mhex);
	err = sn_policy_appraisal_parse(json, strlen(json), &pair_env.policy);
	if (!err)
		err = sn_make_tls_ctx_new(&pair_env.tls_ctx);
	if (err)
		return err;
	pair_env.base = event_base_new();
	return pair_env.base ? 0 : -ENOMEM;
}

/* A unit test's group setup: SIGPIPE ignored (as in sealnetd, a peer
 * closing must not kill the process), the library's log on stderr at debug
 * level with SEALNET_TEST_VERBOSE set, else silent; then pair_env_init. */
static inline int pair_test_setup(const char *prefix)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("SEALNET_TEST_VERBOSE")) {
		sn_log_set(sn_log_stderr, NULL);
		sn_log_set_level(SN_LOG_DEBUG);
	} else {
		sn_log_set(NULL, NULL);
	}
	return pair_env_init(prefix);
}

/* Free what pair_env_init made and remove its temp dir (the platform's
 * files only: anything else makes the rmdir fail). */
static inline int pair_env_free(void)
{
	static const char *const files[] = {
		"ark.pem", "ask.pem",  "vcek.pem", "ark.key",
		"ask.key", "vcek.key", "chip_id",
	};
	char path[320];

	if (pair_env.base)
		event_base_free(pair_env.base);
	SSL_CTX_free(pair_env.tls_ctx);
	sn_policy_appraisal_free(pair_env.policy);
	for (size_t i = 0; i < SN_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", pair_env.platform,
			 files[i]);
		unlink(path);
	}
	if (rmdir(pair_env.platform) || rmdir(pair_env.tmpdir))
		return -errno;
	return 0;
}

/* --- one peer ------------------------------------------------------------- */

struct pair_node {
	const char *name;
	uint32_t id;
	uint32_t expect_peer;
	const uint8_t *meas;
	struct sn_mlog mlog;
	/* evidence: the last produced, and an override (replay) */
	uint8_t *last_ev, *replay_ev;
	size_t last_len, replay_len;
	/* results */
	int n_keys, n_rekey, n_ready, n_fail;
	int bad; /* a callback saw something wrong */
	uint16_t key_epoch, ready_epoch;
	uint8_t tx[SN_MAKE_KEY_LEN], rx[SN_MAKE_KEY_LEN];
	int fail_err;
	char reason[512];
	struct sn_make_session *s;
	uint16_t want_epoch; /* done when ready at this epoch (or failed) */
	/* events the peer's measurement log must hold (none: any) */
	const struct sn_mlog_require *require;
	size_t n_require;
	/* KBS tokens (pair_token_*): what it accepts, its token (NULL:
	 * none), its own TLS context (NULL: the shared one); the peer's
	 * token is checked against pair_tok.keys with sub = the peer's
	 * HELLO name */
	enum sn_make_accept accept;
	/* the accept mode the last token check was told (its session's) */
	enum sn_make_accept seen_accept;
	const char *token;
	SSL_CTX *ctx;
	/* the workflow binding W (docs/protocol.md §3.2), NULL: none */
	const uint8_t *bind;
	/* another token check than pair_token_verify (NULL: that one; its
	 * arg is the node too) */
	sn_make_token_verify_fn verify;
};

/* the verification keys tokens are checked with (a KBS's JWKS) */
static struct pair_tok {
	struct sn_kbs_signer *keys[4];
	size_t n_keys;
	time_t now; /* 0: time(NULL) */
} pair_tok;

static inline int pair_token_get(void *arg, char **out)
{
	struct pair_node *n = arg;

	if (!n->token)
		return -ENOENT;
	*out = strdup(n->token);
	return *out ? 0 : -ENOMEM;
}

static inline int pair_token_verify(void *arg, const char *tok, size_t len,
				    const uint8_t spki[SN_SHA256_LEN],
				    uint32_t peer_id, const char *peer_name,
				    enum sn_make_accept accept,
				    struct sn_appraisal *out)
{
	struct sn_kbs_claims c;
	struct pair_node *n = arg;
	char why[160];
	int err;

	n->seen_accept = accept;
	err = sn_kbs_token_check_peer(pair_tok.keys, pair_tok.n_keys, tok, len,
				      pair_tok.now ? pair_tok.now : time(NULL),
				      spki, peer_name, &c, why, sizeof(why));
	if (err) {
		out->accepted = false;
		out->reasons[0].code = SN_R_TOKEN;
		snprintf(out->reasons[0].detail, sizeof(out->reasons[0].detail),
			 "%s", why);
		out->n_reasons = 1;
		return 0;
	}
	out->accepted = out->authentic = true;
	out->claims.tee = SN_TEE_SIM;
	if (sn_hex_decode(c.measurement, strlen(c.measurement),
			  out->claims.measurement,
			  SN_MEASUREMENT_LEN) != SN_MEASUREMENT_LEN)
		return -EINVAL;
	return 0;
}

/* SHA-256 of the SPKI of ctx's certificate (a token's cnf) */
static inline int pair_ctx_spki(SSL_CTX *ctx, uint8_t out[SN_SHA256_LEN])
{
	X509 *c = SSL_CTX_get0_certificate(ctx);
	unsigned char *der = NULL;
	int n = c ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der) : -1;

	if (n <= 0)
		return -EINVAL;
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

/* a new in-memory token key (SN_KBS_TOKEN_CRV) */
static inline int pair_token_key(struct sn_kbs_signer **out)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", SN_KBS_TOKEN_CRV);
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int err = -EIO;

	if (k && b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
					       NULL) == 1) {
		len = BIO_get_mem_data(b, &pem);
		err = sn_kbs_signer_from_pem(pem, (size_t)len, out);
	}
	BIO_free(b);
	EVP_PKEY_free(k);
	return err;
}

/* A token of signer k for node sub, bound to spki, measurement meas,
 * valid from iat for life seconds; *out malloc'd. */
static inline int pair_token_make(struct sn_kbs_signer *k, const char *sub,
				  const uint8_t spki[SN_SHA256_LEN],
				  const uint8_t *meas, int64_t iat, int64_t life,
				  char **out)
{
	struct sn_kbs_claims c = {0};

	snprintf(c.iss, sizeof(c.iss), "sealnet-kbs:d1");
	snprintf(c.sub, sizeof(c.sub), "%s", sub);
	snprintf(c.domain, sizeof(c.domain), "d1");
	snprintf(c.stage, sizeof(c.stage), "S");
	snprintf(c.tee, sizeof(c.tee), "sim");
	sn_hex_encode(meas, SN_MEASUREMENT_LEN, c.measurement);
	memcpy(c.cnf_spki, spki, SN_SHA256_LEN);
	c.iat = iat;
	c.exp = iat + life;
	snprintf(c.jti, sizeof(c.jti), "test-jti");
	return sn_kbs_token_sign(k, &c, out);
}

static struct pair_node *pair_nodes[2];

static inline bool pair_node_done(const struct pair_node *n)
{
	return !n || n->n_fail || n->ready_epoch >= n->want_epoch;
}

/* after every callback: the progress hook; stop when both are done */
static inline void pair_check(void)
{
	if (pair_env.progress)
		pair_env.progress();
	if (pair_node_done(pair_nodes[0]) && pair_node_done(pair_nodes[1]))
		event_base_loopbreak(pair_env.base);
}

static inline int pair_ev_provider(void *arg,
				   const uint8_t rd[SN_REPORT_DATA_LEN],
				   uint8_t **out, size_t *len)
{
	struct pair_node *n = arg;
	uint8_t *wire;
	size_t wire_len;
	int err;

	if (n->replay_ev) {
		wire = malloc(n->replay_len);
		if (!wire)
			return -ENOMEM;
		memcpy(wire, n->replay_ev, n->replay_len);
		*out = wire;
		*len = n->replay_len;
		return 0;
	}
	err = sn_evidence_produce(SN_TEE_SIM, pair_env.platform, rd, n->meas,
				  &n->mlog, &wire, &wire_len);
	if (err)
		return err;
	free(n->last_ev);
	n->last_ev = malloc(wire_len);
	if (!n->last_ev) {
		free(wire);
		return -ENOMEM;
	}
	memcpy(n->last_ev, wire, wire_len);
	n->last_len = wire_len;
	*out = wire;
	*len = wire_len;
	return 0;
}

static inline int pair_mlog_digest(void *arg, uint8_t out[SN_SHA384_LEN])
{
	struct pair_node *n = arg;

	memcpy(out, n->mlog.digest, SN_SHA384_LEN);
	return 0;
}

static inline void pair_on_keys(void *arg, uint32_t peer, uint16_t epoch,
				const uint8_t tx[SN_MAKE_KEY_LEN],
				const uint8_t rx[SN_MAKE_KEY_LEN])
{
	struct pair_node *n = arg;

	n->n_keys++;
	n->key_epoch = epoch;
	memcpy(n->tx, tx, SN_MAKE_KEY_LEN);
	memcpy(n->rx, rx, SN_MAKE_KEY_LEN);
	pair_check();
}

static inline void pair_on_rekey(void *arg, uint32_t peer, uint16_t epoch,
				 const uint8_t tx[SN_MAKE_KEY_LEN],
				 const uint8_t rx[SN_MAKE_KEY_LEN])
{
	struct pair_node *n = arg;

	n->n_rekey++;
	/* no assert here: a longjmp out of the event loop breaks it */
	if (epoch != n->key_epoch + 1)
		n->bad++;
	n->key_epoch = epoch;
	memcpy(n->tx, tx, SN_MAKE_KEY_LEN);
	memcpy(n->rx, rx, SN_MAKE_KEY_LEN);
	pair_check();
}

static inline void pair_on_ready(void *arg, uint32_t peer, uint16_t epoch)
{
	struct pair_node *n = arg;

	if (epoch != n->key_epoch)
		n->bad++;
	n->n_ready++;
	n->ready_epoch = epoch;
	pair_check();
}

static inline void pair_on_fail(void *arg, uint32_t peer, int err,
				const char *reason)
{
	struct pair_node *n = arg;

	n->n_fail++;
	n->fail_err = err;
	snprintf(n->reason, sizeof(n->reason), "%s", reason);
	pair_check();
}

/* A peer with a one-event measurement log of its own (its name). */
static inline int pair_node_init(struct pair_node *n, const char *name,
				 uint32_t id, uint32_t peer,
				 const uint8_t *meas)
{
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->id = id;
	n->expect_peer = peer;
	n->meas = meas;
	n->want_epoch = 1;
	sn_mlog_init(&n->mlog);
	return sn_mlog_extend_data(&n->mlog, SN_MLOG_BPF_OBJECT,
				   "sealnet.bpf.o", name, strlen(name));
}

static inline void pair_node_free(struct pair_node *n)
{
	sn_make_session_free(n->s);
	n->s = NULL;
	sn_mlog_free(&n->mlog);
	free(n->last_ev);
	free(n->replay_ev);
	n->last_ev = n->replay_ev = NULL;
}

/* Start n's session on fd (timeout_ms 0: the library's default). */
static inline int pair_node_start(struct pair_node *n, int fd, bool is_client,
				  unsigned int timeout_ms)
{
	struct sn_make_params p = {
		.node_id = n->id,
		.node_name = n->name,
		.peer_id = n->expect_peer,
		.policy = pair_env.policy,
		.evidence = pair_ev_provider,
		.mlog_digest = pair_mlog_digest,
		.evidence_arg = n,
		.tls_ctx = pair_env.tls_ctx,
		.handshake_timeout_ms = timeout_ms,
		.peer_mlog_require = n->require,
		.n_peer_mlog_require = n->n_require,
		.accept = n->accept,
		.token = n->token ? pair_token_get : NULL,
		.verify_token = n->verify ? n->verify : pair_token_verify,
		.token_arg = n,
		.workflow_bind = n->bind,
	};

	if (n->ctx)
		p.tls_ctx = n->ctx;
	struct sn_make_callbacks cb = {
		.on_keys = pair_on_keys,
		.on_rekey = pair_on_rekey,
		.on_ready = pair_on_ready,
		.on_fail = pair_on_fail,
		.arg = n,
	};

	return sn_make_session_new(pair_env.base, fd, is_client, &p, &cb,
				   &n->s);
}

/* a (client) and b (server) on a new socketpair */
static inline int pair_start(struct pair_node *a, struct pair_node *b)
{
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -errno;
	err = pair_node_start(a, sv[0], true, 0);
	return err ? err : pair_node_start(b, sv[1], false, 0);
}

/* --- the loop ------------------------------------------------------------- */

static inline void pair_safety(evutil_socket_t fd, short what, void *arg)
{
	bool *fired = arg;

	*fired = true;
	event_base_loopbreak(pair_env.base);
}

/* Run the loop until a and b (either may be NULL) are done: ready at
 * want_epoch or failed.  -ETIMEDOUT after timeout_s. */
static inline int pair_run(struct pair_node *a, struct pair_node *b,
			   int timeout_s)
{
	struct timeval tv = {.tv_sec = timeout_s};
	bool fired = false;
	struct event *t = evtimer_new(pair_env.base, pair_safety, &fired);

	if (!t)
		return -ENOMEM;
	pair_nodes[0] = a;
	pair_nodes[1] = b;
	evtimer_add(t, &tv);
	if (!(pair_node_done(a) && pair_node_done(b)))
		event_base_dispatch(pair_env.base);
	event_free(t);
	return fired ? -ETIMEDOUT : 0;
}

/* let closing connections finish (linger, EOFs) */
static inline void pair_settle(void)
{
	struct timeval tv = {.tv_usec = 50000};

	event_base_loopexit(pair_env.base, &tv);
	event_base_dispatch(pair_env.base);
}

/* A plain TLS end on fd with the shared context and session.c's options;
 * the caller sets its callbacks and enables it. */
static inline struct bufferevent *pair_tls_bev(int fd, bool is_client)
{
	struct bufferevent *bev;
	SSL *ssl = SSL_new(pair_env.tls_ctx);

	if (!ssl || evutil_make_socket_nonblocking(fd)) {
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(
		pair_env.base, fd, ssl,
		is_client ? BUFFEREVENT_SSL_CONNECTING :
			    BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	return bev;
}

#endif
