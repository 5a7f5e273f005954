// SPDX-License-Identifier: Apache-2.0
/* sealnet: the command-line tool.  Dispatches to cli/cmd_*.c (each parses
 * its own options with cli/args.c). */
#include <stdio.h>
#include <string.h>

#include "sealnet/log.h"
#include "commands.h"

static const struct sn_command sn_commands[] = {
	{ "evidence", cmd_evidence, "show, verify and make TEE attestation evidence" },
	{ "sim-tee", cmd_sim_tee, "create a simulated SEV-SNP platform (sim backend)" },
	{ "kbs", cmd_kbs, "the key broker: admin verbs, attest and fetch (sealnet-kbs)" },
	{ "selftest", cmd_selftest, "run the kernel AEAD known-answer self-test" },
	{ "monitor", cmd_monitor, "print live drop and MAKE events of the running sealnetd" },
	{ "status", cmd_status, "show peers, attestation, keys and per-reason drop counters" },
	{ "version", cmd_version, "print the version" },
	{ "deploy", cmd_deploy, "bring a signed workflow up as a local cluster (or --emit)" },
	{ "undeploy", cmd_undeploy, "remove the local cluster deploy created" },
	{ "workflow", cmd_workflow, "the signed workflow manifest: lint, sign, verify, compile" },
	{ "federation", cmd_federation, "trust bundles between domains: export, import, show, verify" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sealnet <command> [options]\n\n"
		   "sealnet: confidential interconnect for attested workflows.\n\n"
		   "commands:\n");
	for (const struct sn_command *c = sn_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'sealnet <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	sn_log_set(sn_log_stderr, "sealnet");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1);
	for (const struct sn_command *c = sn_commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "sealnet: unknown command '%s'; 'sealnet --help' lists them\n",
		argv[1]);
	return 2;
}
