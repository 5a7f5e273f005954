/* SPDX-License-Identifier: Apache-2.0 */
/* sealnet-kbs private: configuration, server state, request helpers. */
#ifndef SEALNET_KBS_DAEMON_H
#define SEALNET_KBS_DAEMON_H

#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "sealnet/kbs.h"
#include "sealnet/prom.h"

struct kbs_config {
	char listen_host[128];
	char listen_port[8];
	char tls_cert[512], tls_key[512], admin_ca[512];
	char database[512], token_key[512];
	char domain[SN_KBS_NAME_MAX];
	int token_lifetime;	/* s */
	int challenge_lifetime; /* s */
	int request_timeout;	/* s */
	int max_challenges;
	int max_challenges_per_node; /* outstanding per node key */
	/* audit rows of unauthenticated refusals, per source address */
	int audit_refusal_burst, audit_refusal_rate; /* rows, rows/s */
	int max_waiters; /* pending GET /events */
	char metrics_listen[64]; /* "ADDR:PORT" of /metrics; "" = off */
	int workers; /* event loops (threads) serving the API; 0 = CPUs */
	/* federation (docs/federation.md): the signed workflow manifest
	 * (signatures in its .sig.json), this domain's trust bundle served
	 * at GET /bundle, the directory of peers' accepted bundles; "" =
	 * off */
	char manifest[512], bundle[512], trust_dir[512];
	char token_key_next[512]; /* rollover.c; "" = none */
	int peer_refresh_max; /* s: at most this between bundle fetches */
};

/* Parse the JSON configuration file (docs/kbs-api.md "Configuration").
 * Relative paths are taken from the file's directory. */
int kbs_config_load(const char *path, struct kbs_config *out);

struct kbs_waiter;
struct kbs_workers;
struct kbs_batch;

/* parsed appraisal policies by stage, reused while the stored text is the
 * same (api_node.c): no parse per attestation */
#define KBS_POLICY_CACHE 16
struct kbs_policy_cache {
	char stage[SN_KBS_NAME_MAX];
	char *text;
	struct sn_policy_appraisal *pol;
};

struct kbs {
	struct kbs_config cfg;
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	X509_STORE *admin_store;
	struct sn_kbs_store *st;
	/* the token key as loaded at start; kbs_keys_setup moves it into
	 * kr (NULL after) */
	struct sn_kbs_signer *signer;
	struct sn_kbs_challenges *ch;
	/* certificates of accepted evidence, by SHA-256 (shared, locked) */
	struct sn_kbs_certref *certs;
	LIST_HEAD(, kbs_waiter) waiters;
	int n_waiters;
	struct kbs_metrics *metrics; /* metrics.c */
	/* the imported manifest (manifest.c), shared by every worker: read
	 * it with kbs_manifest() */
	struct kbs_wf_slot *wfs;
	struct kbs_policy_cache pcache[KBS_POLICY_CACHE];
	unsigned int pcache_next;
	/* workers.c: the other workers are copies of this struct with their
	 * own base, evhttp, store connection, policy cache and waiters; they
	 * share ssl, admin_store, signer, ch (locked), metrics (locked), wfs
	 * (locked) */
	struct kbs_workers *wk; /* the first worker's: all of them */
	struct kbs_batch *batch; /* commit.c: tokens awaiting their commit */
	int listen_fd;		/* the first worker's bound socket */
	int notify_fd;		/* eventfd: events committed, or stop */
	struct event *notify_ev;
	struct kbs_fed *fed; /* federation.c: peer domains; NULL: none */
	/* the main worker's: kbs_fed_sync is due (kbs_fed_resync) */
	bool fed_sync;
	/* rollover.c: the token keys (current, next, retiring), shared by
	 * every worker and locked: read them with kbs_signer() etc. */
	struct kbs_keyring *kr;
	struct kbs_alim *alim; /* audit_limit.c, shared (locked) */
};
/* --- audit_limit.c: audit rows of unauthenticated refusals, limited --- */
struct kbs_alim;
/* with k->base (the main loop writes the summary rows) */
int kbs_alim_start(struct kbs *k);
void kbs_alim_stop(struct kbs *k); /* writes the last summary */
/* true: audit this refusal from addr; false: suppressed (counted) */
bool kbs_alim_allow(struct kbs *k, const char *addr);
/* refusal rows suppressed since start */
uint64_t kbs_alim_suppressed(struct kbs *k);

/* --- commit.c: group commit of issued tokens ------------------------- */

int kbs_batch_init(struct kbs *k); /* with k->base */
/* commit what is pending (answers sent), then free */
void kbs_batch_free(struct kbs *k);
/* a signed token for req: recorded with the others of this loop turn,
 * answered (answer, taken over) after the commit; 0 */
int kbs_batch_add(struct kbs *k, struct evhttp_request *req,
		  const struct sn_kbs_token_rec *rec, const char *actor,
		  const char *detail, char *answer, int64_t t0_ms);
/* commit and answer now */
void kbs_batch_flush(struct kbs *k);

