// SPDX-License-Identifier: Apache-2.0
/* sealnet workflow init | lint | hash */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealnet/util.h"
#include "args.h"
#include "commands.h"
#include "workflow.h"

static const struct sn_cli_spec init_spec = {
	.cmd = "sealnet workflow init",
	.args = "[FILE]",
	.about = "Write a commented example manifest (4 stages, 2 domains, 4 "
		 "nodes) to FILE\n"
		 "(refused if it exists) or to standard output.  Its keys, "
		 "measurements\n"
		 "and ARK hashes are placeholders: replace them, then lint, "
		 "sign, verify.\n",
	.after = WF_EXIT_TEXT,
};

int wf_cmd_init(int argc, char **argv)
{
	struct sn_cli_args a;
	int c = sn_cli_parse_plain(&a, &init_spec, argc, argv, 0, 1), fd;
	size_t len = strlen(sn_workflow_example);

	if (c)
		return sn_cli_exit(c);
	if (a.optind == argc) {
		fputs(sn_workflow_example, stdout);
		return WF_EXIT_OK;
	}
	fd = open(argv[a.optind], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		fprintf(stderr,
			"sealnet workflow init: cannot create %s: %s%s\n",
			argv[a.optind], strerror(errno),
			errno == EEXIST ?
				" (not overwritten: remove it first)" :
				"");
		return WF_EXIT_FAIL;
	}
	if (write(fd, sn_workflow_example, len) != (ssize_t)len) {
		fprintf(stderr, "sealnet workflow init: cannot write %s\n",
			argv[a.optind]);
		close(fd);
		return WF_EXIT_FAIL;
	}
	close(fd);
	printf("wrote %s: replace the placeholders, then `sealnet workflow "
	       "lint %s`\n",
	       argv[a.optind], argv[a.optind]);
	return WF_EXIT_OK;
}

static const struct sn_cli_spec lint_spec = {
	.cmd = "sealnet workflow lint",
	.args = "FILE",
	.about =
		"Check the manifest in FILE and print every error as\n"
		"  FILE: $.json.path: what is wrong and what to do\n"
		"Checked: JSON syntax and the canonical-form rules (integers "
		"only,\n"
		"printable-ASCII strings, no duplicate members), unknown "
		"members,\n"
		"types and lengths (measurements 96 hex digits...), names "
		"resolving\n"
		"(flows to unknown stages, stages on unknown nodes), duplicate "
		"names,\n"
		"ids and addresses, a node in two domains, a stage without "
		"node "
		"or\n"
		"without identity (cgroup/local ports), stages in no flow\n"
		"(unreachable), ports meaning two stages on one node, stages "
		"sharing\n"
		"a node with different reference values, a key listed by two "
		"domains.\n"
		"Signatures are not checked: `sealnet workflow verify`.\n",
	.after = WF_EXIT_TEXT,
};

int wf_cmd_lint(int argc, char **argv)
{
	char hex[2 * SN_WF_DIGEST_LEN + 1];
	struct sn_workflow *wf = NULL;
	struct sn_cli_args a;
	int c = sn_cli_parse_plain(&a, &lint_spec, argc, argv, 1, 1);

	if (c)
		return sn_cli_exit(c);
	c = wf_load(argv[a.optind], &wf);
	if (c)
		return c;
	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, hex);
	printf("%s: ok: workflow %s version %llu, %zu domains, %zu nodes, %zu "
	       "stages, %zu flows\ndigest %s\n",
	       argv[a.optind], wf->name, (unsigned long long)wf->version,
	       wf->n_domains, wf->n_nodes, wf->n_stages, wf->n_flows, hex);
	sn_workflow_free(wf);
	return WF_EXIT_OK;
}

enum { HASH_CANONICAL };
static const struct sn_cli_opt hash_opts[] = {
	[HASH_CANONICAL] = {"canonical", 0, NULL,
			    "print the canonical form instead (the bytes\n"
			    "hashed after the prefix)"},
	{0},
};

static const struct sn_cli_spec hash_spec = {
	.cmd = "sealnet workflow hash",
	.args = "FILE",
	.about = "Validate the manifest in FILE and print its digest: 96 hex "
		 "digits,\n"
		 "SHA-384(\"sealnet-workflow-v1\" NUL || canonical form).  The "
		 "same whatever\n"
		 "the member order, indentation or escapes of the file.  It is "
		 "what the\n"
		 "domains sign and what sealnetd binds into its evidence.\n",
	.opts = hash_opts,
	.after = WF_EXIT_TEXT,
};

int wf_cmd_hash(int argc, char **argv)
{
	char hex[2 * SN_WF_DIGEST_LEN + 1], *canon = NULL;
	struct sn_workflow *wf = NULL;
	bool canonical = false;
	struct sn_cli_args a;
	uint8_t *buf = NULL;
	size_t len, clen;
	int c;

	sn_cli_args_init(&a, &hash_spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		if (c == HASH_CANONICAL)
			canonical = true;
	c = sn_cli_end(&a, c, 1, 1);
	if (c)
		return sn_cli_exit(c);
	c = wf_load(argv[a.optind], &wf);
	if (c)
		return c;
	if (!canonical) {
		sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, hex);
		printf("%s\n", hex);
		sn_workflow_free(wf);
		return WF_EXIT_OK;
	}
	sn_workflow_free(wf);
	if (sn_read_file(argv[a.optind], SN_WF_MAX_BYTES, &buf, &len) ||
	    sn_workflow_canonical((const char *)buf, len, &canon, &clen,
				  NULL)) {
		free(buf);
		return WF_EXIT_FAIL;
	}
	fwrite(canon, 1, clen, stdout);
	free(canon);
	free(buf);
	return WF_EXIT_OK;
}
