// SPDX-License-Identifier: Apache-2.0
/*
 * Full MAKE sessions inside one process: two sn_make_sessions over a
 * socketpair on one event_base, sim TEE backend (a platform in a temp
 * dir, a policy naming its ARK and one allowed measurement).  Covers:
 * success with crosswise keys, rekey (either side, simultaneous),
 * rejection of a wrong measurement, a TLS-terminating relay, replayed
 * evidence, a wrong peer id, malformed frames, the handshake timeout.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"
#include "sealnet/make.h"
#include "sealnet/util.h"

static char tmpdir[256], platform[256];
static uint8_t good_meas[SN_MEASUREMENT_LEN], bad_meas[SN_MEASUREMENT_LEN];
static struct sn_policy_appraisal *policy;
static SSL_CTX *tls_ctx;
static struct event_base *base;

struct node {
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
	int bad; /* callback saw something wrong */
	uint16_t key_epoch, ready_epoch;
	uint8_t tx[SN_MAKE_KEY_LEN], rx[SN_MAKE_KEY_LEN];
	int fail_err;
	char reason[512];
	struct sn_make_session *s;
	uint16_t want_epoch; /* done when ready at this epoch (or failed) */
};

static struct node *nodes[2];

static bool node_done(const struct node *n)
{
	return !n || n->n_fail || n->ready_epoch >= n->want_epoch;
}

static void check_done(void)
{
	if (node_done(nodes[0]) && node_done(nodes[1]))
		event_base_loopbreak(base);
}

static int ev_provider(void *arg, const uint8_t rd[SN_REPORT_DATA_LEN],
		       uint8_t **out, size_t *len)
{
	struct node *n = arg;
	struct sn_evidence *ev = NULL;
	uint8_t *log = NULL, *wire = NULL;
	size_t log_len, wire_len;
	int err;

	if (n->replay_ev) {
		wire = malloc(n->replay_len);
		assert_non_null(wire);
		memcpy(wire, n->replay_ev, n->replay_len);
		*out = wire;
		*len = n->replay_len;
		return 0;
	}
	err = sn_evidence_produce_sim(platform, rd, n->meas, &ev);
	if (!err)
		err = sn_mlog_serialize(&n->mlog, &log, &log_len);
	if (!err)
		err = sn_evidence_set_mlog(ev, log, log_len);
	if (!err)
		err = sn_evidence_serialize(ev, &wire, &wire_len);
	free(log);
	sn_evidence_free(ev);
	if (err)
		return err;
	free(n->last_ev);
	n->last_ev = malloc(wire_len);
	assert_non_null(n->last_ev);
	memcpy(n->last_ev, wire, wire_len);
	n->last_len = wire_len;
	*out = wire;
	*len = wire_len;
	return 0;
}

static int mlog_digest(void *arg, uint8_t out[SN_SHA384_LEN])
{
	struct node *n = arg;

	memcpy(out, n->mlog.digest, SN_SHA384_LEN);
	return 0;
}

static void on_keys(void *arg, uint32_t peer, uint16_t epoch,
		    const uint8_t tx[SN_MAKE_KEY_LEN],
		    const uint8_t rx[SN_MAKE_KEY_LEN])
{
	struct node *n = arg;

	n->n_keys++;
	n->key_epoch = epoch;
	memcpy(n->tx, tx, SN_MAKE_KEY_LEN);
	memcpy(n->rx, rx, SN_MAKE_KEY_LEN);
}

static void on_rekey(void *arg, uint32_t peer, uint16_t epoch,
		     const uint8_t tx[SN_MAKE_KEY_LEN],
		     const uint8_t rx[SN_MAKE_KEY_LEN])
{
	struct node *n = arg;

	n->n_rekey++;
	/* no assert here: a longjmp out of the event loop breaks it */
	if (epoch != n->key_epoch + 1)
		n->bad++;
	n->key_epoch = epoch;
	memcpy(n->tx, tx, SN_MAKE_KEY_LEN);
	memcpy(n->rx, rx, SN_MAKE_KEY_LEN);
}

