// SPDX-License-Identifier: Apache-2.0
/* rtnetlink requests: one message, one ack. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>

#include "netlink.h"

struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct rtmsg rtm;
		struct tcmsg tcm;
	};
	char attrs[256];
};

static void nl_put(struct nl_req *r, unsigned short type, const void *data,
		   unsigned short len)
{
	struct rtattr *a = (void *)((char *)&r->nh + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Append an attribute to the nested attribute m (in a buffer with room). */
static void nl_nest_put(struct rtattr *m, unsigned short type, const void *data,
			unsigned short len)
{
	struct rtattr *a = (void *)((char *)m + RTA_ALIGN(m->rta_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	m->rta_len = (unsigned short)(RTA_ALIGN(m->rta_len) + RTA_ALIGN(a->rta_len));
}

/* A request of this type whose family header is hdr_len bytes, zeroed. */
static void nl_init(struct nl_req *r, unsigned short type, size_t hdr_len)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(hdr_len);
	r->nh.nlmsg_type = type;
}

/* A link request (RTM_*LINK) about ifindex. */
static void nl_init_link(struct nl_req *r, unsigned short type, int ifindex)
{
	nl_init(r, type, sizeof(r->ifi));
	r->ifi.ifi_family = AF_UNSPEC;
	r->ifi.ifi_index = ifindex;
}

/* A tc filter request (RTM_*TFILTER) about ifindex under parent. */
static void nl_init_tc(struct nl_req *r, unsigned short type, int ifindex,
		       uint32_t parent)
{
	nl_init(r, type, sizeof(r->tcm));
	r->tcm.tcm_family = AF_UNSPEC;
	r->tcm.tcm_ifindex = ifindex;
	r->tcm.tcm_parent = parent;
}

/* Send r; on reply call parse (for GET), else expect an ack. */
static int nl_talk(struct nl_req *r, int (*parse)(struct nlmsghdr *, void *),
		   void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[16384];
	int fd, err = 0;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	r->nh.nlmsg_flags |= NLM_F_REQUEST;
	if (r->nh.nlmsg_type != RTM_GETTFILTER &&
	    r->nh.nlmsg_type != RTM_GETQDISC) /* a dump ends with DONE */
		r->nh.nlmsg_flags |= NLM_F_ACK;
	r->nh.nlmsg_seq = 1;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		struct nlmsghdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		for (h = (void *)buf; NLMSG_OK(h, (unsigned)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error;
				goto out;
			}
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (parse) {
				err = parse(h, arg);
				if (err)
					goto out;
			}
		}
	}
out:
	close(fd);
	return err;
}

static int parse_link(struct nlmsghdr *h, void *arg)
{
	struct sn_link_info *li = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *a = IFLA_RTA(ifi);
	int len = (int)IFLA_PAYLOAD(h);

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_MTU)
			memcpy(&li->mtu, RTA_DATA(a), 4);
		else if (a->rta_type == IFLA_GSO_MAX_SEGS)
			memcpy(&li->gso_max_segs, RTA_DATA(a), 4);
	}
	return 0;
}

int sn_nl_get_link(int ifindex, struct sn_link_info *out)
{
	struct sn_link_info li = { 0 };
	struct nl_req r;
	int err;

	nl_init_link(&r, RTM_GETLINK, ifindex);
	err = nl_talk(&r, parse_link, &li);
	if (err)
		return err;
	if (!li.mtu)
		return -ENODEV;
	*out = li;
	return 0;
}

int sn_nl_set_gso_max_segs(int ifindex, uint32_t segs)
{
	struct nl_req r;

	nl_init_link(&r, RTM_NEWLINK, ifindex);
	nl_put(&r, IFLA_GSO_MAX_SEGS, &segs, 4);
	return nl_talk(&r, NULL, NULL);
}

