// SPDX-License-Identifier: Apache-2.0
/*
 * A snapshot of sealnetd's state (node, data plane, peers, drop counters)
 * in the control protocol's structures: the control socket's status
 * answer and the Prometheus page are both built from it.
 */
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>

#include "sealnet/engine.h"
#include "sealnet/util.h"
#include "sealnetd.h"

int sn_status_snap(struct sealnetd *d, struct sn_status_snap *s)
{
	uint64_t counts[SN_DROP_MAX];
	unsigned int eg = 0, in = 0;

	*s = (struct sn_status_snap){
		.st =
			{
				.node = d->cfg->node,
				.id = d->cfg->id,
				.interface = d->cfg->ifname,
				.mode = d->cfg->make.enabled ? "make" :
							       "static",
				.dataplane =
					d->tampered ? "TAMPERED" : "measured",
				.dataplane_reason =
					d->tampered ? d->tamper_reason : NULL,
				.watchdog_tick_us = d->watch_tick_us,
				.mlog_events = d->mlog.n,
			},
	};
	s->st.drops = s->drops;
	sn_dp_prog_ids(d->dp, &eg, &in);
	s->st.egress_prog_id = eg;
	s->st.ingress_prog_id = in;
	sn_hex_encode(d->mlog.digest, sizeof(d->mlog.digest), s->mlog_hex);
	s->st.mlog_digest = s->mlog_hex;
	if (d->cfg->n_peers) {
		s->st.peers = calloc(d->cfg->n_peers, sizeof(*s->st.peers));
		s->addr = calloc(d->cfg->n_peers, sizeof(*s->addr));
		if (!s->st.peers || !s->addr) {
			sn_status_snap_release(s);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_peer_config *pc = &d->cfg->peers[i];
		struct sn_control_peer *p = &s->st.peers[s->st.n_peers++];
		struct sn_peer_stats ps = {0};

		inet_ntop(AF_INET, &pc->addr, s->addr[i], sizeof(s->addr[i]));
		sn_dp_peer_stats(d->dp, pc->id, &ps);
		if (d->engine)
			sn_engine_peer_stats(d->engine, pc->id, &ps);
		p->name = pc->name;
		p->id = pc->id;
		p->address = s->addr[i];
		p->state = d->tampered	       ? "revoked" :
			   pc->has_static_keys ? "keyed" :
						 "no-keys";
		p->tx_epoch = pc->has_static_keys ? (int64_t)pc->epoch : -1;
		p->tx_slot = sn_dp_tx_slot(d->dp, pc->id);
		p->tx_packets = ps.tx_packets;
		p->tx_bytes = ps.tx_bytes;
		p->rx_packets = ps.rx_packets;
		p->rx_bytes = ps.rx_bytes;
		p->drops = ps.drops;
		p->passed_clear = ps.passed_clear;
		sn_make_peer_status(d, i, p);
	}
	if (!sn_dp_drop_counts(d->dp, counts)) {
		if (d->engine)
			sn_engine_drop_counts(d->engine, counts);
		for (unsigned int r = 1; r < SN_DROP_MAX; r++)
			s->drops[s->st.n_drops++] = (struct sn_control_drop){
				.reason = sn_drop_name(r),
				.text = sn_drop_text(r),
				.count = counts[r],
			};
	}
	return 0;
}

void sn_status_snap_release(struct sn_status_snap *s)
{
	free(s->st.peers);
	free(s->addr);
	s->st.peers = NULL;
	s->addr = NULL;
}
