// SPDX-License-Identifier: Apache-2.0
/* sealnet undeploy: remove the local cluster a state directory records
 * (cli/deploy.h, docs/deploy.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "deploy.h"

enum { O_STATE };
static const struct sn_cli_opt opts[] = {
	[O_STATE] = {"state", 0, "DIR",
		     "state directory (default /run/sealnet/deploy)"},
	{0},
};

static const struct sn_cli_spec spec = {
	.cmd = "sealnet undeploy",
	.about =
		"Remove the local cluster that `sealnet deploy` recorded in "
		"the\n"
		"state directory: stop every sealnetd (SIGTERM, then SIGKILL\n"
		"after 5 s), kill anything else left in its namespaces, "
		"delete\n"
		"the node and switch namespaces (and with them the bridge and\n"
		"the data planes), and remove the per-node files and\n"
		"deploy.json. The simulated TEE platform (DIR/platform) "
		"stays:\n"
		"the manifest names its ARK. docs/deploy.md.\n",
	.opts = opts,
	.after = "Exit status: 0 removed (or nothing recorded), 1 the state "
		 "file\n"
		 "is unreadable, 2 bad usage.\n",
};

int cmd_undeploy(int argc, char **argv)
{
	struct dp_cluster c = {0};
	const char *state = "/run/sealnet/deploy";
	struct sn_cli_args a;
	int ch, err;

	sn_cli_args_init(&a, &spec, argc, argv);
	while ((ch = sn_cli_next(&a)) >= 0)
		if (ch == O_STATE)
			state = a.optarg;
	ch = sn_cli_end(&a, ch, 0, 0);
	if (ch)
		return sn_cli_exit(ch);
	if (!realpath(state, c.state)) {
		printf("nothing deployed in %s (%s)\n", state, strerror(errno));
		return 0;
	}
	err = dp_state_load(&c);
	if (err == -ENOENT) {
		printf("nothing deployed in %s\n", c.state);
		return 0;
	}
	if (err) {
		fprintf(stderr,
			"sealnet undeploy: %s/deploy.json is not a deploy "
			"state file (%s); remove sndp-* namespaces with `ip "
			"netns del` by hand\n",
			c.state, strerror(-err));
		return 1;
	}
	dp_teardown(&c, false);
	printf("undeployed: %zu nodes, their namespaces and the bridge "
	       "removed\n",
	       c.n_nodes);
	free(c.nodes);
	free(c.cgroups);
	return 0;
}