int sn_nl_route_mtu(bool add, uint32_t dst, int ifindex, uint32_t mtu)
{
	return sn_nl_route_mtu_table(add, dst, ifindex, mtu, RT_TABLE_MAIN);
}

int sn_nl_rule(bool add, uint32_t pref, uint32_t fwmark, uint32_t table)
{
	struct nl_req r;
	uint32_t mask = 0xffffffffu;

	/* struct fib_rule_hdr has struct rtmsg's layout */
	nl_init(&r, add ? RTM_NEWRULE : RTM_DELRULE, sizeof(r.rtm));
	if (add)
		r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	r.rtm.rtm_family = AF_INET;
	r.rtm.rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
	r.rtm.rtm_type = FR_ACT_TO_TBL;
	nl_put(&r, FRA_PRIORITY, &pref, 4);
	nl_put(&r, FRA_TABLE, &table, 4);
	if (fwmark) {
		nl_put(&r, FRA_FWMARK, &fwmark, 4);
		nl_put(&r, FRA_FWMASK, &mask, 4);
	}
	return nl_talk(&r, NULL, NULL);
}

int sn_nl_route_mtu_table(bool add, uint32_t dst, int ifindex, uint32_t mtu,
			  uint32_t table)
{
	struct nl_req r;
	char mx[64];
	struct rtattr *m = (void *)mx;
	uint32_t lock = 1u << RTAX_MTU, oif = (uint32_t)ifindex;

	nl_init(&r, add ? RTM_NEWROUTE : RTM_DELROUTE, sizeof(r.rtm));
	if (add)
		r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.rtm.rtm_family = AF_INET;
	r.rtm.rtm_dst_len = 32;
	r.rtm.rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
	r.rtm.rtm_protocol = RTPROT_STATIC;
	r.rtm.rtm_scope = RT_SCOPE_LINK;
	r.rtm.rtm_type = RTN_UNICAST;
	nl_put(&r, RTA_DST, &dst, 4);
	nl_put(&r, RTA_OIF, &oif, 4);
	if (table >= 256)
		nl_put(&r, RTA_TABLE, &table, 4);
	if (add) {
		/* RTA_METRICS: nested RTAX_MTU + RTAX_LOCK */
		m->rta_type = RTA_METRICS;
		m->rta_len = RTA_LENGTH(0);
		nl_nest_put(m, RTAX_MTU, &mtu, 4);
		nl_nest_put(m, RTAX_LOCK, &lock, 4);
		nl_put(&r, RTA_METRICS, RTA_DATA(m),
		       (unsigned short)(m->rta_len - RTA_LENGTH(0)));
	}
	return nl_talk(&r, NULL, NULL);
}

struct tc_walk {
	uint32_t parent;
	int (*cb)(const struct sn_tc_filter *f, void *arg);
	void *arg;
};

static void parse_bpf_opts(struct rtattr *o, struct sn_tc_filter *f)
{
	struct rtattr *a = RTA_DATA(o);
	int len = (int)RTA_PAYLOAD(o);

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_BPF_ID && RTA_PAYLOAD(a) >= 4)
			memcpy(&f->bpf_id, RTA_DATA(a), 4);
		else if (a->rta_type == TCA_BPF_FLAGS && RTA_PAYLOAD(a) >= 4)
			memcpy(&f->bpf_flags, RTA_DATA(a), 4);
		else if (a->rta_type == TCA_BPF_ACT || a->rta_type == TCA_BPF_POLICE ||
			 a->rta_type == TCA_BPF_CLASSID)
			f->has_actions = true;
	}
}

