// SPDX-License-Identifier: Apache-2.0
/* sealnet monitor: live drop events from sealnetd, one line each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sealnet/control.h"
#include "commands.h"

static void print_human(json_t *j)
{
	const char *ev = json_string_value(json_object_get(j, "event"));

	if (ev && !strcmp(ev, "drop")) {
		printf("drop %-15s %-7s %s:%lld -> %s:%lld proto %lld peer %lld  (%s)\n",
		       json_string_value(json_object_get(j, "reason")),
		       json_string_value(json_object_get(j, "dir")),
		       json_string_value(json_object_get(j, "src")),
		       json_integer_value(json_object_get(j, "sport")),
		       json_string_value(json_object_get(j, "dst")),
		       json_integer_value(json_object_get(j, "dport")),
		       json_integer_value(json_object_get(j, "proto")),
		       json_integer_value(json_object_get(j, "peer")),
		       json_string_value(json_object_get(j, "text")));
	} else if (ev && !strcmp(ev, "hello")) {
		printf("monitoring node %s\n",
		       json_string_value(json_object_get(j, "node")));
	} else if (ev && json_object_get(j, "peer") &&
		   json_is_string(json_object_get(j, "peer"))) {
		/* MAKE events: keys, make-failed, cut-off */
		printf("%-4s %-15s peer %s epoch %lld  %s\n",
		       !strcmp(ev, "keys") ? "make" : "peer", ev,
		       json_string_value(json_object_get(j, "peer")),
		       json_integer_value(json_object_get(j, "epoch")),
		       json_string_value(json_object_get(j, "text")));
	} else if (ev && !strcmp(ev, "tampered")) {
		printf("DATA PLANE TAMPERED: %s\n",
		       json_string_value(json_object_get(j, "text")));
	} else if (json_object_get(j, "error")) {
		fprintf(stderr, "sealnet monitor: sealnetd says: %s\n",
			json_string_value(json_object_get(j, "error")));
	}
	fflush(stdout);
}

int cmd_monitor(int argc, char **argv)
{
	const char *sock = SN_CONTROL_SOCKET_DEFAULT;
	int json = 0, fd, err;
	long count = -1;
	char buf[8192];
	size_t have = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: sealnet monitor [--socket PATH] [--json] [--count N]\n\n"
			       "Print sealnetd's live events, one line each, until\n"
			       "interrupted: drops (reason, direction, addresses, ports),\n"
			       "MAKE events (keys installed, handshake failed with the\n"
			       "appraisal reasons, peer cut off) and data-plane tampering.\n"
			       "Drop events are rate-limited in the kernel; a line's\n"
			       "'suppressed' field counts those left out before it.\n\n"
			       "  --socket PATH  control socket (default %s)\n"
			       "  --json         one JSON object per line\n"
			       "  --count N      exit after N drop events\n",
			       SN_CONTROL_SOCKET_DEFAULT);
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			char *end;

			count = strtol(argv[++i], &end, 10);
			if (*end || count <= 0) {
				fprintf(stderr, "sealnet monitor: --count needs a positive number, not '%s'\n",
					argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "sealnet monitor: unknown argument '%s' (see --help)\n",
				argv[i]);
			return 2;
		}
	}
	err = sn_control_connect(sock, &fd);
	if (err) {
		fprintf(stderr, "sealnet monitor: cannot connect to %s: %s (is sealnetd running?)\n",
			sock, strerror(-err));
		return 1;
	}
	if (write(fd, "{\"cmd\": \"monitor\"}\n", 19) != 19) {
		close(fd);
		return 1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have - 1);
		char *nl, *start = buf;

		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		while ((nl = strchr(start, '\n'))) {
			json_t *j;

			*nl = '\0';
			j = json_loads(start, 0, NULL);
			if (j) {
				const char *ev = json_string_value(
					json_object_get(j, "event"));

				if (json) {
					printf("%s\n", start);
					fflush(stdout);
				} else {
					print_human(j);
				}
				if (ev && !strcmp(ev, "drop") && count > 0 &&
				    --count == 0) {
					json_decref(j);
					close(fd);
					return 0;
				}
				json_decref(j);
			}
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have >= sizeof(buf) - 1)
			have = 0; /* an absurd line: drop it */
	}
	close(fd);
	return 0;
}
