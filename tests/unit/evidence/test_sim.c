// SPDX-License-Identifier: Apache-2.0
/* sim backend, wire format, configfs-tsm entry reading, measurement log. */
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ev_helpers.h"

static char tmpdir[256];
static char platform[256];

static int setup(void **state)
{
	char tmpl[] = "/tmp/sealnet-sim-XXXXXX";

	if (!mkdtemp(tmpl))
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	snprintf(platform, sizeof(platform), "%s/plat", tmpl);
	return sn_sim_platform_init(platform);
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

static struct sn_policy_appraisal *sim_policy(const char *extra)
{
	struct sn_policy_appraisal *p;
	uint8_t h[SN_SHA256_LEN];
	char hex[65], json[512];

	assert_int_equal(sn_sim_ark_spki(platform, h), 0);
	sn_hex_encode(h, sizeof(h), hex);
	snprintf(json, sizeof(json),
		 "{\"backends\": [\"sim\"], \"sim_ark_spki_sha256\": "
		 "[\"%s\"]%s}",
		 hex, *extra ? extra : ", \"allow_any_measurement\": true");
	assert_int_equal(sn_policy_appraisal_parse(json, strlen(json), &p), 0);
	return p;
}

static void test_key_modes(void **state)
{
	static const char *const keys[] = {"ark.key", "ask.key", "vcek.key"};
	char path[512];
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", platform, keys[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(sn_sim_platform_init(platform), -EEXIST);
}

static void test_sim_roundtrip(void **state)
{
	uint8_t rd[64], meas[48], *wire;
	struct sn_policy_appraisal *p;
	struct sn_evidence *ev, *ev2;
	struct sn_appraisal a;
	size_t len;

	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)i;
	memset(meas, 0xab, sizeof(meas));
	assert_int_equal(sn_evidence_produce_sim(platform, rd, meas, &ev), 0);
	assert_int_equal(sn_evidence_serialize(ev, &wire, &len), 0);
	assert_int_equal(sn_evidence_parse(wire, len, &ev2), 0);
	assert_int_equal(ev2->n_certs, 3);
	assert_memory_equal(ev2->claims.report_data, rd, 64);
	assert_memory_equal(ev2->claims.measurement, meas, 48);

	/* authenticity alone: the simulated ARK is not trusted */
	assert_int_equal(sn_evidence_verify(ev2, NULL, &a), 0);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_ROOT_NOT_TRUSTED));
	/* the default policy never accepts sim */
	assert_int_equal(sn_appraise(ev2, NULL, 0, &a), 0);
	assert_false(a.accepted);
	/* a policy naming the ARK does */
	p = sim_policy("");
	assert_int_equal(sn_appraise(ev2, p, 0, &a), 0);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_int_equal(a.claims.tee, SN_TEE_SIM);
	sn_policy_appraisal_free(p);
	/* ... but not when sim is not among the backends */
	{
		char json[256];
		struct sn_policy_appraisal *p2;
		uint8_t h[32];
		char hex[65];

		sn_sim_ark_spki(platform, h);
		sn_hex_encode(h, 32, hex);
		snprintf(json, sizeof(json),
			 "{\"sim_ark_spki_sha256\": [\"%s\"], \"backends\": "
			 "[\"snp\"], \"allow_any_measurement\": true, "
			 "\"min_tcb\": {\"bootloader\": 0, \"tee\": 0, "
			 "\"snp\": 0, \"microcode\": 0}}",
			 hex);
		assert_int_equal(
			sn_policy_appraisal_parse(json, strlen(json), &p2), 0);
		assert_int_equal(sn_appraise(ev2, p2, 0, &a), 0);
		assert_false(a.accepted);
		assert_true(sn_appraisal_has(&a, SN_R_BACKEND_NOT_ALLOWED));
		sn_policy_appraisal_free(p2);
	}
	/* altered report_data is caught by the signature */
	p = sim_policy("");
	ev2->report[0x50] ^= 1;
	assert_int_equal(sn_appraise(ev2, p, 0, &a), 0);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_BAD_SIGNATURE));
	sn_policy_appraisal_free(p);
	sn_evidence_free(ev2);
	free(wire);
	sn_evidence_free(ev);
}

/* The sim provider caches the parsed VCEK key by the key file's content:
 * evidence of a second platform is signed by that platform's key. */
static void test_sim_two_platforms(void **state)
{
	char plat2[300];
	const char *plats[3];
	uint8_t rd[64] = {1}, meas[48] = {2};
	struct sn_policy_appraisal *p;
	struct sn_evidence *ev;
	struct sn_appraisal a;

	snprintf(plat2, sizeof(plat2), "%s/plat2", tmpdir);
	assert_int_equal(sn_sim_platform_init(plat2), 0);
	plats[0] = platform;
	plats[1] = plat2;
	plats[2] = platform;
	p = sim_policy(""); /* trusts the first platform's ARK only */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
			sn_evidence_produce_sim(plats[i], rd, meas, &ev), 0);
		assert_int_equal(sn_evidence_verify(ev, NULL, &a), 0);
		dump_reasons(&a);
		/* authentic under its own chain: signed by its own VCEK */
		assert_false(sn_appraisal_has(&a, SN_R_BAD_SIGNATURE));
		assert_false(sn_appraisal_has(&a, SN_R_CHAIN_SIGNATURE));
		assert_int_equal(sn_appraise(ev, p, 0, &a), 0);
		assert_int_equal(a.accepted, i != 1);
		sn_evidence_free(ev);
	}
	sn_policy_appraisal_free(p);
}

