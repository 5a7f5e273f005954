// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's KBS token (docs/sealnetd.md "KBS: tokens in MAKE",
 * docs/protocol.md §3.1).  With kbs.node_cert/node_key configured:
 *
 *   - a helper process (fork; bounded: killed after SN_KBST_HELPER_S)
 *     attests to the KBS with this node's evidence, bound to the node's
 *     TLS key (the same key pair is MAKE's certificate) and to a resource
 *     key made at start, then fetches the KBS's JWKS (GET /keys), and
 *     writes {"token", "expires_at", "jwks"} or {"error"} to a pipe that
 *     the event loop reads: nothing blocks the loop;
 *   - with kbs.resources, it fetches each (GET /resource/PATH with the
 *     token), opens it with the resource key and writes it, mode 0600, to
 *     STATE_DIR/resources/PATH ('/' written as %2F);
 *   - it runs at start and again when two thirds of the token's lifetime
 *     have passed (on failure after 1, 2, 4 ... 30 s);
 *   - MAKE presents the token (sn_kbst_token) and checks peers' tokens
 *     (sn_kbst_verify) against the cached JWKS: cnf = the peer's TLS key
 *     in this session, sub = the peer's name, neither sub nor the
 *     measurement revoked by the KBS's events; a kid not in the cache
 *     makes a helper fetch only the JWKS (GET /keys: no attestation, no
 *     resources; at most every SN_KBST_REFETCH_S), which replaces the
 *     cache once it parses (every kid its key's thumbprint); the peer's
 *     next MAKE is checked against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnet/make.h"
#include "sealnetd.h"
#include "workflow.h"

#define SN_KBST_HELPER_S  30 /* a helper run at most */
#define SN_KBST_REFETCH_S 5  /* kid misses refetch at most this often */
#define SN_KBST_KEYS	  8
#define SN_KBST_OUT_MAX	  (256u * 1024)

struct sn_kbst {
	struct sealnetd *d;
	struct sn_kbs_client_opts o;
	struct sn_kbs_client_ctx *tls; /* o.ctx: reloaded when a file changes */
	uint8_t rek_priv[32], rek[SN_KBS_REK_LEN];
	char *token;
	int64_t expires_at;
	struct sn_kbs_signer *keys[SN_KBST_KEYS];
	size_t n_keys;
	int accept_cfg; /* make_accept as configured */
	char own_manifest[2 * SN_SHA384_LEN + 1]; /* our token's claim */
	pid_t pid;
	bool keys_only; /* the running helper fetches the JWKS only */
	time_t last_keys;
	int fd;
	struct event *ev_read, *ev_next, *ev_kill;
	struct evbuffer *out;
	unsigned int backoff_s;
	time_t last_run;
	uint64_t tokens, failures;
};

/* --- the helper (child process) ------------------------------------------ */

static int child_evidence(void *arg, const uint8_t rd[SN_REPORT_DATA_LEN],
			  struct sn_evidence **ev)
{
	struct sealnetd *d = arg;
	enum sn_tee t;
	int err = sn_tee_from_name(d->cfg->make.tee, &t);

	if (!err)
		err = sn_evidence_produce_ev(t, d->cfg->make.sim_platform, rd,
					     d->launch_measurement, &d->mlog,
					     ev);
	return err;
}

static void child_write(int fd, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t off = 0, len = s ? strlen(s) : 0;

	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(s);
}

/* resource path -> STATE_DIR/resources/<path with / as %2F> (0600) */
static int child_store(struct sn_kbst *k, const char *path, const uint8_t *b,
		       size_t len, char *why, size_t cap)
{
	char dir[300], name[600], tmp[620];
	size_t o = 0;
	int fd;

	snprintf(dir, sizeof(dir), "%s/resources", k->d->cfg->state_dir);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, cap, "cannot create %s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	o = (size_t)snprintf(name, sizeof(name), "%s/", dir);
	for (const char *c = path; *c && o + 4 < sizeof(name); c++) {
		if (*c == '/') {
			memcpy(name + o, "%2F", 3);
			o += 3;
		} else {
			name[o++] = *c;
		}
	}
	name[o] = '\0';
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 || write(fd, b, len) != (ssize_t)len || fsync(fd) ||
	    close(fd) || rename(tmp, name)) {
		snprintf(why, cap, "cannot write %s: %s", name,
			 strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* GET /resource/<path> with the token, opened with the rek, stored */
static int child_resources(struct sn_kbst *k, const char *token, char *why,
			   size_t cap)
{
	const struct sn_kbs_node_config *c = &k->d->cfg->kbs;

	for (size_t i = 0; i < c->n_resources; i++) {
		struct sn_kbs_response r = {0};
		char target[256];
		uint8_t *pt = NULL;
		size_t n = 0;
		int err;

		snprintf(target, sizeof(target), "/resource/%s",
			 c->resources[i]);
		err = sn_kbs_request(&k->o, "GET", target, token, NULL, 0, &r);
		if (!err && r.status != 200) {
			snprintf(why, cap, "GET %s: HTTP %d: %.160s", target,
				 r.status, r.body ? r.body : "");
			err = -EACCES;
		} else if (err) {
			snprintf(why, cap, "GET %s: no answer", target);
		} else if ((err = sn_kbs_open(k->rek_priv, c->resources[i],
					      r.body, r.len, &pt, &n))) {
			snprintf(why, cap,
				 "GET %s: the answer does not open "
				 "with this node's resource key",
				 target);
		} else {
			err = child_store(k, c->resources[i], pt, n, why, cap);
		}
		if (pt) {
			OPENSSL_cleanse(pt, n);
			free(pt);
		}
		sn_kbs_response_clear(&r);
		if (err)
			return err;
	}
	return 0;
}

/* a peer's token named an unknown kid: GET /keys only */
static void __attribute__((noreturn)) child_keys(struct sn_kbst *k, int fd)
{
	struct sn_kbs_response keys = {0};
	json_t *j;
	char why[80];
	int err = sn_kbs_request(&k->o, "GET", "/keys", NULL, NULL, 0, &keys);

	if (err || keys.status != 200 || !keys.body) {
		snprintf(why, sizeof(why), "GET /keys failed (HTTP %d)",
			 keys.status);
		j = json_pack("{ss}", "error", why);
		err = err ? err : -EPROTO;
	} else {
		j = json_pack("{ss}", "jwks", keys.body);
	}
	if (j)
		child_write(fd, j);
	_exit(err ? 1 : 0);
}

static void __attribute__((noreturn)) child(struct sn_kbst *k, int fd)
{
	struct sn_kbs_attest_result r = {0};
	struct sn_kbs_response keys = {0}, bundles = {0};
	char why[320];
	json_t *j;
	int err;

	if (k->keys_only)
		child_keys(k, fd);
	err = sn_kbs_attest(&k->o, k->d->cfg->node, k->rek, k->d->mlog.digest,
			    child_evidence, k->d, &r, why, sizeof(why));
	if (!err &&
	    (sn_kbs_request(&k->o, "GET", "/keys", NULL, NULL, 0, &keys) ||
	     keys.status != 200)) {
		snprintf(why, sizeof(why), "GET /keys failed (HTTP %d)",
			 keys.status);
		err = -EPROTO;
	}
	/* running a manifest: the peer domains' trust bundles this KBS
	 * holds (fed_peers.c verifies each); a KBS without the endpoint
	 * (404) has none */
	if (!err && k->d->wfd &&
	    (sn_kbs_request(&k->o, "GET", "/federation/bundles", NULL, NULL, 0,
			    &bundles) ||
	     (bundles.status != 200 && bundles.status != 404))) {
		snprintf(why, sizeof(why),
			 "GET /federation/bundles failed (HTTP %d)",
			 bundles.status);
		err = -EPROTO;
	}
	if (!err)
		err = child_resources(k, r.token, why, sizeof(why));
	if (err)
		j = json_pack("{ss}", "error", why);
	else
		j = json_pack("{ss sI ss si}", "token", r.token, "expires_at",
			      (json_int_t)r.expires_at, "jwks", keys.body,
			      "resources", (int)k->d->cfg->kbs.n_resources);
	if (j && !err && bundles.status == 200 && bundles.body)
		json_object_set_new(j, "bundles", json_string(bundles.body));
	if (j)
		child_write(fd, j);
	_exit(err ? 1 : 0);
}

/* --- the parent ---------------------------------------------------------- */

static void schedule(struct sn_kbst *k, unsigned int s)
{
	struct timeval tv = {.tv_sec = s};

	event_add(k->ev_next, &tv);
}

static void failed(struct sn_kbst *k, const char *why)
{
	k->failures++;
	sn_warn("kbs: attestation failed: %s; retrying in %u s", why,
		k->backoff_s);
	schedule(k, k->backoff_s);
	k->backoff_s = k->backoff_s >= 16 ? 30 : k->backoff_s * 2;
}

static void reap(struct sn_kbst *k, bool kill_it)
{
	if (k->pid > 0) {
		if (kill_it)
			kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
		k->pid = 0;
	}
	if (k->ev_read)
		event_free(k->ev_read);
	k->ev_read = NULL;
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	event_del(k->ev_kill);
}

static const char *accept_name(int a)
{
	return (const char *[]){"?", "evidence", "token", "token-or-evidence",
				"token-and-evidence"}[a];
}

/* this node's manifest digest (hex), "" when it runs none */
static void wf_digest_hex(const struct sealnetd *d, char out[2 * 48 + 1])
{
	out[0] = '\0';
	if (d->wfd && d->wfd->wf)
		sn_hex_encode(d->wfd->wf->digest, SN_WF_DIGEST_LEN, out);
}

/*
 * A node running a manifest accepts a token alone (token,
 * token-or-evidence) only when tokens bind the manifest: while its own
 * token (from its domain's KBS) has no manifest claim, or another
 * manifest's, MAKE takes token-and-evidence (the evidence's log binds
 * manifest and node policy, docs/protocol.md §3 step 5).
 */
static void adjust_accept(struct sn_kbst *k, bool changed)
{
	struct sn_kbs_node_config *c = &k->d->cfg->kbs;
	char mine[2 * 48 + 1];
	int want = k->accept_cfg;

	wf_digest_hex(k->d, mine);
	if (mine[0] &&
	    (want == SN_MAKE_ACCEPT_TOKEN ||
	     want == SN_MAKE_ACCEPT_TOKEN_OR_EVIDENCE) &&
	    strcmp(k->own_manifest, mine))
		want = SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE;
	if (want == c->make_accept && !(changed && want != k->accept_cfg))
		return;
	if (want == k->accept_cfg)
		sn_info("kbs: tokens carry this node's manifest: MAKE accepts "
			"%s",
			accept_name(want));
	else
		sn_warn("kbs: running a workflow manifest and this node's "
			"token %s: MAKE accepts %s, not %s, until it does "
			"(sealnet kbs import-manifest on the domain's KBS)",
			k->own_manifest[0] ? "is for another manifest" :
					     "has no manifest claim (yet)",
			accept_name(want), accept_name(k->accept_cfg));
	c->make_accept = want;
}

/* our own token's manifest claim (verified with the JWKS just fetched) */
static void own_claims(struct sn_kbst *k, const char *tok)
{
	struct sn_kbs_claims c;
	char was[sizeof(k->own_manifest)];

	memcpy(was, k->own_manifest, sizeof(was));
	k->own_manifest[0] = '\0';
	for (size_t i = 0; i < k->n_keys; i++)
		if (!sn_kbs_token_verify(k->keys[i], tok, strlen(tok),
					 time(NULL), &c)) {
			snprintf(k->own_manifest, sizeof(k->own_manifest), "%s",
				 c.manifest);
			break;
		}
	adjust_accept(k, strcmp(was, k->own_manifest) != 0);
}

/* the JWKS alone (a keys-only helper): replaces the cache when it parses;
 * the token and the renewal schedule stay as they are */
static void apply_keys(struct sn_kbst *k, const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, 0, NULL);
	struct sn_kbs_signer *keys[SN_KBST_KEYS];
	const char *jwks, *err;
	size_t n = 0;

	if (j && !json_unpack(j, "{ss}", "error", &err))
		sn_warn("kbs: refetching the JWKS: %s", err);
	else if (!j || json_unpack(j, "{ss}", "jwks", &jwks) ||
		 sn_kbs_jwks_parse(jwks, strlen(jwks), keys, SN_KBST_KEYS, &n))
		sn_warn("kbs: refetching the JWKS: malformed JWKS from the "
			"KBS; keeping the %zu key(s) held",
			k->n_keys);
	else {
		for (size_t i = 0; i < k->n_keys; i++)
			sn_kbs_signer_free(k->keys[i]);
		memcpy(k->keys, keys, n * sizeof(keys[0]));
		k->n_keys = n;
		if (k->token)
			own_claims(k, k->token);
		sn_info("kbs: JWKS refetched: %zu key(s) (no attestation)", n);
	}
	json_decref(j);
}

static void apply(struct sn_kbst *k, const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, 0, NULL);
	const char *tok, *jwks, *err, *bun;
	struct sn_kbs_signer *keys[SN_KBST_KEYS];
	json_int_t exp;
	size_t n = 0;
	int64_t left;

	if (!j) {
		failed(k, "the helper's answer is not JSON");
		return;
	}
	if (!json_unpack(j, "{ss}", "error", &err)) {
		failed(k, err);
		json_decref(j);
		return;
	}
	if (json_unpack(j, "{ss sI ss}", "token", &tok, "expires_at", &exp,
			"jwks", &jwks) ||
	    sn_kbs_jwks_parse(jwks, strlen(jwks), keys, SN_KBST_KEYS, &n)) {
		failed(k, "malformed token or JWKS from the KBS");
		json_decref(j);
		return;
	}
	for (size_t i = 0; i < k->n_keys; i++)
		sn_kbs_signer_free(k->keys[i]);
	memcpy(k->keys, keys, n * sizeof(keys[0]));
	k->n_keys = n;
	if (k->token) {
		OPENSSL_cleanse(k->token, strlen(k->token));
		free(k->token);
	}
	k->token = strdup(tok);
	k->expires_at = exp;
	if (!json_unpack(j, "{ss}", "bundles", &bun))
		sn_fedn_bundles(k->d, bun, strlen(bun));
	own_claims(k, tok);
	json_decref(j);
	k->tokens++;
	k->backoff_s = 1;
	left = exp - (int64_t)time(NULL);
	sn_info("kbs: token %s (%lld s left), %zu key(s) in the JWKS, %zu "
		"resource(s) fetched into %s/resources",
		k->tokens == 1 ? "received" : "renewed", (long long)left, n,
		k->d->cfg->kbs.n_resources,
		k->d->cfg->state_dir[0] ? k->d->cfg->state_dir : "(none)");
	/* renew when two thirds of its lifetime have passed */
	schedule(k, left > 6 ? (unsigned int)(left * 2 / 3) : 2);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct sn_kbst *k = arg;
	int n = evbuffer_read(k->out, fd, 65536);

	if (n > 0 && evbuffer_get_length(k->out) <= SN_KBST_OUT_MAX)
		return;
	reap(k, n > 0); /* EOF, error, or too much: done */
	if (k->keys_only) {
		k->keys_only = false;
		if (n > 0)
			sn_warn("kbs: refetching the JWKS: the answer is too "
				"long");
		else
			apply_keys(k, (const char *)evbuffer_pullup(k->out, -1),
				   evbuffer_get_length(k->out));
	} else if (n > 0)
		failed(k, "the helper's answer is too long");
	else
		apply(k, (const char *)evbuffer_pullup(k->out, -1),
		      evbuffer_get_length(k->out));
	evbuffer_drain(k->out, evbuffer_get_length(k->out));
}

static void on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct sn_kbst *k = arg;

	reap(k, true);
	evbuffer_drain(k->out, evbuffer_get_length(k->out));
	if (k->keys_only) {
		k->keys_only = false;
		sn_warn("kbs: refetching the JWKS: no answer within 30 s");
		return;
	}
	failed(k, "no answer within 30 s (SN_KBST_HELPER_S)");
}

/* fork the helper: attestation (keys_only false) or the JWKS only */
static void fork_helper(struct sn_kbst *k, bool keys_only)
{
	struct timeval tv = {.tv_sec = SN_KBST_HELPER_S};
	int p[2];
	pid_t pid;

	k->keys_only = keys_only;
	if (pipe2(p, O_CLOEXEC)) {
		k->keys_only = false;
		if (keys_only)
			sn_warn("kbs: refetching the JWKS: pipe failed");
		else
			failed(k, "pipe failed");
		return;
	}
	/* the node's TLS context, kept across runs and loaded again when
	 * the certificate, key or CA file changed; when it cannot be
	 * loaded, the helper loads the files itself and says why */
	k->o.ctx = NULL;
	sn_kbs_client_ctx_refresh(&k->tls, &k->o);
	k->o.ctx = k->tls;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		k->keys_only = false;
		if (keys_only)
			sn_warn("kbs: refetching the JWKS: fork failed");
		else
			failed(k, "fork failed");
		return;
	}
	if (pid == 0) {
		close(p[0]);
		child(k, p[1]);
	}
	close(p[1]);
	k->pid = pid;
	k->fd = p[0];
	evutil_make_socket_nonblocking(k->fd);
	k->ev_read =
		event_new(k->d->base, k->fd, EV_READ | EV_PERSIST, on_read, k);
	if (!k->ev_read || event_add(k->ev_read, NULL)) {
		reap(k, true);
		k->keys_only = false;
		if (!keys_only)
			failed(k, "out of memory");
		return;
	}
	event_add(k->ev_kill, &tv);
}

