// SPDX-License-Identifier: Apache-2.0
/* Known-answer self-test of the kernel AEAD and a Wycheproof-layout vector
 * runner (see sealnet/selftest.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sealnet/kaead.h"
#include "sealnet/log.h"
#include "sealnet/selftest.h"
#include "sealnet/util.h"
#include "rfc8439.h"

#define VECTOR_FILE_MAX (64u << 20)
#define KAT_ROUNDS_DEFAULT 16u

/* ---- reference implementation (OpenSSL) -------------------------------- */

static int ref_aead(int enc, const uint8_t key[32], const uint8_t nonce[12],
		    const uint8_t *aad, size_t aad_len, const uint8_t *in,
		    size_t len, uint8_t *out, uint8_t tag[16])
{
	static const uint8_t empty[1];
	EVP_CIPHER_CTX *ctx;
	int n, err = -EIO;

	if (len > INT32_MAX || aad_len > INT32_MAX)
		return -EINVAL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce,
			      enc) != 1)
		goto cleanup;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
					tag) != 1)
		goto cleanup;
	if (aad_len && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto cleanup;
	if (len && EVP_CipherUpdate(ctx, out, &n, in ? in : empty,
				    (int)len) != 1)
		goto cleanup;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
		err = enc ? -EIO : -EBADMSG;
		goto cleanup;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
		goto cleanup;
	err = 0;
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

int sn_ref_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
		     const uint8_t *aad, size_t aad_len, const uint8_t *pt,
		     size_t len, uint8_t *ct, uint8_t tag[16])
{
	uint8_t t[16];
	int err;

	err = ref_aead(1, key, nonce, aad, aad_len, pt, len, ct, t);
	if (!err)
		memcpy(tag, t, sizeof(t));
	return err;
}

int sn_ref_aead_open(const uint8_t key[32], const uint8_t nonce[12],
		     const uint8_t *aad, size_t aad_len, const uint8_t *ct,
		     size_t len, const uint8_t tag[16], uint8_t *pt)
{
	uint8_t t[16], *tmp;
	int err;

	/* OpenSSL writes the plaintext before it checks the tag: decrypt
	 * into a copy so that pt is written only on success. */
	tmp = malloc(len + 1);
	if (!tmp)
		return -ENOMEM;
	memcpy(t, tag, sizeof(t));
	err = ref_aead(0, key, nonce, aad, aad_len, ct, len, tmp, t);
	if (!err && len)
		memcpy(pt, tmp, len);
	OPENSSL_cleanse(tmp, len + 1);
	free(tmp);
	return err;
}

/* ---- known answers (RFC 8439) ------------------------------------------ */

struct kat_ctx {
	sn_selftest_fail_fn fn;
	void *arg;
	struct sn_selftest_stats st;
};

static void kat_result(struct kat_ctx *k, const char *name, int tc_id,
		       const char *why)
{
	k->st.total++;
	if (!why) {
		k->st.passed++;
		return;
	}
	k->st.failed++;
	sn_dbg("selftest: %s: %s", name, why);
	if (k->fn)
		k->fn(name, tc_id, why, k->arg);
}

/* Decode a hex constant of known size (a programming error otherwise). */
static int unhex(const char *hex, uint8_t *out, size_t cap)
{
	int n = sn_hex_decode(hex, strlen(hex), out, cap);

	return n < 0 ? n : (size_t)n == strlen(hex) / 2 ? n : -EINVAL;
}

