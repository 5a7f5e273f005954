/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data-plane loader: opens and loads bpf/sealnet.bpf.o (skeleton),
 * fills its maps, attaches it to one interface's clsact hooks, installs
 * keys, reads counters, and takes everything down again.
 *
 * Keys: each peer has two slots per direction.  A rotation installs the
 * new key in the slot not in use (its counter and replay window reset),
 * then flips the transmit slot; receivers accept both slots' epochs, so no
 * packet in flight is lost.
 */
#ifndef SEALNET_DATAPLANE_H
#define SEALNET_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealnet/abi.h"

struct sn_dataplane;

struct sn_dp_opts {
	const char *ifname;	  /* interface to protect */
	uint32_t self_id;	  /* this node's id (1..SN_MAX_NODES-1) */
	uint16_t udp_port;	  /* 0: SN_UDP_PORT_DEFAULT */
	uint16_t control_port;	  /* TCP port exempted for MAKE; 0: none */
	uint32_t control_mark;	  /* SO_MARK of sealnetd's MAKE sockets
				   * (0: SN_CONTROL_MARK_DEFAULT) */
	uint32_t flow_tcp_s;	  /* idle timeout of TCP flows (0: default) */
	uint32_t flow_other_s;	  /* ... of UDP/ICMP/other flows (0: default) */
	bool drop_unprotected_egress;
	bool drop_unprotected_ingress;
	uint64_t counter_limit;	  /* 0 or above SN_CTR_MAX: SN_CTR_MAX (2^40 - 1) */
	uint32_t events_per_sec;  /* 0: default (100) */
	bool keep_offloads;	  /* do not turn TSO/GSO off (tests only) */
	bool no_spread_receive;	  /* leave rps_cpus alone (default: a
				   * single-queue device's receive work is
				   * spread over all CPUs, lib/dataplane/rps.c) */
	bool defer_attach;	  /* load and configure only; sn_dp_attach() later */
	bool engine_simd;	  /* the SIMD engine seals (lib/engine/): the
				   * programs only enforce policy and pass the
				   * engine's sealed UDP (SN_CFG_ENGINE_SIMD) */
	uint32_t engine_mark;	  /* SO_MARK of the engine's UDP socket
				   * (0: SN_ENGINE_MARK_DEFAULT) */
};

/* The loaded egress or ingress program (for BPF_PROG_TEST_RUN in tests and
 * benchmarks: the same programs and maps the library configures). */
int sn_dp_prog_fd(struct sn_dataplane *dp, bool ingress);

/* SHA-384 of the BPF object (bpf/sealnet.bpf.o) built into the library:
 * what a launch measurement covers of the data plane. */
int sn_dp_object_digest(uint8_t out[48]);

/* The control mark sealnetd sets (SO_MARK) on its MAKE sockets. */
uint32_t sn_dp_control_mark(struct sn_dataplane *dp);

/* Load the programs and maps, configure, attach. Nothing is left attached
 * on failure. */
int sn_dp_open(const struct sn_dp_opts *opts, struct sn_dataplane **out);

/* Attach (replace) the loaded programs (after defer_attach). */
int sn_dp_attach(struct sn_dataplane *dp);
bool sn_dp_is_attached(struct sn_dataplane *dp);
/* Are sealnet filters attached to ifname now (e.g. left running by a
 * previous sealnetd that was killed)?  1 yes, 0 no, negative errno. */
int sn_dp_previous_attached(const char *ifname);

/* Detach, restore offloads and routes, free. NULL is fine. */
void sn_dp_close(struct sn_dataplane *dp);

/* Fail closed on the way out: our programs stay attached (attached now if
 * a previous instance's were still in place), every key is wiped, so
 * traffic to and from the peers is dropped (NO_KEY) and never leaves in
 * clear; then free everything in user space.  The interface (clsact,
 * gso_max_segs, host routes) stays as sealnet set it, for the next start
 * to adopt or `sealnetd --down` to restore.  Returns 0 or the error of the
 * attach (then everything was closed as by sn_dp_close). */
int sn_dp_release(struct sn_dataplane *dp);

/* A protected peer: id and IPv4 address (network order). Also lowers the
 * route MTU to the peer by SN_OVERHEAD. */
int sn_dp_add_peer(struct sn_dataplane *dp, uint32_t peer_id, uint32_t addr);

/* The peer's IPv6 address (16 bytes): IPv6 to or from it is dropped, as
 * version 1 seals IPv4 only. */
int sn_dp_add_peer6(struct sn_dataplane *dp, uint32_t peer_id,
		    const uint8_t addr6[16]);

enum sn_key_dir {
	SN_KEY_TX = 0,
	SN_KEY_RX = 1,
};

