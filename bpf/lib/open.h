/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ingress: open one sealed packet (docs/wire-format.md), the inverse of
 * seal.h.  Order: local destination (never decrypt-and-forward), header
 * type and reserved bits, session and source check, key slot by epoch
 * (copied with its generation, seal.h sn_key_take), replay pre-check, tag
 * check and decryption, replay window update (only now, under the lock,
 * and only if the slot still holds the same installation), then the
 * ingress policy on the decrypted inner ports, then the rewrite.
 */
#ifndef SN_BPF_OPEN_H
#define SN_BPF_OPEN_H

#include "lib/aead.h"
#include "lib/drop.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/replay.h"
#include "lib/seal.h"

static __always_inline __u32 sn_get_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/*
 * Would the kernel deliver a packet to daddr locally?  The outer and the
 * inner IPv4 header are the same header, so a sealed packet addressed to
 * another host would be decrypted here and then forwarded in clear when
 * forwarding is on.  The FIB decides as the kernel will: forwarding off
 * on the device, or a route that is not unicast (local, broadcast), is
 * delivery here; a unicast route elsewhere is forwarding: dropped.
 */
static __always_inline int sn_is_local(struct __sk_buff *skb,
				       const struct sn_pkt *p)
{
	struct bpf_fib_lookup fl = {};
	long r;

	fl.family = 2; /* AF_INET */
	fl.ipv4_src = p->saddr;
	fl.ipv4_dst = p->daddr;
	fl.tot_len = p->tot_len;
	fl.ifindex = skb->ifindex;
	/* multicast would be routed by a multicast router: never ours
	 * to decrypt (sealed packets are unicast) */
	if ((bpf_ntohl(p->daddr) & 0xf0000000) == 0xe0000000)
		return 0;
	r = bpf_fib_lookup(skb, &fl, sizeof(fl), 0);
	return r == BPF_FIB_LKUP_RET_FWD_DISABLED ||
	       r == BPF_FIB_LKUP_RET_NOT_FWDED ||
	       r == BPF_FIB_LKUP_RET_BLACKHOLE ||
	       r == BPF_FIB_LKUP_RET_UNREACHABLE ||
	       r == BPF_FIB_LKUP_RET_PROHIBIT;
}

