// SPDX-License-Identifier: Apache-2.0
/*
 * The node's side of an attestation (docs/kbs-api.md "Attestation"):
 * GET /challenge, evidence over report_data = SHA-512(cb || mlog digest)
 * with cb binding the challenge, the node's TLS key (the client
 * certificate's SPKI) and its rek, POST /attest, the token; both requests
 * on one kept-alive TLS connection (one handshake), made with the
 * caller's TLS context (o->ctx) when it keeps one.  Blocking (each
 * request bounded by the options' timeout); sealnetd
 * runs it in a helper process (daemon/kbs_token.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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
	char *ch_s = NULL, *rek_s = NULL, *ev_s = NULL, *body = NULL;
	const char *tok;
	json_t *j = NULL, *a = NULL;
	uint8_t *ev = NULL;
	size_t ev_len = 0;
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
	if (!err)
		err = sn_kbs_conn_request(conn, "GET", "/challenge", NULL, NULL,
					  0, &r);
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
		    json_string_value(json_object_get(j, "challenge")), ch,
		    sizeof(ch))) {
		snprintf(why, cap, "GET /challenge: malformed answer");
		err = -EPROTO;
		goto out;
	}
	sn_kbs_response_clear(&r);
	sn_kbs_channel_binding(ch, spki, rek, cb);
	err = sn_report_data_binding(cb, sizeof(cb),
				     mlog_digest ? mlog_digest : no_log, rd);
	if (!err)
		err = evidence(arg, rd, &ev, &ev_len);
	if (err) {
		snprintf(why, cap, "producing evidence failed: %s",
			 strerror(-err));
		goto out;
	}
	err = -ENOMEM;
	if (sn_kbs_b64url_encode(ch, sizeof(ch), &ch_s) ||
	    sn_kbs_b64url_encode(rek, SN_KBS_REK_LEN, &rek_s) ||
	    sn_kbs_b64url_encode(ev, ev_len, &ev_s))
		goto out;
	json_decref(j);
	j = json_pack("{s:s,s:s,s:s,s:s}", "node", node, "challenge", ch_s,
		      "rek", rek_s, "evidence", ev_s);
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!body)
		goto out;
	err = sn_kbs_conn_request(conn, "POST", "/attest", NULL, body,
				  strlen(body), &r);
	if (err) {
		snprintf(why, cap, "POST /attest: no answer from %s",
			 o->server);
		goto out;
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
	json_decref(j);
	json_decref(a);
	free(ev);
	free(ch_s);
	free(rek_s);
	free(ev_s);
	free(body);
	return err;
}
