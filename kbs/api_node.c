// SPDX-License-Identifier: Apache-2.0
/*
 * The node-facing endpoints: GET /challenge, POST /attest (appraisal with
 * lib/evidence's sn_appraise_bound, the verifier sealnetd uses; a token
 * on success), GET /resource/<path> (released to a token bearer, sealed to
 * the key bound in its evidence), GET /keys (JWKS).  docs/kbs-api.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "kbs.h"

void kbs_challenge(struct kbs *k, struct evhttp_request *req)
{
	uint8_t ch[SN_KBS_CHALLENGE_LEN], spki[SN_SHA256_LEN];
	char *b64 = NULL, *txt = NULL, id[SN_KBS_NAME_MAX];
	json_t *o;
	int err;

	/* only enrolled nodes may hold challenges, a few each: anyone who
	 * can reach the port could otherwise fill the table for everyone */
	if (kbs_peer_spki(req, spki)) {
		kbs_refuse(k, req, 401, "challenge", NULL, "no-client-cert",
			   NULL,
			   "a challenge is issued only over TLS with an "
			   "enrolled node's client certificate (the key its "
			   "evidence will bind)");
		return;
	}
	err = sn_kbs_node_by_spki(k->st, spki, id);
	if (err) {
		kbs_refuse(
			k, req, err == -ENOENT ? 403 : 503, "challenge", NULL,
			err == -ENOENT ? "not-enrolled" : "internal", NULL,
			err == -ENOENT ?
				"no node is enrolled with this TLS client "
				"key (an admin runs 'sealnet kbs enrol' with "
				"its certificate)" :
				"the node table could not be read "
				"(database error?)");
		return;
	}
	err = sn_kbs_challenge_issue_for(k->ch, kbs_now_ms(), spki, ch);
	if (err == -EDQUOT) {
		kbs_refuse(k, req, 429, "challenge", id, "too-many-challenges",
			   NULL,
			   "node %s already holds %d unused challenges; use "
			   "one (POST /attest) or retry after %d s, when they "
			   "expire",
			   id, k->cfg.max_challenges_per_node,
			   k->cfg.challenge_lifetime);
		return;
	}
	if (err == -EBUSY) {
		kbs_refuse(k, req, 503, "challenge", NULL, "busy", NULL,
			   "%d challenges are outstanding; retry in a few "
			   "seconds",
			   k->cfg.max_challenges);
		return;
	}
	if (!err)
		err = sn_kbs_b64url_encode(ch, sizeof(ch), &b64);
	o = err ? NULL :
		  json_pack("{s:s,s:i}", "challenge", b64, "expires_in",
			    k->cfg.challenge_lifetime);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (txt)
		kbs_reply(req, 200, txt);
	else
		kbs_reply(req, 503,
			  "{\"error\":\"internal\",\"message\":"
			  "\"could not make a challenge\"}");
	json_decref(o);
	free(txt);
	free(b64);
}

/* the appraisal's reasons as a JSON array of {"reason","detail"} */
static char *reasons_json(const struct sn_appraisal *a)
{
	json_t *arr = json_array();
	char *t;

	for (size_t i = 0; arr && i < a->n_reasons; i++)
		json_array_append_new(
			arr, json_pack("{s:s,s:s}", "reason",
				       sn_reason_name(a->reasons[i].code),
				       "detail", a->reasons[i].detail));
	t = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	return t;
}

