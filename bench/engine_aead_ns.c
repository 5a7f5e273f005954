// SPDX-License-Identifier: Apache-2.0
/*
 * engine_aead_ns: CPU ns per seal and per open of the SIMD engine's
 * ChaCha20-Poly1305 (lib/engine/aead.c, the per-packet AEAD of the wire
 * format), and of OpenSSL's EVP "ChaCha20-Poly1305" for comparison, on
 * the calling thread (CLOCK_THREAD_CPUTIME_ID: another process's work on
 * a shared machine is not counted, cache and frequency effects are).
 *
 *   engine_aead_ns [REPEAT [LEN...]]   default: 200000, 64 512 1424
 *
 * Output: one line per length, "LEN B: seal N ns open N ns evp N ns
 * (median of 7 runs)"; 1424 B is the L4 length of a full TCP segment
 * through the engine at MTU 1500.  Not a test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "../lib/engine/internal.h"

#define NRUNS  7
#define MAXLEN 65536u
#define ROOM   SN_ENG_AEAD_ROOM

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, NRUNS, sizeof(*v), cmp_d);
	return v[NRUNS / 2];
}

int main(int argc, char **argv)
{
	static const size_t def_lens[] = {64, 512, 1424};
	static uint8_t in[ROOM + MAXLEN + ROOM], out[ROOM + MAXLEN + ROOM],
		ct[ROOM + MAXLEN + ROOM];
	unsigned long repeat = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	uint8_t key[SN_KEY_LEN] = {1}, aad[SN_HDR_LEN] = {2}, tag[SN_TAG_LEN];
	uint8_t nonce[SN_NONCE_LEN] = {0};
	struct sn_eng_aead a;
	EVP_CIPHER_CTX *evp = EVP_CIPHER_CTX_new();
	int nl = argc > 2 ? argc - 2 : 3, n;

	if (!repeat || !evp || sn_eng_aead_init(&a) ||
	    sn_eng_aead_key(&a, key) ||
	    !EVP_EncryptInit_ex(evp, EVP_chacha20_poly1305(), NULL, key,
				NULL)) {
		fprintf(stderr, "engine_aead_ns: usage: engine_aead_ns "
				"[REPEAT [LEN...]] (REPEAT > 0); or OpenSSL "
				"has no ChaCha20 / Poly1305\n");
		return 2;
	}
	for (int li = 0; li < nl; li++) {
		size_t len = argc > 2 ? strtoul(argv[2 + li], NULL, 10) :
					def_lens[li];
		double s[NRUNS], o[NRUNS], e[NRUNS];

		if (!len || len > MAXLEN - 64) {
			fprintf(stderr,
				"engine_aead_ns: length '%s' not in "
				"1..%u\n",
				argv[2 + li], MAXLEN - 64);
			return 2;
		}
		for (int r = 0; r < NRUNS; r++) {
			double t0 = now_ns(), t1, t2, t3;

			for (unsigned long i = 0; i < repeat; i++)
				sn_eng_seal(&a, i, aad, in + ROOM, out + ROOM,
					    len, tag);
			t1 = now_ns();
			/* the last sealed packet, opened repeat times */
			memcpy(ct + ROOM, out + ROOM, len);
			for (unsigned long i = 0; i < repeat; i++)
				if (sn_eng_open(&a, repeat - 1, aad, ct + ROOM,
						out + ROOM, len, tag)) {
					fprintf(stderr,
						"engine_aead_ns: open "
						"refused its own seal\n");
					return 1;
				}
			t2 = now_ns();
			for (unsigned long i = 0; i < repeat; i++) {
				memcpy(nonce + 4, &i, 8);
				EVP_EncryptInit_ex(evp, NULL, NULL, NULL,
						   nonce);
				EVP_EncryptUpdate(evp, NULL, &n, aad,
						  SN_HDR_LEN);
				EVP_EncryptUpdate(evp, out + ROOM, &n,
						  in + ROOM, (int)len);
				EVP_EncryptFinal_ex(evp, out + ROOM + n, &n);
				EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_GET_TAG,
						    SN_TAG_LEN, tag);
			}
			t3 = now_ns();
			s[r] = (t1 - t0) / (double)repeat;
			o[r] = (t2 - t1) / (double)repeat;
			e[r] = (t3 - t2) / (double)repeat;
		}
		printf("%zu B: seal %.0f ns open %.0f ns evp %.0f ns (median "
		       "of %d runs)\n",
		       len, median(s), median(o), median(e), NRUNS);
	}
	EVP_CIPHER_CTX_free(evp);
	sn_eng_aead_free(&a);
	return 0;
}
