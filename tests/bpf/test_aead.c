// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel ChaCha20-Poly1305 (bpf/lib/aead.h), run through
 * BPF_PROG_TEST_RUN: RFC 8439 vectors, interop with OpenSSL both ways on
 * random sizes, every length around the block edges, every offset,
 * tampering rejected with the output untouched, bad requests refused.
 * Needs root (CAP_BPF); skipped otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sealnet/kaead.h"
#include "sealnet/util.h"
#include "../../lib/dataplane/rfc8439.h" /* the vectors, hex */

#define MAXLEN SN_KAEAD_MAX_LEN

static int kernel_ok;

static void need_kernel(void)
{
	if (!kernel_ok)
		skip();
}

static void unhex(const char *hex, uint8_t *out, size_t want)
{
	int n = sn_hex_decode(hex, strlen(hex), out, want);

	assert_int_equal(n, (int)want);
}

static void rnd(void *p, size_t n)
{
	if (n)
		assert_int_equal(RAND_bytes(p, (int)n), 1);
}

static uint32_t rnd32(void)
{
	uint32_t v;

	rnd(&v, sizeof(v));
	return v;
}

/* ---- OpenSSL references (independent of libsealnet) -------------------- */

static int ossl_aead(int enc, const uint8_t *key, const uint8_t *nonce,
		     const uint8_t *aad, size_t aad_len, const uint8_t *in,
		     size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t dummy[1];
	int n, ok;

	assert_non_null(ctx);
	ok = EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce,
			       enc) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1;
	if (ok && aad_len)
		ok = EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1;
	if (ok && len)
		ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, len ? out + len : dummy, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static void ossl_poly1305(const uint8_t *key, const uint8_t *msg, size_t len,
			  uint8_t tag[16])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_MAC_CTX *ctx;
	size_t n = 0;

	assert_non_null(mac);
	ctx = EVP_MAC_CTX_new(mac);
	assert_non_null(ctx);
	assert_int_equal(EVP_MAC_init(ctx, key, 32, NULL), 1);
	if (len)
		assert_int_equal(EVP_MAC_update(ctx, msg, len), 1);
	assert_int_equal(EVP_MAC_final(ctx, tag, &n, 16), 1);
	assert_int_equal(n, 16);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

static void ossl_chacha20(const uint8_t *key, uint32_t ctr,
			  const uint8_t *nonce, const uint8_t *in, size_t len,
			  uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t iv[16];
	int n;

	memcpy(iv, &ctr, 4); /* little-endian host */
	memcpy(iv + 4, nonce, 12);
	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, key, iv),
			 1);
	if (len)
		assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, (int)len),
				 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* ---- RFC 8439 ----------------------------------------------------------- */

/* An AEAD vector (hex key, nonce, aad, ct, tag; pt as text, len bytes):
 * with seal, pt seals to ct and tag; ct and tag open to pt. */
static void rfc_aead(const char *key_hex, const char *nonce_hex,
		     const char *aad_hex, const char *ct_hex,
		     const char *tag_hex, const char *pt, size_t len, bool seal)
{
	uint8_t key[32], nonce[12], aad[12], tag[16], etag[16];
	uint8_t ct[300], exp[300], out[300];

	assert_true(len <= sizeof(ct));
	unhex(key_hex, key, 32);
	unhex(nonce_hex, nonce, 12);
	unhex(aad_hex, aad, 12);
	unhex(ct_hex, exp, len);
	unhex(tag_hex, etag, 16);
	if (seal) {
		assert_int_equal(sn_kaead_seal(key, nonce, aad, 12,
					       (const uint8_t *)pt, len, ct,
					       tag), 0);
		assert_memory_equal(ct, exp, len);
		assert_memory_equal(tag, etag, 16);
	}
	assert_int_equal(sn_kaead_open(key, nonce, aad, 12, exp, len, etag, out),
			 0);
	assert_memory_equal(out, pt, len);
}

