// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet kbs <verb>: the KBS's admin client (enrol, set-reference,
 * put-resource, revoke, list, audit [verify], keys, events; bundles,
 * import-bundle, withdraw, rollover in cmd_kbs_fed.c) and the node verbs
 * (attest, fetch; cmd_kbs_node.c).  docs/kbs-api.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "sealnet/util.h"
#include "cmd_kbs.h"
#include "commands.h"
#include "workflow.h"

static const struct sn_cli_opt opts[] = {
	[KO_SERVER] = {"server", 's', "HOST:PORT",
		       "the KBS (IPv6: [ADDR]:PORT)"},
	[KO_CA] =
		{"ca", 0, "FILE",
		 "CA certificate that signed the KBS's TLS\ncertificate (PEM)"},
	[KO_CERT] = {"cert", 0, "FILE",
		     "client certificate: the admin's (signed by the\nadmin "
		     "CA) or the node's TLS certificate"},
	[KO_KEY] = {"key", 0, "FILE", "its private key (PEM)"},
	[KO_STAGE] = {"stage", 0, "NAME",
		      "enrol, put-resource: the workflow stage"},
	[KO_NODE] = {"node", 0, "ID",
		     "put-resource: release to this node only;\nattest: the "
		     "node id"},
	[KO_NODE_CERT] = {"node-cert", 0, "FILE",
			  "enrol: the node's TLS certificate (PEM)"},
	[KO_SPKI] = {"spki", 0, "HEX",
		     "enrol: SHA-256 of the node's TLS SPKI instead"},
	[KO_POLICY] = {"policy", 0, "FILE",
		       "set-reference: appraisal policy "
		       "(JSON,\ndocs/attestation.md)"},
	[KO_FILE] = {"file", 0, "FILE", "put-resource: the secret's content"},
	[KO_REASON] = {"reason", 0, "TEXT",
		       "revoke: why (recorded and sent in the event)"},
	[KO_AFTER] = {"after", 0, "N",
		      "audit, events: from after sequence number N"},
	[KO_LIMIT] = {"limit", 0, "N", "audit: at most N rows (1000)"},
	[KO_DB] = {"db", 0, "FILE",
		   "audit verify: check this database file\ndirectly instead "
		   "of asking the KBS"},
	[KO_WAIT] = {"wait", 0, "S",
		     "events: wait up to S seconds for one (25)"},
	[KO_PLATFORM] = {"platform", 0, "DIR",
			 "attest: sim platform (sealnet sim-tee init)"},
	[KO_MEASUREMENT] = {"measurement", 0, "HEX",
			    "attest: the sim launch measurement (96 hex)"},
	[KO_REK] = {"rek", 0, "FILE",
		    "attest, fetch: the node's X25519 resource key\n(raw 32 "
		    "bytes; created by attest if missing)"},
	[KO_TOKEN] = {"token", 0, "FILE",
		      "fetch: the token; attest: write it there"},
	[KO_OUT] = {"out", 'o', "FILE",
		    "fetch: write the secret there (default stdout)"},
	[KO_COUNT] = {"count", 0, "N",
		      "attest: attest N times, print the rate"},
	[KO_JSON] = {"json", 0, NULL, "print the raw JSON answer"},
	[KO_CHALLENGE] = {"challenge", 0, "B64",
			  "attest: use this challenge instead of a fresh\none "
			  "(negative tests: a replay must be refused)"},
	[KO_BIND_CERT] =
		{"bind-cert", 0, "FILE",
		 "attest: bind the evidence to this certificate's\nkey instead "
		 "of --cert's (negative tests: the KBS\nmust refuse it)"},
	[KO_JWKS] = {"jwks", 0, "FILE",
		     "audit verify --db: also check the head's\nsignature "
		     "with these keys (GET /keys's answer)"},
	[KO_CERT_REFS] = {"cert-refs", 0, "auto|B64,...",
			  "attest: the evidence as a JSON object, its\n"
			  "certificates by reference: auto (their SHA-256),\n"
			  "or these base64url strings as given (negative\n"
			  "tests); no retry in full (docs/kbs-api.md)"},
	{0},
};

