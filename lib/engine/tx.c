// SPDX-License-Identifier: Apache-2.0
/*
 * The engine's send path: TUN device -> split -> seal -> UDP (GSO).
 *
 * A read from the device gives one IPv4 packet to a peer, possibly a TSO
 * (TCP) or USO (UDP) super-packet of up to 64 KB whose virtio-net header
 * names the segment size.  It is split into the segments the stack would
 * have sent (TCP: sequence numbers advanced, FIN/PSH on the last segment
 * only, CWR on the first only; UDP: one datagram per segment), each
 * segment's checksum completed, each segment sealed with its own counter
 * (docs/wire-format.md §1-3), and the sealed segments go out through the
 * engine's UDP socket with UDP_SEGMENT (up to 64 segments per message) in
 * one sendmmsg: the peer's own connected socket when it has one (engine.c,
 * peer_socks_open), else the shared one with the peer's address.  The kernel
 * builds the outer IPv4 and UDP headers: source and destination as the inner
 * packet's (the routes), TOS and TTL copied (IP_TOS/IP_TTL), DF set
 * (IP_PMTUDISC_DO), UDP checksum by the kernel.
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_net.h>
#include <openssl/crypto.h>

#include "sealnet/log.h"
#include "internal.h"

#define OUT_CAP		(4u * SN_ENG_MAX_PKT)
#define MAX_SEGS	1024u
#define MAX_MSGS	MAX_SEGS /* one per segment to a peer without GSO */
#define UDP_PAYLOAD_MAX 65000u
/* the packet after the 10-byte virtio-net header starts 8-byte aligned */
#define IN_OFF 6u

#define ROOM   SN_ENG_AEAD_ROOM
#define IN_CAP (IN_OFF + SN_ENG_VNET_HLEN + SN_ENG_MAX_PKT)

struct sn_eng_tx {
	struct sn_engine *e;
	struct sn_eng_aead aead;
	uint8_t *in;  /* vnet header + packet; ROOM before and after */
	uint8_t *out; /* sealed segments, back to back; ROOM around */
	uint32_t seglen[MAX_SEGS];
	struct mmsghdr msgs[MAX_MSGS];
	struct iovec iov[MAX_MSGS];
	char cmsg[MAX_MSGS]
		 [CMSG_SPACE(sizeof(uint16_t)) + 2 * CMSG_SPACE(sizeof(int))];
};

static struct sn_eng_peer *peer_by_addr(struct sn_engine *e, uint32_t addr,
					uint32_t *id)
{
	for (unsigned int i = 0; i < e->n_peers; i++)
		if (e->peers[e->peer_ids[i]].addr == addr) {
			*id = e->peer_ids[i];
			return &e->peers[e->peer_ids[i]];
		}
	return NULL;
}

/* one segment: the L4 bytes src[0..len) (header and payload, contiguous;
 * the 64 bytes before src are scratch) -> sealed at dst, in one AEAD pass
 * (aead.c); the bytes the pass clobbers before dst (the previous sealed
 * segment's tail) are put back */
static int seal_one(struct sn_eng_tx *t, uint8_t *dst, const uint8_t hdr[20],
		    uint8_t *src, size_t len, uint64_t ctr)
{
	uint8_t aad[SN_HDR_LEN], tag[SN_TAG_LEN], save[ROOM - SN_HDR_LEN];
	uint64_t be = htobe64(ctr);
	int err;

	memcpy(aad, hdr, SN_HDR_LEN);
	memcpy(aad + 12, &be, 8);
	memcpy(save, dst - sizeof(save), sizeof(save));
	err = sn_eng_seal(&t->aead, ctr, aad, src, dst + SN_HDR_LEN, len, tag);
	memcpy(dst - sizeof(save), save, sizeof(save));
	memcpy(dst, aad, SN_HDR_LEN);
	memcpy(dst + SN_HDR_LEN + len, tag, SN_TAG_LEN);
	return err;
}

static uint64_t pseudo_sum(const struct iphdr *ip, uint8_t proto, size_t len)
{
	uint16_t w[2] = {htons(proto), htons((uint16_t)len)};
	uint64_t s = sn_eng_csum_add(0, &ip->saddr, 8);

	return sn_eng_csum_add(s, w, 4);
}

