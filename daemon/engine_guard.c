// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's side of the SIMD engine's gate and drop events
 * (docs/sealnetd.md "SIMD engine guard"; lib/engine/guard.c, events.c).
 *
 * The engine carries nothing until sealnetd has verified that its
 * device's hooks hold exactly sealnet's policy programs
 * (sn_dp_engine_check: program ids of every clsact filter, tcx, netkit
 * and XDP program), and closes its gate by itself, before the next
 * packet, on any rtnetlink notification about the device.  sealnetd
 * checks on every such notification (the engine's guard fd) and every
 * SN_ENGINE_GUARD_MS (tcx attachments raise no notification):
 *  - exactly sealnet's programs: the gate opens (unless the engine saw
 *    another change since the check began);
 *  - anything else: the gate stays closed (both directions drop,
 *    ENGINE_HOOKS), and on the first finding of an incident sealnetd
 *    logs it and sends a "tampered" event to the monitors and the audit
 *    log; SN_ENGINE_GUARD_HOLD_MS after the finding it puts its filters
 *    back and removes the rest (sn_dp_engine_enforce), and the check that
 *    follows opens the gate again.  The hold-down keeps sealnetd from
 *    racing another agent that keeps re-installing its own filter (each
 *    round would be another event) and gives the operator a visible
 *    outage rather than a silent repair.
 * Keys are not revoked: the engine's keys live in sealnetd's memory, not
 * in anything a program on the device can read (unlike the BPF engine's
 * key maps), so the hooks being replaced exposes no key; what it could
 * expose, traffic the policy forbids, the closed gate stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealnet/engine.h"
#include "sealnet/log.h"
#include "sealnetd.h"

struct sn_eguard {
	struct event *ev_notify, *ev_tick, *ev_events;
	bool incident; /* found not sealnet's, not restored yet */
	long since_ms; /* the finding or the last repair */
	long check_us; /* cost of the last check */
	uint64_t checks;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void report(struct sealnetd *d, const char *why)
{
	json_t *j;

	if (sn_control_event_encode(
		    &(struct sn_control_event){
			    .kind = SN_CONTROL_EV_TAMPERED,
			    .text = "the SIMD engine's device hooks are not "
				    "sealnet's policy programs; the engine "
				    "drops all traffic until sealnetd restores "
				    "them",
			    .reason = why},
		    &j))
		return;
	sn_ctl_broadcast(d, j);
	sn_audit(d, j);
	json_decref(j);
}

static void guard_check(struct sealnetd *d)
{
	struct sn_eguard *g = d->eguard;
	struct timespec t0, t1;
	uint64_t seq = sn_engine_guard_seq(d->engine);
	char why[512];
	long now;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = sn_dp_engine_check(d->dp, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	g->check_us = (t1.tv_sec - t0.tv_sec) * 1000000L +
		      (t1.tv_nsec - t0.tv_nsec) / 1000;
	g->checks++;
	if (!err) {
		sn_engine_guard_set(d->engine, seq);
		if (g->incident)
			sn_info("engine: its device's hooks hold sealnet's "
				"programs again: forwarding resumes");
		g->incident = false;
		return;
	}
	sn_engine_guard_set(d->engine, 0);
	if (err != -EPERM)
		snprintf(why, sizeof(why),
			 "checking the SIMD engine's device hooks failed: %s",
			 strerror(-err));
	now = now_ms();
	if (!g->incident) {
		g->incident = true;
		g->since_ms = now;
		sn_err("engine: %s: the engine drops every packet in both "
		       "directions (fail closed); sealnetd restores its "
		       "programs in %d ms (investigate who changed them)",
		       why, SN_ENGINE_GUARD_HOLD_MS);
		report(d, why);
		return;
	}
	if (now - g->since_ms < SN_ENGINE_GUARD_HOLD_MS)
		return;
	g->since_ms = now; /* the next repair, if needed, one hold later */
	err = sn_dp_engine_enforce(d->dp);
	if (err)
		sn_err("engine: restoring its device's hooks failed: %s; the "
		       "engine stays closed (restart sealnetd)",
		       strerror(-err));
	else
		sn_info("engine: sealnet's programs put back on its device, "
			"everything else removed");
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	guard_check(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	guard_check(arg);
}

static void on_events(evutil_socket_t fd, short what, void *arg)
{
	struct sealnetd *d = arg;

	sn_engine_events_consume(d->engine, sn_on_drop, d);
}

int sn_engine_guard_start(struct sealnetd *d)
{
	struct timeval period = {.tv_usec = SN_ENGINE_GUARD_MS * 1000L};
	struct sn_eguard *g;

	if (!d->engine)
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	d->eguard = g;
	g->ev_notify = event_new(d->base, sn_engine_guard_fd(d->engine),
				 EV_READ | EV_PERSIST, on_notify, d);
	g->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	g->ev_events = event_new(d->base, sn_engine_events_fd(d->engine),
				 EV_READ | EV_PERSIST, on_events, d);
	if (!g->ev_notify || !g->ev_tick || !g->ev_events ||
	    event_add(g->ev_notify, NULL) || event_add(g->ev_tick, &period) ||
	    event_add(g->ev_events, NULL)) {
		sn_err("engine: setting up its guard's events failed");
		return -ENOMEM;
	}
	guard_check(d); /* the gate opens here */
	sn_info("engine: device hooks verified (check: %ld us, every %d ms "
		"and on each rtnetlink change)",
		g->check_us, SN_ENGINE_GUARD_MS);
	return g->incident ? -EPERM : 0;
}

void sn_engine_guard_stop(struct sealnetd *d)
{
	struct sn_eguard *g = d->eguard;

	if (!g)
		return;
	if (g->ev_notify)
		event_free(g->ev_notify);
	if (g->ev_tick)
		event_free(g->ev_tick);
	if (g->ev_events)
		event_free(g->ev_events);
	free(g);
	d->eguard = NULL;
}

bool sn_engine_guard_incident(struct sealnetd *d, long *check_us)
{
	if (!d->eguard)
		return false;
	if (check_us)
		*check_us = d->eguard->check_us;
	return d->eguard->incident;
}
