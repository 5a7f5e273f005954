// SPDX-License-Identifier: Apache-2.0
/*
 * MAKE with KBS tokens (docs/protocol.md §3.1): HELLO version 2's accept
 * byte, TOKEN, the peer's token checked against the KBS's published keys,
 * its cnf against this session's peer certificate and its sub against
 * the peer's HELLO name.  Attacks: a token bound to another TLS key, one
 * signed by another key, an expired one, another node's, a token where
 * only evidence is accepted, evidence where only a token is; negotiation
 * with a node that has no token (version 1); token AND evidence with
 * measurements that differ.
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
#include <time.h>
#include <cmocka.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/make.h"

#include "pair.h"

static struct sn_kbs_signer *kbs_key, *rogue_key;
static SSL_CTX *ctx_a, *ctx_b;
static uint8_t spki_a[SN_SHA256_LEN], spki_b[SN_SHA256_LEN];

static void run(struct pair_node *a, struct pair_node *b)
{
	assert_int_equal(pair_run(a, b, 30), 0);
	assert_int_equal(a->bad + b->bad, 0);
}

/* a (client, "node-a") and b (server, "node-b"), own TLS keys */
static void nodes(struct pair_node *a, struct pair_node *b,
		  enum sn_make_accept acc_a, enum sn_make_accept acc_b)
{
	assert_int_equal(pair_node_init(a, "node-a", 1, 2, pair_env.meas), 0);
	assert_int_equal(pair_node_init(b, "node-b", 2, 1, pair_env.meas), 0);
	a->ctx = ctx_a;
	b->ctx = ctx_b;
	a->accept = acc_a;
	b->accept = acc_b;
}

static char *token(struct sn_kbs_signer *k, const char *sub,
		   const uint8_t *spki, int64_t iat, int64_t life)
{
	char *t = NULL;

	assert_int_equal(
		pair_token_make(k, sub, spki, pair_env.meas, iat, life, &t), 0);
	return t;
}

static void end(struct pair_node *a, struct pair_node *b, char *ta, char *tb)
{
	pair_node_free(a);
	pair_node_free(b);
	pair_settle();
	free(ta);
	free(tb);
}

static void assert_keys(const struct pair_node *a, const struct pair_node *b)
{
	assert_int_equal(a->n_fail + b->n_fail, 0);
	assert_int_equal(a->n_keys, 1);
	assert_int_equal(b->n_keys, 1);
	assert_memory_equal(a->tx, b->rx, SN_MAKE_KEY_LEN);
	assert_memory_equal(a->rx, b->tx, SN_MAKE_KEY_LEN);
}

static void test_token_both_ways(void **state)
{
	struct pair_node a, b;
	char *ta = token(kbs_key, "node-a", spki_a, time(NULL), 300);
	char *tb = token(kbs_key, "node-b", spki_b, time(NULL), 300);
	const struct sn_appraisal *ap;

	nodes(&a, &b, SN_MAKE_ACCEPT_TOKEN, SN_MAKE_ACCEPT_TOKEN);
	a.token = ta;
	b.token = tb;
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_keys(&a, &b);
	/* no evidence was produced: the tokens stood in for it */
	assert_null(a.last_ev);
	assert_null(b.last_ev);
	ap = sn_make_session_peer_appraisal(b.s);
	assert_non_null(ap);
	assert_true(ap->accepted);
	assert_memory_equal(ap->claims.measurement, pair_env.meas,
			    SN_MEASUREMENT_LEN);
	/* the token check is told its session's mode (sealnetd decides on a
	 * token without manifest claim by it, not by its configuration of
	 * the moment) */
	assert_int_equal(a.seen_accept, SN_MAKE_ACCEPT_TOKEN);
	assert_int_equal(b.seen_accept, SN_MAKE_ACCEPT_TOKEN);
	end(&a, &b, ta, tb);
}

/* b checks a's token; the case's token for a is given */
static void refused(char *ta, const char *want)
{
	struct pair_node a, b;
	char *tb = token(kbs_key, "node-b", spki_b, time(NULL), 300);

	nodes(&a, &b, SN_MAKE_ACCEPT_TOKEN, SN_MAKE_ACCEPT_TOKEN);
	a.token = ta;
	b.token = tb;
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_int_equal(b.n_fail, 1);
	if (!strstr(b.reason, want) || !strstr(b.reason, "token-refused"))
		fail_msg("b's reason \"%s\" lacks \"%s\"", b.reason, want);
	/* a hears why */
	assert_int_equal(a.n_fail, 1);
	assert_non_null(strstr(a.reason, want));
	end(&a, &b, ta, tb);
}

