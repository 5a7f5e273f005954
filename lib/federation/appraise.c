// SPDX-License-Identifier: Apache-2.0
/*
 * Cross-domain appraisal in token mode (docs/federation.md "Cross-domain
 * appraisal"): a node of domain B accepts a node of domain A on A's
 * attestation-result token, checked with A's trust bundle (verified by
 * the caller with sn_fed_bundle_verify against the same manifest) and
 * against the manifest's reference values for the peer's stage.  The
 * checks run in the order of enum sn_fed_refusal and stop at the first
 * failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sealnet/federation.h"
#include "sealnet/kbs.h"
#include "sealnet/util.h"

#define FED_KEYS 4

const char *sn_fed_refusal_name(enum sn_fed_refusal r)
{
	static const char *const n[] = {
		[SN_FED_R_OK] = "ok",
		[SN_FED_R_UNKNOWN_DOMAIN] = "unknown-domain",
		[SN_FED_R_BUNDLE_MISSING] = "bundle-missing",
		[SN_FED_R_BUNDLE_EXPIRED] = "bundle-expired",
		[SN_FED_R_KEY_NOT_IN_BUNDLE] = "key-not-in-bundle",
		[SN_FED_R_TOKEN_INVALID] = "token-invalid",
		[SN_FED_R_MANIFEST] = "manifest-mismatch",
		[SN_FED_R_STAGE] = "stage-not-allowed",
		[SN_FED_R_REFERENCE] = "measurement-not-in-references",
		[SN_FED_R_REVOKED] = "revoked",
	};

	return (unsigned int)r < sizeof(n) / sizeof(n[0]) && n[r] ? n[r] : "?";
}

static int refuse(enum sn_fed_refusal *r, enum sn_fed_refusal what, char *why,
		  size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int refuse(enum sn_fed_refusal *r, enum sn_fed_refusal what, char *why,
		  size_t cap, const char *fmt, ...)
{
	int n = snprintf(why, cap, "%s: ", sn_fed_refusal_name(what));
	va_list ap;

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < cap)
		vsnprintf(why + n, cap - (size_t)n, fmt, ap);
	va_end(ap);
	*r = what;
	return -EPERM;
}

static bool runs(const struct sn_wf_stage *s, size_t node)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i] == node)
			return true;
	return false;
}

static bool vouches(const struct sn_fed_bundle *b, const char *stage)
{
	for (size_t i = 0; i < b->n_stages; i++)
		if (!strcmp(b->stages[i].stage, stage))
			return true;
	return false;
}

static const char *tee_name(enum sn_wf_tee t)
{
	return t == SN_WF_TEE_SIM ? "sim" :
	       t == SN_WF_TEE_SNP ? "snp" :
	       t == SN_WF_TEE_TDX ? "tdx" :
				    "?";
}

/* the token's tee, measurement and TCB against the stage's reference */
static bool reference_ok(const struct sn_wf_reference *ref,
			 const struct sn_kbs_claims *c, char *why, size_t cap)
{
	uint8_t m[SN_WF_MEAS_LEN];
	bool found = false;

	if (strcmp(c->tee, tee_name(ref->tee))) {
		snprintf(why, cap,
			 "the token's tee is %s, the stage's "
			 "reference is for %s",
			 c->tee, tee_name(ref->tee));
		return false;
	}
	if (sn_hex_decode(c->measurement, strlen(c->measurement), m,
			  sizeof(m)) != (int)sizeof(m)) {
		snprintf(why, cap, "the token's measurement is malformed");
		return false;
	}
	for (size_t i = 0; i < ref->n_measurements; i++)
		found |= !CRYPTO_memcmp(ref->measurements[i], m, sizeof(m));
	if (!found) {
		snprintf(why, cap,
			 "the token's measurement %.16s... is none of the "
			 "manifest's %zu for the stage",
			 c->measurement, ref->n_measurements);
		return false;
	}
	if (ref->has_min_tcb &&
	    (c->tcb.bootloader < ref->min_tcb_bootloader ||
	     c->tcb.tee < ref->min_tcb_tee || c->tcb.snp < ref->min_tcb_snp ||
	     c->tcb.microcode < ref->min_tcb_microcode ||
	     (ref->has_min_tcb_fmc && c->tcb.fmc < ref->min_tcb_fmc))) {
		snprintf(why, cap,
			 "the token's TCB (bootloader %u, tee %u, snp %u, "
			 "microcode %u) is below the stage's min_tcb",
			 c->tcb.bootloader, c->tcb.tee, c->tcb.snp,
			 c->tcb.microcode);
		return false;
	}
	return true;
}

