// SPDX-License-Identifier: Apache-2.0
/* The CLI's argument parser and --help writer (cli/args.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

static const struct sn_cli_opt help_opt = {"help", 'h', NULL, "show this text"};

static size_t count_opts(const struct sn_cli_spec *spec)
{
	size_t n = 0;

	while (spec->opts && spec->opts[n].name)
		n++;
	return n;
}

void sn_cli_args_init(struct sn_cli_args *a, const struct sn_cli_spec *spec,
		      int argc, char **argv)
{
	size_t n = count_opts(spec), s = 0;

	memset(a, 0, sizeof(*a));
	a->spec = spec;
	a->argc = argc;
	a->argv = argv;
	/* a table over the limit is a programming error: caught by the
	 * tests of every command's --help */
	if (n > SN_CLI_MAX_OPTS)
		abort();
	a->n_opts = (int)n;
	a->sopts[s++] = ':'; /* ':' for a missing argument, '?' unknown */
	for (size_t i = 0; i <= n; i++) {
		const struct sn_cli_opt *o = i < n ? &spec->opts[i] : &help_opt;

		a->lopts[i] = (struct option){
			.name = o->name,
			.has_arg = o->arg ? required_argument : no_argument,
			.val = (int)(i + 256), /* above every short option */
		};
		if (o->short_name) {
			a->sopts[s++] = o->short_name;
			if (o->arg)
				a->sopts[s++] = ':';
		}
	}
	a->sopts[s] = '\0';
	optind = 0; /* a full re-initialisation of getopt (GNU) */
	opterr = 0;
}

/* the index of the option with this short name, or -1 */
static int by_short(const struct sn_cli_args *a, int c)
{
	for (int i = 0; i < a->n_opts; i++)
		if (a->spec->opts[i].short_name == c)
			return i;
	return c == 'h' ? a->n_opts : -1;
}

int sn_cli_usage_error(const struct sn_cli_args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", a->spec->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", a->spec->cmd);
	return SN_CLI_USAGE;
}

int sn_cli_next(struct sn_cli_args *a)
{
	int c = getopt_long(a->argc, a->argv, a->sopts, a->lopts, NULL);
	int i;

	a->optarg = optarg;
	a->optind = optind;
	if (c == -1)
		return SN_CLI_DONE;
	if (c == '?' && optopt >= 256) /* --json=1 */
		return sn_cli_usage_error(a, "option '--%s' takes no argument",
					  a->lopts[optopt - 256].name);
	if (c == '?')
		return sn_cli_usage_error(a, "unknown option '%s'",
					  a->argv[optind - 1]);
	if (c == ':')
		return sn_cli_usage_error(a, "option '%s' needs an argument",
					  a->argv[optind - 1]);
	i = c >= 256 ? c - 256 : by_short(a, c);
	if (i < 0 || i > a->n_opts)
		return sn_cli_usage_error(a, "unknown option '%s'",
					  a->argv[optind - 1]);
	a->cur = i;
	if (i == a->n_opts) {
		sn_cli_help(a->spec, stdout);
		return SN_CLI_HELP;
	}
	return i;
}

int sn_cli_exit(int c)
{
	return c == SN_CLI_HELP ? 0 : 2;
}

int sn_cli_positionals(struct sn_cli_args *a, int min, int max)
{
	int n = a->argc - a->optind;

	if (n > max)
		return sn_cli_usage_error(a, "unexpected argument '%s'",
					  a->argv[a->optind + max]);
	if (n < min)
		return sn_cli_usage_error(a, "missing argument: usage: %s %s",
					  a->spec->cmd,
					  a->spec->args ? a->spec->args : "");
	return 0;
}

int sn_cli_end(struct sn_cli_args *a, int c, int min, int max)
{
	if (c != SN_CLI_DONE)
		return c;
	return sn_cli_positionals(a, min, max);
}

int sn_cli_parse_plain(struct sn_cli_args *a, const struct sn_cli_spec *spec,
		       int argc, char **argv, int min, int max)
{
	int c;

	sn_cli_args_init(a, spec, argc, argv);
	while ((c = sn_cli_next(a)) >= 0)
		; /* no options but --help */
	return sn_cli_end(a, c, min, max);
}

int sn_cli_number(struct sn_cli_args *a, long min, long max, long *out)
{
	const char *name = a->lopts[a->cur].name, *arg = a->optarg;
	char *end;
	long v;

	if (!arg)
		return sn_cli_usage_error(a, "--%s needs a number", name);
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		if (max == LONG_MAX)
			return sn_cli_usage_error(
				a,
				"--%s needs a number of at least %ld, not '%s'",
				name, min, arg);
		return sn_cli_usage_error(
			a, "--%s needs a number from %ld to %ld, not '%s'",
			name, min, max, arg);
	}
	*out = v;
	return 0;
}

/* "-q, --quiet", "    --rounds N" */
static int opt_left(const struct sn_cli_opt *o, char *buf, size_t len)
{
	char sh[5] = "    ";

	if (o->short_name)
		snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
	return snprintf(buf, len, "%s--%s%s%s", sh, o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
}

void sn_cli_help(const struct sn_cli_spec *spec, FILE *f)
{
	size_t n = count_opts(spec);
	int width = 0;
	char left[128];

	fprintf(f, "usage: %s", spec->cmd);
	for (size_t i = 0; i < n; i++) {
		const struct sn_cli_opt *o = &spec->opts[i];

		fprintf(f, " [--%s%s%s]", o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
	}
	if (spec->args)
		fprintf(f, " %s", spec->args);
	fprintf(f, "\n");
	if (spec->about)
		fprintf(f, "\n%s", spec->about);
	for (size_t i = 0; i <= n; i++) {
		int w = opt_left(i < n ? &spec->opts[i] : &help_opt, left,
				 sizeof(left));

		if (w > width)
			width = w;
	}
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; i <= n; i++) {
		const struct sn_cli_opt *o = i < n ? &spec->opts[i] : &help_opt;
		const char *h = o->help ? o->help : "", *nl;

		opt_left(o, left, sizeof(left));
		fprintf(f, "  %-*s  ", width, left);
		while ((nl = strchr(h, '\n'))) {
			fprintf(f, "%.*s\n%*s", (int)(nl - h), h, width + 4,
				"");
			h = nl + 1;
		}
		fprintf(f, "%s\n", h);
	}
	if (spec->after)
		fprintf(f, "\n%s", spec->after);
}