/* --- workers.c: cfg.workers event loops on the one listening socket ---- */

/* after kbs_server_start and kbs_metrics_start on k: start the other
 * workers (threads); 0 or negative errno */
int kbs_workers_start(struct kbs *k);
/* stop and free them (k's loop has ended) */
void kbs_workers_stop(struct kbs *k);
/* a revocation was committed (by any worker): every worker answers its
 * waiting GET /events */
void kbs_workers_notify(struct kbs *k);
/* waiting GET /events over all workers (metrics) */
int kbs_workers_waiters(struct kbs *k);

/* --- metrics.c: the Prometheus page on cfg.metrics_listen --------------- */

int kbs_metrics_start(struct kbs *k); /* also with metrics off: counters */
void kbs_metrics_stop(struct kbs *k);
/* a refusal (kbs_refuse), an attestation that got its token (seconds
 * from the request), a resource released, a revocation recorded */
void kbs_metrics_refused(struct kbs *k, const char *action, const char *code);
void kbs_metrics_attested(struct kbs *k, double seconds);
void kbs_metrics_released(struct kbs *k);
void kbs_metrics_revoked(struct kbs *k);
/* a connection was accepted on the API */
void kbs_metrics_connection(struct kbs *k);

/* request limits (evhttp refuses above KBS_HTTP_BODY_MAX by itself) */
#define KBS_HTTP_BODY_MAX   (1u << 20)
#define KBS_HTTP_HEADER_MAX 16384
#define KBS_ATTEST_BODY_MAX (256u * 1024)
#define KBS_ADMIN_BODY_MAX  (512u * 1024)
/* certificates held for POST /attest's cert_refs: a few per chip (VCEK,
 * ASK, ARK; ASK and ARK shared by all chips of a product) */
#define KBS_CERTREF_CAP 1024

/* --- framing.c: requests evhttp would refuse by itself, audited ------ */

/* the path of the internal request that stands for a refused one */
#define KBS_FRAMING_PATH "/!framing"
/* frame what a new connection's TLS bufferevent reads: 0 or -errno */
int kbs_framing_attach(struct kbs *k, struct bufferevent *tls);
/* true: req (on the connection of ssl) stands for a request the framer
 * refused; answered here */
bool kbs_framing_refused(struct kbs *k, struct evhttp_request *req,
			 SSL *ssl, const char *path);

/* --- server.c: helpers for the handlers ---------------------------- */

int kbs_server_start(struct kbs *k);
/* an evhttp on k->base with the KBS's routes and limits (each worker) */
int kbs_http_new(struct kbs *k);
void kbs_server_stop(struct kbs *k);

/* the peer's TLS certificate (NULL when it sent none) */
X509 *kbs_peer_cert(struct evhttp_request *req);
/* SHA-256 of the peer certificate's SPKI: 0 or -ENOENT */
int kbs_peer_spki(struct evhttp_request *req, uint8_t out[SN_SHA256_LEN]);
/* who is asking, for the audit log: "admin:CN", "key:<spki hex>" or
 * "anonymous", with the peer address */
void kbs_actor(struct kbs *k, struct evhttp_request *req, char *out,
	       size_t cap);
/* true when the client certificate chains to the admin CA */
bool kbs_is_admin(struct kbs *k, struct evhttp_request *req);

void kbs_reply(struct evhttp_request *req, int status, const char *json);
/* refuse: audit {actor, action, subject, code, message} and answer
 * {"error": code, "message": message[, "reasons": reasons]} */
