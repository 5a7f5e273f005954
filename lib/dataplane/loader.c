// SPDX-License-Identifier: Apache-2.0
/*
 * Data-plane loader: loads the BPF object (the skeleton is private to
 * lib/dataplane), configures sn_config, attaches to one interface's
 * clsact hooks, measures what it loaded, and takes everything down
 * again.  The interface's state (clsact qdisc, gso_max_segs, host routes)
 * is recorded when changed and restored by sn_dp_close().  The watchdog's
 * entry points (sn_dp_check_attached, sn_dp_enforce) are here too; their
 * halves are hooks.c and integrity.c.
 */
#include <stdarg.h>

#include <openssl/evp.h>

#include "sealnet/evidence.h"
#include "netlink.h"
#include "tc.h"
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

__attribute__((format(printf, 2, 0))) static int
libbpf_to_sn_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	sn_vlog(level == LIBBPF_WARN ? SN_LOG_WARN : SN_LOG_INFO, fmt, ap);
	return 0;
}

int sn_dp_open(const struct sn_dp_opts *o, struct sn_dataplane **out)
{
	struct sn_dataplane *dp;
	struct sn_link_info li;
	int err;

	if (!o->ifname || !o->self_id || o->self_id >= SN_MAX_NODES) {
		sn_err("data plane: need an interface and a node id in 1..%u",
		       SN_MAX_NODES - 1);
		return -EINVAL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	snprintf(dp->ifname, sizeof(dp->ifname), "%s", o->ifname);
	dp->ifindex = (int)if_nametoindex(o->ifname);
	if (!dp->ifindex) {
		err = -ENODEV;
		sn_err("data plane: no interface '%s' in this network "
		       "namespace",
		       o->ifname);
		goto fail;
	}
	err = sn_nl_get_link(dp->ifindex, &li);
	if (err) {
		sn_err("data plane: reading link %s failed: %s", o->ifname,
		       strerror(-err));
		goto fail;
	}
	dp->mtu = li.mtu;
	/* 1 is what sealnet itself sets: a previous instance killed hard
	 * left it; restore the kernel's default (GSO_MAX_SEGS) then */
	dp->old_gso_segs = li.gso_max_segs == 1 ? 65535 : li.gso_max_segs;

	libbpf_set_print(libbpf_to_sn_log);
	dp->skel = sealnet_bpf__open_and_load();
	if (!dp->skel) {
		err = -errno ? -errno : -EINVAL;
		sn_err("data plane: loading the BPF programs failed: %s "
		       "(needs root, BTF and kernel >= 6.2)",
		       strerror(-err));
		goto fail;
	}
	err = sn_dp_shadow_new(dp->skel->obj, &dp->shadow);
	if (err)
		goto fail;
	/* the send counters are the programs' own: no process (root
	 * included) may write them through the syscall, ever */
	if (bpf_map_freeze(bpf_map__fd(dp->skel->maps.sn_tx_ctr))) {
		err = -errno;
		sn_err("data plane: freezing the send counters failed: %s "
		       "(needs kernel >= 5.2)",
		       strerror(-err));
		goto fail;
	}
	dp->cfg.self_id = o->self_id;
	dp->cfg.udp_port = o->udp_port ? o->udp_port : SN_UDP_PORT_DEFAULT;
	dp->cfg.control_port = o->control_port;
	dp->cfg.control_mark =
		o->control_port ? (o->control_mark ? o->control_mark :
						     SN_CONTROL_MARK_DEFAULT) :
				  0;
	dp->cfg.flow_tcp_s =
		o->flow_tcp_s ? o->flow_tcp_s : SN_FLOW_TCP_S_DEFAULT;
	dp->cfg.flow_other_s =
		o->flow_other_s ? o->flow_other_s : SN_FLOW_OTHER_S_DEFAULT;
	dp->cfg.unprot_egress =
		o->drop_unprotected_egress ? SN_UNPROT_DROP : SN_UNPROT_PASS;
	dp->cfg.unprot_ingress =
		o->drop_unprotected_ingress ? SN_UNPROT_DROP : SN_UNPROT_PASS;
	dp->cfg.mtu = (uint16_t)(li.mtu > 65535 ? 65535 : li.mtu);
	dp->cfg.events_per_sec = o->events_per_sec ? o->events_per_sec : 100;
	/* at most SN_CTR_MAX: the counter word holds 40 bits of counter */
	dp->cfg.counter_limit =
		o->counter_limit && o->counter_limit < SN_CTR_MAX ?
			o->counter_limit :
			SN_CTR_MAX;
	dp->old_rp_filter = -1;
	if (o->engine_simd) {
		dp->cfg.flags |= SN_CFG_ENGINE_SIMD;
		dp->cfg.engine_mark = o->engine_mark ? o->engine_mark :
						       SN_ENGINE_MARK_DEFAULT;
	}
	if (!o->engine_simd && !o->no_spread_receive &&
	    sn_dp_rps_single_queue(o->ifname))
		dp->cfg.flags |= SN_CFG_STEER;
	err = write_config(dp);
	if (err)
		goto fail;

	if (o->engine_simd) {
		/* the programs seal nothing here: the engine's 64 KB UDP GSO
		 * super-datagrams must reach the device whole (with 1 the
		 * stack splits them before the device: one pass of veth,
		 * bridge and UDP receive per datagram).  1 is what the BPF
		 * engine of a previous instance killed hard left: undone. */
		if (li.gso_max_segs == 1 &&
		    sn_nl_set_gso_max_segs(dp->ifindex, dp->old_gso_segs))
			sn_warn("data plane: restoring gso_max_segs on %s "
				"failed; the engine's sends are segmented "
				"before the device (slower, still correct)",
				o->ifname);
	} else if (!o->keep_offloads) {
		err = li.gso_max_segs != 1 ?
			      sn_nl_set_gso_max_segs(dp->ifindex, 1) :
			      0;
		if (err) {
			sn_err("data plane: setting gso_max_segs 1 on %s "
			       "failed: %s",
			       o->ifname, strerror(-err));
			goto fail;
		}
		dp->gso_changed = true;
	}
	if (!o->no_spread_receive) {
		err = sn_dp_rps_spread(dp);
		if (err)
			sn_warn("data plane: spreading receive work on %s "
				"(rps_cpus) failed: %s; continuing",
				o->ifname, strerror(-err));
		err = 0;
	}
	/* a previous instance (killed hard) left its clsact qdisc: ours to
	 * remove at the end, as that instance would have */
	dp->adopt = o->defer_attach;
	if (!o->defer_attach) {
		err = sn_dp_attach(dp);
		if (err)
			goto fail;
	}
	*out = dp;
	return 0;
fail:
	sn_dp_close(dp);
	return err;
}

int sn_dp_attach(struct sn_dataplane *dp)
{
	bool created = false;
	int err;

	err = sn_tc_attach(
		dp->ifindex, bpf_program__fd(dp->skel->progs.sn_egress),
		bpf_program__fd(dp->skel->progs.sn_ingress), &created);
	if (err)
		return err;
	if (!dp->attached)
		dp->created_qdisc = created || dp->adopt;
	dp->attached = true;
	return 0;
}

bool sn_dp_is_attached(struct sn_dataplane *dp)
{
	return dp->attached;
}

int sn_dp_previous_attached(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	unsigned int eg = 0, in = 0;
	int err;

	if (!ifindex)
		return -ENODEV;
	err = sn_tc_query(ifindex, 0, &eg);
	if (!err)
		err = sn_tc_query(ifindex, 1, &in);
	if (err)
		return err;
	return eg || in;
}

void sn_dp_close(struct sn_dataplane *dp)
{
	if (!dp)
		return;
	sn_dp_engine_detach(dp);
	if (dp->attached)
		sn_tc_detach(dp->ifindex, dp->created_qdisc);
	for (unsigned int i = 0; i < dp->n_routes; i++)
		sn_nl_route_mtu(false, dp->routes[i], dp->ifindex, 0);
	if (dp->gso_changed)
		sn_nl_set_gso_max_segs(dp->ifindex, dp->old_gso_segs);
	sn_dp_rps_restore(dp);
	ring_buffer__free(dp->rb);
	if (dp->skel) {
		/* wipe keys before the maps go away */
		struct sn_tx tx = {0};
		struct sn_rx rx = {0};

		for (uint32_t i = 0; i < SN_MAX_NODES; i++) {
			bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_tx),
					    &i, &tx, BPF_ANY);
			bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_rx),
					    &i, &rx, BPF_ANY);
		}
		sealnet_bpf__destroy(dp->skel);
	}
	sn_dp_shadow_free(dp->shadow);
	free(dp);
}

