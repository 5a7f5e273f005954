/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workflow's routing policy, stateless: exact-match lookups in
 * sn_policy, most specific first.  User space installs, for every egress
 * rule (local stage -> peer:port), a REPLY_IN entry (peer:port may answer),
 * and for every ingress rule (peer -> local port) a REPLY_OUT entry (the
 * local port may answer the peer).  Port 0 in a key means "any port".
 */
#ifndef SN_BPF_POLICY_H
#define SN_BPF_POLICY_H

#include "lib/maps.h"

static __always_inline int sn_pol_hit(__u32 peer, __u16 port, __u8 proto,
				      __u8 dir, __u8 kind, __u64 local)
{
	struct sn_policy_key k = {
		.peer = peer,
		.port = port,
		.proto = proto,
		.dir_kind = (__u8)(dir << 4 | kind),
		.local = local,
	};

	return bpf_map_lookup_elem(&sn_policy, &k) != NULL;
}

/* remote port then any port */
static __always_inline int sn_pol_hit2(__u32 peer, __u16 port, __u8 proto,
				       __u8 dir, __u8 kind, __u64 local)
{
	if (sn_pol_hit(peer, port, proto, dir, kind, local))
		return 1;
	return port && sn_pol_hit(peer, 0, proto, dir, kind, local);
}

/* May the local sender (skb's cgroup, sport) send proto/dport to peer? */
static __always_inline int sn_policy_egress(struct __sk_buff *skb,
					    const struct sn_config *cfg,
					    const struct sn_flow *f)
{
	if (sn_pol_hit2(f->peer, f->dport, f->proto, SN_DIR_EGRESS,
			SN_LOCAL_ANY, 0))
		return 1;
	if (cfg->flags & SN_CFG_CGROUP_RULES) {
		__u64 cg = bpf_skb_cgroup_id(skb);

		if (cg && sn_pol_hit2(f->peer, f->dport, f->proto,
				      SN_DIR_EGRESS, SN_LOCAL_CGROUP, cg))
			return 1;
	}
	if ((cfg->flags & SN_CFG_PORT_RULES) && f->sport &&
	    sn_pol_hit2(f->peer, f->dport, f->proto, SN_DIR_EGRESS,
			SN_LOCAL_PORT, f->sport))
		return 1;
	/* a reply from a local port that an ingress rule opened to peer */
	return sn_pol_hit2(f->peer, f->sport, f->proto, SN_DIR_REPLY_OUT,
			   SN_LOCAL_ANY, 0);
}

/* May peer send proto to local dport (or answer from its sport)? */
static __always_inline int sn_policy_ingress(const struct sn_flow *f)
{
	if (sn_pol_hit2(f->peer, f->dport, f->proto, SN_DIR_INGRESS,
			SN_LOCAL_ANY, 0))
		return 1;
	return sn_pol_hit2(f->peer, f->sport, f->proto, SN_DIR_REPLY_IN,
			   SN_LOCAL_ANY, 0);
}

#endif
