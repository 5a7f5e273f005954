/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Egress: seal one IPv4 packet to a protected peer (docs/wire-format.md).
 *
 *   before: | eth | IPv4 (proto P) | L4 header + payload (len L)        |
 *   after:  | eth | IPv4 (proto 17)| UDP | sealnet hdr | ciphertext (L) | tag |
 *
 * The packet grows at the tail (bpf_skb_change_tail) and everything after
 * the IPv4 header is rewritten from the scratch buffer, so the outer UDP
 * header sits exactly where the inner L4 header was.  That keeps a pending
 * checksum offload (CHECKSUM_PARTIAL, csum_start = that offset) harmless:
 * with csum_offset 6 (UDP) it completes the outer UDP checksum, with 16
 * (TCP) it writes the unauthenticated csum_slot of the sealnet header.  We
 * complete the inner L4 checksum ourselves before encrypting.
 */
#ifndef SN_BPF_SEAL_H
#define SN_BPF_SEAL_H

#include "lib/aead.h"
#include "lib/csum.h"
#include "lib/drop.h"
#include "lib/parse.h"
#include "lib/steer.h"

#define SN_CT_OFF (SN_UDP_HLEN + SN_HDR_LEN) /* 28: ciphertext in scratch */

static __always_inline void sn_put_be16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static __always_inline void sn_put_be32(__u8 *p, __u32 v)
{
	p[0] = (__u8)(v >> 24);
	p[1] = (__u8)(v >> 16);
	p[2] = (__u8)(v >> 8);
	p[3] = (__u8)v;
}

/* The sealnet header (AAD form: csum_slot zero) and the nonce. */
static __always_inline void sn_build_hdr(__u8 *h, __u8 next_proto,
					 __u32 session, __u16 epoch, __u64 ctr)
{
	h[0] = SN_TYPE_DATA;
	h[1] = next_proto;
	h[2] = 0;
	h[3] = 0;
	sn_put_be32(h + 4, session);
	h[8] = 0;
	h[9] = 0;
	sn_put_be16(h + 10, epoch);
	sn_put_be32(h + 12, (__u32)(ctr >> 32));
	sn_put_be32(h + 16, (__u32)ctr);
}

/* 32 zero bits || counter, little endian (RFC 8439 §2.8 layout).  Kept
 * as 32-bit words so the stack stores stay aligned (bpfel target). */
struct sn_nonce {
	__u32 w[3];
};

static __always_inline void sn_build_nonce(struct sn_nonce *n, __u64 ctr)
{
	n->w[0] = 0;
	n->w[1] = (__u32)ctr;
	n->w[2] = (__u32)(ctr >> 32);
}

#define sn_barrier() asm volatile("" ::: "memory")

/*
 * Take a consistent (key, epoch, generation) from slot k into sc->key: the
 * slot is read VALID with generation gen before, and again after, the copy.
 * User space never rewrites a VALID slot in place: it empties it first
 * (state EMPTY, gen 0) and installs with a new, never reused, generation,
 * so equal generations around the copy mean the copy is of one
 * installation.  Returns 0 or a drop reason.
 */
static __always_inline __u32 sn_key_take(const struct sn_key *k,
					 __u8 *dst, __u32 *gen, __u16 *epoch)
{
	__u32 g = *(volatile const __u32 *)&k->gen;

	if (*(volatile const __u8 *)&k->state != SN_KEY_VALID || !g)
		return SN_DROP_NO_KEY;
	sn_barrier();
	__builtin_memcpy(dst, k->key, SN_KEY_LEN);
	*epoch = *(volatile const __u16 *)&k->epoch;
	sn_barrier();
	if (*(volatile const __u8 *)&k->state != SN_KEY_VALID ||
	    *(volatile const __u32 *)&k->gen != g)
		return SN_DROP_KEY_CHANGED;
	*gen = g;
	return SN_DROP_NONE;
}

/*
 * Complete a pending inner L4 checksum (CHECKSUM_PARTIAL, csum_offset co:
 * 6 UDP, 16 TCP) of the segment of l4len bytes at buf + SN_CT_OFF, before
 * it is encrypted.  0, or -EINVAL for arguments out of range (the caller
 * checked them: never for its packets).
 *
 * A global (non-static) function: the verifier checks it once, and its
 * result is one unknown scalar at the call.  Inline, the sum's chunk loop
 * left the caller with about ten distinct states per path, and every one
 * walked the rest of sn_seal again: 90 walks of the header and AEAD
 * set-up per program load, half of sn_egress's verification
 * (docs/performance.md).  Per packet it is one bpf-to-bpf call.
 */