int sn_dp_prog_ids(struct sn_dataplane *dp, unsigned int *egress,
		   unsigned int *ingress)
{
	int err = sn_tc_query(dp->ifindex, 0, egress);

	if (!err)
		err = sn_tc_query(dp->ifindex, 1, ingress);
	return err;
}

int sn_dp_ifindex(struct sn_dataplane *dp)
{
	return dp->ifindex;
}

static int prog_info(struct bpf_program *p, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), info, &len))
		return -errno;
	return 0;
}

int sn_dp_measure(struct sn_dataplane *dp, struct sn_mlog *m)
{
	struct bpf_program *progs[] = {dp->skel->progs.sn_egress,
				       dp->skel->progs.sn_ingress};
	const void *obj;
	size_t sz;
	int err;

	obj = sealnet_bpf__elf_bytes(&sz);
	err = sn_mlog_extend_data(m, SN_MLOG_BPF_OBJECT, "sealnet.bpf.o", obj,
				  sz);
	for (unsigned int i = 0; !err && i < 2; i++) {
		struct bpf_prog_info info;
		char desc[64];

		err = prog_info(progs[i], &info);
		if (err)
			break;
		snprintf(desc, sizeof(desc), "prog %s tag",
			 bpf_program__name(progs[i]));
		err = sn_mlog_extend_data(m, SN_MLOG_BPF_PROG, desc, info.tag,
					  sizeof(info.tag));
	}
	return err;
}

