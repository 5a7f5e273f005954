/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * ChaCha20-Poly1305 AEAD (RFC 8439 section 2.8) for BPF programs.
 *
 * Buffer contract (for every function here that takes buf/off/len):
 *  - buf points to the start of a map value (normally one per-CPU array
 *    entry used as scratch) of at least SN_BUF_SIZE + SN_BUF_PAD bytes;
 *    the verifier must see it as PTR_TO_MAP_VALUE with that value size.
 *  - the message is buf[off .. off + len); off <= SN_AEAD_MAX_OFF (64),
 *    len <= SN_AEAD_MAX_LEN (SN_MAX_L4).  off need not be aligned (the
 *    data is accessed with unaligned 32/64-bit loads, fine on x86-64 and
 *    arm64, whose JITs have efficient unaligned access).
 *  - the 64 bytes after the message, buf[off + len .. off + len + 64), are
 *    scratch: they are zeroed (Poly1305 padding) and may be overwritten.
 *  - key (32 bytes), nonce (12), tag (16) and aad (aad_len <= 32 bytes)
 *    may be on the BPF stack or in a map value, at any alignment; the
 *    verifier needs 32 readable and writable bytes at aad, whatever
 *    aad_len (sn_aead_begin's argument type).
 *
 * State lives in the per-CPU map sn_aead_work defined here (so a program
 * including this header gets that map), wiped after every call.  Stack:
 * about 40 bytes in the caller's frame; the deepest chain below it is
 * sn_aead_keyblock (104 bytes) + the ChaCha20 block (96), 224 once the
 * verifier rounds each frame up to 32 (sn_aead_mac 112 + the Poly1305
 * callback 0 + its block function 40: 192), so the caller's own frame
 * must stay under about 288 bytes (512 in all).
 * Uses bpf_loop() (kernel >= 5.17).
 *
 * Constant time with respect to key, keystream, plaintext and tag; only
 * the public lengths steer branches.
 */
#ifndef SN_BPF_AEAD_H
#define SN_BPF_AEAD_H

#include "lib/chacha20.h"
#include "lib/poly1305.h"

#define SN_AEAD_MAX_AAD 32u
#define SN_AEAD_EINVAL 22
#define SN_AEAD_EBADMSG 74

/* Per-CPU work area: cipher state, MAC state, one-time key.  Wiped after
 * every operation. */
struct sn_aead_work {
	struct sn_chacha20 cc;
	struct sn_poly1305 poly;
	__u32 ks[16];  /* block 0: the Poly1305 key */
	__u32 aad[8];  /* zero-padded aad */
	__u32 tag[4];  /* computed tag */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sn_aead_work);
} sn_aead_work SEC(".maps");

static __always_inline struct sn_aead_work *sn_aead_work_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sn_aead_work, &zero);
}

static __always_inline void sn_aead_wipe(struct sn_aead_work *w)
{
	__u64 *q = (__u64 *)w;

#pragma unroll
	for (unsigned int i = 0; i < sizeof(*w) / 8; i++)
		q[i] = 0;
}

/* Zero the 64 bytes at p (map value, any alignment). */
static __always_inline void sn_aead_zero64(__u8 *p)
{
	__u64 *q = (__u64 *)p;

#pragma unroll
	for (int i = 0; i < 8; i++)
		q[i] = 0;
}

/* The argument types of the global subprograms below: the verifier
 * checks each pointer argument against its type's size (at the call:
 * that many bytes readable and writable there; in the function: that
 * many bytes, possibly NULL). */
struct sn_aead_key32 {
	__u8 b[32];
};
struct sn_aead_nonce12 {
	__u8 b[12];
};
struct sn_aead_aad32 {
	__u8 b[SN_AEAD_MAX_AAD];
};
struct sn_aead_buf {
	__u8 b[SN_BUF_SIZE + SN_BUF_PAD];
};

