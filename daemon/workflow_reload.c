// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd running from a workflow manifest: a new version (SIGHUP, or
 * the control socket's workflow-apply).  See the top of workflow.c and
 * docs/sealnetd.md, "Running from a workflow manifest".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnet/engine.h"
#include "sealnetd.h"
#include "workflow.h"

/* What differs, besides the rules, between the running configuration and
 * a new version's: "" when nothing. */
static void differs(const struct sn_node_config *a,
		    const struct sn_node_config *b, char *why, size_t n)
{
	why[0] = 0;
	if (strcmp(a->node, b->node) || a->id != b->id)
		snprintf(why, n, "this node's id");
	else if (a->n_peers != b->n_peers)
		snprintf(why, n, "the peers (%zu -> %zu)", a->n_peers,
			 b->n_peers);
	else if (a->make.rekey_s != b->make.rekey_s ||
		 a->make.lifetime_s != b->make.lifetime_s ||
		 strcmp(a->make.tee, b->make.tee))
		snprintf(why, n, "the lifetimes or this node's TEE");
	for (size_t i = 0; !why[0] && i < a->n_peers; i++) {
		const struct sn_peer_config *p = &a->peers[i],
					    *q = &b->peers[i];

		if (strcmp(p->name, q->name) || p->id != q->id ||
		    p->addr != q->addr || p->make_port != q->make_port ||
		    p->make_addr != q->make_addr)
			snprintf(why, n, "peer %s (name, id or address)",
				 p->name);
	}
}

static void audit_wf(struct sealnetd *d, const char *result, const char *why,
		     const struct sn_workflow *wf,
		     const struct sn_dp_rules_change *c)
{
	char hex[2 * SN_WF_DIGEST_LEN + 1] = "";
	json_t *j;

	if (wf)
		sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, hex);
	j = json_pack("{ss ss ss ss sI}", "event", "workflow-reload", "result",
		      result, "reason", why ? why : "", "manifest_digest", hex,
		      "version", (json_int_t)(wf ? wf->version : 0));
	if (j && c) {
		json_object_set_new(j, "rules_added",
				    json_integer((json_int_t)c->added));
		json_object_set_new(j, "rules_removed",
				    json_integer((json_int_t)c->removed));
		json_object_set_new(j, "flows_cut",
				    json_integer((json_int_t)c->flows_cut));
	}
	if (j) {
		sn_audit(d, j);
		json_decref(j);
	}
}

enum { APPLY_OK, APPLY_UNCHANGED, APPLY_REFUSED, APPLY_FAILED };

/* Load, check and apply the version in b (see the top of the file): an
 * APPLY_ value, why says why when not ok. */
