// SPDX-License-Identifier: Apache-2.0
/* SEV-SNP verifier on real reports from real hardware, and alterations. */
#include "ev_helpers.h"

struct fixture {
	const char *report;
	const char *certs[3];
	time_t at;
};

static void verify_buf(const uint8_t *buf, size_t len, const char *c1,
		       const char *c2, time_t at, struct sn_appraisal *a)
{
	struct sn_evidence *ev = ev_from(buf, len, c1, c2, NULL);
	struct sn_verify_opts o = {.at = at};

	assert_int_equal(sn_evidence_verify(ev, &o, a), 0);
	sn_evidence_free(ev);
}

static uint8_t *milan_raw(void)
{
	size_t len;
	uint8_t *hex = td_read("snp/milan-report.hex", &len);
	uint8_t *raw = malloc(SN_SNP_REPORT_SIZE);

	assert_non_null(raw);
	assert_int_equal(
		sn_hex_decode((char *)hex, len, raw, SN_SNP_REPORT_SIZE),
		SN_SNP_REPORT_SIZE);
	free(hex);
	return raw;
}

static void test_milan_accepts(void **state)
{
	struct sn_appraisal a;
	size_t len;
	uint8_t *buf = td_read("snp/milan-report.hex", &len);

	verify_buf(buf, len, "snp/milan-vcek.der", "snp/milan-ask-ark.pem", 0,
		   &a);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_true(a.authentic);
	assert_int_equal(a.claims.tee, SN_TEE_SNP);
	assert_int_equal(a.claims.version, 2);
	assert_int_equal(a.claims.reported_tcb.bootloader, 3);
	assert_int_equal(a.claims.reported_tcb.snp, 8);
	assert_int_equal(a.claims.reported_tcb.microcode, 115);
	assert_int_equal(a.claims.product, SN_AMD_MILAN);
	free(buf);
}

static void test_milan_no_certs(void **state)
{
	struct sn_appraisal a;
	uint8_t *raw = milan_raw();

	verify_buf(raw, SN_SNP_REPORT_SIZE, NULL, NULL, 0, &a);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_NO_SIGNER_CERT));
	verify_buf(raw, SN_SNP_REPORT_SIZE, "snp/milan-vcek.der", NULL, 0, &a);
	assert_true(sn_appraisal_has(&a, SN_R_CHAIN_INCOMPLETE));
	free(raw);
}

static void test_debug_report(void **state)
{
	struct sn_policy_appraisal *p;
	struct sn_evidence *ev;
	struct sn_appraisal a;
	size_t len;
	uint8_t *buf = td_read("snp/milan-debug-report.bin", &len);
	static const char strict[] =
		"{\"backends\": [\"snp\"], \"allow_any_measurement\": true, "
		"\"min_tcb\": {\"bootloader\": 0, \"tee\": 0, \"snp\": 0, "
		"\"microcode\": 0}}";
	static const char allow[] =
		"{\"backends\": [\"snp\"], \"allow_any_measurement\": true, "
		"\"min_tcb\": {\"bootloader\": 0, \"tee\": 0, \"snp\": 0, "
		"\"microcode\": 0}, \"allow_debug\": true}";

	ev = ev_from(buf, len, "snp/milan-debug-vcek.der",
		     "roots/amd/ask_ark_milan.pem", NULL);
	assert_int_equal(sn_evidence_verify(ev, NULL, &a), 0);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_true(a.claims.debug);
	assert_int_equal(a.claims.report_data[0], 1);
	assert_int_equal(a.claims.report_data[4], 5);
	assert_int_equal(a.claims.report_data[5], 0);
	/* no policy: nothing is accepted */
	assert_int_equal(sn_appraise(ev, NULL, 0, &a), 0);
	assert_false(a.accepted);
	assert_true(a.authentic);
	/* a policy forbids debug unless it says otherwise */
	assert_int_equal(sn_policy_appraisal_parse(strict, strlen(strict), &p),
			 0);
	assert_int_equal(sn_appraise(ev, p, 0, &a), 0);
	assert_false(a.accepted);
	assert_true(a.authentic);
	assert_true(sn_appraisal_has(&a, SN_R_DEBUG));
	assert_int_equal(a.n_reasons, 1);
	sn_policy_appraisal_free(p);
	assert_int_equal(sn_policy_appraisal_parse(allow, strlen(allow), &p),
			 0);
	assert_int_equal(sn_appraise(ev, p, 0, &a), 0);
	assert_true(a.accepted);
	sn_policy_appraisal_free(p);
	sn_evidence_free(ev);
	free(buf);
}

