/* SPDX-License-Identifier: Apache-2.0 */
/* lib/federation internals, shared by bundle.c and export.c. */
#ifndef SEALNET_LIB_FEDERATION_INTERNAL_H
#define SEALNET_LIB_FEDERATION_INTERNAL_H

#include <jansson.h>

#include "sealnet/federation.h"

/* every member of o in allowed (NULL-terminated), others reported */
void fed_only(struct sn_wf_diag *d, json_t *o, const char *path,
	      const char *const *allowed, const char *what);
/* a JWK the KBS publishes: known members only, alg/use right, an EC key
 * of the token curve whose kid is its thumbprint.  kid[cap] gets it;
 * *canon (may be NULL) the JWK's canonical text. */
int fed_jwk_check(json_t *jwk, char *kid, size_t cap, char **canon);
/* SHA-384(SN_FED_DIGEST_PREFIX NUL || canonical(root minus signature)) */
int fed_digest(json_t *root, uint8_t digest[SN_WF_DIGEST_LEN]);

#endif
