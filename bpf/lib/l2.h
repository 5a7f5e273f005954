/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frames that are neither IPv4 nor IPv6 at the Ethernet layer.
 *
 *   ARP                  passes (address resolution of the link itself).
 *   802.1Q / 802.1ad     up to two tags are skipped; an IPv4 or IPv6
 *                        packet inside to or from a protected peer is
 *                        dropped (ETHERTYPE): tagged traffic is never
 *                        sealed, so it must never reach a peer in clear.
 *                        Otherwise the unprotected mode decides.
 *   anything else        the unprotected mode decides (drop: ETHERTYPE).
 *
 * A tag the kernel keeps out of the frame (skb->vlan_present, hardware
 * VLAN acceleration) leaves an IPv4 frame here, which is sealed or opened
 * like any other.
 */
#ifndef SN_BPF_L2_H
#define SN_BPF_L2_H

#include "lib/drop.h"
#include "lib/maps.h"

#define ETH_P_ARP_    0x0806
#define ETH_P_8021Q_  0x8100
#define ETH_P_8021AD_ 0x88A8
#define SN_VLAN_HLEN  4

static __always_inline int sn_l2_other(struct __sk_buff *skb,
				       const struct sn_config *cfg, __u8 unprot,
				       __u16 eth_proto, struct sn_flow *f)
{
	__u32 off = ETH_HLEN;
	__u16 proto = eth_proto;
	__u32 *peer = 0;

	if (proto == ETH_P_ARP_)
		return TC_ACT_OK;
	for (int i = 0; i < 2; i++) {
		__be16 inner;

		if (proto != ETH_P_8021Q_ && proto != ETH_P_8021AD_)
			break;
		if (bpf_skb_load_bytes(skb, off + 2, &inner, 2))
			return sn_drop(cfg, f, SN_DROP_MALFORMED);
		proto = bpf_ntohs(inner);
		off += SN_VLAN_HLEN;
	}
	if (proto == ETH_P_IP) {
		__u32 a;

		if (bpf_skb_load_bytes(
			    skb, off + (f->dir == SN_DIR_EGRESS ? 16 : 12), &a,
			    4))
			return sn_drop(cfg, f, SN_DROP_MALFORMED);
		peer = bpf_map_lookup_elem(&sn_peer_by_addr, &a);
	} else if (proto == ETH_P_IPV6) {
		struct sn_in6 a;

		if (bpf_skb_load_bytes(skb,
				       off + (f->dir == SN_DIR_EGRESS ? 24 : 8),
				       &a, 16))
			return sn_drop(cfg, f, SN_DROP_MALFORMED);
		peer = bpf_map_lookup_elem(&sn_peer_by_addr6, &a);
	}
	if (peer) {
		f->peer = *peer;
		return sn_drop(cfg, f, SN_DROP_ETHERTYPE);
	}
	if (unprot == SN_UNPROT_PASS)
		return TC_ACT_OK;
	return sn_drop(cfg, f,
		       proto == ETH_P_IP || proto == ETH_P_IPV6 ?
			       SN_DROP_UNPROTECTED :
			       SN_DROP_ETHERTYPE);
}

#endif
