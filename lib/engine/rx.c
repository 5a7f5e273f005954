// SPDX-License-Identifier: Apache-2.0
/*
 * The engine's receive path: UDP (GRO, recvmmsg) -> check, open -> TUN.
 *
 * Every datagram on the engine's socket is a sealed packet addressed to
 * this host (the socket receives only local deliveries: docs/wire-format.md
 * §4 step 2).  The checks and their order are §4's: length, type,
 * reserved, session, source address, key slot by epoch, replay window
 * (test), tag, then -- under the peer's lock -- the slot must still hold
 * the same installation (KEY_CHANGED) and the counter is tested again and
 * marked.  The inner packet is rebuilt from the outer header (source,
 * destination, TOS, TTL; protocol = next_proto, DF set) and written to
 * the TUN device (in-order TCP segments of one flow joined into one write:
 * coalesce.c), whose TC ingress program applies the ingress policy.  The
 * AEAD (aead.c) uses the bytes around each datagram as scratch: the
 * header is copied out before the open.
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_net.h>
#include <openssl/crypto.h>

#include "sealnet/log.h"
#include "internal.h"

#define RX_BUF	SN_ENG_MAX_PKT
#define RX_CMSG 256u
#define ROOM	SN_ENG_AEAD_ROOM
/* the datagram buffers: ROOM, then SN_ENG_BATCH x (RX_BUF, ROOM): the
 * AEAD's scratch before and after each datagram (aead.c) */
#define RX_STRIDE (RX_BUF + ROOM)
#define RX_BUFS	  (ROOM + (size_t)SN_ENG_BATCH * RX_STRIDE)

struct sn_eng_rx {
	struct sn_engine *e;
	struct sn_eng_aead aead;
	uint32_t key_gen; /* the installation whose key aead holds; 0 none */
	uint8_t *bufs;	  /* datagram i at bufs + ROOM + i * RX_STRIDE */
	struct mmsghdr msgs[SN_ENG_BATCH];
	struct iovec iov[SN_ENG_BATCH];
	struct sockaddr_in src[SN_ENG_BATCH];
	char cmsg[SN_ENG_BATCH][RX_CMSG];
	/* the opened packet at out + ROOM: vnet header, IPv4, L4 */
	uint8_t out_room[ROOM + SN_ENG_VNET_HLEN + 20 + SN_BUF_SIZE + ROOM];
	uint8_t *out;
	struct sn_eng_co co; /* consecutive TCP segments, one write */
};

#define RW_MASK (SN_REPLAY_WORDS - 1)

/* bpf/lib/replay.h, the same window */
static unsigned int replay_test(const struct sn_eng_slot *s, uint64_t c)
{
	if (c >= s->win.top)
		return SN_DROP_NONE;
	if (s->win.top - c > SN_REPLAY_WINDOW)
		return SN_DROP_TOO_OLD;
	if (s->win.bitmap[(c >> 6) & RW_MASK] & (1ull << (c & 63)))
		return SN_DROP_REPLAY;
	return SN_DROP_NONE;
}

static void replay_mark(struct sn_eng_slot *s, uint64_t c)
{
	if (c >= s->win.top) {
		uint64_t from = s->win.top ? ((s->win.top - 1) >> 6) + 1 : 0;
		uint64_t to = c >> 6;
		uint64_t n = to >= from ? to - from + 1 : 0;

		if (n > SN_REPLAY_WORDS)
			n = SN_REPLAY_WORDS;
		for (uint64_t i = 0; i < n; i++)
			s->win.bitmap[(from + i) & RW_MASK] = 0;
		s->win.top = c + 1;
	}
	s->win.bitmap[(c >> 6) & RW_MASK] |= 1ull << (c & 63);
}

static uint16_t ip_csum(const void *h)
{
	return (uint16_t)~sn_eng_csum_fold(sn_eng_csum_add(0, h, 20));
}

/* the coalescer's output: one write to the device, n segments */
static void tun_write(void *arg, const void *owner, const uint8_t *b,
		      size_t len, unsigned int n)
{
	struct sn_eng_rx *t = arg;

	if (!sn_eng_guard_pass(t->e, (struct sn_eng_peer *)owner, n))
		return; /* guard.c: the device's hooks are not verified */
	if (write(t->e->tun_fd, b, len) < 0)
		sn_eng_drop(t->e, (struct sn_eng_peer *)owner, SN_DROP_HELPER,
			    n);
}

/* the opened packet in t->out (vnet header, IPv4, l4 bytes) */
static void deliver(struct sn_eng_rx *t, struct sn_eng_peer *p, size_t l4)
{
	atomic_fetch_add_explicit(&p->rx_packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->rx_bytes, l4, memory_order_relaxed);
	sn_eng_co_add(&t->co, p, t->out, l4);
}

