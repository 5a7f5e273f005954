/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One subcommand per file (cli/cmd_NAME.c), each exporting
 * int cmd_NAME(int argc, char **argv) with argv[0] = the subcommand name.
 * Exit codes: 0 success, 1 the command ran and said no (reject, failure
 * found), 2 bad usage or unreadable input.
 */
#ifndef SEALNET_CLI_COMMANDS_H
#define SEALNET_CLI_COMMANDS_H

#include <stdio.h>

struct sn_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* the table, in cli/sealnet.c */
extern const struct sn_command sn_commands[];

int cmd_version(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_sim_tee(int argc, char **argv);

/* `sealnet status`'s rendering (status_print.c): fetch the status from
 * sealnetd's control socket at path and print it (human table, or the JSON
 * answer).  Returns a CLI exit code (0 ok, 1 daemon unreachable or error). */
int sn_cli_print_status(const char *path, int json, FILE *out);

/* shared by subcommands: true when argv holds -h or --help */
int sn_cli_wants_help(int argc, char **argv);

#endif
