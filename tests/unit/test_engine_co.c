// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's receive coalescer (lib/engine/coalesce.c) on crafted
 * TCP segments: consecutive in-order segments of one flow become one
 * write with a virtio-net header (GSO TCPV4, segment size, header length,
 * checksum pending at the TCP checksum) whose IPv4 header (total length,
 * checksum) and pending TCP checksum are right and whose payload is the
 * segments' in order; out of order, a SYN/FIN/RST/URG flag, another flow,
 * another sender, other TCP options, after PSH or a short segment, a
 * longer segment, past 64 KB, UDP and pure ACKs are not merged, and every
 * packet not merged is written as it came.  Fails when coalescing is
 * taken out (every packet written on its own).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/virtio_net.h>

#include "../../lib/engine/internal.h"

#define VH    SN_ENG_VNET_HLEN
#define MAXW  64
#define PKT_B (VH + 20 + 60 + 2048)

struct wr {
	uint8_t *b;
	size_t len;
	unsigned int n;
	const void *owner;
};

static struct wr w[MAXW];
static unsigned int nw;

static void emit(void *arg, const void *owner, const uint8_t *b, size_t len,
		 unsigned int n)
{
	(void)arg;
	assert_true(nw < MAXW);
	w[nw].b = malloc(len);
	assert_non_null(w[nw].b);
	memcpy(w[nw].b, b, len);
	w[nw].len = len;
	w[nw].n = n;
	w[nw].owner = owner;
	nw++;
}

static void reset(void)
{
	for (unsigned int i = 0; i < nw; i++)
		free(w[i].b);
	nw = 0;
}

struct seg {
	uint16_t sport;
	uint32_t seq;
	uint8_t flags;
	size_t pay;
	uint8_t proto; /* 0: TCP */
	uint8_t tsval; /* != 0: a 12-byte timestamp option with this byte */
};

/* vnet header (DATA_VALID) + IPv4 + TCP (+ options) + payload bytes
 * (seq + i) & 0xff; returns l4 */
static size_t build(uint8_t *pkt, const struct seg *s)
{
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	uint8_t *ip = pkt + VH, *t = ip + 20;
	size_t thl = s->proto ? 8 : (s->tsval ? 32 : 20), l4 = thl + s->pay;
	uint16_t u;
	uint32_t v;

	memset(pkt, 0, VH + 20 + l4);
	memcpy(pkt, &vh, sizeof(vh));
	ip[0] = 0x45;
	u = htons((uint16_t)(20 + l4));
	memcpy(ip + 2, &u, 2);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = s->proto ? s->proto : IPPROTO_TCP;
	v = inet_addr("198.18.0.1");
	memcpy(ip + 12, &v, 4);
	v = inet_addr("198.18.0.2");
	memcpy(ip + 16, &v, 4);
	u = htons(s->sport);
	memcpy(t, &u, 2);
	u = htons(5201);
	memcpy(t + 2, &u, 2);
	if (!s->proto) {
		v = htonl(s->seq);
		memcpy(t + 4, &v, 4);
		v = htonl(777);
		memcpy(t + 8, &v, 4);
		t[12] = (uint8_t)((thl / 4) << 4);
		t[13] = s->flags;
		u = htons(500);
		memcpy(t + 14, &u, 2);
		t[16] = 0xab; /* a checksum: replaced when merged */
		if (s->tsval) {
			t[20] = 1;
			t[21] = 1;
			t[22] = 8; /* kind 8: timestamps */
			t[23] = 10;
			t[24] = s->tsval;
		}
	}
	for (size_t i = 0; i < s->pay; i++)
		t[thl + i] = (uint8_t)(s->seq + i);
	return l4;
}

static void add(struct sn_eng_co *co, const void *owner, const struct seg *s)
{
	static uint8_t pkt[PKT_B];
	size_t l4 = build(pkt, s);

	sn_eng_co_add(co, owner, pkt, l4);
}

static uint16_t fold(uint64_t s)
{
	return sn_eng_csum_fold(s);
}

/* write i is one merged packet of n segments of mss from seq0, the last
 * one's flags: check its headers, checksums and payload */
static void check_merged(unsigned int i, unsigned int n, size_t mss,
			 uint32_t seq0, size_t total, bool psh)
{
	struct virtio_net_hdr vh;
	uint8_t *ip = w[i].b + VH, *t = ip + 20;
	size_t l4 = w[i].len - VH - 20;
	uint16_t u, w2[2];
	uint32_t v;
	uint64_t sum;

	assert_int_equal(w[i].n, n);
	assert_int_equal(l4, 20 + total);
	memcpy(&vh, w[i].b, sizeof(vh));
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, mss);
	assert_int_equal(vh.hdr_len, 40);
	assert_int_equal(vh.csum_start, 20);
	assert_int_equal(vh.csum_offset, 16);
	memcpy(&u, ip + 2, 2);
	assert_int_equal(ntohs(u), 20 + l4);
	assert_int_equal(fold(sn_eng_csum_add(0, ip, 20)), 0xffff);
	memcpy(&v, t + 4, 4);
	assert_int_equal(ntohl(v), seq0);
	assert_int_equal(!!(t[13] & 0x08), psh);
	for (size_t k = 0; k < total; k++)
		if (t[20 + k] != (uint8_t)(seq0 + k))
			fail_msg("write %u: payload byte %zu wrong", i, k);
	/* complete the pending checksum as the device would, then check it
	 * the way a receiver does: pseudo-header + segment sums to 0xffff */
	sum = sn_eng_csum_add(0, t, l4);
	u = (uint16_t)~fold(sum);
	memcpy(t + 16, &u, 2);
	w2[0] = htons(IPPROTO_TCP);
	w2[1] = htons((uint16_t)l4);
	sum = sn_eng_csum_add(sn_eng_csum_add(0, ip + 12, 8), w2, 4);
	assert_int_equal(fold(sn_eng_csum_add(sum, t, l4)), 0xffff);
}

