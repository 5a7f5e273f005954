// SPDX-License-Identifier: Apache-2.0
/* cli/args.c: the CLI's option parser and the --help it writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

enum { OPT_SOCKET, OPT_JSON, OPT_COUNT, OPT_QUIET };
static const struct sn_cli_opt opts[] = {
	[OPT_SOCKET] = {"socket", 0, "PATH", "control socket"},
	[OPT_JSON] = {"json", 0, NULL, "print JSON"},
	[OPT_COUNT] = {"count", 'n', "N", "stop after N\nevents"},
	[OPT_QUIET] = {"quiet", 'q', NULL, "say nothing"},
	{0},
};

static const struct sn_cli_spec spec = {
	.cmd = "sealnet test",
	.args = "FILE...",
	.about = "Test the parser.\n",
	.opts = opts,
	.after = "Exit status: 0.\n",
};

struct parsed {
	const char *socket;
	int json, quiet;
	long count;
	int rc;	   /* SN_CLI_DONE, SN_CLI_HELP or SN_CLI_USAGE */
	int first; /* index of the first positional */
};

/* parse a NULL-terminated argument list; argv[0] is the command */
static struct parsed parse(char **argv)
{
	struct parsed p = {.count = -1};
	struct sn_cli_args a;
	int argc = 0, c;

	while (argv[argc])
		argc++;
	sn_cli_args_init(&a, &spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0) {
		switch (c) {
		case OPT_SOCKET:
			p.socket = a.optarg;
			break;
		case OPT_JSON:
			p.json++;
			break;
		case OPT_COUNT:
			if (sn_cli_number(&a, 1, 1000, &p.count)) {
				p.rc = SN_CLI_USAGE;
				return p;
			}
			break;
		case OPT_QUIET:
			p.quiet++;
			break;
		default:
			fail();
		}
	}
	p.rc = c;
	p.first = a.optind;
	return p;
}

#define ARGS(...) ((char *[]){"test", __VA_ARGS__, NULL})

static void test_options(void **state)
{
	struct parsed p;

	p = parse(ARGS("--socket", "/s", "--json", "-q", "-n", "7", "f1"));
	assert_int_equal(p.rc, SN_CLI_DONE);
	assert_string_equal(p.socket, "/s");
	assert_int_equal(p.json, 1);
	assert_int_equal(p.quiet, 1);
	assert_int_equal(p.count, 7);
	assert_int_equal(p.first, 7);

	/* --name=value, -nVALUE, grouped short options, abbreviations */
	p = parse(ARGS("--socket=/t", "-qn3", "--js"));
	assert_int_equal(p.rc, SN_CLI_DONE);
	assert_string_equal(p.socket, "/t");
	assert_int_equal(p.count, 3);
	assert_int_equal(p.quiet, 1);
	assert_int_equal(p.json, 1);

	/* positionals anywhere (permuted to the end); "--" ends options */
	char **v = ARGS("f1", "--json", "f2", "--", "--quiet");
	p = parse(v);
	assert_int_equal(p.rc, SN_CLI_DONE);
	assert_int_equal(p.json, 1);
	assert_int_equal(p.quiet, 0);
	assert_int_equal(p.first, 3);
	assert_string_equal(v[3], "f1");
	assert_string_equal(v[4], "f2");
	assert_string_equal(v[5], "--quiet");

	/* a second parse starts afresh */
	p = parse(ARGS("--quiet"));
	assert_int_equal(p.rc, SN_CLI_DONE);
	assert_int_equal(p.quiet, 1);
	assert_int_equal(p.first, 2);
}

static void test_errors(void **state)
{
	assert_int_equal(parse(ARGS("--bogus")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("-x")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("--socket")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("-n")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("--json=1")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("--count", "0")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("--count", "1001")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("--count", "5x")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("--count", "")).rc, SN_CLI_USAGE);
	assert_int_equal(parse(ARGS("--count", "99999999999999999999")).rc,
			 SN_CLI_USAGE);
	assert_int_equal(sn_cli_exit(SN_CLI_USAGE), 2);
	assert_int_equal(sn_cli_exit(SN_CLI_HELP), 0);
}

static void test_positionals(void **state)
{
	char **v = ARGS("a", "b", "c");
	struct sn_cli_args a;

	sn_cli_args_init(&a, &spec, 4, v);
	assert_int_equal(sn_cli_next(&a), SN_CLI_DONE);
	assert_int_equal(sn_cli_positionals(&a, 1, 3), 0);
	assert_int_equal(sn_cli_positionals(&a, 3, 3), 0);
	assert_int_equal(sn_cli_positionals(&a, 0, 2), SN_CLI_USAGE);
	assert_int_equal(sn_cli_positionals(&a, 4, 5), SN_CLI_USAGE);
	/* sn_cli_end: the loop's end code first, then the positionals */
	assert_int_equal(sn_cli_end(&a, SN_CLI_DONE, 1, 3), 0);
	assert_int_equal(sn_cli_end(&a, SN_CLI_DONE, 0, 2), SN_CLI_USAGE);
	assert_int_equal(sn_cli_end(&a, SN_CLI_HELP, 1, 3), SN_CLI_HELP);
	assert_int_equal(sn_cli_end(&a, SN_CLI_USAGE, 1, 3), SN_CLI_USAGE);
}

static void test_plain(void **state)
{
	struct sn_cli_spec plain = {.cmd = "sealnet plain", .args = "init DIR"};
	struct sn_cli_args a;

	assert_int_equal(
		sn_cli_parse_plain(&a, &plain, 3, ARGS("init", "d"), 2, 2), 0);
	assert_int_equal(a.optind, 1);
	assert_int_equal(sn_cli_parse_plain(&a, &plain, 2, ARGS("init"), 2, 2),
			 SN_CLI_USAGE);
	assert_int_equal(
		sn_cli_parse_plain(&a, &plain, 2, ARGS("--json"), 0, 0),
		SN_CLI_USAGE);
	assert_int_equal(
		sn_cli_parse_plain(&a, &plain, 2, ARGS("--help"), 2, 2),
		SN_CLI_HELP);
}

static const char help_text[] =
	"usage: sealnet test [--socket PATH] [--json] [--count N] [--quiet] "
	"FILE...\n"
	"\n"
	"Test the parser.\n"
	"\n"
	"options:\n"
	"      --socket PATH  control socket\n"
	"      --json         print JSON\n"
	"  -n, --count N      stop after N\n"
	"                     events\n"
	"  -q, --quiet        say nothing\n"
	"  -h, --help         show this text\n"
	"\n"
	"Exit status: 0.\n";

static void test_help(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct sn_cli_spec bare = {.cmd = "sealnet bare"};

	assert_non_null(f);
	sn_cli_help(&spec, f);
	fclose(f);
	assert_string_equal(buf, help_text);
	free(buf);

	f = open_memstream(&buf, &len);
	sn_cli_help(&bare, f);
	fclose(f);
	assert_string_equal(buf, "usage: sealnet bare\n\noptions:\n"
				 "  -h, --help  show this text\n");
	free(buf);

	/* --help and -h print to stdout and say: exit 0 */
	assert_int_equal(parse(ARGS("--json", "--help")).rc, SN_CLI_HELP);
	assert_int_equal(parse(ARGS("-h")).rc, SN_CLI_HELP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_positionals),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
