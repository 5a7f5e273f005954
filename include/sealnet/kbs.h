/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sealnet-kbs: the domain's attestation service and key broker
 * (docs/kbs-api.md).  The shared logic lives in lib/kbs/:
 *
 *   store.c      SQLite state (WAL, synchronous=FULL), schema migrations
 *   audit.c      the hash-chained, append-only audit log and its check
 *   token.c      attestation-result tokens: JWT ES384, JWKS
 *   challenge.c  single-use, expiring challenges
 *   seal.c       resources sealed to the node's X25519 key (ECDH + HKDF +
 *                AES-256-GCM) and the report_data binding
 *   client.c     a small HTTPS client (the CLI, tests)
 *
 * All functions return 0 or a negative errno; out-parameters are written
 * only on success.  Nothing here prints: errors go through sn_log().
 */
#ifndef SEALNET_KBS_H
#define SEALNET_KBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sealnet/evidence.h"

/* The token algorithm (docs/kbs-api.md "Tokens", why ES256): ES256
 * (ECDSA P-256, SHA-256).  Building with -DSN_KBS_TOKEN_ES384=1 gives
 * ES384 (P-384, SHA-384), the first version's, for comparisons. */
#ifndef SN_KBS_TOKEN_ES384
#define SN_KBS_TOKEN_ES384 0
#endif
#if SN_KBS_TOKEN_ES384
#define SN_KBS_TOKEN_ALG "ES384"
#define SN_KBS_TOKEN_CRV "P-384"
#else
#define SN_KBS_TOKEN_ALG "ES256"
#define SN_KBS_TOKEN_CRV "P-256"
#endif
/* r || s of a token-key signature */
#define SN_KBS_SIG_LEN (SN_KBS_TOKEN_ES384 ? 96 : 64)

#define SN_KBS_NAME_MAX	     64	 /* node ids, stage names, domain id */
#define SN_KBS_PATH_MAX	     200 /* resource paths */
#define SN_KBS_CHALLENGE_LEN 32
#define SN_KBS_REK_LEN	     32 /* X25519 public key */
#define SN_KBS_JTI_MAX	     32
#define SN_KBS_TOKEN_MAX     8192	   /* bytes of a compact JWT */
#define SN_KBS_RESOURCE_MAX  (256u * 1024) /* bytes of one resource */

/* --- names ----------------------------------------------------------- */

/* Node ids, stage and domain names: 1..63 of [A-Za-z0-9._-], not starting
 * with '.' or '-'.  0 or -EINVAL. */
int sn_kbs_name_check(const char *s);
/* Resource paths: 1..199 of [A-Za-z0-9._-/], segments non-empty, no "."
 * or ".." segment, no leading or trailing '/'.  0 or -EINVAL. */
int sn_kbs_path_check(const char *s);

/* base64url without padding; *out malloc'd, NUL-terminated */
int sn_kbs_b64url_encode(const uint8_t *in, size_t len, char **out);
/* strict base64url (no padding, no other characters); *out malloc'd */
int sn_kbs_b64url_decode(const char *in, size_t len, uint8_t **out,
			 size_t *out_len);
/* decode exactly n bytes into out: 0, or -EINVAL */
int sn_kbs_b64url_decode_fixed(const char *in, uint8_t *out, size_t n);

/* --- store ------------------------------------------------------------- */

struct sn_kbs_store;

#define SN_KBS_SCHEMA_VERSION 7

/* Open (create) the database at path: WAL, synchronous=FULL, foreign keys,
 * migrations up to SN_KBS_SCHEMA_VERSION.  A database from a newer
 * version is refused (-EPROTO). */
int sn_kbs_store_open(const char *path, struct sn_kbs_store **out);
void sn_kbs_store_close(struct sn_kbs_store *s);
/* the schema version the file is at */
int sn_kbs_store_version(struct sn_kbs_store *s, int *out);

struct sn_kbs_node {
	char id[SN_KBS_NAME_MAX];
	char stage[SN_KBS_NAME_MAX];
	uint8_t spki_sha256[SN_SHA256_LEN]; /* its TLS key */
	bool revoked;
};

