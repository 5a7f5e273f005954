// SPDX-License-Identifier: Apache-2.0
/*
 * Full MAKE sessions inside one process: two sn_make_sessions over a
 * socketpair on one event_base, sim TEE backend (a platform in a temp
 * dir, a policy naming its ARK and one allowed measurement: pair.h, the
 * fixture bench/make_latency.c shares).  Covers:
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

#include "pair.h"

static const uint8_t *const good_meas = pair_env.meas;
static uint8_t bad_meas[SN_MEASUREMENT_LEN];

/* pair.h, asserting */

static void node_init(struct pair_node *n, const char *name, uint32_t id,
		      uint32_t peer, const uint8_t *meas)
{
	assert_int_equal(pair_node_init(n, name, id, peer, meas), 0);
}

static void node_start(struct pair_node *n, int fd, bool is_client,
		       unsigned int timeout_ms)
{
	assert_int_equal(pair_node_start(n, fd, is_client, timeout_ms), 0);
}

static void pair(struct pair_node *a, struct pair_node *b)
{
	assert_int_equal(pair_start(a, b), 0);
}

/* run the loop until both nodes are done (or 30 s passed: test fails) */
static void run(struct pair_node *a, struct pair_node *b)
{
	assert_int_equal(pair_run(a, b, 30), 0);
	assert_int_equal(a ? a->bad : 0, 0);
	assert_int_equal(b ? b->bad : 0, 0);
}

static struct bufferevent *tls_bev(int fd, bool is_client)
{
	struct bufferevent *bev = pair_tls_bev(fd, is_client);

	assert_non_null(bev);
	return bev;
}

/* both ends freed, their connections closed */
static void end_pair(struct pair_node *a, struct pair_node *b)
{
	pair_node_free(a);
	pair_node_free(b);
	pair_settle();
}

/* neither side derived a key; each failed once */
static void assert_both_failed(const struct pair_node *a,
			       const struct pair_node *b)
{
	assert_int_equal(a->n_keys + b->n_keys, 0);
	assert_int_equal(a->n_fail, 1);
	assert_int_equal(b->n_fail, 1);
}

/* authentic evidence, rejected for reason and not for other */
static void assert_rejected_for(const struct sn_appraisal *ap,
				enum sn_reason reason, enum sn_reason other)
{
	assert_non_null(ap);
	assert_true(ap->authentic);
	assert_false(ap->accepted);
	assert_true(sn_appraisal_has(ap, reason));
	assert_false(sn_appraisal_has(ap, other));
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* --- tests ------------------------------------------------------------------
 */

static void assert_cross(const struct pair_node *a, const struct pair_node *b)
{
	assert_memory_equal(a->tx, b->rx, SN_MAKE_KEY_LEN);
	assert_memory_equal(a->rx, b->tx, SN_MAKE_KEY_LEN);
	assert_memory_not_equal(a->tx, a->rx, SN_MAKE_KEY_LEN);
}

static void test_make_ok_and_rekey(void **state)
{
	struct pair_node a, b;
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
	pair_settle();
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
	end_pair(&a, &b);
}

static void test_measurement_rejected(void **state)
{
	struct pair_node a, b;
	const struct sn_appraisal *ap;

	node_init(&a, "node-a", 1, 2, bad_meas);
	node_init(&b, "node-b", 2, 1, good_meas);
	pair(&a, &b);
	run(&a, &b);
	assert_both_failed(&a, &b);
	assert_int_equal(a.n_ready + b.n_ready, 0);
	/* B rejected A's evidence, A learnt why */
	assert_int_equal(b.fail_err, -EACCES);
	assert_true(contains(b.reason, "measurement-not-allowed"));
	assert_true(contains(a.reason, "peer rejected our evidence"));
	assert_true(contains(a.reason, "measurement-not-allowed"));
	ap = sn_make_session_peer_appraisal(b.s);
	assert_rejected_for(ap, SN_R_MEASUREMENT_NOT_ALLOWED, SN_R_REPORT_DATA);
	assert_int_equal(sn_make_session_state(b.s), SN_MAKE_ST_FAILED);
	assert_int_equal(sn_make_session_epoch(a.s), 0);
	end_pair(&a, &b);
}

/* Workflow binding: each side's log names its manifest and node; each
 * requires the peer's to name the same manifest and the expected node. */
static void wf_node(struct pair_node *n, const char *name, uint32_t id,
		    uint32_t peer, uint8_t manifest, const char *peer_name,
		    struct sn_mlog_require req[2])
{
	char desc[64];
	uint8_t d[SN_SHA384_LEN];

