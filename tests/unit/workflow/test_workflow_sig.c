// SPDX-License-Identifier: Apache-2.0
/* Workflow signatures: valid only when every domain signed the digest
 * with a key it lists.  Missing domain, bad signature, a byte flipped in
 * the manifest, a key the domain does not list, another domain's key,
 * a stray entry, a malformed envelope: each refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sealnet/util.h"
#include "wf_helpers.h"

static struct wf_keys keys;
static struct sn_wf_diag diag;

static int setup(void **state)
{
	wf_keys_make(&keys);
	return 0;
}

static int teardown(void **state)
{
	wf_keys_remove(&keys);
	return 0;
}

static struct sn_workflow *example(void)
{
	json_t *t = wf_example_tree(&keys);
	char *s = wf_text(t);
	struct sn_workflow *wf = NULL;

	assert_int_equal(sn_workflow_parse(s, strlen(s), &wf, &diag), 0);
	free(s);
	json_decref(t);
	return wf;
}

static void sign(const struct sn_workflow *wf, const char *domain,
		 const char *key, struct sn_wf_sigset **s, int want)
{
	char path[128];

	wf_keys_path(&keys, key, path, sizeof(path));
	assert_int_equal(sn_workflow_sign(wf, domain, path, s, &diag), want);
}

static int verify(const struct sn_workflow *wf, const struct sn_wf_sigset *s,
		  enum sn_wf_sig_status hospital, enum sn_wf_sig_status lab)
{
	struct sn_wf_verify_result r;
	int err = sn_workflow_verify_sigs(wf, s, &r, &diag);

	assert_int_equal(r.n_domains, 2);
	assert_int_equal(r.domain_status[0], hospital);
	assert_int_equal(r.domain_status[1], lab);
	sn_wf_verify_result_free(&r);
	return err;
}

static void all_signed(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_sigset *s = NULL, *back = NULL;
	char *txt = NULL;

	sign(wf, "hospital", "hospital", &s, 0);
	sign(wf, "lab", "lab", &s, 0);
	assert_int_equal(s->n_sigs, 2);
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_OK), 0);
	/* re-signing replaces, does not add */
	sign(wf, "lab", "lab", &s, 0);
	assert_int_equal(s->n_sigs, 2);
	/* the envelope survives a round trip */
	assert_int_equal(sn_wf_sigset_dump(s, &txt), 0);
	assert_int_equal(sn_wf_sigset_parse(txt, strlen(txt), &back, &diag), 0);
	assert_int_equal(verify(wf, back, SN_WF_SIG_OK, SN_WF_SIG_OK), 0);
	free(txt);
	sn_wf_sigset_free(back);
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
}

static void missing_domain(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_sigset *s = NULL;

	sign(wf, "hospital", "hospital", &s, 0);
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_MISSING),
			 -ENOKEY);
	assert_true(wf_diag_has(&diag, "$.signatures", "'lab' has not signed"));
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
}

static void bad_signature(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_sigset *s = NULL;

	sign(wf, "hospital", "hospital", &s, 0);
	sign(wf, "lab", "lab", &s, 0);
	s->sigs[1].sig[17] ^= 0x01;
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_BAD), -EBADMSG);
	assert_true(wf_diag_has(&diag, "$.signatures[1]", "does not verify"));
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
}

/* a byte of the manifest flipped after signing: its digest changes */
static void manifest_byte_flipped(void **state)
{
	json_t *t = wf_example_tree(&keys);
	char *txt = wf_text(t), *p;
	struct sn_workflow *wf = example(), *wf2 = NULL;
	struct sn_wf_sigset *s = NULL;

	sign(wf, "hospital", "hospital", &s, 0);
	sign(wf, "lab", "lab", &s, 0);
	p = strstr(txt, "5001");
	assert_non_null(p);
	p[3] ^= 0x01; /* 5001 -> 5000 */
	assert_int_equal(sn_workflow_parse(txt, strlen(txt), &wf2, &diag), 0);
	assert_memory_not_equal(wf->digest, wf2->digest, SN_WF_DIGEST_LEN);
	assert_int_equal(
		verify(wf2, s, SN_WF_SIG_WRONG_DIGEST, SN_WF_SIG_WRONG_DIGEST),
		-EBADMSG);
	assert_true(
		wf_diag_has(&diag, "$.workflow_digest", "another manifest"));
	/* the same with the envelope's digest rewritten to match: the
	 * signatures themselves then fail */
	memcpy(s->digest, wf2->digest, SN_WF_DIGEST_LEN);
	assert_int_equal(verify(wf2, s, SN_WF_SIG_BAD, SN_WF_SIG_BAD),
			 -EBADMSG);
	/* and signing the new manifest into the old file is refused */
	sign(wf2, "lab", "lab", &s, 0); /* digest now matches: allowed */
	memcpy(s->digest, wf->digest, SN_WF_DIGEST_LEN);
	sign(wf2, "lab", "lab", &s, -ESTALE);
	free(txt);
	json_decref(t);
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
	sn_workflow_free(wf2);
}

