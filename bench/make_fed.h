/* SPDX-License-Identifier: Apache-2.0 */
/* make_latency's cross-domain set-up (make_fed.c): a two-domain manifest,
 * each domain's token key, trust bundle and a token per node, and the
 * token check a node of the other domain runs (sn_fed_token_appraise). */
#ifndef SEALNET_BENCH_MAKE_FED_H
#define SEALNET_BENCH_MAKE_FED_H

#include <stdint.h>

#include "sealnet/evidence.h"
#include "sealnet/make.h"

struct fed_bench;

/* node names[i] in domain "d<i>", stage "s<i>", reference: meas on the
 * sim platform whose ARK SPKI hashes to ark; tokens bound to spki[i] */
int fed_bench_setup(const uint8_t meas[48], const uint8_t ark[32],
		    const char *const names[2], const uint8_t spki[2][32],
		    struct fed_bench **out);
const char *fed_bench_token(const struct fed_bench *f, int i);
/* W for the session with names[0] as client */
const uint8_t *fed_bench_bind(const struct fed_bench *f);
/* sn_make_token_verify_fn with arg = the fed_bench */
int fed_bench_verify(void *arg, const char *tok, size_t len,
		     const uint8_t spki[SN_SHA256_LEN], uint32_t peer_id,
		     const char *peer_name, struct sn_appraisal *out);
void fed_bench_free(struct fed_bench *f);

#endif
