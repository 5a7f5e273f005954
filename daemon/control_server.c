// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's control socket (protocol in include/sealnet/control.h).
 * Root only (mode 0600 in a 0700 directory); one request line of at most
 * SN_CONTROL_MAX_REQ bytes; at most SN_MAX_MONITORS live monitors, each
 * with a bounded output buffer (lines are dropped, never queued forever).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "sealnet/control.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnetd.h"

#define SN_MAX_MONITORS 16
#define SN_MONITOR_MAX_BUF (1u << 20)

struct sn_monitor {
	struct bufferevent *bev;
	struct sn_monitor *next;
	struct sealnetd *d;
};

json_t *sn_ctl_status(struct sealnetd *d)
{
	json_t *st, *peers, *drops = NULL;
	unsigned int eg = 0, in = 0;

	sn_dp_prog_ids(d->dp, &eg, &in);
	peers = json_array();
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_peer_config *p = &d->cfg->peers[i];
		struct sn_peer_stats ps = { 0 };
		char a[INET_ADDRSTRLEN];
		int slot = sn_dp_tx_slot(d->dp, p->id);

		inet_ntop(AF_INET, &p->addr, a, sizeof(a));
		sn_dp_peer_stats(d->dp, p->id, &ps);
		json_t *po = json_pack("{ss si ss ss si si sI sI sI sI sI sI}", "name",
				  p->name, "id", (int)p->id, "address", a,
				  "state", d->tampered ? "revoked" :
				  p->has_static_keys ? "keyed" : "no-keys",
				  "tx_epoch", p->has_static_keys ? (int)p->epoch : -1,
				  "tx_slot", slot, "tx_packets",
				  (json_int_t)ps.tx_packets, "tx_bytes",
				  (json_int_t)ps.tx_bytes, "rx_packets",
				  (json_int_t)ps.rx_packets, "rx_bytes",
				  (json_int_t)ps.rx_bytes, "drops",
				  (json_int_t)ps.drops, "passed_clear",
				  (json_int_t)ps.passed_clear);
		sn_make_peer_status(d, i, po);
		json_array_append_new(peers, po);
	}
	sn_dp_drop_stats(d->dp, &drops);
	{
		char hex[2 * sizeof(d->mlog.digest) + 1];

		sn_hex_encode(d->mlog.digest, sizeof(d->mlog.digest), hex);
		st = json_pack("{ss si ss ss si si ss ss si so so}", "node",
			       d->cfg->node, "id", (int)d->cfg->id, "interface",
			       d->cfg->ifname, "mode",
			       d->cfg->make.enabled ? "make" : "static",
			       "egress_prog_id", (int)eg, "ingress_prog_id",
			       (int)in, "dataplane",
			       d->tampered ? "TAMPERED" : "measured",
			       "mlog_digest", hex, "mlog_events",
			       (int)d->mlog.n, "peers", peers, "drops",
			       drops ? drops : json_object());
		if (st && d->tampered)
			json_object_set_new(st, "dataplane_reason",
					    json_string(d->tamper_reason));
		if (st)
			json_object_set_new(st, "watchdog_tick_us",
					    json_integer(d->watch_tick_us));
	}
	return st;
}

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

void sn_ctl_broadcast(struct sealnetd *d, json_t *line)
{
	char *s;

	if (!d->monitors)
		return;
	s = json_dumps(line, JSON_COMPACT);
	if (!s)
		return;
	for (struct sn_monitor *m = d->monitors; m; m = m->next) {
		struct evbuffer *out = bufferevent_get_output(m->bev);

		if (evbuffer_get_length(out) > SN_MONITOR_MAX_BUF)
			continue; /* slow reader: drop the line */
		evbuffer_add_printf(out, "%s\n", s);
	}
	free(s);
}

static void close_when_flushed(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void reply_and_close(struct bufferevent *bev, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	bufferevent_disable(bev, EV_READ);
	if (s) {
		evbuffer_add_printf(bufferevent_get_output(bev), "%s\n", s);
		free(s);
	}
	bufferevent_setcb(bev, NULL, close_when_flushed, NULL, NULL);
}

static void req_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void req_read(struct bufferevent *bev, void *arg)
{
	struct sealnetd *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	json_error_t jerr;
	const char *cmd;
	json_t *req, *ans;
	size_t n;
	char *line;

	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) > SN_CONTROL_MAX_REQ) {
			ans = json_pack("{ss}", "error", "request too long");
			reply_and_close(bev, ans);
			json_decref(ans);
		}
		return;
	}
	req = json_loadb(line, n, 0, &jerr);
	free(line);
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (cmd && !strcmp(cmd, "status")) {
		ans = sn_ctl_status(d);
		reply_and_close(bev, ans);
		json_decref(ans);
	} else if (cmd && !strcmp(cmd, "monitor")) {
		struct sn_monitor *m;
		unsigned int count = 0;

		for (m = d->monitors; m; m = m->next)
			count++;
		m = count < SN_MAX_MONITORS ? calloc(1, sizeof(*m)) : NULL;
		if (!m) {
			ans = json_pack("{ss}", "error", "too many monitors");
			reply_and_close(bev, ans);
			json_decref(ans);
		} else {
			m->bev = bev;
			m->d = d;
			m->next = d->monitors;
			d->monitors = m;
			bufferevent_setcb(bev, monitor_read, NULL,
					  monitor_event, m);
			ans = json_pack("{ss ss}", "event", "hello", "node",
					d->cfg->node);
			sn_ctl_broadcast(d, ans);
			json_decref(ans);
		}
	} else {
		ans = json_pack("{ss}", "error",
				"unknown request (expected {\"cmd\": \"status\"} or {\"cmd\": \"monitor\"})");
		reply_and_close(bev, ans);
		json_decref(ans);
	}
	json_decref(req);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct sealnetd *d = arg;
	struct bufferevent *bev;

	bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, req_read, NULL, req_event, d);
	bufferevent_enable(bev, EV_READ);
}

int sn_ctl_check_dir(struct sealnetd *d)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], err[768];
	const char *path = d->cfg->control_socket;
	char *slash;
	int fd, r;

	if (strlen(path) >= sizeof(dir)) {
		sn_err("control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		strcpy(dir, "/");
	else
		*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST) {
		r = -errno;
		sn_err("control socket directory %s: cannot create it: %s", dir,
		       strerror(-r));
		return r;
	}
	/* whoever may write there may replace our socket with theirs */
	r = sn_open_private_dir(dir, "control socket directory", &fd, err,
				sizeof(err));
	if (r) {
		sn_err("%s", err);
		return r;
	}
	close(fd);
	return 0;
}

int sn_ctl_start(struct sealnetd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->cfg->control_socket;
	mode_t old;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		sn_err("control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	err = sn_ctl_check_dir(d);
	if (err)
		return err;
	/* a stale socket of a dead daemon: replace it; a live one: refuse */
	{
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa,
					  sizeof(sa)) == 0) {
			close(probe);
			sn_err("another sealnetd answers on %s; stop it first or set control_socket",
			       path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	old = umask(0077);
	d->ctl = evconnlistener_new_bind(d->base, on_accept, d,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					 16, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (!d->ctl) {
		sn_err("cannot listen on %s: %s", path, strerror(errno));
		return -errno;
	}
	chmod(path, 0600);
	return 0;
}

void sn_ctl_stop(struct sealnetd *d)
{
	while (d->monitors)
		monitor_remove(d, d->monitors);
	if (d->ctl) {
		evconnlistener_free(d->ctl);
		d->ctl = NULL;
		unlink(d->cfg->control_socket);
	}
}