/* sign msg with the private key in keys/<name>.key, no listing check */
static void raw_sign(const char *name, const char *domain,
		     const uint8_t digest[SN_WF_DIGEST_LEN],
		     struct sn_wf_sig *g)
{
	char path[128];
	uint8_t msg[SN_WF_SIG_MSG_MAX], pub[32];
	size_t mlen, n = SN_WF_SIG_LEN, pl = 32;
	FILE *f;
	EVP_PKEY *k;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	wf_keys_path(&keys, name, path, sizeof(path));
	f = fopen(path, "r");
	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	assert_int_equal(sn_wf_sig_message(domain, digest, msg, &mlen), 0);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, g->sig, &n, msg, mlen), 1);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &pl), 1);
	EVP_Q_digest(NULL, "SHA256", NULL, pub, 32, g->key_fpr, NULL);
	snprintf(g->domain, sizeof(g->domain), "%s", domain);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
}

static void key_not_listed(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_sigset *s = NULL;

	/* the library refuses to sign with it */
	sign(wf, "lab", "other", &s, -EKEYREJECTED);
	assert_null(s);
	/* a signature made with it anyway is refused */
	sign(wf, "hospital", "hospital", &s, 0);
	sign(wf, "lab", "lab", &s, 0);
	raw_sign("other", "lab", wf->digest, &s->sigs[1]);
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_UNKNOWN_KEY),
			 -EBADMSG);
	assert_true(wf_diag_has(&diag, "$.signatures[1]", "does not list"));
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
}

/* lab's key signing for the hospital: not one of the hospital's keys */
static void other_domains_key(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_sigset *s = NULL;

	sign(wf, "hospital", "lab", &s, -EKEYREJECTED);
	sign(wf, "hospital", "hospital", &s, 0);
	sign(wf, "lab", "lab", &s, 0);
	raw_sign("lab", "hospital", wf->digest, &s->sigs[0]);
	assert_int_equal(verify(wf, s, SN_WF_SIG_UNKNOWN_KEY, SN_WF_SIG_OK),
			 -EBADMSG);
	/* lab's valid signature copied into the hospital's entry (with the
	 * hospital's fingerprint): refused */
	sign(wf, "hospital", "hospital", &s, 0);
	memcpy(s->sigs[0].sig, s->sigs[1].sig, SN_WF_SIG_LEN);
	assert_int_equal(verify(wf, s, SN_WF_SIG_BAD, SN_WF_SIG_OK), -EBADMSG);
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
}

/* The signed bytes name the domain: were one key listed by two domains
 * (lint refuses it; forced here in memory), a signature made for one
 * domain still does not count for the other. */
static void signature_bound_to_domain(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_sigset *s = NULL;

	sign(wf, "hospital", "hospital", &s, 0);
	sign(wf, "lab", "lab", &s, 0);
	wf->domains[1].keys[0] = wf->domains[0].keys[0];
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_UNKNOWN_KEY),
			 -EBADMSG);
	/* the hospital's signature presented as lab's */
	memcpy(s->sigs[1].key_fpr, s->sigs[0].key_fpr, SN_WF_FPR_LEN);
	memcpy(s->sigs[1].sig, s->sigs[0].sig, SN_WF_SIG_LEN);
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_BAD), -EBADMSG);
	/* while a signature made for lab with that key verifies */
	raw_sign("hospital", "lab", wf->digest, &s->sigs[1]);
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_OK), 0);
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
}