static void summary(const struct sn_appraisal *a, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < a->n_reasons && off + 1 < cap; i++) {
		int n = snprintf(out + off, cap - off, "%s%s: %s",
				 i ? "; " : "",
				 sn_reason_name(a->reasons[i].code),
				 a->reasons[i].detail);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static void issue(struct kbs *k, struct evhttp_request *req,
		  const struct sn_kbs_node *n,
		  const struct sn_kbs_attest_request *r,
		  const struct sn_appraisal *a, const uint8_t spki[32],
		  const char *manifest, const char *actor, int64_t t0_ms)
{
	struct sn_kbs_claims c = {0};
	struct sn_kbs_token_rec rec = {0};
	uint8_t jti[16];
	char *jti_s = NULL, *tok = NULL, *txt = NULL, detail[256];
	json_t *o = NULL;
	int err;

	snprintf(c.iss, sizeof(c.iss), "sealnet-kbs:%s", k->cfg.domain);
	snprintf(c.sub, sizeof(c.sub), "%s", n->id);
	snprintf(c.domain, sizeof(c.domain), "%s", k->cfg.domain);
	snprintf(c.stage, sizeof(c.stage), "%s", n->stage);
	snprintf(c.manifest, sizeof(c.manifest), "%s", manifest);
	snprintf(c.tee, sizeof(c.tee), "%s", sn_tee_name(a->claims.tee));
	sn_hex_encode(a->claims.measurement, SN_MEASUREMENT_LEN, c.measurement);
	c.tcb = a->claims.reported_tcb;
	memcpy(c.cnf_spki, spki, SN_SHA256_LEN);
	memcpy(c.rek, r->rek, SN_KBS_REK_LEN);
	c.iat = (int64_t)time(NULL);
	c.exp = c.iat + k->cfg.token_lifetime;
	err = RAND_bytes(jti, sizeof(jti)) == 1 ? 0 : -EIO;
	if (!err)
		err = sn_kbs_b64url_encode(jti, sizeof(jti), &jti_s);
	if (!err) {
		snprintf(c.jti, sizeof(c.jti), "%s", jti_s);
		err = sn_kbs_token_sign(kbs_signer(k), &c, &tok);
	}
	if (!err) {
		snprintf(detail, sizeof(detail),
			 "token %s stage %s tee %s measurement %.16s... exp "
			 "%lld",
			 c.jti, c.stage, c.tee, c.measurement,
			 (long long)c.exp);
		snprintf(rec.jti, sizeof(rec.jti), "%s", c.jti);
		snprintf(rec.node, sizeof(rec.node), "%s", c.sub);
		snprintf(rec.stage, sizeof(rec.stage), "%s", c.stage);
		snprintf(rec.measurement, sizeof(rec.measurement), "%s",
			 c.measurement);
		rec.iat = c.iat;
		rec.exp = c.exp;
		o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "token", tok,
			      "jti", c.jti, "expires_at", (json_int_t)c.exp,
			      "stage", c.stage, "manifest", c.manifest, "tee",
			      c.tee, "measurement", c.measurement);
		txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	}
	if (txt) {
		/* answered once the record is committed (fsynced), with the
		 * other tokens of this loop turn (commit.c) */
		kbs_batch_add(k, req, &rec, actor, detail, txt, t0_ms);
		txt = NULL;
	} else
		kbs_refuse(k, req, 503, "attest", n->id, "internal", NULL,
			   "the token could not be issued (out of memory?)");
	json_decref(o);
	free(txt);
	free(tok);
	free(jti_s);
}

void kbs_policy_cache_free(struct kbs *k)
{
	for (size_t i = 0; i < KBS_POLICY_CACHE; i++) {
		free(k->pcache[i].text);
		sn_policy_appraisal_free(k->pcache[i].pol);
		memset(&k->pcache[i], 0, sizeof(k->pcache[i]));
	}
}

/* stage's parsed policy (text: as stored now), from the cache when the
 * text is unchanged; NULL when it does not parse */
static const struct sn_policy_appraisal *
policy_for(struct kbs *k, const char *stage, const char *text)
{
	struct kbs_policy_cache *e = NULL;
	struct sn_policy_appraisal *p = NULL;
	char *t;

	for (size_t i = 0; i < KBS_POLICY_CACHE; i++)
		if (k->pcache[i].text && !strcmp(k->pcache[i].stage, stage)) {
			e = &k->pcache[i];
			break;
		}
	if (e && !strcmp(e->text, text))
		return e->pol;
	if (sn_policy_appraisal_parse(text, strlen(text), &p))
		return NULL;
	t = strdup(text);
	if (!t) {
		sn_policy_appraisal_free(p);
		return NULL;
	}
	if (!e)
		e = &k->pcache[k->pcache_next++ % KBS_POLICY_CACHE];
	free(e->text);
	sn_policy_appraisal_free(e->pol);
	snprintf(e->stage, sizeof(e->stage), "%s", stage);
	e->text = t;
	e->pol = p;
	return p;
}

