// SPDX-License-Identifier: Apache-2.0
/*
 * What runs on the protected interface besides sealnet (the watchdog).
 *
 * On the egress path, tcx programs run first, then the clsact egress
 * filters in pref order; on the ingress path XDP runs first, then tcx,
 * then clsact ingress.  Any of them can pass a packet before sealnet's
 * filter sees it (in clear), rewrite it, or redirect it.  So the only
 * thing allowed on these hooks is sealnet's own filter in each direction.
 *
 * The uapi headers of this build (linux-libc-dev 6.1) predate tcx and
 * netkit (kernel 6.6, 6.7): their attach and link types are given by
 * number; a kernel without them answers EINVAL, meaning "none".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <arpa/inet.h>

#include "watch.h"
#include "sealnet/log.h"
#include "netlink.h"
#include "tc.h"

#define ATTACH_TCX_INGRESS    46 /* BPF_TCX_INGRESS */
#define ATTACH_TCX_EGRESS     47 /* BPF_TCX_EGRESS */
#define ATTACH_NETKIT_PRIMARY 54 /* BPF_NETKIT_PRIMARY */
#define ATTACH_NETKIT_PEER    55 /* BPF_NETKIT_PEER */
#define LINK_TCX	      11 /* BPF_LINK_TYPE_TCX */
#define LINK_NETKIT	      13 /* BPF_LINK_TYPE_NETKIT */
#define MAX_PROGS	      64

static const char *const dir_name[2] = {"egress", "ingress"};

struct walk {
	int ifindex;
	int dir;
	unsigned int own_id;
	bool remove;
	bool own_seen, own_ok;
	int found;
	char *why;
	size_t why_len;
};

