// SPDX-License-Identifier: Apache-2.0
/* sealnet-kbs manifest import (lib/kbs/manifest.c, docs/kbs-api.md
 * "Manifest import"): a manifest signed by every domain is imported (this
 * domain's stages' reference values = the workflow compile's policies,
 * node -> stage, digest, audited); an unsigned one, a badly signed one,
 * one for another domain, an older version and another manifest of the
 * same version are each refused and change nothing; the stored copy
 * (sn_kbs_manifest_load, the KBS's one source of truth for the manifest)
 * is the last import, and an edit of it in the database is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sealnet/kbs.h"
#include "sealnet/util.h"
#include "wf_helpers.h"

static struct wf_keys keys;
static struct sn_wf_diag diag;

struct fx {
	char db[96];
	struct sn_kbs_store *st;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	wf_keys_make(&keys);
	snprintf(f->db, sizeof(f->db), "%s/kbs.db", keys.dir);
	assert_int_equal(sn_kbs_store_open(f->db, &f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	sn_kbs_store_close(f->st);
	unlink(f->db);
	snprintf(p, sizeof(p), "%s-wal", f->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->db);
	unlink(p);
	free(f);
	wf_keys_remove(&keys);
	return 0;
}

/* the example manifest at version ver (text, malloc'd) and its digest */
static char *manifest(uint64_t ver, const char *comment, char hex[97])
{
	json_t *t = wf_example_tree(&keys);
	struct sn_workflow *wf = NULL;
	char *s;

	json_object_set_new(t, "version", json_integer((json_int_t)ver));
	if (comment)
		json_object_set_new(wf_at(t, "stages[0]"), "comment",
				    json_string(comment));
	s = wf_text(t);
	json_decref(t);
	assert_int_equal(sn_workflow_parse(s, strlen(s), &wf, &diag), 0);
	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, hex);
	sn_workflow_free(wf);
	return s;
}

/* the envelope with the signatures of domains[] (text, malloc'd) */
static char *sign(const char *m, const char *const *domains, size_t n)
{
	struct sn_workflow *wf = NULL;
	struct sn_wf_sigset *s = NULL;
	char path[128], *txt = NULL;

	assert_int_equal(sn_workflow_parse(m, strlen(m), &wf, &diag), 0);
	for (size_t i = 0; i < n; i++) {
		wf_keys_path(&keys, domains[i], path, sizeof(path));
		assert_int_equal(
			sn_workflow_sign(wf, domains[i], path, &s, &diag), 0);
	}
	if (!s) { /* nobody signed: an envelope with no signature */
		wf_keys_path(&keys, "hospital", path, sizeof(path));
		assert_int_equal(
			sn_workflow_sign(wf, "hospital", path, &s, &diag), 0);
	}
	assert_int_equal(sn_wf_sigset_dump(s, &txt), 0);
	if (!n) {
		json_t *e = json_loads(txt, 0, NULL);

		json_object_set_new(e, "signatures", json_array());
		free(txt);
		txt = json_dumps(e, 0);
		json_decref(e);
	}
	sn_wf_sigset_free(s);
	sn_workflow_free(wf);
	return txt;
}

static const char *const both[] = {"hospital", "lab"};

static int import(struct fx *f, const char *domain, const char *m,
		  const char *sg, struct sn_kbs_manifest *out)
{
	char why[600];
	int err = sn_kbs_manifest_import(f->st, domain, m, strlen(m), sg,
					 strlen(sg), "admin:test", out, why,
					 sizeof(why));

	if (err)
		assert_true(why[0] != '\0'); /* every refusal says why */
	return err;
}

static void signed_imports(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_manifest r, g;
	struct sn_kbs_audit_report rep;
	char hex[97], *m = manifest(1, NULL, hex), *sg = sign(m, both, 2);
	char *pol = NULL;
	json_t *p;

	assert_int_equal(sn_kbs_manifest_get(f->st, &g), -ENOENT);
	assert_int_equal(import(f, "hospital", m, sg, &r), 0);
	assert_string_equal(r.digest, hex);
	assert_string_equal(r.name, "genomics");
	assert_int_equal(r.version, 1);
	assert_int_equal(r.n_stages, 2); /* ingest (h1), align (h2) */
	assert_int_equal(sn_kbs_manifest_get(f->st, &g), 0);
	assert_string_equal(g.digest, hex);
	assert_int_equal(sn_kbs_manifest_runs(f->st, "h1", "ingest"), 0);
	assert_int_equal(sn_kbs_manifest_runs(f->st, "h2", "align"), 0);
	assert_int_equal(sn_kbs_manifest_runs(f->st, "h2", "ingest"), -ENOENT);
	/* the lab's stages are not this domain's */
	assert_int_equal(sn_kbs_manifest_runs(f->st, "l1", "train"), -ENOENT);
	assert_int_equal(sn_kbs_reference_get(f->st, "train", &pol), -ENOENT);
	/* the reference values are the compile's policy, parseable */
	assert_int_equal(sn_kbs_reference_get(f->st, "ingest", &pol), 0);
	p = json_loads(pol, 0, NULL);
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "comment")),
			    "workflow genomics v1");
	assert_non_null(json_object_get(p, "measurements"));
	json_decref(p);
	{
		struct sn_policy_appraisal *pa = NULL;

		assert_int_equal(
			sn_policy_appraisal_parse(pol, strlen(pol), &pa), 0);
		sn_policy_appraisal_free(pa);
	}
	free(pol);
	{
		char *l = NULL;
		json_t *lj;

		assert_int_equal(sn_kbs_list_json(f->st, &l), 0);
		lj = json_loads(l, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(lj, "manifest"),
					    "digest")),
				    hex);
		json_decref(lj);
		free(l);
	}
	/* the same manifest again: nothing to do */
	assert_int_equal(import(f, "hospital", m, sg, &r), 0);
	assert_int_equal(sn_kbs_audit_verify(f->st, &rep), 0);
	assert_true(rep.ok);
	assert_int_equal(rep.rows, 1); /* one import-manifest entry */
	free(m);
	free(sg);
}