static void on_ready(void *arg, uint32_t peer, uint16_t epoch)
{
	struct node *n = arg;

	if (epoch != n->key_epoch)
		n->bad++;
	n->n_ready++;
	n->ready_epoch = epoch;
	check_done();
}

static void on_fail(void *arg, uint32_t peer, int err, const char *reason)
{
	struct node *n = arg;

	n->n_fail++;
	n->fail_err = err;
	snprintf(n->reason, sizeof(n->reason), "%s", reason);
	check_done();
}

static void node_init(struct node *n, const char *name, uint32_t id,
		      uint32_t peer, const uint8_t *meas)
{
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->id = id;
	n->expect_peer = peer;
	n->meas = meas;
	n->want_epoch = 1;
	sn_mlog_init(&n->mlog);
	assert_int_equal(sn_mlog_extend_data(&n->mlog, SN_MLOG_BPF_OBJECT,
					     "sealnet.bpf.o", name,
					     strlen(name)),
			 0);
}

static void node_free(struct node *n)
{
	sn_make_session_free(n->s);
	n->s = NULL;
	sn_mlog_free(&n->mlog);
	free(n->last_ev);
	free(n->replay_ev);
}

static void node_start(struct node *n, int fd, bool is_client,
		       unsigned int timeout_ms)
{
	struct sn_make_params p = {
		.node_id = n->id,
		.node_name = n->name,
		.peer_id = n->expect_peer,
		.policy = policy,
		.evidence = ev_provider,
		.mlog_digest = mlog_digest,
		.evidence_arg = n,
		.tls_ctx = tls_ctx,
		.handshake_timeout_ms = timeout_ms,
	};
	struct sn_make_callbacks cb = {
		.on_keys = on_keys,
		.on_rekey = on_rekey,
		.on_ready = on_ready,
		.on_fail = on_fail,
		.arg = n,
	};

	assert_int_equal(sn_make_session_new(base, fd, is_client, &p, &cb,
					     &n->s),
			 0);
}

static void safety(evutil_socket_t fd, short what, void *arg)
{
	bool *fired = arg;

	*fired = true;
	event_base_loopbreak(base);
}

/* run the loop until both nodes are done (or 30 s passed: test fails) */
static void run(struct node *a, struct node *b)
{
	struct timeval tv = {.tv_sec = 30};
	bool fired = false;
	struct event *t = evtimer_new(base, safety, &fired);

	nodes[0] = a;
	nodes[1] = b;
	evtimer_add(t, &tv);
	if (!(node_done(a) && node_done(b)))
		event_base_dispatch(base);
	event_free(t);
	assert_false(fired);
	assert_int_equal(a ? a->bad : 0, 0);
	assert_int_equal(b ? b->bad : 0, 0);
}