/* An audit record to append in the same transaction as a change. */
struct sn_kbs_audit_in {
	const char *actor;  /* "admin:<cert subject>", "node:<spki hex>", ... */
	const char *action; /* "enrol", "attest", "release", "refuse", ... */
	const char *subject; /* node id, stage, resource path */
	const char *outcome; /* "ok" or an error code */
	const char *detail;  /* free text */
};

/* Each change and its audit entry in one transaction (committed with
 * synchronous=FULL before the call returns). */
int sn_kbs_enrol(struct sn_kbs_store *s, const struct sn_kbs_node *n,
		 const struct sn_kbs_audit_in *a);
/* -ENOENT: not enrolled */
int sn_kbs_node_get(struct sn_kbs_store *s, const char *id,
		    struct sn_kbs_node *out);
/* the id of a node enrolled with this TLS key (SHA-256 of its SPKI; the
 * first by id when several are): 0, -ENOENT none, -EIO */
int sn_kbs_node_by_spki(struct sn_kbs_store *s,
			const uint8_t spki[SN_SHA256_LEN],
			char id[SN_KBS_NAME_MAX]);
/* policy_json: an appraisal policy (docs/attestation.md) */
int sn_kbs_reference_set(struct sn_kbs_store *s, const char *stage,
			 const char *policy_json,
			 const struct sn_kbs_audit_in *a);
/* *out malloc'd; -ENOENT when the stage has none */
int sn_kbs_reference_get(struct sn_kbs_store *s, const char *stage, char **out);
/* node "" : any node of the stage */
int sn_kbs_resource_put(struct sn_kbs_store *s, const char *path,
			const char *stage, const char *node,
			const uint8_t *data, size_t len,
			const struct sn_kbs_audit_in *a);
struct sn_kbs_resource {
	char stage[SN_KBS_NAME_MAX];
	char node[SN_KBS_NAME_MAX];
	uint8_t *data; /* malloc'd; sn_kbs_resource_clear() */
	size_t len;
};
int sn_kbs_resource_get(struct sn_kbs_store *s, const char *path,
			struct sn_kbs_resource *out);
void sn_kbs_resource_clear(struct sn_kbs_resource *r);

struct sn_kbs_token_rec {
	char jti[SN_KBS_JTI_MAX];
	char node[SN_KBS_NAME_MAX];
	char stage[SN_KBS_NAME_MAX];
	char measurement[2 * SN_MEASUREMENT_LEN + 1];
	int64_t iat, exp;
};
int sn_kbs_token_record(struct sn_kbs_store *s,
			const struct sn_kbs_token_rec *t,
			const struct sn_kbs_audit_in *a);
/* n tokens and their audit entries in one transaction, one commit (group
 * commit: one fsync for all): all recorded, or none (negative errno) */
int sn_kbs_token_record_many(struct sn_kbs_store *s,
			     const struct sn_kbs_token_rec *t,
			     const struct sn_kbs_audit_in *a, size_t n);
/* 0 when recorded, -ENOENT when not */
int sn_kbs_token_known(struct sn_kbs_store *s, const char *jti);

/* kind: "node" or "measurement" (96 hex).  A node revocation also marks
 * the node revoked.  *seq: the event's sequence number. */
int sn_kbs_revoke(struct sn_kbs_store *s, const char *kind, const char *value,
		  const char *reason, const struct sn_kbs_audit_in *a,
		  int64_t *seq);
/* 1 revoked, 0 not, negative errno */
int sn_kbs_is_revoked(struct sn_kbs_store *s, const char *kind,
		      const char *value);
/* Revocation events after seq, as a JSON array (*out malloc'd), and the
 * last sequence number. */
int sn_kbs_events_json(struct sn_kbs_store *s, int64_t after, int limit,
		       char **out, int64_t *last);
/* nodes, stages with references, resources (without data), revocations,
 * number of tokens: a JSON object (*out malloc'd) */
int sn_kbs_list_json(struct sn_kbs_store *s, char **out);

