// SPDX-License-Identifier: Apache-2.0
/*
 * The SIMD engine's ChaCha20-Poly1305 (lib/engine/aead.c: one ChaCha20
 * pass over the Poly1305 key block and the body, one Poly1305 pass)
 * against OpenSSL's EVP "ChaCha20-Poly1305" with the wire format's nonce
 * (4 zero bytes | le64 counter) and 20-byte AAD: the same ciphertext and
 * tag at every length 1..2100, nothing written outside the documented
 * scratch, the input's bytes past the end only read; open gives the
 * plaintext back and refuses (-EBADMSG, output wiped) a flipped bit in
 * ciphertext, tag or AAD, another counter or another key.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "../../lib/engine/internal.h"

#define MAXLEN 2100u
#define ROOM   SN_ENG_AEAD_ROOM
#define CANARY 0xa5

/* the reference: EVP ChaCha20-Poly1305, one call per part */
static void ref_seal(const uint8_t key[32], uint64_t ctr,
		     const uint8_t aad[SN_HDR_LEN], const uint8_t *in,
		     size_t len, uint8_t *out, uint8_t tag[SN_TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t nonce[SN_NONCE_LEN] = {0};
	uint64_t le = htole64(ctr);
	int n;

	memcpy(nonce + 4, &le, 8);
	assert_non_null(c);
	assert_true(EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key,
				       nonce));
	assert_true(EVP_EncryptUpdate(c, NULL, &n, aad, SN_HDR_LEN));
	assert_true(EVP_EncryptUpdate(c, out, &n, in, (int)len));
	assert_true(EVP_EncryptFinal_ex(c, out + n, &n));
	assert_true(
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, SN_TAG_LEN, tag));
	EVP_CIPHER_CTX_free(c);
}

static void fill(uint8_t *p, size_t n, unsigned int *seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rand_r(seed);
}

static size_t round64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static void seal_matches_evp(void **state)
{
	static uint8_t in[ROOM + MAXLEN + ROOM + 64],
		out[ROOM + MAXLEN + ROOM + 64], ref[MAXLEN],
		copy[ROOM + MAXLEN + ROOM];
	uint8_t key[32], aad[SN_HDR_LEN], tag[SN_TAG_LEN], rtag[SN_TAG_LEN];
	struct sn_eng_aead a;
	unsigned int seed = 11;

	(void)state;
	assert_int_equal(sn_eng_aead_init(&a), 0);
	for (size_t len = 1; len <= MAXLEN; len++) {
		uint64_t ctr = ((uint64_t)rand_r(&seed) << 32) ^ len;

		fill(key, sizeof(key), &seed);
		fill(aad, sizeof(aad), &seed);
		fill(in, sizeof(in), &seed);
		memcpy(copy, in, sizeof(copy));
		memset(out, CANARY, sizeof(out));
		ref_seal(key, ctr, aad, in + ROOM, len, ref, rtag);
		assert_int_equal(sn_eng_aead_key(&a, key), 0);
		assert_int_equal(sn_eng_seal(&a, ctr, aad, in + ROOM,
					     out + ROOM, len, tag),
				 0);
		if (memcmp(out + ROOM, ref, len) || memcmp(tag, rtag, 16))
			fail_msg("length %zu: not EVP's ciphertext or tag",
				 len);
		/* the input: the room before zeroed, the rest unchanged */
		for (size_t i = 0; i < ROOM; i++)
			assert_int_equal(in[i], 0);
		assert_memory_equal(in + ROOM, copy + ROOM, len + ROOM);
		/* the output: nothing outside [-64, round64(len)) touched,
		 * the room before wiped (it held the one-time key) */
		for (size_t i = ROOM + round64(len); i < sizeof(out); i++)
			if (out[i] != CANARY)
				fail_msg("length %zu: byte %zu past the "
					 "output's scratch written",
					 len, i - ROOM);
		for (size_t i = 0; i < ROOM; i++)
			assert_int_equal(out[i], 0);
	}
	sn_eng_aead_free(&a);
}

