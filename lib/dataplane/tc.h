/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attaching BPF programs to an interface's clsact hooks (libbpf bpf_tc_*;
 * libbpf 1.1 has no tcx).  sealnet owns one filter per direction, at a
 * fixed handle and priority, so attach is idempotent (replace) and detach
 * removes exactly what sealnet added.
 */
#ifndef SEALNET_TC_H
#define SEALNET_TC_H

#include <stdbool.h>

#define SN_TC_HANDLE 0x5e1u
#define SN_TC_PRIO 1u

/*
 * Attach (or replace) sealnet's egress and ingress filters on ifindex.
 * Creates the clsact qdisc when missing; *created_qdisc tells whether it
 * did (may be NULL).  A negative fd skips that direction.
 * Returns 0 or a negative errno; on failure nothing new stays attached.
 */
int sn_tc_attach(int ifindex, int egress_fd, int ingress_fd,
		 bool *created_qdisc);

/*
 * Remove sealnet's filters from ifindex (missing ones are not an error).
 * With destroy_qdisc, also delete the clsact qdisc (and with it any other
 * filter on it): use it when sn_tc_attach created the qdisc.
 */
int sn_tc_detach(int ifindex, bool destroy_qdisc);

/* Kernel program id attached by sealnet in direction (0 egress, 1 ingress),
 * 0 when none; negative errno on failure. */
int sn_tc_query(int ifindex, int dir, unsigned int *prog_id);

#endif
