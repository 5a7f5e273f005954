// SPDX-License-Identifier: Apache-2.0
/* sealnet deploy: the local cluster's namespaces, sealnetd processes and
 * state file (cli/deploy.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deploy.h"
#include "workflow.h"

volatile sig_atomic_t dp_interrupted;
static struct timespec t0;

void dp_clock_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

double dp_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

int dp_run(char *const argv[], const char *input)
{
	return dp_run_capture(argv, input, NULL, 0);
}

int dp_run_capture(char *const argv[], const char *input, char *out, size_t cap)
{
	int pfd[2] = {-1, -1}, ofd[2] = {-1, -1}, st;
	pid_t pid;

	if (input && pipe2(pfd, O_CLOEXEC))
		return -errno;
	if (out && pipe2(ofd, O_CLOEXEC)) {
		if (input) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		if (input) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return e;
	}
	if (!pid) {
		if (input) {
			dup2(pfd[0], 0);
		} else {
			int fd = open("/dev/null", O_RDONLY);

			if (fd >= 0)
				dup2(fd, 0);
		}
		if (out) {
			dup2(ofd[1], 1);
		} else {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0)
				dup2(fd, 1);
		}
		/* not in the terminal's process group: Ctrl-C is ours */
		setpgid(0, 0);
		execvp(argv[0], argv);
		fprintf(stderr, "sealnet deploy: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	if (input) {
		size_t n = strlen(input), off = 0;

		close(pfd[0]);
		while (off < n) {
			ssize_t w = write(pfd[1], input + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		close(pfd[1]);
	}
	if (out) {
		size_t off = 0;
		ssize_t r;

		close(ofd[1]);
		while ((r = read(ofd[0], out + off, cap - 1 - off)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			off += (size_t)r;
			if (off + 1 >= cap)
				break;
		}
		out[off] = 0;
		close(ofd[0]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

/* ---- state file ------------------------------------------------------ */

static void path_join(char *out, size_t cap, const char *a, const char *b)
{
	snprintf(out, cap, "%s/%s", a, b);
}

int dp_state_save(const struct dp_cluster *c)
{
	json_t *o = json_object(), *ns = json_array();
	char path[DP_PATH_MAX + 16], *text = NULL;
	int err = -ENOMEM;

	if (!o || !ns)
		goto out;
	json_object_set_new(o, "tag", json_string(c->tag));
	json_object_set_new(o, "manifest_digest", json_string(c->digest_hex));
	json_object_set_new(o, "switch_netns",
			    c->sw_made ? json_string(c->sw_ns) : json_null());
	for (size_t i = 0; i < c->n_nodes; i++) {
		const struct dp_node *n = &c->nodes[i];
		json_t *e =
			json_pack("{s:s, s:s, s:s, s:b, s:I}", "name", n->name,
				  "netns", n->ns, "dir", n->dir, "netns_made",
				  n->ns_made, "pid", (json_int_t)n->pid);

		if (!e || json_array_append_new(ns, e))
			goto out;
	}
	json_object_set(o, "nodes", ns);
	{
		json_t *cg = json_array();

		for (size_t i = 0; i < c->n_cgroups; i++)
			json_array_append_new(cg, json_string(c->cgroups[i]));
		json_object_set_new(o, "cgroups", cg);
	}
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		goto out;
	path_join(path, sizeof(path), c->state, "deploy.json");
	err = wf_write_file(path, text, 0600) ? -EIO : 0;
out:
	free(text);
	json_decref(ns);
	json_decref(o);
	return err;
}

int dp_state_load(struct dp_cluster *c)
{
	char path[DP_PATH_MAX + 16];
	json_error_t je;
	json_t *o, *nodes, *e;
	size_t i;

	path_join(path, sizeof(path), c->state, "deploy.json");
	o = json_load_file(path, 0, &je);
	if (!o)
		return access(path, F_OK) ? -ENOENT : -EINVAL;
	nodes = json_object_get(o, "nodes");
	if (!json_is_array(nodes) ||
	    !json_is_string(json_object_get(o, "manifest_digest"))) {
		json_decref(o);
		return -EINVAL;
	}
	snprintf(c->tag, sizeof(c->tag), "%s",
		 json_string_value(json_object_get(o, "tag")) ?: "");
	snprintf(c->digest_hex, sizeof(c->digest_hex), "%s",
		 json_string_value(json_object_get(o, "manifest_digest")));
	if (json_is_string(json_object_get(o, "switch_netns"))) {
		snprintf(c->sw_ns, sizeof(c->sw_ns), "%s",
			 json_string_value(json_object_get(o, "switch_netns")));
		c->sw_made = true;
	}
	c->nodes = calloc(json_array_size(nodes) + 1, sizeof(*c->nodes));
	if (!c->nodes) {
		json_decref(o);
		return -ENOMEM;
	}
	json_array_foreach(nodes, i, e)
	{
		struct dp_node *n = &c->nodes[i];

		snprintf(n->name, sizeof(n->name), "%s",
			 json_string_value(json_object_get(e, "name")) ?: "");
		snprintf(n->ns, sizeof(n->ns), "%s",
			 json_string_value(json_object_get(e, "netns")) ?: "");
		if ((size_t)snprintf(
			    n->dir, sizeof(n->dir), "%s",
			    json_string_value(json_object_get(e, "dir")) ?:
				    "") >= sizeof(n->dir) ||
		    (size_t)snprintf(n->sock, sizeof(n->sock),
				     "%s/sealnetd.sock",
				     n->dir) >= sizeof(n->sock)) {
			/* a path this long was never written by deploy:
			 * refuse rather than act on a truncated one */
			free(c->nodes);
			c->nodes = NULL;
			json_decref(o);
			return -EINVAL;
		}
		n->ns_made = json_is_true(json_object_get(e, "netns_made"));
		n->pid = (pid_t)json_integer_value(json_object_get(e, "pid"));
	}
	c->n_nodes = json_array_size(nodes);
	{
		json_t *cg = json_object_get(o, "cgroups");
		size_t m = json_array_size(cg);

		c->cgroups = m ? calloc(m, sizeof(*c->cgroups)) : NULL;
		for (size_t k = 0; c->cgroups && k < m; k++)
			if (json_is_string(json_array_get(cg, k)))
				snprintf(c->cgroups[c->n_cgroups++],
					 SN_WF_TEXT_MAX, "%s",
					 json_string_value(
						 json_array_get(cg, k)));
	}
	json_decref(o);
	return 0;
}

/* ---- namespaces ------------------------------------------------------ */

static bool ns_exists(const char *ns)
{
	char p[160];

	snprintf(p, sizeof(p), "/run/netns/%s", ns);
	return !access(p, F_OK);
}

/* the inode of the named namespace (0: none); only a mounted network
 * namespace (nsfs), so that no other inode is ever taken for one */
static ino_t ns_ino(const char *ns)
{
	char p[160];
	struct statfs sf;
	struct stat st;

	if (!ns[0] || strchr(ns, '/'))
		return 0;
	snprintf(p, sizeof(p), "/run/netns/%s", ns);
	if (statfs(p, &sf) || sf.f_type != NSFS_MAGIC || stat(p, &st))
		return 0;
	return st.st_ino;
}

/* append to a growing batch text */
static int addf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int addf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0,
			      fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (*buf && *len + (size_t)n < *cap) {
			*len += (size_t)n;
			return 0;
		}
		size_t nc = (*cap ? *cap * 2 : 4096) + (size_t)n;
		char *nb = realloc(*buf, nc);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = nc;
	}
}

int dp_make_netns(struct dp_cluster *c, const struct sn_workflow *wf)
{
	char *b = NULL;
	size_t len = 0, cap = 0;
	bool sw_new = !ns_exists(c->sw_ns), any = false;
	bool *fresh = calloc(c->n_nodes + 1, sizeof(*fresh));
	int err;

	if (!fresh)
		return -ENOMEM;

	/* recorded first: an interrupt in between finds them */
	if (sw_new)
		c->sw_made = true;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (!ns_exists(c->nodes[i].ns))
			c->nodes[i].ns_made = false;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (!c->nodes[i].ns_made)
			c->nodes[i].ns_made = fresh[i] = any = true;
	err = !sw_new && !any ? 0 : dp_state_save(c);
	if (err || (!sw_new && !any))
		goto out;
	/* 1. the namespaces, one ip run */
	if (sw_new)
		addf(&b, &len, &cap, "netns add %s\n", c->sw_ns);
	for (size_t i = 0; i < c->n_nodes; i++)
		if (!ns_exists(c->nodes[i].ns))
			addf(&b, &len, &cap, "netns add %s\n", c->nodes[i].ns);
	if (len) {
		char *argv[] = {"ip", "-batch", "-", NULL};

		err = dp_run(argv, b);
		if (err)
			goto out;
	}
	/* 2. the bridge and every veth, in the switch namespace; a node
	 * without its eth0 gets one */
	len = 0;
	if (sw_new)
		addf(&b, &len, &cap,
		     "link add br0 type bridge forward_delay 0 stp_state 0\n"
		     "link set br0 up\n");
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (!fresh[i])
			continue;
		addf(&b, &len, &cap,
		     "link add v%zu type veth peer name eth0 netns %s\n"
		     "link set v%zu master br0 up\n",
		     i, c->nodes[i].ns, i);
	}
	{
		char *argv[] = {"ip", "-n", c->sw_ns, "-batch", "-", NULL};

		err = dp_run(argv, b);
		if (err)
			goto out;
	}
	/* 3. each node: lo, address, eth0 up */
	for (size_t i = 0; i < c->n_nodes && !dp_interrupted; i++) {
		if (!fresh[i])
			continue;
		char a[INET_ADDRSTRLEN];
		struct in_addr ia = {.s_addr = wf->nodes[i].addr};
		char *argv[] = {"ip",	  "-n", c->nodes[i].ns,
				"-batch", "-",	NULL};

		inet_ntop(AF_INET, &ia, a, sizeof(a));
		len = 0;
		addf(&b, &len, &cap,
		     "link set lo up\naddr replace %s/15 dev eth0\n"
		     "link set eth0 up\n",
		     a);
		err = dp_run(argv, b);
		if (err)
			goto out;
	}
	err = dp_interrupted ? -EINTR : 0;
out:
	free(fresh);
	free(b);
	return err;
}

/* ---- stage cgroups ------------------------------------------------- */

bool dp_in_cgroup2(const char *path)
{
	char parent[SN_WF_TEXT_MAX];
	struct statfs sf;
	char *sl;

	snprintf(parent, sizeof(parent), "%s", path);
	sl = strrchr(parent, '/');
	if (!sl || sl == parent || strstr(path, "/../") || !strcmp(sl, "/..") ||
	    !strcmp(sl, "/.") || !sl[1])
		return false;
	*sl = 0;
	return !statfs(parent, &sf) && sf.f_type == CGROUP2_SUPER_MAGIC;
}

int dp_make_cgroups(struct dp_cluster *c, const struct sn_workflow *wf,
		    bool record, const char **bad)
{
	for (size_t i = 0; i < wf->n_stages; i++) {
		const char *cg = wf->stages[i].cgroup;
		struct stat st;

		if (!cg[0] || !stat(cg, &st))
			continue; /* none, or there (not ours to remove) */
		if (!dp_in_cgroup2(cg)) {
			*bad = cg;
			return -EPERM;
		}
		void *n = realloc(c->cgroups,
				  (c->n_cgroups + 1) * sizeof(*c->cgroups));

		if (!n)
			return -ENOMEM;
		c->cgroups = n;
		snprintf(c->cgroups[c->n_cgroups++], SN_WF_TEXT_MAX, "%s", cg);
		int err = record ? dp_state_save(c) : 0;

		if (err)
			return err;
		if (mkdir(cg, 0755)) {
			*bad = cg;
			return -errno;
		}
	}
	return 0;
}

/* ---- sealnetd -------------------------------------------------------- */

int dp_spawn_sealnetd(struct dp_cluster *c, size_t i, const char *sealnetd)
{
	struct dp_node *n = &c->nodes[i];
	char cfg[DP_PATH_MAX + 32], log[DP_PATH_MAX + 32];
	pid_t pid;
	int fd;

	snprintf(cfg, sizeof(cfg), "%s/sealnetd.json", n->dir);
	snprintf(log, sizeof(log), "%s/sealnetd.log", n->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY);

		/* its own session: outlives deploy, no terminal signals */
		setsid();
		if (nul >= 0)
			dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		/* ip netns exec: setns, and /sys of the namespace (sealnetd
		 * reads and writes its interface's /sys files) */
		execlp("ip", "ip", "netns", "exec", n->ns, sealnetd, "--config",
		       cfg, (char *)NULL);
		_exit(127);
	}
	close(fd);
	n->pid = pid;
	n->child = true;
	return dp_state_save(c);
}

bool dp_node_alive(struct dp_node *n)
{
	char p[64], buf[512];
	struct stat st;
	ssize_t r;
	int fd;

	if (n->pid <= 0)
		return false;
	if (n->child) {
		/* started by this run: exact, by waitpid */
		if (waitpid(n->pid, NULL, WNOHANG) == 0)
			return true;
		n->child = false;
		n->pid = 0;
		return false;
	}
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)n->pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return false;
	buf[r] = 0;
	char *rp = strrchr(buf, ')');

	if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
		return false;
	/* the pid is still the sealnetd recorded: it lives in the node's
	 * namespace (a reused pid would not) */
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)n->pid);
	if (stat(p, &st))
		return false;
	return st.st_ino == ns_ino(n->ns);
}

