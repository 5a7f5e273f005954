/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Known-answer self-test of the kernel (BPF) ChaCha20-Poly1305, and a
 * runner for test-vector files in the Wycheproof layout.
 *
 * Both need the BPF harness (sealnet/kaead.h, CAP_BPF).  They return 0
 * when the test ran to the end, whatever its outcome (read the stats:
 * failed == 0 means pass), or a negative errno when it could not run
 * (-ENOENT/-EACCES/... unreadable file, -EINVAL malformed file, the
 * kaead error when the harness cannot be loaded).  The stats are written
 * only on 0.  Every disagreement is reported through the callback.
 */
#ifndef SEALNET_SELFTEST_H
#define SEALNET_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_selftest_stats {
	unsigned int total;	 /* cases seen */
	unsigned int passed;	 /* result as expected */
	unsigned int failed;	 /* disagreements (each one reported) */
	unsigned int skipped;	 /* cannot be run by the kernel AEAD */
	unsigned int acceptable; /* "acceptable" vectors, either outcome */
};

/*
 * One disagreement: name is the KAT case ("rfc8439-2.8.2-seal", ...) or,
 * for vector files, "tcId N"; tc_id is N (-1 for the KAT); why says
 * what differed ("ciphertext differs", "invalid vector accepted", ...).
 */
typedef void (*sn_selftest_fail_fn)(const char *name, int tc_id,
				    const char *why, void *arg);

/*
 * KAT: RFC 8439 2.8.2 (seal and open), A.5 (open, and a tampered copy
 * rejected), 2.3.2/2.4.2 ChaCha20 and 2.5.2 Poly1305, then rounds random
 * round trips against OpenSSL's EVP_chacha20_poly1305 in both directions
 * (random sizes up to 1480 bytes, random aad up to 32 bytes).  rounds 0
 * means the default (16).
 */
int sn_selftest_kat(unsigned int rounds, sn_selftest_fail_fn fn, void *arg,
		    struct sn_selftest_stats *stats);

/*
 * sn_selftest_kat(rounds, ...) at most once per machine boot for the same
 * BPF objects and kernel: a pass is recorded in dir (a root-only
 * directory, created 0700 when missing) under a key that is the SHA-384
 * of the harness object (bpf/aead_test.bpf.o), the data-plane object
 * (bpf/sealnet.bpf.o), the kernel's boot_id, uname (release, version,
 * machine), the BPF JIT settings (net.core.bpf_jit_enable,
 * bpf_jit_harden) and rounds; a later call with the same key finds the
 * record and does not run the test, for at most max_age_s seconds
 * (CLOCK_BOOTTIME) after it.  A record is believed only when dir and the
 * file belong to this user, nobody else can write either, the file is a
 * regular file with one link (no symbolic link is followed), and it
 * holds exactly that key; anything else is ignored (and replaced after a
 * pass).  A failed or unfinished test is never recorded.  dir NULL: run
 * the test, record nothing.  docs/sealnetd.md argues why a recorded pass
 * is as good as a run.
 *
 * Returns as sn_selftest_kat; *cached (when not NULL) tells whether the
 * recorded pass was used (stats then: the recorded total and passed).
 */
int sn_selftest_kat_cached(const char *dir, unsigned int max_age_s,
			   unsigned int rounds, sn_selftest_fail_fn fn,
			   void *arg, struct sn_selftest_stats *stats,
			   bool *cached);

/*
 * Run every vector of a JSON file: { "algorithm": "CHACHA20-POLY1305",
 * "testGroups": [ { "ivSize": 96, "keySize": 256, "tagSize": 128,
 * "tests": [ { "tcId", "key", "iv", "aad", "msg", "ct", "tag", "result" }
 * ] } ] } with hex strings; result is "valid" (must seal to ct/tag and
 * open to msg), "invalid" (must be rejected by open) or "acceptable".
 * Skipped (counted, not failures): iv not 96 bits, key not 256 bits, tag
 * not 128 bits, aad longer than 32 bytes, message longer than 2004 bytes
 * (the limits of the kernel AEAD).
 */
int sn_selftest_vectors(const char *path, sn_selftest_fail_fn fn, void *arg,
			struct sn_selftest_stats *stats);

/* Reference ChaCha20-Poly1305 (OpenSSL), for cross-checks. 0 or -errno;
 * open returns -EBADMSG on a tag mismatch. */
int sn_ref_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
		     const uint8_t *aad, size_t aad_len, const uint8_t *pt,
		     size_t len, uint8_t *ct, uint8_t tag[16]);
int sn_ref_aead_open(const uint8_t key[32], const uint8_t nonce[12],
		     const uint8_t *aad, size_t aad_len, const uint8_t *ct,
		     size_t len, const uint8_t tag[16], uint8_t *pt);

#endif
