// SPDX-License-Identifier: Apache-2.0
/* sealnet federation export */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealnet/util.h"
#include "args.h"
#include "commands.h"
#include "federation.h"
#include "workflow.h"

enum {
	EX_MANIFEST,
	EX_SIG,
	EX_DOMAIN,
	EX_KEY,
	EX_KBS_KEYS,
	EX_SEQ,
	EX_VALID,
	EX_OUT,
	EX_WITHDRAW,
};
static const struct sn_cli_opt export_opts[] = {
	[EX_MANIFEST] = {"manifest", 'm', "M", "the signed workflow manifest"},
	[EX_SIG] = {"sig", 0, "SIGFILE",
		    "its signature file (default: M with .json\n"
		    "replaced by .sig.json); every domain must have signed"},
	[EX_DOMAIN] = {"domain", 'd', "D", "the domain issuing the bundle"},
	[EX_KEY] = {"key", 'k', "K",
		    "its Ed25519 private key (PEM, mode 0600), one\n"
		    "the manifest lists for D"},
	[EX_KBS_KEYS] = {"kbs-keys", 0, "JWKS",
			 "D's KBS token keys (its GET /keys): 1 or 2\n"
			 "keys, the current one first, then the next"},
	[EX_SEQ] = {"seq", 0, "N",
		    "the sequence number, 1..2^53-1, above the last\n"
		    "bundle's (default: the current Unix time)"},
	[EX_VALID] = {"valid", 0, "S",
		      "valid for S seconds from now (default 86400,\n"
		      "at most 366 days)"},
	[EX_OUT] = {"out", 'o', "FILE",
		    "write the bundle to FILE (default: stdout)"},
	[EX_WITHDRAW] = {"withdraw", 0, NULL,
			 "a withdrawal: a bundle vouching for no stage;\n"
			 "the other domains' KBSs then revoke all of D's\n"
			 "nodes (docs/federation.md)"},
	{0},
};

static const struct sn_cli_spec export_spec = {
	.cmd = "sealnet federation export",
	.about = "Make and sign domain D's trust bundle: its KBS token keys, "
		 "the reference\n"
		 "values of D's stages (from the manifest), a validity period "
		 "starting now\n"
		 "and a sequence number (docs/federation.md).\n",
	.opts = export_opts,
	.after = FED_EXIT_TEXT,
};

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int fed_cmd_export(int argc, char **argv)
{
	const char *manifest = NULL, *sig = NULL, *out = NULL;
	struct sn_fed_export e = {0};
	struct sn_workflow *wf = NULL;
	struct sn_wf_diag *d = NULL;
	uint8_t *mtext = NULL, *jwks = NULL;
	size_t mlen = 0, jlen = 0;
	uint64_t valid = 86400, seq = 0;
	char *defsig = NULL, *bundle = NULL;
	const char *jwks_path = NULL;
	struct sn_cli_args a;
	int c, err, rc = 1;

	sn_cli_args_init(&a, &export_spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		switch (c) {
		case EX_MANIFEST:
			manifest = a.optarg;
			break;
		case EX_SIG:
			sig = a.optarg;
			break;
		case EX_DOMAIN:
			e.domain = a.optarg;
			break;
		case EX_KEY:
			e.key_pem_path = a.optarg;
			break;
		case EX_KBS_KEYS:
			jwks_path = a.optarg;
			break;
		case EX_SEQ:
			if (parse_u64(a.optarg, 1, SN_FED_MAX_SEQUENCE, &seq))
				return sn_cli_exit(sn_cli_usage_error(
					&a, "--seq: an integer 1..2^53-1"));
			break;
		case EX_VALID:
			if (parse_u64(a.optarg, 1, SN_FED_MAX_VALIDITY_S,
				      &valid))
				return sn_cli_exit(sn_cli_usage_error(
					&a, "--valid: seconds, 1..%d",
					SN_FED_MAX_VALIDITY_S));
			break;
		case EX_OUT:
			out = a.optarg;
			break;
		case EX_WITHDRAW:
			e.withdraw = true;
			break;
		}
	c = sn_cli_end(&a, c, 0, 0);
	if (c)
		return sn_cli_exit(c);
	if (!manifest || !e.domain || !e.key_pem_path || !jwks_path)
		return sn_cli_exit(sn_cli_usage_error(
			&a, "--manifest, --domain, --key and --kbs-keys are "
			    "required"));
	c = wf_load(manifest, &wf);
	if (c)
		return c;
	if (!sig)
		sig = defsig = wf_default_sig_path(manifest);
	rc = sig ? wf_check_sigs(wf, sig, false) : 1;
	if (rc) {
		fprintf(stderr,
			"sealnet federation export: %s is not signed by every "
			"domain: a bundle vouches for a signed manifest "
			"only\n",
			manifest);
		goto out;
	}
	rc = 2;
	err = sn_read_file(manifest, SN_WF_MAX_BYTES, &mtext, &mlen);
	if (err) {
		fprintf(stderr,
			"sealnet federation export: cannot read %s: %s\n",
			manifest, strerror(-err));
		goto out;
	}
	err = sn_read_file(jwks_path, 64 * 1024, &jwks, &jlen);
	if (err) {
		fprintf(stderr,
			"sealnet federation export: cannot read the KBS keys "
			"%s: %s (save the KBS's GET /keys there)\n",
			jwks_path, strerror(-err));
		goto out;
	}
	e.jwks_json = (const char *)jwks;
	e.jwks_len = jlen;
	e.not_before = (int64_t)time(NULL);
	e.not_after = e.not_before + (int64_t)valid;
	e.sequence = seq ? seq : (uint64_t)e.not_before;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = 1;
		goto out;
	}
	err = sn_fed_bundle_export(wf, (const char *)mtext, mlen, &e, &bundle,
				   d);
	if (err) {
		wf_print_diag(err == -EINVAL && d->n &&
					      !strcmp(d->errors[0].path, "$") ?
				      jwks_path :
				      manifest,
			      d);
		/* the key refused: 1 (as `workflow sign`); bad input: 2 */
		rc = err == -EINVAL ? 2 : 1;
		goto out;
	}
	if (out) {
		err = wf_write_file(out, bundle, 0644);
		if (err) {
			fprintf(stderr,
				"sealnet federation export: cannot write %s: "
				"%s\n",
				out, strerror(-err));
			rc = 1;
			goto out;
		}
		fprintf(stderr,
			"bundle of domain %s, sequence %" PRIu64
			", valid %" PRIu64 " s: %s\n",
			e.domain, e.sequence, valid, out);
	} else {
		fputs(bundle, stdout);
	}
	rc = 0;
out:
	free(bundle);
	free(d);
	free(mtext);
	free(jwks);
	free(defsig);
	sn_workflow_free(wf);
	return rc;
}
