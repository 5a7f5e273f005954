/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to lib/dataplane: the loaded data plane's state and the
 * helpers its files share.  The BPF skeleton (sealnet.skel.h) is included
 * here and nowhere outside lib/dataplane (and the BPF tests/benchmarks,
 * which test the programs themselves).
 */
#ifndef SN_LIB_DATAPLANE_INTERNAL_H
#define SN_LIB_DATAPLANE_INTERNAL_H

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealnet/dataplane.h"
#include "sealnet.skel.h"
#include "watch.h"

/* Every map write of this file is recorded in the watchdog's shadow of
 * the maps sealnetd writes (lib/dataplane/integrity.c), so that the watchdog
 * can tell sealnetd's own writes from anyone else's.  A macro, so that no write
 * here can bypass it; each caller has its struct sn_dataplane *dp in scope (a
 * compile error otherwise). */
#define bpf_map_update_elem(fd, key, value, flags) \
	sn_dp_shadow_update(dp->shadow, fd, key, value, flags)
#define bpf_map_delete_elem(fd, key) sn_dp_shadow_delete(dp->shadow, fd, key)

struct sn_dataplane {
	struct sealnet_bpf *skel;
	struct ring_buffer *rb;
	sn_dp_event_fn ev_cb;
	void *ev_arg;
	int ifindex;
	char ifname[IF_NAMESIZE];
	bool attached, created_qdisc;
	bool adopt; /* a previous sealnet's programs were attached */
	uint32_t old_gso_segs;
	bool gso_changed;
	bool rps_changed; /* rps_cpus set by us (rps.c) */
	uint32_t mtu;
	uint32_t routes[SN_MAX_NODES]; /* peer addresses with a host route */
	unsigned int n_routes;
	struct sn_config cfg;
	/* last key generation installed per [peer][tx?][slot]: per slot, so
	 * SN_GEN_MAX lasts (the counter word holds 24 bits of it) */
	uint32_t slot_gen[SN_MAX_NODES][2][2];
	uint32_t last_rule_id; /* sn_dp_set_rules: last rule id handed out */
	struct sn_dp_shadow *shadow; /* the watchdog's view of our writes */
	/* SIMD engine (engine.c): its key sink, its TUN device, the rules */
	struct sn_dp_key_sink sink;
	bool has_sink;
	int tun_ifindex; /* 0: no engine attached */
	bool rules_added;
	int old_rp_filter; /* the interface's, restored; -1: untouched */
};

static inline int write_config(struct sn_dataplane *dp)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_config), &zero,
				&dp->cfg, BPF_ANY))
		return -errno;
	return 0;
}

static inline int check_peer(uint32_t peer_id)
{
	return peer_id && peer_id < SN_MAX_NODES ? 0 : -EINVAL;
}

/* engine.c: the peer's route through the engine's TUN device (when one
 * is attached). */
int sn_dp_engine_route(struct sn_dataplane *dp, uint32_t addr);
void sn_dp_engine_detach(struct sn_dataplane *dp);

/* rps.c: spread receive work of a single-queue device over all CPUs
 * (when no mask is set), and undo it. */
int sn_dp_rps_spread(struct sn_dataplane *dp);
/* one receive and one transmit queue (veth): the steering hint applies */
bool sn_dp_rps_single_queue(const char *ifname);
void sn_dp_rps_restore(struct sn_dataplane *dp);

#endif
