// SPDX-License-Identifier: Apache-2.0
/* TDX quote v4 verifier on a real Sapphire Rapids quote, and alterations. */
#include "ev_helpers.h"

#define SIG_OFF	      (48 + 584 + 4)
#define QE_REPORT_OFF (SIG_OFF + 128 + 6)
#define AUTH_OFF      (QE_REPORT_OFF + 384 + 64 + 2)

static void verify(const uint8_t *q, size_t len, struct sn_appraisal *a)
{
	struct sn_evidence *ev = NULL;

	assert_int_equal(sn_evidence_parse(q, len, &ev), 0);
	assert_int_equal(sn_evidence_verify(ev, NULL, a), 0);
	sn_evidence_free(ev);
}

static void test_quote_accepts(void **state)
{
	struct sn_appraisal a;
	size_t len;
	uint8_t *q = td_read("tdx/spr-e4-quote-v4.dat", &len);

	verify(q, len, &a);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_int_equal(a.claims.tee, SN_TEE_TDX);
	assert_int_equal(a.claims.version, 4);
	free(q);
}

static void expect_alter(size_t off, enum sn_reason r)
{
	struct sn_appraisal a;
	size_t len;
	uint8_t *q = td_read("tdx/spr-e4-quote-v4.dat", &len);

	q[off] ^= 0x01;
	verify(q, len, &a);
	assert_false(a.accepted);
	if (!sn_appraisal_has(&a, r)) {
		dump_reasons(&a);
		fail_msg("offset %zu: expected %s", off, sn_reason_name(r));
	}
	free(q);
}

static void test_alterations(void **state)
{
	expect_alter(SIG_OFF + 3, SN_R_BAD_SIGNATURE);	 /* quote signature */
	expect_alter(48 + 136, SN_R_BAD_SIGNATURE);	 /* MRTD */
	expect_alter(48 + 520, SN_R_BAD_SIGNATURE);	 /* report_data */
	expect_alter(48 + 120, SN_R_BAD_SIGNATURE);	 /* TD attributes */
	expect_alter(SIG_OFF + 64 + 1, SN_R_QE_BINDING); /* attestation key */
	expect_alter(QE_REPORT_OFF + 10, SN_R_QE_SIGNATURE); /* QE report */
	expect_alter(QE_REPORT_OFF + 384 + 5, SN_R_QE_SIGNATURE); /* QE sig */
	expect_alter(AUTH_OFF, SN_R_QE_BINDING); /* QE auth data */
}

static void test_pck_chain_altered(void **state)
{
	struct sn_appraisal a;
	size_t len;
	uint8_t *q = td_read("tdx/spr-e4-quote-v4.dat", &len);
	uint8_t *pem = memmem(q, len, "-----BEGIN CERTIFICATE-----", 27);

	assert_non_null(pem);
	/* a base64 character inside the PCK certificate body */
	pem[27 + 1 + 300] = pem[27 + 1 + 300] == 'A' ? 'B' : 'A';
	verify(q, len, &a);
	assert_false(a.accepted);
	free(q);
}

static void test_truncated(void **state)
{
	struct sn_evidence *ev = NULL;
	size_t len;
	uint8_t *q = td_read("tdx/spr-e4-quote-v4.dat", &len);

	/* the recorded file has padding after the signature data */
	size_t end = 48 + 584 + 4 + (q[632] | q[633] << 8);

	assert_true(end <= len);
	for (size_t l = 0; l < end; l += 97)
		assert_true(sn_evidence_parse(q, l, &ev) < 0);
	assert_null(ev);
	q[48 + 584] = 0xff; /* signature data length beyond the quote */
	q[48 + 584 + 1] = 0xff;
	assert_true(sn_evidence_parse(q, len, &ev) < 0);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_accepts),
		cmocka_unit_test(test_alterations),
		cmocka_unit_test(test_pck_chain_altered),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
