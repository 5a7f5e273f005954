/* SPDX-License-Identifier: Apache-2.0 */
/* The data plane's maps.  Layouts of the values are in sealnet/abi.h. */
#ifndef SN_BPF_MAPS_H
#define SN_BPF_MAPS_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sn_config);
} sn_config SEC(".maps");

/* protected peers: IPv4 address (network order) -> node id */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SN_MAX_NODES);
	__type(key, __u32);
	__type(value, __u32);
} sn_peer_by_addr SEC(".maps");

struct sn_in6 {
	__u8 a[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SN_MAX_NODES);
	__type(key, struct sn_in6);
	__type(value, __u32);
} sn_peer_by_addr6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SN_MAX_NODES);
	__type(key, __u32);
	__type(value, struct sn_tx);
} sn_tx SEC(".maps");

/* Send counters: one 64-bit word per tx slot, generation << 40 | next
 * counter (SN_CTR_* in abi.h), written by the programs only (compare and
 * swap): the first packet of a newer key generation in the slot restarts
 * the sequence at 0.  The loader freezes the map (BPF_MAP_FREEZE), so no
 * process, root included, can rewind a counter through the bpf()
 * syscall (docs/wire-format.md §7). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SN_MAX_NODES * 2);
	__type(key, __u32);
	__type(value, __u64);
} sn_tx_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SN_MAX_NODES);
	__type(key, __u32);
	__type(value, struct sn_rx);
} sn_rx SEC(".maps");

struct sn_replay {
	struct bpf_spin_lock lock;
	__u32 gen; /* installation the window belongs to; 0: none yet */
	struct sn_replay_state st;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SN_MAX_NODES * 2);
	__type(key, __u32);
	__type(value, struct sn_replay);
} sn_replay SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SN_MAX_RULES);
	__type(key, struct sn_policy_key);
	__type(value, struct sn_policy_val);
} sn_policy SEC(".maps");

/* stateful replies (lib/policy.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SN_MAX_FLOWS);
	__type(key, struct sn_flow_key);
	__type(value, struct sn_flow_val);
} sn_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SN_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sn_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SN_MAX_NODES);
	__type(key, __u32);
	__type(value, struct sn_peer_stats);
} sn_peer_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} sn_events SEC(".maps");

struct sn_evrate {
	__u64 window_start;
	__u32 count;
	__u32 suppressed;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sn_evrate);
} sn_evrate SEC(".maps");

/* scratch: UDP header + sealnet header + inner L4 segment + tag */
struct sn_scratch {
	__u8 b[SN_BUF_SIZE + SN_BUF_PAD];
	/* kept here, not on the stack: the AEAD call chain needs it */
	__u8 hdr[SN_HDR_LEN];
	__u8 tag[SN_TAG_LEN];
	__u32 nonce[3];
	__u8 key[SN_KEY_LEN]; /* private copy of the slot's key */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sn_scratch);
} sn_scratch SEC(".maps");

#endif
