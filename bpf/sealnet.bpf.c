// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* sealnet TC data plane (foundation: count and pass). */
#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} sn_count SEC(".maps");

static __always_inline int count(__u32 dir)
{
	__u64 *c = bpf_map_lookup_elem(&sn_count, &dir);

	if (c)
		*c += 1;
	return TC_ACT_OK;
}

SEC("tc")
int sn_egress(struct __sk_buff *skb)
{
	return count(0);
}

SEC("tc")
int sn_ingress(struct __sk_buff *skb)
{
	return count(1);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
