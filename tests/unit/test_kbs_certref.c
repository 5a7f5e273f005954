// SPDX-License-Identifier: Apache-2.0
/*
 * Certificates by reference in POST /attest (docs/kbs-api.md
 * "Certificates by reference"): the KBS's bounded cache
 * (sn_kbs_certref_*), the request parser's object form and cert_refs
 * (sn_kbs_attest_request_parse: what is malformed), and the resolution
 * (sn_kbs_attest_evidence) appraising exactly as the full certificate
 * table: an unknown reference is -ENOENT, references to another chain's
 * certificates or to certificates a new policy refuses are still refused,
 * a restarted KBS (an empty cache) knows nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

static char tmpdir[64], plat1[128], plat2[128];
static const uint8_t ch[32] = {1}, rek[32] = {2}, meas[48] = {3};
/* the channel binding all evidence here binds (no measurement log) */
static const uint8_t cb[16] = {9}, no_log[SN_SHA384_LEN];

static int setup(void **state)
{
	char tmpl[] = "/tmp/sn-certref-XXXXXX";

	(void)state;
	sn_log_set(NULL, NULL);
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	snprintf(plat1, sizeof(plat1), "%s/p1", tmpl);
	snprintf(plat2, sizeof(plat2), "%s/p2", tmpl);
	return sn_sim_platform_init(plat1) || sn_sim_platform_init(plat2);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

/* a policy trusting the ARKs of these platforms (NULL-terminated) */
static struct sn_policy_appraisal *policy(const char *a, const char *b)
{
	const char *plats[2] = {a, b};
	char json[512], hex[65];
	size_t off;
	struct sn_policy_appraisal *p;

	off = (size_t)snprintf(json, sizeof(json),
			       "{\"backends\": [\"sim\"], "
			       "\"allow_any_measurement\": true, "
			       "\"sim_ark_spki_sha256\": [");
	for (int i = 0; i < 2 && plats[i]; i++) {
		uint8_t h[SN_SHA256_LEN];

		assert_int_equal(sn_sim_ark_spki(plats[i], h), 0);
		sn_hex_encode(h, sizeof(h), hex);
		off += (size_t)snprintf(json + off, sizeof(json) - off,
					"%s\"%s\"", i ? ", " : "", hex);
	}
	snprintf(json + off, sizeof(json) - off, "]}");
	assert_int_equal(sn_policy_appraisal_parse(json, strlen(json), &p), 0);
	return p;
}

static struct sn_evidence *produce(const char *plat)
{
	struct sn_evidence *ev = NULL;
	uint8_t rd[SN_REPORT_DATA_LEN];

	assert_int_equal(sn_report_data_binding(cb, sizeof(cb), no_log, rd), 0);
	assert_int_equal(
		sn_evidence_produce_ev(SN_TEE_SIM, plat, rd, meas, NULL, &ev),
		0);
	return ev;
}

static char *body_of(const struct sn_evidence *ev, bool by_ref)
{
	char *b = NULL;

	assert_int_equal(sn_kbs_attest_body("n1", ch, rek, ev, by_ref, &b), 0);
	return b;
}

/* ---- the cache --------------------------------------------------------- */

static void test_cache_bounded(void **state)
{
	struct sn_kbs_certref *c;
	uint8_t der[8][100], h[SN_SHA256_LEN], *got, *big;
	size_t len;

	(void)state;
	assert_int_equal(sn_kbs_certref_new(0, &c), -EINVAL);
	assert_int_equal(sn_kbs_certref_new(SN_KBS_CERTREF_CAP_MAX + 1, &c),
			 -EINVAL);
	assert_int_equal(sn_kbs_certref_new(4, &c), 0);
	for (int i = 0; i < 8; i++)
		memset(der[i], 'a' + i, sizeof(der[i]));
	SHA256(der[0], sizeof(der[0]), h);
	assert_int_equal(sn_kbs_certref_get(c, h, &got, &len), -ENOENT);
	assert_int_equal(sn_kbs_certref_add(c, der[0], sizeof(der[0])), 0);
	assert_int_equal(sn_kbs_certref_add(c, der[0], sizeof(der[0])), 0);
	assert_int_equal(sn_kbs_certref_count(c), 1);
	assert_int_equal(sn_kbs_certref_get(c, h, &got, &len), 0);
	assert_int_equal(len, sizeof(der[0]));
	assert_memory_equal(got, der[0], len);
	free(got);
	/* a reference is the hash of the exact bytes: one bit off, unknown */
	h[0] ^= 1;
	assert_int_equal(sn_kbs_certref_get(c, h, &got, &len), -ENOENT);
	/* bounded: the oldest goes first */
	for (int i = 1; i < 8; i++)
		assert_int_equal(sn_kbs_certref_add(c, der[i], sizeof(der[i])),
				 0);
	assert_int_equal(sn_kbs_certref_count(c), 4);
	SHA256(der[0], sizeof(der[0]), h);
	assert_int_equal(sn_kbs_certref_get(c, h, &got, &len), -ENOENT);
	SHA256(der[7], sizeof(der[7]), h);
	assert_int_equal(sn_kbs_certref_get(c, h, &got, &len), 0);
	free(got);
	/* nothing empty or oversized is held */
	big = calloc(1, SN_KBS_CERTREF_DER_MAX + 1);
	assert_non_null(big);
	assert_int_equal(sn_kbs_certref_add(c, big, SN_KBS_CERTREF_DER_MAX + 1),
			 -E2BIG);
	assert_int_equal(sn_kbs_certref_add(c, big, 0), -E2BIG);
	free(big);
	assert_int_equal(sn_kbs_certref_count(c), 4);
	sn_kbs_certref_free(c);
}

/* ---- the request parser -------------------------------------------------- */

static void test_parse_forms(void **state)
{
	struct sn_evidence *ev = produce(plat1);
	struct sn_kbs_attest_request r;
	char *b = body_of(ev, true);

	(void)state;
	assert_int_equal(sn_kbs_attest_request_parse(b, strlen(b), &r), 0);
	assert_non_null(r.evidence_obj);
	assert_null(r.evidence);
	assert_null(json_object_get(r.evidence_obj, "auxblob"));
	assert_int_equal(r.n_cert_refs, ev->n_certs);
	assert_true(ev->n_certs == 3);
	for (size_t i = 0; i < ev->n_certs; i++) {
		uint8_t h[SN_SHA256_LEN];

		SHA256(ev->certs[i].der, ev->certs[i].len, h);
		assert_memory_equal(r.cert_refs[i], h, sizeof(h));
	}
	sn_kbs_attest_request_clear(&r);
	free(b);
	b = body_of(ev, false);
	assert_int_equal(sn_kbs_attest_request_parse(b, strlen(b), &r), 0);
	assert_non_null(r.evidence_obj);
	assert_int_equal(r.n_cert_refs, 0);
	assert_non_null(json_object_get(r.evidence_obj, "auxblob"));
	sn_kbs_attest_request_clear(&r);
	free(b);
	sn_evidence_free(ev);
}

/* the by-reference body of plat1's evidence with member key of the
 * evidence object (in_ev) or of the body set to v (NULL: deleted);
 * parsing it must fail */
static void refused(const char *key, json_t *v, bool in_ev)
{
	struct sn_evidence *ev = produce(plat1);
	char *b = body_of(ev, true), *nb;
	json_t *o = json_loads(b, 0, NULL), *t;
	struct sn_kbs_attest_request r;

	assert_non_null(o);
	t = in_ev ? json_object_get(o, "evidence") : o;
	if (v)
		json_object_set_new(t, key, v);
	else
		json_object_del(t, key);
	nb = json_dumps(o, JSON_COMPACT);
	if (sn_kbs_attest_request_parse(nb, strlen(nb), &r) != -EINVAL) {
		print_error("accepted: %s\n", nb);
		fail();
	}
	free(nb);
	json_decref(o);
	free(b);
	sn_evidence_free(ev);
}

static json_t *refs_of(size_t n, size_t bytes, bool dup)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		uint8_t raw[64] = {0};
		char *s;

		raw[0] = dup ? 0 : (uint8_t)i;
		assert_int_equal(sn_kbs_b64url_encode(raw, bytes, &s), 0);
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return a;
}

