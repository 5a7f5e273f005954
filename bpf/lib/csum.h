/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internet checksums over the scratch buffer, and the kernel's view of the
 * skb's checksum state (CHECKSUM_PARTIAL: an offload will later write a
 * checksum at csum_start + csum_offset).
 */
#ifndef SN_BPF_CSUM_H
#define SN_BPF_CSUM_H

#include "lib/common.h"

#define SN_CHECKSUM_PARTIAL 3

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

static __always_inline __u16 sn_csum_fold_raw(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Unfolded one's-complement sum of buf[off .. off+len), len rounded up to
 * 4 with zero bytes the caller has written.  off must be a constant. */
static __always_inline __u32 sn_csum_buf(__u8 *buf, __u32 len)
{
	__s64 s = 0;

#pragma unroll
	for (int i = 0; i < (int)(SN_BUF_SIZE / 512); i++) {
		__u32 rem, n;

		if (len <= (__u32)i * 512)
			break;
		rem = len - (__u32)i * 512;
		n = rem > 512 ? 512 : rem;
		n = (n + 3) & 0x3fc;
		asm volatile("" : "+r"(n)); /* keep the bound check below */
		if (n > 512)
			n = 512;
		s = bpf_csum_diff(NULL, 0, (__be32 *)(buf + i * 512), n,
				  (__u32)s);
		if (s < 0)
			return 0;
	}
	return (__u32)s;
}

/* Pseudo-header sum (IPv4), unfolded. */
static __always_inline __u32 sn_pseudo_sum(__u32 saddr, __u32 daddr,
					   __u8 proto, __u16 len)
{
	__u64 s = (saddr & 0xffff) + (saddr >> 16) + (daddr & 0xffff) +
		  (daddr >> 16) + bpf_htons(proto) + bpf_htons(len);

	s = (s & 0xffffffff) + (s >> 32);
	return (__u32)s;
}

struct sn_csum_state {
	int partial;	  /* CHECKSUM_PARTIAL */
	__u32 start_off;  /* csum_start as an offset from the packet start */
	__u32 csum_off;	  /* csum_offset */
};

static __always_inline void sn_csum_state(struct __sk_buff *ctx,
					  struct sn_csum_state *cs)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	unsigned char *head, *data;

	cs->partial = BPF_CORE_READ_BITFIELD(skb, ip_summed) ==
		      SN_CHECKSUM_PARTIAL;
	cs->start_off = 0;
	cs->csum_off = 0;
	if (!cs->partial)
		return;
	head = skb->head;
	data = skb->data;
	cs->start_off = (__u32)skb->csum_start - (__u32)(data - head);
	cs->csum_off = skb->csum_offset;
}

#endif
