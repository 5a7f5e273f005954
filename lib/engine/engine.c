// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's set-up and key table: the TUN device, the UDP socket,
 * the thread (both directions), the key sink (sn_dp_key_sink), counters,
 * measurement.  The send path is tx.c, the receive path rx.c, the AEAD
 * aead.c, the receive coalescer coalesce.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <openssl/crypto.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "internal.h"

/* 64-bit words with end-around carry: 2^64 = 1 (mod 0xffff), so the sum
 * folds to the 16-bit one's complement sum of the same bytes; two chains
 * of add-with-carry, 16 bytes per round */
uint64_t sn_eng_csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s2 = 0;

	while (len >= 16) {
		uint64_t a, b;

		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		sum += a;
		sum += sum < a;
		s2 += b;
		s2 += s2 < b;
		p += 16;
		len -= 16;
	}
	sum += s2;
	sum += sum < s2;
	if (len >= 8) {
		uint64_t a;

		memcpy(&a, p, 8);
		sum += a;
		sum += sum < a;
		p += 8;
		len -= 8;
	}
	/* below: at most 7 bytes, no carry out of 64 bits left to lose */
	sum = (sum & 0xffffffffu) + (sum >> 32);
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;

		memcpy(&w, p, 1); /* the odd last byte, zero padded */
		sum += w;
	}
	return sum;
}

uint16_t sn_eng_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static int tun_create(struct sn_engine *e, const char *name)
{
	struct ifreq ifr = {0};
	int hlen = SN_ENG_VNET_HLEN, fd, err;
	unsigned int off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_USO4;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hlen))
		goto fail;
	e->uso = true;
	if (ioctl(fd, TUNSETOFFLOAD, off)) {
		e->uso = false; /* kernel older than 6.2: TCP only */
		if (ioctl(fd, TUNSETOFFLOAD, off & ~TUN_F_USO4))
			goto fail;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		goto fail;
	snprintf(e->tun_name, sizeof(e->tun_name), "%s", ifr.ifr_name);
	e->tun_fd = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* version 1 seals IPv4 only: no IPv6 on the device (link-local
 * addresses, router solicitations); best effort */
static void tun_no_ipv6(struct sn_engine *e)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 e->tun_name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1\n", 2) != 2)
		sn_warn("engine: disabling IPv6 on %s failed", e->tun_name);
	close(fd);
}

/* MTU lowered by the overhead, and up */
static int tun_up(struct sn_engine *e)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	tun_no_ipv6(e);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", e->tun_name);
	ifr.ifr_mtu = (int)(e->link_mtu - SN_OVERHEAD);
	if (ioctl(s, SIOCSIFMTU, &ifr) || ioctl(s, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(s);
	return err;
}

/* a UDP socket on the sealnet port with the engine's options; reuse:
 * SO_REUSEADDR before bind (a peer's socket beside the shared one) */
static int udp_sock(struct sn_engine *e, bool reuse, int *out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(e->udp_port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1, pmtu = IP_PMTUDISC_DO, buf = 4 << 20, err;

	if (fd < 0)
		return -errno;
	if ((reuse &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) ||
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &e->mark, sizeof(e->mark)) ||
	    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	/* best effort: room for bursts of 64 KB GRO segments.  The send
	 * buffer stays the default: a full one blocks the engine's send, the
	 * device's queue fills and the stack's TCP backs off, instead of
	 * sealed packets queueing here for longer than a rekey interval */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	*out = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

static int udp_open(struct sn_engine *e)
{
	return udp_sock(e, false, &e->udp_fd);
}

static void reuse_off(int fd)
{
	int zero = 0;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &zero, sizeof(zero));
}

/*
 * One socket per peer, bound to the sealnet port beside the shared one
 * and connected to the peer's address and port (docs/sealnetd.md "SIMD
 * engine sockets"): the kernel keeps the route of a connected socket, so
 * sending to the peer skips the per-message output route lookup, and the
 * peer's datagrams, which the kernel delivers to the socket whose four
 * addresses and ports match, may skip the input route lookup (early
 * demux).  What arrives on it gets the same checks as on the shared
 * socket (rx.c): the connection only chooses the queue.  The shared
 * socket still takes every other datagram to the port (another source
 * port, another address) and carries the traffic of a peer whose socket
 * could not be made.  The port is shared only while the peers' sockets
 * are bound: SO_REUSEADDR is cleared on every socket afterwards, so no
 * other program can bind the port beside the engine (EADDRINUSE, as with
 * one socket).
 */
static void peer_socks_open(struct sn_engine *e)
{
	int one = 1, tos = 0, ttl = 64;

	if (setsockopt(e->udp_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one))) {
		sn_warn("engine: sharing UDP port %u with the peers' sockets "
			"failed (%s): every peer uses the one socket",
			e->udp_port, strerror(errno));
		return;
	}
	for (unsigned int i = 0; i < e->n_peers; i++) {
		struct sn_eng_peer *p = &e->peers[e->peer_ids[i]];
		struct sockaddr_in to = {.sin_family = AF_INET,
					 .sin_port = htons(e->udp_port),
					 .sin_addr.s_addr = p->addr};
		int fd = -1, err = udp_sock(e, true, &fd);

		if (!err &&
		    (setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) ||
		     setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) ||
		     connect(fd, (struct sockaddr *)&to, sizeof(to))))
			err = -errno;
		if (err) {
			char a[INET_ADDRSTRLEN];

			if (fd >= 0)
				close(fd);
			inet_ntop(AF_INET, &p->addr, a, sizeof(a));
			sn_warn("engine: a UDP socket of its own for peer %u "
				"(%s) failed: %s; it uses the shared socket",
				e->peer_ids[i], a, strerror(-err));
			continue;
		}
		p->fd = fd;
		p->fd_tos = tos;
		p->fd_ttl = ttl;
	}
	reuse_off(e->udp_fd);
	for (unsigned int i = 0; i < e->n_peers; i++)
		reuse_off(e->peers[e->peer_ids[i]].fd);
}

