// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's Prometheus page: GET /metrics on cfg->metrics_listen
 * ("ADDR:PORT", IPv4 or [IPv6]; off when empty), text format 0.0.4,
 * built at each scrape from the status snapshot (status.c) and the MAKE
 * counters.  Read-only and unauthenticated like every Prometheus target:
 * bind it to a loopback or management address.  Names and labels are
 * listed in docs/sealnetd.md, Metrics.  Nothing secret is exported (no
 * key, session id or evidence; peer names and node ids only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "sealnetd.h"

static const double make_bounds[] = {0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
				     0.25,  0.5,   1,	 2.5,	5,    10};

static void peer_metrics(struct sealnetd *d, struct sn_prom *p,
			 const struct sn_control_status *st)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} ctr[] = {
#define F(n, t, h, f) {n, t, h, offsetof(struct sn_control_peer, f)}
		F("sealnet_peer_sealed_packets_total", "counter",
		  "Packets sealed (encrypted) to the peer.", tx_packets),
		F("sealnet_peer_sealed_bytes_total", "counter",
		  "Bytes of inner packets sealed to the peer.", tx_bytes),
		F("sealnet_peer_opened_packets_total", "counter",
		  "Packets from the peer opened (authenticated, decrypted).",
		  rx_packets),
		F("sealnet_peer_opened_bytes_total", "counter",
		  "Bytes of inner packets opened from the peer.", rx_bytes),
		F("sealnet_peer_dropped_packets_total", "counter",
		  "Packets to or from the peer dropped by the data plane.",
		  drops),
		F("sealnet_peer_control_packets_total", "counter",
		  "Packets of sealnetd's own MAKE connection passed in clear.",
		  passed_clear),
#undef F
	};

	for (size_t k = 0; k < sizeof(ctr) / sizeof(ctr[0]); k++) {
		sn_prom_family(p, ctr[k].name, ctr[k].type, ctr[k].help);
		for (size_t i = 0; i < st->n_peers; i++) {
			const struct sn_control_peer *pe = &st->peers[i];
			const char *l[] = {"peer", pe->name, NULL};

			sn_prom_u64(p, ctr[k].name, l,
				    *(const uint64_t *)((const char *)pe +
							ctr[k].off));
		}
	}
	sn_prom_family(p, "sealnet_peer_keyed", "gauge",
		       "1 when the peer has keys in the data plane (state "
		       "keyed or established), else 0.");
	for (size_t i = 0; i < st->n_peers; i++) {
		const struct sn_control_peer *pe = &st->peers[i];
		const char *l[] = {"peer", pe->name, "state", pe->state, NULL};

		sn_prom_u64(p, "sealnet_peer_keyed", l,
			    !strcmp(pe->state, "keyed") ||
				    !strcmp(pe->state, "established"));
	}
	sn_prom_family(p, "sealnet_peer_key_age_seconds", "gauge",
		       "Seconds since the newest keys of the peer were "
		       "installed (MAKE peers with keys only).");
	for (size_t i = 0; i < st->n_peers; i++) {
		const char *l[] = {"peer", st->peers[i].name, NULL};

		if (st->peers[i].is_make && st->peers[i].key_age_s >= 0)
			sn_prom_u64(p, "sealnet_peer_key_age_seconds", l,
				    (uint64_t)st->peers[i].key_age_s);
	}
	sn_prom_family(p, "sealnet_peer_session_age_seconds", "gauge",
		       "Seconds since the evidence behind the keys sent with "
		       "was appraised (bounded by session_lifetime_s).");
	for (size_t i = 0; i < st->n_peers; i++) {
		const char *l[] = {"peer", st->peers[i].name, NULL};

		if (st->peers[i].is_make && st->peers[i].appraisal_age_ms >= 0)
			sn_prom_f64(p, "sealnet_peer_session_age_seconds", l,
				    (double)st->peers[i].appraisal_age_ms /
					    1e3);
	}

	sn_prom_family(p, "sealnet_make_sessions_total", "counter",
		       "MAKE sessions with the peer that reached keys.");
	for (size_t i = 0; i < st->n_peers; i++) {
		struct sn_make_peer_metrics m;
		const char *l[] = {"peer", st->peers[i].name, NULL};

		sn_make_peer_metrics(d, i, &m);
		sn_prom_u64(p, "sealnet_make_sessions_total", l, m.makes);
	}
	sn_prom_family(
		p, "sealnet_make_failures_total", "counter",
		"MAKE sessions with the peer that ended without keys, by "
		"reason: the first reason the peer's evidence was "
		"rejected for, or \"session\" (connection, TLS, "
		"protocol, refused by the peer).");
	for (size_t i = 0; i < st->n_peers; i++) {
		struct sn_make_peer_metrics m;
		const char *l[] = {"peer", st->peers[i].name, "reason",
				   "session", NULL};

		sn_make_peer_metrics(d, i, &m);
		sn_prom_u64(p, "sealnet_make_failures_total", l,
			    m.fail_session);
		for (unsigned int r = 0; r < SN_R_COUNT; r++) {
			if (!m.fail_reason[r])
				continue;
			l[3] = sn_reason_name(r);
			sn_prom_u64(p, "sealnet_make_failures_total", l,
				    m.fail_reason[r]);
		}
	}
	sn_prom_family(p, "sealnet_rekeys_total", "counter",
		       "Key epochs after the first installed for the peer.");
	for (size_t i = 0; i < st->n_peers; i++) {
		struct sn_make_peer_metrics m;
		const char *l[] = {"peer", st->peers[i].name, NULL};

		sn_make_peer_metrics(d, i, &m);
		sn_prom_u64(p, "sealnet_rekeys_total", l, m.rekeys);
	}
}