static void test_parse_refused(void **state)
{
	struct sn_evidence *ev = produce(plat1);
	struct sn_kbs_attest_request r;
	char *full = body_of(ev, false), *nb;
	json_t *o;

	(void)state;
	refused("cert_refs", refs_of(1, 31, false), false);  /* short */
	refused("cert_refs", refs_of(1, 33, false), false);  /* long */
	refused("cert_refs", refs_of(0, 32, false), false);  /* empty */
	refused("cert_refs", refs_of(17, 32, false), false); /* too many */
	refused("cert_refs", refs_of(2, 32, true), false);   /* duplicate */
	refused("cert_refs", json_pack("[s]", "not base64url!!"), false);
	refused("cert_refs", json_pack("[s]", "AAAA"), false);
	refused("cert_refs", json_pack("[i]", 7), false);
	refused("cert_refs", json_string("AAAA"), false);
	refused("cert_refs", json_null(), false);
	/* with a certificate table too, or for TDX (its quote holds them) */
	refused("auxblob", json_string("AAAA"), true);
	refused("provider", json_string("tdx_guest"), true);
	/* the evidence object: configfs-tsm members only, strings */
	refused("outblob", NULL, true);
	refused("outblob", json_integer(1), true);
	refused("mlog", json_null(), true);
	refused("x", json_string("AAAA"), true);
	refused("provider", json_string(""), true);
	refused("provider", json_string("a-provider-name-of-32-bytes-long"),
		true);
	refused("evidence", json_integer(1), false);
	refused("evidence", json_array(), false);
	refused("extra", json_true(), false);
	/* cert_refs with the string form */
	o = json_loads(full, 0, NULL);
	json_object_set_new(o, "evidence", json_string("AAAA"));
	json_object_set_new(o, "cert_refs", refs_of(1, 32, false));
	nb = json_dumps(o, JSON_COMPACT);
	assert_int_equal(sn_kbs_attest_request_parse(nb, strlen(nb), &r),
			 -EINVAL);
	free(nb);
	json_decref(o);
	free(full);
	sn_evidence_free(ev);
}