static void test_sim_measure(void **state)
{
	char path[512];
	const char *paths[1] = {path};
	uint8_t m[48], zero[48] = {0}, d[48], expect[48], buf[96];
	FILE *f;

	snprintf(path, sizeof(path), "%s/measured", platform);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello", f);
	fclose(f);
	assert_int_equal(sn_sim_measure_files(paths, 1, m), 0);
	/* m = SHA-384(0^48 || SHA-384("hello")) */
	assert_int_equal(EVP_Digest("hello", 5, d, NULL, EVP_sha384(), NULL),
			 1);
	memcpy(buf, zero, 48);
	memcpy(buf + 48, d, 48);
	assert_int_equal(EVP_Digest(buf, 96, expect, NULL, EVP_sha384(), NULL),
			 1);
	assert_memory_equal(m, expect, 48);
}

static void test_mlog(void **state)
{
	struct sn_mlog m, r;
	uint8_t *buf, d[48], bind1[64], bind2[64];
	size_t len;

	sn_mlog_init(&m);
	assert_int_equal(sn_mlog_extend_data(&m, SN_MLOG_BPF_OBJECT,
					     "sealnet.bpf.o", "obj", 3),
			 0);
	memset(d, 7, sizeof(d));
	assert_int_equal(
		sn_mlog_extend(&m, SN_MLOG_BPF_PROG, "prog tc_ingress", d), 0);
	assert_int_equal(sn_mlog_serialize(&m, &buf, &len), 0);
	assert_int_equal(sn_mlog_parse(buf, len, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ev[1].desc, "prog tc_ingress");
	assert_memory_equal(r.digest, m.digest, 48);
	assert_int_equal(sn_report_data_binding((const uint8_t *)"cb", 2,
						m.digest, bind1),
			 0);
	assert_int_equal(sn_report_data_binding((const uint8_t *)"cb", 2,
						r.digest, bind2),
			 0);
	assert_memory_equal(bind1, bind2, 64);
	assert_int_equal(sn_report_data_binding((const uint8_t *)"cc", 2,
						r.digest, bind2),
			 0);
	assert_memory_not_equal(bind1, bind2, 64);
	sn_mlog_free(&r);
	/* every truncation fails cleanly */
	for (size_t l = 0; l < len; l++)
		assert_true(sn_mlog_parse(buf, l, &r) < 0);
	buf[len - 1] ^= 1; /* altered digest: parses, replay differs */
	assert_int_equal(sn_mlog_parse(buf, len, &r), 0);
	assert_memory_not_equal(r.digest, m.digest, 48);
	sn_mlog_free(&r);
	sn_mlog_free(&m);
	free(buf);
}

/* Sim evidence bound to channel "cb" with a log of the given events
 * (serialised, as MAKE carries it). */
static uint8_t *bound_evidence(const struct sn_mlog *m, size_t *len)
{
	uint8_t rd[64], meas[48] = {0}, *log, *wire;
	struct sn_evidence *ev;
	size_t ll;

	assert_int_equal(
		sn_report_data_binding((const uint8_t *)"cb", 2, m->digest, rd),
		0);
	assert_int_equal(sn_evidence_produce_sim(platform, rd, meas, &ev), 0);
	assert_int_equal(sn_mlog_serialize(m, &log, &ll), 0);
	assert_int_equal(sn_evidence_set_mlog(ev, log, ll), 0);
	assert_int_equal(sn_evidence_serialize(ev, &wire, len), 0);
	free(log);
	sn_evidence_free(ev);
	return wire;
}

/* The peer's measurement log must name our workflow manifest and the
 * node we expect (docs/protocol.md, workflow binding). */
static void test_mlog_required(void **state)
{
	struct sn_policy_appraisal *p = sim_policy("");
	struct sn_mlog_require req[2] = {
		{.type = SN_MLOG_WORKFLOW,
		 .desc = NULL,
		 .what = "workflow manifest"},
		{.type = SN_MLOG_NODE_POLICY,
		 .desc = "node h2",
		 .what = "node policy"},
	};
	struct sn_appraise_binding b = {.channel_binding =
						(const uint8_t *)"cb",
					.cb_len = 2,
					.require = req,
					.n_require = 2};
	static const struct {
		const char *wf_desc, *node_desc;
		uint8_t wf_byte, node_byte;
		int twice; /* workflow event twice */
		bool ok;
	} cases[] = {
		{"workflow w v1", "node h2", 1, 2, 0, true},
		{NULL, "node h2", 1, 2, 0, false},	 /* no workflow */
		{"workflow w v1", NULL, 1, 2, 0, false}, /* no node */
		{"workflow w v2", "node h2", 9, 2, 0,
		 false}, /* other manifest */
		{"workflow w v1", "node h3", 1, 2, 0, false}, /* other node */
		{"workflow w v1", "node h2", 1, 8, 0, false}, /* other policy */
		{"workflow w v1", "node h2", 1, 2, 1, false}, /* ambiguous */
	};
	struct sn_appraisal a;

	memset(req[0].digest, 1, 48);
	memset(req[1].digest, 2, 48);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sn_mlog m;
		uint8_t d[48], *wire;
		size_t len;

		sn_mlog_init(&m);
		memset(d, 7, sizeof(d));
		assert_int_equal(
			sn_mlog_extend(&m, SN_MLOG_BPF_OBJECT, "obj", d), 0);
		for (int k = 0; cases[i].wf_desc && k <= cases[i].twice; k++) {
			memset(d, cases[i].wf_byte, sizeof(d));
			assert_int_equal(sn_mlog_extend(&m, SN_MLOG_WORKFLOW,
							cases[i].wf_desc, d),
					 0);
		}
		if (cases[i].node_desc) {
			memset(d, cases[i].node_byte, sizeof(d));
			assert_int_equal(sn_mlog_extend(&m, SN_MLOG_NODE_POLICY,
							cases[i].node_desc, d),
					 0);
		}
		wire = bound_evidence(&m, &len);
		assert_int_equal(sn_appraise_bound(wire, len, p, 0, &b, &a), 0);
		if (!cases[i].ok)
			dump_reasons(&a);
		assert_int_equal(a.accepted, cases[i].ok);
		assert_int_equal(sn_appraisal_has(&a, SN_R_WORKFLOW),
				 !cases[i].ok);
		/* without requirements the same evidence is accepted */
		b.n_require = 0;
		assert_int_equal(sn_appraise_bound(wire, len, p, 0, &b, &a), 0);
		assert_true(a.accepted);
		b.n_require = 2;
		free(wire);
		sn_mlog_free(&m);
	}
	sn_policy_appraisal_free(p);
}

