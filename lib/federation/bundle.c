// SPDX-License-Identifier: Apache-2.0
/* Trust bundles: parse (strict), digest, verify against a manifest, a
 * clock and the last accepted bundle (docs/federation.md).  The JSON
 * rules and canonical form are lib/workflow's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sealnet/federation.h"
#include "sealnet/kbs.h"
#include "sealnet/util.h"
#include "../workflow/schema.h"
#include "internal.h"

void sn_fed_bundle_free(struct sn_fed_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_stages; i++)
		free(b->stages[i].reference_json);
	free(b->stages);
	free(b->key_current);
	free(b->key_next);
	free(b);
}

void fed_only(struct sn_wf_diag *d, json_t *o, const char *path,
	      const char *const *allowed, const char *what)
{
	char p[PATH_MAX_LEN];
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, k))
				break;
		if (!*a)
			wf_err(d, wf_sub(p, "%s.%s", path, k),
			       "unknown member of %s (docs/federation.md): "
			       "remove it, or use a sealnet that reads it",
			       what);
	}
}

int fed_jwk_check(json_t *jwk, char *kid, size_t cap, char **canon)
{
	static const char *const allowed[] = {"kty", "crv", "x",   "y",
					      "kid", "alg", "use", NULL};
	struct sn_kbs_signer *k = NULL;
	const char *alg, *use, *key;
	json_t *wrap, *v;
	char *txt = NULL;
	size_t n = 0, len;
	int err;

	if (!json_is_object(jwk))
		return -EINVAL;
	json_object_foreach(jwk, key, v)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			return -EINVAL;
	}
	alg = json_string_value(json_object_get(jwk, "alg"));
	use = json_string_value(json_object_get(jwk, "use"));
	if ((json_object_get(jwk, "alg") &&
	     (!alg || strcmp(alg, SN_KBS_TOKEN_ALG))) ||
	    (json_object_get(jwk, "use") && (!use || strcmp(use, "sig"))))
		return -EINVAL;
	wrap = json_pack("{s:[O]}", "keys", jwk);
	if (!wrap)
		return -ENOMEM;
	txt = json_dumps(wrap, JSON_COMPACT);
	json_decref(wrap);
	if (!txt)
		return -ENOMEM;
	err = sn_kbs_jwks_parse(txt, strlen(txt), &k, 1, &n);
	free(txt);
	if (err)
		return err;
	snprintf(kid, cap, "%s", sn_kbs_signer_kid(k));
	sn_kbs_signer_free(k);
	if (strlen(kid) + 1 >= cap)
		return -EINVAL;
	return canon ? wf_json_canonical(jwk, canon, &len) : 0;
}

int fed_digest(json_t *root, uint8_t digest[SN_WF_DIGEST_LEN])
{
	json_t *copy = json_copy(root);
	char *c = NULL;
	size_t n = 0;
	int err;

	if (!copy)
		return -ENOMEM;
	json_object_del(copy, "signature");
	err = wf_json_canonical(copy, &c, &n);
	json_decref(copy);
	if (err)
		return err;
	err = wf_sha384_prefixed(SN_FED_DIGEST_PREFIX, c, n, digest);
	free(c);
	return err;
}

static void parse_keys(struct wf_ctx *c, json_t *root, struct sn_fed_bundle *b)
{
	static const char *const allowed[] = {"current", "next", NULL};
	json_t *tk = json_object_get(root, "token_keys");
	const char *names[2] = {"current", "next"};
	char *kids[2] = {b->kid_current, b->kid_next};
	char **canon[2] = {&b->key_current, &b->key_next};
	char p[PATH_MAX_LEN];

	if (!tk) {
		wf_err(c->d, "$.token_keys",
		       "missing: add {\"current\": JWK} (the KBS's GET /keys)");
		return;
	}
	if (!wf_is_object(c, tk, "$.token_keys", "{current, next}"))
		return;
	fed_only(c->d, tk, "$.token_keys", allowed, "token_keys");
	for (int i = 0; i < 2; i++) {
		json_t *j = json_object_get(tk, names[i]);
		int err;

		wf_sub(p, "$.token_keys.%s", names[i]);
		if (!j) {
			if (!i)
				wf_err(c->d, p,
				       "missing: the KBS's current token key "
				       "(JWK)");
			continue;
		}
		err = fed_jwk_check(j, kids[i], sizeof(b->kid_current),
				    canon[i]);
		if (err == -ENOMEM)
			c->oom = true;
		else if (err)
			wf_err(c->d, p,
			       "not a %s token key: a JWK {kty EC, crv %s, "
			       "x, y, kid = its RFC 7638 thumbprint[, alg %s, "
			       "use sig]}, as GET /keys publishes",
			       SN_KBS_TOKEN_ALG, SN_KBS_TOKEN_CRV,
			       SN_KBS_TOKEN_ALG);
	}
	if (b->key_next && !strcmp(b->kid_current, b->kid_next))
		wf_err(c->d, "$.token_keys.next",
		       "the same key as current: omit next, or give the key "
		       "the KBS rolls over to");
}

static void parse_stages(struct wf_ctx *c, json_t *root,
			 struct sn_fed_bundle *b)
{
	static const char *const allowed[] = {"stage", "reference", NULL};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	json_t *arr = NULL, *e;
	size_t i;

	/* required, but may be empty: a domain's withdrawal
	 * (docs/federation.md "Withdrawal") */
	if (!json_object_get(root, "stages")) {
		wf_err(c->d, "$.stages",
		       "missing: add the list of stages (empty: a "
		       "withdrawal)");
		return;
	}
	if (wf_get_array(c, root, "$", "stages", false, SN_FED_MAX_STAGES,
			 &arr))
		return;
	b->stages = calloc(json_array_size(arr) + 1, sizeof(*b->stages));
	if (!b->stages) {
		c->oom = true;
		return;
	}
	json_array_foreach(arr, i, e)
	{
		struct sn_fed_stage *s = &b->stages[b->n_stages];
		struct sn_wf_reference r = {0};
		json_t *ref;
		size_t len;

		wf_sub(p, "$.stages[%zu]", i);
		if (!wf_is_object(c, e, p, "{stage, reference}"))
			continue;
		fed_only(c->d, e, p, allowed, "a stage entry");
		if (!wf_get_str(c, e, p, "stage", true, true, s->stage,
				sizeof(s->stage)))
			for (size_t j = 0; j < b->n_stages; j++)
				if (!strcmp(b->stages[j].stage, s->stage))
					wf_err(c->d, wf_sub(q, "%s.stage", p),
					       "stage '%s' is listed twice "
					       "(also $.stages[%zu]): keep one",
					       s->stage, j);
		ref = json_object_get(e, "reference");
		wf_sub(q, "%s.reference", p);
		if (!ref) {
			wf_err(c->d, q,
			       "missing: the reference values the domain "
			       "vouches for (a manifest stage's reference)");
			continue;
		}
		if (!wf_is_object(c, ref, q, "a reference object"))
			continue;
		wf_parse_reference(c, ref, q, &r);
		free(r.measurements);
		for (int k = 0; k < 4; k++)
			free(r.rtmr[k]);
		free(r.sim_ark_spki_sha256);
		if (wf_json_canonical(ref, &s->reference_json, &len))
			c->oom = true;
		else
			b->n_stages++;
	}
}

