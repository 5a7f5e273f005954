// SPDX-License-Identifier: Apache-2.0
/*
 * The signed workflow manifest in the KBS (docs/kbs-api.md "Manifest
 * import"): signatures checked with lib/workflow, the reference values of
 * this domain's stages taken from the manifest (the policies the
 * workflow compile gives), the node -> stage assignment and the digest
 * recorded, all with the audit entry in one transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/util.h"
#include "sealnet/workflow.h"
#include "internal.h"

static int bind_run(struct sn_kbs_store *s, const char *what, const char *sql,
		    const char *t1, const char *t2, const char *t3, int64_t i4)
{
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sn_kbs_stmt(s, sql, &st) != SQLITE_OK)
		return sn_kbs_db_err(s, what);
	if (t1)
		sqlite3_bind_text(st, 1, t1, -1, SQLITE_STATIC);
	if (t2)
		sqlite3_bind_text(st, 2, t2, -1, SQLITE_STATIC);
	if (t3)
		sqlite3_bind_text(st, 3, t3, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, i4);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, what);
	sn_kbs_stmt_done(s, st);
	return err;
}

int sn_kbs_manifest_get(struct sn_kbs_store *s, struct sn_kbs_manifest *out)
{
	sqlite3_stmt *st = NULL;
	struct sn_kbs_manifest m = {0};
	int err = -ENOENT, rc;

	if (sn_kbs_stmt(s,
			"SELECT digest, name, version, (SELECT "
			"count(DISTINCT stage) FROM manifest_stages) "
			"FROM manifest WHERE id=1",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading the manifest");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(m.digest, sizeof(m.digest), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(m.name, sizeof(m.name), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		m.version = (uint64_t)sqlite3_column_int64(st, 2);
		m.n_stages = (size_t)sqlite3_column_int64(st, 3);
		err = 0;
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading the manifest");
	}
	sn_kbs_stmt_done(s, st);
	if (!err)
		*out = m;
	return err;
}

int sn_kbs_manifest_runs(struct sn_kbs_store *s, const char *node,
			 const char *stage)
{
	sqlite3_stmt *st = NULL;
	int err = -ENOENT, rc;

	if (sn_kbs_stmt(s,
			"SELECT 1 FROM manifest_stages WHERE node=?1 "
			"AND stage=?2",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading the manifest's stages");
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = 0;
	else if (rc != SQLITE_DONE)
		err = sn_kbs_db_err(s, "reading the manifest's stages");
	sn_kbs_stmt_done(s, st);
	return err;
}

static void first_error(const struct sn_wf_diag *d, const char *what, char *why,
			size_t cap);

/* the manifest's text and envelope into the manifest row (only where it
 * has none when only_missing) */
static int store_text(struct sn_kbs_store *s, const char *manifest, size_t ml,
		      const char *sigs, size_t sl, bool only_missing)
{
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sn_kbs_stmt(s,
			only_missing ? "UPDATE manifest SET text=?1, "
				       "signatures=?2 WHERE id=1 AND text IS "
				       "NULL" :
				       "UPDATE manifest SET text=?1, "
				       "signatures=?2 WHERE id=1",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "recording the manifest's text");
	sqlite3_bind_text(st, 1, manifest, (int)ml, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sigs, (int)sl, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, "recording the manifest's text");
	sn_kbs_stmt_done(s, st);
	return err;
}