struct meta {
	uint32_t saddr, daddr;
	uint8_t tos, ttl;
};

/* one sealed datagram d[0..len); the AEAD's scratch around it is the
 * previous datagram's bytes (already opened) or the buffer's room */
static void open_one(struct sn_eng_rx *t, const struct meta *m, uint8_t *d,
		     size_t len)
{
	struct sn_engine *e = t->e;
	struct sn_eng_peer *p = NULL;
	struct sn_eng_slot *s = NULL;
	uint8_t key[SN_KEY_LEN], aad[SN_HDR_LEN];
	uint8_t *ipo = t->out + SN_ENG_VNET_HLEN;
	struct iphdr ip = {0};
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	uint32_t session, gen = 0;
	uint16_t epoch, rsv;
	uint8_t next_proto = d[1];
	bool rekey = false;
	uint64_t ctr;
	size_t l4;
	unsigned int reason = 0;

	if (len < SN_HDR_LEN + SN_TAG_LEN + 1) {
		sn_eng_drop(e, NULL, SN_DROP_MALFORMED, 1);
		return;
	}
	l4 = len - SN_HDR_LEN - SN_TAG_LEN;
	if (l4 > SN_MAX_L4) {
		sn_eng_drop(e, NULL, SN_DROP_TOO_BIG, 1);
		return;
	}
	memcpy(&rsv, d + 2, 2);
	if (d[0] != SN_TYPE_DATA) {
		sn_eng_drop(e, NULL, SN_DROP_BAD_TYPE, 1);
		return;
	}
	if (rsv) {
		sn_eng_drop(e, NULL, SN_DROP_RESERVED, 1);
		return;
	}
	memcpy(&session, d + 4, 4);
	session = ntohl(session);
	if (session && session < SN_MAX_NODES && e->peers[session].addr)
		p = &e->peers[session];
	if (!p) {
		sn_eng_drop(e, NULL, SN_DROP_UNKNOWN_SESSION, 1);
		return;
	}
	if (m->saddr != p->addr) {
		sn_eng_drop(e, p, SN_DROP_BAD_SOURCE, 1);
		return;
	}
	memcpy(&epoch, d + 10, 2);
	epoch = ntohs(epoch);
	memcpy(&ctr, d + 12, 8);
	ctr = be64toh(ctr);

	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < 2; i++)
		if (p->rx[i].valid && p->rx[i].epoch == epoch)
			s = &p->rx[i];
	if (!s)
		reason = SN_DROP_NO_KEY;
	else if (!(reason = replay_test(s, ctr))) {
		gen = s->gen;
		/* a generation is never handed out twice: the key the
		 * cipher holds is this installation's when gen matches */
		rekey = gen != t->key_gen;
		if (rekey)
			memcpy(key, s->key, SN_KEY_LEN);
	}
	pthread_mutex_unlock(&p->lock);
	if (reason) {
		sn_eng_drop(e, p, reason, 1);
		return;
	}
	if (rekey) {
		t->key_gen = sn_eng_aead_key(&t->aead, key) ? 0 : gen;
		OPENSSL_cleanse(key, sizeof(key));
		if (!t->key_gen) {
			sn_eng_drop(e, p, SN_DROP_HELPER, 1);
			return;
		}
	}

	memcpy(aad, d, SN_HDR_LEN);
	aad[SN_HDR_CSUM_SLOT] = aad[SN_HDR_CSUM_SLOT + 1] = 0;
	/* the header is in the AEAD's scratch before the ciphertext: read
	 * from aad and next_proto from here on */
	if (sn_eng_open(&t->aead, ctr, aad, d + SN_HDR_LEN, ipo + 20, l4,
			d + SN_HDR_LEN + l4)) {
		sn_eng_drop(e, p, SN_DROP_BAD_TAG, 1);
		return;
	}

	pthread_mutex_lock(&p->lock);
	if (!s->valid || s->gen != gen)
		reason = SN_DROP_KEY_CHANGED;
	else if (!(reason = replay_test(s, ctr)))
		replay_mark(s, ctr);
	pthread_mutex_unlock(&p->lock);
	if (reason) {
		OPENSSL_cleanse(ipo + 20, l4);
		sn_eng_drop(e, p, reason, 1);
		return;
	}

	ip.version = 4;
	ip.ihl = 5;
	ip.tos = m->tos;
	ip.tot_len = htons((uint16_t)(20 + l4));
	ip.frag_off = htons(0x4000);
	ip.ttl = m->ttl;
	ip.protocol = next_proto;
	ip.saddr = m->saddr;
	ip.daddr = m->daddr;
	ip.check = ip_csum(&ip);
	memcpy(ipo, &ip, 20);
	memcpy(t->out, &vh, sizeof(vh));
	deliver(t, p, l4);
}

