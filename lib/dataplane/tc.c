// SPDX-License-Identifier: Apache-2.0
/* clsact attach/detach/query for sealnet's two filters. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "sealnet/log.h"
#include "tc.h"

static void hook_init(struct bpf_tc_hook *h, int ifindex,
		      enum bpf_tc_attach_point ap)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = ap;
}

static void opts_init(struct bpf_tc_opts *o, int fd)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = SN_TC_HANDLE;
	o->priority = SN_TC_PRIO;
	o->prog_fd = fd;
}

static int detach_one(int ifindex, enum bpf_tc_attach_point ap)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	hook_init(&h, ifindex, ap);
	opts_init(&o, 0);
	err = bpf_tc_detach(&h, &o);
	if (err == -ENOENT || err == -EINVAL)
		return 0; /* no qdisc or no such filter: nothing to remove */
	return err;
}

/* Attach (replace) sealnet's filter running fd on one hook. */
static int attach_one(int ifindex, enum bpf_tc_attach_point ap, int fd)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	hook_init(&h, ifindex, ap);
	opts_init(&o, fd);
	o.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&h, &o);
	if (err)
		sn_err("attaching the %s program on ifindex %d failed: %s",
		       ap == BPF_TC_EGRESS ? "egress" : "ingress", ifindex,
		       strerror(-err));
	return err;
}

int sn_tc_attach(int ifindex, int egress_fd, int ingress_fd,
		 bool *created_qdisc)
{
	struct bpf_tc_hook h;
	bool created = false;
	int err;

	hook_init(&h, ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
	err = bpf_tc_hook_create(&h);
	if (err == 0)
		created = true;
	else if (err != -EEXIST) {
		sn_err("creating the clsact qdisc on ifindex %d failed: %s",
		       ifindex, strerror(-err));
		return err;
	}

	if (egress_fd >= 0) {
		err = attach_one(ifindex, BPF_TC_EGRESS, egress_fd);
		if (err)
			goto fail;
	}
	if (ingress_fd >= 0) {
		err = attach_one(ifindex, BPF_TC_INGRESS, ingress_fd);
		if (err)
			goto fail;
	}
	if (created_qdisc)
		*created_qdisc = created;
	return 0;
fail:
	sn_tc_detach(ifindex, created);
	return err;
}

int sn_tc_detach(int ifindex, bool destroy_qdisc)
{
	struct bpf_tc_hook h;
	int err, err2;

	err = detach_one(ifindex, BPF_TC_EGRESS);
	err2 = detach_one(ifindex, BPF_TC_INGRESS);
	if (!err)
		err = err2;
	if (destroy_qdisc) {
		hook_init(&h, ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
		err2 = bpf_tc_hook_destroy(&h);
		if (err2 && err2 != -ENOENT && err2 != -EINVAL && !err)
			err = err2;
	}
	return err;
}

int sn_tc_query(int ifindex, int dir, unsigned int *prog_id)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	hook_init(&h, ifindex, dir ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	opts_init(&o, 0);
	err = bpf_tc_query(&h, &o);
	if (err == -ENOENT || err == -EINVAL) {
		*prog_id = 0;
		return 0;
	}
	if (err)
		return err;
	*prog_id = o.prog_id;
	return 0;
}
