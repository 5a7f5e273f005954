/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workflow manifest (docs/workflow.md): one JSON document, signed by
 * every domain it names, describing the whole workflow (domains, nodes,
 * stages, flows, lifetimes).  This library parses and validates it
 * (collecting every error with its JSON path), computes its canonical
 * form and digest, signs and verifies the detached signature envelope
 * (workflow.sig.json), compiles one node's sealnetd policy and draws the
 * graph.
 *
 * The parsed structures are public and stable within format version 1:
 * sealnetd (running from a manifest) and the key broker (sealnet-kbs,
 * domains and stages) read them directly.  Cross references are indices
 * into the arrays of struct sn_workflow, already resolved and checked.
 *
 * Functions return 0 or a negative errno; out-parameters are written only
 * on success; nothing is printed (errors go into struct sn_wf_diag).
 */
#ifndef SEALNET_WORKFLOW_H
#define SEALNET_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SN_WF_FORMAT	 1	    /* "sealnet_workflow": 1 */
#define SN_WF_SIG_FORMAT 1	    /* "sealnet_workflow_signatures": 1 */
#define SN_WF_NAME_MAX	 64	    /* names: [A-Za-z0-9._-], 1..63 */
#define SN_WF_TEXT_MAX	 256	    /* paths, URLs, comments */
#define SN_WF_MAX_BYTES	 (1u << 20) /* manifest and envelope size limit */
#define SN_WF_DIGEST_LEN 48	    /* SHA-384 */
#define SN_WF_MEAS_LEN	 48	    /* SNP MEASUREMENT, TDX MRTD/RTMR/MR*: 48 */
#define SN_WF_PUB_LEN	 32	    /* Ed25519 public key */
#define SN_WF_FPR_LEN	 32	    /* key fingerprint: SHA-256(public key) */
#define SN_WF_SIG_LEN	 64	    /* Ed25519 signature */
#define SN_WF_MAX_PORTS_PER_FLOW                 \
	256 /* a port range compiles to one rule \
	     * per port (sealnetd's rules) */
#define SN_WF_MAX_LOCAL_PORTS	 16
#define SN_WF_MAX_RULES_PER_NODE 16384 /* sealnetd's policy map size */

/* Domain-separation prefixes (with their terminating NUL byte). */
#define SN_WF_DIGEST_PREFIX "sealnet-workflow-v1"
#define SN_WF_SIG_PREFIX    "sealnet-workflow-signature-v1"

/* ---- diagnostics ---------------------------------------------------- */

struct sn_wf_error {
	char path[128]; /* JSON path: "$.stages[2].reference.measurements[0]" */
	char msg[320];	/* what is wrong and what to do */
};

/* Every error found (up to SN_WF_MAX_ERRORS kept; n_total counts all). */
#define SN_WF_MAX_ERRORS 64
struct sn_wf_diag {
	struct sn_wf_error errors[SN_WF_MAX_ERRORS];
	size_t n;	/* kept */
	size_t n_total; /* found */
};

/* ---- the parsed manifest -------------------------------------------- */

struct sn_wf_key {
	char id[SN_WF_NAME_MAX];
	uint8_t pub[SN_WF_PUB_LEN]; /* raw Ed25519 public key */
	uint8_t fpr[SN_WF_FPR_LEN]; /* SHA-256(pub) */
};

struct sn_wf_domain {
	char id[SN_WF_NAME_MAX];
	struct sn_wf_key *keys; /* who may sign for this domain, >= 1 */
	size_t n_keys;
	bool has_kbs;		       /* its key broker (sealnet-kbs) */
	char kbs_url[SN_WF_TEXT_MAX];  /* https://host[:port][/path] */
	uint8_t kbs_anchor_sha256[32]; /* SHA-256 of the broker's trust
					* anchor certificate (DER) */
};

enum sn_wf_tee { SN_WF_TEE_SIM = 1, SN_WF_TEE_SNP, SN_WF_TEE_TDX };
enum sn_wf_engine { SN_WF_ENGINE_TC = 1, SN_WF_ENGINE_SIMD = 2 };
enum sn_wf_proto { SN_WF_TCP = 6, SN_WF_UDP = 17, SN_WF_ICMP = 1 };

struct sn_wf_node {
	char name[SN_WF_NAME_MAX];
	size_t domain; /* index into domains */
	uint32_t id;   /* 1..1023: sealnetd's node id, unique */
	uint32_t addr; /* IPv4, network order, unique */
	enum sn_wf_tee tee;
	enum sn_wf_engine engine;
};

