// SPDX-License-Identifier: Apache-2.0
/* A program sealnetd did not load, for the watchdog tests: it lets every
 * packet through (TC_ACT_OK / XDP_PASS).  Attached by tc or ip. */
/* no kernel headers: only the return values matter */
struct __sk_buff;
struct xdp_md;

#define SEC(name) __attribute__((section(name), used))

SEC("tc") int foreign_tc(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}

SEC("xdp") int foreign_xdp(struct xdp_md *ctx)
{
	return 2; /* XDP_PASS */
}

char LICENSE[] SEC("license") = "GPL";
