// SPDX-License-Identifier: Apache-2.0
/*
 * Issue 9 item 9: TDX appraisal with Intel PCS collateral.  The real
 * Sapphire Rapids quote against the real TCB info / QE identity / CRLs of
 * ../shared/testdata/tdx/ and Intel's TCB signing chain (data/), at a time
 * inside the collateral's validity; then every alteration rejected with
 * its named reason.  Alterations of the parsed collateral (not of its
 * signed bytes) test each check alone: the signatures still verify.
 */
#include "ev_helpers.h"

#include <openssl/pem.h>

#include "../../../lib/evidence/verify/verify.h"

#define Z96 "%096d"

static const char *const rtmr[4] = {
	"2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823a"
	"df08f833c1e50b51779c6593f32a",
	"2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b5"
	"6d035c59107c6bc5800db2cacb61",
	"8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c73"
	"68b3c2287fc7c3bf5c924eb4424e",
	"0000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000",
};
static const char mrtd[] =
	"6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc"
	"00b8dcd404bc10d5e119d7215cbb";

/* inside every validity window (TCB info from 06-18, QE identity and PCK
 * CRL until 07-08) */
#define AT ymd(2023, 6, 20)

struct files {
	uint8_t *b[5];
	size_t len[5];
};

static const char *chain_path(void)
{
	static char p[4096];
	const char *d = getenv("SEALNET_TESTSRC");

	snprintf(p, sizeof(p), "%s/tdx-issuer-chain.pem",
		 d ? d : "tests/unit/evidence/data");
	return p;
}

static void files_read(struct files *f)
{
	static const char *const rel[5] = {
		"tdx/sample_tcbInfo_response", "tdx/sample_qeIdentity_response",
		NULL, "tdx/pckcrl", "tdx/rootcrl.der"};

	for (int i = 0; i < 5; i++) {
		if (rel[i])
			f->b[i] = td_read(rel[i], &f->len[i]);
		else
			assert_int_equal(sn_read_file(chain_path(), 1 << 20,
						      &f->b[i], &f->len[i]),
					 0);
	}
}

static void files_free(struct files *f)
{
	for (int i = 0; i < 5; i++)
		free(f->b[i]);
}

static struct sn_tdx_collateral *coll_from(const struct files *f)
{
	struct sn_tdx_collateral_src src = {
		.tcb_info = f->b[0],
		.tcb_info_len = f->len[0],
		.qe_identity = f->b[1],
		.qe_identity_len = f->len[1],
		.issuer_chain = f->b[2],
		.issuer_chain_len = f->len[2],
		.pck_crl = f->b[3],
		.pck_crl_len = f->len[3],
		.root_crl = f->b[4],
		.root_crl_len = f->len[4],
	};
	struct sn_tdx_collateral *c = NULL;

	assert_int_equal(sn_tdx_collateral_parse(&src, &c), 0);
	return c;
}

static struct sn_tdx_collateral *real_coll(void)
{
	struct files f;
	struct sn_tdx_collateral *c;

	files_read(&f);
	c = coll_from(&f);
	files_free(&f);
	return c;
}

static struct sn_evidence *quote(void)
{
	size_t len;
	uint8_t *q = td_read("tdx/spr-e4-quote-v4.dat", &len);
	struct sn_evidence *ev = NULL;

	assert_int_equal(sn_evidence_parse(q, len, &ev), 0);
	free(q);
	return ev;
}

static void verify_at(const struct sn_tdx_collateral *c, time_t at,
		      struct sn_appraisal *a)
{
	struct sn_evidence *ev = quote();
	struct sn_verify_opts o = {.at = at, .tdx_collateral = c};

	assert_int_equal(sn_evidence_verify(ev, &o, a), 0);
	sn_evidence_free(ev);
}

