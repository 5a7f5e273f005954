/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one ABI shared by the BPF data plane (bpf/) and user space (lib/).
 *
 * Everything the kernel and user space exchange through maps and the ring
 * buffer is defined here, with its size pinned by _Static_assert so that a
 * change on one side cannot silently disagree with the other.  The wire
 * format itself is specified in docs/wire-format.md; the constants for it
 * live here too.
 *
 * Include from BPF after vmlinux.h (which provides __u8..__u64), from user
 * space after <linux/types.h>.
 */
#ifndef SEALNET_ABI_H
#define SEALNET_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* ---- wire format (docs/wire-format.md) ---------------------------------- */

#define SN_UDP_PORT_DEFAULT 51820u /* outer UDP destination port */
#define SN_HDR_LEN 20u		   /* sealnet header after the UDP header */
#define SN_TAG_LEN 16u		   /* Poly1305 tag, appended */
#define SN_KEY_LEN 32u		   /* ChaCha20-Poly1305 key */
#define SN_NONCE_LEN 12u
#define SN_UDP_HLEN 8u
#define SN_OVERHEAD (SN_UDP_HLEN + SN_HDR_LEN + SN_TAG_LEN) /* 44 */
#define SN_TYPE_DATA 1u

/* Offset, from the start of the sealnet header, of the 16-bit slot that a
 * checksum offload of the sender's kernel may write (never authenticated). */
#define SN_HDR_CSUM_SLOT 8u

struct sn_wire_hdr {
	__u8 type;	  /* SN_TYPE_DATA */
	__u8 next_proto;  /* inner IP protocol (6 TCP, 17 UDP, 1 ICMP, ...) */
	__u16 reserved;	  /* zero */
	__u32 session;	  /* big endian: sender's node id */
	__u16 csum_slot;  /* not authenticated, receiver ignores it */
	__u16 epoch;	  /* big endian: key epoch */
	__u32 counter_hi; /* big endian 64-bit packet counter, high word */
	__u32 counter_lo; /* ... low word */
};
_Static_assert(sizeof(struct sn_wire_hdr) == SN_HDR_LEN, "wire header");

/* ---- limits ------------------------------------------------------------- */

#define SN_MAX_NODES 1024u     /* node ids 1..SN_MAX_NODES-1 */
#define SN_BUF_SIZE 2048u      /* scratch buffer: largest inner L4 segment */
#define SN_BUF_PAD 128u	       /* slack after SN_BUF_SIZE for block tails */
#define SN_MAX_L4 (SN_BUF_SIZE - SN_UDP_HLEN - SN_HDR_LEN - SN_TAG_LEN)
#define SN_REPLAY_WORDS 64u    /* 64 x 64 bits = 4096-packet window */
#define SN_REPLAY_BITS (SN_REPLAY_WORDS * 64u)
#define SN_REPLAY_WINDOW (SN_REPLAY_BITS - 64u) /* guaranteed: 4032 */

/* ---- drop reasons: one enum, one counter each, one event each ----------- */

#define SN_DROP_REASONS(X)                                                    \
	X(NONE, "none")                                                       \
	X(MALFORMED, "malformed or truncated packet")                        \
	X(FRAGMENT, "IP fragment to or from a protected peer")               \
	X(IP_OPTIONS, "IPv4 options on a protected flow")                    \
	X(POLICY_EGRESS, "flow not allowed by the egress policy")            \
	X(POLICY_INGRESS, "flow not allowed by the ingress policy")          \
	X(UNPROTECTED, "unprotected destination or source (mode drop)")      \
	X(PLAINTEXT, "plaintext packet from a protected peer")               \
	X(UNKNOWN_SESSION, "unknown session id")                              \
	X(BAD_SOURCE, "session used from the wrong source address")          \
	X(NO_KEY, "no key installed for the session or epoch")               \
	X(BAD_TAG, "authentication tag mismatch")                            \
	X(REPLAY, "replayed packet (counter already seen)")                  \
	X(TOO_OLD, "counter behind the replay window")                       \
	X(COUNTER_LIMIT, "send counter reached its limit (rekey needed)")    \
	X(TOO_BIG, "packet larger than the protected MTU")                   \
	X(GSO, "GSO super-packet to a protected peer (offload not disabled)") \
	X(CSUM_OFFLOAD, "unexpected checksum offload layout")                \
	X(HELPER, "kernel helper failed while rewriting the packet")         \
	X(BAD_TYPE, "unknown sealnet message type")                          \
	X(IPV6_PEER, "IPv6 to or from a protected peer (not sealed: dropped)") \
	X(CONTROL_PORT, "clear-text control-port packet not of sealnetd's own MAKE sockets") \
	X(NOT_LOCAL, "sealed packet not addressed to this host (never forwarded)") \
	X(ETHERTYPE, "VLAN-tagged or non-IP frame to or from a protected peer (or unprotected mode drop)") \
	X(KEY_CHANGED, "key slot replaced while the packet was sealed or opened (rekey race)") \
	X(RESERVED, "sealnet header reserved bits not zero")                 \
	X(ENGINE_BYPASS, "packet to a protected peer that bypassed the SIMD engine") \
	X(ENGINE_HOOKS, "SIMD engine's device hooks not exactly sealnet's policy programs (fail closed)")

