// SPDX-License-Identifier: Apache-2.0
/*
 * Cross-domain appraisal in token mode (lib/federation/appraise.c,
 * docs/federation.md "Cross-domain appraisal"): the decision table, one
 * test per refusal, each failing when its check is removed; a token
 * signed with the bundle's next key is accepted (rollover).
 *
 * The example manifest: hospital runs ingest (h1) and align (h2), lab
 * runs train (l1) and merge (l2).  A hospital node appraises l1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "sealnet/federation.h"
#include "sealnet/kbs.h"
#include "sealnet/util.h"
#include "../workflow/wf_helpers.h"

struct fx {
	struct wf_keys keys;
	char *manifest;
	struct sn_workflow *wf;
	struct sn_kbs_signer *cur, *next, *rogue;
	char tk[3][80];
	struct sn_fed_bundle *lab, *hospital, *lab_short;
	int64_t now;
	uint8_t spki[32];
	int train; /* stage index */
};

static struct fx *F;

static char *jwks_of(struct sn_kbs_signer *a, struct sn_kbs_signer *b)
{
	char *j1 = NULL, *j2 = NULL, *out;
	json_t *x, *y;

	assert_int_equal(sn_kbs_jwks_json(a, &j1), 0);
	assert_int_equal(sn_kbs_jwks_json(b, &j2), 0);
	x = json_loads(j1, 0, NULL);
	y = json_loads(j2, 0, NULL);
	json_array_extend(json_object_get(x, "keys"),
			  json_object_get(y, "keys"));
	out = json_dumps(x, JSON_COMPACT);
	json_decref(x);
	json_decref(y);
	free(j1);
	free(j2);
	return out;
}

static struct sn_fed_bundle *bundle(const char *domain, int64_t nb, int64_t na)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	char key[128], *txt = NULL, *jwks = jwks_of(F->cur, F->next);
	struct sn_fed_bundle *b = NULL;
	enum sn_fed_status st;
	struct sn_fed_export e = {
		.domain = domain,
		.jwks_json = jwks,
		.jwks_len = strlen(jwks),
		.sequence = 7,
		.not_before = nb,
		.not_after = na,
		.key_pem_path = key,
	};

	wf_keys_path(&F->keys, domain, key, sizeof(key));
	if (sn_fed_bundle_export(F->wf, F->manifest, strlen(F->manifest), &e,
				 &txt, d))
		wf_diag_dump(d);
	assert_non_null(txt);
	assert_int_equal(sn_fed_bundle_parse(txt, strlen(txt), &b, d), 0);
	/* what the node does before use */
	assert_int_equal(sn_fed_bundle_verify(F->wf, b, nb, NULL, &st, d), 0);
	free(txt);
	free(jwks);
	free(d);
	return b;
}

static int setup(void **state)
{
	json_t *t;

	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	wf_keys_make(&F->keys);
	t = wf_example_tree(&F->keys);
	F->manifest = wf_text(t);
	json_decref(t);
	assert_int_equal(sn_workflow_parse(F->manifest, strlen(F->manifest),
					   &F->wf, NULL),
			 0);
	for (int i = 0; i < 3; i++)
		snprintf(F->tk[i], sizeof(F->tk[i]), "%s/tk%d.pem", F->keys.dir,
			 i);
	assert_int_equal(sn_kbs_signer_load(F->tk[0], true, &F->cur), 0);
	assert_int_equal(sn_kbs_signer_load(F->tk[1], true, &F->next), 0);
	assert_int_equal(sn_kbs_signer_load(F->tk[2], true, &F->rogue), 0);
	F->now = (int64_t)time(NULL);
	F->lab = bundle("lab", F->now - 10, F->now + 3600);
	F->hospital = bundle("hospital", F->now - 10, F->now + 3600);
	F->lab_short = bundle("lab", F->now - 10, F->now + 100);
	memset(F->spki, 0x5c, sizeof(F->spki));
	F->train = sn_workflow_find_stage(F->wf, "train");
	assert_true(F->train >= 0);
	*state = F;
	return 0;
}

static int teardown(void **state)
{
	for (int i = 0; i < 3; i++)
		unlink(F->tk[i]);
	sn_kbs_signer_free(F->cur);
	sn_kbs_signer_free(F->next);
	sn_kbs_signer_free(F->rogue);
	sn_fed_bundle_free(F->lab);
	sn_fed_bundle_free(F->hospital);
	sn_fed_bundle_free(F->lab_short);
	wf_keys_remove(&F->keys);
	sn_workflow_free(F->wf);
	free(F->manifest);
	free(F);
	return 0;
}