static const struct sn_cli_spec spec = {
	.cmd = "sealnet kbs",
	.args = "VERB [ARGS]",
	.about =
		"Talk to sealnet-kbs (docs/kbs-api.md) over TLS 1.3.\n"
		"Admin verbs (--cert/--key: a certificate signed by the admin "
		"CA):\n"
		"  enrol NODE --stage S (--node-cert FILE | --spki HEX)\n"
		"  set-reference STAGE --policy FILE    reference values / "
		"policy\n"
		"  put-resource PATH --stage S [--node ID] --file FILE\n"
		"  revoke node ID | revoke measurement HEX [--reason TEXT]\n"
		"  list                                 nodes, references, "
		"resources,\n"
		"                                       revocations, token "
		"count\n"
		"  audit [--after N] [--limit N]        the audit log\n"
		"  audit verify [--db FILE [--jwks F]]  check the audit hash "
		"chain\n"
		"                                       and the head's "
		"signature\n"
		"  audit head                           the signed head (to "
		"keep\n"
		"                                       outside the KBS)\n"
		"  import-manifest MANIFEST [SIGS]      the signed workflow "
		"manifest:\n"
		"                                       this domain's stages' "
		"reference\n"
		"                                       values and nodes; SIGS "
		"default:\n"
		"                                       MANIFEST with .sig.json\n"
		"  bundles [--json]                     peer domains' trust "
		"bundles:\n"
		"                                       state (fresh, stale, "
		"expired,\n"
		"                                       withdrawn), sequence, "
		"last fetch\n"
		"  import-bundle FILE                   a peer domain's trust "
		"bundle\n"
		"  withdraw DOMAIN [--reason TEXT]      expel a peer domain: "
		"revoke\n"
		"                                       all its nodes here\n"
		"  readmit DOMAIN [--reason TEXT]       let a withdrawn domain "
		"back in\n"
		"                                       with a bundle issued "
		"after\n"
		"                                       its withdrawal "
		"(docs/federation.md)\n"
		"  rollover                             sign tokens with "
		"token_key_next\n"
		"Anyone:\n"
		"  keys                                 the token keys (JWKS)\n"
		"  events [--after N] [--wait S]        revocation events\n"
		"Node verbs (--cert/--key: the node's TLS certificate and "
		"key):\n"
		"  attest --node ID --platform DIR [--measurement HEX] --rek "
		"FILE\n"
		"         [--token FILE] [--count N]    sim evidence -> token\n"
		"  fetch PATH --token FILE --rek FILE [-o FILE]\n"
		"                                       a resource, opened "
		"with the rek\n",
	.opts = opts,
	.after = "Exit status: 0 done, 1 the KBS refused (its error is "
		 "printed) or\n"
		 "the audit chain is broken, 2 bad usage or no answer.\n",
};

int kbs_cli_call(const struct kbs_cli *k, const char *method,
		 const char *target, const char *bearer, const char *body,
		 struct sn_kbs_response *out)
{
	struct sn_kbs_response r = {0};
	json_t *o;

	if (sn_kbs_request(&k->conn, method, target, bearer, body,
			   body ? strlen(body) : 0, &r)) {
		fprintf(stderr,
			"sealnet kbs: no answer from %s for %s %s (see "
			"the message above)\n",
			k->conn.server, method, target);
		return 2;
	}
	if (r.status == 200) {
		*out = r;
		return 0;
	}
	o = json_loadb(r.body, r.len, 0, NULL);
	if (o && json_is_string(json_object_get(o, "error"))) {
		json_t *rs = json_object_get(o, "reasons"), *e;
		size_t i;

		fprintf(stderr,
			"sealnet kbs: %s %s refused (HTTP %d): %s: %s\n",
			method, target, r.status,
			json_string_value(json_object_get(o, "error")),
			json_string_value(json_object_get(o, "message")) ?: "");
		json_array_foreach(rs, i, e) fprintf(
			stderr, "  reason %s: %s\n",
			json_string_value(json_object_get(e, "reason")),
			json_string_value(json_object_get(e, "detail")));
	} else {
		fprintf(stderr, "sealnet kbs: %s %s: HTTP %d: %.200s\n", method,
			target, r.status, r.body);
	}
	json_decref(o);
	sn_kbs_response_clear(&r);
	return 1;
}

/* POST body (object, consumed) to target; print the answer */
static int post(const struct kbs_cli *k, const char *target, json_t *body)
{
	struct sn_kbs_response r;
	char *txt = json_dumps(body, JSON_COMPACT);
	int rc;

	json_decref(body);
	if (!txt)
		return 2;
	rc = kbs_cli_call(k, "POST", target, NULL, txt, &r);
	OPENSSL_cleanse(txt, strlen(txt));
	free(txt);
	if (!rc) {
		printf("%s", r.body);
		sn_kbs_response_clear(&r);
	}
	return rc;
}