/* --- the workflow manifest (manifest.c) -------------------------------- */

struct sn_kbs_manifest {
	char digest[2 * 48 + 1]; /* SHA-384 hex (sn_workflow_digest) */
	char name[SN_KBS_NAME_MAX];
	uint64_t version;
	size_t n_stages; /* this domain's stages imported */
};

/*
 * Import a signed workflow manifest (docs/kbs-api.md "Manifest import"):
 * parse and validate manifest[0..ml), check the envelope sigs[0..sl)
 * (every domain signed, by a key it lists, over this digest), then in one
 * transaction with its audit entry: replace the reference values of each
 * of domain's stages with the policy the manifest gives it
 * (sn_workflow_stage_policy), record which node runs which of those
 * stages, and record the manifest (digest, name, version).  A version
 * below the recorded one, or the same version with another digest, is
 * refused; the same manifest again is a no-op (0).  Errors: -EINVAL
 * malformed manifest or envelope, -ENOKEY a domain has not signed,
 * -EBADMSG a bad signature (or the envelope is for another manifest),
 * -ENOENT domain is not in the manifest, -ESTALE older (or conflicting)
 * version; why says what failed and what to do.
 */
int sn_kbs_manifest_import(struct sn_kbs_store *s, const char *domain,
			   const char *manifest, size_t ml, const char *sigs,
			   size_t sl, const char *actor,
			   struct sn_kbs_manifest *out, char *why, size_t cap);
/*
 * The recorded manifest as a verified workflow (*out, sn_workflow_free):
 * its text and signature envelope from the database, parsed and checked
 * again (every domain signed; domain is one of its domains), so an edit
 * of the stored text is refused.  The KBS's one source of truth for the
 * manifest (trust bundles are verified against it).  0; -ENOENT none
 * imported; -ENODATA imported by a KBS before schema 3, which kept no
 * text (import it again); -EBADMSG/-ENOKEY/-EINVAL the stored copy does
 * not verify; why says which and what to do.
 */
struct sn_workflow;
int sn_kbs_manifest_load(struct sn_kbs_store *s, const char *domain,
			 struct sn_workflow **out, char *why, size_t cap);
/* The recorded manifest: 0, -ENOENT none imported */
int sn_kbs_manifest_get(struct sn_kbs_store *s, struct sn_kbs_manifest *out);
/* 0 when the recorded manifest has node running stage; -ENOENT not */
int sn_kbs_manifest_runs(struct sn_kbs_store *s, const char *node,
			 const char *stage);

/* --- audit log ------------------------------------------------------ */

/*
 * Append-only and hash-chained: each row holds prev = SHA-256 of the
 * previous row's canonical bytes (32 zero bytes for the first) and its own
 * hash; the head (count, last hash) is kept in audit_head in the same
 * transaction.  Canonical bytes: docs/kbs-api.md "Audit log".
 */
int sn_kbs_audit_append(struct sn_kbs_store *s,
			const struct sn_kbs_audit_in *a);
/* Rows after seq as a JSON array (*out malloc'd). */
int sn_kbs_audit_json(struct sn_kbs_store *s, int64_t after, int limit,
		      char **out);

struct sn_kbs_audit_report {
	bool ok;
	int64_t rows;
	int64_t bad_seq; /* first row that fails, or 0 */
	char what[160];	 /* what failed, when !ok */
	uint8_t head[SN_SHA256_LEN];
};
/* Check the whole chain.  0 when the check ran (verdict in out->ok). */
int sn_kbs_audit_verify(struct sn_kbs_store *s,
			struct sn_kbs_audit_report *out);
/*
 * The signed head (docs/kbs-api.md "Signed audit head"): with a head
 * signer set, every commit that appended audit rows also signs
 *   "sealnet-kbs-audit-head-v1" || 0x00 || seq (u64 BE) || hash (32)
 * of the new head with the key fn(arg) returns (the KBS: its current
 * token key), stored with its kid in audit_head.  A commit whose
 * signature fails is rolled back.  Without one (another writer), the head
 * is left unsigned.
 */