static int build_page(struct sealnetd *d, struct sn_prom *p)
{
	struct sn_status_snap snap;
	const struct sn_control_status *st = &snap.st;
	int err = sn_status_snap(d, &snap);

	if (err)
		return err;
	{
		const char *l[] = {"node", st->node, "interface", st->interface,
				   "mode", st->mode, NULL};

		sn_prom_family(p, "sealnet_node_info", "gauge",
			       "Constant 1, labelled with the node's name, "
			       "protected interface and key mode.");
		sn_prom_u64(p, "sealnet_node_info", l, 1);
	}
	sn_prom_family(p, "sealnet_dataplane_tampered", "gauge",
		       "1 when the watchdog found the data plane altered "
		       "(MAKE sessions are then refused), else 0.");
	sn_prom_u64(p, "sealnet_dataplane_tampered", NULL, d->tampered != 0);
	sn_prom_family(p, "sealnet_watchdog_tick_seconds", "gauge",
		       "CPU time of the last watchdog check of every hook and "
		       "map.");
	sn_prom_f64(p, "sealnet_watchdog_tick_seconds", NULL,
		    (double)st->watchdog_tick_us / 1e6);
	if (d->engine) {
		long us = 0;
		bool incident = sn_engine_guard_incident(d, &us);

		sn_prom_family(p, "sealnet_engine_hooks_ok", "gauge",
			       "1 while the SIMD engine's device hooks hold "
			       "exactly sealnet's policy programs, 0 while "
			       "they do not (the engine then drops "
			       "everything).");
		sn_prom_u64(p, "sealnet_engine_hooks_ok", NULL, !incident);
		sn_prom_family(p, "sealnet_engine_guard_check_seconds", "gauge",
			       "Duration of the last check of the SIMD "
			       "engine's device hooks.");
		sn_prom_f64(p, "sealnet_engine_guard_check_seconds", NULL,
			    (double)us / 1e6);
	}
	sn_prom_family(p, "sealnet_drops_total", "counter",
		       "Packets dropped by the data plane, by reason "
		       "(include/sealnet/abi.h, docs/wire-format.md).");
	for (size_t i = 0; i < st->n_drops; i++) {
		const char *l[] = {"reason", st->drops[i].reason, NULL};

		sn_prom_u64(p, "sealnet_drops_total", l, st->drops[i].count);
	}
	peer_metrics(d, p, st);
	sn_prom_family(p, "sealnet_make_duration_seconds", "histogram",
		       "Time from the start of a MAKE session to its keys "
		       "(TLS, evidence both ways, appraisal), any peer.");
	sn_prom_hist(p, "sealnet_make_duration_seconds", NULL, &d->make_hist);
	sn_kbsc_metrics(d, p);
	sn_status_snap_release(&snap);
	return sn_prom_text(p, NULL) ? 0 : -ENOMEM;
}

static int build_page_cb(struct sn_prom *p, void *arg)
{
	return build_page(arg, p);
}

int sn_metrics_start(struct sealnetd *d)
{
	d->make_hist.bounds = make_bounds;
	d->make_hist.n_bounds = sizeof(make_bounds) / sizeof(make_bounds[0]);
	if (!d->cfg->metrics_listen[0])
		return 0;
	return sn_prom_serve(d->base, d->cfg->metrics_listen, build_page_cb, d,
			     &d->metrics);
}

void sn_metrics_stop(struct sealnetd *d)
{
	sn_prom_server_free(d->metrics);
	d->metrics = NULL;
}