static int get_print(const struct kbs_cli *k, const char *target)
{
	struct sn_kbs_response r;
	int rc = kbs_cli_call(k, "GET", target, NULL, NULL, &r);

	if (!rc) {
		printf("%s", r.body);
		sn_kbs_response_clear(&r);
	}
	return rc;
}

static int need(struct sn_cli_args *a, const struct kbs_cli *k, int nargs,
		int o1, int o2)
{
	if (k->n_args != nargs)
		return sn_cli_usage_error(a, "%s takes %d argument%s", k->verb,
					  nargs, nargs == 1 ? "" : "s");
	if (o1 >= 0 && !k->opt[o1])
		return sn_cli_usage_error(a, "%s needs --%s", k->verb,
					  opts[o1].name);
	if (o2 >= 0 && !k->opt[o2])
		return sn_cli_usage_error(a, "%s needs --%s", k->verb,
					  opts[o2].name);
	return 0;
}

static int enrol(struct sn_cli_args *a, const struct kbs_cli *k)
{
	uint8_t h[SN_SHA256_LEN];
	char hex[2 * SN_SHA256_LEN + 1];

	if (need(a, k, 1, KO_STAGE, -1))
		return 2;
	if (!!k->opt[KO_NODE_CERT] == !!k->opt[KO_SPKI])
		return sn_cli_exit(sn_cli_usage_error(
			a, "enrol needs one of --node-cert and --spki"));
	if (k->opt[KO_NODE_CERT]) {
		if (sn_kbs_cert_file_spki(k->opt[KO_NODE_CERT], h))
			return 2;
		sn_hex_encode(h, sizeof(h), hex);
	} else {
		snprintf(hex, sizeof(hex), "%s", k->opt[KO_SPKI]);
	}
	return post(k, "/admin/enrol",
		    json_pack("{s:s,s:s,s:s}", "node", k->args[0], "stage",
			      k->opt[KO_STAGE], "spki_sha256", hex));
}

static int set_reference(struct sn_cli_args *a, const struct kbs_cli *k)
{
	json_error_t je;
	json_t *p;

	if (need(a, k, 1, KO_POLICY, -1))
		return 2;
	p = json_load_file(k->opt[KO_POLICY], JSON_REJECT_DUPLICATES, &je);
	if (!p) {
		fprintf(stderr, "sealnet kbs: policy %s: line %d: %s\n",
			k->opt[KO_POLICY], je.line, je.text);
		return 2;
	}
	return post(k, "/admin/reference",
		    json_pack("{s:s,s:o}", "stage", k->args[0], "policy", p));
}

static int put_resource(struct sn_cli_args *a, const struct kbs_cli *k)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *b64 = NULL;
	int rc;

	if (need(a, k, 1, KO_STAGE, KO_FILE))
		return 2;
	if (sn_read_file(k->opt[KO_FILE], SN_KBS_RESOURCE_MAX, &data, &len)) {
		fprintf(stderr,
			"sealnet kbs: %s: unreadable or above %u bytes\n",
			k->opt[KO_FILE], SN_KBS_RESOURCE_MAX);
		return 2;
	}
	if (sn_kbs_b64url_encode(data, len, &b64)) {
		free(data);
		return 2;
	}
	rc = post(k, "/admin/resource",
		  json_pack("{s:s,s:s,s:s,s:s}", "path", k->args[0], "stage",
			    k->opt[KO_STAGE], "node",
			    k->opt[KO_NODE] ? k->opt[KO_NODE] : "", "data",
			    b64));
	OPENSSL_cleanse(data, len);
	OPENSSL_cleanse(b64, strlen(b64));
	free(data);
	free(b64);
	return rc;
}

static int cmd_revoke(struct sn_cli_args *a, const struct kbs_cli *k)
{
	if (need(a, k, 2, -1, -1))
		return 2;
	if (strcmp(k->args[0], "node") && strcmp(k->args[0], "measurement"))
		return sn_cli_exit(sn_cli_usage_error(
			a, "revoke node ID | revoke measurement HEX"));
	return post(k, "/admin/revoke",
		    json_pack("{s:s,s:s,s:s}", "kind", k->args[0], "value",
			      k->args[1], "reason",
			      k->opt[KO_REASON] ? k->opt[KO_REASON] : ""));
}

/* the manifest and its envelope, as text, to POST /admin/manifest: the
 * KBS checks the signatures itself */
