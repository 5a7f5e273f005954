// SPDX-License-Identifier: Apache-2.0
/*
 * Counters and events: drop reasons (names and texts from the one list in
 * sealnet/abi.h), per-reason and per-peer counters summed over CPUs, and
 * the ring buffer of drop events.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/crypto.h>

#include "sealnet/dataplane.h"
#include "sealnet/log.h"
#include "internal.h"

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
	uint64_t c[SN_DROP_MAX] = {0};

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

int sn_dp_events_consume(struct sn_dataplane *dp, sn_dp_event_fn cb, void *arg)
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
