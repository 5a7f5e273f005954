// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's device hooks, checked and repaired for the engine's
 * gate (lib/engine/guard.c, daemon/engine_guard.c): the same look as the
 * watchdog's at the protected interface (hooks.c: every clsact filter,
 * tcx, netkit and XDP program), with sn_tun_egress / sn_tun_ingress as
 * the only programs allowed; and the device's qdiscs: a root qdisc's
 * filters (and actions) run after the clsact egress hook, before the
 * engine reads the packet, so they could change what sn_tun_egress
 * passed (another port, another peer).  Allowed: clsact and the root
 * qdisc the kernel made (handle 0: any qdisc made with tc gets a
 * handle), without filters.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/pkt_sched.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealnet/dataplane.h"
#include "sealnet/log.h"
#include "internal.h"
#include "netlink.h"
#include "tc.h"
#include "watch.h"

struct qwalk {
	int ifindex;
	bool remove;
	int found;
	char *why;
	size_t why_len;
};

__attribute__((format(printf, 2, 3))) static void qnote(struct qwalk *w,
							const char *fmt, ...)
{
	size_t n = strlen(w->why);
	va_list ap;

	w->found++;
	if (n + 3 >= w->why_len)
		return;
	if (n) {
		memcpy(w->why + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(w->why + n, w->why_len - n, fmt, ap);
	va_end(ap);
}

static int on_qdisc(const struct sn_tc_qdisc *q, void *arg)
{
	struct qwalk *w = arg;

	/* clsact (its filters are sn_dp_hooks_check's), or the kernel's */
	if (q->parent == TC_H_CLSACT || !TC_H_MAJ(q->handle))
		return 0;
	qnote(w,
	      "qdisc %s handle %x: parent %x (its filters run after "
	      "sn_tun_egress)",
	      q->kind, TC_H_MAJ(q->handle) >> 16, q->parent);
	return 0;
}

static int on_root_filter(const struct sn_tc_filter *f, void *arg)
{
	struct qwalk *w = arg;

	if (!f->handle) /* the classifier's own entry */
		return 0;
	qnote(w, "root qdisc filter %s pref %u handle 0x%x", f->kind, f->prio,
	      f->handle);
	if (w->remove)
		sn_nl_tc_filter_del(w->ifindex, f);
	return 0;
}

/* qdiscs other than clsact and the kernel's root one, filters on the
 * root one: -EPERM (noted in why; with remove, deleted), 0, or a
 * negative errno when they could not be listed */
static int qdiscs_check(int ifindex, bool remove, char *why, size_t why_len)
{
	struct qwalk w = {.ifindex = ifindex,
			  .remove = remove,
			  .why = why,
			  .why_len = why_len};
	int err = sn_nl_tc_qdiscs(ifindex, on_qdisc, &w);

	if (err)
		return err;
	if (w.found && remove) {
		err = sn_nl_qdisc_del_root(ifindex);
		if (err)
			sn_err("engine: deleting the foreign root qdisc of its "
			       "device failed: %s",
			       strerror(-err));
	}
	/* parent 0: the root qdisc's filters (none for pfifo_fast) */
	err = sn_nl_tc_filters(ifindex, 0, on_root_filter, &w);
	if (err)
		return err;
	return w.found ? -EPERM : 0;
}

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
	if (!err || err == -EPERM) {
		int q = qdiscs_check(dp->tun_ifindex, false, found,
				     sizeof(found));

		if (q && q != -EPERM) {
			snprintf(found, sizeof(found),
				 "its qdiscs could not be listed (%s)",
				 strerror(-q));
		}
		if (q)
			err = -EPERM;
	}
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
	if (!err || err == -EPERM) {
		int q = qdiscs_check(dp->tun_ifindex, true, why, sizeof(why));

		if (q && q != -EPERM)
			err = q;
	}
	return err == -EPERM ? 0 : err;
}
