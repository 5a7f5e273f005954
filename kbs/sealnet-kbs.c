// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs: a domain's verifier and key broker.
 *
 * Not built yet: this binary only answers --help/--version and says so.
 * The key broker (reference values, key release, federation bundles,
 * audit log in SQLite) is tracked as its own issue.
 */
#include <getopt.h>
#include <stdio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: sealnet-kbs [--help] [--version]\n\n"
		   "The domain key broker. Not implemented in this version:\n"
		   "nodes are keyed by static keys or by peer-to-peer MAKE.\n\n"
		   "  -h, --help     this text\n"
		   "      --version  print the version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sealnet-kbs %s\n", SEALNET_VERSION);
			return 0;
		default:
			fprintf(stderr, "sealnet-kbs: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	fprintf(stderr, "sealnet-kbs: the key broker is not implemented in this "
			"version (see --help)\n");
	return 2;
}
