/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Receive steering hint for sealed packets (SN_CFG_STEER).
 *
 * Over veth the kernel keeps a packet's skb->hash from the sending host
 * to the receiving one, and the receiver's packet steering (rps_cpus,
 * which sealnetd sets on a single-queue device: lib/dataplane/rps.c)
 * picks the CPU that opens it from that hash (its top bits index the
 * CPU map: reciprocal_scale).  A sealed packet carries the hash of the
 * inner socket, a random value per socket, so a connection's data (opened
 * at one end) and its ACKs (opened at the other) land on the same CPU in
 * only about half of the connections.  Measured on 2 vCPUs (one iperf3
 * stream per connection, docs/performance.md "Receive steering"): with
 * both directions opened on one CPU a stream moves 470-790 Mbit/s, with
 * the two directions on different CPUs 330-380; one stream's throughput
 * was bimodal.
 *
 * The hint replaces the hash with a direction-symmetric hash of the inner
 * 5-tuple: the two directions of a connection get the same value, so
 * both are opened on the same CPU whatever the map, while different
 * connections (ports, peers) still spread over the CPUs.  It changes
 * nothing on the wire, and a real NIC computes its own hash on receive;
 * sealnetd sets the flag only where the egress device has one transmit
 * queue, so no transmit-queue choice (skb_tx_hash) is affected either.
 */
#ifndef SN_BPF_STEER_H
#define SN_BPF_STEER_H

/* murmur3's 32-bit finaliser: every input bit reaches the top bits */
static __always_inline __u32 sn_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* the same value for (s, d, sp, dp) and (d, s, dp, sp); never 0 (a 0
 * hash turns packet steering off for the packet) */
static __always_inline __u32 sn_steer_hash(__u32 saddr, __u32 daddr,
					   __u16 sport, __u16 dport, __u8 proto)
{
	__u32 h = sn_fmix32((saddr ^ daddr) * 0x9e3779b1u ^
			    ((__u32)(sport ^ dport) << 8 | proto));

	return h ? h : 1;
}

static __always_inline void sn_steer(struct __sk_buff *skb,
				     const struct sn_config *cfg,
				     const struct sn_pkt *p)
{
	if (cfg->flags & SN_CFG_STEER)
		bpf_set_hash(skb, sn_steer_hash(p->saddr, p->daddr, p->sport,
						p->dport, p->proto));
}

#endif