static int parse_filter(struct nlmsghdr *h, void *arg)
{
	struct tc_walk *w = arg;
	struct tcmsg *t = NLMSG_DATA(h);
	struct rtattr *a = (void *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	struct rtattr *opts = NULL;
	struct sn_tc_filter f = { 0 };

	if (h->nlmsg_type != RTM_NEWTFILTER || len < 0)
		return 0;
	f.parent = w->parent;
	f.handle = t->tcm_handle;
	f.prio = TC_H_MAJ(t->tcm_info) >> 16;
	f.protocol = (uint16_t)TC_H_MIN(t->tcm_info);
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND)
			snprintf(f.kind, sizeof(f.kind), "%.*s",
				 (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
		else if (a->rta_type == TCA_CHAIN && RTA_PAYLOAD(a) >= 4)
			memcpy(&f.chain, RTA_DATA(a), 4);
		else if (a->rta_type == TCA_OPTIONS)
			opts = a;
	}
	if (opts && !strcmp(f.kind, "bpf"))
		parse_bpf_opts(opts, &f);
	return w->cb(&f, w->arg);
}

int sn_nl_tc_filters(int ifindex, uint32_t parent,
		     int (*cb)(const struct sn_tc_filter *f, void *arg),
		     void *arg)
{
	struct tc_walk w = { .parent = parent, .cb = cb, .arg = arg };
	struct nl_req r;
	int err;

	nl_init_tc(&r, RTM_GETTFILTER, ifindex, parent);
	r.nh.nlmsg_flags = NLM_F_DUMP;
	err = nl_talk(&r, parse_filter, &w);
	/* no clsact qdisc: no filters */
	return err == -EINVAL || err == -ENOENT ? 0 : err;
}

int sn_nl_tc_filter_del(int ifindex, const struct sn_tc_filter *f)
{
	struct nl_req r;

	if (!f->prio)
		return -EINVAL; /* prio 0 would flush the whole chain */
	nl_init_tc(&r, RTM_DELTFILTER, ifindex, f->parent);
	r.tcm.tcm_handle = f->handle;
	r.tcm.tcm_info = TC_H_MAKE(f->prio << 16, f->protocol);
	if (f->chain)
		nl_put(&r, TCA_CHAIN, &f->chain, 4);
	if (f->kind[0])
		nl_put(&r, TCA_KIND, f->kind, (unsigned short)(strlen(f->kind) + 1));
	return nl_talk(&r, NULL, NULL);
}

struct qdisc_walk {
	int ifindex;
	int (*cb)(const struct sn_tc_qdisc *q, void *arg);
	void *arg;
};

static int parse_qdisc(struct nlmsghdr *h, void *arg)
{
	struct qdisc_walk *w = arg;
	struct tcmsg *t = NLMSG_DATA(h);
	struct rtattr *a = (void *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	struct sn_tc_qdisc q = {0};

	if (h->nlmsg_type != RTM_NEWQDISC || len < 0 ||
	    t->tcm_ifindex != w->ifindex)
		return 0;
	q.handle = t->tcm_handle;
	q.parent = t->tcm_parent;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == TCA_KIND)
			snprintf(q.kind, sizeof(q.kind), "%.*s",
				 (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
	return w->cb(&q, w->arg);
}

int sn_nl_tc_qdiscs(int ifindex,
		    int (*cb)(const struct sn_tc_qdisc *q, void *arg),
		    void *arg)
{
	struct qdisc_walk w = {.ifindex = ifindex, .cb = cb, .arg = arg};
	struct nl_req r;

	nl_init(&r, RTM_GETQDISC, sizeof(r.tcm));
	r.tcm.tcm_family = AF_UNSPEC;
	r.tcm.tcm_ifindex = ifindex;
	r.nh.nlmsg_flags = NLM_F_DUMP;
	return nl_talk(&r, parse_qdisc, &w);
}

int sn_nl_qdisc_del_root(int ifindex)
{
	struct nl_req r;

	nl_init(&r, RTM_DELQDISC, sizeof(r.tcm));
	r.tcm.tcm_family = AF_UNSPEC;
	r.tcm.tcm_ifindex = ifindex;
	r.tcm.tcm_parent = TC_H_ROOT;
	return nl_talk(&r, NULL, NULL);
}