int sn_kbs_manifest_load(struct sn_kbs_store *s, const char *domain,
			 struct sn_workflow **out, char *why, size_t cap)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	struct sn_workflow *wf = NULL;
	struct sn_wf_sigset *ss = NULL;
	sqlite3_stmt *st = NULL;
	const char *m, *g;
	int err, rc;

	if (!d)
		return -ENOMEM;
	why[0] = '\0';
	if (sn_kbs_stmt(s,
			"SELECT text, signatures, digest FROM manifest "
			"WHERE id=1",
			&st) != SQLITE_OK) {
		err = sn_kbs_db_err(s, "reading the manifest");
		snprintf(why, cap, "the database could not be read");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		snprintf(why, cap,
			 "no workflow manifest is imported (sealnet kbs "
			 "import-manifest)");
		err = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = sn_kbs_db_err(s, "reading the manifest");
		snprintf(why, cap, "the database could not be read");
		goto out;
	}
	m = (const char *)sqlite3_column_text(st, 0);
	g = (const char *)sqlite3_column_text(st, 1);
	if (!m || !g) {
		snprintf(why, cap,
			 "the imported manifest (digest %.16s...) was imported "
			 "by an older sealnet-kbs that kept no copy of its "
			 "text: import it again (sealnet kbs import-manifest)",
			 (const char *)sqlite3_column_text(st, 2));
		err = -ENODATA;
		goto out;
	}
	err = sn_workflow_parse(m, (size_t)sqlite3_column_bytes(st, 0), &wf, d);
	if (!err) {
		memset(d, 0, sizeof(*d));
		err = sn_wf_sigset_parse(g, (size_t)sqlite3_column_bytes(st, 1),
					 &ss, d);
	}
	if (!err) {
		memset(d, 0, sizeof(*d));
		err = sn_workflow_verify_sigs(wf, ss, NULL, d);
	}
	if (err) {
		first_error(d, "the stored manifest (edited in the database?)",
			    why, cap);
		goto out;
	}
	if (sn_workflow_find_domain(wf, domain) < 0) {
		snprintf(why, cap,
			 "the stored manifest names no domain %s (this KBS's "
			 "\"domain\" changed?)",
			 domain);
		err = -EINVAL;
		goto out;
	}
	*out = wf;
	wf = NULL;
out:
	sn_kbs_stmt_done(s, st);
	sn_wf_sigset_free(ss);
	sn_workflow_free(wf);
	free(d);
	return err;
}

static void first_error(const struct sn_wf_diag *d, const char *what, char *why,
			size_t cap)
{
	if (d->n)
		snprintf(why, cap, "%s: %s: %s (%zu error%s in all)", what,
			 d->errors[0].path, d->errors[0].msg, d->n_total,
			 d->n_total == 1 ? "" : "s");
	else
		snprintf(why, cap, "%s is invalid", what);
}

/* this domain's stages: reference values and node assignment replaced */
static int write_stages(struct sn_kbs_store *s, const struct sn_workflow *wf,
			size_t dom, size_t *n_stages)
{
	int err = bind_run(s, "clearing the manifest's stages",
			   "DELETE FROM manifest_stages", NULL, NULL, NULL, 0);

	*n_stages = 0;
	for (size_t i = 0; !err && i < wf->n_stages; i++) {
		const struct sn_wf_stage *st = &wf->stages[i];
		char *pol = NULL;

		if (st->domain != dom)
			continue;
		err = sn_workflow_stage_policy(wf, i, &pol);
		if (!err)
			err = bind_run(
				s, "setting reference values",
				"INSERT INTO refvals (stage, policy, "
				"updated_at) VALUES (?1, ?2, unixepoch()) "
				"ON CONFLICT(stage) DO UPDATE SET "
				"policy=?2, updated_at=unixepoch()",
				st->name, pol, NULL, 0);
		free(pol);
		for (size_t j = 0; !err && j < st->n_nodes; j++)
			err = bind_run(s, "recording the manifest's stages",
				       "INSERT OR IGNORE INTO manifest_stages "
				       "(node, stage) VALUES (?1, ?2)",
				       wf->nodes[st->nodes[j]].name, st->name,
				       NULL, 0);
		(*n_stages)++;
	}
	return err;
}

int sn_kbs_manifest_import(struct sn_kbs_store *s, const char *domain,
			   const char *manifest, size_t ml, const char *sigs,
			   size_t sl, const char *actor,
			   struct sn_kbs_manifest *out, char *why, size_t cap)
{
	struct sn_wf_diag *d = calloc(1, sizeof(*d));
	struct sn_workflow *wf = NULL;
	struct sn_wf_sigset *ss = NULL;
	struct sn_kbs_manifest cur, m = {0};
	char detail[300];
	int dom, err, have;

