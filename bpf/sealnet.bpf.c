// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * sealnet data plane: two TC (clsact) programs.
 *
 * egress:  IPv4 to a protected peer -> control-port exemption (sealnetd's
 *          marked sockets only, lib/control.h), policy (cgroup / local
 *          port / peer / port / protocol, stateful replies, lib/policy.h),
 *          seal.  Anything else to a protected peer is dropped, never sent
 *          in clear.  Unprotected destinations: cfg->unprot_egress.
 * ingress: sealed UDP on cfg->udp_port -> open (lib/open.h).  Plaintext
 *          from a protected peer is dropped, except TCP of a connection
 *          of sealnetd's own MAKE sockets (lib/control.h).
 * Neither IPv4 nor IPv6 (ARP, VLAN tags, other ethertypes): lib/l2.h.
 *
 * SIMD engine mode (cfg->flags & SN_CFG_ENGINE_SIMD, lib/engine/): the
 * engine in sealnetd seals and opens; these programs keep the policy.
 *   egress:  to a peer, only the engine's sealed UDP (skb->mark ==
 *            cfg->engine_mark, UDP udp_port -> udp_port) and the control
 *            exemption pass; anything else is dropped (ENGINE_BYPASS),
 *            never sealed here (the engine owns the counters).
 *   ingress: sealed UDP goes up, unopened, to the engine's socket; the rest
 *            as above (plaintext from a peer dropped).
 *   sn_tun_egress / sn_tun_ingress on the engine's TUN device: egress
 *            policy before a byte reaches the engine; ingress policy on the
 *            packets the engine opened.
 *
 * Protocol: docs/wire-format.md.  Maps and drop reasons: sealnet/abi.h.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/control.h"
#include "lib/l2.h"
#include "lib/seal.h"
#include "lib/open.h"

static __always_inline struct sn_config *sn_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sn_config, &zero);
}

static __always_inline void sn_count_clear(__u32 peer)
{
	struct sn_peer_stats *ps = bpf_map_lookup_elem(&sn_peer_stats, &peer);

	if (ps)
		ps->passed_clear++;
}

/* IPv6 (not sealed in version 1): to or from a protected peer's IPv6
 * address it is dropped; otherwise the unprotected mode decides. */
static __always_inline int sn_ipv6(struct __sk_buff *skb,
				   const struct sn_config *cfg, __u8 unprot,
				   struct sn_flow *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct sn_in6 a;
	__u32 *peer;

	if ((void *)(ip6 + 1) > end)
		return sn_drop(cfg, f, SN_DROP_MALFORMED);
	__builtin_memcpy(a.a, f->dir == SN_DIR_EGRESS ? (void *)&ip6->daddr :
							(void *)&ip6->saddr,
			 16);
	peer = bpf_map_lookup_elem(&sn_peer_by_addr6, &a);
	if (peer) {
		f->peer = *peer;
		return sn_drop(cfg, f, SN_DROP_IPV6_PEER);
	}
	if (unprot == SN_UNPROT_PASS)
		return TC_ACT_OK;
	return sn_drop(cfg, f, SN_DROP_UNPROTECTED);
}

/*
 * Parse into p and f.  Returns 1 when the packet is decided here (verdict
 * in *verdict): not IPv4 (IPv6: sn_ipv6(); the rest: sn_l2_other()) or
 * malformed.
 */
static __always_inline int sn_classify(struct __sk_buff *skb,
				       const struct sn_config *cfg, __u8 unprot,
				       struct sn_pkt *p, struct sn_flow *f,
				       int *verdict)
{
	int r = sn_parse(skb, p);

	if (r) {
		if (r < 0)
			*verdict = sn_drop(cfg, f, SN_DROP_MALFORMED);
		else if (p->eth_proto == ETH_P_IPV6)
			*verdict = sn_ipv6(skb, cfg, unprot, f);
		else
			*verdict = sn_l2_other(skb, cfg, unprot, p->eth_proto,
					       f);
		return 1;
	}
	f->saddr = p->saddr;
	f->daddr = p->daddr;
	f->sport = p->sport;
	f->dport = p->dport;
	f->proto = p->proto;
	return 0;
}

/*
 * The remote address is not a peer's: the unprotected mode decides.  It
 * is a peer's: set f->peer; the control port is decided here (*verdict:
 * in clear for sealnetd's own connections, else dropped; returns 1);
 * anything else is for the caller (returns 0).
 */