static void test_vlek(void **state)
{
	struct sn_appraisal a;
	size_t len;
	uint8_t *buf = td_read("snp/milan-vlek-report.bin", &len);

	verify_buf(buf, len, "snp/milan-vlek.der",
		   "roots/amd/ask_ark_milan_vlek.pem", ymd(2025, 6, 1), &a);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_int_equal(a.claims.signing_key, 1);
	assert_int_equal(a.claims.version, 3);
	/* expired VLEK after 2025-12-10 */
	verify_buf(buf, len, "snp/milan-vlek.der",
		   "roots/amd/ask_ark_milan_vlek.pem", ymd(2026, 1, 1), &a);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_CERT_EXPIRED));
	/* before the VLEK was issued */
	verify_buf(buf, len, "snp/milan-vlek.der",
		   "roots/amd/ask_ark_milan_vlek.pem", ymd(2024, 1, 1), &a);
	assert_true(sn_appraisal_has(&a, SN_R_CERT_NOT_YET_VALID));
	/* VLEK report with the VCEK-chain ASK: no issuer for the VLEK */
	verify_buf(buf, len, "snp/milan-vlek.der",
		   "roots/amd/ask_ark_milan.pem", ymd(2025, 6, 1), &a);
	assert_true(sn_appraisal_has(&a, SN_R_CHAIN_INCOMPLETE));
	free(buf);
}

static void test_genoa_tsm_json(void **state)
{
	struct sn_evidence *ev;
	struct sn_appraisal a;
	size_t len;
	uint8_t *buf = td_read("snp/genoa-configfs-tsm-report.json", &len);

	assert_int_equal(sn_evidence_parse(buf, len, &ev), 0);
	assert_int_equal(ev->format, SN_FMT_TSM_JSON);
	assert_int_equal(ev->n_certs, 3);
	assert_int_equal(sn_evidence_verify(ev, NULL, &a), 0);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_int_equal(a.claims.product, SN_AMD_GENOA);
	assert_int_equal(a.claims.version, 3);
	sn_evidence_free(ev);
	free(buf);
}

static void test_invalid_vceks(void **state)
{
	static const char *const bad[] = {"snp/invalid-vcek-legacy.der",
					  "snp/invalid-vcek-new.der"};
	uint8_t *raw = milan_raw();

	for (size_t i = 0; i < 2; i++) {
		struct sn_appraisal a;

		verify_buf(raw, SN_SNP_REPORT_SIZE, bad[i],
			   "snp/milan-ask-ark.pem", 0, &a);
		assert_false(a.accepted);
		assert_true(sn_appraisal_has(&a, SN_R_BAD_SIGNATURE));
		assert_true(sn_appraisal_has(&a, SN_R_CHAIN_SIGNATURE));
	}
	free(raw);
}

/* Alter one byte of the Milan report; expect the given reasons. */
static void expect_alter(size_t off, uint8_t xor_val, enum sn_reason r1,
			 enum sn_reason r2)
{
	struct sn_appraisal a;
	uint8_t *raw = milan_raw();

	raw[off] ^= xor_val;
	verify_buf(raw, SN_SNP_REPORT_SIZE, "snp/milan-vcek.der",
		   "snp/milan-ask-ark.pem", 0, &a);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, r1));
	if (r2 != SN_R_NONE)
		assert_true(sn_appraisal_has(&a, r2));
	free(raw);
}

static void test_alterations(void **state)
{
	expect_alter(0x2A0, 0x01, SN_R_BAD_SIGNATURE, SN_R_NONE); /* sig R */
	expect_alter(0x2E8 + 5, 0x80, SN_R_BAD_SIGNATURE, SN_R_NONE); /* S */
	expect_alter(0x090, 0x01, SN_R_BAD_SIGNATURE, SN_R_NONE); /* meas. */
	expect_alter(0x050, 0x01, SN_R_BAD_SIGNATURE, SN_R_NONE); /* rdata */
	expect_alter(0x008, 0x08, SN_R_BAD_SIGNATURE, SN_R_NONE); /* policy */
	/* reported_tcb snp SPL: signature and VCEK TCB both disagree */
	expect_alter(0x186, 0x01, SN_R_BAD_SIGNATURE, SN_R_TCB_MISMATCH);
	expect_alter(0x1A0, 0x01, SN_R_BAD_SIGNATURE, SN_R_CHIP_ID_MISMATCH);
	/* signer_info says VLEK: only a VCEK was supplied */
	expect_alter(0x048, 0x04, SN_R_NO_SIGNER_CERT, SN_R_NONE);
}

