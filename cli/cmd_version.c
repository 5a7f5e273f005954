// SPDX-License-Identifier: Apache-2.0
/* sealnet version */
#include <stdio.h>

#include "args.h"
#include "commands.h"

static const struct sn_cli_spec spec = {
	.cmd = "sealnet version",
	.about = "Print sealnet's version.\n",
};

int cmd_version(int argc, char **argv)
{
	struct sn_cli_args a;
	int c;

	sn_cli_args_init(&a, &spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		;
	if (c != SN_CLI_DONE)
		return sn_cli_exit(c);
	if (sn_cli_positionals(&a, 0, 0))
		return 2;
	printf("sealnet %s\n", SEALNET_VERSION);
	return 0;
}