/*
 * The key schedule, split in two subprograms (bpf-to-bpf calls) so that
 * the registers the block function spills stay out of the caller's
 * stack frame (the frames of a call chain add up, to at most 512 bytes).
 *
 * sn_aead_begin, sn_aead_keyblock and sn_aead_mac are global (non-static)
 * functions, like the block functions: the verifier checks each once per
 * program instead of once for every caller state that reaches a call
 * (as static functions they were 8,500 of sn_egress's 35,000 processed
 * instructions, docs/performance.md).  So each checks its pointers for
 * NULL itself.
 *
 * sn_aead_begin: ChaCha20 input state from key and nonce, aad copied
 * zero-padded into c->aad.  aad: 32 readable bytes whatever aad_len.
 */
__noinline int sn_aead_begin(struct sn_aead_work *c,
			     const struct sn_aead_key32 *key,
			     const struct sn_aead_nonce12 *nonce,
			     const struct sn_aead_aad32 *aad, __u32 aad_len)
{
	__u8 *ab;

	aad_len = sn_unlink(aad_len);
	if (!c || !key || !nonce || !aad || aad_len > SN_AEAD_MAX_AAD)
		return -SN_AEAD_EINVAL;
	ab = (__u8 *)c->aad;
	sn_chacha20_init(&c->cc, key->b, 0, nonce->b);
#pragma unroll
	for (int i = 0; i < 8; i++)
		c->aad[i] = 0;
#pragma unroll
	for (__u32 i = 0; i < SN_AEAD_MAX_AAD; i++)
		if (i < aad_len)
			ab[i] = aad->b[i];
	return 0;
}

/* sn_aead_keyblock: Poly1305 key from block 0 (the keystream XORed into
 * zeros), aad absorbed, cipher state moved to counter 1. */
__noinline int sn_aead_keyblock(struct sn_aead_work *c, __u32 aad_len)
{
	aad_len = sn_unlink(aad_len);
	if (!c)
		return -SN_AEAD_EINVAL;
#pragma unroll
	for (int i = 0; i < 16; i++)
		c->ks[i] = 0;
	if (sn_chacha20_block_xor(&c->cc, 0, (struct sn_cc_block *)c->ks))
		return -SN_AEAD_EINVAL;
	sn_poly1305_init_words(&c->poly, c->ks);
	c->cc.w[12] = 1;
	if (aad_len > 0)
		sn_poly1305_words(&c->poly, c->aad[0], c->aad[1], c->aad[2],
				  c->aad[3]);
	if (aad_len > 16)
		sn_poly1305_words(&c->poly, c->aad[4], c->aad[5], c->aad[6],
				  c->aad[7]);
	return 0;
}

/* Ciphertext (already zero padded in buf) and the lengths block. */
__noinline int sn_aead_mac(struct sn_aead_work *c, struct sn_aead_buf *buf,
			   __u32 off, __u32 len, __u32 aad_len)
{
	off = sn_unlink(off);
	len = sn_unlink(len);
	if (!c || !buf)
		return -SN_AEAD_EINVAL;
	if (sn_poly1305_buf(&c->poly, buf->b, off, len, SN_POLY_HIBIT))
		return -SN_AEAD_EINVAL;
	sn_poly1305_words(&c->poly, aad_len, 0, len, 0);
	sn_poly1305_final(&c->poly, c->tag);
	return 0;
}

/*
 * Encrypt buf[off .. off+len) in place and write the 16-byte tag.
 * Returns 0, or -EINVAL (bad off/len/aad_len; buffer and tag untouched).
 */
static __always_inline int sn_aead_seal(const __u8 *key, const __u8 *nonce,
					const __u8 *aad, __u32 aad_len,
					__u8 *buf, __u32 off, __u32 len,
					__u8 *tag)
{
	struct sn_aead_work *c = sn_aead_work_get();
	int err = -SN_AEAD_EINVAL;

	if (!c || off > SN_AEAD_MAX_OFF || len > SN_AEAD_MAX_LEN ||
	    aad_len > SN_AEAD_MAX_AAD)
		return -SN_AEAD_EINVAL;
	if (sn_aead_begin(c, (const struct sn_aead_key32 *)key,
			  (const struct sn_aead_nonce12 *)nonce,
			  (const struct sn_aead_aad32 *)aad, aad_len) ||
	    sn_aead_keyblock(c, aad_len))
		goto out;
	if (sn_chacha20_xor(&c->cc, buf, off, len))
		goto out;
	sn_aead_zero64(buf + off + len);
	if (sn_aead_mac(c, (struct sn_aead_buf *)buf, off, len, aad_len))
		goto out;
#pragma unroll
	for (int i = 0; i < 4; i++)
		sn_le32_put(tag + 4 * i, c->tag[i]);
	err = 0;
out:
	sn_aead_wipe(c);
	return err;
}

