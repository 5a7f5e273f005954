// SPDX-License-Identifier: Apache-2.0
/*
 * The TC data plane on crafted packets (BPF_PROG_TEST_RUN): two loaded
 * instances play node 1 (198.18.0.1) and node 2 (198.18.0.2).  Sealed
 * packets are also opened with OpenSSL to prove the wire format.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/evp.h>

#include "sealnet/abi.h"
#include "sealnet.skel.h"
#include "twonode.h"

#define A_ADDR SN_TN_A
#define B_ADDR SN_TN_B
#define PORT 5201

static const uint8_t k12[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const uint8_t k21[32] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4 };

static struct sn_tnode na, nb;

static int setup(void **state)
{
	sn_tn_netns();
	sn_tn_init(&na, 1, 2, B_ADDR, k12, k21, 1000, 1000000);
	sn_tn_init(&nb, 2, 1, A_ADDR, k21, k12, 1000, 1000000);
	/* egress to peer:PORT, ingress to local PORT */
	for (int i = 0; i < 2; i++) {
		sn_tn_rule(i ? &nb : &na, SN_DIR_EGRESS, PORT);
		sn_tn_rule(i ? &nb : &na, SN_DIR_INGRESS, PORT);
	}
	return 0;
}

static int teardown(void **state)
{
	sealnet_bpf__destroy(na.s);
	sealnet_bpf__destroy(nb.s);
	return 0;
}

static size_t mkpkt(uint8_t *p, const char *src, const char *dst,
		    uint16_t sport, uint16_t dport, const char *payload)
{
	return sn_test_mkpkt(p, src, dst, sport, dport, payload,
			     strlen(payload));
}

#define run sn_tn_run
#define drops sn_tn_drops

/* seal on A, assert the wire layout, open with OpenSSL */
static size_t seal_a(uint16_t sport, uint16_t dport, const char *msg,
		     uint8_t *out)
{
	uint8_t in[2048], pt[2048], nonce[12] = { 0 };
	size_t len = mkpkt(in, A_ADDR, B_ADDR, sport, dport, msg), olen;
	EVP_CIPHER_CTX *c;
	size_t ct_len;
	int n, ok;

	assert_int_equal(run(na.s->progs.sn_egress, in, len, out, &olen), 0);
	assert_int_equal(olen, len + SN_OVERHEAD);
	assert_int_equal(out[23], 17);
	assert_int_equal(out[36] << 8 | out[37], SN_UDP_PORT_DEFAULT);
	assert_null(memmem(out, olen, msg, strlen(msg)));
	/* OpenSSL opens it: AAD = header with csum_slot zeroed */
	ct_len = olen - 14 - 20 - SN_OVERHEAD;
	memcpy(nonce + 4, out + 42 + 12, 8);
	for (int i = 0; i < 4; i++) { /* BE counter -> LE nonce */
		uint8_t t = nonce[4 + i];

		nonce[4 + i] = nonce[11 - i];
		nonce[11 - i] = t;
	}
	uint8_t aad[20];

	memcpy(aad, out + 42, 20);
	aad[8] = aad[9] = 0;
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL,
					    k12, nonce), 1);
	assert_int_equal(EVP_DecryptUpdate(c, NULL, &n, aad, 20), 1);
	assert_int_equal(EVP_DecryptUpdate(c, pt, &n, out + 62, (int)ct_len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16,
					     out + 62 + ct_len), 1);
	ok = EVP_DecryptFinal_ex(c, pt + n, &n);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal(ok, 1);
	assert_memory_equal(pt, in + 34, ct_len);
	assert_int_equal(out[43], 6); /* next proto */
	return olen;
}

static void roundtrip(void **state)
{
	uint8_t w[2048], back[2048], in[2048];
	size_t wl, bl, il;
	const char *msgs[] = { "x", "SEALNET-MARKER-roundtrip",
			       ("a somewhat longer payload to cross one chacha block "
				"boundary, and then some more bytes to get past it") };

	for (unsigned int i = 0; i < 3; i++) {
		il = mkpkt(in, A_ADDR, B_ADDR, 40000, PORT, msgs[i]);
		wl = seal_a(40000, PORT, msgs[i], w);
		assert_int_equal(run(nb.s->progs.sn_ingress, w, wl, back, &bl), 0);
		assert_int_equal(bl, il);
		/* IP checksum differs from our zero one; compare the rest */
		assert_memory_equal(back + 34, in + 34, il - 34);
		assert_int_equal(back[23], 6);
	}
}

