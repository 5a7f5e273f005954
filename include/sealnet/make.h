/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MAKE: the Mutually Attested Key Exchange between two sealnetd control
 * planes (docs/protocol.md).  TLS 1.3 with ephemeral self-signed
 * certificates, then mutual attestation whose report_data binds a TLS
 * exporter of this very session, then data-plane keys exported from the
 * same session, per direction and per epoch.
 *
 * Layers (lib/make/): the framed message codec (msg.c), the TLS context
 * (tls.c), the key schedule of exporters (keys.c), the appraisal of the
 * peer's evidence (appraise_peer.c), and the session state machine on
 * libevent's OpenSSL bufferevents (session.c) over its connection
 * (conn.c: sending, closing, timers, lifetime).
 *
 * All functions return 0 or a negative errno; out-parameters are written
 * only on success.  Nothing here prints: errors go through sn_log().  Key
 * material is never logged and is wiped after use.
 */
#ifndef SEALNET_MAKE_H
#define SEALNET_MAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/types.h>

#include "sealnet/evidence.h"

#define SN_MAKE_PORT	    51821
#define SN_MAKE_VERSION	    1
#define SN_MAKE_VERSION_TOKEN 2 /* HELLO with the accept byte (TOKEN) */
#define SN_MAKE_VERSION_WORKFLOW 3 /* v2 + the workflow confirmation */
#define SN_MAKE_CONFIRM_LEN	 32   /* HELLO v3's confirm */
#define SN_MAKE_BIND_LEN	 48   /* the workflow binding W (SHA-384) */
#define SN_MAKE_TOKEN_MAX     8192 /* bytes of a compact JWS in TOKEN */
#define SN_MAKE_HDR_LEN	    4		 /* u32 BE length */
#define SN_MAKE_MAX_MSG	    (256u * 1024) /* type + payload */
#define SN_MAKE_NONCE_LEN   32
#define SN_MAKE_NAME_MAX    63 /* node name, [A-Za-z0-9._-] */
#define SN_MAKE_MAX_REASONS SN_MAX_REASONS
#define SN_MAKE_REASON_MAX  255 /* reason text, printable ASCII */
#define SN_MAKE_ERROR_MAX   256 /* error text, printable ASCII */
#define SN_MAKE_KEY_LEN	    32
#define SN_MAKE_CB_LEN	    32
#define SN_MAKE_ANY_PEER    0u /* node ids are 1.. ; 0 = not known yet */

#define SN_MAKE_LABEL_ATTEST_CLIENT "EXPORTER-sealnet-make-attest-client"
#define SN_MAKE_LABEL_ATTEST_SERVER "EXPORTER-sealnet-make-attest-server"
#define SN_MAKE_LABEL_KEYS	    "EXPORTER-sealnet-make-keys"
#define SN_MAKE_LABEL_CONFIRM_CLIENT "EXPORTER-sealnet-make-confirm-client"
#define SN_MAKE_LABEL_CONFIRM_SERVER "EXPORTER-sealnet-make-confirm-server"
#define SN_MAKE_BIND_PREFIX	     "sealnet-make-workflow-v1"

/* --- message codec ------------------------------------------------------ */

enum sn_make_msg_type {
	SN_MAKE_HELLO = 1,
	SN_MAKE_EVIDENCE = 2,
	SN_MAKE_VERDICT = 3,
	SN_MAKE_KEYS_READY = 4,
	SN_MAKE_REKEY = 5,
	SN_MAKE_ERROR = 6,
	SN_MAKE_TOKEN = 7, /* a KBS attestation-result token (JWS) */
};

/* What a node accepts as the peer's proof (HELLO v2's accept byte,
 * docs/protocol.md §3.1).  A v1 HELLO means SN_MAKE_ACCEPT_EVIDENCE. */
enum sn_make_accept {
	SN_MAKE_ACCEPT_EVIDENCE = 1,	      /* raw evidence only */
	SN_MAKE_ACCEPT_TOKEN = 2,	      /* a token only */
	SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE = 3, /* either (a token if held) */
	SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE = 4, /* both */
};

enum sn_make_role {
	SN_MAKE_CLIENT = 0,
	SN_MAKE_SERVER = 1,
};

