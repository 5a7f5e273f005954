/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/engine: the engine's state shared by its files. */
#ifndef SN_LIB_ENGINE_INTERNAL_H
#define SN_LIB_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "sealnet/engine.h"

/* not in every distribution's uapi headers yet */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define SN_ENG_VNET_HLEN 10u /* struct virtio_net_hdr */
#define SN_ENG_MAX_PKT	 65536u
#define SN_ENG_BATCH	 16u /* packets per read/write batch */
#define SN_ENG_UDP_SEGS	 64u /* segments per UDP_SEGMENT send */
#define SN_ENG_RX_FDS	 16u /* ready sockets taken per receive round */

/* One key slot (docs/wire-format.md §7): written under the peer's lock by
 * the key sink; send takes key and counters under the same lock. */
struct sn_eng_slot {
	uint8_t key[SN_KEY_LEN];
	uint16_t epoch;
	bool valid;
	uint32_t gen; /* installation, unique per engine */
	uint64_t ctr; /* tx: next counter */
	struct {
		uint64_t top;
		uint64_t bitmap[SN_REPLAY_WORDS];
	} win; /* rx: replay window of this installation */
};

struct sn_eng_peer {
	uint32_t addr; /* network order; 0: not a peer */
	bool gso;      /* UDP_SEGMENT to it (sn_engine_add_peer) */
	/* the peer's own UDP socket (engine.c, peer_socks_open): bound to
	 * the sealnet port and connected to the peer's, so the kernel keeps
	 * its routes; -1: the engine's shared socket.  fd_tos / fd_ttl: the
	 * socket's IP_TOS / IP_TTL (engine thread only), sent without
	 * ancillary data when a packet's are the same */
	int fd;
	int fd_tos, fd_ttl;
	pthread_mutex_t lock;
	unsigned int cur; /* tx slot */
	struct sn_eng_slot tx[2], rx[2];
	_Atomic uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, drops;
};

/*
 * guard.c: the engine carries a packet only while its TUN device's hooks
 * are known to hold exactly sealnet's policy programs.  seq counts the
 * changes the engine thread has seen on the device (rtnetlink TC and link
 * notifications, or lost ones); ok_seq is the seq at which sealnetd last
 * verified the hooks (sn_engine_guard_set), 0: not verified.  The gate is
 * open while ok_seq == seq.  Only the engine thread writes seq; the
 * daemon's thread writes ok_seq.
 */
struct sn_eng_guard {
	int nl_fd;     /* NETLINK_ROUTE, RTNLGRP_TC + RTNLGRP_LINK */
	int notify_fd; /* eventfd: readable after seq moved */
	_Atomic uint64_t seq, ok_seq;
	uint64_t tcx_at; /* engine thread: last tcx look, ms */
	bool tcx_seen;	 /* ... found a tcx program */
};
#define SN_ENG_TCX_MS 10u /* tcx look at most this often */

/*
 * events.c: drop events (struct sn_event, as the BPF programs' ring
 * buffer), rate-limited to per_sec a second like theirs, queued for
 * sealnetd (sn_engine_events_consume).  The flow of the packet being
 * handled is noted before each one (sn_eng_ev_egress / _ingress) and
 * read only when an event is made.
 */
#define SN_ENG_EV_RING 64u
struct sn_eng_events {
	/* engine thread only */
	uint32_t per_sec, count, suppressed;
	uint64_t window_start;
	uint64_t reasons; /* bit per reason with an event in this window */
	uint8_t dir;
	const uint8_t *pkt; /* egress: the IPv4 packet read from the device */
	size_t len;
	uint32_t saddr, daddr; /* ingress: outer addresses */
	/* shared with the consumer, under lock */
	pthread_mutex_t lock;
	struct sn_event ring[SN_ENG_EV_RING];
	unsigned int head, n;
	int fd; /* eventfd: readable when the ring holds events */
};