static void expect_reason(const struct sn_appraisal *a, enum sn_reason r,
			  const char *what)
{
	assert_false(a->accepted);
	if (!sn_appraisal_has(a, r)) {
		dump_reasons(a);
		fail_msg("%s: expected reason %s", what, sn_reason_name(r));
	}
}

/* A policy for this quote; extra is appended inside "tdx". */
static struct sn_policy_appraisal *policy(const char *min_svn,
					  const char *extra)
{
	struct sn_policy_appraisal *p = NULL;
	char json[4096];

	snprintf(json, sizeof(json),
		 "{\"backends\": [\"tdx\"], \"measurements\": [\"%s\"], "
		 "\"tdx\": {\"min_tee_tcb_svn\": \"%s\", \"rtmr0\": \"%s\", "
		 "\"rtmr1\": [\"%s\"], \"rtmr2\": [\"%s\"], \"rtmr3\": "
		 "[\"%s\"], "
		 "\"mrconfigid\": \"" Z96 "\", \"mrowner\": \"" Z96 "\", "
		 "\"mrownerconfig\": \"" Z96 "\"%s}}",
		 mrtd, min_svn, rtmr[0], rtmr[1], rtmr[2], rtmr[3], 0, 0, 0,
		 extra);
	assert_int_equal(sn_policy_appraisal_parse(json, strlen(json), &p), 0);
	return p;
}

static void appraise(struct sn_policy_appraisal *p, struct sn_tdx_collateral *c,
		     time_t at, struct sn_appraisal *a)
{
	struct sn_evidence *ev = quote();

	if (c)
		sn_policy_appraisal_set_tdx_collateral(p, c);
	assert_int_equal(sn_appraise(ev, p, at, a), 0);
	sn_evidence_free(ev);
}

#define SVN_FLOOR "03000400000000000000000000000000"

/* The real quote and collateral: authentic; QE UpToDate; the platform's
 * TEE_TCB_SVN (03 00 04) is below every TCB level's TDX components
 * (03 00 05), so no level matches (Intel: "TCB level not supported"). */
static void test_real_collateral(void **state)
{
	struct sn_tdx_collateral *c = real_coll();
	struct sn_policy_appraisal *p;
	struct sn_pck_tcb t;
	struct sn_appraisal a;

	verify_at(c, AT, &a);
	dump_reasons(&a);
	assert_true(a.authentic);
	assert_true(a.tdx_tcb.evaluated);
	assert_int_equal(a.tdx_tcb.qe, SN_TCB_UP_TO_DATE);
	assert_int_equal(a.tdx_tcb.platform, SN_TCB_NO_MATCH);
	assert_memory_equal(a.tdx_tcb.fmspc, "\x50\x80\x6f\x00\x00\x00", 6);
	sn_tdx_collateral_free(c);

	/* the appraisal: every register matches, the status does not */
	p = policy(SVN_FLOOR, "");
	appraise(p, real_coll(), AT, &a);
	assert_true(a.authentic);
	expect_reason(&a, SN_R_TCB_STATUS, "real collateral");
	assert_int_equal(a.n_reasons, 1);
	sn_policy_appraisal_free(p);

	/* the PCK certificate's SGX extension */
	{
		size_t len;
		uint8_t *q = td_read("tdx/spr-e4-quote-v4.dat", &len);
		struct sn_tdx_parts parts;
		BIO *bio;
		X509 *x;

		assert_int_equal(sn_tdx_quote_split(q, len, &parts), 0);
		bio = BIO_new_mem_buf(parts.pck_pem, (int)parts.pck_len);
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		assert_non_null(x);
		assert_int_equal(sn_pck_tcb_parse(x, &t), 0);
		assert_memory_equal(t.fmspc, "\x50\x80\x6f\x00\x00\x00", 6);
		assert_int_equal(t.pcesvn, 11);
		assert_int_equal(t.comp[0], 3);
		assert_int_equal(t.comp[4], 2);
		assert_int_equal(t.comp[7], 2);
		assert_int_equal(t.comp[15], 0);
		X509_free(x);
		BIO_free(bio);
		free(q);
	}
}

