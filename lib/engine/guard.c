// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's gate (docs/sealnetd.md "SIMD engine guard"): the
 * policy is enforced by sealnet's programs on the TUN device's TC hooks
 * (sn_tun_egress before a packet reaches the engine, sn_tun_ingress after
 * the engine writes an opened one), so the engine must carry nothing
 * while those hooks are not exactly sealnet's programs.
 *
 * Two inputs close the gate:
 *  - rtnetlink: every clsact qdisc, filter or chain change on the device
 *    (RTNLGRP_TC) and every link change (RTNLGRP_LINK: XDP attach, flags,
 *    features) is broadcast by the kernel before the change's syscall
 *    returns.  The engine thread reads these notifications before each
 *    packet crosses it (sn_eng_guard_pass: one recv(MSG_DONTWAIT) that
 *    finds nothing in the common case), so a packet read after a change
 *    was made is never carried on the old verification.  A notification
 *    lost to a full socket buffer (ENOBUFS) counts as a change.
 *  - tcx programs, which raise no notification: the engine asks the
 *    kernel at most every SN_ENG_TCX_MS, before a packet crosses
 *    (tcx_look);
 *  - sealnetd's periodic check (daemon/engine_guard.c): program ids of
 *    every clsact filter, tcx, netkit and XDP program on the device
 *    (sn_dp_engine_check), for what neither of the above sees (an XDP
 *    program attached through a BPF link).
 * Only sealnetd opens it, after such a check that found exactly sealnet's
 * programs and started after the last change the engine saw (seq).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "sealnet/engine.h"
#include "sealnet/log.h"
#include "internal.h"

int sn_eng_guard_init(struct sn_engine *e)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_TC | RTMGRP_LINK};
	struct sn_eng_guard *g = &e->guard;
	int buf = 1 << 20, err;

	atomic_store(&g->seq, 1);
	atomic_store(&g->ok_seq, 0); /* closed until sealnetd verified */
	g->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->notify_fd < 0)
		return -errno;
	g->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			  NETLINK_ROUTE);
	if (g->nl_fd < 0)
		return -errno;
	/* best effort: room for bursts (a lost one still closes the gate) */
	setsockopt(g->nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	if (bind(g->nl_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(g->nl_fd);
		g->nl_fd = -1;
		return err;
	}
	return 0;
}

void sn_eng_guard_free(struct sn_engine *e)
{
	if (e->guard.nl_fd >= 0)
		close(e->guard.nl_fd);
	if (e->guard.notify_fd >= 0)
		close(e->guard.notify_fd);
	e->guard.nl_fd = e->guard.notify_fd = -1;
}

/* does this notification concern the engine's device? */
static bool concerns(const struct sn_engine *e, const struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWQDISC:
	case RTM_DELQDISC:
	case RTM_NEWTFILTER:
	case RTM_DELTFILTER:
	case RTM_NEWCHAIN:
	case RTM_DELCHAIN: {
		const struct tcmsg *t = NLMSG_DATA(h);

		return h->nlmsg_len < NLMSG_LENGTH(sizeof(*t)) ||
		       t->tcm_ifindex == e->ifindex;
	}
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *i = NLMSG_DATA(h);

		return h->nlmsg_len < NLMSG_LENGTH(sizeof(*i)) ||
		       i->ifi_index == e->ifindex;
	}
	default:
		return false;
	}
}

void sn_eng_guard_poll(struct sn_engine *e)
{
	struct sn_eng_guard *g = &e->guard;
	uint8_t buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;
	uint64_t one = 1;

	for (;;) {
		ssize_t n = recv(g->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* ENOBUFS: notifications were lost; anything else:
			 * the socket cannot tell us any more.  Either way,
			 * a change may have gone unseen */
			changed = true;
			if (n < 0 && errno == ENOBUFS)
				continue;
			break;
		}
		for (left = (size_t)n; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left))
			if (concerns(e, h))
				changed = true;
	}
	if (!changed)
		return;
	atomic_fetch_add(&g->seq, 1);
	if (write(g->notify_fd, &one, sizeof(one)) < 0) {
		/* counter full: the daemon has a wake-up pending anyway */
	}
}

/*
 * tcx (kernel >= 6.6) sends no notification: before a packet crosses, at
 * most every SN_ENG_TCX_MS, ask the kernel whether any tcx program is on
 * the device (two BPF_PROG_QUERY calls).  None may be: while one is, each
 * look counts as a change, so no verification older than the look opens
 * the gate; sealnetd is woken when one appears (its check then finds and
 * reports it).
 */
#define ATTACH_TCX_INGRESS 46 /* BPF_TCX_INGRESS (uapi 6.1 predates it) */
#define ATTACH_TCX_EGRESS  47 /* BPF_TCX_EGRESS */

static bool tcx_present(const struct sn_engine *e)
{
	static const int type[2] = {ATTACH_TCX_EGRESS, ATTACH_TCX_INGRESS};

	for (int d = 0; d < 2; d++) {
		LIBBPF_OPTS(bpf_prog_query_opts, q);
		int err = bpf_prog_query_opts(
			e->ifindex, (enum bpf_attach_type)type[d], &q);

		if (!err && q.prog_cnt)
			return true;
	}
	return false; /* none, or no tcx in this kernel */
}

static void tcx_look(struct sn_engine *e)
{
	struct sn_eng_guard *g = &e->guard;
	struct timespec ts;
	uint64_t now, one = 1;
	bool was;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	if (now - g->tcx_at < SN_ENG_TCX_MS)
		return;
	g->tcx_at = now;
	was = g->tcx_seen;
	g->tcx_seen = tcx_present(e);
	if (!g->tcx_seen)
		return;
	atomic_fetch_add(&g->seq, 1);
	if (!was && write(g->notify_fd, &one, sizeof(one)) < 0) {
		/* counter full: the daemon has a wake-up pending anyway */
	}
}

bool sn_eng_guard_pass(struct sn_engine *e, struct sn_eng_peer *p, uint64_t n)
{
	struct sn_eng_guard *g = &e->guard;

	sn_eng_guard_poll(e);
	tcx_look(e);
	if (atomic_load_explicit(&g->ok_seq, memory_order_acquire) ==
	    atomic_load_explicit(&g->seq, memory_order_relaxed))
		return true;
	sn_eng_drop(e, p, SN_DROP_ENGINE_HOOKS, n);
	return false;
}

int sn_engine_guard_fd(struct sn_engine *e)
{
	return e->guard.notify_fd;
}

uint64_t sn_engine_guard_seq(struct sn_engine *e)
{
	uint64_t v;

	/* the wake-ups before this read are answered by the check after it */
	while (read(e->guard.notify_fd, &v, sizeof(v)) == sizeof(v))
		;
	return atomic_load(&e->guard.seq);
}

void sn_engine_guard_set(struct sn_engine *e, uint64_t seq)
{
	atomic_store_explicit(&e->guard.ok_seq, seq, memory_order_release);
}

bool sn_engine_guard_open(struct sn_engine *e)
{
	uint64_t ok = atomic_load(&e->guard.ok_seq);

	return ok && ok == atomic_load(&e->guard.seq);
}
