// SPDX-License-Identifier: Apache-2.0
/*
 * The admin endpoints under /admin/: reachable only with a client
 * certificate that chains to the configured admin CA (every other caller
 * is refused and audited).  docs/kbs-api.md "Admin API".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "kbs.h"

static json_t *admin_body(struct kbs *k, struct evhttp_request *req,
			  const char *action)
{
	char *body = NULL;
	size_t len;
	json_t *o;

	if (kbs_body(k, req, action, KBS_ADMIN_BODY_MAX, &body, &len))
		return NULL;
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	free(body);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		kbs_refuse(k, req, 400, action, NULL, "malformed", NULL,
			   "the body must be a JSON object (docs/kbs-api.md)");
		return NULL;
	}
	return o;
}

static void ok(struct evhttp_request *req, const char *extra)
{
	kbs_reply(req, 200, extra ? extra : "{\"ok\":true}");
}

static void enrol(struct kbs *k, struct evhttp_request *req, const char *actor)
{
	json_t *o = admin_body(k, req, "enrol");
	struct sn_kbs_node n = {0};
	const char *id, *stage, *spki;
	char detail[160];

	if (!o)
		return;
	if (json_unpack(o, "{s:s,s:s,s:s!}", "node", &id, "stage", &stage,
			"spki_sha256", &spki) ||
	    sn_kbs_name_check(id) || sn_kbs_name_check(stage) ||
	    strlen(spki) != 64 ||
	    sn_hex_decode(spki, 64, n.spki_sha256, SN_SHA256_LEN) != 32) {
		kbs_refuse(k, req, 400, "enrol", NULL, "malformed", NULL,
			   "enrol takes {\"node\", \"stage\" (names of "
			   "[A-Za-z0-9._-]), \"spki_sha256\" (64 hex)}");
		goto out;
	}
	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.stage, sizeof(n.stage), "%s", stage);
	snprintf(detail, sizeof(detail), "stage %s key %s", stage, spki);
	{
		const struct sn_kbs_audit_in a = {actor, "enrol", id, "ok",
						  detail};

		if (sn_kbs_enrol(k->st, &n, &a))
			kbs_reply(req, 503, "{\"error\":\"internal\"}");
		else
			ok(req, NULL);
	}
out:
	json_decref(o);
}

static void reference(struct kbs *k, struct evhttp_request *req,
		      const char *actor)
{
	json_t *o = admin_body(k, req, "set-reference"), *pol;
	struct sn_policy_appraisal *p = NULL;
	const char *stage;
	char *txt = NULL;

	if (!o)
		return;
	if (json_unpack(o, "{s:s,s:o!}", "stage", &stage, "policy", &pol) ||
	    sn_kbs_name_check(stage) || !json_is_object(pol)) {
		kbs_refuse(k, req, 400, "set-reference", NULL, "malformed",
			   NULL,
			   "set-reference takes {\"stage\", \"policy\" (an "
			   "appraisal policy object, docs/attestation.md)}");
		goto out;
	}
	txt = json_dumps(pol, JSON_COMPACT | JSON_SORT_KEYS);
	if (!txt || sn_policy_appraisal_parse(txt, strlen(txt), &p)) {
		kbs_refuse(
			k, req, 400, "set-reference", stage, "bad-policy", NULL,
			"the policy for stage %s is refused by the appraisal "
			"policy parser (see the KBS log; docs/attestation.md)",
			stage);
		goto out;
	}
	{
		const struct sn_kbs_audit_in a = {actor, "set-reference", stage,
						  "ok", txt};

		if (sn_kbs_reference_set(k->st, stage, txt, &a))
			kbs_reply(req, 503, "{\"error\":\"internal\"}");
		else
			ok(req, NULL);
	}
out:
	sn_policy_appraisal_free(p);
	free(txt);
	json_decref(o);
}

static void resource(struct kbs *k, struct evhttp_request *req,
		     const char *actor)
{
	json_t *o = admin_body(k, req, "put-resource");
	const char *path, *stage, *node = "", *data;
	uint8_t *raw = NULL;
	size_t len = 0;
	char detail[200];

	if (!o)
		return;
	if (json_unpack(o, "{s:s,s:s,s?s,s:s!}", "path", &path, "stage", &stage,
			"node", &node, "data", &data) ||
	    sn_kbs_path_check(path) || sn_kbs_name_check(stage) ||
	    (node[0] && sn_kbs_name_check(node)) ||
	    sn_kbs_b64url_decode(data, strlen(data), &raw, &len) ||
	    len > SN_KBS_RESOURCE_MAX) {
		kbs_refuse(
			k, req, 400, "put-resource", NULL, "malformed", NULL,
			"put-resource takes {\"path\", \"stage\", [\"node\"], "
			"\"data\" (base64url, at most %u bytes)}",
			SN_KBS_RESOURCE_MAX);
		goto out;
	}
	snprintf(detail, sizeof(detail), "stage %s node %s, %zu bytes", stage,
		 node[0] ? node : "(any)", len);
	{
		const struct sn_kbs_audit_in a = {actor, "put-resource", path,
						  "ok", detail};

		if (sn_kbs_resource_put(k->st, path, stage, node, raw, len, &a))
			kbs_reply(req, 503, "{\"error\":\"internal\"}");
		else
			ok(req, NULL);
	}
out:
	if (raw) {
		OPENSSL_cleanse(raw, len);
		free(raw);
	}
	json_decref(o);
}

static void revoke(struct kbs *k, struct evhttp_request *req, const char *actor)
{
	json_t *o = admin_body(k, req, "revoke");
	const char *kind, *value, *reason = "";
	char detail[300], ans[64];
	int64_t seq = 0;

	if (!o)
		return;
	if (json_unpack(o, "{s:s,s:s,s?s!}", "kind", &kind, "value", &value,
			"reason", &reason) ||
	    strlen(reason) > 200) {
		kbs_refuse(k, req, 400, "revoke", NULL, "malformed", NULL,
			   "revoke takes {\"kind\": \"node\"|\"measurement\", "
			   "\"value\", [\"reason\"]}");
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s %s: %s", kind, value, reason);
	{
		const struct sn_kbs_audit_in a = {actor, "revoke", value, "ok",
						  detail};
		int err = sn_kbs_revoke(k->st, kind, value, reason, &a, &seq);

		if (err == -EINVAL) {
			kbs_refuse(k, req, 400, "revoke", value, "malformed",
				   NULL,
				   "kind must be \"node\" (a node id) or "
				   "\"measurement\" (96 hex digits)");
			goto out;
		}
		if (err) {
			kbs_reply(req, 503, "{\"error\":\"internal\"}");
			goto out;
		}
	}
	snprintf(ans, sizeof(ans), "{\"ok\":true,\"seq\":%lld}",
		 (long long)seq);
	ok(req, ans);
	kbs_metrics_revoked(k);
	kbs_workers_notify(k);
out:
	json_decref(o);
}

static void import_manifest(struct kbs *k, struct evhttp_request *req,
			    const char *actor)
{
	json_t *o = admin_body(k, req, "import-manifest");
	const char *m, *sg;
	size_t ml, sl;
	struct sn_kbs_manifest r;
	char why[600], *txt = NULL;
	int err;

	if (!o)
		return;
	if (json_unpack(o, "{s:s%,s:s%!}", "manifest", &m, &ml, "signatures",
			&sg, &sl)) {
		kbs_refuse(k, req, 400, "import-manifest", NULL, "malformed",
			   NULL,
			   "import-manifest takes {\"manifest\": the manifest "
			   "file's text, \"signatures\": its signature "
			   "envelope's text}");
		goto out;
	}
	err = sn_kbs_manifest_import(k->st, k->cfg.domain, m, ml, sg, sl,
				     actor, &r, why, sizeof(why));
	if (err) {
		static const struct {
			int err, status;
			const char *code;
		} map[] = {
			{-EINVAL, 400, "bad-manifest"},
			{-ENOKEY, 403, "manifest-unsigned"},
			{-EBADMSG, 403, "bad-signature"},
			{-ENOENT, 409, "wrong-domain"},
			{-ESTALE, 409, "manifest-older"},
		};
		int status = 503;
		const char *code = "internal";

		for (size_t i = 0; i < SN_ARRAY_SIZE(map); i++)
			if (map[i].err == err) {
				status = map[i].status;
				code = map[i].code;
			}
		kbs_refuse(k, req, status, "import-manifest", NULL, code, NULL,
			   "%s", why);
		goto out;
	}
	{
		json_t *a = json_pack("{s:b,s:s,s:s,s:I,s:I}", "ok", 1,
				      "digest", r.digest, "name", r.name,
				      "version", (json_int_t)r.version,
				      "stages", (json_int_t)r.n_stages);

		txt = a ? json_dumps(a, JSON_COMPACT) : NULL;
		json_decref(a);
	}
	if (kbs_manifest_reload(k))
		sn_err("kbs: manifest %s v%llu imported, but reading it back "
		       "failed: peer bundles are checked against the previous "
		       "one until a restart",
		       r.name, (unsigned long long)r.version);
	sn_info("kbs: manifest %s v%llu (%s) imported by %s: %zu stage(s)",
		r.name, (unsigned long long)r.version, r.digest, actor,
		r.n_stages);
	kbs_reply(req, txt ? 200 : 503, txt ? txt : "{\"error\":\"internal\"}");
out:
	free(txt);
	json_decref(o);
}

static void send_text(struct evhttp_request *req, int err, char *txt)
{
	if (err)
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
	else
		kbs_reply(req, 200, txt);
	free(txt);
}

static void audit_verify(struct kbs *k, struct evhttp_request *req)
{
	struct sn_kbs_audit_report r;
	const struct sn_kbs_signer *ks[3];
	struct sn_kbs_signer *keys[3];
	char hex[2 * SN_SHA256_LEN + 1], *txt = NULL;
	json_t *o;

	kbs_keys_audit(k, ks);
	for (int i = 0; i < 3; i++)
		keys[i] = (struct sn_kbs_signer *)ks[i];
	/* the chain, and the head signed by one of the token keys */
	if (sn_kbs_audit_verify_signed(k->st, keys, 3, &r)) {
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
		return;
	}
	sn_hex_encode(r.head, sizeof(r.head), hex);
	o = json_pack("{s:b,s:I,s:I,s:s,s:s}", "ok", r.ok, "rows",
		      (json_int_t)r.rows, "bad_seq", (json_int_t)r.bad_seq,
		      "what", r.what, "head", hex);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	send_text(req, txt ? 0 : -ENOMEM, txt);
}

