/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Request format of bpf/aead_test.bpf.c, the BPF_PROG_TEST_RUN harness of
 * the kernel AEAD (used by lib/dataplane/kaead.c, the self-test and tests/bpf).
 *
 * The test "packet" is struct sn_aead_req followed by len message bytes.
 * The program runs the operation on a copy in its scratch map and writes
 * the result back over the message (and the tag field), so the packet
 * keeps its size; its return value is an enum sn_aead_status.
 *
 * Include from BPF after vmlinux.h, from user space after <linux/types.h>.
 */
#ifndef SEALNET_AEAD_TEST_ABI_H
#define SEALNET_AEAD_TEST_ABI_H

enum sn_aead_op {
	SN_AEAD_OP_SEAL = 1,	 /* encrypt message, write tag */
	SN_AEAD_OP_OPEN = 2,	 /* verify tag, decrypt message */
	SN_AEAD_OP_CHACHA20 = 3, /* XOR message with keystream from counter */
	SN_AEAD_OP_POLY1305 = 4, /* tag = Poly1305(key, message) */
};

enum sn_aead_status {
	SN_AEAD_ST_OK = 0,	/* TC_ACT_OK */
	SN_AEAD_ST_BADMSG = 1,	/* open: tag mismatch, nothing written */
	SN_AEAD_ST_INVAL = 2,	/* malformed request */
	SN_AEAD_ST_HELPER = 3,	/* a kernel helper failed */
};

/* Do not write the result back (benchmarks: the packet stays as it is, so
 * that every repetition does the same work). */
#define SN_AEAD_F_NOWRITE 0x01

#define SN_AEAD_REQ_MAX_OFF 64u
#define SN_AEAD_REQ_MAX_AAD 32u

struct sn_aead_req {
	__u8 eth[16];	/* ignored (test_run treats it as the L2 header) */
	__u8 op;	/* enum sn_aead_op */
	__u8 flags;	/* SN_AEAD_F_* */
	__u8 aad_len;	/* <= 32 */
	__u8 off;	/* offset of the message in the scratch buffer, <= 64 */
	__u32 len;	/* message bytes after this header, <= SN_MAX_L4 */
	__u32 counter;	/* SN_AEAD_OP_CHACHA20: initial block counter */
	__u32 pad;
	__u8 key[32];
	__u8 nonce[12];
	__u8 tag[16];	/* in for open, out for seal and poly1305 */
	__u8 aad[32];
	__u8 pad2[4];
};
_Static_assert(sizeof(struct sn_aead_req) == 128, "sn_aead_req");

#endif