static void stray_entry(void **state)
{
	struct sn_workflow *wf = example();
	struct sn_wf_sigset *s = NULL;

	sign(wf, "hospital", "hospital", &s, 0);
	sign(wf, "lab", "lab", &s, 0);
	snprintf(s->sigs[1].domain, sizeof(s->sigs[1].domain), "lab2");
	assert_int_equal(verify(wf, s, SN_WF_SIG_OK, SN_WF_SIG_MISSING),
			 -EBADMSG);
	assert_true(wf_diag_has(&diag, "$.signatures[1].domain",
				"not a domain of this manifest"));
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
}

static void envelope_strict(void **state)
{
	static const char *const D = "00000000000000000000000000000000000000"
				     "00000000000000000000000000000000000000"
				     "00000000000000000000";
	static const char *const F = "1111111111111111111111111111111111111111"
				     "111111111111111111111111";
	static const char *const S = "2222222222222222222222222222222222222222"
				     "2222222222222222222222222222222222222222"
				     "2222222222222222222222222222222222222222"
				     "22222222";
	static const struct {
		const char *fmt, *path, *needle;
	} cases[] = {
		{"{\"sealnet_workflow_signatures\":1,\"workflow_digest\":\"%"
		 "s\","
		 "\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		 "\"%s\"}],"
		 "\"extra\":1}",
		 "$.extra", "unknown member"},
		{"{\"sealnet_workflow_signatures\":1,\"workflow_digest\":\"%"
		 "s\","
		 "\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		 "\"%s\",\"by\":\"x\"}]}",
		 "$.signatures[0].by", "unknown member"},
		{"{\"sealnet_workflow_signatures\":1,\"workflow_digest\":\"%"
		 "s\","
		 "\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		 "\"%s\"},"
		 "{\"domain\":\"a\",\"key\":\"%2$s\",\"ed25519\":\"%3$s\"}]}",
		 "$.signatures[1].domain", "signed twice"},
		{"{\"sealnet_workflow_signatures\":1,\"workflow_digest\":\"%"
		 "s0\","
		 "\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		 "\"%s\"}]}",
		 "$.workflow_digest", "96 hex digits"},
		{"{\"sealnet_workflow_signatures\":1,\"workflow_digest\":\"%"
		 "s\","
		 "\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		 "\"%.100s\"}]}",
		 "$.signatures[0].ed25519", "128 hex digits"},
		{"{\"sealnet_workflow_signatures\":2,\"workflow_digest\":\"%"
		 "s\","
		 "\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		 "\"%s\"}]}",
		 "$.sealnet_workflow_signatures", "format"},
		{"{\"sealnet_workflow_signatures\":1,\"workflow_digest\":\"%"
		 "s\","
		 "\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		 "\"%s\"}],"
		 "\"signatures\":[]}",
		 "$", "duplicate"},
	};
	char buf[1024];
	struct sn_wf_sigset *s = NULL;

	/* the well-formed one parses */
	snprintf(
		buf, sizeof(buf),
		"{\"sealnet_workflow_signatures\":1,\"workflow_digest\":\"%s\","
		"\"signatures\":[{\"domain\":\"a\",\"key\":\"%s\",\"ed25519\":"
		"\"%s\"}]}",
		D, F, S);
	assert_int_equal(sn_wf_sigset_parse(buf, strlen(buf), &s, &diag), 0);
	assert_int_equal(s->n_sigs, 1);
	sn_wf_sigset_free(s);
	s = NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(buf, sizeof(buf), cases[i].fmt, D, F, S);
#pragma GCC diagnostic pop
		assert_int_equal(
			sn_wf_sigset_parse(buf, strlen(buf), &s, &diag),
			-EINVAL);
		assert_null(s);
		if (!wf_diag_has(&diag, cases[i].path, cases[i].needle)) {
			fprintf(stderr, "envelope case %zu:\n", i);
			wf_diag_dump(&diag);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_signed),
		cmocka_unit_test(missing_domain),
		cmocka_unit_test(bad_signature),
		cmocka_unit_test(manifest_byte_flipped),
		cmocka_unit_test(key_not_listed),
		cmocka_unit_test(other_domains_key),
		cmocka_unit_test(signature_bound_to_domain),
		cmocka_unit_test(stray_entry),
		cmocka_unit_test(envelope_strict),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
