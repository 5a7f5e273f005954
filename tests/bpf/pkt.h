/* SPDX-License-Identifier: Apache-2.0 */
/* Crafted packets for BPF_PROG_TEST_RUN (tests/bpf and bench/dp_ns). */
#ifndef SN_TEST_PKT_H
#define SN_TEST_PKT_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t sn_test_ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* Ethernet + IPv4 (checksum left 0) + TCP (20 bytes, data offset 5) +
 * plen payload bytes copied from payload.  Returns the frame length. */
static inline size_t sn_test_mkpkt(uint8_t *p, const char *src,
				   const char *dst, uint16_t sport,
				   uint16_t dport, const void *payload,
				   size_t plen)
{
	size_t tot = 20 + 20 + plen;
	uint32_t s = sn_test_ip(src), d = sn_test_ip(dst);
	uint16_t v;

	memset(p, 0, 14 + tot);
	p[12] = 0x08;
	p[14] = 0x45;
	v = htons((uint16_t)tot);
	memcpy(p + 16, &v, 2);
	p[22] = 64;
	p[23] = 6;
	memcpy(p + 26, &s, 4);
	memcpy(p + 30, &d, 4);
	v = htons(sport);
	memcpy(p + 34, &v, 2);
	v = htons(dport);
	memcpy(p + 36, &v, 2);
	p[46] = 0x50;
	memcpy(p + 54, payload, plen);
	return 14 + tot;
}

#endif