static void test_rfc_2_8_2(void **state)
{
	need_kernel();
	assert_int_equal(sizeof(rfc_sunscreen) - 1, 114);
	rfc_aead(k282_key, k282_nonce, k282_aad, k282_ct, k282_tag,
		 rfc_sunscreen, 114, true);
}

static void test_rfc_a_5(void **state)
{
	need_kernel();
	assert_int_equal(sizeof(ka5_pt) - 1, 265);
	rfc_aead(ka5_key, ka5_nonce, ka5_aad, ka5_ct, ka5_tag, ka5_pt, 265,
		 false);
}

static void test_rfc_chacha20(void **state)
{
	uint8_t key[32], nonce[12], zero[64] = { 0 }, out[114], exp[114];

	need_kernel();
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	/* 2.3.2: the serialized block for counter 1 */
	unhex(k232_nonce, nonce, 12);
	unhex(k232_block, exp, 64);
	assert_int_equal(sn_kaead_chacha20(key, 1, nonce, zero, 64, out), 0);
	assert_memory_equal(out, exp, 64);
	/* 2.4.2 */
	unhex(k242_nonce, nonce, 12);
	unhex(k242_ct, exp, 114);
	assert_int_equal(sn_kaead_chacha20(key, 1, nonce,
					   (const uint8_t *)rfc_sunscreen, 114,
					   out), 0);
	assert_memory_equal(out, exp, 114);
}

static void test_rfc_poly1305(void **state)
{
	uint8_t key[32], tag[16], exp[16];

	need_kernel();
	unhex(k252_key, key, 32);
	unhex(k252_tag, exp, 16);
	assert_int_equal(sn_kaead_poly1305(key, (const uint8_t *)k252_msg,
					   sizeof(k252_msg) - 1, tag), 0);
	assert_memory_equal(tag, exp, 16);
}

/* ChaCha20 against OpenSSL: random counters (incl. near wrap-around),
 * every length 0..200, a few long ones. */
static void test_chacha20_vs_openssl(void **state)
{
	uint8_t key[32], nonce[12], in[MAXLEN], out[MAXLEN], exp[MAXLEN];

	need_kernel();
	for (size_t len = 0; len <= 260; len++) {
		uint32_t ctr = len == 7 ? 0xfffffffeu : rnd32() >> 8;

		rnd(key, 32);
		rnd(nonce, 12);
		rnd(in, len);
		ossl_chacha20(key, ctr, nonce, in, len, exp);
		assert_int_equal(sn_kaead_chacha20(key, ctr, nonce, in, len,
						   out), 0);
		assert_memory_equal(out, exp, len);
	}
	rnd(in, MAXLEN);
	ossl_chacha20(key, 3, nonce, in, MAXLEN, exp);
	assert_int_equal(sn_kaead_chacha20(key, 3, nonce, in, MAXLEN, out), 0);
	assert_memory_equal(out, exp, MAXLEN);
}

/* Poly1305 against OpenSSL, including keys and messages that push the
 * accumulator to its limits (all ones) and exercise the final reduction. */
static void test_poly1305_vs_openssl(void **state)
{
	uint8_t key[32], msg[MAXLEN], tag[16], exp[16];

	need_kernel();
	for (size_t len = 0; len <= 300; len++) {
		int kind = (int)(len % 4);

		rnd(key, 32);
		rnd(msg, len);
		if (kind == 1) /* maximal r and s, all-ones message */
			memset(key, 0xff, 32), memset(msg, 0xff, len);
		if (kind == 2) /* r = 0: tag = s */
			memset(key, 0, 16);
		if (kind == 3) /* all-ones message, random key */
			memset(msg, 0xff, len);
		ossl_poly1305(key, msg, len, exp);
		assert_int_equal(sn_kaead_poly1305(key, msg, len, tag), 0);
		assert_memory_equal(tag, exp, 16);
	}
	memset(key, 0xff, 32);
	memset(msg, 0xff, MAXLEN);
	ossl_poly1305(key, msg, MAXLEN, exp);
	assert_int_equal(sn_kaead_poly1305(key, msg, MAXLEN, tag), 0);
	assert_memory_equal(tag, exp, 16);
}