/* Reference values a stage's TEE must show: the appraisal policy of
 * docs/attestation.md, restated.  Lists of 48-byte values. */
struct sn_wf_reference {
	enum sn_wf_tee tee;
	uint8_t (*measurements)[SN_WF_MEAS_LEN];
	size_t n_measurements;
	bool has_min_tcb; /* snp (required), sim (optional) */
	uint8_t min_tcb_bootloader, min_tcb_tee, min_tcb_snp, min_tcb_microcode;
	bool has_min_tcb_fmc;
	uint8_t min_tcb_fmc;
	/* tdx */
	uint8_t min_tee_tcb_svn[16];
	uint8_t (*rtmr[4])[SN_WF_MEAS_LEN];
	size_t n_rtmr[4];
	uint8_t mrconfigid[SN_WF_MEAS_LEN], mrowner[SN_WF_MEAS_LEN],
		mrownerconfig[SN_WF_MEAS_LEN];
	unsigned tdx_tcb_status_mask; /* bit i: sn_wf_tdx_tcb_status[i] */
	/* policy bits (SNP guest policy / TD attributes) */
	bool allow_debug, allow_migration_agent, allow_smt;
	uint8_t vmpl_mask; /* bit v: VMPL v allowed; default VMPL 0 only */
	/* sim */
	uint8_t (*sim_ark_spki_sha256)[32];
	size_t n_sim_ark;
};

/* Intel TCB status names accepted in reference.tdx.accepted_tcb_status */
extern const char *const sn_wf_tdx_tcb_status[];
#define SN_WF_N_TDX_TCB_STATUS 6

struct sn_wf_stage {
	char name[SN_WF_NAME_MAX];
	size_t domain; /* index into domains */
	size_t *nodes; /* indices into nodes, >= 1 */
	size_t n_nodes;
	/* identity of the stage's processes on its nodes: a cgroup v2
	 * directory, or local ports (exactly one of the two) */
	char cgroup[SN_WF_TEXT_MAX]; /* "" when local ports */
	uint16_t local_ports[SN_WF_MAX_LOCAL_PORTS];
	size_t n_local_ports;
	struct sn_wf_reference ref;
};

/* How a node appraises a peer of another domain on a flow
 * (docs/workflow.md "Cross-domain appraisal"). */
enum sn_wf_appraisal {
	SN_WF_APPRAISAL_EVIDENCE = 0, /* raw evidence vs the manifest's
				       * reference values (default) */
	SN_WF_APPRAISAL_TOKEN = 1,    /* the peer domain's token, checked
				       * with its trust bundle */
};

struct sn_wf_flow {
	size_t from, to; /* indices into stages */
	enum sn_wf_appraisal appraisal; /* "appraisal"; default evidence */
	bool has_appraisal;		/* the member is present */
	enum sn_wf_proto proto;
	uint16_t port_first, port_last; /* 0,0: any (icmp: always 0,0) */
	uint64_t rate_kbps; /* 0: none (carried; not enforced yet) */
	uint64_t max_bytes; /* 0: none (carried; not enforced yet) */
};

struct sn_workflow {
	char name[SN_WF_NAME_MAX];
	uint64_t version; /* the workflow's own version, >= 1 */
	uint32_t rekey_interval_s;
	uint32_t session_lifetime_s;
	struct sn_wf_domain *domains;
	size_t n_domains;
	struct sn_wf_node *nodes;
	size_t n_nodes;
	struct sn_wf_stage *stages;
	size_t n_stages;
	struct sn_wf_flow *flows;
	size_t n_flows;
	uint8_t digest[SN_WF_DIGEST_LEN]; /* sn_workflow_digest of the input */
};

/*
 * Parse and validate json[0..len): syntax, the canonical-form rules
 * (integers only, printable ASCII strings, no duplicate members), the
 * schema (unknown members are errors) and the cross checks of `sealnet
 * workflow lint`.  0 and *out (with digest computed) when there is no
 * error; -EINVAL with every error in *diag otherwise (no partial result);
 * -ENOMEM.  diag may be NULL.
 */
int sn_workflow_parse(const char *json, size_t len, struct sn_workflow **out,
		      struct sn_wf_diag *diag);
/* Read path (at most SN_WF_MAX_BYTES) and parse it; an unreadable file is
 * one error with path "$" naming the file and errno. */
int sn_workflow_load(const char *path, struct sn_workflow **out,
		     struct sn_wf_diag *diag);
void sn_workflow_free(struct sn_workflow *wf);

