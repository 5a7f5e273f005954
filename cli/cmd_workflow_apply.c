// SPDX-License-Identifier: Apache-2.0
/* sealnet workflow apply: hand a running sealnetd a new manifest version
 * through its control socket ("workflow-apply", include/sealnet/control.h) */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sealnet/control.h"
#include "args.h"
#include "commands.h"
#include "workflow.h"

enum { APPLY_SOCKET };
static const struct sn_cli_opt apply_opts[] = {
	[APPLY_SOCKET] = {"socket", 0, "PATH",
			  "sealnetd's control socket "
			  "(default\n" SN_CONTROL_SOCKET_DEFAULT ")"},
	{0},
};

static const struct sn_cli_spec apply_spec = {
	.cmd = "sealnet workflow apply",
	.args = "FILE [SIGFILE]",
	.about =
		"Give a running sealnetd (one started from a manifest) a new "
		"version of\n"
		"its manifest: FILE and its signature file SIGFILE (default: "
		"FILE with\n"
		".json replaced by .sig.json), which sealnetd reads itself.  "
		"It checks\n"
		"them as for SIGHUP (every domain signed, a newer version, "
		"the same\n"
		"node, peers and lifetimes), applies the new rules and "
		"appraisal\n"
		"policies, and saves both files over the ones it runs from.  "
		"Prints\n"
		"the result; the details of a refusal are in sealnetd's log.\n",
	.opts = apply_opts,
	.after = "Exit status: 0 applied (or unchanged), 1 refused or failed "
		 "(or no\nanswer), 2 bad usage.\n",
};

static int send_request(const char *sock, const char *line, json_t **ans)
{
	char buf[4096];
	size_t len = strlen(line), off = 0, got = 0, cap = 0;
	char *all = NULL;
	int fd, err;

	err = sn_control_connect(sock, &fd);
	if (err)
		return err;
	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = -errno;
			goto out;
		}
		off += (size_t)w;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		if (got + (size_t)r > 65536) {
			err = -E2BIG;
			goto out;
		}
		if (got + (size_t)r > cap) {
			char *n = realloc(all, cap = got + (size_t)r);

			if (!n) {
				err = -ENOMEM;
				goto out;
			}
			all = n;
		}
		memcpy(all + got, buf, (size_t)r);
		got += (size_t)r;
	}
	*ans = json_loadb(all ? all : "", got, JSON_DISABLE_EOF_CHECK, NULL);
	err = *ans ? 0 : -EPROTO;
out:
	free(all);
	close(fd);
	return err;
}

int wf_cmd_apply(int argc, char **argv)
{
	const char *sock = SN_CONTROL_SOCKET_DEFAULT, *res, *why;
	char mpath[PATH_MAX], spath[PATH_MAX], *defsig = NULL, *line = NULL;
	struct sn_cli_args a;
	json_t *req = NULL, *ans = NULL;
	int c, err, rc = 1;

	sn_cli_args_init(&a, &apply_spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		if (c == APPLY_SOCKET)
			sock = a.optarg;
	c = sn_cli_end(&a, c, 1, 2);
	if (c)
		return sn_cli_exit(c);
	if (a.optind + 1 >= argc)
		defsig = wf_default_sig_path(argv[a.optind]);
	/* sealnetd reads the files itself: absolute paths */
	if (!realpath(argv[a.optind], mpath) ||
	    !realpath(defsig ? defsig : argv[a.optind + 1], spath)) {
		fprintf(stderr, "sealnet workflow apply: %s: %s\n",
			errno == ENOENT ? "no such file" : "cannot resolve",
			defsig ? defsig : argv[argc - 1]);
		free(defsig);
		return 2;
	}
	free(defsig);
	req = json_pack("{ss ss ss}", "cmd", "workflow-apply", "manifest",
			mpath, "signatures", spath);
	line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (line) {
		char *l = realloc(line, strlen(line) + 2);

		if (l)
			strcat(line = l, "\n");
	}
	if (!line)
		goto out;
	err = send_request(sock, line, &ans);
	if (err) {
		fprintf(stderr,
			"sealnet workflow apply: no answer from %s: %s (is "
			"sealnetd running? --socket selects another socket)\n",
			sock, strerror(-err));
		goto out;
	}
	if ((why = json_string_value(json_object_get(ans, "error")))) {
		fprintf(stderr, "sealnet workflow apply: sealnetd: %s\n", why);
		goto out;
	}
	res = json_string_value(json_object_get(ans, "result"));
	why = json_string_value(json_object_get(ans, "reason"));
	printf("%s: %s (running version %lld)%s%s\n", mpath, res ? res : "?",
	       (long long)json_integer_value(json_object_get(ans, "version")),
	       why && why[0] ? ": " : "", why ? why : "");
	rc = res && (!strcmp(res, "ok") || !strcmp(res, "unchanged")) ? 0 : 1;
out:
	free(line);
	json_decref(req);
	json_decref(ans);
	return rc;
}