int sn_fed_token_appraise(const struct sn_fed_token_in *in,
			  struct sn_kbs_claims *out, enum sn_fed_refusal *r,
			  char *why, size_t cap)
{
	const struct sn_workflow *wf = in->wf;
	const struct sn_fed_bundle *b = NULL;
	struct sn_kbs_signer *keys[FED_KEYS];
	struct sn_kbs_claims c;
	char *jwks = NULL, mine[2 * SN_WF_DIGEST_LEN + 1], iss[96], sub[160];
	const char *dom_id;
	size_t n_keys = 0, dom;
	int n, s, err;

	*r = SN_FED_R_OK;
	why[0] = '\0';
	/* 1: the peer is a node of the manifest; its domain is the
	 * manifest's, never what the token says */
	n = sn_workflow_find_node(wf, in->peer);
	if (n < 0)
		return refuse(r, SN_FED_R_UNKNOWN_DOMAIN, why, cap,
			      "%s is no node of manifest %s v%" PRIu64,
			      in->peer, wf->name, wf->version);
	dom = wf->nodes[n].domain;
	dom_id = wf->domains[dom].id;
	/* 2: a verified bundle of that domain, still valid */
	for (size_t i = 0; i < in->n_bundles && !b; i++)
		if (in->bundles[i] && !strcmp(in->bundles[i]->domain, dom_id) &&
		    !strcmp(in->bundles[i]->workflow, wf->name))
			b = in->bundles[i];
	if (!b)
		return refuse(r, SN_FED_R_BUNDLE_MISSING, why, cap,
			      "no verified trust bundle of domain %s (%s's) "
			      "for workflow %s: import it into this "
			      "domain's KBS (POST /admin/bundle)",
			      dom_id, in->peer, wf->name);
	if (in->now >= b->not_after || in->now < b->not_before)
		return refuse(r, SN_FED_R_BUNDLE_EXPIRED, why, cap,
			      "domain %s's trust bundle (sequence %" PRIu64
			      ") is valid from %" PRId64 " until %" PRId64
			      ", now is %" PRId64 ": the domain must issue a "
			      "new one",
			      dom_id, b->sequence, b->not_before, b->not_after,
			      in->now);
	/* 3: the token, with the bundle's keys (current or next) */
	err = sn_fed_bundle_jwks(b, &jwks);
	if (!err)
		err = sn_kbs_jwks_parse(jwks, strlen(jwks), keys, FED_KEYS,
					&n_keys);
	free(jwks);
	if (err)
		return err == -ENOMEM ? err : -EINVAL;
	err = sn_kbs_token_check_peer(keys, n_keys, in->tok, in->len, in->now,
				      in->spki_sha256, in->peer, &c, sub,
				      sizeof(sub));
	for (size_t i = 0; i < n_keys; i++)
		sn_kbs_signer_free(keys[i]);
	if (err == -EKEYREJECTED)
		return refuse(r, SN_FED_R_KEY_NOT_IN_BUNDLE, why, cap,
			      "%s's token is signed with a key that domain "
			      "%s's bundle (sequence %" PRIu64
			      ") names neither current nor next",
			      in->peer, dom_id, b->sequence);
	if (err)
		return refuse(r, SN_FED_R_TOKEN_INVALID, why, cap,
			      "%s's token: %s", in->peer, sub);
	/* 4: issued by that domain */
	snprintf(iss, sizeof(iss), "sealnet-kbs:%s", dom_id);
	if (strcmp(c.domain, dom_id) || strcmp(c.iss, iss))
		return refuse(r, SN_FED_R_UNKNOWN_DOMAIN, why, cap,
			      "%s's token names domain %.63s (issuer %.80s), "
			      "the manifest puts %s in %s",
			      in->peer, c.domain, c.iss, in->peer, dom_id);
	/* 5: for this manifest */
	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, mine);
	if (strcmp(c.manifest, mine))
		return refuse(r, SN_FED_R_MANIFEST, why, cap,
			      "%s's token is for manifest %.16s%s, this node "
			      "runs %.16s... (%s v%" PRIu64 ")",
			      in->peer, c.manifest[0] ? c.manifest : "(none)",
			      c.manifest[0] ? "..." : "", mine, wf->name,
			      wf->version);
	/* 6: a stage the manifest gives the peer and its bundle vouches for */
	s = sn_workflow_find_stage(wf, c.stage);
	if (s < 0 || wf->stages[s].domain != dom ||
	    !runs(&wf->stages[s], (size_t)n))
		return refuse(r, SN_FED_R_STAGE, why, cap,
			      "%s's token names stage %.63s, which the "
			      "manifest does not give %s",
			      in->peer, c.stage, in->peer);
	if (!vouches(b, c.stage))
		return refuse(r, SN_FED_R_STAGE, why, cap,
			      "domain %s's bundle (sequence %" PRIu64
			      ") does not vouch for stage %s",
			      dom_id, b->sequence, c.stage);
	/* 7: the manifest's reference values for that stage */
	if (!reference_ok(&wf->stages[s].ref, &c, sub, sizeof(sub)))
		return refuse(r, SN_FED_R_REFERENCE, why, cap, "%s (stage %s)",
			      sub, c.stage);
	/* 8: nothing revoked */
	if (in->revoked && in->revoked(in->arg, &c, sub, sizeof(sub)))
		return refuse(r, SN_FED_R_REVOKED, why, cap, "%s", sub);
	*out = c;
	return 0;
}