/* l1's token as lab's KBS issues it; edit() changes claims first */
static char *token(struct sn_kbs_signer *k,
		   void (*edit)(struct sn_kbs_claims *c))
{
	struct sn_kbs_claims c = {0};
	char *out = NULL;

	snprintf(c.iss, sizeof(c.iss), "sealnet-kbs:lab");
	snprintf(c.sub, sizeof(c.sub), "l1");
	snprintf(c.domain, sizeof(c.domain), "lab");
	snprintf(c.stage, sizeof(c.stage), "train");
	sn_hex_encode(F->wf->digest, SN_WF_DIGEST_LEN, c.manifest);
	snprintf(c.tee, sizeof(c.tee), "sim");
	sn_hex_encode(F->wf->stages[F->train].ref.measurements[0],
		      SN_WF_MEAS_LEN, c.measurement);
	memcpy(c.cnf_spki, F->spki, sizeof(F->spki));
	c.iat = F->now;
	c.exp = F->now + 300;
	snprintf(c.jti, sizeof(c.jti), "jti-1");
	if (edit)
		edit(&c);
	assert_int_equal(sn_kbs_token_sign(k, &c, &out), 0);
	return out;
}

static int revoke_all(void *arg, const struct sn_kbs_claims *c, char *why,
		      size_t cap)
{
	snprintf(why, cap, "node %s revoked by its domain", c->sub);
	return *(bool *)arg;
}

/* appraise tok from peer with bundles at now; the refusal */
static enum sn_fed_refusal run_(const char *peer, const char *tok,
				const struct sn_fed_bundle *b1,
				const struct sn_fed_bundle *b2, int64_t now,
				bool revoked, char *why)
{
	const struct sn_fed_bundle *bs[2] = {b1, b2};
	struct sn_fed_token_in in = {
		.wf = F->wf,
		.peer = peer,
		.tok = tok,
		.len = strlen(tok),
		.spki_sha256 = F->spki,
		.now = now,
		.bundles = bs,
		.n_bundles = 2,
		.revoked = revoke_all,
		.arg = &revoked,
	};
	struct sn_kbs_claims c;
	enum sn_fed_refusal r = 99;
	int err = sn_fed_token_appraise(&in, &c, &r, why, 300);

	if (!err) {
		assert_int_equal(r, SN_FED_R_OK);
		assert_string_equal(c.sub, peer);
	} else {
		assert_int_equal(err, -EPERM);
		/* the reason starts with the refusal's name */
		assert_memory_equal(why, sn_fed_refusal_name(r),
				    strlen(sn_fed_refusal_name(r)));
	}
	return r;
}

static enum sn_fed_refusal run(const char *tok)
{
	char why[300];

	return run_("l1", tok, F->hospital, F->lab, F->now, false, why);
}

static void accepted_current_and_next(void **state)
{
	char *a = token(F->cur, NULL), *b = token(F->next, NULL);

	assert_int_equal(run(a), SN_FED_R_OK);
	/* rollover: the KBS signs with the bundle's next key already */
	assert_int_equal(run(b), SN_FED_R_OK);
	free(a);
	free(b);
}

static void edit_domain(struct sn_kbs_claims *c)
{
	snprintf(c->domain, sizeof(c->domain), "hospital");
	snprintf(c->iss, sizeof(c->iss), "sealnet-kbs:hospital");
}

static void edit_iss(struct sn_kbs_claims *c)
{
	snprintf(c->iss, sizeof(c->iss), "sealnet-kbs:other");
}

static void unknown_domain(void **state)
{
	char why[300], *t = token(F->cur, NULL),
		       *d = token(F->cur, edit_domain),
		       *i = token(F->cur, edit_iss);

	/* a peer the manifest does not name */
	assert_int_equal(run_("zz", t, F->hospital, F->lab, F->now, false, why),
			 SN_FED_R_UNKNOWN_DOMAIN);
	/* l1's token claiming to be of another domain (signed with lab's
	 * keys: a lab KBS cannot speak for hospital) */
	assert_int_equal(run(d), SN_FED_R_UNKNOWN_DOMAIN);
	assert_int_equal(run(i), SN_FED_R_UNKNOWN_DOMAIN);
	free(t);
	free(d);
	free(i);
}