/* Lower a level to what this platform has: PCK SGX components
 * 3 3 2 2 2 1 0 2 0.. (levels want 5 5 2 2 3 1 0 3 0..) and TEE_TCB_SVN
 * 03 00 04 (levels want 03 00 05). */
static void lower(struct sn_tdx_level *l)
{
	static const uint8_t pck[16] = {3, 3, 2, 2, 2, 1, 0, 2};

	memcpy(l->sgx, pck, 16);
	l->tdx[2] = 4;
}

/* With a level lowered to what the platform has, the status is that
 * level's and the policy accepts UpToDate; OutOfDate only when the policy
 * allows it. */
static void test_status_levels(void **state)
{
	struct sn_policy_appraisal *p;
	struct sn_tdx_collateral *c;
	struct sn_appraisal a;

	c = real_coll();
	lower(&c->levels[0]);
	p = policy(SVN_FLOOR, "");
	appraise(p, c, AT, &a);
	dump_reasons(&a);
	assert_true(a.accepted);
	assert_int_equal(a.tdx_tcb.platform, SN_TCB_UP_TO_DATE);
	sn_policy_appraisal_free(p);

	/* the PCK's PCESVN (11) is below level 0's: level 1, OutOfDate */
	c = real_coll();
	lower(&c->levels[0]);
	c->levels[0].pcesvn = 12;
	lower(&c->levels[1]);
	p = policy(SVN_FLOOR, "");
	appraise(p, c, AT, &a);
	assert_int_equal(a.tdx_tcb.platform, SN_TCB_OUT_OF_DATE);
	expect_reason(&a, SN_R_TCB_STATUS, "OutOfDate, default policy");
	sn_policy_appraisal_free(p);
	c = real_coll();
	lower(&c->levels[0]);
	c->levels[0].pcesvn = 12;
	lower(&c->levels[1]);
	p = policy(SVN_FLOOR, ", \"accepted_tcb_status\": [\"UpToDate\", "
			      "\"OutOfDate\"]");
	appraise(p, c, AT, &a);
	dump_reasons(&a);
	assert_true(a.accepted);
	sn_policy_appraisal_free(p);
}

static void test_tcb_below_floor(void **state)
{
	struct sn_policy_appraisal *p =
		policy("03000500000000000000000000000000", "");
	struct sn_tdx_collateral *c = real_coll();
	struct sn_appraisal a;

	lower(&c->levels[0]);
	appraise(p, c, AT, &a);
	expect_reason(&a, SN_R_TCB_TOO_LOW, "TEE_TCB_SVN floor");
	assert_int_equal(a.n_reasons, 1);
	sn_policy_appraisal_free(p);
}

static void test_register_mismatch(void **state)
{
	struct sn_policy_appraisal *p = NULL;
	struct sn_tdx_collateral *c = real_coll();
	struct sn_appraisal a;
	char json[4096];

	lower(&c->levels[0]);
	/* rtmr1 (the kernel) differs; mrowner differs */
	snprintf(json, sizeof(json),
		 "{\"backends\": [\"tdx\"], \"measurements\": [\"%s\"], "
		 "\"tdx\": {\"min_tee_tcb_svn\": \"" SVN_FLOOR "\", "
		 "\"rtmr0\": \"%s\", \"rtmr1\": [\"" Z96 "\"], \"rtmr2\": "
		 "[\"%s\"], \"rtmr3\": [\"%s\"], \"mrconfigid\": \"" Z96 "\", "
		 "\"mrowner\": \"" Z96 "\", \"mrownerconfig\": \"" Z96 "\"}}",
		 mrtd, rtmr[0], 1, rtmr[2], rtmr[3], 0, 7, 0);
	assert_int_equal(sn_policy_appraisal_parse(json, strlen(json), &p), 0);
	appraise(p, c, AT, &a);
	expect_reason(&a, SN_R_RTMR, "rtmr1");
	expect_reason(&a, SN_R_TD_CONFIG, "mrowner");
	assert_int_equal(a.n_reasons, 2);
	sn_policy_appraisal_free(p);
}

