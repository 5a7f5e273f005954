// SPDX-License-Identifier: Apache-2.0
/* Trust bundles (lib/federation, docs/federation.md): export and verify,
 * and one test per refusal, each failing when its check is removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sealnet/federation.h"
#include "sealnet/kbs.h"
#include "sealnet/util.h"
#include "../workflow/wf_helpers.h"

struct fx {
	struct wf_keys keys;
	char *manifest; /* the example with real keys */
	struct sn_workflow *wf;
	char jwks[4096]; /* two KBS token keys: current, next */
	char tk1[64], tk2[64];
	int64_t now;
};

static struct sn_workflow *parse_text(const char *t)
{
	struct sn_workflow *wf = NULL;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	if (sn_workflow_parse(t, strlen(t), &wf, d))
		wf_diag_dump(d);
	free(d);
	assert_non_null(wf);
	return wf;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sn_kbs_signer *k1 = NULL, *k2 = NULL;
	char *j1 = NULL, *j2 = NULL;
	json_t *t, *a, *b;

	assert_non_null(f);
	wf_keys_make(&f->keys);
	t = wf_example_tree(&f->keys);
	f->manifest = wf_text(t);
	json_decref(t);
	f->wf = parse_text(f->manifest);
	snprintf(f->tk1, sizeof(f->tk1), "%s/tk1.pem", f->keys.dir);
	snprintf(f->tk2, sizeof(f->tk2), "%s/tk2.pem", f->keys.dir);
	assert_int_equal(sn_kbs_signer_load(f->tk1, true, &k1), 0);
	assert_int_equal(sn_kbs_signer_load(f->tk2, true, &k2), 0);
	assert_int_equal(sn_kbs_jwks_json(k1, &j1), 0);
	assert_int_equal(sn_kbs_jwks_json(k2, &j2), 0);
	a = json_loads(j1, 0, NULL);
	b = json_loads(j2, 0, NULL);
	json_array_extend(json_object_get(a, "keys"),
			  json_object_get(b, "keys"));
	free(j1);
	j1 = json_dumps(a, JSON_COMPACT);
	snprintf(f->jwks, sizeof(f->jwks), "%s", j1);
	free(j1);
	free(j2);
	json_decref(a);
	json_decref(b);
	sn_kbs_signer_free(k1);
	sn_kbs_signer_free(k2);
	f->now = (int64_t)time(NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->tk1);
	unlink(f->tk2);
	wf_keys_remove(&f->keys);
	sn_workflow_free(f->wf);
	free(f->manifest);
	free(f);
	return 0;
}

/* a bundle of `domain` signed with keys/<keyname>.key */
static char *export_(struct fx *f, const struct sn_workflow *wf,
		     const char *manifest, const char *domain,
		     const char *keyname, uint64_t seq, int64_t nb, int64_t na)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	char key[128], *out = NULL;
	struct sn_fed_export e = {
		.domain = domain,
		.jwks_json = f->jwks,
		.jwks_len = strlen(f->jwks),
		.sequence = seq,
		.not_before = nb,
		.not_after = na,
		.key_pem_path = key,
	};
	int err;

	wf_keys_path(&f->keys, keyname, key, sizeof(key));
	err = sn_fed_bundle_export(wf, manifest, strlen(manifest), &e, &out, d);
	if (err)
		wf_diag_dump(d);
	free(d);
	assert_int_equal(err, 0);
	return out;
}

static char *export_ok(struct fx *f, uint64_t seq)
{
	return export_(f, f->wf, f->manifest, "hospital", "hospital", seq,
		       f->now - 10, f->now + 3600);
}

static struct sn_fed_bundle *parse_ok(const char *t)
{
	struct sn_fed_bundle *b = NULL;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));

	if (sn_fed_bundle_parse(t, strlen(t), &b, d))
		wf_diag_dump(d);
	free(d);
	assert_non_null(b);
	return b;
}

