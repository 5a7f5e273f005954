/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SIMD engine: a second data-plane engine with the same wire format
 * (docs/wire-format.md), which seals and opens in sealnetd's user space
 * with OpenSSL's ChaCha20 and Poly1305 (their AVX2/AVX-512 code), for bulk
 * throughput.  The BPF programs keep the policy (lib/dataplane/engine.c).
 *
 *   send:    peers' traffic is routed to a TUN device (IFF_VNET_HDR, TSO
 *            and checksum offload: the stack hands over 64 KB segments),
 *            the engine splits them into MSS-sized TCP (or UDP) segments,
 *            completes their checksums, seals each one and sends them from
 *            one UDP socket (SO_MARK: routed around the device) with UDP
 *            GSO (UDP_SEGMENT) and sendmmsg.
 *   receive: sealed UDP arrives on that socket (UDP_GRO, recvmmsg), is
 *            checked and opened as in docs/wire-format.md §4 (replay
 *            window per key slot as the BPF one), and the inner packet is
 *            written to the TUN device, whose ingress program applies the
 *            ingress policy.
 *
 * Keys come from the data plane's key operations (struct sn_dp_key_sink):
 * the engine owns its send counters; the BPF programs never seal or open
 * in this mode, so no (key, counter) pair is shared (wire-format.md §7).
 * One thread runs both directions (engine.c: most work of one direction
 * answers work of the other, so one thread saves the wake-ups).
 */
#ifndef SEALNET_ENGINE_H
#define SEALNET_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "sealnet/abi.h"
#include "sealnet/dataplane.h"

struct sn_engine;
struct sn_mlog;

struct sn_engine_opts {
	const char *tun_name;	/* the TUN device to create, e.g. "sn-a" */
	uint32_t self_id;	/* this node's id: the session field */
	uint16_t udp_port;	/* sealnet port (both UDP ports) */
	uint32_t mark;		/* SO_MARK of the UDP socket */
	uint32_t link_mtu;	/* the protected interface's MTU */
	uint64_t counter_limit; /* refuse to seal at this counter */
	uint32_t events_per_sec; /* drop events a second; 0: 100 */
};

/* Create the device (down until sn_engine_start) and the socket. */
int sn_engine_open(const struct sn_engine_opts *o, struct sn_engine **out);
int sn_engine_ifindex(struct sn_engine *e);
/* Attach the BPF socket filter prog_fd (sn_dp_engine_filter_fd) to the
 * device (TUNSETFILTEREBPF): the driver queues for the engine only the
 * packets it accepts.  0 or negative errno. */
int sn_engine_tun_filter(struct sn_engine *e, int prog_fd);
/* A peer: id and IPv4 address (network order). Before sn_engine_start.
 * gso: the peer runs the SIMD engine too (its configuration entry says
 * "engine": "simd"), so sealed segments go to it as UDP GSO
 * super-datagrams (UDP_SEGMENT) that the link device passes on whole; a
 * virtual link (veth) then delivers them whole, and only a SIMD engine's
 * socket (UDP_GRO) takes them.  Otherwise one datagram per segment: the
 * BPF engine opens one datagram per packet. */
int sn_engine_add_peer(struct sn_engine *e, uint32_t peer_id, uint32_t addr,
		       bool gso);
/* The key sink to hand to sn_dp_set_key_sink. */
void sn_engine_key_sink(struct sn_engine *e, struct sn_dp_key_sink *out);
/* Bring the device up and start the engine's thread. */
int sn_engine_start(struct sn_engine *e);
/* Stop the threads, close device and socket, wipe the keys. NULL fine. */
void sn_engine_close(struct sn_engine *e);

/* Add the engine's drops per reason to counts, its traffic to *ps. */
void sn_engine_drop_counts(struct sn_engine *e, uint64_t counts[SN_DROP_MAX]);
void sn_engine_peer_stats(struct sn_engine *e, uint32_t peer_id,
			  struct sn_peer_stats *ps);

/*
 * The gate (lib/engine/guard.c; docs/sealnetd.md "SIMD engine guard"):
 * the engine carries no packet, in either direction, unless the hooks of
 * its device were verified (by sealnetd: sn_dp_engine_check) after the
 * last change the engine saw on them.  It starts closed.
 *  guard_fd:   readable when the engine saw a change (the gate closed);
 *  guard_seq:  the changes seen so far (drains guard_fd): read it, then
 *              check the hooks, then guard_set(seq) when they are exactly
 *              sealnet's (the gate opens unless another change came since)
 *              or guard_set(0) (closed);
 *  guard_open: whether the gate is open now.
 */
int sn_engine_guard_fd(struct sn_engine *e);
uint64_t sn_engine_guard_seq(struct sn_engine *e);
void sn_engine_guard_set(struct sn_engine *e, uint64_t seq);
bool sn_engine_guard_open(struct sn_engine *e);

/* Drop events (struct sn_event, as the BPF ring buffer's; rate-limited,
 * lib/engine/events.c): events_fd is readable when some are queued;
 * consume hands each to cb and returns how many. */
int sn_engine_events_fd(struct sn_engine *e);
int sn_engine_events_consume(struct sn_engine *e, sn_dp_event_fn cb, void *arg);

/* Extend the runtime measurement log with the engine's binary: SHA-384
 * of the executable that contains it (/proc/self/exe: sealnetd, which
 * links libsealnet statically), type SN_MLOG_ENGINE. */
int sn_engine_measure(struct sn_mlog *m);

#endif
