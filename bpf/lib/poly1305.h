/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Poly1305 (RFC 8439 section 2.5) for BPF programs: radix 2^26, five
 * 26-bit limbs, 64-bit products (BPF has no 128-bit multiply).
 *
 * Constant time: no branch or index on the key, accumulator or message;
 * the final reduction selects with masks.  Branches only on public
 * lengths.
 */
#ifndef SN_BPF_POLY1305_H
#define SN_BPF_POLY1305_H

#include "lib/chacha20.h"

#define SN_POLY_MASK26 0x3ffffffu
#define SN_POLY_HIBIT (1u << 24)

/* Accumulator, clamped r, r*5, s (a map value, like sn_chacha20). */
struct sn_poly1305 {
	__u32 h[5];
	__u32 r[5];
	__u32 s[4];   /* r[1..4] * 5 */
	__u32 pad[4]; /* key words 4..7 */
};

/* k: the 32-byte one-time key as eight little-endian words. */
static __always_inline void sn_poly1305_init_words(struct sn_poly1305 *st,
						   const __u32 *k)
{
	__u32 t0 = k[0], t1 = k[1], t2 = k[2], t3 = k[3];

	/* r &= 0x0ffffffc0ffffffc0ffffffc0fffffff, split in 26-bit limbs */
	st->r[0] = t0 & 0x3ffffff;
	st->r[1] = ((t0 >> 26) | (t1 << 6)) & 0x3ffff03;
	st->r[2] = ((t1 >> 20) | (t2 << 12)) & 0x3ffc0ff;
	st->r[3] = ((t2 >> 14) | (t3 << 18)) & 0x3f03fff;
	st->r[4] = (t3 >> 8) & 0x00fffff;
	st->s[0] = st->r[1] * 5;
	st->s[1] = st->r[2] * 5;
	st->s[2] = st->r[3] * 5;
	st->s[3] = st->r[4] * 5;
	st->h[0] = 0;
	st->h[1] = 0;
	st->h[2] = 0;
	st->h[3] = 0;
	st->h[4] = 0;
	st->pad[0] = k[4];
	st->pad[1] = k[5];
	st->pad[2] = k[6];
	st->pad[3] = k[7];
}

/*
 * Absorb one 16-byte block given as four little-endian words m0..m3 into
 * the accumulator held in locals h0..h4 (multiply by r, partial
 * reduction).  hibit: SN_POLY_HIBIT for a full block, 0 for a final
 * partial block already padded with 0x01 0x00...
 */
#define SN_POLY_BLOCK(m0, m1, m2, m3, hibit)                                 \
	do {                                                                 \
		__u64 d0, d1, d2, d3, d4;                                    \
		__u32 c_;                                                    \
		h0 += (m0) & SN_POLY_MASK26;                                 \
		h1 += (((m0) >> 26) | ((m1) << 6)) & SN_POLY_MASK26;         \
		h2 += (((m1) >> 20) | ((m2) << 12)) & SN_POLY_MASK26;        \
		h3 += (((m2) >> 14) | ((m3) << 18)) & SN_POLY_MASK26;        \
		h4 += ((m3) >> 8) | (hibit);                                 \
		d0 = (__u64)h0 * r0 + (__u64)h1 * s4 + (__u64)h2 * s3 +      \
		     (__u64)h3 * s2 + (__u64)h4 * s1;                        \
		d1 = (__u64)h0 * r1 + (__u64)h1 * r0 + (__u64)h2 * s4 +      \
		     (__u64)h3 * s3 + (__u64)h4 * s2;                        \
		d2 = (__u64)h0 * r2 + (__u64)h1 * r1 + (__u64)h2 * r0 +      \
		     (__u64)h3 * s4 + (__u64)h4 * s3;                        \
		d3 = (__u64)h0 * r3 + (__u64)h1 * r2 + (__u64)h2 * r1 +      \
		     (__u64)h3 * r0 + (__u64)h4 * s4;                        \
		d4 = (__u64)h0 * r4 + (__u64)h1 * r3 + (__u64)h2 * r2 +      \
		     (__u64)h3 * r1 + (__u64)h4 * r0;                        \
		d1 += d0 >> 26;                                              \
		h0 = (__u32)d0 & SN_POLY_MASK26;                             \
		d2 += d1 >> 26;                                              \
		h1 = (__u32)d1 & SN_POLY_MASK26;                             \
		d3 += d2 >> 26;                                              \
		h2 = (__u32)d2 & SN_POLY_MASK26;                             \
		d4 += d3 >> 26;                                              \
		h3 = (__u32)d3 & SN_POLY_MASK26;                             \
		c_ = (__u32)(d4 >> 26);                                      \
		h4 = (__u32)d4 & SN_POLY_MASK26;                             \
		h0 += c_ * 5;                                                \
		h1 += h0 >> 26;                                              \
		h0 &= SN_POLY_MASK26;                                        \
	} while (0)

