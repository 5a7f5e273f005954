/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal rtnetlink: link attributes and host routes the data plane needs. */
#ifndef SEALNET_NETLINK_H
#define SEALNET_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

struct sn_link_info {
	uint32_t mtu;
	uint32_t gso_max_segs;
};

int sn_nl_get_link(int ifindex, struct sn_link_info *out);
/* IFLA_GSO_MAX_SEGS: 1 makes TCP build one-segment packets, which the
 * data plane can seal one by one. */
int sn_nl_set_gso_max_segs(int ifindex, uint32_t segs);
/* Host route to dst (IPv4, network order) on ifindex with a locked MTU;
 * add replaces an existing one. */
int sn_nl_route_mtu(bool add, uint32_t dst, int ifindex, uint32_t mtu);
/* The same in routing table `table`. */
int sn_nl_route_mtu_table(bool add, uint32_t dst, int ifindex, uint32_t mtu,
			  uint32_t table);
/* IPv4 policy rule at priority pref: packets with exactly fwmark (0: any)
 * look up `table`.  add fails with -EEXIST when the same rule exists. */
int sn_nl_rule(bool add, uint32_t pref, uint32_t fwmark, uint32_t table);

/* One tc filter (or a classifier's own entry: handle 0) as the kernel
 * dumps it. */
struct sn_tc_filter {
	uint32_t parent;   /* e.g. clsact egress ffff:fff3 */
	uint32_t prio;	   /* "pref" */
	uint16_t protocol; /* network order, ETH_P_* */
	uint32_t handle;
	uint32_t chain;
	char kind[16];	   /* "bpf", "u32", ... */
	uint32_t bpf_id;   /* bpf: program id */
	uint32_t bpf_flags; /* bpf: TCA_BPF_FLAGS (direct action) */
	bool has_actions;  /* bpf: actions, police or classid present */
};
/* Call cb for every filter under parent on ifindex, in every chain (a
 * missing qdisc yields none).  cb returns 0 to go on. */
int sn_nl_tc_filters(int ifindex, uint32_t parent,
		     int (*cb)(const struct sn_tc_filter *f, void *arg),
		     void *arg);
/* Delete f (handle 0: the whole classifier at f's prio). */
int sn_nl_tc_filter_del(int ifindex, const struct sn_tc_filter *f);

/* One qdisc as the kernel dumps it. */
struct sn_tc_qdisc {
	uint32_t handle; /* 0: made by the kernel (a default root qdisc) */
	uint32_t parent; /* TC_H_ROOT, TC_H_CLSACT, a class */
	char kind[16];	 /* "pfifo_fast", "clsact", "htb", ... */
};
/* Call cb for every qdisc on ifindex.  cb returns 0 to go on. */
int sn_nl_tc_qdiscs(int ifindex,
		    int (*cb)(const struct sn_tc_qdisc *q, void *arg),
		    void *arg);
/* Delete ifindex's root qdisc (the kernel puts its default back). */
int sn_nl_qdisc_del_root(int ifindex);

#endif