static int parse_tree(struct wf_ctx *c, json_t *root, struct sn_fed_bundle *b)
{
	static const char *const allowed[] = {
		"sealnet_trust_bundle",
		"workflow",
		"domain",
		"sequence",
		"not_before",
		"not_after",
		"token_keys",
		"stages",
		"signature",
		NULL,
	};
	static const char *const sallowed[] = {"key", "ed25519", NULL};
	json_t *v = json_object_get(root, "sealnet_trust_bundle"), *sig;
	uint64_t nb = 0, na = 0;

	if (!json_is_integer(v) || json_integer_value(v) != SN_FED_FORMAT)
		return wf_err(c->d, "$.sealnet_trust_bundle",
			      "%s: this sealnet reads trust bundle format %d",
			      v ? "unsupported format" : "missing",
			      SN_FED_FORMAT);
	fed_only(c->d, root, "$", allowed, "a trust bundle");
	wf_get_str(c, root, "$", "workflow", true, true, b->workflow,
		   sizeof(b->workflow));
	wf_get_str(c, root, "$", "domain", true, true, b->domain,
		   sizeof(b->domain));
	wf_get_uint(c, root, "$", "sequence", true, 1, SN_FED_MAX_SEQUENCE,
		    &b->sequence);
	if (!wf_get_uint(c, root, "$", "not_before", true, 0,
			 SN_FED_MAX_SEQUENCE, &nb) &&
	    !wf_get_uint(c, root, "$", "not_after", true, 0,
			 SN_FED_MAX_SEQUENCE, &na)) {
		if (na <= nb || na - nb > SN_FED_MAX_VALIDITY_S)
			wf_err(c->d, "$.not_after",
			       "must be after not_before, by at most %d days "
			       "(%d s): export with a shorter --valid",
			       SN_FED_MAX_VALIDITY_S / 86400,
			       SN_FED_MAX_VALIDITY_S);
		b->not_before = (int64_t)nb;
		b->not_after = (int64_t)na;
	}
	parse_keys(c, root, b);
	parse_stages(c, root, b);
	sig = json_object_get(root, "signature");
	if (!sig)
		wf_err(c->d, "$.signature",
		       "missing: the bundle is unsigned (`sealnet federation "
		       "export` signs it)");
	else if (wf_is_object(c, sig, "$.signature", "{key, ed25519}")) {
		fed_only(c->d, sig, "$.signature", sallowed, "the signature");
		wf_get_hex(c, sig, "$.signature", "key", true, b->key_fpr,
			   SN_WF_FPR_LEN,
			   "SHA-256 of the signer's raw Ed25519 public key");
		wf_get_hex(c, sig, "$.signature", "ed25519", true, b->sig,
			   SN_WF_SIG_LEN, "the Ed25519 signature");
	}
	if (c->oom)
		return -ENOMEM;
	return c->d->n_total ? -EINVAL : fed_digest(root, b->digest);
}

