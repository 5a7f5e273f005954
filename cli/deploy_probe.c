// SPDX-License-Identifier: Apache-2.0
/* sealnet deploy: one probe packet of a manifest flow, sent from the
 * sending node's namespace as the flow's stage (its cgroup or local
 * port), so that the sender's policy allows it and the data plane seals
 * it.  Whether it was sealed and opened is read from the counters
 * (cmd_deploy.c), never assumed from the send. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deploy.h"

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

static int probe_child(const struct sn_workflow *wf, const char *ns,
		       size_t flow, size_t from, size_t to)
{
	const struct sn_wf_flow *f = &wf->flows[flow];
	const struct sn_wf_stage *s = &wf->stages[f->from];
	struct sockaddr_in src = {.sin_family = AF_INET,
				  .sin_addr.s_addr = wf->nodes[from].addr},
			   dst = {.sin_family = AF_INET,
				  .sin_addr.s_addr = wf->nodes[to].addr};
	char p[320];
	int fd, one = 1;

	snprintf(p, sizeof(p), "/run/netns/%s", ns);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		return 3;
	close(fd);
	if (s->cgroup[0]) {
		/* the stage's processes: its cgroup (deploy created it
		 * before sealnetd started, if it was missing) */
		snprintf(p, sizeof(p), "%s/cgroup.procs", s->cgroup);
		fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0)
			return 4;
		close(fd);
	} else if (s->n_local_ports) {
		src.sin_port = htons(s->local_ports[0]);
	}
	dst.sin_port = htons(f->port_first ? f->port_first : 9);
	switch (f->proto) {
	case SN_WF_UDP:
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			return 5;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (void *)&src, sizeof(src)) ||
		    sendto(fd, "sealnet-deploy-probe", 20, 0, (void *)&dst,
			   sizeof(dst)) != 20)
			return 6;
		break;
	case SN_WF_TCP:
		/* a SYN: sealed at the sender's egress, opened at the
		 * receiver's ingress (a listener is not needed) */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return 5;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (void *)&src, sizeof(src)))
			return 6;
		if (connect(fd, (void *)&dst, sizeof(dst)) &&
		    errno != EINPROGRESS)
			return 6;
		break;
	case SN_WF_ICMP: {
		struct icmphdr h = {.type = ICMP_ECHO};

		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		if (fd < 0)
			return 5;
		h.un.echo.id = htons((uint16_t)getpid());
		h.un.echo.sequence = htons(1);
		h.checksum = csum(&h, sizeof(h));
		dst.sin_port = 0;
		if (bind(fd,
			 (void *)&(struct sockaddr_in){.sin_family = AF_INET,
						       .sin_addr =
							       src.sin_addr},
			 sizeof(src)) ||
		    sendto(fd, &h, sizeof(h), 0, (void *)&dst, sizeof(dst)) !=
			    sizeof(h))
			return 6;
		break;
	}
	default:
		return 7;
	}
	close(fd);
	return 0;
}

int dp_probe(const struct sn_workflow *wf, const struct dp_cluster *c,
	     size_t flow, size_t from, size_t to)
{
	const struct sn_wf_stage *s = &wf->stages[wf->flows[flow].from];
	pid_t pid;
	int st;

	/* the probe runs as root: it joins only a directory of a cgroup v2
	 * file system, never a path elsewhere that a manifest names */
	if (s->cgroup[0] && !dp_in_cgroup2(s->cgroup))
		return -EPERM;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(probe_child(wf, c->nodes[from].ns, flow, from, to));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}