static int kat_rfc(struct kat_ctx *k)
{
	uint8_t key[32], nonce[12], aad[12], tag[16], etag[16], t[16];
	uint8_t ct[300], pt[300], exp[300];
	size_t len;
	int err, n;

	/* 2.8.2: seal and open */
	len = sizeof(rfc_sunscreen) - 1;
	if (unhex(k282_key, key, 32) < 0 || unhex(k282_nonce, nonce, 12) < 0 ||
	    unhex(k282_aad, aad, 12) < 0 || unhex(k282_tag, etag, 16) < 0 ||
	    unhex(k282_ct, exp, sizeof(exp)) != (int)len)
		return -EINVAL;
	err = sn_kaead_seal(key, nonce, aad, 12, (const uint8_t *)rfc_sunscreen,
			    len, ct, tag);
	if (err)
		return err;
	kat_result(k, "rfc8439-2.8.2-seal", -1,
		   memcmp(ct, exp, len) ? "ciphertext differs" :
		   memcmp(tag, etag, 16) ? "tag differs" : NULL);
	err = sn_kaead_open(key, nonce, aad, 12, exp, len, etag, pt);
	kat_result(k, "rfc8439-2.8.2-open", -1,
		   err == -EBADMSG ? "valid tag rejected" :
		   err ? strerror(-err) :
		   memcmp(pt, rfc_sunscreen, len) ? "plaintext differs" : NULL);

	/* A.5: open; then the same with one tag bit flipped */
	len = sizeof(ka5_pt) - 1;
	n = unhex(ka5_ct, ct, sizeof(ct));
	if (unhex(ka5_key, key, 32) < 0 || unhex(ka5_nonce, nonce, 12) < 0 ||
	    unhex(ka5_aad, aad, 12) < 0 || unhex(ka5_tag, etag, 16) < 0 ||
	    n != (int)len)
		return -EINVAL;
	err = sn_kaead_open(key, nonce, aad, 12, ct, len, etag, pt);
	kat_result(k, "rfc8439-A.5-open", -1,
		   err == -EBADMSG ? "valid tag rejected" :
		   err ? strerror(-err) :
		   memcmp(pt, ka5_pt, len) ? "plaintext differs" : NULL);
	etag[15] ^= 0x80;
	err = sn_kaead_open(key, nonce, aad, 12, ct, len, etag, pt);
	kat_result(k, "rfc8439-A.5-bad-tag", -1,
		   !err ? "forged tag accepted" :
		   err != -EBADMSG ? strerror(-err) : NULL);

	/* 2.3.2: one keystream block = ChaCha20 of 64 zero bytes */
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	memset(pt, 0, 64);
	if (unhex(k232_nonce, nonce, 12) < 0 ||
	    unhex(k232_block, exp, sizeof(exp)) != 64)
		return -EINVAL;
	err = sn_kaead_chacha20(key, 1, nonce, pt, 64, ct);
	if (err)
		return err;
	kat_result(k, "rfc8439-2.3.2-block", -1,
		   memcmp(ct, exp, 64) ? "keystream differs" : NULL);

	/* 2.4.2 */
	len = sizeof(rfc_sunscreen) - 1;
	if (unhex(k242_nonce, nonce, 12) < 0 ||
	    unhex(k242_ct, exp, sizeof(exp)) != (int)len)
		return -EINVAL;
	err = sn_kaead_chacha20(key, 1, nonce, (const uint8_t *)rfc_sunscreen,
				len, ct);
	if (err)
		return err;
	kat_result(k, "rfc8439-2.4.2-chacha20", -1,
		   memcmp(ct, exp, len) ? "ciphertext differs" : NULL);

	/* 2.5.2 */
	if (unhex(k252_key, key, 32) < 0 || unhex(k252_tag, etag, 16) < 0)
		return -EINVAL;
	err = sn_kaead_poly1305(key, (const uint8_t *)k252_msg,
				sizeof(k252_msg) - 1, t);
	if (err)
		return err;
	kat_result(k, "rfc8439-2.5.2-poly1305", -1,
		   memcmp(t, etag, 16) ? "tag differs" : NULL);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

/* Random round trips: kernel seal -> OpenSSL open, OpenSSL seal -> kernel
 * open, each compared byte for byte. */
static int kat_random(struct kat_ctx *k, unsigned int rounds)
{
	uint8_t *pt = NULL, *ct = NULL, *ct2 = NULL, *out = NULL;
	uint8_t key[32], nonce[12], aad[32], tag[16], tag2[16];
	const size_t cap = SN_KAEAD_MAX_LEN;
	char name[64];
	int err = -ENOMEM;

	pt = malloc(cap);
	ct = malloc(cap);
	ct2 = malloc(cap);
	out = malloc(cap);
	if (!pt || !ct || !ct2 || !out)
		goto cleanup;
	for (unsigned int i = 0; i < rounds; i++) {
		uint16_t r[2];
		size_t len, aad_len;

		if (RAND_bytes((uint8_t *)r, sizeof(r)) != 1 ||
		    RAND_bytes(key, sizeof(key)) != 1 ||
		    RAND_bytes(nonce, sizeof(nonce)) != 1 ||
		    RAND_bytes(aad, sizeof(aad)) != 1 ||
		    RAND_bytes(pt, (int)cap) != 1) {
			err = -EIO;
			goto cleanup;
		}
		/* the first rounds cover the edges: empty, one block, max */
		len = i == 0 ? 0 : i == 1 ? 64 : i == 2 ? cap : r[0] % (cap + 1);
		aad_len = i == 0 ? 0 : r[1] % (SN_KAEAD_MAX_AAD + 1);

		snprintf(name, sizeof(name), "random-%u-len-%zu-aad-%zu-k2o",
			 i, len, aad_len);
		err = sn_kaead_seal(key, nonce, aad, aad_len, pt, len, ct, tag);
		if (err)
			goto cleanup;
		err = sn_ref_aead_seal(key, nonce, aad, aad_len, pt, len, ct2,
				       tag2);
		if (err)
			goto cleanup;
		kat_result(k, name, -1,
			   memcmp(ct, ct2, len) ? "ciphertext differs from OpenSSL" :
			   memcmp(tag, tag2, 16) ? "tag differs from OpenSSL" :
			   sn_ref_aead_open(key, nonce, aad, aad_len, ct, len,
					    tag, out) ? "OpenSSL rejects it" :
			   memcmp(out, pt, len) ? "OpenSSL decrypts it wrong" :
			   NULL);

		snprintf(name, sizeof(name), "random-%u-len-%zu-aad-%zu-o2k",
			 i, len, aad_len);
		err = sn_kaead_open(key, nonce, aad, aad_len, ct2, len, tag2,
				    out);
		kat_result(k, name, -1,
			   err == -EBADMSG ? "OpenSSL's tag rejected" :
			   err ? strerror(-err) :
			   memcmp(out, pt, len) ? "plaintext differs" : NULL);
		if (err && err != -EBADMSG)
			goto cleanup;

		snprintf(name, sizeof(name), "random-%u-len-%zu-aad-%zu-flip",
			 i, len, aad_len);
		tag2[r[0] % 16] ^= (uint8_t)(1u << (r[1] % 8));
		err = sn_kaead_open(key, nonce, aad, aad_len, ct2, len, tag2,
				    out);
		kat_result(k, name, -1,
			   !err ? "forged tag accepted" :
			   err != -EBADMSG ? strerror(-err) : NULL);
	}
	err = 0;
cleanup:
	OPENSSL_cleanse(key, sizeof(key));
	free(pt);
	free(ct);
	free(ct2);
	free(out);
	return err;
}

int sn_selftest_kat(unsigned int rounds, sn_selftest_fail_fn fn, void *arg,
		    struct sn_selftest_stats *stats)
{
	struct kat_ctx k = { .fn = fn, .arg = arg };
	int err;

	err = sn_kaead_load();
	if (err)
		return err;
	err = kat_rfc(&k);
	if (err) {
		sn_err("selftest: RFC 8439 vectors could not run: %s",
		       strerror(-err));
		return err;
	}
	err = kat_random(&k, rounds ? rounds : KAT_ROUNDS_DEFAULT);
	if (err) {
		sn_err("selftest: random round trips could not run: %s",
		       strerror(-err));
		return err;
	}
	if (stats)
		*stats = k.st;
	return 0;
}

/* ---- vector files (Wycheproof layout) ---------------------------------- */

struct hexfield {
	uint8_t *p;
	size_t len;
};

/* Decode member name of t (a hex string) into a malloc'd buffer. */
static int get_hex(json_t *t, const char *name, struct hexfield *f)
{
	json_t *v = json_object_get(t, name);
	const char *s;
	size_t n;
	int r;

	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	n = json_string_length(v);
	f->p = malloc(n / 2 + 1);
	if (!f->p)
		return -ENOMEM;
	r = sn_hex_decode(s, n, f->p, n / 2 + 1);
	if (r < 0)
		return r;
	f->len = (size_t)r;
	return 0;
}

static int group_size(json_t *g, const char *name, long want)
{
	json_t *v = json_object_get(g, name);

	if (!v)
		return 1;
	if (!json_is_integer(v))
		return -EINVAL;
	return json_integer_value(v) == want;
}

enum expect { EXP_VALID, EXP_INVALID, EXP_ACCEPTABLE };

/* One vector; returns 0 when it was judged (stats updated), -errno when
 * the file is malformed or the kernel harness fails. */
static int run_vector(struct kat_ctx *k, json_t *t, int runnable)
{
	struct hexfield key = { 0 }, iv = { 0 }, aad = { 0 }, msg = { 0 },
			ct = { 0 }, tag = { 0 };
	const char *res, *why = NULL;
	uint8_t *out = NULL, otag[16];
	enum expect exp;
	json_t *id;
	char name[32];
	int err, tc;

	id = json_object_get(t, "tcId");
	res = json_string_value(json_object_get(t, "result"));
	if (!json_is_integer(id) || !res)
		return -EINVAL;
	tc = (int)json_integer_value(id);
	snprintf(name, sizeof(name), "tcId %d", tc);
	if (!strcmp(res, "valid"))
		exp = EXP_VALID;
	else if (!strcmp(res, "invalid"))
		exp = EXP_INVALID;
	else if (!strcmp(res, "acceptable"))
		exp = EXP_ACCEPTABLE;
	else
		return -EINVAL;

	err = get_hex(t, "key", &key);
	if (!err)
		err = get_hex(t, "iv", &iv);
	if (!err)
		err = get_hex(t, "aad", &aad);
	if (!err)
		err = get_hex(t, "msg", &msg);
	if (!err)
		err = get_hex(t, "ct", &ct);
	if (!err)
		err = get_hex(t, "tag", &tag);
	if (err) {
		sn_err("selftest: %s: malformed vector", name);
		goto cleanup;
	}

	if (!runnable || key.len != 32 || iv.len != 12 || tag.len != 16 ||
	    aad.len > SN_KAEAD_MAX_AAD || ct.len > SN_KAEAD_MAX_LEN ||
	    (exp == EXP_VALID && msg.len != ct.len)) {
		k->st.total++;
		k->st.skipped++;
		sn_dbg("selftest: %s: skipped (sizes not supported)", name);
		goto cleanup;
	}
	out = malloc(ct.len + 1);
	if (!out) {
		err = -ENOMEM;
		goto cleanup;
	}

	err = sn_kaead_open(key.p, iv.p, aad.p, aad.len, ct.p, ct.len, tag.p,
			    out);
	if (err && err != -EBADMSG)
		goto cleanup;
	if (exp == EXP_ACCEPTABLE) {
		k->st.total++;
		k->st.acceptable++;
		err = 0;
		goto cleanup;
	}
	if (exp == EXP_INVALID) {
		why = err ? NULL : "invalid vector accepted";
		err = 0;
		kat_result(k, name, tc, why);
		goto cleanup;
	}
	if (err)
		why = "valid vector rejected";
	else if (memcmp(out, msg.p, msg.len))
		why = "decrypted message differs";
	err = sn_kaead_seal(key.p, iv.p, aad.p, aad.len, msg.p, msg.len, out,
			    otag);
	if (err)
		goto cleanup;
	if (!why && memcmp(out, ct.p, ct.len))
		why = "ciphertext differs";
	if (!why && memcmp(otag, tag.p, 16))
		why = "tag differs";
	kat_result(k, name, tc, why);
cleanup:
	if (key.p)
		OPENSSL_cleanse(key.p, key.len);
	free(key.p);
	free(iv.p);
	free(aad.p);
	free(msg.p);
	free(ct.p);
	free(tag.p);
	free(out);
	return err;
}

int sn_selftest_vectors(const char *path, sn_selftest_fail_fn fn, void *arg,
			struct sn_selftest_stats *stats)
{
	struct kat_ctx k = { .fn = fn, .arg = arg };
	json_t *root = NULL, *groups, *alg, *g;
	json_error_t jerr;
	uint8_t *data = NULL;
	size_t len = 0, gi;
	int err;

	err = sn_read_file(path, VECTOR_FILE_MAX, &data, &len);
	if (err) {
		sn_err("selftest: %s: %s", path, strerror(-err));
		return err;
	}
	root = json_loadb((const char *)data, len, 0, &jerr);
	if (!root) {
		sn_err("selftest: %s:%d: %s", path, jerr.line, jerr.text);
		err = -EINVAL;
		goto cleanup;
	}
	alg = json_object_get(root, "algorithm");
	if (alg && (!json_is_string(alg) ||
		    strcmp(json_string_value(alg), "CHACHA20-POLY1305"))) {
		sn_err("selftest: %s: not a CHACHA20-POLY1305 vector file",
		       path);
		err = -EINVAL;
		goto cleanup;
	}
	groups = json_object_get(root, "testGroups");
	if (!json_is_array(groups)) {
		sn_err("selftest: %s: no testGroups array", path);
		err = -EINVAL;
		goto cleanup;
	}
	err = sn_kaead_load();
	if (err)
		goto cleanup;
	json_array_foreach(groups, gi, g) {
		json_t *tests = json_object_get(g, "tests"), *t;
		int iv_ok = group_size(g, "ivSize", 96);
		int key_ok = group_size(g, "keySize", 256);
		int tag_ok = group_size(g, "tagSize", 128);
		size_t ti;

		if (!json_is_array(tests) || iv_ok < 0 || key_ok < 0 ||
		    tag_ok < 0) {
			sn_err("selftest: %s: malformed test group %zu", path,
			       gi);
			err = -EINVAL;
			goto cleanup;
		}
		json_array_foreach(tests, ti, t) {
			err = run_vector(&k, t, iv_ok && key_ok && tag_ok);
			if (err) {
				sn_err("selftest: %s: group %zu test %zu: %s",
				       path, gi, ti, strerror(-err));
				goto cleanup;
			}
		}
	}
	if (k.st.skipped)
		sn_info("selftest: %s: %u of %u vectors skipped (iv, key, tag, "
			"aad or message size the kernel AEAD does not take)",
			path, k.st.skipped, k.st.total);
	if (stats)
		*stats = k.st;
cleanup:
	json_decref(root);
	free(data);
	return err;
}
