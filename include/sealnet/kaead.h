/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kaead: run the kernel (BPF) ChaCha20-Poly1305 of bpf/lib/aead.h from
 * user space, one message at a time, through BPF_PROG_TEST_RUN on the
 * bpf/aead_test.bpf.c harness.  Used by the self-test, the tests and the
 * benchmarks; not a fast path.
 *
 * Needs CAP_BPF (or root).  The harness is loaded on first use (or by
 * sn_kaead_load()) and stays loaded until sn_kaead_unload().  Thread-safe.
 * Every function returns 0 or a negative errno; out-parameters are written
 * only on success.
 */
#ifndef SEALNET_KAEAD_H
#define SEALNET_KAEAD_H

#include <stddef.h>
#include <stdint.h>

#define SN_KAEAD_KEY_LEN 32u
#define SN_KAEAD_NONCE_LEN 12u
#define SN_KAEAD_TAG_LEN 16u
#define SN_KAEAD_MAX_AAD 32u   /* the BPF AEAD takes at most 32 bytes */
#define SN_KAEAD_MAX_LEN 2004u /* SN_MAX_L4 */
#define SN_KAEAD_MAX_OFF 64u   /* message offset in the BPF scratch buffer */

enum sn_kaead_op {
	SN_KAEAD_SEAL = 1,     /* out = ChaCha20(in), tag = MAC */
	SN_KAEAD_OPEN = 2,     /* tag checked, out = ChaCha20(in); -EBADMSG */
	SN_KAEAD_CHACHA20 = 3, /* out = in XOR keystream(counter) */
	SN_KAEAD_POLY1305 = 4, /* tag = Poly1305(key, in) */
};

/* One operation, in full (the wrappers below fill it for you). */
struct sn_kaead_req {
	enum sn_kaead_op op;
	unsigned int off;  /* offset in the BPF scratch buffer, <= 64 */
	uint32_t counter;  /* SN_KAEAD_CHACHA20 only */
	const uint8_t *key;   /* 32 bytes */
	const uint8_t *nonce; /* 12 bytes (not used by POLY1305) */
	const uint8_t *aad;   /* aad_len bytes, SEAL/OPEN */
	size_t aad_len;	      /* <= SN_KAEAD_MAX_AAD */
	const uint8_t *in;    /* len bytes (may be NULL when len is 0) */
	size_t len;	      /* <= SN_KAEAD_MAX_LEN */
	uint8_t *out;	      /* len bytes, may equal in; unused by POLY1305 */
	uint8_t tag[16];      /* in for OPEN, out for SEAL and POLY1305 */
};

/* Load the BPF harness now (idempotent): 0, or -errno (-EPERM without
 * privileges, the libbpf error when the verifier refuses it). */
int sn_kaead_load(void);
/* Unload it; a later call loads it again. */
void sn_kaead_unload(void);

/* Run one request; 0, -EBADMSG (OPEN: tag mismatch, out untouched),
 * -EINVAL (bad sizes) or another -errno. */
int sn_kaead_run(struct sn_kaead_req *req);

int sn_kaead_seal(const uint8_t key[32], const uint8_t nonce[12],
		  const uint8_t *aad, size_t aad_len, const uint8_t *pt,
		  size_t len, uint8_t *ct, uint8_t tag[16]);
int sn_kaead_open(const uint8_t key[32], const uint8_t nonce[12],
		  const uint8_t *aad, size_t aad_len, const uint8_t *ct,
		  size_t len, const uint8_t tag[16], uint8_t *pt);
int sn_kaead_chacha20(const uint8_t key[32], uint32_t counter,
		      const uint8_t nonce[12], const uint8_t *in, size_t len,
		      uint8_t *out);
int sn_kaead_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len,
		      uint8_t tag[16]);

/* SHA-384 of the BPF harness object (bpf/aead_test.bpf.o) this library
 * carries: 0 or -EIO. */
int sn_kaead_object_digest(uint8_t out[48]);

/*
 * Benchmark: run op (SEAL or OPEN of a valid message, or CHACHA20 or
 * POLY1305 alone, without writing the result back, so every repetition
 * does the same work) of len bytes with a 20-byte aad, repeat times in the kernel; *ns = average nanoseconds per
 * run as measured by BPF_PROG_TEST_RUN (includes copying the packet in
 * and out of the scratch buffer).
 */
int sn_kaead_bench(enum sn_kaead_op op, size_t len, uint32_t repeat,
		   uint64_t *ns);

#endif