static void bundle_missing(void **state)
{
	char why[300], *t = token(F->cur, NULL);

	assert_int_equal(run_("l1", t, F->hospital, NULL, F->now, false, why),
			 SN_FED_R_BUNDLE_MISSING);
	assert_non_null(strstr(why, "domain lab"));
	free(t);
}

static void bundle_expired(void **state)
{
	char why[300], *t = token(F->cur, NULL);

	/* honoured until its not_after, refused from then on */
	assert_int_equal(
		run_("l1", t, F->lab_short, NULL, F->now + 99, false, why),
		SN_FED_R_OK);
	assert_int_equal(
		run_("l1", t, F->lab_short, NULL, F->now + 100, false, why),
		SN_FED_R_BUNDLE_EXPIRED);
	free(t);
}

static void key_not_in_bundle(void **state)
{
	char *t = token(F->rogue, NULL);

	assert_int_equal(run(t), SN_FED_R_KEY_NOT_IN_BUNDLE);
	free(t);
}

static void edit_cnf(struct sn_kbs_claims *c)
{
	c->cnf_spki[0] ^= 1;
}

static void token_invalid(void **state)
{
	char *t = token(F->cur, edit_cnf), *u = token(F->cur, NULL);

	/* bound to another TLS key */
	assert_int_equal(run(t), SN_FED_R_TOKEN_INVALID);
	/* a byte of the signature changed */
	u[strlen(u) - 3] = u[strlen(u) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(run(u), SN_FED_R_TOKEN_INVALID);
	free(t);
	free(u);
}

static void edit_stage_other_node(struct sn_kbs_claims *c)
{
	snprintf(c->stage, sizeof(c->stage), "merge"); /* lab's, on l2 */
}

static void edit_stage_other_domain(struct sn_kbs_claims *c)
{
	snprintf(c->stage, sizeof(c->stage), "ingest"); /* hospital's */
}

static void stage_not_allowed(void **state)
{
	char *a = token(F->cur, edit_stage_other_node),
	     *b = token(F->cur, edit_stage_other_domain);

	assert_int_equal(run(a), SN_FED_R_STAGE);
	assert_int_equal(run(b), SN_FED_R_STAGE);
	free(a);
	free(b);
}

static void edit_meas(struct sn_kbs_claims *c)
{
	c->measurement[0] = c->measurement[0] == '0' ? '1' : '0';
}

static void edit_tee(struct sn_kbs_claims *c)
{
	snprintf(c->tee, sizeof(c->tee), "snp");
}

static void measurement_not_in_references(void **state)
{
	char *a = token(F->cur, edit_meas), *b = token(F->cur, edit_tee);

	/* lab's KBS vouched for it (it signed), the manifest does not */
	assert_int_equal(run(a), SN_FED_R_REFERENCE);
	assert_int_equal(run(b), SN_FED_R_REFERENCE);
	free(a);
	free(b);
}

static void edit_manifest(struct sn_kbs_claims *c)
{
	c->manifest[5] = c->manifest[5] == 'a' ? 'b' : 'a';
}

static void edit_no_manifest(struct sn_kbs_claims *c)
{
	c->manifest[0] = '\0';
}

static void manifest_mismatch(void **state)
{
	char *a = token(F->cur, edit_manifest),
	     *b = token(F->cur, edit_no_manifest);

	assert_int_equal(run(a), SN_FED_R_MANIFEST);
	assert_int_equal(run(b), SN_FED_R_MANIFEST);
	free(a);
	free(b);
}

static void revoked(void **state)
{
	char why[300], *t = token(F->cur, NULL);

	assert_int_equal(run_("l1", t, F->hospital, F->lab, F->now, true, why),
			 SN_FED_R_REVOKED);
	assert_non_null(strstr(why, "revoked by its domain"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted_current_and_next),
		cmocka_unit_test(unknown_domain),
		cmocka_unit_test(bundle_missing),
		cmocka_unit_test(bundle_expired),
		cmocka_unit_test(key_not_in_bundle),
		cmocka_unit_test(token_invalid),
		cmocka_unit_test(stage_not_allowed),
		cmocka_unit_test(measurement_not_in_references),
		cmocka_unit_test(manifest_mismatch),
		cmocka_unit_test(revoked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