void kbs_attest(struct kbs *k, struct evhttp_request *req)
{
	struct sn_kbs_attest_request r = {0};
	const struct sn_policy_appraisal *pol = NULL;
	struct sn_appraisal *a = NULL;
	struct sn_evidence *ev = NULL;
	char *unknown = NULL;
	struct sn_kbs_node n;
	struct sn_kbs_manifest man = {0};
	uint8_t spki[SN_SHA256_LEN], cb[SN_KBS_CB_LEN];
	char *body = NULL, *policy = NULL, *rj = NULL, actor[200], sum[600];
	size_t len;
	int64_t t0_ms = (int64_t)kbs_now_ms();
	int err, ch_err;

	if (kbs_peer_spki(req, spki)) {
		kbs_refuse(
			k, req, 401, "attest", NULL, "no-client-cert", NULL,
			"attestation needs the node's TLS client certificate "
			"(the key its evidence binds)");
		return;
	}
	if (kbs_body(k, req, "attest", KBS_ATTEST_BODY_MAX, &body, &len))
		return;
	if (sn_kbs_attest_request_parse(body, len, &r)) {
		kbs_refuse(
			k, req, 400, "attest", NULL, "malformed", NULL,
			"the body must be {\"node\", \"challenge\" (32 bytes "
			"base64url), \"rek\" (32 bytes base64url), "
			"\"evidence\" (base64url, or the evidence's JSON "
			"object), [\"cert_refs\" (1..16 distinct SHA-256, "
			"32 bytes base64url each, with an object without "
			"\"auxblob\")]} and nothing else (docs/kbs-api.md)");
		goto out;
	}
	/* single use: burnt as soon as the body parses, whatever follows
	 * (so a refusal below never leaves it counting against the node's
	 * max_challenges_per_node); its verdict is reported in its place in
	 * the order of the checks */
	ch_err = sn_kbs_challenge_consume(k->ch, kbs_now_ms(), r.challenge);
	err = sn_kbs_node_get(k->st, r.node, &n);
	if (err) {
		kbs_refuse(k, req, err == -ENOENT ? 403 : 503, "attest", r.node,
			   err == -ENOENT ? "not-enrolled" : "internal", NULL,
			   "node %s is not enrolled in this KBS (an admin runs "
			   "'sealnet kbs enrol')",
			   r.node);
		goto out;
	}
	if (n.revoked) {
		kbs_refuse(k, req, 403, "attest", r.node, "node-revoked", NULL,
			   "node %s is revoked", r.node);
		goto out;
	}
	if (sn_memeq_ct(n.spki_sha256, spki, SN_SHA256_LEN)) {
		kbs_refuse(k, req, 403, "attest", r.node, "wrong-tls-key", NULL,
			   "the TLS client certificate is not the key node %s "
			   "was enrolled with",
			   r.node);
		goto out;
	}
	/* with a manifest imported, the node must run its enrolled stage
	 * there: the token's manifest and stage claims say so */
	err = sn_kbs_manifest_get(k->st, &man);
	if (!err)
		err = sn_kbs_manifest_runs(k->st, n.id, n.stage);
	if (err == -ENOENT && man.digest[0]) {
		kbs_refuse(k, req, 403, "attest", r.node, "not-in-manifest",
			   NULL,
			   "the imported manifest %s v%llu does not have node "
			   "%s run stage %s (re-enrol it with the manifest's "
			   "stage, or import the manifest that does)",
			   man.name, (unsigned long long)man.version, r.node,
			   n.stage);
		goto out;
	}
	if (err && err != -ENOENT) {
		kbs_refuse(k, req, 503, "attest", r.node, "internal", NULL,
			   "the manifest could not be read (database error?)");
		goto out;
	}
	err = ch_err;
	if (err) {
		kbs_refuse(k, req, 403, "attest", r.node,
			   err == -EALREADY  ? "challenge-used" :
			   err == -ETIMEDOUT ? "challenge-expired" :
					       "challenge-unknown",
			   NULL,
			   "the challenge %s; get a fresh one from GET "
			   "/challenge",
			   err == -EALREADY  ? "was already used" :
			   err == -ETIMEDOUT ? "has expired" :
					       "was not issued by this KBS "
					       "(or it restarted)");
		goto out;
	}
	err = sn_kbs_reference_get(k->st, n.stage, &policy);
	if (!err && !(pol = policy_for(k, n.stage, policy)))
		err = -EINVAL;
	if (err) {
		kbs_refuse(k, req, 409, "attest", r.node, "no-reference", NULL,
			   "stage %s has no usable reference values (an admin "
			   "runs 'sealnet kbs set-reference %s')",
			   n.stage, n.stage);
		goto out;
	}
	err = sn_kbs_attest_evidence(k->certs, &r, &ev, &unknown);
	if (err == -ENOENT) {
		kbs_refuse(k, req, 409, "attest", r.node,
			   "certificates-unknown", unknown,
			   "this KBS does not hold every certificate cert_refs "
			   "names (reasons: the references it does not "
			   "hold); attest again with the certificate table "
			   "in full (\"auxblob\")");
		goto out;
	}
	if (err && err != -EINVAL)
		goto appraisal_err;
	sn_kbs_channel_binding(r.challenge, spki, r.rek, cb);
	a = calloc(1, sizeof(*a));
	{
		const struct sn_appraise_binding b = {
			.channel_binding = cb,
			.cb_len = sizeof(cb),
		};

		/* evidence that does not parse (-EINVAL, ev NULL): the
		 * appraisal says malformed, as for the string form */
		err = a ? sn_appraise_bound_ev(ev, pol, 0, &b, a) : -ENOMEM;
	}
appraisal_err:
	if (err) {
		kbs_refuse(k, req, 503, "attest", r.node, "internal", NULL,
			   "the appraisal could not run (%s)", strerror(-err));
		goto out;
	}
	if (!a->accepted) {
		rj = reasons_json(a);
		summary(a, sum, sizeof(sum));
		kbs_refuse(k, req, 403, "attest", r.node, "appraisal-failed",
			   rj, "evidence of node %s rejected: %s", r.node, sum);
		goto out;
	}
	{
		char m[2 * SN_MEASUREMENT_LEN + 1];

		sn_hex_encode(a->claims.measurement, SN_MEASUREMENT_LEN, m);
		if (sn_kbs_is_revoked(k->st, "measurement", m) != 0) {
			kbs_refuse(k, req, 403, "attest", r.node,
				   "measurement-revoked", NULL,
				   "measurement %s is revoked", m);
			goto out;
		}
	}
	/* accepted: its certificates verified to a trusted root, so they
	 * may be named by reference from now on */
	for (size_t i = 0; !r.n_cert_refs && i < ev->n_certs; i++)
		sn_kbs_certref_add(k->certs, ev->certs[i].der,
				   ev->certs[i].len);
	kbs_actor(k, req, actor, sizeof(actor));
	issue(k, req, &n, &r, a, spki, man.digest, actor, t0_ms);
out:
	sn_evidence_free(ev);
	free(unknown);
	free(a);
	free(rj);
	free(policy);
	sn_kbs_attest_request_clear(&r);
	free(body);
}

