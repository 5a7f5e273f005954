// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's drop events: one struct sn_event (include/sealnet/
 * abi.h, the BPF programs' ring-buffer record) per drop, with its reason
 * from the one drop-reason list (SN_DROP_REASONS), rate-limited as the
 * BPF programs do (bpf/lib/drop.h): at most per_sec events in each
 * one-second window, the number left out carried in the next event that
 * gets through; and, unlike there, the first drop of each reason in a
 * window gets its event even past per_sec (at most SN_DROP_MAX more), so
 * one notification per reason always reaches the monitor.  They are queued (up
 * to SN_ENG_EV_RING; beyond, counted as suppressed) for sealnetd, which reads
 * them when the eventfd is readable and sends them to `sealnet monitor` as the
 * BPF engine's.
 *
 * The flow: on egress the inner IPv4 packet the engine read from its
 * device (addresses, protocol, ports); on ingress the outer addresses of
 * the sealed datagram (ports 0: sealed, as the BPF programs report them).
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "sealnet/engine.h"
#include "internal.h"

_Static_assert(SN_DROP_MAX <= 64, "one bit per drop reason in reasons");

int sn_eng_events_init(struct sn_engine *e, uint32_t per_sec)
{
	struct sn_eng_events *v = &e->ev;

	v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->fd < 0)
		return -errno;
	pthread_mutex_init(&v->lock, NULL);
	v->per_sec = per_sec ? per_sec : 100;
	return 0;
}

void sn_eng_events_free(struct sn_engine *e)
{
	if (!e->ev.per_sec)
		return;
	if (e->ev.fd >= 0)
		close(e->ev.fd);
	e->ev.fd = -1;
	e->ev.per_sec = 0;
	pthread_mutex_destroy(&e->ev.lock);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns's clock */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void flow_of(const struct sn_eng_events *v, struct sn_event *ev)
{
	const uint8_t *p = v->pkt;
	size_t hl;

	ev->dir = v->dir;
	if (v->dir == SN_DIR_INGRESS) {
		ev->saddr = v->saddr;
		ev->daddr = v->daddr;
		return;
	}
	if (!p || v->len < 20 || (p[0] >> 4) != 4)
		return;
	memcpy(&ev->saddr, p + 12, 4);
	memcpy(&ev->daddr, p + 16, 4);
	ev->proto = p[9];
	hl = (size_t)(p[0] & 15) * 4;
	if ((ev->proto == IPPROTO_TCP || ev->proto == IPPROTO_UDP) &&
	    hl >= 20 && v->len >= hl + 4) {
		ev->sport = (uint16_t)(p[hl] << 8 | p[hl + 1]);
		ev->dport = (uint16_t)(p[hl + 2] << 8 | p[hl + 3]);
	}
}

void sn_eng_event(struct sn_engine *e, struct sn_eng_peer *p,
		  unsigned int reason)
{
	struct sn_eng_events *v = &e->ev;
	struct sn_event ev = {0};
	uint64_t now = now_ns(), one = 1;
	bool queued = false;

	if (!v->per_sec || v->fd < 0)
		return; /* not initialised (sn_eng_events_init) */
	if (now - v->window_start > 1000000000ull) {
		v->window_start = now;
		v->count = 0;
		v->reasons = 0;
	}
	/* the first drop of each reason in a window always gets through:
	 * a flood of one reason does not hide another */
	if (v->count >= v->per_sec && (v->reasons >> reason & 1)) {
		v->suppressed++;
		return;
	}
	ev.ts_ns = now;
	ev.reason = reason;
	ev.peer = p ? (uint32_t)(p - e->peers) : 0;
	flow_of(v, &ev);
	ev.suppressed = v->suppressed;
	pthread_mutex_lock(&v->lock);
	if (v->n < SN_ENG_EV_RING) {
		v->ring[(v->head + v->n) % SN_ENG_EV_RING] = ev;
		v->n++;
		queued = true;
	}
	pthread_mutex_unlock(&v->lock);
	if (!queued) {
		v->suppressed++; /* sealnetd is behind: like a full ring */
		return;
	}
	v->count++;
	v->reasons |= 1ull << reason;
	v->suppressed = 0;
	if (write(v->fd, &one, sizeof(one)) < 0) {
		/* counter full: a wake-up is pending anyway */
	}
}

int sn_engine_events_fd(struct sn_engine *e)
{
	return e->ev.fd;
}

int sn_engine_events_consume(struct sn_engine *e, sn_dp_event_fn cb, void *arg)
{
	struct sn_eng_events *v = &e->ev;
	struct sn_event batch[SN_ENG_EV_RING];
	unsigned int n;
	uint64_t x;

	while (read(v->fd, &x, sizeof(x)) == sizeof(x))
		;
	pthread_mutex_lock(&v->lock);
	for (n = 0; n < v->n; n++)
		batch[n] = v->ring[(v->head + n) % SN_ENG_EV_RING];
	v->head = (v->head + n) % SN_ENG_EV_RING;
	v->n = 0;
	pthread_mutex_unlock(&v->lock);
	for (unsigned int i = 0; i < n; i++)
		cb(&batch[i], arg);
	return (int)n;
}
