// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's audit log: STATE_DIR/audit.jsonl, one JSON object per line,
 * appended and flushed per event: start and stop (with the measurements),
 * keys installed (peer, epoch), MAKE failures with the appraisal reasons,
 * peers cut off, data plane tampered.  Never key material.  Per-packet
 * drops are not audited (they are counters and `sealnet monitor` events).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sealnet/log.h"
#include "sealnetd.h"

int sn_audit_open(struct sealnetd *d)
{
	char path[512];

	if (!d->cfg->state_dir[0])
		return 0;
	if (mkdir(d->cfg->state_dir, 0700) && errno != EEXIST) {
		sn_err("state_dir %s: cannot create it: %s", d->cfg->state_dir,
		       strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/audit.jsonl", d->cfg->state_dir);
	d->audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			   0600);
	if (d->audit_fd < 0) {
		sn_err("audit log %s: cannot open it: %s", path,
		       strerror(errno));
		return -errno;
	}
	return 0;
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