/* let closing connections finish (linger, EOFs) */
static void settle(void)
{
	struct timeval tv = {.tv_usec = 50000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void pair(struct node *a, struct node *b)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	node_start(a, sv[0], true, 0);
	node_start(b, sv[1], false, 0);
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* --- tests ------------------------------------------------------------------ */

static void assert_cross(const struct node *a, const struct node *b)
{
	assert_memory_equal(a->tx, b->rx, SN_MAKE_KEY_LEN);
	assert_memory_equal(a->rx, b->tx, SN_MAKE_KEY_LEN);
	assert_memory_not_equal(a->tx, a->rx, SN_MAKE_KEY_LEN);
}

static void test_make_ok_and_rekey(void **state)
{
	struct node a, b;
	uint8_t tx1[SN_MAKE_KEY_LEN], tx2[SN_MAKE_KEY_LEN];
	const struct sn_appraisal *ap;

	node_init(&a, "node-a", 1, 2, good_meas);
	node_init(&b, "node-b", 2, SN_MAKE_ANY_PEER, good_meas);
	pair(&a, &b);
	run(&a, &b);
	assert_int_equal(a.n_fail, 0);
	assert_int_equal(b.n_fail, 0);
	assert_int_equal(a.n_keys, 1);
	assert_int_equal(b.n_keys, 1);
	assert_int_equal(a.ready_epoch, 1);
	assert_int_equal(b.ready_epoch, 1);
	assert_cross(&a, &b);
	assert_int_equal(sn_make_session_state(a.s), SN_MAKE_ST_ESTABLISHED);
	assert_int_equal(sn_make_session_state(b.s), SN_MAKE_ST_ESTABLISHED);
	assert_int_equal(sn_make_session_peer_id(a.s), 2);
	assert_int_equal(sn_make_session_peer_id(b.s), 1);
	assert_string_equal(sn_make_session_peer_name(b.s), "node-a");
	assert_int_equal(sn_make_session_epoch(a.s), 1);
	{ /* both ends name the session alike */
		uint8_t ida[8], idb[8];

		assert_int_equal(sn_make_session_id(a.s, ida), 0);
		assert_int_equal(sn_make_session_id(b.s, idb), 0);
		assert_memory_equal(ida, idb, sizeof(ida));
	}
	ap = sn_make_session_peer_appraisal(b.s);
	assert_non_null(ap);
	assert_true(ap->accepted);
	assert_int_equal(ap->claims.tee, SN_TEE_SIM);
	memcpy(tx1, a.tx, sizeof(tx1));

	/* rekey from the client */
	assert_int_equal(sn_make_session_rekey(a.s), 0);
	assert_int_equal(sn_make_session_rekey(a.s), -EAGAIN); /* pending */
	a.want_epoch = b.want_epoch = 2;
	run(&a, &b);
	assert_int_equal(a.n_fail + b.n_fail, 0);
	assert_int_equal(a.n_rekey, 1);
	assert_int_equal(b.n_rekey, 1);
	assert_int_equal(a.ready_epoch, 2);
	assert_int_equal(b.ready_epoch, 2);
	assert_cross(&a, &b);
	assert_memory_not_equal(a.tx, tx1, SN_MAKE_KEY_LEN);
	memcpy(tx2, a.tx, sizeof(tx2));

	/* rekey from the server */
	assert_int_equal(sn_make_session_rekey(b.s), 0);
	a.want_epoch = b.want_epoch = 3;
	run(&a, &b);
	assert_int_equal(a.n_fail + b.n_fail, 0);
	assert_int_equal(sn_make_session_epoch(a.s), 3);
	assert_cross(&a, &b);
	assert_memory_not_equal(a.tx, tx2, SN_MAKE_KEY_LEN);
	assert_memory_not_equal(a.tx, tx1, SN_MAKE_KEY_LEN);

	/* both at once */
	assert_int_equal(sn_make_session_rekey(a.s), 0);
	assert_int_equal(sn_make_session_rekey(b.s), 0);
	a.want_epoch = b.want_epoch = 4;
	run(&a, &b);
	assert_int_equal(a.n_fail + b.n_fail, 0);
	assert_int_equal(a.ready_epoch, 4);
	assert_int_equal(b.ready_epoch, 4);
	assert_cross(&a, &b);
	settle();
	/* the pending KEYS_READY of the simultaneous rekey was accepted */
	assert_int_equal(a.n_fail + b.n_fail, 0);
	assert_int_equal(sn_make_session_state(a.s), SN_MAKE_ST_ESTABLISHED);
	assert_int_equal(sn_make_session_state(b.s), SN_MAKE_ST_ESTABLISHED);
	/* and another one still works afterwards */
	assert_int_equal(sn_make_session_rekey(b.s), 0);
	a.want_epoch = b.want_epoch = 5;
	run(&a, &b);
	assert_int_equal(a.n_fail + b.n_fail, 0);
	assert_cross(&a, &b);
	node_free(&a);
	node_free(&b);
	settle();
}

static void test_measurement_rejected(void **state)
{
	struct node a, b;
	const struct sn_appraisal *ap;

	node_init(&a, "node-a", 1, 2, bad_meas);
	node_init(&b, "node-b", 2, 1, good_meas);
	pair(&a, &b);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_int_equal(a.n_ready + b.n_ready, 0);
	assert_int_equal(a.n_fail, 1);
	assert_int_equal(b.n_fail, 1);
	/* B rejected A's evidence, A learnt why */
	assert_int_equal(b.fail_err, -EACCES);
	assert_true(contains(b.reason, "measurement-not-allowed"));
	assert_true(contains(a.reason, "peer rejected our evidence"));
	assert_true(contains(a.reason, "measurement-not-allowed"));
	ap = sn_make_session_peer_appraisal(b.s);
	assert_non_null(ap);
	assert_false(ap->accepted);
	assert_true(ap->authentic);
	assert_true(sn_appraisal_has(ap, SN_R_MEASUREMENT_NOT_ALLOWED));
	assert_false(sn_appraisal_has(ap, SN_R_REPORT_DATA));
	assert_int_equal(sn_make_session_state(b.s), SN_MAKE_ST_FAILED);
	assert_int_equal(sn_make_session_epoch(a.s), 0);
	node_free(&a);
	node_free(&b);
	settle();
}

/* --- relay: terminates TLS with each side, forwards every byte ------------ */

struct relay {
	struct bufferevent *to_a, *to_b;
};

static void relay_close(struct relay *r)
{
	if (r->to_a)
		bufferevent_free(r->to_a);
	if (r->to_b)
		bufferevent_free(r->to_b);
	r->to_a = r->to_b = NULL;
}

static void relay_read(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *other = bev == r->to_a ? r->to_b : r->to_a;

	if (other)
		bufferevent_write_buffer(other, bufferevent_get_input(bev));
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		relay_close(arg);
}

static struct bufferevent *tls_bev(int fd, bool is_client, void *arg)
{
	struct bufferevent *bev;
	SSL *ssl = SSL_new(tls_ctx);

	assert_non_null(ssl);
	evutil_make_socket_nonblocking(fd);
	bev = bufferevent_openssl_socket_new(
		base, fd, ssl,
		is_client ? BUFFEREVENT_SSL_CONNECTING
			  : BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	assert_non_null(bev);
	return bev;
}

static void test_relay_rejected(void **state)
{
	struct node a, b;
	struct relay r;
	int sa[2], sb[2];
	const struct sn_appraisal *ap;

	node_init(&a, "node-a", 1, 2, good_meas);
	node_init(&b, "node-b", 2, 1, good_meas);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	/* A (client) <-> relay (TLS server) ... relay (TLS client) <-> B */
	r.to_a = tls_bev(sa[1], false, &r);
	r.to_b = tls_bev(sb[0], true, &r);
	bufferevent_setcb(r.to_a, relay_read, NULL, relay_event, &r);
	bufferevent_setcb(r.to_b, relay_read, NULL, relay_event, &r);
	bufferevent_enable(r.to_a, EV_READ | EV_WRITE);
	bufferevent_enable(r.to_b, EV_READ | EV_WRITE);
	node_start(&a, sa[0], true, 0);
	node_start(&b, sb[1], false, 0);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_int_equal(a.n_fail, 1);
	assert_int_equal(b.n_fail, 1);
	/* each side saw the other's genuine evidence: authentic, right
	 * measurement, but bound to the other TLS leg */
	ap = sn_make_session_peer_appraisal(b.s);
	assert_non_null(ap);
	assert_true(ap->authentic);
	assert_false(ap->accepted);
	assert_true(sn_appraisal_has(ap, SN_R_REPORT_DATA));
	assert_false(sn_appraisal_has(ap, SN_R_MEASUREMENT_NOT_ALLOWED));
	assert_true(contains(b.reason, "report-data"));
	assert_true(contains(a.reason, "report-data"));
	relay_close(&r);
	node_free(&a);
	node_free(&b);
	settle();
}

static void test_replayed_evidence(void **state)
{
	struct node a, b;

	/* a first, honest session; A's evidence is recorded */
	node_init(&a, "node-a", 1, 2, good_meas);
	node_init(&b, "node-b", 2, 1, good_meas);
	pair(&a, &b);
	run(&a, &b);
	assert_int_equal(a.ready_epoch, 1);
	assert_int_equal(b.ready_epoch, 1);
	assert_non_null(a.last_ev);
	sn_make_session_free(a.s);
	sn_make_session_free(b.s);
	a.s = b.s = NULL;
	settle();

	/* a second session in which A's side sends the old evidence */
	a.replay_ev = a.last_ev;
	a.replay_len = a.last_len;
	a.last_ev = NULL;
	a.n_keys = b.n_keys = a.n_ready = b.n_ready = 0;
	a.ready_epoch = b.ready_epoch = 0;
	pair(&a, &b);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_int_equal(b.n_fail, 1);
	assert_int_equal(a.n_fail, 1);
	assert_true(contains(b.reason, "report-data"));
	assert_true(sn_appraisal_has(sn_make_session_peer_appraisal(b.s),
				     SN_R_REPORT_DATA));
	assert_true(sn_make_session_peer_appraisal(b.s)->authentic);
	node_free(&a);
	node_free(&b);
	settle();
}

static void test_wrong_peer_id(void **state)
{
	struct node a, b;

	node_init(&a, "node-a", 1, 2, good_meas);
	node_init(&b, "node-b", 2, 7, good_meas); /* expects node 7 */
	pair(&a, &b);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_int_equal(a.n_fail, 1);
	assert_int_equal(b.n_fail, 1);
	assert_true(contains(b.reason, "expected 7"));
	assert_true(contains(a.reason, "peer error 3"));
	node_free(&a);
	node_free(&b);
	settle();
}

/* --- malformed input from a TLS peer that is no MAKE implementation ---- */

static const uint8_t *raw_bytes;
static size_t raw_len;

static void raw_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_CONNECTED)
		bufferevent_write(bev, raw_bytes, raw_len);
}

static void raw_read(struct bufferevent *bev, void *arg)
{
	evbuffer_drain(bufferevent_get_input(bev),
		       evbuffer_get_length(bufferevent_get_input(bev)));
}

static void garbage(const uint8_t *bytes, size_t len, const char *want)
{
	struct bufferevent *raw;
	struct node b;
	int sv[2];

	node_init(&b, "node-b", 2, SN_MAKE_ANY_PEER, good_meas);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	raw_bytes = bytes;
	raw_len = len;
	raw = tls_bev(sv[0], true, NULL);
	bufferevent_setcb(raw, raw_read, NULL, raw_event, NULL);
	bufferevent_enable(raw, EV_READ | EV_WRITE);
	node_start(&b, sv[1], false, 2000);
	run(NULL, &b);
	assert_int_equal(b.n_fail, 1);
	assert_int_equal(b.n_keys, 0);
	if (!contains(b.reason, want))
		fail_msg("reason '%s' lacks '%s'", b.reason, want);
	bufferevent_free(raw);
	node_free(&b);
	settle();
}

static void test_malformed_frames(void **state)
{
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 1};
	static const uint8_t zero[] = {0, 0, 0, 0, 1};
	static const uint8_t unknown[] = {0, 0, 0, 3, 0x42, 0, 1};
	static const uint8_t early_rekey[] = {0, 0, 0, 3, SN_MAKE_REKEY, 0, 2};
	static const uint8_t trailing[] = {0, 0, 0, 4, SN_MAKE_KEYS_READY,
					   0, 1, 0};
	/* a valid HELLO from a "client" with the wrong version */
	uint8_t hello[64];
	size_t hl = 0;

	garbage(huge, sizeof(huge), "bad frame length");
	garbage(zero, sizeof(zero), "bad frame length");
	garbage(unknown, sizeof(unknown), "malformed message");
	garbage(trailing, sizeof(trailing), "malformed message");
	garbage(early_rekey, sizeof(early_rekey), "unexpected REKEY");

	{
		struct sn_make_msg *m = calloc(1, sizeof(*m));
		uint8_t *b;

		assert_non_null(m);
		m->type = SN_MAKE_HELLO;
		m->hello.version = 2;
		m->hello.role = SN_MAKE_CLIENT;
		m->hello.node_id = 5;
		strcpy(m->hello.name, "x");
		assert_int_equal(sn_make_msg_encode(m, &b, &hl), 0);
		assert_true(hl <= sizeof(hello));
		memcpy(hello, b, hl);
		free(b);
		garbage(hello, hl, "unsupported MAKE version 2");
		/* the server's own role */
		m->hello.version = 1;
		m->hello.role = SN_MAKE_SERVER;
		assert_int_equal(sn_make_msg_encode(m, &b, &hl), 0);
		memcpy(hello, b, hl);
		free(b);
		garbage(hello, hl, "own role");
		/* VERDICT before HELLO */
		memset(m, 0, sizeof(*m));
		m->type = SN_MAKE_VERDICT;
		m->verdict.accept = true;
		assert_int_equal(sn_make_msg_encode(m, &b, &hl), 0);
		memcpy(hello, b, hl);
		free(b);
		garbage(hello, hl, "unexpected VERDICT");
		free(m);
	}
}