#define SN_POLY_LOAD(st)                                                     \
	__u32 h0 = (st)->h[0], h1 = (st)->h[1], h2 = (st)->h[2],             \
	      h3 = (st)->h[3], h4 = (st)->h[4];                              \
	__u32 r0 = (st)->r[0], r1 = (st)->r[1], r2 = (st)->r[2],             \
	      r3 = (st)->r[3], r4 = (st)->r[4];                              \
	__u32 s1 = (st)->s[0], s2 = (st)->s[1], s3 = (st)->s[2],             \
	      s4 = (st)->s[3]

#define SN_POLY_STORE(st)                                                    \
	do {                                                                 \
		(st)->h[0] = h0;                                             \
		(st)->h[1] = h1;                                             \
		(st)->h[2] = h2;                                             \
		(st)->h[3] = h3;                                             \
		(st)->h[4] = h4;                                             \
	} while (0)

/* Absorb one full block of four words (aad, lengths). */
static __always_inline void sn_poly1305_words(struct sn_poly1305 *st,
					       __u32 m0, __u32 m1, __u32 m2,
					       __u32 m3)
{
	SN_POLY_LOAD(st);
	SN_POLY_BLOCK(m0, m1, m2, m3, SN_POLY_HIBIT);
	SN_POLY_STORE(st);
}

/*
 * n (1..4) 16-byte blocks at p (a map value pointer, any alignment) into
 * the accumulator st->h; the last one with last_hibit, the others with
 * SN_POLY_HIBIT.  In BPF assembly, like the ChaCha20 block: compiled C
 * keeps h, r and s (14 values) in ten registers by spilling about 100
 * times a block; here h stays in r5..r9 across the blocks, each product
 * loads its r or 5 r coefficient from st (no multiply takes a memory
 * operand, so a load is the least a product can cost), and the message
 * is read with two 64-bit loads.  About 130 instructions a block, from
 * about 190; Poly1305 of 1400 bytes 1.5 us, from 1.75 us.
 * Frame: r10 - 8 p, r10 - 16 blocks left, r10 - 24 last_hibit,
 * r10 - 32 and r10 - 40 the products d2 and d3.
 *
 * Global (non-static), like sn_chacha20_block_xor and for the same
 * reason: the verifier checks it once, for any n in 1..4 (hence the
 * range check: its loop ends because the count only falls), instead of
 * once per caller state and n.  p: 64 readable bytes (the callers' buffer
 * contract gives them even when n < 4).  Returns 0, or -EINVAL for a
 * NULL pointer or n outside 1..4, with st untouched.
 */
#define SN_PM0(acc, h, off)                                                  \
	"w" #acc " = *(u32 *)(r1 + " #off ");" "r" #acc " *= r" #h ";"
#define SN_PM(acc, h, off)                                                   \
	"w4 = *(u32 *)(r1 + " #off ");" "r4 *= r" #h ";" "r" #acc " += r4;"

struct sn_poly_chunk {
	__u64 q[8];
};

