// SPDX-License-Identifier: Apache-2.0
/*
 * Data-plane loader: skeleton load, map set-up, attach, keys, counters.
 * The interface's state (clsact qdisc, gso_max_segs, host routes) is
 * recorded when changed and restored by sn_dp_close().
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/crypto.h>

#include "sealnet/dataplane.h"
#include "sealnet/evidence.h"
#include "sealnet/log.h"
#include "sealnet/netlink.h"
#include "sealnet/tc.h"
#include "sealnet.skel.h"
#include "dp_watch.h"

/* Every map write of this file is recorded in the watchdog's shadow of
 * the maps sealnetd writes (lib/dp_integrity.c), so that the watchdog can
 * tell sealnetd's own writes from anyone else's.  A macro, so that no
 * write here can bypass it; each caller has its struct sn_dataplane *dp
 * in scope (a compile error otherwise). */
#define bpf_map_update_elem(fd, key, value, flags) \
	sn_dp_shadow_update(dp->shadow, fd, key, value, flags)
#define bpf_map_delete_elem(fd, key) sn_dp_shadow_delete(dp->shadow, fd, key)

struct sn_dataplane {
	struct sealnet_bpf *skel;
	struct ring_buffer *rb;
	sn_dp_event_fn ev_cb;
	void *ev_arg;
	int ifindex;
	char ifname[IF_NAMESIZE];
	bool attached, created_qdisc;
	bool adopt;	/* a previous sealnet's programs were attached */
	uint32_t old_gso_segs;
	bool gso_changed;
	uint32_t mtu;
	uint32_t routes[SN_MAX_NODES]; /* peer addresses with a host route */
	unsigned int n_routes;
	struct sn_config cfg;
	uint32_t key_gen; /* last installation generation handed out */
	struct sn_dp_shadow *shadow; /* the watchdog's view of our writes */
};

static const char *const drop_names[] = {
#define SN_X_NAME(name, text) #name,
	SN_DROP_REASONS(SN_X_NAME)
#undef SN_X_NAME
};
static const char *const drop_texts[] = {
#define SN_X_TEXT(name, text) text,
	SN_DROP_REASONS(SN_X_TEXT)
#undef SN_X_TEXT
};

const char *sn_drop_name(unsigned int r)
{
	return r < SN_DROP_MAX ? drop_names[r] : "UNKNOWN";
}

const char *sn_drop_text(unsigned int r)
{
	return r < SN_DROP_MAX ? drop_texts[r] : "unknown reason";
}

__attribute__((format(printf, 2, 0))) static int
libbpf_to_sn_log(enum libbpf_print_level level, const char *fmt,
			    va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	sn_vlog(level == LIBBPF_WARN ? SN_LOG_WARN : SN_LOG_INFO, fmt, ap);
	return 0;
}

static int write_config(struct sn_dataplane *dp)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_config), &zero,
				&dp->cfg, BPF_ANY))
		return -errno;
	return 0;
}