enum sn_drop_reason {
#define SN_X_ENUM(name, text) SN_DROP_##name,
	SN_DROP_REASONS(SN_X_ENUM)
#undef SN_X_ENUM
	SN_DROP_MAX
};

/* ---- configuration (array map sn_config, one entry) --------------------- */

enum sn_unprotected_mode {
	SN_UNPROT_PASS = 0,
	SN_UNPROT_DROP = 1,
};

struct sn_config {
	__u32 self_id;	      /* this node's id, put in the session field */
	__u16 udp_port;	      /* host order */
	__u16 control_port;   /* TCP port of sealnetd's MAKE; 0: none */
	__u8 unprot_egress;   /* enum sn_unprotected_mode */
	__u8 unprot_ingress;  /* enum sn_unprotected_mode */
	__u16 mtu;	      /* link MTU, for the TOO_BIG check */
	__u32 events_per_sec; /* ring-buffer events per CPU per second */
	__u64 counter_limit;  /* refuse to seal at this counter */
	__u32 flags;	      /* SN_CFG_* */
	__u32 control_mark;   /* SO_MARK of sealnetd's MAKE sockets; 0: none */
	__u32 flow_tcp_s;     /* idle timeout of a TCP flow entry, seconds */
	__u32 flow_other_s;   /* idle timeout of a UDP/ICMP/other flow entry */
	__u32 engine_mark;    /* SO_MARK of the SIMD engine's UDP socket
			       * (with SN_CFG_ENGINE_SIMD); 0: none */
	__u32 pad2;
};
_Static_assert(sizeof(struct sn_config) == 48, "sn_config");

#define SN_CONTROL_MARK_DEFAULT 0x5e1a0001u
#define SN_FLOW_TCP_S_DEFAULT 7440u  /* > the 2 h TCP keepalive default */
#define SN_FLOW_OTHER_S_DEFAULT 180u

#define SN_CFG_CGROUP_RULES (1u << 0) /* some egress rule names a cgroup */
#define SN_CFG_PORT_RULES (1u << 1)   /* some egress rule names a local port */
/* The SIMD engine seals and opens (lib/engine/): on the interface, egress
 * passes only the engine's sealed UDP (engine_mark) to peers, ingress
 * passes sealed UDP up to the engine's socket unopened; the TUN device's
 * programs (sn_tun_egress/sn_tun_ingress) enforce the policy. */
#define SN_CFG_ENGINE_SIMD (1u << 2)
#define SN_ENGINE_MARK_DEFAULT 0x5e1a0002u
/* skb->tc_index of a packet sn_tun_egress passed (it sets tc_classid;
 * the tc core copies its minor to tc_index on TC_ACT_OK); the device's
 * filter (sn_tun_filter, TUNSETFILTEREBPF) hands the engine nothing else:
 * a packet put on the device past its egress hook (a packet socket with
 * PACKET_QDISC_BYPASS: dev_direct_xmit runs no qdisc, clsact or tcx) has
 * 0 there */
#define SN_TUN_PASSED 0x5e1u
/* Sealed packets carry a receive steering hint in skb->hash: a
 * direction-symmetric hash of the inner 5-tuple (bpf/lib/steer.h).
 * Set by sealnetd on a device with one transmit and one receive queue
 * when it spreads receive work there (spread_receive). */
#define SN_CFG_STEER (1u << 3)

/* ---- peers -------------------------------------------------------------- */

/* sn_peer_by_addr: hash, IPv4 address (network order) -> node id
 * sn_peer_by_addr6: hash, IPv6 address (16 bytes) -> node id.  Version 1
 * seals IPv4 only; IPv6 to or from a peer's IPv6 address is dropped
 * (IPV6_PEER), never sent or accepted in clear. */

enum sn_key_state {
	SN_KEY_EMPTY = 0,
	SN_KEY_VALID = 1,
};

/*
 * One key slot.  `gen` is unique per installation (user space counts it
 * up for every sn_dp_install_key), so a reader that sees the same
 * (state VALID, gen) before and after using the slot knows the key and the
 * counter it took belong to one installation (docs/wire-format.md §7).
 */
struct sn_key {
	__u8 key[SN_KEY_LEN];
	__u16 epoch;
	__u8 state; /* enum sn_key_state */
	__u8 pad;
	__u32 gen;  /* installation generation, never 0 while VALID */
};
_Static_assert(sizeof(struct sn_key) == 40, "sn_key");

/* sn_tx: array indexed by peer node id. */
struct sn_tx {
	__u32 cur; /* slot (0/1) used to send */
	__u32 pad;
	struct sn_key slot[2];
};
_Static_assert(sizeof(struct sn_tx) == 88, "sn_tx");

