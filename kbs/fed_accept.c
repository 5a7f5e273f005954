// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs federation: accepting a peer domain's bundle (fetched or
 * imported by an admin), withdrawal and re-admission, GET
 * /federation/bundles, GET /admin/bundles, POST /admin/withdraw and
 * /admin/readmit (docs/federation.md,
 * docs/kbs-api.md "Peer domains").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sealnet/federation.h"
#include "sealnet/kbs_fed.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "fed_internal.h"
#include "kbs.h"

int kbs_fed_withdraw(struct kbs *k, const char *domain, const char *actor,
		     const char *reason)
{
	const struct sn_workflow *wf = kbs_fed_manifest(k);
	const char **nodes = NULL;
	struct kbs_peer *p;
	char detail[300];
	size_t n = 0;
	int d, err;
	int64_t first = 0;

	if (!wf || (d = sn_workflow_find_domain(wf, domain)) < 0 ||
	    !strcmp(domain, k->cfg.domain))
		return -ENOENT;
	nodes = calloc(wf->n_nodes ? wf->n_nodes : 1, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < wf->n_nodes; i++)
		if (wf->nodes[i].domain == (size_t)d)
			nodes[n++] = wf->nodes[i].name;
	snprintf(detail, sizeof(detail), "domain %s withdrawn: %s", domain,
		 reason);
	{
		const struct sn_kbs_audit_in a = {actor, "withdraw", domain,
						  "ok", detail};

		err = sn_kbs_peer_withdraw(k->st, domain, nodes, n, detail, &a,
					   &first);
	}
	free(nodes);
	if (err)
		return err;
	sn_warn("federation: domain %s withdrawn (%s, by %s): its %zu "
		"node(s) revoked (events from %lld)",
		domain, reason, actor, n, (long long)first);
	p = fed_find_peer(k, domain); /* the main worker's */
	if (p)
		fed_stop_peer(p);
	else
		kbs_fed_resync(k); /* another worker: the main one stops it */
	for (size_t i = 0; i < n; i++)
		kbs_metrics_revoked(k);
	kbs_workers_notify(k);
	return 0;
}

int kbs_fed_readmit(struct kbs *k, const char *domain, const char *actor,
		    const char *reason)
{
	const struct sn_workflow *wf = kbs_fed_manifest(k);
	struct sn_kbs_peer_bundle b = {0};
	char detail[400];
	int err;

	if (!wf || sn_workflow_find_domain(wf, domain) < 0 ||
	    !strcmp(domain, k->cfg.domain))
		return -ENOENT;
	err = sn_kbs_peer_bundle_get(k->st, domain, &b);
	if (err && err != -ENOENT)
		return err;
	snprintf(detail, sizeof(detail),
		 "domain %s re-admitted (%s): its bundles are accepted again "
		 "from one issued after its withdrawal%s%llu; the revocations "
		 "its withdrawal made are lifted then",
		 domain, reason, err ? "" : " with a sequence above ",
		 err ? 0ULL : (unsigned long long)b.sequence);
	sn_kbs_peer_bundle_clear(&b);
	{
		const struct sn_kbs_audit_in a = {actor, "readmit", domain,
						  "ok", detail};

		err = sn_kbs_peer_readmit(k->st, domain, &a);
	}
	if (err)
		return err;
	sn_warn("federation: %s (by %s)", detail, actor);
	kbs_fed_resync(k); /* followed again */
	return 0;
}

/* true when the manifest gives domain d a stage */
static bool has_stages(const struct sn_workflow *wf, size_t d)
{
	for (size_t i = 0; i < wf->n_stages; i++)
		if (wf->stages[i].domain == d)
			return true;
	return false;
}

int kbs_fed_accept(struct kbs *k, const char *expect_domain, const char *text,
		   size_t len, const char *actor, const char *action,
		   struct kbs_fed_verdict *v)
{
	const struct sn_workflow *wf = kbs_fed_manifest(k);
	struct sn_fed_bundle *b = NULL, *last = NULL;
	struct sn_kbs_peer_bundle stored = {0}, nb = {0};
	struct sn_kbs_peer_status ps = {0};
	enum sn_fed_status st = SN_FED_OK;
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	char detail[200];
	int err;