/* ---- resolution and appraisal ---------------------------------------------
 */

/* appraise body as the KBS does: parse, resolve in c, sn_appraise_bound_ev
 * with p; -ENOENT (unknown references), else 0 and the verdict; accepted
 * evidence's certificates go into c */
static int kbs_appraise(struct sn_kbs_certref *c, const char *body,
			const struct sn_policy_appraisal *p,
			struct sn_appraisal *a)
{
	struct sn_kbs_attest_request r;
	struct sn_evidence *ev = NULL;
	char *unknown = NULL;
	const struct sn_appraise_binding b = {.channel_binding = cb,
					      .cb_len = sizeof(cb)};
	int err;

	assert_int_equal(sn_kbs_attest_request_parse(body, strlen(body), &r),
			 0);
	err = sn_kbs_attest_evidence(c, &r, &ev, &unknown);
	if (err == -ENOENT) {
		json_t *u = json_loads(unknown, 0, NULL);

		/* the unknown references are listed, no more than were sent */
		assert_true(json_array_size(u) >= 1);
		assert_true(json_array_size(u) <= r.n_cert_refs);
		assert_string_equal(json_string_value(json_object_get(
					    json_array_get(u, 0), "reason")),
				    "certificate-unknown");
		json_decref(u);
		free(unknown);
		sn_kbs_attest_request_clear(&r);
		return err;
	}
	assert_int_equal(err, 0);
	assert_int_equal(sn_appraise_bound_ev(ev, p, 0, &b, a), 0);
	for (size_t i = 0; a->accepted && i < ev->n_certs; i++)
		assert_int_equal(sn_kbs_certref_add(c, ev->certs[i].der,
						    ev->certs[i].len),
				 0);
	sn_evidence_free(ev);
	sn_kbs_attest_request_clear(&r);
	return 0;
}