/* the receive set: the shared socket and every peer's */
static int rx_set_open(struct sn_engine *e)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = e->udp_fd};

	e->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (e->ep_fd < 0 || epoll_ctl(e->ep_fd, EPOLL_CTL_ADD, e->udp_fd, &ev))
		return -errno;
	for (unsigned int i = 0; i < e->n_peers; i++) {
		struct sn_eng_peer *p = &e->peers[e->peer_ids[i]];

		if (p->fd < 0)
			continue;
		ev.data.fd = p->fd;
		if (epoll_ctl(e->ep_fd, EPOLL_CTL_ADD, p->fd, &ev))
			return -errno;
	}
	return 0;
}

int sn_engine_open(const struct sn_engine_opts *o, struct sn_engine **out)
{
	struct sn_engine *e;
	int err;

	if (!o->tun_name || !o->self_id || o->self_id >= SN_MAX_NODES ||
	    !o->udp_port || !o->mark || o->link_mtu < 576)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->tun_fd = e->udp_fd = e->stop_fd = e->ep_fd = -1;
	e->guard.nl_fd = e->guard.notify_fd = e->ev.fd = -1;
	e->self_id = o->self_id;
	e->udp_port = o->udp_port;
	e->mark = o->mark;
	e->link_mtu = o->link_mtu;
	e->counter_limit = o->counter_limit ? o->counter_limit : 1ull << 60;
	e->peers = calloc(SN_MAX_NODES, sizeof(*e->peers));
	if (!e->peers) {
		err = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < SN_MAX_NODES; i++) {
		pthread_mutex_init(&e->peers[i].lock, NULL);
		e->peers[i].fd = -1;
	}
	e->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->stop_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = sn_eng_events_init(e, o->events_per_sec);
	if (!err)
		err = sn_eng_guard_init(e); /* before the device exists */
	if (err) {
		sn_err("engine: its event or rtnetlink sockets failed: %s",
		       strerror(-err));
		goto fail;
	}
	err = tun_create(e, o->tun_name);
	if (err) {
		sn_err("engine: creating TUN device %s failed: %s (needs "
		       "/dev/net/tun and CAP_NET_ADMIN)",
		       o->tun_name, strerror(-err));
		goto fail;
	}
	err = udp_open(e);
	if (err) {
		sn_err("engine: UDP socket on port %u failed: %s (is another "
		       "sealnetd or program bound to it?)",
		       o->udp_port, strerror(-err));
		goto fail;
	}
	e->ifindex = (int)if_nametoindex(e->tun_name);
	if (!e->ifindex) {
		err = -ENODEV;
		goto fail;
	}
	sn_info("engine: simd (OpenSSL ChaCha20-Poly1305), device %s, %s",
		e->tun_name, e->uso ? "TSO + USO" : "TSO (no USO: kernel)");
	*out = e;
	return 0;
fail:
	sn_engine_close(e);
	return err;
}

int sn_engine_ifindex(struct sn_engine *e)
{
	return e->ifindex;
}

int sn_engine_tun_filter(struct sn_engine *e, int prog_fd)
{
	if (prog_fd < 0)
		return -EBADF;
	return ioctl(e->tun_fd, TUNSETFILTEREBPF, &prog_fd) ? -errno : 0;
}