/* Codes carried by ERROR. */
enum sn_make_error {
	SN_MAKE_E_PROTOCOL = 1, /* malformed or unexpected message */
	SN_MAKE_E_VERSION = 2,	/* unsupported protocol version */
	SN_MAKE_E_PEER = 3,	/* unexpected peer id / role / name */
	SN_MAKE_E_TIMEOUT = 4,
	SN_MAKE_E_INTERNAL = 5,
	SN_MAKE_E_TOO_BIG = 6,
	SN_MAKE_E_REKEY = 7,	/* wrong epoch */
	SN_MAKE_E_WORKFLOW = 8, /* workflow binding differs (§3.2) */
};

struct sn_make_reason {
	uint16_t code; /* enum sn_reason */
	char text[SN_MAKE_REASON_MAX + 1];
};

/* A decoded message.  evidence.data points into the decoded buffer. */
struct sn_make_msg {
	enum sn_make_msg_type type;
	union {
		struct {
			uint16_t version;
			uint8_t role; /* enum sn_make_role */
			uint32_t node_id;
			char name[SN_MAKE_NAME_MAX + 1];
			uint8_t nonce[SN_MAKE_NONCE_LEN];
			uint8_t accept; /* version 2, 3; enum sn_make_accept */
			/* version 3: Exporter(confirm label of the sender's
			 * role, W, 32) (docs/protocol.md §3.2) */
			uint8_t confirm[SN_MAKE_CONFIRM_LEN];
		} hello;
		struct {
			const char *data; /* not NUL-terminated */
			size_t len;
		} token;
		struct {
			const uint8_t *data;
			size_t len;
		} evidence;
		struct {
			bool accept;
			uint8_t nonce[SN_MAKE_NONCE_LEN];
			size_t n_reasons;
			struct sn_make_reason reasons[SN_MAKE_MAX_REASONS];
		} verdict;
		struct {
			uint16_t epoch;
		} keys_ready, rekey;
		struct {
			uint16_t code;
			char text[SN_MAKE_ERROR_MAX + 1];
		} error;
	};
};

const char *sn_make_msg_type_name(int type);

/*
 * Read a frame header: *body_len = length of type + payload.  -EMSGSIZE
 * when above SN_MAKE_MAX_MSG, -EBADMSG when 0.
 */
int sn_make_msg_peek(const uint8_t hdr[SN_MAKE_HDR_LEN], size_t *body_len);

/*
 * Decode exactly one whole frame (header included): len must equal
 * 4 + the header's length.  -EBADMSG malformed (short, trailing bytes,
 * bad field), -EMSGSIZE oversized, -ENOMSG unknown type.
 */
int sn_make_msg_decode(const uint8_t *buf, size_t len,
		       struct sn_make_msg *out);

/* Encode one frame; *out is malloc'd.  -EINVAL when a field is invalid
 * (the encoder applies the decoder's rules). */
int sn_make_msg_encode(const struct sn_make_msg *m, uint8_t **out,
		       size_t *len);

/* --- TLS ------------------------------------------------------------------ */

/*
 * A TLS 1.3-only context usable for both roles, with a fresh in-memory
 * ECDSA P-256 key and self-signed certificate; peer certificate required
 * but not chain-verified (identity comes from attestation); no session
 * tickets or resumption.
 */
int sn_make_tls_ctx_new(SSL_CTX **out);
/* The same with this node's certificate and key (PEM files): token mode,
 * where the token's cnf names this key. */
int sn_make_tls_ctx_new_with(const char *cert, const char *key,
			     SSL_CTX **out);

/* --- key schedule (keys.c) ------------------------------------------------ */

/* cb = SHA-256(exporter(label for the role, empty context, 32 bytes)).
 * is_client selects the client's label (use the peer's role to check the
 * peer's evidence).  -ENOTCONN before the handshake completed. */
int sn_make_channel_binding(SSL *ssl, bool is_client,
			    uint8_t out[SN_MAKE_CB_LEN]);

/* Data-plane keys of epoch: exporter("EXPORTER-sealnet-make-keys",
 * u16 BE epoch, 64); c2s = first 32, s2c = last 32. */
int sn_make_derive_keys(SSL *ssl, uint16_t epoch, uint8_t c2s[SN_MAKE_KEY_LEN],
			uint8_t s2c[SN_MAKE_KEY_LEN]);