__noinline int sn_poly1305_blocks(struct sn_poly1305 *st,
				  const struct sn_poly_chunk *p, __u64 n,
				  __u64 last_hibit)
{
	if (!st || !p || n < 1 || n > 4)
		return -22;

	register __u64 a1 asm("r1") = (__u64)st;
	register __u64 a2 asm("r2") = (__u64)p;
	register __u64 a3 asm("r3") = n;
	register __u64 a4 asm("r4") = last_hibit;

	asm volatile(
		"*(u64 *)(r10 - 8) = r2;"
		"*(u64 *)(r10 - 16) = r3;"
		"*(u64 *)(r10 - 24) = r4;"
		"w5 = *(u32 *)(r1 + 0);"
		"w6 = *(u32 *)(r1 + 4);"
		"w7 = *(u32 *)(r1 + 8);"
		"w8 = *(u32 *)(r1 + 12);"
		"w9 = *(u32 *)(r1 + 16);"
"sn_poly_blk_%=:"
		/* h += m, m split in 26-bit limbs, plus the hibit */
		"r2 = *(u64 *)(r10 - 8);"
		"r3 = *(u64 *)(r10 - 16);"
		"r0 = *(u64 *)(r2 + 0);"
		"r4 = r0;" "r4 &= 0x3ffffff;" "r5 += r4;"
		"r4 = r0;" "r4 >>= 26;" "r4 &= 0x3ffffff;" "r6 += r4;"
		"r0 >>= 52;"
		"r2 = *(u64 *)(r2 + 8);"
		"r4 = r2;" "r4 <<= 12;" "r0 |= r4;" "r0 &= 0x3ffffff;"
		"r7 += r0;"
		"r4 = r2;" "r4 >>= 14;" "r4 &= 0x3ffffff;" "r8 += r4;"
		"r2 >>= 40;" "r9 += r2;"
		"r4 = 0x1000000;"
		"if r3 != 1 goto sn_poly_hb_%=;"
		"r4 = *(u64 *)(r10 - 24);"
"sn_poly_hb_%=:"
		"r9 += r4;"
		/* d = h * r: r at st + 20, 5 r1..5 r4 at st + 40 */
		SN_PM0(2, 5, 20) SN_PM(2, 6, 52) SN_PM(2, 7, 48)
		SN_PM(2, 8, 44) SN_PM(2, 9, 40)
		SN_PM0(3, 5, 24) SN_PM(3, 6, 20) SN_PM(3, 7, 52)
		SN_PM(3, 8, 48) SN_PM(3, 9, 44)
		SN_PM0(0, 5, 28) SN_PM(0, 6, 24) SN_PM(0, 7, 20)
		SN_PM(0, 8, 52) SN_PM(0, 9, 48)
		"*(u64 *)(r10 - 32) = r0;"
		SN_PM0(0, 5, 32) SN_PM(0, 6, 28) SN_PM(0, 7, 24)
		SN_PM(0, 8, 20) SN_PM(0, 9, 52)
		"*(u64 *)(r10 - 40) = r0;"
		SN_PM0(0, 5, 36) SN_PM(0, 6, 32) SN_PM(0, 7, 28)
		SN_PM(0, 8, 24) SN_PM(0, 9, 20)
		/* partial reduction: carries d0 -> d4, 5 (d4 >> 26) -> h0 */
		"r5 = r2;" "r5 &= 0x3ffffff;" "r2 >>= 26;" "r3 += r2;"
		"r6 = r3;" "r6 &= 0x3ffffff;" "r3 >>= 26;"
		"r7 = *(u64 *)(r10 - 32);" "r7 += r3;"
		"r3 = r7;" "r3 >>= 26;" "r7 &= 0x3ffffff;"
		"r8 = *(u64 *)(r10 - 40);" "r8 += r3;"
		"r3 = r8;" "r3 >>= 26;" "r8 &= 0x3ffffff;"
		"r0 += r3;"
		"r9 = r0;" "r9 &= 0x3ffffff;" "r0 >>= 26;"
		"r0 *= 5;" "r5 += r0;"
		"r0 = r5;" "r0 >>= 26;" "r5 &= 0x3ffffff;" "r6 += r0;"
		/* next block */
		"r2 = *(u64 *)(r10 - 8);" "r2 += 16;"
		"*(u64 *)(r10 - 8) = r2;"
		"r3 = *(u64 *)(r10 - 16);" "r3 -= 1;"
		"*(u64 *)(r10 - 16) = r3;"
		"if r3 > 0 goto sn_poly_blk_%=;"
		"*(u32 *)(r1 + 0) = w5;"
		"*(u32 *)(r1 + 4) = w6;"
		"*(u32 *)(r1 + 8) = w7;"
		"*(u32 *)(r1 + 12) = w8;"
		"*(u32 *)(r1 + 16) = w9;"
		: "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4)
		:
		: "r0", "r5", "r6", "r7", "r8", "r9", "memory");
	return 0;
}