int sn_engine_add_peer(struct sn_engine *e, uint32_t peer_id, uint32_t addr,
		       bool gso)
{
	if (!peer_id || peer_id >= SN_MAX_NODES || !addr || e->started)
		return -EINVAL;
	if (!e->peers[peer_id].addr)
		e->peer_ids[e->n_peers++] = peer_id;
	e->peers[peer_id].addr = addr;
	e->peers[peer_id].gso = gso;
	return 0;
}

static struct sn_eng_peer *peer_of(struct sn_engine *e, uint32_t id)
{
	return id && id < SN_MAX_NODES ? &e->peers[id] : NULL;
}

static void slot_wipe(struct sn_eng_slot *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

/* docs/wire-format.md §7: under the peer's lock the slot is emptied, its
 * counter or window reset and the key written with a generation never
 * handed out before; a sender or receiver holding the lock sees either
 * the old installation whole or the new one whole. */
static int sink_install(void *arg, uint32_t peer, enum sn_key_dir dir,
			unsigned int slot, uint16_t epoch,
			const uint8_t key[SN_KEY_LEN])
{
	struct sn_engine *e = arg;
	struct sn_eng_peer *p = peer_of(e, peer);
	struct sn_eng_slot *s;

	if (!p || slot > 1)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	s = dir == SN_KEY_TX ? &p->tx[slot] : &p->rx[slot];
	if (dir == SN_KEY_TX && p->cur == slot && s->valid) {
		pthread_mutex_unlock(&p->lock);
		return -EBUSY;
	}
	slot_wipe(s);
	memcpy(s->key, key, SN_KEY_LEN);
	s->epoch = epoch;
	if (++e->gen == 0)
		++e->gen;
	s->gen = e->gen;
	s->valid = true;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void sink_clear(void *arg, uint32_t peer, enum sn_key_dir dir,
		       unsigned int slot)
{
	struct sn_engine *e = arg;
	struct sn_eng_peer *p = peer_of(e, peer);

	if (!p || slot > 1)
		return;
	pthread_mutex_lock(&p->lock);
	slot_wipe(dir == SN_KEY_TX ? &p->tx[slot] : &p->rx[slot]);
	pthread_mutex_unlock(&p->lock);
}

static void sink_set_tx(void *arg, uint32_t peer, unsigned int slot)
{
	struct sn_engine *e = arg;
	struct sn_eng_peer *p = peer_of(e, peer);

	if (!p || slot > 1)
		return;
	pthread_mutex_lock(&p->lock);
	p->cur = slot;
	pthread_mutex_unlock(&p->lock);
}

unsigned int sn_eng_tx_take(struct sn_engine *e, struct sn_eng_peer *p,
			    uint64_t n, uint64_t *c0, uint8_t key[SN_KEY_LEN],
			    uint16_t *epoch, uint32_t *gen)
{
	struct sn_eng_slot *s;
	unsigned int reason = SN_DROP_NONE;

	pthread_mutex_lock(&p->lock);
	s = &p->tx[p->cur & 1];
	if (!s->valid)
		reason = SN_DROP_NO_KEY;
	else if (s->ctr >= e->counter_limit || e->counter_limit - s->ctr < n)
		reason = SN_DROP_COUNTER_LIMIT;
	else {
		*c0 = s->ctr;
		s->ctr += n;
		memcpy(key, s->key, SN_KEY_LEN);
		*epoch = s->epoch;
		if (gen)
			*gen = s->gen;
	}
	pthread_mutex_unlock(&p->lock);
	return reason;
}

static int sink_tx_counter(void *arg, uint32_t peer, unsigned int slot,
			   uint64_t *out)
{
	struct sn_engine *e = arg;
	struct sn_eng_peer *p = peer_of(e, peer);

	if (!p || slot > 1)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	*out = p->tx[slot].ctr;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int sink_rx_top(void *arg, uint32_t peer, unsigned int slot,
		       uint64_t *out)
{
	struct sn_engine *e = arg;
	struct sn_eng_peer *p = peer_of(e, peer);

	if (!p || slot > 1)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	*out = p->rx[slot].win.top;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void sn_engine_key_sink(struct sn_engine *e, struct sn_dp_key_sink *out)
{
	*out = (struct sn_dp_key_sink){
		.install = sink_install,
		.clear = sink_clear,
		.set_tx = sink_set_tx,
		.tx_counter = sink_tx_counter,
		.rx_top = sink_rx_top,
		.arg = e,
	};
}

/*
 * The engine's one thread: both directions in one loop, each taking what
 * is ready without blocking, and poll() only when neither had anything.
 * One thread rather than one per direction because most work answers
 * work of the other direction: the write of received TCP data to the
 * device runs the inner TCP receive in the same call, whose ACK is then
 * already queued on the device for the next read, and a received ACK
 * releases the data the next read finds; with a thread per direction
 * each of these is a wake-up of the other thread (an IPI on another CPU)
 * and a poll() round (docs/performance.md, "SIMD engine, one thread").
 * Sending reads at most TX_BURST packets per round so a busy send
 * direction does not starve the receive one.
 */
#define TX_BURST 8u

static void *engine_main(void *arg)
{
	struct sn_engine *e = arg;
	struct sn_eng_tx *tx = sn_eng_tx_new(e);
	struct sn_eng_rx *rx = sn_eng_rx_new(e);

	if (!tx || !rx) {
		sn_err("engine: out of memory or no ChaCha20 / Poly1305 in "
		       "OpenSSL: the engine does not run");
		goto out;
	}
	for (;;) {
		int r = sn_eng_rx_run(rx), t = sn_eng_tx_run(tx, TX_BURST);
		struct pollfd pf[4] = {
			{.fd = e->ep_fd, .events = POLLIN},
			{.fd = e->tun_fd, .events = POLLIN},
			{.fd = e->stop_fd, .events = POLLIN},
			{.fd = e->guard.nl_fd, .events = POLLIN}};

		if ((r < 0 && r != -EAGAIN) || (t < 0 && t != -EAGAIN))
			break; /* logged by the direction */
		if (r != -EAGAIN || t != -EAGAIN)
			continue;
		if (poll(pf, 4, -1) < 0 && errno != EINTR) {
			sn_err("engine: poll failed: %s", strerror(errno));
			break;
		}
		if (pf[2].revents)
			break;
		if (pf[3].revents)
			sn_eng_guard_poll(e); /* changes seen while idle */
	}
out:
	sn_eng_tx_free(tx);
	sn_eng_rx_free(rx);
	return NULL;
}

int sn_engine_start(struct sn_engine *e)
{
	int err = tun_up(e);

	if (err) {
		sn_err("engine: bringing %s up failed: %s", e->tun_name,
		       strerror(-err));
		return err;
	}
	peer_socks_open(e);
	err = rx_set_open(e);
	if (err) {
		sn_err("engine: its epoll set of UDP sockets failed: %s",
		       strerror(-err));
		return err;
	}
	err = -pthread_create(&e->thread, NULL, engine_main, e);
	if (err)
		return err;
	e->started = true;
	return 0;
}

void sn_engine_close(struct sn_engine *e)
{
	uint64_t one = 1;

	if (!e)
		return;
	if (e->stop_fd >= 0 && write(e->stop_fd, &one, sizeof(one)) < 0)
		sn_warn("engine: signalling the threads failed");
	if (e->started)
		pthread_join(e->thread, NULL);
	if (e->tun_fd >= 0)
		close(e->tun_fd);
	if (e->udp_fd >= 0)
		close(e->udp_fd);
	if (e->ep_fd >= 0)
		close(e->ep_fd);
	if (e->stop_fd >= 0)
		close(e->stop_fd);
	sn_eng_guard_free(e);
	sn_eng_events_free(e);
	if (e->peers) {
		for (unsigned int i = 0; i < SN_MAX_NODES; i++) {
			pthread_mutex_destroy(&e->peers[i].lock);
			if (e->peers[i].fd >= 0)
				close(e->peers[i].fd);
		}
		OPENSSL_cleanse(e->peers, SN_MAX_NODES * sizeof(*e->peers));
		free(e->peers);
	}
	free(e);
}

void sn_engine_drop_counts(struct sn_engine *e, uint64_t counts[SN_DROP_MAX])
{
	for (unsigned int i = 1; i < SN_DROP_MAX; i++)
		counts[i] += atomic_load(&e->drops[i]);
}

void sn_engine_peer_stats(struct sn_engine *e, uint32_t peer_id,
			  struct sn_peer_stats *ps)
{
	struct sn_eng_peer *p = peer_of(e, peer_id);

	if (!p)
		return;
	ps->tx_packets += atomic_load(&p->tx_packets);
	ps->tx_bytes += atomic_load(&p->tx_bytes);
	ps->rx_packets += atomic_load(&p->rx_packets);
	ps->rx_bytes += atomic_load(&p->rx_bytes);
	ps->drops += atomic_load(&p->drops);
}

int sn_engine_measure(struct sn_mlog *m)
{
	uint8_t *buf;
	size_t len;
	int err = sn_read_file("/proc/self/exe", 256u << 20, &buf, &len);

	if (err) {
		sn_err("engine: reading its binary (/proc/self/exe) to "
		       "measure it failed: %s",
		       strerror(-err));
		return err;
	}
	err = sn_mlog_extend_data(m, SN_MLOG_ENGINE,
				  "engine simd: sealnetd binary", buf, len);
	free(buf);
	return err;
}
