/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workflow's routing policy: exact-match rule lookups in sn_policy,
 * most specific first, plus stateful replies through sn_flows.
 *
 * A packet allowed by a rule in its own direction (egress: local stage ->
 * peer:port; ingress: peer -> local port) records its flow, keyed in local
 * orientation (peer, local port, remote port, protocol).  A packet that no
 * rule allows passes only when its flow is recorded and was seen within
 * the idle timeout, and only in the direction opposite to the packets that
 * opened it: the exact reverse of a flow the policy allowed.  A flow never
 * carries its own direction: a packet in the opening direction is judged
 * by the rules every time, so a cgroup- or port-scoped egress rule cannot
 * be ridden by another local process that reuses the 4-tuple (the flow
 * records in `origin` the set of directions whose rules opened it).
 * There are no reply rules: a rule never opens anything in the other
 * direction beyond the flows that its own packets created.  Port 0 in a
 * rule key means "any port".
 */
#ifndef SN_BPF_POLICY_H
#define SN_BPF_POLICY_H

#include "lib/maps.h"

#define SN_NS_PER_S 1000000000ull

static __always_inline struct sn_policy_val *
sn_pol_get(__u32 peer, __u16 port, __u8 proto, __u8 dir, __u8 kind, __u64 local)
{
	struct sn_policy_key k = {
		.peer = peer,
		.port = port,
		.proto = proto,
		.dir_kind = (__u8)(dir << 4 | kind),
		.local = local,
	};

	return bpf_map_lookup_elem(&sn_policy, &k);
}

/* remote port then any port */
static __always_inline struct sn_policy_val *sn_pol_get2(__u32 peer, __u16 port,
							 __u8 proto, __u8 dir,
							 __u8 kind, __u64 local)
{
	struct sn_policy_val *v =
		sn_pol_get(peer, port, proto, dir, kind, local);

	if (v || !port)
		return v;
	return sn_pol_get(peer, 0, proto, dir, kind, local);
}

static __always_inline __u64 sn_flow_timeout_ns(const struct sn_config *cfg,
						__u8 proto)
{
	return (__u64)(proto == IPPROTO_TCP_ ? cfg->flow_tcp_s :
					       cfg->flow_other_s) *
	       SN_NS_PER_S;
}

/* Record (or refresh) the flow of a packet a rule allowed in direction
 * dir (SN_DIR_EGRESS / SN_DIR_INGRESS). */
static __always_inline void sn_flow_open(const struct sn_flow_key *k,
					 __u32 rule_id, __u8 dir)
{
	struct sn_flow_val *v = bpf_map_lookup_elem(&sn_flows, k);
	__u64 now = bpf_ktime_get_ns();
	__u32 bit = 1u << dir;

	if (v) {
		/* one write a second at most: the entry is shared by CPUs */
		if (now - v->seen_ns > SN_NS_PER_S)
			v->seen_ns = now;
		if (!(v->origin & bit))
			__sync_fetch_and_or(&v->origin, bit);
		return;
	}
	{
		struct sn_flow_val nv = {
			.seen_ns = now,
			.rule_id = rule_id,
			.origin = bit,
		};

		bpf_map_update_elem(&sn_flows, k, &nv, BPF_ANY);
	}
}

/* Is a packet in direction dir the reply of a flow k that a rule opened
 * in the other direction, seen within the timeout? */
static __always_inline int sn_flow_known(const struct sn_config *cfg,
					 const struct sn_flow_key *k, __u8 dir)
{
	struct sn_flow_val *v = bpf_map_lookup_elem(&sn_flows, k);
	__u64 now = bpf_ktime_get_ns();

	if (!v || !(v->origin & (1u << (dir ^ 1))) ||
	    now - v->seen_ns > sn_flow_timeout_ns(cfg, k->proto))
		return 0;
	if (now - v->seen_ns > SN_NS_PER_S)
		v->seen_ns = now;
	return 1;
}

/* May the local sender (skb's cgroup, sport) send proto/dport to peer?
 * Allowed by a rule: records the flow. Otherwise only an open flow. */
static __always_inline int sn_policy_egress(struct __sk_buff *skb,
					    const struct sn_config *cfg,
					    const struct sn_flow *f)
{
	struct sn_flow_key fk = {.peer = f->peer,
				 .lport = f->sport,
				 .rport = f->dport,
				 .proto = f->proto};
	struct sn_policy_val *v;

	v = sn_pol_get2(f->peer, f->dport, f->proto, SN_DIR_EGRESS,
			SN_LOCAL_ANY, 0);
	if (!v && (cfg->flags & SN_CFG_CGROUP_RULES)) {
		__u64 cg = bpf_skb_cgroup_id(skb);

		if (cg)
			v = sn_pol_get2(f->peer, f->dport, f->proto,
					SN_DIR_EGRESS, SN_LOCAL_CGROUP, cg);
	}
	if (!v && (cfg->flags & SN_CFG_PORT_RULES) && f->sport)
		v = sn_pol_get2(f->peer, f->dport, f->proto, SN_DIR_EGRESS,
				SN_LOCAL_PORT, f->sport);
	if (v) {
		sn_flow_open(&fk, v->rule_id, SN_DIR_EGRESS);
		return 1;
	}
	return sn_flow_known(cfg, &fk, SN_DIR_EGRESS);
}

/* May peer send proto to local dport?  Allowed by a rule: records the
 * flow.  Otherwise only a reply within an open flow. */
static __always_inline int sn_policy_ingress(const struct sn_config *cfg,
					     const struct sn_flow *f)
{
	struct sn_flow_key fk = {.peer = f->peer,
				 .lport = f->dport,
				 .rport = f->sport,
				 .proto = f->proto};
	struct sn_policy_val *v;

	v = sn_pol_get2(f->peer, f->dport, f->proto, SN_DIR_INGRESS,
			SN_LOCAL_ANY, 0);
	if (v) {
		sn_flow_open(&fk, v->rule_id, SN_DIR_INGRESS);
		return 1;
	}
	return sn_flow_known(cfg, &fk, SN_DIR_INGRESS);
}

#endif