static void handle(struct sn_eng_rx *t, struct mmsghdr *mm, uint8_t *buf)
{
	struct msghdr *m = &mm->msg_hdr;
	struct sockaddr_in *src = m->msg_name;
	struct meta md = {.saddr = src->sin_addr.s_addr, .ttl = 64};
	size_t len = mm->msg_len, seg = len;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int g;

			memcpy(&g, CMSG_DATA(c), sizeof(g));
			if (g > 0)
				seg = (size_t)g;
		} else if (c->cmsg_level == IPPROTO_IP &&
			   c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			md.daddr = pi.ipi_addr.s_addr;
		} else if (c->cmsg_level == IPPROTO_IP &&
			   c->cmsg_type == IP_TOS) {
			md.tos = *(uint8_t *)CMSG_DATA(c);
		} else if (c->cmsg_level == IPPROTO_IP &&
			   c->cmsg_type == IP_TTL) {
			int ttl;

			memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
			md.ttl = (uint8_t)ttl;
		}
	}
	sn_eng_ev_ingress(t->e, md.saddr, md.daddr); /* events.c */
	for (size_t off = 0; off < len; off += seg)
		open_one(t, &md, buf + off, len - off < seg ? len - off : seg);
}

struct sn_eng_rx *sn_eng_rx_new(struct sn_engine *e)
{
	struct sn_eng_rx *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->e = e;
	t->out = t->out_room + ROOM;
	t->bufs = calloc(1, RX_BUFS);
	t->co.buf = malloc(SN_ENG_CO_CAP); /* NULL: no coalescing */
	t->co.emit = tun_write;
	t->co.arg = t;
	if (!t->bufs || sn_eng_aead_init(&t->aead)) {
		free(t->bufs);
		free(t->co.buf);
		free(t);
		return NULL;
	}
	return t;
}

void sn_eng_rx_free(struct sn_eng_rx *t)
{
	if (!t)
		return;
	OPENSSL_cleanse(t->bufs, RX_BUFS);
	free(t->bufs);
	if (t->co.buf)
		OPENSSL_cleanse(t->co.buf, SN_ENG_CO_CAP);
	free(t->co.buf);
	sn_eng_aead_free(&t->aead);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

/* one recvmmsg batch from fd: the count, -EAGAIN, or a negative errno */
static int rx_batch(struct sn_eng_rx *t, int fd)
{
	int n;

	for (unsigned int i = 0; i < SN_ENG_BATCH; i++) {
		t->iov[i] = (struct iovec){
			t->bufs + ROOM + (size_t)i * RX_STRIDE, RX_BUF};
		t->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &t->src[i],
			.msg_namelen = sizeof(t->src[i]),
			.msg_iov = &t->iov[i],
			.msg_iovlen = 1,
			.msg_control = t->cmsg[i],
			.msg_controllen = RX_CMSG,
		};
	}
	do
		n = recvmmsg(fd, t->msgs, SN_ENG_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		for (int i = 0; i < n; i++)
			handle(t, &t->msgs[i], t->iov[i].iov_base);
		sn_eng_co_flush(&t->co);
		return n;
	}
	return n < 0 ? -errno : -EIO;
}

/*
 * The sockets with datagrams waiting (the epoll set of engine.c: the
 * shared socket and the peers' connected ones), one batch each.  Every
 * datagram gets the same checks whichever socket it came on.  A peer's
 * socket reports an ICMP error (port unreachable while the peer's engine
 * restarts) once, as the result of a receive: it is skipped; any other
 * failure stops the engine, as a failure of the shared socket always did.
 */
int sn_eng_rx_run(struct sn_eng_rx *t)
{
	struct epoll_event ev[SN_ENG_RX_FDS];
	int nfd, total = 0;

	do
		nfd = epoll_wait(t->e->ep_fd, ev, SN_ENG_RX_FDS, 0);
	while (nfd < 0 && errno == EINTR);
	if (nfd < 0) {
		int err = errno;

		sn_err("engine: waiting on its UDP sockets failed: %s",
		       strerror(err));
		return -err;
	}
	for (int i = 0; i < nfd; i++) {
		int fd = ev[i].data.fd, n = rx_batch(t, fd);

		if (n > 0) {
			total += n;
			continue;
		}
		if (n == -EAGAIN ||
		    (fd != t->e->udp_fd &&
		     (n == -ECONNREFUSED || n == -EHOSTUNREACH ||
		      n == -ENETUNREACH || n == -EHOSTDOWN)))
			continue;
		sn_err("engine: receiving on the UDP socket failed: %s",
		       strerror(-n));
		return n;
	}
	return total ? total : -EAGAIN;
}