/* kill -9 every process left in one of the namespaces (by inode) */
static void kill_ns_procs(const struct dp_cluster *c)
{
	ino_t *inos = calloc(c->n_nodes + 1, sizeof(*inos));
	DIR *d;
	struct dirent *e;

	if (!inos)
		return;
	for (size_t i = 0; i < c->n_nodes; i++)
		inos[i] = ns_ino(c->nodes[i].ns);
	inos[c->n_nodes] = ns_ino(c->sw_ns);
	d = opendir("/proc");
	while (d && (e = readdir(d))) {
		char p[300];
		struct stat st;
		int pid = atoi(e->d_name);

		if (pid <= 1 || pid == getpid())
			continue;
		snprintf(p, sizeof(p), "/proc/%d/ns/net", pid);
		if (stat(p, &st))
			continue;
		for (size_t i = 0; i <= c->n_nodes; i++)
			if (inos[i] && st.st_ino == inos[i]) {
				kill(pid, SIGKILL);
				break;
			}
	}
	if (d)
		closedir(d);
	free(inos);
}

static void rm_tree(const char *path)
{
	char *argv[] = {"rm", "-rf", "--one-file-system", (char *)path, NULL};

	dp_run(argv, NULL);
}

/* Only what deploy itself names is removed, whatever deploy.json says:
 * namespaces sndp-*, node directories STATE/nodes/NAME, cgroup
 * directories in a cgroup v2 file system. */