struct sn_engine {
	int tun_fd, udp_fd, stop_fd; /* stop_fd: eventfd, readable = stop */
	/* epoll set of the receiving sockets: udp_fd and every peer's fd
	 * (rx.c reads the ready ones); the engine thread polls it */
	int ep_fd;
	int ifindex;
	char tun_name[16];
	uint32_t self_id, mark, link_mtu;
	uint16_t udp_port;
	uint64_t counter_limit;
	bool uso; /* the kernel took TUN_F_USO4 */
	uint32_t gen;
	uint32_t peer_ids[SN_MAX_NODES];
	unsigned int n_peers;
	struct sn_eng_peer *peers; /* SN_MAX_NODES, indexed by id */
	pthread_t thread;
	bool started;
	_Atomic uint64_t drops[SN_DROP_MAX];
	struct sn_eng_guard guard;
	struct sn_eng_events ev;
};

int sn_eng_guard_init(struct sn_engine *e);
void sn_eng_guard_free(struct sn_engine *e);
/* Read the device's pending notifications (never blocks). */
void sn_eng_guard_poll(struct sn_engine *e);
/* Before n packets (of peer p, may be NULL) cross the engine: true when
 * the hooks are verified and unchanged since; otherwise counts and
 * reports the drop (ENGINE_HOOKS) and returns false. */
bool sn_eng_guard_pass(struct sn_engine *e, struct sn_eng_peer *p, uint64_t n);

int sn_eng_events_init(struct sn_engine *e, uint32_t per_sec);
void sn_eng_events_free(struct sn_engine *e);
/* one drop event (rate-limited) for the flow last noted */
void sn_eng_event(struct sn_engine *e, struct sn_eng_peer *p,
		  unsigned int reason);

static inline void sn_eng_ev_egress(struct sn_engine *e, const uint8_t *pkt,
				    size_t len)
{
	e->ev.dir = SN_DIR_EGRESS;
	e->ev.pkt = pkt;
	e->ev.len = len;
}

static inline void sn_eng_ev_ingress(struct sn_engine *e, uint32_t saddr,
				     uint32_t daddr)
{
	e->ev.dir = SN_DIR_INGRESS;
	e->ev.saddr = saddr;
	e->ev.daddr = daddr;
}

static inline void sn_eng_drop(struct sn_engine *e, struct sn_eng_peer *p,
			       unsigned int reason, uint64_t n)
{
	atomic_fetch_add_explicit(&e->drops[reason], n, memory_order_relaxed);
	if (p)
		atomic_fetch_add_explicit(&p->drops, n, memory_order_relaxed);
	sn_eng_event(e, p, reason);
}

/*
 * docs/wire-format.md §7 "Two engines", 2.: n consecutive counters of the
 * peer's send slot in use, with that installation's key, epoch and (gen:
 * may be NULL) generation, as one unit under the peer's mutex: any number
 * of sending threads never take one counter twice under one key, and the
 * counters of one installation are taken without gaps.  Returns 0, or the
 * drop reason (SN_DROP_NO_KEY, SN_DROP_COUNTER_LIMIT) with nothing written.
 * tests/unit/test_engine_ctr.c.
 */
unsigned int sn_eng_tx_take(struct sn_engine *e, struct sn_eng_peer *p,
			    uint64_t n, uint64_t *c0, uint8_t key[SN_KEY_LEN],
			    uint16_t *epoch, uint32_t *gen);

/* 16-bit one's complement sum helpers (checksums) */
uint64_t sn_eng_csum_add(uint64_t sum, const void *data, size_t len);
uint16_t sn_eng_csum_fold(uint64_t sum);

/*
 * aead.c: the wire format's ChaCha20-Poly1305 in one ChaCha20 pass (the
 * Poly1305 key block and the body together) and one Poly1305 pass.
 * sn_eng_aead_key sets the key (kept in the cipher context until the next
 * call: call it before each packet or batch, under the key it belongs to).
 * seal: in[0..len) -> out[0..len) and tag; open: the same backwards, 0 or
 * -EBADMSG (out wiped).  Both use scratch around the buffers: in[-64..0)
 * is zeroed, out[-64..0) is clobbered (then wiped), in[len..) is read and
 * out[len..) written up to the next multiple of 64 bytes.  The buffers
 * must not overlap.  tests/unit/test_engine_aead.c.
 */
