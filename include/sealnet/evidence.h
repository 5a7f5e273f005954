/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation evidence: the raw evidence a TEE produces (an AMD SEV-SNP
 * report or an Intel TDX quote, the certificates that vouch for its
 * signing key, a runtime measurement log), the normalised claims read
 * from it, the verifiers (authenticity: signature, chain of trust to a
 * pinned vendor root, certificate/report consistency) and the appraisal
 * against a policy.  docs/attestation.md describes the formats and what is
 * and is not checked.
 *
 * All functions return 0 or a negative errno; out-parameters are written
 * only on success.  Nothing here prints: errors go through sn_log().
 */
#ifndef SEALNET_EVIDENCE_H
#define SEALNET_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SN_SNP_REPORT_SIZE 1184
#define SN_SNP_SIGNED_LEN  0x2A0
#define SN_REPORT_DATA_LEN 64
#define SN_MEASUREMENT_LEN 48
#define SN_CHIP_ID_LEN	   64
#define SN_SHA256_LEN	   32
#define SN_SHA384_LEN	   48
#define SN_SHA512_LEN	   64

/* Limits on what the parsers accept. */
#define SN_EVIDENCE_MAX_INPUT (1u << 20)
#define SN_EVIDENCE_MAX_CERTS 16

enum sn_tee {
	SN_TEE_UNKNOWN = 0,
	SN_TEE_SIM, /* SNP report layout, chain to a simulated ARK */
	SN_TEE_SNP,
	SN_TEE_TDX,
};

/* Format the raw evidence was found in (sn_evidence_parse detects it). */
enum sn_evidence_format {
	SN_FMT_UNKNOWN = 0,
	SN_FMT_SNP_RAW,	  /* 1184-byte binary report */
	SN_FMT_SNP_HEX,	  /* the same, as hex text */
	SN_FMT_TSM_JSON,  /* configfs-tsm JSON: outblob/auxblob/provider */
	SN_FMT_TDX_QUOTE, /* TDX DCAP quote v4 */
};

enum sn_amd_product {
	SN_AMD_UNKNOWN = 0,
	SN_AMD_MILAN,
	SN_AMD_GENOA,
	SN_AMD_TURIN,
};

/*
 * SNP TCB_VERSION, decoded.  Milan/Genoa: byte 0 boot loader, 1 TEE,
 * 6 SNP, 7 microcode.  Turin: 0 FMC, 1 boot loader, 2 TEE, 3 SNP,
 * 7 microcode.
 */
struct sn_tcb {
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
	uint8_t fmc; /* Turin only */
	bool has_fmc;
	uint64_t raw;
};

/* SNP guest policy bits (report offset 0x08). */
#define SN_SNP_POLICY_SMT	    (1ull << 16)
#define SN_SNP_POLICY_MIGRATE_MA    (1ull << 18)
#define SN_SNP_POLICY_DEBUG	    (1ull << 19)
#define SN_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
/* TDX TD attributes */
#define SN_TDX_ATTR_DEBUG (1ull << 0)

/* Normalised claims.  Fields that the TEE does not have are zero. */
struct sn_claims {
	enum sn_tee tee;  /* SNP until verification tells sim from snp */
	uint32_t version; /* report or quote version */
	uint8_t measurement[SN_MEASUREMENT_LEN]; /* SNP MEASUREMENT / MRTD */
	uint8_t report_data[SN_REPORT_DATA_LEN];
	uint8_t chip_id[SN_CHIP_ID_LEN];
	uint8_t host_data[32];
	uint32_t guest_svn;
	uint64_t policy; /* SNP guest policy */
	bool debug;
	bool migration_agent;
	bool smt_allowed;
	uint32_t vmpl;
	uint32_t signing_key; /* SNP signer_info[4:2]: 0 VCEK, 1 VLEK, 7 none */
	uint64_t platform_info;
	uint8_t cpuid_fam, cpuid_mod, cpuid_step; /* report v3+ */
	enum sn_amd_product product;
	struct sn_tcb reported_tcb, current_tcb, committed_tcb, launch_tcb;
	/* TDX */
	uint64_t td_attributes;
	uint64_t xfam;
	uint8_t tee_tcb_svn[16];
	uint8_t mrseam[48];
	uint8_t mrsignerseam[48];
	uint64_t seam_attributes;
	uint8_t mrconfigid[48];
	uint8_t mrowner[48];
	uint8_t mrownerconfig[48];
	uint8_t rtmr[4][48];
};

