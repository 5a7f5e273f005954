// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd and the SIMD engine ("dataplane": {"engine": "simd"}): the
 * engine runs as a thread of sealnetd (lib/engine/), so its keys never
 * leave the process that derived them; the data plane hands it every key
 * operation (sn_dp_set_key_sink) and routes peers' traffic through its
 * TUN device (sn_dp_engine_attach).  Its binary (sealnetd itself) is in
 * the launch measurement and, as an SN_MLOG_ENGINE event, in the runtime
 * measurement log.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sealnet/engine.h"
#include "sealnet/log.h"
#include "sealnetd.h"

int sn_engine_setup(struct sealnetd *d)
{
	struct sn_engine_opts o = {
		.self_id = d->cfg->id,
		.udp_port = sn_dp_udp_port(d->dp),
		.mark = sn_dp_engine_mark(d->dp),
		.link_mtu = sn_dp_link_mtu(d->dp),
		.counter_limit = sn_dp_counter_limit(d->dp),
		.events_per_sec = d->cfg->dp.events_per_sec,
	};
	struct sn_dp_key_sink sink;
	char name[16];
	int err;

	if (!d->cfg->dp.engine_simd)
		return 0;
	snprintf(name, sizeof(name), "sn-%.12s", d->cfg->node);
	o.tun_name = name;
	err = sn_engine_open(&o, &d->engine);
	if (err)
		return err;
	for (size_t i = 0; i < d->cfg->n_peers && !err; i++)
		err = sn_engine_add_peer(d->engine, d->cfg->peers[i].id,
					 d->cfg->peers[i].addr,
					 d->cfg->peers[i].engine_simd);
	if (err) {
		sn_err("engine: adding the peers failed: %s", strerror(-err));
		return err;
	}
	sn_engine_key_sink(d->engine, &sink);
	sn_dp_set_key_sink(d->dp, &sink);
	err = sn_dp_engine_attach(d->dp, sn_engine_ifindex(d->engine));
	if (!err) {
		/* only what sn_tun_egress passed reaches the engine (a packet
		 * put on the device past its egress hook does not) */
		err = sn_engine_tun_filter(d->engine,
					   sn_dp_engine_filter_fd(d->dp));
		if (err)
			sn_err("engine: attaching sn_tun_filter to its device "
			       "(TUNSETFILTEREBPF) failed: %s",
			       strerror(-err));
	}
	if (!err)
		err = sn_engine_start(d->engine);
	return err;
}

void sn_engine_teardown(struct sealnetd *d)
{
	if (!d->engine)
		return;
	sn_dp_set_key_sink(d->dp, NULL);
	sn_engine_close(d->engine);
	d->engine = NULL;
}