static void test_collateral_expired(void **state)
{
	struct sn_tdx_collateral *c = real_coll();
	struct sn_appraisal a;

	verify_at(c, ymd(2023, 8, 1), &a); /* after every nextUpdate */
	expect_reason(&a, SN_R_COLLATERAL_EXPIRED, "after nextUpdate");
	verify_at(c, ymd(2023, 6, 10), &a); /* before the TCB info */
	expect_reason(&a, SN_R_COLLATERAL_EXPIRED, "before issueDate");
	sn_tdx_collateral_free(c);
}

/* Alterations of the signed bytes: the signature no longer verifies. */
static void test_collateral_signature(void **state)
{
	static const struct {
		int file;
		const char *from, *to;
		enum sn_reason r;
	} alter[] = {
		{0, "\"tcbEvaluationDataNumber\":15",
		 "\"tcbEvaluationDataNumber\":16", SN_R_COLLATERAL_SIGNATURE},
		{0, "\"svn\":3,\"category\":\"OS/VMM\",\"type\":\"TDX Module\"",
		 "\"svn\":2,\"category\":\"OS/VMM\",\"type\":\"TDX Module\"",
		 SN_R_COLLATERAL_SIGNATURE},
		{0, "\"signature\":\"f6", "\"signature\":\"f7",
		 SN_R_COLLATERAL_SIGNATURE},
		{1, "\"isvprodid\":2", "\"isvprodid\":3",
		 SN_R_COLLATERAL_SIGNATURE},
		{1, "\"nextUpdate\":\"2023-07-08",
		 "\"nextUpdate\":\"2024-07-08", SN_R_COLLATERAL_SIGNATURE},
	};
	struct sn_appraisal a;

	for (size_t i = 0; i < SN_ARRAY_SIZE(alter); i++) {
		struct files f;
		struct sn_tdx_collateral *c;
		uint8_t *at;
		size_t n = strlen(alter[i].from);

		files_read(&f);
		at = memmem(f.b[alter[i].file], f.len[alter[i].file],
			    alter[i].from, n);
		assert_non_null(at);
		assert_int_equal(n, strlen(alter[i].to));
		memcpy(at, alter[i].to, n);
		c = coll_from(&f);
		verify_at(c, AT, &a);
		expect_reason(&a, alter[i].r, alter[i].from);
		sn_tdx_collateral_free(c);
		files_free(&f);
	}
}

/* The issuer chain and CRLs: wrong signer, swapped or altered CRLs. */
static void test_collateral_chain_and_crls(void **state)
{
	struct files f;
	struct sn_tdx_collateral *c;
	struct sn_appraisal a;
	uint8_t *tmp;
	size_t tl;

	/* the PCK chain (no TCB Signing certificate) as issuer chain */
	files_read(&f);
	free(f.b[2]);
	f.b[2] = td_read("tdx/spr-e4-quote-v4.dat", &f.len[2]);
	c = coll_from(&f);
	verify_at(c, AT, &a);
	expect_reason(&a, SN_R_COLLATERAL_SIGNATURE, "PCK chain as signer");
	sn_tdx_collateral_free(c);
	files_free(&f);

	/* the two CRLs swapped */
	files_read(&f);
	tmp = f.b[3], tl = f.len[3];
	f.b[3] = f.b[4], f.len[3] = f.len[4];
	f.b[4] = tmp, f.len[4] = tl;
	c = coll_from(&f);
	verify_at(c, AT, &a);
	expect_reason(&a, SN_R_COLLATERAL_SIGNATURE, "CRLs swapped");
	sn_tdx_collateral_free(c);
	files_free(&f);

	/* a byte of the root CRL's signature */
	files_read(&f);
	f.b[4][f.len[4] - 3] ^= 1;
	c = coll_from(&f);
	verify_at(c, AT, &a);
	expect_reason(&a, SN_R_COLLATERAL_SIGNATURE, "root CRL altered");
	sn_tdx_collateral_free(c);
	files_free(&f);
}

