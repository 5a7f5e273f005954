// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs: a domain's verifier and key broker.
 *
 * Not built yet: this binary only answers --help/--version and says so.
 * The key broker (reference values, key release, federation bundles,
 * audit log in SQLite) is tracked as its own issue.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: sealnet-kbs [--help] [--version]\n\n"
		       "The domain key broker. Not implemented in this version:\n"
		       "nodes are keyed by static keys or by peer-to-peer MAKE.\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("sealnet-kbs %s\n", SEALNET_VERSION);
		return 0;
	}
	fprintf(stderr, "sealnet-kbs: the key broker is not implemented in this "
			"version (see --help)\n");
	return 2;
}
