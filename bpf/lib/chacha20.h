/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * ChaCha20 (RFC 8439 section 2.3/2.4) for BPF programs.
 *
 * Everything is static __always_inline except the bpf_loop() callback and
 * the block function sn_chacha20_block_xor() (a subprogram in BPF
 * assembly, see there).  Constant time: the only branches and memory
 * indexes depend on public lengths and block numbers, never on key,
 * keystream or data.
 *
 * The data is XORed in place in a map value ("scratch buffer") in whole
 * 64-byte blocks with 64-bit loads and stores: a message of len bytes at
 * buf + off touches buf[off .. off + round_up(len, 64)), so up to 63 bytes
 * of slack after the message are clobbered (see aead.h for the buffer
 * contract).  Little-endian targets only (bpfel), like the x86 JIT.
 */
#ifndef SN_BPF_CHACHA20_H
#define SN_BPF_CHACHA20_H

#include "lib/common.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sealnet's BPF ChaCha20 assumes a little-endian BPF target"
#endif

/* Largest offset of a message in the scratch buffer, and its longest
 * length: with these, every access stays below SN_BUF_SIZE + SN_BUF_PAD. */
#define SN_AEAD_MAX_OFF 64u
#define SN_AEAD_MAX_LEN SN_MAX_L4
#define SN_CHACHA_MAX_BLOCKS ((SN_AEAD_MAX_LEN + 63u) / 64u)

_Static_assert(SN_AEAD_MAX_OFF + SN_CHACHA_MAX_BLOCKS * 64u <=
		       SN_BUF_SIZE + SN_BUF_PAD,
	       "chacha20: block tails must fit the scratch buffer");
_Static_assert(SN_AEAD_MAX_OFF + SN_AEAD_MAX_LEN + 64u <=
		       SN_BUF_SIZE + SN_BUF_PAD,
	       "chacha20: zeroed tail must fit the scratch buffer");

/* Input state of the block function (RFC 8439 2.3): constants, key,
 * block counter (w[12]), nonce; and pre[], the first column round's three
 * quarter rounds that do not involve the block counter (columns 1, 2, 3:
 * words 1 5 9 13, 2 6 10 14, 3 7 11 15), the same for every block of a
 * message, so computed once by sn_chacha20_init (SN_CC_PRE_* index pre[]).
 * Lives in a map value (sn_aead_work), not on the stack: BPF stacks are
 * small. */
struct sn_chacha20 {
	__u32 w[16];
	__u32 pre[12];
};

/* The bpf_loop() context (on the stack: bpf_loop() requires it). */
struct sn_crypto_loop {
	void *st;     /* struct sn_chacha20 / sn_poly1305, a map value */
	__u8 *buf;    /* map value holding the message */
	__u32 off;    /* message offset in buf, <= SN_AEAD_MAX_OFF */
	__u32 len;    /* message length (Poly1305) */
	__u32 hibit;  /* Poly1305: hibit of a final partial block */
	__u32 pad;
};

/* Byte-wise little-endian load/store: key, nonce and tag may live on the
 * stack at any alignment, and the verifier insists on aligned stack
 * accesses. */
