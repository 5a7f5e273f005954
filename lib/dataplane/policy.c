// SPDX-License-Identifier: Apache-2.0
/*
 * Protected peers (address maps, host routes with the sealed MTU) and the
 * workflow's policy rules (sn_policy; replies are stateful in the data
 * plane, bpf/lib/policy.h).
 */
#include "netlink.h"
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/crypto.h>

#include "sealnet/dataplane.h"
#include "sealnet/log.h"
#include "internal.h"

int sn_dp_add_peer(struct sn_dataplane *dp, uint32_t peer_id, uint32_t addr)
{
	struct sn_rx rx;
	int fd = bpf_map__fd(dp->skel->maps.sn_rx), err;

	if (check_peer(peer_id) || !addr)
		return -EINVAL;
	if (bpf_map_lookup_elem(fd, &peer_id, &rx))
		return -errno;
	rx.addr = addr;
	if (bpf_map_update_elem(fd, &peer_id, &rx, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_peer_by_addr),
				&addr, &peer_id, BPF_ANY)) {
		err = -errno;
		OPENSSL_cleanse(&rx, sizeof(rx));
		return err;
	}
	OPENSSL_cleanse(&rx, sizeof(rx));
	/* SIMD engine: the interface carries the engine's sealed UDP at the
	 * full MTU; the lowered MTU is on the route through its device */
	err = dp->cfg.flags & SN_CFG_ENGINE_SIMD ?
		      0 :
		      sn_nl_route_mtu(true, addr, dp->ifindex,
				      dp->mtu - SN_OVERHEAD);
	if (err) {
		sn_err("data plane: host route with MTU %u to peer %u failed: "
		       "%s",
		       dp->mtu - SN_OVERHEAD, peer_id, strerror(-err));
		return err;
	}
	if (dp->n_routes < SN_MAX_NODES)
		dp->routes[dp->n_routes++] = addr;
	return sn_dp_engine_route(dp, addr);
}

int sn_dp_add_peer6(struct sn_dataplane *dp, uint32_t peer_id,
		    const uint8_t addr6[16])
{
	if (check_peer(peer_id))
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_peer_by_addr6),
				addr6, &peer_id, BPF_ANY))
		return -errno;
	return 0;
}

static int put_policy(struct sn_dataplane *dp, uint32_t peer, uint16_t port,
		      uint8_t proto, unsigned int dir, unsigned int kind,
		      uint64_t local, uint32_t rule_id)
{
	struct sn_policy_key k = {
		.peer = peer,
		.port = port,
		.proto = proto,
		.dir_kind = (uint8_t)(dir << 4 | kind),
		.local = local,
	};
	struct sn_policy_val v = {.rule_id = rule_id};

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_policy), &k, &v,
				BPF_ANY))
		return -errno;
	return 0;
}

int sn_dp_add_rule(struct sn_dataplane *dp, const struct sn_dp_rule *r,
		   uint32_t rule_id)
{
	int err;

	if (check_peer(r->peer_id))
		return -EINVAL;
	/* No reply entries: replies pass only within a flow that a packet
	 * allowed by this rule opened (bpf/lib/policy.h, sn_flows). */
	if (r->dir == SN_DIR_EGRESS) {
		uint64_t local = r->local_kind == SN_LOCAL_ANY ? 0 : r->local;

		err = put_policy(dp, r->peer_id, r->port, r->proto,
				 SN_DIR_EGRESS, r->local_kind, local, rule_id);
		if (!err && r->local_kind != SN_LOCAL_ANY) {
			dp->cfg.flags |= r->local_kind == SN_LOCAL_CGROUP ?
						 SN_CFG_CGROUP_RULES :
						 SN_CFG_PORT_RULES;
			err = write_config(dp);
		}
	} else if (r->dir == SN_DIR_INGRESS) {
		err = put_policy(dp, r->peer_id, r->port, r->proto,
				 SN_DIR_INGRESS, SN_LOCAL_ANY, 0, rule_id);
	} else {
		err = -EINVAL;
	}
	return err;
}