struct sn_kbs_signer;
void sn_kbs_store_set_head_signer(
	struct sn_kbs_store *s,
	const struct sn_kbs_signer *(*fn)(void *arg), void *arg);
/* The keys a head this store extends must be signed with (the KBS: all
 * its token keys).  With them set, a commit signs the new head only when
 * the head it extends was signed by one of them (or the log was empty):
 * a chain rewritten behind the KBS's back (its head unsigned, or signed
 * by another key, or its signature not matching) is never signed over;
 * the new head is left unsigned and the check keeps reporting it. */
void sn_kbs_store_set_head_keys(struct sn_kbs_store *s,
				size_t (*fn)(void *arg,
					     const struct sn_kbs_signer **out,
					     size_t cap));
/* Append a (the adoption's audit row) and sign the new head whatever the
 * head it extends (an unsigned head of a schema-4 database): an
 * operator's decision after checking the chain (sealnet-kbs
 * --adopt-audit-head). */
int sn_kbs_audit_adopt(struct sn_kbs_store *s,
		       const struct sn_kbs_audit_in *a);
struct sn_kbs_audit_head {
	int64_t seq; /* 0: empty log */
	uint8_t hash[SN_SHA256_LEN];
	bool is_signed;
	char kid[48];
	uint8_t sig[SN_KBS_SIG_LEN];
};
int sn_kbs_audit_head_get(struct sn_kbs_store *s,
			  struct sn_kbs_audit_head *out);
/* the bytes the head signature is over (out: 26 + 8 + 32) */
#define SN_KBS_AUDIT_HEAD_MSG_LEN 66
void sn_kbs_audit_head_msg(int64_t seq, const uint8_t hash[SN_SHA256_LEN],
			   uint8_t out[SN_KBS_AUDIT_HEAD_MSG_LEN]);
/* Check the chain (sn_kbs_audit_verify) and then that the head is signed
 * by one of keys (by kid).  0 when the check ran: out->ok false with
 * out->what "head: ..." when the chain is fine but the head is unsigned,
 * signed by no key of keys, or its signature does not verify. */
int sn_kbs_audit_verify_signed(struct sn_kbs_store *s,
			       struct sn_kbs_signer *const *keys, size_t n,
			       struct sn_kbs_audit_report *out);
/* The canonical bytes of a row (exposed for tests and the docs). */
struct sn_kbs_audit_row {
	int64_t seq, at;
	const char *actor, *action, *subject, *outcome, *detail;
	uint8_t prev[SN_SHA256_LEN];
};
int sn_kbs_audit_row_hash(const struct sn_kbs_audit_row *r,
			  uint8_t out[SN_SHA256_LEN]);

/* --- challenges ------------------------------------------------------ */

struct sn_kbs_challenges;

/* capacity: outstanding challenges at most; lifetime in ms.  The table
 * may be shared by threads (its operations take its lock). */
int sn_kbs_challenges_new(size_t capacity, uint64_t lifetime_ms,
			  struct sn_kbs_challenges **out);
void sn_kbs_challenges_free(struct sn_kbs_challenges *c);
/* A fresh random challenge valid until now + lifetime.  -EBUSY when
 * capacity unexpired challenges are outstanding. */
int sn_kbs_challenge_issue(struct sn_kbs_challenges *c, uint64_t now_ms,
			   uint8_t out[SN_KBS_CHALLENGE_LEN]);
/* The same for a client key (SHA-256 of its SPKI): also -EDQUOT when
 * per_key of that key's challenges are outstanding (unused, unexpired);
 * the new one is refused, the outstanding ones stay valid. */
int sn_kbs_challenge_issue_for(struct sn_kbs_challenges *c, uint64_t now_ms,
			       const uint8_t key[SN_SHA256_LEN],
			       uint8_t out[SN_KBS_CHALLENGE_LEN]);
/* outstanding challenges per key at most (0, the default: no limit) */
void sn_kbs_challenges_set_per_key(struct sn_kbs_challenges *c,
				   uint32_t per_key);
/* Use one: 0 (now used), -ENOENT never issued (or forgotten), -EALREADY
 * already used, -ETIMEDOUT expired. */