/*
 * The canonical form of json[0..len) (any valid manifest-syntax JSON:
 * see docs/workflow.md): *out (malloc'd, NUL-terminated, *out_len bytes
 * without the NUL).  -EINVAL (and diag) when the text breaks the
 * canonical-form rules.
 */
int sn_workflow_canonical(const char *json, size_t len, char **out,
			  size_t *out_len, struct sn_wf_diag *diag);
/* digest = SHA-384("sealnet-workflow-v1" NUL || canonical form).  Only
 * the syntax rules are checked here; sn_workflow_parse checks the rest. */
int sn_workflow_digest(const char *json, size_t len,
		       uint8_t digest[SN_WF_DIGEST_LEN],
		       struct sn_wf_diag *diag);

/* Index of the named domain/node/stage, or -ENOENT. */
int sn_workflow_find_domain(const struct sn_workflow *wf, const char *id);
int sn_workflow_find_node(const struct sn_workflow *wf, const char *name);
int sn_workflow_find_stage(const struct sn_workflow *wf, const char *name);

/*
 * How node a appraises node b (indices into nodes) when they are of
 * different domains: SN_WF_APPRAISAL_EVIDENCE when any flow between
 * them (either direction) says evidence (or names no mode), TOKEN when
 * every such flow says token.  -ENOENT: no flow between them; -EINVAL:
 * same domain (the nodes' own kbs.make_accept decides there).
 */
int sn_workflow_pair_appraisal(const struct sn_workflow *wf, size_t a,
			       size_t b);
const char *sn_wf_appraisal_name(enum sn_wf_appraisal a);

/* The appraisal policy (docs/attestation.md, compact JSON with sorted
 * keys, "comment": "workflow NAME vVERSION") that stage's reference values
 * give: the one sn_workflow_compile_node gives a peer running the stage,
 * and what sealnet-kbs imports per stage.  *out malloc'd; -EINVAL no such
 * stage. */
int sn_workflow_stage_policy(const struct sn_workflow *wf, size_t stage,
			     char **out);

/* ---- signatures (workflow.sig.json) ---------------------------------- */

struct sn_wf_sig {
	char domain[SN_WF_NAME_MAX];
	uint8_t key_fpr[SN_WF_FPR_LEN];
	uint8_t sig[SN_WF_SIG_LEN];
};

struct sn_wf_sigset {
	uint8_t digest[SN_WF_DIGEST_LEN]; /* the manifest they sign */
	struct sn_wf_sig *sigs;
	size_t n_sigs;
};

/* Strict parse of an envelope (unknown members, duplicate domains, wrong
 * lengths are errors, with their JSON path). */
int sn_wf_sigset_parse(const char *json, size_t len, struct sn_wf_sigset **out,
		       struct sn_wf_diag *diag);
int sn_wf_sigset_load(const char *path, struct sn_wf_sigset **out,
		      struct sn_wf_diag *diag);
/* The envelope as JSON (malloc'd, ends with "\n"); signatures sorted by
 * domain. */
int sn_wf_sigset_dump(const struct sn_wf_sigset *s, char **out);
void sn_wf_sigset_free(struct sn_wf_sigset *s);

/* The bytes signed for domain_id over digest:
 * "sealnet-workflow-signature-v1" NUL || domain_id NUL || digest.
 * *len bytes written to msg (room: 30 + SN_WF_NAME_MAX + 48). */
#define SN_WF_SIG_MSG_MAX \
	(sizeof(SN_WF_SIG_PREFIX) + SN_WF_NAME_MAX + SN_WF_DIGEST_LEN)
int sn_wf_sig_message(const char *domain_id,
		      const uint8_t digest[SN_WF_DIGEST_LEN], uint8_t *msg,
		      size_t *len);

/*
 * Sign wf for domain_id with the Ed25519 private key in key_pem_path
 * (PKCS#8 PEM, as `sealnet workflow keygen` writes).  The key must be one
 * the domain lists (-EKEYREJECTED otherwise).  *sigset (may be NULL: a
 * new envelope is made) is for wf's digest (-ESTALE when it is for
 * another digest) and gets the domain's signature added or replaced.
 * -EINVAL: no such domain; -ENOKEY: no Ed25519 private key readable at
 * key_pem_path; -EPERM: the key file is accessible to group or others.  diag
 * (may be NULL) says which, and what to do.
 */
int sn_workflow_sign(const struct sn_workflow *wf, const char *domain_id,
		     const char *key_pem_path, struct sn_wf_sigset **sigset,
		     struct sn_wf_diag *diag);

