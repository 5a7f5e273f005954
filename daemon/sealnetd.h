/* SPDX-License-Identifier: Apache-2.0 */
/* sealnetd's shared state, between its files. */
#ifndef SEALNETD_H
#define SEALNETD_H

#include <event2/event.h>

#include "sealnet/config.h"
#include "sealnet/dataplane.h"
#include "sealnet/evidence.h"

struct sn_monitor; /* a connected `sealnet monitor` */

struct sealnetd {
	struct event_base *base;
	struct sn_node_config *cfg;
	struct sn_dataplane *dp;
	struct event *ev_events;
	struct event *ev_sigint, *ev_sigterm;
	struct evconnlistener *ctl;
	struct sn_monitor *monitors;
	int ctl_fd;
	int log_drops; /* print each drop event to stderr */
	struct sn_mlog mlog;   /* runtime measurement log (data plane) */
	struct event *ev_watch; /* periodic check of the attached programs */
	int tampered;	       /* the attached programs are not ours */
};

/* control_server.c */
int sn_ctl_start(struct sealnetd *d);
void sn_ctl_stop(struct sealnetd *d);
/* Send one JSON line to every monitor. */
void sn_ctl_broadcast(struct sealnetd *d, json_t *line);
json_t *sn_ctl_status(struct sealnetd *d);

#endif