void kbs_refuse(struct kbs *k, struct evhttp_request *req, int status,
		const char *action, const char *subject, const char *code,
		const char *reasons_json, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
/* the body, at most max bytes: 0, -E2BIG (refused with 413 already) */
int kbs_body(struct kbs *k, struct evhttp_request *req, const char *action,
	     size_t max, char **out, size_t *len);
/* monotonic ms */
uint64_t kbs_now_ms(void);

/* --- api_node.c / api_admin.c / events.c ---------------------------- */
void kbs_challenge(struct kbs *k, struct evhttp_request *req);
void kbs_attest(struct kbs *k, struct evhttp_request *req);
void kbs_resource(struct kbs *k, struct evhttp_request *req, const char *path);
void kbs_keys(struct kbs *k, struct evhttp_request *req);
void kbs_admin(struct kbs *k, struct evhttp_request *req, const char *what);
void kbs_events(struct kbs *k, struct evhttp_request *req);
/* manifest.c: at start, cfg.manifest imported when nothing is (else it
 * must be the imported one), then the imported one loaded from the
 * database (k->wfs allocated here; shared with the workers) */
int kbs_manifest_setup(struct kbs *k);
/* publish the imported manifest again (after an import, on any worker):
 * 0 or -errno */
int kbs_manifest_reload(struct kbs *k);
/* the imported, verified manifest, or NULL when none is.  Valid until
 * kbs_manifest_free: a copy replaced by an import is kept, not freed, so
 * a worker may use the pointer it got while another worker imports */
const struct sn_workflow *kbs_manifest(struct kbs *k);
void kbs_manifest_free(struct kbs *k); /* at exit, workers stopped */
/* GET /bundle: this domain's trust bundle */
void kbs_bundle(struct kbs *k, struct evhttp_request *req);
/* POST /admin/bundle: import a peer domain's bundle */
void kbs_admin_bundle(struct kbs *k, struct evhttp_request *req,
		      const char *actor);
/* a revocation was committed: answer the waiting GET /events */
void kbs_events_notify(struct kbs *k);
void kbs_events_free(struct kbs *k);
void kbs_policy_cache_free(struct kbs *k);

/* --- federation.c: peer domains' bundles and revocations ------------- */

/* the manifest peers are checked against (NULL: none) */
const struct sn_workflow *kbs_fed_manifest(struct kbs *k);
/* fetch and follow every peer domain of the manifest (after the server
 * started); stop */
int kbs_fed_start(struct kbs *k);
void kbs_fed_stop(struct kbs *k);
/* main thread (k->fed): follow the peers of the manifest now published,
 * stop following the domains it no longer names and those withdrawn,
 * follow re-admitted ones again; kept peers keep their connections */
int kbs_fed_sync(struct kbs *k);
/* from any worker (the manifest, a withdrawal or a re-admission
 * changed): the main thread runs kbs_fed_sync soon (workers.c) */
void kbs_fed_resync(struct kbs *k);
/* what kbs_fed_accept decided */
struct kbs_fed_verdict {
	char code[48]; /* refusal code ("" accepted) */
	char msg[400];
	char domain[SN_KBS_NAME_MAX];
	uint64_t sequence;
	int64_t not_after;
	bool changed;	/* a new bundle was stored */
	bool withdrawn; /* a signed withdrawal (no stage) */
	bool readmitted; /* completed a re-admission */
};
/* A peer bundle (fetched from expect_domain's KBS, or NULL: imported by
 * an admin): verified against the manifest and the stored one, stored
 * with its audit entry (actor, action).  0 accepted; -EINVAL invalid,
 * -EPERM refused (v->code, v->msg; not audited here), -EIO store. */
int kbs_fed_accept(struct kbs *k, const char *expect_domain, const char *text,
		   size_t len, const char *actor, const char *action,
		   struct kbs_fed_verdict *v);
/* withdraw a peer domain: revoke all its nodes here.  -ENOENT not a peer
 * domain of the manifest, -EALREADY withdrawn already */
int kbs_fed_withdraw(struct kbs *k, const char *domain, const char *actor,
		     const char *reason);
/* an admin re-admits a withdrawn domain (docs/federation.md
 * "Re-admission"): -ENOENT not a peer domain, -EALREADY not withdrawn */
int kbs_fed_readmit(struct kbs *k, const char *domain, const char *actor,
		    const char *reason);
/* {"bundles": [the signed bundles of peer domains valid now]} */
#include <jansson.h>
int kbs_fed_bundles(struct kbs *k, json_t **out);
/* GET /federation/bundles */
void kbs_fed_bundles_get(struct kbs *k, struct evhttp_request *req);
/* GET /admin/bundles, POST /admin/withdraw, /admin/readmit (and
 * rollover): true when
 * what is one of them (answered) */
bool kbs_fed_admin(struct kbs *k, struct evhttp_request *req,
		   const char *what, const char *actor);
/* the peer families of the /metrics page */
void kbs_fed_metrics(struct kbs *k, struct sn_prom *p);

/* --- rollover.c: the token keys ------------------------------------ */
int kbs_keys_setup(struct kbs *k); /* after the signer is loaded */
/* the key tokens are signed with now; valid until kbs_keys_free (a key
 * replaced by a rollover is kept, not freed, so a worker may use the
 * pointer while another worker rolls over) */
const struct sn_kbs_signer *kbs_signer(struct kbs *k);
void kbs_keys_free(struct kbs *k); /* at exit, workers stopped */
/* the keys an audit head may be signed with (NULL where none) */
void kbs_keys_audit(struct kbs *k, const struct sn_kbs_signer *out[3]);
/* the audit head's signer (sn_kbs_store_set_head_signer; arg: the
 * worker's struct kbs): the current token key */
const struct sn_kbs_signer *kbs_head_signer(void *arg);
/* the keys the head a commit extends must be signed with
 * (sn_kbs_store_set_head_keys): kbs_keys_audit's */
size_t kbs_head_keys(void *arg, const struct sn_kbs_signer **out, size_t cap);
/* a token signed by the current key, or by the retiring one while its
 * tokens live (sn_kbs_token_verify's errors) */
int kbs_token_verify(struct kbs *k, const char *tok, time_t now,
		     struct sn_kbs_claims *c);
void kbs_admin_rollover(struct kbs *k, struct evhttp_request *req,
			const char *actor);

/* a query parameter as a number in min..max (absent: def): 0 or -EINVAL */
int kbs_query_int(struct evhttp_request *req, const char *name, long min,
		  long max, long def, long *out);

#endif