int sn_dp_open(const struct sn_dp_opts *o, struct sn_dataplane **out)
{
	struct sn_dataplane *dp;
	struct sn_link_info li;
	int err;

	if (!o->ifname || !o->self_id || o->self_id >= SN_MAX_NODES) {
		sn_err("data plane: need an interface and a node id in 1..%u",
		       SN_MAX_NODES - 1);
		return -EINVAL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	snprintf(dp->ifname, sizeof(dp->ifname), "%s", o->ifname);
	dp->ifindex = (int)if_nametoindex(o->ifname);
	if (!dp->ifindex) {
		err = -ENODEV;
		sn_err("data plane: no interface '%s' in this network namespace",
		       o->ifname);
		goto fail;
	}
	err = sn_nl_get_link(dp->ifindex, &li);
	if (err) {
		sn_err("data plane: reading link %s failed: %s", o->ifname,
		       strerror(-err));
		goto fail;
	}
	dp->mtu = li.mtu;
	/* 1 is what sealnet itself sets: a previous instance killed hard
	 * left it; restore the kernel's default (GSO_MAX_SEGS) then */
	dp->old_gso_segs = li.gso_max_segs == 1 ? 65535 : li.gso_max_segs;

	libbpf_set_print(libbpf_to_sn_log);
	dp->skel = sealnet_bpf__open_and_load();
	if (!dp->skel) {
		err = -errno ? -errno : -EINVAL;
		sn_err("data plane: loading the BPF programs failed: %s "
		       "(needs root, BTF and kernel >= 6.2)",
		       strerror(-err));
		goto fail;
	}
	err = sn_dp_shadow_new(dp->skel->obj, &dp->shadow);
	if (err)
		goto fail;
	dp->cfg.self_id = o->self_id;
	dp->cfg.udp_port = o->udp_port ? o->udp_port : SN_UDP_PORT_DEFAULT;
	dp->cfg.control_port = o->control_port;
	dp->cfg.control_mark = o->control_port ? (o->control_mark ? o->control_mark :
						    SN_CONTROL_MARK_DEFAULT) : 0;
	dp->cfg.flow_tcp_s = o->flow_tcp_s ? o->flow_tcp_s : SN_FLOW_TCP_S_DEFAULT;
	dp->cfg.flow_other_s = o->flow_other_s ? o->flow_other_s :
						 SN_FLOW_OTHER_S_DEFAULT;
	dp->cfg.unprot_egress = o->drop_unprotected_egress ? SN_UNPROT_DROP :
							      SN_UNPROT_PASS;
	dp->cfg.unprot_ingress = o->drop_unprotected_ingress ? SN_UNPROT_DROP :
								SN_UNPROT_PASS;
	dp->cfg.mtu = (uint16_t)(li.mtu > 65535 ? 65535 : li.mtu);
	dp->cfg.events_per_sec = o->events_per_sec ? o->events_per_sec : 100;
	dp->cfg.counter_limit = o->counter_limit ? o->counter_limit :
						   (1ull << 60);
	err = write_config(dp);
	if (err)
		goto fail;

	if (!o->keep_offloads) {
		err = li.gso_max_segs != 1 ?
			      sn_nl_set_gso_max_segs(dp->ifindex, 1) : 0;
		if (err) {
			sn_err("data plane: setting gso_max_segs 1 on %s failed: %s",
			       o->ifname, strerror(-err));
			goto fail;
		}
		dp->gso_changed = true;
	}
	/* a previous instance (killed hard) left its clsact qdisc: ours to
	 * remove at the end, as that instance would have */
	dp->adopt = o->defer_attach;
	if (!o->defer_attach) {
		err = sn_dp_attach(dp);
		if (err)
			goto fail;
	}
	*out = dp;
	return 0;
fail:
	sn_dp_close(dp);
	return err;
}

int sn_dp_attach(struct sn_dataplane *dp)
{
	bool created = false;
	int err;

	err = sn_tc_attach(dp->ifindex,
			   bpf_program__fd(dp->skel->progs.sn_egress),
			   bpf_program__fd(dp->skel->progs.sn_ingress),
			   &created);
	if (err)
		return err;
	if (!dp->attached)
		dp->created_qdisc = created || dp->adopt;
	dp->attached = true;
	return 0;
}

bool sn_dp_is_attached(struct sn_dataplane *dp)
{
	return dp->attached;
}

int sn_dp_previous_attached(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	unsigned int eg = 0, in = 0;
	int err;

	if (!ifindex)
		return -ENODEV;
	err = sn_tc_query(ifindex, 0, &eg);
	if (!err)
		err = sn_tc_query(ifindex, 1, &in);
	if (err)
		return err;
	return eg || in;
}

void sn_dp_close(struct sn_dataplane *dp)
{
	if (!dp)
		return;
	if (dp->attached)
		sn_tc_detach(dp->ifindex, dp->created_qdisc);
	for (unsigned int i = 0; i < dp->n_routes; i++)
		sn_nl_route_mtu(false, dp->routes[i], dp->ifindex, 0);
	if (dp->gso_changed)
		sn_nl_set_gso_max_segs(dp->ifindex, dp->old_gso_segs);
	ring_buffer__free(dp->rb);
	if (dp->skel) {
		/* wipe keys before the maps go away */
		struct sn_tx tx = { 0 };
		struct sn_rx rx = { 0 };

		for (uint32_t i = 0; i < SN_MAX_NODES; i++) {
			bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_tx),
					    &i, &tx, BPF_ANY);
			bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_rx),
					    &i, &rx, BPF_ANY);
		}
		sealnet_bpf__destroy(dp->skel);
	}
	sn_dp_shadow_free(dp->shadow);
	free(dp);
}

