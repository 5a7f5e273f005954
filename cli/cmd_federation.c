// SPDX-License-Identifier: Apache-2.0
/* sealnet federation: trust bundles between domains' key brokers
 * (docs/federation.md).  export is in cmd_federation_export.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sealnet/util.h"
#include "args.h"
#include "commands.h"
#include "federation.h"
#include "workflow.h"

static const char usage_main[] =
	"usage: sealnet federation <subcommand> [options]\n"
	"\n"
	"Trust bundles: a domain's signed statement of its KBS token keys and "
	"the\n"
	"reference values it vouches for, for the other domains of a "
	"workflow.\n"
	"docs/federation.md has the format.\n"
	"\n"
	"  export --manifest M --domain D --key K --kbs-keys JWKS [--seq N] "
	"[--valid S]\n"
	"                         make and sign domain D's bundle\n"
	"  show BUNDLE            print it (not verified)\n"
	"  verify BUNDLE --manifest M [--trust-dir DIR]\n"
	"                         check it against the signed manifest (and "
	"the\n"
	"                         last bundle accepted into DIR)\n"
	"  import BUNDLE --manifest M --trust-dir DIR\n"
	"                         verify, then keep it as the domain's bundle "
	"in DIR\n"
	"\n"
	"'sealnet federation <subcommand> --help' describes each one.\n"
	"\n" FED_EXIT_TEXT;

static void fmt_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%" PRId64, t);
}

/* parse a bundle file: 0 and *b, or the exit code (errors printed) */
static int load_bundle(const char *path, struct sn_fed_bundle **b)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return 1;
	err = sn_fed_bundle_load(path, b, d);
	if (err) {
		wf_print_diag(path, d);
		if (err == -EINVAL)
			fprintf(stderr,
				"%s: not a valid trust bundle: %zu "
				"error%s\n",
				path, d->n_total, d->n_total == 1 ? "" : "s");
	}
	free(d);
	return !err ? 0 : err == -EINVAL ? 3 : err == -ENOMEM ? 1 : 2;
}

static const struct sn_cli_spec show_spec = {
	.cmd = "sealnet federation show",
	.args = "BUNDLE",
	.about = "Parse the trust bundle in BUNDLE (strictly) and print its "
		 "fields.  Nothing\n"
		 "is verified: `sealnet federation verify` does that.\n",
	.after = FED_EXIT_TEXT,
};

static int fed_cmd_show(int argc, char **argv)
{
	char nb[32], na[32], dig[2 * SN_WF_DIGEST_LEN + 1],
		fpr[2 * SN_WF_FPR_LEN + 1];
	struct sn_fed_bundle *b = NULL;
	struct sn_cli_args a;
	int c = sn_cli_parse_plain(&a, &show_spec, argc, argv, 1, 1);

	if (c)
		return sn_cli_exit(c);
	c = load_bundle(argv[a.optind], &b);
	if (c)
		return c;
	fmt_time(b->not_before, nb, sizeof(nb));
	fmt_time(b->not_after, na, sizeof(na));
	sn_hex_encode(b->digest, SN_WF_DIGEST_LEN, dig);
	sn_hex_encode(b->key_fpr, SN_WF_FPR_LEN, fpr);
	printf("domain       %s\nworkflow     %s\nsequence     %" PRIu64
	       "\nnot_before   %s (%" PRId64 ")\nnot_after    %s (%" PRId64
	       ")\ntoken key    %s (current)\n",
	       b->domain, b->workflow, b->sequence, nb, b->not_before, na,
	       b->not_after, b->kid_current);
	if (b->key_next)
		printf("token key    %s (next)\n", b->kid_next);
	for (size_t i = 0; i < b->n_stages; i++)
		printf("stage        %s %s\n", b->stages[i].stage,
		       b->stages[i].reference_json);
	printf("signed by    %s\ndigest       %s\n(not verified)\n", fpr, dig);
	sn_fed_bundle_free(b);
	return 0;
}

enum { V_MANIFEST, V_SIG, V_TRUST_DIR, V_NOW };
static const struct sn_cli_opt verify_opts[] = {
	[V_MANIFEST] = {"manifest", 'm', "M", "the signed workflow manifest"},
	[V_SIG] = {"sig", 0, "SIGFILE",
		   "its signature file (default: M with .json\n"
		   "replaced by .sig.json); every domain must have signed"},
	[V_TRUST_DIR] = {"trust-dir", 't', "DIR",
			 "the local trust directory: DIR/<domain>.json is\n"
			 "the domain's last accepted bundle (rollback check)"},
	[V_NOW] = {"now", 0, "T",
		   "check validity at Unix time T instead of the clock\n"
		   "(what-if, tests)"},
	{0},
};

static const struct sn_cli_spec verify_spec = {
	.cmd = "sealnet federation verify",
	.args = "BUNDLE",
	.about = "Check the trust bundle in BUNDLE against the signed "
		 "manifest M, in this\n"
		 "order: format, domain listed, workflow, signing key listed "
		 "for the domain,\n"
		 "signature, stages of the domain, not before, not after, "
		 "sequence (against\n"
		 "DIR/<domain>.json when --trust-dir is given).  Says which "
		 "check refused it.\n",
	.opts = verify_opts,
	.after = FED_EXIT_TEXT,
};

static const struct sn_cli_spec import_spec = {
	.cmd = "sealnet federation import",
	.args = "BUNDLE",
	.about = "Verify the trust bundle in BUNDLE as `verify` does, then "
		 "keep it as the\n"
		 "domain's bundle: DIR/<domain>.json (atomically, mode 0644; "
		 "DIR created\n"
		 "0755 if missing).  A refused bundle leaves DIR unchanged.  "
		 "Importing the\n"
		 "same bundle again is accepted (no change).\n",
	.opts = verify_opts,
	.after = FED_EXIT_TEXT,
};