static void test_token_other_tls_key(void **state)
{
	/* a well-signed token for node-a, bound to b's key: a stolen token
	 * is useless without its TLS key */
	refused(token(kbs_key, "node-a", spki_b, time(NULL), 300),
		"another TLS key");
}

static void test_token_forged(void **state)
{
	refused(token(rogue_key, "node-a", spki_a, time(NULL), 300), "kid");
}

static void test_token_expired(void **state)
{
	refused(token(kbs_key, "node-a", spki_a, time(NULL) - 400, 300),
		"expired");
}

static void test_token_other_node(void **state)
{
	refused(token(kbs_key, "node-c", spki_a, time(NULL), 300),
		"issued to node \"node-c\"");
}

static void test_token_tampered(void **state)
{
	char *t = token(kbs_key, "node-a", spki_a, time(NULL), 300);
	char *dot = strrchr(t, '.');

	/* flip a character inside the signature: it no longer holds */
	dot[10] = dot[10] == 'A' ? 'B' : 'A';
	refused(t, "signature");
}

/* a node with no token and no token acceptance speaks version 1; a peer
 * accepting either proves itself with evidence to it, and takes its
 * evidence */
static void test_negotiation_v1_peer(void **state)
{
	struct pair_node a, b;
	char *tb = token(kbs_key, "node-b", spki_b, time(NULL), 300);

	nodes(&a, &b, 0, SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE);
	b.token = tb;
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_keys(&a, &b);
	assert_non_null(a.last_ev);
	assert_non_null(b.last_ev); /* b had a token but a wants evidence */
	end(&a, &b, NULL, tb);
}

/* token or evidence, a holding a token: the token is used */
static void test_token_or_evidence_prefers_token(void **state)
{
	struct pair_node a, b;
	char *ta = token(kbs_key, "node-a", spki_a, time(NULL), 300);

	nodes(&a, &b, 0, SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE);
	a.token = ta;
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_keys(&a, &b);
	assert_null(a.last_ev);	    /* a proved itself with its token */
	assert_non_null(b.last_ev); /* a accepts only evidence */
	end(&a, &b, ta, NULL);
}

/* a peer requiring a token, a node without one: refused, with why */
static void test_token_required_none_held(void **state)
{
	struct pair_node a, b;

	nodes(&a, &b, SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE, SN_MAKE_ACCEPT_TOKEN);
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_int_equal(a.n_fail, 1);
	assert_non_null(strstr(a.reason, "requires a KBS token"));
	end(&a, &b, NULL, NULL);
}

/* a version 1 node's EVIDENCE where a token is required: refused */
static void test_evidence_where_token_required(void **state)
{
	struct pair_node a, b;

	nodes(&a, &b, 0, SN_MAKE_ACCEPT_TOKEN);
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_int_equal(b.n_fail, 1);
	assert_non_null(strstr(b.reason, "accepts only a KBS token"));
	end(&a, &b, NULL, NULL);
}

/* both proofs required: keys with both; a token whose measurement is not
 * the evidence's is refused */
static void test_token_and_evidence(void **state)
{
	struct pair_node a, b;
	uint8_t other[SN_MEASUREMENT_LEN];
	char *ta = token(kbs_key, "node-a", spki_a, time(NULL), 300);
	char *tb = token(kbs_key, "node-b", spki_b, time(NULL), 300);
	char *t2 = NULL;

	nodes(&a, &b, SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE,
	      SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE);
	a.token = ta;
	b.token = tb;
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_keys(&a, &b);
	assert_non_null(a.last_ev);
	assert_non_null(b.last_ev);
	assert_int_equal(b.seen_accept, SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE);
	end(&a, &b, ta, NULL);

	memset(other, 0x22, sizeof(other));
	assert_int_equal(pair_token_make(kbs_key, "node-a", spki_a, other,
					 time(NULL), 300, &t2),
			 0);
	nodes(&a, &b, SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE,
	      SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE);
	a.token = t2;
	b.token = tb;
	assert_int_equal(pair_start(&a, &b), 0);
	run(&a, &b);
	assert_int_equal(a.n_keys + b.n_keys, 0);
	assert_non_null(strstr(b.reason, "not the evidence's"));
	end(&a, &b, t2, tb);
}