static int check_peer(uint32_t peer_id)
{
	return peer_id && peer_id < SN_MAX_NODES ? 0 : -EINVAL;
}

int sn_dp_add_peer(struct sn_dataplane *dp, uint32_t peer_id, uint32_t addr)
{
	struct sn_rx rx;
	int fd = bpf_map__fd(dp->skel->maps.sn_rx), err;

	if (check_peer(peer_id) || !addr)
		return -EINVAL;
	if (bpf_map_lookup_elem(fd, &peer_id, &rx))
		return -errno;
	rx.addr = addr;
	if (bpf_map_update_elem(fd, &peer_id, &rx, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_peer_by_addr),
				&addr, &peer_id, BPF_ANY)) {
		err = -errno;
		OPENSSL_cleanse(&rx, sizeof(rx));
		return err;
	}
	OPENSSL_cleanse(&rx, sizeof(rx));
	err = sn_nl_route_mtu(true, addr, dp->ifindex, dp->mtu - SN_OVERHEAD);
	if (err) {
		sn_err("data plane: host route with MTU %u to peer %u failed: %s",
		       dp->mtu - SN_OVERHEAD, peer_id, strerror(-err));
		return err;
	}
	if (dp->n_routes < SN_MAX_NODES)
		dp->routes[dp->n_routes++] = addr;
	return 0;
}

int sn_dp_add_peer6(struct sn_dataplane *dp, uint32_t peer_id,
		    const uint8_t addr6[16])
{
	if (check_peer(peer_id))
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_peer_by_addr6),
				addr6, &peer_id, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * Replace (peer, dir, slot) in three steps, each a complete map update:
 *   1. empty the slot (state EMPTY, key zeroed, generation 0): from here
 *      no packet seals or opens with it, and a packet that took the old
 *      key sees the change (seal.h sn_key_take, replay.h);
 *   2. reset what belongs to the slot: the send counter (tx) or the
 *      replay window (rx, under its spin lock: BPF_F_LOCK);
 *   3. install key and epoch with a fresh generation, state VALID.
 * The old key is never live with a reset counter or an empty window.
 */
static int key_write(struct sn_dataplane *dp, int fd, uint32_t peer_id,
		     enum sn_key_dir dir, unsigned int slot,
		     const struct sn_key *nk)
{
	union {
		struct sn_tx tx;
		struct sn_rx rx;
	} v;
	int err = 0;

	if (bpf_map_lookup_elem(fd, &peer_id, &v))
		return -errno;
	memcpy(dir == SN_KEY_TX ? &v.tx.slot[slot] : &v.rx.slot[slot], nk,
	       sizeof(*nk));
	if (bpf_map_update_elem(fd, &peer_id, &v, BPF_ANY))
		err = -errno;
	OPENSSL_cleanse(&v, sizeof(v));
	return err;
}

int sn_dp_install_key(struct sn_dataplane *dp, uint32_t peer_id,
		      enum sn_key_dir dir, unsigned int slot, uint16_t epoch,
		      const uint8_t key[SN_KEY_LEN])
{
	uint32_t idx = peer_id * 2 + slot;
	struct sn_key nk = { 0 };
	int fd, err;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	fd = bpf_map__fd(dir == SN_KEY_TX ? dp->skel->maps.sn_tx :
					    dp->skel->maps.sn_rx);
	if (dir == SN_KEY_TX) {
		struct sn_tx tx;
		bool busy;

		if (bpf_map_lookup_elem(fd, &peer_id, &tx))
			return -errno;
		busy = tx.cur == slot && tx.slot[slot].state == SN_KEY_VALID;
		OPENSSL_cleanse(&tx, sizeof(tx));
		if (busy) {
			sn_err("data plane: refusing to overwrite the tx key in "
			       "use (peer %u slot %u)", peer_id, slot);
			return -EBUSY;
		}
	}
	/* 1. empty */
	err = key_write(dp, fd, peer_id, dir, slot, &nk);
	if (err)
		return err;
	/* 2. reset */
	if (dir == SN_KEY_TX) {
		uint64_t zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_tx_ctr),
					&idx, &zero, BPF_ANY))
			return -errno;
	} else {
		struct {
			uint32_t lock, pad;
			struct sn_replay_state st;
		} r = { 0 };

		if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_replay),
					&idx, &r, BPF_F_LOCK))
			return -errno;
	}
	/* 3. install, with a generation never handed out before */
	if (++dp->key_gen == 0)
		++dp->key_gen;
	memcpy(nk.key, key, SN_KEY_LEN);
	nk.epoch = epoch;
	nk.state = SN_KEY_VALID;
	nk.gen = dp->key_gen;
	err = key_write(dp, fd, peer_id, dir, slot, &nk);
	OPENSSL_cleanse(&nk, sizeof(nk));
	return err;
}