static void tamper_each_region(void **state)
{
	uint8_t w[2048], t[2048], back[2048];
	size_t wl, bl;
	struct { size_t off; unsigned int reason; } cases[] = {
		{ 42 + 1, SN_DROP_BAD_TAG },	   /* next proto (AAD) */
		{ 42 + 11, SN_DROP_NO_KEY },	   /* epoch */
		{ 42 + 19, SN_DROP_BAD_TAG },	   /* counter (AAD + nonce) */
		{ 42 + 5, SN_DROP_UNKNOWN_SESSION }, /* session */
		{ 62 + 3, SN_DROP_BAD_TAG },	   /* ciphertext */
		{ 0, SN_DROP_BAD_TAG },		   /* tag: set below */
	};

	wl = seal_a(40001, PORT, "SEALNET-MARKER-tamper-test-payload", w);
	cases[5].off = wl - 5;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = drops(&nb, cases[i].reason);

		memcpy(t, w, wl);
		t[cases[i].off] ^= 0x04;
		assert_int_equal(run(nb.s->progs.sn_ingress, t, wl, back, &bl), 2);
		assert_int_equal(drops(&nb, cases[i].reason), before + 1);
	}
	/* csum_slot is not authenticated: still opens */
	memcpy(t, w, wl);
	t[42 + 8] ^= 0xff;
	assert_int_equal(run(nb.s->progs.sn_ingress, t, wl, back, &bl), 0);
}

static void replay_and_window(void **state)
{
	uint8_t old[2048], w[2048], back[2048];
	size_t ol, wl, bl;

	ol = seal_a(40002, PORT, "old", old);
	wl = seal_a(40002, PORT, "new", w);
	assert_int_equal(run(nb.s->progs.sn_ingress, w, wl, back, &bl), 0);
	assert_int_equal(run(nb.s->progs.sn_ingress, w, wl, back, &bl), 2);
	assert_int_equal(drops(&nb, SN_DROP_REPLAY), 1);
	/* out of order within the window is fine, once */
	assert_int_equal(run(nb.s->progs.sn_ingress, old, ol, back, &bl), 0);
	assert_int_equal(run(nb.s->progs.sn_ingress, old, ol, back, &bl), 2);
	assert_int_equal(drops(&nb, SN_DROP_REPLAY), 2);
	/* jump far ahead: the old one falls out of the window */
	ol = seal_a(40002, PORT, "older", old);
	/* counters are the program's own: seal past the window */
	for (int i = 0; i < (int)SN_REPLAY_WINDOW + 100; i++) {
		uint8_t in[2048];
		size_t il = mkpkt(in, A_ADDR, B_ADDR, 40002, PORT, "skip");

		assert_int_equal(run(na.s->progs.sn_egress, in, il, w, &wl), 0);
	}
	wl = seal_a(40002, PORT, "future", w);
	assert_int_equal(run(nb.s->progs.sn_ingress, w, wl, back, &bl), 0);
	assert_int_equal(run(nb.s->progs.sn_ingress, old, ol, back, &bl), 2);
	assert_int_equal(drops(&nb, SN_DROP_TOO_OLD), 1);
}

static void policy_and_plaintext(void **state)
{
	uint8_t in[2048], out[2048];
	size_t il, ol;

	/* egress to a port without a rule: dropped, never sent */
	il = mkpkt(in, A_ADDR, B_ADDR, 40003, 22, "SEALNET-MARKER-denied");
	assert_int_equal(run(na.s->progs.sn_egress, in, il, out, &ol), 2);
	assert_int_equal(drops(&na, SN_DROP_POLICY_EGRESS), 1);
	/* from the local port of the ingress rule: only a reply within a
	 * flow that B opened (stateful; no reply rules) */
	il = mkpkt(in, A_ADDR, B_ADDR, PORT, 40004, "reply");
	assert_int_equal(run(na.s->progs.sn_egress, in, il, out, &ol), 2);
	assert_int_equal(drops(&na, SN_DROP_POLICY_EGRESS), 2);
	/* plaintext from the protected peer */
	il = mkpkt(in, B_ADDR, A_ADDR, 40005, PORT, "clear");
	assert_int_equal(run(na.s->progs.sn_ingress, in, il, out, &ol), 2);
	assert_int_equal(drops(&na, SN_DROP_PLAINTEXT), 1);
	/* unprotected destination passes untouched (mode pass) */
	il = mkpkt(in, A_ADDR, "198.19.0.9", 40006, 22, "elsewhere");
	assert_int_equal(run(na.s->progs.sn_egress, in, il, out, &ol), 0);
	assert_int_equal(ol, il);
}