/* verify text against wf at now with last; the status */
static enum sn_fed_status verify(const struct sn_workflow *wf, const char *t,
				 int64_t now, const struct sn_fed_bundle *last)
{
	struct sn_fed_bundle *b = parse_ok(t);
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	enum sn_fed_status st = 99;
	int err = sn_fed_bundle_verify(wf, b, now, last, &st, d);

	assert_int_equal(err, st == SN_FED_OK ? 0 : -EPERM);
	/* a refusal always says why, at a JSON path */
	if (st != SN_FED_OK)
		assert_true(d->n == 1 && d->errors[0].path[0] == '$');
	free(d);
	sn_fed_bundle_free(b);
	return st;
}

/* parse must fail with an error at path containing needle */
static void parse_fails(const char *t, const char *path, const char *needle)
{
	struct sn_fed_bundle *b = (struct sn_fed_bundle *)1;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));

	assert_int_equal(sn_fed_bundle_parse(t, strlen(t), &b, d), -EINVAL);
	assert_ptr_equal(b, (struct sn_fed_bundle *)1);
	if (!wf_diag_has(d, path, needle)) {
		wf_diag_dump(d);
		fail_msg("no error at %s containing '%s'", path, needle);
	}
	free(d);
}

/* re-sign a (modified) bundle tree with keys/<keyname>.key, as a domain
 * that signs whatever it is given would: digest per docs/federation.md */
static char *resign(struct fx *f, json_t *t, const char *keyname)
{
	uint8_t digest[SN_WF_DIGEST_LEN], msg[SN_FED_SIG_MSG_LEN],
		sig[SN_WF_SIG_LEN], pub[32], fpr[32];
	char path[128], *c, hex[2 * SN_WF_SIG_LEN + 1], fhex[65];
	size_t n = 0, sl = sizeof(sig), pl = sizeof(pub);
	json_t *copy = json_deep_copy(t);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY *k;
	FILE *fp;
	unsigned int dl = 0;

	json_object_del(copy, "signature");
	{
		char *raw = json_dumps(copy, JSON_COMPACT);

		assert_int_equal(
			sn_workflow_canonical(raw, strlen(raw), &c, &n, NULL),
			0);
		free(raw);
	}
	{
		EVP_MD_CTX *h = EVP_MD_CTX_new();

		assert_true(EVP_DigestInit_ex(h, EVP_sha384(), NULL) &&
			    EVP_DigestUpdate(h, SN_FED_DIGEST_PREFIX,
					     sizeof(SN_FED_DIGEST_PREFIX)) &&
			    EVP_DigestUpdate(h, c, n) &&
			    EVP_DigestFinal_ex(h, digest, &dl));
		EVP_MD_CTX_free(h);
	}
	sn_fed_sig_message(digest, msg);
	wf_keys_path(&f->keys, keyname, path, sizeof(path));
	fp = fopen(path, "r");
	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sl, msg, sizeof(msg)), 1);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &pl), 1);
	assert_true(EVP_Digest(pub, 32, fpr, &dl, EVP_sha256(), NULL));
	sn_hex_encode(sig, sizeof(sig), hex);
	sn_hex_encode(fpr, sizeof(fpr), fhex);
	json_object_set_new(
		t, "signature",
		json_pack("{s:s,s:s}", "key", fhex, "ed25519", hex));
	EVP_PKEY_free(k);
	EVP_MD_CTX_free(ctx);
	free(c);
	json_decref(copy);
	c = json_dumps(t, JSON_INDENT(2));
	assert_non_null(c);
	return c;
}

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 7), *jwks = NULL;
	struct sn_fed_bundle *b = parse_ok(t);
	struct sn_kbs_signer *keys[4];
	size_t n = 0;

	assert_string_equal(b->domain, "hospital");
	assert_string_equal(b->workflow, "genomics");
	assert_int_equal(b->sequence, 7);
	assert_int_equal(b->n_stages, 2); /* ingest, align */
	assert_string_equal(b->stages[0].stage, "ingest");
	assert_string_equal(b->stages[1].stage, "align");
	assert_non_null(b->key_next);
	assert_int_equal(verify(f->wf, t, f->now, NULL), SN_FED_OK);
	/* the bundle's keys are the KBS's JWKS, current then next */
	assert_int_equal(sn_fed_bundle_jwks(b, &jwks), 0);
	assert_int_equal(sn_kbs_jwks_parse(jwks, strlen(jwks), keys, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sn_kbs_signer_kid(keys[0]), b->kid_current);
	assert_string_equal(sn_kbs_signer_kid(keys[1]), b->kid_next);
	sn_kbs_signer_free(keys[0]);
	sn_kbs_signer_free(keys[1]);
	/* reformatting does not change the digest (canonical form) */
	{
		json_t *j = json_loads(t, 0, NULL);
		char *c = json_dumps(j, JSON_COMPACT);
		struct sn_fed_bundle *b2 = parse_ok(c);

		assert_memory_equal(b->digest, b2->digest, SN_WF_DIGEST_LEN);
		assert_int_equal(verify(f->wf, c, f->now, NULL), SN_FED_OK);
		sn_fed_bundle_free(b2);
		free(c);
		json_decref(j);
	}
	free(jwks);
	sn_fed_bundle_free(b);
	free(t);
}

