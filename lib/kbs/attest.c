// SPDX-License-Identifier: Apache-2.0
/*
 * The node's side of an attestation (docs/kbs-api.md "Attestation"):
 * GET /challenge, evidence over report_data = SHA-512(cb || mlog digest)
 * with cb binding the challenge, the node's TLS key (the client
 * certificate's SPKI) and its rek, POST /attest, the token; both requests
 * on one kept-alive TLS connection (one handshake), made with the
 * caller's TLS context (o->ctx) when it keeps one.  The evidence goes
 * as a JSON object with its certificates by reference (their SHA-256);
 * a KBS that does not hold them answers 409 certificates-unknown and the
 * attestation runs once more, from a new challenge, with them in full.
 * Blocking (each
 * request bounded by the options' timeout); sealnetd
 * runs it in a helper process (daemon/kbs_token.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"

static void answer_error(const struct sn_kbs_response *r, const char *what,
			 char *why, size_t cap)
{
	json_t *o = json_loadb(r->body, r->len, 0, NULL);
	const char *code = json_string_value(json_object_get(o, "error"));
	const char *msg = json_string_value(json_object_get(o, "message"));

	snprintf(why, cap, "%s refused (HTTP %d): %s: %s", what, r->status,
		 code ? code : "?", msg ? msg : "");
	json_decref(o);
}

static int set_b64(json_t *o, const char *key, const uint8_t *b, size_t n)
{
	char *s = NULL;
	int err = sn_kbs_b64url_encode(b, n, &s);

	if (!err && json_object_set_new(o, key, json_string(s)))
		err = -ENOMEM;
	free(s);
	return err;
}

/* the evidence object: in full, the serialized evidence's own JSON (its
 * auxblob the certificate table); by reference, the same without it and
 * the certificates' SHA-256 in refs */
static int evidence_json(const struct sn_evidence *ev, bool by_ref,
			 json_t **obj, json_t **refs)
{
	json_t *o = NULL, *a = NULL;
	uint8_t *txt = NULL;
	size_t len;
	int err;

	by_ref = by_ref && ev->n_certs && ev->claims.tee != SN_TEE_TDX &&
		 strcmp(ev->provider, "tdx_guest");
	if (!by_ref) {
		err = sn_evidence_serialize(ev, &txt, &len);
		if (!err) {
			o = json_loadb((const char *)txt, len, 0, NULL);
			err = o ? 0 : -ENOMEM;
		}
		free(txt);
		if (err)
			return err;
		*obj = o;
		*refs = NULL;
		return 0;
	}
	err = -ENOMEM;
	o = json_object();
	a = json_array();
	if (!o || !a || !ev->report ||
	    json_object_set_new(
		    o, "provider",
		    json_string(ev->provider[0] ? ev->provider : "sev_guest")))
		goto fail;
	err = set_b64(o, "outblob", ev->report, ev->report_len);
	if (!err && ev->mlog)
		err = set_b64(o, "mlog", ev->mlog, ev->mlog_len);
	for (size_t i = 0; !err && i < ev->n_certs; i++) {
		uint8_t h[SN_SHA256_LEN];
		char *s = NULL;

		SHA256(ev->certs[i].der, ev->certs[i].len, h);
		err = sn_kbs_b64url_encode(h, sizeof(h), &s);
		if (!err && json_array_append_new(a, json_string(s)))
			err = -ENOMEM;
		free(s);
	}
	if (err)
		goto fail;
	*obj = o;
	*refs = a;
	return 0;
fail:
	json_decref(o);
	json_decref(a);
	return err;
}

int sn_kbs_attest_body(const char *node, const uint8_t ch[SN_KBS_CHALLENGE_LEN],
		       const uint8_t rek[SN_KBS_REK_LEN],
		       const struct sn_evidence *ev, bool by_ref, char **out)
{
	json_t *j = NULL, *evo = NULL, *refs = NULL;
	char *ch_s = NULL, *rek_s = NULL, *body = NULL;
	int err = -ENOMEM;

	if (sn_kbs_b64url_encode(ch, SN_KBS_CHALLENGE_LEN, &ch_s) ||
	    sn_kbs_b64url_encode(rek, SN_KBS_REK_LEN, &rek_s))
		goto out;
	err = evidence_json(ev, by_ref, &evo, &refs);
	if (err)
		goto out;
	err = -ENOMEM;
	j = json_pack("{s:s,s:s,s:s,s:O}", "node", node, "challenge", ch_s,
		      "rek", rek_s, "evidence", evo);
	if (!j || (refs && json_object_set(j, "cert_refs", refs)))
		goto out;
	body = json_dumps(j, JSON_COMPACT);
	if (!body)
		goto out;
	*out = body;
	err = 0;
out:
	json_decref(j);
	json_decref(evo);
	json_decref(refs);
	free(ch_s);
	free(rek_s);
	return err;
}