/* "Bearer <token>": 0 and the token, or -EINVAL */
static int bearer(struct evhttp_request *req, const char **tok)
{
	const char *h = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Authorization");

	if (!h || strncmp(h, "Bearer ", 7) || !h[7])
		return -EINVAL;
	*tok = h + 7;
	return 0;
}

void kbs_resource(struct kbs *k, struct evhttp_request *req, const char *path)
{
	struct sn_kbs_resource res = {0};
	struct sn_kbs_claims c;
	uint8_t spki[SN_SHA256_LEN];
	const char *tok;
	char actor[200], *sealed = NULL;
	int err, rv;

	if (sn_kbs_path_check(path)) {
		kbs_refuse(k, req, 400, "resource", NULL, "bad-path", NULL,
			   "resource paths are segments of [A-Za-z0-9._-] "
			   "separated by '/', without '.' or '..'");
		return;
	}
	if (bearer(req, &tok)) {
		kbs_refuse(k, req, 401, "resource", path, "no-token", NULL,
			   "GET /resource needs 'Authorization: Bearer <token "
			   "from POST /attest>'");
		return;
	}
	err = kbs_token_verify(k, tok, time(NULL), &c);
	if (err) {
		kbs_refuse(k, req, 401, "resource", path,
			   err == -EKEYEXPIRED ? "token-expired" :
						 "token-invalid",
			   NULL, "the token %s",
			   err == -EKEYEXPIRED	? "has expired: attest again" :
			   err == -EBADMSG	? "signature does not verify" :
			   err == -EKEYREJECTED ? "was signed by another key" :
			   err == -ETIME	? "is issued in the future" :
						  "is malformed");
		return;
	}
	if (kbs_peer_spki(req, spki) ||
	    sn_memeq_ct(spki, c.cnf_spki, SN_SHA256_LEN)) {
		kbs_refuse(
			k, req, 403, "resource", path, "token-key-mismatch",
			NULL,
			"the token is bound to another TLS key (cnf): present "
			"the client certificate that attested");
		return;
	}
	if (sn_kbs_token_known(k->st, c.jti)) {
		kbs_refuse(k, req, 401, "resource", path, "token-unknown", NULL,
			   "token %s was not issued by this KBS", c.jti);
		return;
	}
	rv = sn_kbs_is_revoked(k->st, "node", c.sub);
	if (!rv)
		rv = sn_kbs_is_revoked(k->st, "measurement", c.measurement);
	if (rv) {
		kbs_refuse(k, req, 403, "resource", path, "revoked", NULL,
			   "node %s or its measurement is revoked", c.sub);
		return;
	}
	err = sn_kbs_resource_get(k->st, path, &res);
	if (err) {
		kbs_refuse(k, req, err == -ENOENT ? 404 : 503, "resource", path,
			   err == -ENOENT ? "no-resource" : "internal", NULL,
			   "no resource %s", path);
		return;
	}
	if (strcmp(res.stage, c.stage)) {
		kbs_refuse(k, req, 403, "resource", path, "wrong-stage", NULL,
			   "resource %s is released to stage %s; the token is "
			   "for stage %s",
			   path, res.stage, c.stage);
		goto out;
	}
	if (res.node[0] && strcmp(res.node, c.sub)) {
		kbs_refuse(k, req, 403, "resource", path, "wrong-node", NULL,
			   "resource %s is released to node %s only", path,
			   res.node);
		goto out;
	}
	err = sn_kbs_seal(c.rek, path, res.data, res.len, &sealed);
	if (err) {
		kbs_refuse(k, req, 503, "resource", path, "internal", NULL,
			   "sealing failed (%s)", strerror(-err));
		goto out;
	}
	kbs_actor(k, req, actor, sizeof(actor));
	{
		char detail[160];
		const struct sn_kbs_audit_in a = {
			.actor = actor,
			.action = "release",
			.subject = path,
			.outcome = "ok",
			.detail = detail,
		};

		snprintf(detail, sizeof(detail), "to node %s token %s", c.sub,
			 c.jti);
		if (sn_kbs_audit_append(k->st, &a)) {
			kbs_reply(req, 503,
				  "{\"error\":\"internal\",\"message\":\"the "
				  "release could not be audited\"}");
			goto out;
		}
	}
	kbs_reply(req, 200, sealed);
	kbs_metrics_released(k);
out:
	free(sealed);
	sn_kbs_resource_clear(&res);
}

/* kbs_keys: rollover.c */
