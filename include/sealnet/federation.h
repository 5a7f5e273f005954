/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust bundles between domains' key brokers (docs/federation.md): a
 * domain's signed statement of its token-signing public keys (current and
 * next, JWK), the reference values it vouches for per stage, a validity
 * period and a sequence number, signed with the domain's long-term
 * Ed25519 key (one the workflow manifest lists for that domain).
 *
 * The JSON rules and canonical form are the manifest's (lib/workflow):
 * integers only, printable ASCII, no duplicate members, canonical text =
 * compact with members sorted.  Functions return 0 or a negative errno;
 * out-parameters are written only on success; nothing is printed (errors
 * go into struct sn_wf_diag, with their JSON path).
 */
#ifndef SEALNET_FEDERATION_H
#define SEALNET_FEDERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealnet/workflow.h"

#define SN_FED_FORMAT	      1 /* "sealnet_trust_bundle": 1 */
#define SN_FED_MAX_BYTES      (256u * 1024)
#define SN_FED_MAX_STAGES     256
#define SN_FED_MAX_VALIDITY_S (366 * 86400)	  /* not_after - not_before */
#define SN_FED_MAX_SEQUENCE   9007199254740991ull /* 2^53 - 1 */

/* Domain-separation prefixes (with their terminating NUL byte). */
#define SN_FED_DIGEST_PREFIX "sealnet-trust-bundle-v1"
#define SN_FED_SIG_PREFIX    "sealnet-trust-bundle-signature-v1"

struct sn_fed_stage {
	char stage[SN_WF_NAME_MAX];
	char *reference_json; /* canonical text of the reference object */
};

struct sn_fed_bundle {
	char workflow[SN_WF_NAME_MAX]; /* the manifest's name */
	char domain[SN_WF_NAME_MAX];
	uint64_t sequence; /* 1..SN_FED_MAX_SEQUENCE */
	int64_t not_before,
		not_after; /* Unix seconds, not_before < not_after */
	char *key_current; /* canonical JWK text */
	char *key_next;	   /* NULL when the bundle names none */
	char kid_current[64], kid_next[64]; /* their RFC 7638 thumbprints */
	struct sn_fed_stage *stages;
	size_t n_stages;
	uint8_t key_fpr[SN_WF_FPR_LEN]; /* SHA-256 of the signer's key */
	uint8_t sig[SN_WF_SIG_LEN];
	/* SHA-384(SN_FED_DIGEST_PREFIX NUL || canonical form of the bundle
	 * without its "signature" member): what the signature covers */
	uint8_t digest[SN_WF_DIGEST_LEN];
};

/*
 * Strict parse of a bundle: the manifest's JSON rules, then the schema
 * (unknown members, missing members, wrong types and lengths, not_after
 * <= not_before or a validity over SN_FED_MAX_VALIDITY_S, JWKs that are
 * not EC keys of the token algorithm with kid = RFC 7638 thumbprint,
 * references that are not valid manifest reference objects, a stage
 * listed twice).  Nothing is checked against a manifest, a clock or a
 * signature here.  -EINVAL with every error in diag (may be NULL).
 */
int sn_fed_bundle_parse(const char *json, size_t len,
			struct sn_fed_bundle **out, struct sn_wf_diag *diag);
int sn_fed_bundle_load(const char *path, struct sn_fed_bundle **out,
		       struct sn_wf_diag *diag);
void sn_fed_bundle_free(struct sn_fed_bundle *b);

/* The bytes signed: SN_FED_SIG_PREFIX NUL || digest (34 + 48 bytes). */
#define SN_FED_SIG_MSG_LEN (sizeof(SN_FED_SIG_PREFIX) + SN_WF_DIGEST_LEN)
void sn_fed_sig_message(const uint8_t digest[SN_WF_DIGEST_LEN],
			uint8_t msg[SN_FED_SIG_MSG_LEN]);

struct sn_fed_export {
	const char *domain;    /* a domain of the manifest */
	const char *jwks_json; /* the KBS's GET /keys: 1 or 2 keys */
	size_t jwks_len;       /* (keys[0] current, keys[1] next) */
	uint64_t sequence;     /* >= 1 */
	int64_t not_before, not_after;
	const char *key_pem_path; /* the domain's Ed25519 private key */
	/* a withdrawal: no stage at all (docs/federation.md, "Withdrawal") */
	bool withdraw;
};

