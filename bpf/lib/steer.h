/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Receive steering hint for sealed packets (SN_CFG_STEER).
 *
 * Over veth the kernel keeps a packet's skb->hash from the sending host
 * to the receiving one, and the receiver's packet steering (rps_cpus,
 * which sealnetd sets on a single-queue device: lib/dataplane/rps.c)
 * picks the CPU that opens it from that hash: the top bits of the hash
 * index the CPU map (reciprocal_scale).  A sealed packet carries the
 * hash of the inner socket (a random value per TCP connection), so the
 * two directions of one connection, data one way and ACKs the other,
 * land on the same CPU in about half of the connections: then one CPU
 * opens both directions and seals what the ACKs clock out, while the
 * other idles (one stream's throughput is bimodal, docs/performance.md).
 *
 * The hint keeps the socket hash's low 31 bits (flows still spread) and
 * sets the top bit to the direction: 1 when the source address is the
 * lower of the two, 0 otherwise.  The two directions of a connection
 * thus fall into opposite halves of the receiver's CPU map, so they are
 * opened on different CPUs whenever the map has two or more.  It changes
 * nothing on the wire, and a real NIC computes its own hash on receive;
 * sealnetd sets the flag only where the egress device has one transmit
 * queue, so no transmit-queue choice (skb_tx_hash) is affected either.
 */
#ifndef SN_BPF_STEER_H
#define SN_BPF_STEER_H

static __always_inline void sn_steer(struct __sk_buff *skb,
				     const struct sn_config *cfg, __u32 saddr,
				     __u32 daddr)
{
	__u32 h;

	if (!(cfg->flags & SN_CFG_STEER))
		return;
	h = bpf_get_hash_recalc(skb) & 0x7fffffffu;
	if (bpf_ntohl(saddr) < bpf_ntohl(daddr))
		h |= 0x80000000u;
	bpf_set_hash(skb, h);
}

#endif