/* the code of a refusal ("certificates-unknown", ...): strcmp-able */
static bool answer_is(const struct sn_kbs_response *r, const char *code)
{
	json_t *o = json_loadb(r->body, r->len, 0, NULL);
	const char *c = json_string_value(json_object_get(o, "error"));
	bool yes = c && !strcmp(c, code);

	json_decref(o);
	return yes;
}

int sn_kbs_attest(const struct sn_kbs_client_opts *o, const char *node,
		  const uint8_t rek[SN_KBS_REK_LEN],
		  const uint8_t mlog_digest[SN_SHA384_LEN],
		  sn_kbs_evidence_fn evidence, void *arg,
		  struct sn_kbs_attest_result *out, char *why, size_t cap)
{
	uint8_t spki[SN_SHA256_LEN], ch[SN_KBS_CHALLENGE_LEN];
	uint8_t cb[SN_KBS_CB_LEN], rd[SN_REPORT_DATA_LEN];
	static const uint8_t no_log[SN_SHA384_LEN];
	struct sn_kbs_response r = {0};
	struct sn_kbs_conn *conn = NULL;
	struct sn_kbs_client_ctx *own = NULL;
	struct sn_kbs_client_opts oc;
	struct sn_evidence *ev = NULL;
	char *body = NULL;
	const char *tok;
	json_t *j = NULL, *a = NULL;
	json_int_t exp = 0;
	int err;

	/* the TLS context: the caller's, or one for this attestation; the
	 * key bound is the one the handshake proves (the context's
	 * certificate, not the file read again) */
	oc = *o;
	if (!oc.ctx) {
		err = sn_kbs_client_ctx_new(o, &own);
		if (err) {
			snprintf(why, cap,
				 "cannot load the node certificate %s, its "
				 "key or the CA file %s",
				 o->cert ? o->cert : "(none)", o->ca);
			return err;
		}
		oc.ctx = own;
	}
	err = sn_kbs_client_ctx_spki(oc.ctx, spki);
	if (err) {
		snprintf(why, cap,
			 "no node certificate: an attestation binds the "
			 "node's TLS key");
		goto out;
	}
	err = sn_kbs_conn_open(&oc, &conn);
	/* first the certificates by reference; a KBS that does not hold
	 * them (new, restarted, another chip) has them in full next */
	for (int by_ref = 1; by_ref >= 0; by_ref--) {
		if (!err)
			err = sn_kbs_conn_request(conn, "GET", "/challenge",
						  NULL, NULL, 0, &r);
		if (err) {
			snprintf(why, cap, "GET /challenge: no answer from %s",
				 o->server);
			goto out;
		}
		if (r.status != 200) {
			answer_error(&r, "GET /challenge", why, cap);
			err = -EACCES;
			goto out;
		}
		j = json_loadb(r.body, r.len, 0, NULL);
		if (sn_kbs_b64url_decode_fixed(
			    json_string_value(json_object_get(j, "challenge")),
			    ch, sizeof(ch))) {
			snprintf(why, cap, "GET /challenge: malformed answer");
			err = -EPROTO;
			goto out;
		}
		json_decref(j);
		j = NULL;
		sn_kbs_response_clear(&r);
		sn_kbs_channel_binding(ch, spki, rek, cb);
		err = sn_report_data_binding(
			cb, sizeof(cb), mlog_digest ? mlog_digest : no_log, rd);
		if (!err)
			err = evidence(arg, rd, &ev);
		if (err) {
			snprintf(why, cap, "producing evidence failed: %s",
				 strerror(-err));
			goto out;
		}
		err = sn_kbs_attest_body(node, ch, rek, ev, by_ref, &body);
		sn_evidence_free(ev);
		ev = NULL;
		if (err) {
			snprintf(why, cap, "out of memory");
			goto out;
		}
		err = sn_kbs_conn_request(conn, "POST", "/attest", NULL, body,
					  strlen(body), &r);
		free(body);
		body = NULL;
		if (err) {
			snprintf(why, cap, "POST /attest: no answer from %s",
				 o->server);
			goto out;
		}
		if (!(by_ref && r.status == 409 &&
		      answer_is(&r, "certificates-unknown")))
			break;
		sn_kbs_response_clear(&r);
	}
	if (r.status != 200) {
		answer_error(&r, "POST /attest", why, cap);
		err = -EACCES;
		goto out;
	}
	a = json_loadb(r.body, r.len, 0, NULL);
	if (json_unpack(a, "{s:s,s:I}", "token", &tok, "expires_at", &exp) ||
	    !*tok || strlen(tok) > SN_KBS_TOKEN_MAX) {
		snprintf(why, cap, "POST /attest: malformed answer");
		err = -EPROTO;
		goto out;
	}
	out->token = strdup(tok);
	out->expires_at = exp;
	err = out->token ? 0 : -ENOMEM;
out:
	sn_kbs_conn_close(conn);
	sn_kbs_client_ctx_free(own);
	sn_kbs_response_clear(&r);
	sn_evidence_free(ev);
	json_decref(j);
	json_decref(a);
	free(body);
	return err;
}
