/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cluster_cp --kbs: a real sealnet-kbs for the whole workflow (issue 15
 * item 2).  Set-up (not timed): this process moves into a network
 * namespace of its own (loopback only), a temp dir with the KBS's CA,
 * server and admin certificates (tests/netns/kbs_pki.sh), its config and
 * token key, the KBS started on 127.0.0.1:8443 there, its JWKS read into
 * pair_tok, every node's own TLS key (a P-256 self-signed certificate, as
 * sealnetd's) written for its client.  Timed phases: enrol (every stage's
 * reference values, every node with its key's SPKI hash, over one
 * kept-alive admin connection) and attest (every node's sn_kbs_attest,
 * CLIENTS threads).  Then cluster_cp's MAKE runs in token mode with
 * ckbs_ctx[i] / ckbs_token[i] for node i.
 */
#ifndef SEALNET_BENCH_CLUSTER_KBS_H
#define SEALNET_BENCH_CLUSTER_KBS_H

#include <openssl/ssl.h>

#include "sealnet/kbs.h"
#include "sealnet/workflow.h"

struct ckbs_phase {
	double wall_s, cpu_s, kbs_cpu_s; /* cpu_s: this process (clients) */
	size_t ok, n;
};

extern SSL_CTX **ckbs_ctx; /* per node: its TLS key */
extern char **ckbs_token;  /* per node: its KBS token (NULL: none) */

/* kbs: the sealnet-kbs binary; pki: tests/netns/kbs_pki.sh */
/* keys: the KBS's JWKS (GET /keys), up to cap, *n_keys of them */
int ckbs_setup(const struct sn_workflow *wf, const char *kbs, const char *pki,
	       const char *platform, const uint8_t meas[48],
	       struct sn_kbs_signer **keys, size_t cap, size_t *n_keys);
int ckbs_enrol(const struct sn_workflow *wf, struct ckbs_phase *out);
int ckbs_attest(const struct sn_workflow *wf, int clients,
		struct ckbs_phase *out);
double ckbs_kbs_cpu(void); /* the KBS process's CPU so far, s */
void ckbs_teardown(const struct sn_workflow *wf);

#endif