static void test_resolve(void **state)
{
	struct sn_policy_appraisal *p1 = policy(plat1, NULL),
				   *p2 = policy(plat2, NULL),
				   *p12 = policy(plat1, plat2);
	struct sn_evidence *e1 = produce(plat1), *e2 = produce(plat2);
	char *ref1 = body_of(e1, true), *full1 = body_of(e1, false);
	char *ref2 = body_of(e2, true), *full2 = body_of(e2, false);
	struct sn_kbs_certref *c;
	struct sn_appraisal a;

	(void)state;
	assert_int_equal(sn_kbs_certref_new(16, &c), 0);
	/* nothing held: every reference unknown */
	assert_int_equal(kbs_appraise(c, ref1, p1, &a), -ENOENT);
	/* in full: accepted, and from then on by reference: accepted */
	assert_int_equal(kbs_appraise(c, full1, p1, &a), 0);
	assert_true(a.accepted);
	assert_int_equal(sn_kbs_certref_count(c), 3);
	assert_int_equal(kbs_appraise(c, ref1, p1, &a), 0);
	assert_true(a.accepted);
	/* a chain the policy refuses never enters the cache */
	assert_int_equal(kbs_appraise(c, full2, p1, &a), 0);
	assert_false(a.accepted);
	assert_int_equal(kbs_appraise(c, ref2, p1, &a), -ENOENT);
	/* a new policy refusing plat1's root: by reference as in full */
	assert_int_equal(kbs_appraise(c, ref1, p2, &a), 0);
	assert_false(a.accepted);
	assert_true(sn_appraisal_has(&a, SN_R_ROOT_NOT_TRUSTED));
	assert_int_equal(kbs_appraise(c, full1, p2, &a), 0);
	assert_false(a.accepted);
	/* both chains held; plat1's report naming plat2's certificates: its
	 * signature is not plat2's VCEK's */
	assert_int_equal(kbs_appraise(c, full2, p12, &a), 0);
	assert_true(a.accepted);
	{
		json_t *o1 = json_loads(ref1, 0, NULL),
		       *o2 = json_loads(ref2, 0, NULL);
		char *mixed;

		json_object_set(o1, "cert_refs",
				json_object_get(o2, "cert_refs"));
		mixed = json_dumps(o1, JSON_COMPACT);
		assert_int_equal(kbs_appraise(c, mixed, p12, &a), 0);
		assert_false(a.accepted);
		assert_true(sn_appraisal_has(&a, SN_R_BAD_SIGNATURE) ||
			    sn_appraisal_has(&a, SN_R_CHIP_ID_MISMATCH));
		free(mixed);
		json_decref(o1);
		json_decref(o2);
	}
	/* a restarted KBS: an empty cache knows no reference */
	sn_kbs_certref_free(c);
	assert_int_equal(sn_kbs_certref_new(16, &c), 0);
	assert_int_equal(kbs_appraise(c, ref1, p12, &a), -ENOENT);
	assert_int_equal(kbs_appraise(c, full1, p12, &a), 0);
	assert_true(a.accepted);
	assert_int_equal(kbs_appraise(c, ref1, p12, &a), 0);
	assert_true(a.accepted);
	sn_kbs_certref_free(c);
	free(ref1);
	free(full1);
	free(ref2);
	free(full2);
	sn_evidence_free(e1);
	sn_evidence_free(e2);
	sn_policy_appraisal_free(p1);
	sn_policy_appraisal_free(p2);
	sn_policy_appraisal_free(p12);
}

/* the object form gives the evidence the string form gives */
static void test_same_evidence(void **state)
{
	struct sn_evidence *e = produce(plat1), *a = NULL, *b = NULL;
	struct sn_kbs_attest_request r;
	struct sn_kbs_certref *c;
	char *full = body_of(e, false), *ref = body_of(e, true), *u = NULL;
	uint8_t *ser;
	size_t len;

	(void)state;
	assert_int_equal(sn_kbs_certref_new(8, &c), 0);
	for (size_t i = 0; i < e->n_certs; i++)
		sn_kbs_certref_add(c, e->certs[i].der, e->certs[i].len);
	assert_int_equal(sn_kbs_attest_request_parse(full, strlen(full), &r),
			 0);
	assert_int_equal(sn_kbs_attest_evidence(c, &r, &a, &u), 0);
	sn_kbs_attest_request_clear(&r);
	assert_int_equal(sn_kbs_attest_request_parse(ref, strlen(ref), &r), 0);
	assert_int_equal(sn_kbs_attest_evidence(c, &r, &b, &u), 0);
	sn_kbs_attest_request_clear(&r);
	assert_int_equal(sn_evidence_serialize(e, &ser, &len), 0);
	for (struct sn_evidence *x = a; x; x = x == a ? b : NULL) {
		assert_int_equal(x->report_len, e->report_len);
		assert_memory_equal(x->report, e->report, e->report_len);
		assert_int_equal(x->n_certs, e->n_certs);
		for (size_t i = 0; i < e->n_certs; i++) {
			assert_int_equal(x->certs[i].len, e->certs[i].len);
			assert_memory_equal(x->certs[i].der, e->certs[i].der,
					    e->certs[i].len);
		}
		assert_string_equal(x->provider, e->provider);
	}
	free(ser);
	sn_evidence_free(a);
	sn_evidence_free(b);
	sn_evidence_free(e);
	sn_kbs_certref_free(c);
	free(full);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_bounded),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_same_evidence),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