enum sn_wf_sig_status {
	SN_WF_SIG_OK = 0,
	SN_WF_SIG_MISSING,	/* the domain has not signed */
	SN_WF_SIG_BAD,		/* a signature is there and does not verify */
	SN_WF_SIG_UNKNOWN_KEY,	/* signed with a key the domain does not list */
	SN_WF_SIG_WRONG_DIGEST, /* the envelope is for another manifest */
};

struct sn_wf_verify_result {
	enum sn_wf_sig_status *domain_status; /* [n_domains] */
	size_t n_domains;
	size_t n_ok, n_missing, n_bad; /* bad: BAD, UNKNOWN_KEY, WRONG_DIGEST */
	size_t n_stray; /* envelope entries for domains wf does not name */
};

/*
 * Check sigset against wf: every domain must have one signature, by a key
 * that domain lists, over wf->digest.  Returns 0 when every domain signed
 * validly; -EBADMSG when some signature is bad (or an entry names an
 * unknown domain, or the envelope is for another digest); -ENOKEY when
 * none is bad but some domain has not signed; -ENOMEM.  res (may be NULL)
 * gets the per-domain detail in every case but -ENOMEM; free with
 * sn_wf_verify_result_free.  diag (may be NULL) gets one entry per
 * problem, naming the domain and what to do.
 */
int sn_workflow_verify_sigs(const struct sn_workflow *wf,
			    const struct sn_wf_sigset *sigset,
			    struct sn_wf_verify_result *res,
			    struct sn_wf_diag *diag);
void sn_wf_verify_result_free(struct sn_wf_verify_result *res);
const char *sn_wf_sig_status_name(enum sn_wf_sig_status s);

/* A new Ed25519 key pair: private key PKCS#8 PEM at priv_path (mode 0600,
 * refused if it exists), public key SubjectPublicKeyInfo PEM at
 * pub_path; pub (may be NULL) gets the raw public key. */
int sn_wf_keygen(const char *priv_path, const char *pub_path,
		 uint8_t pub[SN_WF_PUB_LEN]);

/* ---- compile: one node's sealnetd policy ---------------------------- */

/*
 * The part of node `node`'s sealnetd configuration the manifest decides,
 * as JSON the config loader (sn_config_parse, docs/sealnetd.md) accepts
 * once the node-local members are added:
 *   {"node", "id", "peers": [{name,id,address}], "rules": [...],
 *    "make": {"tee", "rekey_interval_s", "session_lifetime_s"}}
 * and, per peer, the appraisal policy (docs/attestation.md) derived from
 * the reference values of the stages that peer runs.  Peers are the
 * nodes running a stage that has a flow to or from one of this node's
 * stages.  local (may be NULL) is a JSON object of node-local members
 * merged over the result (e.g. "interface", "control_socket", "make":
 * {"sim_platform", "appraisal_policy"}); it may not override peers,
 * rules, node, id or the make members above (-EINVAL, diag).  -E2BIG
 * when the node would get more than SN_WF_MAX_RULES_PER_NODE rules.
 */
struct sn_wf_peer_policy {
	char peer[SN_WF_NAME_MAX];
	char *policy_json; /* compact JSON */
	bool cross_domain; /* the peer is of another domain */
	enum sn_wf_appraisal
		appraisal; /* cross_domain: how it is
			    * appraised (sn_workflow_pair_appraisal) */
};

struct sn_wf_compiled {
	char *config_json; /* pretty JSON, ends with "\n" */
	struct sn_wf_peer_policy *policies;
	size_t n_policies;
	/* SHA-384 over "sealnet-workflow-node-policy-v1" NUL || canonical
	 * form of {"config": ..., "appraisal_policies": {peer: ...}} plus,
	 * when the node has peers of other domains, "peer_appraisal":
	 * {peer: "token"|"evidence"} for those (before local members are
	 * merged) */
	uint8_t policy_digest[SN_WF_DIGEST_LEN];
};

int sn_workflow_compile_node(const struct sn_workflow *wf, const char *node,
			     const char *local_json,
			     struct sn_wf_compiled **out,
			     struct sn_wf_diag *diag);
void sn_wf_compiled_free(struct sn_wf_compiled *c);

/* ---- graph ---------------------------------------------------------- */

/* Graphviz DOT: one cluster per domain, stages as boxes (with their
 * nodes), flows as edges labelled protocol/ports.  *out malloc'd. */
int sn_workflow_graph_dot(const struct sn_workflow *wf, char **out);

/* A commented example manifest (docs/workflow.md's), NUL-terminated. */
extern const char sn_workflow_example[];

#endif