/* ---- AEAD interop --------------------------------------------------------- */

struct case_buf {
	uint8_t key[32], nonce[12], aad[32], tag[16], tag2[16];
	uint8_t pt[MAXLEN], ct[MAXLEN], ct2[MAXLEN], out[MAXLEN];
};

/* kernel seals -> OpenSSL opens; OpenSSL seals -> kernel opens */
static void interop_one(struct case_buf *b, size_t len, size_t aad_len,
			unsigned int off)
{
	struct sn_kaead_req r = {
		.op = SN_KAEAD_SEAL, .off = off, .key = b->key,
		.nonce = b->nonce, .aad = b->aad, .aad_len = aad_len,
		.in = b->pt, .len = len, .out = b->ct,
	};

	rnd(b->key, 32);
	rnd(b->nonce, 12);
	rnd(b->aad, aad_len);
	rnd(b->pt, len);

	assert_int_equal(sn_kaead_run(&r), 0);
	assert_int_equal(ossl_aead(0, b->key, b->nonce, b->aad, aad_len, b->ct,
				   len, b->out, r.tag), 0);
	assert_memory_equal(b->out, b->pt, len);

	assert_int_equal(ossl_aead(1, b->key, b->nonce, b->aad, aad_len, b->pt,
				   len, b->ct2, b->tag2), 0);
	assert_memory_equal(b->ct2, b->ct, len);
	assert_memory_equal(b->tag2, r.tag, 16);
	r.op = SN_KAEAD_OPEN;
	r.in = b->ct2;
	r.out = b->out;
	memset(b->out, 0xa5, len);
	memcpy(r.tag, b->tag2, 16);
	assert_int_equal(sn_kaead_run(&r), 0);
	assert_memory_equal(b->out, b->pt, len);
}

static void test_interop_random(void **state)
{
	struct case_buf *b = malloc(sizeof(*b));

	need_kernel();
	assert_non_null(b);
	for (int i = 0; i < 400; i++) {
		uint32_t r = rnd32();

		interop_one(b, r % 1481, (r >> 11) % 33, (r >> 17) % 65);
	}
	free(b);
}

/* every length across the first blocks and around the 64-byte edges up to
 * the maximum, every aad length, every offset */
static void test_interop_edges(void **state)
{
	struct case_buf *b = malloc(sizeof(*b));

	need_kernel();
	assert_non_null(b);
	for (size_t len = 0; len <= 200; len++)
		interop_one(b, len, len % 33, (unsigned int)(len % 65));
	for (size_t len = 250; len <= MAXLEN; len += 64)
		for (int d = -1; d <= 1; d++)
			if (len + d <= MAXLEN)
				interop_one(b, len + d, 20, 42);
	interop_one(b, MAXLEN, 32, 64);
	interop_one(b, MAXLEN, 0, 0);
	for (size_t aad_len = 0; aad_len <= 32; aad_len++)
		interop_one(b, 1400, aad_len, 0);
	for (unsigned int off = 0; off <= 64; off++)
		interop_one(b, 1400, 20, off);
	free(b);
}

/* ---- tampering ------------------------------------------------------------ */

static void expect_reject(struct case_buf *b, const uint8_t *aad,
			  size_t aad_len, const uint8_t *ct, size_t len,
			  const uint8_t *tag)
{
	memset(b->out, 0x5a, len);
	assert_int_equal(sn_kaead_open(b->key, b->nonce, aad, aad_len, ct, len,
				       tag, b->out), -EBADMSG);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(b->out[i], 0x5a);
}