static void unsigned_refused(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_manifest r;
	char hex[97], *m = manifest(1, NULL, hex);
	char *none = sign(m, NULL, 0), *one = sign(m, both, 1);

	assert_int_equal(import(f, "hospital", m, none, &r), -ENOKEY);
	/* the lab has not signed */
	assert_int_equal(import(f, "hospital", m, one, &r), -ENOKEY);
	assert_int_equal(sn_kbs_manifest_get(f->st, &r), -ENOENT);
	assert_int_equal(sn_kbs_reference_get(f->st, "ingest", &(char *){0}),
			 -ENOENT);
	free(m);
	free(none);
	free(one);
}

static void bad_signature_refused(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_manifest r;
	char hex[97], hex2[97], *m = manifest(1, NULL, hex);
	char *m2 = manifest(1, "edited", hex2), *sg = sign(m, both, 2), *p;
	json_t *e;

	/* a manifest edited after signing: the envelope is for another
	 * digest */
	assert_int_equal(import(f, "hospital", m2, sg, &r), -EBADMSG);
	/* a byte of a signature flipped */
	e = json_loads(sg, 0, NULL);
	{
		json_t *s0 =
			json_array_get(json_object_get(e, "signatures"), 0);
		char *v = strdup(
			json_string_value(json_object_get(s0, "ed25519")));

		v[3] = v[3] == '0' ? '1' : '0';
		json_object_set_new(s0, "ed25519", json_string(v));
		free(v);
	}
	p = json_dumps(e, 0);
	json_decref(e);
	assert_int_equal(import(f, "hospital", m, p, &r), -EBADMSG);
	/* not JSON */
	assert_int_equal(import(f, "hospital", m, "{", &r), -EINVAL);
	assert_int_equal(sn_kbs_manifest_get(f->st, &r), -ENOENT);
	free(p);
	free(m);
	free(m2);
	free(sg);
}

static void older_and_other_domain_refused(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_manifest r;
	char h1[97], h2[97], h2b[97];
	char *m1 = manifest(1, NULL, h1), *m2 = manifest(2, NULL, h2);
	char *m2b = manifest(2, "other", h2b);
	char *s1 = sign(m1, both, 2), *s2 = sign(m2, both, 2),
	     *s2b = sign(m2b, both, 2);

	assert_int_equal(import(f, "elsewhere", m2, s2, &r), -ENOENT);
	assert_int_equal(import(f, "hospital", m2, s2, &r), 0);
	/* older */
	assert_int_equal(import(f, "hospital", m1, s1, &r), -ESTALE);
	/* another manifest with the same version */
	assert_int_equal(import(f, "hospital", m2b, s2b, &r), -ESTALE);
	assert_int_equal(sn_kbs_manifest_get(f->st, &r), 0);
	assert_string_equal(r.digest, h2);
	assert_int_equal(r.version, 2);
	free(m1);
	free(m2);
	free(m2b);
	free(s1);
	free(s2);
	free(s2b);
}

static void newer_replaces(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_manifest r;
	char h1[97], h2[97];
	char *m1 = manifest(1, NULL, h1), *m2 = manifest(2, NULL, h2);
	char *s1 = sign(m1, both, 2), *s2 = sign(m2, both, 2), *pol = NULL;

	assert_int_equal(import(f, "lab", m1, s1, &r), 0);
	assert_int_equal(r.n_stages, 2);
	assert_int_equal(import(f, "lab", m2, s2, &r), 0);
	assert_int_equal(sn_kbs_manifest_get(f->st, &r), 0);
	assert_string_equal(r.digest, h2);
	assert_int_equal(sn_kbs_manifest_runs(f->st, "l1", "train"), 0);
	assert_int_equal(sn_kbs_reference_get(f->st, "train", &pol), 0);
	assert_non_null(strstr(pol, "workflow genomics v2"));
	free(pol);
	free(m1);
	free(m2);
	free(s1);
	free(s2);
}