static __always_inline int sn_peer_or_unprotected(struct __sk_buff *skb,
						  const struct sn_config *cfg,
						  const struct sn_pkt *p,
						  __u32 remote, __u8 unprot,
						  struct sn_flow *f,
						  int *verdict)
{
	__u32 *peer = bpf_map_lookup_elem(&sn_peer_by_addr, &remote);
	int ok;

	if (!peer) {
		*verdict = unprot == SN_UNPROT_PASS ?
				   TC_ACT_OK :
				   sn_drop(cfg, f, SN_DROP_UNPROTECTED);
		return 1;
	}
	f->peer = *peer;
	if (!sn_control_port(cfg, p))
		return 0;
	ok = f->dir == SN_DIR_EGRESS ? sn_control_egress_ok(skb, cfg) :
				       sn_control_ingress_ok(skb, cfg, p);
	if (ok) {
		sn_count_clear(f->peer);
		*verdict = TC_ACT_OK;
	} else {
		*verdict = sn_drop(cfg, f, SN_DROP_CONTROL_PORT);
	}
	return 1;
}

SEC("tc")
int sn_egress(struct __sk_buff *skb)
{
	struct sn_config *cfg = sn_cfg();
	struct sn_flow f = { .dir = SN_DIR_EGRESS };
	struct sn_pkt p;
	int verdict;

	if (!cfg)
		return TC_ACT_SHOT;
	if (sn_classify(skb, cfg, cfg->unprot_egress, &p, &f, &verdict) ||
	    sn_peer_or_unprotected(skb, cfg, &p, p.daddr, cfg->unprot_egress,
				   &f, &verdict))
		return verdict;
	if (cfg->flags & SN_CFG_ENGINE_SIMD) {
		if (skb->mark == cfg->engine_mark && cfg->engine_mark &&
		    p.proto == IPPROTO_UDP_ && p.ihl_ok &&
		    p.sport == cfg->udp_port && p.dport == cfg->udp_port)
			return TC_ACT_OK;
		return sn_drop(cfg, &f, SN_DROP_ENGINE_BYPASS);
	}
	if (!p.ihl_ok)
		return sn_drop(cfg, &f, SN_DROP_IP_OPTIONS);
	if (p.frag)
		return sn_drop(cfg, &f, SN_DROP_FRAGMENT);
	if (!sn_policy_egress(skb, cfg, &f))
		return sn_drop(cfg, &f, SN_DROP_POLICY_EGRESS);
	return sn_seal(skb, cfg, &p, &f);
}

SEC("tc")
int sn_ingress(struct __sk_buff *skb)
{
	struct sn_config *cfg = sn_cfg();
	struct sn_flow f = { .dir = SN_DIR_INGRESS };
	struct sn_pkt p;
	int verdict;

	if (!cfg)
		return TC_ACT_SHOT;
	if (sn_classify(skb, cfg, cfg->unprot_ingress, &p, &f, &verdict))
		return verdict;
	if (p.proto == IPPROTO_UDP_ && p.dport == cfg->udp_port) {
		if (cfg->flags & SN_CFG_ENGINE_SIMD)
			return TC_ACT_OK; /* opened by the engine */
		return sn_open(skb, cfg, &p, &f);
	}
	if (sn_peer_or_unprotected(skb, cfg, &p, p.saddr, cfg->unprot_ingress,
				   &f, &verdict))
		return verdict;
	return sn_drop(cfg, &f, SN_DROP_PLAINTEXT);
}

/*
 * The SIMD engine's TUN device (no link-layer header).  Everything routed
 * there goes to a peer (policy routing, lib/engine/route.c): egress is the
 * policy check before the engine reads the packet; a GSO super-packet is
 * checked once, by its headers, like the segments it becomes.
 */
