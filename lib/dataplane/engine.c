// SPDX-License-Identifier: Apache-2.0
/*
 * The data plane's side of the SIMD engine (lib/engine/): the TUN device's
 * policy programs, the policy routing that sends peers' traffic through
 * the device (except the engine's own sealed UDP and sealnetd's MAKE
 * sockets, by their marks), rp_filter, and the key sink.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include "sealnet/log.h"
#include "internal.h"
#include "netlink.h"
#include "tc.h"

void sn_dp_set_key_sink(struct sn_dataplane *dp,
			const struct sn_dp_key_sink *sink)
{
	if (sink) {
		dp->sink = *sink;
		dp->has_sink = true;
	} else {
		memset(&dp->sink, 0, sizeof(dp->sink));
		dp->has_sink = false;
	}
}

uint32_t sn_dp_engine_mark(struct sn_dataplane *dp)
{
	return dp->cfg.engine_mark;
}

uint16_t sn_dp_udp_port(struct sn_dataplane *dp)
{
	return dp->cfg.udp_port;
}

uint32_t sn_dp_link_mtu(struct sn_dataplane *dp)
{
	return dp->mtu;
}

static int rp_filter_path(int ifindex, char *path, size_t cap)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname((unsigned int)ifindex, name))
		return -errno;
	snprintf(path, cap, "/proc/sys/net/ipv4/conf/%s/rp_filter", name);
	return 0;
}

/* old value into *old (may be NULL) */
static int rp_filter_set(int ifindex, int val, int *old)
{
	char path[96], buf[16] = {0};
	int fd, err = rp_filter_path(ifindex, path, sizeof(path));
	ssize_t n;

	if (err)
		return err;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (old) {
		n = read(fd, buf, sizeof(buf) - 1);
		*old = n > 0 ? atoi(buf) : 0;
		lseek(fd, 0, SEEK_SET);
	}
	n = snprintf(buf, sizeof(buf), "%d\n", val);
	if (write(fd, buf, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

int sn_dp_engine_route(struct sn_dataplane *dp, uint32_t addr)
{
	int err;

	if (!dp->tun_ifindex)
		return 0;
	err = sn_nl_route_mtu_table(true, addr, dp->tun_ifindex,
				    dp->mtu - SN_OVERHEAD, SN_ENGINE_TABLE);
	if (err)
		sn_err("data plane: route to a peer through the engine's "
		       "device failed: %s",
		       strerror(-err));
	return err;
}

static void rules_del(struct sn_dataplane *dp)
{
	sn_nl_rule(false, SN_ENGINE_RULE_PREF, dp->cfg.control_mark,
		   RT_TABLE_MAIN);
	sn_nl_rule(false, SN_ENGINE_RULE_PREF + 1, dp->cfg.engine_mark,
		   RT_TABLE_MAIN);
	sn_nl_rule(false, SN_ENGINE_RULE_PREF + 2, 0, SN_ENGINE_TABLE);
}

int sn_dp_engine_filter_fd(struct sn_dataplane *dp)
{
	if (!(dp->cfg.flags & SN_CFG_ENGINE_SIMD))
		return -ENODEV;
	return bpf_program__fd(dp->skel->progs.sn_tun_filter);
}

int sn_dp_engine_attach(struct sn_dataplane *dp, int tun_ifindex)
{
	bool created;
	int err;

	if (!(dp->cfg.flags & SN_CFG_ENGINE_SIMD) || dp->tun_ifindex)
		return -EINVAL;
	err = sn_tc_attach(
		tun_ifindex, bpf_program__fd(dp->skel->progs.sn_tun_egress),
		bpf_program__fd(dp->skel->progs.sn_tun_ingress), &created);
	if (err) {
		sn_err("engine: attaching the policy programs to its device "
		       "failed: %s",
		       strerror(-err));
		return err;
	}
	dp->tun_ifindex = tun_ifindex;
	err = rp_filter_set(dp->ifindex, 2, &dp->old_rp_filter);
	if (!err)
		err = rp_filter_set(tun_ifindex, 2, NULL);
	if (err) {
		sn_err("engine: setting rp_filter 2 (loose) failed: %s",
		       strerror(-err));
		goto fail;
	}
	/* a previous instance killed hard may have left them */
	rules_del(dp);
	dp->rules_added = true;
	if (dp->cfg.control_mark)
		err = sn_nl_rule(true, SN_ENGINE_RULE_PREF,
				 dp->cfg.control_mark, RT_TABLE_MAIN);
	if (!err)
		err = sn_nl_rule(true, SN_ENGINE_RULE_PREF + 1,
				 dp->cfg.engine_mark, RT_TABLE_MAIN);
	if (!err)
		err = sn_nl_rule(true, SN_ENGINE_RULE_PREF + 2, 0,
				 SN_ENGINE_TABLE);
	if (err) {
		sn_err("engine: adding the routing rules (priority %u..%u) "
		       "failed: %s",
		       SN_ENGINE_RULE_PREF, SN_ENGINE_RULE_PREF + 2,
		       strerror(-err));
		goto fail;
	}
	for (unsigned int i = 0; i < dp->n_routes && !err; i++)
		err = sn_dp_engine_route(dp, dp->routes[i]);
	if (err)
		goto fail;
	return 0;
fail:
	sn_dp_engine_detach(dp);
	return err;
}

void sn_dp_engine_detach(struct sn_dataplane *dp)
{
	/* also on `sealnetd --down` after a stop that kept the data plane
	 * (the rules stayed: peers' traffic then meets ENGINE_BYPASS) */
	if (dp->cfg.flags & SN_CFG_ENGINE_SIMD)
		rules_del(dp);
	dp->rules_added = false;
	if (!dp->tun_ifindex)
		return;
	for (unsigned int i = 0; i < dp->n_routes; i++)
		sn_nl_route_mtu_table(false, dp->routes[i], dp->tun_ifindex, 0,
				      SN_ENGINE_TABLE);
	sn_tc_detach(dp->tun_ifindex, true);
	if (dp->old_rp_filter >= 0)
		rp_filter_set(dp->ifindex, dp->old_rp_filter, NULL);
	dp->old_rp_filter = -1;
	dp->tun_ifindex = 0;
}
