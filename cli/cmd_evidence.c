// SPDX-License-Identifier: Apache-2.0
/* sealnet evidence show|verify|make: attestation evidence tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealnet/evidence.h"
#include "sealnet/util.h"
#include "args.h"
#include "commands.h"

#define MAX_FILES 64

static const char usage_main[] =
	"usage: sealnet evidence <show|verify|make> [options]\n"
	"\n"
	"Inspect, verify and produce TEE attestation evidence.\n"
	"\n"
	"  show FILE [--json]      print the claims read from FILE (not "
	"verified)\n"
	"  verify FILE [options]   check authenticity and, with --policy, "
	"appraise\n"
	"  make --backend B ...    produce evidence from a backend (sim, snp, "
	"tdx)\n"
	"\n"
	"'sealnet evidence <subcommand> --help' describes each one.\n"
	"Input formats are detected: raw SNP report (1184 bytes), the same as\n"
	"hex text, configfs-tsm JSON (outblob/auxblob/provider, as written by\n"
	"'evidence make'), TDX DCAP quote v4.  docs/attestation.md has "
	"details.\n";

enum { SHOW_JSON };
static const struct sn_cli_opt show_opts[] = {
	[SHOW_JSON] = { "json", 0, NULL, "print the claims as one JSON object" },
	{ 0 },
};

static const struct sn_cli_spec show_spec = {
	.cmd = "sealnet evidence show",
	.args = "FILE",
	.about = "Print the claims in FILE: TEE type, launch measurement, TCB "
		 "versions,\n"
		 "policy bits, report_data, chip id, and the certificates "
		 "carried.\n"
		 "Nothing is verified: use 'sealnet evidence verify' for that.\n",
	.opts = show_opts,
	.after = "Exit status: 0 printed, 2 FILE unreadable or not evidence.\n",
};

enum { VERIFY_CERT, VERIFY_AT, VERIFY_TDX_COLLATERAL, VERIFY_POLICY,
       VERIFY_JSON };
static const struct sn_cli_opt verify_opts[] = {
	[VERIFY_CERT] = { "cert", 0, "CERT",
			  "extra certificates (VCEK/VLEK, ASK/ASVK, ARK),\n"
			  "DER or PEM, one or more per file, any order;\n"
			  "repeatable.  Certificates inside FILE (auxblob,\n"
			  "TDX PCK chain) are used too." },
	[VERIFY_AT] = { "at", 0, "TIME",
			"check certificate and collateral validity at\n"
			"TIME instead of now; RFC 3339\n"
			"(2025-06-01T00:00:00Z) or a date (2025-06-01)" },
	[VERIFY_TDX_COLLATERAL] = {
		"tdx-collateral", 0, "DIR",
		"TDX: Intel PCS collateral to verify and judge\n"
		"the TCB with: DIR/tcb_info.json,\n"
		"qe_identity.json (PCS v4 bodies),\n"
		"issuer_chain.pem (Intel SGX TCB Signing + Root\n"
		"CA), pck_crl.der, root_crl.der.  Checked:\n"
		"signatures to the pinned Intel root,\n"
		"issueDate..nextUpdate at TIME, CRLs, QE\n"
		"identity, FMSPC; prints the platform and QE TCB\n"
		"status.  Overrides the policy's\n"
		"\"tdx\".\"collateral\"." },
	[VERIFY_POLICY] = {
		"policy", 0, "FILE",
		"also appraise the claims against an appraisal\n"
		"policy (JSON; deny by default: it must name\n"
		"backends, measurements and a TCB floor --\n"
		"min_tcb for snp, tdx.min_tee_tcb_svn and the\n"
		"RTMRs for tdx; see docs/attestation.md); without\n"
		"it only authenticity is checked and a TDX TCB\n"
		"status is printed, not judged.  TDX is accepted\n"
		"only with collateral and an accepted TCB status\n"
		"(default UpToDate).  Simulated (sim) evidence is\n"
		"accepted only by a policy that lists its ARK." },
	[VERIFY_JSON] = { "json", 0, NULL,
			  "print the claims as JSON after the verdict" },
	{ 0 },
};

static const struct sn_cli_spec verify_spec = {
	.cmd = "sealnet evidence verify",
	.args = "FILE",
	.about = "Verify FILE's authenticity: the report/quote signature, the "
		 "chain of\n"
		 "certificates to a vendor root pinned in sealnet (AMD ARK "
		 "Milan/Genoa/\n"
		 "Turin, Intel SGX Root CA), certificate validity at TIME, and "
		 "that the\n"
		 "VCEK's TCB and hwID equal the report's reported_tcb and "
		 "chip_id.\n"
		 "Every problem found is listed, not only the first.\n",
	.opts = verify_opts,
	.after = "Exit status: 0 accepted, 1 rejected (every reason printed), 2 "
		 "bad usage\n"
		 "or unreadable input.\n",
};

enum { MAKE_BACKEND, MAKE_PLATFORM, MAKE_REPORT_DATA, MAKE_MEASURE,
       MAKE_MLOG, MAKE_TSM_ROOT, MAKE_OUTPUT };
static const struct sn_cli_opt make_opts[] = {
	[MAKE_BACKEND] = { "backend", 0, "B",
			   "sim: simulated SEV-SNP (needs 'sealnet sim-tee\n"
			   "init'); snp, tdx: a real confidential guest via\n"
			   "configfs-tsm (/sys/kernel/config/tsm/report,\n"
			   "needs root)" },
	[MAKE_PLATFORM] = { "platform", 0, "DIR",
			    "the simulated platform directory (sim only)" },
	[MAKE_REPORT_DATA] = { "report-data", 0, "HEX",
			       "up to 64 bytes (128 hex digits) bound into\n"
			       "the report; shorter values are zero-padded" },
	[MAKE_MEASURE] = { "measure", 0, "FILE",
			   "sim: launch measurement = SHA-384 chain over\n"
			   "the files in order: m0 = 48 zero bytes,\n"
			   "m(i+1) = SHA-384(m(i) || SHA-384(file i));\n"
			   "repeatable" },
	[MAKE_MLOG] = { "mlog", 0, "FILE",
			"attach a serialised runtime measurement log" },
	[MAKE_TSM_ROOT] = { "tsm-root", 0, "DIR",
			    "configfs-tsm report directory (snp/tdx)" },
	[MAKE_OUTPUT] = { "output", 'o', "OUT", "where to write the evidence" },
	{ 0 },
};

static const struct sn_cli_spec make_spec = {
	.cmd = "sealnet evidence make",
	.about = "Produce evidence and write it to OUT as configfs-tsm-style "
		 "JSON\n"
		 "(provider, base64url outblob = report, auxblob = certificate "
		 "table).\n"
		 "--backend and --output are required; --platform and --measure\n"
		 "apply to --backend sim only (a real TEE measures at launch).\n",
	.opts = make_opts,
	.after = "Exit status: 0 written, 1 the backend failed, 2 bad usage.\n",
};

static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end)
		return -EINVAL;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (*end == 'Z' || *end == 'z')
		end++;
	if (*end)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

static void print_reasons(const struct sn_appraisal *a)
{
	for (size_t i = 0; i < a->n_reasons; i++)
		printf("  reason: %s: %s%s%s\n",
		       sn_reason_name(a->reasons[i].code),
		       sn_reason_str(a->reasons[i].code),
		       a->reasons[i].detail[0] ? ": " : "",
		       a->reasons[i].detail);
}

static void print_claims(const struct sn_claims *c, bool json)
{
	char hex[2 * SN_CHIP_ID_LEN + 1];
	char *js;

	if (json) {
		if (!sn_claims_to_json(c, &js)) {
			printf("%s\n", js);
			free(js);
		}
		return;
	}
	printf("tee:          %s\n", sn_tee_name(c->tee));
	printf("version:      %u\n", c->version);
	sn_hex_encode(c->measurement, SN_MEASUREMENT_LEN, hex);
	printf("measurement:  %s\n", hex);
	sn_hex_encode(c->report_data, SN_REPORT_DATA_LEN, hex);
	printf("report_data:  %s\n", hex);
	printf("debug:        %s\n", c->debug ? "yes" : "no");
	if (c->tee == SN_TEE_TDX) {
		const uint8_t *regs[7] = {
			c->rtmr[0],    c->rtmr[1], c->rtmr[2],	    c->rtmr[3],
			c->mrconfigid, c->mrowner, c->mrownerconfig};
		static const char *const names[7] = {
			"rtmr0",      "rtmr1",	 "rtmr2",	 "rtmr3",
			"mrconfigid", "mrowner", "mrownerconfig"};

		printf("td_attributes: 0x%016llx\n",
		       (unsigned long long)c->td_attributes);
		sn_hex_encode(c->tee_tcb_svn, 16, hex);
		printf("tee_tcb_svn:  %s\n", hex);
		for (int i = 0; i < 7; i++) {
			sn_hex_encode(regs[i], 48, hex);
			printf("%-13s %s\n", names[i], hex);
		}
		return;
	}
	printf("policy:       0x%llx (smt %s, migration agent %s)\n",
	       (unsigned long long)c->policy, c->smt_allowed ? "yes" : "no",
	       c->migration_agent ? "yes" : "no");
	printf("vmpl:         %u\n", c->vmpl);
	printf("signing key:  %s\n", c->signing_key == 0 ? "VCEK" :
				     c->signing_key == 1 ? "VLEK" :
							   "none");
	printf("reported_tcb: bootloader %u tee %u snp %u microcode %u",
	       c->reported_tcb.bootloader, c->reported_tcb.tee,
	       c->reported_tcb.snp, c->reported_tcb.microcode);
	if (c->reported_tcb.has_fmc)
		printf(" fmc %u", c->reported_tcb.fmc);
	printf("\n");
	sn_hex_encode(c->chip_id, SN_CHIP_ID_LEN, hex);
	printf("chip_id:      %s\n", hex);
}

static int load(const char *path, struct sn_evidence **ev)
{
	int err = sn_evidence_load(path, ev);

	if (err)
		fprintf(stderr,
			"sealnet evidence: %s: not readable evidence (%s); "
			"expected a raw or hex SNP report, configfs-tsm JSON "
			"or a TDX quote v4\n",
			path, strerror(-err));
	return err;
}

static int do_show(int argc, char **argv)
{
	struct sn_evidence *ev;
	struct sn_cli_args a;
	bool json = false;
	int c;

	sn_cli_args_init(&a, &show_spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0)
		if (c == SHOW_JSON)
			json = true;
	c = sn_cli_end(&a, c, 1, 1);
	if (c)
		return sn_cli_exit(c);
	if (load(argv[a.optind], &ev))
		return 2;
	print_claims(&ev->claims, json);
	if (!json)
		printf("certificates: %zu\n", ev->n_certs);
	sn_evidence_free(ev);
	return 0;
}

static int do_verify(int argc, char **argv)
{
	const char *certs[MAX_FILES], *policy_path = NULL, *coll_dir = NULL;
	struct sn_tdx_collateral *coll = NULL;
	struct sn_policy_appraisal *policy = NULL;
	struct sn_evidence *ev = NULL;
	struct sn_appraisal *a = NULL;
	struct sn_cli_args args;
	size_t n_certs = 0;
	bool json = false;
	time_t at = 0;
	int c, ret = 2;

	sn_cli_args_init(&args, &verify_spec, argc, argv);
	while ((c = sn_cli_next(&args)) >= 0) {
		switch (c) {
		case VERIFY_CERT:
			if (n_certs == MAX_FILES)
				return sn_cli_exit(sn_cli_usage_error(
					&args, "at most %d --cert", MAX_FILES));
			certs[n_certs++] = args.optarg;
			break;
		case VERIFY_AT:
			if (parse_time(args.optarg, &at))
				return sn_cli_exit(sn_cli_usage_error(
					&args,
					"--at '%s' is not RFC 3339 (e.g. "
					"2025-06-01T00:00:00Z)",
					args.optarg));
			break;
		case VERIFY_POLICY:
			policy_path = args.optarg;
			break;
		case VERIFY_TDX_COLLATERAL:
			coll_dir = args.optarg;
			break;
		case VERIFY_JSON:
			json = true;
			break;
		}
	}
	c = sn_cli_end(&args, c, 1, 1);
	if (c)
		return sn_cli_exit(c);
	if (load(argv[args.optind], &ev))
		return 2;
	for (size_t i = 0; i < n_certs; i++)
		if (sn_evidence_add_cert_file(ev, certs[i])) {
			fprintf(stderr,
				"sealnet evidence verify: --cert %s: no DER or "
				"PEM certificate could be read\n",
				certs[i]);
			goto out;
		}
	if (policy_path && sn_policy_appraisal_load(policy_path, &policy)) {
		fprintf(stderr,
			"sealnet evidence verify: --policy %s: invalid policy "
			"(see docs/attestation.md)\n",
			policy_path);
		goto out;
	}
	if (coll_dir && sn_tdx_collateral_load(coll_dir, &coll)) {
		fprintf(stderr,
			"sealnet evidence verify: --tdx-collateral %s: not "
			"usable TDX collateral (see --help)\n",
			coll_dir);
		goto out;
	}
	a = malloc(sizeof(*a));
	if (!a)
		goto out;
	if (policy) {
		if (coll) {
			sn_policy_appraisal_set_tdx_collateral(policy, coll);
			coll = NULL;
		}
		if (sn_appraise(ev, policy, at, a))
			goto out;
	} else {
		struct sn_verify_opts vo = {.at = at, .tdx_collateral = coll};

		if (sn_evidence_verify(ev, &vo, a))
			goto out;
	}
	printf("%s: %s%s\n", argv[args.optind], a->accepted ? "ACCEPT" : "REJECT",
	       policy ? "" : " (authenticity only, no policy)");
	print_reasons(a);
	if (a->tdx_tcb.evaluated)
		printf("tdx tcb:      platform %s (tcbDate %s), QE %s%s\n",
		       sn_tcb_status_name(a->tdx_tcb.platform),
		       a->tdx_tcb.tcb_date[0] ? a->tdx_tcb.tcb_date : "none",
		       sn_tcb_status_name(a->tdx_tcb.qe),
		       policy ? "" : " (not judged without a policy)");
	print_claims(&a->claims, json);
	ret = a->accepted ? 0 : 1;
out:
	free(a);
	sn_tdx_collateral_free(coll);
	sn_policy_appraisal_free(policy);
	sn_evidence_free(ev);
	return ret;
}

static int write_out(const char *path, const struct sn_evidence *ev)
{
	uint8_t *buf;
	size_t len;
	FILE *f;
	int ok;

	if (sn_evidence_serialize(ev, &buf, &len))
		return -ENOMEM;
	f = !strcmp(path, "-") ? stdout : fopen(path, "w");
	if (!f) {
		fprintf(stderr, "sealnet evidence make: cannot write %s: %s\n",
			path, strerror(errno));
		free(buf);
		return -EIO;
	}
	ok = fwrite(buf, 1, len, f) == len && fputc('\n', f) != EOF;
	if (f != stdout)
		ok = !fclose(f) && ok;
	free(buf);
	return ok ? 0 : -EIO;
}

static int do_make(int argc, char **argv)
{
	const char *backend = NULL, *platform = NULL, *out = NULL;
	const char *mlog = NULL, *tsm_root = NULL, *measure[MAX_FILES];
	uint8_t rd[SN_REPORT_DATA_LEN] = {0}, meas[SN_MEASUREMENT_LEN] = {0};
	struct sn_evidence *ev = NULL;
	struct sn_cli_args a;
	size_t n_measure = 0;
	enum sn_tee tee;
	int c, err, ret = 2;

	sn_cli_args_init(&a, &make_spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0) {
		switch (c) {
		case MAKE_BACKEND:
			backend = a.optarg;
			break;
		case MAKE_PLATFORM:
			platform = a.optarg;
			break;
		case MAKE_MLOG:
			mlog = a.optarg;
			break;
		case MAKE_TSM_ROOT:
			tsm_root = a.optarg;
			break;
		case MAKE_OUTPUT:
			out = a.optarg;
			break;
		case MAKE_REPORT_DATA:
			if (sn_hex_decode(a.optarg, strlen(a.optarg), rd,
					  sizeof(rd)) < 0)
				return sn_cli_exit(sn_cli_usage_error(
					&a, "--report-data must be at most "
					    "128 hex digits"));
			break;
		case MAKE_MEASURE:
			if (n_measure == MAX_FILES)
				return sn_cli_exit(sn_cli_usage_error(
					&a, "at most %d --measure", MAX_FILES));
			measure[n_measure++] = a.optarg;
			break;
		}
	}
	c = sn_cli_end(&a, c, 0, 0);
	if (!c && (!backend || !out))
		c = sn_cli_usage_error(&a, "--backend B and -o OUT are required");
	if (c)
		return sn_cli_exit(c);
	if (sn_tee_from_name(backend, &tee)) {
		fprintf(stderr,
			"sealnet evidence make: unknown backend '%s' (sim, snp "
			"or tdx)\n",
			backend);
		return 2;
	}
	if (tee == SN_TEE_SIM) {
		if (!platform) {
			fprintf(stderr, "sealnet evidence make: --backend sim "
					"needs --platform DIR (create one with "
					"'sealnet sim-tee init DIR')\n");
			return 2;
		}
		if (n_measure && sn_sim_measure_files(measure, n_measure, meas))
			return 2;
		err = sn_evidence_produce_sim(platform, rd, meas, &ev);
	} else {
		if (n_measure || platform) {
			fprintf(stderr,
				"sealnet evidence make: --measure/--platform "
				"only apply to --backend sim (a real TEE "
				"measures at launch)\n");
			return 2;
		}
		err = sn_evidence_produce_tsm(tee, tsm_root, rd, &ev);
	}
	if (err) {
		fprintf(stderr,
			"sealnet evidence make: backend %s failed: %s\n",
			backend, strerror(-err));
		return 1;
	}
	if (mlog) {
		uint8_t *buf;
		size_t len;

		if (sn_read_file(mlog, SN_EVIDENCE_MAX_INPUT, &buf, &len)) {
			fprintf(stderr,
				"sealnet evidence make: cannot read --mlog "
				"%s\n",
				mlog);
			goto done;
		}
		err = sn_evidence_set_mlog(ev, buf, len);
		free(buf);
		if (err)
			goto done;
	}
	ret = write_out(out, ev) ? 1 : 0;
done:
	sn_evidence_free(ev);
	return ret;
}

int cmd_evidence(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "show"))
		return do_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return do_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "make"))
		return do_make(argc - 1, argv + 1);
	fprintf(stderr,
		"sealnet evidence: unknown subcommand '%s' (show, verify, "
		"make)\n",
		argv[1]);
	return 2;
}