/* Each QE identity field and the platform identity, checked alone. */
static void test_qe_identity_and_platform(void **state)
{
	struct sn_tdx_collateral *c;
	struct sn_appraisal a;

	for (int i = 0; i < 5; i++) {
		c = real_coll();
		switch (i) {
		case 0:
			c->qe_mrsigner[0] ^= 1;
			break;
		case 1:
			c->qe_isvprodid = 3;
			break;
		case 2:
			c->qe_attr[0] ^= 0x04; /* a masked-in bit */
			break;
		case 3:
			c->qe_miscselect[0] = 1;
			break;
		case 4: /* the QE's ISVSVN (4) is below every level */
			c->qe_levels[0].isvsvn = 5;
			break;
		}
		verify_at(c, AT, &a);
		if (i < 4) {
			expect_reason(&a, SN_R_QE_IDENTITY, "QE identity");
			assert_int_equal(a.n_reasons, 1);
		} else {
			assert_true(a.authentic);
			assert_int_equal(a.tdx_tcb.qe, SN_TCB_NO_MATCH);
		}
		sn_tdx_collateral_free(c);
	}
	c = real_coll();
	c->fmspc[5] = 1;
	verify_at(c, AT, &a);
	expect_reason(&a, SN_R_COLLATERAL_MISMATCH, "FMSPC");
	sn_tdx_collateral_free(c);
	c = real_coll();
	c->module_mrsigner[0] = 1;
	verify_at(c, AT, &a);
	expect_reason(&a, SN_R_COLLATERAL_MISMATCH, "MRSIGNERSEAM");
	sn_tdx_collateral_free(c);
}

static void test_collateral_missing(void **state)
{
	struct sn_policy_appraisal *p = policy(SVN_FLOOR, "");
	struct sn_appraisal a;

	appraise(p, NULL, AT, &a);
	expect_reason(&a, SN_R_COLLATERAL_MISSING, "no collateral");
	sn_policy_appraisal_free(p);
}

static void test_collateral_malformed(void **state)
{
	struct files f;
	struct sn_tdx_collateral *c = NULL;
	struct sn_tdx_collateral_src src = {0};

	assert_int_equal(sn_tdx_collateral_parse(&src, &c), -EINVAL);
	files_read(&f);
	for (size_t l = 0; l < f.len[0]; l += 101) {
		struct files g = f;

		g.len[0] = l;
		src = (struct sn_tdx_collateral_src){
			.tcb_info = g.b[0],
			.tcb_info_len = g.len[0],
			.qe_identity = g.b[1],
			.qe_identity_len = g.len[1],
			.issuer_chain = g.b[2],
			.issuer_chain_len = g.len[2],
			.pck_crl = g.b[3],
			.pck_crl_len = g.len[3],
			.root_crl = g.b[4],
			.root_crl_len = g.len[4],
		};
		assert_int_equal(sn_tdx_collateral_parse(&src, &c), -EINVAL);
	}
	assert_null(c);
	files_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_collateral),
		cmocka_unit_test(test_status_levels),
		cmocka_unit_test(test_tcb_below_floor),
		cmocka_unit_test(test_register_mismatch),
		cmocka_unit_test(test_collateral_expired),
		cmocka_unit_test(test_collateral_signature),
		cmocka_unit_test(test_collateral_chain_and_crls),
		cmocka_unit_test(test_qe_identity_and_platform),
		cmocka_unit_test(test_collateral_missing),
		cmocka_unit_test(test_collateral_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