static char *trust_path(const char *dir, const char *domain)
{
	size_t n = strlen(dir) + strlen(domain) + 8;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s.json", dir, domain);
	return p;
}

static int verify_or_import(int argc, char **argv, bool import)
{
	const struct sn_cli_spec *spec = import ? &import_spec : &verify_spec;
	const char *manifest = NULL, *sig = NULL, *dir = NULL;
	const char *cmd = import ? "import" : "verify";
	struct sn_fed_bundle *b = NULL, *last = NULL;
	struct sn_workflow *wf = NULL;
	struct sn_wf_diag *d = NULL;
	enum sn_fed_status st = SN_FED_OK;
	char *defsig = NULL, *lpath = NULL, na[32];
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int64_t now = (int64_t)time(NULL);
	struct sn_cli_args a;
	struct stat sb;
	int c, err, rc = 1;

	sn_cli_args_init(&a, spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		switch (c) {
		case V_MANIFEST:
			manifest = a.optarg;
			break;
		case V_SIG:
			sig = a.optarg;
			break;
		case V_TRUST_DIR:
			dir = a.optarg;
			break;
		case V_NOW: {
			char *end;

			errno = 0;
			now = strtoll(a.optarg, &end, 10);
			if (errno || end == a.optarg || *end)
				return sn_cli_exit(sn_cli_usage_error(
					&a, "--now: Unix seconds"));
			break;
		}
		}
	c = sn_cli_end(&a, c, 1, 1);
	if (c)
		return sn_cli_exit(c);
	if (!manifest || (import && !dir))
		return sn_cli_exit(sn_cli_usage_error(
			&a, import ? "--manifest and --trust-dir are required" :
				     "--manifest is required"));
	c = load_bundle(argv[a.optind], &b);
	if (c)
		return c;
	rc = wf_load(manifest, &wf);
	if (rc)
		goto out;
	if (!sig)
		sig = defsig = wf_default_sig_path(manifest);
	rc = sig ? wf_check_sigs(wf, sig, false) : 1;
	if (rc) {
		fprintf(stderr,
			"sealnet federation %s: %s is not validly signed by "
			"every domain: its keys cannot be trusted to check a "
			"bundle\n",
			cmd, manifest);
		goto out;
	}
	if (dir) {
		lpath = trust_path(dir, b->domain);
		if (!lpath) {
			rc = 1;
			goto out;
		}
		rc = stat(lpath, &sb) ? 0 : load_bundle(lpath, &last);
		if (rc) {
			fprintf(stderr,
				"sealnet federation %s: the trust directory's "
				"bundle %s is unreadable or corrupt: inspect "
				"it; remove it only if you know the domain's "
				"last sequence\n",
				cmd, lpath);
			goto out;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = 1;
		goto out;
	}
	err = sn_fed_bundle_verify(wf, b, now, last, &st, d);
	if (err) {
		wf_print_diag(argv[a.optind], d);
		fprintf(stderr,
			"%s: REFUSED (%s): bundle of domain '%s', "
			"sequence %" PRIu64 "\n",
			argv[a.optind], sn_fed_status_name(st), b->domain,
			b->sequence);
		rc = FED_EXIT_BASE + (int)st;
		goto out;
	}
	fmt_time(b->not_after, na, sizeof(na));
	if (import) {
		rc = 2;
		err = sn_read_file(argv[a.optind], SN_FED_MAX_BYTES, &raw,
				   &rawlen);
		if (err)
			goto out;
		/* keep exactly the bytes verified, as text */
		if (memchr(raw, 0, rawlen)) {
			rc = 3;
			goto out;
		}
		{
			char *txt = malloc(rawlen + 1);

			if (!txt) {
				rc = 1;
				goto out;
			}
			memcpy(txt, raw, rawlen);
			txt[rawlen] = 0;
			if (mkdir(dir, 0755) && errno != EEXIST)
				err = -errno;
			else
				err = wf_write_file(lpath, txt, 0644);
			free(txt);
		}
		if (err) {
			fprintf(stderr,
				"sealnet federation import: cannot write %s: "
				"%s\n",
				lpath, strerror(-err));
			rc = 1;
			goto out;
		}
	}
	printf("%s: %s bundle of domain '%s', sequence %" PRIu64
	       ", valid until %s%s%s\n",
	       argv[a.optind], import ? "imported" : "valid", b->domain,
	       b->sequence, na, import ? " -> " : "", import ? lpath : "");
	rc = 0;
out:
	free(raw);
	free(d);
	free(lpath);
	free(defsig);
	sn_fed_bundle_free(last);
	sn_fed_bundle_free(b);
	sn_workflow_free(wf);
	return rc;
}

static int fed_cmd_verify(int argc, char **argv)
{
	return verify_or_import(argc, argv, false);
}

static int fed_cmd_import(int argc, char **argv)
{
	return verify_or_import(argc, argv, true);
}

int cmd_federation(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{"export", fed_cmd_export},
		{"show", fed_cmd_show},
		{"verify", fed_cmd_verify},
		{"import", fed_cmd_import},
	};

	if (argc < 2) {
		fputs(usage_main, stderr);
		return 2;
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
		"sealnet federation: unknown subcommand '%s' ('sealnet "
		"federation --help' lists them)\n",
		argv[1]);
	return 2;
}