/* complete a pending checksum (virtio NEEDS_CSUM) in place */
static int csum_complete(uint8_t *pkt, size_t len, unsigned int start,
			 unsigned int off, uint8_t proto)
{
	uint16_t c;

	if (start + off + 2 > len)
		return -EINVAL;
	c = (uint16_t)~sn_eng_csum_fold(
		sn_eng_csum_add(0, pkt + start, len - start));
	if (!c && proto == IPPROTO_UDP)
		c = 0xffff;
	memcpy(pkt + start + off, &c, 2);
	return 0;
}

/* an error a peer's connected socket reports once from an ICMP message
 * (e.g. port unreachable while the peer's engine restarts): the datagram
 * it failed was not sent, the next one may be */
static bool icmp_error(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH ||
	       err == ENETUNREACH || err == EHOSTDOWN;
}

/* send msgs[0..n) on fd, retrying when the socket buffer is full */
static int send_all(struct sn_eng_tx *t, int fd, unsigned int n)
{
	unsigned int done = 0, icmp = 0;

	while (done < n) {
		int r = sendmmsg(fd, t->msgs + done, n - done, 0);

		if (r > 0) {
			done += (unsigned int)r;
			continue;
		}
		if (errno == EAGAIN || errno == ENOBUFS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			poll(&p, 1, 100);
			continue;
		}
		if (errno == EINTR ||
		    (fd != t->e->udp_fd && icmp_error(errno) && icmp++ < 2))
			continue;
		return -errno;
	}
	return 0;
}