static int import_manifest(struct sn_cli_args *a, const struct kbs_cli *k)
{
	uint8_t *m = NULL, *sg = NULL;
	size_t ml = 0, sl = 0;
	char *sp;
	int rc = 2;

	if (k->n_args != 1 && k->n_args != 2)
		return sn_cli_exit(sn_cli_usage_error(
			a, "import-manifest takes MANIFEST [SIGS]"));
	sp = k->n_args == 2 ? strdup(k->args[1]) :
			      wf_default_sig_path(k->args[0]);
	if (!sp)
		return 2;
	if (sn_read_file(k->args[0], SN_WF_MAX_BYTES, &m, &ml) ||
	    memchr(m, 0, ml)) {
		fprintf(stderr,
			"sealnet kbs import-manifest: manifest %s: unreadable, "
			"above %u bytes or not text\n",
			k->args[0], SN_WF_MAX_BYTES);
		goto out;
	}
	if (sn_read_file(sp, SN_WF_MAX_BYTES, &sg, &sl) || memchr(sg, 0, sl)) {
		fprintf(stderr,
			"sealnet kbs import-manifest: signature file %s: "
			"unreadable or not text; every domain signs with "
			"'sealnet workflow sign' (the KBS refuses an unsigned "
			"manifest)\n",
			sp);
		goto out;
	}
	rc = post(k, "/admin/manifest",
		  json_pack("{s:s%,s:s%}", "manifest", (const char *)m, ml,
			    "signatures", (const char *)sg, sl));
out:
	free(m);
	free(sg);
	free(sp);
	return rc;
}

/* the keys of a JWKS file (GET /keys's answer): 0, or 2 (said why) */
static int load_jwks(const char *path, struct sn_kbs_signer **keys, size_t cap,
		     size_t *n)
{
	uint8_t *txt = NULL;
	size_t len = 0;
	int err = sn_read_file(path, 1u << 20, &txt, &len);

	if (!err)
		err = sn_kbs_jwks_parse((const char *)txt, len, keys, cap, n);
	free(txt);
	if (err) {
		fprintf(stderr,
			"sealnet kbs: --jwks %s: not a readable JWKS of %s "
			"keys (%s); save the KBS's GET /keys answer ('sealnet "
			"kbs keys')\n",
			path, SN_KBS_TOKEN_CRV, strerror(-err));
		return 2;
	}
	return 0;
}

static int verify_db(const char *path, const char *jwks)
{
	struct sn_kbs_store *st;
	struct sn_kbs_audit_report r;
	struct sn_kbs_signer *keys[8] = {0};
	char hex[2 * SN_SHA256_LEN + 1];
	size_t n = 0;
	int err;

	if (access(path, R_OK)) {
		fprintf(stderr, "sealnet kbs: database %s: %s\n", path,
			strerror(errno));
		return 2;
	}
	if (jwks && load_jwks(jwks, keys, 8, &n))
		return 2;
	err = sn_kbs_store_open(path, &st) ? -EIO : 0;
	if (!err) {
		err = jwks ? sn_kbs_audit_verify_signed(st, keys, n, &r) :
			     sn_kbs_audit_verify(st, &r);
		sn_kbs_store_close(st);
	}
	for (size_t i = 0; i < n; i++)
		sn_kbs_signer_free(keys[i]);
	if (err)
		return 2;
	sn_hex_encode(r.head, sizeof(r.head), hex);
	if (!r.ok) {
		printf("audit chain BROKEN at row %lld: %s\n",
		       (long long)r.bad_seq, r.what);
		return 1;
	}
	printf("audit chain ok: %lld rows, head %s\n", (long long)r.rows, hex);
	if (jwks)
		printf("audit head signature ok\n");
	else
		printf("audit head signature not checked (anyone who can "
		       "write the file can recompute the chain): give --jwks "
		       "FILE, the KBS's GET /keys answer\n");
	return 0;
}

