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

#endif