/* Install key for (peer, dir) in slot with epoch; resets that slot's send
 * counter (tx) or replay window (rx), in the order empty slot -> reset ->
 * install with a fresh generation, so the old key is never usable with a
 * reset counter or window.  Does not change the tx slot. */
int sn_dp_install_key(struct sn_dataplane *dp, uint32_t peer_id,
		      enum sn_key_dir dir, unsigned int slot, uint16_t epoch,
		      const uint8_t key[SN_KEY_LEN]);
/* Empty (peer, dir, slot): packets of its epoch no longer open / seal. */
int sn_dp_clear_key(struct sn_dataplane *dp, uint32_t peer_id,
		    enum sn_key_dir dir, unsigned int slot);
/* Epoch held by (peer, dir, slot), or -ENOKEY when the slot is empty. */
int sn_dp_key_epoch(struct sn_dataplane *dp, uint32_t peer_id,
		    enum sn_key_dir dir, unsigned int slot);
/* Send with slot from now on. */
int sn_dp_set_tx_slot(struct sn_dataplane *dp, uint32_t peer_id,
		      unsigned int slot);
/* The slot currently used to send (0/1), or negative errno. */
int sn_dp_tx_slot(struct sn_dataplane *dp, uint32_t peer_id);
/* Next send counter of the slot in use for peer (how close to the
 * counter limit it is), or negative errno. */
int sn_dp_tx_counter(struct sn_dataplane *dp, uint32_t peer_id, uint64_t *out);
/* The configured counter limit. */
uint64_t sn_dp_counter_limit(struct sn_dataplane *dp);
/* The replay window's top of (peer, rx slot): highest counter accepted + 1
 * under the slot's current key, 0 while it has accepted nothing. */
int sn_dp_rx_top(struct sn_dataplane *dp, uint32_t peer_id, unsigned int slot,
		 uint64_t *top);
/* Forget every key of peer (fail closed: its traffic is dropped). */
int sn_dp_revoke_peer(struct sn_dataplane *dp, uint32_t peer_id);

/* One policy rule. */
struct sn_dp_rule {
	uint32_t peer_id;
	enum sn_dir dir;	     /* SN_DIR_EGRESS or SN_DIR_INGRESS */
	uint8_t proto;		     /* IPPROTO_* */
	uint16_t port;		     /* remote (egress) / local (ingress); 0 any */
	enum sn_local_kind local_kind; /* egress only */
	uint64_t local;		     /* cgroup id or local port */
};
int sn_dp_add_rule(struct sn_dataplane *dp, const struct sn_dp_rule *r,
		   uint32_t rule_id);

/*
 * Make rules[0..n) the whole policy, without a gap for what stays: rules
 * already installed keep their entry and id (so the flows they opened go
 * on), new ones are added first, then every other entry is deleted and
 * every flow opened by a deleted rule is cut (twice, 20 ms apart, for a
 * packet that was between its lookup and its record).  chg (may be NULL)
 * counts what changed.  -E2BIG above SN_MAX_RULES; on an error the policy
 * may be between the two sets (call again).
 */
struct sn_dp_rules_change {
	uint64_t added, removed, kept, flows_cut;
};
int sn_dp_set_rules(struct sn_dataplane *dp, const struct sn_dp_rule *rules,
		    size_t n, struct sn_dp_rules_change *chg);

/* Counters: packets dropped per reason (counts[reason]; counts[0], NONE,
 * stays 0), and per peer. */
int sn_dp_drop_counts(struct sn_dataplane *dp, uint64_t counts[SN_DROP_MAX]);
int sn_dp_peer_stats(struct sn_dataplane *dp, uint32_t peer_id,
		     struct sn_peer_stats *out);

/* Drop events: fd to poll (readable when events wait), and a consume call
 * invoking cb for each. */
typedef void (*sn_dp_event_fn)(const struct sn_event *ev, void *arg);
int sn_dp_events_fd(struct sn_dataplane *dp);
int sn_dp_events_consume(struct sn_dataplane *dp, sn_dp_event_fn cb,
			 void *arg);

/* Program ids attached now (kernel view), and the loaded programs' tags
 * (for the runtime measurement log). */
int sn_dp_prog_ids(struct sn_dataplane *dp, unsigned int *egress,
		   unsigned int *ingress);
int sn_dp_ifindex(struct sn_dataplane *dp);

struct sn_mlog;
/* Extend the runtime measurement log with the data plane: SHA-384 of the
 * BPF object, then each loaded program's kernel tag (as the kernel
 * reports it after load and verification). */