/*
 * The workflow binding of a cross-domain session (docs/protocol.md §3.2):
 * W = SHA-384("sealnet-make-workflow-v1" || 0x00 || manifest digest (48)
 *             || u8 len || client's domain id || u8 len || server's
 *             domain id).  Domain ids: 1..63 bytes.
 */
int sn_make_workflow_binding(const uint8_t manifest_digest[48],
			     const char *client_domain,
			     const char *server_domain,
			     uint8_t out[SN_MAKE_BIND_LEN]);
/* HELLO v3's confirm for role is_client: Exporter(label, W, 32). */
int sn_make_confirm(SSL *ssl, bool is_client, const uint8_t w[SN_MAKE_BIND_LEN],
		    uint8_t out[SN_MAKE_CONFIRM_LEN]);
/* Keys of epoch bound to W (NULL: sn_make_derive_keys): context =
 * u16 BE epoch || W. */
int sn_make_derive_keys_bound(SSL *ssl, uint16_t epoch, const uint8_t *w,
			      uint8_t c2s[SN_MAKE_KEY_LEN],
			      uint8_t s2c[SN_MAKE_KEY_LEN]);

/* --- session --------------------------------------------------------------- */

struct event_base;
struct sn_make_session;

/* Produce this node's serialized evidence (sn_evidence_serialize format)
 * over report_data; *out malloc'd.  0 or negative errno. */
typedef int (*sn_make_evidence_fn)(void *arg,
				   const uint8_t report_data[SN_REPORT_DATA_LEN],
				   uint8_t **out, size_t *len);
/* This node's current measurement-log running digest (the log the
 * evidence provider attaches). */
typedef int (*sn_make_mlog_digest_fn)(void *arg, uint8_t out[SN_SHA384_LEN]);

/* This node's current KBS token (compact JWS), *out malloc'd and
 * NUL-terminated; -ENOENT when it has none (now). */
typedef int (*sn_make_token_fn)(void *arg, char **out);
/* Check the peer's token: tok[0..len) as received, peer_spki_sha256 the
 * SHA-256 of the DER SubjectPublicKeyInfo of the peer's certificate in
 * this TLS session (which proved possession of its key), peer_name and
 * peer_id from its HELLO.  Fill *out (zeroed by the caller): accepted, or
 * reasons (SN_R_TOKEN ...); claims.tee and claims.measurement from the
 * token.  0 when the check ran, negative errno when it could not. */
typedef int (*sn_make_token_verify_fn)(
	void *arg, const char *tok, size_t len,
	const uint8_t peer_spki_sha256[SN_SHA256_LEN], uint32_t peer_id,
	const char *peer_name, enum sn_make_accept accept,
	struct sn_appraisal *out);

struct sn_make_params {
	uint32_t node_id;      /* this node, != 0 */
	const char *node_name; /* [A-Za-z0-9._-]{1,63} */
	uint32_t peer_id;      /* expected peer, or SN_MAKE_ANY_PEER */
	/* appraisal of the peer's evidence (not owned; must outlive the
	 * session) */
	const struct sn_policy_appraisal *policy;
	time_t appraisal_time; /* 0: now (tests set a time) */
	/* optional: allowed running digests of the peer's measurement log;
	 * none = any */
	const uint8_t (*peer_mlog_digests)[SN_SHA384_LEN];
	size_t n_peer_mlog_digests;
	/* optional: events the peer's measurement log must hold (the
	 * workflow manifest, the node's compiled policy: reason
	 * workflow-mismatch); not owned, must outlive the session */
	const struct sn_mlog_require *peer_mlog_require;
	size_t n_peer_mlog_require;
	/* own evidence */
	sn_make_evidence_fn evidence;	   /* required */
	sn_make_mlog_digest_fn mlog_digest; /* NULL: no log, zero digest */
	void *evidence_arg;
	SSL_CTX *tls_ctx; /* shared context (up-ref'd); NULL: a new one */
	/* KBS tokens (docs/protocol.md §3.1).  accept 0 means EVIDENCE; with
	 * accept EVIDENCE and no token getter the session is exactly
	 * version 1. */
	enum sn_make_accept accept;
	sn_make_token_fn token;		      /* NULL: this node has none */
	sn_make_token_verify_fn verify_token; /* required to accept tokens */
	void *token_arg;
	/* optional: the workflow binding W of this pair
	 * (sn_make_workflow_binding, with this session's roles): HELLO v3
	 * carries its confirmation, which must match the peer's, and every
	 * epoch's keys are derived with it (docs/protocol.md §3.2).  NULL:
	 * versions 1/2, unbound keys; a peer sending v3 is refused. */
	const uint8_t *workflow_bind;	   /* SN_MAKE_BIND_LEN bytes, copied */
	unsigned int handshake_timeout_ms; /* 0: 10000 */
	unsigned int rekey_timeout_ms;	   /* 0: the handshake timeout */
};

