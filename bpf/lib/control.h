/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one clear-text exemption: sealnetd's own MAKE connections (TCP,
 * cfg->control_port).  Nothing else to or from a protected peer passes
 * unsealed, whatever its ports.
 *
 *   egress:  TCP to a peer with either port == control_port passes in clear
 *            only when the packet carries sealnetd's socket mark
 *            (skb->mark == cfg->control_mark; sealnetd sets SO_MARK on its
 *            listener and on every socket it dials, and the kernel copies
 *            it to SYN-ACKs of the listener).  Any other sender: dropped
 *            (CONTROL_PORT), never sealed and never in clear.
 *   ingress: clear TCP from a peer with either port == control_port passes
 *            only when the kernel's socket lookup for its 4-tuple finds a
 *            socket carrying that mark: sealnetd's listener (a connection
 *            to the MAKE port) or a connection sealnetd dialed (its exact
 *            4-tuple).  A spoofed peer:control_port -> local:22 finds sshd
 *            (no mark) or nothing: dropped (CONTROL_PORT).
 *
 * What the exemption lets through is TLS 1.3 that sealnetd authenticates
 * itself (docs/protocol.md); a root process that sets the same mark on its
 * own socket is outside the threat model (it could detach the programs).
 */
#ifndef SN_BPF_CONTROL_H
#define SN_BPF_CONTROL_H

#include "lib/maps.h"
#include "lib/parse.h"

/* Is this a packet on the control port at all (either port)? */
static __always_inline int sn_control_port(const struct sn_config *cfg,
					   const struct sn_pkt *p)
{
	return cfg->control_port && p->proto == IPPROTO_TCP_ && p->ihl_ok &&
	       !p->frag &&
	       (p->dport == cfg->control_port || p->sport == cfg->control_port);
}

static __always_inline int sn_control_egress_ok(struct __sk_buff *skb,
						const struct sn_config *cfg)
{
	return cfg->control_mark && skb->mark == cfg->control_mark;
}

static __always_inline int sn_control_ingress_ok(struct __sk_buff *skb,
						 const struct sn_config *cfg,
						 const struct sn_pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int ok;

	if (!cfg->control_mark)
		return 0;
	t.ipv4.saddr = p->saddr;
	t.ipv4.daddr = p->daddr;
	t.ipv4.sport = bpf_htons(p->sport);
	t.ipv4.dport = bpf_htons(p->dport);
	sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	ok = sk->mark == cfg->control_mark;
	bpf_sk_release(sk);
	return ok;
}

#endif