static void test_timeout(void **state)
{
	struct node b;
	int sv[2];

	/* nobody speaks on the other end */
	node_init(&b, "node-b", 2, SN_MAKE_ANY_PEER, good_meas);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	node_start(&b, sv[1], false, 200);
	run(NULL, &b);
	assert_int_equal(b.n_fail, 1);
	assert_int_equal(b.fail_err, -ETIMEDOUT);
	assert_true(contains(b.reason, "timed out"));
	close(sv[0]);
	node_free(&b);
	settle();
}

/* --- setup ------------------------------------------------------------------ */

static int setup(void **state)
{
	char tmpl[] = "/tmp/sealnet-make-XXXXXX";
	uint8_t h[SN_SHA256_LEN];
	char hex[65], mhex[2 * SN_MEASUREMENT_LEN + 1], json[1024];

	/* as in sealnetd: a peer closing must not kill the process */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("SEALNET_TEST_VERBOSE")) {
		sn_log_set(sn_log_stderr, NULL);
		sn_log_set_level(SN_LOG_DEBUG);
	} else {
		sn_log_set(NULL, NULL);
	}
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	snprintf(platform, sizeof(platform), "%s/plat", tmpl);
	if (sn_sim_platform_init(platform) || sn_sim_ark_spki(platform, h))
		return -1;
	memset(good_meas, 0x11, sizeof(good_meas));
	memset(bad_meas, 0x66, sizeof(bad_meas));
	sn_hex_encode(h, sizeof(h), hex);
	sn_hex_encode(good_meas, sizeof(good_meas), mhex);
	snprintf(json, sizeof(json),
		 "{\"backends\": [\"sim\"], \"sim_ark_spki_sha256\": "
		 "[\"%s\"], \"measurements\": [\"%s\"]}",
		 hex, mhex);
	if (sn_policy_appraisal_parse(json, strlen(json), &policy))
		return -1;
	if (sn_make_tls_ctx_new(&tls_ctx))
		return -1;
	base = event_base_new();
	return base ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	event_base_free(base);
	SSL_CTX_free(tls_ctx);
	sn_policy_appraisal_free(policy);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_ok_and_rekey),
		cmocka_unit_test(test_measurement_rejected),
		cmocka_unit_test(test_relay_rejected),
		cmocka_unit_test(test_replayed_evidence),
		cmocka_unit_test(test_wrong_peer_id),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