static int slot_op(struct sn_dataplane *dp, uint32_t peer_id,
		   enum sn_key_dir dir, unsigned int slot, bool clear)
{
	union {
		struct sn_tx tx;
		struct sn_rx rx;
	} v;
	struct sn_key *k;
	int fd, ret;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	fd = bpf_map__fd(dir == SN_KEY_TX ? dp->skel->maps.sn_tx :
					    dp->skel->maps.sn_rx);
	if (bpf_map_lookup_elem(fd, &peer_id, &v))
		return -errno;
	k = dir == SN_KEY_TX ? &v.tx.slot[slot] : &v.rx.slot[slot];
	ret = k->state == SN_KEY_VALID ? k->epoch : -ENOKEY;
	if (clear) {
		memset(k, 0, sizeof(*k));
		ret = bpf_map_update_elem(fd, &peer_id, &v, BPF_ANY) ? -errno : 0;
	}
	OPENSSL_cleanse(&v, sizeof(v));
	return ret;
}

int sn_dp_clear_key(struct sn_dataplane *dp, uint32_t peer_id,
		    enum sn_key_dir dir, unsigned int slot)
{
	return slot_op(dp, peer_id, dir, slot, true);
}

int sn_dp_key_epoch(struct sn_dataplane *dp, uint32_t peer_id,
		    enum sn_key_dir dir, unsigned int slot)
{
	return slot_op(dp, peer_id, dir, slot, false);
}

int sn_dp_tx_slot(struct sn_dataplane *dp, uint32_t peer_id)
{
	struct sn_tx tx;
	int cur;

	if (check_peer(peer_id))
		return -EINVAL;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_tx), &peer_id,
				&tx))
		return -errno;
	cur = (int)(tx.cur & 1);
	OPENSSL_cleanse(&tx, sizeof(tx));
	return cur;
}

int sn_dp_set_tx_slot(struct sn_dataplane *dp, uint32_t peer_id,
		      unsigned int slot)
{
	struct sn_tx tx;
	int fd = bpf_map__fd(dp->skel->maps.sn_tx), err = 0;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	if (bpf_map_lookup_elem(fd, &peer_id, &tx))
		return -errno;
	if (tx.slot[slot].state != SN_KEY_VALID)
		err = -ENOKEY;
	else {
		tx.cur = slot;
		if (bpf_map_update_elem(fd, &peer_id, &tx, BPF_ANY))
			err = -errno;
	}
	OPENSSL_cleanse(&tx, sizeof(tx));
	return err;
}

int sn_dp_tx_counter(struct sn_dataplane *dp, uint32_t peer_id, uint64_t *out)
{
	int slot = sn_dp_tx_slot(dp, peer_id);
	uint32_t idx;
	uint64_t v;

	if (slot < 0)
		return slot;
	idx = peer_id * 2 + (uint32_t)slot;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_tx_ctr), &idx, &v))
		return -errno;
	*out = v;
	return 0;
}

uint64_t sn_dp_counter_limit(struct sn_dataplane *dp)
{
	return dp->cfg.counter_limit;
}

int sn_dp_revoke_peer(struct sn_dataplane *dp, uint32_t peer_id)
{
	struct sn_tx tx = { 0 };
	struct sn_rx rx;
	int err = 0;

	if (check_peer(peer_id))
		return -EINVAL;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_rx), &peer_id,
				&rx))
		return -errno;
	memset(rx.slot, 0, sizeof(rx.slot));
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_tx), &peer_id,
				&tx, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_rx), &peer_id,
				&rx, BPF_ANY))
		err = -errno;
	return err;
}