/* a withdrawal: no stage, signed like any bundle; "stages" still
 * required */
static void test_withdrawal(void **state)
{
	struct fx *f = *state;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	char key[128], *out = NULL;
	struct sn_fed_export e = {
		.domain = "hospital",
		.jwks_json = f->jwks,
		.jwks_len = strlen(f->jwks),
		.sequence = 9,
		.not_before = f->now - 10,
		.not_after = f->now + 3600,
		.key_pem_path = key,
		.withdraw = true,
	};
	struct sn_fed_bundle *b;
	json_t *j;
	char *t;

	wf_keys_path(&f->keys, "hospital", key, sizeof(key));
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 0);
	b = parse_ok(out);
	assert_int_equal(b->n_stages, 0);
	assert_int_equal(verify(f->wf, out, f->now, NULL), SN_FED_OK);
	sn_fed_bundle_free(b);
	j = json_loads(out, 0, NULL);
	json_object_del(j, "stages");
	t = json_dumps(j, JSON_COMPACT);
	parse_fails(t, "$.stages", "missing");
	free(t);
	json_decref(j);
	free(out);
	free(d);
}

static void test_expired(void **state)
{
	struct fx *f = *state;
	char *t = export_(f, f->wf, f->manifest, "hospital", "hospital", 1,
			  f->now - 100, f->now + 100);

	assert_int_equal(verify(f->wf, t, f->now + 99, NULL), SN_FED_OK);
	assert_int_equal(verify(f->wf, t, f->now + 100, NULL), SN_FED_EXPIRED);
	assert_int_equal(verify(f->wf, t, f->now + 100000, NULL),
			 SN_FED_EXPIRED);
	free(t);
}

static void test_not_yet_valid(void **state)
{
	struct fx *f = *state;
	char *t = export_(f, f->wf, f->manifest, "hospital", "hospital", 1,
			  f->now + 100, f->now + 200);

	assert_int_equal(verify(f->wf, t, f->now, NULL), SN_FED_NOT_YET_VALID);
	assert_int_equal(verify(f->wf, t, f->now + 99, NULL),
			 SN_FED_NOT_YET_VALID);
	assert_int_equal(verify(f->wf, t, f->now + 100, NULL), SN_FED_OK);
	free(t);
}