static int audit(struct sn_cli_args *a, const struct kbs_cli *k)
{
	char target[96];

	if (k->n_args == 1 && !strcmp(k->args[0], "verify")) {
		struct sn_kbs_response r;
		json_t *o;
		int rc;

		if (k->opt[KO_DB])
			return verify_db(k->opt[KO_DB], k->opt[KO_JWKS]);
		rc = kbs_cli_call(k, "GET", "/admin/audit/verify", NULL, NULL,
				  &r);
		if (rc)
			return rc;
		o = json_loadb(r.body, r.len, 0, NULL);
		rc = json_is_true(json_object_get(o, "ok")) ? 0 : 1;
		if (k->opt[KO_JSON])
			printf("%s", r.body);
		else if (!rc)
			printf("audit chain ok: %lld rows, head %s\n",
			       (long long)json_integer_value(
				       json_object_get(o, "rows")),
			       json_string_value(json_object_get(o, "head")));
		else
			printf("audit chain BROKEN at row %lld: %s\n",
			       (long long)json_integer_value(
				       json_object_get(o, "bad_seq")),
			       json_string_value(json_object_get(o, "what")));
		json_decref(o);
		sn_kbs_response_clear(&r);
		return rc;
	}
	if (k->n_args == 1 && !strcmp(k->args[0], "head"))
		return get_print(k, "/admin/audit/head");
	if (need(a, k, 0, -1, -1))
		return 2;
	snprintf(target, sizeof(target), "/admin/audit?after=%s&limit=%s",
		 k->opt[KO_AFTER] ? k->opt[KO_AFTER] : "0",
		 k->opt[KO_LIMIT] ? k->opt[KO_LIMIT] : "1000");
	return get_print(k, target);
}

int cmd_kbs(int argc, char **argv)
{
	struct kbs_cli k = {0};
	struct sn_cli_args a;
	char target[96];
	int c;

	sn_cli_args_init(&a, &spec, argc, argv);
	while ((c = sn_cli_next(&a)) >= 0) {
		k.opt[c] = a.optarg ? a.optarg : "1";
		if (c == KO_COUNT && sn_cli_number(&a, 1, 1000000, &k.count))
			return 2;
		if ((c == KO_AFTER || c == KO_LIMIT || c == KO_WAIT) &&
		    sn_cli_number(&a, 0, 1000000000, &(long){0}))
			return 2;
	}
	c = sn_cli_end(&a, c, 1, 8);
	if (c)
		return sn_cli_exit(c);
	k.verb = argv[a.optind];
	k.args = argv + a.optind + 1;
	k.n_args = argc - a.optind - 1;
	k.conn.server = k.opt[KO_SERVER];
	k.conn.ca = k.opt[KO_CA];
	k.conn.cert = k.opt[KO_CERT];
	k.conn.key = k.opt[KO_KEY];
	if (!(k.verb[0] == 'a' && !strcmp(k.verb, "audit") && k.opt[KO_DB]) &&
	    (!k.conn.server || !k.conn.ca))
		return sn_cli_exit(sn_cli_usage_error(
			&a, "%s needs --server and --ca", k.verb));
	if (!!k.conn.cert != !!k.conn.key)
		return sn_cli_exit(
			sn_cli_usage_error(&a, "--cert and --key go together"));
	if (!strcmp(k.verb, "enrol"))
		return enrol(&a, &k);
	if (!strcmp(k.verb, "set-reference"))
		return set_reference(&a, &k);
	if (!strcmp(k.verb, "put-resource"))
		return put_resource(&a, &k);
	if (!strcmp(k.verb, "revoke"))
		return cmd_revoke(&a, &k);
	if (!strcmp(k.verb, "import-manifest"))
		return import_manifest(&a, &k);
	if (!strcmp(k.verb, "audit"))
		return audit(&a, &k);
	if (!strcmp(k.verb, "list") || !strcmp(k.verb, "keys")) {
		if (need(&a, &k, 0, -1, -1))
			return 2;
		return get_print(&k,
				 k.verb[0] == 'l' ? "/admin/list" : "/keys");
	}
	if (!strcmp(k.verb, "events")) {
		if (need(&a, &k, 0, -1, -1))
			return 2;
		snprintf(target, sizeof(target), "/events?after=%s&wait=%s",
			 k.opt[KO_AFTER] ? k.opt[KO_AFTER] : "0",
			 k.opt[KO_WAIT] ? k.opt[KO_WAIT] : "25");
		return get_print(&k, target);
	}
	if (!strcmp(k.verb, "attest"))
		return kbs_cli_attest(&k);
	c = kbs_cli_fed(&a, &k);
	if (c >= 0)
		return c;
	if (!strcmp(k.verb, "fetch")) {
		if (need(&a, &k, 1, KO_TOKEN, KO_REK))
			return 2;
		return kbs_cli_fetch(&k);
	}
	return sn_cli_exit(sn_cli_usage_error(&a, "unknown verb '%s'", k.verb));
}