/*
 * Callbacks (arg is passed to each).  Key pointers are valid only during
 * the call; the library wipes them afterwards.  The callbacks may call
 * sn_make_session_rekey() and sn_make_session_free() on their session.
 */
struct sn_make_callbacks {
	/* optional: the peer's HELLO arrived; nonzero refuses the peer */
	int (*on_hello)(void *arg, uint32_t peer_id, const char *peer_name);
	/* epoch 1 derived: install tx and rx; rx usable at once */
	void (*on_keys)(void *arg, uint32_t peer_id, uint16_t epoch,
			const uint8_t tx[SN_MAKE_KEY_LEN],
			const uint8_t rx[SN_MAKE_KEY_LEN]);
	/* a later epoch derived (NULL: on_keys is called instead) */
	void (*on_rekey)(void *arg, uint32_t peer_id, uint16_t epoch,
			 const uint8_t tx[SN_MAKE_KEY_LEN],
			 const uint8_t rx[SN_MAKE_KEY_LEN]);
	/* optional: the peer receives with epoch's keys: switch tx to it */
	void (*on_ready)(void *arg, uint32_t peer_id, uint16_t epoch);
	/* the session ended without (further) keys; called once, after the
	 * connection was closed.  err: negative errno */
	void (*on_fail)(void *arg, uint32_t peer_id, int err,
			const char *reason);
	void *arg;
};

enum sn_make_state {
	SN_MAKE_ST_TLS = 0,	/* TLS handshake */
	SN_MAKE_ST_ATTEST,	/* HELLO / EVIDENCE / VERDICT */
	SN_MAKE_ST_KEYS,	/* keys derived, waiting for KEYS_READY */
	SN_MAKE_ST_ESTABLISHED, /* keys in use; rekey possible */
	SN_MAKE_ST_CLOSING,	/* failed, flushing the last message */
	SN_MAKE_ST_FAILED,	/* closed */
};

/*
 * Start MAKE on a connected (or connecting) stream socket fd; the session
 * runs in base's loop.  The program must ignore SIGPIPE (a peer may close
 * while we write; OpenSSL writes with plain send()).  The session
 * owns fd on success (made non-blocking, closed by _free).  params is
 * copied (node_name too); policy and tls_ctx must outlive the session.
 */
int sn_make_session_new(struct event_base *base, int fd, bool is_client,
			const struct sn_make_params *params,
			const struct sn_make_callbacks *cbs,
			struct sn_make_session **out);

/* Close and free (NULL is fine); no callback is called afterwards. */
void sn_make_session_free(struct sn_make_session *s);

/* Start a rekey to the next epoch.  -EAGAIN when not established or a
 * rekey is pending, -ERANGE after the last epoch. */
int sn_make_session_rekey(struct sn_make_session *s);

enum sn_make_state sn_make_session_state(const struct sn_make_session *s);
const char *sn_make_state_name(enum sn_make_state st);
/* The peer's id/name from its HELLO (0 / "" before). */
uint32_t sn_make_session_peer_id(const struct sn_make_session *s);
const char *sn_make_session_peer_name(const struct sn_make_session *s);
/* Latest derived epoch (0: none yet). */
uint16_t sn_make_session_epoch(const struct sn_make_session *s);
/* An identifier of this TLS session for logs and status, the same on both
 * ends: the first 4 bytes of the client's HELLO nonce, then the first 4 of
 * the server's.  -EAGAIN before the peer's HELLO arrived. */
int sn_make_session_id(const struct sn_make_session *s, uint8_t out[8]);
/* Our appraisal of the peer's evidence (NULL before it ran). */
const struct sn_appraisal *
sn_make_session_peer_appraisal(const struct sn_make_session *s);
/* The failure reason ("" while not failed). */
const char *sn_make_session_error(const struct sn_make_session *s);

#endif