/* A certificate as DER bytes (the header stays free of OpenSSL types). */
struct sn_cert_der {
	uint8_t *der;
	size_t len;
};

/* Raw evidence plus its parsed claims.  Opaque fields are read-only. */
struct sn_evidence {
	enum sn_evidence_format format;
	uint8_t *report; /* SNP report or TDX quote bytes */
	size_t report_len;
	struct sn_cert_der certs[SN_EVIDENCE_MAX_CERTS];
	size_t n_certs;
	uint8_t *mlog; /* serialised runtime measurement log (may be NULL) */
	size_t mlog_len;
	char provider[32]; /* configfs-tsm provider, if any */
	struct sn_claims claims;
};

/* --- parsing ---------------------------------------------------------- */

/* Detect the format (raw SNP, hex SNP, configfs-tsm JSON, TDX quote v4)
 * and parse.  -EINVAL malformed, -ENOTSUP unsupported version, -E2BIG
 * oversized. */
int sn_evidence_parse(const uint8_t *buf, size_t len, struct sn_evidence **out);
int sn_evidence_load(const char *path, struct sn_evidence **out);
void sn_evidence_free(struct sn_evidence *ev);

/* The process-wide caches of parsed certificates and of certificate
 * signatures that verified (keyed by SHA-256 of the DER; successes only;
 * times, roots and policy are never cached).  Counters since the last
 * flush; flush empties both (tests, and after a trust-anchor change). */
struct sn_evidence_cache_stats {
	uint64_t parse_hits, parse_misses;
	uint64_t sig_hits, sig_misses;
};
void sn_evidence_cache_stats(struct sn_evidence_cache_stats *out);
void sn_evidence_cache_flush(void);

/* Individual parsers (used by sn_evidence_parse and the fuzzers).  They
 * fill ev->claims / ev->certs; ev must be zeroed by the caller. */
int sn_snp_report_parse(const uint8_t *buf, size_t len, struct sn_claims *out);
int sn_tdx_quote_parse(const uint8_t *buf, size_t len, struct sn_claims *out);
int sn_tsm_json_parse(const char *json, size_t len, struct sn_evidence *ev);
/* GHCB certificate table (configfs-tsm auxblob): adds certs to ev. */
int sn_ghcb_certs_parse(const uint8_t *buf, size_t len, struct sn_evidence *ev);

/* Add certificates from a DER or PEM buffer (one or more). */
int sn_evidence_add_certs(struct sn_evidence *ev, const uint8_t *buf,
			  size_t len);
int sn_evidence_add_cert_file(struct sn_evidence *ev, const char *path);

/*
 * The same JSON already parsed (a jansson object: sealnet-kbs's POST
 * /attest carries it inside its body, docs/kbs-api.md), its members read
 * as sn_evidence_parse reads them.  certs: the certificates given apart
 * (DER; the object has no "auxblob" then), added in their order -- the
 * evidence an auxblob of exactly these entries would give.  0 and *out,
 * -EINVAL malformed.
 */
struct json_t;
int sn_evidence_from_json(const struct json_t *obj,
			  const struct sn_cert_der *certs, size_t n_certs,
			  struct sn_evidence **out);

/* Wire format: configfs-tsm-like JSON {provider,outblob,auxblob,mlog}.
 * *out is malloc'd (NUL-terminated, not counted in *len). */
int sn_evidence_serialize(const struct sn_evidence *ev, uint8_t **out,
			  size_t *len);
/* The inverse is sn_evidence_parse. */

/* --- verification and appraisal --------------------------------------- */

