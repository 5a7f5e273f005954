// SPDX-License-Identifier: Apache-2.0
/* sealnetd: the node agent (foundation: help only, see issue 3). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: sealnetd --config FILE\n");
		return 0;
	}
	fprintf(stderr, "sealnetd: --config FILE is required (see --help)\n");
	return 2;
}