	memset(v, 0, sizeof(*v));
	if (!d)
		return -ENOMEM;
	if (!wf) {
		snprintf(v->code, sizeof(v->code), "no-manifest");
		snprintf(v->msg, sizeof(v->msg),
			 "this KBS has no workflow manifest to check bundles "
			 "against (configuration: manifest, trust_dir)");
		err = -EPERM;
		goto out;
	}
	err = sn_fed_bundle_parse(text, len, &b, d);
	if (err) {
		snprintf(v->code, sizeof(v->code), "invalid-bundle");
		snprintf(v->msg, sizeof(v->msg),
			 "not a valid trust bundle: %s: %s",
			 d->n ? d->errors[0].path : "$",
			 d->n ? d->errors[0].msg : strerror(-err));
		err = -EINVAL;
		goto out;
	}
	snprintf(v->domain, sizeof(v->domain), "%s", b->domain);
	v->sequence = b->sequence;
	if (!strcmp(b->domain, k->cfg.domain)) {
		snprintf(v->code, sizeof(v->code), "own-domain");
		snprintf(v->msg, sizeof(v->msg),
			 "a KBS imports other domains' bundles, not its own");
		err = -EPERM;
		goto out;
	}
	if (expect_domain && strcmp(b->domain, expect_domain)) {
		/* domain A's KBS serving domain C's bundle */
		snprintf(v->code, sizeof(v->code), "other-domain");
		snprintf(v->msg, sizeof(v->msg),
			 "the KBS of domain %s served a bundle of domain %s",
			 expect_domain, b->domain);
		err = -EPERM;
		goto out;
	}
	err = sn_kbs_peer_status_get(k->st, b->domain, &ps);
	if (err)
		goto out;
	if (ps.withdrawn) {
		snprintf(v->code, sizeof(v->code), "withdrawn");
		snprintf(v->msg, sizeof(v->msg),
			 "domain %s has withdrawn from the federation; its "
			 "bundles are no longer accepted",
			 b->domain);
		err = -EPERM;
		goto out;
	}
	err = sn_kbs_peer_bundle_get(k->st, b->domain, &stored);
	if (!err && sn_fed_bundle_parse(stored.text, stored.len, &last, NULL)) {
		sn_err("federation: the stored bundle of domain %s does not "
		       "parse: bundles of %s are refused until an admin "
		       "inspects the database",
		       b->domain, b->domain);
		snprintf(v->code, sizeof(v->code), "store-corrupt");
		snprintf(v->msg, sizeof(v->msg),
			 "the stored bundle of domain %s is corrupt",
			 b->domain);
		err = -EIO;
		goto out;
	}
	if (err && err != -ENOENT)
		goto out;
	if (sn_fed_bundle_verify(wf, b, fed_now_s(), last, &st, d)) {
		snprintf(v->code, sizeof(v->code), "%s",
			 sn_fed_status_name(st));
		snprintf(v->msg, sizeof(v->msg),
			 "bundle of domain %s, sequence %llu refused: %s",
			 b->domain, (unsigned long long)b->sequence,
			 d->n ? d->errors[0].msg : sn_fed_status_name(st));
		err = -EPERM;
		goto out;
	}
	/* after the signature (as rollback): re-admission and withdrawal
	 * limits (docs/federation.md "Re-admission") */
	if (last && ps.readmit && b->sequence <= last->sequence) {
		snprintf(v->code, sizeof(v->code), "rollback");
		snprintf(v->msg, sizeof(v->msg),
			 "domain %s is re-admitted from a bundle newer than "
			 "sequence %llu, the one it held when it withdrew; "
			 "this is sequence %llu",
			 b->domain, (unsigned long long)last->sequence,
			 (unsigned long long)b->sequence);
		err = -EPERM;
		goto out;
	}
	if (ps.withdrawn_at && b->not_before < ps.withdrawn_at) {
		/* signed before the domain withdrew (or was expelled): a
		 * stolen or withheld old bundle, never accepted again */
		snprintf(v->code, sizeof(v->code), "issued-before-withdrawal");
		snprintf(v->msg, sizeof(v->msg),
			 "bundle of domain %s, sequence %llu was issued "
			 "(not_before %lld) before the domain's withdrawal at "
			 "%lld: it must export a new one",
			 b->domain, (unsigned long long)b->sequence,
			 (long long)b->not_before, (long long)ps.withdrawn_at);
		err = -EPERM;
		goto out;
	}
	snprintf(nb.domain, sizeof(nb.domain), "%s", b->domain);
	nb.sequence = b->sequence;
	nb.not_before = b->not_before;
	nb.not_after = b->not_after;
	sn_hex_encode(b->digest, sizeof(b->digest), nb.digest);
	nb.text = (char *)text;
	nb.len = len;
	snprintf(detail, sizeof(detail), "sequence %llu, not_after %lld%s%s",
		 (unsigned long long)b->sequence, (long long)b->not_after,
		 b->n_stages ? "" : ", no stage (withdrawal)",
		 ps.readmit ? "; re-admission completed, the revocations its "
			      "withdrawal made are lifted" :
			      "");
	{
		const struct sn_kbs_audit_in a = {actor, action, b->domain,
						  "ok", detail};

		err = sn_kbs_peer_bundle_put(k->st, &nb, &a);
	}
	if (err == -ETIME || err == -EPERM) { /* the store's own checks */
		snprintf(v->code, sizeof(v->code), "%s",
			 err == -ETIME ? "issued-before-withdrawal" :
					 "withdrawn");
		snprintf(v->msg, sizeof(v->msg),
			 "bundle of domain %s, sequence %llu refused by the "
			 "store (%s)",
			 b->domain, (unsigned long long)b->sequence, v->code);
		err = -EPERM;
		goto out;
	}
	if (err == -ESTALE) {
		snprintf(v->code, sizeof(v->code), "rollback");
		snprintf(v->msg, sizeof(v->msg),
			 "bundle of domain %s, sequence %llu is older than "
			 "the stored one",
			 b->domain, (unsigned long long)b->sequence);
		err = -EPERM;
		goto out;
	}
	if (err)
		goto out;
	v->not_after = b->not_after;
	v->changed = !last || last->sequence != b->sequence;
	v->readmitted = ps.readmit;
	if (ps.readmit) {
		sn_warn("federation: domain %s re-admitted with its bundle "
			"sequence %llu: the revocations its withdrawal "
			"made are lifted",
			b->domain, (unsigned long long)b->sequence);
		/* the lift events: GET /events waiters on every worker */
		kbs_workers_notify(k);
	}
	if (v->changed)
		sn_info("federation: accepted the bundle of domain %s, "
			"sequence %llu, valid until %lld (%s)",
			b->domain, (unsigned long long)b->sequence,
			(long long)b->not_after, action);
	{
		struct kbs_peer *p = fed_find_peer(k, b->domain);

		if (p)
			fed_arm_expiry(p, b->not_after);
	}
	/* a signed bundle vouching for no stage from a domain the manifest
	 * gives stages: the domain withdraws */
	if (!b->n_stages &&
	    has_stages(wf, (size_t)sn_workflow_find_domain(wf, b->domain))) {
		v->withdrawn = true;
		err = kbs_fed_withdraw(k, b->domain, actor,
				       "signed bundle with no stage");
		if (err == -EALREADY)
			err = 0;
	}
out:
	sn_kbs_peer_bundle_clear(&stored);
	sn_fed_bundle_free(last);
	sn_fed_bundle_free(b);
	free(d);
	return err;
}