int sn_kbs_challenge_consume(struct sn_kbs_challenges *c, uint64_t now_ms,
			     const uint8_t ch[SN_KBS_CHALLENGE_LEN]);

/* --- binding and sealing ------------------------------------------- */

/*
 * The channel binding an attesting node's report_data commits to:
 *   cb = "sealnet-kbs-attest-v1" || 0x00 || challenge (32)
 *        || SHA-256(node TLS SubjectPublicKeyInfo DER) (32) || rek (32)
 *   report_data = SHA-512(cb || mlog running digest)
 * (sn_report_data_binding(); 48 zero bytes when no log).
 */
#define SN_KBS_CB_LABEL "sealnet-kbs-attest-v1"
#define SN_KBS_CB_LEN	(sizeof(SN_KBS_CB_LABEL) + 32 + 32 + 32)
void sn_kbs_channel_binding(const uint8_t challenge[SN_KBS_CHALLENGE_LEN],
			    const uint8_t spki_sha256[SN_SHA256_LEN],
			    const uint8_t rek[SN_KBS_REK_LEN],
			    uint8_t out[SN_KBS_CB_LEN]);

/* Seal data to the X25519 public key rek for resource path (JSON object
 * {"alg","epk","ct"}, *out malloc'd). */
int sn_kbs_seal(const uint8_t rek[SN_KBS_REK_LEN], const char *path,
		const uint8_t *data, size_t len, char **out);
/* Open what sn_kbs_seal made with the private key (a PEM X25519 key file's
 * contents or raw 32 bytes: priv).  *out malloc'd.  -EBADMSG when it does
 * not authenticate. */
int sn_kbs_open(const uint8_t priv[32], const char *path, const char *json,
		size_t json_len, uint8_t **out, size_t *out_len);
/* A fresh X25519 key pair */
int sn_kbs_x25519_keygen(uint8_t priv[32], uint8_t pub[32]);
int sn_kbs_x25519_pub(const uint8_t priv[32], uint8_t pub[32]);

/* SHA-256 of the DER SubjectPublicKeyInfo of a PEM certificate (file) */
int sn_kbs_cert_file_spki(const char *path, uint8_t out[SN_SHA256_LEN]);

/* --- tokens -------------------------------------------------------- */

struct sn_kbs_signer; /* the KBS's ES384 key */

/* Load the P-384 private key at path (PEM); create it (mode 0600) when
 * missing and create is true. */
int sn_kbs_signer_load(const char *path, bool create,
		       struct sn_kbs_signer **out);
/* From a PEM public key or key pair in memory (verification only when
 * public) */
int sn_kbs_signer_from_pem(const char *pem, size_t len,
			   struct sn_kbs_signer **out);
void sn_kbs_signer_free(struct sn_kbs_signer *k);
/* RFC 7638 JWK thumbprint, base64url: the "kid" */
const char *sn_kbs_signer_kid(const struct sn_kbs_signer *k);
/* {"keys":[{...}]} (*out malloc'd) */
int sn_kbs_jwks_json(const struct sn_kbs_signer *k, char **out);
/* ECDSA with the token key's curve and digest over msg, r || s: 0, or
 * -EINVAL for a verification-only key, -EIO */
int sn_kbs_signer_sign_raw(const struct sn_kbs_signer *k, const uint8_t *msg,
			   size_t len, uint8_t sig[SN_KBS_SIG_LEN]);
/* 0, or -EBADMSG when sig is not k's over msg */
int sn_kbs_signer_verify_raw(const struct sn_kbs_signer *k, const uint8_t *msg,
			     size_t len, const uint8_t sig[SN_KBS_SIG_LEN]);

