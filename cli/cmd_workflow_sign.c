// SPDX-License-Identifier: Apache-2.0
/* sealnet workflow keygen | sign | verify */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/util.h"
#include "args.h"
#include "commands.h"
#include "workflow.h"

static const struct sn_cli_spec keygen_spec = {
	.cmd = "sealnet workflow keygen",
	.args = "KEY [PUB]",
	.about = "Make an Ed25519 key pair for signing manifests: the private "
		 "key (PKCS#8\n"
		 "PEM, mode 0600) at KEY, the public key (SubjectPublicKeyInfo "
		 "PEM) at\n"
		 "PUB (default KEY.pub); both refused if they exist.  Prints "
		 "the raw\n"
		 "public key as the manifest lists it:\n"
		 "  { \"id\": \"...\", \"ed25519\": \"<64 hex digits>\" }\n",
	.after = WF_EXIT_TEXT,
};

int wf_cmd_keygen(int argc, char **argv)
{
	uint8_t pub[SN_WF_PUB_LEN];
	char hex[2 * SN_WF_PUB_LEN + 1], *pubpath;
	struct sn_cli_args a;
	int c = sn_cli_parse_plain(&a, &keygen_spec, argc, argv, 1, 2), err;

	if (c)
		return sn_cli_exit(c);
	if (a.optind + 1 < argc) {
		pubpath = strdup(argv[a.optind + 1]);
	} else {
		pubpath = malloc(strlen(argv[a.optind]) + 5);
		if (pubpath)
			sprintf(pubpath, "%s.pub", argv[a.optind]);
	}
	if (!pubpath)
		return WF_EXIT_FAIL;
	err = sn_wf_keygen(argv[a.optind], pubpath, pub);
	if (err) {
		fprintf(stderr,
			"sealnet workflow keygen: cannot write %s / %s: %s%s\n",
			argv[a.optind], pubpath, strerror(-err),
			err == -EEXIST ? " (not overwritten)" : "");
		free(pubpath);
		return WF_EXIT_FAIL;
	}
	sn_hex_encode(pub, sizeof(pub), hex);
	printf("private key %s, public key %s\n\"ed25519\": \"%s\"\n",
	       argv[a.optind], pubpath, hex);
	free(pubpath);
	return WF_EXIT_OK;
}

enum { SIGN_DOMAIN, SIGN_KEY, SIGN_SIG };
static const struct sn_cli_opt sign_opts[] = {
	[SIGN_DOMAIN] = {"domain", 'd', "D", "the domain signing (its id)"},
	[SIGN_KEY] = {"key", 'k', "KEY",
		      "its Ed25519 private key (PEM), one the domain\nlists"},
	[SIGN_SIG] = {"sig", 0, "SIGFILE",
		      "the signature file (default: FILE with .json\n"
		      "replaced by .sig.json)"},
	{0},
};

static const struct sn_cli_spec sign_spec = {
	.cmd = "sealnet workflow sign",
	.args = "FILE",
	.about = "Validate the manifest in FILE and add domain D's signature "
		 "to the\n"
		 "signature file (created if missing; D's earlier signature "
		 "replaced).\n"
		 "A signature file for another digest (the manifest changed) "
		 "is refused:\n"
		 "delete it, every domain signs again.\n",
	.opts = sign_opts,
	.after = WF_EXIT_TEXT,
};

int wf_cmd_sign(int argc, char **argv)
{
	const char *domain = NULL, *key = NULL, *sig = NULL;
	struct sn_wf_diag *d = NULL;
	struct sn_workflow *wf = NULL;
	struct sn_wf_sigset *s = NULL;
	char *defsig = NULL, *txt = NULL;
	struct sn_cli_args a;
	int c, err, rc = WF_EXIT_FAIL;

	sn_cli_args_init(&a, &sign_spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		switch (c) {
		case SIGN_DOMAIN:
			domain = a.optarg;
			break;
		case SIGN_KEY:
			key = a.optarg;
			break;
		case SIGN_SIG:
			sig = a.optarg;
			break;
		}
	c = sn_cli_end(&a, c, 1, 1);
	if (c)
		return sn_cli_exit(c);
	if (!domain || !key)
		return sn_cli_exit(sn_cli_usage_error(&a, "--domain and --key "
							  "are required"));
	c = wf_load(argv[a.optind], &wf);
	if (c)
		return c;
	if (!sig)
		sig = defsig = wf_default_sig_path(argv[a.optind]);
	d = calloc(1, sizeof(*d));
	if (!sig || !d)
		goto out;
	err = sn_wf_sigset_load(sig, &s, d);
	if (err && err != -ENOENT) {
		wf_print_diag(sig, d);
		fprintf(stderr,
			"sealnet workflow sign: %s is not a valid "
			"signature file: fix or delete it\n",
			sig);
		rc = WF_EXIT_BADSIG;
		goto out;
	}
	err = sn_workflow_sign(wf, domain, key, &s, d);
	if (err) {
		wf_print_diag(argv[a.optind], d);
		rc = err == -ESTALE ? WF_EXIT_BADSIG : WF_EXIT_FAIL;
		goto out;
	}
	if (sn_wf_sigset_dump(s, &txt) ||
	    (err = wf_write_file(sig, txt, 0644))) {
		fprintf(stderr, "sealnet workflow sign: cannot write %s\n",
			sig);
		goto out;
	}
	printf("%s: signed for domain %s (%zu signature%s in the file)\n", sig,
	       domain, s->n_sigs, s->n_sigs == 1 ? "" : "s");
	rc = WF_EXIT_OK;
out:
	free(txt);
	free(d);
	free(defsig);
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
	return rc;
}

enum { VERIFY_SIG };
static const struct sn_cli_opt verify_opts[] = {
	[VERIFY_SIG] = {"sig", 0, "SIGFILE",
			"the signature file (default: FILE with .json\n"
			"replaced by .sig.json)"},
	{0},
};

static const struct sn_cli_spec verify_spec = {
	.cmd = "sealnet workflow verify",
	.args = "FILE",
	.about = "Validate the manifest in FILE and check its signatures: "
		 "prints each\n"
		 "domain with signed, missing, bad-signature, key-not-listed "
		 "or\n"
		 "other-manifest.  Valid only when every domain the manifest "
		 "names has\n"
		 "signed its digest with a key that domain lists.\n",
	.opts = verify_opts,
	.after = WF_EXIT_TEXT,
};

int wf_cmd_verify(int argc, char **argv)
{
	struct sn_workflow *wf = NULL;
	const char *sig = NULL;
	char *defsig = NULL;
	struct sn_cli_args a;
	int c;

	sn_cli_args_init(&a, &verify_spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		if (c == VERIFY_SIG)
			sig = a.optarg;
	c = sn_cli_end(&a, c, 1, 1);
	if (c)
		return sn_cli_exit(c);
	c = wf_load(argv[a.optind], &wf);
	if (c)
		return c;
	if (!sig)
		sig = defsig = wf_default_sig_path(argv[a.optind]);
	c = sig ? wf_check_sigs(wf, sig, true) : WF_EXIT_FAIL;
	free(defsig);
	sn_workflow_free(wf);
	return c;
}