	node_init(n, name, id, peer, good_meas);
	memset(d, manifest, sizeof(d));
	assert_int_equal(sn_mlog_extend(&n->mlog, SN_MLOG_WORKFLOW,
					"workflow demo v1", d),
			 0);
	snprintf(desc, sizeof(desc), "node %s", name);
	memset(d, 0x40 + (int)id, sizeof(d));
	assert_int_equal(sn_mlog_extend(&n->mlog, SN_MLOG_NODE_POLICY, desc, d),
			 0);
	req[0] = (struct sn_mlog_require){.type = SN_MLOG_WORKFLOW,
					  .what = "workflow manifest"};
	memset(req[0].digest, manifest, SN_SHA384_LEN);
	req[1] = (struct sn_mlog_require){.type = SN_MLOG_NODE_POLICY,
					  .desc = peer_name,
					  .what = "node policy"};
	memset(req[1].digest, 0x40 + (int)peer, SN_SHA384_LEN);
	n->require = req;
	n->n_require = 2;
}

static void test_workflow_binding(void **state)
{
	struct sn_mlog_require ra[2], rb[2];
	struct pair_node a, b;

	/* same manifest, the expected nodes: keys */
	wf_node(&a, "node-a", 1, 2, 0x11, "node node-b", ra);
	wf_node(&b, "node-b", 2, 1, 0x11, "node node-a", rb);
	pair(&a, &b);
	run(&a, &b);
	assert_int_equal(a.n_keys, 1);
	assert_int_equal(b.n_keys, 1);
	assert_cross(&a, &b);
	end_pair(&a, &b);

	/* another manifest on b: both refuse, both say why */
	wf_node(&a, "node-a", 1, 2, 0x11, "node node-b", ra);
	wf_node(&b, "node-b", 2, 1, 0x22, "node node-a", rb);
	pair(&a, &b);
	run(&a, &b);
	assert_both_failed(&a, &b);
	assert_true(contains(a.reason, "workflow-mismatch"));
	assert_true(contains(b.reason, "workflow-mismatch"));
	assert_rejected_for(sn_make_session_peer_appraisal(a.s), SN_R_WORKFLOW,
			    SN_R_REPORT_DATA);
	end_pair(&a, &b);

	/* a expects node-c at b's address: a refuses */
	wf_node(&a, "node-a", 1, 2, 0x11, "node node-c", ra);
	wf_node(&b, "node-b", 2, 1, 0x11, "node node-a", rb);
	pair(&a, &b);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_true(contains(a.reason, "workflow-mismatch"));
	assert_true(contains(a.reason, "expected \"node node-c\""));
	end_pair(&a, &b);
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

static void test_relay_rejected(void **state)
{
	struct pair_node a, b;
	struct relay r;
	int sa[2], sb[2];
	const struct sn_appraisal *ap;

	node_init(&a, "node-a", 1, 2, good_meas);
	node_init(&b, "node-b", 2, 1, good_meas);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	/* A (client) <-> relay (TLS server) ... relay (TLS client) <-> B */
	r.to_a = tls_bev(sa[1], false);
	r.to_b = tls_bev(sb[0], true);
	bufferevent_setcb(r.to_a, relay_read, NULL, relay_event, &r);
	bufferevent_setcb(r.to_b, relay_read, NULL, relay_event, &r);
	bufferevent_enable(r.to_a, EV_READ | EV_WRITE);
	bufferevent_enable(r.to_b, EV_READ | EV_WRITE);
	node_start(&a, sa[0], true, 0);
	node_start(&b, sb[1], false, 0);
	run(&a, &b);
	assert_both_failed(&a, &b);
	/* each side saw the other's genuine evidence: authentic, right
	 * measurement, but bound to the other TLS leg */
	ap = sn_make_session_peer_appraisal(b.s);
	assert_rejected_for(ap, SN_R_REPORT_DATA, SN_R_MEASUREMENT_NOT_ALLOWED);
	assert_true(contains(b.reason, "report-data"));
	assert_true(contains(a.reason, "report-data"));
	relay_close(&r);
	end_pair(&a, &b);
}

static void test_replayed_evidence(void **state)
{
	struct pair_node a, b;

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
	pair_settle();

	/* a second session in which A's side sends the old evidence */
	a.replay_ev = a.last_ev;
	a.replay_len = a.last_len;
	a.last_ev = NULL;
	a.n_keys = b.n_keys = a.n_ready = b.n_ready = 0;
	a.ready_epoch = b.ready_epoch = 0;
	pair(&a, &b);
	run(&a, &b);
	assert_both_failed(&a, &b);
	assert_true(contains(b.reason, "report-data"));
	assert_true(sn_appraisal_has(sn_make_session_peer_appraisal(b.s),
				     SN_R_REPORT_DATA));
	assert_true(sn_make_session_peer_appraisal(b.s)->authentic);
	end_pair(&a, &b);
}

static void test_wrong_peer_id(void **state)
{
	struct pair_node a, b;

	node_init(&a, "node-a", 1, 2, good_meas);
	node_init(&b, "node-b", 2, 7, good_meas); /* expects node 7 */
	pair(&a, &b);
	run(&a, &b);
	assert_both_failed(&a, &b);
	assert_true(contains(b.reason, "expected 7"));
	assert_true(contains(a.reason, "peer error 3"));
	end_pair(&a, &b);
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
	struct pair_node b;
	int sv[2];

	node_init(&b, "node-b", 2, SN_MAKE_ANY_PEER, good_meas);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	raw_bytes = bytes;
	raw_len = len;
	raw = tls_bev(sv[0], true);
	bufferevent_setcb(raw, raw_read, NULL, raw_event, NULL);
	bufferevent_enable(raw, EV_READ | EV_WRITE);
	node_start(&b, sv[1], false, 2000);
	run(NULL, &b);
	assert_int_equal(b.n_fail, 1);
	assert_int_equal(b.n_keys, 0);
	if (!contains(b.reason, want))
		fail_msg("reason '%s' lacks '%s'", b.reason, want);
	bufferevent_free(raw);
	pair_node_free(&b);
	pair_settle();
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
		m->hello.version = 4; /* 2: HELLO with tokens, 3: bound */
		m->hello.role = SN_MAKE_CLIENT;
		m->hello.node_id = 5;
		strcpy(m->hello.name, "x");
		assert_int_equal(sn_make_msg_encode(m, &b, &hl), 0);
		assert_true(hl <= sizeof(hello));
		memcpy(hello, b, hl);
		free(b);
		garbage(hello, hl, "unsupported MAKE version 4");
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
	struct pair_node b;
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
	pair_node_free(&b);
	pair_settle();
}

/* --- setup ------------------------------------------------------------------
 */

static int setup(void **state)
{
	memset(bad_meas, 0x66, sizeof(bad_meas));
	return pair_test_setup("sealnet-make") ? -1 : 0;
}

static int teardown(void **state)
{
	return pair_env_free() ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_ok_and_rekey),
		cmocka_unit_test(test_measurement_rejected),
		cmocka_unit_test(test_workflow_binding),
		cmocka_unit_test(test_relay_rejected),
		cmocka_unit_test(test_replayed_evidence),
		cmocka_unit_test(test_wrong_peer_id),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
