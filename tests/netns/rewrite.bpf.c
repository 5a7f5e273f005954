// SPDX-License-Identifier: Apache-2.0
/* A program sealnetd did not load, for test_engine_bypass: attached as a
 * filter of a root qdisc (which runs after the clsact egress hook), it
 * rewrites an IPv4 UDP datagram's destination port 7000 into 7002 and
 * lets it go on.  The device has no link-layer header (a TUN). */
/* no kernel headers: helper ids and return values only */
struct __sk_buff;

#define SEC(name) __attribute__((section(name), used))

static long (*skb_load_bytes)(const void *skb, unsigned int off, void *to,
			      unsigned int len) = (void *)26;
static long (*skb_store_bytes)(void *skb, unsigned int off, const void *from,
			       unsigned int len,
			       unsigned long long flags) = (void *)9;
static long (*l4_csum_replace)(void *skb, unsigned int off,
			       unsigned long long from, unsigned long long to,
			       unsigned long long flags) = (void *)11;

#define BE16(x) ((unsigned short)((((x) & 0xff) << 8) | ((x) >> 8)))

SEC("tc") int rewrite_tc(struct __sk_buff *skb)
{
	unsigned char h[24];
	unsigned short to = BE16(7002);

	if (skb_load_bytes(skb, 0, h, sizeof(h)))
		return -1;
	if (h[0] != 0x45 || h[9] != 17 || h[22] != 0x1b || h[23] != 0x58)
		return -1; /* not IPv4 (no options) UDP to port 7000 */
	/* 2-byte field; BPF_F_MARK_MANGLED_0: a zero checksum stays none */
	l4_csum_replace(skb, 26, BE16(7000), to, 2 | (1ull << 5));
	skb_store_bytes(skb, 22, &to, 2, 0);
	return -1; /* TC_ACT_UNSPEC: classified on (htb: its default) */
}

char LICENSE[] SEC("license") = "GPL";
