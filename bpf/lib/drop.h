/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drops: every drop counts once under its reason (sn_drops), once for its
 * peer when known (sn_peer_stats.drops), and emits one ring-buffer event,
 * rate-limited per CPU to cfg->events_per_sec (the number suppressed is
 * carried in the next event that gets through).
 */
#ifndef SN_BPF_DROP_H
#define SN_BPF_DROP_H

#include "lib/maps.h"

struct sn_flow {
	__u32 saddr, daddr;
	__u16 sport, dport; /* host order, 0 when unknown */
	__u8 proto;
	__u8 dir;
	__u16 pad; /* named, so an initializer zeroes it (sn_drop below) */
	__u32 peer;
};

static __always_inline void sn_peer_stat_drop(__u32 peer)
{
	struct sn_peer_stats *ps;

	if (!peer)
		return;
	ps = bpf_map_lookup_elem(&sn_peer_stats, &peer);
	if (ps)
		ps->drops++;
}

/*
 * Count a drop and report it; returns TC_ACT_SHOT.  A global (non-static)
 * function: the verifier checks it once per program, instead of once per
 * caller state at each of its twenty call sites (a third of sn_egress's
 * verification, docs/performance.md), so f may be NULL here (never for
 * the callers, whose f is a fully initialized struct on their stack).
 */
__noinline int sn_drop(const struct sn_config *cfg, const struct sn_flow *f,
		       __u32 reason)
{
	struct sn_evrate *rl;
	struct sn_event *ev;
	__u64 *cnt, now;
	__u32 zero = 0;

	if (!f)
		return TC_ACT_SHOT;
	cnt = bpf_map_lookup_elem(&sn_drops, &reason);
	if (cnt)
		*cnt += 1;
	sn_peer_stat_drop(f->peer);

	rl = bpf_map_lookup_elem(&sn_evrate, &zero);
	if (!rl || !cfg)
		return TC_ACT_SHOT;
	now = bpf_ktime_get_ns();
	if (now - rl->window_start > 1000000000ull) {
		rl->window_start = now;
		rl->count = 0;
	}
	if (rl->count >= cfg->events_per_sec) {
		rl->suppressed++;
		return TC_ACT_SHOT;
	}
	ev = bpf_ringbuf_reserve(&sn_events, sizeof(*ev), 0);
	if (!ev) {
		rl->suppressed++;
		return TC_ACT_SHOT;
	}
	rl->count++;
	ev->ts_ns = now;
	ev->reason = reason;
	ev->peer = f->peer;
	ev->saddr = f->saddr;
	ev->daddr = f->daddr;
	ev->sport = f->sport;
	ev->dport = f->dport;
	ev->proto = f->proto;
	ev->dir = f->dir;
	ev->pad = 0;
	ev->suppressed = rl->suppressed;
	rl->suppressed = 0;
	bpf_ringbuf_submit(ev, 0);
	return TC_ACT_SHOT;
}

#endif