static void open_roundtrip_and_rejects(void **state)
{
	static uint8_t ct[ROOM + MAXLEN + ROOM], pt[MAXLEN],
		out[ROOM + MAXLEN + ROOM];
	uint8_t key[32], key2[32], aad[SN_HDR_LEN], tag[SN_TAG_LEN];
	struct sn_eng_aead a;
	unsigned int seed = 23;
	static const size_t lens[] = {1,  15, 16,   17,	  63,
				      64, 65, 1400, 1456, 2004};

	(void)state;
	assert_int_equal(sn_eng_aead_init(&a), 0);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k];
		uint64_t ctr = 1000 + k;

		fill(key, sizeof(key), &seed);
		fill(key2, sizeof(key2), &seed);
		fill(aad, sizeof(aad), &seed);
		fill(pt, len, &seed);
		memset(ct, 0, sizeof(ct));
		ref_seal(key, ctr, aad, pt, len, ct + ROOM, tag);
		/* the tag right after the ciphertext, as on the wire */
		memcpy(ct + ROOM + len, tag, SN_TAG_LEN);

		assert_int_equal(sn_eng_aead_key(&a, key), 0);
		assert_int_equal(sn_eng_open(&a, ctr, aad, ct + ROOM,
					     out + ROOM, len, ct + ROOM + len),
				 0);
		assert_memory_equal(out + ROOM, pt, len);

		for (int what = 0; what < 5; what++) {
			uint8_t *flip = what == 0 ? ct + ROOM + len / 2 :
					what == 1 ? ct + ROOM + len + 3 :
					what == 2 ? aad + 7 :
						    NULL;
			uint64_t c = what == 3 ? ctr + 1 : ctr;

			if (flip)
				*flip ^= 0x10;
			assert_int_equal(
				sn_eng_aead_key(&a, what == 4 ? key2 : key), 0);
			memset(out + ROOM, 0x77, len);
			if (sn_eng_open(&a, c, aad, ct + ROOM, out + ROOM, len,
					ct + ROOM + len) != -EBADMSG)
				fail_msg("length %zu, change %d: opened", len,
					 what);
			for (size_t i = 0; i < len; i++)
				if (out[ROOM + i])
					fail_msg("length %zu, change %d: "
						 "output not wiped",
						 len, what);
			if (flip)
				*flip ^= 0x10;
		}
	}
	sn_eng_aead_free(&a);
}

/* the send path's batch: the key set once, then 64 packets (one UDP GSO
 * message's worth) at consecutive counters, only the nonce set per
 * packet; each is EVP's packet, and the receive path opens them all, in
 * another order, under the key set once too: nothing of one packet's
 * keystream or MAC state carries into the next */
static void one_key_many_packets(void **state)
{
	enum { NPKT = 64 };
	static uint8_t in[ROOM + MAXLEN + ROOM], out[NPKT][ROOM + 1500 + ROOM],
		ref[1500], pt[ROOM + 1500 + ROOM];
	uint8_t key[32], aad[SN_HDR_LEN], tags[NPKT][SN_TAG_LEN],
		rtag[SN_TAG_LEN];
	size_t lens[NPKT];
	struct sn_eng_aead a;
	unsigned int seed = 37;
	uint64_t c0 = (1ull << 40) - 40; /* across a 2^40 boundary too */

	(void)state;
	assert_int_equal(sn_eng_aead_init(&a), 0);
	fill(key, sizeof(key), &seed);
	fill(aad, sizeof(aad), &seed);
	assert_int_equal(sn_eng_aead_key(&a, key), 0);
	for (size_t i = 0; i < NPKT; i++) {
		lens[i] =
			i + 1 < NPKT ? 1436 : 1 + (size_t)rand_r(&seed) % 1436;
		if (i % 7 == 3)
			lens[i] = 1 + i; /* short ones between */
		fill(in, sizeof(in), &seed);
		ref_seal(key, c0 + i, aad, in + ROOM, lens[i], ref, rtag);
		assert_int_equal(sn_eng_seal(&a, c0 + i, aad, in + ROOM,
					     out[i] + ROOM, lens[i], tags[i]),
				 0);
		if (memcmp(out[i] + ROOM, ref, lens[i]) ||
		    memcmp(tags[i], rtag, SN_TAG_LEN))
			fail_msg("packet %zu of a batch under one key: not "
				 "EVP's",
				 i);
	}
	/* opened last to first, then a replayed tag on the wrong packet */
	for (size_t k = NPKT; k-- > 0;) {
		assert_int_equal(sn_eng_open(&a, c0 + k, aad, out[k] + ROOM,
					     pt + ROOM, lens[k], tags[k]),
				 0);
	}
	assert_int_equal(sn_eng_open(&a, c0 + 1, aad, out[1] + ROOM, pt + ROOM,
				     lens[1], tags[0]),
			 -EBADMSG);
	sn_eng_aead_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seal_matches_evp),
		cmocka_unit_test(open_roundtrip_and_rejects),
		cmocka_unit_test(one_key_many_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
