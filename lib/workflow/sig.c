// SPDX-License-Identifier: Apache-2.0
/* Detached signatures over the manifest digest, one per domain, Ed25519
 * (docs/workflow.md, "Signatures"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sealnet/util.h"
#include "internal.h"

#define MAX_SIGS 64

void sn_wf_sigset_free(struct sn_wf_sigset *s)
{
	if (!s)
		return;
	free(s->sigs);
	free(s);
}

static int hexfield(struct sn_wf_diag *d, json_t *o, const char *path,
		    const char *k, uint8_t *out, size_t n, const char *what)
{
	const char *s = json_string_value(json_object_get(o, k));
	char p[128];

	snprintf(p, sizeof(p), "%s.%s", path, k);
	if (!s || strlen(s) != 2 * n ||
	    sn_hex_decode(s, strlen(s), out, n) != (int)n)
		return wf_err(d, p, "%s: must be %zu hex digits (%s)",
			      json_object_get(o, k) ? "wrong" : "missing",
			      2 * n, what);
	return 0;
}

static void only(struct sn_wf_diag *d, json_t *o, const char *path,
		 const char *const *allowed)
{
	const char *k;
	json_t *v;
	char p[128];

	json_object_foreach(o, k, v)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, k))
				break;
		if (!*a) {
			snprintf(p, sizeof(p), "%s.%s", path, k);
			wf_err(d, p,
			       "unknown member of the signature envelope "
			       "(docs/workflow.md, \"Signatures\"): "
			       "remove it");
		}
	}
}

static int parse_tree(json_t *root, struct sn_wf_sigset *s,
		      struct sn_wf_diag *d)
{
	static const char *const allowed[] = {"sealnet_workflow_signatures",
					      "workflow_digest", "signatures",
					      NULL};
	static const char *const sallowed[] = {"domain", "key", "ed25519",
					       NULL};
	json_t *v = json_object_get(root, "sealnet_workflow_signatures");
	json_t *arr, *e;
	char p[128];
	size_t i;

	if (!json_is_integer(v) || json_integer_value(v) != SN_WF_SIG_FORMAT)
		return wf_err(d, "$.sealnet_workflow_signatures",
			      "%s: this sealnet reads envelope format %d",
			      v ? "unsupported format" : "missing",
			      SN_WF_SIG_FORMAT);
	only(d, root, "$", allowed);
	hexfield(d, root, "$", "workflow_digest", s->digest, SN_WF_DIGEST_LEN,
		 "the manifest's SHA-384 digest, `sealnet workflow hash`");
	arr = json_object_get(root, "signatures");
	if (!json_is_array(arr) || json_array_size(arr) > MAX_SIGS)
		return wf_err(d, "$.signatures",
			      "must be a list of at most %d signatures",
			      MAX_SIGS);
	s->sigs = calloc(json_array_size(arr) + 1, sizeof(*s->sigs));
	if (!s->sigs)
		return -ENOMEM;
	s->n_sigs = json_array_size(arr);
	json_array_foreach(arr, i, e)
	{
		struct sn_wf_sig *g = &s->sigs[i];
		const char *dom;

		snprintf(p, sizeof(p), "$.signatures[%zu]", i);
		if (!json_is_object(e)) {
			wf_err(d, p,
			       "must be an object {domain, key, ed25519}");
			continue;
		}
		only(d, e, p, sallowed);
		dom = json_string_value(json_object_get(e, "domain"));
		if (!dom || !*dom || strlen(dom) >= sizeof(g->domain)) {
			char q[160];

			snprintf(q, sizeof(q), "%s.domain", p);
			wf_err(d, q, "must be the id of the signing domain");
		} else {
			memcpy(g->domain, dom, strlen(dom) + 1);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(s->sigs[j].domain, g->domain)) {
					char q[160];

					snprintf(q, sizeof(q), "%s.domain", p);
					wf_err(d, q,
					       "domain '%s' has signed twice "
					       "(also $.signatures[%zu]): keep "
					       "one signature per domain",
					       g->domain, j);
				}
		}
		hexfield(d, e, p, "key", g->key_fpr, SN_WF_FPR_LEN,
			 "SHA-256 of the signer's raw Ed25519 public key");
		hexfield(d, e, p, "ed25519", g->sig, SN_WF_SIG_LEN,
			 "the Ed25519 signature");
	}
	return d->n_total ? -EINVAL : 0;
}

int sn_wf_sigset_parse(const char *json, size_t len, struct sn_wf_sigset **out,
		       struct sn_wf_diag *diag)
{
	struct sn_wf_diag *d = diag ? diag : calloc(1, sizeof(*d));
	struct sn_wf_sigset *s = NULL;
	json_t *root = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	err = wf_json_load(json, len, &root, d);
	if (err)
		goto out;
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto out;
	}
	err = parse_tree(root, s, d);
	if (!err && d->n_total)
		err = -EINVAL;
	if (!err) {
		*out = s;
		s = NULL;
	}
out:
	json_decref(root);
	sn_wf_sigset_free(s);
	if (d != diag)
		free(d);
	return err;
}

int sn_wf_sigset_load(const char *path, struct sn_wf_sigset **out,
		      struct sn_wf_diag *diag)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = wf_read_input(path, SN_WF_MAX_BYTES, &buf, &len, diag);

	if (err)
		return err;
	err = sn_wf_sigset_parse((const char *)buf, len, out, diag);
	free(buf);
	return err;
}

static int cmp_sig(const void *a, const void *b)
{
	return strcmp(((const struct sn_wf_sig *)a)->domain,
		      ((const struct sn_wf_sig *)b)->domain);
}

int sn_wf_sigset_dump(const struct sn_wf_sigset *s, char **out)
{
	json_t *root = json_object(), *arr = json_array();
	struct sn_wf_sig *sorted = calloc(s->n_sigs + 1, sizeof(*sorted));
	char dig[2 * SN_WF_DIGEST_LEN + 1], fpr[2 * SN_WF_FPR_LEN + 1],
		sig[2 * SN_WF_SIG_LEN + 1];
	char *txt = NULL;
	int err = -ENOMEM;

	if (!root || !arr || !sorted)
		goto out;
	if (s->n_sigs) { /* s->sigs may be NULL in an empty envelope */
		memcpy(sorted, s->sigs, s->n_sigs * sizeof(*sorted));
		qsort(sorted, s->n_sigs, sizeof(*sorted), cmp_sig);
	}
	sn_hex_encode(s->digest, SN_WF_DIGEST_LEN, dig);
	for (size_t i = 0; i < s->n_sigs; i++) {
		sn_hex_encode(sorted[i].key_fpr, SN_WF_FPR_LEN, fpr);
		sn_hex_encode(sorted[i].sig, SN_WF_SIG_LEN, sig);
		if (json_array_append_new(arr,
					  json_pack("{ssssss}", "domain",
						    sorted[i].domain, "key",
						    fpr, "ed25519", sig)))
			goto out;
	}
	if (json_object_set_new(root, "sealnet_workflow_signatures",
				json_integer(SN_WF_SIG_FORMAT)) ||
	    json_object_set_new(root, "workflow_digest", json_string(dig)) ||
	    json_object_set(root, "signatures", arr))
		goto out;
	txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!txt)
		goto out;
	*out = malloc(strlen(txt) + 2);
	if (!*out)
		goto out;
	strcpy(*out, txt);
	strcat(*out, "\n");
	err = 0;