/* sealnetd's check of a peer's token against the manifest it runs */
static void token_manifest_check(void **state)
{
	char hex[97], hex2[97], why[300];
	char *m = manifest(1, NULL, hex), *m2 = manifest(2, NULL, hex2);
	struct sn_workflow *wf = NULL;
	struct sn_kbs_claims c = {0};

	(void)state;
	assert_int_equal(sn_workflow_parse(m, strlen(m), &wf, &diag), 0);
	snprintf(c.manifest, sizeof(c.manifest), "%s", hex);
	snprintf(c.domain, sizeof(c.domain), "hospital");
	snprintf(c.stage, sizeof(c.stage), "ingest");
	/* h1 runs ingest in the hospital domain */
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "h1", false, why,
						     sizeof(why)),
			 0);
	/* another stage (h2's), a stage of no node, another domain */
	snprintf(c.stage, sizeof(c.stage), "align");
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "h1", false, why,
						     sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "stage align"));
	snprintf(c.stage, sizeof(c.stage), "nosuch");
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "h1", true, why,
						     sizeof(why)),
			 -EPERM);
	snprintf(c.stage, sizeof(c.stage), "ingest");
	snprintf(c.domain, sizeof(c.domain), "lab");
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "h1", false, why,
						     sizeof(why)),
			 -EPERM);
	snprintf(c.domain, sizeof(c.domain), "hospital");
	/* the token is h1's but presented for another node name */
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "l1", false, why,
						     sizeof(why)),
			 -EPERM);
	/* another manifest's digest, even with evidence too */
	snprintf(c.manifest, sizeof(c.manifest), "%s", hex2);
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "h1", true, why,
						     sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "is for manifest"));
	/* no manifest claim: only with the evidence too */
	c.manifest[0] = '\0';
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "h1", false, why,
						     sizeof(why)),
			 -EPERM);
	assert_int_equal(sn_kbs_token_check_manifest(wf, &c, "h1", true, why,
						     sizeof(why)),
			 0);
	sn_workflow_free(wf);
	free(m);
	free(m2);
}

/* an SQL statement on the database file, behind the store's back */
static void db_edit(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite3_changes(db) > 0);
	sqlite3_close(db);
}

static void stored_copy(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_manifest r;
	struct sn_workflow *wf = NULL;
	char hex[97], h2[97], got[97], why[600];
	char *m = manifest(1, NULL, hex), *sg = sign(m, both, 2);
	char *m2 = manifest(2, NULL, h2), *sg2 = sign(m2, both, 2);

	assert_int_equal(
		sn_kbs_manifest_load(f->st, "hospital", &wf, why, sizeof(why)),
		-ENOENT);
	assert_non_null(strstr(why, "import-manifest"));
	assert_int_equal(import(f, "hospital", m, sg, &r), 0);
	assert_int_equal(
		sn_kbs_manifest_load(f->st, "hospital", &wf, why, sizeof(why)),
		0);
	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, got);
	assert_string_equal(got, hex);
	sn_workflow_free(wf);
	wf = NULL;
	/* a newer import replaces the stored copy */
	assert_int_equal(import(f, "hospital", m2, sg2, &r), 0);
	assert_int_equal(
		sn_kbs_manifest_load(f->st, "lab", &wf, why, sizeof(why)), 0);
	sn_hex_encode(wf->digest, SN_WF_DIGEST_LEN, got);
	assert_string_equal(got, h2);
	assert_int_equal(wf->version, 2);
	sn_workflow_free(wf);
	wf = NULL;
	/* a domain the stored manifest does not name */
	assert_int_equal(
		sn_kbs_manifest_load(f->st, "cloud", &wf, why, sizeof(why)),
		-EINVAL);
	assert_null(wf);
	/* the stored text edited in the database: its signatures fail */
	db_edit(f, "UPDATE manifest SET text = replace(text, '\"version\": 2', "
		   "'\"version\": 3')");
	assert_true(sn_kbs_manifest_load(f->st, "hospital", &wf, why,
					 sizeof(why)) < 0);
	assert_null(wf);
	assert_non_null(strstr(why, "stored manifest"));
	/* imported by a KBS before schema 3 (no text): -ENODATA, and the
	 * same manifest imported again fills the copy in */
	db_edit(f, "UPDATE manifest SET text = NULL, signatures = NULL");
	assert_int_equal(
		sn_kbs_manifest_load(f->st, "hospital", &wf, why, sizeof(why)),
		-ENODATA);
	assert_non_null(strstr(why, "import it again"));
	assert_int_equal(import(f, "hospital", m2, sg2, &r), 0);
	assert_int_equal(
		sn_kbs_manifest_load(f->st, "hospital", &wf, why, sizeof(why)),
		0);
	assert_int_equal(wf->version, 2);
	sn_workflow_free(wf);
	free(m);
	free(sg);
	free(m2);
	free(sg2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(signed_imports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unsigned_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_signature_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(older_and_other_domain_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(newer_replaces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(token_manifest_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(stored_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