static __always_inline __u32 sn_le32_get(const __u8 *p)
{
	return (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 |
	       (__u32)p[3] << 24;
}

static __always_inline void sn_le32_put(__u8 *p, __u32 v)
{
	p[0] = (__u8)v;
	p[1] = (__u8)(v >> 8);
	p[2] = (__u8)(v >> 16);
	p[3] = (__u8)(v >> 24);
}

/*
 * A copy of a public length the verifier does not link to the original:
 * branches on the copy inside a subprogram then do not split the caller's
 * verifier state into one state per length (which multiplies the
 * instructions it has to check).
 */
static __always_inline __u32 sn_unlink(__u32 v)
{
	__u64 t = v;

	asm volatile("%0 &= 0xffff" : "+r"(t));
	return (__u32)t;
}

static __always_inline void sn_chacha20_init(struct sn_chacha20 *st,
					     const __u8 *key, __u32 counter,
					     const __u8 *nonce)
{
	st->w[0] = 0x61707865; /* "expand 32-byte k" */
	st->w[1] = 0x3320646e;
	st->w[2] = 0x79622d32;
	st->w[3] = 0x6b206574;
#pragma unroll
	for (int i = 0; i < 8; i++)
		st->w[4 + i] = sn_le32_get(key + 4 * i);
	st->w[12] = counter;
	st->w[13] = sn_le32_get(nonce);
	st->w[14] = sn_le32_get(nonce + 4);
	st->w[15] = sn_le32_get(nonce + 8);
	/* pre[4 (c - 1) + j] = word c + 4 j after the first column round,
	 * columns c = 1..3 (they never read word 12, the counter) */
#pragma unroll
	for (int c = 1; c < 4; c++) {
		__u32 a = st->w[c], b = st->w[4 + c], x = st->w[8 + c],
		      d = st->w[12 + c];

		a += b;
		d ^= a;
		d = d << 16 | d >> 16;
		x += d;
		b ^= x;
		b = b << 12 | b >> 20;
		a += b;
		d ^= a;
		d = d << 8 | d >> 24;
		x += d;
		b ^= x;
		b = b << 7 | b >> 25;
		st->pre[4 * (c - 1) + 0] = a;
		st->pre[4 * (c - 1) + 1] = b;
		st->pre[4 * (c - 1) + 2] = x;
		st->pre[4 * (c - 1) + 3] = d;
	}
}

/*
 * The block function, in BPF assembly: from C, clang (14) spills the
 * sixteen state words about 860 times a block with ten registers, 2550
 * instructions a block; here 28 loads and stores a double round, about
 * 1750 instructions a block.  The rounds are a loop (10 x 162
 * instructions): fully unrolled measured the same, at ten times the size.
 *
 * Rotation: BPF has no rotate instruction, and shifts-and-or costs four
 * (mov, two shifts, or).  Instead x * (2^32 + 1), x zero-extended, holds
 * x in both halves of a 64-bit word, and one right shift by 32 - n leaves
 * rotl32(x, n) in the low half: two instructions, with K = 2^32 + 1 kept
 * in r5.  The high half is then garbage, which is harmless: every
 * consumer is a 32-bit ALU op or a 32-bit store, and the next multiply
 * takes the zero-extended result of a 32-bit xor.  Constant time: the
 * multiply latency does not depend on its operands on the CPUs the JITs
 * target.
 *
 * Register plan (chosen by an offline search for the fewest spills):
 *  - r6..r9 always hold x4..x7, the "b" words: b is the input of the
 *    first add of every quarter round, so a spill of b would sit on the
 *    dependency chain;
 *  - r0..r4 hold five of the other twelve words, the rest are in the
 *    frame at r10 - 64 + 4 i; words move in and out between quarter rounds
 *    (loads of values stored a round earlier, off the critical path);
 *  - at the top and bottom of every double round: x0 r0, x2 r1, x8 r3,
 *    x12 r2, x13 r4.
 *  - frame: r10 - 72 in, r10 - 80 out, r10 - 88 counter, r10 - 96 round.
 * The first double round starts from the state after the first column
 * round's three counter-free quarter rounds (pre[], computed once per
 * message by sn_chacha20_init): one quarter round of four there, about
 * 60 instructions fewer a block (of about 1,770; aead_ns chacha20 1400 B
 * 3,488 ns from 3,630 ns, medians of six, docs/performance.md).
 * Measured (1400 bytes, 22 blocks): 4.7 us, from 5.4 us in C.  The
 * rounds are bound by the dependency chain of each quarter round (add,
 * xor, multiply, shift, four times) and by the multiplies, all on one
 * port on x86: shift-and-or rotations for the d words (with one fewer
 * register for the state, so 36 loads and stores a double round) were
 * 8% slower, and shift-and-or rotations everywhere no faster.
 */
#define SN_CC_S0 "-64"
#define SN_CC_S1 "-60"
#define SN_CC_S2 "-56"
#define SN_CC_S3 "-52"
#define SN_CC_S4 "-48"
#define SN_CC_S5 "-44"
#define SN_CC_S6 "-40"
#define SN_CC_S7 "-36"
#define SN_CC_S8 "-32"
#define SN_CC_S9 "-28"
#define SN_CC_S10 "-24"
#define SN_CC_S11 "-20"
#define SN_CC_S12 "-16"
#define SN_CC_S13 "-12"
#define SN_CC_S14 "-8"
#define SN_CC_S15 "-4"

/* word i of the state from its frame slot into register r, and back */
#define SN_CC_LD(r, i) "w" #r " = *(u32 *)(r10 " SN_CC_S##i ");"
#define SN_CC_ST(r, i) "*(u32 *)(r10 " SN_CC_S##i ") = w" #r ";"

/* x = rotl32(x ^ y, 32 - s) */
#define SN_CC_XROT(x, y, s)                                                  \
	"w" #x " ^= w" #y ";"                                                \
	"r" #x " *= r5;"                                                     \
	"r" #x " >>= " #s ";"

/* quarter round on the words in registers a, b, c, d */
#define SN_CC_QR(a, b, c, d)                                                 \
	"w" #a " += w" #b ";" SN_CC_XROT(d, a, 16)                           \
	"w" #c " += w" #d ";" SN_CC_XROT(b, c, 20)                           \
	"w" #a " += w" #b ";" SN_CC_XROT(d, a, 24)                           \
	"w" #c " += w" #d ";" SN_CC_XROT(b, c, 25)

/* column round then diagonal round (quarter rounds in an order that
 * needs 14 loads and 14 stores a round) */
#define SN_CC_DOUBLE_ROUND SN_CC_COLUMNS SN_CC_DIAGONALS

/* the column round; after it: x1 r3, x3 r1, x11 r0, x12 r2, x15 r4,
 * x4..x7 r6..r9, x0 x2 x8 x9 x10 x13 x14 in the frame */
#define SN_CC_COLUMNS                                                        \
	SN_CC_QR(0, 6, 3, 2)          /* x0 x4 x8  x12 */                    \
	SN_CC_ST(3, 8) SN_CC_LD(3, 1) SN_CC_ST(0, 0) SN_CC_LD(0, 9)          \
	SN_CC_QR(3, 7, 0, 4)          /* x1 x5 x9  x13 */                    \
	SN_CC_ST(4, 13) SN_CC_LD(4, 10) SN_CC_ST(0, 9) SN_CC_LD(0, 14)       \
	SN_CC_QR(1, 8, 4, 0)          /* x2 x6 x10 x14 */                    \
	SN_CC_ST(1, 2) SN_CC_LD(1, 3) SN_CC_ST(0, 14) SN_CC_LD(0, 11)        \
	SN_CC_ST(4, 10) SN_CC_LD(4, 15)                                      \
	SN_CC_QR(1, 9, 0, 4)          /* x3 x7 x11 x15 */

/* the diagonal round, back to the layout at the top of a double round */
#define SN_CC_DIAGONALS                                                      \
	SN_CC_QR(3, 8, 0, 2)          /* x1 x6 x11 x12 */                    \
	SN_CC_ST(0, 11) SN_CC_LD(0, 0) SN_CC_ST(3, 1) SN_CC_LD(3, 10)        \
	SN_CC_QR(0, 7, 3, 4)          /* x0 x5 x10 x15 */                    \
	SN_CC_ST(4, 15) SN_CC_LD(4, 9) SN_CC_ST(3, 10) SN_CC_LD(3, 14)       \
	SN_CC_QR(1, 6, 4, 3)          /* x3 x4 x9  x14 */                    \
	SN_CC_ST(1, 3) SN_CC_LD(1, 2) SN_CC_ST(3, 14) SN_CC_LD(3, 8)         \
	SN_CC_ST(4, 9) SN_CC_LD(4, 13)                                       \
	SN_CC_QR(1, 9, 3, 4)          /* x2 x7 x8  x13 */

/* in[i] (r5 = in) to the frame slot of word i, through r0 */
#define SN_CC_COPY(i, off) "w0 = *(u32 *)(r5 + " #off ");" SN_CC_ST(0, i)

/* out64[j] ^= (x[lo] + in[lo]) | (x[lo + 1] + in[lo + 1]) << 32, both
 * words in the frame, r5 = in, r4 = out */
#define SN_CC_OUT2(lo, hi, inlo, inhi, oo)                                   \
	SN_CC_LD(0, lo) "w1 = *(u32 *)(r5 + " #inlo ");" "w0 += w1;"         \
	SN_CC_LD(2, hi) "w1 = *(u32 *)(r5 + " #inhi ");" "w2 += w1;"         \
	"r2 <<= 32;" "r0 |= r2;"                                             \
	"r1 = *(u64 *)(r4 + " #oo ");" "r0 ^= r1;"                           \
	"*(u64 *)(r4 + " #oo ") = r0;"

/*
 * One block: the keystream for counter ctr (the rest of the input state
 * from in, 16 words) XORed into the 64 bytes at out.  in and out are map
 * value pointers (out at any alignment).  A subprogram of its own (a
 * bpf-to-bpf call, about ten instructions) with a 96-byte frame.  The
 * arguments are pinned to r1..r3 and the asm names every other register
 * it writes, so clang neither moves them nor keeps anything in them; the
 * frame slots are not clang's (the function has no locals of its own).
 * Not __attribute__((naked)): clang 14 emits no BTF func_info for a naked
 * function, and the kernel rejects a subprogram without one.
 *
 * A global (non-static) function, so the verifier checks it once per
 * program, on its own, from the argument types in BTF (in and out: 64
 * readable/writable bytes, possibly NULL, hence the check; ctr: any
 * scalar), and at each call only that the arguments fit those types.
 * As a static function it was walked again for every caller state that
 * reached a call, its ten rounds each time: 26,000 of sn_egress's 62,000
 * processed instructions (docs/performance.md).  The call itself is the
 * same bpf-to-bpf call either way.  Returns 0, or -EINVAL for a NULL
 * pointer (never for the callers here, which pass map values).
 */
struct sn_cc_block {
	__u64 q[8];
};

__noinline int sn_chacha20_block_xor(const struct sn_chacha20 *in, __u64 ctr,
				     struct sn_cc_block *out)
{
	if (!in || !out)
		return -22;

	register __u64 a1 asm("r1") = (__u64)in;
	register __u64 a2 asm("r2") = ctr;
	register __u64 a3 asm("r3") = (__u64)out;

	asm volatile(
		"r5 = r1;"
		"*(u64 *)(r10 - 72) = r1;"
		"*(u64 *)(r10 - 80) = r3;"
		"w2 = w2;"
		"*(u64 *)(r10 - 88) = r2;"
		/* first double round: column 0 here, columns 1..3 from pre[]
		 * (in + 64: x1' x5' x9' x13' x2' x6' x10' x14' x3' x7' x11'
		 * x15'), into the layout SN_CC_COLUMNS leaves */
		SN_CC_COPY(9, 72) SN_CC_COPY(13, 76) SN_CC_COPY(2, 80)
		SN_CC_COPY(10, 88) SN_CC_COPY(14, 92)
		"w0 = *(u32 *)(r5 + 0);"
		"w3 = *(u32 *)(r5 + 32);"
		"w6 = *(u32 *)(r5 + 16);"
		"w7 = *(u32 *)(r5 + 68);"
		"w8 = *(u32 *)(r5 + 84);"
		"w9 = *(u32 *)(r5 + 100);"
		"w1 = *(u32 *)(r5 + 96);"
		"w4 = *(u32 *)(r5 + 108);"
		"r5 = 0x100000001 ll;"
		SN_CC_QR(0, 6, 3, 2)          /* x0 x4 x8  x12 */
		SN_CC_ST(0, 0) SN_CC_ST(3, 8)
		"r5 = *(u64 *)(r10 - 72);"
		"w0 = *(u32 *)(r5 + 104);"
		"w3 = *(u32 *)(r5 + 64);"
		"r5 = 0x100000001 ll;"
		SN_CC_DIAGONALS
		"r5 = 1;"
		"*(u64 *)(r10 - 96) = r5;"
"sn_cc_round_%=:"
		"r5 = 0x100000001 ll;"
		SN_CC_DOUBLE_ROUND
		"r5 = *(u64 *)(r10 - 96);"
		"r5 += 1;"
		"*(u64 *)(r10 - 96) = r5;"
		"if r5 < 10 goto sn_cc_round_%=;"
		/* feed-forward and XOR into out, two words at a time */
		SN_CC_ST(0, 0) SN_CC_ST(1, 2) SN_CC_ST(3, 8) SN_CC_ST(2, 12)
		SN_CC_ST(4, 13)
		"r5 = *(u64 *)(r10 - 72);"
		"r4 = *(u64 *)(r10 - 80);"
		SN_CC_OUT2(0, 1, 0, 4, 0)
		SN_CC_OUT2(2, 3, 8, 12, 8)
		"w1 = *(u32 *)(r5 + 16);" "w6 += w1;"
		"w1 = *(u32 *)(r5 + 20);" "w7 += w1;"
		"r7 <<= 32;" "r6 |= r7;"
		"r1 = *(u64 *)(r4 + 16);" "r6 ^= r1;"
		"*(u64 *)(r4 + 16) = r6;"
		"w1 = *(u32 *)(r5 + 24);" "w8 += w1;"
		"w1 = *(u32 *)(r5 + 28);" "w9 += w1;"
		"r9 <<= 32;" "r8 |= r9;"
		"r1 = *(u64 *)(r4 + 24);" "r8 ^= r1;"
		"*(u64 *)(r4 + 24) = r8;"
		SN_CC_OUT2(8, 9, 32, 36, 32)
		SN_CC_OUT2(10, 11, 40, 44, 40)
		/* word 12 is the counter, not in[12] */
		SN_CC_LD(0, 12) "w1 = *(u32 *)(r10 - 88);" "w0 += w1;"
		SN_CC_LD(2, 13) "w1 = *(u32 *)(r5 + 52);" "w2 += w1;"
		"r2 <<= 32;" "r0 |= r2;"
		"r1 = *(u64 *)(r4 + 48);" "r0 ^= r1;"
		"*(u64 *)(r4 + 48) = r0;"
		SN_CC_OUT2(14, 15, 56, 60, 56)
		: "+r"(a1), "+r"(a2), "+r"(a3)
		:
		: "r0", "r4", "r5", "r6", "r7", "r8", "r9", "memory");
	return 0;
}

/* bpf_loop() callback: block i of the message, counter w[12] + i. */
static long sn_chacha20_loop_cb(__u32 i, void *vctx)
{
	struct sn_crypto_loop *l = vctx;
	struct sn_chacha20 *st = l->st;
	__u32 off = l->off;
	__u8 *buf = l->buf;

	if (i >= SN_CHACHA_MAX_BLOCKS || off > SN_AEAD_MAX_OFF || !buf || !st)
		return 1;
	if (sn_chacha20_block_xor(st, st->w[12] + i,
				  (struct sn_cc_block *)(buf + off + (i << 6))))
		return 1;
	return 0;
}

/*
 * XOR buf[off .. off+len) with the keystream starting at block counter
 * st->w[12].  buf: map value of at least SN_BUF_SIZE + SN_BUF_PAD bytes;
 * off <= SN_AEAD_MAX_OFF; len <= SN_AEAD_MAX_LEN.  Clobbers the slack up
 * to the next 64-byte boundary of the message.  0 or -EINVAL.
 */
static __always_inline int sn_chacha20_xor(struct sn_chacha20 *st, __u8 *buf,
					   __u32 off, __u32 len)
{
	struct sn_crypto_loop l = { .st = st, .buf = buf, .off = off };
	__u32 nblocks = (len + 63) >> 6;

	if (off > SN_AEAD_MAX_OFF || len > SN_AEAD_MAX_LEN)
		return -22; /* EINVAL */
	if (nblocks && bpf_loop(nblocks, sn_chacha20_loop_cb, &l, 0) !=
			       (long)nblocks)
		return -22;
	return 0;
}

#endif
