/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two loaded instances of the data plane (bpf/sealnet.bpf.c) playing
 * node 1 (198.18.0.1) and node 2 (198.18.0.2), for BPF_PROG_TEST_RUN:
 * shared by tests/bpf/ and bench/dp_ns.c.
 *
 *   sn_tn_netns()            a private network namespace with both
 *                            addresses on lo (the ingress program asks the
 *                            FIB whether a packet is for this host)
 *   sn_tn_init(n, ...)       load, configure, peer, keys (epoch 7, slot 0)
 *   sn_tn_rule(n, dir, port) a TCP rule
 *   sn_tn_run(prog, ...)     one test run, optionally with skb->mark
 *   sn_tn_drops(n, reason)   a drop counter summed over CPUs
 *
 * Failures abort with a message: these are fixtures, not assertions.
 */
#ifndef SN_TEST_TWONODE_H
#define SN_TEST_TWONODE_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealnet/abi.h"
#include "sealnet.skel.h"
#include "pkt.h"

#define SN_TN_A	      "198.18.0.1"
#define SN_TN_B	      "198.18.0.2"
#define SN_TN_PKT_MAX 4096

struct sn_tnode {
	struct sealnet_bpf *s;
	uint32_t id, peer;
};

static inline void sn_tn_die(const char *what, int err)
{
	fprintf(stderr, "twonode: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static inline void sn_tn_upd(struct bpf_map *m, const void *k, const void *v)
{
	if (bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY))
		sn_tn_die(bpf_map__name(m), errno);
}

static inline void sn_tn_netns(void)
{
	if (unshare(CLONE_NEWNET))
		sn_tn_die("unshare(CLONE_NEWNET) (needs root)", errno);
	if (system("ip link set lo up && ip addr add " SN_TN_A "/32 dev lo && "
		   "ip addr add " SN_TN_B "/32 dev lo"))
		sn_tn_die("configuring lo in the test namespace (iproute2)",
			  EINVAL);
}

static inline void sn_tn_rule(struct sn_tnode *n, unsigned int dir,
			      uint16_t port)
{
	struct sn_policy_key k = {.peer = n->peer,
				  .port = port,
				  .proto = 6,
				  .dir_kind = (uint8_t)(dir << 4)};
	struct sn_policy_val v = {1, 0};

	sn_tn_upd(n->s->maps.sn_policy, &k, &v);
}

/* A VALID key slot; gen must be unique per installation on one node. */
static inline void sn_tn_key(struct sn_key *k, const uint8_t *key,
			     uint16_t epoch, uint32_t gen)
{
	memcpy(k->key, key, 32);
	k->epoch = epoch;
	k->state = SN_KEY_VALID;
	k->gen = gen;
}

static inline void sn_tn_init(struct sn_tnode *n, uint32_t id, uint32_t peer,
			      const char *peer_addr, const uint8_t *txk,
			      const uint8_t *rxk, uint32_t events_per_sec,
			      uint64_t counter_limit)
{
	struct sn_config cfg = {.self_id = id,
				.udp_port = SN_UDP_PORT_DEFAULT,
				.mtu = 1500,
				.events_per_sec = events_per_sec,
				.counter_limit = counter_limit,
				.flow_tcp_s = SN_FLOW_TCP_S_DEFAULT,
				.flow_other_s = SN_FLOW_OTHER_S_DEFAULT};
	struct sn_tx tx = {0};
	struct sn_rx rx = {0};
	uint32_t zero = 0, addr = sn_test_ip(peer_addr);

	n->s = sealnet_bpf__open_and_load();
	if (!n->s)
		sn_tn_die("sealnet_bpf__open_and_load", errno);
	n->id = id;
	n->peer = peer;
	sn_tn_upd(n->s->maps.sn_config, &zero, &cfg);
	sn_tn_upd(n->s->maps.sn_peer_by_addr, &addr, &peer);
	sn_tn_key(&tx.slot[0], txk, 7, 1);
	sn_tn_key(&rx.slot[0], rxk, 7, 1);
	rx.addr = addr;
	sn_tn_upd(n->s->maps.sn_tx, &peer, &tx);
	sn_tn_upd(n->s->maps.sn_rx, &peer, &rx);
}

static inline struct sn_config sn_tn_config(struct sn_tnode *n)
{
	struct sn_config cfg;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(n->s->maps.sn_config), &zero, &cfg))
		sn_tn_die("sn_config", errno);
	return cfg;
}

static inline void sn_tn_set_config(struct sn_tnode *n,
				    const struct sn_config *cfg)
{
	uint32_t zero = 0;

	sn_tn_upd(n->s->maps.sn_config, &zero, cfg);
}

/* One test run with .repeat = rep (0: once), skb->mark = mark.  Returns
 * the verdict; *out_len and *ns (kernel duration) when asked. */
static inline int sn_tn_run_full(struct bpf_program *prog, const uint8_t *in,
				 size_t len, uint8_t *out, size_t *out_len,
				 uint32_t mark, uint32_t rep, uint64_t *ns)
{
	struct __sk_buff ctx = {.mark = mark};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = out ? SN_TN_PKT_MAX : 0, .repeat = rep,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);

	if (err)
		sn_tn_die("bpf_prog_test_run_opts", err);
	if (out_len)
		*out_len = o.data_size_out;
	if (ns)
		*ns = o.duration;
	return (int)o.retval;
}

static inline int sn_tn_run(struct bpf_program *prog, const uint8_t *in,
			    size_t len, uint8_t *out, size_t *out_len)
{
	return sn_tn_run_full(prog, in, len, out, out_len, 0, 0, NULL);
}

static inline uint64_t sn_tn_drops(struct sn_tnode *n, uint32_t reason)
{
	static uint64_t v[4096];
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	if (ncpu <= 0 || ncpu > 4096 ||
	    bpf_map_lookup_elem(bpf_map__fd(n->s->maps.sn_drops), &reason, v))
		sn_tn_die("sn_drops", errno);
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

#endif