/*
 * Verify the tag over aad and buf[off .. off+len) and, only if it
 * matches, decrypt in place.  Returns 0, -EBADMSG (tag mismatch: message
 * bytes untouched), or -EINVAL.
 */
static __always_inline int sn_aead_open(const __u8 *key, const __u8 *nonce,
					const __u8 *aad, __u32 aad_len,
					__u8 *buf, __u32 off, __u32 len,
					const __u8 *tag)
{
	struct sn_aead_work *c = sn_aead_work_get();
	int err = -SN_AEAD_EINVAL;
	__u32 diff = 0;

	if (!c || off > SN_AEAD_MAX_OFF || len > SN_AEAD_MAX_LEN ||
	    aad_len > SN_AEAD_MAX_AAD)
		return -SN_AEAD_EINVAL;
	if (sn_aead_begin(c, (const struct sn_aead_key32 *)key,
			  (const struct sn_aead_nonce12 *)nonce,
			  (const struct sn_aead_aad32 *)aad, aad_len) ||
	    sn_aead_keyblock(c, aad_len))
		goto out;
	sn_aead_zero64(buf + off + len);
	if (sn_aead_mac(c, (struct sn_aead_buf *)buf, off, len, aad_len))
		goto out;
#pragma unroll
	for (int i = 0; i < 4; i++)
		diff |= c->tag[i] ^ sn_le32_get(tag + 4 * i);
	err = -SN_AEAD_EBADMSG;
	if (diff)
		goto out;
	err = -SN_AEAD_EINVAL;
	if (sn_chacha20_xor(&c->cc, buf, off, len))
		goto out;
	err = 0;
out:
	sn_aead_wipe(c);
	return err;
}

/* Plain ChaCha20 (RFC 8439 2.4) of buf[off .. off+len), in place, from
 * block counter ctr.  For tests.  0 or -EINVAL. */
static __always_inline int sn_chacha20_xor_msg(const __u8 *key, __u32 ctr,
					       const __u8 *nonce, __u8 *buf,
					       __u32 off, __u32 len)
{
	struct sn_aead_work *c = sn_aead_work_get();
	int err;

	if (!c)
		return -SN_AEAD_EINVAL;
	sn_chacha20_init(&c->cc, key, ctr, nonce);
	err = sn_chacha20_xor(&c->cc, buf, off, len);
	sn_aead_wipe(c);
	return err;
}

/* Plain Poly1305 (RFC 8439 2.5) of buf[off .. off+len) under the 32-byte
 * one-time key.  For tests.  0 or -EINVAL. */
static __always_inline int sn_poly1305_mac(const __u8 *key, __u8 *buf,
					   __u32 off, __u32 len, __u8 *tag)
{
	struct sn_aead_work *c = sn_aead_work_get();
	int err = -SN_AEAD_EINVAL;

	if (!c || off > SN_AEAD_MAX_OFF || len > SN_AEAD_MAX_LEN)
		return -SN_AEAD_EINVAL;
#pragma unroll
	for (int i = 0; i < 8; i++)
		c->ks[i] = sn_le32_get(key + 4 * i);
	sn_poly1305_init_words(&c->poly, c->ks);
	sn_aead_zero64(buf + off + len);
	if (len & 15)
		buf[off + len] = 1;
	if (sn_poly1305_buf(&c->poly, buf, off, len,
			    (len & 15) ? 0 : SN_POLY_HIBIT))
		goto out;
	sn_poly1305_final(&c->poly, c->tag);
#pragma unroll
	for (int i = 0; i < 4; i++)
		sn_le32_put(tag + 4 * i, c->tag[i]);
	err = 0;
out:
	sn_aead_wipe(c);
	return err;
}

#endif