static void handle(struct sn_eng_tx *t, size_t n)
{
	struct sn_engine *e = t->e;
	struct virtio_net_hdr vh;
	uint8_t *pkt = t->in + IN_OFF + SN_ENG_VNET_HLEN, hdr[SN_HDR_LEN] = {0};
	struct iphdr *ip = (struct iphdr *)pkt, iph;
	struct sn_eng_peer *p;
	size_t len, l4len, hl, plen, mss, nseg, pos = 0;
	uint8_t key[SN_KEY_LEN], *l4, gso, tmpl[60];
	uint16_t epoch = 0;
	uint32_t id, self = htonl(e->self_id), seq0 = 0;
	uint64_t c0 = 0, bytes = 0;
	unsigned int nmsg = 0, reason = 0;

	if (n < SN_ENG_VNET_HLEN + 20) {
		sn_eng_drop(e, NULL, SN_DROP_MALFORMED, 1);
		return;
	}
	memcpy(&vh, t->in + IN_OFF, sizeof(vh));
	len = n - SN_ENG_VNET_HLEN;
	if (ip->version != 4) {
		sn_eng_drop(e, NULL, SN_DROP_ETHERTYPE, 1);
		return;
	}
	p = peer_by_addr(e, ip->daddr, &id);
	if (!p) {
		sn_eng_drop(e, NULL, SN_DROP_UNPROTECTED, 1);
		return;
	}
	if (ip->ihl != 5) {
		sn_eng_drop(e, p, SN_DROP_IP_OPTIONS, 1);
		return;
	}
	if (ntohs(ip->frag_off) & 0x3fff) {
		sn_eng_drop(e, p, SN_DROP_FRAGMENT, 1);
		return;
	}
	l4 = pkt + 20;
	l4len = len - 20;
	gso = vh.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	mss = vh.gso_size;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && ip->protocol == IPPROTO_TCP &&
	    l4len >= 20 && (size_t)(l4[12] >> 4) * 4 <= l4len &&
	    (l4[12] >> 4) >= 5 && mss) {
		hl = (size_t)(l4[12] >> 4) * 4;
		memcpy(&seq0, l4 + 4, 4);
		seq0 = ntohl(seq0);
	} else if (gso == VIRTIO_NET_HDR_GSO_UDP_L4 &&
		   ip->protocol == IPPROTO_UDP && l4len >= 8 && mss) {
		hl = 8;
	} else if (gso == VIRTIO_NET_HDR_GSO_NONE) {
		if ((vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    csum_complete(pkt, len, vh.csum_start, vh.csum_offset,
				  ip->protocol)) {
			sn_eng_drop(e, p, SN_DROP_CSUM_OFFLOAD, 1);
			return;
		}
		hl = l4len; /* one segment: all of it, no payload split */
		mss = 0;
	} else {
		sn_eng_drop(e, p, SN_DROP_GSO, 1);
		return;
	}
	plen = l4len - hl;
	nseg = mss ? (plen + mss - 1) / mss : 1;
	if (!nseg)
		nseg = 1;
	if (20 + hl + (mss ? mss : 0) + SN_OVERHEAD > e->link_mtu ||
	    hl + (mss ? mss : 0) > SN_MAX_L4) {
		sn_eng_drop(e, p, SN_DROP_TOO_BIG, nseg);
		return;
	}
	if (nseg > MAX_SEGS ||
	    nseg * (hl + SN_HDR_LEN + SN_TAG_LEN) + plen > OUT_CAP) {
		sn_eng_drop(e, p, SN_DROP_MALFORMED, 1);
		return;
	}

	/* key and counters as one unit (wire-format.md §7) */
	reason = sn_eng_tx_take(e, p, nseg, &c0, key, &epoch, NULL);
	if (reason) {
		sn_eng_drop(e, p, reason, nseg);
		return;
	}
	if (sn_eng_aead_key(&t->aead, key)) {
		OPENSSL_cleanse(key, sizeof(key));
		sn_eng_drop(e, p, SN_DROP_HELPER, nseg);
		return;
	}
	OPENSSL_cleanse(key, sizeof(key));
	hdr[0] = SN_TYPE_DATA;
	hdr[1] = ip->protocol;
	memcpy(hdr + 4, &self, 4);
	epoch = htons(epoch);
	memcpy(hdr + 10, &epoch, 2);

	/* the template L4 header: segment i's adjusted copy is written in
	 * place just before its payload chunk, over bytes of segments
	 * already sealed, so header and payload are sealed in one pass; the
	 * AEAD's scratch before each segment takes the IPv4 header too, so
	 * it is read from a copy from here on */
	memcpy(&iph, pkt, sizeof(iph));
	ip = &iph;
	if (mss)
		memcpy(tmpl, l4, hl); /* hl <= 60 here */
	for (size_t i = 0; i < nseg; i++) {
		size_t off = i * mss, pl = mss ? plen - off : 0;
		uint8_t *h = l4 + off;
		uint64_t sum;
		uint16_t c;

		if (mss && pl > mss)
			pl = mss;
		if (mss) {
			memmove(h, tmpl, hl);
			if (ip->protocol == IPPROTO_TCP) {
				uint32_t seq = htonl(seq0 + (uint32_t)off);

				memcpy(h + 4, &seq, 4);
				if (i + 1 < nseg)
					h[13] &= (uint8_t)~0x09; /* FIN PSH */
				if (i)
					h[13] &= (uint8_t)~0x80; /* CWR */
				h[16] = h[17] = 0;
			} else {
				uint16_t ul = htons((uint16_t)(8 + pl));

				memcpy(h + 4, &ul, 2);
				h[6] = h[7] = 0;
			}
			sum = pseudo_sum(ip, ip->protocol, hl + pl);
			sum = sn_eng_csum_add(sum, h, hl + pl);
			c = (uint16_t)~sn_eng_csum_fold(sum);
			if (!c && ip->protocol == IPPROTO_UDP)
				c = 0xffff;
			memcpy(h + (ip->protocol == IPPROTO_TCP ? 16 : 6), &c,
			       2);
		}
		if (seal_one(t, t->out + pos, hdr, h, hl + pl, c0 + i))
			goto fail;
		t->seglen[i] = (uint32_t)(SN_HDR_LEN + hl + pl + SN_TAG_LEN);
		pos += t->seglen[i];
		bytes += hl + pl;
	}

	/* messages of up to 64 equal segments (the last may be shorter) */
	{
		struct sockaddr_in *dst =
			&(struct sockaddr_in){.sin_family = AF_INET,
					      .sin_port = htons(e->udp_port),
					      .sin_addr.s_addr = ip->daddr};
		size_t i = 0, at = 0, max_k = p->gso ? SN_ENG_UDP_SEGS : 1;
		int tos = ip->tos, ttl = ip->ttl, fd = e->udp_fd;
		/* the peer's connected socket: no address, and TOS and TTL
		 * as ancillary data only when they are not the socket's own
		 * (any IP-level one makes the kernel look the route up) */
		bool own = p->fd >= 0,
		     ipc = !own || tos != p->fd_tos || ttl != p->fd_ttl;

		if (own)
			fd = p->fd;

		while (i < nseg) {
			size_t k = 0, sz = 0;
			struct msghdr *m = &t->msgs[nmsg].msg_hdr;
			struct cmsghdr *cm = NULL;
			size_t clen = ipc ? 2 * CMSG_SPACE(sizeof(int)) : 0;

			while (i + k < nseg && k < max_k &&
			       sz + t->seglen[i + k] <= UDP_PAYLOAD_MAX &&
			       (k == 0 ||
				t->seglen[i + k - 1] == t->seglen[i])) {
				sz += t->seglen[i + k];
				k++;
			}
			t->iov[nmsg] = (struct iovec){t->out + at, sz};
			memset(m, 0, sizeof(*m));
			if (!own) {
				m->msg_name = dst;
				m->msg_namelen = sizeof(*dst);
			}
			m->msg_iov = &t->iov[nmsg];
			m->msg_iovlen = 1;
			if (k > 1)
				clen += CMSG_SPACE(sizeof(uint16_t));
			if (clen) {
				m->msg_control = t->cmsg[nmsg];
				memset(t->cmsg[nmsg], 0, clen);
				m->msg_controllen = clen;
			}
			if (ipc) {
				cm = CMSG_FIRSTHDR(m);
				cm->cmsg_level = IPPROTO_IP;
				cm->cmsg_type = IP_TOS;
				cm->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(cm), &tos, sizeof(int));
				cm = CMSG_NXTHDR(m, cm);
				cm->cmsg_level = IPPROTO_IP;
				cm->cmsg_type = IP_TTL;
				cm->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(cm), &ttl, sizeof(int));
			}
			if (k > 1) {
				uint16_t g = (uint16_t)t->seglen[i];

				cm = cm ? CMSG_NXTHDR(m, cm) : CMSG_FIRSTHDR(m);
				cm->cmsg_level = SOL_UDP;
				cm->cmsg_type = UDP_SEGMENT;
				cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				memcpy(CMSG_DATA(cm), &g, sizeof(g));
			}
			nmsg++;
			i += k;
			at += sz;
		}
		if (send_all(t, fd, nmsg)) {
			sn_eng_drop(e, p,
				    errno == EMSGSIZE ? SN_DROP_TOO_BIG :
							SN_DROP_HELPER,
				    nseg);
			return;
		}
	}
	atomic_fetch_add_explicit(&p->tx_packets, nseg, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->tx_bytes, bytes, memory_order_relaxed);
	return;