static int put_policy(struct sn_dataplane *dp, uint32_t peer, uint16_t port,
		      uint8_t proto, unsigned int dir, unsigned int kind,
		      uint64_t local, uint32_t rule_id)
{
	struct sn_policy_key k = {
		.peer = peer, .port = port, .proto = proto,
		.dir_kind = (uint8_t)(dir << 4 | kind), .local = local,
	};
	struct sn_policy_val v = { .rule_id = rule_id };

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_policy), &k, &v,
				BPF_ANY))
		return -errno;
	return 0;
}

int sn_dp_add_rule(struct sn_dataplane *dp, const struct sn_dp_rule *r,
		   uint32_t rule_id)
{
	int err;

	if (check_peer(r->peer_id))
		return -EINVAL;
	/* No reply entries: replies pass only within a flow that a packet
	 * allowed by this rule opened (bpf/lib/policy.h, sn_flows). */
	if (r->dir == SN_DIR_EGRESS) {
		uint64_t local = r->local_kind == SN_LOCAL_ANY ? 0 : r->local;

		err = put_policy(dp, r->peer_id, r->port, r->proto,
				 SN_DIR_EGRESS, r->local_kind, local, rule_id);
		if (!err && r->local_kind != SN_LOCAL_ANY) {
			dp->cfg.flags |= r->local_kind == SN_LOCAL_CGROUP ?
						 SN_CFG_CGROUP_RULES :
						 SN_CFG_PORT_RULES;
			err = write_config(dp);
		}
	} else if (r->dir == SN_DIR_INGRESS) {
		err = put_policy(dp, r->peer_id, r->port, r->proto,
				 SN_DIR_INGRESS, SN_LOCAL_ANY, 0, rule_id);
	} else {
		err = -EINVAL;
	}
	return err;
}

static int percpu_sum(int fd, uint32_t key, size_t words, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu * words, sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	memset(sum, 0, words * sizeof(uint64_t));
	for (int c = 0; c < ncpu; c++)
		for (size_t w = 0; w < words; w++)
			sum[w] += vals[(size_t)c * words + w];
	free(vals);
	return 0;
}

int sn_dp_drop_counts(struct sn_dataplane *dp, uint64_t counts[SN_DROP_MAX])
{
	int fd = bpf_map__fd(dp->skel->maps.sn_drops), err;
	uint64_t c[SN_DROP_MAX] = { 0 };

	for (uint32_t r = 1; r < SN_DROP_MAX; r++) {
		err = percpu_sum(fd, r, 1, &c[r]);
		if (err)
			return err;
	}
	memcpy(counts, c, sizeof(c));
	return 0;
}

int sn_dp_peer_stats(struct sn_dataplane *dp, uint32_t peer_id,
		     struct sn_peer_stats *out)
{
	uint64_t w[sizeof(struct sn_peer_stats) / 8];
	int err;

	if (check_peer(peer_id))
		return -EINVAL;
	err = percpu_sum(bpf_map__fd(dp->skel->maps.sn_peer_stats), peer_id,
			 sizeof(w) / sizeof(w[0]), w);
	if (err)
		return err;
	memcpy(out, w, sizeof(*out));
	return 0;
}

static int on_ringbuf(void *ctx, void *data, size_t len)
{
	struct sn_dataplane *dp = ctx;

	if (len >= sizeof(struct sn_event) && dp->ev_cb)
		dp->ev_cb(data, dp->ev_arg);
	return 0;
}

int sn_dp_events_fd(struct sn_dataplane *dp)
{
	if (!dp->rb) {
		dp->rb = ring_buffer__new(bpf_map__fd(dp->skel->maps.sn_events),
					  on_ringbuf, dp, NULL);
		if (!dp->rb)
			return -errno;
	}
	return ring_buffer__epoll_fd(dp->rb);
}

int sn_dp_events_consume(struct sn_dataplane *dp, sn_dp_event_fn cb,
			 void *arg)
{
	int n;

	if (!dp->rb && sn_dp_events_fd(dp) < 0)
		return -EINVAL;
	dp->ev_cb = cb;
	dp->ev_arg = arg;
	n = ring_buffer__consume(dp->rb);
	dp->ev_cb = NULL;
	return n < 0 ? n : 0;
}

