// SPDX-License-Identifier: Apache-2.0
/* sn_fed_bundle_export: build a domain's trust bundle from the manifest
 * and its KBS's JWKS, and sign it (docs/federation.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sealnet/kbs.h"
#include "sealnet/util.h"
#include "../workflow/schema.h"
#include "internal.h"

static int sign_digest(EVP_PKEY *k, const uint8_t digest[SN_WF_DIGEST_LEN],
		       uint8_t sig[SN_WF_SIG_LEN])
{
	uint8_t msg[SN_FED_SIG_MSG_LEN];

	sn_fed_sig_message(digest, msg);
	return wf_ed25519_sign(k, msg, sizeof(msg), sig);
}

/* {"current": JWK[, "next": JWK]} from a JWKS text */
static int token_keys(const char *jwks, size_t len, json_t **out,
		      struct sn_wf_diag *d)
{
	json_t *root = json_loadb(jwks, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *arr = root ? json_object_get(root, "keys") : NULL, *tk;
	char kid[64];
	int err;

	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > 2) {
		json_decref(root);
		return wf_err(d, "$",
			      "the KBS keys are not a JWKS {\"keys\": [1 or 2 "
			      "JWKs]} (current, then next): save the KBS's "
			      "GET /keys");
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		err = fed_jwk_check(json_array_get(arr, i), kid, sizeof(kid),
				    NULL);
		if (err) {
			json_decref(root);
			if (err == -ENOMEM)
				return err;
			return wf_err(d, "$",
				      "the KBS keys' key %zu is not a %s JWK "
				      "with kid = its RFC 7638 thumbprint",
				      i, SN_KBS_TOKEN_ALG);
		}
	}
	tk = json_object();
	if (!tk || json_object_set(tk, "current", json_array_get(arr, 0)) ||
	    (json_array_size(arr) == 2 &&
	     json_object_set(tk, "next", json_array_get(arr, 1)))) {
		json_decref(tk);
		json_decref(root);
		return -ENOMEM;
	}
	json_decref(root);
	*out = tk;
	return 0;
}

/* [{"stage", "reference"}] for the domain's stages, from the manifest's
 * tree */
static int stage_refs(const struct sn_workflow *wf, json_t *mroot, size_t di,
		      bool withdraw, json_t **out)
{
	json_t *arr = json_array(), *stages = json_object_get(mroot, "stages");

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < wf->n_stages; i++) {
		json_t *s = json_array_get(stages, i), *ref;

		if (wf->stages[i].domain != di || withdraw)
			continue;
		ref = json_object_get(s, "reference");
		if (!ref ||
		    json_array_append_new(arr, json_pack("{s:s,s:O}", "stage",
							 wf->stages[i].name,
							 "reference", ref))) {
			json_decref(arr);
			return ref ? -ENOMEM : -EINVAL;
		}
	}
	*out = arr;
	return 0;
}

int sn_fed_bundle_export(const struct sn_workflow *wf,
			 const char *manifest_json, size_t manifest_len,
			 const struct sn_fed_export *e, char **out,
			 struct sn_wf_diag *diag)
{
	struct sn_wf_diag scratch, *d = diag ? diag : &scratch;
	uint8_t pub[SN_WF_PUB_LEN], digest[SN_WF_DIGEST_LEN], fpr_raw[32],
		sig[SN_WF_SIG_LEN];
	char fpr[2 * SN_WF_FPR_LEN + 1], sighex[2 * SN_WF_SIG_LEN + 1];
	json_t *mroot = NULL, *root = NULL, *tk = NULL, *st = NULL;
	const struct sn_wf_domain *dom;
	size_t publen = sizeof(pub), k;
	EVP_PKEY *key = NULL;
	char *txt = NULL;
	int di, err;

	memset(d, 0, sizeof(*d));
	di = sn_workflow_find_domain(wf, e->domain);
	if (di < 0)
		return wf_err(d, "$.domains",
			      "the manifest names no domain '%s'", e->domain);
	dom = &wf->domains[di];
	if (e->sequence < 1 || e->sequence > SN_FED_MAX_SEQUENCE)
		return wf_err(d, "$.sequence",
			      "the sequence must be 1..2^53-1, and above the "
			      "last bundle's");
	if (e->not_before < 0 || e->not_after <= e->not_before ||
	    e->not_after - e->not_before > SN_FED_MAX_VALIDITY_S)
		return wf_err(d, "$.not_after",
			      "the validity must be 1 s .. %d days",
			      SN_FED_MAX_VALIDITY_S / 86400);
	err = token_keys(e->jwks_json, e->jwks_len, &tk, d);
	if (err)
		goto out;
	err = wf_json_load(manifest_json, manifest_len, &mroot, d);
	if (err)
		goto out;
	err = stage_refs(wf, mroot, (size_t)di, e->withdraw, &st);
	if (err)
		goto out;
	err = wf_load_private_key(e->key_pem_path, &key, d);
	if (err)
		goto out;
	err = -EKEYREJECTED;
	if (EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1)
		goto out;
	for (k = 0; k < dom->n_keys; k++)
		if (!memcmp(dom->keys[k].pub, pub, SN_WF_PUB_LEN))
			break;
	if (k == dom->n_keys) {
		wf_err(d, "$.domains",
		       "the key in %s is not one of domain '%s''s keys in the "
		       "manifest: use the domain's key",
		       e->key_pem_path, e->domain);
		goto out;
	}
	memcpy(fpr_raw, dom->keys[k].fpr, sizeof(fpr_raw));
	err = -ENOMEM;
	root = json_pack(
		"{s:i,s:s,s:s,s:I,s:I,s:I,s:O,s:O}", "sealnet_trust_bundle",
		SN_FED_FORMAT, "workflow", wf->name, "domain", dom->id,
		"sequence", (json_int_t)e->sequence, "not_before",
		(json_int_t)e->not_before, "not_after",
		(json_int_t)e->not_after, "token_keys", tk, "stages", st);
	if (!root)
		goto out;
	err = fed_digest(root, digest);
	if (!err)
		err = sign_digest(key, digest, sig);
	if (err)
		goto out;
	sn_hex_encode(fpr_raw, SN_WF_FPR_LEN, fpr);
	sn_hex_encode(sig, SN_WF_SIG_LEN, sighex);
	err = -ENOMEM;
	if (json_object_set_new(
		    root, "signature",
		    json_pack("{s:s,s:s}", "key", fpr, "ed25519", sighex)))
		goto out;
	txt = json_dumps(root,
			 JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!txt)
		goto out;
	*out = malloc(strlen(txt) + 2);
	if (!*out)
		goto out;
	strcpy(*out, txt);
	strcat(*out, "\n");
	err = 0;
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	free(txt);
	EVP_PKEY_free(key);
	json_decref(root);
	json_decref(tk);
	json_decref(st);
	json_decref(mroot);
	return err;
}