enum sn_reason {
	SN_R_NONE = 0,
	SN_R_MALFORMED,	       /* evidence could not be parsed */
	SN_R_UNSUPPORTED,      /* version / algorithm not supported */
	SN_R_NO_SIGNER_CERT,   /* no VCEK/VLEK/PCK certificate */
	SN_R_SIGNER_KIND,      /* cert kind differs from signer_info */
	SN_R_BAD_SIGNATURE,    /* report / quote signature invalid */
	SN_R_CHAIN_INCOMPLETE, /* ASK/ARK or intermediate missing */
	SN_R_CHAIN_SIGNATURE,  /* a certificate's signature is invalid */
	SN_R_CERT_EXPIRED,
	SN_R_CERT_NOT_YET_VALID,
	SN_R_CERT_MALFORMED,
	SN_R_ROOT_NOT_TRUSTED, /* root key not pinned nor allowed */
	SN_R_TCB_MISMATCH,     /* VCEK TCB != reported_tcb */
	SN_R_CHIP_ID_MISMATCH, /* VCEK hwID != report chip_id */
	SN_R_QE_SIGNATURE,     /* TDX QE report not signed by the PCK */
	SN_R_QE_BINDING,       /* QE report_data != H(att key||auth data) */
	/* appraisal */
	SN_R_BACKEND_NOT_ALLOWED,
	SN_R_MEASUREMENT_NOT_ALLOWED,
	SN_R_TCB_TOO_LOW,
	SN_R_DEBUG,
	SN_R_MIGRATION_AGENT,
	SN_R_SMT,
	SN_R_VMPL,
	SN_R_REPORT_DATA,
	/* TDX collateral and appraisal (issue 9); appended: codes are sent on
	 * the wire */
	SN_R_COLLATERAL_MISSING,   /* no TCB info / QE identity to judge */
	SN_R_COLLATERAL_SIGNATURE, /* collateral signature / signing chain */
	SN_R_COLLATERAL_EXPIRED,   /* outside issueDate..nextUpdate */
	SN_R_COLLATERAL_MISMATCH,  /* FMSPC / PCE-ID / TDX module differ */
	SN_R_CERT_REVOKED,	   /* a certificate is on a CRL */
	SN_R_QE_IDENTITY,	   /* QE report differs from QE identity */
	SN_R_TCB_STATUS,	   /* TCB status not accepted by policy */
	SN_R_RTMR,		   /* an RTMR not in the policy */
	SN_R_TD_CONFIG,		   /* MRCONFIGID/MROWNER/MROWNERCONFIG */
	SN_R_WORKFLOW,		   /* measurement log: another workflow/node */
	/* KBS tokens in MAKE (issue 13); appended */
	SN_R_TOKEN, /* the peer's attestation-result token is refused */
	SN_R_COUNT,
};

/* Short stable name ("bad-signature") and human description. */
const char *sn_reason_name(enum sn_reason r);
const char *sn_reason_str(enum sn_reason r);

#define SN_MAX_REASONS	 24
#define SN_REASON_DETAIL 192

/* Intel TCB status of a TCB level (tcbInfo / QE identity collateral). */
enum sn_tcb_status {
	SN_TCB_NOT_EVALUATED = 0,
	SN_TCB_UP_TO_DATE,
	SN_TCB_SW_HARDENING_NEEDED,
	SN_TCB_CONFIGURATION_NEEDED,
	SN_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	SN_TCB_OUT_OF_DATE,
	SN_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	SN_TCB_REVOKED,
	SN_TCB_NO_MATCH, /* no TCB level matches: "TCB level not supported" */
	SN_TCB_STATUS_COUNT,
};

/* Intel's spelling ("UpToDate", ...; "NoMatchingTcbLevel", "NotEvaluated") */
const char *sn_tcb_status_name(enum sn_tcb_status s);
/* -EINVAL when s is not one of Intel's status names */
int sn_tcb_status_from_name(const char *s, enum sn_tcb_status *out);

/* Result of the TDX collateral evaluation (sn_evidence_verify). */
struct sn_tdx_tcb_result {
	bool evaluated;		     /* collateral was given and usable */
	enum sn_tcb_status platform; /* tcbInfo level of PCK TCB+TEE_TCB_SVN */
	enum sn_tcb_status qe;	     /* QE identity level of the QE ISVSVN */
	char tcb_date[24];	     /* the platform level's tcbDate */
	uint8_t fmspc[6];
};