static void test_rollback(void **state)
{
	struct fx *f = *state;
	char *t5 = export_ok(f, 5), *t4 = export_ok(f, 4),
	     *t6 = export_ok(f, 6);
	char *t5b = export_(f, f->wf, f->manifest, "hospital", "hospital", 5,
			    f->now - 20, f->now + 3600); /* other content */
	struct sn_fed_bundle *last = parse_ok(t5);

	assert_int_equal(verify(f->wf, t4, f->now, last), SN_FED_ROLLBACK);
	assert_int_equal(verify(f->wf, t5b, f->now, last), SN_FED_ROLLBACK);
	assert_int_equal(verify(f->wf, t5, f->now, last), SN_FED_OK);
	assert_int_equal(verify(f->wf, t6, f->now, last), SN_FED_OK);
	assert_int_equal(verify(f->wf, t4, f->now, NULL), SN_FED_OK);
	sn_fed_bundle_free(last);
	free(t4);
	free(t5);
	free(t5b);
	free(t6);
}

static void test_bad_signature(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 1);
	json_t *j = json_loads(t, 0, NULL);
	json_t *sig = json_object_get(j, "signature");
	char hex[2 * SN_WF_SIG_LEN + 1], *u;

	/* a flipped bit in the signature */
	snprintf(hex, sizeof(hex), "%s",
		 json_string_value(json_object_get(sig, "ed25519")));
	hex[10] = hex[10] == '0' ? '1' : '0';
	json_object_set_new(sig, "ed25519", json_string(hex));
	u = json_dumps(j, JSON_INDENT(2));
	assert_int_equal(verify(f->wf, u, f->now, NULL), SN_FED_BAD_SIGNATURE);
	free(u);
	/* signed content changed: a longer validity, a higher sequence */
	json_decref(j);
	j = json_loads(t, 0, NULL);
	json_object_set_new(j, "not_after", json_integer(f->now + 7200));
	u = json_dumps(j, JSON_INDENT(2));
	assert_int_equal(verify(f->wf, u, f->now, NULL), SN_FED_BAD_SIGNATURE);
	free(u);
	json_object_set_new(j, "not_after", json_integer(f->now + 3600));
	json_object_set_new(j, "sequence", json_integer(2));
	u = json_dumps(j, JSON_INDENT(2));
	assert_int_equal(verify(f->wf, u, f->now, NULL), SN_FED_BAD_SIGNATURE);
	free(u);
	/* another domain's listed key signing hospital's bundle: its
	 * fingerprint is not hospital's (key-not-listed) */
	json_object_set_new(j, "sequence", json_integer(1));
	u = resign(f, j, "lab");
	assert_int_equal(verify(f->wf, u, f->now, NULL), SN_FED_KEY_UNLISTED);
	free(u);
	/* hospital's key fingerprint with lab's signature bytes */
	{
		json_t *h = json_loads(t, 0, NULL), *l,
		       *tmp = json_loads(t, 0, NULL);
		char *ls;

		u = resign(f, tmp, "lab");
		json_decref(tmp);
		l = json_loads(u, 0, NULL);
		json_object_set(json_object_get(h, "signature"), "ed25519",
				json_object_get(json_object_get(l, "signature"),
						"ed25519"));
		ls = json_dumps(h, JSON_INDENT(2));
		assert_int_equal(verify(f->wf, ls, f->now, NULL),
				 SN_FED_BAD_SIGNATURE);
		free(ls);
		free(u);
		json_decref(l);
		json_decref(h);
	}
	json_decref(j);
	free(t);
}

