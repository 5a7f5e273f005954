/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The options every command that asks sealnetd takes (status, monitor):
 * --socket PATH and --json, the first two entries of its option table.
 *
 *   enum { OPT_COUNT = SN_CLI_N_CONTROL_OPTS };
 *   static const struct sn_cli_opt opts[] = {
 *       SN_CLI_CONTROL_OPTS("one JSON object per line"),
 *       [OPT_COUNT] = { "count", 0, "N", "exit after N events" },
 *       { 0 },
 *   };
 *   struct sn_cli_control ctl = SN_CLI_CONTROL_INIT;
 *
 *   while ((c = sn_cli_next(&a)) >= 0)
 *       if (!sn_cli_control_opt(&ctl, &a, c) && c == OPT_COUNT) ...
 */
#ifndef SEALNET_CLI_CONTROL_OPTS_H
#define SEALNET_CLI_CONTROL_OPTS_H

#include <stdbool.h>

#include "sealnet/control.h"
#include "args.h"

enum { SN_CLI_OPT_SOCKET, SN_CLI_OPT_JSON, SN_CLI_N_CONTROL_OPTS };

#define SN_CLI_CONTROL_OPTS(json_help)                                        \
	[SN_CLI_OPT_SOCKET] = { "socket", 0, "PATH",                           \
				"control socket (default "                     \
				SN_CONTROL_SOCKET_DEFAULT ")" },               \
	[SN_CLI_OPT_JSON] = { "json", 0, NULL, json_help }

struct sn_cli_control {
	const char *socket; /* --socket, or the default */
	bool json;	    /* --json */
};

#define SN_CLI_CONTROL_INIT { .socket = SN_CONTROL_SOCKET_DEFAULT }

/* Take option c if it is --socket or --json (true); false for the
 * command's own options. */
static inline bool sn_cli_control_opt(struct sn_cli_control *ctl,
				      const struct sn_cli_args *a, int c)
{
	if (c == SN_CLI_OPT_SOCKET)
		ctl->socket = a->optarg;
	else if (c == SN_CLI_OPT_JSON)
		ctl->json = true;
	else
		return false;
	return true;
}

#endif
