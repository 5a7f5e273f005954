// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's device hooks, checked and repaired for the engine's
 * gate (lib/engine/guard.c, daemon/engine_guard.c): the same look as the
 * watchdog's at the protected interface (hooks.c: every clsact filter,
 * tcx, netkit and XDP program), with sn_tun_egress / sn_tun_ingress as
 * the only programs allowed.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealnet/dataplane.h"
#include "sealnet/log.h"
#include "internal.h"
#include "tc.h"
#include "watch.h"

static int tun_prog_ids(struct sn_dataplane *dp, unsigned int id[2])
{
	struct bpf_program *progs[] = {dp->skel->progs.sn_tun_egress,
				       dp->skel->progs.sn_tun_ingress};

	for (int d = 0; d < 2; d++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(progs[d]), &info,
					   &len))
			return -errno;
		id[d] = info.id;
	}
	return 0;
}

int sn_dp_engine_check(struct sn_dataplane *dp, char *why, size_t why_len)
{
	char name[IF_NAMESIZE] = "?", found[448];
	unsigned int id[2];
	bool own_ok[2];
	int err;

	if (!dp->tun_ifindex)
		return -ENODEV;
	if_indextoname((unsigned int)dp->tun_ifindex, name);
	err = tun_prog_ids(dp, id);
	if (err)
		return err;
	err = sn_dp_hooks_check(dp->tun_ifindex, id, false, own_ok, found,
				sizeof(found));
	if (err == -EPERM)
		snprintf(why, why_len, "SIMD engine device %s: %s", name,
			 found);
	else if (err) {
		/* listing its filters failed: with the device there, the
		 * clsact qdisc (and sealnet's filters with it) is gone */
		snprintf(why, why_len,
			 "SIMD engine device %s: its hooks could not be listed "
			 "(%s): clsact qdisc removed?",
			 name, strerror(-err));
		err = -EPERM;
	}
	return err;
}

int sn_dp_engine_enforce(struct sn_dataplane *dp)
{
	unsigned int id[2];
	bool own_ok[2] = {false, false};
	char why[448];
	int err;

	if (!dp->tun_ifindex)
		return -ENODEV;
	err = tun_prog_ids(dp, id);
	if (err)
		return err;
	/* sealnet's filters first (a replaced program is swapped back in
	 * place), then everything else goes */
	sn_dp_hooks_check(dp->tun_ifindex, id, false, own_ok, why, sizeof(why));
	if (!own_ok[0] || !own_ok[1]) {
		err = sn_tc_attach(
			dp->tun_ifindex,
			bpf_program__fd(dp->skel->progs.sn_tun_egress),
			bpf_program__fd(dp->skel->progs.sn_tun_ingress), NULL);
		if (err) {
			sn_err("engine: re-attaching the policy programs to "
			       "its device failed: %s",
			       strerror(-err));
			return err;
		}
	}
	err = sn_dp_hooks_check(dp->tun_ifindex, id, true, own_ok, why,
				sizeof(why));
	return err == -EPERM ? 0 : err;
}