/* every single-byte change of the text is refused (parse or verify) */
static void test_tampered_byte(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 1);
	size_t n = strlen(t), accepted = 0, tried = 0;

	for (size_t i = 0; i < n; i++) {
		char save = t[i];
		struct sn_fed_bundle *b = NULL;
		enum sn_fed_status st;

		if (save == ' ' || save == '\n')
			continue; /* whitespace is not signed content */
		t[i] = save == '0' ? '1' : save == '9' ? '8' : (char)(save ^ 1);
		tried++;
		if (!sn_fed_bundle_parse(t, n, &b, NULL)) {
			if (!sn_fed_bundle_verify(f->wf, b, f->now, NULL, &st,
						  NULL)) {
				fprintf(stderr, "accepted with byte %zu: %c\n",
					i, t[i]);
				accepted++;
			}
			sn_fed_bundle_free(b);
		}
		t[i] = save;
	}
	assert_true(tried > 1000);
	assert_int_equal(accepted, 0);
	assert_int_equal(verify(f->wf, t, f->now, NULL), SN_FED_OK);
	free(t);
}

static void test_key_not_listed(void **state)
{
	struct fx *f = *state;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	json_t *m = json_loads(f->manifest, 0, NULL), *keys;
	struct sn_workflow *wf2;
	char *m2, *t, key[128], *out = NULL;
	struct sn_fed_export e = {
		.domain = "hospital",
		.jwks_json = f->jwks,
		.jwks_len = strlen(f->jwks),
		.sequence = 1,
		.not_before = f->now - 10,
		.not_after = f->now + 10,
		.key_pem_path = key,
	};

	/* export refuses a key the domain does not list */
	wf_keys_path(&f->keys, "other", key, sizeof(key));
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 -EKEYREJECTED);
	assert_null(out);
	/* a manifest where hospital also lists "other": the bundle signed
	 * with it verifies there, not against the manifest without it */
	keys = json_object_get(json_array_get(json_object_get(m, "domains"), 0),
			       "keys");
	json_array_append_new(keys, json_pack("{s:s,s:s}", "id", "other-key",
					      "ed25519", f->keys.other_hex));
	m2 = wf_text(m);
	wf2 = parse_text(m2);
	t = export_(f, wf2, m2, "hospital", "other", 1, f->now - 10,
		    f->now + 10);
	assert_int_equal(verify(wf2, t, f->now, NULL), SN_FED_OK);
	assert_int_equal(verify(f->wf, t, f->now, NULL), SN_FED_KEY_UNLISTED);
	free(t);
	sn_workflow_free(wf2);
	free(m2);
	json_decref(m);
	free(d);
}

/* s with every "from" replaced by "to" (malloc'd) */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *out = malloc(strlen(s) * 2 + 1), *o = out;

	assert_non_null(out);
	while (*s) {
		if (!strncmp(s, from, fl)) {
			memcpy(o, to, tl);
			o += tl;
			s += fl;
			n++;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	assert_true(n > 0);
	return out;
}

static void test_domain_not_in_manifest(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 1);
	/* the same manifest with domain hospital renamed: same keys */
	char *m2 = replace_all(f->manifest, "\"hospital\"", "\"clinic\"");
	struct sn_workflow *wf2 = parse_text(m2);

	assert_int_equal(verify(wf2, t, f->now, NULL), SN_FED_DOMAIN_UNLISTED);
	sn_workflow_free(wf2);
	free(m2);
	free(t);
}

static void test_wrong_workflow(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 1);
	char *m2 = replace_all(f->manifest, "\"genomics\"", "\"other-wf\"");
	struct sn_workflow *wf2 = parse_text(m2);

	assert_int_equal(verify(wf2, t, f->now, NULL), SN_FED_WRONG_WORKFLOW);
	sn_workflow_free(wf2);
	free(m2);
	free(t);
}

static void test_foreign_stage(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 1), *u;
	json_t *j = json_loads(t, 0, NULL), *st = json_object_get(j, "stages");

	/* hospital vouching for lab's stage "train", validly signed */
	json_object_set_new(json_array_get(st, 0), "stage",
			    json_string("train"));
	u = resign(f, j, "hospital");
	assert_int_equal(verify(f->wf, u, f->now, NULL), SN_FED_FOREIGN_STAGE);
	free(u);
	json_object_set_new(json_array_get(st, 0), "stage",
			    json_string("nosuch"));
	u = resign(f, j, "hospital");
	assert_int_equal(verify(f->wf, u, f->now, NULL), SN_FED_FOREIGN_STAGE);
	free(u);
	/* the re-signing itself is sound: unchanged content verifies */
	json_object_set_new(json_array_get(st, 0), "stage",
			    json_string("ingest"));
	u = resign(f, j, "hospital");
	assert_int_equal(verify(f->wf, u, f->now, NULL), SN_FED_OK);
	free(u);
	json_decref(j);
	free(t);
}

