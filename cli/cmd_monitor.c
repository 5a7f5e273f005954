// SPDX-License-Identifier: Apache-2.0
/* sealnet monitor: live drop events from sealnetd, one line each. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/control.h"
#include "args.h"
#include "commands.h"
#include "control_opts.h"

enum { OPT_COUNT = SN_CLI_N_CONTROL_OPTS };
static const struct sn_cli_opt opts[] = {
	SN_CLI_CONTROL_OPTS("one JSON object per line, as received"),
	[OPT_COUNT] = { "count", 0, "N", "exit after N drop events" },
	{ 0 },
};

static const struct sn_cli_spec spec = {
	.cmd = "sealnet monitor",
	.about = "Print sealnetd's live events, one line each, until\n"
		 "interrupted: drops (reason, direction, addresses, ports),\n"
		 "MAKE events (keys installed, new session, handshake failed\n"
		 "with the appraisal reasons, peer cut off) and data-plane\n"
		 "tampering.\n"
		 "Drop events are rate-limited in the kernel; a line's\n"
		 "'suppressed' field counts those left out before it.\n"
		 "The fields of --json: include/sealnet/control.h.\n",
	.opts = opts,
	.after = "Exit status: 0 the stream ended (or N drops seen), 1 sealnetd\n"
		 "unreachable, 2 bad usage.\n",
};

static void print_human(const struct sn_control_event *ev)
{
	switch (ev->kind) {
	case SN_CONTROL_EV_DROP:
		printf("drop %-15s %-7s %s:%u -> %s:%u proto %u peer %" PRIu32
		       "  (%s)\n",
		       sn_cli_str(ev->reason), sn_control_dir_name(ev->ingress),
		       sn_cli_str(ev->src), ev->sport, sn_cli_str(ev->dst), ev->dport,
		       ev->proto, ev->peer_id, sn_cli_str(ev->text));
		break;
	case SN_CONTROL_EV_HELLO:
		printf("monitoring node %s\n", sn_cli_str(ev->node));
		break;
	case SN_CONTROL_EV_TAMPERED:
		printf("DATA PLANE TAMPERED: %s\n", sn_cli_str(ev->text));
		break;
	case SN_CONTROL_EV_ERROR:
		fprintf(stderr, "sealnet monitor: sealnetd says: %s\n",
			ev->error);
		break;
	default:
		/* MAKE events (keys, make, make-failed, cut-off), and peer
		 * events of a newer sealnetd */
		if (ev->name && ev->peer)
			printf("%-4s %-15s peer %s epoch %" PRId64 "  %s\n",
			       ev->kind == SN_CONTROL_EV_KEYS ? "make" : "peer",
			       ev->name, ev->peer, ev->epoch, sn_cli_str(ev->text));
		break;
	}
	fflush(stdout);
}

int cmd_monitor(int argc, char **argv)
{
	struct sn_cli_control ctl = SN_CLI_CONTROL_INIT;
	struct sn_control_monitor *m = NULL;
	struct sn_control_event ev;
	struct sn_cli_args a;
	long count = -1;
	const char *line;
	int c, err;

	sn_cli_args_init(&a, &spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0) {
		if (sn_cli_control_opt(&ctl, &a, c))
			continue;
		if (c == OPT_COUNT && sn_cli_number(&a, 1, LONG_MAX, &count))
			return 2;
	}
	c = sn_cli_end(&a, c, 0, 0);
	if (c)
		return sn_cli_exit(c);
	err = sn_control_monitor_open(ctl.socket, &m);
	if (err) {
		fprintf(stderr, "sealnet monitor: cannot connect to %s: %s (is sealnetd running?)\n",
			ctl.socket, strerror(-err));
		return 1;
	}
	while (!(err = sn_control_monitor_next(m, &ev, &line))) {
		if (ctl.json) {
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
