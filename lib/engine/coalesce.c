// SPDX-License-Identifier: Apache-2.0
/*
 * The receive path's coalescer: consecutive in-order TCP segments of one
 * flow, opened from one recvmmsg batch, go to the TUN device as one write
 * of up to 64 KB with a virtio-net header (GSO type TCPV4, checksum
 * pending: VIRTIO_NET_HDR_F_NEEDS_CSUM), as GRO would have built them, so
 * the stack's receive path runs once per write instead of once per
 * packet.  A packet that cannot join (not TCP, no payload, a flag other
 * than ACK and PSH, another flow or sender, out of order, other header
 * bytes, after a short or PSH segment, past 64 KB) flushes what is held
 * and starts anew or, when it cannot be coalesced at all, is written on
 * its own (its own header: DATA_VALID).  tests/unit/test_engine_co.c.
 */
#include <netinet/in.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "internal.h"

#define TCP_PSH		  0x08
#define TCP_ACK		  0x10
#define TCP_NOT_COALESCED 0xe7 /* CWR ECE URG RST SYN FIN */

static uint16_t ip_csum(const void *h)
{
	return (uint16_t)~sn_eng_csum_fold(sn_eng_csum_add(0, h, 20));
}

/*
 * Write the held segments: one as it is; several as one TSO packet (the
 * stack takes it as GRO would have built it: checksum offload pending,
 * segment size the first segment's payload).  Every segment was opened,
 * authenticated and replay-checked on its own before it was held.
 */
void sn_eng_co_flush(struct sn_eng_co *co)
{
	uint8_t *ip;

	if (!co->n)
		return;
	ip = co->buf + SN_ENG_VNET_HLEN;
	if (co->n > 1) {
		struct virtio_net_hdr vh = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			.hdr_len = (uint16_t)(20 + co->thl),
			.gso_size = (uint16_t)co->mss,
			.csum_start = 20,
			.csum_offset = 16,
		};
		uint16_t tot = htons((uint16_t)co->len), w[2], c;
		uint64_t sum;

		memcpy(ip + 2, &tot, 2);
		ip[10] = ip[11] = 0;
		c = ip_csum(ip);
		memcpy(ip + 10, &c, 2);
		/* the pseudo-header sum, as a pending offload expects */
		w[0] = htons(IPPROTO_TCP);
		w[1] = htons((uint16_t)(co->len - 20));
		sum = sn_eng_csum_add(sn_eng_csum_add(0, ip + 12, 8), w, 4);
		c = sn_eng_csum_fold(sum);
		memcpy(ip + 20 + 16, &c, 2);
		memcpy(co->buf, &vh, sizeof(vh));
	}
	/* no wipe per write: the buffer is rewritten by the next segments
	 * and wiped when the thread ends */
	co->emit(co->arg, co->owner, co->buf, SN_ENG_VNET_HLEN + co->len,
		 co->n);
	co->n = 0;
	co->len = 0;
}

/* may the TCP segment at ip (IPv4 20 + l4 bytes) join the held ones? */
static bool joins(const struct sn_eng_co *co, const void *owner,
		  const uint8_t *ip, size_t l4, size_t thl, size_t pay)
{
	const uint8_t *h = co->buf + SN_ENG_VNET_HLEN;
	uint32_t seq;

	if (!co->n || !co->open || co->owner != owner || thl != co->thl ||
	    pay > co->mss || co->len + pay > 65535 - 20)
		return false;
	memcpy(&seq, ip + 24, 4);
	if (ntohl(seq) != co->next_seq)
		return false;
	/* IPv4: TOS, TTL, protocol, addresses; TCP: ports, ack, flags but
	 * PSH, window, urgent pointer and every option byte the same */
	return ip[1] == h[1] && ip[8] == h[8] && !memcmp(ip + 12, h + 12, 8) &&
	       !memcmp(ip + 20, h + 20, 4) && !memcmp(ip + 28, h + 28, 5) &&
	       ((ip[33] ^ h[33]) & ~TCP_PSH) == 0 &&
	       !memcmp(ip + 34, h + 34, 2) &&
	       !memcmp(ip + 38, h + 38, thl - 18) && l4 == thl + pay;
}

void sn_eng_co_add(struct sn_eng_co *co, const void *owner, const uint8_t *pkt,
		   size_t l4)
{
	const uint8_t *ip = pkt + SN_ENG_VNET_HLEN;
	size_t thl = l4 >= 20 ? (size_t)(ip[32] >> 4) * 4 : 0, pay;
	uint32_t seq;

	if (!co->buf || ip[9] != IPPROTO_TCP || thl < 20 || thl >= l4 ||
	    (ip[33] & TCP_NOT_COALESCED) || !(ip[33] & TCP_ACK)) {
		sn_eng_co_flush(co);
		co->emit(co->arg, owner, pkt, SN_ENG_VNET_HLEN + 20 + l4, 1);
		return;
	}
	pay = l4 - thl;
	if (joins(co, owner, ip, l4, thl, pay)) {
		uint8_t *h = co->buf + SN_ENG_VNET_HLEN;

		memcpy(h + co->len, ip + 20 + thl, pay);
		co->len += pay;
		co->n++;
		co->next_seq += (uint32_t)pay;
		h[33] |= ip[33] & TCP_PSH;
		if (pay < co->mss || (ip[33] & TCP_PSH))
			co->open = false;
		return;
	}
	sn_eng_co_flush(co);
	memcpy(co->buf, pkt, SN_ENG_VNET_HLEN + 20 + l4);
	co->len = 20 + l4;
	co->n = 1;
	co->owner = owner;
	co->thl = thl;
	co->mss = pay;
	memcpy(&seq, ip + 24, 4);
	co->next_seq = ntohl(seq) + (uint32_t)pay;
	co->open = !(ip[33] & TCP_PSH);
}