/* validly re-signed bundles whose content breaks the schema */
static void test_unknown_member(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 1), *u;
	json_t *j = json_loads(t, 0, NULL);

	json_object_set_new(j, "extra", json_true());
	u = resign(f, j, "hospital");
	parse_fails(u, "$.extra", "unknown member");
	free(u);
	json_object_del(j, "extra");
	json_object_set_new(json_object_get(j, "token_keys"), "previous",
			    json_object());
	u = resign(f, j, "hospital");
	parse_fails(u, "$.token_keys.previous", "unknown member");
	free(u);
	json_object_del(json_object_get(j, "token_keys"), "previous");
	json_object_set_new(json_array_get(json_object_get(j, "stages"), 1),
			    "note", json_string("x"));
	u = resign(f, j, "hospital");
	parse_fails(u, "$.stages[1].note", "unknown member");
	free(u);
	json_object_del(json_array_get(json_object_get(j, "stages"), 1),
			"note");
	json_object_set_new(json_object_get(j, "signature"), "alg",
			    json_string("ed25519"));
	u = json_dumps(j, JSON_INDENT(2));
	parse_fails(u, "$.signature.alg", "unknown member");
	free(u);
	json_object_del(json_object_get(j, "signature"), "alg");
	/* a JWK member the KBS does not publish */
	json_object_set_new(
		json_object_get(json_object_get(j, "token_keys"), "current"),
		"d", json_string("AAAA"));
	u = resign(f, j, "hospital");
	parse_fails(u, "$.token_keys.current", "not a");
	free(u);
	json_decref(j);
	free(t);
}