struct sn_kbs_claims {
	char iss[SN_KBS_NAME_MAX + 16]; /* "sealnet-kbs:<domain>" */
	char sub[SN_KBS_NAME_MAX];	/* node id */
	char domain[SN_KBS_NAME_MAX];
	char stage[SN_KBS_NAME_MAX];
	char manifest[2 * SN_SHA384_LEN + 1]; /* digest hex, "" when none */
	char tee[8];			      /* "sim", "snp", "tdx" */
	char measurement[2 * SN_MEASUREMENT_LEN + 1];
	struct sn_tcb tcb;		 /* reported TCB (SNP/sim) */
	uint8_t cnf_spki[SN_SHA256_LEN]; /* SHA-256 of the node's TLS SPKI */
	uint8_t rek[SN_KBS_REK_LEN];	 /* the node's resource key */
	int64_t iat, exp;
	char jti[SN_KBS_JTI_MAX];
};

/* A compact JWS (ES384) over the claims; *out malloc'd. */
int sn_kbs_token_sign(const struct sn_kbs_signer *k,
		      const struct sn_kbs_claims *c, char **out);
/*
 * Verify a compact JWS with key k at time now: -EINVAL malformed (not three
 * base64url parts, header not exactly {alg ES384, typ JWT, kid}, claims
 * missing or of the wrong type), -EKEYREJECTED kid of another key,
 * -EBADMSG signature does not verify, -EKEYEXPIRED expired (exp <= now),
 * -ETIME issued in the future (iat > now + 60).
 */
int sn_kbs_token_verify(const struct sn_kbs_signer *k, const char *tok,
			size_t len, time_t now, struct sn_kbs_claims *out);

/* A JWKS ({"keys": [JWK, ...]}, what GET /keys answers): every key
 * must be EC P-384 with x, y and a kid equal to its RFC 7638 thumbprint
 * (-EKEYREJECTED otherwise, -EINVAL malformed or more than cap keys).
 * keys[0..*n) are verification-only signers; free each. */
int sn_kbs_jwks_parse(const char *json, size_t len,
		      struct sn_kbs_signer **keys, size_t cap, size_t *n);

/*
 * A peer's token in MAKE (docs/protocol.md §3.1): verified with one of
 * keys (the issuing KBS's JWKS) at now, then cnf.spki#S256 must equal
 * spki_sha256 (the peer's certificate in this TLS session) and, when
 * expect_sub is not NULL, sub must equal it.  0 accepted (*out the
 * claims); otherwise why says what failed: -EKEYREJECTED no key with its
 * kid (refetch the JWKS once), -EBADMSG signature, -EKEYEXPIRED, -ETIME,
 * -EINVAL malformed, -EPERM another TLS key or node.
 */
int sn_kbs_token_check_peer(struct sn_kbs_signer *const *keys, size_t n,
			    const char *tok, size_t len, time_t now,
			    const uint8_t spki_sha256[SN_SHA256_LEN],
			    const char *expect_sub, struct sn_kbs_claims *out,
			    char *why, size_t cap);

/*
 * A peer's token (claims verified already) against the manifest wf this
 * node runs (docs/protocol.md §3.1): manifest must be wf's digest (hex)
 * and stage a stage of wf, of the token's domain, that wf gives node
 * peer.  A token with no manifest claim passes only when evidence_too
 * (token-and-evidence: the peer's evidence binds the manifest).  0, or
 * -EPERM with why saying what failed.
 */
struct sn_workflow;
int sn_kbs_token_check_manifest(const struct sn_workflow *wf,
				const struct sn_kbs_claims *c, const char *peer,
				bool evidence_too, char *why, size_t cap);

/* --- request parsing (the daemon; fuzzed) ---------------------------- */

/* POST /attest: {"node", "challenge", "rek", "evidence", ["cert_refs"]}
 * and nothing else (docs/kbs-api.md); challenge and rek exactly 32 bytes
 * of base64url; evidence either base64url of at most
 * SN_EVIDENCE_MAX_INPUT bytes of serialized evidence, or the evidence's
 * configfs-tsm JSON object itself (members "provider", "outblob",
 * "auxblob", "mlog", strings, "outblob" required); cert_refs only with
 * an object that has no "auxblob" and is not TDX: 1..SN_EVIDENCE_MAX_CERTS
 * distinct SHA-256 digests, each 32 bytes of base64url. */
