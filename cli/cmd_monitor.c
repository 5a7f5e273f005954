// SPDX-License-Identifier: Apache-2.0
/* sealnet monitor: live drop events from sealnetd, one line each. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/control.h"
#include "commands.h"

static const char *str(const char *s)
{
	return s ? s : "-";
}

static void print_human(const struct sn_control_event *ev)
{
	switch (ev->kind) {
	case SN_CONTROL_EV_DROP:
		printf("drop %-15s %-7s %s:%u -> %s:%u proto %u peer %" PRIu32
		       "  (%s)\n",
		       str(ev->reason), sn_control_dir_name(ev->ingress),
		       str(ev->src), ev->sport, str(ev->dst), ev->dport,
		       ev->proto, ev->peer_id, str(ev->text));
		break;
	case SN_CONTROL_EV_HELLO:
		printf("monitoring node %s\n", str(ev->node));
		break;
	case SN_CONTROL_EV_TAMPERED:
		printf("DATA PLANE TAMPERED: %s\n", str(ev->text));
		break;
	case SN_CONTROL_EV_ERROR:
		fprintf(stderr, "sealnet monitor: sealnetd says: %s\n",
			ev->error);
		break;
	default:
		/* MAKE events (keys, make-failed, cut-off), and peer events
		 * of a newer sealnetd */
		if (ev->name && ev->peer)
			printf("%-4s %-15s peer %s epoch %" PRId64 "  %s\n",
			       ev->kind == SN_CONTROL_EV_KEYS ? "make" : "peer",
			       ev->name, ev->peer, ev->epoch, str(ev->text));
		break;
	}
	fflush(stdout);
}

int cmd_monitor(int argc, char **argv)
{
	const char *sock = SN_CONTROL_SOCKET_DEFAULT;
	struct sn_control_monitor *m = NULL;
	struct sn_control_event ev;
	int json = 0, err;
	long count = -1;
	const char *line;

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
	err = sn_control_monitor_open(sock, &m);
	if (err) {
		fprintf(stderr, "sealnet monitor: cannot connect to %s: %s (is sealnetd running?)\n",
			sock, strerror(-err));
		return 1;
	}
	while (!(err = sn_control_monitor_next(m, &ev, &line))) {
		if (json) {
			printf("%s\n", line);
			fflush(stdout);
		} else {
			print_human(&ev);
		}
		if (ev.kind == SN_CONTROL_EV_DROP && count > 0 && --count == 0)
			break;
	}
	sn_control_monitor_close(m);
	return 0;
}