struct sn_reason_entry {
	enum sn_reason code;
	char detail[SN_REASON_DETAIL];
};

struct sn_appraisal {
	bool accepted;	/* authentic and (if a policy was given) compliant */
	bool authentic; /* signature + chain + consistency all passed */
	size_t n_reasons;
	struct sn_reason_entry reasons[SN_MAX_REASONS];
	struct sn_claims claims; /* claims.tee is SIM or SNP once verified */
	uint8_t root_spki_sha256[SN_SHA256_LEN]; /* the root that anchored it */
	struct sn_tdx_tcb_result tdx_tcb;	 /* TDX with collateral only */
};

/* true when r is among the collected reasons */
bool sn_appraisal_has(const struct sn_appraisal *a, enum sn_reason r);

/*
 * Intel PCS collateral for TDX, verified offline: TCB info (GET
 * /tdx/certification/v4/tcb body), QE identity (GET .../qe/identity body),
 * their issuer chain (the TCB-Info-Issuer-Chain header: Intel SGX TCB
 * Signing + Intel SGX Root CA, PEM), the PCK CRL (issued by the PCK
 * Platform/Processor CA) and the Intel SGX Root CA CRL (DER or PEM).
 * Parsing checks the structure only; signatures, chains, revocation and
 * validity times are checked by sn_evidence_verify() at its time.
 */
struct sn_tdx_collateral;

struct sn_tdx_collateral_src {
	const uint8_t *tcb_info, *qe_identity, *issuer_chain, *pck_crl,
		*root_crl;
	size_t tcb_info_len, qe_identity_len, issuer_chain_len, pck_crl_len,
		root_crl_len;
};

int sn_tdx_collateral_parse(const struct sn_tdx_collateral_src *src,
			    struct sn_tdx_collateral **out);
/*
 * DIR holds tcb_info.json, qe_identity.json, issuer_chain.pem, pck_crl.der
 * and root_crl.der (all required; see docs/attestation.md).
 */
int sn_tdx_collateral_load(const char *dir, struct sn_tdx_collateral **out);
void sn_tdx_collateral_free(struct sn_tdx_collateral *c);

/* Trust options for the authenticity check. */
struct sn_verify_opts {
	time_t at; /* validity time for certificates; 0 = now */
	/* simulated ARKs (SPKI SHA-256) allowed as roots, normally from the
	 * appraisal policy; none by default */
	const uint8_t (*sim_ark_spki)[SN_SHA256_LEN];
	size_t n_sim_ark_spki;
	/* TDX: Intel PCS collateral to evaluate the TCB status with (may be
	 * NULL: then tdx_tcb.evaluated stays false) */
	const struct sn_tdx_collateral *tdx_collateral;
};

/*
 * Authenticity only: signature, chain to a pinned root, TCB / chip id
 * consistency.  Every problem found is collected in out->reasons.
 * Returns 0 when the check ran (see out->accepted), negative errno when
 * it could not (e.g. -ENOMEM).
 */
int sn_evidence_verify(const struct sn_evidence *ev,
		       const struct sn_verify_opts *opts,
		       struct sn_appraisal *out);

/* Appraisal policy (JSON).  See docs/attestation.md. */
struct sn_policy_appraisal;

int sn_policy_appraisal_parse(const char *json, size_t len,
			      struct sn_policy_appraisal **out);
int sn_policy_appraisal_load(const char *path,
			     struct sn_policy_appraisal **out);
/*
 * The default policy denies everything (no backend is allowed); a usable
 * policy must name its backends, measurements and TCB floors.
 */
int sn_policy_appraisal_default(struct sn_policy_appraisal **out);
/* Use collateral c for TDX (takes ownership; replaces the policy's
 * "tdx"."collateral"). */
void sn_policy_appraisal_set_tdx_collateral(struct sn_policy_appraisal *p,
					    struct sn_tdx_collateral *c);
void sn_policy_appraisal_free(struct sn_policy_appraisal *p);

/* Verify (with the policy's simulated ARKs and TDX collateral) then
 * appraise.  at = 0: now.  policy NULL: nothing is accepted.
 * Returns 0 when the appraisal ran; the verdict is out->accepted. */
