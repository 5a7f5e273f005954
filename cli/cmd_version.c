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
	int c = sn_cli_parse_plain(&a, &spec, argc, argv, 0, 0);

	if (c)
		return sn_cli_exit(c);
	printf("sealnet %s\n", SEALNET_VERSION);
	return 0;
}
