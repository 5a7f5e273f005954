// SPDX-License-Identifier: Apache-2.0
/* sealnet version */
#include <stdio.h>

#include "commands.h"

int cmd_version(int argc, char **argv)
{
	if (sn_cli_wants_help(argc, argv)) {
		printf("usage: sealnet version\n\nPrint sealnet's version.\n");
		return 0;
	}
	printf("sealnet %s\n", SEALNET_VERSION);
	return 0;
}