SEC("tc")
int sn_tun_egress(struct __sk_buff *skb)
{
	struct sn_config *cfg = sn_cfg();
	struct sn_flow f = { .dir = SN_DIR_EGRESS };
	struct sn_pkt p;
	__u32 *peer;
	int r;

	if (!cfg)
		return TC_ACT_SHOT;
	r = sn_parse_l3(skb, &p);
	if (r)
		return sn_drop(cfg, &f,
			       r < 0 ? SN_DROP_MALFORMED : SN_DROP_ETHERTYPE);
	f.saddr = p.saddr;
	f.daddr = p.daddr;
	f.sport = p.sport;
	f.dport = p.dport;
	f.proto = p.proto;
	peer = bpf_map_lookup_elem(&sn_peer_by_addr, &p.daddr);
	if (!peer)
		return sn_drop(cfg, &f, SN_DROP_UNPROTECTED);
	f.peer = *peer;
	if (sn_control_port(cfg, &p))
		return sn_drop(cfg, &f, SN_DROP_CONTROL_PORT);
	if (!p.ihl_ok)
		return sn_drop(cfg, &f, SN_DROP_IP_OPTIONS);
	if (p.frag)
		return sn_drop(cfg, &f, SN_DROP_FRAGMENT);
	if (!sn_policy_egress(skb, cfg, &f))
		return sn_drop(cfg, &f, SN_DROP_POLICY_EGRESS);
	/* the tc core sets skb->tc_index from it (TC_H_MIN of the result's
	 * classid, on TC_ACT_OK): sn_tun_filter lets the packet through */
	skb->tc_classid = SN_TUN_PASSED;
	return TC_ACT_OK;
}

/*
 * The TUN device's own filter (TUNSETFILTEREBPF, run by the driver on
 * every packet it queues for the engine): only what sn_tun_egress passed.
 * A packet handed to the device without its egress hook running
 * (PACKET_QDISC_BYPASS: dev_direct_xmit skips the qdisc, clsact and tcx;
 * no hook changes, so the engine's gate stays open), or while the hook is
 * not sealnet's (deleted, replaced), is dropped here as ENGINE_HOOKS:
 * counted and reported like the engine's own drops of that reason.
 * (A socket filter has no direct packet access: the flow is read with
 * bpf_skb_load_bytes, IPv4 only, best effort.)
 */
SEC("socket")
int sn_tun_filter(struct __sk_buff *skb)
{
	struct sn_flow f = {.dir = SN_DIR_EGRESS};
	__u8 h[20];
	__u16 ports[2];
	__u32 *peer;

	if (skb->tc_index == SN_TUN_PASSED)
		return (int)skb->len;
	if (!bpf_skb_load_bytes(skb, 0, h, sizeof(h)) && h[0] == 0x45) {
		__builtin_memcpy(&f.saddr, h + 12, 4);
		__builtin_memcpy(&f.daddr, h + 16, 4);
		f.proto = h[9];
		if ((f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP) &&
		    !bpf_skb_load_bytes(skb, 20, ports, sizeof(ports))) {
			f.sport = bpf_ntohs(ports[0]);
			f.dport = bpf_ntohs(ports[1]);
		}
		peer = bpf_map_lookup_elem(&sn_peer_by_addr, &f.daddr);
		if (peer)
			f.peer = *peer;
	}
	sn_drop(sn_cfg(), &f, SN_DROP_ENGINE_HOOKS);
	return 0;
}

/* Packets the engine opened and wrote to the TUN device: the engine
 * checked that the source address is the session's peer (BAD_SOURCE); the
 * ingress policy decides on the decrypted protocol and ports. */
SEC("tc")
int sn_tun_ingress(struct __sk_buff *skb)
{
	struct sn_config *cfg = sn_cfg();
	struct sn_flow f = { .dir = SN_DIR_INGRESS };
	struct sn_pkt p;
	__u32 *peer;
	int r;

	if (!cfg)
		return TC_ACT_SHOT;
	r = sn_parse_l3(skb, &p);
	if (r)
		return sn_drop(cfg, &f,
			       r < 0 ? SN_DROP_MALFORMED : SN_DROP_ETHERTYPE);
	f.saddr = p.saddr;
	f.daddr = p.daddr;
	f.sport = p.sport;
	f.dport = p.dport;
	f.proto = p.proto;
	peer = bpf_map_lookup_elem(&sn_peer_by_addr, &p.saddr);
	if (!peer)
		return sn_drop(cfg, &f, SN_DROP_UNKNOWN_SESSION);
	f.peer = *peer;
	if (!sn_policy_ingress(cfg, &f))
		return sn_drop(cfg, &f, SN_DROP_POLICY_INGRESS);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