static void ingress_policy(void **state)
{
	uint8_t w[2048], back[2048];
	size_t wl, bl;
	struct sn_policy_key k = { .peer = 1, .port = 7777, .proto = 6,
				   .dir_kind = SN_DIR_EGRESS << 4 };
	struct sn_policy_val v = { 9, 0 };

	/* A may send to B:7777 (its egress rule), but B does not accept it */
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(na.s->maps.sn_policy),
					     &(struct sn_policy_key){
						     .peer = 2, .port = 7777,
						     .proto = 6,
						     .dir_kind = SN_DIR_EGRESS << 4 },
					     &v, BPF_ANY), 0);
	(void)k;
	wl = seal_a(40007, 7777, "SEALNET-MARKER-ingress-denied", w);
	assert_int_equal(run(nb.s->progs.sn_ingress, w, wl, back, &bl), 2);
	assert_int_equal(drops(&nb, SN_DROP_POLICY_INGRESS), 1);
}

static void truncated_and_forged(void **state)
{
	uint8_t w[2048], t[2048], back[2048];
	size_t wl, bl;
	uint64_t before = drops(&nb, SN_DROP_MALFORMED);

	wl = seal_a(40008, PORT, "SEALNET-MARKER-truncate-me", w);
	for (size_t cut = 1; cut < wl - 42; cut += 7) {
		memcpy(t, w, wl - cut);
		assert_int_equal(run(nb.s->progs.sn_ingress, t, wl - cut, back,
				     &bl), 2);
	}
	assert_true(drops(&nb, SN_DROP_MALFORMED) > before);
	/* a packet sealed with the wrong key (a third party) */
	{
		struct sn_tx tx;
		uint32_t peer = 2;
		int fd = bpf_map__fd(na.s->maps.sn_tx);

		assert_int_equal(bpf_map_lookup_elem(fd, &peer, &tx), 0);
		tx.slot[0].key[0] ^= 1;
		assert_int_equal(bpf_map_update_elem(fd, &peer, &tx, BPF_ANY), 0);
		uint8_t in[2048];
		size_t il = mkpkt(in, A_ADDR, B_ADDR, 40009, PORT, "forged");

		assert_int_equal(run(na.s->progs.sn_egress, in, il, w, &wl), 0);
		before = drops(&nb, SN_DROP_BAD_TAG);
		assert_int_equal(run(nb.s->progs.sn_ingress, w, wl, back, &bl), 2);
		assert_int_equal(drops(&nb, SN_DROP_BAD_TAG), before + 1);
		tx.slot[0].key[0] ^= 1;
		assert_int_equal(bpf_map_update_elem(fd, &peer, &tx, BPF_ANY), 0);
	}
}

static void counter_limit(void **state)
{
	uint8_t in[2048], out[2048];
	size_t il, ol;
	uint32_t idx = 2 * 2, zero = 0;
	uint64_t c;
	struct sn_config cfg, saved;

	/* the counter is the program's own: lower the limit to just above
	 * it instead */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(na.s->maps.sn_config),
					     &zero, &cfg), 0);
	saved = cfg;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(na.s->maps.sn_tx_ctr),
					     &idx, &c), 0);
	cfg.counter_limit = (c & SN_CTR_MAX) + 1;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(na.s->maps.sn_config),
					     &zero, &cfg, BPF_ANY), 0);
	il = mkpkt(in, A_ADDR, B_ADDR, 40010, PORT, "last");
	assert_int_equal(run(na.s->progs.sn_egress, in, il, out, &ol), 0);
	assert_int_equal(run(na.s->progs.sn_egress, in, il, out, &ol), 2);
	assert_int_equal(drops(&na, SN_DROP_COUNTER_LIMIT), 1);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(na.s->maps.sn_config),
					     &zero, &saved, BPF_ANY), 0);
}

/* two key slots: install the next key on both sides (receiver first),
 * flip the sender; packets of both epochs in flight all open */