int sn_dp_measure(struct sn_dataplane *dp, struct sn_mlog *m);
/*
 * The watchdog's check: is the interface's data plane still the measured
 * one, and only that?  0 yes; -EPERM no, with why naming what was found
 * (also logged; never a key or any map value); another negative errno
 * when the kernel could not be asked.  Checked:
 *  - sealnet's own filter in each direction (pref SN_TC_PRIO, handle
 *    SN_TC_HANDLE, bpf, direct action, no actions) runs the measured
 *    program id;
 *  - nothing else on the clsact egress/ingress hooks (any pref, handle,
 *    chain or kind), no tcx or netkit program, no XDP program;
 *  - the maps sealnetd writes (sn_config, sn_peer_by_addr[6], sn_policy,
 *    sn_tx, sn_rx) hold exactly what the library wrote to them
 *    (lib/dataplane/integrity.c); the maps the BPF programs write are not
 *    checked.
 */
int sn_dp_check_attached(struct sn_dataplane *dp, char *why, size_t why_len);

/* After tampering: put sealnet's own programs back where they were
 * replaced or removed, remove everything else found by the check (filters,
 * tcx/netkit programs and links, XDP), and write sn_config again.  Keys
 * are the caller's business (sn_dp_revoke_peer).  0 or negative errno. */
int sn_dp_enforce(struct sn_dataplane *dp);

/*
 * A second sealer (the SIMD engine, lib/engine/, with opts.engine_simd):
 * every key operation above (install, clear, set_tx_slot, revoke) is
 * passed on to it after the maps were written, in the same order, and
 * the counter queries (sn_dp_tx_counter, sn_dp_rx_top) are answered by
 * it, since it, not the programs, seals and opens.
 */
struct sn_dp_key_sink {
	int (*install)(void *arg, uint32_t peer, enum sn_key_dir dir,
		       unsigned int slot, uint16_t epoch,
		       const uint8_t key[SN_KEY_LEN]);
	void (*clear)(void *arg, uint32_t peer, enum sn_key_dir dir,
		      unsigned int slot);
	void (*set_tx)(void *arg, uint32_t peer, unsigned int slot);
	int (*tx_counter)(void *arg, uint32_t peer, unsigned int slot,
			  uint64_t *out);
	int (*rx_top)(void *arg, uint32_t peer, unsigned int slot,
		      uint64_t *out);
	void *arg;
};
void sn_dp_set_key_sink(struct sn_dataplane *dp,
			const struct sn_dp_key_sink *sink);

/*
 * The SIMD engine's TUN device (tun_ifindex): attach sn_tun_egress /
 * sn_tun_ingress to its clsact hooks (policy), route every peer's
 * address (now and added later) through it with the MTU lowered by
 * SN_OVERHEAD (table SN_ENGINE_TABLE, rule SN_ENGINE_RULE_PREF + 2),
 * except packets with the control mark or the engine mark (rules + 0, +1,
 * main table), and set rp_filter loose (2) on the interface and the
 * device: a peer's sealed UDP arrives on the interface while the route
 * back to it is the device.  Undone by sn_dp_close (the device's own
 * routes go with it).
 */
#define SN_ENGINE_TABLE 51820u
#define SN_ENGINE_RULE_PREF 5180u
int sn_dp_engine_attach(struct sn_dataplane *dp, int tun_ifindex);
/* The program fd of sn_tun_filter, for the engine's device
 * (sn_engine_tun_filter): only packets sn_tun_egress passed reach the
 * engine.  -ENODEV when not in engine mode. */
int sn_dp_engine_filter_fd(struct sn_dataplane *dp);
uint32_t sn_dp_engine_mark(struct sn_dataplane *dp);
uint16_t sn_dp_udp_port(struct sn_dataplane *dp);
uint32_t sn_dp_link_mtu(struct sn_dataplane *dp);

/*
 * The SIMD engine's device hooks (lib/dataplane/engine_hooks.c), for the
 * engine's gate (sn_engine_guard_*): sn_dp_engine_check looks at every
 * clsact filter, tcx, netkit and XDP program on the device attached by
 * sn_dp_engine_attach, as sn_dp_check_attached does on the interface:
 * 0 when the only ones are sealnet's filters running the loaded
 * sn_tun_egress / sn_tun_ingress (by program id), -EPERM otherwise (why
 * names the device and what was found, or that the hooks could not be
 * listed: the clsact qdisc is gone), -ENODEV without an attached device.
 * sn_dp_engine_enforce puts sealnet's filters back and removes anything
 * else from the device's hooks; 0 or negative errno.
 */
int sn_dp_engine_check(struct sn_dataplane *dp, char *why, size_t why_len);
int sn_dp_engine_enforce(struct sn_dataplane *dp);

/* Names and texts of drop reasons. */
const char *sn_drop_name(unsigned int reason);
const char *sn_drop_text(unsigned int reason);

#endif