/* bpf_loop() callback: up to four 16-byte blocks at buf + off + 64 i. */
static long sn_poly1305_loop_cb(__u32 i, void *vctx)
{
	struct sn_crypto_loop *l = vctx;
	struct sn_poly1305 *st = l->st;
	__u32 off = l->off, len = l->len, pos, rem, n, last;
	__u8 *buf = l->buf;

	if (i >= SN_CHACHA_MAX_BLOCKS || off > SN_AEAD_MAX_OFF || !buf || !st)
		return 1;
	pos = i << 6;
	if (pos >= len)
		return 1;
	rem = len - pos;
	n = 4;
	last = SN_POLY_HIBIT;
	if (rem < 64) {
		n = (rem + 15) >> 4;
		if (rem & 15)
			last = l->hibit;
	}
	if (n < 1 || n > 4)
		return 1;
	if (sn_poly1305_blocks(st,
			       (const struct sn_poly_chunk *)(buf + off + pos),
			       n, last))
		return 1;
	return 0;
}

/*
 * Absorb buf[off .. off + len) in 16-byte blocks; the bytes of the final
 * partial block's tail (buf[off + len ..] up to the next 16-byte
 * boundary) must already hold the padding: zeros for the AEAD
 * (last_hibit = SN_POLY_HIBIT), 0x01 then zeros for plain Poly1305
 * (last_hibit = 0).  0 or -EINVAL.
 */
static __always_inline int sn_poly1305_buf(struct sn_poly1305 *st, __u8 *buf,
					   __u32 off, __u32 len,
					   __u32 last_hibit)
{
	struct sn_crypto_loop l = {
		.st = st, .buf = buf, .off = off, .len = len,
		.hibit = last_hibit,
	};
	__u32 ngroups = (len + 63) >> 6;

	if (off > SN_AEAD_MAX_OFF || len > SN_AEAD_MAX_LEN)
		return -22;
	if (ngroups && bpf_loop(ngroups, sn_poly1305_loop_cb, &l, 0) !=
			       (long)ngroups)
		return -22;
	return 0;
}

/* Final reduction mod 2^130 - 5, plus s; the tag as four LE words. */
static __always_inline void sn_poly1305_final(struct sn_poly1305 *st,
					      __u32 tag[4])
{
	__u32 h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3],
	      h4 = st->h[4];
	__u32 g0, g1, g2, g3, g4, c, mask;
	__u64 f;

	/* full carry */
	c = h1 >> 26;
	h1 &= SN_POLY_MASK26;
	h2 += c;
	c = h2 >> 26;
	h2 &= SN_POLY_MASK26;
	h3 += c;
	c = h3 >> 26;
	h3 &= SN_POLY_MASK26;
	h4 += c;
	c = h4 >> 26;
	h4 &= SN_POLY_MASK26;
	h0 += c * 5;
	c = h0 >> 26;
	h0 &= SN_POLY_MASK26;
	h1 += c;

	/* g = h + 5 - 2^130; use g when it does not borrow */
	g0 = h0 + 5;
	c = g0 >> 26;
	g0 &= SN_POLY_MASK26;
	g1 = h1 + c;
	c = g1 >> 26;
	g1 &= SN_POLY_MASK26;
	g2 = h2 + c;
	c = g2 >> 26;
	g2 &= SN_POLY_MASK26;
	g3 = h3 + c;
	c = g3 >> 26;
	g3 &= SN_POLY_MASK26;
	g4 = h4 + c - (1u << 26);

	mask = (g4 >> 31) - 1; /* all ones when g4 did not borrow */
	h0 = (h0 & ~mask) | (g0 & mask);
	h1 = (h1 & ~mask) | (g1 & mask);
	h2 = (h2 & ~mask) | (g2 & mask);
	h3 = (h3 & ~mask) | (g3 & mask);
	h4 = (h4 & ~mask) | (g4 & mask);

	/* h mod 2^128 as four words, + s */
	h0 = h0 | (h1 << 26);
	h1 = (h1 >> 6) | (h2 << 20);
	h2 = (h2 >> 12) | (h3 << 14);
	h3 = (h3 >> 18) | (h4 << 8);

	f = (__u64)h0 + st->pad[0];
	tag[0] = (__u32)f;
	f = (__u64)h1 + st->pad[1] + (f >> 32);
	tag[1] = (__u32)f;
	f = (__u64)h2 + st->pad[2] + (f >> 32);
	tag[2] = (__u32)f;
	f = (__u64)h3 + st->pad[3] + (f >> 32);
	tag[3] = (__u32)f;
}

#endif