/* the head and its signature, for an operator to keep outside the KBS */
static void audit_head(struct kbs *k, struct evhttp_request *req)
{
	struct sn_kbs_audit_head h;
	char hex[2 * SN_SHA256_LEN + 1], *sig = NULL, *txt = NULL;
	json_t *o = NULL;
	int err = sn_kbs_audit_head_get(k->st, &h);

	if (!err && h.is_signed)
		err = sn_kbs_b64url_encode(h.sig, sizeof(h.sig), &sig);
	if (!err) {
		sn_hex_encode(h.hash, sizeof(h.hash), hex);
		o = json_pack("{s:I,s:s,s:s,s:s?,s:s?}", "seq",
			      (json_int_t)h.seq, "hash", hex, "alg",
			      SN_KBS_TOKEN_ALG, "kid",
			      h.is_signed ? h.kid : NULL, "sig", sig);
		txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	}
	json_decref(o);
	free(sig);
	send_text(req, txt ? 0 : err ? err : -ENOMEM, txt);
}

void kbs_admin(struct kbs *k, struct evhttp_request *req, const char *what)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	char actor[200], *txt = NULL;
	long after, limit;

	if (!kbs_is_admin(k, req)) {
		kbs_refuse(k, req, 403, "admin", what, "admin-required", NULL,
			   "/admin/%s needs a client certificate signed by the "
			   "admin CA",
			   what);
		return;
	}
	kbs_actor(k, req, actor, sizeof(actor));
	if (kbs_fed_admin(k, req, what, actor))
		return;
	if (m == EVHTTP_REQ_POST && !strcmp(what, "enrol"))
		enrol(k, req, actor);
	else if (m == EVHTTP_REQ_POST && !strcmp(what, "reference"))
		reference(k, req, actor);
	else if (m == EVHTTP_REQ_POST && !strcmp(what, "resource"))
		resource(k, req, actor);
	else if (m == EVHTTP_REQ_POST && !strcmp(what, "manifest"))
		import_manifest(k, req, actor);
	else if (m == EVHTTP_REQ_POST && !strcmp(what, "revoke"))
		revoke(k, req, actor);
	else if (m == EVHTTP_REQ_POST && !strcmp(what, "bundle"))
		kbs_admin_bundle(k, req, actor);
	else if (m == EVHTTP_REQ_GET && !strcmp(what, "list"))
		send_text(req, sn_kbs_list_json(k->st, &txt), txt);
	else if (m == EVHTTP_REQ_GET && !strcmp(what, "audit")) {
		if (kbs_query_int(req, "after", 0, INT64_MAX, 0, &after) ||
		    kbs_query_int(req, "limit", 1, 10000, 1000, &limit)) {
			kbs_refuse(k, req, 400, "audit", NULL, "malformed",
				   NULL, "after must be >= 0, limit 1..10000");
			return;
		}
		send_text(req,
			  sn_kbs_audit_json(k->st, after, (int)limit, &txt),
			  txt);
	} else if (m == EVHTTP_REQ_GET && !strcmp(what, "audit/verify"))
		audit_verify(k, req);
	else if (m == EVHTTP_REQ_GET && !strcmp(what, "audit/head"))
		audit_head(k, req);
	else
		kbs_refuse(k, req, 404, "admin", what, "not-found", NULL,
			   "no admin endpoint %s /admin/%s (docs/kbs-api.md)",
			   m == EVHTTP_REQ_GET ? "GET" : "POST", what);
}