static void test_schema(void **state)
{
	struct fx *f = *state;
	char *t = export_ok(f, 1), *u;
	json_t *j = json_loads(t, 0, NULL), *cur;
	char kid[64];

	/* lengths: a short signature, a short key fingerprint */
	json_object_set_new(json_object_get(j, "signature"), "ed25519",
			    json_string("abcd"));
	u = json_dumps(j, 0);
	parse_fails(u, "$.signature.ed25519", "128 hex");
	free(u);
	json_decref(j);
	j = json_loads(t, 0, NULL);
	json_object_set_new(json_object_get(j, "signature"), "key",
			    json_string("00"));
	u = json_dumps(j, 0);
	parse_fails(u, "$.signature.key", "64 hex");
	free(u);
	json_decref(j);
	/* missing members, format, validity order, sequence 0 */
	j = json_loads(t, 0, NULL);
	json_object_del(j, "signature");
	u = json_dumps(j, 0);
	parse_fails(u, "$.signature", "unsigned");
	free(u);
	json_decref(j);
	j = json_loads(t, 0, NULL);
	json_object_set_new(j, "sealnet_trust_bundle", json_integer(2));
	u = json_dumps(j, 0);
	parse_fails(u, "$.sealnet_trust_bundle", "unsupported");
	free(u);
	json_object_set_new(j, "sealnet_trust_bundle", json_integer(1));
	json_object_set_new(
		j, "not_after",
		json_integer_value(json_object_get(j, "not_before")) ?
			json_copy(json_object_get(j, "not_before")) :
			json_integer(0));
	u = json_dumps(j, 0);
	parse_fails(u, "$.not_after", "after not_before");
	free(u);
	json_object_set_new(j, "not_after", json_integer(f->now + 400 * 86400));
	u = json_dumps(j, 0);
	parse_fails(u, "$.not_after", "at most");
	free(u);
	json_decref(j);
	j = json_loads(t, 0, NULL);
	json_object_set_new(j, "sequence", json_integer(0));
	u = json_dumps(j, 0);
	parse_fails(u, "$.sequence", "");
	free(u);
	json_decref(j);
	/* a JWK whose kid is not its thumbprint; next = current */
	j = json_loads(t, 0, NULL);
	cur = json_object_get(json_object_get(j, "token_keys"), "current");
	snprintf(kid, sizeof(kid), "%s",
		 json_string_value(json_object_get(cur, "kid")));
	kid[3] = kid[3] == 'A' ? 'B' : 'A';
	json_object_set_new(cur, "kid", json_string(kid));
	u = json_dumps(j, 0);
	parse_fails(u, "$.token_keys.current", "thumbprint");
	free(u);
	json_decref(j);
	j = json_loads(t, 0, NULL);
	json_object_set(
		json_object_get(j, "token_keys"), "next",
		json_object_get(json_object_get(j, "token_keys"), "current"));
	u = json_dumps(j, 0);
	parse_fails(u, "$.token_keys.next", "same key");
	free(u);
	json_decref(j);
	/* a stage twice; a reference that is not a manifest reference */
	j = json_loads(t, 0, NULL);
	json_object_set_new(json_array_get(json_object_get(j, "stages"), 1),
			    "stage", json_string("ingest"));
	u = json_dumps(j, 0);
	parse_fails(u, "$.stages[1].stage", "twice");
	free(u);
	json_decref(j);
	j = json_loads(t, 0, NULL);
	json_object_set_new(
		json_object_get(json_array_get(json_object_get(j, "stages"), 0),
				"reference"),
		"tee", json_string("quantum"));
	u = json_dumps(j, 0);
	parse_fails(u, "$.stages[0].reference.tee", "");
	free(u);
	json_decref(j);
	/* the manifest's JSON rules: a real number, a duplicate member */
	parse_fails("{\"sealnet_trust_bundle\": 1.0}", "$.sealnet_trust_bundle",
		    "integers");
	parse_fails("{\"a\": 1, \"a\": 2}", "$", "duplicate");
	parse_fails("[]", "$", "object");
	free(t);
}

static void test_export_refusals(void **state)
{
	struct fx *f = *state;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	char key[128], *out = NULL, *bad;
	struct sn_fed_export e = {
		.domain = "nosuch",
		.jwks_json = f->jwks,
		.jwks_len = strlen(f->jwks),
		.sequence = 1,
		.not_before = f->now,
		.not_after = f->now + 10,
		.key_pem_path = key,
	};

	wf_keys_path(&f->keys, "hospital", key, sizeof(key));
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 -EINVAL);
	e.domain = "hospital";
	e.sequence = 0;
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 -EINVAL);
	e.sequence = 1;
	e.not_after = e.not_before;
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 -EINVAL);
	e.not_after = e.not_before + 10;
	bad = "{\"keys\": []}";
	e.jwks_json = bad;
	e.jwks_len = strlen(bad);
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 -EINVAL);
	e.jwks_json = f->jwks;
	e.jwks_len = strlen(f->jwks);
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 -EPERM);
	assert_int_equal(chmod(key, 0600), 0);
	snprintf(key, sizeof(key), "%s/none.key", f->keys.dir);
	assert_int_equal(sn_fed_bundle_export(f->wf, f->manifest,
					      strlen(f->manifest), &e, &out, d),
			 -ENOKEY);
	assert_null(out);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_withdrawal),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_tampered_byte),
		cmocka_unit_test(test_key_not_listed),
		cmocka_unit_test(test_domain_not_in_manifest),
		cmocka_unit_test(test_wrong_workflow),
		cmocka_unit_test(test_foreign_stage),
		cmocka_unit_test(test_unknown_member),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_export_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
