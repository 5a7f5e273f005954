// SPDX-License-Identifier: Apache-2.0
/*
 * Control-socket client, used by every CLI command that talks to sealnetd:
 * one request with one answer ("status"), or a stream of event lines
 * ("monitor").  Messages: include/sealnet/control.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sealnet/control.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

int sn_control_connect(const char *path, int *fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* connect to path and send the request line for cmd */
static int open_and_send(const char *path, enum sn_control_cmd cmd, int *fd)
{
	char *req = NULL;
	int s, err;

	err = sn_control_request_encode(cmd, &req);
	if (err)
		return err;
	err = sn_control_connect(path, &s);
	if (!err) {
		err = write_all(s, req, strlen(req));
		if (err)
			close(s);
		else
			*fd = s;
	}
	free(req);
	return err;
}

int sn_control_request(const char *path, enum sn_control_cmd cmd,
		       json_t **answer)
{
	json_error_t jerr;
	uint8_t *buf = NULL;
	size_t len = 0;
	json_t *j;
	int fd, err;

	err = open_and_send(path, cmd, &fd);
	if (err)
		return err;
	err = sn_read_fd(fd, SN_CONTROL_MAX_ANSWER, &buf, &len);
	close(fd);
	if (err)
		return err;
	j = len ? json_loadb((const char *)buf, len, 0, &jerr) : NULL;
	free(buf);
	if (!j) {
		if (len)
			sn_err("control socket %s: bad answer: %s", path,
			       jerr.text);
		return -EPROTO;
	}
	*answer = j;
	return 0;
}

/* ---- monitor ------------------------------------------------------------- */

struct sn_control_monitor {
	int fd;
	char buf[SN_CONTROL_MAX_EVENT];
	size_t start, have; /* unread bytes: buf[start, have) */
	bool skipping;	    /* inside a line too long to keep */
	json_t *cur;	    /* the event returned last */
};

int sn_control_monitor_open(const char *path, struct sn_control_monitor **out)
{
	struct sn_control_monitor *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	err = open_and_send(path, SN_CONTROL_CMD_MONITOR, &m->fd);
	if (err) {
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

int sn_control_monitor_next(struct sn_control_monitor *m,
			    struct sn_control_event *ev, const char **line)
{
	json_decref(m->cur);
	m->cur = NULL;
	for (;;) {
		char *s = m->buf + m->start;
		char *nl = memchr(s, '\n', m->have - m->start);
		ssize_t r;

		if (nl) {
			bool skip = m->skipping;
			json_t *j;

			*nl = '\0';
			m->start = (size_t)(nl + 1 - m->buf);
			m->skipping = false;
			if (skip)
				continue;
			j = json_loads(s, 0, NULL);
			if (j && !sn_control_event_decode(j, ev)) {
				m->cur = j;
				*line = s;
				return 0;
			}
			json_decref(j); /* not a JSON object: skip it */
			continue;
		}
		/* no full line: keep the partial one at the start */
		memmove(m->buf, s, m->have - m->start);
		m->have -= m->start;
		m->start = 0;
		if (m->have == sizeof(m->buf) - 1) {
			m->skipping = true; /* too long: drop it to its end */
			m->have = 0;
		}
		r = read(m->fd, m->buf + m->have, sizeof(m->buf) - 1 - m->have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ENODATA;
		m->have += (size_t)r;
		m->buf[m->have] = '\0';
	}
}

void sn_control_monitor_close(struct sn_control_monitor *m)
{
	if (!m)
		return;
	json_decref(m->cur);
	close(m->fd);
	free(m);
}