static __always_inline int sn_open(struct __sk_buff *skb,
				   const struct sn_config *cfg,
				   const struct sn_pkt *p, struct sn_flow *f)
{
	struct sn_peer_stats *ps;
	struct sn_scratch *sc;
	struct sn_replay *rp;
	struct sn_rx *rx;
	const struct sn_key *k;
	__u8 *hdr, *tag;
	struct sn_nonce *nonce;
	__u32 zero = 0, udp_len, ct_len, sid, slot, idx, reason, gen;
	__u16 epoch, kepoch, ulen_be;
	__u64 ctr;
	__u8 *buf;

	sc = bpf_map_lookup_elem(&sn_scratch, &zero);
	if (!sc)
		return sn_drop(cfg, f, SN_DROP_HELPER);
	buf = sc->b;
	hdr = sc->hdr;
	tag = sc->tag;
	nonce = (struct sn_nonce *)sc->nonce;
	if (!p->ihl_ok)
		return sn_drop(cfg, f, SN_DROP_IP_OPTIONS);
	if (p->frag)
		return sn_drop(cfg, f, SN_DROP_FRAGMENT);
	if (bpf_skb_load_bytes(skb, SN_L4_OFF + 4, &ulen_be, 2))
		return sn_drop(cfg, f, SN_DROP_MALFORMED);
	udp_len = bpf_ntohs(ulen_be);
	if (udp_len != (__u32)p->tot_len - 20 ||
	    udp_len < SN_UDP_HLEN + SN_HDR_LEN + SN_TAG_LEN)
		return sn_drop(cfg, f, SN_DROP_MALFORMED);
	ct_len = udp_len - SN_UDP_HLEN - SN_HDR_LEN - SN_TAG_LEN;
	if (ct_len > SN_MAX_L4)
		return sn_drop(cfg, f, SN_DROP_TOO_BIG);
	if (ct_len == 0) /* the sender never seals an empty payload */
		return sn_drop(cfg, f, SN_DROP_MALFORMED);
	if (bpf_skb_load_bytes(skb, SN_L4_OFF + SN_UDP_HLEN, hdr, SN_HDR_LEN))
		return sn_drop(cfg, f, SN_DROP_MALFORMED);
	if (hdr[0] != SN_TYPE_DATA)
		return sn_drop(cfg, f, SN_DROP_BAD_TYPE);
	if (hdr[2] | hdr[3])
		return sn_drop(cfg, f, SN_DROP_RESERVED);
	if (!sn_is_local(skb, p))
		return sn_drop(cfg, f, SN_DROP_NOT_LOCAL);

	sid = sn_get_be32(hdr + 4);
	if (sid == 0 || sid >= SN_MAX_NODES)
		return sn_drop(cfg, f, SN_DROP_UNKNOWN_SESSION);
	rx = bpf_map_lookup_elem(&sn_rx, &sid);
	if (!rx || !rx->addr)
		return sn_drop(cfg, f, SN_DROP_UNKNOWN_SESSION);
	f->peer = sid;
	if (rx->addr != p->saddr)
		return sn_drop(cfg, f, SN_DROP_BAD_SOURCE);
	epoch = (__u16)(hdr[10] << 8 | hdr[11]);
	if (rx->slot[0].state == SN_KEY_VALID && rx->slot[0].epoch == epoch)
		slot = 0;
	else if (rx->slot[1].state == SN_KEY_VALID &&
		 rx->slot[1].epoch == epoch)
		slot = 1;
	else
		return sn_drop(cfg, f, SN_DROP_NO_KEY);
	k = &rx->slot[slot];
	ctr = (__u64)sn_get_be32(hdr + 12) << 32 | sn_get_be32(hdr + 16);

	reason = sn_key_take(k, sc->key, &gen, &kepoch);
	if (!reason && kepoch != epoch)
		reason = SN_DROP_KEY_CHANGED;
	if (reason)
		return sn_drop(cfg, f, reason);

	idx = sid * 2 + slot;
	rp = bpf_map_lookup_elem(&sn_replay, &idx);
	if (!rp)
		return sn_drop(cfg, f, SN_DROP_HELPER);
	reason = sn_replay_check(rp, ctr, gen);
	if (reason)
		return sn_drop(cfg, f, reason);

	if (bpf_skb_load_bytes(skb, SN_L4_OFF + SN_CT_OFF, buf + SN_CT_OFF,
			       ct_len) ||
	    bpf_skb_load_bytes(skb, SN_L4_OFF + SN_CT_OFF + ct_len, tag,
			       SN_TAG_LEN))
		return sn_drop(cfg, f, SN_DROP_MALFORMED);
	hdr[8] = 0; /* csum_slot is not authenticated */
	hdr[9] = 0;
	sn_build_nonce(nonce, ctr);
	reason = sn_aead_open(sc->key, (__u8 *)nonce, hdr, SN_HDR_LEN, buf,
			      SN_CT_OFF, ct_len, tag);
	__builtin_memset(sc->key, 0, SN_KEY_LEN);
	if (reason)
		return sn_drop(cfg, f, SN_DROP_BAD_TAG);
	reason = sn_replay_update(rp, ctr, k, gen);
	if (reason)
		return sn_drop(cfg, f, reason);

	/* inner flow, now readable */
	f->proto = hdr[1];
	f->sport = 0;
	f->dport = 0;
	if (f->proto == IPPROTO_TCP_ || f->proto == IPPROTO_UDP_) {
		if (ct_len < (f->proto == IPPROTO_TCP_ ? 20u : 8u))
			return sn_drop(cfg, f, SN_DROP_MALFORMED);
		f->sport = (__u16)(buf[SN_CT_OFF] << 8 | buf[SN_CT_OFF + 1]);
		f->dport = (__u16)(buf[SN_CT_OFF + 2] << 8 | buf[SN_CT_OFF + 3]);
	}
	if (!sn_policy_ingress(cfg, f))
		return sn_drop(cfg, f, SN_DROP_POLICY_INGRESS);

	if (bpf_skb_store_bytes(skb, SN_L4_OFF, buf + SN_CT_OFF, ct_len,
				BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_change_tail(skb, ETH_HLEN + 20 + ct_len, 0) ||
	    sn_ip_rewrite(skb, IPPROTO_UDP_, f->proto, p->tot_len,
			  (__u16)(20 + ct_len)))
		return sn_drop(cfg, f, SN_DROP_HELPER);

	ps = bpf_map_lookup_elem(&sn_peer_stats, &sid);
	if (ps) {
		ps->rx_packets++;
		ps->rx_bytes += ct_len;
	}
	return TC_ACT_OK;
}

#endif