static int own_prog_ids(struct sn_dataplane *dp, unsigned int id[2])
{
	struct bpf_program *progs[] = {dp->skel->progs.sn_egress,
				       dp->skel->progs.sn_ingress};

	for (int dir = 0; dir < 2; dir++) {
		struct bpf_prog_info info;
		int err = prog_info(progs[dir], &info);

		if (err)
			return err;
		id[dir] = info.id;
	}
	return 0;
}

uint32_t sn_dp_control_mark(struct sn_dataplane *dp)
{
	return dp->cfg.control_mark;
}

int sn_dp_prog_fd(struct sn_dataplane *dp, bool ingress)
{
	return bpf_program__fd(ingress ? dp->skel->progs.sn_ingress :
					 dp->skel->progs.sn_egress);
}

int sn_dp_check_attached(struct sn_dataplane *dp, char *why, size_t why_len)
{
	unsigned int id[2];
	bool own_ok[2];
	int err = own_prog_ids(dp, id);

	if (!err)
		err = sn_dp_hooks_check(dp->ifindex, id, false, own_ok, why,
					why_len);
	if (!err)
		err = sn_dp_shadow_check(dp->shadow, why, why_len);
	if (err == -EPERM)
		sn_err("data plane on %s changed: %s", dp->ifname, why);
	return err;
}

int sn_dp_enforce(struct sn_dataplane *dp)
{
	unsigned int id[2];
	bool own_ok[2] = {false, false};
	char why[512];
	int err = own_prog_ids(dp, id);

	if (err)
		return err;
	/* sealnet's own filters first (a replaced program is swapped back
	 * atomically), then everything else goes */
	sn_dp_hooks_check(dp->ifindex, id, false, own_ok, why, sizeof(why));
	if (!own_ok[0] || !own_ok[1])
		sn_dp_attach(dp);
	err = sn_dp_hooks_check(dp->ifindex, id, true, own_ok, why,
				sizeof(why));
	if (err == -EPERM && (!own_ok[0] || !own_ok[1]))
		err = sn_dp_attach(dp); /* another classifier held pref 1 */
	else if (err == -EPERM)
		err = 0;
	if (!err)
		err = write_config(dp);
	return err;
}

int sn_dp_object_digest(uint8_t out[48])
{
	size_t sz;
	const void *obj = sealnet_bpf__elf_bytes(&sz);

	if (!EVP_Digest(obj, sz, out, NULL, EVP_sha384(), NULL))
		return -EIO;
	return 0;
}

int sn_dp_release(struct sn_dataplane *dp)
{
	int err = 0;

	if (!dp)
		return 0;
	if (!dp->attached)
		err = sn_dp_attach(dp);
	if (err) {
		sn_err("data plane: attaching before release failed: %s; "
		       "detaching instead",
		       strerror(-err));
		sn_dp_close(dp);
		return err;
	}
	for (uint32_t i = 1; i < SN_MAX_NODES; i++)
		sn_dp_revoke_peer(dp, i);
	ring_buffer__free(dp->rb);
	sealnet_bpf__destroy(dp->skel); /* the filters keep the programs */
	sn_dp_shadow_free(dp->shadow);
	free(dp);
	return 0;
}
