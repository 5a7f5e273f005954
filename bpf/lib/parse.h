/* SPDX-License-Identifier: Apache-2.0 */
/* Header parsing for TC programs (skb data starts at the Ethernet header). */
#ifndef SN_BPF_PARSE_H
#define SN_BPF_PARSE_H

#include "lib/common.h"

#define SN_L3_OFF ETH_HLEN
#define SN_L4_OFF (ETH_HLEN + 20) /* protected flows carry no IP options */

struct sn_pkt {
	__u16 eth_proto; /* host order */
	__u8 proto;
	__u8 ihl_ok;	 /* IHL == 5 */
	__u8 frag;	 /* MF set or offset != 0 */
	__u8 pad;
	__u16 tot_len;	 /* host order */
	__u32 saddr, daddr;
	__u16 sport, dport; /* host order; 0 for protocols without ports */
};

/* 0 on success (IPv4 with the fields above), 1 not IPv4, -1 malformed. */
static __always_inline int sn_parse(struct __sk_buff *skb, struct sn_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;

	if ((void *)(eth + 1) > end)
		return -1;
	p->eth_proto = bpf_ntohs(eth->h_proto);
	if (p->eth_proto != ETH_P_IP)
		return 1;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > end)
		return -1;
	if (iph->version != 4 || iph->ihl < 5)
		return -1;
	p->proto = iph->protocol;
	p->ihl_ok = iph->ihl == 5;
	p->frag = (bpf_ntohs(iph->frag_off) & (IP_MF | IP_OFFSET)) != 0;
	p->tot_len = bpf_ntohs(iph->tot_len);
	p->saddr = iph->saddr;
	p->daddr = iph->daddr;
	p->sport = 0;
	p->dport = 0;
	if (p->tot_len < 20 || ETH_HLEN + (__u32)p->tot_len > skb->len)
		return -1;
	if (p->ihl_ok && !p->frag &&
	    (p->proto == IPPROTO_TCP_ || p->proto == IPPROTO_UDP_)) {
		__u16 *ports = (void *)(iph + 1);

		if ((void *)(ports + 2) > end)
			return -1;
		p->sport = bpf_ntohs(ports[0]);
		p->dport = bpf_ntohs(ports[1]);
	}
	return 0;
}

/*
 * The same for a TUN device (IFF_TUN: no link-layer header, skb data
 * starts at the IP header; the SIMD engine's device).  GSO super-packets
 * (TSO/USO, up to 64 KB) are parsed like any packet: only the headers are
 * read.  0 IPv4, 1 not IPv4 (eth_proto from skb->protocol), -1 malformed.
 */
static __always_inline int sn_parse_l3(struct __sk_buff *skb, struct sn_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *iph = data;

	p->eth_proto = bpf_ntohs((__u16)skb->protocol);
	if (p->eth_proto != ETH_P_IP)
		return 1;
	if ((void *)(iph + 1) > end)
		return -1;
	if (iph->version != 4 || iph->ihl < 5)
		return -1;
	p->proto = iph->protocol;
	p->ihl_ok = iph->ihl == 5;
	p->frag = (bpf_ntohs(iph->frag_off) & (IP_MF | IP_OFFSET)) != 0;
	p->tot_len = bpf_ntohs(iph->tot_len);
	p->saddr = iph->saddr;
	p->daddr = iph->daddr;
	p->sport = 0;
	p->dport = 0;
	if (p->tot_len < 20 || (__u32)p->tot_len > skb->len)
		return -1;
	if (p->ihl_ok && !p->frag &&
	    (p->proto == IPPROTO_TCP_ || p->proto == IPPROTO_UDP_)) {
		__u16 *ports = (void *)(iph + 1);

		if ((void *)(ports + 2) > end)
			return -1;
		p->sport = bpf_ntohs(ports[0]);
		p->dport = bpf_ntohs(ports[1]);
	}
	return 0;
}

/* Rewrite the IPv4 header's protocol and total length, fixing its checksum. */
static __always_inline int sn_ip_rewrite(struct __sk_buff *skb, __u8 old_proto,
					 __u8 new_proto, __u16 old_len,
					 __u16 new_len)
{
	__u16 ol = bpf_htons(old_len), nl = bpf_htons(new_len);
	__u32 csum_off = SN_L3_OFF + offsetof(struct iphdr, check);
	__u8 ttl;
	__u16 ow, nw;

	if (bpf_skb_load_bytes(skb, SN_L3_OFF + offsetof(struct iphdr, ttl),
			       &ttl, 1))
		return -1;
	/* ttl and protocol share one 16-bit word */
	ow = bpf_htons((__u16)(ttl << 8 | old_proto));
	nw = bpf_htons((__u16)(ttl << 8 | new_proto));
	if (bpf_l3_csum_replace(skb, csum_off, ol, nl, 2) ||
	    bpf_l3_csum_replace(skb, csum_off, ow, nw, 2))
		return -1;
	if (bpf_skb_store_bytes(skb, SN_L3_OFF + offsetof(struct iphdr, tot_len),
				&nl, 2, 0) ||
	    bpf_skb_store_bytes(skb, SN_L3_OFF + offsetof(struct iphdr, protocol),
				&new_proto, 1, 0))
		return -1;
	return 0;
}

/* Set DF on the IPv4 header (sealed packets are never fragmented on the
 * way: a receiver drops fragments, so a path that needs smaller packets
 * answers with ICMP "fragmentation needed" instead of losing them). */
static __always_inline int sn_ip_set_df(struct __sk_buff *skb)
{
	__u32 off = SN_L3_OFF + offsetof(struct iphdr, frag_off);
	__u16 of, nf;

	if (bpf_skb_load_bytes(skb, off, &of, 2))
		return -1;
	nf = of | bpf_htons(0x4000);
	if (nf == of)
		return 0;
	if (bpf_l3_csum_replace(skb, SN_L3_OFF + offsetof(struct iphdr, check),
				of, nf, 2) ||
	    bpf_skb_store_bytes(skb, off, &nf, 2, 0))
		return -1;
	return 0;
}

#endif
