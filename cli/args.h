/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's one argument parser: getopt_long driven by a table of options
 * that also writes the command's --help text, so the two cannot disagree.
 *
 *   enum { OPT_SOCKET, OPT_JSON };
 *   static const struct sn_cli_opt opts[] = {
 *       [OPT_SOCKET] = { "socket", 0, "PATH", "control socket" },
 *       [OPT_JSON] = { "json", 0, NULL, "print the raw JSON answer" },
 *       { 0 },
 *   };
 *   static const struct sn_cli_spec spec = { "sealnet status", NULL,
 *       "Show ...", opts, NULL };
 *
 *   struct sn_cli_args a;
 *   int c;
 *
 *   sn_cli_args_init(&a, &spec, argc, argv);
 *   while ((c = sn_cli_next(&a)) >= 0)
 *       switch (c) { case OPT_SOCKET: sock = a.optarg; break; ... }
 *   c = sn_cli_end(&a, c, 0, 1);    (0 to 1 positional arguments)
 *   if (c)
 *       return sn_cli_exit(c);      (--help shown: 0; bad usage: 2)
 *   positional arguments: argv[a.optind .. argc - 1]
 *
 * -h/--help is added to every table.  Errors name the command, the
 * argument and where to look (--help); exit code 2 (cli/commands.h).
 */
#ifndef SEALNET_CLI_ARGS_H
#define SEALNET_CLI_ARGS_H

#include <getopt.h>
#include <stdio.h>

#define SN_CLI_MAX_OPTS 32

struct sn_cli_opt {
	const char *name; /* long name, without "--"; NULL ends the table */
	char short_name;  /* 'q' for -q, or 0 */
	const char *arg;  /* the argument's name in the help ("PATH"); NULL:
			     the option takes none */
	const char *help; /* one line; "\n" starts a continuation line */
};

struct sn_cli_spec {
	const char *cmd;  /* "sealnet status": usage line and messages */
	const char *args; /* positional arguments for the usage line, or NULL */
	const char *about; /* the text between usage and options */
	const struct sn_cli_opt *opts;
	const char *after; /* the text after the options, or NULL */
};

struct sn_cli_args {
	const struct sn_cli_spec *spec;
	int argc;
	char **argv;
	const char *optarg; /* the current option's argument */
	int optind;	    /* after SN_CLI_DONE: the first positional */
	int cur;	    /* index of the current option */
	int n_opts;
	struct option lopts[SN_CLI_MAX_OPTS + 2];
	char sopts[2 * SN_CLI_MAX_OPTS + 8];
};

#define SN_CLI_DONE  (-1) /* no more options */
#define SN_CLI_HELP  (-2) /* --help was printed: exit 0 */
#define SN_CLI_USAGE (-3) /* a usage error was printed: exit 2 */

void sn_cli_args_init(struct sn_cli_args *a, const struct sn_cli_spec *spec,
		      int argc, char **argv);
/* The next option: its index in spec->opts, or SN_CLI_DONE, SN_CLI_HELP,
 * SN_CLI_USAGE. */
int sn_cli_next(struct sn_cli_args *a);
/* The exit code for SN_CLI_HELP (0) and SN_CLI_USAGE (2). */
int sn_cli_exit(int c);

/* For a command without options of its own: parse (--help only) and
 * check that there are min..max positional arguments, from a->optind.
 * 0: go on; SN_CLI_HELP or SN_CLI_USAGE: return sn_cli_exit() of it. */
int sn_cli_parse_plain(struct sn_cli_args *a, const struct sn_cli_spec *spec,
		       int argc, char **argv, int min, int max);

/* After SN_CLI_DONE: check that there are min..max positional arguments
 * (0 or SN_CLI_USAGE, printed). */
int sn_cli_positionals(struct sn_cli_args *a, int min, int max);
/* After the sn_cli_next loop, which ended with c: 0 when it was
 * SN_CLI_DONE and there are min..max positional arguments (go on);
 * otherwise SN_CLI_HELP or SN_CLI_USAGE (printed): return sn_cli_exit()
 * of it. */
int sn_cli_end(struct sn_cli_args *a, int c, int min, int max);
/* The current option's argument as a number in min..max: 0 and *out, or
 * SN_CLI_USAGE (printed). */
int sn_cli_number(struct sn_cli_args *a, long min, long max, long *out);
/* Print "<cmd>: " and the message, then "(see --help)"; SN_CLI_USAGE. */
int sn_cli_usage_error(const struct sn_cli_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The --help text: usage line, about, options, after. */
void sn_cli_help(const struct sn_cli_spec *spec, FILE *f);

#endif