static int apply(struct sealnetd *d, struct wf_bytes *b, char *why,
		 size_t why_len)
{
	struct sn_wfd *w = d->wfd;
	struct sn_workflow *wf = NULL;
	struct sn_wf_compiled *comp = NULL;
	struct sn_node_config *nc = NULL;
	struct sn_wf_gen *g = NULL;
	struct sn_mlog m;
	struct sn_dp_rules_change c;
	struct sn_dp_rule *old;
	size_t n_old;
	size_t n = why_len;
	int e, rc = APPLY_REFUSED;

	why[0] = 0;
	sn_mlog_init(&m);
	if (d->tampered) {
		snprintf(why, n,
			 "the data plane is tampered: restart sealnetd");
		goto refuse;
	}
	if (wfd_load_version(w, b, &wf, &comp, &nc)) {
		snprintf(why, n,
			 "the new manifest %s does not load or verify "
			 "with %s (errors in sealnetd's log)",
			 b->mpath, b->spath);
		goto refuse;
	}
	if (!CRYPTO_memcmp(wf->digest, w->wf->digest, SN_WF_DIGEST_LEN)) {
		sn_info("workflow reload: the manifest is unchanged (same "
			"digest): nothing to do");
		rc = APPLY_UNCHANGED;
		goto out;
	}
	if (wf->version <= w->wf->version) {
		snprintf(why, n,
			 "version %llu is not newer than the "
			 "running version %llu (a rollback?)",
			 (unsigned long long)wf->version,
			 (unsigned long long)w->wf->version);
		goto refuse;
	}
	if (strcmp(wf->name, w->wf->name)) {
		snprintf(why, n, "another workflow (%s, running %s)", wf->name,
			 w->wf->name);
		goto refuse;
	}
	{
		char t[160];

		differs(d->cfg, nc, t, sizeof(t));
		if (t[0]) {
			snprintf(why, n,
				 "version %llu changes %s: restart sealnetd "
				 "for that",
				 (unsigned long long)wf->version, t);
			goto refuse;
		}
	}
	snprintf(nc->path, sizeof(nc->path), "%s", d->cfg->path);
	e = wfd_gen_new(wf, comp, nc, &g);
	if (!e)
		e = sn_dp_measure(d->dp, &m);
	if (!e && d->engine) /* the same events as at start, in order */
		e = sn_engine_measure(&m);
	if (e) {
		snprintf(why, n, "preparing version %llu failed: %s",
			 (unsigned long long)wf->version, strerror(-e));
		goto refuse;
	}
	e = sn_dp_set_rules(d->dp, nc->rules, nc->n_rules, &c);
	if (e) {
		sn_err("workflow reload: installing version %llu's rules "
		       "failed: %s; the data plane may hold a mix of both "
		       "versions: send SIGHUP again",
		       (unsigned long long)wf->version, strerror(-e));
		audit_wf(d, "failed", strerror(-e), wf, NULL);
		snprintf(why, n, "installing the rules failed: %s",
			 strerror(-e));
		rc = APPLY_FAILED;
		goto out;
	}
	/* commit: the rules, the version, the policies, a new log */
	old = d->cfg->rules;
	n_old = d->cfg->n_rules;
	d->cfg->rules = nc->rules;
	d->cfg->n_rules = nc->n_rules;
	nc->rules = old;
	nc->n_rules = n_old;
	sn_workflow_free(w->wf);
	sn_wf_compiled_free(w->comp);
	w->wf = wf;
	w->comp = comp;
	wf = NULL;
	comp = NULL;
	g->next = w->gens;
	w->gens = g;
	g = NULL;
	if (wfd_extend(w, &m)) {
		/* cannot happen with a fresh log; never keep the old one */
		sn_err("workflow reload: the new measurement log cannot be "
		       "extended: refusing every MAKE from now on");
		sn_make_tampered(d);
	}
	sn_mlog_free(&d->mlog);
	d->mlog = m;
	sn_mlog_init(&m);
	sn_info("workflow reload: %s v%llu now enforced: %llu rules kept, "
		"%llu added, %llu removed; %llu flows of removed rules cut; "
		"new measurement log; sessions re-MAKE with fresh evidence",
		w->wf->name, (unsigned long long)w->wf->version,
		(unsigned long long)c.kept, (unsigned long long)c.added,
		(unsigned long long)c.removed, (unsigned long long)c.flows_cut);
	audit_wf(d, "ok", NULL, w->wf, &c);
	sn_make_remake(d);
	rc = APPLY_OK;
	goto out;
refuse:
	sn_err("workflow reload refused: %s; version %llu stays", why,
	       (unsigned long long)w->wf->version);
	audit_wf(d, "refused", why, wf, NULL);
out:
	sn_mlog_free(&m);
	wfd_gen_free(g);
	sn_config_free(nc);
	sn_wf_compiled_free(comp);
	sn_workflow_free(wf);
	return rc;
}

void sn_wfd_reload(struct sealnetd *d)
{
	struct wf_bytes b = {.mpath = d->wfd->manifest, .spath = d->wfd->sigs};
	char why[320];

	sn_info("SIGHUP: reloading workflow manifest %s (signatures %s)",
		b.mpath, b.spath);
	apply(d, &b, why, sizeof(why));
	bytes_free(&b);
}

/* write data over path: a temporary file beside it, then rename */
static int save(const char *path, const uint8_t *data, size_t len)
{
	char tmp[PATH_MAX + 16];
	int fd, e = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len && !e;) {
		ssize_t r = write(fd, data + off, len - off);

		if (r < 0 && errno != EINTR)
			e = -errno;
		else if (r > 0)
			off += (size_t)r;
	}
	if (!e && (fchmod(fd, 0644) || fsync(fd)))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	if (!e && rename(tmp, path))
		e = -errno;
	if (e)
		unlink(tmp);
	return e;
}

json_t *sn_wfd_apply_request(struct sealnetd *d, const char *manifest,
			     const char *sigs)
{
	static const char *const names[] = {"ok", "unchanged", "refused",
					    "failed"};
	struct sn_wfd *w = d->wfd;
	struct wf_bytes b = {.mpath = manifest, .spath = sigs};
	char why[320] = "";
	int rc, e;

	if (!w)
		return json_pack("{ss}", "error",
				 "this sealnetd does not run from a workflow "
				 "manifest");
	if (!manifest || !sigs || manifest[0] != '/' || sigs[0] != '/')
		return json_pack("{ss}", "error",
				 "workflow-apply needs the absolute paths "
				 "\"manifest\" and \"signatures\"");
	sn_info("control socket: applying workflow manifest %s (signatures "
		"%s)",
		manifest, sigs);
	rc = apply(d, &b, why, sizeof(why));
	if (rc == APPLY_OK && strcmp(manifest, w->manifest) &&
	    ((e = save(w->sigs, b.s, b.sl)) ||
	     (e = save(w->manifest, b.m, b.ml)))) {
		snprintf(why, sizeof(why),
			 "applied, but saving it over %s / %s failed: %s (a "
			 "restart would load the previous version)",
			 w->manifest, w->sigs, strerror(-e));
		sn_err("workflow apply: %s", why);
	}
	bytes_free(&b);
	return json_pack("{ss ss sI}", "result", names[rc], "reason", why,
			 "version", (json_int_t)w->wf->version);
}