static void test_bit_flips(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 1400,
				       MAXLEN };
	struct case_buf *b = malloc(sizeof(*b));

	need_kernel();
	assert_non_null(b);
	for (size_t li = 0; li < SN_ARRAY_SIZE(lens); li++) {
		size_t len = lens[li], aad_len = 20;

		rnd(b->key, 32);
		rnd(b->nonce, 12);
		rnd(b->aad, 32);
		rnd(b->pt, len);
		assert_int_equal(sn_kaead_seal(b->key, b->nonce, b->aad,
					       aad_len, b->pt, len, b->ct,
					       b->tag), 0);
		for (int k = 0; k < 24; k++) {
			uint32_t r = rnd32();
			uint8_t bit = (uint8_t)(1u << (r % 8));

			/* ciphertext */
			if (len) {
				size_t i = (r >> 3) % len;

				b->ct[i] ^= bit;
				expect_reject(b, b->aad, aad_len, b->ct, len,
					      b->tag);
				b->ct[i] ^= bit;
			}
			/* tag */
			memcpy(b->tag2, b->tag, 16);
			b->tag2[(r >> 3) % 16] ^= bit;
			expect_reject(b, b->aad, aad_len, b->ct, len, b->tag2);
			/* aad */
			b->aad[(r >> 3) % aad_len] ^= bit;
			expect_reject(b, b->aad, aad_len, b->ct, len, b->tag);
			b->aad[(r >> 3) % aad_len] ^= bit;
		}
		/* aad length, message length, nonce, key */
		expect_reject(b, b->aad, aad_len - 1, b->ct, len, b->tag);
		expect_reject(b, b->aad, aad_len + 1, b->ct, len, b->tag);
		if (len)
			expect_reject(b, b->aad, aad_len, b->ct, len - 1,
				      b->tag);
		b->nonce[11] ^= 1;
		expect_reject(b, b->aad, aad_len, b->ct, len, b->tag);
		b->nonce[11] ^= 1;
		b->key[0] ^= 1;
		expect_reject(b, b->aad, aad_len, b->ct, len, b->tag);
		b->key[0] ^= 1;
		/* and the untouched message still opens */
		assert_int_equal(sn_kaead_open(b->key, b->nonce, b->aad,
					       aad_len, b->ct, len, b->tag,
					       b->out), 0);
		assert_memory_equal(b->out, b->pt, len);
	}
	free(b);
}

static void test_bad_requests(void **state)
{
	uint8_t key[32] = { 0 }, nonce[12] = { 0 }, aad[40] = { 0 }, tag[16];
	static uint8_t msg[MAXLEN + 1];
	struct sn_kaead_req r = {
		.op = SN_KAEAD_SEAL, .key = key, .nonce = nonce, .aad = aad,
		.in = msg, .out = msg, .len = 10, .off = 65,
	};

	need_kernel();
	assert_int_equal(sn_kaead_seal(key, nonce, aad, 33, msg, 10, msg, tag),
			 -EINVAL);
	assert_int_equal(sn_kaead_seal(key, nonce, aad, 0, msg, MAXLEN + 1, msg,
				       tag), -EINVAL);
	assert_int_equal(sn_kaead_run(&r), -EINVAL);
	r.op = 9;
	r.off = 0;
	assert_int_equal(sn_kaead_run(&r), -EINVAL);
}

static int group_setup(void **state)
{
	int err = sn_kaead_load();

	kernel_ok = err == 0;
	if (!kernel_ok)
		fprintf(stderr, "test_aead: kernel AEAD not loadable (%s); "
				"skipping (needs root)\n", strerror(-err));
	return 0;
}

static int group_teardown(void **state)
{
	sn_kaead_unload();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_2_8_2),
		cmocka_unit_test(test_rfc_a_5),
		cmocka_unit_test(test_rfc_chacha20),
		cmocka_unit_test(test_rfc_poly1305),
		cmocka_unit_test(test_chacha20_vs_openssl),
		cmocka_unit_test(test_poly1305_vs_openssl),
		cmocka_unit_test(test_interop_random),
		cmocka_unit_test(test_interop_edges),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
