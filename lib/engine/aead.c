// SPDX-License-Identifier: Apache-2.0
/*
 * The engine's ChaCha20-Poly1305 (RFC 8439 §2.8, the wire format's AEAD:
 * docs/wire-format.md §2) as one ChaCha20 pass and one Poly1305 pass per
 * packet, both OpenSSL's ("ChaCha20" and the MAC "POLY1305" of the
 * provider EVP fetches: their AVX2/AVX-512 code).
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
#include <strings.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/provider.h>

#include "internal.h"

/*
 * The per-packet calls go straight to the provider's functions (its
 * dispatch table: OSSL_PROVIDER_query_operation, provider-cipher(7),
 * provider-mac(7)) of the implementation EVP fetched, instead of through
 * EVP_EncryptInit_ex / EVP_EncryptUpdate / EVP_MAC_*: the same OpenSSL
 * code does the work, but the EVP layer's per-call checks and parameter
 * queries (the IV length asked of the provider on every IV set, the MAC
 * size on every final: OSSL_PARAM lookups by name) are ~35 ns of the
 * ~575 ns a 1.4 KB seal takes (docs/performance.md, "The SIMD engine,
 * round 3").
 */
/* the implementation called name (first match) among prov's algorithms
 * for op; the provider is told when the list is no longer read (the
 * implementation's functions stay valid while prov is loaded) */
static const OSSL_DISPATCH *impl(const OSSL_PROVIDER *prov, int op,
				 const char *name)
{
	int no_store = 0;
	const OSSL_ALGORITHM *all =
		OSSL_PROVIDER_query_operation(prov, op, &no_store);
	const OSSL_DISPATCH *d = NULL;
	size_t l = strlen(name);

	/* algorithm_names: "NAME1:NAME2:..." */
	for (const OSSL_ALGORITHM *a = all; !d && a && a->algorithm_names; a++)
		for (const char *n = a->algorithm_names; n && !d;
		     n = strchr(n, ':') ? strchr(n, ':') + 1 : NULL)
			if (!strncasecmp(n, name, l) &&
			    (n[l] == 0 || n[l] == ':'))
				d = a->implementation;
	if (all)
		OSSL_PROVIDER_unquery_operation(prov, op, all);
	return d;
}

static void (*func(const OSSL_DISPATCH *d, int id))(void)
{
	for (; d && d->function_id; d++)
		if (d->function_id == id)
			return d->function;
	return NULL;
}

void sn_eng_aead_free(struct sn_eng_aead *a)
{
	if (a->c_ctx && a->c_free)
		a->c_free(a->c_ctx); /* the provider wipes its contexts */
	if (a->m_ctx && a->m_free)
		a->m_free(a->m_ctx);
	EVP_MAC_free(a->mac);
	EVP_CIPHER_free(a->chacha);
	OPENSSL_cleanse(a, sizeof(*a));
}

int sn_eng_aead_init(struct sn_eng_aead *a)
{
	const OSSL_PROVIDER *cp, *mp;
	const OSSL_DISPATCH *cd, *md;

	memset(a, 0, sizeof(*a));
	/* the fetched algorithms hold their provider loaded */
	a->chacha = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	a->mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	cp = a->chacha ? EVP_CIPHER_get0_provider(a->chacha) : NULL;
	mp = a->mac ? EVP_MAC_get0_provider(a->mac) : NULL;
	cd = cp ? impl(cp, OSSL_OP_CIPHER, "ChaCha20") : NULL;
	md = mp ? impl(mp, OSSL_OP_MAC, "POLY1305") : NULL;
	if (!cd || !md)
		goto fail;
	a->c_new =
		(OSSL_FUNC_cipher_newctx_fn *)func(cd, OSSL_FUNC_CIPHER_NEWCTX);
	a->c_free = (OSSL_FUNC_cipher_freectx_fn *)func(
		cd, OSSL_FUNC_CIPHER_FREECTX);
	a->c_init = (OSSL_FUNC_cipher_encrypt_init_fn *)func(
		cd, OSSL_FUNC_CIPHER_ENCRYPT_INIT);
	a->c_update =
		(OSSL_FUNC_cipher_update_fn *)func(cd, OSSL_FUNC_CIPHER_UPDATE);
	a->m_new = (OSSL_FUNC_mac_newctx_fn *)func(md, OSSL_FUNC_MAC_NEWCTX);
	a->m_free = (OSSL_FUNC_mac_freectx_fn *)func(md, OSSL_FUNC_MAC_FREECTX);
	a->m_init = (OSSL_FUNC_mac_init_fn *)func(md, OSSL_FUNC_MAC_INIT);
	a->m_update = (OSSL_FUNC_mac_update_fn *)func(md, OSSL_FUNC_MAC_UPDATE);
	a->m_final = (OSSL_FUNC_mac_final_fn *)func(md, OSSL_FUNC_MAC_FINAL);
	if (!a->c_new || !a->c_free || !a->c_init || !a->c_update ||
	    !a->m_new || !a->m_free || !a->m_init || !a->m_update ||
	    !a->m_final)
		goto fail;
	a->c_ctx = a->c_new(OSSL_PROVIDER_get0_provider_ctx(cp));
	a->m_ctx = a->m_new(OSSL_PROVIDER_get0_provider_ctx(mp));
	if (!a->c_ctx || !a->m_ctx)
		goto fail;
	return 0;
fail:
	sn_eng_aead_free(a);
	return -ENOTSUP;
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
	if (!a->m_update(a->m_ctx, head, sizeof(head)) ||
	    !a->m_update(a->m_ctx, ct, len) ||
	    !a->m_update(a->m_ctx, tail, pad + sizeof(lens)) ||
	    !a->m_final(a->m_ctx, tag, &out, SN_TAG_LEN) || out != SN_TAG_LEN)
		return -EIO;
	return 0;
}

int sn_eng_aead_key(struct sn_eng_aead *a, const uint8_t key[SN_KEY_LEN])
{
	return a->c_init(a->c_ctx, key, SN_KEY_LEN, NULL, 0, NULL) ? 0 : -EIO;
}

/* the keystream from counter 0 over [in - 64, in + round64(len)) */
static int stream(struct sn_eng_aead *a, uint64_t ctr, const uint8_t *in,
		  uint8_t *out, size_t len)
{
	/* EVP ChaCha20's IV: le32 block counter | 96-bit nonce, which is
	 * the wire format's 4 zero bytes | le64(counter) */
	uint8_t iv[16] = {0};
	uint64_t le = htole64(ctr);
	size_t n = 64 + ((len + 63) & ~(size_t)63), got;

	memcpy(iv + 8, &le, 8);
	if (!a->c_init(a->c_ctx, NULL, 0, iv, sizeof(iv), NULL) ||
	    !a->c_update(a->c_ctx, out - 64, &got, n, in - 64, n) || got != n)
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
	if (!err && !a->m_init(a->m_ctx, out - 64, 32, NULL))
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