int sn_fed_bundle_parse(const char *json, size_t len,
			struct sn_fed_bundle **out, struct sn_wf_diag *diag)
{
	struct sn_wf_diag *d = diag ? diag : calloc(1, sizeof(*d));
	struct sn_fed_bundle *b = NULL;
	struct wf_ctx c = {0};
	json_t *root = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	if (len > SN_FED_MAX_BYTES) {
		err = wf_err(d, "$",
			     "the bundle is %zu bytes, over the limit of %u",
			     len, SN_FED_MAX_BYTES);
		goto out;
	}
	err = wf_json_load(json, len, &root, d);
	if (err)
		goto out;
	b = calloc(1, sizeof(*b));
	if (!b) {
		err = -ENOMEM;
		goto out;
	}
	c.d = d;
	err = parse_tree(&c, root, b);
	if (!err && d->n_total)
		err = -EINVAL;
	if (!err) {
		*out = b;
		b = NULL;
	}
out:
	json_decref(root);
	sn_fed_bundle_free(b);
	if (d != diag)
		free(d);
	return err;
}

int sn_fed_bundle_load(const char *path, struct sn_fed_bundle **out,
		       struct sn_wf_diag *diag)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = wf_read_input(path, SN_FED_MAX_BYTES, &buf, &len, diag);

	if (err)
		return err;
	err = sn_fed_bundle_parse((const char *)buf, len, out, diag);
	free(buf);
	return err;
}

void sn_fed_sig_message(const uint8_t digest[SN_WF_DIGEST_LEN],
			uint8_t msg[SN_FED_SIG_MSG_LEN])
{
	memcpy(msg, SN_FED_SIG_PREFIX, sizeof(SN_FED_SIG_PREFIX));
	memcpy(msg + sizeof(SN_FED_SIG_PREFIX), digest, SN_WF_DIGEST_LEN);
}

const char *sn_fed_status_name(enum sn_fed_status s)
{
	switch (s) {
	case SN_FED_OK:
		return "accepted";
	case SN_FED_DOMAIN_UNLISTED:
		return "domain-not-in-manifest";
	case SN_FED_WRONG_WORKFLOW:
		return "other-workflow";
	case SN_FED_KEY_UNLISTED:
		return "key-not-listed";
	case SN_FED_BAD_SIGNATURE:
		return "bad-signature";
	case SN_FED_FOREIGN_STAGE:
		return "stage-not-of-domain";
	case SN_FED_NOT_YET_VALID:
		return "not-yet-valid";
	case SN_FED_EXPIRED:
		return "expired";
	case SN_FED_ROLLBACK:
		return "rollback";
	}
	return "?";
}

static int refuse(enum sn_fed_status *status, enum sn_fed_status s)
{
	*status = s;
	return -EPERM;
}