__noinline int sn_seal_csum(struct sn_aead_buf *b, __u32 l4len, __u32 co,
			    __u32 udp)
{
	__u8 *buf;
	__u32 s;
	__u16 c;

	if (!b || l4len > SN_MAX_L4 || (co != 6 && co != 16) || co + 2 > l4len)
		return -22;
	buf = b->b + SN_CT_OFF;
	*(__u32 *)(buf + (l4len & (SN_BUF_SIZE - 1))) = 0;
	s = sn_csum_buf(buf, l4len);
	c = ~sn_csum_fold_raw(s);
	if (c == 0 && udp)
		c = 0xffff;
	*(__u16 *)(buf + (co & 31)) = c;
	return 0;
}

/* Returns a TC verdict. */
static __always_inline int sn_seal(struct __sk_buff *skb,
				   const struct sn_config *cfg,
				   const struct sn_pkt *p, struct sn_flow *f)
{
	struct sn_csum_state cs;
	struct sn_scratch *sc;
	struct sn_tx *tx;
	const struct sn_key *k;
	struct sn_peer_stats *ps;
	__u8 *hdr, *tag;
	struct sn_nonce *nonce;
	__u32 zero = 0, l4len, slot, idx, total, gen, g2, reason;
	__u16 epoch;
	__u64 *ctrp, ctr = 0;
	__u8 *buf;

	if (skb->gso_segs > 1)
		return sn_drop(cfg, f, SN_DROP_GSO);
	l4len = (__u32)p->tot_len - 20;
	if (l4len > SN_MAX_L4 || (__u32)p->tot_len + SN_OVERHEAD > cfg->mtu)
		return sn_drop(cfg, f, SN_DROP_TOO_BIG);
	if (l4len == 0) /* an IPv4 header and nothing else */
		return sn_drop(cfg, f, SN_DROP_MALFORMED);

	sc = bpf_map_lookup_elem(&sn_scratch, &zero);
	if (!sc)
		return sn_drop(cfg, f, SN_DROP_HELPER);
	tx = bpf_map_lookup_elem(&sn_tx, &f->peer);
	if (!tx)
		return sn_drop(cfg, f, SN_DROP_NO_KEY);
	slot = *(volatile __u32 *)&tx->cur & 1;
	k = &tx->slot[slot];
	idx = f->peer * 2 + slot;
	ctrp = bpf_map_lookup_elem(&sn_tx_ctr, &idx);
	if (!ctrp)
		return sn_drop(cfg, f, SN_DROP_NO_KEY);
	/*
	 * Key and counter as one unit (docs/wire-format.md §7): generation
	 * g2 VALID, then a counter of generation g2's sequence (one compare
	 * and swap of the slot's word: a newer generation restarts the
	 * sequence at 0, an older one than the word's is stale), then the
	 * key copy and the generation again.  A slot's generations only
	 * grow, so a sequence is never restarted twice; a key copied from
	 * another installation than g2 shows as a changed generation and
	 * the packet is dropped (its counter is consumed, never reused).
	 */
	g2 = *(volatile const __u32 *)&k->gen;
	if (*(volatile const __u8 *)&k->state != SN_KEY_VALID || !g2 ||
	    g2 > SN_GEN_MAX)
		return sn_drop(cfg, f, SN_DROP_NO_KEY);
	reason = SN_DROP_HELPER; /* contention: 8 lost races in a row */
	for (int i = 0; i < 8; i++) {
		__u64 old = *(volatile __u64 *)ctrp, nw;
		__u32 og = (__u32)(old >> SN_CTR_GEN_SHIFT);

		if (g2 < og) {
			reason = SN_DROP_KEY_CHANGED;
			break;
		}
		ctr = g2 > og ? 0 : old & SN_CTR_MAX;
		if (ctr >= SN_CTR_MAX) {
			reason = SN_DROP_COUNTER_LIMIT;
			break;
		}
		nw = (__u64)g2 << SN_CTR_GEN_SHIFT | (ctr + 1);
		if (__sync_val_compare_and_swap(ctrp, old, nw) == old) {
			reason = SN_DROP_NONE;
			break;
		}
	}
	if (reason)
		return sn_drop(cfg, f, reason);
	reason = sn_key_take(k, sc->key, &gen, &epoch);
	if (!reason && gen != g2)
		reason = SN_DROP_KEY_CHANGED;
	if (reason)
		return sn_drop(cfg, f, reason);
	if (ctr >= cfg->counter_limit)
		return sn_drop(cfg, f, SN_DROP_COUNTER_LIMIT);
	buf = sc->b;
	hdr = sc->hdr;
	tag = sc->tag;
	nonce = (struct sn_nonce *)sc->nonce;
	if (bpf_skb_load_bytes(skb, SN_L4_OFF, buf + SN_CT_OFF, l4len))
		return sn_drop(cfg, f, SN_DROP_MALFORMED);

	/* Complete a pending inner checksum, check the offload layout. */
	sn_csum_state(skb, &cs);
	if (cs.partial) {
		__u32 co = cs.csum_off;

		if (cs.start_off != SN_L4_OFF || (co != 6 && co != 16) ||
		    co + 2 > l4len ||
		    sn_seal_csum((struct sn_aead_buf *)buf, l4len, co,
				 p->proto == IPPROTO_UDP_))
			return sn_drop(cfg, f, SN_DROP_CSUM_OFFLOAD);
	}

	sn_build_hdr(hdr, p->proto, cfg->self_id, epoch, ctr);
	sn_build_nonce(nonce, ctr);
	reason = sn_aead_seal(sc->key, (__u8 *)nonce, hdr, SN_HDR_LEN, buf,
			      SN_CT_OFF, l4len, tag);
	__builtin_memset(sc->key, 0, SN_KEY_LEN);
	if (reason)
		return sn_drop(cfg, f, SN_DROP_HELPER);
	__builtin_memcpy(buf + SN_CT_OFF + (l4len & (SN_BUF_SIZE - 1)), tag,
			 SN_TAG_LEN);

	/* UDP header + sealnet header in front of the ciphertext */
	total = SN_UDP_HLEN + SN_HDR_LEN + l4len + SN_TAG_LEN;
	sn_put_be16(buf + 0, cfg->udp_port);
	sn_put_be16(buf + 2, cfg->udp_port);
	sn_put_be16(buf + 4, (__u16)total);
	*(__u16 *)(buf + 6) = 0; /* no outer checksum unless offloaded */
	__builtin_memcpy(buf + SN_UDP_HLEN, hdr, SN_HDR_LEN);
	if (cs.partial) {
		/* Seed the offload with the outer pseudo-header: it then
		 * leaves a valid outer UDP checksum whichever slot it fills. */
		__u16 seed = sn_csum_fold_raw(sn_pseudo_sum(
			p->saddr, p->daddr, IPPROTO_UDP_, (__u16)total));

		if (cs.csum_off == 6) {
			*(__u16 *)(buf + 6) = seed;
		} else {
			*(__u16 *)(buf + 6) = 0xffff;
			*(__u16 *)(buf + SN_UDP_HLEN + SN_HDR_CSUM_SLOT) = seed;
		}
	}

	if (bpf_skb_change_tail(skb, skb->len + SN_OVERHEAD, 0))
		return sn_drop(cfg, f, SN_DROP_HELPER);
	if (total > SN_BUF_SIZE ||
	    bpf_skb_store_bytes(skb, SN_L4_OFF, buf, total & (SN_BUF_SIZE * 2 - 1), 0))
		return sn_drop(cfg, f, SN_DROP_HELPER);
	if (sn_ip_rewrite(skb, p->proto, IPPROTO_UDP_, p->tot_len,
			  (__u16)(p->tot_len + SN_OVERHEAD)) ||
	    sn_ip_set_df(skb))
		return sn_drop(cfg, f, SN_DROP_HELPER);

	sn_steer(skb, cfg, p);
	ps = bpf_map_lookup_elem(&sn_peer_stats, &f->peer);
	if (ps) {
		ps->tx_packets++;
		ps->tx_bytes += l4len;
	}
	return TC_ACT_OK;
}

#endif