	if (!d)
		return -ENOMEM;
	why[0] = '\0';
	err = sn_workflow_parse(manifest, ml, &wf, d);
	if (err) {
		first_error(d, "the manifest", why, cap);
		goto out;
	}
	memset(d, 0, sizeof(*d));
	err = sn_wf_sigset_parse(sigs, sl, &ss, d);
	if (err) {
		first_error(d, "the signature envelope", why, cap);
		goto out;
	}
	memset(d, 0, sizeof(*d));
	err = sn_workflow_verify_sigs(wf, ss, NULL, d);
	if (err) {
		first_error(d,
			    err == -ENOKEY ? "the manifest is not signed by "
					     "every domain" :
					     "a signature does not verify",
			    why, cap);
		goto out;
	}
	dom = sn_workflow_find_domain(wf, domain);
	if (dom < 0) {
		snprintf(why, cap,
			 "the manifest names no domain %s (this KBS's "
			 "\"domain\"): import it into the KBS of a domain it "
			 "names",
			 domain);
		err = -ENOENT;
		goto out;
	}
	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, m.digest);
	snprintf(m.name, sizeof(m.name), "%s", wf->name);
	m.version = wf->version;

	err = sn_kbs_begin(s);
	if (err)
		goto out;
	have = sn_kbs_manifest_get(s, &cur);
	if (have && have != -ENOENT) {
		err = have;
		goto rollback;
	}
	if (!have && !strcmp(cur.digest, m.digest)) {
		/* the same manifest: nothing to do, except keeping its text
		 * when a KBS before schema 3 imported it without */
		err = store_text(s, manifest, ml, sigs, sl, true);
		if (err)
			goto rollback;
		if (sqlite3_changes(s->db))
			err = sn_kbs_commit(s);
		else
			sn_kbs_rollback(s);
		if (err)
			goto rollback;
		*out = cur;
		goto out;
	}
	if (!have && m.version <= cur.version) {
		snprintf(why, cap,
			 "version %" PRIu64 " of workflow %s is not newer than "
			 "the imported version %" PRIu64 " of %s (digest "
			 "%.16s...): a manifest is replaced only by a higher "
			 "version",
			 m.version, m.name, cur.version, cur.name, cur.digest);
		err = -ESTALE;
		goto rollback;
	}
	err = write_stages(s, wf, (size_t)dom, &m.n_stages);
	if (!err)
		err = bind_run(s, "recording the manifest",
			       "INSERT INTO manifest (id, digest, name, "
			       "version, imported_at) VALUES (1, ?1, ?2, ?4, "
			       "unixepoch()) ON CONFLICT(id) DO UPDATE SET "
			       "digest=?1, name=?2, version=?4, "
			       "imported_at=unixepoch()",
			       m.digest, m.name, NULL, (int64_t)m.version);
	if (!err)
		err = store_text(s, manifest, ml, sigs, sl, false);
	if (!err) {
		const struct sn_kbs_audit_in a = {actor, "import-manifest",
						  m.name, "ok", detail};

		snprintf(detail, sizeof(detail),
			 "version %" PRIu64 " digest %s, %zu stage%s of domain "
			 "%s",
			 m.version, m.digest, m.n_stages,
			 m.n_stages == 1 ? "" : "s", domain);
		err = sn_kbs_audit_append_tx(s, &a);
	}
	if (!err)
		err = sn_kbs_commit(s);
	if (err)
		goto rollback;
	*out = m;
	goto out;
rollback:
	sn_kbs_rollback(s);
	if (!why[0])
		snprintf(why, cap,
			 "the database refused the import (see the "
			 "KBS log)");
out:
	sn_wf_sigset_free(ss);
	sn_workflow_free(wf);
	free(d);
	return err;
}

int sn_kbs_token_check_manifest(const struct sn_workflow *wf,
				const struct sn_kbs_claims *c, const char *peer,
				bool evidence_too, char *why, size_t cap)
{
	char mine[2 * SN_WF_DIGEST_LEN + 1];
	int n, s;

	if (!c->manifest[0]) {
		if (evidence_too)
			return 0;
		snprintf(why, cap,
			 "%s's token has no manifest claim (its KBS has not "
			 "imported the manifest): a token alone does not "
			 "bind the workflow",
			 peer);
		return -EPERM;
	}
	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, mine);
	if (strcmp(c->manifest, mine)) {
		snprintf(why, cap,
			 "%s's token is for manifest %.16s..., this node runs "
			 "%.16s... (%s v%" PRIu64 ")",
			 peer, c->manifest, mine, wf->name, wf->version);
		return -EPERM;
	}
	n = sn_workflow_find_node(wf, peer);
	s = sn_workflow_find_stage(wf, c->stage);
	if (n >= 0 && s >= 0 &&
	    !strcmp(wf->domains[wf->stages[s].domain].id, c->domain))
		for (size_t i = 0; i < wf->stages[s].n_nodes; i++)
			if (wf->stages[s].nodes[i] == (size_t)n)
				return 0;
	snprintf(why, cap,
		 "%s's token names stage %s of domain %s, which the manifest "
		 "does not give %s",
		 peer, c->stage, c->domain, peer);
	return -EPERM;
}
