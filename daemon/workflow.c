// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd running from a workflow manifest (docs/workflow.md, "sealnetd
 * running from a manifest").
 *
 * Start: the manifest and its signature envelope are loaded and every
 * domain's signature verified; this node's policy is compiled (the
 * node-local members of the configuration file merged in) and becomes
 * the configuration; one appraisal policy per peer comes from the
 * compiled per-peer policies; each peer must show, in its measurement
 * log, the same manifest digest (SN_MLOG_WORKFLOW) and the node policy
 * digest this node computes itself by compiling that peer's node
 * (SN_MLOG_NODE_POLICY).  Any error stops the start, every diagnostic
 * printed.
 *
 * SIGHUP: the manifest and envelope are read again from the same paths.
 * A new version (strictly greater "version", every signature valid) whose
 * node, peers and lifetimes equal the running ones replaces the rules
 * (sn_dp_set_rules: flows allowed by both versions keep flowing, flows of
 * removed rules are cut), the per-peer appraisal policies and required
 * digests, and starts a new measurement log (data plane, then the new
 * WORKFLOW and NODE_POLICY events: each type must appear once in a log).
 * Sessions established under the old version keep their keys until
 * their hard lifetime; new MAKEs use the new version (the client side
 * starts one at once) and fail with workflow-mismatch until the peer
 * runs the same version.  Anything else: refused, the running version
 * stays.
 *
 * The per-peer policies and requirements a MAKE session is started with
 * must outlive it: every loaded version ("generation") is kept until
 * sealnetd stops (reloads are rare and each is a few kilobytes).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "sealnet/evidence.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnet/workflow.h"
#include "sealnetd.h"
#include "workflow.h"

/* the placeholder for make.appraisal_policy: the manifest decides */
#define WF_POLICY_MARK "(workflow manifest: one policy per peer)"

static void print_diag(const char *what, const struct sn_wf_diag *dg)
{
	for (size_t i = 0; i < dg->n; i++)
		sn_err("%s: %s: %s", what, dg->errors[i].path,
		       dg->errors[i].msg);
	if (dg->n_total > dg->n)
		sn_err("%s: ... and %zu more errors", what,
		       dg->n_total - dg->n);
}

void wfd_gen_free(struct sn_wf_gen *g)
{
	if (!g)
		return;
	for (size_t i = 0; g->policy && i < g->n_peers; i++)
		sn_policy_appraisal_free(g->policy[i]);
	free(g->policy);
	free(g->req);
	free(g->desc);
	free(g);
}

/* The generation for cfg's peers: the appraisal policy compiled for each
 * peer, and the two events its log must hold. */
int wfd_gen_new(const struct sn_workflow *wf, const struct sn_wf_compiled *comp,
		const struct sn_node_config *cfg, struct sn_wf_gen **out)
{
	struct sn_wf_gen *g = calloc(1, sizeof(*g));
	size_t n = cfg->n_peers, k = n ? n : 1;
	int err = -ENOMEM;

	if (!g)
		return -ENOMEM;
	g->n_peers = n;
	g->policy = calloc(k, sizeof(*g->policy));
	g->req = calloc(k, sizeof(*g->req));
	g->desc = calloc(k, sizeof(*g->desc));
	if (!g->policy || !g->req || !g->desc)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const char *peer = cfg->peers[i].name;
		const struct sn_wf_peer_policy *pp = NULL;
		struct sn_wf_compiled *pc = NULL;
		struct sn_wf_diag dg = {0};

		for (size_t j = 0; j < comp->n_policies; j++)
			if (!strcmp(comp->policies[j].peer, peer))
				pp = &comp->policies[j];
		if (!pp) {
			sn_err("workflow: no appraisal policy compiled for "
			       "peer "
			       "%s (a bug: report it)",
			       peer);
			err = -ENOENT;
			goto fail;
		}
		err = sn_policy_appraisal_parse(pp->policy_json,
						strlen(pp->policy_json),
						&g->policy[i]);
		if (err) {
			sn_err("workflow: the appraisal policy compiled for "
			       "peer "
			       "%s does not load: %s (check the reference "
			       "values of its stages)",
			       peer, strerror(-err));
			goto fail;
		}
		/* the peer's node policy: compiled here from the same
		 * manifest, so a peer cannot claim another one */
		err = sn_workflow_compile_node(wf, peer, NULL, &pc, &dg);
		if (err) {
			print_diag("workflow: compiling peer's node policy",
				   &dg);
			goto fail;
		}
		snprintf(g->desc[i][0], SN_MLOG_DESC_MAX, "workflow %s v%llu",
			 wf->name, (unsigned long long)wf->version);
		snprintf(g->desc[i][1], SN_MLOG_DESC_MAX, "node %s", peer);
		g->req[i][0] =
			(struct sn_mlog_require){.type = SN_MLOG_WORKFLOW,
						 .desc = g->desc[i][0],
						 .what = "workflow manifest"};
		memcpy(g->req[i][0].digest, wf->digest, SN_WF_DIGEST_LEN);
		g->req[i][1] =
			(struct sn_mlog_require){.type = SN_MLOG_NODE_POLICY,
						 .desc = g->desc[i][1],
						 .what = "node policy"};
		memcpy(g->req[i][1].digest, pc->policy_digest,
		       SN_WF_DIGEST_LEN);
		sn_wf_compiled_free(pc);
	}
	*out = g;
	return 0;
