/* SPDX-License-Identifier: Apache-2.0 */
/* lib/workflow internals: diagnostics with JSON paths, strict JSON. */
#ifndef SEALNET_LIB_WORKFLOW_INTERNAL_H
#define SEALNET_LIB_WORKFLOW_INTERNAL_H

#include <stdbool.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "sealnet/workflow.h"

/* Append an error at path (printf-style message). Returns -EINVAL. */
int wf_err(struct sn_wf_diag *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Strict load: JSON syntax (no duplicate members), top level an object,
 * then the canonical-form rules on every value (integers only, printable
 * ASCII strings and member names).  0 and *root, or -EINVAL and errors
 * in d (or -ENOMEM). */
int wf_json_load(const char *json, size_t len, json_t **root,
		 struct sn_wf_diag *d);
/* Canonical text of a loaded tree (malloc'd) */
int wf_json_canonical(const json_t *root, char **out, size_t *out_len);
/* SHA-384(prefix NUL || data) */
int wf_sha384_prefixed(const char *prefix, const void *data, size_t len,
		       uint8_t out[SN_WF_DIGEST_LEN]);

/* schema, into wf (arrays allocated; no cross references resolved yet
 * beyond names) */
int wf_parse_tree(json_t *root, struct sn_workflow *wf, struct sn_wf_diag *d);
/* the cross checks of lint (needs the tree for the paths of names) */
void wf_check(const struct sn_workflow *wf, struct sn_wf_diag *d);

/* reference values -> appraisal policy object (docs/attestation.md) */
json_t *wf_reference_policy(const struct sn_wf_reference *r);
int wf_reference_equal(const struct sn_wf_reference *a,
		       const struct sn_wf_reference *b);

/* keys.c: Ed25519 for the signed documents (also lib/federation) */
/* path (at most max bytes) into *buf; an error is one diag entry "$" */
int wf_read_input(const char *path, size_t max, uint8_t **buf, size_t *len,
		  struct sn_wf_diag *diag);
/* the Ed25519 private key (PKCS#8 PEM) at path; -EPERM when group or
 * others may access the file, -ENOKEY when it holds no such key */
int wf_load_private_key(const char *path, EVP_PKEY **out,
			struct sn_wf_diag *d);
int wf_ed25519_sign(EVP_PKEY *k, const uint8_t *msg, size_t len,
		    uint8_t sig[SN_WF_SIG_LEN]);
bool wf_ed25519_verify(const uint8_t pub[SN_WF_PUB_LEN], const uint8_t *msg,
		       size_t len, const uint8_t sig[SN_WF_SIG_LEN]);

const char *wf_tee_name(enum sn_wf_tee t);
const char *wf_proto_name(enum sn_wf_proto p);

#endif
