// SPDX-License-Identifier: Apache-2.0
/* sealnet workflow: the signed workflow manifest (docs/workflow.md).
 * Dispatches to cmd_workflow_{lint,sign,compile}.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealnet/util.h"
#include "commands.h"
#include "workflow.h"

static const char usage_main[] =
	"usage: sealnet workflow <subcommand> [options]\n"
	"\n"
	"The workflow manifest: one JSON file describing the whole workflow\n"
	"(domains, nodes, stages, flows), signed by every domain it names\n"
	"(workflow.sig.json next to it).  docs/workflow.md has the format.\n"
	"\n"
	"  init [FILE]                 write a commented example manifest\n"
	"  lint FILE                   check it; every error with its JSON "
	"path\n"
	"  hash FILE                   print its digest (SHA-384, canonical "
	"form)\n"
	"  keygen KEY [PUB]            make an Ed25519 signing key pair\n"
	"  sign FILE --domain D --key K  add domain D's signature\n"
	"  verify FILE                 which domains signed, which are "
	"missing/bad\n"
	"  compile FILE --node N       node N's sealnetd policy (peers, "
	"rules,\n"
	"                              appraisal policies)\n"
	"  graph FILE [--svg OUT]      Graphviz DOT of stages, flows and "
	"domains\n"
	"  apply FILE [SIGFILE] [--socket S]  a running sealnetd takes a new\n"
	"                              version (its exit status: 0/1/2)\n"
	"\n"
	"'sealnet workflow <subcommand> --help' describes each one.\n"
	"\n" WF_EXIT_TEXT;

void wf_print_diag(const char *file, const struct sn_wf_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s: %s: %s\n", file, d->errors[i].path,
			d->errors[i].msg);
	if (d->n_total > d->n)
		fprintf(stderr, "%s: ... and %zu more errors\n", file,
			d->n_total - d->n);
}

int wf_load(const char *file, struct sn_workflow **wf)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return WF_EXIT_FAIL;
	err = sn_workflow_load(file, wf, d);
	if (err) {
		wf_print_diag(file, d);
		if (err == -EINVAL)
			fprintf(stderr, "%s: invalid manifest: %zu error%s\n",
				file, d->n_total, d->n_total == 1 ? "" : "s");
	}
	free(d);
	if (!err)
		return WF_EXIT_OK;
	return err == -EINVAL ? WF_EXIT_INVALID :
	       err == -ENOMEM ? WF_EXIT_FAIL :
				WF_EXIT_USAGE;
}

char *wf_default_sig_path(const char *manifest)
{
	size_t n = strlen(manifest);
	char *p = malloc(n + 16);

	if (!p)
		return NULL;
	strcpy(p, manifest);
	if (n > 5 && !strcmp(p + n - 5, ".json"))
		p[n - 5] = 0;
	strcat(p, ".sig.json");
	return p;
}

int wf_check_sigs(const struct sn_workflow *wf, const char *sig_path,
		  bool verbose)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	struct sn_wf_verify_result r = {0};
	struct sn_wf_sigset *s = NULL;
	int err, rc;

	if (!d)
		return WF_EXIT_FAIL;
	err = sn_wf_sigset_load(sig_path, &s, d);
	if (err == -ENOENT) {
		fprintf(stderr,
			"%s: no signature file: the manifest is unsigned; "
			"every "
			"domain signs it with `sealnet workflow sign`\n",
			sig_path);
		if (verbose)
			for (size_t i = 0; i < wf->n_domains; i++)
				printf("%-24s missing\n", wf->domains[i].id);
		rc = WF_EXIT_UNSIGNED;
		goto out;
	}
	if (err) {
		wf_print_diag(sig_path, d);
		fprintf(stderr,
			"%s: not a valid signature file: treated as a "
			"bad signature\n",
			sig_path);
		rc = err == -ENOMEM ? WF_EXIT_FAIL : WF_EXIT_BADSIG;
		goto out;
	}
	err = sn_workflow_verify_sigs(wf, s, &r, d);
	if (err == -ENOMEM) {
		rc = WF_EXIT_FAIL;
		goto out;
	}
	if (verbose)
		for (size_t i = 0; i < r.n_domains; i++)
			printf("%-24s %s\n", wf->domains[i].id,
			       sn_wf_sig_status_name(r.domain_status[i]));
	wf_print_diag(sig_path, d);
	rc = err == -EBADMSG ? WF_EXIT_BADSIG :
	     err == -ENOKEY  ? WF_EXIT_UNSIGNED :
			       WF_EXIT_OK;
	if (verbose)
		printf("%zu of %zu domains signed%s%s\n", r.n_ok, r.n_domains,
		       r.n_missing ? ", some missing" : "",
		       r.n_bad || r.n_stray ? ", BAD SIGNATURE" : "");
out:
	sn_wf_verify_result_free(&r);
	sn_wf_sigset_free(s);
	free(d);
	return rc;
}

int wf_write_file(const char *path, const char *data, int mode)
{
	size_t n = strlen(path), len = strlen(data);
	char *tmp = malloc(n + 8);
	int fd, err = 0;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, n + 8, "%s.tmp", path);
	unlink(tmp); /* a stale one; O_EXCL: never through a symlink */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd))
		err = -EIO;
	if (close(fd) && !err)
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

int cmd_workflow(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{"init", wf_cmd_init},	     {"lint", wf_cmd_lint},
		{"hash", wf_cmd_hash},	     {"keygen", wf_cmd_keygen},
		{"sign", wf_cmd_sign},	     {"verify", wf_cmd_verify},
		{"compile", wf_cmd_compile}, {"graph", wf_cmd_graph},
		{"apply", wf_cmd_apply},
	};

	if (argc < 2) {
		fputs(usage_main, stderr);
		return WF_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	for (size_t i = 0; i < SN_ARRAY_SIZE(subs); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr,
		"sealnet workflow: unknown subcommand '%s' ('sealnet workflow "
		"--help' lists them)\n",
		argv[1]);
	return WF_EXIT_USAGE;
}
