// SPDX-License-Identifier: Apache-2.0
/*
 * Receive spreading.  On a device with a single receive queue (veth, many
 * virtual NICs) the kernel processes a received packet on the CPU that
 * queued it; over veth that is the sender's CPU, so one TCP stream's seal
 * (sender) and open (receiver) and both stacks run in one softirq on one
 * CPU while the others idle.  Receive packet steering (rps_cpus) moves the
 * receive side, and sealnet's open, to the other CPUs: measured with
 * bench/profile_tcp on 2 vCPUs, one stream went from 256 to 599 Mbit/s
 * and from 33.4 to 23.1 CPU s/GB.  Devices with several receive queues
 * (RSS) spread by themselves and are left alone, as is a mask an
 * administrator already set.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int queues(const char *ifname, const char *prefix)
{
	char path[128];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, 3);
	closedir(d);
	return n;
}

static int rw_mask(const char *ifname, char *buf, size_t len, bool write_it)
{
	char path[128];
	ssize_t r;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-0/rps_cpus",
		 ifname);
	fd = open(path, write_it ? O_WRONLY | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_it ? write(fd, buf, strlen(buf)) : read(fd, buf, len - 1);
	if (r < 0)
		err = -errno;
	else if (!write_it)
		buf[r] = '\0';
	close(fd);
	return err;
}

/* the all-CPUs mask in sysfs' format: 32-bit hex groups, comma-separated */
static void all_cpus(char *buf, size_t len)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	size_t off = 0;
	int groups;

	if (n < 1)
		n = 1;
	groups = (int)((n + 31) / 32);
	for (int g = groups - 1; g >= 0 && off < len; g--) {
		long bits = n - 32L * g;
		unsigned int m = bits >= 32 ?
					 0xffffffffu :
					 (unsigned int)((1ull << bits) - 1);

		off += (size_t)snprintf(buf + off, len - off, "%s%x",
					g == groups - 1 ? "" : ",", m);
	}
}

static bool mask_is_zero(const char *s)
{
	for (; *s; s++)
		if (*s != '0' && *s != ',' && *s != '\n')
			return false;
	return true;
}

int sn_dp_rps_spread(struct sn_dataplane *dp)
{
	char cur[256], all[256];
	int n = queues(dp->ifname, "rx-"), err;

	if (n != 1)
		return 0; /* RSS, or no sysfs: nothing to do */
	err = rw_mask(dp->ifname, cur, sizeof(cur), false);
	if (err)
		return err;
	all_cpus(all, sizeof(all));
	cur[strcspn(cur, "\n")] = '\0';
	/* our own mask, left by a previous sealnet still attached (killed,
	 * or stopped keyless): ours to restore, like gso_max_segs 1 (an
	 * administrator's identical mask cannot be told apart) */
	if (!strcmp(cur, all) && sn_dp_previous_attached(dp->ifname) > 0) {
		dp->rps_changed = true;
		return 0;
	}
	if (!mask_is_zero(cur))
		return 0;
	err = rw_mask(dp->ifname, all, sizeof(all), true);
	if (!err)
		dp->rps_changed = true;
	return err;
}

bool sn_dp_rps_single_queue(const char *ifname)
{
	return queues(ifname, "rx-") == 1 && queues(ifname, "tx-") == 1;
}

void sn_dp_rps_restore(struct sn_dataplane *dp)
{
	char zero[] = "0";

	if (dp->rps_changed)
		rw_mask(dp->ifname, zero, sizeof(zero), true);
	dp->rps_changed = false;
}