#define SN_ENG_AEAD_ROOM 64u /* scratch before and after (see above) */
struct sn_eng_aead {
	EVP_CIPHER *chacha; /* fetched: hold the provider */
	EVP_MAC *mac;
	/* the implementations' own functions and contexts (aead.c) */
	OSSL_FUNC_cipher_newctx_fn *c_new;
	OSSL_FUNC_cipher_freectx_fn *c_free;
	OSSL_FUNC_cipher_encrypt_init_fn *c_init;
	OSSL_FUNC_cipher_update_fn *c_update;
	OSSL_FUNC_mac_newctx_fn *m_new;
	OSSL_FUNC_mac_freectx_fn *m_free;
	OSSL_FUNC_mac_init_fn *m_init;
	OSSL_FUNC_mac_update_fn *m_update;
	OSSL_FUNC_mac_final_fn *m_final;
	void *c_ctx, *m_ctx;
};
int sn_eng_aead_init(struct sn_eng_aead *a);
void sn_eng_aead_free(struct sn_eng_aead *a);
int sn_eng_aead_key(struct sn_eng_aead *a, const uint8_t key[SN_KEY_LEN]);
int sn_eng_seal(struct sn_eng_aead *a, uint64_t ctr,
		const uint8_t aad[SN_HDR_LEN], uint8_t *in, uint8_t *out,
		size_t len, uint8_t tag[SN_TAG_LEN]);
int sn_eng_open(struct sn_eng_aead *a, uint64_t ctr,
		const uint8_t aad[SN_HDR_LEN], uint8_t *in, uint8_t *out,
		size_t len, const uint8_t tag[SN_TAG_LEN]);

/*
 * coalesce.c: the receive path's TCP coalescer.  sn_eng_co_add takes one
 * opened packet (virtio-net header, IPv4 header of 20 bytes, l4 bytes;
 * owner: its sender) and holds it to join the next ones, or hands it to
 * emit on its own; sn_eng_co_flush hands what is held to emit (several
 * segments: one TSO packet).  buf (SN_ENG_CO_CAP bytes) NULL: every packet
 * on its own.  tests/unit/test_engine_co.c.
 */
#define SN_ENG_CO_CAP (SN_ENG_VNET_HLEN + 65535u)
struct sn_eng_co {
	uint8_t *buf; /* vnet header + IPv4 + TCP + payload */
	size_t len;   /* after the vnet header */
	unsigned int n;
	const void *owner;
	uint32_t next_seq;
	size_t thl, mss;
	bool open; /* may take another segment */
	void (*emit)(void *arg, const void *owner, const uint8_t *b, size_t len,
		     unsigned int n);
	void *arg;
};
void sn_eng_co_add(struct sn_eng_co *co, const void *owner, const uint8_t *pkt,
		   size_t l4);
void sn_eng_co_flush(struct sn_eng_co *co);

/*
 * tx.c / rx.c: the two directions, run by the engine's one thread
 * (engine.c): *_new allocates a direction's buffers and cipher, *_run
 * handles what is ready without blocking (the TUN device: up to max
 * packets; the socket: one recvmmsg batch) and returns how many it took,
 * -EAGAIN for none, or a negative errno when the descriptor failed.
 */
struct sn_eng_tx;
struct sn_eng_rx;
struct sn_eng_tx *sn_eng_tx_new(struct sn_engine *e);
void sn_eng_tx_free(struct sn_eng_tx *t);
int sn_eng_tx_run(struct sn_eng_tx *t, unsigned int max);
struct sn_eng_rx *sn_eng_rx_new(struct sn_engine *e);
void sn_eng_rx_free(struct sn_eng_rx *t);
int sn_eng_rx_run(struct sn_eng_rx *t);

#endif