static bool our_ns(const char *ns)
{
	return !strncmp(ns, DP_PREFIX, strlen(DP_PREFIX)) && !strchr(ns, '/') &&
	       !strchr(ns, ' ') && !strchr(ns, '\n');
}

static bool our_dir(const struct dp_cluster *c, const char *dir)
{
	char pre[DP_PATH_MAX + 16];
	size_t n;

	n = (size_t)snprintf(pre, sizeof(pre), "%s/nodes/", c->state);
	return !strncmp(dir, pre, n) && dir[n] && !strchr(dir + n, '/') &&
	       strcmp(dir + n, "..") && strcmp(dir + n, ".");
}

static void sanitize(struct dp_cluster *c, bool quiet)
{
	for (size_t i = 0; i < c->n_nodes; i++) {
		struct dp_node *n = &c->nodes[i];

		if (n->ns[0] && !our_ns(n->ns)) {
			if (!quiet)
				fprintf(stderr,
					"sealnet: deploy.json names namespace "
					"'%s', not one of deploy's (" DP_PREFIX
					"*): left alone\n",
					n->ns);
			n->ns[0] = 0;
			n->pid = 0; /* its liveness check needs the namespace */
		}
		if (n->dir[0] && !our_dir(c, n->dir)) {
			if (!quiet)
				fprintf(stderr,
					"sealnet: deploy.json names directory "
					"'%s', not under %s/nodes/: left "
					"alone\n",
					n->dir, c->state);
			n->dir[0] = 0;
		}
	}
	if (c->sw_ns[0] && !our_ns(c->sw_ns))
		c->sw_ns[0] = 0;
	for (size_t i = 0; i < c->n_cgroups; i++)
		if (!dp_in_cgroup2(c->cgroups[i]))
			c->cgroups[i][0] = 0;
}

