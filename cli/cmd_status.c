// SPDX-License-Identifier: Apache-2.0
/* sealnet status: ask a running sealnetd for its state (control socket). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sealnet/control.h"
#include "commands.h"

int cmd_status(int argc, char **argv)
{
	const char *sock = SN_CONTROL_SOCKET_DEFAULT;
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: sealnet status [--socket PATH] [--json]\n\n"
			       "Show the running sealnetd's interface, data-plane measurement\n"
			       "(measured or TAMPERED), and per peer: MAKE state, key epoch,\n"
			       "the last failure and evidence rejection with their reasons,\n"
			       "counters; then the per-reason drop counters. No key material.\n\n"
			       "  --socket PATH  control socket (default %s)\n"
			       "  --json         print the raw JSON answer\n",
			       SN_CONTROL_SOCKET_DEFAULT);
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			fprintf(stderr, "sealnet status: unknown argument '%s' (see --help)\n",
				argv[i]);
			return 2;
		}
	}
	return sn_cli_print_status(sock, json, stdout);
}