out:
	free(txt);
	free(sorted);
	json_decref(arr);
	json_decref(root);
	return err;
}

int sn_wf_sig_message(const char *domain_id,
		      const uint8_t digest[SN_WF_DIGEST_LEN], uint8_t *msg,
		      size_t *len)
{
	size_t p = sizeof(SN_WF_SIG_PREFIX), n = strlen(domain_id);

	if (n >= SN_WF_NAME_MAX)
		return -EINVAL;
	memcpy(msg, SN_WF_SIG_PREFIX, p); /* with its NUL */
	memcpy(msg + p, domain_id, n + 1);
	memcpy(msg + p + n + 1, digest, SN_WF_DIGEST_LEN);
	*len = p + n + 1 + SN_WF_DIGEST_LEN;
	return 0;
}

int sn_workflow_sign(const struct sn_workflow *wf, const char *domain_id,
		     const char *key_pem_path, struct sn_wf_sigset **sigset,
		     struct sn_wf_diag *diag)
{
	struct sn_wf_diag scratch, *d = diag ? diag : &scratch;
	uint8_t pub[SN_WF_PUB_LEN], msg[SN_WF_SIG_MSG_MAX];
	struct sn_wf_sigset *s = *sigset, *fresh = NULL;
	struct sn_wf_sig g = {0}, *grown;
	const struct sn_wf_domain *dom;
	size_t publen = sizeof(pub), mlen, k, i;
	EVP_PKEY *key = NULL;
	int di, err;

