// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's control socket (protocol in include/sealnet/control.h,
 * encoded by lib/control/codec.c).  Root only (mode 0600 in a 0700
 * directory); one request line of at most SN_CONTROL_MAX_REQ bytes,
 * answered with the status and closed, or handed to monitors.c.
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
#include "sealnet/engine.h"
#include "sealnetd.h"

/* The status answer (include/sealnet/control.h, STATUS ANSWER). */
static int status_answer(struct sealnetd *d, json_t **out)
{
	struct sn_control_drop drops[SN_DROP_MAX];
	struct sn_control_status st = {
		.node = d->cfg->node,
		.id = d->cfg->id,
		.interface = d->cfg->ifname,
		.mode = d->cfg->make.enabled ? "make" : "static",
		.dataplane = d->tampered ? "TAMPERED" : "measured",
		.dataplane_reason = d->tampered ? d->tamper_reason : NULL,
		.watchdog_tick_us = d->watch_tick_us,
		.mlog_events = d->mlog.n,
		.drops = drops,
	};
	char hex[2 * sizeof(d->mlog.digest) + 1];
	char (*addr)[INET_ADDRSTRLEN] = NULL;
	uint64_t counts[SN_DROP_MAX];
	unsigned int eg = 0, in = 0;
	int err;

	sn_dp_prog_ids(d->dp, &eg, &in);
	st.egress_prog_id = eg;
	st.ingress_prog_id = in;
	sn_hex_encode(d->mlog.digest, sizeof(d->mlog.digest), hex);
	st.mlog_digest = hex;
	if (d->cfg->n_peers) {
		st.peers = calloc(d->cfg->n_peers, sizeof(*st.peers));
		addr = calloc(d->cfg->n_peers, sizeof(*addr));
		if (!st.peers || !addr) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		struct sn_peer_config *pc = &d->cfg->peers[i];
		struct sn_control_peer *p = &st.peers[st.n_peers++];
		struct sn_peer_stats ps = { 0 };

		inet_ntop(AF_INET, &pc->addr, addr[i], sizeof(addr[i]));
		sn_dp_peer_stats(d->dp, pc->id, &ps);
		if (d->engine)
			sn_engine_peer_stats(d->engine, pc->id, &ps);
		p->name = pc->name;
		p->id = pc->id;
		p->address = addr[i];
		p->state = d->tampered		? "revoked" :
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
			drops[st.n_drops++] = (struct sn_control_drop){
				.reason = sn_drop_name(r),
				.text = sn_drop_text(r),
				.count = counts[r],
			};
	}
	err = sn_control_status_encode(&st, out);
out:
	free(st.peers);
	free(addr);
	return err;
}

static void close_when_flushed(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* answer j (consumed; NULL: none) and close once it is sent */
static void reply_and_close(struct bufferevent *bev, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	bufferevent_disable(bev, EV_READ);
	if (s) {
		evbuffer_add_printf(bufferevent_get_output(bev), "%s\n", s);
		free(s);
	}
	bufferevent_setcb(bev, NULL, close_when_flushed, NULL, NULL);
	close_when_flushed(bev, NULL); /* nothing to send: close now */
}

static void reply_error(struct bufferevent *bev, const char *text)
{
	json_t *j = NULL;

	sn_control_error_encode(text, &j);
	reply_and_close(bev, j);
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
	struct sn_control_event hello = {
		.kind = SN_CONTROL_EV_HELLO,
		.node = d->cfg->node,
	};
	enum sn_control_cmd cmd;
	json_t *ans = NULL;
	size_t n;
	char *line;
	int err;

	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) > SN_CONTROL_MAX_REQ)
			reply_error(bev, "request too long");
		return;
	}
	err = sn_control_request_decode(line, n, &cmd);
	free(line);
	if (err) {
		reply_error(bev, "unknown request (expected {\"cmd\": \"status\"} or {\"cmd\": \"monitor\"})");
	} else if (cmd == SN_CONTROL_CMD_STATUS) {
		status_answer(d, &ans);
		reply_and_close(bev, ans);
	} else {
		/* the hello line goes to the new monitor only */
		sn_control_event_encode(&hello, &ans);
		if (sn_ctl_monitor_add(d, bev, ans))
			reply_error(bev, "too many monitors");
		json_decref(ans);
	}
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
	sn_ctl_monitors_free(d);
	if (d->ctl) {
		evconnlistener_free(d->ctl);
		d->ctl = NULL;
		unlink(d->cfg->control_socket);
	}
}