static void rotation_loses_nothing(void **state)
{
	static const uint8_t k12b[32] = { 0x77, 0x66 };
	uint8_t old[2048], neu[2048], back[2048];
	size_t ol, nl, bl;
	struct sn_tx tx;
	struct sn_rx rx;
	uint32_t peer_on_a = 2, peer_on_b = 1;

	ol = seal_a(40011, PORT, "sealed under epoch 7", old);
	/* receiver B: epoch 8 into slot 1 */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(nb.s->maps.sn_rx),
					     &peer_on_b, &rx), 0);
	sn_tn_key(&rx.slot[1], k12b, 8, 2);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(nb.s->maps.sn_rx),
					     &peer_on_b, &rx, BPF_ANY), 0);
	/* sender A: epoch 8 into slot 1 (generation 2: its counter starts
	 * at 0 with the first packet), then flip */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(na.s->maps.sn_tx),
					     &peer_on_a, &tx), 0);
	sn_tn_key(&tx.slot[1], k12b, 8, 2);
	tx.cur = 1;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(na.s->maps.sn_tx),
					     &peer_on_a, &tx, BPF_ANY), 0);
	{
		uint8_t in[2048];
		size_t il = mkpkt(in, A_ADDR, B_ADDR, 40011, PORT,
				  "sealed under epoch 8");

		assert_int_equal(run(na.s->progs.sn_egress, in, il, neu, &nl), 0);
	}
	assert_int_equal(neu[42 + 10] << 8 | neu[42 + 11], 8);
	/* the new epoch opens, and the packet of the old epoch still does */
	assert_int_equal(run(nb.s->progs.sn_ingress, neu, nl, back, &bl), 0);
	assert_int_equal(run(nb.s->progs.sn_ingress, old, ol, back, &bl), 0);
	assert_memory_equal(back + 54, "sealed under epoch 7", 20);
	/* flip back so later tests see epoch 7 */
	tx.cur = 0;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(na.s->maps.sn_tx),
					     &peer_on_a, &tx, BPF_ANY), 0);
}

/* IPv6 is not sealed: to a peer's IPv6 address it is dropped, to other
 * addresses the unprotected mode (pass) decides */
static void ipv6_never_in_clear(void **state)
{
	uint8_t pkt[14 + 40 + 8] = { 0 }, out[256];
	uint8_t peer6[16] = { 0xfd, [15] = 2 };
	uint32_t peer = 2;
	size_t ol;

	assert_int_equal(bpf_map_update_elem(
				 bpf_map__fd(na.s->maps.sn_peer_by_addr6), peer6,
				 &peer, BPF_ANY), 0);
	pkt[12] = 0x86;
	pkt[13] = 0xdd;
	pkt[14] = 0x60;
	pkt[19] = 8;  /* payload length */
	pkt[20] = 17; /* next header UDP */
	pkt[21] = 64;
	pkt[22] = 0xfd;
	pkt[37] = 1;			/* src fd00::1 */
	memcpy(pkt + 38, peer6, 16);	/* dst fd00::2 */
	assert_int_equal(run(na.s->progs.sn_egress, pkt, sizeof(pkt), out, &ol), 2);
	assert_int_equal(drops(&na, SN_DROP_IPV6_PEER), 1);
	pkt[38 + 15] = 9;		/* fd00::9: not a peer */
	assert_int_equal(run(na.s->progs.sn_egress, pkt, sizeof(pkt), out, &ol), 0);
}

/* drop events reach the ring buffer, at most events_per_sec per second */
static int count_event(void *ctx, void *data, size_t len)
{
	const struct sn_event *ev = data;

	if (len >= sizeof(*ev) && ev->reason == SN_DROP_POLICY_EGRESS &&
	    ev->dport == 23 && ev->proto == 6)
		(*(int *)ctx)++;
	return 0;
}

static void events_rate_limited(void **state)
{
	struct sn_config cfg;
	uint32_t zero = 0;
	uint8_t in[2048], out[2048];
	size_t il, ol;
	int seen = 0;
	struct ring_buffer *rb;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(na.s->maps.sn_config),
					     &zero, &cfg), 0);
	cfg.events_per_sec = 5;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(na.s->maps.sn_config),
					     &zero, &cfg, BPF_ANY), 0);
	rb = ring_buffer__new(bpf_map__fd(na.s->maps.sn_events), count_event,
			      &seen, NULL);
	assert_non_null(rb);
	ring_buffer__consume(rb);
	seen = 0;
	il = mkpkt(in, A_ADDR, B_ADDR, 40012, 23, "telnet?");
	/* test_run runs on one CPU: 50 drops, at most 5 events (the window
	 * may roll over once during the loop) */
	for (int i = 0; i < 50; i++)
		assert_int_equal(run(na.s->progs.sn_egress, in, il, out, &ol), 2);
	ring_buffer__consume(rb);
	assert_true(seen >= 1);
	assert_true(seen <= 10);
	ring_buffer__free(rb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(tamper_each_region),
		cmocka_unit_test(replay_and_window),
		cmocka_unit_test(policy_and_plaintext),
		cmocka_unit_test(ingress_policy),
		cmocka_unit_test(truncated_and_forged),
		cmocka_unit_test(rotation_loses_nothing),
		cmocka_unit_test(ipv6_never_in_clear),
		cmocka_unit_test(events_rate_limited),
		cmocka_unit_test(counter_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