static void run_helper(evutil_socket_t fd_unused, short what, void *arg)
{
	struct sn_kbst *k = arg;

	if (k->pid > 0) {
		/* one at a time: a JWKS refetch is running, attest after it */
		schedule(k, 1);
		return;
	}
	k->last_run = time(NULL);
	fork_helper(k, false);
}

int sn_kbst_start(struct sealnetd *d)
{
	struct sn_kbs_node_config *c = &d->cfg->kbs;
	struct sn_kbst *k;

	if (!c->enabled || !c->node_cert[0])
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->d = d;
	k->fd = -1;
	k->backoff_s = 1;
	k->o = (struct sn_kbs_client_opts){.server = c->server,
					   .ca = c->ca,
					   .cert = c->node_cert,
					   .key = c->node_key,
					   .timeout_s = 10};
	k->out = evbuffer_new();
	k->ev_next = evtimer_new(d->base, run_helper, k);
	k->ev_kill = evtimer_new(d->base, on_kill, k);
	if (!k->out || !k->ev_next || !k->ev_kill ||
	    sn_kbs_x25519_keygen(k->rek_priv, k->rek)) {
		d->kbst = k;
		sn_kbst_stop(d);
		return -ENOMEM;
	}
	d->kbst = k;
	k->accept_cfg = c->make_accept;
	/* running a manifest: until this node's own token shows that the
	 * domain's KBS binds tokens to it, MAKE takes token-and-evidence
	 * (adjust_accept) */
	adjust_accept(k, false);
	sn_info("kbs: attesting as %s with %s (MAKE accepts %s)", d->cfg->node,
		c->node_cert, accept_name(c->make_accept));
	schedule(k, 0); /* from the loop: sn_make_start sets what it needs */
	return 0;
}

