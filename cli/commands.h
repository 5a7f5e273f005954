/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One subcommand per file (cli/cmd_NAME.c), each exporting
 * int cmd_NAME(int argc, char **argv) with argv[0] = the subcommand name,
 * listed in the table of cli/sealnet.c, parsing its options with
 * cli/args.h (whose table also writes its --help).
 * Exit codes: 0 success, 1 the command ran and said no (reject, failure
 * found), 2 bad usage or unreadable input.
 */
#ifndef SEALNET_CLI_COMMANDS_H
#define SEALNET_CLI_COMMANDS_H

struct sn_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* for display: s, or "-" when absent */
static inline const char *sn_cli_str(const char *s)
{
	return s ? s : "-";
}

int cmd_version(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_sim_tee(int argc, char **argv);
int cmd_workflow(int argc, char **argv);
int cmd_kbs(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_undeploy(int argc, char **argv);
int cmd_federation(int argc, char **argv);

#endif