/* Append one finding to why ("; "-separated; the first ones are kept). */
__attribute__((format(printf, 3, 4))) static void note(char *why, size_t len,
						       const char *fmt, ...)
{
	size_t n = strlen(why);
	va_list ap;

	if (n + 3 >= len)
		return;
	if (n) {
		memcpy(why + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + n, len - n, fmt, ap);
	va_end(ap);
}

static bool is_own_tp(const struct sn_tc_filter *f)
{
	return f->prio == SN_TC_PRIO && f->chain == 0 &&
	       !strcmp(f->kind, "bpf") && f->protocol == htons(ETH_P_ALL);
}

static void drop_filter(struct walk *w, const struct sn_tc_filter *f)
{
	int err = sn_nl_tc_filter_del(w->ifindex, f);

	if (err && err != -ENOENT)
		sn_warn("removing the %s filter pref %u handle 0x%x (%s) "
			"failed: %s",
			dir_name[w->dir], f->prio, f->handle, f->kind,
			strerror(-err));
}

static int on_filter(const struct sn_tc_filter *f, void *arg)
{
	struct walk *w = arg;

	if (is_own_tp(f) && f->handle == 0)
		return 0; /* the classifier holding sealnet's filter */
	if (is_own_tp(f) && f->handle == SN_TC_HANDLE) {
		w->own_seen = true;
		w->own_ok = f->bpf_id == w->own_id &&
			    (f->bpf_flags & TCA_BPF_FLAG_ACT_DIRECT) &&
			    !f->has_actions;
		if (!w->own_ok) {
			w->found++;
			note(w->why, w->why_len,
			     "%s filter pref %u handle 0x%x runs program id "
			     "%u%s, "
			     "measured id %u",
			     dir_name[w->dir], f->prio, f->handle, f->bpf_id,
			     f->has_actions ? " with actions" : "", w->own_id);
		}
		return 0; /* re-attached by the caller, not deleted */
	}
	w->found++;
	if (is_own_tp(f)) {
		/* another filter in sealnet's classifier: this one only */
		note(w->why, w->why_len, "%s filter pref %u handle 0x%x %s",
		     dir_name[w->dir], f->prio, f->handle, f->kind);
		if (w->remove)
			drop_filter(w, f);
	} else if (f->handle == 0) {
		/* another classifier (dumped before its filters): all of it */
		note(w->why, w->why_len, "%s filter pref %u %s%s",
		     dir_name[w->dir], f->prio, f->kind,
		     f->chain ? " (not chain 0)" : "");
		if (w->remove)
			drop_filter(w, f);
	}
	return 0;
}

/* Detach prog id from (ifindex, attach type); when it was attached
 * through a link, detach the link (matched by type, ifindex, program). */
static void detach_prog(int ifindex, int type, unsigned int link_type,
			unsigned int id)
{
	unsigned int lid = 0;
	int fd = bpf_prog_get_fd_by_id(id), err = -ENOENT;

	if (fd >= 0) {
		err = bpf_prog_detach2(fd, ifindex, (enum bpf_attach_type)type);
		close(fd);
	}
	if (!err)
		return;
	while (!bpf_link_get_next_id(lid, &lid)) {
		struct bpf_link_info li;
		__u32 len = sizeof(li);
		int lfd = bpf_link_get_fd_by_id(lid);

		if (lfd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		/* tcx and netkit link info starts with the ifindex, as
		 * xdp's does (uapi struct bpf_link_info) */
		if (!bpf_obj_get_info_by_fd(lfd, &li, &len) &&
		    li.type == link_type && li.prog_id == id &&
		    (int)li.xdp.ifindex == ifindex)
			err = bpf_link_detach(lfd);
		close(lfd);
	}
	if (err)
		sn_warn("detaching program id %u from ifindex %d failed: %s",
			id, ifindex, strerror(-err));
}

/* tcx or netkit programs on (ifindex, type): each is foreign. */
static int check_mprog(int ifindex, int type, const char *what,
		       unsigned int link_type, bool remove, char *why,
		       size_t why_len)
{
	__u32 ids[MAX_PROGS];
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids,
		    .prog_cnt = MAX_PROGS);
	int err;

	err = bpf_prog_query_opts(ifindex, (enum bpf_attach_type)type, &q);
	if (err == -EINVAL || err == -EOPNOTSUPP || err == -ENXIO ||
	    err == -ENODEV)
		return 0; /* no tcx in this kernel, or not a netkit device */
	if (err)
		return err;
	for (__u32 i = 0; i < q.prog_cnt && i < MAX_PROGS; i++) {
		note(why, why_len, "%s program id %u", what, ids[i]);
		if (remove)
			detach_prog(ifindex, type, link_type, ids[i]);
	}
	return q.prog_cnt ? -EPERM : 0;
}

static int check_xdp(int ifindex, bool remove, char *why, size_t why_len)
{
	static const struct {
		const char *name;
		__u32 flag;
	} modes[] = {{"generic", XDP_FLAGS_SKB_MODE},
		     {"driver", XDP_FLAGS_DRV_MODE},
		     {"offloaded", XDP_FLAGS_HW_MODE}};
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 ids[3];
	int err, found = 0;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	ids[0] = q.skb_prog_id;
	ids[1] = q.drv_prog_id;
	ids[2] = q.hw_prog_id;
	for (int m = 0; m < 3; m++) {
		if (!ids[m])
			continue;
		found++;
		note(why, why_len, "XDP program id %u (%s)", ids[m],
		     modes[m].name);
		if (remove && bpf_xdp_detach(ifindex, modes[m].flag, NULL))
			detach_prog(ifindex, -1, BPF_LINK_TYPE_XDP, ids[m]);
	}
	return found ? -EPERM : 0;
}

int sn_dp_hooks_check(int ifindex, const unsigned int own_id[2], bool remove,
		      bool own_ok[2], char *why, size_t why_len)
{
	static const uint32_t parent[2] = {
		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
	};
	static const int tcx[2] = {ATTACH_TCX_EGRESS, ATTACH_TCX_INGRESS};
	static const int nk[2] = {ATTACH_NETKIT_PRIMARY, ATTACH_NETKIT_PEER};
	static const char *const tcx_name[2] = {"tcx egress", "tcx ingress"};
	static const char *const nk_name[2] = {"netkit primary", "netkit peer"};
	int err, tampered = 0;

	why[0] = 0;
	for (int d = 0; d < 2; d++) {
		struct walk w = {.ifindex = ifindex,
				 .dir = d,
				 .own_id = own_id[d],
				 .remove = remove,
				 .why = why,
				 .why_len = why_len};

		err = sn_nl_tc_filters(ifindex, parent[d], on_filter, &w);
		if (err) {
			sn_err("listing the %s tc filters of ifindex %d "
			       "failed: %s",
			       dir_name[d], ifindex, strerror(-err));
			return err;
		}
		if (!w.own_seen)
			note(why, why_len,
			     "sealnet's %s filter (pref %u handle 0x%x) is "
			     "gone",
			     dir_name[d], SN_TC_PRIO, SN_TC_HANDLE);
		own_ok[d] = w.own_ok;
		tampered |= w.found || !w.own_ok;
		err = check_mprog(ifindex, tcx[d], tcx_name[d], LINK_TCX,
				  remove, why, why_len);
		if (!err)
			err = check_mprog(ifindex, nk[d], nk_name[d],
					  LINK_NETKIT, remove, why, why_len);
		if (err == -EPERM)
			tampered = 1;
		else if (err) {
			sn_err("querying the tcx/netkit programs of ifindex %d "
			       "failed: %s",
			       ifindex, strerror(-err));
			return err;
		}
	}
	err = check_xdp(ifindex, remove, why, why_len);
	if (err == -EPERM)
		tampered = 1;
	else if (err) {
		sn_err("querying the XDP programs of ifindex %d failed: %s",
		       ifindex, strerror(-err));
		return err;
	}
	return tampered ? -EPERM : 0;
}