struct json_t;
struct sn_kbs_attest_request {
	char node[SN_KBS_NAME_MAX];
	uint8_t challenge[SN_KBS_CHALLENGE_LEN];
	uint8_t rek[SN_KBS_REK_LEN];
	uint8_t *evidence; /* the string form, decoded; malloc'd */
	size_t evidence_len;
	struct json_t *evidence_obj; /* or the object form (a reference) */
	uint8_t cert_refs[SN_EVIDENCE_MAX_CERTS][SN_SHA256_LEN];
	size_t n_cert_refs; /* 0: no "cert_refs" */
};
/* 0, or -EINVAL (malformed: the body is not exactly that) */
int sn_kbs_attest_request_parse(const char *body, size_t len,
				struct sn_kbs_attest_request *out);
void sn_kbs_attest_request_clear(struct sn_kbs_attest_request *r);

/* --- certificates by reference (certref.c) --------------------------- */

/*
 * The certificates of evidence the KBS accepted, by SHA-256 of their DER
 * (docs/kbs-api.md "Certificates by reference"): at most cap entries
 * (1..SN_KBS_CERTREF_CAP_MAX), each at most SN_KBS_CERTREF_DER_MAX bytes,
 * the oldest replaced first; thread-safe.  add: 0 (also when held
 * already), -E2BIG (empty or too large).  get: a malloc'd copy of the
 * DER whose SHA-256 is h, or -ENOENT.
 */
#define SN_KBS_CERTREF_CAP_MAX 4096
#define SN_KBS_CERTREF_DER_MAX 16384
struct sn_kbs_certref;
int sn_kbs_certref_new(size_t cap, struct sn_kbs_certref **out);
void sn_kbs_certref_free(struct sn_kbs_certref *c);
int sn_kbs_certref_add(struct sn_kbs_certref *c, const uint8_t *der,
		       size_t len);
int sn_kbs_certref_get(struct sn_kbs_certref *c, const uint8_t h[SN_SHA256_LEN],
		       uint8_t **der, size_t *len);
size_t sn_kbs_certref_count(struct sn_kbs_certref *c);
/*
 * The evidence of a POST /attest request, parsed: the string form as it
 * arrived; the object form with the certificates its cert_refs name, each
 * resolved in c to the exact DER with that SHA-256, in the order named
 * (sn_evidence_from_json).  0 and *ev; -ENOENT and *unknown (malloc'd
 * JSON array of {"reason": "certificate-unknown", "detail": reference in
 * base64url}, one per reference c does not hold); -EINVAL (the
 * evidence does not parse; *ev NULL); -ENOMEM.
 */
int sn_kbs_attest_evidence(struct sn_kbs_certref *c,
			   const struct sn_kbs_attest_request *r,
			   struct sn_evidence **ev, char **unknown);

/* --- HTTPS client (CLI, tests) -------------------------------------- */

struct sn_kbs_client_opts {
	const char *server; /* "HOST:PORT" (IPv4/IPv6 literal or name) */
	const char *ca;	    /* PEM file that signed the KBS's certificate */
	const char *cert;   /* client certificate (PEM), may be NULL */
	const char *key;    /* its private key (PEM) */
	int timeout_s;	    /* connect/read timeout; 0: 10 s */
	/* a context made from these ca/cert/key by sn_kbs_client_ctx_new,
	 * used by every connection instead of loading the files each time;
	 * NULL: each connection loads them */
	struct sn_kbs_client_ctx *ctx;
};

/*
 * A TLS client context for one node identity (the CA file, the client
 * certificate and its key, loaded and checked once), kept by a caller
 * across requests and attestations (sealnetd, bench/kbs_load): every
 * connection made with it is still a full TLS 1.3 handshake (no session
 * is cached or offered).  It may be shared by threads.  new: 0, or
 * -EINVAL (a file unreadable or the key not the certificate's).  current:
 * whether o names the files x was loaded from and none changed since
 * (device, inode, size, modification and change times).  refresh: keeps
 * *x when current, else frees it and loads anew (*x NULL on failure).
 */