/* sn_tx_ctr: array indexed by node id * 2 + slot of one 64-bit word,
 * (generation << SN_CTR_GEN_SHIFT) | next counter, written by the programs
 * only and frozen to the syscall; a newer key generation in the slot
 * restarts it at 0.  Key generations are per slot and below SN_GEN_MAX;
 * counters below SN_CTR_MAX.  sn_replay windows likewise carry the
 * generation they belong to and are reset by the programs. */
#define SN_CTR_GEN_SHIFT 40
#define SN_CTR_MAX	 ((1ull << SN_CTR_GEN_SHIFT) - 1)
#define SN_GEN_MAX	 ((1u << (64 - SN_CTR_GEN_SHIFT)) - 1)

/* sn_rx: array indexed by peer node id. */
struct sn_rx {
	__u32 addr; /* peer IPv4 address, network order; 0: no peer */
	__u32 pad;
	struct sn_key slot[2];
};
_Static_assert(sizeof(struct sn_rx) == 88, "sn_rx");

/* sn_replay: array indexed by node id * 2 + slot. RFC 6479 bitmap. The
 * bpf_spin_lock member is added by the BPF side's own definition, which
 * wraps this one; user space only zeroes entries. */
struct sn_replay_state {
	__u64 top; /* highest counter accepted + 1; 0: nothing yet */
	__u64 bitmap[SN_REPLAY_WORDS];
};
_Static_assert(sizeof(struct sn_replay_state) == 8 + 8 * SN_REPLAY_WORDS,
	       "sn_replay_state");

/* ---- policy (hash map sn_policy) ---------------------------------------- */

enum sn_local_kind {
	SN_LOCAL_ANY = 0,    /* any local sender */
	SN_LOCAL_CGROUP = 1, /* cgroup v2 id of the sending socket */
	SN_LOCAL_PORT = 2,   /* local (source) port */
};

enum sn_dir {
	SN_DIR_EGRESS = 0,    /* rule: local stage may send to peer:port */
	SN_DIR_INGRESS = 1,   /* rule: peer may send to local port */
};

struct sn_policy_key {
	__u32 peer;	/* peer node id */
	__u16 port;	/* remote port (egress) / local port (ingress); 0: any */
	__u8 proto;	/* IP protocol */
	__u8 dir_kind;	/* (enum sn_dir << 4) | enum sn_local_kind */
	__u64 local;	/* cgroup id or local port; 0 with SN_LOCAL_ANY */
};
_Static_assert(sizeof(struct sn_policy_key) == 16, "sn_policy_key");

struct sn_policy_val {
	__u32 rule_id; /* index of the rule in the config, for counters */
	__u32 pad;
};
_Static_assert(sizeof(struct sn_policy_val) == 8, "sn_policy_val");

/* ---- flows (LRU hash map sn_flows) -------------------------------------- */

/*
 * Replies are stateful: a packet allowed by a rule in its own direction
 * records its flow (in local orientation) and that direction in `origin`;
 * a packet that no rule allows passes only if its flow is recorded, was
 * opened by a rule of the *other* direction and was seen within the idle
 * timeout (cfg flow_tcp_s / flow_other_s).  Ports are 0 for protocols
 * without ports.
 */
struct sn_flow_key {
	__u32 peer;  /* peer node id (authenticated session on ingress) */
	__u16 lport; /* local port, host order */
	__u16 rport; /* remote port, host order */
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct sn_flow_key) == 12, "sn_flow_key");

struct sn_flow_val {
	__u64 seen_ns; /* bpf_ktime_get_ns() of the last packet, 1 s grain */
	__u32 rule_id; /* rule that opened the flow */
	__u32 origin;  /* bit 1 << enum sn_dir per direction whose rule opened
			* it (atomic or); the flow carries only the other */
};
_Static_assert(sizeof(struct sn_flow_val) == 16, "sn_flow_val");

#define SN_MAX_FLOWS 65536u
#define SN_MAX_RULES 16384u /* sn_policy entries */

/* ---- counters ----------------------------------------------------------- */

/* sn_drops: per-CPU array indexed by enum sn_drop_reason -> __u64 */

/* sn_peer_stats: per-CPU array indexed by peer node id. */
struct sn_peer_stats {
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 drops;
	__u64 passed_clear; /* control-plane exemption, in and out */
};
_Static_assert(sizeof(struct sn_peer_stats) == 48, "sn_peer_stats");

/* ---- events (ring buffer sn_events) ------------------------------------- */

struct sn_event {
	__u64 ts_ns;   /* bpf_ktime_get_ns() */
	__u32 reason;  /* enum sn_drop_reason */
	__u32 peer;    /* node id, 0 when unknown */
	__u32 saddr;   /* network order */
	__u32 daddr;   /* network order */
	__u16 sport;   /* host order; 0 when unknown (encrypted/absent) */
	__u16 dport;   /* host order */
	__u8 proto;
	__u8 dir;      /* enum sn_dir */
	__u16 pad;
	__u32 suppressed; /* events dropped by the rate limit before this one */
};
_Static_assert(sizeof(struct sn_event) == 40, "sn_event");

#endif /* SEALNET_ABI_H */