/* ---- GET /federation/bundles --------------------------------------------- */

int kbs_fed_bundles(struct kbs *k, json_t **out)
{
	const struct sn_workflow *wf = kbs_fed_manifest(k);
	struct sn_kbs_peer_bundle *bs = NULL;
	json_t *arr = json_array(), *o;
	int64_t now = fed_now_s();
	size_t n = 0;
	int err;

	if (!arr)
		return -ENOMEM;
	err = sn_kbs_peer_bundles(k->st, &bs, &n);
	for (size_t i = 0; !err && i < n; i++) {
		struct sn_kbs_peer_status ps;
		json_t *j;

		if (!wf || sn_workflow_find_domain(wf, bs[i].domain) < 0 ||
		    now < bs[i].not_before || now >= bs[i].not_after)
			continue;
		err = sn_kbs_peer_status_get(k->st, bs[i].domain, &ps);
		if (err || ps.withdrawn)
			continue;
		j = json_loadb(bs[i].text, bs[i].len, JSON_REJECT_DUPLICATES,
			       NULL);
		if (!j || json_array_append_new(arr, j))
			err = -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		sn_kbs_peer_bundle_clear(&bs[i]);
	free(bs);
	o = err ? NULL : json_pack("{s:o}", "bundles", arr);
	if (!o) {
		if (err)
			json_decref(arr);
		return err ? err : -ENOMEM;
	}
	*out = o;
	return 0;
}

void kbs_fed_bundles_get(struct kbs *k, struct evhttp_request *req)
{
	json_t *o = NULL;
	char *txt = NULL;

	if (!kbs_fed_bundles(k, &o))
		txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	kbs_reply(req, txt ? 200 : 503, txt ? txt : "{\"error\":\"internal\"}");
	free(txt);
}

/* ---- admin: GET /admin/bundles, POST /admin/withdraw ------------------- */

/* POST /admin/withdraw, POST /admin/readmit */
static void admin_withdraw(struct kbs *k, struct evhttp_request *req,
			   const char *actor, bool readmit)
{
	const char *verb = readmit ? "readmit" : "withdraw";
	char *body = NULL;
	size_t len;
	json_t *o;
	const char *dom = NULL, *reason = readmit ? "re-admitted by an admin" :
						    "withdrawn by an admin";
	int err;

	if (kbs_body(k, req, verb, 4096, &body, &len))
		return;
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	free(body);
	if (!o ||
	    json_unpack(o, "{s:s,s?s!}", "domain", &dom, "reason", &reason) ||
	    sn_kbs_name_check(dom) || strlen(reason) > 200) {
		kbs_refuse(k, req, 400, verb, NULL, "malformed", NULL,
			   "%s takes {\"domain\": NAME, \"reason\": "
			   "TEXT (optional, <= 200 characters)}",
			   verb);
		json_decref(o);
		return;
	}
	err = readmit ? kbs_fed_readmit(k, dom, actor, reason) :
			kbs_fed_withdraw(k, dom, actor, reason);
	if (err == -ENOENT)
		kbs_refuse(k, req, 404, verb, dom, "not-a-peer", NULL,
			   "%s is not a peer domain of this KBS's manifest",
			   dom);
	else if (err == -EALREADY && readmit)
		kbs_refuse(k, req, 409, verb, dom, "not-withdrawn", NULL,
			   "domain %s is not withdrawn: nothing to re-admit",
			   dom);
	else if (err == -EALREADY)
		kbs_refuse(k, req, 409, verb, dom, "already-withdrawn", NULL,
			   "domain %s has withdrawn already", dom);
	else if (err)
		kbs_reply(req, 503, "{\"error\":\"internal\"}");
	else
		kbs_reply(req, 200, "{\"ok\":true}");
	json_decref(o);
}

bool kbs_fed_admin(struct kbs *k, struct evhttp_request *req, const char *what,
		   const char *actor)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	char *txt = NULL;

	if (m == EVHTTP_REQ_GET && !strcmp(what, "bundles")) {
		if (sn_kbs_peer_bundles_json(k->st, fed_now_s(), &txt))
			kbs_reply(req, 503, "{\"error\":\"internal\"}");
		else
			kbs_reply(req, 200, txt);
		free(txt);
		return true;
	}
	if (m == EVHTTP_REQ_POST && !strcmp(what, "withdraw")) {
		admin_withdraw(k, req, actor, false);
		return true;
	}
	if (m == EVHTTP_REQ_POST && !strcmp(what, "readmit")) {
		admin_withdraw(k, req, actor, true);
		return true;
	}
	if (m == EVHTTP_REQ_POST && !strcmp(what, "rollover")) {
		kbs_admin_rollover(k, req, actor);
		return true;
	}
	return false;
}