struct sn_kbs_client_ctx;
int sn_kbs_client_ctx_new(const struct sn_kbs_client_opts *o,
			  struct sn_kbs_client_ctx **out);
void sn_kbs_client_ctx_free(struct sn_kbs_client_ctx *x);
bool sn_kbs_client_ctx_current(const struct sn_kbs_client_ctx *x,
			       const struct sn_kbs_client_opts *o);
int sn_kbs_client_ctx_refresh(struct sn_kbs_client_ctx **x,
			      const struct sn_kbs_client_opts *o);
/* SHA-256 of the client certificate's SPKI (the key the KBS binds) */
int sn_kbs_client_ctx_spki(const struct sn_kbs_client_ctx *x,
			   uint8_t out[SN_SHA256_LEN]);

struct sn_kbs_response {
	int status;
	char *body; /* malloc'd, NUL-terminated */
	size_t len;
};

/* One request (HTTP/1.1, Connection: close) over TLS 1.3.  bearer may be
 * NULL; body may be NULL for GET.  0 when an HTTP answer was read (any
 * status); negative errno when not (connection, TLS, malformed answer). */
int sn_kbs_request(const struct sn_kbs_client_opts *o, const char *method,
		   const char *target, const char *bearer, const char *body,
		   size_t body_len, struct sn_kbs_response *out);
void sn_kbs_response_clear(struct sn_kbs_response *r);

/* Several requests on one kept-alive TLS 1.3 connection (HTTP/1.1
 * keep-alive: one handshake for all of them).  open connects (0, or the
 * errors of sn_kbs_request); request is sn_kbs_request on it (when the
 * server closed the connection meanwhile, or answers "Connection: close",
 * the next request connects again); o must outlive the connection. */
struct sn_kbs_conn;
int sn_kbs_conn_open(const struct sn_kbs_client_opts *o,
		     struct sn_kbs_conn **out);
int sn_kbs_conn_request(struct sn_kbs_conn *c, const char *method,
			const char *target, const char *bearer,
			const char *body, size_t body_len,
			struct sn_kbs_response *out);
void sn_kbs_conn_close(struct sn_kbs_conn *c);

/* --- a node's attestation (attest.c) ---------------------------------- */

/* Produce evidence over report_data (e.g. sn_evidence_produce_ev); *ev:
 * sn_evidence_free. */
typedef int (*sn_kbs_evidence_fn)(void *arg,
				  const uint8_t report_data[SN_REPORT_DATA_LEN],
				  struct sn_evidence **ev);
/*
 * The POST /attest body for ev bound to challenge ch and rek: the
 * evidence as a JSON object; by_ref: its certificates as "cert_refs"
 * (SHA-256 of each DER; not for TDX, whose quote carries its own), else
 * in full ("auxblob").  *out malloc'd.
 */
int sn_kbs_attest_body(const char *node, const uint8_t ch[SN_KBS_CHALLENGE_LEN],
		       const uint8_t rek[SN_KBS_REK_LEN],
		       const struct sn_evidence *ev, bool by_ref, char **out);
struct sn_kbs_attest_result {
	char *token; /* malloc'd compact JWS */
	int64_t expires_at;
};
/*
 * GET /challenge, evidence bound to it, to o->cert's key (the key of
 * o->ctx's certificate when the caller keeps a context: the key the
 * handshake proves), to rek and to mlog_digest (NULL: no log), POST
 * /attest as node, both on one TLS connection (sn_kbs_conn_*); the
 * evidence's certificates by reference, and when the KBS answers 409
 * certificates-unknown, once more from a new challenge with them in
 * full.  0 and *out; else
 * why says what failed (-EACCES: refused, the KBS's code and message).
 * Blocking, each request bounded by o->timeout_s.
 */
int sn_kbs_attest(const struct sn_kbs_client_opts *o, const char *node,
		  const uint8_t rek[SN_KBS_REK_LEN],
		  const uint8_t mlog_digest[SN_SHA384_LEN],
		  sn_kbs_evidence_fn evidence, void *arg,
		  struct sn_kbs_attest_result *out, char *why, size_t cap);

#endif
