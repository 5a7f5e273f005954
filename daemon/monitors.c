// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's live monitors (`sealnet monitor`): the connections that asked
 * for "monitor" on the control socket (control_server.c), and the
 * broadcast of one event line to all of them (drop, MAKE and tampering
 * events; messages in include/sealnet/control.h).  At most
 * SN_MAX_MONITORS at once, each with a bounded output buffer: for a slow
 * reader lines are dropped, never queued forever.
 */
#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "sealnetd.h"

#define SN_MAX_MONITORS 16
#define SN_MONITOR_MAX_BUF (1u << 20)

struct sn_monitor {
	struct bufferevent *bev;
	struct sn_monitor *next;
	struct sealnetd *d;
};

static void monitor_remove(struct sealnetd *d, struct sn_monitor *m)
{
	struct sn_monitor **pp;

	for (pp = &d->monitors; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	bufferevent_free(m->bev);
	free(m);
}

static void monitor_event(struct bufferevent *bev, short what, void *arg)
{
	struct sn_monitor *m = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		monitor_remove(m->d, m);
}

static void monitor_read(struct bufferevent *bev, void *arg)
{
	/* monitors send nothing more; discard */
	evbuffer_drain(bufferevent_get_input(bev),
		       evbuffer_get_length(bufferevent_get_input(bev)));
}

static void send_line(struct sn_monitor *m, const char *s)
{
	struct evbuffer *out = bufferevent_get_output(m->bev);

	if (evbuffer_get_length(out) > SN_MONITOR_MAX_BUF)
		return; /* slow reader: drop the line */
	evbuffer_add_printf(out, "%s\n", s);
}

int sn_ctl_monitor_add(struct sealnetd *d, struct bufferevent *bev,
		       json_t *hello)
{
	struct sn_monitor *m;
	unsigned int count = 0;
	char *s;

	for (m = d->monitors; m; m = m->next)
		count++;
	if (count >= SN_MAX_MONITORS)
		return -EBUSY;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bev = bev;
	m->d = d;
	m->next = d->monitors;
	d->monitors = m;
	bufferevent_setcb(bev, monitor_read, NULL, monitor_event, m);
	s = json_dumps(hello, JSON_COMPACT);
	if (s) {
		send_line(m, s);
		free(s);
	}
	return 0;
}

void sn_ctl_monitors_free(struct sealnetd *d)
{
	while (d->monitors)
		monitor_remove(d, d->monitors);
}

void sn_ctl_broadcast(struct sealnetd *d, json_t *line)
{
	char *s;

	if (!d->monitors)
		return;
	s = json_dumps(line, JSON_COMPACT);
	if (!s)
		return;
	for (struct sn_monitor *m = d->monitors; m; m = m->next)
		send_line(m, s);
	free(s);
}