	memset(d, 0, sizeof(*d));
	di = sn_workflow_find_domain(wf, domain_id);
	if (di < 0)
		return wf_err(d, "$.domains",
			      "the manifest names no domain '%s' (its domains: "
			      "see `sealnet workflow lint`)",
			      domain_id);
	dom = &wf->domains[di];
	if (s && memcmp(s->digest, wf->digest, SN_WF_DIGEST_LEN)) {
		wf_err(d, "$.workflow_digest",
		       "the signature file is for another manifest (another "
		       "digest): delete it or sign the manifest it is for");
		return -ESTALE;
	}
	err = wf_load_private_key(key_pem_path, &key, d);
	if (err)
		return err;
	if (EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1) {
		EVP_PKEY_free(key);
		wf_err(d, "$",
		       "cannot read an Ed25519 private key (PKCS#8 PEM) "
		       "from %s: `sealnet workflow keygen` makes one",
		       key_pem_path);
		return -ENOKEY;
	}
	for (k = 0; k < dom->n_keys; k++)
		if (!memcmp(dom->keys[k].pub, pub, SN_WF_PUB_LEN))
			break;
	if (k == dom->n_keys) {
		EVP_PKEY_free(key);
		wf_err(d, "$.domains",
		       "the key in %s is not one of domain '%s''s keys: add "
		       "its "
		       "public key to the domain's keys, or use the right key",
		       key_pem_path, domain_id);
		return -EKEYREJECTED;
	}
	memcpy(g.domain, dom->id, sizeof(g.domain));
	memcpy(g.key_fpr, dom->keys[k].fpr, SN_WF_FPR_LEN);
	err = sn_wf_sig_message(dom->id, wf->digest, msg, &mlen);
	if (!err)
		err = wf_ed25519_sign(key, msg, mlen, g.sig);
	EVP_PKEY_free(key);
	if (err)
		return err;
	if (!s) {
		fresh = s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		memcpy(s->digest, wf->digest, SN_WF_DIGEST_LEN);
	}
	for (i = 0; i < s->n_sigs; i++)
		if (!strcmp(s->sigs[i].domain, dom->id))
			break;
	if (i == s->n_sigs) {
		grown = realloc(s->sigs, (s->n_sigs + 1) * sizeof(*grown));
		if (!grown) {
			free(fresh);
			return -ENOMEM;
		}
		s->sigs = grown;
		s->n_sigs++;
	}
	s->sigs[i] = g;
	*sigset = s;
	return 0;
}

const char *sn_wf_sig_status_name(enum sn_wf_sig_status s)
{
	switch (s) {
	case SN_WF_SIG_OK:
		return "signed";
	case SN_WF_SIG_MISSING:
		return "missing";
	case SN_WF_SIG_BAD:
		return "bad-signature";
	case SN_WF_SIG_UNKNOWN_KEY:
		return "key-not-listed";
	case SN_WF_SIG_WRONG_DIGEST:
		return "other-manifest";
	}
	return "?";
}

void sn_wf_verify_result_free(struct sn_wf_verify_result *res)
{
	if (!res)
		return;
	free(res->domain_status);
	res->domain_status = NULL;
}

int sn_workflow_verify_sigs(const struct sn_workflow *wf,
			    const struct sn_wf_sigset *sigset,
			    struct sn_wf_verify_result *res,
			    struct sn_wf_diag *diag)
{
	struct sn_wf_diag scratch, *d = diag ? diag : &scratch;
	struct sn_wf_verify_result r = {0};
	bool same = !memcmp(sigset->digest, wf->digest, SN_WF_DIGEST_LEN);
	uint8_t msg[SN_WF_SIG_MSG_MAX];
	char p[128];
	size_t mlen;

