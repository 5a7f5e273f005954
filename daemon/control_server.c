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
	struct sn_status_snap snap;
	int err = sn_status_snap(d, &snap);

	if (err)
		return err;
	err = sn_control_status_encode(&snap.st, out);
	sn_status_snap_release(&snap);
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
	if (!err && cmd == SN_CONTROL_CMD_WORKFLOW_APPLY) {
		json_t *req = json_loadb(line, n, 0, NULL);

		ans = sn_wfd_apply_request(
			d, json_string_value(json_object_get(req, "manifest")),
			json_string_value(json_object_get(req, "signatures")));
		json_decref(req);
		free(line);
		reply_and_close(bev, ans);
		return;
	}
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
