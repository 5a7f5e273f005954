// SPDX-License-Identifier: Apache-2.0
/*
 * The workflow binding of a cross-domain MAKE (docs/protocol.md §3.2):
 * W = SHA-384 over the manifest digest and the client's and server's
 * domain ids; HELLO version 3 carries Exporter(confirm label, W); the
 * keys of every epoch are exported with W in their context.  Attacks: a
 * peer that claims another domain, or runs another manifest digest, or
 * binds nothing, fails on both sides with workflow-mismatch and derives
 * no keys; the same W on both sides gives crosswise keys that differ
 * from an unbound session's derivation.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sealnet/log.h"
#include "sealnet/make.h"

#include "pair.h"

static uint8_t digest_a[48], digest_b[48];

static void wbind(const uint8_t *d, const char *c, const char *s, uint8_t *w)
{
	assert_int_equal(sn_make_workflow_binding(d, c, s, w), 0);
}

static void nodes(struct pair_node *a, struct pair_node *b)
{
	assert_int_equal(pair_node_init(a, "node-a", 1, 2, pair_env.meas), 0);
	assert_int_equal(pair_node_init(b, "node-b", 2, 1, pair_env.meas), 0);
}

static void end(struct pair_node *a, struct pair_node *b)
{
	pair_node_free(a);
	pair_node_free(b);
	pair_settle();
}

static void test_same_binding(void **state)
{
	struct pair_node a, b;
	uint8_t w[SN_MAKE_BIND_LEN];

	wbind(digest_a, "hospital", "lab", w);
	nodes(&a, &b);
	a.bind = b.bind = w;
	assert_int_equal(pair_start(&a, &b), 0);
	assert_int_equal(pair_run(&a, &b, 30), 0);
	assert_int_equal(a.n_fail + b.n_fail, 0);
	assert_int_equal(a.n_keys, 1);
	assert_memory_equal(a.tx, b.rx, SN_MAKE_KEY_LEN);
	assert_memory_equal(a.rx, b.tx, SN_MAKE_KEY_LEN);
	/* a rekey stays bound and crosswise */
	a.want_epoch = b.want_epoch = 2;
	assert_int_equal(sn_make_session_rekey(a.s), 0);
	assert_int_equal(pair_run(&a, &b, 30), 0);
	assert_int_equal(a.n_fail + b.n_fail, 0);
	assert_memory_equal(a.tx, b.rx, SN_MAKE_KEY_LEN);
	end(&a, &b);
}

/* both sides fail at HELLO, with workflow-mismatch, and derive nothing */
static void mismatch(const uint8_t *wa, const uint8_t *wb)
{
	struct pair_node a, b;

	nodes(&a, &b);
	a.bind = wa;
	b.bind = wb;
	assert_int_equal(pair_start(&a, &b), 0);
	assert_int_equal(pair_run(&a, &b, 30), 0);
	assert_int_equal(a.n_fail, 1);
	assert_int_equal(b.n_fail, 1);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_non_null(strstr(a.reason, "workflow-mismatch"));
	assert_non_null(strstr(b.reason, "workflow-mismatch"));
	end(&a, &b);
}

static void test_peer_claims_other_domain(void **state)
{
	uint8_t wa[SN_MAKE_BIND_LEN], wb[SN_MAKE_BIND_LEN];

	/* b believes (or claims) it is of domain "clinic", a that it is
	 * "lab": another W */
	wbind(digest_a, "hospital", "lab", wa);
	wbind(digest_a, "hospital", "clinic", wb);
	mismatch(wa, wb);
	/* the client's domain too */
	wbind(digest_a, "clinic", "lab", wb);
	mismatch(wa, wb);
	/* swapped roles are another binding */
	wbind(digest_a, "lab", "hospital", wb);
	mismatch(wa, wb);
}

static void test_other_manifest(void **state)
{
	uint8_t wa[SN_MAKE_BIND_LEN], wb[SN_MAKE_BIND_LEN];

	wbind(digest_a, "hospital", "lab", wa);
	wbind(digest_b, "hospital", "lab", wb);
	mismatch(wa, wb);
}

static void test_one_side_unbound(void **state)
{
	uint8_t w[SN_MAKE_BIND_LEN];

	wbind(digest_a, "hospital", "lab", w);
	mismatch(w, NULL);
	mismatch(NULL, w);
}

/* the binding is injective in its fields: length prefixes keep
 * ("ab","c") and ("a","bc") apart; bad ids are refused */
static void test_binding_function(void **state)
{
	uint8_t w1[SN_MAKE_BIND_LEN], w2[SN_MAKE_BIND_LEN];
	char long_id[80];

	wbind(digest_a, "ab", "c", w1);
	wbind(digest_a, "a", "bc", w2);
	assert_memory_not_equal(w1, w2, sizeof(w1));
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(sn_make_workflow_binding(digest_a, "", "b", w1),
			 -EINVAL);
	assert_int_equal(sn_make_workflow_binding(digest_a, "a", long_id, w1),
			 -EINVAL);
}

static void test_codec_v3(void **state)
{
	struct sn_make_msg m = {.type = SN_MAKE_HELLO}, d;
	uint8_t *buf = NULL;
	size_t len = 0;

	m.hello.version = SN_MAKE_VERSION_WORKFLOW;
	m.hello.role = SN_MAKE_CLIENT;
	m.hello.node_id = 7;
	snprintf(m.hello.name, sizeof(m.hello.name), "h7");
	memset(m.hello.nonce, 0x42, sizeof(m.hello.nonce));
	m.hello.accept = SN_MAKE_ACCEPT_TOKEN;
	memset(m.hello.confirm, 0x5a, sizeof(m.hello.confirm));
	assert_int_equal(sn_make_msg_encode(&m, &buf, &len), 0);
	assert_int_equal(len, 4 + 1 + 2 + 1 + 4 + 1 + 2 + 32 + 1 + 32);
	assert_int_equal(sn_make_msg_decode(buf, len, &d), 0);
	assert_int_equal(d.hello.version, SN_MAKE_VERSION_WORKFLOW);
	assert_int_equal(d.hello.accept, SN_MAKE_ACCEPT_TOKEN);
	assert_memory_equal(d.hello.confirm, m.hello.confirm, 32);
	/* one byte short of the confirmation: malformed */
	buf[3]--;
	assert_int_equal(sn_make_msg_decode(buf, len - 1, &d), -EBADMSG);
	free(buf);
}

static int setup(void **state)
{
	memset(digest_a, 0xa1, sizeof(digest_a));
	memset(digest_b, 0xa1, sizeof(digest_b));
	digest_b[47] ^= 1; /* one bit */
	return pair_test_setup("sealnet-make-bind") ? -1 : 0;
}

static int teardown(void **state)
{
	return pair_env_free() ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_binding),
		cmocka_unit_test(test_peer_claims_other_domain),
		cmocka_unit_test(test_other_manifest),
		cmocka_unit_test(test_one_side_unbound),
		cmocka_unit_test(test_binding_function),
		cmocka_unit_test(test_codec_v3),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
