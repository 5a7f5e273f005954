// SPDX-License-Identifier: Apache-2.0
/*
 * Issue 9 item 8: the appraisal policy is deny by default.  A policy that
 * does not name what it accepts (measurements, TCB floor) must be refused
 * when it is loaded, and appraising without a policy accepts nothing.
 */
#include "ev_helpers.h"

#define MILAN_MEAS                                                           \
	"7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e" \
	"1a0dc39b2c60bd95b9c480cd81841f"
#define SNP_TCB                                                     \
	"\"min_tcb\": {\"bootloader\": 3, \"tee\": 0, \"snp\": 8, " \
	"\"microcode\": 115}"
#define Z96 "\"%096d\""
#define TDX_REGS                                                       \
	"\"rtmr0\": [" Z96 "], \"rtmr1\": [" Z96 "], \"rtmr2\": [" Z96 \
	"], \"rtmr3\": [" Z96 "], \"mrconfigid\": [" Z96               \
	"], \"mrowner\": [" Z96 "], \"mrownerconfig\": [" Z96 "]"

static int parse(const char *json)
{
	struct sn_policy_appraisal *p = NULL;
	int err = sn_policy_appraisal_parse(json, strlen(json), &p);

	sn_policy_appraisal_free(p);
	return err;
}

/* The attack: a policy that names nothing accepts any genuine VM. */
static void test_empty_policy_rejected(void **state)
{
	static const char *const permissive[] = {
		"{}",
		"{\"comment\": \"accept everything\"}",
		/* no measurements */
		"{\"backends\": [\"snp\"], " SNP_TCB "}",
		"{\"backends\": [\"snp\"], \"measurements\": [], " SNP_TCB "}",
		/* no TCB floor */
		"{\"backends\": [\"snp\"], \"measurements\": [\"" MILAN_MEAS
		"\"]}",
		/* incomplete TCB floor */
		"{\"backends\": [\"snp\"], \"measurements\": [\"" MILAN_MEAS
		"\"], \"min_tcb\": {\"snp\": 8}}",
		/* backends omitted: not a default "snp, tdx" any more */
		"{\"measurements\": [\"" MILAN_MEAS "\"], " SNP_TCB "}",
		"{\"backends\": [], \"measurements\": [\"" MILAN_MEAS
		"\"], " SNP_TCB "}",
		/* TDX without a TEE_TCB_SVN floor */
		"{\"backends\": [\"tdx\"], \"allow_any_measurement\": true}",
		/* contradiction */
		"{\"backends\": [\"snp\"], \"measurements\": [\"" MILAN_MEAS
		"\"], \"allow_any_measurement\": true, " SNP_TCB "}",
		/* unknown members stay errors */
		"{\"backends\": [\"snp\"], \"measurements\": [\"" MILAN_MEAS
		"\"], " SNP_TCB ", \"allow_any_measurment\": false}",
	};

	for (size_t i = 0; i < SN_ARRAY_SIZE(permissive); i++)
		if (parse(permissive[i]) != -EINVAL)
			fail_msg("policy accepted: %s", permissive[i]);
}