static void test_jwks_parse(void **state)
{
	struct sn_kbs_signer *k[2];
	char *j = NULL, *bad;
	size_t n = 0;

	assert_int_equal(sn_kbs_jwks_json(kbs_key, &j), 0);
	assert_int_equal(sn_kbs_jwks_parse(j, strlen(j), k, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sn_kbs_signer_kid(k[0]),
			    sn_kbs_signer_kid(kbs_key));
	sn_kbs_signer_free(k[0]);
	/* a kid that is not the key's thumbprint is refused */
	bad = strstr(j, "\"kid\":\"");
	assert_non_null(bad);
	bad[7] = bad[7] == 'A' ? 'B' : 'A';
	assert_int_equal(sn_kbs_jwks_parse(j, strlen(j), k, 2, &n),
			 -EKEYREJECTED);
	assert_int_equal(sn_kbs_jwks_parse("{\"keys\":[]}", 11, k, 2, &n),
			 -EINVAL);
	free(j);
}

/* the codec: HELLO v2 carries accept 1..4; TOKEN base64url and dots,
 * 1..SN_MAKE_TOKEN_MAX bytes */
static void test_codec(void **state)
{
	struct sn_make_msg m = {.type = SN_MAKE_HELLO}, d;
	uint8_t *b = NULL;
	size_t len;
	char big[SN_MAKE_TOKEN_MAX + 2];

	m.hello.version = SN_MAKE_VERSION_TOKEN;
	m.hello.node_id = 7;
	m.hello.accept = SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE;
	snprintf(m.hello.name, sizeof(m.hello.name), "n7");
	assert_int_equal(sn_make_msg_encode(&m, &b, &len), 0);
	assert_int_equal(sn_make_msg_decode(b, len, &d), 0);
	assert_int_equal(d.hello.accept, SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE);
	b[len - 1] = 5; /* no such accept value */
	assert_int_equal(sn_make_msg_decode(b, len, &d), -EBADMSG);
	b[len - 1] = 0;
	assert_int_equal(sn_make_msg_decode(b, len, &d), -EBADMSG);
	free(b);
	/* version 1: no accept byte, EVIDENCE implied */
	m.hello.version = SN_MAKE_VERSION;
	assert_int_equal(sn_make_msg_encode(&m, &b, &len), 0);
	assert_int_equal(sn_make_msg_decode(b, len, &d), 0);
	assert_int_equal(d.hello.accept, SN_MAKE_ACCEPT_EVIDENCE);
	free(b);

	m = (struct sn_make_msg){.type = SN_MAKE_TOKEN};
	m.token.data = "aGk.eyJ9.c2ln";
	m.token.len = strlen(m.token.data);
	assert_int_equal(sn_make_msg_encode(&m, &b, &len), 0);
	assert_int_equal(sn_make_msg_decode(b, len, &d), 0);
	assert_int_equal(d.token.len, m.token.len);
	assert_memory_equal(d.token.data, m.token.data, m.token.len);
	b[6] = '\n'; /* a control character in a token */
	assert_int_equal(sn_make_msg_decode(b, len, &d), -EBADMSG);
	free(b);
	memset(big, 'A', sizeof(big));
	m.token.data = big;
	m.token.len = SN_MAKE_TOKEN_MAX + 1;
	assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
	m.token.len = 0;
	assert_int_equal(sn_make_msg_encode(&m, &b, &len), -EINVAL);
}

static int setup(void **state)
{
	char *j = NULL;

	if (pair_test_setup("sealnet-make-token") || pair_token_key(&kbs_key) ||
	    pair_token_key(&rogue_key) || sn_make_tls_ctx_new(&ctx_a) ||
	    sn_make_tls_ctx_new(&ctx_b) || pair_ctx_spki(ctx_a, spki_a) ||
	    pair_ctx_spki(ctx_b, spki_b))
		return -1;
	/* the nodes know the KBS by its JWKS, as sealnetd does */
	if (sn_kbs_jwks_json(kbs_key, &j) ||
	    sn_kbs_jwks_parse(j, strlen(j), pair_tok.keys, 4,
			      &pair_tok.n_keys)) {
		free(j);
		return -1;
	}
	free(j);
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < pair_tok.n_keys; i++)
		sn_kbs_signer_free(pair_tok.keys[i]);
	sn_kbs_signer_free(kbs_key);
	sn_kbs_signer_free(rogue_key);
	SSL_CTX_free(ctx_a);
	SSL_CTX_free(ctx_b);
	return pair_env_free() ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_both_ways),
		cmocka_unit_test(test_token_other_tls_key),
		cmocka_unit_test(test_token_forged),
		cmocka_unit_test(test_token_expired),
		cmocka_unit_test(test_token_other_node),
		cmocka_unit_test(test_token_tampered),
		cmocka_unit_test(test_negotiation_v1_peer),
		cmocka_unit_test(test_token_or_evidence_prefers_token),
		cmocka_unit_test(test_token_required_none_held),
		cmocka_unit_test(test_evidence_where_token_required),
		cmocka_unit_test(test_token_and_evidence),
		cmocka_unit_test(test_jwks_parse),
		cmocka_unit_test(test_codec),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