static void write_file(const char *dir, const char *name, const void *b,
		       size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
}

/* configfs-tsm: feed recorded outputs through an entry directory */
static void test_tsm_entry(void **state)
{
	char dir[512];
	struct sn_evidence *ev = NULL;
	struct sn_appraisal a;
	size_t len;
	uint8_t *q = td_read("tdx/spr-e4-quote-v4.dat", &len);
	uint8_t rd[64] = {0};

	snprintf(dir, sizeof(dir), "%s/tsm-entry", platform);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(dir, "provider", "tdx_guest\n", 10);
	write_file(dir, "outblob", q, len);
	assert_int_equal(sn_tsm_read_entry(dir, SN_TEE_TDX, &ev), 0);
	assert_int_equal(sn_evidence_verify(ev, NULL, &a), 0);
	assert_true(a.accepted);
	sn_evidence_free(ev);
	/* wrong provider for the backend */
	assert_int_equal(sn_tsm_read_entry(dir, SN_TEE_SNP, &ev), -ENODEV);
	free(q);
	/* missing interface */
	assert_int_equal(sn_evidence_produce_tsm(SN_TEE_SNP, "/nonexistent/tsm",
						 rd, &ev),
			 -ENODEV);
}

static void test_tsm_entry_snp(void **state)
{
	char dir[512];
	struct sn_evidence *ev = NULL, *src;
	struct sn_appraisal a;
	size_t len;
	uint8_t *j = td_read("snp/genoa-configfs-tsm-report.json", &len);

	/* decode the recorded JSON into the files configfs-tsm exposes */
	assert_int_equal(sn_evidence_parse(j, len, &src), 0);
	snprintf(dir, sizeof(dir), "%s/tsm-snp", platform);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(dir, "provider", "sev_guest\n", 10);
	write_file(dir, "outblob", src->report, src->report_len);
	assert_int_equal(sn_tsm_read_entry(dir, SN_TEE_SNP, &ev), 0);
	assert_int_equal(ev->n_certs, 0); /* no auxblob: certs from elsewhere */
	for (size_t i = 0; i < src->n_certs; i++)
		assert_int_equal(sn_evidence_add_certs(ev, src->certs[i].der,
						       src->certs[i].len),
				 0);
	assert_int_equal(sn_evidence_verify(ev, NULL, &a), 0);
	assert_true(a.accepted);
	sn_evidence_free(ev);
	sn_evidence_free(src);
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_modes),
		cmocka_unit_test(test_sim_roundtrip),
		cmocka_unit_test(test_sim_two_platforms),
		cmocka_unit_test(test_sim_measure),
		cmocka_unit_test(test_mlog),
		cmocka_unit_test(test_mlog_required),
		cmocka_unit_test(test_tsm_entry),
		cmocka_unit_test(test_tsm_entry_snp),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