int sn_dp_prog_ids(struct sn_dataplane *dp, unsigned int *egress,
		   unsigned int *ingress)
{
	int err = sn_tc_query(dp->ifindex, 0, egress);

	if (!err)
		err = sn_tc_query(dp->ifindex, 1, ingress);
	return err;
}

int sn_dp_ifindex(struct sn_dataplane *dp)
{
	return dp->ifindex;
}

static int prog_info(struct bpf_program *p, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), info, &len))
		return -errno;
	return 0;
}

int sn_dp_measure(struct sn_dataplane *dp, struct sn_mlog *m)
{
	struct bpf_program *progs[] = { dp->skel->progs.sn_egress,
					dp->skel->progs.sn_ingress };
	const void *obj;
	size_t sz;
	int err;

	obj = sealnet_bpf__elf_bytes(&sz);
	err = sn_mlog_extend_data(m, SN_MLOG_BPF_OBJECT, "sealnet.bpf.o", obj,
				  sz);
	for (unsigned int i = 0; !err && i < 2; i++) {
		struct bpf_prog_info info;
		char desc[64];

		err = prog_info(progs[i], &info);
		if (err)
			break;
		snprintf(desc, sizeof(desc), "prog %s tag",
			 bpf_program__name(progs[i]));
		err = sn_mlog_extend_data(m, SN_MLOG_BPF_PROG, desc, info.tag,
					  sizeof(info.tag));
	}
	return err;
}

static int own_prog_ids(struct sn_dataplane *dp, unsigned int id[2])
{
	struct bpf_program *progs[] = { dp->skel->progs.sn_egress,
					dp->skel->progs.sn_ingress };

	for (int dir = 0; dir < 2; dir++) {
		struct bpf_prog_info info;
		int err = prog_info(progs[dir], &info);

		if (err)
			return err;
		id[dir] = info.id;
	}
	return 0;
}

uint32_t sn_dp_control_mark(struct sn_dataplane *dp)
{
	return dp->cfg.control_mark;
}

int sn_dp_prog_fd(struct sn_dataplane *dp, bool ingress)
{
	return bpf_program__fd(ingress ? dp->skel->progs.sn_ingress :
					 dp->skel->progs.sn_egress);
}

int sn_dp_rx_top(struct sn_dataplane *dp, uint32_t peer_id, unsigned int slot,
		 uint64_t *top)
{
	struct {
		uint32_t lock, pad;
		struct sn_replay_state st;
	} r;
	uint32_t idx = peer_id * 2 + slot;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_replay), &idx,
				&r))
		return -errno;
	*top = r.st.top;
	return 0;
}

int sn_dp_check_attached(struct sn_dataplane *dp, char *why, size_t why_len)
{
	unsigned int id[2];
	bool own_ok[2];
	int err = own_prog_ids(dp, id);

	if (!err)
		err = sn_dp_hooks_check(dp->ifindex, id, false, own_ok, why,
					why_len);
	if (!err)
		err = sn_dp_shadow_check(dp->shadow, why, why_len);
	if (err == -EPERM)
		sn_err("data plane on %s changed: %s", dp->ifname, why);
	return err;
}

int sn_dp_enforce(struct sn_dataplane *dp)
{
	unsigned int id[2];
	bool own_ok[2] = { false, false };
	char why[512];
	int err = own_prog_ids(dp, id);

	if (err)
		return err;
	/* sealnet's own filters first (a replaced program is swapped back
	 * atomically), then everything else goes */
	sn_dp_hooks_check(dp->ifindex, id, false, own_ok, why, sizeof(why));
	if (!own_ok[0] || !own_ok[1])
		sn_dp_attach(dp);
	err = sn_dp_hooks_check(dp->ifindex, id, true, own_ok, why,
				sizeof(why));
	if (err == -EPERM && (!own_ok[0] || !own_ok[1]))
		err = sn_dp_attach(dp); /* another classifier held pref 1 */
	else if (err == -EPERM)
		err = 0;
	if (!err)
		err = write_config(dp);
	return err;
}