int sn_appraise(const struct sn_evidence *ev,
		const struct sn_policy_appraisal *policy, time_t at,
		struct sn_appraisal *out);

/* What a verifier expects of evidence bound to a channel, beyond its
 * policy: its own view of the channel, the data-plane logs it allows. */
/* An event a peer's measurement log must hold (sn_appraise_binding). */
struct sn_mlog_require {
	uint32_t type;	  /* enum sn_mlog_type */
	const char *desc; /* NULL: any */
	uint8_t digest[SN_SHA384_LEN];
	const char *what; /* for the reason, e.g. "workflow manifest" */
};

struct sn_appraise_binding {
	/* report_data must equal sn_report_data_binding(channel_binding,
	 * running digest of the attached log) -- reason report-data */
	const uint8_t *channel_binding;
	size_t cb_len;
	/* optional: the attached log's running digest must be one of these
	 * (reason measurement-not-allowed); none: any */
	const uint8_t (*mlog_digests)[SN_SHA384_LEN];
	size_t n_mlog_digests;
	/* optional: events the attached log must hold, each type exactly
	 * once, with this digest (and this desc when desc is not NULL) --
	 * reason workflow-mismatch */
	const struct sn_mlog_require *require;
	size_t n_require;
};

/*
 * Appraise serialized evidence (sn_evidence_serialize format, e.g. MAKE's
 * EVIDENCE) bound to a channel: evidence that does not parse and a
 * measurement log that does not replay are reason malformed; then
 * sn_appraise() with policy and at, then the binding.  Returns 0 when the
 * appraisal ran (the verdict is out->accepted), negative errno when it
 * could not.
 */
int sn_appraise_bound(const uint8_t *buf, size_t len,
		      const struct sn_policy_appraisal *policy, time_t at,
		      const struct sn_appraise_binding *binding,
		      struct sn_appraisal *out);

/* The same for evidence already parsed; ev NULL: evidence that did not
 * parse (the appraisal holds reason malformed). */
int sn_appraise_bound_ev(const struct sn_evidence *ev,
			 const struct sn_policy_appraisal *policy, time_t at,
			 const struct sn_appraise_binding *binding,
			 struct sn_appraisal *out);

/* Claims as a JSON object (malloc'd string). */
int sn_claims_to_json(const struct sn_claims *c, char **out);
/* "sim", "snp", "tdx" (anything else: "unknown").  The names used in the
 * node configuration, appraisal policies, the CLI and logs. */
const char *sn_tee_name(enum sn_tee t);
/* The reverse: 0 and *out, or -EINVAL for a name that is no TEE. */
int sn_tee_from_name(const char *name, enum sn_tee *out);

/* --- backends ------------------------------------------------------------ */

/* sim: create DIR with an ARK -> ASK -> VCEK chain (keys mode 0600). */
int sn_sim_platform_init(const char *dir);
/*
 * sim: produce SNP report v3 evidence signed by DIR's VCEK, carrying the
 * chain in a GHCB cert table.  measurement may be NULL (zeros).
 */
int sn_evidence_produce_sim(const char *platform_dir,
			    const uint8_t report_data[SN_REPORT_DATA_LEN],
			    const uint8_t measurement[SN_MEASUREMENT_LEN],
			    struct sn_evidence **out);
/* SPKI SHA-256 of the simulated ARK in DIR (what a policy must name). */
int sn_sim_ark_spki(const char *platform_dir, uint8_t out[SN_SHA256_LEN]);
/* sim measurement: SHA-384 chain over files (see docs/attestation.md). */
int sn_sim_measure_files(const char *const *paths, size_t n,
			 uint8_t out[SN_MEASUREMENT_LEN]);

/*
 * snp / tdx: real guests through configfs-tsm (root is normally
 * /sys/kernel/config/tsm/report; NULL means that).  -ENODEV when the
 * interface is missing.
 */
int sn_evidence_produce_tsm(enum sn_tee tee, const char *tsm_root,
			    const uint8_t report_data[SN_REPORT_DATA_LEN],
			    struct sn_evidence **out);