fail:
	sn_eng_drop(e, p, SN_DROP_HELPER, nseg);
}

struct sn_eng_tx *sn_eng_tx_new(struct sn_engine *e)
{
	struct sn_eng_tx *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->e = e;
	t->in = calloc(1, ROOM + IN_CAP + ROOM);
	t->out = calloc(1, ROOM + OUT_CAP + ROOM);
	if (!t->in || !t->out || sn_eng_aead_init(&t->aead)) {
		free(t->in);
		free(t->out);
		free(t);
		return NULL;
	}
	t->in += ROOM;
	t->out += ROOM;
	return t;
}

void sn_eng_tx_free(struct sn_eng_tx *t)
{
	if (!t)
		return;
	OPENSSL_cleanse(t->out - ROOM, ROOM + OUT_CAP + ROOM);
	OPENSSL_cleanse(t->in - ROOM, ROOM + IN_CAP + ROOM);
	free(t->in - ROOM);
	free(t->out - ROOM);
	sn_eng_aead_free(&t->aead);
	free(t);
}

int sn_eng_tx_run(struct sn_eng_tx *t, unsigned int max)
{
	unsigned int done = 0;

	while (done < max) {
		ssize_t n = read(t->e->tun_fd, t->in + IN_OFF,
				 SN_ENG_VNET_HLEN + SN_ENG_MAX_PKT);

		if (n > 0) {
			sn_eng_ev_egress(t->e,
					 t->in + IN_OFF + SN_ENG_VNET_HLEN,
					 n > SN_ENG_VNET_HLEN ?
						 (size_t)n - SN_ENG_VNET_HLEN :
						 0);
			if (sn_eng_guard_pass(t->e, NULL, 1)) /* guard.c */
				handle(t, (size_t)n);
			done++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		{
			int err = n < 0 ? errno : EIO;

			sn_err("engine: reading %s failed: %s", t->e->tun_name,
			       n < 0 ? strerror(err) : "end of file");
			return -err;
		}
	}
	return done ? (int)done : -EAGAIN;
}
