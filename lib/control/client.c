// SPDX-License-Identifier: Apache-2.0
/* Control-socket client: one request, one JSON line back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sealnet/control.h"
#include "sealnet/log.h"

int sn_control_connect(const char *path, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
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

int sn_control_request(const char *path, const char *cmd, json_t **reply)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_error_t jerr;
	json_t *j;
	char req[256];
	int fd, err, n;

	err = sn_control_connect(path, &fd);
	if (err)
		return err;
	n = snprintf(req, sizeof(req), "{\"cmd\": \"%s\"}\n", cmd);
	if (write(fd, req, (size_t)n) != n) {
		err = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len + 4096 > cap) {
			char *p = realloc(buf, cap + 65536);

			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			buf = p;
			cap += 65536;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > (16u << 20)) {
			err = -EFBIG;
			goto out;
		}
	}
	if (!buf) {
		err = -EPROTO;
		goto out;
	}
	buf[len] = '\0';
	j = json_loads(buf, 0, &jerr);
	if (!j) {
		sn_err("control socket %s: bad answer: %s", path, jerr.text);
		err = -EPROTO;
		goto out;
	}
	*reply = j;
	err = 0;
out:
	free(buf);
	close(fd);
	return err;
}