fail:
	wfd_gen_free(g);
	return err;
}

/* path relative to the directory of base (when base is a file and path
 * is relative) */
static int resolve(const char *base, const char *path, char *out, size_t n)
{
	char tmp[PATH_MAX];
	int r;

	if (path[0] == '/' || !base) {
		r = snprintf(out, n, "%s", path);
	} else {
		snprintf(tmp, sizeof(tmp), "%s", base);
		r = snprintf(out, n, "%s/%s", dirname(tmp), path);
	}
	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

/* workflow.json -> workflow.sig.json (FILE -> FILE.sig.json otherwise) */
static int default_sigs(const char *manifest, char *out, size_t n)
{
	size_t l = strlen(manifest);
	int r;

	if (l > 5 && !strcmp(manifest + l - 5, ".json"))
		r = snprintf(out, n, "%.*s.sig.json", (int)(l - 5), manifest);
	else
		r = snprintf(out, n, "%s.sig.json", manifest);
	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

/* Load, verify and compile: *wf, *comp and the parsed configuration
 * *cfg; every error printed. */
int wfd_load_version(struct sn_wfd *w, struct wf_bytes *b,
		     struct sn_workflow **wf_out,
		     struct sn_wf_compiled **comp_out,
		     struct sn_node_config **cfg_out)
{
	struct sn_wf_diag *dg = calloc(1, sizeof(*dg));
	struct sn_workflow *wf = NULL;
	struct sn_wf_sigset *ss = NULL;
	struct sn_wf_compiled *comp = NULL;
	struct sn_wf_verify_result res = {0};
	struct sn_node_config *cfg = NULL;
	json_t *root = NULL, *make;
	char *txt = NULL, err[512];
	int e;

	if (!dg)
		return -ENOMEM;
	e = sn_read_file(b->mpath, SN_WF_MAX_BYTES, &b->m, &b->ml);
	if (e) {
		sn_err("workflow manifest %s: cannot be read: %s", b->mpath,
		       strerror(-e));
		goto out;
	}
	e = sn_workflow_parse((const char *)b->m, b->ml, &wf, dg);
	if (e) {
		sn_err("workflow manifest %s is not valid (%zu errors): "
		       "refusing it; `sealnet workflow lint` shows the same",
		       b->mpath, dg->n_total);
		print_diag(b->mpath, dg);
		goto out;
	}
	memset(dg, 0, sizeof(*dg));
	e = sn_read_file(b->spath, SN_WF_MAX_BYTES, &b->s, &b->sl);
	if (!e)
		e = sn_wf_sigset_parse((const char *)b->s, b->sl, &ss, dg);
	if (e) {
		sn_err("workflow signatures %s: cannot be read (%s): every "
		       "domain must sign the manifest (`sealnet workflow "
		       "sign`)",
		       b->spath, strerror(-e));
		print_diag(b->spath, dg);
		goto out;
	}
	memset(dg, 0, sizeof(*dg));
	e = sn_workflow_verify_sigs(wf, ss, &res, dg);
	if (e) {
		sn_err("workflow manifest %s is not signed by every domain "
		       "(%zu of %zu signed validly, %zu missing, %zu bad; "
		       "envelope %s): refusing it",
		       b->mpath, res.n_ok, res.n_domains, res.n_missing,
		       res.n_bad, b->spath);
		for (size_t i = 0; i < res.n_domains && res.domain_status; i++)
			if (res.domain_status[i] != SN_WF_SIG_OK)
				sn_err("  domain %s: %s", wf->domains[i].id,
				       sn_wf_sig_status_name(
					       res.domain_status[i]));
		print_diag(b->spath, dg);
		if (e == -ENOMEM)
			goto out;
		e = e == -ENOKEY ? -ENOKEY : -EBADMSG;
		goto out;
	}
	memset(dg, 0, sizeof(*dg));
	e = sn_workflow_compile_node(wf, w->node, w->local_json, &comp, dg);
	if (e) {
		sn_err("compiling node %s's policy from %s failed (%s)",
		       w->node, b->mpath, strerror(-e));
		print_diag(b->mpath, dg);
		goto out;
	}
	/* appraisal happens per peer: mark the single policy path */
	e = -ENOMEM;
	root = json_loads(comp->config_json, 0, NULL);
	make = json_object_get(root, "make");
	if (!make ||
	    json_object_set_new(make, "appraisal_policy",
				json_string(WF_POLICY_MARK)) ||
	    !(txt = json_dumps(root, JSON_COMPACT)))
		goto out;
	e = sn_config_parse(txt, strlen(txt), &cfg, err, sizeof(err));
	if (e) {
		sn_err("node %s's compiled configuration (manifest %s and its "
		       "node-local members) does not load: %s",
		       w->node, b->mpath, err);
		goto out;
	}
	*wf_out = wf;
	*comp_out = comp;
	*cfg_out = cfg;
	wf = NULL;
	comp = NULL;
	e = 0;
out:
	if (e && e != -ENOMEM && e != -ENOKEY && e != -EBADMSG)
		e = -EINVAL;
	free(txt);
	json_decref(root);
	sn_wf_verify_result_free(&res);
	sn_wf_sigset_free(ss);
	sn_wf_compiled_free(comp);
	sn_workflow_free(wf);
	free(dg);
	return e;
}

/* The node-local members: cfg_path's JSON ("workflow" removed), or {}.
 * *wf_member gets the "workflow" object (or NULL). */
static int read_local(const char *cfg_path, json_t **local, json_t **wfm)
{
	json_error_t je;
	json_t *root, *m;

	*wfm = NULL;
	if (!cfg_path) {
		*local = json_object();
		return *local ? 0 : -ENOMEM;
	}
	root = json_load_file(cfg_path, JSON_REJECT_DUPLICATES, &je);
	if (!root || !json_is_object(root)) {
		sn_err("%s: not a JSON object (line %d: %s)", cfg_path, je.line,
		       root ? "not an object" : je.text);
		json_decref(root);
		return -EINVAL;
	}
	m = json_object_get(root, "workflow");
	if (m) {
		*wfm = json_incref(m);
		json_object_del(root, "workflow");
	}
	m = json_object_get(root, "make");
	if (json_is_object(m) && json_object_get(m, "appraisal_policy")) {
		sn_err("%s: make.appraisal_policy: decided by the workflow "
		       "manifest (one policy per peer, from the reference "
		       "values of its stages): remove it",
		       cfg_path);
		json_decref(root);
		json_decref(*wfm);
		*wfm = NULL;
		return -EINVAL;
	}
	*local = root;
	return 0;
}

bool sn_wfd_config_has_workflow(const char *cfg_path)
{
	uint8_t *buf;
	size_t len;
	json_t *root;
	bool has = false;

	if (sn_read_file(cfg_path, 1u << 20, &buf, &len))
		return false;
	/* only a file that names it is parsed here (a static-keys file is
	 * left to sn_config_load, which wipes what it parsed) */
	if (memmem(buf, len, "\"workflow\"", 10)) {
		root = json_loadb((const char *)buf, len, 0, NULL);
		has = json_is_object(root) &&
		      json_object_get(root, "workflow") != NULL;
		json_decref(root);
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	return has;
}

int sn_wfd_load(struct sealnetd *d, const char *cfg_path, const char *manifest,
		const char *sigs, const char *node)
{
	struct sn_wfd *w = calloc(1, sizeof(*w));
	json_t *local = NULL, *wfm = NULL;
	struct sn_node_config *cfg = NULL;
	struct sn_wf_gen *g = NULL;
	int e;

	if (!w)
		return -ENOMEM;
	e = read_local(cfg_path, &local, &wfm);
	if (e)
		goto fail;
	e = -EINVAL;
	if (wfm && (manifest || sigs || node)) {
		sn_err("%s has a \"workflow\" member and --workflow, "
		       "--signatures or --node was given: use one of the two",
		       cfg_path);
		goto fail;
	}
	if (wfm) {
		const char *k, *mf = NULL, *sg = NULL, *nd = NULL;
		json_t *v;

		if (!json_is_object(wfm)) {
			sn_err("%s: workflow: must be an object {\"manifest\", "
			       "\"signatures\", \"node\"}",
			       cfg_path);
			goto fail;
		}
		json_object_foreach(wfm, k, v)
		{
			const char **slot = !strcmp(k, "manifest")   ? &mf :
					    !strcmp(k, "signatures") ? &sg :
					    !strcmp(k, "node")	     ? &nd :
								       NULL;
			if (!slot || !json_is_string(v)) {
				sn_err("%s: workflow.%s: %s", cfg_path, k,
				       slot ? "must be a string" :
					      "unknown member (manifest, "
					      "signatures, node)");
				goto fail;
			}
			*slot = json_string_value(v);
		}
		if (!mf || !nd) {
			sn_err("%s: workflow: \"manifest\" and \"node\" are "
			       "required",
			       cfg_path);
			goto fail;
		}
		if (resolve(cfg_path, mf, w->manifest, sizeof(w->manifest)) ||
		    (sg && resolve(cfg_path, sg, w->sigs, sizeof(w->sigs))))
			goto toolong;
		manifest = w->manifest;
		sigs = sg ? w->sigs : NULL;
		node = nd;
	} else if (snprintf(w->manifest, sizeof(w->manifest), "%s", manifest) >=
			   (int)sizeof(w->manifest) ||
		   (sigs && snprintf(w->sigs, sizeof(w->sigs), "%s", sigs) >=
				    (int)sizeof(w->sigs))) {
		goto toolong;
	}
	if (!node) {
		sn_err("--workflow needs --node NAME (which of the manifest's "
		       "nodes this is)");
		goto fail;
	}
	if (!sigs && default_sigs(w->manifest, w->sigs, sizeof(w->sigs)))
		goto toolong;
	snprintf(w->node, sizeof(w->node), "%s", node);
	if (strlen(node) >= sizeof(w->node)) {
		sn_err("--node %s: longer than %d characters", node,
		       SN_WF_NAME_MAX - 1);
		goto fail;
	}
	e = -ENOMEM;
	w->local_json = json_dumps(local, JSON_COMPACT);
	if (!w->local_json)
		goto fail;
	{
		struct wf_bytes b = {.mpath = w->manifest, .spath = w->sigs};

		e = wfd_load_version(w, &b, &w->wf, &w->comp, &cfg);
		bytes_free(&b);
	}
	if (e)
		goto fail;
	snprintf(cfg->path, sizeof(cfg->path), "%s", cfg_path ? cfg_path : "");
	e = wfd_gen_new(w->wf, w->comp, cfg, &g);
	if (e)
		goto fail;
	w->gens = g;
	d->cfg = cfg;
	d->wfd = w;
	json_decref(local);
	json_decref(wfm);
	return 0;
toolong:
	sn_err("a workflow path is longer than %d bytes", PATH_MAX - 1);
	e = -ENAMETOOLONG;
fail:
	sn_config_free(cfg);
	json_decref(local);
	json_decref(wfm);
	w->gens = NULL;
	sn_wfd_free(w);
	return e;
}

void sn_wfd_free(struct sn_wfd *w)
{
	if (!w)
		return;
	while (w->gens) {
		struct sn_wf_gen *n = w->gens->next;

		wfd_gen_free(w->gens);
		w->gens = n;
	}
	sn_wf_compiled_free(w->comp);
	sn_workflow_free(w->wf);
	free(w->local_json);
	free(w);
}

int wfd_extend(const struct sn_wfd *w, struct sn_mlog *m)
{
	char desc[SN_MLOG_DESC_MAX];
	int e;

	snprintf(desc, sizeof(desc), "workflow %s v%llu", w->wf->name,
		 (unsigned long long)w->wf->version);
	e = sn_mlog_extend(m, SN_MLOG_WORKFLOW, desc, w->wf->digest);
	if (e)
		return e;
	snprintf(desc, sizeof(desc), "node %s", w->node);
	return sn_mlog_extend(m, SN_MLOG_NODE_POLICY, desc,
			      w->comp->policy_digest);
}

int sn_wfd_measure(struct sealnetd *d)
{
	struct sn_wfd *w = d->wfd;
	char h1[2 * SN_WF_DIGEST_LEN + 1], h2[2 * SN_WF_DIGEST_LEN + 1];
	int e = wfd_extend(w, &d->mlog);

	if (e) {
		sn_err("extending the measurement log with the workflow "
		       "failed: "
		       "%s",
		       strerror(-e));
		return e;
	}
	sn_hex_encode(w->wf->digest, SN_WF_DIGEST_LEN, h1);
	sn_hex_encode(w->comp->policy_digest, SN_WF_DIGEST_LEN, h2);
	sn_info("workflow %s v%llu (manifest %s, digest %.16s..), node %s "
		"(policy digest %.16s..): in the measurement log",
		w->wf->name, (unsigned long long)w->wf->version, w->manifest,
		h1, w->node, h2);
	return 0;
}

const struct sn_policy_appraisal *sn_wfd_policy(const struct sealnetd *d,
						size_t peer)
{
	return d->wfd && peer < d->wfd->gens->n_peers ?
		       d->wfd->gens->policy[peer] :
		       d->policy;
}

const struct sn_mlog_require *sn_wfd_require(const struct sealnetd *d,
					     size_t peer, size_t *n)
{
	if (!d->wfd || peer >= d->wfd->gens->n_peers) {
		*n = 0;
		return NULL;
	}
	*n = 2;
	return d->wfd->gens->req[peer];
}