int sn_fed_bundle_verify(const struct sn_workflow *wf,
			 const struct sn_fed_bundle *b, int64_t now,
			 const struct sn_fed_bundle *last,
			 enum sn_fed_status *status, struct sn_wf_diag *diag)
{
	struct sn_wf_diag scratch, *d = diag ? diag : &scratch;
	uint8_t msg[SN_FED_SIG_MSG_LEN];
	const struct sn_wf_domain *dom;
	char p[PATH_MAX_LEN];
	size_t k;
	int di;

	memset(d, 0, sizeof(*d));
	di = sn_workflow_find_domain(wf, b->domain);
	if (di < 0) {
		wf_err(d, "$.domain",
		       "'%s' is not a domain of workflow '%s': a bundle is "
		       "only taken from a domain the signed manifest lists",
		       b->domain, wf->name);
		return refuse(status, SN_FED_DOMAIN_UNLISTED);
	}
	dom = &wf->domains[di];
	if (strcmp(b->workflow, wf->name)) {
		wf_err(d, "$.workflow",
		       "issued for workflow '%s', not '%s': ask domain '%s' "
		       "for this workflow's bundle",
		       b->workflow, wf->name, b->domain);
		return refuse(status, SN_FED_WRONG_WORKFLOW);
	}
	for (k = 0; k < dom->n_keys; k++)
		if (!CRYPTO_memcmp(dom->keys[k].fpr, b->key_fpr, SN_WF_FPR_LEN))
			break;
	if (k == dom->n_keys) {
		wf_err(d, "$.signature.key",
		       "signed with a key domain '%s' does not list in the "
		       "manifest: refused (the domain must sign with one of "
		       "its listed keys)",
		       b->domain);
		return refuse(status, SN_FED_KEY_UNLISTED);
	}
	sn_fed_sig_message(b->digest, msg);
	if (!wf_ed25519_verify(dom->keys[k].pub, msg, sizeof(msg), b->sig)) {
		wf_err(d, "$.signature.ed25519",
		       "domain '%s''s signature (key '%s') does not verify: "
		       "the bundle or its signature was altered; fetch it "
		       "again from the domain",
		       b->domain, dom->keys[k].id);
		return refuse(status, SN_FED_BAD_SIGNATURE);
	}
	for (size_t i = 0; i < b->n_stages; i++) {
		int si = sn_workflow_find_stage(wf, b->stages[i].stage);

		if (si < 0 || wf->stages[si].domain != (size_t)di) {
			wf_err(d, wf_sub(p, "$.stages[%zu].stage", i),
			       "stage '%s' is %s: a domain vouches only for "
			       "its own stages",
			       b->stages[i].stage,
			       si < 0 ? "not a stage of the manifest" :
					"another domain's");
			return refuse(status, SN_FED_FOREIGN_STAGE);
		}
	}
	if (now < b->not_before) {
		wf_err(d, "$.not_before",
		       "not valid yet (from %lld, now %lld): check the "
		       "clocks of both domains",
		       (long long)b->not_before, (long long)now);
		return refuse(status, SN_FED_NOT_YET_VALID);
	}
	if (now >= b->not_after) {
		wf_err(d, "$.not_after",
		       "expired at %lld (now %lld): fetch a fresh bundle from "
		       "domain '%s'",
		       (long long)b->not_after, (long long)now, b->domain);
		return refuse(status, SN_FED_EXPIRED);
	}
	if (last &&
	    (b->sequence < last->sequence ||
	     (b->sequence == last->sequence &&
	      CRYPTO_memcmp(b->digest, last->digest, SN_WF_DIGEST_LEN)))) {
		wf_err(d, "$.sequence",
		       "sequence %llu %s the last accepted bundle of domain "
		       "'%s' (sequence %llu): a replayed or forked bundle is "
		       "refused; the domain must issue a higher sequence",
		       (unsigned long long)b->sequence,
		       b->sequence < last->sequence ? "is below" :
						      "reuses, with other "
						      "content,",
		       b->domain, (unsigned long long)last->sequence);
		return refuse(status, SN_FED_ROLLBACK);
	}
	*status = SN_FED_OK;
	return 0;
}

int sn_fed_bundle_jwks(const struct sn_fed_bundle *b, char **out)
{
	size_t n = strlen(b->key_current) +
		   (b->key_next ? strlen(b->key_next) : 0);
	char *s = malloc(n + 16);

	if (!s)
		return -ENOMEM;
	snprintf(s, n + 16, "{\"keys\":[%s%s%s]}", b->key_current,
		 b->key_next ? "," : "", b->key_next ? b->key_next : "");
	*out = s;
	return 0;
}