static void test_cert_byte_altered(void **state)
{
	struct sn_evidence *ev;
	struct sn_appraisal a;
	size_t vl;
	uint8_t *raw = milan_raw();
	uint8_t *vcek = td_read("snp/milan-vcek.der", &vl);

	vcek[400] ^= 0x01; /* inside tbsCertificate (subject public key) */
	assert_int_equal(sn_evidence_parse(raw, SN_SNP_REPORT_SIZE, &ev), 0);
	assert_int_equal(sn_evidence_add_certs(ev, vcek, vl), 0);
	assert_int_equal(
		sn_evidence_add_cert_file(ev, td_path("snp/milan-ask-ark.pem")),
		0);
	assert_int_equal(sn_evidence_verify(ev, NULL, &a), 0);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_CHAIN_SIGNATURE) ||
		    sn_appraisal_has(&a, SN_R_NO_SIGNER_CERT) ||
		    sn_appraisal_has(&a, SN_R_BAD_SIGNATURE));
	sn_evidence_free(ev);
	free(vcek);
	free(raw);
}

/* The certificate caches answer exactly what recomputing would: a warm
 * cache serves the good chain, but never a changed certificate, and times
 * are checked at every appraisal. */
static void test_cache(void **state)
{
	struct sn_evidence_cache_stats st, st0;
	struct sn_appraisal a;
	struct sn_evidence *ev;
	size_t len, vl;
	uint8_t *buf = td_read("snp/milan-report.hex", &len);
	uint8_t *raw = milan_raw();
	uint8_t *vcek = td_read("snp/milan-vcek.der", &vl);

	sn_evidence_cache_flush();
	verify_buf(buf, len, "snp/milan-vcek.der", "snp/milan-ask-ark.pem", 0,
		   &a);
	assert_true(a.accepted);
	sn_evidence_cache_stats(&st);
	assert_true(st.parse_misses >= 3);
	assert_true(st.sig_misses >= 3);
	st0 = st;
	verify_buf(buf, len, "snp/milan-vcek.der", "snp/milan-ask-ark.pem", 0,
		   &a);
	assert_true(a.accepted);
	sn_evidence_cache_stats(&st);
	assert_int_equal(st.parse_misses, st0.parse_misses);
	assert_true(st.parse_hits >= st0.parse_hits + 3);
	/* VCEK<-ASK, ASK<-ARK, ARK self: none recomputed */
	assert_int_equal(st.sig_misses, st0.sig_misses);
	assert_true(st.sig_hits >= st0.sig_hits + 3);

	/* warm cache, VCEK signature altered (its last byte) */
	vcek[vl - 1] ^= 0x01;
	assert_int_equal(sn_evidence_parse(raw, SN_SNP_REPORT_SIZE, &ev), 0);
	assert_int_equal(sn_evidence_add_certs(ev, vcek, vl), 0);
	assert_int_equal(
		sn_evidence_add_cert_file(ev, td_path("snp/milan-ask-ark.pem")),
		0);
	assert_int_equal(sn_evidence_verify(ev, NULL, &a), 0);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_CHAIN_SIGNATURE));
	sn_evidence_free(ev);

	/* warm cache, appraised in 2100: every certificate has expired */
	verify_buf(buf, len, "snp/milan-vcek.der", "snp/milan-ask-ark.pem",
		   (time_t)4102444800, &a);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_CERT_EXPIRED));
	free(vcek);
	free(raw);
	free(buf);
}

static void test_wrong_root(void **state)
{
	struct sn_appraisal a;
	uint8_t *raw = milan_raw();

	/* Genoa chain cannot issue a Milan VCEK */
	verify_buf(raw, SN_SNP_REPORT_SIZE, "snp/milan-vcek.der",
		   "roots/amd/ask_ark_genoa.pem", 0, &a);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_CHAIN_INCOMPLETE));
	free(raw);
}