void sn_kbst_stop(struct sealnetd *d)
{
	struct sn_kbst *k = d->kbst;

	if (!k)
		return;
	if (k->ev_kill)
		reap(k, true);
	if (k->ev_next)
		event_free(k->ev_next);
	if (k->ev_kill)
		event_free(k->ev_kill);
	if (k->out)
		evbuffer_free(k->out);
	for (size_t i = 0; i < k->n_keys; i++)
		sn_kbs_signer_free(k->keys[i]);
	if (k->token) {
		OPENSSL_cleanse(k->token, strlen(k->token));
		free(k->token);
	}
	OPENSSL_cleanse(k->rek_priv, sizeof(k->rek_priv));
	sn_kbs_client_ctx_free(k->tls);
	free(k);
	d->kbst = NULL;
}

int sn_kbst_accept(struct sealnetd *d)
{
	return d->kbst ? d->cfg->kbs.make_accept : 0;
}

int sn_kbst_token(void *arg, char **out)
{
	struct sealnetd *d = arg;
	struct sn_kbst *k = d->kbst;

	if (!k || !k->token || k->expires_at <= (int64_t)time(NULL) + 2)
		return -ENOENT;
	*out = strdup(k->token);
	return *out ? 0 : -ENOMEM;
}

static void refuse(struct sn_appraisal *out, const char *why)
{
	out->accepted = false;
	out->reasons[0].code = SN_R_TOKEN;
	snprintf(out->reasons[0].detail, sizeof(out->reasons[0].detail), "%s",
		 why);
	out->n_reasons = 1;
}