/* write i is the packet s as it came */
static void check_single(unsigned int i, const void *owner, const struct seg *s)
{
	static uint8_t pkt[PKT_B];
	size_t l4 = build(pkt, s);

	assert_int_equal(w[i].n, 1);
	assert_ptr_equal(w[i].owner, owner);
	assert_int_equal(w[i].len, VH + 20 + l4);
	assert_memory_equal(w[i].b, pkt, VH + 20 + l4);
}

static struct sn_eng_co co_new(void)
{
	struct sn_eng_co co = {.buf = malloc(SN_ENG_CO_CAP), .emit = emit};

	assert_non_null(co.buf);
	reset();
	return co;
}

static const int A, B; /* two senders */

static void in_order_merged(void **state)
{
	struct sn_eng_co co = co_new();

	(void)state;
	for (unsigned int i = 0; i < 5; i++)
		add(&co, &A,
		    &(struct seg){.sport = 40000,
				  .seq = 1000 + i * 1400,
				  .flags = i == 4 ? 0x18 : 0x10,
				  .pay = 1400});
	assert_int_equal(nw, 0); /* held until flushed */
	sn_eng_co_flush(&co);
	assert_int_equal(nw, 1);
	assert_ptr_equal(w[0].owner, &A);
	check_merged(0, 5, 1400, 1000, 5 * 1400, true);
	/* a short last segment joins and closes */
	reset();
	add(&co, &A, &(struct seg){40000, 5000, 0x10, 1400, 0, 0});
	add(&co, &A, &(struct seg){40000, 6400, 0x10, 1400, 0, 0});
	add(&co, &A, &(struct seg){40000, 7800, 0x10, 100, 0, 0});
	add(&co, &A, &(struct seg){40000, 7900, 0x10, 1400, 0, 0});
	sn_eng_co_flush(&co);
	assert_int_equal(nw, 2);
	check_merged(0, 3, 1400, 5000, 2900, false);
	check_single(1, &A, &(struct seg){40000, 7900, 0x10, 1400, 0, 0});
	reset();
	free(co.buf);
}

static void not_merged(void **state)
{
	struct sn_eng_co co = co_new();
	const struct seg base = {40000, 1000, 0x10, 1000, 0, 0};
	/* each: the second packet after base must not join it */
	const struct {
		const char *what;
		const void *owner;
		struct seg s;
	} cases[] = {
		{"out of order", &A, {40000, 3000, 0x10, 1000, 0, 0}},
		{"retransmission", &A, {40000, 1000, 0x10, 1000, 0, 0}},
		{"FIN", &A, {40000, 2000, 0x11, 1000, 0, 0}},
		{"SYN", &A, {40000, 2000, 0x12, 1000, 0, 0}},
		{"RST", &A, {40000, 2000, 0x14, 1000, 0, 0}},
		{"URG", &A, {40000, 2000, 0x30, 1000, 0, 0}},
		{"no ACK", &A, {40000, 2000, 0x00, 1000, 0, 0}},
		{"another flow", &A, {40001, 2000, 0x10, 1000, 0, 0}},
		{"another sender", &B, {40000, 2000, 0x10, 1000, 0, 0}},
		{"other options", &A, {40000, 2000, 0x10, 1000, 0, 9}},
		{"longer segment", &A, {40000, 2000, 0x10, 1001, 0, 0}},
		{"pure ACK", &A, {40000, 2000, 0x10, 0, 0, 0}},
		{"UDP", &A, {40000, 2000, 0, 1000, IPPROTO_UDP, 0}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset();
		add(&co, &A, &base);
		add(&co, cases[i].owner, &cases[i].s);
		sn_eng_co_flush(&co);
		if (nw != 2)
			fail_msg("%s: %u writes, not 2", cases[i].what, nw);
		check_single(0, &A, &base);
		check_single(1, cases[i].owner, &cases[i].s);
	}
	/* after PSH nothing joins */
	reset();
	add(&co, &A, &(struct seg){40000, 1000, 0x18, 1000, 0, 0});
	add(&co, &A, &(struct seg){40000, 2000, 0x10, 1000, 0, 0});
	sn_eng_co_flush(&co);
	assert_int_equal(nw, 2);
	check_single(0, &A, &(struct seg){40000, 1000, 0x18, 1000, 0, 0});
	/* 64 KB: 46 segments of 1400 fit one write, the 47th starts one */
	reset();
	for (unsigned int i = 0; i < 47; i++)
		add(&co, &A, &(struct seg){40000, i * 1400u, 0x10, 1400, 0, 0});
	sn_eng_co_flush(&co);
	assert_int_equal(nw, 2);
	check_merged(0, 46, 1400, 0, 46 * 1400, false);
	check_single(1, &A, &(struct seg){40000, 46 * 1400u, 0x10, 1400, 0, 0});
	/* no buffer: every packet on its own, at once */
	free(co.buf);
	co.buf = NULL;
	reset();
	add(&co, &A, &base);
	add(&co, &A, &(struct seg){40000, 2000, 0x10, 1000, 0, 0});
	assert_int_equal(nw, 2);
	reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_order_merged),
		cmocka_unit_test(not_merged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