static void test_tdx_policy_requires_registers(void **state)
{
	char pol[2048];

	/* MRTD alone covers the firmware, not the kernel: RTMRs required */
	snprintf(pol, sizeof(pol),
		 "{\"backends\": [\"tdx\"], \"measurements\": [" Z96
		 "], \"tdx\": {\"min_tee_tcb_svn\": \"%032d\"}}",
		 0, 0);
	assert_int_equal(parse(pol), -EINVAL);
	snprintf(pol, sizeof(pol),
		 "{\"backends\": [\"tdx\"], \"measurements\": [" Z96
		 "], \"tdx\": {\"min_tee_tcb_svn\": \"%032d\", " TDX_REGS "}}",
		 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(parse(pol), 0);
	/* Revoked can never be accepted */
	snprintf(pol, sizeof(pol),
		 "{\"backends\": [\"tdx\"], \"measurements\": [" Z96
		 "], \"tdx\": {\"min_tee_tcb_svn\": \"%032d\", " TDX_REGS
		 ", \"accepted_tcb_status\": [\"UpToDate\", \"Revoked\"]}}",
		 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(parse(pol), -EINVAL);
	/* "tdx" member without the tdx backend is a mistake */
	snprintf(pol, sizeof(pol),
		 "{\"backends\": [\"snp\"], \"measurements\": [\"" MILAN_MEAS
		 "\"], " SNP_TCB ", \"tdx\": {\"min_tee_tcb_svn\": \"%032d\"}}",
		 0);
	assert_int_equal(parse(pol), -EINVAL);
}

static void test_explicit_policies_load(void **state)
{
	static const char *const ok[] = {
		"{\"backends\": [\"snp\"], \"measurements\": [\"" MILAN_MEAS
		"\"], " SNP_TCB "}",
		/* loud, explicit "any measurement" (logged as a warning) */
		"{\"backends\": [\"snp\"], \"allow_any_measurement\": "
		"true, " SNP_TCB "}",
		/* sim: the simulator's TCB is a constant, no floor needed */
		"{\"backends\": [\"sim\"], \"sim_ark_spki_sha256\": [], "
		"\"measurements\": [\"" MILAN_MEAS "\"]}",
	};

	for (size_t i = 0; i < SN_ARRAY_SIZE(ok); i++)
		if (parse(ok[i]) != 0)
			fail_msg("policy refused: %s", ok[i]);
}

/* No policy at all (NULL) appraises nothing as acceptable. */
static void test_no_policy_denies(void **state)
{
	struct sn_appraisal a;
	struct sn_evidence *ev = milan_ev();

	assert_int_equal(sn_appraise(ev, NULL, 0, &a), 0);
	assert_true(a.authentic);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_BACKEND_NOT_ALLOWED));
	sn_evidence_free(ev);
}

/* The default VMPL list is [0]: a report from VMPL 1+ is refused. */
static void test_default_vmpl(void **state)
{
	struct sn_policy_appraisal *p;
	struct sn_appraisal a;
	struct sn_evidence *ev = milan_ev();
	static const char pol[] =
		"{\"backends\": [\"snp\"], "
		"\"measurements\": [\"" MILAN_MEAS "\"], " SNP_TCB "}";

	assert_int_equal(sn_policy_appraisal_parse(pol, strlen(pol), &p), 0);
	assert_int_equal(sn_appraise(ev, p, 0, &a), 0);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_int_equal(a.claims.vmpl, 0);
	sn_policy_appraisal_free(p);
	sn_evidence_free(ev);
}

/* One TEE name mapping: every TEE round-trips; nothing else is a TEE. */
static void test_tee_names(void **state)
{
	static const char *const bad[] = {"",	     "SNP",  "sev",
					  "unknown", "sim ", "tdx_guest"};
	enum sn_tee t = SN_TEE_UNKNOWN;

	(void)state;
	for (int i = SN_TEE_SIM; i <= SN_TEE_TDX; i++) {
		assert_int_equal(sn_tee_from_name(sn_tee_name(i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_string_equal(sn_tee_name(SN_TEE_SNP), "snp");
	assert_string_equal(sn_tee_name(SN_TEE_UNKNOWN), "unknown");
	assert_string_equal(sn_tee_name((enum sn_tee)99), "unknown");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = SN_TEE_SNP;
		assert_int_equal(sn_tee_from_name(bad[i], &t), -EINVAL);
		assert_int_equal(t, SN_TEE_SNP); /* untouched on failure */
	}
	assert_int_equal(sn_tee_from_name(NULL, &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_policy_rejected),
		cmocka_unit_test(test_tdx_policy_requires_registers),
		cmocka_unit_test(test_explicit_policies_load),
		cmocka_unit_test(test_no_policy_denies),
		cmocka_unit_test(test_default_vmpl),
		cmocka_unit_test(test_tee_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