/*
 * A signed bundle for e->domain of the manifest wf, whose text is
 * manifest_json (the stages' reference objects are copied from it, for
 * every stage of the domain).  *out: the bundle text (malloc'd, canonical
 * form plus "\n").  -EINVAL: no such domain, bad JWKS, bad validity or
 * sequence; -ENOKEY: no Ed25519 private key at key_pem_path; -EPERM: the
 * key file is readable by group or others; -EKEYREJECTED: the key is not
 * one the domain lists.  diag says which and what to do.
 */
int sn_fed_bundle_export(const struct sn_workflow *wf,
			 const char *manifest_json, size_t manifest_len,
			 const struct sn_fed_export *e, char **out,
			 struct sn_wf_diag *diag);

/* Why a bundle is refused, in the order the checks run. */
enum sn_fed_status {
	SN_FED_OK = 0,
	SN_FED_DOMAIN_UNLISTED, /* the manifest names no such domain */
	SN_FED_WRONG_WORKFLOW,	/* issued for another manifest (name) */
	SN_FED_KEY_UNLISTED,	/* signed by a key the domain does not list */
	SN_FED_BAD_SIGNATURE,	/* the signature does not verify */
	SN_FED_FOREIGN_STAGE,	/* vouches for a stage not of its domain */
	SN_FED_NOT_YET_VALID,	/* now < not_before */
	SN_FED_EXPIRED,		/* now >= not_after */
	SN_FED_ROLLBACK,	/* sequence below the last accepted one (or
				 * equal with other content) */
};
const char *sn_fed_status_name(enum sn_fed_status s);

/*
 * Check b against the manifest wf at time now, and against last (the
 * bundle last accepted from that domain; NULL: none): the checks of enum
 * sn_fed_status, in that order, stopping at the first failure.  0 and
 * *status SN_FED_OK when accepted; -EPERM and *status the reason (diag
 * says it, naming the domain and what to do) when refused.
 */
int sn_fed_bundle_verify(const struct sn_workflow *wf,
			 const struct sn_fed_bundle *b, int64_t now,
			 const struct sn_fed_bundle *last,
			 enum sn_fed_status *status, struct sn_wf_diag *diag);

/* ---- cross-domain appraisal, token mode (appraise.c) ----------------- */

/* Why a peer's token is refused, in the order the checks run
 * (docs/federation.md "Cross-domain appraisal"). */
enum sn_fed_refusal {
	SN_FED_R_OK = 0,
	SN_FED_R_UNKNOWN_DOMAIN,    /* peer not in the manifest, or its
				     * token of another domain */
	SN_FED_R_BUNDLE_MISSING,    /* no verified bundle of its domain */
	SN_FED_R_BUNDLE_EXPIRED,    /* the bundle's validity is over */
	SN_FED_R_KEY_NOT_IN_BUNDLE, /* kid neither current nor next */
	SN_FED_R_TOKEN_INVALID,	    /* signature, exp/iat, cnf, sub */
	SN_FED_R_MANIFEST,	    /* manifest claim != the manifest's */
	SN_FED_R_STAGE,		    /* stage not the peer's / not vouched */
	SN_FED_R_REFERENCE,	    /* tee/measurement/TCB vs the manifest */
	SN_FED_R_REVOKED,	    /* the caller's revocation check */
};
const char *sn_fed_refusal_name(enum sn_fed_refusal r);

struct sn_kbs_claims;
struct sn_fed_token_in {
	const struct sn_workflow *wf; /* the manifest this node runs */
	const char *peer;	      /* the peer's node name (HELLO) */
	const char *tok;	      /* compact JWS as received */
	size_t len;
	const uint8_t *spki_sha256; /* the peer's TLS key in this session */
	int64_t now;
	/* bundles verified with sn_fed_bundle_verify against wf (at most
	 * one per domain; NULL entries allowed) */
	const struct sn_fed_bundle *const *bundles;
	size_t n_bundles;
	/* optional: nonzero when the claims are revoked (why says so) */
	int (*revoked)(void *arg, const struct sn_kbs_claims *c, char *why,
		       size_t cap);
	void *arg;
};

/*
 * A peer of another domain on its token: 0 and *out its claims when
 * accepted; -EPERM with *r and why ("<refusal name>: detail") when
 * refused; another negative errno when the check could not run.
 */
int sn_fed_token_appraise(const struct sn_fed_token_in *in,
			  struct sn_kbs_claims *out, enum sn_fed_refusal *r,
			  char *why, size_t cap);

/* The bundle's token keys as a JWKS {"keys": [current(, next)]}, what
 * sn_kbs_jwks_parse reads (*out malloc'd). */
int sn_fed_bundle_jwks(const struct sn_fed_bundle *b, char **out);

#endif