static void test_policy_rules(void **state)
{
	struct sn_policy_appraisal *p;
	struct sn_appraisal a;
	struct sn_evidence *ev = milan_ev();
	char pol[1024];
	static const char *const bad[] = {
		"{\"min_tcb\": {\"bootloader\": 300}}",
		"{\"measurments\": []}",
		"{\"backends\": [\"sgx\"]}",
		"{\"report_data\": \"00\"}",
		"[1]",
		"{",
	};

	snprintf(pol, sizeof(pol),
		 "{\"backends\": [\"snp\"], \"measurements\": [\"%s\"], "
		 "\"min_tcb\": {\"bootloader\": "
		 "3, \"snp\": 8, \"microcode\": 115, \"tee\": 0}, "
		 "\"allow_smt\": true, \"vmpl\": [0]}",
		 "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea1"
		 "58d3e1a0dc39b2c60bd95b9c480cd81841f");
	assert_int_equal(sn_policy_appraisal_parse(pol, strlen(pol), &p), 0);
	assert_int_equal(sn_appraise(ev, p, 0, &a), 0);
	dump_reasons(&a);
	assert_true(a.accepted);
	sn_policy_appraisal_free(p);

	snprintf(pol, sizeof(pol),
		 "{\"measurements\": [\"%096d\"], \"min_tcb\": {\"snp\": 9, "
		 "\"microcode\": 200}, \"allow_smt\": false, \"report_data\": "
		 "\"%0128d\", \"backends\": [\"sim\"], \"vmpl\": [1], "
		 "\"sim_ark_spki_sha256\": [\"%064d\"]}",
		 0, 0, 0);
	assert_int_equal(sn_policy_appraisal_parse(pol, strlen(pol), &p), 0);
	assert_int_equal(sn_appraise(ev, p, 0, &a), 0);
	assert_false(a.accepted);
	assert_true(a.authentic);
	assert_true(sn_appraisal_has(&a, SN_R_MEASUREMENT_NOT_ALLOWED));
	assert_true(sn_appraisal_has(&a, SN_R_TCB_TOO_LOW));
	assert_true(sn_appraisal_has(&a, SN_R_SMT));
	assert_true(sn_appraisal_has(&a, SN_R_REPORT_DATA));
	assert_true(sn_appraisal_has(&a, SN_R_BACKEND_NOT_ALLOWED));
	assert_true(sn_appraisal_has(&a, SN_R_VMPL));
	assert_int_equal(a.n_reasons, 7); /* two TCB components too low */
	sn_policy_appraisal_free(p);

	for (size_t i = 0; i < SN_ARRAY_SIZE(bad); i++)
		assert_int_equal(
			sn_policy_appraisal_parse(bad[i], strlen(bad[i]), &p),
			-EINVAL);
	sn_evidence_free(ev);
}

static void test_garbage(void **state)
{
	struct sn_evidence *ev = NULL;
	uint8_t *raw = milan_raw();
	uint8_t big[SN_SNP_REPORT_SIZE + 16];
	static const char *const junk[] = {
		"",
		"{}",
		"{\"outblob\": 5}",
		"{\"outblob\": \"!!\"}",
		"{\"outblob\": \"AAAA\"}",
		"zz",
		"0102",
		"\x04\x00\x02\x00\x81",
	};

	assert_int_equal(sn_evidence_parse(raw, 100, &ev), -EINVAL);
	assert_int_equal(sn_evidence_parse(raw, SN_SNP_REPORT_SIZE - 1, &ev),
			 -EINVAL);
	memset(big, 0, sizeof(big));
	memcpy(big, raw, SN_SNP_REPORT_SIZE);
	assert_true(sn_evidence_parse(big, sizeof(big), &ev) < 0);
	raw[0] = 9; /* version 9 */
	assert_int_equal(sn_evidence_parse(raw, SN_SNP_REPORT_SIZE, &ev),
			 -ENOTSUP);
	for (size_t i = 0; i < SN_ARRAY_SIZE(junk); i++)
		assert_true(sn_evidence_parse((const uint8_t *)junk[i],
					      strlen(junk[i]) + (i == 7),
					      &ev) < 0);
	assert_null(ev);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_milan_accepts),
		cmocka_unit_test(test_milan_no_certs),
		cmocka_unit_test(test_debug_report),
		cmocka_unit_test(test_vlek),
		cmocka_unit_test(test_genoa_tsm_json),
		cmocka_unit_test(test_invalid_vceks),
		cmocka_unit_test(test_alterations),
		cmocka_unit_test(test_cert_byte_altered),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_wrong_root),
		cmocka_unit_test(test_policy_rules),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
