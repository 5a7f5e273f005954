// SPDX-License-Identifier: Apache-2.0
/*
 * The engine's ChaCha20-Poly1305 (RFC 8439 §2.8, the wire format's AEAD:
 * docs/wire-format.md §2) as one ChaCha20 pass and one Poly1305 pass per
 * packet, both OpenSSL's (EVP "ChaCha20", EVP_MAC "POLY1305": their
 * AVX2/AVX-512 code).
 *
 * Why not EVP "ChaCha20-Poly1305": for one 1.4 KB packet OpenSSL 3.0's
 * AEAD runs its ChaCha20 three times (the Poly1305 key block on its own,
 * the whole blocks, the last partial block on its own) and costs five
 * calls through the provider layer (nonce, AAD, body, final, tag).  Here
 * the key block and the body are one keystream: the 64 bytes before the
 * input are zeroed and encrypted with it (counter 0: out[-64..-32) is the
 * one-time Poly1305 key, counter 1 on is the body), and the length is
 * rounded up to whole blocks (the bytes past the end are read and written
 * but mean nothing).  Same bytes on the wire, tests/unit/test_engine_aead.c
 * compares with EVP "ChaCha20-Poly1305" at every length.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

int sn_eng_aead_init(struct sn_eng_aead *a)
{
	memset(a, 0, sizeof(*a));
	a->chacha = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	a->cctx = EVP_CIPHER_CTX_new();
	a->mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	a->mctx = a->mac ? EVP_MAC_CTX_new(a->mac) : NULL;
	/* the cipher set once: passed again, OpenSSL frees and re-creates
	 * the context's state */
	if (!a->chacha || !a->cctx || !a->mctx ||
	    !EVP_EncryptInit_ex(a->cctx, a->chacha, NULL, NULL, NULL)) {
		sn_eng_aead_free(a);
		return -ENOTSUP;
	}
	return 0;
}

void sn_eng_aead_free(struct sn_eng_aead *a)
{
	EVP_MAC_CTX_free(a->mctx);
	EVP_MAC_free(a->mac);
	EVP_CIPHER_CTX_free(a->cctx);
	EVP_CIPHER_free(a->chacha);
	OPENSSL_cleanse(a, sizeof(*a));
}

/* Poly1305 over aad | pad | ct | pad | le64(aad) | le64(ct) (RFC 8439
 * §2.8), the MAC context keyed by pass() with the one-time key; three
 * updates (each is a call through the provider layer): the padded AAD,
 * the ciphertext, the pad and lengths */
static int mac(struct sn_eng_aead *a, const uint8_t aad[SN_HDR_LEN],
	       const uint8_t *ct, size_t len, uint8_t tag[SN_TAG_LEN])
{
	uint8_t head[32] = {0}, tail[32] = {0};
	uint64_t lens[2] = {htole64(SN_HDR_LEN), htole64(len)};
	size_t pad = (16 - len % 16) % 16, out;

	_Static_assert(SN_HDR_LEN <= 32 && SN_HDR_LEN > 16, "AAD pad");
	memcpy(head, aad, SN_HDR_LEN);
	memcpy(tail + pad, lens, sizeof(lens));
	if (!EVP_MAC_update(a->mctx, head, sizeof(head)) ||
	    !EVP_MAC_update(a->mctx, ct, len) ||
	    !EVP_MAC_update(a->mctx, tail, pad + sizeof(lens)) ||
	    !EVP_MAC_final(a->mctx, tag, &out, SN_TAG_LEN) || out != SN_TAG_LEN)
		return -EIO;
	return 0;
}

int sn_eng_aead_key(struct sn_eng_aead *a, const uint8_t key[SN_KEY_LEN])
{
	return EVP_EncryptInit_ex(a->cctx, NULL, NULL, key, NULL) ? 0 : -EIO;
}

/* the keystream from counter 0 over [in - 64, in + round64(len)) */
static int stream(struct sn_eng_aead *a, uint64_t ctr, const uint8_t *in,
		  uint8_t *out, size_t len)
{
	/* EVP ChaCha20's IV: le32 block counter | 96-bit nonce, which is
	 * the wire format's 4 zero bytes | le64(counter) */
	uint8_t iv[16] = {0};
	uint64_t le = htole64(ctr);
	size_t n = 64 + ((len + 63) & ~(size_t)63);
	int got;

	memcpy(iv + 8, &le, 8);
	if (!EVP_EncryptInit_ex(a->cctx, NULL, NULL, NULL, iv) ||
	    !EVP_EncryptUpdate(a->cctx, out - 64, &got, in - 64, (int)n) ||
	    (size_t)got != n)
		return -EIO;
	return 0;
}

/* the pass both directions start with: the keystream over the zeroed
 * block before in and over in (ciphertext or plaintext) to out, then the
 * one-time Poly1305 key (out[-64..-32), RFC 8439 §2.6) into the MAC
 * context and the whole keystream block wiped; the MAC then runs over ct
 * (out when sealing, in when opening) */
static int pass(struct sn_eng_aead *a, uint64_t ctr, uint8_t *in, uint8_t *out,
		size_t len)
{
	int err;

	memset(in - 64, 0, 64);
	err = stream(a, ctr, in, out, len);
	if (!err && !EVP_MAC_init(a->mctx, out - 64, 32, NULL))
		err = -EIO;
	OPENSSL_cleanse(out - 64, 64);
	return err;
}

int sn_eng_seal(struct sn_eng_aead *a, uint64_t ctr,
		const uint8_t aad[SN_HDR_LEN], uint8_t *in, uint8_t *out,
		size_t len, uint8_t tag[SN_TAG_LEN])
{
	int err = pass(a, ctr, in, out, len);

	return err ? err : mac(a, aad, out, len, tag);
}

int sn_eng_open(struct sn_eng_aead *a, uint64_t ctr,
		const uint8_t aad[SN_HDR_LEN], uint8_t *in, uint8_t *out,
		size_t len, const uint8_t tag[SN_TAG_LEN])
{
	uint8_t want[SN_TAG_LEN];
	/* the tag may sit right after the ciphertext, in the bytes the
	 * rounded pass reads: it is only read */
	int err = pass(a, ctr, in, out, len);

	if (!err)
		err = mac(a, aad, in, len, want);
	if (!err && CRYPTO_memcmp(want, tag, SN_TAG_LEN))
		err = -EBADMSG;
	if (err)
		OPENSSL_cleanse(out, len);
	return err;
}
