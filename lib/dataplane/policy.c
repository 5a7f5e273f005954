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

/* policy key of a rule (egress rules scoped by cgroup or local port) */
static int rule_key(const struct sn_dp_rule *r, struct sn_policy_key *k)
{
	unsigned int kind;

	if (check_peer(r->peer_id) ||
	    (r->dir != SN_DIR_EGRESS && r->dir != SN_DIR_INGRESS))
		return -EINVAL;
	kind = r->dir == SN_DIR_EGRESS ? r->local_kind : SN_LOCAL_ANY;
	*k = (struct sn_policy_key){
		.peer = r->peer_id,
		.port = r->port,
		.proto = r->proto,
		.dir_kind = (uint8_t)(r->dir << 4 | kind),
		.local = kind == SN_LOCAL_ANY ? 0 : r->local,
	};
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Delete every flow whose rule_id is not in ids[0..n) (sorted). */
static int purge_flows(struct sn_dataplane *dp, const uint32_t *ids, size_t n,
		       uint64_t *cut)
{
	int fd = bpf_map__fd(dp->skel->maps.sn_flows);
	struct sn_flow_key k, next, *prev = NULL;
	struct sn_flow_val v;
	struct sn_flow_key *doomed;
	size_t nd = 0;
	int err = 0;

	doomed = calloc(SN_MAX_FLOWS, sizeof(*doomed));
	if (!doomed)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue; /* gone meanwhile (LRU) */
		if (!bsearch(&v.rule_id, ids, n, sizeof(*ids), cmp_u32) &&
		    nd < SN_MAX_FLOWS)
			doomed[nd++] = k;
	}
	for (size_t i = 0; i < nd; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) && errno != ENOENT)
			err = -errno;
	*cut += nd;
	free(doomed);
	return err;
}

int sn_dp_set_rules(struct sn_dataplane *dp, const struct sn_dp_rule *rules,
		    size_t n, struct sn_dp_rules_change *chg)
{
	int fd = bpf_map__fd(dp->skel->maps.sn_policy), err = 0;
	struct sn_dp_rules_change c = {0};
	struct sn_policy_key *keys = NULL, k, next, *prev = NULL, *stale = NULL;
	uint32_t *ids = NULL, flags = 0;
	size_t ns = 0;

	if (n > SN_MAX_RULES)
		return -E2BIG;
	/* above the ids callers give sn_dp_add_rule (configuration indices) */
	if (dp->last_rule_id < (1u << 24))
		dp->last_rule_id = 1u << 24;
	keys = calloc(n ? n : 1, sizeof(*keys));
	ids = calloc(n ? n : 1, sizeof(*ids));
	stale = calloc(SN_MAX_RULES, sizeof(*stale));
	if (!keys || !ids || !stale) {
		err = -ENOMEM;
		goto out;
	}
	/* 1. the new set: rules already there keep their id (and the flows
	 * they opened); new ones get a never-used id */
	for (size_t i = 0; i < n; i++) {
		struct sn_policy_val v;

		err = rule_key(&rules[i], &keys[i]);
		if (err)
			goto out;
		if (!bpf_map_lookup_elem(fd, &keys[i], &v)) {
			ids[i] = v.rule_id;
			c.kept++;
		} else {
			ids[i] = ++dp->last_rule_id;
			err = put_policy(dp, keys[i].peer, keys[i].port,
					 keys[i].proto, keys[i].dir_kind >> 4,
					 keys[i].dir_kind & 0xf, keys[i].local,
					 ids[i]);
			if (err)
				goto out;
			c.added++;
		}
		if ((keys[i].dir_kind >> 4) == SN_DIR_EGRESS)
			flags |= (keys[i].dir_kind & 0xf) == SN_LOCAL_CGROUP ?
					 SN_CFG_CGROUP_RULES :
				 (keys[i].dir_kind & 0xf) == SN_LOCAL_PORT ?
					 SN_CFG_PORT_RULES :
					 0;
	}
	/* 2. entries not in the new set: gone (no new flow can open) */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		bool keep = false;

		k = next;
		prev = &k;
		for (size_t i = 0; i < n && !keep; i++)
			keep = !memcmp(&keys[i], &k, sizeof(k));
		if (!keep && ns < SN_MAX_RULES)
			stale[ns++] = k;
	}
	for (size_t i = 0; i < ns; i++) {
		if (bpf_map_delete_elem(fd, &stale[i]) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		c.removed++;
	}
	dp->cfg.flags = (dp->cfg.flags &
			 ~(uint32_t)(SN_CFG_CGROUP_RULES | SN_CFG_PORT_RULES)) |
			flags;
	err = write_config(dp);
	if (err)
		goto out;
	/* 3. flows opened by a rule that is gone: cut.  Twice: a packet
	 * that looked its rule up just before the delete may record its
	 * flow after the first pass. */
	qsort(ids, n, sizeof(*ids), cmp_u32);
	err = purge_flows(dp, ids, n, &c.flows_cut);
	if (!err && c.removed) {
		usleep(20000);
		err = purge_flows(dp, ids, n, &c.flows_cut);
	}
	if (!err && chg)
		*chg = c;
out:
	free(keys);
	free(ids);
	free(stale);
	return err;
}