struct sn_mlog;
/*
 * What a node sends as its evidence: a report over report_data from the
 * backend (SN_TEE_SIM: platform_dir and measurement; SN_TEE_SNP/TDX:
 * configfs-tsm), with the runtime measurement log attached (mlog may be
 * NULL), serialised (sn_evidence_serialize format; *out malloc'd).
 */
int sn_evidence_produce(enum sn_tee tee, const char *platform_dir,
			const uint8_t report_data[SN_REPORT_DATA_LEN],
			const uint8_t measurement[SN_MEASUREMENT_LEN],
			const struct sn_mlog *mlog, uint8_t **out, size_t *len);

/* The same, not serialised (*out: sn_evidence_free). */
int sn_evidence_produce_ev(enum sn_tee tee, const char *platform_dir,
			   const uint8_t report_data[SN_REPORT_DATA_LEN],
			   const uint8_t measurement[SN_MEASUREMENT_LEN],
			   const struct sn_mlog *mlog,
			   struct sn_evidence **out);

/* Read a configfs-tsm report entry directory (provider, outblob and
 * optional auxblob files) after inblob was written.  Separate so tests can
 * feed recorded outputs. */
int sn_tsm_read_entry(const char *entry_dir, enum sn_tee tee,
		      struct sn_evidence **out);

/* Attach a serialised measurement log to evidence (copied). */
int sn_evidence_set_mlog(struct sn_evidence *ev, const uint8_t *mlog,
			 size_t len);

/* --- runtime measurement log (measured data plane) ------------------- */

/*
 * Each event carries a SHA-384 digest; the log's running digest starts
 * at 48 zero bytes and is extended as
 *     running = SHA-384(running || event digest).
 * Serialised form (little-endian): "SNML" | u32 version = 1 | u32 count |
 * count x { u32 type | u16 desc_len | desc (no NUL) | digest[48] }.
 */
#define SN_MLOG_DESC_MAX   128
#define SN_MLOG_MAX_EVENTS 4096

enum sn_mlog_type {
	SN_MLOG_BPF_OBJECT = 1, /* hash of the BPF object file */
	SN_MLOG_BPF_PROG =
		2, /* hash of a loaded program (kernel's tag/insns) */
	SN_MLOG_CONFIG = 3,
	SN_MLOG_WORKFLOW = 4,	 /* "workflow NAME vN": the manifest digest */
	SN_MLOG_NODE_POLICY = 5, /* "node NAME": its compiled policy digest */
	SN_MLOG_ENGINE = 6,	 /* hash of the SIMD engine's binary */
	SN_MLOG_OTHER = 0xffff,
};

struct sn_mlog_event {
	uint32_t type;
	char desc[SN_MLOG_DESC_MAX]; /* NUL-terminated */
	uint8_t digest[SN_SHA384_LEN];
};

struct sn_mlog {
	struct sn_mlog_event *ev;
	size_t n, cap;
	uint8_t digest[SN_SHA384_LEN]; /* running digest */
};

void sn_mlog_init(struct sn_mlog *m);
void sn_mlog_free(struct sn_mlog *m);
int sn_mlog_extend(struct sn_mlog *m, uint32_t type, const char *desc,
		   const uint8_t digest[SN_SHA384_LEN]);
/* extend with SHA-384(data) */
int sn_mlog_extend_data(struct sn_mlog *m, uint32_t type, const char *desc,
			const void *data, size_t len);
int sn_mlog_serialize(const struct sn_mlog *m, uint8_t **out, size_t *len);
/* Parse and replay (recomputes m->digest).  *out must not be initialised. */
int sn_mlog_parse(const uint8_t *buf, size_t len, struct sn_mlog *out);

/*
 * report_data binding of a session to the TEE evidence:
 *     report_data = SHA-512(channel_binding || mlog_digest)
 * channel_binding: e.g. the TLS exporter / handshake hash of the channel
 * the evidence is sent on; mlog_digest: the log's running digest (48
 * zero bytes when no log).  Returns 0 or -EINVAL/-ENOMEM.
 */
int sn_report_data_binding(const uint8_t *channel_binding, size_t cb_len,
			   const uint8_t mlog_digest[SN_SHA384_LEN],
			   uint8_t out[SN_REPORT_DATA_LEN]);

#endif