	memset(d, 0, sizeof(*d));
	r.domain_status = calloc(wf->n_domains + 1, sizeof(*r.domain_status));
	if (!r.domain_status)
		return -ENOMEM;
	r.n_domains = wf->n_domains;
	if (!same)
		wf_err(d, "$.workflow_digest",
		       "the signatures are for another manifest (its digest "
		       "differs): the manifest changed after signing; every "
		       "domain must sign it again");
	for (size_t i = 0; i < wf->n_domains; i++) {
		const struct sn_wf_domain *dom = &wf->domains[i];
		const struct sn_wf_sig *g = NULL;
		enum sn_wf_sig_status st;
		size_t j, k;

		for (j = 0; j < sigset->n_sigs; j++)
			if (!strcmp(sigset->sigs[j].domain, dom->id)) {
				g = &sigset->sigs[j];
				break;
			}
		snprintf(p, sizeof(p), "$.signatures[%zu]", j);
		if (!g) {
			st = SN_WF_SIG_MISSING;
			wf_err(d, "$.signatures",
			       "domain '%s' has not signed: `sealnet workflow "
			       "sign --domain %s --key KEY`",
			       dom->id, dom->id);
		} else if (!same) {
			st = SN_WF_SIG_WRONG_DIGEST;
		} else {
			for (k = 0; k < dom->n_keys; k++)
				if (!memcmp(dom->keys[k].fpr, g->key_fpr,
					    SN_WF_FPR_LEN))
					break;
			if (k == dom->n_keys) {
				st = SN_WF_SIG_UNKNOWN_KEY;
				wf_err(d, p,
				       "domain '%s' signed with a key it does "
				       "not "
				       "list: sign with one of its keys",
				       dom->id);
			} else if (sn_wf_sig_message(dom->id, wf->digest, msg,
						     &mlen) ||
				   !wf_ed25519_verify(dom->keys[k].pub, msg,
						      mlen, g->sig)) {
				st = SN_WF_SIG_BAD;
				wf_err(d, p,
				       "domain '%s''s signature (key '%s') "
				       "does "
				       "not verify: the manifest or the "
				       "signature was altered; sign again",
				       dom->id, dom->keys[k].id);
			} else {
				st = SN_WF_SIG_OK;
			}
		}
		r.domain_status[i] = st;
		if (st == SN_WF_SIG_OK)
			r.n_ok++;
		else if (st == SN_WF_SIG_MISSING)
			r.n_missing++;
		else
			r.n_bad++;
	}
	for (size_t j = 0; j < sigset->n_sigs; j++)
		if (sn_workflow_find_domain(wf, sigset->sigs[j].domain) < 0) {
			snprintf(p, sizeof(p), "$.signatures[%zu].domain", j);
			wf_err(d, p,
			       "'%s' is not a domain of this manifest: remove "
			       "the entry",
			       sigset->sigs[j].domain);
			r.n_stray++;
		}
	if (res)
		*res = r;
	else
		free(r.domain_status);
	if (r.n_bad || r.n_stray || !same)
		return -EBADMSG;
	if (r.n_missing)
		return -ENOKEY;
	return 0;
}

int sn_wf_keygen(const char *priv_path, const char *pub_path,
		 uint8_t pub[SN_WF_PUB_LEN])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t raw[SN_WF_PUB_LEN];
	size_t rawlen = sizeof(raw);
	BIO *b = NULL;
	int fd = -1, err = -EIO;

	if (!k)
		return -ENOMEM;
	if (EVP_PKEY_get_raw_public_key(k, raw, &rawlen) != 1)
		goto out;
	fd = open(priv_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	b = BIO_new_fd(fd, BIO_CLOSE);
	if (!b)
		goto out;
	fd = -1;
	if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    BIO_flush(b) != 1)
		goto out;
	BIO_free(b);
	b = NULL;
	if (pub_path) {
		fd = open(pub_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  0644);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		b = BIO_new_fd(fd, BIO_CLOSE);
		if (!b)
			goto out;
		fd = -1;
		if (PEM_write_bio_PUBKEY(b, k) != 1 || BIO_flush(b) != 1)
			goto out;
	}
	if (pub)
		memcpy(pub, raw, SN_WF_PUB_LEN);
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	BIO_free(b);
	EVP_PKEY_free(k);
	return err;
}