int sn_kbst_verify(void *arg, const char *tok, size_t len,
		   const uint8_t spki[SN_SHA256_LEN], uint32_t peer_id,
		   const char *peer_name, enum sn_make_accept accept,
		   struct sn_appraisal *out)
{
	struct sealnetd *d = arg;
	struct sn_kbst *k = d->kbst;
	struct sn_kbs_claims c;
	char why[160];
	enum sn_tee tee;
	int err;

	const char *want = sn_fedn_peer_name(d, peer_id);

	/* a peer of another domain (by the node at its id, not by the name
	 * it gives): its domain's bundle (fed_peers.c) */
	if (want && sn_fedn_cross(d, want))
		return sn_fedn_verify(d, tok, len, spki, peer_id, peer_name,
				      out);
	if (!k)
		return -ENOKEY;
	err = sn_kbs_token_check_peer(k->keys, k->n_keys, tok, len, time(NULL),
				      spki, peer_name, &c, why, sizeof(why));
	if (err == -EKEYREJECTED && !k->pid &&
	    time(NULL) - k->last_keys >= SN_KBST_REFETCH_S) {
		/* a key we do not know (yet; a rollover): refetch the JWKS
		 * only -- anyone can present a token with an unknown kid,
		 * so it must not cost an attestation at the KBS */
		sn_info("kbs: %s's token names a key not in the JWKS: "
			"refetching it",
			peer_name);
		k->last_keys = time(NULL);
		fork_helper(k, true);
	}
	if (err) {
		refuse(out, why);
		return 0;
	}
	if (sn_hex_decode(c.measurement, strlen(c.measurement),
			  out->claims.measurement,
			  SN_MEASUREMENT_LEN) != SN_MEASUREMENT_LEN ||
	    sn_tee_from_name(c.tee, &tee)) {
		refuse(out, "malformed measurement or tee claim");
		return 0;
	}
	out->claims.tee = tee;
	if (d->wfd && d->wfd->wf &&
	    sn_kbs_token_check_manifest(
		    d->wfd->wf, &c, peer_name,
		    /* this session's mode, not the configuration's now:
		     * adjust_accept may have changed it since the session
		     * began, and only a session that takes evidence too
		     * may accept a token without a manifest claim */
		    accept == SN_MAKE_ACCEPT_TOKEN_AND_EVIDENCE, why,
		    sizeof(why))) {
		refuse(out, why);
		return 0;
	}
	if (sn_kbsc_refused(d, peer_name, out->claims.measurement, why,
			    sizeof(why))) {
		refuse(out, why);
		return 0;
	}
	out->accepted = out->authentic = true;
	return 0;
}
