// SPDX-License-Identifier: Apache-2.0
/*
 * Deferred attach after a restart.  A sealnetd killed hard leaves its
 * programs attached with its keys, so established traffic keeps flowing.
 * The new instance loads its own programs without attaching them
 * (defer_attach), re-attests and re-keys every MAKE peer, and only then
 * replaces the old programs: once every peer is settled (keyed again, or
 * failed once), at the latest SN_DEFERRED_ATTACH_S seconds after start.
 */
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "sealnet/dataplane.h"
#include "sealnet/log.h"
#include "sealnetd.h"

static long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

void sn_deferred_attach_start(struct sealnetd *d)
{
	d->attach_deadline = now_s() + SN_DEFERRED_ATTACH_S;
}

void sn_deferred_attach(struct sealnetd *d)
{
	bool all;
	int err;

	if (sn_dp_is_attached(d->dp))
		return;
	all = sn_make_peers_settled(d);
	if (!all && now_s() < d->attach_deadline)
		return;
	err = sn_dp_attach(d->dp);
	if (err) {
		sn_err("attaching the data plane failed: %s; stopping",
		       strerror(-err));
		event_base_loopbreak(d->base);
		return;
	}
	sn_info("data plane attached (%s); the previous instance's programs "
		"are replaced",
		all ? "every peer settled" : "deadline reached");
}