void dp_teardown(struct dp_cluster *c, bool quiet)
{
	char *b = NULL;
	size_t len = 0, cap = 0;

	sanitize(c, quiet);
	for (size_t i = 0; i < c->n_nodes; i++)
		if (dp_node_alive(&c->nodes[i]))
			kill(c->nodes[i].pid, SIGTERM);
	for (int t = 0; t < 50; t++) {
		bool any = false;

		for (size_t i = 0; i < c->n_nodes; i++)
			if (dp_node_alive(&c->nodes[i]))
				any = true;
		if (!any)
			break;
		usleep(100 * 1000);
	}
	for (size_t i = 0; i < c->n_nodes; i++)
		if (dp_node_alive(&c->nodes[i])) {
			if (!quiet)
				fprintf(stderr,
					"sealnet: sealnetd of %s (pid %d) did "
					"not stop in 5 s: killed\n",
					c->nodes[i].name, (int)c->nodes[i].pid);
			kill(c->nodes[i].pid, SIGKILL);
			if (c->nodes[i].child)
				waitpid(c->nodes[i].pid, NULL, 0);
		}
	kill_ns_procs(c);
	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i].ns[0] && ns_exists(c->nodes[i].ns))
			addf(&b, &len, &cap, "netns del %s\n", c->nodes[i].ns);
	if (c->sw_ns[0] && ns_exists(c->sw_ns))
		addf(&b, &len, &cap, "netns del %s\n", c->sw_ns);
	if (len) {
		char *argv[] = {"ip", "-force", "-batch", "-", NULL};

		dp_run(argv, b);
	}
	free(b);
	for (size_t i = 0; i < c->n_nodes; i++) {
		c->nodes[i].pid = 0;
		c->nodes[i].ns_made = false;
		if (c->nodes[i].dir[0])
			rm_tree(c->nodes[i].dir);
	}
	c->sw_made = false;
	for (size_t i = 0; i < c->n_cgroups; i++)
		if (c->cgroups[i][0] && rmdir(c->cgroups[i]) &&
		    errno != ENOENT && !quiet)
			fprintf(stderr,
				"sealnet: cannot remove cgroup %s: %s\n",
				c->cgroups[i], strerror(errno));
	c->n_cgroups = 0;
	if (!c->n_nodes)
		return; /* cgroups only (--print-measurements) */
	{
		char p[DP_PATH_MAX + 16];

		path_join(p, sizeof(p), c->state, "nodes");
		rmdir(p);
		path_join(p, sizeof(p), c->state, "deploy.json");
		unlink(p);
	}
}
