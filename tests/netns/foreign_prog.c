// SPDX-License-Identifier: Apache-2.0
/*
 * foreign_prog: attach a program sealnetd did not load to an interface,
 * as a root attacker in the guest would (the watchdog tests).
 *
 *   foreign_prog tcx_egress|tcx_ingress|xdp IFNAME
 *   foreign_prog query-tcx IFNAME   print the ids of IFNAME's tcx programs
 *
 * The program is two instructions: "return pass" (TC_ACT_OK for tcx,
 * XDP_PASS for XDP), attached without a link, so it stays attached after
 * this process exits (until detached or the interface goes away).  tcx
 * attach types are given by number: this machine's uapi headers predate
 * tcx (kernel 6.6).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#define TCX_INGRESS 46 /* BPF_TCX_INGRESS */
#define TCX_EGRESS  47 /* BPF_TCX_EGRESS */

static int query_tcx(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);

	for (int t = TCX_INGRESS; ifindex && t <= TCX_EGRESS; t++) {
		__u32 ids[16], cnt = 16;
		int err = bpf_prog_query(ifindex, (enum bpf_attach_type)t, 0,
					 NULL, ids, &cnt);

		if (err) {
			fprintf(stderr, "foreign_prog: tcx query failed: %s\n",
				strerror(-err));
			return 1;
		}
		for (__u32 i = 0; i < cnt; i++)
			printf("%u\n", ids[i]);
	}
	return ifindex ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct bpf_insn insns[] = {
		/* r0 = verdict; exit */
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	enum bpf_prog_type type;
	int ifindex, fd, err;
	bool xdp;

	if (argc != 3) {
		fprintf(stderr, "usage: foreign_prog "
				"tcx_egress|tcx_ingress|xdp IFNAME\n");
		return 2;
	}
	if (!strcmp(argv[1], "query-tcx"))
		return query_tcx(argv[2]);
	xdp = !strcmp(argv[1], "xdp");
	if (!xdp && strcmp(argv[1], "tcx_egress") &&
	    strcmp(argv[1], "tcx_ingress")) {
		fprintf(stderr, "foreign_prog: unknown attach point '%s'\n",
			argv[1]);
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "foreign_prog: no interface '%s'\n", argv[2]);
		return 1;
	}
	type = xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS;
	insns[0].imm = xdp ? XDP_PASS : 0 /* TC_ACT_OK */;
	fd = bpf_prog_load(type, "foreign", "GPL", insns, 2, NULL);
	if (fd < 0) {
		fprintf(stderr, "foreign_prog: load failed: %s\n",
			strerror(-fd));
		return 1;
	}
	if (xdp)
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, NULL);
	else
		err = bpf_prog_attach(
			fd, ifindex,
			(enum bpf_attach_type)(!strcmp(argv[1], "tcx_egress") ?
						       TCX_EGRESS :
						       TCX_INGRESS),
			0);
	if (err) {
		err = err < 0 ? err : -errno;
		fprintf(stderr, "foreign_prog: attach %s on %s failed: %s\n",
			argv[1], argv[2], strerror(-err));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}
