// SPDX-License-Identifier: Apache-2.0
/*
 * Where sealnet-kbs's workflow manifest comes from (docs/kbs-api.md
 * "Manifest import"): one source of truth, the manifest imported into the
 * database (POST /admin/manifest, sealnet kbs import-manifest), whose text
 * and signatures are kept there and verified again when loaded.  The
 * configuration member "manifest" is only an initial import: at the first
 * start (nothing imported yet) it is imported like an admin import
 * (audited, actor "config:<path>"); later it must be the imported
 * manifest, else the KBS does not start.  The parsed manifest the
 * trust-bundle code checks against (kbs_manifest()) is shared by all
 * workers and published again after every import.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnet/workflow.h"
#include "kbs.h"

#define KBS_MANIFEST_FILE_MAX (512u * 1024)

/* the configured manifest: imported when nothing is, else it must be the
 * imported one */
static int initial_import(struct kbs *k)
{
	const char *path = k->cfg.manifest;
	struct sn_kbs_manifest cur, got;
	struct sn_workflow *wf = NULL;
	struct sn_wf_diag *d = NULL;
	uint8_t *m = NULL, *g = NULL;
	size_t ml = 0, gl = 0, n = strlen(path);
	char sig[600], actor[600], why[600], hex[2 * SN_WF_DIGEST_LEN + 1];
	int err, have;

	snprintf(sig, sizeof(sig), "%.*s.sig.json",
		 (int)(n > 5 && !strcmp(path + n - 5, ".json") ? n - 5 : n),
		 path);
	err = sn_read_file(path, KBS_MANIFEST_FILE_MAX, &m, &ml);
	if (!err)
		err = sn_read_file(sig, KBS_MANIFEST_FILE_MAX, &g, &gl);
	if (err) {
		sn_err("config \"manifest\": cannot read %s or its signatures "
		       "%s: %s",
		       path, sig, strerror(-err));
		goto out;
	}
	have = sn_kbs_manifest_get(k->st, &cur);
	if (have && have != -ENOENT) {
		err = have;
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		err = -ENOMEM;
		goto out;
	}
	if (!have && !sn_workflow_parse((const char *)m, ml, &wf, d)) {
		sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, hex);
		if (strcmp(hex, cur.digest)) {
			sn_err("config \"manifest\": %s (workflow %s v%llu, "
			       "digest %.16s...) is not the manifest this KBS "
			       "imported (workflow %s v%llu, digest %.16s...); "
			       "the imported manifest is the KBS's one source "
			       "of truth: remove \"manifest\" from the "
			       "configuration, or import this one with "
			       "`sealnet kbs import-manifest` (only a newer "
			       "version is accepted)",
			       path, wf->name, (unsigned long long)wf->version,
			       hex, cur.name, (unsigned long long)cur.version,
			       cur.digest);
			err = -EEXIST;
			goto out;
		}
	}
	snprintf(actor, sizeof(actor), "config:%s", path);
	err = sn_kbs_manifest_import(k->st, k->cfg.domain, (const char *)m, ml,
				     (const char *)g, gl, actor, &got, why,
				     sizeof(why));
	if (err) {
		sn_err("config \"manifest\": %s not imported: %s", path, why);
		goto out;
	}
	if (have == -ENOENT)
		sn_info("manifest %s v%llu (%.16s...) imported from the "
			"configuration (%s): %zu stage(s) of domain %s",
			got.name, (unsigned long long)got.version, got.digest,
			path, got.n_stages, k->cfg.domain);
out:
	sn_workflow_free(wf);
	free(d);
	free(m);
	free(g);
	return err;
}

/* Shared by every worker.  An import (on any worker) publishes a new
 * parsed copy under the lock; the copies it replaces are kept until exit
 * (imports are rare admin actions, each a strictly newer version), so a
 * pointer a worker got from kbs_manifest() never dangles. */
struct kbs_wf_slot {
	pthread_mutex_t lock;
	struct sn_workflow *cur;
	struct sn_workflow **old;
	size_t n_old;
};

const struct sn_workflow *kbs_manifest(struct kbs *k)
{
	const struct sn_workflow *wf;

	if (!k->wfs)
		return NULL;
	pthread_mutex_lock(&k->wfs->lock);
	wf = k->wfs->cur;
	pthread_mutex_unlock(&k->wfs->lock);
	return wf;
}

static int publish(struct kbs_wf_slot *s, struct sn_workflow *wf)
{
	struct sn_workflow **o;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cur) {
		o = realloc(s->old, (s->n_old + 1) * sizeof(*o));
		if (!o) {
			err = -ENOMEM;
			goto out;
		}
		s->old = o;
		s->old[s->n_old++] = s->cur;
	}
	s->cur = wf;
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

int kbs_manifest_reload(struct kbs *k)
{
	struct sn_workflow *wf = NULL;
	char why[600];
	int err = sn_kbs_manifest_load(k->st, k->cfg.domain, &wf, why,
				       sizeof(why));

	if (err == -ENOENT || err == -ENODATA) {
		/* nothing (usable) imported: the published copy, if any,
		 * stays (an import only ever replaces it by a newer one) */
		if (err == -ENODATA)
			sn_warn("manifest: %s; peer bundles are refused until "
				"then",
				why);
		return 0;
	}
	if (err) {
		sn_err("manifest: %s", why);
		return err;
	}
	err = publish(k->wfs, wf);
	if (err) {
		sn_workflow_free(wf);
		sn_err("manifest: out of memory publishing the imported "
		       "manifest");
		return err;
	}
	/* its peer domains are followed from now on, without a restart */
	kbs_fed_resync(k);
	return 0;
}

int kbs_manifest_setup(struct kbs *k)
{
	int err;

	k->wfs = calloc(1, sizeof(*k->wfs));
	if (!k->wfs)
		return -ENOMEM;
	pthread_mutex_init(&k->wfs->lock, NULL);
	err = k->cfg.manifest[0] ? initial_import(k) : 0;
	return err ? err : kbs_manifest_reload(k);
}

void kbs_manifest_free(struct kbs *k)
{
	struct kbs_wf_slot *s = k->wfs;

	if (!s)
		return;
	for (size_t i = 0; i < s->n_old; i++)
		sn_workflow_free(s->old[i]);
	free(s->old);
	sn_workflow_free(s->cur);
	pthread_mutex_destroy(&s->lock);
	free(s);
	k->wfs = NULL;
}
