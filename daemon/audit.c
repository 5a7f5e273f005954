// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's audit log: STATE_DIR/audit.jsonl, one JSON object per line,
 * appended and flushed per event: start and stop (with the measurements),
 * keys installed (peer, epoch), MAKE failures with the appraisal reasons,
 * peers cut off, data plane tampered.  Never key material.  Per-packet
 * drops are not audited (they are counters and `sealnet monitor` events).
 *
 * The log is opened below a checked state_dir (owned by root or us, not
 * group/world-writable) with O_NOFOLLOW: a symlink planted in its place is
 * refused, never followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sealnet/config.h"
#include "sealnet/log.h"
#include "sealnetd.h"

int sn_audit_open(struct sealnetd *d)
{
	const char *dir = d->cfg->state_dir;
	char err[768];
	struct stat st;
	int dfd = -1, fd, r;

	if (!dir[0])
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		r = -errno;
		sn_err("state_dir %s: cannot create it: %s", dir, strerror(-r));
		return r;
	}
	/* the directory must be ours alone, and we work below this very
	 * directory (openat): its path may change, not what we checked */
	r = sn_open_private_dir(dir, "state_dir", &dfd, err, sizeof(err));
	if (r) {
		sn_err("%s", err);
		return r;
	}
	/* never follow a link planted in place of the log: it would make us
	 * append to (or create) a file of the planter's choice */
	fd = openat(dfd, "audit.jsonl",
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
			    O_NOCTTY | O_NONBLOCK,
		    0600);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			sn_err("audit log %s/audit.jsonl is a symbolic link: refusing to "
			       "follow it (opened with O_NOFOLLOW); remove it (rm %s/audit.jsonl) "
			       "and find out who planted it",
			       dir, dir);
		else
			sn_err("audit log %s/audit.jsonl: cannot open it: %s", dir,
			       strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		r = -EPERM;
		sn_err("audit log %s/audit.jsonl: not a regular file of ours with one "
		       "link (a FIFO, device or hard link planted there?); move it away "
		       "and restart",
		       dir);
		close(fd);
		goto out;
	}
	if (st.st_mode & 077)
		fchmod(fd, 0600);
	d->audit_fd = fd;
	r = 0;
out:
	close(dfd);
	return r;
}

void sn_audit(struct sealnetd *d, json_t *ev)
{
	char ts[32], *line;
	struct tm tm;
	time_t now = time(NULL);
	size_t n;

	if (d->audit_fd < 0)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(ev, "time", json_string(ts));
	json_object_set_new(ev, "node", json_string(d->cfg->node));
	line = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line)
		return;
	n = strlen(line);
	line[n] = '\n'; /* json_dumps' NUL becomes the newline */
	if (write(d->audit_fd, line, n + 1) != (ssize_t)(n + 1))
		sn_warn("audit log: write failed: %s", strerror(errno));
	free(line);
}

void sn_audit_close(struct sealnetd *d)
{
	if (d->audit_fd >= 0)
		close(d->audit_fd);
	d->audit_fd = -1;
}
